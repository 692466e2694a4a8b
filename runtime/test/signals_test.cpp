// Exit signals, links, monitors, names and receive (otp-semantics §1 and §2). Every test that
// does not need virtual time runs on the simulator (several seeds and policies) and on the
// threaded scheduler (1 and 2 workers). Each test spawns one root process that drives the
// scenario and writes what it observes into a Probe; the test then compares the exact sequence.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/runtime.hpp"
#include "test_support.hpp"

namespace bedlam {
namespace {

using test::Events;
using test::kAllSchedulers;
using test::kSimulators;
using test::make_runtime;
using test::Probe;
using test::Sched;
using test::sched_name;

using namespace std::chrono_literals;

// -- Messages --------------------------------------------------------------------------------------

struct Ready {
    Pid pid;
};
struct Stop {};
struct Die {
    ExitReason reason;
};
struct Ping {
    Pid from;
};
struct Pong {
    Pid from;
};
struct LinkTo {
    Pid pid;
};
struct UnlinkFrom {
    Pid pid;
};
/// An EXIT or DOWN message a puppet received, passed on to its parent.
struct Forwarded {
    Pid by;
    ExitMsg exit;
};
struct ForwardedDown {
    Pid by;
    DownMsg down;
};
struct Num {
    int n;
};
struct Word {
    std::string text;
};
struct Tagged {
    int sender;
    int seq;
};
struct Survived {};

// -- Helper processes and coroutines ---------------------------------------------------------------

/// Sets trap_exit, announces itself to `parent` with Ready, then obeys commands and passes every
/// EXIT and DOWN message it receives on to `parent`.
Process puppet(Self self, Pid parent, bool trap) {
    self.trap_exit(trap);
    self.send(parent, Ready{self.pid()});
    bool running = true;
    while (running) {
        co_await self.receive(
            [&](ExitMsg m) { self.send(parent, Forwarded{self.pid(), std::move(m)}); },
            [&](DownMsg m) { self.send(parent, ForwardedDown{self.pid(), std::move(m)}); },
            [&](Ping p) { self.send(p.from, Pong{self.pid()}); },
            [&](LinkTo l) { self.link(l.pid); },
            [&](UnlinkFrom u) { self.unlink(u.pid); },
            [&](Die d) { self.exit(d.reason); },
            [&](Stop /*unused*/) { running = false; });
    }
}

Process quick(Self /*self*/) { co_return; }

Process exit_with(Self self, ExitReason reason) {
    co_await self.yield();
    self.exit(reason);
}

Async<> wait_ready(Self self, Pid pid) {
    co_await self.receive(when([pid](const Ready& r) { return r.pid == pid; }, [](Ready) {}));
}

Async<DownMsg> wait_down(Self self, MonitorRef ref) {
    co_return co_await self.receive(
        when([ref](const DownMsg& m) { return m.ref == ref; }, [](DownMsg m) { return m; }));
}

Async<ExitMsg> wait_exit(Self self, Pid from) {
    co_return co_await self.receive(
        when([from](const ExitMsg& m) { return m.from == from; }, [](ExitMsg m) { return m; }));
}

/// `receive {'EXIT', From, _} = M -> M after 0 -> none end`.
Async<std::optional<ExitMsg>> poll_exit(Self self, Pid from) {
    co_return co_await self
        .receive(when([from](const ExitMsg& m) { return m.from == from; },
                      [](ExitMsg m) { return std::optional<ExitMsg>(std::move(m)); }))
        .after(0ms, [] { return std::optional<ExitMsg>(); });
}

Async<std::optional<DownMsg>> poll_down(Self self, MonitorRef ref) {
    co_return co_await self
        .receive(when([ref](const DownMsg& m) { return m.ref == ref; },
                      [](DownMsg m) { return std::optional<DownMsg>(std::move(m)); }))
        .after(0ms, [] { return std::optional<DownMsg>(); });
}

/// Takes every message of type T from the mailbox without waiting; returns how many there were.
template <typename T>
Async<int> drain_count(Self self) {
    int n = 0;
    while (co_await self.receive([](T) { return true; }).after(0ms, [] { return false; })) {
        ++n;
    }
    co_return n;
}

/// A round trip to `pid`: returns once it answered, which proves it alive and that it has handled
/// every signal this process sent it before.
Async<> ping(Self self, Pid pid) {
    self.send(pid, Ping{self.pid()});
    co_await self.receive(when([pid](const Pong& p) { return p.from == pid; }, [](Pong) {}));
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

// -- Fixture ---------------------------------------------------------------------------------------



class Signals : public ::testing::TestWithParam<Sched> {
protected:
    void SetUp() override { rt_ = make_runtime(GetParam()); }

    /// Spawns `root(self, &probe_, args...)` without running it.
    template <typename F, typename... Args>
    Pid start(F root, Args... args) {
        return rt_->spawn(root, &probe_, std::move(args)...);
    }
    /// Spawns `root(self, &probe_, args...)` and runs until idle.
    template <typename F, typename... Args>
    void run(F root, Args... args) {
        start(root, std::move(args)...);
        rt_->run_until_idle();
    }
    [[nodiscard]] Events events() const { return probe_.events(); }

    Probe probe_;  // Declared first: outlives the runtime and any frame that points to it.
    std::unique_ptr<Runtime> rt_;
};

INSTANTIATE_TEST_SUITE_P(Schedulers, Signals, ::testing::ValuesIn(kAllSchedulers), sched_name);

// Tests on exact virtual times: the simulator only.
class VirtualTime : public Signals {};

INSTANTIATE_TEST_SUITE_P(Simulator, VirtualTime, ::testing::ValuesIn(kSimulators), sched_name);

// == §1.2, §1.3: receiving exit signals =============================================================

Process kill_trapping_root(Self self, Probe* probe) {
    auto [p, ref] = self.spawn_monitor(puppet, self.pid(), true);
    co_await wait_ready(self, p);
    self.exit(p, ExitReason::kill());
    const DownMsg d = co_await wait_down(self, ref);
    probe->note("down " + d.reason.to_string());
    probe->note("forwarded " + std::to_string(co_await drain_count<Forwarded>(self)));
}

TEST_P(Signals, KillViaExit2KillsTrappingProcessWithKilled) {
    // §1.3: exit/2 with `kill` is untrappable: a trapping target dies with `killed`.
    run(kill_trapping_root);
    EXPECT_EQ(events(), (Events{"down killed", "forwarded 0"}));
}

Process kill_plain_root(Self self, Probe* probe) {
    auto [p, ref] = self.spawn_monitor(puppet, self.pid(), false);
    co_await wait_ready(self, p);
    self.exit(p, ExitReason::kill());
    probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
}

TEST_P(Signals, KillViaExit2KillsNonTrappingProcessWithKilled) {
    // §1.3: exit/2 with `kill` makes a non-trapping target die with `killed`, not `kill`.
    run(kill_plain_root);
    EXPECT_EQ(events(), (Events{"down killed"}));
}

Process hold_trapping_puppet(Self self, Probe* probe) {
    auto [p, ref] = self.spawn_monitor(puppet, self.pid(), true);
    co_await wait_ready(self, p);
    probe->set_pid(p);
    probe->note("ready");
    // A `normal` exit signal from outside arrives as a message (sender Pid{}).
    Forwarded f = co_await self.receive<Forwarded>();
    probe->note("exit from " + std::to_string(f.exit.from.id) + " " + f.exit.reason.to_string());
    probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
}

TEST_P(Signals, ExitSignalsFromOutsideFollowTheSameRules) {
    // §1.3: exit/2 from outside any process: `normal` is trapped, `kill` still gives `killed`.
    run(hold_trapping_puppet);
    ASSERT_EQ(events(), (Events{"ready"}));
    rt_->exit(probe_.pid(), ExitReason::normal());
    rt_->run_until_idle();
    ASSERT_EQ(events(), (Events{"ready", "exit from 0 normal"}));
    rt_->exit(probe_.pid(), ExitReason::kill());
    rt_->run_until_idle();
    EXPECT_EQ(events(), (Events{"ready", "exit from 0 normal", "down killed"}));
    EXPECT_FALSE(rt_->is_alive(probe_.pid()));
}

Process killed_propagates_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid p = self.spawn_link(puppet, self.pid(), true);
    co_await wait_ready(self, p);
    self.exit(p, ExitReason::kill());
    const ExitMsg m = co_await wait_exit(self, p);
    probe->note("exit " + m.reason.to_string());
}

TEST_P(Signals, ProcessKilledByExit2SendsKilledToItsLinks) {
    // §1.3, §1.5: a process killed by exit/2 dies with `killed`, and its link signal carries it.
    run(killed_propagates_root);
    EXPECT_EQ(events(), (Events{"exit killed"}));
}

Process link_kill_trapped_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid p = self.spawn_link(puppet, self.pid(), false);
    co_await wait_ready(self, p);
    self.send(p, Die{ExitReason::kill()});
    const ExitMsg m = co_await wait_exit(self, p);
    probe->note("exit " + m.reason.to_string());
    co_await ping(self, self.spawn(puppet, self.pid(), false));  // Still running afterwards.
    probe->note("alive");
}

TEST_P(Signals, LinkSentKillIsTrappableAndArrivesAsKill) {
    // §1.3: a link-sent kill stays trappable and arrives as {'EXIT', P, kill}.
    run(link_kill_trapped_root);
    EXPECT_EQ(events(), (Events{"exit kill", "alive"}));
}

Process link_kill_middle(Self self) {
    const Pid k = self.spawn_link(puppet, self.pid(), false);
    co_await wait_ready(self, k);
    self.send(k, Die{ExitReason::kill()});
    co_await self.receive<Stop>();
}

Process link_kill_plain_root(Self self, Probe* probe) {
    auto [m, ref] = self.spawn_monitor(link_kill_middle);
    probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
    static_cast<void>(m);
}

TEST_P(Signals, LinkSentKillKillsNonTrappingPeerWithKill) {
    // §1.3: a link-sent kill kills a non-trapping linked process with reason `kill`, not `killed`.
    run(link_kill_plain_root);
    EXPECT_EQ(events(), (Events{"down kill"}));
}

Process exit2_normal_plain_root(Self self, Probe* probe) {
    auto [p, ref] = self.spawn_monitor(puppet, self.pid(), false);
    co_await wait_ready(self, p);
    self.exit(p, ExitReason::normal());
    co_await ping(self, p);  // Handled after the exit signal (same sender): p survived it.
    probe->note("pong");
    self.send(p, Stop{});
    probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
}

TEST_P(Signals, NormalExitSignalIsDroppedByNonTrappingReceiver) {
    // §1.3: exit(P, normal) from another process is dropped when P does not trap exits.
    run(exit2_normal_plain_root);
    EXPECT_EQ(events(), (Events{"pong", "down normal"}));
}

Process exit2_normal_trapping_root(Self self, Probe* probe) {
    auto [p, ref] = self.spawn_monitor(puppet, self.pid(), true);
    co_await wait_ready(self, p);
    self.exit(p, ExitReason::normal());
    const Forwarded f = co_await self.receive<Forwarded>();
    probe->note("exit from root " + yes_no(f.exit.from == self.pid()) + " " +
                f.exit.reason.to_string());
    self.send(p, Stop{});
    probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
}

TEST_P(Signals, NormalExitSignalIsDeliveredAsMessageWhenTrapping) {
    // §1.3: a trapping receiver gets exit(P, normal) as {'EXIT', From, normal} and lives on.
    run(exit2_normal_trapping_root);
    EXPECT_EQ(events(), (Events{"exit from root yes normal", "down normal"}));
}

Process normal_link_root(Self self, Probe* probe) {
    // Non-trapping: the child's normal exit through the link must be dropped.
    const Pid c = self.spawn_link(quick);
    const MonitorRef ref = self.monitor(c);  // DOWN (normal or noproc) follows the link signal.
    static_cast<void>(co_await wait_down(self, ref));
    probe->note("survived plain");
    self.trap_exit(true);
    const Pid t = self.spawn_link(quick);
    const ExitMsg m = co_await wait_exit(self, t);
    probe->note("exit " + m.reason.to_string());
}

TEST_P(Signals, NormalLinkExitIsDroppedUnlessTrapping) {
    // §1.3: a linked process's `normal` exit is dropped by a non-trapping peer, and is an
    // {'EXIT', P, normal} message for a trapping one.
    run(normal_link_root);
    EXPECT_EQ(events(), (Events{"survived plain", "exit normal"}));
}

Process exit2_reason_root(Self self, Probe* probe) {
    auto [plain, plain_ref] = self.spawn_monitor(puppet, self.pid(), false);
    co_await wait_ready(self, plain);
    self.exit(plain, ExitReason::error("badarith"));
    probe->note("plain down " + (co_await wait_down(self, plain_ref)).reason.to_string());

    auto [trap, trap_ref] = self.spawn_monitor(puppet, self.pid(), true);
    co_await wait_ready(self, trap);
    self.exit(trap, ExitReason::error("badarith"));
    const Forwarded f = co_await self.receive<Forwarded>();
    probe->note("trapped " + f.exit.reason.to_string());
    co_await ping(self, trap);
    probe->note("trapper alive");
    self.send(trap, Stop{});
    probe->note("trap down " + (co_await wait_down(self, trap_ref)).reason.to_string());
}

TEST_P(Signals, NonNormalExitSignalKillsNonTrappingAndIsMessageForTrapping) {
    // §1.3: exit(P, R), R not normal/kill: a non-trapping P dies with R; a trapping P gets a
    // message.
    run(exit2_reason_root);
    EXPECT_EQ(events(), (Events{"plain down badarith", "trapped badarith", "trapper alive",
                                "trap down normal"}));
}

Process reason_middle(Self self, ExitReason reason) {
    const Pid c = self.spawn_link(exit_with, std::move(reason));
    const MonitorRef ref = self.monitor(c);  // Its DOWN follows the link signal from c.
    static_cast<void>(co_await wait_down(self, ref));
    co_return;  // Survived the link signal: exit normal.
}

Process only_normal_root(Self self, Probe* probe) {
    const ExitReason reasons[] = {ExitReason::normal(), ExitReason::shutdown(),
                                  ExitReason::shutdown("moved"), ExitReason::killed(),
                                  ExitReason::error("normal ")};
    for (const ExitReason& r : reasons) {
        auto [m, ref] = self.spawn_monitor(reason_middle, r);
        probe->note((co_await wait_down(self, ref)).reason.to_string());
        static_cast<void>(m);
    }
}

TEST_P(Signals, OnlyNormalIsNormal) {
    // §1.2: only `normal` is dropped by a non-trapping linked process; `shutdown`,
    // `{shutdown,_}`, `killed` and any other term kill it with that reason.
    run(only_normal_root);
    EXPECT_EQ(events(),
              (Events{"normal", "shutdown", "{shutdown,moved}", "killed", "normal "}));
    EXPECT_TRUE(ExitReason::normal().is_normal());
    EXPECT_FALSE(ExitReason::shutdown().is_normal());
    EXPECT_TRUE(ExitReason::shutdown().is_clean());
    EXPECT_TRUE(ExitReason::shutdown("x").is_clean());
    EXPECT_FALSE(ExitReason::killed().is_clean());
    EXPECT_FALSE(ExitReason::error("normal").is_normal());
}

// == §1.4: exit(self(), R) =========================================================================

Process exit_self_then_note(Self self, Probe* probe, ExitReason reason) {
    self.exit(self.pid(), reason);
    co_await self.yield();
    probe->note("still running after exit(self, " + reason.to_string() + ")");
}

Process exit_self_root(Self self, Probe* probe) {
    const ExitReason reasons[] = {ExitReason::normal(), ExitReason::shutdown(),
                                  ExitReason::error("oops"), ExitReason::kill()};
    for (const ExitReason& r : reasons) {
        auto [p, ref] = self.spawn_monitor(exit_self_then_note, probe, r);
        probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
        static_cast<void>(p);
    }
}

TEST_P(Signals, ExitSelfTerminatesNonTrappingProcess) {
    // §1.3, §1.4: exit(self(), R) terminates a non-trapping process with R, `normal` included;
    // `kill` gives `killed`.
    run(exit_self_root);
    EXPECT_EQ(events(), (Events{"down normal", "down shutdown", "down oops", "down killed"}));
}

Process exit_self_trapping(Self self, Probe* probe, ExitReason reason) {
    self.trap_exit(true);
    self.exit(self.pid(), reason);
    const ExitMsg m = co_await self.receive<ExitMsg>();
    probe->note(std::string(m.from == self.pid() ? "from self " : "from other ") +
                m.reason.to_string());
}

Process exit_self_trapping_root(Self self, Probe* probe) {
    const ExitReason reasons[] = {ExitReason::normal(), ExitReason::shutdown("t"),
                                  ExitReason::error("oops"), ExitReason::kill()};
    for (const ExitReason& r : reasons) {
        auto [p, ref] = self.spawn_monitor(exit_self_trapping, probe, r);
        probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
        static_cast<void>(p);
    }
}

TEST_P(Signals, ExitSelfBecomesMessageWhenTrapping) {
    // §1.4: a trapping process gets exit(self(), R) as {'EXIT', Self, R} for R other than kill;
    // exit(self(), kill) still kills it with `killed`.
    run(exit_self_trapping_root);
    EXPECT_EQ(events(), (Events{"from self normal", "down normal", "from self {shutdown,t}",
                                "down normal", "from self oops", "down normal", "down killed"}));
}

// == §1.5: links ==================================================================================

Process link_then_exit(Self self, Pid peer, ExitReason reason) {
    self.link(peer);
    self.exit(reason);
    co_return;
}

Process bidirectional_root(Self self, Probe* probe) {
    // The linker dies: the linked (trapping) puppet sees it.
    const Pid p = self.spawn(puppet, self.pid(), true);
    co_await wait_ready(self, p);
    const Pid linker = self.spawn(link_then_exit, p, ExitReason::error("bye"));
    const Forwarded f = co_await self.receive<Forwarded>();
    probe->note("puppet got exit from linker " + yes_no(f.exit.from == linker) + " " +
                f.exit.reason.to_string());
    // The linked process dies: the (trapping) linker sees it.
    self.trap_exit(true);
    const Pid q = self.spawn(puppet, self.pid(), false);
    co_await wait_ready(self, q);
    self.link(q);
    self.send(q, Die{ExitReason::error("q died")});
    probe->note("root got " + (co_await wait_exit(self, q)).reason.to_string());
}

TEST_P(Signals, LinksAreBidirectionalAndCarryTheReason) {
    // §1.5: a link works both ways and its exit signal carries the dead process's reason.
    run(bidirectional_root);
    EXPECT_EQ(events(), (Events{"puppet got exit from linker yes bye", "root got q died"}));
}

Process repeated_link_root(Self self, Probe* probe) {
    self.trap_exit(true);
    self.link(self.pid());  // Does nothing.
    self.unlink(self.pid());
    const Pid p = self.spawn(puppet, self.pid(), false);
    co_await wait_ready(self, p);
    const MonitorRef ref = self.monitor(p);
    self.link(p);
    self.link(p);
    self.send(p, LinkTo{self.pid()});  // The other direction: still the same single link.
    co_await ping(self, p);            // p has handled both link requests.
    self.link(p);
    self.send(p, Die{ExitReason::error("once")});
    static_cast<void>(co_await wait_down(self, ref));  // Every EXIT from p precedes its DOWN.
    int exits_from_p = 0;
    int other = 0;
    while (co_await self
               .receive([&](ExitMsg m) {
                   ++(m.from == p ? exits_from_p : other);
                   return true;
               })
               .after(0ms, [] { return false; })) {
    }
    probe->note("exits from p " + std::to_string(exits_from_p) + ", others " +
                std::to_string(other));
}

TEST_P(Signals, RepeatedLinkAndLinkToSelfDoNothing) {
    // §1.5: at most one link per pair; repeated link (either side) and link to self add nothing.
    run(repeated_link_root);
    EXPECT_EQ(events(), (Events{"exits from p 1, others 0"}));
}

Process self_link_exit(Self self, Probe* probe) {
    self.link(self.pid());
    probe->note("self link returned");
    self.exit(ExitReason::shutdown());
    co_return;
}

Process self_link_root(Self self, Probe* probe) {
    auto [p, ref] = self.spawn_monitor(self_link_exit, probe);
    probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
    static_cast<void>(p);
}

TEST_P(Signals, LinkToSelfIsIgnored) {
    // §1.5: link(self()) does nothing: no error, and the process exits with its own reason.
    run(self_link_root);
    EXPECT_EQ(events(), (Events{"self link returned", "down shutdown"}));
}

// == §1.6: link to a dead process ===================================================================

Process link_uncaught(Self self, Pid dead) {
    self.link(dead);
    co_await self.receive<Stop>();
}

Process link_caught(Self self, Probe* probe, Pid dead) {
    try {
        self.link(dead);
        probe->note("link returned");
    } catch (const NoProcError& e) {
        probe->note(std::string("caught ") + e.what());
    }
    // Not an exit signal: nothing arrives later either (we do not trap, so it would kill us).
    co_await self.sleep(1ms);
    probe->note("caught and alive");
}

Process link_trapping(Self self, Probe* probe, Pid dead) {
    self.trap_exit(true);
    self.link(dead);
    probe->note("link returned");
    const ExitMsg m = co_await self.receive<ExitMsg>();
    probe->note(std::string(m.from == dead ? "exit from target " : "exit from other ") +
                m.reason.to_string());
}

Process link_dead_root(Self self, Probe* probe) {
    auto [dead, dref] = self.spawn_monitor(quick);
    static_cast<void>(co_await wait_down(self, dref));
    {
        auto [p, ref] = self.spawn_monitor(link_uncaught, dead);
        probe->note("uncaught down " + (co_await wait_down(self, ref)).reason.to_string());
        static_cast<void>(p);
    }
    {
        auto [p, ref] = self.spawn_monitor(link_caught, probe, dead);
        probe->note("caught down " + (co_await wait_down(self, ref)).reason.to_string());
        static_cast<void>(p);
    }
    {
        auto [p, ref] = self.spawn_monitor(link_trapping, probe, dead);
        probe->note("trapping down " + (co_await wait_down(self, ref)).reason.to_string());
        static_cast<void>(p);
    }
    {
        // A pid that never existed behaves the same.
        auto [p, ref] = self.spawn_monitor(link_trapping, probe, Pid{1ULL << 40U});
        probe->note("never down " + (co_await wait_down(self, ref)).reason.to_string());
        static_cast<void>(p);
    }
}

TEST_P(Signals, LinkToDeadProcess) {
    // §1.6: link to a dead process raises noproc (an error exception, reason `noproc` if
    // uncaught) when not trapping, and gives {'EXIT', P, noproc} when trapping.
    run(link_dead_root);
    EXPECT_EQ(events(),
              (Events{"uncaught down noproc", "caught noproc", "caught and alive",
                      "caught down normal", "link returned", "exit from target noproc",
                      "trapping down normal", "link returned", "exit from target noproc",
                      "never down normal"}));
}

// == §1.7: unlink ===================================================================================

Process unlink_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid p = self.spawn(puppet, self.pid(), false);
    co_await wait_ready(self, p);
    const MonitorRef ref = self.monitor(p);
    self.unlink(p);  // No link yet: a no-op.
    self.link(p);
    self.unlink(p);
    self.unlink(p);
    self.send(p, Die{ExitReason::error("boom")});
    probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
    probe->note(std::string("exit after unlink ") +
                yes_no((co_await poll_exit(self, p)).has_value()));

