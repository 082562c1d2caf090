// Several inputs end to end, in-process: Union, connected streams (co-map, co-flat-map,
// co-process), a keyed co-process function with state and timers shared by both inputs on
// every state backend, through a failure (barriers aligned across both inputs: exactly-once
// output) and a rescaled restore; the operator's watermark as the minimum over both inputs;
// and the interval join against a brute-force model on random inputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "job_test_util.h"
#include "testing/test_util.h"
#include "weir/weir.h"

namespace weir {
namespace {

using ::testing::HasSubstr;
using testing::Lines;
using testing::OutputFiles;
using testing::Backend;
using testing::ConfigFor;
using testing::HasCompletedCheckpoint;
using testing::kBackends;
using testing::OutputLines;
using testing::StopAndResume;
using testing::TempDir;

void SlowDown(int64_t i) {
  if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::microseconds(2500));
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// ---- Union and unkeyed connected streams -------------------------------------------------------

TEST(UnionTest, ThreeStreamsOfDifferentParallelismBecomeOne) {
  TempDir dir;
  Configuration c;
  c.Set("parallelism.default", "2");
  StreamExecutionEnvironment env(c);
  auto a = env.FromSequence(0, 999).SetParallelism(1);
  auto b = env.FromSequence(1000, 2999);  // parallelism 2: pointwise forward edges
  auto d = env.FromSequence(3000, 3499).SetParallelism(3).Rebalance();
  a.Union(b, d)
      .Map([](int64_t i) { return std::to_string(i); })
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("union");
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<std::string> expected;
  for (int64_t i = 0; i < 3500; ++i) expected.push_back(std::to_string(i));
  EXPECT_EQ(OutputLines(dir.Join("out")), Sorted(expected));
}

class CountTo30 final : public KeyedProcessFunction<int64_t, int64_t, std::string> {
 public:
  void Open(RuntimeContext& ctx) override { n_ = ctx.GetState(ValueStateDescriptor<int64_t>("n")); }
  void ProcessElement(const int64_t&, Context& ctx, Collector<std::string>& out) override {
    n_.Update(n_.ValueOr(0) + 1);
    if (n_.ValueOr(0) == 30) out.Collect(std::to_string(ctx.current_key()));
  }

