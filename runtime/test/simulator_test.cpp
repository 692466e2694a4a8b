// Simulator: virtual time, policies, determinism of the trace hash, deadlock reporting.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bedlam/runtime.hpp"

namespace bedlam {
namespace {

using namespace std::chrono_literals;

struct Ping {
    Pid from;
    int n;
};
struct Pong {
    int n;
};

Process ponger(Self self) {
    for (;;) {
        Ping p = co_await self.receive<Ping>();
        self.send(p.from, Pong{p.n});
    }
}

Process pinger(Self self, Pid peer, int rounds, std::vector<int>* seen) {
    for (int i = 0; i < rounds; ++i) {
        self.send(peer, Ping{self.pid(), i});
        Pong p = co_await self.receive<Pong>();
        seen->push_back(p.n);
    }
}

TEST(Simulator, PingPongCompletesAndPongerDeadlocks) {
    Simulator sim(SimConfig{.seed = 1});
    std::vector<int> seen;
    const Pid pong = sim.spawn(ponger);
    sim.spawn(pinger, pong, 5, &seen);
    const RunResult r = sim.run();
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(r.stop, RunResult::Stop::idle);
    ASSERT_TRUE(r.deadlock());
    EXPECT_EQ(r.deadlocked, std::vector<Pid>{pong});
}

Process sleeper(Self self, Ticks* woke_at) {
    co_await self.sleep(250ms);
    *woke_at = self.now();
}

TEST(Simulator, VirtualClockJumpsToNextTimer) {
    Simulator sim;
    Ticks woke_at = -1;
    sim.spawn(sleeper, &woke_at);
    const RunResult r = sim.run();
    EXPECT_EQ(woke_at, Ticks{250'000'000});
    EXPECT_EQ(r.now, Ticks{250'000'000});
    EXPECT_FALSE(r.deadlock());
}


// -- A small program with every kind of event: messages from several senders, links, monitors,
// -- crashes, timers. Its trace depends only on the seed and policy.

struct Tagged {
    int sender;
    int seq;
};

Process chatter(Self self, Pid hub, int id, int count) {
    for (int i = 0; i < count; ++i) {
        self.send(hub, Tagged{id, i});
        co_await self.yield();
    }
}

// Receives every message and records the order in which the senders' first messages arrived.
Process hub(Self self, int senders, int count, std::vector<int>* first_order) {
    std::vector<bool> seen(static_cast<std::size_t>(senders), false);
    for (int i = 0; i < senders * count; ++i) {
        const Tagged t = co_await self.receive<Tagged>();
        if (!seen[static_cast<std::size_t>(t.sender)]) {
            seen[static_cast<std::size_t>(t.sender)] = true;
            first_order->push_back(t.sender);
        }
    }
}

Process crash_later(Self self, int ms) {
    co_await self.sleep(std::chrono::milliseconds(ms));
    throw std::runtime_error("late crash");
}

Process keeper(Self self, int rounds) {
    self.trap_exit(true);
    for (int i = 0; i < rounds; ++i) {
        const Pid child = self.spawn_link(crash_later, 1 + i);
        self.monitor(child);
        static_cast<void>(co_await self.receive<ExitMsg>());
        static_cast<void>(co_await self.receive<DownMsg>());
    }
    self.send_after(5ms, self.pid(), Tagged{-1, -1});
    static_cast<void>(co_await self.receive<Tagged>());
}

constexpr int kSenders = 5;

struct Outcome {
    std::vector<int> first_order;
    std::uint64_t hash = 0;
    std::uint64_t events = 0;
    RunResult result;
};

Outcome run_program(SimConfig config) {
    Outcome out;
    Simulator sim(config);
    const Pid h = sim.spawn(hub, kSenders, 4, &out.first_order);
    for (int id = 0; id < kSenders; ++id) {
        sim.spawn(chatter, h, id, 4);
    }
    sim.spawn(keeper, 3);
    out.result = sim.run();
    out.hash = sim.trace_hash();
    out.events = sim.trace_events();
    return out;
}

bool is_permutation_of_senders(std::vector<int> order) {
    std::sort(order.begin(), order.end());
    return order == std::vector<int>{0, 1, 2, 3, 4};
}

TEST(Simulator, SameSeedGivesSameTraceHash) {
    // Two simulators running the same program with the same seed produce the same trace.
    for (const std::uint64_t seed : {1ULL, 7ULL, 12345ULL}) {
        const Outcome a = run_program(SimConfig{.seed = seed});
        const Outcome b = run_program(SimConfig{.seed = seed});
        EXPECT_EQ(a.hash, b.hash) << "seed " << seed;
        EXPECT_EQ(a.events, b.events) << "seed " << seed;
        EXPECT_EQ(a.result.steps, b.result.steps) << "seed " << seed;
        EXPECT_EQ(a.result.now, b.result.now) << "seed " << seed;
        EXPECT_EQ(a.first_order, b.first_order) << "seed " << seed;
        EXPECT_TRUE(is_permutation_of_senders(a.first_order)) << "seed " << seed;
        EXPECT_EQ(a.result.stop, RunResult::Stop::idle);
        EXPECT_FALSE(a.result.deadlock());
        EXPECT_GT(a.events, 50U);
        EXPECT_NE(a.hash, Trace::hash_seed);
    }
}

TEST(Simulator, DifferentSeedsGiveDifferentInterleavings) {
    // The random policy explores: among the first 20 seeds the senders' first messages arrive in
    // different orders, and different interleavings never share a hash.
    std::vector<Outcome> outcomes;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        outcomes.push_back(run_program(SimConfig{.seed = seed}));
        EXPECT_TRUE(is_permutation_of_senders(outcomes.back().first_order)) << "seed " << seed;
    }
    std::set<std::vector<int>> orders;
    std::set<std::uint64_t> hashes;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        orders.insert(outcomes[i].first_order);
        hashes.insert(outcomes[i].hash);
        for (std::size_t j = 0; j < i; ++j) {
            if (outcomes[i].first_order != outcomes[j].first_order) {
                EXPECT_NE(outcomes[i].hash, outcomes[j].hash) << "seeds " << i + 1 << ", " << j + 1;
            }
        }
    }
    EXPECT_GT(orders.size(), 1U);
    EXPECT_GE(hashes.size(), orders.size());
    EXPECT_NE(outcomes[0].hash, outcomes[1].hash);  // Seeds 1 and 2.
}

