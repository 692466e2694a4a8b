#include "bedlam/runtime/block_pool.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

#if BEDLAM_BLOCK_POOL

namespace bedlam::detail {

namespace pool_internal {
constinit thread_local ThreadPool pool{};  // per-thread, not a decision: which block it gets
}  // namespace pool_internal

namespace {

using namespace pool_internal;

/// Bytes of one chunk, the unit in which the pool takes memory from malloc.
constexpr std::size_t chunk_bytes = 64 * 1024;

static_assert(sizeof(FreeBlock) <= pool_class_bytes);

/// Blocks per batch in the depot: a quarter of a thread's cap.
constexpr std::uint32_t batch_of(std::size_t c) noexcept {
    return std::max<std::uint32_t>(1, caps[c] / 4);
}

/// Where threads leave and pick up free blocks: one that frees more than it allocates (the
/// receiver of a fan-in, a worker that ends processes another spawned) passes its excess, a
/// batch per lock, to one that allocates more than it frees. Full batches (batch_of(c) blocks)
/// are stacked; a thread that ends leaves its odd blocks loose. Constant-initialised with a
/// trivial destructor, so it outlives every thread that uses it. Which blocks a thread gets
/// decides nothing.
struct Depot {
    std::mutex mutex;
    FreeBlock* batches;  // Guarded.
    FreeBlock* loose;    // Guarded.
    std::uint32_t loose_count;  // Guarded.
    // Written under the mutex; read without it first, so that a thread allocating while the
    // depot is empty (a fan-in's senders, before the receiver has freed anything) takes no lock.
    std::atomic<bool> stocked;
};
constinit std::array<Depot, class_count> depot{};  // process-wide allocator cache, not a decision

/// Moves batch_of(c) blocks from the front of a full list to the depot.
void give_batch(std::size_t c, FreeList& list) noexcept {
    const std::uint32_t n = batch_of(c);
    FreeBlock* first = list.head;
    FreeBlock* last = first;
    for (std::uint32_t i = 1; i < n; ++i) {
        last = last->next;
    }
    list.head = last->next;
    list.count -= n;
    last->next = nullptr;
    Depot& d = depot[c];
    const std::lock_guard lock(d.mutex);
    first->next_batch = d.batches;
    d.batches = first;
    d.stocked.store(true, std::memory_order_relaxed);
}

/// Moves `count` linked blocks, `first` to `last`, to the depot's loose blocks.
void give_loose(std::size_t c, FreeBlock* first, FreeBlock* last, std::uint32_t count) noexcept {
    Depot& d = depot[c];
    const std::lock_guard lock(d.mutex);
    last->next = d.loose;
    d.loose = first;
    d.loose_count += count;
    d.stocked.store(true, std::memory_order_relaxed);
}

/// Fills an empty list from the depot: a full batch, else up to a batch of loose blocks. False if
/// the depot has none.
bool take_batch(std::size_t c, FreeList& list) noexcept {
    Depot& d = depot[c];
    if (!d.stocked.load(std::memory_order_relaxed)) {
        return false;
    }
    const std::lock_guard lock(d.mutex);
    if (d.batches != nullptr) {
        list.head = d.batches;
        list.count = batch_of(c);
        d.batches = d.batches->next_batch;
    } else if (d.loose != nullptr) {
        const std::uint32_t n = std::min(batch_of(c), d.loose_count);
        FreeBlock* last = d.loose;
        for (std::uint32_t i = 1; i < n; ++i) {
            last = last->next;
        }
        list.head = d.loose;
        list.count = n;
        d.loose = last->next;
        d.loose_count -= n;
        last->next = nullptr;
    } else {
        return false;
    }
    d.stocked.store(d.batches != nullptr || d.loose != nullptr, std::memory_order_relaxed);
    return true;
}

struct PoolCleanup {
    PoolCleanup() = default;
    PoolCleanup(const PoolCleanup&) = delete;
    PoolCleanup& operator=(const PoolCleanup&) = delete;
    // The thread's free blocks and the uncut rest of its chunks go to the depot: a block may be
    // part of a chunk, so none goes back to malloc on its own.
    ~PoolCleanup() {
        pool.ended = true;
        pool.cleanup_armed = false;  // Frees take the slow path, which sees `ended`.
        for (std::size_t c = 0; c < class_count; ++c) {
            FreeList& list = pool.lists[c];
            while (list.count >= batch_of(c)) {
                give_batch(c, list);
            }
            // The freed blocks first (the recently used ones), then the uncut ones.
            FreeBlock* first = list.head;
            FreeBlock* last = first;
            while (last != nullptr && last->next != nullptr) {
                last = last->next;
            }
            std::uint32_t count = list.count;
            Fresh& fresh = pool.fresh[c];
            for (; fresh.next != fresh.end; fresh.next += block_bytes(c)) {
                auto* b = reinterpret_cast<FreeBlock*>(fresh.next);
                b->next = nullptr;
                (last != nullptr ? last->next : first) = b;
                last = b;
                ++count;
            }
            if (first != nullptr) {
                give_loose(c, first, last, count);
            }
            list = FreeList{};
        }
    }
};

void arm_cleanup() {
    thread_local PoolCleanup cleanup;  // per-thread, not a decision
    static_cast<void>(cleanup);
    pool.cleanup_armed = true;
}

}  // namespace

// The slow paths, out of line, so that the common case (a block on the thread's list, or room
// for one) is inlined at each call, its size class a constant there.

void* pool_internal::allocate_slow(std::size_t bytes) {
    if (bytes == 0 || bytes > pool_max_bytes) {
        return ::operator new(bytes);
    }
    const std::size_t c = class_of(bytes);
    if (pool.ended) {
        return ::operator new(block_bytes(c));  // Freed into the depot like any other block.
    }
    if (!pool.cleanup_armed) {
        arm_cleanup();
    }
    FreeList& list = pool.lists[c];
    if (take_batch(c, list)) {
        FreeBlock* b = list.head;
        list.head = b->next;
        --list.count;
        return b;
    }
    // Cut a block from the thread's chunk, taking a new chunk when it is used up. One malloc per
    // chunk instead of one per block: a fan-in's senders allocate a million envelopes before the
    // receiver frees the first, and glibc's malloc, its locks and its cross-thread frees were a
    // third of that run.
    Fresh& fresh = pool.fresh[c];
    if (fresh.next == fresh.end) {
        const std::size_t size = block_bytes(c);
        const std::size_t blocks = chunk_bytes / size;
        fresh.next = static_cast<char*>(::operator new(blocks * size));
        fresh.end = fresh.next + blocks * size;
    }
    void* b = fresh.next;
    fresh.next += block_bytes(c);
    return b;
}

void pool_internal::deallocate_slow(void* block, std::size_t bytes) noexcept {
    if (bytes == 0 || bytes > pool_max_bytes) {
        ::operator delete(block);
        return;
    }
    const std::size_t c = class_of(bytes);
    auto* b = static_cast<FreeBlock*>(block);
    if (pool.ended) {
        give_loose(c, b, b, 1);
        return;
    }
    if (!pool.cleanup_armed) {
        arm_cleanup();
    }
    FreeList& list = pool.lists[c];
    b->next = list.head;
    list.head = b;
    if (++list.count > caps[c]) {
        give_batch(c, list);
    }
}

}  // namespace bedlam::detail

#endif  // BEDLAM_BLOCK_POOL
