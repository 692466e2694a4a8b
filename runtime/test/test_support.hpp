// Shared by the runtime and behaviour tests: a Probe that processes write what they observe
// into, and the list of schedulers that scheduler-independent tests run on.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/runtime.hpp"

namespace bedlam::test {

using Events = std::vector<std::string>;

// -- Observation -----------------------------------------------------------------------------------

/// What a test observes, written by its processes (under a lock: on the threaded scheduler they
/// run on worker threads) and read by the test after run_until_idle().
class Probe {
public:
    /// Records `event`, with every labelled pid's text (<0.N.S>) replaced by its label: pid
    /// numbers differ between schedulers (the threaded one reuses table slots), labels do not.
    void note(std::string event) {
        const std::lock_guard lock(mutex_);
        for (const auto& [text, name] : labels_) {
            for (std::size_t at = event.find(text); at != std::string::npos;
                 at = event.find(text, at + name.size())) {
                event.replace(at, text.size(), name);
            }
        }
        events_.push_back(std::move(event));
    }
    /// Names `pid` in the events noted from now on.
    void label(Pid pid, std::string name) {
        std::ostringstream text;
        text << pid;
        const std::lock_guard lock(mutex_);
        labels_.emplace_back(text.str(), std::move(name));
    }
    [[nodiscard]] Events events() const {
        const std::lock_guard lock(mutex_);
        return events_;
    }
    void set_pid(Pid pid) {
        const std::lock_guard lock(mutex_);
        pid_ = pid;
    }
    [[nodiscard]] Pid pid() const {
        const std::lock_guard lock(mutex_);
        return pid_;
    }

private:
    mutable std::mutex mutex_;
    Events events_;
    std::vector<std::pair<std::string, std::string>> labels_;
    Pid pid_;
};

// -- Schedulers ----------------------------------------------------------------------------------

struct Sched {
    const char* name;
    bool threaded;
    std::uint64_t seed;
    Policy policy;
    unsigned workers;
};

inline void PrintTo(const Sched& s, std::ostream* os) { *os << s.name; }

inline std::unique_ptr<Runtime> make_runtime(const Sched& s) {
    if (s.threaded) {
        return std::make_unique<ThreadScheduler>(ThreadConfig{.workers = s.workers});
    }
    return std::make_unique<Simulator>(SimConfig{.seed = s.seed, .policy = s.policy});
}

inline const Sched kSimulators[] = {
    {"sim_random_1", false, 1, Policy::random, 0}, {"sim_random_2", false, 2, Policy::random, 0},
    {"sim_random_3", false, 3, Policy::random, 0}, {"sim_fifo", false, 4, Policy::fifo, 0},
    {"sim_pct", false, 5, Policy::pct, 0},
};
inline const Sched kAllSchedulers[] = {
    kSimulators[0],
    kSimulators[1],
    kSimulators[2],
    kSimulators[3],
    kSimulators[4],
    {"threads_1", true, 0, Policy::random, 1},
    {"threads_2", true, 0, Policy::random, 2},
    // More workers than this machine's cores: workers park, steal and are preempted mid-step.
    {"threads_4", true, 0, Policy::random, 4},
};

inline std::string sched_name(const ::testing::TestParamInfo<Sched>& info) { return info.param.name; }

/// A test run on one scheduler: run(root, args...) spawns `root(self, &probe_, args...)` and
/// waits until the runtime is idle; the test then reads what the processes noted.
class RuntimeTest : public ::testing::TestWithParam<Sched> {
protected:
    void SetUp() override { rt_ = make_runtime(GetParam()); }
    template <typename F, typename... Args>
    void run(F root, Args... args) {
        rt_->spawn(root, &probe_, std::move(args)...);
        rt_->run_until_idle();
    }
    [[nodiscard]] Events events() const { return probe_.events(); }
    [[nodiscard]] bool threaded() const { return GetParam().threaded; }

    Probe probe_;
    std::unique_ptr<Runtime> rt_;
};

}  // namespace bedlam::test
