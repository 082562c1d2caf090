// Recovery end to end, in-process: restarts from checkpoints, at-least-once, a disk that
// fails fsync, rename or fills up during checkpoints, a power loss that drops unsynced data,
// rescaling on restore, and corrupt or partial checkpoints. Every test with keyed state runs
// on each state backend: hashmap and rocksdb, each with full and with incremental
// checkpoints; RocksDB's own failures (a working directory that cannot be created, a write
// that fails) are handled by the restart strategy.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "base/fault_injection_file_system.h"
#include "base/fault_points.h"
#include "count_sum_job.h"
#include "testing/test_util.h"
#include "weir/weir.h"

namespace weir {
namespace {

using testing::CheckpointFilesLeft;
using testing::ListFilesRecursive;
using testing::ReadFile;
using testing::TempDir;

using testing::BuildCountJob;
using testing::CountSum;
using testing::ExpectExactCountSums;
using testing::FailOnceAt;
using testing::JobSpec;
using testing::KeyValue;
using testing::Lines;
using testing::OutputFiles;
using testing::ReferenceOutput;
using testing::Throttle;
using testing::WaitFor;

struct Backend {
  const char* name;
  const char* type;  // state.backend.type
  bool incremental;
};

void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

const Backend kBackends[] = {{"hashmap", "hashmap", false},
                             {"hashmap_incremental", "hashmap", true},
                             {"rocksdb", "rocksdb", false},
                             {"rocksdb_incremental", "rocksdb", true}};

// The backend's settings, with RocksDB's working directories under `dir`.
void UseBackend(Configuration& c, const TempDir& dir, const Backend& b) {
  c.Set("state.backend.type", b.type);
  c.Set("execution.checkpointing.incremental", b.incremental ? "true" : "false");
  c.Set("state.backend.rocksdb.localdir", dir.Join("rocksdb"));
}

Configuration CheckpointedConfig(const TempDir& dir, const std::string& interval = "10 ms") {
  Configuration c;
  c.Set("execution.checkpointing.interval", interval);
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  c.Set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.attempts", "5");
  c.Set("restart-strategy.fixed-delay.delay", "10 ms");
  return c;
}

class InProcessRestartTest : public ::testing::TestWithParam<std::tuple<int, Backend>> {};

TEST_P(InProcessRestartTest, FailureAfterACheckpointRestoresAndEndsByteIdentical) {
  TempDir dir;
  JobSpec spec;
  spec.keyed_parallelism = std::get<0>(GetParam());
  spec.output = dir.Join("out");
  auto reference = ReferenceOutput(spec);

  std::atomic<bool> checkpointed{false};
  std::atomic<bool> failed{false};
  spec.on_record = [&](int64_t i) {
    // Slow until a checkpoint completed (up to a second in all), so that the failure comes
    // after one however loaded the machine is.
    if (!checkpointed.load()) {
      if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } else if (!failed.exchange(true)) {
      throw std::runtime_error("injected failure at record " + std::to_string(i));
    }
  };
  Configuration c = CheckpointedConfig(dir);
  UseBackend(c, dir, std::get<1>(GetParam()));
  StreamExecutionEnvironment env(c);
  BuildCountJob(env, spec);
  auto client = env.ExecuteAsync("restart");
  ASSERT_TRUE(WaitFor(*client, [](const JobMetrics& m) { return m.checkpoints.completed >= 1; }));
  checkpointed = true;
  JobResult r = client->Wait();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(failed.load());
  EXPECT_EQ(r.metrics.restarts, 1);
  EXPECT_EQ(OutputFiles(spec.output), reference);
  ExpectExactCountSums(OutputFiles(spec.output), spec);
  // A finished job leaves no checkpoints (only the manifest that says it finished) and no
  // staging files behind.
  EXPECT_EQ(CheckpointFilesLeft(dir.Join("checkpoints")), std::vector<std::string>{});
  for (const auto& f : ListFilesRecursive(spec.output)) {
    EXPECT_EQ(f.find(".pending"), std::string::npos) << f;
  }
  // Nor RocksDB working directories (of the failed attempt either).
  EXPECT_TRUE(ListFilesRecursive(dir.Join("rocksdb")).empty());
}

INSTANTIATE_TEST_SUITE_P(KeyedParallelism, InProcessRestartTest,
                         ::testing::Combine(::testing::Values(1, 3),
                                            ::testing::ValuesIn(kBackends)),
                         [](const auto& info) {
                           return "p" + std::to_string(std::get<0>(info.param)) + "_" +
                                  std::get<1>(info.param).name;
                         });

// The tests of this suite run on each state backend.
class BackendRecoveryTest : public ::testing::TestWithParam<Backend> {
 protected:
  Configuration CheckpointedConfig(const TempDir& dir) {
    Configuration c = weir::CheckpointedConfig(dir);
    UseBackend(c, dir, GetParam());
    return c;
  }

