#include "bedlam/scenario/stock.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <utility>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/server.hpp"
#include "stock_support.hpp"

namespace bedlam::scenario {

// -- Messages ------------------------------------------------------------------------------------

/// A client's call to a counter or an echo server.
struct Request {
    std::string op;  // counter: "incr" or "get"; echo: anything.
};
struct Reply {
    std::int64_t value = 0;
};
/// A pipeline item.
struct Item {
    std::uint64_t seq = 0;
};

}  // namespace bedlam::scenario

BEDLAM_MESSAGE_NAME(bedlam::scenario::Request, "scenario.request");
BEDLAM_MESSAGE_NAME(bedlam::scenario::Item, "scenario.item");

namespace bedlam::scenario {

namespace stock {

Async<void> idle(Self self, Pid parent, Ticks wait) {
    const Ticks until = self.now() + wait;
    while (self.now() < until) {
        std::optional<ExitMsg> m =
            co_await self.receive([](ExitMsg e) { return std::optional<ExitMsg>(std::move(e)); })
                .after(dur(until - self.now()), [] { return std::optional<ExitMsg>(); });
        if (m && m->from == parent) {
            self.exit(m->reason);
        }
    }
}

Async<void> drain_for(Self self, Ticks wait) {
    const Ticks until = self.now() + wait;
    while (self.now() < until) {
        co_await self.receive([](Message /*stray*/) {}).after(dur(until - self.now()), [] {});
    }
}

std::string name_of(const Params& p, const std::string& path) {
    const std::string& name = p.text("name");
    if (!name.empty()) {
        return name;
    }
    const std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

namespace {

// -- counter and echo: servers ------------------------------------------------------------------

class Counter final : public Server {
public:
    Async<ServerResult> handle_call(Self /*self*/, Message request, From /*from*/) override {
        const Request* r = request.get<Request>();
        if (r == nullptr) {
            co_return ServerResult::stop(ExitReason::error("{bad_call,counter}"));
        }
        if (r->op == "incr") {
            ++value_;
        }
        co_return ServerResult::reply_with(Reply{value_});  // Lost on a restart: no durable state.
    }

private:
    std::int64_t value_ = 0;
};

class Echo final : public Server {
public:
    explicit Echo(Ticks delay) : delay_(delay) {}
    Async<ServerResult> handle_call(Self self, Message /*request*/, From /*from*/) override {
        if (delay_ > 0) {
            co_await self.sleep(dur(delay_));
        }
        ++served_;
        co_return ServerResult::reply_with(Reply{served_});
    }

private:
    Ticks delay_;
    std::int64_t served_ = 0;
};

// -- caller: a client ---------------------------------------------------------------------------

Process caller(Self self, std::string target, std::string op, Ticks every, Ticks timeout,
               RunContext* ctx) {
    for (;;) {
        co_await drain_for(self, every);  // Late replies of timed-out calls go here.
        bool ok = false;
        bool timed_out = false;
        try {
            Request request{op};
            (void)co_await call<Reply>(self, ServerRef(target), std::move(request), dur(timeout));
            ok = true;
        } catch (const ExitException& e) {
            // {timeout, {gen_server, call, ...}} or {noproc, ...}: the caller catches and goes on.
            timed_out = e.reason.to_string().starts_with("{timeout,");
        }
        ++ctx->metrics.calls;  // Counted once it has an outcome: the run may end mid-call.
        if (ok) {
            ++ctx->metrics.calls_ok;
        } else if (timed_out) {
            ++ctx->metrics.calls_timed_out;
        } else {
            ++ctx->metrics.calls_failed;
        }
    }
}

// -- periodic, crashy, socket: plain workers ----------------------------------------------------

Process periodic(Self self, Pid parent, std::string name, Ticks every, RunContext* ctx) {
    self.trap_exit(true);
    if (!name.empty()) {
        self.register_name(name, self.pid());
    }
    ack_started(self, parent);
    for (;;) {
        co_await idle(self, parent, every);
        ++ctx->metrics.ticks;
    }
}

/// Traps exits and exits with the reason of the first exit signal it gets, from anyone: the
/// worker of the property suites' trees (properties::ModelChild), so that their failing cases
/// can be written as scenarios.
Process plain_worker(Self self, Pid parent, std::string name) {
    self.trap_exit(true);
    if (!name.empty()) {
        self.register_name(name, self.pid());
    }
    ack_started(self, parent);
    for (;;) {
        std::optional<ExitMsg> m =
            co_await self.receive([](ExitMsg e) { return std::optional<ExitMsg>(std::move(e)); })
                .after(dur(100'000'000), [] { return std::optional<ExitMsg>(); });
        if (m) {
            self.exit(m->reason);
        }
    }
}

Process crashy(Self self, Pid parent, Ticks after, ExitReason reason) {
    self.trap_exit(true);
    ack_started(self, parent);
    co_await idle(self, parent, after);
    self.exit(reason);
}

/// Connects to `service` at start-up (a connect attempt takes `connect_timeout` when the service
/// is down, then fails: the socket crashes, as a real one with nothing to talk to would), then
/// checks the connection every `every` and crashes if it is lost.
Process socket(Self self, Pid parent, std::string service, Ticks connect_timeout, Ticks every) {
    self.trap_exit(true);
    ack_started(self, parent);
    if (!service_available(service)) {
        co_await idle(self, parent, connect_timeout);
        self.exit(ExitReason::error("{connect_failed," + service + "}"));
    }
    for (;;) {
        co_await idle(self, parent, every);
        if (!service_available(service)) {
            self.exit(ExitReason::error("{connection_lost," + service + "}"));
        }
    }
}

// -- stage: a pipeline stage -------------------------------------------------------------------

/// Takes items and passes them to `next` (a registered name); with no `next` it is the sink.
/// With `every` > 0 it is a source and makes an item each time. Sending to a name nobody holds
/// fails, as in Erlang (badarg): the stage crashes, which is how a broken pipeline shows.
Process stage(Self self, Pid parent, std::string name, std::string next, Ticks every,
              RunContext* ctx) {
    self.trap_exit(true);
    self.register_name(name, self.pid());
    ack_started(self, parent);
    Ticks next_item = every > 0 ? self.now() + every : 0;
    for (;;) {
        const Ticks wait = every > 0 ? std::max<Ticks>(0, next_item - self.now()) : 0;
        std::optional<Item> item;
        bool produce = false;
        std::optional<ExitMsg> exit;
        if (every > 0) {
            co_await self
                .receive([&](Item i) { item = i; },
                         [&](ExitMsg e) { exit = std::move(e); })
                .after(dur(wait), [&] { produce = true; });
        } else {
            co_await self.receive([&](Item i) { item = i; },
                                  [&](ExitMsg e) { exit = std::move(e); });
        }
        if (exit) {
            if (exit->from == parent) {
                self.exit(exit->reason);
            }
            continue;
        }
        if (produce) {
            next_item += every;
            item = Item{++ctx->metrics.items_produced};
        }
        if (!item) {
            continue;
        }
        if (next.empty()) {
            ++ctx->metrics.items_delivered;
        } else {
            self.send(next, *item);
        }
    }
}

}  // namespace

void add_core_behaviours(std::vector<StockBehaviour>* out) {
    std::vector<StockBehaviour>& all = *out;
    all.push_back(StockBehaviour{
        "counter",
        "a gen_server holding a count: `incr` adds one and replies the count, `get` replies it; "
        "the count starts at 0 on every (re)start",
        false,
        ProcessKind::server,
        {{"name", ParamType::text, "", "registered name (default: the child's id)"}},
        [](const Params& p, const std::string& path, RunContext*) {
            return server_start<Counter>(name_of(p, path));
        },
        nullptr,
        true,
        {}});
    all.push_back(StockBehaviour{
        "echo",
        "a gen_server that answers every call after `delay`",
        false,
        ProcessKind::server,
        {{"name", ParamType::text, "", "registered name (default: the child's id)"},
         {"delay", ParamType::duration, "0ms", "how long each answer takes"}},
        [](const Params& p, const std::string& path, RunContext*) {
            return server_start<Echo>(name_of(p, path), p.duration("delay"));
        },
        nullptr,
        true,
        {}});
    all.push_back(StockBehaviour{
        "periodic",
        "a worker that does a round of work every `every` (counted in the run's summary)",
        false,
        ProcessKind::process,
        {{"name", ParamType::text, "", "registered name (default: none)"},
         {"every", ParamType::duration, "100ms", "time between rounds"}},
        [](const Params& p, const std::string& /*path*/, RunContext* ctx) {
            return process_start(periodic, p.text("name"), p.duration("every"), ctx);
        },
        nullptr,
        false,
        {}});
    all.push_back(StockBehaviour{
        "worker",
        "a plain worker that traps exits and exits with the reason of the first exit signal it "
        "gets, from its supervisor or anyone else (the property suites' worker)",
        false,
        ProcessKind::process,
        {{"name", ParamType::text, "", "registered name (default: none)"}},
        [](const Params& p, const std::string& /*path*/, RunContext*) {
            return process_start(plain_worker, p.text("name"));
        },
        nullptr,
        false,
        {}});
    all.push_back(StockBehaviour{
        "crashy",
        "a worker that crashes `after` its start with `reason`, every time: a restart does not "
        "cure it",
        false,
        ProcessKind::process,
        {{"after", ParamType::duration, "1s", "how long it lives"},
         {"reason", ParamType::reason, "crashed", "its exit reason"}},
        [](const Params& p, const std::string& /*path*/, RunContext*) {
            return process_start(crashy, p.duration("after"), p.reason("reason"));
        },
        nullptr,
        false,
        {}});
    all.push_back(StockBehaviour{
        "socket",
        "a connection to an external service: while the service is down, connecting times out "
        "and the socket crashes; once connected it crashes if the service goes away",
        false,
        ProcessKind::process,
        {{"service", ParamType::service, nullptr, "the service (see `services`)"},
         {"connect_timeout", ParamType::duration, "250ms", "how long a failed connect takes"},
         {"every", ParamType::duration, "100ms", "how often it checks the connection"}},
        [](const Params& p, const std::string& /*path*/, RunContext*) {
            return process_start(socket, p.text("service"), p.duration("connect_timeout"),
                                 p.duration("every"));
        },
        nullptr,
        false,
        {}});
    all.push_back(StockBehaviour{
        "stage",
        "a pipeline stage: passes items to `next`; without `next` it is the sink; with `every` "
        "it is a source that makes an item each time. Sending to a stage that is down crashes "
        "the sender",
        false,
        ProcessKind::process,
        {{"name", ParamType::text, "", "registered name (default: the child's id)"},
         {"next", ParamType::name, "", "the next stage's name (empty: this is the sink)"},
         {"every", ParamType::duration, "0ms", "a source makes an item this often (0: not a source)"}},
        [](const Params& p, const std::string& path, RunContext* ctx) {
            return process_start(stage, name_of(p, path), p.text("next"), p.duration("every"),
                                 ctx);
        },
        nullptr,
        true,
        {}});
    all.push_back(StockBehaviour{
        "caller",
        "a client that calls `target` every `every` with a time-out, and counts the calls that "
        "succeed, time out or fail (a caller that catches the failure and goes on)",
        true,
        ProcessKind::process,
        {{"target", ParamType::name, nullptr, "the server's registered name"},
         {"op", ParamType::text, "incr", "the request (counter: incr or get)"},
         {"every", ParamType::duration, "100ms", "time between calls"},
         {"timeout", ParamType::duration, "50ms", "the call's time-out"}},
        nullptr,
        [](Self self, const Params& p, int /*n*/, RunContext* ctx) {
            return self.spawn(caller, p.text("target"), p.text("op"), p.duration("every"),
                              p.duration("timeout"), ctx);
        },
        false,
        {}});
}

}  // namespace stock

namespace {

std::vector<StockBehaviour> make_behaviours() {
    std::vector<StockBehaviour> all;
    stock::add_core_behaviours(&all);
    stock::add_agent_behaviours(&all);
    stock::add_system_behaviours(&all);
    return all;
}

}  // namespace

const char* to_string(ParamType type) noexcept {
    switch (type) {
        case ParamType::integer:
            return "a whole number";
        case ParamType::number:
            return "a number";
        case ParamType::duration:
            return "a duration (like 250ms, 2s, 1.5s)";
        case ParamType::text:
            return "text";
        case ParamType::name:
            return "a registered name";
        case ParamType::service:
            return "a service";
        case ParamType::boolean:
            return "true or false";
        case ParamType::reason:
            return "an exit reason";
    }
    return "?";
}

const std::vector<StockBehaviour>& stock_behaviours() {
    static const std::vector<StockBehaviour> all = make_behaviours();  // Immutable once built.
    return all;
}

const StockBehaviour* find_behaviour(std::string_view name) {
    for (const StockBehaviour& b : stock_behaviours()) {
        if (name == b.name) {
            return &b;
        }
    }
    return nullptr;
}

std::optional<Ticks> parse_duration(std::string_view text) {
    if (text == "never" || text == "infinity") {
        return chaos::never;
    }
    std::size_t digits = 0;
    while (digits < text.size() &&
           ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) {
        ++digits;
    }
    if (digits == 0 || digits == text.size()) {
        return std::nullopt;
    }
    const std::string_view number = text.substr(0, digits);
    const std::string_view unit = text.substr(digits);
    std::int64_t scale = 0;
    if (unit == "ns") {
        scale = 1;
    } else if (unit == "us") {
        scale = 1'000;
    } else if (unit == "ms") {
        scale = 1'000'000;
    } else if (unit == "s") {
        scale = 1'000'000'000;
    } else if (unit == "m" || unit == "min") {
        scale = 60'000'000'000;
    } else {
        return std::nullopt;
    }
    // Whole and fractional parts apart, so 1.5s is exact.
    const std::size_t dot = number.find('.');
    std::int64_t whole = 0;
    const std::string_view whole_text = number.substr(0, dot);
    if (whole_text.empty() || std::from_chars(whole_text.data(), whole_text.data() + whole_text.size(),
                                              whole).ptr != whole_text.data() + whole_text.size()) {
        return std::nullopt;
    }
    // At most 2^62 ns (146 years), so that a duration plus another never overflows.
    constexpr Ticks max_ticks = Ticks{1} << 62;
    if (whole >= max_ticks / scale) {
        return std::nullopt;
    }
    Ticks ticks = whole * scale;
    if (dot != std::string_view::npos) {
        const std::string_view frac = number.substr(dot + 1);
        if (frac.empty() || frac.find('.') != std::string_view::npos) {
            return std::nullopt;
        }
        std::int64_t place = scale;
        for (char c : frac) {
            place /= 10;
            ticks += (c - '0') * place;
        }
    }
    return ticks;
}

std::optional<double> parse_number(std::string_view text) {
    // std::from_chars: no locale, and correctly rounded, so every standard library reads the
    // same double from the same text (to_chars' shortest form reads back exactly).
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
        return std::nullopt;
    }
    return v;
}

ExitReason parse_reason(std::string_view text) {
    if (text == "normal") {
        return ExitReason::normal();
    }
    if (text == "shutdown") {
        return ExitReason::shutdown();
    }
    if (text == "kill") {
        return ExitReason::kill();
    }
    if (text.starts_with("{shutdown,") && text.ends_with("}")) {
        return ExitReason::shutdown(std::string(text.substr(10, text.size() - 11)));
    }
    return ExitReason::error(std::string(text));
}

std::optional<std::string> check_value(ParamType type, std::string_view text) {
    switch (type) {
        case ParamType::integer: {
            std::int64_t v = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || end != text.data() + text.size() || v < 0) {
                return std::string(to_string(type));
            }
            return std::nullopt;
        }
        case ParamType::number:
            if (!parse_number(text)) {
                return std::string(to_string(type));
            }
            return std::nullopt;
        case ParamType::duration:
            if (!parse_duration(text)) {
                return std::string(to_string(type));
            }
            return std::nullopt;
        case ParamType::boolean:
            if (text != "true" && text != "false") {
                return std::string(to_string(type));
            }
            return std::nullopt;
        case ParamType::text:
        case ParamType::name:
        case ParamType::service:
        case ParamType::reason:
            return std::nullopt;
    }
    return std::nullopt;
}

