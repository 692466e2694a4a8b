// Runtime: what both schedulers share. It owns process identity (pids, references), the name
// registry, signal delivery (with the trace and interposition points) and spawning. A scheduler
// (Simulator, ThreadScheduler) supplies the process table, the run queue and the clock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "bedlam/runtime/interposer.hpp"
#include "bedlam/runtime/message.hpp"
#include "bedlam/runtime/process.hpp"
#include "bedlam/runtime/trace.hpp"
#include "bedlam/runtime/types.hpp"

namespace bedlam {

namespace detail {

template <typename T>
constexpr void check_message_type() {
    static_assert(std::is_move_constructible_v<std::remove_cvref_t<T>>,
                  "a message must be movable");
    static_assert(!std::is_lvalue_reference_v<T> ||
                      std::is_trivially_copyable_v<std::remove_cvref_t<T>>,
                  "messages are moved, never copied: pass std::move(x) or a temporary");
}

template <typename F>
constexpr void check_body_type() {
    static_assert(std::is_empty_v<F> || std::is_pointer_v<F>,
                  "a process body must be a function or a lambda without captures: a capturing "
                  "lambda coroutine would outlive its captures. Pass state as spawn arguments.");
}

}  // namespace detail

class Runtime {
public:
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    virtual ~Runtime() = default;

    // -- From outside any process -----------------------------------------------------------------
    /// Starts a process with no parent. See Self::spawn.
    template <typename F, typename... Args>
    Pid spawn(F body, Args... args) {
        return spawn_process(nullptr, SpawnOptions{}, nullptr, std::move(body),
                             std::move(args)...);
    }
    /// Sends a message from outside (the sender is Pid{}).
    template <typename T>
    void send(Pid to, T&& msg) {
        detail::check_message_type<T>();
        send_signal(to, box(Pid{}, std::forward<T>(msg)));
    }
    /// exit/2 from outside (the sender is Pid{}).
    void exit(Pid to, const ExitReason& reason);
    [[nodiscard]] bool is_alive(Pid pid);
    bool register_name(std::string_view name, Pid pid);
    bool unregister_name(std::string_view name);
    [[nodiscard]] std::optional<Pid> whereis(std::string_view name) const;

    /// The scheduler's clock in nanoseconds.
    [[nodiscard]] virtual Ticks now() const = 0;
    /// Runs until no process can make progress and no timer is pending.
    virtual void run_until_idle() = 0;
    /// Number of live processes.
    [[nodiscard]] virtual std::size_t process_count() const = 0;

    /// Installs `interposer` (not owned; nullptr removes it) before processes run.
    void set_interposer(Interposer* interposer) noexcept {
        interposer_.store(interposer, std::memory_order_release);
        interposer_changed();
    }

    // -- The supervision tree and process kinds -------------------------------------------------
    /// The path of a live process in the supervision tree ("app/pool/conn1"); empty if it has
    /// none or is not alive.
    [[nodiscard]] std::string path_of(Pid pid);
    /// What a live process runs; nullopt if it is not alive.
    [[nodiscard]] std::optional<ProcessKind> kind_of(Pid pid);
    /// A stable copy of `path`, shared by every process at that place.
    const std::string* intern_path(std::string_view path);
    /// Ends a stall an interposer put `pid` in (ResumeDecision::stall), however long it was.
    void wake(Pid pid);
    /// Adds interposer hooks (Watch bits) for a live process.
    void watch(Pid pid, std::uint8_t hooks);

    // -- Internal: used by Self and detail::Proc ----------------------------------------------------
    template <typename F, typename... Args>
    Pid spawn_process(detail::Proc* parent, SpawnOptions options, MonitorRef* ref_out, F body,
                      Args... args) {
        detail::check_body_type<F>();
        auto* proc = new detail::Proc(this, Pid{single_threaded_ ? next(next_pid_) : new_pid_id()});
        proc->set_labels(parent != nullptr ? parent->child_path() : nullptr, options.kind);
        Process process = std::invoke(body, Self(proc), std::move(args)...);
        proc->set_body(process.release());
        return finish_spawn(proc, parent, options, ref_out);
    }

