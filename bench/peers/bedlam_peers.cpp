// bedlam_peers: runs one program of the side-by-side suite (bench/peers/, docs/benchmarks.md) once
// on a ThreadScheduler and prints what it measured, in the format that bench/peers/run.sh reads
// from all three runtimes:
//
//   SIZE <benchmark> <key>=<value> ...      the work done, so that run.sh can check the peers did
//                                           the same
//   RESULT <benchmark> <metric> <value>     one line per figure
//   INFO workers <N>                        the scheduler threads used
//
// Usage: bedlam_peers <benchmark> [--workers N] [--quick]
// The sizes below are those of bench/peers/erlang/peers.erl and bench/peers/caf/caf_peers.cpp;
// --quick divides the repeated part of each program by 10.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "bedlam/runtime.hpp"
#include "threads_workloads.hpp"

namespace bedlam::bench {
namespace {

struct Options {
    std::string benchmark;
    unsigned workers = 0;  // 0: one per core, ThreadScheduler's default.
    bool quick = false;
};

constexpr const char* usage =
    "usage: bedlam_peers <benchmark> [--workers N] [--quick]\n"
    "benchmarks: spawn idle_memory ping_pong ring fan_in restart_one_for_one\n"
    "            restart_one_for_all sup_tree server_call\n";

void result(const char* benchmark, const char* metric, double value) {
    std::printf("RESULT %s %s %.1f\n", benchmark, metric, value);
}

double per_second(std::uint64_t items, Ticks elapsed_ns) {
    return static_cast<double>(items) * 1e9 / static_cast<double>(elapsed_ns > 0 ? elapsed_ns : 1);
}

/// Runs `name` and prints its figures; false if there is no such benchmark.
bool run(const Options& options) {
    ThreadScheduler sched(ThreadConfig{.workers = options.workers});
    const std::string_view name = options.benchmark;
    const std::uint64_t scale = options.quick ? 10 : 1;
    std::printf("INFO workers %u\n", sched.workers());
    if (name == "spawn") {
        const std::uint64_t n = 1'000'000 / scale;
        std::printf("SIZE spawn processes=%llu\n", static_cast<unsigned long long>(n));
        result("spawn", "processes_per_s", per_second(n, run_spawn(sched, n)));
    } else if (name == "idle_memory") {
        const std::uint64_t n = 100'000;
        std::printf("SIZE idle_memory processes=%llu\n", static_cast<unsigned long long>(n));
        const IdleFootprint f = run_idle_footprint(sched, n);
        result("idle_memory", "bytes_per_process", f.bytes_per_process);
    } else if (name == "ping_pong") {
        const std::uint64_t n = 2'000'000 / scale;
        std::printf("SIZE ping_pong round_trips=%llu\n", static_cast<unsigned long long>(n));
        result("ping_pong", "round_trips_per_s", per_second(n, run_ping_pong(sched, n)));
    } else if (name == "ring") {
        const std::uint64_t processes = 10'000;
        const std::uint64_t laps = 100 / scale;
        std::printf("SIZE ring processes=%llu laps=%llu\n",
                    static_cast<unsigned long long>(processes),
                    static_cast<unsigned long long>(laps));
        result("ring", "hops_per_s",
               per_second(processes * laps, run_ring(sched, processes, laps)));
    } else if (name == "fan_in") {
        const std::uint64_t senders = 1'000;
        const std::uint64_t each = 1'000 / scale;
        std::printf("SIZE fan_in senders=%llu messages_each=%llu\n",
                    static_cast<unsigned long long>(senders),
                    static_cast<unsigned long long>(each));
        result("fan_in", "msgs_per_s",
               per_second(senders * each, run_fan_in(sched, senders, each)));
    } else if (name == "restart_one_for_one") {
        const int children = 1'000;
        const int kills = 100'000 / static_cast<int>(scale);
        std::printf("SIZE restart_one_for_one children=%d kills=%d\n", children, kills);
        const Ticks t = run_restart_storm(sched, Strategy::one_for_one, children, kills);
        result("restart_one_for_one", "restarts_per_s",
               per_second(static_cast<std::uint64_t>(kills), t));
    } else if (name == "restart_one_for_all") {
        const int children = 100;
        const int kills = 10'000 / static_cast<int>(scale);
        std::printf("SIZE restart_one_for_all children=%d kills=%d\n", children, kills);
        const Ticks t = run_restart_storm(sched, Strategy::one_for_all, children, kills);
        const auto groups = static_cast<std::uint64_t>(kills);
        result("restart_one_for_all", "group_restarts_per_s", per_second(groups, t));
        result("restart_one_for_all", "child_restarts_per_s",
               per_second(groups * static_cast<std::uint64_t>(children), t));
    } else if (name == "sup_tree") {
        const int supervisors = 100;
        const int workers_each = 1'000 / static_cast<int>(scale);
        std::printf("SIZE sup_tree supervisors=%d workers_each=%d\n", supervisors, workers_each);
        const TreeTimes t = run_supervision_tree(sched, supervisors, workers_each);
        const auto children =
            static_cast<std::uint64_t>(supervisors) * static_cast<std::uint64_t>(workers_each);
        result("sup_tree", "start_children_per_s", per_second(children, t.start_ns));
        result("sup_tree", "stop_children_per_s", per_second(children, t.stop_ns));
    } else if (name == "server_call") {
        const std::uint64_t n = 1'000'000 / scale;
        std::printf("SIZE server_call calls=%llu\n", static_cast<unsigned long long>(n));
        const Ticks t = run_server_calls(sched, n);
        result("server_call", "calls_per_s", per_second(n, t));
        result("server_call", "ns_per_call", static_cast<double>(t) / static_cast<double>(n));
    } else {
        return false;
    }
    std::fflush(stdout);
    return true;
}

}  // namespace
}  // namespace bedlam::bench

int main(int argc, char** argv) {
    bedlam::bench::Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--workers" && i + 1 < argc) {
            options.workers = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
        } else if (arg == "--quick") {
            options.quick = true;
        } else if (!arg.starts_with("-") && options.benchmark.empty()) {
            options.benchmark = arg;
        } else {
            std::fputs(bedlam::bench::usage, stderr);
            return 2;
        }
    }
    if (options.benchmark.empty() || !bedlam::bench::run(options)) {
        std::fputs(bedlam::bench::usage, stderr);
        return 2;
    }
    return 0;
}
