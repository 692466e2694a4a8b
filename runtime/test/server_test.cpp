// Server (gen_server, otp-semantics §5) on every scheduler: start results, call/cast/info,
// continue and time-out actions, terminate rules, stop, and the exit reasons of failed calls.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/server.hpp"
#include "test_support.hpp"

namespace bedlam {
namespace {

using test::Events;
using test::Probe;
using test::Sched;

// -- A counter server ------------------------------------------------------------------------------

struct Get {};
struct Add {
    int by;
};
struct Crash {};
struct StopWith {
    ExitReason reason;
};
struct Later {};           // handle_call defers its reply until a Release arrives.
struct Release {};
struct Trap {};
struct SlowGet {};         // handle_call sleeps 100 ms before replying.

class Counter final : public Server {
public:
    Counter(Probe* probe, int start) : probe_(probe), n_(start) {}

    Async<InitResult> init(Self /*self*/) override {
        probe_->note("init");
        co_return InitResult::ok();
    }
    Async<ServerResult> handle_call(Self self, Message request, From from) override {
        if (request.is<Get>()) {
            co_return ServerResult::reply_with(n_);
        }
        if (request.is<Crash>()) {
            throw std::runtime_error("boom");
        }
        if (const StopWith* s = request.get<StopWith>(); s != nullptr) {
            co_return ServerResult::stop(s->reason);  // Exits without replying.
        }
        if (request.is<Later>()) {
            deferred_ = from;
            co_return ServerResult::noreply();
        }
        if (request.is<Trap>()) {
            self.trap_exit(true);
            co_return ServerResult::reply_with(0);
        }
        if (request.is<SlowGet>()) {
            co_await self.sleep(100ms);
            co_return ServerResult::reply_with(n_);
        }
        co_return ServerResult::stop(ExitReason::error("unexpected call"));
    }
    Async<ServerResult> handle_cast(Self /*self*/, Message request) override {
        if (const Add* add = request.get<Add>(); add != nullptr) {
            n_ += add->by;
        }
        co_return ServerResult::noreply();
    }
    Async<ServerResult> handle_info(Self self, Message info) override {
        if (info.is<Release>()) {
            reply(self, deferred_, n_ * 100);
        }
        co_return ServerResult::noreply();
    }
    Async<void> terminate(Self /*self*/, ExitReason reason) override {
        probe_->note("terminate " + reason.to_string());
        co_return;
    }

private:
    Probe* probe_;
    int n_;
    From deferred_{};
};

class ServerTest : public test::RuntimeTest {};

INSTANTIATE_TEST_SUITE_P(Schedulers, ServerTest, ::testing::ValuesIn(test::kAllSchedulers),
                         test::sched_name);

/// Notes the exit reason of the process behind `ref` (from spawn_monitor, so that a process that
/// dies at once is still seen with its own reason, not `noproc`).
Async<> note_exit(Self self, Probe* probe, MonitorRef ref, const std::string& label) {
    co_await self.receive(when([ref](const DownMsg& d) { return d.ref == ref; },
                               [&](DownMsg d) { probe->note(label + " " + d.reason.to_string()); }));
}

// §5.1, §5.2: start, call, cast.
Process call_and_cast_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const StartResult r = co_await start_link<Counter>(self, probe, 5);
    probe->note(r.ok() ? "started" : "failed");
    probe->note("get " + std::to_string(co_await call<int>(self, r.pid, Get{})));
    cast(self, r.pid, Add{3});
    cast(self, r.pid, Add{4});
    probe->note("get " + std::to_string(co_await call<int>(self, r.pid, Get{})));
    co_await stop(self, r.pid);
    probe->note(self.is_alive(r.pid) ? "alive" : "gone");
}

TEST_P(ServerTest, CallCastAndStop) {
    run(call_and_cast_root);
    EXPECT_EQ(events(),
              (Events{"init", "started", "get 5", "get 12", "terminate normal", "gone"}));
}

// §5.2: init results.
class InitWith final : public Server {
public:
    InitWith(Probe* /*probe*/, int mode) : mode_(mode) {}
    Async<InitResult> init(Self /*self*/) override {
        switch (mode_) {
            case 0:
                co_return InitResult::ignore();
            case 1:
                co_return InitResult::stop(ExitReason::error("bad_config"));
            case 2:
                co_return InitResult::error(ExitReason::error("no_db"));
            default:
                throw std::runtime_error("init crashed");
        }
    }

private:
    int mode_;
};

std::string describe(const StartResult& r) {
    switch (r.kind) {
        case StartResult::Kind::ok:
            return "ok";
        case StartResult::Kind::ignore:
            return "ignore";
        case StartResult::Kind::error:
            return "error " + r.reason.to_string();
    }
    return "?";
}

Process init_results_root(Self self, Probe* probe) {
    self.trap_exit(true);
    for (int mode = 0; mode < 4; ++mode) {
        const StartResult r = co_await start_link<InitWith>(self, probe, mode);
        probe->note(describe(r));
    }
    // OTP 26+: no EXIT from the failed starts is left in the mailbox.
    const std::optional<ExitMsg> left = co_await self.receive_for<ExitMsg>(Duration::zero());
    probe->note(left ? "EXIT left: " + left->reason.to_string() : "no EXIT left");
}

TEST_P(ServerTest, InitResults) {
    run(init_results_root);
    EXPECT_EQ(events(), (Events{"ignore", "error bad_config", "error no_db", "error init crashed",
                                "no EXIT left"}));
}

// §5.2: the same results for a start without a link by a process that does not trap exits (the
// starter learns of a failed init from a monitor, where a trapping linked one takes the EXIT), and
// nothing is left in its mailbox.
Process unlinked_init_results_root(Self self, Probe* probe) {
    for (int mode = 0; mode < 4; ++mode) {
        const StartResult r =
            co_await start_server<InitWith>(self, StartOptions("", false), probe, mode);
        probe->note(describe(r));
    }
    const std::optional<Message> left = co_await self.receive_for<Message>(Duration::zero());
    probe->note(left ? "a message left" : "nothing left");
}

TEST_P(ServerTest, InitResultsWithoutLinkOrTrap) {
    run(unlinked_init_results_root);
    EXPECT_EQ(events(), (Events{"ignore", "error bad_config", "error no_db", "error init crashed",
                                "nothing left"}));
}

// §5.2: a linked caller that does not trap exits dies with init's {stop, R}.
Process starter_without_trap(Self self, Probe* /*probe*/) {
    co_await start_link<InitWith>(self, static_cast<Probe*>(nullptr), 1);
}

Process stop_kills_linked_root(Self self, Probe* probe) {
    const MonitorRef starter = self.spawn_monitor(starter_without_trap, probe).second;
    co_await note_exit(self, probe, starter, "starter");
}

TEST_P(ServerTest, InitStopKillsALinkedNonTrappingStarter) {
    run(stop_kills_linked_root);
    EXPECT_EQ(events(), (Events{"starter bad_config"}));
}

// §5.1: the caller's exit reasons.
Process caller(Self self, Probe* probe, Pid server, int what) {
    switch (what) {
        case 0:
            co_await call<int>(self, server, Get{});
            break;
        case 1:
            co_await call<int>(self, server, SlowGet{}, 10ms);
            break;
        case 2: {
            // Named, not a temporary in the co_await: see README, "g++ 12 and aggregates".
            StopWith request{ExitReason::shutdown()};
            co_await call<int>(self, server, std::move(request));
            break;
        }
        case 3:
            co_await call<int>(self, "nobody", Get{});
            break;
        default:
            co_await call<int>(self, server, Crash{});
    }
    probe->note("returned");
}

Process call_failures_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid dead = (co_await start_link<Counter>(self, probe, 0)).pid;
    probe->label(dead, "dead");
    co_await stop(self, dead);
    for (int what = 0; what < 5; ++what) {
        const Pid server = (co_await start_link<Counter>(self, probe, 0)).pid;
        probe->label(server, "server" + std::to_string(what));
        const MonitorRef c = self.spawn_monitor(caller, probe, what == 0 ? dead : server, what).second;
        co_await note_exit(self, probe, c, "caller");
        if (what == 2 || what == 4) {
            co_await self.receive(when([server](const ExitMsg& m) { return m.from == server; },
                                       [&](ExitMsg m) {
                                           probe->note("server " + m.reason.to_string());
                                       }));
        } else {
            co_await stop(self, server);
        }
    }
}

