// Savepoints end to end: taken while the job runs, stop-with-savepoint, restoring from one
// (also at another parallelism and without checkpointing), and a savepoint that fails.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include "base/fault_injection_file_system.h"
#include "base/fault_points.h"
#include "count_sum_job.h"
#include "testing/test_util.h"
#include "weir/weir.h"

namespace weir {
namespace {

using testing::BuildCountJob;
using testing::CheckpointFilesLeft;
using testing::ExpectExactCountSums;
using testing::JobSpec;
using testing::ListFilesRecursive;
using testing::OutputFiles;
using testing::ReadFile;
using testing::ReferenceOutput;
using testing::TempDir;
using testing::Throttle;

constexpr int64_t kRecords = 60'000;
constexpr int kKeys = 40;

JobSpec Spec(const TempDir& dir, int parallelism, bool throttle) {
  JobSpec spec;
  spec.records = kRecords;
  spec.keys = kKeys;
  spec.keyed_parallelism = parallelism;
  spec.output = dir.Join("out");
  if (throttle) spec.on_record = Throttle;
  return spec;
}

void BuildJob(StreamExecutionEnvironment& env, const TempDir& dir, int parallelism, bool throttle) {
  BuildCountJob(env, Spec(dir, parallelism, throttle));
}

std::map<std::string, std::string> Reference(int parallelism) {
  TempDir dir;
  return ReferenceOutput(Spec(dir, parallelism, false));
}

Configuration Config(const TempDir& dir, bool checkpointing = true) {
  Configuration c;
  if (checkpointing) c.Set("execution.checkpointing.interval", "20 ms");
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  c.Set("execution.checkpointing.savepoint-dir", dir.Join("savepoints"));
  c.Set("restart-strategy.type", "none");
  return c;
}

void WaitForRecords(JobClient& client, uint64_t records) {
  while (client.metrics().status == JobStatus::kRunning ||
         client.metrics().status == JobStatus::kCreated) {
    auto m = client.metrics();
    if (!m.operators.empty() && m.operators.back().records >= records) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Each output file is a start of the reference's: what a savepoint covers, nothing after.
// Returns their bytes.
size_t ExpectStartsOfReference(const TempDir& dir, std::map<std::string, std::string>& reference) {
  size_t bytes = 0;
  for (const auto& [name, text] : OutputFiles(dir.Join("out"))) {
    EXPECT_EQ(reference[name].compare(0, text.size(), text), 0) << name;
    bytes += text.size();
  }
  return bytes;
}

// The job at parallelism 2, resumed from `savepoint` into the same output, run to its end.
JobResult ResumeFrom(const TempDir& dir, const std::string& savepoint, bool checkpointing = true) {
  Configuration c = Config(dir, checkpointing);
  c.Set("execution.state-recovery.path", savepoint);
  StreamExecutionEnvironment env(c);
  BuildJob(env, dir, 2, false);
  return env.Execute("resumed");
}

// Resumed from `savepoint`, the job's output is the reference.
void ResumeToTheReference(const TempDir& dir, const std::string& savepoint,
                          const std::map<std::string, std::string>& reference,
                          bool checkpointing = true) {
  JobResult r = ResumeFrom(dir, savepoint, checkpointing);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(OutputFiles(dir.Join("out")), reference);
}

TEST(SavepointTest, ASavepointTakenWhileRunningRestoresTheJobExactly) {
  TempDir dir;
  auto reference = Reference(2);
  std::string savepoint;
  {
    StreamExecutionEnvironment env(Config(dir));
    BuildJob(env, dir, 2, true);
    auto client = env.ExecuteAsync("savepoint");
    WaitForRecords(*client, kRecords / 3);
    auto path = client->TriggerSavepoint();
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    savepoint = *path;
    JobResult r = client->Wait();
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(OutputFiles(dir.Join("out")), reference);
  }
  EXPECT_TRUE(testing::FileExists(savepoint + "/_metadata")) << savepoint;
  EXPECT_EQ(savepoint.rfind(dir.Join("savepoints"), 0), 0u) << savepoint;
  // The job went on after the savepoint: its output holds more than the savepoint covers, and
  // restoring it into the same output would cut committed output. That is refused, at once
  // (no restart can help), changing nothing.
  Configuration refused = Config(dir);
  refused.Set("execution.state-recovery.path", savepoint);
  refused.Set("restart-strategy.type", "exponential-delay");
  {
    StreamExecutionEnvironment env(refused);
    BuildJob(env, dir, 2, false);
    JobResult r = env.Execute("savepoint");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("execution.state-recovery.rewind-output"), std::string::npos)
        << r.error();
    EXPECT_EQ(r.metrics.restarts, 0);
    EXPECT_EQ(OutputFiles(dir.Join("out")), reference);
  }
  // Asked to rewind, the restore takes the job and its output back to the savepoint; it ends
  // identical again.
  Configuration c = Config(dir);
  c.Set("execution.state-recovery.path", savepoint);
  c.Set("execution.state-recovery.rewind-output", "true");
  StreamExecutionEnvironment env(c);
  BuildJob(env, dir, 2, false);
  JobResult r = env.Execute("savepoint");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(OutputFiles(dir.Join("out")), reference);
  EXPECT_TRUE(testing::FileExists(savepoint + "/_metadata")) << "restoring consumed the savepoint";
}

TEST(SavepointTest, StopWithSavepointFinishesTheJobAndRestoreCompletesIt) {
  TempDir dir;
  auto reference = Reference(2);
  std::string savepoint;
  {
    StreamExecutionEnvironment env(Config(dir));
    BuildJob(env, dir, 2, true);
    auto client = env.ExecuteAsync("stop");
    WaitForRecords(*client, kRecords / 3);
    auto path = client->StopWithSavepoint(dir.Join("elsewhere"));
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    savepoint = *path;
    JobResult r = client->Wait();
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.metrics.status, JobStatus::kFinished);
    EXPECT_EQ(r.savepoint_path, savepoint);
    EXPECT_EQ(savepoint.rfind(dir.Join("elsewhere"), 0), 0u) << savepoint;
    // What the savepoint covers is committed; nothing after it is visible.
    EXPECT_GT(ExpectStartsOfReference(dir, reference), 0u);
    // A finished job keeps no checkpoints, but the savepoint stays.
    EXPECT_EQ(CheckpointFilesLeft(dir.Join("checkpoints")), std::vector<std::string>{});
  }
  ResumeToTheReference(dir, savepoint, reference);
}

// The stop's savepoint completes, and one sink subtask's commit of it then fails: the other
// may have committed its part, so no older checkpoint matches the output. The job restarts
// from the savepoint (whose restore commits what the failed subtask had not), stops again at
// once, reading nothing more, and finishes with it; resumed from it, the output is the
// reference, every line once.
TEST(SavepointTest, ACommitFailingAfterTheStopsSavepointRestartsFromItAndStops) {
  TempDir dir;
  auto reference = Reference(2);
  std::string savepoint;
  {
    Configuration c = Config(dir);
    c.Set("execution.checkpointing.interval", "1 h");  // the savepoint's is the only commit
    c.Set("restart-strategy.type", "fixed-delay");
    c.Set("restart-strategy.fixed-delay.attempts", "2");
    c.Set("restart-strategy.fixed-delay.delay", "10 ms");
    StreamExecutionEnvironment env(c);
    BuildJob(env, dir, 2, true);
    auto client = env.ExecuteAsync("stop");
    WaitForRecords(*client, kRecords / 3);
    FaultPoints::Arm(
        fault_points::kSinkBeforeCommit, [] { return Status::IOError("injected: disk gone"); }, 0,
        1);
    auto path = client->StopWithSavepoint(dir.Join("elsewhere"));
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    savepoint = *path;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (client->metrics().status != JobStatus::kFinished &&
           client->metrics().status != JobStatus::kFailed &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      client->Cancel();
      ADD_FAILURE() << "the job did not stop after its stop-with-savepoint";
    }
    JobResult r = client->Wait();
    const int commits = FaultPoints::HitCount(fault_points::kSinkBeforeCommit);
    FaultPoints::DisarmAll();
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_GE(commits, 2) << "the failed commit and the restore's";
    EXPECT_EQ(r.metrics.restarts, 1);
    EXPECT_EQ(r.savepoint_path, savepoint);
    // The restarted attempt restored and stopped: it read and wrote nothing past the savepoint
    // (an at-least-once sink would have written it twice, once resumed).
    for (const auto& op : r.metrics.operators) EXPECT_EQ(op.records, 0u) << op.name;
    // What the savepoint covers is committed, by one subtask at the stop and by the other at
    // the restore; nothing after it.
    ExpectStartsOfReference(dir, reference);
  }
  ResumeToTheReference(dir, savepoint, reference);
}

TEST(SavepointTest, ASavepointRestoresAtAnotherParallelism) {
  TempDir dir;
  std::string savepoint;
  {
    StreamExecutionEnvironment env(Config(dir));
    BuildJob(env, dir, 3, true);
    auto client = env.ExecuteAsync("rescale");
    WaitForRecords(*client, kRecords / 2);
    auto path = client->StopWithSavepoint();
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    savepoint = *path;
    ASSERT_TRUE(client->Wait().ok());
  }
  JobResult r = ResumeFrom(dir, savepoint);
  ASSERT_TRUE(r.ok()) << r.error();
  ExpectExactCountSums(OutputFiles(dir.Join("out")), Spec(dir, 2, false));
}

TEST(SavepointTest, SavepointsWorkWithoutCheckpointing) {
  TempDir dir;
  auto reference = Reference(2);
  std::string savepoint;
  {
    StreamExecutionEnvironment env(Config(dir, /*checkpointing=*/false));
    BuildJob(env, dir, 2, true);
    auto client = env.ExecuteAsync("no checkpoints");
    WaitForRecords(*client, kRecords / 3);
    auto path = client->StopWithSavepoint();
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    savepoint = *path;
    ASSERT_TRUE(client->Wait().ok());
  }
  ResumeToTheReference(dir, savepoint, reference, /*checkpointing=*/false);
}

TEST(SavepointTest, AFailedSavepointIsReportedAndTheJobCarriesOn) {
  TempDir dir;
  auto reference = Reference(2);
  FaultInjectionFileSystem fs(FileSystem::Default());
  fs.InjectError(FaultInjectionFileSystem::Op::kWrite, "savepoint-", Status::NoSpace("disk full"));
  StreamExecutionEnvironment env(Config(dir));
  env.SetFileSystemForTesting(&fs);
  BuildJob(env, dir, 2, true);
  auto client = env.ExecuteAsync("failing savepoint");
  WaitForRecords(*client, kRecords / 4);
  auto path = client->TriggerSavepoint();
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.status().ToString().find("disk full"), std::string::npos)
      << path.status().ToString();
  auto stop = client->StopWithSavepoint();
  EXPECT_FALSE(stop.ok()) << "the stop fails with its savepoint, and the job keeps running";
  JobResult r = client->Wait();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.metrics.checkpoints.failed, 0) << "savepoint failures are not checkpoint failures";
  EXPECT_EQ(OutputFiles(dir.Join("out")), reference);
  EXPECT_TRUE(ListFilesRecursive(dir.Join("savepoints")).empty())
      << "a failed savepoint is cleaned up";
}

TEST(SavepointTest, ASavepointOfAFinishedJobIsAnError) {
  TempDir dir;
  StreamExecutionEnvironment env(Config(dir));
  BuildJob(env, dir, 1, false);
  auto client = env.ExecuteAsync("done");
  ASSERT_TRUE(client->Wait().ok());
  auto path = client->TriggerSavepoint();
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.status().ToString().find("not running"), std::string::npos)
      << path.status().ToString();
}

}  // namespace
}  // namespace weir