    template <typename T>
    detail::Envelope* box(Pid from, T&& msg) {
        auto* e = make<detail::Boxed<std::remove_cvref_t<T>>>(std::forward<T>(msg));
        e->from = from;
        return e;
    }
    /// Creates an envelope (from the pool on a single-threaded runtime).
    template <typename E, typename... Args>
    E* make(Args&&... args) {
        return detail::make_envelope<E>(pool_, std::forward<Args>(args)...);
    }
    /// Destroys an envelope made by make().
    void dispose(detail::Envelope* e) noexcept { detail::dispose(pool_, e); }
    void dispose_list(detail::Envelope* e) noexcept { detail::dispose_list(pool_, e); }
    detail::EnvelopePool* pool() const noexcept { return pool_; }

    /// Sends a signal: traces it, consults the interposer, then pushes it. Returns false if the
    /// receiver does not exist (the envelope is then destroyed).
    bool send_signal(Pid to, detail::Envelope* e);
    /// Pushes a signal onto `to`'s inbox, waking it if it sleeps. No trace, no interposer.
    bool push(Pid to, detail::Envelope* e);
    /// Pushes `first` then `second` onto `to`'s inbox, on a multi-threaded runtime that neither
    /// traces nor has an interposer (the caller checks). False, both destroyed, if `to` did not
    /// take `first`.
    bool push_pair(Pid to, detail::Envelope* first, detail::Envelope* second) {
        BEDLAM_ASSERT(!single_threaded_ && trace_ == nullptr && interposer() == nullptr);
        return push_concurrent_pair(to, first, second);
    }
    /// On a multi-threaded runtime that neither traces nor has an interposer (the caller
    /// checks): pushes the exit signal `e` to `to` only if `to` sleeps and the running step
    /// could run it at once. Returns `to` then, woken and not scheduled: the caller may push
    /// more to it (it cannot run yet) and must then pass it to run_claimed. nullptr, with
    /// nothing pushed, otherwise (then `e` is still the caller's).
    detail::Proc* claim_sleeping(Pid to, detail::Envelope* e) {
        BEDLAM_ASSERT(!single_threaded_ && trace_ == nullptr && interposer() == nullptr);
        return claim_sleeping_concurrent(to, e);
    }
    /// Runs a process claim_sleeping returned within the running step if it does not trap exits
    /// (true: it has taken its exit signal), else schedules it (false).
    virtual bool run_claimed(detail::Proc* proc) {
        schedule(proc);
        return false;
    }
    /// A reference unique within the run. The simulator numbers them in order; a threaded
    /// scheduler hands each worker a block, so that a reference costs no shared atomic.
    MonitorRef new_ref() noexcept {
        return MonitorRef{single_threaded_ ? next(next_ref_) : new_ref_after(0)};
    }
    /// A reference greater than `floor` (a process's last monitor reference, so that the
    /// monitors one process sets are numbered in the order it set them, whichever worker it ran
    /// on: a target that dies sends their DOWNs in that order).
    MonitorRef new_ref(std::uint64_t floor) noexcept {
        return MonitorRef{single_threaded_ ? next(next_ref_) : new_ref_after(floor)};
    }
    void trace(const TraceEvent& event) {
        if (trace_ != nullptr) {
            if (single_threaded_) {
                trace_->record(event);
            } else {
                record_shared(event);
            }
        }
    }
    /// How many receives a process may complete in one step before it yields (BEAM's reduction
    /// budget): a process whose mailbox never empties cannot starve the others.
    [[nodiscard]] std::uint32_t receive_budget() const noexcept { return receive_budget_; }
    void set_receive_budget(std::uint32_t budget) noexcept {
        BEDLAM_ASSERT(budget > 0);
        receive_budget_ = budget;
    }
    /// True for the simulator: every process runs on one thread, so inboxes and reference
    /// counts skip their atomic read-modify-writes.
    [[nodiscard]] bool single_threaded() const noexcept { return single_threaded_; }
    /// Pushes onto a process's inbox by the scheduler's threading model.
    detail::Inbox::Push push_to(detail::Proc* proc, detail::Envelope* e) noexcept {
        return single_threaded_ ? proc->inbox().push_local(e) : proc->inbox().push(e);
    }
    [[nodiscard]] bool tracing() const noexcept { return trace_ != nullptr; }
    Interposer* interposer() const noexcept {
        return interposer_.load(std::memory_order_acquire);
    }

