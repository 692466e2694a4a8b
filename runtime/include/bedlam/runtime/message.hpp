// Signals between processes and the inbox that carries them. Every interaction between two
// processes (a message, an exit signal, a link, a monitor, a DOWN) is one Envelope pushed onto
// the receiver's Inbox, so per-pair FIFO order (otp-semantics §1.1) holds for all of them at
// once, as it does in ERTS. The Inbox is a lock-free multi-producer, single-consumer stack.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "bedlam/runtime/assert.hpp"
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
};

enum class ExitVia : std::uint8_t {
    link,   // the linked process died
    exit2,  // exit(Pid, Reason) from another process
    self,   // exit(self(), Reason) while trapping exits
};

const char* to_string(SignalKind kind) noexcept;

/// One unique address per message type, compared for equality only (never ordered, so no
/// address leaks into a decision).
template <typename T>
struct TypeTag {
    static constexpr char id = 0;
};

template <typename T>
constexpr const void* tag_of() noexcept {
    return &TypeTag<std::remove_cvref_t<T>>::id;
}

struct Envelope {
    Envelope() = default;
    Envelope(const Envelope&) = delete;
    Envelope& operator=(const Envelope&) = delete;
    virtual ~Envelope() = default;

    /// A copy of this envelope, or nullptr if its payload cannot be copied (used to duplicate a
    /// message in flight).
    [[nodiscard]] virtual Envelope* clone() const { return nullptr; }

    Envelope* next = nullptr;
    const void* tag = nullptr;  // The payload type; null for signals without a payload.
    Pid from;
    std::uint64_t aux = 0;  // Monitor reference or receive sequence number, by kind.
    std::uint64_t seq = 0;  // Trace identity: unique per send within a run.
    SignalKind kind = SignalKind::message;
    ExitVia via = ExitVia::link;
};

template <typename T>
struct Boxed final : Envelope {
    template <typename... Args>
    explicit Boxed(Args&&... args) : value{std::forward<Args>(args)...} {
        tag = tag_of<T>();
    }
    [[nodiscard]] Envelope* clone() const override {
        if constexpr (std::is_copy_constructible_v<T>) {
            auto* copy = new Boxed<T>(value);
            copy->from = from;
            copy->aux = aux;
            copy->kind = kind;
            copy->via = via;
            return copy;
        } else {
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
