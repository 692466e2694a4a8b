// The life of one process: handling signals (otp-semantics §1, §2), selective receive, stepping
// the coroutine, and dying. Everything here runs on the thread that owns the process.
#include <string>
#include <utility>

#include "bedlam/runtime/runtime.hpp"

namespace bedlam {
namespace detail {

namespace {

Envelope* make_signal(Runtime& rt, SignalKind kind, Pid from, std::uint64_t aux = 0) {
    auto* e = rt.make<Envelope>();
    e->kind = kind;
    e->from = from;
    e->aux = aux;
    return e;
}

Envelope* make_exit(Runtime& rt, Pid from, ExitReason reason, ExitVia via) {
    auto* e = rt.make<Boxed<ExitMsg>>(ExitMsg{from, std::move(reason)});
    e->kind = SignalKind::exit;
    e->from = from;
    e->via = via;
    return e;
}

Envelope* make_down(Runtime& rt, MonitorRef ref, Pid from, ExitReason reason) {
    auto* e = rt.make<Boxed<DownMsg>>(DownMsg{ref, from, std::move(reason)});
    e->kind = SignalKind::down;
    e->from = from;
    e->aux = ref.id;
    return e;
}

}  // namespace

Proc::~Proc() {
    // A process is destroyed only after it died (terminate) or was discarded.
    BEDLAM_ASSERT(!top_);
    BEDLAM_ASSERT(mailbox_ == nullptr);
    BEDLAM_ASSERT(pending_exit_ == nullptr);
}

ProcLinks& Proc::links() {
    if (!links_) {
        links_ = std::make_unique<ProcLinks>();
    }
    return *links_;
}

std::size_t Proc::mailbox_size() const noexcept {
    std::size_t n = 0;
    for (const Envelope* e = mailbox_; e != nullptr; e = e->next) {
        ++n;
    }
    return n;
}

void Proc::append(Envelope* e) noexcept {
    e->next = nullptr;
    *mailbox_tail_ = e;
    mailbox_tail_ = &e->next;
}

void Proc::drain() {
    Envelope* e = runtime_->single_threaded() ? inbox_.take_all_local() : inbox_.take_all();
    while (e != nullptr) {
        Envelope* next = e->next;
        handle(e);
        e = next;
        if (pending_exit_) {
            // The rest of the batch is handled as it would be by a dead process.
            BEDLAM_ASSERT(deferred_ == nullptr);
            deferred_ = e;
            return;
        }
    }
}

bool Proc::take_from_nested(Envelope* e) {
    // Only these: their handling touches the mailbox, the monitors held and the links, none of
    // which the step that is suspended in a send or spawn is in the middle of. A dying process
    // (dead_: its links are being walked) or one already doomed takes nothing this way.
    if ((e->kind != SignalKind::message && e->kind != SignalKind::down &&
         e->kind != SignalKind::exit) ||
        dead_ || pending_exit_) {
        return false;
    }
    if (!inbox_.empty()) {
        drain();
        if (pending_exit_) {
            return false;  // Pushed after what drain deferred, in order.
        }
    }
    handle(e);
    return true;
}

void Proc::handle(Envelope* e) {
    if (runtime_->tracing()) {
        runtime_->trace({TraceKind::deliver, e->from, pid_, e->seq, nullptr, to_string(e->kind)});
    }
    switch (e->kind) {
        case SignalKind::message:
            if ((e->flags & Envelope::alias_flag) != 0 &&
                !(links_ && links_->monitors_out.contains(e->aux))) {
                // The reply to a call that has ended: its alias is gone (§5.1).
                runtime_->trace(
                    {TraceKind::drop, e->from, pid_, e->seq, nullptr, "inactive alias"});
                break;
            }
            append(e);
            return;
        case SignalKind::exit:
            handle_exit_signal(e);
            return;
        case SignalKind::link:
        case SignalKind::unlink:
        case SignalKind::monitor:
        case SignalKind::demonitor:
            apply_link_signal(e);
            break;
        case SignalKind::down:
            // After demonitor the reference is gone and a late DOWN is dropped (§2.3).
            if (links_ && links_->monitors_out.erase(e->aux)) {
                append(e);
                return;
            }
            break;
        case SignalKind::wake:
            // aux 0 ends any stall (Runtime::wake); otherwise only the stall it was armed for.
            if (stall_ == Stall::stalled &&
                (e->aux == 0 || (links_ && e->aux == links_->stall_seq))) {
                stall_ = Stall::granted;
            }
            break;
        case SignalKind::timeout:
            if (receiving_ && timer_.valid() && e->aux == receive_seq_) {
                timed_out_ = true;
                timer_ = {};
                runtime_->trace({TraceKind::timeout, pid_, Pid{}, e->aux});
            }
            break;
    }
    runtime_->dispose(e);
}

// The peer side of link/1, unlink/1, monitor/2 and demonitor/1: updates this process's tables.
// Other signals are left alone.
void Proc::apply_link_signal(const Envelope* e) {
    switch (e->kind) {
        case SignalKind::link:
            links().links.insert(e->from.id, e->from);
            break;
        case SignalKind::unlink:
            if (links_) {
                links_->links.erase(e->from.id);
            }
            break;
        case SignalKind::monitor:
            links().monitors_in.assign(e->aux, e->from);
            break;
        case SignalKind::demonitor:
            if (links_) {
                links_->monitors_in.erase(e->aux);
            }
            break;
        default:
            break;
    }
}

// otp-semantics §1.3, §1.4.
void Proc::handle_exit_signal(Envelope* e) {
    struct Owned {
        Proc* proc;
        Envelope* e;
        ~Owned() {
            if (e != nullptr) {
                proc->dispose(e);
            }
        }
    } owned{this, e};
    const ExitMsg& m = payload<ExitMsg>(e);
    if (e->via == ExitVia::link) {
        // Dropped if the link is no longer active; otherwise the link is gone with its peer.
        if (!links_ || !links_->links.erase(m.from.id)) {
            runtime_->trace({TraceKind::drop, m.from, pid_, e->seq, nullptr, "inactive link"});
            return;
        }
    }
    if (e->via == ExitVia::exit2 && m.reason.kind() == ExitReason::Kind::kill) {
        payload<ExitMsg>(e).reason = ExitReason::killed();  // Untrappable.
        set_pending_exit(std::exchange(owned.e, nullptr));
        return;
    }
    if (trap_exit_) {
        owned.e = nullptr;
        append(e);  // A link-sent kill stays `kill` and is trappable.
        return;
    }
    if (m.reason.is_normal()) {
        if (e->via == ExitVia::self) {
            set_pending_exit(std::exchange(owned.e, nullptr));
        }
        return;  // `normal` from another process is dropped by a non-trapping receiver.
    }
    set_pending_exit(std::exchange(owned.e, nullptr));
}

void Proc::set_pending_exit(Envelope* e) noexcept {
    BEDLAM_ASSERT(e->tag == tag_of<ExitMsg>());
    if (Envelope* old = std::exchange(pending_exit_, e); old != nullptr) {
        dispose(old);
    }
}

ExitReason Proc::take_pending_exit() noexcept {
    Envelope* e = std::exchange(pending_exit_, nullptr);
    ExitReason reason = std::move(payload<ExitMsg>(e).reason);
    dispose(e);
    return reason;
}

bool Proc::scan() {
    for (Envelope** link = scan_; *link != nullptr; link = &(*link)->next) {
        Envelope* e = *link;
        const std::size_t index = matcher_.fn(matcher_.ctx, e);
        if (index != 0) {
            *link = e->next;
            if (mailbox_tail_ == &e->next) {
                mailbox_tail_ = link;
            }
            e->next = nullptr;
            matched_ = e;
            matched_index_ = static_cast<std::uint32_t>(index - 1);
            scan_ = &mailbox_;
            return true;
        }
        scan_ = &e->next;
    }
    return false;
}

bool Proc::begin_receive(Matcher matcher, Ticks timeout) {
    if (!inbox_.empty()) {
        drain();
    }
    receive_timeout_ = timeout;
    if (pending_exit_) {
        return false;  // Suspend; the step that resumed us ends the process.
    }
    matcher_ = matcher;
    scan_ = &mailbox_;
    timed_out_ = false;
    matched_ = nullptr;
    bool done = mailbox_ != nullptr && scan();
    if (!done && timeout == 0) {
        timed_out_ = true;  // `after 0`: look once, never wait.
        runtime_->trace({TraceKind::timeout, pid_, Pid{}, 0});
        done = true;
    }
    if (done && --budget_ == 0) {
        // The step's receive budget is spent (BEAM counts reductions): finish this receive at
        // the next step, so that other processes get a turn.
        yield_ready_ = true;
        return false;
    }
    return done;
}

bool Proc::receive_now(Matcher matcher) {
    if (!inbox_.empty()) {
        drain();
    }
    if (pending_exit_ || budget_ <= 1) {
        return false;  // A real receive suspends, and the step ends the process or yields.
    }
    matcher_ = matcher;
    scan_ = &mailbox_;
    timed_out_ = false;
    matched_ = nullptr;
    if (mailbox_ == nullptr || !scan()) {
        return false;
    }
    --budget_;
    return true;
}

void Proc::suspend_receive(std::coroutine_handle<> h) {
    resume_point_ = h;
    if (yield_ready_) {
        yield_ready_ = false;
        yielded_ = true;  // Its result is ready; the next step resumes it.
        return;
    }
    receiving_ = true;
    if (!pending_exit_ && receive_timeout_ > 0) {
        ++receive_seq_;
        timer_ = runtime_->start_timer(
            receive_timeout_, pid_, make_signal(*runtime_, SignalKind::timeout, pid_, receive_seq_), false);
    }
}

bool Proc::flush_down(MonitorRef ref) noexcept {
    for (Envelope** link = &mailbox_; *link != nullptr; link = &(*link)->next) {
        Envelope* e = *link;
        if (e->tag == tag_of<DownMsg>() && payload<DownMsg>(e).ref == ref) {
            *link = e->next;
            if (mailbox_tail_ == &e->next) {
                mailbox_tail_ = link;
            }
            dispose(e);
            return true;
        }
    }
    return false;
}

bool Proc::flush_exit(Pid from) noexcept {
    for (Envelope** link = &mailbox_; *link != nullptr; link = &(*link)->next) {
        Envelope* e = *link;
        if (e->tag == tag_of<ExitMsg>() && payload<ExitMsg>(e).from == from) {
            *link = e->next;
            if (mailbox_tail_ == &e->next) {
                mailbox_tail_ = link;
            }
            dispose(e);
            return true;
        }
    }
    return false;
}

StepResult Proc::step() {
    BEDLAM_ASSERT(!dead_);
    if (!inbox_.empty()) {
        drain();
    }
    if (pending_exit_) {
        terminate(take_pending_exit());
        return StepResult::exited;
    }
    if (stall_ == Stall::stalled) {
        return try_block() ? StepResult::blocked : StepResult::runnable;  // Until a wake.
    }
    if (receiving_) {
        if ((*scan_ == nullptr || !scan()) && !timed_out_) {
            return try_block() ? StepResult::blocked : StepResult::runnable;
        }
        receiving_ = false;
        if (timer_.valid()) {
            runtime_->drop_timer(timer_);
            timer_ = {};
        }
    }
    if (Interposer* hook = runtime_->interposer();
        hook != nullptr && stall_ != Stall::granted && watched(watch_resumes)) {
        ResumeDecision decision = hook->before_resume(pid_);
        if (decision.action == ResumeDecision::Action::crash) {
            // The process raises at this resumption: it dies with the chosen reason.
            if (matched_ != nullptr) {
                dispose(std::exchange(matched_, nullptr));
            }
            terminate(std::move(decision.reason));
            return StepResult::exited;
        }
        if (decision.action == ResumeDecision::Action::stall) {
            // It keeps what it was about to resume with (a matched message, a time-out) and
            // waits for a wake; signals still reach it meanwhile, so it can be killed.
            BEDLAM_ASSERT(decision.delay >= 0);
            stall_ = Stall::stalled;
            const std::uint32_t seq = ++links().stall_seq;
            if (decision.delay != stall_forever) {
                runtime_->start_timer(decision.delay, pid_,
                                      make_signal(*runtime_, SignalKind::wake, pid_, seq), false);
            }
            return try_block() ? StepResult::blocked : StepResult::runnable;
        }
    }
    // Woken from a stall, it completes at most one more receive before it is asked again, so a
    // slow process pays its delay per message, not per batch.
    budget_ = std::exchange(stall_, Stall::none) == Stall::granted ? 1 : runtime_->receive_budget();
    yielded_ = false;
    // Saved, not cleared: a threaded scheduler may run this step inside another process's (see
    // ThreadScheduler::run_nested).
    Proc* const outer = std::exchange(current_proc, this);
    resume_point_.resume();
    current_proc = outer;
    if (top_.done()) {
        terminate(reason_from_body());
        return StepResult::exited;
    }
    if (pending_exit_) {
        terminate(take_pending_exit());
        return StepResult::exited;
    }
    if (receiving_) {
        return try_block() ? StepResult::blocked : StepResult::runnable;
    }
    BEDLAM_ASSERT(yielded_);
    return StepResult::runnable;
}

ExitReason Proc::reason_from_body() const {
    const std::exception_ptr error = top_.promise().error;
    return error ? exit_reason_of(error) : ExitReason::normal();
}

void Proc::discard() noexcept {
    dead_ = true;
    if (pending_exit_ != nullptr) {
        dispose(std::exchange(pending_exit_, nullptr));
    }
    if (top_) {
        top_.destroy();
        top_ = {};
    }
    dispose_list(std::exchange(mailbox_, nullptr));
    mailbox_tail_ = &mailbox_;
    dispose_list(std::exchange(deferred_, nullptr));
    dispose_list(std::exchange(matched_, nullptr));
    dispose_list(close_inbox());
}

void Proc::dispose(Envelope* e) noexcept { runtime_->dispose(e); }

void Proc::dispose_list(Envelope* e) noexcept { runtime_->dispose_list(e); }

bool Proc::try_block() noexcept {
    return runtime_->single_threaded() ? inbox_.try_block_local() : inbox_.try_block();
}

Envelope* Proc::close_inbox() noexcept {
    return runtime_->single_threaded() ? inbox_.close_local() : inbox_.close();
}

// Ends the process: frees its frame and mailbox, releases its name, answers signals that reached
// it too late, then sends exit signals to its links and DOWNs to its monitors (§1.8).
void Proc::terminate(ExitReason reason) {
    BEDLAM_ASSERT(!dead_);
    dead_ = true;
    if (pending_exit_ != nullptr) {  // Ended otherwise before its step took the exit.
        dispose(std::exchange(pending_exit_, nullptr));
    }
    receiving_ = false;
    if (timer_.valid()) {
        runtime_->drop_timer(timer_);
        timer_ = {};
    }
    if (top_) {
        top_.destroy();  // Runs the destructors of the body's locals.
        top_ = {};
    }
    dispose_list(std::exchange(mailbox_, nullptr));
    mailbox_tail_ = &mailbox_;
    dispose_list(std::exchange(matched_, nullptr));

    // Signals that reached the inbox before it closed: links and monitors made to a process that
    // is exiting are answered with its exit reason; the rest is dropped.
    Envelope* late = std::exchange(deferred_, nullptr);
    for (int round = 0; round < 2; ++round) {
        while (late != nullptr) {
            Envelope* e = late;
            late = e->next;
            apply_link_signal(e);  // Messages, exits and DOWNs are dropped.
            dispose(e);
        }
        if (round == 0) {
            late = close_inbox();
        }
    }

    // Only once the inbox is closed: register_name either sees it closed or sets has_name_
    // before this reads it (see Runtime::register_name).
    runtime_->release_name(this);

    if (runtime_->tracing()) {  // The digest is not free: only for a trace.
        runtime_->trace({TraceKind::exit, pid_, Pid{}, reason.digest(), &reason});
    }
    if (Interposer* hook = runtime_->interposer(); hook != nullptr) {
        hook->on_exit(pid_, reason);
    }
    if (links_) {
        const std::unique_ptr<ProcLinks> links = std::move(links_);
        // In creation order (pid and reference order), not the maps' hash order: a watcher
        // with two monitors on this process gets their DOWNs in the order it set them.
        links->links.for_each_in_key_order([&](std::uint64_t /*id*/, Pid peer) {
            runtime_->send_signal(peer, make_exit(*runtime_, pid_, reason, ExitVia::link));
        });
        links->monitors_in.for_each_in_key_order([&](std::uint64_t ref, Pid watcher) {
            runtime_->trace({TraceKind::down, pid_, watcher, ref, &reason});
            runtime_->send_signal(watcher, make_down(*runtime_, MonitorRef{ref}, pid_, reason));
        });
        // Monitors this process held: let their targets forget them.
        links->monitors_out.for_each([&](std::uint64_t ref, Pid target) {
            runtime_->send_signal(target, make_signal(*runtime_, SignalKind::demonitor, pid_, ref));
        });
    }
    runtime_->remove(this);  // May destroy *this: nothing may follow.
}

}  // namespace detail

ExitReason exit_reason_of(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const ExitException& x) {
        return x.reason;
    } catch (const NoProcError&) {
        return ExitReason::noproc();
    } catch (const std::exception& x) {
        return ExitReason::error(x.what());
    } catch (...) {
        return ExitReason::error("unknown exception");
    }
}

