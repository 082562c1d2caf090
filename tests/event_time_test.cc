// Event time end to end, in-process: timestamps assigned from the records, bounded
// out-of-orderness watermarks combined over parallel channels, event-time timers that fire
// when the watermark passes them, on every state backend, through a failure and restart from
// a checkpoint (timers restored), and at another parallelism.
//
// The job counts records per key in one-second event-time windows, written by hand on
// timers: the count of a window is emitted once the watermark passes its end. With disorder
// within the bound, no record is late and every window's count is exact.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "count_sum_job.h"
#include "job_test_util.h"
#include "testing/reader_only_source.h"
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
using testing::TempDir;

struct Event {
  int32_t key;
  int64_t time;  // event time, ms
};

constexpr int kKeys = 5;
constexpr int64_t kWindow = 1000;
constexpr int64_t kDisorder = 30;  // event times are shuffled within blocks of 4 records

Event EventOf(int64_t i) { return Event{static_cast<int32_t>(i % kKeys), (i ^ 3) * 10}; }

// Counts per key and window; emits "key,window_end,count" when event time passes the end.
class WindowCount final : public KeyedProcessFunction<int32_t, Event, std::string> {
 public:
  void Open(RuntimeContext& ctx) override {
    counts_ = ctx.GetMapState(MapStateDescriptor<int64_t, int64_t>("counts"));
  }
  void ProcessElement(const Event& e, Context& ctx, Collector<std::string>& out) override {
    if (!ctx.timestamp() || *ctx.timestamp() != e.time) {
      throw std::runtime_error("the record's timestamp is not the one assigned");
    }
    if (e.time <= ctx.current_watermark()) out.Collect("LATE " + std::to_string(e.time));
    int64_t end = (e.time / kWindow + 1) * kWindow - 1;
    counts_.Put(end, counts_.Get(end).value_or(0) + 1);
    ctx.timer_service().RegisterEventTimeTimer(end);
  }
  void OnTimer(int64_t end, Context& ctx, Collector<std::string>& out) override {
    if (ctx.time_domain() != TimeDomain::kEventTime || ctx.timestamp() != end) {
      throw std::runtime_error("an event-time timer fired with the wrong domain or time");
    }
    out.Collect(std::to_string(ctx.current_key()) + "," + std::to_string(end) + "," +
                std::to_string(counts_.Get(end).value_or(-1)));
    counts_.Remove(end);
  }

 private:
  MapState<int64_t, int64_t> counts_;
};

struct JobRun {
  int64_t records = 20'000;
  int source_parallelism = 2;
  int keyed_parallelism = 2;
  std::function<void(int64_t)> on_record;
};

void BuildWindowCount(StreamExecutionEnvironment& env, const JobRun& run, const std::string& out) {
  auto hook = run.on_record;
  env.FromSequence(0, run.records - 1)
      .SetParallelism(run.source_parallelism)
      .Map([hook](int64_t i) {
        if (hook) hook(i);
        return EventOf(i);
      })
      .SetParallelism(run.source_parallelism)
      .AssignTimestampsAndWatermarks(
          WatermarkStrategy<Event>::ForBoundedOutOfOrderness(std::chrono::milliseconds(kDisorder))
              .WithTimestampAssigner([](const Event& e, int64_t) { return e.time; }))
      .SetParallelism(run.source_parallelism)
      .Uid("timestamps")
      .KeyBy([](const Event& e) { return e.key; })
      .Process(WindowCount())
      .SetParallelism(run.keyed_parallelism)
      .Uid("window-count")
      .WriteAsText(out, WriteMode::kOverwrite)
      .SetParallelism(run.keyed_parallelism)
      .Uid("sink");
}

JobResult RunWindowCount(const Configuration& config, const JobRun& run, const std::string& out) {
  StreamExecutionEnvironment env(config);
  BuildWindowCount(env, run, out);
  return env.Execute("event-time");
}