 private:
  ValueState<int64_t> n_;
};

TEST(UnionTest, AUnionFeedsAKeyedOperator) {
  TempDir dir;
  StreamExecutionEnvironment env;
  env.SetParallelism(2);
  auto a = env.FromSequence(0, 99);
  auto b = env.FromSequence(100, 199);
  auto c = env.FromSequence(200, 299);
  a.Union(b, c)
      .KeyBy([](int64_t i) { return i % 10; })
      .Process(CountTo30())
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("union-keyed");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(OutputLines(dir.Join("out")),
            (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));
}

TEST(ConnectTest, CoMapAndCoFlatMapTakeEachInputThroughItsOwnFunction) {
  TempDir dir;
  StreamExecutionEnvironment env;
  env.SetParallelism(2);
  auto numbers = env.FromSequence(0, 499);
  auto words = env.FromSequence(0, 299).Map([](int64_t i) { return "w" + std::to_string(i); });
  numbers.Connect(words)
      .Map([](int64_t i) { return "n" + std::to_string(i); },
           [](const std::string& w) { return w + "!"; })
      .WriteAsText(dir.Join("map"), WriteMode::kOverwrite);
  numbers.Connect(words)
      .FlatMap(
          [](int64_t i, Collector<std::string>& out) {
            if (i % 2 == 0) out.Collect("even " + std::to_string(i));
          },
          [](const std::string& w, Collector<std::string>& out) {
            out.Collect(w);
            out.Collect(w);
          })
      .WriteAsText(dir.Join("flat"), WriteMode::kOverwrite);
  JobResult r = env.Execute("co-map");
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<std::string> map, flat;
  for (int i = 0; i < 500; ++i) map.push_back("n" + std::to_string(i));
  for (int i = 0; i < 300; ++i) map.push_back("w" + std::to_string(i) + "!");
  for (int i = 0; i < 500; i += 2) flat.push_back("even " + std::to_string(i));
  for (int i = 0; i < 300; ++i) {
    flat.push_back("w" + std::to_string(i));
    flat.push_back("w" + std::to_string(i));
  }
  EXPECT_EQ(OutputLines(dir.Join("map")), Sorted(map));
  EXPECT_EQ(OutputLines(dir.Join("flat")), Sorted(flat));
}

class Tag final : public CoProcessFunction<int64_t, std::string, std::string> {
 public:
  void ProcessElement1(const int64_t& i, Context& ctx, Collector<std::string>& out) override {
    if (ctx.timestamp()) throw std::runtime_error("no event time in this job");
    out.Collect("1:" + std::to_string(i));
  }
  void ProcessElement2(const std::string& s, Context&, Collector<std::string>& out) override {
    out.Collect("2:" + s);
  }
};

TEST(ConnectTest, CoProcessGetsBothInputsAndEndsWhenBothEnded) {
  TempDir dir;
  StreamExecutionEnvironment env;
  auto a = env.FromSequence(0, 9).SetParallelism(1);
  auto b = env.FromCollection(std::vector<std::string>{"x", "y"});
  a.Connect(b)
      .Process(Tag())
      .SetParallelism(3)
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite)
      .SetParallelism(3);
  JobResult r = env.Execute("co-process");
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<std::string> expected = {"2:x", "2:y"};
  for (int i = 0; i < 10; ++i) expected.push_back("1:" + std::to_string(i));
  EXPECT_EQ(OutputLines(dir.Join("out")), Sorted(expected));
}

// ---- Keyed co-process: state and timers shared by both inputs ----------------------------------

// Input 1 adds (key, +i), input 2 (key, -2i). Every record's line goes out as it comes; at
// the end of input (the maximum watermark, which the operator reaches only when both inputs
// ended) an event-time timer emits the key's total over both inputs and its record counts.
struct Add {
  int32_t key;
  int64_t value;
};

constexpr int kKeys = 7;

class SumBoth final : public KeyedCoProcessFunction<int32_t, Add, Add, std::string> {
 public:
  void Open(RuntimeContext& ctx) override {
    sum_ = ctx.GetState(ValueStateDescriptor<int64_t>("sum"));
    seen_ = ctx.GetMapState(MapStateDescriptor<int32_t, int64_t>("records-per-input"));
  }
  void ProcessElement1(const Add& a, Context& ctx, Collector<std::string>& out) override {
    On(1, a, ctx, out);
  }
  void ProcessElement2(const Add& a, Context& ctx, Collector<std::string>& out) override {
    On(2, a, ctx, out);
  }
  void OnTimer(int64_t, Context& ctx, Collector<std::string>& out) override {
    if (ctx.time_domain() != TimeDomain::kEventTime) throw std::runtime_error("wrong domain");
    out.Collect("total " + std::to_string(ctx.current_key()) + " " +
                std::to_string(sum_.ValueOr(0)) + " " + std::to_string(seen_.Get(1).value_or(0)) +
                " " + std::to_string(seen_.Get(2).value_or(0)));
  }

 private:
  void On(int input, const Add& a, Context& ctx, Collector<std::string>& out) {
    if (ctx.current_key() != a.key) throw std::runtime_error("the wrong current key");
    sum_.Update(sum_.ValueOr(0) + a.value);
    seen_.Put(input, seen_.Get(input).value_or(0) + 1);
    ctx.timer_service().RegisterEventTimeTimer(1);
    out.Collect(std::to_string(input) + " " + std::to_string(a.key) + " " +
                std::to_string(a.value));
  }

