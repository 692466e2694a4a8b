// The schedule fuzzer. Its input is decoded (FuzzInput) into a supervision tree, a sequence of
// operations against it, and, with the bytes left over, which runnable process the simulator
// runs at each of its choices (SimConfig::choose; past the last byte, a PRNG seeded from the
// input decides). Coverage guidance then steers towards interleavings and fault timings that
// random seeds rarely reach. The first byte picks one of three cases:
//
//  - model (the tree case): the operations are exits sent to workers from outside the tree
//    (kill; a crash, as an error; exit with normal, shutdown or {shutdown,chaos}) with the
//    virtual time that passes between them, then the root's stop. The supervisor's log of
//    starts and stops must equal the pure OTP model's (properties/supervisor_model.hpp) line for
//    line, as in the property suites' SupervisorProperty.
//  - model (the API case): a flat supervisor (every strategy, intensity and period, up to three
//    children at init) and operations on it: start_child, terminate_child by id and by pid,
//    restart_child, delete_child, a kill from outside, a child exiting by itself (normal,
//    shutdown, {shutdown,chaos}, an error), a gen_server call to any child that ever ran (a live
//    one replies; a dead one's pid exits the caller with noproc; a call may make the child exit
//    instead of replying, which exits the caller with that reason) and the passing of time.
//    After each, the API's return value, the call's outcome, the children's log, whether the
//    supervisor lives, the clock, the live processes, which_children and count_children must be
//    what the pure model of the stateful suites (SupModel, properties/supervisor_api.hpp) says.
//  - chaos: the operations are a fault plan aimed at the tree (scheduled kills, crashes and exit
//    signals at chosen processes; kills, crashes, exits, delays, duplicates, reorders, slowness,
//    hangs, floods, transient crashes and timer skew within a window) while clients call the
//    workers. The invariants run_tree_under_chaos watches must hold (no supervisor exits while
//    a child lives, one DOWN per monitor, no registered name for a dead process, nothing
//    outlives the run), the run must end, and the tree must heal after the faults stop unless
//    the root gave up, as in ChaosProperty.SupervisionInvariantsHoldUnderSwarmFaults.
//
// A tree case must also replay to the same trace hash from the same input (a chaos case runs
// for seconds of virtual time, so it is not run twice: ChaosProperty and
// ci/property-determinism.sh check that its runs replay; nor is an API case, whose harness the
// stateful suites run). The runtime's own assertions run on every step (the fuzz preset turns on
// BEDLAM_ASSERT_SLOW's checks).
//
// Built with BEDLAM_FUZZ_CANARY=1 (schedule_canary_fuzz) it runs only model cases (tree and API)
// against a supervisor with a planted bug, SupFlags::Mutation::intensity_off_by_one (it gives up
// one restart late): CI requires libFuzzer to find it within a fixed number of runs from a fixed
// seed, so a fuzz set-up that has gone blind cannot pass unnoticed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/properties/supervisor_api.hpp"
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

