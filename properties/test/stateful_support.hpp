// Shared by the stateful (model-based) supervisor suites, stateful_supervisor_test.cpp and
// stateful_dynamic_supervisor_test.cpp: what a model child looks like, the expected effect of one
// command, and the system under test: a Simulator (seeded from the generated case) running a
// driver process that starts the supervisor, makes every API call on the suites' behalf and
// answers which_children/count_children queries.
//
// A command is one step: the suite sends the driver a DriverCmd (or kills/crashes a child from
// outside the tree) and runs the simulator until idle, so that every exit has been handled before
// the next query. The children log what they see ("start a", "stop a shutdown", "ignore a
// shutdown", "crash a boom") into one log, which the suites compare with the model's.
#pragma once

#include <rapidcheck.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
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

inline std::string describe(const ChildDesc& d) {
    std::string out = (d.id.empty() ? std::string("''") : d.id) + " " + to_string(d.restart);
    out += d.type == ChildType::supervisor ? " supervisor" : " worker";
    switch (d.shutdown) {
        case Shutdown::Kind::brutal_kill:
            out += " brutal_kill";
            break;
        case Shutdown::Kind::timeout:
            out += " " + std::to_string(d.timeout / ms) + "ms";
            break;
        case Shutdown::Kind::infinite:
            out += " infinity";
            break;
    }
    if (d.behaviour == Behaviour::stubborn) {
        out += " stubborn";
    }
    return out;
}

/// Draws a child spec with its id from `ids`: every restart type, type, shutdown kind and
/// behaviour (a stubborn child always has a time-out).
inline rc::Gen<ChildDesc> gen_child_desc(std::vector<std::string> ids) {
    return rc::gen::apply(
        [](std::string id, Restart restart, int kind, int timeout_ms, ChildType type,
           int behaviour) {
            ChildDesc d;
            d.id = std::move(id);
            d.restart = restart;
            d.shutdown = kind == 0   ? Shutdown::Kind::brutal_kill
                         : kind == 1 ? Shutdown::Kind::infinite
                                     : Shutdown::Kind::timeout;
            d.timeout = timeout_ms * ms;
            d.type = type;
            d.behaviour = d.shutdown == Shutdown::Kind::timeout && behaviour == 0
                              ? Behaviour::stubborn
                              : Behaviour::prompt;
            return d;
        },
        rc::gen::elementOf(std::move(ids)),
        rc::gen::element(Restart::permanent, Restart::transient, Restart::temporary),
        rc::gen::inRange(0, 4), rc::gen::inRange(1, 3000),
        rc::gen::element(ChildType::worker, ChildType::supervisor), rc::gen::inRange(0, 2));
}

/// The reasons a crash command makes a child exit with (it takes them as a Die message).
inline rc::Gen<ExitReason> gen_crash_reason() {
    return rc::gen::element(ExitReason::normal(), ExitReason::shutdown(),
                            ExitReason::shutdown("chaos"), ExitReason::error("boom"));
}

/// A virtual duration to advance by: under a second as often as several (the periods are 1-5 s).
inline rc::Gen<Ticks> gen_advance() {
    return rc::gen::map(rc::gen::oneOf(rc::gen::inRange(1, 1000), rc::gen::inRange(1000, 7000)),
                        [](int t) { return t * ms; });
}

/// Makes a child exit by itself with `reason`.
struct Die {
    ExitReason reason;
};

/// A child tells its starter it is set up (proc_lib's synchronous start).
struct Ready {
    Pid pid;
};

/// The child: traps exits, logs its start, then logs and acts on Die and exit signals.
inline Process child_body(Self self, Log* log, std::string id, bool stubborn, Pid starter) {
    self.trap_exit(true);
    log->push_back("start " + id);
    self.send(starter, Ready{self.pid()});
    for (;;) {
        Message m = co_await self.receive([](Message x) { return x; });
        if (const Die* d = m.get<Die>(); d != nullptr) {
            log->push_back("crash " + id + " " + d->reason.to_string());
            self.exit(d->reason);
        }
        if (const ExitMsg* e = m.get<ExitMsg>(); e != nullptr) {
            if (stubborn) {
                log->push_back("ignore " + id + " " + e->reason.to_string());
            } else {
                log->push_back("stop " + id + " " + e->reason.to_string());
                self.exit(e->reason);
            }
        }
    }
}