    // The other side unlinks: its death reaches us no more either.
    const Pid q = self.spawn(puppet, self.pid(), false);
    co_await wait_ready(self, q);
    const MonitorRef qref = self.monitor(q);
    self.link(q);
    self.send(q, UnlinkFrom{self.pid()});
    self.send(q, Die{ExitReason::error("boom")});
    probe->note("q down " + (co_await wait_down(self, qref)).reason.to_string());
    probe->note(std::string("exit after peer unlink ") +
                yes_no((co_await poll_exit(self, q)).has_value()));
}

TEST_P(Signals, UnlinkStopsPeerDeathFromArriving) {
    // §1.3, §1.7: after unlink (on either side) the link has no effect: the peer's death sends
    // no EXIT; unlink without a link is a no-op.
    run(unlink_root);
    EXPECT_EQ(events(), (Events{"down boom", "exit after unlink no", "q down boom",
                                "exit after peer unlink no"}));
}

/// A puppet linked to and monitored by the caller, crashed; returns once its DOWN is taken.
/// bedlam sends link signals before DOWNs, so by then its EXIT is queued.
Async<Pid> linked_puppet_crashed(Self self) {
    const Pid p = self.spawn(puppet, self.pid(), false);
    co_await wait_ready(self, p);
    const MonitorRef ref = self.monitor(p);
    self.link(p);
    self.send(p, Die{ExitReason::error("crash")});
    static_cast<void>(co_await wait_down(self, ref));
    co_return p;
}

