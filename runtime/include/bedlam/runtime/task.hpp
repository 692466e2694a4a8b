// Task: Elixir's Task, Task.Supervisor and Task.async_stream (otp-semantics §8). A task is a
// process that runs one function and sends its result to the process that started it, its owner.
// The owner monitors the task (and, for task::async, links to it) and takes the result once. The
// reply is tagged with the monitor reference, so nothing else in the mailbox can be taken for it.
//
// As in Elixir, a task is spawned idle and starts its function only when its owner's start
// message arrives, which the owner sends after linking and monitoring: so the monitor always sees
// the task's real exit reason, never `noproc`.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "bedlam/runtime/runtime.hpp"
#include "bedlam/runtime/server.hpp"
#include "bedlam/runtime/supervisor.hpp"

namespace bedlam {

template <typename T>
class Task;

/// A task's outcome as Elixir's yield, shutdown and async_stream give it: `{ok, Value}` or
/// `{exit, Reason}`.
template <typename T>
class TaskResult {
public:
    static TaskResult ok_with(T value) {
        TaskResult r;
        r.value_.emplace(std::move(value));
        return r;
    }
    static TaskResult exit_with(ExitReason reason) {
        TaskResult r;
        r.reason_ = std::move(reason);
        return r;
    }

    [[nodiscard]] bool ok() const noexcept { return value_.has_value(); }
    /// The value of `{ok, Value}`.
    [[nodiscard]] T& value() {
        BEDLAM_ASSERT(ok());
        return *value_;
    }
    [[nodiscard]] const T& value() const {
        BEDLAM_ASSERT(ok());
        return *value_;
    }
    /// The reason of `{exit, Reason}`.
    [[nodiscard]] const ExitReason& reason() const {
        BEDLAM_ASSERT(!ok());
        return reason_;
    }

private:
    TaskResult() = default;

    std::optional<T> value_;  // Engaged iff {ok, Value}.
    ExitReason reason_;
};

/// One entry of async_stream's result: a TaskResult, plus the input for an `{exit, _}` entry when
/// `zip_input_on_exit` is set (Elixir's `{exit, {Input, Reason}}`).
template <typename In, typename T>
class StreamResult : public TaskResult<T> {
public:
    StreamResult(TaskResult<T> result, std::optional<In> input)
        : TaskResult<T>(std::move(result)), input_(std::move(input)) {}

    /// The input of a zipped `{exit, {Input, Reason}}`; nullptr otherwise.
    [[nodiscard]] const In* input() const noexcept { return input_ ? &*input_ : nullptr; }

private:
    std::optional<In> input_;
};

/// What async_stream does when a task runs past its time-out (§8.3).
enum class OnTimeout : std::uint8_t {
    exit,       // The caller exits {timeout, {Task.Supervised, stream, [Timeout]}} (the default).
    kill_task,  // The task is killed and its entry is {exit, timeout}.
};

/// async_stream's options (§8.3). A class with setters rather than an aggregate: it is often
/// written inside a co_await (README, "g++ 12 and aggregates").
class StreamOptions {
public:
    StreamOptions() = default;

    /// Tasks running at once, > 0. Unset: the threaded scheduler's worker count (Elixir:
    /// System.schedulers_online()), or 2 on the simulator, whose result must not depend on the
    /// machine.
    StreamOptions& max_concurrency(int n) {
        max_concurrency_ = n;
        return *this;
    }
    /// Results in input order (true, the default) or in the order the tasks end.
    StreamOptions& ordered(bool on) {
        ordered_ = on;
        return *this;
    }
    /// How long each task may run, from its start; `infinity` for no limit. Default 5000 ms.
    StreamOptions& timeout(Duration d) {
        timeout_ = d;
        return *this;
    }
    StreamOptions& on_timeout(OnTimeout what) {
        on_timeout_ = what;
        return *this;
    }
    /// `{exit, {Input, Reason}}` instead of `{exit, Reason}`; the input type must be copyable.
    StreamOptions& zip_input_on_exit(bool on) {
        zip_input_on_exit_ = on;
        return *this;
    }

