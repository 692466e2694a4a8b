// Stock behaviours of the systems stories: a connection pool, chat rooms with a registry, a
// video player without durable state.
//
// - A database pool: a `pool` manager hands out `connection`s to `querier` clients. The manager
//   trusts its supervisor's one_for_all strategy: it never watches its connections, so it is
//   right about them only because any death in the pool restarts the whole pool, itself
//   included. Under one_for_one it keeps handing out dead connections (`stale_checkouts`).
// - Chat rooms: a `registry` worker (Elixir's Registry) names the `room` servers; `chatter`
//   clients find a room through it, join (the room monitors its members), post, and get the
//   others' posts. A room that restarts has lost its members; they notice (they monitor it)
//   and join the new one. A registry lookup that gives a dead room counts `stale_lookups`.
// - A video `player` whose position lives only in its memory: every restart starts it over
//   from 0, which `viewer` clients see as the position going backwards.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/runtime/registry.hpp"
#include "stock_support.hpp"

namespace bedlam::scenario::stock {

namespace {

constexpr Ticks ms = 1'000'000;

/// A child's id: the last segment of its path.
std::string id_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

/// Whether a failed call's exit reason says the server did not exist when it was called
/// ({noproc, {gen_server, call, ...}}, otp-semantics §5.1), as opposed to dying during the call
/// or timing out.
bool is_noproc(const ExitException& e) { return e.reason.term().starts_with("{noproc,"); }

// -- The database pool ----------------------------------------------------------------------------

/// A connection tells the manager it is connected and may be handed out (call).
struct PoolRegister {};
struct PoolRegistered {};
/// A client asks for a connection (call) and waits for one until `deadline`, when its call
/// times out.
struct PoolCheckout {
    Ticks deadline = 0;
};
struct PoolCheckedOut {
    Pid connection;
};
/// A client gives a connection back (cast).
struct PoolCheckin {
    Pid connection;
};
/// A query on a connection (call).
struct DbQuery {};
struct DbResult {
    bool ok = false;
};
/// The connection's handle_continue term: connect now.
struct DbConnect {};

/// The manager: idle connections in a queue, handed out oldest first; a checkout that finds
/// none waits for a checkin, oldest first, until its caller's time-out. It never monitors its
/// connections, on purpose: it relies on one_for_all to restart it with the pool. Started after
/// its connections, it is the first the restart stops (reverse start order, otp-semantics §3.5),
/// before any connection it could still hand out; the one that died first was checked out, or
/// died at an instant when no client was asking. Under one_for_one its view goes stale: a
/// restarted connection registers again under a new pid while the dead pid stays in the queue.
/// `stale_checkouts` counts the connections it hands out dead: an observer's check (Erlang's
/// is_process_alive) that it does not act on, so that a run can see the stale view.
class PoolManager final : public Server {
public:
    explicit PoolManager(RunContext* ctx) : ctx_(ctx) {}

    Async<ServerResult> handle_call(Self self, Message request, From from) override {
        if (request.is<PoolRegister>()) {
            if (known_.insert(from.pid).second) {
                give(self, from.pid);
            }
            co_return ServerResult::reply_with(PoolRegistered{});
        }
        if (const PoolCheckout* checkout = request.get<PoolCheckout>(); checkout != nullptr) {
            if (idle_.empty()) {
                waiting_.push_back(Waiter{from, checkout->deadline});
                co_return ServerResult::noreply();
            }
            const Pid connection = idle_.front();
            idle_.pop_front();
            observe(self, connection);
            co_return ServerResult::reply_with(PoolCheckedOut{connection});
        }
        co_return co_await Server::handle_call(self, std::move(request), from);
    }

    Async<ServerResult> handle_cast(Self self, Message request) override {
        if (const PoolCheckin* checkin = request.get<PoolCheckin>(); checkin != nullptr) {
            // A connection of an earlier incarnation of the pool is not ours: forget it.
            const Pid c = checkin->connection;
            if (known_.count(c) != 0 && std::find(idle_.begin(), idle_.end(), c) == idle_.end()) {
                give(self, c);
            }
            co_return ServerResult::noreply();
        }
        co_return co_await Server::handle_cast(self, std::move(request));
    }

private:
    struct Waiter {
        From from;
        Ticks deadline = 0;
    };

