// Job lifecycle end to end: attempts after restarts, cancellation, and what a finished,
// failed or cancelled job leaves on disk.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "testing/test_util.h"
#include "weir/weir.h"

namespace weir {
namespace {

using testing::CheckpointFilesLeft;
using testing::ListFilesRecursive;
using testing::ReadFile;
using testing::TempDir;

std::string Numbers(int64_t from, int64_t to) {
  std::string s;
  for (int64_t i = from; i <= to; ++i) s += std::to_string(i) + "\n";
  return s;
}

TEST(JobLifecycleTest, ANoOverwriteJobRestartsAfterFailingBeforeItsFirstCheckpoint) {
  TempDir dir;
  std::atomic<bool> failed{false};
  Configuration c;
  c.Set("execution.checkpointing.interval", "1 h");  // no checkpoint before the failure
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.delay", "1 ms");
  StreamExecutionEnvironment env(c);
  env.FromSequence(1, 5000)
      .Map([&](int64_t i) {
        if (i == 2500 && !failed.exchange(true)) throw std::runtime_error("once");
        return i;
      })
      .WriteAsText(dir.Join("out.txt"));  // WriteMode::kNoOverwrite
  JobResult r = env.Execute("no-overwrite restart");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.metrics.restarts, 1);
  EXPECT_EQ(ReadFile(dir.Join("out.txt")), Numbers(1, 5000));
}

// A keyed function that passes records on and runs `on_open` as it opens (on its task thread).
class PassOn final : public KeyedProcessFunction<int, int64_t, int64_t> {
 public:
  explicit PassOn(std::function<void(RuntimeContext&)> on_open = [](RuntimeContext&) {})
      : on_open_(std::move(on_open)) {}
  void Open(RuntimeContext& ctx) override { on_open_(ctx); }
  void ProcessElement(const int64_t& v, Context&, Collector<int64_t>& out) override {
    out.Collect(v);
  }

 private:
  std::function<void(RuntimeContext&)> on_open_;
};

// Opens, noting the highest attempt number seen in `seen`.
PassOn AttemptProbe(std::atomic<int>* seen) {
  return PassOn([seen](RuntimeContext& ctx) {
    int a = ctx.attempt_number();
    int prev = seen->load();
    while (a > prev && !seen->compare_exchange_weak(prev, a)) {
    }
  });
}

TEST(JobLifecycleTest, AttemptNumberCountsRestarts) {
  TempDir dir;
  std::atomic<int> failures{0};
  std::atomic<int> max_attempt{-1};
  Configuration c;
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.attempts", "5");
  c.Set("restart-strategy.fixed-delay.delay", "1 ms");
  StreamExecutionEnvironment env(c);
  env.FromSequence(1, 1000)
      .Map([&](int64_t i) {
        if (i == 500 && failures.fetch_add(1) < 2) throw std::runtime_error("twice");
        return i;
      })
      .KeyBy([](int64_t) { return 0; })
      .Process(AttemptProbe(&max_attempt))
      .AddSink([](const int64_t&) {});
  JobResult r = env.Execute("attempts");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.metrics.restarts, 2);
  EXPECT_EQ(max_attempt.load(), 2);
}

