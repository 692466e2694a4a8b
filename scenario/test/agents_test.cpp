// The agent stories' stock behaviours, each run in a small scenario: linked spies share fate, a
// handler outlives its spy and resumes the mission, an agent state machine serves postponed
// submissions in order and fails slow jobs by time-out, and agents started at run time through
// a DynamicSupervisor are found through the Registry.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "bedlam/scenario/load.hpp"
#include "bedlam/scenario/run.hpp"
#include "bedlam/scenario/stock.hpp"

#include "support.hpp"

namespace bedlam::scenario {
namespace {

using test::problems;
using test::replace;
using test::run_text;
using test::show;

int restarts(const RunReport& r, const std::string& path) {
    const auto it = r.restarts.find(path);
    return it == r.restarts.end() ? 0 : it->second;
}

TEST(StockBehaviours, NamesAreUnique) {
    // Behaviours are found by name, first match first: a second one of a name would never run.
    std::set<std::string> names;
    for (const StockBehaviour& b : stock_behaviours()) {
        EXPECT_TRUE(names.insert(b.name).second) << b.name;
    }
}

// -- Linked spies ----------------------------------------------------------------------------

// Two spies under different supervisors: only the link binds them.
constexpr const char* spies = R"(name: spies
run: {duration: 4s}
tree:
  id: mission
  intensity: 5
  children:
    - id: london
      supervisor:
        intensity: 5
        children:
          - {id: alice, behaviour: spy, restart: transient, args: {partner: bob, work: 100ms}}
    - id: vienna
      supervisor:
        intensity: 5
        children:
          - {id: bob, behaviour: spy, restart: transient, args: {partner: alice, work: 100ms}}
faults:
  until: 2s
  plan:
    - {kind: kill, target: mission/london/alice, at: 1050ms}
expect:
  - metric: halves_orphaned
    max: 0
)";

TEST(AgentStories, KillingOneSpyKillsItsLinkedPartner) {
    const RunReport r = run_text(spies);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_EQ(restarts(r, "mission/london/alice"), 1) << show(r);
    EXPECT_EQ(restarts(r, "mission/vienna/bob"), 1) << show(r);  // The link took bob down.
    EXPECT_EQ(r.metrics.value("halves_orphaned"), 0U);
    // A formula every 100 ms but for the one the kill interrupted.
    EXPECT_GE(r.metrics.value("formulas"), 35U) << show(r);
    EXPECT_LE(r.metrics.value("formulas"), 40U) << show(r);
}

TEST(AgentStories, WithoutTheLinkTheSurvivorHoldsAnOrphanedHalf) {
    // The invariant's metric catches a missing link: bob lives on, and the half he finished
    // after alice died is never matched.
    std::string text = replace(spies, "work: 100ms}}\n    - id: vienna",
                               "work: 100ms, link: false}}\n    - id: vienna");
    text = replace(text, "partner: alice, work: 100ms}",
                   "partner: alice, work: 100ms, link: false}");
    const RunReport r = run_text(text);
    EXPECT_EQ(r.verdict, Verdict::fail) << show(r);
    EXPECT_EQ(restarts(r, "mission/london/alice"), 1) << show(r);
    EXPECT_EQ(restarts(r, "mission/vienna/bob"), 0) << show(r);
    EXPECT_EQ(r.metrics.value("halves_orphaned"), 1U) << show(r);
    ASSERT_EQ(r.failures.size(), 1U) << show(r);
    EXPECT_TRUE(r.failures[0].starts_with("metric halves_orphaned in 0..0 FAILED")) << show(r);
}

TEST(AgentStories, LinkedSpiesKeepTheInvariantUnderRandomKills) {
    std::string text = replace(spies, "at: 1050ms}", "rate: 3}");
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        const RunReport r = run_text(text, seed);
        EXPECT_EQ(r.verdict, Verdict::pass) << "seed " << seed << "\n" << show(r);
        // Whoever was struck, both restarted together.
        EXPECT_EQ(restarts(r, "mission/london/alice"), restarts(r, "mission/vienna/bob"))
            << "seed " << seed << "\n" << show(r);
    }
}

// -- A handler and its spy ---------------------------------------------------------------------

constexpr const char* handler = R"(name: handler
run: {duration: 3s}
tree:
  id: mi6
  children:
    - {id: handler, behaviour: handler, args: {name: spy, documents: 10, every: 100ms}}
