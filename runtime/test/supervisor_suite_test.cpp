// The supervisor_SUITE [SS] and dynamic_supervisor_test.exs [DST] cases of otp-semantics §9 that
// supervisor_test.cpp does not port. Each test is named after the case it ports and cites the rule
// it checks. Tests without timing run on every scheduler; timed ones (T) run on the simulator's
// virtual clock. Where OTP sleeps to let something happen, these tests wait for the supervisor to
// show it (await_children), so that they also run on the threaded scheduler.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/supervisor.hpp"
#include "supervisor_support.hpp"
#include "test_support.hpp"

namespace bedlam {
namespace {

using namespace test;  // The helpers of supervisor_support.hpp.

class SupervisorSuite : public RuntimeTest {};
INSTANTIATE_TEST_SUITE_P(Schedulers, SupervisorSuite, ::testing::ValuesIn(kAllSchedulers),
                         sched_name);

class SupervisorSuiteTimed : public RuntimeTest {};
INSTANTIATE_TEST_SUITE_P(Simulator, SupervisorSuiteTimed, ::testing::ValuesIn(kSimulators),
                         sched_name);

/// Milliseconds on the scheduler's clock since `t0`, as `at Nms`.
std::string at_ms(Self self, Ticks t0) {
    return "at " + std::to_string((self.now() - t0) / 1'000'000) + "ms";
}

/// Waits for the DOWN of `ref` and returns its reason.
Async<ExitReason> down_reason(Self self, MonitorRef ref) {
    const DownMsg d = co_await self.receive(
        when([ref](const DownMsg& x) { return x.ref == ref; }, [](DownMsg x) { return x; }));
    co_return d.reason;
}

/// Notes which_children, then count_children.
Async<> note_children(Self self, Probe* probe, Pid sup) {
    probe->note(show(co_await which_children(self, sup)));
    probe->note(show(co_await count_children(self, sup)));
}

/// The end of the start_* cases: notes the children and their counts, then shuts down.
Async<> note_children_and_stop(Self self, Probe* probe, Pid sup) {
    co_await note_children(self, probe, sup);
    co_await stop_sup(self, probe, sup);
}

/// A child that traps exits and, on an exit signal, notes it, lingers for `linger` and exits
/// with the signal's reason (supervisor_2: a child that takes its time to shut down).
Process lingering_kid(Self self, Probe* probe, std::string id, Duration linger, Pid starter) {
    self.trap_exit(true);
    probe->note("start " + id);
    self.send(starter, Ready{self.pid()});
    const ExitMsg m = co_await self.receive<ExitMsg>();
    probe->note("stop " + id + " " + m.reason.to_string());
    co_await self.sleep(linger);
    self.exit(m.reason);
}

ChildSpec lingering_spec(Probe* probe, const std::string& id, Duration linger) {
    return ChildSpec(id, [probe, id, linger](Self self, const Any& /*extra*/) {
        return start_synced(self, lingering_kid, probe, id, linger);
    });
}

/// A child that traps exits and ignores them: only `kill` stops it.
Process stubborn_kid(Self self, Probe* probe, std::string id, Pid starter) {
    self.trap_exit(true);
    probe->note("start " + id);
    self.send(starter, Ready{self.pid()});
    for (;;) {
        const ExitMsg m = co_await self.receive<ExitMsg>();
        probe->note(id + " ignores " + m.reason.to_string());
    }
}

/// A child that traps exits and, on any message (an exit signal or Die), exits with its own
/// `reason` (supervisor_4: its terminate/2 calls exit(Reason)).
Process own_reason_kid(Self self, ExitReason reason, Pid starter) {
    self.trap_exit(true);
    self.send(starter, Ready{self.pid()});
    co_await self.receive([](const Message&) {});
    self.exit(reason);
}

// == Starting (§3 rules 12, 13, 15) ===============================================================

// sup_start_ignore_temporary_child_start_child: a temporary child whose start returns ignore is
// not stored when added by start_child (§3 rule 12).
Process ignore_temporary_start_child_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid sup = co_await start_sup(self, SupFlags(Strategy::one_for_one, 2, 3600));
    ChildSpec ignored("child1", ignore_start);
    ignored.restart(Restart::temporary);
    ChildSpec started = kid_spec(probe, "child2");
    started.restart(Restart::temporary);
    probe->note(reply_text(co_await start_child(self, sup, ignored)));
    probe->note(reply_text(co_await start_child(self, sup, started)));
    co_await note_children_and_stop(self, probe, sup);
}

TEST_P(SupervisorSuite, sup_start_ignore_temporary_child_start_child) {
    run(ignore_temporary_start_child_root);
    EXPECT_EQ(events(), (Events{"{ok,undefined}", "start child2", "{ok,pid}", "[{child2,pid}]",
                                "[1,1,0,1]", "stop child2 shutdown", "sup exit shutdown"}));
}

// ack_started / await_started (proc_lib's handshake, §3.10): a child that acks starts; one that
// exits before it acks fails the start with its reason, and start_child says so.
Process acking_kid(Self self, Pid starter) {
    ack_started(self, starter);
    co_await self.receive<ExitMsg>();
}

Process failing_kid(Self /*self*/, Pid /*starter*/) {
    throw ExitException{ExitReason::error("{bad_config,port}")};
    co_return;
}

Process acked_start_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid sup = co_await start_sup(self, SupFlags(Strategy::one_for_one, 2, 3600));
    ChildSpec good("good", [](Self s, const Any& /*extra*/) {
        return await_started(s, s.spawn_link(acking_kid, s.pid()));
    });
    ChildSpec bad("bad", [](Self s, const Any& /*extra*/) {
        return await_started(s, s.spawn_link(failing_kid, s.pid()));
    });
    probe->note(reply_text(co_await start_child(self, sup, good)));
    probe->note(reply_text(co_await start_child(self, sup, bad)));
    probe->note(show(co_await which_children(self, sup)));
    co_await stop_sup(self, probe, sup);
}

TEST_P(SupervisorSuite, proc_lib_start_handshake) {
    run(acked_start_root);
    EXPECT_EQ(events(), (Events{"{ok,pid}", "{error,{bad_config,port}}", "[{good,pid}]",
                                "sup exit shutdown"}));
}

/// Returns ignore the first time, then starts a kid (supervisor_1's start_child(ignore)).
Async<StartResult> ignore_then_kid(Self self, Probe* probe, int* starts) {
    if ((*starts)++ == 0) {
        co_return StartResult{StartResult::Kind::ignore, {}, {}};
    }
    co_return co_await start_kid(self, probe, "child");
}

// sup_start_ignore_temporary_child_start_child_simple and
// sup_start_ignore_permanent_child_start_child_simple: under simple_one_for_one a start returning
// ignore gives {ok, undefined} and stores nothing, whatever the restart type (§3 rule 12); the
// supervisor still shuts down cleanly.
Process ignore_simple_root(Self self, Probe* probe, Restart restart) {
    self.trap_exit(true);
    int starts = 0;
    ChildSpec tmpl("child1", [probe, &starts](Self s, const Any& /*extra*/) {
        return ignore_then_kid(s, probe, &starts);
    });
    tmpl.restart(restart);
    std::vector<ChildSpec> specs;
    specs.push_back(tmpl);
    const Pid sup =
        co_await start_sup(self, SupFlags(Strategy::simple_one_for_one, 2, 3600), specs);
    probe->note(reply_text(co_await start_child(self, sup, Any())));
    probe->note(reply_text(co_await start_child(self, sup, Any())));
    co_await note_children_and_stop(self, probe, sup);
}

TEST_P(SupervisorSuite, sup_start_ignore_temporary_child_start_child_simple) {
    run(ignore_simple_root, Restart::temporary);
    EXPECT_EQ(events(), (Events{"{ok,undefined}", "start child", "{ok,pid}", "[{undefined,pid}]",
                                "[1,1,0,1]", "stop child shutdown", "sup exit shutdown"}));
}

TEST_P(SupervisorSuite, sup_start_ignore_permanent_child_start_child_simple) {
    run(ignore_simple_root, Restart::permanent);
    EXPECT_EQ(events(), (Events{"{ok,undefined}", "start child", "{ok,pid}", "[{undefined,pid}]",
                                "[1,1,0,1]", "stop child shutdown", "sup exit shutdown"}));
}

// sup_start_restart_child_returns_error: restart_child returns the start's error as it is, and
// the child stays undefined, not restarting: restart_child is not a restart (§3 rules 15, 11).
Process restart_child_error_root(Self self, Probe* probe) {
    self.trap_exit(true);
    int starts = 0;
    std::vector<ChildSpec> specs;
    specs.emplace_back("child1", [&starts](Self s, const Any& extra) {
        return once_then_fail(s, extra, &starts);
    });
    const Pid sup = co_await start_sup(self, SupFlags(Strategy::one_for_one, 2, 3600), specs);
    probe->note(ok_text(co_await terminate_child(self, sup, std::string("child1"))));
    probe->note(reply_text(co_await restart_child(self, sup, "child1")));
    co_await note_children_and_stop(self, probe, sup);
}

TEST_P(SupervisorSuite, sup_start_restart_child_returns_error) {
    run(restart_child_error_root);
    EXPECT_EQ(events(), (Events{"ok", "{error,start_failed}", "[{child1,undefined}]", "[1,0,0,1]",
                                "sup exit shutdown"}));
}

/// Start 1 returns {error, reason}; start 2 raises error_reason (OTP: returns a bare term).
Async<StartResult> error_by_extra(Self /*self*/, const Any& extra) {
    const int* n = extra_of<int>(extra);
    if (n != nullptr && *n == 2) {
        throw std::runtime_error("error_reason");
    }
    co_return StartResult{StartResult::Kind::error, {}, ExitReason::error("reason")};
}

// sup_start_child_returns_error_simple: under simple_one_for_one a start error comes back
// unwrapped as {error, Reason} and nothing is stored (§3 rule 13).
Process start_child_error_simple_root(Self self, Probe* probe) {
    self.trap_exit(true);
    std::vector<ChildSpec> specs;
    specs.emplace_back("child1", error_by_extra);
    const Pid sup =
        co_await start_sup(self, SupFlags(Strategy::simple_one_for_one, 2, 3600), specs);
    probe->note(reply_text(co_await start_child(self, sup, Any(1))));
    probe->note(reply_text(co_await start_child(self, sup, Any(2))));
    co_await note_children_and_stop(self, probe, sup);
}

TEST_P(SupervisorSuite, sup_start_child_returns_error_simple) {
    run(start_child_error_simple_root);
    EXPECT_EQ(events(), (Events{"{error,reason}", "{error,error_reason}", "[]", "[1,0,0,0]",
                                "sup exit shutdown"}));
}

SupInit crashing_init(Self /*self*/) { throw std::runtime_error("{badmatch,2}"); }

SupInit bad_flags_init(Self /*self*/) {
    return SupInit::ok(SupFlags(Strategy::one_for_one, -1, 5), std::vector<ChildSpec>());
}

// sup_start_fail (init crashes; supervisor_test.cpp's sup_start_fail is the failed_to_start_child
// part of faulty_application_shutdown) and sup_start_error_return (bedlam's init cannot return a
// value of the wrong type, so: flags that are invalid): start_link returns {error, Reason}
// (§3 rules 1, 10). As in OTP 26, the failed start has already consumed the supervisor's EXIT.
Process sup_start_init_errors_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const SupInitFn crash = crashing_init;
    const StartResult crashed = co_await start_supervisor(self, crash);
    probe->note(crashed.ok() ? std::string("ok") : "error " + crashed.reason.to_string());
    const SupInitFn bad = bad_flags_init;
    const StartResult refused = co_await start_supervisor(self, bad);
    probe->note(refused.ok() ? std::string("ok") : "error " + refused.reason.to_string());
    const std::optional<ExitMsg> left = co_await self.receive_for<ExitMsg>(Duration::zero());
    probe->note(left ? "EXIT " + left->reason.to_string() : std::string("no EXIT left"));
}

