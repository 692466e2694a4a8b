// `bedlam run`, `bedlam check`, `bedlam replay` and `bedlam shrink`: scenario files in the simulator
// (docs/cli.md, docs/scenarios.md), kept apart from main.cpp so that main only registers and
// dispatches them.
//
// Exit codes: 0 pass, 1 an expectation or property failed, 2 bad input or usage, 3 a liveness
// failure (the tree did not heal in time, or could not be stopped).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace bedlam::cli {

class ScenarioCommands {
public:
    /// Adds `run`, `check`, `replay` and `shrink` to `app`. The object must outlive app.parse().
    explicit ScenarioCommands(CLI::App& app);
    ScenarioCommands(const ScenarioCommands&) = delete;
    ScenarioCommands& operator=(const ScenarioCommands&) = delete;

    /// If one of them was given on the command line, runs it and returns its exit code.
    [[nodiscard]] std::optional<int> run_if_parsed() const;

private:
    [[nodiscard]] int run_run() const;
    [[nodiscard]] int run_check() const;
    [[nodiscard]] int run_replay() const;
    [[nodiscard]] int run_shrink() const;

    CLI::App* run_ = nullptr;
    CLI::App* check_ = nullptr;
    CLI::App* replay_ = nullptr;
    CLI::App* shrink_ = nullptr;
    // run and replay
    std::string file_;
    std::uint64_t seed_ = 1;
    std::string policy_;
    std::string trace_;
    bool swarm_ = false;
    std::string expect_hash_;
    std::string scheduler_ = "simulator";
    unsigned workers_ = 0;
    // check
    std::string path_;
    int seeds_ = 0;  // 0: each scenario's own `run.seeds`.
    std::uint64_t from_ = 1;
    int jobs_ = 0;   // 0: the number of cores.
    std::string shard_;
    std::string failures_dir_ = "bedlam-failures";
    // shrink
    std::string out_;
    int max_runs_ = 2000;
};

}  // namespace bedlam::cli
