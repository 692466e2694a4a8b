// The supervisor (otp-semantics §3). Rule numbers in comments refer to §3.
#include "bedlam/runtime/supervisor.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <list>
#include <map>

#include "bedlam/runtime/flat_map.hpp"

namespace bedlam {

namespace detail {
namespace {

// -- Requests to the supervisor process ------------------------------------------------------------

struct StartChildReq {
    ChildSpec spec;
};
struct StartChildExtraReq {
    Any extra;
};
struct TerminateChildReq {
    std::string id;
    Pid pid;
};
struct RestartChildReq {
    std::string id;
};
struct DeleteChildReq {
    std::string id;
};
struct WhichChildrenReq {};
struct CountChildrenReq {};
struct GetChildSpecReq {
    std::string id;
};
/// Cast to itself after a failed restart, so that queued calls and EXITs go first (rule 11).
struct TryAgainRestart {
    std::uint64_t serial;
};

struct SupChild {
    ChildSpec spec;
    Any extra;                  // simple_one_for_one: start_child's arguments.
    std::uint64_t serial = 0;   // Unique per child in this supervisor.
    Pid pid;                    // Valid iff running.
    bool restarting = false;    // {restarting, OldPid}: a restart failed and will be retried.
    Pid old_pid;                // The last pid it ran as: OldPid while restarting (rule 14).
    const std::string* path = nullptr;  // Its place in the tree, interned on first start.
};

using ChildList = std::list<SupChild>;
using ChildIt = ChildList::iterator;

class SupervisorServer final : public Server {
public:
    static constexpr ProcessKind process_kind = ProcessKind::supervisor;

    explicit SupervisorServer(SupInitFn init) : init_fn_(std::move(init)) {}
    /// A DynamicSupervisor (§4).
    explicit SupervisorServer(DynSupOptions options)
        : dynamic_(true),
          max_children_(options.max_children),
          extra_(std::move(options.extra_arguments)) {
        flags_ = SupFlags(Strategy::simple_one_for_one, options.max_restarts, options.max_seconds);
    }

    Async<InitResult> init(Self self) override;
    Async<ServerResult> handle_call(Self self, Message request, From from) override;
    Async<ServerResult> handle_cast(Self self, Message request) override;
    Async<ServerResult> handle_info(Self self, Message info) override;
    Async<void> terminate(Self self, ExitReason reason) override;

private:
    [[nodiscard]] bool simple() const noexcept {
        return flags_.strategy == Strategy::simple_one_for_one;
    }
    ChildIt add_child(ChildSpec spec, Any extra);
    void remove_child(ChildIt it);
    void set_pid(ChildIt it, Pid pid);
    /// Marks a child {restarting, OldPid} or not, keeping by_old_pid_ in step.
    void set_restarting(ChildIt it, bool on);
    /// Starts one child; on success records its pid. Returns the start function's result, with
    /// exceptions turned into errors (rule 3).
    Async<StartResult> start(Self self, ChildIt it);
    /// start's parts: the start function's call (at the child's place in the tree), and what
    /// follows its end, an exception being an error (rule 3).
    Async<StartResult> call_start(Self self, ChildIt it);
    StartResult end_start(Self self, ChildIt it, Async<StartResult>::Outcome outcome);
    /// Stops one child by its shutdown rule (rule 7) and forgets its pid.
    Async<void> shut_down(Self self, ChildIt it);
    /// shut_down's wait for a DOWN that was not in at once (and the kill after a time-out).
    Async<void> wait_shut_down(Self self, Pid pid, MonitorRef ref, Shutdown how);
    /// Stops children in reverse start order, from the newest down to `first` (inclusive);
    /// temporary children are removed (rule 4).
    Async<void> shut_down_from(Self self, ChildIt first, bool remove_temporary);
    Async<void> shut_down_all_dynamic(Self self);
    /// Rule 8: records a restart attempt; false when the intensity is exceeded.
    bool add_restart(Self self);
    /// Restarts by the strategy after `it` died or a retry came due (rules 6, 11).
    Async<ServerResult> restart(Self self, ChildIt it);
    /// Starts `it` and every child after it in order; on a failure marks that child restarting
    /// and casts a retry (rule 11).
    Async<void> start_from(Self self, ChildIt it);
    /// Rule 18: whether a significant child's own exit shuts the supervisor down.
    [[nodiscard]] bool auto_shutdown_due(bool significant) const;
    Async<ServerResult> on_exit(Self self, const ExitMsg& exit);
    /// Traces a supervisor report (OTP logs these as supervisor_report).
    static void report(Self self, TraceReport what, Pid child, const ExitReason* reason,
                       const std::string& detail);

