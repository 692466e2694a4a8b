#include "trace_commands.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "trace_tools.hpp"

namespace bedlam::cli {

namespace {

constexpr int exit_bad_input = 2;

/// Writes `text` to `path` through a temporary beside it and a rename, so that a failed run
/// leaves nothing half-written (and an existing file untouched).
bool write_file(const std::string& path, const std::string& text) {
    const std::string temporary = path + ".tmp";
    {
        std::ofstream out(temporary, std::ios::out | std::ios::trunc | std::ios::binary);
        if (!out) {
            return false;
        }
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        out.close();
        if (!out) {
            std::remove(temporary.c_str());
            return false;
        }
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        std::remove(temporary.c_str());
        return false;
    }
    return true;
}

}  // namespace

TraceCommands::TraceCommands(CLI::App& app) {
    trace_ = app.add_subcommand(
        "trace", "Render a JSON-lines trace (from --trace) as a text timeline with a summary, a "
                 "Chrome/Perfetto trace or a Graphviz supervision tree (docs/cli.md)");
    trace_->add_option("file", file_, "The trace file (JSON lines)")->required();
    trace_->add_option("--format", format_, "text, chrome (ui.perfetto.dev, chrome://tracing) or dot")
        ->check(CLI::IsMember({"text", "chrome", "dot"}))
        ->capture_default_str();
    trace_->add_option("--out", out_, "Write here instead of to standard output");
    trace_->add_flag("--all", all_,
                     "text: show every event (sends, delivers, timers, time-outs) and every "
                     "sender/receiver pair");

    diff_ = app.add_subcommand(
        "diff", "Find the first event where two traces diverge; exit 0 identical, 1 different, "
                "2 bad input");
    diff_->add_option("a", diff_a_, "The first trace")->required();
    diff_->add_option("b", diff_b_, "The second trace")->required();
    diff_->add_option("--context", context_, "Events shown before and after the divergence")
        ->check(CLI::Range(0, 1000000))
        ->capture_default_str();
}

std::optional<int> TraceCommands::run_if_parsed() const {
    if (trace_->parsed()) {
        return run_trace();
    }
    if (diff_->parsed()) {
        return run_diff();
    }
    return std::nullopt;
}

int TraceCommands::run_trace() const {
    std::string text;
    try {
        const trace::Trace t = trace::load(file_);
        if (format_ == "chrome") {
            text = trace::render_chrome(t);
        } else if (format_ == "dot") {
            text = trace::render_dot(t);
        } else {
            text = trace::render_text(t, trace::TextOptions{.all = all_, .pairs = 20});
        }
    } catch (const trace::TraceError& e) {
        std::cerr << "bedlam trace: " << e.what() << '\n';
        return exit_bad_input;
    }
    if (out_.empty()) {
        std::cout << text << std::flush;
        return std::cout ? 0 : 1;
    }
    if (!write_file(out_, text)) {
        std::cerr << "bedlam trace: --out: cannot write '" << out_ << "'\n";
        return exit_bad_input;
    }
    return 0;
}

int TraceCommands::run_diff() const {
    trace::DiffResult result;
    try {
        const trace::Trace a = trace::load(diff_a_);
        const trace::Trace b = trace::load(diff_b_);
        result = trace::diff(a, b, context_);
    } catch (const trace::TraceError& e) {
        std::cerr << "bedlam diff: " << e.what() << '\n';
        return exit_bad_input;
    }
    std::cout << result.report << std::flush;
    return result.kind == trace::DiffResult::Kind::identical ? 0 : 1;
}

}  // namespace bedlam::cli
