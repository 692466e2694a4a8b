// The Injector: each fault kind shows its effect on a small supervised system, and every run
// replays to the same trace hash. docs/chaos.md defines what each kind does.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "bedlam/chaos/injector.hpp"
#include "bedlam/runtime.hpp"
#include "bedlam/runtime/application.hpp"
#include "bedlam/runtime/supervisor.hpp"

namespace bedlam::chaos::test {

struct Job {
    int n;
};

}  // namespace bedlam::chaos::test

BEDLAM_MESSAGE_NAME(bedlam::chaos::test::Job, "job");

namespace bedlam::chaos::test {
namespace {

using namespace std::chrono_literals;
constexpr Ticks ms = 1'000'000;

/// What the system did, line by line, each stamped with the virtual time in ms. Locked, for
/// the threaded scheduler's tests.
struct Log {
    std::vector<std::string> lines;
    std::map<std::string, int> counts;
    mutable std::mutex mutex;

    void note(Self self, const std::string& what) {
        const std::lock_guard lock(mutex);
        lines.push_back(std::to_string(self.now() / ms) + " " + what);
        ++counts[what];
    }
    void bump(const std::string& what) {
        const std::lock_guard lock(mutex);
        ++counts[what];
    }
    [[nodiscard]] int count(const std::string& what) const {
        const std::lock_guard lock(mutex);
        auto it = counts.find(what);
        return it == counts.end() ? 0 : it->second;
    }
    /// Lines containing `part`.
    [[nodiscard]] std::vector<std::string> with(const std::string& part) const {
        std::vector<std::string> out;
        std::copy_if(lines.begin(), lines.end(), std::back_inserter(out),
                     [&](const std::string& l) { return l.find(part) != std::string::npos; });
        return out;
    }
    /// Lines containing `part`, those of one instant in text order: which of two processes made
    /// runnable at the same instant runs first is the seed's choice, not what a test checks.
    [[nodiscard]] std::vector<std::string> with_instants_sorted(const std::string& part) const {
        std::vector<std::string> out = with(part);
        std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
            const long ta = std::stol(a);
            const long tb = std::stol(b);
            return ta != tb ? ta < tb : a < b;
        });
        return out;
    }
};

struct Ping {
    Pid from;
    int n;
};
struct Pong {
    int n;
};
struct Tick {
    Pid from;
    int n;
};

/// A worker registered under its id. It answers pings, notes jobs and flood messages, and fails
/// at the fault point worker.ping. The worker "conn" needs the service "db" to start: without
/// it, it waits 10 ms (a connect time-out) and exits.
Process worker(Self self, Log* log, std::string id) {
    if (id == "conn" && !service_available("db")) {
        co_await self.sleep(10ms);
        log->note(self, "conn refused");
        self.exit(ExitReason::error("econnrefused"));
    }
    self.register_name(id, self.pid());
    log->note(self, "start " + id);
    for (;;) {
        co_await self.receive(
            [&](Ping p) {
                if (BEDLAM_FAULT_POINT("worker.ping")) {
                    throw std::runtime_error("fault point");
                }
                self.send(p.from, Pong{p.n});
            },
            [&](Job j) { log->note(self, id + " job " + std::to_string(j.n)); },
            [&](Tick t) {
                log->note(self, id + " tick " + std::to_string(t.from.id) + ":" + std::to_string(t.n));
            },
            [&](Flood) { log->bump(id + " flood"); });
    }
}

/// Pings `name` every 5 ms, `rounds` times, waiting up to 4 ms for each pong; notes "<name> ok"
/// or "<name> timeout" (or "<name> absent" when no process has the name).
Process pinger(Self self, Log* log, std::string name, int rounds) {
    for (int n = 0; n < rounds; ++n) {
        co_await self.sleep(5ms);
        const std::optional<Pid> to = self.whereis(name);
        if (!to) {
            log->note(self, name + " absent");
            continue;
        }
        self.send(*to, Ping{self.pid(), n});
        const bool got = co_await self
                             .receive(when([n](const Pong& p) { return p.n == n; },
                                           [](Pong) { return true; }))
                             .after(4ms, [] { return false; });
        log->note(self, name + (got ? " ok" : " timeout"));
    }
}

