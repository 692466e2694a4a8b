// Supervisor: OTP's supervisor (otp-semantics §3, rules 1-19). A supervisor is an ordinary
// process (a Server that traps exits): it starts its children in order, restarts them by its
// strategy and their restart types, counts restarts in a sliding window of whole seconds, gives
// up with `shutdown` when the window overflows, and stops children in reverse start order.
// Restart bookkeeping is O(1) per restart: children are found by pid and id through indexes, and
// the restart window is a queue trimmed from the front.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/runtime/runtime.hpp"
#include "bedlam/runtime/server.hpp"

namespace bedlam {

enum class Strategy : std::uint8_t { one_for_one, one_for_all, rest_for_one, simple_one_for_one };
enum class Restart : std::uint8_t { permanent, transient, temporary };
enum class ChildType : std::uint8_t { worker, supervisor };
enum class AutoShutdown : std::uint8_t { never, any_significant, all_significant };

const char* to_string(Strategy s) noexcept;
const char* to_string(Restart r) noexcept;

/// How a child is stopped (§3.7).
struct Shutdown {
    enum class Kind : std::uint8_t { brutal_kill, timeout, infinite };
    Kind kind = Kind::timeout;
    Duration timeout = std::chrono::milliseconds(5000);

    static Shutdown brutal_kill() { return Shutdown{Kind::brutal_kill, Duration::zero()}; }
    static Shutdown after(Duration d) { return Shutdown{Kind::timeout, d}; }
    static Shutdown infinite() { return Shutdown{Kind::infinite, Duration::zero()}; }
    friend bool operator==(const Shutdown&, const Shutdown&) = default;
};

/// Starts one child from inside the supervisor: it must create and link the child and return
/// {ok, Pid}, ignore or {error, E} (§3.3). `extra` carries start_child's arguments under
/// simple_one_for_one (OTP appends them to the spec's arguments); it is empty otherwise.
using StartFn = std::function<Async<StartResult>(Self self, const Any& extra)>;

/// A child specification (§3.2). A class with setters rather than an aggregate: it is usually
/// written inside a co_await (README, "g++ 12 and aggregates").
class ChildSpec {
public:
    ChildSpec() = default;
    ChildSpec(std::string id, StartFn start) : id_(std::move(id)), start_(std::move(start)) {}

    /// A plain process `body(Self, args...)`, spawned linked.
    template <typename F, typename... Args>
    static ChildSpec process(std::string id, F body, Args... args) {
        detail::check_body_type<F>();
        return ChildSpec(std::move(id), [body, args...](Self self, const Any& /*extra*/) {
            return spawn_child(self, body, args...);
        });
    }
    /// A Server `Impl(args...)` started with start_link.
    template <typename Impl, typename... Args>
    static ChildSpec server(std::string id, Args... args) {
        return ChildSpec(std::move(id), [args...](Self self, const Any& /*extra*/) {
            // start_link, minus a frame: the supervisor awaits it at once.
            return detail::spawn_server<Impl>(self, StartOptions{}, args...);
        });
    }

    ChildSpec& restart(Restart r) {
        restart_ = r;
        return *this;
    }
    ChildSpec& shutdown(Shutdown s) {
        shutdown_ = s;
        return *this;
    }
    ChildSpec& type(ChildType t) {
        type_ = t;
        return *this;
    }
    ChildSpec& significant(bool s) {
        significant_ = s;
        return *this;
    }
    ChildSpec& modules(std::vector<std::string> m) {
        modules_ = std::move(m);
        return *this;
    }

