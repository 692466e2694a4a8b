#include "bedlam/chaos/glob.hpp"

#include <vector>

namespace bedlam::chaos {

namespace {

std::vector<std::string_view> split(std::string_view s) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = s.find('/', start);
        if (slash == std::string_view::npos) {
            parts.push_back(s.substr(start));
            return parts;
        }
        parts.push_back(s.substr(start, slash - start));
        start = slash + 1;
    }
}

/// One segment against a pattern where `*` matches any run of characters.
bool segment_match(std::string_view pattern, std::string_view text) noexcept {
    std::size_t p = 0;
    std::size_t t = 0;
    std::size_t star = std::string_view::npos;  // Last `*` seen in the pattern.
    std::size_t resume = 0;                     // Where in the text that `*` resumes.
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = t;
        } else if (p < pattern.size() && pattern[p] == text[t]) {
            ++p;
            ++t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

bool match_from(const std::vector<std::string_view>& glob, std::size_t g,
                const std::vector<std::string_view>& path, std::size_t p) noexcept {
    if (g == glob.size()) {
        return p == path.size();
    }
    if (glob[g] == "**") {
        for (std::size_t skip = p; skip <= path.size(); ++skip) {
            if (match_from(glob, g + 1, path, skip)) {
                return true;
            }
        }
        return false;
    }
    return p < path.size() && segment_match(glob[g], path[p]) &&
           match_from(glob, g + 1, path, p + 1);
}

}  // namespace

bool glob_match(std::string_view glob, std::string_view path) noexcept {
    if (path.empty()) {
        return false;  // A process outside the tree matches no path glob.
    }
    return match_from(split(glob), 0, split(path), 0);
}

std::optional<std::string> glob_error(std::string_view glob) {
    if (glob.empty()) {
        return "an empty path glob";
    }
    for (std::string_view segment : split(glob)) {
        if (segment.empty()) {
            return "an empty segment in '" + std::string(glob) + "' (a leading, trailing or double '/')";
        }
        if (segment != "**" && segment.find("**") != std::string_view::npos) {
            return "'**' must be a whole segment in '" + std::string(glob) + "'";
        }
    }
    return std::nullopt;
}

}  // namespace bedlam::chaos
