// The supervisor model on hand-worked cases (otp-semantics §3), so that the property suite's
// oracle is itself checked against the rules, not only against the implementation.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "bedlam/properties/supervisor_model.hpp"

namespace bedlam::properties {
namespace {

using Log = std::vector<std::string>;
constexpr Ticks s = 1'000'000'000;

ModelSupervisor three(Strategy strategy, int intensity = 3, int period = 5) {
    return ModelSupervisor{strategy, intensity, period,
                           {{Restart::permanent}, {Restart::permanent}, {Restart::permanent}}};
}

TEST(SupervisorModel, OneForOneRestartsOnlyTheChild) {
    EXPECT_EQ(expected_log(three(Strategy::one_for_one), {{s, 1, ExitReason::error("boom")}}, 10 * s),
              (Log{"start c0", "start c1", "start c2", "stop c1 boom", "start c1",
                   "stop c2 shutdown", "stop c1 shutdown", "stop c0 shutdown",
                   "sup exit shutdown"}));
}

TEST(SupervisorModel, OneForAllStopsOthersNewestFirstThenStartsAllInOrder) {
    EXPECT_EQ(expected_log(three(Strategy::one_for_all), {{s, 1, ExitReason::kill()}}, 10 * s),
              (Log{"start c0", "start c1", "start c2", "stop c2 shutdown", "stop c0 shutdown",
                   "start c0", "start c1", "start c2", "stop c2 shutdown", "stop c1 shutdown",
                   "stop c0 shutdown", "sup exit shutdown"}));
}

TEST(SupervisorModel, RestForOneRestartsTheChildAndThoseAfterIt) {
    EXPECT_EQ(expected_log(three(Strategy::rest_for_one), {{s, 1, ExitReason::error("x")}}, 10 * s),
              (Log{"start c0", "start c1", "start c2", "stop c1 x", "stop c2 shutdown",
                   "start c1", "start c2", "stop c2 shutdown", "stop c1 shutdown",
                   "stop c0 shutdown", "sup exit shutdown"}));
}

TEST(SupervisorModel, RestartTypesByReason) {
    ModelSupervisor sup{Strategy::one_for_one, 5, 5,
                        {{Restart::transient}, {Restart::transient}, {Restart::temporary}}};
    // A transient child is not restarted after normal or {shutdown,_}, but is after killed; a
    // temporary child never is, and is gone.
    const Log log = expected_log(sup,
                                 {{s, 0, ExitReason::normal()},
                                  {2 * s, 1, ExitReason::kill()},
                                  {3 * s, 1, ExitReason::shutdown("t")},
                                  {4 * s, 2, ExitReason::error("e")}},
                                 10 * s);
    EXPECT_EQ(log, (Log{"start c0", "start c1", "start c2", "stop c0 normal", "start c1",
                        "stop c1 {shutdown,t}", "stop c2 e", "sup exit shutdown"}));
}

TEST(SupervisorModel, GivesUpWhenRestartsExceedIntensityInTheWindow) {
    // Intensity 1 in 1 s: restarts at seconds 1 and 2 fall in one inclusive window (2 - 1 <= 1),
    // so the second exceeds it; the others stop newest first and the supervisor exits shutdown.
    const Log log = expected_log(three(Strategy::one_for_one, 1, 1),
                                 {{1 * s, 0, ExitReason::error("a")},
                                  {2 * s + 500'000'000, 0, ExitReason::error("b")}},
                                 10 * s);
    EXPECT_EQ(log, (Log{"start c0", "start c1", "start c2", "stop c0 a", "start c0", "stop c0 b",
                        "stop c2 shutdown", "stop c1 shutdown", "sup exit shutdown"}));
    // Three seconds apart they do not: the supervisor survives.
    const Log spaced = expected_log(three(Strategy::one_for_one, 1, 1),
                                    {{1 * s, 0, ExitReason::error("a")},
                                     {3 * s, 0, ExitReason::error("b")}},
                                    10 * s);
    EXPECT_EQ(spaced.back(), "sup exit shutdown");
    EXPECT_EQ(std::count(spaced.begin(), spaced.end(), "start c0"), 3);
}

TEST(SupervisorModel, IntensityZeroGivesUpAtTheFirstRestart) {
    const Log log =
        expected_log(three(Strategy::one_for_all, 0, 5), {{s, 2, ExitReason::kill()}}, 10 * s);
    EXPECT_EQ(log, (Log{"start c0", "start c1", "start c2", "stop c1 shutdown",
                        "stop c0 shutdown", "sup exit shutdown"}));
}

TEST(SupervisorModel, OneForAllRestartsAStoppedTransientButDropsTemporaries) {
    ModelSupervisor sup{Strategy::one_for_all, 5, 5,
                        {{Restart::transient}, {Restart::temporary}, {Restart::permanent}}};
    const Log log = expected_log(sup,
                                 {{s, 0, ExitReason::normal()}, {2 * s, 2, ExitReason::kill()}},
                                 10 * s);
    EXPECT_EQ(log, (Log{"start c0", "start c1", "start c2", "stop c0 normal", "stop c1 shutdown",
                        "start c0", "start c2", "stop c2 shutdown", "stop c0 shutdown",
                        "sup exit shutdown"}));
}

TEST(SupervisorModel, ExitsToChildrenThatAreNotRunningDoNothing) {
    ModelSupervisor sup{Strategy::one_for_one, 5, 5, {{Restart::temporary}}};
    const Log log = expected_log(
        sup, {{s, 0, ExitReason::error("x")}, {2 * s, 0, ExitReason::error("y")}}, 10 * s);
    EXPECT_EQ(log, (Log{"start c0", "stop c0 x", "sup exit shutdown"}));
}

ModelSupervisor nested(Restart restart, int root_intensity) {
    auto inner = std::make_shared<const ModelSupervisor>(ModelSupervisor{
        Strategy::one_for_one, 0, 5, {{Restart::permanent}, {Restart::permanent}}});
    return ModelSupervisor{Strategy::one_for_one, root_intensity, 5,
                           {{Restart::permanent}, {restart, false, inner}}};
}

TEST(SupervisorModel, ANestedSupervisorThatGivesUpIsRestartedByItsParent) {
    // §3 rule 9-10: the inner supervisor (intensity 0) gives up at its first restart, stops its
    // other child and exits shutdown; the root restarts it with its whole subtree.
    EXPECT_EQ(worker_paths(nested(Restart::permanent, 1)), (Log{"c0", "c1/c0", "c1/c1"}));
    EXPECT_EQ(expected_log(nested(Restart::permanent, 1), {{s, 1, ExitReason::kill()}}, 10 * s),
              (Log{"start c0", "start c1/c0", "start c1/c1", "stop c1/c1 shutdown", "start c1/c0",
                   "start c1/c1", "stop c1/c1 shutdown", "stop c1/c0 shutdown",
                   "stop c0 shutdown", "sup exit shutdown"}));
}

TEST(SupervisorModel, EscalationReachesTheRootWhenEveryLevelsBudgetIsSpent) {
    const Log log = expected_log(nested(Restart::permanent, 1),
                                 {{s, 1, ExitReason::error("a")}, {2 * s, 2, ExitReason::error("b")}},
                                 10 * s);
    EXPECT_EQ(log, (Log{"start c0", "start c1/c0", "start c1/c1", "stop c1/c0 a",
                        "stop c1/c1 shutdown", "start c1/c0", "start c1/c1", "stop c1/c1 b",
                        "stop c1/c0 shutdown", "stop c0 shutdown", "sup exit shutdown"}));
}

TEST(SupervisorModel, ATransientSupervisorThatGivesUpStaysDown) {
    // Its `shutdown` is a clean exit (rule 4), so the root neither restarts it nor counts it.
    const Log log = expected_log(nested(Restart::transient, 0), {{s, 1, ExitReason::kill()}}, 10 * s);
    EXPECT_EQ(log, (Log{"start c0", "start c1/c0", "start c1/c1", "stop c1/c1 shutdown",
                        "stop c0 shutdown", "sup exit shutdown"}));
}

TEST(SupervisorModel, BrutalKillWorkersStopWithoutNoticing) {
    ModelSupervisor sup{Strategy::one_for_all, 3, 5,
                        {{Restart::permanent, true}, {Restart::permanent}, {Restart::permanent, true}}};
    EXPECT_EQ(expected_log(sup, {{s, 1, ExitReason::error("x")}}, 10 * s),
              (Log{"start c0", "start c1", "start c2", "stop c1 x", "start c0", "start c1",
                   "start c2", "stop c1 shutdown", "sup exit shutdown"}));
}

}  // namespace
}  // namespace bedlam::properties
