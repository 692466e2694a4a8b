// Stateful (model-based) test of the supervisor (otp-semantics §3): RapidCheck generates a
// supervisor (strategy one_for_one, one_for_all or rest_for_one; intensity 0-4 in a period of
// 1-5 s; up to three children at init) and a sequence of commands (start_child, terminate_child by
// id and by pid, restart_child, delete_child, killing a child from outside, making a child exit
// by itself with normal, shutdown, {shutdown,chaos} or an error, and letting virtual time pass).
// A pure model predicts each command's reply, the children's log of starts and stops, and
// which_children and count_children afterwards; the simulator runs the real supervisor and every
// command is checked against the model. Once the supervisor has given up (§3.9) only the passing
// of time remains.
//
// Cases: BEDLAM_PROPERTY_CASES (default 100; see main.cpp), each up to ~100 commands. A failure
// prints the shrunk command sequence; RC_PARAMS="seed=..." replays it.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "stateful_support.hpp"

namespace bedlam::properties::stateful {
namespace {

/// The pure model of a flat supervisor (no runtime calls).
struct SupModel : ModelCore {
    Strategy strategy = Strategy::one_for_one;
    int intensity = 1;
    int period_s = 5;

    [[nodiscard]] std::size_t index_of(const std::string& id) const {
        for (std::size_t i = 0; i < children.size(); ++i) {
            if (children[i].desc.id == id) {
                return i;
            }
        }
        return children.size();
    }
    using ModelCore::index_of;
    [[nodiscard]] bool has(const std::string& id) const {
        return index_of(id) < children.size();
    }
    /// The ids start_child and the other calls draw from: few, so that ids collide
    /// (already_started, already_present, not_found).
    static const std::vector<std::string>& id_pool() {
        static const std::vector<std::string> ids{"a", "b", "c", "d", "e"};
        return ids;
    }

    // -- The API (§3.13-15) -----------------------------------------------------------------------

    /// §3.13: {error,{already_started,Pid}} if the id runs, {error,already_present} if it exists
    /// stopped, else the child starts and becomes the newest.
    Effect start_child(const ChildDesc& d) {
        Effect e;
        const std::size_t i = index_of(d.id);
        if (i < children.size()) {
            e.reply = children[i].running() ? ModelReply{SupError::already_started,
                                                         children[i].instance}
                                            : ModelReply{SupError::already_present, -1};
            return e;
        }
        children.push_back(ModelChild{d, -1});
        start(children.back(), e);
        e.reply = ModelReply{SupError::none, children.back().instance};
        return e;
    }

    /// §3.14: ok (also for a stopped child) after stopping it by its shutdown (§3.7); a temporary
    /// child's spec is deleted; an unknown id is not_found. Not a restart.
    Effect terminate_child(const std::string& id) {
        Effect e;
        const std::size_t i = index_of(id);
        if (i == children.size()) {
            e.reply = ModelReply{SupError::not_found, -1};
            return e;
        }
        shut_down(children[i], e.log);
        if (children[i].desc.restart == Restart::temporary) {
            erase(i);
        }
        e.reply = ModelReply{SupError::none, -1};
        return e;
    }

    /// §3.14: a pid on a supervisor that is not simple_one_for_one is not_found.
    static Effect terminate_pid() {
        Effect e;
        e.reply = ModelReply{SupError::not_found, -1};
        return e;
    }

    /// §3.15: the stopped child `id`; if there is none, nullopt and the reply is
    /// {error,not_found} or {error,running}.
    std::optional<std::size_t> stopped(const std::string& id, Effect& e) const {
        const std::size_t i = index_of(id);
        if (i == children.size()) {
            e.reply = ModelReply{SupError::not_found, -1};
            return std::nullopt;
        }
        if (children[i].running()) {
            e.reply = ModelReply{SupError::running, -1};
            return std::nullopt;
        }
        return i;
    }

    /// §3.15: the stopped child starts again in its place. Not a restart: the intensity window
    /// does not count it.
    Effect restart_child(const std::string& id) {
        Effect e;
        if (const std::optional<std::size_t> i = stopped(id, e)) {
            start(children[*i], e);
            e.reply = ModelReply{SupError::none, children[*i].instance};
        }
        return e;
    }

    /// §3.15: the stopped child's spec is removed.
    Effect delete_child(const std::string& id) {
        Effect e;
        if (const std::optional<std::size_t> i = stopped(id, e)) {
            erase(*i);
            e.reply = ModelReply{SupError::none, -1};
        }
        return e;
    }

    // -- Exits ----------------------------------------------------------------------------------

