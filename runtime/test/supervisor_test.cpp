// Supervisor (otp-semantics §3), ported from supervisor_SUITE (§9): each test is named after the
// OTP case it ports and cites the rule it checks. Tests without timing run on every scheduler;
// timed ones (T) run on the simulator's virtual clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/application.hpp"
#include "bedlam/runtime/supervisor.hpp"
#include "supervisor_support.hpp"
#include "test_support.hpp"

namespace bedlam {
namespace {

using namespace test;  // The helpers of supervisor_support.hpp.

class SupervisorTest : public test::RuntimeTest {};

INSTANTIATE_TEST_SUITE_P(Schedulers, SupervisorTest, ::testing::ValuesIn(test::kAllSchedulers),
                         test::sched_name);

class SupervisorTimed : public SupervisorTest {};
INSTANTIATE_TEST_SUITE_P(Simulator, SupervisorTimed, ::testing::ValuesIn(test::kSimulators),
                         test::sched_name);

// == Starting (rules 1, 2, 10, 12) ===================================================================

// sup_start_normal: {one_for_one, 2, 3600} with no children starts; exit(Sup, shutdown) ends it.
Process sup_start_normal_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const StartResult r =
        co_await start_supervisor(self, SupFlags(Strategy::one_for_one, 2, 3600), {});
    probe->note(r.ok() ? std::string("ok") : std::string("failed"));
    self.exit(r.pid, ExitReason::shutdown());
    co_await note_sup_exit(self, probe, r.pid);
}

TEST_P(SupervisorTest, sup_start_normal) {
    run(sup_start_normal_root);
    EXPECT_EQ(events(), (Events{"ok", "sup exit shutdown"}));
}

// sup_start_ignore_init: init returning ignore makes start return ignore.
Process sup_start_ignore_init_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const StartResult r =
        co_await start_supervisor(self, [](Self) { return SupInit::ignored(); });
    probe->note(r.kind == StartResult::Kind::ignore ? std::string("ignore")
                                                     : std::string("not ignore"));
}

TEST_P(SupervisorTest, sup_start_ignore_init) {
    run(sup_start_ignore_init_root);
    EXPECT_EQ(events(), (Events{"ignore"}));
}

// sup_start_ignore_child: a permanent child returning ignore is kept as undefined (rule 12);
// which_children lists newest first (rule 5).
Process sup_start_ignore_child_root(Self self, Probe* probe) {
    self.trap_exit(true);
    std::vector<ChildSpec> children{ChildSpec("child1", ignore_start), kid_spec(probe, "child2")};
    const StartResult r =
        co_await start_supervisor(self, SupFlags(Strategy::one_for_one, 2, 3600), children);
    probe->note(show(co_await which_children(self, r.pid)));
    probe->note(show(co_await count_children(self, r.pid)));
}

TEST_P(SupervisorTest, sup_start_ignore_child) {
    run(sup_start_ignore_child_root);
    // The root's exit (normal) reaches the trapping supervisor from its parent: it stops its
    // children and exits too (rule 19).
    EXPECT_EQ(events(), (Events{"start child2", "[{child2,pid},{child1,undefined}]", "[2,1,0,2]",
                                "stop child2 shutdown"}));
}

// sup_start_ignore_temporary_child: a temporary child returning ignore is not stored.
Process sup_start_ignore_temporary_root(Self self, Probe* probe) {
    self.trap_exit(true);
    ChildSpec ignored("child1", ignore_start);
    ignored.restart(Restart::temporary);
    std::vector<ChildSpec> children{ignored, kid_spec(probe, "child2")};
    const StartResult r =
        co_await start_supervisor(self, SupFlags(Strategy::one_for_one, 2, 3600), children);
    probe->note(show(co_await count_children(self, r.pid)));
}

TEST_P(SupervisorTest, sup_start_ignore_temporary_child) {
    run(sup_start_ignore_temporary_root);
    EXPECT_EQ(events(), (Events{"start child2", "[1,1,0,1]", "stop child2 shutdown"}));
}

// sup_start_fail / faulty_application_shutdown: the first child that fails to start stops the
// start; children already started stop in reverse order; the error is
// {shutdown, {failed_to_start_child, Id, Reason}} (rule 10).
Process sup_start_fail_root(Self self, Probe* probe) {
    self.trap_exit(true);
    std::vector<ChildSpec> children{kid_spec(probe, "a"), kid_spec(probe, "b"),
                                    ChildSpec("c", error_start), kid_spec(probe, "d")};
    const StartResult r =
        co_await start_supervisor(self, SupFlags(Strategy::one_for_one, 2, 3600), children);
    probe->note("error " + r.reason.to_string());
}

