// The Kafka source against a real broker (scripts/kafka.sh), jobs in-process: a bounded topic
// of several partitions read exactly once through task failures and restores (each record
// counted once, checked through the exactly-once Kafka sink), a restore from a savepoint at
// another parallelism, deterministic partition owners, and the errors a user meets (a topic
// that does not exist, a broker that is down: a clear error, not a hang). Crashes of real
// processes reading their input from Kafka: kafka_crash_test.cc.
#include "weir/connectors/kafka_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <charconv>
#include <memory>
#include <thread>

#include "kafka_test_util.h"
#include "testing/test_util.h"
#include "weir/connectors/kafka.h"
#include "weir/weir.h"

namespace weir {
namespace {

using testing::KafkaBroker;
using testing::ReadTopicAtLeast;
using testing::TempDir;
using testing::UniqueName;
using testing::ValuesByPartition;

constexpr int kPartitions = 4;

// Counts the records of each key: the value written for record i is "i <count>", so a record
// the source lost or read twice changes what follows it.
class CountPerKey final
    : public KeyedProcessFunction<int32_t, int64_t, std::pair<int64_t, int64_t>> {
 public:
  void Open(RuntimeContext& ctx) override {
    count_ = ctx.GetState(ValueStateDescriptor<int64_t>("count"));
  }
  void ProcessElement(const int64_t& i, Context&,
                      Collector<std::pair<int64_t, int64_t>>& out) override {
    int64_t c = count_.ValueOr(0) + 1;
    count_.Update(c);
    out.Collect({i, c});
  }

 private:
  ValueState<int64_t> count_;
};

int64_t ParseInt(std::string_view v) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) throw std::runtime_error("not a number");
  return n;
}

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
                  .SetRecordSerializer([topic = t.output](const std::pair<int64_t, int64_t>& r) {
                    KafkaRecord k;
                    k.topic = topic;
                    k.partition = static_cast<int32_t>(r.first % kPartitions);
                    k.value = std::to_string(r.first) + " " + std::to_string(r.second);
                    return k;
                  })
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
