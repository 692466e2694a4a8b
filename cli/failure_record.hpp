// Failure records: the small `key=value` files `bedlam check` writes for each failing seed and
// `bedlam replay` and `bedlam shrink` read back (docs/cli.md). The first line is a fixed header,
// so that a record and a scenario file can be told apart. No dependency on the runtime.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace bedlam::cli {

struct FailureRecord {
    std::string file;  // The scenario file.
    std::uint64_t seed = 0;
    bool swarm = false;
    std::string policy;  // Empty: the scenario's own.
    std::string hash;    // 16 hex digits, as the run printed it.
    std::vector<std::string> failures;  // What failed, one line each (for a person to read).
};

/// The first line of every record.
inline constexpr const char* record_header =
    "# bedlam failure record: replay with `bedlam replay <this file>`";

/// The record as `bedlam check` writes it; parse_record reads it back to the same record.
std::string record_text(const FailureRecord& record);

/// Reads a record from `in`; nullopt if the text does not begin with record_header (it is not a
/// record: a scenario file, say). A record that is malformed throws std::invalid_argument naming
/// the place, `name:line: what is wrong`; one without `file=` or `hash=` throws too.
std::optional<FailureRecord> parse_record(std::istream& in, const std::string& name);

}  // namespace bedlam::cli
