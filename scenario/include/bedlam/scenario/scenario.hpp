// A scenario: a supervision tree of stock behaviours, the world around it (external services,
// a workload of clients), a fault plan, expectations and run settings. Loaded from YAML
// (load.hpp, docs/scenarios.md) and run in the simulator (run.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/runtime/simulator.hpp"
#include "bedlam/runtime/supervisor.hpp"

namespace bedlam::scenario {

/// Where something was written: file, 1-based line and column (0: unknown).
struct Place {
    std::string file;
    int line = 0;
    int column = 0;

    /// `file:line:column`, or what of it is known.
    [[nodiscard]] std::string to_string() const;
};

/// Bad input: every problem found, each `file:line:column: what is wrong`, one per line.
class ScenarioError : public std::runtime_error {
public:
    explicit ScenarioError(std::vector<std::string> problems);
    [[nodiscard]] const std::vector<std::string>& problems() const noexcept { return problems_; }

private:
    std::vector<std::string> problems_;
};

/// A worker's or client's arguments, checked against its behaviour's declared parameters when
/// the scenario is loaded (unknown names and wrong types are errors there, not at run time).
struct ArgValue {
    std::string text;                // A scalar's text.
    std::vector<std::string> items;  // A list's items.
    bool is_list = false;
    Place at;
};
using Args = std::map<std::string, ArgValue>;

struct SupervisorNode;

/// A child of a supervisor: a worker running a stock behaviour, or a nested supervisor.
struct ChildNode {
    std::string id;
    Restart restart = Restart::permanent;
    std::optional<Shutdown> shutdown;  // Default: 5 s for workers, infinity for supervisors.
    bool significant = false;
    std::string behaviour;  // Workers: the stock behaviour's name.
    Args args;
    std::shared_ptr<SupervisorNode> supervisor;  // Set for nested supervisors.
    Place at;
};

/// A supervisor (strategy, intensity, period, children) or a DynamicSupervisor (`dynamic`:
/// no static children; max_children; workers added by clients such as `pool`).
struct SupervisorNode {
    std::string id;
    bool dynamic = false;
    Strategy strategy = Strategy::one_for_one;
    int intensity = 1;
    int period_s = 5;
    AutoShutdown auto_shutdown = AutoShutdown::never;
    std::optional<int> max_children;
    std::vector<ChildNode> children;
    Place at;
};

/// An external service the system depends on (a database, a peer over a socket). It is up
/// except in its scheduled outages; code asks bedlam::service_available(name).
struct Service {
    std::string name;
    struct Outage {
        Ticks from = 0;
        Ticks until = chaos::never;
    };
    std::vector<Outage> outages;
    Place at;
};

/// Processes outside the tree that drive it: `count` copies of a stock client behaviour, at
/// paths `workload/<id>/<n>`.
struct Client {
    std::string id;
    std::string behaviour;
    int count = 1;
    Args args;
    Place at;
};

/// Something the run must show. Paths are supervision paths (`app/db/pool`), globs allowed
/// where noted.
struct Expectation {
    enum class Kind : std::uint8_t {
        alive,            // `path` (a process) is alive at the end
        restarts,         // restarts of processes matching the glob `path` within [min, max]
        gave_up,          // the supervisor at `path` reached its restart intensity
        did_not_give_up,  // ... never did
        healthy_within,   // after the faults stop, the tree is whole again within `within`
        calls_succeeded,  // clients' calls succeeded at least `fraction` of the time
        no_message_lost,  // no message was lost (dropped, or sent to a dead process)
        metric,           // the run's counter `path` (Metrics::value) within [min, max]
    };
    Kind kind = Kind::alive;
    std::string path;
    int min = 0;
    int max = 0;
    double fraction = 0;
    Ticks within = 0;
    Place at;

    /// One line: `alive app/ledger`, `restarts app/db/* in 1..10`, ...
    [[nodiscard]] std::string describe() const;
};

struct Settings {
    Ticks duration = 30'000'000'000;  // Virtual time the run lasts.
    Policy policy = Policy::random;
    int seeds = 100;  // `bedlam check`'s default seed count.
};

struct Scenario {
    std::string name;
    std::string description;
    std::string file;  // Where it was loaded from (for messages and replay commands).
    SupervisorNode tree;
    std::vector<Service> services;
    std::vector<Client> workload;
    chaos::Plan faults;  // Without the services' outages (the runner adds those).
    bool swarm = false;  // Draw a swarm plan from each run's seed (on top of `faults`).
    std::vector<Expectation> expectations;
    Settings settings;
};

/// Every supervision path the tree defines (the root's id, then `root/child`, ...), in start
/// order; supervisors and workers alike.
std::vector<std::string> tree_paths(const Scenario& scenario);

}  // namespace bedlam::scenario
