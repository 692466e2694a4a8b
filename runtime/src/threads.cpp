// The threaded scheduler. Clocks and threads are allowed here and nowhere else in runtime/.
#include "bedlam/runtime/threads.hpp"

#include <algorithm>
#include <limits>

namespace bedlam {

namespace {

// The worker the current thread runs for, so that a process spawned or woken by a running
// process goes to that worker's own queue. Keyed by scheduler: several may exist at once.
struct CurrentWorker {
    const void* scheduler = nullptr;
    std::size_t index = 0;
};
thread_local CurrentWorker current_worker;

}  // namespace

ThreadScheduler::ThreadScheduler(ThreadConfig config)
    : Runtime(/*single_threaded=*/false), start_(std::chrono::steady_clock::now()) {
    unsigned n = config.workers;
    if (n == 0) {
        n = std::max(1U, std::thread::hardware_concurrency());
    }
    for (unsigned i = 0; i < n; ++i) {
        workers_.push_back(std::make_unique<Worker>());
    }
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        workers_[i]->thread = std::thread([this, i] { worker_loop(i); });
    }
    timer_thread_ = std::thread([this] { timer_loop(); });
}

ThreadScheduler::~ThreadScheduler() {
    stop_.store(true, std::memory_order_seq_cst);
    {
        const std::lock_guard lock(park_mutex_);
        park_cv_.notify_all();
    }
    {
        const std::lock_guard lock(timer_mutex_);
        timer_cv_.notify_all();
    }
    for (auto& worker : workers_) {
        worker->thread.join();
    }
    timer_thread_.join();
    timers_.for_each([this](const detail::TimerQueue::Timer& t) { dispose(t.envelope); });
    std::vector<detail::Proc*> procs;
    for (Shard& shard : shards_) {
        for (auto& [id, proc] : shard.procs) {
            procs.push_back(proc);
        }
        shard.procs.clear();
    }
    for (detail::Proc* proc : procs) {
        proc->discard();
    }
    for (detail::Proc* proc : procs) {
        proc->unref();
    }
}

Ticks ThreadScheduler::now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                start_)
        .count();
}

void ThreadScheduler::run_until_idle() {
    std::unique_lock lock(idle_mutex_);
    idle_cv_.wait(lock, [this] { return busy_.load(std::memory_order_acquire) == 0; });
}

void ThreadScheduler::work_done() {
    if (busy_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        const std::lock_guard lock(idle_mutex_);
        idle_cv_.notify_all();
    }
}

void ThreadScheduler::schedule(detail::Proc* proc) {
    busy_.fetch_add(1, std::memory_order_acq_rel);
    if (current_worker.scheduler == this) {
        enqueue(current_worker.index, proc);
    } else {
        const std::size_t index = next_victim_.fetch_add(1, std::memory_order_relaxed);
        enqueue(index % workers_.size(), proc);
    }
}

// Pairs with the parking in worker_loop: the seq_cst increment of queued_ and load of sleepers_
// against the worker's increment of sleepers_ and load of queued_ mean that either the worker
// sees the work or this sees the sleeper and wakes it. Every enqueue wakes a sleeper, even one
// a worker makes for itself: its current step may run long (no preemption), and the queued
// process must not wait for it while another core sleeps.
void ThreadScheduler::enqueue(std::size_t index, detail::Proc* proc) {
    {
        Worker& worker = *workers_[index];
        const std::lock_guard lock(worker.mutex);
        worker.queue.push_back(proc);
    }
    queued_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
        const std::lock_guard lock(park_mutex_);
        park_cv_.notify_one();
    }
}

detail::Proc* ThreadScheduler::take(std::size_t index) {
    const std::size_t n = workers_.size();
    for (std::size_t k = 0; k < n; ++k) {
        Worker& worker = *workers_[(index + k) % n];
        const std::lock_guard lock(worker.mutex);
        if (!worker.queue.empty()) {
            detail::Proc* proc = worker.queue.front();
            worker.queue.pop_front();
            queued_.fetch_sub(1, std::memory_order_seq_cst);
            return proc;
        }
    }
    return nullptr;
}

