#include "bedlam/scenario/load.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "bedlam/chaos/glob.hpp"
#include "bedlam/scenario/stock.hpp"

namespace bedlam::scenario {

std::string Place::to_string() const {
    std::string out = file.empty() ? std::string("<scenario>") : file;
    if (line > 0) {
        out += ":" + std::to_string(line);
        if (column > 0) {
            out += ":" + std::to_string(column);
        }
    }
    return out;
}

namespace {

std::string join_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const std::string& l : lines) {
        out += (out.empty() ? "" : "\n") + l;
    }
    return out;
}

}  // namespace

ScenarioError::ScenarioError(std::vector<std::string> problems)
    : std::runtime_error(join_lines(problems)), problems_(std::move(problems)) {}

std::string Expectation::describe() const {
    switch (kind) {
        case Kind::alive:
            return "alive " + path;
        case Kind::restarts:
            return "restarts " + path + " in " + std::to_string(min) + ".." + std::to_string(max);
        case Kind::gave_up:
            return "gave_up " + path;
        case Kind::did_not_give_up:
            return "did_not_give_up " + path;
        case Kind::healthy_within:
            return "healthy_within " + chaos::time_text(within);
        case Kind::calls_succeeded: {
            std::ostringstream out;
            out << "calls_succeeded >= " << fraction;
            return out.str();
        }
        case Kind::no_message_lost:
            return "no_message_lost";
        case Kind::metric:
            return "metric " + path + " in " + std::to_string(min) + ".." + std::to_string(max);
    }
    return "?";
}

namespace {

void collect_paths(const SupervisorNode& sup, const std::string& path,
                   std::vector<std::string>* out) {
    for (const ChildNode& c : sup.children) {
        const std::string child = path + "/" + c.id;
        out->push_back(child);
        if (c.supervisor) {
            collect_paths(*c.supervisor, child, out);
        }
    }
}

/// Reads one YAML document into a Scenario, noting every problem instead of stopping at the
/// first.
class Loader {
public:
    explicit Loader(std::string file) : file_(std::move(file)) {}

    Scenario load(const YAML::Node& root) {
        Scenario s;
        s.file = file_;
        if (!root.IsMap()) {
            problem(root, "a scenario is a mapping with keys name, tree, ...; got " + what(root));
            throw ScenarioError(problems_);
        }
        keys(root, "scenario",
             {"name", "description", "run", "services", "tree", "workload", "faults", "expect"});
        s.name = text(root, "name", "");
        if (!root["name"]) {
            problem(root, "missing `name`");
        }
        s.description = text(root, "description", "");
        if (const YAML::Node run = root["run"]) {
            settings(run, &s.settings);
        }
        if (const YAML::Node services = root["services"]) {
            for (const YAML::Node& n : sequence(services, "services")) {
                s.services.push_back(service(n));
            }
        }
        if (const YAML::Node tree = root["tree"]) {
            s.tree = supervisor(tree, true);
        } else {
            problem(root, "missing `tree`: the supervision tree to run");
        }
        if (const YAML::Node workload = root["workload"]) {
            for (const YAML::Node& n : sequence(workload, "workload")) {
                s.workload.push_back(client(n));
            }
        }
        if (const YAML::Node faults = root["faults"]) {
            this->faults(faults, &s);
        }
        if (const YAML::Node expect = root["expect"]) {
            for (const YAML::Node& n : sequence(expect, "expect")) {
                s.expectations.push_back(expectation(n));
            }
        }
        if (problems_.empty()) {
            cross_check(s, root);
        }
        if (!problems_.empty()) {
            throw ScenarioError(problems_);
        }
        return s;
    }

private:
    // -- Places and problems ---------------------------------------------------------------------

    Place place(const YAML::Node& n) const {
        const YAML::Mark m = n.Mark();
        if (m.is_null()) {
            return Place{file_, 0, 0};
        }
        return Place{file_, m.line + 1, m.column + 1};
    }

