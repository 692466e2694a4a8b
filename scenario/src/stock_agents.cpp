// Stock behaviours of the agent stories: linked spies, a handler monitoring a spy, an agent
// state machine, an agent framework (Registry + DynamicSupervisor).
//
// - Linked spies (`spy`): two spies work on a formula, each on its half, round after round; a
//   round's formula is done when both halves meet. They link to each other, so that when one
//   dies the other dies too, and no spy lives on holding a half whose partner is gone
//   (`halves_orphaned` stays 0). With `link: false` they do not, and it does not.
// - A handler (`handler`) sends a spy on a mission and monitors it (a monitor, not a link: the
//   handler lives on whatever happens to the spy). The spy radios each document home; when it
//   goes down, the handler sends a new one to resume from the last document home, up to
//   `attempts` spies per mission.
// - An agent (`agent`) is a gen_statem: idle takes a job, processing runs it in a worker under a
//   state time-out (the job's budget) and postpones the submissions that arrive meanwhile; each
//   job ends complete, crashed or timed out, and the submitter (`submitter`) gets the outcome.
// - An agent framework: `operator` clients start agents at run time through a DynamicSupervisor
//   (a `dynamic: true` node of the tree), name them in a Registry (the `registry` worker), give
//   them tasks by name, and retire them.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/runtime/registry.hpp"
#include "bedlam/runtime/rng.hpp"
#include "bedlam/runtime/state_machine.hpp"
#include "stock_support.hpp"

