// Server: OTP's gen_server (otp-semantics §5). A server is a class derived from bedlam::Server
// whose callbacks are coroutines (so a callback may itself call other servers). It runs as an
// ordinary process: start_link spawns it, waits for init, and returns what init decided;
// call/cast/stop talk to it with OTP's protocol and OTP's exit reasons.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "bedlam/runtime/runtime.hpp"

namespace bedlam {

using namespace std::chrono_literals;

/// Who made a call: reply to it with reply(self, from, value).
struct From {
    Pid pid;
    MonitorRef ref;
    /// The caller waits in call(), and `ref` is its alias: a reply that comes after the call
    /// ended (timed out, or the caller stopped waiting) is dropped, not left in its mailbox.
    bool alias = false;
};

/// A move-only value of any type: a call's reply or a continue term.
class Any {
public:
    Any() = default;
    template <typename T, typename = std::enable_if_t<!std::is_same_v<std::decay_t<T>, Any>>>
    Any(T&& value)  // NOLINT(google-explicit-constructor): like std::any.
        : holder_(std::make_unique<Holder<std::decay_t<T>>>(std::forward<T>(value))) {}

    [[nodiscard]] bool has_value() const noexcept { return holder_ != nullptr; }
    /// The value if it is a T, else nullptr.
    template <typename T>
    [[nodiscard]] T* get() noexcept {
        auto* h = dynamic_cast<Holder<T>*>(holder_.get());
        return h != nullptr ? &h->value : nullptr;
    }
    template <typename T>
    [[nodiscard]] const T* get() const noexcept {
        const auto* h = dynamic_cast<const Holder<T>*>(holder_.get());
        return h != nullptr ? &h->value : nullptr;
    }
    template <typename T>
    [[nodiscard]] bool is() const noexcept {
        return dynamic_cast<const Holder<T>*>(holder_.get()) != nullptr;
    }
    /// Boxes the value into an envelope from `rt`, consuming it.
    detail::Envelope* box(Runtime& rt, Pid from) && { return holder_->box(rt, from); }

private:
    struct HolderBase {
        HolderBase() = default;
        HolderBase(const HolderBase&) = delete;
        HolderBase& operator=(const HolderBase&) = delete;
        virtual ~HolderBase() = default;
        virtual detail::Envelope* box(Runtime& rt, Pid from) = 0;
    };
    template <typename T>
    struct Holder final : HolderBase {
        template <typename U>
        explicit Holder(U&& v) : value(std::forward<U>(v)) {}
        detail::Envelope* box(Runtime& rt, Pid from) override {
            return rt.box(from, std::move(value));
        }
        T value;
    };
    std::unique_ptr<HolderBase> holder_;
};

/// What a callback asks the server loop to do next, besides its result (otp-semantics §5.3).
struct ServerAction {
    enum class Kind : std::uint8_t { none, continue_, timeout, hibernate };
    Kind kind = Kind::none;
    Any term;              // continue_: passed to handle_continue.
    Duration timeout{};    // timeout: a ServerTimeout message goes to handle_info if nothing
                           // arrives first.

    static ServerAction none() { return {}; }
    template <typename T>
    static ServerAction continue_with(T term) {
        ServerAction a;
        a.kind = Kind::continue_;
        a.term = Any(std::move(term));
        return a;
    }
    static ServerAction after(Duration d) {
        ServerAction a;
        a.kind = Kind::timeout;
        a.timeout = d;
        return a;
    }
    static ServerAction hibernate() {
        ServerAction a;
        a.kind = Kind::hibernate;
        return a;
    }
};

/// The message handle_info gets when a `ServerAction::after` time-out expires (Erlang's
/// `timeout` atom).
struct ServerTimeout {};

/// init's result: {ok, State[, Action]}, ignore, {stop, Reason}, {error, Reason}.
struct InitResult {
    enum class Kind : std::uint8_t { ok, ignore, stop, error };
    Kind kind = Kind::ok;
    ExitReason reason;
    ServerAction action;

