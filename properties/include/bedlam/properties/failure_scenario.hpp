// A property case as a scenario file: the tree, the fault plan and the seed of a failing case,
// written so that `bedlam run FILE --seed N` runs it (and `bedlam shrink` can shrink it further).
// The property suites write one for every failing case they find; after RapidCheck's shrinking
// the file holds the minimal case.
#pragma once

#include <cstdint>
#include <string>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/properties/supervisor_model.hpp"
#include "bedlam/properties/tree_run.hpp"
#include "bedlam/scenario/scenario.hpp"

namespace bedlam::properties {

/// The tree `tree` (under the root id `app`, workers registered under their paths as in
/// run_tree_under_chaos), with the toxic worker and tether of `options`, the plan's faults, and a
/// run that lasts until `heal_bound` after the faults stop. With `expect_healing`, the scenario
/// expects the tree whole again within that bound; the built-in properties of every scenario
/// run (docs/scenarios.md) check the rest.
scenario::Scenario failure_scenario(const ModelSupervisor& tree, const chaos::Plan& plan,
                                    const ChaosRunOptions& options, bool expect_healing,
                                    const std::string& name);

/// Where failing cases go: the directory BEDLAM_PROPERTY_FAILURES names, else
/// `property-failures` in the working directory.
std::string failure_dir();

/// Writes a failing case as `<dir>/<property>.yaml`, overwriting the last failing case of that
/// property (so that, after RapidCheck's shrinking, it holds the minimal one). The file's header
/// says whether `bedlam run` on it fails too: the scenario runner's harness differs from the
/// property's, so the same seed can take another schedule. Returns a line for the failure
/// report, with the file and the command that runs it; empty if it could not be written.
std::string save_failure(const std::string& dir, const std::string& property,
                         const scenario::Scenario& scenario, std::uint64_t seed);

}  // namespace bedlam::properties