    Async<SupReply> do_start_child(Self self, ChildSpec spec, Any extra);
    Async<SupReply> do_terminate_child(Self self, const TerminateChildReq& req);
    Async<SupReply> do_restart_child(Self self, const std::string& id);
    SupReply do_delete_child(const std::string& id);
    [[nodiscard]] std::vector<ChildInfo> which() const;
    [[nodiscard]] ChildCounts counts() const;

    SupInitFn init_fn_;
    bool dynamic_ = false;              // Elixir's DynamicSupervisor rather than supervisor.
    std::optional<int> max_children_;   // DynamicSupervisor: nullopt is infinity.
    Any extra_;                         // DynamicSupervisor: extra_arguments for every start.
    SupFlags flags_;
    ChildSpec template_;  // simple_one_for_one's only spec.
    ChildList children_;  // In start order.
    std::map<std::string, ChildIt> by_id_;
    FlatMap64<ChildIt> by_pid_;     // Running children by pid id.
    FlatMap64<ChildIt> by_serial_;  // Every child by serial.
    FlatMap64<ChildIt> by_old_pid_;  // Restarting children by the pid they last ran as.
    std::uint64_t next_serial_ = 1;
    std::deque<std::int64_t> restarts_;  // Restart times in whole seconds, oldest first.
};

ChildIt SupervisorServer::add_child(ChildSpec spec, Any extra) {
    SupChild child;
    child.spec = std::move(spec);
    child.extra = std::move(extra);
    child.serial = next_serial_++;
    children_.push_back(std::move(child));
    const ChildIt it = std::prev(children_.end());
    if (!simple()) {
        by_id_.emplace(it->spec.id(), it);
    }
    by_serial_.insert(it->serial, it);
    return it;
}

void SupervisorServer::remove_child(ChildIt it) {
    set_restarting(it, false);
    if (it->pid.valid()) {
        by_pid_.erase(it->pid.id);
    }
    if (!simple()) {
        by_id_.erase(it->spec.id());
    }
    by_serial_.erase(it->serial);
    children_.erase(it);
}

void SupervisorServer::set_restarting(ChildIt it, bool on) {
    if (it->restarting == on) {
        return;
    }
    it->restarting = on;
    if (it->old_pid.valid()) {
        if (on) {
            by_old_pid_.assign(it->old_pid.id, it);
        } else {
            by_old_pid_.erase(it->old_pid.id);
        }
    }
}

void SupervisorServer::set_pid(ChildIt it, Pid pid) {
    if (it->pid.valid()) {
        by_pid_.erase(it->pid.id);
        it->old_pid = it->pid;
    }
    it->pid = pid;
    if (pid.valid()) {
        by_pid_.assign(pid.id, it);
    }
}

Async<StartResult> SupervisorServer::start(Self self, ChildIt it) {
    Async<StartResult>::Outcome outcome = co_await call_start(self, it).caught();
    co_return end_start(self, it, std::move(outcome));
}

Async<StartResult> rethrow(std::exception_ptr error) {
    std::rethrow_exception(std::move(error));
    co_return StartResult{};  // Not reached; makes this a coroutine.
}

Async<StartResult> SupervisorServer::call_start(Self self, ChildIt it) {
    if (it->path == nullptr) {
        const std::string base = self.path();
        const std::string& id = it->spec.id().empty() ? template_.id() : it->spec.id();
        it->path = self.runtime().intern_path(base.empty() ? id : base + "/" + id);
    }
    // What the start function spawns sits at the child's place in the tree.
    self.set_child_path(it->path);
    try {
        return it->spec.start()(self, dynamic_ ? extra_ : it->extra);
    } catch (...) {
        return rethrow(std::current_exception());  // Thrown before it returned: the same (rule 3).
    }
}

StartResult SupervisorServer::end_start(Self self, ChildIt it,
                                        Async<StartResult>::Outcome outcome) {
    self.set_child_path(nullptr);
    StartResult result = outcome.error
                             ? StartResult{StartResult::Kind::error, {}, exit_reason_of(outcome.error)}
                             : std::move(*outcome.value);
    if (result.ok()) {
        set_pid(it, result.pid);
        set_restarting(it, false);
    }
    return result;
}

// Rule 7, as OTP's supervisor:shutdown/1: monitor, then brutal_kill, shutdown with a time-out
// and then kill, or shutdown and wait forever; only once the DOWN is in, unlink and drop the
// EXIT the child sent (unlink_flush). The link stays until the child is dead, so a supervisor
// killed while it waits (a fault can strike at any suspension) still takes the child with it.
// A child that does not trap exits is usually down by the time the exit signal is sent (a
// threaded scheduler ends it within this step, and then needs no monitor): then the stop
// completes here, with no wait and no coroutine frame.
Async<void> SupervisorServer::shut_down(Self self, ChildIt it) {
    const Pid pid = it->pid;
    if (!pid.valid()) {
        return Async<void>::ready();
    }
    set_pid(it, Pid{});
    const Shutdown how = it->spec.shutdown();
    bool ended = false;
    const MonitorRef ref = self.monitor_exit(
        pid, how.kind == Shutdown::Kind::brutal_kill ? ExitReason::kill() : ExitReason::shutdown(),
        &ended);
    if (ended) {
        self.unlink_flush(pid);  // Dead within the call, its EXIT (if still linked) in.
        return Async<void>::ready();
    }
    auto down_now = self.receive(
        when([ref](const DownMsg& d) { return d.ref == ref; }, [](const DownMsg& /*d*/) {}));
    if (down_now.ready_now()) {
        down_now.await_resume();
        // A dying process sends its EXITs before its DOWNs, so the EXIT, if any, came in with
        // the DOWN or before it.
        self.unlink_flush(pid);
        return Async<void>::ready();
    }
    return wait_shut_down(self, pid, ref, how);
}

Async<void> SupervisorServer::wait_shut_down(Self self, Pid pid, MonitorRef ref, Shutdown how) {
    auto wait_down = [&](Duration limit) {
        return self
            .receive(when([ref](const DownMsg& d) { return d.ref == ref; },
                          [](const DownMsg& /*d*/) { return true; }))
            .after(limit, [] { return false; });
    };
    if (how.kind == Shutdown::Kind::timeout) {
        // Named first: g++ 12 can miscompile a co_await in a condition (README).
        const bool down = co_await wait_down(how.timeout);
        if (!down) {
            self.exit(pid, ExitReason::kill());
            co_await wait_down(infinity);
        }
    } else {
        co_await wait_down(infinity);
    }
    self.unlink_flush(pid);
}

Async<void> SupervisorServer::shut_down_from(Self self, ChildIt first, bool remove_temporary) {
    if (children_.empty()) {
        co_return;
    }
    ChildIt it = std::prev(children_.end());
    for (;;) {
        const bool last = it == first;
        const ChildIt prev = last ? it : std::prev(it);
        co_await shut_down(self, it);
        set_restarting(it, false);
        if (remove_temporary && it->spec.restart() == Restart::temporary) {
            remove_child(it);
        }
        if (last) {
            break;
        }
        it = prev;
    }
}

// Rule 6 and §4.5: simple_one_for_one and DynamicSupervisor stop all children in parallel; each
// child not down by its shutdown time-out is killed then.
Async<void> SupervisorServer::shut_down_all_dynamic(Self self) {
    struct Waiting {
        Pid pid;
        Ticks deadline;  // When to kill it; max() for brutal_kill, infinity or already killed.
    };
    constexpr Ticks never = std::numeric_limits<Ticks>::max();
    std::map<MonitorRef, Waiting> waiting;
    for (SupChild& child : children_) {
        if (!child.pid.valid()) {
            continue;
        }
        const Pid pid = child.pid;
        const Shutdown how = dynamic_ ? child.spec.shutdown() : template_.shutdown();
        const MonitorRef ref = self.monitor(pid);
        const bool brutal = how.kind == Shutdown::Kind::brutal_kill;
        self.exit(pid, brutal ? ExitReason::kill() : ExitReason::shutdown());
        const Ticks deadline =
            how.kind == Shutdown::Kind::timeout ? self.now() + how.timeout.count() : never;
        waiting.emplace(ref, Waiting{pid, deadline});
    }
    by_pid_.clear();
    while (!waiting.empty()) {
        Ticks next = never;
        for (const auto& [ref, w] : waiting) {
            next = std::min(next, w.deadline);
        }
        const Duration limit =
            next == never ? infinity : Duration(std::max<Ticks>(0, next - self.now()));
        const bool got = co_await self
                             .receive(when([&waiting](const DownMsg& d) {
                                               return waiting.count(d.ref) != 0;
                                           },
                                           [&](DownMsg d) {
                                               // Linked until now, as in shut_down.
                                               self.unlink(d.pid);
                                               waiting.erase(d.ref);
                                               return true;
                                           }))
                             .after(limit, [] { return false; });
        if (!got) {
            for (auto& [ref, w] : waiting) {
                if (w.deadline <= self.now()) {
                    self.exit(w.pid, ExitReason::kill());
                    w.deadline = never;
                }
            }
        }
    }
    for (SupChild& child : children_) {
        child.pid = Pid{};
    }
    // Drain the EXITs the children sent before they were unlinked (unlink_flush).
    for (;;) {
        const bool more = co_await self.receive([](const ExitMsg&) { return true; })
                              .after(Duration::zero(), [] { return false; });
        if (!more) {
            break;
        }
    }
}

void SupervisorServer::report(Self self, TraceReport what, Pid child, const ExitReason* reason,
                              const std::string& detail) {
    self.runtime().trace({TraceKind::report, self.pid(), child, static_cast<std::uint64_t>(what),
                          reason, detail.c_str()});
}

bool SupervisorServer::add_restart(Self self) {
    const std::int64_t now_s = self.now() / 1'000'000'000;
    restarts_.push_back(now_s);
    // Rule 8: keep restarts at or after Now - Period (inclusive), in whole seconds.
    while (!restarts_.empty() && restarts_.front() < now_s - flags_.period) {
        restarts_.pop_front();
    }
    const int slack = flags_.mutation == SupFlags::Mutation::intensity_off_by_one ? 1 : 0;
    return static_cast<std::int64_t>(restarts_.size()) <= flags_.intensity + slack;
}

Async<void> SupervisorServer::start_from(Self self, ChildIt it) {
    for (; it != children_.end(); ++it) {
        // start(self, it) without its frame: a restart storm's every child comes through here.
        Async<StartResult>::Outcome outcome = co_await call_start(self, it).caught();
        const StartResult r = end_start(self, it, std::move(outcome));
        if (r.kind == StartResult::Kind::error) {
            report(self, TraceReport::start_error, Pid{}, &r.reason, it->spec.id());
            set_restarting(it, true);
            cast(self, self.pid(), TryAgainRestart{it->serial});
            co_return;
        }
        if (r.kind == StartResult::Kind::ignore) {
            if (dynamic_) {
                remove_child(it);  // §4.4: a restart returning ignore deletes the child.
                co_return;
            }
            set_pid(it, Pid{});  // Rule 12: a restart returning ignore leaves it undefined.
        }
        if (flags_.strategy == Strategy::one_for_one ||
            flags_.strategy == Strategy::simple_one_for_one) {
            co_return;
        }
    }
}

Async<ServerResult> SupervisorServer::restart(Self self, ChildIt it) {
    if (!add_restart(self)) {
        report(self, TraceReport::shutdown, Pid{}, nullptr, "reached_max_restart_intensity");
        // Rule 9: the dead child is removed, the others stop in terminate, exit shutdown.
        if (!it->pid.valid()) {
            remove_child(it);
        }
        co_return ServerResult::stop(ExitReason::shutdown());
    }
    switch (flags_.strategy) {
        case Strategy::one_for_one:
        case Strategy::simple_one_for_one:
            co_await start_from(self, it);
            break;
        case Strategy::one_for_all:
            // Everyone else stops (temporary bystanders for good), then all start in order.
            co_await shut_down_from(self, children_.begin(), true);
            if (!children_.empty()) {
                co_await start_from(self, children_.begin());
            }
            break;
        case Strategy::rest_for_one: {
            ChildIt from = it;
            if (flags_.mutation == SupFlags::Mutation::rest_for_one_one_too_many &&
                it != children_.begin()) {
                from = std::prev(it);  // The self-check's deliberate bug.
            }
            const std::uint64_t serial = from->serial;
            const ChildIt stop_from = from == it ? std::next(it) : from;
            if (stop_from != children_.end()) {
                co_await shut_down_from(self, stop_from, true);
            }
            if (const ChildIt* found = by_serial_.find(serial); found != nullptr) {
                co_await start_from(self, *found);
            }
            break;
        }
    }
    co_return ServerResult::noreply();
}

// Rule 18.
bool SupervisorServer::auto_shutdown_due(bool significant) const {
    if (!significant) {
        return false;
    }
    switch (flags_.auto_shutdown) {
        case AutoShutdown::never:
            return false;
        case AutoShutdown::any_significant:
            return true;
        case AutoShutdown::all_significant:
            for (const SupChild& child : children_) {
                if (child.spec.significant() && (child.pid.valid() || child.restarting)) {
                    return false;
                }
            }
            return true;
    }
    return false;
}

Async<ServerResult> SupervisorServer::on_exit(Self self, const ExitMsg& exit) {
    const ChildIt* found = by_pid_.find(exit.from.id);
    if (found == nullptr) {
        co_return ServerResult::noreply();  // Rule 19: an EXIT from a non-child is ignored.
    }
    const ChildIt it = *found;
    set_pid(it, Pid{});
    const Restart type = it->spec.restart();
    const bool again = type == Restart::permanent ||
                       (type == Restart::transient && !exit.reason.is_clean());  // Rule 4.
    if (again || !exit.reason.is_clean()) {
        report(self, TraceReport::child_terminated, exit.from, &exit.reason, it->spec.id());
    }
    if (again) {
        co_return co_await restart(self, it);
    }
    const bool significant = it->spec.significant();
    if (type == Restart::temporary || simple()) {
        remove_child(it);
    }
    if (auto_shutdown_due(significant)) {
        co_return ServerResult::stop(ExitReason::shutdown());
    }
    co_return ServerResult::noreply();
}

Async<InitResult> SupervisorServer::init(Self self) {
    self.trap_exit(true);
    if (dynamic_) {
        if (std::optional<ExitReason> bad = check_sup_flags(flags_)) {
            co_return InitResult::stop(std::move(*bad));
        }
        if (max_children_ && *max_children_ < 0) {
            co_return InitResult::stop(ExitReason::error("{supervisor_data,{invalid_max_children," +
                                                         std::to_string(*max_children_) + "}}"));
        }
        co_return InitResult::ok();
    }
    SupInit config;
    std::exception_ptr failed;
    try {
        config = init_fn_(self);
    } catch (...) {
        failed = std::current_exception();
    }
    if (failed) {
        co_return InitResult::stop(exit_reason_of(failed));
    }
    if (config.ignore) {
        co_return InitResult::ignore();
    }
    if (std::optional<ExitReason> bad = check_sup_flags(config.flags)) {
        co_return InitResult::stop(std::move(*bad));
    }
    flags_ = config.flags;
    std::map<std::string, bool> seen;
    for (const ChildSpec& spec : config.children) {
        if (std::optional<ExitReason> bad = check_child_spec(spec, flags_)) {
            co_return InitResult::stop(ExitReason::error("{start_spec," + bad->to_string() + "}"));
        }
        if (!seen.emplace(spec.id(), true).second) {
            co_return InitResult::stop(
                ExitReason::error("{duplicate_child_name," + spec.id() + "}"));
        }
    }
    if (simple()) {
        if (config.children.size() != 1) {
            co_return InitResult::stop(ExitReason::error("{bad_start_spec,_}"));
        }
        template_ = std::move(config.children.front());
        co_return InitResult::ok();
    }
    // Rule 10: start in order; the first failure stops everything, with no retry.
    for (ChildSpec& spec : config.children) {
        const ChildIt it = add_child(std::move(spec), Any());
        const StartResult r = co_await start(self, it);
        if (r.kind == StartResult::Kind::error) {
            const std::string id = it->spec.id();
            remove_child(it);
            co_await shut_down_from(self, children_.begin(), false);
            co_return InitResult::stop(ExitReason::shutdown(
                "{failed_to_start_child," + id + "," + r.reason.to_string() + "}"));
        }
        if (r.kind == StartResult::Kind::ignore && it->spec.restart() == Restart::temporary) {
            remove_child(it);  // Rule 12.
        }
    }
    co_return InitResult::ok();
}

Async<SupReply> SupervisorServer::do_start_child(Self self, ChildSpec spec, Any extra) {
    if (!simple()) {
        if (std::optional<ExitReason> bad = check_child_spec(spec, flags_)) {
            co_return SupReply{SupError::bad_spec, {}, {}, std::move(*bad)};
        }
        if (auto found = by_id_.find(spec.id()); found != by_id_.end()) {
            const SupChild& c = *found->second;
            if (c.pid.valid()) {
                co_return SupReply{SupError::already_started, c.pid, {}, {}};
            }
            co_return SupReply{SupError::already_present, {}, {}, {}};
        }
    }
    if (dynamic_) {
        if (spec.significant()) {
            co_return SupReply{SupError::bad_spec, {}, {},
                               ExitReason::error("{invalid_significant,true}")};
        }
        if (std::optional<ExitReason> bad = check_child_spec(spec, flags_)) {
            co_return SupReply{SupError::bad_spec, {}, {}, std::move(*bad)};
        }
        // §4.3: restarting children count too.
        if (max_children_ && static_cast<int>(children_.size()) >= *max_children_) {
            co_return SupReply{SupError::max_children, {}, {}, {}};
        }
    }
    const ChildIt it = dynamic_   ? add_child(std::move(spec), Any())
                       : simple() ? add_child(template_, std::move(extra))
                                  : add_child(std::move(spec), Any());
    const StartResult r = co_await start(self, it);
    switch (r.kind) {
        case StartResult::Kind::ok:
            co_return SupReply{SupError::none, r.pid, r.info.value_or(std::string()), {}};
        case StartResult::Kind::ignore:
            // Rule 12: kept as undefined, unless temporary or simple_one_for_one.
            if (simple() || it->spec.restart() == Restart::temporary) {
                remove_child(it);
            }
            if (dynamic_) {
                SupReply ignored;
                ignored.ignore = true;  // §4.2: Elixir returns :ignore, not {ok, undefined}.
                co_return ignored;
            }
            co_return SupReply{SupError::none, {}, {}, {}};
        case StartResult::Kind::error:
            remove_child(it);
            if (r.already_started) {
                co_return SupReply{SupError::already_started, r.pid, {}, r.reason};
            }
            co_return SupReply{SupError::start_failed, {}, {}, r.reason};
    }
    co_return SupReply{};
}

Async<SupReply> SupervisorServer::do_terminate_child(Self self, const TerminateChildReq& req) {
    ChildIt it;
    if (simple()) {
        if (!req.pid.valid()) {
            co_return SupReply{SupError::simple_one_for_one, {}, {}, {}};
        }
        if (const ChildIt* found = by_pid_.find(req.pid.id); found != nullptr) {
            it = *found;
        } else if (const ChildIt* restarting = by_old_pid_.find(req.pid.id);
                   restarting != nullptr) {
            // Rule 14, §4.5: a restarting child is found by its old pid (OTP's find_child looks
            // for {restarting, Pid}; Elixir keeps it under its pid).
            it = *restarting;
        } else {
            // Rule 14: a dead pid is fine; a live one that is not ours is not found. §4.5: the
            // DynamicSupervisor says not_found for both.
            co_return dynamic_ || self.is_alive(req.pid)
                ? SupReply{SupError::not_found, {}, {}, {}}
                : SupReply{};
        }
    } else {
        if (req.pid.valid()) {
            co_return SupReply{SupError::not_found, {}, {}, {}};
        }
        auto found = by_id_.find(req.id);
        if (found == by_id_.end()) {
            co_return SupReply{SupError::not_found, {}, {}, {}};
        }
        it = found->second;
    }
    co_await shut_down(self, it);
    set_restarting(it, false);  // A pending retry finds nothing to do.
    if (simple() || it->spec.restart() == Restart::temporary) {
        remove_child(it);
    }
    co_return SupReply{};
}

Async<SupReply> SupervisorServer::do_restart_child(Self self, const std::string& id) {
    if (simple()) {
        co_return SupReply{SupError::simple_one_for_one, {}, {}, {}};
    }
    auto found = by_id_.find(id);
    if (found == by_id_.end()) {
        co_return SupReply{SupError::not_found, {}, {}, {}};
    }
    const ChildIt it = found->second;
    if (it->pid.valid()) {
        co_return SupReply{SupError::running, {}, {}, {}};
    }
    if (it->restarting) {
        co_return SupReply{SupError::restarting, {}, {}, {}};
    }
    const StartResult r = co_await start(self, it);
    if (r.kind == StartResult::Kind::error) {
        co_return SupReply{SupError::start_failed, {}, {}, r.reason};
    }
    co_return SupReply{SupError::none, r.ok() ? r.pid : Pid{},
                       r.ok() ? r.info.value_or(std::string()) : std::string(), {}};
}

SupReply SupervisorServer::do_delete_child(const std::string& id) {
    if (simple()) {
        return SupReply{SupError::simple_one_for_one, {}, {}, {}};
    }
    auto found = by_id_.find(id);
    if (found == by_id_.end()) {
        return SupReply{SupError::not_found, {}, {}, {}};
    }
    if (found->second->pid.valid()) {
        return SupReply{SupError::running, {}, {}, {}};
    }
    if (found->second->restarting) {
        return SupReply{SupError::restarting, {}, {}, {}};
    }
    remove_child(found->second);
    return SupReply{};
}

// Rule 5: newest first.
std::vector<ChildInfo> SupervisorServer::which() const {
    std::vector<ChildInfo> out;
    out.reserve(children_.size());
    for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
        ChildInfo info;
        info.id = simple() ? std::string() : it->spec.id();
        info.pid = it->pid;
        info.state = it->pid.valid()  ? ChildInfo::State::running
                     : it->restarting ? ChildInfo::State::restarting
                                      : ChildInfo::State::undefined;
        info.type = it->spec.type();
        info.modules = it->spec.modules();
        out.push_back(std::move(info));
    }
    return out;
}

// Rule 16.
ChildCounts SupervisorServer::counts() const {
    ChildCounts c;
    for (const SupChild& child : children_) {
        if (child.pid.valid()) {
            ++c.active;
        }
        (child.spec.type() == ChildType::supervisor ? c.supervisors : c.workers) += 1;
    }
    c.specs = simple() && !dynamic_ ? 1 : static_cast<int>(children_.size());
    return c;
}

Async<ServerResult> SupervisorServer::handle_call(Self self, Message request, From /*from*/) {
    if (StartChildReq* r = request.get<StartChildReq>(); r != nullptr) {
        if (simple() && !dynamic_) {
            co_return ServerResult::reply_with(
                SupReply{SupError::bad_spec, {}, {}, ExitReason::error("simple_one_for_one")});
        }
        SupReply reply = co_await do_start_child(self, std::move(r->spec), Any());
        co_return ServerResult::reply_with(std::move(reply));
    }
    if (StartChildExtraReq* r = request.get<StartChildExtraReq>(); r != nullptr) {
        if (!simple() || dynamic_) {
            co_return ServerResult::reply_with(
                SupReply{SupError::bad_spec, {}, {}, ExitReason::error("not simple_one_for_one")});
        }
        SupReply reply = co_await do_start_child(self, ChildSpec(), std::move(r->extra));
        co_return ServerResult::reply_with(std::move(reply));
    }
    if (const TerminateChildReq* r = request.get<TerminateChildReq>(); r != nullptr) {
        SupReply reply = co_await do_terminate_child(self, *r);
        co_return ServerResult::reply_with(std::move(reply));
    }
    if (const RestartChildReq* r = request.get<RestartChildReq>(); r != nullptr) {
        SupReply reply = co_await do_restart_child(self, r->id);
        co_return ServerResult::reply_with(std::move(reply));
    }
    if (const DeleteChildReq* r = request.get<DeleteChildReq>(); r != nullptr) {
        co_return ServerResult::reply_with(do_delete_child(r->id));
    }
    if (request.is<WhichChildrenReq>()) {
        co_return ServerResult::reply_with(which());
    }
    if (request.is<CountChildrenReq>()) {
        co_return ServerResult::reply_with(counts());
    }
    if (const GetChildSpecReq* r = request.get<GetChildSpecReq>(); r != nullptr) {
        std::optional<ChildSpec> spec;
        if (simple()) {
            spec = template_;
        } else if (auto found = by_id_.find(r->id); found != by_id_.end()) {
            spec = found->second->spec;
        }
        co_return ServerResult::reply_with(std::move(spec));
    }
    co_return ServerResult::noreply();
}

Async<ServerResult> SupervisorServer::handle_cast(Self self, Message request) {
    if (const TryAgainRestart* r = request.get<TryAgainRestart>(); r != nullptr) {
        const ChildIt* found = by_serial_.find(r->serial);
        if (found != nullptr && (*found)->restarting) {
            co_return co_await restart(self, *found);
        }
    }
    co_return ServerResult::noreply();
}

Async<ServerResult> SupervisorServer::handle_info(Self self, Message info) {
    if (const ExitMsg* exit = info.get<ExitMsg>(); exit != nullptr) {
        co_return co_await on_exit(self, *exit);
    }
    co_return ServerResult::noreply();  // Rule 19: other messages are dropped.
}

Async<void> SupervisorServer::terminate(Self self, ExitReason /*reason*/) {
    if (simple()) {
        co_await shut_down_all_dynamic(self);
    } else {
        co_await shut_down_from(self, children_.begin(), false);
    }
}

}  // namespace
}  // namespace detail

