// The text file sink's two-phase commit (src/connectors/text_file_writer.cc), run by the
// operator that runs every TwoPhaseCommitSink in a job (weir/detail/two_phase_commit.h), and
// driven the way the runtime drives it: InitializeState -> records ... -> SnapshotState (+ its
// async part) -> NotifyCheckpointComplete, and recovery from a checkpoint's state after a crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/fault_injection_file_system.h"
#include "base/fault_points.h"
#include "testing/fake_operator_context.h"
#include "testing/test_util.h"
#include "weir/connectors/file_sink.h"
#include "weir/detail/sinks.h"
#include "weir/detail/two_phase_commit.h"

namespace weir {
namespace {

using detail::OperatorSnapshot;
using detail::OperatorState;
using Op = FaultInjectionFileSystem::Op;

// The text file sink, writing the test's text as it is (no newline added per record).
class RawTextSink final : public TwoPhaseCommitSink<std::string> {
 public:
  RawTextSink(std::string path, WriteMode mode) : w_(std::move(path), mode) {}
  Status Open(const SinkContext& c) override { return w_.Open(c); }
  Status Commit(std::string_view t) override { return w_.Commit(t); }
  Status Initialize(const std::vector<SinkOutput>& r) override { return w_.Initialize(r); }
  Status OnRestoreConfirmed() override { return w_.OnRestoreConfirmed(); }
  Status Write(const std::vector<std::string>& records) override {
    for (const auto& r : records) WEIR_RETURN_IF_ERROR(w_.Write(r));
    return Status::OK();
  }
  Result<std::optional<std::string>> Prepare(int64_t id) override { return w_.Prepare(id); }
  Status Persist(std::string_view t) override { return w_.Persist(t); }
  Status PersistCommitted() override { return w_.PersistCommitted(); }
  std::vector<SinkOutput> SnapshotOutputs() override { return w_.SnapshotOutputs(); }
  Status Finish() override { return w_.Finish(); }
  void Close() override { w_.Close(); }

 private:
  weir::TextFileWriter w_;
};

// The sink's operator, with each step's error returned as the Status it carries (the runtime
// would fail the task with it).
class SinkUnderTest {
 public:
  SinkUnderTest(std::string path, WriteMode mode)
      : op_(std::make_shared<RawTextSink>(std::move(path), mode)) {}

  Status Initialize(detail::OperatorContext& ctx, const OperatorState& restored) {
    op_.Setup(&ctx);
    return Run([&] { op_.InitializeState(restored); });
  }
  Status Write(std::string_view text) {
    detail::Batch<std::string> batch;
    batch.records.emplace_back(text);
    return Run([&] { op_.Accept(batch); });
  }
  Status Snapshot(int64_t id, OperatorSnapshot* out) {
    return Run([&] { op_.SnapshotState(id, out); });
  }
  Status Commit(int64_t id) {
    return Run([&] { op_.NotifyCheckpointComplete(id); });
  }
  Status Finish() {
    return Run([&] { op_.Finish(); });
  }
  void Close() { op_.Close(); }

 private:
  static Status Run(const std::function<void()>& step) {
    try {
      step();
      return Status::OK();
    } catch (const detail::OperatorError& e) {
      return Status::FromCode(e.code(), e.what());
    }
  }

  detail::TwoPhaseCommitSinkOperator<std::string> op_;
};

std::string StagingDir(const std::string& target) {
  return JoinPath(DirName(target), "." + BaseName(target) + ".pending");
}

// Union state as the runtime hands it to every subtask: all subtasks' elements in one list.
OperatorState Union(const std::vector<OperatorState>& states) {
  OperatorState out;
  for (const auto& st : states) {
    for (const auto& list : st) {
      EXPECT_EQ(list.mode, detail::OperatorStateList::Mode::kUnion);
      if (out.empty()) out.push_back(detail::OperatorStateList{list.name, list.mode, {}});
      out[0].elements.insert(out[0].elements.end(), list.elements.begin(), list.elements.end());
    }
  }
  return out;
}

class TextFileWriterTest : public ::testing::Test {
 protected:
  // One subtask's sink: a context and the writer.
  struct Sink {
    Sink(FileSystem* fs, const std::string& path, WriteMode mode, int subtask, int parallelism)
        : ctx(subtask, parallelism, fs), writer(path, mode) {}
    testing::FakeOperatorContext ctx;
    SinkUnderTest writer;
  };

  std::unique_ptr<Sink> Open(const std::string& path, const OperatorState& restored = {},
                             WriteMode mode = WriteMode::kNoOverwrite, int subtask = 0,
                             int parallelism = 1, bool checkpointing = true, int attempt = 0) {
    auto s = std::make_unique<Sink>(&fs_, path, mode, subtask, parallelism);
    Status st = Initialize(*s, restored, checkpointing, attempt);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return s;
  }
  Status Initialize(Sink& s, const OperatorState& restored, bool checkpointing = true,
                    int attempt = 0) {
    s.ctx.set_checkpointing(checkpointing).set_attempt(attempt).set_restored(!restored.empty());
    if (rewind_) s.ctx.config().Set("execution.state-recovery.rewind-output", "true");
    return s.writer.Initialize(s.ctx, restored);
  }

  // Takes checkpoint `id`: the synchronous part, then its async part (fsyncs), as a checkpoint
  // must before it can complete. Returns the state it recorded.
  OperatorState Checkpoint(Sink& s, int64_t id) {
    OperatorSnapshot snap;
    Status st = s.writer.Snapshot(id, &snap);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (snap.async_part) {
      Status a = snap.async_part();
      EXPECT_TRUE(a.ok()) << a.ToString();
    }
    return snap.state;
  }