    /// The running child `instance` died with `reason`: killed from outside, or by itself.
    Effect exit(int instance, const ExitReason& reason) {
        Effect e;
        const auto [i, again] = died(instance, reason, e);
        if (!again) {  // §3.4: a temporary child's spec goes; the others stay, undefined.

            if (children[i].desc.restart == Restart::temporary) {
                erase(i);
            }
            return e;
        }
        restart(i, e);
        return e;
    }

    /// §3.8 then §3.6 (or §3.9).
    void restart(std::size_t i, Effect& e) {
        if (!add_restart(intensity, period_s)) {
            // §3.9: the dead child is removed, the others stop in reverse start order, and the
            // supervisor exits shutdown.
            erase(i);
            for (auto it = children.rbegin(); it != children.rend(); ++it) {
                shut_down(*it, e.log);
            }
            alive = false;
            return;
        }
        switch (strategy) {
            case Strategy::one_for_one:
                start(children[i], e);
                return;
            case Strategy::one_for_all:
                // §3.6: all others stop in reverse start order (§3.5); temporary ones are gone for
                // good (§3.4); then every child starts in start order, stopped ones included.
                stop_from(0, e);
                start_from(0, e);
                return;
            case Strategy::rest_for_one: {
                // §3.6: the children after the dead one stop in reverse order, then it and they
                // start in order.
                const std::string id = children[i].desc.id;
                stop_from(i + 1, e);
                start_from(index_of(id), e);
                return;
            }
            case Strategy::simple_one_for_one:
                return;  // Not generated.
        }
    }

    /// Stops children[from..] newest first, removing temporary ones (§3.4 bystanders).
    void stop_from(std::size_t from, Effect& e) {
        for (std::size_t k = children.size(); k > from; --k) {
            shut_down(children[k - 1], e.log);
            if (children[k - 1].desc.restart == Restart::temporary) {
                erase(k - 1);
            }
        }
    }

    void start_from(std::size_t from, Effect& e) {
        for (std::size_t k = from; k < children.size(); ++k) {
            start(children[k], e);
        }
    }