    /// Hands an idle connection to the oldest waiter whose call has not timed out, or queues it.
    void give(Self self, Pid connection) {
        while (!waiting_.empty()) {
            const Waiter w = waiting_.front();
            waiting_.pop_front();
            // A reply sent before the deadline reaches the caller before its time-out fires;
            // one sent at the deadline would come too late, and the connection would leak.
            if (self.now() < w.deadline) {
                observe(self, connection);
                reply(self, w.from, PoolCheckedOut{connection});
                return;
            }
        }
        idle_.push_back(connection);
    }

    void observe(Self self, Pid connection) const {
        if (!self.is_alive(connection)) {
            ctx_->metrics.count("stale_checkouts");
        }
    }

    RunContext* ctx_;
    std::set<Pid> known_;          // Every connection that registered with this incarnation.
    std::deque<Pid> idle_;         // Known and not checked out; oldest first.
    std::deque<Waiter> waiting_;   // Checkouts waiting for a connection; oldest first.
};

/// A database connection: connects to `service` after init (taking `connect_timeout` and then
/// crashing if the service is down, as a refused connection does), registers with the manager,
/// and answers queries after `query_time`. A query that finds the database gone gets an error
/// and the connection crashes: its socket is closed.
class Connection final : public Server {
public:
    Connection(std::string pool, std::string service, Ticks connect_timeout, Ticks query_time,
               RunContext* ctx)
        : pool_(std::move(pool)),
          service_(std::move(service)),
          connect_timeout_(connect_timeout),
          query_time_(query_time),
          ctx_(ctx) {}

    Async<InitResult> init(Self /*self*/) override {
        // Connect after init returns, so that a slow connect does not hold up the supervisor.
        co_return InitResult::ok(ServerAction::continue_with(DbConnect{}));
    }

    Async<ServerResult> handle_continue(Self self, Any /*term*/) override {
        if (!service_available(service_)) {
            co_await self.sleep(dur(connect_timeout_));
            co_return ServerResult::stop(ExitReason::error("{connect_failed," + service_ + "}"));
        }
        // The manager starts after its connections (so that one_for_all stops it first): until
        // it is there, try again every millisecond, for as long as a connect may take.
        const ServerRef manager(pool_);
        const Ticks give_up = self.now() + connect_timeout_;
        for (;;) {
            bool absent = false;
            try {
                const PoolRegister hello;
                (void)co_await call<PoolRegistered>(self, manager, hello, dur(connect_timeout_));
            } catch (const ExitException& e) {
                if (!is_noproc(e) || self.now() >= give_up) {
                    throw;
                }
                absent = true;
            }
            if (!absent) {
                break;
            }
            co_await self.sleep(dur(ms));
        }
        ctx_->metrics.count("connects");
        co_return ServerResult::noreply();
    }

