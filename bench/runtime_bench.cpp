// Runtime benchmarks: spawn and exit rates, the resident footprint of an idle process, and message
// throughput, on the simulator and on the threaded scheduler. docs/benchmarks.md gives the
// figures, the targets and the commands that reproduce them.
//
// Every timed iteration builds its runtime (the simulator) or its processes (the threaded
// scheduler) afresh and measures a whole run with enough work to drown the set-up: 10,000
// spawns or 100,000 messages. The benchmarks are registered by hand in main() so the functions
// keep the house naming style while the reported names stay BM_*.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <streambuf>

#include "bedlam/chaos/injector.hpp"
#include "bedlam/runtime.hpp"
#include "behaviour_bench.hpp"
#include "properties_bench.hpp"
#include "threads_workloads.hpp"

namespace bedlam::bench {
namespace {

using benchmark::Counter;
using benchmark::State;

constexpr std::int64_t spawns_per_iteration = 10'000;
constexpr std::int64_t messages_per_iteration = 100'000;
constexpr std::int64_t idle_processes = 100'000;
constexpr std::uint64_t threads_round_trips = 10'000;
constexpr std::uint64_t ping_pong_pairs = 1'000;

// -- Process bodies --------------------------------------------------------------------------------

Process exit_at_once(Self /*self*/) { co_return; }

Process spawner(Self self, std::int64_t children) {
    for (std::int64_t i = 0; i < children; ++i) {
        self.spawn(exit_at_once);
    }
    co_return;
}

struct Stop {};

/// Blocks forever in a receive with no time-out: the idle process whose footprint we measure.
Process idle(Self self) { co_await self.receive<Stop>(); }

struct Item {
    std::uint64_t n;
};

Process consumer(Self self, std::uint64_t count, std::uint64_t* sum) {
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
        const Item item = co_await self.receive<Item>();
        total += item.n;
    }
    *sum = total;
}

Process producer(Self self, Pid to, std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) {
        self.send(to, Item{i});
    }
    co_return;
}

struct Ping {
    Pid from;
    std::uint64_t n;
    bool stop;
};
struct Pong {
    std::uint64_t n;
};

Process ponger(Self self) {
    for (;;) {
        const Ping ping = co_await self.receive<Ping>();
        if (ping.stop) {
            co_return;
        }
        self.send(ping.from, Pong{ping.n});
    }
}

Process pinger(Self self, Pid peer, std::uint64_t rounds, std::uint64_t* sum) {
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < rounds; ++i) {
        self.send(peer, Ping{self.pid(), i, false});
        const Pong pong = co_await self.receive<Pong>();
        total += pong.n;
    }
    self.send(peer, Ping{self.pid(), 0, true});
    *sum += total;
}

// -- Helpers ---------------------------------------------------------------------------------------

