#include "bedlam/scenario/shrink.hpp"

#include <algorithm>
#include <utility>

#include "bedlam/scenario/load.hpp"
#include "bedlam/scenario/write.hpp"

namespace bedlam::scenario {

std::string failure_key(const std::string& line) {
    std::string s = line;
    for (const char* prefix : {"property: ", "liveness: "}) {
        if (s.starts_with(prefix)) {
            s = s.substr(std::string(prefix).size());
        }
    }
    if (s.starts_with("t=")) {  // `t=1500ms: rule: details`
        const std::size_t colon = s.find(": ");
        if (colon != std::string::npos) {
            s = s.substr(colon + 2);
        }
    }
    const std::size_t failed = s.find(" FAILED");
    if (failed != std::string::npos) {
        return s.substr(0, failed);  // An expectation, as describe() writes it.
    }
    const std::size_t colon = s.find(':');
    return colon == std::string::npos ? s : s.substr(0, colon);
}

namespace {

int count_nodes(const SupervisorNode& sup) {
    int n = 1;
    for (const ChildNode& c : sup.children) {
        n += c.supervisor ? count_nodes(*c.supervisor) : 1;
    }
    return n;
}

int count_clients(const Scenario& s) {
    int n = 0;
    for (const Client& c : s.workload) {
        n += c.count;
    }
    return n;
}

/// A node of the tree by its place: the child indices from the root.
using NodePath = std::vector<std::size_t>;

void child_paths(const SupervisorNode& sup, NodePath& at, std::vector<NodePath>* out) {
    for (std::size_t i = 0; i < sup.children.size(); ++i) {
        at.push_back(i);
        out->push_back(at);
        if (sup.children[i].supervisor) {
            child_paths(*sup.children[i].supervisor, at, out);
        }
        at.pop_back();
    }
}

/// A copy of `tree` without the child at `path` (nested supervisors are copied on the way down,
/// never shared with the original).
SupervisorNode without(const SupervisorNode& tree, const NodePath& path, std::size_t depth = 0) {
    SupervisorNode out = tree;
    const std::size_t i = path[depth];
    if (depth + 1 == path.size()) {
        out.children.erase(out.children.begin() + static_cast<std::ptrdiff_t>(i));
        return out;
    }
    out.children[i].supervisor =
        std::make_shared<SupervisorNode>(without(*tree.children[i].supervisor, path, depth + 1));
    return out;
}

class Shrinker {
public:
    Shrinker(const ShrinkOptions& options, std::string key) : options_(options), key_(std::move(key)) {}

    /// Runs `candidate` (written out and read back first) and keeps it if it still fails the
    /// same way. False if it passes, fails otherwise, does not load, or the budget is spent.
    bool try_keep(const Scenario& candidate, const std::string& step, bool swarm) {
        if (runs_ >= options_.max_runs) {
            return false;
        }
        Scenario loaded;
        try {
            loaded = load_string(to_yaml(candidate), best_.file);
        } catch (const ScenarioError&) {
            return false;  // E.g. an expectation or a fault names what was removed.
        }
        ++runs_;
        RunOptions run_options;
        run_options.seed = options_.seed;
        run_options.policy = options_.policy;
        run_options.swarm = swarm;
        RunReport report = run(loaded, run_options);
        const bool same = std::any_of(report.failures.begin(), report.failures.end(),
                                      [&](const std::string& f) { return failure_key(f) == key_; });
        if (!same) {
            return false;
        }
        best_ = std::move(loaded);
        report_ = std::move(report);
        if (options_.progress) {
            options_.progress(step);
        }
        return true;
    }