inline Async<StartResult> start_child_body(Self self, Log* log, std::string id, bool stubborn) {
    const Pid pid = self.spawn_link(child_body, log, std::move(id), stubborn, self.pid());
    co_await self.receive(when([pid](const Ready& r) { return r.pid == pid; }, [](Ready) {}));
    co_return StartResult{StartResult::Kind::ok, pid, {}};
}

inline ChildSpec make_spec(Log* log, const ChildDesc& d) {
    const std::string id = d.id;
    const bool stubborn = d.behaviour == Behaviour::stubborn;
    ChildSpec spec(id, [log, id, stubborn](Self self, const Any& /*extra*/) {
        return start_child_body(self, log, id, stubborn);
    });
    spec.restart(d.restart).type(d.type);
    switch (d.shutdown) {
        case Shutdown::Kind::brutal_kill:
            spec.shutdown(Shutdown::brutal_kill());
            break;
        case Shutdown::Kind::timeout:
            spec.shutdown(Shutdown::after(Duration(d.timeout)));
            break;
        case Shutdown::Kind::infinite:
            spec.shutdown(Shutdown::infinite());
            break;
    }
    return spec;
}

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

/// What one command must do: its reply (API calls only) and the children's log lines: `log` in
/// this order, then `unordered` in any order (a DynamicSupervisor stops its children
/// concurrently, §4.5).
struct Effect {
    std::optional<ModelReply> reply{};
    Log log{};
    Log unordered{};
};

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
    [[nodiscard]] std::size_t index_of(int instance) const {
        for (std::size_t i = 0; i < children.size(); ++i) {
            if (children[i].instance == instance) {
                return i;
            }
        }
        return children.size();
    }
    [[nodiscard]] bool running(int instance) const {
        return instance >= 0 && index_of(instance) < children.size();
    }
    [[nodiscard]] std::vector<int> running_instances() const {
        std::vector<int> out;
        for (const ModelChild& c : children) {
            if (c.running()) {
                out.push_back(c.instance);
            }
        }
        return out;
    }
    [[nodiscard]] std::string id_of(int instance) const {
        return children[index_of(instance)].desc.id;
    }
    void erase(std::size_t i) { children.erase(children.begin() + static_cast<std::ptrdiff_t>(i)); }

    /// A child starts (it logs its start).
    void start(ModelChild& c, Effect& e) {
        c.instance = next_instance++;
        e.log.push_back("start " + c.desc.id);
    }

    /// §3.7: the supervisor stops one running child. brutal_kill: killed, nothing logged. A
    /// time-out: `shutdown`, which a prompt child logs and obeys, and a stubborn child logs and
    /// ignores until the kill at the time-out. infinity: `shutdown`, and wait.
    void shut_down(ModelChild& c, Log& log) {
        if (!c.running()) {
            return;
        }
        c.instance = -1;
        if (c.desc.shutdown == Shutdown::Kind::brutal_kill) {
            return;
        }
        if (c.desc.behaviour == Behaviour::stubborn) {
            log.push_back("ignore " + c.desc.id + " shutdown");
            now += c.desc.timeout;
            return;
        }
        log.push_back("stop " + c.desc.id + " shutdown");
    }

    /// §3.8 (and §4.4): a restart at Now (whole seconds of virtual time) is recorded; restarts
    /// before Now - period drop out (the window is inclusive); false when more than `intensity`
    /// remain.
    bool add_restart(int intensity, int period_s) {
        const std::int64_t now_s = now / seconds;
        restarts.push_back(now_s);
        restarts.erase(std::remove_if(restarts.begin(), restarts.end(),
                                      [&](std::int64_t r) { return r < now_s - period_s; }),
                       restarts.end());
        return static_cast<std::int64_t>(restarts.size()) <= intensity;
    }

    /// The running child `instance` died with `reason`: by itself (it logs the crash) or
    /// `killed` from outside. Returns its index and whether it is restarted (§3.4: permanent
    /// always, transient unless normal, shutdown or {shutdown,_}, temporary never).
    std::pair<std::size_t, bool> died(int instance, const ExitReason& reason, Effect& e) {
        const std::size_t i = index_of(instance);
        ModelChild& c = children[i];
        if (reason.kind() != ExitReason::Kind::killed) {
            e.log.push_back("crash " + c.desc.id + " " + reason.to_string());
        }
        c.instance = -1;
        const Restart type = c.desc.restart;
        return {i, type == Restart::permanent ||
                       (type == Restart::transient && !reason.is_clean())};
    }
};