TEST_P(SupervisorTest, sup_start_fail) {
    run(sup_start_fail_root);
    EXPECT_EQ(events(), (Events{"start a", "start b", "stop b shutdown", "stop a shutdown",
                                "error {shutdown,{failed_to_start_child,c,reason}}"}));
}

// sup_flags / child_specs: invalid flags and specs are rejected with OTP's terms (rules 1, 2).
TEST(SupervisorValidation, sup_flags_and_child_specs) {
    EXPECT_EQ(check_sup_flags(SupFlags(Strategy::one_for_one, -1, 5))->to_string(),
              "{supervisor_data,{invalid_intensity,-1}}");
    EXPECT_EQ(check_sup_flags(SupFlags(Strategy::one_for_one, 1, 0))->to_string(),
              "{supervisor_data,{invalid_period,0}}");
    EXPECT_FALSE(check_sup_flags(SupFlags()).has_value());
    EXPECT_EQ(check_child_spec(ChildSpec("", ignore_start), SupFlags())->to_string(), "missing_id");
    EXPECT_EQ(check_child_spec(ChildSpec("a", StartFn()), SupFlags())->to_string(),
              "missing_start");
    ChildSpec significant("a", ignore_start);
    significant.significant(true);
    EXPECT_EQ(check_child_spec(significant, SupFlags())->to_string(),
              "{bad_combination,[{restart,permanent},{significant,true}]}");
    significant.restart(Restart::transient);
    EXPECT_EQ(check_child_spec(significant, SupFlags())->to_string(),
              "{bad_combination,[{restart,transient},{significant,true}]}");
    SupFlags any(Strategy::one_for_one, 1, 5);
    any.auto_shutdown = AutoShutdown::any_significant;
    EXPECT_FALSE(check_child_spec(significant, any).has_value());
    // Defaults (rule 2): 5000 for workers, infinity for supervisors, modules [Id].
    ChildSpec worker("w", ignore_start);
    EXPECT_EQ(worker.shutdown(), Shutdown::after(5000ms));
    EXPECT_EQ(worker.restart(), Restart::permanent);
    EXPECT_EQ(worker.modules(), std::vector<std::string>{"w"});
    EXPECT_EQ(supervisor_spec("s", SupFlags(), {}).shutdown(), Shutdown::infinite());
    // Rule 1: default flags.
    const SupFlags defaults;
    EXPECT_EQ(defaults.strategy, Strategy::one_for_one);
    EXPECT_EQ(defaults.intensity, 1);
    EXPECT_EQ(defaults.period, 5);
    EXPECT_EQ(defaults.auto_shutdown, AutoShutdown::never);
}

Process duplicate_ids_root(Self self, Probe* probe) {
    self.trap_exit(true);
    std::vector<ChildSpec> children{kid_spec(probe, "a"), kid_spec(probe, "a")};
    const StartResult r = co_await start_supervisor(self, SupFlags(), children);
    probe->note("error " + r.reason.to_string());
}

TEST_P(SupervisorTest, duplicate_child_name) {
    run(duplicate_ids_root);
    EXPECT_EQ(events(), (Events{"error {duplicate_child_name,a}"}));
}

// == The API (rules 13-17) ===========================================================================

// child_adm: start_child, already_started, already_present, terminate_child (repeatable),
// restart_child, delete_child, not_found.
Process child_adm_root(Self self, Probe* probe) {
    self.trap_exit(true);
    std::vector<ChildSpec> children{kid_spec(probe, "child1")};
    const Pid sup =
        (co_await start_supervisor(self, SupFlags(Strategy::one_for_one, 2, 3600), children)).pid;
    probe->note(show(co_await which_children(self, sup)));
    SupReply r = co_await start_child(self, sup, kid_spec(probe, "child1"));
    probe->note(r.error == SupError::already_started ? std::string("already_started")
                                                      : r.to_string());
    probe->note(ok_text(co_await terminate_child(self, sup, std::string("child1"))));
    probe->note(ok_text(co_await terminate_child(self, sup, std::string("child1"))));
    probe->note(show(co_await which_children(self, sup)));
    probe->note((co_await start_child(self, sup, kid_spec(probe, "child1"))).to_string());
    r = co_await restart_child(self, sup, "child1");
    probe->note(r.ok() && r.pid.valid() ? std::string("restarted") : r.to_string());
    probe->note((co_await restart_child(self, sup, "child1")).to_string());
    probe->note(ok_text(co_await delete_child(self, sup, "child1")));
    probe->note(ok_text(co_await terminate_child(self, sup, std::string("child1"))));
    probe->note(ok_text(co_await delete_child(self, sup, "child1")));
    probe->note(ok_text(co_await delete_child(self, sup, "child1")));
    probe->note(ok_text(co_await restart_child(self, sup, "child1")));
    probe->note(ok_text(co_await terminate_child(self, sup, std::string("child1"))));
    probe->note(show(co_await which_children(self, sup)));
    const std::optional<ChildSpec> spec = co_await get_childspec(self, sup, "child1");
    probe->note(spec ? std::string("spec") : std::string("{error,not_found}"));
    self.exit(sup, ExitReason::shutdown());
    co_await note_sup_exit(self, probe, sup);
}

