// The Kafka source against a real broker (scripts/kafka.sh), jobs in-process: a bounded topic
// of several partitions read exactly once through task failures and restores (each record
// counted once, checked through the exactly-once Kafka sink), a restore from a savepoint at
// another parallelism, deterministic partition owners, and the errors a user meets (a topic
// that does not exist, a broker that is down: a clear error, not a hang). Crashes of real
// processes reading their input from Kafka: kafka_crash_test.cc.
#include "weir/connectors/kafka_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>
#include <mutex>
#include <thread>

#include "kafka_test_job.h"
#include "kafka_test_util.h"
#include "testing/test_util.h"
#include "weir/connectors/kafka.h"
#include "weir/weir.h"

namespace weir {
namespace {

using testing::KafkaBroker;
using testing::TestRecord;
using testing::ReadTopicAtLeast;
using testing::TempDir;
using testing::UniqueName;
using testing::CountPerKey;
using testing::CountRecordSerializer;
using testing::ParseInt;
using testing::ValuesByPartition;

constexpr int kPartitions = 4;



struct Topics {
  std::string input;
  std::string output;
  std::string prefix;
};

// Input: record i ("i") in partition i % kPartitions, so each partition is read in order and
// the records of a key (i % kPartitions) come from one partition.
Topics MakeTopics(const std::string& bootstrap, const std::string& name, int64_t records) {
  Topics t{UniqueName(name + "-in"), UniqueName(name + "-out"), UniqueName(name)};
  EXPECT_EQ(testing::CreateTopic(bootstrap, t.input, kPartitions), "");
  EXPECT_EQ(testing::CreateTopic(bootstrap, t.output, kPartitions), "");
  std::vector<std::string> values;
  for (int64_t i = 0; i < records; ++i) values.push_back(std::to_string(i));
  EXPECT_EQ(testing::ProduceValues(bootstrap, t.input, values,
                                   [](size_t i) { return static_cast<int32_t>(i % kPartitions); }),
            "");
  return t;
}

void BuildJob(StreamExecutionEnvironment& env, const std::string& bootstrap, const Topics& t,
              int source_parallelism, std::function<void(int64_t)> on_record) {
  auto source = KafkaSource<int64_t>::Builder()
                    .SetBootstrapServers(bootstrap)
                    .SetTopics({t.input})
                    .SetGroupId(t.prefix)
                    .SetBounded()
                    .SetValueOnlyDeserializer(&ParseInt)
                    .Build();
  auto sink = KafkaSink<std::pair<int64_t, int64_t>>::Builder()
                  .SetBootstrapServers(bootstrap)
                  .SetDeliveryGuarantee(DeliveryGuarantee::kExactlyOnce)
                  .SetTransactionalIdPrefix(t.prefix)
                  .SetRecordSerializer(CountRecordSerializer(t.output, kPartitions))
                  .Build();
  env.FromSource(source, WatermarkStrategy<int64_t>::NoWatermarks(), "kafka-in")
      .SetParallelism(source_parallelism)
      .Uid("kafka-in")
      .Map([on_record](int64_t i) {
        on_record(i);
        return i;
      })
      .SetParallelism(source_parallelism)
      .Uid("map")
      .KeyBy([](int64_t i) { return static_cast<int32_t>(i % kPartitions); })
      .Process(CountPerKey())
      .SetParallelism(2)
      .Uid("count")
      .SinkTo(sink)
      .SetParallelism(2)
      .Uid("kafka-out");
}

std::map<int32_t, std::vector<std::string>> Expected(int64_t records) {
  std::map<int32_t, std::vector<std::string>> out;
  for (int64_t i = 0; i < records; ++i) {
    out[static_cast<int32_t>(i % kPartitions)].push_back(std::to_string(i) + " " +
                                                         std::to_string(i / kPartitions + 1));
  }
  return out;
}

Configuration CheckpointedConfig(const TempDir& dir) {
  Configuration c;
  c.Set("execution.checkpointing.interval", "100 ms");
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.attempts", "20");
  c.Set("restart-strategy.fixed-delay.delay", "50 ms");
  return c;
}

bool WaitFor(JobClient& client, const std::function<bool(const JobMetrics&)>& pred) {
  for (;;) {
    JobMetrics m = client.metrics();
    if (pred(m)) return true;
    if (m.status == JobStatus::kFinished || m.status == JobStatus::kFailed ||
        m.status == JobStatus::kCanceled) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

class KafkaSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = KafkaBroker::Shared().bootstrap();
    ASSERT_FALSE(::testing::Test::HasFailure());
  }
  std::string bootstrap_;
};

// After a checkpoint completed, fails the task at three records (once each); slow enough
// that the job spans many checkpoints.
struct FailureInjector {
  std::atomic<bool> checkpointed{false};
  std::atomic<int> failures_left{3};
  void OnRecord(int64_t i) {
    if (i % 5 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (checkpointed.load() && i % 2000 == 1001 && failures_left.fetch_sub(1) > 0) {
      throw std::runtime_error("injected failure at record " + std::to_string(i));
    }
  }
};

TEST_F(KafkaSourceTest, BoundedTopicReadExactlyOnceThroughTaskFailures) {
  constexpr int64_t kRecords = 12'000;
  TempDir dir;
  Topics t = MakeTopics(bootstrap_, "source-eo", kRecords);
  auto failures = std::make_shared<FailureInjector>();
  StreamExecutionEnvironment env(CheckpointedConfig(dir));
  BuildJob(env, bootstrap_, t, 2, [failures](int64_t i) { failures->OnRecord(i); });
  auto client = env.ExecuteAsync("kafka source exactly-once");
  ASSERT_TRUE(WaitFor(*client, [](const JobMetrics& m) { return m.checkpoints.completed >= 1; }));
  failures->checkpointed = true;
  JobResult r = client->Wait();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GE(r.metrics.restarts, 1);
  EXPECT_EQ(ValuesByPartition(ReadTopicAtLeast(bootstrap_, t.output, kRecords)),
            Expected(kRecords));
}

// A savepoint taken with the source at parallelism 2 restores at 3 (and the partitions'
// positions are dealt out again): every record still counted once.
TEST_F(KafkaSourceTest, RestoreAtAnotherParallelism) {
  constexpr int64_t kRecords = 8'000;
  TempDir dir;
  Topics t = MakeTopics(bootstrap_, "source-rescale", kRecords);
  auto slow = [](int64_t i) {
    if (i % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  std::string savepoint;
  {
    StreamExecutionEnvironment env(CheckpointedConfig(dir));
    BuildJob(env, bootstrap_, t, 2, slow);
    auto client = env.ExecuteAsync("kafka source at 2");
    ASSERT_TRUE(WaitFor(*client, [](const JobMetrics& m) { return m.checkpoints.completed >= 2; }));
    auto sp = client->StopWithSavepoint(dir.Join("savepoints"));
    ASSERT_TRUE(sp.ok()) << sp.status().ToString();
    savepoint = *sp;
    JobResult r = client->Wait();
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_LT(r.metrics.operators.front().records, static_cast<uint64_t>(kRecords))
        << "the job finished before its savepoint: nothing left to restore";
  }
  Configuration c = CheckpointedConfig(dir);
  c.Set("execution.state-recovery.path", savepoint);
  StreamExecutionEnvironment env(c);
  BuildJob(env, bootstrap_, t, 3, [](int64_t) {});
  JobResult r = env.Execute("kafka source at 3");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(ValuesByPartition(ReadTopicAtLeast(bootstrap_, t.output, kRecords)),
            Expected(kRecords));
}

TEST_F(KafkaSourceTest, PartitionOwnersAreDeterministicAndSpread) {
  std::vector<int> per_subtask(3, 0);
  for (int32_t p = 0; p < 6; ++p) {
    int owner = kafka::SplitOwner("numbers", p, 3);
    EXPECT_EQ(owner, kafka::SplitOwner("numbers", p, 3));
    ++per_subtask[static_cast<size_t>(owner)];
  }
  EXPECT_EQ(per_subtask, (std::vector<int>{2, 2, 2}));
}

// Compares each record (its Kafka timestamp, from the deserializer) with the event timestamp the
// engine gave it.
std::atomic<int64_t> g_matching{0};
std::atomic<int64_t> g_mismatching{0};
class CheckTimestamp final : public ProcessFunction<int64_t, int64_t> {
 public:
  void ProcessElement(const int64_t& kafka_ts, Context& ctx, Collector<int64_t>&) override {
    (ctx.timestamp() == kafka_ts && kafka_ts > 0 ? g_matching : g_mismatching).fetch_add(1);
  }
};

TEST_F(KafkaSourceTest, RecordsCarryTheirKafkaTimestamps) {
  constexpr int64_t kRecords = 1'000;
  Topics t = MakeTopics(bootstrap_, "source-ts", kRecords);
  auto source = KafkaSource<int64_t>::Builder()
                    .SetBootstrapServers(bootstrap_)
                    .SetTopics({t.input})
                    .SetBounded()
                    .SetDeserializer([](const KafkaConsumerRecord& r) { return r.timestamp_ms; })
                    .Build();
  StreamExecutionEnvironment env;
  env.FromSource(source, WatermarkStrategy<int64_t>::ForMonotonousTimestamps(), "in")
      .SetParallelism(2)
      .Process(CheckTimestamp())
      .SetParallelism(2)
      .Print();
  JobResult r = env.Execute("kafka timestamps");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(g_matching.load(), kRecords);
  EXPECT_EQ(g_mismatching.load(), 0);
}

std::atomic<int64_t> g_seen{0};
std::atomic<int64_t> g_committed_run{0};

// Completed checkpoints commit the source's offsets to its group; a new job (no checkpoint)
// with Committed() starting offsets goes on from there.
TEST_F(KafkaSourceTest, CheckpointsCommitOffsetsThatCommittedStartingOffsetsResumeFrom) {
  TempDir dir;
  std::string topic = UniqueName("source-group");
  std::string group = UniqueName("group");
  ASSERT_EQ(testing::CreateTopic(bootstrap_, topic, 1), "");
  ASSERT_EQ(testing::ProduceValues(bootstrap_, topic, {"1", "2", "3"}), "");
  auto build = [&](StreamExecutionEnvironment& env) {
    auto source = KafkaSource<int64_t>::Builder()
                      .SetBootstrapServers(bootstrap_)
                      .SetTopics({topic})
                      .SetGroupId(group)
                      .SetStartingOffsets(KafkaOffsetsInitializer::Committed())
                      .SetValueOnlyDeserializer(&ParseInt)
                      .Build();
    env.FromSource(source, WatermarkStrategy<int64_t>::NoWatermarks(), "in")
        .Map([](int64_t v) {
          g_committed_run.fetch_add(v);
          return v;
        })
        .Print();
  };
  auto wait_until = [](const std::function<bool()>& pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  };
  {
    StreamExecutionEnvironment env(CheckpointedConfig(dir));
    build(env);
    auto client = env.ExecuteAsync("kafka group 1");
    EXPECT_TRUE(wait_until([] { return g_committed_run.load() == 6; }));
    EXPECT_TRUE(wait_until([&] {
      auto offsets = testing::CommittedOffsets(bootstrap_, group, topic, 1);
      return offsets.count(0) == 1 && offsets.at(0) == 3;
    })) << "the group's committed offset did not reach 3";
    client->Cancel();
    client->Wait();
  }
  ASSERT_EQ(testing::ProduceValues(bootstrap_, topic, {"100"}), "");
  g_committed_run = 0;
  TempDir second_dir;  // a new job: no checkpoint to restore
  StreamExecutionEnvironment env(CheckpointedConfig(second_dir));
  build(env);
  auto client = env.ExecuteAsync("kafka group 2");
  EXPECT_TRUE(wait_until([] { return g_committed_run.load() >= 100; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(g_committed_run.load(), 100) << "records before the committed offset read again";
  client->Cancel();
  client->Wait();
}

// The group's committed offset is no longer there (here beyond the end, as after the topic
// was made anew; or before the earliest record, after retention): the partition is read from
// its earliest record, not from its end (which read nothing at all, bounded).
TEST_F(KafkaSourceTest, ACommittedOffsetNoLongerThereReadsFromTheEarliestRecord) {
  std::string topic = UniqueName("source-gone-offset");
  std::string group = UniqueName("group");
  ASSERT_EQ(testing::CreateTopic(bootstrap_, topic, 1), "");
  ASSERT_EQ(testing::ProduceValues(bootstrap_, topic, {"1", "2", "3"}), "");
  ASSERT_EQ(testing::CommitOffset(bootstrap_, group, topic, 1000), "");
  static std::atomic<int64_t> sum;
  sum = 0;
  StreamExecutionEnvironment env;
  auto source = KafkaSource<int64_t>::Builder()
                    .SetBootstrapServers(bootstrap_)
                    .SetTopics({topic})
                    .SetGroupId(group)
                    .SetStartingOffsets(KafkaOffsetsInitializer::Committed())
                    .SetBounded()
                    .SetValueOnlyDeserializer(&ParseInt)
                    .Build();
  env.FromSource(source, WatermarkStrategy<int64_t>::NoWatermarks(), "in")
      .AddSink([](int64_t v) { sum.fetch_add(v); });
  JobResult r = env.Execute("kafka offset no longer there");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(sum.load(), 6);
}

// A restored split whose offset is no longer there (retention deleted the records before
// where the savepoint read to) goes on from the earliest record still there: the job runs
// on, reading what the broker holds, as after the group's offset is gone.
TEST_F(KafkaSourceTest, ARestoredOffsetNoLongerThereGoesOnFromTheEarliestRecord) {
  TempDir dir;
  std::string topic = UniqueName("source-restore-gone");
  ASSERT_EQ(testing::CreateTopic(bootstrap_, topic, 1), "");
  ASSERT_EQ(testing::ProduceValues(bootstrap_, topic, {"1", "2", "3"}), "");
  static std::atomic<int64_t> sum;
  auto build = [&](StreamExecutionEnvironment& env) {
    env.FromSource(KafkaSource<int64_t>::Builder()
                       .SetBootstrapServers(bootstrap_)
                       .SetTopics({topic})
                       .SetValueOnlyDeserializer(&ParseInt)
                       .Build(),
                   WatermarkStrategy<int64_t>::NoWatermarks(), "in")
        .Uid("in")
        .AddSink([](int64_t v) { sum.fetch_add(v); })
        .Uid("sum");
  };
  std::string savepoint;
  {
    sum = 0;
    StreamExecutionEnvironment env(CheckpointedConfig(dir));
    build(env);
    auto client = env.ExecuteAsync("kafka before retention");
    ASSERT_TRUE(WaitFor(*client, [](const JobMetrics&) { return sum.load() == 6; }));
    auto sp = client->StopWithSavepoint(dir.Join("savepoints"));
    ASSERT_TRUE(sp.ok()) << sp.status().ToString();
    savepoint = *sp;
    ASSERT_TRUE(client->Wait().ok());
  }
  // Offsets 3, 4 and 5, and retention takes everything before 5: the savepoint's 3 is gone.
  ASSERT_EQ(testing::ProduceValues(bootstrap_, topic, {"10", "20", "30"}), "");
  ASSERT_EQ(testing::DeleteRecordsBefore(bootstrap_, topic, 5), "");
  sum = 0;
  Configuration c = CheckpointedConfig(dir);
  c.Set("execution.state-recovery.path", savepoint);
  StreamExecutionEnvironment env(c);
  build(env);
  auto client = env.ExecuteAsync("kafka after retention");
  EXPECT_TRUE(WaitFor(*client, [](const JobMetrics&) { return sum.load() >= 30; }))
      << client->Wait().error();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(sum.load(), 30);
  EXPECT_EQ(client->metrics().status, JobStatus::kRunning);
  client->Cancel();
  client->Wait();
}

// An unbounded source finds a partition added while it runs and reads it from its start.
TEST_F(KafkaSourceTest, DiscoversPartitionsAddedWhileRunning) {
  std::string topic = UniqueName("source-discovery");
  ASSERT_EQ(testing::CreateTopic(bootstrap_, topic, 1), "");
  ASSERT_EQ(testing::ProduceValues(bootstrap_, topic, {"1", "2", "3"}), "");
  auto source = KafkaSource<int64_t>::Builder()
                    .SetBootstrapServers(bootstrap_)
                    .SetTopics({topic})
                    .SetProperty("partition.discovery.interval.ms", "100")
                    .SetValueOnlyDeserializer(&ParseInt)
                    .Build();
  StreamExecutionEnvironment env;
  env.FromSource(source, WatermarkStrategy<int64_t>::NoWatermarks(), "in")
      .SetParallelism(2)
      .Map([](int64_t v) {
        g_seen.fetch_add(v);
        return v;
      })
      .SetParallelism(2)
      .Print();
  auto client = env.ExecuteAsync("kafka discovery");
  auto wait_for = [](int64_t sum) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (g_seen.load() < sum && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return g_seen.load();
  };
  EXPECT_EQ(wait_for(6), 6);
  ASSERT_EQ(testing::AddPartitions(bootstrap_, topic, 3), "");
  ASSERT_EQ(testing::ProduceValues(bootstrap_, topic, {"100", "1000"},
                                   [](size_t i) { return static_cast<int32_t>(1 + i); }),
            "");
  EXPECT_EQ(wait_for(1106), 1106);
  client->Cancel();
  client->Wait();
}

// What the jobs below emit, collected across subtasks.
std::mutex g_collected_mu;
std::vector<std::string> g_collected;

std::vector<std::string> Collected() {
  std::lock_guard<std::mutex> lock(g_collected_mu);
  std::vector<std::string> out = g_collected;
  std::sort(out.begin(), out.end());
  return out;
}

void AddToJob(StreamExecutionEnvironment& env, const KafkaSource<std::string>& source) {
  {
    std::lock_guard<std::mutex> lock(g_collected_mu);
    g_collected.clear();
  }
  env.FromSource(source, WatermarkStrategy<std::string>::NoWatermarks(), "in")
      .SetParallelism(2)
      .Map([](const std::string& v) {
        std::lock_guard<std::mutex> lock(g_collected_mu);
        g_collected.push_back(v);
        return v;
      })
      .SetParallelism(2)
      .Print();
}

// Runs a bounded source to its end: what it read, sorted, or the job's error.
std::vector<std::string> ReadBounded(KafkaSourceBuilder<std::string> builder,
                                     std::string* error = nullptr) {
  StreamExecutionEnvironment env;
  AddToJob(env, builder.SetBounded().Build());
  JobResult r = env.Execute("bounded kafka read");
  if (error != nullptr) *error = r.ok() ? "" : r.error();
  EXPECT_TRUE(r.ok() || error != nullptr) << r.error();
  return Collected();
}

// Waits up to 30 s for `pred` over what the job collected.
bool WaitForCollected(const std::function<bool(const std::vector<std::string>&)>& pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!pred(Collected())) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

KafkaSourceBuilder<std::string> StringSource(const std::string& bootstrap) {
  KafkaSourceBuilder<std::string> b;
  b.SetBootstrapServers(bootstrap).SetValueOnlyDeserializer(
      [](std::string_view v) { return std::string(v); });
  return b;
}

using Strings = std::vector<std::string>;

// A pattern subscription reads the matching topics there are at the start, and a matching
// topic created while the job runs (found by partition discovery, read from its start); a
// topic that does not match is never read.
TEST_F(KafkaSourceTest, TopicPatternReadsMatchingTopicsCreatedWhileRunning) {
  std::string base = UniqueName("pattern");
  ASSERT_EQ(testing::CreateTopic(bootstrap_, base + "-in-a", 1), "");
  ASSERT_EQ(testing::ProduceValues(bootstrap_, base + "-in-a", {"a1", "a2"}), "");
  ASSERT_EQ(testing::CreateTopic(bootstrap_, base + "-out", 1), "");
  ASSERT_EQ(testing::ProduceValues(bootstrap_, base + "-out", {"not-me"}), "");
  StreamExecutionEnvironment env;
  AddToJob(env, StringSource(bootstrap_)
                    .SetTopicPattern(base + "-in-.*")
                    .SetProperty("partition.discovery.interval.ms", "100")
                    .Build());
  auto client = env.ExecuteAsync("kafka topic pattern");
  EXPECT_TRUE(WaitForCollected([](const Strings& v) { return v.size() >= 2; }));
  EXPECT_EQ(Collected(), (Strings{"a1", "a2"}));
  // A new matching topic of two partitions, and a new one that does not match.
  ASSERT_EQ(testing::CreateTopic(bootstrap_, base + "-in-b", 2), "");
  ASSERT_EQ(testing::ProduceValues(bootstrap_, base + "-in-b", {"b1", "b2", "b3"},
                                   [](size_t i) { return static_cast<int32_t>(i % 2); }),
            "");
  ASSERT_EQ(testing::CreateTopic(bootstrap_, base + "-other", 1), "");
  ASSERT_EQ(testing::ProduceValues(bootstrap_, base + "-other", {"nor-me"}), "");
  EXPECT_TRUE(WaitForCollected([](const Strings& v) { return v.size() >= 5; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // several discoveries
  EXPECT_EQ(Collected(), (Strings{"a1", "a2", "b1", "b2", "b3"}));
  client->Cancel();
  client->Wait();
}

// A job started right after its topic was created (twelve partitions, whose leaders the
// broker is still electing) runs, and reads a record that arrives later.
TEST_F(KafkaSourceTest, AJobStartedAsItsTopicIsCreatedRunsAndReadsWhatArrives) {
  std::string topic = UniqueName("source-new-topic");
  ASSERT_EQ(testing::CreateTopicWithoutWaiting(bootstrap_, topic, 12), "");
  StreamExecutionEnvironment env;
  AddToJob(env, StringSource(bootstrap_).SetTopics({topic}).Build());
  auto client = env.ExecuteAsync("kafka new topic");
  // Running (its enumerator started), or ended with the error to show.
  EXPECT_TRUE(WaitFor(*client, [](const JobMetrics& m) { return m.status == JobStatus::kRunning; }))
      << client->Wait().error();
  ASSERT_EQ(testing::ProduceValues(bootstrap_, topic, {"late"}, [](size_t) { return 11; }), "");
  EXPECT_TRUE(WaitForCollected([](const Strings& v) { return !v.empty(); }));
  EXPECT_EQ(Collected(), (Strings{"late"}));
  client->Cancel();
  client->Wait();
}

TEST_F(KafkaSourceTest, TopicsAndPatternAreCheckedByTheBuilder) {
  auto message = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message([&] { StringSource(bootstrap_).Build(); }),
            "Kafka source: no topics (SetTopics or SetTopicPattern)");
  EXPECT_NE(message([&] {
              StringSource(bootstrap_).SetTopics({"a"}).SetTopicPattern("a.*").Build();
            }).find("both topics and a topic pattern are set"),
            std::string::npos);
  EXPECT_NE(message([&] { StringSource(bootstrap_).SetTopicPattern("in-(").Build(); })
                .find("the topic pattern 'in-(' is not a regular expression"),
            std::string::npos);
  EXPECT_NE(message([&] {
              StringSource(bootstrap_)
                  .SetTopics({"a"})
                  .SetStartingOffsets(KafkaOffsetsInitializer::Offsets({{{"a", 0}, -5}}))
                  .Build();
            }).find("the starting offset -5 of partition 'a'-0 is not valid"),
            std::string::npos);
  EXPECT_NE(message([&] {
              StringSource(bootstrap_)
                  .SetTopics({"a"})
                  .SetStartingOffsets(KafkaOffsetsInitializer::Timestamp(-1))
                  .Build();
            }).find("the starting timestamp -1 is negative"),
            std::string::npos);
}

// Timestamp(t): each partition from its first record with a timestamp >= t; a partition with
// none that late starts at its end.
TEST_F(KafkaSourceTest, TimestampStartingOffsets) {
  std::string topic = UniqueName("source-time");
  ASSERT_EQ(testing::CreateTopic(bootstrap_, topic, 3), "");
  const int64_t t0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() -
                     3'600'000;
  std::vector<TestRecord> records = {
      {0, "p0-early", t0, {}},        {0, "p0-at", t0 + 2000, {}},   {0, "p0-late", t0 + 3000, {}},
      {1, "p1-early", t0, {}},        {1, "p1-early2", t0 + 1500, {}},
      {2, "p2-late", t0 + 5000, {}},  {2, "p2-earlier", t0 + 1000, {}},  // out of time order
      {2, "p2-latest", t0 + 6000, {}}};
  ASSERT_EQ(testing::ProduceRecords(bootstrap_, topic, records), "");
  auto read = [&](int64_t ts) {
    return ReadBounded(StringSource(bootstrap_).SetTopics({topic}).SetStartingOffsets(
        KafkaOffsetsInitializer::Timestamp(ts)));
  };
  // Partition 2 from its first record at or after the time, and everything after it.
  EXPECT_EQ(read(t0 + 2000), (Strings{"p0-at", "p0-late", "p2-earlier", "p2-late", "p2-latest"}));
  EXPECT_EQ(read(t0 + 5500), (Strings{"p2-latest"}));
  EXPECT_EQ(read(t0 + 60'000), Strings{});
  EXPECT_EQ(read(0).size(), records.size());
}

// Offsets(map, fallback): the partitions in the map from their offset, the others from the
// fallback (earliest by default); an offset outside a partition, or a partition the source
// does not read, fails the start naming it.
TEST_F(KafkaSourceTest, ExplicitStartingOffsets) {
  std::string topic = UniqueName("source-offsets");
  ASSERT_EQ(testing::CreateTopic(bootstrap_, topic, 3), "");
  ASSERT_EQ(testing::ProduceValues(bootstrap_, topic,
                                   {"a0", "a1", "a2", "b0", "b1", "b2", "c0", "c1", "c2"},
                                   [](size_t i) { return static_cast<int32_t>(i / 3); }),
            "");
  auto read = [&](KafkaOffsetsInitializer start, std::string* error = nullptr) {
    return ReadBounded(StringSource(bootstrap_).SetTopics({topic}).SetStartingOffsets(start),
                       error);
  };
  using Offsets = std::map<KafkaTopicPartition, int64_t>;
  EXPECT_EQ(read(KafkaOffsetsInitializer::Offsets(Offsets{{{topic, 0}, 2}, {{topic, 1}, 0}},
                                                  KafkaOffsetsInitializer::Latest())),
            (Strings{"a2", "b0", "b1", "b2"}));
  EXPECT_EQ(read(KafkaOffsetsInitializer::Offsets(Offsets{{{topic, 0}, 1}, {{topic, 2}, 3}})),
            (Strings{"a1", "a2", "b0", "b1", "b2"}));
  std::string error;
  read(KafkaOffsetsInitializer::Offsets(Offsets{{{topic, 1}, 4}}), &error);
  EXPECT_NE(error.find("the starting offset 4 given for partition " + topic +
                       "-1 is outside its offsets 0..3"),
            std::string::npos)
      << error;
  read(KafkaOffsetsInitializer::Offsets(Offsets{{{topic, 7}, 0}}), &error);
  EXPECT_NE(error.find("a starting offset (0) is given for partition " + topic +
                       "-7, which is not one of the source's partitions"),
            std::string::npos)
      << error;
}

// The whole-record deserializer sees each record's headers in order, duplicates kept.
TEST_F(KafkaSourceTest, TheDeserializerSeesHeaders) {
  std::string topic = UniqueName("source-headers");
  ASSERT_EQ(testing::CreateTopic(bootstrap_, topic, 1), "");
  ASSERT_EQ(testing::ProduceRecords(bootstrap_, topic,
                                    {{0, "one", std::nullopt, {{"b", "1"}, {"a", ""}, {"b", "2"}}},
                                     {0, "two", std::nullopt, {}},
                                     {0,
                                      "three",
                                      std::nullopt,
                                      {{"bin", std::string("\0\xff", 2)}}}}),
            "");
  auto source = KafkaSourceBuilder<std::string>()
                    .SetBootstrapServers(bootstrap_)
                    .SetTopics({topic})
                    .SetDeserializer([](const KafkaConsumerRecord& r) {
                      std::string out(r.value.value_or("<null>"));
                      for (const auto& [name, value] : r.headers) {
                        out += " " + std::string(name) + "=" + std::to_string(value.size()) + ":" +
                               std::string(value);
                      }
                      return out;
                    });
  EXPECT_EQ(ReadBounded(source),
            (Strings{"one b=1:1 a=0: b=1:2", std::string("three bin=2:\0\xff", 14), "two"}));
}

std::string ErrorOfJob(const std::string& bootstrap, const std::string& topic,
                       std::chrono::milliseconds* took) {
  auto source = KafkaSource<int64_t>::Builder()
                    .SetBootstrapServers(bootstrap)
                    .SetTopics({topic})
                    .SetBounded()
                    .SetValueOnlyDeserializer(&ParseInt)
                    .Build();
  StreamExecutionEnvironment env;
  env.FromSource(source, WatermarkStrategy<int64_t>::NoWatermarks(), "in").Print();
  auto start = std::chrono::steady_clock::now();
  JobResult r = env.Execute("short kafka source job");
  *took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                start);
  return r.ok() ? "" : r.error();
}

TEST_F(KafkaSourceTest, AMissingTopicFailsTheStart) {
  std::chrono::milliseconds took;
  std::string topic = UniqueName("no-such-topic");
  std::string e = ErrorOfJob(bootstrap_, topic, &took);
  EXPECT_NE(e.find("Kafka source: topic '" + topic + "' does not exist"), std::string::npos) << e;
  EXPECT_LT(took.count(), 20'000);
}

TEST_F(KafkaSourceTest, ABrokerThatIsDownFailsTheStartNamingTheAddress) {
  std::chrono::milliseconds took;
  std::string e = ErrorOfJob("127.0.0.1:1", "numbers", &took);
  EXPECT_NE(e.find("Kafka source: cannot reach the brokers at 127.0.0.1:1"), std::string::npos)
      << e;
  EXPECT_LT(took.count(), 30'000);
}

}  // namespace
}  // namespace weir
