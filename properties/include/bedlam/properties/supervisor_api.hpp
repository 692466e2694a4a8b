// A pure model of a flat supervisor's API (otp-semantics §3.4-§3.16: start_child,
// terminate_child, restart_child, delete_child, which_children, count_children, exits and the
// restart window) and of calls to its children, and the harness that runs the real supervisor in
// the simulator and checks it against the model after every command. The stateful RapidCheck
// suites (properties/test/stateful_*_test.cpp) and the schedule fuzzer's API case
// (fuzz/schedule_fuzz.cpp) both drive it.
//
// A command is one step: the harness sends its driver process a DriverCmd (or kills/crashes a
// child from outside the tree) and runs the simulator until idle, so that every exit has been
// handled before the next query. The children log what they see ("start a", "stop a shutdown",
// "ignore a shutdown", "crash a boom") into one log, which is compared with the model's.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/simulator.hpp"
#include "bedlam/runtime/supervisor.hpp"

namespace bedlam::properties::stateful {

inline constexpr Ticks ms = 1'000'000;
inline constexpr Ticks seconds = 1'000 * ms;

using Log = std::vector<std::string>;

// -- Children -------------------------------------------------------------------------------------

/// How a child reacts to the supervisor's `shutdown` exit signal. Both trap exits.
enum class Behaviour : std::uint8_t {
    prompt,    // Logs "stop <id> <reason>" and exits with the reason at once.
    stubborn,  // Logs "ignore <id> <reason>" and carries on: only the shutdown time-out's kill
               // stops it, so its shutdown takes exactly its time-out of virtual time (§3.7).
};

/// One child spec as the suites generate it.
struct ChildDesc {
    std::string id{};
    Restart restart = Restart::permanent;
    Shutdown::Kind shutdown = Shutdown::Kind::timeout;
    Ticks timeout = 5000 * ms;  // For Shutdown::Kind::timeout.
    ChildType type = ChildType::worker;
    Behaviour behaviour = Behaviour::prompt;  // stubborn only with Kind::timeout (else it hangs).
};

std::string describe(const ChildDesc& d);

/// Makes a child exit by itself with `reason`: sent as a message, or as a call (the child exits
/// without replying, so the caller exits with `reason`, §5.1).
struct Die {
    ExitReason reason;
};

/// A call every child answers with its id (a gen_server call, §5.1).
struct Ping {};
struct Pong {
    std::string id;
};

/// The child spec of `d`; the child logs into `log`.
ChildSpec make_spec(Log* log, const ChildDesc& d);

// -- The model's side -----------------------------------------------------------------------------

/// A child as the models keep it. `instance` numbers every start in the run (-1: not running,
/// which_children's `undefined`); the system under test maps instances to the pids it sees.
struct ModelChild {
    ChildDesc desc{};
    int instance = -1;

    [[nodiscard]] bool running() const noexcept { return instance >= 0; }
};

/// What an API call must return. `instance` is the pid's child for {ok,Pid} and
/// {error,{already_started,Pid}}; -1 for a plain ok ({ok,undefined}).
struct ModelReply {
    SupError error = SupError::none;
    int instance = -1;
};

/// What one command must do: its reply (API calls only), its call's outcome (calls to a child
/// only: `reply <id>`, or `exit <reason>` with the pid written `#<instance>`, as
/// call_outcome_text gives it) and the children's log lines: `log` in this order, then
/// `unordered` in any order (a DynamicSupervisor stops its children concurrently, §4.5).
struct Effect {
    std::optional<ModelReply> reply{};
    std::optional<std::string> call{};
    Log log{};
    Log unordered{};
};

/// The outcome of a call to child `instance` that exited the caller with `reason` (§5.1:
/// {Reason,{gen_server,call,[Pid,_,infinity]}}), with the pid written `#<instance>`.
std::string call_exit_text(int instance, const ExitReason& reason);

/// A which_children entry the model expects.
struct ExpectedChild {
    std::string id{};
    int instance = -1;
    ChildType type = ChildType::worker;
};

/// The state the system must be in after a command.
struct Expected {
    bool alive = true;
    Ticks now = 0;
    std::vector<ExpectedChild> children{};  // which_children order, newest first (§3.5)
    bool ordered = true;                    // false: compare which_children as a multiset
    ChildCounts counts{};
    int running = 0;  // Live children: with the supervisor and the driver, all live processes.
};

/// What the models share: the clock, the children, instance numbers and the restart window.
struct ModelCore {
    Ticks now = 0;
    int next_instance = 0;
    bool alive = true;
    std::vector<std::int64_t> restarts{};  // Restart times in whole seconds, oldest first.
    std::vector<ModelChild> children{};    // In start order, oldest first.