/// Notes every exit of the process registered as `name`: "down <name> <reason>".
Process observer(Self self, Log* log, std::string name, int downs) {
    for (int seen = 0; seen < downs;) {
        const std::optional<Pid> pid = self.whereis(name);
        if (!pid) {
            co_await self.sleep(1ms);
            continue;
        }
        const MonitorRef ref = self.monitor(*pid);
        const DownMsg d = co_await self.receive(
            when([ref](const DownMsg& m) { return m.ref == ref; }, [](DownMsg m) { return m; }));
        log->note(self, "down " + name + " " + d.reason.to_string());
        ++seen;
    }
}

ChildSpec worker_spec(Log* log, const std::string& id) {
    return ChildSpec::process(id, worker, log, id);
}

/// app (one_for_one) -> pool (one_for_one) -> w1, w2, w3; intensity high enough that chaos
/// never makes it give up.
Process boot(Self self, Log* log, bool with_conn) {
    std::vector<ChildSpec> pool{worker_spec(log, "w1"), worker_spec(log, "w2"),
                                worker_spec(log, "w3")};
    if (with_conn) {
        pool.push_back(worker_spec(log, "conn"));
    }
    std::vector<ChildSpec> top{
        supervisor_spec("pool", SupFlags(Strategy::one_for_one, 1000, 1), pool)};
    const StartResult app =
        co_await start_application(self, "app", SupFlags(Strategy::one_for_one, 1000, 1), top);
    if (!app.ok()) {
        log->note(self, "app failed " + app.reason.to_string());
    }
}

struct Outcome {
    std::uint64_t hash = 0;
    Log log;
    FaultCounts counts;

    Outcome() = default;
    Outcome(Outcome&& other) noexcept
        : hash(other.hash), counts(other.counts) {
        log.lines = std::move(other.log.lines);
        log.counts = std::move(other.log.counts);
    }
};

/// Boots the system under `plan` with `seed`, runs `extra` processes, and stops at `until`.
template <typename Extra>
Outcome run_system(const Plan& plan, std::uint64_t seed, Ticks until, Extra extra,
               bool with_conn = false) {
    Outcome run;
    Simulator sim(SimConfig{.seed = seed});
    Injector injector(sim, plan, seed);
    injector.install();
    sim.spawn(boot, &run.log, with_conn);
    extra(sim, run.log);
    sim.run_until(until);
    run.hash = sim.trace_hash();
    run.counts = injector.counts();
    return run;
}

Outcome run_system(const Plan& plan, std::uint64_t seed, Ticks until) {
    return run_system(plan, seed, until, [](Simulator&, Log&) {});
}

Fault at(FaultKind kind, Ticks when, Target target) {
    Fault f;
    f.kind = kind;
    f.at = when;
    f.target = std::move(target);
    return f;
}

Fault window(FaultKind kind, Target target, double probability, Ticks from, Ticks until) {
    Fault f;
    f.kind = kind;
    f.target = std::move(target);
    f.probability = probability;
    f.from = from;
    f.until = until;
    return f;
}

Plan plan_of(std::vector<Fault> faults, Ticks faults_until = never) {
    Plan p;
    p.faults = std::move(faults);
    p.faults_until = faults_until;
    return p;
}

/// Runs twice: the same seed must give the same hash and the same log.
template <typename... A>
Outcome replayed(const Plan& plan, std::uint64_t seed, Ticks until, A... extra) {
    Outcome a = run_system(plan, seed, until, extra...);
    Outcome b = run_system(plan, seed, until, extra...);
    EXPECT_EQ(a.hash, b.hash) << "seed " << seed << " did not replay";
    EXPECT_EQ(a.log.lines, b.log.lines);
    return a;
}

auto observe(std::string name, int downs) {
    return [name, downs](Simulator& sim, Log& log) { sim.spawn(observer, &log, name, downs); };
}

