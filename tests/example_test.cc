// The seed example as a user runs it: exact output, flags, in-process recovery, cancel and
// resume. Each test runs the real binary in its own temporary working directory.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "testing/test_util.h"

namespace weir {
namespace {

using testing::BinaryPath;
using testing::CheckpointFilesLeft;
using testing::ChildProcess;
using testing::ListFilesRecursive;
using testing::ReadFile;
using testing::RunProcess;
using testing::TempDir;

std::string SeedOutput(int end) {
  std::string s;
  s.reserve(static_cast<size_t>(end) * 2 + 5);
  for (int i = 0; i < end; ++i) s += "0\n";
  return s + "1000\n";
}

std::vector<std::string> Args(std::initializer_list<std::string> extra) {
  std::vector<std::string> args{BinaryPath("fault_tolerance"), "--no-progress"};
  args.insert(args.end(), extra);
  return args;
}

TEST(ExampleTest, DelayZeroWritesTheSeedFileByteForByte) {
  TempDir dir;
  auto r = RunProcess(Args({"--delay-ms", "0"}), 60'000, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFile(dir.Join("output/sum_results.txt")), SeedOutput(20'000));
  EXPECT_NE(r.output.find("FINISHED"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("records 20,001"), std::string::npos) << r.output;
  // A finished job leaves its output and nothing else.
  EXPECT_EQ(CheckpointFilesLeft(dir.Join("checkpoints")), std::vector<std::string>{});
  EXPECT_EQ(ListFilesRecursive(dir.Join("output")), std::vector<std::string>{"sum_results.txt"});
}

TEST(ExampleTest, OverwriteModeReplacesAnOldOutputFile) {
  TempDir dir;
  ASSERT_EQ(RunProcess(Args({"--delay-ms", "0", "--end", "10"}), 30'000, dir.path()).exit_code, 0);
  auto r = RunProcess(Args({"--delay-ms", "0", "--end", "5"}), 30'000, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFile(dir.Join("output/sum_results.txt")), SeedOutput(5));
}

TEST(ExampleTest, HelpListsEveryFlag) {
  auto r = RunProcess({BinaryPath("fault_tolerance"), "--help"}, 10'000);
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--end", "--delay-ms", "--output", "--parallelism", "--fail-at",
                           "--restore", "--config", "-D"}) {
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag << "\n" << r.output;
  }
}

struct BadFlag {
  const char* name;
  std::vector<std::string> args;
  int exit_code;
  const char* message;
};

class ExampleBadFlagTest : public ::testing::TestWithParam<BadFlag> {};

TEST_P(ExampleBadFlagTest, ExitsNonZeroWithAMessageSayingWhat) {
  TempDir dir;
  std::vector<std::string> args{BinaryPath("fault_tolerance"), "--no-progress"};
  args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());
  auto r = RunProcess(args, 10'000, dir.path());
  EXPECT_EQ(r.exit_code, GetParam().exit_code) << r.output;
  EXPECT_NE(r.output.find(GetParam().message), std::string::npos) << r.output;
  EXPECT_FALSE(testing::FileExists(dir.Join("output/sum_results.txt")));
}

INSTANTIATE_TEST_SUITE_P(
    Flags, ExampleBadFlagTest,
    ::testing::Values(
        BadFlag{"negative_end", {"--end", "-5"}, 2, "--end must not be negative"},
        BadFlag{"non_numeric_delay", {"--delay-ms", "soon"}, 2, "--delay-ms"},
        BadFlag{"unknown_flag", {"--no-such-flag"}, 2, "--no-such-flag"},
        BadFlag{"zero_parallelism", {"--parallelism", "0"}, 2, "--parallelism"},
        BadFlag{"hex_parallelism", {"--parallelism", "0x3"}, 2, "'0x3' is not a whole number"},
        BadFlag{"overflowing_end",
                {"--end", "99999999999999999999"},
                2,
                "'99999999999999999999' is out of range"},
        BadFlag{"define_without_value", {"-D", "novalue"}, 2, "expected key=value"},
        BadFlag{"missing_config_file", {"--config", "/no/such/file.yaml"}, 2, "/no/such/file.yaml"},
        BadFlag{"bad_duration",
                {"-D", "execution.checkpointing.interval=fast"},
                2,
                "execution.checkpointing.interval = 'fast' (from -D)"},
        BadFlag{"unsupported_scheme",
                {"-D", "execution.checkpointing.dir=s3://bucket/x"},
                2,
                "scheme 's3'"},
        BadFlag{"unknown_restart_strategy",
                {"-D", "restart-strategy.type=sometimes"},
                2,
                "restart-strategy.type"},
        BadFlag{"restore_latest_with_nothing", {"--restore", "latest"}, 1, "no checkpoint of this job"},
        BadFlag{"restore_missing_path", {"--restore", "/no/such/checkpoint"}, 1, "does not exist"},
        BadFlag{"restore_empty", {"--restore", ""}, 2, "--restore is empty"},
        BadFlag{"restore_blank", {"--restore", " "}, 2, "--restore is empty"},
        BadFlag{"zero_interval",
                {"-D", "execution.checkpointing.interval=0"},
                2,
                "leave it unset"},
        BadFlag{"tiny_write_buffer",
                {"-D", "state.backend.rocksdb.writebuffer.size=1kb"},
                2,
                "at least 64 kb"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ExampleTest, ConfigFileKeysApplyAndDashDOverridesThem) {
  TempDir dir;
  testing::WriteFile(dir.Join("conf.yaml"),
                     "execution:\n  checkpointing:\n    interval: 50 ms\n"
                     "state.checkpoints.dir: " +
                         dir.Join("from-yaml") + "\n");
  auto r = RunProcess(Args({"--config", dir.Join("conf.yaml"), "--end", "300", "-D",
                            "execution.checkpointing.dir=" + dir.Join("from-cli")}),
                      30'000, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("checkpoints every 50 ms"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Completed checkpoint"), std::string::npos) << r.output;
  EXPECT_FALSE(testing::FileExists(dir.Join("from-yaml")));
  EXPECT_EQ(ReadFile(dir.Join("output/sum_results.txt")), SeedOutput(300));
}

// Flink's older names for the checkpoint and savepoint directories and the state backend
// count as set: the seed's defaults do not take their place.
TEST(ExampleTest, FlinksOlderKeysAreNotOverriddenByTheSeedsDefaults) {
  TempDir dir;
  auto r = RunProcess(Args({"--end", "300", "--delay-ms", "0", "-D",
                            "state.checkpoints.dir=" + dir.Join("older"), "-D",
                            "state.backend=hashmap", "-D",
                            "execution.checkpointing.interval=50 ms"}),
                      30'000, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("in " + dir.Join("older")), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("state backend hashmap"), std::string::npos) << r.output;
  EXPECT_FALSE(testing::FileExists(dir.Join("checkpoints")));
  EXPECT_EQ(ReadFile(dir.Join("output/sum_results.txt")), SeedOutput(300));
}

TEST(ExampleTest, FailAtRestartsFromTheLastCheckpointAndFinishesExactly) {
  TempDir dir;
  auto r = RunProcess(
      Args({"--end", "1500", "--fail-at", "1000", "-D", "execution.checkpointing.interval=200 ms",
            "-D", "restart-strategy.exponential-delay.initial-backoff=10 ms"}),
      60'000, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("injected failure at element 1000"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("restarts: 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("from checkpoint"), std::string::npos) << r.output;
  EXPECT_EQ(ReadFile(dir.Join("output/sum_results.txt")), SeedOutput(1500));
}

TEST(ExampleTest, SigtermCancelsKeepsCheckpointsAndRestoreLatestFinishes) {
  TempDir dir;
  ChildProcess p(Args({"--end", "3000", "-D", "execution.checkpointing.interval=100 ms"}),
                 dir.path());
  for (int i = 0; i < 10'000 && p.Output().find("Completed checkpoint 2") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(p.pid(), SIGTERM);
  auto cancelled = p.Wait(30'000);
  ASSERT_EQ(cancelled.exit_code, 130) << cancelled.output;
  EXPECT_NE(cancelled.output.find("CANCELED"), std::string::npos) << cancelled.output;
  std::string partial = ReadFile(dir.Join("output/sum_results.txt"));
  EXPECT_LT(partial.size(), SeedOutput(3000).size());
  EXPECT_EQ(SeedOutput(3000).compare(0, partial.size(), partial), 0);

  auto r = RunProcess(Args({"--end", "3000", "--delay-ms", "0", "--restore", "latest"}), 60'000,
                      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("restored from checkpoint"), std::string::npos) << r.output;
  EXPECT_EQ(ReadFile(dir.Join("output/sum_results.txt")), SeedOutput(3000));
}

TEST(ExampleTest, SigusrTwoStopsWithASavepointThatRestoresExactly) {
  TempDir dir;
  ChildProcess p(Args({"--end", "3000", "-D", "execution.checkpointing.interval=100 ms"}),
                 dir.path());
  for (int i = 0; i < 10'000 && p.Output().find("Completed checkpoint 1") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(p.pid(), SIGUSR2);
  auto stopped = p.Wait(30'000);
  ASSERT_EQ(stopped.exit_code, 0) << stopped.output;
  auto at = stopped.output.find("stopped with savepoint ");
  ASSERT_NE(at, std::string::npos) << stopped.output;
  std::string savepoint = stopped.output.substr(at + 23);
  savepoint = savepoint.substr(0, savepoint.find(' '));
  EXPECT_EQ(savepoint.rfind("savepoints/savepoint-", 0), 0u) << savepoint;
  std::string partial = ReadFile(dir.Join("output/sum_results.txt"));
  EXPECT_EQ(SeedOutput(3000).compare(0, partial.size(), partial), 0);

  auto r = RunProcess(Args({"--end", "3000", "--delay-ms", "0", "--restore", savepoint}), 60'000,
                      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFile(dir.Join("output/sum_results.txt")), SeedOutput(3000));
}

TEST(ExampleTest, ParallelismFourWritesOneFilePerSubtask) {
  TempDir dir;
  auto r = RunProcess(Args({"--delay-ms", "0", "--parallelism", "4", "--end", "1000"}), 60'000,
                      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The key is a constant: one subtask gets every record, the other files stay empty.
  auto files = ListFilesRecursive(dir.Join("output/sum_results.txt"));
  ASSERT_EQ(files, (std::vector<std::string>{"1", "2", "3", "4"}));
  std::string all;
  for (const auto& f : files) all += ReadFile(dir.Join("output/sum_results.txt/" + f));
  EXPECT_EQ(all, SeedOutput(1000));
}

}  // namespace
}  // namespace weir