    /// Arms a timer that delivers `e` to `target` after `delay`: through send_signal (traced and
    /// interposed, as for send_after) if `as_send`, else pushed directly (receive time-outs and
    /// signals already delayed in flight).
    virtual TimerRef start_timer(Ticks delay, Pid target, detail::Envelope* e, bool as_send) = 0;
    /// Cancels a timer; the time that was left, or nullopt if it fired or is unknown.
    virtual std::optional<Ticks> cancel_timer(TimerRef ref) = 0;
    /// Cancels a timer when no one asks what was left (a receive time-out that a message beat):
    /// a threaded scheduler then reads no clock.
    virtual void drop_timer(TimerRef ref) { static_cast<void>(cancel_timer(ref)); }
    /// A process ended: drop it from the table (releasing the table's reference).
    virtual void remove(detail::Proc* proc) = 0;
    /// Releases the name `proc` holds, if any (before its link and monitor signals go, §1.8).
    void release_name(detail::Proc* proc);

protected:
    explicit Runtime(bool single_threaded) noexcept : single_threaded_(single_threaded) {}

    /// Returns the process, or nullptr if it is not alive. On a multi-threaded runtime the
    /// process stays valid until the caller gives it back with release().
    virtual detail::Proc* acquire(Pid pid) = 0;
    void release(detail::Proc* proc) noexcept {
        if (!single_threaded_) {
            unpin(proc);
        }
    }
    /// release() on a multi-threaded runtime.
    virtual void unpin(detail::Proc* /*proc*/) noexcept {}
    /// push() on a multi-threaded runtime, which may hold messages back to push several with
    /// one compare-and-swap (ThreadScheduler: a contended receiver). Defaults to push()'s
    /// single-threaded steps.
    virtual bool push_concurrent(Pid to, detail::Envelope* e) {
        detail::Proc* proc = acquire(to);
        const bool pushed = push_acquired(proc, to, e);
        if (proc != nullptr) {
            release(proc);
        }
        return pushed;
    }
    /// Pushes `first` then `second` to `to` on a multi-threaded runtime, with no trace and no
    /// interposer. False (both destroyed) if `to` did not take `first`; `second` is then not
    /// sent, as to a process that no longer exists.
    virtual bool push_concurrent_pair(Pid to, detail::Envelope* first, detail::Envelope* second) {
        if (!push_concurrent(to, first)) {
            dispose(second);
            return false;
        }
        push_concurrent(to, second);
        return true;
    }
    /// claim_sleeping(): a runtime that cannot run another process within a step claims none.
    virtual detail::Proc* claim_sleeping_concurrent(Pid /*to*/, detail::Envelope* /*e*/) {
        return nullptr;
    }
    /// new_ref() on a multi-threaded runtime: a reference greater than `floor`. The default takes
    /// the next from the run's counter.
    virtual std::uint64_t new_ref_after(std::uint64_t /*floor*/) noexcept {
        return take_refs(1);
    }
    /// Takes `n` consecutive references from the run's counter, past every one taken before.
    std::uint64_t take_refs(std::uint64_t n) noexcept {
        return next_ref_.fetch_add(n, std::memory_order_relaxed);
    }
    /// Pushes what push_concurrent held back, before a signal that takes another path.
    virtual void flush_sends() {}
    /// trace() on a multi-threaded runtime: events come from every worker at once.
    virtual void record_shared(const TraceEvent& /*event*/) {}
    /// After set_interposer: a scheduler that runs the interposer's timed actions on a thread of
    /// its own wakes that thread to look.
    virtual void interposer_changed() noexcept {}
    /// A new pid's id on a multi-threaded runtime (the simulator numbers pids in spawn order).
    virtual std::uint64_t new_pid_id() { return next(next_pid_); }
    /// Adds a new process to the table (the table holds the initial reference).
    virtual void insert(detail::Proc* proc) = 0;
    /// Makes a process runnable. Called once per transition out of blocked, and at spawn.
    virtual void schedule(detail::Proc* proc) = 0;
    /// A new process spawned with SpawnOptions::eager: schedules it, or runs its first step now.
    virtual void schedule_eager(detail::Proc* proc) { schedule(proc); }