// -- Validation (rules 1, 2) -----------------------------------------------------------------------

std::optional<ExitReason> check_sup_flags(const SupFlags& flags) {
    if (flags.intensity < 0) {
        return ExitReason::error("{supervisor_data,{invalid_intensity," +
                                 std::to_string(flags.intensity) + "}}");
    }
    if (flags.period <= 0) {
        return ExitReason::error("{supervisor_data,{invalid_period," +
                                 std::to_string(flags.period) + "}}");
    }
    return std::nullopt;
}

std::optional<ExitReason> check_child_spec(const ChildSpec& spec, const SupFlags& flags) {
    if (spec.id().empty() && flags.strategy != Strategy::simple_one_for_one) {
        return ExitReason::error("missing_id");
    }
    if (!spec.start()) {
        return ExitReason::error("missing_start");
    }
    if (spec.shutdown().kind == Shutdown::Kind::timeout && spec.shutdown().timeout.count() < 0) {
        return ExitReason::error(
            "{invalid_shutdown," +
            std::to_string(
                std::chrono::duration_cast<std::chrono::milliseconds>(spec.shutdown().timeout)
                    .count()) +
            "}");
    }
    if (spec.significant() &&
        (spec.restart() == Restart::permanent || flags.auto_shutdown == AutoShutdown::never)) {
        return ExitReason::error(std::string("{bad_combination,[{restart,") +
                                 to_string(spec.restart()) + "},{significant,true}]}");
    }
    return std::nullopt;
}

