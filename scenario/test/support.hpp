// What the scenario test files share: run a scenario from text, show a report, list the problems
// a text has, and edit a text in one place.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bedlam/scenario/load.hpp"
#include "bedlam/scenario/run.hpp"

namespace bedlam::scenario::test {

inline RunReport run_text(const std::string& text, std::uint64_t seed = 1) {
    const Scenario s = load_string(text, "test.yaml");
    RunOptions options;
    options.seed = seed;
    return run(s, options);
}

/// The verdict line, the failures and the behaviours' counters, for a failing test's message.
inline std::string show(const RunReport& r) {
    std::string out = r.last_line() + "\n";
    for (const std::string& f : r.failures) {
        out += "  " + f + "\n";
    }
    for (const auto& [name, n] : r.metrics.counters) {
        out += "  " + name + "=" + std::to_string(n) + "\n";
    }
    return out;
}

/// The problems loading `text` (as bad.yaml) reports, or a note that it loaded.
inline std::vector<std::string> problems(const std::string& text) {
    try {
        (void)load_string(text, "bad.yaml");
    } catch (const ScenarioError& e) {
        return e.problems();
    }
    return {"(loaded without problems)"};
}

/// `text` with the first `from` replaced by `to` (a test failure if there is none).
inline std::string replace(std::string text, const std::string& from, const std::string& to) {
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

}  // namespace bedlam::scenario::test
