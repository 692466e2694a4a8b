// The model follows otp-semantics §3 rule by rule; it shares no code with runtime/src/supervisor.cpp.
#include "bedlam/properties/supervisor_api.hpp"

#include <algorithm>

namespace bedlam::properties::stateful {

// -- Children -------------------------------------------------------------------------------------

std::string describe(const ChildDesc& d) {
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

namespace {

/// A child tells its starter it is set up (proc_lib's synchronous start).
struct Ready {
    Pid pid;
};

/// The child: traps exits, logs its start, then logs and acts on Die (a message or a call) and
/// exit signals, and answers Ping calls.
Process child_body(Self self, Log* log, std::string id, bool stubborn, Pid starter) {
    self.trap_exit(true);
    log->push_back("start " + id);
    self.send(starter, Ready{self.pid()});
    for (;;) {
        Message m = co_await self.receive([](Message x) { return x; });
        if (const Die* d = m.get<Die>(); d != nullptr) {
            log->push_back("crash " + id + " " + d->reason.to_string());
            self.exit(d->reason);
        }
        if (m.is_call() && m.is<Ping>()) {
            reply(self, From{m.from(), m.ref(), true}, Pong{id});
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

Async<StartResult> start_child_body(Self self, Log* log, std::string id, bool stubborn) {
    const Pid pid = self.spawn_link(child_body, log, std::move(id), stubborn, self.pid());
    co_await self.receive(when([pid](const Ready& r) { return r.pid == pid; }, [](Ready) {}));
    co_return StartResult{StartResult::Kind::ok, pid, {}};
}

}  // namespace

ChildSpec make_spec(Log* log, const ChildDesc& d) {
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

std::string call_exit_text(int instance, const ExitReason& reason) {
    return "exit {" + reason.to_string() + ",{gen_server,call,[#" + std::to_string(instance) +
           ",_,infinity]}}";
}

std::size_t ModelCore::index_of(int instance) const {
    for (std::size_t i = 0; i < children.size(); ++i) {
        if (children[i].instance == instance) {
            return i;
        }
    }
    return children.size();
}

std::vector<int> ModelCore::running_instances() const {
    std::vector<int> out;
    for (const ModelChild& c : children) {
        if (c.running()) {
            out.push_back(c.instance);
        }
    }
    return out;
}

void ModelCore::start(ModelChild& c, Effect& e) {
    c.instance = next_instance++;
    e.log.push_back("start " + c.desc.id);
}

void ModelCore::shut_down(ModelChild& c, Log& log) {
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

bool ModelCore::add_restart(int intensity, int period_s) {
    const std::int64_t now_s = now / seconds;
    restarts.push_back(now_s);
    restarts.erase(std::remove_if(restarts.begin(), restarts.end(),
                                  [&](std::int64_t r) { return r < now_s - period_s; }),
                   restarts.end());
    return static_cast<std::int64_t>(restarts.size()) <= intensity;
}

std::pair<std::size_t, bool> ModelCore::died(int instance, const ExitReason& reason, Effect& e) {
    const std::size_t i = index_of(instance);
    ModelChild& c = children[i];
    if (reason.kind() != ExitReason::Kind::killed) {
        e.log.push_back("crash " + c.desc.id + " " + reason.to_string());
    }
    c.instance = -1;
    const Restart type = c.desc.restart;
    return {i, type == Restart::permanent || (type == Restart::transient && !reason.is_clean())};
}

ChildCounts counts_of(const std::vector<ModelChild>& children) {
    ChildCounts c;
    for (const ModelChild& child : children) {
        c.specs += 1;
        c.active += child.running() ? 1 : 0;
        (child.desc.type == ChildType::supervisor ? c.supervisors : c.workers) += 1;
    }
    return c;
}

std::string reason_text(SupError error) {
    SupReply r;
    r.error = error;
    return r.to_string();
}

// -- SupModel -------------------------------------------------------------------------------------

std::size_t SupModel::index_of(const std::string& id) const {
    for (std::size_t i = 0; i < children.size(); ++i) {
        if (children[i].desc.id == id) {
            return i;
        }
    }
    return children.size();
}

const std::vector<std::string>& SupModel::id_pool() {
    static const std::vector<std::string> ids{"a", "b", "c", "d", "e"};
    return ids;
}

Effect SupModel::init() {
    Effect e;
    for (ModelChild& c : children) {
        start(c, e);
    }
    return e;
}

Effect SupModel::start_child(const ChildDesc& d) {
    Effect e;
    const std::size_t i = index_of(d.id);
    if (i < children.size()) {
        e.reply = children[i].running()
                      ? ModelReply{SupError::already_started, children[i].instance}
                      : ModelReply{SupError::already_present, -1};
        return e;
    }
    children.push_back(ModelChild{d, -1});
    start(children.back(), e);
    e.reply = ModelReply{SupError::none, children.back().instance};
    return e;
}

Effect SupModel::terminate_child(const std::string& id) {
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

Effect SupModel::terminate_pid() {
    Effect e;
    e.reply = ModelReply{SupError::not_found, -1};
    return e;
}

std::optional<std::size_t> SupModel::stopped(const std::string& id, Effect& e) const {
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

Effect SupModel::restart_child(const std::string& id) {
    Effect e;
    if (const std::optional<std::size_t> i = stopped(id, e)) {
        start(children[*i], e);
        e.reply = ModelReply{SupError::none, children[*i].instance};
    }
    return e;
}

Effect SupModel::delete_child(const std::string& id) {
    Effect e;
    if (const std::optional<std::size_t> i = stopped(id, e)) {
        erase(*i);
        e.reply = ModelReply{SupError::none, -1};
    }
    return e;
}

Effect SupModel::exit(int instance, const ExitReason& reason) {
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

Effect SupModel::call(int instance, const std::optional<ExitReason>& die) {
    if (!running(instance)) {
        Effect e;
        e.call = call_exit_text(instance, ExitReason::noproc());
        return e;
    }
    if (!die) {
        Effect e;
        e.call = "reply " + id_of(instance);
        return e;
    }
    Effect e = exit(instance, *die);
    e.call = call_exit_text(instance, *die);
    return e;
}

void SupModel::restart(std::size_t i, Effect& e) {
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
            return;  // Not modelled.
    }
}

void SupModel::stop_from(std::size_t from, Effect& e) {
    for (std::size_t k = children.size(); k > from; --k) {
        shut_down(children[k - 1], e.log);
        if (children[k - 1].desc.restart == Restart::temporary) {
            erase(k - 1);
        }
    }
}

void SupModel::start_from(std::size_t from, Effect& e) {
    for (std::size_t k = from; k < children.size(); ++k) {
        start(children[k], e);
    }
}

Expected SupModel::expected() const {
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

std::string describe(const SupModel& m) {
    std::string out = std::string(to_string(m.strategy)) + " intensity=" +
                      std::to_string(m.intensity) + " period=" + std::to_string(m.period_s) +
                      "s children=[";
    for (std::size_t i = 0; i < m.children.size(); ++i) {
        out += (i > 0 ? ", " : "") + describe(m.children[i].desc);
    }
    return out + "]";
}

SupSetup setup_of(const SupModel& m, SupFlags::Mutation mutation) {
    SupSetup s;
    s.strategy = m.strategy;
    s.intensity = m.intensity;
    s.period_s = m.period_s;
    for (const ModelChild& c : m.children) {
        s.children.push_back(c.desc);
    }
    s.mutation = mutation;
    return s;
}

// -- The system under test ------------------------------------------------------------------------

Effect by_id(SupModel& m, DriverCmd::Op op, const std::string& id) {
    switch (op) {
        case DriverCmd::Op::terminate_child:
            return m.terminate_child(id);
        case DriverCmd::Op::restart_child:
            return m.restart_child(id);
        default:
            return m.delete_child(id);
    }
}

std::string op_name(DriverCmd::Op op) {
    switch (op) {
        case DriverCmd::Op::start_child:
            return "start_child";
        case DriverCmd::Op::terminate_child:
        case DriverCmd::Op::terminate_pid:
            return "terminate_child";
        case DriverCmd::Op::restart_child:
            return "restart_child";
        case DriverCmd::Op::delete_child:
            return "delete_child";
        case DriverCmd::Op::query:
            return "query";
        case DriverCmd::Op::sleep:
            return "sleep";
        case DriverCmd::Op::call:
            return "call";
    }
    return "?";
}

namespace {

/// Makes the API call `cmd` asks for. `cmd` lives in the caller's frame (the driver's).
Async<SupReply> call_api(Self self, Pid sup, Log* log, const DriverCmd& cmd) {
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
        case DriverCmd::Op::call:
            break;
    }
    co_return SupReply{};
}

/// Calls the child `cmd.pid` with Ping (or Die), with no time-out; the driver traps exits, and
/// a call that fails exits it with an ExitException, which it catches and keeps.
Async<void> call_child_process(Self self, DriverState* st, const DriverCmd& cmd) {
    const ServerRef target(cmd.pid);
    try {
        if (cmd.die) {
            Die die{*cmd.die};
            const Pong pong = co_await call<Pong>(self, target, std::move(die), infinity);
            st->call_reply = pong.id;  // A child told to die replied: the check reports it.
        } else {
            const Pong pong = co_await call<Pong>(self, target, Ping{}, infinity);
            st->call_reply = pong.id;
        }
    } catch (const ExitException& x) {
        st->call_exit = x.reason;
    }
}

/// Starts the supervisor (linked, trapping exits: its EXIT tells the driver it died), then
/// serves DriverCmds forever. An API call to a dead supervisor is never made: the reply stays
/// empty. Calls to children are made whether the supervisor lives or not.
Process driver(Self self, DriverState* st, SupSetup setup) {
    self.trap_exit(true);
    if (setup.dynamic) {
        DynSupOptions options(setup.intensity, setup.period_s);
        options.max_children = setup.max_children;
        st->started = co_await start_dynamic_supervisor(self, std::move(options));
    } else {
        SupFlags flags(setup.strategy, setup.intensity, setup.period_s);
        flags.mutation = setup.mutation;
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
        if (cmd.op == DriverCmd::Op::call) {
            co_await call_child_process(self, st, cmd);
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

std::string type_text(ChildType t) { return t == ChildType::supervisor ? "supervisor" : "worker"; }

std::string entry_text(const std::string& id, const std::string& pid, ChildType t) {
    return "{" + (id.empty() ? std::string("undefined") : id) + "," + pid + "," + type_text(t) +
           "}";
}

std::string model_reply_text(const ModelReply& r) {
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

std::string expected_children_text(const Expected& want) {
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

/// "" if `got` is `want`, else what differs.
std::string differs(const std::string& what, const std::string& got, const std::string& want) {
    return got == want ? std::string() : what + ": expected " + want + "\n  got " + got;
}

}  // namespace

std::string PidBook::name(Pid pid, int hint) {
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

std::string join(const Log& lines) {
    std::string out;
    for (const std::string& line : lines) {
        out += (out.empty() ? "" : "; ") + line;
    }
    return out;
}

std::string counts_text(const ChildCounts& c) {
    return "[{specs," + std::to_string(c.specs) + "},{active," + std::to_string(c.active) +
           "},{supervisors," + std::to_string(c.supervisors) + "},{workers," +
           std::to_string(c.workers) + "}]";
}

Sut::Sut(std::uint64_t seed, SupSetup setup, std::function<std::size_t(std::size_t)> choose)
    : sim_([&] {
          SimConfig config{.seed = seed};
          config.choose = std::move(choose);
          return config;
      }()) {
    sim_.set_step_limit(1'000'000);  // A livelock guard: one command takes a few hundred.
    driver_ = sim_.spawn(driver, &state_, std::move(setup));
    settle();
}

std::optional<SupReply> Sut::call(DriverCmd cmd) {
    state_.reply.reset();
    sim_.send(driver_, std::move(cmd));
    settle();
    return state_.reply;
}

std::optional<SupReply> Sut::start_child(const ChildDesc& d) {
    DriverCmd cmd;
    cmd.op = DriverCmd::Op::start_child;
    cmd.child = d;
    return call(std::move(cmd));
}

std::optional<SupReply> Sut::by_id(DriverCmd::Op op, const std::string& id) {
    DriverCmd cmd;
    cmd.op = op;
    cmd.id = id;
    return call(std::move(cmd));
}

std::optional<SupReply> Sut::terminate_pid(Pid pid) {
    DriverCmd cmd;
    cmd.op = DriverCmd::Op::terminate_pid;
    cmd.pid = pid;
    return call(std::move(cmd));
}

std::optional<Pid> Sut::instance_pid(int instance) {
    const std::optional<Pid> pid = book_.pid_of(instance);
    if (!pid && trouble_.empty()) {
        trouble_ = "the harness has no pid for instance #" + std::to_string(instance);
    }
    return pid;
}

void Sut::kill(int instance) {
    if (const std::optional<Pid> pid = instance_pid(instance)) {
        sim_.exit(*pid, ExitReason::kill());
        settle();
    }
}

void Sut::crash(int instance, ExitReason reason) {
    if (const std::optional<Pid> pid = instance_pid(instance)) {
        sim_.send(*pid, Die{std::move(reason)});
        settle();
    }
}

void Sut::call_child(int instance, const std::optional<ExitReason>& die) {
    state_.call_reply.reset();
    state_.call_exit.reset();
    if (const std::optional<Pid> pid = instance_pid(instance)) {
        DriverCmd cmd;
        cmd.op = DriverCmd::Op::call;
        cmd.pid = *pid;
        cmd.die = die;
        sim_.send(driver_, std::move(cmd));
        settle();
    }
    if (state_.call_exit) {
        std::string text = state_.call_exit->to_string();
        if (const std::optional<Pid> pid = book_.pid_of(instance)) {
            const std::string shown = ServerRef(*pid).to_string();
            const std::string name = "#" + std::to_string(instance);
            for (std::size_t at = text.find(shown); at != std::string::npos;
                 at = text.find(shown, at + name.size())) {
                text.replace(at, shown.size(), name);
            }
        }
        state_.call_reply = "exit " + text;
    } else if (state_.call_reply) {
        state_.call_reply = "reply " + *state_.call_reply;
    }
}

void Sut::advance(Ticks by) {
    DriverCmd cmd;
    cmd.op = DriverCmd::Op::sleep;
    cmd.sleep = by;
    sim_.send(driver_, std::move(cmd));
    settle();
}

void Sut::settle() {
    const RunResult r = sim_.run();
    if (r.stop != RunResult::Stop::idle && trouble_.empty()) {
        trouble_ = "the simulator did not go idle within its step limit";
    }
}

std::string Sut::check(const Effect& effect, const std::optional<SupReply>& got,
                       const Expected& want) {
    if (!trouble_.empty()) {
        return std::exchange(trouble_, std::string());
    }
    // The log: the ordered part, then the concurrent part in any order.
    Log lines = std::move(state_.log);
    state_.log.clear();
    Log expected_rest = effect.unordered;
    std::sort(expected_rest.begin(), expected_rest.end());
    Log got_rest;
    if (lines.size() > effect.log.size()) {
        got_rest.assign(lines.begin() + static_cast<std::ptrdiff_t>(effect.log.size()),
                        lines.end());
        lines.resize(effect.log.size());
    }
    std::sort(got_rest.begin(), got_rest.end());
    std::string problem =
        differs("the children's log", join(lines) + " | any order: " + join(got_rest),
                join(effect.log) + " | any order: " + join(expected_rest));
    if (!problem.empty()) {
        return problem;
    }
    if (effect.reply) {
        const std::string got_reply =
            got ? reply_text(*got, effect.reply->instance) : std::string("no reply");
        problem = differs("the reply", got_reply, model_reply_text(*effect.reply));
        if (!problem.empty()) {
            return problem;
        }
    }
    if (effect.call) {
        problem = differs("the call's outcome", state_.call_reply.value_or("no outcome"),
                          *effect.call);
        if (!problem.empty()) {
            return problem;
        }
    }
    problem = differs("the supervisor", state_.sup_alive ? "alive" : "gone",
                      want.alive ? "alive" : "gone");
    if (!problem.empty()) {
        return problem;
    }
    if (!want.alive) {
        // §3.9, §4.4: a supervisor that gives up exits `shutdown`.
        problem = differs("the supervisor's exit reason",
                          state_.sup_exit ? state_.sup_exit->to_string() : "none", "shutdown");
        if (!problem.empty()) {
            return problem;
        }
    }
    problem = differs("the virtual time (ms)", std::to_string(sim_.now() / ms),
                      std::to_string(want.now / ms));
    if (!problem.empty()) {
        return problem;
    }
    const std::size_t live = 1 + (want.alive ? 1 + static_cast<std::size_t>(want.running) : 0);
    problem = differs("the live processes", std::to_string(sim_.process_count()),
                      std::to_string(live));
    if (!problem.empty() || !want.alive) {
        return problem;
    }

    state_.children.reset();
    state_.counts.reset();
    DriverCmd query;
    query.op = DriverCmd::Op::query;
    sim_.send(driver_, std::move(query));
    settle();
    if (!trouble_.empty()) {
        return std::exchange(trouble_, std::string());
    }
    if (!state_.children || !state_.counts) {
        return "which_children or count_children did not answer";
    }
    problem = differs("which_children", children_text(*state_.children, want),
                      expected_children_text(want));
    if (!problem.empty()) {
        return problem;
    }
    return differs("count_children", counts_text(*state_.counts), counts_text(want.counts));
}

std::string Sut::reply_text(const SupReply& r, int hint) {
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

/// which_children in the model's terms. Ordered: a new pid is bound to the instance the model
/// expects at its position. Unordered: new pids, in pid order, to the unbound instances the model
/// expects, in instance order (pids and instances both count up), if as many.
std::string Sut::children_text(const std::vector<ChildInfo>& got, const Expected& want) {
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

}  // namespace bedlam::properties::stateful