TEST_P(SupervisorTest, child_adm) {
    run(child_adm_root);
    EXPECT_EQ(events(), (Events{"start child1", "[{child1,pid}]", "already_started",
                                "stop child1 shutdown", "ok", "ok", "[{child1,undefined}]",
                                "{error,already_present}", "start child1", "restarted",
                                "{error,running}", "{error,running}", "stop child1 shutdown", "ok",
                                "ok", "{error,not_found}", "{error,not_found}",
                                "{error,not_found}", "[]", "{error,not_found}",
                                "sup exit shutdown"}));
}

// sup_start_child_returns_error: a start error comes back and nothing is stored (rule 13).
Process start_child_error_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid sup = (co_await start_supervisor(self, SupFlags(), {})).pid;
    SupReply r = co_await start_child(self, sup, ChildSpec("child1", error_start));
    probe->note(r.error == SupError::start_failed ? "error " + r.reason.to_string() : std::string("?"));
    r = co_await start_child(self, sup, ChildSpec("child1", throwing_start));
    probe->note(r.error == SupError::start_failed ? "error " + r.reason.to_string() : std::string("?"));
    probe->note(show(co_await count_children(self, sup)));
}

TEST_P(SupervisorTest, sup_start_child_returns_error) {
    run(start_child_error_root);
    EXPECT_EQ(events(), (Events{"error reason", "error error_reason", "[0,0,0,0]"}));
}

// == Restart types (rule 4) ==========================================================================

struct RestartCase {
    Restart type;
    ExitReason reason;
    bool restarted;
    const char* counts;  // After the exit (and the restart, if any).
};

Process restart_type_root(Self self, Probe* probe, Restart type, ExitReason reason) {
    self.trap_exit(true);
    ChildSpec spec = ChildSpec::process("child1", plain_kid);
    spec.restart(type);
    std::vector<ChildSpec> children{spec};
    const Pid sup = (co_await start_supervisor(self, SupFlags(), children)).pid;
    const Pid first = pid_of(co_await which_children(self, sup), "child1");
    // A DOWN proves the child is dead; the supervisor may not have handled its EXIT yet.
    co_await die_and_wait(self, first, reason);
    const std::vector<ChildInfo> after = co_await await_children(
        self, sup, [&](const std::vector<ChildInfo>& cs) {
            return cs.empty() || cs[0].pid != first;
        });
    const bool restarted = !after.empty() && after[0].pid.valid();
    probe->note(std::string(restarted ? "restarted " : "not restarted ") +
                show(co_await count_children(self, sup)));
}

TEST_P(SupervisorTest, permanent_transient_temporary) {
    // permanent_{normal,shutdown,abnormal}, transient_{normal,shutdown,abnormal},
    // temporary_{normal,shutdown,abnormal}.
    const std::vector<RestartCase> cases{
        {Restart::permanent, ExitReason::normal(), true, "[1,1,0,1]"},
        {Restart::permanent, ExitReason::shutdown(), true, "[1,1,0,1]"},
        {Restart::permanent, ExitReason::error("abnormal"), true, "[1,1,0,1]"},
        {Restart::transient, ExitReason::normal(), false, "[1,0,0,1]"},
        {Restart::transient, ExitReason::shutdown("x"), false, "[1,0,0,1]"},
        {Restart::transient, ExitReason::error("abnormal"), true, "[1,1,0,1]"},
        {Restart::temporary, ExitReason::normal(), false, "[0,0,0,0]"},
        {Restart::temporary, ExitReason::shutdown(), false, "[0,0,0,0]"},
        {Restart::temporary, ExitReason::error("abnormal"), false, "[0,0,0,0]"},
    };
    for (const RestartCase& c : cases) {
        Probe probe;
        const std::unique_ptr<Runtime> rt = test::make_runtime(GetParam());
        rt->spawn(restart_type_root, &probe, c.type, c.reason);
        rt->run_until_idle();
        const std::string expected =
            std::string(c.restarted ? "restarted " : "not restarted ") + c.counts;
        EXPECT_EQ(probe.events(), Events{expected})
            << to_string(c.type) << " " << c.reason.to_string();
    }
}


