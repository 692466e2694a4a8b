// RapidCheck generators for the supervisor properties, how their values print, and the
// property itself (shared by the suite and its self-check).
#pragma once

#include <rapidcheck.h>

#include <ostream>
#include <string>
#include <vector>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/properties/supervisor_model.hpp"
#include "bedlam/properties/supervisor_run.hpp"

namespace bedlam::properties {

inline constexpr Ticks ms = 1'000'000;

inline std::string show(const std::vector<std::string>& log) {
    std::string out;
    for (const std::string& line : log) {
        out += "    " + line + "\n";
    }
    return out;
}

inline std::string describe(const ModelSupervisor& sup) {
    std::string out = std::string("supervisor ") + to_string(sup.strategy) +
                      " intensity=" + std::to_string(sup.intensity) +
                      " period=" + std::to_string(sup.period_s) + "s children=";
    for (std::size_t i = 0; i < sup.children.size(); ++i) {
        out += (i > 0 ? "," : "") + child_id(i) + ":" + to_string(sup.children[i].restart);
    }
    return out;
}

// RapidCheck prints counterexamples with these.
inline void showValue(const ModelSupervisor& sup, std::ostream& os) { os << describe(sup); }
inline void showValue(const ModelExit& e, std::ostream& os) {
    os << child_id(e.child) << " " << e.reason.to_string() << " at " << e.at / ms << "ms";
}

inline rc::Gen<ModelSupervisor> gen_supervisor() {
    return rc::gen::build<ModelSupervisor>(
        rc::gen::set(&ModelSupervisor::strategy,
                     rc::gen::element(Strategy::one_for_one, Strategy::one_for_all,
                                      Strategy::rest_for_one)),
        rc::gen::set(&ModelSupervisor::intensity, rc::gen::inRange(0, 5)),
        rc::gen::set(&ModelSupervisor::period_s, rc::gen::inRange(1, 6)),
        rc::gen::set(&ModelSupervisor::children,
                     rc::gen::resize(6, rc::gen::nonEmpty(rc::gen::container<std::vector<ModelChild>>(
                                            rc::gen::build<ModelChild>(rc::gen::set(
                                                &ModelChild::restart,
                                                rc::gen::element(Restart::permanent,
                                                                 Restart::transient,
                                                                 Restart::temporary))))))));
}

inline rc::Gen<ExitReason> gen_reason() {
    return rc::gen::element(ExitReason::kill(), ExitReason::normal(), ExitReason::shutdown(),
                            ExitReason::shutdown("chaos"), ExitReason::error("boom"));
}

/// Up to 12 exits, 1 ms to 3 s apart, each at a child index below `children`.
inline rc::Gen<std::vector<ModelExit>> gen_exits(std::size_t children) {
    struct Step {
        int gap_ms;
        std::size_t child;
        ExitReason reason;
    };
    const auto step = rc::gen::apply(
        [](int gap, std::size_t child, ExitReason reason) {
            return Step{gap, child, std::move(reason)};
        },
        rc::gen::inRange(1, 3000), rc::gen::inRange<std::size_t>(0, children), gen_reason());
    return rc::gen::map(rc::gen::resize(12, rc::gen::container<std::vector<Step>>(step)),
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

/// The supervision property: a random flat supervisor under a random exit schedule logs exactly
/// what the model says, and its seed replays to the same hash. `mutation` breaks the real
/// supervisor (the self-check); the suite runs it with none.
inline void supervisor_matches_model(SupFlags::Mutation mutation) {
    const ModelSupervisor sup = *gen_supervisor();
    const std::vector<ModelExit> exits = *gen_exits(sup.children.size());
    const auto seed = *rc::gen::arbitrary<std::uint64_t>();
    const Ticks end = (exits.empty() ? 0 : exits.back().at) + 1000 * ms;
    const std::vector<std::string> expected = expected_log(sup, exits, end);
    const SupervisorRun run = run_supervisor(sup, exits, end, seed, mutation);
    RC_LOG() << describe(sup) << "\n"
             << chaos::describe(run.plan) << "simulator seed=" << seed << " hash=" << std::hex
             << run.hash << std::dec << "\n  expected:\n"
             << show(expected) << "  got:\n"
             << show(run.log);
    RC_ASSERT(run.log == expected);
    // The same seed replays to the same hash.
    RC_ASSERT(run_supervisor(sup, exits, end, seed, mutation).hash == run.hash);
}

}  // namespace bedlam::properties
