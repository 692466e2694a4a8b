// Processes: the coroutine type a process body returns (Process), nested coroutines a process
// awaits (Async<T>), the per-process control block (detail::Proc), and the handle a process uses
// to act on the world (Self). The same code runs on the simulator and on the threaded scheduler.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "bedlam/runtime/assert.hpp"
#include "bedlam/runtime/block_pool.hpp"
#include "bedlam/runtime/flat_map.hpp"
#include "bedlam/runtime/interposer.hpp"
#include "bedlam/runtime/message.hpp"
#include "bedlam/runtime/types.hpp"

namespace bedlam {

class Runtime;
class Self;

/// Raised by Self::link when the target does not exist and the caller does not trap exits
/// (otp-semantics §1.6). Uncaught, it ends the process with reason `noproc`.
struct NoProcError : std::runtime_error {
    NoProcError() : std::runtime_error("noproc") {}
};

namespace detail {
class Proc;
}

/// A received message of any type, owned: a receive clause that takes a `Message` accepts every
/// message. Ask it what it holds with is<T>() and get<T>(). Behaviours use it to take requests
/// whose types only the callback knows.
class Message {
public:
    Message() = default;
    Message(detail::Proc* owner, detail::Envelope* e) noexcept : owner_(owner), e_(e) {}
    Message(Message&& other) noexcept
        : owner_(other.owner_), e_(std::exchange(other.e_, nullptr)), owned_(other.owned_) {}
    Message& operator=(Message&& other) noexcept {
        if (this != &other) {
            reset();
            owner_ = other.owner_;
            e_ = std::exchange(other.e_, nullptr);
            owned_ = other.owned_;
        }
        return *this;
    }
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;
    ~Message() { reset(); }

    /// A view of an envelope that someone else owns (receive guards get one).
    static Message view(const detail::Envelope* e) noexcept {
        Message m(nullptr, const_cast<detail::Envelope*>(e));
        m.owned_ = false;
        return m;
    }

    [[nodiscard]] bool empty() const noexcept { return e_ == nullptr; }
    template <typename T>
    [[nodiscard]] bool is() const noexcept {
        return e_ != nullptr && e_->tag == detail::tag_of<T>();
    }
    /// The payload if it is a T, else nullptr.
    template <typename T>
    [[nodiscard]] T* get() noexcept {
        return is<T>() ? &static_cast<detail::Boxed<T>*>(e_)->value : nullptr;
    }
    template <typename T>
    [[nodiscard]] const T* get() const noexcept {
        return is<T>() ? &static_cast<const detail::Boxed<T>*>(e_)->value : nullptr;
    }
    /// The sender (Pid{} for messages from outside and for timers set from outside).
    [[nodiscard]] Pid from() const noexcept { return e_ != nullptr ? e_->from : Pid{}; }
    [[nodiscard]] bool is_call() const noexcept { return has_flag(detail::Envelope::call_flag); }
    [[nodiscard]] bool is_cast() const noexcept { return has_flag(detail::Envelope::cast_flag); }
    [[nodiscard]] bool is_reply() const noexcept {
        return has_flag(detail::Envelope::reply_flag);
    }
    /// For a call or a reply: the reference that pairs them.
    [[nodiscard]] MonitorRef ref() const noexcept {
        return e_ != nullptr ? MonitorRef{e_->aux} : MonitorRef{};
    }

    [[nodiscard]] detail::Envelope* envelope() const noexcept { return e_; }
    /// Gives up ownership of the envelope (to forward it).
    detail::Envelope* release() noexcept { return std::exchange(e_, nullptr); }

private:
    [[nodiscard]] bool has_flag(std::uint8_t flag) const noexcept {
        return e_ != nullptr && (e_->flags & flag) != 0;
    }
    void reset() noexcept;