  // Takes checkpoint `id` with one fsync of a path containing `path_part` failing: its async
  // part must fail, saying so.
  void CheckpointFailingAnFsync(Sink& s, int64_t id, const std::string& path_part) {
    fs_.InjectError(Op::kSync, path_part, Status::IOError("fsync failed"), /*count=*/1);
    OperatorSnapshot snap;
    ASSERT_TRUE(s.writer.Snapshot(id, &snap).ok());
    ASSERT_TRUE(snap.async_part);
    Status a = snap.async_part();
    EXPECT_FALSE(a.ok()) << "a checkpoint could complete counting bytes that are not durable";
    EXPECT_NE(a.ToString().find("fsync failed"), std::string::npos) << a.ToString();
  }

  // A fresh sink of `out` where "a" was committed at checkpoint 1 and `second` is written
  // since: what checkpoint 2 will stage.
  std::unique_ptr<Sink> CommittedThenWritten(const std::string& out,
                                             const std::string& second = "b\n") {
    auto s = Open(out);
    Write(*s, "a\n");
    Checkpoint(*s, 1);
    Commit(*s, 1);
    Write(*s, second);
    return s;
  }
  // Checkpoint 2's state, where "a" was committed at checkpoint 1 and `second` is staged for
  // checkpoint 2 but not committed (a savepoint, or a crash before the commit).
  OperatorState CommittedThenPrepared(const std::string& out, const std::string& second = "b\n") {
    return Checkpoint(*CommittedThenWritten(out, second), 2);
  }
  // Checkpoint 1's state, where "a" was committed at checkpoint 1 and "b" at checkpoint 2:
  // restoring it is restoring a checkpoint older than the output.
  OperatorState OlderOfTwoCommitted(const std::string& out,
                                    WriteMode mode = WriteMode::kNoOverwrite) {
    auto s = Open(out, {}, mode);
    Write(*s, "a\n");
    OperatorState state = Checkpoint(*s, 1);
    Commit(*s, 1);
    Write(*s, "b\n");
    Checkpoint(*s, 2);
    Commit(*s, 2);
    return state;
  }

  // Checkpoint 2's state holding two transactions, "a" and "b" (checkpoint 1's notification
  // was lost), both committed since, the writer gone without closing (a crash).
  OperatorState TwoCommittedWithOneCheckpoint(const std::string& out) {
    auto s = Open(out);
    Write(*s, "a\n");
    Checkpoint(*s, 1);
    Write(*s, "b\n");
    OperatorState state = Checkpoint(*s, 2);
    Commit(*s, 2);
    return state;
  }

  // Restores `state` for `out`: the output then holds `want`, and still does after a power
  // loss (what recovery wrote was made durable).
  void ExpectRestoredDurably(const std::string& out, const OperatorState& state,
                             const std::string& want) {
    auto s = Open(out, state);
    EXPECT_EQ(Read(out), want);
    ASSERT_TRUE(fs_.DropUnsyncedData().ok());
    EXPECT_EQ(Read(out), want) << "recovery declared a commit done without making it durable";
  }

