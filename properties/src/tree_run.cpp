#include "bedlam/properties/tree_run.hpp"

#include <map>
#include <memory>
#include <sstream>
#include <utility>

#include "bedlam/chaos/injector.hpp"
#include "bedlam/properties/supervisor_run.hpp"
#include "bedlam/runtime.hpp"
#include "bedlam/runtime/supervisor.hpp"

namespace bedlam::properties {

namespace {

constexpr const char* toxic_service = "db";
constexpr Duration toxic_check = std::chrono::milliseconds(10);

std::string at(Ticks t) {
    std::ostringstream out;
    out << "t=" << t / 1'000'000 << "ms";
    return out.str();
}

/// The chaos injector with eyes: it passes every hook on to the injector and keeps, from
/// on_spawn and on_exit, who spawned whom and who is alive. A supervisor that exits cleanly
/// must have no child left alive (otp-semantics §3: it terminates its children before it
/// exits).
class Observer final : public Interposer {
public:
    Observer(Runtime& runtime, chaos::Injector& injector, ChaosRun* run)
        : runtime_(runtime), injector_(injector), run_(run) {}

    DeliveryDecision before_deliver(const DeliveryInfo& info) override {
        return injector_.before_deliver(info);
    }
    ResumeDecision before_resume(Pid pid) override { return injector_.before_resume(pid); }
    Ticks before_timer(Pid target, TimerRef ref) override {
        return injector_.before_timer(target, ref);
    }
    std::uint8_t on_spawn(const SpawnInfo& info) override {
        const bool in_tree = info.path == "app" || info.path.starts_with("app/");
        procs_[info.child.id] = Proc{info.parent, info.kind, in_tree, true, std::string(info.path)};
        if (in_tree) {
            ++run_->spawned;
        }
        return injector_.on_spawn(info);
    }
    void on_exit(Pid pid, const ExitReason& reason) override {
        injector_.on_exit(pid, reason);
        const auto it = procs_.find(pid.id);
        if (it == procs_.end()) {
            return;
        }
        it->second.alive = false;
        const std::string& path = it->second.path;
        if (it->second.in_tree && !stopping_ && it->second.kind == ProcessKind::process &&
            !path.starts_with("app/toxic") && !path.starts_with("app/tether")) {
            run_->worker_exits.push_back(path + " " + reason.to_string());
        }
        // A supervisor that was killed or crashed (an injected crash) dies at once, as in OTP,
        // and its children follow through their links; one that exits cleanly (it gave up or
        // was told to stop) has stopped them all first.
        if (it->second.kind != ProcessKind::supervisor || !reason.is_clean()) {
            return;
        }
        for (const auto& [id, p] : procs_) {
            if (p.alive && p.parent == pid) {
                run_->violations.push_back(at(runtime_.now()) + " supervisor " +
                                           it->second.path + " exited " + reason.to_string() +
                                           " with its child " + p.path + " still alive");
            }
        }
    }
    bool fault_point(Pid pid, std::string_view name) override {
        return injector_.fault_point(pid, name);
    }
    bool service_available(Pid pid, std::string_view name) override {
        return injector_.service_available(pid, name);
    }
    [[nodiscard]] Ticks next_action() const override { return injector_.next_action(); }
    void act(Runtime& runtime, Ticks now) override { injector_.act(runtime, now); }

    /// From now on the harness is stopping the tree: exits are no longer the faults' doing.
    void stopping() { stopping_ = true; }

