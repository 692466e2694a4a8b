// Interposition points: the simulator consults an installed Interposer before delivering a
// signal, before resuming a process and before firing a timer, and tells it about spawns and
// exits. These tests install small scripted interposers and check each decision takes effect.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bedlam/runtime.hpp"

namespace bedlam {
namespace {

using namespace std::chrono_literals;

struct Num {
    int n;
};

struct Inbox {
    std::vector<int> got;
    std::vector<Ticks> at;
};

Process collector(Self self, Inbox* inbox) {
    for (;;) {
        const std::optional<Num> m = co_await self.receive_for<Num>(1s);
        if (!m) {
            co_return;
        }
        inbox->got.push_back(m->n);
        inbox->at.push_back(self.now());
    }
}

Process producer(Self self, Pid to, int count) {
    for (int i = 0; i < count; ++i) {
        self.send(to, Num{i});
    }
    co_return;
}

// Applies `decision` to the nth user message sent (1-based); every other signal is delivered.
class ScriptedDelivery final : public Interposer {
public:
    ScriptedDelivery(int nth, DeliveryDecision decision) : nth_(nth), decision_(decision) {}
    DeliveryDecision before_deliver(const DeliveryInfo& info) override {
        if (!info.is_message) {
            return {};
        }
        ++messages_;
        return messages_ == nth_ ? decision_ : DeliveryDecision{};
    }

private:
    int nth_;
    DeliveryDecision decision_;
    int messages_ = 0;
};

std::vector<int> run_with(Interposer* hook, Inbox* inbox) {
    Simulator sim(SimConfig{.seed = 9, .policy = Policy::fifo});
    sim.set_interposer(hook);
    const Pid c = sim.spawn(collector, inbox);
    sim.spawn(producer, c, 5);
    sim.run();
    return inbox->got;
}

TEST(Interposer, NoneInstalledDeliversEverythingInOrder) {
    Inbox inbox;
    EXPECT_EQ(run_with(nullptr, &inbox), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Interposer, NullInterposerChangesNothingIncludingTheHash) {
    Interposer null_hook;
    auto hash_of = [](Interposer* hook) {
        Simulator sim(SimConfig{.seed = 3});
        sim.set_interposer(hook);
        Inbox inbox;
        const Pid c = sim.spawn(collector, &inbox);
        sim.spawn(producer, c, 20);
        sim.run();
        return sim.trace_hash();
    };
    EXPECT_EQ(hash_of(nullptr), hash_of(&null_hook));
}

TEST(Interposer, DropLosesExactlyThatMessage) {
    ScriptedDelivery hook(3, DeliveryDecision{DeliveryDecision::Action::drop, 0});
    Inbox inbox;
    EXPECT_EQ(run_with(&hook, &inbox), (std::vector<int>{0, 1, 3, 4}));
}

TEST(Interposer, DuplicateDeliversACopy) {
    ScriptedDelivery hook(2, DeliveryDecision{DeliveryDecision::Action::duplicate, 0});
    Inbox inbox;
    EXPECT_EQ(run_with(&hook, &inbox), (std::vector<int>{0, 1, 1, 2, 3, 4}));
}

TEST(Interposer, DelayDeliversLaterOnTheVirtualClock) {
    ScriptedDelivery hook(1, DeliveryDecision{DeliveryDecision::Action::delay, 5'000'000});
    Inbox inbox;
    EXPECT_EQ(run_with(&hook, &inbox), (std::vector<int>{1, 2, 3, 4, 0}));
    EXPECT_EQ(inbox.at.back(), Ticks{5'000'000});
}

class CrashOnResume final : public Interposer {
public:
    explicit CrashOnResume(Pid victim) : victim_(victim) {}
    ResumeDecision before_resume(Pid pid) override {
        if (pid == victim_) {
            return ResumeDecision{ResumeDecision::Action::crash, ExitReason::error("injected")};
        }
        return {};
    }
    void on_spawn(Pid child, Pid parent) override { spawned.emplace_back(child, parent); }
    void on_exit(Pid pid, const ExitReason& reason) override { exits.emplace_back(pid, reason); }

    std::vector<std::pair<Pid, Pid>> spawned;
    std::vector<std::pair<Pid, ExitReason>> exits;

private:
    Pid victim_;
};

struct Seen {
    std::vector<ExitReason> downs;
};

Process watcher(Self self, Seen* seen) {
    const auto [child, ref] = self.spawn_monitor(collector, static_cast<Inbox*>(nullptr));
    static_cast<void>(ref);
    static_cast<void>(child);
    const DownMsg down = co_await self.receive<DownMsg>();
    seen->downs.push_back(down.reason);
}

TEST(Interposer, CrashBeforeResumeEndsTheProcessAndHooksSeeSpawnAndExit) {
    // Pid 1 is the watcher, pid 2 the collector it monitors: crash pid 2 when it first runs.
    CrashOnResume hook(Pid{2});
    Seen seen;
    Simulator sim(SimConfig{.seed = 1});
    sim.set_interposer(&hook);
    sim.spawn(watcher, &seen);
    sim.run();
    ASSERT_EQ(seen.downs.size(), 1U);
    EXPECT_EQ(seen.downs[0], ExitReason::error("injected"));
    ASSERT_EQ(hook.spawned.size(), 2U);
    EXPECT_EQ(hook.spawned[1], (std::pair{Pid{2}, Pid{1}}));
    ASSERT_EQ(hook.exits.size(), 2U);
    EXPECT_EQ(hook.exits[0], (std::pair{Pid{2}, ExitReason::error("injected")}));
    EXPECT_EQ(hook.exits[1], (std::pair{Pid{1}, ExitReason::normal()}));
}

class SkewTimers final : public Interposer {
public:
    Ticks before_timer(Pid /*target*/, TimerRef /*ref*/) override { return 7'000'000; }
};

Process nap(Self self, Ticks* woke) {
    co_await self.sleep(10ms);
    *woke = self.now();
}

TEST(Interposer, TimerSkewMakesTimersFireLateOnce) {
    SkewTimers hook;
    Simulator sim;
    sim.set_interposer(&hook);
    Ticks woke = 0;
    sim.spawn(nap, &woke);
    sim.run();
    EXPECT_EQ(woke, Ticks{17'000'000});
}

}  // namespace
}  // namespace bedlam
