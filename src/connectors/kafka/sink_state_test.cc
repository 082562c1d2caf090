// The Kafka sink's transactional ids and what it keeps in checkpoints.
#include "connectors/kafka/sink_state.h"

#include <gtest/gtest.h>

#include <regex>

namespace weir::kafka {
namespace {

TEST(KafkaSinkStateTest, TransactionalIdsParseBackOnlyForTheirOwnPrefix) {
  EXPECT_EQ(TransactionalId("job", 2, 17), "job-2-17");
  auto parts = ParseTransactionalId("job-2-17", "job");
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->subtask, 2);
  EXPECT_EQ(parts->n, 17u);
  // A prefix that is a prefix of another job's: "job-1" writes job-1-0-3, never job's.
  EXPECT_FALSE(ParseTransactionalId("job-1-0-3", "job").has_value());
  EXPECT_TRUE(ParseTransactionalId("job-1-0-3", "job-1").has_value());
  for (const char* other : {"job", "job-", "job-1", "job-1-", "job--1-2", "job-01-2", "job-1-02",
                            "jobs-1-2", "job-1-2x", "job-a-2"}) {
    EXPECT_FALSE(ParseTransactionalId(other, "job").has_value()) << other;
  }
}

TEST(KafkaSinkStateTest, PatternMatchesExactlyTheParsedIds) {
  // std::regex stands in for the broker's RE2/J: the syntax used is common to both.
  std::regex pattern(TransactionalIdPattern("a.b-c"));
  for (const char* id : {"a.b-c-0-0", "a.b-c-12-345"}) {
    EXPECT_TRUE(std::regex_search(id, pattern)) << id;
    EXPECT_TRUE(ParseTransactionalId(id, "a.b-c").has_value()) << id;
  }
  for (const char* id : {"axb-c-0-0", "a.b-c-0", "a.b-c-0-0-1", "a.b-c-01-1", "x.a.b-c-0-0"}) {
    EXPECT_FALSE(std::regex_search(id, pattern)) << id;
    EXPECT_FALSE(ParseTransactionalId(id, "a.b-c").has_value()) << id;
  }
}

TEST(KafkaSinkStateTest, EncodingsRoundTripAndRefuseGarbage) {
  PreparedTransaction t;
  t.transactional_id = "job-0-4";
  t.producer_id = 1234567890123;
  t.producer_epoch = 32000;
  t.checkpoint_id = 9;
  auto back = DecodePreparedTransaction(EncodePreparedTransaction(t));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->transactional_id, "job-0-4");
  EXPECT_EQ(back->producer_id, 1234567890123);
  EXPECT_EQ(back->producer_epoch, 32000);
  EXPECT_EQ(back->checkpoint_id, 9);

  PreparedTransaction flush;
  flush.kind = PreparedTransaction::Kind::kFlush;
  flush.period = 77;
  auto f = DecodePreparedTransaction(EncodePreparedTransaction(flush));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, PreparedTransaction::Kind::kFlush);
  EXPECT_EQ(f->period, 77u);

  auto s = DecodeSubtaskState(EncodeSubtaskState({"job", 3, 12}));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->prefix, "job");
  EXPECT_EQ(s->subtask, 3);
  EXPECT_EQ(s->next, 12u);

  std::string bytes = EncodePreparedTransaction(t);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_TRUE(DecodePreparedTransaction(bytes.substr(0, n)).status().IsCorruption()) << n;
  }
  bytes[0] = 9;  // a format version this weir does not know
  EXPECT_NE(DecodePreparedTransaction(bytes).status().message().find("format version 9"),
            std::string::npos);
}

}  // namespace
}  // namespace weir::kafka
