// StateMachine: OTP's gen_statem (otp-semantics §6). A state machine is a class derived from
// bedlam::StateMachine<State>: its members are gen_statem's Data, and its callbacks are
// coroutines (Async<...>), so a callback may call servers. The engine owns the event queue, the
// postponed events and the time-outs, and runs every transition in the order of §6.3.
//
// A state machine process is a Server (server.hpp) whose init runs the machine's init and whose
// continue action enters the gen_statem loop for good, so starting, names, the init handshake,
// stop and terminate-on-exit are gen_server's.
#pragma once

#include <concepts>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "bedlam/runtime/server.hpp"

namespace bedlam {

/// gen_statem's event_type(): what an event is. An EventType also names a time-out in
/// time-out actions: timeout() (the event time-out), state_timeout(), or generic_timeout(name)
/// (Erlang's `{timeout, Name}`). A class with factories, not an aggregate: see README, "g++ 12
/// and aggregates".
class EventType {
public:
    enum class Kind : std::uint8_t {
        call,             // {call, From}: a call; reply to from().
        cast,             // a cast
        info,             // any other message
        timeout,          // the event time-out fired
        state_timeout,    // the state time-out fired
        generic_timeout,  // {timeout, Name}: the generic time-out name() fired
        internal,         // inserted with a next_event action
        enter,            // a state enter call; the event holds the old state
    };

    /// `internal`.
    EventType() = default;

    static EventType call(From from) { return EventType(Kind::call, from, {}); }
    static EventType cast() { return EventType(Kind::cast, {}, {}); }
    static EventType info() { return EventType(Kind::info, {}, {}); }
    static EventType timeout() { return EventType(Kind::timeout, {}, {}); }
    static EventType state_timeout() { return EventType(Kind::state_timeout, {}, {}); }
    static EventType generic_timeout(std::string name) {
        return EventType(Kind::generic_timeout, {}, std::move(name));
    }
    static EventType internal() { return EventType(Kind::internal, {}, {}); }
    static EventType enter() { return EventType(Kind::enter, {}, {}); }

    [[nodiscard]] Kind kind() const noexcept { return kind_; }
    /// For a call: the caller, to reply to.
    [[nodiscard]] const From& from() const noexcept { return from_; }
    /// For a generic time-out: its name.
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    /// timeout, state_timeout or {timeout, Name}: a type that time-out actions may set.
    [[nodiscard]] bool is_timeout() const noexcept {
        return kind_ == Kind::timeout || kind_ == Kind::state_timeout ||
               kind_ == Kind::generic_timeout;
    }
    /// Erlang-like text: `cast`, `{call,<0.5.0>}`, `{timeout,poll}`.
    [[nodiscard]] std::string to_string() const;

    /// Same kind, same name, and for calls the same caller.
    friend bool operator==(const EventType& a, const EventType& b) noexcept {
        return a.kind_ == b.kind_ && a.name_ == b.name_ && a.from_.pid == b.from_.pid &&
               a.from_.ref == b.from_.ref;
    }

private:
    EventType(Kind kind, From from, std::string name)
        : kind_(kind), from_(from), name_(std::move(name)) {}

    Kind kind_ = Kind::internal;
    From from_{};
    std::string name_;
};

/// One of gen_statem's transition actions (§6.3): a reply, a transition option (postpone,
/// hibernate), an inserted event, or a time-out. Build them with the factories. A
/// default-constructed action is invalid: the machine stops with
/// `{bad_action_from_state_function,undefined}`.
class TransitionAction {
public:
    enum class Kind : std::uint8_t {
        invalid,
        reply,           // {reply, From, Reply}
        postpone,        // postpone | {postpone, Bool}
        hibernate,       // hibernate | {hibernate, Bool}
        next_event,      // {next_event, Type, Content}
        start_timeout,   // {Type, Time, Content[, [{abs, Bool}]]}
        cancel_timeout,  // {Type, cancel}
        update_timeout,  // {Type, update, Content}
    };

    TransitionAction() = default;

