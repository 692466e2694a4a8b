// The scenario runner's eyes (internal to bedlam::scenario): a trace listener that follows the
// run event by event and checks the built-in properties as it goes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/runtime.hpp"
#include "bedlam/runtime/flat_map.hpp"

namespace bedlam::scenario::detail {

inline std::string at(Ticks t) { return "t=" + chaos::time_text(t); }

/// Watches the trace as the run goes: who lives where, restarts per path, supervisors that gave
/// up, messages lost, supervisors that exit cleanly while a child of theirs still lives, monitors
/// that give no DOWN or two, and registered names left pointing at processes that exited.
class Watcher final : public TraceListener {
public:
    Watcher(const Runtime& runtime, std::set<std::string> supervisor_paths,
            std::set<std::string> names)
        : runtime_(runtime),
          threaded_(!runtime.single_threaded()),
          supervisor_paths_(std::move(supervisor_paths)),
          names_(std::move(names)) {}

    void on_event(Ticks time, const TraceEvent& e) override {
        const auto lock = guard();
        ++events_;
        switch (e.kind) {
            case TraceKind::spawn: {
                Proc& p = procs_[e.a.id];
                p.parent = e.b;
                p.alive = true;
                if (e.detail != nullptr) {
                    p.path = e.detail;
                    ++spawns_[p.path];
                    ++live_[p.path];
                    last_spawn_ = time;
                }
                break;
            }
            case TraceKind::exit: {
                const auto it = procs_.find(e.a.id);
                if (it == procs_.end()) {
                    break;
                }
                it->second.alive = false;
                it->second.exited_at = events_;
                if (!it->second.path.empty()) {
                    --live_[it->second.path];
                }
                check_names(time);
                const bool clean = e.reason != nullptr && e.reason->is_clean();
                if (clean && supervisor_paths_.count(it->second.path) != 0) {
                    for (const auto& [id, p] : procs_) {
                        if (p.alive && p.parent == e.a) {
                            violations_.push_back(at(time) + ": a supervisor stops its children before it exits: supervisor " + it->second.path +
                                                  " exited " + e.reason->to_string() +
                                                  " while its child " +
                                                  (p.path.empty() ? Pid{id}.to_string()
                                                                  : p.path) +
                                                  " was alive");
                        }
                    }
                }
                break;
            }
            case TraceKind::monitor:
                monitors_.insert(e.x, Monitor{e.a, e.b});
                break;
            case TraceKind::demonitor:
                if (Monitor* m = monitors_.find(e.x)) {
                    m->demonitored = true;
                }
                break;
            case TraceKind::down:
                if (Monitor* m = monitors_.find(e.x); m == nullptr) {
                    violations_.push_back(at(time) + ": a DOWN for a monitor never set (reference " +
                                          std::to_string(e.x) + ")");
                } else if (++m->downs == 2) {
                    violations_.push_back(at(time) + ": every monitor gives exactly one DOWN: " +
                                          describe(*m) + " gave a second");
                }
                break;
            case TraceKind::report:
                if (e.x == static_cast<std::uint64_t>(TraceReport::shutdown)) {
                    const auto it = procs_.find(e.a.id);
                    if (it != procs_.end()) {
                        gave_up_.push_back(it->second.path);
                    }
                }
                break;
            case TraceKind::send:
                if (e.detail != nullptr && std::string_view(e.detail) == "message") {
                    in_flight_.insert(e.x, true);
                }
                break;
            case TraceKind::deliver:
                in_flight_.erase(e.x);
                break;
            case TraceKind::drop:
                if (in_flight_.erase(e.x)) {
                    ++lost_;
                }
                break;
            default:
                break;
        }
    }

