// End to end: sources of the FLIP-27 API (weir/source.h) in running jobs. A FileSource
// restored at parallelism 1 -> 3 -> 2 through failures, with every line exactly once in the
// exactly-once file sink, on every state backend; a monitored directory's new file; an idle
// source that uses no CPU and still answers checkpoints and cancellation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testing/test_util.h"
#include "weir/weir.h"

namespace weir {
namespace {

using testing::OutputFiles;
using testing::TempDir;
using testing::WriteFile;

struct Backend {
  const char* name;
  const char* type;
  bool incremental;
};
void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }
const Backend kBackends[] = {{"hashmap", "hashmap", false},
                             {"rocksdb", "rocksdb", false},
                             {"rocksdb_incremental", "rocksdb", true}};

constexpr int kFiles = 4;
constexpr int kLinesPerFile = 1500;

// The newest checkpoint id in `dir` that has its metadata; 0 if none.
int64_t LatestCheckpoint(const std::string& dir) {
  int64_t latest = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() != "_metadata") continue;
    std::string chk = it->path().parent_path().filename().string();
    if (chk.rfind("chk-", 0) == 0) latest = std::max<int64_t>(latest, std::stoll(chk.substr(4)));
  }
  return latest;
}

// Counts each line it sees (keyed state): a line read twice would show a count of 2.
class CountLine final : public KeyedProcessFunction<std::string, std::string, std::string> {
 public:
  void Open(RuntimeContext& ctx) override {
    count_ = ctx.GetState(ValueStateDescriptor<int64_t>("count"));
  }
  void ProcessElement(const std::string& line, Context&, Collector<std::string>& out) override {
    int64_t n = count_.ValueOr(0) + 1;
    count_.Update(n);
    out.Collect(line + "," + std::to_string(n));
  }

 private:
  ValueState<int64_t> count_;
};

struct LinesRun {
  int parallelism = 1;
  // Fails the run (restart-strategy none) once this many records passed in it after a
  // checkpoint newer than `after_checkpoint`; 0: runs to the end.
  int64_t stop_after = 0;
  int64_t after_checkpoint = 0;
};

std::atomic<int64_t> g_seen{0};

JobResult RunLines(Configuration config, const TempDir& dir, const LinesRun& run) {
  g_seen = 0;
  StreamExecutionEnvironment env(config);
  std::string checkpoints = dir.Join("checkpoints");
  int64_t stop_after = run.stop_after;
  int64_t after = run.after_checkpoint;
  env.FromSource(FileSource::ForTextLines(dir.Join("in")),
                 WatermarkStrategy<std::string>::NoWatermarks(), "lines")
      .SetParallelism(run.parallelism)
      .Uid("lines")
      .Map([=](const std::string& line) {
        int64_t n = g_seen.fetch_add(1) + 1;
        if (n % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (stop_after > 0 && n >= stop_after && n % 50 == 0 &&
            LatestCheckpoint(checkpoints) > after) {
          throw std::runtime_error("stop this run");
        }
        return line;
      })
      .SetParallelism(run.parallelism)
      .Uid("slow")
      .KeyBy([](const std::string& line) { return line; })
      .Process(CountLine())
      .SetParallelism(2)
      .Uid("count")
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite)
      .SetParallelism(2)
      .Uid("sink");
  return env.Execute("file-lines");
}

class FileSourceRescaleTest : public ::testing::TestWithParam<Backend> {};

TEST_P(FileSourceRescaleTest, EveryLineExactlyOnceThroughFailuresAndRescales1To3To2) {
  TempDir dir;
  std::filesystem::create_directories(dir.Join("in"));
  std::vector<std::string> expected;
  for (int f = 0; f < kFiles; ++f) {
    std::string text;
    for (int i = 0; i < kLinesPerFile; ++i) {
      std::string line = "f" + std::to_string(f) + "-" + std::to_string(i);
      text += line + "\n";
      expected.push_back(line + ",1");
    }
    WriteFile(dir.Join("in/" + std::to_string(f) + ".txt"), text);
  }
  std::sort(expected.begin(), expected.end());
  Configuration c;
  c.Set("state.backend.type", GetParam().type);
  c.Set("execution.checkpointing.incremental", GetParam().incremental ? "true" : "false");
  c.Set("state.backend.rocksdb.localdir", dir.Join("rocksdb"));
  c.Set("execution.checkpointing.interval", "20 ms");
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  c.Set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
  c.Set("restart-strategy.type", "none");

  JobResult r1 = RunLines(c, dir, LinesRun{1, 1000, 0});
  ASSERT_FALSE(r1.ok());
  ASSERT_THAT(r1.error(), ::testing::HasSubstr("stop this run"));
  int64_t first = LatestCheckpoint(dir.Join("checkpoints"));
  ASSERT_GT(first, 0);

  c.Set("execution.state-recovery.path", "latest");
  JobResult r2 = RunLines(c, dir, LinesRun{3, 1500, first});
  ASSERT_FALSE(r2.ok());
  ASSERT_THAT(r2.error(), ::testing::HasSubstr("stop this run"));
  EXPECT_GT(r2.metrics.checkpoints.restored_from_id, 0);

  JobResult r3 = RunLines(c, dir, LinesRun{2, 0, 0});
  ASSERT_TRUE(r3.ok()) << r3.error();
  EXPECT_GT(r3.metrics.checkpoints.restored_from_id, first);

  std::vector<std::string> got;
  for (const auto& [name, text] : OutputFiles(dir.Join("out"))) {
    for (auto& line : testing::Lines(text)) got.push_back(line);
  }
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Backends, FileSourceRescaleTest, ::testing::ValuesIn(kBackends),
                         [](const auto& info) { return std::string(info.param.name); });

