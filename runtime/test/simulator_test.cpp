// Simulator: virtual time, policies, determinism of the trace hash, deadlock reporting.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "bedlam/runtime.hpp"

namespace bedlam {
namespace {

using namespace std::chrono_literals;

struct Ping {
    Pid from;
    int n;
};
struct Pong {
    int n;
};

Process ponger(Self self) {
    for (;;) {
        Ping p = co_await self.receive<Ping>();
        self.send(p.from, Pong{p.n});
    }
}

Process pinger(Self self, Pid peer, int rounds, std::vector<int>* seen) {
    for (int i = 0; i < rounds; ++i) {
        self.send(peer, Ping{self.pid(), i});
        Pong p = co_await self.receive<Pong>();
        seen->push_back(p.n);
    }
}

TEST(Simulator, PingPongCompletesAndPongerDeadlocks) {
    Simulator sim(SimConfig{.seed = 1});
    std::vector<int> seen;
    const Pid pong = sim.spawn(ponger);
    sim.spawn(pinger, pong, 5, &seen);
    const RunResult r = sim.run();
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(r.stop, RunResult::Stop::idle);
    ASSERT_TRUE(r.deadlock());
    EXPECT_EQ(r.deadlocked, std::vector<Pid>{pong});
}

Process sleeper(Self self, Ticks* woke_at) {
    co_await self.sleep(250ms);
    *woke_at = self.now();
}

TEST(Simulator, VirtualClockJumpsToNextTimer) {
    Simulator sim;
    Ticks woke_at = -1;
    sim.spawn(sleeper, &woke_at);
    const RunResult r = sim.run();
    EXPECT_EQ(woke_at, Ticks{250'000'000});
    EXPECT_EQ(r.now, Ticks{250'000'000});
    EXPECT_FALSE(r.deadlock());
}

}  // namespace
}  // namespace bedlam
