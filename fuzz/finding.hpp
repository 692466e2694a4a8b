// How a fuzz target reports what it found: it prints the finding and aborts, which libFuzzer
// treats as a crash (it saves the input) and which fails a regression test.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace bedlam::fuzz {

/// Prints `FINDING: <what>` on stderr and aborts.
[[noreturn]] inline void finding(const std::string& what) {
    std::fprintf(stderr, "FINDING: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

/// A finding unless `ok`.
inline void require(bool ok, const std::string& what) {
    if (!ok) {
        finding(what);
    }
}

/// A rejection of bad input must say where it is: its message starts with `file:` and goes on
/// (`file:LINE:COLUMN: what is wrong`, or `file: what is wrong` for the input as a whole).
inline void require_place(const std::string& message, const std::string& file) {
    require(message.starts_with(file + ":") && message.size() > file.size() + 2,
            "a rejection does not name its place in " + file + ": '" + message + "'");
}

}  // namespace bedlam::fuzz
