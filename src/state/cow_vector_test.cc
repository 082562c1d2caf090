#include "weir/detail/cow_vector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <utility>

namespace weir::detail {
namespace {

using Vector = CowVector<int64_t>;

Vector Filled(size_t n) {
  Vector v;
  v.Resize(n);
  for (size_t i = 0; i < n; ++i) v.Mutable(i) = static_cast<int64_t>(i);
  return v;
}

TEST(CowVectorTest, AFrozenViewKeepsItsValuesWhileTheOwnerWrites) {
  Vector v = Filled(3000);
  Vector::Frozen frozen = v.Freeze();
  const int64_t* before = &v[5];
  v.Mutable(5) = -5;
  v.Mutable(2500) = -2500;
  EXPECT_NE(&v[5], before);  // the chunk was copied for the view
  EXPECT_EQ(frozen[5], 5);
  EXPECT_EQ(frozen[2500], 2500);
  EXPECT_EQ(v[5], -5);
  EXPECT_EQ(v[2500], -2500);
}

// Once the snapshot has let go of its view, the owner writes its chunks in place: a checkpoint
// costs the task thread copies only while it is being written.
TEST(CowVectorTest, WritesAfterTheViewsAreGoneDoNotCopy) {
  Vector v = Filled(3000);
  { Vector::Frozen frozen = v.Freeze(); }
  const int64_t* before = &v[5];
  v.Mutable(5) = -5;
  EXPECT_EQ(&v[5], before);
  EXPECT_EQ(v[5], -5);
  EXPECT_EQ(v[6], 6);

  // A later freeze starts a new epoch: a view alive again means copies again.
  Vector::Frozen again = v.Freeze();
  v.Mutable(6) = -6;
  EXPECT_NE(&v[6], before);
  EXPECT_EQ(again[5], -5);
  EXPECT_EQ(again[6], 6);
}

TEST(CowVectorTest, ACopyOfAViewIsAViewAndAMovedFromOneIsNot) {
  Vector v = Filled(10);
  Vector::Frozen copy;
  {
    Vector::Frozen frozen = v.Freeze();
    copy = frozen;
  }
  v.Mutable(1) = -1;
  EXPECT_EQ(copy[1], 1);

  Vector w = Filled(10);
  Vector::Frozen moved_from = w.Freeze();
  Vector::Frozen taken = std::move(moved_from);
  taken = Vector::Frozen();  // both are gone now
  const int64_t* before = &w[1];
  w.Mutable(1) = -1;
  EXPECT_EQ(&w[1], before);
}

TEST(CowVectorTest, AViewMayOutliveItsVector) {
  Vector::Frozen frozen;
  {
    Vector v = Filled(2048);
    frozen = v.Freeze();
    v.Mutable(2047) = 0;
  }
  EXPECT_EQ(frozen.size(), 2048u);
  EXPECT_EQ(frozen[2047], 2047);
}

// A snapshot thread reads a view and drops it while the owner writes every element, round
// after round (for TSan: the drop must order the reads before the owner's writes in place).
TEST(CowVectorTest, AReaderDroppingItsViewWhileTheOwnerWritesSeesItsFreeze) {
  constexpr size_t kSize = 8 * Vector::kChunkSize;
  Vector v = Filled(kSize);
  for (int round = 1; round <= 50; ++round) {
    Vector::Frozen frozen = v.Freeze();
    std::atomic<bool> consistent{true};
    std::thread reader([&consistent, view = std::move(frozen), round]() mutable {
      for (size_t i = 0; i < view.size(); ++i) {
        // Round r froze the values round r-1 wrote: i for r = 1, else i * (r - 1).
        int64_t want = static_cast<int64_t>(i) * (round == 1 ? 1 : round - 1);
        if (view[i] != want) consistent = false;
      }
      view = Vector::Frozen();
    });
    for (size_t i = 0; i < kSize; ++i) v.Mutable(i) = static_cast<int64_t>(i) * round;
    reader.join();
    ASSERT_TRUE(consistent) << "round " << round;
  }
}

}  // namespace
}  // namespace weir::detail
