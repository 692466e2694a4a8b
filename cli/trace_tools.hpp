// Reading JSON-lines traces (docs/trace-format.md) and turning them into something a person can
// look at: a text timeline, a Chrome/Perfetto trace, a Graphviz supervision tree, and the first
// difference between two runs. Behind `bedlam trace` and `bedlam diff` (docs/cli.md); no
// dependency on the runtime, so traces from any build can be read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bedlam::cli::trace {

/// A trace that cannot be read. what() is `FILE:LINE: what is wrong` (or `FILE: ...` for the
/// file as a whole).
class TraceError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One line of a trace.
struct Event {
    std::uint64_t i = 0;  // Event index, from 0.
    std::uint64_t t = 0;  // Virtual time, ns.
    std::string ev;       // Kind: spawn, send, ..., fault.
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    std::uint64_t x = 0;
    bool has_reason = false;
    std::string reason;
    std::string detail;
    std::uint64_t h = 0;    // Running hash after this event.
    std::size_t line = 0;   // 1-based line in the file it came from.
};

struct Trace {
    std::string name;  // The file name, for messages.
    std::vector<Event> events;

    /// The run's hash: the last event's `h`, or the hash's seed for an empty trace.
    [[nodiscard]] std::uint64_t hash() const noexcept;
    /// Virtual time of the last event (ns), 0 for an empty trace.
    [[nodiscard]] std::uint64_t duration() const noexcept;
};

/// The hash of a run with no events (docs/trace-format.md).
inline constexpr std::uint64_t empty_hash = 0xcbf29ce484222325ULL;

/// Parses one line (a flat JSON object) into an event; throws TraceError naming `name:line`.
/// Checks the fields the format requires (i, t, ev, a, b, x, h), their types, the event kind
/// and the hash's form.
Event parse_line(std::string_view text, const std::string& name, std::size_t line);

/// Parses a whole trace: each line as parse_line, plus the order (i counts up from 0, time never
/// goes back). Throws TraceError.
Trace parse(std::istream& in, const std::string& name);

/// Reads the file at `path`; TraceError `path: cannot open` when it cannot.
Trace load(const std::string& path);

/// Names processes: by the supervision path of their spawn event, or by pid.
class Names {
public:
    explicit Names(const Trace& trace);
    /// `<0.N.0>`
    [[nodiscard]] static std::string pid(std::uint64_t id);
    /// `<0.N.0> app/pool/c1`, or `<0.N.0>` for a process without a path, or `outside` for 0.
    [[nodiscard]] std::string label(std::uint64_t id) const;
    /// The path, or "" when it has none.
    [[nodiscard]] const std::string& path(std::uint64_t id) const;

private:
    std::map<std::uint64_t, std::string> paths_;
};

/// `1234.500ms`: ns as milliseconds with three decimals (truncated to the microsecond).
std::string format_ms(std::uint64_t ns);
/// 16 lowercase hex digits.
std::string hex16(std::uint64_t v);

/// One event as a timeline line without the trailing newline:
/// `  1234.500ms  <0.7.0> app/pool/c1  exit {shutdown,chaos}`.
std::string format_event(const Event& e, const Names& names);

struct TextOptions {
    bool all = false;         // Every event, sends, delivers, timers and time-outs too.
    std::size_t pairs = 20;   // Message pairs listed in the summary (all of them with `all`).
};

/// The readable timeline: one line per interesting event, then messages per process pair and a
/// summary (events, virtual time, processes, restarts per path, faults by kind, the hash).
std::string render_text(const Trace& trace, const TextOptions& options);

/// Chrome/Perfetto Trace Event Format JSON: a track per process, a slice per lifetime, instant
/// events for faults, restarts and exits; timestamps in microseconds of virtual time.
std::string render_chrome(const Trace& trace);

/// The supervision tree as Graphviz DOT: a node per path with its restarts, faults and final
/// state; processes without a path under their nearest named ancestor, grouped.
std::string render_dot(const Trace& trace);

struct DiffResult {
    enum class Kind : std::uint8_t { identical, differ, a_prefix_of_b, b_prefix_of_a };
    Kind kind = Kind::identical;
    std::size_t index = 0;  // First event that differs (or the shorter trace's length).
    std::string report;     // What `bedlam diff` prints.
};

/// Compares two traces event by event (ev, t, a, b, x, reason and the running hash h) and
/// reports the first divergence with `context` events around it.
DiffResult diff(const Trace& a, const Trace& b, std::size_t context);

}  // namespace bedlam::cli::trace