// -- Message ---------

void Message::reset() noexcept {
    if (e_ != nullptr && owned_) {
        owner_->dispose(std::exchange(e_, nullptr));
    }
}

// -- Self ------------------------------------------------------------------------------------------

Ticks Self::now() const { return runtime().now(); }

void Self::link(Pid pid) const {
    const Pid me = this->pid();
    if (pid == me) {
        return;  // §1.5: a link to self does nothing.
    }
    if (!proc_->links().links.insert(pid.id, pid)) {
        return;  // §1.5: at most one link per pair.
    }
    runtime().trace({TraceKind::link, me, pid});
    if (runtime().send_signal(pid, detail::make_signal(runtime(), detail::SignalKind::link, me))) {
        return;
    }
    // §1.6: the target does not exist.
    if (proc_->trap_exit()) {
        runtime().push(me, detail::make_exit(runtime(), pid, ExitReason::noproc(), detail::ExitVia::link));
        return;
    }
    proc_->links().links.erase(pid.id);
    throw NoProcError();
}

void Self::unlink(Pid pid) const {
    const Pid me = this->pid();
    if (!proc_->links().links.erase(pid.id)) {
        return;  // §1.7: no link, no-op.
    }
    runtime().trace({TraceKind::unlink, me, pid});
    runtime().send_signal(pid, detail::make_signal(runtime(), detail::SignalKind::unlink, me));
}

