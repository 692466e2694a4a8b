// The Injector carries out a fault plan on a running system: it is the runtime's Interposer, so
// the scheduler asks it before every delivery, resumption and timer, and it acts at the times the
// plan names. Every decision comes from one PRNG seeded from the run's seed, so on the simulator
// the same seed gives the same faults and the same trace hash. On the threaded scheduler the
// supported faults are seeded but not replayable.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bedlam/chaos/plan.hpp"
#include "bedlam/runtime/flat_map.hpp"
#include "bedlam/runtime/interposer.hpp"
#include "bedlam/runtime/rng.hpp"
#include "bedlam/runtime/runtime.hpp"

namespace bedlam::chaos {

/// The junk a flood fault fills a mailbox with. Selective receives skip it; a process that takes
/// any message sees it.
struct Flood {
    std::uint32_t fault;  // The plan's fault index.
};

/// How many faults of each kind an injector has struck.
struct FaultCounts {
    std::array<std::uint64_t, 15> by_kind{};

    [[nodiscard]] std::uint64_t of(FaultKind k) const noexcept {
        return by_kind[static_cast<std::size_t>(k)];
    }
    [[nodiscard]] std::uint64_t total() const noexcept;
};

class Injector final : public Interposer {
public:
    /// Checks `plan` (std::invalid_argument lists every issue) and, on a threaded runtime, that
    /// each of its faults can run there. Does not install itself: see install().
    Injector(Runtime& runtime, Plan plan, std::uint64_t seed);
    ~Injector() override;
    Injector(const Injector&) = delete;
    Injector& operator=(const Injector&) = delete;

    /// Installs the injector on its runtime (before any process is spawned, so that it knows
    /// every process); the destructor uninstalls it.
    void install();

    [[nodiscard]] const Plan& plan() const noexcept { return plan_; }
    [[nodiscard]] FaultCounts counts() const;

    // -- Interposer ---------------------------------------------------------------------------
    DeliveryDecision before_deliver(const DeliveryInfo& info) override;
    ResumeDecision before_resume(Pid pid) override;
    Ticks before_timer(Pid target, TimerRef ref) override;
    std::uint8_t on_spawn(const SpawnInfo& info) override;
    void on_exit(Pid pid, const ExitReason& reason) override;
    bool fault_point(Pid pid, std::string_view name) override;
    bool service_available(Pid pid, std::string_view name) override;
    [[nodiscard]] Ticks next_action() const override;
    void act(Runtime& runtime, Ticks now) override;

private:
    struct ProcState {
        Pid pid;
        std::string_view path;  // Interned by the runtime: lives as long as it.
        ProcessKind kind = ProcessKind::process;
        bool alive = false;
        std::uint64_t targeted_by = 0;  // Bit i: fault i's path/kind/all target matches.
        std::uint32_t resumes = 0;      // Counted only while a transient fault waits for it.
        std::uint32_t crash_at = 0;     // transient: crash at this resumption (0: none).
        std::uint32_t transient = 0;    // transient: non-zero while a transient fault waits.
        Ticks hung_until = 0;           // hang: stalled until then (never: until healed).
        bool hang_heals = true;         // hang: its fault heals at faults_until.
    };
    struct PairKey {
        std::uint64_t from;
        std::uint64_t to;
        friend auto operator<=>(const PairKey&, const PairKey&) = default;
    };

    /// Whether fault i's window is open at `now` (phases included).
    [[nodiscard]] bool active(std::size_t i, Ticks now) const;
    /// When fault i's window closes: its own `until`, or faults_until unless it is toxic and
    /// persists.
    [[nodiscard]] Ticks closes(std::size_t i) const;
    [[nodiscard]] bool targets(std::size_t i, Pid pid);
    [[nodiscard]] bool roll(double probability);
    Ticks draw(Ticks min, Ticks max);
    Ticks next_after(std::size_t i, Ticks now);
    std::vector<Pid> victims(std::size_t i);
    /// What act() does once it has let go of the lock.
    struct Deferred {
        enum class What : std::uint8_t { exit, flood, wake };
        What what;
        Pid pid;
        ExitReason reason;
        std::uint32_t count;
        std::uint32_t fault;
    };
    void strike(std::size_t i, Ticks now, std::vector<Deferred>& todo);
    /// Counts a fault and traces it: x = kind + 1 (plus broken_order_flag when a reorder let a
    /// message overtake another from the same sender), detail = the kind's name.
    void note(FaultKind kind, Pid a, Pid b = {}, const ExitReason* reason = nullptr,
              bool broken_order = false);
    ProcState* state_of(Pid pid);
    /// Where `pid`'s state is in procs_ (procs_.size() if it has none).
    [[nodiscard]] std::size_t index_of(Pid pid) const;
    DeliveryDecision hold_in_order(const DeliveryInfo& info, Ticks now, Ticks delay, bool keep_order);
    void heal(Ticks now, std::vector<Deferred>& todo);
    void update_next_action();

    Runtime& runtime_;
    Plan plan_;
    Rng rng_;
    const bool threaded_;
    mutable std::mutex mutex_;  // Taken by every hook on the threaded scheduler only.
    bool installed_ = false;

    std::uint64_t network_faults_ = 0;  // Bits of drop/delay/duplicate/reorder/poison faults.
    std::uint64_t resume_faults_ = 0;   // Bits of slow faults.
    std::uint64_t timer_faults_ = 0;    // Bits of timer_skew faults.
    std::uint64_t point_faults_ = 0;    // Bits of fault_point faults.
    std::uint64_t name_targets_ = 0;    // Bits of faults that target a registered name.
    bool healed_ = false;               // faults_until has passed and heal() ran.

    // In spawn order. The simulator's pids count up from 1, so there a pid's id is its index;
    // the threaded scheduler's pids are table slots with a generation, so there index_ maps them.
    std::vector<ProcState> procs_;
    bedlam::detail::FlatMap64<std::uint32_t> index_;  // Threaded only: pid id -> procs_ index.
    std::vector<Ticks> next_at_;    // Per fault: when it strikes next (never: no more).
    Ticks next_action_ = never;     // The earliest of next_at_ and a pending heal.
    std::map<std::uint64_t, ExitReason> crash_pending_;  // Crash at the next resumption.
    std::size_t hung_ = 0;                                // Processes with hung_until set.
    std::map<std::string, Ticks, std::less<>> down_until_;  // Services that are down.
    std::map<PairKey, Ticks> in_flight_until_;  // Per pair: the last delayed signal's arrival.
    std::map<std::string, std::uint32_t, std::less<>> transient_done_;  // Crashes per place.
    std::map<std::pair<std::size_t, std::string>, bool, std::less<>> armed_;  // Fault points.
    FaultCounts counts_;
};

}  // namespace bedlam::chaos

BEDLAM_MESSAGE_NAME(bedlam::chaos::Flood, "chaos.flood");