TEST_P(SupervisorSuite, sup_start_fail_init_and_error_return) {
    run(sup_start_init_errors_root);
    EXPECT_EQ(events(), (Events{"error {badmatch,2}",
                                "error {supervisor_data,{invalid_intensity,-1}}", "no EXIT left"}));
}

// == Stopping (§3 rules 6, 7) =====================================================================

// sup_stop_infinity (T here): shutdown infinity is allowed for workers as well as supervisors,
// and the supervisor waits as long as a child takes: both children linger 6 s, longer than the
// 5 s default, and still exit `shutdown`, one after the other in reverse start order (§3 rule 7).
Process sup_stop_infinity_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid sup = co_await start_sup(self, SupFlags(Strategy::one_for_one, 2, 3600));
    ChildSpec child1 = lingering_spec(probe, "child1", std::chrono::seconds(6));
    child1.type(ChildType::supervisor).shutdown(Shutdown::infinite());
    ChildSpec child2 = lingering_spec(probe, "child2", std::chrono::seconds(6));
    child2.shutdown(Shutdown::infinite());
    const SupReply c1 = co_await start_child(self, sup, child1);
    const SupReply c2 = co_await start_child(self, sup, child2);
    const MonitorRef ref1 = self.monitor(c1.pid);
    const MonitorRef ref2 = self.monitor(c2.pid);
    const Ticks t0 = self.now();
    self.exit(sup, ExitReason::shutdown());
    co_await note_sup_exit(self, probe, sup);
    probe->note(at_ms(self, t0));
    probe->note("child1 " + (co_await down_reason(self, ref1)).to_string());
    probe->note("child2 " + (co_await down_reason(self, ref2)).to_string());
}

TEST_P(SupervisorSuiteTimed, sup_stop_infinity) {
    run(sup_stop_infinity_root);
    EXPECT_EQ(events(), (Events{"start child1", "start child2", "stop child2 shutdown",
                                "stop child1 shutdown", "sup exit shutdown", "at 12000ms",
                                "child1 shutdown", "child2 shutdown"}));
}

/// Starts ten children of a simple_one_for_one supervisor and monitors them.
Async<std::vector<MonitorRef>> start_and_monitor(Self self, Pid sup, int n) {
    std::vector<MonitorRef> refs;
    for (int i = 0; i < n; ++i) {
        const SupReply r = co_await start_child(self, sup, Any(i));
        refs.push_back(self.monitor(r.pid));
    }
    co_return refs;
}

/// Waits for the DOWN of every reference and notes how many children exited with each reason.
Async<> note_down_reasons(Self self, Probe* probe, std::vector<MonitorRef> refs) {
    std::map<std::string, int> reasons;
    for (const MonitorRef ref : refs) {
        const ExitReason reason = co_await down_reason(self, ref);
        ++reasons[reason.to_string()];
    }
    for (const auto& [reason, n] : reasons) {
        probe->note(std::to_string(n) + " " + reason);
    }
}

// sup_stop_brutal_kill_dynamic: a simple_one_for_one supervisor kills brutal_kill children on
// shutdown, even children that trap exits (§3 rules 6, 7).
Process brutal_kill_dynamic_root(Self self, Probe* probe) {
    self.trap_exit(true);
    ChildSpec tmpl = kid_spec(probe, "child");
    tmpl.restart(Restart::temporary).shutdown(Shutdown::brutal_kill());
    std::vector<ChildSpec> specs;
    specs.push_back(tmpl);
    const Pid sup =
        co_await start_sup(self, SupFlags(Strategy::simple_one_for_one, 2, 3600), specs);
    const std::vector<MonitorRef> refs = co_await start_and_monitor(self, sup, 10);
    co_await stop_sup(self, probe, sup);
    co_await note_down_reasons(self, probe, refs);
}

TEST_P(SupervisorSuite, sup_stop_brutal_kill_dynamic) {
    run(brutal_kill_dynamic_root);
    Events expected(10, "start child");
    expected.push_back("sup exit shutdown");
    expected.push_back("10 killed");
    EXPECT_EQ(events(), expected);
}

/// simple_one_for_one child `n`: a kid for 0, a stubborn child for 1.
Async<StartResult> kid_or_stubborn(Self self, const Any& extra, Probe* probe) {
    const int n = *extra_of<int>(extra);
    const std::string id = "child" + std::to_string(n + 1);
    if (n == 0) {
        co_return co_await start_kid(self, probe, id);
    }
    co_return co_await start_synced(self, stubborn_kid, probe, id);
}

// sup_stop_timeout_dynamic (T): a simple_one_for_one supervisor with shutdown 1000 stops a child
// that obeys at once and kills one that does not after 1000 ms (§3 rules 6, 7).
Process timeout_dynamic_root(Self self, Probe* probe) {
    self.trap_exit(true);
    ChildSpec tmpl("child", [probe](Self s, const Any& extra) {
        return kid_or_stubborn(s, extra, probe);
    });
    tmpl.restart(Restart::temporary).shutdown(Shutdown::after(std::chrono::milliseconds(1000)));
    std::vector<ChildSpec> specs;
    specs.push_back(tmpl);
    const Pid sup =
        co_await start_sup(self, SupFlags(Strategy::simple_one_for_one, 2, 3600), specs);
    const std::vector<MonitorRef> refs = co_await start_and_monitor(self, sup, 2);
    const Ticks t0 = self.now();
    self.exit(sup, ExitReason::shutdown());
    for (std::size_t i = 0; i < refs.size(); ++i) {
        const ExitReason reason = co_await down_reason(self, refs[i]);
        probe->note("child" + std::to_string(i + 1) + " " + reason.to_string() + " " +
                    at_ms(self, t0));
    }
    co_await note_sup_exit(self, probe, sup);
    probe->note(at_ms(self, t0));
}

TEST_P(SupervisorSuiteTimed, sup_stop_timeout_dynamic) {
    run(timeout_dynamic_root);
    // Both children get the signal at once; which notes first is the scheduler's choice.
    Events got = events();
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (Events{"at 1000ms", "child1 shutdown at 0ms", "child2 ignores shutdown",
                           "child2 killed at 1000ms", "start child1", "start child2",
                           "stop child1 shutdown", "sup exit shutdown"}));
}

const std::array<Restart, 3> kRestartTypes{Restart::temporary, Restart::transient,
                                           Restart::permanent};
const std::array<ExitReason, 4> kOwnReasons{ExitReason::normal(), ExitReason::shutdown(),
                                            ExitReason::shutdown("test"),
                                            ExitReason::error("other")};

// sup_stop_race (T): while the supervisor waits 1 s for child_z to shut down, twelve children
// exit by themselves with normal, shutdown, {shutdown,test} or another reason, for each restart
// type. They keep their reasons, none is restarted, the last child still gets `shutdown`, and the
// supervisor exits `shutdown` once child_z is down (§3 rule 7).
Process sup_stop_race_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid sup = co_await start_sup(self, SupFlags(Strategy::one_for_one, 2, 3600));
    ChildSpec child_a = kid_spec(probe, "child_a");
    child_a.restart(Restart::temporary).shutdown(Shutdown::after(std::chrono::seconds(1)));
    const SupReply a = co_await start_child(self, sup, child_a);
    const MonitorRef a_ref = self.monitor(a.pid);
    std::vector<Pid> racers;
    std::vector<MonitorRef> racer_refs;
    for (const Restart restart : kRestartTypes) {
        for (const ExitReason& reason : kOwnReasons) {
            const std::string id = std::string(to_string(restart)) + "/" + reason.to_string();
            ChildSpec racer(id, [reason](Self s, const Any& /*extra*/) {
                return start_synced(s, own_reason_kid, reason);
            });
            racer.restart(restart).shutdown(Shutdown::after(std::chrono::seconds(1)));
            const SupReply r = co_await start_child(self, sup, racer);
            racers.push_back(r.pid);
            racer_refs.push_back(self.monitor(r.pid));
        }
    }
    ChildSpec child_z = lingering_spec(probe, "child_z", std::chrono::seconds(1));
    child_z.restart(Restart::temporary).shutdown(Shutdown::after(std::chrono::seconds(2)));
    const SupReply z = co_await start_child(self, sup, child_z);
    const MonitorRef z_ref = self.monitor(z.pid);
    const Ticks t0 = self.now();
    self.exit(sup, ExitReason::shutdown());
    co_await self.sleep(std::chrono::milliseconds(200));
    for (const Pid racer : racers) {
        self.send(racer, Die{});
    }
    co_await note_sup_exit(self, probe, sup);
    probe->note(at_ms(self, t0));
    probe->note("child_z " + (co_await down_reason(self, z_ref)).to_string());
    std::size_t i = 0;
    for (const Restart restart : kRestartTypes) {
        std::string line = to_string(restart);
        for (std::size_t k = 0; k < kOwnReasons.size(); ++k, ++i) {
            const ExitReason reason = co_await down_reason(self, racer_refs[i]);
            line += " " + reason.to_string();
        }
        probe->note(line);
    }
    probe->note("child_a " + (co_await down_reason(self, a_ref)).to_string());
}

TEST_P(SupervisorSuiteTimed, sup_stop_race) {
    run(sup_stop_race_root);
    EXPECT_EQ(events(),
              (Events{"start child_a", "start child_z", "stop child_z shutdown",
                      "stop child_a shutdown", "sup exit shutdown", "at 1000ms",
                      "child_z shutdown", "temporary normal shutdown {shutdown,test} other",
                      "transient normal shutdown {shutdown,test} other",
                      "permanent normal shutdown {shutdown,test} other",
                      "child_a shutdown"}));
}

/// simple_one_for_one child whose own exit reason is start_child's argument.
Async<StartResult> start_own_reason(Self self, const Any& extra) {
    const ExitReason reason = *extra_of<ExitReason>(extra);
    co_return co_await start_synced(self, own_reason_kid, reason);
}

// sup_stop_non_shutdown_exit_dynamic: a simple_one_for_one supervisor shuts down cleanly when
// its children answer `shutdown` by exiting with other reasons, for every restart type; they keep
// their reasons and none is restarted (§3 rules 6, 7).
Process non_shutdown_exit_dynamic_root(Self self, Probe* probe) {
    self.trap_exit(true);
    for (const Restart restart : kRestartTypes) {
        ChildSpec tmpl("child", start_own_reason);
        tmpl.restart(restart);
        std::vector<ChildSpec> specs;
        specs.push_back(tmpl);
        const Pid sup =
            co_await start_sup(self, SupFlags(Strategy::simple_one_for_one, 2, 3600), specs);
        std::vector<MonitorRef> refs;
        for (const ExitReason& reason : kOwnReasons) {
            const SupReply r = co_await start_child(self, sup, Any(reason));
            refs.push_back(self.monitor(r.pid));
        }
        co_await stop_sup(self, probe, sup);
        std::string line = to_string(restart);
        for (const MonitorRef ref : refs) {
            const ExitReason reason = co_await down_reason(self, ref);
            line += " " + reason.to_string();
        }
        probe->note(line);
    }
}

TEST_P(SupervisorSuite, sup_stop_non_shutdown_exit_dynamic) {
    run(non_shutdown_exit_dynamic_root);
    EXPECT_EQ(events(), (Events{"sup exit shutdown",
                                "temporary normal shutdown {shutdown,test} other",
                                "sup exit shutdown",
                                "transient normal shutdown {shutdown,test} other",
                                "sup exit shutdown",
                                "permanent normal shutdown {shutdown,test} other"}));
}

