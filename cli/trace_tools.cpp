// Trace reading and rendering for `bedlam trace` and `bedlam diff` (docs/cli.md).
#include "trace_tools.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <istream>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

namespace bedlam::cli::trace {

namespace {

constexpr std::array<std::string_view, 14> event_kinds{
    "spawn",   "send",      "deliver", "drop",  "exit",    "link",  "unlink",
    "monitor", "demonitor", "down",    "timer", "timeout", "fault", "report"};

/// A `report` event's x: OTP's supervisor report kinds.
std::string report_kind(std::uint64_t x) {
    switch (x) {
        case 1:
            return "child_terminated";
        case 2:
            return "shutdown";
        case 3:
            return "start_error";
        default:
            return "kind " + std::to_string(x);
    }
}

std::string where(const std::string& name, std::size_t line) {
    return name + ":" + std::to_string(line) + ": ";
}

// == The flat JSON object of one line ==========================================================

/// A value of a trace line: the format has strings and non-negative integers only.
struct Value {
    bool is_string = false;
    std::string text;
    std::uint64_t number = 0;
};

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80U) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800U) {
        out += static_cast<char>(0xc0U | (cp >> 6U));
        out += static_cast<char>(0x80U | (cp & 0x3fU));
    } else if (cp < 0x10000U) {
        out += static_cast<char>(0xe0U | (cp >> 12U));
        out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3fU));
        out += static_cast<char>(0x80U | (cp & 0x3fU));
    } else {
        out += static_cast<char>(0xf0U | (cp >> 18U));
        out += static_cast<char>(0x80U | ((cp >> 12U) & 0x3fU));
        out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3fU));
        out += static_cast<char>(0x80U | (cp & 0x3fU));
    }
}

class LineParser {
public:
    LineParser(std::string_view text, const std::string& name, std::size_t line)
        : text_(text), name_(name), line_(line) {}

    /// The object's members in order; rejects anything but a flat object of strings and
    /// integers, and duplicate keys.
    std::vector<std::pair<std::string, Value>> members() {
        std::vector<std::pair<std::string, Value>> out;
        skip_space();
        expect('{', "'{' (a trace line is one JSON object)");
        skip_space();
        if (peek() == '}') {
            ++pos_;
        } else {
            for (;;) {
                skip_space();
                if (peek() != '"') {
                    syntax("expected a key in double quotes");
                }
                std::string key = string();
                for (const auto& [seen, value] : out) {
                    if (seen == key) {
                        fail("not valid here: key \"" + key + "\" appears twice");
                    }
                }
                skip_space();
                expect(':', "':' after key \"" + key + "\"");
                skip_space();
                Value value = this->value(key);
                out.emplace_back(std::move(key), std::move(value));
                skip_space();
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                expect('}', "',' or '}'");
                break;
            }
        }
        skip_space();
        if (pos_ != text_.size()) {
            syntax("unexpected text after the object");
        }
        return out;
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw TraceError(where(name_, line_) + what);
    }

private:
    [[noreturn]] void syntax(const std::string& what) const {
        fail("not valid JSON: " + what + " at column " + std::to_string(pos_ + 1));
    }

    [[nodiscard]] char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

    void expect(char c, const std::string& what) {
        if (pos_ >= text_.size() || text_[pos_] != c) {
            syntax(pos_ >= text_.size() ? "the line ends where it expected " + what
                                        : "expected " + what);
        }
        ++pos_;
    }