auto ping(std::string name, int rounds) {
    return [name, rounds](Simulator& sim, Log& log) { sim.spawn(pinger, &log, name, rounds); };
}

// == Process faults ===================================================================================

TEST(Chaos, KillIsUntrappableAndTheSupervisorRestarts) {
    const Plan plan = plan_of({at(FaultKind::kill, 10 * ms, Target::path("app/pool/w2"))});
    const Outcome r = replayed(plan, 1, 100 * ms, observe("w2", 1));
    EXPECT_EQ(r.log.with("w2"), (std::vector<std::string>{"0 start w2", "10 down w2 killed",
                                                          "10 start w2"}));
    EXPECT_EQ(r.counts.of(FaultKind::kill), 1U);
    EXPECT_EQ(r.counts.total(), 1U);
}

TEST(Chaos, CrashRaisesAtTheNextResumption) {
    Fault crash = at(FaultKind::crash, 12 * ms, Target::name("w1"));
    crash.reason = ExitReason::error("boom");
    const Outcome r = replayed(plan_of({crash}), 2, 100 * ms, [](Simulator& sim, Log& log) {
        sim.spawn(observer, &log, std::string("w1"), 1);
        sim.spawn(pinger, &log, std::string("w1"), 4);
    });
    // w1 next resumes for the ping at 15 ms: it dies then, unanswered, and is restarted.
    EXPECT_EQ(r.log.with_instants_sorted("w1"),
              (std::vector<std::string>{"0 start w1", "5 w1 ok", "10 w1 ok", "15 down w1 boom",
                                        "15 start w1", "19 w1 timeout", "24 w1 ok"}));
}

TEST(Chaos, ExitSignalWithAChosenReason) {
    Fault exit = at(FaultKind::exit, 5 * ms, Target::path("app/pool/w*"));
    exit.reason = ExitReason::shutdown("chaos");
    exit.every = true;
    const Outcome r = replayed(plan_of({exit}), 3, 50 * ms, [](Simulator& sim, Log& log) {
        for (const char* w : {"w1", "w2", "w3"}) {
            sim.spawn(observer, &log, std::string(w), 1);
        }
    });
    EXPECT_EQ(r.log.with("down").size(), 3U);
    EXPECT_EQ(r.log.count("down w2 {shutdown,chaos}"), 1);
    EXPECT_EQ(r.log.count("start w3"), 2);
}

TEST(Chaos, TargetsByBehaviourKind) {
    // The kill picks one of the two supervisors (app's root, app/pool); either way its parent
    // (or the application) restarts it and the workers come back.
    const Plan plan =
        plan_of({at(FaultKind::kill, 10 * ms, Target::of_kind(ProcessKind::supervisor))});
    const Outcome r = replayed(plan, 21, 100 * ms, ping("w1", 4));
    EXPECT_EQ(r.counts.of(FaultKind::kill), 1U);
    EXPECT_EQ(r.log.count("start w1"), 2);  // The pool went down with w1 in it.
    // Aimed at a kind no process has, the fault strikes nothing.
    const Plan none =
        plan_of({at(FaultKind::kill, 10 * ms, Target::of_kind(ProcessKind::state_machine))});
    EXPECT_EQ(run_system(none, 21, 100 * ms).counts.total(), 0U);
}

TEST(Chaos, StochasticKillsStopAtFaultsUntil) {
    Fault kills;
    kills.kind = FaultKind::kill;
    kills.target = Target::path("app/pool/*");
    kills.rate = 200;  // Per virtual second: about 10 in 50 ms.
    const Outcome r = replayed(plan_of({kills}, 50 * ms), 4, 200 * ms);
    EXPECT_GE(r.counts.of(FaultKind::kill), 4U);
    EXPECT_LE(r.counts.of(FaultKind::kill), 20U);
    for (const std::string& line : r.log.with("start")) {
        EXPECT_LE(std::stoll(line), 50) << "a kill after faults_until: " << line;
    }
    EXPECT_EQ(r.log.with("start").size(), 3 + r.counts.of(FaultKind::kill));
}

// == Network faults ===================================================================================

