#include "scenario_commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "bedlam/scenario/load.hpp"
#include "bedlam/scenario/run.hpp"
#include "bedlam/scenario/shrink.hpp"
#include "bedlam/scenario/write.hpp"
#include "failure_record.hpp"

namespace bedlam::cli {

namespace {

namespace fs = std::filesystem;
using scenario::RunReport;
using scenario::Scenario;

constexpr int exit_usage = 2;

/// Prints a run as `bedlam run` shows it; the last line is the verdict line.
void print_run(std::ostream& out, const Scenario& s, const RunReport& r) {
    out << "scenario: " << s.name << " (" << s.file << ")\n";
    if (!s.description.empty()) {
        out << s.description << (s.description.ends_with('\n') ? "" : "\n");
    }
    if (!r.plan.faults.empty()) {
        out << chaos::describe(r.plan);
    }
    for (const std::string& p : r.passed) {
        out << "  ok    " << p << '\n';
    }
    for (const std::string& f : r.failures) {
        out << "  FAIL  " << f << '\n';
    }
    if (!r.restarts.empty()) {
        out << "restarts:";
        for (const auto& [path, n] : r.restarts) {
            out << ' ' << path << '=' << n;
        }
        out << '\n';
    }
    if (!r.gave_up.empty()) {
        out << "gave up:";
        for (const std::string& p : r.gave_up) {
            out << ' ' << p;
        }
        out << '\n';
    }
    const scenario::Metrics& m = r.metrics;
    if (m.calls > 0) {
        out << "calls: " << m.calls << " (" << m.calls_ok << " ok, " << m.calls_timed_out
            << " timed out, " << m.calls_failed << " failed)\n";
    }
    if (m.items_produced > 0) {
        out << "pipeline: " << m.items_produced << " items made, " << m.items_delivered
            << " delivered\n";
    }
    if (!m.counters.empty()) {
        out << "counted:";
        for (const auto& [name, n] : m.counters) {
            out << ' ' << name << '=' << n;
        }
        out << '\n';
    }
    out << "messages lost: " << r.messages_lost << ", events: " << r.events;
    if (r.scheduler == scenario::SchedulerKind::threads) {
        char wall[32];
        std::snprintf(wall, sizeof wall, "%.3fs", static_cast<double>(r.virtual_time) / 1e9);
        out << ", wall time: " << wall << '\n';
    } else {
        out << ", virtual time: " << chaos::time_text(r.virtual_time) << '\n';
    }
    out << r.last_line() << std::endl;
}

std::optional<Policy> policy_from(const std::string& text, const char* command) {
    if (text.empty()) {
        return std::nullopt;
    }
    const std::optional<Policy> p = parse_policy(text);
    if (!p) {
        throw std::invalid_argument(std::string("bedlam ") + command + ": --policy: unknown policy '" +
                                    text + "' (expected random, fifo or pct)");
    }
    return p;
}

/// Runs `s` once, writing the trace to `trace_path` if given.
RunReport run_once(const Scenario& s, std::uint64_t seed, std::optional<Policy> policy,
                   bool swarm, const std::string& trace_path, const char* command) {
    scenario::RunOptions options;
    options.seed = seed;
    options.policy = policy;
    options.swarm = swarm;
    std::ofstream trace;
    if (!trace_path.empty()) {
        trace.open(trace_path, std::ios::out | std::ios::trunc);
        if (!trace) {
            throw std::invalid_argument(std::string("bedlam ") + command + ": --trace: cannot open '" +
                                        trace_path + "' for writing");
        }
        options.trace_out = &trace;
    }
    return scenario::run(s, options);
}

// -- Failure records ------------------------------------------------------------------------------

std::string write_record(const std::string& dir, const Scenario& s, const RunReport& r,
                         bool swarm, std::optional<Policy> policy) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    const std::string stem = fs::path(s.file).stem().string();
    const std::string path =
        (fs::path(dir) / (stem + "-seed" + std::to_string(r.seed) + ".txt")).string();
    FailureRecord record;
    record.file = s.file;
    record.seed = r.seed;
    record.swarm = swarm;
    record.policy = policy ? to_string(*policy) : "";
    record.hash = hash_text(r.hash);
    record.failures = r.failures;
    std::ofstream out(path, std::ios::out | std::ios::trunc);
    out << record_text(record);
    return out ? path : std::string();
}

/// The record `file` is, or else a record made of the command line's scenario file and options.
FailureRecord record_or(const std::string& file, std::uint64_t seed, bool swarm,
                        const std::string& policy, const std::string& hash) {
    std::ifstream in(file);
    if (std::optional<FailureRecord> from_file = parse_record(in, file)) {
        return *from_file;
    }
    FailureRecord record;
    record.file = file;
    record.seed = seed;
    record.swarm = swarm;
    record.policy = policy;
    record.hash = hash;
    return record;
}

// -- check ----------------------------------------------------------------------------------------

struct Task {
    std::size_t scenario = 0;
    std::uint64_t seed = 0;
};

struct Result {
    bool done = false;
    scenario::Verdict verdict = scenario::Verdict::pass;
    std::uint64_t hash = 0;
    std::uint64_t events = 0;
    std::vector<std::string> failures;
};

/// The scenario files `path` names: itself, or the *.yaml files in it, sorted.
std::vector<std::string> scenario_files(const std::string& path) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
        return {path};
    }
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(path)) {
        const std::string ext = entry.path().extension().string();
        if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
            files.push_back(entry.path().string());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) {
        s.append(width - s.size(), ' ');
    }
    return s;
}