// == Strategies (rule 6) and intensity (rules 8, 9) ==================================================

/// Crashes `id`, then waits until the supervisor shows it running again with a new pid, or
/// until the supervisor is gone.
Async<bool> crash_and_await_restart(Self self, Pid sup, const std::string& id,
                                    bool kill = false) {
    const Pid old = pid_of(co_await which_children(self, sup), id);
    if (kill) {
        const MonitorRef ref = self.monitor(old);
        self.exit(old, ExitReason::kill());
        co_await self.receive(
            when([ref](const DownMsg& d) { return d.ref == ref; }, [](DownMsg) {}));
    } else {
        co_await die_and_wait(self, old, ExitReason::error("died"));
    }
    for (int i = 0; i < 1000; ++i) {
        if (!self.is_alive(sup)) {
            co_return false;
        }
        std::vector<ChildInfo> children = co_await which_children(self, sup);
        const Pid now = pid_of(children, id);
        if (now.valid() && now != old) {
            co_return true;
        }
        co_await self.sleep(1ms);
    }
    co_return false;
}

// one_for_one, one_for_all, rest_for_one: the strategy restarts exactly the right children, in
// order (children stop newest first, start oldest first); the third crash within the period
// under intensity 2 stops the supervisor with `shutdown`, its children first.
Process strategy_root(Self self, Probe* probe, Strategy strategy) {
    self.trap_exit(true);
    std::vector<ChildSpec> children = kids(probe, 3);
    const Pid sup = (co_await start_supervisor(self, SupFlags(strategy, 2, 3600), children)).pid;
    probe->note("crash child2");
    co_await crash_and_await_restart(self, sup, "child2");
    probe->note("crash child1");
    co_await crash_and_await_restart(self, sup, "child1");
    probe->note("crash child3");
    const Pid c3 = pid_of(co_await which_children(self, sup), "child3");
    co_await die_and_wait(self, c3, ExitReason::error("died"));
    co_await note_sup_exit(self, probe, sup);
}

TEST_P(SupervisorTest, one_for_one) {
    run(strategy_root, Strategy::one_for_one);
    EXPECT_EQ(events(), (Events{"start child1", "start child2", "start child3", "crash child2",
                                "start child2", "crash child1", "start child1", "crash child3",
                                "stop child2 shutdown", "stop child1 shutdown",
                                "sup exit shutdown"}));
}

TEST_P(SupervisorTest, one_for_all) {
    run(strategy_root, Strategy::one_for_all);
    EXPECT_EQ(events(),
              (Events{"start child1", "start child2", "start child3", "crash child2",
                      "stop child3 shutdown", "stop child1 shutdown", "start child1",
                      "start child2", "start child3", "crash child1", "stop child3 shutdown",
                      "stop child2 shutdown", "start child1", "start child2", "start child3",
                      "crash child3", "stop child2 shutdown", "stop child1 shutdown",
                      "sup exit shutdown"}));
}

TEST_P(SupervisorTest, rest_for_one) {
    run(strategy_root, Strategy::rest_for_one);
    EXPECT_EQ(events(),
              (Events{"start child1", "start child2", "start child3", "crash child2",
                      "stop child3 shutdown", "start child2", "start child3", "crash child1",
                      "stop child3 shutdown", "stop child2 shutdown", "start child1",
                      "start child2", "start child3", "crash child3", "stop child2 shutdown",
                      "stop child1 shutdown", "sup exit shutdown"}));
}

// order_of_children: start order 1..5; under rest_for_one, killing #3 stops #5 then #4; the
// supervisor's exit stops 5..1 (rule 5).
Process order_root(Self self, Probe* probe) {
    self.trap_exit(true);
    std::vector<ChildSpec> children = kids(probe, 5);
    const Pid sup =
        (co_await start_supervisor(self, SupFlags(Strategy::rest_for_one, 2, 3600), children)).pid;
    probe->note("crash child3");
    co_await crash_and_await_restart(self, sup, "child3");
    probe->note("shutdown");
    self.exit(sup, ExitReason::shutdown());
    co_await note_sup_exit(self, probe, sup);
}