  void Write(Sink& s, const std::string& text) {
    Status st = s.writer.Write(text);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void Commit(Sink& s, int64_t id) {
    Status st = s.writer.Commit(id);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  std::string Read(const std::string& path) { return testing::ReadFile(path); }

  void TearDown() override { FaultPoints::DisarmAll(); }

  // Staged files, but for the lock the sink holds on its output.
  std::vector<std::string> Staged(const std::string& out) {
    auto files = testing::ListFilesRecursive(StagingDir(out));
    std::erase(files, ".lock");
    return files;
  }

  testing::TempDir dir_;
  FaultInjectionFileSystem fs_{FileSystem::Default()};
  bool rewind_ = false;  // execution.state-recovery.rewind-output
};

TEST_F(TextFileWriterTest, NothingReachesTheTargetBeforeTheCheckpointCompletes) {
  std::string out = dir_.Join("out.txt");
  auto s = Open(out);
  Write(*s, "a\nb\n");
  EXPECT_TRUE(testing::FileExists(out));
  EXPECT_EQ(Read(out), "");
  Checkpoint(*s, 1);
  EXPECT_EQ(Read(out), "") << "prepared, not yet committed";
  Commit(*s, 1);
  EXPECT_EQ(Read(out), "a\nb\n");
}

TEST_F(TextFileWriterTest, CommitAppendsEachTransactionAtItsOffsetInCheckpointOrder) {
  std::string out = dir_.Join("out.txt");
  auto s = Open(out);
  Write(*s, "one\n");
  Checkpoint(*s, 1);
  Write(*s, "two\n");
  Write(*s, "three\n");
  Checkpoint(*s, 2);
  Write(*s, "four\n");
  Checkpoint(*s, 3);
  Commit(*s, 1);
  EXPECT_EQ(Read(out), "one\n");
  Commit(*s, 3);  // completes 2 and 3 at once (2's notification was lost or subsumed)
  EXPECT_EQ(Read(out), "one\ntwo\nthree\nfour\n");
}

TEST_F(TextFileWriterTest, CommitPutsBytesAtTheRecordedOffsetEvenIfSomethingWasAppended) {
  std::string out = dir_.Join("out.txt");
  auto s = CommittedThenWritten(out);
  Checkpoint(*s, 2);
  {
    auto f = FileSystem::Default()->NewAppendableFile(out);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("junk").ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  Commit(*s, 2);
  EXPECT_EQ(Read(out), "a\nb\n");
}

TEST_F(TextFileWriterTest, ACheckpointWithoutNewLinesCommitsNothing) {
  std::string out = dir_.Join("out.txt");
  auto s = Open(out);
  Checkpoint(*s, 1);
  Commit(*s, 1);
  Write(*s, "x\n");
  Checkpoint(*s, 2);
  Checkpoint(*s, 3);
  Commit(*s, 3);
  EXPECT_EQ(Read(out), "x\n");
}

TEST_F(TextFileWriterTest, CommittingTwiceIsIdempotent) {
  std::string out = dir_.Join("out.txt");
  auto s = Open(out);
  Write(*s, "a\n");
  Checkpoint(*s, 1);
  Commit(*s, 1);
  Commit(*s, 1);
  Commit(*s, 0);
  EXPECT_EQ(Read(out), "a\n");
}

TEST_F(TextFileWriterTest, RecoveryCommitsWhatTheCheckpointPreparedAndDropsTheRest) {
  std::string out = dir_.Join("out.txt");
  OperatorState state;
  {
    auto s = Open(out);
    Write(*s, "a\n");
    state = Checkpoint(*s, 1);
    Write(*s, "lost\n");  // after the checkpoint: the restored job replays it
    // Crash: checkpoint 1 completed, but its notification never reached the sink.
  }
  EXPECT_EQ(Read(out), "");
  auto s = Open(out, state);
  EXPECT_EQ(Read(out), "a\n");
  // Checkpoint 1's transaction is committed and its staged file gone; the unknown one waits
  // until the restore is confirmed.
  auto lost = Staged(out);
  ASSERT_EQ(lost.size(), 1u);
  Write(*s, "b\n");
  Checkpoint(*s, 2);
  Commit(*s, 2);  // the restored run's first checkpoint confirms the restore
  EXPECT_EQ(Read(out), "a\nb\n");
  for (const auto& f : Staged(out)) {
    EXPECT_NE(f, lost[0]) << "staging data the checkpoint did not know survived the recovery";
  }
}

TEST_F(TextFileWriterTest, RecoveringTheSameStateTwiceGivesTheSameFile) {
  std::string out = dir_.Join("out.txt");
  OperatorState state;
  {
    auto s = Open(out);
    Write(*s, "aa\n");
    state = Checkpoint(*s, 1);
    Commit(*s, 1);  // committed, staging file deleted
  }
  {
    auto s = Open(out, state);
    EXPECT_EQ(Read(out), "aa\n");
    // The restored attempt stages new lines of the same length and fails before checkpoint 2.
    Write(*s, "bb\n");
    Checkpoint(*s, 2);
  }
  {
    auto s = Open(out, state);
    EXPECT_EQ(Read(out), "aa\n") << "the second recovery took another attempt's staged lines";
  }
  auto s = Open(out, state);
  EXPECT_EQ(Read(out), "aa\n");
}

TEST_F(TextFileWriterTest, RestoringAnOlderCheckpointIsRefusedAndChangesNothing) {
  std::string out = dir_.Join("out.txt");
  OperatorState state = OlderOfTwoCommitted(out);
  // Restoring the older checkpoint would replay b, and cutting b would remove committed
  // output: the restore is refused with what to do instead.
  Sink s(&fs_, out, WriteMode::kNoOverwrite, 0, 1);
  Status st = Initialize(s, state);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_TRUE(st.IsPermanent());
  EXPECT_NE(st.message().find("holds 2 bytes after the 2 the restored checkpoint covers"),
            std::string::npos)
      << st.ToString();
  EXPECT_NE(st.message().find("execution.state-recovery.rewind-output"), std::string::npos);
  EXPECT_EQ(Read(out), "a\nb\n");
}

TEST_F(TextFileWriterTest, WithRewindTheOutputIsCutOnlyOnceTheRestoredJobCompletesACheckpoint) {
  std::string out = dir_.Join("out.txt");
  OperatorState state = OlderOfTwoCommitted(out);
  rewind_ = true;
  {
    // The restore fails elsewhere in the job before any checkpoint: nothing was cut.
    auto s = Open(out, state);
    Write(*s, "b\n");
  }
  EXPECT_EQ(Read(out), "a\nb\n");
  auto s = Open(out, state);
  EXPECT_EQ(Read(out), "a\nb\n");
  Write(*s, "c\n");
  Checkpoint(*s, 3);
  Commit(*s, 3);
  EXPECT_EQ(Read(out), "a\nc\n");
}

TEST_F(TextFileWriterTest, RecoveryRepairsACommitThatCrashedHalfway) {
  std::string out = dir_.Join("out.txt");
  OperatorState state;
  {
    auto s = Open(out);
    Write(*s, "complete line\n");
    state = Checkpoint(*s, 1);
  }
  testing::WriteFile(out, "compl");  // a commit interrupted mid-copy
  auto s = Open(out, state);
  EXPECT_EQ(Read(out), "complete line\n");
}

TEST_F(TextFileWriterTest, RecoveryAfterACrashBetweenCommitAndCleanupKeepsLaterCommits) {
  // Checkpoint 2 holds two prepared transactions, the first of them empty. Both committed;
  // the empty one's staging file survived (a crash before the cleanup), the other's did not.
  std::string out = dir_.Join("out.txt");
  OperatorState state;
  {
    auto s = Open(out);
    Write(*s, "");
    Checkpoint(*s, 1);
    Write(*s, "b\n");
    state = Checkpoint(*s, 2);
    fs_.InjectError(Op::kDelete, ".pending", Status::IOError("disk busy"), /*count=*/1);
    Commit(*s, 2);
    fs_.ClearErrors();
    EXPECT_EQ(Read(out), "b\n");
  }
  auto s = Open(out, state);
  EXPECT_EQ(Read(out), "b\n");
}

TEST_F(TextFileWriterTest, NoOverwriteRefusesAnExistingFileWithAClearMessage) {
  std::string out = dir_.Join("out.txt");
  testing::WriteFile(out, "precious\n");
  testing::FakeOperatorContext ctx(0, 1, &fs_);
  SinkUnderTest w(out, WriteMode::kNoOverwrite);
  Status s = w.Initialize(ctx, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("exists"), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find(out), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find("kOverwrite"), std::string::npos) << s.ToString();
  EXPECT_EQ(Read(out), "precious\n");
}

TEST_F(TextFileWriterTest, NoOverwriteAcceptsTheFileOfItsOwnEarlierAttempt) {
  // The job failed before its first checkpoint completed: the restart has nothing to restore
  // and finds the (empty) file its first attempt created.
  std::string out = dir_.Join("out.txt");
  {
    auto s = Open(out);
    Write(*s, "x\n");
  }
  auto s = Open(out, {}, WriteMode::kNoOverwrite, 0, 1, true, /*attempt=*/1);
  Write(*s, "y\n");
  Checkpoint(*s, 1);
  Commit(*s, 1);
  EXPECT_EQ(Read(out), "y\n");
}

TEST_F(TextFileWriterTest, OverwriteReplacesAnExistingFileOnAFreshStart) {
  std::string out = dir_.Join("out.txt");
  testing::WriteFile(out, "old contents\n");
  testing::WriteFile(JoinPath(StagingDir(out), "txn-stale"), "stale\n");
  auto s = Open(out, {}, WriteMode::kOverwrite);
  EXPECT_EQ(Read(out), "");
  EXPECT_FALSE(testing::FileExists(JoinPath(StagingDir(out), "txn-stale")));
  Write(*s, "new\n");
  Checkpoint(*s, 1);
  Commit(*s, 1);
  EXPECT_EQ(Read(out), "new\n");
}

TEST_F(TextFileWriterTest, ADirectoryInPlaceOfTheOutputFileIsRefused) {
  std::string out = dir_.Join("out");
  ASSERT_TRUE(fs_.CreateDirs(out).ok());
  testing::FakeOperatorContext ctx(0, 1, &fs_);
  SinkUnderTest w(out, WriteMode::kOverwrite);
  Status s = w.Initialize(ctx, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("directory"), std::string::npos) << s.ToString();
}

TEST_F(TextFileWriterTest, ParallelSubtasksWriteFilesOneToPInADirectory) {
  std::string out = dir_.Join("out");
  std::vector<std::unique_ptr<Sink>> sinks;
  for (int i = 0; i < 3; ++i) {
    sinks.push_back(Open(out, {}, WriteMode::kNoOverwrite, i, 3));
    Write(*sinks.back(), "from " + std::to_string(i) + "\n");
    Checkpoint(*sinks.back(), 1);
    Commit(*sinks.back(), 1);
  }
  EXPECT_EQ(Read(JoinPath(out, "1")), "from 0\n");
  EXPECT_EQ(Read(JoinPath(out, "2")), "from 1\n");
  EXPECT_EQ(Read(JoinPath(out, "3")), "from 2\n");
  for (auto& s : sinks) {
    ASSERT_TRUE(s->writer.Finish().ok());
    s->writer.Close();
  }
  EXPECT_EQ(testing::ListFilesRecursive(out), (std::vector<std::string>{"1", "2", "3"}));
}

TEST_F(TextFileWriterTest, ScalingDownSubtaskZeroRecoversTheFilesOfRemovedSubtasks) {
  std::string out = dir_.Join("out");
  std::vector<OperatorState> states;
  {
    std::vector<std::unique_ptr<Sink>> sinks;
    for (int i = 0; i < 3; ++i) {
      sinks.push_back(Open(out, {}, WriteMode::kNoOverwrite, i, 3));
      Write(*sinks.back(), "early " + std::to_string(i) + "\n");
      Checkpoint(*sinks.back(), 1);
      Commit(*sinks.back(), 1);
      Write(*sinks.back(), "late " + std::to_string(i) + "\n");
      states.push_back(Checkpoint(*sinks.back(), 2));  // completed, never committed
    }
  }
  OperatorState all = Union(states);
  ASSERT_EQ(all.size(), 1u);
  ASSERT_EQ(all[0].elements.size(), 3u);

  // Restore with parallelism 2: subtask 0 also finishes file 3's checkpoint-2 transaction.
  auto s0 = Open(out, all, WriteMode::kNoOverwrite, 0, 2);
  auto s1 = Open(out, all, WriteMode::kNoOverwrite, 1, 2);
  EXPECT_EQ(Read(JoinPath(out, "1")), "early 0\nlate 0\n");
  EXPECT_EQ(Read(JoinPath(out, "2")), "early 1\nlate 1\n");
  EXPECT_EQ(Read(JoinPath(out, "3")), "early 2\nlate 2\n");

  // Subtask 0 keeps file 3's state, so scaling back up hands it to the new subtask 2.
  Write(*s0, "more 0\n");
  OperatorState st0 = Checkpoint(*s0, 3);
  OperatorState st1 = Checkpoint(*s1, 3);
  Commit(*s0, 3);
  Commit(*s1, 3);
  OperatorState again = Union({st0, st1});
  ASSERT_EQ(again[0].elements.size(), 3u) << "the removed subtask's file state was dropped";
  auto t2 = Open(out, again, WriteMode::kNoOverwrite, 2, 3);
  Write(*t2, "back 2\n");
  Checkpoint(*t2, 4);
  Commit(*t2, 4);
  EXPECT_EQ(Read(JoinPath(out, "3")), "early 2\nlate 2\nback 2\n");
  EXPECT_EQ(Read(JoinPath(out, "1")), "early 0\nlate 0\nmore 0\n");
}

TEST_F(TextFileWriterTest, RescalingBetweenOneFileAndADirectoryIsAClearError) {
  std::string out = dir_.Join("out");
  OperatorState single;
  {
    auto s = Open(out);
    Write(*s, "a\n");
    single = Checkpoint(*s, 1);
  }
  testing::FakeOperatorContext ctx(0, 2, &fs_);
  SinkUnderTest w(out, WriteMode::kNoOverwrite);
  Status st = w.Initialize(ctx, single);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("parallelism"), std::string::npos) << st.ToString();

  std::string dir_out = dir_.Join("dir");
  std::vector<OperatorState> states;
  for (int i = 0; i < 2; ++i) {
    auto s = Open(dir_out, {}, WriteMode::kNoOverwrite, i, 2);
    Write(*s, "b\n");
    states.push_back(Checkpoint(*s, 1));
  }
  testing::FakeOperatorContext one(0, 1, &fs_);
  SinkUnderTest w1(dir_out, WriteMode::kNoOverwrite);
  st = w1.Initialize(one, Union(states));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("parallelism"), std::string::npos) << st.ToString();
}

TEST_F(TextFileWriterTest, WithoutCheckpointingLinesGoStraightToTheTarget) {
  std::string out = dir_.Join("out.txt");
  auto s = Open(out, {}, WriteMode::kNoOverwrite, 0, 1, /*checkpointing=*/false);
  Write(*s, "direct\n");
  ASSERT_TRUE(s->writer.Finish().ok());
  s->writer.Close();
  EXPECT_EQ(Read(out), "direct\n");
  EXPECT_FALSE(testing::FileExists(StagingDir(out)));
}

TEST_F(TextFileWriterTest, CloseAfterTheEndRemovesStagingButCloseAfterAFailureKeepsIt) {
  std::string out = dir_.Join("out.txt");
  {
    auto s = Open(out);
    Write(*s, "a\n");
    Checkpoint(*s, 1);
    s->writer.Close();  // cancelled: checkpoint 1 may still complete and be recovered
    EXPECT_FALSE(testing::ListFilesRecursive(StagingDir(out)).empty());
  }
  std::string done = dir_.Join("done.txt");
  auto s = Open(done);
  Write(*s, "a\n");
  ASSERT_TRUE(s->writer.Finish().ok());
  Checkpoint(*s, 1);  // the final checkpoint
  Commit(*s, 1);
  s->writer.Close();
  EXPECT_EQ(Read(done), "a\n");
  EXPECT_FALSE(testing::FileExists(StagingDir(done)));
}

TEST_F(TextFileWriterTest, CorruptStateIsAnErrorNotAFreshStart) {
  std::string out = dir_.Join("out.txt");
  OperatorState bad = {detail::OperatorStateList{
      detail::kTwoPhaseCommitStateName, detail::OperatorStateList::Mode::kUnion, {"?"}}};
  testing::FakeOperatorContext ctx(0, 1, &fs_);
  SinkUnderTest w(out, WriteMode::kOverwrite);
  Status s = w.Initialize(ctx, bad);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

TEST_F(TextFileWriterTest, AnOutputFileTruncatedOutsideWeirIsReportedOnRecovery) {
  std::string out = dir_.Join("out.txt");
  OperatorState state;
  {
    auto s = Open(out);
    Write(*s, "a\n");
    Checkpoint(*s, 1);
    Commit(*s, 1);
    Write(*s, "b\n");
    state = Checkpoint(*s, 2);
    Commit(*s, 2);
  }
  testing::WriteFile(out, "");
  testing::FakeOperatorContext ctx(0, 1, &fs_);
  SinkUnderTest w(out, WriteMode::kNoOverwrite);
  Status s = w.Initialize(ctx, state);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.ToString().find(out), std::string::npos) << s.ToString();
}

// ---- Faults ---------------------------------------------------------------------------------

TEST_F(TextFileWriterTest, AFailedWriteIsAnErrorNamingTheSink) {
  std::string out = dir_.Join("out.txt");
  auto s = Open(out);
  fs_.InjectError(Op::kWrite, "", Status::IOError("EIO"));
  Status st = s->writer.Write(std::string(100'000, 'x'));  // more than any write buffer
  if (st.ok()) {
    OperatorSnapshot snap;
    st = s->writer.Snapshot(1, &snap);
  }
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("EIO"), std::string::npos) << st.ToString();
  EXPECT_NE(st.ToString().find(out), std::string::npos) << st.ToString();
}

TEST_F(TextFileWriterTest, AFullDiskIsAnError) {
  std::string out = dir_.Join("out.txt");
  auto s = Open(out);
  fs_.SetSpaceLimit(10);
  Status st = s->writer.Write(std::string(100'000, 'x'));
  if (st.ok()) {
    OperatorSnapshot snap;
    st = s->writer.Snapshot(1, &snap);
  }
  fs_.ClearSpaceLimit();
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.IsNoSpace()) << st.ToString();
}

TEST_F(TextFileWriterTest, AFailedFsyncOfStagedDataFailsTheCheckpointThenTheTask) {
  std::string out = dir_.Join("out.txt");
  auto s = Open(out);
  Write(*s, "a\n");
  CheckpointFailingAnFsync(*s, 1, ".pending");
  // A second fsync of the staging file would succeed without the bytes the kernel dropped,
  // and nothing else holds them: the task fails, to resume from the last checkpoint.
  Write(*s, "b\n");
  OperatorSnapshot next;
  Status st = s->writer.Snapshot(2, &next);
  ASSERT_FALSE(st.ok()) << "checkpoint 2 would count checkpoint 1's staged bytes as durable";
  EXPECT_NE(st.ToString().find("fsync failed"), std::string::npos) << st.ToString();
  EXPECT_NE(st.ToString().find(out), std::string::npos) << st.ToString();
}

TEST_F(TextFileWriterTest, AFailedFsyncOfTheTargetIsRetriedWithItsBytesWrittenAgain) {
  std::string out = dir_.Join("out.txt");
  auto s = CommittedThenWritten(out);
  CheckpointFailingAnFsync(*s, 2, "out.txt");
  // The job goes on; checkpoint 3's fsync succeeds. Linux would let it succeed without "a",
  // whose pages it marked clean when the first fsync failed.
  Write(*s, "c\n");
  Checkpoint(*s, 3);
  Commit(*s, 3);
  Checkpoint(*s, 4);
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(Read(out), "a\nb\nc\n");
}

TEST_F(TextFileWriterTest, AFailedFsyncOfTheTargetFailsTheNextCheckpointAndRecoveryMakesItDurable) {
  std::string out = dir_.Join("out.txt");
  OperatorState state;
  {
    auto s = Open(out);
    Write(*s, "a\n");
    state = Checkpoint(*s, 1);
    Commit(*s, 1);  // appended; the fsync is the next checkpoint's
    Write(*s, "b\n");
    CheckpointFailingAnFsync(*s, 2, "out.txt");
  }
  // The checkpoint failed, and the job restarts from checkpoint 1. The bytes are in place
  // already, but only the page cache has them.
  ExpectRestoredDurably(out, state, "a\n");
}

// A crash after a failed fsync can leave zeros in a transaction's range (the kernel dropped
// the pages it could not write), with committed output after it: recovery writes the
// transaction over them and cuts nothing.
TEST_F(TextFileWriterTest, RecoveryWritesATransactionOverZerosInItsRange) {
  std::string out = dir_.Join("out.txt");
  OperatorState state = TwoCommittedWithOneCheckpoint(out);
  ASSERT_TRUE(FileSystem::Default()->WriteAt(out, 0, std::string(2, '\0')).ok());
  ExpectRestoredDurably(out, state, "a\nb\n");
}

// Other bytes there were written outside weir: recovery refuses, and changes nothing.
TEST_F(TextFileWriterTest, RecoveryRefusesToOverwriteBytesChangedOutsideWeir) {
  std::string out = dir_.Join("out.txt");
  OperatorState state = TwoCommittedWithOneCheckpoint(out);
  ASSERT_TRUE(FileSystem::Default()->WriteAt(out, 0, "X\n").ok());
  testing::FakeOperatorContext ctx(0, 1, &fs_);
  ctx.set_restored(true);
  SinkUnderTest w(out, WriteMode::kNoOverwrite);
  Status st = w.Initialize(ctx, state);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.ToString().find("changed outside weir"), std::string::npos) << st.ToString();
  EXPECT_EQ(Read(out), "X\nb\n");
}

TEST_F(TextFileWriterTest, AFailedCommitCanBeRetried) {
  std::string out = dir_.Join("out.txt");
  auto s = Open(out);
  Write(*s, "a\n");
  Checkpoint(*s, 1);
  FaultPoints::Arm(
      fault_points::kSinkBeforeCommit, [] { return Status::IOError("injected"); }, 0, 1);
  EXPECT_FALSE(s->writer.Commit(1).ok());
  EXPECT_EQ(Read(out), "");
  Commit(*s, 1);
  EXPECT_EQ(Read(out), "a\n");
}

TEST_F(TextFileWriterTest, FailuresCreatingOrTruncatingTheTargetAreErrors) {
  std::string out = dir_.Join("out.txt");
  {
    fs_.InjectError(Op::kCreate, "out.txt", Status::IOError("read-only file system"), 1);
    testing::FakeOperatorContext ctx(0, 1, &fs_);
    SinkUnderTest w(out, WriteMode::kOverwrite);
    Status s = w.Initialize(ctx, {});
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.ToString().find("read-only"), std::string::npos) << s.ToString();
    fs_.ClearErrors();
  }
  OperatorState state = OlderOfTwoCommitted(out, WriteMode::kOverwrite);
  // Rewinding to checkpoint 1 must cut "b" once confirmed: if it cannot, it must say so.
  rewind_ = true;
  auto restored = Open(out, state);
  fs_.InjectError(Op::kTruncate, "out.txt", Status::IOError("truncate failed"));
  Checkpoint(*restored, 3);
  Status s = restored->writer.Commit(3);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("truncate failed"), std::string::npos) << s.ToString();
}

TEST_F(TextFileWriterTest, ACommitIsDurableOnceTheNextCheckpointCompletes) {
  std::string out = dir_.Join("out.txt");
  auto s = Open(out);
  Write(*s, "a\n");
  Checkpoint(*s, 1);
  Commit(*s, 1);
  EXPECT_EQ(Staged(out).size(), 1u) << "the staging file went before the commit was durable";
  Write(*s, "b\n");
  Checkpoint(*s, 2);  // its async part fsyncs what checkpoint 1's commit appended
  EXPECT_EQ(Staged(out).size(), 1u) << "only b's staging file is left";
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(Read(out), "a\n");
}

TEST_F(TextFileWriterTest, PowerLossBetweenACommitAndItsFsyncIsRepairedByRecovery) {
  std::string out = dir_.Join("out.txt");
  OperatorState state;
  {
    auto s = Open(out);
    Write(*s, "a\n");
    state = Checkpoint(*s, 1);
    Commit(*s, 1);
    EXPECT_EQ(Read(out), "a\n");
  }
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());  // the commit's bytes are lost, its staging file is not
  auto s = Open(out, state);
  EXPECT_EQ(Read(out), "a\n");
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(Read(out), "a\n");
}

TEST_F(TextFileWriterTest, CloseMakesCommitsDurableThatNoCheckpointSynced) {
  std::string out = dir_.Join("out.txt");
  {
    auto s = Open(out);
    Write(*s, "a\n");
    Checkpoint(*s, 1);
    Commit(*s, 1);  // say, a stop with a savepoint: no checkpoint follows
    s->writer.Close();
  }
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(Read(out), "a\n");
}

TEST_F(TextFileWriterTest, PowerLossBeforeTheCommitIsRepairedByRecovery) {
  std::string out = dir_.Join("out.txt");
  OperatorState state;
  {
    auto s = Open(out);
    Write(*s, "a\n");
    state = Checkpoint(*s, 1);  // its async part fsynced the staged data
  }
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  auto s = Open(out, state);
  EXPECT_EQ(Read(out), "a\n");
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(Read(out), "a\n");
}

TEST_F(TextFileWriterTest, PowerLossAfterARecoveryThatCutTheFileKeepsTheCut) {
  std::string out = dir_.Join("out.txt");
  OperatorState state = OlderOfTwoCommitted(out);
  rewind_ = true;
  auto s = Open(out, state);
  Checkpoint(*s, 3);
  Commit(*s, 3);  // confirms the restore: the cut
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(Read(out), "a\n");
}

// ---- Restores that must not destroy anything -------------------------------------------------

TEST_F(TextFileWriterTest, ARespelledPathIsTheSameOutput) {
  std::string out = dir_.Join("out");
  std::vector<OperatorState> states;
  for (int i = 0; i < 2; ++i) {
    auto s = Open(out, {}, WriteMode::kOverwrite, i, 2);
    Write(*s, "x" + std::to_string(i) + "\n");
    Checkpoint(*s, 1);
    Commit(*s, 1);
    Write(*s, "y" + std::to_string(i) + "\n");
    states.push_back(Checkpoint(*s, 2));
  }
  OperatorState all = Union(states);
  for (const std::string& spelling :
       {dir_.Join("./out"), dir_.Join("out/"), dir_.Join("../" + BaseName(dir_.path()) + "/out")}) {
    SCOPED_TRACE(spelling);
    for (int i = 0; i < 2; ++i) {
      auto s = Open(spelling, all, WriteMode::kOverwrite, i, 2);
      std::string expected = "x" + std::to_string(i) + "\ny" + std::to_string(i) + "\n";
      EXPECT_EQ(Read(JoinPath(out, std::to_string(i + 1))), expected);
    }
  }
}

TEST_F(TextFileWriterTest, TheParallelismMessageSaysWhatTheCheckpointWrote) {
  std::string file = dir_.Join("file");
  OperatorState single;
  {
    auto s = Open(file);
    Write(*s, "a\n");
    single = Checkpoint(*s, 1);
    Commit(*s, 1);
  }
  Sink two(&fs_, dir_.Join("./file"), WriteMode::kNoOverwrite, 1, 2);
  Status st = Initialize(two, single);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("parallelism 1 (a single file)"), std::string::npos) << st.ToString();
  EXPECT_TRUE(st.IsPermanent());
  EXPECT_EQ(Read(file), "a\n");

