// CheckpointCoordinator driven by a ManualClock: when checkpoints trigger, how they complete
// or fail, how failures are tolerated, and what is kept on disk (retention, cleanup).
#include "checkpoint/checkpoint_coordinator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/fault_injection_file_system.h"
#include "testing/test_util.h"

namespace weir {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using testing::FileExists;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Retention = CheckpointOptions::Retention;
using Op = FaultInjectionFileSystem::Op;

constexpr char kJobId[] = "0000job";

class CheckpointCoordinatorTest : public ::testing::Test {
 protected:
  CheckpointCoordinatorTest() : faulty_(FileSystem::Default()) {
    options_.enabled = true;
    options_.interval = std::chrono::milliseconds(1000);
    options_.timeout = std::chrono::milliseconds(60000);
    options_.dir = dir_.Join("checkpoints");
    options_.savepoint_dir = dir_.Join("savepoints");
  }

  // The job: a source (parallelism 1) chained into nothing, and a keyed "sum" operator with
  // parallelism 2; three task subtasks acknowledge each checkpoint.
  std::unique_ptr<CheckpointCoordinator> NewCoordinator() {
    storage_ = std::make_unique<CheckpointStorage>(&faulty_, options_.dir, options_.savepoint_dir);
    EXPECT_TRUE(
        storage_->CreateJobDir(JobManifest::ForRun(kJobId, "job", clock_.WallMillis())).ok());
    CheckpointCoordinator::Options o;
    o.checkpointing = options_;
    o.job_id = kJobId;
    o.job_name = "job";
    o.operators = {{"source", "Source", 1, 128}, {"sum", "Sum", 2, 128}};
    o.num_tasks = 3;
    return std::make_unique<CheckpointCoordinator>(std::move(o), storage_.get(), &clock_);
  }

  std::string JobDir() const { return JoinPath(options_.dir, kJobId); }
  std::string ChkDir(int64_t id) const {
    return JoinPath(JobDir(), CheckpointStorage::CheckpointDirName(id));
  }

  // Triggers (forced) and expects a checkpoint to start.
  CheckpointCoordinator::Trigger MustTrigger(CheckpointCoordinator& c, bool force = true) {
    auto t = c.MaybeTrigger(force);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_TRUE(t.ok() && t->has_value()) << "no checkpoint was triggered";
    return **t;
  }

  // What task `task` sends when its snapshot is written: the source's position, or one
  // keyed state file of a "sum" subtask.
  CheckpointAcknowledgement Ack(const CheckpointCoordinator::Trigger& t, int task) {
    CheckpointAcknowledgement ack;
    ack.task_index = task;
    ack.alignment_ms = 10 * task;
    ack.sync_ms = 3 - task;  // task 0 the longest
    ack.async_ms = 100 * task;
    if (task == 0) {
      SubtaskState s;
      s.operator_state.push_back(
          {"position", detail::OperatorStateList::Mode::kSplit, {"pos-" + std::to_string(t.id)}});
      ack.states.push_back({"source", 0, s});
    } else {
      int subtask = task - 1;
      auto w = t.location.CreateExclusiveFile("sum-" + std::to_string(subtask) + ".keyed");
      EXPECT_TRUE(w.ok()) << w.status().ToString();
      if (w.ok()) {
        EXPECT_TRUE((*w)->Append("keyed state " + std::to_string(t.id)).ok());
        auto f = (*w)->Finish();
        EXPECT_TRUE(f.ok());
        SubtaskState s;
        KeyedStateHandle k;
        k.key_groups = KeyGroupRange::ForSubtask(128, 2, subtask);
        k.canonical = *f;
        s.keyed = k;
        ack.states.push_back({"sum", subtask, s});
      }
    }
    return ack;
  }

  // Acknowledges from every task; returns whether the last acknowledgement completed it.
  bool AckAll(CheckpointCoordinator& c, const CheckpointCoordinator::Trigger& t) {
    EXPECT_FALSE(c.Acknowledge(t.id, Ack(t, 0)));
    EXPECT_FALSE(c.Acknowledge(t.id, Ack(t, 1)));
    return c.Acknowledge(t.id, Ack(t, 2)).has_value();
  }

  void CompleteCheckpoint(CheckpointCoordinator& c) {
    auto t = MustTrigger(c);
    ASSERT_TRUE(AckAll(c, t));
  }