TEST_P(SupervisorTest, order_of_children) {
    run(order_root);
    EXPECT_EQ(events(),
              (Events{"start child1", "start child2", "start child3", "start child4",
                      "start child5", "crash child3", "stop child5 shutdown",
                      "stop child4 shutdown", "start child3", "start child4", "start child5",
                      "shutdown", "stop child5 shutdown", "stop child4 shutdown",
                      "stop child3 shutdown", "stop child2 shutdown", "stop child1 shutdown",
                      "sup exit shutdown"}));
}

// multiple_restarts (T): intensity 1, period 1. Restarts are counted in whole seconds since the
// run began (rule 8): crashes at 0.5 s and 1.6 s fall in seconds 0 and 1, within the inclusive
// window, so the second stops the supervisor; at 0.5 s and 2.6 s (seconds 0 and 2) it survives.
Process window_root(Self self, Probe* probe, int second_crash_ms) {
    self.trap_exit(true);
    std::vector<ChildSpec> children{ChildSpec::process("child1", plain_kid)};
    const Pid sup =
        (co_await start_supervisor(self, SupFlags(Strategy::one_for_one, 1, 1), children)).pid;
    co_await self.sleep(500ms);
    co_await die_and_wait(self, pid_of(co_await which_children(self, sup), "child1"),
                          ExitReason::error("died"));
    co_await self.sleep(std::chrono::milliseconds(second_crash_ms - 500));
    co_await die_and_wait(self, pid_of(co_await which_children(self, sup), "child1"),
                          ExitReason::error("died"));
    const std::optional<ExitMsg> m = co_await self.receive_for<ExitMsg>(100ms);
    probe->note(m ? "sup exit " + m->reason.to_string() : std::string("sup alive"));
}

TEST_P(SupervisorTimed, multiple_restarts_window_in_whole_seconds) {
    run(window_root, 1600);
    EXPECT_EQ(events(), (Events{"sup exit shutdown"}));
}

TEST_P(SupervisorTimed, multiple_restarts_survives_outside_window) {
    run(window_root, 2600);
    EXPECT_EQ(events(), (Events{"sup alive"}));
}

// == Shutdown (rule 7) ===============================================================================

/// Ignores shutdown signals: it traps exits and never exits on its own.
Process stubborn(Self self, Probe* probe) {
    self.trap_exit(true);
    for (;;) {
        const ExitMsg m = co_await self.receive<ExitMsg>();
        probe->note("stubborn got " + m.reason.to_string() + " at " +
                    std::to_string(self.now() / 1'000'000) + "ms");
    }
}

Process watch(Self self, Probe* probe, Pid target, std::string label) {
    const MonitorRef ref = self.monitor(target);
    const DownMsg d = co_await self.receive(
        when([ref](const DownMsg& x) { return x.ref == ref; }, [](DownMsg x) { return x; }));
    probe->note(label + " " + d.reason.to_string() + " at " +
                std::to_string(self.now() / 1'000'000) + "ms");
}

// sup_stop_timeout (T): a busy child is killed after its shutdown time-out (1000 ms);
// sup_stop_brutal_kill: brutal_kill gives `killed` at once.
Process shutdown_kinds_root(Self self, Probe* probe) {
    self.trap_exit(true);
    ChildSpec slow = ChildSpec::process("slow", stubborn, probe);
    slow.shutdown(Shutdown::after(1000ms));
    ChildSpec brutal = ChildSpec::process("brutal", stubborn, probe);
    brutal.shutdown(Shutdown::brutal_kill());
    std::vector<ChildSpec> children{slow, brutal};
    const Pid sup = (co_await start_supervisor(self, SupFlags(), children)).pid;
    const std::vector<ChildInfo> running = co_await which_children(self, sup);
    self.spawn(watch, probe, pid_of(running, "slow"), std::string("slow"));
    self.spawn(watch, probe, pid_of(running, "brutal"), std::string("brutal"));
    co_await self.sleep(1ms);
    self.exit(sup, ExitReason::shutdown());
    co_await note_sup_exit(self, probe, sup);
}

TEST_P(SupervisorTimed, sup_stop_timeout_and_brutal_kill) {
    run(shutdown_kinds_root);
    // The watchers note concurrently with the supervisor: compare without their order.
    Events got = events();
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (Events{"brutal killed at 1ms", "slow killed at 1001ms", "stubborn got shutdown at 1ms",
                           "sup exit shutdown"}));
}

// == simple_one_for_one (rules 6, 13, 14) =============================================================

Async<StartResult> start_numbered(Self self, const Any& extra) {
    const Pid pid = self.spawn_link(plain_kid);
    static_cast<void>(extra);
    co_return StartResult{StartResult::Kind::ok, pid, {}};
}

