// Writing scenarios back out (what `bedlam shrink` and the property suites save): every shipped
// scenario, and one with every field set, reads back to the same scenario and runs to the same
// hash.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "bedlam/scenario/load.hpp"
#include "bedlam/scenario/run.hpp"
#include "bedlam/scenario/write.hpp"

namespace bedlam::scenario {
namespace {

constexpr const char* everything = R"(name: every field
description: |
  Two lines
  of description.
run: {duration: 7500ms, policy: pct, seeds: 3}
services:
  - name: db
    down: [{from: 1s, until: 2s}, {from: 4s}]
tree:
  id: app
  strategy: rest_for_one
  intensity: 4
  period: 9
  auto_shutdown: any_significant
  children:
    - {id: counter, behaviour: counter, shutdown: brutal_kill}
    - {id: conn, behaviour: socket, restart: transient, shutdown: 250ms, args: {service: db}}
    - id: inner
      significant: true
      restart: transient
      shutdown: infinity
      supervisor:
        strategy: one_for_all
        children:
          - {id: p, behaviour: periodic, args: {every: 1.5s, name: "weird: name"}}
          - {id: c, behaviour: crashy, args: {reason: "{shutdown,tired}", after: 3s}}
    - id: pool
      supervisor: {dynamic: true, max_children: 4}
workload:
  - {id: clients, behaviour: caller, count: 3, args: {target: counter, timeout: 20ms}}
faults:
  until: 5s
  plan:
    - {kind: kill, target: app/inner/*, rate: 0.1234567890123, from: 1ms, until: 4s}
    - {kind: delay, target: "name:counter", probability: 1e-7, min_delay: 7ns, max_delay: 1001us}
    - {kind: crash, target: "kind:server", at: 2s, every_match: true, reason: "{bad,thing}"}
    - {kind: service_down, name: db, at: 3s, duration: 1s, heals: false}
    - {kind: reorder, probability: 0.5, max_delay: 1ms, break_pair_order: true}
    - {kind: fault_point, name: "*", activation: 0.25, probability: 0.75}
    - {kind: transient, target: app/counter, count: 3}
expect:
  - alive: app/counter
  - {restarts: app/**, min: 1, max: 9}
  - gave_up: app/inner
  - did_not_give_up: app
  - healthy_within: 2s
  - calls_succeeded: 0.25
  - no_message_lost: true
  - {metric: ticks, min: 2}
)";

TEST(ScenarioWrite, EveryFieldReadsBackAsWritten) {
    const Scenario a = load_string(everything, "a.yaml");
    const std::string text = to_yaml(a);
    const Scenario b = load_string(text, "b.yaml");
    EXPECT_EQ(to_yaml(b), text);
    // Spot checks that the text is what a person would write, not only self-consistent.
    EXPECT_NE(text.find("rate: 0.1234567890123"), std::string::npos) << text;
    EXPECT_NE(text.find("probability: 1e-07"), std::string::npos) << text;
    EXPECT_NE(text.find("min_delay: 7ns"), std::string::npos) << text;
    EXPECT_NE(text.find("run: {duration: 7500ms, policy: pct, seeds: 3}"), std::string::npos)
        << text;
    ASSERT_EQ(b.faults.faults.size(), a.faults.faults.size());
    for (std::size_t i = 0; i < a.faults.faults.size(); ++i) {
        const chaos::Fault& x = a.faults.faults[i];
        const chaos::Fault& y = b.faults.faults[i];
        EXPECT_EQ(x.rate, y.rate) << i;  // Exact: doubles round-trip bit for bit.
        EXPECT_EQ(x.probability, y.probability) << i;
        EXPECT_EQ(x.activation, y.activation) << i;
        EXPECT_EQ(x.reason.to_string(), y.reason.to_string()) << i;
        EXPECT_EQ(x.target.to_string(), y.target.to_string()) << i;
        EXPECT_EQ(x.at, y.at) << i;
        EXPECT_EQ(x.duration, y.duration) << i;
    }
    EXPECT_EQ(b.tree.children[2].supervisor->children[0].args.at("name").text, "weird: name");
    EXPECT_EQ(b.tree.children[1].shutdown, Shutdown::after(std::chrono::milliseconds(250)));
    EXPECT_EQ(b.services[0].outages.size(), 2U);
    EXPECT_EQ(b.expectations.size(), a.expectations.size());
}

TEST(ScenarioWrite, EveryShippedScenarioRunsTheSameWrittenBack) {
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(BEDLAM_SCENARIOS_DIR)) {
        if (entry.path().extension() != ".yaml") {
            continue;
        }
        ++files;
        const Scenario original = load_file(entry.path().string());
        const Scenario again = load_string(to_yaml(original), "again.yaml");
        RunOptions options;
        options.seed = 2;
        EXPECT_EQ(run(original, options).hash, run(again, options).hash) << entry.path();
    }
    EXPECT_GE(files, 5);
}

}  // namespace
}  // namespace bedlam::scenario