std::string lpad(const std::string& s, std::size_t width) {
    return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
}

}  // namespace

ScenarioCommands::ScenarioCommands(CLI::App& app) {
    run_ = app.add_subcommand(
        "run", "Run a scenario file once, in the simulator unless --scheduler threads; the last "
               "line is `seed=<N> hash=<16 hex digits> verdict=<pass|fail>` (on threads "
               "`seed=<N> scheduler=threads verdict=<pass|fail>`). Exit codes: 0 pass, 1 an "
               "expectation or property failed, 2 bad input, 3 liveness failure");
    run_->add_option("file", file_, "The scenario (YAML; docs/scenarios.md)")->required();
    run_->add_option("--seed", seed_, "The run's seed: the same seed replays the same run")
        ->capture_default_str();
    run_->add_option("--policy", policy_, "Scheduling policy: random, fifo or pct (default: the "
                                          "scenario's)");
    run_->add_option("--trace", trace_, "Write every event as JSON lines to this file");
    run_->add_flag("--swarm", swarm_, "Add a fault plan drawn from the seed (swarm mode)");
    run_->add_option("--scheduler", scheduler_,
                     "simulator (virtual time, replayable) or threads (the multi-core scheduler in "
                     "real time: the run takes the scenario's duration; no hash; kill, crash, "
                     "exit, drop, delay, duplicate, service_down and fault_point faults only)")
        ->capture_default_str();
    run_->add_option("--workers", workers_, "With --scheduler threads: worker threads (default: "
                                            "one per core)");

    check_ = app.add_subcommand(
        "check", "Sweep seeds over scenario files on every core; prints a summary and each "
                 "failing seed with the command that replays it");
    check_->add_option("path", path_, "A scenario file, or a directory of them")->required();
    check_->add_option("--seeds", seeds_, "Seeds per scenario (default: each scenario's "
                                          "`run.seeds`)")
        ->check(CLI::Range(1, 100'000'000));
    check_->add_option("--from", from_, "The first seed")->capture_default_str();
    check_->add_option("--jobs,-j", jobs_, "Simulations run at once (default: the cores)")
        ->check(CLI::Range(1, 1024));
    check_->add_option("--shard", shard_, "I/N: run only the I-th of N deterministic slices of "
                                          "the seeds (for a CI matrix)");
    check_->add_flag("--swarm", swarm_, "Add a fault plan drawn from each seed (swarm mode)");
    check_->add_option("--policy", policy_, "Scheduling policy for every run");
    check_->add_option("--failures", failures_dir_,
                       "Where to write a record of each failing seed (for `bedlam replay`)")
        ->capture_default_str();

    replay_ = app.add_subcommand(
        "replay", "Re-run a failure exactly, from a record `check` wrote or from a scenario and "
                  "a seed, and say whether the trace hash matches. Exit codes: 0 it matches, 1 "
                  "it does not, 2 bad input");
    replay_->add_option("file", file_, "A failure record, or a scenario file (with --seed)")
        ->required();
    replay_->add_option("--seed", seed_, "With a scenario file: the seed");
    replay_->add_option("--hash", expect_hash_, "With a scenario file: the hash to expect");
    replay_->add_flag("--swarm", swarm_, "With a scenario file: swarm mode, as the run had it");
    replay_->add_option("--policy", policy_, "With a scenario file: the policy, as the run had it");
    replay_->add_option("--trace", trace_, "Write the replay's trace as JSON lines to this file");

    shrink_ = app.add_subcommand(
        "shrink", "Minimise a failing run: fewer faults, processes and clients, a shorter run, "
                  "still failing the same way with the same seed; writes the minimal scenario. "
                  "Exit codes: 0 written, 2 bad input or the run does not fail");
    shrink_->add_option("file", file_, "A failure record, or a scenario file (with --seed)")
        ->required();
    shrink_->add_option("--seed", seed_, "With a scenario file: the failing seed")
        ->capture_default_str();
    shrink_->add_flag("--swarm", swarm_, "With a scenario file: swarm mode, as the run had it");
    shrink_->add_option("--policy", policy_, "With a scenario file: the policy, as the run had it");
    shrink_->add_option("--out", out_, "Where to write the minimal scenario (default: "
                                       "bedlam-failures/<name>-seed<N>-min.yaml)");
    shrink_->add_option("--max-runs", max_runs_, "Candidate runs at most")
        ->capture_default_str()
        ->check(CLI::Range(1, 1'000'000));
}

