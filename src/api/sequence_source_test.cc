#include "api/sequence_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "testing/fake_operator_context.h"
#include "weir/detail/source_operator.h"
#include "testing/test_util.h"

namespace weir {
namespace {

using detail::OperatorSnapshot;
using detail::OperatorState;
using detail::OperatorStateList;
using detail::SourceStatus;

using SequenceOperator =
    detail::SourceReaderOperator<int64_t, SequenceSplit, std::vector<SequenceSplit>>;
using SequenceCoordinator =
    detail::SourceCoordinator<int64_t, SequenceSplit, std::vector<SequenceSplit>>;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

class Collect final : public detail::BatchConsumer<int64_t> {
 public:
  void Accept(detail::Batch<int64_t>& batch) override {
    ++batches;
    EXPECT_FALSE(batch.has_timestamps());
    all.insert(all.end(), batch.records.begin(), batch.records.end());
  }
  void AcceptWatermark(int64_t watermark) override { watermarks.push_back(watermark); }
  void AcceptWatermarkStatus(bool) override {}
  std::vector<int64_t> all;
  std::vector<int64_t> watermarks;
  int batches = 0;
};

bool HasSplitList(const OperatorState& state) {
  return std::any_of(state.begin(), state.end(),
                     [](const OperatorStateList& l) { return l.name == "sequence-splits"; });
}

// One parallel instance of the source with its context and output, and an enumerator of its
// own (as the job's: a fresh one hands split i to subtask i and has nothing for others; a
// restored one, from a checkpoint taken before enumerators, nothing at all).
struct Subtask {
  Subtask(int64_t from, int64_t to, int index, int parallelism, const OperatorState& restored = {})
      : ctx(index, parallelism),
        sequence(std::make_shared<const SequenceSource>(from, to)),
        coordinator(sequence, "sequence", parallelism, &ctx.configuration(), FileSystem::Default()),
        source(sequence, std::nullopt) {
    Status started = coordinator.Start(HasSplitList(restored), nullptr);
    EXPECT_TRUE(started.ok()) << started.ToString();
    ctx.set_source_coordinator(&coordinator);
    source.Setup(&ctx);
    source.SetTypedOutput(&out);
    source.InitializeState(restored);
    source.Open();
  }

  // Emits until the end (batches of `batch`); returns how many calls it took.
  int RunToEnd(size_t batch = 1000) {
    int calls = 0;
    while (true) {
      ++calls;
      if (source.EmitNext(batch) == SourceStatus::kEndOfInput) return calls;
    }
  }
  OperatorState Snapshot() {
    OperatorSnapshot s;
    source.SnapshotState(1, &s);
    return s.state;
  }

  testing::FakeOperatorContext ctx;
  std::shared_ptr<const SequenceSource> sequence;
  SequenceCoordinator coordinator;
  SequenceOperator source;
  Collect out;
};

std::vector<int64_t> Range(int64_t from, int64_t to_inclusive) {
  std::vector<int64_t> v;
  for (int64_t i = from; i <= to_inclusive; ++i) v.push_back(i);
  return v;
}

// What the runtime hands each new subtask on a rescale: split list elements dealt round robin,
// and the (possibly empty) list present for every subtask.
std::vector<OperatorState> Redistribute(const std::vector<OperatorState>& old, int parallelism) {
  std::vector<OperatorState> out(static_cast<size_t>(parallelism));
  for (auto& st : out) st.push_back(OperatorStateList{"sequence-splits", {}, {}});
  size_t index = 0;
  for (const auto& st : old) {
    for (const auto& list : st) {
      EXPECT_EQ(list.mode, OperatorStateList::Mode::kSplit);
      for (const auto& e : list.elements) {
        out[index++ % static_cast<size_t>(parallelism)][0].elements.push_back(e);
      }
    }
  }
  return out;
}

TEST(SequenceSourceTest, OneSubtaskEmitsTheWholeRangeInOrderThenEnds) {
  Subtask s(5, 14, 0, 1);
  EXPECT_EQ(s.source.EmitNext(4), SourceStatus::kMoreAvailable);
  EXPECT_EQ(s.out.all, Range(5, 8));
  EXPECT_EQ(s.source.EmitNext(4), SourceStatus::kMoreAvailable);
  EXPECT_EQ(s.source.EmitNext(4), SourceStatus::kEndOfInput);
  EXPECT_EQ(s.out.all, Range(5, 14));
  EXPECT_EQ(s.out.batches, 3);
  // After the end nothing more comes out.
  EXPECT_EQ(s.source.EmitNext(4), SourceStatus::kEndOfInput);
  EXPECT_EQ(s.out.all.size(), 10u);
}

TEST(SequenceSourceTest, SplitsTheRangeContiguouslyWithoutGapsOrOverlap) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 200; ++round) {
    auto from = static_cast<int64_t>(rng() % 2000) - 1000;
    int64_t to = from + static_cast<int64_t>(rng() % 300) - 1;  // may be empty (to < from)
    int p = 1 + static_cast<int>(rng() % 9);
    std::vector<int64_t> all;
    size_t smallest = SIZE_MAX, largest = 0;
    for (int i = 0; i < p; ++i) {
      Subtask s(from, to, i, p);
      s.RunToEnd(1 + rng() % 50);
      const auto& got = s.out.all;
      // One contiguous run per subtask, following the previous subtask's.
      for (size_t k = 1; k < got.size(); ++k) ASSERT_EQ(got[k], got[k - 1] + 1);
      if (!got.empty() && !all.empty()) {
        ASSERT_EQ(got.front(), all.back() + 1);
      }
      smallest = std::min(smallest, got.size());
      largest = std::max(largest, got.size());
      all.insert(all.end(), got.begin(), got.end());
    }
    ASSERT_EQ(all, to >= from ? Range(from, to) : std::vector<int64_t>{})
        << "from " << from << " to " << to << " p " << p;
    ASSERT_LE(largest - std::min(smallest, largest), 1u) << "splits are not even";
  }
}

