#include "bedlam/properties/seeded.hpp"

#include <algorithm>
#include <memory>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/properties/supervisor_run.hpp"
#include "bedlam/properties/tree_run.hpp"

namespace bedlam::properties {

namespace {

constexpr Ticks ms = 1'000'000;

Strategy pick_strategy(Rng& rng) {
    static constexpr Strategy strategies[] = {Strategy::one_for_one, Strategy::one_for_all,
                                              Strategy::rest_for_one};
    return strategies[rng.below(3)];
}

Restart pick_restart(Rng& rng) {
    static constexpr Restart restarts[] = {Restart::permanent, Restart::transient,
                                           Restart::temporary};
    return restarts[rng.below(3)];
}

int in_range(Rng& rng, int lo, int hi) {  // [lo, hi)
    return lo + static_cast<int>(rng.below(static_cast<std::uint64_t>(hi - lo)));
}

ModelSupervisor pick_tree(Rng& rng, int depth, int max_depth, int* budget) {
    ModelSupervisor sup;
    sup.strategy = pick_strategy(rng);
    sup.intensity = in_range(rng, 0, 5);
    sup.period_s = in_range(rng, 1, 6);
    const int fan_out = in_range(rng, 1, std::max(2, std::min(6, *budget) + 1));
    for (int i = 0; i < fan_out; ++i) {
        ModelChild child;
        child.restart = pick_restart(rng);
        --*budget;
        if (depth < max_depth && *budget >= 2 && rng.below(3) == 0) {
            child.supervisor =
                std::make_shared<const ModelSupervisor>(pick_tree(rng, depth + 1, max_depth, budget));
        } else {
            child.brutal_kill = rng.below(4) == 0;
        }
        sup.children.push_back(std::move(child));
    }
    return sup;
}

ExitReason pick_reason(Rng& rng) {
    switch (rng.below(5)) {
        case 0:
            return ExitReason::kill();
        case 1:
            return ExitReason::normal();
        case 2:
            return ExitReason::shutdown();
        case 3:
            return ExitReason::shutdown("chaos");
        default:
            return ExitReason::error("boom");
    }
}

}  // namespace

ModelSupervisor random_tree(Rng& rng, int max_nodes, int max_depth) {
    int budget = max_nodes;
    return pick_tree(rng, 1, max_depth, &budget);
}

std::vector<ModelExit> random_exits(Rng& rng, std::size_t workers, int max_exits) {
    std::vector<ModelExit> exits;
    const int n = in_range(rng, 0, max_exits + 1);
    Ticks t = 0;
    for (int i = 0; i < n; ++i) {
        t += in_range(rng, 1, 3000) * ms;
        const std::size_t worker = static_cast<std::size_t>(rng.below(workers));
        exits.push_back(ModelExit{t, worker, pick_reason(rng)});
    }
    return exits;
}

SeedCase run_seed(std::uint64_t seed) {
    SeedCase result;
    result.seed = seed;
    Rng rng(seed);

    // The tree against the model.
    const ModelSupervisor tree = random_tree(rng);
    const std::vector<ModelExit> exits =
        random_exits(rng, static_cast<std::size_t>(tree_size(tree).workers));
    const Ticks end = (exits.empty() ? 0 : exits.back().at) + 1000 * ms;
    const SupervisorRun run = run_supervisor(tree, exits, end, seed);
    result.model_hash = run.hash;
    if (run.log != expected_log(tree, exits, end)) {
        result.failure = "the tree's log differs from the model's";
    }

    // Another tree under a swarm plan.
    const ModelSupervisor chaos_tree = random_tree(rng);
    chaos::SwarmOptions options;
    options.faults_until = 5'000'000'000;
    options.target = chaos::Target::path("app/**");
    using K = chaos::FaultKind;
    options.kinds = {K::kill,  K::crash, K::exit,  K::delay,     K::duplicate, K::reorder,
                     K::slow,  K::hang,  K::flood, K::transient, K::timer_skew};
    chaos::Plan plan = chaos::swarm(seed, options);
    if (rng.below(4) != 0) {
        for (chaos::Fault& f : plan.faults) {
            f.from = std::max<Ticks>(f.from, 100 * ms);
        }
    }
    const ChaosRun chaos_run = run_tree_under_chaos(chaos_tree, plan, seed);
    result.chaos_hash = chaos_run.hash;
    if (!chaos_run.violations.empty()) {
        result.failure += (result.failure.empty() ? "" : "; ") + chaos_run.violations.front();
    } else if (!chaos_run.stuck.empty()) {
        result.failure += (result.failure.empty() ? "" : "; ") + chaos_run.stuck.front();
    } else if (!chaos_run.root_gave_up && !chaos_run.healed_at) {
        result.failure += (result.failure.empty() ? "" : "; ") +
                          std::string("the tree did not heal within the bound");
    }
    result.pass = result.failure.empty();
    return result;
}

}  // namespace bedlam::properties