/// simple_one_for_one child that lingers `extra` ms when told to shut down.
Async<StartResult> start_lingering(Self self, const Any& extra, Probe* probe) {
    const std::chrono::milliseconds linger(*extra_of<int>(extra));
    const std::string id = "child" + std::to_string(linger.count());
    const Duration d = linger;
    co_return co_await start_synced(self, lingering_kid, probe, id, d);
}

const std::array<int, 3> kLingers{1000, 1000, 5000};  // Milliseconds.

// simple_one_for_one_shutdown (T): children of a simple_one_for_one supervisor are stopped in
// parallel under one timer: two take 1 s, one would take 5 s and is killed at the 2 s shutdown
// time-out, so the whole shutdown takes 2 s, not the sum (§3 rule 6).
Process simple_shutdown_root(Self self, Probe* probe) {
    self.trap_exit(true);
    ChildSpec tmpl("child", [probe](Self s, const Any& extra) {
        return start_lingering(s, extra, probe);
    });
    tmpl.shutdown(Shutdown::after(std::chrono::seconds(2)));
    std::vector<ChildSpec> specs;
    specs.push_back(tmpl);
    const Pid sup =
        co_await start_sup(self, SupFlags(Strategy::simple_one_for_one, 2, 3600), specs);
    std::vector<MonitorRef> refs;
    for (const int linger : kLingers) {
        const SupReply r = co_await start_child(self, sup, Any(linger));
        refs.push_back(self.monitor(r.pid));
    }
    const Ticks t0 = self.now();
    self.exit(sup, ExitReason::shutdown());
    co_await note_sup_exit(self, probe, sup);
    probe->note(at_ms(self, t0));
    for (const MonitorRef ref : refs) {
        const ExitReason reason = co_await down_reason(self, ref);
        probe->note(reason.to_string());
    }
}

TEST_P(SupervisorSuiteTimed, simple_one_for_one_shutdown) {
    run(simple_shutdown_root);
    Events got = events();
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (Events{"at 2000ms", "killed", "shutdown", "shutdown", "start child1000",
                           "start child1000", "start child5000", "stop child1000 shutdown",
                           "stop child1000 shutdown", "stop child5000 shutdown",
                           "sup exit shutdown"}));
}

// == Strategies and escalation (§3 rules 6, 9, 11) ================================================

/// simple_one_for_one child `n`: a kid named child<n>. A restart passes the same argument again.
Async<StartResult> numbered_kid(Self self, const Any& extra, Probe* probe) {
    const std::string id = "child" + std::to_string(*extra_of<int>(extra));
    co_return co_await start_kid(self, probe, id);
}

/// Crashes `pid` (it exits `died`) and waits until the supervisor restarted it; the new pid.
Async<Pid> crash_and_await_new(Self self, Pid sup, Pid pid) {
    co_await die_and_wait(self, pid, ExitReason::error("died"));
    const std::vector<ChildInfo> now = co_await await_children(
        self, sup, [pid](const std::vector<ChildInfo>& cs) {
            return !has_pid(cs, pid) && std::all_of(cs.begin(), cs.end(), [](const ChildInfo& c) {
                       return c.state == ChildInfo::State::running;
                   });
        });
    co_return now.front().pid;  // The restarted child (newest first).
}

// simple_one_for_one and simple_one_for_one_extra: a crashed child is restarted alone, with the
// arguments start_child gave it (OTP: M:F(A ++ Extra)); the third crash within the period under
// intensity 2 stops the supervisor, which stops the other child (§3 rules 6, 9). OTP's
// simple_one_for_one_extra also returns {ok, Pid, Info}, which bedlam's start functions cannot
// (see the report on extra_return).
Process simple_one_for_one_root(Self self, Probe* probe) {
    self.trap_exit(true);
    std::vector<ChildSpec> specs;
    specs.emplace_back("child", [probe](Self s, const Any& extra) {
        return numbered_kid(s, extra, probe);
    });
    const Pid sup =
        co_await start_sup(self, SupFlags(Strategy::simple_one_for_one, 2, 3600), specs);
    const SupReply c1 = co_await start_child(self, sup, Any(1));
    const SupReply c2 = co_await start_child(self, sup, Any(2));
    probe->note("crash child1");
    const Pid c1b = co_await crash_and_await_new(self, sup, c1.pid);
    const std::vector<ChildInfo> children = co_await which_children(self, sup);
    probe->note(children.size() == 2 && has_pid(children, c2.pid) ? std::string("child2 kept")
                                                                   : show(children));
    probe->note(show(co_await count_children(self, sup)));
    probe->note("crash child2");
    const Pid c2b = co_await crash_and_await_new(self, sup, c2.pid);
    probe->note("crash child2 again");
    co_await die_and_wait(self, c2b, ExitReason::error("died"));
    co_await note_sup_exit(self, probe, sup);
    probe->note(self.is_alive(c1b) ? std::string("child1 alive") : std::string("child1 gone"));
}

TEST_P(SupervisorSuite, simple_one_for_one) {
    run(simple_one_for_one_root);
    EXPECT_EQ(events(), (Events{"start child1", "start child2", "crash child1", "start child1",
                                "child2 kept", "[1,2,0,2]", "crash child2", "start child2",
                                "crash child2 again", "stop child1 shutdown", "sup exit shutdown",
                                "child1 gone"}));
}

/// A child `failing` whose restarts always fail, after kids before and after it (or not).
ChildSpec failing_spec(const std::string& id, int* starts) {
    return ChildSpec(id, [starts](Self s, const Any& extra) {
        return once_then_fail(s, extra, starts);
    });
}

// one_for_all_escalation, rest_for_one_escalation: child2's restarts always fail. Every retry
// goes through add_restart; one_for_all retries stop and restart child1 too, rest_for_one only
// retries child2; the 5th count exceeds intensity 4 and the supervisor exits `shutdown`, stopping
// child1 (§3 rules 9, 11).
Process escalation_root(Self self, Probe* probe, Strategy strategy) {
    self.trap_exit(true);
    int starts = 0;
    std::vector<ChildSpec> specs;
    specs.push_back(kid_spec(probe, "child1"));
    specs.push_back(failing_spec("child2", &starts));
    const Pid sup = co_await start_sup(self, SupFlags(strategy, 4, 3600), specs);
    const Pid child1 = pid_of(co_await which_children(self, sup), "child1");
    co_await die_and_wait(self, child1, ExitReason::error("died"));
    co_await note_sup_exit(self, probe, sup);
    probe->note("child2 starts " + std::to_string(starts));
}

TEST_P(SupervisorSuite, one_for_all_escalation) {
    run(escalation_root, Strategy::one_for_all);
    EXPECT_EQ(events(), (Events{"start child1", "start child1", "stop child1 shutdown",
                                "start child1", "stop child1 shutdown", "start child1",
                                "stop child1 shutdown", "start child1", "stop child1 shutdown",
                                "sup exit shutdown", "child2 starts 5"}));
}

TEST_P(SupervisorSuite, rest_for_one_escalation) {
    run(escalation_root, Strategy::rest_for_one);
    EXPECT_EQ(events(), (Events{"start child1", "start child1", "stop child1 shutdown",
                                "sup exit shutdown", "child2 starts 5"}));
}

/// simple_one_for_one child: 1 is supervisor_1's start_child(error) (starts once, then always
/// fails), 2 is a kid.
Async<StartResult> failing_or_kid(Self self, const Any& extra, Probe* probe, int* starts) {
    if (*extra_of<int>(extra) == 1) {
        co_return co_await once_then_fail(self, extra, starts);
    }
    co_return co_await start_kid(self, probe, "child2");
}

// simple_one_for_one_escalation: a child whose restarts always fail makes a simple_one_for_one
// supervisor exit `shutdown` after intensity 4 is exceeded, stopping the other child (§3 rules 9,
// 11).
Process simple_escalation_root(Self self, Probe* probe) {
    self.trap_exit(true);
    int starts = 0;
    std::vector<ChildSpec> specs;
    specs.emplace_back("child", [probe, &starts](Self s, const Any& extra) {
        return failing_or_kid(s, extra, probe, &starts);
    });
    const Pid sup =
        co_await start_sup(self, SupFlags(Strategy::simple_one_for_one, 4, 3600), specs);
    const SupReply failing = co_await start_child(self, sup, Any(1));
    co_await start_child(self, sup, Any(2));
    co_await die_and_wait(self, failing.pid, ExitReason::error("died"));
    co_await note_sup_exit(self, probe, sup);
    probe->note("child1 starts " + std::to_string(starts));
}

TEST_P(SupervisorSuite, simple_one_for_one_escalation) {
    run(simple_escalation_root);
    EXPECT_EQ(events(), (Events{"start child2", "stop child2 shutdown", "sup exit shutdown",
                                "child1 starts 5"}));
}

// -- Restarts that fail for another child (supervisor_3) ------------------------------------------

/// A child announces itself to the tester, which decides whether its start succeeds.
struct Hello {
    std::string id;
    Pid pid;
};
struct Go {
    bool ok;
};
struct SupStarted {
    Pid pid;
};
struct Stop {};

/// supervisor_3: says Hello to the tester and waits for Go; Go{false} fails the start (the child
/// exits `normal`, as an init returning {stop, normal}). Does not trap exits.
Process gated_kid(Self self, std::string id, Pid tester, Pid starter) {
    self.send(tester, Hello{std::move(id), self.pid()});
    const Go go = co_await self.receive<Go>();
    if (!go.ok) {
        co_return;
    }
    self.send(starter, Ready{self.pid()});
    co_await self.receive<Stop>();
}

Async<StartResult> start_gated(Self self, std::string id, Pid tester) {
    const Pid pid = self.spawn_link(gated_kid, std::move(id), tester, self.pid());
    const bool ok = co_await self.receive(
        when([pid](const Ready& r) { return r.pid == pid; }, [](Ready) { return true; }),
        when([pid](const ExitMsg& m) { return m.from == pid; }, [](ExitMsg) { return false; }));
    if (!ok) {
        co_return StartResult{StartResult::Kind::error, {}, ExitReason::normal()};
    }
    co_return StartResult{StartResult::Kind::ok, pid, {}};
}

ChildSpec gated_spec(const std::string& id, Pid tester) {
    return ChildSpec(id, [id, tester](Self self, const Any& /*extra*/) {
        return start_gated(self, id, tester);
    });
}

/// Starts the supervisor (its children wait for the tester, so the tester cannot start it
/// itself), reports it, and stays its parent until told to stop.
Process gated_sup_starter(Self self, Pid tester, Strategy strategy) {
    std::vector<ChildSpec> specs;
    specs.push_back(gated_spec("child1", tester));
    specs.push_back(gated_spec("child2", tester));
    const Pid sup = co_await start_sup(self, SupFlags(strategy, 3, 3600), specs);
    self.send(tester, SupStarted{sup});
    co_await self.receive<Stop>();
}

/// Takes the next Hello, notes who it is from and answers it; the child's pid.
Async<Pid> answer_hello(Self self, Probe* probe, bool ok) {
    const Hello hello = co_await self.receive<Hello>();
    probe->note("hello " + hello.id + (ok ? std::string(" ok") : std::string(" fail")));
    self.send(hello.pid, Go{ok});
    co_return hello.pid;
}

