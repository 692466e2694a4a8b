// The schedule fuzzer. Its input is decoded (FuzzInput) into a supervision tree, a sequence of
// operations against it, and, with the bytes left over, which runnable process the simulator
// runs at each of its choices (SimConfig::choose; past the last byte, a PRNG seeded from the
// input decides). Coverage guidance then steers towards interleavings and fault timings that
// random seeds rarely reach. The first byte picks one of two cases:
//
//  - model: the operations are exits sent to workers from outside the tree (kill; a crash, as
//    an error; exit with normal, shutdown or {shutdown,chaos}) with the virtual time that
//    passes between them, then the root's stop. The supervisor's log of starts and stops must
//    equal the pure OTP model's (properties/supervisor_model.hpp) line for line, as in the
//    property suites' SupervisorProperty.
//  - chaos: the operations are a fault plan aimed at the tree (scheduled kills, crashes and exit
//    signals at chosen processes; kills, crashes, exits, delays, duplicates, reorders, slowness,
//    hangs, floods, transient crashes and timer skew within a window) while clients call the
//    workers. The invariants run_tree_under_chaos watches must hold (no supervisor exits while
//    a child lives, one DOWN per monitor, no registered name for a dead process, nothing
//    outlives the run), the run must end, and the tree must heal after the faults stop unless
//    the root gave up, as in ChaosProperty.SupervisionInvariantsHoldUnderSwarmFaults.
//
// A model case must also replay to the same trace hash from the same input (a chaos case runs
// for seconds of virtual time, so it is not run twice: ChaosProperty and
// ci/property-determinism.sh check that its runs replay). The runtime's own assertions run on
// every step (the fuzz preset turns on BEDLAM_ASSERT_SLOW's checks).
//
// Built with BEDLAM_FUZZ_CANARY=1 (schedule_canary_fuzz) it runs only model cases against a
// supervisor with a planted bug, SupFlags::Mutation::intensity_off_by_one (it gives up one
// restart late): CI requires libFuzzer to find it within a fixed number of runs from a fixed
// seed, so a fuzz set-up that has gone blind cannot pass unnoticed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/properties/supervisor_model.hpp"
#include "bedlam/properties/supervisor_run.hpp"
#include "bedlam/properties/tree_run.hpp"
#include "bedlam/runtime/rng.hpp"
#include "bedlam/runtime/trace.hpp"
#include "finding.hpp"
#include "fuzz_input.hpp"

#ifndef BEDLAM_FUZZ_CANARY
#define BEDLAM_FUZZ_CANARY 0
#endif

namespace bedlam::fuzz {
namespace {

using properties::ModelChild;
using properties::ModelExit;
using properties::ModelSupervisor;

constexpr Ticks ms = 1'000'000;
constexpr bool canary = BEDLAM_FUZZ_CANARY != 0;

/// A supervisor at `depth` (1: the root) with at most `*budget` children below it, all told.
// NOLINTNEXTLINE(misc-no-recursion): one level per nested supervisor, three at most.
ModelSupervisor decode_tree(FuzzInput& in, int depth, int* budget) {
    static constexpr Strategy strategies[] = {Strategy::one_for_one, Strategy::one_for_all,
                                              Strategy::rest_for_one};
    static constexpr Restart restarts[] = {Restart::permanent, Restart::transient,
                                           Restart::temporary};
    ModelSupervisor sup;
    sup.strategy = in.pick(strategies);
    sup.intensity = in.in_range_int(0, 4);
    sup.period_s = in.in_range_int(1, 5);
    const int fan_out = in.in_range_int(1, std::max(1, std::min(4, *budget)));
    for (int i = 0; i < fan_out; ++i) {
        ModelChild child;
        child.restart = in.pick(restarts);
        --*budget;
        const std::uint8_t shape = in.byte();
        if (depth < 3 && *budget >= 2 && shape % 3 == 2) {
            child.supervisor =
                std::make_shared<const ModelSupervisor>(decode_tree(in, depth + 1, budget));
        } else {
            child.brutal_kill = shape % 3 == 1;
        }
        sup.children.push_back(std::move(child));
    }
    return sup;
}

ExitReason decode_reason(FuzzInput& in) {
    switch (in.in_range(0, 4)) {
        case 0:
            return ExitReason::kill();
        case 1:
            return ExitReason::error("boom");  // A crash.
        case 2:
            return ExitReason::normal();
        case 3:
            return ExitReason::shutdown();
        default:
            return ExitReason::shutdown("chaos");
    }
}

/// The simulator's scheduling choices: one byte each, then a PRNG seeded from the input.
class Schedule {
public:
    Schedule(std::span<const std::uint8_t> bytes, std::uint64_t seed) : bytes_(bytes), rng_(seed) {}

