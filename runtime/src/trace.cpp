// Trace hashing and the JSON-lines writer (docs/trace-format.md).
#include "bedlam/runtime/trace.hpp"

#include <ostream>

namespace bedlam {

namespace {

void write_json_string(std::ostream& out, std::string_view s) {
    out << '"';
    for (const char c : s) {
        switch (c) {
            case '"':
                out << "\\\"";
                break;
            case '\\':
                out << "\\\\";
                break;
            case '\n':
                out << "\\n";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    static constexpr char hex[] = "0123456789abcdef";
                    out << "\\u00" << hex[(c >> 4) & 0xf] << hex[c & 0xf];
                } else {
                    out << c;
                }
        }
    }
    out << '"';
}

}  // namespace

void Trace::record(Ticks time, const TraceEvent& event) {
    // The fold is defined in docs/trace-format.md: each word w updates h = mix64(h ^ w).
    std::uint64_t h = hash_;
    h = mix64(h ^ static_cast<std::uint64_t>(event.kind));
    h = mix64(h ^ static_cast<std::uint64_t>(time));
    h = mix64(h ^ event.a.id);
    h = mix64(h ^ event.b.id);
    h = mix64(h ^ event.x);
    if (event.reason != nullptr) {
        h = mix64(h ^ event.reason->digest());
    }
    hash_ = h;
    if (out_ != nullptr) {
        std::ostream& out = *out_;
        out << "{\"i\":" << events_ << ",\"t\":" << time << ",\"ev\":\"" << to_string(event.kind)
            << "\",\"a\":" << event.a.id << ",\"b\":" << event.b.id << ",\"x\":" << event.x;
        if (event.reason != nullptr) {
            out << ",\"reason\":";
            write_json_string(out, event.reason->to_string());
        }
        if (!event.detail.empty()) {
            out << ",\"detail\":";
            write_json_string(out, event.detail);
        }
        out << ",\"h\":\"";
        static constexpr char hex[] = "0123456789abcdef";
        for (int shift = 60; shift >= 0; shift -= 4) {
            out << hex[(h >> static_cast<unsigned>(shift)) & 0xfU];
        }
        out << "\"}\n";
    }
    ++events_;
}

const char* to_string(TraceKind kind) noexcept {
    switch (kind) {
        case TraceKind::spawn:
            return "spawn";
        case TraceKind::send:
            return "send";
        case TraceKind::deliver:
            return "deliver";
        case TraceKind::drop:
            return "drop";
        case TraceKind::exit:
            return "exit";
        case TraceKind::link:
            return "link";
        case TraceKind::unlink:
            return "unlink";
        case TraceKind::monitor:
            return "monitor";
        case TraceKind::demonitor:
            return "demonitor";
        case TraceKind::down:
            return "down";
        case TraceKind::timer:
            return "timer";
        case TraceKind::timeout:
            return "timeout";
        case TraceKind::fault:
            return "fault";
    }
    return "?";
}

}  // namespace bedlam