TEST(SequenceSourceTest, MoreSubtasksThanNumbersLeavesSomeIdle) {
  std::vector<int64_t> all;
  for (int i = 0; i < 5; ++i) {
    Subtask s(0, 2, i, 5);
    EXPECT_EQ(s.RunToEnd(), 1);
    all.insert(all.end(), s.out.all.begin(), s.out.all.end());
  }
  EXPECT_EQ(all, Range(0, 2));
}

TEST(SequenceSourceTest, RestoreResumesRightAfterTheLastEmittedNumber) {
  Subtask first(0, 99, 0, 1);
  first.source.EmitNext(30);
  first.source.EmitNext(7);
  OperatorState state = first.Snapshot();
  first.source.EmitNext(10);  // emitted after the checkpoint: replayed after the restore

  Subtask restored(0, 99, 0, 1, state);
  restored.RunToEnd(13);
  EXPECT_EQ(restored.out.all, Range(37, 99));
}

TEST(SequenceSourceTest, ASnapshotAfterTheEndRestoresToNothingRatherThanAFreshStart) {
  Subtask first(0, 9, 0, 1);
  first.RunToEnd();
  OperatorState state = first.Snapshot();
  ASSERT_EQ(state.size(), 1u);
  EXPECT_TRUE(state[0].elements.empty());
  Subtask restored(0, 9, 0, 1, state);
  EXPECT_EQ(restored.RunToEnd(), 1);
  EXPECT_TRUE(restored.out.all.empty());
}

TEST(SequenceSourceTest, StateOfAnotherOperatorIsIgnored) {
  OperatorState other = {OperatorStateList{"something-else", {}, {"garbage"}}};
  Subtask s(0, 9, 0, 1, other);
  s.RunToEnd();
  EXPECT_EQ(s.out.all, Range(0, 9));
}

TEST(SequenceSourceTest, RescaledSplitsEmitEveryRemainingNumberExactlyOnce) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  for (int old_p : {1, 3, 4}) {
    for (int new_p : {1, 2, 3, 5, 8}) {
      // Run the old job part way, checkpoint every subtask.
      std::vector<OperatorState> old_states;
      std::vector<int64_t> before;  // emitted up to the checkpoint
      for (int i = 0; i < old_p; ++i) {
        Subtask s(0, 999, i, old_p);
        for (size_t n = rng() % 5; n > 0; --n) s.source.EmitNext(1 + rng() % 100);
        before.insert(before.end(), s.out.all.begin(), s.out.all.end());
        old_states.push_back(s.Snapshot());
      }
      std::vector<int64_t> after;
      auto states = Redistribute(old_states, new_p);
      for (int i = 0; i < new_p; ++i) {
        Subtask s(0, 999, i, new_p, states[static_cast<size_t>(i)]);
        s.RunToEnd(1 + rng() % 100);
        after.insert(after.end(), s.out.all.begin(), s.out.all.end());
      }
      std::vector<int64_t> all = before;
      all.insert(all.end(), after.begin(), after.end());
      std::sort(all.begin(), all.end());
      ASSERT_EQ(all, Range(0, 999)) << old_p << " -> " << new_p;
    }
  }
}