void Metrics::count(std::string_view name, std::uint64_t n) {
    const std::lock_guard lock(lock_.mutex);
    const auto it = counters.find(name);
    if (it != counters.end()) {
        it->second += n;
    } else {
        counters.emplace(std::string(name), n);
    }
}

const std::vector<const char*>& Metrics::builtin_names() {
    static const std::vector<const char*> names = {
        "calls", "calls_ok", "calls_timed_out", "calls_failed", "items_produced",
        "items_delivered", "ticks"};
    return names;
}

std::uint64_t Metrics::value(std::string_view name) const {
    const Counter Metrics::*const fields[] = {
        &Metrics::calls, &Metrics::calls_ok, &Metrics::calls_timed_out, &Metrics::calls_failed,
        &Metrics::items_produced, &Metrics::items_delivered, &Metrics::ticks};
    const std::vector<const char*>& names = builtin_names();
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (name == names[i]) {
            return this->*fields[i];
        }
    }
    const std::lock_guard lock(lock_.mutex);
    const auto it = counters.find(name);
    return it == counters.end() ? 0 : it->second;
}

const ArgValue& Params::at(std::string_view name) const {
    const auto it = values_.find(std::string(name));
    BEDLAM_ASSERT(it != values_.end());  // The loader fills every declared parameter.
    return it->second;
}

std::int64_t Params::integer(std::string_view name) const {
    std::int64_t v = 0;
    const std::string& t = at(name).text;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
}

double Params::number(std::string_view name) const {
    return parse_number(at(name).text).value_or(0);
}

Ticks Params::duration(std::string_view name) const {
    return parse_duration(at(name).text).value_or(0);
}

const std::string& Params::text(std::string_view name) const { return at(name).text; }

bool Params::boolean(std::string_view name) const { return at(name).text == "true"; }

ExitReason Params::reason(std::string_view name) const { return parse_reason(at(name).text); }

}  // namespace bedlam::scenario