    detail::Proc* owner_ = nullptr;
    detail::Envelope* e_ = nullptr;
    bool owned_ = true;
};

/// The exit reason an exception stands for: an ExitException's reason, `noproc` for
/// NoProcError, error(what()) for other std::exceptions.
ExitReason exit_reason_of(const std::exception_ptr& error);

/// The return type of a process body: `Process body(Self self, Args... args)`.
class [[nodiscard]] Process {
public:
    struct promise_type : detail::Pooled {
        Process get_return_object() noexcept {
            return Process(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        std::suspend_always final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() noexcept { error = std::current_exception(); }

        std::exception_ptr error;
    };
    using Handle = std::coroutine_handle<promise_type>;

    Process(Process&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    Process& operator=(Process&&) = delete;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process() {
        if (handle_) {
            handle_.destroy();
        }
    }

    Handle release() noexcept { return std::exchange(handle_, {}); }

private:
    explicit Process(Handle h) noexcept : handle_(h) {}
    Handle handle_;
};

/// A coroutine a process awaits: `Async<int> f(Self self); ... int x = co_await f(self);`.
/// Receives inside it suspend the whole process. Exceptions propagate to the awaiter.
template <typename T = void>
class [[nodiscard]] Async {
    struct PromiseBase : detail::Pooled {
        std::coroutine_handle<> continuation;
        std::exception_ptr error;

        std::suspend_always initial_suspend() const noexcept { return {}; }
        auto final_suspend() const noexcept {
            struct Final {
                bool await_ready() const noexcept { return false; }
                std::coroutine_handle<> await_suspend(
                    std::coroutine_handle<> h) const noexcept {
                    return cont ? cont : std::noop_coroutine();
                    static_cast<void>(h);
                }
                void await_resume() const noexcept {}
                std::coroutine_handle<> cont;
            };
            return Final{continuation};
        }
        void unhandled_exception() noexcept { error = std::current_exception(); }
    };
    struct ValuePromise : PromiseBase {
        template <typename U>
        void return_value(U&& v) {
            value.emplace(std::forward<U>(v));
        }
        std::optional<T> value;
    };
    struct VoidPromise : PromiseBase {
        void return_void() const noexcept {}
    };

public:
    struct promise_type : std::conditional_t<std::is_void_v<T>, VoidPromise, ValuePromise> {
        Async get_return_object() noexcept {
            return Async(std::coroutine_handle<promise_type>::from_promise(*this));
        }
    };
    using Handle = std::coroutine_handle<promise_type>;

    Async(Async&& other) noexcept
        : handle_(std::exchange(other.handle_, {})), ready_(std::move(other.ready_)) {}
    Async& operator=(Async&&) = delete;
    Async(const Async&) = delete;
    Async& operator=(const Async&) = delete;
    ~Async() {
        if (handle_) {
            handle_.destroy();
        }
    }

    /// An Async that holds its result already: awaiting it neither suspends nor allocates. For
    /// a function with an asynchronous signature that often has its answer at once.
    template <typename U = T>
        requires(!std::is_void_v<U>)
    static Async ready(U value) {
        Async a;
        a.ready_.emplace(std::move(value));
        return a;
    }
    template <typename U = T>
        requires std::is_void_v<U>
    static Async ready() noexcept {
        return Async();
    }

    bool await_ready() const noexcept { return !handle_; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        handle_.promise().continuation = awaiting;
        return handle_;
    }
    T await_resume() {
        if (!handle_) {
            if constexpr (!std::is_void_v<T>) {
                return std::move(*ready_);
            } else {
                return;
            }
        }
        auto& p = handle_.promise();
        if (p.error) {
            std::rethrow_exception(p.error);
        }
        if constexpr (!std::is_void_v<T>) {
            return std::move(*p.value);
        }
    }

    /// What `co_await std::move(a).caught()` gives: the value, or the exception the coroutine
    /// ended with (not rethrown). For a caller that turns a failure into a result without a
    /// try block around its co_await, and so without a coroutine frame of its own for it.
    struct Outcome {
        std::optional<std::conditional_t<std::is_void_v<T>, std::monostate, T>> value;
        std::exception_ptr error;
    };
    [[nodiscard]] auto caught() && noexcept {
        struct Awaiter {
            bool await_ready() const noexcept { return async.await_ready(); }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
                return async.await_suspend(awaiting);
            }
            Outcome await_resume() {
                Outcome out;
                if (!async.handle_) {
                    if constexpr (std::is_void_v<T>) {
                        out.value.emplace();
                    } else {
                        out.value.emplace(std::move(*async.ready_));
                    }
                    return out;
                }
                auto& p = async.handle_.promise();
                if (p.error) {
                    out.error = p.error;
                } else if constexpr (std::is_void_v<T>) {
                    out.value.emplace();
                } else {
                    out.value.emplace(std::move(*p.value));
                }
                return out;
            }
            Async async;
        };
        return Awaiter{std::move(*this)};
    }

private:
    struct NoValue {};

    Async() noexcept = default;
    explicit Async(Handle h) noexcept : handle_(h) {}
    Handle handle_;
    // The result of an Async made by ready(), which has no coroutine (handle_ is null).
    [[no_unique_address]] std::conditional_t<std::is_void_v<T>, NoValue, std::optional<T>> ready_;
};

namespace detail {

/// Finds the first clause that accepts an envelope: returns its index + 1, or 0.
struct Matcher {
    std::size_t (*fn)(const void* ctx, const Envelope* e) = nullptr;
    const void* ctx = nullptr;
};

/// What a step of a process ended in.
enum class StepResult : std::uint8_t { runnable, blocked, exited };

/// Links, monitors and other state most processes never touch, allocated on first use so that
/// a plain process stays small.
struct ProcLinks : Pooled {
    FlatMap64<Pid> links;         // Linked peers: pid id -> pid.
    FlatMap64<Pid> monitors_out;  // Monitors this process holds: ref id -> target.
    FlatMap64<Pid> monitors_in;   // Monitors on this process: ref id -> watcher.
    const std::string* path = nullptr;        // Its place in the supervision tree.
    const std::string* child_path = nullptr;  // See Proc::set_child_path.
    std::uint32_t stall_seq = 0;  // Numbers stalls, so that a stale wake is ignored.
    std::uint64_t last_monitor_ref = 0;  // The last it set: the next is greater (new_ref).
};

/// The control block of one process. Only inbox_, refs_ and has_name_ are touched by other
/// threads (they push, count references, register names); every other field belongs to the
/// thread that is running the process.
class Proc : public Pooled {
    /// Where an interposer's stall stands (ResumeDecision::stall).
    enum class Stall : std::uint8_t {
        none,
        stalled,  // Waits for a wake signal; takes no message.
        granted,  // Woken: resumes once without asking the interposer again.
    };

public:
    Proc(Runtime* runtime, Pid pid) noexcept : runtime_(runtime), pid_(pid) {}
    Proc(const Proc&) = delete;
    Proc& operator=(const Proc&) = delete;
    ~Proc();

