#include "bedlam/scenario/write.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>

#include "bedlam/scenario/stock.hpp"

namespace bedlam::scenario {

std::string duration_text(Ticks t) {
    if (t == chaos::never) {
        return "never";
    }
    struct Unit {
        Ticks ticks;
        const char* suffix;
    };
    constexpr Unit units[] = {{1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}};
    for (const Unit& u : units) {
        if (t % u.ticks == 0) {
            return std::to_string(t / u.ticks) + u.suffix;
        }
    }
    return std::to_string(t) + "ns";
}

namespace {

/// The shortest text that reads back as exactly `v` (std::to_chars' round-trip guarantee).
std::string number_text(double v) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

const char* auto_shutdown_text(AutoShutdown a) {
    switch (a) {
        case AutoShutdown::never:
            return "never";
        case AutoShutdown::any_significant:
            return "any_significant";
        case AutoShutdown::all_significant:
            return "all_significant";
    }
    return "never";
}

std::string shutdown_text(const Shutdown& s) {
    switch (s.kind) {
        case Shutdown::Kind::brutal_kill:
            return "brutal_kill";
        case Shutdown::Kind::infinite:
            return "infinity";
        case Shutdown::Kind::timeout:
            break;
    }
    return duration_text(s.timeout.count());
}

std::string target_text(const chaos::Target& t) {
    switch (t.by) {
        case chaos::Target::By::all:
            return "all";
        case chaos::Target::By::path:
            return t.pattern;
        case chaos::Target::By::name:
            return "name:" + t.pattern;
        case chaos::Target::By::kind:
            return "kind:" + std::string(to_string(t.kind));
    }
    return "all";
}

void write_args(YAML::Emitter& out, const Args& args) {
    out << YAML::Key << "args" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [name, value] : args) {
        out << YAML::Key << name << YAML::Value;
        if (value.is_list) {
            out << YAML::Flow << YAML::BeginSeq;
            for (const std::string& item : value.items) {
                out << item;
            }
            out << YAML::EndSeq;
        } else {
            out << value.text;
        }
    }
    out << YAML::EndMap;
}

void write_supervisor(YAML::Emitter& out, const SupervisorNode& sup, bool root);

void write_child(YAML::Emitter& out, const ChildNode& c) {
    out << YAML::BeginMap;
    out << YAML::Key << "id" << YAML::Value << c.id;
    if (c.restart != Restart::permanent) {
        out << YAML::Key << "restart" << YAML::Value << to_string(c.restart);
    }
    if (c.shutdown) {
        out << YAML::Key << "shutdown" << YAML::Value << shutdown_text(*c.shutdown);
    }
    if (c.significant) {
        out << YAML::Key << "significant" << YAML::Value << true;
    }
    if (c.supervisor) {
        out << YAML::Key << "supervisor" << YAML::Value;
        write_supervisor(out, *c.supervisor, false);
    } else {
        out << YAML::Key << "behaviour" << YAML::Value << c.behaviour;
        // Only the arguments given differently from the behaviour's defaults.
        Args given;
        const StockBehaviour* b = find_behaviour(c.behaviour);
        for (const auto& [name, value] : c.args) {
            const char* fallback = nullptr;
            if (b != nullptr) {
                for (const Param& p : b->params) {
                    if (name == p.name) {
                        fallback = p.default_value;
                    }
                }
            }
            if (fallback == nullptr || value.is_list || value.text != fallback) {
                given.emplace(name, value);
            }
        }
        if (!given.empty()) {
            write_args(out, given);
        }
    }
    out << YAML::EndMap;
}

void write_supervisor(YAML::Emitter& out, const SupervisorNode& sup, bool root) {
    out << YAML::BeginMap;
    if (root) {
        out << YAML::Key << "id" << YAML::Value << sup.id;
    }
    if (sup.dynamic) {
        out << YAML::Key << "dynamic" << YAML::Value << true;
        if (sup.max_children) {
            out << YAML::Key << "max_children" << YAML::Value << *sup.max_children;
        }
    } else {
        out << YAML::Key << "strategy" << YAML::Value << to_string(sup.strategy);
    }
    out << YAML::Key << "intensity" << YAML::Value << sup.intensity;
    out << YAML::Key << "period" << YAML::Value << sup.period_s;
    if (sup.auto_shutdown != AutoShutdown::never) {
        out << YAML::Key << "auto_shutdown" << YAML::Value << auto_shutdown_text(sup.auto_shutdown);
    }
    if (!sup.dynamic) {
        out << YAML::Key << "children" << YAML::Value << YAML::BeginSeq;
        for (const ChildNode& c : sup.children) {
            write_child(out, c);
        }
        out << YAML::EndSeq;
    }
    out << YAML::EndMap;
}

void write_fault(YAML::Emitter& out, const chaos::Fault& f) {
    const chaos::Fault d;  // Defaults are left out.
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "kind" << YAML::Value << chaos::to_string(f.kind);
    if (f.target.by != chaos::Target::By::all) {
        out << YAML::Key << "target" << YAML::Value << target_text(f.target);
    }
    if (f.every) {
        out << YAML::Key << "every_match" << YAML::Value << true;
    }
    if (f.at) {
        out << YAML::Key << "at" << YAML::Value << duration_text(*f.at);
    }
    if (f.from != d.from) {
        out << YAML::Key << "from" << YAML::Value << duration_text(f.from);
    }
    if (f.until != d.until) {
        out << YAML::Key << "until" << YAML::Value << duration_text(f.until);
    }
    if (f.rate != d.rate) {
        out << YAML::Key << "rate" << YAML::Value << number_text(f.rate);
    }
    if (f.probability != d.probability) {
        out << YAML::Key << "probability" << YAML::Value << number_text(f.probability);
    }
    if (f.reason.to_string() != d.reason.to_string()) {
        out << YAML::Key << "reason" << YAML::Value << f.reason.to_string();
    }
    if (f.min_delay != d.min_delay) {
        out << YAML::Key << "min_delay" << YAML::Value << duration_text(f.min_delay);
    }
    if (f.max_delay != d.max_delay) {
        out << YAML::Key << "max_delay" << YAML::Value << duration_text(f.max_delay);
    }
    if (!f.name.empty()) {
        out << YAML::Key << "name" << YAML::Value << f.name;
    }
    if (f.duration != d.duration) {
        out << YAML::Key << "duration" << YAML::Value << duration_text(f.duration);
    }
    if (f.count != d.count) {
        out << YAML::Key << "count" << YAML::Value << f.count;
    }
    if (f.activation != d.activation) {
        out << YAML::Key << "activation" << YAML::Value << number_text(f.activation);
    }
    if (f.heals != d.heals) {
        out << YAML::Key << "heals" << YAML::Value << f.heals;
    }
    if (f.break_pair_order) {
        out << YAML::Key << "break_pair_order" << YAML::Value << true;
    }
    out << YAML::EndMap;
}

void write_expectation(YAML::Emitter& out, const Expectation& e) {
    using Kind = Expectation::Kind;
    out << YAML::Flow << YAML::BeginMap;
    switch (e.kind) {
        case Kind::alive:
            out << YAML::Key << "alive" << YAML::Value << e.path;
            break;
        case Kind::gave_up:
            out << YAML::Key << "gave_up" << YAML::Value << e.path;
            break;
        case Kind::did_not_give_up:
            out << YAML::Key << "did_not_give_up" << YAML::Value << e.path;
            break;
        case Kind::restarts:
        case Kind::metric:
            out << YAML::Key << (e.kind == Kind::restarts ? "restarts" : "metric") << YAML::Value
                << e.path;
            out << YAML::Key << "min" << YAML::Value << e.min;
            out << YAML::Key << "max" << YAML::Value << e.max;
            break;
        case Kind::healthy_within:
            out << YAML::Key << "healthy_within" << YAML::Value << duration_text(e.within);
            break;
        case Kind::calls_succeeded:
            out << YAML::Key << "calls_succeeded" << YAML::Value << number_text(e.fraction);
            break;
        case Kind::no_message_lost:
            out << YAML::Key << "no_message_lost" << YAML::Value << true;
            break;
    }
    out << YAML::EndMap;
}

}  // namespace

