// What only the threaded scheduler has: per-worker timer heaps (a timer is armed on the worker
// its process runs on, may be cancelled from any other, and must keep the run busy until it
// fires or goes), and the worker limit. The scheduler-independent rules run on it in the
// parameterised suites (kAllSchedulers).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "bedlam/runtime.hpp"

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

TEST(ThreadTimers, WorkerCountIsChecked) {
    EXPECT_THROW(ThreadScheduler(ThreadConfig{.workers = 255}), std::invalid_argument);
    ThreadScheduler most(ThreadConfig{.workers = 1});
    EXPECT_EQ(most.workers(), 1U);
}

}  // namespace
}  // namespace bedlam
