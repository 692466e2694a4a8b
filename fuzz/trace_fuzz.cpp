// Fuzz target: arbitrary bytes as a JSON-lines trace (docs/trace-format.md), the input of
// `bedlam trace`, `bedlam diff` and `bedlam replay --trace`'s readers (cli/trace_tools.hpp). The
// parser must reject bad input with a TraceError naming the place (`fuzz.jsonl:LINE: ...` or
// `fuzz.jsonl: ...`), never crash, hang, leak or throw anything else. What it accepts must go
// through everything `bedlam trace` and `bedlam diff` do with a trace: the timeline (all events
// and the summary), the Chrome/Perfetto JSON and the Graphviz tree render, a trace is identical
// to itself, and its first half is a prefix of it.
//
// Seeds: cli/test/data/; dictionary: fuzz/dict/trace.dict.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "finding.hpp"
#include "trace_tools.hpp"

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace trace = bedlam::cli::trace;
    using bedlam::fuzz::require;
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    trace::Trace t;
    try {
        t = trace::parse(in, "fuzz.jsonl");
    } catch (const trace::TraceError& e) {
        bedlam::fuzz::require_place(e.what(), "fuzz.jsonl");
        return 0;
    }
    const trace::Names names(t);
    for (const trace::Event& e : t.events) {
        (void)trace::format_event(e, names);
    }
    (void)trace::render_text(t, trace::TextOptions{});
    trace::TextOptions all;
    all.all = true;
    (void)trace::render_text(t, all);
    (void)trace::render_chrome(t);
    (void)trace::render_dot(t);

    const trace::DiffResult same = trace::diff(t, t, 3);
    require(same.kind == trace::DiffResult::Kind::identical,
            "a trace differs from itself:\n" + same.report);
    if (!t.events.empty()) {
        trace::Trace half = t;
        half.events.resize(t.events.size() / 2);
        const trace::DiffResult prefix = trace::diff(half, t, 3);
        require(prefix.kind == trace::DiffResult::Kind::a_prefix_of_b &&
                    prefix.index == half.events.size(),
                "the first half of a trace is not a prefix of it:\n" + prefix.report);
    }
    return 0;
}