    Async<ServerResult> handle_call(Self self, Message request, From from) override {
        if (!request.is<DbQuery>()) {
            co_return co_await Server::handle_call(self, std::move(request), from);
        }
        if (query_time_ > 0) {
            co_await self.sleep(dur(query_time_));
        }
        if (!service_available(service_)) {
            co_return ServerResult::stop_reply(
                ExitReason::error("{connection_lost," + service_ + "}"), DbResult{false});
        }
        co_return ServerResult::reply_with(DbResult{true});
    }

private:
    std::string pool_;
    std::string service_;
    Ticks connect_timeout_;
    Ticks query_time_;
    RunContext* ctx_;
};

enum class QueryOutcome : std::uint8_t { ok, failed, no_connection };

/// One query, as poolboy's transaction: check a connection out, query it, check it back in.
/// A connection that failed is not given back: it is dead, or will be.
Async<QueryOutcome> transaction(Self self, std::string pool, Ticks timeout) {
    const ServerRef manager(pool);
    Pid connection;
    try {
        const PoolCheckout ask{self.now() + timeout};
        const PoolCheckedOut out = co_await call<PoolCheckedOut>(self, manager, ask, dur(timeout));
        connection = out.connection;
    } catch (const ExitException& e) {
        // No connection came in time, or the manager is down or restarting.
        const bool waited = e.reason.term().starts_with("{timeout,");
        co_return waited ? QueryOutcome::no_connection : QueryOutcome::failed;
    }
    bool ok = false;
    try {
        const DbQuery query;
        const DbResult result = co_await call<DbResult>(self, connection, query, dur(timeout));
        ok = result.ok;
    } catch (const ExitException&) {
        // The connection died before or during the query: handed out dead (a stale view), or
        // stopped since with the rest of the pool, or gone with the database.
        co_return QueryOutcome::failed;
    }
    if (!ok) {
        co_return QueryOutcome::failed;  // The database is gone; so is the connection.
    }
    cast(self, manager, PoolCheckin{connection});
    co_return QueryOutcome::ok;
}

/// Client `n` starts `n` eighths of `every` late, so that the clients of a workload do not all
/// come at the same instants.
Ticks stagger(int n, Ticks every) { return every / 8 * (n % 8); }

Process querier(Self self, std::string pool, Ticks every, Ticks timeout, Ticks offset,
                RunContext* ctx) {
    co_await drain_for(self, offset);
    for (;;) {
        co_await drain_for(self, every);
        const QueryOutcome outcome = co_await transaction(self, pool, timeout);
        switch (outcome) {
            case QueryOutcome::ok:
                ctx->metrics.count("queries_ok");
                break;
            case QueryOutcome::no_connection:
                ctx->metrics.count("checkout_timeouts");
                ctx->metrics.count("queries_failed");
                break;
            case QueryOutcome::failed:
                ctx->metrics.count("queries_failed");
                break;
        }
    }
}

// -- Chat rooms -----------------------------------------------------------------------------------

/// A chatter joins a room (call); the room monitors it until it dies.
struct ChatJoin {};
struct ChatJoined {};
/// A chatter posts (call); the room sends a ChatLine to every other member.
struct ChatPost {
    std::uint64_t seq = 0;
};
struct ChatPosted {
    std::uint64_t recipients = 0;
};
struct ChatLine {
    Pid author;
    std::uint64_t seq = 0;
};

/// A chat room: its members live in its memory only, so a restarted room has none until they
/// join again.
class Room final : public Server {
public:
    Async<ServerResult> handle_call(Self self, Message request, From from) override {
        if (request.is<ChatJoin>()) {
            if (members_.count(from.pid) == 0) {
                members_.emplace(from.pid, self.monitor(from.pid));
            }
            co_return ServerResult::reply_with(ChatJoined{});
        }
        if (const ChatPost* post = request.get<ChatPost>(); post != nullptr) {
            std::uint64_t recipients = 0;
            for (const auto& member : members_) {  // Pid order.
                if (member.first != from.pid) {
                    self.send(member.first, ChatLine{from.pid, post->seq});
                    ++recipients;
                }
            }
            co_return ServerResult::reply_with(ChatPosted{recipients});
        }
        co_return co_await Server::handle_call(self, std::move(request), from);
    }