void Self::unlink_flush(Pid pid) const {
    Runtime& rt = runtime();
    if (rt.single_threaded() || rt.tracing() || rt.interposer() != nullptr) {
        unlink(pid);  // The simulator's trace keeps the unlink signal and its drop.
    } else {
        proc_->links().links.erase(pid.id);
    }
    proc_->flush_exit(pid);
}

void Self::exit(Pid pid, const ExitReason& reason) const {
    const Pid me = this->pid();
    if (pid != me) {
        runtime().send_signal(pid, detail::make_exit(runtime(), me, reason, detail::ExitVia::exit2));
        return;
    }
    // §1.4: exit(self(), R).
    if (reason.kind() == ExitReason::Kind::kill) {
        throw ExitException{ExitReason::killed()};
    }
    if (proc_->trap_exit()) {
        runtime().push(me, detail::make_exit(runtime(), me, reason, detail::ExitVia::self));
        return;
    }
    throw ExitException{reason};
}

void Self::exit(const ExitReason& reason) const { throw ExitException{reason}; }

MonitorRef Self::monitor(Pid pid) const {
    const Pid me = this->pid();
    detail::ProcLinks& links = proc_->links();
    const MonitorRef ref = runtime().new_ref(links.last_monitor_ref);
    links.last_monitor_ref = ref.id;
    links.monitors_out.assign(ref.id, pid);
    runtime().trace({TraceKind::monitor, me, pid, ref.id});
    if (!runtime().send_signal(pid, detail::make_signal(runtime(), detail::SignalKind::monitor, me, ref.id))) {
        // §2.1: DOWN with `noproc` at once.
        runtime().trace({TraceKind::down, pid, me, ref.id});
        runtime().push(me, detail::make_down(runtime(), ref, pid, ExitReason::noproc()));
    }
    return ref;
}

