// KeyGroupRange: subtask ranges partition the key groups exactly as records are routed.
#include "state/key_group_range.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "weir/detail/hash.h"

namespace weir {
namespace {

TEST(KeyGroupRangeTest, SubtaskRangesPartitionTheKeyGroupsAndMatchRouting) {
  for (int max_parallelism : {1, 7, 128, 1000}) {
    for (int parallelism = 1; parallelism <= std::min(max_parallelism, 12); ++parallelism) {
      int next = 0;
      for (int i = 0; i < parallelism; ++i) {
        KeyGroupRange r = KeyGroupRange::ForSubtask(max_parallelism, parallelism, i);
        ASSERT_EQ(r.start, next) << max_parallelism << "/" << parallelism << "/" << i;
        ASSERT_FALSE(r.empty());
        for (int kg = r.start; kg <= r.end; ++kg) {
          // Records are routed by OperatorIndexForKeyGroup; the state must be where they go.
          ASSERT_EQ(detail::OperatorIndexForKeyGroup(kg, max_parallelism, parallelism), i);
        }
        next = r.end + 1;
      }
      ASSERT_EQ(next, max_parallelism);
    }
  }
  KeyGroupRange r{10, 20};
  EXPECT_EQ(r.size(), 11);
  EXPECT_TRUE(r.Contains(10));
  EXPECT_TRUE(r.Contains(20));
  EXPECT_FALSE(r.Contains(21));
  EXPECT_EQ(r.Intersect({15, 30}), (KeyGroupRange{15, 20}));
  EXPECT_TRUE(r.Intersect({21, 30}).empty());
  EXPECT_TRUE(KeyGroupRange{}.empty());
  EXPECT_EQ(r.ToString(), "[10, 20]");
}

}  // namespace
}  // namespace weir
