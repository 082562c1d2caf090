#include "weir/connectors/file_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "testing/fake_operator_context.h"
#include "testing/test_util.h"
#include "weir/detail/source_operator.h"

namespace weir {
namespace {

using ::testing::HasSubstr;
using detail::OperatorSnapshot;
using detail::OperatorState;
using detail::SourceStatus;
using testing::TempDir;
using testing::WriteFile;

using FileCoordinator = detail::SourceCoordinator<std::string, FileSourceSplit, FileEnumeratorState>;
using FileOperator = detail::SourceReaderOperator<std::string, FileSourceSplit, FileEnumeratorState>;

class Collect final : public detail::BatchConsumer<std::string> {
 public:
  void Accept(detail::Batch<std::string>& batch) override {
    lines.insert(lines.end(), batch.records.begin(), batch.records.end());
  }
  void AcceptWatermark(int64_t w) override { watermarks.push_back(w); }
  void AcceptWatermarkStatus(bool idle) override { statuses.push_back(idle); }
  std::vector<bool> statuses;
  std::vector<std::string> lines;
  std::vector<int64_t> watermarks;
};

// The enumerator of a FileSource, as the JobMaster keeps it.
struct Enumerator {
  Enumerator(const FileSource& source, int parallelism, const std::string* state = nullptr)
      : coordinator(std::make_shared<const FileSource>(source), "files", parallelism, &config,
                    FileSystem::Default()) {
    start = coordinator.Start(state != nullptr, state);
  }
  Configuration config;
  FileCoordinator coordinator;
  Status start;
};

// One reader subtask.
struct Reader {
  Reader(const FileSource& source, Enumerator& e, int index, int parallelism,
         const OperatorState& restored = {},
         std::optional<WatermarkStrategy<std::string>> strategy = std::nullopt)
      : ctx(index, parallelism), op(std::make_shared<const FileSource>(source), strategy) {
    ctx.set_source_coordinator(&e.coordinator);
    op.Setup(&ctx);
    op.SetTypedOutput(&out);
    op.InitializeState(restored);
    op.Open();
  }
  SourceStatus RunToEnd(size_t batch = 5) {
    for (int i = 0; i < 100000; ++i) {
      SourceStatus s = op.EmitNext(batch);
      if (s != SourceStatus::kMoreAvailable) return s;
    }
    ADD_FAILURE() << "the reader never stopped";
    return SourceStatus::kMoreAvailable;
  }
  OperatorState Snapshot(int64_t id) {
    OperatorSnapshot s;
    op.SnapshotState(id, &s);
    return s.state;
  }
  testing::FakeOperatorContext ctx;
  FileOperator op;
  Collect out;
};

std::string Lines(const std::string& prefix, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += prefix + std::to_string(i) + "\n";
  return s;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(FileSourceTest, ReadsEveryFileOfADirectoryOnceAcrossReadersThenEnds) {
  TempDir dir;
  WriteFile(dir.Join("a.txt"), Lines("a", 30));
  WriteFile(dir.Join("b.txt"), Lines("b", 20));
  WriteFile(dir.Join("c.txt"), "c0\r\nc1\nlast without newline");
  WriteFile(dir.Join(".hidden"), "skip me\n");
  WriteFile(dir.Join("_in-progress"), "skip me\n");
  FileSource source = FileSource::ForTextLines(dir.path());
  Enumerator e(source, 2);
  ASSERT_TRUE(e.start.ok()) << e.start.ToString();
  Reader r0(source, e, 0, 2), r1(source, e, 1, 2);
  EXPECT_EQ(r0.RunToEnd(), SourceStatus::kEndOfInput);
  EXPECT_EQ(r1.RunToEnd(), SourceStatus::kEndOfInput);
  std::vector<std::string> all = r0.out.lines;
  all.insert(all.end(), r1.out.lines.begin(), r1.out.lines.end());
  std::vector<std::string> expected;
  for (int i = 0; i < 30; ++i) expected.push_back("a" + std::to_string(i));
  for (int i = 0; i < 20; ++i) expected.push_back("b" + std::to_string(i));
  expected.insert(expected.end(), {"c0", "c1", "last without newline"});
  EXPECT_EQ(Sorted(all), Sorted(expected));
  EXPECT_FALSE(r0.out.lines.empty());
  EXPECT_FALSE(r1.out.lines.empty()) << "the second reader got no file";
}

TEST(FileSourceTest, ASingleFileIsOneSplit) {
  TempDir dir;
  WriteFile(dir.Join("one.txt"), Lines("x", 7));
  FileSource source = FileSource::ForTextLines(dir.Join("one.txt"));
  Enumerator e(source, 1);
  Reader r(source, e, 0, 1);
  EXPECT_EQ(r.RunToEnd(3), SourceStatus::kEndOfInput);
  EXPECT_EQ(r.out.lines.size(), 7u);
  EXPECT_EQ(r.out.lines.front(), "x0");
}

TEST(FileSourceTest, AMissingPathFailsWithAnErrorNamingIt) {
  TempDir dir;
  FileSource source = FileSource::ForTextLines(dir.Join("nope"));
  Enumerator e(source, 1);
  ASSERT_FALSE(e.start.ok());
  EXPECT_THAT(e.start.ToString(), HasSubstr(dir.Join("nope")));
  EXPECT_THAT(e.start.ToString(), HasSubstr("does not exist"));
}

TEST(FileSourceTest, AFileThatVanishedBeforeItIsReadFailsTheReaderNamingIt) {
  TempDir dir;
  WriteFile(dir.Join("gone.txt"), "x\n");
  FileSource source = FileSource::ForTextLines(dir.path());
  Enumerator e(source, 1);
  ASSERT_TRUE(FileSystem::Default()->DeleteFile(dir.Join("gone.txt")).ok());
  Reader r(source, e, 0, 1);
  try {
    r.RunToEnd();
    ADD_FAILURE() << "no error";
  } catch (const detail::OperatorError& err) {
    EXPECT_THAT(err.what(), HasSubstr(dir.Join("gone.txt")));
  }
}

// A checkpoint in the middle of a file: the restored reader starts at the first line after
// the ones emitted before it, whatever the batch sizes, and the enumerator still knows what
// it handed out.
TEST(FileSourceTest, ARestoreNeitherSkipsNorRepeatsALine) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  TempDir dir;
  WriteFile(dir.Join("a.txt"), Lines("a", 500));
  WriteFile(dir.Join("b.txt"), Lines("b", 300));
  FileSource source = FileSource::ForTextLines(dir.path());
  for (int round = 0; round < 20; ++round) {
    Enumerator e(source, 1);
    Reader r(source, e, 0, 1);
    for (size_t n = rng() % 40; n > 0; --n) r.op.EmitNext(1 + rng() % 50);
    auto enum_state = e.coordinator.Snapshot(7);
    ASSERT_TRUE(enum_state.ok());
    OperatorState state = r.Snapshot(7);
    std::vector<std::string> before = r.out.lines;
    r.op.EmitNext(10);  // after the checkpoint: read again after the restore

    Enumerator restored_e(source, 1, &*enum_state);
    ASSERT_TRUE(restored_e.start.ok()) << restored_e.start.ToString();
    Reader restored(source, restored_e, 0, 1, state);
    EXPECT_EQ(restored.RunToEnd(1 + rng() % 50), SourceStatus::kEndOfInput);
    std::vector<std::string> all = before;
    all.insert(all.end(), restored.out.lines.begin(), restored.out.lines.end());
    std::vector<std::string> expected;
    for (int i = 0; i < 500; ++i) expected.push_back("a" + std::to_string(i));
    for (int i = 0; i < 300; ++i) expected.push_back("b" + std::to_string(i));
    ASSERT_EQ(all, expected) << "round " << round;
  }
}

TEST(FileSourceTest, MonitoringPicksUpNewFilesAndRemembersOldOnesAcrossARestore) {
  TempDir dir;
  WriteFile(dir.Join("1.txt"), Lines("one", 3));
  FileSource source =
      FileSource::ForTextLines(dir.path()).MonitorContinuously(std::chrono::milliseconds(10));
  Enumerator e(source, 1);
  Reader r(source, e, 0, 1);
  EXPECT_EQ(r.RunToEnd(), SourceStatus::kNothingAvailable);
  EXPECT_EQ(r.out.lines.size(), 3u);

  WriteFile(dir.Join("2.txt"), Lines("two", 4));
  ASSERT_TRUE(e.coordinator.RunPeriodic(1'000).ok());  // schedules the first call
  ASSERT_TRUE(e.coordinator.RunPeriodic(2'000).ok());
  EXPECT_EQ(r.RunToEnd(), SourceStatus::kNothingAvailable);
  EXPECT_EQ(r.out.lines.size(), 7u);

  auto enum_state = e.coordinator.Snapshot(3);
  ASSERT_TRUE(enum_state.ok());
  OperatorState state = r.Snapshot(3);
  Enumerator restored_e(source, 1, &*enum_state);
  Reader restored(source, restored_e, 0, 1, state);
  WriteFile(dir.Join("3.txt"), Lines("three", 2));
  ASSERT_TRUE(restored_e.coordinator.RunPeriodic(1'000).ok());
  ASSERT_TRUE(restored_e.coordinator.RunPeriodic(2'000).ok());
  EXPECT_EQ(restored.RunToEnd(), SourceStatus::kNothingAvailable);
  EXPECT_EQ(restored.out.lines, (std::vector<std::string>{"three0", "three1"}));
}

// A file assigned after the enumerator's snapshot for checkpoint 5 is in neither the
// enumerator's state nor (until the reader's own snapshot for 5) the reader's.
TEST(FileSourceTest, ASplitAssignedAfterTheEnumeratorSnapshotWaitsForTheReaderSnapshot) {
  TempDir dir;
  FileSource source =
      FileSource::ForTextLines(dir.path()).MonitorContinuously(std::chrono::milliseconds(10));
  Enumerator e(source, 1);
  Reader r(source, e, 0, 1);
  EXPECT_EQ(r.RunToEnd(), SourceStatus::kNothingAvailable);
  auto enum_state = e.coordinator.Snapshot(5);
  ASSERT_TRUE(enum_state.ok());
  WriteFile(dir.Join("late.txt"), Lines("late", 2));
  ASSERT_TRUE(e.coordinator.RunPeriodic(1'000).ok());
  ASSERT_TRUE(e.coordinator.RunPeriodic(2'000).ok());
  EXPECT_EQ(r.RunToEnd(), SourceStatus::kNothingAvailable);
  EXPECT_TRUE(r.out.lines.empty()) << "read a split assigned after the enumerator's snapshot";
  OperatorState state = r.Snapshot(5);
  ASSERT_EQ(state.size(), 1u);
  EXPECT_TRUE(state[0].elements.empty());
  EXPECT_EQ(r.RunToEnd(), SourceStatus::kNothingAvailable);
  EXPECT_EQ(r.out.lines, (std::vector<std::string>{"late0", "late1"}));
  // The enumerator state of checkpoint 5 has not handed the file out: a restore reads it.
  FileEnumeratorState decoded;
  ASSERT_TRUE(DecodeFromString(*enum_state, decoded));
  EXPECT_TRUE(decoded.pending.empty());
  EXPECT_TRUE(decoded.seen.empty());
}

// Per-split watermarks: the reader's is the minimum over its splits; a finished split leaves
// the minimum.
TEST(FileSourceTest, TheReadersWatermarkIsTheMinimumOverItsUnfinishedSplits) {
  TempDir dir;
  WriteFile(dir.Join("a.txt"), "100\n200\n300\n");
  WriteFile(dir.Join("b.txt"), "50\n60\n");
  FileSource source = FileSource::ForTextLines(dir.path());
  auto strategy = WatermarkStrategy<std::string>::ForMonotonousTimestamps().WithTimestampAssigner(
      [](const std::string& line) { return std::stoll(line); });
  // Both files at once, restored into one reader: b from the start, a at its second line.
  std::string enum_state = EncodeToString(
      FileEnumeratorState{{}, {dir.Join("a.txt"), dir.Join("b.txt")}});
  Enumerator e(source, 1, &enum_state);
  OperatorState state = {detail::OperatorStateList{
      "file-splits",
      detail::OperatorStateList::Mode::kSplit,
      {EncodeToString(FileSourceSplit{dir.Join("b.txt"), 0}),
       EncodeToString(FileSourceSplit{dir.Join("a.txt"), 4})}}};
  Reader r(source, e, 0, 1, state, strategy);
  r.op.EmitNext(2);  // b: 50, 60
  r.op.OnPeriodicTime(1);
  EXPECT_TRUE(r.out.watermarks.empty()) << "a, not read yet, holds the watermark back";
  r.op.EmitNext(1);  // b ends and leaves the minimum; a: 200
  r.op.OnPeriodicTime(2);
  ASSERT_FALSE(r.out.watermarks.empty());
  EXPECT_EQ(r.out.watermarks.back(), 199);
  EXPECT_EQ(r.out.lines, (std::vector<std::string>{"50", "60", "200"}));
}

// WithIdleness: a reader that emits nothing for the timeout is idle until its next record.
TEST(FileSourceTest, AReaderWithoutRecordsForTheIdleTimeoutMarksItsOutputIdle) {
  TempDir dir;
  FileSource source =
      FileSource::ForTextLines(dir.path()).MonitorContinuously(std::chrono::milliseconds(10));
  auto strategy = WatermarkStrategy<std::string>::ForMonotonousTimestamps()
                      .WithTimestampAssigner([](const std::string& l) { return std::stoll(l); })
                      .WithIdleness(std::chrono::milliseconds(100));
  Enumerator e(source, 1);
  Reader r(source, e, 0, 1, {}, strategy);
  // Polled before each periodic call, as its task does when it is not backpressured:
  // idleness counts only the time the reader was polled.
  EXPECT_EQ(r.op.EmitNext(10), SourceStatus::kNothingAvailable);
  r.op.OnPeriodicTime(50);
  EXPECT_TRUE(r.out.statuses.empty());
  EXPECT_EQ(r.op.EmitNext(10), SourceStatus::kNothingAvailable);
  r.op.OnPeriodicTime(150);
  EXPECT_EQ(r.out.statuses, (std::vector<bool>{true}));
  WriteFile(dir.Join("1.txt"), "5\n");
  ASSERT_TRUE(e.coordinator.RunPeriodic(1'000).ok());
  ASSERT_TRUE(e.coordinator.RunPeriodic(2'000).ok());
  r.op.EmitNext(10);
  EXPECT_EQ(r.out.lines, (std::vector<std::string>{"5"}));
  EXPECT_EQ(r.out.statuses, (std::vector<bool>{true, false}));
}

}  // namespace
}  // namespace weir
