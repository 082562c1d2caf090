// The Kafka sink against a real broker (scripts/kafka.sh), jobs in-process: exactly-once
// through task failures and failures injected at the sink's fault points (a commit that fails
// after its checkpoint completed is finished by the restore, as the producer that wrote it),
// at-least-once losing nothing, NONE delivering a bounded job in order, and the errors a user
// meets (settings that cannot work, a broker that is down, a bad topic name, a record over the
// size limit, a transaction timeout above the broker's maximum). Crashes of real processes:
// kafka_crash_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "base/fault_points.h"
#include "kafka_test_job.h"
#include "kafka_test_util.h"
#include "testing/test_util.h"
#include "weir/connectors/kafka.h"
#include "weir/weir.h"

namespace weir {
namespace {

using testing::ConsumedRecord;
using testing::KafkaBroker;
using testing::ReadTopic;
using testing::ReadTopicAtLeast;
using testing::TempDir;
using testing::UniqueName;
using testing::CountPerKey;
using testing::ValuesByPartition;


struct JobOptions {
  int64_t records = 20'000;
  int partitions = 3;
  int parallelism = 2;
  DeliveryGuarantee guarantee = DeliveryGuarantee::kExactlyOnce;
  std::string topic;
  std::string bootstrap;
  std::string prefix;
  std::map<std::string, std::string> properties;
  // Called for every record before it is keyed (throws to fail the task).
  std::function<void(int64_t)> on_record = [](int64_t) {};
};

// Record i goes, keyed by i % partitions, to partition i % partitions: each partition has one
// writer, so its records keep their order.
void BuildJob(StreamExecutionEnvironment& env, const JobOptions& o) {
  const int partitions = o.partitions;
  auto sink =
      KafkaSink<std::pair<int64_t, int64_t>>::Builder()
          .SetBootstrapServers(o.bootstrap)
          .SetDeliveryGuarantee(o.guarantee)
          .SetTransactionalIdPrefix(o.prefix)
          .SetProperties(o.properties)
          .SetRecordSerializer([topic = o.topic, partitions](const std::pair<int64_t, int64_t>& r) {
            KafkaRecord k;
            k.topic = topic;
            k.partition = static_cast<int32_t>(r.first % partitions);
            k.key = std::to_string(r.first % partitions);
            k.value = std::to_string(r.first) + " " + std::to_string(r.second);
            return k;
          })
          .Build();
  auto on_record = o.on_record;
  env.FromSequence(0, o.records - 1)
      .SetParallelism(1)
      .Map([on_record](int64_t i) {
        on_record(i);
        return i;
      })
      .SetParallelism(1)
      .KeyBy([partitions](int64_t i) { return static_cast<int32_t>(i % partitions); })
      .Process(CountPerKey())
      .SetParallelism(o.parallelism)
      .Uid("count")
      .SinkTo(sink)
      .SetParallelism(o.parallelism)
      .Name("kafka")
      .Uid("kafka");
}

// What partition p must hold: "i count" for i = p, p + P, ... in order, each once.
std::map<int32_t, std::vector<std::string>> Expected(int64_t records, int partitions) {
  std::map<int32_t, std::vector<std::string>> out;
  for (int64_t i = 0; i < records; ++i) {
    out[static_cast<int32_t>(i % partitions)].push_back(std::to_string(i) + " " +
                                                        std::to_string(i / partitions + 1));
  }
  return out;
}

// Waits, polling the client, until `pred(metrics)` holds; false if the job ended first.
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

Configuration CheckpointedConfig(const TempDir& dir, const std::string& interval = "100 ms") {
  Configuration c;
  c.Set("execution.checkpointing.interval", interval);
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.attempts", "20");
  c.Set("restart-strategy.fixed-delay.delay", "50 ms");
  return c;
}

JobOptions Job(const std::string& name, DeliveryGuarantee guarantee) {
  JobOptions o;
  o.bootstrap = KafkaBroker::Shared().bootstrap();
  o.topic = UniqueName(name);
  o.prefix = UniqueName(name);
  o.guarantee = guarantee;
  return o;
}

class KafkaSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = KafkaBroker::Shared().bootstrap();
    ASSERT_FALSE(::testing::Test::HasFailure());
  }
  void TearDown() override { FaultPoints::DisarmAll(); }
  std::string bootstrap_;
};

