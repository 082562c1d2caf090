// Crash and resume with real processes: a job is killed with SIGKILL at random moments (or at
// a random hit of a named fault point inside checkpointing and committing), then restarted
// with --restore latest, over and over. After every kill each output file must be a prefix of
// the output of a run without failures (a reader never sees a line a recovery takes back);
// at the end it must be byte-identical. Randomised; the seed is printed (WEIR_TEST_SEED
// replays it). WEIR_CRASH_KILLS sets the number of kills (the soak runs many). The seed
// example runs on RocksDB (its default); the many-keys job on every state backend. RocksDB's
// working directories, which a killed process cannot delete, must all be gone at the end.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "base/file_system.h"
#include "testing/test_util.h"

namespace weir {
namespace {

using testing::BinaryPath;
using testing::ChildProcess;
using testing::ListFilesRecursive;
using testing::OutputFiles;
using testing::ReadFile;
using testing::RunProcess;
using testing::TempDir;

int KillsFromEnvironment(int fallback) {
  const char* s = std::getenv("WEIR_CRASH_KILLS");
  return s && *s ? std::max(1, std::atoi(s)) : fallback;
}

const char* kFaultPoints[] = {"checkpoint.before-metadata", "checkpoint.after-metadata",
                              "sink.before-commit",         "sink.mid-commit",
                              "sink.after-commit",          "sink.after-sync",
                              "checkpoint.retire-job"};

struct CrashScenario {
  std::vector<std::string> args;  // program and flags, without --restore
  std::string output;             // relative to the working directory
  int min_kill_ms;
  int max_kill_ms;
  std::string rocksdb_dir;  // state.backend.rocksdb.localdir, relative; empty if not RocksDB
  std::vector<std::string> extra_fault_points;  // besides kFaultPoints
};

// Kills and resumes the job `kills` times, then lets it finish; checks the prefix property
// after every kill and byte-identity with `expected` at the end.
void RunWithKills(const CrashScenario& s, const std::map<std::string, std::string>& expected,
                  int kills, uint64_t seed) {
  std::mt19937_64 rng(seed);
  TempDir dir;
  bool checkpoint_completed = false;
  int restarts_with_restore = 0;
  for (int k = 0; k <= kills; ++k) {
    bool last = k == kills;
    std::vector<std::string> args = s.args;
    if (checkpoint_completed) {
      args.push_back("--restore");
      args.push_back("latest");
      ++restarts_with_restore;
    }
    std::vector<std::string> env;
    std::string how = "run to completion";
    int kill_after_ms = 0;
    if (!last) {
      if (rng() % 3 == 0) {
        std::vector<std::string> points(std::begin(kFaultPoints), std::end(kFaultPoints));
        points.insert(points.end(), s.extra_fault_points.begin(), s.extra_fault_points.end());
        std::string point = points[rng() % points.size()];
        std::string spec = point + ":" + std::to_string(1 + rng() % 4);
        env.push_back("WEIR_CRASH_AT=" + spec);
        how = "crash at fault point " + spec;
        kill_after_ms = s.max_kill_ms * 3;  // backstop if the point is not reached soon
      } else {
        kill_after_ms = s.min_kill_ms + static_cast<int>(rng() % (s.max_kill_ms - s.min_kill_ms));
        how = "SIGKILL after " + std::to_string(kill_after_ms) + " ms";
      }
    }
    SCOPED_TRACE("run " + std::to_string(k) + ": " + how);
    ChildProcess p(args, dir.path(), env);
    testing::ProcessResult r;
    if (last) {
      r = p.Wait(240'000);
    } else {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kill_after_ms);
      while (p.Running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      r = p.Kill();
    }
    if (r.output.find("Completed checkpoint") != std::string::npos) checkpoint_completed = true;
    // Nothing the job committed may ever be taken back.
    auto files = OutputFiles(dir.Join(s.output));
    for (const auto& [name, text] : files) {
      auto e = expected.find(name);
      ASSERT_NE(e, expected.end()) << "unexpected output file '" << name << "'";
      ASSERT_EQ(e->second.compare(0, text.size(), text), 0)
          << "output '" << name << "' (" << text.size() << " bytes) is not a prefix of the "
          << "expected output; process output:\n"
          << r.output;
    }
    // Killed after it finished, while deleting its checkpoints: the restore says so.
    bool had_finished =
        r.exit_code != 0 && r.signal == 0 && r.output.find("ended FINISHED") != std::string::npos;
    if (r.exit_code == 0 || had_finished) {
      // The job finished: the output must be complete and exact.
      ASSERT_EQ(files, expected) << r.output;
      if (!last) {
        // Finished before the planned kill: start over fresh for the remaining kills.
        checkpoint_completed = false;
      }
      continue;
    }
    ASSERT_FALSE(last) << "the final run failed (exit " << r.exit_code << ", signal " << r.signal
                       << "):\n"
                       << r.output;
    ASSERT_EQ(r.signal, SIGKILL) << "the job died without being killed:\n" << r.output;
  }
  if (!s.rocksdb_dir.empty()) {
    // Each run deleted the working directories of the killed ones, and its own at the end.
    auto left = FileSystem::Default()->ListDir(dir.Join(s.rocksdb_dir));
    ASSERT_TRUE(left.ok()) << left.status().ToString();
    EXPECT_TRUE(left->empty()) << (*left)[0] << " was left behind";
  }
  std::printf("[ crash    ] %d kills, %d restores from a checkpoint\n", kills,
              restarts_with_restore);
}

TEST(CrashTest, SeedExampleSurvivesRandomKills) {
  uint64_t seed = testing::TestSeed();
  CrashScenario s;
  s.args = {BinaryPath("fault_tolerance"),
            "--no-progress",
            "--end",
            "2500",
            "-D",
            "execution.checkpointing.interval=150 ms",
            "-D",
            "state.backend.rocksdb.localdir=rocksdb"};
  s.output = "output/sum_results.txt";
  s.rocksdb_dir = "rocksdb";  // the example's default backend
  s.min_kill_ms = 150;
  s.max_kill_ms = 900;
  std::string expected;
  for (int i = 0; i < 2500; ++i) expected += "0\n";
  expected += "1000\n";
  RunWithKills(s, {{"", expected}}, KillsFromEnvironment(8), seed);
}

struct Backend {
  std::string name;
  std::vector<std::string> flags;         // -D settings
  std::vector<std::string> fault_points;  // the backend's own, to crash at too
};

void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

class CrashJobTest : public ::testing::TestWithParam<Backend> {};

TEST_P(CrashJobTest, ManyKeysAtParallelismThreeSurviveRandomKills) {
  uint64_t seed = testing::TestSeed();
  auto job = [&](const std::string& delay_us) {
    std::vector<std::string> args{BinaryPath("crash_job"),
                                  "--no-progress",
                                  "--records",
                                  "30000",
                                  "--keys",
                                  "200",
                                  "--parallelism",
                                  "3",
                                  "--delay-us",
                                  delay_us,
                                  "-D",
                                  "execution.checkpointing.interval=100 ms",
                                  "-D",
                                  "state.backend.rocksdb.localdir=rocksdb"};
    for (const auto& f : GetParam().flags) {
      args.push_back("-D");
      args.push_back(f);
    }
    return args;
  };
  // The reference: the same job, never killed.
  TempDir ref;
  auto r = RunProcess(job("0"), 120'000, ref.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto expected = OutputFiles(ref.Join("output"));
  ASSERT_EQ(expected.size(), 3u);
  // The reference itself is exact: per key, counts 1..n once each with running sums.
  std::map<int, std::pair<long, long>> last;  // key -> (count, sum)
  for (const auto& [name, text] : expected) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      int key;
      long count, sum;
      ASSERT_EQ(std::sscanf(line.c_str(), "%d,%ld,%ld", &key, &count, &sum), 3);
      auto& [c, s] = last[key];
      ASSERT_EQ(count, c + 1) << line;
      ASSERT_GT(sum, s) << line;
      c = count;
      s = sum;
    }
  }
  ASSERT_EQ(last.size(), 200u);

  CrashScenario s;
  s.args = job("40");
  s.output = "output";
  s.min_kill_ms = 100;
  s.max_kill_ms = 700;
  if (GetParam().name != "hashmap") s.rocksdb_dir = "rocksdb";
  s.extra_fault_points = GetParam().fault_points;
  RunWithKills(s, expected, KillsFromEnvironment(8), seed);
}

INSTANTIATE_TEST_SUITE_P(Backends, CrashJobTest,
                         ::testing::Values(Backend{"hashmap", {"state.backend.type=hashmap"}, {}},
                                           Backend{"rocksdb", {"state.backend.type=rocksdb"}, {}},
                                           Backend{
                                               "rocksdb_incremental",
                                               {"state.backend.type=rocksdb",
                                                "execution.checkpointing.incremental=true"},
                                               {"rocksdb.before-upload", "rocksdb.create-sst"}}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace weir
