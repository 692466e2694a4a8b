// The gen_statem engine (otp-semantics §6.3-§6.5): transition actions, the event queue, the
// postponed events and the time-outs.
#include "bedlam/runtime/state_machine.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>

namespace bedlam {

std::string EventType::to_string() const {
    switch (kind_) {
        case Kind::call: {
            std::ostringstream out;
            out << "{call," << from_.pid << "}";
            return out.str();
        }
        case Kind::cast:
            return "cast";
        case Kind::info:
            return "info";
        case Kind::timeout:
            return "timeout";
        case Kind::state_timeout:
            return "state_timeout";
        case Kind::generic_timeout:
            return "{timeout," + name_ + "}";
        case Kind::internal:
            return "internal";
        case Kind::enter:
            return "enter";
    }
    return "undefined";
}

std::string TransitionAction::to_string() const {
    switch (kind_) {
        case Kind::invalid:
            return "undefined";
        case Kind::reply: {
            std::ostringstream out;
            out << "{reply," << from_.pid << ",_}";
            return out.str();
        }
        case Kind::postpone:
            return on_ ? "postpone" : "{postpone,false}";
        case Kind::hibernate:
            return on_ ? "hibernate" : "{hibernate,false}";
        case Kind::next_event:
            return "{next_event," + type_.to_string() + ",_}";
        case Kind::start_timeout:
            if (absolute_) {
                return "{" + type_.to_string() + "," + detail::time_text(Duration(deadline_)) +
                       ",_,[{abs,true}]}";
            }
            return "{" + type_.to_string() + "," + detail::time_text(after_) + ",_}";
        case Kind::cancel_timeout:
            return "{" + type_.to_string() + ",cancel}";
        case Kind::update_timeout:
            return "{" + type_.to_string() + ",update,_}";
    }
    return "undefined";
}

namespace detail {

namespace {

ExitReason bad_action(const TransitionAction& action) {
    return ExitReason::error("{bad_action_from_state_function," + action.to_string() + "}");
}

// §6.2: what an enter call may not do.
ExitReason bad_enter_action(const TransitionAction& action) {
    return ExitReason::error("{bad_state_enter_action_from_state_function," + action.to_string() +
                             "}");
}

// A type next_event may insert: not `enter`, and a call needs a caller to reply to.
bool insertable(const EventType& type) {
    if (type.kind() == EventType::Kind::call) {
        return type.from().pid.valid();
    }
    return type.kind() != EventType::Kind::enter;
}

Ticks deadline_after(Ticks now, Duration after) {
    if (after.count() > std::numeric_limits<Ticks>::max() - now) {
        return std::numeric_limits<Ticks>::max();
    }
    return now + after.count();
}

}  // namespace

std::optional<ExitReason> StatemEngine::run_actions(Self self,
                                                    std::vector<TransitionAction>& actions,
                                                    bool enter_call, StatemOptions& options) {
    for (TransitionAction& action : actions) {
        switch (action.kind()) {
            case TransitionAction::Kind::invalid:
                return bad_action(action);
            case TransitionAction::Kind::reply:
                if (!action.from().pid.valid()) {
                    return bad_action(action);
                }
                action.send_reply(self);  // Replies go out now, in list order (§6.3).
                break;
            case TransitionAction::Kind::postpone:
                if (enter_call && action.on()) {
                    return bad_enter_action(action);
                }
                options.postpone = action.on();
                break;
            case TransitionAction::Kind::hibernate:
                break;
            case TransitionAction::Kind::next_event: {
                if (enter_call) {
                    return bad_enter_action(action);
                }
                if (!insertable(action.type())) {
                    return bad_action(action);
                }
                StatemEvent event{action.type(), action.take_content(self)};
                options.next_events.push_back(std::move(event));
                break;
            }
            case TransitionAction::Kind::start_timeout:
                if (!action.type().is_timeout() ||
                    (!action.absolute() && action.after() < Duration::zero())) {
                    return bad_action(action);
                }
                options.timeouts.push_back(std::move(action));
                break;
            case TransitionAction::Kind::cancel_timeout:
            case TransitionAction::Kind::update_timeout:
                if (!action.type().is_timeout()) {
                    return bad_action(action);
                }
                options.timeouts.push_back(std::move(action));
                break;
        }
    }
    return std::nullopt;
}

std::optional<ExitReason> StatemEngine::send_replies(Self self,
                                                     std::vector<TransitionAction>& replies) {
    for (TransitionAction& action : replies) {
        if (action.kind() != TransitionAction::Kind::reply || !action.from().pid.valid()) {
            return ExitReason::error("{bad_reply_action_from_state_function," + action.to_string() +
                                     "}");
        }
        action.send_reply(self);
    }
    return std::nullopt;
}

void StatemEngine::transition(Self self, std::optional<StatemEvent> handled, StatemOptions options,
                              bool state_changed) {
    // (3) Postpone the event just handled.
    if (options.postpone && handled) {
        postponed_.push_back(std::move(*handled));
    }
    // §6.5: every event cancels the event time-out; one set by this transition starts below.
    cancel(EventType::timeout());
    if (state_changed) {
        // (4) Retry the postponed events, oldest first, before every queued one (§6.4).
        queue_.insert(queue_.begin(), std::make_move_iterator(postponed_.begin()),
                      std::make_move_iterator(postponed_.end()));
        postponed_.clear();
        cancel(EventType::state_timeout());
    }
    // (5) The next_events go before all queued events, in list order.
    queue_.insert(queue_.begin(), std::make_move_iterator(options.next_events.begin()),
                  std::make_move_iterator(options.next_events.end()));
    // (6) The time-outs.
    set_timeouts(self, options.timeouts);
}

void StatemEngine::set_timeouts(Self self, std::vector<TransitionAction>& timeouts) {
    // Of several actions for one time-out, the last wins (§6.3 step 1).
    std::vector<bool> wins(timeouts.size(), false);
    std::vector<const EventType*> seen;
    for (std::size_t i = timeouts.size(); i-- > 0;) {
        const EventType& type = timeouts[i].type();
        if (std::none_of(seen.begin(), seen.end(), [&](const EventType* other) {
                return *other == type;
            })) {
            wins[i] = true;
            seen.push_back(&type);
        }
    }
    const Ticks now = self.now();
    std::vector<StatemEvent> zero;  // Events of zero time-outs, in list order.
    for (std::size_t i = 0; i < timeouts.size(); ++i) {
        if (!wins[i]) {
            continue;
        }
        TransitionAction& action = timeouts[i];
        const EventType& type = action.type();
        if (action.kind() == TransitionAction::Kind::update_timeout) {
            // New content, same expiry; with nothing running, the event comes at once.
            if (Running* timer = running(type); timer != nullptr) {
                timer->content = action.take_content(self);
            } else {
                StatemEvent event{type, action.take_content(self)};
                zero.push_back(std::move(event));
            }
            continue;
        }
        cancel(type);  // Cancelled, or restarted below: setting a time-out again restarts it.
        if (action.kind() == TransitionAction::Kind::cancel_timeout) {
            continue;
        }
        BEDLAM_ASSERT(action.kind() == TransitionAction::Kind::start_timeout);
        if (action.absolute()) {
            Running timer{type, action.deadline(), next_seq_++, action.take_content(self)};
            running_.push_back(std::move(timer));
        } else if (action.after() == Duration::zero()) {
            StatemEvent event{type, action.take_content(self)};
            zero.push_back(std::move(event));
        } else if (action.after() != infinity) {
            Running timer{type, deadline_after(now, action.after()), next_seq_++,
                          action.take_content(self)};
            running_.push_back(std::move(timer));
        }
    }
    // Zero time-outs are enqueued as the newest events; an event time-out only if no event is
    // queued before it, since that event would cancel it (§6.5).
    for (StatemEvent& event : zero) {
        if (event.type.kind() == EventType::Kind::timeout && !queue_.empty()) {
            continue;
        }
        queue_.push_back(std::move(event));
    }
}

Async<StatemEvent> StatemEngine::next(Self self) {
    if (!queue_.empty()) {
        StatemEvent event = std::move(queue_.front());
        queue_.pop_front();
        co_return std::move(event);
    }
    for (;;) {
        const Ticks now = self.now();
        Running* due = earliest();
        if (due != nullptr && due->deadline <= now) {
            StatemEvent event{due->type, std::move(due->content)};
            running_.erase(running_.begin() + (due - running_.data()));
            co_return std::move(event);
        }
        Message m;
        if (due == nullptr) {
            m = co_await self.receive([](Message any) {
                return any;
            });
        } else {
            m = co_await self
                    .receive([](Message any) {
                        return any;
                    })
                    .after(Duration(due->deadline - now), [] {
                        return Message();
                    });
        }
        if (m.empty()) {
            continue;  // The earliest time-out is due.
        }
        // System messages, as gen_server's loop handles them (otp-semantics §5.4).
        if (m.is_call() && m.is<StopRequest>()) {
            throw ExitException{m.get<StopRequest>()->reason};
        }
        if (const ExitMsg* exit = m.get<ExitMsg>();
            exit != nullptr && parent_.valid() && exit->from == parent_ && self.trapping_exits()) {
            throw ExitException{exit->reason};
        }
        EventType type = m.is_call()   ? EventType::call(From{m.from(), m.ref(), true})
                         : m.is_cast() ? EventType::cast()
                                       : EventType::info();
        StatemEvent event{std::move(type), std::move(m)};
        co_return std::move(event);
    }
}

void StatemEngine::cancel(const EventType& type) {
    std::erase_if(running_, [&](const Running& timer) {
        return timer.type == type;
    });
}

StatemEngine::Running* StatemEngine::running(const EventType& type) {
    for (Running& timer : running_) {
        if (timer.type == type) {
            return &timer;
        }
    }
    return nullptr;
}

StatemEngine::Running* StatemEngine::earliest() {
    Running* first = nullptr;
    for (Running& timer : running_) {
        if (first == nullptr || timer.deadline < first->deadline ||
            (timer.deadline == first->deadline && timer.seq < first->seq)) {
            first = &timer;
        }
    }
    return first;
}

}  // namespace detail

}  // namespace bedlam
