// Workloads for the threaded scheduler that are measured both by bedlam_bench (Google Benchmark)
// and by bedlam_peers, the side-by-side comparison with Erlang/OTP and CAF (bench/peers/). Each
// program here has a twin in bench/peers/erlang/peers.erl and bench/peers/caf/caf_peers.cpp that
// does the same work; docs/benchmarks.md says what each one counts.
//
// Every function spawns its processes on an idle ThreadScheduler, waits with run_until_idle()
// and returns what it measured. Time is taken inside the processes with Self::now() (the
// scheduler's monotonic clock), around the measured part only: set-up such as building a ring
// or starting a supervisor's first children is not counted.
#pragma once

#include <cstdint>

#include "bedlam/runtime/supervisor.hpp"
#include "bedlam/runtime/threads.hpp"

namespace bedlam::bench {

/// Processes spawned by one process in batches of 1,000, each of which sends one message back
/// and exits; the root waits for a batch's messages before the next batch. The time runs from the
/// first spawn to the last message received.
Ticks run_spawn(ThreadScheduler& sched, std::uint64_t processes);

struct IdleFootprint {
    double bytes_per_process = 0;  // Resident set growth divided by the process count.
    Ticks spawn_ns = 0;            // Spawning them all and hearing that each one is parked.
};
/// Resident bytes per idle process: `processes` processes blocked in a receive with no time-out.
/// The root reads RSS before the first spawn and after every process has said it is parked.
IdleFootprint run_idle_footprint(ThreadScheduler& sched, std::uint64_t processes);

/// Round trips between two processes; the time covers every round trip.
Ticks run_ping_pong(ThreadScheduler& sched, std::uint64_t round_trips);

/// A token passed around a ring of `processes` processes `laps` times (processes × laps hops);
/// the time runs from the token's injection to its return, the ring being built first.
Ticks run_ring(ThreadScheduler& sched, std::uint64_t processes, std::uint64_t laps);

/// `senders` processes each send `messages_each` messages to one receiver; the time runs from
/// the first sender's spawn to the last message received.
Ticks run_fan_in(ThreadScheduler& sched, std::uint64_t senders, std::uint64_t messages_each);

/// A supervisor with `children` Server children and unlimited intensity (period 1 s); a driver
/// kills one child at a time (exit(Pid, kill)) and waits until the supervisor has restarted
/// what its strategy says (one child, or all of them) before the next kill. The time covers the
/// kills, not the first start.
Ticks run_restart_storm(ThreadScheduler& sched, Strategy strategy, int children, int kills);

struct TreeTimes {
    Ticks start_ns = 0;  // start_supervisor of the root until it returned (every child up).
    Ticks stop_ns = 0;   // exit(root, shutdown) until the root's EXIT arrived.
};
/// A two-level supervision tree: a one_for_one root over `supervisors` one_for_one supervisors
/// with `workers_each` Server workers each, started and then shut down.
TreeTimes run_supervision_tree(ThreadScheduler& sched, int supervisors, int workers_each);

/// gen_server-style calls from one process to one Server (call with its default 5 s time-out).
Ticks run_server_calls(ThreadScheduler& sched, std::uint64_t calls);

}  // namespace bedlam::bench
