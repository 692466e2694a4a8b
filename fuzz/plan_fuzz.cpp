// Fuzz target: arbitrary bytes as a fault plan, the `faults:` section of a scenario file
// (docs/chaos.md, docs/scenarios.md), which is how bedlam reads plans. The bytes are placed
// under `faults:` in a fixed scenario (a tree with a server, a plain worker, a pipeline and a
// socket to a service, two callers), and the loader checks the plan against that tree. It must
// reject a bad plan with a ScenarioError naming the place, and never crash, hang, leak or throw
// anything else. A plan it accepts must run: the scenario runs once in the simulator with the
// chaos injector carrying the plan out, and none of the safety properties every scenario run
// checks may break (no supervisor exits cleanly while a child of its own lives, one DOWN per
// monitor, no registered name for a dead process). The plan may make the run fail otherwise
// (the tree may give up, or never start, or never stop under a fault that does not heal): that
// is what the plan asked for.
//
// Before it runs, rates are capped at 20 events per second and floods at 100 messages, and the
// run stops after 100,000 process steps, so that one input takes milliseconds; the loader sees
// the plan as written.
//
// Seeds: fuzz/corpus/plan/; dictionary: fuzz/dict/scenario.dict.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bedlam/scenario/load.hpp"
#include "bedlam/scenario/run.hpp"
#include "bedlam/scenario/scenario.hpp"
#include "finding.hpp"

namespace {

constexpr const char* file = "plan.yaml";

/// The scenario the plans run against; the input follows `faults:`, indented under it.
constexpr std::string_view skeleton = R"(name: plan fuzz
run: {duration: 3s, seeds: 1}
services:
  - {name: db}
tree:
  id: app
  strategy: one_for_one
  intensity: 10
  period: 1
  children:
    - {id: ledger, behaviour: counter}
    - {id: w, behaviour: worker, args: {name: w}}
    - id: pipe
      supervisor:
        strategy: rest_for_one
        intensity: 3
        period: 5
        children:
          - {id: sink, behaviour: stage}
          - {id: source, behaviour: stage, args: {next: sink, every: 100ms}}
          - {id: sock, behaviour: socket, args: {service: db}}
workload:
  - {id: clerks, behaviour: caller, count: 2, args: {target: ledger, every: 100ms}}
faults:
)";

/// The input, each line indented by two spaces (a carriage return counts as a line break, as
/// in YAML), so that it stays inside `faults:`.
std::string scenario_text(std::string_view input) {
    std::string out(skeleton);
    out += "  ";
    for (const char c : input) {
        if (c == '\n' || c == '\r') {
            out += "\n  ";
        } else {
            out += c;
        }
    }
    out += '\n';
    return out;
}

/// Whether a failure line of the run is a broken safety property (not liveness, not the
/// tree's start, not an expectation: the scenario has none).
bool broke_safety(const std::string& failure, bool run_was_stopped) {
    if (!failure.starts_with("property: ")) {
        return false;
    }
    // Nothing can be stopped in a run the step limit cut short, or one a lasting hang kept
    // going: these are liveness failures, and a DOWN may still be on its way.
    if (failure.find("is alive after the run") != std::string::npos) {
        return false;
    }
    return run_was_stopped || failure.find("though its target exited") == std::string::npos;
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace sc = bedlam::scenario;
    const std::string text =
        scenario_text(std::string_view(reinterpret_cast<const char*>(data), size));
    sc::Scenario s;
    try {
        s = sc::load_string(text, file);
    } catch (const sc::ScenarioError& e) {
        for (const std::string& p : e.problems()) {
            bedlam::fuzz::require_place(p, file);
        }
        return 0;
    }
    for (bedlam::chaos::Fault& f : s.faults.faults) {
        f.rate = std::min(f.rate, 20.0);
        f.count = std::min<std::uint32_t>(f.count, 100);
    }
    sc::RunOptions options;
    options.step_limit = 100'000;
    const sc::RunReport report = sc::run(s, options);
    const bool stopped = std::none_of(report.failures.begin(), report.failures.end(),
                                      [](const std::string& f) {
                                          return f.starts_with("liveness: the run could not be");
                                      });
    for (const std::string& f : report.failures) {
        if (broke_safety(f, stopped)) {
            std::string what = "a plan the loader accepted broke a safety property: ";
            what += f;
            what += "\n--- scenario:\n";
            what += text;
            bedlam::fuzz::finding(what);
        }
    }
    return 0;
}
