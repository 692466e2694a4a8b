// Stock behaviours: the workers and clients a scenario can name. Each declares its parameters
// (checked when the scenario loads) and how to start it. docs/scenarios.md lists them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bedlam/runtime/process.hpp"
#include "bedlam/runtime/supervisor.hpp"
#include "bedlam/scenario/scenario.hpp"

namespace bedlam::scenario {

enum class ParamType : std::uint8_t {
    integer,   // 42 (>= 0)
    number,    // 0.5
    duration,  // 250ms, 2s, 1.5s, 100us
    text,      // any scalar
    name,      // a registered name a worker of the tree has (checked when the scenario loads)
    service,   // an external service declared under `services`
    boolean,   // true / false
    reason,    // normal, shutdown, {shutdown,why}, or an error term
};
const char* to_string(ParamType type) noexcept;

struct Param {
    const char* name;
    ParamType type;
    const char* default_value;  // nullptr: required.
    const char* doc;
};

/// Counters a run keeps, for expectations (`metric: NAME`) and the run's summary. One per run.
/// The fields are the built-in ones; behaviours count their own under the names they declare
/// (StockBehaviour::metrics).
/// A count that processes on any worker thread may bump (on the threaded scheduler they run in
/// parallel); copyable, so that a report can hold the final figures.
class Counter {
public:
    Counter() = default;
    Counter(const Counter& other) noexcept : value_(other.get()) {}
    Counter& operator=(const Counter& other) noexcept {
        value_.store(other.get(), std::memory_order_relaxed);
        return *this;
    }
    ~Counter() = default;
    /// Adds one; the new value.
    std::uint64_t operator++() noexcept {
        return value_.fetch_add(1, std::memory_order_relaxed) + 1;
    }
    [[nodiscard]] std::uint64_t get() const noexcept {
        return value_.load(std::memory_order_relaxed);
    }
    operator std::uint64_t() const noexcept { return get(); }  // NOLINT: reads as a number.

private:
    std::atomic<std::uint64_t> value_{0};
};

struct Metrics {
    Counter calls;            // Calls clients made...
    Counter calls_ok;         // ...answered in time,
    Counter calls_timed_out;  // ...timed out,
    Counter calls_failed;     // ...failed otherwise (no process, it died).
    Counter items_produced;   // Pipeline items a source made...
    Counter items_delivered;  // ...and a sink took.
    Counter ticks;            // Periodic workers' rounds.
    std::map<std::string, std::uint64_t, std::less<>> counters;  // Behaviours' own, by name.

    /// Adds `n` to the behaviour counter `name`.
    void count(std::string_view name, std::uint64_t n = 1);
    /// A built-in field or a behaviour counter by name (0 if nothing was counted).
    [[nodiscard]] std::uint64_t value(std::string_view name) const;
    /// The built-in fields' names, as `metric:` expectations spell them.
    static const std::vector<const char*>& builtin_names();

private:
    struct Lock {  // Guards counters; copies of Metrics get their own.
        Lock() = default;
        Lock(const Lock& /*other*/) noexcept {}
        Lock& operator=(const Lock& /*other*/) noexcept { return *this; }
        ~Lock() = default;
        mutable std::mutex mutex;
    };
    Lock lock_;
};

/// What behaviours may touch during a run.
struct RunContext {
    Metrics metrics;
    std::uint64_t seed = 0;  // The run's seed, for behaviours that draw (seeding a bedlam::Rng).
};

/// A behaviour's checked arguments (every declared parameter has a value: given or default).
class Params {
public:
    Params() = default;
    explicit Params(Args values) : values_(std::move(values)) {}
    [[nodiscard]] std::int64_t integer(std::string_view name) const;
    [[nodiscard]] double number(std::string_view name) const;
    [[nodiscard]] Ticks duration(std::string_view name) const;
    [[nodiscard]] const std::string& text(std::string_view name) const;
    [[nodiscard]] bool boolean(std::string_view name) const;
    [[nodiscard]] ExitReason reason(std::string_view name) const;

private:
    [[nodiscard]] const ArgValue& at(std::string_view name) const;
    Args values_;
};

/// A counter a behaviour keeps in Metrics::counters.
struct MetricInfo {
    const char* name;
    const char* doc;
};

struct StockBehaviour {
    const char* name;
    const char* summary;
    bool client;  // A workload client (runs outside the tree) rather than a worker.
    ProcessKind kind;
    std::vector<Param> params;
    /// Workers: the supervisor's start function for child `id` at `path`.
    std::function<StartFn(const Params& params, const std::string& path, RunContext* ctx)> worker;
    /// Clients: spawns client number `n` (from 0) from `self`.
    std::function<Pid(Self self, const Params& params, int n, RunContext* ctx)> spawn_client;
    /// Workers that register a name: under `name` if given, else under their id (true), or
    /// only when `name` is given (false).
    bool registers_by_id;
    /// The counters it keeps (Metrics::count), which `metric:` expectations may name.
    std::vector<MetricInfo> metrics;
};

/// Every stock behaviour, in the order docs/scenarios.md lists them.
const std::vector<StockBehaviour>& stock_behaviours();
/// The behaviour called `name`, or nullptr.
const StockBehaviour* find_behaviour(std::string_view name);

/// Parses `250ms`, `2s`, `1.5s`, `100us`, `10ns`, `1m`, `never`; nullopt if malformed or longer than
/// 2^62 ns (146 years).
std::optional<Ticks> parse_duration(std::string_view text);
/// Parses a decimal number (`0.5`, `2`, `1e-3`); nullopt if malformed or not finite.
std::optional<double> parse_number(std::string_view text);
/// Parses an exit reason as OTP prints it: normal, shutdown, kill, {shutdown,T}, or anything
/// else as an error term.
ExitReason parse_reason(std::string_view text);
/// Whether `text` is a valid value of `type`; if not, what was expected.
std::optional<std::string> check_value(ParamType type, std::string_view text);

}  // namespace bedlam::scenario
