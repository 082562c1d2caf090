// SnapshotBuffers: a column's list and the sort's scratch given back come back empty with
// their memory; a new list has room for copies like its column's last ones; buffers far
// larger than what they held, and empty ones, are not kept; of two given back the larger
// stays; lists go back and forth between threads (which TSan checks).
#include "state/snapshot_buffers.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace weir {
namespace {

CachedWriteList Filled(size_t copies, size_t value_size = 5) {
  CachedWriteList list;
  list.Reserve(copies);
  for (size_t i = 0; i < copies; ++i) {
    list.Add("key-" + std::to_string(i), true, std::string(value_size, 'v'));
  }
  return list;
}

TEST(SnapshotBuffersTest, AListGivenBackComesBackEmptyWithItsMemory) {
  SnapshotBuffers buffers;
  CachedWriteList first = buffers.TakeList(0, 200'000);
  EXPECT_TRUE(first.empty());
  EXPECT_GE(first.capacity(), 200'000u);
  EXPECT_EQ(buffers.HeldBytes(), 0u);

  first = Filled(200'000);  // 8 MB: above what is kept whatever it held
  const size_t held = first.HeldBytes();
  buffers.Give(0, std::move(first));
  EXPECT_EQ(buffers.HeldBytes(), held);

  CachedWriteList again = buffers.TakeList(0, 200'000);
  EXPECT_TRUE(again.empty());
  EXPECT_EQ(again.HeldBytes(), held);  // the same memory, not grown
  EXPECT_EQ(buffers.HeldBytes(), 0u);
  again.Add("k", true, "v");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].key, "k");
  EXPECT_EQ(again[0].value, "v");
}

// Grown as they fill, copies move again at every doubling: a new list has room for copies
// the size of its column's last ones, or of a short key and value before any came back.
TEST(SnapshotBuffersTest, ANewListHasRoomForCopiesOfTheSizeItsColumnsLastOnesHad) {
  SnapshotBuffers buffers;
  CachedWriteList first = buffers.TakeList(1, 1'000);
  EXPECT_GE(first.HeldBytes(), 1'000 * CachedWriteList::BytesOf(15, 15));
  for (int i = 0; i < 1'000; ++i) first.Add(std::string(100, 'k'), true, std::string(100, 'v'));
  buffers.Give(0, buffers.TakeList(0, 10));  // column 0: short copies, none given back

  CachedWriteList other = buffers.TakeList(2, 1'000);  // column 2: nothing came back yet
  EXPECT_LT(other.HeldBytes(), first.HeldBytes());
  buffers.Give(1, std::move(first));
  CachedWriteList third = buffers.TakeList(1, 3'000);  // the one given back, grown
  const size_t held = third.HeldBytes();
  EXPECT_GE(held, 3'000 * CachedWriteList::BytesOf(100, 100));
  for (int i = 0; i < 3'000; ++i) third.Add(std::string(100, 'k'), true, std::string(100, 'v'));
  EXPECT_EQ(third.HeldBytes(), held);  // it did not grow
}

TEST(SnapshotBuffersTest, BuffersFarLargerThanWhatTheyHeldAndEmptyOnesAreNotKept) {
  SnapshotBuffers buffers;
  buffers.Give(0, buffers.TakeList(0, 2'000'000));  // 16 MB of offsets for nothing
  EXPECT_EQ(buffers.HeldBytes(), 0u);
  CachedWriteList one = buffers.TakeList(0, 2'000'000);
  one.Add("k", true, "v");
  buffers.Give(0, std::move(one));
  EXPECT_EQ(buffers.HeldBytes(), 0u);
  buffers.Give(0, CachedWriteList());  // what a snapshot's written list leaves
  EXPECT_EQ(buffers.HeldBytes(), 0u);

  KeyOrderScratch scratch;
  scratch.positions.reserve(1'000'000);  // 24 MB for ten positions
  scratch.positions.resize(10);
  buffers.Give(std::move(scratch), 10);
  EXPECT_EQ(buffers.HeldBytes(), 0u);

  // Small buffers are kept whatever they held.
  CachedWriteList small = buffers.TakeList(0, 1'000);
  buffers.Give(0, std::move(small));
  EXPECT_GT(buffers.HeldBytes(), 0u);
}

// A scratch's last sort may be a state with few dirty values, or none (list and map states
// have no cached values): what the largest sort filled decides.
TEST(SnapshotBuffersTest, SortScratchIsKeptForTheLargestSortInIt) {
  SnapshotBuffers buffers;
  CachedWriteList large = Filled(50'000);
  CachedWriteList empty;
  KeyOrderScratch scratch = buffers.TakeSortScratch();
  large.SortByKey(scratch);
  empty.SortByKey(scratch);
  const size_t held = scratch.HeldBytes();
  EXPECT_GE(held, 50'000 * sizeof(key_order_detail::Position));
  buffers.Give(std::move(scratch), std::max(large.size(), empty.size()));
  EXPECT_EQ(buffers.HeldBytes(), held);
  KeyOrderScratch again = buffers.TakeSortScratch();
  EXPECT_EQ(again.HeldBytes(), held);
  EXPECT_EQ(buffers.HeldBytes(), 0u);
}

// Two snapshots written at a time take a list each; one list per column is kept, the larger.
TEST(SnapshotBuffersTest, OfTwoListsGivenBackForAColumnTheLargerStays) {
  SnapshotBuffers buffers;
  CachedWriteList a = buffers.TakeList(0, 100);
  CachedWriteList b = buffers.TakeList(0, 300'000);
  a = Filled(100);
  b = Filled(300'000);
  const size_t larger = b.HeldBytes();
  buffers.Give(0, std::move(b));
  buffers.Give(0, std::move(a));
  EXPECT_EQ(buffers.HeldBytes(), larger);
  for (int i = 0; i < 20; ++i) buffers.Give(0, Filled(1'000));
  EXPECT_EQ(buffers.HeldBytes(), larger);
}

TEST(SnapshotBuffersTest, AListForAColumnNeverTakenIsNotKept) {
  SnapshotBuffers buffers;
  buffers.Give(3, Filled(1'000));
  EXPECT_EQ(buffers.HeldBytes(), 0u);
}

// A snapshot takes lists on the task thread and gives them back on the snapshot thread; run
// under TSan, this checks the pool's locking.
TEST(SnapshotBuffersTest, ListsGoBackAndForthBetweenThreads) {
  SnapshotBuffers buffers;
  for (size_t c = 0; c < 2; ++c) buffers.Give(c, buffers.TakeList(c, 100));
  std::thread snapshot_thread([&] {
    for (int i = 0; i < 200; ++i) buffers.Give(i % 2, Filled(100));
  });
  for (int i = 0; i < 200; ++i) {
    CachedWriteList list = buffers.TakeList(i % 2, 100);
    ASSERT_TRUE(list.empty());
    ASSERT_GE(list.capacity(), 100u);
    list.Add("k", true, std::to_string(i));
    ASSERT_EQ(list[0].value, std::to_string(i));
    buffers.Give(i % 2, std::move(list));
  }
  snapshot_thread.join();
  EXPECT_GT(buffers.HeldBytes(), 0u);
}

}  // namespace
}  // namespace weir
