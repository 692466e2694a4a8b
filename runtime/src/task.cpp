// Task, Task.Supervisor and async_stream (otp-semantics §8). Rule numbers in comments refer to §8.
// The protocols follow Elixir's task.ex, task/supervisor.ex and task/supervised.ex.
#include "bedlam/runtime/task.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <string>

#include "bedlam/runtime/threads.hpp"

namespace bedlam {

namespace detail {

namespace {

/// The first message a task gets (Elixir sends `{Owner, Alias, ReplyTo, Callers, MFA}`): whom to
/// reply to, the reply's tag, and what to run.
struct TaskGo {
    TaskGo(Pid owned_by, MonitorRef reply_tag, std::unique_ptr<TaskWork> to_run)
        : owner(owned_by), tag(reply_tag), work(std::move(to_run)) {}

    Pid owner;
    MonitorRef tag;
    std::unique_ptr<TaskWork> work;
};

// How long a supervised task waits for its owner's start message (Elixir's @ref_timeout).
constexpr Duration start_timeout = std::chrono::milliseconds(5000);

// The caller's exit reason {Reason, Where}: {shutdown, Where} when Reason is `shutdown`, which
// stays a clean exit for supervisors, as gen_server's call failures do (§5.1).
ExitReason failure(const ExitReason& reason, const std::string& where) {
    if (reason.kind() == ExitReason::Kind::shutdown) {
        return ExitReason::shutdown(where);
    }
    return ExitReason::error("{" + reason.to_string() + "," + where + "}");
}

ExitReason await_failure(const ExitReason& reason, Pid task, Duration timeout) {
    return failure(reason,
                   "{Task,await,[" + task.to_string() + "," + detail::time_text(timeout) + "]}");
}

ExitReason stream_failure(const ExitReason& reason, Duration timeout) {
    return failure(reason, "{Task.Supervised,stream,[" + detail::time_text(timeout) + "]}");
}

void demonitor_flush(Self self, MonitorRef ref) {
    DemonitorOptions options;
    options.flush = true;
    self.demonitor(ref, options);
}

/// Awaits a started TaskWork.
struct AwaitWork {
    explicit AwaitWork(TaskWork* w) : work(w) {}
    [[nodiscard]] bool await_ready() const { return work->ready(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) const {
        return work->suspend(h);
    }
    void await_resume() const { work->finish(); }

    TaskWork* work;
};

/// The reply tagged `ref`, if it is in the mailbox already (Elixir's flush_reply).
Async<Message> flush_reply(Self self, MonitorRef ref) {
    Message reply;
    co_await self
        .receive(when([ref](const Message& m) { return m.is_reply() && m.ref() == ref; },
                      [&](Message m) { reply = std::move(m); }))
        .after(Duration::zero(), [] {});
    co_return reply;
}

// -- Tasks (rules 1, 2) ----------------------------------------------------------------------------

// Elixir's Task.Supervised.reply/3: an idle task waits for its owner's start message. A supervised
// task (`monitor_owner`) also watches the owner and gives up after 5 s; a linked one needs not, as
// the link ends it with its owner.
Process task_waiter(Self self, Pid owner, bool monitor_owner) {
    MonitorRef owner_ref;
    if (monitor_owner) {
        owner_ref = self.monitor(owner);
    }
    std::optional<TaskGo> go;
    std::optional<ExitReason> owner_down;
    co_await self
        .receive(when([owner](const TaskGo& g) { return g.owner == owner; },
                      [&](TaskGo g) { go.emplace(std::move(g)); }),
                 when([owner_ref](const DownMsg& d) { return d.ref == owner_ref; },
                      [&](DownMsg d) { owner_down = std::move(d.reason); }))
        .after(monitor_owner ? start_timeout : infinity, [] {});
    if (owner_down) {
        self.exit(ExitReason::shutdown(owner_down->to_string()));
    }
    if (!go) {
        self.exit(ExitReason::error("timeout"));
    }
    if (monitor_owner) {
        demonitor_flush(self, owner_ref);
    }
    go->work->start(self, go->owner, go->tag);
    const AwaitWork running(go->work.get());
    co_await running;
}

}  // namespace

Process task_runner(Self self, TaskWorkFactory make_work) {
    const std::unique_ptr<TaskWork> work = make_work();
    work->start(self, Pid{}, MonitorRef{});
    const AwaitWork running(work.get());
    co_await running;
}

std::shared_ptr<TaskState> start_linked(Self self, std::unique_ptr<TaskWork> work) {
    const Pid pid =
        self.spawn_opt(SpawnOptions{.link = true, .kind = ProcessKind::task}, &task_waiter,
                       self.pid(), false)
            .first;
    const MonitorRef ref = self.monitor(pid);
    TaskGo go(self.pid(), ref, std::move(work));
    self.send(pid, std::move(go));
    return std::make_shared<TaskState>(pid, ref, self.pid());
}

Async<std::shared_ptr<TaskState>> start_supervised(Self self, ServerRef sup, TaskOptions options,
                                                   bool link, std::unique_ptr<TaskWork> work) {
    // Rule 4: the caller keeps the task's pid, which a restart would make stale.
    if (options.restart() != Restart::temporary) {
        throw std::invalid_argument(std::string("Task.Supervisor.async needs restart temporary, not ") +
                                    to_string(options.restart()));
    }
    ChildSpec spec = ChildSpec::process("task", &task_waiter, self.pid(), true);
    spec.restart(Restart::temporary).shutdown(options.shutdown());
    const SupReply started = co_await bedlam::start_child(self, std::move(sup), std::move(spec));
    if (started.error == SupError::max_children) {
        throw std::runtime_error(
            "reached the maximum number of tasks for this task supervisor (max_children)");
    }
    if (!started.ok() || !started.pid.valid()) {
        throw std::runtime_error("Task.Supervisor could not start a task: " +
                                 started.to_string());
    }
    const Pid pid = started.pid;
    if (link) {
        self.link(pid);
    }
    const MonitorRef ref = self.monitor(pid);
    TaskGo go(self.pid(), ref, std::move(work));
    self.send(pid, std::move(go));
    co_return std::make_shared<TaskState>(pid, ref, self.pid());
}

void claim(Self self, TaskState& state, bool take) {
    if (state.owner != self.pid()) {
        throw std::invalid_argument("task " + state.pid.to_string() +
                                    " must be queried from the owner " + state.owner.to_string() +
                                    " but was queried from " + self.pid().to_string());
    }
    if (state.done) {
        throw std::invalid_argument("task " + state.pid.to_string() + " was already awaited");
    }
    if (take) {
        state.done = true;
    }
}

// Rule 2.
Async<Message> await_reply(Self self, Pid pid, MonitorRef ref, Duration timeout) {
    Message reply;
    std::optional<ExitReason> down;
    co_await self
        .receive(when([ref](const Message& m) { return m.is_reply() && m.ref() == ref; },
                      [&](Message m) { reply = std::move(m); }),
                 when([ref](const DownMsg& d) { return d.ref == ref; },
                      [&](DownMsg d) { down = std::move(d.reason); }))
        .after(timeout, [] {});
    if (down) {
        self.exit(await_failure(*down, pid, timeout));
    }
    demonitor_flush(self, ref);
    if (reply.empty()) {
        self.exit(await_failure(ExitReason::error("timeout"), pid, timeout));
    }
    co_return reply;
}

Async<TaskOutcome> yield_reply(Self self, MonitorRef ref, Duration timeout) {
    TaskOutcome outcome;
    co_await self
        .receive(when([ref](const Message& m) { return m.is_reply() && m.ref() == ref; },
                      [&](Message m) { outcome.reply = std::move(m); }),
                 when([ref](const DownMsg& d) { return d.ref == ref; },
                      [&](DownMsg d) { outcome.exit = std::move(d.reason); }))
        .after(timeout, [] {});
    if (!outcome.reply.empty()) {
        demonitor_flush(self, ref);
    }
    co_return outcome;
}

// Elixir's Task.shutdown/2 and shutdown_receive/5. No enforcer process is needed between unlink
// and exit: a bedlam process cannot be stopped between two statements, so both signals go out.
Async<TaskOutcome> shutdown_task(Self self, Pid pid, MonitorRef ref, Shutdown how) {
    const MonitorRef mon = self.monitor(pid);
    self.unlink(pid);
    const bool brutal = how.kind == Shutdown::Kind::brutal_kill;
    // What the task dies of when we stop it. After the time-out's kill, Elixir reports `killed`
    // as {exit, killed}.
    ExitReason expected = ExitReason::shutdown();
    if (brutal) {
        self.exit(pid, ExitReason::kill());
        expected = ExitReason::killed();
    } else {
        self.exit(pid, ExitReason::shutdown());
    }
    const Duration limit = how.kind == Shutdown::Kind::timeout ? how.timeout : infinity;
    std::optional<ExitReason> down;
    co_await self
        .receive(when([mon](const DownMsg& d) { return d.ref == mon; },
                      [&](DownMsg d) { down = std::move(d.reason); }))
        .after(limit, [] {});
    if (!down) {
        self.exit(pid, ExitReason::kill());
        co_await self.receive(when([mon](const DownMsg& d) { return d.ref == mon; },
                                   [&](DownMsg d) { down = std::move(d.reason); }));
    }
    TaskOutcome outcome;
    if (down->kind() == ExitReason::Kind::noproc) {
        // The task was gone already: its own DOWN on `ref` says why (Elixir's flush_noproc).
        std::optional<ExitReason> earlier;
        co_await self
            .receive(when([ref](const DownMsg& d) { return d.ref == ref; },
                          [&](DownMsg d) { earlier = std::move(d.reason); }))
            .after(Duration::zero(), [] {});
        if (!earlier) {
            self.demonitor(ref);
            outcome.exit = ExitReason::noproc();
        } else if (!(*earlier == expected)) {
            outcome.exit = std::move(*earlier);
        }
    } else {
        demonitor_flush(self, ref);
        if (!(*down == expected)) {
            outcome.exit = std::move(*down);
        }
    }
    outcome.reply = co_await flush_reply(self, ref);
    if (!outcome.reply.empty()) {
        outcome.exit.reset();  // A reply wins over the exit.
    }
    co_return outcome;
}

// -- async_stream (rule 3) -------------------------------------------------------------------------

namespace {

// The protocol between the caller (the parent) and the intermediate process (Elixir's
// stream_monitor). `ref` is the parent's monitor on the intermediate process; it marks every
// message of this stream.
// Each has a constructor, so that none is an aggregate built inside a coroutine (README, "g++ 12
// and aggregates").
struct StreamHello {
    explicit StreamHello(MonitorRef r) : ref(r) {}
    MonitorRef ref;
};
struct StreamSpawn {
    StreamSpawn(MonitorRef r, std::uint64_t p) : ref(r), position(p) {}
    MonitorRef ref;
    std::uint64_t position;
};
struct StreamSpawned {
    StreamSpawned(MonitorRef r, std::uint64_t p, Pid task) : ref(r), position(p), pid(task) {}
    MonitorRef ref;
    std::uint64_t position;
    Pid pid;
};
struct StreamDown {
    StreamDown(MonitorRef r, std::uint64_t p, ExitReason why, bool late)
        : ref(r), position(p), reason(std::move(why)), timed_out(late) {}
    MonitorRef ref;
    std::uint64_t position;
    ExitReason reason;
    bool timed_out;
};
struct StreamStop {
    explicit StreamStop(MonitorRef r) : ref(r) {}
    MonitorRef ref;
};
unsigned default_max_concurrency(const Runtime& rt) {
    if (const auto* threads = dynamic_cast<const ThreadScheduler*>(&rt); threads != nullptr) {
        return std::max(1U, threads->workers());
    }
    return 2;  // The simulator: a fixed number, so that a seed replays the same run anywhere.
}

struct RunningTask {
    std::uint64_t position;
    Pid pid;
    Ticks deadline;  // When it is killed; max() for never.
    bool timed_out;  // It was killed for running late.
};

/// The intermediate process's state.
struct StreamMonitor {
    Pid parent;
    MonitorRef stream;  // The parent's monitor on this process: it marks the stream's messages.
    Duration timeout = infinity;
    std::map<MonitorRef, RunningTask> running;  // By this process's monitor on the task.
};

void spawn_for(Self self, StreamMonitor& m, std::uint64_t position) {
    const Pid pid = self.spawn_opt(SpawnOptions{.link = true, .kind = ProcessKind::task},
                                   &task_waiter, m.parent, false)
                        .first;
    const MonitorRef mref = self.monitor(pid);
    const Ticks deadline = m.timeout == infinity ? std::numeric_limits<Ticks>::max()
                                                 : self.now() + m.timeout.count();
    m.running.emplace(mref, RunningTask{position, pid, deadline, false});
    self.send(m.parent, StreamSpawned(m.stream, position, pid));
}

void forward_down(Self self, StreamMonitor& m, DownMsg d) {
    const auto it = m.running.find(d.ref);
    BEDLAM_ASSERT(it != m.running.end());
    StreamDown down(m.stream, it->second.position, std::move(d.reason), it->second.timed_out);
    self.send(m.parent, std::move(down));
    m.running.erase(it);
}

/// Until the nearest deadline of a task not yet killed.
Duration until_deadline(Self self, const StreamMonitor& m) {
    Ticks nearest = std::numeric_limits<Ticks>::max();
    for (const auto& [mref, task] : m.running) {
        if (!task.timed_out) {
            nearest = std::min(nearest, task.deadline);
        }
    }
    if (nearest == std::numeric_limits<Ticks>::max()) {
        return infinity;
    }
    return Duration(std::max<Ticks>(0, nearest - self.now()));
}

/// A task past its deadline is killed whatever on_timeout says; the parent decides the rest.
void kill_late(Self self, StreamMonitor& m) {
    for (auto& [mref, task] : m.running) {
        if (!task.timed_out && task.deadline <= self.now()) {
            self.unlink(task.pid);
            self.exit(task.pid, ExitReason::kill());
            task.timed_out = true;
        }
    }
}

// Stop: kill every task (trapping, so that their EXITs do not kill us), wait for them, exit normal.
Async<void> stop_tasks(Self self, std::map<MonitorRef, RunningTask> running) {
    self.trap_exit(true);
    for (const auto& [mref, task] : running) {
        self.exit(task.pid, ExitReason::kill());
    }
    for (const auto& [mref, task] : running) {
        const MonitorRef watch = mref;
        co_await self.receive(
            when([watch](const DownMsg& d) { return d.ref == watch; }, [](DownMsg /*d*/) {}));
    }
}

// The intermediate process (Elixir's Task.Supervised.stream_monitor). It spawns the tasks linked
// to itself, monitors them, kills those that run late and forwards their DOWNs to the parent. It
// traps exits iff the parent does: then a task's crash is only a DOWN; otherwise the crash kills
// this process and, through its link, the parent. Deadlines are receive time-outs rather than
// send_after timers (as in Elixir), so that none outlives the process.
Process stream_monitor(Self self, Pid parent, bool trap_exit, Duration timeout) {
    self.trap_exit(trap_exit);
    const MonitorRef parent_ref = self.monitor(parent);
    StreamMonitor m;
    m.parent = parent;
    m.timeout = timeout;
    std::optional<ExitReason> parent_down;
    co_await self.receive([&](StreamHello h) { m.stream = h.ref; },
                          when([parent_ref](const DownMsg& d) { return d.ref == parent_ref; },
                               [&](DownMsg d) { parent_down = std::move(d.reason); }));
    const MonitorRef stream = m.stream;
    bool stop = false;
    while (!stop && !parent_down) {
        co_await self
            .receive(when([stream](const StreamSpawn& s) { return s.ref == stream; },
                          [&](StreamSpawn s) { spawn_for(self, m, s.position); }),
                     when([&m](const DownMsg& d) { return m.running.contains(d.ref); },
                          [&](DownMsg d) { forward_down(self, m, std::move(d)); }),
                     when([stream](const StreamStop& s) { return s.ref == stream; },
                          [&](StreamStop /*s*/) { stop = true; }),
                     when([parent_ref](const DownMsg& d) { return d.ref == parent_ref; },
                          [&](DownMsg d) { parent_down = std::move(d.reason); }),
                     [](Message /*other*/) {})  // EXITs and anything else are dropped.
            .after(until_deadline(self, m), [] {});
        kill_late(self, m);
    }
    if (stop) {
        co_await stop_tasks(self, std::move(m.running));
        co_return;
    }
    // The parent died: its linked tasks die with its reason, then so does this process.
    for (const auto& [mref, task] : m.running) {
        self.exit(task.pid, *parent_down);
    }
    self.exit(*parent_down);
}

// The parent's view of the intermediate process.
struct StreamLink {
    StreamLink(Pid p, MonitorRef r, Duration t) : pid(p), ref(r), timeout(t) {}
    Pid pid;
    MonitorRef ref;
    Duration timeout;
};

/// Drops what the stream left in the parent's mailbox: the intermediate process's EXIT, replies
/// of `tags`, and stream messages (Elixir's stream_cleanup_inbox).
Async<void> cleanup_inbox(Self self, StreamLink link, std::map<MonitorRef, std::uint64_t> tags) {
    const Pid from = link.pid;
    co_await self.receive(when([from](const ExitMsg& x) { return x.from == from; }, [](ExitMsg) {}))
        .after(Duration::zero(), [] {});
    const MonitorRef stream = link.ref;
    for (;;) {
        const bool more =
            co_await self
                .receive(when([&tags](const Message& m) {
                                  return m.is_reply() && tags.contains(m.ref());
                              },
                              [](Message /*m*/) { return true; }),
                         when([stream](const StreamDown& d) { return d.ref == stream; },
                              [](StreamDown /*d*/) { return true; }),
                         when([stream](const StreamSpawned& s) { return s.ref == stream; },
                              [](StreamSpawned /*s*/) { return true; }))
                .after(Duration::zero(), [] { return false; });
        if (!more) {
            break;
        }
    }
}

/// Asks the intermediate process for a task at `position`; its pid.
Async<Pid> spawn_task(Self self, StreamLink link, std::uint64_t position) {
    self.send(link.pid, StreamSpawn(link.ref, position));
    Pid pid;
    std::optional<ExitReason> down;
    const MonitorRef stream = link.ref;
    co_await self.receive(
        when([stream, position](const StreamSpawned& s) {
                 return s.ref == stream && s.position == position;
             },
             [&](StreamSpawned s) { pid = s.pid; }),
        when([stream](const DownMsg& d) { return d.ref == stream; },
             [&](DownMsg d) { down = std::move(d.reason); }));
    if (down) {
        std::map<MonitorRef, std::uint64_t> no_tags;
        co_await cleanup_inbox(self, link, std::move(no_tags));
        self.exit(stream_failure(*down, link.timeout));
    }
    co_return pid;
}

/// Stops the intermediate process, which kills the tasks still running, and waits for it.
Async<void> close_stream(Self self, StreamLink link, std::map<MonitorRef, std::uint64_t> tags) {
    self.send(link.pid, StreamStop(link.ref));
    std::optional<ExitReason> down;
    const MonitorRef stream = link.ref;
    co_await self.receive(when([stream](const DownMsg& d) { return d.ref == stream; },
                               [&](DownMsg d) { down = std::move(d.reason); }));
    co_await cleanup_inbox(self, link, std::move(tags));
    if (!down->is_normal()) {
        self.exit(stream_failure(*down, link.timeout));
    }
}

/// A task the parent started and has not delivered yet.
struct Pending {
    MonitorRef tag;  // Its reply's tag.
    Message reply;   // Kept until its DOWN: only then does it count as done (Elixir does so).
};

/// The parent's bookkeeping for one stream.
struct StreamRun {
    explicit StreamRun(StreamOptions o) : options(o) {}

