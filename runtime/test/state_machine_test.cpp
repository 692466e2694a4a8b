// StateMachine (gen_statem, otp-semantics §6): the cases of OTP's gen_statem_SUITE listed in
// otp-semantics §9, in both callback modes where the suite runs both, plus one test per rule of
// §6.3-§6.5 the suite leaves implicit. Cases without exact times run on every scheduler; those
// that check times run on the simulator, in virtual time.
#include "bedlam/runtime/state_machine.hpp"

#include <cstdint>
#include <optional>
#include <ostream>
#include <regex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/registry.hpp"

#include "test_support.hpp"

namespace bedlam {
namespace {

using namespace std::string_literals;
using test::Events;
using test::Probe;
using test::Sched;

// -- Test support ------------------------------------------------------------------------------

enum class Mode : std::uint8_t { state_functions, handle_event_function };

const char* mode_name(Mode mode) {
    return mode == Mode::state_functions ? "state_functions" : "handle_event_function";
}

/// A message a state machine sends to the test process (Erlang's `Self ! {...}`).
struct Note {
    std::string text;
};

/// Pids as `<pid>`: exit reasons name processes whose numbers depend on the test's history.
std::string without_pids(const std::string& text) {
    static const std::regex pid("<0\\.[0-9]+\\.[0-9]+>");
    return std::regex_replace(text, pid, "<pid>");
}

/// A message the test process received, as text: a reply to a call (or to a made-up From, as
/// the suite's `{Self, Tag}`) as `{Tag,Reply}`, an EXIT, a DOWN or a Note.
std::string describe(const Message& m) {
    if (const ExitMsg* exit = m.get<ExitMsg>(); exit != nullptr) {
        return "EXIT " + exit->reason.to_string();
    }
    if (const DownMsg* down = m.get<DownMsg>(); down != nullptr) {
        return "DOWN " + down->reason.to_string();
    }
    if (m.is_reply()) {
        const std::string* value = m.get<std::string>();
        return "{" + std::to_string(m.ref().id) + "," + (value != nullptr ? *value : "?") + "}";
    }
    if (const Note* note = m.get<Note>(); note != nullptr) {
        return note->text;
    }
    return "?";
}

/// The suite's flush(): the next `n` messages (waiting up to 5 s for each), then any others
/// that arrive within `quiet`.
Async<Events> flush(Self self, std::size_t n, Duration quiet = 10ms) {
    Events received;
    for (;;) {
        const Duration wait = received.size() < n ? Duration(5s) : quiet;
        std::optional<std::string> text = co_await self
                                              .receive([](Message m) {
                                                  return std::optional<std::string>(describe(m));
                                              })
                                              .after(wait, [] {
                                                  return std::optional<std::string>();
                                              });
        if (!text) {
            co_return received;
        }
        received.push_back(*text);
    }
}

/// Milliseconds since `t0` on the scheduler's clock.
std::string ms_since(Self self, Ticks t0) {
    return std::to_string((self.now() - t0) / 1'000'000) + " ms";
}

/// verify_empty_msgq().
Async<void> verify_empty(Self self, Probe* probe) {
    const Events left = co_await flush(self, 0);
    for (const std::string& m : left) {
        probe->note("unexpected " + m);
    }
}

/// Notes the next `n` messages, and any others that arrive within `quiet`.
Async<void> note_flush(Self self, Probe* probe, std::size_t n, Duration quiet = 10ms) {
    for (const std::string& m : co_await flush(self, n, quiet)) {
        probe->note(m);
    }
}

/// A gen_statem:call whose failure the test catches (the suite's ?EXPECT_FAILURE): the reply,
/// or the caller's exit reason with pids blanked.
template <typename Req>
Async<std::string> try_call(Self self, ServerRef target, Req request, Duration timeout = infinity) {
    std::string outcome;
    try {
        outcome = co_await statem::call<std::string>(self, std::move(target), std::move(request),
                                                     timeout);
    } catch (const ExitException& x) {
        outcome = without_pids(x.reason.to_string());
    }
    co_return outcome;
}

/// gen_statem:stop whose failure the test catches.
Async<std::string> try_stop(Self self, ServerRef target, ExitReason reason = ExitReason::normal(),
                            Duration timeout = infinity) {
    std::string outcome = "ok";
    try {
        co_await statem::stop(self, std::move(target), std::move(reason), timeout);
    } catch (const ExitException& x) {
        outcome = x.reason.to_string();
    }
    co_return outcome;
}

/// The suite's `receive {'EXIT', STM, Reason} after T`, then verify_empty_msgq().
Async<void> note_exit(Self self, Probe* probe, Duration within) {
    if (const std::optional<ExitMsg> exit = co_await self.receive_for<ExitMsg>(within)) {
        probe->note("EXIT " + exit->reason.to_string());
    }
    co_await verify_empty(self, probe);
}

struct Hej {};

/// The suite's last check on a stopped machine: a call exits with {noproc, _}, and no message
/// is left.
Async<void> check_gone(Self self, Probe* probe, Pid stm) {
    probe->note(co_await try_call(self, stm, Hej{}));
    co_await verify_empty(self, probe);
}

std::string describe(const StartResult& r) {
    if (r.kind == StartResult::Kind::error) {
        return "error " + without_pids(r.reason.to_string());
    }
    return r.ok() ? "ok" : "ignore";
}

StartOptions options(std::string name, bool link) {
    return StartOptions(std::move(name), link);
}

// -- The suite's state machine (gen_statem_SUITE's own callbacks)
// ------------------------------------

enum class Name : std::uint8_t { idle, wfor_conf, connected, timeout, timeout2, next_events };

std::ostream& operator<<(std::ostream& os, Name name) {
    static constexpr const char* names[] = {"idle",    "wfor_conf", "connected",
                                            "timeout", "timeout2",  "next_events"};
    return os << names[static_cast<std::uint8_t>(name)];
}

enum class InitMode : std::uint8_t { ok, ignore, stop, sleep };

struct AliveCall {};  // call 'alive?'
struct AliveCast {    // cast {'alive?', Pid}
    Pid pid;
};
struct Yes {};
struct ConnectCall {};
struct ConnectCast {
    Pid pid;
};
struct Accept {};
struct Ping {
    Pid pid;
    int tag;
};
struct Pong {
    int tag;
};
struct Confirm {};
struct MsgCall {
    int ref;
};
struct MsgCast {
    Pid pid;
    int ref;
};
struct Ack {
    int ref;
};
struct Disconnect {};
struct Get {};
struct StopCall {};  // call or cast `stop`
struct StopWith {    // call or cast {stop, Reason}
    explicit StopWith(ExitReason r) : reason(std::move(r)) {}
    ExitReason reason;
};
struct BadReturn {};
struct BadAction {};
struct BadTimeout {};
struct DelayedAnswer {
    Duration delay;
};
struct TimeoutCall {  // {timeout, Time}
    Duration time;
};
struct NextEventCast {};
struct ThereYouAre {};
struct Idle {};  // The content of the absolute event time-out set by TimeoutCall.
struct TimerOk {};
struct ShouldBeCancelled {};
struct Ouch {};

// The states of gen_statem_SUITE's machine are functions of this class. SuiteFunctions
// registers them as state functions; SuiteHandleEvent dispatches to them from handle_event.
class Suite : public StateMachine<Name> {
public:
    explicit Suite(InitMode init_mode) : init_mode_(init_mode) {}

    Async<Init> init(Self self) override {
        if (init_mode_ == InitMode::sleep) {  // init(sleep): returns {ok, idle, _} after 1 s.
            co_await self.sleep(1s);
        }
        if (init_mode_ == InitMode::ignore) {
            co_return Init::ignore();
        }
        if (init_mode_ == InitMode::stop) {
            co_return Init::stop(ExitReason::error("stopped"));
        }
        co_return Init::ok(Name::idle);
    }

    Async<Transition> idle(Self self, EventType type, Message event) {
        const bool call = type.kind() == EventType::Kind::call;
        if (const ConnectCast* c = event.get<ConnectCast>(); c != nullptr) {
            self.send(c->pid, Accept{});
            // An infinite event time-out: a no-op, just to use the API.
            co_return Transition::next_state(Name::wfor_conf, Action::event_timeout(infinity, 0));
        }
        if (call && event.is<ConnectCall>()) {
            reply(self, type.from(), "accept"s);
            co_return Transition::next_state(Name::wfor_conf, Action::event_timeout(infinity, 0));
        }
        if (call && event.is<BadReturn>()) {
            co_return Transition();
        }
        if (call && event.is<BadAction>()) {
            co_return Transition::keep_state(Action());
        }
        if (call && event.is<BadTimeout>()) {
            co_return Transition::keep_state(Action::timeout(EventType::info(), 4711ms, Ouch{}));
        }
        if (const DelayedAnswer* d = event.get<DelayedAnswer>(); call && d != nullptr) {
            co_await self.sleep(d->delay);
            reply(self, type.from(), "delayed"s);
            co_return Transition::keep_state();
        }
        if (const TimeoutCall* t = event.get<TimeoutCall>(); call && t != nullptr) {
            timeout_from_ = type.from();
            timeout_time_ = t->time;
            co_return Transition::next_state(
                Name::timeout,
                Action::timeout_at(EventType::timeout(), self.now() + t->time.count(), Idle{}));
        }
        if (event.is<NextEventCast>()) {
            pending_ = "abc";
            co_return Transition::next_state(Name::next_events,
                                             Action::next_event(EventType::internal(), 'a'),
                                             Action::next_event(EventType::internal(), 'b'),
                                             Action::next_event(EventType::internal(), 'c'));
        }
        if (std::optional<Transition> t = common(self, type, event, Name::idle)) {
            co_return std::move(*t);
        }
        if (call) {
            co_return Transition::keep_state(Action::reply(type.from(), "eh?"s));
        }
        co_return Transition::stop(ExitReason::error("{unexpected,idle," + type.to_string() + "}"));
    }

    Async<Transition> wfor_conf(Self self, EventType type, Message event) {
        const bool call = type.kind() == EventType::Kind::call;
        if (call && event.is<Confirm>()) {
            co_return Transition::next_state(Name::connected, Action::reply(type.from(), "yes"s));
        }
        if (!call && event.is<Ping>()) {
            co_return Transition::keep_state(Action::postpone());
        }
        if (!call && event.is<Confirm>()) {
            co_return Transition::next_state(Name::connected);
        }
        if (std::optional<Transition> t = common(self, type, event, Name::wfor_conf)) {
            co_return std::move(*t);
        }
        if (call) {
            co_return Transition::next_state(Name::idle, Action::reply(type.from(), "eh?"s));
        }
        co_return Transition::keep_state();
    }

