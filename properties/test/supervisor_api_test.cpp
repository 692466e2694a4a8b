// The API model and its harness (bedlam/properties/supervisor_api.hpp) on hand-worked cases:
// calls to children (otp-semantics §5.1) as the model predicts them and the real runtime answers
// them, and the harness's check failing where it must (a wrong reply, a wrong call outcome, the
// planted intensity bug), so that a difference the schedule fuzzer's API case reports is one the
// check can see.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "bedlam/properties/supervisor_api.hpp"

namespace bedlam::properties::stateful {
namespace {

/// one_for_one, intensity 1 in 5 s, one permanent child `a`.
SupModel one_child() {
    SupModel m;
    m.strategy = Strategy::one_for_one;
    m.intensity = 1;
    m.period_s = 5;
    ChildDesc a;
    a.id = "a";
    m.children.push_back(ModelChild{a, -1});
    return m;
}

/// Checks the start of `sut`, which runs `m` (before its init).
void check_start(SupModel& m, Sut& sut) {
    const Effect e = m.init();
    EXPECT_TRUE(sut.started().ok());
    EXPECT_EQ(sut.check(e, std::nullopt, m.expected()), "");
}

TEST(SupervisorApi, ALiveChildRepliesAndADeadOnesPidExitsTheCallerWithNoproc) {
    SupModel m = one_child();
    Sut sut(7, setup_of(m));
    check_start(m, sut);
    Effect e = m.call(0, std::nullopt);
    EXPECT_EQ(e.call, std::optional<std::string>("reply a"));
    sut.call_child(0, std::nullopt);
    EXPECT_EQ(sut.check(e, std::nullopt, m.expected()), "");

    e = m.exit(0, ExitReason::killed());  // Restarted as instance 1.
    sut.kill(0);
    EXPECT_EQ(sut.check(e, std::nullopt, m.expected()), "");

    e = m.call(0, std::nullopt);
    EXPECT_EQ(e.call,
              std::optional<std::string>("exit {noproc,{gen_server,call,[#0,_,infinity]}}"));
    sut.call_child(0, std::nullopt);
    EXPECT_EQ(sut.check(e, std::nullopt, m.expected()), "");

    e = m.call(1, std::nullopt);
    sut.call_child(1, std::nullopt);
    EXPECT_EQ(sut.check(e, std::nullopt, m.expected()), "");
}

TEST(SupervisorApi, AChildThatExitsInsteadOfReplyingExitsTheCallerWithItsReason) {
    SupModel m = one_child();
    Sut sut(7, setup_of(m));
    check_start(m, sut);
    const Effect e = m.call(0, ExitReason::shutdown("chaos"));
    EXPECT_EQ(e.call, std::optional<std::string>(
                          "exit {{shutdown,chaos},{gen_server,call,[#0,_,infinity]}}"));
    EXPECT_EQ(e.log, (Log{"crash a {shutdown,chaos}", "start a"}));  // Permanent: restarted.
    sut.call_child(0, ExitReason::shutdown("chaos"));
    EXPECT_EQ(sut.check(e, std::nullopt, m.expected()), "");
}

TEST(SupervisorApi, TheCheckReportsAWrongCallOutcome) {
    SupModel m = one_child();
    Sut sut(7, setup_of(m));
    check_start(m, sut);
    Effect e = m.exit(0, ExitReason::killed());
    sut.kill(0);
    EXPECT_EQ(sut.check(e, std::nullopt, m.expected()), "");
    Effect wrong;
    wrong.call = "reply a";  // Instance 0 is dead: the call exits with noproc.
    sut.call_child(0, std::nullopt);
    EXPECT_EQ(sut.check(wrong, std::nullopt, m.expected()),
              "the call's outcome: expected reply a\n"
              "  got exit {noproc,{gen_server,call,[#0,_,infinity]}}");
}

TEST(SupervisorApi, TheCheckReportsAWrongReply) {
    SupModel m = one_child();
    Sut sut(7, setup_of(m));
    check_start(m, sut);
    ChildDesc a;
    a.id = "a";
    Effect e = m.start_child(a);  // {error,{already_started,#0}}
    EXPECT_EQ(e.reply->error, SupError::already_started);
    e.reply = ModelReply{SupError::already_present, -1};
    const std::optional<SupReply> got = sut.start_child(a);
    EXPECT_EQ(sut.check(e, got, m.expected()),
              "the reply: expected {error,already_present}\n"
              "  got {error,{already_started,#0}}");
}

TEST(SupervisorApi, TheCheckCatchesThePlantedIntensityBug) {
    // Intensity 1: the second restart within the period makes the supervisor give up (§3.9);
    // the mutated one gives up one restart late.
    for (const SupFlags::Mutation mutation :
         {SupFlags::Mutation::none, SupFlags::Mutation::intensity_off_by_one}) {
        SupModel m = one_child();
        Sut sut(7, setup_of(m, mutation));
        check_start(m, sut);
        Effect e = m.exit(0, ExitReason::killed());
        sut.kill(0);
        EXPECT_EQ(sut.check(e, std::nullopt, m.expected()), "");
        e = m.exit(1, ExitReason::killed());
        EXPECT_FALSE(m.alive);
        sut.kill(1);
        const std::string difference = sut.check(e, std::nullopt, m.expected());
        if (mutation == SupFlags::Mutation::none) {
            EXPECT_EQ(difference, "");
        } else {
            // It restarted the child instead of giving up.
            EXPECT_EQ(difference, "the children's log: expected  | any order: \n"
                                  "  got  | any order: start a");
        }
    }
}

}  // namespace
}  // namespace bedlam::properties::stateful
