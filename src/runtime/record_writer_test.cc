// Tests of the partitioning in include/weir/detail/record_writer.h, which the runtime wires
// between tasks.
#include "weir/detail/record_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "state/key_group_range.h"
#include "testing/test_util.h"
#include "weir/data_stream.h"

namespace weir {
namespace {

using detail::Batch;
using detail::BatchBase;
using detail::ForwardWriter;
using detail::KeyGroupSelector;
using detail::RecordWriter;
using detail::RoundRobinSelector;

// An OutputChannel that records what is pushed, with a settable target batch size.
class FakeChannel final : public detail::OutputChannel {
 public:
  explicit FakeChannel(size_t target) : target_(target) {}

  std::unique_ptr<BatchBase> TakeRecycled() override {
    if (recycled_.empty()) return nullptr;
    auto b = std::move(recycled_.back());
    recycled_.pop_back();
    return b;
  }
  void PushBatch(std::unique_ptr<BatchBase> batch) override {
    pushed_ptrs.push_back(batch.get());
    auto& b = static_cast<Batch<int64_t>&>(*batch);
    pushed.push_back(b.records);
    pushed_timestamps.push_back(b.timestamps);
    data_ptrs.push_back(b.records.data());
    log.push_back("batch of " + std::to_string(b.records.size()));
    kept_.push_back(std::move(batch));
  }
  void PushWatermark(int64_t watermark) override {
    log.push_back("watermark " + std::to_string(watermark));
  }
  void PushWatermarkStatus(bool idle) override { log.push_back(idle ? "idle" : "active"); }
  size_t target_batch_size() const override { return target_; }

  void set_target(size_t t) { target_ = t; }
  void Recycle(std::unique_ptr<BatchBase> b) {
    b->clear();
    recycled_.push_back(std::move(b));
  }
  std::vector<int64_t> All() const {
    std::vector<int64_t> out;
    for (const auto& b : pushed) out.insert(out.end(), b.begin(), b.end());
    return out;
  }

  std::vector<std::vector<int64_t>> pushed;
  std::vector<std::vector<int64_t>> pushed_timestamps;
  std::vector<const BatchBase*> pushed_ptrs;
  std::vector<const int64_t*> data_ptrs;
  std::vector<std::string> log;  // batches and events, in order