    /// {reply, From, Reply}: sent when the action is processed, before the transition ends.
    template <typename T>
    static TransitionAction reply(From from, T value) {
        TransitionAction a(Kind::reply, {}, std::move(value));
        a.from_ = from;
        return a;
    }
    /// postpone: retry the current event after the next state change (§6.4). Not allowed in
    /// an enter call.
    static TransitionAction postpone(bool on = true) {
        TransitionAction a(Kind::postpone, {});
        a.on_ = on;
        return a;
    }
    /// hibernate: accepted and ignored; a bedlam process has no heap to compact.
    static TransitionAction hibernate(bool on = true) {
        TransitionAction a(Kind::hibernate, {});
        a.on_ = on;
        return a;
    }
    /// {next_event, Type, Content}: handled before any queued event; several are handled in
    /// list order. Not allowed in an enter call.
    template <typename T>
    static TransitionAction next_event(EventType type, T content) {
        return TransitionAction(Kind::next_event, std::move(type), std::move(content));
    }
    /// {Type, Time, Content}: starts (or restarts) the time-out `type` (§6.5). `infinity`
    /// cancels it; zero enqueues the event at once, as the newest one.
    template <typename T>
    static TransitionAction timeout(EventType type, Duration after, T content) {
        TransitionAction a(Kind::start_timeout, std::move(type), std::move(content));
        a.after_ = after;
        return a;
    }
    /// {Type, Time, Content, [{abs, true}]}: fires at `deadline` on the scheduler's clock
    /// (Self::now()); a deadline in the past fires as soon as the queue is empty.
    template <typename T>
    static TransitionAction timeout_at(EventType type, Ticks deadline, T content) {
        TransitionAction a(Kind::start_timeout, std::move(type), std::move(content));
        a.absolute_ = true;
        a.deadline_ = deadline;
        return a;
    }
    /// {timeout, Time, Content}: the event time-out, cancelled by any event.
    template <typename T>
    static TransitionAction event_timeout(Duration after, T content) {
        return timeout(EventType::timeout(), after, std::move(content));
    }
    /// {state_timeout, Time, Content}: cancelled by a state change.
    template <typename T>
    static TransitionAction state_timeout(Duration after, T content) {
        return timeout(EventType::state_timeout(), after, std::move(content));
    }
    /// {{timeout, Name}, Time, Content}: survives state changes.
    template <typename T>
    static TransitionAction generic_timeout(std::string name, Duration after, T content) {
        return timeout(EventType::generic_timeout(std::move(name)), after, std::move(content));
    }
    /// {Type, cancel}.
    static TransitionAction cancel_timeout(EventType type) {
        return TransitionAction(Kind::cancel_timeout, std::move(type));
    }
    /// {Type, update, Content}: new content for a running time-out, keeping its expiry; with none
    /// running, the event is enqueued at once, as for a zero time.
    template <typename T>
    static TransitionAction update_timeout(EventType type, T content) {
        return TransitionAction(Kind::update_timeout, std::move(type), std::move(content));
    }

    [[nodiscard]] Kind kind() const noexcept { return kind_; }
    /// next_event and time-outs: the event type.
    [[nodiscard]] const EventType& type() const noexcept { return type_; }
    /// reply: the caller.
    [[nodiscard]] const From& from() const noexcept { return from_; }
    /// postpone and hibernate: on or off.
    [[nodiscard]] bool on() const noexcept { return on_; }
    /// start_timeout: relative (after()) or absolute (deadline()).
    [[nodiscard]] bool absolute() const noexcept { return absolute_; }
    [[nodiscard]] Duration after() const noexcept { return after_; }
    [[nodiscard]] Ticks deadline() const noexcept { return deadline_; }

    /// Moves the content out as a Message owned by `self`'s process (empty if there is none).
    Message take_content(Self self) { return wrap_ != nullptr ? wrap_(self, content_) : Message(); }
    /// reply: sends the content to from() as the reply to its call.
    void send_reply(Self self) {
        BEDLAM_ASSERT(kind_ == Kind::reply);
        reply_(self, from_, content_);
    }
    /// Erlang-like text for exit reasons: `postpone`, `{next_event,internal,_}`, `{timeout,10,_}`.
    [[nodiscard]] std::string to_string() const;

private:
    TransitionAction(Kind kind, EventType type) : kind_(kind), type_(std::move(type)) {}