// one_for_all_other_child_fails_restart, rest_for_one_other_child_fails_restart: child1 crashes;
// the restart starts child1 again, then child2's start fails. one_for_all's retry stops the
// restarted child1 (`shutdown`) and starts both again; rest_for_one's retry starts only child2
// and child1 stays (§3 rule 11). Message-synchronised, as in OTP.
Process other_child_fails_root(Self self, Probe* probe, Strategy strategy) {
    const Pid starter = self.spawn(gated_sup_starter, self.pid(), strategy);
    const Pid child1 = co_await answer_hello(self, probe, true);
    co_await answer_hello(self, probe, true);
    const SupStarted started = co_await self.receive<SupStarted>();
    const MonitorRef sup_ref = self.monitor(started.pid);
    probe->note("crash child1");
    self.exit(child1, ExitReason::error("die"));
    const Pid child1b = co_await answer_hello(self, probe, true);
    const MonitorRef child1b_ref = self.monitor(child1b);
    co_await answer_hello(self, probe, false);
    if (strategy == Strategy::one_for_all) {
        const std::optional<ExitReason> down =
            co_await self
                .receive(when([child1b_ref](const DownMsg& d) { return d.ref == child1b_ref; },
                              [](DownMsg d) { return std::optional<ExitReason>(d.reason); }))
                .after(std::chrono::seconds(5), [] { return std::optional<ExitReason>(); });
        probe->note(down ? "restarted child1 stopped " + down->to_string()
                         : std::string("restarted child1 not stopped"));
        co_await answer_hello(self, probe, true);
    }
    co_await answer_hello(self, probe, true);
    probe->note(self.is_alive(child1b) ? std::string("restarted child1 alive")
                                       : std::string("restarted child1 gone"));
    self.send(starter, Stop{});
    probe->note("sup exit " + (co_await down_reason(self, sup_ref)).to_string());
}

TEST_P(SupervisorSuite, one_for_all_other_child_fails_restart) {
    run(other_child_fails_root, Strategy::one_for_all);
    EXPECT_EQ(events(), (Events{"hello child1 ok", "hello child2 ok", "crash child1",
                                "hello child1 ok", "hello child2 fail",
                                "restarted child1 stopped shutdown", "hello child1 ok",
                                "hello child2 ok", "restarted child1 gone", "sup exit normal"}));
}

TEST_P(SupervisorSuite, rest_for_one_other_child_fails_restart) {
    run(other_child_fails_root, Strategy::rest_for_one);
    EXPECT_EQ(events(), (Events{"hello child1 ok", "hello child2 ok", "crash child1",
                                "hello child1 ok", "hello child2 fail", "hello child2 ok",
                                "restarted child1 alive", "sup exit normal"}));
}

const std::array<Strategy, 2> kBystanderStrategies{Strategy::one_for_all,
                                                   Strategy::rest_for_one};

// temporary_bystander: a temporary child stopped because its sibling died, under one_for_all or
// rest_for_one, is not restarted and its spec is removed; the supervisor survives (§3 rule 4).
Process temporary_bystander_root(Self self, Probe* probe) {
    self.trap_exit(true);
    for (const Strategy strategy : kBystanderStrategies) {
        probe->note(to_string(strategy));
        const Pid sup = co_await start_sup(self, SupFlags(strategy, 2, 300));
        ChildSpec child1 = kid_spec(probe, "child1");
        child1.shutdown(Shutdown::after(std::chrono::milliseconds(100)));
        ChildSpec child2 = kid_spec(probe, "child2");
        child2.restart(Restart::temporary)
            .shutdown(Shutdown::after(std::chrono::milliseconds(100)));
        const SupReply c1 = co_await start_child(self, sup, child1);
        co_await start_child(self, sup, child2);
        co_await die_and_wait(self, c1.pid, ExitReason::normal());
        probe->note(show(co_await await_gone(self, sup, c1.pid)));
        co_await stop_sup(self, probe, sup);
    }
}

TEST_P(SupervisorSuite, temporary_bystander) {
    run(temporary_bystander_root);
    Events expected;
    for (const char* strategy : {"one_for_all", "rest_for_one"}) {
        expected.insert(expected.end(),
                        {strategy, "start child1", "start child2", "stop child2 shutdown",
                         "start child1", "[{child1,pid}]", "stop child1 shutdown",
                         "sup exit shutdown"});
    }
    EXPECT_EQ(events(), expected);
}

// == Counting (§3 rule 16) ========================================================================

Async<StartResult> start_plain(Self self, const Any& /*extra*/) {
    co_return StartResult{StartResult::Kind::ok, self.spawn_link(plain_kid), {}};
}

std::vector<Pid> pids(const std::vector<ChildInfo>& children) {
    std::vector<Pid> out;
    out.reserve(children.size());
    for (const ChildInfo& c : children) {
        out.push_back(c.pid);
    }
    return out;
}

// count_children, count_children_supervisor: a simple_one_for_one supervisor with 1000, then 2000
// temporary children counts them as workers or as supervisors by the template's type; once all are
// killed only the template's spec is left (§3 rule 16).
Process count_children_root(Self self, Probe* probe, ChildType type) {
    self.trap_exit(true);
    ChildSpec tmpl("child", start_plain);
    tmpl.restart(Restart::temporary).type(type);
    std::vector<ChildSpec> specs;
    specs.push_back(tmpl);
    const Pid sup =
        co_await start_sup(self, SupFlags(Strategy::simple_one_for_one, 2, 3600), specs);
    for (int i = 0; i < 1000; ++i) {
        co_await start_child(self, sup, Any());
    }
    const std::vector<ChildInfo> children1 = co_await which_children(self, sup);
    probe->note(std::to_string(children1.size()) + " " +
                show(co_await count_children(self, sup)));
    for (int i = 0; i < 1000; ++i) {
        co_await start_child(self, sup, Any());
    }
    const ChildCounts counts2 = co_await count_children(self, sup);
    const std::vector<ChildInfo> children2 = co_await which_children(self, sup);
    const ChildCounts counts3 = co_await count_children(self, sup);
    const std::vector<ChildInfo> children3 = co_await which_children(self, sup);
    probe->note(std::to_string(children2.size()) + " " + show(counts2));
    probe->note(pids(children3) == pids(children2) && counts3 == counts2 ? std::string("stable")
                                                                          : std::string("moved"));
    std::vector<MonitorRef> refs;
    for (const ChildInfo& c : children3) {
        refs.push_back(self.monitor(c.pid));
        self.exit(c.pid, ExitReason::kill());
    }
    co_await note_down_reasons(self, probe, refs);
    co_await await_children(self, sup, [](const std::vector<ChildInfo>& cs) { return cs.empty(); });
    probe->note(show(co_await count_children(self, sup)));
    co_await stop_sup(self, probe, sup);
}

TEST_P(SupervisorSuite, count_children) {
    run(count_children_root, ChildType::worker);
    EXPECT_EQ(events(), (Events{"1000 [1,1000,0,1000]", "2000 [1,2000,0,2000]", "stable",
                                "2000 killed", "[1,0,0,0]", "sup exit shutdown"}));
}

TEST_P(SupervisorSuite, count_children_supervisor) {
    run(count_children_root, ChildType::supervisor);
    EXPECT_EQ(events(), (Events{"1000 [1,1000,1000,0]", "2000 [1,2000,2000,0]", "stable",
                                "2000 killed", "[1,0,0,0]", "sup exit shutdown"}));
}

// == Shutting down a child that unlinked (§3 rule 7) ==============================================

/// naughty_child: unlinks from its supervisor (the starter) as soon as it runs.
Process naughty_kid(Self self, Pid starter) {
    self.unlink(starter);
    self.send(starter, Ready{self.pid()});
    co_await self.receive<Stop>();
}

// child_unlink: the supervisor monitors a child it stops, so a child that unlinked itself does not
// hang terminate_child (OTP checks that the supervisor still reads its mailbox) (§3 rule 7).
Process child_unlink_root(Self self, Probe* probe) {
    self.trap_exit(true);
    std::vector<ChildSpec> specs;
    specs.emplace_back("naughty_child", [](Self s, const Any& /*extra*/) {
        return start_synced(s, naughty_kid);
    });
    specs.back().shutdown(Shutdown::after(std::chrono::seconds(1)));
    const Pid sup = co_await start_sup(self, SupFlags(Strategy::one_for_one, 2, 3600), specs);
    const Pid naughty = pid_of(co_await which_children(self, sup), "naughty_child");
    const MonitorRef ref = self.monitor(naughty);
    probe->note(ok_text(co_await terminate_child(self, sup, std::string("naughty_child"))));
    probe->note("naughty_child " + (co_await down_reason(self, ref)).to_string());
    probe->note(show(co_await which_children(self, sup)));
    co_await stop_sup(self, probe, sup);
}

TEST_P(SupervisorSuite, child_unlink) {
    run(child_unlink_root);
    EXPECT_EQ(events(), (Events{"ok", "naughty_child shutdown", "[{naughty_child,undefined}]",
                                "sup exit shutdown"}));
}

// == Restarts that hang (§3 rules 11, 14, 15, 16) =================================================

/// supervisor_deadlock: while `fail` is set, a start takes 2 s and then fails, so a failing
/// restart is retried every 2 s, within the intensity (8 or 20 in 10 s): a restart loop.
struct Deadlock {
    bool fail = false;
    int attempts = 0;  // Starts that failed.
};

Async<StartResult> deadlock_start(Self self, Deadlock* state) {
    if (!state->fail) {
        co_return StartResult{StartResult::Kind::ok, self.spawn_link(plain_kid), {}};
    }
    co_await self.sleep(std::chrono::seconds(2));
    ++state->attempts;
    co_return StartResult{StartResult::Kind::error, {}, ExitReason::error("error")};
}

ChildSpec deadlock_spec(const std::string& id, Deadlock* state) {
    ChildSpec spec(id, [state](Self self, const Any& /*extra*/) {
        return deadlock_start(self, state);
    });
    spec.shutdown(Shutdown::brutal_kill());
    return spec;
}

/// Lets 5 s pass and notes whether the supervisor tried to start the child meanwhile.
Async<> note_attempts_stopped(Self self, Probe* probe, const Deadlock* state) {
    const int before = state->attempts;
    co_await self.sleep(std::chrono::seconds(5));
    probe->note(state->attempts == before ? std::string("no more attempts")
                                          : std::string("still attempting"));
}

/// Makes the child `pid` crash while starts fail, and lets its restart loop run for 2 s.
Async<> hang(Self self, Deadlock* state, Pid pid) {
    state->fail = true;
    co_await die_and_wait(self, pid, ExitReason::error("error"));
    co_await self.sleep(std::chrono::seconds(2));
}

/// The checks hanging_restart_loop and hanging_restart_loop_rest_for_one share: `spec`, running
/// as `pid`, is made to hang; start_child, restart_child, delete_child, which_children and
/// count_children show it restarting; terminate_child ends the loop; restart_child starts it
/// again; finally the supervisor is shut down while the child hangs again.
Async<> hanging_checks(Self self, Probe* probe, Pid sup, Deadlock* state, ChildSpec spec,
                       Pid pid) {
    const std::string id = spec.id();
    co_await hang(self, state, pid);
    probe->note(reply_text(co_await start_child(self, sup, spec)));
    probe->note(reply_text(co_await restart_child(self, sup, id)));
    probe->note(ok_text(co_await delete_child(self, sup, id)));
    co_await note_children(self, probe, sup);
    probe->note(ok_text(co_await terminate_child(self, sup, id)));
    probe->note(show(co_await which_children(self, sup)));
    co_await note_attempts_stopped(self, probe, state);
    state->fail = false;
    const SupReply again = co_await restart_child(self, sup, id);
    probe->note(reply_text(again));
    co_await hang(self, state, again.pid);
    co_await stop_sup(self, probe, sup);
}

// hanging_restart_loop (T): a child whose restarts keep failing shows as `restarting`;
// start_child says already_present, restart_child and delete_child say restarting;
// terminate_child ends the loop and leaves the child undefined; restart_child starts it again;
// a supervisor in a restart loop still shuts down (§3 rules 11, 14, 15, 16).
Process hanging_restart_loop_root(Self self, Probe* probe) {
    self.trap_exit(true);
    Deadlock state;
    const Pid sup = co_await start_sup(self, SupFlags(Strategy::one_for_one, 8, 10));
    const ChildSpec child1 = deadlock_spec("child1", &state);
    const SupReply c1 = co_await start_child(self, sup, child1);
    co_await hanging_checks(self, probe, sup, &state, child1, c1.pid);
}