    void skip_space() {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r')) {
            ++pos_;
        }
    }

    Value value(const std::string& key) {
        Value v;
        const char c = peek();
        if (c == '"') {
            v.is_string = true;
            v.text = string();
        } else if (c >= '0' && c <= '9') {
            v.number = number(key);
        } else if (c == '-') {
            fail("field \"" + key + "\": negative numbers are not part of the trace format");
        } else if (c == '{' || c == '[') {
            fail("field \"" + key +
                 "\": nested objects and arrays are not part of the trace format (a line is a "
                 "flat object of strings and integers)");
        } else if (pos_ >= text_.size()) {
            syntax("the line ends where it expected the value of \"" + key + "\"");
        } else {
            syntax("expected a string or an integer as the value of \"" + key + "\"");
        }
        return v;
    }

    std::uint64_t number(const std::string& key) {
        const std::size_t start = pos_;
        std::uint64_t n = 0;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
            const auto digit = static_cast<std::uint64_t>(text_[pos_] - '0');
            if (n > (UINT64_MAX - digit) / 10) {
                fail("field \"" + key + "\": integer " +
                     std::string(text_.substr(start, pos_ - start + 1)) +
                     "... does not fit in 64 bits");
            }
            n = n * 10 + digit;
            ++pos_;
        }
        if (pos_ - start > 1 && text_[start] == '0') {
            pos_ = start;
            syntax("a number with a leading zero");
        }
        const char next = peek();
        if (next == '.' || next == 'e' || next == 'E') {
            fail("field \"" + key + "\": expected an integer, got a fraction or exponent");
        }
        return n;
    }

    std::uint32_t hex4() {
        if (pos_ + 4 > text_.size()) {
            syntax("\\u needs four hex digits");
        }
        std::uint32_t v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = text_[pos_++];
            std::uint32_t d = 0;
            if (c >= '0' && c <= '9') {
                d = static_cast<std::uint32_t>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                d = static_cast<std::uint32_t>(c - 'a') + 10;
            } else if (c >= 'A' && c <= 'F') {
                d = static_cast<std::uint32_t>(c - 'A') + 10;
            } else {
                --pos_;
                syntax("\\u needs four hex digits");
            }
            v = v * 16 + d;
        }
        return v;
    }

    std::string string() {
        ++pos_;  // The opening quote.
        std::string out;
        for (;;) {
            if (pos_ >= text_.size()) {
                syntax("unterminated string");
            }
            const char c = text_[pos_];
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20U) {
                syntax("control character in a string (it must be escaped)");
            }
            if (c != '\\') {
                out += c;
                ++pos_;
                continue;
            }
            ++pos_;
            const char e = peek();
            ++pos_;
            switch (e) {
                case '"':
                case '\\':
                case '/':
                    out += e;
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    std::uint32_t cp = hex4();
                    if (cp >= 0xd800U && cp < 0xdc00U) {
                        if (pos_ + 1 < text_.size() && text_[pos_] == '\\' &&
                            text_[pos_ + 1] == 'u') {
                            pos_ += 2;
                            const std::uint32_t low = hex4();
                            if (low < 0xdc00U || low >= 0xe000U) {
                                syntax("a high surrogate not followed by a low one");
                            }
                            cp = 0x10000U + ((cp - 0xd800U) << 10U) + (low - 0xdc00U);
                        } else {
                            syntax("a high surrogate not followed by a low one");
                        }
                    } else if (cp >= 0xdc00U && cp < 0xe000U) {
                        syntax("a lone low surrogate");
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    --pos_;
                    syntax(pos_ >= text_.size() ? std::string("unterminated string")
                                                : "invalid escape '\\" + std::string(1, e) + "'");
            }
        }
    }

    std::string_view text_;
    const std::string& name_;
    std::size_t line_;
    std::size_t pos_ = 0;
};

std::optional<std::uint64_t> parse_hex16(std::string_view s) {
    if (s.size() != 16) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (const char c : s) {
        std::uint64_t d = 0;
        if (c >= '0' && c <= '9') {
            d = static_cast<std::uint64_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = static_cast<std::uint64_t>(c - 'a') + 10;
        } else {
            return std::nullopt;
        }
        v = (v << 4U) | d;
    }
    return v;
}

// == Output helpers ==============================================================================

/// Copies `s`, replacing bytes that are not valid UTF-8 with U+FFFD, so that JSON and DOT
/// readers accept it whatever an exit reason held.
std::string valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t k = 0;
    while (k < s.size()) {
        const auto c = static_cast<unsigned char>(s[k]);
        std::size_t len = 0;
        std::uint32_t min = 0;
        if (c < 0x80U) {
            out += s[k++];
            continue;
        }
        if ((c & 0xe0U) == 0xc0U) {
            len = 2;
            min = 0x80U;
        } else if ((c & 0xf0U) == 0xe0U) {
            len = 3;
            min = 0x800U;
        } else if ((c & 0xf8U) == 0xf0U) {
            len = 4;
            min = 0x10000U;
        }
        bool ok = len != 0 && k + len <= s.size();
        std::uint32_t cp = len == 2 ? (c & 0x1fU) : len == 3 ? (c & 0x0fU) : (c & 0x07U);
        for (std::size_t m = 1; ok && m < len; ++m) {
            const auto cc = static_cast<unsigned char>(s[k + m]);
            ok = (cc & 0xc0U) == 0x80U;
            cp = (cp << 6U) | (cc & 0x3fU);
        }
        ok = ok && cp >= min && cp <= 0x10ffffU && !(cp >= 0xd800U && cp < 0xe000U);
        if (ok) {
            out.append(s.substr(k, len));
            k += len;
        } else {
            out += "\xef\xbf\xbd";
            ++k;
        }
    }
    return out;
}

std::string json_string(std::string_view raw) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (const char c : valid_utf8(raw)) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20U) {
                    out += "\\u00";
                    out += hex[(static_cast<unsigned char>(c) >> 4U) & 0xfU];
                    out += hex[static_cast<unsigned char>(c) & 0xfU];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}