namespace bedlam::scenario::stock {

namespace {

constexpr Ticks ms = 1'000'000;

// -- Linked spies ----------------------------------------------------------------------------

/// A spy introduces itself to its partner, which links to it (when spies link) and welcomes it.
struct SpyHello {
    Pid from;
};
struct SpyWelcome {
    Pid from;
};
/// A spy's half of the formula of round `round`, for its partner.
struct SpyHalf {
    Pid from;
    std::uint64_t round = 0;
};

/// Waits for the partner: its hello (linked to and welcomed here) or its welcome (it linked).
/// Linking to a partner that has just died raises noproc: the spy dies and is restarted.
Async<Pid> pair_up(Self self, bool link) {
    for (;;) {
        std::optional<Pid> hello;
        std::optional<Pid> welcome;
        co_await self.receive([&](SpyHello h) { hello = h.from; },
                              [&](SpyWelcome w) { welcome = w.from; },
                              [](SpyHalf /*from an earlier partner*/) {});
        if (welcome) {
            co_return *welcome;
        }
        if (hello) {
            if (link) {
                self.link(*hello);
            }
            SpyWelcome back;
            back.from = self.pid();
            self.send(*hello, back);
            co_return *hello;
        }
    }
}

/// A spy: registers as `name`, pairs up with `partner`, then every `work` finishes its half of
/// a formula, sends it to its partner and waits for the partner's. Unlike the other workers it
/// does not trap exits: its linked partner's death, for any reason but `normal`, is its own.
/// Without a link, the partner's successor's hello is how it learns that the half it holds will
/// never be matched.
Process spy(Self self, Pid parent, std::string name, std::string partner, Ticks work, bool link,
            RunContext* ctx) {
    if (!self.register_name(name, self.pid())) {
        self.exit(ExitReason::error("{name_taken," + name + "}"));
    }
    ack_started(self, parent);
    // Registering and looking the partner up happen in one step (ack_started does not suspend),
    // so of two spies only the later finds the other registered and says hello.
    if (const std::optional<Pid> there = self.whereis(partner); there && *there != self.pid()) {
        SpyHello hello;
        hello.from = self.pid();
        self.send(*there, hello);
    }
    Pid mate = co_await pair_up(self, link);
    const bool counts_formulas = name < partner;  // One of the two counts what they finish.
    std::uint64_t round = 0;
    for (;;) {
        co_await self.sleep(dur(work));
        ++round;
        ctx->metrics.count("spy_halves");
        SpyHalf mine;
        mine.from = self.pid();
        mine.round = round;
        self.send(mate, mine);
        std::optional<Pid> successor;
        bool matched = false;
        while (!matched && !successor) {
            co_await self.receive(
                when([mate, round](const SpyHalf& h) { return h.from == mate && h.round == round; },
                     [&](SpyHalf /*theirs*/) { matched = true; }),
                [&](SpyHello h) {
                    if (h.from != mate) {
                        successor = h.from;
                    }
                },
                [](SpyWelcome /*stale*/) {}, [](SpyHalf /*from an earlier partner*/) {});
        }
        if (matched) {
            if (counts_formulas) {
                ctx->metrics.count("formulas");
            }
            continue;
        }
        // The partner died and its successor says hello, while this spy lived on with a half
        // that will never be matched: exactly what a link prevents.
        ctx->metrics.count("halves_orphaned");
        if (link) {
            self.link(*successor);
        }
        SpyWelcome back;
        back.from = self.pid();
        self.send(*successor, back);
        mate = *successor;
        round = 0;
    }
}

// -- A handler and its spy in the field --------------------------------------------------------

/// A document the spy radios home.
struct Photo {
    std::int64_t document = 0;
};

/// A spy in the field: photographs documents `from` + 1 to `documents`, one every `every`, and
/// radios each home. It monitors its handler and goes home (exits normal) if the handler is gone.
Process field_spy(Self self, Pid handler, std::string name, std::int64_t from,
                  std::int64_t documents, Ticks every) {
    if (!name.empty() && !self.register_name(name, self.pid())) {
        self.exit(ExitReason::error("{name_taken," + name + "}"));
    }
    const MonitorRef ref = self.monitor(handler);
    for (std::int64_t document = from + 1; document <= documents; ++document) {
        const bool recalled =
            co_await self
                .receive(when([ref](const DownMsg& d) { return d.ref == ref; },
                              [](DownMsg /*down*/) { return true; }))
                .after(dur(every), [] { return false; });
        if (recalled) {
            co_return;
        }
        Photo photo;
        photo.document = document;
        self.send(handler, photo);
    }
}

/// What the handler waits for while a spy is in the field.
struct FieldNews {
    std::optional<ExitReason> spy_down;     // The spy's DOWN.
    std::optional<ExitReason> handler_end;  // The parent's exit signal: stop.
};

/// Saves the spy's documents as they come, until its DOWN or the parent's exit signal.
Async<FieldNews> watch_spy(Self self, Pid parent, MonitorRef ref, std::int64_t* saved,
                           RunContext* ctx) {
    FieldNews news;
    while (!news.spy_down && !news.handler_end) {
        co_await self.receive(
            [&](Photo p) {
                if (p.document == *saved + 1) {
                    ++*saved;
                    ctx->metrics.count("documents_home");
                } else {
                    ctx->metrics.count("documents_out_of_order");
                }
            },
            when([ref](const DownMsg& d) { return d.ref == ref; },
                 [&](DownMsg d) { news.spy_down = std::move(d.reason); }),
            [&](ExitMsg e) {
                if (e.from == parent) {
                    news.handler_end = std::move(e.reason);
                }
            });
    }
    co_return news;
}

/// A handler: sends a spy (registered as `name`, if given, at the path `<handler>/spy`) on a
/// mission of `documents` documents and monitors it. A spy that returns completes the mission;
/// one that goes down is replaced by a spy that resumes after the last document home, until
/// `attempts` spies were lost on the mission, which is then abandoned. Then the next mission
/// (after `every`, if it was abandoned).
Process handler(Self self, Pid parent, std::string name, std::int64_t documents, Ticks every,
                std::int64_t attempts, RunContext* ctx) {
    self.trap_exit(true);
    ack_started(self, parent);
    const std::string spy_path = self.path().empty() ? std::string() : self.path() + "/spy";
    // A spy of this handler's previous incarnation may still hold the name, on its way home
    // (it saw that handler's DOWN): let it go first.
    std::optional<Pid> old;
    if (!name.empty()) {
        old = self.whereis(name);
    }
    if (old) {
        std::int64_t ignored = 0;
        const FieldNews gone = co_await watch_spy(self, parent, self.monitor(*old), &ignored, ctx);
        if (gone.handler_end) {
            self.exit(*gone.handler_end);
        }
    }
    for (;;) {
        std::int64_t saved = 0;  // Documents home on this mission.
        std::int64_t lost = 0;   // Spies lost on it.
        for (;;) {
            self.set_child_path(spy_path);
            const auto [spy_pid, ref] =
                self.spawn_monitor(field_spy, self.pid(), name, saved, documents, every);
            self.set_child_path("");
            const FieldNews news = co_await watch_spy(self, parent, ref, &saved, ctx);
            if (news.handler_end) {
                // Recall the spy before going: nothing of this worker outlives it.
                self.exit(spy_pid, ExitReason::shutdown());
                (void)co_await watch_spy(self, Pid{}, ref, &saved, ctx);
                self.exit(*news.handler_end);
            }
            if (news.spy_down->is_normal()) {
                ctx->metrics.count("missions_completed");
                if (lost > 0) {
                    ctx->metrics.count("missions_recovered");
                }
                break;
            }
            ctx->metrics.count("spies_lost");
            if (++lost >= attempts) {
                ctx->metrics.count("missions_abandoned");
                // A pause before the next mission: spies that cannot even start (their name
                // is taken) must not make a handler spin at one instant.
                co_await idle(self, parent, every);
                break;
            }
        }
    }
}

// -- An agent as a state machine ---------------------------------------------------------------

/// A job: who submitted it (client number and sequence), how long it takes, whether it hits a
/// bug (its worker crashes halfway through).
struct JobId {
    std::int64_t client = 0;
    std::uint64_t seq = 0;
    friend bool operator==(const JobId&, const JobId&) = default;
};
struct AgentJob {
    JobId id;
    Ticks takes = 0;
    bool buggy = false;
};
/// A submitter's call; the reply is a JobOutcome.
struct Submit {
    AgentJob job;
};
enum class JobEnd : std::uint8_t { complete, crashed, timed_out };
struct JobOutcome {
    JobId id;
    JobEnd end = JobEnd::complete;
    Ticks budget = 0;  // The agent's, so that the submitter can tell a right outcome.
};
/// The worker's report; jobs are numbered, so that a late one is not taken for the current.
struct JobDone {
    std::uint64_t number = 0;
};
/// The state time-out's content.
struct JobTooLong {};

/// Runs job `number` for `takes` and reports; a buggy job crashes halfway through. It watches
/// its agent and gives up if the agent is gone: nothing of a dead agent works on.
Process job_worker(Self self, Pid agent, std::uint64_t number, Ticks takes, bool buggy) {
    const MonitorRef ref = self.monitor(agent);
    const Ticks runs = buggy ? takes / 2 : takes;
    const bool agent_down =
        co_await self
            .receive(when([ref](const DownMsg& d) { return d.ref == ref; },
                          [](DownMsg /*down*/) { return true; }))
            .after(dur(runs), [] { return false; });
    if (agent_down) {
        co_return;
    }
    if (buggy) {
        self.exit(ExitReason::error("job_bug"));
    }
    self.demonitor(ref, DemonitorOptions{.flush = true});
    JobDone done;
    done.number = number;
    self.send(agent, done);
}

enum class AgentPhase : std::uint8_t { idle, processing };

std::ostream& operator<<(std::ostream& os, AgentPhase phase) {
    return os << (phase == AgentPhase::idle ? "idle" : "processing");
}

/// idle: a submission moves it to processing. processing: entering starts the job in a worker
/// (monitored) and arms the state time-out; the job ends with the worker's result, its crash or
/// the time-out (the worker is killed), and the agent replies and goes back to idle. Meanwhile
/// submissions are postponed: gen_statem offers them again after the state change, oldest
/// first. The agent notes the order submissions arrive in and checks it takes them in it.
class Agent final : public StateMachine<AgentPhase> {
public:
    Agent(Ticks budget, RunContext* ctx) : budget_(budget), ctx_(ctx) {
        state_function(AgentPhase::idle, &Agent::idle);
        state_function(AgentPhase::processing, &Agent::processing);
    }