    [[nodiscard]] Pid pid() const noexcept { return pid_; }
    [[nodiscard]] Runtime& runtime() const noexcept { return *runtime_; }
    Inbox& inbox() noexcept { return inbox_; }

    void ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void unref() noexcept {
        // The last reference, the common case, needs no read-modify-write: only a holder takes
        // another, so none can appear once the count reads 1.
        if (refs_.load(std::memory_order_acquire) == 1 ||
            refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

    // -- Set-up, before the process first runs -------------------------------------------------
    void set_body(Process::Handle top) noexcept {
        top_ = top;
        resume_point_ = top;
    }
    ProcLinks& links();
    /// Where the process sits in the supervision tree (interned by the runtime; null if
    /// nowhere) and what it runs.
    void set_labels(const std::string* path, ProcessKind kind) {
        if (path != nullptr) {
            links().path = path;
        }
        kind_ = kind;
    }

    // -- Driven by the scheduler ---------------------------------------------------------------
    /// Handles pending signals, then resumes the coroutine if it can make progress.
    StepResult step();
    /// Ends a process that never ran to completion, without sending any signal (runtime
    /// teardown).
    void discard() noexcept;
    /// True if the process waits in a receive with no time-out (deadlock reporting).
    [[nodiscard]] bool waits_forever() const noexcept { return receiving_ && !timer_.valid(); }
    [[nodiscard]] bool receiving() const noexcept { return receiving_; }
    [[nodiscard]] std::size_t mailbox_size() const noexcept;

    // -- Called by the process through Self -----------------------------------------------------
    bool begin_receive(Matcher matcher, Ticks timeout);
    /// A receive that completes now or not at all: true if a message in the mailbox matches
    /// (then take_matched gives it, as after begin_receive). False if none does, if the process
    /// is exiting, or if the step's receive budget would be spent; nothing is armed or changed.
    bool receive_now(Matcher matcher);
    void suspend_receive(std::coroutine_handle<> h);
    void suspend_yield(std::coroutine_handle<> h) noexcept {
        resume_point_ = h;
        yielded_ = true;
    }
    [[nodiscard]] bool timed_out() const noexcept { return timed_out_; }
    Envelope* take_matched(std::size_t& index) noexcept {
        index = matched_index_;
        return std::exchange(matched_, nullptr);
    }
    /// Destroys an envelope taken from this process's mailbox.
    void dispose(Envelope* e) noexcept;
    [[nodiscard]] bool trap_exit() const noexcept { return trap_exit_; }
    bool set_trap_exit(bool on) noexcept { return std::exchange(trap_exit_, on); }
    /// Moves pending signals into the mailbox, applying exit-signal rules (§1.3).
    void drain();
    /// Takes a message, DOWN or exit signal from a process whose step runs inside this one's
    /// (ThreadScheduler::run_nested), on this process's thread, without the inbox's atomic push:
    /// what is pending goes first, then `e` is handled as drain would. False, with `e` untouched,
    /// for other signals or once this process is dying: push it then.
    bool take_from_nested(Envelope* e);
    /// Removes the first DOWN message for `ref` from the mailbox; true if one was there.
    bool flush_down(MonitorRef ref) noexcept;
    /// Removes the first EXIT message from `from` from the mailbox; true if one was there.
    bool flush_exit(Pid from) noexcept;
    [[nodiscard]] bool has_pending_exit() const noexcept { return pending_exit_ != nullptr; }
    [[nodiscard]] const std::string* path() const noexcept {
        return links_ ? links_->path : nullptr;
    }
    /// Which interposer hooks apply to this process (Watch bits). Set by any thread.
    [[nodiscard]] bool watched(std::uint8_t hooks) const noexcept {
        return (watch_.load(std::memory_order_relaxed) & hooks) != 0;
    }
    void set_watch(std::uint8_t hooks) noexcept { watch_.store(hooks, std::memory_order_relaxed); }
    void add_watch(std::uint8_t hooks) noexcept {
        watch_.fetch_or(hooks, std::memory_order_relaxed);
    }
    [[nodiscard]] ProcessKind kind() const noexcept { return kind_; }
    /// The path that processes this one spawns next get (a supervisor starting a child).
    void set_child_path(const std::string* path) { links().child_path = path; }
    [[nodiscard]] const std::string* child_path() const noexcept {
        return links_ ? links_->child_path : nullptr;
    }

private:
    bool try_block() noexcept;
    /// Makes exit envelope `e` (owned) the pending exit, its reason set to `reason` if given.
    void set_pending_exit(Envelope* e) noexcept;
    /// Takes the pending exit's reason and frees its envelope.
    ExitReason take_pending_exit() noexcept;
    Envelope* close_inbox() noexcept;
    void dispose_list(Envelope* e) noexcept;
    void handle(Envelope* e);
    void apply_link_signal(const Envelope* e);
    void handle_exit_signal(Envelope* e);
    void append(Envelope* e) noexcept;
    bool scan();
    void die(ExitReason reason, Envelope* rest);
    void terminate(ExitReason reason);
    ExitReason reason_from_body() const;

    // Hot: touched on every message, in the first cache line.
    Runtime* runtime_;
    Inbox inbox_;
    Envelope* mailbox_ = nullptr;  // Oldest first.
    Envelope** mailbox_tail_ = &mailbox_;
    Envelope** scan_ = &mailbox_;  // First envelope the current receive has not tried.
    std::coroutine_handle<> resume_point_;
    Process::Handle top_;
    bool receiving_ = false;
    bool timed_out_ = false;
    bool yielded_ = false;
    bool trap_exit_ = false;
    bool dead_ = false;
    bool yield_ready_ = false;  // A receive found its message but the step's budget is spent.
    Stall stall_ = Stall::none;
    std::atomic<bool> has_name_{false};  // Set by the registry; read at exit (see release_name).
    // Warm: the current receive.
    Pid pid_;
    Envelope* matched_ = nullptr;  // Non-null iff the current receive found a message.
    std::uint32_t matched_index_ = 0;
    ProcessKind kind_ = ProcessKind::process;
    std::atomic<std::uint8_t> watch_{watch_all};
    Matcher matcher_;
    TimerRef timer_;              // The current receive's time-out, if armed.
    Ticks receive_timeout_ = -1;  // The time-out of the receive being set up.
    std::uint64_t receive_seq_ = 0;
    std::uint32_t budget_ = 0;  // Receives this step may still complete without yielding.
    // Cold.
    std::atomic<std::uint32_t> refs_{1};
    // Set when a fatal signal arrived: the exit signal itself (a Boxed<ExitMsg>, owned), its
    // reason the one this process ends with. Kept rather than copied: no allocation per death.
    Envelope* pending_exit_ = nullptr;
    std::unique_ptr<ProcLinks> links_;
    Envelope* deferred_ = nullptr;  // Signals that arrived after a fatal one in a batch.

    friend class bedlam::Runtime;
};

/// The process whose code this thread is running, or null (set around each resumption). Fault
/// points and service checks in user code find their process through it.
inline constinit thread_local Proc* current_proc = nullptr;  // per-thread, not a decision

// -- Receive clauses -------------------------------------------------------------------------

template <typename F>
struct CallableTraits : CallableTraits<decltype(&F::operator())> {};
template <typename C, typename R, typename A>
struct CallableTraits<R (C::*)(A) const> {
    using Result = R;
    using Arg = A;
};
template <typename C, typename R, typename A>
struct CallableTraits<R (C::*)(A)> {
    using Result = R;
    using Arg = A;
};
template <typename C, typename R, typename A>
struct CallableTraits<R (C::*)(A) const noexcept> : CallableTraits<R (C::*)(A) const> {};
template <typename C, typename R, typename A>
struct CallableTraits<R (C::*)(A) noexcept> : CallableTraits<R (C::*)(A)> {};
template <typename R, typename A>
struct CallableTraits<R (*)(A)> {
    using Result = R;
    using Arg = A;
};

/// A clause with a guard: matches a message of the handler's type only if `guard` holds.
template <typename Guard, typename Handler>
struct Guarded {
    Guard guard;
    Handler handler;
};

template <typename H>
struct IsAnyClause
    : std::is_same<std::remove_cvref_t<typename CallableTraits<H>::Arg>, bedlam::Message> {};
template <typename G, typename H>
struct IsAnyClause<Guarded<G, H>> : std::false_type {};

template <typename H, bool AnyMessage = IsAnyClause<H>::value>
struct ClauseTraits {
    using Arg = typename CallableTraits<H>::Arg;
    using Payload = std::remove_cvref_t<Arg>;
    using Result = typename CallableTraits<H>::Result;
    static bool accepts(const H& /*h*/, const Envelope* e) noexcept {
        return e->tag == tag_of<Payload>();
    }
    static decltype(auto) guard_view(const Envelope* e) noexcept {
        return (static_cast<const Boxed<Payload>*>(e)->value);
    }
    static Result invoke(H& h, Envelope*& e, Proc* /*proc*/) {
        auto& value = static_cast<Boxed<Payload>*>(e)->value;
        if constexpr (std::is_lvalue_reference_v<Arg> &&
                      !std::is_const_v<std::remove_reference_t<Arg>>) {
            return h(value);
        } else {
            return h(std::move(value));
        }
    }
};

/// A clause whose handler takes a bedlam::Message accepts any message and owns it.
template <typename H>
struct ClauseTraits<H, true> {
    using Result = typename CallableTraits<H>::Result;
    static bool accepts(const H& /*h*/, const Envelope* /*e*/) noexcept { return true; }
    static bedlam::Message guard_view(const Envelope* e) noexcept {
        return bedlam::Message::view(e);
    }
    static Result invoke(H& h, Envelope*& e, Proc* proc) {
        return h(bedlam::Message(proc, std::exchange(e, nullptr)));
    }
};

template <typename G, typename H>
struct ClauseTraits<Guarded<G, H>, false> {
    using Inner = ClauseTraits<H>;
    using Result = typename Inner::Result;
    static bool accepts(const Guarded<G, H>& c, const Envelope* e) {
        return Inner::accepts(c.handler, e) && c.guard(Inner::guard_view(e));
    }
    static Result invoke(Guarded<G, H>& c, Envelope*& e, Proc* proc) {
        return Inner::invoke(c.handler, e, proc);
    }
};

struct NoTimeout {
    void operator()() const noexcept {}
};

template <typename... Rs>
struct CommonResult {
    using Type = std::common_type_t<Rs...>;
};
template <>
struct CommonResult<> {
    using Type = void;
};

/// The result of a receive: the common type of its clauses' results and, if it has one, of its
/// `after` handler's.
template <typename TimeoutHandler, typename... Clauses>
struct ReceiveResult {
    using Type = typename CommonResult<typename ClauseTraits<Clauses>::Result...,
                                       std::invoke_result_t<TimeoutHandler&>>::Type;
};
template <typename... Clauses>
struct ReceiveResult<NoTimeout, Clauses...> {
    using Type = typename CommonResult<typename ClauseTraits<Clauses>::Result...>::Type;
};

/// The awaiter behind `co_await self.receive(clauses...)[.after(d, handler)]`.
template <typename TimeoutHandler, typename... Clauses>
class [[nodiscard]] Receive {
public:
    using Result = typename ReceiveResult<TimeoutHandler, Clauses...>::Type;

    Receive(Proc* proc, Ticks timeout, TimeoutHandler on_timeout, Clauses... clauses)
        : proc_(proc),
          timeout_(timeout),
          on_timeout_(std::move(on_timeout)),
          clauses_(std::move(clauses)...) {}

    /// Adds an `after` clause: if no message matches within `d`, `handler()` runs instead.
    /// A zero time-out only looks at the mailbox once (`after 0`).
    template <typename H>
    Receive<H, Clauses...> after(Duration d, H handler) && {
        BEDLAM_ASSERT(d.count() >= 0);
        const Ticks timeout = d == infinity ? -1 : d.count();
        return std::apply(
            [&](Clauses&... cs) {
                return Receive<H, Clauses...>(proc_, timeout, std::move(handler),
                                              std::move(cs)...);
            },
            clauses_);
    }

    bool await_ready() { return proc_->begin_receive(Matcher{&match, this}, timeout_); }
    /// Completes the receive at once if a message already here matches: true, and await_resume()
    /// then gives the result, with no suspension and no time-out armed. False if none does, or
    /// if the process must first yield (its receive budget) or exit: then co_await it. For a
    /// caller whose answer is usually in already and that would rather not be a coroutine.
    bool ready_now() { return proc_->receive_now(Matcher{&match, this}); }
    void await_suspend(std::coroutine_handle<> h) { proc_->suspend_receive(h); }
    Result await_resume() {
        std::size_t index = 0;
        Envelope* e = proc_->take_matched(index);
        if (e == nullptr) {
            BEDLAM_ASSERT(proc_->timed_out());
            if constexpr (std::is_same_v<TimeoutHandler, NoTimeout> || std::is_void_v<Result>) {
                on_timeout_();
                if constexpr (!std::is_void_v<Result>) {
                    BEDLAM_ASSERT(false);  // A receive without `after` never times out.
                    std::terminate();
                } else {
                    return;
                }
            } else {
                return on_timeout_();
            }
        }
        // A clause that takes a Message takes the envelope too (and nulls `e`).
        struct Disposer {
            Proc* proc;
            Envelope*& e;
            ~Disposer() {
                if (e != nullptr) {
                    proc->dispose(e);
                }
            }
        } const disposer{proc_, e};
        return dispatch(index, e, std::index_sequence_for<Clauses...>{});
    }

private:
    static std::size_t match(const void* ctx, const Envelope* e) {
        const auto* self = static_cast<const Receive*>(ctx);
        return self->match_clauses(e, std::index_sequence_for<Clauses...>{});
    }

    template <std::size_t... I>
    std::size_t match_clauses(const Envelope* e, std::index_sequence<I...> /*unused*/) const {
        std::size_t found = 0;
        static_cast<void>(e);  // Unused when there are no clauses (a plain sleep).
        static_cast<void>(
            ((ClauseTraits<Clauses>::accepts(std::get<I>(clauses_), e) ? (found = I + 1, true)
                                                                        : false) ||
             ...));
        return found;
    }

    template <std::size_t I, std::size_t... Rest>
    Result dispatch_one(std::size_t index, Envelope*& e) {
        if (index == I || sizeof...(Rest) == 0) {
            using C = std::tuple_element_t<I, std::tuple<Clauses...>>;
            if constexpr (std::is_void_v<Result>) {
                ClauseTraits<C>::invoke(std::get<I>(clauses_), e, proc_);
                return;
            } else {
                return static_cast<Result>(
                    ClauseTraits<C>::invoke(std::get<I>(clauses_), e, proc_));
            }
        }
        if constexpr (sizeof...(Rest) > 0) {
            return dispatch_one<Rest...>(index, e);
        }
    }

    template <std::size_t... I>
    Result dispatch(std::size_t index, Envelope*& e, std::index_sequence<I...> /*unused*/) {
        if constexpr (sizeof...(I) == 0) {
            static_cast<void>(index);
            static_cast<void>(e);
            BEDLAM_ASSERT(false);
        } else {
            return dispatch_one<I...>(index, e);
        }
    }

    Proc* proc_;
    Ticks timeout_;  // -1: wait forever.
    TimeoutHandler on_timeout_;
    std::tuple<Clauses...> clauses_;
};

struct Yield {
    Proc* proc;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept { proc->suspend_yield(h); }
    void await_resume() const noexcept {}
};

}  // namespace detail

/// A receive clause with a guard, like Erlang's `Pattern when Guard ->`:
/// `when([&](const ExitMsg& m) { return m.from == worker; }, [&](ExitMsg m) { ... })`.
template <typename Guard, typename Handler>
detail::Guarded<Guard, Handler> when(Guard guard, Handler handler) {
    return {std::move(guard), std::move(handler)};
}

struct SpawnOptions {
    bool link = false;
    bool monitor = false;
    ProcessKind kind = ProcessKind::process;
    /// The spawner is about to wait for the new process (a start_link waiting for init): a
    /// threaded scheduler may run the new process's first step at once, on the spawner's thread,
    /// instead of queueing it. The simulator ignores it; no one can tell the difference but the
    /// clock.
    bool eager = false;
};

/// Options for demonitor (otp-semantics §2.3).
struct DemonitorOptions {
    bool flush = false;  // Remove one DOWN for the reference from the mailbox.
    bool info = false;   // Return false if the monitor was already gone.
};

/// What a process uses to act: its own pid, messaging, spawning, links, monitors, exits,
/// names, timers and receive. Cheap to copy; valid only inside the process it belongs to.
class Self {
public:
    explicit Self(detail::Proc* proc) noexcept : proc_(proc) {}

