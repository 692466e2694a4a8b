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
    /// With reply_flag: the answer to a call(), whose reference is the caller's alias (its
    /// monitor of the server). The caller drops it on arrival once that monitor is gone, as
    /// OTP 24+ drops a late reply to a call that timed out (otp-semantics §5.1).
    static constexpr std::uint8_t alias_flag = 8;
    static constexpr std::uint8_t reply_flags(bool alias) noexcept {
        return alias ? reply_flag | alias_flag : reply_flag;
    }
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
///
/// Quiet signals (link, unlink, monitor, demonitor) only update the owner's tables, which nothing
/// reads before the owner next runs or exits, and both drain the inbox first. So a quiet signal
/// reaching a sleeping owner leaves it asleep, with the list tagged `blocked` and a count of the
/// quiet signals it holds; the next signal that is not quiet, or the max_quiet + 1st quiet one,
/// wakes it. A supervisor's demonitor after each child's start ack no longer makes every child
/// run a step for nothing, and a process monitored over and over while it sleeps still wakes
/// now and then to apply them.
class Inbox {
public:
    enum class Push : std::uint8_t { ok, woke, closed };

    Inbox() = default;
    Inbox(const Inbox&) = delete;
    Inbox& operator=(const Inbox&) = delete;

    static bool quiet(const Envelope* e) noexcept {
        return e->kind == SignalKind::link || e->kind == SignalKind::unlink ||
               e->kind == SignalKind::monitor || e->kind == SignalKind::demonitor;
    }

    /// Pushes one envelope. Sets `*contended` (if given) when another thread changed the inbox
    /// between this push's read and its compare-and-swap.
    Push push(Envelope* e, bool* contended = nullptr) noexcept {
        const bool is_quiet = quiet(e);
        std::uintptr_t old = bits(head_.load(std::memory_order_relaxed));
        for (;;) {
            if (old == closed_bits) {
                return Push::closed;
            }
            e->next = list_of(old);
            const std::uintptr_t next = after_push(old, e, is_quiet);
            Envelope* expected = from_bits(old);
            if (head_.compare_exchange_weak(expected, from_bits(next), std::memory_order_release,
                                            std::memory_order_relaxed)) {
                return woke_by(old, next);
            }
            if (contended != nullptr && bits(expected) != old) {
                *contended = true;
            }
            old = bits(expected);
        }
    }

    /// Pushes messages linked newest first through `next`, from `newest` to `oldest`, with one
    /// compare-and-swap, as if one by one, oldest first. The newest must not be a quiet signal
    /// (it wakes a sleeping owner, which then takes the quiet ones before it).
    Push push_chain(Envelope* newest, Envelope* oldest) noexcept {
        std::uintptr_t old = bits(head_.load(std::memory_order_relaxed));
        for (;;) {
            if (old == closed_bits) {
                return Push::closed;
            }
            oldest->next = list_of(old);
            Envelope* expected = from_bits(old);
            if (head_.compare_exchange_weak(expected, newest, std::memory_order_release,
                                            std::memory_order_relaxed)) {
                return woke_by(old, bits(newest));
            }
            old = bits(expected);
        }
    }

    /// Pushes `e`, which must not be quiet, only if the owner sleeps: true then, and the caller
    /// has woken it (it owns the owner's next step, and sees what its last step wrote). False,
    /// with nothing pushed, if the owner is running, queued or closed.
    bool push_if_asleep(Envelope* e) noexcept {
        BEDLAM_ASSERT(!quiet(e));
        std::uintptr_t old = bits(head_.load(std::memory_order_relaxed));
        for (;;) {
            if ((old & blocked_bit) == 0) {
                return false;
            }
            e->next = list_of(old);
            Envelope* expected = from_bits(old);
            if (head_.compare_exchange_weak(expected, e, std::memory_order_acq_rel,
                                            std::memory_order_relaxed)) {
                return true;
            }
            old = bits(expected);
        }
    }

    /// Takes every pending envelope, oldest first. Owner only, while running.
    Envelope* take_all() noexcept {
        Envelope* e = head_.exchange(nullptr, std::memory_order_acquire);
        BEDLAM_ASSERT((bits(e) & tag_mask) == 0);
        return reverse(e);
    }