MonitorRef Self::monitor_exit(Pid pid, const ExitReason& reason, bool* ended) const {
    Runtime& rt = runtime();
    const Pid me = this->pid();
    if (ended != nullptr) {
        *ended = false;
    }
    // One push needs a multi-threaded runtime with nothing that sees each signal on its own way.
    if (pid == me || rt.single_threaded() || rt.tracing() || rt.interposer() != nullptr) {
        const MonitorRef ref = monitor(pid);
        exit(pid, reason);
        return ref;
    }
    detail::Envelope* exit_signal = detail::make_exit(rt, me, reason, detail::ExitVia::exit2);
    detail::ProcLinks& links = proc_->links();
    if (ended != nullptr && !reason.is_normal()) {
        if (detail::Proc* target = rt.claim_sleeping(pid, exit_signal); target != nullptr) {
            if (!target->trap_exit() && rt.run_claimed(target)) {
                *ended = true;  // Its exit signal ended it, a reason other than normal.
                return MonitorRef{};
            }
            // It traps exits: the monitor goes in after the exit signal, which no one can tell
            // apart, as it takes both before it runs again.
            const MonitorRef ref = rt.new_ref(links.last_monitor_ref);
            links.last_monitor_ref = ref.id;
            links.monitors_out.assign(ref.id, pid);
            target->inbox().push(detail::make_signal(rt, detail::SignalKind::monitor, me, ref.id));
            rt.run_claimed(target);
            return ref;
        }
    }
    const MonitorRef ref = rt.new_ref(links.last_monitor_ref);
    links.last_monitor_ref = ref.id;
    links.monitors_out.assign(ref.id, pid);
    if (!rt.push_pair(pid, detail::make_signal(rt, detail::SignalKind::monitor, me, ref.id),
                      exit_signal)) {
        rt.push(me, detail::make_down(rt, ref, pid, ExitReason::noproc()));  // §2.1, as monitor()
    }
    return ref;
}