Process unlink_flush_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid p = co_await linked_puppet_crashed(self);
    self.unlink(p);
    const std::optional<ExitMsg> first = co_await poll_exit(self, p);
    probe->note("flushed " + (first ? first->reason.to_string() : std::string("nothing")));
    probe->note("again " + yes_no((co_await poll_exit(self, p)).has_value()));
}

TEST_P(Signals, UnlinkThenFlushRemovesAQueuedExit) {
    // §1.7: an EXIT may already be queued when unlink returns; unlink + `after 0` flush takes it.
    run(unlink_flush_root);
    EXPECT_EQ(events(), (Events{"flushed crash", "again no"}));
}

Process self_unlink_flush_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid p = co_await linked_puppet_crashed(self);
    self.unlink_flush(p);  // The EXIT came in before the DOWN: it goes without a receive.
    probe->note("exit left " + yes_no((co_await poll_exit(self, p)).has_value()));
    self.unlink_flush(p);  // No link, no EXIT: nothing happens.
    self.send(self.pid(), Die{ExitReason::normal()});
    probe->note("other mail kept " +
                yes_no((co_await self.receive_for<Die>(Duration::zero())).has_value()));
}

TEST_P(Signals, SelfUnlinkFlushDropsTheExitThatCameBeforeTheDown) {
    // §1.7, §3.7: Self::unlink_flush, a supervisor's unlink_flush after a child's DOWN: the EXIT
    // the child sent before its DOWN is gone from the mailbox, and nothing else is.
    run(self_unlink_flush_root);
    EXPECT_EQ(events(), (Events{"exit left no", "other mail kept yes"}));
}

