// Stateful (model-based) test of the DynamicSupervisor (otp-semantics §4): RapidCheck generates
// one (max_restarts 0-4 in max_seconds 1-5, max_children infinity or 0-4) and a sequence of
// commands (start_child, terminate_child by a child's pid, a dead child's pid or a live
// non-child's pid, killing a child from outside, making a child exit by itself with normal,
// shutdown, {shutdown,chaos} or an error, and letting virtual time pass). A pure model predicts
// each command's reply, the children's log, and which_children and count_children afterwards;
// the simulator runs the real DynamicSupervisor and every command is checked against the model.
// Child ids are drawn from two values and collide freely: they are not significant (§4.1).
//
// which_children is compared as a multiset: Elixir keeps the children in a map keyed by pid, so
// their order is not part of the contract (§4 says nothing of it). A supervisor that gives up
// stops its children concurrently (§4.5), so those stops are compared in any order too.
//
// Cases: BEDLAM_PROPERTY_CASES (default 100; see main.cpp), each up to ~100 commands.
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

/// The pure model of a DynamicSupervisor (no runtime calls).
struct DynModel : ModelCore {
    int intensity = 3;  // max_restarts
    int period_s = 5;   // max_seconds
    std::optional<int> max_children{};
    bool full_seen = false;  // For the statistics: some start_child got {error,max_children}.

    /// Ids collide freely: they are not significant (§4.1).
    static const std::vector<std::string>& id_pool() {
        static const std::vector<std::string> ids{"a", "b"};
        return ids;
    }
    /// Instances that ran once and are gone: their pids are dead.
    [[nodiscard]] std::vector<int> dead_instances() const {
        std::vector<int> out;
        for (int k = 0; k < next_instance; ++k) {
            if (!running(k)) {
                out.push_back(k);
            }
        }
        return out;
    }

    /// §4.2, §4.3: {error,max_children} when map_size(children) >= max_children (restarting
    /// children count), else the child starts: {ok,Pid}.
    Effect start_child(const ChildDesc& d) {
        Effect e;
        if (max_children && static_cast<int>(children.size()) >= *max_children) {
            full_seen = true;
            e.reply = ModelReply{SupError::max_children, -1};
            return e;
        }
        children.push_back(ModelChild{d, -1});
        start(children.back(), e);
        e.reply = ModelReply{SupError::none, children.back().instance};
        return e;
    }

    /// §4.5: terminate_child(sup, pid) stops a child by its shutdown (§3.7) and deletes it: ok;
    /// any other pid, dead or alive, is {error,not_found}.
    Effect terminate_child(int instance) {
        Effect e;
        const std::size_t i = instance >= 0 ? index_of(instance) : children.size();
        if (i == children.size()) {
            e.reply = ModelReply{SupError::not_found, -1};
            return e;
        }
        shut_down(children[i], e.log);
        erase(i);
        e.reply = ModelReply{SupError::none, -1};
        return e;
    }

    /// The running child `instance` died with `reason`.
    Effect exit(int instance, const ExitReason& reason) {
        Effect e;
        const auto [i, again] = died(instance, reason, e);
        // §3.4 via Elixir's maybe_restart_child: a child that is not restarted is deleted,
        // whatever its restart type.
        if (!again) {
            erase(i);
            return e;
        }
        // §4.4: the window as in OTP; exceeded, the child is deleted, the others stop
        // concurrently (§4.5) and the supervisor exits shutdown.
        if (!add_restart(intensity, period_s)) {
            erase(i);
            Ticks longest = 0;
            for (ModelChild& c : children) {
                const Ticks before = now;
                shut_down(c, e.unordered);
                longest = std::max(longest, now - before);
                now = before;
            }
            now += longest;
            alive = false;
            return e;
        }
        start(children[i], e);  // one_for_one, in its place.
        return e;
    }

    [[nodiscard]] Expected expected() const {
        Expected want;
        want.alive = alive;
        want.now = now;
        want.ordered = false;
        for (const ModelChild& c : children) {
            // §4.1: ids are not significant; which_children shows `undefined`.
            want.children.push_back(ExpectedChild{std::string(), c.instance, c.desc.type});
            want.running += c.running() ? 1 : 0;
        }
        want.counts = counts_of(children);
        return want;
    }
};

std::string describe(const DynModel& m) {
    return "DynamicSupervisor max_restarts=" + std::to_string(m.intensity) +
           " max_seconds=" + std::to_string(m.period_s) + " max_children=" +
           (m.max_children ? std::to_string(*m.max_children) : std::string("infinity"));
}

void showValue(const DynModel& m, std::ostream& os) { os << describe(m); }

