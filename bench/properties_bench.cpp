// Property-suite benchmarks (figures in docs/benchmarks.md, "Property suites"):
//
// - BM_SupervisionPropertyCase: cases per second of the main supervision property
//   (properties/test/supervisor_property_test.cpp) on a flat supervisor of 10 children. One case
//   is what the property does for one generated input: draw the supervisor and the exit schedule,
//   compute the model's log, run the real supervisor in the simulator under the chaos plan, run
//   it again from the same seed, and compare the logs and the hashes. The input is drawn inside
//   the timed loop, as RapidCheck draws it inside each case, but from a bedlam::Rng (no
//   RapidCheck in the timed loop: the figure is the runtime's and the model's cost).
// - BM_VirtualToWallCompression: how many virtual seconds the simulator covers per wall second
//   on a timer-heavy suite: a 50-process supervision tree whose workers tick on send_after and
//   receive-after time-outs (10 ms to 1 s), call their pool's gen_server with a time-out, and
//   wear out and get restarted, for an hour of virtual time.
#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bedlam/properties/supervisor_model.hpp"
#include "bedlam/properties/supervisor_run.hpp"
#include "bedlam/runtime.hpp"
#include "bedlam/runtime/server.hpp"
#include "bedlam/runtime/supervisor.hpp"
#include "properties_bench.hpp"

namespace bedlam::bench {
namespace {

using benchmark::Counter;
using benchmark::State;
using properties::ModelChild;
using properties::ModelExit;
using properties::ModelSupervisor;

constexpr Ticks ms = 1'000'000;
constexpr Ticks sec = 1'000 * ms;

// -- The supervision property, one case at a time --------------------------------------------------

/// One generated input of the supervision property.
struct PropertyCase {
    ModelSupervisor sup;
    std::vector<ModelExit> exits;
    Ticks end = 0;
    std::uint64_t seed = 0;
};

/// Draws a case with the property's ranges (properties/test/generators.hpp): every strategy but
/// simple_one_for_one, every restart type, intensity 0-4, period 1-5 s; up to 12 exits, 1-2999 ms
/// apart (RapidCheck's inRange(1, 3000) is half-open), with the property's five reasons; the run
/// ends 1 s after the last exit. Unlike RapidCheck, the supervisor always has `children` children
/// and the number of exits is uniform in 0-12.
PropertyCase draw_case(Rng& rng, std::size_t children) {
    constexpr std::array strategies{Strategy::one_for_one, Strategy::one_for_all,
                                    Strategy::rest_for_one};
    constexpr std::array restarts{Restart::permanent, Restart::transient, Restart::temporary};
    PropertyCase c;
    c.sup.strategy = strategies[rng.below(strategies.size())];
    c.sup.intensity = static_cast<int>(rng.below(5));
    c.sup.period_s = 1 + static_cast<int>(rng.below(5));
    for (std::size_t i = 0; i < children; ++i) {
        ModelChild child;
        child.restart = restarts[rng.below(restarts.size())];
        c.sup.children.push_back(child);
    }
    const std::uint64_t exits = rng.below(13);
    Ticks at = 0;
    for (std::uint64_t i = 0; i < exits; ++i) {
        at += static_cast<Ticks>(1 + rng.below(2999)) * ms;
        const std::size_t child = rng.below(children);
        ExitReason reason;
        switch (rng.below(5)) {
            case 0: reason = ExitReason::kill(); break;
            case 1: reason = ExitReason::normal(); break;
            case 2: reason = ExitReason::shutdown(); break;
            case 3: reason = ExitReason::shutdown("chaos"); break;
            default: reason = ExitReason::error("boom"); break;
        }
        c.exits.push_back(ModelExit{at, child, std::move(reason)});
    }
    c.end = at + 1'000 * ms;
    c.seed = rng.next();
    return c;
}

void supervision_property_case(State& state) {
    const auto children = static_cast<std::size_t>(state.range(0));
    Rng rng(1);  // A new stream per repetition: every repetition checks the same cases.
    std::uint64_t exits = 0;
    std::uint64_t log_lines = 0;
    double virtual_seconds = 0;
    for (auto _ : state) {
        const PropertyCase c = draw_case(rng, children);
        const std::vector<std::string> expected = properties::expected_log(c.sup, c.exits, c.end);
        const properties::SupervisorRun run = properties::run_supervisor(c.sup, c.exits, c.end,
                                                                         c.seed);
        const properties::SupervisorRun replay =
            properties::run_supervisor(c.sup, c.exits, c.end, c.seed);
        if (run.log != expected) {
            state.SkipWithError("the supervisor's log differs from the model's");
            break;
        }
        if (replay.hash != run.hash) {
            state.SkipWithError("the seed did not replay to the same hash");
            break;
        }
        exits += c.exits.size();
        log_lines += expected.size();
        virtual_seconds += static_cast<double>(c.end) / static_cast<double>(sec);
    }
    const auto cases = static_cast<double>(state.iterations());
    state.SetItemsProcessed(state.iterations());
    state.SetLabel("items = property cases (model + run + replay)");
    state.counters["exits_per_case"] = Counter(static_cast<double>(exits) / cases);
    state.counters["log_lines_per_case"] = Counter(static_cast<double>(log_lines) / cases);
    state.counters["virtual_s_per_case"] = Counter(virtual_seconds / cases);
}

// -- A timer-heavy suite ---------------------------------------------------------------------------

/// What the suite's processes did, summed over every run of a repetition.
struct SuiteStats {
    std::uint64_t ticks = 0;          // send_after timers fired (tickers)
    std::uint64_t polls = 0;          // receive time-outs (pollers)
    std::uint64_t idle_flushes = 0;   // gen_server time-outs (stores)
    std::uint64_t calls = 0;          // gen_server calls answered (each armed a time-out)
    std::uint64_t starts = 0;         // worker starts, restarts included