TEST(Simulator, AChooserPicksTheScheduleInsteadOfTheSeed) {
    // SimConfig::choose makes every scheduling choice among n >= 2 runnable processes: the same
    // choices give the same run whatever the seed, and other choices give another run.
    auto always = [](std::size_t pick, std::size_t* calls) {
        return [pick, calls](std::size_t n) {
            EXPECT_GE(n, 2U);
            ++*calls;
            return std::min(pick, n - 1);
        };
    };
    std::size_t calls = 0;
    SimConfig first{.seed = 1};
    first.choose = always(0, &calls);
    SimConfig other_seed{.seed = 99};
    other_seed.choose = always(0, &calls);
    SimConfig last{.seed = 1};
    last.choose = always(100, &calls);
    const Outcome a = run_program(first);
    const Outcome b = run_program(other_seed);
    const Outcome c = run_program(last);
    EXPECT_GT(calls, 0U);
    EXPECT_EQ(a.hash, b.hash);
    EXPECT_EQ(a.first_order, b.first_order);
    EXPECT_NE(a.hash, c.hash);
    EXPECT_TRUE(is_permutation_of_senders(c.first_order));
}

Process round_robin_worker(Self self, int id, std::vector<int>* log) {
    for (int i = 0; i < 3; ++i) {
        log->push_back(id);
        co_await self.yield();
    }
}