    // An action with content. The content's type is known only here, so this is where the
    // functions that turn it into a message or a reply are made.
    template <typename T>
    TransitionAction(Kind kind, EventType type, T content)
        : kind_(kind),
          type_(std::move(type)),
          content_(std::move(content)),
          wrap_([](Self self, Any& any) {
              return self.message(std::move(*any.get<T>()));
          }),
          reply_([](Self self, const From& from, Any& any) {
              bedlam::reply(self, from, std::move(*any.get<T>()));
          }) {
        static_assert(!std::is_same_v<T, Any> && !std::is_same_v<T, Message>,
                      "pass the value itself, not an Any or a Message");
    }

    Kind kind_ = Kind::invalid;
    EventType type_;
    From from_{};
    bool on_ = true;
    bool absolute_ = false;
    Duration after_{};
    Ticks deadline_ = 0;
    Any content_;
    Message (*wrap_)(Self, Any&) = nullptr;  // Null iff there is no content.
    void (*reply_)(Self, const From&, Any&) = nullptr;
};

namespace detail {

template <typename T>
concept Printable = requires(std::ostream& os, const T& value) {
    os << value;
};

/// A state as exit reasons print it: with operator<< if it has one, else `_`.
template <typename State>
std::string state_text(const State& state) {
    if constexpr (Printable<State>) {
        std::ostringstream out;
        out << state;
        return out.str();
    } else {
        static_cast<void>(state);
        return "_";
    }
}

/// Collects transition actions passed one by one into a list.
template <typename... Actions>
std::vector<TransitionAction> action_list(Actions... actions) {
    static_assert((std::is_same_v<Actions, TransitionAction> && ...),
                  "transition actions are made with TransitionAction's factories");
    std::vector<TransitionAction> list;
    list.reserve(sizeof...(Actions));
    (list.push_back(std::move(actions)), ...);
    return list;
}

}  // namespace detail

/// The callbacks of a state machine (gen_statem). Derive from it with the type of your states:
/// any copyable, equality-comparable type (an enum, a string, a struct); printable with
/// operator<< for clearer exit reasons. The derived object's members are gen_statem's Data, so
/// keep_state and keep_state_and_data are the same thing here.
///
/// Callback modes (§6.1):
/// - handle_event_function: override handle_event; it receives every event with the state.
/// - state_functions: leave handle_event alone and register one member function per state
///   with state_function(state, &Derived::fn) in the constructor; the event goes to the
///   function of the current state (a state with none stops the machine with `undef`).
/// State enter calls (§6.2): override state_enter() to return true. An enter call is a call of
/// the same callback with EventType::enter(); old_state(event) is the state left (equal to
/// the state for the call before the initial state).
template <typename State>
class StateMachine {
    static_assert(std::is_copy_constructible_v<State>, "a state must be copyable");
    static_assert(std::equality_comparable<State>, "states are compared with ==");

public:
    using StateType = State;
    using Action = TransitionAction;

    /// A state callback's result (gen_statem's event_handler_result()). A default-constructed
    /// one is invalid: the machine stops with `{bad_return_from_state_function,undefined}`.
    class Transition {
    public:
        enum class Kind : std::uint8_t {
            invalid,
            next_state,
            keep_state,
            repeat_state,
            stop,
            stop_and_reply,
        };

        Transition() = default;

