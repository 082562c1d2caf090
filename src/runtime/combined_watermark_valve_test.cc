#include "runtime/combined_watermark_valve.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

namespace weir {
namespace {

using Out = WatermarkValve::Output;

// Channels 0 and 1 feed input 0; channels 2 and 3 feed input 1.
const std::vector<int> kTwoInputs = {0, 0, 1, 1};

TEST(CombinedWatermarkValveTest, TheOperatorWatermarkIsTheMinimumOverBothInputs) {
  CombinedWatermarkValve v(kTwoInputs);
  EXPECT_EQ(v.num_inputs(), 2);
  EXPECT_FALSE(v.OnWatermark(0, 100).watermark);
  EXPECT_FALSE(v.OnWatermark(1, 50).watermark) << "input 1 has no watermark yet";
  EXPECT_EQ(v.input_watermark(0), 50);
  EXPECT_FALSE(v.OnWatermark(2, 30).watermark) << "channel 3 of input 1 is still at the minimum";
  EXPECT_EQ(v.OnWatermark(3, 40).watermark, 30);
  EXPECT_EQ(v.OnWatermark(2, 70).watermark, 40);
  EXPECT_EQ(v.OnWatermark(3, 80).watermark, 50) << "now input 0 holds it back";
  EXPECT_EQ(v.OnWatermark(1, 200).watermark, 70);
  EXPECT_EQ(v.watermark(), 70);
}

TEST(CombinedWatermarkValveTest, AnIdleInputIsLeftOutAndBothIdleMakeTheOperatorIdle) {
  CombinedWatermarkValve v(kTwoInputs);
  v.OnWatermark(0, 10);
  v.OnWatermark(1, 10);
  v.OnWatermark(2, 5);
  v.OnWatermark(3, 5);
  EXPECT_EQ(v.watermark(), 5);
  // Input 1 goes idle: its valve passes on its highest watermark (5, no advance), then input 1
  // leaves the minimum, and input 0's 10 is the operator's watermark.
  EXPECT_FALSE(v.OnWatermarkStatus(2, true).idle);
  Out out = v.OnWatermarkStatus(3, true);
  EXPECT_EQ(out.watermark, 10);
  EXPECT_FALSE(out.idle) << "input 0 is still active";
  EXPECT_FALSE(v.OnWatermark(0, 30).watermark) << "channel 1 of input 0 is still at 10";
  EXPECT_EQ(v.OnWatermark(1, 30).watermark, 30);
  // Input 0 idle too: the operator is idle.
  v.OnWatermarkStatus(0, true);
  out = v.OnWatermarkStatus(1, true);
  EXPECT_EQ(out.idle, true);
  EXPECT_TRUE(v.idle());
  // Input 1 active again, behind: it cannot take event time back, and the operator is active.
  out = v.OnWatermarkStatus(2, false);
  EXPECT_EQ(out.idle, false);
  EXPECT_FALSE(out.watermark);
  EXPECT_FALSE(v.OnWatermark(2, 20).watermark);
  EXPECT_EQ(v.OnWatermark(2, 35).watermark, 35);
}

TEST(CombinedWatermarkValveTest, OneInputBehavesExactlyAsItsWatermarkValve) {
  unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  for (int round = 0; round < 200; ++round) {
    int channels = 1 + static_cast<int>(rng() % 4);
    WatermarkValve plain(channels);
    CombinedWatermarkValve combined(std::vector<int>(static_cast<size_t>(channels), 0));
    std::vector<int64_t> last(static_cast<size_t>(channels), 0);
    for (int step = 0; step < 50; ++step) {
      int c = static_cast<int>(rng() % static_cast<unsigned>(channels));
      Out a, b;
      if (rng() % 4 == 0) {
        bool idle = rng() % 2 == 0;
        a = plain.OnWatermarkStatus(c, idle);
        b = combined.OnWatermarkStatus(c, idle);
      } else {
        int64_t w = last[static_cast<size_t>(c)] += static_cast<int64_t>(rng() % 10);
        a = plain.OnWatermark(c, w);
        b = combined.OnWatermark(c, w);
      }
      ASSERT_EQ(a.watermark, b.watermark) << "seed " << seed << " round " << round;
      ASSERT_EQ(a.idle, b.idle) << "seed " << seed << " round " << round;
    }
  }
}

}  // namespace
}  // namespace weir
