// Interposition points: the simulator consults an installed Interposer before delivering a
// signal, before resuming a process and before firing a timer, and tells it about spawns and
// exits. These tests install small scripted interposers and check each decision takes effect.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/application.hpp"
#include "bedlam/runtime/supervisor.hpp"

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
    std::uint8_t on_spawn(const SpawnInfo& info) override {
        spawned.emplace_back(info.child, info.parent);
        return watch_all;
    }
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

// == Stalls: a slow process and a hung one ===========================================================

/// Stalls `victim` for `delay` at each resumption (stall_forever: a hung process).
class StallOnResume final : public Interposer {
public:
    StallOnResume(Pid victim, Ticks delay) : victim_(victim), delay_(delay) {}
    ResumeDecision before_resume(Pid pid) override {
        if (pid != victim_) {
            return {};
        }
        ++stalls;
        return ResumeDecision{ResumeDecision::Action::stall, {}, delay_};
    }
    int stalls = 0;

private:
    Pid victim_;
    Ticks delay_;
};

TEST(Interposer, StallDelaysEveryResumptionOfASlowProcess) {
    // The collector (pid 1) is stalled 3 ms at each resumption: its first run and each of the
    // five messages it takes; no message is lost and the order stays.
    StallOnResume hook(Pid{1}, 3'000'000);
    Inbox inbox;
    EXPECT_EQ(run_with(&hook, &inbox), (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(inbox.at, (std::vector<Ticks>{6'000'000, 9'000'000, 12'000'000, 15'000'000,
                                            18'000'000}));
    EXPECT_EQ(hook.stalls, 7);  // The first run, five messages, and the final time-out.
}

Process kill_later(Self self, Pid victim, Duration after) {
    co_await self.sleep(after);
    self.exit(victim, ExitReason::kill());
}

TEST(Interposer, HungProcessTakesNoMessageButCanBeKilledOrWoken) {
    for (const bool wake : {false, true}) {
        StallOnResume hook(Pid{1}, stall_forever);
        Simulator sim(SimConfig{.seed = 4, .policy = Policy::fifo});
        sim.set_interposer(&hook);
        Inbox inbox;
        Seen seen;
        const Pid c = sim.spawn(collector, &inbox);
        sim.spawn(producer, c, 3);
        sim.run_until(Ticks{50'000'000});
        EXPECT_TRUE(inbox.got.empty());  // Hung from its first resumption.
        if (wake) {
            sim.set_interposer(nullptr);  // Healed: the next resumptions go through.
            sim.wake(c);
            sim.run();
            EXPECT_EQ(inbox.got, (std::vector<int>{0, 1, 2}));
        } else {
            sim.spawn(kill_later, c, Duration(1ms));
            sim.run();
            EXPECT_FALSE(sim.is_alive(c));
            EXPECT_TRUE(inbox.got.empty());
        }
    }
}

// == Fault points, services, timed actions, spawn labels ==============================================

struct Outcome {
    std::vector<std::string> notes;
};

Process probe_sites(Self self, Outcome* out) {
    out->notes.push_back(std::string("point ") + (BEDLAM_FAULT_POINT("db.write") ? "fails" : "ok"));
    out->notes.push_back(std::string("other ") + (BEDLAM_FAULT_POINT("db.read") ? "fails" : "ok"));
    out->notes.push_back(std::string("db ") + (service_available("db") ? "up" : "down"));
    co_await self.sleep(10ms);
    out->notes.push_back(std::string("db ") + (service_available("db") ? "up" : "down"));
}

/// Fails fault point db.write; the service db is down until 5 ms; at 5 ms it acts (brings db
/// back up) and notes the time.
class World final : public Interposer {
public:
    bool fault_point(Pid /*pid*/, std::string_view name) override { return name == "db.write"; }
    bool service_available(Pid /*pid*/, std::string_view name) override {
        return name != "db" || db_up_;
    }
    [[nodiscard]] Ticks next_action() const override { return db_up_ ? never : 5'000'000; }
    void act(Runtime& runtime, Ticks now) override {
        db_up_ = true;
        acted_at = now;
        acted_clock = runtime.now();
    }
    Ticks acted_at = -1;
    Ticks acted_clock = -1;

private:
    bool db_up_ = false;
};

TEST(Interposer, FaultPointsServicesAndTimedActions) {
    World hook;
    Simulator sim(SimConfig{.seed = 2});
    sim.set_interposer(&hook);
    Outcome out;
    sim.spawn(probe_sites, &out);
    sim.run();
    EXPECT_EQ(out.notes, (std::vector<std::string>{"point fails", "other ok", "db down", "db up"}));
    EXPECT_EQ(hook.acted_at, Ticks{5'000'000});  // The clock stopped there for the action.
    EXPECT_EQ(hook.acted_clock, Ticks{5'000'000});
}

TEST(Interposer, FaultPointsAreOffWithoutAnInterposer) {
    Simulator sim(SimConfig{.seed = 2});
    Outcome out;
    sim.spawn(probe_sites, &out);
    sim.run();
    EXPECT_EQ(out.notes, (std::vector<std::string>{"point ok", "other ok", "db up", "db up"}));
    EXPECT_FALSE(BEDLAM_FAULT_POINT("db.write"));  // Outside any process.
}

TEST(Interposer, ATimedActionAloneKeepsTheClockGoing) {
    // No process at all: the run still stops the clock at the action, then ends idle.
    World hook;
    Simulator sim(SimConfig{.seed = 2});
    sim.set_interposer(&hook);
    const RunResult r = sim.run();
    EXPECT_EQ(hook.acted_at, Ticks{5'000'000});
    EXPECT_EQ(r.now, Ticks{5'000'000});
}

struct Job {
    int id;
};
struct Plain {
    int id;
};

}  // namespace
}  // namespace bedlam