 private:
  size_t target_;
  std::vector<std::unique_ptr<BatchBase>> recycled_;
  std::vector<std::unique_ptr<BatchBase>> kept_;
};

std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> v;
  for (int64_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

int64_t KeyOf(int64_t v) { return v; }

// Hands `records` (with `timestamps`, if any) to a writer as one batch.
template <typename Writer>
void Send(Writer& w, std::vector<int64_t> records, std::vector<int64_t> timestamps = {}) {
  Batch<int64_t> b;
  b.records = std::move(records);
  b.timestamps = std::move(timestamps);
  w.Accept(b);
}

TEST(KeyGroupSelectorTest, SendsEveryKeyToTheSubtaskOwningItsKeyGroup) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  for (int max_parallelism : {1, 7, 128, 1000}) {
    for (int parallelism : {1, 2, 3, 5, 7}) {
      if (parallelism > max_parallelism) continue;
      KeyGroupSelector<int64_t, int64_t (*)(int64_t)> select(&KeyOf, max_parallelism, parallelism);
      for (int i = 0; i < 2000; ++i) {
        auto key = static_cast<int64_t>(rng());
        int channel = select(key);
        ASSERT_GE(channel, 0);
        ASSERT_LT(channel, parallelism);
        int kg = detail::KeyGroupForHash(detail::Hash64(EncodeToString(key)), max_parallelism);
        ASSERT_GE(kg, 0);
        ASSERT_LT(kg, max_parallelism);
        // The subtask whose KeyGroupRange holds the key group: where its state is restored.
        EXPECT_TRUE(KeyGroupRange::ForSubtask(max_parallelism, parallelism, channel).Contains(kg))
            << "key " << key << " kg " << kg << " p " << parallelism << " maxp " << max_parallelism;
      }
    }
  }
}

TEST(KeyGroupSelectorTest, KeyGroupRangesOfAllSubtasksTileTheKeyGroups) {
  for (int max_parallelism : {1, 7, 128, 1000}) {
    for (int parallelism = 1; parallelism <= std::min(max_parallelism, 12); ++parallelism) {
      int next = 0;
      for (int s = 0; s < parallelism; ++s) {
        KeyGroupRange r = KeyGroupRange::ForSubtask(max_parallelism, parallelism, s);
        EXPECT_EQ(r.start, next);
        for (int kg = r.start; kg <= r.end; ++kg) {
          ASSERT_EQ(detail::OperatorIndexForKeyGroup(kg, max_parallelism, parallelism), s);
        }
        next = r.end + 1;
      }
      EXPECT_EQ(next, max_parallelism);
    }
  }
}

TEST(KeyGroupSelectorTest, EqualKeysGoToTheSameChannelAndKeysSpreadOverAllChannels) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  auto by_mod = [](int64_t v) { return v % 1000; };
  KeyGroupSelector<int64_t, decltype(by_mod)> select(by_mod, 128, 4);
  std::map<int64_t, int> channel_of_key;
  std::vector<int> per_channel(4, 0);
  for (int i = 0; i < 20000; ++i) {
    auto v = static_cast<int64_t>(rng() % 1'000'000);
    int c = select(v);
    auto [it, fresh] = channel_of_key.emplace(by_mod(v), c);
    ASSERT_EQ(it->second, c) << "key " << by_mod(v) << " went to two channels";
    if (fresh) ++per_channel[static_cast<size_t>(c)];
  }
  for (int n : per_channel) EXPECT_GT(n, 100);  // 1000 keys over 4 channels
}

TEST(KeyGroupSelectorTest, RunsOfOneKeyGoWhereTheKeyAloneGoes) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  KeyGroupSelector<int64_t, int64_t (*)(int64_t)> select(&KeyOf, 128, 5);
  // 0 first: the key a selector that remembers the last one starts out holding.
  std::vector<int64_t> keys = {0, 0, 0, 7, 7, 0, -1, -1, 7};
  for (int i = 0; i < 500; ++i) {
    auto key = static_cast<int64_t>(rng() % 16);
    for (uint64_t run = rng() % 5; run > 0; --run) keys.push_back(key);
  }
  for (int64_t key : keys) {
    KeyGroupSelector<int64_t, int64_t (*)(int64_t)> fresh(&KeyOf, 128, 5);
    ASSERT_EQ(select(key), fresh(key)) << "key " << key << " seed " << seed;
  }
}

TEST(KeyGroupSelectorTest, TheSameKeyMapsTheSameWayInEverySelector) {
  KeyGroupSelector<std::string, std::string (*)(const std::string&)> a(
      [](const std::string& s) { return s; }, 128, 3);
  KeyGroupSelector<std::string, std::string (*)(const std::string&)> b(
      [](const std::string& s) { return s; }, 128, 3);
  for (const char* k : {"apple", "banana", "", "a longer key with spaces"}) {
    EXPECT_EQ(a(std::string(k)), b(std::string(k))) << k;
  }
}

TEST(RoundRobinSelectorTest, SpreadsRecordsEvenlyStartingAtTheSubtasksOffset) {
  RoundRobinSelector select(4, 6);  // starts at 6 % 4 = 2
  std::vector<int> order;
  for (int i = 0; i < 6; ++i) order.push_back(select(0));
  EXPECT_EQ(order, (std::vector<int>{2, 3, 0, 1, 2, 3}));

  RoundRobinSelector many(5, 1);
  std::vector<int> counts(5, 0);
  for (int i = 0; i < 1003; ++i) ++counts[static_cast<size_t>(many(i))];
  for (int c : counts) {
    EXPECT_GE(c, 200);
    EXPECT_LE(c, 201);
  }
}

TEST(RecordWriterTest, PushesABatchWhenItReachesTheChannelsTargetSize) {
  FakeChannel ch(4);
  RecordWriter<int64_t, RoundRobinSelector> w({&ch}, RoundRobinSelector(1, 0));
  auto records = Range(0, 3);
  Send(w, std::move(records));
  EXPECT_TRUE(ch.pushed.empty());
  EXPECT_TRUE(w.has_pending());
  records = Range(3, 10);
  Send(w, std::move(records));
  ASSERT_EQ(ch.pushed.size(), 2u);
  EXPECT_EQ(ch.pushed[0], Range(0, 4));
  EXPECT_EQ(ch.pushed[1], Range(4, 8));
  EXPECT_TRUE(w.has_pending());  // 8, 9
}

