// detail::TimerQueue against a reference model (an ordered map): random starts, cancels, pops and
// skews must give the same order and the same answers, stale references included.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "bedlam/runtime/rng.hpp"
#include "bedlam/runtime/timer_queue.hpp"

namespace bedlam {
namespace {

using detail::TimerQueue;
using Key = std::pair<Ticks, std::uint64_t>;  // (deadline, id), as the queue orders them.

TEST(TimerQueue, MatchesOrderedMapUnderRandomOperations) {
    Rng rng(7);
    TimerQueue queue;
    std::map<Key, Pid> model;
    std::map<std::uint64_t, Ticks> deadline_of;  // Pending ids in the model.
    std::vector<std::pair<TimerRef, std::uint64_t>> refs;  // Every ref issued, and its id.
    std::uint64_t next_id = 1;
    for (int op = 0; op < 20'000; ++op) {
        const std::uint64_t pick = rng.below(10);
        if (pick < 4) {
            // Few distinct deadlines, so that ties (broken by id) are common.
            const Ticks deadline = static_cast<Ticks>(rng.below(50));
            const Pid target{rng.below(1000) + 1};
            const std::uint64_t id = next_id++;
            refs.emplace_back(queue.add(deadline, id, target, nullptr, false), id);
            model.emplace(Key{deadline, id}, target);
            deadline_of.emplace(id, deadline);
        } else if (pick < 7 && !refs.empty()) {
            const auto [ref, id] = refs[rng.below(refs.size())];
            const std::optional<TimerQueue::Timer> got = queue.remove(ref);
            auto it = deadline_of.find(id);
            ASSERT_EQ(got.has_value(), it != deadline_of.end()) << "op " << op;
            if (got) {
                EXPECT_EQ(got->id, id);
                EXPECT_EQ(got->deadline, it->second);
                model.erase(Key{it->second, id});
                deadline_of.erase(it);
            }
        } else if (pick < 9 && !model.empty()) {
            ASSERT_FALSE(queue.empty());
            const TimerQueue::Timer t = queue.pop();
            const auto first = model.begin();
            EXPECT_EQ(t.deadline, first->first.first) << "op " << op;
            EXPECT_EQ(t.id, first->first.second) << "op " << op;
            EXPECT_EQ(t.target, first->second);
            deadline_of.erase(t.id);
            model.erase(first);
        } else if (!model.empty()) {
            // The interposer's skew: the first timer moves later.
            const Ticks skew = static_cast<Ticks>(rng.below(20));
            auto node = model.extract(model.begin());
            EXPECT_EQ(queue.top().id, node.key().second);
            queue.delay_top(skew);
            node.key().first += skew;
            deadline_of[node.key().second] = node.key().first;
            model.insert(std::move(node));
        }
        ASSERT_EQ(queue.size(), model.size());
        if (!model.empty()) {
            ASSERT_EQ(queue.top().id, model.begin()->first.second) << "op " << op;
        }
    }
}

TEST(TimerQueue, StaleReferenceToAReusedSlotCancelsNothing) {
    TimerQueue queue;
    const TimerRef first = queue.add(10, 1, Pid{1}, nullptr, false);
    ASSERT_TRUE(queue.remove(first).has_value());
    const TimerRef second = queue.add(20, 2, Pid{2}, nullptr, false);
    EXPECT_EQ(TimerQueue::slot_of(second), TimerQueue::slot_of(first));  // The slot is reused...
    EXPECT_FALSE(queue.remove(first).has_value());  // ...but the old reference is dead.
    EXPECT_EQ(queue.size(), 1U);
    EXPECT_EQ(queue.top().id, 2U);
}

}  // namespace
}  // namespace bedlam
