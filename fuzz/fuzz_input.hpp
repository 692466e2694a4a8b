// Turns a fuzzer's input bytes into choices (TigerBeetle's and Seastar's fuzzers decode their
// input the same way): a number in a range, a flag, one item of a list. Each choice takes one
// byte, or two when its range needs them, from the front; once the bytes run out every choice is
// its lowest value, so a short input is a small case, and a mutation of one byte changes one
// choice. Used by the schedule fuzzer (schedule_fuzz.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "bedlam/runtime/assert.hpp"

namespace bedlam::fuzz {

class FuzzInput {
public:
    explicit FuzzInput(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

    [[nodiscard]] bool empty() const noexcept { return next_ >= bytes_.size(); }
    /// The bytes not read yet.
    [[nodiscard]] std::span<const std::uint8_t> rest() const noexcept {
        return bytes_.subspan(next_ < bytes_.size() ? next_ : bytes_.size());
    }

    /// The next byte, 0 once the input is used up.
    std::uint8_t byte() noexcept { return next_ < bytes_.size() ? bytes_[next_++] : 0; }

    /// A number in [lo, hi]: one byte for ranges of up to 256 values, else two.
    std::uint64_t in_range(std::uint64_t lo, std::uint64_t hi) noexcept {
        BEDLAM_ASSERT(lo <= hi);
        const std::uint64_t span = hi - lo + 1;
        std::uint64_t raw = byte();
        if (span > 256) {
            raw = raw << 8U | byte();
        }
        return lo + raw % span;
    }

    /// An int in [lo, hi].
    int in_range_int(int lo, int hi) noexcept {
        BEDLAM_ASSERT(lo <= hi);
        return lo + static_cast<int>(in_range(0, static_cast<std::uint64_t>(hi - lo)));
    }

    bool flag() noexcept { return (byte() & 1U) != 0; }

    /// One of `items`.
    template <typename T, std::size_t N>
    const T& pick(const T (&items)[N]) noexcept {
        return items[in_range(0, N - 1)];
    }

private:
    std::span<const std::uint8_t> bytes_;
    std::size_t next_ = 0;
};

}  // namespace bedlam::fuzz
