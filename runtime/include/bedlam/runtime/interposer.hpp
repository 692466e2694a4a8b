// Interposition points: the places where the scheduler asks an installed Interposer what to do
// (before a signal is delivered, before a process resumes, before a timer fires) and tells it
// what happened (spawn, exit). runtime/ knows nothing of faults; the chaos layer implements
// this interface. With none installed each point costs one predictable branch.
#pragma once

#include <cstdint>

#include "bedlam/runtime/types.hpp"

namespace bedlam {

/// What to do with a signal about to be delivered.
struct DeliveryDecision {
    enum class Action : std::uint8_t { deliver, drop, delay, duplicate };
    Action action = Action::deliver;
    Ticks delay = 0;  // For `delay`: how long the signal stays in flight.
};

/// What to do with a process about to be resumed.
struct ResumeDecision {
    enum class Action : std::uint8_t { resume, crash };
    Action action = Action::resume;
    ExitReason reason;  // For `crash`: the reason the process exits with.
};

/// Information about a signal in flight. `is_message` is false for exit, link, monitor and DOWN
/// signals.
struct DeliveryInfo {
    Pid from;
    Pid to;
    std::uint64_t seq = 0;
    bool is_message = true;
};

class Interposer {
public:
    Interposer() = default;
    Interposer(const Interposer&) = delete;
    Interposer& operator=(const Interposer&) = delete;
    virtual ~Interposer() = default;

    virtual DeliveryDecision before_deliver(const DeliveryInfo& /*info*/) { return {}; }
    virtual ResumeDecision before_resume(Pid /*pid*/) { return {}; }
    /// Extra delay (>= 0) added to a timer that is about to fire.
    virtual Ticks before_timer(Pid /*target*/, TimerRef /*ref*/) { return 0; }
    virtual void on_spawn(Pid /*child*/, Pid /*parent*/) {}
    virtual void on_exit(Pid /*pid*/, const ExitReason& /*reason*/) {}
};

}  // namespace bedlam
