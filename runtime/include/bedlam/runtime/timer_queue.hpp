// The pending timers of a scheduler: an indexed binary min-heap over a slab of slots, ordered by
// (deadline, timer id), so equal deadlines fire in the order they were set. Starting a timer
// reuses a free slot and sifts it up; cancelling finds its slot from the TimerRef in O(1) and
// removes it in O(log n). Nothing is allocated per timer once the slab has grown. A TimerRef
// packs the timer's number (high 40 bits) and its slot (low 24 bits): at most 16,777,216 timers
// can be pending at once.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include "bedlam/runtime/assert.hpp"
#include "bedlam/runtime/types.hpp"

namespace bedlam::detail {

struct Envelope;

class TimerQueue {
public:
    struct Timer {
        Ticks deadline = 0;
        std::uint64_t id = 0;  // 0 while the slot is free.
        Pid target;
        Envelope* envelope = nullptr;
        bool as_send = false;
        bool skewed = false;  // The interposer already delayed it once.
    };

    [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
    /// The timer that fires first. Requires !empty().
    [[nodiscard]] const Timer& top() const noexcept { return slots_[heap_.front()].timer; }

    static constexpr unsigned slot_bits = 24;
    static constexpr std::uint64_t max_slots = std::uint64_t{1} << slot_bits;

    /// Adds a timer; `id` must be new, non-zero and below 2^40. Returns its reference.
    TimerRef add(Ticks deadline, std::uint64_t id, Pid target, Envelope* e, bool as_send) {
        BEDLAM_ASSERT(id != 0 && id < (std::uint64_t{1} << (64 - slot_bits)));
        std::uint32_t slot = 0;
        if (free_.empty()) {
            if (slots_.size() >= max_slots) {
                throw std::length_error("more than 16,777,216 timers pending at once");
            }
            slot = static_cast<std::uint32_t>(slots_.size());
            slots_.emplace_back();
        } else {
            slot = free_.back();
            free_.pop_back();
        }
        Slot& s = slots_[slot];
        s.timer = Timer{deadline, id, target, e, as_send, false};
        s.heap_index = static_cast<std::uint32_t>(heap_.size());
        heap_.push_back(slot);
        sift_up(s.heap_index);
        return TimerRef{(id << slot_bits) | slot};
    }

    /// The slot a reference names (tests and diagnostics).
    static std::uint32_t slot_of(TimerRef ref) noexcept {
        return static_cast<std::uint32_t>(ref.id & (max_slots - 1));
    }

    /// Removes the timer `ref` names if it is still pending.
    std::optional<Timer> remove(TimerRef ref) {
        const std::uint32_t slot = slot_of(ref);
        if (ref.id == 0 || slot >= slots_.size() || slots_[slot].timer.id != ref.id >> slot_bits) {
            return std::nullopt;
        }
        return take(slot);
    }

    /// Removes and returns the first timer. Requires !empty().
    Timer pop() { return take(heap_.front()); }

    /// Moves the first timer's deadline later by `delay` and marks it skewed.
    void delay_top(Ticks delay) {
        BEDLAM_ASSERT(delay >= 0);
        Timer& t = slots_[heap_.front()].timer;
        t.deadline += delay;
        t.skewed = true;
        sift_down(0);
    }

    /// Calls f(timer) for every pending timer (teardown), in no particular order.
    template <typename F>
    void for_each(F&& f) const {
        for (std::uint32_t slot : heap_) {
            f(slots_[slot].timer);
        }
    }

private:
    struct Slot {
        Timer timer;
        std::uint32_t heap_index = 0;
    };

    [[nodiscard]] bool before(std::uint32_t a, std::uint32_t b) const noexcept {
        const Timer& x = slots_[a].timer;
        const Timer& y = slots_[b].timer;
        return x.deadline != y.deadline ? x.deadline < y.deadline : x.id < y.id;
    }

    void place(std::size_t index, std::uint32_t slot) noexcept {
        heap_[index] = slot;
        slots_[slot].heap_index = static_cast<std::uint32_t>(index);
    }

    void sift_up(std::size_t index) noexcept {
        const std::uint32_t slot = heap_[index];
        while (index > 0) {
            const std::size_t parent = (index - 1) / 2;
            if (!before(slot, heap_[parent])) {
                break;
            }
            place(index, heap_[parent]);
            index = parent;
        }
        place(index, slot);
    }

    void sift_down(std::size_t index) noexcept {
        const std::uint32_t slot = heap_[index];
        const std::size_t n = heap_.size();
        for (;;) {
            std::size_t child = 2 * index + 1;
            if (child >= n) {
                break;
            }
            if (child + 1 < n && before(heap_[child + 1], heap_[child])) {
                ++child;
            }
            if (!before(heap_[child], slot)) {
                break;
            }
            place(index, heap_[child]);
            index = child;
        }
        place(index, slot);
    }

    Timer take(std::uint32_t slot) {
        Slot& s = slots_[slot];
        const Timer out = s.timer;
        const std::size_t index = s.heap_index;
        const std::uint32_t last = heap_.back();
        heap_.pop_back();
        if (index < heap_.size()) {
            place(index, last);
            if (index > 0 && before(last, heap_[(index - 1) / 2])) {
                sift_up(index);
            } else {
                sift_down(index);
            }
        }
        s.timer.id = 0;
        s.timer.envelope = nullptr;
        free_.push_back(slot);
        return out;
    }

    std::vector<Slot> slots_;
    std::vector<std::uint32_t> heap_;  // Slot indices in heap order.
    std::vector<std::uint32_t> free_;  // Free slots, reused last-freed first.
};

}  // namespace bedlam::detail