    Async<Transition> connected(Self self, EventType type, Message event) {
        const bool call = type.kind() == EventType::Kind::call;
        if (const MsgCall* m = event.get<MsgCall>(); call && m != nullptr) {
            co_return Transition::keep_state(
                Action::reply(type.from(), "ack " + std::to_string(m->ref)));
        }
        if (const MsgCast* m = event.get<MsgCast>(); m != nullptr) {
            self.send(m->pid, Ack{m->ref});
            co_return Transition::keep_state();
        }
        if (event.is<Disconnect>()) {
            if (call) {
                co_return Transition::next_state(Name::idle, Action::reply(type.from(), "yes"s));
            }
            co_return Transition::next_state(Name::idle);
        }
        if (const Ping* p = event.get<Ping>(); p != nullptr) {
            self.send(p->pid, Pong{p->tag});
            co_return Transition::keep_state();
        }
        if (std::optional<Transition> t = common(self, type, event, Name::connected)) {
            co_return std::move(*t);
        }
        if (call) {
            co_return Transition::keep_state(Action::reply(type.from(), "eh?"s));
        }
        co_return Transition::keep_state();
    }

    // The suite's `timeout` state: the absolute event time-out fires, a plain timer starts, and a
    // zero event time-out is postponed into `timeout2`, where it cancels a 1 ms event time-out.
    Async<Transition> timeout_state(Self self, EventType type, Message event) {
        if (type == EventType::timeout() && event.is<Idle>()) {
            self.send_after(timeout_time_, self.pid(), TimerOk{});
            co_return Transition::keep_state(Action::event_timeout(0ms, 0));
        }
        if (type == EventType::timeout() && event.is<int>()) {
            co_return Transition::next_state(Name::timeout2,
                                             Action::event_timeout(1ms, ShouldBeCancelled{}),
                                             Action::postpone());
        }
        co_return Transition::keep_state();
    }

    Async<Transition> timeout2(Self self, EventType type, Message event) {
        if (type == EventType::timeout() && event.is<int>()) {
            co_return Transition::keep_state();
        }
        if (type == EventType::timeout()) {
            co_return Transition::stop(ExitReason::error("should_be_cancelled"));
        }
        if (type == EventType::info() && event.is<TimerOk>()) {
            reply(self, timeout_from_, "ok"s);
            co_return Transition::next_state(Name::idle);
        }
        co_return Transition::keep_state();
    }

    Async<Transition> next_events(Self self, EventType type, Message event) {
        if (const char* c = event.get<char>(); type == EventType::internal() && c != nullptr &&
                                               !pending_.empty() && pending_.front() == *c) {
            pending_.erase(0, 1);
            co_return Transition::keep_state();
        }
        if (std::optional<Transition> t = common(self, type, event, Name::next_events)) {
            co_return std::move(*t);
        }
        co_return Transition::keep_state();
    }

protected:
    Async<Transition> dispatch(Self self, EventType type, Message event, Name state) {
        switch (state) {
            case Name::idle:
                co_return co_await idle(self, std::move(type), std::move(event));
            case Name::wfor_conf:
                co_return co_await wfor_conf(self, std::move(type), std::move(event));
            case Name::connected:
                co_return co_await connected(self, std::move(type), std::move(event));
            case Name::timeout:
                co_return co_await timeout_state(self, std::move(type), std::move(event));
            case Name::timeout2:
                co_return co_await timeout2(self, std::move(type), std::move(event));
            case Name::next_events:
                co_return co_await next_events(self, std::move(type), std::move(event));
        }
        co_return Transition();
    }

private:
    // handle_common_events/4.
    std::optional<Transition> common(Self self, const EventType& type, Message& event, Name state) {
        const bool call = type.kind() == EventType::Kind::call;
        if (call && event.is<Get>()) {
            std::ostringstream text;
            text << state;
            if (state == Name::next_events) {
                text << ":" << pending_;
            }
            return Transition::keep_state(Action::reply(type.from(), text.str()));
        }
        if (event.is<StopCall>()) {
            if (call) {
                return Transition::stop_and_reply(ExitReason::normal(),
                                                  Action::reply(type.from(), "stopped"s));
            }
            return Transition::stop();
        }
        if (const StopWith* s = event.get<StopWith>(); s != nullptr) {
            if (call) {
                return Transition::stop_and_reply(s->reason,
                                                  Action::reply(type.from(), "stopped"s));
            }
            return Transition::stop(s->reason);
        }
        if (call && event.is<AliveCall>()) {
            return Transition::keep_state(Action::reply(type.from(), "yes"s));
        }
        if (const AliveCast* a = event.get<AliveCast>(); a != nullptr) {
            self.send(a->pid, Yes{});
            return Transition::keep_state();
        }
        return std::nullopt;
    }

    InitMode init_mode_;
    std::string pending_;  // next_events' data: the internal events still to come.
    From timeout_from_{};
    Duration timeout_time_{};
};

class SuiteFunctions final : public Suite {
public:
    explicit SuiteFunctions(InitMode init_mode) : Suite(init_mode) {
        state_function(Name::idle, &Suite::idle);
        state_function(Name::wfor_conf, &Suite::wfor_conf);
        state_function(Name::connected, &Suite::connected);
        state_function(Name::timeout, &Suite::timeout_state);
        state_function(Name::timeout2, &Suite::timeout2);
        state_function(Name::next_events, &Suite::next_events);
    }
};

class SuiteHandleEvent final : public Suite {
public:
    explicit SuiteHandleEvent(InitMode init_mode) : Suite(init_mode) {}
    Async<Transition> handle_event(Self self, EventType type, Message event, Name state) override {
        co_return co_await dispatch(self, std::move(type), std::move(event), state);
    }
};

Async<StartResult> start_suite(Self self, Mode mode, StartOptions start,
                               InitMode init = InitMode::ok) {
    if (mode == Mode::state_functions) {
        return statem::start_with<SuiteFunctions>(self, std::move(start), init);
    }
    return statem::start_with<SuiteHandleEvent>(self, std::move(start), init);
}

// -- The suite's functionality checks ---------------------------------------------------------

Async<void> check_state(Self self, Probe* probe, ServerRef stm, const char* expected) {
    const std::string state = co_await statem::call<std::string>(self, std::move(stm), Get{});
    if (state != expected) {
        probe->note("state " + state + ", expected " + expected);
    }
}

void expect_equal(Probe* probe, const std::string& got, const std::string& expected) {
    if (got != expected) {
        probe->note("got " + got + ", expected " + expected);
    }
}

Async<void> alive(Self self, ServerRef stm) {
    cast(self, stm, AliveCast{self.pid()});
    co_await self.receive<Yes>();
}

// do_func_test/1: casts.
Async<void> func_test(Self self, Probe* probe, ServerRef stm) {
    co_await alive(self, stm);
    co_await check_state(self, probe, stm, "idle");
    cast(self, stm, ConnectCast{self.pid()});
    co_await self.receive<Accept>();
    co_await check_state(self, probe, stm, "wfor_conf");
    cast(self, stm, Ping{self.pid(), 7});  // Postponed until the state changes.
    cast(self, stm, Confirm{});
    if (const Pong pong = co_await self.receive<Pong>(); pong.tag != 7) {
        probe->note("bad pong");
    }
    co_await check_state(self, probe, stm, "connected");
    co_await alive(self, stm);
    for (int i = 0; i < 3; ++i) {
        co_await check_state(self, probe, stm, "connected");
        cast(self, stm, MsgCast{self.pid(), i});
        if (const Ack ack = co_await self.receive<Ack>(); ack.ref != i) {
            probe->note("bad ack");
        }
    }
    co_await alive(self, stm);
    cast(self, stm, Disconnect{});
    co_await check_state(self, probe, stm, "idle");
    co_await alive(self, stm);
}

// do_sync_func_test/1: calls.
Async<void> sync_func_test(Self self, Probe* probe, ServerRef stm) {
    std::string r = co_await statem::call<std::string>(self, stm, AliveCall{});
    expect_equal(probe, r, "yes");
    co_await check_state(self, probe, stm, "idle");
    r = co_await statem::call<std::string>(self, stm, ConnectCall{});
    expect_equal(probe, r, "accept");
    co_await check_state(self, probe, stm, "wfor_conf");
    cast(self, stm, Ping{self.pid(), 9});
    r = co_await statem::call<std::string>(self, stm, Confirm{});
    expect_equal(probe, r, "yes");
    if (const Pong pong = co_await self.receive<Pong>(); pong.tag != 9) {
        probe->note("bad pong");
    }
    co_await check_state(self, probe, stm, "connected");
    r = co_await statem::call<std::string>(self, stm, AliveCall{});
    expect_equal(probe, r, "yes");
    for (int i = 0; i < 3; ++i) {
        co_await check_state(self, probe, stm, "connected");
        r = co_await statem::call<std::string>(self, stm, MsgCall{i});
        expect_equal(probe, r, "ack " + std::to_string(i));
    }
    r = co_await statem::call<std::string>(self, stm, AliveCall{});
    expect_equal(probe, r, "yes");
    r = co_await statem::call<std::string>(self, stm, Disconnect{});
    expect_equal(probe, r, "yes");
    co_await check_state(self, probe, stm, "idle");
    r = co_await statem::call<std::string>(self, stm, AliveCall{});
    expect_equal(probe, r, "yes");
    co_await check_state(self, probe, stm, "idle");
    // The absolute event time-out, a zero one postponed into a state change, and a plain timer.
    r = co_await statem::call<std::string>(self, stm, TimeoutCall{20ms});
    expect_equal(probe, r, "ok");
    r = co_await statem::call<std::string>(self, stm, AliveCall{});
    expect_equal(probe, r, "yes");
    co_await check_state(self, probe, stm, "idle");
}

// check_stopped/1: a call exits with {_, {gen_statem, call, [_, there_you_are, infinity]}}. The
// reason is the stop reason if the call reaches the machine while it is terminating (the reply
// comes before its exit), else `noproc`.
Async<void> check_stopped(Self self, Probe* probe, ServerRef stm) {
    static const std::regex stopped("\\{(normal|shutdown|noproc),(.*)\\}");
    const std::string outcome = co_await try_call(self, std::move(stm), ThereYouAre{});
    probe->note("check_stopped " + std::regex_replace(outcome, stopped, "{_,$2}"));
}

/// What check_stopped notes for a machine called by `target`.
std::string check_stopped_text(const std::string& target = "<pid>") {
    return "check_stopped {_,{gen_statem,call,[" + target + ",_,infinity]}}";
}

// stop_it/1: a stop call, then check_stopped/1.
Async<void> stop_it(Self self, Probe* probe, ServerRef stm) {
    const std::string stopped = co_await statem::call<std::string>(self, stm, StopCall{});
    probe->note(stopped);
    co_await check_stopped(self, probe, stm);
}

/// Waits for the DOWN of monitor `mon` and notes its reason.
Async<void> note_down(Self self, Probe* probe, MonitorRef mon) {
    const DownMsg down = co_await self.receive(when(
        [mon](const DownMsg& d) {
            return d.ref == mon;
        },
        [](DownMsg d) {
            return d;
        }));
    probe->note("DOWN " + down.reason.to_string());
}

/// do_func_test, do_sync_func_test, then stop_it.
Async<void> func_sync_stop(Self self, Probe* probe, ServerRef stm) {
    co_await func_test(self, probe, stm);
    co_await sync_func_test(self, probe, stm);
    co_await stop_it(self, probe, stm);
}

// -- Fixtures ----------------------------------------------------------------------------------

using ModeParam = std::tuple<Sched, Mode>;

std::string mode_param_name(const ::testing::TestParamInfo<ModeParam>& param) {
    return std::string(std::get<0>(param.param).name) + "_" + mode_name(std::get<1>(param.param));
}

/// The suite's groups that run in both callback modes, on every scheduler: test::RuntimeTest
/// with the callback mode as a second parameter.
class StateMachineModesTest : public ::testing::TestWithParam<ModeParam> {
protected:
    void run(Process (*root)(Self, Probe*, Mode)) {
        rt_ = test::make_runtime(std::get<0>(GetParam()));
        rt_->spawn(root, &probe_, std::get<1>(GetParam()));
        rt_->run_until_idle();
    }
    [[nodiscard]] Events events() const { return probe_.events(); }