faults:
  until: 2s
  plan:
    - {kind: kill, target: "name:spy", at: 450ms}
expect:
  - restarts: mi6/handler
    max: 0
  - metric: documents_out_of_order
    max: 0
)";

TEST(AgentStories, TheHandlerOutlivesItsSpyAndResumesTheMission) {
    // Spy 1 gets documents 1-4 home and is killed at 450 ms; spy 2 resumes at document 5 and
    // completes the mission at 1050 ms; the second mission ends at 2050 ms, the third is under
    // way when the run ends at 3 s.
    const RunReport r = run_text(handler);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_EQ(r.metrics.value("spies_lost"), 1U) << show(r);
    EXPECT_EQ(r.metrics.value("missions_completed"), 2U) << show(r);
    EXPECT_EQ(r.metrics.value("missions_recovered"), 1U) << show(r);
    EXPECT_EQ(r.metrics.value("documents_out_of_order"), 0U) << show(r);
    EXPECT_EQ(r.metrics.value("documents_home"), 29U) << show(r);
    EXPECT_EQ(restarts(r, "mi6/handler/spy"), 3) << show(r);  // Four spies in all.
}

TEST(AgentStories, AHandlerAbandonsAMissionAfterItsAttempts) {
    std::string text = replace(handler, "every: 100ms}", "every: 100ms, attempts: 2}");
    text = replace(text, "at: 450ms}",
                   "at: 450ms}\n    - {kind: kill, target: \"name:spy\", at: 520ms}");
    const RunReport r = run_text(text);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_EQ(r.metrics.value("spies_lost"), 2U) << show(r);
    EXPECT_EQ(r.metrics.value("missions_abandoned"), 1U) << show(r);
    EXPECT_EQ(r.metrics.value("missions_recovered"), 0U) << show(r);
    // 4 documents home, a pause of 100 ms, then the next missions from 620 ms: complete at
    // 1620 ms and 2620 ms, and 3 documents of the third by 3 s.
    EXPECT_EQ(r.metrics.value("missions_completed"), 2U) << show(r);
    EXPECT_EQ(r.metrics.value("documents_home"), 27U) << show(r);
}

TEST(AgentStories, KillingTheHandlerRecallsItsSpy) {
    // The spy monitors its handler and goes home when it is gone, so the restarted handler's
    // first mission (450 ms to 1450 ms) is not held up by the old spy, nor is its name taken.
    std::string text =
        replace(handler, "target: \"name:spy\", at: 450ms", "target: mi6/handler, at: 450ms");
    text = replace(text, "  - restarts: mi6/handler\n    max: 0\n", "");
    text = replace(text, "duration: 3s", "duration: 1500ms");
    const RunReport r = run_text(text);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_EQ(restarts(r, "mi6/handler"), 1) << show(r);
    EXPECT_EQ(r.metrics.value("missions_completed"), 1U) << show(r);
    EXPECT_EQ(r.metrics.value("spies_lost"), 0U) << show(r);  // It went home: a normal exit.
}

// -- An agent state machine --------------------------------------------------------------------

constexpr const char* agent = R"(name: agent
run: {duration: 5s}
tree:
  id: office
  children:
    - {id: agent, behaviour: agent, args: {budget: 300ms}}
workload:
  - id: submitters
    behaviour: submitter
    count: 3
    args: {target: agent, every: 50ms, job_min: 100ms, job_max: 100ms, buggy_one_in: 0}
expect:
  - metric: jobs_out_of_order
    max: 0
  - metric: replies_wrong
    max: 0
)";

TEST(AgentStories, PostponedSubmissionsAreServedInOrder) {
    // Three submitters keep the agent busy: most submissions wait their turn, postponed.
    const RunReport r = run_text(agent);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_GE(r.metrics.value("jobs_completed"), 45U) << show(r);  // One per 100 ms, nearly.
    EXPECT_GE(r.metrics.value("jobs_postponed"), 40U) << show(r);
    EXPECT_EQ(r.metrics.value("jobs_out_of_order"), 0U) << show(r);
    EXPECT_EQ(r.metrics.value("jobs_crashed") + r.metrics.value("jobs_timed_out"), 0U);
    EXPECT_EQ(r.metrics.calls, r.metrics.calls_ok) << show(r);
    EXPECT_EQ(r.metrics.value("replies_wrong"), 0U);
}