    std::uint64_t new_seq() noexcept { return next(next_seq_); }
    std::uint64_t new_timer_id() noexcept {
        return next(next_timer_);
    }

    Trace* trace_ = nullptr;
    detail::EnvelopePool* pool_ = nullptr;  // Set by single-threaded runtimes.

private:
    /// Takes the next value of a run-wide counter. A locked read-modify-write costs about 20
    /// cycles, a fifth of a simulated message, so the single-threaded runtime does without.
    std::uint64_t next(std::atomic<std::uint64_t>& counter) noexcept {
        if (single_threaded_) {
            const std::uint64_t v = counter.load(std::memory_order_relaxed);
            counter.store(v + 1, std::memory_order_relaxed);
            return v;
        }
        return counter.fetch_add(1, std::memory_order_relaxed);
    }

    Pid finish_spawn(detail::Proc* proc, detail::Proc* parent, SpawnOptions options,
                     MonitorRef* ref_out);
    /// push() for a process already acquired (nullptr: not alive); does not release it.
    bool push_acquired(detail::Proc* proc, Pid to, detail::Envelope* e);
    /// push() on a single-threaded runtime.
    bool push_single(Pid to, detail::Envelope* e);

    const bool single_threaded_;
    std::uint32_t receive_budget_ = 64;
    std::atomic<std::uint64_t> next_pid_{1};
    std::atomic<std::uint64_t> next_ref_{1};
    std::atomic<std::uint64_t> next_seq_{1};
    std::atomic<std::uint64_t> next_timer_{1};
    std::atomic<Interposer*> interposer_{nullptr};

    std::mutex paths_mutex_;
    std::set<std::string, std::less<>> paths_;  // Interned paths; guarded by paths_mutex_.

    mutable std::mutex names_mutex_;
    std::map<std::string, Pid, std::less<>> names_;  // Guarded by names_mutex_.
    std::map<Pid, std::string> name_of_;             // Guarded by names_mutex_.