    void problem(const YAML::Node& n, const std::string& what) {
        problems_.push_back(place(n).to_string() + ": " + what);
    }
    void problem(const Place& p, const std::string& what) {
        problems_.push_back(p.to_string() + ": " + what);
    }

    static std::string what(const YAML::Node& n) {
        switch (n.Type()) {
            case YAML::NodeType::Null:
                return "nothing";
            case YAML::NodeType::Scalar:
                return "`" + n.Scalar() + "`";
            case YAML::NodeType::Sequence:
                return "a list";
            case YAML::NodeType::Map:
                return "a mapping";
            case YAML::NodeType::Undefined:
                return "nothing";
        }
        return "?";
    }

    /// Unknown keys in the mapping `n` (a `context`) are problems.
    void keys(const YAML::Node& n, const std::string& context,
              const std::vector<std::string>& allowed) {
        if (!n.IsMap()) {
            return;
        }
        for (const auto& kv : n) {
            const std::string key = kv.first.Scalar();
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                std::string list;
                for (const std::string& a : allowed) {
                    list += (list.empty() ? "" : ", ") + a;
                }
                problem(kv.first, "unknown key `" + key + "` in " + context + " (expected one of: " +
                                      list + ")");
            }
        }
    }

    std::vector<YAML::Node> sequence(const YAML::Node& n, const std::string& context) {
        std::vector<YAML::Node> out;
        if (!n.IsSequence()) {
            problem(n, "`" + context + "` must be a list, got " + what(n));
            return out;
        }
        for (const YAML::Node& item : n) {
            out.push_back(item);
        }
        return out;
    }

    /// A scalar field's text, or `fallback` when absent; a non-scalar is a problem.
    std::string text(const YAML::Node& map, const char* key, const std::string& fallback) {
        const YAML::Node n = map[key];
        if (!n) {
            return fallback;
        }
        if (!n.IsScalar()) {
            problem(n, std::string("`") + key + "` must be a single value, got " + what(n));
            return fallback;
        }
        return n.Scalar();
    }

    template <typename T>
    T integer(const YAML::Node& map, const char* key, T fallback, T lo, T hi) {
        const YAML::Node n = map[key];
        if (!n) {
            return fallback;
        }
        T v{};
        if (!n.IsScalar() || !YAML::convert<T>::decode(n, v)) {
            problem(n, std::string("`") + key + "` must be a whole number, got " + what(n));
            return fallback;
        }
        if (v < lo || v > hi) {
            problem(n, std::string("`") + key + "` must be between " + std::to_string(lo) +
                           " and " + std::to_string(hi) + ", got " + std::to_string(v));
            return fallback;
        }
        return v;
    }

    double number(const YAML::Node& map, const char* key, double fallback, double lo, double hi) {
        const YAML::Node n = map[key];
        if (!n) {
            return fallback;
        }
        if (!n.IsScalar() || check_value(ParamType::number, n.Scalar())) {
            problem(n, std::string("`") + key + "` must be a number, got " + what(n));
            return fallback;
        }
        const double v = *parse_number(n.Scalar());
        if (v < lo || v > hi) {
            std::ostringstream range;
            range << "`" << key << "` must be between " << lo << " and " << hi << ", got "
                  << n.Scalar();
            problem(n, range.str());
            return fallback;
        }
        return v;
    }

    bool boolean(const YAML::Node& map, const char* key, bool fallback) {
        const YAML::Node n = map[key];
        if (!n) {
            return fallback;
        }
        if (!n.IsScalar() || (n.Scalar() != "true" && n.Scalar() != "false")) {
            problem(n, std::string("`") + key + "` must be true or false, got " + what(n));
            return fallback;
        }
        return n.Scalar() == "true";
    }

