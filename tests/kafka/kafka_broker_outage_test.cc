// A broker outage in the middle of a job: the broker (one of its own, not the shared test
// broker) is stopped keeping its data and started again on the same address.
//
// ExactlyOnceThroughABrokerRestart reads with the Kafka source and writes with the
// exactly-once Kafka sink; the outage lasts a few seconds. The sink's timeouts are shorter than
// the outage, so the job fails; its restart strategy brings it back from its latest checkpoint
// once the broker answers, and a read_committed consumer sees every output record exactly once.
//
// ACancelDoesNotWaitForTheBrokers cancels a job whose sink waits for the stopped broker with
// its default timeouts (minutes): the job ends at once.
#include <gtest/gtest.h>

#include <charconv>
#include <limits>
#include <memory>
#include <thread>

#include "kafka_test_job.h"
#include "kafka_test_util.h"
#include "testing/test_util.h"
#include "weir/connectors/kafka.h"
#include "weir/connectors/kafka_source.h"
#include "weir/weir.h"

namespace weir {
namespace {

using testing::KafkaBroker;
using testing::TempDir;
using testing::UniqueName;
using testing::CountPerKey;
using testing::CountRecordSerializer;
using testing::ParseInt;

constexpr int kPartitions = 2;
constexpr int64_t kRecords = 12'000;



// The tests' own broker (not the shared test broker, which other tests use meanwhile),
// started once for the suite and stopped after it: once per process, and ctest runs each test
// in a process of its own (one at a time: tests/kafka/CMakeLists.txt).
class KafkaBrokerOutageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    // The shared broker's port pair is followed by a free one of this build directory's.
    broker_ = new KafkaBroker(dir_->Join("broker"), KafkaBroker::Shared().port() + 2,
                              {"WEIR_KAFKA_HEAP=-Xms64m -Xmx384m"});
    start_error_ = broker_->Start();
  }
  static void TearDownTestSuite() {
    broker_->Stop();
    delete broker_;
    delete dir_;
  }
  void SetUp() override { ASSERT_EQ(start_error_, ""); }

  static TempDir* dir_;
  static KafkaBroker* broker_;
  static std::string start_error_;
};
TempDir* KafkaBrokerOutageTest::dir_ = nullptr;
KafkaBroker* KafkaBrokerOutageTest::broker_ = nullptr;
std::string KafkaBrokerOutageTest::start_error_;

// Checkpoints every 200 ms into `dir`; up to `restarts` restarts, 500 ms apart.
Configuration OutageConfig(const TempDir& dir, int restarts) {
  Configuration c;
  c.Set("execution.checkpointing.interval", "200 ms");
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.attempts", std::to_string(restarts));
  c.Set("restart-strategy.fixed-delay.delay", "500 ms");
  return c;
}

// Waits up to 60 s for the job's second completed checkpoint: mid-job, output committed.
bool TwoCheckpointsCompleted(JobClient& client) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (client.metrics().checkpoints.completed < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return client.metrics().checkpoints.completed >= 2;
}