    /// The child running as `instance`, or children.size().
    [[nodiscard]] std::size_t index_of(int instance) const;
    [[nodiscard]] bool running(int instance) const {
        return instance >= 0 && index_of(instance) < children.size();
    }
    [[nodiscard]] std::vector<int> running_instances() const;
    [[nodiscard]] std::string id_of(int instance) const {
        return children[index_of(instance)].desc.id;
    }
    void erase(std::size_t i) { children.erase(children.begin() + static_cast<std::ptrdiff_t>(i)); }

    /// A child starts (it logs its start).
    void start(ModelChild& c, Effect& e);

    /// §3.7: the supervisor stops one running child. brutal_kill: killed, nothing logged. A
    /// time-out: `shutdown`, which a prompt child logs and obeys, and a stubborn child logs and
    /// ignores until the kill at the time-out. infinity: `shutdown`, and wait.
    void shut_down(ModelChild& c, Log& log);

    /// §3.8 (and §4.4): a restart at Now (whole seconds of virtual time) is recorded; restarts
    /// before Now - period drop out (the window is inclusive); false when more than `intensity`
    /// remain.
    bool add_restart(int intensity, int period_s);

    /// The running child `instance` died with `reason`: by itself (it logs the crash) or
    /// `killed` from outside. Returns its index and whether it is restarted (§3.4: permanent
    /// always, transient unless normal, shutdown or {shutdown,_}, temporary never).
    std::pair<std::size_t, bool> died(int instance, const ExitReason& reason, Effect& e);
};

/// Counts for count_children (§3.16): specs, live pids, supervisors, workers.
ChildCounts counts_of(const std::vector<ModelChild>& children);

/// OTP's text of an API call's error, e.g. `{error,not_found}`.
std::string reason_text(SupError error);

/// The pure model of a flat supervisor (one_for_one, one_for_all or rest_for_one) and its API.
/// Every step returns the Effect the system must show.
struct SupModel : ModelCore {
    Strategy strategy = Strategy::one_for_one;
    int intensity = 1;
    int period_s = 5;

    [[nodiscard]] std::size_t index_of(const std::string& id) const;
    using ModelCore::index_of;
    [[nodiscard]] bool has(const std::string& id) const {
        return index_of(id) < children.size();
    }
    /// The ids start_child and the other calls draw from: few, so that ids collide
    /// (already_started, already_present, not_found).
    static const std::vector<std::string>& id_pool();

    /// §3.5: the children start in list order at init (they are not running before).
    Effect init();

    /// §3.13: {error,{already_started,Pid}} if the id runs, {error,already_present} if it exists
    /// stopped, else the child starts and becomes the newest.
    Effect start_child(const ChildDesc& d);
    /// §3.14: ok (also for a stopped child) after stopping it by its shutdown (§3.7); a temporary
    /// child's spec is deleted; an unknown id is not_found. Not a restart.
    Effect terminate_child(const std::string& id);
    /// §3.14: a pid on a supervisor that is not simple_one_for_one is not_found.
    static Effect terminate_pid();
    /// §3.15: the stopped child starts again in its place. Not a restart: the intensity window
    /// does not count it. {error,running} or {error,not_found} otherwise.
    Effect restart_child(const std::string& id);
    /// §3.15: the stopped child's spec is removed. {error,running} or {error,not_found} otherwise.
    Effect delete_child(const std::string& id);

    /// The running child `instance` died with `reason`: killed from outside, or by itself.
    Effect exit(int instance, const ExitReason& reason);

    /// A call to the process that ran as `instance` (any instance ever started). A live child
    /// replies with its id; a dead one's pid exits the caller with `noproc` (§5.1). With `die`,
    /// the live child exits with that reason instead of replying: the caller exits with it, and
    /// the supervisor handles the exit as any other (§3.4).
    Effect call(int instance, const std::optional<ExitReason>& die);