TEST(Simulator, FifoPolicyIsDeterministicRoundRobin) {
    // Policy::fifo runs processes in the order they became runnable, whatever the seed.
    const Outcome a = run_program(SimConfig{.seed = 1, .policy = Policy::fifo});
    const Outcome b = run_program(SimConfig{.seed = 99, .policy = Policy::fifo});
    EXPECT_EQ(a.first_order, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(a.first_order, b.first_order);
    EXPECT_EQ(a.hash, b.hash);
    EXPECT_EQ(a.events, b.events);

    for (const std::uint64_t seed : {3ULL, 4ULL}) {
        Simulator sim(SimConfig{.seed = seed, .policy = Policy::fifo});
        std::vector<int> log;
        for (int id = 1; id <= 3; ++id) {
            sim.spawn(round_robin_worker, id, &log);
        }
        sim.run();
        EXPECT_EQ(log, (std::vector<int>{1, 2, 3, 1, 2, 3, 1, 2, 3})) << "seed " << seed;
    }
}

TEST(Simulator, PctPolicyRunsDeterministically) {
    // Policy::pct completes the program; the same seed gives the same run, and seeds differ.
    std::set<std::vector<int>> orders;
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        const SimConfig config{.seed = seed, .policy = Policy::pct, .pct_depth = 3, .pct_steps = 200};
        const Outcome a = run_program(config);
        const Outcome b = run_program(config);
        EXPECT_EQ(a.result.stop, RunResult::Stop::idle) << "seed " << seed;
        EXPECT_FALSE(a.result.deadlock()) << "seed " << seed;
        EXPECT_TRUE(is_permutation_of_senders(a.first_order)) << "seed " << seed;
        EXPECT_EQ(a.hash, b.hash) << "seed " << seed;
        EXPECT_EQ(a.first_order, b.first_order) << "seed " << seed;
        orders.insert(a.first_order);
    }
    EXPECT_GT(orders.size(), 1U);
}

Process note_wake(Self self, int ms, Ticks* woke_at) {
    co_await self.sleep(std::chrono::milliseconds(ms));
    *woke_at = self.now();
}

TEST(Simulator, RunUntilTimeStopsAtTheDeadline) {
    // run_until(t) fires the timers due by t, stops with the clock at exactly t, and resumes.
    Simulator sim(SimConfig{.seed = 1});
    Ticks woke_100 = -1;
    Ticks woke_250 = -1;
    sim.spawn(note_wake, 100, &woke_100);
    sim.spawn(note_wake, 250, &woke_250);
    const RunResult first = sim.run_until(Ticks{100'000'000});
    EXPECT_EQ(first.stop, RunResult::Stop::time_limit);
    EXPECT_EQ(first.now, Ticks{100'000'000});
    EXPECT_EQ(sim.now(), Ticks{100'000'000});
    EXPECT_EQ(woke_100, Ticks{100'000'000});  // Due exactly at the deadline: it ran.
    EXPECT_EQ(woke_250, -1);
    EXPECT_EQ(sim.process_count(), 1U);
    const RunResult second = sim.run_until(Ticks{200'000'000});
    EXPECT_EQ(second.stop, RunResult::Stop::time_limit);
    EXPECT_EQ(second.now, Ticks{200'000'000});
    EXPECT_EQ(second.steps, 0U);
    const RunResult rest = sim.run();
    EXPECT_EQ(rest.stop, RunResult::Stop::idle);
    EXPECT_EQ(woke_250, Ticks{250'000'000});
    EXPECT_EQ(rest.now, Ticks{250'000'000});
    EXPECT_EQ(sim.process_count(), 0U);
}

Process spinner(Self self, int* count) {
    for (;;) {
        ++*count;
        co_await self.yield();
    }
}

TEST(Simulator, RunUntilPredicateStopsWhenItHolds) {
    // The predicate is checked before every step: the run stops at the first step it holds.
    Simulator sim(SimConfig{.seed = 5});
    int count = 0;
    sim.spawn(spinner, &count);
    const RunResult r = sim.run_until([&count] { return count >= 7; });
    EXPECT_EQ(r.stop, RunResult::Stop::predicate);
    EXPECT_EQ(count, 7);
    EXPECT_EQ(r.steps, 7U);
    const RunResult again = sim.run_until([&count] { return count >= 7; });
    EXPECT_EQ(again.stop, RunResult::Stop::predicate);
    EXPECT_EQ(again.steps, 0U);
}