    [[nodiscard]] Pid pid() const noexcept { return proc_->pid(); }
    [[nodiscard]] Runtime& runtime() const noexcept { return proc_->runtime(); }
    /// The scheduler's clock, in nanoseconds.
    [[nodiscard]] Ticks now() const;

    // -- Messages ------------------------------------------------------------------------------
    /// Moves `msg` into `to`'s mailbox. A message to a dead process is lost, as in Erlang.
    template <typename T>
    void send(Pid to, T&& msg) const;
    /// Sends to a registered name; throws std::invalid_argument (Erlang's badarg) if no process
    /// has that name.
    template <typename T>
    void send(std::string_view name, T&& msg) const;

    /// `co_await self.receive(clauses...)`: takes the oldest message that some clause accepts
    /// and returns what that clause returns. Messages no clause accepts stay in order.
    template <typename... Clauses>
    detail::Receive<detail::NoTimeout, Clauses...> receive(Clauses... clauses) const {
        return detail::Receive<detail::NoTimeout, Clauses...>(proc_, -1, detail::NoTimeout{},
                                                              std::move(clauses)...);
    }
    /// `T t = co_await self.receive<T>()`: the oldest message of type T.
    template <typename T>
    auto receive() const {
        return receive([](T&& v) -> T { return std::move(v); });
    }
    /// `std::optional<T> t = co_await self.receive_for<T>(d)`: nullopt after `d`.
    template <typename T>
    auto receive_for(Duration d) const {
        return receive([](T&& v) -> std::optional<T> { return std::optional<T>(std::move(v)); })
            .after(d, [] { return std::optional<T>(); });
    }
    /// Suspends for `d` on the scheduler's clock (receive with no clauses and a time-out).
    auto sleep(Duration d) const {
        return detail::Receive<detail::NoTimeout>(proc_, d == infinity ? -1 : d.count(),
                                                  detail::NoTimeout{});
    }
    /// Lets other processes run, then continues.
    [[nodiscard]] detail::Yield yield() const noexcept { return detail::Yield{proc_}; }

