// Supervision holds under any schedule of exits: for random flat supervisors (every strategy but
// simple_one_for_one, every restart type, intensity 0-4 in periods of 1-5 s) and random exits
// (kill, normal, shutdown, {shutdown,T}, errors) at random virtual times, the simulator's log of
// starts and stops equals the pure model's exactly: the strategy restarts the right children in
// the right order, restart types are honoured for every reason, children stop in reverse start
// order, and the supervisor gives up exactly when the intensity is exceeded.
//
// Cases per property: BEDLAM_PROPERTY_CASES (default 100; see main.cpp). Every failure prints the
// supervisor, the fault plan, the simulator seed and the trace hash, after RapidCheck's shrinking.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "bedlam/properties/supervisor_model.hpp"
#include "bedlam/properties/supervisor_run.hpp"
#include "generators.hpp"

namespace bedlam::properties {
namespace {

RC_GTEST_PROP(SupervisorProperty, MatchesTheOtpModelUnderAnyExitSchedule, ()) {
    supervisor_matches_model(SupFlags::Mutation::none);
}

// The same on whole trees (depth up to 4, fan-out up to 6, nested supervisors of every
// strategy and restart type, workers with brutal_kill or a timeout): a nested supervisor that
// gives up exits shutdown and its parent treats that by its restart type, escalation reaches the
// root only when every level's budget is spent, and shutdowns go depth first, newest first.
RC_GTEST_PROP(SupervisorProperty, TreeMatchesTheOtpModelUnderAnyExitSchedule, ()) {
    tree_matches_model(SupFlags::Mutation::none);
}

}  // namespace
}  // namespace bedlam::properties
