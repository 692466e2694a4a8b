#include "bedlam/chaos/plan.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "bedlam/chaos/glob.hpp"
#include "bedlam/runtime/rng.hpp"

namespace bedlam::chaos {

namespace {

constexpr std::array kind_names = {"kill",   "crash",        "exit",      "drop",
                                   "delay",  "duplicate",    "reorder",   "service_down",
                                   "poison", "slow",         "hang",      "flood",
                                   "transient", "timer_skew", "fault_point"};

bool is_process_fault(FaultKind k) {
    return k == FaultKind::kill || k == FaultKind::crash || k == FaultKind::exit ||
           k == FaultKind::hang || k == FaultKind::flood || k == FaultKind::service_down;
}

bool is_per_message(FaultKind k) {
    return k == FaultKind::drop || k == FaultKind::delay || k == FaultKind::duplicate ||
           k == FaultKind::reorder;
}

bool uses_delays(FaultKind k) {
    return k == FaultKind::delay || k == FaultKind::reorder || k == FaultKind::slow ||
           k == FaultKind::timer_skew;
}

std::string number(double v) {
    std::string s = std::to_string(v);
    while (s.size() > 1 && s.back() == '0') {
        s.pop_back();
    }
    if (!s.empty() && s.back() == '.') {
        s.pop_back();
    }
    return s;
}

}  // namespace

std::string time_text(Ticks t) {
    if (t == never) {
        return "never";
    }
    if (t % 1'000'000'000 == 0) {
        return std::to_string(t / 1'000'000'000) + "s";
    }
    if (t % 1'000'000 == 0) {
        return std::to_string(t / 1'000'000) + "ms";
    }
    if (t % 1'000 == 0) {
        return std::to_string(t / 1'000) + "us";
    }
    return std::to_string(t) + "ns";
}

const char* to_string(FaultKind kind) noexcept {
    const auto i = static_cast<std::size_t>(kind);
    return i < kind_names.size() ? kind_names[i] : "?";
}

std::optional<FaultKind> fault_kind_from(std::string_view name) noexcept {
    for (std::size_t i = 0; i < kind_names.size(); ++i) {
        if (name == kind_names[i]) {
            return static_cast<FaultKind>(i);
        }
    }
    return std::nullopt;
}

bool threads_support(FaultKind kind) noexcept {
    switch (kind) {
        case FaultKind::kill:
        case FaultKind::crash:
        case FaultKind::exit:
        case FaultKind::drop:
        case FaultKind::delay:
        case FaultKind::duplicate:
        case FaultKind::service_down:
        case FaultKind::fault_point:
            return true;
        default:
            return false;
    }
}

std::string Target::to_string() const {
    switch (by) {
        case By::all:
            return "all";
        case By::path:
            return "path:" + pattern;
        case By::name:
            return "name:" + pattern;
        case By::kind:
            return std::string("kind:") + bedlam::to_string(kind);
    }
    return "?";
}

std::string PlanIssue::to_string(const Plan& plan) const {
    std::string out;
    if (fault && *fault < plan.faults.size()) {
        out = "fault " + std::to_string(*fault) + " (" + chaos::to_string(plan.faults[*fault].kind) +
              "): ";
    } else if (fault) {
        out = "fault " + std::to_string(*fault) + ": ";
    } else {
        out = "plan: ";
    }
    return out + field + ": " + message;
}

std::vector<PlanIssue> check(const Plan& plan, const Tree& tree) {
    std::vector<PlanIssue> issues;
    auto plan_issue = [&](std::string field, std::string message) {
        issues.push_back(PlanIssue{std::nullopt, std::move(field), std::move(message)});
    };
    if (plan.faults.size() > max_faults) {
        plan_issue("faults", "at most " + std::to_string(max_faults) + " faults, got " +
                                 std::to_string(plan.faults.size()));
    }
    if (plan.faults_until < 0) {
        plan_issue("faults_until", "must be >= 0, got " + std::to_string(plan.faults_until));
    }
    for (std::size_t i = 0; i < plan.faults.size(); ++i) {
        const Fault& f = plan.faults[i];
        auto issue = [&](std::string field, std::string message) {
            issues.push_back(PlanIssue{i, std::move(field), std::move(message)});
        };
        auto require_probability = [&](double p, const char* field, bool zero_ok) {
            if (!(std::isfinite(p) && p >= 0 && p <= 1) || (!zero_ok && p == 0)) {
                issue(field, std::string("must be ") + (zero_ok ? "in [0, 1]" : "in (0, 1]") +
                                 ", got " + number(p));
            }
        };
        // Where.
        switch (f.target.by) {
            case Target::By::all:
            case Target::By::kind:
                break;
            case Target::By::path:
                if (std::optional<std::string> bad = glob_error(f.target.pattern)) {
                    issue("target", *bad);
                } else if (!tree.paths.empty() &&
                           std::none_of(tree.paths.begin(), tree.paths.end(),
                                        [&](const std::string& p) {
                                            return glob_match(f.target.pattern, p);
                                        })) {
                    issue("target", "path '" + f.target.pattern + "' matches no process in the tree");
                }
                break;
            case Target::By::name:
                if (f.target.pattern.empty()) {
                    issue("target", "an empty name");
                } else if ((!tree.paths.empty() || !tree.names.empty()) &&
                           std::find(tree.names.begin(), tree.names.end(), f.target.pattern) ==
                               tree.names.end()) {
                    issue("target", "no process is registered as '" + f.target.pattern + "'");
                }
                break;
        }
        // When.
        if (f.at && *f.at < 0) {
            issue("at", "must be >= 0, got " + std::to_string(*f.at));
        }
        if (f.from < 0) {
            issue("from", "must be >= 0, got " + std::to_string(f.from));
        }
        if (f.until <= f.from) {
            issue("until", "must be after from (" + time_text(f.from) + "), got " +
                               time_text(f.until));
        }
        if (!std::isfinite(f.rate) || f.rate < 0) {
            issue("rate", "must be a finite number >= 0, got " + number(f.rate));
        }
        if (is_process_fault(f.kind)) {
            if (!f.at && f.rate == 0) {
                issue("at", "neither `at` nor a `rate`: the fault would never strike");
            }
            if (f.at && f.rate > 0) {
                issue("rate", "give `at` (once) or `rate` (repeatedly), not both");
            }
        } else if (f.at) {
            issue("at", std::string("not used by ") + to_string(f.kind) +
                            ": it applies over the window from..until");
        }
        // What.
        if (is_per_message(f.kind) || f.kind == FaultKind::timer_skew) {
            require_probability(f.probability, "probability", false);
        }
        if (uses_delays(f.kind)) {
            if (f.min_delay < 0) {
                issue("min_delay", "must be >= 0, got " + std::to_string(f.min_delay));
            }
            if (f.max_delay <= 0 || f.max_delay < f.min_delay) {
                issue("max_delay", "must be > 0 and >= min_delay (" + time_text(f.min_delay) +
                                       "), got " + std::to_string(f.max_delay));
            }
        }
        // A crash models a bug: the victim dies at once, without the orderly stop a clean
        // reason stands for (a supervisor exiting `shutdown` has stopped its children first).
        if (f.kind == FaultKind::crash && f.reason.is_clean()) {
            issue("reason", "a crash ends its victim abnormally, got `" + f.reason.to_string() +
                                "` (an `exit` fault sends a clean exit signal)");
        }
        if (f.break_pair_order && f.kind != FaultKind::reorder) {
            issue("break_pair_order", "only reorder can break per-pair order");
        }
        switch (f.kind) {
            case FaultKind::service_down:
            case FaultKind::poison:
                if (f.name.empty()) {
                    issue("name", f.kind == FaultKind::poison ? "the message type to poison is missing"
                                                              : "the service is missing");
                }
                break;
            case FaultKind::fault_point:
                if (f.name.empty()) {
                    issue("name", "the fault point is missing (\"*\" for every site)");
                }
                require_probability(f.activation, "activation", true);
                require_probability(f.probability, "probability", false);
                break;
            case FaultKind::transient:
            case FaultKind::flood:
                if (f.count == 0) {
                    issue("count", "must be >= 1");
                }
                if (f.kind == FaultKind::transient && f.target.by != Target::By::path &&
                    f.target.by != Target::By::all) {
                    issue("target", "a transient fault is keyed on the place in the tree: target a path");
                }
                break;
            default:
                break;
        }
        if ((f.kind == FaultKind::service_down || f.kind == FaultKind::hang) && f.duration <= 0) {
            issue("duration", "must be > 0, got " + std::to_string(f.duration));
        }
    }
    return issues;
}

void require_valid(const Plan& plan, const Tree& tree) {
    const std::vector<PlanIssue> issues = check(plan, tree);
    if (issues.empty()) {
        return;
    }
    std::string text = "invalid fault plan:";
    for (const PlanIssue& i : issues) {
        text += "\n  " + i.to_string(plan);
    }
    throw std::invalid_argument(text);
}

std::string describe(const Plan& plan) {
    std::string out = "fault plan: " + std::to_string(plan.faults.size()) + " fault(s), faults_until=" +
                      time_text(plan.faults_until);
    if (plan.swarm_seed) {
        out += ", swarm seed " + std::to_string(*plan.swarm_seed);
    }
    out += "\n";
    for (std::size_t i = 0; i < plan.faults.size(); ++i) {
        const Fault& f = plan.faults[i];
        out += "  #" + std::to_string(i) + " " + to_string(f.kind) + " target=" + f.target.to_string();
        if (f.at) {
            out += " at=" + time_text(*f.at);
        } else {
            out += " from=" + time_text(f.from) + " until=" + time_text(f.until);
        }
        if (f.rate > 0) {
            out += " rate=" + number(f.rate) + "/s";
        }
        if (is_per_message(f.kind) || f.kind == FaultKind::timer_skew ||
            f.kind == FaultKind::fault_point) {
            out += " probability=" + number(f.probability);
        }
        if (f.every) {
            out += " every";
        }
        if (f.kind == FaultKind::crash || f.kind == FaultKind::exit) {
            out += " reason=" + f.reason.to_string();
        }
        if (uses_delays(f.kind)) {
            out += " delay=" + time_text(f.min_delay) + ".." + time_text(f.max_delay);
        }
        if (!f.name.empty()) {
            out += " name=" + f.name;
        }
        if (f.kind == FaultKind::service_down || f.kind == FaultKind::hang) {
            out += " duration=" + time_text(f.duration);
        }
        if (f.kind == FaultKind::transient || f.kind == FaultKind::flood) {
            out += " count=" + std::to_string(f.count);
        }
        if (f.kind == FaultKind::fault_point) {
            out += " activation=" + number(f.activation);
        }
        if (f.kind == FaultKind::service_down || f.kind == FaultKind::poison ||
            f.kind == FaultKind::slow || f.kind == FaultKind::hang) {
            out += f.heals ? " heals" : " persists";
        }
        if (f.break_pair_order) {
            out += " break_pair_order";
        }
        out += "\n";
    }
    return out;
}

Plan swarm(std::uint64_t seed, const SwarmOptions& options) {
    Rng rng(seed ^ 0x5357'4152'4d21'0001ULL);  // "SWARM!": a stream apart from the run's.
    std::vector<FaultKind> kinds = options.kinds;
    if (kinds.empty()) {
        kinds = {FaultKind::kill,    FaultKind::crash,   FaultKind::exit,      FaultKind::drop,
                 FaultKind::delay,   FaultKind::duplicate, FaultKind::reorder, FaultKind::slow,
                 FaultKind::hang,    FaultKind::flood,   FaultKind::transient, FaultKind::timer_skew};
        if (!options.services.empty()) {
            kinds.push_back(FaultKind::service_down);
        }
        if (!options.poison_types.empty()) {
            kinds.push_back(FaultKind::poison);
        }
    }
    Plan plan;
    plan.faults_until = options.faults_until;
    plan.swarm_seed = seed;
    const Ticks window = options.faults_until == never ? 10'000'000'000 : options.faults_until;
    auto ms = [](std::uint64_t n) { return static_cast<Ticks>(n) * 1'000'000; };
    // Each kind is on with probability 1/2; at least one is.
    std::vector<FaultKind> chosen;
    for (FaultKind k : kinds) {
        if (rng.below(2) == 1) {
            chosen.push_back(k);
        }
    }
    if (chosen.empty() && !kinds.empty()) {
        chosen.push_back(kinds[rng.below(kinds.size())]);
    }
    for (FaultKind k : chosen) {
        Fault f;
        f.kind = k;
        f.target = options.target;
        f.until = window;
        // Rates of 0.1 to 2 per virtual second; probabilities of 0.5% to 10%.
        const double rate = static_cast<double>(1 + rng.below(20)) / 10.0;
        const double probability = static_cast<double>(1 + rng.below(20)) / 200.0;
        switch (k) {
            case FaultKind::kill:
            case FaultKind::crash:
            case FaultKind::exit:
                f.rate = rate;
                if (k == FaultKind::exit) {
                    f.reason = rng.below(2) == 0 ? ExitReason::shutdown() : ExitReason::error("chaos");
                }
                break;
            case FaultKind::drop:
            case FaultKind::duplicate:
                f.probability = probability;
                break;
            case FaultKind::delay:
            case FaultKind::reorder:
            case FaultKind::timer_skew:
                f.probability = probability;
                f.min_delay = 0;
                f.max_delay = ms(1 + rng.below(100));
                break;
            case FaultKind::slow:
                f.min_delay = ms(1);
                f.max_delay = ms(1 + rng.below(50));
                break;
            case FaultKind::hang:
                f.rate = rate / 4;
                f.duration = ms(100 + rng.below(2000));
                break;
            case FaultKind::flood:
                f.rate = rate / 2;
                f.count = static_cast<std::uint32_t>(10 + rng.below(990));
                break;
            case FaultKind::transient:
                f.count = static_cast<std::uint32_t>(1 + rng.below(3));
                break;
            case FaultKind::service_down:
                f.rate = rate / 4;
                f.name = options.services[rng.below(options.services.size())];
                f.duration = ms(100 + rng.below(3000));
                break;
            case FaultKind::poison:
                f.name = options.poison_types[rng.below(options.poison_types.size())];
                f.from = ms(rng.below(static_cast<std::uint64_t>(window / 1'000'000)));
                break;
            case FaultKind::fault_point:
                f.name = "*";
                f.activation = 0.25;
                f.probability = probability;
                break;
        }
        plan.faults.push_back(std::move(f));
    }
    return plan;
}

}  // namespace bedlam::chaos