    [[nodiscard]] std::optional<int> max_concurrency() const noexcept { return max_concurrency_; }
    [[nodiscard]] bool ordered() const noexcept { return ordered_; }
    [[nodiscard]] Duration timeout() const noexcept { return timeout_; }
    [[nodiscard]] OnTimeout on_timeout() const noexcept { return on_timeout_; }
    [[nodiscard]] bool zip_input_on_exit() const noexcept { return zip_input_on_exit_; }

private:
    std::optional<int> max_concurrency_;
    bool ordered_ = true;
    Duration timeout_ = std::chrono::milliseconds(5000);
    OnTimeout on_timeout_ = OnTimeout::exit;
    bool zip_input_on_exit_ = false;
};

/// Options of a task started under a Task.Supervisor (§8.4): Elixir's defaults are
/// `restart: temporary` and `shutdown: 5000`. async and async_nolink take only `temporary`.
class TaskOptions {
public:
    TaskOptions() = default;

    TaskOptions& restart(Restart r) {
        restart_ = r;
        return *this;
    }
    TaskOptions& shutdown(Shutdown s) {
        shutdown_ = s;
        return *this;
    }
    [[nodiscard]] Restart restart() const noexcept { return restart_; }
    [[nodiscard]] Shutdown shutdown() const noexcept { return shutdown_; }

private:
    Restart restart_ = Restart::temporary;
    Shutdown shutdown_ = Shutdown::after(std::chrono::milliseconds(5000));
};

namespace detail {

/// What the copies of a Task handle share: the task's identity, and whether its result has been
/// taken (by await, by a yield that returned one, or by shutdown). Only the owner changes it.
struct TaskState {
    TaskState(Pid task, MonitorRef monitor, Pid owned_by) : pid(task), ref(monitor), owner(owned_by) {}

    const Pid pid;
    const MonitorRef ref;  // The owner's monitor on the task; it also tags the reply.
    const Pid owner;
    bool done = false;
};

/// Async<U> -> U; any other R -> R.
template <typename R>
struct AsyncValue {
    using Type = R;
    static constexpr bool is_async = false;
};
template <typename U>
struct AsyncValue<Async<U>> {
    using Type = U;
    static constexpr bool is_async = true;
};

/// What `fn(self, args...)` returns, and the task's value type. Used in return types, so that a
/// call whose arguments do not fit a task function is not a candidate (SFINAE).
template <typename F, typename... Args>
using TaskReturn = std::invoke_result_t<F&, Self, Args&&...>;
template <typename F, typename... Args>
using TaskValue = typename AsyncValue<TaskReturn<F, Args...>>::Type;

template <typename F>
constexpr void check_task_fn() {
    static_assert(std::is_empty_v<F> || std::is_pointer_v<F>,
                  "a task function must be a function or a lambda without captures, as a process "
                  "body is (a coroutine lambda's captures would not outlive the call). Pass state "
                  "as arguments.");
}

template <typename T>
constexpr void check_task_value() {
    static_assert(!std::is_void_v<T>,
                  "a task that is awaited must return a value (Elixir's tasks always do); use "
                  "task_supervisor::start_child to run a function for its effects");
    static_assert(std::is_move_constructible_v<T>, "a task's value must be movable");
}

/// A task's function and its arguments, run inside the task process. The task process awaits
/// it through this interface (a plain function finishes in start()) rather than through a
/// coroutine template, whose frame g++ would flag (-Wsubobject-linkage) for argument types from
/// an anonymous namespace.
class TaskWork {
public:
    TaskWork() = default;
    TaskWork(const TaskWork&) = delete;
    TaskWork& operator=(const TaskWork&) = delete;
    virtual ~TaskWork() = default;

