// Trace hashing and the JSON-lines writer (docs/trace-format.md).
#include "bedlam/runtime/trace.hpp"

#include <charconv>
#include <ostream>
#include <string>

namespace bedlam {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void put(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    static_cast<void>(ec);
    out.append(buf, end);
}

void put_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
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
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += "\\u00";
                    out += hex_digits[(static_cast<unsigned char>(c) >> 4U) & 0xfU];
                    out += hex_digits[static_cast<unsigned char>(c) & 0xfU];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

void append_hash_text(std::string& out, std::uint64_t hash) {
    for (int shift = 60; shift >= 0; shift -= 4) {
        out += hex_digits[(hash >> static_cast<unsigned>(shift)) & 0xfU];
    }
}

}  // namespace

std::string hash_text(std::uint64_t hash) {
    std::string out;
    out.reserve(16);
    append_hash_text(out, hash);
    return out;
}

// Formats the line into a buffer and writes it once: writing field by field through the stream
// cost several times more.
void Trace::write_json(Ticks time, const TraceEvent& event) {
    std::string line;
    line.reserve(160);
    line += "{\"i\":";
    put(line, events_);
    line += ",\"t\":";
    put(line, static_cast<std::uint64_t>(time));
    line += ",\"ev\":\"";
    line += to_string(event.kind);
    line += "\",\"a\":";
    put(line, event.a.id);
    line += ",\"b\":";
    put(line, event.b.id);
    line += ",\"x\":";
    put(line, event.x);
    if (event.reason != nullptr) {
        line += ",\"reason\":";
        put_json_string(line, event.reason->to_string());
    }
    if (event.detail != nullptr && *event.detail != '\0') {
        line += ",\"detail\":";
        put_json_string(line, event.detail);
    }
    line += ",\"h\":\"";
    append_hash_text(line, hash_);
    line += "\"}\n";
    out_->write(line.data(), static_cast<std::streamsize>(line.size()));
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
        case TraceKind::report:
            return "report";
    }
    return "?";
}

}  // namespace bedlam
