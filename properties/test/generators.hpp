// RapidCheck generators for the supervisor properties, how their values print, and the
// property itself (shared by the suite and its self-check).
#pragma once

#include <rapidcheck.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/properties/supervisor_model.hpp"
#include "bedlam/properties/supervisor_run.hpp"
#include "bedlam/properties/tree_run.hpp"

namespace bedlam::properties {

inline constexpr Ticks ms = 1'000'000;

inline std::string show(const std::vector<std::string>& log) {
    std::string out;
    for (const std::string& line : log) {
        out += "    " + line + "\n";
    }
    return out;
}

// RapidCheck prints counterexamples with these.
inline void showValue(const ModelSupervisor& sup, std::ostream& os) { os << describe(sup); }
inline void showValue(const ModelExit& e, std::ostream& os) {
    os << "worker " << e.worker << " " << e.reason.to_string() << " at " << e.at / ms << "ms";
}

inline rc::Gen<Restart> gen_restart() {
    return rc::gen::element(Restart::permanent, Restart::transient, Restart::temporary);
}

inline rc::Gen<Strategy> gen_strategy() {
    return rc::gen::element(Strategy::one_for_one, Strategy::one_for_all, Strategy::rest_for_one);
}

/// A flat supervisor of 1-6 workers: every strategy but simple_one_for_one, every restart type,
/// intensity 0-4 in 1-5 s.
inline rc::Gen<ModelSupervisor> gen_supervisor() {
    return rc::gen::build<ModelSupervisor>(
        rc::gen::set(&ModelSupervisor::strategy, gen_strategy()),
        rc::gen::set(&ModelSupervisor::intensity, rc::gen::inRange(0, 5)),
        rc::gen::set(&ModelSupervisor::period_s, rc::gen::inRange(1, 6)),
        rc::gen::set(&ModelSupervisor::children,
                     rc::gen::resize(6, rc::gen::nonEmpty(rc::gen::container<std::vector<ModelChild>>(
                                            rc::gen::build<ModelChild>(rc::gen::set(
                                                &ModelChild::restart, gen_restart())))))));
}

namespace detail {

/// Picks a supervisor at `depth` (1: the root) with at most `budget` nodes below it, and takes
/// the nodes it uses from the budget. Must run inside rc::gen::exec.
inline ModelSupervisor pick_tree(int depth, int max_depth, int* budget) {
    ModelSupervisor sup;
    sup.strategy = *gen_strategy();
    sup.intensity = *rc::gen::inRange(0, 5);
    sup.period_s = *rc::gen::inRange(1, 6);
    const int fan_out = *rc::gen::inRange(1, std::max(2, std::min(6, *budget) + 1));
    for (int i = 0; i < fan_out; ++i) {
        ModelChild child;
        child.restart = *gen_restart();
        --*budget;
        // A nested supervisor one time in three, while depth and budget allow.
        if (depth < max_depth && *budget >= 2 && *rc::gen::inRange(0, 3) == 0) {
            child.supervisor = std::make_shared<const ModelSupervisor>(
                pick_tree(depth + 1, max_depth, budget));
        } else {
            child.brutal_kill = *rc::gen::inRange(0, 4) == 0;
        }
        sup.children.push_back(std::move(child));
    }
    return sup;
}

}  // namespace detail

/// A supervision tree: depth up to 4, fan-out up to 6, at most `max_nodes` children in all
/// (workers and nested supervisors), every strategy, restart type and worker shutdown kind
/// (brutal_kill or a timeout), intensity 0-4 in 1-5 s at every level.
inline rc::Gen<ModelSupervisor> gen_tree(int max_nodes = 24, int max_depth = 4) {
    return rc::gen::exec([max_nodes, max_depth] {
        int budget = max_nodes;
        return detail::pick_tree(1, max_depth, &budget);
    });
}

inline rc::Gen<ExitReason> gen_reason() {
    return rc::gen::element(ExitReason::kill(), ExitReason::normal(), ExitReason::shutdown(),
                            ExitReason::shutdown("chaos"), ExitReason::error("boom"));
}

/// Up to `max_exits` exits, 1 ms to 3 s apart, each at a worker index below `workers`.
inline rc::Gen<std::vector<ModelExit>> gen_exits(std::size_t workers, int max_exits = 12) {
    struct Step {
        int gap_ms;
        std::size_t child;
        ExitReason reason;
    };
    const auto step = rc::gen::apply(
        [](int gap, std::size_t child, ExitReason reason) {
            return Step{gap, child, std::move(reason)};
        },
        rc::gen::inRange(1, 3000), rc::gen::inRange<std::size_t>(0, workers), gen_reason());
    return rc::gen::map(rc::gen::resize(max_exits, rc::gen::container<std::vector<Step>>(step)),
                        [](const std::vector<Step>& steps) {
                            std::vector<ModelExit> exits;
                            Ticks t = 0;
                            for (const Step& s : steps) {
                                t += s.gap_ms * ms;
                                exits.push_back(ModelExit{t, s.child, s.reason});
                            }
                            return exits;
                        });
}

/// A workload for a tree with `workers` workers: up to four clients, each pinging one worker
/// every 10-300 ms with a 5-100 ms time-out (WorkloadClient).
inline rc::Gen<std::vector<WorkloadClient>> gen_workload(std::size_t workers) {
    const auto one = rc::gen::apply(
        [](std::size_t worker, int every_ms, int timeout_ms) {
            return WorkloadClient{worker, every_ms * ms, timeout_ms * ms};
        },
        rc::gen::inRange<std::size_t>(0, workers), rc::gen::inRange(10, 301),
        rc::gen::inRange(5, 101));
    return rc::gen::resize(4, rc::gen::container<std::vector<WorkloadClient>>(one));
}

/// Checks one case of the supervision property: the real tree under `exits` logs exactly what
/// the model says, and its seed replays to the same hash.
inline void check_against_model(const ModelSupervisor& sup, const std::vector<ModelExit>& exits,
                                std::uint64_t seed, SupFlags::Mutation mutation) {
    const Ticks end = (exits.empty() ? 0 : exits.back().at) + 1000 * ms;
    const std::vector<std::string> expected = expected_log(sup, exits, end);
    const SupervisorRun run = run_supervisor(sup, exits, end, seed, mutation);
    RC_LOG() << describe(sup) << "\n"
             << chaos::describe(run.plan) << "simulator seed=" << seed << " hash=" << hash_text(run.hash)
             << "\n  expected:\n"
             << show(expected) << "  got:\n"
             << show(run.log);
    RC_ASSERT(run.log == expected);
    // The same seed replays to the same hash.
    RC_ASSERT(run_supervisor(sup, exits, end, seed, mutation).hash == run.hash);
}

/// The supervision property on a flat supervisor: a random supervisor under a random exit
/// schedule logs exactly what the model says. `mutation` breaks the real supervisor (the
/// self-check); the suite runs it with none.
inline void supervisor_matches_model(SupFlags::Mutation mutation) {
    const ModelSupervisor sup = *gen_supervisor();
    const std::vector<ModelExit> exits = *gen_exits(sup.children.size());
    check_against_model(sup, exits, *rc::gen::arbitrary<std::uint64_t>(), mutation);
}

/// The same on a whole tree: escalation, nested restarts and shutdowns.
inline void tree_matches_model(SupFlags::Mutation mutation) {
    const ModelSupervisor sup = *gen_tree();
    const TreeSize size = tree_size(sup);
    RC_TAG("depth " + std::to_string(size.depth));
    const std::vector<ModelExit> exits = *gen_exits(static_cast<std::size_t>(size.workers), 16);
    check_against_model(sup, exits, *rc::gen::arbitrary<std::uint64_t>(), mutation);
}

}  // namespace bedlam::properties