    /// Marks the inbox blocked if it is empty. Returns false if something is pending.
    bool try_block() noexcept {
        Envelope* expected = nullptr;
        return head_.compare_exchange_strong(expected, from_bits(blocked_bit),
                                             std::memory_order_acq_rel,
                                             std::memory_order_acquire);
    }

    /// Closes the inbox and returns what was pending, oldest first.
    Envelope* close() noexcept {
        const std::uintptr_t old =
            bits(head_.exchange(from_bits(closed_bits), std::memory_order_seq_cst));
        BEDLAM_ASSERT(old != closed_bits);
        return reverse(list_of(old));
    }

    // -- Single-threaded variants (the simulator) ---------------------------------------------------
    // The same states, but no read-modify-write is atomic, and the list is circular with head_
    // pointing at the newest envelope (whose next is the oldest), so taking needs no reversal.

    Push push_local(Envelope* e) noexcept {
        const std::uintptr_t old = bits(head_.load(std::memory_order_relaxed));
        if (old == closed_bits) {
            return Push::closed;
        }
        Envelope* newest = list_of(old);
        if (newest == nullptr) {
            e->next = e;
        } else {
            e->next = newest->next;
            newest->next = e;
        }
        const std::uintptr_t next = after_push(old, e, quiet(e));
        head_.store(from_bits(next), std::memory_order_relaxed);
        return woke_by(old, next);
    }

    Envelope* take_all_local() noexcept {
        Envelope* newest = head_.load(std::memory_order_relaxed);
        BEDLAM_ASSERT((bits(newest) & tag_mask) == 0);
        head_.store(nullptr, std::memory_order_relaxed);
        return unroll(newest);
    }

    bool try_block_local() noexcept {
        if (head_.load(std::memory_order_relaxed) != nullptr) {
            return false;
        }
        head_.store(from_bits(blocked_bit), std::memory_order_relaxed);
        return true;
    }

    Envelope* close_local() noexcept {
        const std::uintptr_t old = bits(head_.load(std::memory_order_relaxed));
        BEDLAM_ASSERT(old != closed_bits);
        head_.store(from_bits(closed_bits), std::memory_order_relaxed);
        return unroll(list_of(old));
    }

    [[nodiscard]] bool closed() const noexcept {
        return bits(head_.load(std::memory_order_seq_cst)) == closed_bits;
    }
    /// Nothing to take. A sleeping owner's quiet signals do not count: it is not running.
    [[nodiscard]] bool empty() const noexcept {
        const std::uintptr_t b = bits(head_.load(std::memory_order_acquire));
        return b == 0 || (b & blocked_bit) != 0 || b == closed_bits;
    }

private:
    // Envelopes are at least 8-byte aligned, which leaves three low bits of the head: bit 0 is
    // `blocked`, bits 1-2 count the quiet signals held while blocked. `closed` is a null list
    // with bit 1 set, which a count never is (it counts envelopes in the list).
    static constexpr std::uintptr_t blocked_bit = 1;
    static constexpr std::uintptr_t closed_bits = 2;
    static constexpr std::uintptr_t count_unit = 2;
    static constexpr std::uintptr_t tag_mask = 7;
    static constexpr std::uintptr_t max_quiet = 3;
    static_assert(alignof(Envelope) > tag_mask);

    static std::uintptr_t bits(Envelope* e) noexcept { return reinterpret_cast<std::uintptr_t>(e); }
    static Envelope* from_bits(std::uintptr_t b) noexcept { return reinterpret_cast<Envelope*>(b); }
    static Envelope* list_of(std::uintptr_t b) noexcept { return from_bits(b & ~tag_mask); }

    // The head after pushing `e` (already linked in) onto a head of `old`.
    static std::uintptr_t after_push(std::uintptr_t old, Envelope* e, bool is_quiet) noexcept {
        const std::uintptr_t count = (old & ~blocked_bit & tag_mask) / count_unit;
        if ((old & blocked_bit) != 0 && is_quiet && count < max_quiet) {
            return bits(e) | blocked_bit | ((count + 1) * count_unit);
        }
        return bits(e);
    }
    static Push woke_by(std::uintptr_t old, std::uintptr_t next) noexcept {
        return (old & blocked_bit) != 0 && (next & blocked_bit) == 0 ? Push::woke : Push::ok;
    }

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
