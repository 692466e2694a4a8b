// Loads a scenario from YAML (docs/scenarios.md). Everything is checked before anything runs:
// malformed YAML, unknown keys, wrong types, unknown behaviours, parameters or targets, duplicate
// ids, impossible values. A bad file throws ScenarioError listing every problem as
// `file:line:column: what is wrong`.
#pragma once

#include <string>
#include <string_view>

#include "bedlam/scenario/scenario.hpp"

namespace bedlam::scenario {

/// Reads and checks the scenario in `path`.
Scenario load_file(const std::string& path);

/// Checks the scenario in `text`; `file` names it in messages.
Scenario load_string(std::string_view text, const std::string& file = "<string>");

}  // namespace bedlam::scenario