    static InitResult ok(ServerAction action = {}) {
        return InitResult{Kind::ok, {}, std::move(action)};
    }
    static InitResult ignore() { return InitResult{Kind::ignore, {}, {}}; }
    static InitResult stop(ExitReason reason) {
        return InitResult{Kind::stop, std::move(reason), {}};
    }
    static InitResult error(ExitReason reason) {
        return InitResult{Kind::error, std::move(reason), {}};
    }
};

/// A callback's result: {reply, R, S[, Action]}, {noreply, S[, Action]}, {stop, Reason, S},
/// {stop, Reason, Reply, S}.
struct ServerResult {
    enum class Kind : std::uint8_t { reply, noreply, stop };
    Kind kind = Kind::noreply;
    Any reply;
    ExitReason reason;
    ServerAction action;

    template <typename T>
    static ServerResult reply_with(T value, ServerAction action = {}) {
        return ServerResult{Kind::reply, Any(std::move(value)), {}, std::move(action)};
    }
    static ServerResult noreply(ServerAction action = {}) {
        return ServerResult{Kind::noreply, {}, {}, std::move(action)};
    }
    static ServerResult stop(ExitReason reason) {
        return ServerResult{Kind::stop, {}, std::move(reason), {}};
    }
    template <typename T>
    static ServerResult stop_reply(ExitReason reason, T value) {
        return ServerResult{Kind::stop, Any(std::move(value)), std::move(reason), {}};
    }
};

/// The callbacks of a server. Derive from it; the object's members are the server's state, and
/// it lives in the server process's coroutine frame. Every callback may co_await (call other
/// servers, receive); the defaults follow gen_server's.
class Server {
public:
    Server() = default;
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    virtual ~Server() = default;

    virtual Async<InitResult> init(Self self);
    /// Default: the server stops with {bad_call, Request} (OTP: the callback is missing).
    virtual Async<ServerResult> handle_call(Self self, Message request, From from);
    /// Default: the server stops with {bad_cast, Request}.
    virtual Async<ServerResult> handle_cast(Self self, Message request);
    /// Default: the message is dropped (OTP logs it).
    virtual Async<ServerResult> handle_info(Self self, Message info);
    /// Default: the server stops with `undef` (§5.3: handle_continue not exported).
    virtual Async<ServerResult> handle_continue(Self self, Any term);
    /// Runs after a {stop, ...} result, after a callback raised, and on an EXIT from the parent
    /// when the server traps exits (§5.4). Not called when the server is killed.
    virtual Async<void> terminate(Self self, ExitReason reason);
};

/// OTP's `{via, Module, Name}`: a server name kept by a name service other than the runtime's
/// (a Registry, registry.hpp). Immutable, and shared by the ServerRefs and StartOptions that hold
/// it. Its coroutines run in the calling process.
class ViaName {
public:
    ViaName() = default;
    ViaName(const ViaName&) = delete;
    ViaName& operator=(const ViaName&) = delete;
    ViaName(ViaName&&) = delete;
    ViaName& operator=(ViaName&&) = delete;
    virtual ~ViaName() = default;

    /// Module:register_name(Name, self()), run by a new server before init: Pid{} once registered,
    /// else the pid that holds the name (start gives {error, {already_started, Pid}}). A throw
    /// fails the start with {error, Reason}.
    virtual Async<Pid> register_name(Self self) const = 0;
    /// Module:whereis_name(Name): the live pid registered under the name, or Pid{}.
    virtual Async<Pid> whereis_name(Self self) const = 0;
    /// Module:send(Name, Msg) for a cast: delivers `request` as a cast, or loses it.
    virtual void send_cast(Self self, Any request) const = 0;
    /// The name as exit reasons print it.
    [[nodiscard]] virtual std::string to_string() const = 0;
};

/// Where to send a call: a pid, a registered name, or a via name.
struct ServerRef {
    ServerRef(Pid p) : pid(p) {}                       // NOLINT(google-explicit-constructor)
    ServerRef(const char* n) : name(n) {}              // NOLINT(google-explicit-constructor)
    ServerRef(std::string n) : name(std::move(n)) {}   // NOLINT(google-explicit-constructor)
    ServerRef(std::shared_ptr<const ViaName> v)        // NOLINT(google-explicit-constructor)
        : via(std::move(v)) {}
    Pid pid;
    std::string name;
    std::shared_ptr<const ViaName> via;