/// Counts for count_children (§3.16): specs, live pids, supervisors, workers.
inline ChildCounts counts_of(const std::vector<ModelChild>& children) {
    ChildCounts c;
    for (const ModelChild& child : children) {
        c.specs += 1;
        c.active += child.running() ? 1 : 0;
        (child.desc.type == ChildType::supervisor ? c.supervisors : c.workers) += 1;
    }
    return c;
}

inline std::string reason_text(SupError error) {
    SupReply r;
    r.error = error;
    return r.to_string();
}

// -- The system under test ------------------------------------------------------------------------

/// The supervisor to start.
struct SupSetup {
    bool dynamic = false;
    Strategy strategy = Strategy::one_for_one;
    int intensity = 1;
    int period_s = 5;
    std::optional<int> max_children{};  // DynamicSupervisor only
    std::vector<ChildDesc> children{};  // Supervisor only: started at init, in order
};

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
    };
    Op op = Op::query;
    ChildDesc child{};
    std::string id{};
    Pid pid{};
    Ticks sleep = 0;
};

/// What the driver found out; read by the suites between runs.
struct DriverState {
    Log log{};
    Pid sup{};
    StartResult started{};
    bool sup_alive = false;
    std::optional<ExitReason> sup_exit{};
    std::optional<SupReply> reply{};
    std::optional<std::vector<ChildInfo>> children{};
    std::optional<ChildCounts> counts{};
};

/// Makes the API call `cmd` asks for. `cmd` lives in the caller's frame (the driver's).
inline Async<SupReply> call_api(Self self, Pid sup, Log* log, const DriverCmd& cmd) {
    switch (cmd.op) {
        case DriverCmd::Op::start_child: {
            ChildSpec spec = make_spec(log, cmd.child);
            co_return co_await start_child(self, sup, std::move(spec));
        }
        case DriverCmd::Op::terminate_child:
            co_return co_await terminate_child(self, sup, cmd.id);
        case DriverCmd::Op::terminate_pid:
            co_return co_await terminate_child(self, sup, cmd.pid);
        case DriverCmd::Op::restart_child:
            co_return co_await restart_child(self, sup, cmd.id);
        case DriverCmd::Op::delete_child:
            co_return co_await delete_child(self, sup, cmd.id);
        case DriverCmd::Op::query:
        case DriverCmd::Op::sleep:
            break;
    }
    co_return SupReply{};
}

/// Starts the supervisor (linked, trapping exits: its EXIT tells the driver it died), then
/// serves DriverCmds forever. A call to a dead supervisor is never made: the reply stays empty.
inline Process driver(Self self, DriverState* st, SupSetup setup) {
    self.trap_exit(true);
    if (setup.dynamic) {
        DynSupOptions options(setup.intensity, setup.period_s);
        options.max_children = setup.max_children;
        st->started = co_await start_dynamic_supervisor(self, std::move(options));
    } else {
        const SupFlags flags(setup.strategy, setup.intensity, setup.period_s);
        std::vector<ChildSpec> specs;
        for (const ChildDesc& d : setup.children) {
            specs.push_back(make_spec(&st->log, d));
        }
        st->started = co_await start_supervisor(self, flags, std::move(specs));
    }
    st->sup = st->started.pid;
    st->sup_alive = st->started.ok();
    for (;;) {
        Message m = co_await self.receive([](Message x) { return x; });
        if (const ExitMsg* e = m.get<ExitMsg>(); e != nullptr) {
            if (e->from == st->sup) {
                st->sup_alive = false;
                st->sup_exit = e->reason;
            }
            continue;
        }
        const DriverCmd* found = m.get<DriverCmd>();
        if (found == nullptr) {
            continue;
        }
        const DriverCmd cmd = *found;
        if (cmd.op == DriverCmd::Op::sleep) {
            co_await self.sleep(Duration(cmd.sleep));
            continue;
        }
        if (!st->sup_alive) {
            continue;
        }
        const Pid sup = st->sup;
        if (cmd.op == DriverCmd::Op::query) {
            std::vector<ChildInfo> children = co_await which_children(self, sup);
            const ChildCounts counts = co_await count_children(self, sup);
            st->children = std::move(children);
            st->counts = counts;
            continue;
        }
        const SupReply r = co_await call_api(self, sup, &st->log, cmd);
        st->reply = r;
    }
}

