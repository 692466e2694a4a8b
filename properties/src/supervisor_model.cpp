// The model follows otp-semantics §3 rule by rule; it shares no code with runtime/src/supervisor.cpp.
#include "bedlam/properties/supervisor_model.hpp"

#include <deque>

namespace bedlam::properties {

namespace {

struct Slot {
    Restart restart;
    bool present = true;   // Still in the supervisor's child list.
    bool running = false;  // Has a live process.
};

class Model {
public:
    Model(const ModelSupervisor& sup, std::vector<std::string>* log) : sup_(sup), log_(log) {
        for (const ModelChild& c : sup.children) {
            slots_.push_back(Slot{c.restart});
        }
        // Rule 5: children start in order.
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            start(i);
        }
    }

    [[nodiscard]] bool alive() const { return alive_; }

    void exit(const ModelExit& e) {
        if (!alive_ || e.child >= slots_.size() || !slots_[e.child].running) {
            return;  // No process to signal.
        }
        const bool killed = e.reason.kind() == ExitReason::Kind::kill;
        const ExitReason reason = killed ? ExitReason::killed() : e.reason;
        if (!killed) {
            log_->push_back("stop " + child_id(e.child) + " " + reason.to_string());
        }
        slots_[e.child].running = false;
        child_exited(e.child, reason, e.at);
    }

    void shutdown() {
        if (!alive_) {
            return;
        }
        stop_all_from(0, false);
        give_up_or_stop("shutdown");
    }

private:
    void start(std::size_t i) {
        slots_[i].running = true;
        log_->push_back("start " + child_id(i));
    }

    // Rule 7: the supervisor's exit signal `shutdown`; the child notes it and exits.
    void stop(std::size_t i) {
        log_->push_back("stop " + child_id(i) + " shutdown");
        slots_[i].running = false;
    }

    // Stops running children from the newest down to `first`, in reverse start order; temporary
    // ones are removed when `remove_temporary` (rule 4).
    void stop_all_from(std::size_t first, bool remove_temporary) {
        for (std::size_t i = slots_.size(); i-- > first;) {
            if (slots_[i].running) {
                stop(i);
            }
            if (remove_temporary && slots_[i].present && slots_[i].restart == Restart::temporary) {
                slots_[i].present = false;
            }
        }
    }

    void give_up_or_stop(const char* reason) {
        alive_ = false;
        log_->push_back(std::string("sup exit ") + reason);
    }

    // Rule 8: restarts in whole seconds; keep those at or after now - period; more than
    // `intensity` of them means giving up.
    bool add_restart(Ticks at) {
        const std::int64_t now_s = at / 1'000'000'000;
        restarts_.push_back(now_s);
        while (!restarts_.empty() && restarts_.front() < now_s - sup_.period_s) {
            restarts_.pop_front();
        }
        return static_cast<int>(restarts_.size()) <= sup_.intensity;
    }

    void child_exited(std::size_t i, const ExitReason& reason, Ticks at) {
        Slot& s = slots_[i];
        const bool again = s.restart == Restart::permanent ||
                           (s.restart == Restart::transient && !reason.is_clean());  // Rule 4.
        if (!again) {
            if (s.restart == Restart::temporary) {
                s.present = false;
            }
            return;
        }
        if (!add_restart(at)) {
            // Rule 9: the others stop in reverse order, the supervisor exits shutdown.
            stop_all_from(0, false);
            give_up_or_stop("shutdown");
            return;
        }
        switch (sup_.strategy) {
            case Strategy::one_for_one:
            case Strategy::simple_one_for_one:
                start(i);
                break;
            case Strategy::one_for_all:
                stop_all_from(0, true);
                for (std::size_t j = 0; j < slots_.size(); ++j) {
                    if (slots_[j].present) {
                        start(j);
                    }
                }
                break;
            case Strategy::rest_for_one:
                stop_all_from(i + 1, true);
                for (std::size_t j = i; j < slots_.size(); ++j) {
                    if (slots_[j].present) {
                        start(j);
                    }
                }
                break;
        }
    }

    const ModelSupervisor& sup_;
    std::vector<std::string>* log_;
    std::vector<Slot> slots_;
    std::deque<std::int64_t> restarts_;
    bool alive_ = true;
};

}  // namespace

std::string child_id(std::size_t index) { return "c" + std::to_string(index); }

std::vector<std::string> expected_log(const ModelSupervisor& sup,
                                      const std::vector<ModelExit>& exits, Ticks /*end*/) {
    std::vector<std::string> log;
    Model model(sup, &log);
    for (const ModelExit& e : exits) {
        model.exit(e);
    }
    model.shutdown();
    return log;
}

}  // namespace bedlam::properties
