// What the examples share, none of it bedlam API: the command line (`--seed N`, `--threads`, and
// an example's own `--name value` flags), a story printed one line per event and stamped with the
// scheduler's clock, and the ending: a verdict and the line `seed=<N> hash=<16 hex digits>`, which
// the same seed reproduces bit for bit in the simulator.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bedlam/runtime.hpp"

namespace example {

/// `<0.N.0>`, as Erlang prints a pid.
inline std::string show(bedlam::Pid pid) {
    std::ostringstream out;
    out << pid;
    return out.str();
}

/// A duration or a point on the scheduler's clock, in whole milliseconds: "1250ms".
inline std::string ms(bedlam::Ticks ticks) {
    return std::to_string(ticks / 1'000'000) + "ms";
}

struct Args {
    std::uint64_t seed = 1;
    bool threads = false;                        // Run on the ThreadScheduler instead.
    std::map<std::string, std::string> options;  // The example's own `--name value` flags.
};

/// A decimal seed, or nullopt.
inline std::optional<std::uint64_t> parse_seed(const std::string& text) {
    if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != text.npos) {
        return std::nullopt;
    }
    return std::stoull(text);
}

/// Reads `[--seed N | N] [--threads] [--name value ...]`, where each name is one of `own`.
/// Prints a usage line and returns nullopt on anything else.
inline std::optional<Args> parse_args(int argc, char** argv, const char* usage,
                                      const std::vector<std::string>& own = {}) {
    Args args;
    const std::vector<std::string> words(argv + 1, argv + argc);
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string& word = words[i];
        const std::string next = i + 1 < words.size() ? words[i + 1] : "";
        const std::string name = word.rfind("--", 0) == 0 ? word.substr(2) : "";
        if (word == "--threads") {
            args.threads = true;
        } else if (word == "--seed" && parse_seed(next)) {
            args.seed = *parse_seed(next);
            ++i;
        } else if (parse_seed(word)) {
            args.seed = *parse_seed(word);
        } else if (!next.empty() && std::find(own.begin(), own.end(), name) != own.end()) {
            args.options[name] = next;
            ++i;
        } else {
            std::fprintf(stderr, "usage: %s [--seed N] [--threads] %s\n", argv[0], usage);
            return std::nullopt;
        }
    }
    return args;
}

/// The simulator, seeded from the command line (the default), or the multi-core scheduler with
/// two workers. The processes are the same either way.
inline std::unique_ptr<bedlam::Runtime> make_runtime(const Args& args) {
    if (args.threads) {
        return std::make_unique<bedlam::ThreadScheduler>(bedlam::ThreadConfig{.workers = 2});
    }
    return std::make_unique<bedlam::Simulator>(bedlam::SimConfig{.seed = args.seed});
}

/// The story of a run, printed as it happens. Processes share it through a pointer (spawn
/// arguments are moved into each process), and on the threaded scheduler they write from several
/// threads at once, hence the lock.
class Story {
public:
    /// One line: `[t=  250ms] text`, stamped with the clock of the process that tells it.
    void say(bedlam::Self self, const std::string& text) {
        const std::lock_guard lock(mutex_);
        std::printf("[t=%5lldms] %s\n", static_cast<long long>(self.now() / 1'000'000),
                    text.c_str());
    }

    /// Runs `rt` until no process can make progress, then prints the verdict and the closing
    /// line. Returns the exit code: 0 if the story went as expected and no process was left
    /// waiting forever.
    template <typename Check>
    int end(bedlam::Runtime& rt, const Args& args, Check went_as_expected) {
        rt.run_until_idle();
        const std::size_t stuck = rt.process_count();
        const bool ok = stuck == 0 && went_as_expected();
        if (stuck != 0) {
            std::printf("%zu process(es) left waiting forever\n", stuck);
        }
        std::printf("outcome: %s\n", ok ? "as expected" : "NOT AS EXPECTED");
        if (auto* sim = dynamic_cast<bedlam::Simulator*>(&rt); sim != nullptr) {
            std::printf("seed=%llu hash=%016llx\n", static_cast<unsigned long long>(args.seed),
                        static_cast<unsigned long long>(sim->trace_hash()));
        } else {
            std::printf("threads=2 (a threaded run has no trace hash: it does not replay)\n");
        }
        std::fflush(stdout);
        return ok ? 0 : 1;
    }

private:
    std::mutex mutex_;
};

}  // namespace example
