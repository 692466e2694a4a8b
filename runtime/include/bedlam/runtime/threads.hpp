// The threaded scheduler: N worker threads with per-worker run queues and stealing, a real
// monotonic clock, and the same process code and API as the simulator. Sends are lock-free pushes
// onto the receiver's inbox; the process table is sharded, so no global lock sits on the send
// path. This is the first, correctness-first version; see docs/benchmarks.md for its figures.
#pragma once

#include <array>
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
#include <unordered_map>
#include <utility>
#include <vector>

#include "bedlam/runtime/runtime.hpp"
#include "bedlam/runtime/timer_queue.hpp"

namespace bedlam {

struct ThreadConfig {
    /// Worker threads; 0 means one per core.
    unsigned workers = 0;
};

class ThreadScheduler final : public Runtime {
public:
    explicit ThreadScheduler(ThreadConfig config = {});
    /// Stops the workers and discards every process still alive (no exit signals are sent).
    ~ThreadScheduler() override;
    ThreadScheduler(const ThreadScheduler&) = delete;
    ThreadScheduler& operator=(const ThreadScheduler&) = delete;

    [[nodiscard]] Ticks now() const override;
    /// Blocks until no process is runnable or running and no timer is armed.
    void run_until_idle() override;
    [[nodiscard]] std::size_t process_count() const override {
        return live_.load(std::memory_order_acquire);
    }
    [[nodiscard]] unsigned workers() const noexcept {
        return static_cast<unsigned>(workers_.size());
    }

    TimerRef start_timer(Ticks delay, Pid target, detail::Envelope* e, bool as_send) override;
    std::optional<Ticks> cancel_timer(TimerRef ref) override;
    void remove(detail::Proc* proc) override;

protected:
    detail::Proc* acquire(Pid pid) override;
    void insert(detail::Proc* proc) override;
    void schedule(detail::Proc* proc) override;

private:
    struct Worker {
        std::mutex mutex;
        std::deque<detail::Proc*> queue;  // Guarded by mutex.
        std::thread thread;
    };
    struct Shard {
        std::mutex mutex;
        std::unordered_map<std::uint64_t, detail::Proc*> procs;  // lookup-only; guarded.
    };
    static constexpr std::size_t shard_count = 64;

    void worker_loop(std::size_t index);
    detail::Proc* take(std::size_t index);
    void enqueue(std::size_t index, detail::Proc* proc);
    void timer_loop();
    void work_done();
    Shard& shard_of(Pid pid) noexcept { return shards_[pid.id % shard_count]; }

    const std::chrono::steady_clock::time_point start_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::array<Shard, shard_count> shards_;
    std::atomic<std::size_t> live_{0};
    std::atomic<std::uint64_t> next_victim_{0};

    // Work accounting: processes queued or running, plus armed timers. Zero means idle.
    std::atomic<std::int64_t> busy_{0};
    std::mutex idle_mutex_;
    std::condition_variable idle_cv_;

    // Parking: workers with nothing to do sleep here until something is queued.
    std::atomic<std::int64_t> queued_{0};
    std::atomic<int> sleepers_{0};
    std::mutex park_mutex_;
    std::condition_variable park_cv_;
    std::atomic<bool> stop_{false};

    std::mutex timer_mutex_;
    std::condition_variable timer_cv_;
    detail::TimerQueue timers_;  // Guarded by timer_mutex_.
    // When the timer thread will next wake by itself (guarded): a new timer only has to wake it
    // if it is due earlier. A cancelled timer leaves it set; the thread then wakes for nothing.
    Ticks timer_wake_at_ = std::numeric_limits<Ticks>::max();
    std::thread timer_thread_;
};

}  // namespace bedlam