    /// Calls `fn(self, args...)`: a plain function runs to completion, a coroutine is created.
    /// Consumes the arguments: call once.
    virtual void start(Self self, Pid owner, MonitorRef tag) = 0;
    /// The awaiter protocol over the coroutine, if any (a plain function is ready at once).
    [[nodiscard]] virtual bool ready() = 0;
    virtual std::coroutine_handle<> suspend(std::coroutine_handle<> awaiting) = 0;
    /// Takes the value (rethrowing what the function threw) and, unless the owner is Pid{},
    /// sends it to the owner as a reply tagged with `tag` (Elixir's `{Ref, Result}`).
    virtual void finish() = 0;
};

template <typename T, typename F, typename... Args>
class TaskWorkOf final : public TaskWork {
    using Return = TaskReturn<F, Args...>;
    static constexpr bool is_async = AsyncValue<Return>::is_async;

public:
    explicit TaskWorkOf(F fn, Args... args) : fn_(fn), args_(std::move(args)...) {}

    void start(Self self, Pid owner, MonitorRef tag) override {
        self_.emplace(self);
        owner_ = owner;
        tag_ = tag;
        auto call = [&](Args&... a) -> Return { return std::invoke(fn_, self, std::move(a)...); };
        if constexpr (is_async) {
            running_.emplace(std::apply(call, args_));
        } else if constexpr (std::is_void_v<T>) {
            std::apply(call, args_);
        } else {
            value_.emplace(std::apply(call, args_));
        }
    }
    bool ready() override {
        if constexpr (is_async) {
            return running_->await_ready();
        } else {
            return true;
        }
    }
    std::coroutine_handle<> suspend(std::coroutine_handle<> awaiting) override {
        if constexpr (is_async) {
            return running_->await_suspend(awaiting);
        } else {
            BEDLAM_ASSERT(false);  // ready() said true.
            return awaiting;
        }
    }
    void finish() override {
        if constexpr (is_async) {
            if constexpr (std::is_void_v<T>) {
                running_->await_resume();
            } else {
                value_.emplace(running_->await_resume());
            }
        }
        if constexpr (!std::is_void_v<T>) {
            if (owner_.valid()) {
                From to;
                to.pid = owner_;
                to.ref = tag_;
                bedlam::reply(*self_, to, std::move(*value_));
            }
        }
    }

private:
    struct NoValue {};
    using Value = std::conditional_t<std::is_void_v<T>, NoValue, T>;