/// Resident set size of this process, from /proc/self/statm (pages) times the page size.
double resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t size_pages = 0;
    std::size_t resident_pages = 0;
    statm >> size_pages >> resident_pages;
    return static_cast<double>(resident_pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

/// Bytes the allocator has handed out (main arena plus mmapped chunks).
double heap_bytes() {
    const struct mallinfo2 info = mallinfo2();
    return static_cast<double>(info.uordblks + info.hblkhd);
}

/// A stream buffer that discards what it is given but counts it. It buffers like a file stream
/// does (4 KiB), so the JSON trace is formatted in full and costs what it would cost against a
/// fast sink such as /dev/null, minus the write system calls.
class NullBuffer final : public std::streambuf {
public:
    NullBuffer() { reset(); }

    [[nodiscard]] std::uint64_t bytes() const noexcept {
        return bytes_ + static_cast<std::uint64_t>(pptr() - pbase());
    }

protected:
    int_type overflow(int_type c) override {
        bytes_ += static_cast<std::uint64_t>(pptr() - pbase());
        reset();
        if (!traits_type::eq_int_type(c, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(c);
            pbump(1);
        }
        return traits_type::not_eof(c);
    }

private:
    void reset() noexcept { setp(buffer_.data(), buffer_.data() + buffer_.size()); }

    std::array<char, 4096> buffer_{};
    std::uint64_t bytes_ = 0;
};

enum class Pattern : std::uint8_t {
    burst,     // One producer sends every message in one step; one consumer receives them.
    pingpong,  // One pair; each round trip is two messages and two context switches.
    pairs,     // ping_pong_pairs pairs at once: the random policy picks among many runnables.
};

/// Spawns the processes of `pattern` for about `messages` messages; returns how many messages
/// the run will deliver.
std::uint64_t spawn_pattern(Runtime& rt, Pattern pattern, std::uint64_t messages,
                            std::uint64_t* sum) {
    switch (pattern) {
        case Pattern::burst: {
            const Pid to = rt.spawn(consumer, messages, sum);
            rt.spawn(producer, to, messages);
            return messages;
        }
        case Pattern::pingpong: {
            const std::uint64_t rounds = messages / 2;
            const Pid peer = rt.spawn(ponger);
            rt.spawn(pinger, peer, rounds, sum);
            return 2 * rounds + 1;
        }
        case Pattern::pairs: {
            const std::uint64_t rounds = messages / 2 / ping_pong_pairs;
            for (std::uint64_t i = 0; i < ping_pong_pairs; ++i) {
                const Pid peer = rt.spawn(ponger);
                rt.spawn(pinger, peer, rounds, sum);
            }
            return ping_pong_pairs * (2 * rounds + 1);
        }
    }
    return 0;
}

// -- Benchmarks ------------------------------------------------------------------------------------

/// Spawn + exit rate in the simulator; `in_process` spawns from a process instead of from
/// outside.
void sim_spawn_exit(State& state, bool in_process) {
    const std::int64_t n = state.range(0);
    for (auto _ : state) {
        Simulator sim(SimConfig{.seed = 1});
        if (in_process) {
            sim.spawn(spawner, n);
        } else {
            for (std::int64_t i = 0; i < n; ++i) {
                sim.spawn(exit_at_once);
            }
        }
        const RunResult result = sim.run();
        benchmark::DoNotOptimize(result.steps);
    }
    state.SetItemsProcessed(state.iterations() * n);
}

/// Spawn + exit rate on the threaded scheduler with two workers.
void threads_spawn_exit(State& state, bool in_process) {
    const std::int64_t n = state.range(0);
    ThreadScheduler sched(ThreadConfig{.workers = 2});
    for (auto _ : state) {
        if (in_process) {
            sched.spawn(spawner, n);
        } else {
            for (std::int64_t i = 0; i < n; ++i) {
                sched.spawn(exit_at_once);
            }
        }
        sched.run_until_idle();
    }
    state.SetItemsProcessed(state.iterations() * n);
}

/// Resident bytes per idle process: `n` processes parked in a receive with no time-out.
void idle_process_bytes(State& state) {
    const std::int64_t n = state.range(0);
    const auto count = static_cast<double>(n);
    double spawned = 0;
    double parked = 0;
    double heap = 0;
    for (auto _ : state) {
        malloc_trim(0);  // Hand back what earlier runs freed, so that growth is ours alone.
        const double rss_before = resident_bytes();
        const double heap_before = heap_bytes();
        auto sim = std::make_unique<Simulator>(SimConfig{.seed = 1});
        for (std::int64_t i = 0; i < n; ++i) {
            sim->spawn(idle);
        }
        const double rss_spawned = resident_bytes();
        {
            const RunResult result = sim->run();
            if (result.deadlocked.size() != static_cast<std::size_t>(n)) {
                state.SkipWithError("not every process parked");
            }
        }
        malloc_trim(0);  // Drop the run's transient garbage (the deadlock report).
        const double rss_parked = resident_bytes();
        const double heap_parked = heap_bytes();
        spawned = (rss_spawned - rss_before) / count;
        parked = (rss_parked - rss_before) / count;
        heap = (heap_parked - heap_before) / count;
        sim.reset();
    }
    state.counters["bytes_per_process"] = Counter(parked);
    state.counters["bytes_per_process_spawned"] = Counter(spawned);
    state.counters["heap_bytes_per_process"] = Counter(heap);
    state.counters["sizeof_proc"] = Counter(static_cast<double>(sizeof(detail::Proc)));
}

/// A fault plan that is checked on every delivery and resumption but never strikes: network and
/// slow faults aimed at a subtree no process is in, and a kill scheduled after the run.
chaos::Plan idle_plan() {
    chaos::Plan plan;
    chaos::Fault drop;
    drop.kind = chaos::FaultKind::drop;
    drop.target = chaos::Target::path("nowhere/**");
    drop.probability = 0.5;
    chaos::Fault slow;
    slow.kind = chaos::FaultKind::slow;
    slow.target = chaos::Target::path("nowhere/**");
    slow.max_delay = 1'000'000;
    chaos::Fault kill;
    kill.kind = chaos::FaultKind::kill;
    kill.at = std::numeric_limits<Ticks>::max() / 2;
    plan.faults = {drop, slow, kill};
    return plan;
}

/// Messages delivered per second in the simulator (random policy; the trace is always hashed).
/// With `json`, the trace is also written as JSON lines to a stream that discards them. With
/// `injector`, a chaos Injector runs idle_plan() (issue 4: within 10% of none).
void sim_messages(State& state, Pattern pattern, bool json, bool injector) {
    const auto messages = static_cast<std::uint64_t>(state.range(0));
    NullBuffer null_buffer;
    std::ostream null_stream(&null_buffer);
    std::uint64_t delivered = 0;
    std::uint64_t events = 0;
    std::uint64_t sum = 0;
    for (auto _ : state) {
        Simulator sim(SimConfig{.seed = 1, .trace_out = json ? &null_stream : nullptr});
        std::optional<chaos::Injector> chaos;
        if (injector) {
            chaos.emplace(sim, idle_plan(), 1);
            chaos->install();
        }
        delivered += spawn_pattern(sim, pattern, messages, &sum);
        const RunResult result = sim.run();
        benchmark::DoNotOptimize(result.steps);
        events += sim.trace_events();
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(static_cast<std::int64_t>(delivered));
    state.counters["trace_events_per_msg"] =
        Counter(static_cast<double>(events) / static_cast<double>(delivered));
    if (json) {
        state.counters["json_bytes_per_msg"] = Counter(static_cast<double>(null_buffer.bytes()) /
                                                       static_cast<double>(delivered));
    }
}

/// Ping-pong round trips per second on the threaded scheduler; range(0) is the worker count.
void threads_ping_pong(State& state) {
    ThreadScheduler sched(ThreadConfig{.workers = static_cast<unsigned>(state.range(0))});
    std::uint64_t sum = 0;
    for (auto _ : state) {
        const Pid peer = sched.spawn(ponger);
        sched.spawn(pinger, peer, threads_round_trips, &sum);
        sched.run_until_idle();
    }
    benchmark::DoNotOptimize(sum);
    const auto rounds = static_cast<std::int64_t>(threads_round_trips) * state.iterations();
    state.SetItemsProcessed(rounds);
    state.SetLabel("items = round trips");
}

/// A token around a ring of range(0) processes, 100 laps, on the threaded scheduler (the
/// program of bench/peers/: bedlam_peers ring). The ring is built anew in every iteration, but
/// only the laps are timed (manual time), as the peers time them.
void threads_ring(State& state) {
    const auto processes = static_cast<std::uint64_t>(state.range(0));
    constexpr std::uint64_t laps = 100;
    ThreadScheduler sched;
    for (auto _ : state) {
        const Ticks elapsed = run_ring(sched, processes, laps);
        state.SetIterationTime(static_cast<double>(elapsed) * 1e-9);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(processes * laps));
    state.SetLabel("items = hops");
}

/// range(0) senders × 1,000 messages each to one receiver on the threaded scheduler (the program
/// of bench/peers/: bedlam_peers fan_in); the senders' spawns are part of the time.
void threads_fan_in(State& state) {
    const auto senders = static_cast<std::uint64_t>(state.range(0));
    constexpr std::uint64_t each = 1'000;
    ThreadScheduler sched;
    for (auto _ : state) {
        const Ticks elapsed = run_fan_in(sched, senders, each);
        state.SetIterationTime(static_cast<double>(elapsed) * 1e-9);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(senders * each));
    state.SetLabel("items = messages");
}

/// The trace fold alone: one `send` event per item. Every simulated message costs two events
/// (send and deliver), so half this rate bounds simulator throughput with tracing on.
void trace_record(State& state) {
    Ticks clock = 0;
    Trace trace(&clock);
    std::uint64_t i = 0;
    for (auto _ : state) {
        clock = static_cast<Ticks>(i);
        trace.record(TraceEvent{TraceKind::send, Pid{i}, Pid{i + 1}, i});
        ++i;
    }
    benchmark::DoNotOptimize(trace.hash());
    state.SetItemsProcessed(state.iterations());
}

/// The side-by-side programs of bench/peers/ that also run here, with the default worker count
/// (one per core) as bedlam_peers uses.
void register_peer_benchmarks() {
    using benchmark::RegisterBenchmark;
    RegisterBenchmark("BM_ThreadsRing", threads_ring)
        ->ArgName("processes")
        ->Arg(10'000)
        ->Unit(benchmark::kMillisecond)
        ->UseManualTime();
    RegisterBenchmark("BM_ThreadsFanIn", threads_fan_in)
        ->ArgName("senders")
        ->Arg(1'000)
        ->Unit(benchmark::kMillisecond)
        ->UseManualTime();
}

void register_benchmarks() {
    using benchmark::RegisterBenchmark;
    // Simulator benchmarks first. Once a process has started a second thread, glibc's malloc
    // takes its multi-threaded path (atomic fast bins, arena locks) for good, which costs the
    // simulator's message path 10-30%; the ThreadScheduler benchmarks therefore come last.

    // First of all, while the heap is still small and clean.
    RegisterBenchmark("BM_IdleProcessBytes", idle_process_bytes)
        ->Arg(idle_processes)
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);

    RegisterBenchmark("BM_SimSpawnExit/outside", sim_spawn_exit, false)
        ->Arg(spawns_per_iteration)
        ->Unit(benchmark::kMicrosecond);
    RegisterBenchmark("BM_SimSpawnExit/in_process", sim_spawn_exit, true)
        ->Arg(spawns_per_iteration)
        ->Unit(benchmark::kMicrosecond);

    RegisterBenchmark("BM_TraceRecord", trace_record);
    RegisterBenchmark("BM_SimMessages/burst", sim_messages, Pattern::burst, false, false)
        ->Arg(messages_per_iteration)
        ->Unit(benchmark::kMillisecond);
    RegisterBenchmark("BM_SimMessages/pingpong", sim_messages, Pattern::pingpong, false, false)
        ->Arg(messages_per_iteration)
        ->Unit(benchmark::kMillisecond);
    RegisterBenchmark("BM_SimMessages/pingpong_1000_pairs", sim_messages, Pattern::pairs, false, false)
        ->Arg(messages_per_iteration)
        ->Unit(benchmark::kMillisecond);
    RegisterBenchmark("BM_SimMessagesIdleInjector/burst", sim_messages, Pattern::burst, false,
                      true)
        ->Arg(messages_per_iteration)
        ->Unit(benchmark::kMillisecond);
    RegisterBenchmark("BM_SimMessagesIdleInjector/pingpong", sim_messages, Pattern::pingpong,
                      false, true)
        ->Arg(messages_per_iteration)
        ->Unit(benchmark::kMillisecond);
    RegisterBenchmark("BM_SimMessagesJsonTrace/burst", sim_messages, Pattern::burst, true, false)
        ->Arg(messages_per_iteration)
        ->Unit(benchmark::kMillisecond);
    RegisterBenchmark("BM_SimMessagesJsonTrace/pingpong", sim_messages, Pattern::pingpong, true, false)
        ->Arg(messages_per_iteration)
        ->Unit(benchmark::kMillisecond);

    register_behaviour_sim_benchmarks();
    register_properties_benchmarks();

    RegisterBenchmark("BM_ThreadsSpawnExit/outside", threads_spawn_exit, false)
        ->Arg(spawns_per_iteration)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    RegisterBenchmark("BM_ThreadsSpawnExit/in_process", threads_spawn_exit, true)
        ->Arg(spawns_per_iteration)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    RegisterBenchmark("BM_ThreadsPingPong", threads_ping_pong)
        ->ArgName("workers")
        ->Arg(1)
        ->Arg(2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    register_peer_benchmarks();
    register_behaviour_threads_benchmarks();
}

}  // namespace
}  // namespace bedlam::bench

int main(int argc, char** argv) {
    bedlam::bench::register_benchmarks();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