Process simple_root(Self self, Probe* probe) {
    self.trap_exit(true);
    ChildSpec tmpl("worker", start_numbered);
    tmpl.restart(Restart::temporary);
    std::vector<ChildSpec> children{tmpl};
    const Pid sup =
        (co_await start_supervisor(self, SupFlags(Strategy::simple_one_for_one, 2, 3600),
                                   children))
            .pid;
    const SupReply a = co_await start_child(self, sup, Any(1));
    const SupReply b = co_await start_child(self, sup, Any(2));
    probe->note(show(co_await count_children(self, sup)));
    probe->note(ok_text(co_await terminate_child(self, sup, std::string("worker"))));
    probe->note(ok_text(co_await terminate_child(self, sup, a.pid)));
    probe->note(ok_text(co_await terminate_child(self, sup, a.pid)));  // Dead: ok.
    probe->note(ok_text(co_await terminate_child(self, sup, self.pid())));  // Not a child.
    probe->note(show(co_await which_children(self, sup)));
    co_await die_and_wait(self, b.pid, ExitReason::error("died"));  // Temporary: gone.
    co_await await_children(self, sup,
                            [](const std::vector<ChildInfo>& cs) { return cs.empty(); });
    probe->note(show(co_await count_children(self, sup)));
    probe->note(ok_text(co_await delete_child(self, sup, "worker")));
    probe->note(ok_text(co_await restart_child(self, sup, "worker")));
}

TEST_P(SupervisorTest, simple_one_for_one_child_adm) {
    run(simple_root);
    EXPECT_EQ(events(), (Events{"[1,2,0,2]", "{error,simple_one_for_one}", "ok", "ok",
                                "{error,not_found}", "[{undefined,pid}]", "[1,0,0,0]",
                                "{error,simple_one_for_one}", "{error,simple_one_for_one}"}));
}

// == Escalation and significant children (rules 9, 11, 18) ============================================

// one_for_one_escalation: a child whose restarts keep failing makes the supervisor retry through
// add_restart until the intensity (4) is exceeded; then it exits shutdown (rule 11).
Process escalation_root(Self self, Probe* probe) {
    self.trap_exit(true);
    int starts = 0;
    ChildSpec failing("child1", [&starts](Self s, const Any& extra) {
        return once_then_fail(s, extra, &starts);
    });
    std::vector<ChildSpec> children{failing, kid_spec(probe, "child2")};
    const Pid sup =
        (co_await start_supervisor(self, SupFlags(Strategy::one_for_one, 4, 3600), children)).pid;
    co_await die_and_wait(self, pid_of(co_await which_children(self, sup), "child1"),
                          ExitReason::error("died"));
    co_await note_sup_exit(self, probe, sup);
    probe->note("starts " + std::to_string(starts));
}

TEST_P(SupervisorTest, one_for_one_escalation) {
    run(escalation_root);
    // 1 start at init, then 4 restart attempts fail; the 5th count exceeds intensity 4.
    EXPECT_EQ(events(), (Events{"start child2", "stop child2 shutdown", "sup exit shutdown",
                                "starts 5"}));
}

// significant_temporary: a significant temporary child exiting makes an any_significant
// supervisor exit shutdown; terminate_child never triggers it (rule 18).
Process significant_root(Self self, Probe* probe, bool via_terminate) {
    self.trap_exit(true);
    SupFlags flags(Strategy::one_for_one, 1, 5);
    flags.auto_shutdown = AutoShutdown::any_significant;
    ChildSpec sig = ChildSpec::process("sig", plain_kid);
    sig.restart(Restart::temporary).significant(true);
    std::vector<ChildSpec> children{sig, kid_spec(probe, "other")};
    const Pid sup = (co_await start_supervisor(self, flags, children)).pid;
    if (via_terminate) {
        probe->note(ok_text(co_await terminate_child(self, sup, std::string("sig"))));
        probe->note(show(co_await count_children(self, sup)));
        self.exit(sup, ExitReason::shutdown());
    } else {
        co_await die_and_wait(self, pid_of(co_await which_children(self, sup), "sig"),
                              ExitReason::normal());
    }
    co_await note_sup_exit(self, probe, sup);
}

TEST_P(SupervisorTest, significant_temporary) {
    run(significant_root, false);
    EXPECT_EQ(events(), (Events{"start other", "stop other shutdown", "sup exit shutdown"}));
}