TEST(Chaos, DropLosesMessagesOnlyInsideTheWindow) {
    const Plan plan = plan_of({window(FaultKind::drop, Target::name("w1"), 1.0, 0, 22 * ms)});
    const Outcome r = replayed(plan, 5, 100 * ms, ping("w1", 6));
    // Pings at 5 and 14 ms are lost (each waits 4 ms, then 5 ms to the next); the one at 23 ms
    // is past the window.
    EXPECT_EQ(r.log.with("w1 "), (std::vector<std::string>{"9 w1 timeout", "18 w1 timeout",
                                                          "23 w1 ok", "28 w1 ok", "33 w1 ok",
                                                          "38 w1 ok"}));
    EXPECT_EQ(r.counts.of(FaultKind::drop), 2U);
}

/// Sends Tick{n} to `name` from this process, `count` times, 1 ms apart.
Process ticker(Self self, std::string name, int count) {
    std::optional<Pid> found;
    for (;;) {
        co_await self.sleep(1ms);
        found = self.whereis(name);
        if (found) {
            break;
        }
    }
    const Pid to = *found;
    for (int n = 0; n < count; ++n) {
        self.send(to, Tick{self.pid(), n});
        co_await self.sleep(1ms);
    }
}

/// The ticks w1 saw, by sender, in arrival order.
std::map<std::string, std::vector<int>> ticks_by_sender(const Log& log) {
    std::map<std::string, std::vector<int>> out;
    for (const std::string& line : log.with("w1 tick ")) {
        const std::string rest = line.substr(line.find("tick ") + 5);
        out[rest.substr(0, rest.find(':'))].push_back(std::stoi(rest.substr(rest.find(':') + 1)));
    }
    return out;
}

auto two_tickers(int count) {
    return [count](Simulator& sim, Log&) {
        sim.spawn(ticker, std::string("w1"), count);
        sim.spawn(ticker, std::string("w1"), count);
    };
}

bool in_order(const std::vector<int>& v) { return std::is_sorted(v.begin(), v.end()); }

TEST(Chaos, DelayHoldsMessagesButKeepsEachSendersOrder) {
    Fault delay = window(FaultKind::delay, Target::name("w1"), 0.5, 0, never);
    delay.min_delay = 0;
    delay.max_delay = 10 * ms;
    const Outcome r = replayed(plan_of({delay}), 6, 200 * ms, two_tickers(30));
    const auto by_sender = ticks_by_sender(r.log);
    ASSERT_EQ(by_sender.size(), 2U);
    for (const auto& [sender, ticks] : by_sender) {
        EXPECT_EQ(ticks.size(), 30U) << sender;  // Nothing lost...
        EXPECT_TRUE(in_order(ticks)) << sender;  // ...and no overtaking within a pair.
    }
    EXPECT_GT(r.counts.of(FaultKind::delay), 5U);
}

TEST(Chaos, DuplicateDeliversTwice) {
    const Plan plan = plan_of({window(FaultKind::duplicate, Target::name("w1"), 1.0, 0, never)});
    const Outcome r = replayed(plan, 7, 100 * ms, [](Simulator& sim, Log&) {
        sim.spawn(ticker, std::string("w1"), 3);
    });
    std::vector<int> got = ticks_by_sender(r.log).begin()->second;
    EXPECT_EQ(got, (std::vector<int>{0, 0, 1, 1, 2, 2}));
}

