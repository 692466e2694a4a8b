// Runs a real supervisor in the simulator against a model's scenario: the same children, the
// exits delivered by a chaos plan at the same virtual times, and the log in the model's format.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/properties/supervisor_model.hpp"

namespace bedlam::properties {

struct SupervisorRun {
    std::vector<std::string> log;
    std::uint64_t hash = 0;
    chaos::Plan plan;  // The exits, as the chaos layer carried them out.
};

/// Starts the worker at `path` (the ids from the root down joined by `/`).
using WorkerStart = std::function<StartFn(const std::string& path)>;

/// The child specs of `sup`'s children, nested supervisors included (each with `mutation`):
/// ids `c<i>`, the model's restart types, brutal_kill or the default time-out for workers.
std::vector<ChildSpec> model_child_specs(const ModelSupervisor& sup, const WorkerStart& worker,
                                         SupFlags::Mutation mutation = SupFlags::Mutation::none,
                                         const std::string& path = "");

/// The exits as a chaos plan: a kill or an exit signal at each time, aimed at the worker's
/// registered name (its path).
chaos::Plan plan_of(const ModelSupervisor& sup, const std::vector<ModelExit>& exits);

/// Runs the tree `sup` in a Simulator seeded with `seed` (random scheduling), delivers `exits`, shuts the
/// supervisor down at `end` if it is still running, and returns what happened. `mutation`
/// breaks the real supervisor on purpose, for the self-check. `choose`, if set, picks the
/// schedule instead of the seed (SimConfig::choose).
SupervisorRun run_supervisor(const ModelSupervisor& sup, const std::vector<ModelExit>& exits,
                             Ticks end, std::uint64_t seed,
                             SupFlags::Mutation mutation = SupFlags::Mutation::none,
                             const std::function<std::size_t(std::size_t)>& choose = {});

}  // namespace bedlam::properties
