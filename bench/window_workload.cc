#include <chrono>
#include <utility>
#include <vector>

#include "workloads.h"

namespace {

using Totals = std::pair<int64_t, int64_t>;

class CountAndSum final : public weir::AggregateFunction<Record, Totals, Totals> {
 public:
  Totals CreateAccumulator() const override { return {0, 0}; }
  void Add(const Record& r, Totals& acc) const override {
    ++acc.first;
    acc.second += r.value;
  }
  Totals GetResult(const Totals& acc) const override { return acc; }
  Totals Merge(Totals a, const Totals& b) const override {
    return {a.first + b.first, a.second + b.second};
  }
};

class FormatWindow final
    : public weir::ProcessWindowFunction<Totals, std::string, int64_t, weir::TimeWindow> {
 public:
  explicit FormatWindow(void (*on_line)()) : on_line_(on_line) {}
  void Process(const int64_t& key, Context& ctx, const std::vector<Totals>& totals,
               weir::Collector<std::string>& out) override {
    on_line_();
    out.Collect(std::to_string(key) + "," + std::to_string(ctx.window().end) + "," +
                std::to_string(totals[0].first) + "," + std::to_string(totals[0].second));
  }

 private:
  void (*on_line_)();
};

}  // namespace

weir::DataStream<std::string> WindowedCounts(const weir::DataStream<Record>& records,
                                             int64_t window_ms, void (*on_line)()) {
  return records
      .AssignTimestampsAndWatermarks(
          weir::WatermarkStrategy<Record>::ForMonotonousTimestamps().WithTimestampAssigner(
              [](const Record& r, int64_t) { return r.seq; }))
      .KeyBy([](const Record& r) { return r.key; })
      .Window(weir::TumblingEventTimeWindows::Of(std::chrono::milliseconds(window_ms)))
      .Aggregate(CountAndSum(), FormatWindow(on_line))
      .Name("window");
}