    [[nodiscard]] bool alive(const std::string& path) const {
        const auto lock = guard();
        const auto it = live_.find(path);
        return it != live_.end() && it->second > 0;
    }
    /// Tree processes (those with a path under `root`) still alive.
    [[nodiscard]] std::vector<std::string> alive_under(const std::string& root) const {
        const auto lock = guard();
        std::vector<std::string> out;
        for (const auto& [path, n] : live_) {
            if (n > 0 && (path == root || path.starts_with(root + "/"))) {
                out.push_back(path);
            }
        }
        return out;
    }
    /// After the run: a monitor whose target exited before its watcher did (or while the
    /// watcher lives on), and that was not taken off first, must have given its DOWN.
    void check_monitors() {
        // Most monitors were taken off or gave their DOWN: only the rest are sorted (by
        // reference, for a deterministic report).
        std::vector<std::pair<std::uint64_t, Monitor>> open;
        monitors_.for_each([&open](std::uint64_t ref, const Monitor& m) {
            if (m.downs == 0 && !m.demonitored) {
                open.emplace_back(ref, m);
            }
        });
        std::sort(open.begin(), open.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [ref, m] : open) {
            const std::uint64_t target_exit = exited_at(m.target);
            const std::uint64_t watcher_exit = exited_at(m.watcher);
            if (target_exit != 0 && (watcher_exit == 0 || target_exit < watcher_exit)) {
                violations_.push_back("every monitor gives exactly one DOWN: " + describe(m) +
                                      " gave none, though its target exited");
            }
        }
    }
    [[nodiscard]] const std::map<std::string, int>& spawns() const { return spawns_; }
    [[nodiscard]] const std::vector<std::string>& gave_up() const { return gave_up_; }
    [[nodiscard]] const std::vector<std::string>& violations() const { return violations_; }
    [[nodiscard]] std::uint64_t lost() const { return lost_; }
    /// When a process with a path last started (a start or a restart in the tree).
    [[nodiscard]] Ticks last_spawn() const {
        const auto lock = guard();
        return last_spawn_;
    }

private:
    /// On the threaded scheduler, events arrive from the trace's lock while the harness process
    /// reads alive() and last_spawn() from a worker; the simulator needs no lock.
    [[nodiscard]] std::unique_lock<std::mutex> guard() const {
        std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
        if (threaded_) {
            lock.lock();
        }
        return lock;
    }

    struct Proc {
        Pid parent;
        bool alive = false;
        std::string path;
        std::uint64_t exited_at = 0;  // The event number of its exit; 0 while alive.
    };
    struct Monitor {
        Pid watcher;
        Pid target;
        bool demonitored = false;
        int downs = 0;
    };

    [[nodiscard]] std::uint64_t exited_at(Pid pid) const {
        const auto it = procs_.find(pid.id);
        return it == procs_.end() ? 0 : it->second.exited_at;
    }
    [[nodiscard]] std::string name_of(Pid pid) const {
        const auto it = procs_.find(pid.id);
        if (it != procs_.end() && !it->second.path.empty()) {
            return it->second.path;
        }
        return pid.to_string();
    }
    [[nodiscard]] std::string describe(const Monitor& m) const {
        return "the monitor of " + name_of(m.watcher) + " on " + name_of(m.target);
    }
    /// A registered name never points at a process whose exit has been processed (§1.8: the
    /// name goes before the exit's signals do). Checked at every exit; each name reported once.
    void check_names(Ticks time) {
        for (const std::string& name : names_) {
            const std::optional<Pid> holder = runtime_.whereis(name);
            if (holder && exited_at(*holder) != 0 && stale_names_.insert(name).second) {
                violations_.push_back(at(time) + ": registry names never point at dead processes: `" +
                                      name + "` still names " + name_of(*holder) +
                                      ", which has exited");
            }
        }
    }

    const Runtime& runtime_;
    const bool threaded_;
    mutable std::mutex mutex_;
    std::set<std::string> supervisor_paths_;
    std::set<std::string> names_;  // Names the tree's workers register.
    std::set<std::string> stale_names_;
    // By reference: every call sets one, so an open-addressing map, not a node per monitor.
    bedlam::detail::FlatMap64<Monitor> monitors_;
    std::uint64_t events_ = 0;
    std::map<std::uint64_t, Proc> procs_;
    std::map<std::string, int> spawns_;
    std::map<std::string, int> live_;
    std::vector<std::string> gave_up_;
    std::vector<std::string> violations_;
    // Sequence numbers (never 0) of messages sent and not yet delivered: an open-addressing set,
    // since every message of the run passes through it.
    bedlam::detail::FlatMap64<bool> in_flight_;
    std::uint64_t lost_ = 0;
    Ticks last_spawn_ = 0;
};

}  // namespace bedlam::scenario::detail
