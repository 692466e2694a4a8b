// The threaded scheduler: N worker threads running the same process code and API as the simulator,
// on a real monotonic clock.
//
// Scheduling (docs/benchmarks.md has the figures and what the profiles showed):
// - Each worker has a bounded run queue that it pushes to and pops from, and that idle workers
//   steal half of; plus a one-process "next" slot. A process woken by the running process goes
//   to the slot and runs next on the same core, so a request and its reply stay on one core
//   (BEAM and Go do the same); the process it displaces goes to the queue.
// - A few queued processes are left to their worker, which runs them within microseconds with
//   warm caches: a chain of work (a supervisor restarting children one by one) stays on one
//   core. Another worker takes from a queue at once only when it holds several, and otherwise
//   only when the owner has been in one step for a while (a long step, or a preempted thread).
// - Processes made runnable from outside the workers (the caller's thread, the timer thread) go
//   to a shared queue that workers check now and then, so it cannot starve.
// - A worker with nothing to run and nothing to steal parks on a condition variable. A worker
//   that queues stealable work wakes a parked one. While any worker is busy, parked ones wake
//   every millisecond to look for work that waited all that time.
// - A process completes at most Runtime::receive_budget() receives per turn (BEAM's reductions).
// - A step that finds a receiver's inbox contended by another core (its compare-and-swap lost)
//   sends the rest of its messages to that receiver as chains of up to 64, one compare-and-swap
//   each, pushed before any other signal to it and when the step ends (push_concurrent).
// - A step that wakes a process only to end it (an exit signal to a process that does not trap
//   exits) or that starts a server and waits for its init runs that process's step itself, at
//   once, nested in its own (run_nested): a supervisor stopping and starting a hundred children
//   does it in one turn instead of four context switches a child.
// - Timers live in a heap per worker: a process's timer goes to the worker it runs on, which
//   fires it between steps and parks no later than its first deadline. Arming and cancelling
//   take one rarely contended lock and wake no thread. Timers armed outside the workers go to a
//   timer thread.
//
// The process table is lock-free for lookups: a pid's id is a slot index and the slot's
// generation, so a send finds its receiver with two loads. A process that exits leaves its slot
// at once but its memory is freed only after every worker has finished the step it was in
// (quiescent-state reclamation), so a lookup never touches freed memory and takes no reference.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "bedlam/runtime/runtime.hpp"
#include "bedlam/runtime/timer_queue.hpp"

namespace bedlam {

struct ThreadConfig {
    /// Worker threads, at most 254; 0 means one per core (up to 254).
    unsigned workers = 0;
};

class ThreadScheduler final : public Runtime {
public:
    explicit ThreadScheduler(ThreadConfig config = {});
    /// Stops the workers and discards every process still alive (no exit signals are sent).
    ~ThreadScheduler() override;
    /// Stops the worker and timer threads, leaving every process as it is: no process runs, no
    /// timer fires and no interposer is called afterwards, so what they used (an injector, a
    /// trace listener) may be destroyed before the scheduler. Idempotent.
    void shutdown();
    ThreadScheduler(const ThreadScheduler&) = delete;
    ThreadScheduler& operator=(const ThreadScheduler&) = delete;

    [[nodiscard]] Ticks now() const override;
    /// Blocks until every worker is parked with nothing to run and no timer is armed.
    void run_until_idle() override;
    /// run_until_idle() for at most `timeout`; false if the run was still busy then.
    bool run_until_idle_for(std::chrono::nanoseconds timeout);
    /// Shows every traced event to `listener`, stamped with now(), one at a time (under a lock)
    /// from whichever thread it happens on; nullptr stops it. For tools that watch a run, such
    /// as the scenario runner: every event then takes the lock. Set it while no process runs.
    void set_trace_listener(TraceListener* listener);
    /// Events shown to the listener so far.
    [[nodiscard]] std::uint64_t trace_events();
    [[nodiscard]] std::size_t process_count() const override;
    [[nodiscard]] unsigned workers() const noexcept {
        return static_cast<unsigned>(workers_.size());
    }

    TimerRef start_timer(Ticks delay, Pid target, detail::Envelope* e, bool as_send) override;
    std::optional<Ticks> cancel_timer(TimerRef ref) override;
    void drop_timer(TimerRef ref) override;
    void remove(detail::Proc* proc) override;
    bool run_claimed(detail::Proc* proc) override;

protected:
    detail::Proc* acquire(Pid pid) override;
    void unpin(detail::Proc* proc) noexcept override;
    std::uint64_t new_pid_id() override;
    void insert(detail::Proc* proc) override;
    void schedule(detail::Proc* proc) override;
    void schedule_eager(detail::Proc* proc) override;
    void record_shared(const TraceEvent& event) override;
    void interposer_changed() noexcept override;
    bool push_concurrent(Pid to, detail::Envelope* e) override;
    bool push_concurrent_pair(Pid to, detail::Envelope* first, detail::Envelope* second) override;
    detail::Proc* claim_sleeping_concurrent(Pid to, detail::Envelope* e) override;
    std::uint64_t new_ref_after(std::uint64_t floor) noexcept override;
    void flush_sends() override;

private:
    struct Worker;
    /// One entry of the process table. `proc` is read by any thread; `generation` only by the
    /// thread that owns the free slot.
    struct Slot {
        std::atomic<detail::Proc*> proc{nullptr};
        std::uint32_t generation = 0;
    };
    static constexpr unsigned segment_bits = 12;  // 4,096 slots (64 KiB) a segment.
    static constexpr std::size_t segment_size = std::size_t{1} << segment_bits;
    static constexpr std::size_t max_segments = std::size_t{1} << 16;  // 268 M live processes.