    [[nodiscard]] std::uint64_t timers_fired() const noexcept {
        return ticks + polls + idle_flushes;
    }
};

struct Tick {};
struct Poke {};
struct Bump {};

constexpr int pools = 4;
constexpr int tickers_per_pool = 6;
constexpr int pollers_per_pool = 4;
constexpr std::uint64_t workers = std::uint64_t{pools} * (tickers_per_pool + pollers_per_pool);
constexpr Duration call_timeout = std::chrono::milliseconds(100);
constexpr Duration store_idle = std::chrono::milliseconds(250);
constexpr std::array<Ticks, 7> periods{10 * ms, 20 * ms, 50 * ms, 100 * ms,
                                       200 * ms, 500 * ms, 1'000 * ms};

/// A pool's store: answers every call at once and, like a gen_server with a `timeout` in its
/// result, flushes when no call has come for `store_idle`.
class Store final : public Server {
public:
    explicit Store(SuiteStats* stats) : stats_(stats) {}

    Async<ServerResult> handle_call(Self /*self*/, Message /*request*/, From /*from*/) override {
        ServerAction idle = ServerAction::after(store_idle);
        co_return ServerResult::reply_with(++version_, std::move(idle));
    }
    Async<ServerResult> handle_info(Self /*self*/, Message info) override {
        if (info.is<ServerTimeout>()) {
            ++stats_->idle_flushes;
        }
        co_return ServerResult::noreply();
    }

private:
    SuiteStats* stats_;
    int version_ = 0;
};

/// Arms a send_after to itself every `period` and waits for it; every `call_every` ticks calls
/// its pool's store (time-out 100 ms); wears out (exits with an error) after `wear_out` ticks.
Process ticker(Self self, Ticks period, std::uint32_t call_every, std::uint32_t wear_out,
               std::string store, SuiteStats* stats) {
    ++stats->starts;
    const ServerRef server(std::move(store));
    for (std::uint32_t n = 1;; ++n) {
        self.send_after(Duration(period), self.pid(), Tick{});
        co_await self.receive<Tick>();
        ++stats->ticks;
        if (n % call_every == 0) {
            const int version = co_await call<int>(self, server, Bump{}, call_timeout);
            benchmark::DoNotOptimize(version);
            ++stats->calls;
        }
        if (n == wear_out) {
            self.exit(ExitReason::error("worn_out"));
        }
    }
}

/// Waits for a Poke with a time-out of `period` (none comes: every wait times out), like a
/// process polling on `receive ... after`; wears out after `wear_out` polls.
Process poller(Self self, Ticks period, std::uint32_t wear_out, SuiteStats* stats) {
    ++stats->starts;
    for (std::uint32_t n = 1;; ++n) {
        const std::optional<Poke> poke = co_await self.receive_for<Poke>(Duration(period));
        if (!poke) {
            ++stats->polls;
        }
        if (n == wear_out) {
            self.exit(ExitReason::error("worn_out"));
        }
    }
}

/// Ticks a worker of `period` lives: its wear-out comes 60-600 s after each start, so no worker
/// restarts more than once a minute and a pool (10 workers, intensity 10 in 10 s) never gives up.
std::uint32_t wear_out_ticks(Rng& rng, Ticks period) {
    const Ticks life = (60 + static_cast<Ticks>(rng.below(541))) * sec;
    return static_cast<std::uint32_t>(life / period);
}

/// The suite's tree, drawn from `seed`: a root supervisor (one_for_one, 3 in 60 s) over 4 pools
/// (one_for_one, 10 in 10 s), each a store (registered as store<i>), 6 tickers and 4 pollers.
/// With the driver that is 50 processes.
std::vector<ChildSpec> suite_tree(std::uint64_t seed, SuiteStats* stats) {
    Rng rng(seed);
    std::vector<ChildSpec> pool_specs;
    for (int p = 0; p < pools; ++p) {
        const std::string store = "store" + std::to_string(p);
        std::vector<ChildSpec> children;
        children.emplace_back("store", [store, stats](Self self, const Any& /*extra*/) {
            return start_server<Store>(self, StartOptions(store), stats);
        });
        for (int i = 0; i < tickers_per_pool; ++i) {
            const Ticks period = periods[rng.below(periods.size())];
            const auto call_every = static_cast<std::uint32_t>(1 + rng.below(20));
            children.push_back(ChildSpec::process("tick" + std::to_string(i), ticker, period,
                                                  call_every, wear_out_ticks(rng, period), store,
                                                  stats));
        }
        for (int i = 0; i < pollers_per_pool; ++i) {
            const Ticks period = periods[rng.below(periods.size())];
            children.push_back(ChildSpec::process("poll" + std::to_string(i), poller, period,
                                                  wear_out_ticks(rng, period), stats));
        }
        pool_specs.push_back(supervisor_spec("pool" + std::to_string(p),
                                             SupFlags(Strategy::one_for_one, 10, 10),
                                             std::move(children)));
    }
    return pool_specs;
}

/// Starts the suite's root supervisor and waits; if the root ever gives up, the driver exits
/// and the run goes idle before its time limit (which the benchmark reports as an error).
Process suite_driver(Self self, std::uint64_t seed, SuiteStats* stats) {
    self.trap_exit(true);
    const SupFlags flags(Strategy::one_for_one, 3, 60);
    std::vector<ChildSpec> pool_specs = suite_tree(seed, stats);
    const StartResult root = co_await start_supervisor(self, flags, std::move(pool_specs));
    if (!root.ok()) {
        co_return;
    }
    const ExitMsg gone = co_await self.receive<ExitMsg>();
    benchmark::DoNotOptimize(gone.from);
}

void virtual_to_wall(State& state) {
    const Ticks span = state.range(0) * sec;
    SuiteStats stats;
    double virtual_seconds = 0;
    std::uint64_t steps = 0;
    for (auto _ : state) {
        Simulator sim(SimConfig{.seed = 1});
        sim.spawn(suite_driver, std::uint64_t{1}, &stats);
        const RunResult result = sim.run_until(span);
        if (result.stop != RunResult::Stop::time_limit || sim.process_count() != 50) {
            state.SkipWithError("the suite did not keep its 50 processes for the whole span");
            break;
        }
        virtual_seconds += static_cast<double>(result.now) / static_cast<double>(sec);
        steps += result.steps;
    }
    const auto timers = static_cast<double>(stats.timers_fired());
    state.counters["virtual_s"] = Counter(virtual_seconds, Counter::kIsRate);
    state.counters["timers_fired"] = Counter(timers, Counter::kIsRate);
    state.counters["timers_per_virtual_s"] = Counter(timers / virtual_seconds);
    state.counters["calls_per_virtual_s"] =
        Counter(static_cast<double>(stats.calls) / virtual_seconds);
    const auto first_starts = workers * static_cast<std::uint64_t>(state.iterations());
    state.counters["restarts_per_virtual_h"] =
        Counter(static_cast<double>(stats.starts - first_starts) / (virtual_seconds / 3600.0));
    state.counters["steps_per_virtual_s"] = Counter(static_cast<double>(steps) / virtual_seconds);
    state.SetLabel("virtual_s = virtual seconds per wall second (compression)");
}

}  // namespace

void register_properties_benchmarks() {
    using benchmark::RegisterBenchmark;
    RegisterBenchmark("BM_SupervisionPropertyCase", supervision_property_case)
        ->ArgName("children")
        ->Arg(10)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    RegisterBenchmark("BM_VirtualToWallCompression", virtual_to_wall)
        ->ArgName("virtual_s")
        ->Arg(3'600)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
}

}  // namespace bedlam::bench
