// The systems stories' stock behaviours (stock_systems.cpp), each run in a small scenario: a
// database pool is never stale under one_for_all and is under one_for_one; chat rooms restart
// and their members join again, through a registry that forgets dead rooms; a video player
// loses its position on every restart.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "bedlam/scenario/load.hpp"
#include "bedlam/scenario/run.hpp"

#include "support.hpp"

namespace bedlam::scenario {
namespace {

using test::problems;
using test::replace;
using test::run_text;
using test::show;

std::string load_problems(const std::string& text) {
    try {
        (void)load_string(text, "bad.yaml");
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(loaded without problems)";
}

// -- The database pool ----------------------------------------------------------------------------

// Three connections (the manager started last), four clients, connections killed at random.
constexpr const char* pool = R"(name: pool
run: {duration: 5s}
services:
  - {name: db}
tree:
  id: app
  intensity: 3
  period: 5
  children:
    - id: pool
      supervisor:
        strategy: one_for_all
        intensity: 20
        period: 5
        children:
          - {id: c1, behaviour: connection, args: {pool: manager, service: db}}
          - {id: c2, behaviour: connection, args: {pool: manager, service: db}}
          - {id: c3, behaviour: connection, args: {pool: manager, service: db}}
          - {id: manager, behaviour: pool}
workload:
  - {id: q, behaviour: querier, count: 4, args: {pool: manager}}
faults:
  until: 4s
  plan:
    - {kind: kill, target: "app/pool/c*", rate: 2}
expect:
  - metric: stale_checkouts
    max: 0
)";

TEST(SystemsPool, UnderOneForAllNoCheckoutHandsOutADeadConnection) {
    // Every death in the pool restarts the manager with it, so it never holds a dead pid.
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        const RunReport r = run_text(pool, seed);
        EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
        EXPECT_EQ(r.metrics.value("stale_checkouts"), 0U) << show(r);
        EXPECT_GE(r.restarts.at("app/pool/manager"), 2) << show(r);
        // Four clients, one query each every 25 ms or so, for 5 s: most succeed.
        EXPECT_GT(r.metrics.value("queries_ok"), 600U) << show(r);
        // Each incarnation's three connections register, but for one killed before it could
        // (seed 3 has two kills 0.8 ms apart).
        EXPECT_GE(r.metrics.value("connects"),
                  3U * static_cast<std::uint64_t>(r.restarts.at("app/pool/c1")))
            << show(r);
    }
}

TEST(SystemsPool, UnderOneForOneTheManagerHandsOutDeadConnections) {
    // The same faults, but only the dead connection restarts: it registers again under a new
    // pid, and the manager, which never watches its connections, still hands out the old one.
    const std::string text =
        replace(pool, "strategy: one_for_all", "strategy: one_for_one");
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        const RunReport r = run_text(text, seed);
        EXPECT_EQ(r.verdict, Verdict::fail) << show(r);
        EXPECT_GT(r.metrics.value("stale_checkouts"), 0U) << show(r);
        EXPECT_EQ(r.restarts.count("app/pool/manager"), 0U) << show(r);
    }
}

TEST(SystemsPool, ADatabaseOutageFailsQueriesAndRestartsThePoolUntilItIsBack) {
    // No chaos: the database is down from 1 s to 1.5 s. The first query to find it gone crashes
    // its connection (and the pool); connects fail until it is back; then queries succeed again.
    std::string text = replace(pool, "  - {name: db}", "  - {name: db, down: [{from: 1s, until: 1.5s}]}");
    text = replace(text, "    - {kind: kill, target: \"app/pool/c*\", rate: 2}\n", "");
    text = replace(text, "  plan:\n", "  plan: []\n");
    const RunReport r = run_text(text, 1);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_GE(r.restarts.at("app/pool/manager"), 2) << show(r);  // The crash, then failed connects.
    // Half a second of queries fail, most after waiting 50 ms for a connection.
    EXPECT_GT(r.metrics.value("checkout_timeouts"), 10U) << show(r);
    EXPECT_GT(r.metrics.value("queries_failed"), 20U) << show(r);
    EXPECT_LT(r.metrics.value("queries_failed"), 80U) << show(r);
    EXPECT_GT(r.metrics.value("queries_ok"), 600U) << show(r);  // Before and after.
    EXPECT_EQ(r.metrics.value("stale_checkouts"), 0U) << show(r);
}

// -- Chat rooms -----------------------------------------------------------------------------------

constexpr const char* chat = R"(name: chat
run: {duration: 3s}
tree:
  id: chat
  strategy: rest_for_one
  intensity: 20
  period: 5
  children:
    - {id: registry, behaviour: registry}
    - {id: lobby, behaviour: room, args: {registry: registry}}
workload:
  - {id: c, behaviour: chatter, count: 3, args: {registry: registry, room: lobby}}
faults:
  until: 2s
  plan:
    - {kind: kill, target: chat/lobby, at: 1.03s}
expect:
  - metric: stale_lookups
    max: 0
)";