/// A DOT double-quoted string; `\n` in `raw` becomes a line break in the label.
std::string dot_string(std::string_view raw) {
    std::string out = "\"";
    for (const char c : valid_utf8(raw)) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (static_cast<unsigned char>(c) < 0x20U) {
            out += ' ';
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

/// ns as microseconds with three decimals, exactly: the Trace Event Format's unit.
std::string micros(std::uint64_t ns) {
    std::string frac = std::to_string(ns % 1000);
    return std::to_string(ns / 1000) + "." + std::string(3 - frac.size(), '0') + frac;
}

/// Whether an exit reason is one a supervisor does not report: normal, shutdown, {shutdown,T}.
bool normal_exit(const std::string& reason) {
    return reason == "normal" || reason == "shutdown" || reason.rfind("{shutdown,", 0) == 0;
}

// == What happened to each process ==============================================================

struct Proc {
    std::uint64_t pid = 0;
    std::uint64_t parent = 0;
    std::string path;
    bool spawned = false;
    std::uint64_t spawn_t = 0;
    bool exited = false;
    std::uint64_t exit_t = 0;
    std::string reason;
    std::size_t faults = 0;
    std::size_t restart = 0;  // 0 for the first process at its path, k for its k-th restart.
    bool gave_up = false;     // A supervisor that reported reaching its restart intensity.
};

struct Model {
    std::map<std::uint64_t, Proc> procs;
    std::map<std::string, std::vector<std::uint64_t>> by_path;  // Pids at each path, in order.
    std::map<std::string, std::size_t> faults;                  // By kind (detail).
    std::map<std::string, std::size_t> drops;                   // By why (detail).
    std::map<std::string, std::size_t> reports;                 // Supervisor reports by kind.
    std::size_t spawned = 0;
    std::size_t exited = 0;
    std::size_t abnormal = 0;

    Proc& proc(std::uint64_t pid) {
        Proc& p = procs[pid];
        p.pid = pid;
        return p;
    }
};

Model build_model(const Trace& trace) {
    Model m;
    for (const Event& e : trace.events) {
        if (e.ev == "spawn") {
            Proc& p = m.proc(e.a);
            p.spawned = true;
            p.parent = e.b;
            p.spawn_t = e.t;
            p.path = e.detail;
            ++m.spawned;
            if (!p.path.empty()) {
                std::vector<std::uint64_t>& at = m.by_path[p.path];
                p.restart = at.size();
                at.push_back(e.a);
            }
        } else if (e.ev == "exit") {
            Proc& p = m.proc(e.a);
            p.exited = true;
            p.exit_t = e.t;
            p.reason = e.reason;
            ++m.exited;
            if (!normal_exit(e.reason)) {
                ++m.abnormal;
            }
        } else if (e.ev == "fault") {
            ++m.proc(e.a).faults;
            ++m.faults[e.detail.empty() ? "x=" + std::to_string(e.x) : e.detail];
        } else if (e.ev == "drop") {
            ++m.drops[e.detail.empty() ? "?" : e.detail];
        } else if (e.ev == "report") {
            ++m.reports[report_kind(e.x)];
            if (e.x == 2) {
                m.proc(e.a).gave_up = true;
            }
        }
    }
    return m;
}

/// `kill 2, drop 1`, most first.
std::string counts_text(const std::map<std::string, std::size_t>& counts) {
    std::vector<std::pair<std::string, std::size_t>> v(counts.begin(), counts.end());
    std::stable_sort(v.begin(), v.end(),
                     [](const auto& l, const auto& r) { return l.second > r.second; });
    std::string out;
    for (const auto& [what, n] : v) {
        out += (out.empty() ? "" : ", ") + what + " " + std::to_string(n);
    }
    return out;
}

std::size_t total(const std::map<std::string, std::size_t>& counts) {
    std::size_t n = 0;
    for (const auto& entry : counts) {
        n += entry.second;
    }
    return n;
}

}  // namespace

// == Parsing =====================================================================================

std::uint64_t Trace::hash() const noexcept { return events.empty() ? empty_hash : events.back().h; }

std::uint64_t Trace::duration() const noexcept { return events.empty() ? 0 : events.back().t; }

Event parse_line(std::string_view text, const std::string& name, std::size_t line) {
    LineParser parser(text, name, line);
    const auto members = parser.members();
    Event e;
    e.line = line;
    unsigned seen = 0;  // One bit per required field.
    auto integer = [&](const std::string& key, const Value& v, std::uint64_t& into, unsigned bit) {
        if (v.is_string) {
            parser.fail("field \"" + key + "\": expected an integer, got a string");
        }
        into = v.number;
        seen |= bit;
    };
    auto string = [&](const std::string& key, const Value& v) -> const std::string& {
        if (!v.is_string) {
            parser.fail("field \"" + key + "\": expected a string, got an integer");
        }
        return v.text;
    };
    for (const auto& [key, v] : members) {
        if (key == "i") {
            integer(key, v, e.i, 1U);
        } else if (key == "t") {
            integer(key, v, e.t, 2U);
        } else if (key == "a") {
            integer(key, v, e.a, 4U);
        } else if (key == "b") {
            integer(key, v, e.b, 8U);
        } else if (key == "x") {
            integer(key, v, e.x, 16U);
        } else if (key == "ev") {
            e.ev = string(key, v);
            seen |= 32U;
        } else if (key == "h") {
            const std::optional<std::uint64_t> h = parse_hex16(string(key, v));
            if (!h) {
                parser.fail(R"(field "h": expected 16 lowercase hex digits, got ")" + v.text + "\"");
            }
            e.h = *h;
            seen |= 64U;
        } else if (key == "reason") {
            e.reason = string(key, v);
            e.has_reason = true;
        } else if (key == "detail") {
            e.detail = string(key, v);
        }
        // Other keys: a later format's additions; ignored.
    }
    static constexpr std::array<std::pair<unsigned, const char*>, 7> required{{
        {1U, "i"}, {2U, "t"}, {32U, "ev"}, {4U, "a"}, {8U, "b"}, {16U, "x"}, {64U, "h"}}};
    for (const auto& [bit, key] : required) {
        if ((seen & bit) == 0) {
            parser.fail(std::string("missing field \"") + key + "\"");
        }
    }
    if (std::find(event_kinds.begin(), event_kinds.end(), e.ev) == event_kinds.end()) {
        parser.fail("unknown event kind \"" + e.ev + "\"");
    }
    return e;
}