        /// {next_state, Next, Data, Actions}: a state change if Next != the current state.
        template <typename... Actions>
        static Transition next_state(State next, Actions... actions) {
            return next_state(std::move(next), detail::action_list(std::move(actions)...));
        }
        static Transition next_state(State next, std::vector<TransitionAction> actions) {
            return Transition(Kind::next_state, std::move(next), std::move(actions), {});
        }
        /// {keep_state, Data, Actions}: no state change, so no enter call and no retry of
        /// postponed events.
        template <typename... Actions>
        static Transition keep_state(Actions... actions) {
            return keep_state(detail::action_list(std::move(actions)...));
        }
        static Transition keep_state(std::vector<TransitionAction> actions) {
            return Transition(Kind::keep_state, std::nullopt, std::move(actions), {});
        }
        /// {repeat_state, Data, Actions}: as keep_state, but the enter call runs again.
        template <typename... Actions>
        static Transition repeat_state(Actions... actions) {
            return repeat_state(detail::action_list(std::move(actions)...));
        }
        static Transition repeat_state(std::vector<TransitionAction> actions) {
            return Transition(Kind::repeat_state, std::nullopt, std::move(actions), {});
        }
        /// {stop, Reason}: terminate runs, then the machine exits with `reason`.
        static Transition stop(ExitReason reason = ExitReason::normal()) {
            return Transition(Kind::stop, std::nullopt, {}, std::move(reason));
        }
        /// {stop_and_reply, Reason, Replies}: the replies are sent before terminate runs.
        template <typename... Replies>
        static Transition stop_and_reply(ExitReason reason, Replies... replies) {
            return stop_and_reply(std::move(reason), detail::action_list(std::move(replies)...));
        }
        static Transition stop_and_reply(ExitReason reason, std::vector<TransitionAction> replies) {
            return Transition(Kind::stop_and_reply, std::nullopt, std::move(replies),
                              std::move(reason));
        }

        [[nodiscard]] Kind kind() const noexcept { return kind_; }
        /// next_state: the state to go to.
        [[nodiscard]] const std::optional<State>& next() const noexcept { return next_; }
        [[nodiscard]] std::vector<TransitionAction>& actions() noexcept { return actions_; }
        [[nodiscard]] const ExitReason& reason() const noexcept { return reason_; }
        /// Erlang-like text for exit reasons: `{next_state,wait,_}`, `undefined`.
        [[nodiscard]] std::string to_string() const {
            switch (kind_) {
                case Kind::invalid:
                    return "undefined";
                case Kind::next_state:
                    return "{next_state," + detail::state_text(*next_) + ",_}";
                case Kind::keep_state:
                    return "{keep_state,_}";
                case Kind::repeat_state:
                    return "{repeat_state,_}";
                case Kind::stop:
                    return "{stop," + reason_.to_string() + "}";
                case Kind::stop_and_reply:
                    return "{stop_and_reply," + reason_.to_string() + ",_}";
            }
            return "undefined";
        }

    private:
        Transition(Kind kind, std::optional<State> next, std::vector<TransitionAction> actions,
                   ExitReason reason)
            : kind_(kind),
              next_(std::move(next)),
              actions_(std::move(actions)),
              reason_(std::move(reason)) {}

        Kind kind_ = Kind::invalid;
        std::optional<State> next_;
        std::vector<TransitionAction> actions_;
        ExitReason reason_;
    };

    /// init's result: {ok, State, Data[, Actions]}, ignore, {stop, Reason} or {error, Reason},
    /// which start and start_link report as gen_server's do (otp-semantics §5.2). A
    /// default-constructed one stops the machine with `{bad_return_from_init,undefined}`.
    class Init {
    public:
        Init() = default;

        template <typename... Actions>
        static Init ok(State initial, Actions... actions) {
            return ok(std::move(initial), detail::action_list(std::move(actions)...));
        }
        static Init ok(State initial, std::vector<TransitionAction> actions) {
            return Init(InitResult::Kind::ok, std::move(initial), std::move(actions), {});
        }
        static Init ignore() { return Init(InitResult::Kind::ignore, std::nullopt, {}, {}); }
        static Init stop(ExitReason reason) {
            return Init(InitResult::Kind::stop, std::nullopt, {}, std::move(reason));
        }
        static Init error(ExitReason reason) {
            return Init(InitResult::Kind::error, std::nullopt, {}, std::move(reason));
        }

        [[nodiscard]] InitResult::Kind kind() const noexcept { return kind_; }
        [[nodiscard]] std::optional<State>& state() noexcept { return state_; }
        [[nodiscard]] std::vector<TransitionAction>& actions() noexcept { return actions_; }
        [[nodiscard]] const ExitReason& reason() const noexcept { return reason_; }

    private:
        Init(InitResult::Kind kind, std::optional<State> state,
             std::vector<TransitionAction> actions, ExitReason reason)
            : kind_(kind),
              state_(std::move(state)),
              actions_(std::move(actions)),
              reason_(std::move(reason)) {}

