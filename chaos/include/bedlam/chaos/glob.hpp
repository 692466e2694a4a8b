// Supervision path globs: `app/pool/*` matches every child of app/pool; `*` matches any run of
// characters within one segment, `**` (a whole segment) any number of segments, including none.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bedlam::chaos {

/// Whether `path` matches `glob`.
bool glob_match(std::string_view glob, std::string_view path) noexcept;

/// Why `glob` is malformed (empty, an empty segment, `**` inside a segment), or nullopt.
std::optional<std::string> glob_error(std::string_view glob);

}  // namespace bedlam::chaos
