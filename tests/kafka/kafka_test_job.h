// The job pieces the Kafka tests share: a per-key count whose output exposes any record lost
// or read twice, and the parser of the decimal values the tests write. For tests only.
#pragma once

#include <weir/connectors/kafka.h>
#include <weir/weir.h>

#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace weir::testing {

// Counts the records of each key: the value written for record i is "i <count>", so a record
// lost, read twice or counted twice (state restored wrongly) changes what follows it.
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

// How a CountPerKey output (i, count) is written: the value "i count", on partition i mod
// `partitions` of `topic`, so each partition's values are in order.
inline auto CountRecordSerializer(std::string topic, int partitions) {
  return [topic = std::move(topic), partitions](const std::pair<int64_t, int64_t>& r) {
    KafkaRecord k;
    k.topic = topic;
    k.partition = static_cast<int32_t>(r.first % partitions);
    k.value = std::to_string(r.first) + " " + std::to_string(r.second);
    return k;
  };
}

// A record value as a decimal integer; throws on anything else.
inline int64_t ParseInt(std::string_view v) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) throw std::runtime_error("not a number");
  return n;
}

}  // namespace weir::testing