std::string to_yaml(const Scenario& s) {
    YAML::Emitter out;
    out.SetBoolFormat(YAML::TrueFalseBool);
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << s.name;
    if (!s.description.empty()) {
        out << YAML::Key << "description" << YAML::Value << YAML::Literal << s.description;
    }
    out << YAML::Key << "run" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "duration" << YAML::Value << duration_text(s.settings.duration);
    out << YAML::Key << "policy" << YAML::Value << to_string(s.settings.policy);
    out << YAML::Key << "seeds" << YAML::Value << s.settings.seeds;
    out << YAML::EndMap;
    if (!s.services.empty()) {
        out << YAML::Key << "services" << YAML::Value << YAML::BeginSeq;
        for (const Service& svc : s.services) {
            out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << svc.name;
            if (!svc.outages.empty()) {
                out << YAML::Key << "down" << YAML::Value << YAML::BeginSeq;
                for (const Service::Outage& o : svc.outages) {
                    out << YAML::Flow << YAML::BeginMap;
                    out << YAML::Key << "from" << YAML::Value << duration_text(o.from);
                    if (o.until != chaos::never) {
                        out << YAML::Key << "until" << YAML::Value << duration_text(o.until);
                    }
                    out << YAML::EndMap;
                }
                out << YAML::EndSeq;
            }
            out << YAML::EndMap;
        }
        out << YAML::EndSeq;
    }
    out << YAML::Key << "tree" << YAML::Value;
    write_supervisor(out, s.tree, true);
    if (!s.workload.empty()) {
        out << YAML::Key << "workload" << YAML::Value << YAML::BeginSeq;
        for (const Client& c : s.workload) {
            out << YAML::BeginMap;
            out << YAML::Key << "id" << YAML::Value << c.id;
            out << YAML::Key << "behaviour" << YAML::Value << c.behaviour;
            if (c.count != 1) {
                out << YAML::Key << "count" << YAML::Value << c.count;
            }
            write_args(out, c.args);
            out << YAML::EndMap;
        }
        out << YAML::EndSeq;
    }
    if (s.swarm || !s.faults.faults.empty() || s.faults.faults_until != chaos::never) {
        out << YAML::Key << "faults" << YAML::Value << YAML::BeginMap;
        if (s.faults.faults_until != chaos::never) {
            out << YAML::Key << "until" << YAML::Value << duration_text(s.faults.faults_until);
        }
        if (s.swarm) {
            out << YAML::Key << "swarm" << YAML::Value << true;
        }
        if (!s.faults.faults.empty()) {
            out << YAML::Key << "plan" << YAML::Value << YAML::BeginSeq;
            for (const chaos::Fault& f : s.faults.faults) {
                write_fault(out, f);
            }
            out << YAML::EndSeq;
        }
        out << YAML::EndMap;
    }
    if (!s.expectations.empty()) {
        out << YAML::Key << "expect" << YAML::Value << YAML::BeginSeq;
        for (const Expectation& e : s.expectations) {
            write_expectation(out, e);
        }
        out << YAML::EndSeq;
    }
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

}  // namespace bedlam::scenario