    [[nodiscard]] bool state_enter() const override { return true; }

    Async<Init> init(Self /*self*/) override { co_return Init::ok(AgentPhase::idle); }

    Async<Transition> idle(Self /*self*/, EventType type, Message event) {
        const Submit* submit = event.get<Submit>();
        if (submit == nullptr || type.kind() != EventType::Kind::call) {
            co_return Transition::keep_state();  // Enter calls; a late result or DOWN.
        }
        const auto waiting = std::find(waiting_.begin(), waiting_.end(), submit->job.id);
        if (waiting != waiting_.begin() && !waiting_.empty()) {
            ctx_->metrics.count("jobs_out_of_order");  // An older submission is still waiting.
        }
        if (waiting != waiting_.end()) {
            waiting_.erase(waiting);
        }
        job_ = submit->job;
        submitter_ = type.from();
        co_return Transition::next_state(AgentPhase::processing);
    }

    Async<Transition> processing(Self self, EventType type, Message event) {
        if (type == EventType::enter()) {
            ++job_number_;
            const auto [pid, ref] =
                self.spawn_monitor(job_worker, self.pid(), job_number_, job_.takes, job_.buggy);
            worker_ = pid;
            worker_ref_ = ref;
            co_return Transition::keep_state(Action::state_timeout(dur(budget_), JobTooLong()));
        }
        if (const Submit* submit = event.get<Submit>(); submit != nullptr) {
            if (std::find(waiting_.begin(), waiting_.end(), submit->job.id) == waiting_.end()) {
                waiting_.push_back(submit->job.id);
                ctx_->metrics.count("jobs_postponed");
            }
            co_return Transition::keep_state(Action::postpone());
        }
        if (const JobDone* done = event.get<JobDone>();
            done != nullptr && done->number == job_number_) {
            self.demonitor(worker_ref_, DemonitorOptions{.flush = true});
            co_return finish(JobEnd::complete);
        }
        if (const DownMsg* down = event.get<DownMsg>();
            down != nullptr && down->ref == worker_ref_) {
            co_return finish(JobEnd::crashed);
        }
        if (type.kind() == EventType::Kind::state_timeout) {
            self.demonitor(worker_ref_, DemonitorOptions{.flush = true});
            self.exit(worker_, ExitReason::kill());
            co_return finish(JobEnd::timed_out);
        }
        co_return Transition::keep_state();
    }

private:
    Transition finish(JobEnd end) {
        ctx_->metrics.count(end == JobEnd::complete  ? "jobs_completed"
                            : end == JobEnd::crashed ? "jobs_crashed"
                                                     : "jobs_timed_out");
        JobOutcome outcome;
        outcome.id = job_.id;
        outcome.end = end;
        outcome.budget = budget_;
        return Transition::next_state(AgentPhase::idle, Action::reply(submitter_, outcome));
    }