    Async<ServerResult> handle_info(Self /*self*/, Message info) override {
        if (const DownMsg* down = info.get<DownMsg>(); down != nullptr) {
            const auto it = members_.find(down->pid);
            if (it != members_.end() && it->second == down->ref) {
                members_.erase(it);
            }
        }
        co_return ServerResult::noreply();
    }

private:
    std::map<Pid, MonitorRef> members_;  // Member -> the monitor on it.
};

/// A room starts under `{via, Registry, {reg, key}}`; a key still held by a live room fails the
/// start with {already_started, Pid}.
StartFn room_start(std::string reg, std::string key) {
    return [reg, key](Self self, const Any& /*extra*/) {
        return start_server<Room>(self, StartOptions(registry::via(ServerRef(reg), key)));
    };
}

/// Finds `room` in the registry and joins it: the room's pid, or Pid{} if there is none yet or
/// it could not be joined.
Async<Pid> join(Self self, std::string reg, std::string room, Ticks timeout, RunContext* ctx) {
    std::vector<registry::Entry> entries;
    try {
        entries = co_await registry::lookup(self, ServerRef(reg), room);
    } catch (const ExitException&) {
        co_return Pid{};  // The registry is down, or restarting.
    }
    if (entries.empty()) {
        co_return Pid{};  // The room has not (re)started yet.
    }
    const Pid candidate = entries.front().pid;
    try {
        const ChatJoin ask;
        (void)co_await call<ChatJoined>(self, candidate, ask, dur(timeout));
    } catch (const ExitException& e) {
        // noproc: the room was dead when called. The registry still held a dead room's entry
        // (otp-semantics §7.2: removal is not immediate), or its answer came after the room
        // died, on a slow way back (a delay fault).
        if (is_noproc(e)) {
            ctx->metrics.count("stale_lookups");
        }
        co_return Pid{};
    }
    co_return candidate;
}

/// A chat client: joins `room` (found through the registry `reg`), posts every `every`, and
/// counts the lines it gets. When the room dies it joins the new one.
Process chatter(Self self, std::string reg, std::string room, Ticks every, Ticks timeout,
                RunContext* ctx) {
    Pid member_of;  // The room this chatter has joined; Pid{} while it has none.
    MonitorRef watch;
    bool joined_before = false;
    std::uint64_t seq = 0;
    Ticks next_post = self.now() + every;
    for (;;) {
        if (!member_of.valid()) {
            member_of = co_await join(self, reg, room, timeout, ctx);
            if (member_of.valid()) {
                watch = self.monitor(member_of);
                ctx->metrics.count(joined_before ? "rejoins" : "joins");
                joined_before = true;
            }
        }
        bool post_now = false;
        const Ticks wait = std::max<Ticks>(0, next_post - self.now());
        co_await self
            .receive([&](ChatLine /*line*/) { ctx->metrics.count("deliveries"); },
                     when([&](const DownMsg& d) { return d.ref == watch; },
                          [&](DownMsg /*down*/) { member_of = Pid{}; }),
                     [](Message /*stray*/) {})
            .after(dur(wait), [&] { post_now = true; });
        if (!post_now) {
            continue;
        }
        next_post += every;
        if (!member_of.valid()) {
            ctx->metrics.count("posts_failed");  // No room to post to.
            continue;
        }
        try {
            const ChatPost post{++seq};
            (void)co_await call<ChatPosted>(self, member_of, post, dur(timeout));
            ctx->metrics.count("posts");
        } catch (const ExitException&) {
            ctx->metrics.count("posts_failed");  // The room died or is stuck; its DOWN follows.
        }
    }
}

/// A supervisor start function for a registry (Elixir's Registry) registered as `name`.
StartFn registry_start(std::string name, bool duplicate) {
    return [name, duplicate](Self self, const Any& /*extra*/) {
        const registry::Mode mode = duplicate ? registry::Mode::duplicate : registry::Mode::unique;
        return registry::start_link(self, registry::Options(name, mode));
    };
}

// -- The video player -----------------------------------------------------------------------------

struct PlayerPosition {};
struct PlayerAt {
    std::int64_t position_ms = 0;
};

/// A video player that starts playing at 0 when it starts: its position is in its memory only,
/// so every restart starts the video over.
class Player final : public Server {
public:
    Async<InitResult> init(Self self) override {
        started_ = self.now();
        co_return InitResult::ok();
    }

