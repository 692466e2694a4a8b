// What OTP promises whatever goes wrong, checked on random supervision trees under random swarm
// fault plans (every fault kind the chaos layer has, in random mixes and rates, aimed at the
// tree):
//   - no supervisor exits cleanly (it gave up or was stopped) while a child of its own is alive
//     (one that is killed or crashes dies at once and its children follow), and nothing
//     of the tree is alive once the run is over (otp-semantics §3: a supervisor terminates its
//     children before it exits);
//   - every monitor gives exactly one DOWN (§2), and a DOWN names a process that is gone (the
//     workload's clients monitor and ping workers while the faults strike);
//   - a registered name never points at a process whose exit has been processed (§6);
//   - after the faults stop, the tree is whole again (every permanent child of every
//     supervisor running) within 5 s of virtual time, unless the root gave up;
//   - the same seed replays to the same trace hash.
// And the tether pattern: a worker whose dependency is down for good crash-loops; in a tether
// (a transient supervisor of its own) it spends only the tether's budget, and the rest of the
// tree never notices; without one it takes the root down.
//
// Cases per property: BEDLAM_PROPERTY_CASES (see main.cpp). A failure prints the tree, the plan
// (with its swarm seed), the simulator seed and the trace hash.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/properties/failure_scenario.hpp"
#include "bedlam/properties/tree_run.hpp"
#include "generators.hpp"