    Probe probe_;
    std::unique_ptr<Runtime> rt_;
};

INSTANTIATE_TEST_SUITE_P(Schedulers, StateMachineModesTest,
                         ::testing::Combine(::testing::ValuesIn(test::kAllSchedulers),
                                            ::testing::Values(Mode::state_functions,
                                                              Mode::handle_event_function)),
                         mode_param_name);

/// The suite's groups that run in both callback modes, for cases that check times: on the
/// simulator only.
class StateMachineModesTimeTest : public StateMachineModesTest {};

INSTANTIATE_TEST_SUITE_P(Simulators, StateMachineModesTimeTest,
                         ::testing::Combine(::testing::ValuesIn(test::kSimulators),
                                            ::testing::Values(Mode::state_functions,
                                                              Mode::handle_event_function)),
                         mode_param_name);

/// Cases in one callback mode, on every scheduler.
class StateMachineTest : public test::RuntimeTest {};

INSTANTIATE_TEST_SUITE_P(Schedulers, StateMachineTest, ::testing::ValuesIn(test::kAllSchedulers),
                         test::sched_name);

/// Cases that check times: on the simulator only, where time is virtual and exact.
class StateMachineTimeTest : public StateMachineTest {};

INSTANTIATE_TEST_SUITE_P(Simulators, StateMachineTimeTest, ::testing::ValuesIn(test::kSimulators),
                         test::sched_name);

// -- start group -------------------------------------------------------------------------------
//
// Not ported: start7 and start10, start11's second half, and stop6 (in the stop group) register
// {global, Name}, and bedlam has no global name service. gen_statem:start_monitor does not exist
// either: where the suite uses it (start1, start9), the tests start, then monitor.

// start1: anonymous start_link; the functional tests; stop. Then start and monitor.
Process start1_root(Self self, Probe* probe, Mode mode) {
    const StartResult r = co_await start_suite(self, mode, StartOptions());
    probe->note(describe(r));
    co_await func_sync_stop(self, probe, r.pid);
    co_await verify_empty(self, probe);
    const StartResult r1 = co_await start_suite(self, mode, options("", false));
    const MonitorRef mon = self.monitor(r1.pid);
    co_await func_sync_stop(self, probe, r1.pid);
    co_await note_down(self, probe, mon);
    co_await verify_empty(self, probe);
}

TEST_P(StateMachineModesTest, Start1) {
    run(start1_root);
    const std::string stopped = check_stopped_text();
    EXPECT_EQ(events(), (Events{"ok", "stopped", stopped, "stopped", stopped, "DOWN normal"}));
}

// start2: anonymous start (no link); stop with {stop, shutdown}.
Process start2_root(Self self, Probe* probe, Mode mode) {
    const StartResult r = co_await start_suite(self, mode, options("", false));
    co_await func_test(self, probe, r.pid);
    co_await sync_func_test(self, probe, r.pid);
    StopWith shutdown(ExitReason::shutdown());
    probe->note(co_await statem::call<std::string>(self, r.pid, std::move(shutdown)));
    co_await check_stopped(self, probe, r.pid);
    co_await verify_empty(self, probe);
}

TEST_P(StateMachineModesTest, Start2) {
    run(start2_root);
    EXPECT_EQ(events(), (Events{"stopped", check_stopped_text()}));
}

// start3: the start option {timeout, 5}: an init that returns in time starts as usual; one that
// sleeps 1 s is killed, and start returns {error, timeout} (§5.2, gen's {timeout, T}), for
// start_link too, whose EXIT is consumed. Nothing is left behind: no message, no process.
Process start3_root(Self self, Probe* probe, Mode mode) {
    self.trap_exit(true);
    StartOptions in_time("", false);
    in_time.timeout = 5ms;
    const StartResult r = co_await start_suite(self, mode, std::move(in_time));
    probe->note(describe(r));
    co_await func_test(self, probe, r.pid);
    co_await sync_func_test(self, probe, r.pid);
    co_await stop_it(self, probe, r.pid);
    for (int linked = 0; linked < 2; ++linked) {
        StartOptions too_slow("", linked == 1);
        too_slow.timeout = 5ms;
        const Ticks t0 = self.now();
        const StartResult late =
            co_await start_suite(self, mode, std::move(too_slow), InitMode::sleep);
        probe->note(describe(late) + " at " + ms_since(self, t0));
    }
    co_await verify_empty(self, probe);
}

TEST_P(StateMachineModesTimeTest, Start3) {
    run(start3_root);
    EXPECT_EQ(events(), (Events{"ok", "stopped", check_stopped_text(), "error timeout at 5 ms",
                                "error timeout at 5 ms"}));
    EXPECT_EQ(rt_->process_count(), 0U);  // The killed machines never got past init.
}

// start4, start5: init returns ignore, or {stop, stopped}: start returns ignore, or
// {error, stopped}, and leaves no message; start_link too (OTP 26+ consumes the EXIT).
template <InitMode Init>
Process failed_start_root(Self self, Probe* probe, Mode mode) {
    self.trap_exit(true);
    probe->note(describe(co_await start_suite(self, mode, options("", false), Init)));
    probe->note(describe(co_await start_suite(self, mode, StartOptions(), Init)));
    co_await verify_empty(self, probe);
}

TEST_P(StateMachineModesTest, Start4) {
    run(failed_start_root<InitMode::ignore>);
    EXPECT_EQ(events(), (Events{"ignore", "ignore"}));
}

TEST_P(StateMachineModesTest, Start5) {
    run(failed_start_root<InitMode::stop>);
    EXPECT_EQ(events(), (Events{"error stopped", "error stopped"}));
}

// start6: anonymous start_link.
Process start6_root(Self self, Probe* probe, Mode mode) {
    const StartResult r = co_await start_suite(self, mode, StartOptions());
    co_await func_sync_stop(self, probe, r.pid);
    co_await verify_empty(self, probe);
}

TEST_P(StateMachineModesTest, Start6) {
    run(start6_root);
    EXPECT_EQ(events(), (Events{"stopped", check_stopped_text()}));
}

// start8: {local, Name}; a second start gives {error, {already_started, Pid}}; the functional
// tests by pid and by name.
Process start8_root(Self self, Probe* probe, Mode mode) {
    const StartResult r = co_await start_suite(self, mode, options("my_stm", false));
    const StartResult again = co_await start_suite(self, mode, options("my_stm", false));
    probe->note(describe(again) + (again.already_started && again.pid == r.pid ? " same" : ""));
    co_await func_test(self, probe, r.pid);
    co_await sync_func_test(self, probe, r.pid);
    co_await func_test(self, probe, "my_stm");
    co_await sync_func_test(self, probe, "my_stm");
    co_await stop_it(self, probe, r.pid);
    co_await verify_empty(self, probe);
}

TEST_P(StateMachineModesTest, Start8) {
    run(start8_root);
    EXPECT_EQ(events(),
              (Events{"error {already_started,<pid>} same", "stopped", check_stopped_text()}));
}

// start9: {local, Name}, linked; then started and monitored.
Process start9_root(Self self, Probe* probe, Mode mode) {
    const StartResult r = co_await start_suite(self, mode, options("my_stm", true));
    const StartResult again = co_await start_suite(self, mode, options("my_stm", false));
    probe->note(describe(again) + (again.pid == r.pid ? " same" : ""));
    co_await func_test(self, probe, r.pid);
    co_await sync_func_test(self, probe, "my_stm");
    co_await stop_it(self, probe, r.pid);
    co_await verify_empty(self, probe);
    const StartResult r1 = co_await start_suite(self, mode, options("my_stm", false));
    const MonitorRef mon = self.monitor(r1.pid);
    const StartResult again1 = co_await start_suite(self, mode, options("my_stm", false));
    probe->note(describe(again1) + (again1.pid == r1.pid ? " same" : ""));
    co_await func_test(self, probe, "my_stm");
    co_await sync_func_test(self, probe, r1.pid);
    co_await stop_it(self, probe, r1.pid);
    co_await note_down(self, probe, mon);
    co_await verify_empty(self, probe);
}

TEST_P(StateMachineModesTest, Start9) {
    run(start9_root);
    const std::string stopped = check_stopped_text();
    EXPECT_EQ(events(),
              (Events{"error {already_started,<pid>} same", "stopped", stopped,
                      "error {already_started,<pid>} same", "stopped", stopped, "DOWN normal"}));
}

// start11: a stopped machine frees its name for the next start.
Process start11_root(Self self, Probe* probe, Mode mode) {
    const StartResult r = co_await start_suite(self, mode, options("my_stm", true));
    co_await stop_it(self, probe, r.pid);
    const StartResult r1 = co_await start_suite(self, mode, options("my_stm", true));
    probe->note(describe(r1));
    co_await stop_it(self, probe, "my_stm");
    co_await verify_empty(self, probe);
}

TEST_P(StateMachineModesTest, Start11) {
    run(start11_root);
    EXPECT_EQ(events(), (Events{"stopped", check_stopped_text(), "ok", "stopped",
                                check_stopped_text("my_stm")}));
}

// start12: {via, Registry, {reg, my_stm}}, linked: a second start_link or start gives
// {error, {already_started, Pid}}; the functional tests by pid and by the via name.
Process start12_root(Self self, Probe* probe, Mode mode) {
    co_await registry::start_link(self, registry::Options("reg", registry::Mode::unique));
    const std::shared_ptr<const ViaName> via = registry::via("reg", "my_stm");
    const StartResult r = co_await start_suite(self, mode, StartOptions(via));
    for (const bool link : {true, false}) {
        const StartResult again = co_await start_suite(self, mode, StartOptions(via, link));
        probe->note(describe(again) + (again.pid == r.pid ? " same" : ""));
    }
    co_await func_test(self, probe, r.pid);
    co_await sync_func_test(self, probe, r.pid);
    co_await func_sync_stop(self, probe, via);
    co_await verify_empty(self, probe);
}

TEST_P(StateMachineModesTest, Start12) {
    run(start12_root);
    const std::string taken = "error {already_started,<pid>} same";
    EXPECT_EQ(events(),
              (Events{taken, taken, "stopped", check_stopped_text("{via,Registry,{reg,my_stm}}")}));
}

// next_events: [{next_event,internal,a}, b, c] are handled in order, before anything else.
Process next_events_root(Self self, Probe* probe, Mode mode) {
    const StartResult r = co_await start_suite(self, mode, options("", false));
    cast(self, r.pid, NextEventCast{});
    probe->note(co_await statem::call<std::string>(self, r.pid, Get{}));
    probe->note(co_await try_stop(self, r.pid));
    probe->note(self.is_alive(r.pid) ? "alive" : "dead");
    probe->note(co_await try_stop(self, r.pid));
}

TEST_P(StateMachineModesTest, NextEvents) {
    run(next_events_root);
    EXPECT_EQ(events(), (Events{"next_events:", "ok", "dead", "noproc"}));
}

// -- stop group --------------------------------------------------------------------------------

// stop1: stop returns ok; the machine is dead; stop again exits with noproc.
Process stop1_root(Self self, Probe* probe, Mode mode) {
    const StartResult r = co_await start_suite(self, mode, options("", false));
    probe->note(co_await try_stop(self, r.pid));
    probe->note(self.is_alive(r.pid) ? "alive" : "dead");
    probe->note(co_await try_stop(self, r.pid));
}

TEST_P(StateMachineModesTest, Stop1) {
    run(stop1_root);
    EXPECT_EQ(events(), (Events{"ok", "dead", "noproc"}));
}

// stop2: stop with another reason and an infinite time-out.
Process stop2_root(Self self, Probe* probe, Mode mode) {
    const StartResult r = co_await start_suite(self, mode, options("", false));
    const MonitorRef mon = self.monitor(r.pid);
    probe->note(co_await try_stop(self, r.pid, ExitReason::error("other_reason")));
    probe->note(self.is_alive(r.pid) ? "alive" : "dead");
    co_await note_down(self, probe, mon);
}

TEST_P(StateMachineModesTest, Stop2) {
    run(stop2_root);
    EXPECT_EQ(events(), (Events{"ok", "dead", "DOWN other_reason"}));
}

// stop3: stop with an invalid time-out fails in the caller before anything is sent, and the
// machine runs on; a plain stop then works. OTP's invalid time-out is a non-integer (the caller
// gets function_clause); a Duration can only be invalid by being negative.
Process stop3_root(Self self, Probe* probe, Mode mode) {
    const StartResult r = co_await start_suite(self, mode, options("", false));
    const ExitReason other = ExitReason::error("other_reason");
    probe->note(co_await try_stop(self, r.pid, other, Duration(-1ms)));
    probe->note(self.is_alive(r.pid) ? "alive" : "dead");
    probe->note(co_await try_stop(self, r.pid));
    probe->note(self.is_alive(r.pid) ? "alive" : "dead");
}

TEST_P(StateMachineModesTest, Stop3) {
    run(stop3_root);
    EXPECT_EQ(events(), (Events{"function_clause", "alive", "ok", "dead"}));
}

// stop4 (and stop5, {Name, node()}, the same here): stop by registered name.
Process stop4_root(Self self, Probe* probe, Mode mode) {
    const StartResult r = co_await start_suite(self, mode, options("to_stop", false));
    probe->note(co_await try_stop(self, "to_stop"));
    probe->note(self.is_alive(r.pid) ? "alive" : "dead");
    probe->note(co_await try_stop(self, "to_stop"));
}

TEST_P(StateMachineModesTest, Stop4) {
    run(stop4_root);
    EXPECT_EQ(events(), (Events{"ok", "dead", "noproc"}));
}

// stop7: stop by a via name.
Process stop7_root(Self self, Probe* probe, Mode mode) {
    co_await registry::start_link(self, registry::Options("reg", registry::Mode::unique));
    const std::shared_ptr<const ViaName> via = registry::via("reg", "to_stop");
    const StartResult r = co_await start_suite(self, mode, StartOptions(via, false));
    probe->note(co_await try_stop(self, via));
    probe->note(self.is_alive(r.pid) ? "alive" : "dead");
    probe->note(co_await try_stop(self, via));
}

TEST_P(StateMachineModesTest, Stop7) {
    run(stop7_root);
    EXPECT_EQ(events(), (Events{"ok", "dead", "noproc"}));
}

// -- abnormal group ----------------------------------------------------------------------------

// abnormal2-4: a bad return value, a bad action, a bad time-out action: the machine exits with
// {bad_return_from_state_function, _} or {bad_action_from_state_function, _}, and the caller with
// that reason inside {Reason, {gen_statem, call, ...}}.
template <typename Req>
Process abnormal_root(Self self, Probe* probe, Mode mode) {
    self.trap_exit(true);
    const StartResult r = co_await start_suite(self, mode, StartOptions());
    probe->note(co_await try_call(self, r.pid, Req{}));
    const ExitMsg exit = co_await self.receive<ExitMsg>();
    probe->note((exit.from == r.pid ? "EXIT " : "EXIT from ? ") + exit.reason.to_string());
    co_await verify_empty(self, probe);
}

Events abnormal_events(const std::string& reason) {
    return {"{" + reason + ",{gen_statem,call,[<pid>,_,infinity]}}", "EXIT " + reason};
}

TEST_P(StateMachineModesTest, Abnormal2) {
    run(abnormal_root<BadReturn>);
    EXPECT_EQ(events(), abnormal_events("{bad_return_from_state_function,undefined}"));
}

TEST_P(StateMachineModesTest, Abnormal3) {
    run(abnormal_root<BadAction>);
    EXPECT_EQ(events(), abnormal_events("{bad_action_from_state_function,undefined}"));
}

TEST_P(StateMachineModesTest, Abnormal4) {
    run(abnormal_root<BadTimeout>);
    EXPECT_EQ(events(), abnormal_events("{bad_action_from_state_function,{info,4711,_}}"));
}

// abnormal1 (T): a call times out with {timeout, {gen_statem, call, ...}} after exactly its
// time-out; a call within its time-out gets the delayed reply.
Process abnormal1_root(Self self, Probe* probe) {
    co_await statem::start_with<SuiteFunctions>(self, options("abnormal1", false), InitMode::ok);
    probe->note(co_await try_call(self, "abnormal1", DelayedAnswer{1ms}, 100ms));
    const Ticks before = self.now();
    probe->note(co_await try_call(self, "abnormal1", DelayedAnswer{1000ms}, 10ms));
    probe->note("after " + std::to_string((self.now() - before) / 1'000'000) + " ms");
    probe->note(co_await try_stop(self, "abnormal1"));
}

TEST_P(StateMachineTimeTest, Abnormal1) {
    run(abnormal1_root);
    EXPECT_EQ(events(), (Events{"delayed", "{timeout,{gen_statem,call,[abnormal1,_,10]}}",
                                "after 10 ms", "ok"}));
}

// shutdown: {stop, {shutdown, reason}} is the exit reason; then a call exits with noproc.
Process shutdown_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const StartResult r = co_await statem::start_link<SuiteFunctions>(self, InitMode::ok);
    co_await func_test(self, probe, r.pid);
    co_await sync_func_test(self, probe, r.pid);
    StopWith stop(ExitReason::shutdown("reason"));
    probe->note(co_await statem::call<std::string>(self, r.pid, std::move(stop)));
    const ExitMsg exit = co_await self.receive<ExitMsg>();
    probe->note("EXIT " + exit.reason.to_string());
    self.trap_exit(false);
    probe->note(co_await try_call(self, r.pid, ThereYouAre{}));
    co_await verify_empty(self, probe);
}

TEST_P(StateMachineTest, Shutdown) {
    run(shutdown_root);
    EXPECT_EQ(events(), (Events{"stopped", "EXIT {shutdown,reason}",
                                "{noproc,{gen_statem,call,[<pid>,_,infinity]}}"}));
}

// -- The suite's map_statem machines (handle_event_function) -------------------------------------

// Made-up reply tags, like the suite's `{Self, Tag}` Froms.
constexpr std::uint64_t tag1 = 1'000'001;
constexpr std::uint64_t tag2 = 1'000'002;
constexpr std::uint64_t tag3 = 1'000'003;
constexpr std::uint64_t tag4 = 1'000'004;
constexpr std::uint64_t tag5 = 1'000'005;

From from_tag(Pid pid, std::uint64_t tag) {
    return From{pid, MonitorRef{tag}, false};
}

// stop_and_reply: the replies of stop_and_reply are sent before the 'EXIT'.
struct Echo {
    From from;
    std::string reply;
};
struct StopAndReply {
    ExitReason reason;
    From from;
    std::string reply;
};

enum class Phase : std::uint8_t { start, wait };

class StopAndReplyMachine final : public StateMachine<Phase> {
public:
    Async<Init> init(Self /*self*/) override { co_return Init::ok(Phase::start); }
    Async<Transition> handle_event(Self /*self*/, EventType type, Message event,
                                   Phase state) override {
        if (const Echo* echo = event.get<Echo>();
            state == Phase::start && type == EventType::cast() && echo != nullptr) {
            first_reply_ = Action::reply(echo->from, echo->reply);
            co_return Transition::next_state(Phase::wait);
        }
        if (const StopAndReply* stop = event.get<StopAndReply>();
            state == Phase::wait && type == EventType::cast() && stop != nullptr) {
            co_return Transition::stop_and_reply(stop->reason, std::move(first_reply_),
                                                 Action::reply(stop->from, stop->reply));
        }
        co_return Transition::stop(ExitReason::error("unexpected"));
    }

private:
    Action first_reply_;
};

Process stop_and_reply_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid stm = (co_await statem::start_link<StopAndReplyMachine>(self)).pid;
    cast(self, stm, Echo{from_tag(self.pid(), tag1), "reply1"});
    cast(self, stm,
         StopAndReply{ExitReason::error("reason"), from_tag(self.pid(), tag2), "reply2"});
    co_await note_flush(self, probe, 3);
    co_await check_gone(self, probe, stm);
}

