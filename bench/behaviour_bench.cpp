// Behaviour benchmarks: supervisor restart storms and server call round trips, in the simulator
// and on the threaded scheduler (issue 3; figures in docs/benchmarks.md).
#include <benchmark/benchmark.h>

#include <climits>
#include <string>
#include <vector>

#include "behaviour_bench.hpp"
#include "bedlam/runtime.hpp"
#include "bedlam/runtime/server.hpp"
#include "bedlam/runtime/supervisor.hpp"

namespace bedlam::bench {
namespace {

using benchmark::State;

struct Hello {
    int index;
    Pid pid;
};
struct Never {};

/// A supervised child that tells the storm driver its pid each time it (re)starts.
Process storm_child(Self self, int index, Pid driver) {
    self.send(driver, Hello{index, self.pid()});
    co_await self.receive<Never>();
}

/// Starts a supervisor over `children` storm children, then kills children one at a time,
/// waiting after each kill until the supervisor has restarted what the strategy says: one child
/// under one_for_one, all of them under one_for_all.
Process storm_driver(Self self, Strategy strategy, int children, int kills, int* restarts) {
    self.trap_exit(true);
    std::vector<ChildSpec> specs;
    specs.reserve(static_cast<std::size_t>(children));
    for (int i = 0; i < children; ++i) {
        specs.push_back(ChildSpec::process("c" + std::to_string(i), storm_child, i, self.pid()));
    }
    // No intensity limit: the storm measures restart cost, not giving up.
    const StartResult sup = co_await start_supervisor(self, SupFlags(strategy, INT_MAX, 1), specs);
    std::vector<Pid> pids(static_cast<std::size_t>(children));
    auto take_hello = [&](Hello h) { pids[static_cast<std::size_t>(h.index)] = h.pid; };
    for (int i = 0; i < children; ++i) {
        co_await self.receive(take_hello);
    }
    const int per_kill = strategy == Strategy::one_for_all ? children : 1;
    for (int k = 0; k < kills; ++k) {
        self.exit(pids[static_cast<std::size_t>(k % children)], ExitReason::kill());
        for (int i = 0; i < per_kill; ++i) {
            co_await self.receive(take_hello);
        }
        ++*restarts;
    }
    self.exit(sup.pid, ExitReason::shutdown());
    co_await self.receive<ExitMsg>();
}

void sim_restart_storm(State& state, Strategy strategy, int children, int kills) {
    std::int64_t total = 0;
    for (auto _ : state) {
        int restarts = 0;
        Simulator sim(SimConfig{.seed = 1});
        sim.spawn(storm_driver, strategy, children, kills, &restarts);
        sim.run();
        total += restarts;
    }
    state.SetItemsProcessed(total);
    state.SetLabel(strategy == Strategy::one_for_all ? "items = group restarts"
                                                      : "items = restarts");
}

void threads_restart_storm(State& state, Strategy strategy, int children, int kills) {
    ThreadScheduler sched(ThreadConfig{.workers = 2});
    std::int64_t total = 0;
    for (auto _ : state) {
        int restarts = 0;
        sched.spawn(storm_driver, strategy, children, kills, &restarts);
        sched.run_until_idle();
        total += restarts;
    }
    state.SetItemsProcessed(total);
    state.SetLabel(strategy == Strategy::one_for_all ? "items = group restarts"
                                                      : "items = restarts");
}

struct Get {};

class Echo final : public Server {
public:
    Async<ServerResult> handle_call(Self /*self*/, Message /*request*/, From /*from*/) override {
        co_return ServerResult::reply_with(++calls_);
    }

private:
    int calls_ = 0;
};

Process caller(Self self, int calls, int* done) {
    self.trap_exit(true);
    const StartResult server = co_await start_link<Echo>(self);
    for (int i = 0; i < calls; ++i) {
        *done = co_await call<int>(self, server.pid, Get{});
    }
    co_await stop(self, server.pid);
}

constexpr int calls_per_iteration = 20'000;

void sim_server_call(State& state) {
    std::int64_t total = 0;
    for (auto _ : state) {
        int done = 0;
        Simulator sim(SimConfig{.seed = 1});
        sim.spawn(caller, calls_per_iteration, &done);
        sim.run();
        total += done;
    }
    state.SetItemsProcessed(total);
    state.SetLabel("items = call round trips");
}

void threads_server_call(State& state) {
    ThreadScheduler sched(ThreadConfig{.workers = static_cast<unsigned>(state.range(0))});
    std::int64_t total = 0;
    for (auto _ : state) {
        int done = 0;
        sched.spawn(caller, calls_per_iteration, &done);
        sched.run_until_idle();
        total += done;
    }
    state.SetItemsProcessed(total);
    state.SetLabel("items = call round trips");
}

}  // namespace

void register_behaviour_sim_benchmarks() {
    using benchmark::RegisterBenchmark;
    RegisterBenchmark("BM_SimRestartStorm/one_for_one/1000_children", sim_restart_storm,
                      Strategy::one_for_one, 1000, 100'000)
        ->Unit(benchmark::kMillisecond);
    RegisterBenchmark("BM_SimRestartStorm/one_for_all/100_children", sim_restart_storm,
                      Strategy::one_for_all, 100, 10'000)
        ->Unit(benchmark::kMillisecond);
    RegisterBenchmark("BM_SimServerCall", sim_server_call)->Unit(benchmark::kMillisecond);
}

void register_behaviour_threads_benchmarks() {
    using benchmark::RegisterBenchmark;
    RegisterBenchmark("BM_ThreadsRestartStorm/one_for_one/1000_children", threads_restart_storm,
                      Strategy::one_for_one, 1000, 100'000)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    RegisterBenchmark("BM_ThreadsRestartStorm/one_for_all/100_children", threads_restart_storm,
                      Strategy::one_for_all, 100, 10'000)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    RegisterBenchmark("BM_ThreadsServerCall", threads_server_call)
        ->ArgName("workers")
        ->Arg(1)
        ->Arg(2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
}

}  // namespace bedlam::bench
