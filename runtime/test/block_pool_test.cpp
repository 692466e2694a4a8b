// The small-block pool (block_pool.hpp): blocks are reused on the thread that freed them, a
// thread's excess reaches other threads through the depot, an ending thread leaves what it holds
// there, and blocks of every class are aligned and disjoint. Sanitizer builds bypass the pool, so
// these cases skip there. Each case uses a size of its own, which nothing else allocates, so that
// the process-wide depot holds nothing of that size when it starts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "bedlam/runtime/block_pool.hpp"

namespace bedlam::detail {
namespace {

#if BEDLAM_BLOCK_POOL
constexpr bool pooled = true;
#else
constexpr bool pooled = false;
#endif

// Sizes no other part of the runtime allocates (multiples of the pool's 16-byte classes).
constexpr std::size_t reuse_size = 2000;
constexpr std::size_t depot_size = 1968;
constexpr std::size_t ending_size = 1936;
// The pool's per-thread cap for depot_size: 256 KiB of such blocks.
constexpr std::size_t cap_blocks = 256 * 1024 / depot_size;

std::vector<void*> allocate(std::size_t n, std::size_t bytes) {
    std::vector<void*> out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(pool_allocate(bytes));
    }
    return out;
}

void deallocate(const std::vector<void*>& blocks, std::size_t bytes) {
    for (void* b : blocks) {
        pool_deallocate(b, bytes);
    }
}

TEST(BlockPool, AFreedBlockIsTheNextOneHandedOutOnItsThread) {
    if (!pooled) {
        GTEST_SKIP() << "sanitizer build: the pool is bypassed";
    }
    void* a = pool_allocate(reuse_size);
    void* b = pool_allocate(reuse_size);
    pool_deallocate(a, reuse_size);
    EXPECT_EQ(pool_allocate(reuse_size), a);
    pool_deallocate(a, reuse_size);
    pool_deallocate(b, reuse_size);
}

TEST(BlockPool, BlocksOfEveryClassAreAlignedAndDisjoint) {
    // 16-byte alignment (as operator new gives), and no two live blocks overlap: each is filled
    // with its own byte and checked after all the others were written.
    std::vector<std::pair<unsigned char*, std::size_t>> live;
    for (std::size_t bytes = 1; bytes <= pool_max_bytes; bytes += 7) {
        for (int i = 0; i < 3; ++i) {
            auto* p = static_cast<unsigned char*>(pool_allocate(bytes));
            EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0U) << bytes << " bytes";
            live.emplace_back(p, bytes);
        }
    }
    for (std::size_t i = 0; i < live.size(); ++i) {
        std::memset(live[i].first, static_cast<int>(i & 0xff), live[i].second);
    }
    for (std::size_t i = 0; i < live.size(); ++i) {
        const auto [p, n] = live[i];
        EXPECT_TRUE(std::all_of(p, p + n, [&](unsigned char c) { return c == (i & 0xff); }))
            << "block " << i << " of " << n << " bytes was overwritten";
    }
    for (const auto& [p, n] : live) {
        pool_deallocate(p, n);
    }
}

TEST(BlockPool, AThreadsExcessReachesAnotherThreadThroughTheDepot) {
    if (!pooled) {
        GTEST_SKIP() << "sanitizer build: the pool is bypassed";
    }
    // The freeing thread keeps its cap and passes the rest on in batches; the other thread, with
    // nothing of its own, takes a batch instead of new memory.
    std::vector<void*> freed;
    std::thread freer([&] {
        freed = allocate(3 * cap_blocks, depot_size);
        deallocate(freed, depot_size);
    });
    freer.join();
    std::vector<void*> taken;
    std::thread taker([&] {
        taken = allocate(cap_blocks, depot_size);
        deallocate(taken, depot_size);
    });
    taker.join();
    const std::set<void*> from_freer(freed.begin(), freed.end());
    const auto reused = std::count_if(taken.begin(), taken.end(),
                                      [&](void* p) { return from_freer.count(p) != 0; });
    EXPECT_EQ(static_cast<std::size_t>(reused), taken.size());
}

TEST(BlockPool, AnEndingThreadLeavesItsBlocksToOthers) {
    if (!pooled) {
        GTEST_SKIP() << "sanitizer build: the pool is bypassed";
    }
    // Fewer than a batch, kept on the thread's own list until it ends, then left loose in the
    // depot, freed blocks first; the uncut rest of its chunk goes with them.
    std::vector<void*> kept;
    std::thread ending([&] {
        kept = allocate(5, ending_size);
        deallocate(kept, ending_size);
    });
    ending.join();
    std::vector<void*> taken;
    std::thread next([&] {
        taken = allocate(5 + 20, ending_size);
        deallocate(taken, ending_size);
    });
    next.join();
    const std::set<void*> from_ended(kept.begin(), kept.end());
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(from_ended.count(taken[i]), 1U) << "block " << i << " is not one it freed";
    }
    // The next 20 are the blocks its chunk had not cut yet, in address order: blocks are cut
    // from one chunk back to back, with no malloc header between them.
    const auto base = reinterpret_cast<std::uintptr_t>(*from_ended.begin());
    for (std::size_t i = 5; i < taken.size(); ++i) {
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(taken[i]), base + i * ending_size)
            << "block " << i << " is not the chunk's next uncut block";
    }
}

}  // namespace
}  // namespace bedlam::detail