    std::size_t choose(std::size_t n) {
        if (next_ < bytes_.size()) {
            return bytes_[next_++] % n;
        }
        return static_cast<std::size_t>(rng_.below(n));
    }

    /// A chooser that plays these choices from the start.
    [[nodiscard]] static std::function<std::size_t(std::size_t)> from(
        std::span<const std::uint8_t> bytes, std::uint64_t seed) {
        auto schedule = std::make_shared<Schedule>(bytes, seed);
        return [schedule](std::size_t n) { return schedule->choose(n); };
    }

private:
    std::span<const std::uint8_t> bytes_;
    std::size_t next_ = 0;
    Rng rng_;
};

std::string lines(const std::vector<std::string>& log) {
    std::string out;
    for (const std::string& line : log) {
        out += "    " + line + "\n";
    }
    return out;
}

/// The model case: the real supervisor's log must be the model's.
void run_model_case(FuzzInput& in, std::uint64_t seed) {
    int budget = 10;
    const ModelSupervisor tree = decode_tree(in, 1, &budget);
    const auto workers = static_cast<std::size_t>(properties::tree_size(tree).workers);
    std::vector<ModelExit> exits;
    const int count = in.in_range_int(0, 12);
    Ticks t = 0;
    for (int i = 0; i < count; ++i) {
        t += static_cast<Ticks>(in.in_range(1, 3000)) * ms;  // The time that passes first.
        const std::size_t worker = in.in_range(0, workers - 1);
        exits.push_back(ModelExit{t, worker, decode_reason(in)});
    }
    const Ticks end = t + 1000 * ms;  // Then the root is stopped.
    const SupFlags::Mutation mutation =
        canary ? SupFlags::Mutation::intensity_off_by_one : SupFlags::Mutation::none;
    const std::span<const std::uint8_t> schedule = in.rest();

    const std::vector<std::string> expected = properties::expected_log(tree, exits, end);
    const properties::SupervisorRun run = properties::run_supervisor(
        tree, exits, end, seed, mutation, Schedule::from(schedule, seed));
    std::string report = "tree: " + properties::describe(tree) + "\n" + chaos::describe(run.plan) +
                         "seed=" + std::to_string(seed) + " hash=" + hash_text(run.hash) + "\n";
    require(run.log == expected, (canary ? "canary: the planted bug was found. " : "") +
                                     std::string("the supervisor's log differs from the OTP "
                                                 "model's\n") +
                                     report + "  expected:\n" + lines(expected) + "  got:\n" +
                                     lines(run.log));
    const properties::SupervisorRun again = properties::run_supervisor(
        tree, exits, end, seed, mutation, Schedule::from(schedule, seed));
    require(again.hash == run.hash, "the same choices replayed to another hash (" +
                                        hash_text(again.hash) + ")\n" + report);
}

/// One fault of the chaos case, aimed at the tree: at a process chosen from `paths` (its
/// supervision path, or its registered name for a worker), or at the whole tree. The fault is
/// valid by construction (chaos::check), in the ranges of swarm mode (chaos::swarm): 0.1 to 2
/// events per second, 0.5% to 10% of messages, delays up to 110 ms.
chaos::Fault decode_fault(FuzzInput& in, const std::vector<std::string>& paths,
                          const std::vector<std::string>& names, Ticks window) {
    using K = chaos::FaultKind;
    static constexpr K kinds[] = {K::kill,  K::crash, K::exit,  K::delay,     K::duplicate,
                                  K::reorder, K::slow, K::hang, K::flood, K::transient,
                                  K::timer_skew};
    chaos::Fault f;
    f.kind = in.pick(kinds);
    const bool strikes = f.kind == K::kill || f.kind == K::crash || f.kind == K::exit ||
                         f.kind == K::hang || f.kind == K::flood;  // Once, or at a rate.
    const std::uint64_t aim = in.in_range(0, paths.size() + names.size());
    if (aim < paths.size()) {
        f.target = chaos::Target::path(paths[aim]);
    } else if (aim < paths.size() + names.size() && f.kind != K::transient) {
        f.target = chaos::Target::name(names[aim - paths.size()]);
    } else {
        f.target = chaos::Target::path("app/**");  // A transient fault is keyed on a path.
    }
    const auto window_ms = static_cast<std::uint64_t>(window / ms);
    if (strikes && in.flag()) {
        f.at = static_cast<Ticks>(in.in_range(0, window_ms)) * ms;
    } else {
        f.from = static_cast<Ticks>(in.in_range(0, window_ms - 1)) * ms;
        f.until = window;
        f.rate = strikes ? static_cast<double>(in.in_range(1, 20)) / 10.0 : 0;
    }
    f.every = strikes && in.flag();
    f.probability = static_cast<double>(in.in_range(1, 20)) / 200.0;
    f.min_delay = static_cast<Ticks>(in.in_range(0, 10)) * ms;
    f.max_delay = f.min_delay + static_cast<Ticks>(in.in_range(1, 100)) * ms;
    if (f.kind == K::exit) {
        f.reason = decode_reason(in);
    } else if (f.kind == K::crash) {
        // A crash models a bug: its reason is abnormal (chaos::check).
        f.reason = in.flag() ? ExitReason::error("boom") : ExitReason::error("chaos");
    }
    if (f.kind == K::hang) {
        f.rate /= 4;
        f.duration = static_cast<Ticks>(in.in_range(100, 2100)) * ms;
    }
    if (f.kind == K::flood) {
        f.count = static_cast<std::uint32_t>(in.in_range(10, 1000));
    }
    if (f.kind == K::transient) {
        f.count = static_cast<std::uint32_t>(in.in_range(1, 3));
    }
    return f;
}

/// The chaos case: OTP's invariants hold whatever the faults and the schedule.
void run_chaos_case(FuzzInput& in, std::uint64_t seed) {
    int budget = 12;
    const ModelSupervisor tree = decode_tree(in, 1, &budget);
    const std::vector<std::string> names = properties::worker_paths(tree);
    std::vector<std::string> paths{"app"};
    for (const std::string& n : names) {
        // Every process on the way down: nested supervisors as well as workers.
        for (std::size_t slash = n.find('/'); slash != std::string::npos;
             slash = n.find('/', slash + 1)) {
            paths.push_back("app/" + n.substr(0, slash));
        }
        paths.push_back("app/" + n);
    }
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());