Process unlink_race_root(Self self, Probe* probe, int rounds) {
    self.trap_exit(true);
    int flushed = 0;
    int late = 0;
    for (int i = 0; i < rounds; ++i) {
        const Pid p = self.spawn(puppet, self.pid(), false);
        co_await wait_ready(self, p);
        const MonitorRef ref = self.monitor(p);
        self.link(p);
        self.send(p, Die{ExitReason::error("crash")});
        if (i % 2 == 1) {
            co_await self.yield();  // Let the puppet get further before the unlink.
        }
        // unlink_flush: whatever the race, no EXIT from p may remain or arrive afterwards.
        self.unlink(p);
        if ((co_await poll_exit(self, p)).has_value()) {
            ++flushed;
        }
        static_cast<void>(co_await wait_down(self, ref));
        if ((co_await poll_exit(self, p)).has_value()) {
            ++late;
        }
    }
    probe->note("late " + std::to_string(late));
    static_cast<void>(flushed);
}

TEST_P(Signals, UnlinkFlushLeavesNoExitWhateverTheRace) {
    // §1.7: `unlink(P), receive {'EXIT',P,_} -> ok after 0 -> ok end` guarantees that no EXIT
    // from P is seen afterwards, however the peer's death races with the unlink.
    run(unlink_race_root, 40);
    EXPECT_EQ(events(), (Events{"late 0"}));
}

Process unlink_pending_root(Self self, Probe* probe) {
    self.trap_exit(true);
    auto [dead, dref] = self.spawn_monitor(quick);
    static_cast<void>(co_await wait_down(self, dref));
    // The noproc EXIT is on its way when unlink returns; it must then have no effect.
    self.link(dead);
    self.unlink(dead);
    probe->note("exit after unlink " + yes_no((co_await poll_exit(self, dead)).has_value()));
    self.link(dead);  // Without the unlink it does arrive.
    probe->note("exit without unlink " + yes_no((co_await poll_exit(self, dead)).has_value()));
}

TEST_P(Signals, UnlinkDropsAnExitStillInFlight) {
    // §1.3, §1.7: an exit signal that arrives through a link no longer active is dropped.
    run(unlink_pending_root);
    EXPECT_EQ(events(), (Events{"exit after unlink no", "exit without unlink yes"}));
}

// == §1.8: names are released before link and DOWN signals ==========================================

Process name_release_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid p = self.spawn_link(puppet, self.pid(), false);
    const MonitorRef ref = self.monitor(p);
    co_await wait_ready(self, p);
    probe->note("register " + yes_no(self.register_name("svc", p)));
    probe->note("whereis is p " + yes_no(self.whereis("svc") == p));
    self.send(p, Die{ExitReason::error("crash")});
    bool exit_seen = false;
    bool down_seen = false;
    while (!exit_seen || !down_seen) {
        co_await self.receive(
            when([p](const ExitMsg& m) { return m.from == p; },
                 [&](ExitMsg m) {
                     exit_seen = true;
                     probe->note("in EXIT " + m.reason.to_string() + ", name free " +
                                 yes_no(!self.whereis("svc").has_value()));
                 }),
            when([ref](const DownMsg& m) { return m.ref == ref; },
                 [&](DownMsg m) {
                     down_seen = true;
                     probe->note("in DOWN " + m.reason.to_string() + ", name free " +
                                 yes_no(!self.whereis("svc").has_value()));
                 }));
    }
    probe->note("reuse " + yes_no(self.register_name("svc", self.pid())));
}

TEST_P(Signals, RegisteredNameIsFreedBeforeExitAndDown) {
    // §1.8: when the EXIT or DOWN of a dead process is handled, its name is already free.
    run(name_release_root);
    EXPECT_EQ(events(), (Events{"register yes", "whereis is p yes", "in EXIT crash, name free yes",
                                "in DOWN crash, name free yes", "reuse yes"}));
    EXPECT_FALSE(rt_->whereis("svc").has_value());  // The root ended too.
}

Process self_registering(Self self, Pid parent) {
    const bool ok = self.register_name("worker", self.pid());
    self.send(parent, Ready{ok ? self.pid() : Pid{}});
    co_await self.receive<Stop>();
}

Process names_root(Self self, Probe* probe) {
    auto [w, ref] = self.spawn_monitor(self_registering, self.pid());
    co_await wait_ready(self, w);
    probe->note("whereis " + yes_no(self.whereis("worker") == w));
    probe->note("taken " + yes_no(!self.register_name("worker", self.pid())));
    probe->note("second name " + yes_no(!self.register_name("other", w)));
    probe->note("empty " + yes_no(!self.register_name("", self.pid())));
    try {
        self.send("nobody", Stop{});
        probe->note("send to unknown name returned");
    } catch (const std::invalid_argument&) {
        probe->note("badarg");
    }
    self.send("worker", Stop{});
    probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
    probe->note("freed " + yes_no(!self.whereis("worker").has_value()));
    probe->note("dead " + yes_no(!self.register_name("ghost", w)));
    probe->note("mine " + yes_no(self.register_name("worker", self.pid())));
    probe->note("unregister " + yes_no(self.unregister_name("worker")));
    probe->note("unregister again " + yes_no(!self.unregister_name("worker")));
}

TEST_P(Signals, RegisteredNames) {
    // §1.8: a registered name maps to one live process and is freed when it exits.
    run(names_root);
    EXPECT_EQ(events(), (Events{"whereis yes", "taken yes", "second name yes", "empty yes", "badarg",
                                "down normal", "freed yes", "dead yes", "mine yes",
                                "unregister yes", "unregister again yes"}));
}

/// Busy-waits (up to 2 s of real time) until `flag` is set; false on time-out.
bool spin_until(const std::atomic<bool>& flag) {
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (!flag.load(std::memory_order_acquire)) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
    }
    return true;
}

/// A message whose payload, when destroyed, raises `inside` and then holds its thread until
/// `release` is set. Queued behind a fatal exit signal, it is destroyed by the receiver while it
/// terminates: between handling the signals left in its inbox and closing the inbox.
class Tripwire {
public:
    Tripwire(std::atomic<bool>* inside, const std::atomic<bool>* release)
        : inside_(inside), release_(release) {}
    Tripwire(Tripwire&& other) noexcept
        : inside_(std::exchange(other.inside_, nullptr)), release_(other.release_) {}
    Tripwire(const Tripwire&) = delete;
    Tripwire& operator=(const Tripwire&) = delete;
    Tripwire& operator=(Tripwire&&) = delete;
    ~Tripwire() {
        if (inside_ != nullptr) {
            inside_->store(true, std::memory_order_release);
            static_cast<void>(spin_until(*release_));
        }
    }

private:
    std::atomic<bool>* inside_;
    const std::atomic<bool>* release_;
};

Process spin_then_yield(Self self, std::atomic<bool>* running, const std::atomic<bool>* go) {
    running->store(true, std::memory_order_release);
    static_cast<void>(spin_until(*go));
    co_await self.yield();  // The next step takes the kill and the Tripwire in one batch.
    co_await self.receive<Stop>();
}

Process name_window_root(Self self, Probe* probe) {
    std::atomic<bool> running{false};
    std::atomic<bool> go{false};
    std::atomic<bool> inside{false};
    std::atomic<bool> registered{false};
    const Pid p = self.spawn(spin_then_yield, &running, &go);
    const MonitorRef ref = self.monitor(p);
    // Only once p runs: a step that finds the kill alone ends p before the Tripwire is sent.
    probe->note("running " + yes_no(spin_until(running)));
    self.exit(p, ExitReason::kill());
    self.send(p, Tripwire(&inside, &registered));
    go.store(true, std::memory_order_release);
    probe->note("inside " + yes_no(spin_until(inside)));
    probe->note("registered " + yes_no(self.register_name("late", p)));
    registered.store(true, std::memory_order_release);
    probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
    probe->note("name free " + yes_no(!self.whereis("late").has_value()));
}

TEST(ThreadedNames, NameRegisteredWhileOwnerTerminatesIsReleased) {
    // §1.8: a name registered on another thread while its process is terminating (inbox not yet
    // closed) is released before the DOWN. Regression: the name used to be released before the
    // inbox closed, so such a registration outlived the process.
    Probe probe;
    ThreadScheduler rt(ThreadConfig{.workers = 2});  // The root spins while the target exits.
    rt.spawn(name_window_root, &probe);
    rt.run_until_idle();
    EXPECT_EQ(probe.events(),
              (Events{"running yes", "inside yes", "registered yes", "down killed",
                      "name free yes"}));
}

// == §2: monitors ===================================================================================

Process monitor_dead_root(Self self, Probe* probe) {
    auto [dead, dref] = self.spawn_monitor(quick);
    static_cast<void>(co_await wait_down(self, dref));
    const MonitorRef ref = self.monitor(dead);
    const DownMsg d = co_await self.receive<DownMsg>();
    probe->note("ref " + yes_no(d.ref == ref) + " pid " + yes_no(d.pid == dead) + " " +
                d.reason.to_string());
    const MonitorRef never = self.monitor(Pid{1ULL << 40U});
    const DownMsg n = co_await self.receive<DownMsg>();
    probe->note("never " + yes_no(n.ref == never) + " " + n.reason.to_string());
    probe->note("more " + std::to_string(co_await drain_count<DownMsg>(self)));
}

TEST_P(Signals, MonitorOfDeadProcessGivesNoprocDown) {
    // §2.1: monitoring a process that does not exist gives one DOWN with `noproc` at once.
    run(monitor_dead_root);
    EXPECT_EQ(events(), (Events{"ref yes pid yes noproc", "never yes noproc", "more 0"}));
}