TEST_P(StateMachineTest, StopAndReply) {
    run(stop_and_reply_root);
    EXPECT_EQ(events(), (Events{"{1000001,reply1}", "{1000002,reply2}", "EXIT reason",
                                "{noproc,{gen_statem,call,[<pid>,_,infinity]}}"}));
}

// state_enter: the exact sequence of enter calls (before the initial state too), repeat_state
// and zero time-outs; string states.
struct Echo2 {};
struct Repeat {};

class StateEnterMachine final : public StateMachine<std::string> {
public:
    explicit StateEnterMachine(Pid tester) : tester_(tester) {}
    [[nodiscard]] bool state_enter() const override { return true; }
    Async<Init> init(Self /*self*/) override { co_return Init::ok("start"); }

    Async<Transition> handle_event(Self self, EventType type, Message event,
                                   std::string state) override {
        std::optional<Transition> t =
            state == "start" ? in_start(self, type, event) : in_wait(self, type, event);
        if (const int* m = event.get<int>(); !t && type == EventType::timeout() && m != nullptr) {
            t = Transition::keep_state(
                Action::reply(tagged(n_), "{timeout," + std::to_string(*m) + "}"));
            ++n_;
        }
        if (t) {
            co_return std::move(*t);
        }
        co_return Transition::stop(
            ExitReason::error("{unexpected," + state + "," + type.to_string() + "}"));
    }

private:
    // The state `start` of the suite's machine; n_ is its Data N.
    std::optional<Transition> in_start(Self self, const EventType& type, Message& event) {
        const int n = n_;
        const std::string num = std::to_string(n);
        const bool call = type.kind() == EventType::Kind::call;
        if (type == EventType::enter()) {
            note(self, "{" + num + ",enter,start," + old_state(event) + "}");
            n_ = n + 1;
            return Transition::keep_state();
        }
        if (const std::string* prev = event.get<std::string>();
            type == EventType::internal() && prev != nullptr) {
            note(self, "{" + num + ",internal,start," + *prev + "}");
            n_ = n + 1;
            return Transition::keep_state();
        }
        if (call && event.is<Repeat>()) {
            n_ = n + 1;
            return Transition::repeat_state(
                Action::reply(type.from(), "{" + num + ",repeat,start}"));
        }
        if (call && event.is<Echo2>()) {
            n_ = n + 1;
            return Transition::next_state("wait",
                                          Action::reply(type.from(), "{" + num + ",echo,start}"),
                                          Action::event_timeout(0ms, n));
        }
        if (const StopWith* stop = event.get<StopWith>(); call && stop != nullptr) {
            n_ = n + 1;
            return Transition::stop_and_reply(stop->reason,
                                              Action::reply(type.from(), "{" + num + ",stop}"));
        }
        return std::nullopt;
    }

