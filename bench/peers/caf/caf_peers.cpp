// caf_peers: the CAF 0.17 side of bedlam's side-by-side benchmarks (bench/peers/run.sh,
// docs/benchmarks.md). Each program does the same work as its twin in bench/threads_workloads.cpp
// and bench/peers/erlang/peers.erl, with event-based actors on CAF's work-stealing scheduler, and
// prints the same lines:
//
//   SIZE <benchmark> <key>=<value> ...    the work done
//   RESULT <benchmark> <metric> <value>   one line per figure
//   INFO workers <N>                      scheduler threads
//   SKIP <benchmark> <why>                no fair equivalent in CAF
//
// Usage: caf_peers <benchmark> [--threads N] [--quick]   (N: scheduler threads, default cores)
//
// CAF 0.17 has no supervisors, so the restart storms and the supervision tree are skipped. Time
// is taken inside the actors with std::chrono::steady_clock, around the same part of each program
// as bedlam and Erlang measure; the result goes to main() through a scoped_actor.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "caf/all.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

using done_atom = caf::atom_constant<caf::atom("done")>;
using parked_atom = caf::atom_constant<caf::atom("parked")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using next_atom = caf::atom_constant<caf::atom("next")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using item_atom = caf::atom_constant<caf::atom("item")>;
using get_atom = caf::atom_constant<caf::atom("get")>;

std::int64_t elapsed_ns(clock_type::time_point start) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - start).count();
}

