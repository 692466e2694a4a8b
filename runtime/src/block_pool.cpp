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
    std::uint32_t cap = 0;
};

/// One thread's free lists; gives every cached block back to malloc when the thread ends.
struct ThreadPool {
    std::array<FreeList, class_count> lists{};

    ThreadPool() {
        for (std::size_t c = 0; c < class_count; ++c) {
            lists[c].cap = static_cast<std::uint32_t>(cap_bytes / ((c + 1) * pool_class_bytes));
        }
    }
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;
    ~ThreadPool() {
        for (std::size_t c = 0; c < class_count; ++c) {
            for (FreeBlock* b = lists[c].head; b != nullptr;) {
                FreeBlock* next = b->next;
                ::operator delete(b);
                b = next;
            }
        }
    }
};

thread_local ThreadPool pool;  // per-thread, not a decision: which block, never what runs

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
    if (list.count >= list.cap) {
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
