// Interposition points: the places where the scheduler asks an installed Interposer what to do
// (before a signal is delivered, before a process resumes, before a timer fires, when user code
// reaches a fault point or asks for an external service) and tells it what happened (spawn,
// exit), plus a clock hook through which it acts at chosen times. runtime/ knows nothing of
// faults; the chaos layer implements this interface. With none installed each point costs one
// predictable branch.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

#include "bedlam/runtime/types.hpp"

namespace bedlam {

class Runtime;

/// What to do with a signal about to be delivered.
struct DeliveryDecision {
    enum class Action : std::uint8_t { deliver, drop, delay, duplicate };
    Action action = Action::deliver;
    Ticks delay = 0;  // For `delay`: how long the signal stays in flight.
};

/// What to do with a process about to be resumed (it has a message, a time-out or a yield to
/// continue with).
struct ResumeDecision {
    enum class Action : std::uint8_t {
        resume,
        crash,  // The process raises now and exits with `reason`.
        stall,  // The process does nothing for `delay` (`infinity` ticks: until Runtime::wake),
                // then resumes where it was; signals still reach it, so it can be killed.
    };
    Action action = Action::resume;
    ExitReason reason;  // For `crash`.
    Ticks delay = 0;    // For `stall`; stall_forever for a hung process.
};

inline constexpr Ticks stall_forever = std::numeric_limits<Ticks>::max();

/// Which hooks the runtime calls for one process (Interposer::on_spawn, Runtime::watch): an
/// interposer that concerns itself with few processes keeps the rest at full speed.
enum Watch : std::uint8_t {
    watch_none = 0,
    watch_deliveries = 1,  // before_deliver for signals to it
    watch_resumes = 2,     // before_resume before it continues
    watch_all = 3,
};

/// Information about a signal in flight. `is_message` is false for exit, link, monitor and DOWN
/// signals. `type` is the message's registered type name (BEDLAM_MESSAGE_NAME), or null.
struct DeliveryInfo {
    Pid from;
    Pid to;
    std::uint64_t seq = 0;
    bool is_message = true;
    const char* type = nullptr;
};

/// A new process: who spawned it, its place in the supervision tree (empty if none) and what it
/// runs.
struct SpawnInfo {
    Pid child;
    Pid parent;
    std::string_view path;
    ProcessKind kind = ProcessKind::process;
};

class Interposer {
public:
    static constexpr Ticks never = std::numeric_limits<Ticks>::max();

    Interposer() = default;
    Interposer(const Interposer&) = delete;
    Interposer& operator=(const Interposer&) = delete;
    virtual ~Interposer() = default;

    virtual DeliveryDecision before_deliver(const DeliveryInfo& /*info*/) { return {}; }
    virtual ResumeDecision before_resume(Pid /*pid*/) { return {}; }
    /// Extra delay (>= 0) added to a timer that is about to fire.
    virtual Ticks before_timer(Pid /*target*/, TimerRef /*ref*/) { return 0; }
    /// A process was spawned; returns which of its hooks to call (Watch bits). Processes that
    /// already existed when the interposer was installed are watched for everything.
    virtual std::uint8_t on_spawn(const SpawnInfo& /*info*/) { return watch_all; }
    virtual void on_exit(Pid /*pid*/, const ExitReason& /*reason*/) {}
    /// `pid` reached BEDLAM_FAULT_POINT(name): true makes the site fail.
    virtual bool fault_point(Pid /*pid*/, std::string_view /*name*/) { return false; }
    /// `pid` asks whether the external service `name` is reachable (bedlam::service_available).
    virtual bool service_available(Pid /*pid*/, std::string_view /*name*/) { return true; }

    /// The next time at which the interposer wants act() called; `never` for none. The
    /// simulator's clock stops there even if no timer is due. The simulator asks once when the
    /// interposer is installed and again after each act(), so only act() may move it.
    [[nodiscard]] virtual Ticks next_action() const { return never; }
    /// Called once the clock reaches next_action(), before any process runs at that time.
    virtual void act(Runtime& /*runtime*/, Ticks /*now*/) {}
};

}  // namespace bedlam
