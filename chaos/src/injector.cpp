// Carrying out a fault plan (docs/chaos.md). Every random choice is drawn from rng_ in the order
// the scheduler calls the hooks, which on the simulator is a function of the seed alone.
#include "bedlam/chaos/injector.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <stdexcept>

#include "bedlam/chaos/glob.hpp"

namespace bedlam::chaos {

namespace {

/// Locks only on the threaded scheduler; the simulator never needs it.
class MaybeLock {
public:
    MaybeLock(std::mutex& mutex, bool threaded) : mutex_(threaded ? &mutex : nullptr) {
        if (mutex_ != nullptr) {
            mutex_->lock();
        }
    }
    MaybeLock(const MaybeLock&) = delete;
    MaybeLock& operator=(const MaybeLock&) = delete;
    ~MaybeLock() {
        if (mutex_ != nullptr) {
            mutex_->unlock();
        }
    }

private:
    std::mutex* mutex_;
};

bool is_toxic(FaultKind k) {
    return k == FaultKind::service_down || k == FaultKind::poison || k == FaultKind::slow ||
           k == FaultKind::hang;
}

std::uint64_t bit(std::size_t i) { return std::uint64_t{1} << i; }

}  // namespace

std::uint64_t FaultCounts::total() const noexcept {
    std::uint64_t n = 0;
    for (std::uint64_t c : by_kind) {
        n += c;
    }
    return n;
}

Injector::Injector(Runtime& runtime, Plan plan, std::uint64_t seed)
    : runtime_(runtime),
      plan_(std::move(plan)),
      rng_(seed ^ 0x4348'414f'5321'0002ULL),  // "CHAOS!": a stream apart from the scheduler's.
      threaded_(!runtime.single_threaded()) {
    require_valid(plan_);
    next_at_.assign(plan_.faults.size(), never);
    for (std::size_t i = 0; i < plan_.faults.size(); ++i) {
        const Fault& f = plan_.faults[i];
        if (threaded_ && !threads_support(f.kind)) {
            throw std::invalid_argument(
                "fault " + std::to_string(i) + " (" + to_string(f.kind) +
                "): needs the simulator's control of scheduling and time; the threaded scheduler "
                "runs only kill, crash, exit, drop, delay, duplicate, service_down and fault_point");
        }
        switch (f.kind) {
            case FaultKind::drop:
            case FaultKind::delay:
            case FaultKind::duplicate:
            case FaultKind::reorder:
            case FaultKind::poison:
                network_faults_ |= bit(i);
                break;
            case FaultKind::slow:
                resume_faults_ |= bit(i);
                break;
            case FaultKind::timer_skew:
                timer_faults_ |= bit(i);
                break;
            case FaultKind::fault_point:
                point_faults_ |= bit(i);
                break;
            default:
                break;
        }
        if (f.target.by == Target::By::name) {
            name_targets_ |= bit(i);
        }
        // Process faults strike at `at`, or first at a drawn time in their window.
        if (f.at) {
            next_at_[i] = *f.at;
        } else if (f.rate > 0) {
            next_at_[i] = next_after(i, f.from);
        }
    }
    update_next_action();
}

Injector::~Injector() {
    if (installed_ && runtime_.interposer() == this) {
        runtime_.set_interposer(nullptr);
    }
}

void Injector::install() {
    installed_ = true;
    runtime_.set_interposer(this);
}

FaultCounts Injector::counts() const {
    const MaybeLock lock(mutex_, threaded_);
    return counts_;
}

// -- Helpers ---------------------------------------------------------------------------------------

Ticks Injector::closes(std::size_t i) const {
    const Fault& f = plan_.faults[i];
    if (is_toxic(f.kind) && !f.heals) {
        return f.until;
    }
    return std::min(f.until, plan_.faults_until);
}

bool Injector::active(std::size_t i, Ticks now) const {
    return now >= plan_.faults[i].from && now < closes(i);
}

std::size_t Injector::index_of(Pid pid) const {
    if (!threaded_) {
        return pid.id < procs_.size() ? pid.id : procs_.size();
    }
    const std::uint32_t* i = index_.find(pid.id);
    return i != nullptr ? *i : procs_.size();
}

Injector::ProcState* Injector::state_of(Pid pid) {
    const std::size_t i = index_of(pid);
    return i < procs_.size() && procs_[i].alive ? &procs_[i] : nullptr;
}

bool Injector::targets(std::size_t i, Pid pid) {
    const ProcState* p = state_of(pid);
    if (p == nullptr) {
        return false;
    }
    if ((name_targets_ & bit(i)) != 0) {
        return runtime_.whereis(plan_.faults[i].target.pattern) == pid;
    }
    return (p->targeted_by & bit(i)) != 0;
}

bool Injector::roll(double probability) {
    if (probability >= 1) {
        return true;
    }
    // A 32-bit threshold: exact for the decimal probabilities plans use, and the same on every
    // compiler (no floating-point arithmetic on the random number).
    const auto threshold = static_cast<std::uint64_t>(probability * 4294967296.0);
    return rng_.below(std::uint64_t{1} << 32U) < threshold;
}

Ticks Injector::draw(Ticks min, Ticks max) {
    return min + static_cast<Ticks>(rng_.below(static_cast<std::uint64_t>(max - min) + 1));
}

// A stochastic process fault's events are spaced by a gap drawn uniformly from (0, 2/rate], so
// `rate` is the mean number per virtual second. Past its window it strikes no more.
Ticks Injector::next_after(std::size_t i, Ticks now) {
    const Fault& f = plan_.faults[i];
    const auto mean = static_cast<Ticks>(1e9 / f.rate);
    const Ticks gap = 1 + draw(0, std::max<Ticks>(0, 2 * mean - 1));
    const Ticks at = now + gap;
    return at < closes(i) ? at : never;
}

std::vector<Pid> Injector::victims(std::size_t i) {
    const Fault& f = plan_.faults[i];
    std::vector<Pid> matches;
    if (f.target.by == Target::By::name) {
        if (const std::optional<Pid> pid = runtime_.whereis(f.target.pattern);
            pid && state_of(*pid) != nullptr) {
            matches.push_back(*pid);
        }
    } else {
        for (const ProcState& p : procs_) {
            if (p.alive && (p.targeted_by & bit(i)) != 0) {
                matches.push_back(p.pid);
            }
        }
    }
    if (f.every || matches.size() <= 1) {
        return matches;
    }
    return {matches[rng_.below(matches.size())]};
}

void Injector::note(FaultKind kind, Pid a, Pid b, const ExitReason* reason, bool broken_order) {
    ++counts_.by_kind[static_cast<std::size_t>(kind)];
    const std::uint64_t x = static_cast<std::uint64_t>(kind) + 1 + (broken_order ? 0x100U : 0U);
    runtime_.trace(TraceEvent(TraceKind::fault, a, b, x, reason,
                              broken_order ? "reorder (pair order broken)" : to_string(kind)));
}

// -- Timed faults ------------------------------------------------------------------------------------

// The simulator asks before every step, so the answer is kept ready.
Ticks Injector::next_action() const {
    const MaybeLock lock(mutex_, threaded_);
    return next_action_;
}

void Injector::update_next_action() {
    Ticks next = never;
    for (Ticks t : next_at_) {
        next = std::min(next, t);
    }
    // At faults_until hung processes and services are healed.
    if (!healed_ && plan_.faults_until != never) {
        next = std::min(next, plan_.faults_until);
    }
    next_action_ = next;
}

// Decides under the lock, then acts without it: exit signals and floods go back through
// before_deliver, which takes the lock on the threaded scheduler.
void Injector::act(Runtime& /*runtime*/, Ticks now) {
    std::vector<Deferred> todo;
    {
        const MaybeLock lock(mutex_, threaded_);
        for (std::size_t i = 0; i < next_at_.size(); ++i) {
            if (next_at_[i] > now) {
                continue;
            }
            strike(i, now, todo);
            const Fault& f = plan_.faults[i];
            next_at_[i] = f.at ? never : next_after(i, now);
        }
        if (!healed_ && now >= plan_.faults_until) {
            heal(now, todo);
        }
        update_next_action();
    }
    for (const Deferred& d : todo) {
        switch (d.what) {
            case Deferred::What::exit:
                runtime_.exit(d.pid, d.reason);
                break;
            case Deferred::What::flood:
                for (std::uint32_t n = 0; n < d.count; ++n) {
                    runtime_.send(d.pid, Flood{d.fault});
                }
                break;
            case Deferred::What::wake:
                runtime_.wake(d.pid);
                break;
        }
    }
}

void Injector::strike(std::size_t i, Ticks now, std::vector<Deferred>& todo) {
    const Fault& f = plan_.faults[i];
    switch (f.kind) {
        case FaultKind::service_down: {
            const Ticks until = f.duration == never ? never : now + f.duration;
            Ticks& down = down_until_[f.name];
            down = std::max(down, until);
            note(f.kind, Pid{}, Pid{});
            return;
        }
        default:
            break;
    }
    for (const Pid victim : victims(i)) {
        switch (f.kind) {
            case FaultKind::kill: {
                const ExitReason kill = ExitReason::kill();
                note(f.kind, victim, Pid{}, &kill);
                todo.push_back(Deferred{Deferred::What::exit, victim, kill, 0, 0});
                break;
            }
            case FaultKind::exit:
                note(f.kind, victim, Pid{}, &f.reason);
                todo.push_back(Deferred{Deferred::What::exit, victim, f.reason, 0, 0});
                break;
            case FaultKind::crash:
                note(f.kind, victim, Pid{}, &f.reason);
                crash_pending_.insert_or_assign(victim.id, f.reason);
                runtime_.watch(victim, watch_resumes);
                break;
            case FaultKind::hang: {
                ProcState* p = state_of(victim);
                if (p->hung_until == 0) {
                    ++hung_;
                }
                p->hung_until = f.duration == never ? never : now + f.duration;
                p->hang_heals = f.heals;
                runtime_.watch(victim, watch_resumes);
                note(f.kind, victim);
                break;
            }
            case FaultKind::flood:
                note(f.kind, victim);
                todo.push_back(Deferred{Deferred::What::flood, victim, {}, f.count,
                                        static_cast<std::uint32_t>(i)});
                break;
            default:
                break;
        }
    }
}

// After faults_until: hung processes go on (if their fault heals), downed services come back.
void Injector::heal(Ticks now, std::vector<Deferred>& todo) {
    healed_ = true;
    for (ProcState& p : procs_) {
        if (p.alive && p.hung_until > now && p.hang_heals) {
            p.hung_until = 0;
            --hung_;
            todo.push_back(Deferred{Deferred::What::wake, p.pid, {}, 0, 0});
        }
    }
    for (const Fault& f : plan_.faults) {
        if (f.kind == FaultKind::service_down && f.heals) {
            down_until_.erase(f.name);
        }
    }
}

// -- Hooks -------------------------------------------------------------------------------------------

std::uint8_t Injector::on_spawn(const SpawnInfo& info) {
    const MaybeLock lock(mutex_, threaded_);
    std::size_t at = info.child.id;
    if (threaded_) {
        at = procs_.size();
        index_.assign(info.child.id, static_cast<std::uint32_t>(at));
    }
    if (procs_.size() <= at) {
        procs_.resize(at + 1);
    }
    ProcState& p = procs_[at];
    p = ProcState{};
    p.pid = info.child;
    p.path = info.path;
    p.kind = info.kind;
    p.alive = true;
    for (std::size_t i = 0; i < plan_.faults.size(); ++i) {
        const Target& t = plan_.faults[i].target;
        const bool match = t.by == Target::By::all ||
                           (t.by == Target::By::path && glob_match(t.pattern, info.path)) ||
                           (t.by == Target::By::kind && t.kind == info.kind);
        if (match) {
            p.targeted_by |= bit(i);
        }
        // A transient fault crashes the first `count` processes at each matching place, each
        // at a drawn resumption (1 to 3), so a restart eventually runs healthy.
        const Fault& f = plan_.faults[i];
        if (f.kind == FaultKind::transient && match && !info.path.empty() && p.transient == 0 &&
            runtime_.now() < closes(i) && runtime_.now() >= f.from) {
            const std::uint32_t done = transient_done_[std::string(info.path)];
            if (done < f.count) {
                p.transient = static_cast<std::uint32_t>(i + 1);
                p.crash_at = 1 + static_cast<std::uint32_t>(rng_.below(3));
            }
        }
    }
    // Only the hooks the plan can need for this process; crash(), hang() and poison add
    // watch_resumes when they pick it.
    std::uint8_t watch = watch_none;
    if ((p.targeted_by & network_faults_) != 0 || (name_targets_ & network_faults_) != 0) {
        watch |= watch_deliveries;
    }
    if ((p.targeted_by & resume_faults_) != 0 || (name_targets_ & resume_faults_) != 0 ||
        p.transient != 0) {
        watch |= watch_resumes;
    }
    return watch;
}

void Injector::on_exit(Pid pid, const ExitReason& /*reason*/) {
    const MaybeLock lock(mutex_, threaded_);
    if (const std::size_t i = index_of(pid); i < procs_.size()) {
        ProcState& p = procs_[i];
        if (p.hung_until != 0) {
            --hung_;
        }
        p.alive = false;
        p.hung_until = 0;
    }
    crash_pending_.erase(pid.id);
}

ResumeDecision Injector::before_resume(Pid pid) {
    const MaybeLock lock(mutex_, threaded_);
    ProcState* p = state_of(pid);
    if (p == nullptr) {
        return {};
    }
    if (crash_pending_.empty() && p->transient == 0 && hung_ == 0 &&
        (p->targeted_by & resume_faults_) == 0 && (name_targets_ & resume_faults_) == 0) {
        return {};  // Nothing in the plan concerns this resumption.
    }
    if (!crash_pending_.empty()) {
        if (auto it = crash_pending_.find(pid.id); it != crash_pending_.end()) {
            ResumeDecision crash{ResumeDecision::Action::crash, std::move(it->second), 0};
            crash_pending_.erase(it);
            return crash;
        }
    }
    if (p->transient != 0) {
        if (++p->resumes == p->crash_at) {
            ++transient_done_[std::string(p->path)];
            p->transient = 0;
            const ExitReason reason = ExitReason::error("{transient," + std::string(p->path) + "}");
            note(FaultKind::transient, pid, Pid{}, &reason);
            return ResumeDecision{ResumeDecision::Action::crash, reason, 0};
        }
    }
    const Ticks now = runtime_.now();
    if (hung_ != 0 && p->hung_until > now) {
        note(FaultKind::hang, pid);
        const Ticks left = p->hung_until == never ? stall_forever : p->hung_until - now;
        return ResumeDecision{ResumeDecision::Action::stall, {}, left};
    }
    if (resume_faults_ != 0) {
        for (std::size_t i = 0; i < plan_.faults.size(); ++i) {
            if ((resume_faults_ & bit(i)) != 0 && active(i, now) && targets(i, pid)) {
                const Fault& f = plan_.faults[i];
                note(f.kind, pid);
                return ResumeDecision{ResumeDecision::Action::stall, {},
                                      draw(f.min_delay, f.max_delay)};
            }
        }
    }
    return {};
}

// Keeps per-pair order: a signal sent while an earlier one from the same sender to the same
// receiver is still in flight arrives after it (equal deadlines fire in the order they were set).
DeliveryDecision Injector::hold_in_order(const DeliveryInfo& info, Ticks now, Ticks delay,
                                         bool keep_order) {
    if (!keep_order) {
        return DeliveryDecision{DeliveryDecision::Action::delay, delay};
    }
    Ticks& until = in_flight_until_[PairKey{info.from.id, info.to.id}];
    until = std::max(until, now + delay);
    return DeliveryDecision{DeliveryDecision::Action::delay, until - now};
}

DeliveryDecision Injector::before_deliver(const DeliveryInfo& info) {
    if (network_faults_ == 0) {
        return {};
    }
    const MaybeLock lock(mutex_, threaded_);
    if (in_flight_until_.empty() && (name_targets_ & network_faults_) == 0) {
        const ProcState* p = state_of(info.to);
        if (p == nullptr || (p->targeted_by & network_faults_) == 0) {
            return {};  // Nothing in the plan concerns this receiver.
        }
    }
    const Ticks now = runtime_.now();
    if (!in_flight_until_.empty()) {
        auto it = in_flight_until_.find(PairKey{info.from.id, info.to.id});
        if (it != in_flight_until_.end()) {
            if (it->second > now) {
                return DeliveryDecision{DeliveryDecision::Action::delay, it->second - now};
            }
            in_flight_until_.erase(it);
        }
    }
    if (!info.is_message) {
        return {};  // Exit, link and monitor signals are never lost or duplicated.
    }
    for (std::size_t i = 0; i < plan_.faults.size(); ++i) {
        if ((network_faults_ & bit(i)) == 0 || !active(i, now) || !targets(i, info.to)) {
            continue;
        }
        const Fault& f = plan_.faults[i];
        if (f.kind == FaultKind::poison) {
            if (info.type != nullptr && f.name == info.type) {
                const ExitReason reason = ExitReason::error("{poison," + f.name + "}");
                note(f.kind, info.to, info.from, &reason);
                crash_pending_.insert_or_assign(info.to.id, reason);
                runtime_.watch(info.to, watch_resumes);
            }
            continue;
        }
        if (!roll(f.probability)) {
            continue;
        }
        note(f.kind, info.to, info.from, nullptr, f.break_pair_order);
        switch (f.kind) {
            case FaultKind::drop:
                return DeliveryDecision{DeliveryDecision::Action::drop, 0};
            case FaultKind::duplicate:
                return DeliveryDecision{DeliveryDecision::Action::duplicate, 0};
            case FaultKind::delay:
            case FaultKind::reorder:
                return hold_in_order(info, now, draw(f.min_delay, f.max_delay),
                                     !f.break_pair_order);
            default:
                break;
        }
    }
    return {};
}

Ticks Injector::before_timer(Pid target, TimerRef /*ref*/) {
    if (timer_faults_ == 0) {
        return 0;
    }
    const MaybeLock lock(mutex_, threaded_);
    const Ticks now = runtime_.now();
    for (std::size_t i = 0; i < plan_.faults.size(); ++i) {
        if ((timer_faults_ & bit(i)) != 0 && active(i, now) && targets(i, target) &&
            roll(plan_.faults[i].probability)) {
            note(FaultKind::timer_skew, target);
            return draw(plan_.faults[i].min_delay, plan_.faults[i].max_delay);
        }
    }
    return 0;
}

bool Injector::fault_point(Pid pid, std::string_view name) {
    if (point_faults_ == 0) {
        return false;
    }
    const MaybeLock lock(mutex_, threaded_);
    const Ticks now = runtime_.now();
    for (std::size_t i = 0; i < plan_.faults.size(); ++i) {
        const Fault& f = plan_.faults[i];
        if ((point_faults_ & bit(i)) == 0 || (f.name != "*" && f.name != name) || !active(i, now) ||
            !targets(i, pid)) {
            continue;
        }
        // BUGGIFY: a site is armed or not once per run, on first reach; an armed site fires
        // with the fault's probability each time.
        auto key = std::pair<std::size_t, std::string>(i, std::string(name));
        auto armed = armed_.find(key);
        if (armed == armed_.end()) {
            armed = armed_.emplace(std::move(key), roll(f.activation)).first;
        }
        if (armed->second && roll(f.probability)) {
            note(f.kind, pid);
            return true;
        }
    }
    return false;
}

bool Injector::service_available(Pid /*pid*/, std::string_view name) {
    const MaybeLock lock(mutex_, threaded_);
    if (down_until_.empty()) {
        return true;
    }
    auto it = down_until_.find(name);
    return it == down_until_.end() || runtime_.now() >= it->second;
}

}  // namespace bedlam::chaos