void ThreadScheduler::worker_loop(std::size_t index) {
    current_worker = CurrentWorker{this, index};
    while (!stop_.load(std::memory_order_acquire)) {
        detail::Proc* proc = take(index);
        if (proc == nullptr) {
            sleepers_.fetch_add(1, std::memory_order_seq_cst);
            if (queued_.load(std::memory_order_seq_cst) == 0 &&
                !stop_.load(std::memory_order_seq_cst)) {
                std::unique_lock lock(park_mutex_);
                park_cv_.wait(lock, [this] {
                    return queued_.load(std::memory_order_seq_cst) > 0 ||
                           stop_.load(std::memory_order_seq_cst);
                });
            }
            sleepers_.fetch_sub(1, std::memory_order_seq_cst);
            continue;
        }
        const detail::StepResult result = proc->step();
        if (result == detail::StepResult::runnable) {
            enqueue(index, proc);  // Still runnable: back of the queue, so others get a turn.
        } else {
            work_done();
        }
    }
    current_worker = CurrentWorker{};
}

// The timer thread also runs an installed interposer's timed actions (a fault plan's kills). It
// polls for one every millisecond, since an interposer can be installed or reschedule at any time.
void ThreadScheduler::timer_loop() {
    constexpr Ticks never = std::numeric_limits<Ticks>::max();
    constexpr Ticks interposer_poll = 1'000'000;
    std::unique_lock lock(timer_mutex_);
    while (!stop_.load(std::memory_order_acquire)) {
        Interposer* hook = interposer();
        if (const Ticks t = now(); hook != nullptr && hook->next_action() <= t) {
            lock.unlock();
            hook->act(*this, t);
            lock.lock();
            continue;
        }
        if (timers_.empty()) {
            if (hook != nullptr) {
                timer_wake_at_ = now() + interposer_poll;
                timer_cv_.wait_for(lock, std::chrono::nanoseconds(interposer_poll));
                continue;
            }
            timer_wake_at_ = never;
            timer_cv_.wait(lock);
            continue;
        }
        const Ticks t = now();
        const Ticks deadline =
            hook != nullptr ? std::min(timers_.top().deadline, t + interposer_poll)
                            : timers_.top().deadline;
        if (deadline > t) {
            timer_wake_at_ = deadline;
            timer_cv_.wait_for(lock, std::chrono::nanoseconds(deadline - t));
            continue;
        }
        const detail::TimerQueue::Timer timer = timers_.pop();
        lock.unlock();
        if (timer.as_send) {
            send_signal(timer.target, timer.envelope);
        } else {
            push(timer.target, timer.envelope);
        }
        work_done();
        lock.lock();
    }
}

TimerRef ThreadScheduler::start_timer(Ticks delay, Pid target, detail::Envelope* e, bool as_send) {
    BEDLAM_ASSERT(delay >= 0);
    const std::uint64_t id = new_timer_id();
    const Ticks deadline = now() + delay;
    busy_.fetch_add(1, std::memory_order_acq_rel);
    const std::lock_guard lock(timer_mutex_);
    const TimerRef ref = timers_.add(deadline, id, target, e, as_send);
    if (deadline < timer_wake_at_) {
        timer_wake_at_ = deadline;
        timer_cv_.notify_one();
    }
    return ref;
}

std::optional<Ticks> ThreadScheduler::cancel_timer(TimerRef ref) {
    std::optional<detail::TimerQueue::Timer> timer;
    {
        const std::lock_guard lock(timer_mutex_);
        timer = timers_.remove(ref);
    }
    if (!timer) {
        return std::nullopt;
    }
    dispose(timer->envelope);
    work_done();
    return std::max<Ticks>(0, timer->deadline - now());
}

detail::Proc* ThreadScheduler::acquire(Pid pid) {
    Shard& shard = shard_of(pid);
    const std::lock_guard lock(shard.mutex);
    auto it = shard.procs.find(pid.id);
    if (it == shard.procs.end()) {
        return nullptr;
    }
    it->second->ref();
    return it->second;
}

void ThreadScheduler::insert(detail::Proc* proc) {
    Shard& shard = shard_of(proc->pid());
    {
        const std::lock_guard lock(shard.mutex);
        shard.procs.emplace(proc->pid().id, proc);
    }
    live_.fetch_add(1, std::memory_order_acq_rel);
}

void ThreadScheduler::remove(detail::Proc* proc) {
    Shard& shard = shard_of(proc->pid());
    {
        const std::lock_guard lock(shard.mutex);
        shard.procs.erase(proc->pid().id);
    }
    live_.fetch_sub(1, std::memory_order_acq_rel);
    proc->unref();
}

}  // namespace bedlam