TEST(AgentStories, ASlowJobFailsByTimeOutAndABuggyOneByItsCrash) {
    std::string slow =
        replace(agent, "job_min: 100ms, job_max: 100ms", "job_min: 400ms, job_max: 400ms");
    slow = replace(slow, "count: 3", "count: 1");
    const RunReport r = run_text(slow);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_GE(r.metrics.value("jobs_timed_out"), 10U) << show(r);  // Every 350 ms.
    EXPECT_EQ(r.metrics.value("jobs_completed"), 0U) << show(r);
    EXPECT_EQ(r.metrics.value("replies_wrong"), 0U) << show(r);
    EXPECT_EQ(r.metrics.calls, r.metrics.calls_ok) << show(r);

    std::string buggy = replace(agent, "buggy_one_in: 0", "buggy_one_in: 1");
    const RunReport b = run_text(buggy);
    EXPECT_EQ(b.verdict, Verdict::pass) << show(b);
    EXPECT_GE(b.metrics.value("jobs_crashed"), 40U) << show(b);  // Each after 50 ms.
    EXPECT_EQ(b.metrics.value("jobs_completed") + b.metrics.value("jobs_timed_out"), 0U);
    EXPECT_EQ(restarts(b, "office/agent"), 0) << show(b);  // A worker's crash is not the agent's.
}

TEST(AgentStories, JobsAreDrawnFromTheRunsSeed) {
    // Durations from 50 ms to 400 ms under a 300 ms budget: some jobs of each kind, and the mix
    // changes with the seed and replays with it.
    const std::string mixed = replace(agent, "job_min: 100ms, job_max: 100ms, buggy_one_in: 0",
                                      "job_min: 50ms, job_max: 400ms, buggy_one_in: 5");
    const RunReport a = run_text(mixed, 1);
    const RunReport b = run_text(mixed, 2);
    EXPECT_EQ(a.verdict, Verdict::pass) << show(a);
    EXPECT_EQ(b.verdict, Verdict::pass) << show(b);
    EXPECT_GT(a.metrics.value("jobs_timed_out"), 0U) << show(a);
    EXPECT_GT(a.metrics.value("jobs_crashed"), 0U) << show(a);
    EXPECT_GT(a.metrics.value("jobs_completed"), 0U) << show(a);
    EXPECT_NE(a.metrics.counters, b.metrics.counters);
    EXPECT_EQ(run_text(mixed, 1).metrics.counters, a.metrics.counters);
}

// -- An agent framework ------------------------------------------------------------------------

constexpr const char* framework = R"(name: framework
run: {duration: 3s}
tree:
  id: fw
  strategy: rest_for_one
  children:
    - {id: registry, behaviour: registry}
    - id: agents
      supervisor: {dynamic: true, intensity: 5}
workload:
  - id: ops
    behaviour: operator
    args: {registry: registry, supervisor: agents, tasks: 4, every: 100ms}
expect:
  - metric: registry_misses
    max: 0
  - metric: stale_names
    max: 0
)";

TEST(AgentStories, AgentsStartedAtRunTimeAreFoundThroughTheRegistry) {
    // Each agent lives for 4 tasks, one every 100 ms: 7 agents in 3 s, 6 of them retired.
    const RunReport r = run_text(framework);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_EQ(r.metrics.value("agents_started"), 7U) << show(r);
    EXPECT_EQ(r.metrics.value("agents_found"), 7U) << show(r);
    EXPECT_EQ(r.metrics.value("agents_stopped"), 6U) << show(r);
    EXPECT_GT(r.metrics.value("agent_tasks"), 6U * 4U) << show(r);
    EXPECT_LE(r.metrics.value("agent_tasks"), 7U * 4U) << show(r);
    EXPECT_EQ(r.metrics.value("agents_came_back") + r.metrics.value("agents_lost") +
                  r.metrics.value("agent_tasks_failed"),
              0U)
        << show(r);
}

TEST(AgentStories, AKilledAgentComesBackUnderItsName) {
    // Killed at 250 ms (between its second and third task), the first agent is restarted by
    // the DynamicSupervisor under the same name and answers its remaining tasks.
    const std::string text = replace(framework, "expect:",
                                     "faults:\n  until: 1s\n  plan:\n    - {kind: kill, target: "
                                     "\"fw/agents/*\", at: 250ms}\nexpect:\n  - restarts: "
                                     "\"fw/agents/*\"\n    min: 1\n    max: 1");
    const RunReport r = run_text(text);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_EQ(restarts(r, "fw/agents/agent-0-0"), 1) << show(r);
    EXPECT_EQ(r.metrics.value("agents_came_back"), 1U) << show(r);
    EXPECT_EQ(r.metrics.value("agent_tasks_failed"), 0U) << show(r);
    EXPECT_EQ(r.metrics.value("agents_lost"), 0U) << show(r);
}

