// Signals between processes and the inbox that carries them. Every interaction between two
// processes (a message, an exit signal, a link, a monitor, a DOWN) is one Envelope pushed onto
// the receiver's Inbox, so per-pair FIFO order (otp-semantics §1.1) holds for all of them at
// once, as it does in ERTS. The Inbox is a lock-free multi-producer, single-consumer stack.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "bedlam/runtime/assert.hpp"
#include "bedlam/runtime/block_pool.hpp"
#include "bedlam/runtime/types.hpp"

namespace bedlam::detail {

enum class SignalKind : std::uint8_t {
    message,    // a user message (Boxed<T>)
    exit,       // an exit signal (Boxed<ExitMsg>); `via` says where it came from
    link,       // `from` links to the receiver
    unlink,     // `from` removes its link to the receiver
    monitor,    // `from` monitors the receiver; aux = reference
    demonitor,  // `from` drops monitor aux
    down,       // the monitored process died (Boxed<DownMsg>); aux = reference
    timeout,    // a receive time-out; aux = the receive's sequence number
    wake,       // ends a stall (an interposer's slow or hung process); aux = the stall's number
};

enum class ExitVia : std::uint8_t {
    link,   // the linked process died
    exit2,  // exit(Pid, Reason) from another process
    self,   // exit(self(), Reason) while trapping exits
};

inline const char* to_string(SignalKind kind) noexcept {
    static constexpr const char* names[] = {"message",   "exit", "link",    "unlink", "monitor",
                                            "demonitor", "down", "timeout", "wake"};
    return names[static_cast<std::uint8_t>(kind)];
}

}  // namespace bedlam::detail

namespace bedlam {

/// A message type's name, for fault plans that pick messages by type (a poison message). Give a
/// type one with BEDLAM_MESSAGE_NAME(Type, "name") at namespace scope, before the type is sent.
template <typename T>
struct MessageName {
    static constexpr const char* value = nullptr;
};

#define BEDLAM_MESSAGE_NAME(Type, Name)           \
    template <>                                    \
    struct bedlam::MessageName<Type> {             \
        static constexpr const char* value = Name; \
    }

}  // namespace bedlam

namespace bedlam::detail {

/// What an envelope's tag points to: one per message type.
struct TypeInfo {
    const char* name;  // MessageName<T>::value: null unless the type was given a name.
};

/// One unique address per message type, compared for equality only (never ordered, so no
/// address leaks into a decision).
template <typename T>
struct TypeTag {
    static constexpr TypeInfo id{MessageName<T>::value};
};

template <typename T>
constexpr const void* tag_of() noexcept {
    return &TypeTag<std::remove_cvref_t<T>>::id;
}

/// The registered name of a tagged envelope's type, or null.
inline const char* type_name_of(const void* tag) noexcept {
    return tag != nullptr ? static_cast<const TypeInfo*>(tag)->name : nullptr;
}

class EnvelopePool;

struct Envelope {
    Envelope() = default;
    Envelope(const Envelope&) = delete;
    Envelope& operator=(const Envelope&) = delete;
    virtual ~Envelope() = default;

    /// A copy of this envelope from `pool`, or nullptr if its payload cannot be copied (used to
    /// duplicate a message in flight).
    [[nodiscard]] virtual Envelope* clone(EnvelopePool* /*pool*/) const { return nullptr; }

    Envelope* next = nullptr;
    const void* tag = nullptr;  // The payload type; null for signals without a payload.
    Pid from;
    std::uint64_t aux = 0;  // Monitor reference or receive sequence number, by kind.
    std::uint64_t seq = 0;  // Trace identity: unique per send within a run.
    SignalKind kind = SignalKind::message;
    ExitVia via = ExitVia::link;
    std::uint8_t flags = 0;   // call_flag, cast_flag or reply_flag, for behaviours.
    std::uint32_t bytes = 0;  // The size of the most-derived object, for dispose().

    /// A call request (aux = the caller's monitor reference), a cast, or a call's reply
    /// (aux = the reference it answers).
    static constexpr std::uint8_t call_flag = 1;
    static constexpr std::uint8_t cast_flag = 2;
    static constexpr std::uint8_t reply_flag = 4;
};

/// Recycles envelope memory for a single-threaded runtime: one free list per 16-byte size class
/// up to 256 bytes, refilled by carving 16 KiB slabs, so that a message costs no malloc in the
/// steady state and one in hundreds when the pool grows. Slabs are returned when the pool is
/// destroyed. Larger envelopes go to the heap. Not thread-safe: the threaded scheduler uses the
/// heap directly (a null pool).
class EnvelopePool {
public:
    static constexpr std::size_t granule = 16;
    static constexpr std::size_t classes = 16;
    static constexpr std::size_t slab_bytes = 16 * 1024;

