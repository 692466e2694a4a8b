// The threaded scheduler. Clocks and threads are allowed here and nowhere else in runtime/.
#include "bedlam/runtime/threads.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>
#include <utility>

namespace bedlam {

namespace {

constexpr std::uint32_t ring_size = 256;  // Per-worker run queue; a power of two.
constexpr std::uint32_t ring_mask = ring_size - 1;
/// Runs in a row from the next slot before the worker turns to its queue: two processes that
/// keep waking each other cannot starve the rest.
constexpr std::uint32_t next_slot_streak = 32;
/// Every this many turns a worker looks at the shared queue first (a prime, as Go and Tokio
/// use, so it does not beat in step with a workload's period).
constexpr std::uint32_t shared_interval = 61;
/// How long a parked worker sleeps while another is busy before it looks for work again.
constexpr std::chrono::microseconds park_interval{1000};
/// A few processes queued behind a busy worker are left to it: it runs them within microseconds
/// with warm caches, while moving one to another core costs more than the wait when the work is
/// a chain (a supervisor stopping and starting children one after another, a request and its
/// reply). A looking worker takes from a queue at once only when it holds steal_now or more;
/// otherwise only when the owner has been in one step for stale_interval while it spun, or for
/// a whole park interval while it slept (a long step, or the owner thread was preempted): then
/// it takes a process from the owner's queue, or else its next slot.
constexpr std::uint32_t steal_now = 4;
constexpr std::chrono::microseconds stale_interval{20};
/// How long a worker that ran out of work keeps looking before it parks. Waking a parked worker
/// costs the waker a futex call and the sleeper a context switch, several microseconds each; a
/// supervisor restarting a hundred children hands out work a few microseconds apart, so without
/// this the idle worker would park and be woken again for every child.
constexpr std::chrono::microseconds spin_interval{50};
/// Free slots a worker keeps before it hands a batch back; and the batch.
constexpr std::size_t slot_cache = 512;
constexpr std::size_t slot_batch = 128;
/// References a worker takes from the run's counter at a time (see new_ref_after).
constexpr std::uint64_t ref_block = 1024;
/// Exited processes a worker gathers before it tags them for reclamation.
constexpr std::size_t retire_batch = 128;
/// Messages to a contended receiver a step holds back at most before it pushes them (see
/// push_concurrent).
constexpr std::uint32_t outbox_limit = 64;
/// A worker with timers armed looks at the clock every this many turns.
constexpr std::uint32_t timer_interval = 16;
constexpr Ticks no_deadline = std::numeric_limits<Ticks>::max();

// A TimerRef on this scheduler: the reference its queue gave (a timer number below 2^32 and a
// slot) shifted left 8 bits, and the queue: a worker's index, or outside_queue for the timer
// thread's (timers armed outside the workers).
constexpr unsigned queue_bits = 8;
constexpr std::uint64_t outside_queue = (std::uint64_t{1} << queue_bits) - 1;
constexpr std::uint64_t max_timer_number = std::uint64_t{1} << 32;

TimerRef tag(TimerRef queue_ref, std::uint64_t queue) noexcept {
    return TimerRef{(queue_ref.id << queue_bits) | queue};
}

}  // namespace

struct alignas(64) ThreadScheduler::Worker {
    // Touched by thieves: the run queue (a ring; the owner pushes at tail and pops at head,
    // thieves take from head) and the next slot.
    std::atomic<std::uint32_t> head{0};
    std::atomic<std::uint32_t> tail{0};
    std::atomic<detail::Proc*> next{nullptr};
    std::atomic<std::uint64_t> steps{0};  // Steps begun; the owner's alone to write.
    std::array<std::atomic<detail::Proc*>, ring_size> ring{};

    // Read by reclaiming workers: the last epoch this worker saw between steps, 0 while parked.
    alignas(64) std::atomic<std::uint64_t> seen{0};
    // Processes inserted minus removed by this worker (process_count sums them).
    std::atomic<std::int64_t> live{0};

    // The owner's alone.
    alignas(64) std::size_t index = 0;
    std::uint32_t streak = 0;
    // Each other worker's step count when this worker last looked, and whether one has been in
    // the same step since, with work waiting (see stale_interval).
    std::vector<std::uint64_t> watched_steps;
    bool take_stale = false;
    // Whether to spin before parking: after a spin that found work, or a wake-up by a worker
    // with work to share. A spin that found nothing is not repeated until then: on a shared
    // machine it takes a core that another program would use, which then preempts the busy
    // worker instead.
    bool spin_next = true;
    std::vector<std::uint32_t> free_slots;
    std::vector<detail::Proc*> exited;  // Not yet tagged.
    struct Batch {
        std::uint64_t epoch;
        std::vector<detail::Proc*> procs;
    };
    std::deque<Batch> retired;  // Tagged, oldest first.
    std::thread thread;
    bool in_step = false;
    bool nested = false;  // A step is running inside the step of another process (run_nested).
    // While nested: the process whose step the nested one runs inside, if it was running its
    // own code (not exiting); what the nested step sends it skips the inbox (take_from_nested).
    detail::Proc* nest_parent = nullptr;
    // Messages the running process sends to a receiver whose inbox it found contended, held
    // back to go in chains (see push_concurrent). `proc` was looked up in this step, so it stays
    // valid until this worker's next quiescent point.
    struct Outbox {
        bool hot = false;  // This step's messages to `to` are held back.
        Pid to;
        detail::Proc* proc = nullptr;
        detail::Envelope* newest = nullptr;
        detail::Envelope* oldest = nullptr;
        std::uint32_t count = 0;
    };
    Outbox outbox;
    // References this worker hands out, [next_ref, end_ref), a block from the run's counter.
    std::uint64_t next_ref = 0;
    std::uint64_t end_ref = 0;