// -- Starting and the API --------------------------------------------------------------------------

Async<StartResult> start_supervisor(Self self, SupInitFn init, StartOptions options) {
    return start_server<detail::SupervisorServer>(self, std::move(options), std::move(init));
}

Async<StartResult> start_supervisor(Self self, SupFlags flags, std::vector<ChildSpec> children,
                                    StartOptions options) {
    SupInitFn init = [flags, children](Self /*self*/) { return SupInit::ok(flags, children); };
    return start_supervisor(self, std::move(init), std::move(options));
}

Async<StartResult> start_dynamic_supervisor(Self self, DynSupOptions options,
                                            StartOptions start) {
    return start_server<detail::SupervisorServer>(self, std::move(start), std::move(options));
}

void ack_started(Self self, Pid starter) { self.send(starter, StartedAck{self.pid()}); }

Async<StartResult> await_started(Self self, Pid child) {
    std::optional<ExitReason> died = co_await self.receive(
        when([child](const StartedAck& a) { return a.pid == child; },
             [](StartedAck) { return std::optional<ExitReason>(); }),
        when([child](const ExitMsg& m) { return m.from == child; },
             [](ExitMsg m) { return std::optional<ExitReason>(std::move(m.reason)); }));
    if (died) {
        StartResult failed{StartResult::Kind::error, Pid{}, std::move(*died)};
        co_return failed;
    }
    co_return StartResult{StartResult::Kind::ok, child, {}};
}