Process monitor_once_root(Self self, Probe* probe) {
    auto [p, ref] = self.spawn_monitor(puppet, self.pid(), false);
    co_await wait_ready(self, p);
    self.send(p, Die{ExitReason::shutdown("done")});
    const DownMsg d = co_await self.receive<DownMsg>();
    probe->note("ref " + yes_no(d.ref == ref) + " pid " + yes_no(d.pid == p) + " " +
                d.reason.to_string());
    // A second round trip with someone else, then look again: nothing more from p.
    co_await ping(self, self.spawn(puppet, self.pid(), false));
    probe->note("more " + std::to_string(co_await drain_count<DownMsg>(self)));
}

TEST_P(Signals, MonitorFiresOnceWithRefPidAndReason) {
    // §2.1: a monitor fires once: {'DOWN', Ref, process, Pid, Reason}.
    run(monitor_once_root);
    EXPECT_EQ(events(), (Events{"ref yes pid yes {shutdown,done}", "more 0"}));
}

Process two_monitors_root(Self self, Probe* probe) {
    const Pid p = self.spawn(puppet, self.pid(), false);
    co_await wait_ready(self, p);
    const MonitorRef r1 = self.monitor(p);
    const MonitorRef r2 = self.monitor(p);
    probe->note("distinct " + yes_no(r1 != r2));
    self.send(p, Die{ExitReason::error("x")});
    const DownMsg d2 = co_await wait_down(self, r2);
    const DownMsg d1 = co_await wait_down(self, r1);
    probe->note(d1.reason.to_string() + " " + d2.reason.to_string());
    probe->note("more " + std::to_string(co_await drain_count<DownMsg>(self)));
}

TEST_P(Signals, TwoMonitorsGiveTwoDowns) {
    // §2.2: each monitor call is an independent monitor with its own DOWN.
    run(two_monitors_root);
    EXPECT_EQ(events(), (Events{"distinct yes", "x x", "more 0"}));
}

Process monitor_then_die(Self self, Pid target) {
    self.monitor(target);
    self.exit(ExitReason::error("watcher died"));
    co_return;
}

Process one_way_root(Self self, Probe* probe) {
    const Pid t = self.spawn(puppet, self.pid(), false);
    co_await wait_ready(self, t);
    auto [w, wref] = self.spawn_monitor(monitor_then_die, t);
    probe->note("watcher " + (co_await wait_down(self, wref)).reason.to_string());
    co_await ping(self, t);  // t handled the monitor and demonitor signals: still alive.
    probe->note("target alive");
    self.send(t, Stop{});
    static_cast<void>(w);
    // The target reported no DOWN or EXIT message (it forwards any it gets, before its Pong).
    probe->note("forwarded " + std::to_string(co_await drain_count<ForwardedDown>(self) +
                                              co_await drain_count<Forwarded>(self)));
}

TEST_P(Signals, MonitorsAreOneWay) {
    // §2.2: a monitor is one-way: the watcher's death does nothing to the target.
    run(one_way_root);
    EXPECT_EQ(events(), (Events{"watcher watcher died", "target alive", "forwarded 0"}));
}

Process demonitor_root(Self self, Probe* probe) {
    const Pid p = self.spawn(puppet, self.pid(), false);
    co_await wait_ready(self, p);
    const MonitorRef r1 = self.monitor(p);
    const MonitorRef r2 = self.monitor(p);
    probe->note("demonitor " + yes_no(self.demonitor(r1)));
    probe->note("demonitor again info " + yes_no(self.demonitor(r1, {.info = true})));
    self.send(p, Die{ExitReason::error("x")});
    static_cast<void>(co_await wait_down(self, r2));  // A DOWN for r1 would have preceded it.
    probe->note("down for r1 " + yes_no((co_await poll_down(self, r1)).has_value()));
}

TEST_P(Signals, DemonitorPreventsDown) {
    // §2.3: after demonitor(Ref) returns, no DOWN for Ref is queued.
    run(demonitor_root);
    EXPECT_EQ(events(), (Events{"demonitor yes", "demonitor again info no", "down for r1 no"}));
}

// Kills a fresh puppet watched by two monitors, taken in order; returns them once the DOWN for
// the second is received, so that the DOWN for the first (sent before it) is in the mailbox.
struct TwoRefs {
    MonitorRef first;
    MonitorRef second;
};
Async<TwoRefs> dead_with_queued_down(Self self) {
    const Pid p = self.spawn(puppet, self.pid(), false);
    co_await wait_ready(self, p);
    const TwoRefs refs{self.monitor(p), self.monitor(p)};
    self.send(p, Die{ExitReason::error("gone")});
    static_cast<void>(co_await wait_down(self, refs.second));
    co_return refs;
}

Process demonitor_flush_info_root(Self self, Probe* probe) {
    {
        const TwoRefs refs = co_await dead_with_queued_down(self);
        probe->note("flush " + yes_no(self.demonitor(refs.first, {.flush = true})));
        probe->note("left " + yes_no((co_await poll_down(self, refs.first)).has_value()));
    }
    {
        const TwoRefs refs = co_await dead_with_queued_down(self);
        probe->note("info " + yes_no(self.demonitor(refs.first, {.info = true})));
        const std::optional<DownMsg> d = co_await poll_down(self, refs.first);
        probe->note("left " + (d ? d->reason.to_string() : std::string("none")));
    }
    {
        const TwoRefs refs = co_await dead_with_queued_down(self);
        probe->note("flush info " +
                    yes_no(self.demonitor(refs.first, {.flush = true, .info = true})));
        probe->note("left " + yes_no((co_await poll_down(self, refs.first)).has_value()));
    }
    {
        const Pid p = self.spawn(puppet, self.pid(), false);
        co_await wait_ready(self, p);
        const MonitorRef ref = self.monitor(p);
        probe->note("active flush info " +
                    yes_no(self.demonitor(ref, {.flush = true, .info = true})));
        self.send(p, Stop{});
    }
}

TEST_P(Signals, DemonitorFlushAndInfo) {
    // §2.3: `flush` removes a queued DOWN; `info` returns false if the monitor was already gone;
    // with both, false means a DOWN had to be flushed.
    run(demonitor_flush_info_root);
    EXPECT_EQ(events(), (Events{"flush yes", "left no", "info no", "left gone", "flush info no",
                                "left no", "active flush info yes"}));
}

Process demonitor_pending_root(Self self, Probe* probe) {
    auto [dead, dref] = self.spawn_monitor(quick);
    static_cast<void>(co_await wait_down(self, dref));
    // The noproc DOWN is on its way when demonitor runs. Whatever `info` answers, it must be
    // consistent: true means no DOWN will ever be seen, false that one is queued (§2.3).
    const MonitorRef r1 = self.monitor(dead);
    const bool active = self.demonitor(r1, {.info = true});
    const bool queued = (co_await poll_down(self, r1)).has_value();
    probe->note("consistent " + yes_no(active != queued));
    const MonitorRef r2 = self.monitor(dead);
    static_cast<void>(self.demonitor(r2, {.flush = true, .info = true}));
    probe->note("after flush " + yes_no((co_await poll_down(self, r2)).has_value()));
    const MonitorRef r3 = self.monitor(dead);  // Without demonitor it does arrive.
    probe->note("without demonitor " + yes_no((co_await poll_down(self, r3)).has_value()));
}

TEST_P(Signals, DemonitorWhileDownIsInFlight) {
    // §2.3: after demonitor returns no new DOWN is queued; `info` tells whether one may be.
    run(demonitor_pending_root);
    EXPECT_EQ(events(),
              (Events{"consistent yes", "after flush no", "without demonitor yes"}));
}

// == §1.1: ordering =================================================================================

Process sequence_sender(Self self, Pid to, int id, int count) {
    for (int i = 0; i < count; ++i) {
        self.send(to, Tagged{id, i});
        if (i % 16 == 15) {
            co_await self.yield();
        }
    }
}

Process fifo_root(Self self, Probe* probe, int senders, int count) {
    for (int s = 0; s < senders; ++s) {
        self.spawn(sequence_sender, self.pid(), s, count);
    }
    std::vector<int> next(static_cast<std::size_t>(senders), 0);
    int out_of_order = 0;
    for (int i = 0; i < senders * count; ++i) {
        const Tagged t = co_await self.receive<Tagged>();
        int& expected = next[static_cast<std::size_t>(t.sender)];
        if (t.seq != expected) {
            ++out_of_order;
        }
        expected = t.seq + 1;
    }
    std::string last;
    for (const int n : next) {
        last += std::to_string(n) + " ";
    }
    probe->note("out of order " + std::to_string(out_of_order) + ", next " + last);
}

TEST_P(Signals, ManyMessagesFromOneSenderArriveInOrder) {
    // §1.1: messages from one sender to one receiver arrive in the order they were sent.
    run(fifo_root, 1, 2000);
    EXPECT_EQ(events(), (Events{"out of order 0, next 2000 "}));
}