    // Timers armed by this worker's processes. The owner arms and fires them; any worker may
    // cancel one (its process moved) or fire it (the owner is stuck in a long step), so they
    // sit behind a mutex that is rarely contended.
    alignas(64) std::mutex timer_mutex;
    detail::TimerQueue timers;            // Guarded by timer_mutex.
    std::uint64_t timer_numbers = 0;      // Guarded.
    std::atomic<Ticks> due{no_deadline};  // The first deadline; written under timer_mutex.
    std::atomic<std::size_t> pending{0};  // timers.size(); written under timer_mutex.

    // Guarded by the scheduler's park_mutex_.
    std::condition_variable cv;
    bool parked = false;
    bool timed = false;   // Parked with a time limit of park_interval (another worker was busy).
    bool retime = false;  // Told to wait with that limit from now: another worker became busy.

    /// After a change to `timers`, under timer_mutex.
    void publish_timers() noexcept {
        due.store(timers.empty() ? no_deadline : timers.top().deadline, std::memory_order_relaxed);
        pending.store(timers.size(), std::memory_order_release);
    }
};

namespace {

// The worker the current thread runs for. Keyed by scheduler: several may exist at once.
struct CurrentWorker {
    const void* scheduler = nullptr;
    void* worker = nullptr;
};
thread_local CurrentWorker current_worker;

/// Tells the core this is a spin-wait (fewer wasted cycles, and a hyper-threaded sibling runs).
inline void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

}  // namespace

ThreadScheduler::ThreadScheduler(ThreadConfig config)
    : Runtime(/*single_threaded=*/false),
      start_(std::chrono::steady_clock::now()),
      segments_(new std::atomic<Slot*>[max_segments]()) {
    unsigned n = config.workers;
    if (n >= outside_queue) {
        throw std::invalid_argument("ThreadScheduler: at most " +
                                    std::to_string(outside_queue - 1) + " workers, not " +
                                    std::to_string(n));
    }
    if (n == 0) {
        n = std::clamp(std::thread::hardware_concurrency(), 1U,
                       static_cast<unsigned>(outside_queue - 1));
    }
    for (unsigned i = 0; i < n; ++i) {
        workers_.push_back(std::make_unique<Worker>());
        workers_.back()->index = i;
    }
    for (auto& worker : workers_) {
        worker->thread = std::thread([this, w = worker.get()] { worker_loop(*w); });
    }
    timer_thread_ = std::thread([this] { timer_loop(); });
}

ThreadScheduler::~ThreadScheduler() {
    shutdown();
    const auto dispose_timer = [this](const detail::TimerQueue::Timer& t) { dispose(t.envelope); };
    timers_.for_each(dispose_timer);
    for (auto& worker : workers_) {
        worker->timers.for_each(dispose_timer);
    }
    std::vector<detail::Proc*> procs;
    for (std::size_t s = 0; s < max_segments; ++s) {
        Slot* segment = segments_[s].load(std::memory_order_relaxed);
        if (segment == nullptr) {
            break;
        }
        for (std::size_t i = 0; i < segment_size; ++i) {
            if (detail::Proc* proc = segment[i].proc.load(std::memory_order_relaxed)) {
                procs.push_back(proc);
            }
        }
    }
    for (detail::Proc* proc : procs) {
        proc->discard();
    }
    for (detail::Proc* proc : procs) {
        proc->unref();
    }
    for (auto& worker : workers_) {
        for (detail::Proc* proc : worker->exited) {
            proc->unref();
        }
        for (auto& batch : worker->retired) {
            for (detail::Proc* proc : batch.procs) {
                proc->unref();
            }
        }
    }
    for (std::size_t s = 0; s < max_segments; ++s) {
        delete[] segments_[s].load(std::memory_order_relaxed);
    }
}

void ThreadScheduler::shutdown() {
    if (stop_.exchange(true, std::memory_order_seq_cst)) {
        return;
    }
    {
        const std::lock_guard lock(park_mutex_);
        for (auto& worker : workers_) {
            worker->cv.notify_all();
        }
    }
    {
        const std::lock_guard lock(timer_mutex_);
        timer_cv_.notify_all();
    }
    for (auto& worker : workers_) {
        worker->thread.join();
    }
    timer_thread_.join();
}

Ticks ThreadScheduler::now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                start_)
        .count();
}

std::size_t ThreadScheduler::process_count() const {
    std::int64_t n = outside_live_.load(std::memory_order_acquire);
    for (const auto& worker : workers_) {
        n += worker->live.load(std::memory_order_acquire);
    }
    return static_cast<std::size_t>(std::max<std::int64_t>(n, 0));
}

ThreadScheduler::Worker* ThreadScheduler::current() const noexcept {
    return current_worker.scheduler == this ? static_cast<Worker*>(current_worker.worker)
                                            : nullptr;
}

// -- Workers -------------------------------------------------------------------------------------