    F fn_;
    std::tuple<Args...> args_;
    std::optional<Self> self_;
    Pid owner_;
    MonitorRef tag_;
    std::optional<std::conditional_t<is_async, Return, NoValue>> running_;  // The coroutine.
    std::optional<Value> value_;
};

template <typename T, typename F, typename... Args>
std::unique_ptr<TaskWork> make_work(F fn, Args... args) {
    return std::make_unique<TaskWorkOf<T, F, Args...>>(fn, std::move(args)...);
}

/// Makes a fresh TaskWork each time: the start of a restartable task (start_child).
using TaskWorkFactory = std::function<std::unique_ptr<TaskWork>()>;

/// The body of a task under Task.Supervisor.start_child: it runs at once and replies to no one.
Process task_runner(Self self, TaskWorkFactory make_work);

/// Spawns a linked, idle task, monitors it and sends it `work` (Task.async).
std::shared_ptr<TaskState> start_linked(Self self, std::unique_ptr<TaskWork> work);
/// Starts an idle task under `sup`, links to it if `link`, monitors it and sends it `work`
/// (Task.Supervisor.async and async_nolink).
Async<std::shared_ptr<TaskState>> start_supervised(Self self, ServerRef sup, TaskOptions options,
                                                   bool link, std::unique_ptr<TaskWork> work);

/// Checks that `self` owns the task and that its result was not taken yet (std::invalid_argument,
/// Elixir's ArgumentError); with `take`, marks the result taken.
void claim(Self self, TaskState& state, bool take);

/// A reply (non-empty `reply`), a DOWN (`exit`), or neither (time-out).
struct TaskOutcome {
    Message reply;
    std::optional<ExitReason> exit;
};

/// Task.await's receive: the reply, or the caller exits {Reason, {Task, await, [Task, T]}}.
Async<Message> await_reply(Self self, Pid pid, MonitorRef ref, Duration timeout);
/// Task.yield's receive.
Async<TaskOutcome> yield_reply(Self self, MonitorRef ref, Duration timeout);
/// Task.shutdown: unlink, stop the task by `how`, then look for a reply.
Async<TaskOutcome> shutdown_task(Self self, Pid pid, MonitorRef ref, Shutdown how);

template <typename T>
T take_value(Message& reply) {
    T* value = reply.get<T>();
    BEDLAM_ASSERT(value != nullptr);  // Task<T> replies carry a T.
    return std::move(*value);
}

template <typename T>
std::optional<TaskResult<T>> to_result(TaskOutcome& outcome) {
    if (!outcome.reply.empty()) {
        return TaskResult<T>::ok_with(take_value<T>(outcome.reply));
    }
    if (outcome.exit) {
        return TaskResult<T>::exit_with(std::move(*outcome.exit));
    }
    return std::nullopt;
}

/// One input's outcome from the stream's core: the reply message, or the exit reason.
struct StreamOutcome {
    std::uint64_t position = 0;
    Message reply;  // Empty for {exit, reason}.
    ExitReason reason;
};

/// Makes the work for the input at `position` (it may move the input out).
using StreamWorkFn = std::function<std::unique_ptr<TaskWork>(std::uint64_t position)>;

/// async_stream without the types: runs `count` tasks through the intermediate process and
/// returns their outcomes in delivery order.
Async<std::vector<StreamOutcome>> run_stream(Self self, std::uint64_t count,
                                             StreamWorkFn make_work, StreamOptions options);

}  // namespace detail

/// A running task (Elixir's %Task{}). Copies share the task: its result can be taken once, by its
/// owner only.
template <typename T>
class Task {
public:
    /// Internal: made by task::async and the task_supervisor functions.
    explicit Task(std::shared_ptr<detail::TaskState> state) : state_(std::move(state)) {
        BEDLAM_ASSERT(state_ != nullptr);
    }