/// Resident set size of this process, from /proc/self/statm (pages) times the page size.
double resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t size_pages = 0;
    std::size_t resident_pages = 0;
    statm >> size_pages >> resident_pages;
    return static_cast<double>(resident_pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// -- spawn ---------------------------------------------------------------------------------------

/// Returns no behavior, so the actor terminates once this has run.
void spawned(caf::event_based_actor* self, caf::actor root) {
    self->send(root, done_atom::value);
}

// In batches of 1,000 as in bedlam's spawn_root: at most 1,000 children are alive at once.
constexpr std::uint64_t spawn_batch_size = 1000;

struct spawn_state {
    std::uint64_t total = 0;
    std::uint64_t spawned = 0;
    std::uint64_t left_in_batch = 0;
    clock_type::time_point start;
};

void spawn_batch(caf::stateful_actor<spawn_state>* self) {
    auto& st = self->state;
    st.left_in_batch = std::min(spawn_batch_size, st.total - st.spawned);
    st.spawned += st.left_in_batch;
    const auto me = caf::actor_cast<caf::actor>(self);
    for (std::uint64_t i = 0; i < st.left_in_batch; ++i) {
        self->spawn(spawned, me);
    }
}

caf::behavior spawn_root(caf::stateful_actor<spawn_state>* self, std::uint64_t n,
                         caf::actor main_actor) {
    self->state.total = n;
    self->state.start = clock_type::now();
    spawn_batch(self);
    return {[=](done_atom) {
        auto& st = self->state;
        if (--st.left_in_batch > 0) {
            return;
        }
        if (st.spawned < st.total) {
            spawn_batch(self);
            return;
        }
        self->send(main_actor, elapsed_ns(st.start));
        self->quit();
    }};
}

// -- idle footprint ------------------------------------------------------------------------------

caf::behavior idle(caf::event_based_actor* self, caf::actor root) {
    self->send(root, parked_atom::value);
    return {[=](stop_atom) { self->quit(); }};
}

// Batches of 1,000 as in bedlam's idle_root, so that the root's mailbox stays small.
constexpr std::uint64_t idle_batch = 1000;

struct idle_state {
    std::vector<caf::actor> actors;  // Counted in the growth, as bedlam's pids are.
    std::uint64_t total = 0;
    std::uint64_t parked_in_batch = 0;
    std::uint64_t batch = 0;
    double before = 0;
};

void spawn_idle_batch(caf::stateful_actor<idle_state>* self) {
    auto& st = self->state;
    st.batch = std::min(idle_batch, st.total - st.actors.size());
    st.parked_in_batch = 0;
    const auto me = caf::actor_cast<caf::actor>(self);
    for (std::uint64_t i = 0; i < st.batch; ++i) {
        st.actors.push_back(self->spawn(idle, me));
    }
}

caf::behavior idle_root(caf::stateful_actor<idle_state>* self, std::uint64_t n,
                        caf::actor main_actor) {
    self->state.total = n;
    malloc_trim(0);  // Hand back what earlier work freed, so that the growth is ours alone.
    self->state.before = resident_bytes();
    spawn_idle_batch(self);
    return {[=](parked_atom) {
        auto& st = self->state;
        if (++st.parked_in_batch < st.batch) {
            return;
        }
        if (st.actors.size() < st.total) {
            spawn_idle_batch(self);
            return;
        }
        const double bytes = (resident_bytes() - st.before) / static_cast<double>(st.total);
        for (const auto& a : st.actors) {
            self->send(a, stop_atom::value);
        }
        st.actors.clear();
        self->send(main_actor, bytes);
        self->quit();
    }};
}

// -- ping-pong -----------------------------------------------------------------------------------

caf::behavior ponger(caf::event_based_actor* self) {
    return {[=](ping_atom, const caf::actor& from, std::uint64_t n) {
        self->send(from, pong_atom::value, n);
        if (n == 0) {
            self->quit();  // The last round trip.
        }
    }};
}

struct ping_state {
    std::uint64_t left = 0;
    caf::actor peer;
    clock_type::time_point start;
};

caf::behavior pinger(caf::stateful_actor<ping_state>* self, std::uint64_t round_trips,
                     caf::actor main_actor) {
    auto& st = self->state;
    st.left = round_trips;
    st.peer = self->spawn(ponger);
    st.start = clock_type::now();
    const auto me = caf::actor_cast<caf::actor>(self);
    self->send(st.peer, ping_atom::value, me, st.left - 1);
    return {[=](pong_atom, std::uint64_t) {
        auto& s = self->state;
        if (--s.left == 0) {
            self->send(main_actor, elapsed_ns(s.start));
            self->quit();
            return;
        }
        self->send(s.peer, ping_atom::value, me, s.left - 1);
    }};
}

// -- ring ----------------------------------------------------------------------------------------

/// Waits for its successor, then forwards the token; the member that gets it at 0 hops left
/// tells the root.
caf::behavior ring_member(caf::event_based_actor* self, caf::actor root) {
    return {[=](next_atom, const caf::actor& next) {
        self->become([=](token_atom, std::uint64_t hops_left) {
                         if (hops_left == 0) {
                             self->send(root, done_atom::value);
                         } else {
                             self->send(next, token_atom::value, hops_left - 1);
                         }
                     },
                     [=](stop_atom) { self->quit(); });
    }};
}

struct ring_state {
    std::vector<caf::actor> ring;
    clock_type::time_point start;
};

caf::behavior ring_root(caf::stateful_actor<ring_state>* self, std::uint64_t processes,
                        std::uint64_t laps, caf::actor main_actor) {
    auto& ring = self->state.ring;
    const auto me = caf::actor_cast<caf::actor>(self);
    for (std::uint64_t i = 0; i < processes; ++i) {
        ring.push_back(self->spawn(ring_member, me));
    }
    for (std::size_t i = 0; i < ring.size(); ++i) {
        self->send(ring[i], next_atom::value, ring[(i + 1) % ring.size()]);
    }
    self->state.start = clock_type::now();
    self->send(ring[0], token_atom::value, processes * laps);
    return {[=](done_atom) {
        const std::int64_t ns = elapsed_ns(self->state.start);
        for (const auto& member : self->state.ring) {
            self->send(member, stop_atom::value);
        }
        self->state.ring.clear();
        self->send(main_actor, ns);
        self->quit();
    }};
}

// -- fan-in --------------------------------------------------------------------------------------

void fan_sender(caf::event_based_actor* self, caf::actor to, std::uint64_t messages) {
    for (std::uint64_t i = 0; i < messages; ++i) {
        self->send(to, item_atom::value, i);
    }
}

struct fan_state {
    std::uint64_t left = 0;
    std::uint64_t sum = 0;
    clock_type::time_point start;
};

caf::behavior fan_receiver(caf::stateful_actor<fan_state>* self, std::uint64_t senders,
                           std::uint64_t each, caf::actor main_actor) {
    self->state.left = senders * each;
    self->state.start = clock_type::now();
    const auto me = caf::actor_cast<caf::actor>(self);
    for (std::uint64_t i = 0; i < senders; ++i) {
        self->spawn(fan_sender, me, each);
    }
    return {[=](item_atom, std::uint64_t i) {
        self->state.sum += i;
        if (--self->state.left == 0) {
            if (self->state.sum != senders * (each * (each - 1) / 2)) {
                std::fputs("fan_in: wrong sum\n", stderr);
                std::abort();
            }
            self->send(main_actor, elapsed_ns(self->state.start));
            self->quit();
        }
    }};
}

// -- server calls --------------------------------------------------------------------------------

struct counter_state {
    std::uint64_t calls = 0;
};

/// The server: answers each get with the number of calls so far.
caf::behavior counter(caf::stateful_actor<counter_state>* self) {
    return {[=](get_atom) { return ++self->state.calls; }, [=](stop_atom) { self->quit(); }};
}

struct call_state {
    caf::actor server;
    caf::actor main_actor;
    std::uint64_t calls = 0;
    std::uint64_t done = 0;
    clock_type::time_point start;
};

// No time-out, unlike gen_server:call and bedlam's call (5 s). With one, every request goes
// through CAF 0.17's clock thread, whose set_request_timeout scans the actor's pending time-outs:
// 100,000 calls took 1 s, but 1,000,000 did not finish within 300 s. Without it CAF does less
// work per call than the other two.
// await() holds back every other message until the response, as a call's selective receive does.
void next_call(caf::stateful_actor<call_state>* self) {
    self->request(self->state.server, caf::infinite, get_atom::value)
        .await([=](std::uint64_t reply) {
            auto& st = self->state;
            if (++st.done < st.calls) {
                next_call(self);
                return;
            }
            if (reply != st.calls) {
                std::fputs("server_call: wrong count\n", stderr);
                std::abort();
            }
            const std::int64_t ns = elapsed_ns(st.start);
            self->send(st.server, stop_atom::value);
            self->send(st.main_actor, ns);
            self->quit();
        });
}

caf::behavior call_driver(caf::stateful_actor<call_state>* self, std::uint64_t calls,
                          caf::actor main_actor) {
    auto& st = self->state;
    st.server = self->spawn(counter);
    st.main_actor = main_actor;
    st.calls = calls;
    st.start = clock_type::now();
    next_call(self);
    // A behavior that never matches: the driver lives on its awaited responses.
    return {[](stop_atom) {}};
}

// -- main ----------------------------------------------------------------------------------------

void result(const char* benchmark, const char* metric, double value) {
    std::printf("RESULT %s %s %.1f\n", benchmark, metric, value);
}

double per_second(std::uint64_t items, std::int64_t ns) {
    return static_cast<double>(items) * 1e9 / static_cast<double>(ns > 0 ? ns : 1);
}

/// Waits for the elapsed time (ns) that the benchmark's root actor sends to main.
std::int64_t await_ns(caf::scoped_actor& self) {
    std::int64_t ns = 0;
    self->receive([&](std::int64_t value) { ns = value; });
    return ns;
}

/// Runs `name` once; false if there is no such benchmark.
bool run(caf::actor_system& system, const std::string& name, std::uint64_t scale) {
    caf::scoped_actor self{system};
    const caf::actor main_actor = self;
    if (name == "spawn") {
        const std::uint64_t n = 1'000'000 / scale;
        std::printf("SIZE spawn processes=%llu\n", static_cast<unsigned long long>(n));
        self->spawn(spawn_root, n, main_actor);
        result("spawn", "processes_per_s", per_second(n, await_ns(self)));
    } else if (name == "idle_memory") {
        const std::uint64_t n = 100'000;
        std::printf("SIZE idle_memory processes=%llu\n", static_cast<unsigned long long>(n));
        self->spawn(idle_root, n, main_actor);
        double bytes = 0;
        self->receive([&](double value) { bytes = value; });
        result("idle_memory", "bytes_per_process", bytes);
    } else if (name == "ping_pong") {
        const std::uint64_t n = 2'000'000 / scale;
        std::printf("SIZE ping_pong round_trips=%llu\n", static_cast<unsigned long long>(n));
        self->spawn(pinger, n, main_actor);
        result("ping_pong", "round_trips_per_s", per_second(n, await_ns(self)));
    } else if (name == "ring") {
        const std::uint64_t processes = 10'000;
        const std::uint64_t laps = 100 / scale;
        std::printf("SIZE ring processes=%llu laps=%llu\n",
                    static_cast<unsigned long long>(processes),
                    static_cast<unsigned long long>(laps));
        self->spawn(ring_root, processes, laps, main_actor);
        result("ring", "hops_per_s", per_second(processes * laps, await_ns(self)));
    } else if (name == "fan_in") {
        const std::uint64_t senders = 1'000;
        const std::uint64_t each = 1'000 / scale;
        std::printf("SIZE fan_in senders=%llu messages_each=%llu\n",
                    static_cast<unsigned long long>(senders),
                    static_cast<unsigned long long>(each));
        self->spawn(fan_receiver, senders, each, main_actor);
        result("fan_in", "msgs_per_s", per_second(senders * each, await_ns(self)));
    } else if (name == "server_call") {
        const std::uint64_t n = 1'000'000 / scale;
        std::printf("SIZE server_call calls=%llu\n", static_cast<unsigned long long>(n));
        self->spawn(call_driver, n, main_actor);
        const std::int64_t ns = await_ns(self);
        result("server_call", "calls_per_s", per_second(n, ns));
        result("server_call", "ns_per_call", static_cast<double>(ns) / static_cast<double>(n));
    } else if (name == "restart_one_for_one" || name == "restart_one_for_all" ||
               name == "sup_tree") {
        std::printf("SKIP %s CAF 0.17 has no supervisors\n", name.c_str());
    } else {
        return false;
    }
    std::fflush(stdout);
    return true;
}

constexpr const char* usage =
    "usage: caf_peers <benchmark> [--threads N] [--quick]\n"
    "benchmarks: spawn idle_memory ping_pong ring fan_in server_call\n"
    "            (restart_one_for_one restart_one_for_all sup_tree: skipped, no supervisors)\n";

}  // namespace

int main(int argc, char** argv) {
    std::string name;
    std::size_t threads = std::thread::hardware_concurrency();
    std::uint64_t scale = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--threads" && i + 1 < argc) {
            threads = std::strtoul(argv[++i], nullptr, 10);
        } else if (arg == "--quick") {
            scale = 10;
        } else if (arg.rfind('-', 0) != 0 && name.empty()) {
            name = arg;
        } else {
            std::fputs(usage, stderr);
            return 2;
        }
    }
    if (name.empty()) {
        std::fputs(usage, stderr);
        return 2;
    }
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", threads);
    caf::actor_system system{cfg};
    std::printf("INFO workers %zu\n", system.scheduler().num_workers());
    if (!run(system, name, scale)) {
        std::fputs(usage, stderr);
        return 2;
    }
    return 0;
}
