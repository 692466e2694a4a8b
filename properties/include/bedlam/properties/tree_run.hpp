// Runs a supervision tree under a chaos plan and watches the invariants OTP promises whatever
// the faults: no process outlives its supervisor, every monitor gives exactly one DOWN, the
// registry never names a process whose exit has been processed, and after the faults stop the
// tree heals to full strength unless the root gave up.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/properties/supervisor_model.hpp"

namespace bedlam::properties {

/// A client outside the tree that keeps using one worker, as callers of a service do: every
/// `every` it looks the worker up by its name, monitors it, sends it a ping and waits for the
/// pong or the DOWN (at most `timeout`), then takes the monitor off (with flush). A DOWN must
/// name a process that is no longer alive, and a pong must come from the process the name gave.
struct WorkloadClient {
    std::size_t worker = 0;  // Index into worker_paths(tree).
    Ticks every = 100'000'000;
    Ticks timeout = 50'000'000;
};

struct ChaosRunOptions {
    /// How long after the plan's faults_until the tree has to be whole again.
    Ticks heal_bound = 5'000'000'000;
    /// How often the harness looks at the tree (which_children, recursively) once the faults
    /// have stopped, and the watcher checks the registry.
    Ticks poll = 50'000'000;
    /// Puts a toxic worker (it crashes soon after every start while the service `db` is down)
    /// at the root: in a tether (a transient supervisor of its own, intensity 1 in 5 s) when
    /// `tethered`, else directly.
    bool toxic = false;
    bool tethered = false;
    /// Clients that use the tree's workers while the faults strike (started once the tree is).
    std::vector<WorkloadClient> workload;
    /// Where to write the run's trace (JSON lines), if anywhere.
    std::ostream* trace_out = nullptr;
    /// Picks the schedule instead of the seed, if set (SimConfig::choose).
    std::function<std::size_t(std::size_t)> choose{};
};

struct ChaosRun {
    std::uint64_t hash = 0;
    bool root_gave_up = false;
    bool start_failed = false;  // The root gave up while starting (a child failed to start).
    Ticks root_exit_at = 0;
    /// The first poll at or after faults_until that found every supervisor up with every
    /// permanent child running; nullopt if none within the bound.
    std::optional<Ticks> healed_at;
    /// Broken safety invariants, one line each, with the virtual time.
    std::vector<std::string> violations;
    /// Liveness failures: the run did not end (the harness could not stop the tree), or tree
    /// processes outlived it. A plan that drops messages can cause these legitimately: a start
    /// or a call waits forever for a reply that was lost, as it would in OTP.
    std::vector<std::string> stuck;
    /// Exits of workers other than the toxic one and its tether, before the harness stopped the
    /// tree (`path reason`).
    std::vector<std::string> worker_exits;
    int spawned = 0;   // Processes the tree spawned.
    int monitors = 0;  // Monitors the watcher set on workers.
    int pings = 0;     // Pings the workload's clients sent...
    int pongs = 0;     // ...answered,
    int downs = 0;     // ...and DOWNs they got instead.
};

/// The tree's workers (and nested supervisors) are placed under the path `app`; chaos plans
/// should aim at `app/**` so that the harness and the watcher are not hit.
ChaosRun run_tree_under_chaos(const ModelSupervisor& tree, const chaos::Plan& plan,
                              std::uint64_t seed, const ChaosRunOptions& options = {});

}  // namespace bedlam::properties