TEST(AgentStories, TheRegistryDyingTakesTheAgentsWithItUnderRestForOne) {
    const std::string text = replace(
        framework, "expect:",
        "faults:\n  until: 1s\n  plan:\n    - {kind: kill, target: fw/registry, at: 250ms}\n"
        "expect:");
    const RunReport r = run_text(text);
    EXPECT_EQ(r.verdict, Verdict::pass) << show(r);
    EXPECT_EQ(restarts(r, "fw/registry"), 1) << show(r);
    EXPECT_EQ(restarts(r, "fw/agents"), 1) << show(r);
    EXPECT_EQ(r.metrics.value("agents_lost"), 1U) << show(r);
    EXPECT_GE(r.metrics.value("agent_tasks_failed"), 1U) << show(r);
    EXPECT_EQ(r.metrics.value("agents_started"), 7U) << show(r);  // The operator goes on.
}

// -- Loading ---------------------------------------------------------------------------------

TEST(AgentStoriesLoad, ADynamicSupervisorIsANameAndItsChildrenArePatterns) {
    // Clients name a dynamic supervisor by its id; faults and restarts may aim at its children
    // with a pattern (their ids come at run time), not at a child by an id.
    const std::string good = replace(
        framework, "expect:",
        "faults:\n  plan:\n    - {kind: kill, target: \"fw/agents/*\", rate: 1}\nexpect:\n"
        "  - restarts: \"fw/agents/*\"\n    max: 5");
    EXPECT_EQ(problems(good), std::vector<std::string>{"(loaded without problems)"});
    const auto by_id = problems(replace(good, "target: \"fw/agents/*\"", "target: fw/agents/a1"));
    ASSERT_EQ(by_id.size(), 1U);
    EXPECT_NE(by_id[0].find("path 'fw/agents/a1' matches no process in the tree"),
              std::string::npos)
        << by_id[0];
    EXPECT_EQ(problems(replace(framework, "supervisor: agents,", "supervisor: agent,")),
              (std::vector<std::string>{"bad.yaml:13:44: no worker is registered as `agent` "
                                        "(servers register under their id or `name`)"}));
    // A supervisor that is not dynamic registers no name.
    const auto fixed = problems(replace(framework, "supervisor: {dynamic: true, intensity: 5}",
                                        "supervisor: {children: [{id: w, behaviour: periodic}]}"));
    ASSERT_EQ(fixed.size(), 1U);
    EXPECT_NE(fixed[0].find("no worker is registered as `agents`"), std::string::npos) << fixed[0];
}

TEST(AgentStoriesLoad, ArgumentsAreChecked) {
    EXPECT_EQ(problems(replace(spies, "partner: bob,", "partner: bobby,")),
              (std::vector<std::string>{"bad.yaml:11:77: no worker is registered as `bobby` "
                                        "(servers register under their id or `name`)"}));
    const auto link = problems(replace(spies, "partner: bob,", "partner: bob, link: maybe,"));
    ASSERT_EQ(link.size(), 1U);
    EXPECT_NE(link[0].find("`link` must be true or false, got `maybe`"), std::string::npos)
        << link[0];
    const auto spy = problems(replace(spies, "partner: bob, work: 100ms", "work: 100ms"));
    ASSERT_EQ(spy.size(), 1U);
    EXPECT_NE(spy[0].find("`spy` needs the argument `partner`"), std::string::npos) << spy[0];
    const auto budget = problems(replace(agent, "budget: 300ms", "budget: soon"));
    ASSERT_EQ(budget.size(), 1U);
    EXPECT_NE(budget[0].find("`budget` must be a duration"), std::string::npos) << budget[0];
    const auto docs = problems(replace(handler, "documents: 10", "documents: -1"));
    ASSERT_EQ(docs.size(), 1U);
    EXPECT_NE(docs[0].find("`documents` must be a whole number"), std::string::npos) << docs[0];
}

}  // namespace
}  // namespace bedlam::scenario