TEST_P(SupervisorSuiteTimed, hanging_restart_loop) {
    run(hanging_restart_loop_root);
    EXPECT_EQ(events(), (Events{"{error,already_present}", "{error,restarting}",
                                "{error,restarting}", "[{child1,restarting}]", "[1,0,0,1]", "ok",
                                "[{child1,undefined}]", "no more attempts", "{ok,pid}",
                                "sup exit shutdown"}));
}

// hanging_restart_loop_rest_for_one (T): the same under rest_for_one; the children after the
// hanging one stay stopped (undefined) while it is restarting (§3 rules 6, 11, 14, 15, 16).
Process hanging_rest_for_one_root(Self self, Probe* probe) {
    self.trap_exit(true);
    Deadlock state;
    const Pid sup = co_await start_sup(self, SupFlags(Strategy::rest_for_one, 8, 10));
    ChildSpec child1 = ChildSpec::process("child1", plain_kid);
    child1.shutdown(Shutdown::brutal_kill());
    const ChildSpec child2 = deadlock_spec("child2", &state);
    ChildSpec child3 = ChildSpec::process("child3", plain_kid);
    child3.shutdown(Shutdown::brutal_kill());
    co_await start_child(self, sup, child1);
    const SupReply c2 = co_await start_child(self, sup, child2);
    co_await start_child(self, sup, child3);
    co_await hanging_checks(self, probe, sup, &state, child2, c2.pid);
}

TEST_P(SupervisorSuiteTimed, hanging_restart_loop_rest_for_one) {
    run(hanging_rest_for_one_root);
    EXPECT_EQ(events(),
              (Events{"{error,already_present}", "{error,restarting}", "{error,restarting}",
                      "[{child3,undefined},{child2,restarting},{child1,pid}]", "[3,1,0,3]", "ok",
                      "[{child3,undefined},{child2,undefined},{child1,pid}]", "no more attempts",
                      "{ok,pid}", "sup exit shutdown"}));
}

// hanging_restart_loop_simple (T): the same under simple_one_for_one, where restart_child and
// delete_child do not apply and terminate_child takes the restarting child's old pid and removes
// the child (§3 rules 11, 14, 15, 16).
Process hanging_simple_root(Self self, Probe* probe) {
    self.trap_exit(true);
    Deadlock state;
    std::vector<ChildSpec> specs;
    specs.push_back(deadlock_spec("child1", &state));
    const Pid sup = co_await start_sup(self, SupFlags(Strategy::simple_one_for_one, 8, 10), specs);
    const SupReply c1 = co_await start_child(self, sup, Any());
    co_await hang(self, &state, c1.pid);
    probe->note(reply_text(co_await restart_child(self, sup, "child1")));
    probe->note(ok_text(co_await delete_child(self, sup, "child1")));
    co_await note_children(self, probe, sup);
    probe->note(ok_text(co_await terminate_child(self, sup, c1.pid)));
    probe->note(show(co_await which_children(self, sup)));
    co_await note_attempts_stopped(self, probe, &state);
    state.fail = false;
    const SupReply c2 = co_await start_child(self, sup, Any());
    probe->note(reply_text(c2));
    co_await hang(self, &state, c2.pid);
    co_await stop_sup(self, probe, sup);
}

TEST_P(SupervisorSuiteTimed, hanging_restart_loop_simple) {
    run(hanging_simple_root);
    EXPECT_EQ(events(), (Events{"{error,simple_one_for_one}", "{error,simple_one_for_one}",
                                "[{undefined,restarting}]", "[1,0,0,1]", "ok", "[]",
                                "no more attempts", "{ok,pid}", "sup exit shutdown"}));
}

/// Crashes `pid` and waits until the supervisor has handled it.
Async<> crash_and_settle(Self self, Pid sup, Pid pid) {
    co_await die_and_wait(self, pid, ExitReason::error("error"));
    co_await await_gone(self, sup, pid);
}

std::size_t count_in(const std::vector<ChildInfo>& children, ChildInfo::State state) {
    return static_cast<std::size_t>(
        std::count_if(children.begin(), children.end(),
                      [state](const ChildInfo& c) { return c.state == state; }));
}

// count_restarting_children (T): count_children does not count restarting children as active
// but does count them as workers (simple_one_for_one: active = size - restarting); they become
// active again once a restart succeeds, and terminate_child removes them one by one (§3 rules 11,
// 14, 16).
Process count_restarting_root(Self self, Probe* probe) {
    self.trap_exit(true);
    Deadlock state;
    ChildSpec tmpl = deadlock_spec("child", &state);
    std::vector<ChildSpec> specs;
    specs.push_back(tmpl);
    const Pid sup =
        co_await start_sup(self, SupFlags(Strategy::simple_one_for_one, 20, 10), specs);
    probe->note(show(co_await count_children(self, sup)));
    std::vector<Pid> first;
    for (int i = 0; i < 3; ++i) {
        const SupReply r = co_await start_child(self, sup, Any());
        first.push_back(r.pid);
        probe->note(show(co_await count_children(self, sup)));
    }
    for (const Pid pid : first) {
        co_await crash_and_settle(self, sup, pid);
    }
    probe->note(show(co_await count_children(self, sup)));
    const std::vector<Pid> second = pids(co_await which_children(self, sup));
    state.fail = true;
    co_await die_and_wait(self, second[0], ExitReason::error("error"));
    co_await die_and_wait(self, second[1], ExitReason::error("error"));
    co_await await_children(self, sup, [](const std::vector<ChildInfo>& cs) {
        return count_in(cs, ChildInfo::State::restarting) == 2;
    });
    probe->note(show(co_await count_children(self, sup)));
    state.fail = false;
    const std::vector<ChildInfo> healed =
        co_await await_children(self, sup, [](const std::vector<ChildInfo>& cs) {
            return count_in(cs, ChildInfo::State::running) == 3;
        });
    probe->note(show(co_await count_children(self, sup)));
    for (const ChildInfo& c : healed) {
        probe->note(ok_text(co_await terminate_child(self, sup, c.pid)) + " " +
                    show(co_await count_children(self, sup)));
    }
    co_await stop_sup(self, probe, sup);
}

TEST_P(SupervisorSuiteTimed, count_restarting_children) {
    run(count_restarting_root);
    EXPECT_EQ(events(), (Events{"[1,0,0,0]", "[1,1,0,1]", "[1,2,0,2]", "[1,3,0,3]", "[1,3,0,3]",
                                "[1,1,0,3]", "[1,3,0,3]", "ok [1,2,0,2]", "ok [1,1,0,1]",
                                "ok [1,0,0,0]", "sup exit shutdown"}));
}

// == auto_shutdown and significant children (§3 rules 18, 19) =====================================

const std::array<ExitReason, 2> kSignificantTemporaryReasons{ExitReason::kill(),
                                                            ExitReason::error("abnormal")};
const std::array<AutoShutdown, 2> kSignificantModes{AutoShutdown::any_significant,
                                                    AutoShutdown::all_significant};
const std::array<AutoShutdown, 3> kAutoShutdowns{AutoShutdown::never, AutoShutdown::any_significant,
                                                 AutoShutdown::all_significant};

SupFlags auto_shutdown_flags(AutoShutdown mode, int intensity = 1,
                             Strategy strategy = Strategy::one_for_one) {
    SupFlags flags(strategy, intensity, 5);
    flags.auto_shutdown = mode;
    return flags;
}

// nonsignificant_temporary: a temporary child that is not significant never triggers
// auto_shutdown, whatever the mode, whether it is terminated, killed, crashes or exits normal
// (§3 rule 18).
Process nonsignificant_temporary_root(Self self, Probe* probe) {
    self.trap_exit(true);
    for (const AutoShutdown mode : kAutoShutdowns) {
        const Pid sup = co_await start_sup(self, auto_shutdown_flags(mode));
        ChildSpec child1 = kid_spec(probe, "child1");
        child1.restart(Restart::temporary).significant(false);
        co_await start_child(self, sup, child1);
        probe->note(ok_text(co_await terminate_child(self, sup, std::string("child1"))));
        const SupReply killed = co_await start_child(self, sup, child1);
        co_await signal_and_wait(self, killed.pid, ExitReason::kill());
        probe->note(show(co_await await_gone(self, sup, killed.pid)));
        const SupReply crashed = co_await start_child(self, sup, child1);
        co_await die_and_wait(self, crashed.pid, ExitReason::error("abnormal"));
        probe->note(show(co_await await_gone(self, sup, crashed.pid)));
        const SupReply stopped = co_await start_child(self, sup, child1);
        co_await die_and_wait(self, stopped.pid, ExitReason::normal());
        probe->note(show(co_await await_gone(self, sup, stopped.pid)));
        co_await stop_sup(self, probe, sup);
    }
}

TEST_P(SupervisorSuite, nonsignificant_temporary) {
    run(nonsignificant_temporary_root);
    const Events one{"start child1", "stop child1 shutdown", "ok", "start child1", "[]",
                     "start child1", "[]", "start child1", "[]", "sup exit shutdown"};
    Events expected;
    for (int i = 0; i < 3; ++i) {
        expected.insert(expected.end(), one.begin(), one.end());
    }
    EXPECT_EQ(events(), expected);
}

// nonsignificant_transient: a transient child that is not significant never triggers
// auto_shutdown: terminated it stays undefined, killed or crashed it is restarted, exiting normal
// it stays undefined (§3 rules 4, 18).
Process nonsignificant_transient_root(Self self, Probe* probe) {
    self.trap_exit(true);
    for (const AutoShutdown mode : kAutoShutdowns) {
        const Pid sup = co_await start_sup(self, auto_shutdown_flags(mode, 5));
        ChildSpec child1 = kid_spec(probe, "child1");
        child1.restart(Restart::transient).significant(false);
        co_await start_child(self, sup, child1);
        probe->note(ok_text(co_await terminate_child(self, sup, std::string("child1"))));
        probe->note(show(co_await which_children(self, sup)));
        const SupReply killed = co_await restart_child(self, sup, "child1");
        co_await signal_and_wait(self, killed.pid, ExitReason::kill());
        const std::vector<ChildInfo> after_kill = co_await await_gone(self, sup, killed.pid);
        probe->note(show(after_kill));
        co_await die_and_wait(self, after_kill[0].pid, ExitReason::error("abnormal"));
        const std::vector<ChildInfo> after_crash =
            co_await await_gone(self, sup, after_kill[0].pid);
        probe->note(show(after_crash));
        co_await die_and_wait(self, after_crash[0].pid, ExitReason::normal());
        probe->note(show(co_await await_gone(self, sup, after_crash[0].pid)));
        co_await stop_sup(self, probe, sup);
    }
}

TEST_P(SupervisorSuite, nonsignificant_transient) {
    run(nonsignificant_transient_root);
    const Events one{"start child1", "stop child1 shutdown", "ok", "[{child1,undefined}]",
                     "start child1", "start child1", "[{child1,pid}]", "start child1",
                     "[{child1,pid}]", "[{child1,undefined}]", "sup exit shutdown"};
    Events expected;
    for (int i = 0; i < 3; ++i) {
        expected.insert(expected.end(), one.begin(), one.end());
    }
    EXPECT_EQ(events(), expected);
}

/// Kids child1..child3, all significant but child<insignificant>.
std::vector<ChildSpec> significant_kids(Probe* probe, int insignificant,
                                        Restart restart = Restart::transient) {
    std::vector<ChildSpec> out = kids(probe, 3);
    for (int i = 0; i < 3; ++i) {
        out[static_cast<std::size_t>(i)].restart(restart);
        out[static_cast<std::size_t>(i)].significant(i + 1 != insignificant);
    }
    return out;
}