BEDLAM_MESSAGE_NAME(bedlam::Job, "job");

namespace bedlam {
namespace {

class Labels final : public Interposer {
public:
    std::uint8_t on_spawn(const SpawnInfo& info) override {
        spawns.push_back(std::to_string(info.child.id) + " " + std::string(info.path) + " " +
                         to_string(info.kind));
        return watch_all;
    }
    DeliveryDecision before_deliver(const DeliveryInfo& info) override {
        if (info.is_message) {
            types.emplace_back(info.type != nullptr ? info.type : "-");
        }
        return {};
    }
    std::vector<std::string> spawns;
    std::vector<std::string> types;
};

Process idle_child(Self self) { co_await self.receive<Plain>(); }

Process labeller(Self self) {
    self.spawn(idle_child);  // No path.
    self.set_child_path("app/pool/conn1");
    const Pid placed = self.spawn(idle_child);
    self.set_child_path("");
    self.spawn_opt(SpawnOptions{.kind = ProcessKind::task}, idle_child);
    self.send(placed, Job{1});
    self.send(placed, Plain{2});
    co_return;
}

TEST(Interposer, SpawnInfoCarriesPathAndKindAndDeliveriesTheTypeName) {
    Labels hook;
    Simulator sim(SimConfig{.seed = 1, .policy = Policy::fifo});
    sim.set_interposer(&hook);
    sim.spawn(labeller);
    sim.run();
    EXPECT_EQ(hook.spawns, (std::vector<std::string>{"1  process", "2  process",
                                                     "3 app/pool/conn1 process", "4  task"}));
    EXPECT_EQ(hook.types, (std::vector<std::string>{"job", "-"}));
}

Process forever(Self self) { co_await self.receive<Plain>(); }

Async<StartResult> start_forever(Self self, const Any& /*extra*/) {
    co_return StartResult{StartResult::Kind::ok, self.spawn_link(forever), {}};
}

Process start_app(Self self) {
    std::vector<ChildSpec> pool{ChildSpec("conn1", start_forever), ChildSpec("conn2", start_forever)};
    std::vector<ChildSpec> top{supervisor_spec("pool", SupFlags(Strategy::one_for_one, 3, 5), pool),
                               ChildSpec("web", start_forever)};
    const StartResult app =
        co_await start_application(self, "app", SupFlags(Strategy::one_for_all, 3, 5), top);
    BEDLAM_ASSERT(app.ok());
    co_await stop_application(self, "app");
}

TEST(Interposer, SupervisorsPlaceTheirChildrenInTheTree) {
    // The application names the root; each supervisor adds its child's id; supervisors are
    // spawned with their kind.
    Labels hook;
    Simulator sim(SimConfig{.seed = 1, .policy = Policy::fifo});
    sim.set_interposer(&hook);
    sim.spawn(start_app);
    sim.run();
    std::vector<std::string> placed;
    for (const std::string& s : hook.spawns) {
        if (s.find(" app") != std::string::npos) {
            placed.push_back(s.substr(s.find(' ') + 1));
        }
    }
    EXPECT_EQ(placed, (std::vector<std::string>{"app supervisor", "app/pool supervisor",
                                                "app/pool/conn1 process", "app/pool/conn2 process",
                                                "app/web process"}));
}

}  // namespace
}  // namespace bedlam