    [[nodiscard]] std::string to_string() const;
};

/// How to start a server. A class with constructors rather than an aggregate on purpose: g++ 12
/// miscompiles aggregate temporaries with non-trivial members inside a co_await expression
/// (README, "g++ 12 and aggregates"), and options are usually written in one.
struct StartOptions {
    StartOptions() = default;
    explicit StartOptions(std::string registered_name, bool linked = true)
        : name(std::move(registered_name)), link(linked) {}
    explicit StartOptions(std::shared_ptr<const ViaName> via_name, bool linked = true)
        : via(std::move(via_name)), link(linked) {}

    std::string name;  // Registered name; empty for none.
    std::shared_ptr<const ViaName> via;  // A via name instead; null for none.
    bool link = true;  // start_link (true) or start (false).
    /// gen's `{timeout, T}` start option: if init has not returned within `timeout`, the starter
    /// kills the new process and start returns {error, timeout}.
    Duration timeout = infinity;
};

/// start_link's result: {ok, Pid}, ignore, or {error, Reason}.
struct StartResult {
    enum class Kind : std::uint8_t { ok, ignore, error };
    Kind kind = Kind::ok;
    Pid pid;
    ExitReason reason;
    /// `{already_started, Pid}`: the name was taken by `pid`.
    bool already_started = false;
    /// A supervisor child's start function may return `{ok, Pid, Info}`: Info, as text, is
    /// passed back by start_child and restart_child (§3.3, supervisor_SUITE extra_return).
    /// Optional rather than empty: a result is moved through every layer of a start, and an
    /// empty std::optional moves for nothing where an empty std::string costs a memcpy call.
    std::optional<std::string> info{};

    [[nodiscard]] bool ok() const noexcept { return kind == Kind::ok; }
};

namespace detail {

/// The starter waits for this from the new server: the result of init.
struct InitAck {
    MonitorRef ref;
    StartResult result;
};

/// gen_server:stop's request, a system message.
struct StopRequest {
    ExitReason reason;
};
struct StopAck {};

/// The caller's exit reason when a call fails: {Reason, {Behaviour, call, [Target, _, T]}},
/// which is {shutdown, ...} (clean for supervisors) when Reason is `shutdown` (§5.1).
ExitReason call_failure(const ExitReason& reason, const ServerRef& target, Duration timeout,
                        std::string_view behaviour = "gen_server");
/// A time-out as OTP prints it: milliseconds, or `infinity`.
std::string time_text(Duration timeout);

Async<void> server_loop(Self self, Server& impl, Pid parent, ServerAction action);
Async<void> server_stop(Self self, Server& impl, ExitReason reason);
Async<StartResult> await_start(Self self, Pid child, MonitorRef ack, bool linked,
                               Duration timeout = infinity);
Pid resolve(Self self, const ServerRef& target);
/// Registers the new server under `via`: nullopt on success, else the start's result.
Async<std::optional<StartResult>> register_via(Self self, std::shared_ptr<const ViaName> via);

/// The name a new server registers under, if it has one: passed as one pointer, null for none,
/// so that a nameless start moves no string through the spawn.
struct ServerName {
    std::string name;
    std::shared_ptr<const ViaName> via;
};

/// A start whose child's init may succeed within the spawn itself: a threaded scheduler running
/// the eagerly spawned child inside the starter's step (a supervisor starting a child). Open
/// from construction to destruction around the spawn, on this thread, it takes the child's ok
/// in place of an InitAck message, which no one but the starter would see: a linked starter
/// that traps exits (it learns of the child's death from the link) on a runtime that neither
/// traces nor has an interposer. Opened starts nest (an init that starts servers of its own).
class StartHandoff {
public:
    StartHandoff(Self self, MonitorRef ack, const StartOptions& options, bool eager) noexcept;
    ~StartHandoff();
    StartHandoff(const StartHandoff&) = delete;
    StartHandoff& operator=(const StartHandoff&) = delete;

    /// The child, if its init succeeded and handed back its ok (hand_back_start).
    [[nodiscard]] Pid started() const noexcept { return started_; }

private:
    std::uint64_t ack_ = 0;  // 0: closed, or taken.
    Pid started_{};
    StartHandoff* outer_ = nullptr;
    bool open_ = false;

