#include "bedlam/properties/supervisor_run.hpp"

#include <optional>
#include <utility>

#include "bedlam/chaos/injector.hpp"
#include "bedlam/runtime.hpp"
#include "bedlam/runtime/supervisor.hpp"

namespace bedlam::properties {

namespace {

using Log = std::vector<std::string>;

/// A child that traps exits, registers under its id, notes its start, and on its first exit
/// signal notes it and exits with its reason.
Process child(Self self, Log* log, std::string id, Pid starter) {
    self.trap_exit(true);
    self.register_name(id, self.pid());
    log->push_back("start " + id);
    ack_started(self, starter);
    const ExitMsg m = co_await self.receive<ExitMsg>();
    log->push_back("stop " + id + " " + m.reason.to_string());
    self.exit(m.reason);
}

/// Starts `child` and waits for it to be ready (proc_lib's synchronous start).
Async<StartResult> start_child_process(Self self, Log* log, std::string id) {
    const Pid pid = self.spawn_link(child, log, std::move(id), self.pid());
    co_return co_await await_started(self, pid);
}

/// Starts the supervisor, waits for it to give up or for `end`, then shuts it down.
Process root(Self self, Log* log, ModelSupervisor spec, Ticks end, SupFlags::Mutation mutation) {
    self.trap_exit(true);
    std::vector<ChildSpec> children = model_child_specs(
        spec,
        [log](const std::string& path) -> StartFn {
            return [log, path](Self s, const Any& /*extra*/) {
                return start_child_process(s, log, path);
            };
        },
        mutation);
    SupFlags flags(spec.strategy, spec.intensity, spec.period_s);
    flags.mutation = mutation;
    const StartResult sup = co_await start_supervisor(self, flags, std::move(children));
    if (!sup.ok()) {
        log->push_back("start failed " + sup.reason.to_string());
        co_return;
    }
    const Pid pid = sup.pid;
    auto from_sup = [pid](const ExitMsg& m) { return m.from == pid; };
    const Duration wait(std::max<Ticks>(0, end - self.now()));
    std::optional<ExitMsg> gone =
        co_await self.receive(when(from_sup, [](ExitMsg m) { return std::optional<ExitMsg>(m); }))
            .after(wait, [] { return std::optional<ExitMsg>(); });
    if (!gone) {
        self.exit(pid, ExitReason::shutdown());
        gone = co_await self.receive(when(from_sup, [](ExitMsg m) { return std::optional<ExitMsg>(m); }));
    }
    log->push_back("sup exit " + gone->reason.to_string());
}

}  // namespace

std::vector<ChildSpec> model_child_specs(const ModelSupervisor& sup, const WorkerStart& worker,
                                         SupFlags::Mutation mutation, const std::string& path) {
    std::vector<ChildSpec> children;
    for (std::size_t i = 0; i < sup.children.size(); ++i) {
        const ModelChild& model = sup.children[i];
        const std::string id = child_id(i);
        const std::string child_path = path.empty() ? id : path + "/" + id;
        if (model.is_supervisor()) {
            const ModelSupervisor& sub = *model.supervisor;
            SupFlags flags(sub.strategy, sub.intensity, sub.period_s);
            flags.mutation = mutation;
            ChildSpec c = supervisor_spec(id, flags,
                                          model_child_specs(sub, worker, mutation, child_path));
            c.restart(model.restart);
            children.push_back(std::move(c));
            continue;
        }
        ChildSpec c(id, worker(child_path));
        c.restart(model.restart);
        if (model.brutal_kill) {
            c.shutdown(Shutdown::brutal_kill());
        }
        children.push_back(std::move(c));
    }
    return children;
}

chaos::Plan plan_of(const ModelSupervisor& sup, const std::vector<ModelExit>& exits) {
    const std::vector<std::string> paths = worker_paths(sup);
    chaos::Plan plan;
    for (const ModelExit& e : exits) {
        chaos::Fault f;
        f.kind = e.reason.kind() == ExitReason::Kind::kill ? chaos::FaultKind::kill
                                                           : chaos::FaultKind::exit;
        f.at = e.at;
        f.target = chaos::Target::name(paths.at(e.worker));
        f.reason = e.reason;
        plan.faults.push_back(std::move(f));
    }
    return plan;
}

SupervisorRun run_supervisor(const ModelSupervisor& sup, const std::vector<ModelExit>& exits,
                             Ticks end, std::uint64_t seed, SupFlags::Mutation mutation,
                             const std::function<std::size_t(std::size_t)>& choose) {
    SupervisorRun run;
    run.plan = plan_of(sup, exits);
    SimConfig config{.seed = seed};
    config.choose = choose;
    Simulator sim(config);
    chaos::Injector injector(sim, run.plan, seed);
    injector.install();
    sim.spawn(root, &run.log, sup, end, mutation);
    sim.run();
    run.hash = sim.trace_hash();
    return run;
}

}  // namespace bedlam::properties
