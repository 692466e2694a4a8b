// The threaded-scheduler workloads shared by bedlam_bench and bedlam_peers (threads_workloads.hpp).
// Each process body mirrors a function of the same name in bench/peers/erlang/peers.erl and an
// actor in bench/peers/caf/caf_peers.cpp; keep the three in step when one changes.
#include "threads_workloads.hpp"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <fstream>
#include <string>
#include <vector>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/server.hpp"
#include "bedlam/runtime/supervisor.hpp"

namespace bedlam::bench {
namespace {

struct Done {};

// -- spawn ----------------------------------------------------------------------------------------

Process spawned(Self self, Pid root) {
    self.send(root, Done{});
    co_return;
}

// Spawned in batches of spawn_batch, each waited for before the next: at most that many children
// are alive at once in every runtime. With all 1,000,000 spawned at once, CAF 0.17 piles them up
// in one worker's queue, which the other worker contends for, and needs minutes and 1.2 GB
// (docs/benchmarks.md); the batches measure the rate, not that.
constexpr std::uint64_t spawn_batch = 1000;

Process spawn_root(Self self, std::uint64_t processes, Ticks* elapsed) {
    const Ticks start = self.now();
    for (std::uint64_t done = 0; done < processes;) {
        const std::uint64_t batch = std::min(spawn_batch, processes - done);
        for (std::uint64_t i = 0; i < batch; ++i) {
            self.spawn(spawned, self.pid());
        }
        for (std::uint64_t i = 0; i < batch; ++i) {
            co_await self.receive<Done>();
        }
        done += batch;
    }
    *elapsed = self.now() - start;
}

// -- idle footprint -------------------------------------------------------------------------------

struct Parked {};
struct Stop {};

/// Resident set size of this OS process, from /proc/self/statm (pages) times the page size.
double resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t size_pages = 0;
    std::size_t resident_pages = 0;
    statm >> size_pages >> resident_pages;
    return static_cast<double>(resident_pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

Process idle(Self self, Pid root) {
    self.send(root, Parked{});
    co_await self.receive<Stop>();
}

// Spawned in batches as well, so that the root's mailbox never holds more than one batch of
// Parked messages: a mailbox of 100,000 messages would be part of the peak RSS and be counted
// against every process. The peers do the same.
constexpr std::uint64_t idle_batch = 1000;

Process idle_root(Self self, std::uint64_t processes, IdleFootprint* out) {
    std::vector<Pid> pids;  // Counted in the growth, as the peers' lists of pids are.
    malloc_trim(0);         // Hand back what earlier work freed, so the growth is ours alone.
    const double before = resident_bytes();
    const Ticks start = self.now();
    for (std::uint64_t done = 0; done < processes;) {
        const std::uint64_t batch = std::min(idle_batch, processes - done);
        for (std::uint64_t i = 0; i < batch; ++i) {
            pids.push_back(self.spawn(idle, self.pid()));
        }
        for (std::uint64_t i = 0; i < batch; ++i) {
            co_await self.receive<Parked>();
        }
        done += batch;
    }
    out->spawn_ns = self.now() - start;
    out->bytes_per_process = (resident_bytes() - before) / static_cast<double>(processes);
    for (const Pid pid : pids) {
        self.send(pid, Stop{});
    }
}

// -- ping-pong ------------------------------------------------------------------------------------

struct Ping {
    Pid from;
    std::uint64_t n;
};
struct Pong {
    std::uint64_t n;
};

Process ponger(Self self) {
    for (;;) {
        const Ping ping = co_await self.receive<Ping>();
        self.send(ping.from, Pong{ping.n});
        if (ping.n == 0) {
            co_return;  // The last round trip.
        }
    }
}

Process pinger(Self self, std::uint64_t round_trips, Ticks* elapsed) {
    const Pid peer = self.spawn(ponger);
    const Ticks start = self.now();
    for (std::uint64_t left = round_trips; left > 0; --left) {
        self.send(peer, Ping{self.pid(), left - 1});
        co_await self.receive<Pong>();
    }
    *elapsed = self.now() - start;
}

// -- ring -----------------------------------------------------------------------------------------

struct Next {
    Pid pid;
};
/// hops_left counts the hops the token still has to make; the member that receives it at 0
/// tells the root. `stop` ends a member once the run is over.
struct Token {
    std::uint64_t hops_left;
    bool stop;
};

Process ring_member(Self self, Pid root) {
    const Next next = co_await self.receive<Next>();
    for (;;) {
        const Token token = co_await self.receive<Token>();
        if (token.stop) {
            co_return;
        }
        if (token.hops_left == 0) {
            self.send(root, Done{});
        } else {
            self.send(next.pid, Token{token.hops_left - 1, false});
        }
    }
}

Process ring_root(Self self, std::uint64_t processes, std::uint64_t laps, Ticks* elapsed) {
    std::vector<Pid> ring;
    ring.reserve(processes);
    for (std::uint64_t i = 0; i < processes; ++i) {
        ring.push_back(self.spawn(ring_member, self.pid()));
    }
    for (std::size_t i = 0; i < ring.size(); ++i) {
        self.send(ring[i], Next{ring[(i + 1) % ring.size()]});
    }
    const Ticks start = self.now();
    self.send(ring[0], Token{processes * laps, false});
    co_await self.receive<Done>();
    *elapsed = self.now() - start;
    for (const Pid pid : ring) {
        self.send(pid, Token{0, true});
    }
}

// -- fan-in ---------------------------------------------------------------------------------------

struct Item {
    std::uint64_t n;
};

Process fan_sender(Self self, Pid to, std::uint64_t messages) {
    for (std::uint64_t i = 0; i < messages; ++i) {
        self.send(to, Item{i});
    }
    co_return;
}

Process fan_receiver(Self self, std::uint64_t senders, std::uint64_t messages_each,
                     Ticks* elapsed) {
    const Ticks start = self.now();
    for (std::uint64_t i = 0; i < senders; ++i) {
        self.spawn(fan_sender, self.pid(), messages_each);
    }
    std::uint64_t sum = 0;  // Read every message, as the peers do.
    for (std::uint64_t i = 0; i < senders * messages_each; ++i) {
        sum += (co_await self.receive<Item>()).n;
    }
    *elapsed = self.now() - start;
    BEDLAM_ASSERT(sum == senders * (messages_each * (messages_each - 1) / 2));
}

// -- restart storms -------------------------------------------------------------------------------

struct Hello {
    int index;
    Pid pid;
};

/// A gen_server child whose init tells the driver its pid, as the Erlang child's init/1 does.
class StormChild final : public Server {
public:
    StormChild(int index, Pid driver) : index_(index), driver_(driver) {}

    Async<InitResult> init(Self self) override {
        self.send(driver_, Hello{index_, self.pid()});
        co_return InitResult::ok();
    }

private:
    int index_;
    Pid driver_;
};

Process storm_driver(Self self, Strategy strategy, int children, int kills, Ticks* elapsed) {
    self.trap_exit(true);
    std::vector<ChildSpec> specs;
    specs.reserve(static_cast<std::size_t>(children));
    for (int i = 0; i < children; ++i) {
        specs.push_back(ChildSpec::server<StormChild>("c" + std::to_string(i), i, self.pid()));
    }
    // Unlimited intensity: the storm measures restart cost, not giving up. The period is 1 s,
    // as in BM_ThreadsRestartStorm; OTP keeps one timestamp per restart within the period.
    const StartResult sup = co_await start_supervisor(self, SupFlags(strategy, INT_MAX, 1), specs);
    std::vector<Pid> pids(static_cast<std::size_t>(children));
    auto take_hello = [&](Hello h) { pids[static_cast<std::size_t>(h.index)] = h.pid; };
    for (int i = 0; i < children; ++i) {
        co_await self.receive(take_hello);
    }
    const int per_kill = strategy == Strategy::one_for_all ? children : 1;
    const Ticks start = self.now();
    for (int k = 0; k < kills; ++k) {
        self.exit(pids[static_cast<std::size_t>(k % children)], ExitReason::kill());
        for (int i = 0; i < per_kill; ++i) {
            co_await self.receive(take_hello);
        }
    }
    *elapsed = self.now() - start;
    self.exit(sup.pid, ExitReason::shutdown());
    co_await self.receive<ExitMsg>();
}

// -- supervision tree -----------------------------------------------------------------------------

/// A gen_server worker that does nothing: init returns ok.
class TreeWorker final : public Server {};

Process tree_driver(Self self, int supervisors, int workers_each, TreeTimes* out) {
    self.trap_exit(true);
    std::vector<ChildSpec> workers;
    workers.reserve(static_cast<std::size_t>(workers_each));
    for (int i = 0; i < workers_each; ++i) {
        workers.push_back(ChildSpec::server<TreeWorker>("w" + std::to_string(i)));
    }
    std::vector<ChildSpec> sups;
    sups.reserve(static_cast<std::size_t>(supervisors));
    for (int i = 0; i < supervisors; ++i) {
        // OTP's default flags (one_for_one, 1 restart in 5 s), as the Erlang tree uses.
        sups.push_back(supervisor_spec("s" + std::to_string(i), SupFlags(), workers));
    }
    const Ticks start = self.now();
    const StartResult root = co_await start_supervisor(self, SupFlags(), std::move(sups));
    const Ticks started = self.now();
    self.exit(root.pid, ExitReason::shutdown());
    co_await self.receive<ExitMsg>();
    out->start_ns = started - start;
    out->stop_ns = self.now() - started;
}

// -- server calls ---------------------------------------------------------------------------------

struct Get {};

class Counter final : public Server {
public:
    Async<ServerResult> handle_call(Self /*self*/, Message /*request*/, From /*from*/) override {
        co_return ServerResult::reply_with(++calls_);
    }

private:
    std::uint64_t calls_ = 0;
};

Process call_driver(Self self, std::uint64_t calls, Ticks* elapsed) {
    self.trap_exit(true);
    const StartResult server = co_await start_link<Counter>(self);
    const Ticks start = self.now();
    std::uint64_t last = 0;
    for (std::uint64_t i = 0; i < calls; ++i) {
        last = co_await call<std::uint64_t>(self, server.pid, Get{});
    }
    *elapsed = self.now() - start;
    BEDLAM_ASSERT(last == calls);
    co_await stop(self, server.pid);
}

}  // namespace

Ticks run_spawn(ThreadScheduler& sched, std::uint64_t processes) {
    Ticks elapsed = 0;
    sched.spawn(spawn_root, processes, &elapsed);
    sched.run_until_idle();
    return elapsed;
}

IdleFootprint run_idle_footprint(ThreadScheduler& sched, std::uint64_t processes) {
    IdleFootprint out;
    sched.spawn(idle_root, processes, &out);
    sched.run_until_idle();
    return out;
}

Ticks run_ping_pong(ThreadScheduler& sched, std::uint64_t round_trips) {
    Ticks elapsed = 0;
    sched.spawn(pinger, round_trips, &elapsed);
    sched.run_until_idle();
    return elapsed;
}

Ticks run_ring(ThreadScheduler& sched, std::uint64_t processes, std::uint64_t laps) {
    Ticks elapsed = 0;
    sched.spawn(ring_root, processes, laps, &elapsed);
    sched.run_until_idle();
    return elapsed;
}

Ticks run_fan_in(ThreadScheduler& sched, std::uint64_t senders, std::uint64_t messages_each) {
    Ticks elapsed = 0;
    sched.spawn(fan_receiver, senders, messages_each, &elapsed);
    sched.run_until_idle();
    return elapsed;
}

Ticks run_restart_storm(ThreadScheduler& sched, Strategy strategy, int children, int kills) {
    Ticks elapsed = 0;
    sched.spawn(storm_driver, strategy, children, kills, &elapsed);
    sched.run_until_idle();
    return elapsed;
}

TreeTimes run_supervision_tree(ThreadScheduler& sched, int supervisors, int workers_each) {
    TreeTimes out;
    sched.spawn(tree_driver, supervisors, workers_each, &out);
    sched.run_until_idle();
    return out;
}

Ticks run_server_calls(ThreadScheduler& sched, std::uint64_t calls) {
    Ticks elapsed = 0;
    sched.spawn(call_driver, calls, &elapsed);
    sched.run_until_idle();
    return elapsed;
}

}  // namespace bedlam::bench