/// Pids the system showed, by the model's instance numbers. A pid is bound to an instance the
/// first time it appears where the model expects that instance, and only if it was never seen
/// before (a restart gives a new pid; pids are never reused).
class PidBook {
public:
    /// `#k` for a pid bound to instance k (binding it to `hint` if it is new and `hint` is
    /// unbound), else `<new pid N>`.
    std::string name(Pid pid, int hint) {
        if (auto it = instance_of_.find(pid); it != instance_of_.end()) {
            return "#" + std::to_string(it->second);
        }
        if (hint >= 0 && pid_of_.count(hint) == 0) {
            pid_of_[hint] = pid;
            instance_of_[pid] = hint;
            return "#" + std::to_string(hint);
        }
        return "<new pid " + std::to_string(pid.id) + ">";
    }
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

inline std::string join(const Log& lines) {
    std::string out;
    for (const std::string& line : lines) {
        out += (out.empty() ? "" : "; ") + line;
    }
    return out;
}

inline std::string type_text(ChildType t) {
    return t == ChildType::supervisor ? "supervisor" : "worker";
}

inline std::string counts_text(const ChildCounts& c) {
    return "[{specs," + std::to_string(c.specs) + "},{active," + std::to_string(c.active) +
           "},{supervisors," + std::to_string(c.supervisors) + "},{workers," +
           std::to_string(c.workers) + "}]";
}

/// The system under test: a simulator with the driver and the supervisor it started.
class Sut {
public:
    Sut(std::uint64_t seed, SupSetup setup) : sim_(SimConfig{.seed = seed}) {
        sim_.set_step_limit(1'000'000);  // A livelock guard: one command takes a few hundred.
        driver_ = sim_.spawn(driver, &state_, std::move(setup));
        settle();
    }

    [[nodiscard]] const StartResult& started() const { return state_.started; }
    [[nodiscard]] Pid driver_pid() const { return driver_; }

    /// An API call through the driver; nullopt if the driver saw the supervisor die first.
    std::optional<SupReply> call(DriverCmd cmd) {
        state_.reply.reset();
        sim_.send(driver_, std::move(cmd));
        settle();
        return state_.reply;
    }
    std::optional<SupReply> start_child(const ChildDesc& d) {
        DriverCmd cmd;
        cmd.op = DriverCmd::Op::start_child;
        cmd.child = d;
        return call(std::move(cmd));
    }
    /// terminate_child, restart_child or delete_child by id.
    std::optional<SupReply> by_id(DriverCmd::Op op, const std::string& id) {
        DriverCmd cmd;
        cmd.op = op;
        cmd.id = id;
        return call(std::move(cmd));
    }
    std::optional<SupReply> terminate_pid(Pid pid) {
        DriverCmd cmd;
        cmd.op = DriverCmd::Op::terminate_pid;
        cmd.pid = pid;
        return call(std::move(cmd));
    }
    /// exit(Pid, kill) from outside the tree: untrappable, the child dies `killed`.
    void kill(int instance) {
        sim_.exit(pid_of(instance), ExitReason::kill());
        settle();
    }
    /// The child exits by itself with `reason`.
    void crash(int instance, ExitReason reason) {
        sim_.send(pid_of(instance), Die{std::move(reason)});
        settle();
    }
    void advance(Ticks by) {
        DriverCmd cmd;
        cmd.op = DriverCmd::Op::sleep;
        cmd.sleep = by;
        sim_.send(driver_, std::move(cmd));
        settle();
    }

    /// The pid the system gave `instance`.
    Pid pid_of(int instance) const {
        const std::optional<Pid> pid = book_.pid_of(instance);
        RC_ASSERT(pid.has_value());  // The harness binds every running instance at each check.
        return *pid;
    }