TEST(Simulator, StepLimitStopsARunaway) {
    // set_step_limit bounds each run: a livelocked program stops after exactly that many steps.
    Simulator sim(SimConfig{.seed = 2});
    int count = 0;
    sim.spawn(spinner, &count);
    sim.set_step_limit(10);
    const RunResult r = sim.run();
    EXPECT_EQ(r.stop, RunResult::Stop::step_limit);
    EXPECT_EQ(r.steps, 10U);
    EXPECT_EQ(count, 10);
    const RunResult again = sim.run();
    EXPECT_EQ(again.stop, RunResult::Stop::step_limit);
    EXPECT_EQ(again.steps, 10U);
    EXPECT_EQ(count, 20);
    EXPECT_EQ(sim.steps(), 20U);
}

struct Word {
    std::string text;
};

Process wait_word(Self self) { static_cast<void>(co_await self.receive<Word>()); }
Process finish(Self /*self*/) { co_return; }
Process sleep_then_wait(Self self) {
    co_await self.sleep(10ms);
    static_cast<void>(co_await self.receive<Word>());
}
Process wait_briefly(Self self) { static_cast<void>(co_await self.receive_for<Word>(5ms)); }

/// Sends `quiet` link-table signals (monitor, demonitor, link, unlink in turn) to `target`, then
/// kills it if `kill`, and reports the DOWN of a monitor it kept, if any.
Process table_signals(Self self, Pid target, int quiet, bool keep_monitor, bool kill,
                      std::vector<std::string>* seen) {
    std::optional<MonitorRef> kept;
    for (int i = 0; i < quiet; ++i) {
        switch (i % 4) {
            case 0:
                kept = self.monitor(target);
                break;
            case 1:
                self.demonitor(*kept);
                kept.reset();
                break;
            case 2:
                self.link(target);
                break;
            default:
                self.unlink(target);
                break;
        }
    }
    if (keep_monitor && !kept) {
        kept = self.monitor(target);
    }
    if (kill) {
        self.exit(target, ExitReason::kill());
    }
    if (!kill) {  // Stays, so that its exit sends the sleeper nothing.
        static_cast<void>(co_await self.receive<Word>());
    }
    if (kept) {
        const DownMsg down = co_await self.receive<DownMsg>();
        seen->push_back(down.ref == *kept ? down.reason.to_string() : "another reference");
        const std::optional<DownMsg> extra = co_await self.receive_for<DownMsg>(1ms);
        if (extra) {
            seen->push_back("a second DOWN");
        }
    }
}

TEST(Simulator, QuietSignalsLeaveASleepingProcessAsleep) {
    // Link, unlink, monitor and demonitor only change the receiver's tables: a process asleep in
    // receive is not woken to apply up to three of them, and the fourth wakes it (so a process
    // monitored over and over while it sleeps applies them now and then).
    for (const int quiet : {1, 3, 4}) {
        Simulator sim(SimConfig{.seed = 3});
        const Pid sleeper = sim.spawn(wait_word);
        sim.run();
        const std::uint64_t before = sim.steps();
        std::vector<std::string> seen;
        const Pid sender = sim.spawn(table_signals, sleeper, quiet, false, false, &seen);
        sim.run();
        const std::uint64_t woken = quiet > 3 ? 1 : 0;
        EXPECT_EQ(sim.steps() - before, 1 + woken) << quiet << " quiet signals";
        EXPECT_EQ(sim.live_processes(), (std::vector<Pid>{sleeper, sender}));
    }
}

TEST(Simulator, QuietSignalsHeldBySleepingProcessApplyBeforeItExits) {
    // A monitor or demonitor still waiting in a sleeping process's inbox when it is killed is
    // applied first: a kept monitor gets its DOWN, a dropped one gets none (§2.2, §2.3).
    for (const int quiet : {1, 2}) {  // A monitor kept; a monitor dropped, then another kept.
        Simulator sim(SimConfig{.seed = 4});
        const Pid sleeper = sim.spawn(wait_word);
        sim.run();
        std::vector<std::string> seen;
        sim.spawn(table_signals, sleeper, quiet, true, true, &seen);
        const RunResult r = sim.run();
        EXPECT_FALSE(r.deadlock()) << quiet;
        EXPECT_EQ(seen, std::vector<std::string>{"killed"}) << quiet;
        EXPECT_TRUE(sim.live_processes().empty()) << quiet;
    }
}