bool Self::demonitor(MonitorRef ref, DemonitorOptions options) const {
    bool active = false;
    detail::ProcLinks& links = proc_->links();
    if (Pid target; links.monitors_out.erase(ref.id, &target)) {
        active = true;
        runtime().trace({TraceKind::demonitor, pid(), target, ref.id});
        runtime().send_signal(target,
                              detail::make_signal(runtime(), detail::SignalKind::demonitor, pid(), ref.id));
    }
    if (options.flush) {
        proc_->flush_down(ref);
    }
    return options.info ? active : true;
}

bool Self::is_alive(Pid pid) const { return runtime().is_alive(pid); }

bool Self::register_name(std::string_view name, Pid pid) const {
    return runtime().register_name(name, pid);
}

bool Self::unregister_name(std::string_view name) const {
    return runtime().unregister_name(name);
}

std::optional<Pid> Self::whereis(std::string_view name) const { return runtime().whereis(name); }

void Runtime::wake(Pid pid) {
    push(pid, detail::make_signal(*this, detail::SignalKind::wake, Pid{}, 0));
}

std::string Self::path() const {
    const std::string* p = proc_->path();
    return p != nullptr ? *p : std::string();
}

void Self::set_child_path(std::string_view path) const {
    proc_->set_child_path(path.empty() ? nullptr : runtime().intern_path(path));
}

std::optional<Duration> Self::cancel_timer(TimerRef ref) const {
    const std::optional<Ticks> left = runtime().cancel_timer(ref);
    if (!left) {
        return std::nullopt;
    }
    return Duration(*left);
}

}  // namespace bedlam