TEST_P(Signals, InterleavedSendersKeepPerPairOrder) {
    // §1.1: with several senders, each (sender, receiver) pair stays FIFO.
    run(fifo_root, 4, 300);
    EXPECT_EQ(events(), (Events{"out of order 0, next 300 300 300 300 "}));
}

Process send_then_exit(Self self, Pid to, ExitReason reason) {
    self.send(to, Num{1});
    self.send(to, Num{2});
    self.exit(reason);
    co_return;
}

Process exit2_after_message(Self self, Pid to) {
    self.send(to, Num{3});
    self.exit(to, ExitReason::error("after"));
    co_return;
}

Process signal_order_root(Self self, Probe* probe) {
    auto [m, ref] = self.spawn_monitor(send_then_exit, self.pid(), ExitReason::error("bye"));
    const DownMsg d = co_await wait_down(self, ref);  // Taken first, selectively.
    std::string seen = "down " + d.reason.to_string() + ":";
    for (int i = 0; i < 2; ++i) {
        seen += co_await self.receive([](Num n) { return " " + std::to_string(n.n); })
                    .after(0ms, [] { return std::string(" missing"); });
    }
    probe->note(seen);
    static_cast<void>(m);

    self.trap_exit(true);
    const Pid l = self.spawn_link(send_then_exit, self.pid(), ExitReason::error("bye"));
    const ExitMsg e = co_await wait_exit(self, l);
    seen = "exit " + e.reason.to_string() + ":";
    for (int i = 0; i < 2; ++i) {
        seen += co_await self.receive([](Num n) { return " " + std::to_string(n.n); })
                    .after(0ms, [] { return std::string(" missing"); });
    }
    probe->note(seen);

    self.spawn(exit2_after_message, self.pid());
    seen = "mailbox:";
    for (int i = 0; i < 2; ++i) {
        seen += co_await self.receive([](Num n) { return " num " + std::to_string(n.n); },
                                      [](ExitMsg x) { return " exit " + x.reason.to_string(); });
    }
    probe->note(seen);
}

TEST_P(Signals, SignalsShareThePairOrderWithMessages) {
    // §1.1: messages sent before an exit are queued before the DOWN or EXIT it causes, and an
    // exit/2 sent after a message is queued after it.
    run(signal_order_root);
    EXPECT_EQ(events(), (Events{"down bye: 1 2", "exit bye: 1 2", "mailbox: num 3 exit after"}));
}

// == Receive: selective receive, guards, `after` (used by §1.7's flush idiom) =====================

Process send_mixed(Self self, Pid to) {
    self.send(to, Num{1});
    self.send(to, Word{"a"});
    self.send(to, Num{2});
    self.send(to, Word{"b"});
    self.send(to, Num{3});
    co_return;
}

Process selective_root(Self self, Probe* probe) {
    self.spawn(send_mixed, self.pid());
    std::string seen;
    seen += (co_await self.receive<Word>()).text;
    seen += (co_await self.receive<Word>()).text;
    for (int i = 0; i < 3; ++i) {
        seen += co_await self.receive([](Num n) { return std::to_string(n.n); },
                                      [](Word w) { return w.text; });
    }
    probe->note(seen);
}

TEST_P(Signals, SelectiveReceiveLeavesOtherMessagesInOrder) {
    // §1.1: a receive takes the oldest matching message; the others stay queued in order.
    run(selective_root);
    EXPECT_EQ(events(), (Events{"ab123"}));
}

Process send_numbers(Self self, Pid to) {
    for (const int n : {1, 5, 3, 8}) {
        self.send(to, Num{n});
    }
    self.send(to, Word{"end"});
    co_return;
}

Process guard_root(Self self, Probe* probe) {
    self.spawn(send_numbers, self.pid());
    static_cast<void>(co_await self.receive<Word>());  // All four numbers are queued now.
    // Message order beats clause order: 5 is older than 3.
    probe->note(co_await self.receive(
        when([](const Num& n) { return n.n == 3; }, [](Num) { return std::string("three"); }),
        when([](const Num& n) { return n.n == 5; }, [](Num) { return std::string("five"); })));
    // For one message, the first clause that accepts it wins.
    probe->note(co_await self.receive(
        when([](const Num& n) { return n.n > 2; },
             [](Num n) { return "big " + std::to_string(n.n); }),
        when([](const Num& n) { return n.n == 3; }, [](Num) { return std::string("three"); })));
    probe->note(co_await self
                    .receive(when([](const Num& n) { return n.n > 100; },
                                  [](Num n) { return std::to_string(n.n); }))
                    .after(0ms, [] { return std::string("none"); }));
    probe->note(std::to_string((co_await self.receive<Num>()).n));
    probe->note(std::to_string((co_await self.receive<Num>()).n));
}

TEST_P(Signals, GuardedClauses) {
    // §1.1: guards select among queued messages, oldest first; unmatched messages stay.
    run(guard_root);
    EXPECT_EQ(events(), (Events{"five", "big 3", "none", "1", "8"}));
}

Process after_zero_root(Self self, Probe* probe) {
    probe->note(co_await self.receive([](Num n) { return std::to_string(n.n); })
                    .after(0ms, [] { return std::string("empty"); }));
    self.send(self.pid(), Word{"w"});
    self.send(self.pid(), Num{7});
    probe->note(co_await self.receive([](Num n) { return std::to_string(n.n); })
                    .after(0ms, [] { return std::string("empty"); }));
    probe->note(co_await self.receive([](Num n) { return std::to_string(n.n); })
                    .after(0ms, [] { return std::string("empty"); }));
    probe->note((co_await self.receive<Word>()).text);
}

TEST_P(Signals, AfterZeroLooksOnceWithoutWaiting) {
    // §1.7: `after 0` takes a matching queued message or runs its handler at once.
    run(after_zero_root);
    EXPECT_EQ(events(), (Events{"empty", "7", "empty", "w"}));
}

Process timeout_root(Self self, Probe* probe) {
    const Ticks t0 = self.now();
    const std::optional<Num> none = co_await self.receive_for<Num>(2ms);
    probe->note("timed out " + yes_no(!none.has_value()) + ", waited " +
                yes_no(self.now() - t0 >= Ticks{2'000'000}));
    self.send(self.pid(), Num{4});
    const std::optional<Num> some = co_await self.receive_for<Num>(2ms);
    probe->note("got " + (some ? std::to_string(some->n) : std::string("nothing")));
    // The cancelled time-out of the last receive must not end this one.
    self.send_after(1ms, self.pid(), Num{5});
    probe->note("then " + std::to_string((co_await self.receive<Num>()).n));
    const Ticks t1 = self.now();
    co_await self.sleep(1ms);
    probe->note("slept " + yes_no(self.now() - t1 >= Ticks{1'000'000}));
}

TEST_P(Signals, ReceiveTimeouts) {
    // §1.7: a receive with a time-out returns the message if one comes, else runs `after`.
    run(timeout_root);
    EXPECT_EQ(events(), (Events{"timed out yes, waited yes", "got 4", "then 5", "slept yes"}));
}

// == Spawning, process exits ======================================================================

Process crasher(Self self, ExitReason reason) {
    co_await self.yield();
    throw std::runtime_error(reason.to_string());
}

Process spawn_link_middle(Self self) {
    self.spawn_link(crasher, ExitReason::error("boom"));
    co_await self.receive<Stop>();
}

Process spawn_link_root(Self self, Probe* probe) {
    auto [m, ref] = self.spawn_monitor(spawn_link_middle);
    probe->note("middle down " + (co_await wait_down(self, ref)).reason.to_string());
    static_cast<void>(m);
    self.trap_exit(true);
    const Pid c = self.spawn_link(crasher, ExitReason::error("bang"));
    const ExitMsg e = co_await self.receive<ExitMsg>();
    probe->note("exit from child " + yes_no(e.from == c) + " " + e.reason.to_string());
    auto [p, pref] = self.spawn_monitor(crasher, ExitReason::error("pow"));
    const DownMsg d = co_await self.receive<DownMsg>();
    probe->note("down ref " + yes_no(d.ref == pref) + " pid " + yes_no(d.pid == p) + " " +
                d.reason.to_string());
}

TEST_P(Signals, SpawnLinkAndSpawnMonitor) {
    // §1.5, §2.1: spawn_link links atomically (a crash kills a non-trapping parent or is an
    // EXIT for a trapping one); spawn_monitor's DOWN names the returned ref and pid.
    run(spawn_link_root);
    EXPECT_EQ(events(), (Events{"middle down boom", "exit from child yes bang",
                                "down ref yes pid yes pow"}));
}

Process throw_other(Self /*self*/) {
    throw 42;
    co_return;
}

Process exception_root(Self self, Probe* probe) {
    auto [p, ref] = self.spawn_monitor(crasher, ExitReason::error("badmatch: {ok,1}"));
    const DownMsg d = co_await wait_down(self, ref);
    probe->note(std::string(d.reason.kind() == ExitReason::Kind::error ? "error " : "other ") +
                d.reason.term());
    static_cast<void>(p);
    auto [q, qref] = self.spawn_monitor(throw_other);
    probe->note((co_await wait_down(self, qref)).reason.to_string());
    static_cast<void>(q);
}