        InitResult::Kind kind_ = InitResult::Kind::ok;
        std::optional<State> state_;  // Set iff kind_ is ok and init returned a state.
        std::vector<TransitionAction> actions_;
        ExitReason reason_;
    };

    /// A state function: the callback for the events of one state (state_functions mode).
    using StateFunction = std::function<Async<Transition>(Self, EventType, Message)>;

    StateMachine() = default;
    StateMachine(const StateMachine&) = delete;
    StateMachine& operator=(const StateMachine&) = delete;
    virtual ~StateMachine() = default;

    /// The initial state and actions. Runs before start returns, as gen_server's init does.
    virtual Async<Init> init(Self self) = 0;
    /// handle_event_function mode: every event, with the current state. `event` is a view of
    /// the content (is<T>(), get<T>()): the engine keeps it, since a postponed event is handled
    /// again later. For a call, reply to type.from(). The default dispatches to the state
    /// functions (state_functions mode).
    virtual Async<Transition> handle_event(Self self, EventType type, Message event, State state);
    /// Runs before the machine exits for any reason but a kill or an untrapped exit signal,
    /// with the state it was in (gen_server's rules, otp-semantics §5.4).
    virtual Async<void> terminate(Self self, ExitReason reason, State state);
    /// True to get state enter calls (gen_statem's `state_enter` callback mode).
    [[nodiscard]] virtual bool state_enter() const { return false; }

    /// In an enter call: the state the machine left (OTP's OldState).
    static const State& old_state(const Message& event) {
        const State* old = event.get<State>();
        BEDLAM_ASSERT(old != nullptr);
        return *old;
    }

protected:
    /// state_functions mode: `fn` handles the events of `state`. Call from the constructor.
    template <typename Derived>
    void state_function(State state, Async<Transition> (Derived::*fn)(Self, EventType, Message)) {
        static_assert(std::is_base_of_v<StateMachine, Derived>);
        auto* derived = static_cast<Derived*>(this);
        state_functions_.emplace_back(
            std::move(state), [derived, fn](Self self, EventType type, Message event) {
                return (derived->*fn)(self, std::move(type), std::move(event));
            });
    }

private:
    std::vector<std::pair<State, StateFunction>> state_functions_;  // Searched with ==.
};

template <typename State>
Async<typename StateMachine<State>::Transition> StateMachine<State>::handle_event(Self self,
                                                                                  EventType type,
                                                                                  Message event,
                                                                                  State state) {
    for (auto& [s, fn] : state_functions_) {
        if (s == state) {
            co_return co_await fn(self, std::move(type), std::move(event));
        }
    }
    // gen_statem calls Module:State(...), which is undefined for a state with no function.
    throw ExitException{ExitReason::error("undef")};
}

template <typename State>
Async<void> StateMachine<State>::terminate(Self /*self*/, ExitReason /*reason*/, State /*state*/) {
    co_return;
}

namespace detail {

/// An event waiting in a state machine's queue, its content owned.
struct StatemEvent {
    EventType type;
    Message content;
};

/// What the callbacks of one event asked for besides the next state (§6.3 step 1).
struct StatemOptions {
    std::vector<StatemEvent> next_events;    // In action-list order.
    std::vector<TransitionAction> timeouts;  // Checked time-out actions, in list order.
    bool postpone = false;
};

/// The part of gen_statem's loop that does not depend on the State type: the event queue, the
/// postponed events, the time-outs, and receiving (§6.3-§6.5). Time-outs need no timers (none
/// outlives the process): the engine receives with an `after` that ends at the earliest
/// deadline. So a time-out that expired while a callback was busy is handled before the
/// messages that arrived meanwhile, where OTP's timer message would be among them by arrival.
class StatemEngine {
public:
    explicit StatemEngine(Pid parent) noexcept : parent_(parent) {}