    /// Checks the system against the model after a command: the children's log, the reply,
    /// whether the supervisor lives (§3.9: if not, it exited `shutdown`), the clock, the live
    /// processes (no child outlives its supervisor), and which_children and count_children
    /// (§3.5, §3.16).
    void check(const Effect& effect, const std::optional<SupReply>& got, const Expected& want) {
        // The log: the ordered part, then the concurrent part in any order.
        Log lines = std::move(state_.log);
        state_.log.clear();
        Log expected_lines = effect.log;
        Log expected_rest = effect.unordered;
        std::sort(expected_rest.begin(), expected_rest.end());
        Log got_rest;
        if (lines.size() > effect.log.size()) {
            got_rest.assign(lines.begin() + static_cast<std::ptrdiff_t>(effect.log.size()),
                            lines.end());
            lines.resize(effect.log.size());
        }
        std::sort(got_rest.begin(), got_rest.end());
        const std::string expected_log = join(expected_lines) + " | any order: " +
                                         join(expected_rest);
        const std::string got_log = join(lines) + " | any order: " + join(got_rest);
        RC_ASSERT(got_log == expected_log);

        if (effect.reply) {
            const std::string expected_reply = reply_text(*effect.reply);
            const std::string got_reply =
                got ? reply_text(*got, effect.reply->instance) : std::string("no reply");
            RC_ASSERT(got_reply == expected_reply);
        }

        RC_ASSERT(state_.sup_alive == want.alive);
        if (!want.alive) {
            // §3.9, §4.4: a supervisor that gives up exits `shutdown`.
            RC_ASSERT(state_.sup_exit.has_value());
            RC_ASSERT(state_.sup_exit->to_string() == std::string("shutdown"));
        }
        RC_ASSERT(sim_.now() == want.now);
        const std::size_t live = 1 + (want.alive ? 1 + static_cast<std::size_t>(want.running) : 0);
        RC_ASSERT(sim_.process_count() == live);
        if (!want.alive) {
            return;
        }

        state_.children.reset();
        state_.counts.reset();
        DriverCmd query;
        query.op = DriverCmd::Op::query;
        sim_.send(driver_, std::move(query));
        settle();
        RC_ASSERT(state_.children.has_value());
        RC_ASSERT(state_.counts.has_value());
        const std::string expected_children = children_text(want);
        const std::string got_children = children_text(*state_.children, want);
        RC_ASSERT(got_children == expected_children);
        RC_ASSERT(counts_text(*state_.counts) == counts_text(want.counts));
    }

private:
    void settle() {
        const RunResult r = sim_.run();
        RC_ASSERT(r.stop == RunResult::Stop::idle);
    }

    static std::string reply_text(const ModelReply& r) {
        const std::string pid = "#" + std::to_string(r.instance);
        switch (r.error) {
            case SupError::none:
                return r.instance >= 0 ? "{ok," + pid + "}" : std::string("ok");
            case SupError::already_started:
                return "{error,{already_started," + pid + "}}";
            default:
                return reason_text(r.error);
        }
    }

    std::string reply_text(const SupReply& r, int hint) {
        if (r.ok() && r.pid.valid()) {
            return "{ok," + book_.name(r.pid, hint) + "}";
        }
        if (r.ok() && !r.ignore) {
            return "ok";
        }
        if (r.error == SupError::already_started) {
            return "{error,{already_started," + book_.name(r.pid, -1) + "}}";
        }
        return r.to_string();
    }

    static std::string entry_text(const std::string& id, const std::string& pid, ChildType t) {
        return "{" + (id.empty() ? std::string("undefined") : id) + "," + pid + "," +
               type_text(t) + "}";
    }

    static std::string children_text(const Expected& want) {
        Log entries;
        for (const ExpectedChild& c : want.children) {
            entries.push_back(entry_text(
                c.id, c.instance >= 0 ? "#" + std::to_string(c.instance) : std::string("undefined"),
                c.type));
        }
        if (!want.ordered) {
            std::sort(entries.begin(), entries.end());
        }
        return "[" + join(entries) + "]";
    }

    /// which_children in the model's terms. Ordered: a new pid is bound to the instance the model
    /// expects at its position. Unordered: new pids, in pid order, to the unbound instances the
    /// model expects, in instance order (pids and instances both count up), if as many.
    std::string children_text(const std::vector<ChildInfo>& got, const Expected& want) {
        std::vector<int> hints(got.size(), -1);
        if (want.ordered) {
            for (std::size_t i = 0; i < got.size() && i < want.children.size(); ++i) {
                hints[i] = want.children[i].instance;
            }
        } else {
            std::vector<std::pair<Pid, std::size_t>> fresh;
            for (std::size_t i = 0; i < got.size(); ++i) {
                if (got[i].state == ChildInfo::State::running && !book_.known(got[i].pid)) {
                    fresh.emplace_back(got[i].pid, i);
                }
            }
            std::vector<int> unbound;
            for (const ExpectedChild& c : want.children) {
                if (c.instance >= 0 && !book_.bound(c.instance)) {
                    unbound.push_back(c.instance);
                }
            }
            std::sort(fresh.begin(), fresh.end());
            std::sort(unbound.begin(), unbound.end());
            if (fresh.size() == unbound.size()) {
                for (std::size_t k = 0; k < fresh.size(); ++k) {
                    hints[fresh[k].second] = unbound[k];
                }
            }
        }
        Log entries;
        for (std::size_t i = 0; i < got.size(); ++i) {
            const ChildInfo& c = got[i];
            std::string pid;
            switch (c.state) {
                case ChildInfo::State::running:
                    pid = book_.name(c.pid, hints[i]);
                    break;
                case ChildInfo::State::restarting:
                    pid = "restarting";
                    break;
                case ChildInfo::State::undefined:
                    pid = "undefined";
                    break;
            }
            entries.push_back(entry_text(c.id, pid, c.type));
        }
        if (!want.ordered) {
            std::sort(entries.begin(), entries.end());
        }
        return "[" + join(entries) + "]";
    }

