// The gen_server loop and protocol (otp-semantics §5).
#include "bedlam/runtime/server.hpp"

#include <string>

namespace bedlam {

Async<InitResult> Server::init(Self /*self*/) { co_return InitResult::ok(); }

Async<ServerResult> Server::handle_call(Self /*self*/, Message /*request*/, From /*from*/) {
    co_return ServerResult::stop(ExitReason::error("{bad_call,_}"));
}

Async<ServerResult> Server::handle_cast(Self /*self*/, Message /*request*/) {
    co_return ServerResult::stop(ExitReason::error("{bad_cast,_}"));
}

Async<ServerResult> Server::handle_info(Self /*self*/, Message /*info*/) {
    co_return ServerResult::noreply();
}

Async<ServerResult> Server::handle_continue(Self /*self*/, Any /*term*/) {
    co_return ServerResult::stop(ExitReason::error("undef"));
}

Async<void> Server::terminate(Self /*self*/, ExitReason /*reason*/) { co_return; }

std::string ServerRef::to_string() const {
    if (via != nullptr) {
        return via->to_string();
    }
    if (!name.empty()) {
        return name;
    }
    return pid.to_string();
}

namespace detail {

std::string time_text(Duration timeout) {
    if (timeout == infinity) {
        return "infinity";
    }
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
}

ExitReason call_failure(const ExitReason& reason, const ServerRef& target, Duration timeout,
                        std::string_view behaviour) {
    const std::string where = "{" + std::string(behaviour) + ",call,[" + target.to_string() +
                              ",_," + time_text(timeout) + "]}";
    if (reason.kind() == ExitReason::Kind::shutdown) {
        return ExitReason::shutdown(where);
    }
    return ExitReason::error("{" + reason.to_string() + "," + where + "}");
}

Pid resolve(Self self, const ServerRef& target) {
    if (target.pid.valid()) {
        return target.pid;
    }
    return self.whereis(target.name).value_or(Pid{});
}

Async<std::optional<StartResult>> register_via(Self self, std::shared_ptr<const ViaName> via) {
    std::exception_ptr failed;
    Pid holder;
    try {
        holder = co_await via->register_name(self);
    } catch (...) {
        failed = std::current_exception();
    }
    if (failed) {
        co_return StartResult{StartResult::Kind::error, {}, exit_reason_of(failed)};
    }
    if (holder.valid()) {
        const std::string taken = "{already_started," + ServerRef(holder).to_string() + "}";
        co_return StartResult{StartResult::Kind::error, holder, ExitReason::error(taken), true};
    }
    co_return std::nullopt;
}

// Runs terminate (§5.4), then ends the process with `reason`.
Async<void> server_stop(Self self, Server& impl, ExitReason reason) {
    std::exception_ptr failed;
    try {
        co_await impl.terminate(self, reason);
    } catch (...) {
        failed = std::current_exception();
    }
    if (failed) {
        throw ExitException{exit_reason_of(failed)};  // A crash in terminate replaces the reason.
    }
    throw ExitException{std::move(reason)};
}

namespace {

// One callback, with a crash turned into a stop: gen_server runs terminate after a callback
// raised, then exits with the reason.
template <typename Callback>
Async<ServerResult> guarded(Callback callback) {
    std::exception_ptr failed;
    try {
        co_return co_await callback();
    } catch (...) {
        failed = std::current_exception();
    }
    co_return ServerResult::stop(exit_reason_of(failed));
}

}  // namespace

Async<void> server_loop(Self self, Server& impl, Pid parent, ServerAction action) {
    Runtime& rt = self.runtime();
    for (;;) {
        while (action.kind == ServerAction::Kind::continue_) {
            Any term = std::move(action.term);
            ServerResult r = co_await guarded(
                [&]() { return impl.handle_continue(self, std::move(term)); });
            if (r.kind == ServerResult::Kind::stop) {
                co_await server_stop(self, impl, std::move(r.reason));
            }
            if (r.kind == ServerResult::Kind::reply) {
                co_await server_stop(self, impl, ExitReason::error("{bad_return_value,reply}"));
            }
            action = std::move(r.action);
        }
        Message m;
        if (action.kind == ServerAction::Kind::timeout) {
            m = co_await self.receive([](Message any) { return any; })
                    .after(action.timeout, [&] { return self.message(ServerTimeout{}); });
        } else {
            m = co_await self.receive([](Message any) { return any; });
        }
        action = ServerAction::none();

        // §5.4, §3.19: an EXIT from the parent ends a trapping server through terminate.
        if (const ExitMsg* exit = m.get<ExitMsg>();
            exit != nullptr && exit->from == parent && self.trapping_exits()) {
            co_await server_stop(self, impl, exit->reason);
        }
        if (m.is_call() && m.is<StopRequest>()) {
            co_await server_stop(self, impl, m.get<StopRequest>()->reason);
        }

        ServerResult r;
        From from{};
        if (m.is_call()) {
            from = From{m.from(), m.ref(), true};
            r = co_await guarded(
                [&]() { return impl.handle_call(self, std::move(m), from); });
        } else if (m.is_cast()) {
            r = co_await guarded([&]() { return impl.handle_cast(self, std::move(m)); });
        } else {
            r = co_await guarded([&]() { return impl.handle_info(self, std::move(m)); });
        }
        if (r.reply.has_value()) {
            if (!from.pid.valid()) {
                co_await server_stop(self, impl, ExitReason::error("{bad_return_value,reply}"));
            }
            Envelope* e = std::move(r.reply).box(rt, self.pid());
            e->aux = from.ref.id;
            e->flags = Envelope::reply_flags(from.alias);
            rt.send_signal(from.pid, e);
        }
        if (r.kind == ServerResult::Kind::stop) {
            co_await server_stop(self, impl, std::move(r.reason));
        }
        action = std::move(r.action);
    }
}

namespace {
// The innermost StartHandoff open on this thread: a start waiting, within its spawn, for the
// child that runs inside its step.
thread_local StartHandoff* open_handoff = nullptr;  // per-thread, not a decision: threads only
}  // namespace

StartHandoff::StartHandoff(Self self, MonitorRef ack, const StartOptions& options,
                           bool eager) noexcept {
    Runtime& rt = self.runtime();
    if (!eager || !options.link || !self.trapping_exits() || rt.single_threaded() ||
        rt.tracing() || rt.interposer() != nullptr) {
        return;
    }
    ack_ = ack.id;
    outer_ = open_handoff;
    open_handoff = this;
    open_ = true;
}

StartHandoff::~StartHandoff() {
    if (open_) {
        open_handoff = outer_;
    }
}

// Not inline: called from a coroutine, which must not keep one thread's address of
// open_handoff across a suspension.
[[gnu::noinline]] bool hand_back_start(MonitorRef ack, Pid child) noexcept {
    StartHandoff* start = open_handoff;
    if (start == nullptr || start->ack_ != ack.id) {
        return false;
    }
    start->ack_ = 0;
    start->started_ = child;
    return true;
}

std::optional<StartResult> started_now(Self self, MonitorRef ack, const StartOptions& options) {
    // As await_start: a linked starter that traps exits watches through the link, and then an
    // ok ack is all there is to take (its EXIT, if the child dies later, is a plain message).
    if (!options.link || !self.trapping_exits()) {
        return std::nullopt;
    }
    std::optional<StartResult> result;
    auto taking = self.receive(when([ack](const InitAck& a) { return a.ref == ack && a.result.ok(); },
                                    [&result](InitAck& a) { result = std::move(a.result); }));
    if (taking.ready_now()) {
        taking.await_resume();
    }
    return result;
}

Async<StartResult> await_start(Self self, Pid child, MonitorRef ack, bool linked,
                               Duration timeout) {
    // OTP 26's proc_lib monitors the child to learn of its death. A linked starter that traps
    // exits (every supervisor) learns of it from the link's EXIT, which it must consume anyway,
    // so it takes no monitor: two signals fewer per start. (A child that unlinks its starter in
    // init and then dies leaves such a starter waiting for its time-out, as OTP 25's did.)
    const bool by_link = linked && self.trapping_exits();
    const MonitorRef watch = by_link ? MonitorRef{} : self.monitor(child);
    std::optional<StartResult> result;
    std::optional<ExitReason> down;
    bool timed_out = false;
    auto is_down = [watch](const DownMsg& d) { return watch.valid() && d.ref == watch; };
    auto is_exit = [by_link, child](const ExitMsg& x) { return by_link && x.from == child; };
    auto take_down = [&](DownMsg& d) { down = std::move(d.reason); };
    auto take_exit = [&](ExitMsg& x) { down = std::move(x.reason); };
    co_await self
        .receive(when([ack](const InitAck& a) { return a.ref == ack; },
                      [&](InitAck& a) { result = std::move(a.result); }),
                 when(is_down, take_down), when(is_exit, take_exit))
        .after(timeout, [&] { timed_out = true; });
    if (timed_out) {
        // gen's {timeout, T}: kill the process (proc_lib's kill_flush), and once it is gone drop
        // the init result it may have sent meanwhile. Its EXIT is consumed here or below.
        if (linked && !by_link) {
            self.unlink(child);
        }
        self.exit(child, ExitReason::kill());
        co_await self.receive(when(is_down, take_down), when(is_exit, take_exit));
        co_await self.receive(when([ack](const InitAck& a) { return a.ref == ack; },
                                   [](InitAck /*a*/) {}))
            .after(Duration::zero(), [] {});
        StartResult failed;
        failed.kind = StartResult::Kind::error;
        failed.reason = ExitReason::error("timeout");
        result = std::move(failed);
    }
    if (result && result->ok()) {
        if (!by_link) {
            self.demonitor(watch, DemonitorOptions{.flush = true});
        }
        co_return std::move(*result);
    }
    // OTP 26+: a failed start returns only once the process is gone, with its EXIT consumed.
    if (!down) {
        co_await self.receive(when(is_down, take_down), when(is_exit, take_exit));
    }
    if (!result) {
        result = StartResult{StartResult::Kind::error, {}, std::move(*down)};  // Init crashed.
    }
    co_return std::move(*result);
}

}  // namespace detail

Async<void> stop(Self self, ServerRef target, ExitReason reason, Duration timeout) {
    if (timeout < Duration::zero()) {
        // gen:stop's guard fails before anything is sent: the server runs on (GSS stop3).
        self.exit(ExitReason::error("function_clause"));
    }
    Pid pid = detail::resolve(self, target);
    if (target.via != nullptr) {
        pid = co_await target.via->whereis_name(self);
    }
    if (!pid.valid()) {
        throw ExitException{ExitReason::noproc()};
    }
    const MonitorRef ref = self.monitor(pid);
    detail::Envelope* e = self.runtime().box(self.pid(), detail::StopRequest{reason});
    e->aux = ref.id;
    e->flags = detail::Envelope::call_flag;
    self.runtime().send_signal(pid, e);
    std::optional<ExitReason> down;
    co_await self
        .receive(when([ref](const DownMsg& d) { return d.ref == ref; },
                      [&](DownMsg d) { down = std::move(d.reason); }))
        .after(timeout, [] {});
    if (!down) {
        self.demonitor(ref, DemonitorOptions{.flush = true});
        throw ExitException{ExitReason::error("timeout")};
    }
    if (!(*down == reason)) {
        throw ExitException{std::move(*down)};  // noproc, or the reason it really exited with.
    }
}

}  // namespace bedlam