  std::string dir = dir_.Join("dir");
  std::vector<OperatorState> states;
  for (int i = 0; i < 2; ++i) {
    auto s = Open(dir, {}, WriteMode::kNoOverwrite, i, 2);
    Write(*s, "b\n");
    states.push_back(Checkpoint(*s, 1));
  }
  Sink one(&fs_, dir_.Join("dir/"), WriteMode::kNoOverwrite, 0, 1);
  st = Initialize(one, Union(states));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("parallelism above 1 (a directory of files)"), std::string::npos)
      << st.ToString();
}

TEST_F(TextFileWriterTest, AMovedOutputLeavesTheOldOneAloneAndStartsAtTheCheckpoint) {
  std::string old_out = dir_.Join("old.txt");
  OperatorState state = CommittedThenPrepared(old_out);  // a savepoint, say
  std::string new_out = dir_.Join("new.txt");
  auto s = Open(new_out, state);
  EXPECT_EQ(Read(old_out), "a\nb\n") << "the checkpoint's transaction commits where it belongs";
  EXPECT_EQ(Read(new_out), "");
  Write(*s, "c\n");
  Checkpoint(*s, 3);
  Commit(*s, 3);
  EXPECT_EQ(Read(new_out), "c\n");
  EXPECT_EQ(Read(old_out), "a\nb\n");
}