void ThreadScheduler::worker_loop(Worker& w) {
    current_worker = CurrentWorker{this, &w};
    w.seen.store(epoch_.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
    std::uint32_t tick = 0;
    bool timed_out = false;
    while (!stop_.load(std::memory_order_relaxed)) {
        if (++tick % timer_interval == 0 && w.due.load(std::memory_order_relaxed) != no_deadline) {
            fire_timers(w, now(), false);
        }
        detail::Proc* proc = find_work(w, tick);
        if (proc == nullptr) {
            if (w.due.load(std::memory_order_relaxed) != no_deadline &&
                fire_timers(w, now(), false)) {
                continue;
            }
            if (!timed_out && w.spin_next) {
                w.spin_next = spin(w);
                if (w.spin_next) {
                    continue;
                }
            }
            timed_out = park(w);
            if (!timed_out) {
                w.spin_next = true;
            }
            if (timed_out) {
                w.take_stale = watch_steps(w, true);
                // Slept while others were busy: one may be stuck in a long step, its timers
                // overdue.
                fire_others_timers(w);
            }
            continue;
        }
        timed_out = false;
        run(w, proc);
        note_quiescent(w);
        if (!w.retired.empty() && tick % 64 == 0) {
            reclaim(w);
        }
    }
    current_worker = CurrentWorker{};
}

detail::Proc* ThreadScheduler::find_work(Worker& w, std::uint32_t tick) {
    if (tick % shared_interval == 0) {
        if (detail::Proc* proc = pop_shared(w)) {
            return proc;
        }
    }
    if (w.next.load(std::memory_order_relaxed) != nullptr) {
        if (detail::Proc* proc = w.next.exchange(nullptr, std::memory_order_acq_rel)) {
            if (++w.streak <= next_slot_streak) {
                return proc;
            }
            // Its turn comes after what waits in the queue. No worker is woken for it: this
            // one takes it from the queue at once if nothing else is there.
            push_local(w, proc);
        }
    }
    w.streak = 0;
    if (detail::Proc* proc = pop_local(w)) {
        return proc;
    }
    if (detail::Proc* proc = pop_shared(w)) {
        return proc;
    }
    const bool stale = w.take_stale;
    w.take_stale = false;
    return steal(w, stale);
}

void ThreadScheduler::run(Worker& w, detail::Proc* proc) {
    w.steps.store(w.steps.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    w.in_step = true;
    const detail::StepResult result = proc->step();
    w.in_step = false;
    finish_step(w, proc, result);
}

void ThreadScheduler::finish_step(Worker& w, detail::Proc* proc, detail::StepResult result) {
    end_chain(w);
    if (result == detail::StepResult::runnable) {
        // It spent its budget (or could not block): to the back of the queue, where an idle
        // worker may take it (see steal_now).
        push_local(w, proc);
        if (queued(w) >= steal_now) {
            notify_parked();
        }
    }
}

void ThreadScheduler::end_chain(Worker& w) {
    if (w.outbox.hot) {
        flush_outbox(w);
        w.outbox.hot = false;
    }
}

bool ThreadScheduler::can_nest(const Worker* w) const noexcept {
    return w != nullptr && w->in_step && !w->nested && interposer() == nullptr;
}

// Runs one step of `proc`, which the caller owns (it woke or spawned it), inside the step that is
// running: as if it had been scheduled next and the running process preempted meanwhile, which
// a machine with one more idle core could have done. One level deep only, so the stack stays
// bounded; the running process cannot be `proc` (it is not blocked), and nothing it is in the
// middle of is touched, since a process's tables change only in its own step. The held-back
// chain of messages goes first, as before anything else runs.
void ThreadScheduler::run_nested(Worker& w, detail::Proc* proc) {
    end_chain(w);
    w.nested = true;
    w.nest_parent = detail::current_proc;
    const detail::StepResult result = proc->step();
    w.nested = false;
    w.nest_parent = nullptr;
    finish_step(w, proc, result);
}

void ThreadScheduler::schedule_eager(detail::Proc* proc) {
    if (Worker* w = current(); can_nest(w)) {
        run_nested(*w, proc);
        return;
    }
    schedule(proc);
}

// Many senders on several cores sending to one receiver (a fan-in, a logger, a shared server)
// each win its inbox's head once per message, and the cache line holding it travels between the
// cores every time. A step that finds a receiver's inbox contended (its compare-and-swap lost to
// another core) holds back its further messages to that receiver and pushes them as one chain,
// with one compare-and-swap, when it has outbox_limit of them, when it sends that receiver any
// other signal, and when the step ends. Uncontended sends (a ring, a ping-pong, a call) pay one
// test. No one can tell: a receiver sees a sender's messages in the order it sent them, after
// every signal it sent before them and before every signal it sends after them (§1.1), and
// between senders there is no order to keep. The chain is pushed before the worker runs anything
// else, so a message is held back only while its sender's step runs on.
bool ThreadScheduler::push_concurrent(Pid to, detail::Envelope* e) {
    Worker* w = current();
    const bool message = e->kind == detail::SignalKind::message;
    if (w != nullptr && w->outbox.hot) {
        Worker::Outbox& out = w->outbox;
        if (message && out.to == to) {
            e->next = nullptr;
            if (out.count == 0) {
                out.oldest = e;
            } else {
                e->next = out.newest;
            }
            out.newest = e;
            if (++out.count == outbox_limit) {
                flush_outbox(*w);
            }
            return true;
        }
        flush_outbox(*w);  // Any other signal, or another receiver: in order after the chain.
    }
    // A nested step's message, DOWN or EXIT to the process it runs inside (a child's InitAck,
    // DOWN and EXIT to the supervisor starting or stopping it), which is suspended on this
    // thread: into its mailbox, after what its inbox holds, with no atomic push and no drain.
    if (w != nullptr && w->nest_parent != nullptr && w->nest_parent->pid() == to &&
        w->nest_parent->take_from_nested(e)) {
        return true;
    }
    detail::Proc* proc = w != nullptr ? lookup(to) : acquire(to);
    if (proc == nullptr) {
        trace({TraceKind::drop, e->from, to, e->seq, nullptr, "noproc"});
        dispose(e);
        return false;
    }
    // Read before the push: from then on the receiver may take the envelope and free it.
    const bool chainable = message && e->from != to;
    bool contended = false;
    const bool exit_signal = e->kind == detail::SignalKind::exit;
    const detail::Inbox::Push result = proc->inbox().push(e, &contended);
    if (result == detail::Inbox::Push::woke) {
        // Woken, it is ours to run. An exit it does not trap ends it: cheaper done now than
        // after two context switches, and the sender (a supervisor stopping children) usually
        // waits for its DOWN next.
        if (exit_signal && can_nest(w) && !proc->trap_exit()) {
            run_nested(*w, proc);
            return true;
        }
        schedule(proc);
    }
    if (w == nullptr) {
        outside_readers_.fetch_sub(1, std::memory_order_release);  // release(proc)
    }
    if (result == detail::Inbox::Push::closed) {
        trace({TraceKind::drop, e->from, to, e->seq, nullptr, "noproc"});
        dispose(e);
        return false;
    }
    if (contended && chainable && w != nullptr && w->in_step && interposer() == nullptr) {
        Worker::Outbox& out = w->outbox;
        out.hot = true;
        out.to = to;
        out.proc = proc;
    }
    return true;
}

bool ThreadScheduler::push_concurrent_pair(Pid to, detail::Envelope* first,
                                           detail::Envelope* second) {
    Worker* w = current();
    if (w == nullptr || (w->nest_parent != nullptr && w->nest_parent->pid() == to)) {
        return Runtime::push_concurrent_pair(to, first, second);  // Rare: one at a time.
    }
    if (w->outbox.hot) {
        flush_outbox(*w);  // In order after what this step sent before.
    }
    detail::Proc* proc = lookup(to);
    if (proc == nullptr) {
        dispose(first);
        dispose(second);
        return false;
    }
    // Read before the push: from then on the receiver may take the envelopes and free them.
    const bool exit_signal = second->kind == detail::SignalKind::exit;
    second->next = first;  // Newest first: `first` is taken first.
    switch (proc->inbox().push_chain(second, first)) {
        case detail::Inbox::Push::woke:
            // Woken, it is ours to run (see push_concurrent).
            if (exit_signal && can_nest(w) && !proc->trap_exit()) {
                run_nested(*w, proc);
            } else {
                schedule(proc);
            }
            return true;
        case detail::Inbox::Push::ok:
            return true;
        case detail::Inbox::Push::closed:
            break;
    }
    dispose(first);
    dispose(second);
    return false;
}

// A supervisor stopping a child that sleeps and does not trap exits: the exit signal wakes it and
// this step runs it to its end (run_nested), so the stop needs no monitor and no DOWN. Claimed
// only when it can be run here, so that a claimed process that does not trap exits always is.
detail::Proc* ThreadScheduler::claim_sleeping_concurrent(Pid to, detail::Envelope* e) {
    Worker* w = current();
    if (!can_nest(w)) {
        return nullptr;
    }
    detail::Proc* proc = lookup(to);
    if (proc == nullptr || proc == detail::current_proc) {
        return nullptr;
    }
    if (w->outbox.hot) {
        flush_outbox(*w);  // In order after what this step sent before.
    }
    return proc->inbox().push_if_asleep(e) ? proc : nullptr;
}

bool ThreadScheduler::run_claimed(detail::Proc* proc) {
    if (!proc->trap_exit()) {
        run_nested(*current(), proc);  // claim_sleeping checked can_nest; nothing has run since.
        return true;
    }
    schedule(proc);
    return false;
}

std::uint64_t ThreadScheduler::new_ref_after(std::uint64_t floor) noexcept {
    Worker* w = current();
    if (w == nullptr) {
        return take_refs(1);  // Past every block handed out, so past `floor`.
    }
    if (w->next_ref == w->end_ref || w->next_ref <= floor) {
        // A new block is past every reference taken so far, `floor` among them.
        w->next_ref = take_refs(ref_block);
        w->end_ref = w->next_ref + ref_block;
    }
    return w->next_ref++;
}

void ThreadScheduler::flush_sends() {
    if (Worker* w = current(); w != nullptr) {
        end_chain(*w);
    }
}

void ThreadScheduler::flush_outbox(Worker& w) {
    Worker::Outbox& out = w.outbox;
    if (out.count == 0) {
        return;
    }
    detail::Envelope* newest = std::exchange(out.newest, nullptr);
    detail::Envelope* oldest = std::exchange(out.oldest, nullptr);
    out.count = 0;
    switch (out.proc->inbox().push_chain(newest, oldest)) {
        case detail::Inbox::Push::woke:
            schedule(out.proc);
            break;
        case detail::Inbox::Push::ok:
            break;
        case detail::Inbox::Push::closed:
            for (detail::Envelope* e = newest; e != nullptr;) {
                detail::Envelope* next = e == oldest ? nullptr : e->next;
                trace({TraceKind::drop, e->from, out.to, e->seq, nullptr, "noproc"});
                dispose(e);
                e = next;
            }
            break;
    }
}

// Looks for stealable work for up to spin_interval without parking; true if some appeared, or
// if another worker with processes waiting stayed in one step for stale_interval (then find_work
// may take one).
bool ThreadScheduler::spin(Worker& w) {
    note_quiescent(w);
    Ticks t = now();  // One clock for the spin's limits and the timers' deadlines.
    const Ticks until = t + std::chrono::nanoseconds(spin_interval).count();
    Ticks watched_since = t;
    watch_steps(w, false);
    do {
        for (int i = 0; i < 64; ++i) {
            if (has_stealable_work()) {
                return true;
            }
            pause();
        }
        t = now();
        if (w.due.load(std::memory_order_relaxed) <= t) {
            return true;
        }
        if (t - watched_since >= std::chrono::nanoseconds(stale_interval).count()) {
            if (watch_steps(w, true)) {
                w.take_stale = true;
                return true;
            }
            watched_since = t;
        }
    } while (t < until && !stop_.load(std::memory_order_relaxed));
    return false;
}

// Notes each other worker's step count. With `compare`, first checks whether one is still in
// the step it was in last time, with processes waiting in its queue or next slot.
bool ThreadScheduler::watch_steps(Worker& w, bool compare) {
    w.watched_steps.resize(workers_.size(), 0);
    bool stale = false;
    for (std::size_t k = 0; k < workers_.size(); ++k) {
        if (k == w.index) {
            continue;
        }
        const Worker& other = *workers_[k];
        const std::uint64_t steps = other.steps.load(std::memory_order_relaxed);
        if (compare && steps == w.watched_steps[k] &&
            (queued(other) != 0 || other.next.load(std::memory_order_relaxed) != nullptr)) {
            stale = true;
        }
        w.watched_steps[k] = steps;
    }
    return stale;
}

// Returns true if the worker slept until its time limit, not woken (it may then take what stayed
// queued or in a next slot the whole time, see stale_interval). Lost wake-ups: a worker queues
// stealable work, then fences and reads parked_; this one increments parked_ under park_mutex_,
// then looks at every queue. Either the pusher sees this worker parked and wakes it, or this
// worker sees the work.
bool ThreadScheduler::park(Worker& w) {
    if (!w.retired.empty() || !w.exited.empty()) {
        reclaim(w);
    }
    watch_steps(w, false);  // Compared after a timed-out sleep (see stale_interval).
    std::unique_lock lock(park_mutex_);
    if (stop_.load(std::memory_order_relaxed)) {
        return false;
    }
    const unsigned parked = parked_.fetch_add(1, std::memory_order_seq_cst) + 1;
    w.parked = true;
    if (has_stealable_work()) {
        w.parked = false;
        parked_.fetch_sub(1, std::memory_order_seq_cst);
        return false;
    }
    w.seen.store(0, std::memory_order_release);
    if (parked == workers_.size() && idle()) {
        idle_cv_.notify_all();
    }
    // Sleeps until woken, until this worker's first timer is due, and, while another worker is
    // busy, at most park_interval.
    const auto awake = [&] {
        return !w.parked || w.retime || stop_.load(std::memory_order_relaxed);
    };
    bool others_busy = parked != workers_.size();
    for (;;) {
        const Ticks due = w.due.load(std::memory_order_relaxed);
        const Ticks t = now();
        if (due <= t) {
            break;
        }
        w.timed = others_busy;
        w.retime = false;
        if (others_busy || due != no_deadline) {
            std::chrono::nanoseconds limit(due - t);
            if (others_busy) {
                limit = std::min<std::chrono::nanoseconds>(limit, park_interval);
            }
            w.cv.wait_for(lock, limit, awake);
        } else {
            w.cv.wait(lock, awake);
        }
        if (!w.retime || !w.parked || stop_.load(std::memory_order_relaxed)) {
            break;
        }
        others_busy = true;
    }
    w.retime = false;
    const bool timed_out = w.parked;
    if (w.parked) {
        w.parked = false;
        parked_.fetch_sub(1, std::memory_order_seq_cst);
        if (w.due.load(std::memory_order_relaxed) <= now()) {
            // Woken by its own timer, this worker is about to be busy: a worker parked without a
            // time limit must now look for work now and then, as after wake_one.
            for (auto& other : workers_) {
                if (other->parked && !other->timed) {
                    other->retime = true;
                    other->cv.notify_one();
                }
            }
        }
    }
    lock.unlock();
    w.seen.store(epoch_.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
    return timed_out;
}

// steal_now or more processes in a queue, or any in the shared one. Fewer are their owner's to
// run (see steal_now); the owner is busy, so a worker that parks now parks with a time limit,
// and takes them when it wakes if they are still there.
bool ThreadScheduler::has_stealable_work() const noexcept {
    if (shared_size_.load(std::memory_order_seq_cst) != 0) {
        return true;
    }
    for (const auto& worker : workers_) {
        if (worker->tail.load(std::memory_order_seq_cst) -
                worker->head.load(std::memory_order_seq_cst) >=
            steal_now) {
            return true;
        }
    }
    return false;
}

// Wakes one parked worker, and every worker parked without a time limit: one worker is about to
// be busy, so the others must look for work now and then (see park).
void ThreadScheduler::wake_one() {
    const std::lock_guard lock(park_mutex_);
    bool woke = false;
    for (auto& worker : workers_) {
        if (worker->parked && (!woke || !worker->timed)) {
            worker->parked = false;
            parked_.fetch_sub(1, std::memory_order_seq_cst);
            worker->cv.notify_one();
            woke = true;
        }
    }
}

void ThreadScheduler::notify_parked() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (parked_.load(std::memory_order_relaxed) != 0) {
        wake_one();
    }
}

// Under park_mutex_. Every worker parked means none is running a process and every run queue
// is empty (the last to park looked at them all); wake-ups from outside the workers go to the
// shared queue, and the timers still armed will make more.
bool ThreadScheduler::idle() const noexcept {
    if (parked_.load(std::memory_order_seq_cst) != workers_.size() ||
        shared_size_.load(std::memory_order_seq_cst) != 0 ||
        armed_.load(std::memory_order_seq_cst) != 0) {
        return false;
    }
    return std::all_of(workers_.begin(), workers_.end(), [](const auto& worker) {
        return worker->pending.load(std::memory_order_acquire) == 0;
    });
}

void ThreadScheduler::run_until_idle() {
    std::unique_lock lock(park_mutex_);
    idle_cv_.wait(lock, [this] { return idle(); });
}

bool ThreadScheduler::run_until_idle_for(std::chrono::nanoseconds timeout) {
    std::unique_lock lock(park_mutex_);
    return idle_cv_.wait_for(lock, timeout, [this] { return idle(); });
}

// -- Trace ---------------------------------------------------------------------------------------

void ThreadScheduler::set_trace_listener(TraceListener* listener) {
    const std::lock_guard lock(trace_mutex_);
    if (listener == nullptr) {
        trace_ = nullptr;
        return;
    }
    if (!trace_owned_) {
        trace_owned_ = std::make_unique<Trace>(&trace_now_);
    }
    trace_owned_->set_listener(listener);
    trace_ = trace_owned_.get();
}

std::uint64_t ThreadScheduler::trace_events() {
    const std::lock_guard lock(trace_mutex_);
    return trace_owned_ ? trace_owned_->events() : 0;
}

void ThreadScheduler::record_shared(const TraceEvent& event) {
    const std::lock_guard lock(trace_mutex_);
    trace_now_ = now();
    trace_owned_->record(event);
}

// A process became runnable (spawned, or woken by a message). From a worker it goes to that
// worker's next slot; the process it displaces goes to the queue, where others can steal it.
void ThreadScheduler::schedule(detail::Proc* proc) {
    Worker* w = current();
    if (w == nullptr) {
        push_shared(proc);
        return;
    }
    if (detail::Proc* displaced = w->next.exchange(proc, std::memory_order_acq_rel)) {
        push_local(*w, displaced);
        if (queued(*w) >= steal_now) {  // Fewer are left to this worker.
            notify_parked();
        }
    }
}

// -- Run queues ----------------------------------------------------------------------------------

std::uint32_t ThreadScheduler::queued(const Worker& w) noexcept {
    return w.tail.load(std::memory_order_relaxed) - w.head.load(std::memory_order_relaxed);
}

void ThreadScheduler::push_local(Worker& w, detail::Proc* proc) {
    for (;;) {
        const std::uint32_t t = w.tail.load(std::memory_order_relaxed);
        std::uint32_t h = w.head.load(std::memory_order_acquire);
        if (t - h < ring_size) {
            w.ring[t & ring_mask].store(proc, std::memory_order_relaxed);
            w.tail.store(t + 1, std::memory_order_release);
            return;
        }
        // Full: move the older half to the shared queue, as a thief would take it.
        const std::uint32_t half = ring_size / 2;
        std::array<detail::Proc*, ring_size / 2> moved{};
        for (std::uint32_t i = 0; i < half; ++i) {
            moved[i] = w.ring[(h + i) & ring_mask].load(std::memory_order_relaxed);
        }
        if (!w.head.compare_exchange_strong(h, h + half, std::memory_order_acq_rel)) {
            continue;  // A thief made room.
        }
        {
            const std::lock_guard lock(shared_mutex_);
            shared_.insert(shared_.end(), moved.begin(), moved.end());
            shared_.push_back(proc);
            shared_size_.store(shared_.size(), std::memory_order_seq_cst);
        }
        return;
    }
}

detail::Proc* ThreadScheduler::pop_local(Worker& w) {
    std::uint32_t h = w.head.load(std::memory_order_acquire);
    for (;;) {
        if (h == w.tail.load(std::memory_order_relaxed)) {
            return nullptr;
        }
        detail::Proc* proc = w.ring[h & ring_mask].load(std::memory_order_relaxed);
        if (w.head.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
            return proc;
        }
    }
}

// Takes half of another worker's queue (into the thief's own, whose last entry it runs). The
// owner writes only slots at or past tail, which stay clear of [head, head + n) while head is
// unchanged, so the entries read before a successful compare-exchange are the ones taken.
detail::Proc* ThreadScheduler::steal_from(Worker& victim, Worker& thief, std::uint32_t at_least) {
    std::uint32_t h = victim.head.load(std::memory_order_acquire);
    for (;;) {
        const std::uint32_t t = victim.tail.load(std::memory_order_acquire);
        const std::uint32_t len = t - h;
        if (len < at_least) {
            return nullptr;
        }
        if (len > ring_size) {  // A stale head: read it again.
            h = victim.head.load(std::memory_order_acquire);
            continue;
        }
        const std::uint32_t n = len - len / 2;
        // The thief's queue is empty (it steals only then), so these slots are free; nothing
        // reads them until its tail moves.
        const std::uint32_t mine = thief.tail.load(std::memory_order_relaxed);
        for (std::uint32_t i = 0; i < n - 1; ++i) {
            thief.ring[(mine + i) & ring_mask].store(
                victim.ring[(h + i) & ring_mask].load(std::memory_order_relaxed),
                std::memory_order_relaxed);
        }
        detail::Proc* last = victim.ring[(h + n - 1) & ring_mask].load(std::memory_order_relaxed);
        if (victim.head.compare_exchange_weak(h, h + n, std::memory_order_acq_rel,
                                              std::memory_order_acquire)) {
            if (n > 1) {
                thief.tail.store(mine + n - 1, std::memory_order_release);
            }
            return last;
        }
    }
}

// Takes from another worker's queue when it holds steal_now or more; with `stale` (a worker was
// in one step the whole time this one watched), from any queue that is not empty, and then from
// the next slot of a worker still in the step it was watched in.
detail::Proc* ThreadScheduler::steal(Worker& thief, bool stale) {
    const std::size_t n = workers_.size();
    for (std::size_t k = 1; k < n; ++k) {
        Worker& victim = *workers_[(thief.index + k) % n];
        if (detail::Proc* proc = steal_from(victim, thief, stale ? 1 : steal_now)) {
            return proc;
        }
    }
    if (stale) {
        for (std::size_t k = 1; k < n; ++k) {
            Worker& victim = *workers_[(thief.index + k) % n];
            if (victim.steps.load(std::memory_order_relaxed) == thief.watched_steps[victim.index] &&
                victim.next.load(std::memory_order_relaxed) != nullptr) {
                if (detail::Proc* proc = victim.next.exchange(nullptr, std::memory_order_acq_rel)) {
                    return proc;
                }
            }
        }
    }
    return nullptr;
}

void ThreadScheduler::push_shared(detail::Proc* proc) {
    {
        const std::lock_guard lock(shared_mutex_);
        shared_.push_back(proc);
        shared_size_.store(shared_.size(), std::memory_order_seq_cst);
    }
    notify_parked();
}

// Takes one process to run and, when many wait, a fair share more into the worker's queue.
detail::Proc* ThreadScheduler::pop_shared(Worker& w) {
    if (shared_size_.load(std::memory_order_relaxed) == 0) {
        return nullptr;
    }
    const std::lock_guard lock(shared_mutex_);
    if (shared_.empty()) {
        return nullptr;
    }
    detail::Proc* proc = shared_.front();
    shared_.pop_front();
    const std::uint32_t room = ring_size - (w.tail.load(std::memory_order_relaxed) -
                                            w.head.load(std::memory_order_acquire));
    std::size_t more = std::min<std::size_t>(shared_.size() / workers_.size(), room / 2);
    while (more-- > 0) {
        const std::uint32_t t = w.tail.load(std::memory_order_relaxed);
        w.ring[t & ring_mask].store(shared_.front(), std::memory_order_relaxed);
        w.tail.store(t + 1, std::memory_order_release);
        shared_.pop_front();
    }
    shared_size_.store(shared_.size(), std::memory_order_seq_cst);
    if (!shared_.empty()) {
        notify_parked();  // Under shared_mutex_, which wake_one never takes.
    }
    return proc;
}

// -- Process table -------------------------------------------------------------------------------

ThreadScheduler::Slot& ThreadScheduler::slot(std::uint32_t index) noexcept {
    return segments_[index >> segment_bits].load(std::memory_order_acquire)[index &
                                                                            (segment_size - 1)];
}

void ThreadScheduler::take_slots(std::vector<std::uint32_t>& into, std::size_t count) {
    const std::lock_guard lock(slots_mutex_);
    while (count > 0 && !free_slots_.empty()) {
        into.push_back(free_slots_.back());
        free_slots_.pop_back();
        --count;
    }
    while (count-- > 0) {
        const std::uint32_t index = next_slot_;
        const std::size_t segment = index >> segment_bits;
        if (segment >= max_segments) {
            throw std::length_error("ThreadScheduler: process table full");
        }
        if (segments_[segment].load(std::memory_order_relaxed) == nullptr) {
            segments_[segment].store(new Slot[segment_size], std::memory_order_release);
        }
        ++next_slot_;
        into.push_back(index);
    }
}

std::uint64_t ThreadScheduler::new_pid_id() {
    std::uint32_t index = 0;
    if (Worker* w = current(); w != nullptr) {
        if (w->free_slots.empty()) {
            take_slots(w->free_slots, slot_batch);
        }
        index = w->free_slots.back();
        w->free_slots.pop_back();
    } else {
        std::vector<std::uint32_t> one;
        take_slots(one, 1);
        index = one.front();
    }
    Slot& s = slot(index);
    if (++s.generation == 0) {
        s.generation = 1;  // Generation 0 never names a process, so no id is 0.
    }
    return (std::uint64_t{s.generation} << 32U) | index;
}

// Release: whoever learns the pid (from a message, a name) and looks it up sees the process.
void ThreadScheduler::insert(detail::Proc* proc) {
    slot(static_cast<std::uint32_t>(proc->pid().id)).proc.store(proc, std::memory_order_release);
    if (Worker* w = current(); w != nullptr) {
        w->live.store(w->live.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    } else {
        outside_live_.fetch_add(1, std::memory_order_acq_rel);
    }
}

// Two loads and no reference count: a worker's lookups are covered by reclamation (the process
// is not freed before this worker's step ends); a lookup from another thread is counted in
// outside_readers_ until unpin().
detail::Proc* ThreadScheduler::acquire(Pid pid) {
    const auto index = static_cast<std::uint32_t>(pid.id);
    if (index == 0 || (index >> segment_bits) >= max_segments) {
        return nullptr;
    }
    if (current() != nullptr) {
        return lookup(pid);
    }
    outside_readers_.fetch_add(1, std::memory_order_seq_cst);
    detail::Proc* proc = lookup(pid);
    if (proc == nullptr) {
        outside_readers_.fetch_sub(1, std::memory_order_release);
    }
    return proc;
}

// A worker needs no pin: what it looks up stays valid until its next quiescent point.
inline detail::Proc* ThreadScheduler::lookup(Pid pid) const {
    const auto index = static_cast<std::uint32_t>(pid.id);
    if (index == 0 || (index >> segment_bits) >= max_segments) {
        return nullptr;
    }
    detail::Proc* proc = nullptr;
    if (Slot* segment = segments_[index >> segment_bits].load(std::memory_order_acquire)) {
        // seq_cst pairs with the fence in reclaim(): a worker back from parking sees the slot
        // emptied.
        proc = segment[index & (segment_size - 1)].proc.load(std::memory_order_seq_cst);
    }
    return proc != nullptr && proc->pid() == pid ? proc : nullptr;
}

void ThreadScheduler::unpin(detail::Proc* /*proc*/) noexcept {
    if (current() == nullptr) {
        outside_readers_.fetch_sub(1, std::memory_order_release);
    }
}

// No fence here: the one in reclaim(), before it reads who may still look, orders this store
// for every reader that could hold *proc.
void ThreadScheduler::remove(detail::Proc* proc) {
    const auto index = static_cast<std::uint32_t>(proc->pid().id);
    slot(index).proc.store(nullptr, std::memory_order_release);
    Worker* w = current();
    BEDLAM_ASSERT(w != nullptr);  // Processes end only in a step.
    w->live.store(w->live.load(std::memory_order_relaxed) - 1, std::memory_order_release);
    w->free_slots.push_back(index);  // Reusable now: the next pid there has a new generation.
    if (w->free_slots.size() > slot_cache) {
        const std::lock_guard lock(slots_mutex_);
        free_slots_.insert(free_slots_.end(), w->free_slots.end() - slot_batch,
                           w->free_slots.end());
        w->free_slots.resize(w->free_slots.size() - slot_batch);
    }
    retire(*w, proc);
}

// -- Reclamation ---------------------------------------------------------------------------------

void ThreadScheduler::retire(Worker& w, detail::Proc* proc) {
    w.exited.push_back(proc);
    if (w.exited.size() >= retire_batch) {
        const std::uint64_t epoch = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
        w.retired.push_back(Worker::Batch{epoch, std::move(w.exited)});
        w.exited.clear();
    }
}

void ThreadScheduler::note_quiescent(Worker& w) noexcept {
    w.seen.store(epoch_.load(std::memory_order_acquire), std::memory_order_release);
}

// Frees the batches every worker has moved past. Called between steps, so this worker's own
// epoch is current.
void ThreadScheduler::reclaim(Worker& w) {
    if (!w.exited.empty()) {
        const std::uint64_t epoch = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
        w.retired.push_back(Worker::Batch{epoch, std::move(w.exited)});
        w.exited.clear();
    }
    note_quiescent(w);
    // Orders this worker's remove()s (release stores) before the reads below. A worker back from
    // parking stores `seen` and then looks up pids, an outside reader counts itself and then
    // looks up, all sequentially consistent: either that store precedes this fence in the total
    // order, and the read below sees it (the batch waits), or the lookup follows the fence and
    // sees the slot emptied. One fence per reclaim, not one locked store per process.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::uint64_t oldest = std::numeric_limits<std::uint64_t>::max();
    for (const auto& worker : workers_) {
        const std::uint64_t seen = worker->seen.load(std::memory_order_seq_cst);
        if (seen != 0) {
            oldest = std::min(oldest, seen);
        }
    }
    if (outside_readers_.load(std::memory_order_seq_cst) != 0) {
        return;
    }
    while (!w.retired.empty() && w.retired.front().epoch <= oldest) {
        for (detail::Proc* proc : w.retired.front().procs) {
            proc->unref();
        }
        w.retired.pop_front();
    }
}

// -- Timers --------------------------------------------------------------------------------------
//
// A timer armed by a process goes to the heap of the worker it runs on, which fires it between
// steps (every timer_interval turns, and before it looks for work elsewhere) and sleeps no later
// than its first deadline. So arming and cancelling a time-out, the common case (a call answered
// in time, a child that stopped before its shutdown time-out), takes one uncontended lock and
// wakes no thread. A timer armed outside the workers goes to the timer thread's heap.

void ThreadScheduler::deliver(const detail::TimerQueue::Timer& timer) {
    if (timer.as_send) {
        send_signal(timer.target, timer.envelope);
    } else {
        push(timer.target, timer.envelope);
    }
}

// Fires the timers of `queue` due at `t`; with `try_only`, only if its lock is free (another
// worker's queue). True if any fired.
bool ThreadScheduler::fire_timers(Worker& queue, Ticks t, bool try_only) {
    bool fired = false;
    for (;;) {
        detail::TimerQueue::Timer timer;
        {
            std::unique_lock lock(queue.timer_mutex, std::defer_lock);
            if (try_only) {
                if (!lock.try_lock()) {
                    return fired;
                }
            } else {
                lock.lock();
            }
            if (queue.timers.empty() || queue.timers.top().deadline > t) {
                return fired;
            }
            timer = queue.timers.pop();
            queue.publish_timers();
        }
        deliver(timer);  // The target runs next on this worker.
        fired = true;
    }
}

void ThreadScheduler::fire_others_timers(Worker& w) {
    const Ticks t = now();
    for (auto& other : workers_) {
        if (other.get() != &w && other->due.load(std::memory_order_relaxed) <= t) {
            fire_timers(*other, t, true);
        }
    }
}

// A timer of the timer thread's heap went: if every worker is parked, the run may now be idle.
void ThreadScheduler::timer_done() {
    if (armed_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        parked_.load(std::memory_order_seq_cst) == workers_.size()) {
        notify_if_idle();
    }
}

void ThreadScheduler::notify_if_idle() {
    const std::lock_guard lock(park_mutex_);
    if (idle()) {
        idle_cv_.notify_all();
    }
}

// The timer thread fires the timers armed outside the workers, and runs an installed
// interposer's timed actions (a fault plan's kills). It polls for one every millisecond, since
// an interposer can be installed or reschedule at any time.
void ThreadScheduler::timer_loop() {
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
                timer_cv_.wait_for(lock, std::chrono::nanoseconds(interposer_poll));
            } else {
                timer_cv_.wait(lock);
            }
            continue;
        }
        const Ticks t = now();
        const Ticks deadline =
            hook != nullptr ? std::min(timers_.top().deadline, t + interposer_poll)
                            : timers_.top().deadline;
        if (deadline > t) {
            timer_cv_.wait_for(lock, std::chrono::nanoseconds(deadline - t));
            continue;
        }
        const detail::TimerQueue::Timer timer = timers_.pop();
        lock.unlock();
        deliver(timer);
        timer_done();  // After the push, which has woken a worker if the target was blocked.
        lock.lock();
    }
}

