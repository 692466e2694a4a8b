// agent_framework: agents started and stopped while the system runs, found by name, and
// restarted under the same name when they crash.
//
// The framework is an application whose top supervisor (rest_for_one) has two children:
//
//   registry  a unique Registry, "agent_registry": agent name -> agent pid (Elixir's Registry);
//   agents    a DynamicSupervisor, "agent_sup", empty at start; agents are added at run time.
//
// rest_for_one because the agents' names live in the registry: should the registry die, the
// agents are restarted after it, and register again.
//
// An agent is a Server started under the via name {via, Registry, {agent_registry, Name}}: it
// puts its name in the registry before its init runs, and calls and casts reach it by name. Code
// outside the framework never holds an agent's pid, which is what lets a crashed agent come back
// as a new process without anyone noticing, except that it has lost its memory (restarts begin
// from init). The operator process below uses the framework as a user would: start agents, ask
// them things, crash one (the seed picks which), watch it come back, retire another.
#include <memory>
#include <string>
#include <vector>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/application.hpp"
#include "bedlam/runtime/registry.hpp"
#include "bedlam/runtime/supervisor.hpp"

#include "story.hpp"

namespace {

using namespace bedlam;
using namespace std::chrono_literals;
using example::show;
using example::Story;

const char* const registry_name = "agent_registry";
const char* const agent_sup = "agent_sup";

struct Task {  // A call: the agent replies with a std::string.
    std::string text;
};
struct Garbled {};  // A cast the agent chokes on (a bug, say): it crashes.

class Agent final : public Server {
public:
    Agent(Story* story, std::string name) : story_(story), name_(std::move(name)) {}