TEST(Chaos, ReorderInterleavesSendersAndBreaksPairOrderOnlyWhenAsked) {
    auto interleaving = [](const Log& log) {
        std::string s;
        for (const std::string& line : log.with("w1 tick ")) {
            s += line.substr(line.find("tick ") + 5) + " ";
        }
        return s;
    };
    const Outcome calm = run_system(Plan{}, 8, 200 * ms, two_tickers(40));
    Fault reorder = window(FaultKind::reorder, Target::name("w1"), 0.5, 0, never);
    reorder.max_delay = 3 * ms;
    const Outcome kept = replayed(plan_of({reorder}), 8, 200 * ms, two_tickers(40));
    EXPECT_NE(interleaving(kept.log), interleaving(calm.log));
    for (const auto& [sender, ticks] : ticks_by_sender(kept.log)) {
        EXPECT_EQ(ticks.size(), 40U);
        EXPECT_TRUE(in_order(ticks)) << sender;
    }
    reorder.break_pair_order = true;
    const Outcome broken = replayed(plan_of({reorder}), 8, 200 * ms, two_tickers(40));
    bool inverted = false;
    for (const auto& [sender, ticks] : ticks_by_sender(broken.log)) {
        EXPECT_EQ(ticks.size(), 40U);
        inverted = inverted || !in_order(ticks);
    }
    EXPECT_TRUE(inverted) << "break_pair_order never let a message overtake";
    EXPECT_NE(broken.hash, kept.hash);
}

// == Toxic faults =====================================================================================

TEST(Chaos, ServiceDownMakesEveryStartFailUntilItReturns) {
    Fault down = at(FaultKind::service_down, 0, Target::all());
    down.name = "db";
    down.duration = 45 * ms;
    const Outcome r = replayed(plan_of({down}), 9, 100 * ms, [](Simulator&, Log&) {}, true);
    // Each attempt fails after its 10 ms connect time-out; the one that starts at 50 ms works.
    EXPECT_EQ(r.log.count("conn refused"), 5);
    EXPECT_EQ(r.log.with("start conn"), (std::vector<std::string>{"50 start conn"}));
}

TEST(Chaos, ServiceDownThatPersistsOutlivesFaultsUntil) {
    Fault down = at(FaultKind::service_down, 0, Target::all());
    down.name = "db";
    down.heals = false;
    const Outcome r =
        replayed(plan_of({down}, 20 * ms), 9, 100 * ms, [](Simulator&, Log&) {}, true);
    EXPECT_EQ(r.log.count("start conn"), 0);
    EXPECT_EQ(r.log.count("conn refused"), 10);
}

/// Sends Job{n} to `name` every 10 ms.
Process job_client(Self self, std::string name, int jobs) {
    for (int n = 0; n < jobs; ++n) {
        co_await self.sleep(10ms);
        if (const std::optional<Pid> to = self.whereis(name)) {
            self.send(*to, Job{n});
        }
    }
}

TEST(Chaos, PoisonCrashesEveryReceiverOfTheType) {
    Fault poison = window(FaultKind::poison, Target::path("app/pool/*"), 0, 0, never);
    poison.name = "job";
    const Outcome r = replayed(plan_of({poison}, 35 * ms), 10, 100 * ms, [](Simulator& sim, Log& log) {
        sim.spawn(job_client, std::string("w1"), 6);
        sim.spawn(observer, &log, std::string("w1"), 3);
    });
    // Jobs at 10, 20 and 30 ms each kill w1 (a restart does not help); after faults_until the
    // plan's poison has healed and the jobs at 40, 50, 60 ms go through.
    EXPECT_EQ(r.log.count("down w1 {poison,job}"), 3);
    EXPECT_EQ(r.log.with("w1 job"),
              (std::vector<std::string>{"40 w1 job 3", "50 w1 job 4", "60 w1 job 5"}));
}

TEST(Chaos, SlowProcessMakesCallersTimeOut) {
    Fault slow = window(FaultKind::slow, Target::name("w2"), 0, 0, 30 * ms);
    slow.min_delay = 6 * ms;
    slow.max_delay = 6 * ms;
    const Outcome r = replayed(plan_of({slow}), 11, 200 * ms, ping("w2", 10));
    EXPECT_GE(r.log.count("w2 timeout"), 3);
    EXPECT_EQ(r.log.lines.back().substr(r.log.lines.back().find(' ') + 1), "w2 ok");
    EXPECT_GE(r.counts.of(FaultKind::slow), 3U);
}