// The job's directory moved, with its checkpoints and output: the output this run writes holds
// bytes the restored checkpoint did not write there. They are replaced only if rewinding the
// output is allowed; otherwise the restore is refused and says so.
TEST_F(TextFileWriterTest, OutputTheCheckpointDidNotWriteIsReplacedOnlyWithRewind) {
  std::string old_out = dir_.Join("old.txt");
  OperatorState state = CommittedThenPrepared(old_out);
  std::string new_out = dir_.Join("new.txt");
  testing::WriteFile(new_out, "a\n");  // a copy of the old output
  {
    Sink refused(&fs_, new_out, WriteMode::kOverwrite, 0, 1);
    Status st = Initialize(refused, state);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(st.IsPermanent()) << st.ToString();
    EXPECT_NE(st.message().find("holds 2 bytes that the restored checkpoint did not write"),
              std::string::npos)
        << st.ToString();
    EXPECT_NE(st.message().find("execution.state-recovery.rewind-output"), std::string::npos);
    EXPECT_EQ(Read(new_out), "a\n");
  }
  rewind_ = true;
  auto s = Open(new_out, state, WriteMode::kOverwrite);
  EXPECT_EQ(Read(new_out), "a\n") << "replaced before the restore proved itself";
  Write(*s, "c\n");
  Checkpoint(*s, 3);
  Commit(*s, 3);  // confirms the restore
  EXPECT_EQ(Read(new_out), "c\n");
}