// The timer thread sleeps without a limit while it has no timers and no interposer; once one is
// installed it must start polling for its timed actions.
void ThreadScheduler::interposer_changed() noexcept {
    const std::lock_guard lock(timer_mutex_);
    timer_cv_.notify_all();
}

TimerRef ThreadScheduler::start_timer(Ticks delay, Pid target, detail::Envelope* e, bool as_send) {
    BEDLAM_ASSERT(delay >= 0);
    const Ticks deadline = now() + delay;
    if (Worker* w = current(); w != nullptr) {
        const std::lock_guard lock(w->timer_mutex);
        if (++w->timer_numbers == max_timer_number) {
            w->timer_numbers = 1;
        }
        const TimerRef ref = w->timers.add(deadline, w->timer_numbers, target, e, as_send);
        w->publish_timers();
        return tag(ref, w->index);
    }
    armed_.fetch_add(1, std::memory_order_seq_cst);
    const std::lock_guard lock(timer_mutex_);
    if (++outside_timer_numbers_ == max_timer_number) {
        outside_timer_numbers_ = 1;
    }
    const TimerRef ref = timers_.add(deadline, outside_timer_numbers_, target, e, as_send);
    if (timers_.top().deadline == deadline) {
        timer_cv_.notify_one();
    }
    return tag(ref, outside_queue);
}