TEST(Chaos, HungProcessTakesNoMessagesUntilItsDurationEnds) {
    Fault hang = at(FaultKind::hang, 12 * ms, Target::name("w3"));
    hang.duration = 20 * ms;
    const Outcome r = replayed(plan_of({hang}), 12, 200 * ms, ping("w3", 8));
    EXPECT_EQ(r.log.with("w3 "),
              (std::vector<std::string>{"5 w3 ok", "10 w3 ok", "19 w3 timeout", "28 w3 timeout",
                                        "33 w3 ok", "38 w3 ok", "43 w3 ok", "48 w3 ok"}));
}

TEST(Chaos, HangForeverHealsAtFaultsUntil) {
    Fault hang = at(FaultKind::hang, 12 * ms, Target::name("w3"));
    const Outcome r = replayed(plan_of({hang}, 28 * ms), 12, 200 * ms, ping("w3", 8));
    EXPECT_EQ(r.log.count("w3 timeout"), 2);  // The pings at 15 and 24 ms; woken at 28 ms.
    EXPECT_EQ(r.log.count("w3 ok"), 6);
}

TEST(Chaos, EachHangHealsAsItsOwnFaultSays) {
    // Two hangs at once: w3's heals at faults_until, w2's persists. faults_until falls between
    // the time-out of w3's ping at 24 ms (28 ms) and the next ping (33 ms), not on either.
    Fault heals = at(FaultKind::hang, 12 * ms, Target::name("w3"));
    Fault persists = at(FaultKind::hang, 12 * ms, Target::name("w2"));
    persists.heals = false;
    const Outcome r = replayed(plan_of({heals, persists}, 30 * ms), 12, 200 * ms,
                               [](Simulator& sim, Log& log) {
                                   sim.spawn(pinger, &log, std::string("w3"), 8);
                                   sim.spawn(pinger, &log, std::string("w2"), 8);
                               });
    EXPECT_EQ(r.log.count("w3 ok"), 6);
    EXPECT_EQ(r.log.count("w2 ok"), 2);  // Only the pings before the hang.
    EXPECT_EQ(r.log.count("w2 timeout"), 6);
}

TEST(Chaos, FloodFillsTheMailbox) {
    Fault flood = at(FaultKind::flood, 5 * ms, Target::name("w1"));
    flood.count = 500;
    const Outcome r = replayed(plan_of({flood}), 13, 100 * ms, ping("w1", 3));
    EXPECT_EQ(r.log.count("w1 flood"), 500);
    EXPECT_EQ(r.log.count("w1 ok"), 3);
}

// == Transient faults =================================================================================

TEST(Chaos, TransientCrashesAPlaceKTimesThenTheRestartIsHealthy) {
    Fault transient;
    transient.kind = FaultKind::transient;
    transient.target = Target::path("app/pool/w2");
    transient.count = 2;
    const Outcome r = replayed(plan_of({transient}), 14, 200 * ms, ping("w2", 10));
    // Each of the first two processes at app/pool/w2 crashed at its 1st, 2nd or 3rd resumption
    // (an early one before it even registered), and each was restarted in its place.
    EXPECT_EQ(r.counts.of(FaultKind::transient), 2U);
    // Healthy from then on: the last pings all succeed.
    EXPECT_EQ(r.log.lines.back().substr(r.log.lines.back().find(' ') + 1), "w2 ok");
    EXPECT_EQ(r.log.count("start w1"), 1);  // Other places are untouched.
}

// == Timer skew and fault points ======================================================================

Process sleeper(Self self, Log* log) {
    for (int i = 0; i < 3; ++i) {
        co_await self.sleep(10ms);
        log->note(self, "woke");
    }
}

TEST(Chaos, TimerSkewMakesTimersFireLate) {
    Fault skew = window(FaultKind::timer_skew, Target::all(), 1.0, 0, never);
    skew.min_delay = 2 * ms;
    skew.max_delay = 2 * ms;
    const Outcome r = replayed(plan_of({skew}), 15, 200 * ms, [](Simulator& sim, Log& log) {
        sim.spawn(sleeper, &log);
    });
    EXPECT_EQ(r.log.with("woke"), (std::vector<std::string>{"12 woke", "24 woke", "36 woke"}));
}