    Ticks duration(const YAML::Node& map, const char* key, Ticks fallback, bool allow_never) {
        const YAML::Node n = map[key];
        if (!n) {
            return fallback;
        }
        const std::optional<Ticks> d = n.IsScalar() ? parse_duration(n.Scalar()) : std::nullopt;
        if (!d || (!allow_never && *d == chaos::never)) {
            problem(n, std::string("`") + key +
                           "` must be a duration like 250ms, 2s or 1.5s" +
                           (allow_never ? " (or never)" : "") + ", got " + what(n));
            return fallback;
        }
        return *d;
    }

    template <typename E>
    E choice(const YAML::Node& map, const char* key, E fallback,
             const std::vector<std::pair<const char*, E>>& options) {
        const YAML::Node n = map[key];
        if (!n) {
            return fallback;
        }
        if (n.IsScalar()) {
            for (const auto& [name, value] : options) {
                if (n.Scalar() == name) {
                    return value;
                }
            }
        }
        std::string list;
        for (const auto& [name, value] : options) {
            list += (list.empty() ? "" : ", ") + std::string(name);
        }
        problem(n, std::string("`") + key + "` must be one of " + list + ", got " + what(n));
        return fallback;
    }

    // -- Sections --------------------------------------------------------------------------------

    void settings(const YAML::Node& n, Settings* out) {
        if (!n.IsMap()) {
            problem(n, "`run` must be a mapping (duration, policy, seeds), got " + what(n));
            return;
        }
        keys(n, "run", {"duration", "policy", "seeds"});
        out->duration = duration(n, "duration", out->duration, false);
        if (out->duration <= 0) {
            problem(n["duration"], "`duration` must be > 0");
        }
        out->policy = choice<Policy>(n, "policy", out->policy,
                                     {{"random", Policy::random},
                                      {"fifo", Policy::fifo},
                                      {"pct", Policy::pct}});
        out->seeds = integer<int>(n, "seeds", out->seeds, 1, 1'000'000);
    }

    Service service(const YAML::Node& n) {
        Service s;
        s.at = place(n);
        if (!n.IsMap()) {
            problem(n, "a service is a mapping (name, down), got " + what(n));
            return s;
        }
        keys(n, "a service", {"name", "down"});
        s.name = text(n, "name", "");
        if (s.name.empty()) {
            problem(n, "a service needs a `name`");
        }
        if (const YAML::Node down = n["down"]) {
            for (const YAML::Node& o : sequence(down, "down")) {
                if (!o.IsMap()) {
                    problem(o, "an outage is a mapping (from, until), got " + what(o));
                    continue;
                }
                keys(o, "an outage", {"from", "until"});
                Service::Outage outage;
                outage.from = duration(o, "from", 0, false);
                outage.until = duration(o, "until", chaos::never, true);
                if (outage.until <= outage.from) {
                    problem(o, "an outage must end after it starts");
                }
                s.outages.push_back(outage);
            }
        }
        return s;
    }