    // -- Processes -----------------------------------------------------------------------------
    /// Starts `body(Self, args...)` as a new process. `body` must be a function or a lambda
    /// without captures, because a capturing lambda coroutine would outlive its captures;
    /// pass state as arguments (they are moved into the coroutine frame).
    template <typename F, typename... Args>
    Pid spawn(F body, Args... args) const;
    template <typename F, typename... Args>
    Pid spawn_link(F body, Args... args) const;
    template <typename F, typename... Args>
    std::pair<Pid, MonitorRef> spawn_monitor(F body, Args... args) const;
    /// erlang:spawn_opt: spawn with links, a monitor (its reference is returned, else an
    /// invalid one) and a process kind, as `options` say.
    template <typename F, typename... Args>
    std::pair<Pid, MonitorRef> spawn_opt(SpawnOptions options, F body, Args... args) const;

    // -- The supervision tree ------------------------------------------------------------------
    /// This process's path in the supervision tree ("app/pool/conn1"), empty if it has none.
    [[nodiscard]] std::string path() const;
    /// Processes this one spawns from now on are placed at `path` (a supervisor sets it around
    /// a child's start function); empty clears it.
    void set_child_path(std::string_view path) const;
    /// The same with a path from Runtime::intern_path (no lookup); nullptr clears it.
    void set_child_path(const std::string* interned) const { proc_->set_child_path(interned); }