    // The state `wait`.
    std::optional<Transition> in_wait(Self self, const EventType& type, Message& event) {
        const int n = n_;
        const std::string num = std::to_string(n);
        const bool call = type.kind() == EventType::Kind::call;
        if (type == EventType::enter() && n < 5) {
            n_ = n + 1;
            return Transition::repeat_state(
                Action::reply(tagged(n), "{enter," + old_state(event) + "}"),
                Action::event_timeout(0ms, n), Action::state_timeout(0ms, n));
        }
        if (type == EventType::enter()) {
            note(self, "{" + num + ",enter,wait," + old_state(event) + "}");
            n_ = n + 1;
            return Transition::keep_state(Action::event_timeout(0ms, n),
                                          Action::state_timeout(0ms, n));
        }
        if (const int* m = event.get<int>(); type == EventType::state_timeout() && m != nullptr) {
            n_ = n + 1;
            return Transition::keep_state(
                Action::reply(tagged(n), "{state_timeout," + std::to_string(*m) + "}"));
        }
        if (call && event.is<Repeat>()) {  // repeat_state_and_data: N stays.
            return Transition::repeat_state(Action::reply(type.from(), "{" + num + ",repeat,wait}"),
                                            Action::event_timeout(0ms, n));
        }
        if (call && event.is<Echo2>()) {
            n_ = n + 1;
            return Transition::next_state("start",
                                          Action::next_event(EventType::internal(), "wait"s),
                                          Action::reply(type.from(), "{" + num + ",echo,wait}"));
        }
        return std::nullopt;
    }

    // The suite's `{Self, N}`: a reply to the tester tagged with N.
    [[nodiscard]] From tagged(int n) const {
        return from_tag(tester_, static_cast<std::uint64_t>(n));
    }
    void note(Self self, std::string text) const { self.send(tester_, Note{std::move(text)}); }

    Pid tester_;
    int n_ = 1;
};

Process state_enter_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid stm = (co_await statem::start_link<StateEnterMachine>(self, self.pid())).pid;
    auto record = [probe](const Events& received) {
        std::string line;
        for (const std::string& m : received) {
            line += (line.empty() ? "" : " ") + m;
        }
        probe->note(line);
    };
    record(co_await flush(self, 1));
    probe->note(co_await statem::call<std::string>(self, stm, Echo2{}));
    record(co_await flush(self, 5));
    probe->note(co_await statem::call<std::string>(self, stm, Repeat{}));
    record(co_await flush(self, 3));
    probe->note(co_await statem::call<std::string>(self, stm, Echo2{}));
    record(co_await flush(self, 2));
    probe->note(co_await statem::call<std::string>(self, stm, Repeat{}));
    record(co_await flush(self, 1));
    StopWith bye(ExitReason::error("bye"));
    probe->note(co_await statem::call<std::string>(self, stm, std::move(bye)));
    record(co_await flush(self, 1));
    co_await check_gone(self, probe, stm);
}

TEST_P(StateMachineTest, StateEnter) {
    run(state_enter_root);
    EXPECT_EQ(events(),
              (Events{
                  "{1,enter,start,start}",
                  "{2,echo,start}",
                  "{3,{enter,start}} {4,{enter,start}} {5,enter,wait,start} {6,{timeout,5}} "s +
                      "{7,{state_timeout,5}}",
                  "{8,repeat,wait}",
                  "{8,enter,wait,wait} {9,{timeout,8}} {10,{state_timeout,8}}",
                  "{11,echo,wait}",
                  "{12,enter,start,wait} {13,internal,start,wait}",
                  "{14,repeat,start}",
                  "{15,enter,start,start}",
                  "{16,stop}",
                  "EXIT bye",
                  "{noproc,{gen_statem,call,[<pid>,_,infinity]}}",
              }));
}

// event_order: next_events come first, then the postponed casts; the zero event time-out never
// fires, since queued events cancel it. The flush must be exactly [ok3, ok4, ok1, ok2, 'EXIT'].
struct ReplyTo {  // The suite's `{reply, From, Reply}` as an event.
    From from;
    std::string reply;
};
struct Buffer {
    Pid pid;
};
struct StopWithNext {
    explicit StopWithNext(ExitReason r) : reason(std::move(r)) {}
    ExitReason reason;
};

enum class Order : std::uint8_t { start, buffer, stop };

class EventOrderMachine final : public StateMachine<Order> {
public:
    Async<Init> init(Self /*self*/) override { co_return Init::ok(Order::start); }
    Async<Transition> handle_event(Self /*self*/, EventType type, Message event,
                                   Order state) override {
        const bool call = type.kind() == EventType::Kind::call;
        if (state == Order::start) {
            if (type == EventType::cast()) {
                co_return Transition::keep_state(Action::postpone());  // Handled in buffer.
            }
            if (const Buffer* b = event.get<Buffer>(); call && b != nullptr) {
                co_return Transition::next_state(
                    Order::buffer,
                    Action::next_event(EventType::internal(),
                                       ReplyTo{from_tag(b->pid, tag3), "ok3"}),
                    Action::next_event(EventType::internal(),
                                       ReplyTo{from_tag(b->pid, tag4), "ok4"}),
                    // Never fires: the next_events and the postponed casts cancel it.
                    Action::event_timeout(0ms, ReplyTo{from_tag(b->pid, tag5), "ok5"}),
                    Action::reply(type.from(), "ok"s));
            }
        }
        if (state == Order::buffer) {
            if (ReplyTo* r = event.get<ReplyTo>(); r != nullptr && !call) {
                replies_.push_back(*r);
                co_return Transition::keep_state();
            }
            if (const StopWith* s = event.get<StopWith>(); call && s != nullptr) {
                std::vector<TransitionAction> actions;
                for (ReplyTo& r : replies_) {
                    actions.push_back(Action::reply(r.from, std::move(r.reply)));
                }
                actions.push_back(Action::reply(type.from(), "ok"s));
                actions.push_back(
                    Action::next_event(EventType::internal(), StopWithNext(s->reason)));
                co_return Transition::next_state(Order::stop, std::move(actions));
            }
        }
        if (const StopWithNext* s = event.get<StopWithNext>();
            state == Order::stop && type == EventType::internal() && s != nullptr) {
            co_return Transition::stop(s->reason);
        }
        co_return Transition::stop(ExitReason::error("unexpected"));
    }

private:
    std::vector<ReplyTo> replies_;  // In the order they were handled.
};