TEST(RecordWriterTest, FlushAllPushesPartlyFilledBatchesOnly) {
  FakeChannel a(100), b(100), c(100);
  RecordWriter<int64_t, RoundRobinSelector> w({&a, &b, &c}, RoundRobinSelector(3, 0));
  auto records = Range(0, 4);  // a: 0, 3; b: 1; c: 2
  Send(w, std::move(records));
  w.FlushAll();
  EXPECT_FALSE(w.has_pending());
  EXPECT_EQ(a.pushed, (std::vector<std::vector<int64_t>>{{0, 3}}));
  EXPECT_EQ(b.pushed, (std::vector<std::vector<int64_t>>{{1}}));
  EXPECT_EQ(c.pushed, (std::vector<std::vector<int64_t>>{{2}}));
  w.FlushAll();  // nothing pending: no empty batches
  EXPECT_EQ(a.pushed.size(), 1u);
  EXPECT_EQ(b.pushed.size(), 1u);
}

TEST(RecordWriterTest, ReadsTheTargetSizeAgainForEachNewBatch) {
  FakeChannel ch(2);
  RecordWriter<int64_t, RoundRobinSelector> w({&ch}, RoundRobinSelector(1, 0));
  auto records = Range(0, 2);
  Send(w, std::move(records));
  ASSERT_EQ(ch.pushed.size(), 1u);
  ch.set_target(5);  // the consumer's capacity grew
  records = Range(2, 6);
  Send(w, std::move(records));
  EXPECT_EQ(ch.pushed.size(), 1u);
  records = Range(6, 7);
  Send(w, std::move(records));
  ASSERT_EQ(ch.pushed.size(), 2u);
  EXPECT_EQ(ch.pushed[1], Range(2, 7));
}

TEST(RecordWriterTest, ReusesBatchesTheConsumerRecycled) {
  FakeChannel ch(2);
  auto spare = std::make_unique<Batch<int64_t>>();
  const BatchBase* spare_ptr = spare.get();
  ch.Recycle(std::move(spare));
  RecordWriter<int64_t, RoundRobinSelector> w({&ch}, RoundRobinSelector(1, 0));
  auto records = Range(0, 2);
  Send(w, std::move(records));
  ASSERT_EQ(ch.pushed_ptrs.size(), 1u);
  EXPECT_EQ(ch.pushed_ptrs[0], spare_ptr);
}

TEST(RecordWriterTest, KeyedWriterKeepsEveryRecordOfAKeyOnOneChannelInOrder) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  FakeChannel a(7), b(7), c(7);
  auto key = [](int64_t v) { return v % 10; };
  using Selector = KeyGroupSelector<int64_t, decltype(key)>;
  RecordWriter<int64_t, Selector> w({&a, &b, &c}, Selector(key, 128, 3));
  std::vector<int64_t> all;
  int64_t next = 0;
  for (int round = 0; round < 50; ++round) {
    std::vector<int64_t> records;
    for (size_t n = rng() % 20; n > 0; --n) records.push_back(next++);
    all.insert(all.end(), records.begin(), records.end());
    Send(w, std::move(records));
  }
  w.FlushAll();
  std::vector<int64_t> received;
  std::map<int64_t, const FakeChannel*> channel_of_key;
  for (const FakeChannel* ch : {&a, &b, &c}) {
    std::vector<int64_t> got = ch->All();
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
    for (int64_t v : got) {
      auto [it, fresh] = channel_of_key.emplace(key(v), ch);
      EXPECT_EQ(it->second, ch) << "key " << key(v) << " on two channels";
    }
    received.insert(received.end(), got.begin(), got.end());
    for (const auto& batch : ch->pushed) EXPECT_LE(batch.size(), 7u);
  }
  std::sort(received.begin(), received.end());
  EXPECT_EQ(received, all);
}

TEST(ForwardWriterTest, HandsOverALargeBatchWholeWithoutCopyingRecords) {
  FakeChannel ch(8);
  ForwardWriter<int64_t> w(&ch);
  auto records = Range(0, 10);
  const int64_t* data = records.data();
  Send(w, std::move(records));
  ASSERT_EQ(ch.pushed.size(), 1u);
  EXPECT_EQ(ch.pushed[0], Range(0, 10));
  EXPECT_EQ(ch.data_ptrs[0], data) << "the records were copied, not swapped";
  EXPECT_FALSE(w.has_pending());
}

