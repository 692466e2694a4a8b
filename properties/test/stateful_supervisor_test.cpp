// Stateful (model-based) test of the supervisor (otp-semantics §3): RapidCheck generates a
// supervisor (strategy one_for_one, one_for_all or rest_for_one; intensity 0-4 in a period of
// 1-5 s; up to three children at init) and a sequence of commands (start_child, terminate_child by
// id and by pid, restart_child, delete_child, killing a child from outside, making a child exit
// by itself with normal, shutdown, {shutdown,chaos} or an error, calling a child that ran once
// (§5.1: a live one replies, a dead one's pid exits the caller with noproc, and a call can make
// the child exit instead of replying), and letting virtual time pass). The pure model
// (SupModel, bedlam/properties/supervisor_api.hpp) predicts each command's reply, the children's
// log of starts and stops, and which_children and count_children afterwards; the simulator runs
// the real supervisor and every command is checked against the model. Once the supervisor has
// given up (§3.9) only the passing of time and calls to the dead children remain.
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
/// RapidCheck shows a model with this (found by argument-dependent lookup, so outside the
/// anonymous namespace).
void showValue(const SupModel& m, std::ostream& os) { os << describe(m); }

namespace {

/// A supervisor with up to three children at init, distinct ids. The children are not started
/// yet (instance -1): SupModel::init starts them.
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
    void show(std::ostream& os) const override { os << op_name(op) << " " << id; }

private:
    Effect step(SupModel& m) const { return by_id(m, op, id); }
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
                    [&](Sut& s) { return s.terminate_pid(bound_pid(s, instance)); });
    }
    void show(std::ostream& os) const override { os << "terminate_child pid #" << instance; }
};

/// A gen_server call to a process that ran as one of the children (§5.1): a live child replies
/// with its id; a dead one's pid exits the caller with noproc. With `die`, the live child exits
/// with that reason instead of replying, so the caller exits with it and the supervisor handles
/// the exit.
struct CallChild final : SupCommand {
    int instance = -1;
    std::optional<ExitReason> die;
    explicit CallChild(const SupModel& m) {
        RC_PRE(m.next_instance > 0);
        instance = *rc::gen::inRange(0, m.next_instance);
        if (*rc::gen::inRange(0, 3) == 0) {
            die = *gen_crash_reason();
        }
    }
    void checkPreconditions(const SupModel& m) const override {
        RC_PRE(instance < m.next_instance);
    }
    void apply(SupModel& m) const override { m.call(instance, die); }
    void run(const SupModel& m, Sut& sut) const override {
        run_checked(m, sut, [&](SupModel& s) { return s.call(instance, die); },
                    [&](Sut& s) {
                        s.call_child(instance, die);
                        return std::optional<SupReply>();
                    });
    }
    void show(std::ostream& os) const override {
        os << "call #" << instance;
        if (die) {
            os << " (die " << *die << ")";
        }
    }
};

rc::Gen<std::shared_ptr<const SupCommand>> gen_command(const SupModel& m) {
    using rc::state::gen::execOneOfWithArgs;
    if (!m.alive) {
        // §3.9: nothing left to call but the dead children.
        return rc::gen::weightedOneOf<std::shared_ptr<const SupCommand>>({
            {2, execOneOfWithArgs<AdvanceTime<SupModel>>()(m)},
            {1, execOneOfWithArgs<CallChild>()(m)},
        });
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
        {2, execOneOfWithArgs<CallChild>()(m)},
    });
}

RC_GTEST_PROP(StatefulSupervisor, ApiCallsExitsAndTimeMatchTheModel, ()) {
    SupModel initial = *gen_sup_model();
    const auto seed = *rc::gen::arbitrary<std::uint64_t>();
    const SupSetup setup = setup_of(initial);
    const Effect started = initial.init();
    RC_LOG() << describe(initial) << " simulator seed=" << seed << "\n";
    Sut sut(seed, setup);
    RC_ASSERT(sut.started().ok());
    RC_ASSERT(sut.check(started, std::nullopt, initial.expected()) == std::string());
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