// §5.1, OTP 24+: a call that timed out leaves no late reply in the caller's mailbox, whether the
// server answers from handle_call or later with reply(); the server still answers the next call.
Process late_reply_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid server = (co_await start_link<Counter>(self, probe, 7)).pid;
    for (int how = 0; how < 2; ++how) {
        bool timed_out = false;
        try {
            if (how == 0) {
                co_await call<int>(self, server, SlowGet{}, 10ms);  // Answered after 100 ms.
            } else {
                co_await call<int>(self, server, Later{}, 10ms);  // Answered at the Release.
            }
        } catch (const ExitException& x) {
            timed_out = x.reason.to_string().rfind("{timeout,", 0) == 0;
        }
        probe->note(timed_out ? "timed out" : "no time-out");
        if (how == 1) {
            self.send(server, Release{});
        }
        co_await self.sleep(200ms);  // The reply is sent meanwhile.
        bool stray = false;
        co_await self
            .receive(when([](const Message& m) { return m.is_reply(); },
                          [&](Message /*m*/) { stray = true; }))
            .after(Duration::zero(), [] {});
        probe->note(stray ? "a late reply in the mailbox" : "no late reply");
        const int got = co_await call<int>(self, server, Get{});
        probe->note("get " + std::to_string(got));
    }
    co_await stop(self, server);
}

