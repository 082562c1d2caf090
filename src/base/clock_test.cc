// ManualClock: time moves only when a test advances it, and subscribers hear about it.
#include "base/clock.h"

#include <gtest/gtest.h>

namespace weir {
namespace {

TEST(ManualClockTest, MovesOnlyWhenAdvanced) {
  ManualClock clock(5000);
  EXPECT_TRUE(clock.is_manual());
  EXPECT_EQ(clock.WallMillis(), 5000);
  int64_t start = clock.NowNanos();
  EXPECT_EQ(clock.NowNanos(), start);
  clock.AdvanceMillis(250);
  EXPECT_EQ(clock.NowNanos() - start, 250'000'000);
  EXPECT_EQ(clock.WallMillis(), 5250);
}

TEST(ManualClockTest, AdvanceNotifiesSubscribersUntilUnsubscribed) {
  ManualClock clock;
  int a = 0, b = 0;
  int id_a = clock.Subscribe([&a] { ++a; });
  int id_b = clock.Subscribe([&b] { ++b; });
  EXPECT_NE(id_a, id_b);
  clock.AdvanceMillis(1);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  clock.Unsubscribe(id_a);
  clock.AdvanceMillis(1);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
}

TEST(ManualClockTest, SubscriberMayUnsubscribeItselfWhileNotified) {
  ManualClock clock;
  int calls = 0;
  int id = -1;
  id = clock.Subscribe([&] {
    ++calls;
    clock.Unsubscribe(id);
  });
  clock.AdvanceMillis(1);
  clock.AdvanceMillis(1);
  EXPECT_EQ(calls, 1);
}

TEST(SystemClockTest, IsMonotonicAndNotManual) {
  Clock* clock = Clock::System();
  EXPECT_FALSE(clock->is_manual());
  EXPECT_EQ(clock->Subscribe([] {}), -1);
  int64_t a = clock->NowNanos();
  int64_t b = clock->NowNanos();
  EXPECT_LE(a, b);
  EXPECT_GT(clock->WallMillis(), 1'600'000'000'000) << "wall time is milliseconds since 1970";
}

}  // namespace
}  // namespace weir
