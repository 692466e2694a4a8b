#include "bedlam/runtime/block_pool.hpp"

#include <array>
#include <cstdint>

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

constinit thread_local ThreadPool pool{};  // per-thread, not a decision: which block, never what runs

struct PoolCleanup {
    PoolCleanup() = default;
    PoolCleanup(const PoolCleanup&) = delete;
    PoolCleanup& operator=(const PoolCleanup&) = delete;
    ~PoolCleanup() {
        pool.ended = true;
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

}  // namespace

void* pool_allocate(std::size_t bytes) {
    if (bytes == 0 || bytes > pool_max_bytes) {
        return ::operator new(bytes);
    }
    const std::size_t c = class_of(bytes);
    FreeList& list = pool.lists[c];
    if (FreeBlock* b = list.head; b != nullptr) {
        list.head = b->next;
        --list.count;
        return b;
    }
    return ::operator new((c + 1) * pool_class_bytes);
}

void pool_deallocate(void* block, std::size_t bytes) noexcept {
    if (block == nullptr) {
        return;
    }
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
    } else if (list.count >= caps[c]) {
        ::operator delete(block);
        return;
    }
    auto* b = static_cast<FreeBlock*>(block);
    b->next = list.head;
    list.head = b;
    ++list.count;
}

}  // namespace bedlam::detail

#endif  // BEDLAM_BLOCK_POOL