TEST(SequenceSourceTest, ARangeEndingAtInt64MaxEnds) {
  Subtask s(kMax - 5, kMax, 0, 1);
  int calls = 0;
  while (s.source.EmitNext(4) != SourceStatus::kEndOfInput) {
    ASSERT_LT(++calls, 10) << "the source never reached its end";
  }
  EXPECT_EQ(s.out.all,
            (std::vector<int64_t>{kMax - 5, kMax - 4, kMax - 3, kMax - 2, kMax - 1, kMax}));
}

TEST(SequenceSourceTest, TheFullInt64RangeSplitsAtZero) {
  // 2^64 numbers over 2 subtasks: [min, -1] and [0, max]. Check each split's ends.
  Subtask low(kMin, kMax, 0, 2);
  low.source.EmitNext(2);
  EXPECT_EQ(low.out.all, (std::vector<int64_t>{kMin, kMin + 1}));
  OperatorState low_state = low.Snapshot();
  Subtask high(kMin, kMax, 1, 2);
  high.source.EmitNext(2);
  EXPECT_EQ(high.out.all, (std::vector<int64_t>{0, 1}));
  OperatorState high_state = high.Snapshot();

  std::pair<int64_t, int64_t> split;
  ASSERT_EQ(low_state[0].elements.size(), 1u);
  ASSERT_TRUE(DecodeFromString(low_state[0].elements[0], split));
  EXPECT_EQ(split, (std::pair<int64_t, int64_t>{kMin + 2, -1}));
  ASSERT_EQ(high_state[0].elements.size(), 1u);
  ASSERT_TRUE(DecodeFromString(high_state[0].elements[0], split));
  EXPECT_EQ(split, (std::pair<int64_t, int64_t>{2, kMax}));
}

TEST(SequenceSourceTest, ARestoredSplitEndingAtInt64MaxResumesAndEnds) {
  OperatorState state = {
      OperatorStateList{"sequence-splits",
                        OperatorStateList::Mode::kSplit,
                        {EncodeToString(std::pair<int64_t, int64_t>{kMax - 2, kMax}),
                         // A finished split written as (last + 1, last) is accepted and skipped.
                         EncodeToString(std::pair<int64_t, int64_t>{11, 10})}}};
  Subtask s(0, kMax, 0, 1, state);
  EXPECT_EQ(s.RunToEnd(), 1);
  EXPECT_EQ(s.out.all, (std::vector<int64_t>{kMax - 2, kMax - 1, kMax}));
}

TEST(SequenceSourceTest, ARestoredSplitOutsideTheSequenceIsRefused) {
  // An altered checkpoint (or another job's) would emit numbers the job never had, perhaps
  // without end.
  for (auto split : {std::pair<int64_t, int64_t>{5, kMax}, std::pair<int64_t, int64_t>{-3, 4},
                     std::pair<int64_t, int64_t>{50, 49}}) {
    OperatorState state = {OperatorStateList{
        "sequence-splits", OperatorStateList::Mode::kSplit, {EncodeToString(split)}}};
    testing::FakeOperatorContext ctx(0, 1);
    SequenceOperator source(std::make_shared<const SequenceSource>(0, 20), std::nullopt);
    source.Setup(&ctx);
    try {
      source.InitializeState(state);
      ADD_FAILURE() << "accepted [" << split.first << ", " << split.second << "]";
    } catch (const detail::StateError& e) {
      EXPECT_TRUE(e.status().IsPermanent());
      EXPECT_NE(std::string(e.what()).find("outside the source's sequence [0, 20]"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(SequenceSourceTest, ACorruptSplitIsAStateError) {
  for (const std::string& bad :
       {std::string("x"), EncodeToString(std::pair<int64_t, int64_t>{50, 10})}) {
    OperatorState state = {OperatorStateList{"sequence-splits", {}, {bad}}};
    testing::FakeOperatorContext ctx(0, 1);
    SequenceOperator source(std::make_shared<const SequenceSource>(0, 9), std::nullopt);
    source.Setup(&ctx);
    EXPECT_THROW(source.InitializeState(state), detail::StateError);
  }
}

}  // namespace
}  // namespace weir
