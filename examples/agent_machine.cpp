// agent_machine: an agent written as a state machine (StateMachine, bedlam's gen_statem) that
// takes jobs one at a time.
//
//            Submit: take the job, start a worker, arm the state time-out
//    idle  ─────────────────────────────────────────────────────────────►  processing
//          ◄─────────────────────────────────────────────────────────────    │    ▲
//            the result in time: reply "complete: <result>"                  └────┘
//            the worker crashed, or the time-out fired: reply "failed: <why>"   Submit: postpone
//
// Clients submit jobs with statem::call and wait for the reply. An idle agent takes a job and
// moves to `processing`. Entering that state (a state enter call) starts the job in a worker
// process and arms a *state time-out*, the job's budget. The job then ends one of two ways, and
// the agent goes back to idle either way, replying to the client who submitted it:
//
//   complete  the worker sends its result within the budget: the reply carries the result;
//   failed    the worker crashes (the reply carries its exit reason), or the budget runs out
//             first (the state time-out fires, the agent kills the worker): "took longer than
//             500ms".
//
// A submission that arrives while the agent is processing is *postponed*: gen_statem sets it
// aside and offers it again after the next state change, oldest first. So when the agent is back
// in idle it takes the oldest waiting job, and the later ones are postponed again, until it is
// idle once more. Jobs run one at a time, in the order they arrived; no call is lost or answered
// out of turn; and the agent keeps no queue of its own: the postponed calls are its queue.
//
// The seed decides how long each job takes, which job is too slow for its budget, which one hits
// a bug, and the order in which the four clients' calls reach the agent.
#include <algorithm>
#include <cstdint>
#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/state_machine.hpp"

#include "story.hpp"

namespace {

using namespace bedlam;
using namespace std::chrono_literals;
using example::show;
using example::Story;

constexpr Duration budget = 500ms;  // How long a job may run: the state time-out.
constexpr DemonitorOptions flush_down{.flush = true};  // Also drop a DOWN already queued.

// A job as a client hands it over. How long it takes, and whether it has a bug, only the worker
// running it finds out.
struct Job {
    std::string name;
    std::string result;  // What the worker produces when the job completes.
    Duration takes{};
    bool buggy = false;  // The worker crashes halfway through.
};

// Why a job that outlived its budget failed.
std::string too_long() {
    return "took longer than " + example::ms(budget.count());
}

// -- The messages ------------------------------------------------------------------------------

// A client's call; the reply is an Outcome. Messages with a std::string in them get constructors:
// with g++ 12 a coroutine must not build aggregates with non-trivial members (README).
struct Submit {
    explicit Submit(Job j) : job(std::move(j)) {}
    Job job;
};
// A call that every state answers at once (never postponed); the reply is a std::string.
struct Status {};
// The content of the state time-out event.
struct TooLong {};

// The reply to a Submit.
struct Outcome {
    Outcome(bool done, std::string what) : complete(done), text(std::move(what)) {}
    bool complete;
    std::string text;  // The result, or why the job failed.

    [[nodiscard]] std::string to_string() const {
        return std::string(complete ? "complete: " : "failed: ") + text;
    }
};

// The worker's report. Jobs are numbered: a result that arrives after its job was given up on
// must not be taken for the current job's.
struct JobDone {
    JobDone(int n, std::string r) : job_number(n), result(std::move(r)) {}
    int job_number;
    std::string result;
};

// A client's reply, passed on to the operator.
struct Replied {
    Replied(std::string j, Outcome o) : job(std::move(j)), outcome(std::move(o)) {}
    std::string job;
    Outcome outcome;
};

// What the agent and the operator saw, for main() to judge once the run is over.
struct Record {
    std::vector<std::string> arrived;  // Jobs in the order their Submit first reached the agent.
    std::vector<std::string> started;  // Jobs in the order the agent took them.
    std::map<std::string, Outcome> replies;
};

// -- The worker --------------------------------------------------------------------------------

// Runs one job: works for as long as it takes, then reports the result; a buggy job crashes
// halfway through.
Process worker(Self self, Pid agent, int job_number, Job job) {
    if (job.buggy) {
        co_await self.sleep(job.takes / 2);
        throw std::runtime_error("bug in \"" + job.name + "\"");
    }
    co_await self.sleep(job.takes);
    self.send(agent, JobDone(job_number, job.result));
}

// -- The agent ---------------------------------------------------------------------------------

enum class Phase : std::uint8_t { idle, processing };

const char* name_of(Phase phase) {
    return phase == Phase::idle ? "idle" : "processing";
}

// A state with operator<< shows up by name in exit reasons.
std::ostream& operator<<(std::ostream& os, Phase phase) {
    return os << name_of(phase);
}

// The state machine. Its members are gen_statem's Data; its callbacks are coroutines, so they
// could call other servers too. It uses the state_functions callback mode, one member function
// per state, and state enter calls.
class Agent final : public StateMachine<Phase> {
public:
    Agent(Story* story, Record* record) : story_(story), record_(record) {
        state_function(Phase::idle, &Agent::idle);
        state_function(Phase::processing, &Agent::processing);
    }

