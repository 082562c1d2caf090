// Job lifecycle end to end: attempts after restarts, cancellation, and what a finished,
// failed or cancelled job leaves on disk.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "testing/test_util.h"
#include "weir/weir.h"

namespace weir {
namespace {

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

class AttemptProbe final : public KeyedProcessFunction<int, int64_t, int64_t> {
 public:
  explicit AttemptProbe(std::atomic<int>* seen) : seen_(seen) {}
  void Open(RuntimeContext& ctx) override {
    int a = ctx.attempt_number();
    int prev = seen_->load();
    while (a > prev && !seen_->compare_exchange_weak(prev, a)) {
    }
  }
  void ProcessElement(const int64_t& v, Context&, Collector<int64_t>& out) override {
    out.Collect(v);
  }

 private:
  std::atomic<int>* seen_;
};

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
  std::atomic<int> unused_attempts{0};
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
        .Process(AttemptProbe(&unused_attempts))
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
    bool kept = !ListFilesRecursive(dir.Join("checkpoints")).empty();
    EXPECT_EQ(kept, std::string(retention) == "RETAIN_ON_CANCELLATION");
  }
}

}  // namespace
}  // namespace weir