    friend bool hand_back_start(MonitorRef ack, Pid child) noexcept;
};

/// A server's init succeeded: hands `child` to the start waiting for `ack` if that start is open
/// on this thread (true); else the child sends its InitAck (false).
bool hand_back_start(MonitorRef ack, Pid child) noexcept;

template <typename Impl, typename... Args>
Process server_body(Self self, Pid parent, MonitorRef ack, std::unique_ptr<ServerName> naming,
                    Args... args) {
    const std::string name = naming ? std::move(naming->name) : std::string();
    std::shared_ptr<const ViaName> via = naming ? std::move(naming->via) : nullptr;
    naming.reset();
    if (!name.empty() && !self.register_name(name, self.pid())) {
        const Pid holder = self.whereis(name).value_or(Pid{});
        const std::string clash = "{already_started," + ServerRef(holder).to_string() + "}";
        StartResult taken{StartResult::Kind::error, holder, ExitReason::error(clash), true};
        self.send(parent, InitAck{ack, std::move(taken)});
        co_return;  // Exits normal, as gen_server does.
    }
    if (via != nullptr) {
        std::optional<StartResult> refused = co_await register_via(self, std::move(via));
        if (refused) {
            self.send(parent, InitAck{ack, std::move(*refused)});
            co_return;  // Exits normal, as for a taken name.
        }
    }
    Impl impl(std::move(args)...);
    InitResult init;
    try {
        init = co_await impl.init(self);
    } catch (const ExitException& x) {
        init = InitResult::stop(x.reason);
    } catch (const std::exception& x) {
        init = InitResult::stop(ExitReason::error(x.what()));
    }
    switch (init.kind) {
        case InitResult::Kind::ok:
            if (!hand_back_start(ack, self.pid())) {
                self.send(parent, InitAck{ack, StartResult{StartResult::Kind::ok, self.pid(), {}}});
            }
            co_await server_loop(self, impl, parent, std::move(init.action));
            co_return;
        case InitResult::Kind::ignore:
            self.send(parent, InitAck{ack, StartResult{StartResult::Kind::ignore, {}, {}}});
            co_return;
        case InitResult::Kind::error:  // OTP 26+: {error, R} exits silently with `normal`.
            self.send(parent, InitAck{ack, StartResult{StartResult::Kind::error, {}, init.reason}});
            co_return;
        case InitResult::Kind::stop:
            self.send(parent, InitAck{ack, StartResult{StartResult::Kind::error, {}, init.reason}});
            self.exit(init.reason);
    }
}

/// What a server process runs, for fault plans: Impl::process_kind if it declares one (the
/// supervisor and the state machine adapter do), else `server`.
template <typename Impl>
constexpr ProcessKind process_kind_of() {
    if constexpr (requires { Impl::process_kind; }) {
        return Impl::process_kind;
    } else {
        return ProcessKind::server;
    }
}

/// The result of a start whose init has already acknowledged success (a threaded scheduler ran
/// it eagerly, inside the caller's step), taken now so that the start needs no coroutine frame;
/// nullopt if the ack is not in or the start is one await_start handles with more than that
/// (a monitor to drop, a failure whose EXIT it must wait for).
std::optional<StartResult> started_now(Self self, MonitorRef ack, const StartOptions& options);

/// start_server's work without a coroutine frame of its own: spawns now and returns the wait for
/// init. For callers that await it at once (a supervisor's start function, start_server).
template <typename Impl, typename... Args>
Async<StartResult> spawn_server(Self self, StartOptions options, Args... args) {
    static_assert(std::is_base_of_v<Server, Impl>, "a server implementation derives from Server");
    const MonitorRef ack = self.runtime().new_ref();
    // Eager: it waits for init next. Not under a start time-out, which must be able to cut a
    // long init short.
    const SpawnOptions spawn{.link = options.link,
                             .kind = process_kind_of<Impl>(),
                             .eager = options.timeout == infinity};
    std::unique_ptr<ServerName> naming;
    if (!options.name.empty() || options.via != nullptr) {
        naming = std::make_unique<ServerName>(
            ServerName{std::move(options.name), std::move(options.via)});
    }
    Pid child;
    {
        const StartHandoff handoff(self, ack, options, spawn.eager);
        child = self.spawn_opt(spawn, &server_body<Impl, Args...>, self.pid(), ack,
                               std::move(naming), std::move(args)...)
                    .first;
        if (handoff.started().valid()) {
            return Async<StartResult>::ready(StartResult{StartResult::Kind::ok, child, {}});
        }
    }
    if (std::optional<StartResult> started = started_now(self, ack, options); started) {
        return Async<StartResult>::ready(std::move(*started));
    }
    return await_start(self, child, ack, options.link, options.timeout);
}

}  // namespace detail

/// Starts a server process running `Impl(args...)` and waits until its init has returned
/// (gen_server:start_link/start). A server that fails to start has exited when this returns, and
/// a trapping caller's `{'EXIT', Pid, _}` from it has been consumed (OTP 26+).
template <typename Impl, typename... Args>
Async<StartResult> start_server(Self self, StartOptions options, Args... args) {
    co_return co_await detail::spawn_server<Impl>(self, std::move(options), std::move(args)...);
}

template <typename Impl, typename... Args>
Async<StartResult> start_link(Self self, Args... args) {
    return start_server<Impl>(self, StartOptions{}, std::move(args)...);
}

/// gen_server:call: sends `request` and waits for the reply of type Rep. On a time-out, a dead or
/// missing server, or a server that exits before replying, the caller exits (throws
/// ExitException) with {Reason, {gen_server, call, ...}} (otp-semantics §5.1). `behaviour` names
/// the module in that reason: statem::call passes "gen_statem".
template <typename Rep, typename Req>
Async<Rep> call(Self self, ServerRef target, Req request, Duration timeout = 5s,
                std::string_view behaviour = "gen_server") {
    Pid pid = detail::resolve(self, target);
    if (target.via != nullptr) {
        pid = co_await target.via->whereis_name(self);
    }
    if (!pid.valid()) {
        throw ExitException{
            detail::call_failure(ExitReason::noproc(), target, timeout, behaviour)};
    }
    if (pid == self.pid()) {
        throw ExitException{detail::call_failure(ExitReason::error("calling_self"), target,
                                                 timeout, behaviour)};
    }
    Runtime& rt = self.runtime();
    const MonitorRef ref = self.monitor(pid);
    detail::Envelope* e = rt.box(self.pid(), std::move(request));
    e->aux = ref.id;
    e->flags = detail::Envelope::call_flag;
    rt.send_signal(pid, e);
    std::optional<ExitReason> failure;
    std::optional<Rep> reply;
    co_await self
        .receive(when([ref](const Message& m) { return m.is_reply() && m.ref() == ref; },
                      [&](Message m) {
                          if (Rep* value = m.get<Rep>(); value != nullptr) {
                              reply.emplace(std::move(*value));
                          } else {
                              failure = ExitReason::error("bad_reply_type");
                          }
                      }),
                 when([ref](const DownMsg& d) { return d.ref == ref; },
                      [&](DownMsg d) { failure = std::move(d.reason); }))
        .after(timeout, [&] { failure = ExitReason::error("timeout"); });
    if (!reply) {
        self.demonitor(ref, DemonitorOptions{.flush = true});
        throw ExitException{detail::call_failure(*failure, target, timeout, behaviour)};
    }
    self.demonitor(ref, DemonitorOptions{.flush = true});
    co_return std::move(*reply);
}

/// gen_server:cast: fire and forget; a cast to a missing name or dead server is lost.
template <typename Req>
void cast(Self self, const ServerRef& target, Req request) {
    if (target.via != nullptr) {
        target.via->send_cast(self, Any(std::move(request)));
        return;
    }
    const Pid pid = detail::resolve(self, target);
    if (!pid.valid()) {
        return;
    }
    detail::Envelope* e = self.runtime().box(self.pid(), std::move(request));
    e->flags = detail::Envelope::cast_flag;
    self.runtime().send_signal(pid, e);
}

/// gen_server:reply: answers a call outside handle_call's result.
template <typename T>
void reply(Self self, const From& from, T value) {
    detail::Envelope* e = self.runtime().box(self.pid(), std::move(value));
    e->aux = from.ref.id;
    e->flags = detail::Envelope::reply_flags(from.alias);
    self.runtime().send_signal(from.pid, e);
}

/// gen_server:stop: makes the server run terminate(reason) and exit with `reason`; returns once
/// it has exited. Exits the caller with `noproc` (or the server's other reason) like a call,
/// with `timeout` if the server has not exited within `timeout`, and with `function_clause`,
/// without stopping anything, if `timeout` is negative.
Async<void> stop(Self self, ServerRef target, ExitReason reason = ExitReason::normal(),
                 Duration timeout = infinity);

}  // namespace bedlam