    /// §6.3 step 1: runs `actions` in order. Replies are sent at once; the rest is collected
    /// into `options`. Returns the stop reason if an action is bad, or not allowed in an enter
    /// call (postpone, next_event).
    static std::optional<ExitReason> run_actions(Self self, std::vector<TransitionAction>& actions,
                                                 bool enter_call, StatemOptions& options);
    /// stop_and_reply's replies: sent before the machine stops. Returns the stop reason if one
    /// is not a reply.
    static std::optional<ExitReason> send_replies(Self self,
                                                  std::vector<TransitionAction>& replies);
    /// §6.3 steps 3-6 after an event: postpone it, retry the postponed events on a state change,
    /// insert the next_events, and set the time-outs. `handled` is empty for init's transition.
    void transition(Self self, std::optional<StatemEvent> handled, StatemOptions options,
                    bool state_changed);
    /// §6.3 step 7: the oldest queued event, else a due time-out, else a received message.
    /// Throws ExitException on a stop request, or on an EXIT from the parent of a machine that
    /// traps exits, so that terminate runs (§5.4).
    Async<StatemEvent> next(Self self);

private:
    struct Running {
        EventType type;
        Ticks deadline;
        std::uint64_t seq;  // Start order: breaks ties between equal deadlines.
        Message content;
    };

    void cancel(const EventType& type);
    void set_timeouts(Self self, std::vector<TransitionAction>& timeouts);
    Running* running(const EventType& type);
    Running* earliest();

    std::deque<StatemEvent> queue_;       // Events to handle before receiving; oldest first.
    std::vector<StatemEvent> postponed_;  // Oldest first.
    std::vector<Running> running_;        // Time-outs with a deadline, at most one per type.
    std::uint64_t next_seq_ = 0;
    Pid parent_;  // Pid{} for a machine started without a link.
};

struct StatemContinue {};

/// The Server a state machine runs as: init runs Impl's init; the continue action it returns
/// runs the gen_statem loop until the machine stops; terminate runs Impl's terminate.
template <typename Impl>
class StatemServer final : public Server {
    using State = typename Impl::StateType;
    using Machine = StateMachine<State>;
    using Transition = typename Machine::Transition;
    using Init = typename Machine::Init;

public:
    static constexpr ProcessKind process_kind = ProcessKind::state_machine;

    template <typename... Args>
    explicit StatemServer(Pid parent, Args... args) : impl_(std::move(args)...), parent_(parent) {}

    Async<InitResult> init(Self self) override {
        Init result = co_await impl_.init(self);
        if (result.kind() == InitResult::Kind::ignore) {
            co_return InitResult::ignore();
        }
        if (result.kind() == InitResult::Kind::stop) {
            co_return InitResult::stop(result.reason());
        }
        if (result.kind() == InitResult::Kind::error) {
            co_return InitResult::error(result.reason());
        }
        if (!result.state()) {
            co_return InitResult::stop(ExitReason::error("{bad_return_from_init,undefined}"));
        }
        state_ = result.state();
        next_ = result.state();
        init_actions_ = std::move(result.actions());
        co_return InitResult::ok(ServerAction::continue_with(StatemContinue{}));
    }

    Async<ServerResult> handle_continue(Self self, Any /*term*/) override {
        co_await run(self);  // Leaves only by throwing: the machine stops.
        co_return ServerResult::stop(ExitReason::error("unreachable"));
    }

    Async<void> terminate(Self self, ExitReason reason) override {
        if (next_) {
            State state = *next_;
            co_await impl_.terminate(self, reason, std::move(state));
        }
    }

private:
    // The gen_statem loop (§6.3). A stop, a bad result or a crash leaves it by throwing, and
    // gen_server's machinery then runs terminate (with next_) and exits.
    Async<void> run(Self self) {
        StatemEngine engine(parent_);
        StatemOptions options;
        // OTP's enter/8: init's actions run as a state call's would, but the stand-in event
        // they come with is never postponed, and the first state is entered from itself (§6.2).
        std::optional<ExitReason> stop =
            StatemEngine::run_actions(self, init_actions_, /*enter_call=*/false, options);
        options.postpone = false;
        bool call_enter = true;
        std::optional<StatemEvent> event;
        for (;;) {
            // (2) The enter call, again after each repeat_state it returns.
            while (!stop && call_enter && impl_.state_enter()) {
                Message old = self.message(State(*state_));
                State entered = *next_;
                Transition t = co_await impl_.handle_event(
                    self, EventType::enter(), Message::view(old.envelope()), std::move(entered));
                stop = apply(self, t, /*enter_call=*/true, options, call_enter);
            }
            if (stop) {
                throw ExitException{std::move(*stop)};
            }
            // (3)-(6), then (7): the next event.
            const bool changed = !(*next_ == *state_);
            engine.transition(self, std::move(event), std::move(options), changed);
            state_ = next_;
            options = StatemOptions();
            event = co_await engine.next(self);
            State current = *state_;
            Transition t = co_await impl_.handle_event(
                self, event->type, Message::view(event->content.envelope()), std::move(current));
            stop = apply(self, t, /*enter_call=*/false, options, call_enter);
        }
    }

