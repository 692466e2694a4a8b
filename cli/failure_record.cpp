#include "failure_record.hpp"

#include <charconv>
#include <istream>
#include <sstream>
#include <stdexcept>

namespace bedlam::cli {

std::string record_text(const FailureRecord& record) {
    std::ostringstream out;
    out << record_header << '\n'
        << "file=" << record.file << '\n'
        << "seed=" << record.seed << '\n'
        << "swarm=" << (record.swarm ? "true" : "false") << '\n'
        << "policy=" << record.policy << '\n'
        << "hash=" << record.hash << '\n';
    for (const std::string& f : record.failures) {
        out << "failure=" << f << '\n';
    }
    return out.str();
}

std::optional<FailureRecord> parse_record(std::istream& in, const std::string& name) {
    std::string line;
    if (!std::getline(in, line) || line != record_header) {
        return std::nullopt;
    }
    FailureRecord r;
    std::size_t n = 1;
    auto fail = [&](const std::string& what) {
        throw std::invalid_argument(name + ":" + std::to_string(n) + ": " + what);
    };
    while (std::getline(in, line)) {
        ++n;
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const std::size_t eq = line.find('=');
        if (eq == std::string::npos) {
            fail("expected key=value, got '" + line + "'");
        }
        const std::string key = line.substr(0, eq);
        std::string value = line.substr(eq + 1);
        if (key == "file") {
            r.file = std::move(value);
        } else if (key == "seed") {
            // Digits only: std::stoull would also take a sign, blanks and trailing junk.
            const char* end = value.data() + value.size();
            const auto [rest, ec] = std::from_chars(value.data(), end, r.seed);
            if (value.empty() || ec != std::errc() || rest != end) {
                fail("seed: expected a number below 2^64, got '" + value + "'");
            }
        } else if (key == "swarm") {
            if (value != "true" && value != "false") {
                fail("swarm: expected true or false, got '" + value + "'");
            }
            r.swarm = value == "true";
        } else if (key == "policy") {
            r.policy = std::move(value);
        } else if (key == "hash") {
            r.hash = std::move(value);
        } else if (key == "failure") {
            r.failures.push_back(std::move(value));
        } else {
            fail("unknown key '" + key + "' (file, seed, swarm, policy, hash, failure)");
        }
    }
    if (r.file.empty() || r.hash.empty()) {
        throw std::invalid_argument(name + ": a failure record needs file= and hash= lines");
    }
    return r;
}

}  // namespace bedlam::cli