/// With all_significant, child1 exiting normal leaves the supervisor up (child1 shows as
/// `undefined` if transient, is gone if temporary); child2, the last significant child, exiting
/// normal shuts it down (§3 rule 18).
Async<> all_significant_checks(Self self, Probe* probe, std::vector<ChildSpec> children) {
    const Pid sup = co_await start_sup(
        self, auto_shutdown_flags(AutoShutdown::all_significant, 5), std::move(children));
    const std::vector<ChildInfo> started = co_await which_children(self, sup);
    const Pid child1 = pid_of(started, "child1");
    co_await die_and_wait(self, child1, ExitReason::normal());
    probe->note(show(co_await await_gone(self, sup, child1)));
    probe->note("child2 exits normal");
    co_await die_and_wait(self, pid_of(started, "child2"), ExitReason::normal());
    co_await note_sup_exit(self, probe, sup);
}

// significant_transient: with any_significant, a significant transient child that is terminated,
// killed or crashes does not shut the supervisor down (the latter two are restarted); one that
// exits normal does. With all_significant, only the exit of the last significant child does
// (§3 rules 4, 18).
Process significant_transient_root(Self self, Probe* probe) {
    self.trap_exit(true);
    probe->note("any_significant");
    const std::vector<ChildSpec> children = significant_kids(probe, 3);
    const Pid sup1 =
        co_await start_sup(self, auto_shutdown_flags(AutoShutdown::any_significant, 5), children);
    probe->note(ok_text(co_await terminate_child(self, sup1, std::string("child1"))));
    probe->note(show(co_await which_children(self, sup1)));
    const SupReply killed = co_await restart_child(self, sup1, "child1");
    co_await signal_and_wait(self, killed.pid, ExitReason::kill());
    const Pid crashed = pid_of(co_await await_gone(self, sup1, killed.pid), "child1");
    co_await die_and_wait(self, crashed, ExitReason::error("abnormal"));
    const Pid stopped = pid_of(co_await await_gone(self, sup1, crashed), "child1");
    probe->note("child1 exits normal");
    co_await die_and_wait(self, stopped, ExitReason::normal());
    co_await note_sup_exit(self, probe, sup1);
    probe->note("all_significant");
    co_await all_significant_checks(self, probe, children);
}

TEST_P(SupervisorSuite, significant_transient) {
    run(significant_transient_root);
    EXPECT_EQ(events(),
              (Events{"any_significant", "start child1", "start child2", "start child3",
                      "stop child1 shutdown", "ok",
                      "[{child3,pid},{child2,pid},{child1,undefined}]",
                      "start child1", "start child1", "start child1", "child1 exits normal",
                      "stop child3 shutdown", "stop child2 shutdown", "sup exit shutdown",
                      "all_significant", "start child1", "start child2", "start child3",
                      "[{child3,pid},{child2,pid},{child1,undefined}]", "child2 exits normal",
                      "stop child3 shutdown", "sup exit shutdown"}));
}

// significant_temporary, the parts supervisor_test.cpp's port leaves out: with any_significant a
// significant temporary child that is killed or crashes shuts the supervisor down too; with
// all_significant only the exit of the last significant child does (§3 rule 18).
Process significant_temporary_more_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const std::vector<ChildSpec> children = significant_kids(probe, 3, Restart::temporary);
    for (const ExitReason& reason : kSignificantTemporaryReasons) {
        const Pid sup = co_await start_sup(
            self, auto_shutdown_flags(AutoShutdown::any_significant, 5), children);
        const Pid child1 = pid_of(co_await which_children(self, sup), "child1");
        probe->note("child1 exits " + reason.to_string());
        if (reason.kind() == ExitReason::Kind::kill) {
            co_await signal_and_wait(self, child1, reason);
        } else {
            co_await die_and_wait(self, child1, reason);
        }
        co_await note_sup_exit(self, probe, sup);
    }
    co_await all_significant_checks(self, probe, children);
}

TEST_P(SupervisorSuite, significant_temporary_killed_abnormal_all) {
    run(significant_temporary_more_root);
    Events expected;
    for (const char* reason : {"kill", "abnormal"}) {
        expected.insert(expected.end(),
                        {"start child1", "start child2", "start child3",
                         std::string("child1 exits ") + reason, "stop child3 shutdown",
                         "stop child2 shutdown", "sup exit shutdown"});
    }
    expected.insert(expected.end(),
                    {"start child1", "start child2", "start child3", "[{child3,pid},{child2,pid}]",
                     "child2 exits normal", "stop child3 shutdown", "sup exit shutdown"});
    EXPECT_EQ(events(), expected);
}

// significant_simple: under simple_one_for_one, any_significant shuts down when the first
// significant temporary child exits; all_significant when the last one does (§3 rule 18).
Process significant_simple_root(Self self, Probe* probe) {
    self.trap_exit(true);
    for (const AutoShutdown mode : kSignificantModes) {
        ChildSpec tmpl = kid_spec(probe, "child");
        tmpl.restart(Restart::temporary).significant(true);
        std::vector<ChildSpec> specs;
        specs.push_back(tmpl);
        const Pid sup = co_await start_sup(
            self, auto_shutdown_flags(mode, 1, Strategy::simple_one_for_one), specs);
        const SupReply a = co_await start_child(self, sup, Any());
        const SupReply b = co_await start_child(self, sup, Any());
        probe->note("first exits normal");
        co_await die_and_wait(self, a.pid, ExitReason::normal());
        if (mode == AutoShutdown::all_significant) {
            probe->note(show(co_await await_gone(self, sup, a.pid)));
            probe->note("second exits normal");
            co_await die_and_wait(self, b.pid, ExitReason::normal());
        }
        co_await note_sup_exit(self, probe, sup);
    }
}

TEST_P(SupervisorSuite, significant_simple) {
    run(significant_simple_root);
    EXPECT_EQ(events(), (Events{"start child", "start child", "first exits normal",
                                "stop child shutdown", "sup exit shutdown", "start child",
                                "start child", "first exits normal", "[{undefined,pid}]",
                                "second exits normal", "sup exit shutdown"}));
}

// significant_bystander: significant children stopped because a sibling died (one_for_all,
// rest_for_one) are restarted and never trigger auto_shutdown (§3 rules 6, 18).
Process significant_bystander_root(Self self, Probe* probe, Strategy strategy, AutoShutdown mode) {
    self.trap_exit(true);
    const std::vector<ChildSpec> specs = significant_kids(probe, 2);
    const Pid sup = co_await start_sup(self, auto_shutdown_flags(mode, 5, strategy), specs);
    const Pid child2 = pid_of(co_await which_children(self, sup), "child2");
    probe->note("kill child2");
    co_await signal_and_wait(self, child2, ExitReason::kill());
    probe->note(show(co_await await_gone(self, sup, child2)));
    co_await stop_sup(self, probe, sup);
}

TEST_P(SupervisorSuite, significant_bystander) {
    const std::array<Strategy, 3> strategies{Strategy::one_for_one, Strategy::one_for_all,
                                             Strategy::rest_for_one};
    for (const Strategy strategy : strategies) {
        for (const AutoShutdown mode : kSignificantModes) {
            Probe probe;
            const std::unique_ptr<Runtime> rt = make_runtime(GetParam());
            rt->spawn(significant_bystander_root, &probe, strategy, mode);
            rt->run_until_idle();
            Events expected{"start child1", "start child2", "start child3", "kill child2"};
            const Events restarts =
                strategy == Strategy::one_for_one ? Events{"start child2"}
                : strategy == Strategy::one_for_all
                    ? Events{"stop child3 shutdown", "stop child1 shutdown", "start child1",
                             "start child2", "start child3"}
                    : Events{"stop child3 shutdown", "start child2", "start child3"};
            expected.insert(expected.end(), restarts.begin(), restarts.end());
            expected.insert(expected.end(),
                            {"[{child3,pid},{child2,pid},{child1,pid}]", "stop child3 shutdown",
                             "stop child2 shutdown", "stop child1 shutdown",
                             "sup exit shutdown"});
            EXPECT_EQ(probe.events(), expected) << to_string(strategy) << " "
                                                << static_cast<int>(mode);
        }
    }
}

const std::array<bool, 2> kSignificance{true, false};

// significant_escalation: a significant child supervisor that shuts itself down (its own
// significant child exited normal) makes its parent shut down too; a non-significant one does
// not (§3 rules 18, 19).
Process significant_escalation_root(Self self, Probe* probe) {
    self.trap_exit(true);
    for (const bool significant : kSignificance) {
        const Pid top =
            co_await start_sup(self, auto_shutdown_flags(AutoShutdown::any_significant));
        ChildSpec inner_spec =
            supervisor_spec("sup1", auto_shutdown_flags(AutoShutdown::any_significant),
                            std::vector<ChildSpec>());
        inner_spec.restart(Restart::transient).significant(significant);
        const SupReply inner = co_await start_child(self, top, inner_spec);
        ChildSpec child1 = kid_spec(probe, "child1");
        child1.restart(Restart::transient).significant(true);
        const SupReply c1 = co_await start_child(self, inner.pid, child1);
        const MonitorRef inner_ref = self.monitor(inner.pid);
        co_await die_and_wait(self, c1.pid, ExitReason::normal());
        probe->note("sup1 " + (co_await down_reason(self, inner_ref)).to_string());
        if (!significant) {
            probe->note(show(co_await await_gone(self, top, inner.pid)));
            self.exit(top, ExitReason::shutdown());
        }
        co_await note_sup_exit(self, probe, top);
    }
}

TEST_P(SupervisorSuite, significant_escalation) {
    run(significant_escalation_root);
    EXPECT_EQ(events(), (Events{"start child1", "sup1 shutdown", "sup exit shutdown",
                                "start child1", "sup1 shutdown", "[{sup1,undefined}]",
                                "sup exit shutdown"}));
}

// extra_return: a start function's {ok, Pid, Info} passes through start_child and restart_child,
// and the child is still restarted when it dies (§3 rule 3, rule 15).
Async<StartResult> start_with_info(Self self, const Any& /*extra*/) {
    StartResult r{StartResult::Kind::ok, self.spawn_link(plain_kid), {}};
    r.info = "extra_return";
    co_return r;
}

Process extra_return_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid sup = (co_await start_supervisor(self, SupFlags(), {})).pid;
    const SupReply started = co_await start_child(self, sup, ChildSpec("child1", start_with_info));
    probe->note(started.info.empty() ? "no info" : "start_child {ok,Pid," + started.info + "}");
    probe->note(ok_text(co_await terminate_child(self, sup, std::string("child1"))));
    const SupReply restarted = co_await restart_child(self, sup, "child1");
    probe->note(restarted.info.empty() ? "no info"
                                       : "restart_child {ok,Pid," + restarted.info + "}");
    // Killed, it comes back by itself (the Info plays no part in that).
    co_await die_and_wait(self, restarted.pid, ExitReason::error("crash"));
    const std::vector<ChildInfo> after = co_await await_children(
        self, sup, [old = restarted.pid](const std::vector<ChildInfo>& c) {
            return c.size() == 1 && c[0].pid.valid() && c[0].pid != old;
        });
    probe->note("restarted " + show(after));
    self.exit(sup, ExitReason::shutdown());
    co_await note_sup_exit(self, probe, sup);
}

TEST_P(SupervisorSuite, extra_return) {
    run(extra_return_root);
    EXPECT_EQ(events(), (Events{"start_child {ok,Pid,extra_return}", "ok",
                                "restart_child {ok,Pid,extra_return}", "restarted [{child1,pid}]",
                                "sup exit shutdown"}));
}

// == DynamicSupervisor (§4, dynamic_supervisor_test.exs) ==========================================