    [[nodiscard]] Pid pid() const noexcept { return state_->pid; }
    /// The owner's monitor on the task; the task's reply carries it (Elixir's `task.ref`).
    [[nodiscard]] MonitorRef ref() const noexcept { return state_->ref; }
    [[nodiscard]] Pid owner() const noexcept { return state_->owner; }
    [[nodiscard]] detail::TaskState& state() const noexcept { return *state_; }

private:
    std::shared_ptr<detail::TaskState> state_;
};

/// The Task<T> that `fn(self, args...)` makes.
template <typename F, typename... Args>
using TaskOf = Task<detail::TaskValue<F, Args...>>;

/// Elixir's Task module. A task function is `fn(Self self, Args... args)` returning a value T or
/// an Async<T>, and is a function or a lambda without captures (pass state as arguments).
namespace task {

/// Task.async (§8.1): spawns a task that runs `fn(self, args...)`; the caller links to it and
/// monitors it, so a task that crashes kills a caller that does not trap exits.
template <typename F, typename... Args>
TaskOf<F, Args...> async(Self self, F fn, Args... args) {
    detail::check_task_fn<F>();
    using T = detail::TaskValue<F, Args...>;
    detail::check_task_value<T>();
    return Task<T>(detail::start_linked(self, detail::make_work<T>(fn, std::move(args)...)));
}

/// Task.await (§8.2): the task's value; the monitor is removed. If the task dies first, the
/// caller exits {Reason, {Task, await, [Task, Timeout]}} ({shutdown, ...} when the task exited
/// `shutdown`); after `timeout`, {timeout, {Task, await, ...}}, and a linked task dies with it.
/// Throws std::invalid_argument unless the caller owns the task and its result was not taken.
template <typename T>
Async<T> await(Self self, Task<T> task, Duration timeout = std::chrono::milliseconds(5000)) {
    detail::claim(self, task.state(), true);
    Message reply = co_await detail::await_reply(self, task.pid(), task.ref(), timeout);
    co_return detail::take_value<T>(reply);
}

/// Task.yield: `{ok, Value}` or, if the task died, `{exit, Reason}` (the caller does not exit);
/// nullopt if nothing came within `timeout` (the task runs on, and may be yielded again). Owner
/// only, like await.
template <typename T>
Async<std::optional<TaskResult<T>>> yield(Self self, Task<T> task,
                                          Duration timeout = std::chrono::milliseconds(5000)) {
    detail::claim(self, task.state(), false);
    detail::TaskOutcome outcome = co_await detail::yield_reply(self, task.ref(), timeout);
    std::optional<TaskResult<T>> result = detail::to_result<T>(outcome);
    if (result) {
        task.state().done = true;
    }
    co_return result;
}

/// Task.shutdown: unlinks the task and stops it (`shutdown`, then `kill` after the time-out; or
/// `kill` at once with Shutdown::brutal_kill()). `{ok, Value}` if its reply came meanwhile,
/// `{exit, Reason}` if it died of something else, nullopt if it was stopped. Owner only.
template <typename T>
Async<std::optional<TaskResult<T>>> shutdown(
    Self self, Task<T> task, Shutdown how = Shutdown::after(std::chrono::milliseconds(5000))) {
    detail::claim(self, task.state(), true);
    detail::TaskOutcome outcome = co_await detail::shutdown_task(self, task.pid(), task.ref(), how);
    co_return detail::to_result<T>(outcome);
}

/// Task.async_stream (§8.3): runs `fn(self, input)` for every input in its own task, at most
/// `max_concurrency` at a time, and returns one entry per input. Tasks are linked to an
/// intermediate process that is linked to the caller and traps exits iff the caller does: a task
/// that crashes kills a caller that does not trap exits; a trapping caller gets {exit, Reason}.
template <typename In, typename F>
Async<std::vector<StreamResult<In, detail::TaskValue<F, In>>>> async_stream(
    Self self, std::vector<In> inputs, F fn, StreamOptions options = StreamOptions()) {
    detail::check_task_fn<F>();
    using T = detail::TaskValue<F, In>;
    detail::check_task_value<T>();
    constexpr bool copyable = std::is_copy_constructible_v<In>;
    const bool zip = options.zip_input_on_exit();
    if (!copyable && zip) {
        throw std::invalid_argument("async_stream: zip_input_on_exit needs a copyable input");
    }
    detail::StreamWorkFn make_work = [&inputs, fn, zip](std::uint64_t position) {
        In& input = inputs[position];
        if constexpr (copyable) {
            if (zip) {
                return detail::make_work<T>(fn, In(input));  // Kept for {exit, {Input, _}}.
            }
        }
        return detail::make_work<T>(fn, std::move(input));
    };
    std::vector<detail::StreamOutcome> outcomes =
        co_await detail::run_stream(self, inputs.size(), std::move(make_work), options);
    std::vector<StreamResult<In, T>> results;
    results.reserve(outcomes.size());
    for (detail::StreamOutcome& outcome : outcomes) {
        std::optional<In> input;
        if (outcome.reply.empty()) {
            if constexpr (copyable) {
                if (zip) {
                    input.emplace(std::move(inputs[outcome.position]));
                }
            }
            results.emplace_back(TaskResult<T>::exit_with(std::move(outcome.reason)),
                                 std::move(input));
        } else {
            results.emplace_back(TaskResult<T>::ok_with(detail::take_value<T>(outcome.reply)),
                                 std::move(input));
        }
    }
    co_return results;
}

}  // namespace task

/// Elixir's Task.Supervisor (§8.4): a DynamicSupervisor (§4) whose children are tasks.
namespace task_supervisor {

/// Task.Supervisor.start_link: a DynamicSupervisor with these options.
Async<StartResult> start_link(Self self, DynSupOptions options = DynSupOptions(),
                              StartOptions start = StartOptions());

/// Task.Supervisor.async: a task under `sup`, linked to the caller and monitored, like
/// task::async. Throws std::runtime_error if the supervisor has max_children tasks, and
/// std::invalid_argument unless `options` says temporary.
template <typename F, typename... Args>
Async<TaskOf<F, Args...>> async(Self self, ServerRef sup, TaskOptions options, F fn,
                                Args... args) {
    detail::check_task_fn<F>();
    using T = detail::TaskValue<F, Args...>;
    detail::check_task_value<T>();
    std::unique_ptr<detail::TaskWork> work = detail::make_work<T>(fn, std::move(args)...);
    std::shared_ptr<detail::TaskState> state = co_await detail::start_supervised(
        self, std::move(sup), options, true, std::move(work));
    co_return Task<T>(std::move(state));
}
template <typename F, typename... Args>
Async<TaskOf<F, Args...>> async(Self self, ServerRef sup, F fn, Args... args) {
    return task_supervisor::async(self, std::move(sup), TaskOptions(), fn, std::move(args)...);
}

/// Task.Supervisor.async_nolink: like async, but the caller only monitors the task, so a crash
/// reaches it as a DOWN: await then exits the caller, yield returns {exit, Reason}. Requires
/// `temporary` (the default), as the caller keeps the pid of a task that is never restarted.
template <typename F, typename... Args>
Async<TaskOf<F, Args...>> async_nolink(Self self, ServerRef sup, TaskOptions options, F fn,
                                       Args... args) {
    detail::check_task_fn<F>();
    using T = detail::TaskValue<F, Args...>;
    detail::check_task_value<T>();
    std::unique_ptr<detail::TaskWork> work = detail::make_work<T>(fn, std::move(args)...);
    std::shared_ptr<detail::TaskState> state = co_await detail::start_supervised(
        self, std::move(sup), options, false, std::move(work));
    co_return Task<T>(std::move(state));
}
template <typename F, typename... Args>
Async<TaskOf<F, Args...>> async_nolink(Self self, ServerRef sup, F fn, Args... args) {
    return task_supervisor::async_nolink(self, std::move(sup), TaskOptions(), fn,
                                         std::move(args)...);
}

/// Task.Supervisor.start_child: a task under `sup` that nobody awaits (its value, if any, is
/// dropped); `options` may make it transient or permanent, in which case a restart runs
/// `fn(self, args...)` again, so the arguments must be copyable.
template <typename F, typename... Args>
Async<SupReply> start_child(Self self, ServerRef sup, TaskOptions options, F fn, Args... args) {
    detail::check_task_fn<F>();
    using T = detail::TaskValue<F, Args...>;
    detail::TaskWorkFactory make = [fn, args...]() { return detail::make_work<T>(fn, args...); };
    ChildSpec spec = ChildSpec::process("task", &detail::task_runner, std::move(make));
    spec.restart(options.restart()).shutdown(options.shutdown());
    co_return co_await bedlam::start_child(self, std::move(sup), std::move(spec));
}
template <typename F, typename... Args>
Async<SupReply> start_child(Self self, ServerRef sup, F fn, Args... args) {
    return task_supervisor::start_child(self, std::move(sup), TaskOptions(), fn,
                                        std::move(args)...);
}

/// Task.Supervisor.children: the pids of the running tasks.
Async<std::vector<Pid>> children(Self self, ServerRef sup);
/// Task.Supervisor.terminate_child.
Async<SupReply> terminate_child(Self self, ServerRef sup, Pid pid);

}  // namespace task_supervisor

}  // namespace bedlam