    // -- Workers ---------------------------------------------------------------------------------
    void worker_loop(Worker& w);
    detail::Proc* find_work(Worker& w, std::uint32_t tick);
    void run(Worker& w, detail::Proc* proc);
    /// Removes a pending timer and frees its envelope; the timer, or nullopt if it was gone.
    std::optional<detail::TimerQueue::Timer> take_timer(TimerRef ref);
    /// After a step: pushes the held-back chain, and queues the process if it is still runnable.
    void finish_step(Worker& w, detail::Proc* proc, detail::StepResult result);
    /// Pushes the held-back chain, if any, and stops holding messages back.
    void end_chain(Worker& w);
    /// Whether the running step may run another process's step inside it (run_nested).
    [[nodiscard]] bool can_nest(const Worker* w) const noexcept;
    void run_nested(Worker& w, detail::Proc* proc);
    void flush_outbox(Worker& w);
    /// acquire() on a worker: the process, or nullptr.
    detail::Proc* lookup(Pid pid) const;
    bool spin(Worker& w);
    bool watch_steps(Worker& w, bool compare);
    bool park(Worker& w);
    [[nodiscard]] bool has_stealable_work() const noexcept;
    [[nodiscard]] bool idle() const noexcept;
    void wake_one();
    void notify_parked();
    [[nodiscard]] Worker* current() const noexcept;

    // -- Run queues ------------------------------------------------------------------------------
    void push_local(Worker& w, detail::Proc* proc);
    detail::Proc* pop_local(Worker& w);
    static std::uint32_t queued(const Worker& w) noexcept;
    detail::Proc* steal(Worker& thief, bool stale);
    detail::Proc* steal_from(Worker& victim, Worker& thief, std::uint32_t at_least);
    void push_shared(detail::Proc* proc);
    detail::Proc* pop_shared(Worker& w);

    // -- Process table and reclamation -----------------------------------------------------------
    Slot& slot(std::uint32_t index) noexcept;
    void take_slots(std::vector<std::uint32_t>& into, std::size_t count);
    void retire(Worker& w, detail::Proc* proc);
    void reclaim(Worker& w);
    void note_quiescent(Worker& w) noexcept;

    // -- Timers ----------------------------------------------------------------------------------
    void deliver(const detail::TimerQueue::Timer& timer);
    bool fire_timers(Worker& queue, Ticks t, bool try_only);
    void fire_others_timers(Worker& w);
    void timer_loop();
    void timer_done();
    void notify_if_idle();

    const std::chrono::steady_clock::time_point start_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::atomic<bool> stop_{false};

    // Processes made runnable outside the workers.
    std::mutex shared_mutex_;
    std::deque<detail::Proc*> shared_;  // Guarded by shared_mutex_.
    std::atomic<std::size_t> shared_size_{0};

    // Parking. parked_ changes only under park_mutex_ (so the idle check is exact) but is read
    // without it on the push path.
    std::mutex park_mutex_;
    std::atomic<unsigned> parked_{0};
    std::condition_variable idle_cv_;

    // The process table: segments of slots, allocated as the table grows and never moved.
    std::unique_ptr<std::atomic<Slot*>[]> segments_;
    std::mutex slots_mutex_;
    std::vector<std::uint32_t> free_slots_;  // Guarded by slots_mutex_.
    std::uint32_t next_slot_ = 1;             // Guarded; slot 0 is never used (no pid is 0).
    std::atomic<std::int64_t> outside_live_{0};  // Spawns from outside the workers.

    // Reclamation: a batch of exited processes tagged with epoch E is freed once every worker
    // has seen epoch E (or is parked) and no thread outside the workers holds a looked-up
    // process.
    std::atomic<std::uint64_t> epoch_{1};
    std::atomic<std::int64_t> outside_readers_{0};

    // Timers armed outside the workers (each worker has its own heap), on a timer thread that
    // also runs an installed interposer's timed actions.
    std::mutex timer_mutex_;
    std::condition_variable timer_cv_;
    detail::TimerQueue timers_;                // Guarded by timer_mutex_.
    std::uint64_t outside_timer_numbers_ = 0;  // Guarded.
    std::atomic<std::int64_t> armed_{0};       // timers_.size(), counted before the lock.
    std::thread timer_thread_;

    // The trace, only while a listener watches.
    std::mutex trace_mutex_;
    Ticks trace_now_ = 0;  // Guarded: the clock the trace stamps events with.
    std::unique_ptr<Trace> trace_owned_;
};

}  // namespace bedlam
