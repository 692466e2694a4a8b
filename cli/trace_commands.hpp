// `bedlam trace` and `bedlam diff`: the subcommands over cli/trace_tools (docs/cli.md), kept
// apart from main.cpp so that main only registers and dispatches them.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace bedlam::cli {

class TraceCommands {
public:
    /// Adds `trace` and `diff` to `app`. The object must outlive app.parse().
    explicit TraceCommands(CLI::App& app);
    TraceCommands(const TraceCommands&) = delete;
    TraceCommands& operator=(const TraceCommands&) = delete;
    ~TraceCommands() = default;

    /// If one of the two was given on the command line, runs it and returns its exit code:
    /// trace 0 ok, 2 bad input; diff 0 identical, 1 different, 2 bad input.
    [[nodiscard]] std::optional<int> run_if_parsed() const;

private:
    [[nodiscard]] int run_trace() const;
    [[nodiscard]] int run_diff() const;

    CLI::App* trace_ = nullptr;
    CLI::App* diff_ = nullptr;
    std::string file_;
    std::string format_ = "text";
    std::string out_;
    bool all_ = false;
    std::string diff_a_;
    std::string diff_b_;
    std::size_t context_ = 3;
};

}  // namespace bedlam::cli