    [[nodiscard]] Expected expected() const {
        Expected want;
        want.alive = alive;
        want.now = now;
        for (auto it = children.rbegin(); it != children.rend(); ++it) {  // §3.5 newest first
            want.children.push_back(ExpectedChild{it->desc.id, it->instance, it->desc.type});
            want.running += it->running() ? 1 : 0;
        }
        want.counts = counts_of(children);
        return want;
    }
};

std::string describe(const SupModel& m) {
    std::string out = std::string(to_string(m.strategy)) + " intensity=" +
                      std::to_string(m.intensity) + " period=" + std::to_string(m.period_s) +
                      "s children=[";
    for (std::size_t i = 0; i < m.children.size(); ++i) {
        out += (i > 0 ? ", " : "") + describe(m.children[i].desc);
    }
    return out + "]";
}

void showValue(const SupModel& m, std::ostream& os) { os << describe(m); }

SupSetup setup_of(const SupModel& m) {
    SupSetup s;
    s.strategy = m.strategy;
    s.intensity = m.intensity;
    s.period_s = m.period_s;
    for (const ModelChild& c : m.children) {
        s.children.push_back(c.desc);
    }
    return s;
}

/// A supervisor with up to three children at init, distinct ids. The children are not started
/// yet (instance -1): `init_effect` starts them.
rc::Gen<SupModel> gen_sup_model() {
    return rc::gen::apply(
        [](Strategy strategy, int intensity, int period_s, std::vector<ChildDesc> descs) {
            SupModel m;
            m.strategy = strategy;
            m.intensity = intensity;
            m.period_s = period_s;
            for (ChildDesc& d : descs) {
                if (!m.has(d.id)) {  // §3.2: a duplicate id at init is an error; not tested here.
                    m.children.push_back(ModelChild{std::move(d), -1});
                }
            }
            return m;
        },
        rc::gen::element(Strategy::one_for_one, Strategy::one_for_all, Strategy::rest_for_one),
        rc::gen::inRange(0, 5), rc::gen::inRange(1, 6),
        rc::gen::resize(3, rc::gen::container<std::vector<ChildDesc>>(
                               gen_child_desc(SupModel::id_pool()))));
}

/// §3.5: the children start in list order at init.
Effect init_effect(SupModel& m) {
    Effect e;
    for (ModelChild& c : m.children) {
        m.start(c, e);
    }
    return e;
}

// -- Commands -------------------------------------------------------------------------------------

using SupCommand = rc::state::Command<SupModel, Sut>;

/// terminate_child, restart_child or delete_child with an id from the pool.
struct IdCall : SupCommand {
    DriverCmd::Op op;
    std::string id;
    explicit IdCall(DriverCmd::Op call) : op(call), id(*rc::gen::elementOf(SupModel::id_pool())) {}
    void checkPreconditions(const SupModel& m) const override { RC_PRE(m.alive); }
    void apply(SupModel& m) const override { step(m); }
    void run(const SupModel& m, Sut& sut) const override {
        run_checked(m, sut, [&](SupModel& s) { return step(s); },
                    [&](Sut& s) { return s.by_id(op, id); });
    }
    void show(std::ostream& os) const override {
        switch (op) {
            case DriverCmd::Op::terminate_child:
                os << "terminate_child " << id;
                return;
            case DriverCmd::Op::restart_child:
                os << "restart_child " << id;
                return;
            default:
                os << "delete_child " << id;
                return;
        }
    }

private:
    Effect step(SupModel& m) const {
        switch (op) {
            case DriverCmd::Op::terminate_child:
                return m.terminate_child(id);
            case DriverCmd::Op::restart_child:
                return m.restart_child(id);
            default:
                return m.delete_child(id);
        }
    }
};

struct TerminateChild final : IdCall {
    explicit TerminateChild(const SupModel& /*m*/) : IdCall(DriverCmd::Op::terminate_child) {}
};
struct RestartChild final : IdCall {
    explicit RestartChild(const SupModel& /*m*/) : IdCall(DriverCmd::Op::restart_child) {}
};
struct DeleteChild final : IdCall {
    explicit DeleteChild(const SupModel& /*m*/) : IdCall(DriverCmd::Op::delete_child) {}
};

/// terminate_child with a running child's pid instead of its id (§3.14: not_found).
struct TerminatePid final : SupCommand {
    int instance = -1;
    explicit TerminatePid(const SupModel& m) {
        const std::vector<int> running = m.running_instances();
        RC_PRE(!running.empty());
        instance = *rc::gen::elementOf(running);
    }
    void checkPreconditions(const SupModel& m) const override {
        RC_PRE(m.alive && m.running(instance));
    }
    void apply(SupModel& /*m*/) const override {}
    void run(const SupModel& m, Sut& sut) const override {
        run_checked(m, sut, [](SupModel& /*s*/) { return SupModel::terminate_pid(); },
                    [&](Sut& s) { return s.terminate_pid(s.pid_of(instance)); });
    }
    void show(std::ostream& os) const override { os << "terminate_child pid #" << instance; }
};

rc::Gen<std::shared_ptr<const SupCommand>> gen_command(const SupModel& m) {
    using rc::state::gen::execOneOfWithArgs;
    if (!m.alive) {
        return execOneOfWithArgs<AdvanceTime<SupModel>>()(m);  // §3.9: nothing left to call.
    }
    return rc::gen::weightedOneOf<std::shared_ptr<const SupCommand>>({
        {4, execOneOfWithArgs<StartChild<SupModel>>()(m)},
        {2, execOneOfWithArgs<TerminateChild>()(m)},
        {1, execOneOfWithArgs<TerminatePid>()(m)},
        {2, execOneOfWithArgs<RestartChild>()(m)},
        {2, execOneOfWithArgs<DeleteChild>()(m)},
        {2, execOneOfWithArgs<Kill<SupModel>>()(m)},
        {3, execOneOfWithArgs<Crash<SupModel>>()(m)},
        {2, execOneOfWithArgs<AdvanceTime<SupModel>>()(m)},
    });
}

RC_GTEST_PROP(StatefulSupervisor, ApiCallsExitsAndTimeMatchTheModel, ()) {
    SupModel initial = *gen_sup_model();
    const auto seed = *rc::gen::arbitrary<std::uint64_t>();
    const SupSetup setup = setup_of(initial);
    const Effect started = init_effect(initial);
    RC_LOG() << describe(initial) << " simulator seed=" << seed << "\n";
    Sut sut(seed, setup);
    RC_ASSERT(sut.started().ok());
    sut.check(started, std::nullopt, initial.expected());
    // rc::state::check(initial, sut, gen_command), spelled out to keep the commands: the case is
    // tagged with its strategy and whether the supervisor gave up (§3.9) by the end.
    const auto commands = *rc::state::gen::commands(initial, gen_command);
    rc::state::runAll(commands, initial, sut);
    SupModel last = initial;
    rc::state::applyAll(commands, last);
    RC_TAG(std::string(to_string(initial.strategy)), last.alive ? "alive" : "gave up");
}

}  // namespace
}  // namespace bedlam::properties::stateful