    SupervisorNode supervisor(const YAML::Node& n, bool root) {
        SupervisorNode sup;
        sup.at = place(n);
        if (!n.IsMap()) {
            problem(n, "a supervisor is a mapping (strategy, intensity, period, children), got " +
                           what(n));
            return sup;
        }
        std::vector<std::string> allowed = {"strategy", "intensity", "period", "auto_shutdown",
                                            "children", "dynamic",   "max_children"};
        if (root) {
            allowed.emplace_back("id");
        }
        keys(n, root ? "tree" : "a supervisor", allowed);
        if (root) {
            sup.id = text(n, "id", "");
            if (sup.id.empty()) {
                problem(n, "the tree needs an `id`: the application's name, the root of every path");
            } else if (sup.id.find('/') != std::string::npos) {
                problem(n["id"], "an id cannot contain `/`");
            }
        }
        sup.dynamic = boolean(n, "dynamic", false);
        sup.strategy = choice<Strategy>(n, "strategy", sup.strategy,
                                        {{"one_for_one", Strategy::one_for_one},
                                         {"one_for_all", Strategy::one_for_all},
                                         {"rest_for_one", Strategy::rest_for_one}});
        sup.intensity = integer<int>(n, "intensity", sup.dynamic ? 3 : 1, 0, 1'000'000);
        sup.period_s = integer<int>(n, "period", 5, 1, 1'000'000);
        sup.auto_shutdown = choice<AutoShutdown>(
            n, "auto_shutdown", sup.auto_shutdown,
            {{"never", AutoShutdown::never},
             {"any_significant", AutoShutdown::any_significant},
             {"all_significant", AutoShutdown::all_significant}});
        if (n["max_children"]) {
            if (!sup.dynamic) {
                problem(n["max_children"], "`max_children` is for dynamic supervisors only");
            }
            sup.max_children = integer<int>(n, "max_children", 0, 0, 1'000'000);
        }
        if (sup.dynamic && (n["strategy"] || n["children"])) {
            problem(n, "a dynamic supervisor has no `strategy` or `children`: clients add them");
        }
        if (const YAML::Node children = n["children"]) {
            std::set<std::string> ids;
            for (const YAML::Node& c : sequence(children, "children")) {
                ChildNode child = this->child(c);
                if (!child.id.empty() && !ids.insert(child.id).second) {
                    problem(c["id"], "duplicate child id `" + child.id + "`");
                }
                sup.children.push_back(std::move(child));
            }
        }
        return sup;
    }

