// A pure model of OTP's supervisor (otp-semantics §3): given a supervision tree and the exits its
// workers suffer, the exact log of starts and stops the real one must produce. No processes, no
// scheduler: the property suites compare the simulator's runs against it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bedlam/runtime/supervisor.hpp"
#include "bedlam/runtime/types.hpp"

namespace bedlam::properties {

struct ModelSupervisor;

/// One child of a modelled supervisor; its id is `c<index>`. A worker traps exits and exits with
/// the reason of the first exit signal it gets, at once. A nested supervisor (`supervisor` set)
/// has shutdown infinity, as supervisor children do by default.
struct ModelChild {
    Restart restart = Restart::permanent;
    /// For workers: brutal_kill (the supervisor kills it, so it notes nothing) or a timeout
    /// (it notes the `shutdown` signal and exits well within it).
    bool brutal_kill = false;
    std::shared_ptr<const ModelSupervisor> supervisor{};  // Null: a worker.

    [[nodiscard]] bool is_supervisor() const noexcept { return supervisor != nullptr; }
};

/// A supervisor and its children, started in order.
struct ModelSupervisor {
    Strategy strategy = Strategy::one_for_one;
    int intensity = 1;
    int period_s = 5;
    std::vector<ModelChild> children;
};

/// At `at`, worker number `worker` (depth first, in start order: see worker_paths) is sent an
/// exit signal with `reason` from outside the tree (`kill`: untrappable; anything else: the
/// worker notes it and exits with it). If that worker is not running then, nothing happens.
struct ModelExit {
    Ticks at = 0;
    std::size_t worker = 0;
    ExitReason reason;
};

/// The log a run must produce, in order: `start <path>` and `stop <path> <reason>` for workers
/// (a stop is logged when the worker gets an exit signal it can trap: from a fault or from its
/// supervisor stopping it), and at the end `sup exit <reason>` for the root: after the last exit
/// the run sends the root `shutdown` at `end`, unless it gave up before. Paths are the ids from
/// the root down joined by `/`, e.g. `c1/c0`. `exits` must be in time order, all before `end`.
std::vector<std::string> expected_log(const ModelSupervisor& sup,
                                      const std::vector<ModelExit>& exits, Ticks end);

/// `c<i>`.
std::string child_id(std::size_t index);

/// The tree on one line: `one_for_one 1/5s [c0:permanent, c1:transient one_for_all 0/1s [...]]`
/// (a worker with brutal_kill shows `,brutal_kill`), for failure reports.
std::string describe(const ModelSupervisor& sup);

/// Every worker's path, depth first in start order; ModelExit::worker indexes this.
std::vector<std::string> worker_paths(const ModelSupervisor& sup);

/// How many supervisors (the root included) and workers the tree has.
struct TreeSize {
    int supervisors = 0;
    int workers = 0;
    int depth = 0;  // 1: the root has only workers.
};
TreeSize tree_size(const ModelSupervisor& sup);

}  // namespace bedlam::properties