TEST_P(Signals, ExceptionEscapingProcessGivesErrorReason) {
    // §1.2: an exception escaping a body ends the process with an error reason carrying what().
    run(exception_root);
    EXPECT_EQ(events(), (Events{"error badmatch: {ok,1}", "unknown exception"}));
}

Process shutdown_term_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid c = self.spawn_link(exit_with, ExitReason::shutdown("reconfigure"));
    const ExitMsg e = co_await wait_exit(self, c);
    probe->note("exit " + e.reason.to_string() + " term " + e.reason.term() + " clean " +
                yes_no(e.reason.is_clean()));
    // A non-trapping process linked to it dies with the same {shutdown, Term}.
    auto [m, ref] = self.spawn_monitor(reason_middle, ExitReason::shutdown("reconfigure"));
    const DownMsg d = co_await wait_down(self, ref);
    probe->note("middle " + d.reason.to_string() + " " +
                yes_no(d.reason == ExitReason::shutdown("reconfigure")));
    static_cast<void>(m);
}

TEST_P(Signals, ShutdownTermPropagates) {
    // §1.2, §1.3: {shutdown, Term} is not `normal`: it propagates through links unchanged.
    run(shutdown_term_root);
    EXPECT_EQ(events(), (Events{"exit {shutdown,reconfigure} term reconfigure clean yes",
                                "middle {shutdown,reconfigure} yes"}));
}

Process dead_letters_root(Self self, Probe* probe) {
    auto [p, ref] = self.spawn_monitor(quick);
    static_cast<void>(co_await wait_down(self, ref));
    for (int i = 0; i < 100; ++i) {
        self.send(p, Num{i});
        self.send(p, Word{"lost"});
    }
    self.send(Pid{1ULL << 40U}, Num{0});
    self.exit(p, ExitReason::error("too late"));  // An exit signal to a dead process: lost too.
    self.send_after(0ms, p, Word{"late"});
    probe->note("alive " + yes_no(self.is_alive(self.pid())) + ", p alive " +
                yes_no(self.is_alive(p)));
    co_return;
}

TEST_P(Signals, MessagesToDeadProcessesAreLostSilently) {
    // §1.1: a signal to a process that no longer exists is lost; the sender is unaffected.
    run(dead_letters_root);
    EXPECT_EQ(events(), (Events{"alive yes, p alive no"}));
    EXPECT_EQ(rt_->process_count(), 0U);
}

// == Async<T>: nested coroutines that receive ======================================================

Async<int> receive_sum(Self self, int count) {
    int sum = 0;
    for (int i = 0; i < count; ++i) {
        sum += (co_await self.receive<Num>()).n;
    }
    co_return sum;
}

Async<int> nested_sum(Self self) {
    const int a = co_await receive_sum(self, 2);
    const int b = co_await receive_sum(self, 3);
    co_return a * 100 + b;
}

Async<> inner_failure(Self self) {
    const Word w = co_await self.receive<Word>();
    throw std::runtime_error("inner " + w.text);
}

Async<std::string> no_suspend() { co_return "ready"; }

Process send_five_and_words(Self self, Pid to) {
    self.send(to, Word{"x"});
    for (int i = 1; i <= 5; ++i) {
        self.send(to, Num{i});
    }
    self.send(to, Word{"y"});
    co_return;
}

Process uncaught_inner(Self self) {
    self.send(self.pid(), Word{"z"});
    co_await inner_failure(self);
}

Process async_root(Self self, Probe* probe) {
    self.spawn(send_five_and_words, self.pid());
    probe->note("sum " + std::to_string(co_await nested_sum(self)));
    try {
        co_await inner_failure(self);
        probe->note("no throw");
    } catch (const std::runtime_error& e) {
        probe->note(std::string("caught ") + e.what());
    }
    probe->note(co_await no_suspend());
    probe->note("left " + std::to_string(co_await drain_count<Word>(self)));
    auto [p, ref] = self.spawn_monitor(uncaught_inner);
    probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
    static_cast<void>(p);
}

TEST_P(Signals, AsyncNestedCoroutinesReceive) {
    // §1.1: receives inside nested Async coroutines take messages in mailbox order; their
    // exceptions reach the awaiting process, and an uncaught one ends it with an error reason.
    run(async_root);
    EXPECT_EQ(events(),
              (Events{"sum 312", "caught inner x", "ready", "left 1", "down inner z"}));
}

Async<int> answer_at_once() { return Async<int>::ready(42); }  // Not a coroutine.
Async<> nothing_at_once() { return Async<>::ready(); }

Process ready_root(Self self, Probe* probe) {
    probe->note("ready " + std::to_string(co_await answer_at_once()));
    co_await nothing_at_once();
    const Async<int>::Outcome outcome = co_await answer_at_once().caught();
    probe->note("caught " + std::to_string(outcome.value.value_or(-1)) +
                (outcome.error ? " error" : ""));
    // ready_now completes a receive only with a message already here, as the receive would.
    auto early = self.receive([](Num n) { return n.n; });
    probe->note(std::string("empty ") + yes_no(early.ready_now()));
    self.send(self.pid(), Word{"w"});
    self.send(self.pid(), Num{5});
    self.send(self.pid(), Num{6});
    auto now = self.receive([](Num n) { return n.n; });
    if (now.ready_now()) {
        probe->note("now " + std::to_string(now.await_resume()));
    }
    probe->note("then " + std::to_string((co_await self.receive<Num>()).n));
    probe->note("left " + std::to_string(co_await drain_count<Word>(self)));
}

TEST_P(Signals, AsyncReadyAndReceiveReadyNow) {
    // Async<T>::ready holds its result (awaited, and caught(), without a coroutine);
    // Receive::ready_now takes the first matching message in mailbox order, or nothing, and
    // leaves the rest where it was (§1.1).
    run(ready_root);
    EXPECT_EQ(events(),
              (Events{"ready 42", "caught 42", "empty no", "now 5", "then 6", "left 1"}));
}

Process monitor_exit_root(Self self, Probe* probe) {
    const Pid plain = self.spawn(puppet, self.pid(), false);
    const Pid trapping = self.spawn(puppet, self.pid(), true);
    const Pid ignoring = self.spawn(puppet, self.pid(), false);
    const Pid tough = self.spawn(puppet, self.pid(), true);
    co_await wait_ready(self, plain);
    co_await wait_ready(self, trapping);
    co_await wait_ready(self, ignoring);
    co_await wait_ready(self, tough);
    auto [gone, gone_ref] = self.spawn_monitor(quick);
    co_await wait_down(self, gone_ref);

    // Not trapping: the exit ends it, and the monitor, set first, reports why.
    MonitorRef ref = self.monitor_exit(plain, ExitReason::shutdown());
    probe->note("plain " + (co_await wait_down(self, ref)).reason.to_string());
    // Trapping: it gets the EXIT message, and the monitor stays until it ends.
    ref = self.monitor_exit(trapping, ExitReason::shutdown());
    const Forwarded f = co_await self.receive(
        when([&](const Forwarded& m) { return m.by == trapping; }, [](Forwarded m) { return m; }));
    probe->note("trapped " + f.exit.reason.to_string() + " from me " + yes_no(f.exit.from == self.pid()));
    self.send(trapping, Stop{});
    probe->note("trapping " + (co_await wait_down(self, ref)).reason.to_string());
    // `normal` to a process that does not trap is dropped: it lives on, monitored.
    ref = self.monitor_exit(ignoring, ExitReason::normal());
    co_await ping(self, ignoring);
    self.send(ignoring, Die{ExitReason::error("later")});
    probe->note("ignoring " + (co_await wait_down(self, ref)).reason.to_string());
    // `kill` cannot be trapped.
    ref = self.monitor_exit(tough, ExitReason::kill());
    probe->note("tough " + (co_await wait_down(self, ref)).reason.to_string());
    // No such process: DOWN noproc, as monitor gives.
    ref = self.monitor_exit(gone, ExitReason::shutdown());
    probe->note("gone " + (co_await wait_down(self, ref)).reason.to_string());
}

TEST_P(Signals, MonitorExitIsMonitorThenExit) {
    // Self::monitor_exit (a supervisor stopping a child, §3.6) sends what monitor then exit send,
    // in that order, whichever way the scheduler pushes them (§1.3, §1.4, §2.1).
    run(monitor_exit_root);
    EXPECT_EQ(events(), (Events{"plain shutdown", "trapped shutdown from me yes", "trapping normal",
                                "ignoring later", "tough killed", "gone noproc"}));
}

