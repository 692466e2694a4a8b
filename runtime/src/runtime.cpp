// Signal delivery, spawning and the name registry: the parts of the runtime both schedulers
// share.
#include "bedlam/runtime/runtime.hpp"

#include <cstdio>
#include <cstdlib>
#include <ostream>

namespace bedlam {

bool Runtime::send_signal(Pid to, detail::Envelope* e) {
    Interposer* hook = interposer();
    // The sequence number identifies a send in the trace and to an interposer. A threaded run
    // with neither skips it: one counter shared by every core would be a contended atomic
    // increment on every send.
    if (single_threaded_ || hook != nullptr || trace_ != nullptr) {
        e->seq = new_seq();
    }
    if (trace_ != nullptr) {
        trace({TraceKind::send, e->from, to, e->seq, nullptr, detail::to_string(e->kind)});
    }
    if (hook == nullptr) {
        return push(to, e);
    }
    if (!single_threaded_) {
        flush_sends();  // Sent before the interposer came: ahead of this signal (§1.1).
    }
    detail::Proc* proc = acquire(to);
    if (proc == nullptr) {
        return push_acquired(nullptr, to, e);
    }
    if (proc->watched(watch_deliveries)) {
        const DeliveryDecision decision = hook->before_deliver(
            DeliveryInfo{e->from, to, e->seq, e->kind == detail::SignalKind::message,
                         detail::type_name_of(e->tag)});
        switch (decision.action) {
            case DeliveryDecision::Action::deliver:
                break;
            case DeliveryDecision::Action::drop:
                release(proc);
                trace({TraceKind::drop, e->from, to, e->seq, nullptr, "interposer"});
                dispose(e);
                return true;
            case DeliveryDecision::Action::delay:
                release(proc);
                BEDLAM_ASSERT(decision.delay >= 0);
                start_timer(decision.delay, to, e, false);
                return true;
            case DeliveryDecision::Action::duplicate:
                if (detail::Envelope* copy = e->clone(pool_); copy != nullptr) {
                    copy->seq = e->seq;
                    push_acquired(proc, to, copy);
                }
                break;
        }
    }
    const bool pushed = push_acquired(proc, to, e);
    release(proc);
    return pushed;
}

bool Runtime::push_single(Pid to, detail::Envelope* e) {
    detail::Proc* proc = acquire(to);
    const bool pushed = push_acquired(proc, to, e);
    if (proc != nullptr) {
        release(proc);
    }
    return pushed;
}


void Runtime::watch(Pid pid, std::uint8_t hooks) {
    if (detail::Proc* proc = acquire(pid); proc != nullptr) {
        proc->add_watch(hooks);
        release(proc);
    }
}

std::string Runtime::path_of(Pid pid) {
    detail::Proc* proc = acquire(pid);
    if (proc == nullptr) {
        return {};
    }
    const std::string* path = proc->path();
    std::string out = path != nullptr ? *path : std::string();
    release(proc);
    return out;
}

std::optional<ProcessKind> Runtime::kind_of(Pid pid) {
    detail::Proc* proc = acquire(pid);
    if (proc == nullptr) {
        return std::nullopt;
    }
    const ProcessKind kind = proc->kind();
    release(proc);
    return kind;
}

const std::string* Runtime::intern_path(std::string_view path) {
    const std::lock_guard lock(paths_mutex_);
    auto it = paths_.find(path);
    if (it == paths_.end()) {
        it = paths_.emplace(path).first;
    }
    return &*it;
}

Pid Runtime::finish_spawn(detail::Proc* proc, detail::Proc* parent, SpawnOptions options,
                          MonitorRef* ref_out) {
    const Pid pid = proc->pid();
    const Pid parent_pid = parent != nullptr ? parent->pid() : Pid{};
    insert(proc);
    const std::string* path = proc->path();
    trace({TraceKind::spawn, pid, parent_pid, 0, nullptr,
           path != nullptr ? path->c_str() : nullptr});  // Interned: outlives the event.
    if (Interposer* hook = interposer(); hook != nullptr) {
        proc->set_watch(hook->on_spawn(SpawnInfo{pid, parent_pid,
                                        path != nullptr ? std::string_view(*path) : std::string_view(),
                                        proc->kind()}));
    }
    if (parent != nullptr && options.link) {
        parent->links().links.insert(pid.id, pid);
        proc->links().links.insert(parent_pid.id, parent_pid);
        trace({TraceKind::link, parent_pid, pid});
    }
    if (parent != nullptr && options.monitor) {
        detail::ProcLinks& links = parent->links();
        const MonitorRef ref = new_ref(links.last_monitor_ref);
        links.last_monitor_ref = ref.id;
        links.monitors_out.assign(ref.id, pid);
        proc->links().monitors_in.assign(ref.id, parent_pid);
        trace({TraceKind::monitor, parent_pid, pid, ref.id});
        if (ref_out != nullptr) {
            *ref_out = ref;
        }
    }
    if (options.eager) {
        schedule_eager(proc);  // May run it, and it may have exited: nothing may use proc now.
    } else {
        schedule(proc);
    }
    return pid;
}

void Runtime::exit(Pid to, const ExitReason& reason) {
    auto* e = make<detail::Boxed<ExitMsg>>(ExitMsg{Pid{}, reason});
    e->kind = detail::SignalKind::exit;
    e->via = detail::ExitVia::exit2;
    send_signal(to, e);
}

bool Runtime::is_alive(Pid pid) {
    detail::Proc* proc = acquire(pid);
    if (proc == nullptr) {
        return false;
    }
    const bool alive = !proc->inbox().closed();
    release(proc);
    return alive;
}

bool Runtime::register_name(std::string_view name, Pid pid) {
    const std::lock_guard lock(names_mutex_);
    if (name.empty() || names_.find(name) != names_.end() || name_of_.count(pid) != 0) {
        return false;
    }
    detail::Proc* proc = acquire(pid);
    if (proc == nullptr) {
        return false;
    }
    // Pairs with release_name: either this sees the inbox closed, or the exiting process sees
    // has_name_ and removes the name under the lock after we release it.
    proc->has_name_.store(true, std::memory_order_seq_cst);
    const bool alive = !proc->inbox().closed();
    release(proc);
    if (!alive) {
        return false;
    }
    names_.emplace(std::string(name), pid);
    name_of_.emplace(pid, std::string(name));
    return true;
}

bool Runtime::unregister_name(std::string_view name) {
    const std::lock_guard lock(names_mutex_);
    auto it = names_.find(name);
    if (it == names_.end()) {
        return false;
    }
    name_of_.erase(it->second);
    names_.erase(it);
    return true;
}

std::optional<Pid> Runtime::whereis(std::string_view name) const {
    const std::lock_guard lock(names_mutex_);
    auto it = names_.find(name);
    if (it == names_.end()) {
        return std::nullopt;
    }
    return it->second;
}

void Runtime::release_name(detail::Proc* proc) {
    if (!proc->has_name_.load(std::memory_order_seq_cst)) {
        return;
    }
    const std::lock_guard lock(names_mutex_);
    auto it = name_of_.find(proc->pid());
    if (it == name_of_.end()) {
        return;
    }
    names_.erase(it->second);
    name_of_.erase(it);
}

// -- Small value types -----------------------------------------------------------------------------

const char* to_string(ProcessKind kind) noexcept {
    switch (kind) {
        case ProcessKind::process:
            return "process";
        case ProcessKind::server:
            return "server";
        case ProcessKind::state_machine:
            return "state_machine";
        case ProcessKind::supervisor:
            return "supervisor";
        case ProcessKind::task:
            return "task";
    }
    return "?";
}

std::string Pid::to_string() const {
    return "<0." + std::to_string(id & 0xffff'ffffU) + "." + std::to_string(id >> 32U) + ">";
}

std::ostream& operator<<(std::ostream& os, Pid pid) { return os << pid.to_string(); }

std::string ExitReason::to_string() const {
    switch (kind_) {
        case Kind::normal:
            return "normal";
        case Kind::shutdown:
            return "shutdown";
        case Kind::shutdown_term:
            return "{shutdown," + term() + "}";
        case Kind::killed:
            return "killed";
        case Kind::kill:
            return "kill";
        case Kind::noproc:
            return "noproc";
        case Kind::error:
            return term();
    }
    return "?";
}

const std::string& ExitReason::empty_term() noexcept {
    static const std::string empty;
    return empty;
}

std::uint64_t ExitReason::digest() const noexcept {
    return mix64(fnv1a(term()) ^ static_cast<std::uint64_t>(kind_));
}

std::ostream& operator<<(std::ostream& os, const ExitReason& reason) {
    return os << reason.to_string();
}

namespace detail {

void assert_failed(const char* expr, const char* file, int line) noexcept {
    std::fprintf(stderr, "bedlam: assertion failed: %s at %s:%d\n", expr, file, line);
    std::abort();
}

void assert_failed_eq(const char* expr, std::uint64_t lhs, std::uint64_t rhs, const char* file,
                      int line) noexcept {
    std::fprintf(stderr, "bedlam: assertion failed: %s (%llu vs %llu) at %s:%d\n", expr,
                 static_cast<unsigned long long>(lhs), static_cast<unsigned long long>(rhs), file,
                 line);
    std::abort();
}

}  // namespace detail
}  // namespace bedlam
