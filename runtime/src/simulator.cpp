// The simulator's scheduling loop. Every choice it makes (which runnable process runs next, PCT
// priorities and change points) is drawn from rng_ (or made by SimConfig::choose), and every
// container it iterates is ordered by pid or by (deadline, timer id), so a run is a pure function
// of the seed.
#include "bedlam/runtime/simulator.hpp"

#include <algorithm>
#include <limits>

namespace bedlam {

Simulator::Simulator(SimConfig config)
    : Runtime(/*single_threaded=*/true), config_(config), rng_(config.seed), trace_log_(&now_) {
    trace_ = &trace_log_;
    pool_ = &envelopes_;
    trace_log_.set_output(config.trace_out);
    procs_.push_back(nullptr);  // Pid 0 is nobody.
    if (config_.policy == Policy::pct) {
        BEDLAM_ASSERT(config_.pct_depth >= 1);
        BEDLAM_ASSERT(config_.pct_steps >= 1);
        for (std::uint32_t i = 1; i < config_.pct_depth; ++i) {
            pct_change_steps_.push_back(1 + rng_.below(config_.pct_steps));
        }
        std::sort(pct_change_steps_.begin(), pct_change_steps_.end());
    }
}

Simulator::~Simulator() {
    timers_.for_each([this](const detail::TimerQueue::Timer& t) { dispose(t.envelope); });
    for (detail::Proc*& proc : procs_) {
        if (proc != nullptr) {
            proc->discard();
            proc->unref();
            proc = nullptr;
        }
    }
}

RunResult Simulator::run() { return run_loop(std::numeric_limits<Ticks>::max(), nullptr); }

RunResult Simulator::run_until(Ticks deadline) { return run_loop(deadline, nullptr); }

RunResult Simulator::run_until(const std::function<bool()>& predicate) {
    return run_loop(std::numeric_limits<Ticks>::max(), &predicate);
}

RunResult Simulator::run_loop(Ticks deadline, const std::function<bool()>* predicate) {
    RunResult result;
    const std::uint64_t first_step = steps_;
    for (;;) {
        if (predicate != nullptr && (*predicate)()) {
            result.stop = RunResult::Stop::predicate;
            break;
        }
        if (step_limit_ != 0 && steps_ - first_step >= step_limit_) {
            result.stop = RunResult::Stop::step_limit;
            break;
        }
        if (!timers_.empty() && timers_.top().deadline <= now_) {
            fire_due_timers();
        }
        Interposer* hook = interposer();
        if (hook != asked_) {
            asked_ = hook;  // Newly installed: ask it once, then after each act().
            next_action_ = hook != nullptr ? hook->next_action() : Interposer::never;
        }
        const Ticks next_action = next_action_;
        if (next_action <= now_) {
            hook->act(*this, now_);
            next_action_ = hook->next_action();
            BEDLAM_ASSERT(next_action_ > now_);  // Or it would act forever.
            continue;
        }
        if (runnable_.empty() && fifo_.empty()) {
            if (timers_.empty() && next_action == Interposer::never) {
                result.stop = RunResult::Stop::idle;
                for (detail::Proc* proc : procs_) {
                    if (proc != nullptr && proc->waits_forever()) {
                        result.deadlocked.push_back(proc->pid());
                    }
                }
                break;
            }
            const Ticks next = timers_.empty() ? next_action
                                               : std::min(timers_.top().deadline, next_action);
            if (next > deadline) {
                now_ = std::max(now_, deadline);
                result.stop = RunResult::Stop::time_limit;
                break;
            }
            now_ = std::max(now_, next);  // The clock jumps to the next timer or action.
            continue;
        }
        detail::Proc* proc = pick();
        ++steps_;
        if (proc->step() == detail::StepResult::runnable) {
            schedule(proc);
        }
    }
    result.now = now_;
    result.steps = steps_ - first_step;
    return result;
}

detail::Proc* Simulator::pick() {
    detail::Proc* proc = nullptr;
    switch (config_.policy) {
        case Policy::fifo:
            proc = fifo_.front();
            fifo_.pop_front();
            return proc;
        case Policy::random: {
            // With one candidate there is no choice to draw.
            std::size_t i = 0;
            if (runnable_.size() > 1) {
                i = config_.choose ? config_.choose(runnable_.size())
                                   : static_cast<std::size_t>(rng_.below(runnable_.size()));
                BEDLAM_ASSERT(i < runnable_.size());
            }
            proc = runnable_[i];
            runnable_[i] = runnable_.back();
            runnable_.pop_back();
            return proc;
        }
        case Policy::pct: {
            std::size_t best = 0;
            for (std::size_t i = 1; i < runnable_.size(); ++i) {
                const std::uint64_t pi = pct_priority_of(runnable_[i]->pid());
                const std::uint64_t pb = pct_priority_of(runnable_[best]->pid());
                if (pi > pb || (pi == pb && runnable_[i]->pid() < runnable_[best]->pid())) {
                    best = i;
                }
            }
            proc = runnable_[best];
            runnable_[best] = runnable_.back();
            runnable_.pop_back();
            // At a change point the chosen process drops below every initial priority.
            if (pct_next_change_ < pct_change_steps_.size() &&
                steps_ + 1 >= pct_change_steps_[pct_next_change_]) {
                ++pct_next_change_;
                pct_priority_[proc->pid().id] = config_.pct_depth - pct_next_change_;
            }
            return proc;
        }
    }
    BEDLAM_ASSERT(false);
    return nullptr;
}

std::uint64_t Simulator::pct_priority_of(Pid pid) const { return pct_priority_[pid.id]; }

void Simulator::fire_due_timers() {
    while (!timers_.empty() && timers_.top().deadline <= now_) {
        const detail::TimerQueue::Timer& due = timers_.top();
        if (Interposer* hook = interposer(); hook != nullptr && !due.skewed) {
            const Ticks skew = hook->before_timer(due.target, TimerRef{due.id});
            BEDLAM_ASSERT(skew >= 0);
            if (skew > 0) {
                timers_.delay_top(skew);
                continue;
            }
        }
        const detail::TimerQueue::Timer timer = timers_.pop();
        trace({TraceKind::timer, timer.target, Pid{}, timer.id});
        if (timer.as_send) {
            send_signal(timer.target, timer.envelope);
        } else {
            push(timer.target, timer.envelope);
        }
    }
}

TimerRef Simulator::start_timer(Ticks delay, Pid target, detail::Envelope* e, bool as_send) {
    BEDLAM_ASSERT(delay >= 0);
    return timers_.add(now_ + delay, new_timer_id(), target, e, as_send);
}

std::optional<Ticks> Simulator::cancel_timer(TimerRef ref) {
    const std::optional<detail::TimerQueue::Timer> timer = timers_.remove(ref);
    if (!timer) {
        return std::nullopt;
    }
    dispose(timer->envelope);
    return timer->deadline - now_;
}

detail::Proc* Simulator::acquire(Pid pid) {
    if (pid.id >= procs_.size()) {
        return nullptr;
    }
    return procs_[pid.id];  // Single-threaded: no reference is taken.
}

void Simulator::insert(detail::Proc* proc) {
    BEDLAM_ASSERT_EQ(proc->pid().id, procs_.size());  // Sequential pids.
    procs_.push_back(proc);
    ++live_;
    if (config_.policy == Policy::pct) {
        // Initial priorities lie above the d - 1 change-point priorities [1, d).
        pct_priority_.resize(procs_.size(), 0);
        pct_priority_[proc->pid().id] = config_.pct_depth + (rng_.next() >> 1U);
    }
}

void Simulator::remove(detail::Proc* proc) {
    const std::uint64_t id = proc->pid().id;
    BEDLAM_ASSERT(procs_[id] == proc);
    procs_[id] = nullptr;
    --live_;
    proc->unref();
}

void Simulator::schedule(detail::Proc* proc) {
    if (config_.policy == Policy::fifo) {
        fifo_.push_back(proc);
    } else {
        runnable_.push_back(proc);
    }
}

std::vector<Pid> Simulator::live_processes() const {
    std::vector<Pid> out;
    for (const detail::Proc* proc : procs_) {
        if (proc != nullptr) {
            out.push_back(proc->pid());
        }
    }
    return out;
}

const char* to_string(Policy policy) noexcept {
    switch (policy) {
        case Policy::random:
            return "random";
        case Policy::fifo:
            return "fifo";
        case Policy::pct:
            return "pct";
    }
    return "?";
}

std::optional<Policy> parse_policy(std::string_view text) noexcept {
    if (text == "random") {
        return Policy::random;
    }
    if (text == "fifo") {
        return Policy::fifo;
    }
    if (text == "pct") {
        return Policy::pct;
    }
    return std::nullopt;
}

}  // namespace bedlam
