// Running scenarios: expectations are judged, built-in properties checked, verdicts and exit
// codes as documented, and a seed replays to the same hash.
#include <gtest/gtest.h>

#include <string>

#include "bedlam/scenario/load.hpp"
#include "bedlam/scenario/run.hpp"

#include "support.hpp"

namespace bedlam::scenario {
namespace {

using test::problems;
using test::replace;
using test::run_text;
using test::show;

constexpr const char* calm = R"(name: calm
run: {duration: 5s}
tree:
  id: app
  children:
    - {id: counter, behaviour: counter}
workload:
  - {id: clients, behaviour: caller, count: 2, args: {target: counter, every: 100ms}}
expect:
  - alive: app/counter
  - restarts: app/**
    max: 0
  - calls_succeeded: 1
  - no_message_lost: true
)";

TEST(ScenarioRun, ACalmSystemPassesItsExpectations) {
    const RunReport r = run_text(calm, 1);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_EQ(r.exit_code(), 0);
    EXPECT_GT(r.metrics.calls, 80U);  // Two callers, every 100 ms, for 5 s.
    EXPECT_EQ(r.metrics.calls, r.metrics.calls_ok);
    EXPECT_EQ(r.last_line().substr(0, 7), "seed=1 ");
}

TEST(ScenarioRun, AMetricExpectationBoundsARunCounter) {
    // Two callers every 100 ms for 5 s make about 100 calls: within 80..120 passes, at most 10
    // fails and says how many there were.
    std::string text = calm;
    text += "  - metric: calls\n    min: 80\n    max: 120\n";
    const RunReport r = run_text(text, 1);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    text += "  - metric: calls\n    max: 10\n";
    const RunReport f = run_text(text, 1);
    EXPECT_EQ(f.verdict, Verdict::fail);
    ASSERT_EQ(f.failures.size(), 1U) << show(f);
    EXPECT_TRUE(f.failures[0].starts_with("metric calls in 0..10 FAILED: calls = " +
                                          std::to_string(f.metrics.calls) + " (test.yaml:"))
        << f.failures[0];
}

TEST(ScenarioRun, TheSameSeedReplaysToTheSameHash) {
    EXPECT_EQ(run_text(calm, 7).hash, run_text(calm, 7).hash);
    EXPECT_NE(run_text(calm, 7).hash, run_text(calm, 8).hash);
}

constexpr const char* crashy = R"(name: crashy escalates
run: {duration: 20s}
tree:
  id: app
  intensity: 5
  period: 10
  children:
    - {id: ledger, behaviour: periodic}
    - id: strict
      supervisor:
        intensity: 3
        period: 10
        children:
          - {id: crashy, behaviour: crashy, args: {after: 3s}}
expect:
  - gave_up: app/strict
  - did_not_give_up: app
  - restarts: app/ledger
    max: 0
  - alive: app/strict
)";

TEST(ScenarioRun, ACrashyWorkerSpendsItsSupervisorsBudgetAndEscalates) {
    const RunReport r = run_text(crashy, 3);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_GE(r.restarts.at("app/strict/crashy"), 3);
    EXPECT_GE(r.restarts.at("app/strict"), 1);
}

TEST(ScenarioRun, AFailedExpectationFailsTheRunWithExitCode1) {
    std::string text = crashy;
    text.replace(text.find("did_not_give_up: app"), 20, "gave_up: app");
    const RunReport r = run_text(text, 3);
    EXPECT_EQ(r.verdict, Verdict::fail);
    EXPECT_EQ(r.exit_code(), 1);
    ASSERT_EQ(r.failures.size(), 1U) << show(r);
    EXPECT_EQ(r.failures[0], "gave_up app FAILED: it did not give up (test.yaml:17:5)");
    EXPECT_EQ(r.last_line().substr(r.last_line().size() - 12), "verdict=fail");
}

TEST(ScenarioRun, NotHealingInTimeIsALivenessFailureWithExitCode3) {
    // The service stays down past the faults: the socket crash-loops (transient, under a
    // tolerant supervisor) and the tree is never whole.
    const std::string text = R"(name: never heals
run: {duration: 10s}
services:
  - {name: db, down: [{from: 0s}]}
tree:
  id: app
  intensity: 1000
  period: 1
  children:
    - {id: conn, behaviour: socket, args: {service: db}}
faults:
  until: 1s
expect:
  - healthy_within: 2s
)";
    const RunReport r = run_text(text, 1);
    EXPECT_EQ(r.verdict, Verdict::liveness) << show(r);
    EXPECT_EQ(r.exit_code(), 3);
}

TEST(ScenarioRun, AFaultThatOutlivesThePlanDoesNotKeepAStoppedRunGoing) {
    // A hang that does not heal keeps striking after faults_until, so the injector's clock runs
    // on after the tree has stopped; the run is over when every process has exited, not a
    // liveness failure. (Found while writing the plan fuzzer's seeds, fuzz/corpus/plan/.)
    const std::string text = R"(name: a lasting hang
run: {duration: 2s}
tree:
  id: app
  children:
    - {id: w, behaviour: worker}
faults:
  until: 1s
  plan:
    - {kind: hang, target: app/w, rate: 0.5, duration: 100ms, heals: false}
)";
    const RunReport r = run_text(text, 1);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
}

}  // namespace
}  // namespace bedlam::scenario