Process event_order_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid stm = (co_await statem::start_link<EventOrderMachine>(self)).pid;
    cast(self, stm, ReplyTo{from_tag(self.pid(), tag1), "ok1"});
    cast(self, stm, ReplyTo{from_tag(self.pid(), tag2), "ok2"});
    probe->note(co_await statem::call<std::string>(self, stm, Buffer{self.pid()}));
    StopWith stop(ExitReason::error("reason"));
    probe->note(co_await statem::call<std::string>(self, stm, std::move(stop)));
    co_await note_flush(self, probe, 5);
    co_await check_gone(self, probe, stm);
}

TEST_P(StateMachineTest, EventOrder) {
    run(event_order_root);
    EXPECT_EQ(events(), (Events{"ok", "ok", "{1000003,ok3}", "{1000004,ok4}", "{1000001,ok1}",
                                "{1000002,ok2}", "EXIT reason",
                                "{noproc,{gen_statem,call,[<pid>,_,infinity]}}"}));
}

// event_types: every event type can be inserted with next_event, a call with its From too.
// The event types inserted, in order, with their contents 1..6; state 10 + k expects the k-th.
const std::vector<EventType>& inserted_types() {
    static const std::vector<EventType> types = {
        EventType::internal(), EventType::state_timeout(), EventType::timeout(),
        EventType::info(),     EventType::cast(),          EventType::generic_timeout("6"),
    };
    return types;
}

class EventTypesMachine final : public StateMachine<int> {
public:
    Async<Init> init(Self /*self*/) override {
        co_return Init::ok(0, Action::next_event(EventType::internal(), 0));
    }
    Async<Transition> handle_event(Self /*self*/, EventType type, Message event,
                                   int state) override {
        const int* n = event.get<int>();
        const bool call = type.kind() == EventType::Kind::call;
        if (state == 0 && type == EventType::internal() && n != nullptr && *n == 0) {
            co_return Transition::next_state(1);
        }
        if (state == 1 && call) {
            std::vector<TransitionAction> actions;
            for (int k = 1; k <= 6; ++k) {
                actions.push_back(
                    Action::next_event(inserted_types()[static_cast<std::size_t>(k - 1)], k));
            }
            actions.push_back(Action::next_event(type, Hej{}));  // The call again, with its From.
            co_return Transition::next_state(11, std::move(actions));
        }
        if (const int k = state - 10; k >= 1 && k <= 6 && n != nullptr && *n == k &&
                                      type == inserted_types()[static_cast<std::size_t>(k - 1)]) {
            co_return Transition::next_state(state + 1);
        }
        if (state == 17 && call && event.is<Hej>()) {
            co_return Transition::stop_and_reply(ExitReason::shutdown(),
                                                 Action::reply(type.from(), "stopped"s));
        }
        co_return Transition::stop(ExitReason::error("{unexpected," + std::to_string(state) + "," +
                                                     type.to_string() + "}"));
    }
};

Process event_types_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid stm = (co_await statem::start_link<EventTypesMachine>(self)).pid;
    probe->note(co_await statem::call<std::string>(self, stm, Hej{}));
    const ExitMsg exit = co_await self.receive<ExitMsg>();
    probe->note("EXIT " + exit.reason.to_string());
    co_await check_gone(self, probe, stm);
}

TEST_P(StateMachineTest, EventTypes) {
    run(event_types_root);
    EXPECT_EQ(events(), (Events{"stopped", "EXIT shutdown",
                                "{noproc,{gen_statem,call,[<pid>,_,infinity]}}"}));
}

// -- Time-outs (T: simulator only, exact virtual times) -----------------------------------------

struct Go {
    Duration time;
};
struct Check {};
struct MessageToSelf {};
struct Kull {};

enum class Stage : std::uint8_t { start, state1, state2, state3, state4 };

// state_timeout: a state change cancels the event and state time-outs; zero time-outs come after
// the next_events, in order; a queued state_timeout 0 cancels a zero event time-out; several
// state_timeout 0 can be queued; a state_timeout set in a change runs in the new state.
class StateTimeoutMachine final : public StateMachine<Stage> {
public:
    Async<Init> init(Self /*self*/) override { co_return Init::ok(Stage::start); }
    Async<Transition> handle_event(Self self, EventType type, Message event, Stage state) override {
        const int* n = event.get<int>();
        auto is = [&](const EventType& expected, int content, int data) {
            return type == expected && n != nullptr && *n == content && data_ == data;
        };
        const bool call = type.kind() == EventType::Kind::call;
        if (const Go* go = event.get<Go>(); state == Stage::start && call && go != nullptr) {
            self.send(self.pid(), MessageToSelf{});
            time_ = go->time;
            from_ = type.from();
            // Internal events go before external ones.
            co_return Transition::next_state(Stage::state1, Action::event_timeout(time_, 1),
                                             Action::state_timeout(time_, 1),
                                             Action::next_event(EventType::internal(), 1));
        }
        if (state == Stage::state1 && is(EventType::internal(), 1, 0)) {
            // The state change cancels the time-outs set with 1.
            co_return Transition::next_state(Stage::state2, Action::event_timeout(0ms, 2),
                                             Action::state_timeout(0ms, 2),
                                             Action::next_event(EventType::internal(), 2));
        }
        if (state == Stage::state2) {
            if (is(EventType::internal(), 2, 0)) {
                // state_timeout 0 comes after the next_event; the pending one cancels timeout 0.
                data_ = 2;
                co_return Transition::keep_state(Action::event_timeout(0ms, 3));
            }
            if (is(EventType::state_timeout(), 2, 2)) {
                data_ = 3;  // Zero time-outs fire in order.
                co_return Transition::keep_state(Action::event_timeout(0ms, 4),
                                                 Action::state_timeout(0ms, 5));
            }
            if (is(EventType::timeout(), 4, 3)) {
                // The queued state_timeout 0 cancels timeout 0; state_timeout 0 queue up.
                data_ = 4;
                co_return Transition::keep_state(Action::state_timeout(0ms, 6),
                                                 Action::event_timeout(0ms, 7));
            }
            if (is(EventType::state_timeout(), 5, 4)) {
                data_ = 5;
                co_return Transition::keep_state();
            }
            if (is(EventType::state_timeout(), 6, 5)) {
                data_ = 6;
                co_return Transition::next_state(Stage::state3, Action::reply(from_, "ok"s),
                                                 Action::state_timeout(time_, 8));
            }
        }
        if (state == Stage::state3) {
            if (type == EventType::info() && event.is<MessageToSelf>() && data_ == 6) {
                data_ = 7;
                co_return Transition::keep_state();
            }
            if (call && event.is<Check>() && data_ == 7) {
                from_ = type.from();
                data_ = 8;
                co_return Transition::keep_state();
            }
            if (is(EventType::state_timeout(), 8, 8)) {
                co_return Transition::stop_and_reply(ExitReason::normal(),
                                                     Action::reply(from_, "ok"s));
            }
        }
        co_return Transition::stop(ExitReason::error("{unexpected," + type.to_string() + "," +
                                                     std::to_string(n != nullptr ? *n : -1) + "," +
                                                     std::to_string(data_) + "}"));
    }

private:
    int data_ = 0;
    Duration time_{};
    From from_{};
};

Process state_timeout_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid stm = (co_await statem::start_link<StateTimeoutMachine>(self)).pid;
    const Ticks t0 = self.now();
    self.send_after(1000ms, self.pid(), Kull{});
    probe->note(co_await statem::call<std::string>(self, stm, Go{500ms}) + " at " +
                ms_since(self, t0));
    probe->note(co_await statem::call<std::string>(self, stm, Check{}) + " at " +
                ms_since(self, t0));
    if (co_await self.receive_for<Kull>(Duration::zero())) {
        probe->note("late_timeout");
    }
    if (co_await self.receive_for<Kull>(1000ms)) {
        probe->note("kull at " + ms_since(self, t0));
    }
    co_await note_exit(self, probe, 500ms);
}

TEST_P(StateMachineTimeTest, StateTimeout) {
    run(state_timeout_root);
    EXPECT_EQ(events(), (Events{"ok at 0 ms", "ok at 500 ms", "kull at 1000 ms", "EXIT normal"}));
}

// timeout_cancel_and_update: {state_timeout, cancel}; `update` of a running generic time-out
// keeps its expiry; `update` of a state time-out that has expired but not yet been handled
// changes what it delivers; the event time-out set with it is cancelled by that event. What
// remains is one event time-out of 17000 ms (the suite reads it with sys:get_status; here it
// is seen firing, alone).
struct Test {};
struct StopReq {};

