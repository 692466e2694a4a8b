// The suite must keep finding bugs: with the real supervisor broken on purpose (SupFlags::Mutation),
// the supervision property fails within a bounded number of cases from a fixed seed. If a change
// to the generators, the harness or the model ever made the suite blind to these bugs, this
// fails.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include "generators.hpp"

namespace bedlam::properties {
namespace {

constexpr int bound = 1000;  // Cases within which each planted bug must be found.

/// Hears nothing: the planted bugs' failures are expected, and RapidCheck's default listener
/// would report them at exit as failures to reproduce.
class Quiet final : public rc::detail::TestListener {
public:
    void onTestCaseFinished(const rc::detail::CaseDescription& /*description*/) override {}
    void onShrinkTried(const rc::detail::CaseDescription& /*shrink*/, bool /*accepted*/) override {}
    void onTestFinished(const rc::detail::TestMetadata& /*metadata*/,
                        const rc::detail::TestResult& /*result*/) override {}
};

/// How many cases passed before the property failed with `mutation`, or -1 if it never did.
int cases_until_caught(SupFlags::Mutation mutation) {
    rc::detail::TestParams params;
    params.seed = 1;
    params.maxSuccess = bound;
    params.disableShrinking = true;  // Finding it is the point; the suite shrinks real failures.
    rc::detail::TestMetadata metadata;
    metadata.id = "self-check";
    Quiet quiet;
    const rc::detail::TestResult result = rc::detail::checkProperty(
        rc::detail::toProperty([mutation] { supervisor_matches_model(mutation); }), metadata,
        params, quiet);
    rc::detail::FailureResult failure;
    if (!result.match(failure)) {
        return -1;
    }
    return failure.numSuccess;
}

TEST(SelfCheck, IntensityOffByOneIsCaught) {
    const int passed = cases_until_caught(SupFlags::Mutation::intensity_off_by_one);
    EXPECT_GE(passed, 0) << "a supervisor that gives up one restart late passed " << bound
                         << " cases";
}

TEST(SelfCheck, RestForOneRestartingOneChildTooManyIsCaught) {
    const int passed = cases_until_caught(SupFlags::Mutation::rest_for_one_one_too_many);
    EXPECT_GE(passed, 0) << "a rest_for_one that restarts one child too many passed " << bound
                         << " cases";
}

TEST(SelfCheck, TheUnbrokenSupervisorPasses) {
    EXPECT_EQ(cases_until_caught(SupFlags::Mutation::none), -1);
}

}  // namespace
}  // namespace bedlam::properties