// Slows the job so that it spans many checkpoints (about 4 s a pass); after a checkpoint
// completed, fails the task at three of the records 1000, 3000, 5000, ... (once each).
struct FailureInjector {
  std::atomic<bool> checkpointed{false};
  std::atomic<int> failures_left{3};
  void OnRecord(int64_t i) {
    if (i % 5 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (checkpointed.load() && i % 2000 == 1000 && failures_left.fetch_sub(1) > 0) {
      throw std::runtime_error("injected failure at record " + std::to_string(i));
    }
  }
};

TEST_F(KafkaSinkTest, ExactlyOnceThroughTaskFailuresAndFailedCommits) {
  TempDir dir;
  JobOptions o = Job("exactly-once", DeliveryGuarantee::kExactlyOnce);
  ASSERT_EQ(testing::CreateTopic(bootstrap_, o.topic, o.partitions), "");
  auto failures = std::make_shared<FailureInjector>();
  o.on_record = [failures](int64_t i) { failures->OnRecord(i); };
  // The hard case in-process: a commit fails after its checkpoint completed (the task fails
  // before anything reached the broker); the restore finishes the transaction with EndTxn as
  // its producer. And a barrier that fails right after sealing a transaction: that
  // transaction belongs to no checkpoint and is aborted once the restored job runs.
  FaultPoints::Arm(
      fault_points::kKafkaSinkBeforeCommit,
      [] { return Status::IOError("injected: the commit failed"); }, 3, 1);
  FaultPoints::Arm(
      fault_points::kKafkaSinkAfterPrepare,
      [] { return Status::IOError("injected: the barrier failed"); }, 10, 1);
  FaultPoints::Arm(fault_points::kKafkaSinkRecoveryCommit, [] { return Status::OK(); });
  FaultPoints::Arm(fault_points::kKafkaSinkBeforeAbort, [] { return Status::OK(); });
  StreamExecutionEnvironment env(CheckpointedConfig(dir));
  BuildJob(env, o);
  auto client = env.ExecuteAsync("kafka exactly-once");
  ASSERT_TRUE(WaitFor(*client, [](const JobMetrics& m) { return m.checkpoints.completed >= 1; }));
  failures->checkpointed = true;
  JobResult r = client->Wait();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GE(r.metrics.restarts, 4);
  EXPECT_GE(FaultPoints::HitCount(fault_points::kKafkaSinkRecoveryCommit), 1);
  EXPECT_GE(FaultPoints::HitCount(fault_points::kKafkaSinkBeforeAbort), 1);
  // Everything is visible at once: no transaction was left open to hold read_committed back.
  auto records = ReadTopicAtLeast(bootstrap_, o.topic, o.records);
  EXPECT_EQ(ValuesByPartition(records), Expected(o.records, o.partitions));
  // The log holds more than that: the aborted transactions' records.
  EXPECT_GT(ReadTopic(bootstrap_, o.topic, /*read_committed=*/false).size(),
            static_cast<size_t>(o.records));
}

// A transaction the broker aborted before its checkpoint completed (open longer than
// transaction.timeout.ms: here the acknowledgement of a checkpoint's records is held 6 s,
// with a timeout of 3 s) fails that checkpoint. The job resumes from the one before and
// writes those records again: each is in the topic once, none is lost.
TEST_F(KafkaSinkTest, ATransactionTheBrokerAbortedFailsItsCheckpointNotItsRecords) {
  TempDir dir;
  JobOptions o = Job("timed-out", DeliveryGuarantee::kExactlyOnce);
  o.records = 6'000;
  o.properties = {{"transaction.timeout.ms", "3000"}};
  ASSERT_EQ(testing::CreateTopic(bootstrap_, o.topic, o.partitions), "");
  o.on_record = [](int64_t i) {  // about 2 s a pass: several checkpoints
    if (i % 3 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  FaultPoints::Arm(
      fault_points::kKafkaSinkAfterPersistFlush,
      [] {
        std::this_thread::sleep_for(std::chrono::seconds(6));
        return Status::OK();
      },
      2, 1);
  StreamExecutionEnvironment env(CheckpointedConfig(dir, "500 ms"));
  BuildJob(env, o);
  JobResult r = env.Execute("kafka timed-out transaction");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GE(FaultPoints::HitCount(fault_points::kKafkaSinkAfterPersistFlush), 3);
  EXPECT_GE(r.metrics.restarts, 1);
  auto records = ReadTopicAtLeast(bootstrap_, o.topic, o.records);
  EXPECT_EQ(ValuesByPartition(records), Expected(o.records, o.partitions));
}

TEST_F(KafkaSinkTest, AtLeastOnceLosesNothingAcrossFailures) {
  TempDir dir;
  JobOptions o = Job("at-least-once", DeliveryGuarantee::kAtLeastOnce);
  ASSERT_EQ(testing::CreateTopic(bootstrap_, o.topic, o.partitions), "");
  auto failures = std::make_shared<FailureInjector>();
  o.on_record = [failures](int64_t i) { failures->OnRecord(i); };
  StreamExecutionEnvironment env(CheckpointedConfig(dir));
  BuildJob(env, o);
  auto client = env.ExecuteAsync("kafka at-least-once");
  ASSERT_TRUE(WaitFor(*client, [](const JobMetrics& m) { return m.checkpoints.completed >= 1; }));
  failures->checkpointed = true;
  JobResult r = client->Wait();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.metrics.restarts, 3);
  auto records = ReadTopic(bootstrap_, o.topic, /*read_committed=*/false);
  // Every record at least once; a record written again after a restore is the same record
  // (the state was restored with it), and within a partition the order of first writes holds.
  auto expected = Expected(o.records, o.partitions);
  for (auto& [p, values] : ValuesByPartition(records)) {
    std::vector<std::string> first_seen;
    std::set<std::string> seen;
    for (const auto& v : values) {
      if (seen.insert(v).second) first_seen.push_back(v);
    }
    std::sort(first_seen.begin(), first_seen.end(), [](const std::string& a, const std::string& b) {
      return std::stoll(a) < std::stoll(b);
    });
    EXPECT_EQ(first_seen, expected[p]) << "partition " << p;
  }
}

TEST_F(KafkaSinkTest, NoneDeliversABoundedJobWithoutCheckpoints) {
  JobOptions o = Job("none", DeliveryGuarantee::kNone);
  o.records = 5000;
  ASSERT_EQ(testing::CreateTopic(bootstrap_, o.topic, o.partitions), "");
  StreamExecutionEnvironment env;
  BuildJob(env, o);
  JobResult r = env.Execute("kafka none");
  ASSERT_TRUE(r.ok()) << r.error();
  // Flushed at the end of input: all there once the job ends, no waiting.
  EXPECT_EQ(ValuesByPartition(ReadTopic(bootstrap_, o.topic)), Expected(o.records, o.partitions))
      << "topic " << o.topic;
}

// A job that must fail at start: its error, after the job ended without a restart.
std::string FailingJobError(JobOptions o, bool checkpointing = true) {
  TempDir dir;
  Configuration c = CheckpointedConfig(dir);
  if (!checkpointing) c.Remove("execution.checkpointing.interval");
  o.records = 10;
  StreamExecutionEnvironment env(c);
  BuildJob(env, o);
  JobResult r = env.Execute("failing kafka job");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.metrics.restarts, 0) << r.error();
  return r.error();
}

TEST_F(KafkaSinkTest, SettingsThatCannotWorkFailAtStartWithoutRestarts) {
  JobOptions o = Job("settings", DeliveryGuarantee::kExactlyOnce);
  {
    JobOptions bad = o;
    bad.prefix = "";
    EXPECT_NE(FailingJobError(bad).find("EXACTLY_ONCE needs a transactional id prefix"),
              std::string::npos);
  }
  {
    std::string e = FailingJobError(o, /*checkpointing=*/false);
    EXPECT_NE(e.find("needs checkpointing"), std::string::npos) << e;
  }
  {
    JobOptions bad = o;
    bad.bootstrap = "";
    EXPECT_NE(FailingJobError(bad).find("no bootstrap servers"), std::string::npos);
  }
  {
    JobOptions bad = o;
    bad.properties["lingerr.ms"] = "5";
    std::string e = FailingJobError(bad);
    EXPECT_NE(e.find("Kafka property 'lingerr.ms' = '5'"), std::string::npos) << e;
  }
  {
    // The broker allows 15 minutes; an hour is refused at start, naming both.
    JobOptions bad = o;
    bad.properties["transaction.timeout.ms"] = "3600000";
    std::string e = FailingJobError(bad);
    EXPECT_NE(e.find("transaction.timeout.ms is 3600000 (1 h"), std::string::npos) << e;
    EXPECT_NE(e.find("transaction.max.timeout.ms of broker 1 (127.0.0.1:"), std::string::npos) << e;
    EXPECT_NE(e.find("(15 min)"), std::string::npos) << e;
  }
}

// A job of a few records into `sink` without checkpoints or restarts: its error ("" if it
// finished) and how long it ran.
template <typename T>
std::string ErrorOfShortJob(const KafkaSink<T>& sink, std::chrono::milliseconds* took) {
  Configuration c;
  c.Set("restart-strategy.type", "none");
  StreamExecutionEnvironment env(c);
  env.FromSequence(0, 2).Map([](int64_t i) { return static_cast<T>(i); }).SinkTo(sink);
  auto start = std::chrono::steady_clock::now();
  JobResult r = env.Execute("short kafka job");
  *took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                start);
  return r.ok() ? "" : r.error();
}