namespace bedlam::properties {
namespace {

constexpr Ticks s = 1'000'000'000;

std::string report(const ModelSupervisor& tree, const chaos::Plan& plan, std::uint64_t seed,
                   const ChaosRun& run) {
    std::string out = "tree: " + describe(tree) + "\n" + chaos::describe(plan) +
                      "simulator seed=" + std::to_string(seed) + " hash=" + hash_text(run.hash) +
                      "\nroot gave up: " + (run.root_gave_up ? "yes" : "no") +
                      ", healed at: " +
                      (run.healed_at ? chaos::time_text(*run.healed_at) : std::string("never")) +
                      "\nworkload: " + std::to_string(run.pings) + " pings, " +
                      std::to_string(run.pongs) + " pongs, " + std::to_string(run.downs) +
                      " DOWNs\n";
    for (const std::string& v : run.violations) {
        out += "  violation: " + v + "\n";
    }
    for (const std::string& v : run.stuck) {
        out += "  stuck: " + v + "\n";
    }
    return out;
}

/// A swarm plan aimed at the tree for its first 5 s: every kind but drop when `with_drops` is
/// false, only drop and the process faults when it is true.
chaos::Plan gen_swarm_plan(bool with_drops) {
    const auto swarm_seed = *rc::gen::arbitrary<std::uint64_t>();
    chaos::SwarmOptions options;
    options.faults_until = 5 * s;
    options.target = chaos::Target::path("app/**");
    using K = chaos::FaultKind;
    if (with_drops) {
        options.kinds = {K::drop, K::kill, K::crash, K::exit, K::delay};
    } else {
        options.kinds = {K::kill,  K::crash, K::exit,  K::delay,     K::duplicate, K::reorder,
                         K::slow,  K::hang,  K::flood, K::transient, K::timer_skew};
    }
    chaos::Plan plan = chaos::swarm(swarm_seed, options);
    // Three times in four the faults wait until the tree has started (a transient fault, which
    // crashes its victims early in their lives, would otherwise fail most starts).
    if (*rc::gen::inRange(0, 4) != 0) {
        for (chaos::Fault& f : plan.faults) {
            f.from = std::max<Ticks>(f.from, 100'000'000);
        }
    }
    if (with_drops && std::none_of(plan.faults.begin(), plan.faults.end(),
                                   [](const chaos::Fault& f) { return f.kind == K::drop; })) {
        options.kinds = {K::drop};
        plan.faults.push_back(chaos::swarm(swarm_seed, options).faults.front());
    }
    return plan;
}

/// A failing case is written as a scenario file, `<failure_dir()>/<property>.yaml`, which
/// `bedlam run` runs and `bedlam shrink` shrinks further; each failing case RapidCheck tries
/// overwrites it, so after shrinking it holds the minimal case. The report names the file.
/// With BEDLAM_PROPERTY_TRACE=FILE, the failing run is also written there as a JSON-lines trace
/// (`bedlam trace FILE` reads it).
void save_if_failing(const char* property, const ModelSupervisor& tree, const chaos::Plan& plan,
                     std::uint64_t seed, ChaosRunOptions options, const ChaosRun& run,
                     bool failing) {
    if (!failing) {
        return;
    }
    const bool healing_failed = !run.root_gave_up && !run.healed_at;
    RC_LOG() << save_failure(failure_dir(), property,
                             failure_scenario(tree, plan, options, healing_failed, property), seed)
             << "\n";
    if (const char* path = std::getenv("BEDLAM_PROPERTY_TRACE")) {
        std::ofstream out(path);
        options.trace_out = &out;
        (void)run_tree_under_chaos(tree, plan, seed, options);
    }
}

RC_GTEST_PROP(ChaosProperty, SupervisionInvariantsHoldUnderSwarmFaults, ()) {
    const ModelSupervisor tree = *gen_tree(16);
    const chaos::Plan plan = gen_swarm_plan(false);
    ChaosRunOptions options;
    options.workload = *gen_workload(worker_paths(tree).size());
    const auto seed = *rc::gen::arbitrary<std::uint64_t>();
    const ChaosRun run = run_tree_under_chaos(tree, plan, seed, options);
    RC_LOG() << report(tree, plan, seed, run);
    save_if_failing("ChaosProperty.SupervisionInvariantsHoldUnderSwarmFaults", tree, plan, seed, options,
                    run,
                    !run.violations.empty() || !run.stuck.empty() ||
                        (!run.start_failed && run.monitors == 0) ||
                        !(run.root_gave_up || run.healed_at));
    RC_ASSERT(run.violations.empty());
    RC_ASSERT(run.stuck.empty());
    RC_ASSERT(run.start_failed || run.monitors > 0);  // The watcher did watch.
    // Healing: unless the root gave up, the tree is whole again within the bound.
    RC_ASSERT(run.root_gave_up || run.healed_at.has_value());
    RC_CLASSIFY(run.start_failed, "tree failed to start");
    RC_CLASSIFY(run.root_gave_up && !run.start_failed, "root gave up");
    RC_CLASSIFY(run.downs > 0, "a client saw a DOWN");
    // The same seed replays to the same hash.
    RC_ASSERT(run_tree_under_chaos(tree, plan, seed, options).hash == run.hash);
}

// Lost messages break protocols that wait forever (a child's start, a call with timeout
// infinity), in OTP as here, so liveness is not promised under drops; safety still is.
RC_GTEST_PROP(ChaosProperty, SafetyHoldsWhenMessagesAreLost, ()) {
    const ModelSupervisor tree = *gen_tree(16);
    const chaos::Plan plan = gen_swarm_plan(true);
    ChaosRunOptions options;
    options.workload = *gen_workload(worker_paths(tree).size());
    const auto seed = *rc::gen::arbitrary<std::uint64_t>();
    const ChaosRun run = run_tree_under_chaos(tree, plan, seed, options);
    RC_LOG() << report(tree, plan, seed, run);
    save_if_failing("ChaosProperty.SafetyHoldsWhenMessagesAreLost", tree, plan, seed, options, run,
                    !run.violations.empty());
    RC_ASSERT(run.violations.empty());
    RC_CLASSIFY(!run.stuck.empty(), "stuck");
    RC_ASSERT(run_tree_under_chaos(tree, plan, seed, options).hash == run.hash);
}

// Found by SupervisionInvariantsHoldUnderSwarmFaults: a supervisor stopping a child unlinked it
// before sending the exit signal, and a fault could kill the supervisor in between (it yielded
// there), leaving the child alive and orphaned for good. OTP keeps the link until the DOWN
// (otp-semantics §3 rule 7, supervisor:shutdown/1). Here the inner supervisor (intensity 0)
// gives up when c0 is killed at 1 s and starts stopping c1; every step it takes is slowed by
// 50 ms, and it is killed 25 ms into stopping c1.
TEST(ChaosRegression, ASupervisorKilledWhileStoppingAChildTakesTheChildWithIt) {
    auto inner = std::make_shared<const ModelSupervisor>(
        ModelSupervisor{Strategy::one_for_one, 0, 5, {{Restart::permanent}, {Restart::permanent}}});
    const ModelSupervisor tree{Strategy::one_for_one, 3, 5, {{Restart::permanent, false, inner}}};
    chaos::Plan plan;
    chaos::Fault slow;
    slow.kind = chaos::FaultKind::slow;
    slow.target = chaos::Target::path("app/c0");
    slow.min_delay = slow.max_delay = 50'000'000;
    plan.faults.push_back(slow);
    chaos::Fault kill_worker;
    kill_worker.kind = chaos::FaultKind::kill;
    kill_worker.target = chaos::Target::name("c0/c0");
    kill_worker.at = 1 * s;
    plan.faults.push_back(kill_worker);
    chaos::Fault kill_inner;
    kill_inner.kind = chaos::FaultKind::kill;
    kill_inner.target = chaos::Target::path("app/c0");
    kill_inner.at = 1 * s + 75'000'000;
    plan.faults.push_back(kill_inner);
    plan.faults_until = 2 * s;
    const ChaosRun run = run_tree_under_chaos(tree, plan, 1);
    EXPECT_TRUE(run.violations.empty()) << report(tree, plan, 1, run);
    EXPECT_TRUE(run.stuck.empty()) << report(tree, plan, 1, run);
    EXPECT_FALSE(run.root_gave_up);
    EXPECT_TRUE(run.healed_at.has_value());
}

/// The dependency `db` goes down at once and never comes back.
chaos::Plan db_down_for_good() {
    chaos::Plan plan;
    chaos::Fault f;
    f.kind = chaos::FaultKind::service_down;
    f.name = "db";
    f.at = 0;
    f.heals = false;
    plan.faults.push_back(f);
    plan.faults_until = 2 * s;
    return plan;
}

RC_GTEST_PROP(ChaosProperty, ATetherContainsAToxicChild, ()) {
    const ModelSupervisor tree = *gen_tree(12);
    const auto seed = *rc::gen::arbitrary<std::uint64_t>();
    ChaosRunOptions options;
    options.toxic = true;
    options.tethered = true;
    const chaos::Plan plan = db_down_for_good();
    const ChaosRun run = run_tree_under_chaos(tree, plan, seed, options);
    RC_LOG() << report(tree, plan, seed, run);
    if (!run.violations.empty() || !run.stuck.empty() || run.root_gave_up ||
        !run.worker_exits.empty() || !run.healed_at) {
        // As a scenario: the root must not give up, and nothing outside the tether restarts.
        scenario::Scenario sc = failure_scenario(tree, plan, options, true,
                                                 "ChaosProperty.ATetherContainsAToxicChild");
        scenario::Expectation held;
        held.kind = scenario::Expectation::Kind::did_not_give_up;
        held.path = "app";
        sc.expectations.push_back(held);
        scenario::Expectation calm;
        calm.kind = scenario::Expectation::Kind::restarts;
        calm.path = "app/c*/**";
        sc.expectations.push_back(calm);
        RC_LOG() << save_failure(failure_dir(), "ChaosProperty.ATetherContainsAToxicChild", sc,
                                 seed)
                 << "\n";
    }
    RC_ASSERT(run.violations.empty());
    RC_ASSERT(run.stuck.empty());
    RC_ASSERT(!run.root_gave_up);
    RC_ASSERT(run.worker_exits.empty());  // Nobody outside the tether noticed.
    RC_ASSERT(run.healed_at.has_value());
}

RC_GTEST_PROP(ChaosProperty, WithoutATetherAToxicChildTakesTheRootDown, ()) {
    const ModelSupervisor tree = *gen_tree(12);
    const auto seed = *rc::gen::arbitrary<std::uint64_t>();
    ChaosRunOptions options;
    options.toxic = true;
    const chaos::Plan plan = db_down_for_good();
    const ChaosRun run = run_tree_under_chaos(tree, plan, seed, options);
    RC_LOG() << report(tree, plan, seed, run);
    RC_ASSERT(run.violations.empty());
    RC_ASSERT(run.root_gave_up);
}

}  // namespace
}  // namespace bedlam::properties