/// The exit reasons the fuzzer uses: 0 kill, 1 a crash (an error), 2 normal, 3 shutdown,
/// 4 {shutdown,chaos}.
ExitReason reason_of(std::uint64_t index) {
    switch (index) {
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

ExitReason decode_reason(FuzzInput& in) { return reason_of(in.in_range(0, 4)); }

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

// -- The API case ---------------------------------------------------------------------------------

namespace api = properties::stateful;

/// A child spec as the stateful suites draw them: an id from SupModel's pool (so that ids
/// collide), every restart type, shutdown kind and type, and a stubborn child (one that ignores
/// `shutdown` until its time-out's kill) now and then.
api::ChildDesc decode_child(FuzzInput& in) {
    static constexpr Restart restarts[] = {Restart::permanent, Restart::transient,
                                           Restart::temporary};
    static constexpr Shutdown::Kind shutdowns[] = {
        Shutdown::Kind::brutal_kill, Shutdown::Kind::infinite, Shutdown::Kind::timeout,
        Shutdown::Kind::timeout};
    api::ChildDesc d;
    const std::vector<std::string>& ids = api::SupModel::id_pool();
    d.id = ids[in.in_range(0, ids.size() - 1)];
    d.restart = in.pick(restarts);
    d.shutdown = in.pick(shutdowns);
    d.timeout = static_cast<Ticks>(in.in_range(1, 3000)) * ms;
    d.type = in.flag() ? ChildType::supervisor : ChildType::worker;
    d.behaviour = d.shutdown == Shutdown::Kind::timeout && in.in_range(0, 2) == 0
                      ? api::Behaviour::stubborn
                      : api::Behaviour::prompt;
    return d;
}

/// The reasons a child is made to exit with by itself (a Die message or call): all but kill.
ExitReason decode_die(FuzzInput& in) { return reason_of(in.in_range(1, 4)); }

/// One operation of the API case, decoded before the run (the schedule's bytes come after the
/// operations); which child it aims at is resolved against the model when it runs.
struct ApiOp {
    enum class Kind : std::uint8_t {
        start_child,
        terminate_child,
        terminate_pid,
        restart_child,
        delete_child,
        kill,
        crash,
        call,
        advance,
    };
    Kind kind = Kind::advance;
    api::ChildDesc child{};   // start_child
    std::string id{};         // terminate_child, restart_child, delete_child
    api::DriverCmd::Op call = api::DriverCmd::Op::query;  // Which of those three
    std::uint64_t which = 0;  // Which running child (kill, crash, terminate_pid) or instance (call)
    std::optional<ExitReason> die{};  // crash; call: the child exits instead of replying
    Ticks by = 0;                     // advance
};

ApiOp decode_op(FuzzInput& in) {
    static constexpr ApiOp::Kind kinds[] = {
        ApiOp::Kind::start_child,   ApiOp::Kind::start_child,   ApiOp::Kind::terminate_child,
        ApiOp::Kind::terminate_pid, ApiOp::Kind::restart_child, ApiOp::Kind::delete_child,
        ApiOp::Kind::kill,          ApiOp::Kind::crash,         ApiOp::Kind::crash,
        ApiOp::Kind::call,          ApiOp::Kind::call,          ApiOp::Kind::advance};
    ApiOp op;
    op.kind = in.pick(kinds);
    const std::vector<std::string>& ids = api::SupModel::id_pool();
    switch (op.kind) {
        case ApiOp::Kind::start_child:
            op.child = decode_child(in);
            break;
        case ApiOp::Kind::terminate_child:
        case ApiOp::Kind::restart_child:
        case ApiOp::Kind::delete_child:
            op.id = ids[in.in_range(0, ids.size() - 1)];
            op.call = op.kind == ApiOp::Kind::terminate_child ? api::DriverCmd::Op::terminate_child
                      : op.kind == ApiOp::Kind::restart_child ? api::DriverCmd::Op::restart_child
                                                              : api::DriverCmd::Op::delete_child;
            break;
        case ApiOp::Kind::terminate_pid:
        case ApiOp::Kind::kill:
            op.which = in.byte();
            break;
        case ApiOp::Kind::crash:
            op.which = in.byte();
            op.die = decode_die(in);
            break;
        case ApiOp::Kind::call:
            op.which = in.byte();
            if (in.in_range(0, 3) == 0) {
                op.die = decode_die(in);
            }
            break;
        case ApiOp::Kind::advance:
            op.by = static_cast<Ticks>(in.in_range(1, 7000)) * ms;
            break;
    }
    return op;
}

/// Runs `op` on the model and the system; returns what it did ("" if it does not apply now: no
/// running child to aim at, or an API call to a supervisor that has given up) and the
/// difference check() found, if any.
std::pair<std::string, std::string> run_op(const ApiOp& op, api::SupModel& model, api::Sut& sut) {
    api::Effect effect;
    std::optional<SupReply> got;
    std::string shown;
    const std::vector<int> running = model.running_instances();
    const bool api_call = op.kind != ApiOp::Kind::call && op.kind != ApiOp::Kind::advance;
    if (api_call && !model.alive) {
        return {"", ""};  // §3.9: the supervisor is gone; its API is not called.
    }
    const bool aimed = op.kind == ApiOp::Kind::terminate_pid || op.kind == ApiOp::Kind::kill ||
                       op.kind == ApiOp::Kind::crash;
    if (aimed && running.empty()) {
        return {"", ""};
    }
    const int target = aimed ? running[op.which % running.size()] : -1;
    switch (op.kind) {
        case ApiOp::Kind::start_child:
            shown = "start_child " + api::describe(op.child);
            effect = model.start_child(op.child);
            got = sut.start_child(op.child);
            break;
        case ApiOp::Kind::terminate_child:
        case ApiOp::Kind::restart_child:
        case ApiOp::Kind::delete_child:
            shown = api::op_name(op.call) + " " + op.id;
            effect = api::by_id(model, op.call, op.id);
            got = sut.by_id(op.call, op.id);
            break;
        case ApiOp::Kind::terminate_pid: {
            shown = "terminate_child pid #" + std::to_string(target);
            effect = api::SupModel::terminate_pid();
            const std::optional<Pid> pid = sut.pid_of(target);
            got = sut.terminate_pid(pid.value_or(Pid{}));
            break;
        }
        case ApiOp::Kind::kill:
            shown = "kill #" + std::to_string(target);
            effect = model.exit(target, ExitReason::killed());
            sut.kill(target);
            break;
        case ApiOp::Kind::crash:
            shown = "crash #" + std::to_string(target) + " " + op.die->to_string();
            effect = model.exit(target, *op.die);
            sut.crash(target, *op.die);
            break;
        case ApiOp::Kind::call: {
            if (model.next_instance == 0) {
                return {"", ""};
            }
            // Any child that ever ran: a live one, or a dead one's pid (noproc).
            const auto instance = static_cast<int>(op.which % static_cast<std::uint64_t>(
                                                                  model.next_instance));
            shown = "call #" + std::to_string(instance) +
                    (op.die ? " (die " + op.die->to_string() + ")" : std::string());
            effect = model.call(instance, op.die);
            sut.call_child(instance, op.die);
            break;
        }
        case ApiOp::Kind::advance:
            shown = "advance " + std::to_string(op.by / ms) + "ms";
            model.now += op.by;
            sut.advance(op.by);
            break;
    }
    return {shown, sut.check(effect, got, model.expected())};
}

/// The API case: a flat supervisor driven through its API (start_child, terminate_child by id
/// and by pid, restart_child, delete_child), exits (kills from outside, children exiting by
/// themselves), calls to its children and the passing of time, each compared with the pure model
/// the stateful suites use (SupModel): the reply, the call's outcome, the children's log of
/// starts and stops, whether the supervisor lives, the clock, the live processes, and
/// which_children and count_children.
void run_api_case(FuzzInput& in, std::uint64_t seed) {
    static constexpr Strategy strategies[] = {Strategy::one_for_one, Strategy::one_for_all,
                                              Strategy::rest_for_one};
    api::SupModel model;
    model.strategy = in.pick(strategies);
    model.intensity = in.in_range_int(0, 4);
    model.period_s = in.in_range_int(1, 5);
    const int initial = in.in_range_int(0, 3);
    for (int i = 0; i < initial; ++i) {
        api::ChildDesc d = decode_child(in);
        if (!model.has(d.id)) {  // §3.2: a duplicate id at init is an error; not fuzzed here.
            model.children.push_back(api::ModelChild{std::move(d), -1});
        }
    }
    std::vector<ApiOp> ops;
    const int count = in.in_range_int(1, 24);
    for (int i = 0; i < count; ++i) {
        ops.push_back(decode_op(in));
    }
    const SupFlags::Mutation mutation =
        canary ? SupFlags::Mutation::intensity_off_by_one : SupFlags::Mutation::none;
    std::string report = "supervisor: " + api::describe(model) + " seed=" +
                         std::to_string(seed) + "\n  init\n";
    api::Sut sut(seed, api::setup_of(model, mutation), Schedule::from(in.rest(), seed));
    const api::Effect started = model.init();
    require(sut.started().ok(), "the supervisor did not start\n" + report);
    const auto differs = [&](const std::string& difference) {
        require(difference.empty(), (canary ? "canary: the planted bug was found. " : "") +
                                        std::string("the supervisor differs from the OTP "
                                                    "model: ") +
                                        difference + "\n" + report);
    };
    differs(sut.check(started, std::nullopt, model.expected()));
    for (const ApiOp& op : ops) {
        auto [shown, difference] = run_op(op, model, sut);
        if (!shown.empty()) {
            report += "  " + shown + "\n";
        }
        differs(difference);
    }
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
    const std::uint8_t kind = in.byte();  // Bit 0: a model case; bit 1: the API case.
    const bool model = bedlam::fuzz::canary || (kind & 1U) != 0;
    const std::uint64_t seed = in.in_range(0, 65535);
    if (model && (kind & 2U) != 0) {
        bedlam::fuzz::run_api_case(in, seed);
    } else if (model) {
        bedlam::fuzz::run_model_case(in, seed);
    } else {
        bedlam::fuzz::run_chaos_case(in, seed);
    }
    return 0;
}