// Every key group belongs to the one consumer subtask: no key needs selecting or hashing.
TEST(KeyedInputWriterTest, IntoOneSubtaskHandsBatchesOverWholeWithoutSelectingKeys) {
  FakeChannel ch(8);
  int selected = 0;
  auto key = [&selected](int64_t v) {
    ++selected;
    return v % 10;
  };
  detail::WiredConsumer wired = detail::KeyedInputWriter<int64_t, int64_t>(key)({&ch}, 0, 128);
  auto& w = *static_cast<detail::BatchConsumer<int64_t>*>(wired.consumer);
  auto records = Range(0, 10);
  const int64_t* data = records.data();
  Send(w, std::move(records));
  Send(w, Range(10, 13));
  wired.writer->FlushAll();
  EXPECT_EQ(ch.pushed, (std::vector<std::vector<int64_t>>{Range(0, 10), Range(10, 13)}));
  EXPECT_EQ(ch.data_ptrs[0], data) << "the records were copied, not swapped";
  EXPECT_EQ(selected, 0);
}

// With more subtasks each record goes to the owner of its key's key group.
TEST(KeyedInputWriterTest, IntoSeveralSubtasksPartitionsByKeyGroup) {
  FakeChannel a(4), b(4);
  auto key = [](int64_t v) { return v % 10; };
  detail::WiredConsumer wired = detail::KeyedInputWriter<int64_t, int64_t>(key)({&a, &b}, 0, 128);
  Send(*static_cast<detail::BatchConsumer<int64_t>*>(wired.consumer), Range(0, 100));
  wired.writer->FlushAll();
  KeyGroupSelector<int64_t, decltype(key)> owner(key, 128, 2);
  for (int c = 0; c < 2; ++c) {
    for (int64_t v : (c == 0 ? a : b).All()) EXPECT_EQ(owner(v), c) << "record " << v;
  }
  EXPECT_EQ(a.All().size() + b.All().size(), 100u);
}

TEST(ForwardWriterTest, SmallBatchesAccumulateUntilTheTargetSize) {
  FakeChannel ch(8);
  ForwardWriter<int64_t> w(&ch);
  for (int i = 0; i < 3; ++i) {
    auto records = Range(i * 3, i * 3 + 3);
    Send(w, std::move(records));
  }
  // 3 + 3 reach 6 < 8; the third brings 9 >= 8.
  ASSERT_EQ(ch.pushed.size(), 1u);
  EXPECT_EQ(ch.pushed[0], Range(0, 9));
}

TEST(ForwardWriterTest, FlushAllPushesThePartialBatch) {
  FakeChannel ch(100);
  ForwardWriter<int64_t> w(&ch);
  EXPECT_FALSE(w.has_pending());
  auto records = Range(0, 3);
  Send(w, std::move(records));
  EXPECT_TRUE(w.has_pending());
  EXPECT_TRUE(ch.pushed.empty());
  w.FlushAll();
  EXPECT_FALSE(w.has_pending());
  EXPECT_EQ(ch.pushed, (std::vector<std::vector<int64_t>>{Range(0, 3)}));
  w.FlushAll();
  EXPECT_EQ(ch.pushed.size(), 1u);
}

TEST(ForwardWriterTest, KeepsRecordOrderAcrossManyBatches) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  FakeChannel ch(16);
  ForwardWriter<int64_t> w(&ch);
  int64_t next = 0;
  for (int round = 0; round < 200; ++round) {
    std::vector<int64_t> records;
    for (size_t n = rng() % 40; n > 0; --n) records.push_back(next++);
    Send(w, std::move(records));
    if (rng() % 10 == 0) ch.set_target(1 + rng() % 32);
  }
  w.FlushAll();
  EXPECT_EQ(ch.All(), Range(0, next));
}

TEST(TeeTest, EveryConsumerGetsEveryRecord) {
  FakeChannel a(1000), b(1000);
  ForwardWriter<int64_t> wa(&a);
  ForwardWriter<int64_t> wb(&b);
  detail::Tee<int64_t> tee({&wa, &wb});
  auto records = Range(0, 5);
  Send(tee, std::move(records));
  wa.FlushAll();
  wb.FlushAll();
  EXPECT_EQ(a.All(), Range(0, 5));
  EXPECT_EQ(b.All(), Range(0, 5));
}

