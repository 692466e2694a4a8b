// Loading scenario files: a good one reads back as written, and every class of bad input gets
// an error naming file:line:column and what was expected (issue: scenario files).
#include <gtest/gtest.h>

#include <string>

#include "bedlam/scenario/load.hpp"
#include "bedlam/scenario/stock.hpp"

#include "support.hpp"

namespace bedlam::scenario {
namespace {

using test::problems;
using test::replace;
using test::run_text;
using test::show;

constexpr const char* good = R"(name: counter under load
description: a counter server and its callers
run:
  duration: 10s
  policy: fifo
  seeds: 20
services:
  - name: db
    down:
      - {from: 1s, until: 2s}
tree:
  id: app
  strategy: rest_for_one
  intensity: 3
  period: 10
  children:
    - id: counter
      behaviour: counter
    - id: conn
      behaviour: socket
      restart: transient
      shutdown: brutal_kill
      args: {service: db, connect_timeout: 100ms}
    - id: pool
      supervisor:
        strategy: one_for_all
        children:
          - {id: w1, behaviour: periodic, args: {every: 1.5s}}
workload:
  - id: clients
    behaviour: caller
    count: 2
    args: {target: counter, timeout: 20ms}
faults:
  until: 5s
  plan:
    - {kind: kill, target: app/pool/*, rate: 0.5}
    - {kind: delay, target: "name:counter", probability: 0.1, max_delay: 30ms}
expect:
  - alive: app/counter
  - restarts: app/pool/*
    max: 10
  - did_not_give_up: app
  - healthy_within: 2s
  - calls_succeeded: 0.5
)";

TEST(ScenarioLoad, AGoodFileReadsBackAsWritten) {
    const Scenario s = load_string(good, "good.yaml");
    EXPECT_EQ(s.name, "counter under load");
    EXPECT_EQ(s.settings.duration, 10'000'000'000);
    EXPECT_EQ(s.settings.policy, Policy::fifo);
    EXPECT_EQ(s.settings.seeds, 20);
    ASSERT_EQ(s.services.size(), 1U);
    EXPECT_EQ(s.services[0].outages[0].from, 1'000'000'000);
    EXPECT_EQ(s.tree.id, "app");
    EXPECT_EQ(s.tree.strategy, Strategy::rest_for_one);
    EXPECT_EQ(s.tree.intensity, 3);
    EXPECT_EQ(s.tree.period_s, 10);
    ASSERT_EQ(s.tree.children.size(), 3U);
    EXPECT_EQ(s.tree.children[1].restart, Restart::transient);
    EXPECT_EQ(s.tree.children[1].shutdown, Shutdown::brutal_kill());
    EXPECT_EQ(s.tree.children[1].args.at("connect_timeout").text, "100ms");
    EXPECT_EQ(s.tree.children[1].args.at("every").text, "100ms");  // The default, filled in.
    ASSERT_TRUE(s.tree.children[2].supervisor);
    EXPECT_EQ(s.tree.children[2].supervisor->strategy, Strategy::one_for_all);
    EXPECT_EQ(s.workload[0].count, 2);
    EXPECT_EQ(s.faults.faults.size(), 2U);
    EXPECT_EQ(s.faults.faults_until, 5'000'000'000);
    EXPECT_EQ(s.faults.faults[1].max_delay, 30'000'000);
    ASSERT_EQ(s.expectations.size(), 5U);
    EXPECT_EQ(s.expectations[1].describe(), "restarts app/pool/* in 0..10");
    EXPECT_EQ(tree_paths(s), (std::vector<std::string>{"app", "app/counter", "app/conn",
                                                        "app/pool", "app/pool/w1"}));
}

TEST(ScenarioLoad, MalformedYamlNamesTheLineAndColumn) {
    EXPECT_EQ(problems("name: x\ntree: {id: app\n"),
              (std::vector<std::string>{"bad.yaml:3:1: malformed YAML: end of map flow not found"}));
}

TEST(ScenarioLoad, UnknownKeysAreNamedWithWhatIsAllowed) {
    const auto p = problems(replace(good, "  intensity: 3\n", "  intensty: 3\n"));
    ASSERT_EQ(p.size(), 1U);
    EXPECT_EQ(p[0], "bad.yaml:14:3: unknown key `intensty` in tree (expected one of: strategy, "
                    "intensity, period, auto_shutdown, children, dynamic, max_children, id)");
}

TEST(ScenarioLoad, WrongTypesSayWhatWasExpected) {
    EXPECT_EQ(problems(replace(good, "period: 10", "period: soon")),
              (std::vector<std::string>{"bad.yaml:15:11: `period` must be a whole number, got `soon`"}));
    EXPECT_EQ(problems(replace(good, "connect_timeout: 100ms", "connect_timeout: fast")),
              (std::vector<std::string>{
                  "bad.yaml:23:44: `connect_timeout` must be a duration (like 250ms, 2s, 1.5s), "
                  "got `fast`"}));
    EXPECT_EQ(problems(replace(good, "strategy: rest_for_one", "strategy: [a]")),
              (std::vector<std::string>{
                  "bad.yaml:13:13: `strategy` must be one of one_for_one, one_for_all, "
                  "rest_for_one, got a list"}));
}

TEST(ScenarioLoad, UnknownBehavioursAndParametersAreNamed) {
    const auto p = problems(replace(good, "behaviour: counter", "behaviour: countr"));
    ASSERT_FALSE(p.empty());
    EXPECT_EQ(p[0].substr(0, 54), "bad.yaml:18:18: unknown behaviour `countr` (workers: c");
    const auto q = problems(replace(good, "args: {every: 1.5s}", "args: {evry: 1.5s}"));
    ASSERT_FALSE(q.empty());
    EXPECT_EQ(q[0], "bad.yaml:28:50: unknown key `evry` in the args of `periodic` (expected one "
                    "of: name, every)");
    const auto r = problems(replace(good, "args: {service: db, connect_timeout: 100ms}",
                                    "args: {connect_timeout: 100ms}"));
    ASSERT_FALSE(r.empty());
    EXPECT_NE(r[0].find("`socket` needs the argument `service`"), std::string::npos) << r[0];
}

TEST(ScenarioLoad, DuplicateIdsAreErrors) {
    const auto p = problems(replace(good, "- id: conn", "- id: counter"));
    ASSERT_FALSE(p.empty());
    EXPECT_EQ(p[0], "bad.yaml:19:11: duplicate child id `counter`");
}

TEST(ScenarioLoad, ImpossibleValuesAreErrors) {
    EXPECT_EQ(problems(replace(good, "intensity: 3", "intensity: -1")),
              (std::vector<std::string>{
                  "bad.yaml:14:14: `intensity` must be between 0 and 1000000, got -1"}));
    EXPECT_EQ(problems(replace(good, "{from: 1s, until: 2s}", "{from: 2s, until: 1s}")),
              (std::vector<std::string>{"bad.yaml:10:9: an outage must end after it starts"}));
    const auto p = problems(replace(good, "rate: 0.5", "rate: -2"));
    ASSERT_FALSE(p.empty());
    EXPECT_NE(p[0].find("`rate` must be between 0 and"), std::string::npos) << p[0];
    const auto q = problems(replace(good, "rate: 0.5", "rate: lots"));
    ASSERT_FALSE(q.empty());
    EXPECT_NE(q[0].find("`rate` must be a number, got `lots`"), std::string::npos) << q[0];
}

TEST(ScenarioLoad, TargetsAndReferencesMustExist) {
    const auto p = problems(replace(good, "target: app/pool/*", "target: app/pol/*"));
    ASSERT_EQ(p.size(), 1U);
    EXPECT_NE(p[0].find("bad.yaml:37:7: "), std::string::npos) << p[0];
    EXPECT_NE(p[0].find("app/pol/*"), std::string::npos) << p[0];
    EXPECT_EQ(problems(replace(good, "service: db,", "service: dbx,")),
              (std::vector<std::string>{
                  "bad.yaml:23:23: unknown service `dbx` (declare it under `services`)"}));
    EXPECT_EQ(problems(replace(good, "target: counter,", "target: countr,")),
              (std::vector<std::string>{"bad.yaml:33:20: no worker is registered as `countr` "
                                        "(servers register under their id or `name`)"}));
    EXPECT_EQ(problems(replace(good, "alive: app/counter", "alive: app/count")),
              (std::vector<std::string>{
                  "bad.yaml:40:5: no process in the tree has the path `app/count`"}));
}

TEST(ScenarioLoad, AMetricExpectationMustNameACounterOfTheScenario) {
    // `calls` is built in; `ticks` too; a behaviour's own counters only where it is used.
    EXPECT_EQ(problems(replace(good, "  - calls_succeeded: 0.5\n",
                               "  - calls_succeeded: 0.5\n  - metric: ticks\n    min: 1\n")),
              std::vector<std::string>{"(loaded without problems)"});
    const auto p = problems(
        replace(good, "  - calls_succeeded: 0.5\n", "  - calls_succeeded: 0.5\n  - metric: tick\n"));
    ASSERT_EQ(p.size(), 1U);
    EXPECT_EQ(p[0].substr(0, 53), "bad.yaml:46:5: no behaviour of this scenario counts `") << p[0];
    EXPECT_NE(p[0].find("(metrics here: calls, calls_failed"), std::string::npos) << p[0];
    const auto q = problems(replace(good, "  - calls_succeeded: 0.5\n",
                                    "  - calls_succeeded: 0.5\n  - {metric: ticks, min: 3, max: 2}\n"));
    ASSERT_EQ(q.size(), 1U);
    EXPECT_EQ(q[0], "bad.yaml:46:5: `max` must be >= `min`");
}

TEST(ScenarioLoad, EveryProblemIsReportedNotJustTheFirst) {
    std::string text = replace(good, "intensity: 3", "intensity: x");
    text = replace(text, "policy: fifo", "policy: lifo");
    EXPECT_EQ(problems(text).size(), 2U);
}

TEST(ScenarioLoad, AMissingFileIsAnError) {
    try {
        (void)load_file("/nonexistent/scenario.yaml");
        FAIL() << "loaded a file that does not exist";
    } catch (const ScenarioError& e) {
        EXPECT_EQ(std::string(e.what()), "/nonexistent/scenario.yaml: cannot open the file");
    }
}

TEST(ScenarioDurations, ParseAsDocumented) {
    EXPECT_EQ(parse_duration("250ms"), 250'000'000);
    EXPECT_EQ(parse_duration("1.5s"), 1'500'000'000);
    EXPECT_EQ(parse_duration("100us"), 100'000);
    EXPECT_EQ(parse_duration("2m"), 120'000'000'000);
    EXPECT_EQ(parse_duration("never"), chaos::never);
    EXPECT_FALSE(parse_duration("5"));
    EXPECT_FALSE(parse_duration("ms"));
    EXPECT_FALSE(parse_duration("1.2.3s"));
    EXPECT_FALSE(parse_duration("5 s"));
}

}  // namespace
}  // namespace bedlam::scenario