    // §6.3 step 1 for one callback result: decides on the next state and on an enter call, and
    // runs the actions. Returns why the machine stops, if it does.
    std::optional<ExitReason> apply(Self self, Transition& t, bool enter_call,
                                    StatemOptions& options, bool& call_enter) {
        // The state the callback ran in: the current one, or the one being entered.
        const State& current = *next_;
        switch (t.kind()) {
            case Transition::Kind::invalid:
                return ExitReason::error("{bad_return_from_state_function," + t.to_string() + "}");
            case Transition::Kind::stop:
                return t.reason();
            case Transition::Kind::stop_and_reply:
                if (std::optional<ExitReason> bad = StatemEngine::send_replies(self, t.actions())) {
                    return bad;
                }
                return t.reason();
            case Transition::Kind::next_state:
                if (*t.next() == current) {
                    call_enter = false;
                    break;
                }
                if (enter_call) {  // §6.2: an enter call may not change the state.
                    return ExitReason::error("{bad_state_enter_return_from_state_function," +
                                             t.to_string() + "}");
                }
                next_ = t.next();
                call_enter = true;
                break;
            case Transition::Kind::keep_state:
                call_enter = false;
                break;
            case Transition::Kind::repeat_state:
                call_enter = true;
                break;
        }
        return StatemEngine::run_actions(self, t.actions(), enter_call, options);
    }

    Impl impl_;
    Pid parent_;
    std::optional<State> state_;  // The current state; set by init.
    std::optional<State> next_;   // The state being moved to; the one terminate sees.
    std::vector<TransitionAction> init_actions_;
};

}  // namespace detail

/// gen_statem's API: start, call, and the gen_server functions a state machine shares.
namespace statem {

/// gen_statem:start/start_link with options: a registered name, link or not. Waits until init
/// has returned; the result is gen_server's (otp-semantics §5.2).
template <typename Impl, typename... Args>
Async<StartResult> start_with(Self self, StartOptions options, Args... args) {
    static_assert(std::is_base_of_v<StateMachine<typename Impl::StateType>, Impl>,
                  "a state machine derives from StateMachine<State>");
    const Pid parent = options.link ? self.pid() : Pid{};
    return start_server<detail::StatemServer<Impl>>(self, std::move(options), parent,
                                                    std::move(args)...);
}

/// gen_statem:start_link/3: linked, no name.
template <typename Impl, typename... Args>
Async<StartResult> start_link(Self self, Args... args) {
    return start_with<Impl>(self, StartOptions(), std::move(args)...);
}

/// gen_statem:start/3: not linked, no name.
template <typename Impl, typename... Args>
Async<StartResult> start(Self self, Args... args) {
    StartOptions options;
    options.link = false;
    return start_with<Impl>(self, std::move(options), std::move(args)...);
}

/// gen_statem:call: the reply of type Rep; no time-out by default. On failure the caller exits
/// with {Reason, {gen_statem, call, [Target, _, Timeout]}} (otp-semantics §6.6).
template <typename Rep, typename Req>
Async<Rep> call(Self self, ServerRef target, Req request, Duration timeout = infinity) {
    return bedlam::call<Rep>(self, std::move(target), std::move(request), timeout, "gen_statem");
}

using bedlam::cast;   // gen_statem:cast: an event of type cast.
using bedlam::reply;  // gen_statem:reply(From, Reply).
using bedlam::stop;   // gen_statem:stop: terminate runs, then the machine exits with Reason.

}  // namespace statem

}  // namespace bedlam