TEST(Chaos, FaultPointsFireOnlyWhereArmed) {
    Fault point = window(FaultKind::fault_point, Target::name("w1"), 1.0, 0, 20 * ms);
    point.name = "worker.ping";
    point.activation = 1.0;
    const Outcome armed = replayed(plan_of({point}), 16, 100 * ms, [](Simulator& sim, Log& log) {
        sim.spawn(pinger, &log, std::string("w1"), 4);
        sim.spawn(observer, &log, std::string("w1"), 2);
    });
    // The pings at 5 and 14 ms hit the armed site; the one at 23 ms is past the window.
    EXPECT_EQ(armed.log.with("down w1"),
              (std::vector<std::string>{"5 down w1 fault point", "14 down w1 fault point"}));
    EXPECT_EQ(armed.counts.of(FaultKind::fault_point), 2U);
    point.activation = 0;  // Never armed in this run: the site never fires.
    const Outcome disarmed = replayed(plan_of({point}), 16, 100 * ms, ping("w1", 4));
    EXPECT_EQ(disarmed.log.count("w1 ok"), 4);
    EXPECT_EQ(disarmed.counts.total(), 0U);
}

// == Replay, swarm, threads ===========================================================================

TEST(Chaos, SwarmRunsReplayAndSeedsDiffer) {
    std::vector<std::uint64_t> hashes;
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        SwarmOptions options;
        options.faults_until = 100 * ms;
        options.target = Target::path("app/pool/*");
        const Plan plan = swarm(seed, options);
        const Outcome r = replayed(plan, seed, 300 * ms, ping("w1", 20));
        hashes.push_back(r.hash);
    }
    std::sort(hashes.begin(), hashes.end());
    EXPECT_EQ(std::unique(hashes.begin(), hashes.end()), hashes.end());
}

TEST(Chaos, AFaultThatNeverStrikesLeavesTheRunUnchangedButForNothing) {
    // A plan whose only fault lies beyond the run: no fault, and the same events as without an
    // injector (the hash covers every event, so it is equal too).
    const Outcome none = run_system(Plan{}, 17, 100 * ms, ping("w1", 5));
    const Outcome idle = run_system(plan_of({at(FaultKind::kill, 1000 * ms, Target::all())}), 17,
                                100 * ms, ping("w1", 5));
    EXPECT_EQ(idle.counts.total(), 0U);
    EXPECT_EQ(idle.log.lines, none.log.lines);
    EXPECT_EQ(idle.hash, none.hash);
}

TEST(Chaos, PlansAreCheckedWhenTheInjectorIsMade) {
    Simulator sim;
    Fault bad = window(FaultKind::drop, Target::all(), 2.0, 0, never);
    EXPECT_THROW(Injector(sim, plan_of({bad}), 1), std::invalid_argument);
}

/// Polls `done` every 5 ms of real time, for up to 10 s.
Process poll_until(Self self, const Log* log, bool (*done)(const Log&)) {
    for (int i = 0; i < 2000 && !done(*log); ++i) {
        co_await self.sleep(5ms);
    }
}

/// Waits on the threaded scheduler until `done(log)` holds (or 10 s pass).
void wait_for(ThreadScheduler& sched, const Log& log, bool (*done)(const Log&)) {
    sched.spawn(poll_until, &log, done);
    sched.run_until_idle();
}

/// Timed faults on the threaded scheduler strike at a real time. A fault whose target has not
/// started yet finds nothing, so they strike well after boot, even under TSan on a loaded machine.
constexpr Ticks kAfterBoot = 200 * ms;

/// Checks that the system booted before kAfterBoot, so that a missed fault is reported as a slow
/// boot and not as a fault that did not work.
void expect_booted_in_time(const Log& log) {
    for (const char* id : {"w1", "w2", "w3"}) {
        const std::vector<std::string> starts = log.with(std::string(" start ") + id);
        ASSERT_FALSE(starts.empty()) << id << " never started";
        const long at_ms = std::stol(starts.front());  // Lines begin with the time in ms.
        EXPECT_LT(at_ms, kAfterBoot / ms) << id << " started after the faults were due";
    }
}

