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

#include <cstddef>
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
/// A block of at least `bytes`; throws std::bad_alloc like operator new.
void* pool_allocate(std::size_t bytes);
/// Returns a block from pool_allocate(bytes), with the same `bytes`.
void pool_deallocate(void* block, std::size_t bytes) noexcept;
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
