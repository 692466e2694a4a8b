// Shrinking a failing run: from a scenario and a seed that fails, a smaller scenario that fails
// the same way with the same seed — fewer faults, fewer processes, fewer clients, only the
// expectation that failed, a shorter run. What `bedlam shrink` does (docs/cli.md).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bedlam/scenario/run.hpp"
#include "bedlam/scenario/scenario.hpp"

namespace bedlam::scenario {

struct ShrinkOptions {
    std::uint64_t seed = 1;
    std::optional<Policy> policy;
    bool swarm = false;  // As `run --swarm`: the swarm plan is drawn, then shrunk like any other.
    int max_runs = 2000;  // Candidate runs at most; the smallest failing scenario so far wins.
    /// Called after each candidate run that was kept (smaller and still failing).
    std::function<void(const std::string& step)> progress;
};

struct ShrinkResult {
    bool failed = false;     // The original run failed (else there is nothing to shrink).
    std::string failure;     // The failure kept throughout (see failure_key).
    Scenario minimal;        // Equal to the input when nothing could be removed.
    RunReport report;        // The minimal scenario's run.
    int runs = 0;            // Candidate runs made.
    int faults_before = 0;   // Faults in the plan (a swarm plan counted as drawn).
    int faults_after = 0;
    int processes_before = 0;  // Supervisors and workers in the tree.
    int processes_after = 0;
    int clients_before = 0;
    int clients_after = 0;
};

/// What identifies a failure line across candidates: the expectation (`alive app/db`), or the
/// property's rule (`every monitor gives exactly one DOWN`), without times, pids or counts.
std::string failure_key(const std::string& failure_line);

/// Shrinks `scenario` for `options.seed`. Every candidate is written out with to_yaml and loaded
/// back before it runs, so the minimal scenario is exactly what its file will say.
ShrinkResult shrink(const Scenario& scenario, const ShrinkOptions& options);

}  // namespace bedlam::scenario