TEST_P(SupervisorTest, significant_terminate_child_does_not_shut_down) {
    run(significant_root, true);
    EXPECT_EQ(events(), (Events{"start other", "ok", "[1,1,0,1]", "stop other shutdown",
                                "sup exit shutdown"}));
}

// tree: a nested supervisor is an ordinary child: killing it makes its parent restart it, and
// its own children with it (rule 19: its children stop when it gets its parent's EXIT).
Process tree_root(Self self, Probe* probe) {
    self.trap_exit(true);
    std::vector<ChildSpec> inner{ChildSpec::process("leaf", plain_kid)};
    std::vector<ChildSpec> outer{
        supervisor_spec("inner", SupFlags(Strategy::one_for_one, 1, 5), inner),
        kid_spec(probe, "sibling")};
    const Pid top = (co_await start_supervisor(self, SupFlags(Strategy::one_for_all, 1, 5), outer))
                        .pid;
    probe->note("kill inner");
    const bool restarted = co_await crash_and_await_restart(self, top, "inner", true);
    probe->note(restarted ? std::string("inner restarted") : std::string("inner not restarted"));
    const Pid inner_sup = pid_of(co_await which_children(self, top), "inner");
    probe->note(show(co_await which_children(self, inner_sup)));
    self.exit(top, ExitReason::shutdown());
    co_await note_sup_exit(self, probe, top);
}

TEST_P(SupervisorTest, tree) {
    run(tree_root);
    EXPECT_EQ(events(),
              (Events{"start sibling", "kill inner", "stop sibling shutdown", "start sibling",
                      "inner restarted", "[{leaf,pid}]", "stop sibling shutdown",
                      "sup exit shutdown"}));
}

// == DynamicSupervisor (§4, dynamic_supervisor_test.exs) ============================================

/// A child whose start reads the supervisor's extra_arguments (an int) and notes it.
Async<StartResult> start_with_extra(Self self, const Any& extra, Probe* probe) {
    const int* n = const_cast<Any&>(extra).get<int>();
    probe->note("extra " + (n != nullptr ? std::to_string(*n) : std::string("none")));
    co_return StartResult{StartResult::Kind::ok, self.spawn_link(plain_kid), {}};
}

ChildSpec extra_spec(Probe* probe) {
    return ChildSpec("ignored-id", [probe](Self self, const Any& extra) {
        return start_with_extra(self, extra, probe);
    });
}

Process dynamic_root(Self self, Probe* probe) {
    self.trap_exit(true);
    DynSupOptions options;
    options.max_children = 2;
    options.extra_arguments = Any(42);
    const Pid sup = (co_await start_dynamic_supervisor(self, std::move(options))).pid;
    const SupReply a = co_await start_child(self, sup, extra_spec(probe));
    const SupReply b = co_await start_child(self, sup, extra_spec(probe));  // Same id: fine.
    probe->note(a.ok() && b.ok() && a.pid != b.pid ? std::string("two started")
                                                    : a.to_string() + b.to_string());
    probe->note((co_await start_child(self, sup, extra_spec(probe))).to_string());
    probe->note((co_await start_child(self, sup, ChildSpec("x", ignore_start))).to_string());
    probe->note(ok_text(co_await terminate_child(self, sup, a.pid)));
    probe->note(ok_text(co_await terminate_child(self, sup, a.pid)));
    probe->note((co_await start_child(self, sup, ChildSpec("x", ignore_start))).to_string());
    probe->note(show(co_await count_children(self, sup)));
    probe->note(show(co_await which_children(self, sup)));
    ChildSpec sig("s", ignore_start);
    sig.restart(Restart::transient).significant(true);
    probe->note((co_await start_child(self, sup, sig)).to_string());
}

TEST_P(SupervisorTest, dynamic_supervisor_start_child) {
    run(dynamic_root);
    EXPECT_EQ(events(), (Events{"extra 42", "extra 42", "two started", "{error,max_children}",
                                "{error,max_children}", "ok", "{error,not_found}", "ignore",
                                "[1,1,0,1]", "[{undefined,pid}]",
                                "{error,{invalid_significant,true}}"}));
}