// No broker listens: the job fails within socket.timeout.ms, naming the address.
TEST_F(KafkaSinkTest, ABrokerThatIsDownFailsTheStartNamingTheAddress) {
  auto sink = KafkaSink<int64_t>::Builder()
                  .SetBootstrapServers("127.0.0.1:1")
                  .SetTopic("sums")
                  .SetProperty("socket.timeout.ms", "2000")
                  .Build();
  std::chrono::milliseconds took;
  std::string e = ErrorOfShortJob(sink, &took);
  EXPECT_NE(e.find("Kafka sink to 127.0.0.1:1"), std::string::npos) << e;
  EXPECT_NE(e.find("no broker of bootstrap.servers '127.0.0.1:1' answered within 2000 ms"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("Connection refused"), std::string::npos) << e;
  EXPECT_LT(took.count(), 15'000);
}

TEST_F(KafkaSinkTest, ABadTopicNameFailsTheStart) {
  auto sink = KafkaSink<int64_t>::Builder()
                  .SetBootstrapServers(bootstrap_)
                  .SetTopic("no spaces allowed")
                  .Build();
  std::chrono::milliseconds took;
  std::string e = ErrorOfShortJob(sink, &took);
  EXPECT_NE(e.find("'no spaces allowed' is not a valid Kafka topic name"), std::string::npos) << e;
}

TEST_F(KafkaSinkTest, ARecordOverTheSizeLimitFailsTheJobNamingTheLimit) {
  std::string topic = UniqueName("large");
  for (auto guarantee : {DeliveryGuarantee::kNone, DeliveryGuarantee::kAtLeastOnce}) {
    auto sink = KafkaSink<int64_t>::Builder()
                    .SetBootstrapServers(bootstrap_)
                    .SetTopic(topic)
                    .SetDeliveryGuarantee(guarantee)
                    .SetValueSerializer([](const int64_t& i) {
                      return i == 1 ? std::string(2'000'000, 'x') : std::to_string(i);
                    })
                    .Build();
    std::chrono::milliseconds took;
    std::string e = ErrorOfShortJob(sink, &took);
    EXPECT_NE(e.find("a record of 2000000 bytes for topic '" + topic +
                     "' is larger than message.max.bytes (1000000 bytes"),
              std::string::npos)
        << e;
  }
}

// Under the producer's limit but over the topic's max.message.bytes: the broker refuses it,
// and the job fails saying so, for every delivery guarantee.
TEST_F(KafkaSinkTest, ARecordTheBrokerRefusesAsTooLargeFailsTheJob) {
  std::string topic = UniqueName("broker-limit");
  ASSERT_EQ(testing::CreateTopicWithConfig(bootstrap_, topic, 1, {{"max.message.bytes", "20000"}}),
            "");
  for (auto guarantee : {DeliveryGuarantee::kNone, DeliveryGuarantee::kAtLeastOnce,
                         DeliveryGuarantee::kExactlyOnce}) {
    auto sink = KafkaSink<int64_t>::Builder()
                    .SetBootstrapServers(bootstrap_)
                    .SetTopic(topic)
                    .SetDeliveryGuarantee(guarantee)
                    .SetTransactionalIdPrefix(UniqueName("broker-limit"))
                    .SetValueSerializer([](const int64_t& i) {
                      return i == 1 ? std::string(100'000, 'x') : std::to_string(i);
                    })
                    .Build();
    TempDir dir;
    Configuration c = CheckpointedConfig(dir);
    c.Set("restart-strategy.type", "none");
    StreamExecutionEnvironment env(c);
    env.FromSequence(0, 2).SinkTo(sink);
    JobResult r = env.Execute("record over the broker's limit");
    ASSERT_FALSE(r.ok()) << "a record over the topic's max.message.bytes was accepted";
    EXPECT_NE(r.error().find("the brokers refused records for topic '" + topic +
                             "' partition 0 as too large, the largest of them 100000 bytes"),
              std::string::npos)
        << r.error();
  }
}

}  // namespace
}  // namespace weir
