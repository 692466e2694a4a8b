// The property suites' cases drawn from a bare seed instead of RapidCheck: the same trees,
// exit schedules and swarm plans, from bedlam's own PRNG, so that a seed means the same case with
// any compiler and standard library. CI runs a fixed set of seeds on two builds and compares the
// trace hashes (ci/property-determinism.sh); a user can replay one case by its seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bedlam/properties/supervisor_model.hpp"
#include "bedlam/runtime/rng.hpp"

namespace bedlam::properties {

/// A random tree as the suites generate them: depth up to `max_depth`, fan-out up to 6, at
/// most `max_nodes` children in all, every strategy, restart type and worker shutdown kind,
/// intensity 0-4 in 1-5 s.
ModelSupervisor random_tree(Rng& rng, int max_nodes = 16, int max_depth = 4);

/// Up to `max_exits` exits 1 ms to 3 s apart, at workers below `workers`.
std::vector<ModelExit> random_exits(Rng& rng, std::size_t workers, int max_exits = 16);

/// One seed's cases: the tree against the model, and the tree under a swarm plan.
struct SeedCase {
    std::uint64_t seed = 0;
    std::uint64_t model_hash = 0;  // The tree-vs-model run's trace hash.
    std::uint64_t chaos_hash = 0;  // The swarm run's trace hash.
    bool pass = false;
    std::string failure;  // What went wrong, if anything.
};

SeedCase run_seed(std::uint64_t seed);

}  // namespace bedlam::properties
