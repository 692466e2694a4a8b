// A pure model of OTP's supervisor (otp-semantics §3): given a flat supervisor and the exits its
// children suffer, the exact log of starts and stops the real one must produce. No processes, no
// scheduler: the property suites compare the simulator's runs against it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bedlam/runtime/supervisor.hpp"
#include "bedlam/runtime/types.hpp"

namespace bedlam::properties {

/// One child of the modelled supervisor. Its id is `c<index>`.
struct ModelChild {
    Restart restart = Restart::permanent;
};

/// A flat supervisor whose children all start and stop at once when asked (they trap exits and
/// exit with the reason of the first exit signal they get).
struct ModelSupervisor {
    Strategy strategy = Strategy::one_for_one;
    int intensity = 1;
    int period_s = 5;
    std::vector<ModelChild> children;
};

/// At `at`, child `child` is sent an exit signal with `reason` from outside the tree (`kill`:
/// untrappable; anything else: the child notes it and exits with it). If the child is not
/// running then, nothing happens.
struct ModelExit {
    Ticks at = 0;
    std::size_t child = 0;
    ExitReason reason;
};

/// The log a run must produce, in order: `start c<i>`, `stop c<i> <reason>` (a child that got an
/// exit signal it could trap: from the fault or from the supervisor stopping it), and at the end
/// `sup exit <reason>`: after the last exit the run sends the supervisor `shutdown` at `end`,
/// unless it gave up before. `exits` must be in time order, all before `end`.
std::vector<std::string> expected_log(const ModelSupervisor& sup,
                                      const std::vector<ModelExit>& exits, Ticks end);

/// `c<i>`.
std::string child_id(std::size_t index);

}  // namespace bedlam::properties