TEST_P(ServerTest, ALateReplyToATimedOutCallIsDropped) {
    run(late_reply_root);
    Events mine;
    for (const std::string& line : events()) {
        if (line != "init" && line.rfind("terminate", 0) != 0) {
            mine.push_back(line);
        }
    }
    EXPECT_EQ(mine, (Events{"timed out", "no late reply", "get 7", "timed out", "no late reply",
                            "get 7"}));
}

TEST_P(ServerTest, FailedCallsExitTheCallerWithOtpReasons) {
    run(call_failures_root);
    const Events e = events();
    Events callers;
    Events servers;
    for (const std::string& line : e) {
        if (line.rfind("caller ", 0) == 0) {
            callers.push_back(line);
        }
        if (line.rfind("server ", 0) == 0) {
            servers.push_back(line);
        }
    }
    EXPECT_EQ(callers,
              (Events{
                  "caller {noproc,{gen_server,call,[dead,_,5000]}}",
                  "caller {timeout,{gen_server,call,[server1,_,10]}}",
                  // A server stopping with `shutdown` gives {shutdown, ...}: clean for supervisors.
                  "caller {shutdown,{gen_server,call,[server2,_,5000]}}",
                  "caller {noproc,{gen_server,call,[nobody,_,5000]}}",
                  "caller {boom,{gen_server,call,[server4,_,5000]}}",
              }));
    EXPECT_EQ(servers, (Events{"server shutdown", "server boom"}));
}

// §5.4: terminate runs after a stop result and after a crash...
Process terminate_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid a = (co_await start_link<Counter>(self, probe, 0)).pid;
    probe->label(a, "a");
    cast(self, a, Add{1});
    self.send(a, Release{});  // Info: replies to nobody's deferred call; harmless.
    // Crash: terminate runs with `boom`.
    const MonitorRef c = self.spawn_monitor(caller, probe, a, 4).second;
    co_await note_exit(self, probe, c, "caller");
    co_await self.receive<ExitMsg>();
    // ...but not when the server is killed.
    const Pid b = (co_await start_link<Counter>(self, probe, 0)).pid;
    self.exit(b, ExitReason::kill());
    const ExitMsg m = co_await self.receive<ExitMsg>();
    probe->note("b " + m.reason.to_string());
}

TEST_P(ServerTest, TerminateRunsAfterCrashButNotWhenKilled) {
    run(terminate_root);
    EXPECT_EQ(events(), (Events{"init", "terminate boom",
                                "caller {boom,{gen_server,call,[a,_,5000]}}", "init",
                                "b killed"}));
}

// §5.4, §3.19: an EXIT from the parent runs terminate only if the server traps exits.
Process parent_of(Self self, Probe* probe, bool trap) {
    const Pid s = (co_await start_link<Counter>(self, probe, 0)).pid;
    if (trap) {
        co_await call<int>(self, s, Trap{});
    }
    self.send(self.whereis("test_root").value(), s);
    co_await self.receive<Release>();  // Never comes: the root kills us.
}