Trace parse(std::istream& in, const std::string& name) {
    Trace trace;
    trace.name = name;
    std::string text;
    std::size_t line = 0;
    while (std::getline(in, text)) {
        ++line;
        if (text.find_first_not_of(" \t\r") == std::string::npos) {
            throw TraceError(where(name, line) + "empty line (every line is one event)");
        }
        Event e = parse_line(text, name, line);
        if (e.i != trace.events.size()) {
            throw TraceError(where(name, line) + "event index " + std::to_string(e.i) +
                             ", expected " + std::to_string(trace.events.size()) +
                             " (events are numbered from 0, one a line)");
        }
        if (!trace.events.empty() && e.t < trace.events.back().t) {
            throw TraceError(where(name, line) + "time " + std::to_string(e.t) +
                             " is before the previous event's " +
                             std::to_string(trace.events.back().t));
        }
        trace.events.push_back(std::move(e));
    }
    if (in.bad()) {
        throw TraceError(name + ": read error");
    }
    return trace;
}

Trace load(const std::string& path) {
    std::ifstream in(path, std::ios::in | std::ios::binary);
    if (!in) {
        throw TraceError(path + ": cannot open");
    }
    return parse(in, path);
}

// == Names and single events =====================================================================

Names::Names(const Trace& trace) {
    for (const Event& e : trace.events) {
        if (e.ev == "spawn" && !e.detail.empty()) {
            paths_[e.a] = e.detail;
        }
    }
}