Async<Pid> start_dyn(Self self, DynSupOptions options) {
    const StartResult r = co_await start_dynamic_supervisor(self, std::move(options));
    if (!r.ok()) {
        throw std::runtime_error("start_dyn: " + r.reason.to_string());
    }
    co_return r.pid;
}

// "start_link/3 with non-ok init": invalid options fail the start with supervisor_data terms
// (§4.1, §3 rule 1).
Process dyn_start_link_errors_root(Self self, Probe* probe) {
    self.trap_exit(true);
    DynSupOptions bad_intensity(-1, 5);
    const StartResult r1 = co_await start_dynamic_supervisor(self, std::move(bad_intensity));
    probe->note(r1.ok() ? std::string("ok") : "error " + r1.reason.to_string());
    DynSupOptions bad_period(3, 0);
    const StartResult r2 = co_await start_dynamic_supervisor(self, std::move(bad_period));
    probe->note(r2.ok() ? std::string("ok") : "error " + r2.reason.to_string());
    DynSupOptions bad_max_children;
    bad_max_children.max_children = -1;
    const StartResult r3 = co_await start_dynamic_supervisor(self, std::move(bad_max_children));
    probe->note(r3.ok() ? std::string("ok") : "error " + r3.reason.to_string());
}

TEST_P(SupervisorSuite, dynamic_supervisor_start_link_errors) {
    run(dyn_start_link_errors_root);
    EXPECT_EQ(events(), (Events{"error {supervisor_data,{invalid_intensity,-1}}",
                                "error {supervisor_data,{invalid_period,0}}",
                                "error {supervisor_data,{invalid_max_children,-1}}"}));
}

[[noreturn]] void exit_oops() { throw ExitException{ExitReason::error("oops")}; }

Async<StartResult> exiting_start(Self /*self*/, const Any& /*extra*/) {
    exit_oops();  // Elixir: exit(:oops) in start_link.
    co_return StartResult{};
}

Async<StartResult> raising_start(Self /*self*/, const Any& /*extra*/) {
    throw std::runtime_error("oops");  // Elixir: raise "oops".
    co_return StartResult{};
}

Async<StartResult> found_start(Self /*self*/, const Any& /*extra*/) {
    co_return StartResult{StartResult::Kind::error, {}, ExitReason::error("found")};
}

// "start_child/2 with different returns" and "with throw/error/exit": {ok, Pid}, :ignore (nothing
// stored), {error, Reason}; an exit gives {error, Reason} and a raise {error, Exception} (Elixir
// adds the stack, which bedlam does not keep) (§4.2).
Process dyn_start_child_returns_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid sup = co_await start_dyn(self, DynSupOptions());
    const ChildSpec ok = ChildSpec::process("ok", plain_kid);
    probe->note(reply_text(co_await start_child(self, sup, ok)));
    const ChildSpec ignored("ignore", ignore_start);
    probe->note(reply_text(co_await start_child(self, sup, ignored)));
    const ChildSpec found("error", found_start);
    probe->note(reply_text(co_await start_child(self, sup, found)));
    const ChildSpec exiting("exit", exiting_start);
    probe->note(reply_text(co_await start_child(self, sup, exiting)));
    const ChildSpec raising("raise", raising_start);
    probe->note(reply_text(co_await start_child(self, sup, raising)));
    probe->note(show(co_await count_children(self, sup)));
    co_await stop_sup(self, probe, sup);
}

TEST_P(SupervisorSuite, dynamic_supervisor_start_child_returns) {
    run(dyn_start_child_returns_root);
    EXPECT_EQ(events(), (Events{"{ok,pid}", "ignore", "{error,found}", "{error,oops}",
                                "{error,oops}", "[1,1,0,1]", "sup exit shutdown"}));
}

// Not a coroutine: it throws before it has an Async to return.
Async<StartResult> throwing_before_start(Self /*self*/, const Any& /*extra*/) {
    throw std::runtime_error("early");
}

Process start_fn_throws_early_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid sup = co_await start_dyn(self, DynSupOptions());
    const ChildSpec early("early", throwing_before_start);
    probe->note(reply_text(co_await start_child(self, sup, early)));
    const Pid plain = (co_await start_supervisor(self, SupFlags(), {})).pid;
    probe->note(reply_text(co_await start_child(self, plain, early)));
    probe->note(show(co_await count_children(self, sup)));
    co_await stop_sup(self, probe, sup);
}

// §3 rule 3: a start function that throws is {error, Reason}, whether it throws inside its
// coroutine or before it returns one; nothing is stored and the supervisor runs on.
TEST_P(SupervisorSuite, start_function_throwing_before_it_returns_is_an_error) {
    run(start_fn_throws_early_root);
    EXPECT_EQ(events(), (Events{"{error,early}", "{error,early}", "[0,0,0,0]",
                                "sup exit shutdown"}));
}

const std::array<ExitReason, 3> kKillReasons{ExitReason::shutdown(), ExitReason::shutdown("signal"),
                                             ExitReason::error("whatever")};

