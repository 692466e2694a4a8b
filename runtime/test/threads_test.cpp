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