    // Each state function is also called with EventType::enter() when its state is entered.
    [[nodiscard]] bool state_enter() const override { return true; }

    Async<Init> init(Self self) override {
        story_->say(self, "agent: up as " + show(self.pid()) + ", idle");
        co_return Init::ok(Phase::idle);
    }

    // idle: take the next job.
    Async<Transition> idle(Self self, EventType type, Message event) {
        if (const Submit* submit = event.get<Submit>(); submit != nullptr) {
            arrived(submit->job.name);
            job_ = submit->job;
            submitter_ = type.from();  // Where the reply will go, whenever the job ends.
            record_->started.push_back(job_.name);
            story_->say(self, "agent: takes \"" + job_.name + "\"");
            co_return Transition::next_state(Phase::processing);  // No reply yet.
        }
        co_return otherwise(type, event, Phase::idle);
    }

    // processing: one job is running in a worker.
    Async<Transition> processing(Self self, EventType type, Message event) {
        if (type == EventType::enter()) {
            // Start the job, and give it its budget. A state time-out is cancelled when the
            // state changes, so a job that ends in time leaves no timer behind.
            ++job_number_;
            const auto [pid, ref] = self.spawn_monitor(worker, self.pid(), job_number_, job_);
            worker_ = pid;
            worker_ref_ = ref;
            co_return Transition::keep_state(Action::state_timeout(budget, TooLong()));
        }
        if (const Submit* submit = event.get<Submit>(); submit != nullptr) {
            // Busy: set the call aside. gen_statem offers it again after the next state change.
            const char* const again = arrived(submit->job.name) ? "" : " again";
            story_->say(self, "agent: busy with \"" + job_.name + "\"; \"" + submit->job.name +
                                  "\" postponed" + again);
            co_return Transition::keep_state(Action::postpone());
        }
        if (const JobDone* done = event.get<JobDone>();
            done != nullptr && done->job_number == job_number_) {
            self.demonitor(worker_ref_, flush_down);  // Its DOWN (normal) is of no interest.
            co_return finish(self, Outcome(true, done->result));
        }
        if (const DownMsg* down = event.get<DownMsg>();
            down != nullptr && down->ref == worker_ref_) {
            co_return finish(self, Outcome(false, down->reason.to_string()));  // It crashed.
        }
        if (type == EventType::state_timeout()) {
            self.demonitor(worker_ref_, flush_down);
            self.exit(worker_, ExitReason::kill());
            co_return finish(self, Outcome(false, too_long()));
        }
        co_return otherwise(type, event, Phase::processing);
    }

    Async<void> terminate(Self self, ExitReason reason, Phase state) override {
        story_->say(self, "agent: stops (" + reason.to_string() + ") in state " + name_of(state));
        co_return;
    }

private:
    // The job is over: back to idle, replying to its submitter. The reply is a transition
    // action, sent as the transition runs; going back to idle is a state change, so the
    // postponed submissions are offered again, oldest first.
    Transition finish(Self self, Outcome outcome) {
        story_->say(self, "agent: \"" + job_.name + "\" " + outcome.to_string());
        ++jobs_done_;
        return Transition::next_state(Phase::idle, Action::reply(submitter_, std::move(outcome)));
    }

    // What both states do with any other event: answer Status; drop the rest (enter calls into
    // idle, a late result or DOWN from a worker already given up on).
    Transition otherwise(const EventType& type, const Message& event, Phase state) {
        if (type.kind() == EventType::Kind::call && event.is<Status>()) {
            std::string status =
                std::string(name_of(state)) + ", " + std::to_string(jobs_done_) + " jobs done";
            if (state == Phase::processing) {
                status +=
                    ", running \"" + job_.name + "\", " + std::to_string(waiting()) + " waiting";
            }
            return Transition::keep_state(Action::reply(type.from(), std::move(status)));
        }
        return Transition::keep_state();
    }

