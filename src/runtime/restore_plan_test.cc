// RestorePlan: a fresh run, a restore from the latest checkpoint, from a checkpoint or a
// savepoint by path, and the errors; PlanRestore reads only, StartRun writes the manifest.
#include "runtime/restore_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace weir {
namespace {

using ::testing::HasSubstr;

class RestorePlanTest : public ::testing::Test {
 protected:
  RestorePlanTest()
      : storage_(FileSystem::Default(), dir_.Join("checkpoints"), dir_.Join("savepoints")) {}

  // A completed checkpoint `id` of run `job_id`, with no state.
  std::string WriteCheckpoint(const std::string& job_id, int64_t id, bool savepoint = false) {
    auto loc = savepoint ? storage_.InitSavepoint(job_id, "") : storage_.InitCheckpoint(job_id, id);
    EXPECT_TRUE(loc.ok()) << loc.status().ToString();
    CheckpointMetadata m;
    m.checkpoint_id = id;
    m.job_id = job_id;
    m.job_name = "job";
    m.savepoint = savepoint;
    EXPECT_TRUE(storage_.WriteMetadata(*loc, m).ok());
    return loc->exclusive_dir().empty() ? loc->base_dir()
                                        : JoinPath(loc->base_dir(), loc->exclusive_dir());
  }

  Result<RestorePlan> Plan(const std::string& path, bool checkpointing = true) {
    return PlanRestore(storage_, path, "job", checkpointing, &clock_, &warnings_);
  }

  testing::TempDir dir_;
  CheckpointStorage storage_;
  ManualClock clock_{5000};
  std::vector<std::string> warnings_;
};

TEST_F(RestorePlanTest, AFreshRunGetsANewJobIdAndWritesNothingUntilStarted) {
  auto plan = Plan("");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->job_id.size(), 32u);
  EXPECT_EQ(plan->checkpoint, nullptr);
  EXPECT_EQ(plan->next_checkpoint_id, 1);
  ASSERT_TRUE(plan->manifest.has_value());
  EXPECT_FALSE(testing::FileExists(storage_.JobDir(plan->job_id)));
  ASSERT_TRUE(StartRun(storage_, *plan).ok());
  auto m = storage_.ReadManifest(storage_.JobDir(plan->job_id));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->job_name, "job");
  EXPECT_EQ(m->created_wall_ms, 5000);
}

TEST_F(RestorePlanTest, WithoutCheckpointingARunWritesNoManifest) {
  auto plan = Plan("", /*checkpointing=*/false);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->manifest.has_value());
}

TEST_F(RestorePlanTest, LatestContinuesInTheCheckpointsJobDirectoryPastEveryIdInUse) {
  ASSERT_TRUE(storage_.CreateJobDir(JobManifest::ForRun("a1", "job", 1000)).ok());
  WriteCheckpoint("a1", 3);
  WriteCheckpoint("a1", 4);
  ASSERT_TRUE(storage_.InitCheckpoint("a1", 6).ok());  // an incomplete one: skipped
  auto plan = Plan("latest");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->job_id, "a1");
  ASSERT_NE(plan->checkpoint, nullptr);
  EXPECT_EQ(plan->checkpoint->id(), 4);
  EXPECT_EQ(plan->next_checkpoint_id, 7);
  ASSERT_EQ(plan->retained.size(), 1u);
  EXPECT_EQ(plan->retained[0].id(), 4);
  EXPECT_EQ(plan->manifest->created_wall_ms, 5000) << "the run becomes the latest";
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_THAT(warnings_[0], HasSubstr("checkpoint 6"));
}

// Restoring another job's checkpoint would take over its directory and delete its
// checkpoints: refused, saying what to do instead. Its savepoint starts a run of its own.
TEST_F(RestorePlanTest, AnotherJobsCheckpointIsRefusedItsSavepointIsNot) {
  ASSERT_TRUE(storage_.CreateJobDir(JobManifest::ForRun("a1", "job", 1000)).ok());
  const std::string checkpoint = WriteCheckpoint("a1", 3);
  const std::string savepoint = WriteCheckpoint("a1", 4, /*savepoint=*/true);
  auto refused = PlanRestore(storage_, checkpoint, "other", true, &clock_, &warnings_);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("is of job 'job', not of 'other'"));
  EXPECT_THAT(refused.status().message(), HasSubstr("savepoint"));
  auto forked = PlanRestore(storage_, savepoint, "other", true, &clock_, &warnings_);
  ASSERT_TRUE(forked.ok()) << forked.status().ToString();
  EXPECT_NE(forked->job_id, "a1");
}

// A run marked ended whose checkpoint is still there (a crash in the middle of deleting
// them), restored from it, is live again: its manifest no longer says it ended, so a later
// "latest" finds it and a fresh run does not take it for an ended one to clear away.
TEST_F(RestorePlanTest, ARestoredRunIsNoLongerEnded) {
  JobManifest ended = JobManifest::ForRun("a1", "job", 1000);
  ended.ended = "FAILED";
  ended.ended_wall_ms = 2000;
  ASSERT_TRUE(storage_.CreateJobDir(ended).ok());
  auto plan = Plan(WriteCheckpoint("a1", 3));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->manifest->ended, "");
  EXPECT_EQ(plan->manifest->ended_wall_ms, 0);
}

TEST_F(RestorePlanTest, ASavepointStartsANewRun) {
  std::string path = WriteCheckpoint("a1", 9, /*savepoint=*/true);
  auto plan = Plan(path);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_NE(plan->job_id, "a1");
  EXPECT_EQ(plan->checkpoint->id(), 9);
  EXPECT_EQ(plan->next_checkpoint_id, 10);
  EXPECT_TRUE(plan->retained.empty());
  EXPECT_EQ(plan->manifest->restored_from, path);
}

TEST_F(RestorePlanTest, ErrorsSayWhatCouldNotBeRestored) {
  auto missing = Plan(dir_.Join("nothing-here"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("cannot restore from"));
  auto none = Plan("latest");
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr("cannot restore from the latest checkpoint"));
  auto scheme = Plan("s3://bucket/chk-1");
  ASSERT_FALSE(scheme.ok());
  EXPECT_THAT(scheme.status().message(), HasSubstr("execution.state-recovery.path"));
}

}  // namespace
}  // namespace weir
