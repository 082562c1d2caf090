// A broker outage in the middle of a job reading with the Kafka source and writing with the
// exactly-once Kafka sink: the broker (one of its own, not the shared test broker) is stopped
// keeping its data and started again on the same address a few seconds later. The sink's
// timeouts are shorter than the outage, so the job fails; its restart strategy brings it back
// from its latest checkpoint once the broker answers, and a read_committed consumer sees every
// output record exactly once.
#include <gtest/gtest.h>

#include <charconv>
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



// Stops the test's broker however the test ends.
struct StopAtEnd {
  KafkaBroker& broker;
  ~StopAtEnd() { broker.Stop(); }
};

TEST(KafkaBrokerOutageTest, ExactlyOnceThroughABrokerRestart) {
  TempDir dir;
  // The shared broker's port pair is followed by a free one of this build directory's.
  KafkaBroker broker(dir.Join("broker"), KafkaBroker::Shared().port() + 2,
                     {"WEIR_KAFKA_HEAP=-Xms64m -Xmx384m"});
  ASSERT_EQ(broker.Start(), "");
  StopAtEnd stop{broker};
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

  Configuration c;
  c.Set("execution.checkpointing.interval", "200 ms");
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.attempts", "30");  // about 100 s of outage
  c.Set("restart-strategy.fixed-delay.delay", "500 ms");
  StreamExecutionEnvironment env(c);
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
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (client->metrics().checkpoints.completed < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(client->metrics().checkpoints.completed, 2);
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

}  // namespace
}  // namespace weir