    /// A task ended (its DOWN came through the intermediate process): its outcome, or the
    /// stream's failure.
    void settle(StreamDown down) {
        const auto it = pending.find(down.position);
        BEDLAM_ASSERT(it != pending.end());
        StreamOutcome outcome;
        outcome.position = down.position;
        if (!it->second.reply.empty()) {
            outcome.reply = std::move(it->second.reply);  // It replied: how it ended is moot.
        } else if (!down.timed_out) {
            outcome.reason = std::move(down.reason);
        } else if (options.on_timeout() == OnTimeout::exit) {
            failed = ExitReason::error("timeout");
        } else {
            outcome.reason = ExitReason::error("timeout");
        }
        tags.erase(it->second.tag);
        pending.erase(it);
        if (!failed) {
            deliver(std::move(outcome));
        }
    }

    void deliver(StreamOutcome outcome) {
        if (!options.ordered()) {
            out.push_back(std::move(outcome));
            return;
        }
        finished.emplace(outcome.position, std::move(outcome));
        for (auto next = finished.begin(); next != finished.end() && next->first == out.size();
             next = finished.begin()) {
            out.push_back(std::move(next->second));
            finished.erase(next);
        }
    }

    StreamOptions options;
    std::map<std::uint64_t, Pending> pending;         // Started, not ended; by position.
    std::map<MonitorRef, std::uint64_t> tags;         // Reply tag -> position.
    std::map<std::uint64_t, StreamOutcome> finished;  // Ordered: ended, not deliverable yet.
    std::vector<StreamOutcome> out;                   // Delivered.
    std::optional<ExitReason> failed;                 // The parent exits with this.
};

/// Checks the options (Elixir raises ArgumentError) and returns max_concurrency.
std::uint64_t stream_slots(Self self, const StreamOptions& options) {
    const std::optional<int> max_concurrency = options.max_concurrency();
    if (max_concurrency && *max_concurrency <= 0) {
        throw std::invalid_argument("async_stream: max_concurrency must be greater than zero");
    }
    if (options.timeout() < Duration::zero()) {
        throw std::invalid_argument("async_stream: timeout must be >= 0 or infinity");
    }
    if (max_concurrency) {
        return static_cast<std::uint64_t>(*max_concurrency);
    }
    return default_max_concurrency(self.runtime());
}

}  // namespace

Async<std::vector<StreamOutcome>> run_stream(Self self, std::uint64_t count,
                                             StreamWorkFn make_work, StreamOptions options) {
    const std::uint64_t slots = stream_slots(self, options);
    StreamRun run(options);
    if (count == 0) {
        co_return std::move(run.out);
    }
    const Pid monitor_pid =
        self.spawn_link(&stream_monitor, self.pid(), self.trapping_exits(), options.timeout());
    const StreamLink link(monitor_pid, self.monitor(monitor_pid), options.timeout());
    self.send(link.pid, StreamHello(link.ref));
    const MonitorRef stream = link.ref;
    std::uint64_t spawned = 0;
    while (run.out.size() < count && !run.failed) {
        if (spawned < count && run.pending.size() < slots) {
            const Pid pid = co_await spawn_task(self, link, spawned);
            Pending task;
            task.tag = self.runtime().new_ref();
            run.tags.emplace(task.tag, spawned);
            TaskGo go(self.pid(), task.tag, make_work(spawned));
            run.pending.emplace(spawned, std::move(task));
            self.send(pid, std::move(go));
            ++spawned;
            continue;
        }
        std::optional<StreamDown> down;
        std::optional<ExitReason> monitor_down;
        co_await self.receive(
            when([&run](const Message& m) { return m.is_reply() && run.tags.contains(m.ref()); },
                 [&](Message m) { run.pending.at(run.tags.at(m.ref())).reply = std::move(m); }),
            when([stream](const StreamDown& d) { return d.ref == stream; },
                 [&](StreamDown d) { down.emplace(std::move(d)); }),
            when([stream](const DownMsg& d) { return d.ref == stream; },
                 [&](DownMsg d) { monitor_down = std::move(d.reason); }));
        if (monitor_down) {
            co_await cleanup_inbox(self, link, std::move(run.tags));
            self.exit(stream_failure(*monitor_down, link.timeout));
        }
        if (down) {
            run.settle(std::move(*down));
        }  // Else a reply: it is kept until the task's DOWN.
    }
    // Unlike Elixir, which leaves them to die with the caller, a time-out also stops the other
    // tasks first: a caller that catches the exit is left with no task running.
    co_await close_stream(self, link, std::move(run.tags));
    if (run.failed) {
        self.exit(stream_failure(*run.failed, link.timeout));
    }
    co_return std::move(run.out);
}

}  // namespace detail

// -- Task.Supervisor (rule 4) ---------------------------------------------------------------------

namespace task_supervisor {

Async<StartResult> start_link(Self self, DynSupOptions options, StartOptions start) {
    return start_dynamic_supervisor(self, std::move(options), std::move(start));
}

Async<std::vector<Pid>> children(Self self, ServerRef sup) {
    const std::vector<ChildInfo> infos = co_await which_children(self, std::move(sup));
    std::vector<Pid> pids;
    for (const ChildInfo& info : infos) {
        if (info.pid.valid()) {
            pids.push_back(info.pid);
        }
    }
    co_return pids;
}

Async<SupReply> terminate_child(Self self, ServerRef sup, Pid pid) {
    return bedlam::terminate_child(self, std::move(sup), pid);
}

}  // namespace task_supervisor

}  // namespace bedlam