    Ticks budget_;
    RunContext* ctx_;
    AgentJob job_;                // The current job.
    From submitter_{};            // Its submitter, to reply to.
    std::uint64_t job_number_ = 0;
    Pid worker_;
    MonitorRef worker_ref_{};
    std::deque<JobId> waiting_;   // Postponed submissions, in the order they first arrived.
};

/// Whether `outcome` is the one `job` calls for under the agent's budget. At exactly the budget
/// the result and the time-out fire together, and either may win.
bool as_called_for(const AgentJob& job, const JobOutcome& outcome) {
    const Ticks runs = job.buggy ? job.takes / 2 : job.takes;  // Until it reports or crashes.
    switch (outcome.end) {
        case JobEnd::complete:
            return !job.buggy && runs <= outcome.budget;
        case JobEnd::crashed:
            return job.buggy && runs <= outcome.budget;
        case JobEnd::timed_out:
            return runs >= outcome.budget;
    }
    return false;
}

/// A submitter: every `every` (after the last reply) submits a job to `target` and waits for
/// its outcome at most `timeout`. Each job takes from `job_min` to `job_max` and one in
/// `buggy_one_in` crashes its worker, drawn from the run's seed and the client's number.
Process submitter(Self self, std::string target, Ticks every, Ticks timeout, Ticks job_min,
                  Ticks job_max, std::int64_t buggy_one_in, std::int64_t n, RunContext* ctx) {
    // "SUBMIT" and the client's number: a stream apart from the run's and the other clients'.
    Rng rng(ctx->seed ^ (0x5355'424d'4954'0000ULL + static_cast<std::uint64_t>(n)));
    const auto spread = static_cast<std::uint64_t>(std::max<Ticks>(0, job_max - job_min));
    for (std::uint64_t seq = 1;; ++seq) {
        co_await drain_for(self, every);
        Submit submit;
        submit.job.id.client = n;
        submit.job.id.seq = seq;
        submit.job.takes = job_min + static_cast<Ticks>(rng.below(spread + 1));
        submit.job.buggy =
            buggy_one_in > 0 && rng.chance(1, static_cast<std::uint64_t>(buggy_one_in));
        const AgentJob job = submit.job;
        ctx->metrics.count("jobs_submitted");
        std::optional<JobOutcome> outcome;
        bool timed_out = false;
        try {
            const JobOutcome reply = co_await statem::call<JobOutcome>(
                self, ServerRef(target), std::move(submit), dur(timeout));
            outcome = reply;
        } catch (const ExitException& e) {
            timed_out = e.reason.to_string().starts_with("{timeout,");
        }
        ++ctx->metrics.calls;
        if (outcome) {
            ++ctx->metrics.calls_ok;
            if (!(outcome->id == job.id) || !as_called_for(job, *outcome)) {
                ctx->metrics.count("replies_wrong");
            }
        } else if (timed_out) {
            ++ctx->metrics.calls_timed_out;
        } else {
            ++ctx->metrics.calls_failed;
        }
    }
}

// -- An agent framework: Registry + DynamicSupervisor ------------------------------------------

/// A task for an agent (a call); the answer counts the tasks this incarnation has done.
struct AgentTask {
    std::uint64_t seq = 0;
};
struct AgentAnswer {
    std::uint64_t served = 0;
};

/// An agent: a gen_server that thinks `think` over each task. Its count is lost on a restart.
class FrameworkAgent final : public Server {
public:
    explicit FrameworkAgent(Ticks think) : think_(think) {}

    Async<ServerResult> handle_call(Self self, Message request, From from) override {
        if (!request.is<AgentTask>()) {
            co_return co_await Server::handle_call(self, std::move(request), from);
        }
        co_await self.sleep(dur(think_));
        AgentAnswer answer;
        answer.served = ++served_;
        co_return ServerResult::reply_with(answer);
    }

private:
    Ticks think_;
    std::uint64_t served_ = 0;
};

/// The start function of agent `name`: a server registered in `reg` under `name` (a via name),
/// so that a restart registers the new process under the same name.
StartFn agent_start(const std::string& reg, const std::string& name, Ticks think) {
    return [reg, name, think](Self self, const Any& /*extra*/) {
        return start_server<FrameworkAgent>(self, StartOptions(registry::via(ServerRef(reg), name)),
                                            think);
    };
}

/// The pids registered under `name` in `reg` (empty if none, or if the registry is down).
Async<std::vector<Pid>> lookup_pids(Self self, std::string reg, std::string name) {
    std::vector<Pid> pids;
    try {
        const std::vector<registry::Entry> found =
            co_await registry::lookup(self, ServerRef(reg), name);
        for (const registry::Entry& e : found) {
            pids.push_back(e.pid);
        }
    } catch (const ExitException&) {
        // The registry is down or restarting: a new one knows no names.
    }
    co_return pids;
}

/// Starts agent `name` through the DynamicSupervisor `sup`; its pid, or nullopt.
Async<std::optional<Pid>> start_agent(Self self, std::string reg, std::string sup,
                                      std::string name, Ticks think) {
    ChildSpec spec(name, agent_start(reg, name, think));
    std::optional<Pid> pid;
    try {
        const SupReply reply = co_await start_child(self, ServerRef(sup), std::move(spec));
        if (reply.ok()) {
            pid = reply.pid;
        }
    } catch (const ExitException&) {
        // The supervisor is down or restarting.
    }
    co_return pid;
}

/// Retires agent `name`: terminates it through `sup` by the pid the registry gives now (the
/// agent `started` may have been restarted since), then checks that the registry lets the name
/// go once it has the agent's EXIT (§7.2). False if the agent was already gone.
Async<bool> retire_agent(Self self, std::string reg, std::string sup, std::string name,
                         Pid started, RunContext* ctx) {
    bool came_back = false;
    for (int attempt = 0; attempt < 10; ++attempt) {
        const std::vector<Pid> pids = co_await lookup_pids(self, reg, name);
        if (pids.empty()) {
            co_await self.sleep(dur(10 * ms));  // Gone, or between a death and its restart.
            continue;
        }
        const Pid pid = pids.front();
        if (pid != started && !came_back) {
            came_back = true;
            ctx->metrics.count("agents_came_back");  // Restarted, and registered again.
        }
        bool stopped = false;
        try {
            const SupReply reply = co_await terminate_child(self, ServerRef(sup), pid);
            stopped = reply.ok();
        } catch (const ExitException&) {
            co_return false;  // The supervisor is down: its children with it.
        }
        if (!stopped) {
            co_await self.sleep(dur(10 * ms));  // It died meanwhile: look again after its restart.
            continue;
        }
        ctx->metrics.count("agents_stopped");
        for (int wait = 0; wait < 100; ++wait) {
            const std::vector<Pid> now = co_await lookup_pids(self, reg, name);
            if (std::find(now.begin(), now.end(), pid) == now.end()) {
                co_return true;
            }
            co_await self.sleep(dur(ms));
        }
        ctx->metrics.count("stale_names");  // 100 ms after its death, still under its name.
        co_return true;
    }
    co_return false;
}

/// An operator: starts agent `agent-<n>-<k>` through `supervisor`, checks the registry finds
/// it, gives it `tasks` tasks by name (one every `every`, each with `timeout`), retires it, and
/// starts the next. It never keeps an agent's pid: a restarted agent answers under its name.
Process operator_body(Self self, std::string reg, std::string sup, std::int64_t tasks,
                      Ticks every, Ticks think, Ticks timeout, std::int64_t n, RunContext* ctx) {
    for (std::int64_t k = 0;; ++k) {
        const std::string name = "agent-" + std::to_string(n) + "-" + std::to_string(k);
        const std::optional<Pid> pid = co_await start_agent(self, reg, sup, name, think);
        if (!pid) {
            ctx->metrics.count("agents_not_started");
            co_await drain_for(self, every);
            continue;
        }
        ctx->metrics.count("agents_started");
        // It registered before its init ran, so while it lives the registry must know it.
        const std::vector<Pid> found = co_await lookup_pids(self, reg, name);
        if (std::find(found.begin(), found.end(), *pid) != found.end()) {
            ctx->metrics.count("agents_found");
        } else if (self.is_alive(*pid)) {
            ctx->metrics.count("registry_misses");
        }
        for (std::int64_t t = 0; t < tasks; ++t) {
            co_await drain_for(self, every);
            AgentTask task;
            task.seq = static_cast<std::uint64_t>(t);
            bool answered = false;
            try {
                (void)co_await call<AgentAnswer>(self, registry::via(ServerRef(reg), name), task,
                                                 dur(timeout));
                answered = true;
            } catch (const ExitException&) {
                // Dead, restarting, or gone with its supervisor.
            }
            ctx->metrics.count(answered ? "agent_tasks" : "agent_tasks_failed");
        }
        const bool retired = co_await retire_agent(self, reg, sup, name, *pid, ctx);
        if (!retired) {
            ctx->metrics.count("agents_lost");  // Gone with its supervisor (or the registry).
        }
    }
}

}  // namespace

void add_agent_behaviours(std::vector<StockBehaviour>* out) {
    std::vector<StockBehaviour>& all = *out;
    all.push_back(StockBehaviour{
        "spy",
        "one of two spies who must both finish a formula or both die: it links to `partner`, "
        "then every `work` finishes its half of a formula and waits for the partner's. When one "
        "dies the link takes the other. A spy that lives on holding a half its partner will "
        "never match counts `halves_orphaned` (only without the link)",
        false,
        ProcessKind::process,
        {{"name", ParamType::text, "", "registered name (default: the child's id)"},
         {"partner", ParamType::name, nullptr, "the partner spy's registered name"},
         {"work", ParamType::duration, "200ms", "how long a half takes"},
         {"link", ParamType::boolean, "true",
          "link to the partner (false: to see what the link prevents)"}},
        [](const Params& p, const std::string& path, RunContext* ctx) {
            return process_start(spy, name_of(p, path), p.text("partner"), p.duration("work"),
                                 p.boolean("link"), ctx);
        },
        nullptr,
        true,
        {{"spy_halves", "halves of formulas the spies finished"},
         {"formulas", "formulas finished: both halves met (counted once per pair)"},
         {"halves_orphaned",
          "a spy lived on holding a finished half after its partner died (0 with the link)"}}});
    all.push_back(StockBehaviour{
        "handler",
        "sends a spy on missions of `documents` documents and monitors it (no link: the handler "
        "lives on). The spy radios each document home; when it goes down the handler sends a new "
        "one to resume after the last document home, up to `attempts` spies per mission",
        false,
        ProcessKind::process,
        {{"name", ParamType::text, "",
          "the name its spy registers in the field, for faults (`target: name:NAME`); the spy's "
          "path is `<handler>/spy`"},
         {"documents", ParamType::integer, "8", "documents per mission"},
         {"every", ParamType::duration, "100ms", "time the spy takes per document"},
         {"attempts", ParamType::integer, "3", "spies a mission may lose before it is abandoned"}},
        [](const Params& p, const std::string& /*path*/, RunContext* ctx) {
            const std::int64_t attempts = std::max<std::int64_t>(1, p.integer("attempts"));
            return process_start(handler, p.text("name"), p.integer("documents"),
                                 p.duration("every"), attempts, ctx);
        },
        nullptr,
        false,
        {{"missions_completed", "missions with every document home"},
         {"missions_recovered", "of those, the ones that lost a spy on the way"},
         {"missions_abandoned", "missions given up after `attempts` spies were lost"},
         {"spies_lost", "spies that went down abnormally"},
         {"documents_home", "documents that reached the handler"},
         {"documents_out_of_order",
          "documents that were not the next one expected (a repeat or a gap): 0 when each new "
          "spy resumes after the last document home"}}});
    all.push_back(StockBehaviour{
        "agent",
        "a gen_statem taking jobs one at a time: idle takes a submission, processing runs it in "
        "a worker under a state time-out (`budget`) and postpones the submissions that arrive "
        "meanwhile; a job ends complete, crashed (its worker died) or timed out, and its "
        "submitter gets the outcome",
        false,
        ProcessKind::state_machine,
        {{"name", ParamType::text, "", "registered name (default: the child's id)"},
         {"budget", ParamType::duration, "500ms", "how long a job may run (the state time-out)"}},
        [](const Params& p, const std::string& path, RunContext* ctx) -> StartFn {
            return [name = name_of(p, path), budget = p.duration("budget"), ctx](
                       Self self, const Any& /*extra*/) {
                return statem::start_with<Agent>(self, StartOptions(name), budget, ctx);
            };
        },
        nullptr,
        true,
        {{"jobs_completed", "jobs whose result came within the budget"},
         {"jobs_crashed", "jobs whose worker crashed"},
         {"jobs_timed_out", "jobs that outran the budget (their worker was killed)"},
         {"jobs_postponed", "submissions that arrived while the agent was busy"},
         {"jobs_out_of_order", "jobs taken while an older submission was waiting (0: postponed "
                               "submissions are taken oldest first)"}}});
    all.push_back(StockBehaviour{
        "submitter",
        "a client that submits a job to the agent `target` every `every` (after the last reply) "
        "and waits for its outcome at most `timeout`; jobs take from `job_min` to `job_max`, and "
        "one in `buggy_one_in` crashes its worker (drawn from the run's seed). Counts the calls "
        "(calls, calls_ok, ...) and the replies that are not what the job called for",
        true,
        ProcessKind::process,
        {{"target", ParamType::name, nullptr, "the agent's registered name"},
         {"every", ParamType::duration, "100ms", "time between a reply and the next submission"},
         {"timeout", ParamType::duration, "5s", "the call's time-out"},
         {"job_min", ParamType::duration, "50ms", "the shortest job"},
         {"job_max", ParamType::duration, "400ms", "the longest job"},
         {"buggy_one_in", ParamType::integer, "10", "one job in this many crashes (0: none)"}},
        nullptr,
        [](Self self, const Params& p, int n, RunContext* ctx) {
            return self.spawn(submitter, p.text("target"), p.duration("every"),
                              p.duration("timeout"), p.duration("job_min"), p.duration("job_max"),
                              p.integer("buggy_one_in"), static_cast<std::int64_t>(n), ctx);
        },
        false,
        {{"jobs_submitted", "jobs submitted"},
         {"replies_wrong", "outcomes that were not the one the job called for (wrong job, "
                           "complete when it crashed or outran the budget, ...): 0"}}});
    all.push_back(StockBehaviour{
        "operator",
        "a client of an agent framework: starts agents at run time through the dynamic "
        "supervisor `supervisor`, named in the Registry `registry`; gives each `tasks` tasks by "
        "name, then retires it and starts the next. It never keeps an agent's pid: an agent "
        "restarted by its supervisor answers under the same name",
        true,
        ProcessKind::process,
        {{"registry", ParamType::name, nullptr, "the registry (unique keys) naming the agents"},
         {"supervisor", ParamType::name, nullptr, "the dynamic supervisor's id"},
         {"tasks", ParamType::integer, "10", "tasks per agent before it is retired"},
         {"every", ParamType::duration, "50ms", "time between tasks"},
         {"think", ParamType::duration, "10ms", "how long an agent takes over a task"},
         {"timeout", ParamType::duration, "1s", "a task's time-out"}},
        nullptr,
        [](Self self, const Params& p, int n, RunContext* ctx) {
            return self.spawn(operator_body, p.text("registry"), p.text("supervisor"),
                              p.integer("tasks"), p.duration("every"), p.duration("think"),
                              p.duration("timeout"), static_cast<std::int64_t>(n), ctx);
        },
        false,
        {{"agents_started", "agents started through the supervisor"},
         {"agents_found", "agents the registry knew right after their start"},
         {"registry_misses", "live agents the registry did not know after their start: 0"},
         {"agent_tasks", "tasks agents answered"},
         {"agent_tasks_failed", "tasks that failed (the agent dead, restarting or gone)"},
         {"agents_came_back",
          "agents the registry gave under a new pid at retirement: restarted, same name"},
         {"agents_stopped", "agents retired through the supervisor"},
         {"stale_names", "retired agents still registered 100 ms after their death: 0"},
         {"agents_lost", "agents gone before their retirement (with their supervisor)"},
         {"agents_not_started", "starts that failed (the supervisor down or full)"}}});
}

}  // namespace bedlam::scenario::stock
