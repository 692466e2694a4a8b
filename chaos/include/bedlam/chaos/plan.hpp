// Fault plans: what the chaos layer injects, where and when, as plain data. A plan is part of a
// scenario file or generated from a seed (swarm mode); an Injector carries it out through the
// runtime's interposition points. docs/chaos.md defines every fault kind precisely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bedlam/runtime/interposer.hpp"
#include "bedlam/runtime/types.hpp"

namespace bedlam::chaos {

inline constexpr Ticks never = Interposer::never;

/// Which processes a fault applies to.
struct Target {
    enum class By : std::uint8_t {
        all,   // every process
        path,  // supervision path glob: `*` within one segment, `**` across segments
        name,  // the process registered under `pattern` when the fault strikes
        kind,  // every process running one behaviour
    };
    By by = By::all;
    std::string pattern;
    ProcessKind kind = ProcessKind::process;

    static Target all() { return {}; }
    static Target path(std::string glob) { return Target{By::path, std::move(glob), {}}; }
    static Target name(std::string name) { return Target{By::name, std::move(name), {}}; }
    static Target of_kind(ProcessKind k) { return Target{By::kind, {}, k}; }

    /// `all`, `path:app/pool/*`, `name:db`, `kind:server`.
    [[nodiscard]] std::string to_string() const;
};

enum class FaultKind : std::uint8_t {
    // Process faults: one victim per event (or every match, with `every`).
    kill,   // exit signal `kill`: untrappable, the victim exits `killed`
    crash,  // the victim raises at its next resumption and exits with `reason`
    exit,   // exit signal with `reason` (trappable unless it is `kill`)
    // Network faults, per message to a target, with `probability`.
    drop,       // the message is lost
    delay,      // it arrives `min_delay`..`max_delay` later; per-pair order is kept
    duplicate,  // it arrives twice (payloads that can be copied)
    reorder,    // jitter of `min_delay`..`max_delay` that interleaves senders differently
    // Toxic faults: a restart does not cure them.
    service_down,  // service `name` is unreachable for `duration`
    poison,        // every target receiving a message of type `name` crashes
    slow,          // each message a target takes costs `min_delay`..`max_delay` extra, within
                   // the window
    hang,          // the victim stops taking messages for `duration` (signals still reach it)
    flood,         // `count` junk messages land in the victim's mailbox
    // A transient fault: a restart cures it.
    transient,  // each place matching the target crashes `count` times at a seeded point
    // Scheduling.
    timer_skew,  // a target's timer fires `min_delay`..`max_delay` late, with `probability`
    // A named site in user code (BEDLAM_FAULT_POINT).
    fault_point,  // site `name` ("*": every site) is armed with `activation`, fires with
                  // `probability`
};

const char* to_string(FaultKind kind) noexcept;
/// `1500ms`, `2s`, `never`: a time or duration as plans and reports print it.
std::string time_text(Ticks t);
/// Parses a kind's name as to_string writes it.
std::optional<FaultKind> fault_kind_from(std::string_view name) noexcept;

/// The faults that can run on the threaded scheduler (seeded there, not replayable): kill,
/// crash, exit, drop, delay, duplicate, service_down, fault_point. The others need the
/// simulator's control of scheduling and time.
bool threads_support(FaultKind kind) noexcept;

/// Plans hold at most this many faults.
inline constexpr std::size_t max_faults = 64;

/// One fault of a plan. A scheduled fault strikes once at `at`; a stochastic one repeats within
/// [from, until) — process faults at `rate` per virtual second on average, network faults with
/// `probability` per message. Fields a kind does not use keep their defaults.
struct Fault {
    FaultKind kind = FaultKind::kill;
    Target target;
    std::optional<Ticks> at;  // Scheduled: strikes once at this time.
    Ticks from = 0;           // Stochastic window (process and network faults).
    Ticks until = never;
    double rate = 0;         // Events per virtual second (kill, crash, exit, hang, flood).
    double probability = 0;  // Per message (network), per timer (timer_skew), per hit (points).
    bool every = false;      // Process faults: strike every match, not one chosen at random.
    ExitReason reason = ExitReason::error("chaos");  // crash, exit.
    Ticks min_delay = 0;  // delay, reorder, slow, timer_skew.
    Ticks max_delay = 0;
    std::string name;         // service_down: the service; poison: the message type (see
                              // BEDLAM_MESSAGE_NAME); fault_point: the site.
    Ticks duration = never;   // service_down, hang: how long it lasts once it strikes.
    std::uint32_t count = 1;  // transient: crashes per place; flood: messages.
    double activation = 1.0;  // fault_point: the chance a site is armed in this run.
    bool heals = true;        // Toxic faults: cured at the plan's faults_until, or persist.
    bool break_pair_order = false;  // reorder: let one sender's messages overtake each other
                                    // (never the case in Erlang; the trace marks each one).
};

/// A fault plan: its faults and its phases. Until `faults_until` every fault is on; after it,
/// process, network, transient, timer and fault-point faults stop, and toxic faults heal if
/// their `heals` says so, so that a run can go on to check that the system recovers.
struct Plan {
    std::vector<Fault> faults;
    Ticks faults_until = never;
    /// Set by swarm(): the seed the plan was drawn from (reported by describe()).
    std::optional<std::uint64_t> swarm_seed;
};

/// Something wrong with a plan: which fault (index into faults; nullopt for the plan itself),
/// which field, and what.
struct PlanIssue {
    std::optional<std::size_t> fault;
    std::string field;
    std::string message;

    /// `fault 2 (kill): rate: must be >= 0, got -1`.
    [[nodiscard]] std::string to_string(const Plan& plan) const;
};

/// The tree a plan will run against, for checking its targets: every supervision path and
/// registered name a process can have. An empty Tree skips target checks.
struct Tree {
    std::vector<std::string> paths;
    std::vector<std::string> names;
};

/// Every problem with `plan`: impossible values, malformed globs, and, given a tree, targets
/// that match no process in it. Empty if the plan is sound.
std::vector<PlanIssue> check(const Plan& plan, const Tree& tree = {});

/// Throws std::invalid_argument listing every issue, if there is any.
void require_valid(const Plan& plan, const Tree& tree = {});

/// Every parameter of the plan, one fault per line, so that a failure report says exactly what
/// was on.
std::string describe(const Plan& plan);

/// What swarm mode may choose from.
struct SwarmOptions {
    Ticks faults_until = 10'000'000'000;  // 10 s of virtual time.
    Target target = Target::all();
    std::vector<FaultKind> kinds;  // Empty: every kind that needs no names (not service_down,
                                   // poison or fault_point unless names are given).
    std::vector<std::string> services;     // Services service_down may take down.
    std::vector<std::string> poison_types;  // Message types poison may pick.
};

/// Swarm mode (Groce et al.): from `seed`, a random subset of fault kinds, each with random
/// rates and parameters. Different seeds explore different fault mixes, which finds more bugs
/// than every fault at once.
Plan swarm(std::uint64_t seed, const SwarmOptions& options = {});

}  // namespace bedlam::chaos