    Async<InitResult> init(Self self) override {
        story_->say(self, name_ + ": up as " + show(self.pid()));
        co_return InitResult::ok();
    }
    Async<ServerResult> handle_call(Self self, Message request, From /*from*/) override {
        const Task* task = request.get<Task>();
        if (task == nullptr) {
            co_return ServerResult::stop(ExitReason::error("unknown call"));
        }
        co_await self.sleep(20ms);  // Thinking. Other agents run meanwhile.
        ++tasks_done_;
        co_return ServerResult::reply_with(name_ + " did \"" + task->text + "\" (task " +
                                           std::to_string(tasks_done_) + " since it started)");
    }
    Async<ServerResult> handle_cast(Self /*self*/, Message request) override {
        if (request.is<Garbled>()) {
            throw std::runtime_error(name_ + " choked on a garbled prompt");
        }
        co_return ServerResult::noreply();
    }

private:
    Story* story_;
    std::string name_;
    int tasks_done_ = 0;  // Lost on a restart.
};

// -- The framework's API ------------------------------------------------------------------------

std::shared_ptr<const ViaName> agent_name(const std::string& name) {
    return registry::via(registry_name, name);
}

std::vector<ChildSpec> framework_children() {
    ChildSpec registry_spec("registry", [](Self self, const Any& /*extra*/) {
        return registry::start_link(self, registry::Options(registry_name, registry::Mode::unique));
    });
    ChildSpec agents_spec("agents", [](Self self, const Any& /*extra*/) {
        return start_dynamic_supervisor(self, DynSupOptions(), StartOptions(agent_sup));
    });
    agents_spec.type(ChildType::supervisor);
    return {registry_spec, agents_spec};
}

// Starts agent `name` under the DynamicSupervisor; returns once its init has run.
Async<SupReply> start_agent(Self self, Story* story, std::string name) {
    ChildSpec spec(name, [story, name](Self s, const Any& /*extra*/) {
        return start_server<Agent>(s, StartOptions(agent_name(name)), story, name);
    });
    co_return co_await start_child(self, agent_sup, std::move(spec));
}

// Asks agent `name` to do `text` and waits for the answer. A call to a name nobody holds exits
// the caller with {noproc, {gen_server, call, ...}}, like any failed call.
Async<std::string> ask(Self self, std::string name, std::string text) {
    Task task{std::move(text)};  // Named first: see README, "g++ 12 and aggregates".
    co_return co_await call<std::string>(self, agent_name(name), std::move(task));
}

// The pid registered under `name`, or Pid{}.
Async<Pid> find_agent(Self self, std::string name) {
    const std::vector<registry::Entry> found = co_await registry::lookup(self, registry_name, name);
    co_return found.empty() ? Pid{} : found.front().pid;
}

// -- The operator ---------------------------------------------------------------------------------

struct Outcome {
    int answers = 0;
    bool came_back_fresh = false;  // The crashed agent answered again, as a new, amnesic process.
    bool retired_is_gone = false;  // A call to the retired agent's name failed with noproc.
    std::size_t registered_at_end = 0;
};

Process operator_body(Self self, Story* story, Outcome* outcome, std::uint64_t seed) {
    std::vector<ChildSpec> children = framework_children();
    co_await start_application(self, "agent_framework", SupFlags(Strategy::rest_for_one, 3, 5),
                               std::move(children));
    story->say(self, "operator: framework up: registry, agent_sup (no agents yet)");
    const std::vector<std::string> names{"planner", "coder", "critic"};
    for (const std::string& name : names) {
        co_await start_agent(self, story, name);
    }
    for (const std::string& name : names) {
        story->say(self, "operator: " + co_await ask(self, name, "draft the plan"));
        ++outcome->answers;
    }

    // Crash one agent. The DynamicSupervisor restarts it, and the new process registers the same
    // name. The registry drops the dead pid only when it processes the EXIT (§7.2), so until the
    // name points at a new pid, the operator waits rather than calling into a corpse.
    Rng plan(seed);
    const std::size_t victim_index = plan.below(names.size());
    const std::string& victim = names[victim_index];
    const std::string& retired = names[(victim_index + 1 + plan.below(2)) % names.size()];
    const Pid old_pid = co_await find_agent(self, victim);
    const MonitorRef ref = self.monitor(old_pid);
    cast(self, agent_name(victim), Garbled{});
    const DownMsg down = co_await self.receive(
        when([ref](const DownMsg& d) { return d.ref == ref; }, [](DownMsg d) { return d; }));
    story->say(self, "operator: " + victim + " " + show(old_pid) + " crashed: " +
                         down.reason.to_string());
    Pid new_pid;
    while (!new_pid.valid() || new_pid == old_pid) {
        co_await self.sleep(1ms);
        new_pid = co_await find_agent(self, victim);
    }
    story->say(self, "operator: \"" + victim + "\" now names " + show(new_pid));
    const std::string again = co_await ask(self, victim, "draft the plan");
    story->say(self, "operator: " + again);
    outcome->came_back_fresh = again.find("task 1 ") != std::string::npos;

    // Retire another agent at run time: terminate it through its supervisor, by pid.
    const Pid retired_pid = co_await find_agent(self, retired);
    co_await terminate_child(self, agent_sup, retired_pid);
    story->say(self, "operator: retired " + retired + " " + show(retired_pid));
    for (Pid listed = retired_pid; listed.valid();) {  // Until the registry has its EXIT.
        co_await self.sleep(1ms);
        listed = co_await find_agent(self, retired);
    }
    try {
        co_await ask(self, retired, "review the plan");
    } catch (const ExitException& e) {  // Erlang's `catch`: the failed call's exit, as a value.
        story->say(self, "operator: asking " + retired + " now fails: " + e.reason.to_string());
        outcome->retired_is_gone =
            e.reason.kind() == ExitReason::Kind::error && e.reason.term().rfind("{noproc,", 0) == 0;
    }
    outcome->registered_at_end = co_await registry::count(self, registry_name);
    story->say(self, "operator: " + std::to_string(outcome->registered_at_end) +
                         " agents registered; stopping the framework");
    co_await stop_application(self, "agent_framework");
}

}  // namespace

int main(int argc, char** argv) {
    const auto args = example::parse_args(argc, argv, "");
    if (!args) {
        return 2;
    }
    Story story;
    Outcome outcome;
    const auto rt = example::make_runtime(*args);
    rt->spawn(operator_body, &story, &outcome, args->seed);
    return story.end(*rt, *args, [&] {
        return outcome.answers == 3 && outcome.came_back_fresh && outcome.retired_is_gone &&
               outcome.registered_at_end == 2;
    });
}
