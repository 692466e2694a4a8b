#include "bedlam/properties/failure_scenario.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "bedlam/scenario/run.hpp"
#include "bedlam/scenario/write.hpp"

namespace bedlam::properties {

namespace {

scenario::ArgValue arg(std::string text) {
    scenario::ArgValue v;
    v.text = std::move(text);
    return v;
}

scenario::SupervisorNode node(const ModelSupervisor& sup, const std::string& path) {
    scenario::SupervisorNode out;
    out.strategy = sup.strategy;
    out.intensity = sup.intensity;
    out.period_s = sup.period_s;
    for (std::size_t i = 0; i < sup.children.size(); ++i) {
        const ModelChild& m = sup.children[i];
        scenario::ChildNode c;
        c.id = child_id(i);
        c.restart = m.restart;
        const std::string child_path = path.empty() ? c.id : path + "/" + c.id;
        if (m.is_supervisor()) {
            c.supervisor = std::make_shared<scenario::SupervisorNode>(node(*m.supervisor, child_path));
            c.supervisor->id = c.id;
        } else {
            c.behaviour = "worker";
            c.args.emplace("name", arg(child_path));  // As run_tree_under_chaos registers it.
            if (m.brutal_kill) {
                c.shutdown = Shutdown::brutal_kill();
            }
        }
        out.children.push_back(std::move(c));
    }
    return out;
}

}  // namespace

scenario::Scenario failure_scenario(const ModelSupervisor& tree, const chaos::Plan& plan,
                                    const ChaosRunOptions& options, bool expect_healing,
                                    const std::string& name) {
    scenario::Scenario s;
    s.name = name;
    s.description = "A failing case of the property suites: the tree, the fault plan and the "
                    "seed it failed with.\n";
    s.tree = node(tree, "");
    s.tree.id = "app";
    if (options.toxic) {
        // The toxic worker needs `db`, which the plan takes down: it crashes soon after every
        // start (the property's toxic worker checks every 10 ms).
        scenario::Service db;
        db.name = "db";
        s.services.push_back(db);
        scenario::ChildNode toxic;
        toxic.id = "toxic";
        toxic.behaviour = "socket";
        toxic.args.emplace("service", arg("db"));
        toxic.args.emplace("connect_timeout", arg("10ms"));
        toxic.args.emplace("every", arg("10ms"));
        if (options.tethered) {
            scenario::ChildNode tether;
            tether.id = "tether";
            tether.restart = Restart::transient;
            tether.supervisor = std::make_shared<scenario::SupervisorNode>();
            tether.supervisor->id = "tether";
            tether.supervisor->intensity = 1;
            tether.supervisor->period_s = 5;
            tether.supervisor->children.push_back(std::move(toxic));
            s.tree.children.push_back(std::move(tether));
        } else {
            s.tree.children.push_back(std::move(toxic));
        }
    }
    s.faults = plan;
    s.faults.swarm_seed.reset();  // Written out as the faults it drew.
    const Ticks faults_until = plan.faults_until == chaos::never ? 0 : plan.faults_until;
    s.settings.duration = faults_until + options.heal_bound;
    s.settings.seeds = 1;
    if (expect_healing) {
        scenario::Expectation e;
        e.kind = scenario::Expectation::Kind::healthy_within;
        e.within = options.heal_bound;
        s.expectations.push_back(e);
    }
    return s;
}

std::string failure_dir() {
    const char* env = std::getenv("BEDLAM_PROPERTY_FAILURES");
    return env != nullptr && *env != '\0' ? std::string(env) : std::string("property-failures");
}

std::string save_failure(const std::string& dir_name, const std::string& property,
                         const scenario::Scenario& s, std::uint64_t seed) {
    namespace fs = std::filesystem;
    const fs::path dir(dir_name);
    std::error_code ec;
    fs::create_directories(dir, ec);
    const fs::path file = dir / (property + ".yaml");
    scenario::RunOptions run_options;
    run_options.seed = seed;
    const scenario::RunReport r = scenario::run(s, run_options);
    std::ofstream out(file, std::ios::out | std::ios::trunc);
    const std::string command =
        "bedlam run " + fs::absolute(file, ec).string() + " --seed " + std::to_string(seed);
    out << "# A failing case of the property " << property << ", seed " << seed << ".\n"
        << "# Run it: " << command << "\n";
    if (r.verdict == scenario::Verdict::pass) {
        out << "# As a scenario it passes: the scenario runner's harness differs from the\n"
            << "# property's (it watches through the trace, not a monitoring process), so the\n"
            << "# seed takes another schedule. Try nearby seeds with `bedlam check FILE`.\n";
    } else {
        out << "# As a scenario it fails too: " << r.failures.front() << "\n";
    }
    out << scenario::to_yaml(s);
    out.close();
    if (!out) {
        return std::string();
    }
    return "scenario: " + file.string() + " (as a scenario it " +
           (r.verdict == scenario::Verdict::pass ? std::string("passes") : std::string("fails")) +
           "); run it: " + command;
}

}  // namespace bedlam::properties
