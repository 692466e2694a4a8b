// Small-block pool for the runtime's short-lived allocations: coroutine frames (process bodies and
// every Async<T>), process control blocks, their link tables and the threaded scheduler's
// envelopes. A restart storm creates and destroys these by the million, in bursts of a hundred or
// more of one size, and a fan-in allocates a million envelopes on the senders' threads before the
// receiver frees the first; glibc's per-thread cache holds only 7 blocks of a size, so most of
// them would fall through to malloc's slow path.
//
// Each thread keeps a free list per 16-byte size class up to 2 KiB (g++ gives the frames of a
// server's loop and of a child's start-up wait more than 1 KiB), capped in bytes. New blocks are
// cut from 64 KiB chunks, one malloc per chunk. A thread that frees more than it allocates passes
// whole batches of its excess through a shared depot to threads that allocate more than they
// free. Blocks never go back to malloc (a block may be part of a chunk): the pool keeps the peak
// of the small blocks that were live at once, for reuse, as BEAM's allocators keep their carriers.
// The pool holds no state that decides anything: which address a block gets never reaches a trace
// or a scheduling choice. Sanitizer builds bypass it so that ASan still sees every use after free.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>

namespace bedlam::detail {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BEDLAM_BLOCK_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define BEDLAM_BLOCK_POOL 0
#endif
#endif
#ifndef BEDLAM_BLOCK_POOL
#define BEDLAM_BLOCK_POOL 1
#endif

inline constexpr std::size_t pool_class_bytes = 16;
inline constexpr std::size_t pool_max_bytes = 2048;

#if BEDLAM_BLOCK_POOL
namespace pool_internal {

inline constexpr std::size_t class_count = pool_max_bytes / pool_class_bytes;
/// Bytes one thread may keep free per size class before it passes a batch to the depot.
inline constexpr std::size_t cap_bytes = 256 * 1024;

/// A free block. The first block of a batch in the depot also links the next batch.
struct FreeBlock {
    FreeBlock* next;
    FreeBlock* next_batch;
};

struct FreeList {
    FreeBlock* head = nullptr;
    std::uint32_t count = 0;
};

/// The part of a thread's newest chunk of a class not yet handed out: blocks are cut from it one
/// at a time, so that a chunk's pages are touched only as its blocks are used.
struct Fresh {
    char* next = nullptr;
    char* end = nullptr;
};

/// One thread's free lists. Constant-initialised with a trivial destructor, so reaching it costs
/// no per-access initialisation check (nor, declared constinit, a call to a wrapper from other
/// files); a second thread-local object, made the first time the thread takes memory, passes
/// what it holds to the depot when the thread ends (block_pool.cpp).
struct ThreadPool {
    std::array<FreeList, class_count> lists;
    std::array<Fresh, class_count> fresh;
    bool cleanup_armed;
    bool ended;  // The thread is ending: freed blocks go straight to the depot.
};

extern constinit thread_local ThreadPool pool;  // per-thread, not a decision: which block it gets

constexpr std::size_t block_bytes(std::size_t c) noexcept { return (c + 1) * pool_class_bytes; }

constexpr std::size_t class_of(std::size_t bytes) noexcept {
    return (bytes + pool_class_bytes - 1) / pool_class_bytes - 1;
}

/// Blocks a thread may keep free, by class.
inline constexpr std::array<std::uint32_t, class_count> caps = [] {
    std::array<std::uint32_t, class_count> out{};
    for (std::size_t c = 0; c < class_count; ++c) {
        out[c] = static_cast<std::uint32_t>(cap_bytes / block_bytes(c));
    }
    return out;
}();

// Out of line: an empty list, a full one, a size out of range, a thread starting or ending.
[[gnu::noinline]] void* allocate_slow(std::size_t bytes);
[[gnu::noinline]] void deallocate_slow(void* block, std::size_t bytes) noexcept;

}  // namespace pool_internal

// The common case inline: at most call sites `bytes` is a constant (a frame's, an envelope's), so
// the size class and its cap fold away and a block costs a few loads and stores.

/// A block of at least `bytes`; throws std::bad_alloc like operator new.
inline void* pool_allocate(std::size_t bytes) {
    using namespace pool_internal;
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

/// Returns a block from pool_allocate(bytes), with the same `bytes`.
inline void pool_deallocate(void* block, std::size_t bytes) noexcept {
    using namespace pool_internal;
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
#else
inline void* pool_allocate(std::size_t bytes) { return ::operator new(bytes); }
inline void pool_deallocate(void* block, std::size_t /*bytes*/) noexcept {
    ::operator delete(block);
}
#endif

/// Mix-in giving a class (or a coroutine promise, whose operator new allocates the frame) pooled
/// storage.
struct Pooled {
    static void* operator new(std::size_t bytes) { return pool_allocate(bytes); }
    static void operator delete(void* block, std::size_t bytes) noexcept {
        pool_deallocate(block, bytes);
    }
};

}  // namespace bedlam::detail