    EnvelopePool() = default;
    EnvelopePool(const EnvelopePool&) = delete;
    EnvelopePool& operator=(const EnvelopePool&) = delete;
    ~EnvelopePool() {
        for (void* slab : slabs_) {
            ::operator delete(slab);
        }
    }

    void* allocate(std::size_t bytes) {
        const std::size_t c = class_of(bytes);
        if (c >= classes) {
            return ::operator new(bytes);
        }
        if (free_[c] == nullptr) {
            refill(c);
        }
        FreeNode* node = free_[c];
        free_[c] = node->next;
        return node;
    }

    void release(void* p, std::size_t bytes) noexcept {
        const std::size_t c = class_of(bytes);
        if (c >= classes) {
            ::operator delete(p);
            return;
        }
        auto* node = static_cast<FreeNode*>(p);
        node->next = free_[c];
        free_[c] = node;
    }

private:
    struct FreeNode {
        FreeNode* next;
    };

    static std::size_t class_of(std::size_t bytes) noexcept {
        return (bytes + granule - 1) / granule - 1;
    }

    void refill(std::size_t c) {
        const std::size_t size = (c + 1) * granule;
        slabs_.reserve(slabs_.size() + 1);
        auto* slab = static_cast<unsigned char*>(::operator new(slab_bytes));
        slabs_.push_back(slab);
        // Thread the slab's objects onto the free list, lowest address first.
        FreeNode* head = nullptr;
        for (std::size_t offset = slab_bytes / size * size; offset >= size; offset -= size) {
            auto* node = reinterpret_cast<FreeNode*>(slab + offset - size);
            node->next = head;
            head = node;
        }
        free_[c] = head;
    }

    FreeNode* free_[classes] = {};
    std::vector<void*> slabs_;
};

/// Creates an envelope of type E from `pool` (the heap if null).
template <typename E, typename... Args>
E* make_envelope(EnvelopePool* pool, Args&&... args) {
    // Without a runtime pool (the threaded scheduler), the calling thread's block pool.
    void* memory = pool != nullptr ? pool->allocate(sizeof(E)) : pool_allocate(sizeof(E));
    try {
        E* e = new (memory) E(std::forward<Args>(args)...);
        e->bytes = static_cast<std::uint32_t>(sizeof(E));
        return e;
    } catch (...) {
        if (pool != nullptr) {
            pool->release(memory, sizeof(E));
        } else {
            pool_deallocate(memory, sizeof(E));
        }
        throw;
    }
}

/// Destroys an envelope made by make_envelope with the same pool.
inline void dispose(EnvelopePool* pool, Envelope* e) noexcept {
    const std::size_t bytes = e->bytes;
    BEDLAM_ASSERT(bytes >= sizeof(Envelope));
    e->~Envelope();
    if (pool != nullptr) {
        pool->release(e, bytes);
    } else {
        pool_deallocate(e, bytes);
    }
}

/// Disposes of a list linked through `next`.
inline void dispose_list(EnvelopePool* pool, Envelope* e) noexcept {
    while (e != nullptr) {
        Envelope* next = e->next;
        dispose(pool, e);
        e = next;
    }
}

template <typename T>
struct Boxed final : Envelope {
    template <typename... Args>
    explicit Boxed(Args&&... args) : value{std::forward<Args>(args)...} {
        tag = tag_of<T>();
    }
    [[nodiscard]] Envelope* clone(EnvelopePool* pool) const override {
        if constexpr (std::is_copy_constructible_v<T>) {
            auto* copy = make_envelope<Boxed<T>>(pool, value);
            copy->from = from;
            copy->aux = aux;
            copy->kind = kind;
            copy->via = via;
            return copy;
        } else {
            static_cast<void>(pool);
            return nullptr;
        }
    }
    T value;
};

template <typename T>
T& payload(Envelope* e) noexcept {
    BEDLAM_ASSERT(e->tag == tag_of<T>());
    return static_cast<Boxed<T>*>(e)->value;
}

/// The receiving end of a process. Producers push from any thread; only the owning process
/// takes. The head is a tagged pointer: a list of pending envelopes (newest first), `empty`,
/// `blocked` (empty, and the owner sleeps: the pusher that ends this state must schedule the
/// owner) or `closed` (the owner has exited: pushes fail).
class Inbox {
public:
    enum class Push : std::uint8_t { ok, woke, closed };