ChildSpec supervisor_spec(std::string id, SupFlags flags, std::vector<ChildSpec> children) {
    ChildSpec spec(std::move(id), [flags, children](Self self, const Any& /*extra*/) {
        return start_supervisor(self, flags, children);
    });
    spec.type(ChildType::supervisor);
    return spec;
}

Async<SupReply> start_child(Self self, ServerRef sup, ChildSpec spec) {
    detail::StartChildReq req{std::move(spec)};
    co_return co_await call<SupReply>(self, std::move(sup), std::move(req), infinity);
}

Async<SupReply> start_child(Self self, ServerRef sup, Any extra) {
    detail::StartChildExtraReq req{std::move(extra)};
    co_return co_await call<SupReply>(self, std::move(sup), std::move(req), infinity);
}

Async<SupReply> terminate_child(Self self, ServerRef sup, std::string id) {
    detail::TerminateChildReq req{std::move(id), Pid{}};
    co_return co_await call<SupReply>(self, std::move(sup), std::move(req), infinity);
}

Async<SupReply> terminate_child(Self self, ServerRef sup, Pid pid) {
    detail::TerminateChildReq req{std::string(), pid};
    co_return co_await call<SupReply>(self, std::move(sup), std::move(req), infinity);
}

Async<SupReply> restart_child(Self self, ServerRef sup, std::string id) {
    detail::RestartChildReq req{std::move(id)};
    co_return co_await call<SupReply>(self, std::move(sup), std::move(req), infinity);
}