TEST(SystemsChat, PostsReachTheRoomAfterItRestarts) {
    // The restarted room has no members; each chatter sees it die, finds the new one in the
    // registry and joins it, and its posts reach the others again.
    const RunReport r = run_text(chat, 1);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_EQ(r.restarts.at("chat/lobby"), 1) << show(r);
    EXPECT_EQ(r.metrics.value("joins"), 3U) << show(r);
    EXPECT_EQ(r.metrics.value("rejoins"), 3U) << show(r);
    // Three chatters post every 100 ms for 3 s: 29 rounds. A post in flight when the room dies
    // fails, and so may one made before its chatter has joined the new room.
    const std::uint64_t posts = r.metrics.value("posts");
    EXPECT_GE(posts, 3U * 29U - 3U) << show(r);
    EXPECT_LE(r.metrics.value("posts_failed"), 3U) << show(r);
    // Each post goes to the two other members (a member that has not joined yet misses it).
    EXPECT_GE(r.metrics.value("deliveries"), 2 * posts - 6) << show(r);
    EXPECT_LE(r.metrics.value("deliveries"), 2 * posts) << show(r);
}

TEST(SystemsChat, NoLookupGivesADeadRoomUnderKills) {
    // The registry drops a dead room's entry before any chatter, woken by the same death, can
    // look it up (its EXIT is ahead of their lookups in the registry's mailbox).
    const std::string text = replace(chat, "    - {kind: kill, target: chat/lobby, at: 1.03s}",
                                     "    - {kind: kill, target: chat/lobby, rate: 5}");
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        const RunReport r = run_text(text, seed);
        EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
        EXPECT_GE(r.restarts.at("chat/lobby"), 3) << show(r);
        EXPECT_EQ(r.metrics.value("stale_lookups"), 0U) << show(r);
        EXPECT_GE(r.metrics.value("rejoins"), 9U) << show(r);
    }
}

TEST(SystemsChat, ALookupAnswerThatArrivesLateCanNameADeadRoom) {
    // otp-semantics §7.2: a lookup may give a process that has died. Delay the answers on
    // their way to the chatters, and a room dies meanwhile: stale_lookups counts it, and the
    // expectation fails.
    const std::string text =
        replace(chat, "    - {kind: kill, target: chat/lobby, at: 1.03s}",
                "    - {kind: kill, target: chat/lobby, rate: 5}\n"
                "    - {kind: delay, target: \"workload/**\", probability: 0.5, min_delay: 20ms, "
                "max_delay: 200ms}");
    std::uint64_t stale = 0;
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        stale += run_text(text, seed).metrics.value("stale_lookups");
    }
    EXPECT_GT(stale, 0U);
}

TEST(SystemsChat, ARoomNeedsAUniqueRegistry) {
    // A via name in a duplicate registry is refused (§7.3): the room cannot start.
    const RunReport r = run_text(
        replace(chat, "behaviour: registry}", "behaviour: registry, args: {duplicate: true}}"), 1);
    EXPECT_EQ(r.verdict, Verdict::fail);
    ASSERT_FALSE(r.failures.empty());
    EXPECT_NE(r.failures[0].find("the tree failed to start"), std::string::npos) << show(r);
}

// -- The video player -----------------------------------------------------------------------------

constexpr const char* video = R"(name: video
run: {duration: 4.05s}
tree:
  id: video
  children:
    - {id: player, behaviour: player}
workload:
  - {id: v, behaviour: viewer, count: 1, args: {player: player, every: 100ms}}
faults:
  until: 3s
  plan:
    - {kind: kill, target: video/player, at: 2.05s}
expect:
  - metric: position_lost_ms
    min: 1
)";

TEST(SystemsPlayer, ARestartMidPlayLosesThePosition) {
    // The viewer saw 2000 ms at 2 s; the player died at 2.05 s and started over, so at 2.1 s it
    // says 50 ms: 1950 ms lost, once.
    const RunReport r = run_text(video, 1);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_EQ(r.metrics.value("rewinds"), 1U) << show(r);
    EXPECT_EQ(r.metrics.value("position_lost_ms"), 1950U) << show(r);
    EXPECT_EQ(r.metrics.value("positions"), 40U) << show(r);  // Every 100 ms for 4 s.
}

TEST(SystemsPlayer, WithoutARestartThePositionOnlyMovesOn) {
    const RunReport r = run_text(replace(video, "at: 2.05s", "at: 5s"), 1);
    EXPECT_EQ(r.verdict, Verdict::fail) << show(r);  // The expected loss did not happen.
    EXPECT_EQ(r.metrics.value("rewinds"), 0U) << show(r);
    EXPECT_EQ(r.metrics.value("position_lost_ms"), 0U) << show(r);
    EXPECT_EQ(r.metrics.value("positions"), 40U) << show(r);
}

// -- Loading --------------------------------------------------------------------------------------

TEST(SystemsLoad, ArgumentsMustNameRegisteredWorkersAndDeclaredServices) {
    EXPECT_NE(load_problems(replace(pool, "{pool: manager}}", "{pool: manger}}"))
                  .find("no worker is registered as `manger`"),
              std::string::npos);
    EXPECT_NE(load_problems(replace(pool, "{pool: manager, service: db}}",
                                    "{pool: manager, service: pg}}"))
                  .find("unknown service `pg`"),
              std::string::npos);
    EXPECT_NE(load_problems(replace(chat, "{registry: registry, room: lobby}",
                                    "{registry: rooms, room: lobby}"))
                  .find("no worker is registered as `rooms`"),
              std::string::npos);
    EXPECT_NE(load_problems(replace(video, "{player: player,", "{player: lobby,"))
                  .find("no worker is registered as `lobby`"),
              std::string::npos);
}

}  // namespace
}  // namespace bedlam::scenario
