#include "bedlam/runtime/block_pool.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

#if BEDLAM_BLOCK_POOL

namespace bedlam::detail {
namespace {

constexpr std::size_t class_count = pool_max_bytes / pool_class_bytes;
/// Bytes one thread may keep free per size class before it returns blocks to malloc.
constexpr std::size_t cap_bytes = 256 * 1024;

struct FreeBlock {
    FreeBlock* next;
};

struct FreeList {
    FreeBlock* head = nullptr;
    std::uint32_t count = 0;
};

/// One thread's free lists. Constant-initialised with a trivial destructor, so reaching it costs
/// no per-access initialisation check; a second thread-local object, made the first time the
/// thread keeps a block, gives the cached blocks back to malloc when the thread ends.
struct ThreadPool {
    std::array<FreeList, class_count> lists;
    bool cleanup_armed;
    bool ended;  // The thread is ending: blocks go straight back to malloc.
};

constinit thread_local ThreadPool pool{};  // per-thread, not a decision: which block it gets

struct PoolCleanup {
    PoolCleanup() = default;
    PoolCleanup(const PoolCleanup&) = delete;
    PoolCleanup& operator=(const PoolCleanup&) = delete;
    ~PoolCleanup() {
        pool.ended = true;
        pool.cleanup_armed = false;  // Frees take the slow path, which sees `ended`.
        for (FreeList& list : pool.lists) {
            for (FreeBlock* b = list.head; b != nullptr;) {
                FreeBlock* next = b->next;
                ::operator delete(b);
                b = next;
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

/// Blocks a thread may keep free, by class.
constexpr std::array<std::uint32_t, class_count> caps = [] {
    std::array<std::uint32_t, class_count> out{};
    for (std::size_t c = 0; c < class_count; ++c) {
        out[c] = static_cast<std::uint32_t>(cap_bytes / ((c + 1) * pool_class_bytes));
    }
    return out;
}();

constexpr std::size_t class_of(std::size_t bytes) noexcept {
    return (bytes + pool_class_bytes - 1) / pool_class_bytes - 1;
}

/// Blocks per batch in the depot: a quarter of a thread's cap.
constexpr std::uint32_t batch_of(std::size_t c) noexcept {
    return std::max<std::uint32_t>(1, caps[c] / 4);
}

/// Where threads leave and pick up whole batches of free blocks: one that frees more than it
/// allocates (the receiver of a fan-in, a worker that ends processes another spawned) passes its
/// excess to one that allocates more than it frees, a batch per lock, instead of both going to
/// malloc for every block. Constant-initialised with a trivial destructor, so it outlives every
/// thread that uses it. Which blocks a thread gets decides nothing.
struct Depot {
    static constexpr std::size_t max_batches = 64;  // Per class; beyond, blocks go to malloc.
    std::mutex mutex;
    std::array<FreeBlock*, max_batches> batches;  // Each batch_of(c) blocks, linked; guarded.
    // Written under the mutex; read without it first, so that a thread allocating while the
    // depot is empty (a fan-in's senders, before the receiver has freed anything) takes no lock.
    std::atomic<std::size_t> count;
};
constinit std::array<Depot, class_count> depot{};  // process-wide allocator cache, not a decision

/// Moves batch_of(c) blocks from the front of a full list to the depot, or to malloc if the
/// depot is full.
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
    {
        Depot& d = depot[c];
        const std::lock_guard lock(d.mutex);
        if (const std::size_t held = d.count.load(std::memory_order_relaxed);
            held < Depot::max_batches) {
            d.batches[held] = first;
            d.count.store(held + 1, std::memory_order_relaxed);
            return;
        }
    }
    while (first != nullptr) {
        FreeBlock* next = first->next;
        ::operator delete(first);
        first = next;
    }
}

/// Fills an empty list with a batch from the depot; false if it has none.
bool take_batch(std::size_t c, FreeList& list) noexcept {
    Depot& d = depot[c];
    if (d.count.load(std::memory_order_relaxed) == 0) {
        return false;
    }
    const std::lock_guard lock(d.mutex);
    const std::size_t n = d.count.load(std::memory_order_relaxed);
    if (n == 0) {
        return false;
    }
    d.count.store(n - 1, std::memory_order_relaxed);
    list.head = d.batches[n - 1];
    list.count = batch_of(c);
    return true;
}

// The slow paths, out of line, so that the common case (a block on the thread's list, or room
// for one) is a leaf function that saves no registers.

[[gnu::noinline]] void* allocate_slow(std::size_t bytes) {
    if (bytes == 0 || bytes > pool_max_bytes) {
        return ::operator new(bytes);
    }
    const std::size_t c = class_of(bytes);
    FreeList& list = pool.lists[c];
    if (pool.ended || !take_batch(c, list)) {
        return ::operator new((c + 1) * pool_class_bytes);
    }
    if (!pool.cleanup_armed) {
        arm_cleanup();
    }
    FreeBlock* b = list.head;
    list.head = b->next;
    --list.count;
    return b;
}

[[gnu::noinline]] void deallocate_slow(void* block, std::size_t bytes) noexcept {
    if (bytes == 0 || bytes > pool_max_bytes) {
        ::operator delete(block);
        return;
    }
    const std::size_t c = class_of(bytes);
    FreeList& list = pool.lists[c];
    if (list.count == 0) {  // The first block kept since the list was last empty.
        if (pool.ended) {
            ::operator delete(block);
            return;
        }
        if (!pool.cleanup_armed) {
            arm_cleanup();
        }
    }
    auto* b = static_cast<FreeBlock*>(block);
    b->next = list.head;
    list.head = b;
    if (++list.count > caps[c]) {
        give_batch(c, list);
    }
}

}  // namespace

void* pool_allocate(std::size_t bytes) {
    if (bytes - 1 < pool_max_bytes) {  // 1..pool_max_bytes; 0 wraps around.
        FreeList& list = pool.lists[class_of(bytes)];
        if (FreeBlock* b = list.head; b != nullptr) {
            list.head = b->next;
            --list.count;
            return b;
        }
    }
    return allocate_slow(bytes);
}

void pool_deallocate(void* block, std::size_t bytes) noexcept {
    if (block == nullptr) {
        return;
    }
    if (bytes - 1 < pool_max_bytes) {
        const std::size_t c = class_of(bytes);
        FreeList& list = pool.lists[c];
        // Before the thread's clean-up is armed (or once it has run), and at the cap, where a
        // batch spills: the slow path.
        if (list.count < caps[c] && pool.cleanup_armed) {
            auto* b = static_cast<FreeBlock*>(block);
            b->next = list.head;
            list.head = b;
            ++list.count;
            return;
        }
    }
    deallocate_slow(block, bytes);
}

}  // namespace bedlam::detail

#endif  // BEDLAM_BLOCK_POOL
