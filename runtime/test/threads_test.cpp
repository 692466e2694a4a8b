// What only the threaded scheduler has: per-worker timer heaps (a timer is armed on the worker
// its process runs on, may be cancelled from any other, and must keep the run busy until it
// fires or goes), nested steps, and the worker limit. The scheduler-independent rules run on it in the
// parameterised suites (kAllSchedulers).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/server.hpp"
#include "test_support.hpp"

namespace bedlam {
namespace {

using namespace std::chrono_literals;

struct Counters {
    std::atomic<int> woke{0};
    std::atomic<int> early{0};      // Woke before its deadline.
    std::atomic<int> cancelled{0};  // cancel_timer found the timer pending.
    std::atomic<int> fired{0};      // A cancelled timer's message arrived anyway.
};

Process sleeper(Self self, int ms, Counters* c) {
    const Ticks start = self.now();
    co_await self.sleep(std::chrono::milliseconds(ms));
    if (self.now() - start < std::chrono::nanoseconds(std::chrono::milliseconds(ms)).count()) {
        c->early.fetch_add(1);
    }
    c->woke.fetch_add(1);
}

// Many timers armed at once on every worker, with deadlines spread over 40 ms: each fires once,
// none early, and the run is idle only when the last has fired.
TEST(ThreadTimers, ManyTimersOnEveryWorkerFireOnceAndNotEarly) {
    ThreadScheduler sched(ThreadConfig{.workers = 4});
    Counters c;
    constexpr int n = 20'000;
    for (int i = 0; i < n; ++i) {
        sched.spawn(sleeper, i % 41, &c);
    }
    sched.run_until_idle();
    EXPECT_EQ(c.woke.load(), n);
    EXPECT_EQ(c.early.load(), 0);
}

struct Armed {
    Pid armer;
    TimerRef ref;
};
struct Ring {};
struct Done {};

// Arms a minute-long send_after to itself and hands the reference to `canceller`, which may run
// on any worker; then waits for the canceller's word, counting the timer's message if it comes
// first.
Process armer(Self self, Pid canceller, Counters* c) {
    const TimerRef ref = self.send_after(60s, self.pid(), Ring{});
    self.send(canceller, Armed{self.pid(), ref});
    co_await self.receive([](Done) {}, [c](Ring) { c->fired.fetch_add(1); });
}

Process canceller(Self self, Counters* c) {
    const Armed armed = co_await self.receive([](Armed a) { return a; });
    if (self.cancel_timer(armed.ref).has_value()) {
        c->cancelled.fetch_add(1);
    }
    self.send(armed.armer, Done{});
}

Process armer_pair(Self self, Counters* c) {
    const Pid cancel = self.spawn(canceller, c);
    self.spawn(armer, cancel, c);
    co_return;
}

// A minute-long timer cancelled by another process (often on another worker, whose queue it is
// not in): cancel_timer finds it, it never fires, and the run becomes idle at once. If a
// cancellation from another worker were lost, the run would stay busy for a minute.
TEST(ThreadTimers, TimersCancelledFromAnyWorkerNeverFireAndLeaveTheRunIdle) {
    ThreadScheduler sched(ThreadConfig{.workers = 4});
    Counters c;
    constexpr int pairs = 2'000;
    for (int i = 0; i < pairs; ++i) {
        sched.spawn(armer_pair, &c);
    }
    ASSERT_TRUE(sched.run_until_idle_for(30s)) << "a cancelled timer kept the run busy";
    EXPECT_EQ(c.cancelled.load(), pairs);
    EXPECT_EQ(c.fired.load(), 0);
}

// -- Many senders, one receiver ---------------------------------------------------------------

struct Numbered {
    int sender;
    int n;
};

Process numbered_sender(Self self, Pid to, int sender, int count) {
    for (int n = 0; n < count; ++n) {
        self.send(to, Numbered{sender, n});
    }
    self.exit(ExitReason::error("done"));  // Not normal: the monitor's DOWN says so too.
    co_return;
}

struct FanInCheck {
    std::vector<int> next;  // By sender: the number its next message must carry.
    int out_of_order = 0;   // Messages that came before an earlier one of their sender.
    int early_ends = 0;     // EXITs or DOWNs that came before all of their sender's messages.
    int ends = 0;
};

Process numbered_receiver(Self self, int senders, int count, FanInCheck* check) {
    self.trap_exit(true);
    check->next.assign(static_cast<std::size_t>(senders), 0);
    std::vector<Pid> pids;
    for (int i = 0; i < senders; ++i) {
        // Half linked (their end is an EXIT), half monitored (a DOWN).
        pids.push_back(i % 2 == 0 ? self.spawn_link(numbered_sender, self.pid(), i, count)
                                  : self.spawn_monitor(numbered_sender, self.pid(), i, count).first);
    }
    auto sender_of = [&](Pid pid) {
        for (std::size_t i = 0; i < pids.size(); ++i) {
            if (pids[i] == pid) {
                return i;
            }
        }
        return pids.size();
    };
    auto ended = [&](Pid pid) {
        const std::size_t i = sender_of(pid);
        if (i == pids.size() || check->next[i] != count) {
            ++check->early_ends;
        }
        ++check->ends;
    };
    while (check->ends < senders) {
        co_await self.receive(
            [&](Numbered m) {
                int& next = check->next[static_cast<std::size_t>(m.sender)];
                if (m.n != next) {
                    ++check->out_of_order;
                }
                next = m.n + 1;
            },
            [&](ExitMsg x) { ended(x.from); }, [&](DownMsg d) { ended(d.pid); });
    }
}

// A fan-in on more workers than cores, where senders find the receiver's inbox contended and
// push their messages in chains (ThreadScheduler::push_concurrent): each sender's messages still
// arrive in the order it sent them, and all of them before its EXIT or DOWN (otp-semantics
// §1.1: signals between two processes keep their order).
TEST(ThreadFanIn, EachSendersMessagesArriveInOrderAndBeforeItsEnd) {
    ThreadScheduler sched(ThreadConfig{.workers = 4});
    FanInCheck check;
    constexpr int senders = 200;
    constexpr int count = 500;
    sched.spawn(numbered_receiver, senders, count, &check);
    ASSERT_TRUE(sched.run_until_idle_for(60s));
    EXPECT_EQ(check.ends, senders);
    EXPECT_EQ(check.out_of_order, 0);
    EXPECT_EQ(check.early_ends, 0);
    for (int i = 0; i < senders; ++i) {
        EXPECT_EQ(check.next[static_cast<std::size_t>(i)], count) << "sender " << i;
    }
}

Process note_pid(Self self, std::vector<Pid>* out, std::atomic<int>* done) {
    (*out)[static_cast<std::size_t>(done->fetch_add(1))] = self.pid();
    co_return;
}

TEST(ThreadPids, PrintAsSlotAndReuseCount) {
    // A threaded pid's id is a table slot (low 32 bits) and how many processes the slot has held
    // (high bits); it prints as Erlang's <0.N.S>, like the simulator's <0.N.0>.
    EXPECT_EQ(Pid{5}.to_string(), "<0.5.0>");
    EXPECT_EQ(Pid{(std::uint64_t{2} << 32U) | 5U}.to_string(), "<0.5.2>");
    ThreadScheduler sched(ThreadConfig{.workers = 2});
    std::vector<Pid> pids(100);
    std::atomic<int> done{0};
    for (int i = 0; i < 100; ++i) {
        sched.spawn(note_pid, &pids, &done);
    }
    sched.run_until_idle();
    ASSERT_EQ(done.load(), 100);
    for (const Pid pid : pids) {
        const std::string text = pid.to_string();
        EXPECT_EQ(text, "<0." + std::to_string(pid.id & 0xffff'ffffU) + "." +
                            std::to_string(pid.id >> 32U) + ">");
        EXPECT_LE(text.size(), std::string("<0.4096.1>").size()) << text;  // Small numbers.
    }
}

// -- References (ThreadScheduler::new_ref_after) ---------------------------------------------------

struct Floor {
    std::uint64_t floor;
};
struct RefsSeen {
    std::uint64_t plain = 0;  // A reference from the worker's block.
    std::uint64_t after = 0;  // One asked for past a floor beyond that block.
};

Process ref_taker(Self self, RefsSeen* seen) {
    seen->plain = self.runtime().new_ref().id;
    const Floor f = co_await self.receive<Floor>();
    seen->after = self.runtime().new_ref(f.floor).id;
}

TEST(ThreadRefs, AReferencePastAFloorSkipsAnOlderBlock) {
    // Workers take references in blocks, so a process that moves to another worker can meet a
    // block older than its last monitor's reference; new_ref(floor) then takes a new block, and
    // the monitors one process sets stay numbered in order (their DOWNs come in that order).
    ThreadScheduler sched(ThreadConfig{.workers = 1});
    RefsSeen seen;
    const Pid p = sched.spawn(ref_taker, &seen);
    sched.run_until_idle();
    const std::uint64_t floor = sched.new_ref().id;  // From outside: past the worker's block.
    ASSERT_LT(seen.plain + 1, floor);  // The worker's block still has room below the floor.
    sched.send(p, Floor{floor});
    sched.run_until_idle();
    EXPECT_GT(seen.after, floor);
}

// -- Nested steps (ThreadScheduler::run_nested) ----------------------------------------------------

struct Ready {
    Pid pid;
};
struct Hello {
    int from;
};

/// Tells `parent` it is about to block, then waits for nothing; with `trap`, it traps exits and
/// tells `parent` of each EXIT it takes.
Process blocker(Self self, Pid parent, bool trap) {
    self.trap_exit(trap);
    self.send(parent, Ready{self.pid()});
    for (;;) {
        ExitMsg x = co_await self.receive<ExitMsg>();
        self.send(parent, Hello{static_cast<int>(x.from == parent)});
    }
}

struct NestingSeen {
    bool down_at_once = false;     // The DOWN was in before the sender's next receive waited.
    bool trapped_at_once = false;  // The trapping process's reply was in as early.
    bool trapped_later = false;    // ...or came once the sender waited.
};

Process exit_sender(Self self, NestingSeen* seen) {
    // One worker: a process runs only when the one before it has ended its step, so each
    // blocker has blocked by the time its Ready is taken.
    const auto [plain, ref] = self.spawn_monitor(blocker, self.pid(), false);
    co_await self.receive<Ready>();
    self.exit(plain, ExitReason::shutdown());
    const std::optional<DownMsg> down = co_await self.receive_for<DownMsg>(Duration::zero());
    seen->down_at_once = down.has_value() && down->ref == ref;

    const Pid trapping = self.spawn(blocker, self.pid(), true);
    co_await self.receive<Ready>();
    self.exit(trapping, ExitReason::shutdown());
    seen->trapped_at_once = (co_await self.receive_for<Hello>(Duration::zero())).has_value();
    seen->trapped_later = (co_await self.receive_for<Hello>(10s)).has_value();
    self.exit(trapping, ExitReason::kill());
}

// An exit signal that wakes a process which does not trap exits ends it inside the sender's
// step: its DOWN is in before the sender's next receive. A trapping process is queued as usual,
// so its handler never runs inside another process's step.
TEST(ThreadNesting, AnUntrappedExitEndsTheBlockedProcessWithinTheSendersStep) {
    ThreadScheduler sched(ThreadConfig{.workers = 1});
    NestingSeen seen;
    sched.spawn(exit_sender, &seen);
    ASSERT_TRUE(sched.run_until_idle_for(30s));
    EXPECT_TRUE(seen.down_at_once);
    EXPECT_FALSE(seen.trapped_at_once);
    EXPECT_TRUE(seen.trapped_later);
    EXPECT_EQ(sched.process_count(), 0U);
}

Process greeter(Self self, Pid parent, int depth, bool eager) {
    self.send(parent, Hello{depth});
    if (depth == 1) {
        // Spawned by a step that is itself nested: queued, not run one level deeper.
        self.spawn_opt(SpawnOptions{.eager = eager}, greeter, parent, 2, eager);
        self.send(parent, Hello{-1});  // Before the grandchild's Hello, unless that ran first.
    }
    co_return;
}

struct EagerSeen {
    std::vector<int> at_once;  // Hellos in before the spawner's first receive waited.
    std::vector<int> all;
};

Process eager_spawner(Self self, bool eager, EagerSeen* seen) {
    self.spawn_opt(SpawnOptions{.eager = eager}, greeter, self.pid(), 1, eager);
    for (;;) {
        const std::optional<Hello> h = co_await self.receive_for<Hello>(Duration::zero());
        if (!h) {
            break;
        }
        seen->at_once.push_back(h->from);
    }
    seen->all = seen->at_once;
    while (seen->all.size() < 3) {
        seen->all.push_back((co_await self.receive<Hello>()).from);
    }
}

// SpawnOptions::eager runs the new process's first step before spawn returns (start_link uses
// it: the starter waits for init next), one level deep: what that step spawns eagerly is queued.
TEST(ThreadNesting, AnEagerSpawnRunsTheFirstStepBeforeSpawnReturnsOneLevelDeep) {
    for (const bool eager : {true, false}) {
        ThreadScheduler sched(ThreadConfig{.workers = 1});
        EagerSeen seen;
        sched.spawn(eager_spawner, eager, &seen);
        ASSERT_TRUE(sched.run_until_idle_for(30s));
        if (eager) {
            EXPECT_EQ(seen.at_once, (std::vector<int>{1, -1}));
        } else {
            EXPECT_TRUE(seen.at_once.empty());
        }
        EXPECT_EQ(seen.all, (std::vector<int>{1, -1, 2})) << "eager " << eager;
    }
}

struct Never {};

/// Sends its parent Hello{1} from its own step (on whichever worker runs it), says so, and waits.
Process early_talker(Self self, Pid parent, std::atomic<bool>* sent) {
    self.send(parent, Hello{1});
    sent->store(true, std::memory_order_release);
    co_await self.receive<Never>();
}

struct RunnerSeen {
    bool nested = false;       // The DOWN was in at once: the talker ended inside our step.
    std::vector<int> order;  // 1 Hello, 2 EXIT, 3 DOWN, as they were received.
};

Process talker_runner(Self self, RunnerSeen* seen) {
    self.trap_exit(true);
    std::atomic<bool> sent{false};
    const Pid talker = self.spawn_opt(SpawnOptions{.link = true, .monitor = true}, early_talker,
                                      self.pid(), &sent)
                           .first;
    // Hold this worker, without a receive (which would take the Hello from the inbox), while the
    // other worker takes the talker, runs it and lets it block: its Hello waits in our inbox.
    for (int i = 0; i < 10'000 && !sent.load(std::memory_order_acquire); ++i) {
        std::this_thread::sleep_for(1ms);
    }
    std::this_thread::sleep_for(50ms);
    self.exit(talker, ExitReason::shutdown());
    for (int i = 0; i < 3; ++i) {
        const int got = co_await self
                            .receive([](const Hello&) { return 1; },
                                     [](const ExitMsg&) { return 2; },
                                     [](const DownMsg&) { return 3; })
                            .after(Duration::zero(), [] { return 0; });
        seen->nested = seen->nested || got == 3;
        seen->order.push_back(got);
    }
}

// What a nested step sends the process it runs inside skips that process's inbox
// (Proc::take_from_nested), but never jumps what the same sender put there before (§1.1): the
// talker's Hello, sent from its own step on the other worker, is received before the EXIT and
// the DOWN it sent as it died inside the runner's step.
TEST(ThreadNesting, WhatANestedStepSendsItsRunnerComesAfterWhatItSentBefore) {
    ThreadScheduler sched(ThreadConfig{.workers = 2});
    RunnerSeen seen;
    sched.spawn(talker_runner, &seen);
    ASSERT_TRUE(sched.run_until_idle_for(60s));
    EXPECT_TRUE(seen.nested) << "the talker did not end inside the runner's step";
    EXPECT_EQ(seen.order, (std::vector<int>{1, 2, 3}));
}

struct EndedSeen {
    std::vector<std::string> notes;
};

Process ended_stopper(Self self, EndedSeen* seen) {
    self.trap_exit(true);
    auto note = [seen](std::string s) { seen->notes.push_back(std::move(s)); };
    // Asleep and not trapping: it ends within the call, with no monitor; its EXIT is in.
    const Pid plain = self.spawn_opt(SpawnOptions{.link = true}, blocker, self.pid(), false).first;
    co_await self.receive<Ready>();
    bool ended = false;
    MonitorRef ref = self.monitor_exit(plain, ExitReason::shutdown(), &ended);
    const std::optional<ExitMsg> exit = co_await self.receive_for<ExitMsg>(Duration::zero());
    note("plain ended " + std::string(ended ? "yes" : "no") + " ref " +
         (ref.valid() ? "set" : "none") + " alive " + (self.is_alive(plain) ? "yes" : "no") +
         " exit " + (exit ? exit->reason.to_string() : "none"));
    self.unlink_flush(plain);
    // Trapping: not ended; the monitor, pushed after the exit signal, still reports its end.
    const Pid trapping = self.spawn(blocker, self.pid(), true);
    co_await self.receive<Ready>();
    ref = self.monitor_exit(trapping, ExitReason::shutdown(), &ended);
    const int from_me = (co_await self.receive<Hello>()).from;
    self.exit(trapping, ExitReason::kill());
    const DownMsg down = co_await self.receive(
        when([ref](const DownMsg& d) { return d.ref == ref; }, [](DownMsg d) { return d; }));
    note("trapping ended " + std::string(ended ? "yes" : "no") + " exit from me " +
         std::to_string(from_me) + " down " + down.reason.to_string());
    // `normal` does not end a process that does not trap: monitored as monitor_exit is.
    const Pid lives = self.spawn(blocker, self.pid(), false);
    co_await self.receive<Ready>();
    ref = self.monitor_exit(lives, ExitReason::normal(), &ended);
    const bool alive = self.is_alive(lives);
    self.exit(lives, ExitReason::kill());
    const DownMsg later = co_await self.receive(
        when([ref](const DownMsg& d) { return d.ref == ref; }, [](DownMsg d) { return d; }));
    note("normal ended " + std::string(ended ? "yes" : "no") + " alive " + (alive ? "yes" : "no") +
         " down " + later.reason.to_string());
    // No DOWN ever came for the first: nothing else is left in the mailbox.
    note("left " + std::string((co_await self.receive_for<DownMsg>(50ms)) ? "down" : "nothing"));
}

// Self::monitor_exit(pid, reason, &ended): a sleeping process that does not trap exits is ended
// within the call (run inside the caller's step, as any waking exit signal would), so the stop
// needs no monitor and no DOWN; any other is monitored as by monitor then exit.
TEST(ThreadNesting, MonitorExitEndsASleepingUntrappedProcessWithinTheCall) {
    ThreadScheduler sched(ThreadConfig{.workers = 1});
    EndedSeen seen;
    sched.spawn(ended_stopper, &seen);
    ASSERT_TRUE(sched.run_until_idle_for(30s));
    EXPECT_EQ(seen.notes,
              (std::vector<std::string>{
                  "plain ended yes ref none alive no exit shutdown",
                  "trapping ended no exit from me 1 down killed",
                  "normal ended no alive yes down killed", "left nothing"}));
    EXPECT_EQ(sched.process_count(), 0U);
}

Process handoff_prober(Self self, std::vector<std::string>* notes) {
    auto yes = [](bool b) { return std::string(b ? "yes" : "no"); };
    self.trap_exit(true);
    Runtime& rt = self.runtime();
    const MonitorRef ack = rt.new_ref();
    const MonitorRef other = rt.new_ref();
    const Pid child = self.pid();  // Any pid will do: the handoff only carries it.
    {
        const detail::StartHandoff start(self, ack, StartOptions{}, true);
        notes->push_back("other " + yes(detail::hand_back_start(other, child)));
        {
            // An init that starts a server of its own: only the innermost start is open.
            const MonitorRef inner_ack = rt.new_ref();
            const detail::StartHandoff inner(self, inner_ack, StartOptions{}, true);
            notes->push_back("outer within inner " + yes(detail::hand_back_start(ack, child)));
            notes->push_back("inner " + yes(detail::hand_back_start(inner_ack, child)));
        }
        const bool own = detail::hand_back_start(ack, child);
        notes->push_back("own " + yes(own) + " started " + yes(start.started() == child));
        notes->push_back("twice " + yes(detail::hand_back_start(ack, child)));
    }
    notes->push_back("closed " + yes(detail::hand_back_start(ack, child)));
    // Starts that take no handoff: not eager (a start time-out), unlinked, or a starter that does
    // not trap exits (they must see the child's death another way).
    const MonitorRef lazy = rt.new_ref();
    {
        const detail::StartHandoff start(self, lazy, StartOptions{}, false);
        notes->push_back("lazy " + yes(detail::hand_back_start(lazy, child)));
    }
    const MonitorRef unlinked = rt.new_ref();
    {
        StartOptions start_only;
        start_only.link = false;
        const detail::StartHandoff start(self, unlinked, start_only, true);
        notes->push_back("unlinked " + yes(detail::hand_back_start(unlinked, child)));
    }
    self.trap_exit(false);
    const MonitorRef untrapping = rt.new_ref();
    {
        const detail::StartHandoff start(self, untrapping, StartOptions{}, true);
        notes->push_back("untrapping " + yes(detail::hand_back_start(untrapping, child)));
    }
    co_return;
}

// A start whose child's init succeeds within the spawn (a supervisor's child run inside the
// supervisor's step) takes the child's ok in place of an InitAck message: only its own, only
// while open, only the innermost, and only where no one else could see the message.
TEST(ThreadStart, AStartTakesItsOwnChildsOkInPlaceOfTheMessage) {
    ThreadScheduler sched(ThreadConfig{.workers = 1});
    std::vector<std::string> notes;
    sched.spawn(handoff_prober, &notes);
    ASSERT_TRUE(sched.run_until_idle_for(30s));
    EXPECT_EQ(notes, (std::vector<std::string>{"other no", "outer within inner no", "inner yes",
                                               "own yes started yes", "twice no", "closed no",
                                               "lazy no", "unlinked no", "untrapping no"}));
    // The simulator's trace keeps every InitAck: no start is ever open there.
    std::unique_ptr<Runtime> sim = test::make_runtime(test::kSimulators[0]);
    std::vector<std::string> sim_notes;
    sim->spawn(handoff_prober, &sim_notes);
    sim->run_until_idle();
    EXPECT_EQ(sim_notes, (std::vector<std::string>{"other no", "outer within inner no", "inner no",
                                                   "own no started no", "twice no", "closed no",
                                                   "lazy no", "unlinked no", "untrapping no"}));
}

TEST(ThreadTimers, WorkerCountIsChecked) {
    EXPECT_THROW(ThreadScheduler(ThreadConfig{.workers = 255}), std::invalid_argument);
    ThreadScheduler most(ThreadConfig{.workers = 1});
    EXPECT_EQ(most.workers(), 1U);
}

}  // namespace
}  // namespace bedlam