// "key,end,count" for every window of the run, sorted.
std::vector<std::string> ExpectedWindows(int64_t records) {
  std::map<std::pair<int32_t, int64_t>, int64_t> counts;
  for (int64_t i = 0; i < records; ++i) {
    Event e = EventOf(i);
    ++counts[{e.key, (e.time / kWindow + 1) * kWindow - 1}];
  }
  std::vector<std::string> lines;
  for (const auto& [kw, n] : counts) {
    lines.push_back(std::to_string(kw.first) + "," + std::to_string(kw.second) + "," +
                    std::to_string(n));
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// About a second per 20,000 records of one subtask: time for a first RocksDB checkpoint.
void SlowDown(int64_t i) {
  if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::microseconds(2500));
}

class EventTimeTest : public ::testing::TestWithParam<Backend> {};

TEST_P(EventTimeTest, WindowsOnEventTimersAreExactAcrossParallelChannels) {
  TempDir dir;
  JobRun run;
  JobResult r = RunWindowCount(ConfigFor(dir, GetParam()), run, dir.Join("out"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(OutputLines(dir.Join("out")), ExpectedWindows(run.records));
}

TEST_P(EventTimeTest, AFailureAfterACheckpointRestoresTheTimersAndLosesNoWindow) {
  TempDir dir;
  JobRun run;
  run.records = 40'000;
  // Slow enough for checkpoints to complete; fails once, in the middle, on one subtask.
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
  JobResult r = RunWindowCount(ConfigFor(dir, GetParam()), run, dir.Join("out"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(failed.load());
  EXPECT_GE(r.metrics.restarts, 1);
  EXPECT_EQ(OutputLines(dir.Join("out")), ExpectedWindows(run.records));
}

TEST_P(EventTimeTest, EventTimeTimersAreRescaledWithTheirKeys) {
  TempDir dir;
  Configuration config = ConfigFor(dir, GetParam());
  config.Set("execution.checkpointing.externalized-checkpoint-retention",
             "RETAIN_ON_CANCELLATION");
  config.Set("restart-strategy.type", "none");
  JobRun first;
  first.records = 40'000;
  std::string checkpoints = dir.Join("checkpoints");
  first.on_record = [checkpoints](int64_t i) {
    SlowDown(i);
    if (i >= 30'000 && i % 100 == 0 && HasCompletedCheckpoint(checkpoints)) {
      throw std::runtime_error("stop the first run");
    }
  };
  JobResult r1 = RunWindowCount(config, first, dir.Join("out"));
  ASSERT_FALSE(r1.ok());

  // Resume at parallelism 3: the windows still open at the checkpoint, with their timers,
  // move to the subtasks that now own their keys.
  config.Set("execution.state-recovery.path", "latest");
  JobRun second;
  second.records = 40'000;
  second.keyed_parallelism = 3;
  JobResult r2 = RunWindowCount(config, second, dir.Join("out"));
  ASSERT_TRUE(r2.ok()) << r2.error();
  EXPECT_GT(r2.metrics.checkpoints.restored_from_id, 0);
  EXPECT_EQ(OutputLines(dir.Join("out")), ExpectedWindows(second.records));
}

// Sum of the counts of every window in the output.
int64_t CountedRecords(const std::string& path) {
  int64_t sum = 0;
  for (const auto& line : OutputLines(path)) {
    sum += std::stoll(line.substr(line.rfind(',') + 1));
  }
  return sum;
}

// Stop with a savepoint while windows are open: with drain, the maximum watermark fires them
// all into the output the savepoint covers; without, they stay open in the savepoint.
TEST_P(EventTimeTest, StopWithDrainFiresEveryOpenWindowBeforeTheSavepoint) {
  for (bool drain : {false, true}) {
    SCOPED_TRACE(drain ? "drain" : "no drain");
    TempDir dir;
    Configuration config = ConfigFor(dir, GetParam());
    config.Set("execution.checkpointing.interval", "1 h");  // only the savepoint commits
    static std::atomic<int64_t> emitted;
    emitted = 0;
    JobRun run;
    run.records = 100'000'000;  // runs until stopped
    run.source_parallelism = 1;
    run.on_record = [](int64_t i) {
      if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      emitted.fetch_add(1);
    };
    StreamExecutionEnvironment env(config);
    BuildWindowCount(env, run, dir.Join("out"));
    auto client = env.ExecuteAsync("drain");
    // Stop once windows are open; a fixed sleep was too short under TSan on a loaded machine.
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (emitted.load() <= 1000 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto savepoint = client->StopWithSavepoint(dir.Join("savepoints"), drain);
    ASSERT_TRUE(savepoint.ok()) << savepoint.status().ToString();
    JobResult r = client->Wait();
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_GT(emitted.load(), 1000);
    if (drain) {
      EXPECT_EQ(CountedRecords(dir.Join("out")), emitted.load());
    } else {
      EXPECT_LT(CountedRecords(dir.Join("out")), emitted.load());
    }
  }
}

// A key whose codec is the user's, in place of the built-in one of its type (an enum written
// as one byte, not its integer's four): state and timers are kept under the codec's bytes, and
// each timer's key decodes with it.
enum class Lane : int32_t { kLeft, kMiddle, kRight };

}  // namespace

template <>
struct Codec<Lane> {
  static constexpr std::string_view kName = "lane";
  static void Encode(const Lane& l, BufferWriter& w) { w.PutU8(static_cast<uint8_t>(l)); }
  static bool Decode(BufferReader& r, Lane& l) {
    uint8_t b;
    if (!r.GetU8(&b) || b > 2) return false;
    l = static_cast<Lane>(b);
    return true;
  }
};

namespace {

// Counts each lane's records; emits "lane,count" when event time passes the first second.
class CountPerLane final : public KeyedProcessFunction<Lane, int64_t, std::string> {
 public:
  void Open(RuntimeContext& ctx) override {
    count_ = ctx.GetState(ValueStateDescriptor<int64_t>("count"));
  }
  void ProcessElement(const int64_t&, Context& ctx, Collector<std::string>&) override {
    count_.Update(count_.ValueOr(0) + 1);
    ctx.timer_service().RegisterEventTimeTimer(kWindow - 1);
  }
  void OnTimer(int64_t, Context& ctx, Collector<std::string>& out) override {
    out.Collect(std::to_string(static_cast<int>(ctx.current_key())) + "," +
                std::to_string(count_.ValueOr(-1)));
  }

 private:
  ValueState<int64_t> count_;
};

TEST_P(EventTimeTest, KeysWithACodecOfTheirOwnKeepStateAndFireTimers) {
  TempDir dir;
  StreamExecutionEnvironment env(ConfigFor(dir, GetParam()));
  env.SetParallelism(2);
  env.FromSequence(0, 299)
      .AssignTimestampsAndWatermarks(WatermarkStrategy<int64_t>::ForMonotonousTimestamps()
                                         .WithTimestampAssigner([](const int64_t& i, int64_t) {
                                           return i;
                                         }))
      .KeyBy([](const int64_t& i) { return static_cast<Lane>(i % 3); })
      .Process(CountPerLane())
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("keys with a codec of their own");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(OutputLines(dir.Join("out")), (std::vector<std::string>{"0,100", "1,100", "2,100"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, EventTimeTest, ::testing::ValuesIn(kBackends),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(EventTimeErrorsTest, RecordsWithoutTimestampsAndNoAssignerEndTheJobWithAClearError) {
  TempDir dir;
  Configuration c;
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.attempts", "100");
  c.Set("restart-strategy.fixed-delay.delay", "1 ms");
  StreamExecutionEnvironment env(c);
  env.FromSequence(0, 9)
      .AssignTimestampsAndWatermarks(WatermarkStrategy<int64_t>::ForMonotonousTimestamps())
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("no-timestamps");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("records arrive without timestamps"));
  EXPECT_THAT(r.error(), HasSubstr("Timestamps/Watermarks"));
  EXPECT_EQ(r.metrics.restarts, 0) << "no restart can fix the job's code";
}

TEST(EventTimeErrorsTest, ABadWatermarkIntervalIsRefusedBeforeTheJobStarts) {
  TempDir dir;
  Configuration c;
  c.Set("pipeline.auto-watermark-interval", "soon");
  StreamExecutionEnvironment env(c);
  env.FromSequence(0, 9).WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("bad-interval");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("pipeline.auto-watermark-interval"));
}

class Pass final : public KeyedProcessFunction<int32_t, Event, Event> {
 public:
  void ProcessElement(const Event& e, Context&, Collector<Event>& out) override { out.Collect(e); }
};

class EmitWhenFired final : public KeyedProcessFunction<int32_t, Event, std::string> {
 public:
  void ProcessElement(const Event& e, Context& ctx, Collector<std::string>&) override {
    ctx.timer_service().RegisterEventTimeTimer(e.time);
  }
  void OnTimer(int64_t t, Context& ctx, Collector<std::string>& out) override {
    // Before the end of input (the maximum watermark) only if the idle subtask was left out.
    if (ctx.current_watermark() != kMaxWatermark) out.Collect("early " + std::to_string(t));
  }
};

// Stamps `events` by their time at parallelism 2, with an idleness of 20 ms; registers an
// event-time timer per record downstream; runs the job. Returns the timers that fired before
// the end of input: none if an idle subtask held event time back.
size_t TimersFiredBeforeTheEnd(StreamExecutionEnvironment& env, DataStream<Event> events,
                               const TempDir& dir) {
  events
      .AssignTimestampsAndWatermarks(
          WatermarkStrategy<Event>::ForMonotonousTimestamps()
              .WithTimestampAssigner([](const Event& e) { return e.time; })
              .WithIdleness(std::chrono::milliseconds(20)))
      .SetParallelism(2)
      .KeyBy([](const Event& e) { return e.key; })
      .Process(EmitWhenFired())
      .SetParallelism(1)
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("idleness");
  EXPECT_TRUE(r.ok()) << r.error();
  return OutputLines(dir.Join("out")).size();
}

// An idle subtask (here: one whose keys have no records) must not hold back event time downstream.
TEST(EventTimeIdlenessTest, AnIdleSubtaskDoesNotHoldBackTheWatermark) {
  TempDir dir;
  Configuration c;
  c.Set("pipeline.auto-watermark-interval", "5 ms");
  StreamExecutionEnvironment env(c);
  // Records in time order, fed slowly, all of one key: of the two timestamp assigners after
  // the keyed pass-through, only one ever sees records.
  auto events = env.FromSequence(0, 199)
                    .Map([](int64_t i) {
                      std::this_thread::sleep_for(std::chrono::milliseconds(2));
                      return Event{0, i * 10};
                    })
                    .KeyBy([](const Event& e) { return e.key; })
                    .Process(Pass())
                    .SetParallelism(2);
  EXPECT_GT(TimersFiredBeforeTheEnd(env, events, dir), 10u)
      << "timers fired as the active subtask's watermark advanced";
}

// The end of the input ends event time even where an assigner went idle before it: its
// maximum watermark goes out as an active one (a watermark on an idle channel is ignored
// downstream), and the window still open fires. Before, it was silently never fired.
TEST(EventTimeIdlenessTest, TheEndOfInputFiresWindowsAfterTheAssignerWentIdle) {
  TempDir dir;
  Configuration c;
  c.Set("pipeline.auto-watermark-interval", "5 ms");
  c.Set("pipeline.exchange.batch-size", "1");
  StreamExecutionEnvironment env(c);
  env.SetParallelism(1);
  env.FromSequence(0, 99)
      .Map([](int64_t i) {
        // A quiet tail: nothing reaches the assigner for 200 ms, ten times its idleness.
        if (i == 99) std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return Event{0, i * 10};
      })
      .Filter([](const Event& e) { return e.time < 500; })
      .Rebalance()
      .AssignTimestampsAndWatermarks(
          WatermarkStrategy<Event>::ForMonotonousTimestamps()
              .WithTimestampAssigner([](const Event& e) { return e.time; })
              .WithIdleness(std::chrono::milliseconds(20)))
      .KeyBy([](const Event& e) { return e.key; })
      .Process(WindowCount())
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("idle-at-the-end");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(OutputLines(dir.Join("out")), std::vector<std::string>{"0,999,50"});
}

// An assigner chained to a source whose reader has nothing goes idle too: a source task reads
// its input by polling its source, and the assigner counts those reads for its idleness.
class OneOfTwoReaders final : public SourceReader<Event, int32_t> {
 public:
  OneOfTwoReaders(bool emits, std::shared_ptr<std::atomic<bool>> done)
      : emits_(emits), done_(std::move(done)) {}
  InputStatus PollNext(ReaderOutput<Event>& out) override {
    if (!emits_) {
      // Nothing until the other reader is done, then the end; polled again on every wakeup.
      return done_->load() ? InputStatus::kEndOfInput : InputStatus::kNothingAvailable;
    }
    if (next_ == 200) {
      done_->store(true);
      return InputStatus::kEndOfInput;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    out.Collect(Event{0, next_ * 10}, next_ * 10);
    ++next_;
    return InputStatus::kMoreAvailable;
  }
  void AddSplits(std::vector<int32_t>) override {}
  void NotifyNoMoreSplits() override {}
  std::vector<int32_t> SnapshotState(int64_t) override { return {}; }

 private:
  const bool emits_;
  std::shared_ptr<std::atomic<bool>> done_;
  int64_t next_ = 0;
};

TEST(EventTimeIdlenessTest, AnAssignerChainedToAQuietSourceGoesIdle) {
  TempDir dir;
  Configuration c;
  c.Set("pipeline.auto-watermark-interval", "5 ms");
  StreamExecutionEnvironment env(c);
  auto done = std::make_shared<std::atomic<bool>>(false);
  auto made = std::make_shared<std::atomic<int>>(0);
  testing::ReaderOnlySource<Event> source([done, made] {
    return std::make_unique<OneOfTwoReaders>(made->fetch_add(1) == 0, done);
  });
  auto events =
      env.FromSource(source, WatermarkStrategy<Event>::NoWatermarks(), "two readers")
          .SetParallelism(2);
  EXPECT_GT(TimersFiredBeforeTheEnd(env, events, dir), 10u)
      << "the quiet reader's assigner held event time back until the end";
}

}  // namespace
}  // namespace weir