    /// Tree processes still alive (after the run: they outlived the whole tree).
    [[nodiscard]] std::vector<std::string> alive_in_tree() const {
        std::vector<std::string> out;
        for (const auto& [id, p] : procs_) {
            if (p.alive && p.in_tree) {
                out.push_back(p.path);
            }
        }
        return out;
    }

private:
    struct Proc {
        Pid parent;
        ProcessKind kind = ProcessKind::process;
        bool in_tree = false;
        bool alive = false;
        std::string path;
    };
    Runtime& runtime_;
    chaos::Injector& injector_;
    ChaosRun* run_;
    std::map<std::uint64_t, Proc> procs_;  // By pid, in spawn order.
    bool stopping_ = false;
};

// -- Messages ------------------------------------------------------------------------------------

struct Started {  // Worker -> watcher.
    Pid pid;
    std::string name;
};
struct Finish {  // Harness -> watcher.
    Pid reply_to;
};
struct Finished {};
struct Strength {  // Checker -> harness.
    bool full = false;
};
struct Ping {  // Client -> worker.
    Pid from;
    std::uint64_t seq = 0;
};
struct Pong {  // Worker -> client.
    Pid from;
    std::uint64_t seq = 0;
};

// -- The processes --------------------------------------------------------------------------------

/// A worker: registers under its path, reports to the watcher, answers pings, and waits for
/// exit signals (trapped: it exits with the signal's reason) while a 100 ms timer keeps it busy.
Process worker(Self self, std::string name, Pid starter) {
    self.trap_exit(true);
    self.register_name(name, self.pid());
    Started started{self.pid(), name};
    self.send("watcher", std::move(started));
    ack_started(self, starter);
    for (;;) {
        std::optional<ExitMsg> m;
        std::optional<Ping> ping;
        co_await self.receive([&](ExitMsg e) { m = std::move(e); }, [&](Ping p) { ping = p; })
            .after(std::chrono::milliseconds(100), [] {});
        if (m) {
            self.exit(m->reason);
        }
        if (ping) {
            Pong pong{self.pid(), ping->seq};
            self.send(ping->from, std::move(pong));
        }
    }
}

/// A workload client (WorkloadClient): ping, monitor, check what comes back.
Process client(Self self, ChaosRun* run, std::string name, Ticks every, Ticks timeout) {
    for (std::uint64_t seq = 1;; ++seq) {
        co_await self.sleep(Duration(every));
        const std::optional<Pid> target = self.whereis(name);
        if (!target) {
            continue;
        }
        const MonitorRef ref = self.monitor(*target);
        Ping ping{self.pid(), seq};
        self.send(*target, std::move(ping));
        ++run->pings;
        const Ticks until = self.now() + timeout;
        bool done = false;
        while (!done && self.now() < until) {
            std::optional<Pong> pong;
            std::optional<DownMsg> down;
            co_await self
                .receive([&](Pong p) { pong = p; },
                         when([ref](const DownMsg& d) { return d.ref == ref; },
                              [&](DownMsg d) { down = std::move(d); }))
                .after(Duration(until - self.now()), [] {});
            if (down) {
                ++run->downs;
                done = true;
                // §2: a DOWN comes after the exit; the process it names is gone.
                if (self.is_alive(down->pid)) {
                    run->violations.push_back(at(self.now()) + " a DOWN for " + name +
                                              " whose process is still alive");
                }
            } else if (pong && pong->seq == seq) {
                ++run->pongs;
                done = true;
                if (pong->from != *target) {
                    run->violations.push_back(at(self.now()) + " a pong for " + name +
                                              " from another process than its name gave");
                }
            }  // Else a late pong of an earlier round, or the time-out: go on.
        }
        self.demonitor(ref, DemonitorOptions{.flush = true});
    }
}

/// A worker that needs the service `db`: it starts, and soon after crashes if the service is
/// down (a toxic failure: restarting it does not help).
Process toxic_worker(Self self, Pid starter) {
    self.trap_exit(true);
    ack_started(self, starter);
    for (;;) {
        std::optional<ExitMsg> m = co_await self.receive([](ExitMsg e) { return std::optional(e); })
                                       .after(toxic_check, [] { return std::optional<ExitMsg>(); });
        if (m) {
            self.exit(m->reason);
        }
        if (!service_available(toxic_service)) {
            self.exit(ExitReason::error("{service_down,db}"));
        }
    }
}

Async<StartResult> start_worker(Self self, std::string name) {
    const Pid pid = self.spawn_link(worker, std::move(name), self.pid());
    co_return co_await await_started(self, pid);
}

Async<StartResult> start_toxic(Self self) {
    const Pid pid = self.spawn_link(toxic_worker, self.pid());
    co_return co_await await_started(self, pid);
}

/// Monitors every worker that reports, counts DOWNs per monitor, and every `poll` checks that
/// each name it knows is free or held by a live process.
Process watcher(Self self, ChaosRun* run, Ticks poll) {
    struct Watch {
        Pid pid;
        std::string name;
        int downs = 0;
    };
    std::map<MonitorRef, Watch> downs;
    std::map<std::string, int> names;
    std::optional<Pid> finish;
    Ticks quiet_since = 0;
    for (;;) {
        const Ticks now = self.now();
        if (finish) {
            // Every worker is gone: each monitor must have given exactly one DOWN. Wait for
            // late ones a while, then judge.
            bool all = true;
            for (const auto& [ref, watch] : downs) {
                all = all && watch.downs >= 1;
            }
            if (all && now - quiet_since >= 100'000'000) {
                break;
            }
            if (now - quiet_since >= 10'000'000'000) {
                break;
            }
        }
        int what = co_await self.receive(
                                [&](Started s) {
                                    downs.emplace(self.monitor(s.pid), Watch{s.pid, s.name});
                                    ++run->monitors;
                                    names.emplace(std::move(s.name), 0);
                                    return 0;
                                },
                                [&](DownMsg d) {
                                    const auto it = downs.find(d.ref);
                                    if (it == downs.end()) {
                                        run->violations.push_back(at(self.now()) +
                                                                  " a DOWN for an unknown monitor");
                                    } else {
                                        ++it->second.downs;
                                    }
                                    return 1;
                                },
                                [&](Finish f) {
                                    finish = f.reply_to;
                                    return 2;
                                })
                       .after(Duration(poll), [] { return 3; });
        if (what != 0 && what != 3) {
            quiet_since = self.now();
        }
        if (what == 2) {
            quiet_since = self.now();
        }
        // Registry: a name never points at a process whose exit has been processed (§6).
        for (const auto& [name, unused] : names) {
            const std::optional<Pid> holder = self.whereis(name);
            if (holder && !self.is_alive(*holder)) {
                run->violations.push_back(at(self.now()) + " the name " + name +
                                          " points at a dead process");
            }
        }
    }
    for (const auto& [ref, watch] : downs) {
        // None yet is right only for a process that is still alive (a run stuck on lost
        // messages); that is a liveness failure, reported apart.
        if (watch.downs > 1 || (watch.downs == 0 && !self.is_alive(watch.pid))) {
            run->violations.push_back("the monitor of " + watch.name + " gave " +
                                      std::to_string(watch.downs) + " DOWN messages");
        }
    }
    self.send(*finish, Finished{});
}

/// Whether the supervisor `sup` (spec `spec`) has every permanent child running, recursively.
Async<bool> full_strength(Self self, Pid sup, const ModelSupervisor* spec) {
    const std::vector<ChildInfo> children = co_await which_children(self, ServerRef(sup));
    std::map<std::string, ChildInfo> by_id;
    for (const ChildInfo& c : children) {
        by_id.emplace(c.id, c);
    }
    for (std::size_t i = 0; i < spec->children.size(); ++i) {
        const ModelChild& model = spec->children[i];
        const auto it = by_id.find(child_id(i));
        const bool running = it != by_id.end() && it->second.state == ChildInfo::State::running &&
                             it->second.pid.valid();
        if (!running) {
            if (model.restart == Restart::permanent) {
                co_return false;
            }
            continue;
        }
        if (model.is_supervisor()) {
            const bool sub = co_await full_strength(self, it->second.pid, model.supervisor.get());
            if (!sub) {
                co_return false;
            }
        }
    }
    co_return true;
}

Process checker(Self self, Pid harness, Pid root, const ModelSupervisor* spec) {
    const bool full = co_await full_strength(self, root, spec);
    self.send(harness, Strength{full});
}

Process harness(Self self, ChaosRun* run, Observer* observer, ModelSupervisor spec,
                Ticks faults_until, ChaosRunOptions options) {
    self.trap_exit(true);
    const Pid watcher_pid = self.spawn(watcher, run, options.poll);
    self.register_name("watcher", watcher_pid);  // Before any worker sends to it.
    std::vector<ChildSpec> children =
        model_child_specs(spec, [](const std::string& path) -> StartFn {
            return [path](Self s, const Any& /*extra*/) { return start_worker(s, path); };
        });
    if (options.toxic) {
        ChildSpec toxic("toxic", [](Self s, const Any& /*extra*/) { return start_toxic(s); });
        if (options.tethered) {
            std::vector<ChildSpec> inside;
            inside.push_back(std::move(toxic));
            ChildSpec tether =
                supervisor_spec("tether", SupFlags(Strategy::one_for_one, 1, 5), std::move(inside));
            tether.restart(Restart::transient);
            children.push_back(std::move(tether));
        } else {
            children.push_back(std::move(toxic));
        }
    }
    self.set_child_path("app");
    const SupFlags flags(spec.strategy, spec.intensity, spec.period_s);
    const StartResult started = co_await start_supervisor(self, flags, std::move(children));
    self.set_child_path("");
    const Pid root = started.pid;
    auto from_root = [root](const ExitMsg& m) { return m.from == root; };
    bool root_alive = started.ok();
    if (!root_alive) {
        // A fault during start (a transient crash in a child's init, say) makes the tree fail
        // to start, as in OTP: the root gave up at once.
        run->root_gave_up = true;
        run->start_failed = true;
        run->root_exit_at = self.now();
    }
    std::vector<Pid> clients;
    if (root_alive) {
        const std::vector<std::string> paths = worker_paths(spec);
        for (const WorkloadClient& c : options.workload) {
            if (c.worker < paths.size()) {
                clients.push_back(
                    self.spawn(client, run, paths[c.worker], c.every, c.timeout));
            }
        }
    }
    const Ticks deadline = faults_until + options.heal_bound;
    // Until the faults stop: only watch for the root giving up.
    while (root_alive && self.now() < deadline) {
        const Ticks now = self.now();
        const Ticks wake = now < faults_until ? faults_until : now + options.poll;
        const std::optional<ExitMsg> gone =
            co_await self.receive(when(from_root, [](ExitMsg m) { return std::optional(m); }))
                .after(Duration(wake - now), [] { return std::optional<ExitMsg>(); });
        if (gone) {
            root_alive = false;
            run->root_gave_up = true;
            run->root_exit_at = self.now();
            break;
        }
        if (run->healed_at || self.now() < faults_until) {
            continue;
        }
        // Look at the tree from a process of its own: a call to a supervisor that is going
        // down exits the caller.
        const MonitorRef ref = self.spawn_monitor(checker, self.pid(), root, &spec).second;
        const int verdict = co_await self.receive(
            [](Strength s) { return s.full ? 1 : 0; },
            when([ref](const DownMsg& d) { return d.ref == ref; }, [](DownMsg) { return -1; }));
        if (verdict != -1) {
            self.demonitor(ref, DemonitorOptions{.flush = true});
        }
        if (verdict == 1) {
            run->healed_at = self.now();
            break;
        }
    }
    observer->stopping();
    for (const Pid c : clients) {
        self.exit(c, ExitReason::kill());
    }
    if (root_alive) {
        self.exit(root, ExitReason::shutdown());
        co_await self.receive(when(from_root, [](ExitMsg) {}));
    }
    Finish finish{self.pid()};
    self.send(watcher_pid, std::move(finish));
    co_await self.receive<Finished>();
}

}  // namespace

ChaosRun run_tree_under_chaos(const ModelSupervisor& tree, const chaos::Plan& plan,
                              std::uint64_t seed, const ChaosRunOptions& options) {
    ChaosRun run;
    SimConfig config{.seed = seed};
    config.trace_out = options.trace_out;
    config.choose = options.choose;
    Simulator sim(config);
    chaos::Injector injector(sim, plan, seed);
    Observer observer(sim, injector, &run);
    sim.set_interposer(&observer);
    const Ticks faults_until = plan.faults_until == chaos::never ? 0 : plan.faults_until;
    sim.spawn(harness, &run, &observer, tree, faults_until, options);
    // The harness ends well before this unless something in the tree refuses to stop.
    const Ticks limit = faults_until + options.heal_bound + 60'000'000'000;
    const RunResult result = sim.run_until(limit);
    if (result.stop != RunResult::Stop::idle) {
        run.stuck.push_back("the run did not end by " + at(limit));
    }
    for (const std::string& path : observer.alive_in_tree()) {
        run.stuck.push_back("after the run, " + path + " is still alive");
    }
    sim.set_interposer(nullptr);
    run.hash = sim.trace_hash();
    return run;
}

}  // namespace bedlam::properties