TEST(RecordWriterTest, TimestampsTravelWithTheirRecords) {
  FakeChannel a(100), b(100);
  RecordWriter<int64_t, RoundRobinSelector> w({&a, &b}, RoundRobinSelector(2, 0));
  Send(w, Range(0, 4), {100, 101, 102, 103});
  w.FlushAll();
  ASSERT_EQ(a.pushed.size(), 1u);
  EXPECT_EQ(a.pushed[0], (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(a.pushed_timestamps[0], (std::vector<int64_t>{100, 102}));
  EXPECT_EQ(b.pushed_timestamps[0], (std::vector<int64_t>{101, 103}));
}

TEST(RecordWriterTest, NeverMixesRecordsWithAndWithoutTimestampsInABatch) {
  FakeChannel ch(100);
  RecordWriter<int64_t, RoundRobinSelector> w({&ch}, RoundRobinSelector(1, 0));
  Send(w, Range(0, 2), {7, 8});
  Send(w, Range(2, 4));  // none: the timestamped batch goes first
  Send(w, Range(4, 5), {9});
  w.FlushAll();
  ASSERT_EQ(ch.pushed.size(), 3u);
  EXPECT_EQ(ch.pushed_timestamps[0], (std::vector<int64_t>{7, 8}));
  EXPECT_EQ(ch.pushed[1], Range(2, 4));
  EXPECT_TRUE(ch.pushed_timestamps[1].empty());
  EXPECT_EQ(ch.pushed_timestamps[2], (std::vector<int64_t>{9}));
  EXPECT_EQ(ch.All(), Range(0, 5));
}

TEST(ForwardWriterTest, TimestampsTravelWithTheirRecordsAndNeverMix) {
  FakeChannel ch(4);
  ForwardWriter<int64_t> w(&ch);
  Send(w, Range(0, 10), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // handed over whole
  Send(w, Range(10, 11), {10});
  Send(w, Range(11, 12));
  w.FlushAll();
  ASSERT_EQ(ch.pushed.size(), 3u);
  EXPECT_EQ(ch.pushed_timestamps[0], Range(0, 10));
  EXPECT_EQ(ch.pushed_timestamps[1], (std::vector<int64_t>{10}));
  EXPECT_TRUE(ch.pushed_timestamps[2].empty());
  EXPECT_EQ(ch.All(), Range(0, 12));
}

TEST(RecordWriterTest, AWatermarkGoesToEveryChannelAfterTheRecordsBeforeIt) {
  FakeChannel a(100), b(100);
  RecordWriter<int64_t, RoundRobinSelector> w({&a, &b}, RoundRobinSelector(2, 0));
  Send(w, Range(0, 3), {1, 2, 3});
  w.AcceptWatermark(3);
  w.AcceptWatermarkStatus(true);
  EXPECT_EQ(a.log, (std::vector<std::string>{"batch of 2", "watermark 3", "idle"}));
  EXPECT_EQ(b.log, (std::vector<std::string>{"batch of 1", "watermark 3", "idle"}));
}

TEST(ForwardWriterTest, AWatermarkFollowsTheRecordsBeforeIt) {
  FakeChannel ch(100);
  ForwardWriter<int64_t> w(&ch);
  Send(w, Range(0, 3));
  w.AcceptWatermark(-5);
  w.AcceptWatermarkStatus(false);
  EXPECT_EQ(ch.log, (std::vector<std::string>{"batch of 3", "watermark -5", "active"}));
}

TEST(TeeTest, EveryConsumerGetsTheTimestampsToo) {
  FakeChannel a(1000), b(1000);
  ForwardWriter<int64_t> wa(&a);
  ForwardWriter<int64_t> wb(&b);
  detail::Tee<int64_t> tee({&wa, &wb});
  Send(tee, Range(0, 3), {5, 6, 7});
  wa.FlushAll();
  wb.FlushAll();
  EXPECT_EQ(a.pushed_timestamps[0], (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(b.pushed_timestamps[0], (std::vector<int64_t>{5, 6, 7}));
}

}  // namespace
}  // namespace weir