// A staging file cut short outside weir: its transaction is not recommitted in part.
TEST_F(TextFileWriterTest, AStagingFileCutShortIsCorruptionAndNoneOfItReachesTheOutput) {
  std::string out = dir_.Join("out.txt");
  OperatorState state = CommittedThenPrepared(out, "bbbbbbbb\n");
  const auto staged = Staged(out);
  ASSERT_EQ(staged.size(), 1u);
  const std::string txn = JoinPath(StagingDir(out), staged[0]);
  ASSERT_EQ(::truncate(txn.c_str(), 3), 0);
  Sink s(&fs_, out, WriteMode::kNoOverwrite, 0, 1);
  Status st = Initialize(s, state);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("holds 3 bytes of a transaction of 9"), std::string::npos)
      << st.ToString();
  EXPECT_EQ(Read(out), "a\n");
}

TEST_F(TextFileWriterTest, EmptyFilesOfAHigherParallelismAreRemovedOnceTheRestoreIsConfirmed) {
  std::string out = dir_.Join("out");
  std::vector<OperatorState> states;
  for (int i = 0; i < 2; ++i) {
    auto s = Open(out, {}, WriteMode::kOverwrite, i, 2);
    Write(*s, "a\n");
    states.push_back(Checkpoint(*s, 1));
  }
  OperatorState all = Union(states);
  // A restore at parallelism 4 created files 3 and 4 and staged data, and died.
  for (int i = 2; i < 4; ++i) {
    auto s = Open(out, all, WriteMode::kOverwrite, i, 4);
    Write(*s, "never committed\n");
    Checkpoint(*s, 2);
  }
  ASSERT_TRUE(testing::FileExists(JoinPath(out, "4")));
  auto s0 = Open(out, all, WriteMode::kOverwrite, 0, 3);
  auto s1 = Open(out, all, WriteMode::kOverwrite, 1, 3);
  auto s2 = Open(out, all, WriteMode::kOverwrite, 2, 3);
  EXPECT_TRUE(testing::FileExists(JoinPath(out, "4"))) << "removed before the restore proved itself";
  for (auto* s : {s0.get(), s1.get(), s2.get()}) {
    Checkpoint(*s, 3);
    Commit(*s, 3);
    ASSERT_TRUE(s->writer.Finish().ok());
    Checkpoint(*s, 4);
    Commit(*s, 4);
    s->writer.Close();
  }
  EXPECT_EQ(testing::ListFilesRecursive(out), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(Read(JoinPath(out, "1")), "a\n");
  EXPECT_EQ(Read(JoinPath(out, "3")), "");
}

TEST_F(TextFileWriterTest, AStopWithASavepointLeavesNoStagedDataBehind) {
  std::string out = dir_.Join("out.txt");
  auto s = Open(out);
  Write(*s, "a\n");
  Checkpoint(*s, 1);  // the savepoint
  Commit(*s, 1);      // stop-with-savepoint commits it
  Write(*s, "after the savepoint\n");  // records processed before the stop took effect
  s->writer.Close();
  EXPECT_EQ(Read(out), "a\n");
  EXPECT_FALSE(testing::FileExists(StagingDir(out)));
}

TEST_F(TextFileWriterTest, ASecondWriterOfTheSameOutputIsRefusedNamingTheFirst) {
  std::string out = dir_.Join("out.txt");
  auto first = Open(out);
  Sink second(&fs_, dir_.Join("./out.txt"), WriteMode::kOverwrite, 0, 1);
  Status st = Initialize(second, {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("another job writes this output (" ), std::string::npos)
      << st.ToString();
  EXPECT_NE(st.message().find(ProcessDescription()), std::string::npos) << st.ToString();
}

// The sink formats a batch of strings in one pass: every length (each branch of the short
// copy), after text already in the buffer, as AppendText and a newline per record would.
TEST(AppendLinesTest, WritesEveryStringAsAppendTextDoes) {
  std::vector<std::string> records;
  for (size_t n = 0; n <= 40; ++n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + (n + i) % 26));
    records.push_back(s);
  }
  std::string want = "already there|";
  for (const auto& r : records) {
    detail::AppendText(r, &want);
    want.push_back('\n');
  }
  std::string got = "already there|";
  detail::AppendLines(records, &got);
  EXPECT_EQ(got, want);
}

TEST(AppendLinesTest, FormatsOtherTypesAsAppendTextDoes) {
  std::string got;
  detail::AppendLines(std::vector<int64_t>{0, -7, 1000}, &got);
  detail::AppendLines(std::vector<std::string_view>{"a", "", "bc"}, &got);
  EXPECT_EQ(got, "0\n-7\n1000\na\n\nbc\n");
}

}  // namespace
}  // namespace weir