std::optional<int> ScenarioCommands::run_if_parsed() const {
    try {
        if (run_->parsed()) {
            return run_run();
        }
        if (check_->parsed()) {
            return run_check();
        }
        if (replay_->parsed()) {
            return run_replay();
        }
        if (shrink_->parsed()) {
            return run_shrink();
        }
    } catch (const scenario::ScenarioError& e) {
        for (const std::string& p : e.problems()) {
            std::cerr << p << '\n';
        }
        std::cerr << "bedlam: nothing was run\n";
        return exit_usage;
    } catch (const std::invalid_argument& e) {
        std::cerr << e.what() << '\n';
        return exit_usage;
    }
    return std::nullopt;
}

int ScenarioCommands::run_run() const {
    const std::optional<Policy> policy = policy_from(policy_, "run");
    if (scheduler_ != "simulator" && scheduler_ != "threads") {
        throw std::invalid_argument("bedlam run: --scheduler: unknown scheduler '" + scheduler_ +
                                    "' (expected simulator or threads)");
    }
    const bool threads = scheduler_ == "threads";
    if (!threads && workers_ != 0) {
        throw std::invalid_argument("bedlam run: --workers needs --scheduler threads");
    }
    if (threads && (policy || !trace_.empty())) {
        throw std::invalid_argument(std::string("bedlam run: ") +
                                    (policy ? "--policy" : "--trace") +
                                    " needs the simulator (the threaded scheduler's order is the "
                                    "machine's, and it keeps no trace)");
    }
    const Scenario s = scenario::load_file(file_);
    RunReport r;
    if (threads) {
        scenario::RunOptions options;
        options.seed = seed_;
        options.swarm = swarm_;
        options.scheduler = scenario::SchedulerKind::threads;
        options.workers = workers_;
        try {
            r = scenario::run(s, options);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("bedlam run: " + s.file + ": " + e.what());
        }
    } else {
        r = run_once(s, seed_, policy, swarm_, trace_, "run");
    }
    print_run(std::cout, s, r);
    return r.exit_code();
}