TEST(ChaosThreads, KillWorksOnTheThreadedScheduler) {
    ThreadScheduler sched(ThreadConfig{.workers = 2});
    Log log;
    const Plan plan = plan_of({at(FaultKind::kill, kAfterBoot, Target::path("app/pool/w2"))});
    Injector injector(sched, plan, 1);
    injector.install();
    sched.spawn(boot, &log, false);
    wait_for(sched, log, [](const Log& l) { return l.count("start w2") >= 2; });
    expect_booted_in_time(log);
    EXPECT_EQ(injector.counts().of(FaultKind::kill), 1U);
    EXPECT_EQ(log.count("start w2"), 2);
    EXPECT_EQ(log.count("start w1"), 1);
}

/// Runs the system on the threaded scheduler under `fault` (aimed at w1's pings) and checks that
/// no ping was answered in time and that the fault struck.
void expect_pings_to_w1_fail(const Fault& fault) {
    ThreadScheduler sched(ThreadConfig{.workers = 2});
    Log log;
    Injector injector(sched, plan_of({fault}), 1);
    injector.install();
    sched.spawn(boot, &log, false);
    sched.spawn(pinger, &log, std::string("w1"), 3);
    wait_for(sched, log,
             [](const Log& l) { return l.count("w1 timeout") + l.count("w1 absent") >= 3; });
    EXPECT_EQ(log.count("w1 ok"), 0);
    EXPECT_GE(injector.counts().of(fault.kind), 1U);
}

TEST(ChaosThreads, DropWorksOnTheThreadedScheduler) {
    expect_pings_to_w1_fail(window(FaultKind::drop, Target::name("w1"), 1.0, 0, never));
}

TEST(ChaosThreads, DelayWorksOnTheThreadedScheduler) {
    // Every ping to w1 is held 300 ms, 75 times the pinger's patience (real time, so the margin
    // is wide).
    Fault delay = window(FaultKind::delay, Target::name("w1"), 1.0, 0, never);
    delay.min_delay = 300 * ms;
    delay.max_delay = 300 * ms;
    expect_pings_to_w1_fail(delay);
}

TEST(ChaosThreads, CrashExitAndDuplicateWorkOnTheThreadedScheduler) {
    ThreadScheduler sched(ThreadConfig{.workers = 2});
    Log log;
    Fault crash = at(FaultKind::crash, kAfterBoot, Target::name("w1"));
    crash.reason = ExitReason::error("boom");
    Fault exit = at(FaultKind::exit, kAfterBoot, Target::name("w2"));
    exit.reason = ExitReason::error("bang");
    const Plan plan = plan_of(
        {crash, exit, window(FaultKind::duplicate, Target::name("w3"), 1.0, 0, never)});
    Injector injector(sched, plan, 1);
    injector.install();
    sched.spawn(boot, &log, false);
    // w1 must resume to crash: the pinger goes on for 5-9 ms a round, past the fault time.
    sched.spawn(pinger, &log, std::string("w1"), 2 * static_cast<int>(kAfterBoot / (5 * ms)));
    sched.spawn(ticker, std::string("w3"), 3);
    wait_for(sched, log, [](const Log& l) {
        return l.count("start w1") >= 2 && l.count("start w2") >= 2 &&
               l.with("w3 tick").size() >= 6;
    });
    expect_booted_in_time(log);
    EXPECT_EQ(log.count("start w1"), 2);
    EXPECT_EQ(log.count("start w2"), 2);
    EXPECT_EQ(log.with("w3 tick").size(), 6U);  // Three ticks, each delivered twice.
}

TEST(ChaosThreads, FaultsThatNeedTheSimulatorAreRejected) {
    ThreadScheduler sched(ThreadConfig{.workers = 1});
    Fault reorder = window(FaultKind::reorder, Target::all(), 0.5, 0, never);
    reorder.max_delay = ms;
    try {
        Injector injector(sched, plan_of({reorder}), 1);
        ADD_FAILURE() << "reorder accepted on threads";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("fault 0 (reorder): needs the simulator"),
                  std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace bedlam::chaos::test
