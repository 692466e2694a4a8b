// Shared by the stateful (model-based) supervisor suites, stateful_supervisor_test.cpp and
// stateful_dynamic_supervisor_test.cpp: RapidCheck's generators and the commands both suites use.
// The models' shared part (ModelCore, SupModel), the children and the system under test (Sut: a
// Simulator running a driver process that starts the supervisor, makes every API call on the
// suites' behalf and answers which_children/count_children queries) are in the properties
// library, bedlam/properties/supervisor_api.hpp, which the schedule fuzzer drives too.
#pragma once

#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/properties/supervisor_api.hpp"

namespace bedlam::properties::stateful {

// -- Generators -----------------------------------------------------------------------------------

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

// -- Commands both suites use ------------------------------------------------------------------
//
// A Model provides: `alive`, `now`, `static id_pool()`, `start_child(desc)`, `exit(instance,
// reason)`, `running_instances()`, `running(instance)`, `id_of(instance)` and `expected()`. Every
// model step returns the Effect the system must show.

/// The pid the system gave `instance` (the harness binds every running instance at each check).
inline Pid bound_pid(const Sut& sut, int instance) {
    const std::optional<Pid> pid = sut.pid_of(instance);
    RC_ASSERT(pid.has_value());
    return *pid;
}

/// Runs `step` on a copy of the model and `act` on the system, then checks the system.
template <typename Model, typename Step, typename Act>
void run_checked(const Model& m0, Sut& sut, Step step, Act act) {
    Model m = m0;
    const Effect e = step(m);
    const std::optional<SupReply> got = act(sut);
    const std::string difference = sut.check(e, got, m.expected());
    RC_ASSERT(difference == std::string());
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