// As bedlam::Pid::to_string prints it (this library reads traces and does not link the runtime):
// <0.N.S>, N the id's low 32 bits, S the high ones (a threaded run's slot reuse count).
std::string Names::pid(std::uint64_t id) {
    return "<0." + std::to_string(id & 0xffff'ffffU) + "." + std::to_string(id >> 32U) + ">";
}

std::string Names::label(std::uint64_t id) const {
    if (id == 0) {
        return "outside";
    }
    const std::string& p = path(id);
    return p.empty() ? pid(id) : pid(id) + " " + p;
}

const std::string& Names::path(std::uint64_t id) const {
    static const std::string none;
    auto it = paths_.find(id);
    return it == paths_.end() ? none : it->second;
}

std::string format_ms(std::uint64_t ns) {
    const std::uint64_t us = ns / 1000;
    std::string frac = std::to_string(us % 1000);
    return std::to_string(us / 1000) + "." + std::string(3 - frac.size(), '0') + frac + "ms";
}

std::string hex16(std::uint64_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (std::size_t k = 0; k < 16; ++k) {
        out[15 - k] = digits[(v >> (4 * k)) & 0xfU];
    }
    return out;
}

std::string format_event(const Event& e, const Names& names) {
    std::string time = format_ms(e.t);
    if (time.size() < 10) {
        time.insert(0, 10 - time.size(), ' ');
    }
    std::uint64_t subject = e.a;
    std::string what;
    const std::string seq = " #" + std::to_string(e.x);
    const std::string detail = e.detail.empty() ? "" : " " + e.detail;
    if (e.ev == "spawn") {
        what = e.b == 0 ? "spawn" : "spawn by " + names.label(e.b);
    } else if (e.ev == "exit") {
        what = "exit " + e.reason;
    } else if (e.ev == "link" || e.ev == "unlink") {
        what = e.ev + " " + names.label(e.b);
    } else if (e.ev == "monitor" || e.ev == "demonitor") {
        what = e.ev + " " + names.label(e.b) + " (ref " + std::to_string(e.x) + ")";
    } else if (e.ev == "down") {
        what = "DOWN to " + names.label(e.b) + " (ref " + std::to_string(e.x) + "): " + e.reason;
    } else if (e.ev == "fault") {
        what = "fault " + (e.detail.empty() ? "kind " + std::to_string(e.x) : e.detail);
        if (e.b != 0) {
            what += " (message from " + names.label(e.b) + ")";
        }
        if (e.has_reason) {
            what += ": " + e.reason;
        }
    } else if (e.ev == "report") {
        what = "report " + report_kind(e.x);
        if (e.b != 0) {
            what += " " + names.label(e.b);
        }
        if (!e.detail.empty()) {
            what += " (" + e.detail + ")";
        }
        if (e.has_reason) {
            what += ": " + e.reason;
        }
    } else if (e.ev == "drop") {
        what = "drop" + seq + " to " + names.label(e.b) + (e.detail.empty() ? "" : ": " + e.detail);
    } else if (e.ev == "send") {
        what = "send" + detail + seq + " to " + names.label(e.b);
    } else if (e.ev == "deliver") {
        subject = e.b;
        what = "deliver" + detail + seq + " from " + names.label(e.a);
    } else if (e.ev == "timer") {
        what = "timer" + seq + " fires";
    } else if (e.ev == "timeout") {
        what = "receive times out" + seq;
    } else {
        what = e.ev;
    }
    return "  " + time + "  " + names.label(subject) + "  " + what;
}

// == Text ========================================================================================

std::string render_text(const Trace& trace, const TextOptions& options) {
    const Names names(trace);
    const Model model = build_model(trace);
    std::ostringstream out;
    // Signals per (sender, receiver): sent, delivered, dropped.
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::array<std::size_t, 3>> pairs;
    std::map<std::string, std::size_t> spawned_at;
    for (const Event& e : trace.events) {
        const bool message = e.ev == "send" || e.ev == "deliver";
        // A receive time-out is a signal a process sends itself: not traffic between processes.
        if ((message || e.ev == "drop") && e.detail != "timeout") {
            std::array<std::size_t, 3>& n = pairs[{e.a, e.b}];
            ++n[e.ev == "send" ? 0 : e.ev == "deliver" ? 1 : 2];
        }
        if (!options.all && (message || e.ev == "timer" || e.ev == "timeout")) {
            continue;
        }
        out << format_event(e, names);
        if (e.ev == "spawn" && !e.detail.empty()) {
            const std::size_t before = spawned_at[e.detail]++;
            if (before > 0) {
                out << "  (restart " << before << " of " << e.detail << ")";
            }
        }
        out << '\n';
    }

    if (!pairs.empty()) {
        std::vector<std::pair<std::pair<std::uint64_t, std::uint64_t>, std::array<std::size_t, 3>>>
            sorted(pairs.begin(), pairs.end());
        std::stable_sort(sorted.begin(), sorted.end(),
                         [](const auto& l, const auto& r) { return l.second[0] > r.second[0]; });
        out << "\nsignals by sender -> receiver (sent, delivered, dropped):\n";
        const std::size_t shown = options.all ? sorted.size() : std::min(options.pairs, sorted.size());
        for (std::size_t k = 0; k < shown; ++k) {
            const auto& [pair, n] = sorted[k];
            out << "  " << names.label(pair.first) << " -> " << names.label(pair.second) << ": "
                << n[0] << " sent, " << n[1] << " delivered, " << n[2] << " dropped\n";
        }
        if (shown < sorted.size()) {
            out << "  ... " << (sorted.size() - shown) << " more pairs (--all lists them)\n";
        }
    }

    std::size_t restarts = 0;
    std::map<std::string, std::size_t> restarted;
    for (const auto& [path, pids] : model.by_path) {
        if (pids.size() > 1) {
            restarted[path] = pids.size() - 1;
            restarts += pids.size() - 1;
        }
    }
    const std::size_t faults = total(model.faults);
    const std::size_t drops = total(model.drops);
    out << "\nsummary:\n";
    out << "  events     " << trace.events.size() << ", virtual time "
        << format_ms(trace.duration()) << '\n';
    out << "  processes  " << model.spawned << " spawned, " << model.exited << " exited ("
        << model.abnormal << " abnormally), " << (model.spawned - std::min(model.spawned, model.exited))
        << " alive at the end\n";
    out << "  restarts   " << restarts << (restarts == 0 ? "" : ": " + counts_text(restarted)) << '\n';
    out << "  faults     " << faults << (faults == 0 ? "" : ": " + counts_text(model.faults)) << '\n';
    out << "  drops      " << drops << (drops == 0 ? "" : ": " + counts_text(model.drops)) << '\n';
    const std::size_t reports = total(model.reports);
    if (reports > 0) {
        out << "  reports    " << reports << ": " << counts_text(model.reports) << '\n';
    }
    out << "  hash       " << hex16(trace.hash()) << '\n';
    return out.str();
}

// == Chrome / Perfetto ===========================================================================

namespace {

/// One JSON object, written field by field in order.
class JsonObject {
public:
    JsonObject& text(std::string_view key, std::string_view value) {
        return raw(key, json_string(value));
    }
    JsonObject& number(std::string_view key, std::uint64_t value) {
        return raw(key, std::to_string(value));
    }
    JsonObject& raw(std::string_view key, std::string_view json) {
        out_ += out_.size() > 1 ? ",\"" : "\"";
        out_ += key;
        out_ += "\":";
        out_ += json;
        return *this;
    }
    [[nodiscard]] std::string str() const { return out_ + "}"; }

private:
    std::string out_ = "{";
};

/// A metadata event ("M") on the run's one process (pid 1), on track `tid`.
std::string chrome_metadata(std::string_view name, std::uint64_t tid, const JsonObject& args) {
    return JsonObject()
        .text("name", name)
        .text("ph", "M")
        .number("pid", 1)
        .number("tid", tid)
        .raw("args", args.str())
        .str();
}

/// An instant event ("i", thread scope) on the track of the event's process `a`.
std::string chrome_instant(std::string_view name, std::string_view cat, const Event& e,
                           const JsonObject& args) {
    return JsonObject()
        .text("name", name)
        .text("cat", cat)
        .text("ph", "i")
        .text("s", "t")
        .raw("ts", micros(e.t))
        .number("pid", 1)
        .number("tid", e.a)
        .raw("args", args.str())
        .str();
}

/// A named track per process (tid = its pid), sorted by pid.
void chrome_tracks(const Model& model, std::vector<std::string>& events) {
    for (const auto& [pid, p] : model.procs) {
        std::string track = p.path.empty() ? "" : p.path + " ";
        track += pid == 0 ? "outside" : Names::pid(pid);
        events.push_back(chrome_metadata("thread_name", pid, JsonObject().text("name", track)));
        events.push_back(
            chrome_metadata("thread_sort_index", pid, JsonObject().number("sort_index", pid)));
    }
}

/// A complete slice ("X") per process, from its spawn to its exit (or the end of the trace).
void chrome_lifetimes(const Model& model, const Names& names, std::uint64_t end_of_trace,
                      std::vector<std::string>& events) {
    for (const auto& [pid, p] : model.procs) {
        if (!p.spawned) {
            continue;
        }
        const std::uint64_t end = p.exited ? p.exit_t : end_of_trace;
        JsonObject args;
        args.text("pid", Names::pid(pid));
        if (!p.path.empty()) {
            args.text("path", p.path);
        }
        args.text("parent", names.label(p.parent));
        args.text("exit", p.exited ? p.reason : "alive at the end");
        events.push_back(JsonObject()
                             .text("name", p.path.empty() ? Names::pid(pid) : p.path)
                             .text("cat", "process")
                             .text("ph", "X")
                             .raw("ts", micros(p.spawn_t))
                             .raw("dur", micros(end - p.spawn_t))
                             .number("pid", 1)
                             .number("tid", pid)
                             .raw("args", args.str())
                             .str());
    }
}

/// Instants for exits, faults, supervisor reports and restarts, in trace order.
void chrome_instants(const Trace& trace, const Model& model, const Names& names,
                     std::vector<std::string>& events) {
    for (const Event& e : trace.events) {
        JsonObject args;
        if (e.ev == "exit") {
            events.push_back(chrome_instant("exit " + e.reason, "exit", e,
                                            args.text("reason", e.reason)));
        } else if (e.ev == "fault" || e.ev == "report") {
            const bool fault = e.ev == "fault";
            if (fault) {
                args.text("kind", e.detail).number("x", e.x);
            } else {
                args.text("report", report_kind(e.x));
            }
            if (!fault && !e.detail.empty()) {
                args.text("detail", e.detail);
            }
            if (e.has_reason) {
                args.text("reason", e.reason);
            }
            if (e.b != 0) {
                args.text(fault ? "sender" : "child", names.label(e.b));
            }
            events.push_back(chrome_instant(e.ev + " " + (fault ? e.detail : report_kind(e.x)),
                                            e.ev, e, args));
        } else if (e.ev == "spawn" && !e.detail.empty()) {
            const Proc& p = model.procs.at(e.a);
            if (p.restart > 0) {
                const std::uint64_t previous = model.by_path.at(p.path)[p.restart - 1];
                args.text("path", p.path)
                    .number("restart", p.restart)
                    .text("previous", Names::pid(previous));
                events.push_back(chrome_instant("restart " + p.path, "restart", e, args));
            }
        }
    }
}

}  // namespace

std::string render_chrome(const Trace& trace) {
    const Names names(trace);
    const Model model = build_model(trace);
    std::vector<std::string> events;
    events.push_back(
        chrome_metadata("process_name", 0, JsonObject().text("name", "bedlam " + trace.name)));
    chrome_tracks(model, events);
    chrome_lifetimes(model, names, trace.duration(), events);
    chrome_instants(trace, model, names, events);
    std::string out = R"({"traceEvents":[)";
    out += '\n';
    for (std::size_t k = 0; k < events.size(); ++k) {
        out += events[k];
        out += k + 1 < events.size() ? ",\n" : "\n";
    }
    out += R"(],"displayTimeUnit":"ms","otherData":)";
    out += JsonObject()
               .text("trace", trace.name)
               .text("events", std::to_string(trace.events.size()))
               .text("hash", hex16(trace.hash()))
               .str();
    out += "}\n";
    return out;
}

// == Graphviz ====================================================================================

namespace {

/// Every path and its ancestors (an ancestor with no process of its own is drawn dashed).
std::set<std::string> all_paths(const Model& model) {
    std::set<std::string> paths;
    for (const auto& entry : model.by_path) {
        std::string p = entry.first;
        paths.insert(p);
        for (std::size_t slash = p.rfind('/'); slash != std::string::npos && slash > 0;
             slash = p.rfind('/')) {
            p.resize(slash);
            paths.insert(p);
        }
    }
    return paths;
}

/// The path of the nearest ancestor (by spawn parent) that has one, or "".
std::string named_ancestor(const Model& model, std::uint64_t pid) {
    std::set<std::uint64_t> visited;
    for (std::uint64_t at = pid; at != 0 && visited.insert(at).second;) {
        auto it = model.procs.find(at);
        if (it == model.procs.end()) {
            break;
        }
        if (at != pid && !it->second.path.empty()) {
            return it->second.path;
        }
        at = it->second.parent;
    }
    return "";
}

std::string dot_style(bool restarted, bool faulted, bool alive) {
    std::string attrs = alive ? R"(, style="rounded,filled")" : R"(, style="rounded,filled,dashed")";
    if (restarted) {
        attrs += R"(, fillcolor="#ffcc80")";
    }
    if (faulted) {
        attrs += R"(, color="#d32f2f", penwidth=2)";
    }
    return attrs;
}

std::string dot_pid(std::uint64_t pid) { return dot_string(Names::pid(pid)); }

void dot_path_nodes(const Model& model, const std::set<std::string>& paths, std::ostream& out) {
    for (const std::string& path : paths) {
        const std::size_t slash = path.rfind('/');
        const std::string id = slash == std::string::npos ? path : path.substr(slash + 1);
        auto it = model.by_path.find(path);
        if (it == model.by_path.end()) {
            out << "  " << dot_string(path) << " [label=" << dot_string(id + "\n(no process)")
                << R"(, style="rounded,dashed"];)" << '\n';
            continue;
        }
        const std::vector<std::uint64_t>& pids = it->second;
        std::size_t faults = 0;
        for (const std::uint64_t pid : pids) {
            faults += model.procs.at(pid).faults;
        }
        const Proc& last = model.procs.at(pids.back());
        std::string label = id + "\n" + Names::pid(last.pid) + "\nrestarts: " +
                            std::to_string(pids.size() - 1);
        if (faults > 0) {
            label += ", faults: " + std::to_string(faults);
        }
        label += last.exited ? "\nexited: " + last.reason : "\nalive";
        if (last.gave_up) {
            label += "\ngave up: reached_max_restart_intensity";
        }
        out << "  " << dot_string(path) << " [label=" << dot_string(label)
            << dot_style(pids.size() > 1, faults > 0, !last.exited) << "];\n";
    }
}

/// Processes without a path: grouped under their nearest named ancestor, or, with none, one
/// node each ("loose") under their spawn parent.
struct Pathless {
    struct Group {
        std::size_t count = 0;
        std::size_t alive = 0;
        std::size_t faults = 0;
    };
    std::map<std::string, Group> groups;  // By the ancestor's path.
    std::vector<const Proc*> loose;

    explicit Pathless(const Model& model) {
        for (const auto& [pid, p] : model.procs) {
            if (!p.spawned || !p.path.empty()) {
                continue;
            }
            const std::string ancestor = named_ancestor(model, pid);
            if (ancestor.empty()) {
                loose.push_back(&p);
                continue;
            }
            Group& g = groups[ancestor];
            ++g.count;
            g.alive += p.exited ? 0 : 1;
            g.faults += p.faults;
        }
    }

    void nodes(std::ostream& out) const {
        for (const Proc* p : loose) {
            std::string label = Names::pid(p->pid);
            if (p->faults > 0) {
                label += "\nfaults: " + std::to_string(p->faults);
            }
            label += p->exited ? "\nexited: " + p->reason : "\nalive";
            out << "  " << dot_pid(p->pid) << " [label=" << dot_string(label) << ", shape=ellipse"
                << dot_style(false, p->faults > 0, !p->exited) << "];\n";
        }
        for (const auto& [ancestor, g] : groups) {
            std::string label = std::to_string(g.count) +
                                (g.count == 1 ? " process" : " processes") + " without a path\n" +
                                std::to_string(g.alive) + " alive";
            if (g.faults > 0) {
                label += ", faults: " + std::to_string(g.faults);
            }
            out << "  " << dot_string(ancestor + " +") << " [label=" << dot_string(label)
                << ", shape=ellipse" << dot_style(false, g.faults > 0, g.alive > 0) << "];\n";
        }
    }
};

/// Edges: the path hierarchy; the spawn parent for a root path and for loose processes.
void dot_edges(const Model& model, const std::set<std::string>& paths, const Pathless& pathless,
               std::ostream& out) {
    for (const std::string& path : paths) {
        const std::size_t slash = path.rfind('/');
        if (slash != std::string::npos && slash > 0) {
            out << "  " << dot_string(path.substr(0, slash)) << " -> " << dot_string(path) << ";\n";
            continue;
        }
        auto it = model.by_path.find(path);
        if (it == model.by_path.end()) {
            continue;
        }
        const std::uint64_t parent = model.procs.at(it->second.front()).parent;
        auto pit = model.procs.find(parent);
        if (pit != model.procs.end() && pit->second.spawned && pit->second.path.empty() &&
            named_ancestor(model, parent).empty()) {
            out << "  " << dot_pid(parent) << " -> " << dot_string(path) << " [style=dashed];\n";
        }
    }
    for (const Proc* p : pathless.loose) {
        auto pit = model.procs.find(p->parent);
        if (pit != model.procs.end() && pit->second.spawned) {
            out << "  " << dot_pid(p->parent) << " -> " << dot_pid(p->pid) << ";\n";
        }
    }
    for (const auto& entry : pathless.groups) {
        out << "  " << dot_string(entry.first) << " -> " << dot_string(entry.first + " +")
            << " [style=dotted];\n";
    }
}

}  // namespace

std::string render_dot(const Trace& trace) {
    const Model model = build_model(trace);
    const std::set<std::string> paths = all_paths(model);
    const Pathless pathless(model);
    std::ostringstream out;
    out << "digraph bedlam {\n";
    out << R"(  graph [rankdir=TB, labelloc=t, fontname="Helvetica", label=)"
        << dot_string(trace.name + ": " + std::to_string(trace.events.size()) + " events, " +
                      format_ms(trace.duration()) + ", hash " + hex16(trace.hash()) +
                      "\norange: restarted, red border: hit by faults, dashed: not alive at the end")
        << "];\n";
    out << R"(  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica"];)"
        << '\n';
    dot_path_nodes(model, paths, out);
    pathless.nodes(out);
    dot_edges(model, paths, pathless, out);
    out << "}\n";
    return out.str();
}