Process parent_exit_root(Self self, Probe* probe, bool trap) {
    self.register_name("test_root", self.pid());
    const Pid parent = self.spawn(parent_of, probe, trap);
    const Pid server = co_await self.receive<Pid>();
    const MonitorRef ref = self.monitor(server);
    self.exit(parent, ExitReason::shutdown());
    const DownMsg down = co_await self.receive(
        when([ref](const DownMsg& d) { return d.ref == ref; }, [](DownMsg d) { return d; }));
    probe->note("server " + down.reason.to_string());
}

TEST_P(ServerTest, ParentExitRunsTerminateOnlyWhenTrapping) {
    run(parent_exit_root, true);
    EXPECT_EQ(events(), (Events{"init", "terminate shutdown", "server shutdown"}));
}

TEST_P(ServerTest, ParentExitKillsANonTrappingServerWithoutTerminate) {
    run(parent_exit_root, false);
    EXPECT_EQ(events(), (Events{"init", "server shutdown"}));
}

// Deferred replies with reply/3, and registered names.
Process deferred_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const StartResult r = co_await start_server<Counter>(self, StartOptions("counter"),
                                                        probe, 7);
    const StartResult again = co_await start_server<Counter>(
        self, StartOptions("counter"), probe, 7);
    probe->note(again.already_started && again.pid == r.pid ? "already_started" : "??");
    const Pid helper = self.spawn([](Self s, Pid server) -> Process {
        co_await s.sleep(1ms);
        s.send(server, Release{});
    }, r.pid);
    static_cast<void>(helper);
    probe->note("later " + std::to_string(co_await call<int>(self, "counter", Later{})));
    co_await stop(self, "counter", ExitReason::shutdown());
    probe->note(self.whereis("counter") ? "still registered" : "name freed");
}

TEST_P(ServerTest, DeferredReplyAndNames) {
    run(deferred_root);
    EXPECT_EQ(events(), (Events{"init", "already_started", "later 700", "terminate shutdown",
                                "name freed"}));
}

// §5.3: continue runs before any message; a time-out action delivers ServerTimeout.
class Actions final : public Server {
public:
    explicit Actions(Probe* probe) : probe_(probe) {}
    Async<InitResult> init(Self self) override {
        self.send(self.pid(), Get{});  // Queued before the continue runs.
        co_return InitResult::ok(ServerAction::continue_with(std::string("warm-up")));
    }
    Async<ServerResult> handle_continue(Self /*self*/, Any term) override {
        probe_->note("continue " + *term.get<std::string>());
        co_return ServerResult::noreply(ServerAction::after(20ms));
    }
    Async<ServerResult> handle_info(Self /*self*/, Message info) override {
        if (info.is<Get>()) {
            probe_->note("info");
            co_return ServerResult::noreply(ServerAction::after(20ms));
        }
        if (info.is<ServerTimeout>()) {
            probe_->note("timeout");
            co_return ServerResult::stop(ExitReason::normal());
        }
        co_return ServerResult::noreply();
    }

private:
    Probe* probe_;
};

Process actions_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const StartResult r = co_await start_link<Actions>(self, probe);
    const ExitMsg m = co_await self.receive<ExitMsg>();
    probe->note(m.from == r.pid ? "exit " + m.reason.to_string() : "?");
}

TEST_P(ServerTest, ContinueThenTimeoutActions) {
    run(actions_root);
    EXPECT_EQ(events(), (Events{"continue warm-up", "info", "timeout", "exit normal"}));
}

// A call that a server doesn't handle stops it with bad_call (the default handle_call).
class Bare final : public Server {};

Process bad_call_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid s = (co_await start_link<Bare>(self)).pid;
    probe->label(s, "s");
    const MonitorRef c = self.spawn_monitor(caller, probe, s, 0).second;
    co_await note_exit(self, probe, c, "caller");
    const ExitMsg m = co_await self.receive<ExitMsg>();
    probe->note("server " + m.reason.to_string());
}

TEST_P(ServerTest, UnhandledCallStopsWithBadCall) {
    run(bad_call_root);
    EXPECT_EQ(events(), (Events{"caller {{bad_call,_},{gen_server,call,[s,_,5000]}}",
                                "server {bad_call,_}"}));
}

}  // namespace
}  // namespace bedlam
