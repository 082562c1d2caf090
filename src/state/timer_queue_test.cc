// TimerQueue on its own: (timestamp, key) order whatever the registration order, one timer per
// (timestamp, key), timers added while their time is being fired, and a randomised comparison
// with an ordered set through adds, removes and pops (seed printed).
#include "state/timer_queue.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "testing/test_util.h"

namespace weir {
namespace {

using Timer = std::pair<int64_t, std::string>;

std::vector<Timer> Drain(TimerQueue& q, int64_t due) {
  std::vector<Timer> fired;
  Timer t;
  while (q.PopDue(due, &t.first, &t.second)) fired.push_back(t);
  return fired;
}

TEST(TimerQueueTest, FiresInTimestampThenKeyOrderOncePerTimer) {
  TimerQueue q;
  // Enough keys at one time to need the index, registered out of order and twice.
  for (int round = 0; round < 2; ++round) {
    for (int k = 40; k >= 0; k -= 3) q.Add(20, "k" + std::to_string(k));
    q.Add(10, "b");
    q.Add(10, "a");
  }
  EXPECT_EQ(q.size(), 16u);
  EXPECT_EQ(q.Earliest(), 10);
  EXPECT_TRUE(Drain(q, 9).empty());

  std::vector<Timer> fired = Drain(q, 20);
  ASSERT_EQ(fired.size(), 16u);
  EXPECT_EQ(fired[0], Timer(10, "a"));
  EXPECT_EQ(fired[1], Timer(10, "b"));
  for (size_t i = 3; i < fired.size(); ++i) {
    EXPECT_EQ(fired[i].first, 20);
    EXPECT_LT(fired[i - 1].second, fired[i].second);
  }
  EXPECT_TRUE(q.empty());
}

TEST(TimerQueueTest, ATimerAddedAtTheTimeBeingFiredFiresInKeyOrder) {
  TimerQueue q;
  for (const char* k : {"c", "e", "g"}) q.Add(5, k);
  Timer t;
  ASSERT_TRUE(q.PopDue(5, &t.first, &t.second));
  EXPECT_EQ(t.second, "c");
  q.Add(5, "a");  // below every waiting key
  q.Add(5, "f");  // between them
  q.Add(5, "e");  // already there
  std::vector<Timer> rest = Drain(q, 5);
  std::vector<Timer> expected = {{5, "a"}, {5, "e"}, {5, "f"}, {5, "g"}};
  EXPECT_EQ(rest, expected);
}

// A due time's keys are taken from the back without clearing their index slots: a key taken
// must not be found again (nor block its own return), and a removal from the middle or a key
// added above the smallest must leave every other timer to fire once, in order.
TEST(TimerQueueTest, KeysTakenWhileTheTimeIsDueAreGoneFromItsIndex) {
  auto key = [](int i) {
    std::string k = std::to_string(i);
    return "k" + std::string(4 - k.size(), '0') + k;
  };
  TimerQueue q;
  for (int i = 99; i >= 0; --i) q.Add(10, key(i));
  Timer t;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(q.PopDue(10, &t.first, &t.second));
    ASSERT_EQ(t.second, key(i));
    q.Remove(10, key(i));  // taken: nothing to remove
    EXPECT_EQ(q.size(), static_cast<size_t>(99 - i));
    q.Add(10, key(i));  // back, below every waiting key: where it was
    EXPECT_EQ(q.size(), static_cast<size_t>(100 - i));
    ASSERT_TRUE(q.PopDue(10, &t.first, &t.second));
    ASSERT_EQ(t.second, key(i));
  }
  q.Add(10, key(30));        // already there
  q.Remove(10, key(50));     // from the middle
  q.Add(10, key(20) + "x");  // above the smallest
  q.Add(10, key(5));         // below it
  std::vector<std::string> expected = {key(5)};
  for (int i = 10; i < 100; ++i) {
    if (i != 50) expected.push_back(key(i));
    if (i == 20) expected.push_back(key(20) + "x");
  }
  std::vector<std::string> fired;
  for (const Timer& f : Drain(q, 10)) fired.push_back(f.second);
  EXPECT_EQ(fired, expected);
  EXPECT_TRUE(q.empty());
}

TEST(TimerQueueTest, RemovedTimersNeverFireAndMayComeBack) {
  TimerQueue q;
  for (int k = 0; k < 30; ++k) q.Add(7, std::to_string(k));
  for (int k = 0; k < 30; k += 2) q.Remove(7, std::to_string(k));
  q.Remove(7, "absent");
  q.Remove(8, "0");
  q.Add(7, "4");
  EXPECT_EQ(q.size(), 16u);
  std::vector<Timer> fired = Drain(q, 7);
  std::set<std::string> keys;
  for (const Timer& t : fired) keys.insert(t.second);
  EXPECT_EQ(keys.size(), 16u);
  EXPECT_TRUE(keys.count("4"));
  EXPECT_FALSE(keys.count("6"));
}

// The queue against an ordered set, through adds, removes, pops at moving due times and
// snapshots, with key counts per timestamp on both sides of the index threshold.
TEST(TimerQueueTest, RandomisedAgainstAnOrderedSet) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  // Keys that differ early, keys that differ only past 8 bytes, and bytes of any value
  // (zeros, 0xFF) in keys of 0 to 11 bytes.
  auto make_key = [&rng](int style, int keys_per_time) {
    const uint64_t n = rng() % keys_per_time;
    if (style == 0) return "k" + std::to_string(n);
    if (style == 1) return "same-prefix-" + std::to_string(n);
    std::mt19937_64 bytes(n);
    std::string key(bytes() % 12, '\0');
    for (char& c : key) {
      const uint64_t pick = bytes() % 3;
      c = static_cast<char>(pick == 0 ? 0 : pick == 1 ? 0xFF : bytes());
    }
    return key;
  };
  std::vector<std::pair<int, int>> cases;  // keys per time, key style
  for (int keys_per_time : {3, 12, 200, 3000}) {
    for (int style : {0, 1, 2}) cases.emplace_back(keys_per_time, style);
  }
  for (auto [keys_per_time, style] : cases) {
    SCOPED_TRACE("keys " + std::to_string(keys_per_time) + " style " + std::to_string(style) +
                 " seed " + std::to_string(seed));
    TimerQueue q;
    std::set<Timer> model;
    int64_t due = 0;
    for (int op = 0; op < 30000; ++op) {
      int64_t ts = due + static_cast<int64_t>(rng() % 6) - 1;
      std::string key = make_key(style, keys_per_time);
      switch (rng() % 8) {
        case 0:
        case 1:
        case 2:
          q.Add(ts, key);
          model.emplace(ts, key);
          break;
        case 3:
          q.Remove(ts, key);
          model.erase({ts, key});
          break;
        case 4:
        case 5: {
          Timer t;
          bool popped = q.PopDue(due, &t.first, &t.second);
          bool expected = !model.empty() && model.begin()->first <= due;
          ASSERT_EQ(popped, expected);
          if (popped) {
            ASSERT_EQ(t, *model.begin());
            model.erase(model.begin());
          }
          break;
        }
        case 6:
          due += static_cast<int64_t>(rng() % 2);
          break;
        case 7: {
          auto sorted = q.Sorted();
          ASSERT_EQ(sorted.size(), model.size());
          size_t i = 0;
          for (const Timer& t : model) {
            ASSERT_EQ(sorted[i].first, t.first);
            ASSERT_EQ(sorted[i].second, t.second);
            ++i;
          }
          break;
        }
      }
      ASSERT_EQ(q.size(), model.size());
      if (!model.empty()) {
        ASSERT_EQ(q.Earliest(), model.begin()->first);
      }
    }
  }
}

}  // namespace
}  // namespace weir
