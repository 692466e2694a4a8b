// The simulator's only source of randomness: xoshiro256** (Blackman and Vigna), seeded from one
// 64-bit seed through splitmix64, with bedlam's own range reduction, so that the same seed draws
// the same numbers with every compiler and standard library.
#pragma once

#include <cstdint>

#include "bedlam/runtime/assert.hpp"

namespace bedlam {

__extension__ using U128 = unsigned __int128;

class Rng {
public:
    explicit Rng(std::uint64_t seed) noexcept {
        std::uint64_t x = seed;
        for (auto& s : s_) {
            x += 0x9e3779b97f4a7c15ULL;
            std::uint64_t z = x;
            z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
            s = z ^ (z >> 31U);
        }
    }

    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17U;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    /// A uniform integer in [0, n), by Lemire's multiply-shift with rejection (no modulo bias).
    std::uint64_t below(std::uint64_t n) noexcept {
        BEDLAM_ASSERT(n > 0);
        for (;;) {
            const std::uint64_t x = next();
            const U128 m = static_cast<U128>(x) * n;
            const auto low = static_cast<std::uint64_t>(m);
            if (low >= n || low >= (0 - n) % n) {
                return static_cast<std::uint64_t>(m >> 64U);
            }
        }
    }

    /// True with probability numerator/denominator, in integers.
    bool chance(std::uint64_t numerator, std::uint64_t denominator) noexcept {
        BEDLAM_ASSERT(denominator > 0);
        return below(denominator) < numerator;
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept {
        return (x << static_cast<unsigned>(k)) | (x >> static_cast<unsigned>(64 - k));
    }

    std::uint64_t s_[4]{};
};

}  // namespace bedlam