  std::vector<int64_t> CheckpointDirsOnDisk() const {
    auto ids = storage_->ListCheckpointIds(JobDir());
    return ids.ok() ? *ids : std::vector<int64_t>{};
  }

  testing::TempDir dir_;
  ManualClock clock_{5'000'000};
  FaultInjectionFileSystem faulty_;
  CheckpointOptions options_;
  std::unique_ptr<CheckpointStorage> storage_;
};

TEST_F(CheckpointCoordinatorTest, NothingTriggersWhenCheckpointingIsDisabled) {
  options_.enabled = false;
  auto c = NewCoordinator();
  clock_.AdvanceMillis(100000);
  auto t = c->MaybeTrigger(/*force=*/true);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_value());
  EXPECT_THAT(CheckpointDirsOnDisk(), IsEmpty());
}

TEST_F(CheckpointCoordinatorTest, PeriodicTriggerWaitsForTheInterval) {
  auto c = NewCoordinator();
  int64_t start = clock_.NowNanos();
  EXPECT_EQ(c->NextTriggerNanos(), start + 1'000'000'000);
  EXPECT_FALSE(c->MaybeTrigger(false)->has_value());
  clock_.AdvanceMillis(999);
  EXPECT_FALSE(c->MaybeTrigger(false)->has_value());
  clock_.AdvanceMillis(1);
  auto t = c->MaybeTrigger(false);
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ((*t)->id, 1);
  EXPECT_EQ((*t)->wall_ms, clock_.WallMillis());
  EXPECT_EQ((*t)->location.exclusive_dir(), "chk-1");
  EXPECT_TRUE(FileExists(ChkDir(1)));
  EXPECT_TRUE(c->IsPending(1));
  EXPECT_EQ(c->pending_count(), 1);
  EXPECT_EQ(c->metrics().in_progress, 1);
  ASSERT_TRUE(AckAll(*c, **t));
  // The next one is due an interval after the previous trigger.
  EXPECT_EQ(c->NextTriggerNanos(), clock_.NowNanos() + 1'000'000'000);
  clock_.AdvanceMillis(1000);
  auto t2 = c->MaybeTrigger(false);
  ASSERT_TRUE(t2.ok() && t2->has_value());
  EXPECT_EQ((*t2)->id, 2);
}

TEST_F(CheckpointCoordinatorTest, ForceIgnoresTheIntervalButNotMaxConcurrent) {
  auto c = NewCoordinator();
  auto t = MustTrigger(*c, /*force=*/true);
  EXPECT_EQ(t.id, 1);
  clock_.AdvanceMillis(5000);
  EXPECT_FALSE(c->MaybeTrigger(true)->has_value()) << "one checkpoint may be in progress";
  ASSERT_TRUE(AckAll(*c, t));
  EXPECT_EQ(MustTrigger(*c, true).id, 2);
}

TEST_F(CheckpointCoordinatorTest, MaxConcurrentCheckpointsAllowsOverlap) {
  options_.max_concurrent = 2;
  auto c = NewCoordinator();
  auto t1 = MustTrigger(*c);
  clock_.AdvanceMillis(1000);
  auto t2 = c->MaybeTrigger(false);
  ASSERT_TRUE(t2->has_value());
  clock_.AdvanceMillis(1000);
  EXPECT_FALSE(c->MaybeTrigger(false)->has_value());
  EXPECT_EQ(c->pending_count(), 2);
  ASSERT_TRUE(AckAll(*c, t1));
  EXPECT_EQ(c->pending_count(), 1);
  EXPECT_TRUE(c->MaybeTrigger(false)->has_value());
}

TEST_F(CheckpointCoordinatorTest, MinPauseSeparatesCompletionFromTheNextTrigger) {
  options_.min_pause = std::chrono::milliseconds(3000);
  options_.max_concurrent = 5;  // a min pause still means one at a time
  auto c = NewCoordinator();
  auto t1 = MustTrigger(*c);
  clock_.AdvanceMillis(1500);
  EXPECT_FALSE(c->MaybeTrigger(false)->has_value()) << "pending checkpoint blocks";
  clock_.AdvanceMillis(500);
  ASSERT_TRUE(AckAll(*c, t1));  // completes 2 s after its trigger
  EXPECT_EQ(c->NextTriggerNanos(), clock_.NowNanos() + 3'000'000'000);
  clock_.AdvanceMillis(2999);
  EXPECT_FALSE(c->MaybeTrigger(false)->has_value());
  clock_.AdvanceMillis(1);
  EXPECT_TRUE(c->MaybeTrigger(false)->has_value());
}

TEST_F(CheckpointCoordinatorTest, MinPauseCountsFromACompletionAtClockZero) {
  // A ManualClock starts at monotonic time 0; a checkpoint completing then still counts.
  options_.interval = std::chrono::milliseconds(100);
  options_.min_pause = std::chrono::milliseconds(5000);
  auto c = NewCoordinator();
  ASSERT_EQ(clock_.NowNanos(), 0);
  auto t = MustTrigger(*c);
  ASSERT_TRUE(AckAll(*c, t));
  EXPECT_EQ(c->NextTriggerNanos(), 5'000'000'000);
  clock_.AdvanceMillis(100);
  EXPECT_FALSE(c->MaybeTrigger(false)->has_value());
}

TEST_F(CheckpointCoordinatorTest, AcknowledgementsCompleteTheCheckpointAndWriteMetadata) {
  auto c = NewCoordinator();
  auto t = MustTrigger(*c);
  clock_.AdvanceMillis(250);
  EXPECT_FALSE(c->Acknowledge(t.id, Ack(t, 2)));
  EXPECT_FALSE(c->Acknowledge(t.id, Ack(t, 2))) << "a repeated ack does not count twice";
  EXPECT_FALSE(c->Acknowledge(t.id, Ack(t, 0)));
  EXPECT_FALSE(FileExists(ChkDir(1) + "/_metadata")) << "not before every task acknowledged";
  EXPECT_TRUE(c->Acknowledge(t.id, Ack(t, 1)));

  EXPECT_FALSE(c->IsPending(1));
  ASSERT_NE(c->latest(), nullptr);
  EXPECT_EQ(c->latest()->id(), 1);
  EXPECT_EQ(c->latest()->dir, ChkDir(1));
  CheckpointMetrics m = c->metrics();
  EXPECT_EQ(m.completed, 1);
  EXPECT_EQ(m.failed, 0);
  EXPECT_EQ(m.in_progress, 0);
  EXPECT_EQ(m.last_completed_id, 1);
  EXPECT_EQ(m.last_duration_ms, 250);
  EXPECT_EQ(m.last_alignment_ms, 20);
  EXPECT_EQ(m.last_completed_wall_ms, clock_.WallMillis());
  ASSERT_EQ(m.history.size(), 1u);
  EXPECT_EQ(m.history[0].sync_ms, 3) << "the longest of any task's";
  EXPECT_EQ(m.history[0].async_ms, 200);
  EXPECT_EQ(m.last_size_bytes,
            2 * std::string("keyed state 1").size() + std::string("pos-1").size());

  // What is on disk is a complete, verifiable checkpoint.
  auto loaded = storage_->Load(ChkDir(1));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const CheckpointMetadata& md = loaded->metadata;
  EXPECT_EQ(md.checkpoint_id, 1);
  EXPECT_EQ(md.job_id, kJobId);
  EXPECT_EQ(md.job_name, "job");
  EXPECT_EQ(md.trigger_wall_ms, t.wall_ms);
  EXPECT_EQ(md.completed_wall_ms, t.wall_ms + 250);
  EXPECT_FALSE(md.savepoint);
  ASSERT_EQ(md.operators.size(), 2u);
  const OperatorSnapshotMetadata* sum = md.FindOperator("sum");
  ASSERT_NE(sum, nullptr);
  ASSERT_EQ(sum->subtasks.size(), 2u);
  EXPECT_EQ(sum->subtasks[1].keyed->key_groups, KeyGroupRange::ForSubtask(128, 2, 1));
  EXPECT_EQ(sum->subtasks[1].keyed->canonical->path, "chk-1/sum-1.keyed");
  const OperatorSnapshotMetadata* source = md.FindOperator("source");
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->subtasks[0].operator_state[0].elements, std::vector<std::string>{"pos-1"});
  EXPECT_THAT(c->TakeAborted(), IsEmpty());
}

TEST_F(CheckpointCoordinatorTest, AcknowledgementsForUnknownCheckpointsAreIgnored) {
  auto c = NewCoordinator();
  auto t = MustTrigger(*c);
  CheckpointCoordinator::Trigger other = t;
  other.id = 42;
  EXPECT_FALSE(c->Acknowledge(42, Ack(other, 0)));
  c->Decline(42, Status::IOError("whatever"));
  EXPECT_EQ(c->metrics().failed, 0);
  EXPECT_TRUE(c->IsPending(1));
}

TEST_F(CheckpointCoordinatorTest, AcknowledgementForAnUnknownOperatorFailsTheCheckpoint) {
  options_.tolerable_failures = 5;
  auto c = NewCoordinator();
  auto t = MustTrigger(*c);
  CheckpointAcknowledgement bad = Ack(t, 0);
  bad.states[0].uid = "renamed-source";
  EXPECT_FALSE(c->Acknowledge(t.id, bad));
  EXPECT_FALSE(c->Acknowledge(t.id, Ack(t, 1)));
  EXPECT_FALSE(c->Acknowledge(t.id, Ack(t, 2)));
  EXPECT_EQ(c->metrics().failed, 1);
  EXPECT_EQ(c->latest(), nullptr);
  EXPECT_FALSE(FileExists(ChkDir(1)));
}

// A task still writing when another declined can create its file after the directory was
// discarded: it is discarded again when that task reports, and at the end of the job.
TEST_F(CheckpointCoordinatorTest, AFailedSavepointIsDiscardedAgainWhenALateWriterReports) {
  auto c = NewCoordinator();
  auto t = c->TriggerSavepoint(dir_.Join("savepoints"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const std::string sp = t->location.base_dir();
  const auto late_write = [&] {
    ASSERT_TRUE(FileSystem::Default()->CreateDirs(sp).ok());
    auto w = t->location.CreateExclusiveFile("late.keyed");
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Append("late").ok());
    ASSERT_TRUE(FileExists(sp));
  };
  c->Decline(t->id, Status::NoSpace("task 1: disk full"));
  EXPECT_FALSE(FileExists(sp));
  late_write();
  c->Decline(t->id, Status::NoSpace("task 2: disk full"));
  EXPECT_FALSE(FileExists(sp)) << "a late decline discards it again";
  late_write();
  EXPECT_FALSE(c->Acknowledge(t->id, Ack(*t, 0)));
  EXPECT_FALSE(FileExists(sp)) << "and so does a late acknowledgement";
  late_write();
  c->Shutdown(JobStatus::kFinished);
  EXPECT_FALSE(FileExists(sp)) << "and the end of the job";
}

TEST_F(CheckpointCoordinatorTest, DeclineCountsAsAFailureAndDeletesTheDirectory) {
  options_.tolerable_failures = 1;
  auto c = NewCoordinator();
  auto t = MustTrigger(*c);
  (void)c->Acknowledge(t.id, Ack(t, 1));
  c->Decline(t.id, Status::IOError("task 2 could not write its state"));
  EXPECT_FALSE(c->IsPending(1));
  EXPECT_FALSE(FileExists(ChkDir(1)));
  EXPECT_EQ(c->metrics().failed, 1);
  EXPECT_THAT(c->TakeAborted(), ElementsAre(1));
  EXPECT_THAT(c->TakeAborted(), IsEmpty());
  EXPECT_TRUE(c->failure().ok()) << "one failure is tolerated";
  EXPECT_FALSE(c->Acknowledge(t.id, Ack(t, 0))) << "late acks are ignored";

  auto t2 = MustTrigger(*c);
  c->Decline(t2.id, Status::IOError("again"));
  ASSERT_FALSE(c->failure().ok());
  EXPECT_EQ(c->failure().code(), StatusCode::kAborted);
  EXPECT_THAT(c->failure().message(),
              AllOf(HasSubstr("tolerable-failed-checkpoints = 1"), HasSubstr("checkpoint 2"),
                    HasSubstr("declined"), HasSubstr("again")));
}

TEST_F(CheckpointCoordinatorTest, ZeroTolerableFailuresFailsOnTheFirstFailure) {
  auto c = NewCoordinator();
  auto t = MustTrigger(*c);
  c->Decline(t.id, Status::IOError("disk"));
  EXPECT_FALSE(c->failure().ok());
  c->ClearFailure();
  EXPECT_TRUE(c->failure().ok());
}

TEST_F(CheckpointCoordinatorTest, SuccessResetsTheConsecutiveFailureCount) {
  options_.tolerable_failures = 1;
  auto c = NewCoordinator();
  for (int round = 0; round < 3; ++round) {
    auto t = MustTrigger(*c);
    c->Decline(t.id, Status::IOError("flaky"));
    EXPECT_TRUE(c->failure().ok()) << "round " << round;
    CompleteCheckpoint(*c);
  }
  EXPECT_EQ(c->metrics().failed, 3);
  EXPECT_EQ(c->metrics().completed, 3);
}

TEST_F(CheckpointCoordinatorTest, ExpiredCheckpointsCountAsFailures) {
  options_.tolerable_failures = 3;
  options_.timeout = std::chrono::milliseconds(10000);
  auto c = NewCoordinator();
  auto t = MustTrigger(*c);
  clock_.AdvanceMillis(9999);
  c->CheckTimeouts();
  EXPECT_TRUE(c->IsPending(t.id));
  clock_.AdvanceMillis(1);
  c->CheckTimeouts();
  EXPECT_FALSE(c->IsPending(t.id));
  EXPECT_FALSE(FileExists(ChkDir(1)));
  EXPECT_EQ(c->metrics().failed, 1);
  EXPECT_THAT(c->TakeAborted(), ElementsAre(1));
  EXPECT_FALSE(c->Acknowledge(t.id, Ack(t, 0)));
}

TEST_F(CheckpointCoordinatorTest, ExpiryMessageNamesTheTimeout) {
  options_.timeout = std::chrono::milliseconds(120000);
  auto c = NewCoordinator();
  (void)MustTrigger(*c);
  clock_.AdvanceMillis(120000);
  c->CheckTimeouts();
  ASSERT_FALSE(c->failure().ok());
  EXPECT_THAT(c->failure().message(),
              AllOf(HasSubstr("expired"), HasSubstr("execution.checkpointing.timeout = 2 min")));
}

TEST_F(CheckpointCoordinatorTest, AbortAllIsNotCountedAsFailure) {
  options_.max_concurrent = 3;
  auto c = NewCoordinator();
  (void)MustTrigger(*c);
  (void)MustTrigger(*c);
  c->AbortAll("failover");
  EXPECT_EQ(c->pending_count(), 0);
  EXPECT_EQ(c->metrics().failed, 0);
  EXPECT_EQ(c->metrics().in_progress, 0);
  EXPECT_TRUE(c->failure().ok());
  EXPECT_THAT(c->TakeAborted(), ElementsAre(1, 2));
  EXPECT_THAT(CheckpointDirsOnDisk(), IsEmpty());
}

TEST_F(CheckpointCoordinatorTest, NewerCompletedCheckpointSubsumesOlderPendingOnes) {
  options_.max_concurrent = 2;
  auto c = NewCoordinator();
  auto t1 = MustTrigger(*c);
  auto t2 = MustTrigger(*c);
  (void)c->Acknowledge(t1.id, Ack(t1, 0));
  ASSERT_TRUE(AckAll(*c, t2));
  EXPECT_FALSE(c->IsPending(1));
  EXPECT_FALSE(FileExists(ChkDir(1)));
  EXPECT_THAT(c->TakeAborted(), ElementsAre(1));
  EXPECT_EQ(c->metrics().failed, 0) << "subsumed is not failed";
  EXPECT_FALSE(c->Acknowledge(t1.id, Ack(t1, 0)));
  EXPECT_EQ(c->latest()->id(), 2);
}

TEST_F(CheckpointCoordinatorTest, OnlyNumRetainedCompletedCheckpointsAreKept) {
  options_.num_retained = 2;
  auto c = NewCoordinator();
  for (int i = 0; i < 5; ++i) {
    CompleteCheckpoint(*c);
    clock_.AdvanceMillis(1000);
  }
  EXPECT_THAT(CheckpointDirsOnDisk(), ElementsAre(4, 5));
  EXPECT_TRUE(storage_->Load(ChkDir(4)).ok());
  EXPECT_TRUE(storage_->Load(ChkDir(5)).ok());
  EXPECT_EQ(c->latest()->id(), 5);
}

TEST_F(CheckpointCoordinatorTest, CompletionCleansUpOrphanedDirectoriesButNotPendingOnes) {
  options_.max_concurrent = 2;
  auto c = NewCoordinator();
  // Left over from a crashed earlier attempt: partial chk-1 and chk-2.
  ASSERT_TRUE(storage_->InitCheckpoint(kJobId, 1).ok());
  ASSERT_TRUE(storage_->InitCheckpoint(kJobId, 2).ok());
  c->Initialize({}, 3);
  auto t3 = MustTrigger(*c);
  auto t4 = MustTrigger(*c);
  EXPECT_EQ(t3.id, 3);
  ASSERT_TRUE(AckAll(*c, t3));  // chk-4 is still in progress and must stay
  EXPECT_THAT(CheckpointDirsOnDisk(), ElementsAre(3, 4));
  ASSERT_TRUE(AckAll(*c, t4));
  EXPECT_THAT(CheckpointDirsOnDisk(), ElementsAre(4));
}

TEST_F(CheckpointCoordinatorTest, RestoredCheckpointIsRetainedUntilSubsumed) {
  {
    auto first = NewCoordinator();
    CompleteCheckpoint(*first);
  }
  auto restored = storage_->Load(ChkDir(1));
  ASSERT_TRUE(restored.ok());
  auto c = NewCoordinator();
  c->Initialize({*restored}, 2);
  ASSERT_NE(c->latest(), nullptr);
  EXPECT_EQ(c->latest()->id(), 1);
  EXPECT_EQ(MustTrigger(*c).id, 2);
  c->AbortAll("restart");
  EXPECT_THAT(CheckpointDirsOnDisk(), ElementsAre(1));
  CompleteCheckpoint(*c);
  EXPECT_THAT(CheckpointDirsOnDisk(), ElementsAre(3)) << "chk-1 subsumed, aborted chk-2 gone";
}

TEST_F(CheckpointCoordinatorTest, UnreferencedSharedFilesAreSweptAfterCompletion) {
  auto c = NewCoordinator();
  std::string shared = JoinPath(JobDir(), "shared");
  ASSERT_TRUE(FileSystem::Default()->CreateDirs(shared).ok());
  testing::WriteFile(JoinPath(shared, "c0_old.sst"), "x");
  testing::WriteFile(JoinPath(shared, "c7_future.sst"), "x");
  testing::WriteFile(JoinPath(shared, "manual-note"), "x");
  CompleteCheckpoint(*c);
  auto names = FileSystem::Default()->ListDir(shared);
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("c7_future.sst", "manual-note"));
}

TEST_F(CheckpointCoordinatorTest, ExistingCheckpointDirectoryIsNeverDeletedOnIdCollision) {
  options_.tolerable_failures = 5;
  auto c = NewCoordinator();
  CompleteCheckpoint(*c);  // chk-1
  auto again = NewCoordinator();
  again->Initialize({}, 1);  // wrong next id: chk-1 exists
  auto t = again->MaybeTrigger(true);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(t.status().message(), HasSubstr("starting checkpoint 1"));
  EXPECT_EQ(again->metrics().failed, 1);
  EXPECT_TRUE(storage_->Load(ChkDir(1)).ok()) << "the existing checkpoint must survive";
  EXPECT_EQ(MustTrigger(*again).id, 2) << "the next attempt uses the next id";
}

TEST_F(CheckpointCoordinatorTest, FailingToCreateTheDirectoryIsAFailedCheckpoint) {
  auto c = NewCoordinator();
  faulty_.InjectError(Op::kCreate, "chk-1", Status::NoSpace("disk full"), 1);
  auto t = c->MaybeTrigger(true);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsNoSpace());
  EXPECT_EQ(c->metrics().failed, 1);
  EXPECT_FALSE(c->failure().ok());
  EXPECT_EQ(c->pending_count(), 0);
}

struct MetadataFault {
  const char* name;
  Op op;
  friend void PrintTo(const MetadataFault& f, std::ostream* os) { *os << f.name; }
};

class CheckpointMetadataFaultTest : public CheckpointCoordinatorTest,
                                    public ::testing::WithParamInterface<MetadataFault> {};

TEST_P(CheckpointMetadataFaultTest, FailedMetadataWriteFailsTheCheckpointCleanly) {
  auto c = NewCoordinator();
  auto t = MustTrigger(*c);
  faulty_.InjectError(GetParam().op, "_metadata", Status::IOError("injected"), 1);
  EXPECT_FALSE(AckAll(*c, t));
  EXPECT_EQ(c->latest(), nullptr);
  EXPECT_FALSE(c->IsPending(t.id));
  EXPECT_EQ(c->metrics().completed, 0);
  EXPECT_EQ(c->metrics().failed, 1);
  EXPECT_FALSE(FileExists(ChkDir(1) + "/_metadata"));
  EXPECT_THAT(CheckpointDirsOnDisk(), IsEmpty()) << "the failed checkpoint's files are deleted";
  ASSERT_FALSE(c->failure().ok());
  EXPECT_THAT(c->failure().message(), HasSubstr("writing metadata of checkpoint 1"));
  EXPECT_THAT(c->TakeAborted(), ElementsAre(1));

  // The fault was transient: the next checkpoint completes.
  c->ClearFailure();
  auto t2 = MustTrigger(*c);
  EXPECT_TRUE(AckAll(*c, t2));
  EXPECT_TRUE(storage_->Load(ChkDir(2)).ok());
}

INSTANTIATE_TEST_SUITE_P(AllSteps, CheckpointMetadataFaultTest,
                         ::testing::Values(MetadataFault{"Create", Op::kCreate},
                                           MetadataFault{"Write", Op::kWrite},
                                           MetadataFault{"Fsync", Op::kSync},
                                           MetadataFault{"Rename", Op::kRename}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(CheckpointCoordinatorTest, FailedDirectoryFsyncAfterRenameLeavesNoMetadata) {
  auto c = NewCoordinator();
  auto t = MustTrigger(*c);
  faulty_.InjectError(Op::kSyncDir, "", Status::IOError("fsync of directory failed"), 1);
  EXPECT_FALSE(AckAll(*c, t));
  EXPECT_EQ(c->metrics().failed, 1);
  EXPECT_FALSE(FileExists(ChkDir(1) + "/_metadata"))
      << "a _metadata whose rename may not be durable must not be left as a checkpoint";
}

TEST_F(CheckpointCoordinatorTest, FullDiskFailsTheCheckpointWithNoSpace) {
  auto c = NewCoordinator();
  auto t = MustTrigger(*c);
  CheckpointAcknowledgement a0 = Ack(t, 0), a1 = Ack(t, 1), a2 = Ack(t, 2);
  faulty_.SetSpaceLimit(10);
  (void)c->Acknowledge(t.id, a0);
  (void)c->Acknowledge(t.id, a1);
  EXPECT_FALSE(c->Acknowledge(t.id, a2));
  ASSERT_FALSE(c->failure().ok());
  EXPECT_THAT(c->failure().message(), HasSubstr("No space"));
  EXPECT_THAT(CheckpointDirsOnDisk(), IsEmpty());
}

TEST_F(CheckpointCoordinatorTest, ARestoredRunThatEndsWithoutACheckpointOfItsOwnKeepsWhatItRestored) {
  options_.retention = Retention::kNoExternalized;
  {
    auto first = NewCoordinator();
    CompleteCheckpoint(*first);
  }
  auto restored = storage_->Load(ChkDir(1));
  ASSERT_TRUE(restored.ok());
  for (JobStatus end : {JobStatus::kFailed, JobStatus::kCanceled}) {
    auto c = NewCoordinator();
    c->Initialize({*restored}, 2);
    c->SetRestoredFrom(1, restored->dir);
    c->Shutdown(end);  // say, the restore failed: the state did not fit the job
    EXPECT_TRUE(storage_->Load(ChkDir(1)).ok()) << JobStatusName(end);
    std::vector<std::string> warnings;
    auto latest = storage_->FindLatest("job", &warnings);
    ASSERT_TRUE(latest.ok()) << latest.status().ToString();
    EXPECT_EQ(latest->id(), 1);
  }
  // Once the run has a checkpoint of its own, the retention policy decides again.
  auto c = NewCoordinator();
  c->Initialize({*restored}, 2);
  c->SetRestoredFrom(1, restored->dir);
  CompleteCheckpoint(*c);
  c->Shutdown(JobStatus::kFailed);
  EXPECT_FALSE(FileExists(ChkDir(1)));
  EXPECT_FALSE(FileExists(ChkDir(2)));
}

// A job that failed on a corrupt checkpoint keeps every checkpoint, whatever the retention:
// the one before may be whole.
TEST_F(CheckpointCoordinatorTest, AJobThatFailedOnACorruptCheckpointKeepsThemAll) {
  options_.retention = Retention::kNoExternalized;
  options_.num_retained = 2;
  auto c = NewCoordinator();
  CompleteCheckpoint(*c);
  CompleteCheckpoint(*c);
  c->Shutdown(JobStatus::kFailed, /*restore_found_corruption=*/true);
  EXPECT_TRUE(storage_->Load(ChkDir(1)).ok());
  EXPECT_TRUE(storage_->Load(ChkDir(2)).ok());
  EXPECT_EQ(c->metrics().kept_checkpoint, ChkDir(2));
}

struct ShutdownCase {
  const char* name;
  Retention retention;
  JobStatus status;
  bool kept;
  friend void PrintTo(const ShutdownCase& c, std::ostream* os) { *os << c.name; }
};

class CheckpointShutdownTest : public CheckpointCoordinatorTest,
                               public ::testing::WithParamInterface<ShutdownCase> {};

TEST_P(CheckpointShutdownTest, RetentionPolicyDecidesWhatSurvivesTheJob) {
  options_.retention = GetParam().retention;
  options_.max_concurrent = 2;
  auto c = NewCoordinator();
  CompleteCheckpoint(*c);
  (void)MustTrigger(*c);  // in progress when the job ends
  c->Shutdown(GetParam().status);
  EXPECT_EQ(c->pending_count(), 0);
  EXPECT_EQ(c->metrics().failed, 0) << "aborting at shutdown is not a failure";
  EXPECT_FALSE(FileExists(ChkDir(2))) << "an unfinished checkpoint never survives";
  if (GetParam().kept) {
    EXPECT_TRUE(storage_->Load(ChkDir(1)).ok());
    std::vector<std::string> warnings;
    auto latest = storage_->FindLatest("job", &warnings);
    ASSERT_TRUE(latest.ok()) << latest.status().ToString();
    EXPECT_EQ(latest->id(), 1);
  } else {
    // Only the manifest stays, saying how the run ended.
    auto left = storage_->fs()->ListDir(JobDir());
    ASSERT_TRUE(left.ok());
    EXPECT_THAT(*left, ElementsAre("_job"));
    EXPECT_EQ(c->latest(), nullptr);
    std::vector<std::string> warnings;
    auto latest = storage_->FindLatest("job", &warnings);
    ASSERT_FALSE(latest.ok());
    EXPECT_THAT(latest.status().message(),
                HasSubstr(std::string("ended ") + std::string(JobStatusName(GetParam().status))));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Policies, CheckpointShutdownTest,
    ::testing::Values(ShutdownCase{"NoExternalizedFailed", Retention::kNoExternalized,
                                   JobStatus::kFailed, false},
                      ShutdownCase{"NoExternalizedCanceled", Retention::kNoExternalized,
                                   JobStatus::kCanceled, false},
                      ShutdownCase{"NoExternalizedFinished", Retention::kNoExternalized,
                                   JobStatus::kFinished, false},
                      ShutdownCase{"DeleteOnCancellationFailed", Retention::kDeleteOnCancellation,
                                   JobStatus::kFailed, true},
                      ShutdownCase{"DeleteOnCancellationCanceled", Retention::kDeleteOnCancellation,
                                   JobStatus::kCanceled, false},
                      ShutdownCase{"DeleteOnCancellationFinished", Retention::kDeleteOnCancellation,
                                   JobStatus::kFinished, false},
                      ShutdownCase{"RetainOnCancellationFailed", Retention::kRetainOnCancellation,
                                   JobStatus::kFailed, true},
                      ShutdownCase{"RetainOnCancellationCanceled", Retention::kRetainOnCancellation,
                                   JobStatus::kCanceled, true},
                      ShutdownCase{"RetainOnCancellationFinished", Retention::kRetainOnCancellation,
                                   JobStatus::kFinished, false}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace weir
