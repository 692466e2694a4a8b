// Fuzz target: arbitrary bytes as a scenario file (docs/scenarios.md) through the loader and its
// validator, scenario::load_string. The loader must reject bad input with a ScenarioError whose
// every line names the place (`fuzz.yaml:LINE:COLUMN: ...`, or `fuzz.yaml: ...` for the file as
// a whole) and never crash, hang, leak or throw anything else (an escaping exception aborts,
// which libFuzzer reports). What it accepts must survive a round trip: scenario::to_yaml writes
// it out, the loader takes that back, and writing it again gives the same text, so what `bedlam
// shrink` and the property suites save is what ran.
//
// Seeds: scenarios/ and cli/test/scenarios/; dictionary: fuzz/dict/scenario.dict.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bedlam/scenario/load.hpp"
#include "bedlam/scenario/scenario.hpp"
#include "bedlam/scenario/write.hpp"
#include "finding.hpp"

namespace {

using bedlam::fuzz::finding;
using bedlam::fuzz::require;

/// Every problem names its place in `file`.
void check_rejection(const bedlam::scenario::ScenarioError& e, const std::string& file) {
    require(!e.problems().empty(), "a ScenarioError lists no problem");
    for (const std::string& p : e.problems()) {
        bedlam::fuzz::require_place(p, file);
    }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace sc = bedlam::scenario;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    sc::Scenario loaded;
    try {
        loaded = sc::load_string(text, "fuzz.yaml");
    } catch (const sc::ScenarioError& e) {
        check_rejection(e, "fuzz.yaml");
        return 0;
    }
    const std::string written = sc::to_yaml(loaded);
    sc::Scenario again;
    try {
        again = sc::load_string(written, "written.yaml");
    } catch (const sc::ScenarioError& e) {
        finding("the loader accepted a scenario but rejects it as to_yaml wrote it:\n" +
                std::string(e.what()) + "\n--- written:\n" + written);
    }
    const std::string rewritten = sc::to_yaml(again);
    require(rewritten == written, "to_yaml(load(to_yaml(s))) differs from to_yaml(s):\n--- first:\n" +
                                      written + "--- second:\n" + rewritten);
    return 0;
}
