#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "weir/source.h"

namespace weir {
namespace {

// CollectAll into an empty poll takes the reader's vectors as they are (no record moved one by
// one) and gives back the engine's, emptied; after records collected one by one it appends.
// Either way the records arrive in order with their own timestamps.
TEST(ReaderOutputTest, CollectAllSwapsIntoAnEmptyPollAndAppendsAfterOthers) {
  detail::Batch<std::string> batch;
  batch.records.reserve(8);
  ReaderOutput<std::string> output(&batch, nullptr, nullptr, nullptr);
  output.set_limit(8);

  std::vector<std::string> records = {"a", "b"};
  std::vector<int64_t> timestamps = {10, 20};
  const std::string* handed = records.data();
  output.CollectAll(records, timestamps);
  EXPECT_EQ(batch.records.data(), handed);  // the vector itself, not its records
  EXPECT_EQ(batch.records, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(batch.timestamps, (std::vector<int64_t>{10, 20}));
  EXPECT_TRUE(records.empty());
  EXPECT_TRUE(timestamps.empty());
  EXPECT_GE(records.capacity(), 8u);  // the engine's, to be filled next time
  EXPECT_EQ(output.room(), 6u);
  EXPECT_FALSE(output.keeps_records());

  batch.clear();
  output.Collect("c", 30);
  records = {"d", "e"};
  timestamps = {40, 50};
  output.CollectAll(records, timestamps);
  EXPECT_EQ(batch.records, (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(batch.timestamps, (std::vector<int64_t>{30, 40, 50}));
  EXPECT_TRUE(records.empty());
  EXPECT_TRUE(timestamps.empty());
}

// ExchangeAll hands the records on as CollectAll does, and gives back the records the engine
// kept from the batch before (the spare vector): empty at first, then the earlier records as
// the operators left them, to be refilled.
TEST(ReaderOutputTest, ExchangeAllGivesBackTheRecordsOfTheBatchBefore) {
  detail::Batch<std::string> batch;
  std::vector<std::string> spare;
  ReaderOutput<std::string> output(&batch, nullptr, nullptr, nullptr, &spare);
  output.set_limit(8);

  std::vector<std::string> records = {"a", "b"};
  std::vector<int64_t> timestamps = {10, 20};
  EXPECT_FALSE(output.keeps_records());  // the engine keeps nothing for other readers
  output.ExchangeAll(records, timestamps);
  EXPECT_TRUE(output.keeps_records());
  EXPECT_EQ(batch.records, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(batch.timestamps, (std::vector<int64_t>{10, 20}));
  EXPECT_TRUE(records.empty());  // nothing kept yet
  EXPECT_TRUE(timestamps.empty());

  // The engine sends the batch on and keeps its records (SourceOperator::EmitKeepingRecords).
  batch.records[1] = "b, as an operator left it";
  spare.swap(batch.records);
  batch.clear();

  records = {"c"};
  timestamps = {30};
  output.ExchangeAll(records, timestamps);
  EXPECT_EQ(batch.records, (std::vector<std::string>{"c"}));
  EXPECT_EQ(batch.timestamps, (std::vector<int64_t>{30}));
  EXPECT_EQ(records, (std::vector<std::string>{"a", "b, as an operator left it"}));
  EXPECT_TRUE(timestamps.empty());
  EXPECT_TRUE(spare.empty());

  // After records collected one by one in the same poll, they are moved in one at a time, and
  // the moved-from ones stay in `records`.
  output.Collect("d", 40);
  records = {"e"};
  timestamps = {50};
  output.ExchangeAll(records, timestamps);
  EXPECT_EQ(batch.records, (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(batch.timestamps, (std::vector<int64_t>{30, 40, 50}));
  EXPECT_EQ(records.size(), 1u);
  EXPECT_TRUE(timestamps.empty());
}

// A reader's mistake is an error that says what, not records read past their timestamps.
TEST(ReaderOutputTest, CollectAllRefusesRecordsAndTimestampsOfDifferentSizes) {
  detail::Batch<std::string> batch;
  ReaderOutput<std::string> output(&batch, nullptr, nullptr, nullptr);
  output.set_limit(8);
  std::vector<std::string> records = {"a", "b"};
  std::vector<int64_t> timestamps = {10};
  EXPECT_THROW(output.CollectAll(records, timestamps), std::invalid_argument);
  EXPECT_THROW(output.ExchangeAll(records, timestamps), std::invalid_argument);
  EXPECT_TRUE(batch.records.empty());
}

}  // namespace
}  // namespace weir
