// The scenario runner's built-in properties fail when their rule breaks: fed a trace in which a
// monitor gives two DOWNs, or none though its target exited, or a name outlives its holder, the
// watcher reports it (DESIGN.md, "Properties that must hold").
#include <gtest/gtest.h>

#include <string>

#include "../src/watcher.hpp"
#include "bedlam/runtime.hpp"

namespace bedlam::scenario::detail {
namespace {

Process sleeper(Self self) { co_await self.receive([](ExitMsg) {}); }

struct Fixture {
    Simulator sim{SimConfig{.seed = 1}};
    Watcher watcher{sim, {}, {"db"}};
    Pid watcher_pid = Pid{101};
    Pid target = Pid{102};

    Fixture() {
        watcher.on_event(0, TraceEvent(TraceKind::spawn, watcher_pid));
        watcher.on_event(0, TraceEvent(TraceKind::spawn, target));
    }
    bool reported(const std::string& what) const {
        for (const std::string& v : watcher.violations()) {
            if (v.find(what) != std::string::npos) {
                return true;
            }
        }
        return false;
    }
};

TEST(ScenarioWatcher, AMonitorWithOneDownIsFine) {
    Fixture f;
    f.watcher.on_event(1, TraceEvent(TraceKind::monitor, f.watcher_pid, f.target, 7));
    f.watcher.on_event(2, TraceEvent(TraceKind::exit, f.target));
    f.watcher.on_event(2, TraceEvent(TraceKind::down, f.target, f.watcher_pid, 7));
    f.watcher.check_monitors();
    EXPECT_TRUE(f.watcher.violations().empty()) << f.watcher.violations()[0];
}

TEST(ScenarioWatcher, ASecondDownIsAViolation) {
    Fixture f;
    f.watcher.on_event(1, TraceEvent(TraceKind::monitor, f.watcher_pid, f.target, 7));
    f.watcher.on_event(2, TraceEvent(TraceKind::down, f.target, f.watcher_pid, 7));
    f.watcher.on_event(3, TraceEvent(TraceKind::down, f.target, f.watcher_pid, 7));
    EXPECT_TRUE(f.reported("every monitor gives exactly one DOWN: the monitor of <0.101.0> on "
                           "<0.102.0> gave a second"));
}

TEST(ScenarioWatcher, NoDownThoughTheTargetExitedIsAViolation) {
    Fixture f;
    f.watcher.on_event(1, TraceEvent(TraceKind::monitor, f.watcher_pid, f.target, 7));
    f.watcher.on_event(2, TraceEvent(TraceKind::exit, f.target));
    f.watcher.check_monitors();
    EXPECT_TRUE(f.reported("gave none, though its target exited"));
}

TEST(ScenarioWatcher, NoDownIsRightAfterADemonitorOrTheWatchersOwnExit) {
    Fixture f;
    f.watcher.on_event(1, TraceEvent(TraceKind::monitor, f.watcher_pid, f.target, 7));
    f.watcher.on_event(2, TraceEvent(TraceKind::demonitor, f.watcher_pid, f.target, 7));
    f.watcher.on_event(3, TraceEvent(TraceKind::monitor, f.watcher_pid, f.target, 8));
    f.watcher.on_event(4, TraceEvent(TraceKind::exit, f.watcher_pid));
    f.watcher.on_event(5, TraceEvent(TraceKind::exit, f.target));
    f.watcher.check_monitors();
    EXPECT_TRUE(f.watcher.violations().empty()) << f.watcher.violations()[0];
}

TEST(ScenarioWatcher, ADownForAnUnknownMonitorIsAViolation) {
    Fixture f;
    f.watcher.on_event(1, TraceEvent(TraceKind::down, f.target, f.watcher_pid, 9));
    EXPECT_TRUE(f.reported("a DOWN for a monitor never set"));
}

TEST(ScenarioWatcher, ANameLeftOnAnExitedProcessIsAViolation) {
    Fixture f;
    const Pid db = f.sim.spawn(sleeper);
    ASSERT_TRUE(f.sim.register_name("db", db));
    f.watcher.on_event(1, TraceEvent(TraceKind::spawn, db));
    f.watcher.on_event(2, TraceEvent(TraceKind::exit, f.target));  // Someone else: fine.
    EXPECT_TRUE(f.watcher.violations().empty());
    // The trace says db exited, yet the registry still names it: the runtime would have
    // released the name first.
    f.watcher.on_event(3, TraceEvent(TraceKind::exit, db));
    EXPECT_TRUE(f.reported("registry names never point at dead processes: `db` still names"));
    f.sim.exit(db, ExitReason::kill());
    f.sim.run_until_idle();
}

}  // namespace
}  // namespace bedlam::scenario::detail
