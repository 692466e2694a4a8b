// The deterministic simulator: one thread, a virtual clock in nanoseconds that jumps to the next
// timer when no process can run, and one seeded PRNG (bedlam::Rng) behind every choice. The same
// seed, build type and program give the same sequence of events and the same trace hash.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/runtime/rng.hpp"
#include "bedlam/runtime/runtime.hpp"
#include "bedlam/runtime/timer_queue.hpp"
#include "bedlam/runtime/trace.hpp"

namespace bedlam {

/// How the simulator picks the next process to run among the runnable ones.
enum class Policy : std::uint8_t {
    random,  // Uniformly at random (the default): explores interleavings.
    fifo,    // In the order they became runnable: a plain round-robin.
    pct,     // Probabilistic Concurrency Testing (Burckhardt et al., ASPLOS 2010), depth d.
};

const char* to_string(Policy policy) noexcept;
/// Parses "random", "fifo" or "pct"; nullopt otherwise.
std::optional<Policy> parse_policy(std::string_view text) noexcept;

struct SimConfig {
    std::uint64_t seed = 0;
    Policy policy = Policy::random;
    /// PCT: the bug depth d (d - 1 priority change points).
    std::uint32_t pct_depth = 3;
    /// PCT: the number of steps over which change points are spread.
    std::uint64_t pct_steps = 10'000;
    /// Where to write the trace as JSON lines (docs/trace-format.md); nullptr for none.
    std::ostream* trace_out = nullptr;
    /// Policy random: when set, it picks which of the n >= 2 runnable processes runs next (it
    /// returns an index below n into the simulator's own candidate order, itself a pure function
    /// of the run) instead of the PRNG. A fuzzer steers the schedule with it
    /// (fuzz/schedule_fuzz.cpp); for a run to replay it must be deterministic too.
    std::function<std::size_t(std::size_t n)> choose{};
};

struct RunResult {
    enum class Stop : std::uint8_t {
        idle,        // Nothing runnable and no timer pending.
        time_limit,  // The virtual clock reached the requested time.
        predicate,   // The predicate held.
        step_limit,  // The step budget ran out (a livelock guard).
    };
    Stop stop = Stop::idle;
    Ticks now = 0;
    std::uint64_t steps = 0;
    /// When stopped idle: live processes waiting in a receive with no time-out, which no
    /// message or timer can ever wake (pid order). Empty when every process has exited.
    std::vector<Pid> deadlocked;

    [[nodiscard]] bool deadlock() const noexcept {
        return stop == Stop::idle && !deadlocked.empty();
    }
};

class Simulator final : public Runtime {
public:
    explicit Simulator(SimConfig config = {});
    ~Simulator() override;
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    /// Runs until idle.
    RunResult run();
    /// Runs until the virtual clock reaches `deadline` (or idle, if sooner).
    RunResult run_until(Ticks deadline);
    /// Runs until `predicate()` holds; it is checked before each step.
    RunResult run_until(const std::function<bool()>& predicate);
    void run_until_idle() override { run(); }

    /// Stops any run after `steps` more steps (0: no limit).
    void set_step_limit(std::uint64_t steps) noexcept { step_limit_ = steps; }

    [[nodiscard]] Ticks now() const override { return now_; }
    [[nodiscard]] std::size_t process_count() const override { return live_; }
    [[nodiscard]] std::uint64_t seed() const noexcept { return config_.seed; }
    [[nodiscard]] std::uint64_t trace_hash() const noexcept { return trace_log_.hash(); }
    [[nodiscard]] std::uint64_t trace_events() const noexcept { return trace_log_.events(); }
    [[nodiscard]] std::uint64_t steps() const noexcept { return steps_; }
    /// The run's PRNG, for simulated components (e.g. fault injectors) that must draw from the
    /// same seed.
    Rng& rng() noexcept { return rng_; }
    /// Live pids, in order.
    [[nodiscard]] std::vector<Pid> live_processes() const;
    /// Writes later trace events as JSON lines to `out` (nullptr stops).
    void set_trace_output(std::ostream* out) noexcept { trace_log_.set_output(out); }
    /// Shows every later event to `listener` (nullptr: none).
    void set_trace_listener(TraceListener* listener) noexcept { trace_log_.set_listener(listener); }

    TimerRef start_timer(Ticks delay, Pid target, detail::Envelope* e, bool as_send) override;
    std::optional<Ticks> cancel_timer(TimerRef ref) override;
    void remove(detail::Proc* proc) override;

protected:
    detail::Proc* acquire(Pid pid) override;
    void insert(detail::Proc* proc) override;
    void schedule(detail::Proc* proc) override;

private:
    RunResult run_loop(Ticks deadline, const std::function<bool()>* predicate);
    detail::Proc* pick();
    void fire_due_timers();
    std::uint64_t pct_priority_of(Pid pid) const;

    detail::EnvelopePool envelopes_;  // First member: destroyed after every envelope.
    SimConfig config_;
    Rng rng_;
    Trace trace_log_;
    Ticks now_ = 0;
    std::uint64_t steps_ = 0;
    std::uint64_t step_limit_ = 0;
    std::size_t live_ = 0;
    std::vector<detail::Proc*> procs_;  // Indexed by pid; null once exited.
    std::vector<detail::Proc*> runnable_;
    std::deque<detail::Proc*> fifo_;
    detail::TimerQueue timers_;
    Interposer* asked_ = nullptr;             // The interposer next_action_ came from.
    Ticks next_action_ = Interposer::never;  // Its next_action(), asked once per act().
    // PCT state: a priority per pid (higher runs first) and the steps at which the running
    // process's priority drops.
    std::vector<std::uint64_t> pct_priority_;
    std::vector<std::uint64_t> pct_change_steps_;  // Sorted; consumed from the front.
    std::size_t pct_next_change_ = 0;
};

}  // namespace bedlam