    void start(Scenario s, RunReport r) {
        best_ = std::move(s);
        report_ = std::move(r);
    }
    [[nodiscard]] const Scenario& best() const { return best_; }
    [[nodiscard]] const RunReport& report() const { return report_; }
    [[nodiscard]] int runs() const { return runs_; }

private:
    const ShrinkOptions& options_;
    std::string key_;
    Scenario best_;
    RunReport report_;
    int runs_ = 0;
};

/// Only the expectations that fail the kept way; the others only constrain what can go.
bool drop_expectations(Shrinker& k, const std::string& key, bool swarm) {
    Scenario c = k.best();
    c.expectations.clear();
    for (const Expectation& e : k.best().expectations) {
        if (e.describe() == key) {
            c.expectations.push_back(e);
        }
    }
    return c.expectations.size() != k.best().expectations.size() &&
           k.try_keep(c, "kept only the failing expectation", swarm);
}

/// Removes faults: halves first, then quarters, ..., then one at a time (delta debugging).
bool drop_faults(Shrinker& k) {
    bool any = false;
    for (std::size_t chunk = std::max<std::size_t>(1, k.best().faults.faults.size() / 2);;
         chunk /= 2) {
        for (std::size_t from = 0; from < k.best().faults.faults.size();) {
            Scenario c = k.best();
            std::vector<chaos::Fault>& f = c.faults.faults;
            const std::size_t to = std::min(f.size(), from + chunk);
            f.erase(f.begin() + static_cast<std::ptrdiff_t>(from),
                    f.begin() + static_cast<std::ptrdiff_t>(to));
            if (k.try_keep(c, "removed " + std::to_string(to - from) + " fault(s)", false)) {
                any = true;  // The same `from` now holds the next faults.
            } else {
                from = to;
            }
        }
        if (chunk == 1) {
            break;
        }
    }
    return any;
}

/// Simplifies each fault: stochastic ones end sooner (their window halved), counts drop to 1.
bool simplify_faults(Shrinker& k) {
    bool any = false;
    for (std::size_t i = 0; i < k.best().faults.faults.size(); ++i) {
        const chaos::Fault& f = k.best().faults.faults[i];
        const Ticks end = f.until != chaos::never ? f.until : k.best().faults.faults_until;
        // In whole milliseconds, so that the file says `until: 1875ms`, not `1831054ns`.
        constexpr Ticks ms = 1'000'000;
        if (!f.at && end != chaos::never && end - f.from >= 2 * ms) {
            Scenario c = k.best();
            c.faults.faults[i].until = f.from + (end - f.from) / 2 / ms * ms;
            if (k.try_keep(c, "fault " + std::to_string(i) + " ends at " +
                                  chaos::time_text(c.faults.faults[i].until),
                           false)) {
                any = true;
                --i;  // Try halving it again.
                continue;
            }
        }
        if (f.count > 1) {
            Scenario c = k.best();
            c.faults.faults[i].count = 1;
            any = k.try_keep(c, "fault " + std::to_string(i) + " count 1", false) || any;
        }
    }
    return any;
}

/// Removes children of the tree, whole subtrees first (the list is in depth-first order, so a
/// supervisor comes before its children).
bool drop_children(Shrinker& k, bool swarm) {
    bool any = false;
    for (bool removed = true; removed;) {
        removed = false;
        std::vector<NodePath> paths;
        NodePath at;
        child_paths(k.best().tree, at, &paths);
        for (const NodePath& p : paths) {
            Scenario c = k.best();
            c.tree = without(k.best().tree, p);
            if (k.try_keep(c, "removed a child of the tree", swarm)) {
                removed = any = true;
                break;  // Paths have shifted: list them again.
            }
        }
    }
    return any;
}

bool drop_clients(Shrinker& k, bool swarm) {
    bool any = false;
    for (std::size_t i = 0; i < k.best().workload.size();) {
        Scenario c = k.best();
        c.workload.erase(c.workload.begin() + static_cast<std::ptrdiff_t>(i));
        if (k.try_keep(c, "removed the clients `" + k.best().workload[i].id + "`", swarm)) {
            any = true;
            continue;
        }
        if (k.best().workload[i].count > 1) {
            c = k.best();
            c.workload[i].count = 1;
            any = k.try_keep(c, "one client `" + c.workload[i].id + "`", swarm) || any;
        }
        ++i;
    }
    return any;
}

/// Ends the run sooner: halves the time after the faults stop (in whole tenths of a second),
/// as long as it still fails.
bool shorten(Shrinker& k, bool swarm) {
    constexpr Ticks tenth = 100'000'000;
    bool any = false;
    for (;;) {
        const Scenario& b = k.best();
        const Ticks floor = b.faults.faults_until == chaos::never ? 0 : b.faults.faults_until;
        if (b.settings.duration - floor < 2 * tenth) {
            return any;
        }
        const Ticks shorter = floor + (b.settings.duration - floor) / 2 / tenth * tenth;
        Scenario c = b;
        c.settings.duration = shorter;
        if (!k.try_keep(c, "run for " + chaos::time_text(shorter), swarm)) {
            return any;
        }
        any = true;
    }
}

}  // namespace

ShrinkResult shrink(const Scenario& scenario, const ShrinkOptions& options) {
    ShrinkResult result;
    RunOptions run_options;
    run_options.seed = options.seed;
    run_options.policy = options.policy;
    run_options.swarm = options.swarm;
    RunReport original = run(scenario, run_options);
    result.runs = 1;
    result.processes_before = count_nodes(scenario.tree);
    result.clients_before = count_clients(scenario);
    std::size_t outages = 0;
    for (const Service& svc : scenario.services) {
        outages += svc.outages.size();
    }
    result.faults_before = static_cast<int>(original.plan.faults.size() - outages);
    result.minimal = scenario;
    if (original.verdict == Verdict::pass) {
        result.report = std::move(original);
        result.faults_after = result.faults_before;
        result.processes_after = result.processes_before;
        result.clients_after = result.clients_before;
        return result;
    }
    result.failed = true;
    result.failure = original.failures.front();
    const std::string key = failure_key(result.failure);
    Shrinker k(options, key);
    k.start(scenario, original);

    // A swarm plan is drawn from the seed: write it out as plain faults, so that they can go
    // one by one. Kept only if the written plan still fails the same way.
    bool swarm = scenario.swarm || options.swarm;
    if (swarm) {
        Scenario c = scenario;
        c.swarm = false;
        c.faults.faults.assign(original.plan.faults.begin(),
                               original.plan.faults.end() - static_cast<std::ptrdiff_t>(outages));
        c.faults.faults_until = original.plan.faults_until;
        c.faults.swarm_seed.reset();
        if (k.try_keep(c, "wrote the swarm plan out as " +
                              std::to_string(c.faults.faults.size()) + " fault(s)",
                       false)) {
            swarm = false;
        }
    }
    drop_expectations(k, key, swarm);
    // Until a whole round changes nothing (or the budget is spent).
    for (bool changed = true; changed && k.runs() < options.max_runs;) {
        changed = false;
        if (!swarm) {
            changed = drop_faults(k) || changed;
        }
        changed = drop_children(k, swarm) || changed;
        changed = drop_clients(k, swarm) || changed;
        if (!swarm) {
            changed = simplify_faults(k) || changed;
        }
        changed = shorten(k, swarm) || changed;
    }
    result.minimal = k.best();
    result.minimal.swarm = swarm;
    result.report = k.report();
    result.runs += k.runs();
    result.faults_after = swarm ? result.faults_before
                                : static_cast<int>(result.minimal.faults.faults.size());
    result.processes_after = count_nodes(result.minimal.tree);
    result.clients_after = count_clients(result.minimal);
    return result;
}

}  // namespace bedlam::scenario