class TimeoutCancelMachine final : public StateMachine<Stage> {
public:
    explicit TimeoutCancelMachine(Pid tester) : tester_(tester) {}
    Async<Init> init(Self /*self*/) override { co_return Init::ok(Stage::start); }
    Async<Transition> handle_event(Self self, EventType type, Message event, Stage state) override {
        const int* n = event.get<int>();
        const std::string* text = event.get<std::string>();
        const bool call = type.kind() == EventType::Kind::call;
        if (state == Stage::start && call && event.is<Test>()) {
            self.send(self.pid(), MessageToSelf{});
            from_ = type.from();
            co_return Transition::next_state(Stage::state1, Action::state_timeout(17ms, 1),
                                             Action::next_event(EventType::internal(), 1));
        }
        if (state == Stage::state1) {
            if (type == EventType::internal() && n != nullptr && *n == 1) {
                co_return Transition::keep_state(Action::cancel_timeout(EventType::state_timeout()),
                                                 Action::generic_timeout("a", 17ms, 1));
            }
            if (type == EventType::info() && event.is<MessageToSelf>()) {
                co_return Transition::keep_state(
                    Action::update_timeout(EventType::generic_timeout("a"), "a"s));
            }
            if (type == EventType::generic_timeout("a") && text != nullptr && *text == "a") {
                co_return Transition::next_state(Stage::state2, Action::state_timeout(17ms, 2),
                                                 Action::next_event(EventType::internal(), 2));
            }
        }
        if (state == Stage::state2) {
            if (type == EventType::internal() && n != nullptr && *n == 2) {
                co_await self.sleep(50ms);  // Now state_timeout 17 has expired.
                co_return Transition::keep_state(
                    Action::update_timeout(EventType::state_timeout(), "b"s),
                    Action::event_timeout(17ms, 2));
            }
            if (type == EventType::state_timeout() && text != nullptr && *text == "b") {
                co_return Transition::next_state(Stage::state3, Action::reply(from_, "ok"s),
                                                 Action::event_timeout(17000ms, 17000));
            }
        }
        if (state == Stage::state3) {
            if (call && event.is<StopReq>()) {
                co_return Transition::stop_and_reply(ExitReason::normal(),
                                                     Action::reply(type.from(), "ok"s));
            }
            if (type == EventType::timeout() && n != nullptr && *n == 17000) {
                self.send(tester_, Note{"timeout 17000"});
                co_return Transition::keep_state();
            }
        }
        co_return Transition::stop(ExitReason::error("{unexpected," + type.to_string() + "}"));
    }

private:
    Pid tester_;
    From from_{};
};

Process timeout_cancel_and_update_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid stm = (co_await statem::start_link<TimeoutCancelMachine>(self, self.pid())).pid;
    const Ticks t0 = self.now();
    probe->note(co_await statem::call<std::string>(self, stm, Test{}) + " at " +
                ms_since(self, t0));
    // The only time-out left fires 17000 ms later, and nothing else within 20 s more.
    for (int i = 0; i < 2; ++i) {
        if (const std::optional<Note> note = co_await self.receive_for<Note>(20s)) {
            probe->note(note->text + " at " + ms_since(self, t0));
        }
    }
    probe->note(co_await statem::call<std::string>(self, stm, StopReq{}));
    co_await note_exit(self, probe, 500ms);
}

TEST_P(StateMachineTimeTest, TimeoutCancelAndUpdate) {
    run(timeout_cancel_and_update_root);
    // 17 ms to {timeout,a}, then 50 ms asleep; the event time-out is set at 67 ms.
    EXPECT_EQ(events(), (Events{"ok at 67 ms", "timeout 17000 at 17067 ms", "ok", "EXIT normal"}));
}

// generic_timers: generic time-outs survive state changes; setting one again restarts it;
// infinity cancels; {abs, true}; a zero generic time-out cancels a zero event time-out queued
// after it.
struct CallReq {
    From from;
};

class GenericTimersMachine final : public StateMachine<Stage> {
public:
    explicit GenericTimersMachine(Pid tester) : tester_(tester) {}
    Async<Init> init(Self self) override {
        t0_ = self.now();
        co_return Init::ok(Stage::start);
    }
    Async<Transition> handle_event(Self self, EventType type, Message event, Stage state) override {
        const int* n = event.get<int>();
        const bool call = type.kind() == EventType::Kind::call;
        if (state == Stage::start && call) {
            co_return Transition::next_state(Stage::state1, Action::generic_timeout("a", 1500ms, 1),
                                             Action::state_timeout(1500ms, 1),
                                             Action::generic_timeout("b", 1000ms, 1),
                                             Action::next_event(type, StopReq{}));
        }
        if (state == Stage::state1 && call) {
            const Ticks t = self.now() + Duration(500ms).count();
            co_return Transition::next_state(
                Stage::state2, Action::timeout_at(EventType::generic_timeout("c"), t, 2),
                Action::generic_timeout("d", 0ms, 2), Action::event_timeout(0ms, 2),
                Action::timeout(EventType::generic_timeout("b"), infinity, 2),
                Action::generic_timeout("a", 1000ms, CallReq{type.from()}));
        }
        if (state == Stage::state2 && type == EventType::generic_timeout("d") && n != nullptr &&
            *n == 2) {
            self.send(tester_, Note{"state3 at " + ms_since(self, t0_)});
            co_return Transition::next_state(Stage::state3);
        }
        if (state == Stage::state3 && type == EventType::generic_timeout("c") && n != nullptr &&
            *n == 2) {
            self.send(tester_, Note{"state4 at " + ms_since(self, t0_)});
            co_return Transition::next_state(Stage::state4);
        }
        if (const CallReq* req = event.get<CallReq>();
            state == Stage::state4 && type == EventType::generic_timeout("a") && req != nullptr) {
            co_return Transition::stop_and_reply(ExitReason::shutdown(),
                                                 Action::reply(req->from, "stopped"s));
        }
        co_return Transition::stop(ExitReason::error("{unexpected," + type.to_string() + "}"));
    }

private:
    Pid tester_;
    Ticks t0_ = 0;
};

Process generic_timers_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid stm = (co_await statem::start_link<GenericTimersMachine>(self, self.pid())).pid;
    const Ticks t0 = self.now();
    probe->note(co_await statem::call<std::string>(self, stm, StopReq{}) + " at " +
                ms_since(self, t0));
    co_await note_flush(self, probe, 3, 500ms);
    co_await check_gone(self, probe, stm);
}

TEST_P(StateMachineTimeTest, GenericTimers) {
    run(generic_timers_root);
    EXPECT_EQ(events(), (Events{"stopped at 1000 ms", "state3 at 0 ms", "state4 at 500 ms",
                                "EXIT shutdown", "{noproc,{gen_statem,call,[<pid>,_,infinity]}}"}));
}

// §6.5, the rest: update with no timer running fires at once, like a zero time; a zero generic
// time-out is enqueued as the newest event; of two actions for one time-out the last wins;
// infinity and cancel cancel; an event time-out is cancelled by a later cast; a state_timeout
// is cancelled by a state change ("old"), and one set in a change runs in the new state; a
// generic time-out survives state changes.
struct Arm1 {};
struct Update {};
struct Arm2 {};
struct UpdateIdle {};
struct SetState {};
struct Change {};

enum class Side : std::uint8_t { one, two };

std::string content_text(const Message& event) {
    if (const int* n = event.get<int>(); n != nullptr) {
        return std::to_string(*n);
    }
    if (const std::string* text = event.get<std::string>(); text != nullptr) {
        return *text;
    }
    return "?";
}

class TimeoutRulesMachine final : public StateMachine<Side> {
public:
    explicit TimeoutRulesMachine(Pid tester) : tester_(tester) {}
    Async<Init> init(Self self) override {
        t0_ = self.now();
        co_return Init::ok(Side::one);
    }
    Async<Transition> handle_event(Self self, EventType type, Message event, Side state) override {
        if (type.is_timeout()) {
            self.send(tester_,
                      Note{type.to_string() + " " + content_text(event) + " in " +
                           (state == Side::one ? "one" : "two") + " at " + ms_since(self, t0_)});
            co_return Transition::keep_state();
        }
        if (event.is<Arm1>()) {
            co_return Transition::keep_state(
                Action::generic_timeout("g", 100ms, 1), Action::generic_timeout("h", 50ms, 1),
                Action::timeout(EventType::generic_timeout("h"), infinity, 9),
                Action::state_timeout(60ms, 1), Action::cancel_timeout(EventType::state_timeout()),
                Action::timeout_at(EventType::generic_timeout("abs"),
                                   self.now() + Duration(70ms).count(), 1),
                Action::event_timeout(200ms, 1));
        }
        if (event.is<Update>()) {
            co_return Transition::keep_state(
                Action::update_timeout(EventType::generic_timeout("g"), 2));
        }
        if (event.is<Arm2>()) {
            co_return Transition::keep_state(Action::state_timeout(10ms, "x"s),
                                             Action::state_timeout(20ms, "y"s));
        }
        if (event.is<UpdateIdle>()) {
            co_return Transition::keep_state(
                Action::update_timeout(EventType::generic_timeout("none"), 5),
                Action::generic_timeout("z", 0ms, 7));
        }
        if (event.is<SetState>()) {
            co_return Transition::keep_state(Action::state_timeout(20ms, "old"s),
                                             Action::generic_timeout("s", 30ms, 1));
        }
        if (event.is<Change>() && state == Side::one) {
            co_return Transition::next_state(Side::two);
        }
        if (event.is<Change>()) {
            co_return Transition::next_state(Side::one, Action::state_timeout(10ms, "new"s));
        }
        co_return Transition::stop(ExitReason::error("unexpected"));
    }

private:
    Pid tester_;
    Ticks t0_ = 0;
};

Process timeout_rules_root(Self self, Probe* probe) {
    const Pid stm = (co_await statem::start_link<TimeoutRulesMachine>(self, self.pid())).pid;
    cast(self, stm, Arm1{});
    co_await self.sleep(30ms);
    cast(self, stm, Update{});
    co_await self.sleep(10ms);
    cast(self, stm, Arm2{});
    co_await self.sleep(5ms);
    cast(self, stm, UpdateIdle{});
    co_await self.sleep(65ms);
    cast(self, stm, SetState{});
    co_await self.sleep(10ms);
    cast(self, stm, Change{});
    co_await self.sleep(15ms);
    cast(self, stm, Change{});
    co_await note_flush(self, probe, 7, 1s);
    co_await statem::stop(self, stm);
}

TEST_P(StateMachineTimeTest, TimeoutRules) {
    run(timeout_rules_root);
    EXPECT_EQ(events(), (Events{
                            "{timeout,none} 5 in one at 45 ms",
                            "{timeout,z} 7 in one at 45 ms",
                            "state_timeout y in one at 60 ms",
                            "{timeout,abs} 1 in one at 70 ms",
                            "{timeout,g} 2 in one at 100 ms",
                            "{timeout,s} 1 in one at 140 ms",
                            "state_timeout new in one at 145 ms",
                        }));
}

// -- The other rules of §6, on every scheduler ---------------------------------------------------

// §6.4: postponed events are retried only after a state change, oldest first and before later
// messages; a change of Data (keep_state) or repeat_state does not retry them; the retried
// events cancel a zero event time-out set with the change (§6.5).
struct Item {
    int n;
};
struct Bump {};
struct RepeatCast {};
struct GoB {};
struct Handled {};

