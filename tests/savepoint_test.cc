// Savepoints end to end: taken while the job runs, stop-with-savepoint, restoring from one
// (also at another parallelism and without checkpointing), and a savepoint that fails.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <sstream>
#include <thread>

#include "base/fault_injection_file_system.h"
#include "testing/test_util.h"
#include "weir/weir.h"

namespace weir {
namespace {

using testing::ListFilesRecursive;
using testing::ReadFile;
using testing::TempDir;

using KeyValue = std::pair<int32_t, int64_t>;

class CountSum final : public KeyedProcessFunction<int32_t, KeyValue, std::string> {
 public:
  void Open(RuntimeContext& ctx) override {
    count_ = ctx.GetState(ValueStateDescriptor<int64_t>("count"));
    sum_ = ctx.GetState(ValueStateDescriptor<int64_t>("sum"));
  }
  void ProcessElement(const KeyValue& r, Context& ctx, Collector<std::string>& out) override {
    int64_t c = count_.ValueOr(0) + 1;
    int64_t s = sum_.ValueOr(0) + r.second;
    count_.Update(c);
    sum_.Update(s);
    out.Collect(std::to_string(ctx.current_key()) + "," + std::to_string(c) + "," +
                std::to_string(s));
  }

 private:
  ValueState<int64_t> count_;
  ValueState<int64_t> sum_;
};

constexpr int64_t kRecords = 60'000;
constexpr int kKeys = 40;

// Source at parallelism 1, so every output file's content is determined.
void BuildJob(StreamExecutionEnvironment& env, const std::string& output, int parallelism,
              bool throttle) {
  env.FromSequence(0, kRecords - 1)
      .SetParallelism(1)
      .Map([throttle](int64_t i) {
        if (throttle && i % 500 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
        return KeyValue(static_cast<int32_t>(i % kKeys), 1 + i % 7);
      })
      .SetParallelism(1)
      .Uid("to-key-value")
      .KeyBy([](const KeyValue& r) { return r.first; })
      .Process(CountSum())
      .SetParallelism(parallelism)
      .Uid("count-sum")
      .WriteAsText(output, WriteMode::kOverwrite)
      .SetParallelism(parallelism)
      .Uid("sink");
}

std::map<std::string, std::string> OutputFiles(const std::string& path) {
  std::map<std::string, std::string> out;
  for (const auto& f : ListFilesRecursive(path)) {
    if (f.find(".pending") == std::string::npos) out[f] = ReadFile(path + "/" + f);
  }
  return out;
}

std::map<std::string, std::string> Reference(int parallelism) {
  TempDir dir;
  Configuration c;
  c.Set("restart-strategy.type", "none");
  StreamExecutionEnvironment env(c);
  BuildJob(env, dir.Join("out"), parallelism, false);
  EXPECT_TRUE(env.Execute("reference").ok());
  return OutputFiles(dir.Join("out"));
}

// Per key: counts 1..n exactly once, with running sums in sequence order.
void ExpectExact(const std::map<std::string, std::string>& files) {
  std::map<int, std::map<long, long>> seen;
  for (const auto& [name, text] : files) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      int k;
      long c, s;
      ASSERT_EQ(std::sscanf(line.c_str(), "%d,%ld,%ld", &k, &c, &s), 3) << line;
      ASSERT_TRUE(seen[k].emplace(c, s).second) << "counted twice: " << line;
    }
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(kKeys));
  for (int k = 0; k < kKeys; ++k) {
    long sum = 0, count = 0;
    for (int64_t i = k; i < kRecords; i += kKeys) {
      sum += 1 + i % 7;
      ++count;
      ASSERT_EQ(seen[k][count], sum) << "key " << k << " count " << count;
    }
    ASSERT_EQ(seen[k].size(), static_cast<size_t>(count)) << "key " << k;
  }
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

TEST(SavepointTest, ASavepointTakenWhileRunningRestoresTheJobExactly) {
  TempDir dir;
  auto reference = Reference(2);
  std::string savepoint;
  {
    StreamExecutionEnvironment env(Config(dir));
    BuildJob(env, dir.Join("out"), 2, true);
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
  // Restoring rewinds the job, and its output, to the savepoint; it ends identical again.
  Configuration c = Config(dir);
  c.Set("execution.state-recovery.path", savepoint);
  StreamExecutionEnvironment env(c);
  BuildJob(env, dir.Join("out"), 2, false);
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
    BuildJob(env, dir.Join("out"), 2, true);
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
    auto partial = OutputFiles(dir.Join("out"));
    size_t bytes = 0;
    for (const auto& [name, text] : partial) {
      EXPECT_EQ(reference[name].compare(0, text.size(), text), 0) << name;
      bytes += text.size();
    }
    EXPECT_GT(bytes, 0u);
    // A finished job keeps no checkpoints, but the savepoint stays.
    EXPECT_TRUE(ListFilesRecursive(dir.Join("checkpoints")).empty());
  }
  Configuration c = Config(dir);
  c.Set("execution.state-recovery.path", savepoint);
  StreamExecutionEnvironment env(c);
  BuildJob(env, dir.Join("out"), 2, false);
  JobResult r = env.Execute("stop");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(OutputFiles(dir.Join("out")), reference);
}

TEST(SavepointTest, ASavepointRestoresAtAnotherParallelism) {
  TempDir dir;
  std::string savepoint;
  {
    StreamExecutionEnvironment env(Config(dir));
    BuildJob(env, dir.Join("out"), 3, true);
    auto client = env.ExecuteAsync("rescale");
    WaitForRecords(*client, kRecords / 2);
    auto path = client->StopWithSavepoint();
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    savepoint = *path;
    ASSERT_TRUE(client->Wait().ok());
  }
  Configuration c = Config(dir);
  c.Set("execution.state-recovery.path", savepoint);
  StreamExecutionEnvironment env(c);
  BuildJob(env, dir.Join("out"), 2, false);
  JobResult r = env.Execute("rescale");
  ASSERT_TRUE(r.ok()) << r.error();
  ExpectExact(OutputFiles(dir.Join("out")));
}

TEST(SavepointTest, SavepointsWorkWithoutCheckpointing) {
  TempDir dir;
  auto reference = Reference(2);
  std::string savepoint;
  {
    StreamExecutionEnvironment env(Config(dir, /*checkpointing=*/false));
    BuildJob(env, dir.Join("out"), 2, true);
    auto client = env.ExecuteAsync("no checkpoints");
    WaitForRecords(*client, kRecords / 3);
    auto path = client->StopWithSavepoint();
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    savepoint = *path;
    ASSERT_TRUE(client->Wait().ok());
  }
  Configuration c = Config(dir, /*checkpointing=*/false);
  c.Set("execution.state-recovery.path", savepoint);
  StreamExecutionEnvironment env(c);
  BuildJob(env, dir.Join("out"), 2, false);
  JobResult r = env.Execute("no checkpoints");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(OutputFiles(dir.Join("out")), reference);
}

TEST(SavepointTest, AFailedSavepointIsReportedAndTheJobCarriesOn) {
  TempDir dir;
  auto reference = Reference(2);
  FaultInjectionFileSystem fs(FileSystem::Default());
  fs.InjectError(FaultInjectionFileSystem::Op::kWrite, "savepoint-", Status::NoSpace("disk full"));
  StreamExecutionEnvironment env(Config(dir));
  env.SetFileSystemForTesting(&fs);
  BuildJob(env, dir.Join("out"), 2, true);
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
  EXPECT_TRUE(ListFilesRecursive(dir.Join("savepoints")).empty()) << "a failed savepoint is cleaned up";
}

TEST(SavepointTest, ASavepointOfAFinishedJobIsAnError) {
  TempDir dir;
  StreamExecutionEnvironment env(Config(dir));
  BuildJob(env, dir.Join("out"), 1, false);
  auto client = env.ExecuteAsync("done");
  ASSERT_TRUE(client->Wait().ok());
  auto path = client->TriggerSavepoint();
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.status().ToString().find("not running"), std::string::npos)
      << path.status().ToString();
}

}  // namespace
}  // namespace weir