TEST(Simulator, DeadlockReportListsExactlyTheStuckProcesses) {
    // When the run goes idle, the processes left waiting forever are reported, in pid order.
    Simulator sim(SimConfig{.seed = 8});
    const Pid a = sim.spawn(wait_word);
    const Pid b = sim.spawn(wait_word);
    sim.spawn(finish);
    const Pid d = sim.spawn(sleep_then_wait);
    sim.spawn(wait_briefly);
    sim.send(b, Tagged{0, 0});  // A message it does not want: still stuck.
    const Pid fed = sim.spawn(wait_word);
    sim.send(fed, Word{"here"});
    const RunResult r = sim.run();
    EXPECT_EQ(r.stop, RunResult::Stop::idle);
    ASSERT_TRUE(r.deadlock());
    EXPECT_EQ(r.deadlocked, (std::vector<Pid>{a, b, d}));
    EXPECT_EQ(sim.live_processes(), (std::vector<Pid>{a, b, d}));
    EXPECT_EQ(r.now, Ticks{10'000'000});
}

TEST(Simulator, TraceJsonLinesMatchTheHash) {
    // SimConfig::trace_out gets one JSON object per event with i, t, ev, a, b, x and h, and the
    // last line's h is the run's hash (docs/trace-format.md).
    std::ostringstream out;
    SimConfig config{.seed = 3};
    config.trace_out = &out;
    Simulator sim(config);
    std::vector<int> order;
    const Pid h = sim.spawn(hub, 2, 2, &order);
    sim.spawn(chatter, h, 0, 2);
    sim.spawn(chatter, h, 1, 2);
    sim.spawn(keeper, 1);
    sim.run();

    static const std::regex line_re(
        R"re(\{"i":(\d+),"t":(\d+),"ev":"([a-z]+)","a":(\d+),"b":(\d+),"x":(\d+))re"
        R"re((,"reason":"(?:[^"\\]|\\.)*")?(,"detail":"(?:[^"\\]|\\.)*")?)re"
        R"re(,"h":"([0-9a-f]{16})"\})re");
    const std::set<std::string> kinds = {"spawn",  "send",      "deliver", "drop",
                                         "exit",   "link",      "unlink",  "monitor",
                                         "demonitor", "down",   "timer",   "timeout",
                                         "fault"};
    std::istringstream in(out.str());
    std::string line;
    std::uint64_t n = 0;
    std::uint64_t last_t = 0;
    std::string last_h;
    std::set<std::string> seen;
    while (std::getline(in, line)) {
        std::smatch m;
        ASSERT_TRUE(std::regex_match(line, m, line_re)) << line;
        EXPECT_EQ(std::stoull(m[1].str()), n) << line;
        const std::uint64_t t = std::stoull(m[2].str());
        EXPECT_GE(t, last_t) << line;
        last_t = t;
        EXPECT_EQ(kinds.count(m[3].str()), 1U) << line;
        seen.insert(m[3].str());
        if (m[3].str() == "exit" || m[3].str() == "down") {
            EXPECT_TRUE(m[7].matched) << "no reason: " << line;
        }
        last_h = m[9].str();
        ++n;
    }
    EXPECT_EQ(n, sim.trace_events());
    EXPECT_GT(n, 20U);
    char expected[17];
    std::snprintf(expected, sizeof expected, "%016llx",
                  static_cast<unsigned long long>(sim.trace_hash()));
    EXPECT_EQ(last_h, std::string(expected));
    for (const char* kind : {"spawn", "send", "deliver", "exit", "link", "monitor", "down", "timer"}) {
        EXPECT_EQ(seen.count(kind), 1U) << kind;
    }
}

}  // namespace
}  // namespace bedlam
