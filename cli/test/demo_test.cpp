// The demo system: replayable per seed, different across seeds, and it ends cleanly.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "demo.hpp"

namespace bedlam::cli {
namespace {

TEST(Demo, SameSeedSameHashAndLog) {
    const DemoResult a = run_demo(42, Policy::random, nullptr);
    const DemoResult b = run_demo(42, Policy::random, nullptr);
    EXPECT_EQ(a.hash, b.hash);
    EXPECT_EQ(a.log, b.log);
    EXPECT_EQ(a.events, b.events);
}

TEST(Demo, DifferentSeedsGiveDifferentRuns) {
    std::set<std::uint64_t> hashes;
    std::set<std::vector<std::string>> logs;
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
        const DemoResult r = run_demo(seed, Policy::random, nullptr);
        hashes.insert(r.hash);
        logs.insert(r.log);
    }
    EXPECT_EQ(hashes.size(), 8U);
    EXPECT_GE(logs.size(), 2U);
}

TEST(Demo, EndsWithEveryProcessExitedAndSomeAbnormalExits) {
    bool saw_crash = false;
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
        const DemoResult r = run_demo(seed, Policy::random, nullptr);
        EXPECT_EQ(r.run.stop, RunResult::Stop::idle) << "seed " << seed;
        EXPECT_FALSE(r.run.deadlock()) << "seed " << seed;
        ASSERT_FALSE(r.log.empty());
        EXPECT_NE(r.log.back().find("all clients done"), std::string::npos) << r.log.back();
        for (const std::string& line : r.log) {
            saw_crash = saw_crash || line.find("overdraft") != std::string::npos;
        }
    }
    EXPECT_TRUE(saw_crash);
}

TEST(Demo, EveryPolicyRunsAndReplays) {
    for (const Policy policy : {Policy::random, Policy::fifo, Policy::pct}) {
        const DemoResult a = run_demo(3, policy, nullptr);
        const DemoResult b = run_demo(3, policy, nullptr);
        EXPECT_EQ(a.hash, b.hash) << to_string(policy);
        EXPECT_FALSE(a.run.deadlock()) << to_string(policy);
    }
}

TEST(Demo, JsonTraceHasOneLinePerEvent) {
    std::ostringstream trace;
    const DemoResult r = run_demo(5, Policy::random, &trace);
    std::istringstream in(trace.str());
    std::string line;
    std::uint64_t lines = 0;
    std::string last;
    while (std::getline(in, line)) {
        ++lines;
        last = line;
    }
    EXPECT_EQ(lines, r.events);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r.hash));
    EXPECT_NE(last.find(std::string("\"h\":\"") + hex + "\""), std::string::npos) << last;
}

TEST(Demo, SummaryLineFormat) {
    EXPECT_EQ(summary_line(7, 0xabcULL), "seed=7 hash=0000000000000abc");
}

}  // namespace
}  // namespace bedlam::cli
