#include "bedlam/scenario/run.hpp"

#include "watcher.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "bedlam/chaos/glob.hpp"
#include "bedlam/chaos/injector.hpp"
#include "bedlam/runtime.hpp"
#include "bedlam/runtime/flat_map.hpp"
#include "bedlam/runtime/supervisor.hpp"
#include "bedlam/runtime/threads.hpp"

namespace bedlam::scenario {

using detail::at;
using detail::Watcher;

int RunReport::exit_code() const noexcept {
    switch (verdict) {
        case Verdict::pass:
            return 0;
        case Verdict::fail:
            return 1;
        case Verdict::liveness:
            return 3;
    }
    return 1;
}

std::string RunReport::last_line() const {
    const std::string v = verdict == Verdict::pass ? "pass" : "fail";
    if (scheduler == SchedulerKind::threads) {
        return "seed=" + std::to_string(seed) + " scheduler=threads verdict=" + v;
    }
    return "seed=" + std::to_string(seed) + " hash=" + hash_text(hash) + " verdict=" + v;
}

namespace {


/// The tree counts as healed once it is whole and nothing in it has restarted for this long.
constexpr Ticks settle = 1'000'000'000;

void supervisor_paths(const SupervisorNode& sup, const std::string& path,
                      std::set<std::string>* out) {
    out->insert(path);
    for (const ChildNode& c : sup.children) {
        if (c.supervisor) {
            supervisor_paths(*c.supervisor, path + "/" + c.id, out);
        }
    }
}

/// The names the tree's workers register: `name` if given, else the id of those that register
/// by id.
void collect_names(const SupervisorNode& sup, std::set<std::string>* out) {
    for (const ChildNode& c : sup.children) {
        if (c.supervisor) {
            collect_names(*c.supervisor, out);
            continue;
        }
        const auto name = c.args.find("name");
        const StockBehaviour* b = find_behaviour(c.behaviour);
        if (name != c.args.end() && !name->second.text.empty()) {
            out->insert(name->second.text);
        } else if (b != nullptr && b->registers_by_id) {
            out->insert(c.id);
        }
    }
}

std::set<std::string> registered_names(const Scenario& s) {
    std::set<std::string> names;
    collect_names(s.tree, &names);
    return names;
}

std::vector<ChildSpec> child_specs(const SupervisorNode& sup, const std::string& path,
                                   RunContext* ctx);

ChildSpec supervisor_child(const ChildNode& c, const std::string& path, RunContext* ctx) {
    const SupervisorNode& sub = *c.supervisor;
    if (sub.dynamic) {
        // Registered under its id, so that clients can start children through it.
        ChildSpec spec(c.id, [intensity = sub.intensity, period = sub.period_s,
                              max = sub.max_children, id = c.id](Self self, const Any& /*extra*/) {
            DynSupOptions o(intensity, period);
            o.max_children = max;
            return start_dynamic_supervisor(self, std::move(o), StartOptions(id));
        });
        spec.type(ChildType::supervisor);
        return spec;
    }
    SupFlags flags(sub.strategy, sub.intensity, sub.period_s);
    flags.auto_shutdown = sub.auto_shutdown;
    return supervisor_spec(c.id, flags, child_specs(sub, path, ctx));
}

std::vector<ChildSpec> child_specs(const SupervisorNode& sup, const std::string& path,
                                   RunContext* ctx) {
    std::vector<ChildSpec> specs;
    for (const ChildNode& c : sup.children) {
        const std::string child_path = path + "/" + c.id;
        ChildSpec spec = c.supervisor ? supervisor_child(c, child_path, ctx)
                                      : ChildSpec(c.id, find_behaviour(c.behaviour)->worker(
                                                            Params(c.args), child_path, ctx));
        spec.restart(c.restart);
        if (c.shutdown) {
            spec.shutdown(*c.shutdown);
        }
        spec.significant(c.significant);
        specs.push_back(std::move(spec));
    }
    return specs;
}

// -- Health: every supervisor up with every permanent child running ----------------------------

struct Health {
    bool whole = false;
};

Async<bool> whole(Self self, Pid sup, const SupervisorNode* spec) {
    if (spec->dynamic) {
        co_return true;  // Its children come and go with its clients.
    }
    const std::vector<ChildInfo> children = co_await which_children(self, ServerRef(sup));
    for (const ChildNode& c : spec->children) {
        const auto it = std::find_if(children.begin(), children.end(),
                                     [&](const ChildInfo& i) { return i.id == c.id; });
        const bool running = it != children.end() &&
                             it->state == ChildInfo::State::running && it->pid.valid();
        if (!running) {
            if (c.restart == Restart::permanent) {
                co_return false;
            }
            continue;
        }
        if (c.supervisor) {
            const bool sub = co_await whole(self, it->pid, c.supervisor.get());
            if (!sub) {
                co_return false;
            }
        }
    }
    co_return true;
}

Process checker(Self self, Pid harness, Pid root, const SupervisorNode* spec) {
    const bool ok = co_await whole(self, root, spec);
    self.send(harness, Health{ok});
}

/// What the harness saw, for the report.
struct Outcome {
    bool started = false;
    std::string start_error;
    bool root_gave_up = false;
    std::optional<Ticks> healed_at;
    std::set<std::string> alive_at_end;  // Paths alive when the duration ran out.
    bool stopped = false;                // The harness stopped the tree and ended.
};

Process harness(Self self, const Scenario* s, RunContext* ctx, Watcher* watcher,
                Ticks faults_until, Outcome* out) {
    self.trap_exit(true);
    self.set_child_path(s->tree.id);
    SupFlags flags(s->tree.strategy, s->tree.intensity, s->tree.period_s);
    flags.auto_shutdown = s->tree.auto_shutdown;
    const StartResult started =
        co_await start_supervisor(self, flags, child_specs(s->tree, s->tree.id, ctx));
    self.set_child_path("");
    if (!started.ok()) {
        out->start_error = started.reason.to_string();
        out->root_gave_up = true;
        out->stopped = true;
        co_return;
    }
    out->started = true;
    const Pid root = started.pid;
    // The workload, outside the tree.
    std::vector<Pid> clients;
    for (const Client& c : s->workload) {
        const StockBehaviour* b = find_behaviour(c.behaviour);
        for (int i = 0; i < c.count; ++i) {
            self.set_child_path("workload/" + c.id + "/" + std::to_string(i));
            clients.push_back(b->spawn_client(self, Params(c.args), i, ctx));
        }
    }
    self.set_child_path("");
    const Ticks end = s->settings.duration;
    auto from_root = [root](const ExitMsg& m) { return m.from == root; };
    bool root_alive = true;
    while (root_alive && self.now() < end) {
        const Ticks now = self.now();
        const bool checking = faults_until != chaos::never && now >= faults_until && !out->healed_at;
        const Ticks wake = checking ? std::min(end, now + 50'000'000)
                           : (faults_until != chaos::never && now < faults_until)
                               ? std::min(end, faults_until)
                               : end;
        const std::optional<ExitMsg> gone =
            co_await self.receive(when(from_root, [](ExitMsg m) { return std::optional(m); }))
                .after(Duration(wake - now), [] { return std::optional<ExitMsg>(); });
        if (gone) {
            root_alive = false;
            out->root_gave_up = true;
            break;
        }
        if (faults_until == chaos::never || self.now() < faults_until || out->healed_at ||
            self.now() >= end) {
            continue;
        }
        const MonitorRef ref = self.spawn_monitor(checker, self.pid(), root, &s->tree).second;
        const int verdict = co_await self.receive(
            [](Health h) { return h.whole ? 1 : 0; },
            when([ref](const DownMsg& d) { return d.ref == ref; }, [](DownMsg) { return -1; }));
        if (verdict != -1) {
            self.demonitor(ref, DemonitorOptions{.flush = true});
        }
        // Whole, and nothing restarted for a settling second: a crash loop looks whole at
        // most instants, so a snapshot alone would call it healed.
        if (verdict == 1 && self.now() - watcher->last_spawn() >= settle) {
            out->healed_at = std::max(faults_until, watcher->last_spawn());
        }
    }
    for (const std::string& path : tree_paths(*s)) {
        if (watcher->alive(path)) {
            out->alive_at_end.insert(path);
        }
    }
    for (const Pid c : clients) {
        self.exit(c, ExitReason::kill());
    }
    if (root_alive) {
        self.exit(root, ExitReason::shutdown());
        co_await self.receive(when(from_root, [](ExitMsg) {}));
    }
    out->stopped = true;
}

/// The plan as run: the scenario's faults, a swarm plan if asked, and the services' outages.
chaos::Plan plan_for(const Scenario& s, const RunOptions& options) {
    chaos::Plan plan = s.faults;
    if (s.swarm || options.swarm) {
        chaos::SwarmOptions swarm;
        if (options.scheduler == SchedulerKind::threads) {
            // The kinds that need no names and that the threaded scheduler can carry out.
            swarm.kinds = {chaos::FaultKind::kill, chaos::FaultKind::crash, chaos::FaultKind::exit,
                           chaos::FaultKind::drop, chaos::FaultKind::delay,
                           chaos::FaultKind::duplicate};
        }
        swarm.faults_until = plan.faults_until == chaos::never ? s.settings.duration / 2
                                                               : plan.faults_until;
        swarm.target = chaos::Target::path(s.tree.id + "/**");
        for (const Service& svc : s.services) {
            swarm.services.push_back(svc.name);
        }
        const chaos::Plan drawn = chaos::swarm(options.seed, swarm);
        plan.swarm_seed = drawn.swarm_seed;
        plan.faults_until = drawn.faults_until;
        for (const chaos::Fault& f : drawn.faults) {
            if (plan.faults.size() < chaos::max_faults) {
                plan.faults.push_back(f);
            }
        }
    }
    for (const Service& svc : s.services) {
        for (const Service::Outage& o : svc.outages) {
            chaos::Fault f;
            f.kind = chaos::FaultKind::service_down;
            f.name = svc.name;
            f.at = o.from;
            f.duration = o.until == chaos::never ? chaos::never : o.until - o.from;
            f.heals = false;  // The world's schedule, not chaos: faults_until does not end it.
            plan.faults.push_back(f);
        }
    }
    return plan;
}

}  // namespace

RunReport run(const Scenario& s, const RunOptions& options) {
    RunReport report;
    report.seed = options.seed;
    report.plan = plan_for(s, options);
    std::set<std::string> sups;
    supervisor_paths(s.tree, s.tree.id, &sups);

    report.scheduler = options.scheduler;
    RunContext ctx;
    ctx.seed = options.seed;
    Outcome outcome;
    const Ticks faults_until = report.plan.faults_until;
    // The harness stops the tree at the scenario's duration; past this the run is stuck.
    const Ticks limit = s.settings.duration + 60'000'000'000;
    std::optional<Watcher> watcher;
    bool idle = false;
    if (options.scheduler == SchedulerKind::threads) {
        ThreadScheduler sched(ThreadConfig{.workers = options.workers});
        watcher.emplace(sched, sups, registered_names(s));
        sched.set_trace_listener(&*watcher);
        chaos::Injector injector(sched, report.plan, options.seed);
        injector.install();
        const Ticks start = sched.now();
        sched.spawn(harness, &s, &ctx, &*watcher, faults_until, &outcome);
        idle = sched.run_until_idle_for(std::chrono::nanoseconds(limit));
        // Nothing runs after this, so the injector and the watcher may go first.
        sched.shutdown();
        report.virtual_time = sched.now() - start;
        report.events = sched.trace_events();
    } else {
        SimConfig config{.seed = options.seed};
        config.policy = options.policy.value_or(s.settings.policy);
        config.trace_out = options.trace_out;
        Simulator sim(config);
        sim.set_step_limit(options.step_limit);
        watcher.emplace(sim, sups, registered_names(s));
        sim.set_trace_listener(&*watcher);
        chaos::Injector injector(sim, report.plan, options.seed);
        injector.install();
        sim.spawn(harness, &s, &ctx, &*watcher, faults_until, &outcome);
        const RunResult result = sim.run_until(limit);
        sim.set_trace_listener(nullptr);
        // A fault that outlives faults_until (heals: false) keeps the injector's clock going
        // after every process has exited: the run is over all the same.
        idle = result.stop == RunResult::Stop::idle || sim.process_count() == 0;
        report.hash = sim.trace_hash();
        report.events = sim.trace_events();
        report.virtual_time = result.now;
    }
    watcher->check_monitors();
    report.metrics = ctx.metrics;
    report.messages_lost = watcher->lost();
    report.healed_at = outcome.healed_at;
    for (const auto& [path, n] : watcher->spawns()) {
        if (n > 1 && (path == s.tree.id || path.starts_with(s.tree.id + "/"))) {
            report.restarts[path] = n - 1;
        }
    }
    report.gave_up = watcher->gave_up();

    bool liveness = false;
    auto fail = [&report](std::string line) { report.failures.push_back(std::move(line)); };
    // Built-in properties, on every run.
    if (!outcome.started) {
        fail("the tree failed to start: " + outcome.start_error);
    }
    for (const std::string& v : watcher->violations()) {
        fail("property: " + v);
    }
    if (!outcome.stopped || !idle) {
        fail("liveness: the run could not be stopped (the tree did not shut down)");
        liveness = true;
    }
    for (const std::string& path : watcher->alive_under(s.tree.id)) {
        fail("property: no process outlives its supervisor: " + path + " is alive after the run");
        liveness = true;
    }
    // The scenario's expectations.
    for (const Expectation& e : s.expectations) {
        bool ok = false;
        std::string why;
        switch (e.kind) {
            case Expectation::Kind::alive:
                ok = outcome.alive_at_end.count(e.path) != 0;
                why = "it was not alive at the end";
                break;
            case Expectation::Kind::restarts: {
                int n = 0;
                for (const auto& [path, count] : report.restarts) {
                    if (chaos::glob_match(e.path, path)) {
                        n += count;
                    }
                }
                ok = n >= e.min && n <= e.max;
                why = std::to_string(n) + " restarts";
                break;
            }
            case Expectation::Kind::gave_up:
            case Expectation::Kind::did_not_give_up: {
                const bool gave = std::find(report.gave_up.begin(), report.gave_up.end(), e.path) !=
                                  report.gave_up.end();
                ok = gave == (e.kind == Expectation::Kind::gave_up);
                why = gave ? "it gave up" : "it did not give up";
                break;
            }
            case Expectation::Kind::healthy_within:
                if (faults_until == chaos::never) {
                    why = "the faults never stop (set faults.until)";
                } else if (outcome.root_gave_up) {
                    why = "the root gave up";
                } else if (!outcome.healed_at) {
                    why = "not whole again by the end of the run";
                } else {
                    ok = *outcome.healed_at - faults_until <= e.within;
                    why = "whole again after " + chaos::time_text(*outcome.healed_at - faults_until);
                }
                if (!ok) {
                    liveness = true;
                }
                break;
            case Expectation::Kind::calls_succeeded: {
                const Metrics& m = report.metrics;
                ok = m.calls > 0 && static_cast<double>(m.calls_ok) >=
                                        e.fraction * static_cast<double>(m.calls);
                std::ostringstream w;
                w << m.calls_ok << " of " << m.calls << " calls succeeded";
                why = w.str();
                break;
            }
            case Expectation::Kind::no_message_lost:
                ok = report.messages_lost == 0;
                why = std::to_string(report.messages_lost) + " messages lost";
                break;
            case Expectation::Kind::metric: {
                const std::uint64_t v = report.metrics.value(e.path);
                ok = v >= static_cast<std::uint64_t>(e.min) && v <= static_cast<std::uint64_t>(e.max);
                why = e.path + " = " + std::to_string(v);
                break;
            }
        }
        (ok ? report.passed : report.failures)
            .push_back(e.describe() + (ok ? "" : " FAILED: ") + (ok ? "" : why) + " (" +
                       e.at.to_string() + ")");
    }
    if (report.failures.empty()) {
        report.verdict = Verdict::pass;
    } else {
        report.verdict = liveness ? Verdict::liveness : Verdict::fail;
    }
    return report;
}

}  // namespace bedlam::scenario