    /// What the system must look like now.
    [[nodiscard]] Expected expected() const;

private:
    void restart(std::size_t i, Effect& e);
    void stop_from(std::size_t from, Effect& e);
    void start_from(std::size_t from, Effect& e);
    std::optional<std::size_t> stopped(const std::string& id, Effect& e) const;
};

std::string describe(const SupModel& m);

// -- The system under test ------------------------------------------------------------------------

/// The supervisor to start.
struct SupSetup {
    bool dynamic = false;
    Strategy strategy = Strategy::one_for_one;
    int intensity = 1;
    int period_s = 5;
    std::optional<int> max_children{};  // DynamicSupervisor only
    std::vector<ChildDesc> children{};  // Supervisor only: started at init, in order
    /// Supervisor only: a planted bug, for the self-checks and the fuzzer's canary.
    SupFlags::Mutation mutation = SupFlags::Mutation::none;
};

/// The set-up of `m` (before its init: its children are the specs started at init).
SupSetup setup_of(const SupModel& m, SupFlags::Mutation mutation = SupFlags::Mutation::none);

/// A request to the driver process.
struct DriverCmd {
    enum class Op : std::uint8_t {
        start_child,
        terminate_child,
        terminate_pid,
        restart_child,
        delete_child,
        query,
        sleep,
        call,  // A call to `pid`: Ping, or Die if `die` is set.
    };
    Op op = Op::query;
    ChildDesc child{};
    std::string id{};
    Pid pid{};
    Ticks sleep = 0;
    std::optional<ExitReason> die{};
};

/// terminate_child, restart_child or delete_child (`op`) with `id`, on the model.
Effect by_id(SupModel& m, DriverCmd::Op op, const std::string& id);

/// The API function's name for `op`, e.g. `terminate_child`.
std::string op_name(DriverCmd::Op op);

/// What the driver found out; read between runs.
struct DriverState {
    Log log{};
    Pid sup{};
    StartResult started{};
    bool sup_alive = false;
    std::optional<ExitReason> sup_exit{};
    std::optional<SupReply> reply{};
    /// A call's outcome: the reply's id, or the reason the call exited the driver with.
    std::optional<std::string> call_reply{};
    std::optional<ExitReason> call_exit{};
    std::optional<std::vector<ChildInfo>> children{};
    std::optional<ChildCounts> counts{};
};

/// Pids the system showed, by the model's instance numbers. A pid is bound to an instance the
/// first time it appears where the model expects that instance, and only if it was never seen
/// before (a restart gives a new pid; pids are never reused).
class PidBook {
public:
    /// `#k` for a pid bound to instance k (binding it to `hint` if it is new and `hint` is
    /// unbound), else `<new pid N>`.
    std::string name(Pid pid, int hint);
    [[nodiscard]] bool known(Pid pid) const { return instance_of_.count(pid) != 0; }
    [[nodiscard]] bool bound(int instance) const { return pid_of_.count(instance) != 0; }
    [[nodiscard]] std::optional<Pid> pid_of(int instance) const {
        auto it = pid_of_.find(instance);
        return it == pid_of_.end() ? std::nullopt : std::optional<Pid>(it->second);
    }

private:
    std::map<int, Pid> pid_of_;
    std::map<Pid, int> instance_of_;
};

std::string join(const Log& lines);
std::string counts_text(const ChildCounts& c);

/// The system under test: a simulator with the driver and the supervisor it started. Every
/// command runs the simulator until it is idle; check() then compares the system with the
/// model's Effect and Expected state.
class Sut {
public:
    /// `choose`, if set, picks the schedule (SimConfig::choose) instead of the seed.
    Sut(std::uint64_t seed, SupSetup setup,
        std::function<std::size_t(std::size_t)> choose = {});

    [[nodiscard]] const StartResult& started() const { return state_.started; }
    [[nodiscard]] Pid driver_pid() const { return driver_; }
    [[nodiscard]] std::uint64_t trace_hash() const noexcept { return sim_.trace_hash(); }

    /// An API call through the driver; nullopt if the driver saw the supervisor die first.
    std::optional<SupReply> call(DriverCmd cmd);
    std::optional<SupReply> start_child(const ChildDesc& d);
    /// terminate_child, restart_child or delete_child by id.
    std::optional<SupReply> by_id(DriverCmd::Op op, const std::string& id);
    std::optional<SupReply> terminate_pid(Pid pid);
    /// exit(Pid, kill) from outside the tree: untrappable, the child dies `killed`.
    void kill(int instance);
    /// The child exits by itself with `reason`.
    void crash(int instance, ExitReason reason);
    /// The driver calls the process that ran as `instance` (Die{*die} if set, else Ping); the
    /// outcome is checked by check() against Effect::call.
    void call_child(int instance, const std::optional<ExitReason>& die);
    void advance(Ticks by);

    /// The pid the system gave `instance`, once it has been seen.
    [[nodiscard]] std::optional<Pid> pid_of(int instance) const { return book_.pid_of(instance); }
    [[nodiscard]] bool bound(int instance) const { return book_.bound(instance); }

    /// Checks the system against the model after a command: the children's log, the reply,
    /// the call's outcome, whether the supervisor lives (§3.9: if not, it exited `shutdown`),
    /// the clock, the live processes (no child outlives its supervisor), and which_children and
    /// count_children (§3.5, §3.16). Returns the first difference, or "" if none; a command the
    /// harness could not carry out (an instance with no pid, a run that did not go idle) is one.
    std::string check(const Effect& effect, const std::optional<SupReply>& got,
                      const Expected& want);

private:
    void settle();
    std::string reply_text(const SupReply& r, int hint);
    std::string children_text(const std::vector<ChildInfo>& got, const Expected& want);
    std::optional<Pid> instance_pid(int instance);

    Simulator sim_;
    DriverState state_;
    Pid driver_;
    PidBook book_;
    std::string trouble_;  // What went wrong since the last check, if anything.
};

}  // namespace bedlam::properties::stateful
