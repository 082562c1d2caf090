// Crash and resume with real processes: a job is killed with SIGKILL at random moments (or at
// a hit of a named fault point inside checkpointing and committing), then restarted with
// --restore latest, over and over. After every kill each output file must be a prefix of the
// output of a run without failures (a reader never sees a line a recovery takes back); at
// the end it must be byte-identical. Randomised; the seed is printed (WEIR_TEST_SEED replays
// it). WEIR_CRASH_KILLS sets the number of kills (the soak runs many). The seed example runs
// on RocksDB (its default); the many-keys job on every state backend. RocksDB's working
// directories, which a killed process cannot delete, must all be gone at the end.
//
// The fault points are the engine's own declarations (base/fault_points.h): the test arms
// them by the same names the engine uses, and a run armed at a point must die at that point
// (the process says where it crashed), so a point that is renamed or no longer reached fails
// EveryFaultPointFires instead of turning into a timed kill.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "base/fault_points.h"
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

// The points every job with checkpoints and the exactly-once file sink passes through.
std::vector<FaultPoint> CommonFaultPoints() {
  return {fault_points::kCheckpointBeforeMetadata, fault_points::kCheckpointAfterMetadata,
          fault_points::kSinkBeforeCommit,         fault_points::kSinkMidCommit,
          fault_points::kSinkAfterCommit,          fault_points::kSinkAfterSync,
          fault_points::kCheckpointRetireJob};
}

struct CrashScenario {
  std::vector<std::string> args;  // program and flags, without --restore
  std::string output;             // relative to the working directory
  int min_kill_ms;
  int max_kill_ms;
  std::string rocksdb_dir;  // state.backend.rocksdb.localdir, relative; empty if not RocksDB
  std::vector<FaultPoint> fault_points;  // the points a fresh run of the job passes through
};

// One planned kill: at the `hit`-th hit of a fault point, or else after `after_ms`.
struct Kill {
  std::string fault_point;  // empty: a timed kill
  int hit = 1;
  int after_ms = 0;
};

bool DiedAt(const testing::ProcessResult& r, const Kill& k) {
  return r.signal == SIGKILL &&
         r.output.find(FaultPoints::CrashMessage(k.fault_point, k.hit)) != std::string::npos;
}

