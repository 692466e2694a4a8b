// Reading traces: the parser and its errors, the three renderers, and diff (cli/trace_tools).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "trace_tools.hpp"

namespace bedlam::cli::trace {
namespace {

// == Building traces =============================================================================

struct Line {
    std::uint64_t t = 0;
    std::string ev;
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    std::uint64_t x = 0;
    std::optional<std::string> reason{};
    std::string detail{};
};

/// A trace as JSON lines, numbered from 0, with `h` = a stand-in running hash (salt + index), so
/// that two traces built with different salts differ in `h` from their first event on.
std::string jsonl(const std::vector<Line>& lines, std::uint64_t salt = 0x1000) {
    std::string out;
    std::uint64_t i = 0;
    for (const Line& l : lines) {
        std::string line = "{";
        auto add = [&line](std::string_view key, const std::string& value) {
            line += line.size() > 1 ? R"(,")" : R"(")";
            line += key;
            line += R"(":)";
            line += value;
        };
        auto quoted = [](const std::string& text) { return '"' + text + '"'; };
        add("i", std::to_string(i));
        add("t", std::to_string(l.t));
        add("ev", quoted(l.ev));
        add("a", std::to_string(l.a));
        add("b", std::to_string(l.b));
        add("x", std::to_string(l.x));
        if (l.reason) {
            add("reason", quoted(*l.reason));
        }
        if (!l.detail.empty()) {
            add("detail", quoted(l.detail));
        }
        add("h", quoted(hex16(salt + i)));
        out += line;
        out += "}\n";
        ++i;
    }
    return out;
}

Trace parsed(const std::string& text, const std::string& name = "t.jsonl") {
    std::istringstream in(text);
    return parse(in, name);
}

/// What parse() says about `text`, or "" when it accepts it.
std::string error_of(const std::string& text) {
    try {
        static_cast<void>(parsed(text, "bad.jsonl"));
    } catch (const TraceError& e) {
        return e.what();
    }
    return "";
}

constexpr std::uint64_t ms = 1'000'000;

/// A small supervised system: app -> pool -> w1, w2; a client without a path; w2 is killed by a
/// fault and restarted; a message to w1 is dropped; the client exits abnormally.
std::vector<Line> tree_lines() {
    return {
        {.t = 0, .ev = "spawn", .a = 1, .b = 0, .x = 0},
        {.t = 0, .ev = "spawn", .a = 2, .b = 1, .x = 0, .detail = "app"},
        {.t = 0, .ev = "link", .a = 1, .b = 2, .x = 0},
        {.t = 0, .ev = "spawn", .a = 3, .b = 2, .x = 0, .detail = "app/pool"},
        {.t = 0, .ev = "spawn", .a = 4, .b = 3, .x = 0, .detail = "app/pool/w1"},
        {.t = 0, .ev = "spawn", .a = 5, .b = 3, .x = 0, .detail = "app/pool/w2"},
        {.t = 0, .ev = "spawn", .a = 6, .b = 4, .x = 0},  // A helper of w1, no path.
        {.t = 0, .ev = "spawn", .a = 7, .b = 0, .x = 0},  // A client, no path.
        {.t = 0, .ev = "monitor", .a = 7, .b = 5, .x = 1},
        {.t = 1 * ms, .ev = "send", .a = 7, .b = 4, .x = 1, .detail = "message"},
        {.t = 1 * ms, .ev = "deliver", .a = 7, .b = 4, .x = 1, .detail = "message"},
        {.t = 2 * ms, .ev = "send", .a = 7, .b = 4, .x = 2, .detail = "message"},
        {.t = 2 * ms, .ev = "fault", .a = 4, .b = 7, .x = 4, .detail = "drop"},
        {.t = 2 * ms, .ev = "drop", .a = 7, .b = 4, .x = 2, .detail = "interposer"},
        {.t = 1500 * ms + 500'000, .ev = "fault", .a = 5, .b = 0, .x = 1, .reason = "kill",
         .detail = "kill"},
        {.t = 1500 * ms + 500'000, .ev = "exit", .a = 5, .b = 0, .x = 99, .reason = "killed"},
        {.t = 1500 * ms + 500'000, .ev = "down", .a = 5, .b = 7, .x = 1, .reason = "killed"},
        {.t = 1500 * ms + 500'000, .ev = "report", .a = 3, .b = 5, .x = 1, .reason = "killed",
         .detail = "w2"},
        {.t = 1500 * ms + 500'000, .ev = "spawn", .a = 8, .b = 3, .x = 0, .detail = "app/pool/w2"},
        {.t = 1600 * ms, .ev = "timer", .a = 7, .b = 0, .x = 3},
        {.t = 1600 * ms, .ev = "exit", .a = 7, .b = 0, .x = 42, .reason = "{badmatch,3}"},
        {.t = 1700 * ms, .ev = "exit", .a = 6, .b = 0, .x = 43, .reason = "normal"},
    };
}

// == Parsing =====================================================================================

TEST(TraceParse, ReadsEveryField) {
    const Event e = parse_line(
        R"({"i":7,"t":3000000,"ev":"exit","a":2,"b":0,"x":18446744073709551615,)"
        R"("reason":"overdraft: 35 > 2","detail":"d","h":"5b73ec3255630aaf"})",
        "f", 8);
    EXPECT_EQ(e.i, 7U);
    EXPECT_EQ(e.t, 3'000'000U);
    EXPECT_EQ(e.ev, "exit");
    EXPECT_EQ(e.a, 2U);
    EXPECT_EQ(e.b, 0U);
    EXPECT_EQ(e.x, UINT64_MAX);
    EXPECT_TRUE(e.has_reason);
    EXPECT_EQ(e.reason, "overdraft: 35 > 2");
    EXPECT_EQ(e.detail, "d");
    EXPECT_EQ(e.h, 0x5b73ec3255630aafULL);
    EXPECT_EQ(e.line, 8U);
}

TEST(TraceParse, StringEscapesAndUnknownKeys) {
    const Event e = parse_line(
        R"( { "i" : 0 , "t":0,"ev":"exit","a":1,"b":0,"x":0,"reason":"a\"b\\c\nd\u00e9\ud83d\ude00\/",)"
        R"("later":"ignored","n":5,"h":"0000000000000000"} )",
        "f", 1);
    EXPECT_EQ(e.reason, "a\"b\\c\nd\xc3\xa9\xf0\x9f\x98\x80/");
    EXPECT_FALSE(e.detail.empty() && !e.has_reason);
}

TEST(TraceParse, ReadsARealTrace) {
    const Trace t = load(std::string(BEDLAM_TRACE_DATA) + "/tree.jsonl");
    ASSERT_EQ(t.events.size(), 139U);
    EXPECT_EQ(hex16(t.hash()), "121d2dd7b545bb41");
    EXPECT_EQ(t.duration(), 34 * ms);
    EXPECT_EQ(t.events[66].detail, "app/pool/w2");
}

TEST(TraceParse, EmptyTraceHasTheSeedHash) {
    const Trace t = parsed("");
    EXPECT_TRUE(t.events.empty());
    EXPECT_EQ(t.hash(), empty_hash);
    EXPECT_EQ(t.duration(), 0U);
}

TEST(TraceParse, CrLfLineEndingsAreAccepted) {
    std::string text = jsonl(tree_lines());
    std::string crlf;
    for (const char c : text) {
        crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    }
    EXPECT_EQ(parsed(crlf).events.size(), tree_lines().size());
}

// Every class of bad input names the file and line, and what is wrong.
struct BadCase {
    const char* what;
    std::string line2;     // Replaces the second line of a good trace.
    const char* message;   // Expected after "bad.jsonl:2: ".
};

TEST(TraceParse, BadInputNamesFileLineAndProblem) {
    const std::string first = R"({"i":0,"t":5,"ev":"spawn","a":1,"b":0,"x":0,"h":"0000000000000001"})";
    const std::string ok = R"("t":5,"ev":"exit","a":1,"b":0,"x":3,"reason":"normal","h":"0000000000000002")";
    const std::vector<BadCase> cases = {
        {"not JSON", "hello", "not valid JSON: expected '{' (a trace line is one JSON object) at column 1"},
        {"cut short", R"({"i":1,"t":)", "not valid JSON: the line ends where it expected the value of \"t\" at column 12"},
        {"no closing brace", R"({"i":1)", "not valid JSON: the line ends where it expected ',' or '}' at column 7"},
        {"text after", "{\"i\":1," + ok + "} x", "not valid JSON: unexpected text after the object at column"},
        {"unquoted key", "{i:1}", "not valid JSON: expected a key in double quotes at column 2"},
        {"no colon", R"({"i" 1})", "not valid JSON: expected ':' after key \"i\" at column 6"},
        {"unterminated string", R"({"i":1,"ev":"spa)", "not valid JSON: unterminated string"},
        {"bad escape", R"({"i":1,"ev":"sp\qawn"})", "not valid JSON: invalid escape '\\q'"},
        {"bad unicode escape", R"({"i":1,"ev":"\u12G4"})", "not valid JSON: \\u needs four hex digits"},
        {"lone surrogate", R"({"i":1,"ev":"\udc00"})", "not valid JSON: a lone low surrogate"},
        {"control character", "{\"i\":1,\"ev\":\"a\tb\"}", "not valid JSON: control character in a string"},
        {"leading zero", R"({"i":01})", "not valid JSON: a number with a leading zero"},
        {"bare word", R"({"i":true})", "not valid JSON: expected a string or an integer as the value of \"i\""},
        {"duplicate key", R"({"i":1,"i":1,)" + ok + "}", R"(key "i" appears twice)"},
        {"nested", R"({"i":1,"t":{"ns":5}})", "field \"t\": nested objects and arrays are not part of the trace format"},
        {"negative", R"({"i":1,"t":-5})", "field \"t\": negative numbers are not part of the trace format"},
        {"fraction", R"({"i":1,"t":5.5})", "field \"t\": expected an integer, got a fraction or exponent"},
        {"too big", R"({"i":1,"x":18446744073709551616})", "field \"x\": integer 18446744073709551616... does not fit in 64 bits"},
        {"string for integer", R"({"i":1,"t":"5"})", "field \"t\": expected an integer, got a string"},
        {"integer for string", R"({"i":1,"ev":4})", "field \"ev\": expected a string, got an integer"},
        {"missing t", R"({"i":1,"ev":"exit","a":1,"b":0,"x":3,"h":"0000000000000002"})", "missing field \"t\""},
        {"missing ev", R"({"i":1,"t":5,"a":1,"b":0,"x":3,"h":"0000000000000002"})", "missing field \"ev\""},
        {"missing h", R"({"i":1,"t":5,"ev":"exit","a":1,"b":0,"x":3})", "missing field \"h\""},
        {"missing i", R"({"t":5,"ev":"exit","a":1,"b":0,"x":3,"h":"0000000000000002"})", "missing field \"i\""},
        {"empty object", "{}", "missing field \"i\""},
        {"short hash", R"({"i":1,"t":5,"ev":"exit","a":1,"b":0,"x":3,"h":"abc"})", R"(field "h": expected 16 lowercase hex digits, got "abc")"},
        {"upper-case hash", R"({"i":1,"t":5,"ev":"exit","a":1,"b":0,"x":3,"h":"000000000000000A"})", "field \"h\": expected 16 lowercase hex digits"},
        {"unknown kind", R"({"i":1,"t":5,"ev":"explode","a":1,"b":0,"x":3,"h":"0000000000000002"})", "unknown event kind \"explode\""},
        {"empty line", "", "empty line (every line is one event)"},
        {"index skips", "{\"i\":2," + ok + "}", "event index 2, expected 1"},
        {"time goes back", R"({"i":1,"t":4,"ev":"exit","a":1,"b":0,"x":3,"h":"0000000000000002"})", "time 4 is before the previous event's 5"},
    };
    for (const BadCase& c : cases) {
        std::string text = first;
        text += '\n';
        text += c.line2;
        text += '\n';
        text += first;
        text += '\n';
        const std::string error = error_of(text);
        EXPECT_EQ(error.rfind("bad.jsonl:2: ", 0), 0U) << c.what << ": " << error;
        EXPECT_NE(error.find(c.message), std::string::npos)
            << c.what << ": got '" << error << "', expected it to contain '" << c.message << "'";
    }
    // The good second line, for contrast, is accepted.
    EXPECT_EQ(error_of(first + "\n{\"i\":1," + ok + "}\n"), "");
}

TEST(TraceParse, MissingFileIsNamed) {
    try {
        static_cast<void>(load("/nonexistent/trace.jsonl"));
        FAIL() << "expected a TraceError";
    } catch (const TraceError& e) {
        EXPECT_STREQ(e.what(), "/nonexistent/trace.jsonl: cannot open");
    }
}

TEST(TraceParse, ErrorsCountLinesFromOne) {
    std::string text = jsonl(tree_lines());
    text += "{\"i\":22}\n";
    EXPECT_EQ(error_of(text).rfind("bad.jsonl:23: missing field \"t\"", 0), 0U) << error_of(text);
}

// == Names and events ============================================================================

TEST(TraceNames, ProcessesAreNamedByPathOrPid) {
    const Trace t = parsed(jsonl(tree_lines()));
    const Names names(t);
    EXPECT_EQ(names.label(4), "<0.4.0> app/pool/w1");
    EXPECT_EQ(names.label(7), "<0.7.0>");
    EXPECT_EQ(names.label(0), "outside");
    EXPECT_EQ(names.path(8), "app/pool/w2");
    EXPECT_EQ(names.path(99), "");
}

TEST(TraceNames, FormatsTimesAndEvents) {
    EXPECT_EQ(format_ms(0), "0.000ms");
    EXPECT_EQ(format_ms(1'234'500'000), "1234.500ms");
    EXPECT_EQ(format_ms(999), "0.000ms");
    EXPECT_EQ(format_ms(1'001'000), "1.001ms");
    const Trace t = parsed(jsonl(tree_lines()));
    const Names names(t);
    EXPECT_EQ(format_event(t.events[15], names), "  1500.500ms  <0.5.0> app/pool/w2  exit killed");
    EXPECT_EQ(format_event(t.events[14], names),
              "  1500.500ms  <0.5.0> app/pool/w2  fault kill: kill");
    EXPECT_EQ(format_event(t.events[12], names),
              "     2.000ms  <0.4.0> app/pool/w1  fault drop (message from <0.7.0>)");
    EXPECT_EQ(format_event(t.events[13], names),
              "     2.000ms  <0.7.0>  drop #2 to <0.4.0> app/pool/w1: interposer");
    EXPECT_EQ(format_event(t.events[16], names),
              "  1500.500ms  <0.5.0> app/pool/w2  DOWN to <0.7.0> (ref 1): killed");
    EXPECT_EQ(format_event(t.events[17], names),
              "  1500.500ms  <0.3.0> app/pool  report child_terminated <0.5.0> app/pool/w2 (w2): "
              "killed");
    EXPECT_EQ(format_event(t.events[10], names),
              "     1.000ms  <0.4.0> app/pool/w1  deliver message #1 from <0.7.0>");
    EXPECT_EQ(format_event(t.events[3], names),
              "     0.000ms  <0.3.0> app/pool  spawn by <0.2.0> app");
}

// == Text ========================================================================================

TEST(TraceText, TimelineOfInterestingEventsAndSummary) {
    const std::string text = render_text(parsed(jsonl(tree_lines())), TextOptions{});
    EXPECT_NE(text.find("     0.000ms  <0.2.0> app  spawn by <0.1.0>\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  1500.500ms  <0.8.0> app/pool/w2  spawn by <0.3.0> app/pool  (restart 1 "
                        "of app/pool/w2)\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("<0.1.0>  link <0.2.0> app\n"), std::string::npos);
    EXPECT_NE(text.find("<0.7.0>  monitor <0.5.0> app/pool/w2 (ref 1)\n"), std::string::npos);
    EXPECT_NE(text.find("  1600.000ms  <0.7.0>  exit {badmatch,3}\n"), std::string::npos);
    // Sends, delivers and timers are summarised, not listed.
    EXPECT_EQ(text.find("  send "), std::string::npos) << text;
    EXPECT_EQ(text.find("  deliver "), std::string::npos);
    EXPECT_EQ(text.find("  timer "), std::string::npos);
    EXPECT_NE(text.find("  <0.7.0> -> <0.4.0> app/pool/w1: 2 sent, 1 delivered, 1 dropped\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("  events     22, virtual time 1700.000ms\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  processes  8 spawned, 3 exited (2 abnormally), 5 alive at the end\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("  restarts   1: app/pool/w2 1\n"), std::string::npos);
    EXPECT_NE(text.find("  faults     2: drop 1, kill 1\n"), std::string::npos);
    EXPECT_NE(text.find("  drops      1: interposer 1\n"), std::string::npos);
    EXPECT_NE(text.find("  reports    1: child_terminated 1\n"), std::string::npos);
    EXPECT_NE(text.find("  hash       " + hex16(0x1000 + 21) + "\n"), std::string::npos);
}

TEST(TraceText, AllShowsEveryEvent) {
    const Trace t = parsed(jsonl(tree_lines()));
    const std::string text = render_text(t, TextOptions{.all = true, .pairs = 20});
    for (const Event& e : t.events) {
        EXPECT_NE(text.find(format_event(e, Names(t))), std::string::npos) << e.i;
    }
}

TEST(TraceText, ListsAtMostPairsSenderReceiverPairs) {
    std::vector<Line> lines;
    for (std::uint64_t k = 1; k <= 5; ++k) {
        lines.push_back({.t = 0, .ev = "send", .a = k, .b = k + 1, .x = k, .detail = "message"});
    }
    // Receive time-outs are signals to oneself, not traffic: left out of the table.
    lines.push_back({.t = 1, .ev = "send", .a = 9, .b = 9, .x = 0, .detail = "timeout"});
    lines.push_back({.t = 1, .ev = "deliver", .a = 9, .b = 9, .x = 0, .detail = "timeout"});
    const std::string text = render_text(parsed(jsonl(lines)), TextOptions{.all = false, .pairs = 2});
    EXPECT_NE(text.find("... 3 more pairs (--all lists them)"), std::string::npos) << text;
    EXPECT_EQ(text.find("<0.9.0> -> <0.9.0>"), std::string::npos) << text;
    EXPECT_NE(text.find("  restarts   0\n  faults     0\n  drops      0\n"), std::string::npos)
        << text;
}

TEST(TraceText, RealTraceSummary) {
    const std::string text =
        render_text(load(std::string(BEDLAM_TRACE_DATA) + "/tree.jsonl"), TextOptions{});
    EXPECT_NE(text.find("  restarts   2: app/pool/w2 1, app/pool/w3 1\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("  faults     3: drop 1, exit 1, kill 1\n"), std::string::npos);
    EXPECT_NE(text.find("<0.9.0> app/pool/w3  exit {shutdown,chaos}\n"), std::string::npos);
    EXPECT_NE(text.find("  hash       121d2dd7b545bb41\n"), std::string::npos);
}

// == Chrome ======================================================================================

/// A strict JSON checker (RFC 8259 values), enough to tell that a Trace Event file will load.
class JsonCheck {
public:
    explicit JsonCheck(const std::string& s) : s_(s) {}
    bool valid() {
        space();
        if (!value()) {
            return false;
        }
        space();
        return k_ == s_.size();
    }

private:
    void space() {
        while (k_ < s_.size() && (s_[k_] == ' ' || s_[k_] == '\n' || s_[k_] == '\t' || s_[k_] == '\r')) {
            ++k_;
        }
    }
    bool lit(const char* w) {
        const std::string word(w);
        if (s_.compare(k_, word.size(), word) != 0) {
            return false;
        }
        k_ += word.size();
        return true;
    }
    bool string() {
        if (s_[k_] != '"') {
            return false;
        }
        for (++k_; k_ < s_.size(); ++k_) {
            const auto c = static_cast<unsigned char>(s_[k_]);
            if (c == '"') {
                ++k_;
                return true;
            }
            if (c < 0x20U) {
                return false;
            }
            if (c == '\\') {
                ++k_;
                if (k_ >= s_.size() || std::string("\"\\/bfnrtu").find(s_[k_]) == std::string::npos) {
                    return false;
                }
            }
        }
        return false;
    }
    bool number() {
        const std::size_t start = k_;
        if (s_[k_] == '-') {
            ++k_;
        }
        while (k_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[k_])) != 0 ||
                                  s_[k_] == '.' || s_[k_] == 'e' || s_[k_] == 'E' || s_[k_] == '+')) {
            ++k_;
        }
        return k_ > start;
    }
    bool value() {  // NOLINT(misc-no-recursion): JSON nests.
        if (k_ >= s_.size()) {
            return false;
        }
        const char c = s_[k_];
        if (c == '{' || c == '[') {
            const char close = c == '{' ? '}' : ']';
            ++k_;
            space();
            if (k_ < s_.size() && s_[k_] == close) {
                ++k_;
                return true;
            }
            for (;;) {
                space();
                if (c == '{') {
                    if (!string()) {
                        return false;
                    }
                    space();
                    if (k_ >= s_.size() || s_[k_] != ':') {
                        return false;
                    }
                    ++k_;
                    space();
                }
                if (!value()) {
                    return false;
                }
                space();
                if (k_ < s_.size() && s_[k_] == ',') {
                    ++k_;
                    continue;
                }
                if (k_ < s_.size() && s_[k_] == close) {
                    ++k_;
                    return true;
                }
                return false;
            }
        }
        if (c == '"') {
            return string();
        }
        if (c == 't') {
            return lit("true");
        }
        if (c == 'f') {
            return lit("false");
        }
        if (c == 'n') {
            return lit("null");
        }
        return number();
    }

    const std::string& s_;
    std::size_t k_ = 0;
};

TEST(TraceChrome, TracksSlicesAndInstants) {
    const std::string json = render_chrome(parsed(jsonl(tree_lines())));
    EXPECT_TRUE(JsonCheck(json).valid()) << json;
    EXPECT_EQ(json.rfind("{\"traceEvents\":[", 0), 0U);
    // One named track per process.
    EXPECT_NE(json.find(R"({"name":"thread_name","ph":"M","pid":1,"tid":5,"args":{"name":"app/pool/w2 <0.5.0>"}})"),
              std::string::npos)
        << json;
    EXPECT_NE(json.find(R"("tid":7,"args":{"name":"<0.7.0>"})"), std::string::npos);
    // A lifetime slice, in microseconds: w2 lived from 0 to 1500.5 ms.
    EXPECT_NE(json.find(R"({"name":"app/pool/w2","cat":"process","ph":"X","ts":0.000,"dur":1500500.000,"pid":1,"tid":5,)"),
              std::string::npos)
        << json;
    // Still alive at the end: its slice runs to the last event.
    EXPECT_NE(json.find(R"("ph":"X","ts":1500500.000,"dur":199500.000,"pid":1,"tid":8,)"),
              std::string::npos);
    EXPECT_NE(json.find(R"("exit":"alive at the end")"), std::string::npos);
    // Instants: the fault, the exit and the restart, with their reasons.
    EXPECT_NE(json.find(R"({"name":"fault kill","cat":"fault","ph":"i","s":"t","ts":1500500.000,"pid":1,"tid":5,"args":{"kind":"kill","x":1,"reason":"kill"}})"),
              std::string::npos)
        << json;
    EXPECT_NE(json.find(R"({"name":"exit {badmatch,3}","cat":"exit","ph":"i","s":"t","ts":1600000.000,"pid":1,"tid":7,"args":{"reason":"{badmatch,3}"}})"),
              std::string::npos);
    EXPECT_NE(json.find(R"({"name":"restart app/pool/w2","cat":"restart","ph":"i","s":"t","ts":1500500.000,"pid":1,"tid":8,"args":{"path":"app/pool/w2","restart":1,"previous":"<0.5.0>"}})"),
              std::string::npos);
    EXPECT_NE(json.find(R"("hash":")" + hex16(0x1000 + 21) + "\""), std::string::npos);
}

TEST(TraceChrome, OddTextStaysValidJson) {
    // A reason with quotes, a backslash, a tab, a newline and a byte that is not UTF-8.
    std::vector<Line> lines = {
        {.t = 0, .ev = "spawn", .a = 1, .b = 0, .x = 0, .detail = "a\\\"b"},
        {.t = 1, .ev = "exit", .a = 1, .b = 0, .x = 0, .reason = "x\\ty\\nz\\\\ \xff end"},
    };
    const std::string json = render_chrome(parsed(jsonl(lines)));
    EXPECT_TRUE(JsonCheck(json).valid()) << json;
    EXPECT_NE(json.find(R"("reason":"x\ty\nz\\ )" "\xef\xbf\xbd" R"( end")"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("path":"a\"b")"), std::string::npos) << json;
}

TEST(TraceChrome, RealTraceIsValidJson) {
    const std::string json = render_chrome(load(std::string(BEDLAM_TRACE_DATA) + "/tree.jsonl"));
    EXPECT_TRUE(JsonCheck(json).valid());
    EXPECT_NE(json.find(R"("name":"restart app/pool/w3")"), std::string::npos);
}

TEST(TraceChrome, EmptyTrace) {
    const std::string json = render_chrome(parsed(""));
    EXPECT_TRUE(JsonCheck(json).valid()) << json;
}

// == Dot =========================================================================================

TEST(TraceDot, SupervisionTreeWithRestartsFaultsAndState) {
    const std::string dot = render_dot(parsed(jsonl(tree_lines())));
    EXPECT_EQ(dot.rfind("digraph bedlam {\n", 0), 0U);
    EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
    EXPECT_NE(dot.find(R"("app" -> "app/pool";)"), std::string::npos) << dot;
    EXPECT_NE(dot.find(R"("app/pool" -> "app/pool/w1";)"), std::string::npos);
    EXPECT_NE(dot.find(R"("app/pool" -> "app/pool/w2";)"), std::string::npos);
    // w2: restarted once, hit by a fault, alive as <0.8.0>: orange with a red border.
    EXPECT_NE(dot.find(R"("app/pool/w2" [label="w2\n<0.8.0>\nrestarts: 1, faults: 1\nalive", )"
                       R"(style="rounded,filled", fillcolor="#ffcc80", color="#d32f2f", penwidth=2];)"),
              std::string::npos)
        << dot;
    EXPECT_NE(dot.find(R"("app" [label="app\n<0.2.0>\nrestarts: 0\nalive", style="rounded,filled"];)"),
              std::string::npos)
        << dot;
    // w1's helper (no path) is grouped under w1; the client with no named ancestor stands alone.
    EXPECT_NE(dot.find(R"("app/pool/w1 +" [label="1 process without a path\n0 alive")"),
              std::string::npos)
        << dot;
    EXPECT_NE(dot.find(R"("app/pool/w1" -> "app/pool/w1 +" [style=dotted];)"), std::string::npos);
    EXPECT_NE(dot.find(R"("<0.7.0>" [label="<0.7.0>\nexited: {badmatch,3}", shape=ellipse, )"
                       R"(style="rounded,filled,dashed"];)"),
              std::string::npos)
        << dot;
    // The root path hangs under the pid that spawned it.
    EXPECT_NE(dot.find(R"("<0.1.0>" -> "app" [style=dashed];)"), std::string::npos);
    // Braces balance, quotes pair up.
    EXPECT_EQ(std::count(dot.begin(), dot.end(), '{'), std::count(dot.begin(), dot.end(), '}'));
}

TEST(TraceDot, AncestorsWithoutAProcessAndGivingUp) {
    const std::vector<Line> lines = {
        {.t = 0, .ev = "spawn", .a = 1, .b = 0, .x = 0, .detail = "top/sup"},
        {.t = 0, .ev = "spawn", .a = 2, .b = 1, .x = 0, .detail = R"(top/sup/\"q\")"},
        {.t = 5, .ev = "report", .a = 1, .b = 0, .x = 2, .detail = "reached_max_restart_intensity"},
        {.t = 5, .ev = "exit", .a = 1, .b = 0, .x = 0, .reason = "shutdown"},
    };
    const std::string dot = render_dot(parsed(jsonl(lines)));
    EXPECT_NE(dot.find(R"x("top" [label="top\n(no process)", style="rounded,dashed"];)x"),
              std::string::npos)
        << dot;
    EXPECT_NE(dot.find(R"("top" -> "top/sup";)"), std::string::npos);
    EXPECT_NE(dot.find(R"("top/sup/\"q\"" [label="\"q\"\n<0.2.0>)"), std::string::npos) << dot;
    EXPECT_NE(dot.find(R"(exited: shutdown\ngave up: reached_max_restart_intensity")"),
              std::string::npos)
        << dot;
}

TEST(TraceDot, RealTraceRestartCounts) {
    const std::string dot = render_dot(load(std::string(BEDLAM_TRACE_DATA) + "/tree.jsonl"));
    EXPECT_NE(dot.find(R"("app/pool/w3" [label="w3\n<0.11.0>\nrestarts: 1, faults: 1\nalive")"),
              std::string::npos)
        << dot;
    EXPECT_NE(dot.find(R"("app/pool/w1" [label="w1\n<0.7.0>\nrestarts: 0, faults: 1\nalive")"),
              std::string::npos);
}

// == Diff ========================================================================================

TEST(TraceDiff, Identical) {
    const Trace a = parsed(jsonl(tree_lines()), "a.jsonl");
    const Trace b = parsed(jsonl(tree_lines()), "b.jsonl");
    const DiffResult d = diff(a, b, 3);
    EXPECT_EQ(d.kind, DiffResult::Kind::identical);
    EXPECT_EQ(d.report, "identical: 22 events, hash=" + hex16(0x1000 + 21) + "\n");
}

TEST(TraceDiff, EmptyTracesAreIdentical) {
    const DiffResult d = diff(parsed(""), parsed(""), 3);
    EXPECT_EQ(d.kind, DiffResult::Kind::identical);
    EXPECT_EQ(d.report, "identical: 0 events, hash=cbf29ce484222325\n");
}

TEST(TraceDiff, FirstDivergenceWithContext) {
    std::vector<Line> other = tree_lines();
    other[15].reason = "{shutdown,chaos}";
    const Trace a = parsed(jsonl(tree_lines()), "a.jsonl");
    const Trace b = parsed(jsonl(other), "b.jsonl");
    const DiffResult d = diff(a, b, 2);
    EXPECT_EQ(d.kind, DiffResult::Kind::differ);
    EXPECT_EQ(d.index, 15U);
    const std::string expected =
        "A: a.jsonl (22 events, hash=" + hex16(0x1000 + 21) + ")\n"
        "B: b.jsonl (22 events, hash=" + hex16(0x1000 + 21) + ")\n"
        "first difference at event 15 (line 16 of A, 16 of B): they differ in reason\n"
        "before (both):\n"
        "       13     2.000ms  <0.7.0>  drop #2 to <0.4.0> app/pool/w1: interposer\n"
        "       14  1500.500ms  <0.5.0> app/pool/w2  fault kill: kill\n"
        "diverging:\n"
        "A      15  1500.500ms  <0.5.0> app/pool/w2  exit killed\n"
        "B      15  1500.500ms  <0.5.0> app/pool/w2  exit {shutdown,chaos}\n"
        "then in A:\n"
        "       16  1500.500ms  <0.5.0> app/pool/w2  DOWN to <0.7.0> (ref 1): killed\n"
        "       17  1500.500ms  <0.3.0> app/pool  report child_terminated <0.5.0> app/pool/w2 "
        "(w2): killed\n"
        "then in B:\n"
        "       16  1500.500ms  <0.5.0> app/pool/w2  DOWN to <0.7.0> (ref 1): killed\n"
        "       17  1500.500ms  <0.3.0> app/pool  report child_terminated <0.5.0> app/pool/w2 "
        "(w2): killed\n";
    EXPECT_EQ(d.report, expected);
}

TEST(TraceDiff, TheHashAloneCanDiffer) {
    // Same fields, different running hash from the first event on (as two reasons of different
    // kinds with the same text would give).
    const Trace a = parsed(jsonl(tree_lines(), 0x1000), "a.jsonl");
    const Trace b = parsed(jsonl(tree_lines(), 0x2000), "b.jsonl");
    const DiffResult d = diff(a, b, 3);
    EXPECT_EQ(d.kind, DiffResult::Kind::differ);
    EXPECT_EQ(d.index, 0U);
    EXPECT_NE(d.report.find("the same fields but a different hash"), std::string::npos) << d.report;
    EXPECT_EQ(d.report.find("before (both)"), std::string::npos);
}

TEST(TraceDiff, PrefixEitherWay) {
    std::vector<Line> shorter = tree_lines();
    shorter.resize(10);
    const Trace full = parsed(jsonl(tree_lines()), "full.jsonl");
    const Trace part = parsed(jsonl(shorter), "part.jsonl");
    const DiffResult ab = diff(part, full, 1);
    EXPECT_EQ(ab.kind, DiffResult::Kind::a_prefix_of_b);
    EXPECT_EQ(ab.index, 10U);
    EXPECT_NE(ab.report.find("A is a prefix of B: they agree on all 10 events of A, then B goes on "
                             "for 12 more\n"),
              std::string::npos)
        << ab.report;
    EXPECT_NE(ab.report.find("A ends; then in B:\nB      10     1.000ms  <0.4.0> app/pool/w1  "
                             "deliver message #1 from <0.7.0>\n"),
              std::string::npos)
        << ab.report;
    const DiffResult ba = diff(full, part, 1);
    EXPECT_EQ(ba.kind, DiffResult::Kind::b_prefix_of_a);
    EXPECT_NE(ba.report.find("B is a prefix of A"), std::string::npos);
    const DiffResult empty = diff(parsed(""), full, 3);
    EXPECT_EQ(empty.kind, DiffResult::Kind::a_prefix_of_b);
    EXPECT_EQ(empty.index, 0U);
}

TEST(TraceDiff, RealTracesDivergeWhereTheKillMoved) {
    const Trace a = load(std::string(BEDLAM_TRACE_DATA) + "/tree.jsonl");
    const Trace b = load(std::string(BEDLAM_TRACE_DATA) + "/tree_kill12.jsonl");
    const DiffResult d = diff(a, b, 3);
    EXPECT_EQ(d.kind, DiffResult::Kind::differ);
    EXPECT_EQ(d.index, 55U);
    EXPECT_NE(d.report.find("A      55    10.000ms  <0.8.0> app/pool/w2  fault kill: kill\n"),
              std::string::npos)
        << d.report;
    // The hash is where they part too.
    EXPECT_EQ(a.events[54].h, b.events[54].h);
    EXPECT_NE(a.events[55].h, b.events[55].h);
}

}  // namespace
}  // namespace bedlam::cli::trace