    chaos::Plan plan;
    plan.faults_until = static_cast<Ticks>(in.in_range(1, 5)) * 1000 * ms;
    const int count = in.in_range_int(1, 6);
    for (int i = 0; i < count; ++i) {
        plan.faults.push_back(decode_fault(in, paths, names, plan.faults_until));
    }
    const std::vector<chaos::PlanIssue> issues = chaos::check(plan);
    require(issues.empty(), "the fuzzer decoded an invalid plan: " +
                                (issues.empty() ? "" : issues.front().to_string(plan)) + "\n" +
                                chaos::describe(plan));
    properties::ChaosRunOptions options;
    const int clients = in.in_range_int(0, 3);
    for (int i = 0; i < clients; ++i) {
        properties::WorkloadClient c;
        c.worker = in.in_range(0, names.size() - 1);
        c.every = static_cast<Ticks>(in.in_range(10, 300)) * ms;
        c.timeout = static_cast<Ticks>(in.in_range(5, 100)) * ms;
        options.workload.push_back(c);
    }
    const std::span<const std::uint8_t> schedule = in.rest();
    options.choose = Schedule::from(schedule, seed);
    // To look at a finding: BEDLAM_FUZZ_TRACE=FILE writes the run's trace (`bedlam trace FILE`).
    std::ofstream trace;
    // NOLINTNEXTLINE(concurrency-mt-unsafe): the fuzzer runs on one thread.
    if (const char* path = std::getenv("BEDLAM_FUZZ_TRACE")) {
        trace.open(path);
        options.trace_out = &trace;
    }
    const properties::ChaosRun run = properties::run_tree_under_chaos(tree, plan, seed, options);
    options.trace_out = nullptr;

    std::string report = "tree: " + properties::describe(tree) + "\n" + chaos::describe(plan) +
                         "seed=" + std::to_string(seed) + " hash=" + hash_text(run.hash) + "\n";
    require(run.violations.empty(), "an invariant broke: " +
                                        (run.violations.empty() ? "" : run.violations.front()) +
                                        "\n" + report);
    require(run.stuck.empty(),
            "the run got stuck: " + (run.stuck.empty() ? "" : run.stuck.front()) + "\n" + report);
    require(run.start_failed || run.monitors > 0, "the watcher set no monitor\n" + report);
    require(run.root_gave_up || run.healed_at.has_value(),
            "the tree did not heal within the bound, and the root did not give up\n" + report);
}

}  // namespace
}  // namespace bedlam::fuzz

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    bedlam::fuzz::FuzzInput in(std::span<const std::uint8_t>(data, size));
    const bool model = bedlam::fuzz::canary || in.flag();
    const std::uint64_t seed = in.in_range(0, 65535);
    if (model) {
        bedlam::fuzz::run_model_case(in, seed);
    } else {
        bedlam::fuzz::run_chaos_case(in, seed);
    }
    return 0;
}