    friend class detail::Proc;
};

// On the message path of every send: inline, so that push() and send_signal() pay no call.
[[gnu::always_inline]] inline bool Runtime::push_acquired(detail::Proc* proc, Pid to,
                                                       detail::Envelope* e) {
    if (proc == nullptr) {
        trace({TraceKind::drop, e->from, to, e->seq, nullptr, "noproc"});
        dispose(e);
        return false;
    }
    const detail::Inbox::Push result = push_to(proc, e);
    if (result == detail::Inbox::Push::woke) {
        schedule(proc);
    }
    if (result == detail::Inbox::Push::closed) {
        trace({TraceKind::drop, e->from, to, e->seq, nullptr, "noproc"});
        dispose(e);
        return false;
    }
    return true;
}

// Inline, so that a send reaches the scheduler's push with one call, saving no registers.
inline bool Runtime::push(Pid to, detail::Envelope* e) {
    return single_threaded_ ? push_single(to, e) : push_concurrent(to, e);
}

// -- Self's templates ------------------------------------------------------------------------------

template <typename T>
void Self::send(Pid to, T&& msg) const {
    detail::check_message_type<T>();
    runtime().send_signal(to, runtime().box(pid(), std::forward<T>(msg)));
}

template <typename T>
void Self::send(std::string_view name, T&& msg) const {
    detail::check_message_type<T>();
    const std::optional<Pid> to = runtime().whereis(name);
    if (!to) {
        throw std::invalid_argument("badarg: no process registered as " + std::string(name));
    }
    runtime().send_signal(*to, runtime().box(pid(), std::forward<T>(msg)));
}

template <typename F, typename... Args>
Pid Self::spawn(F body, Args... args) const {
    return runtime().spawn_process(proc_, SpawnOptions{}, nullptr, std::move(body),
                                   std::move(args)...);
}

template <typename F, typename... Args>
Pid Self::spawn_link(F body, Args... args) const {
    return runtime().spawn_process(proc_, SpawnOptions{.link = true}, nullptr, std::move(body),
                                   std::move(args)...);
}

template <typename F, typename... Args>
std::pair<Pid, MonitorRef> Self::spawn_monitor(F body, Args... args) const {
    MonitorRef ref;
    const Pid pid = runtime().spawn_process(proc_, SpawnOptions{.monitor = true}, &ref,
                                            std::move(body), std::move(args)...);
    return {pid, ref};
}

template <typename F, typename... Args>
std::pair<Pid, MonitorRef> Self::spawn_opt(SpawnOptions options, F body, Args... args) const {
    MonitorRef ref;
    const Pid pid = runtime().spawn_process(proc_, options, options.monitor ? &ref : nullptr,
                                            std::move(body), std::move(args)...);
    return {pid, ref};
}

template <typename T>
Message Self::message(T&& value) const {
    return Message(proc_, runtime().box(pid(), std::forward<T>(value)));
}

template <typename T>
TimerRef Self::send_after(Duration d, Pid to, T&& msg) const {
    detail::check_message_type<T>();
    BEDLAM_ASSERT(d.count() >= 0);
    return runtime().start_timer(d.count(), to, runtime().box(pid(), std::forward<T>(msg)),
                                 true);
}

// -- Fault points and external services ------------------------------------------------------------

/// Whether the fault point `name` fails now: asks the interposer (a fault plan), if one is
/// installed and this thread is running a process; otherwise false. Use BEDLAM_FAULT_POINT.
inline bool fault_point(std::string_view name) {
    detail::Proc* proc = detail::current_proc;
    if (proc == nullptr) {
        return false;
    }
    Interposer* hook = proc->runtime().interposer();
    return hook != nullptr && hook->fault_point(proc->pid(), name);
}

/// Whether the external service `name` (a database, a socket's peer) is reachable now. Always
/// true unless a fault plan has taken it down: code that depends on a service asks this first
/// and fails as it would if the connection were refused.
inline bool service_available(std::string_view name) {
    detail::Proc* proc = detail::current_proc;
    if (proc == nullptr) {
        return true;
    }
    Interposer* hook = proc->runtime().interposer();
    return hook == nullptr || hook->service_available(proc->pid(), name);
}

}  // namespace bedlam

/// A named site in user code that a fault plan can make fail, as FoundationDB's BUGGIFY:
/// `if (BEDLAM_FAULT_POINT("db.write")) throw WriteError();`. With no plan installed it costs a
/// thread-local load and a predictable branch; defining BEDLAM_NO_FAULT_POINTS compiles every
/// site out.
#ifdef BEDLAM_NO_FAULT_POINTS
#define BEDLAM_FAULT_POINT(name) false
#else
#define BEDLAM_FAULT_POINT(name) ::bedlam::fault_point(name)
#endif