TEST(JobLifecycleTest, CancelStopsAnEndlessJobQuicklyAndRetentionDecidesTheCheckpoints) {
  for (const char* retention : {"NO_EXTERNALIZED_CHECKPOINTS", "RETAIN_ON_CANCELLATION"}) {
    SCOPED_TRACE(retention);
    TempDir dir;
    Configuration c;
    c.Set("execution.checkpointing.interval", "10 ms");
    c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
    c.Set("execution.checkpointing.externalized-checkpoint-retention", retention);
    StreamExecutionEnvironment env(c);
    env.FromSequence(0, std::numeric_limits<int64_t>::max() - 1)
        .KeyBy([](int64_t i) { return static_cast<int>(i % 10); })
        .Process(PassOn())
        .AddSink([](const int64_t&) {});
    auto client = env.ExecuteAsync("endless");
    while (client->metrics().checkpoints.completed < 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    auto start = std::chrono::steady_clock::now();
    client->Cancel();
    JobResult r = client->Wait();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_EQ(r.metrics.status, JobStatus::kCanceled);
    EXPECT_TRUE(r.status.IsCancelled()) << r.error();
    bool kept = !CheckpointFilesLeft(dir.Join("checkpoints")).empty();
    EXPECT_EQ(kept, std::string(retention) == "RETAIN_ON_CANCELLATION");
  }
}

// As in Flink, no checkpoint starts while a task still restores or opens: its barrier would
// wait there, and the checkpoint's duration would measure the restore. The one due starts as
// soon as every task runs.
TEST(JobLifecycleTest, NoCheckpointStartsBeforeEveryTaskRuns) {
  TempDir dir;
  std::atomic<bool> release{false};
  Configuration c;
  c.Set("execution.checkpointing.interval", "10 ms");
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  StreamExecutionEnvironment env(c);
  env.FromSequence(0, std::numeric_limits<int64_t>::max() - 1)
      .KeyBy([](int64_t i) { return static_cast<int>(i % 10); })
      .Process(PassOn([&release](RuntimeContext&) {
        // Opens only when the test lets it: the task stays initializing until then.
        while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }))
      .AddSink([](const int64_t&) {});
  auto client = env.ExecuteAsync("held-open");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // 30 intervals
  CheckpointMetrics before = client->metrics().checkpoints;
  EXPECT_EQ(before.completed + before.failed + before.in_progress, 0);
  release = true;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (client->metrics().checkpoints.completed < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CheckpointMetrics after = client->metrics().checkpoints;
  EXPECT_GE(after.completed, 1);
  EXPECT_EQ(after.failed, 0);
  client->Cancel();
  JobResult r = client->Wait();
  EXPECT_EQ(r.metrics.status, JobStatus::kCanceled);
}

// A user's exactly-once sink into an "external system" (shared, so it outlives restarts):
// prepared batches are staged under a transaction name and appear only on commit.
struct ExternalStore {
  std::mutex mu;
  std::map<std::string, std::vector<int64_t>> staged;
  std::set<std::string> committed;
  std::vector<int64_t> visible;
};

class StoreSink final : public TwoPhaseCommitSink<int64_t> {
 public:
  explicit StoreSink(ExternalStore* store) : store_(store) {}
  Status Open(const SinkContext& c) override {
    name_ = "s" + std::to_string(c.subtask_index) + "-a" + std::to_string(c.attempt_number);
    return Status::OK();
  }
  Status Write(const std::vector<int64_t>& records) override {
    open_.insert(open_.end(), records.begin(), records.end());
    return Status::OK();
  }
  Result<std::optional<std::string>> Prepare(int64_t checkpoint_id) override {
    if (open_.empty()) return std::optional<std::string>();
    std::string txn = name_ + "-c" + std::to_string(checkpoint_id);
    std::lock_guard<std::mutex> lock(store_->mu);
    store_->staged[txn] = std::move(open_);
    open_.clear();
    return std::optional<std::string>(txn);
  }
  Status Commit(std::string_view txn) override {
    std::lock_guard<std::mutex> lock(store_->mu);
    auto it = store_->staged.find(std::string(txn));
    if (it == store_->staged.end())
      return Status::NotFound("no staged transaction " + std::string(txn));
    if (store_->committed.insert(std::string(txn)).second) {
      store_->visible.insert(store_->visible.end(), it->second.begin(), it->second.end());
    }
    return Status::OK();
  }

 private:
  ExternalStore* store_;
  std::string name_;
  std::vector<int64_t> open_;
};

TEST(JobLifecycleTest, AUserTwoPhaseCommitSinkIsExactlyOnceAcrossAFailure) {
  TempDir dir;
  ExternalStore store;
  std::atomic<bool> checkpointed{false};
  std::atomic<bool> failed{false};
  Configuration c;
  c.Set("execution.checkpointing.interval", "10 ms");
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.delay", "1 ms");
  const int64_t n = 200'000;
  StreamExecutionEnvironment env(c);
  env.SetParallelism(2);
  env.FromSequence(1, n)
      .Map([&](int64_t i) {
        if (i % 1000 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
        if (checkpointed.load() && !failed.exchange(true)) throw std::runtime_error("once");
        return i;
      })
      .Rebalance()
      .SinkTo([&store]() { return std::make_unique<StoreSink>(&store); });
  auto client = env.ExecuteAsync("user sink");
  while (client->metrics().checkpoints.completed < 2 &&
         client->metrics().status == JobStatus::kRunning) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  checkpointed = true;
  JobResult r = client->Wait();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.metrics.restarts, 1);
  std::vector<int64_t> got = store.visible;
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got.size(), static_cast<size_t>(n)) << "records lost or committed twice";
  for (int64_t i = 1; i <= n; ++i) ASSERT_EQ(got[static_cast<size_t>(i - 1)], i);
}

// A sink whose Persist, on the snapshot thread, throws.
class ThrowingPersistSink final : public TwoPhaseCommitSink<int64_t> {
 public:
  Status Write(const std::vector<int64_t>& records) override {
    written_ += records.size();
    return Status::OK();
  }
  Result<std::optional<std::string>> Prepare(int64_t) override {
    return written_ == 0 ? std::optional<std::string>() : std::optional<std::string>("txn");
  }
  Status Persist(std::string_view) override { throw std::runtime_error("store unreachable"); }
  Status Commit(std::string_view) override { return Status::OK(); }

 private:
  size_t written_ = 0;
};

TEST(JobLifecycleTest, AnExceptionWritingACheckpointFailsTheCheckpointNotTheProcess) {
  TempDir dir;
  Configuration c;
  c.Set("execution.checkpointing.interval", "10 ms");
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  c.Set("restart-strategy.type", "none");
  StreamExecutionEnvironment env(c);
  env.FromSequence(1, 1'000'000)
      .Map([](int64_t i) {
        if (i % 1000 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
        return i;
      })
      .SinkTo([]() { return std::make_unique<ThrowingPersistSink>(); });
  JobResult r = env.Execute("throwing persist");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("store unreachable"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("tolerable-failed-checkpoints"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace weir