    Simulator sim_;
    DriverState state_;
    Pid driver_;
    PidBook book_;
};

// -- Commands both suites use ------------------------------------------------------------------
//
// A Model provides: `alive`, `now`, `static id_pool()`, `start_child(desc)`, `exit(instance,
// reason)`, `running_instances()`, `running(instance)`, `id_of(instance)` and `expected()`. Every
// model step returns the Effect the system must show.

/// Runs `step` on a copy of the model and `act` on the system, then checks the system.
template <typename Model, typename Step, typename Act>
void run_checked(const Model& m0, Sut& sut, Step step, Act act) {
    Model m = m0;
    const Effect e = step(m);
    const std::optional<SupReply> got = act(sut);
    sut.check(e, got, m.expected());
}

template <typename Model>
struct StartChild final : rc::state::Command<Model, Sut> {
    ChildDesc desc;
    explicit StartChild(const Model& /*m*/) : desc(*gen_child_desc(Model::id_pool())) {}
    void checkPreconditions(const Model& m) const override { RC_PRE(m.alive); }
    void apply(Model& m) const override { m.start_child(desc); }
    void run(const Model& m, Sut& sut) const override {
        run_checked(m, sut, [&](Model& s) { return s.start_child(desc); },
                    [&](Sut& s) { return s.start_child(desc); });
    }
    void show(std::ostream& os) const override { os << "start_child " << describe(desc); }
};

/// A running child dies: killed from outside (`reason` nullopt: exit(Pid, kill), untrappable,
/// §1.3, so it dies `killed`), or by itself with `reason`.
template <typename Model>
struct ChildExit : rc::state::Command<Model, Sut> {
    int instance = -1;
    std::string id;  // For show().
    std::optional<ExitReason> reason;

    ChildExit(const Model& m, std::optional<ExitReason> why) : reason(std::move(why)) {
        const std::vector<int> running = m.running_instances();
        RC_PRE(!running.empty());
        instance = *rc::gen::elementOf(running);
        id = m.id_of(instance);
    }
    void checkPreconditions(const Model& m) const override {
        RC_PRE(m.alive && m.running(instance));
    }
    void apply(Model& m) const override { m.exit(instance, died_with()); }
    void run(const Model& m, Sut& sut) const override {
        run_checked(m, sut, [&](Model& s) { return s.exit(instance, died_with()); },
                    [&](Sut& s) {
                        if (reason) {
                            s.crash(instance, *reason);
                        } else {
                            s.kill(instance);
                        }
                        return std::optional<SupReply>();
                    });
    }
    void show(std::ostream& os) const override {
        os << (reason ? "crash " : "kill ") << id << "#" << instance;
        if (reason) {
            os << " " << *reason;
        }
    }

private:
    [[nodiscard]] ExitReason died_with() const { return reason ? *reason : ExitReason::killed(); }
};

template <typename Model>
struct Kill final : ChildExit<Model> {
    explicit Kill(const Model& m) : ChildExit<Model>(m, std::nullopt) {}
};

/// The child takes a Die message and exits with normal, shutdown, {shutdown,chaos} or an error.
template <typename Model>
struct Crash final : ChildExit<Model> {
    explicit Crash(const Model& m) : ChildExit<Model>(m, *gen_crash_reason()) {}
};

/// Virtual time passes: old restarts leave the intensity window (§3.8, §4.4).
template <typename Model>
struct AdvanceTime final : rc::state::Command<Model, Sut> {
    Ticks by = 0;
    explicit AdvanceTime(const Model& /*m*/) : by(*gen_advance()) {}
    void apply(Model& m) const override { m.now += by; }
    void run(const Model& m, Sut& sut) const override {
        run_checked(
            m, sut,
            [&](Model& s) {
                s.now += by;
                return Effect{};
            },
            [&](Sut& s) {
                s.advance(by);
                return std::optional<SupReply>();
            });
    }
    void show(std::ostream& os) const override { os << "advance " << by / ms << "ms"; }
};

}  // namespace bedlam::properties::stateful
