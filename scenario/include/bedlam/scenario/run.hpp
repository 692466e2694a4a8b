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

struct RunOptions {
    std::uint64_t seed = 1;
    std::optional<Policy> policy;  // Overrides the scenario's.
    bool swarm = false;            // Adds a swarm plan drawn from the seed, as `faults: swarm`.
    std::ostream* trace_out = nullptr;
};

enum class Verdict : std::uint8_t {
    pass,      // exit code 0
    fail,      // 1: an expectation or a built-in property failed
    liveness,  // 3: the tree did not heal in time, or the run could not be stopped
};

struct RunReport {
    std::uint64_t seed = 0;
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
    Ticks virtual_time = 0;
    std::uint64_t events = 0;

    [[nodiscard]] int exit_code() const noexcept;
    /// `seed=<N> hash=<16 hex digits> verdict=<pass|fail>`.
    [[nodiscard]] std::string last_line() const;
};

RunReport run(const Scenario& scenario, const RunOptions& options);

}  // namespace bedlam::scenario