// "temporary child is not restarted regardless of reason", "transient child is restarted unless
// normal/shutdown/{shutdown, _}", "permanent child is restarted regardless of reason" (§4, §3 rule
// 4).
Process dyn_restart_types_root(Self self, Probe* probe, Restart restart) {
    self.trap_exit(true);
    DynSupOptions options(100'000, 5);
    const Pid sup = co_await start_dyn(self, std::move(options));
    ChildSpec child = ChildSpec::process("worker", plain_kid);
    child.restart(restart);
    for (const ExitReason& reason : kKillReasons) {
        const SupReply r = co_await start_child(self, sup, child);
        co_await signal_and_wait(self, r.pid, reason);
        co_await await_gone(self, sup, r.pid);
        probe->note(reason.to_string() + " " + show(co_await count_children(self, sup)));
    }
    co_await stop_sup(self, probe, sup);
}

TEST_P(SupervisorSuite, dynamic_supervisor_temporary_child_not_restarted) {
    run(dyn_restart_types_root, Restart::temporary);
    EXPECT_EQ(events(), (Events{"shutdown [0,0,0,0]", "{shutdown,signal} [0,0,0,0]",
                                "whatever [0,0,0,0]", "sup exit shutdown"}));
}

TEST_P(SupervisorSuite, dynamic_supervisor_transient_child_restarted_unless_clean) {
    run(dyn_restart_types_root, Restart::transient);
    EXPECT_EQ(events(), (Events{"shutdown [0,0,0,0]", "{shutdown,signal} [0,0,0,0]",
                                "whatever [1,1,0,1]", "sup exit shutdown"}));
}

TEST_P(SupervisorSuite, dynamic_supervisor_permanent_child_restarted) {
    run(dyn_restart_types_root, Restart::permanent);
    EXPECT_EQ(events(), (Events{"shutdown [1,1,0,1]", "{shutdown,signal} [2,2,0,2]",
                                "whatever [3,3,0,3]", "sup exit shutdown"}));
}

/// What a child's restarts return (dynamic_supervisor_test's start_link(:restart, value)).
enum class OnRestart : std::uint8_t { ok, ignore, error };

Async<StartResult> start_then(Self self, int* starts, OnRestart then) {
    if ((*starts)++ == 0 || then == OnRestart::ok) {
        co_return StartResult{StartResult::Kind::ok, self.spawn_link(plain_kid), {}};
    }
    if (then == OnRestart::ignore) {
        co_return StartResult{StartResult::Kind::ignore, {}, {}};
    }
    // A failing restart is retried at once, forever (a hanging restart loop). Taking a moment to
    // fail, as supervisor_deadlock does, leaves the other processes room on every scheduler
    // (PCT would otherwise let the retries use up the intensity first).
    co_await self.sleep(std::chrono::milliseconds(1));
    co_return StartResult{StartResult::Kind::error, {}, ExitReason::error("found")};
}

ChildSpec start_then_spec(int* starts, OnRestart then) {
    return ChildSpec("worker", [starts, then](Self self, const Any& /*extra*/) {
        return start_then(self, starts, then);
    });
}

/// Waits until the supervisor has handled the exit of `old` and some child is restarting.
Async<std::vector<ChildInfo>> await_restarting(Self self, Pid sup, Pid old) {
    return await_children(self, sup, [old](const std::vector<ChildInfo>& cs) {
        return !has_pid(cs, old) && count_in(cs, ChildInfo::State::restarting) > 0;
    });
}

// "child is restarted with different values" and "terminate_child/2 terminates restarting child":
// a restart returning ignore deletes the child; one returning an error leaves it restarting
// (counted as a worker, not active); terminate_child takes the restarting child by its old pid,
// then says not_found (§4.4, §4.5).
Process dyn_restart_returns_root(Self self, Probe* probe) {
    self.trap_exit(true);
    DynSupOptions options(100'000, 5);
    const Pid sup = co_await start_dyn(self, std::move(options));
    std::vector<int> starts(4, 0);
    for (int i = 0; i < 2; ++i) {
        const ChildSpec ok = start_then_spec(&starts[static_cast<std::size_t>(i)], OnRestart::ok);
        const SupReply r = co_await start_child(self, sup, ok);
        co_await signal_and_wait(self, r.pid, ExitReason::shutdown());
        co_await await_gone(self, sup, r.pid);
        probe->note(show(co_await count_children(self, sup)));
    }
    const ChildSpec ignoring = start_then_spec(&starts[2], OnRestart::ignore);
    const SupReply ignored = co_await start_child(self, sup, ignoring);
    co_await signal_and_wait(self, ignored.pid, ExitReason::shutdown());
    co_await await_gone(self, sup, ignored.pid);
    probe->note(show(co_await count_children(self, sup)));
    const ChildSpec failing = start_then_spec(&starts[3], OnRestart::error);
    const SupReply failed = co_await start_child(self, sup, failing);
    co_await signal_and_wait(self, failed.pid, ExitReason::shutdown());
    probe->note(show(co_await await_restarting(self, sup, failed.pid)));
    probe->note(show(co_await count_children(self, sup)));
    probe->note(ok_text(co_await terminate_child(self, sup, failed.pid)));
    probe->note(show(co_await count_children(self, sup)));
    probe->note(ok_text(co_await terminate_child(self, sup, failed.pid)));
    co_await stop_sup(self, probe, sup);
}

TEST_P(SupervisorSuite, dynamic_supervisor_restart_returns) {
    run(dyn_restart_returns_root);
    EXPECT_EQ(events(), (Events{"[1,1,0,1]", "[2,2,0,2]", "[2,2,0,2]",
                                "[{undefined,restarting},{undefined,pid},{undefined,pid}]",
                                "[3,2,0,3]", "ok", "[2,2,0,2]", "{error,not_found}",
                                "sup exit shutdown"}));
}

/// Alternates: succeeds, then fails once, then succeeds (start_link(:try_again, notify)).
Async<StartResult> try_again_start(Self self, Probe* probe, bool* succeeded) {
    *succeeded = !*succeeded;
    probe->note(*succeeded ? std::string("try_again true") : std::string("try_again false"));
    if (!*succeeded) {
        co_return StartResult{StartResult::Kind::error, {}, ExitReason::error("try_again")};
    }
    co_return StartResult{StartResult::Kind::ok, self.spawn_link(plain_kid), {}};
}

// "child is restarted when trying again": a failed restart is tried again, and with
// max_restarts 2 the second attempt may succeed (§4.4).
Process dyn_try_again_root(Self self, Probe* probe) {
    self.trap_exit(true);
    DynSupOptions options(2, 5);
    const Pid sup = co_await start_dyn(self, std::move(options));
    bool succeeded = false;
    const ChildSpec child("worker", [probe, &succeeded](Self s, const Any& /*extra*/) {
        return try_again_start(s, probe, &succeeded);
    });
    const SupReply r = co_await start_child(self, sup, child);
    probe->note(reply_text(r));
    co_await signal_and_wait(self, r.pid, ExitReason::shutdown());
    co_await await_children(self, sup, [old = r.pid](const std::vector<ChildInfo>& cs) {
        return cs.size() == 1 && cs[0].state == ChildInfo::State::running && cs[0].pid != old;
    });
    probe->note(show(co_await count_children(self, sup)));
    co_await stop_sup(self, probe, sup);
}

TEST_P(SupervisorSuite, dynamic_supervisor_try_again) {
    run(dyn_try_again_root);
    EXPECT_EQ(events(), (Events{"try_again true", "{ok,pid}", "try_again false", "try_again true",
                                "[1,1,0,1]", "sup exit shutdown"}));
}

// "child triggers maximum restarts" and "child triggers maximum intensity when trying again":
// every attempt counts against max_restarts, so a child whose restarts always fail gets
// max_restarts attempts, then the supervisor exits `shutdown` (§4.4).
Process dyn_max_restarts_root(Self self, Probe* probe, int max_restarts) {
    self.trap_exit(true);
    DynSupOptions options(max_restarts, 5);
    const Pid sup = co_await start_dyn(self, std::move(options));
    int starts = 0;
    const ChildSpec child = failing_spec("worker", &starts);
    const SupReply r = co_await start_child(self, sup, child);
    co_await signal_and_wait(self, r.pid, ExitReason::shutdown());
    co_await note_sup_exit(self, probe, sup);
    probe->note("starts " + std::to_string(starts));
}

TEST_P(SupervisorSuite, dynamic_supervisor_maximum_restarts) {
    run(dyn_max_restarts_root, 1);
    EXPECT_EQ(events(), (Events{"sup exit shutdown", "starts 2"}));
}

TEST_P(SupervisorSuite, dynamic_supervisor_maximum_intensity_trying_again) {
    run(dyn_max_restarts_root, 10);
    EXPECT_EQ(events(), (Events{"sup exit shutdown", "starts 11"}));
}

Async<StartResult> start_noting_extra(Self self, const Any& extra, Probe* probe) {
    const int* n = extra_of<int>(extra);
    probe->note("extra " + (n != nullptr ? std::to_string(*n) : std::string("none")));
    co_return StartResult{StartResult::Kind::ok, self.spawn_link(plain_kid), {}};
}

// "restarting a child with extra_arguments successfully restarts child": a restart passes the
// supervisor's extra_arguments again (§4.2).
Process dyn_extra_arguments_root(Self self, Probe* probe) {
    self.trap_exit(true);
    DynSupOptions options;
    options.extra_arguments = Any(42);
    const Pid sup = co_await start_dyn(self, std::move(options));
    ChildSpec child("task", [probe](Self s, const Any& extra) {
        return start_noting_extra(s, extra, probe);
    });
    child.restart(Restart::transient);
    const SupReply r = co_await start_child(self, sup, child);
    co_await signal_and_wait(self, r.pid, ExitReason::error("oops"));
    co_await await_gone(self, sup, r.pid);
    probe->note(show(co_await count_children(self, sup)));
    co_await stop_sup(self, probe, sup);
}

TEST_P(SupervisorSuite, dynamic_supervisor_extra_arguments_restart) {
    run(dyn_extra_arguments_root);
    EXPECT_EQ(events(), (Events{"extra 42", "extra 42", "[1,1,0,1]", "sup exit shutdown"}));
}

// -- terminate/2 and terminate_child/2 (§4.5) -----------------------------------------------------

/// How a DynamicSupervisor's test child behaves when told to stop.
enum class Conduct : std::uint8_t {
    sleepy,      // Does not trap exits (Process.sleep(:infinity)).
    own_reason,  // Traps exits and exits with its own reason on any message.
    stubborn,    // Traps exits and ignores them.
};

struct DynKid {
    Shutdown shutdown;
    Conduct conduct = Conduct::sleepy;
    ExitReason reason;  // For own_reason.
};

Async<StartResult> start_conduct(Self self, Probe* probe, std::string id, DynKid kid) {
    switch (kid.conduct) {
        case Conduct::sleepy:
            break;
        case Conduct::own_reason:
            co_return co_await start_synced(self, own_reason_kid, kid.reason);
        case Conduct::stubborn:
            co_return co_await start_synced(self, stubborn_kid, probe, id);
    }
    co_return StartResult{StartResult::Kind::ok, self.spawn_link(plain_kid), {}};
}

/// Starts the children, stops the supervisor, notes how each child ended.
Process dyn_terminate_root(Self self, Probe* probe, std::vector<DynKid> kids) {
    self.trap_exit(true);
    const Pid sup = co_await start_dyn(self, DynSupOptions());
    std::vector<MonitorRef> refs;
    for (std::size_t i = 0; i < kids.size(); ++i) {
        const std::string id = "child" + std::to_string(i + 1);
        const DynKid kid = kids[i];
        ChildSpec spec(id, [probe, id, kid](Self s, const Any& /*extra*/) {
            return start_conduct(s, probe, id, kid);
        });
        spec.shutdown(kid.shutdown);
        const SupReply r = co_await start_child(self, sup, spec);
        refs.push_back(self.monitor(r.pid));
    }
    co_await stop_sup(self, probe, sup);
    for (std::size_t i = 0; i < refs.size(); ++i) {
        const ExitReason reason = co_await down_reason(self, refs[i]);
        probe->note("child" + std::to_string(i + 1) + " " + reason.to_string());
    }
}

std::vector<DynKid> three(Shutdown shutdown, Conduct conduct = Conduct::sleepy,
                          const ExitReason& reason = ExitReason()) {
    return std::vector<DynKid>(3, DynKid{shutdown, conduct, reason});
}

/// The supervisor exits `shutdown`, then child<i> ended with reasons[i].
Events terminated(const std::vector<std::string>& reasons) {
    Events out{"sup exit shutdown"};
    for (std::size_t i = 0; i < reasons.size(); ++i) {
        out.push_back("child" + std::to_string(i + 1) + " " + reasons[i]);
    }
    return out;
}

// "terminates children with brutal kill".
TEST_P(SupervisorSuite, dynamic_supervisor_terminate_brutal_kill) {
    run(dyn_terminate_root, three(Shutdown::brutal_kill()));
    EXPECT_EQ(events(), terminated({"killed", "killed", "killed"}));
}

// "terminates children with infinity shutdown".
TEST_P(SupervisorSuite, dynamic_supervisor_terminate_infinity) {
    run(dyn_terminate_root, three(Shutdown::infinite()));
    EXPECT_EQ(events(), terminated({"shutdown", "shutdown", "shutdown"}));
}

// "terminates children with infinity shutdown and abnormal reason": a child's own exit reason
// stands.
TEST_P(SupervisorSuite, dynamic_supervisor_terminate_infinity_abnormal) {
    run(dyn_terminate_root,
        three(Shutdown::infinite(), Conduct::own_reason, ExitReason::shutdown("oops")));
    EXPECT_EQ(events(), terminated({"{shutdown,oops}", "{shutdown,oops}", "{shutdown,oops}"}));
}

// "terminates children with integer shutdown".
TEST_P(SupervisorSuite, dynamic_supervisor_terminate_integer) {
    run(dyn_terminate_root, three(Shutdown::after(std::chrono::milliseconds(1000))));
    EXPECT_EQ(events(), terminated({"shutdown", "shutdown", "shutdown"}));
}

// "terminates children with integer shutdown and abnormal reason".
TEST_P(SupervisorSuite, dynamic_supervisor_terminate_integer_abnormal) {
    run(dyn_terminate_root, three(Shutdown::after(std::chrono::milliseconds(1000)),
                                  Conduct::own_reason, ExitReason::shutdown("oops")));
    EXPECT_EQ(events(), terminated({"{shutdown,oops}", "{shutdown,oops}", "{shutdown,oops}"}));
}

// "terminates children with expired integer shutdown" (T): a child that ignores `shutdown` is
// killed when its 1 ms run out; the others exit `shutdown`.
TEST_P(SupervisorSuiteTimed, dynamic_supervisor_terminate_expired_integer) {
    const Shutdown one_ms = Shutdown::after(std::chrono::milliseconds(1));
    std::vector<DynKid> kids = three(one_ms);
    kids[1].conduct = Conduct::stubborn;
    run(dyn_terminate_root, kids);
    Events expected = terminated({"shutdown", "killed", "shutdown"});
    expected.insert(expected.begin(), "child2 ignores shutdown");
    expected.insert(expected.begin(), "start child2");
    EXPECT_EQ(events(), expected);
}

// "terminates children with permanent restart and normal reason": no restart during shutdown.
TEST_P(SupervisorSuite, dynamic_supervisor_terminate_permanent_normal) {
    run(dyn_terminate_root, three(Shutdown::infinite(), Conduct::own_reason, ExitReason::normal()));
    EXPECT_EQ(events(), terminated({"normal", "normal", "normal"}));
}

// "terminates with mixed children".
TEST_P(SupervisorSuite, dynamic_supervisor_terminate_mixed) {
    std::vector<DynKid> kids = three(Shutdown::infinite());
    kids[1].shutdown = Shutdown::brutal_kill();
    kids.pop_back();
    run(dyn_terminate_root, kids);
    EXPECT_EQ(events(), terminated({"shutdown", "killed"}));
}

// terminate_child/2 "terminates child with brutal kill" / "with integer shutdown": ok, then
// not_found; nothing is left (§4.5).
Process dyn_terminate_child_root(Self self, Probe* probe, Shutdown shutdown) {
    self.trap_exit(true);
    const Pid sup = co_await start_dyn(self, DynSupOptions());
    ChildSpec child = ChildSpec::process("task", plain_kid);
    child.shutdown(shutdown);
    const SupReply r = co_await start_child(self, sup, child);
    const MonitorRef ref = self.monitor(r.pid);
    probe->note(ok_text(co_await terminate_child(self, sup, r.pid)));
    probe->note((co_await down_reason(self, ref)).to_string());
    probe->note(ok_text(co_await terminate_child(self, sup, r.pid)));
    probe->note(show(co_await count_children(self, sup)));
    co_await stop_sup(self, probe, sup);
}

TEST_P(SupervisorSuite, dynamic_supervisor_terminate_child_brutal_kill) {
    run(dyn_terminate_child_root, Shutdown::brutal_kill());
    EXPECT_EQ(events(), (Events{"ok", "killed", "{error,not_found}", "[0,0,0,0]",
                                "sup exit shutdown"}));
}

TEST_P(SupervisorSuite, dynamic_supervisor_terminate_child_integer) {
    run(dyn_terminate_child_root, Shutdown::after(std::chrono::milliseconds(1000)));
    EXPECT_EQ(events(), (Events{"ok", "shutdown", "{error,not_found}", "[0,0,0,0]",
                                "sup exit shutdown"}));
}

// "start_child/2 with invalid shutdown": rejected with the value, nothing stored, and the
// supervisor still shuts down (§4.2, §3 rule 2).
Process dyn_invalid_shutdown_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid sup = co_await start_dyn(self, DynSupOptions());
    ChildSpec spec("worker", [](Self s, const Any& /*extra*/) -> Async<StartResult> {
        co_return StartResult{StartResult::Kind::ok, s.spawn_link(plain_kid), {}};
    });
    spec.shutdown(Shutdown::after(std::chrono::milliseconds(-1)));
    probe->note((co_await start_child(self, sup, std::move(spec))).to_string());
    probe->note(show(co_await count_children(self, sup)));
    self.exit(sup, ExitReason::shutdown());
    co_await note_sup_exit(self, probe, sup);
}

TEST_P(SupervisorSuite, dynamic_supervisor_start_child_invalid_shutdown) {
    run(dyn_invalid_shutdown_root);
    EXPECT_EQ(events(), (Events{"{error,{invalid_shutdown,-1}}", "[0,0,0,0]",
                                "sup exit shutdown"}));
}

}  // namespace
}  // namespace bedlam
