// Runs a scenario once in the simulator: builds the tree from its stock behaviours, starts the
// workload, applies the fault plan (and the services' outages), runs for the scenario's
// duration, then checks its expectations and the built-in properties (docs/scenarios.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/scenario/scenario.hpp"
#include "bedlam/scenario/stock.hpp"

namespace bedlam::scenario {

/// Where a scenario runs.
enum class SchedulerKind : std::uint8_t {
    simulator,  // One thread, virtual time, every choice from the seed: replayable, hashed.
    threads,    // The multi-core ThreadScheduler in real time: the same tree, faults and checks,
                // on the scheduler production code runs on. Not replayable; no hash; only the
                // fault kinds chaos::threads_support() accepts.
};

struct RunOptions {
    std::uint64_t seed = 1;
    std::optional<Policy> policy;  // Overrides the scenario's (simulator only).
    bool swarm = false;            // Adds a swarm plan drawn from the seed, as `faults: swarm`.
    std::ostream* trace_out = nullptr;  // Simulator only.
    SchedulerKind scheduler = SchedulerKind::simulator;
    unsigned workers = 0;  // Threads: worker threads (0: one per core).
    /// Simulator: stop after this many process steps (0: no limit), a guard for fuzzers against
    /// plans heavy enough to run for hours. A run stopped by it could not be stopped in time, a
    /// liveness failure.
    std::uint64_t step_limit = 0;
};

enum class Verdict : std::uint8_t {
    pass,      // exit code 0
    fail,      // 1: an expectation or a built-in property failed
    liveness,  // 3: the tree did not heal in time, or the run could not be stopped
};

struct RunReport {
    std::uint64_t seed = 0;
    SchedulerKind scheduler = SchedulerKind::simulator;
    std::uint64_t hash = 0;
    Verdict verdict = Verdict::pass;
    std::vector<std::string> failures;  // One line per failed expectation or property.
    std::vector<std::string> passed;    // One line per expectation that held.
    chaos::Plan plan;                   // The plan as run: faults, swarm, outages.
    Metrics metrics;
    std::map<std::string, int> restarts;  // Per path: processes started there, less one.
    std::vector<std::string> gave_up;     // Supervisors that reached their restart intensity.
    std::uint64_t messages_lost = 0;
    std::optional<Ticks> healed_at;  // When the tree was whole again after the faults.
    Ticks virtual_time = 0;  // On threads: the wall time the run took.
    std::uint64_t events = 0;

    [[nodiscard]] int exit_code() const noexcept;
    /// `seed=<N> hash=<16 hex digits> verdict=<pass|fail>`; on threads `seed=<N>
    /// scheduler=threads verdict=<pass|fail>` (a threaded run has no hash to replay).
    [[nodiscard]] std::string last_line() const;
};

/// Runs the scenario once. Throws std::invalid_argument if the plan holds a fault the chosen
/// scheduler cannot carry out (on threads: any kind chaos::threads_support() refuses).
RunReport run(const Scenario& scenario, const RunOptions& options);

}  // namespace bedlam::scenario
