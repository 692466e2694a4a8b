// detail::FlatMap64 against std::map under random inserts, assigns and erases: the same contents
// after every operation, and an iteration order that depends only on the operations.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "bedlam/runtime/flat_map.hpp"
#include "bedlam/runtime/rng.hpp"

namespace bedlam {
namespace {

using detail::FlatMap64;

std::vector<std::uint64_t> keys_in_order(const FlatMap64<std::uint64_t>& map) {
    std::vector<std::uint64_t> keys;
    map.for_each([&](std::uint64_t key, std::uint64_t /*value*/) { keys.push_back(key); });
    return keys;
}

/// Runs `ops` random operations with keys below `key_range`, checking against std::map.
FlatMap64<std::uint64_t> exercise(std::uint64_t seed, int ops, std::uint64_t key_range) {
    Rng rng(seed);
    FlatMap64<std::uint64_t> map;
    std::map<std::uint64_t, std::uint64_t> model;
    for (int op = 0; op < ops; ++op) {
        const std::uint64_t key = 1 + rng.below(key_range);
        const std::uint64_t value = rng.next();
        switch (rng.below(4)) {
            case 0:
                EXPECT_EQ(map.insert(key, value), model.emplace(key, value).second) << op;
                break;
            case 1:
                map.assign(key, value);
                model[key] = value;
                break;
            default: {
                std::uint64_t out = 0;
                const bool erased = map.erase(key, &out);
                auto it = model.find(key);
                EXPECT_EQ(erased, it != model.end()) << op;
                if (erased) {
                    EXPECT_EQ(out, it->second);
                    model.erase(it);
                }
            }
        }
        EXPECT_EQ(map.size(), model.size());
        // Every key the model holds is found with its value; a neighbour absent is not.
        for (const auto& [k, v] : model) {
            const std::uint64_t* found = map.find(k);
            if (found == nullptr || *found != v) {
                ADD_FAILURE() << "op " << op << ": key " << k << " lost or wrong";
                return map;
            }
        }
        if (!model.contains(key)) {
            EXPECT_FALSE(map.contains(key));
        }
    }
    return map;
}

TEST(FlatMap64, MatchesStdMapUnderRandomOperations) {
    exercise(1, 4000, 64);     // Dense: long probe runs, many backward shifts.
    exercise(2, 4000, 5000);   // Sparse: growth to hundreds of entries.
}

TEST(FlatMap64, IterationOrderDependsOnlyOnTheOperations) {
    const FlatMap64<std::uint64_t> a = exercise(3, 2000, 300);
    const FlatMap64<std::uint64_t> b = exercise(3, 2000, 300);
    EXPECT_FALSE(a.empty());
    EXPECT_EQ(keys_in_order(a), keys_in_order(b));
}

// The first entry lives in the map itself: a move must carry it over (not a pointer into the
// moved-from map), and the map must grow out of it and keep every entry.
TEST(FlatMap64, MovesKeepTheEntryHeldInline) {
    FlatMap64<std::uint64_t> one;
    ASSERT_TRUE(one.insert(7, 70));
    FlatMap64<std::uint64_t> moved(std::move(one));
    EXPECT_TRUE(one.empty());  // NOLINT(bugprone-use-after-move): moved-from maps are empty.
    EXPECT_FALSE(one.contains(7));
    ASSERT_TRUE(one.insert(9, 90));  // Reuses its own inline slots, which `moved` must not share.
    EXPECT_FALSE(moved.contains(9));
    ASSERT_NE(moved.find(7), nullptr);
    EXPECT_EQ(*moved.find(7), 70U);

    FlatMap64<std::uint64_t> assigned;
    ASSERT_TRUE(assigned.insert(1, 10));
    assigned = std::move(moved);
    EXPECT_FALSE(assigned.contains(1));
    ASSERT_NE(assigned.find(7), nullptr);
    for (std::uint64_t k = 8; k < 40; ++k) {  // Grows out of the inline slots.
        ASSERT_TRUE(assigned.insert(k, k * 10));
    }
    EXPECT_EQ(assigned.size(), 33U);
    for (std::uint64_t k = 7; k < 40; ++k) {
        ASSERT_NE(assigned.find(k), nullptr) << k;
        EXPECT_EQ(*assigned.find(k), k * 10);
    }
    FlatMap64<std::uint64_t> big(std::move(assigned));
    EXPECT_EQ(big.size(), 33U);
    EXPECT_TRUE(big.erase(7));
    EXPECT_FALSE(big.contains(7));
}

}  // namespace
}  // namespace bedlam