TEST_F(KafkaBrokerOutageTest, ExactlyOnceThroughABrokerRestart) {
  TempDir dir;
  KafkaBroker& broker = *broker_;
  const std::string bootstrap = broker.bootstrap();
  const std::string input = UniqueName("outage-in");
  const std::string output = UniqueName("outage-out");
  const std::string prefix = UniqueName("outage");
  ASSERT_EQ(testing::CreateTopic(bootstrap, input, kPartitions), "");
  ASSERT_EQ(testing::CreateTopic(bootstrap, output, kPartitions), "");
  std::vector<std::string> values;
  for (int64_t i = 0; i < kRecords; ++i) values.push_back(std::to_string(i));
  ASSERT_EQ(testing::ProduceValues(bootstrap, input, values,
                                   [](size_t i) { return static_cast<int32_t>(i % kPartitions); }),
            "");

  StreamExecutionEnvironment env(OutageConfig(dir, 30));  // about 100 s of outage
  auto source = KafkaSource<int64_t>::Builder()
                    .SetBootstrapServers(bootstrap)
                    .SetTopics({input})
                    .SetGroupId(prefix)
                    .SetBounded()
                    .SetValueOnlyDeserializer(&ParseInt)
                    .Build();
  // Timeouts shorter than the outage: the sink fails instead of waiting it out.
  auto sink = KafkaSink<std::pair<int64_t, int64_t>>::Builder()
                  .SetBootstrapServers(bootstrap)
                  .SetDeliveryGuarantee(DeliveryGuarantee::kExactlyOnce)
                  .SetTransactionalIdPrefix(prefix)
                  .SetProperty("socket.timeout.ms", "3000")
                  .SetProperty("message.timeout.ms", "3000")
                  .SetRecordSerializer(CountRecordSerializer(output, kPartitions))
                  .Build();
  env.FromSource(source, WatermarkStrategy<int64_t>::NoWatermarks(), "kafka-in")
      .SetParallelism(2)
      .Uid("kafka-in")
      .Map([](int64_t i) {
        std::this_thread::sleep_for(std::chrono::microseconds(1500));  // about 9 s a pass
        return i;
      })
      .SetParallelism(2)
      .Uid("map")
      .KeyBy([](int64_t i) { return static_cast<int32_t>(i % kPartitions); })
      .Process(CountPerKey())
      .SetParallelism(2)
      .Uid("count")
      .SinkTo(sink)
      .SetParallelism(2)
      .Uid("kafka-out");
  auto client = env.ExecuteAsync("kafka broker outage");

  // Mid-job: some checkpoints committed, most of the input still to read.
  ASSERT_TRUE(TwoCheckpointsCompleted(*client));
  ASSERT_EQ(broker.Pause(), "");
  const JobStatus during = client->metrics().status;
  EXPECT_TRUE(during == JobStatus::kRunning || during == JobStatus::kRestarting)
      << "the job ended before the broker went away; the outage tested nothing";
  std::this_thread::sleep_for(std::chrono::seconds(4));
  ASSERT_EQ(broker.Resume(), "");

  JobResult r = client->Wait();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GE(r.metrics.restarts, 1) << "the outage did not fail the job";
  std::map<int32_t, std::vector<std::string>> expected;
  for (int64_t i = 0; i < kRecords; ++i) {
    expected[static_cast<int32_t>(i % kPartitions)].push_back(std::to_string(i) + " " +
                                                              std::to_string(i / kPartitions + 1));
  }
  EXPECT_EQ(testing::ValuesByPartition(testing::ReadTopicAtLeast(bootstrap, output, kRecords)),
            expected);
}

TEST_F(KafkaBrokerOutageTest, ACancelDoesNotWaitForTheBrokers) {
  TempDir dir;
  KafkaBroker& broker = *broker_;
  const std::string bootstrap = broker.bootstrap();
  const std::string output = UniqueName("cancel-out");
  ASSERT_EQ(testing::CreateTopic(bootstrap, output, 1), "");
  StreamExecutionEnvironment env(OutageConfig(dir, 1000));
  // librdkafka's default timeouts: records wait five minutes for a broker.
  auto sink = KafkaSink<std::pair<int64_t, int64_t>>::Builder()
                  .SetBootstrapServers(bootstrap)
                  .SetDeliveryGuarantee(DeliveryGuarantee::kExactlyOnce)
                  .SetTransactionalIdPrefix(UniqueName("cancel"))
                  .SetRecordSerializer(CountRecordSerializer(output, 1))
                  .Build();
  env.FromSequence(0, std::numeric_limits<int64_t>::max() - 1)
      .Map([](int64_t i) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        return i;
      })
      .KeyBy([](int64_t) { return 0; })
      .Process(CountPerKey())
      .SinkTo(sink);
  auto client = env.ExecuteAsync("kafka cancel during an outage");
  ASSERT_TRUE(TwoCheckpointsCompleted(*client));
  ASSERT_EQ(broker.Pause(), "");
  // However the test ends: the job ends and the broker comes back for the suite.
  struct Cleanup {
    JobClient& client;
    KafkaBroker& broker;
    ~Cleanup() {
      client.Cancel();
      client.Wait();
      EXPECT_EQ(broker.Resume(), "");
    }
  } cleanup{*client, broker};
  // The sink now waits for the broker: in its transaction's flush, commit or start, or (had
  // one of those failed at once) the job in a restart.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const JobStatus during = client->metrics().status;
  ASSERT_TRUE(during == JobStatus::kRunning || during == JobStatus::kRestarting)
      << JobStatusName(during);
  const auto cancelled_at = std::chrono::steady_clock::now();
  client->Cancel();
  JobResult r = client->Wait();
  const auto took = std::chrono::steady_clock::now() - cancelled_at;
  EXPECT_TRUE(r.status.IsCancelled()) << r.error();
  // Without the cancellation the sink waited minutes (message.timeout.ms, transaction calls).
  EXPECT_LT(took, std::chrono::seconds(15))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
}

}  // namespace
}  // namespace weir
