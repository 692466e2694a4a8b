// The demo: four clients deposit into and withdraw from a bank server reached by its registered
// name. A withdrawal that would overdraw the account crashes the bank (a bug, "let it crash").
// The coordinator traps exits, is linked to every client and monitors the bank: on the bank's
// DOWN it starts a fresh one under the same name, up to three times. A client whose request goes
// unanswered in time, or that finds no bank registered, exits abnormally. Which of these happen
// depends on the interleaving, and so on the seed.
#include "demo.hpp"

#include <cstdio>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "bedlam/chaos/injector.hpp"
#include "bedlam/runtime/runtime.hpp"

namespace bedlam::cli {

namespace {

using namespace std::chrono_literals;

using Log = std::vector<std::string>;

struct Deposit {
    Pid from;
    int amount;
};
struct Withdraw {
    Pid from;
    int amount;
};
struct Receipt {
    int balance;
};

constexpr int client_count = 4;
constexpr int rounds = 5;
constexpr int bank_restarts_max = 3;

void note(Log* log, Ticks now, const std::string& text) {
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "[t=%4lldms] ", static_cast<long long>(now / 1'000'000));
    log->push_back(stamp + text);
}

std::string show(Pid pid) {
    std::ostringstream out;
    out << pid;
    return out.str();
}

Process bank(Self self, int balance) {
    for (;;) {
        co_await self.receive(
            [&](Deposit d) {
                balance += d.amount;
                self.send(d.from, Receipt{balance});
            },
            [&](Withdraw w) {
                if (w.amount > balance) {
                    throw std::runtime_error("overdraft: " + std::to_string(w.amount) + " > " +
                                             std::to_string(balance));
                }
                balance -= w.amount;
                self.send(w.from, Receipt{balance});
            });
    }
}

Process client(Self self, int id) {
    for (int i = 0; i < rounds; ++i) {
        // Every client wakes at the same instants, so the order in which the bank sees their
        // requests (and whether it overdraws) is up to the scheduler.
        co_await self.sleep(std::chrono::milliseconds(1 + i % 2));
        // Even clients save, odd clients spend more than they save.
        if ((id + i) % 2 == 0) {
            self.send("bank", Deposit{self.pid(), 10 + id});
        } else {
            self.send("bank", Withdraw{self.pid(), 25 + 5 * id});
        }
        const std::optional<Receipt> receipt = co_await self.receive_for<Receipt>(20ms);
        if (!receipt) {
            self.exit(ExitReason::error("client " + std::to_string(id) + ": bank timeout"));
        }
    }
}

Pid start_bank(Self self, Log* log) {
    const Pid pid = self.spawn(bank, 50);
    const bool registered = self.register_name("bank", pid);
    BEDLAM_ASSERT(registered);
    self.monitor(pid);
    note(log, self.now(), "bank " + show(pid) + " started");
    return pid;
}

Process coordinator(Self self, Log* log) {
    self.trap_exit(true);
    Pid bank_pid = start_bank(self, log);
    for (int id = 0; id < client_count; ++id) {
        const Pid pid = self.spawn_link(client, id);
        note(log, self.now(), "client " + std::to_string(id) + " is " + show(pid));
    }
    int clients_left = client_count;
    int restarts = 0;
    while (clients_left > 0) {
        co_await self.receive(
            [&](const ExitMsg& m) {
                --clients_left;
                note(log, self.now(), "client " + show(m.from) + " exited: " + m.reason.to_string());
            },
            [&](const DownMsg& m) {
                note(log, self.now(), "bank " + show(m.pid) + " down: " + m.reason.to_string());
                if (restarts < bank_restarts_max) {
                    ++restarts;
                    bank_pid = start_bank(self, log);
                } else {
                    note(log, self.now(), "bank restart limit reached");
                    bank_pid = Pid{};
                }
            });
    }
    if (bank_pid.valid()) {
        self.exit(bank_pid, ExitReason::shutdown());
        co_await self.receive([&](const DownMsg& m) {
            note(log, self.now(), "bank " + show(m.pid) + " stopped: " + m.reason.to_string());
        });
    }
    note(log, self.now(), "all clients done; bank restarts: " + std::to_string(restarts));
}

}  // namespace

DemoResult run_demo(std::uint64_t seed, Policy policy, std::ostream* trace_out, bool swarm) {
    Simulator sim(SimConfig{.seed = seed, .policy = policy, .trace_out = trace_out});
    DemoResult result;
    std::optional<chaos::Injector> injector;
    if (swarm) {
        chaos::SwarmOptions options;
        options.faults_until = 2'000'000'000;
        const chaos::Plan plan = chaos::swarm(seed, options);
        result.plan = chaos::describe(plan);
        injector.emplace(sim, plan, seed);
        injector->install();
    }
    sim.spawn(coordinator, &result.log);
    result.run = sim.run();
    result.hash = sim.trace_hash();
    result.events = sim.trace_events();
    return result;
}

std::string summary_line(std::uint64_t seed, std::uint64_t hash) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "seed=%llu hash=%016llx", static_cast<unsigned long long>(seed),
                  static_cast<unsigned long long>(hash));
    return buf;
}

}  // namespace bedlam::cli