class PostponeMachine final : public StateMachine<Side> {
public:
    Async<Init> init(Self /*self*/) override { co_return Init::ok(Side::one); }
    Async<Transition> handle_event(Self /*self*/, EventType type, Message event,
                                   Side state) override {
        if (type.kind() == EventType::Kind::call && event.is<Handled>()) {
            co_return Transition::keep_state(Action::reply(type.from(), handled_));
        }
        if (state == Side::one) {
            if (event.is<Item>()) {
                co_return Transition::keep_state(Action::postpone());
            }
            if (event.is<Bump>()) {
                ++bumps_;  // A change of Data.
                co_return Transition::keep_state();
            }
            if (event.is<RepeatCast>()) {
                co_return Transition::repeat_state();
            }
            if (event.is<GoB>()) {
                co_return Transition::next_state(Side::two, Action::event_timeout(0ms, 0));
            }
        }
        if (const Item* item = event.get<Item>(); state == Side::two && item != nullptr) {
            handled_ += std::to_string(item->n);
            co_return Transition::keep_state();
        }
        if (type == EventType::timeout()) {
            handled_ += "T";
            co_return Transition::keep_state();
        }
        co_return Transition::stop(ExitReason::error("unexpected"));
    }

private:
    int bumps_ = 0;
    std::string handled_;
};

Process postpone_root(Self self, Probe* probe) {
    const Pid stm = (co_await statem::start_link<PostponeMachine>(self)).pid;
    cast(self, stm, Item{1});
    cast(self, stm, Item{2});
    cast(self, stm, Bump{});
    cast(self, stm, RepeatCast{});
    probe->note("[" + co_await statem::call<std::string>(self, stm, Handled{}) + "]");
    cast(self, stm, GoB{});
    cast(self, stm, Item{3});
    probe->note("[" + co_await statem::call<std::string>(self, stm, Handled{}) + "]");
    co_await statem::stop(self, stm);
}

TEST_P(StateMachineTest, PostponeRetriedOnlyAfterAStateChange) {
    run(postpone_root);
    EXPECT_EQ(events(), (Events{"[]", "[123]"}));
}

// §6.2: an enter call may not postpone, insert a next_event, or change the state; the machine
// stops (terminate runs) with a bad_state_enter_* reason.
/// A machine whose terminate tells the test process its reason and state.
class ReportsTerminate : public StateMachine<std::string> {
public:
    explicit ReportsTerminate(Pid tester) : tester_(tester) {}
    Async<void> terminate(Self self, ExitReason reason, std::string state) override {
        self.send(tester_, Note{"terminate " + reason.to_string() + " in " + state});
        co_return;
    }

protected:
    Pid tester_;
};

class EnterRulesMachine final : public ReportsTerminate {
public:
    EnterRulesMachine(Pid tester, int breach) : ReportsTerminate(tester), breach_(breach) {}
    [[nodiscard]] bool state_enter() const override { return true; }
    Async<Init> init(Self /*self*/) override { co_return Init::ok("a"); }
    Async<Transition> handle_event(Self /*self*/, EventType type, Message /*event*/,
                                   std::string /*state*/) override {
        if (type == EventType::enter()) {
            switch (breach_) {
                case 0:
                    co_return Transition::keep_state(Action::postpone(false),  // Allowed.
                                                     Action::postpone());
                case 1:
                    co_return Transition::keep_state(Action::next_event(EventType::internal(), 1));
                default:
                    co_return Transition::next_state("b");
            }
        }
        co_return Transition::keep_state();
    }

private:
    int breach_;
};

Process enter_rules_root(Self self, Probe* probe) {
    self.trap_exit(true);
    for (int breach = 0; breach < 3; ++breach) {
        const StartResult r =
            co_await statem::start_link<EnterRulesMachine>(self, self.pid(), breach);
        probe->note(describe(r));
        co_await note_flush(self, probe, 2);
    }
}

TEST_P(StateMachineTest, EnterCallRestrictions) {
    run(enter_rules_root);
    EXPECT_EQ(
        events(),
        (Events{
            "ok", "terminate {bad_state_enter_action_from_state_function,postpone} in a",
            "EXIT {bad_state_enter_action_from_state_function,postpone}",  //
            "ok",
            "terminate {bad_state_enter_action_from_state_function,{next_event,internal,_}} in a",
            "EXIT {bad_state_enter_action_from_state_function,{next_event,internal,_}}",  //
            "ok", "terminate {bad_state_enter_return_from_state_function,{next_state,b,_}} in a",
            "EXIT {bad_state_enter_return_from_state_function,{next_state,b,_}}"}));
}

// §5.4 for state machines: terminate runs with the reason and the state after a crash in a
// callback (the caller exits with the crash), and on an EXIT from the parent only if the
// machine traps exits.
struct Crash {};
struct TrapExits {};

class TerminatingMachine final : public ReportsTerminate {
public:
    explicit TerminatingMachine(Pid tester) : ReportsTerminate(tester) {}
    Async<Init> init(Self /*self*/) override { co_return Init::ok("s"); }
    Async<Transition> handle_event(Self self, EventType type, Message event,
                                   std::string /*state*/) override {
        if (event.is<Crash>()) {
            throw std::runtime_error("boom");
        }
        if (type.kind() == EventType::Kind::call && event.is<TrapExits>()) {
            self.trap_exit(true);
            co_return Transition::next_state("trapping", Action::reply(type.from(), "ok"s));
        }
        co_return Transition::keep_state();
    }
};

Process parent_of_machine(Self self, Pid tester, bool trap) {
    const Pid stm = (co_await statem::start_link<TerminatingMachine>(self, tester)).pid;
    if (trap) {
        co_await statem::call<std::string>(self, stm, TrapExits{});
    }
    self.send(tester, stm);
    co_await self.receive<Kull>();  // Never comes: the tester kills this process.
}

Process terminate_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid stm = (co_await statem::start_link<TerminatingMachine>(self, self.pid())).pid;
    probe->note(co_await try_call(self, stm, Crash{}));
    co_await note_flush(self, probe, 2);
    for (const bool trap : {true, false}) {
        const Pid parent = self.spawn(parent_of_machine, self.pid(), trap);
        const Pid machine = co_await self.receive<Pid>();
        self.monitor(machine);
        self.exit(parent, ExitReason::shutdown());
        co_await note_flush(self, probe, trap ? 2 : 1);
    }
}

TEST_P(StateMachineTest, TerminateAfterCrashAndOnParentExit) {
    run(terminate_root);
    EXPECT_EQ(
        events(),
        (Events{"{boom,{gen_statem,call,[<pid>,_,infinity]}}", "terminate boom in s", "EXIT boom",
                "terminate shutdown in trapping", "DOWN shutdown", "DOWN shutdown"}));
}

// state_functions mode: a state without a state function stops the machine with `undef`
// (gen_statem calls Module:State/3, which does not exist).
enum class Partial : std::uint8_t { a, b };

class PartialMachine final : public StateMachine<Partial> {
public:
    PartialMachine() { state_function(Partial::a, &PartialMachine::a); }
    Async<Init> init(Self /*self*/) override { co_return Init::ok(Partial::a); }
    Async<Transition> a(Self /*self*/, EventType type, Message /*event*/) {
        co_return Transition::next_state(Partial::b, Action::reply(type.from(), "ok"s));
    }
};

Process undefined_state_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid stm = (co_await statem::start_link<PartialMachine>(self)).pid;
    probe->note(co_await statem::call<std::string>(self, stm, Hej{}));
    probe->note(co_await try_call(self, stm, Hej{}));
    const ExitMsg exit = co_await self.receive<ExitMsg>();
    probe->note("EXIT " + exit.reason.to_string());
}

TEST_P(StateMachineTest, StateWithoutAStateFunctionIsUndef) {
    run(undefined_state_root);
    EXPECT_EQ(events(),
              (Events{"ok", "{undef,{gen_statem,call,[<pid>,_,infinity]}}", "EXIT undef"}));
}

// -- The README's example -----------------------------------------------------------------------

enum class Door : std::uint8_t { locked, open };
struct Button {
    char digit;
};
struct Lock {};

// gen_statem's code lock, in state_functions mode with state enter calls.
class CodeLock final : public StateMachine<Door> {
public:
    explicit CodeLock(std::string code) : code_(std::move(code)) {
        state_function(Door::locked, &CodeLock::locked);
        state_function(Door::open, &CodeLock::open);
    }
    [[nodiscard]] bool state_enter() const override { return true; }
    Async<Init> init(Self /*self*/) override { co_return Init::ok(Door::locked); }

    Async<Transition> locked(Self /*self*/, EventType type, Message event) {
        if (type == EventType::enter()) {
            entered_.clear();
            co_return Transition::keep_state();
        }
        if (const Button* button = event.get<Button>(); button != nullptr) {
            entered_ += button->digit;
            if (entered_ == code_) {
                co_return Transition::next_state(Door::open,
                                                 Action::reply(type.from(), std::string("open")));
            }
            co_return Transition::keep_state(Action::reply(type.from(), std::string("locked")));
        }
        co_return Transition::keep_state();
    }

    Async<Transition> open(Self /*self*/, EventType type, Message /*event*/) {
        if (type == EventType::enter()) {
            co_return Transition::keep_state(Action::state_timeout(10s, Lock{}));
        }
        if (type == EventType::state_timeout()) {
            co_return Transition::next_state(Door::locked);
        }
        co_return Transition::keep_state(Action::postpone());  // Until the door locks again.
    }

private:
    std::string code_;
    std::string entered_;
};

// §6.2, §6.4, §6.5 together: the enter call of `open` sets a state time-out that locks the
// door 10 s later, and a button pressed while it is open is handled once it has locked.
Process code_lock_root(Self self, Probe* probe) {
    const StartResult r = co_await statem::start_link<CodeLock>(self, std::string("12"));
    const Ticks t0 = self.now();
    for (const char digit : {'1', '2', '1'}) {
        const std::string door = co_await statem::call<std::string>(self, r.pid, Button{digit});
        probe->note(door + " at " + ms_since(self, t0));
    }
    co_await statem::stop(self, r.pid);
}

TEST_P(StateMachineTimeTest, ReadmeCodeLock) {
    run(code_lock_root);
    EXPECT_EQ(events(), (Events{"locked at 0 ms", "open at 0 ms", "locked at 10000 ms"}));
}

}  // namespace
}  // namespace bedlam
