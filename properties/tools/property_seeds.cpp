// property_seeds: runs the property suites' seeded cases (see seeded.hpp) for a range of seeds and
// prints one line per seed and a last line with a hash over all of them:
//
//   seed=7 model=<16 hex> chaos=<16 hex> verdict=pass
//   seeds=1..50 hash=<16 hex> failed=0
//
// Two builds that print the same lines run the same cases bit for bit. Exit status: 0 all
// passed, 1 a case failed, 2 bad arguments.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "bedlam/properties/seeded.hpp"
#include "bedlam/runtime/trace.hpp"

namespace {

bool parse(std::string_view text, std::uint64_t* out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
    return ec == std::errc() && end == text.data() + text.size();
}

int usage(const std::string& problem) {
    std::fprintf(stderr,
                 "property_seeds: %s\nusage: property_seeds [--from N] [--count N]  (defaults: "
                 "--from 1 --count 200)\n",
                 problem.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t from = 1;
    std::uint64_t count = 200;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        std::uint64_t* target = arg == "--from" ? &from : arg == "--count" ? &count : nullptr;
        if (target == nullptr) {
            return usage("unknown argument '" + std::string(arg) + "'");
        }
        if (i + 1 >= argc) {
            return usage(std::string(arg) + " needs a number");
        }
        const std::string_view value = argv[++i];
        if (!parse(value, target)) {
            return usage(std::string(arg) + ": expected a non-negative integer, got '" +
                         std::string(value) + "'");
        }
    }
    std::uint64_t combined = 0xcbf29ce484222325ULL;  // FNV-1a over the per-seed hashes.
    auto mix = [&combined](std::uint64_t v) {
        for (int b = 0; b < 8; ++b, v >>= 8) {
            combined = (combined ^ (v & 0xff)) * 0x100000001b3ULL;
        }
    };
    int failed = 0;
    for (std::uint64_t seed = from; seed < from + count; ++seed) {
        const bedlam::properties::SeedCase c = bedlam::properties::run_seed(seed);
        mix(c.model_hash);
        mix(c.chaos_hash);
        std::printf("seed=%llu model=%s chaos=%s verdict=%s%s%s\n",
                    static_cast<unsigned long long>(seed), bedlam::hash_text(c.model_hash).c_str(),
                    bedlam::hash_text(c.chaos_hash).c_str(), c.pass ? "pass" : "fail",
                    c.pass ? "" : " # ", c.failure.c_str());
        failed += c.pass ? 0 : 1;
    }
    std::printf("seeds=%llu..%llu hash=%s failed=%d\n", static_cast<unsigned long long>(from),
                static_cast<unsigned long long>(from + count - 1), bedlam::hash_text(combined).c_str(), failed);
    return failed == 0 ? 0 : 1;
}