// == Diff ========================================================================================

namespace {

/// The hashed fields that differ between two events (and `h` when the fields agree but the
/// running hash does not).
std::vector<std::string> differing(const Event& x, const Event& y) {
    std::vector<std::string> d;
    const std::array<std::pair<const char*, bool>, 7> fields{{
        {"ev", x.ev != y.ev},
        {"t", x.t != y.t},
        {"a", x.a != y.a},
        {"b", x.b != y.b},
        {"x", x.x != y.x},
        {"reason", x.has_reason != y.has_reason || x.reason != y.reason},
        {"h", x.h != y.h},
    }};
    for (const auto& [name, differs] : fields) {
        if (differs) {
            d.emplace_back(name);
        }
    }
    return d;
}

/// `<side><index, 6 wide><the event as in the timeline>`
std::string numbered(std::string_view side, const Event& e, const Names& names) {
    std::string n = std::to_string(e.i);
    if (n.size() < 6) {
        n.insert(0, 6 - n.size(), ' ');
    }
    std::string line(side);
    line += n;
    line += format_event(e, names);
    line += '\n';
    return line;
}

/// Events [from, to) of `t`, each marked with `side`.
void list_events(const Trace& t, const Names& names, std::string_view side, std::size_t from,
                 std::size_t to, std::ostream& out) {
    for (std::size_t j = from; j < std::min(to, t.events.size()); ++j) {
        out << numbered(side, t.events[j], names);
    }
}

/// One trace ends where the other goes on.
void report_prefix(const Trace& a, const Trace& b, std::size_t k, std::size_t context,
                   std::ostream& out) {
    const bool a_shorter = a.events.size() < b.events.size();
    const Trace& longer = a_shorter ? b : a;
    const char* const short_side = a_shorter ? "A" : "B";
    const char* const long_side = a_shorter ? "B" : "A";
    out << short_side << " is a prefix of " << long_side << ": they agree on all " << k
        << " events of " << short_side << ", then " << long_side << " goes on for "
        << (longer.events.size() - k) << " more\n";
    const Names names(a);
    if (context > 0 && k > 0) {
        out << "before (both):\n";
        list_events(a, names, "   ", k - std::min(k, context), k, out);
    }
    out << short_side << " ends; then in " << long_side << ":\n";
    list_events(longer, Names(longer), a_shorter ? "B  " : "A  ", k,
                k + std::max<std::size_t>(context, 1), out);
}

/// The two traces differ at event k.
void report_divergence(const Trace& a, const Trace& b, std::size_t k, std::size_t context,
                       std::ostream& out) {
    const std::vector<std::string> fields = differing(a.events[k], b.events[k]);
    out << "first difference at event " << k << " (line " << a.events[k].line << " of A, "
        << b.events[k].line << " of B): ";
    if (fields.size() == 1 && fields[0] == "h") {
        out << "the same fields but a different hash (reasons of different kinds with the same "
               "text, or an edited file)\n";
    } else {
        std::string list;
        for (const std::string& f : fields) {
            if (f != "h") {
                list += list.empty() ? f : ", " + f;
            }
        }
        out << "they differ in " << list << '\n';
    }
    const Names names_a(a);
    const Names names_b(b);
    if (context > 0 && k > 0) {
        out << "before (both):\n";
        list_events(a, names_a, "   ", k - std::min(k, context), k, out);
    }
    out << "diverging:\n" << numbered("A  ", a.events[k], names_a)
        << numbered("B  ", b.events[k], names_b);
    for (const auto& [side, t, names] :
         {std::tuple<const char*, const Trace*, const Names*>{"A", &a, &names_a},
          std::tuple<const char*, const Trace*, const Names*>{"B", &b, &names_b}}) {
        if (context > 0 && k + 1 < t->events.size()) {
            out << "then in " << side << ":\n";
            list_events(*t, *names, "   ", k + 1, k + 1 + context, out);
        }
    }
}

}  // namespace