// Kills and resumes the job as `plan` says, then lets it finish; checks the prefix property
// after every kill and byte-identity with `expected` at the end. A run armed at a fault point
// has no timed kill behind it: it dies at that point or runs to its end. With `must_fire`,
// it must die at that point.
void RunWithKills(const CrashScenario& s, const std::map<std::string, std::string>& expected,
                  const std::vector<Kill>& plan, bool must_fire = false) {
  TempDir dir;
  bool checkpoint_completed = false;
  int restarts_with_restore = 0;
  int fired = 0;
  int armed = 0;
  for (size_t k = 0; k <= plan.size(); ++k) {
    bool last = k == plan.size();
    std::vector<std::string> args = s.args;
    if (checkpoint_completed) {
      args.push_back("--restore");
      args.push_back("latest");
      ++restarts_with_restore;
    }
    std::vector<std::string> env;
    std::string how = "run to completion";
    if (!last && !plan[k].fault_point.empty()) {
      std::string spec = plan[k].fault_point + ":" + std::to_string(plan[k].hit);
      env.push_back("WEIR_CRASH_AT=" + spec);
      how = "crash at fault point " + spec;
      ++armed;
    } else if (!last) {
      how = "SIGKILL after " + std::to_string(plan[k].after_ms) + " ms";
    }
    SCOPED_TRACE("run " + std::to_string(k) + ": " + how);
    ChildProcess p(args, dir.path(), env);
    testing::ProcessResult r;
    if (last || !plan[k].fault_point.empty()) {
      r = p.Wait(240'000);
    } else {
      auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(plan[k].after_ms);
      while (p.Running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      r = p.Kill();
    }
    if (r.output.find("Completed checkpoint") != std::string::npos) checkpoint_completed = true;
    if (!last && !plan[k].fault_point.empty()) {
      if (DiedAt(r, plan[k])) {
        ++fired;
      } else {
        ASSERT_FALSE(must_fire) << "the process was armed to crash at fault point "
                                << plan[k].fault_point << " (hit " << plan[k].hit
                                << ") and did not die there (exit " << r.exit_code
                                << ", signal " << r.signal << "); output:\n"
                                << r.output;
        ASSERT_NE(r.signal, SIGKILL) << "killed, but not at the armed fault point:\n"
                                     << r.output;
      }
    }
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
  std::printf("[ crash    ] %zu kills (%d armed at fault points, %d died there), %d restores "
              "from a checkpoint\n",
              plan.size(), armed, fired, restarts_with_restore);
}

// `kills` kills: a third at a random hit (1-4) of one of the scenario's fault points, the
// others at a random moment.
std::vector<Kill> RandomPlan(const CrashScenario& s, int kills, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Kill> plan;
  for (int k = 0; k < kills; ++k) {
    Kill kill;
    if (rng() % 3 == 0) {
      kill.fault_point = std::string(s.fault_points[rng() % s.fault_points.size()].name);
      kill.hit = 1 + static_cast<int>(rng() % 4);
    } else {
      kill.after_ms = s.min_kill_ms + static_cast<int>(rng() % (s.max_kill_ms - s.min_kill_ms));
    }
    plan.push_back(kill);
  }
  return plan;
}

// Each of the scenario's fault points once, in a run of its own from a fresh start: the
// process must die at that point, and a restore must then finish the output exactly.
void CrashAtEveryPoint(const CrashScenario& s, const std::map<std::string, std::string>& expected,
                       const std::vector<FaultPoint>& points) {
  for (const FaultPoint& point : points) {
    SCOPED_TRACE("fault point " + std::string(point.name));
    RunWithKills(s, expected, {Kill{std::string(point.name), 1, 0}}, /*must_fire=*/true);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

std::string SeedOutput(int end) {
  std::string expected;
  for (int i = 0; i < end; ++i) expected += "0\n";
  return expected + "1000\n";
}

CrashScenario SeedExample() {
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
  s.fault_points = CommonFaultPoints();
  // RocksDB creates its OPTIONS, MANIFEST and log files when it opens.
  s.fault_points.push_back(fault_points::kRocksDbCreateFile);
  return s;
}

TEST(CrashTest, SeedExampleSurvivesRandomKills) {
  uint64_t seed = testing::TestSeed();
  CrashScenario s = SeedExample();
  RunWithKills(s, {{"", SeedOutput(2500)}}, RandomPlan(s, KillsFromEnvironment(8), seed));
}

TEST(CrashTest, EveryFaultPointFires) {
  CrashScenario s = SeedExample();
  CrashAtEveryPoint(s, {{"", SeedOutput(2500)}}, s.fault_points);
}

TEST(CrashTest, ArmingAnUnknownFaultPointIsRefusedAtStart) {
  TempDir dir;
  ChildProcess p(SeedExample().args, dir.path(), {"WEIR_CRASH_AT=sink.no-such-point:1"});
  testing::ProcessResult r = p.Wait(30'000);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("WEIR_CRASH_AT names no fault point: 'sink.no-such-point'"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(testing::FileExists(dir.Join("output/sum_results.txt")));
}

// The event-time example: windows open across every kill, restored with their contents and
// timers; with records in order within the watermark's bound, each window fires once, in
// the order of its end, so the output is byte-identical to an uninterrupted run's.
void ClickWindowsSurviveRandomKills(const std::vector<std::string>& flags,
                                    const std::string& output) {
  uint64_t seed = testing::TestSeed();
  const std::string clicks = std::string(WEIR_SOURCE_DIR) + "/examples/click_windows/clicks.csv";
  auto job = [&](const std::string& delay_ms) {
    std::vector<std::string> args{BinaryPath("click_windows"),
                                  "--no-progress",
                                  "--input",
                                  clicks,
                                  "--delay-ms",
                                  delay_ms,
                                  "-D",
                                  "execution.checkpointing.interval=100 ms",
                                  "-D",
                                  "state.backend.rocksdb.localdir=rocksdb"};
    args.insert(args.end(), flags.begin(), flags.end());
    return args;
  };
  TempDir ref;
  auto r = RunProcess(job("0"), 120'000, ref.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto expected = OutputFiles(ref.Join(output));
  ASSERT_FALSE(expected.empty());
  size_t lines = 0;
  for (const auto& [name, text] : expected) lines += std::count(text.begin(), text.end(), '\n');
  ASSERT_GT(lines, 100u);

  CrashScenario s;
  s.args = job("1");
  s.output = output;
  s.min_kill_ms = 100;
  s.max_kill_ms = 2500;
  if (std::find(flags.begin(), flags.end(), "state.backend.type=rocksdb") != flags.end()) {
    s.rocksdb_dir = "rocksdb";
  }
  s.fault_points = CommonFaultPoints();
  RunWithKills(s, expected, RandomPlan(s, KillsFromEnvironment(6), seed));
}

TEST(CrashTest, ClickWindowsTumblingSurviveRandomKills) {
  ClickWindowsSurviveRandomKills({"-D", "state.backend.type=hashmap"}, "output/click_counts.txt");
}

TEST(CrashTest, ClickWindowSessionsAtParallelismTwoOnRocksDbSurviveRandomKills) {
  ClickWindowsSurviveRandomKills({"-D", "state.backend.type=rocksdb", "--session-gap", "30 s",
                                  "--parallelism", "2", "--output", "output/sessions"},
                                 "output/sessions");
}

struct Backend {
  std::string name;
  std::vector<std::string> flags;        // -D settings
  std::vector<FaultPoint> fault_points;  // the backend's own, to crash at too
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
  if (GetParam().name.starts_with("rocksdb")) s.rocksdb_dir = "rocksdb";
  s.fault_points = CommonFaultPoints();
  s.fault_points.insert(s.fault_points.end(), GetParam().fault_points.begin(),
                        GetParam().fault_points.end());
  RunWithKills(s, expected, RandomPlan(s, KillsFromEnvironment(8), seed));
  // The backend's own points; the common ones are covered by EveryFaultPointFires.
  if (!::testing::Test::HasFatalFailure()) CrashAtEveryPoint(s, expected, GetParam().fault_points);
}

INSTANTIATE_TEST_SUITE_P(Backends, CrashJobTest,
                         ::testing::Values(Backend{"hashmap", {"state.backend.type=hashmap"}, {}},
                                           Backend{"hashmap_incremental",
                                                   {"state.backend.type=hashmap",
                                                    "execution.checkpointing.incremental=true"},
                                                   {}},
                                           Backend{"rocksdb",
                                                   {"state.backend.type=rocksdb"},
                                                   {fault_points::kRocksDbCreateFile}},
                                           Backend{
                                               "rocksdb_incremental",
                                               {"state.backend.type=rocksdb",
                                                "execution.checkpointing.incremental=true"},
                                               {fault_points::kRocksDbBeforeUpload,
                                                fault_points::kRocksDbCreateSst}}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace weir