Async<SupReply> delete_child(Self self, ServerRef sup, std::string id) {
    detail::DeleteChildReq req{std::move(id)};
    co_return co_await call<SupReply>(self, std::move(sup), std::move(req), infinity);
}

Async<std::vector<ChildInfo>> which_children(Self self, ServerRef sup) {
    co_return co_await call<std::vector<ChildInfo>>(self, std::move(sup),
                                                    detail::WhichChildrenReq{}, infinity);
}

Async<ChildCounts> count_children(Self self, ServerRef sup) {
    co_return co_await call<ChildCounts>(self, std::move(sup), detail::CountChildrenReq{},
                                         infinity);
}

Async<std::optional<ChildSpec>> get_childspec(Self self, ServerRef sup, std::string id) {
    detail::GetChildSpecReq req{std::move(id)};
    co_return co_await call<std::optional<ChildSpec>>(self, std::move(sup), std::move(req),
                                                      infinity);
}

std::string SupReply::to_string() const {
    switch (error) {
        case SupError::none:
            if (ignore) {
                return "ignore";
            }
            if (!pid.valid()) {
                return "{ok,undefined}";
            }
            return info.empty() ? "{ok," + pid.to_string() + "}"
                                : "{ok," + pid.to_string() + "," + info + "}";
        case SupError::already_started:
            return "{error,{already_started," + pid.to_string() + "}}";
        case SupError::already_present:
            return "{error,already_present}";
        case SupError::not_found:
            return "{error,not_found}";
        case SupError::running:
            return "{error,running}";
        case SupError::restarting:
            return "{error,restarting}";
        case SupError::simple_one_for_one:
            return "{error,simple_one_for_one}";
        case SupError::max_children:
            return "{error,max_children}";
        case SupError::start_failed:
        case SupError::bad_spec:
            return "{error," + reason.to_string() + "}";
    }
    return "?";
}

const char* to_string(Strategy s) noexcept {
    switch (s) {
        case Strategy::one_for_one:
            return "one_for_one";
        case Strategy::one_for_all:
            return "one_for_all";
        case Strategy::rest_for_one:
            return "rest_for_one";
        case Strategy::simple_one_for_one:
            return "simple_one_for_one";
    }
    return "?";
}

const char* to_string(Restart r) noexcept {
    switch (r) {
        case Restart::permanent:
            return "permanent";
        case Restart::transient:
            return "transient";
        case Restart::temporary:
            return "temporary";
    }
    return "?";
}

}  // namespace bedlam