DiffResult diff(const Trace& a, const Trace& b, std::size_t context) {
    DiffResult result;
    const std::size_t common = std::min(a.events.size(), b.events.size());
    std::size_t k = 0;
    while (k < common && differing(a.events[k], b.events[k]).empty()) {
        ++k;
    }
    result.index = k;
    std::ostringstream out;
    if (k == common && a.events.size() == b.events.size()) {
        result.kind = DiffResult::Kind::identical;
        out << "identical: " << a.events.size() << " events, hash=" << hex16(a.hash()) << '\n';
        result.report = out.str();
        return result;
    }
    for (const auto& [side, t] : {std::pair<const char*, const Trace*>{"A", &a},
                                  std::pair<const char*, const Trace*>{"B", &b}}) {
        out << side << ": " << t->name << " (" << t->events.size()
            << " events, hash=" << hex16(t->hash()) << ")\n";
    }
    if (k == common) {
        result.kind = a.events.size() < b.events.size() ? DiffResult::Kind::a_prefix_of_b
                                                        : DiffResult::Kind::b_prefix_of_a;
        report_prefix(a, b, k, context, out);
    } else {
        result.kind = DiffResult::Kind::differ;
        report_divergence(a, b, k, context, out);
    }
    result.report = out.str();
    return result;
}

}  // namespace bedlam::cli::trace