rc::Gen<DynModel> gen_dyn_model() {
    return rc::gen::apply(
        [](int intensity, int period_s, std::optional<int> max_children) {
            DynModel m;
            m.intensity = intensity;
            m.period_s = period_s;
            m.max_children = max_children;
            return m;
        },
        rc::gen::inRange(0, 5), rc::gen::inRange(1, 6),
        rc::gen::oneOf(rc::gen::just(std::optional<int>()),
                       rc::gen::map(rc::gen::inRange(0, 5),
                                    [](int n) { return std::optional<int>(n); })));
}

// -- Commands -------------------------------------------------------------------------------------

using DynCommand = rc::state::Command<DynModel, Sut>;

/// terminate_child(sup, Pid) with a child's pid, a dead child's pid, or the driver's (alive, not
/// a child).
struct TerminateChild final : DynCommand {
    enum class Target : std::uint8_t { child, dead, stranger };
    Target target = Target::child;
    int instance = -1;
    explicit TerminateChild(const DynModel& m) {
        target = *rc::gen::element(Target::child, Target::dead, Target::stranger);
        if (target == Target::child) {
            const std::vector<int> running = m.running_instances();
            RC_PRE(!running.empty());
            instance = *rc::gen::elementOf(running);
        } else if (target == Target::dead) {
            const std::vector<int> dead = m.dead_instances();
            RC_PRE(!dead.empty());
            instance = *rc::gen::elementOf(dead);
        }
    }
    void checkPreconditions(const DynModel& m) const override {
        RC_PRE(m.alive);
        if (target == Target::child) {
            RC_PRE(m.running(instance));
        } else if (target == Target::dead) {
            RC_PRE(instance < m.next_instance && !m.running(instance));
        }
    }
    void apply(DynModel& m) const override { m.terminate_child(modelled()); }
    void run(const DynModel& m, Sut& sut) const override {
        run_checked(m, sut, [&](DynModel& s) { return s.terminate_child(modelled()); },
                    [&](Sut& s) {
                        const Pid pid =
                            target == Target::stranger ? s.driver_pid() : bound_pid(s, instance);
                        return s.terminate_pid(pid);
                    });
    }
    void show(std::ostream& os) const override {
        switch (target) {
            case Target::child:
                os << "terminate_child #" << instance;
                break;
            case Target::dead:
                os << "terminate_child dead #" << instance;
                break;
            case Target::stranger:
                os << "terminate_child driver pid";
                break;
        }
    }

private:
    /// The instance the model looks up: none for a stranger.
    [[nodiscard]] int modelled() const { return target == Target::stranger ? -1 : instance; }
};

rc::Gen<std::shared_ptr<const DynCommand>> gen_command(const DynModel& m) {
    using rc::state::gen::execOneOfWithArgs;
    if (!m.alive) {
        // §4.4: it gave up; nothing is left to call.
        return execOneOfWithArgs<AdvanceTime<DynModel>>()(m);
    }
    return rc::gen::weightedOneOf<std::shared_ptr<const DynCommand>>({
        {4, execOneOfWithArgs<StartChild<DynModel>>()(m)},
        {3, execOneOfWithArgs<TerminateChild>()(m)},
        {2, execOneOfWithArgs<Kill<DynModel>>()(m)},
        {3, execOneOfWithArgs<Crash<DynModel>>()(m)},
        {2, execOneOfWithArgs<AdvanceTime<DynModel>>()(m)},
    });
}

RC_GTEST_PROP(StatefulDynamicSupervisor, ApiCallsExitsAndTimeMatchTheModel, ()) {
    const DynModel initial = *gen_dyn_model();
    const auto seed = *rc::gen::arbitrary<std::uint64_t>();
    RC_LOG() << describe(initial) << " simulator seed=" << seed << "\n";
    SupSetup setup;
    setup.dynamic = true;
    setup.intensity = initial.intensity;
    setup.period_s = initial.period_s;
    setup.max_children = initial.max_children;
    Sut sut(seed, setup);
    RC_ASSERT(sut.started().ok());
    RC_ASSERT(sut.check(Effect{}, std::nullopt, initial.expected()) == std::string());
    // rc::state::check(initial, sut, gen_command), spelled out to keep the commands: the case is
    // tagged with whether max_children was reached and whether the supervisor gave up (§4.4).
    const auto commands = *rc::state::gen::commands(initial, gen_command);
    rc::state::runAll(commands, initial, sut);
    DynModel last = initial;
    rc::state::applyAll(commands, last);
    RC_TAG(last.full_seen ? "max_children reached" : "never full",
           last.alive ? "alive" : "gave up");
}

}  // namespace
}  // namespace bedlam::properties::stateful