    [[nodiscard]] const std::string& id() const noexcept { return id_; }
    [[nodiscard]] const StartFn& start() const noexcept { return start_; }
    [[nodiscard]] Restart restart() const noexcept { return restart_; }
    /// 5000 ms for workers and infinity for supervisors unless set (§3.2).
    [[nodiscard]] Shutdown shutdown() const noexcept {
        return shutdown_.value_or(type_ == ChildType::supervisor ? Shutdown::infinite()
                                                                 : Shutdown::after(5000ms));
    }
    [[nodiscard]] ChildType type() const noexcept { return type_; }
    [[nodiscard]] bool significant() const noexcept { return significant_; }
    /// `[Id]` unless set (OTP: `[M]`).
    [[nodiscard]] std::vector<std::string> modules() const {
        return modules_.empty() ? std::vector<std::string>{id_} : modules_;
    }

private:
    template <typename F, typename... Args>
    static Async<StartResult> spawn_child(Self self, F body, Args... args) {
        const Pid pid = self.spawn_link(body, std::move(args)...);
        co_return StartResult{StartResult::Kind::ok, pid, {}};
    }

    std::string id_;
    StartFn start_;
    Restart restart_ = Restart::permanent;
    std::optional<Shutdown> shutdown_;
    ChildType type_ = ChildType::worker;
    bool significant_ = false;
    std::vector<std::string> modules_;
};

/// Supervisor flags (§3.1): intensity restarts allowed within period seconds.
struct SupFlags {
    SupFlags() = default;
    SupFlags(Strategy s, int max_restarts, int period_s)
        : strategy(s), intensity(max_restarts), period(period_s) {}

    Strategy strategy = Strategy::one_for_one;
    int intensity = 1;
    int period = 5;  // Whole seconds (OTP's unit), > 0.
    AutoShutdown auto_shutdown = AutoShutdown::never;

    /// For bedlam's own self-check only, never otherwise: a deliberately wrong supervisor, so
    /// that a test can prove the property suites catch it (properties/test/self_check_test.cpp).
    enum class Mutation : std::uint8_t {
        none,
        intensity_off_by_one,       // gives up one restart late
        rest_for_one_one_too_many,  // also restarts the child started just before
    };
    Mutation mutation = Mutation::none;
};

/// What a supervisor's init returns: {ok, {Flags, Specs}} or ignore.
struct SupInit {
    bool ignore = false;
    SupFlags flags;
    std::vector<ChildSpec> children;

    static SupInit ok(SupFlags flags, std::vector<ChildSpec> children) {
        return SupInit{false, flags, std::move(children)};
    }
    static SupInit ignored() { return SupInit{true, {}, {}}; }
};

using SupInitFn = std::function<SupInit(Self self)>;

/// The error of a supervisor API call, as OTP spells it.
enum class SupError : std::uint8_t {
    none,
    already_started,     // {error, {already_started, Pid}}
    already_present,     // {error, already_present}
    not_found,           // {error, not_found}
    running,             // {error, running}
    restarting,          // {error, restarting}
    simple_one_for_one,  // {error, simple_one_for_one}
    start_failed,        // {error, Reason}: the child's start returned an error or raised
    bad_spec,            // {error, Reason}: the spec is invalid (§3.2)
    max_children,        // {error, max_children}: a DynamicSupervisor is full (§4.3)
};

/// The result of start_child, restart_child, terminate_child and delete_child.
struct SupReply {
    SupError error = SupError::none;
    Pid pid;           // The child, for {ok, Pid}; invalid for {ok, undefined}.
    std::string info;  // {ok, Pid, Info}
    ExitReason reason;  // For start_failed and bad_spec.
    bool ignore = false;  // DynamicSupervisor's `:ignore` (nothing was stored, §4.2).