  ValueState<int64_t> sum_;
  MapState<int32_t, int64_t> seen_;
};

struct SumRun {
  int64_t records = 20'000;  // per input
  int source_parallelism = 2;
  int keyed_parallelism = 2;
  std::function<void(int64_t)> on_record;   // input 1's records
  std::function<void(int64_t)> on_record2;  // input 2's
};

void BuildSumBoth(StreamExecutionEnvironment& env, const SumRun& run, const std::string& out) {
  auto hook = run.on_record;
  auto hook2 = run.on_record2;
  auto adds = env.FromSequence(0, run.records - 1)
                  .SetParallelism(run.source_parallelism)
                  .Uid("adds-source")
                  .Map([hook](int64_t i) {
                    if (hook) hook(i);
                    return Add{static_cast<int32_t>(i % kKeys), i};
                  })
                  .SetParallelism(run.source_parallelism)
                  .Uid("adds");
  auto subtracts = env.FromSequence(0, run.records - 1)
                       .SetParallelism(run.source_parallelism)
                       .Uid("subtracts-source")
                       .Map([hook2](int64_t i) {
                         if (hook2) hook2(i);
                         return Add{static_cast<int32_t>((i * 3) % kKeys), -2 * i};
                       })
                       .SetParallelism(run.source_parallelism)
                       .Uid("subtracts");
  adds.Connect(subtracts)
      .KeyBy([](const Add& a) { return a.key; }, [](const Add& a) { return a.key; })
      .Process(SumBoth())
      .SetParallelism(run.keyed_parallelism)
      .Uid("sum-both")
      .WriteAsText(out, WriteMode::kOverwrite)
      .SetParallelism(run.keyed_parallelism)
      .Uid("sink");
}

std::vector<std::string> ExpectedSums(int64_t records, bool with_records) {
  std::map<int32_t, int64_t> sum, n1, n2;
  std::vector<std::string> lines;
  for (int64_t i = 0; i < records; ++i) {
    int32_t k1 = static_cast<int32_t>(i % kKeys), k2 = static_cast<int32_t>((i * 3) % kKeys);
    sum[k1] += i;
    ++n1[k1];
    sum[k2] -= 2 * i;
    ++n2[k2];
    if (with_records) {
      lines.push_back("1 " + std::to_string(k1) + " " + std::to_string(i));
      lines.push_back("2 " + std::to_string(k2) + " " + std::to_string(-2 * i));
    }
  }
  for (const auto& [k, s] : sum) {
    lines.push_back("total " + std::to_string(k) + " " + std::to_string(s) + " " +
                    std::to_string(n1[k]) + " " + std::to_string(n2[k]));
  }
  return Sorted(lines);
}

// Barriers reach the two inputs far apart: input 2 stalls for 20 ms now and then (its
// source takes the barrier only after the stall), while input 1 keeps sending small batches
// right after its barrier. Without alignment, those would be in the snapshot and replayed.
void SkewBarriers(Configuration& c, SumRun& run) {
  c.Set("pipeline.exchange.batch-size", "16");
  c.Set("execution.buffer-timeout.interval", "1 ms");
  run.on_record2 = [](int64_t i) {
    if (i % 400 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  };
}

class KeyedCoProcessTest : public ::testing::TestWithParam<Backend> {};

TEST_P(KeyedCoProcessTest, StateAndTimersAreSharedByBothInputs) {
  TempDir dir;
  SumRun run;
  StreamExecutionEnvironment env(ConfigFor(dir, GetParam()));
  BuildSumBoth(env, run, dir.Join("out"));
  JobResult r = env.Execute("sum-both");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(OutputLines(dir.Join("out")), ExpectedSums(run.records, true));
}

// A failure after a checkpoint: the barriers of both inputs were aligned, so the restored
// state holds exactly the records before them on every channel of both inputs. The output
// (exactly-once file sink) has every record's line once and the exact totals.
TEST_P(KeyedCoProcessTest, AFailureAfterACheckpointIsExactlyOnceAcrossBothInputs) {
  TempDir dir;
  SumRun run;
  run.records = 40'000;
  static std::atomic<bool> failed;
  failed = false;
  std::string checkpoints = dir.Join("checkpoints");
  run.on_record = [checkpoints](int64_t i) {
    SlowDown(i);
    if (i >= 25'000 && i % 100 == 0 && !failed && HasCompletedCheckpoint(checkpoints) &&
        !failed.exchange(true)) {
      throw std::runtime_error("injected failure");
    }
  };
  Configuration config = ConfigFor(dir, GetParam());
  SkewBarriers(config, run);
  StreamExecutionEnvironment env(config);
  BuildSumBoth(env, run, dir.Join("out"));
  JobResult r = env.Execute("sum-both-failure");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(failed.load());
  EXPECT_GE(r.metrics.restarts, 1);
  EXPECT_EQ(OutputLines(dir.Join("out")), ExpectedSums(run.records, true));
}

// At-least-once: no channel waits at a barrier, so the snapshot may hold records of both
// inputs from after it; after the restore those come again. Nothing is lost.
TEST(KeyedCoProcessAtLeastOnceTest, AFailureLosesNoRecordOfEitherInput) {
  TempDir dir;
  Configuration config = ConfigFor(dir, kBackends[0]);
  config.Set("execution.checkpointing.mode", "AT_LEAST_ONCE");
  SumRun run;
  run.records = 40'000;
  static std::atomic<bool> failed;
  failed = false;
  std::string checkpoints = dir.Join("checkpoints");
  run.on_record = [checkpoints](int64_t i) {
    SlowDown(i);
    if (i >= 25'000 && i % 100 == 0 && !failed && HasCompletedCheckpoint(checkpoints) &&
        !failed.exchange(true)) {
      throw std::runtime_error("injected failure");
    }
  };
  SkewBarriers(config, run);
  StreamExecutionEnvironment env(config);
  BuildSumBoth(env, run, dir.Join("out"));
  JobResult r = env.Execute("sum-both-at-least-once");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(failed.load());
  auto lines = OutputLines(dir.Join("out"));
  std::set<std::string> got(lines.begin(), lines.end());
  for (const auto& l : ExpectedSums(run.records, true)) {
    if (l.rfind("total", 0) == 0) continue;  // a total may count a replayed record twice
    ASSERT_TRUE(got.count(l)) << "lost: " << l;
  }
}

// Stopped after a checkpoint, resumed from it at parallelism 3: the keyed state of both
// inputs and the timers move with their key groups.
TEST_P(KeyedCoProcessTest, TheStateOfBothInputsIsRescaledWithItsKeys) {
  TempDir dir;
  Configuration config = ConfigFor(dir, GetParam());
  config.Set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
  config.Set("restart-strategy.type", "none");
  std::string checkpoints = dir.Join("checkpoints");
  SumRun first;
  first.records = 40'000;
  first.on_record = [checkpoints](int64_t i) {
    SlowDown(i);
    if (i >= 30'000 && i % 100 == 0 && HasCompletedCheckpoint(checkpoints)) {
      throw std::runtime_error("stop the first run");
    }
  };
  {
    StreamExecutionEnvironment env(config);
    BuildSumBoth(env, first, dir.Join("out"));
    JobResult r1 = env.Execute("sum-both-rescale");
    ASSERT_FALSE(r1.ok());
  }
  config.Set("execution.state-recovery.path", "latest");
  SumRun second;
  second.records = 40'000;
  second.keyed_parallelism = 3;
  StreamExecutionEnvironment env(config);
  BuildSumBoth(env, second, dir.Join("out"));
  JobResult r2 = env.Execute("sum-both-rescale");
  ASSERT_TRUE(r2.ok()) << r2.error();
  EXPECT_GT(r2.metrics.checkpoints.restored_from_id, 0);
  // The totals count every record of both inputs exactly once.
  auto lines = OutputLines(dir.Join("out"));
  std::vector<std::string> totals, expected_totals;
  for (const auto& l : lines) {
    if (l.rfind("total", 0) == 0) totals.push_back(l);
  }
  for (const auto& l : ExpectedSums(second.records, true)) {
    if (l.rfind("total", 0) == 0) expected_totals.push_back(l);
  }
  EXPECT_EQ(totals, expected_totals);
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyedCoProcessTest, ::testing::ValuesIn(kBackends),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- Watermarks over two inputs -----------------------------------------------------------------

struct Timed {
  int32_t key;
  int64_t time;
};

// Checks on every record that the operator's watermark never passes what either input has
// delivered so far (so it is at most the minimum of the two), and emits a line each time it
// advanced by a second.
class WatermarkProbe final : public KeyedCoProcessFunction<int32_t, Timed, Timed, std::string> {
 public:
  void ProcessElement1(const Timed& t, Context& ctx, Collector<std::string>& out) override {
    max1_ = std::max(max1_, t.time);
    Check(ctx, out);
  }
  void ProcessElement2(const Timed& t, Context& ctx, Collector<std::string>& out) override {
    max2_ = std::max(max2_, t.time);
    Check(ctx, out);
  }

 private:
  void Check(Context& ctx, Collector<std::string>& out) {
    int64_t w = ctx.current_watermark();
    // An input whose last record arrived ends with the maximum watermark: it holds nothing back.
    int64_t bound1 = max1_ == kLast1 ? kMaxWatermark : max1_;
    int64_t bound2 = max2_ == kLast2 ? kMaxWatermark : max2_;
    if (w > std::min(bound1, bound2)) {
      throw std::runtime_error("watermark " + std::to_string(w) + " passed an input: " +
                               std::to_string(max1_) + " / " + std::to_string(max2_));
    }
    if (w > highest_ + 1000) {
      highest_ = w;
      out.Collect("advanced to " + std::to_string(w));
    }
  }

  static constexpr int64_t kLast1 = 4999 * 100;  // the last timestamps of the inputs
  static constexpr int64_t kLast2 = 4999 * 10;
  int64_t max1_ = kMinWatermark;
  int64_t max2_ = kMinWatermark;
  int64_t highest_ = 0;
};

TEST(TwoInputWatermarkTest, TheOperatorWatermarkIsTheMinimumOverBothInputs) {
  TempDir dir;
  Configuration c;
  c.Set("pipeline.auto-watermark-interval", "2 ms");
  StreamExecutionEnvironment env(c);
  env.SetParallelism(1);
  // Event time runs ten times faster on input 1 than on input 2.
  auto strategy = WatermarkStrategy<Timed>::ForMonotonousTimestamps().WithTimestampAssigner(
      [](const Timed& t, int64_t) { return t.time; });
  auto fast = env.FromSequence(0, 4999)
                  .Map([](int64_t i) {
                    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                    return Timed{static_cast<int32_t>(i % 3), i * 100};
                  })
                  .AssignTimestampsAndWatermarks(strategy);
  auto slow = env.FromSequence(0, 4999)
                  .Map([](int64_t i) {
                    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                    return Timed{static_cast<int32_t>(i % 3), i * 10};
                  })
                  .AssignTimestampsAndWatermarks(strategy);
  fast.Connect(slow)
      .KeyBy([](const Timed& t) { return t.key; }, [](const Timed& t) { return t.key; })
      .Process(WatermarkProbe())  // one subtask: it sees every record of both inputs
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("two-input-watermarks");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GT(OutputLines(dir.Join("out")).size(), 2u) << "the watermark advanced while running";
}

class FireEarly final : public KeyedCoProcessFunction<int32_t, Timed, Timed, std::string> {
 public:
  void ProcessElement1(const Timed& t, Context& ctx, Collector<std::string>&) override {
    ctx.timer_service().RegisterEventTimeTimer(t.time);
  }
  void ProcessElement2(const Timed&, Context&, Collector<std::string>&) override {}
  void OnTimer(int64_t t, Context& ctx, Collector<std::string>& out) override {
    // Before the end of input only if the idle input was left out of the minimum.
    if (ctx.current_watermark() != kMaxWatermark) out.Collect("early " + std::to_string(t));
  }
};

TEST(TwoInputWatermarkTest, AnIdleInputDoesNotHoldBackTheOther) {
  TempDir dir;
  Configuration c;
  c.Set("pipeline.auto-watermark-interval", "5 ms");
  StreamExecutionEnvironment env(c);
  env.SetParallelism(1);
  auto strategy = WatermarkStrategy<Timed>::ForMonotonousTimestamps()
                      .WithTimestampAssigner([](const Timed& t, int64_t) { return t.time; })
                      .WithIdleness(std::chrono::milliseconds(20));
  auto slowly = [](int64_t i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return Timed{0, i * 10};
  };
  // The assigners run in tasks of their own, so their periodic work is never blocked by
  // the slow sources. Input 2 sends no record at all, and runs longer than input 1.
  auto active =
      env.FromSequence(0, 199).Map(slowly).Rebalance().AssignTimestampsAndWatermarks(strategy);
  auto idle = env.FromSequence(0, 399)
                  .Map(slowly)
                  .Rebalance()
                  .Filter([](const Timed&) { return false; })
                  .AssignTimestampsAndWatermarks(strategy);
  active.Connect(idle)
      .KeyBy([](const Timed& t) { return t.key; }, [](const Timed& t) { return t.key; })
      .Process(FireEarly())
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("two-input-idleness");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GT(OutputLines(dir.Join("out")).size(), 10u)
      << "timers fired as the active input's watermark advanced";
}

// ---- Interval join
// -------------------------------------------------------------------------------

struct Ev {
  int32_t key;
  int64_t time;
  int32_t id;
};

}  // namespace

// Buffered in the join's keyed state: records need a codec.
template <>
struct Codec<Ev> : FieldsCodec<Ev, &Ev::key, &Ev::time, &Ev::id> {};

namespace {

class JoinLines final : public ProcessJoinFunction<Ev, Ev, std::string> {
 public:
  void ProcessElement(const Ev& l, const Ev& r, Context& ctx,
                      Collector<std::string>& out) override {
    if (ctx.left_timestamp() != l.time || ctx.right_timestamp() != r.time ||
        ctx.timestamp() != std::max(l.time, r.time)) {
      throw std::runtime_error("the join's timestamps are not the records'");
    }
    out.Collect(std::to_string(l.id) + "," + std::to_string(r.id) + "," +
                std::to_string(ctx.timestamp()));
  }
};

// `n` events over `keys` keys, times increasing, with neighbours swapped within `disorder`.
std::vector<Ev> RandomEvents(std::mt19937& rng, int n, int keys, int64_t disorder,
                             int32_t first_id) {
  std::vector<Ev> v;
  int64_t t = 1000;
  for (int i = 0; i < n; ++i) {
    t += static_cast<int64_t>(rng() % 7);
    v.push_back(Ev{static_cast<int32_t>(rng() % static_cast<unsigned>(keys)), t, first_id + i});
  }
  for (size_t i = 0; i + 1 < v.size(); ++i) {
    if (rng() % 3 == 0 && v[i + 1].time - v[i].time <= disorder) std::swap(v[i], v[i + 1]);
  }
  return v;
}

class IntervalJoinTest : public ::testing::TestWithParam<Backend> {};

TEST_P(IntervalJoinTest, MatchesABruteForceModelOnRandomInputs) {
  unsigned seed = std::random_device{}();
  std::printf("IntervalJoinTest seed %u\n", seed);
  std::mt19937 rng(seed);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " round " + std::to_string(round));
    const int keys = 1 + static_cast<int>(rng() % 5);
    const int64_t disorder = 10;
    std::vector<Ev> left = RandomEvents(rng, 1500, keys, disorder, 0);
    std::vector<Ev> right = RandomEvents(rng, 1500, keys, disorder, 100'000);
    int64_t lower = -40 + static_cast<int64_t>(rng() % 50);
    int64_t upper = lower + static_cast<int64_t>(rng() % 40);
    bool lower_exclusive = rng() % 2 == 0;
    bool upper_exclusive = rng() % 2 == 0;
    if (upper - lower < 2) lower_exclusive = upper_exclusive = false;
    SCOPED_TRACE("keys " + std::to_string(keys) + " bounds " + std::to_string(lower) +
                 (lower_exclusive ? " exclusive" : "") + " .. " + std::to_string(upper) +
                 (upper_exclusive ? " exclusive" : ""));

    std::vector<std::string> expected;
    for (const Ev& l : left) {
      for (const Ev& r : right) {
        if (l.key != r.key) continue;
        int64_t lo = l.time + lower, hi = l.time + upper;
        bool in = (lower_exclusive ? r.time > lo : r.time >= lo) &&
                  (upper_exclusive ? r.time < hi : r.time <= hi);
        if (in) {
          expected.push_back(std::to_string(l.id) + "," + std::to_string(r.id) + "," +
                             std::to_string(std::max(l.time, r.time)));
        }
      }
    }

    TempDir dir;
    StreamExecutionEnvironment env(ConfigFor(dir, GetParam()));
    auto strategy =
        WatermarkStrategy<Ev>::ForBoundedOutOfOrderness(std::chrono::milliseconds(disorder))
            .WithTimestampAssigner([](const Ev& e, int64_t) { return e.time; });
    auto keyed = [&](const std::vector<Ev>& events) {
      int64_t n = static_cast<int64_t>(events.size());
      return env.FromSequence(0, n - 1)
          .SetParallelism(1)
          .Map([events](int64_t i) { return events[static_cast<size_t>(i)]; })
          .SetParallelism(1)
          .AssignTimestampsAndWatermarks(strategy)
          .SetParallelism(1)
          .KeyBy([](const Ev& e) { return e.key; });
    };
    auto joined = keyed(left)
                      .IntervalJoin(keyed(right))
                      .Between(std::chrono::milliseconds(lower), std::chrono::milliseconds(upper));
    if (lower_exclusive) joined = joined.LowerBoundExclusive();
    if (upper_exclusive) joined = joined.UpperBoundExclusive();
    joined.Process(JoinLines())
        .SetParallelism(2)
        .WriteAsText(dir.Join("out"), WriteMode::kOverwrite)
        .SetParallelism(2);
    JobResult r = env.Execute("interval-join");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(OutputLines(dir.Join("out")), Sorted(expected));
  }
}

// A watermark right after each event (its time - 1): which events are late is exact.
class EveryEventWatermarks final : public WatermarkGenerator<Ev> {
 public:
  void OnEvent(const Ev&, int64_t t, WatermarkOutput& out) override { out.EmitWatermark(t - 1); }
};

// One source of events joined with itself, stopped with a savepoint a third of the way in and
// resumed; the resumed run's first kLate events are made late, behind the watermark the join
// had at the savepoint but near enough that records they would join are still buffered.
struct ResumedJoin {
  static constexpr int64_t kEvents = 600;
  static constexpr int64_t kLate = 5;
  static constexpr int64_t kBound = 300;  // ms either side
  static constexpr int32_t kRightIds = 100'000;

  static Ev At(int64_t i) {
    return Ev{static_cast<int32_t>(i % 3), 1'000 + 10 * i, static_cast<int32_t>(i)};
  }
  // 89 ms behind the savepoint's watermark (the time of the event before `first`, less 1).
  static int64_t LateTime(int64_t first) { return At(first).time - 100; }

  static inline StopAndResume progress;

  static void Build(StreamExecutionEnvironment& env, bool resumed, int join_parallelism,
                    const TempDir& dir) {
    auto events =
        env.FromSequence(0, kEvents - 1)
            .SetParallelism(1)
            .Map([resumed](int64_t i) {
              if (!resumed) {
                progress.Read();
                return At(i);
              }
              const int64_t first = progress.ResumedAt(i);
              Ev e = At(i);
              if (i < first + kLate) e.time = LateTime(first);
              return e;
            })
            .SetParallelism(1)
            .AssignTimestampsAndWatermarks(
                WatermarkStrategy<Ev>::ForGenerator(
                    [] { return std::make_unique<EveryEventWatermarks>(); })
                    .WithTimestampAssigner([](const Ev& e, int64_t) { return e.time; }))
            .SetParallelism(1)
            .Uid("timestamps");
    auto right = events
                     .Map([](Ev e) {
                       e.id += kRightIds;
                       return e;
                     })
                     .SetParallelism(1)
                     .Uid("right");
    const OutputTag<Ev> left_late("left-late");
    const OutputTag<Ev> right_late("right-late");
    auto joined = events.KeyBy([](const Ev& e) { return e.key; })
                      .IntervalJoin(right.KeyBy([](const Ev& e) { return e.key; }))
                      .Between(std::chrono::milliseconds(-kBound), std::chrono::milliseconds(kBound))
                      .SideOutputLeftLateData(left_late)
                      .SideOutputRightLateData(right_late)
                      .Process(JoinLines())
                      .SetParallelism(join_parallelism)
                      .Uid("join");
    joined.WriteAsText(dir.Join("out"), WriteMode::kOverwrite).SetParallelism(2).Uid("sink");
    const std::pair<OutputTag<Ev>, std::string> late_outputs[] = {{left_late, "late-left"},
                                                                   {right_late, "late-right"}};
    for (const auto& [tag, name] : late_outputs) {
      joined.GetSideOutput(tag)
          .Map([](const Ev& e) { return std::to_string(e.id) + "," + std::to_string(e.time); })
          .WriteAsText(dir.Join(name), WriteMode::kOverwrite)
          .Uid(name);
    }
  }

  // The late events as a side output prints them: ids from `first_id`, each at LateTime.
  static std::vector<std::string> ExpectedLate(int64_t first, int32_t first_id) {
    std::vector<std::string> lines;
    for (int64_t i = first; i < first + kLate; ++i) {
      lines.push_back(std::to_string(first_id + i) + "," + std::to_string(LateTime(first)));
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  // What a run without the savepoint writes: the late events join nothing.
  static std::vector<std::string> Expected(int64_t first) {
    std::vector<Ev> on_time;
    for (int64_t i = 0; i < kEvents; ++i) {
      if (i < first || i >= first + kLate) on_time.push_back(At(i));
    }
    std::vector<std::string> lines;
    for (const Ev& l : on_time) {
      for (const Ev& r : on_time) {
        if (l.key == r.key && r.time >= l.time - kBound && r.time <= l.time + kBound) {
          lines.push_back(std::to_string(l.id) + "," + std::to_string(r.id + kRightIds) + "," +
                          std::to_string(std::max(l.time, r.time)));
        }
      }
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  }
};

// An event that was late for the join before a savepoint stays late after it, at the same
// parallelism and at another: each key group's watermark comes back with the join's state.
// Late events of each side go to that side's late-data output.
// (Flink's starts again from nothing, so the late events, replayed before the first new
// watermark, would join the records buffered for on-time ones.)
TEST_P(IntervalJoinTest, EventsLateBeforeASavepointStayLateAfterIt) {
  for (int parallelism : {2, 3}) {
    SCOPED_TRACE("resumed at parallelism " + std::to_string(parallelism));
    TempDir dir;
    Configuration config = ConfigFor(dir, GetParam());
    config.Set("pipeline.exchange.batch-size", "1");  // each event followed by its watermark
    config.Set("execution.checkpointing.interval", "1 h");
    ResumedJoin::progress.Reset();
    std::string savepoint;
    {
      StreamExecutionEnvironment env(config);
      ResumedJoin::Build(env, /*resumed=*/false, 2, dir);
      savepoint = ResumedJoin::progress.RunAndStopWithSavepoint(
          env, "late for a join across a savepoint", ResumedJoin::kEvents / 3,
          dir.Join("savepoints"));
      ASSERT_FALSE(savepoint.empty());
    }
    config.Set("execution.state-recovery.path", savepoint);
    StreamExecutionEnvironment env(config);
    ResumedJoin::Build(env, /*resumed=*/true, parallelism, dir);
    JobResult r = env.Execute("late for a join across a savepoint");
    ASSERT_TRUE(r.ok()) << r.error();
    const int64_t first = ResumedJoin::progress.first_resumed.load();
    ASSERT_GT(first, 40) << "the savepoint came too early: nothing buffered was passed yet";
    ASSERT_LT(first, ResumedJoin::kEvents - ResumedJoin::kLate - 40)
        << "the savepoint came too late";
    EXPECT_EQ(OutputLines(dir.Join("out")), ResumedJoin::Expected(first));
    // Each side's late events went to its side output, not nowhere.
    EXPECT_EQ(OutputLines(dir.Join("late-left")), ResumedJoin::ExpectedLate(first, 0));
    EXPECT_EQ(OutputLines(dir.Join("late-right")),
              ResumedJoin::ExpectedLate(first, ResumedJoin::kRightIds));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, IntervalJoinTest, ::testing::ValuesIn(kBackends),
                         [](const auto& info) { return std::string(info.param.name); });

// Each record of either input on the main output and on a side output.
class MainAndSide final : public KeyedCoProcessFunction<int64_t, int64_t, int64_t, int64_t> {
 public:
  explicit MainAndSide(OutputTag<int64_t> side) : side_(std::move(side)) {}
  void ProcessElement1(const int64_t& v, Context& ctx, Collector<int64_t>& out) override {
    out.Collect(v);
    ctx.Output(side_, v);
  }
  void ProcessElement2(const int64_t& v, Context& ctx, Collector<int64_t>& out) override {
    ProcessElement1(v, ctx, out);
  }

 private:
  OutputTag<int64_t> side_;
};

// A checkpoint barrier leaves an operator after what it put in its side outputs, as after its
// main output: a job stopped with a savepoint (no watermarks, which also flush them) has
// written both outputs of every record it read. The side output's records used to wait for a
// full batch or a watermark, and the barrier passed them.
TEST(SideOutputBarrierTest, ASavepointHasWhatAKeyedCoProcessFunctionSentToASideOutput) {
  static StopAndResume progress;
  progress.Reset();
  TempDir dir;
  Configuration config = ConfigFor(dir, kBackends[0]);
  config.Set("execution.checkpointing.interval", "1 h");
  StreamExecutionEnvironment env(config);
  auto numbers = env.FromSequence(0, 1'000'000).SetParallelism(1).Map([](int64_t i) {
    progress.Read();
    return i;
  });
  const OutputTag<int64_t> side("side");
  auto both = numbers.Connect(numbers.Map([](int64_t i) { return -i - 1; }))
                  .KeyBy([](int64_t v) { return v % 4; }, [](int64_t v) { return v % 4; })
                  .Process(MainAndSide(side))
                  .SetParallelism(2);
  both.WriteAsText(dir.Join("main"), WriteMode::kOverwrite);
  both.GetSideOutput(side).WriteAsText(dir.Join("side"), WriteMode::kOverwrite);
  ASSERT_FALSE(
      progress.RunAndStopWithSavepoint(env, "side outputs", 100, dir.Join("savepoints")).empty());
  std::vector<std::string> main = OutputLines(dir.Join("main"));
  EXPECT_GE(main.size(), 200u);
  EXPECT_EQ(OutputLines(dir.Join("side")), main);
}

class FirstOfPair final : public ProcessJoinFunction<int64_t, int64_t, int64_t> {
 public:
  void ProcessElement(const int64_t& l, const int64_t&, Context&,
                      Collector<int64_t>& out) override {
    out.Collect(l);
  }
};

TEST(IntervalJoinErrorsTest, BoundsThatLeaveNoIntervalAreRefused) {
  StreamExecutionEnvironment env;
  auto keyed = env.FromSequence(0, 9).KeyBy([](int64_t i) { return i % 2; });
  auto point =
      keyed.IntervalJoin(keyed).Between(std::chrono::milliseconds(5), std::chrono::milliseconds(5));
  EXPECT_THROW(point.LowerBoundExclusive().Process(FirstOfPair()), std::invalid_argument);
  EXPECT_THROW(keyed.IntervalJoin(keyed)
                   .Between(std::chrono::milliseconds(1), std::chrono::milliseconds(0))
                   .Process(FirstOfPair()),
               std::invalid_argument);
}

TEST(IntervalJoinErrorsTest, RecordsWithoutTimestampsEndTheJobWithAClearError) {
  TempDir dir;
  Configuration c;
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.attempts", "100");
  c.Set("restart-strategy.fixed-delay.delay", "1 ms");
  StreamExecutionEnvironment env(c);
  auto keyed = env.FromSequence(0, 9).KeyBy([](int64_t i) { return i % 2; });
  keyed.IntervalJoin(keyed)
      .Between(std::chrono::milliseconds(-1), std::chrono::milliseconds(1))
      .Process(FirstOfPair())
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("join-without-time");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("interval join needs records with event timestamps"));
  EXPECT_EQ(r.metrics.restarts, 0);
}

}  // namespace
}  // namespace weir