    Async<ServerResult> handle_call(Self self, Message request, From from) override {
        if (request.is<PlayerPosition>()) {
            co_return ServerResult::reply_with(PlayerAt{(self.now() - started_) / ms});
        }
        co_return co_await Server::handle_call(self, std::move(request), from);
    }

private:
    Ticks started_ = 0;
};

/// Asks the player for its position every `every`, and counts how often and how far it went
/// backwards.
Process viewer(Self self, std::string player, Ticks every, Ticks timeout, RunContext* ctx) {
    std::int64_t last_ms = 0;
    for (;;) {
        co_await drain_for(self, every);
        std::int64_t at_ms = 0;
        try {
            const PlayerPosition ask;
            const PlayerAt at = co_await call<PlayerAt>(self, ServerRef(player), ask, dur(timeout));
            at_ms = at.position_ms;
        } catch (const ExitException&) {
            continue;  // The player is restarting: ask again later.
        }
        ctx->metrics.count("positions");
        if (at_ms < last_ms) {
            ctx->metrics.count("rewinds");
            ctx->metrics.count("position_lost_ms", static_cast<std::uint64_t>(last_ms - at_ms));
        }
        last_ms = at_ms;
    }
}

}  // namespace

void add_system_behaviours(std::vector<StockBehaviour>* out) {
    std::vector<StockBehaviour>& all = *out;
    // The database pool.
    all.push_back(StockBehaviour{
        "pool",
        "a connection pool's manager (a gen_server): connections register with it, clients "
        "check one out (waiting, oldest first, if none is idle) and back in. It never watches "
        "its connections: it counts on one_for_all to restart it whenever one dies",
        false,
        ProcessKind::server,
        {{"name", ParamType::text, "", "registered name (default: the child's id)"}},
        [](const Params& p, const std::string& path, RunContext* ctx) {
            return server_start<PoolManager>(name_of(p, path), ctx);
        },
        nullptr,
        true,
        {{"stale_checkouts",
          "connections it handed out that were dead already: its view of the pool was stale"}}});
    all.push_back(StockBehaviour{
        "connection",
        "a database connection (a gen_server): connects to `service` (if it is down, the "
        "connect takes `connect_timeout` and crashes), registers with the `pool` manager, and "
        "answers a query after `query_time`; a query that finds the service gone crashes it",
        false,
        ProcessKind::server,
        {{"pool", ParamType::name, nullptr, "the pool manager's registered name"},
         {"service", ParamType::service, nullptr, "the database (see `services`)"},
         {"connect_timeout", ParamType::duration, "250ms", "how long a failed connect takes"},
         {"query_time", ParamType::duration, "5ms", "how long a query takes"}},
        [](const Params& p, const std::string& /*path*/, RunContext* ctx) {
            const std::string pool = p.text("pool");
            const std::string service = p.text("service");
            const Ticks connect_timeout = p.duration("connect_timeout");
            const Ticks query_time = p.duration("query_time");
            return StartFn([=](Self self, const Any& /*extra*/) {
                return start_server<Connection>(self, StartOptions(), pool, service,
                                                connect_timeout, query_time, ctx);
            });
        },
        nullptr,
        false,
        {{"connects", "connections that connected and registered with their pool"}}});
    all.push_back(StockBehaviour{
        "querier",
        "a client that every `every` checks a connection out of `pool` (waiting for one if none "
        "is idle), queries it and checks it back in (unless the query failed), each call with a "
        "time-out",
        true,
        ProcessKind::process,
        {{"pool", ParamType::name, nullptr, "the pool manager's registered name"},
         {"every", ParamType::duration, "20ms", "time between queries"},
         {"timeout", ParamType::duration, "50ms", "the time-out of the checkout and the query"}},
        nullptr,
        [](Self self, const Params& p, int n, RunContext* ctx) {
            const Ticks every = p.duration("every");
            return self.spawn(querier, p.text("pool"), every, p.duration("timeout"),
                              stagger(n, every), ctx);
        },
        false,
        {{"queries_ok", "queries answered"},
         {"queries_failed",
          "queries that failed: no connection, the manager or the connection died or timed out, "
          "or the database was down"},
         {"checkout_timeouts", "checkouts that waited `timeout` and got no connection"}}});
    // Chat rooms.
    all.push_back(StockBehaviour{
        "registry",
        "a Registry (Elixir's): a key-value store of processes that drops a process's entries "
        "when it dies (not at once: a lookup may still give a pid that has just died)",
        false,
        ProcessKind::server,
        {{"name", ParamType::text, "", "registered name (default: the child's id)"},
         {"duplicate", ParamType::boolean, "false",
          "keys: duplicate (true) or unique (false; rooms need unique)"}},
        [](const Params& p, const std::string& path, RunContext* /*ctx*/) {
            return registry_start(name_of(p, path), p.boolean("duplicate"));
        },
        nullptr,
        true,
        {}});
    all.push_back(StockBehaviour{
        "room",
        "a chat room (a gen_server) registered in `registry` under `room` (a via name): members "
        "join (it monitors them) and each post goes to every other member. Its members are in "
        "its memory only: a restarted room has none until they join again",
        false,
        ProcessKind::server,
        {{"registry", ParamType::name, nullptr, "the registry's registered name (unique keys)"},
         {"room", ParamType::text, "", "the room's key in the registry (default: the child's id)"}},
        [](const Params& p, const std::string& path, RunContext* /*ctx*/) {
            const std::string& key = p.text("room");
            return room_start(p.text("registry"), key.empty() ? id_of(path) : key);
        },
        nullptr,
        false,
        {}});
    all.push_back(StockBehaviour{
        "chatter",
        "a chat client: looks `room` up in `registry`, joins it and posts every `every`, and "
        "counts the lines the others post. It monitors the room and, when it dies, joins the "
        "restarted one",
        true,
        ProcessKind::process,
        {{"registry", ParamType::name, nullptr, "the registry's registered name"},
         {"room", ParamType::text, nullptr, "the room's key in the registry"},
         {"every", ParamType::duration, "100ms", "time between posts"},
         {"timeout", ParamType::duration, "50ms", "the time-out of a join or a post"}},
        nullptr,
        [](Self self, const Params& p, int /*n*/, RunContext* ctx) {
            return self.spawn(chatter, p.text("registry"), p.text("room"), p.duration("every"),
                              p.duration("timeout"), ctx);
        },
        false,
        {{"joins", "chatters that joined their room for the first time"},
         {"rejoins", "joins of a room that had restarted since the chatter last joined"},
         {"posts", "posts the room took (and passed on to its other members)"},
         {"posts_failed", "posts with no room to go to, or whose room died or timed out"},
         {"deliveries", "lines chatters got from others' posts"},
         {"stale_lookups",
          "registry lookups that gave a room that was dead when the chatter called it: an entry "
          "that outlived its room, or an answer that came after the room died"}}});
    // The video player.
    all.push_back(StockBehaviour{
        "player",
        "a video player (a gen_server) that plays from 0 when it starts and answers its "
        "position; the position is in its memory only, so every restart starts the video over",
        false,
        ProcessKind::server,
        {{"name", ParamType::text, "", "registered name (default: the child's id)"}},
        [](const Params& p, const std::string& path, RunContext* /*ctx*/) {
            return server_start<Player>(name_of(p, path));
        },
        nullptr,
        true,
        {}});
    all.push_back(StockBehaviour{
        "viewer",
        "a client that asks `player` for its position every `every` and counts the times it "
        "went backwards and by how much",
        true,
        ProcessKind::process,
        {{"player", ParamType::name, nullptr, "the player's registered name"},
         {"every", ParamType::duration, "100ms", "time between questions"},
         {"timeout", ParamType::duration, "50ms", "the call's time-out"}},
        nullptr,
        [](Self self, const Params& p, int /*n*/, RunContext* ctx) {
            return self.spawn(viewer, p.text("player"), p.duration("every"),
                              p.duration("timeout"), ctx);
        },
        false,
        {{"positions", "positions the player answered"},
         {"rewinds", "answers that were behind the one before: the position was lost"},
         {"position_lost_ms", "how far the position went backwards, in all, in milliseconds"}}});
}

}  // namespace bedlam::scenario::stock