    [[nodiscard]] bool ok() const noexcept { return error == SupError::none; }
    /// OTP's text, e.g. `{ok,<0.5.0>}`, `{error,already_present}`.
    [[nodiscard]] std::string to_string() const;
};

/// which_children's entry: {Id, Child, Type, Modules}; `id` is empty for simple_one_for_one's
/// `undefined`.
struct ChildInfo {
    enum class State : std::uint8_t { running, restarting, undefined };
    std::string id;
    Pid pid;
    State state = State::undefined;
    ChildType type = ChildType::worker;
    std::vector<std::string> modules;
};

struct ChildCounts {
    int specs = 0;
    int active = 0;
    int supervisors = 0;
    int workers = 0;
    friend bool operator==(const ChildCounts&, const ChildCounts&) = default;
};

/// Validates flags and specs as supervisor:init does; the error, if any, as OTP's term text
/// (e.g. `{supervisor_data,{invalid_intensity,-1}}`, `{duplicate_child_name,a}`).
std::optional<ExitReason> check_sup_flags(const SupFlags& flags);
std::optional<ExitReason> check_child_spec(const ChildSpec& spec, const SupFlags& flags);

/// Starts a supervisor process (supervisor:start_link): `init` runs inside it and returns its
/// flags and children. The result is {ok, Pid}, ignore, or {error, Reason}, where a child that
/// fails at start gives {shutdown, {failed_to_start_child, Id, Reason}} (§3.10).
Async<StartResult> start_supervisor(Self self, SupInitFn init,
                                    StartOptions options = StartOptions());
/// The same with fixed flags and children.
Async<StartResult> start_supervisor(Self self, SupFlags flags, std::vector<ChildSpec> children,
                                    StartOptions options = StartOptions());
/// Elixir's DynamicSupervisor options (§4.1). A class with a constructor: see StartOptions.
struct DynSupOptions {
    DynSupOptions() = default;
    DynSupOptions(int restarts, int seconds) : max_restarts(restarts), max_seconds(seconds) {}

    int max_restarts = 3;  // Elixir's default; OTP's supervisor default is 1.
    int max_seconds = 5;
    std::optional<int> max_children;  // nullopt: infinity.
    Any extra_arguments;  // Passed to every child's start function (as `extra`); §4.2 prepends.
};

/// Starts a DynamicSupervisor (§4): one_for_one only, no children at start; start_child takes a
/// full ChildSpec (ids are ignored and need not be unique), `ignore` stores nothing and returns
/// SupReply::ignore, max_children counts restarting children, a restart returning ignore deletes
/// the child, and on shutdown all children stop concurrently.
Async<StartResult> start_dynamic_supervisor(Self self, DynSupOptions options = DynSupOptions(),
                                            StartOptions start = StartOptions());

/// proc_lib's start handshake for plain processes under a supervisor (otp-semantics §3.10): the
/// start function spawns the child linked and awaits await_started(self, pid); the child calls
/// ack_started(self, starter) once it is set up (proc_lib:init_ack). The result is {ok, Pid},
/// or {error, Reason} if the child exits first; the starter must trap exits (supervisors do).
struct StartedAck {
    Pid pid;
};
void ack_started(Self self, Pid starter);
Async<StartResult> await_started(Self self, Pid child);

/// A child spec for a nested supervisor (type supervisor, shutdown infinity).
ChildSpec supervisor_spec(std::string id, SupFlags flags, std::vector<ChildSpec> children);

// -- The API (§3.13-17). All calls wait forever (OTP: infinity); a missing supervisor exits the
// -- caller with {noproc, {gen_server, call, ...}}.
Async<SupReply> start_child(Self self, ServerRef sup, ChildSpec spec);
/// simple_one_for_one: starts a child from the template with `extra` arguments.
Async<SupReply> start_child(Self self, ServerRef sup, Any extra);
Async<SupReply> terminate_child(Self self, ServerRef sup, std::string id);
/// simple_one_for_one: terminates the child `pid`.
Async<SupReply> terminate_child(Self self, ServerRef sup, Pid pid);
Async<SupReply> restart_child(Self self, ServerRef sup, std::string id);
Async<SupReply> delete_child(Self self, ServerRef sup, std::string id);
Async<std::vector<ChildInfo>> which_children(Self self, ServerRef sup);
Async<ChildCounts> count_children(Self self, ServerRef sup);
/// The spec of child `id`, or nullopt ({error, not_found}).
Async<std::optional<ChildSpec>> get_childspec(Self self, ServerRef sup, std::string id);

}  // namespace bedlam
