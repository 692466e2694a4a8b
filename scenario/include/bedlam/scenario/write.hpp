// Writes a scenario back out as YAML: what `bedlam shrink` saves and what the property suites
// write for a failing case, so that `bedlam run` can replay it.
#pragma once

#include <string>

#include "bedlam/scenario/scenario.hpp"

namespace bedlam::scenario {

/// The scenario as a YAML document that load_string() reads back to the same scenario: every
/// setting, node, argument, fault (numbers in their shortest exact form) and expectation.
/// Places are not written; comments are lost.
std::string to_yaml(const Scenario& scenario);

/// A duration as the loader reads it, exactly: `2s`, `1500ms`, `10us`, `7ns`, `never`.
std::string duration_text(Ticks t);

}  // namespace bedlam::scenario