Process stop_child_root(Self self, Probe* probe) {
    // A supervisor's stop of a linked child (§3.6): monitor and exit, or, where the scheduler
    // ends the child within the call, neither a monitor nor a DOWN. Either way the child ends
    // with the same reason, and unlink_flush leaves nothing behind.
    self.trap_exit(true);
    for (const bool trap : {false, true}) {
        const Pid child = self.spawn_link(puppet, self.pid(), trap);
        co_await wait_ready(self, child);
        bool ended = false;
        const MonitorRef ref = self.monitor_exit(child, ExitReason::shutdown(), &ended);
        if (trap) {
            co_await self.receive(when([child](const Forwarded& m) { return m.by == child; },
                                       [](const Forwarded&) {}));
            self.send(child, Stop{});
        }
        if (ended) {
            const std::optional<ExitMsg> exit = co_await self.receive_for<ExitMsg>(Duration::zero());
            probe->note("end " + (exit ? exit->reason.to_string() : std::string("without EXIT")));
        } else {
            probe->note("end " + (co_await wait_down(self, ref)).reason.to_string());
        }
        probe->note("alive " + yes_no(self.is_alive(child)));
        self.unlink_flush(child);
        const bool exit_left = (co_await self.receive_for<ExitMsg>(Duration::zero())).has_value();
        const bool down_left = (co_await self.receive_for<DownMsg>(Duration::zero())).has_value();
        probe->note("left " + yes_no(exit_left || down_left));
    }
}

TEST_P(Signals, MonitorExitThatEndsAtOnceLeavesWhatMonitorThenExitLeaves) {
    run(stop_child_root);
    EXPECT_EQ(events(), (Events{"end shutdown", "alive no", "left no", "end normal", "alive no",
                                "left no"}));
}

Process killed_in_async_target(Self self, Pid parent) {
    self.send(parent, Ready{self.pid()});
    co_await receive_sum(self, 1000);  // Never gets the numbers.
}

Process killed_in_async_root(Self self, Probe* probe) {
    auto [p, ref] = self.spawn_monitor(killed_in_async_target, self.pid());
    co_await wait_ready(self, p);
    self.send(p, Num{1});
    self.exit(p, ExitReason::shutdown());
    probe->note("down " + (co_await wait_down(self, ref)).reason.to_string());
}

TEST_P(Signals, ExitSignalEndsProcessSuspendedInAsync) {
    // §1.3: an exit signal ends a process while it waits inside a nested coroutine.
    run(killed_in_async_root);
    EXPECT_EQ(events(), (Events{"down shutdown"}));
}

// == Virtual time (simulator only) ==================================================================

Process sim_timeout_root(Self self, Probe* probe) {
    const Ticks t0 = self.now();
    const std::optional<Num> none = co_await self.receive_for<Num>(50ms);
    probe->note("timeout at " + std::to_string(self.now() - t0) + " " + yes_no(!none));
    self.send_after(10ms, self.pid(), Num{1});
    const std::optional<Num> one = co_await self.receive_for<Num>(100ms);
    probe->note("message at " + std::to_string(self.now() - t0) + " " + yes_no(one.has_value()));
    // The first receive's cancelled time-out (due at 150 ms) must not end this one early.
    const std::optional<Word> w = co_await self.receive_for<Word>(200ms);
    probe->note("second timeout at " + std::to_string(self.now() - t0) + " " + yes_no(!w));
    probe->note(co_await self.receive([](Num) { return std::string("num"); })
                    .after(0ms, [] { return std::string("after 0"); }) +
                " at " + std::to_string(self.now() - t0));
}

TEST_P(VirtualTime, ReceiveTimeoutsFireAtExactTimes) {
    // §1.7: a receive time-out fires exactly after its duration on the virtual clock; `after 0`
    // takes no time.
    run(sim_timeout_root);
    EXPECT_EQ(events(), (Events{"timeout at 50000000 yes", "message at 60000000 yes",
                                "second timeout at 260000000 yes", "after 0 at 260000000"}));
}

Process sim_timer_root(Self self, Probe* probe) {
    const Ticks t0 = self.now();
    const TimerRef r1 = self.send_after(100ms, self.pid(), Num{1});
    co_await self.sleep(30ms);
    const std::optional<Duration> left = self.cancel_timer(r1);
    probe->note("left " + (left ? std::to_string(left->count()) : std::string("none")));
    probe->note("again " + yes_no(self.cancel_timer(r1).has_value()));
    const TimerRef r2 = self.send_after(20ms, self.pid(), Num{2});
    const Num n = co_await self.receive<Num>();
    probe->note("got " + std::to_string(n.n) + " at " + std::to_string(self.now() - t0));
    probe->note("after fire " + yes_no(self.cancel_timer(r2).has_value()));
    // The cancelled Num{1} never comes.
    const std::optional<Num> none = co_await self.receive_for<Num>(500ms);
    probe->note("cancelled arrived " + yes_no(none.has_value()));
    // A timer to a process that dies first is lost.
    auto [p, ref] = self.spawn_monitor(quick);
    self.send_after(5ms, p, Num{3});
    static_cast<void>(co_await wait_down(self, ref));
    co_await self.sleep(10ms);
    probe->note("end at " + std::to_string(self.now() - t0));
}

TEST_P(VirtualTime, SendAfterAndCancelTimerAreExact) {
    // send_after delivers at exactly its deadline; cancel_timer returns exactly the time left,
    // then nullopt once cancelled or fired.
    run(sim_timer_root);
    EXPECT_EQ(events(), (Events{"left 70000000", "again no", "got 2 at 50000000", "after fire no",
                                "cancelled arrived no", "end at 560000000"}));
}

Process sleeper_note(Self self, Probe* probe, int ms) {
    co_await self.sleep(std::chrono::milliseconds(ms));
    probe->note(std::to_string(ms) + "@" + std::to_string(self.now()));
}

Process sleepers_root(Self self, Probe* probe) {
    for (const int ms : {30, 10, 20}) {
        self.spawn(sleeper_note, probe, ms);
    }
    co_return;
}

TEST_P(VirtualTime, SleepersWakeInDeadlineOrderAtExactTimes) {
    // The virtual clock jumps to each deadline in turn; nothing is woken early or late.
    run(sleepers_root);
    EXPECT_EQ(events(), (Events{"10@10000000", "20@20000000", "30@30000000"}));
}

/// Holds every exit, link, monitor and DOWN signal sent to `target` by another process in
/// flight for `delay`: a slow network between two processes.
class DelaySignalsTo final : public Interposer {
public:
    DelaySignalsTo(Pid target, Ticks delay) : target_(target), delay_(delay) {}
    DeliveryDecision before_deliver(const DeliveryInfo& info) override {
        if (info.is_message || info.to != target_ || info.from == target_) {
            return {};
        }
        return DeliveryDecision{.action = DeliveryDecision::Action::delay, .delay = delay_};
    }

private:
    Pid target_;
    Ticks delay_;
};

Process in_flight_exit_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const Pid p = self.spawn_link(puppet, self.pid(), false);
    const Pid q = self.spawn_link(puppet, self.pid(), false);
    co_await wait_ready(self, p);
    co_await wait_ready(self, q);
    self.send(p, Die{ExitReason::error("p crashed")});
    self.send(q, Die{ExitReason::error("q crashed")});
    co_await self.sleep(10ms);  // Both are dead; their EXITs arrive at 50 ms.
    probe->note("dead " + yes_no(!self.is_alive(p) && !self.is_alive(q)));
    self.unlink(p);
    co_await self.sleep(100ms);
    probe->note("from p " + yes_no((co_await poll_exit(self, p)).has_value()));
    const std::optional<ExitMsg> from_q = co_await poll_exit(self, q);
    probe->note("from q " + (from_q ? from_q->reason.to_string() : std::string("none")));
}

TEST_P(VirtualTime, ExitInFlightWhenUnlinkReturnsIsDropped) {
    // §1.3, §1.7: an exit signal still in flight when unlink returns comes through an inactive
    // link and is dropped; the other link's EXIT arrives late but arrives.
    DelaySignalsTo hook(start(in_flight_exit_root), Ticks{50'000'000});
    rt_->set_interposer(&hook);
    rt_->run_until_idle();
    EXPECT_EQ(events(), (Events{"dead yes", "from p no", "from q q crashed"}));
    rt_->set_interposer(nullptr);
}

Process in_flight_down_root(Self self, Probe* probe) {
    const Pid p = self.spawn(puppet, self.pid(), false);
    co_await wait_ready(self, p);
    const MonitorRef r1 = self.monitor(p);
    const MonitorRef r2 = self.monitor(p);
    self.send(p, Die{ExitReason::error("crashed")});
    co_await self.sleep(10ms);  // p is dead; its DOWNs arrive at 50 ms.
    probe->note("dead " + yes_no(!self.is_alive(p)));
    probe->note("info " + yes_no(self.demonitor(r1, {.info = true})));
    co_await self.sleep(100ms);
    probe->note("r1 " + yes_no((co_await poll_down(self, r1)).has_value()));
    const std::optional<DownMsg> d2 = co_await poll_down(self, r2);
    probe->note("r2 " + (d2 ? d2->reason.to_string() : std::string("none")));
}

TEST_P(VirtualTime, DownInFlightWhenDemonitorReturnsIsDropped) {
    // §2.3: a DOWN not yet received when demonitor returns is never queued, and `info` says the
    // monitor was still active; an undemonitored monitor's late DOWN arrives.
    DelaySignalsTo hook(start(in_flight_down_root), Ticks{50'000'000});
    rt_->set_interposer(&hook);
    rt_->run_until_idle();
    EXPECT_EQ(events(), (Events{"dead yes", "info yes", "r1 no", "r2 crashed"}));
    rt_->set_interposer(nullptr);
}

}  // namespace
}  // namespace bedlam
