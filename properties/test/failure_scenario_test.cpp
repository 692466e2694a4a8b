// Property cases written as scenario files (issue: replay and shrinking): the file loads, has
// the model's tree, workers and faults, and runs under `bedlam run`'s runner.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bedlam/properties/failure_scenario.hpp"
#include "bedlam/scenario/load.hpp"
#include "bedlam/scenario/write.hpp"

namespace bedlam::properties {
namespace {

constexpr Ticks s = 1'000'000'000;

ModelSupervisor nested_tree() {
    auto inner = std::make_shared<const ModelSupervisor>(ModelSupervisor{
        Strategy::rest_for_one, 2, 7, {{Restart::permanent}, {Restart::transient, true}}});
    return ModelSupervisor{Strategy::one_for_all,
                           3,
                           5,
                           {{Restart::temporary}, {Restart::permanent, false, inner}}};
}

/// The regression case of chaos_property_test: faults aimed by name and by path.
chaos::Plan plan_by_name_and_path() {
    chaos::Plan plan;
    chaos::Fault kill_worker;
    kill_worker.kind = chaos::FaultKind::kill;
    kill_worker.target = chaos::Target::name("c1/c0");
    kill_worker.at = 1 * s;
    plan.faults.push_back(kill_worker);
    chaos::Fault slow;
    slow.kind = chaos::FaultKind::slow;
    slow.target = chaos::Target::path("app/c1");
    slow.min_delay = slow.max_delay = 50'000'000;
    plan.faults.push_back(slow);
    plan.faults_until = 2 * s;
    return plan;
}

TEST(FailureScenario, HasTheModelsTreeWorkersAndFaults) {
    const scenario::Scenario sc =
        failure_scenario(nested_tree(), plan_by_name_and_path(), {}, true, "P.Q");
    // Written out and read back: a valid scenario, whose targets match its tree.
    const scenario::Scenario back = scenario::load_string(scenario::to_yaml(sc), "p.yaml");
    EXPECT_EQ(scenario::tree_paths(back),
              (std::vector<std::string>{"app", "app/c0", "app/c1", "app/c1/c0", "app/c1/c1"}));
    EXPECT_EQ(back.tree.strategy, Strategy::one_for_all);
    EXPECT_EQ(back.tree.intensity, 3);
    const scenario::SupervisorNode& inner = *back.tree.children[1].supervisor;
    EXPECT_EQ(inner.strategy, Strategy::rest_for_one);
    EXPECT_EQ(inner.period_s, 7);
    EXPECT_EQ(back.tree.children[0].restart, Restart::temporary);
    EXPECT_EQ(inner.children[1].restart, Restart::transient);
    EXPECT_EQ(inner.children[1].shutdown, Shutdown::brutal_kill());
    EXPECT_FALSE(inner.children[0].shutdown.has_value());  // The default time-out.
    // Workers register under their model paths, as run_tree_under_chaos's do.
    EXPECT_EQ(inner.children[0].behaviour, "worker");
    EXPECT_EQ(inner.children[0].args.at("name").text, "c1/c0");
    ASSERT_EQ(back.faults.faults.size(), 2U);
    EXPECT_EQ(back.faults.faults[0].target.to_string(), "name:c1/c0");
    EXPECT_EQ(back.faults.faults_until, 2 * s);
    EXPECT_EQ(back.settings.duration, 2 * s + ChaosRunOptions{}.heal_bound);
    ASSERT_EQ(back.expectations.size(), 1U);
    EXPECT_EQ(back.expectations[0].describe(), "healthy_within 5s");
}

TEST(FailureScenario, TheToxicWorkerSitsInItsTether) {
    ChaosRunOptions options;
    options.toxic = true;
    options.tethered = true;
    chaos::Plan plan;
    chaos::Fault down;
    down.kind = chaos::FaultKind::service_down;
    down.name = "db";
    down.at = 0;
    down.heals = false;
    plan.faults.push_back(down);
    plan.faults_until = 2 * s;
    const scenario::Scenario back = scenario::load_string(
        scenario::to_yaml(failure_scenario(nested_tree(), plan, options, false, "T")), "t.yaml");
    const std::vector<std::string> paths = scenario::tree_paths(back);
    EXPECT_EQ(paths.back(), "app/tether/toxic");
    EXPECT_EQ(back.tree.children.back().restart, Restart::transient);
    EXPECT_EQ(back.services.at(0).name, "db");
    EXPECT_TRUE(back.expectations.empty());
}

TEST(FailureScenario, SavedFilesRunAndNameTheirCommand) {
    const std::string dir =
        (std::filesystem::temp_directory_path() / "bedlam-failure-scenario-test").string();
    std::filesystem::remove_all(dir);
    const std::string line = save_failure(
        dir, "P.Q", failure_scenario(nested_tree(), plan_by_name_and_path(), {}, true, "P.Q"), 7);
    ASSERT_FALSE(line.empty());
    EXPECT_NE(line.find("P.Q.yaml"), std::string::npos) << line;
    EXPECT_NE(line.find("--seed 7"), std::string::npos) << line;
    std::ifstream in(dir + "/P.Q.yaml");
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str().rfind("# A failing case of the property P.Q, seed 7.\n# Run it: bedlam run ",
                               0),
              0U)
        << text.str();
    EXPECT_NO_THROW((void)scenario::load_string(text.str(), "saved.yaml"));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bedlam::properties