  // Runs the count job, checkpointed, with record 100 failing whenever it comes, under a
  // fixed-delay strategy that allows two restarts.
  JobResult RunAlwaysFailingAtRecord100(const TempDir& dir, JobSpec spec) {
    spec.output = dir.Join("out");
    spec.on_record = [](int64_t i) {
      if (i == 100) throw std::runtime_error("always broken");
    };
    Configuration c = CheckpointedConfig(dir);
    c.Set("restart-strategy.fixed-delay.attempts", "2");
    c.Set("restart-strategy.fixed-delay.delay", "1 ms");
    StreamExecutionEnvironment env(c);
    BuildCountJob(env, spec);
    return env.Execute("broken");
  }
};

TEST_P(BackendRecoveryTest, WithoutCheckpointsARestartRunsFromTheBeginning) {
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  spec.records = 20'000;
  auto reference = ReferenceOutput(spec);
  spec.on_record = FailOnceAt(12'345);
  Configuration c;
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.delay", "1 ms");
  UseBackend(c, dir, GetParam());
  StreamExecutionEnvironment env(c);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("no checkpoints");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.metrics.restarts, 1);
  EXPECT_EQ(OutputFiles(spec.output), reference);
}

TEST_P(BackendRecoveryTest, RestartStrategyExhaustedFailsTheJobWithTheCause) {
  TempDir dir;
  JobResult r = RunAlwaysFailingAtRecord100(dir, JobSpec());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.metrics.restarts, 2);
  EXPECT_NE(r.error().find("always broken"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("allows no more restarts"), std::string::npos) << r.error();
}

// A redeploy that fails (here the source's enumerator, as a Kafka source whose brokers are
// still down) counts as one more failure: the restart strategy tries again, and the job ends
// exact.
TEST_P(BackendRecoveryTest, AFailedRedeployIsRetriedByTheRestartStrategy) {
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  spec.records = 20'000;
  auto reference = ReferenceOutput(spec);
  spec.on_record = FailOnceAt(12'345);
  std::atomic<int> starts{0};
  spec.on_enumerator_start = [&] {
    int n = ++starts;
    if (n == 2 || n == 3) {
      throw std::runtime_error("brokers still down (start " + std::to_string(n) + ")");
    }
  };
  Configuration c = CheckpointedConfig(dir);
  StreamExecutionEnvironment env(c);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("flaky redeploy");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(starts.load(), 4);
  EXPECT_EQ(r.metrics.restarts, 3);
  EXPECT_EQ(OutputFiles(spec.output), reference);
  ExpectExactCountSums(OutputFiles(spec.output), spec);
}

TEST_P(BackendRecoveryTest, ARedeployThatKeepsFailingEndsWhenTheRestartStrategySaysSo) {
  TempDir dir;
  JobSpec spec;
  std::atomic<int> starts{0};
  spec.on_enumerator_start = [&] {
    if (++starts > 1) throw std::runtime_error("brokers still down");
  };
  // Only the first attempt reaches record 100: every redeploy fails before.
  JobResult r = RunAlwaysFailingAtRecord100(dir, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(starts.load(), 3);
  EXPECT_EQ(r.metrics.restarts, 2);
  EXPECT_NE(r.error().find("brokers still down"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("redeploying job"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("allows no more restarts"), std::string::npos) << r.error();
}

TEST(RecoveryTest, AtLeastOnceLosesNothingAcrossAFailure) {
  TempDir dir;
  const int64_t n = 60'000;
  std::atomic<bool> checkpointed{false};
  std::atomic<bool> failed{false};
  Configuration c = CheckpointedConfig(dir);
  c.Set("execution.checkpointing.mode", "AT_LEAST_ONCE");
  StreamExecutionEnvironment env(c);
  env.SetParallelism(2);
  env.FromSequence(0, n - 1)
      .Map([&](int64_t i) {
        // Slow until a checkpoint completed, then a failure, whatever the machine's load: the
        // job cannot end before the failure it tests.
        if (!checkpointed.load()) std::this_thread::sleep_for(std::chrono::microseconds(200));
        if (checkpointed.load() && !failed.exchange(true)) throw std::runtime_error("once");
        return i;
      })
      .Rebalance()
      .Map([](int64_t i) { return std::to_string(i); })
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  auto client = env.ExecuteAsync("at-least-once");
  ASSERT_TRUE(WaitFor(*client, [](const JobMetrics& m) { return m.checkpoints.completed >= 1; }));
  checkpointed = true;
  JobResult r = client->Wait();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.metrics.restarts, 1);
  std::set<int64_t> seen;
  for (const auto& [name, text] : OutputFiles(dir.Join("out"))) {
    for (const auto& line : Lines(text)) seen.insert(std::stoll(line));
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(n));
}

// ---- A disk that misbehaves during checkpoints ------------------------------------------------

struct FaultCase {
  const char* name;
  FaultInjectionFileSystem::Op op;
  const char* path_filter;
  int count;
  // False for a fault the checkpoint works around (a failed hard link: the file is written).
  bool fails_checkpoints = true;
};

class CheckpointFaultTest : public ::testing::TestWithParam<std::tuple<FaultCase, Backend>> {};

TEST_P(CheckpointFaultTest, FailedCheckpointsAreToleratedAndNothingIsLost) {
  const FaultCase& fc = std::get<0>(GetParam());
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  auto reference = ReferenceOutput(spec);
  spec.on_record = Throttle;
  FaultInjectionFileSystem fs(FileSystem::Default());
  fs.InjectError(fc.op, fc.path_filter, Status::IOError("disk says no"), fc.count);
  Configuration c = CheckpointedConfig(dir);
  c.Set("execution.checkpointing.tolerable-failed-checkpoints", "100");
  UseBackend(c, dir, std::get<1>(GetParam()));
  StreamExecutionEnvironment env(c);
  env.SetFileSystemForTesting(&fs);
  BuildCountJob(env, spec);
  JobResult r = env.Execute(fc.name);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(fs.injected_failures(), fc.count);
  if (fc.fails_checkpoints) {
    EXPECT_GE(r.metrics.checkpoints.failed, 1);
  } else {
    EXPECT_EQ(r.metrics.checkpoints.failed, 0);
    EXPECT_GE(r.metrics.checkpoints.completed, fc.count + 1);
  }
  EXPECT_EQ(OutputFiles(spec.output), reference);
}

const auto kFaultCaseName = [](const auto& info) {
  return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param).name;
};
INSTANTIATE_TEST_SUITE_P(
    Faults, CheckpointFaultTest,
    ::testing::Combine(
        ::testing::Values(
            FaultCase{"fsync_of_state", FaultInjectionFileSystem::Op::kSync, ".keyed", 3},
            FaultCase{"rename_of_metadata", FaultInjectionFileSystem::Op::kRename, "_metadata", 2},
            FaultCase{"write_of_state", FaultInjectionFileSystem::Op::kWrite, ".keyed", 2},
            FaultCase{"fsync_of_staged_output", FaultInjectionFileSystem::Op::kSync, "txn-", 2}),
        ::testing::ValuesIn(kBackends)),
    kFaultCaseName);

// The hashmap backend's key file: written by the first checkpoint and after any change of
// keys, then reused (incremental) or hard-linked (full; a full checkpoint that cannot link it
// writes it instead).
INSTANTIATE_TEST_SUITE_P(
    KeyFileFaults, CheckpointFaultTest,
    ::testing::Combine(
        ::testing::Values(
            FaultCase{"fsync_of_key_file", FaultInjectionFileSystem::Op::kSync, ".keys", 2},
            FaultCase{"write_of_key_file", FaultInjectionFileSystem::Op::kWrite, ".keys", 2}),
        ::testing::Values(kBackends[0], kBackends[1])),
    kFaultCaseName);
INSTANTIATE_TEST_SUITE_P(
    KeyFileLinkFaults, CheckpointFaultTest,
    ::testing::Combine(::testing::Values(FaultCase{"link_of_key_file",
                                                   FaultInjectionFileSystem::Op::kLink, ".keys",
                                                   2, /*fails_checkpoints=*/false}),
                       ::testing::Values(kBackends[0])),
    kFaultCaseName);

TEST_P(BackendRecoveryTest, TooManyFailedCheckpointsFailTheJob) {
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  spec.on_record = Throttle;
  FaultInjectionFileSystem fs(FileSystem::Default());
  fs.InjectError(FaultInjectionFileSystem::Op::kSync, ".keyed", Status::IOError("bad disk"));
  Configuration c = CheckpointedConfig(dir);
  c.Set("execution.checkpointing.tolerable-failed-checkpoints", "2");
  c.Set("restart-strategy.type", "none");
  StreamExecutionEnvironment env(c);
  env.SetFileSystemForTesting(&fs);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("bad disk");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("tolerable-failed-checkpoints = 2"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("bad disk"), std::string::npos) << r.error();
  // Failed checkpoints leave no directory with a _metadata behind.
  for (const auto& f : ListFilesRecursive(dir.Join("checkpoints"))) {
    EXPECT_EQ(f.find("_metadata"), std::string::npos) << f;
  }
}

TEST_P(BackendRecoveryTest, AFullDiskFailsCheckpointsOrTasksButNeverCorruptsTheOutput) {
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  spec.records = 80'000;
  auto reference = ReferenceOutput(spec);
  spec.on_record = Throttle;
  FaultInjectionFileSystem fs(FileSystem::Default());
  Configuration c = CheckpointedConfig(dir);
  c.Set("execution.checkpointing.tolerable-failed-checkpoints", "1000");
  c.Set("restart-strategy.fixed-delay.attempts", "100");
  StreamExecutionEnvironment env(c);
  env.SetFileSystemForTesting(&fs);
  BuildCountJob(env, spec);
  auto client = env.ExecuteAsync("full disk");
  ASSERT_TRUE(WaitFor(*client, [](const JobMetrics& m) { return m.checkpoints.completed >= 1; }));
  fs.SetSpaceLimit(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  fs.ClearSpaceLimit();
  JobResult r = client->Wait();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GE(fs.injected_failures(), 1);
  EXPECT_GE(r.metrics.checkpoints.failed + r.metrics.restarts, 1);
  EXPECT_EQ(OutputFiles(spec.output), reference);
}

// ---- Power loss, restore, rescale ---------------------------------------------------------

TEST_P(BackendRecoveryTest, PowerLossLosesNothingACheckpointOrCommitPromised) {
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  spec.keyed_parallelism = 2;
  auto reference = ReferenceOutput(spec);
  spec.on_record = Throttle;
  FaultInjectionFileSystem fs(FileSystem::Default());
  {
    StreamExecutionEnvironment env(CheckpointedConfig(dir));
    env.SetFileSystemForTesting(&fs);
    BuildCountJob(env, spec);
    auto client = env.ExecuteAsync("power loss");
    ASSERT_TRUE(WaitFor(*client, [](const JobMetrics& m) { return m.checkpoints.completed >= 3; }));
    client->Cancel();
    client->Wait();
  }
  ASSERT_TRUE(fs.DropUnsyncedData().ok());
  // What a reader sees now is committed output only: a prefix of the final file.
  for (const auto& [name, text] : OutputFiles(spec.output)) {
    ASSERT_TRUE(reference.contains(name)) << name;
    EXPECT_EQ(reference[name].compare(0, text.size(), text), 0) << name << " is not a prefix";
  }
  Configuration c = CheckpointedConfig(dir);
  c.Set("execution.state-recovery.path", "latest");
  spec.on_record = nullptr;
  StreamExecutionEnvironment env(c);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("power loss");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GT(r.metrics.checkpoints.restored_from_id, 0);
  EXPECT_EQ(OutputFiles(spec.output), reference);
}

class RescaleTest : public ::testing::TestWithParam<std::tuple<std::pair<int, int>, Backend>> {
 protected:
  Configuration CheckpointedConfig(const TempDir& dir) {
    Configuration c = weir::CheckpointedConfig(dir);
    UseBackend(c, dir, std::get<1>(GetParam()));
    return c;
  }
};

TEST_P(RescaleTest, RestoreWithAnotherParallelismKeepsEveryKeyExact) {
  auto [from, to] = std::get<0>(GetParam());
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  spec.keys = 300;
  spec.keyed_parallelism = from;
  spec.on_record = Throttle;
  {
    StreamExecutionEnvironment env(CheckpointedConfig(dir));
    BuildCountJob(env, spec);
    auto client = env.ExecuteAsync("rescale");
    ASSERT_TRUE(WaitFor(*client, [](const JobMetrics& m) { return m.checkpoints.completed >= 2; }));
    client->Cancel();
    JobResult r = client->Wait();
    ASSERT_EQ(r.metrics.status, JobStatus::kCanceled);
  }
  ExpectExactCountSums(OutputFiles(spec.output), spec, /*complete=*/false);
  Configuration c = CheckpointedConfig(dir);
  c.Set("execution.state-recovery.path", "latest");
  spec.keyed_parallelism = to;
  spec.on_record = nullptr;
  StreamExecutionEnvironment env(c);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("rescale");
  ASSERT_TRUE(r.ok()) << r.error();
  ExpectExactCountSums(OutputFiles(spec.output), spec);
}

std::string RescaleTestName(const ::testing::TestParamInfo<RescaleTest::ParamType>& info) {
  const auto& [from, to] = std::get<0>(info.param);
  return std::to_string(from) + "_to_" + std::to_string(to) + "_" + std::get<1>(info.param).name;
}

INSTANTIATE_TEST_SUITE_P(Parallelism, RescaleTest,
                         ::testing::Combine(::testing::Values(std::make_pair(2, 3),
                                                              std::make_pair(3, 2),
                                                              std::make_pair(2, 5)),
                                            ::testing::ValuesIn(kBackends)),
                         RescaleTestName);

// Runs the job until `checkpoints` completed, then cancels it (checkpoints are retained).
void RunAndCancel(const TempDir& dir, JobSpec spec, int checkpoints, Configuration c) {
  StreamExecutionEnvironment env(c);
  spec.on_record = Throttle;
  BuildCountJob(env, spec);
  auto client = env.ExecuteAsync("corrupt");
  ASSERT_TRUE(WaitFor(*client,
                      [&](const JobMetrics& m) { return m.checkpoints.completed >= checkpoints; }));
  client->Cancel();
  client->Wait();
}

TEST_P(BackendRecoveryTest, RestoreLatestSkipsACorruptNewestCheckpoint) {
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  auto reference = ReferenceOutput(spec);
  Configuration c = CheckpointedConfig(dir);
  c.Set("execution.checkpointing.num-retained", "3");
  RunAndCancel(dir, spec, 3, c);
  // Corrupt one byte of a state file of the newest checkpoint.
  auto files = ListFilesRecursive(dir.Join("checkpoints"));
  std::string newest_state;
  int newest = -1;
  for (const auto& f : files) {
    auto pos = f.find("/chk-");
    if (pos == std::string::npos || f.find(".keyed") == std::string::npos) continue;
    int id = std::stoi(f.substr(pos + 5));
    if (id > newest) {
      newest = id;
      newest_state = dir.Join("checkpoints/" + f);
    }
  }
  ASSERT_FALSE(newest_state.empty());
  std::string data = ReadFile(newest_state);
  data[data.size() / 2] ^= 0x5a;
  testing::WriteFile(newest_state, data);

  // The older checkpoint covers less output than the newest committed: resuming from it
  // replays records, so the output must be cut back, which only the user may ask for.
  c.Set("execution.state-recovery.path", "latest");
  auto before = OutputFiles(spec.output);
  {
    StreamExecutionEnvironment env(c);
    BuildCountJob(env, spec);
    JobResult r = env.Execute("corrupt");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("rewind-output"), std::string::npos) << r.error();
    EXPECT_EQ(OutputFiles(spec.output), before);
  }
  c.Set("execution.state-recovery.rewind-output", "true");
  StreamExecutionEnvironment env(c);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("corrupt");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_LT(r.metrics.checkpoints.restored_from_id, newest);
  EXPECT_EQ(OutputFiles(spec.output), reference);
}

// A failover whose restore finds the latest checkpoint corrupt ends the job (no restart cures
// a corrupt file) and keeps every checkpoint, whatever the retention says: the ones before it
// may be whole, and --restore latest passes over a corrupt one. (On the heap backend: the
// fault file system sees its reads; RocksDB reads its files itself.)
TEST(RecoveryTest, AFailoverThatFindsTheLatestCheckpointCorruptKeepsEveryCheckpoint) {
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  spec.records = 20'000;
  auto fail = FailOnceAt(15'000);
  spec.on_record = [fail](int64_t i) {
    Throttle(i);
    fail(i);
  };
  Configuration c = CheckpointedConfig(dir);
  c.Set("execution.checkpointing.externalized-checkpoint-retention", "NO_EXTERNALIZED_CHECKPOINTS");
  c.Set("execution.checkpointing.num-retained", "2");
  FaultInjectionFileSystem fs(FileSystem::Default());
  fs.InjectError(FaultInjectionFileSystem::Op::kRead, "/chk-",
                 Status::Corruption("injected: a flipped bit"));
  StreamExecutionEnvironment env(c);
  env.SetFileSystemForTesting(&fs);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("corrupt on failover");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("injected: a flipped bit"), std::string::npos) << r.error();
  EXPECT_EQ(r.metrics.restarts, 1) << r.error();
  int kept = 0;
  for (const auto& f : ListFilesRecursive(dir.Join("checkpoints"))) {
    if (f.find("/chk-") != std::string::npos && f.ends_with("/_metadata")) ++kept;
  }
  EXPECT_GE(kept, 1) << "the checkpoints were deleted with the corrupt one";
}

TEST_P(BackendRecoveryTest, RestoreLatestWithNoValidCheckpointStopsWithAClearError) {
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  Configuration c = CheckpointedConfig(dir);
  RunAndCancel(dir, spec, 1, c);
  for (const auto& f : ListFilesRecursive(dir.Join("checkpoints"))) {
    if (f.find("_metadata") != std::string::npos) {
      std::string path = dir.Join("checkpoints/" + f);
      std::string data = ReadFile(path);
      testing::WriteFile(path, data.substr(0, data.size() - 3));  // a torn write
    }
  }
  std::string before = ReadFile(spec.output + "/1");
  c.Set("execution.state-recovery.path", "latest");
  StreamExecutionEnvironment env(c);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("corrupt");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("no valid checkpoint"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("_metadata"), std::string::npos) << r.error();
  // It did not silently start from scratch: the output is untouched.
  EXPECT_EQ(ReadFile(spec.output + "/1"), before);
}

TEST_P(BackendRecoveryTest, RestoreRefusesAChangedMaxParallelism) {
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  Configuration c = CheckpointedConfig(dir);
  RunAndCancel(dir, spec, 1, c);
  c.Set("execution.state-recovery.path", "latest");
  c.Set("pipeline.max-parallelism", "64");
  StreamExecutionEnvironment env(c);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("corrupt");  // the job RunAndCancel ran
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("max parallelism 128"), std::string::npos) << "error: " << r.error();
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendRecoveryTest, ::testing::ValuesIn(kBackends),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- RocksDB's own failures ------------------------------------------------------------------

TEST(RocksDbRecoveryTest, AWorkingDirectoryThatCannotBeCreatedFailsTheJobThroughRestarts) {
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  testing::WriteFile(dir.Join("not-a-dir"), "x");
  Configuration c = CheckpointedConfig(dir);
  c.Set("state.backend.type", "rocksdb");
  c.Set("state.backend.rocksdb.localdir", dir.Join("not-a-dir/rocksdb"));
  c.Set("restart-strategy.fixed-delay.attempts", "2");
  c.Set("restart-strategy.fixed-delay.delay", "1 ms");
  StreamExecutionEnvironment env(c);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("no local dir");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.metrics.restarts, 2) << "each attempt fails the same way, then the job fails";
  EXPECT_NE(r.error().find("not-a-dir/rocksdb"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("state.backend.rocksdb.localdir"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("allows no more restarts"), std::string::npos) << r.error();
}

TEST(RocksDbRecoveryTest, AFailedRocksDbWriteFailsTheJobNamingOperatorSubtaskAndCause) {
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  spec.keyed_parallelism = 1;
  Configuration c = CheckpointedConfig(dir);
  UseBackend(c, dir, Backend{"rocksdb", "rocksdb", false});
  c.Set("state.backend.rocksdb.writebuffer.size", "64 kb");
  c.Set("state.backend.rocksdb.write-cache.size", "0");  // every update writes
  c.Set("restart-strategy.type", "none");
  FaultPoints::Arm(fault_points::kRocksDbCreateSst,
                   [] { return Status::IOError("injected: disk gone"); });
  StreamExecutionEnvironment env(c);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("rocksdb write error");
  FaultPoints::DisarmAll();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("operator 'KeyedProcess' (subtask 0)"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("RocksDB write of state"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("disk gone"), std::string::npos) << r.error();
  EXPECT_TRUE(ListFilesRecursive(dir.Join("rocksdb")).empty());
}

TEST(RocksDbRecoveryTest, AFailedRocksDbWriteFailsTheTaskAndTheRestartLosesNothing) {
  TempDir dir;
  JobSpec spec;
  spec.output = dir.Join("out");
  auto reference = ReferenceOutput(spec);
  spec.on_record = Throttle;
  Configuration c = CheckpointedConfig(dir);
  UseBackend(c, dir, Backend{"rocksdb", "rocksdb", false});
  // Small memtables, flushed often; the first flush fails, and RocksDB then refuses writes.
  c.Set("state.backend.rocksdb.writebuffer.size", "64 kb");
  c.Set("state.backend.rocksdb.write-cache.size", "0");  // every update writes
  FaultPoints::Arm(
      fault_points::kRocksDbCreateSst, [] { return Status::IOError("injected: disk gone"); }, 0, 1);
  StreamExecutionEnvironment env(c);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("rocksdb write error");
  EXPECT_GE(FaultPoints::HitCount(fault_points::kRocksDbCreateSst), 1);
  FaultPoints::DisarmAll();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GE(r.metrics.restarts, 1);
  EXPECT_EQ(OutputFiles(spec.output), reference);
  ExpectExactCountSums(OutputFiles(spec.output), spec);
  EXPECT_TRUE(ListFilesRecursive(dir.Join("rocksdb")).empty());
}

}  // namespace
}  // namespace weir