    ChildNode child(const YAML::Node& n) {
        ChildNode c;
        c.at = place(n);
        if (!n.IsMap()) {
            problem(n, "a child is a mapping (id, behaviour or supervisor, ...), got " + what(n));
            return c;
        }
        keys(n, "a child",
             {"id", "behaviour", "args", "supervisor", "restart", "shutdown", "significant"});
        c.id = text(n, "id", "");
        if (c.id.empty()) {
            problem(n, "a child needs an `id`");
        } else if (c.id.find('/') != std::string::npos) {
            problem(n["id"], "an id cannot contain `/`");
        }
        c.restart = choice<Restart>(n, "restart", c.restart,
                                    {{"permanent", Restart::permanent},
                                     {"transient", Restart::transient},
                                     {"temporary", Restart::temporary}});
        if (const YAML::Node sd = n["shutdown"]) {
            if (sd.IsScalar() && sd.Scalar() == "brutal_kill") {
                c.shutdown = Shutdown::brutal_kill();
            } else if (sd.IsScalar() && sd.Scalar() == "infinity") {
                c.shutdown = Shutdown::infinite();
            } else {
                const Ticks t = duration(n, "shutdown", 5'000'000'000, false);
                c.shutdown = Shutdown::after(Duration(t));
            }
        }
        c.significant = boolean(n, "significant", false);
        const bool has_behaviour = static_cast<bool>(n["behaviour"]);
        const bool has_supervisor = static_cast<bool>(n["supervisor"]);
        if (has_behaviour == has_supervisor) {
            problem(n, "a child has either a `behaviour` (a worker) or a `supervisor`, not " +
                           std::string(has_behaviour ? "both" : "neither"));
            return c;
        }
        if (has_supervisor) {
            if (n["args"]) {
                problem(n["args"], "`args` is for workers; a supervisor has none");
            }
            c.supervisor = std::make_shared<SupervisorNode>(supervisor(n["supervisor"], false));
            c.supervisor->id = c.id;
            return c;
        }
        c.behaviour = text(n, "behaviour", "");
        c.args = args(n, c.behaviour, false);
        return c;
    }

    Client client(const YAML::Node& n) {
        Client c;
        c.at = place(n);
        if (!n.IsMap()) {
            problem(n, "a workload entry is a mapping (id, behaviour, count, args), got " + what(n));
            return c;
        }
        keys(n, "a workload entry", {"id", "behaviour", "count", "args"});
        c.id = text(n, "id", "");
        if (c.id.empty()) {
            problem(n, "a workload entry needs an `id`");
        }
        c.count = integer<int>(n, "count", 1, 1, 10'000);
        c.behaviour = text(n, "behaviour", "");
        if (!n["behaviour"]) {
            // No behaviour, no parameters to check `args` against (and no place to name).
            problem(n, "a workload entry needs a `behaviour`");
            return c;
        }
        c.args = args(n, c.behaviour, true);
        return c;
    }

    /// A behaviour's `args`, checked against its parameters; defaults filled in.
    Args args(const YAML::Node& n, const std::string& behaviour, bool client) {
        Args out;
        const StockBehaviour* b = find_behaviour(behaviour);
        if (b == nullptr) {
            std::string list;
            for (const StockBehaviour& s : stock_behaviours()) {
                if (s.client == client) {
                    list += (list.empty() ? "" : ", ") + std::string(s.name);
                }
            }
            problem(n["behaviour"], "unknown behaviour `" + behaviour + "` (" +
                                        (client ? "clients" : "workers") + ": " + list + ")");
            return out;
        }
        if (b->client != client) {
            problem(n["behaviour"], "`" + behaviour + "` is a " +
                                        (b->client ? "workload client" : "worker") +
                                        "; it cannot be " +
                                        (client ? "in the workload" : "in the tree"));
            return out;
        }
        const YAML::Node given = n["args"];
        if (given && !given.IsMap()) {
            problem(given, "`args` must be a mapping, got " + what(given));
            return out;
        }
        if (given) {
            std::vector<std::string> names;
            for (const Param& p : b->params) {
                names.emplace_back(p.name);
            }
            keys(given, "the args of `" + behaviour + "`", names);
        }
        for (const Param& p : b->params) {
            const YAML::Node v = given ? given[p.name] : YAML::Node(YAML::NodeType::Undefined);
            ArgValue value;
            if (!v.IsDefined()) {
                if (p.default_value == nullptr) {
                    problem(given ? given : n, "`" + behaviour + "` needs the argument `" +
                                                   std::string(p.name) + "`: " + p.doc);
                    continue;
                }
                value.text = p.default_value;
                value.at = place(n);
            } else {
                value.at = place(v);
                if (!v.IsScalar()) {
                    problem(v, "`" + std::string(p.name) + "` must be " + to_string(p.type) +
                                   ", got " + what(v));
                    continue;
                }
                value.text = v.Scalar();
                if (std::optional<std::string> expected = check_value(p.type, value.text)) {
                    problem(v, "`" + std::string(p.name) + "` must be " + *expected + ", got `" +
                                   value.text + "`");
                    continue;
                }
            }
            out.emplace(p.name, std::move(value));
        }
        return out;
    }

    void faults(const YAML::Node& n, Scenario* s) {
        if (!n.IsMap()) {
            problem(n, "`faults` must be a mapping (until, swarm, plan), got " + what(n));
            return;
        }
        keys(n, "faults", {"until", "swarm", "plan"});
        s->faults.faults_until = duration(n, "until", chaos::never, true);
        s->swarm = boolean(n, "swarm", false);
        if (const YAML::Node plan = n["plan"]) {
            for (const YAML::Node& f : sequence(plan, "plan")) {
                fault_places_.push_back(place(f));
                s->faults.faults.push_back(fault(f));
            }
        }
    }

    chaos::Fault fault(const YAML::Node& n) {
        chaos::Fault f;
        if (!n.IsMap()) {
            problem(n, "a fault is a mapping (kind, target, ...), got " + what(n));
            return f;
        }
        keys(n, "a fault",
             {"kind", "target", "every_match", "at", "from", "until", "rate", "probability",
              "reason", "min_delay", "max_delay", "name", "duration", "count", "activation",
              "heals", "break_pair_order"});
        const std::string kind = text(n, "kind", "");
        if (const std::optional<chaos::FaultKind> k = chaos::fault_kind_from(kind)) {
            f.kind = *k;
        } else {
            problem(n["kind"] ? n["kind"] : n, "unknown fault kind `" + kind +
                                                    "` (see docs/chaos.md: kill, crash, exit, drop, "
                                                    "delay, duplicate, reorder, service_down, "
                                                    "poison, slow, hang, flood, transient, "
                                                    "timer_skew, fault_point)");
        }
        const std::string target = text(n, "target", "all");
        if (target == "all") {
            f.target = chaos::Target::all();
        } else if (target.starts_with("name:")) {
            f.target = chaos::Target::name(target.substr(5));
        } else if (target.starts_with("kind:")) {
            const std::string k = target.substr(5);
            const std::vector<std::pair<const char*, ProcessKind>> kinds = {
                {"process", ProcessKind::process},
                {"server", ProcessKind::server},
                {"state_machine", ProcessKind::state_machine},
                {"supervisor", ProcessKind::supervisor},
                {"task", ProcessKind::task}};
            bool found = false;
            for (const auto& [name, value] : kinds) {
                if (k == name) {
                    f.target = chaos::Target::of_kind(value);
                    found = true;
                }
            }
            if (!found) {
                problem(n["target"], "unknown process kind `" + k +
                                         "` (process, server, state_machine, supervisor, task)");
            }
        } else {
            f.target = chaos::Target::path(target);
        }
        f.every = boolean(n, "every_match", false);
        if (n["at"]) {
            f.at = duration(n, "at", 0, false);
        }
        f.from = duration(n, "from", 0, false);
        f.until = duration(n, "until", chaos::never, true);
        f.rate = number(n, "rate", 0, 0, 1e6);
        f.probability = number(n, "probability", 0, 0, 1);
        if (n["reason"]) {
            f.reason = parse_reason(text(n, "reason", "chaos"));
        }
        f.min_delay = duration(n, "min_delay", 0, false);
        f.max_delay = duration(n, "max_delay", 0, false);
        f.name = text(n, "name", "");
        f.duration = duration(n, "duration", chaos::never, true);
        f.count = integer<std::uint32_t>(n, "count", 1, 1, 1'000'000);
        f.activation = number(n, "activation", 1.0, 0, 1);
        f.heals = boolean(n, "heals", true);
        f.break_pair_order = boolean(n, "break_pair_order", false);
        return f;
    }

    Expectation expectation(const YAML::Node& n) {
        Expectation e;
        e.at = place(n);
        if (!n.IsMap() || n.size() == 0) {
            problem(n, "an expectation is a mapping such as `alive: app/db`, got " + what(n));
            return e;
        }
        const std::string kind = n.begin()->first.Scalar();
        const YAML::Node value = n.begin()->second;
        if (kind == "alive" || kind == "gave_up" || kind == "did_not_give_up") {
            keys(n, "`" + kind + "`", {kind});
            e.kind = kind == "alive"     ? Expectation::Kind::alive
                     : kind == "gave_up" ? Expectation::Kind::gave_up
                                         : Expectation::Kind::did_not_give_up;
            e.path = text(n, kind.c_str(), "");
        } else if (kind == "restarts" || kind == "metric") {
            // A glob of paths, or a counter's name, with `min` and `max`.
            keys(n, "`" + kind + "`", {kind, "min", "max"});
            e.kind = kind == "restarts" ? Expectation::Kind::restarts : Expectation::Kind::metric;
            e.path = text(n, kind.c_str(), "");
            e.min = integer<int>(n, "min", 0, 0, 1'000'000'000);
            e.max = integer<int>(n, "max", 1'000'000'000, 0, 1'000'000'000);
            if (e.max < e.min) {
                problem(n, "`max` must be >= `min`");
            }
            if (e.kind == Expectation::Kind::restarts) {
                if (std::optional<std::string> bad = chaos::glob_error(e.path)) {
                    problem(value, "bad path pattern `" + e.path + "`: " + *bad);
                }
            }
        } else if (kind == "healthy_within") {
            keys(n, "`healthy_within`", {kind});
            e.kind = Expectation::Kind::healthy_within;
            e.within = duration(n, "healthy_within", 0, false);
        } else if (kind == "calls_succeeded") {
            keys(n, "`calls_succeeded`", {kind});
            e.kind = Expectation::Kind::calls_succeeded;
            e.fraction = number(n, "calls_succeeded", 0, 0, 1);
        } else if (kind == "no_message_lost") {
            keys(n, "`no_message_lost`", {kind});
            e.kind = Expectation::Kind::no_message_lost;
            if (!boolean(n, "no_message_lost", true)) {
                problem(value, "`no_message_lost` can only be true");
            }
        } else {
            problem(n.begin()->first,
                    "unknown expectation `" + kind +
                        "` (expected one of: alive, restarts, gave_up, did_not_give_up, "
                        "healthy_within, calls_succeeded, no_message_lost, metric)");
        }
        return e;
    }

    // -- Across sections -------------------------------------------------------------------------

    /// What needs the whole scenario: paths and names that must exist, services that must be
    /// declared, the fault plan against the tree.
    void cross_check(Scenario& s, const YAML::Node& root) {
        const std::vector<std::string> paths = tree_paths(s);
        std::set<std::string> names;
        std::set<std::string> services;
        for (const Service& svc : s.services) {
            if (!services.insert(svc.name).second) {
                problem(svc.at, "duplicate service `" + svc.name + "`");
            }
        }
        std::set<std::string> metrics;  // What `metric:` expectations may name.
        for (const char* m : Metrics::builtin_names()) {
            metrics.insert(m);
        }
        // What patterns (fault targets, restarts) may match: the tree's paths, and for each
        // dynamic supervisor `<path>/*`, since its children's ids are known only at run time.
        std::vector<std::string> targets = paths;
        dynamic_supervisors(s.tree, s.tree.id, &names, &targets);
        walk_workers(s.tree, [&](const ChildNode& c) {
            const StockBehaviour* b = find_behaviour(c.behaviour);
            if (b == nullptr) {
                return;  // Reported where it was read.
            }
            const auto name = c.args.find("name");
            if (name != c.args.end() && !name->second.text.empty()) {
                names.insert(name->second.text);
            } else if (b->registers_by_id) {
                names.insert(c.id);
            }
        });
        // Arguments naming a registered name or a service must name one that exists.
        auto check_refs = [&](const std::string& behaviour, const Args& args) {
            const StockBehaviour* b = find_behaviour(behaviour);
            if (b == nullptr) {
                return;
            }
            for (const MetricInfo& m : b->metrics) {
                metrics.insert(m.name);
            }
            for (const Param& p : b->params) {
                const auto it = args.find(p.name);
                if (it == args.end() || it->second.text.empty()) {
                    continue;
                }
                const ArgValue& v = it->second;
                if (p.type == ParamType::service && services.count(v.text) == 0) {
                    problem(v.at, "unknown service `" + v.text + "` (declare it under `services`)");
                } else if (p.type == ParamType::name && names.count(v.text) == 0) {
                    problem(v.at, "no worker is registered as `" + v.text +
                                      "` (servers register under their id or `name`)");
                }
            }
        };
        walk_workers(s.tree, [&](const ChildNode& c) { check_refs(c.behaviour, c.args); });
        std::set<std::string> client_ids;
        for (const Client& c : s.workload) {
            if (!client_ids.insert(c.id).second) {
                problem(c.at, "duplicate workload id `" + c.id + "`");
            }
            check_refs(c.behaviour, c.args);
        }
        for (const Expectation& e : s.expectations) {
            const bool exact = e.kind == Expectation::Kind::alive ||
                               e.kind == Expectation::Kind::gave_up ||
                               e.kind == Expectation::Kind::did_not_give_up;
            if (exact && std::find(paths.begin(), paths.end(), e.path) == paths.end()) {
                problem(e.at, "no process in the tree has the path `" + e.path + "`");
            }
            if ((e.kind == Expectation::Kind::gave_up ||
                 e.kind == Expectation::Kind::did_not_give_up) &&
                !is_supervisor_path(s, e.path) && !e.path.empty()) {
                problem(e.at, "`" + e.path + "` is not a supervisor");
            }
            if (e.kind == Expectation::Kind::metric && metrics.count(e.path) == 0) {
                std::string known;
                for (const std::string& m : metrics) {
                    known += (known.empty() ? "" : ", ") + m;
                }
                problem(e.at, "no behaviour of this scenario counts `" + e.path +
                                  "` (metrics here: " + known + ")");
            }
            if (e.kind == Expectation::Kind::restarts &&
                std::none_of(targets.begin(), targets.end(),
                             [&](const std::string& p) { return chaos::glob_match(e.path, p); })) {
                problem(e.at, "the pattern `" + e.path + "` matches no process in the tree");
            }
        }
        // The plan: what chaos::check finds, placed at the fault it is about.
        chaos::Tree tree;
        tree.paths = targets;
        for (const Client& c : s.workload) {
            for (int i = 0; i < c.count; ++i) {
                tree.paths.push_back("workload/" + c.id + "/" + std::to_string(i));
            }
        }
        tree.names.assign(names.begin(), names.end());
        for (const std::string& svc : services) {
            tree.names.push_back(svc);
        }
        for (const chaos::PlanIssue& issue : chaos::check(s.faults, tree)) {
            const Place p = issue.fault && *issue.fault < fault_places_.size()
                                ? fault_places_[*issue.fault]
                                : place(root["faults"]);
            problem(p, issue.to_string(s.faults));
        }
    }

    /// Dynamic supervisors register under their id (clients start children through them); their
    /// children sit at `<path>/<id>`, with ids given at run time.
    static void dynamic_supervisors(const SupervisorNode& sup, const std::string& path,
                                    std::set<std::string>* names, std::vector<std::string>* targets) {
        for (const ChildNode& c : sup.children) {
            if (!c.supervisor) {
                continue;
            }
            const std::string child = path + "/" + c.id;
            if (c.supervisor->dynamic) {
                names->insert(c.id);
                targets->push_back(child + "/*");
            }
            dynamic_supervisors(*c.supervisor, child, names, targets);
        }
    }

    template <typename F>
    static void walk_workers(const SupervisorNode& sup, const F& f) {
        for (const ChildNode& c : sup.children) {
            if (c.supervisor) {
                walk_workers(*c.supervisor, f);
            } else {
                f(c);
            }
        }
    }

    static bool is_supervisor_path(const Scenario& s, const std::string& path) {
        if (path == s.tree.id) {
            return true;
        }
        const SupervisorNode* sup = &s.tree;
        std::string prefix = s.tree.id;
        if (!path.starts_with(prefix + "/")) {
            return false;
        }
        std::string rest = path.substr(prefix.size() + 1);
        while (!rest.empty()) {
            const std::size_t slash = rest.find('/');
            const std::string id = rest.substr(0, slash);
            const auto it = std::find_if(sup->children.begin(), sup->children.end(),
                                         [&](const ChildNode& c) { return c.id == id; });
            if (it == sup->children.end() || !it->supervisor) {
                return false;
            }
            sup = it->supervisor.get();
            rest = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
        }
        return true;
    }

    std::string file_;
    std::vector<std::string> problems_;
    std::vector<Place> fault_places_;
};

}  // namespace

std::vector<std::string> tree_paths(const Scenario& scenario) {
    std::vector<std::string> out{scenario.tree.id};
    collect_paths(scenario.tree, scenario.tree.id, &out);
    return out;
}

Scenario load_string(std::string_view text, const std::string& file) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
        const Place p{file, e.mark.line + 1, e.mark.column + 1};
        throw ScenarioError({p.to_string() + ": malformed YAML: " + e.msg});
    }
    return Loader(file).load(root);
}

Scenario load_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw ScenarioError({path + ": cannot open the file"});
    }
    std::ostringstream text;
    text << in.rdbuf();
    return load_string(text.str(), path);
}

}  // namespace bedlam::scenario
