// The Kafka messages weir encodes and decodes itself, byte for byte against Kafka's message
// definitions, and their decoders against truncated and malformed input. The same messages
// against a real broker: tests/kafka/kafka_sink_test.cc.
#include "connectors/kafka/protocol.h"

#include <gtest/gtest.h>

#include "connectors/kafka/cluster_client.h"

namespace weir::kafka {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

TEST(KafkaProtocolTest, FrameHasSizeHeaderV1AndBody) {
  std::string frame = FrameRequest(ApiKey::kApiVersions, 0, false, 7, "ab", "");
  // size 12: api key 18, version 0, correlation id 7, client id "ab"
  EXPECT_EQ(frame, Bytes({0, 0, 0, 12, 0, 18, 0, 0, 0, 0, 0, 7, 0, 2, 'a', 'b'}));
  // A flexible request has header v2: the same, then an empty tagged-field section; the
  // client id stays a plain (not compact) string.
  std::string flexible = FrameRequest(ApiKey::kDescribeTransactions, 0, true, 1, "", "X");
  EXPECT_EQ(flexible, Bytes({0, 0, 0, 12, 0, 65, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'X'}));
}

TEST(KafkaProtocolTest, EndTxnV1MatchesTheMessageDefinition) {
  std::string body = EncodeEndTxnRequest(1, "p-0-3", 0x0102030405060708, 0x0a0b, true);
  EXPECT_EQ(body, Bytes({0, 5, 'p', '-', '0', '-', '3', 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x0b, 1}));
  // v3 is flexible: compact string (length + 1) and a tagged-field section at the end.
  std::string v3 = EncodeEndTxnRequest(3, "t", 1, 2, false);
  EXPECT_EQ(v3, Bytes({2, 't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0}));
}

TEST(KafkaProtocolTest, EndTxnResponseErrorCode) {
  auto v1 = DecodeEndTxnResponse(1, Bytes({0, 0, 0, 0, 0, 51}));
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(*v1, error_code::kConcurrentTransactions);
  auto v3 = DecodeEndTxnResponse(3, Bytes({0, 0, 0, 0, 0, 0, 0}));
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(*v3, error_code::kNone);
  EXPECT_TRUE(DecodeEndTxnResponse(1, Bytes({0, 0, 0})).status().IsCorruption());
}

TEST(KafkaProtocolTest, DescribeTransactionsRoundTrip) {
  EXPECT_EQ(EncodeDescribeTransactionsRequest({"ab"}), Bytes({2, 3, 'a', 'b', 0}));
  // A response as a broker writes it.
  std::string body;
  WireWriter w(&body, true);
  w.Int32(0);  // throttle
  w.ArrayLength(1);
  w.Int16(0);
  w.String("ab");
  w.String("Ongoing");
  w.Int32(900'000);
  w.Int64(1'700'000'000'000);
  w.Int64(4242);
  w.Int16(3);
  w.ArrayLength(1);
  w.String("sums");
  w.ArrayLength(2);
  w.Int32(0);
  w.Int32(2);
  w.TaggedFields();
  // A tagged field a newer broker might add: skipped.
  w.UnsignedVarint(1);
  w.UnsignedVarint(7);
  w.UnsignedVarint(2);
  w.Int16(99);
  w.TaggedFields();
  auto d = DecodeDescribeTransactionsResponse(body);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->size(), 1u);
  const TransactionDescription& t = d->front();
  EXPECT_EQ(t.transactional_id, "ab");
  EXPECT_EQ(t.state, "Ongoing");
  EXPECT_EQ(t.timeout_ms, 900'000);
  EXPECT_EQ(t.producer_id, 4242);
  EXPECT_EQ(t.producer_epoch, 3);
  EXPECT_EQ(t.partitions.at("sums"), (std::vector<int32_t>{0, 2}));
  // Every strict prefix of the response is malformed, never a crash or a partial answer.
  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_FALSE(DecodeDescribeTransactionsResponse(body.substr(0, n)).ok()) << n;
  }
}

TEST(KafkaProtocolTest, ListTransactionsVersions) {
  // v0: state filters, producer id filters; v1 adds the duration filter; v2 the id pattern.
  EXPECT_EQ(EncodeListTransactionsRequest(0, {"Ongoing"}, ""),
            Bytes({2, 8, 'O', 'n', 'g', 'o', 'i', 'n', 'g', 1, 0}));
  EXPECT_EQ(EncodeListTransactionsRequest(1, {}, "x"),
            Bytes({1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0}));
  EXPECT_EQ(EncodeListTransactionsRequest(2, {}, ""),
            Bytes({1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}));
  EXPECT_EQ(EncodeListTransactionsRequest(2, {}, "^a$"),
            Bytes({1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 4, '^', 'a', '$', 0}));
  std::string body;
  WireWriter w(&body, true);
  w.Int32(0);
  w.Int16(0);
  w.ArrayLength(0);
  w.ArrayLength(2);
  for (const char* id : {"p-0-1", "p-1-0"}) {
    w.String(id);
    w.Int64(7);
    w.String("CompleteCommit");
    w.TaggedFields();
  }
  w.TaggedFields();
  auto l = DecodeListTransactionsResponse(body);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_EQ(l->transactions.size(), 2u);
  EXPECT_EQ(l->transactions[1].transactional_id, "p-1-0");
  EXPECT_EQ(l->transactions[1].state, "CompleteCommit");
}

TEST(KafkaProtocolTest, FindCoordinatorSingleAndBatchedVersions) {
  EXPECT_EQ(EncodeFindCoordinatorRequest(1, "t", kCoordinatorTypeTransaction),
            Bytes({0, 1, 't', 1}));
  EXPECT_EQ(EncodeFindCoordinatorRequest(4, "t", kCoordinatorTypeTransaction),
            Bytes({1, 2, 2, 't', 0}));
  std::string v1;
  WireWriter w1(&v1, false);
  w1.Int32(0);
  w1.Int16(0);
  w1.NullString();
  w1.Int32(1);
  w1.String("127.0.0.1");
  w1.Int32(19092);
  auto r1 = DecodeFindCoordinatorResponse(1, v1);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->coordinator.host, "127.0.0.1");
  EXPECT_EQ(r1->coordinator.port, 19092);
  std::string v4;
  WireWriter w4(&v4, true);
  w4.Int32(0);
  w4.ArrayLength(1);
  w4.String("t");
  w4.Int32(2);
  w4.String("h");
  w4.Int32(9);
  w4.Int16(15);
  w4.NullString();
  w4.TaggedFields();
  w4.TaggedFields();
  auto r4 = DecodeFindCoordinatorResponse(4, v4);
  ASSERT_TRUE(r4.ok()) << r4.status().ToString();
  EXPECT_EQ(r4->error_code, error_code::kCoordinatorNotAvailable);
  EXPECT_EQ(r4->coordinator.node_id, 2);
}

TEST(KafkaProtocolTest, ApiVersionsAndMetadata) {
  std::string av;
  WireWriter a(&av, false);
  a.Int16(0);
  a.ArrayLength(1);
  a.Int16(26);
  a.Int16(0);
  a.Int16(5);
  auto versions = DecodeApiVersionsResponse(av);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->apis.at(26).max, 5);

  EXPECT_EQ(EncodeMetadataRequest(4, {}, false), Bytes({0, 0, 0, 0, 0}));
  EXPECT_EQ(EncodeMetadataRequest(8, {"t"}, false), Bytes({0, 0, 0, 1, 0, 1, 't', 0, 0, 0}));
  for (int16_t version : {4, 8}) {
    std::string body;
    WireWriter w(&body, false);
    w.Int32(0);
    w.ArrayLength(1);
    w.Int32(1);
    w.String("localhost");
    w.Int32(19092);
    w.NullString();
    w.NullString();
    w.Int32(1);
    w.ArrayLength(1);
    w.Int16(error_code::kUnknownTopicOrPartition);
    w.String("t");
    w.Bool(false);
    w.ArrayLength(1);
    w.Int16(0);
    w.Int32(0);
    w.Int32(1);
    if (version >= 7) w.Int32(0);
    for (int k = 0; k < (version >= 5 ? 3 : 2); ++k) {
      w.ArrayLength(1);
      w.Int32(1);
    }
    if (version >= 8) w.Int32(0);
    if (version >= 8) w.Int32(0);
    auto m = DecodeMetadataResponse(version, body);
    ASSERT_TRUE(m.ok()) << version << ": " << m.status().ToString();
    EXPECT_EQ(m->brokers.at(0).port, 19092);
    EXPECT_EQ(m->topics.at(0).error_code, error_code::kUnknownTopicOrPartition);
    EXPECT_EQ(m->topics.at(0).partitions, 1);
  }
}

TEST(KafkaProtocolTest, DescribeConfigs) {
  EXPECT_EQ(EncodeDescribeConfigsRequest(1, kResourceTypeBroker, "1", {"a"}),
            Bytes({0, 0, 0, 1, 4, 0, 1, '1', 0, 0, 0, 1, 0, 1, 'a', 0}));
  std::string body;
  WireWriter w(&body, false);
  w.Int32(0);
  w.ArrayLength(1);
  w.Int16(0);
  w.NullString();
  w.Int8(kResourceTypeBroker);
  w.String("1");
  w.ArrayLength(1);
  w.String("transaction.max.timeout.ms");
  w.String("900000");
  w.Bool(true);
  w.Int8(4);
  w.Bool(false);
  w.ArrayLength(0);
  auto d = DecodeDescribeConfigsResponse(1, body);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->configs.at("transaction.max.timeout.ms"), "900000");
}

TEST(KafkaProtocolTest, MalformedLengthsAreErrorsNotAllocations) {
  // An array that claims 2^31-1 elements in a 4-byte body.
  std::string body = Bytes({0, 0, 0x7f, 0xff, 0xff, 0xff});
  EXPECT_TRUE(DecodeApiVersionsResponse(body).status().IsCorruption());
  // A varint longer than 5 bytes.
  std::string too_long = Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});  // the reader keeps a view
  WireReader r(too_long, true);
  (void)r.UnsignedVarint();
  EXPECT_FALSE(r.ok());
}

TEST(KafkaProtocolTest, ErrorNames) {
  EXPECT_EQ(ErrorCodeName(51), "CONCURRENT_TRANSACTIONS (51)");
  EXPECT_EQ(ErrorCodeName(9999), "error 9999");
  EXPECT_TRUE(IsRetriableError(error_code::kNotCoordinator));
  EXPECT_FALSE(IsRetriableError(error_code::kProducerFenced));
}

TEST(KafkaProtocolTest, BootstrapServers) {
  auto s = ParseBootstrapServers(" a:1, PLAINTEXT://b:2 ,[::1]:3");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[1].host, "b");
  EXPECT_EQ((*s)[2].host, "::1");
  EXPECT_EQ((*s)[2].port, 3);
  for (const char* bad : {"", "host", "host:", "host:x", "host:70000", ":9092", " , "}) {
    EXPECT_EQ(ParseBootstrapServers(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace weir::kafka