int ScenarioCommands::run_shrink() const {
    const FailureRecord record = record_or(file_, seed_, swarm_, policy_, expect_hash_);
    const std::optional<Policy> policy = policy_from(record.policy, "shrink");
    const Scenario s = scenario::load_file(record.file);
    const std::string out_path =
        !out_.empty() ? out_
                      : (fs::path("bedlam-failures") /
                         (fs::path(record.file).stem().string() + "-seed" +
                          std::to_string(record.seed) + "-min.yaml"))
                            .string();
    scenario::ShrinkOptions options;
    options.seed = record.seed;
    options.policy = policy;
    options.swarm = record.swarm;
    options.max_runs = max_runs_;
    int kept = 0;
    options.progress = [&kept](const std::string& step) {
        std::cout << "shrink: " << step << '\n' << std::flush;
        ++kept;
    };
    std::cout << "shrinking " << record.file << " seed=" << record.seed
              << (record.swarm ? " (swarm)" : "") << '\n';
    const scenario::ShrinkResult r = scenario::shrink(s, options);
    if (!r.failed) {
        std::cerr << "bedlam shrink: " << record.file << " passes with seed " << record.seed
                  << ": nothing to shrink\n";
        return exit_usage;
    }
    Scenario minimal = r.minimal;
    minimal.name = s.name + " (shrunk, seed " + std::to_string(record.seed) + ")";
    std::string replay = "bedlam run " + out_path + " --seed " + std::to_string(record.seed);
    if (policy) {
        replay += " --policy " + std::string(to_string(*policy));
    }
    std::error_code ec;
    if (fs::path(out_path).has_parent_path()) {
        fs::create_directories(fs::path(out_path).parent_path(), ec);
    }
    std::ofstream out(out_path, std::ios::out | std::ios::trunc);
    out << "# Shrunk by `bedlam shrink` from " << record.file << " with seed " << record.seed
        << (record.swarm ? " (swarm)" : "") << ".\n"
        << "# It fails with: " << r.failure << "\n"
        << "# Replay: " << replay << "\n"
        << scenario::to_yaml(minimal);
    out.close();
    if (!out) {
        throw std::invalid_argument("bedlam shrink: cannot write '" + out_path + "'");
    }
    std::cout << "fails with: " << r.failure << '\n'
              << "faults: " << r.faults_before << " -> " << r.faults_after
              << ", tree: " << r.processes_before << " -> " << r.processes_after
              << " processes, clients: " << r.clients_before << " -> " << r.clients_after
              << ", run: " << chaos::time_text(s.settings.duration) << " -> "
              << chaos::time_text(r.minimal.settings.duration) << "; " << r.runs << " runs, "
              << kept << " kept\n"
              << "wrote " << out_path << '\n'
              << "replay: " << replay << '\n'
              << r.report.last_line() << '\n';
    return 0;
}

int ScenarioCommands::run_replay() const {
    const FailureRecord record = record_or(file_, seed_, swarm_, policy_, expect_hash_);
    const std::optional<Policy> policy = policy_from(record.policy, "replay");
    const Scenario s = scenario::load_file(record.file);
    const RunReport r = run_once(s, record.seed, policy, record.swarm, trace_, "replay");
    print_run(std::cout, s, r);
    if (record.hash.empty()) {
        std::cout << "replay: no hash to compare (give --hash)\n";
        return 0;
    }
    if (hash_text(r.hash) == record.hash) {
        std::cout << "replay: hash matches (" << record.hash << "): the run reproduced exactly\n";
        return 0;
    }
    std::cout << "replay: hash DIFFERS: recorded " << record.hash << ", got "
              << hash_text(r.hash)
              << " (a different build, or the scenario or code changed since)\n";
    return 1;
}

