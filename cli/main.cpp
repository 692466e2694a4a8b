// bedlam: the command-line tool: `bedlam demo`; `bedlam run`, `check` and `replay` for scenario
// files; `bedlam trace` / `bedlam diff` to read traces.
// Exit codes: 0 success, 1 the run failed (e.g. deadlock, an expectation), 2 bad input or usage,
// 3 a scenario's liveness failure.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "demo.hpp"
#include "scenario_commands.hpp"
#include "trace_commands.hpp"

namespace {

constexpr int exit_usage = 2;

int run_demo_command(std::uint64_t seed, const std::string& policy_text,
                     const std::string& trace_path, bool swarm) {
    const std::optional<bedlam::Policy> policy = bedlam::parse_policy(policy_text);
    if (!policy) {
        std::cerr << "bedlam demo: --policy: unknown policy '" << policy_text
                  << "' (expected random, fifo or pct)\n";
        return exit_usage;
    }
    std::ofstream trace_file;
    if (!trace_path.empty()) {
        trace_file.open(trace_path, std::ios::out | std::ios::trunc);
        if (!trace_file) {
            std::cerr << "bedlam demo: --trace: cannot open '" << trace_path << "' for writing\n";
            return exit_usage;
        }
    }
    const bedlam::cli::DemoResult result =
        bedlam::cli::run_demo(seed, *policy, trace_path.empty() ? nullptr : &trace_file, swarm);
    std::cout << result.plan;
    for (const std::string& line : result.log) {
        std::cout << line << '\n';
    }
    std::cout << "events=" << result.events << " steps=" << result.run.steps
              << " virtual_time_ns=" << result.run.now << " policy=" << bedlam::to_string(*policy)
              << '\n';
    int code = 0;
    if (result.run.deadlock()) {
        std::cout << "deadlock:";
        for (const bedlam::Pid pid : result.run.deadlocked) {
            std::cout << ' ' << pid;
        }
        std::cout << '\n';
        code = 1;
    }
    if (trace_file.is_open()) {
        trace_file.close();
        if (!trace_file) {
            std::cerr << "bedlam demo: --trace: error writing '" << trace_path << "'\n";
            return 1;
        }
    }
    std::cout << bedlam::cli::summary_line(seed, result.hash) << std::endl;
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bedlam: Erlang/OTP-style fault-tolerant systems in C++, and a deterministic "
                 "simulator to prove they are"};
    app.set_version_flag("--version", std::string("bedlam ") + BEDLAM_VERSION);
    app.require_subcommand(1);

    std::uint64_t seed = 0;
    std::string policy = "random";
    std::string trace_path;
    CLI::App* demo = app.add_subcommand(
        "demo", "Run a small built-in system in the simulator (linked and monitored processes, "
                "some exiting abnormally); the last line is `seed=<N> hash=<16 hex digits>`");
    demo->add_option("--seed", seed, "The run's seed: the same seed replays the same run")
        ->required();
    demo->add_option("--policy", policy, "Scheduling policy: random, fifo or pct")
        ->capture_default_str();
    demo->add_option("--trace", trace_path, "Write every event as JSON lines to this file");
    bool swarm = false;
    demo->add_flag("--swarm", swarm,
                   "Inject faults from a plan drawn from the seed (chaos swarm mode; docs/chaos.md)");
    const bedlam::cli::TraceCommands trace_commands(app);  // `trace` and `diff`
    const bedlam::cli::ScenarioCommands scenario_commands(app);  // `run`, `check`, `replay`, `shrink`

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return exit_usage;
    }
    try {
        if (demo->parsed()) {
            return run_demo_command(seed, policy, trace_path, swarm);
        }
        if (const std::optional<int> code = trace_commands.run_if_parsed()) {
            return *code;
        }
        if (const std::optional<int> code = scenario_commands.run_if_parsed()) {
            return *code;
        }
    } catch (const std::exception& e) {
        std::cerr << "bedlam: " << e.what() << '\n';
        return 1;
    }
    return exit_usage;
}