    Inbox() = default;
    Inbox(const Inbox&) = delete;
    Inbox& operator=(const Inbox&) = delete;

    Push push(Envelope* e) noexcept {
        Envelope* old = head_.load(std::memory_order_relaxed);
        for (;;) {
            if (old == closed_tag()) {
                return Push::closed;
            }
            e->next = old == blocked_tag() ? nullptr : old;
            if (head_.compare_exchange_weak(old, e, std::memory_order_release,
                                            std::memory_order_relaxed)) {
                return old == blocked_tag() ? Push::woke : Push::ok;
            }
        }
    }

    /// Takes every pending envelope, oldest first. Owner only, while running.
    Envelope* take_all() noexcept {
        Envelope* e = head_.exchange(nullptr, std::memory_order_acquire);
        BEDLAM_ASSERT(e != blocked_tag() && e != closed_tag());
        return reverse(e);
    }

    /// Marks the inbox blocked if it is empty. Returns false if something is pending.
    bool try_block() noexcept {
        Envelope* expected = nullptr;
        return head_.compare_exchange_strong(expected, blocked_tag(), std::memory_order_acq_rel,
                                             std::memory_order_acquire);
    }

    /// Closes the inbox and returns what was pending, oldest first.
    Envelope* close() noexcept {
        Envelope* e = head_.exchange(closed_tag(), std::memory_order_seq_cst);
        BEDLAM_ASSERT(e != closed_tag());
        return e == blocked_tag() ? nullptr : reverse(e);
    }

    // -- Single-threaded variants (the simulator) ---------------------------------------------------
    // The same states, but no read-modify-write is atomic, and the list is circular with head_
    // pointing at the newest envelope (whose next is the oldest), so taking needs no reversal.

    Push push_local(Envelope* e) noexcept {
        Envelope* newest = head_.load(std::memory_order_relaxed);
        if (newest == closed_tag()) {
            return Push::closed;
        }
        if (newest == nullptr || newest == blocked_tag()) {
            e->next = e;
        } else {
            e->next = newest->next;
            newest->next = e;
        }
        head_.store(e, std::memory_order_relaxed);
        return newest == blocked_tag() ? Push::woke : Push::ok;
    }

    Envelope* take_all_local() noexcept {
        Envelope* newest = head_.load(std::memory_order_relaxed);
        BEDLAM_ASSERT(newest != blocked_tag() && newest != closed_tag());
        head_.store(nullptr, std::memory_order_relaxed);
        return unroll(newest);
    }

    bool try_block_local() noexcept {
        if (head_.load(std::memory_order_relaxed) != nullptr) {
            return false;
        }
        head_.store(blocked_tag(), std::memory_order_relaxed);
        return true;
    }

    Envelope* close_local() noexcept {
        Envelope* newest = head_.load(std::memory_order_relaxed);
        BEDLAM_ASSERT(newest != closed_tag());
        head_.store(closed_tag(), std::memory_order_relaxed);
        return newest == blocked_tag() ? nullptr : unroll(newest);
    }

    [[nodiscard]] bool closed() const noexcept {
        return head_.load(std::memory_order_seq_cst) == closed_tag();
    }
    [[nodiscard]] bool empty() const noexcept {
        Envelope* e = head_.load(std::memory_order_acquire);
        return e == nullptr || e == blocked_tag() || e == closed_tag();
    }

private:
    static Envelope* blocked_tag() noexcept { return reinterpret_cast<Envelope*>(std::uintptr_t{1}); }
    static Envelope* closed_tag() noexcept { return reinterpret_cast<Envelope*>(std::uintptr_t{2}); }

    // Opens a circular list at its newest element: returns the oldest, the list now ending in
    // nullptr.
    static Envelope* unroll(Envelope* newest) noexcept {
        if (newest == nullptr) {
            return nullptr;
        }
        Envelope* oldest = newest->next;
        newest->next = nullptr;
        return oldest;
    }

    static Envelope* reverse(Envelope* e) noexcept {
        Envelope* out = nullptr;
        while (e != nullptr) {
            Envelope* next = e->next;
            e->next = out;
            out = e;
            e = next;
        }
        return out;
    }

    std::atomic<Envelope*> head_{nullptr};
};

}  // namespace bedlam::detail
