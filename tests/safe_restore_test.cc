// Restores that must be safe, tried as a user and an adversarial operator would: no bad input
// (a respelled flag, the wrong backend, an older checkpoint, a second process, an altered
// checkpoint, a changed state type) may cost committed output or a checkpoint, and an error
// that no restart can fix ends the job at once. Each test runs the real example binary (or a
// job in-process) in its own temporary working directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "base/file_system.h"
#include "checkpoint/checkpoint_metadata.h"
#include "count_sum_job.h"
#include "testing/test_util.h"
#include "weir/weir.h"

namespace weir {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::BinaryPath;
using testing::ChildProcess;
using testing::ListFilesRecursive;
using testing::OutputFiles;
using testing::ProcessResult;
using testing::ReadFile;
using testing::RunProcess;
using testing::TempDir;

std::string SeedOutput(int end) {
  std::string s;
  for (int i = 0; i < end; ++i) s += "0\n";
  return s + "1000\n";
}

// The seed's output file equals SeedOutput(end), said without printing both files.
void ExpectSeedOutput(const TempDir& dir, int end, const std::string& file = "output/sum_results.txt") {
  std::string got = ReadFile(dir.Join(file));
  std::string want = SeedOutput(end);
  if (got == want) return;
  size_t at = std::mismatch(got.begin(), got.end(), want.begin(), want.end()).first - got.begin();
  ADD_FAILURE() << file << " has " << got.size() << " bytes, the seed output " << want.size()
                << "; they differ at byte " << at;
}

std::vector<std::string> Seed(std::vector<std::string> extra) {
  std::vector<std::string> args{BinaryPath("fault_tolerance"), "--no-progress"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Waits until the process has printed `text` (or ended); false on a timeout or an end.
bool WaitForText(ChildProcess& p, const std::string& text, int timeout_ms = 60'000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (p.Output().find(text) != std::string::npos) return true;
    if (!p.Running()) return p.Output().find(text) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// Runs the seed example until it completed `checkpoints` checkpoints, then kills it.
void RunAndKill(const TempDir& dir, std::vector<std::string> flags, int checkpoints) {
  ChildProcess p(Seed(flags), dir.path());
  ASSERT_TRUE(WaitForText(p, "Completed checkpoint " + std::to_string(checkpoints)))
      << p.Output();
  ProcessResult r = p.Kill();
  ASSERT_EQ(r.signal, SIGKILL) << r.output;
}

// The only job directory under `dir`/checkpoints.
std::string JobDir(const TempDir& dir) {
  std::string checkpoints = dir.Join("checkpoints");
  for (const auto& e : std::filesystem::directory_iterator(checkpoints)) {
    if (e.is_directory()) return e.path().string();
  }
  ADD_FAILURE() << "no job directory in " << checkpoints;
  return "";
}

std::vector<int64_t> CheckpointIds(const std::string& job_dir) {
  std::vector<int64_t> ids;
  for (const auto& e : std::filesystem::directory_iterator(job_dir)) {
    std::string name = e.path().filename();
    if (name.starts_with("chk-") &&
        std::filesystem::exists(e.path() / "_metadata")) {
      ids.push_back(std::stoll(name.substr(4)));
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

const std::vector<std::string> kFast = {"-D", "execution.checkpointing.interval=100 ms",
                                        "-D", "state.backend.rocksdb.localdir=rocksdb"};

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ---- Committed output and checkpoints are never destroyed -------------------------------------

// crash_job: a source at parallelism 1 and a keyed count and sum at --parallelism, so each
// output file is fully determined ("key,count,sum" lines).
std::vector<std::string> CrashJob(std::vector<std::string> extra,
                                  const std::string& output = "out") {
  std::vector<std::string> args{BinaryPath("crash_job"), "--no-progress", "--records", "20000",
                                "--keys", "50", "--output", output};
  args.insert(args.end(), extra.begin(), extra.end());
  return With(args, kFast);
}

// Every key's counts 1..n exactly once, with the right sums, whichever files hold them.
void ExpectExactlyOnce(const TempDir& dir) {
  testing::JobSpec spec;
  spec.records = 20'000;
  spec.keys = 50;
  testing::ExpectExactCountSums(OutputFiles(dir.Join("out")), spec);
}

TEST(SafeRestoreTest, ARespelledOutputPathIsTheSameOutput) {
  for (const std::string spelling : {"./out", "ABSOLUTE", "out/"}) {
    SCOPED_TRACE(spelling);
    TempDir dir;
    {
      ChildProcess p(CrashJob({"--parallelism", "2", "--delay-us", "100"}), dir.path());
      ASSERT_TRUE(WaitForText(p, "Completed checkpoint 2")) << p.Output();
      p.Kill();
    }
    auto before = OutputFiles(dir.Join("out"));
    ASSERT_FALSE(before.at("1").empty() && before.at("2").empty());
    std::string output = spelling == "ABSOLUTE" ? dir.Join("out") : spelling;
    auto r = RunProcess(CrashJob({"--parallelism", "2", "--restore", "latest"}, output), 60'000,
                        dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto after = OutputFiles(dir.Join("out"));
    for (const auto& [name, text] : before) {
      EXPECT_EQ(after.at(name).compare(0, text.size(), text), 0) << "committed output was lost";
    }
    ExpectExactlyOnce(dir);
  }
}

TEST(SafeRestoreTest, AFailedRestoreKeepsTheCheckpointItWasAskedToRestore) {
  TempDir dir;
  const std::vector<std::string> flags = {
      "--end", "3000", "-D", "execution.checkpointing.incremental=true", "-D",
      "execution.checkpointing.externalized-checkpoint-retention=NO_EXTERNALIZED_CHECKPOINTS"};
  RunAndKill(dir, With(flags, kFast), 2);
  // An incremental RocksDB checkpoint cannot restore into the heap backend.
  auto refused = RunProcess(
      Seed(With(With(flags, kFast), {"--restore", "latest", "-D", "state.backend.type=hashmap",
                                     "-D", "restart-strategy.type=none"})),
      60'000, dir.path());
  ASSERT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("restore it with state.backend.type: rocksdb"));
  EXPECT_THAT(refused.output, HasSubstr("checkpoint kept:"));
  auto r = RunProcess(Seed(With(With(flags, kFast), {"--delay-ms", "0", "--restore", "latest"})),
                      60'000, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectSeedOutput(dir, 3000);
}

TEST(SafeRestoreTest, RestoringAnOlderCheckpointNeverCutsCommittedOutputUnlessAsked) {
  TempDir dir;
  auto flags = With({"--end", "3000", "-D", "execution.checkpointing.num-retained=3"}, kFast);
  RunAndKill(dir, flags, 5);
  std::string job = JobDir(dir);
  auto ids = CheckpointIds(job);
  ASSERT_GE(ids.size(), 2u);
  std::string oldest = JoinPath(job, "chk-" + std::to_string(ids.front()));
  std::string before = ReadFile(dir.Join("output/sum_results.txt"));

  auto start = std::chrono::steady_clock::now();
  auto refused =
      RunProcess(Seed(With(flags, {"--delay-ms", "0", "--restore", oldest})), 60'000, dir.path());
  ASSERT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("execution.state-recovery.rewind-output"));
  EXPECT_THAT(refused.output, HasSubstr("no restart can fix"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30))
      << "a restore that cannot succeed must not be retried";
  EXPECT_EQ(ReadFile(dir.Join("output/sum_results.txt")), before) << "committed output was cut";
  EXPECT_EQ(CheckpointIds(job), ids) << "a checkpoint was deleted";

  auto r = RunProcess(Seed(With(flags, {"--delay-ms", "0", "--restore", oldest, "-D",
                                        "execution.state-recovery.rewind-output=true"})),
                      60'000, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectSeedOutput(dir, 3000);
}

TEST(SafeRestoreTest, AfterRewindingACrashResumesTheRewoundRun) {
  // Killed at once, or after the rewound run's first checkpoint.
  for (const std::string kill_after : {"is running", "Completed checkpoint"}) {
    SCOPED_TRACE("killed after: " + kill_after);
    TempDir dir;
    auto flags = With({"--end", "3000", "-D", "execution.checkpointing.num-retained=3", "-D",
                       "execution.state-recovery.rewind-output=true"},
                      kFast);
    RunAndKill(dir, flags, 5);
    std::string job = JobDir(dir);
    auto ids = CheckpointIds(job);
    ASSERT_GE(ids.size(), 2u);
    {
      std::string oldest = JoinPath(job, "chk-" + std::to_string(ids.front()));
      ChildProcess p(Seed(With(flags, {"--restore", oldest})), dir.path());
      ASSERT_TRUE(WaitForText(p, kill_after)) << p.Output();
      p.Kill();
    }
    auto r = RunProcess(Seed(With(flags, {"--delay-ms", "0", "--restore", "latest"})), 60'000,
                        dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ExpectSeedOutput(dir, 3000);
  }
}

TEST(SafeRestoreTest, ARestoreAtHigherParallelismKilledEarlyLeavesNothingBehind) {
  TempDir dir;
  {
    ChildProcess p(CrashJob({"--parallelism", "2", "--delay-us", "100"}), dir.path());
    ASSERT_TRUE(WaitForText(p, "Completed checkpoint 2")) << p.Output();
    p.Kill();
  }
  {
    ChildProcess p(CrashJob({"--parallelism", "4", "--delay-us", "100", "--restore", "latest"}),
                   dir.path());
    ASSERT_TRUE(WaitForText(p, "is running")) << p.Output();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    p.Kill();
  }
  auto r = RunProcess(CrashJob({"--parallelism", "3", "--restore", "latest"}), 60'000, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ListFilesRecursive(dir.Join("out")), (std::vector<std::string>{"1", "2", "3"}));
  ExpectExactlyOnce(dir);
}

TEST(SafeRestoreTest, StopWithASavepointEndsExactlyAtTheSavepoint) {
  TempDir dir;
  ChildProcess p(Seed(With({"--end", "5000"}, kFast)), dir.path());
  ASSERT_TRUE(WaitForText(p, "Completed checkpoint 2")) << p.Output();
  ::kill(p.pid(), SIGUSR2);
  ProcessResult r = p.Wait(60'000);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ListFilesRecursive(dir.Join("output")),
            std::vector<std::string>{"sum_results.txt"})
      << "staged data was left behind";
  // The sink counted exactly the lines the savepoint committed.
  auto lines = testing::Lines(ReadFile(dir.Join("output/sum_results.txt")));
  auto at = r.output.find("sum-file");
  ASSERT_NE(at, std::string::npos) << r.output;
  std::string row = r.output.substr(at, r.output.find('\n', at) - at);
  std::string count = row.substr(row.find("records ") + 8);
  count.erase(std::remove(count.begin(), count.end(), ','), count.end());
  EXPECT_EQ(std::stoull(count), lines.size()) << row;
}

TEST(SafeRestoreTest, ASecondProcessOnTheSameDirectoriesIsRefusedNamingTheFirst) {
  TempDir dir;
  ChildProcess first(Seed(With({"--end", "100000"}, kFast)), dir.path());
  ASSERT_TRUE(WaitForText(first, "Completed checkpoint 1")) << first.Output();
  auto second = RunProcess(Seed(With({"--end", "100000"}, kFast)), 30'000, dir.path());
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_THAT(second.output, HasSubstr("is already running on checkpoint directory"));
  EXPECT_THAT(second.output, HasSubstr("process " + std::to_string(first.pid())));
  // A second process restoring is refused just the same, and the first goes on unharmed.
  auto restoring = RunProcess(Seed(With({"--end", "100000", "--restore", "latest"}, kFast)),
                              30'000, dir.path());
  EXPECT_EQ(restoring.exit_code, 1) << restoring.output;
  ::kill(first.pid(), SIGTERM);
  ProcessResult r = first.Wait(60'000);
  EXPECT_EQ(r.exit_code, 130) << r.output;
  std::string out = ReadFile(dir.Join("output/sum_results.txt"));
  EXPECT_EQ(SeedOutput(100'000).compare(0, out.size(), out), 0);
}

// ---- Restore inputs ------------------------------------------------------------------------

TEST(SafeRestoreTest, ACheckpointPathSpelledAnyWayIsInTheCheckpointDirectory) {
  for (const std::string spelling : {"./relative", "absolute", "metadata"}) {
    SCOPED_TRACE(spelling);
    TempDir dir;
    RunAndKill(dir, With({"--end", "2000"}, kFast), 2);
    std::string job = JobDir(dir);
    std::string chk = "chk-" + std::to_string(CheckpointIds(job).back());
    std::string job_name = BaseName(job);
    std::string path = spelling == "./relative"
                           ? "./checkpoints/" + job_name + "/" + chk
                       : spelling == "absolute" ? JoinPath(job, chk)
                                                : JoinPath(JoinPath(job, chk), "_metadata");
    auto r = RunProcess(Seed(With({"--end", "2000", "--delay-ms", "0", "--restore", path}, kFast)),
                        60'000, dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ExpectSeedOutput(dir, 2000);
  }
}

TEST(SafeRestoreTest, ASavepointRestoresInAnotherWorkingDirectoryToAnotherOutput) {
  TempDir a;
  std::string savepoint;
  {
    ChildProcess p(Seed(With({"--end", "3000"}, kFast)), a.path());
    ASSERT_TRUE(WaitForText(p, "Completed checkpoint 2")) << p.Output();
    ::kill(p.pid(), SIGUSR2);
    ProcessResult r = p.Wait(60'000);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto at = r.output.find("stopped with savepoint ");
    ASSERT_NE(at, std::string::npos) << r.output;
    savepoint = r.output.substr(at + 23);
    savepoint = a.Join(savepoint.substr(0, savepoint.find(' ')));
  }
  TempDir b;
  auto r = RunProcess(Seed(With({"--end", "3000", "--delay-ms", "0", "--output", "moved.txt",
                                 "--restore", savepoint},
                                kFast)),
                      60'000, b.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("restored from savepoint"));
  EXPECT_THAT(r.output, HasSubstr("writes '" + b.Join("moved.txt") + "'"));
  // The first output holds what the savepoint covers, the new one the rest.
  std::string first = ReadFile(a.Join("output/sum_results.txt"));
  std::string rest = ReadFile(b.Join("moved.txt"));
  EXPECT_EQ(first + rest, SeedOutput(3000));
  EXPECT_FALSE(rest.empty());
}

TEST(SafeRestoreTest, AnAlteredCheckpointThatPassesItsChecksumIsRejected) {
  TempDir dir;
  RunAndKill(dir, With({"--end", "2000"}, kFast), 2);
  std::string job = JobDir(dir);
  std::string meta_path = JoinPath(JoinPath(job, "chk-" + std::to_string(CheckpointIds(job).back())),
                                   "_metadata");
  auto meta = CheckpointMetadata::Decode(ReadFile(meta_path), meta_path);
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  bool altered = false;
  for (auto& op : meta->operators) {
    for (auto& st : op.subtasks) {
      for (auto& list : st.operator_state) {
        if (list.name != "sequence-splits") continue;
        // A source range far past the job's 0..2000: the job would emit millions of records.
        list.elements = {EncodeToString(std::pair<int64_t, int64_t>(0, 50'000'000))};
        altered = true;
      }
    }
  }
  ASSERT_TRUE(altered);
  testing::WriteFile(meta_path, meta->Encode());  // a valid checksum over altered contents
  auto r = RunProcess(Seed(With({"--end", "2000", "--restore", "latest"}, kFast)), 60'000,
                      dir.path());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("lies outside the source's sequence [0, 2000]"));
  EXPECT_THAT(r.output, HasSubstr("no restart can fix"));
}

// ---- Errors no restart can fix -------------------------------------------------------------

TEST(SafeRestoreTest, RestoringAtAnotherParallelismThatTheOutputCannotTakeEndsAtOnce) {
  TempDir dir;
  RunAndKill(dir, With({"--end", "3000"}, kFast), 2);  // parallelism 1: one output file
  auto start = std::chrono::steady_clock::now();
  auto r = RunProcess(Seed(With({"--end", "3000", "--parallelism", "2", "--restore", "latest"},
                                kFast)),
                      60'000, dir.path());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("written with parallelism 1 (a single file)"));
  EXPECT_THAT(r.output, Not(HasSubstr("Restarting job")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_THAT(ReadFile(dir.Join("output/sum_results.txt")), Not(""));
}

TEST(SafeRestoreTest, AConfigurationFileOfExpandingAliasesIsRefusedQuickly) {
  TempDir dir;
  std::string yaml = "a: &a {x: 1, y: 1, z: 1, w: 1, v: 1, u: 1, t: 1, s: 1, r: 1}\n";
  std::string prev = "a";
  for (char n = 'b'; n <= 'k'; ++n) {
    yaml += std::string(1, n) + ": &" + n + " {";
    for (int j = 0; j < 9; ++j) yaml += (j ? ", k" : "k") + std::to_string(j) + ": *" + prev;
    yaml += "}\n";
    prev = std::string(1, n);
  }
  testing::WriteFile(dir.Join("bomb.yaml"), yaml);
  auto start = std::chrono::steady_clock::now();
  auto r = RunProcess(Seed({"--config", "bomb.yaml"}), 30'000, dir.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("bomb.yaml"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// ---- State compatibility, in-process --------------------------------------------------------

// The count job with the running sum kept as S.
template <typename S>
class TypedSum final : public KeyedProcessFunction<int32_t, testing::KeyValue, std::string> {
 public:
  void Open(RuntimeContext& ctx) override { sum_ = ctx.GetState(ValueStateDescriptor<S>("sum")); }
  void ProcessElement(const testing::KeyValue& r, Context& ctx,
                      Collector<std::string>& out) override {
    S s = sum_.ValueOr(S{}) + static_cast<S>(r.second);
    sum_.Update(s);
    out.Collect(std::to_string(ctx.current_key()) + "," + std::to_string(s));
  }

 private:
  ValueState<S> sum_;
};

template <typename S>
JobResult RunTyped(const TempDir& dir, const std::string& backend, bool restore,
                   std::atomic<bool>* cancel_after_checkpoint) {
  Configuration c;
  c.Set("execution.checkpointing.interval", "20 ms");
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  c.Set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
  c.Set("state.backend.type", backend);
  c.Set("state.backend.rocksdb.localdir", dir.Join("rocksdb"));
  if (restore) c.Set("execution.state-recovery.path", "latest");
  StreamExecutionEnvironment env(c);
  env.FromSequence(0, 100'000)
      .Map([](int64_t i) {
        if (i % 500 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
        return testing::KeyValue(static_cast<int32_t>(i % 10), 1);
      })
      .Uid("map")
      .KeyBy([](const testing::KeyValue& r) { return r.first; })
      .Process(TypedSum<S>())
      .Uid("sum")
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite)
      .Uid("sink");
  auto client = env.ExecuteAsync("typed");
  if (cancel_after_checkpoint != nullptr) {
    testing::WaitFor(*client, [](const JobMetrics& m) { return m.checkpoints.completed >= 2; });
    client->Cancel();
  }
  return client->Wait();
}

class StateCompatibilityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(StateCompatibilityTest, AStateWhoseTypeChangedIsRefusedAtOnceAndTheCheckpointStays) {
  TempDir dir;
  std::atomic<bool> cancel{true};
  JobResult first = RunTyped<int64_t>(dir, GetParam(), false, &cancel);
  ASSERT_EQ(first.metrics.status, JobStatus::kCanceled) << first.error();
  auto before = OutputFiles(dir.Join("out"));
  // The job now keeps its sum as a double: the same 8 bytes, another meaning.
  JobResult changed = RunTyped<double>(dir, GetParam(), true, nullptr);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.metrics.restarts, 0);
  EXPECT_THAT(changed.error(), HasSubstr("state 'sum': the checkpoint holds value state written "
                                         "by codec 'i64', and the job declares value state with "
                                         "codec 'f64'"));
  EXPECT_EQ(OutputFiles(dir.Join("out")), before);
  // The job as it was restores the same checkpoint.
  JobResult again = RunTyped<int64_t>(dir, GetParam(), true, nullptr);
  ASSERT_TRUE(again.ok()) << again.error();
}

INSTANTIATE_TEST_SUITE_P(Backends, StateCompatibilityTest,
                         ::testing::Values("hashmap", "rocksdb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace weir
