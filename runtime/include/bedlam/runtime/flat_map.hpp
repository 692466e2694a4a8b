// A small open-addressing hash map from non-zero 64-bit keys (pid ids, monitor references,
// serials) to trivially copyable values: linear probing, deletion by backward shift, the first
// entry in the map itself and more slots from the block pool. It replaces node-based maps on hot paths (links, monitors, a supervisor's
// children by pid), where every insert and erase used to be a malloc or a free.
//
// Iteration visits slots in index order. The hash is fixed (not std::hash) and so are growth and
// deletion, so the order depends only on the sequence of operations: the same on every run and
// with every compiler, as the simulator's determinism requires.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "bedlam/runtime/assert.hpp"
#include "bedlam/runtime/block_pool.hpp"

namespace bedlam::detail {

template <typename V>
class FlatMap64 {
    static_assert(std::is_trivially_copyable_v<V> && std::is_trivially_destructible_v<V>);

public:
    FlatMap64() = default;
    FlatMap64(const FlatMap64&) = delete;
    FlatMap64& operator=(const FlatMap64&) = delete;
    FlatMap64(FlatMap64&& other) noexcept { take(other); }
    FlatMap64& operator=(FlatMap64&& other) noexcept {
        if (this != &other) {
            release();
            take(other);
        }
        return *this;
    }
    ~FlatMap64() { release(); }

    [[nodiscard]] std::uint32_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

    [[nodiscard]] V* find(std::uint64_t key) noexcept {
        const std::uint32_t i = locate(key);
        return i == npos ? nullptr : &slots_[i].value;
    }
    [[nodiscard]] const V* find(std::uint64_t key) const noexcept {
        const std::uint32_t i = locate(key);
        return i == npos ? nullptr : &slots_[i].value;
    }
    [[nodiscard]] bool contains(std::uint64_t key) const noexcept { return locate(key) != npos; }

    /// Inserts key -> value; false (and no change) if the key is already there.
    bool insert(std::uint64_t key, V value) {
        BEDLAM_ASSERT(key != 0);
        if ((size_ + 1) * 4 > capacity_ * 3) {
            grow();
        }
        std::uint32_t i = home(key);
        while (slots_[i].key != 0) {
            if (slots_[i].key == key) {
                return false;
            }
            i = (i + 1) & (capacity_ - 1);
        }
        slots_[i].key = key;
        slots_[i].value = value;
        ++size_;
        return true;
    }

    /// Inserts or overwrites.
    void assign(std::uint64_t key, V value) {
        if (V* v = find(key); v != nullptr) {
            *v = value;
        } else {
            insert(key, value);
        }
    }

    /// Removes the key; true if it was there (and its value is stored in *out if given).
    bool erase(std::uint64_t key, V* out = nullptr) noexcept {
        std::uint32_t i = locate(key);
        if (i == npos) {
            return false;
        }
        if (out != nullptr) {
            *out = slots_[i].value;
        }
        // Backward shift: pull later entries of the probe run into the hole.
        const std::uint32_t mask = capacity_ - 1;
        std::uint32_t j = i;
        for (;;) {
            j = (j + 1) & mask;
            if (slots_[j].key == 0) {
                break;
            }
            const std::uint32_t h = home(slots_[j].key);
            // Move j back to i unless its home lies cyclically in (i, j].
            const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
            if (!stays) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i].key = 0;
        --size_;
        return true;
    }

    void clear() noexcept {
        for (std::uint32_t i = 0; i < capacity_; ++i) {
            slots_[i].key = 0;
        }
        size_ = 0;
    }

    /// Calls f(key, value) for every entry, in slot order. f must not change the map.
    /// Calls f(key, value) in increasing key order (pids and references are allocated in
    /// increasing order, so this is creation order): what a process's exit signals and DOWNs
    /// follow, so that no hash order leaks into what other processes see. Copies and sorts only
    /// when there are two entries or more.
    template <typename F>
    void for_each_in_key_order(F&& f) const {
        if (size_ <= 1) {
            for_each(f);
            return;
        }
        std::vector<std::pair<std::uint64_t, V>> entries;
        entries.reserve(size_);
        for_each([&entries](std::uint64_t key, const V& value) { entries.emplace_back(key, value); });
        std::sort(entries.begin(), entries.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [key, value] : entries) {
            f(key, value);
        }
    }

    template <typename F>
    void for_each(F&& f) const {
        for (std::uint32_t i = 0; i < capacity_; ++i) {
            if (slots_[i].key != 0) {
                f(slots_[i].key, slots_[i].value);
            }
        }
    }

private:
    struct Slot {
        std::uint64_t key;  // 0: empty.
        V value;
    };
    static constexpr std::uint32_t npos = ~std::uint32_t{0};
    /// The first capacity, held in the map itself: one entry (growth comes at three quarters).
    /// Most maps hold one (a worker's link to its supervisor, the supervisor's monitor during a
    /// shutdown), and then cost no allocation.
    static constexpr std::uint32_t inline_capacity = 2;

    [[nodiscard]] std::uint32_t home(std::uint64_t key) const noexcept {
        std::uint64_t h = key * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 32U;
        return static_cast<std::uint32_t>(h) & (capacity_ - 1);
    }

    [[nodiscard]] std::uint32_t locate(std::uint64_t key) const noexcept {
        if (size_ == 0 || key == 0) {
            return npos;
        }
        for (std::uint32_t i = home(key);; i = (i + 1) & (capacity_ - 1)) {
            if (slots_[i].key == key) {
                return i;
            }
            if (slots_[i].key == 0) {
                return npos;
            }
        }
    }

    void grow() {
        const std::uint32_t old_capacity = capacity_;
        Slot* old = slots_;
        capacity_ = old_capacity == 0 ? inline_capacity : old_capacity * 2;
        slots_ = capacity_ == inline_capacity
                     ? inline_
                     : static_cast<Slot*>(pool_allocate(sizeof(Slot) * capacity_));
        std::memset(static_cast<void*>(slots_), 0, sizeof(Slot) * capacity_);
        size_ = 0;
        for (std::uint32_t i = 0; i < old_capacity; ++i) {
            if (old[i].key != 0) {
                insert(old[i].key, old[i].value);
            }
        }
        if (old != nullptr && old != inline_) {
            pool_deallocate(old, sizeof(Slot) * old_capacity);
        }
    }

    void release() noexcept {
        if (slots_ != nullptr && slots_ != inline_) {
            pool_deallocate(slots_, sizeof(Slot) * capacity_);
        }
        slots_ = nullptr;
        capacity_ = 0;
        size_ = 0;
    }

    // Leaves `other` empty.
    void take(FlatMap64& other) noexcept {
        if (other.slots_ == other.inline_) {
            std::memcpy(static_cast<void*>(inline_), other.inline_, sizeof(inline_));
            slots_ = inline_;
        } else {
            slots_ = other.slots_;
        }
        capacity_ = other.capacity_;
        size_ = other.size_;
        other.slots_ = nullptr;
        other.capacity_ = 0;
        other.size_ = 0;
    }

    Slot inline_[inline_capacity];  // Uninitialised until used (grow clears it).
    Slot* slots_ = nullptr;
    std::uint32_t capacity_ = 0;  // 0 or a power of two.
    std::uint32_t size_ = 0;
};

}  // namespace bedlam::detail
