// Task, Task.Supervisor and async_stream (otp-semantics §8). Each test opens with the rule it
// checks. Tests without timing run on every scheduler; timed ones run on the simulator's virtual
// clock (TaskTimed), where a time-out fires at an exact instant.
#include "bedlam/runtime/task.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/runtime.hpp"
#include "test_support.hpp"

namespace bedlam {
namespace {

using test::Events;
using test::Probe;

// Messages and inputs have constructors: this file's coroutines build none of them with braces
// (README, "g++ 12 and aggregates").
struct Ready {
    explicit Ready(Pid p) : pid(p) {}
    Pid pid;
};
struct Done {};

// -- Task functions ---------------------------------------------------------------------------------

/// A coroutine task: sleeps `ms`, then returns twice the number.
Async<int> double_after(Self self, int ms) {
    co_await self.sleep(std::chrono::milliseconds(ms));
    co_return 2 * ms;
}

/// A plain function task.
int triple(Self /*self*/, int n) { return 3 * n; }

/// A value type from an anonymous namespace, as user code often has (g++ must not flag the
/// coroutine frames that carry it, -Wsubobject-linkage).
struct Pair {
    Pair(int l, int h) : low(l), high(h) {}
    int low;
    int high;
};

Async<Pair> split(Self self, Pair pair) {
    co_await self.yield();
    co_return Pair(pair.high, pair.low);
}

/// Crashes with error(why).
int crash(Self /*self*/, std::string why) { throw std::runtime_error(why); }

/// Like double_after, but notes when it finishes (a task that dies early never does).
Async<int> noted_sleep(Self self, Probe* probe, int ms) {
    co_await self.sleep(std::chrono::milliseconds(ms));
    probe->note("task done " + std::to_string(ms));
    co_return ms;
}

/// Traps exits, tells `notify` it does, then sleeps `ms`: exit signals other than kill become
/// messages that it never reads.
Async<int> stubborn(Self self, Pid notify, int ms) {
    self.trap_exit(true);
    self.send(notify, Ready(self.pid()));
    co_await self.sleep(std::chrono::milliseconds(ms));
    co_return ms;
}

/// Waits for Ready from `pid`.
Async<> wait_ready(Self self, Pid pid) {
    co_await self.receive(when([pid](const Ready& r) { return r.pid == pid; }, [](Ready) {}));
}

/// Spawns `body(self, probe, args...)` monitored and returns its exit reason.
template <typename F, typename... Args>
Async<ExitReason> exit_of(Self self, F body, Probe* probe, Args... args) {
    const auto [pid, ref] = self.spawn_monitor(body, probe, std::move(args)...);
    const MonitorRef watch = ref;
    DownMsg down = co_await self.receive(
        when([watch](const DownMsg& d) { return d.ref == watch; }, [](DownMsg d) { return d; }));
    co_return std::move(down.reason);
}

std::string show(const std::optional<TaskResult<int>>& r) {
    if (!r) {
        return "nil";
    }
    if (r->ok()) {
        return "{ok," + std::to_string(r->value()) + "}";
    }
    return "{exit," + r->reason().to_string() + "}";
}

std::string input_text(int n);
struct Nap;
std::string input_text(const Nap& nap);

template <typename In>
std::string show(const std::vector<StreamResult<In, int>>& results) {
    std::string out = "[";
    for (const StreamResult<In, int>& r : results) {
        if (out.size() > 1) {
            out += ",";
        }
        if (r.ok()) {
            out += "{ok," + std::to_string(r.value()) + "}";
        } else if (r.input() != nullptr) {
            out += "{exit,{" + input_text(*r.input()) + "," + r.reason().to_string() + "}}";
        } else {
            out += "{exit," + r.reason().to_string() + "}";
        }
    }
    return out + "]";
}

std::string yes_no(bool b, const char* yes, const char* no) { return b ? yes : no; }

class TaskTest : public test::RuntimeTest {};
INSTANTIATE_TEST_SUITE_P(Schedulers, TaskTest, ::testing::ValuesIn(test::kAllSchedulers),
                         test::sched_name);

class TaskTimed : public TaskTest {};
INSTANTIATE_TEST_SUITE_P(Simulator, TaskTimed, ::testing::ValuesIn(test::kSimulators),
                         test::sched_name);

// == Task.async / await (rules 1, 2) ===============================================================

Process async_await_root(Self self, Probe* probe) {
    Task<int> a = task::async(self, double_after, 5);
    Task<int> b = task::async(self, triple, 7);
    Task<Pair> c = task::async(self, split, Pair(1, 2));
    const int x = co_await task::await(self, a);
    const int y = co_await task::await(self, b);
    const Pair swapped = co_await task::await(self, c);
    probe->note("values " + std::to_string(x) + " " + std::to_string(y) + " " +
                std::to_string(swapped.low) + std::to_string(swapped.high));
    // await removed its monitor: a second monitor sees the task end, and no DOWN for the task's
    // own monitor comes (it would have been sent first).
    const MonitorRef watch = self.monitor(a.pid());
    co_await self.receive(when([watch](const DownMsg& d) { return d.ref == watch; }, [](DownMsg) {}));
    const MonitorRef ref = a.ref();
    const bool stale = co_await self
                           .receive(when([ref](const DownMsg& d) { return d.ref == ref; },
                                         [](DownMsg) { return true; }))
                           .after(Duration::zero(), [] { return false; });
    probe->note(yes_no(stale, "stale DOWN", "no DOWN"));
    DemonitorOptions info;
    info.info = true;
    probe->note(yes_no(self.demonitor(a.ref(), info), "monitor active", "monitor gone"));
    probe->note(yes_no(a.owner() == self.pid(), "owner", "not owner"));
}

TEST_P(TaskTest, async_await_returns_value_and_demonitors) {
    // §8.1-§8.2: async runs fn in a new process; await returns its reply and demonitors.
    run(async_await_root);
    EXPECT_EQ(events(), (Events{"values 10 21 21", "no DOWN", "monitor gone", "owner"}));
}

Process await_timeout_caller(Self self, Probe* probe, Pid root) {
    Task<int> slow = task::async(self, noted_sleep, probe, 10'000);
    self.send(root, Ready(slow.pid()));
    co_await task::await(self, slow, std::chrono::milliseconds(100));
    probe->note("await returned");
}

Process await_timeout_root(Self self, Probe* probe) {
    const auto [caller, caller_ref] = self.spawn_monitor(await_timeout_caller, probe, self.pid());
    const Ready task = co_await self.receive<Ready>();
    const MonitorRef task_ref = self.monitor(task.pid);  // It sleeps for 10 s: alive.
    probe->set_pid(task.pid);
    const MonitorRef watch = caller_ref;
    const DownMsg caller_down = co_await self.receive(
        when([watch](const DownMsg& d) { return d.ref == watch; }, [](DownMsg d) { return d; }));
    probe->note("caller exit " + caller_down.reason.to_string());
    probe->note("at " + std::to_string(self.now() / 1'000'000) + " ms");
    // The linked task dies with the caller's reason.
    const DownMsg task_down = co_await self.receive(
        when([task_ref](const DownMsg& d) { return d.ref == task_ref; }, [](DownMsg d) { return d; }));
    probe->note("task " + yes_no(task_down.reason == caller_down.reason, "died with it",
                                 "died otherwise"));
}

TEST_P(TaskTimed, await_timeout_exits_caller_and_kills_task) {
    // §8.2: on time-out the caller exits {timeout,{Task,await,[Task,T]}} and the linked task dies.
    run(await_timeout_root);
    const std::string expected =
        "{timeout,{Task,await,[" + probe_.pid().to_string() + ",100]}}";
    EXPECT_EQ(events(), (Events{"caller exit " + expected, "at 100 ms", "task died with it"}));
}

Process crash_caller(Self self, Probe* probe, bool trap) {
    self.trap_exit(trap);
    Task<int> t = task::async(self, crash, std::string("boom"));
    probe->set_pid(t.pid());
    const int value = co_await task::await(self, t);
    probe->note("value " + std::to_string(value));
}

Process crash_root(Self self, Probe* probe, bool trap) {
    const ExitReason reason = co_await exit_of(self, crash_caller, probe, trap);
    probe->note("caller exit " + reason.to_string());
}

TEST_P(TaskTest, task_crash_kills_non_trapping_caller) {
    // §8.1: the caller is linked to the task, so the task's crash kills it with the same reason.
    run(crash_root, false);
    EXPECT_EQ(events(), (Events{"caller exit boom"}));
}

TEST_P(TaskTest, task_crash_exits_trapping_caller_through_down) {
    // §8.2: a trapping caller survives the link; await sees the DOWN and exits
    // {Reason,{Task,await,[Task,T]}}.
    run(crash_root, true);
    EXPECT_EQ(events(), (Events{"caller exit {boom,{Task,await,[" + probe_.pid().to_string() +
                                ",5000]}}"}));
}

Process intruder(Self self, Probe* probe, Pid owner) {
    Task<int> t = co_await self.receive<Task<int>>();
    try {
        co_await task::await(self, t);
        probe->note("intruder awaited");
    } catch (const std::invalid_argument&) {
        probe->note("intruder rejected");
    }
    try {
        co_await task::yield(self, t, Duration::zero());
        probe->note("intruder yielded");
    } catch (const std::invalid_argument&) {
        probe->note("intruder yield rejected");
    }
    self.send(owner, Done{});
}

Process await_once_root(Self self, Probe* probe) {
    Task<int> t = task::async(self, triple, 2);
    const Pid other = self.spawn(intruder, probe, self.pid());
    Task<int> copy = t;
    self.send(other, std::move(copy));
    co_await self.receive<Done>();
    const int value = co_await task::await(self, t);  // The intruder took nothing.
    probe->note("value " + std::to_string(value));
    try {
        co_await task::await(self, t);
        probe->note("second await returned");
    } catch (const std::invalid_argument&) {
        probe->note("second await rejected");
    }
    try {
        co_await task::yield(self, t, Duration::zero());
        probe->note("yield after await returned");
    } catch (const std::invalid_argument&) {
        probe->note("yield after await rejected");
    }
}

TEST_P(TaskTest, await_only_by_owner_and_only_once) {
    // §8.2: only the owner may await (else ArgumentError: std::invalid_argument), and only once.
    run(await_once_root);
    EXPECT_EQ(events(), (Events{"intruder rejected", "intruder yield rejected", "value 6",
                                "second await rejected", "yield after await rejected"}));
}

Process yield_root(Self self, Probe* probe) {
    self.trap_exit(true);  // So that the crashing task's link does not kill us.
    Task<int> slow = task::async(self, double_after, 50);
    const std::optional<TaskResult<int>> early =
        co_await task::yield(self, slow, std::chrono::milliseconds(10));
    probe->note("early " + show(early));
    const std::optional<TaskResult<int>> late =
        co_await task::yield(self, slow, std::chrono::milliseconds(100));
    probe->note("late " + show(late));
    Task<int> bad = task::async(self, crash, std::string("boom"));
    const std::optional<TaskResult<int>> crashed = co_await task::yield(self, bad);
    probe->note("crashed " + show(crashed));
}

TEST_P(TaskTimed, yield_returns_nil_then_reply_and_exit) {
    // §8.2 (Task.yield): nil on time-out with the task still running; {ok,V}; {exit,R} on a DOWN,
    // without exiting the caller.
    run(yield_root);
    EXPECT_EQ(events(), (Events{"early nil", "late {ok,100}", "crashed {exit,boom}"}));
}

Process shutdown_root(Self self, Probe* probe) {
    Task<int> idle = task::async(self, noted_sleep, probe, 10'000);
    const std::optional<TaskResult<int>> a = co_await task::shutdown(self, idle);
    probe->note("idle " + show(a));

    Task<int> quick = task::async(self, triple, 3);
    co_await self.sleep(std::chrono::milliseconds(10));  // It has replied and exited.
    const std::optional<TaskResult<int>> b = co_await task::shutdown(self, quick);
    probe->note("quick " + show(b));

    Task<int> slow = task::async(self, stubborn, self.pid(), 10'000);
    co_await wait_ready(self, slow.pid());
    const Ticks start = self.now();
    const std::optional<TaskResult<int>> c =
        co_await task::shutdown(self, slow, Shutdown::after(std::chrono::milliseconds(100)));
    probe->note("stubborn " + show(c) + " after " +
                std::to_string((self.now() - start) / 1'000'000) + " ms");

    Task<int> brutal = task::async(self, stubborn, self.pid(), 10'000);
    co_await wait_ready(self, brutal.pid());
    const std::optional<TaskResult<int>> d =
        co_await task::shutdown(self, brutal, Shutdown::brutal_kill());
    probe->note("brutal " + show(d));
}

TEST_P(TaskTimed, shutdown_unlinks_and_stops_the_task) {
    // §8.2 (Task.shutdown): unlink, exit(shutdown), kill after the time-out; nil when stopped,
    // {ok,V} when the reply came first, {exit,killed} when it had to be killed.
    run(shutdown_root);
    EXPECT_EQ(events(), (Events{"idle nil", "quick {ok,9}", "stubborn {exit,killed} after 100 ms",
                                "brutal nil"}));
}

// == Task.Supervisor (rule 4) ======================================================================

Process nolink_caller(Self self, Probe* probe) {
    // Not trapping exits: a linked crash would kill this process.
    const StartResult sup = co_await task_supervisor::start_link(self);
    Task<int> bad = co_await task_supervisor::async_nolink(self, sup.pid, crash, std::string("boom"));
    const std::optional<TaskResult<int>> r = co_await task::yield(self, bad);
    probe->note("yield " + show(r));
    Task<int> good = co_await task_supervisor::async_nolink(self, sup.pid, triple, 4);
    const int four = co_await task::await(self, good);
    Task<int> linked = co_await task_supervisor::async(self, sup.pid, triple, 5);
    const int five = co_await task::await(self, linked);
    probe->note("values " + std::to_string(four) + " " + std::to_string(five));
    // A task replies before it exits, so on several cores the supervisor may not have seen the
    // two exit when children is asked. Each one's DOWN comes after its EXIT to the supervisor
    // (links go before monitors), and the supervisor takes signals in order: once both DOWNs are
    // in, the supervisor has removed both.
    std::vector<Pid> finished;  // Not a braced list: see README, "g++ 12 and aggregates".
    finished.push_back(good.pid());
    finished.push_back(linked.pid());
    for (const Pid done : finished) {
        const MonitorRef gone = self.monitor(done);
        co_await self.receive(
            when([gone](const DownMsg& d) { return d.ref == gone; }, [](DownMsg /*d*/) {}));
    }
    TaskOptions transient;
    transient.restart(Restart::transient);
    try {
        co_await task_supervisor::async_nolink(self, sup.pid, transient, triple, 1);
        probe->note("transient accepted");
    } catch (const std::invalid_argument&) {
        probe->note("transient rejected");
    }
    const std::vector<Pid> left = co_await task_supervisor::children(self, sup.pid);
    probe->note("children " + std::to_string(left.size()));
    Task<int> bad2 = co_await task_supervisor::async_nolink(self, sup.pid, crash, std::string("x"));
    probe->set_pid(bad2.pid());
    co_await task::await(self, bad2);
    probe->note("await returned");
}

Process nolink_root(Self self, Probe* probe) {
    const ExitReason reason = co_await exit_of(self, nolink_caller, probe);
    probe->note("caller exit " + reason.to_string());
}

TEST_P(TaskTest, async_nolink_crash_is_a_down_not_a_kill) {
    // §8.4: async_nolink only monitors: a crash is seen by yield as {exit,R} and the caller lives;
    // await on a crashed task exits it; async_nolink requires restart temporary.
    run(nolink_root);
    EXPECT_EQ(events(), (Events{"yield {exit,boom}", "values 12 15", "transient rejected",
                                "children 0",
                                "caller exit {x,{Task,await,[" + probe_.pid().to_string() +
                                    ",5000]}}"}));
}

Process supervised_crash_caller(Self self, Probe* /*probe*/) {
    const StartResult sup = co_await task_supervisor::start_link(self);
    Task<int> t = co_await task_supervisor::async(self, sup.pid, crash, std::string("boom"));
    co_await task::await(self, t);
}

Process supervised_crash_root(Self self, Probe* probe) {
    const ExitReason reason = co_await exit_of(self, supervised_crash_caller, probe);
    probe->note("caller exit " + reason.to_string());
}

TEST_P(TaskTest, supervised_async_links_the_caller) {
    // §8.4, §8.1: Task.Supervisor.async links the task to the caller as Task.async does.
    run(supervised_crash_root);
    EXPECT_EQ(events(), (Events{"caller exit boom"}));
}

/// A start_child task: notes its run, then exits with `reason`.
void exit_with(Self self, Probe* probe, std::string tag, ExitReason reason) {
    probe->note("run " + tag);
    self.exit(reason);
}

/// Crashes on its first run only.
void flaky(Self /*self*/, Probe* probe, std::atomic<int>* runs) {
    const int run = runs->fetch_add(1);
    probe->note("flaky run " + std::to_string(run));
    if (run == 0) {
        throw std::runtime_error("first run");
    }
}

Process supervisor_defaults_root(Self self, Probe* probe, std::atomic<int>* runs) {
    self.trap_exit(true);
    const Pid sup = (co_await task_supervisor::start_link(self)).pid;
    // restart: temporary by default, so a crash is final.
    co_await task_supervisor::start_child(self, sup, exit_with, probe, std::string("temporary"),
                                          ExitReason::error("boom"));
    // transient: `normal`, `shutdown` and `{shutdown,_}` are normal exits; a crash restarts.
    TaskOptions transient;
    transient.restart(Restart::transient);
    co_await task_supervisor::start_child(self, sup, transient, exit_with, probe,
                                          std::string("normal"), ExitReason::normal());
    co_await task_supervisor::start_child(self, sup, transient, exit_with, probe,
                                          std::string("shutdown"), ExitReason::shutdown());
    co_await task_supervisor::start_child(self, sup, transient, exit_with, probe,
                                          std::string("{shutdown,x}"), ExitReason::shutdown("x"));
    co_await task_supervisor::start_child(self, sup, transient, flaky, probe, runs);
    co_await task_supervisor::start_child(self, sup, split, Pair(3, 4));  // Value dropped.
    co_await self.sleep(std::chrono::milliseconds(100));
    const std::vector<Pid> left = co_await task_supervisor::children(self, sup);
    probe->note("children " + std::to_string(left.size()));

    // shutdown: 5000 ms by default, then kill.
    const SupReply started = co_await task_supervisor::start_child(self, sup, stubborn, self.pid(),
                                                                   60'000);
    co_await wait_ready(self, started.pid);
    const MonitorRef watch = self.monitor(started.pid);
    const Ticks start = self.now();
    const SupReply stopped = co_await task_supervisor::terminate_child(self, sup, started.pid);
    const DownMsg down = co_await self.receive(
        when([watch](const DownMsg& d) { return d.ref == watch; }, [](DownMsg d) { return d; }));
    probe->note("terminate " + yes_no(stopped.ok(), "ok", "failed") + " after " +
                std::to_string((self.now() - start) / 1'000'000) + " ms, " +
                down.reason.to_string());
}

TEST_P(TaskTimed, task_supervisor_defaults) {
    // §8.4: Task.Supervisor children default to restart temporary and shutdown 5000; for
    // transient, normal, shutdown and {shutdown,_} are not restarted.
    std::atomic<int> runs{0};
    run(supervisor_defaults_root, &runs);
    Events got = events();
    std::sort(got.begin(), got.end() - 2);  // Tasks run concurrently; the last two are ordered.
    EXPECT_EQ(got, (Events{"flaky run 0", "flaky run 1", "run normal", "run shutdown",
                           "run temporary", "run {shutdown,x}", "children 0",
                           "terminate ok after 5000 ms, killed"}));
    EXPECT_EQ(runs.load(), 2);
}

// == async_stream (rule 3) =========================================================================

Process stream_root(Self self, Probe* probe, std::vector<int> sleeps, bool ordered) {
    StreamOptions options;
    options.ordered(ordered).max_concurrency(static_cast<int>(sleeps.size()));
    const std::vector<StreamResult<int, int>> results =
        co_await task::async_stream(self, std::move(sleeps), double_after, options);
    probe->note(show(results));
    // The intermediate process is gone and left nothing behind.
    const bool leftover = co_await self.receive([](Message) { return true; })
                              .after(Duration::zero(), [] { return false; });
    probe->note(yes_no(leftover, "leftover message", "mailbox empty"));
}

TEST_P(TaskTest, async_stream_ordered_by_input) {
    // §8.3: ordered (the default) returns the results in input order.
    run(stream_root, std::vector<int>{30, 10, 20}, true);
    EXPECT_EQ(events(), (Events{"[{ok,60},{ok,20},{ok,40}]", "mailbox empty"}));
}

TEST_P(TaskTimed, async_stream_unordered_by_completion) {
    // §8.3: ordered: false returns results as tasks end; on the virtual clock that order is fixed.
    run(stream_root, std::vector<int>{30, 10, 20}, false);
    EXPECT_EQ(events(), (Events{"[{ok,20},{ok,40},{ok,60}]", "mailbox empty"}));
}

TEST_P(TaskTest, async_stream_unordered_has_every_result) {
    // §8.3: ordered: false returns every result, in some order, on any scheduler.
    run(stream_root, std::vector<int>{3, 1, 2}, false);
    const Events got = events();
    ASSERT_EQ(got.size(), 2U);
    for (const char* entry : {"{ok,6}", "{ok,2}", "{ok,4}"}) {
        EXPECT_NE(got[0].find(entry), std::string::npos) << got[0];
    }
    EXPECT_EQ(got[1], "mailbox empty");
}

/// Counts the tasks running at once.
class Gauge {
public:
    void enter() {
        const std::lock_guard lock(mutex_);
        peak_ = std::max(peak_, ++now_);
    }
    void leave() {
        const std::lock_guard lock(mutex_);
        --now_;
    }
    [[nodiscard]] int peak() const {
        const std::lock_guard lock(mutex_);
        return peak_;
    }

private:
    mutable std::mutex mutex_;
    int now_ = 0;
    int peak_ = 0;
};

struct Job {
    Job(Gauge* g, int i) : gauge(g), n(i) {}
    Gauge* gauge;
    int n;
};

std::vector<Job> jobs_for(Gauge* gauge, int count) {
    std::vector<Job> jobs;
    jobs.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        jobs.emplace_back(gauge, i);
    }
    return jobs;
}

Async<int> gauged(Self self, Job job) {
    job.gauge->enter();
    co_await self.sleep(std::chrono::milliseconds(2));
    job.gauge->leave();
    co_return job.n;
}

Process concurrency_root(Self self, Probe* probe, Gauge* gauge, int max) {
    std::vector<Job> jobs = jobs_for(gauge, 8);
    StreamOptions options;
    if (max > 0) {
        options.max_concurrency(max);
    }
    const std::vector<StreamResult<Job, int>> results =
        co_await task::async_stream(self, std::move(jobs), gauged, options);
    int sum = 0;
    for (const StreamResult<Job, int>& r : results) {
        sum += r.ok() ? r.value() : 1000;
    }
    probe->note("sum " + std::to_string(sum));
}

TEST_P(TaskTest, async_stream_respects_max_concurrency) {
    // §8.3: at most max_concurrency tasks run at once.
    Gauge gauge;
    run(concurrency_root, &gauge, 3);
    EXPECT_EQ(events(), (Events{"sum 28"}));
    EXPECT_LE(gauge.peak(), 3);
    EXPECT_GE(gauge.peak(), 1);
    if (!threaded()) {
        EXPECT_EQ(gauge.peak(), 3);  // Every task sleeps: the simulator fills every slot.
    }
}

TEST_P(TaskTimed, async_stream_default_concurrency_is_two_on_the_simulator) {
    // §8.3: max_concurrency defaults to the scheduler's worker count; the simulator fixes it at 2.
    Gauge gauge;
    run(concurrency_root, &gauge, 0);
    EXPECT_EQ(events(), (Events{"sum 28"}));
    EXPECT_EQ(gauge.peak(), 2);
}

/// An async_stream input for a task that sleeps `ms` and notes when it finishes.
struct Nap {
    Nap(Probe* p, int m) : probe(p), ms(m) {}
    Probe* probe;
    int ms;
};

/// Naps of 10, 1000 and 20 ms.
std::vector<Nap> naps_for(Probe* probe) {
    std::vector<Nap> naps;
    for (const int ms : {10, 1000, 20}) {
        naps.emplace_back(probe, ms);
    }
    return naps;
}

std::string input_text(int n) { return std::to_string(n); }
std::string input_text(const Nap& nap) { return std::to_string(nap.ms); }

Async<int> nap(Self self, Nap n) { return noted_sleep(self, n.probe, n.ms); }

Process stream_timeout_caller(Self self, Probe* probe, OnTimeout on_timeout, bool zip) {
    self.trap_exit(true);
    std::vector<Nap> naps = naps_for(probe);
    StreamOptions options;
    options.timeout(std::chrono::milliseconds(100)).on_timeout(on_timeout).zip_input_on_exit(zip);
    const std::vector<StreamResult<Nap, int>> results =
        co_await task::async_stream(self, std::move(naps), nap, options);
    probe->note(show(results) + " at " + std::to_string(self.now() / 1'000'000) + " ms");
}

Process stream_timeout_root(Self self, Probe* probe, OnTimeout on_timeout, bool zip) {
    const ExitReason reason =
        co_await exit_of(self, stream_timeout_caller, probe, on_timeout, zip);
    probe->note("caller exit " + reason.to_string() + " at " +
                std::to_string(self.now() / 1'000'000) + " ms");
}

/// Sorts all but the last `keep` events: tasks note in an order the scheduler picks.
Events sorted_but_last(Events events, std::size_t keep) {
    std::sort(events.begin(), events.end() - static_cast<std::ptrdiff_t>(keep));
    return events;
}

TEST_P(TaskTimed, async_stream_timeout_kill_task) {
    // §8.3: on_timeout: kill_task kills the late task and emits {exit,timeout} for it; the default
    // concurrency of 2 starts the third task when the first ends.
    run(stream_timeout_root, OnTimeout::kill_task, false);
    EXPECT_EQ(sorted_but_last(events(), 2),
              (Events{"task done 10", "task done 20",
                      "[{ok,10},{exit,timeout},{ok,20}] at 100 ms",
                      "caller exit normal at 100 ms"}));
}

TEST_P(TaskTimed, async_stream_timeout_zips_input) {
    // §8.3: zip_input_on_exit adds the input: {exit,{Input,timeout}}.
    run(stream_timeout_root, OnTimeout::kill_task, true);
    EXPECT_EQ(sorted_but_last(events(), 2),
              (Events{"task done 10", "task done 20",
                      "[{ok,10},{exit,{1000,timeout}},{ok,20}] at 100 ms",
                      "caller exit normal at 100 ms"}));
}

TEST_P(TaskTimed, async_stream_timeout_exits_caller) {
    // §8.3: on_timeout: exit (the default) exits the caller, even a trapping one, and the late
    // task never finishes.
    run(stream_timeout_root, OnTimeout::exit, false);
    EXPECT_EQ(sorted_but_last(events(), 1),
              (Events{"task done 10", "task done 20",
                      "caller exit {timeout,{Task.Supervised,stream,[100]}} at 100 ms"}));
}

/// Crashes on a negative number.
int checked(Self /*self*/, int n) {
    if (n < 0) {
        throw std::runtime_error("negative");
    }
    return n;
}

std::vector<int> signed_inputs() { return {1, -2, 3}; }

Process stream_crash_caller(Self self, Probe* probe, bool trap, bool zip) {
    self.trap_exit(trap);
    std::vector<int> inputs = signed_inputs();
    StreamOptions options;
    options.zip_input_on_exit(zip);
    const std::vector<StreamResult<int, int>> results =
        co_await task::async_stream(self, std::move(inputs), checked, options);
    probe->note(show(results));
    const bool leftover = co_await self.receive([](Message) { return true; })
                              .after(Duration::zero(), [] { return false; });
    probe->note(yes_no(leftover, "leftover message", "mailbox empty"));
}

Process stream_crash_root(Self self, Probe* probe, bool trap, bool zip) {
    const ExitReason reason = co_await exit_of(self, stream_crash_caller, probe, trap, zip);
    probe->note("caller exit " + reason.to_string());
}

TEST_P(TaskTest, async_stream_crash_kills_non_trapping_caller) {
    // §8.3: tasks are linked to the caller through the intermediate process: a crash kills a
    // caller that does not trap exits.
    run(stream_crash_root, false, false);
    EXPECT_EQ(events(), (Events{"caller exit negative"}));
}

TEST_P(TaskTest, async_stream_crash_is_an_exit_entry_when_trapping) {
    // §8.3: a trapping caller gets {exit,Reason} for the crashed task and the other results.
    run(stream_crash_root, true, false);
    EXPECT_EQ(events(),
              (Events{"[{ok,1},{exit,negative},{ok,3}]", "mailbox empty", "caller exit normal"}));
}

TEST_P(TaskTest, async_stream_zip_input_on_exit) {
    // §8.3: zip_input_on_exit gives {exit,{Input,Reason}}.
    run(stream_crash_root, true, true);
    EXPECT_EQ(events(), (Events{"[{ok,1},{exit,{-2,negative}},{ok,3}]", "mailbox empty",
                                "caller exit normal"}));
}

}  // namespace
}  // namespace bedlam
