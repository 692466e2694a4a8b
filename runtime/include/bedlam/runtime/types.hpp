// The value types every process sees: process identifiers, references, virtual time and exit
// reasons (otp-semantics §1.2, §1.3).
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

namespace bedlam {

/// Time on the scheduler's clock, in nanoseconds. Virtual in the simulator, monotonic real time
/// since the scheduler started on the threaded scheduler.
using Ticks = std::int64_t;

/// A span of time. Any std::chrono duration converts to it.
using Duration = std::chrono::nanoseconds;

/// No time-out: `receive(...).after(infinity, ...)` waits forever, as Erlang's `infinity`.
inline constexpr Duration infinity = Duration::max();

/// A process identifier. Pids are allocated sequentially from 1 and never reused within a run;
/// Pid{} (id 0) names no process and is the sender of messages injected from outside.
struct Pid {
    std::uint64_t id = 0;

    [[nodiscard]] constexpr bool valid() const noexcept { return id != 0; }
    friend constexpr auto operator<=>(Pid, Pid) = default;
    /// As Erlang prints a pid: `<0.N.S>`, N the low 32 bits of the id and S the high ones. The
    /// simulator numbers pids in spawn order (`<0.5.0>`); the threaded scheduler's id is a table
    /// slot and its reuse count (`<0.5.2>`: slot 5's second process).
    [[nodiscard]] std::string to_string() const;
};

std::ostream& operator<<(std::ostream& os, Pid pid);  // Pid::to_string()

/// What a process runs: a plain body, or one of the behaviours. Set at spawn; fault plans target
/// processes by it.
enum class ProcessKind : std::uint8_t { process, server, state_machine, supervisor, task };

const char* to_string(ProcessKind kind) noexcept;

/// A monitor reference, unique within a run.
struct MonitorRef {
    std::uint64_t id = 0;

    [[nodiscard]] constexpr bool valid() const noexcept { return id != 0; }
    friend constexpr auto operator<=>(MonitorRef, MonitorRef) = default;
};

/// A timer reference from send_after, unique within a run.
struct TimerRef {
    std::uint64_t id = 0;  // The scheduler's: a timer number and where its queue keeps it.

    [[nodiscard]] constexpr bool valid() const noexcept { return id != 0; }
    friend constexpr auto operator<=>(TimerRef, TimerRef) = default;
};

/// Why a process ended. Mirrors OTP's exit reasons: the atoms `normal`, `shutdown`, `killed`,
/// `kill`, `noproc`, the tuple `{shutdown, Term}`, and any other term (an error). Terms are
/// carried as text.
class ExitReason {
public:
    enum class Kind : std::uint8_t { normal, shutdown, shutdown_term, killed, kill, noproc, error };

    ExitReason() = default;  // normal

    static ExitReason normal() noexcept { return ExitReason(Kind::normal); }
    static ExitReason shutdown() noexcept { return ExitReason(Kind::shutdown); }
    static ExitReason shutdown(std::string term) {
        return ExitReason(Kind::shutdown_term, std::move(term));
    }
    static ExitReason killed() noexcept { return ExitReason(Kind::killed); }
    static ExitReason kill() noexcept { return ExitReason(Kind::kill); }
    static ExitReason noproc() noexcept { return ExitReason(Kind::noproc); }
    /// Any other reason: an error term, e.g. error("badarith").
    static ExitReason error(std::string term) { return ExitReason(Kind::error, std::move(term)); }

    [[nodiscard]] Kind kind() const noexcept { return kind_; }
    /// The term of `{shutdown, Term}` or of an error; empty otherwise.
    [[nodiscard]] const std::string& term() const noexcept {
        return term_ ? *term_ : empty_term();
    }

    /// Exactly `normal` (§1.2).
    [[nodiscard]] bool is_normal() const noexcept { return kind_ == Kind::normal; }
    /// `normal`, `shutdown` or `{shutdown, _}`: the reasons a supervisor does not treat as
    /// errors (§3.4).
    [[nodiscard]] bool is_clean() const noexcept {
        return kind_ == Kind::normal || kind_ == Kind::shutdown || kind_ == Kind::shutdown_term;
    }

    /// Erlang-like text: `normal`, `{shutdown,Term}`, `killed`, or the error term itself.
    [[nodiscard]] std::string to_string() const;
    /// A stable 64-bit digest, used by the trace hash.
    [[nodiscard]] std::uint64_t digest() const noexcept;

    friend bool operator==(const ExitReason& a, const ExitReason& b) noexcept {
        return a.kind_ == b.kind_ && a.term() == b.term();
    }

private:
    explicit ExitReason(Kind kind) noexcept : kind_(kind) {}
    ExitReason(Kind kind, std::string term)
        : kind_(kind),
          term_(term.empty() ? nullptr : std::make_shared<const std::string>(std::move(term))) {}
    static const std::string& empty_term() noexcept;

    Kind kind_ = Kind::normal;
    // Shared and immutable, null when empty: a reason is copied and moved at every exit signal,
    // DOWN and start result, and the common ones (normal, shutdown, killed) have no term.
    std::shared_ptr<const std::string> term_;
};

std::ostream& operator<<(std::ostream& os, const ExitReason& reason);

/// `{'EXIT', From, Reason}`: an exit signal turned into a message for a process that traps
/// exits (§1.3).
struct ExitMsg {
    Pid from;
    ExitReason reason;
};

/// `{'DOWN', Ref, process, Pid, Reason}` (§2.1).
struct DownMsg {
    MonitorRef ref;
    Pid pid;
    ExitReason reason;
};

/// Thrown by `Self::exit(reason)` (erlang:exit/1) and used to end a process with a chosen
/// reason. Like Erlang's exit exception it can be caught; code that catches `...` must rethrow
/// it.
struct ExitException {
    ExitReason reason;
};

}  // namespace bedlam

template <>
struct std::hash<bedlam::Pid> {
    std::size_t operator()(bedlam::Pid pid) const noexcept { return std::hash<std::uint64_t>{}(pid.id); }
};