// §4.1, §4.4: the default intensity is 3 in 5 s: the 4th crash stops the supervisor.
Process dynamic_intensity_root(Self self, Probe* probe, int crashes) {
    self.trap_exit(true);
    const Pid sup = (co_await start_dynamic_supervisor(self)).pid;
    const SupReply started = co_await start_child(self, sup, ChildSpec::process("w", plain_kid));
    Pid pid = started.pid;
    for (int i = 0; i < crashes; ++i) {
        co_await die_and_wait(self, pid, ExitReason::error("died"));
        if (i + 1 == crashes) {
            break;
        }
        const std::vector<ChildInfo> now = co_await await_children(
            self, sup, [pid](const std::vector<ChildInfo>& cs) {
                return !cs.empty() && cs[0].pid.valid() && cs[0].pid != pid;
            });
        pid = now[0].pid;
    }
    const std::optional<ExitMsg> m = co_await self.receive_for<ExitMsg>(10ms);
    probe->note(m ? "sup exit " + m->reason.to_string() : std::string("sup alive"));
}

TEST_P(SupervisorTest, dynamic_supervisor_default_intensity) {
    run(dynamic_intensity_root, 3);
    EXPECT_EQ(events(), (Events{"sup alive"}));
}

TEST_P(SupervisorTest, dynamic_supervisor_fourth_crash_exceeds) {
    run(dynamic_intensity_root, 4);
    EXPECT_EQ(events(), (Events{"sup exit shutdown"}));
}

// §4.3: a child whose restart keeps failing stays (restarting) and still counts against
// max_children.
Process dynamic_restarting_root(Self self, Probe* probe) {
    self.trap_exit(true);
    // A restart that always fails is retried at once, forever (OTP's hanging restart loop): a
    // huge intensity keeps the supervisor alive while we look; the receive budget lets us in.
    DynSupOptions options(1'000'000, 5);
    options.max_children = 1;
    const Pid sup = (co_await start_dynamic_supervisor(self, std::move(options))).pid;
    int starts = 0;
    ChildSpec failing("f", [&starts](Self s, const Any& extra) {
        return once_then_fail(s, extra, &starts);
    });
    const SupReply first = co_await start_child(self, sup, failing);
    co_await die_and_wait(self, first.pid, ExitReason::error("died"));
    // The retries are instantaneous (a hanging restart loop): look without sleeping between.
    for (;;) {
        const std::vector<ChildInfo> cs = co_await which_children(self, sup);
        if (cs.size() == 1 && cs[0].state == ChildInfo::State::restarting) {
            break;
        }
    }
    probe->note((co_await start_child(self, sup, ChildSpec::process("w", plain_kid))).to_string());
    self.exit(sup, ExitReason::shutdown());
    co_await note_sup_exit(self, probe, sup);
}

TEST_P(SupervisorTest, dynamic_supervisor_restarting_children_count) {
    run(dynamic_restarting_root);
    EXPECT_EQ(events(), (Events{"{error,max_children}", "sup exit shutdown"}));
}

// == Application ======================================================================================

// An application starts its top supervisor and stops the whole tree in order.
Process application_root(Self self, Probe* probe) {
    std::vector<ChildSpec> children = kids(probe, 3);
    const StartResult app = co_await start_application(self, "shop", SupFlags(), children);
    probe->note(app.ok() ? std::string("started") : app.reason.to_string());
    const Pid top = co_await application_top(self, "shop");
    probe->note(show(co_await count_children(self, top)));
    co_await stop_application(self, "shop");
    probe->note(self.whereis("shop") ? std::string("still registered") : std::string("stopped"));
    probe->note(self.is_alive(top) ? std::string("top alive") : std::string("top gone"));
}

TEST_P(SupervisorTest, application_starts_and_stops_in_order) {
    run(application_root);
    EXPECT_EQ(events(), (Events{"start child1", "start child2", "start child3", "started",
                                "[3,3,0,3]", "stop child3 shutdown", "stop child2 shutdown",
                                "stop child1 shutdown", "stopped", "top gone"}));
}

// When the tree gives up (intensity 0: the first crash), the application ends with `shutdown`.
Process application_gives_up_root(Self self, Probe* probe) {
    std::vector<ChildSpec> children{ChildSpec::process("fragile", plain_kid)};
    const StartResult app =
        co_await start_application(self, "app", SupFlags(Strategy::one_for_one, 0, 5), children);
    const MonitorRef ref = self.monitor(app.pid);
    const Pid top = co_await application_top(self, "app");
    co_await die_and_wait(self, pid_of(co_await which_children(self, top), "fragile"),
                          ExitReason::error("died"));
    const DownMsg d = co_await self.receive(
        when([ref](const DownMsg& x) { return x.ref == ref; }, [](DownMsg x) { return x; }));
    probe->note("application " + d.reason.to_string());
}

TEST_P(SupervisorTest, application_ends_when_the_tree_gives_up) {
    run(application_gives_up_root);
    EXPECT_EQ(events(), (Events{"application shutdown"}));
}
}  // namespace
}  // namespace bedlam