int ScenarioCommands::run_check() const {
    const std::optional<Policy> policy = policy_from(policy_, "check");
    int shard_index = 1;
    int shard_count = 1;
    if (!shard_.empty()) {
        char slash = 0;
        std::istringstream in(shard_);
        if (!(in >> shard_index >> slash >> shard_count) || slash != '/' || !in.eof() ||
            shard_count < 1 || shard_index < 1 || shard_index > shard_count) {
            throw std::invalid_argument("bedlam check: --shard: expected I/N with 1 <= I <= N, got '" +
                                        shard_ + "'");
        }
    }
    const std::vector<std::string> files = scenario_files(path_);
    if (files.empty()) {
        throw std::invalid_argument("bedlam check: " + path_ + ": no scenario files (*.yaml)");
    }
    // Everything loads before anything runs: one bad file stops the sweep.
    std::vector<Scenario> scenarios;
    std::vector<std::string> problems;
    for (const std::string& f : files) {
        try {
            scenarios.push_back(scenario::load_file(f));
        } catch (const scenario::ScenarioError& e) {
            problems.insert(problems.end(), e.problems().begin(), e.problems().end());
        }
    }
    if (!problems.empty()) {
        throw scenario::ScenarioError(problems);
    }
    std::vector<Task> tasks;
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
        const int count = seeds_ > 0 ? seeds_ : scenarios[i].settings.seeds;
        for (int k = 0; k < count; ++k) {
            if (k % shard_count == shard_index - 1) {
                tasks.push_back(Task{i, from_ + static_cast<std::uint64_t>(k)});
            }
        }
    }
    const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
    const std::size_t jobs = std::min<std::size_t>(
        jobs_ > 0 ? static_cast<std::size_t>(jobs_) : cores, std::max<std::size_t>(1, tasks.size()));
    const bool tty = isatty(fileno(stdout)) != 0;

    std::vector<Result> results(tasks.size());
    std::atomic<std::size_t> next{0};
    std::mutex mutex;
    std::condition_variable changed;
    std::size_t finished = 0;
    const auto start = std::chrono::steady_clock::now();
    auto worker = [&] {
        for (;;) {
            const std::size_t i = next.fetch_add(1);
            if (i >= tasks.size()) {
                return;
            }
            const Scenario& s = scenarios[tasks[i].scenario];
            scenario::RunOptions options;
            options.seed = tasks[i].seed;
            options.policy = policy;
            options.swarm = swarm_;
            const RunReport r = scenario::run(s, options);
            Result result;
            result.done = true;
            result.verdict = r.verdict;
            result.hash = r.hash;
            result.events = r.events;
            result.failures = r.failures;
            if (r.verdict != scenario::Verdict::pass) {
                const std::string record = write_record(failures_dir_, s, r, swarm_, policy);
                if (!record.empty()) {
                    result.failures.push_back("record: " + record);
                }
            }
            const std::lock_guard<std::mutex> lock(mutex);
            results[i] = std::move(result);
            ++finished;
            changed.notify_one();
        }
    };
    std::vector<std::thread> pool;
    for (std::size_t j = 0; j < jobs; ++j) {
        pool.emplace_back(worker);
    }
    std::cout << "checking " << scenarios.size() << " scenario(s), " << tasks.size() << " seed(s)"
              << (shard_.empty() ? "" : " (shard " + shard_ + ")") << " on " << jobs
              << " job(s)\n";
    // Progress: a bar on a terminal; otherwise one line per failure as it happens.
    {
        std::size_t shown = 0;
        std::size_t failed = 0;
        std::vector<bool> reported(tasks.size(), false);
        std::unique_lock<std::mutex> lock(mutex);
        while (shown < tasks.size()) {
            changed.wait(lock, [&] { return finished > shown; });
            const std::size_t now_done = finished;
            failed = 0;
            for (const Result& r : results) {
                failed += r.done && r.verdict != scenario::Verdict::pass ? 1 : 0;
            }
            if (!tty) {
                // Plain lines: each tenth of the way, and each failure as it comes.
                for (std::size_t i = 0; i < results.size(); ++i) {
                    if (results[i].done && results[i].verdict != scenario::Verdict::pass &&
                        !reported[i]) {
                        reported[i] = true;
                        std::cout << "failed: " << scenarios[tasks[i].scenario].file
                                  << " seed=" << tasks[i].seed << '\n';
                    }
                }
                const std::size_t tenth = std::max<std::size_t>(1, tasks.size() / 10);
                if (now_done / tenth != shown / tenth || now_done == tasks.size()) {
                    std::cout << "progress: " << now_done << "/" << tasks.size() << " seeds, "
                              << failed << " failed\n" << std::flush;
                }
            } else {
                const std::size_t width = 40;
                const std::size_t filled = now_done * width / tasks.size();
                std::cout << "\r[" << std::string(filled, '#') << std::string(width - filled, ' ')
                          << "] " << now_done << "/" << tasks.size() << " seeds, " << failed
                          << " failed" << std::flush;
            }
            shown = now_done;
        }
        if (tty) {
            std::cout << '\n';
        }
    }
    for (std::thread& t : pool) {
        t.join();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // The summary table.
    std::size_t name_width = 8;
    for (const std::string& f : files) {
        name_width = std::max(name_width, f.size());
    }
    std::cout << pad("scenario", name_width) << "  seeds   pass   fail  liveness  events/run\n";
    std::size_t total_pass = 0;
    std::size_t total_fail = 0;
    std::size_t total_live = 0;
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
        std::size_t n = 0;
        std::size_t pass = 0;
        std::size_t fail = 0;
        std::size_t live = 0;
        std::uint64_t events = 0;
        for (std::size_t t = 0; t < tasks.size(); ++t) {
            if (tasks[t].scenario != i) {
                continue;
            }
            ++n;
            events += results[t].events;
            switch (results[t].verdict) {
                case scenario::Verdict::pass:
                    ++pass;
                    break;
                case scenario::Verdict::fail:
                    ++fail;
                    break;
                case scenario::Verdict::liveness:
                    ++live;
                    break;
            }
        }
        total_pass += pass;
        total_fail += fail;
        total_live += live;
        std::cout << pad(files[i], name_width) << lpad(std::to_string(n), 7)
                  << lpad(std::to_string(pass), 7) << lpad(std::to_string(fail), 7)
                  << lpad(std::to_string(live), 10)
                  << lpad(std::to_string(n > 0 ? events / n : 0), 12) << '\n';
    }
    std::cout << pad("total", name_width) << lpad(std::to_string(tasks.size()), 7)
              << lpad(std::to_string(total_pass), 7) << lpad(std::to_string(total_fail), 7)
              << lpad(std::to_string(total_live), 10) << '\n';
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        if (results[t].verdict == scenario::Verdict::pass) {
            continue;
        }
        const Scenario& s = scenarios[tasks[t].scenario];
        std::cout << "FAILED " << s.file << " seed=" << tasks[t].seed
                  << " hash=" << hash_text(results[t].hash) << '\n';
        for (const std::string& f : results[t].failures) {
            std::cout << "    " << f << '\n';
        }
        std::cout << "    replay: bedlam run " << s.file << " --seed " << tasks[t].seed
                  << (swarm_ ? " --swarm" : "")
                  << (policy ? std::string(" --policy ") + to_string(*policy) : "") << '\n';
    }
    std::ostringstream rate;
    rate.precision(1);
    rate << std::fixed << (seconds > 0 ? static_cast<double>(tasks.size()) / seconds : 0.0);
    std::cout << (total_fail + total_live == 0 ? "all passed" : "FAILURES") << ": "
              << total_pass << " passed, " << total_fail << " failed, " << total_live
              << " liveness; " << rate.str() << " seeds/s with " << jobs << " job(s)\n";
    if (total_fail > 0) {
        return 1;
    }
    return total_live > 0 ? 3 : 0;
}

}  // namespace bedlam::cli
