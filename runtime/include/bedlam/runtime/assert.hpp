// Always-on assertions. A failed assertion is a bug in bedlam, never a process crash: it prints
// the expression, its location and, when a simulation is running on this thread, the run's seed,
// then aborts.
#pragma once

#include <cstdint>

namespace bedlam::detail {

[[noreturn]] void assert_failed(const char* expr, const char* file, int line) noexcept;
[[noreturn]] void assert_failed_eq(const char* expr, std::uint64_t lhs, std::uint64_t rhs,
                                   const char* file, int line) noexcept;

}  // namespace bedlam::detail

#define BEDLAM_ASSERT(cond)                         \
    (static_cast<bool>(cond) ? static_cast<void>(0) \
                             : ::bedlam::detail::assert_failed(#cond, __FILE__, __LINE__))

#define BEDLAM_ASSERT_EQ(a, b)                                                              \
    ((a) == (b) ? static_cast<void>(0)                                                      \
                : ::bedlam::detail::assert_failed_eq(#a " == " #b,                          \
                                                     static_cast<std::uint64_t>(a),         \
                                                     static_cast<std::uint64_t>(b), __FILE__, \
                                                     __LINE__))

#if defined(BEDLAM_SLOW_CHECKS)
#define BEDLAM_ASSERT_SLOW(cond) BEDLAM_ASSERT(cond)
#else
#define BEDLAM_ASSERT_SLOW(cond) static_cast<void>(0)
#endif
