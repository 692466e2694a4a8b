// Registry (Elixir's Registry, otp-semantics §7): unique and duplicate keys, values, lookup
// order, unregister, keys, dispatch, count, removal after a registrant exits (and the window in
// which a lookup still sees it), takeover of a dead holder's key, and via names.
#include "bedlam/runtime/registry.hpp"

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/server.hpp"
#include "test_support.hpp"

namespace bedlam {
namespace {

using registry::Entry;
using registry::Mode;
using registry::Options;
using registry::RegisterResult;
using registry::Value;
using test::Events;
using test::Probe;
using test::Sched;

// -- Helpers --------------------------------------------------------------------------------------

/// Runs `root(self, probe, args...)` on a fresh runtime for `sched` until idle; its notes.
template <typename F, typename... Args>
Events run_root(const Sched& sched, Interposer* hook, F root, Args... args) {
    const std::unique_ptr<Runtime> rt = test::make_runtime(sched);
    rt->set_interposer(hook);
    Probe probe;
    rt->spawn(root, &probe, std::move(args)...);
    rt->run_until_idle();
    return probe.events();
}

class RegistryTest : public ::testing::TestWithParam<Sched> {};
INSTANTIATE_TEST_SUITE_P(Schedulers, RegistryTest, ::testing::ValuesIn(test::kAllSchedulers),
                         test::sched_name);

/// Tests that need the simulator's interposer to hold an exit signal back.
class RegistrySimTest : public ::testing::TestWithParam<Sched> {};
INSTANTIATE_TEST_SUITE_P(Simulators, RegistrySimTest, ::testing::ValuesIn(test::kSimulators),
                         test::sched_name);

std::string show(const Value& value) {
    if (!value.has_value()) {
        return "nil";
    }
    if (const auto* n = value.get<int>(); n != nullptr) {
        return std::to_string(*n);
    }
    if (const auto* s = value.get<std::string>(); s != nullptr) {
        return *s;
    }
    return "?";
}

/// Names pids for notes, so that expectations hold whatever pids a scheduler hands out.
class Labels {
public:
    void name(Pid pid, std::string label) { labels_[pid] = std::move(label); }
    [[nodiscard]] std::string operator()(Pid pid) const {
        const auto it = labels_.find(pid);
        return it == labels_.end() ? "<unknown>" : it->second;
    }
    [[nodiscard]] std::string entries(const std::vector<Entry>& entries) const {
        std::string text = "[";
        for (const Entry& e : entries) {
            text += (text.size() > 1 ? " " : "") + (*this)(e.pid) + "=" + show(e.value);
        }
        return text + "]";
    }
    [[nodiscard]] std::string result(const RegisterResult& r) const {
        return r.ok() ? "ok" : "already_registered " + (*this)(r.holder);
    }
    [[nodiscard]] static std::string list(const std::vector<std::string>& keys) {
        std::string text = "[";
        for (const std::string& k : keys) {
            text += (text.size() > 1 ? " " : "") + k;
        }
        return text + "]";
    }

private:
    std::map<Pid, std::string> labels_;
};

struct Registered {
    RegisterResult result;
};
struct Quit {};
struct Unregister {};
struct Done {};

/// Registers under `key` in registry "reg" with `value` and reports the result to `parent`;
/// then, until a Quit, unregisters `key` on an Unregister.
Process registrant(Self self, Pid parent, std::string key, int value) {
    const RegisterResult r = co_await registry::register_key(self, "reg", key, value);
    self.send(parent, Registered{r});
    for (;;) {
        const bool quit = co_await self.receive([](Quit) { return true; },
                                                [](Unregister) { return false; });
        if (quit) {
            co_return;
        }
        co_await registry::unregister(self, "reg", key);
        self.send(parent, Done{});
    }
}

/// Spawns a registrant and waits for its result.
Async<std::pair<Pid, RegisterResult>> spawn_registrant(Self self, std::string key, int value) {
    const Pid pid = self.spawn(registrant, self.pid(), std::move(key), value);
    const Registered r = co_await self.receive<Registered>();
    co_return std::make_pair(pid, r.result);
}

Async<StartResult> start_registry(Self self, Mode mode) {
    return registry::start_link(self, Options("reg", mode));
}

/// "count N" for registry "reg".
Async<std::string> count_of(Self self) {
    co_return "count " + std::to_string(co_await registry::count(self, "reg"));
}

/// Waits for monitor `ref`'s DOWN; returns the exit reason.
Async<ExitReason> down(Self self, MonitorRef ref) {
    co_return co_await self.receive(
        when([ref](const DownMsg& d) { return d.ref == ref; },
             [](DownMsg d) { return std::move(d.reason); }));
}

// -- Values ---------------------------------------------------------------------------------------

struct Point {
    int x;
    int y;
};

// §7.1 (values): a value holds any type, is read back by type, and copies share it.
TEST(RegistryValue, HoldsAnyTypeSharedByCopies) {
    const Value point = Point{1, 2};
    const Value copy = point;  // NOLINT(performance-unnecessary-copy-initialization)
    ASSERT_NE(point.get<Point>(), nullptr);
    EXPECT_EQ(point.get<Point>()->y, 2);
    EXPECT_EQ(copy.get<Point>(), point.get<Point>());
    EXPECT_EQ(point.get<int>(), nullptr);
    EXPECT_TRUE(Value("text").is<std::string>());
    EXPECT_EQ(*Value("text").get<std::string>(), "text");
    EXPECT_FALSE(Value().has_value());
}

// -- Unique and duplicate keys --------------------------------------------------------------------

// §7.1: a unique key maps to one process; a second registration, even by the holder, gives
// {already_registered, Holder}; register returns the registry as owner.
Process unique_root(Self self, Probe* probe) {
    const StartResult reg = co_await start_registry(self, Mode::unique);
    Labels label;
    label.name(self.pid(), "root");
    const RegisterResult first = co_await registry::register_key(self, "reg", "alice", 42);
    probe->note(label.result(first) + (first.owner == reg.pid ? " owner=registry" : " owner=?"));
    probe->note(label.result(co_await registry::register_key(self, "reg", "alice", 43)));
    const auto [other, clash] = co_await spawn_registrant(self, "alice", 7);
    label.name(other, "other");
    probe->note(label.result(clash));
    const std::string bob = "bob";
    probe->note(label.result(co_await registry::register_key(self, "reg", bob, "b")));
    probe->note(label.entries(co_await registry::lookup(self, "reg", "alice")));
    probe->note(label.entries(co_await registry::lookup(self, "reg", bob)));
    probe->note(label.entries(co_await registry::lookup(self, "reg", "carol")));
    probe->note(co_await count_of(self));
    self.send(other, Quit{});
}

TEST_P(RegistryTest, UniqueKeys) {
    EXPECT_EQ(run_root(GetParam(), nullptr, unique_root),
              (Events{"ok owner=registry", "already_registered root", "already_registered root",
                      "ok", "[root=42]", "[root=b]", "[]", "count 2"}));
}

// §7.1: in a duplicate registry a process may register one key repeatedly; lookup lists every
// entry in registration order.
Process duplicate_root(Self self, Probe* probe) {
    co_await start_registry(self, Mode::duplicate);
    Labels label;
    label.name(self.pid(), "root");
    probe->note(label.result(co_await registry::register_key(self, "reg", "topic", 1)));
    probe->note(label.result(co_await registry::register_key(self, "reg", "topic", 2)));
    const auto [other, result] = co_await spawn_registrant(self, "topic", 3);
    label.name(other, "other");
    probe->note(label.result(result));
    co_await registry::register_key(self, "reg", "topic", 4);
    probe->note(label.entries(co_await registry::lookup(self, "reg", "topic")));
    probe->note(Labels::list(co_await registry::keys(self, "reg", self.pid())));
    probe->note(Labels::list(co_await registry::keys(self, "reg", other)));
    probe->note(co_await count_of(self));
    self.send(other, Quit{});
}

TEST_P(RegistryTest, DuplicateKeysInRegistrationOrder) {
    EXPECT_EQ(run_root(GetParam(), nullptr, duplicate_root),
              (Events{"ok", "ok", "ok", "[root=1 root=2 other=3 root=4]", "[topic topic topic]",
                      "[topic]", "count 4"}));
}

// §7.1 (unregister, keys): keys come in registration order; unregister removes only the
// caller's entries under the key.
Process unregister_root(Self self, Probe* probe, Mode mode) {
    co_await start_registry(self, mode);
    Labels label;
    label.name(self.pid(), "root");
    for (const char* key : {"c", "a", "b"}) {
        co_await registry::register_key(self, "reg", key, 0);
    }
    const auto [other, result] = co_await spawn_registrant(self, "a", 1);
    label.name(other, "other");
    probe->note(label.result(result));
    probe->note(Labels::list(co_await registry::keys(self, "reg", self.pid())));
    co_await registry::unregister(self, "reg", "a");
    co_await registry::unregister(self, "reg", "never-registered");
    probe->note(Labels::list(co_await registry::keys(self, "reg", self.pid())));
    probe->note(label.entries(co_await registry::lookup(self, "reg", "a")));
    probe->note(co_await count_of(self));
    self.send(other, Quit{});
}

TEST_P(RegistryTest, UnregisterInAUniqueRegistry) {
    EXPECT_EQ(run_root(GetParam(), nullptr, unregister_root, Mode::unique),
              (Events{"already_registered root", "[c a b]", "[c b]", "[]", "count 2"}));
}

TEST_P(RegistryTest, UnregisterInADuplicateRegistry) {
    EXPECT_EQ(run_root(GetParam(), nullptr, unregister_root, Mode::duplicate),
              (Events{"ok", "[c a b]", "[c b]", "[other=1]", "count 3"}));
}

// -- Links and removal ----------------------------------------------------------------------------

// §7.2: registrants are linked to the registry, and unlinked once they unregister their last
// key: when the registry stops with `shutdown`, a registrant dies with it, a former one lives.
Process linked_root(Self self, Probe* probe) {
    self.trap_exit(true);
    co_await start_registry(self, Mode::unique);
    const Pid stays = (co_await spawn_registrant(self, "stays", 0)).first;
    const Pid leaves = (co_await spawn_registrant(self, "leaves", 0)).first;
    self.send(leaves, Unregister{});
    co_await self.receive<Done>();
    const MonitorRef stays_ref = self.monitor(stays);
    const MonitorRef leaves_ref = self.monitor(leaves);
    co_await stop(self, "reg", ExitReason::shutdown());
    probe->note("registrant " + (co_await down(self, stays_ref)).to_string());
    self.send(leaves, Quit{});
    probe->note("former registrant " + (co_await down(self, leaves_ref)).to_string());
}

TEST_P(RegistryTest, RegistrantsAreLinkedUntilTheyUnregister) {
    EXPECT_EQ(run_root(GetParam(), nullptr, linked_root),
              (Events{"registrant shutdown", "former registrant normal"}));
}

/// Looks `key` up until the registry has processed the EXIT that removes it; false if it never
/// does.
Async<bool> gone_eventually(Self self, std::string key) {
    for (int tries = 0; tries < 1000; ++tries) {
        if ((co_await registry::lookup(self, "reg", key)).empty()) {
            co_return true;
        }
        co_await self.sleep(1ms);
    }
    co_return false;
}

// §7.2: a registrant's entries go once the registry has its EXIT; its key is free again.
Process removal_root(Self self, Probe* probe, Mode mode) {
    co_await start_registry(self, mode);
    const Pid dies = (co_await spawn_registrant(self, "x", 1)).first;
    co_await registry::register_key(self, "reg", "y", 2);
    const MonitorRef ref = self.monitor(dies);
    self.send(dies, Quit{});
    probe->note("exit " + (co_await down(self, ref)).to_string());
    probe->note(co_await gone_eventually(self, "x") ? "x gone" : "x stays");
    probe->note(Labels::list(co_await registry::keys(self, "reg", dies)));
    probe->note(co_await count_of(self));
    const RegisterResult again = co_await registry::register_key(self, "reg", "x", 3);
    probe->note(again.ok() ? "x registered again" : "x taken");
}

TEST_P(RegistryTest, EntriesGoWhenTheRegistrantExits) {
    const Events expected{"exit normal", "x gone", "[]", "count 1", "x registered again"};
    EXPECT_EQ(run_root(GetParam(), nullptr, removal_root, Mode::unique), expected);
    EXPECT_EQ(run_root(GetParam(), nullptr, removal_root, Mode::duplicate), expected);
}

/// Holds back the exit signals `victim` sends to `registry` for 50 ms, as a slow link would, so
/// that the registry learns of the death late. Only the simulator consults it.
class SlowExit final : public Interposer {
public:
    DeliveryDecision before_deliver(const DeliveryInfo& info) override {
        if (victim.valid() && !info.is_message && info.from == victim && info.to == registry) {
            return {DeliveryDecision::Action::delay, Duration(50ms).count()};
        }
        return {};
    }
    Pid registry;
    Pid victim;
};

/// Registers under "k" and "k2", reports Done, then lives until a Quit.
Process victim_body(Self self, Pid parent) {
    co_await registry::register_key(self, "reg", "k", 1);
    co_await registry::register_key(self, "reg", "k2", 1);
    self.send(parent, Done{});
    co_await self.receive<Quit>();
}

// §7.2: until the registry has the EXIT, lookups still list a dead registrant; §7.1: a unique
// key held by a dead process is taken over, and the late EXIT removes only the dead one's
// entries.
Process late_exit_root(Self self, Probe* probe, SlowExit* hook) {
    hook->registry = (co_await start_registry(self, Mode::unique)).pid;
    Labels label;
    label.name(self.pid(), "root");
    const auto [victim, ref] = self.spawn_monitor(victim_body, self.pid());
    label.name(victim, "victim");
    co_await self.receive<Done>();
    hook->victim = victim;
    self.send(victim, Quit{});
    co_await down(self, ref);
    const std::vector<Entry> stale = co_await registry::lookup(self, "reg", "k");
    probe->note(label.entries(stale) + (self.is_alive(victim) ? " alive" : " dead"));
    probe->note(label.result(co_await registry::register_key(self, "reg", "k", 2)));
    probe->note(label.entries(co_await registry::lookup(self, "reg", "k")));
    probe->note(label.entries(co_await registry::lookup(self, "reg", "k2")));
    co_await self.sleep(100ms);  // The EXIT arrives.
    probe->note(label.entries(co_await registry::lookup(self, "reg", "k")));
    probe->note(label.entries(co_await registry::lookup(self, "reg", "k2")));
    probe->note(co_await count_of(self));
}

TEST_P(RegistrySimTest, ADeadRegistrantIsListedUntilItsExitArrivesAndItsKeyTakenOver) {
    SlowExit hook;
    EXPECT_EQ(run_root(GetParam(), &hook, late_exit_root, &hook),
              (Events{"[victim=1] dead", "ok", "[root=2]", "[victim=1]", "[root=2]", "[]",
                      "count 1"}));
}

// -- Dispatch -------------------------------------------------------------------------------------

struct Headline {
    int n;
};

Process subscriber(Self self, Pid parent, int value) {
    const RegisterResult r = co_await registry::register_key(self, "reg", "news", value);
    self.send(parent, Registered{r});
    const Headline h = co_await self.receive<Headline>();
    self.send(parent, Headline{h.n + value});
}

// Registry.dispatch/3: the callback runs in the caller with the key's entries, and not at all
// for a key without entries.
Process dispatch_root(Self self, Probe* probe) {
    co_await start_registry(self, Mode::duplicate);
    for (int value = 1; value <= 3; ++value) {
        self.spawn(subscriber, self.pid(), value);
        co_await self.receive<Registered>();
    }
    co_await registry::dispatch(self, "reg", "news", [&](const std::vector<Entry>& entries) {
        std::string values = "values";
        for (const Entry& e : entries) {
            values += " " + show(e.value);
            self.send(e.pid, Headline{100});
        }
        probe->note(values);
    });
    int sum = 0;
    for (int i = 0; i < 3; ++i) {
        sum += (co_await self.receive<Headline>()).n;
    }
    probe->note("sum " + std::to_string(sum));
    bool called = false;
    co_await registry::dispatch(self, "reg", "sports",
                                [&](const std::vector<Entry>& /*entries*/) { called = true; });
    probe->note(called ? "called without entries" : "not called without entries");
}

TEST_P(RegistryTest, DispatchCallsBackWithTheEntries) {
    EXPECT_EQ(run_root(GetParam(), nullptr, dispatch_root),
              (Events{"values 1 2 3", "sum 306", "not called without entries"}));
}

// -- Via names ------------------------------------------------------------------------------------

struct Get {};
struct Add {
    int by;
};

class Tally final : public Server {
public:
    explicit Tally(int start) : n_(start) {}
    Async<ServerResult> handle_call(Self /*self*/, Message /*request*/, From /*from*/) override {
        co_return ServerResult::reply_with(n_);
    }
    Async<ServerResult> handle_cast(Self /*self*/, Message request) override {
        if (const Add* add = request.get<Add>(); add != nullptr) {
            n_ += add->by;
        }
        co_return ServerResult::noreply();
    }

private:
    int n_;
};

/// Calls `target` with Get and notes the reply; used to watch a failing call exit the caller.
Process getter(Self self, Probe* probe, ServerRef target) {
    probe->note("got " + std::to_string(co_await call<int>(self, target, Get{})));
}

// §7.3: a server starts under {via, Registry, {reg, key[, value]}}, answers calls and casts
// through it, a second start gives {already_started, Pid}, and after it stops the name is free.
Process via_root(Self self, Probe* probe) {
    self.trap_exit(true);
    co_await start_registry(self, Mode::unique);
    const std::shared_ptr<const ViaName> name = registry::via("reg", "tally", "meta");
    const StartResult started = co_await start_server<Tally>(self, StartOptions(name), 5);
    Labels label;
    label.name(started.pid, "tally");
    probe->note(label.entries(co_await registry::lookup(self, "reg", "tally")));
    probe->note("call " + std::to_string(co_await call<int>(self, name, Get{})));
    cast(self, name, Add{2});
    probe->note("call " + std::to_string(co_await call<int>(self, name, Get{})));
    const StartResult clash = co_await start_server<Tally>(self, StartOptions(name), 0);
    probe->note(clash.already_started && clash.pid == started.pid ? "already_started tally"
                                                                  : "no clash");
    co_await stop(self, name);
    probe->note(self.is_alive(started.pid) ? "tally alive" : "tally stopped");
    const MonitorRef late = self.spawn_monitor(getter, probe, ServerRef(name)).second;
    probe->note("getter " + (co_await down(self, late)).to_string());
}

TEST_P(RegistryTest, ViaNameStartCallCastClashAndStop) {
    EXPECT_EQ(run_root(GetParam(), nullptr, via_root),
              (Events{"[tally=meta]", "call 5", "call 7", "already_started tally", "tally stopped",
                      "getter {noproc,{gen_server,call,[{via,Registry,{reg,tally}},_,5000]}}"}));
}

// §7.3: a duplicate registry refuses via names: the start fails, a call raises in the caller,
// and a cast is lost.
Process via_duplicate_root(Self self, Probe* probe) {
    self.trap_exit(true);
    co_await start_registry(self, Mode::duplicate);
    const std::shared_ptr<const ViaName> name = registry::via("reg", "t");
    const StartResult started = co_await start_server<Tally>(self, StartOptions(name), 0);
    probe->note(started.ok() ? "started" : "start error " + started.reason.to_string());
    probe->note("entries " + std::to_string((co_await registry::lookup(self, "reg", "t")).size()));
    cast(self, name, Add{1});
    const MonitorRef caller = self.spawn_monitor(getter, probe, ServerRef(name)).second;
    probe->note("caller " + (co_await down(self, caller)).to_string());
    probe->note(self.whereis("reg") ? "registry up" : "registry down");
}

TEST_P(RegistryTest, ViaNameOnADuplicateRegistryIsRefused) {
    const std::string why = registry::via_unsupported;
    EXPECT_EQ(run_root(GetParam(), nullptr, via_duplicate_root),
              (Events{"start error " + why, "entries 0", "caller " + why, "registry up"}));
}

// -- Start and errors -----------------------------------------------------------------------------

Process errors_root(Self self, Probe* probe) {
    self.trap_exit(true);
    const StartResult first = co_await start_registry(self, Mode::unique);
    const StartResult again = co_await start_registry(self, Mode::duplicate);
    probe->note(again.already_started && again.pid == first.pid ? "already_started" : "??");
    try {
        co_await registry::start_link(self, Options("other", Mode::unique, 0));
    } catch (const std::invalid_argument& e) {
        probe->note(e.what());
    }
    const MonitorRef nobody = self.spawn_monitor([](Self s) -> Process {
        co_await registry::register_key(s, "no-such-registry", "k");
    }).second;
    probe->note("register " + (co_await down(self, nobody)).to_string());
}

// A name clash at start gives {already_started, Pid}; bad partitions raise (Elixir's
// ArgumentError); a missing registry exits the caller with noproc.
TEST_P(RegistryTest, StartClashAndErrors) {
    EXPECT_EQ(run_root(GetParam(), nullptr, errors_root),
              (Events{"already_started", "expected :partitions to be a positive integer, got: 0",
                      "register {noproc,{gen_server,call,[no-such-registry,_,infinity]}}"}));
}

}  // namespace
}  // namespace bedlam