std::optional<detail::TimerQueue::Timer> ThreadScheduler::take_timer(TimerRef ref) {
    const std::uint64_t queue = ref.id & outside_queue;
    const TimerRef queue_ref{ref.id >> queue_bits};
    std::optional<detail::TimerQueue::Timer> timer;
    if (queue == outside_queue) {
        {
            const std::lock_guard lock(timer_mutex_);
            timer = timers_.remove(queue_ref);
        }
        if (timer) {
            timer_done();
        }
    } else if (queue < workers_.size()) {
        Worker& w = *workers_[queue];
        {
            const std::lock_guard lock(w.timer_mutex);
            timer = w.timers.remove(queue_ref);
            w.publish_timers();
        }
        if (timer && current() == nullptr) {
            notify_if_idle();  // Only a worker's cancel can leave the run busy.
        }
    }
    if (timer) {
        dispose(timer->envelope);
    }
    return timer;
}

std::optional<Ticks> ThreadScheduler::cancel_timer(TimerRef ref) {
    const std::optional<detail::TimerQueue::Timer> timer = take_timer(ref);
    if (!timer) {
        return std::nullopt;
    }
    return std::max<Ticks>(0, timer->deadline - now());
}

void ThreadScheduler::drop_timer(TimerRef ref) { static_cast<void>(take_timer(ref)); }

}  // namespace bedlam