    // Notes a submission; true the first time the agent sees it, false when it is a postponed
    // one offered again.
    bool arrived(const std::string& job) {
        std::vector<std::string>& seen = record_->arrived;
        if (std::find(seen.begin(), seen.end(), job) != seen.end()) {
            return false;
        }
        seen.push_back(job);
        return true;
    }
    [[nodiscard]] std::size_t waiting() const {
        return record_->arrived.size() - record_->started.size();
    }

    Story* story_;
    Record* record_;  // Written by this process only, read by main() after the run.
    Job job_;         // The current job.
    From submitter_{};
    int job_number_ = 0;
    int jobs_done_ = 0;
    Pid worker_;
    MonitorRef worker_ref_{};
};

// -- The clients and the operator --------------------------------------------------------------

const char* const client_names[] = {"ana", "ben", "cleo", "dev"};  // One job each.

// A client: submits one job and waits for the outcome, however long the agent is busy (a
// statem::call has no time-out unless given one).
Process client(Self self, Story* story, Pid operator_pid, std::string name, Job job) {
    story->say(self, name + ": submits \"" + job.name + "\"");
    Submit submit(job);
    const Outcome outcome = co_await statem::call<Outcome>(self, "agent", std::move(submit));
    story->say(self, name + ": \"" + job.name + "\" -> " + outcome.to_string());
    self.send(operator_pid, Replied(job.name, outcome));
}

// Starts the agent under the name "agent" and a client per job, asks the agent how it is doing
// while the clients wait, collects the outcomes, and stops the agent.
Process operator_body(Self self, Story* story, Record* record, std::vector<Job> jobs) {
    StartOptions named("agent");
    co_await statem::start_with<Agent>(self, std::move(named), story, record);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        self.spawn(client, story, self.pid(), std::string(client_names[i]), jobs[i]);
    }
    co_await self.sleep(120ms);
    const std::string busy = co_await statem::call<std::string>(self, "agent", Status());
    story->say(self, "operator: status? " + busy);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        Replied replied = co_await self.receive<Replied>();
        record->replies.emplace(std::move(replied.job), std::move(replied.outcome));
    }
    const std::string done = co_await statem::call<std::string>(self, "agent", Status());
    story->say(self, "operator: status? " + done + "; stopping the agent");
    co_await statem::stop(self, "agent");
}

// Four jobs. The seed picks how long each takes, one that is too slow for the budget, and a
// different one that hits a bug. The others take at most 300 ms, well within the budget of
// 500 ms; the slow one at least 800 ms: even on real threads under load, the outcome is certain.
std::vector<Job> plan_jobs(std::uint64_t seed) {
    std::vector<Job> jobs = {
        {"summarize the report", "a summary in 3 lines", {}, false},
        {"translate the manual", "the manual, in French", {}, false},
        {"index the archive", "1200 entries indexed", {}, false},
        {"draft the reply", "a polite draft", {}, false},
    };
    Rng plan(seed);
    const std::uint64_t slow = plan.below(jobs.size());
    std::uint64_t buggy = plan.below(jobs.size() - 1);
    buggy += buggy >= slow ? 1 : 0;
    for (std::uint64_t i = 0; i < jobs.size(); ++i) {
        const auto steps = static_cast<std::int64_t>(plan.below(5));
        jobs[i].takes = i == slow ? 800ms + steps * 50ms : 100ms + steps * 50ms;
        jobs[i].buggy = i == buggy;
    }
    return jobs;
}

// The outcome each job must have had.
bool as_planned(const Job& job, const Outcome& outcome) {
    if (job.buggy) {
        return !outcome.complete && outcome.text == "bug in \"" + job.name + "\"";
    }
    if (job.takes > budget) {
        return !outcome.complete && outcome.text == too_long();
    }
    return outcome.complete && outcome.text == job.result;
}

}  // namespace

int main(int argc, char** argv) {
    const auto args = example::parse_args(argc, argv, "");
    if (!args) {
        return 2;
    }
    const std::vector<Job> jobs = plan_jobs(args->seed);
    Story story;
    Record record;
    const auto rt = example::make_runtime(*args);
    rt->spawn(operator_body, &story, &record, jobs);
    return story.end(*rt, *args, [&] {
        // Every client got the outcome its job called for, and the postponed submissions were
        // taken oldest first: in the order they arrived.
        bool ok = record.replies.size() == jobs.size() && record.started == record.arrived &&
                  record.started.size() == jobs.size();
        for (const Job& job : jobs) {
            const auto reply = record.replies.find(job.name);
            ok = ok && reply != record.replies.end() && as_planned(job, reply->second);
        }
        return ok;
    });
}