std::mutex g_lines_mu;
std::set<std::string> g_lines;  // guarded by g_lines_mu

bool Seen(const std::string& line) {
  std::lock_guard<std::mutex> lock(g_lines_mu);
  return g_lines.count(line) > 0;
}

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

TEST(FileSourceMonitorTest, ANewFileInTheWatchedDirectoryIsRead) {
  TempDir dir;
  std::filesystem::create_directories(dir.Join("in"));
  WriteFile(dir.Join("in/a.txt"), "a1\na2\n");
  {
    std::lock_guard<std::mutex> lock(g_lines_mu);
    g_lines.clear();
  }
  StreamExecutionEnvironment env;
  env.FromSource(
         FileSource::ForTextLines(dir.Join("in")).MonitorContinuously(std::chrono::milliseconds(50)),
         WatermarkStrategy<std::string>::NoWatermarks(), "watched")
      .Map([](const std::string& line) {
        std::lock_guard<std::mutex> lock(g_lines_mu);
        g_lines.insert(line);
        return 0;
      })
      .Print();
  auto client = env.ExecuteAsync("monitor");
  ASSERT_TRUE(WaitFor([] { return Seen("a2"); }, std::chrono::seconds(20)));
  // A complete file appears under its name at once: written hidden, then renamed.
  WriteFile(dir.Join("in/.b.txt"), "b1\nb2\n");
  std::filesystem::rename(dir.Join("in/.b.txt"), dir.Join("in/b.txt"));
  EXPECT_TRUE(WaitFor([] { return Seen("b2"); }, std::chrono::seconds(20)));
  client->Cancel();
  JobResult r = client->Wait();
  EXPECT_EQ(r.metrics.status, JobStatus::kCanceled);
}

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

TEST(IdleSourceTest, AnIdleSourceUsesNoCpuAndStillTakesCheckpointsAndCancels) {
  TempDir dir;
  std::filesystem::create_directories(dir.Join("in"));
  Configuration c;
  c.Set("execution.checkpointing.interval", "100 ms");
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  StreamExecutionEnvironment env(c);
  env.SetParallelism(2);
  env.FromSource(
         FileSource::ForTextLines(dir.Join("in")).MonitorContinuously(std::chrono::milliseconds(100)),
         WatermarkStrategy<std::string>::NoWatermarks(), "idle")
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  auto client = env.ExecuteAsync("idle");
  ASSERT_TRUE(WaitFor([&] { return client->metrics().status == JobStatus::kRunning; },
                      std::chrono::seconds(20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  double cpu0 = ProcessCpuSeconds();
  auto wall0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  double cpu = ProcessCpuSeconds() - cpu0;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  std::printf("idle source: %.3f CPU-s over %.2f s\n", cpu, wall);
  // A spinning source task would burn a whole core: ~1 CPU-s per second each.
  EXPECT_LT(cpu, 0.15 * wall) << "an idle source spins";
  // It still answers barriers ...
  EXPECT_GT(client->metrics().checkpoints.completed, 3);
  auto savepoint = client->TriggerSavepoint(dir.Join("savepoints"));
  EXPECT_TRUE(savepoint.ok()) << savepoint.status().ToString();
  // ... and cancellation.
  auto t0 = std::chrono::steady_clock::now();
  client->Cancel();
  JobResult r = client->Wait();
  EXPECT_EQ(r.metrics.status, JobStatus::kCanceled);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

}  // namespace
}  // namespace weir
