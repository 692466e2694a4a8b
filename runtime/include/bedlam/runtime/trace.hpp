// The event trace of a run: every event is folded into a running 64-bit hash and can be written
// as one JSON object per line (docs/trace-format.md). Two runs of the simulator with the same
// seed, build type and program produce the same sequence of events and so the same hash.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "bedlam/runtime/types.hpp"

namespace bedlam {

enum class TraceKind : std::uint8_t {
    spawn,      // a = child, b = parent (0 if spawned from outside)
    send,       // a = sender, b = receiver, x = message sequence number, detail = signal kind
    deliver,    // a = sender, b = receiver, x = message sequence number (receiver took it)
    drop,       // a = sender, b = receiver, x = sequence number: lost (receiver gone or inactive)
    exit,       // a = process, reason = its exit reason
    link,       // a = process, b = peer
    unlink,     // a = process, b = peer
    monitor,    // a = watcher, b = target, x = reference
    demonitor,  // a = watcher, b = target, x = reference
    down,       // a = target, b = watcher, x = reference, reason
    timer,      // a = target, x = timer reference: a timer fired
    timeout,    // a = process: a receive timed out
    fault,      // reserved for the chaos layer: a = target, x = fault kind, detail = description
    report,     // a supervisor report (OTP's supervisor_report): a = supervisor, b = child,
                // x = TraceReport, reason = the child's exit reason, detail = the child's id
};

/// What a `report` event reports, as OTP's supervisor reports name it (errorContext).
enum class TraceReport : std::uint8_t {
    child_terminated = 1,  // A child exited and the supervisor acts on it (restart or not).
    shutdown = 2,          // The supervisor gives up: reached_max_restart_intensity.
    start_error = 3,       // A (re)start of a child failed.
};

const char* to_string(TraceKind kind) noexcept;

/// A trace hash as trace lines and run lines print it: 16 lowercase hex digits.
std::string hash_text(std::uint64_t hash);

struct TraceEvent {
    TraceEvent(TraceKind k, Pid a_pid, Pid b_pid = {}, std::uint64_t extra = 0,
               const ExitReason* exit_reason = nullptr, const char* text = nullptr) noexcept
        : kind(k), a(a_pid), b(b_pid), x(extra), reason(exit_reason), detail(text) {}

    TraceKind kind;
    Pid a;
    Pid b;
    std::uint64_t x;
    const ExitReason* reason;
    const char* detail;  // Static text, or null; written to JSON, never hashed.
};

/// splitmix64's finaliser: a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
}

/// FNV-1a over bytes, for strings in the hash.
constexpr std::uint64_t fnv1a(std::string_view s) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return h;
}

/// Sees every traced event as it happens (a scenario runner counting restarts and drops, say).
/// Called on the simulator's thread; must not call back into the runtime.
class TraceListener {
public:
    TraceListener() = default;
    TraceListener(const TraceListener&) = delete;
    TraceListener& operator=(const TraceListener&) = delete;
    virtual ~TraceListener() = default;
    virtual void on_event(Ticks time, const TraceEvent& event) = 0;
};

/// Folds events into a hash and optionally writes them as JSON lines. The hash is defined in
/// docs/trace-format.md so that other tools can recompute it.
class Trace {
public:
    static constexpr std::uint64_t hash_seed = 0xcbf29ce484222325ULL;

    explicit Trace(const Ticks* clock) noexcept : clock_(clock) {}

    /// Folds `event`, stamped with the current time, into the hash (and writes it out).
    void record(const TraceEvent& event) {
        const Ticks time = *clock_;
        hash_ = mix64(hash_ ^ digest(time, event));
        if (out_ != nullptr) {
            write_json(time, event);
        }
        if (listener_ != nullptr) {
            listener_->on_event(time, event);
        }
        ++events_;
    }

    /// One event's contribution to the hash. Computed apart from the running hash, so that the
    /// chain of dependent work per event is a single mix64.
    static std::uint64_t digest(Ticks time, const TraceEvent& event) noexcept {
        std::uint64_t d = (static_cast<std::uint64_t>(event.kind) + 1) * 0x9e3779b97f4a7c15ULL;
        d ^= static_cast<std::uint64_t>(time) * 0xc2b2ae3d27d4eb4fULL;
        d ^= event.a.id * 0x165667b19e3779f9ULL;
        d ^= event.b.id * 0xd6e8feb86659fd93ULL;
        d ^= event.x * 0xff51afd7ed558ccdULL;
        if (event.reason != nullptr) {
            d ^= event.reason->digest();
        }
        return d;
    }

    /// Writes each later event to `out` as one JSON line; nullptr stops writing.
    void set_output(std::ostream* out) noexcept { out_ = out; }
    /// Shows each later event to `listener`; nullptr stops it.
    void set_listener(TraceListener* listener) noexcept { listener_ = listener; }

    [[nodiscard]] std::uint64_t hash() const noexcept { return hash_; }
    [[nodiscard]] std::uint64_t events() const noexcept { return events_; }

private:
    void write_json(Ticks time, const TraceEvent& event);

    const Ticks* clock_;
    std::uint64_t hash_ = hash_seed;
    std::uint64_t events_ = 0;
    std::ostream* out_ = nullptr;
    TraceListener* listener_ = nullptr;
};

}  // namespace bedlam