    // -- Links, exits, monitors (otp-semantics §1, §2) -------------------------------------------
    /// Links to `pid`. To a dead process: throws NoProcError unless trapping exits, in which
    /// case an `{'EXIT', pid, noproc}` message follows (§1.6).
    void link(Pid pid) const;
    /// Removes the link, if any. No exit signal from it has effect afterwards (§1.7).
    void unlink(Pid pid) const;
    /// unlink(pid), then drops one `{'EXIT', pid, _}` already in the mailbox, without a receive:
    /// OTP's supervisor's unlink_flush once a DOWN from `pid` is in. Only the mailbox is looked
    /// at, so use it after taking a signal `pid` sent after its EXIT (its DOWN). `pid` is dead,
    /// so a threaded scheduler with no trace and no interposer sends it no unlink signal (it
    /// would be dropped unseen).
    void unlink_flush(Pid pid) const;
    /// Sets trap_exit and returns the previous value.
    bool trap_exit(bool on) const noexcept { return proc_->set_trap_exit(on); }
    [[nodiscard]] bool trapping_exits() const noexcept { return proc_->trap_exit(); }
    /// erlang:exit/2: sends an exit signal with `reason` to `pid` (§1.3, §1.4).
    void exit(Pid pid, const ExitReason& reason) const;
    /// erlang:exit/1: ends this process with `reason` (throws ExitException).
    [[noreturn]] void exit(const ExitReason& reason) const;
    MonitorRef monitor(Pid pid) const;
    /// monitor(pid), then exit(pid, reason): what a supervisor does to stop a child (§3.6). The
    /// same signals in the same order; a threaded scheduler pushes the two with one
    /// compare-and-swap.
    MonitorRef monitor_exit(Pid pid, const ExitReason& reason) const {
        return monitor_exit(pid, reason, nullptr);
    }
    /// The same, except that a process that ends within this call needs no monitor: then
    /// `*ended` is set, the reference returned is invalid, `pid` is dead and its EXIT to this
    /// process, if they were linked, is in the mailbox. A threaded scheduler ends so a process
    /// that sleeps and does not trap exits, given any reason but `normal`, by running it within
    /// this step, as it does after any exit signal that wakes such a process; no one can tell a
    /// DOWN was skipped, as no one but the caller would have seen it.
    MonitorRef monitor_exit(Pid pid, const ExitReason& reason, bool* ended) const;
    /// Removes a monitor. Returns true, or with `info`, whether the monitor was still active.
    bool demonitor(MonitorRef ref, DemonitorOptions options = {}) const;
    [[nodiscard]] bool is_alive(Pid pid) const;

    // -- Names ---------------------------------------------------------------------------------
    /// Registers `name` for `pid`. False if the name is taken, the pid already has a name, or the
    /// pid is dead (Erlang raises badarg).
    bool register_name(std::string_view name, Pid pid) const;
    bool unregister_name(std::string_view name) const;
    [[nodiscard]] std::optional<Pid> whereis(std::string_view name) const;

    /// Wraps a value as a Message owned by this process, as if it had been received.
    template <typename T>
    [[nodiscard]] Message message(T&& value) const;

    // -- Timers --------------------------------------------------------------------------------
    /// Delivers `msg` to `to` after `d` (erlang:send_after/3).
    template <typename T>
    TimerRef send_after(Duration d, Pid to, T&& msg) const;
    /// Cancels a timer; returns the time that was left, or nullopt if it had fired or was
    /// cancelled already.
    std::optional<Duration> cancel_timer(TimerRef ref) const;

private:
    detail::Proc* proc_;
};

}  // namespace bedlam
