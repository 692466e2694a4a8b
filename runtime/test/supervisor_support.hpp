// Shared by the supervisor test files (supervisor_test.cpp, supervisor_suite_test.cpp): children
// modelled on supervisor_SUITE's helpers (a child that notes its start and stop, one that fails
// every restart), start functions with OTP's results, and ways to show and await a supervisor's
// children without sleeping for order (the tests also run on the threaded scheduler).
#pragma once

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/supervisor.hpp"
#include "test_support.hpp"

namespace bedlam::test {

/// Makes a child that takes it exit by itself with `reason`.
struct Die {
    ExitReason reason;
};

/// A child started with start_synced sends this to its starter once it is set up.
struct Ready {
    Pid pid;
};

// -- Children ------------------------------------------------------------------------------------

/// A child that traps exits (like supervisor_SUITE's supervisor_1): it notes its start and tells
/// its starter it is ready; on an exit signal it notes it and exits with that reason. Die makes
/// it exit by itself.
inline Process kid(Self self, Probe* probe, std::string id, Pid starter) {
    self.trap_exit(true);
    probe->note("start " + id);
    self.send(starter, Ready{self.pid()});
    for (;;) {
        co_await self.receive(
            [&](ExitMsg m) {
                probe->note("stop " + id + " " + m.reason.to_string());
                self.exit(m.reason);
            },
            [&](Die d) { self.exit(d.reason); });
    }
}

/// A child that does not trap exits and notes nothing; Die makes it exit with the reason.
inline Process plain_kid(Self self) {
    const Die d = co_await self.receive<Die>();
    self.exit(d.reason);
}

/// Spawns `body(self, args..., starter)` linked and waits until it sends Ready, as proc_lib's
/// synchronous start does: whatever the child does before Ready (trap exits, note its start,
/// unlink) is done before the start returns.
template <typename F, typename... Args>
Async<StartResult> start_synced(Self self, F body, Args... args) {
    const Pid pid = self.spawn_link(body, std::move(args)..., self.pid());
    co_await self.receive(when([pid](const Ready& r) { return r.pid == pid; }, [](Ready) {}));
    co_return StartResult{StartResult::Kind::ok, pid, {}};
}

inline Async<StartResult> start_kid(Self self, Probe* probe, std::string id) {
    return start_synced(self, kid, probe, std::move(id));
}

inline ChildSpec kid_spec(Probe* probe, const std::string& id) {
    return ChildSpec(id, [probe, id](Self self, const Any& /*extra*/) {
        return start_kid(self, probe, id);
    });
}

/// Kids child1..childN.
inline std::vector<ChildSpec> kids(Probe* probe, int n) {
    std::vector<ChildSpec> out;
    for (int i = 1; i <= n; ++i) {
        out.push_back(kid_spec(probe, "child" + std::to_string(i)));
    }
    return out;
}

// -- Start functions with OTP's results (§3.3) ----------------------------------------------------

inline Async<StartResult> ignore_start(Self /*self*/, const Any& /*extra*/) {
    co_return StartResult{StartResult::Kind::ignore, {}, {}};
}

inline Async<StartResult> error_start(Self /*self*/, const Any& /*extra*/) {
    co_return StartResult{StartResult::Kind::error, {}, ExitReason::error("reason")};
}

inline Async<StartResult> throwing_start(Self /*self*/, const Any& /*extra*/) {
    throw std::runtime_error("error_reason");
    co_return StartResult{};
}

/// Succeeds the first time, then always fails (supervisor_1's start_child(error)).
inline Async<StartResult> once_then_fail(Self self, const Any& /*extra*/, int* starts) {
    if ((*starts)++ == 0) {
        co_return StartResult{StartResult::Kind::ok, self.spawn_link(plain_kid), {}};
    }
    co_return StartResult{StartResult::Kind::error, {}, ExitReason::error("start_failed")};
}

/// The value of type T that start_child(Sup, Any(...)) or extra_arguments passed, or nullptr.
template <typename T>
const T* extra_of(const Any& extra) {
    return extra.get<T>();
}

// -- Showing results ------------------------------------------------------------------------------

/// which_children as OTP shows it, with `pid` for any pid: `[{child2,pid},{child1,undefined}]`.
inline std::string show(const std::vector<ChildInfo>& children) {
    std::string out = "[";
    for (const ChildInfo& c : children) {
        if (out.size() > 1) {
            out += ",";
        }
        out += "{" + (c.id.empty() ? std::string("undefined") : c.id) + ",";
        switch (c.state) {
            case ChildInfo::State::running:
                out += "pid";
                break;
            case ChildInfo::State::restarting:
                out += "restarting";
                break;
            case ChildInfo::State::undefined:
                out += "undefined";
                break;
        }
        out += "}";
    }
    return out + "]";
}

/// count_children as supervisor_SUITE's get_child_counts: `[Specs,Active,Supervisors,Workers]`.
inline std::string show(const ChildCounts& c) {
    return "[" + std::to_string(c.specs) + "," + std::to_string(c.active) + "," +
           std::to_string(c.supervisors) + "," + std::to_string(c.workers) + "]";
}

/// `ok` for terminate_child/delete_child's plain ok, else OTP's text.
inline std::string ok_text(const SupReply& r) { return r.ok() ? "ok" : r.to_string(); }

/// OTP's text with `pid` for any pid (pids differ between schedulers): `{ok,pid}`,
/// `{ok,undefined}`, `{error,{already_started,pid}}`, `{error,restarting}`...
inline std::string reply_text(const SupReply& r) {
    if (r.ok() && r.pid.valid()) {
        return "{ok,pid}";
    }
    if (r.error == SupError::already_started) {
        return "{error,{already_started,pid}}";
    }
    return r.to_string();
}

inline Pid pid_of(const std::vector<ChildInfo>& children, const std::string& id) {
    for (const ChildInfo& c : children) {
        if (c.id == id) {
            return c.pid;
        }
    }
    return Pid{};
}

inline bool has_pid(const std::vector<ChildInfo>& children, Pid pid) {
    return std::any_of(children.begin(), children.end(),
                       [pid](const ChildInfo& c) { return c.pid == pid; });
}

// -- Waiting --------------------------------------------------------------------------------------

/// Polls which_children (sleeping 1 ms between tries) until `done` holds; exits after 1000 tries.
template <typename Done>
Async<std::vector<ChildInfo>> await_children(Self self, Pid sup, Done done) {
    for (int i = 0; i < 1000; ++i) {
        std::vector<ChildInfo> children = co_await which_children(self, sup);
        if (done(children)) {
            co_return children;
        }
        co_await self.sleep(std::chrono::milliseconds(1));
    }
    throw std::runtime_error("await_children: condition never held");
}

/// Waits until the supervisor has handled the exit of its child `old`: `old` is no longer among
/// its children (it was restarted, removed or left undefined in the same step).
inline Async<std::vector<ChildInfo>> await_gone(Self self, Pid sup, Pid old) {
    return await_children(self, sup,
                          [old](const std::vector<ChildInfo>& cs) { return !has_pid(cs, old); });
}

/// Makes `pid` exit by itself with `reason` (it must take Die) and waits until it is dead.
inline Async<> die_and_wait(Self self, Pid pid, ExitReason reason) {
    const MonitorRef ref = self.monitor(pid);
    self.send(pid, Die{std::move(reason)});
    co_await self.receive(when([ref](const DownMsg& d) { return d.ref == ref; }, [](DownMsg) {}));
}

/// Sends `pid` an exit signal with `reason` and waits until it is dead; returns its exit reason.
inline Async<ExitReason> signal_and_wait(Self self, Pid pid, ExitReason reason) {
    const MonitorRef ref = self.monitor(pid);
    self.exit(pid, reason);
    const DownMsg d = co_await self.receive(
        when([ref](const DownMsg& x) { return x.ref == ref; }, [](DownMsg x) { return x; }));
    co_return d.reason;
}

/// Starts a supervisor that must start; its pid. Specs are passed as a named vector (README: g++
/// 12 and temporaries in co_await).
inline Async<Pid> start_sup(Self self, SupFlags flags, std::vector<ChildSpec> children) {
    const StartResult r = co_await start_supervisor(self, flags, std::move(children));
    if (!r.ok()) {
        throw std::runtime_error("start_sup: " + r.reason.to_string());
    }
    co_return r.pid;
}

/// A supervisor with no children at start.
inline Async<Pid> start_sup(Self self, SupFlags flags) {
    return start_sup(self, flags, std::vector<ChildSpec>());
}

/// Waits for the supervisor's EXIT and notes its reason.
inline Async<> note_sup_exit(Self self, Probe* probe, Pid sup) {
    const ExitMsg m = co_await self.receive(
        when([sup](const ExitMsg& x) { return x.from == sup; }, [](ExitMsg x) { return x; }));
    probe->note("sup exit " + m.reason.to_string());
}

/// exit(Sup, shutdown), then notes the supervisor's exit reason.
inline Async<> stop_sup(Self self, Probe* probe, Pid sup) {
    self.exit(sup, ExitReason::shutdown());
    co_await note_sup_exit(self, probe, sup);
}

}  // namespace bedlam::test
