#include "metrics/metric_registry.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "metrics/prometheus_format.h"

namespace weir {
namespace {

MetricScope OperatorScope(std::string name) {
  MetricScope s;
  s.level = MetricScope::Level::kOperator;
  s.job_id = "0123456789abcdef0123456789abcdef";
  s.job_name = "a \"quoted\" job\\";
  s.task_id = "t1";
  s.task_name = "Source -> Map";
  s.subtask_index = 2;
  s.operator_id = "map-uid";
  s.operator_name = std::move(name);
  return s;
}

const MetricValue* Find(const std::vector<MetricValue>& values, std::string_view name) {
  for (const auto& v : values) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

TEST(MetricRegistryTest, UserMetricsAreReadThroughTheSnapshot) {
  ManualClock clock;
  MetricRegistry registry(&clock);
  auto group = registry.CreateGroup(OperatorScope("map"));
  Counter& c = group->AddCounter("late");
  c.Inc(3);
  c.Dec();
  group->AddGauge("level").Set(1.5);
  Histogram& h = group->AddGroup("input").AddHistogram("size");
  for (int i = 1; i <= 100; ++i) h.Update(i);

  auto values = registry.Snapshot();
  ASSERT_NE(Find(values, "late"), nullptr);
  EXPECT_EQ(Find(values, "late")->value, 2);
  EXPECT_EQ(Find(values, "level")->value, 1.5);
  const MetricValue* size = Find(values, "input.size");
  ASSERT_NE(size, nullptr);
  EXPECT_EQ(size->histogram.count, 100);
  EXPECT_EQ(size->histogram.min, 1);
  EXPECT_EQ(size->histogram.max, 100);
  EXPECT_DOUBLE_EQ(size->histogram.mean, 50.5);
  EXPECT_EQ(size->histogram.p50, 51);
  EXPECT_EQ(size->histogram.p99, 100);
}

TEST(MetricRegistryTest, AddingANameTwiceReturnsTheSameMetricAndAnotherTypeThrows) {
  ManualClock clock;
  MetricRegistry registry(&clock);
  auto group = registry.CreateGroup(OperatorScope("map"));
  Counter& a = group->AddCounter("n");
  Counter& b = group->AddCounter("n");
  EXPECT_EQ(&a, &b);
  EXPECT_THROW(group->AddGauge("n"), std::invalid_argument);
  EXPECT_THROW(group->AddCounter(""), std::invalid_argument);
}

TEST(MetricRegistryTest, AGroupsMetricsLeaveWithIt) {
  ManualClock clock;
  MetricRegistry registry(&clock);
  auto group = registry.CreateGroup(OperatorScope("map"));
  int calls = 0;
  group->AddFunction("f", MetricType::kGauge, [&calls] { return static_cast<double>(++calls); });
  EXPECT_EQ(registry.Snapshot().size(), 1u);
  group.reset();
  EXPECT_TRUE(registry.Snapshot().empty());
  EXPECT_EQ(calls, 1);  // never called after its group is gone
}

TEST(MetricRegistryTest, RatesArePerSecondOverTheWindow) {
  ManualClock clock;
  MetricRegistry registry(&clock);
  auto group = registry.CreateGroup(OperatorScope("map"));
  double total = 0;
  group->AddRate("perSecond", [&total] { return total; });
  Meter& meter = group->AddMeter("events");
  registry.UpdateRates();
  for (int i = 0; i < 5; ++i) {
    clock.AdvanceMillis(1000);
    total += 250;
    meter.MarkEvent(40);
    registry.UpdateRates();
  }
  auto values = registry.Snapshot();
  EXPECT_DOUBLE_EQ(Find(values, "perSecond")->value, 250);
  EXPECT_DOUBLE_EQ(Find(values, "events")->value, 40);
  EXPECT_EQ(Find(values, "events")->count, 200);
  EXPECT_DOUBLE_EQ(meter.Rate(), 40);
  // Only the last kRateWindow counts: after a quiet window the rate is 0.
  for (int i = 0; i < 12; ++i) {
    clock.AdvanceMillis(1000);
    registry.UpdateRates();
  }
  EXPECT_DOUBLE_EQ(Find(registry.Snapshot(), "perSecond")->value, 0);
}

TEST(PrometheusFormatTest, NamesLabelsAndTypes) {
  ManualClock clock;
  MetricRegistry registry(&clock);
  auto group = registry.CreateGroup(OperatorScope("ma\np"));
  group->AddCounter("numRecordsIn").Inc(7);
  group->AddFunction("rocksdb.estimate-num-keys", MetricType::kGauge, [] { return 0.25; });
  group->AddHistogram("latency").Update(5);
  std::string text = FormatPrometheus(registry.Snapshot());
  EXPECT_NE(text.find("# TYPE weir_operator_numRecordsIn gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("weir_operator_numRecordsIn{job_id=\"0123456789abcdef0123456789abcdef\","
                      "job_name=\"a \\\"quoted\\\" job\\\\\",task_id=\"t1\",task_name=\"Source "
                      "-> Map\",subtask_index=\"2\",operator_id=\"map-uid\",operator_name=\"ma\\np\"}"
                      " 7\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("weir_operator_rocksdb_estimate_num_keys{"), std::string::npos) << text;
  EXPECT_NE(text.find(" 0.25\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE weir_operator_latency summary\n"), std::string::npos) << text;
  EXPECT_NE(text.find("quantile=\"0.99\"} 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("weir_operator_latency_count{"), std::string::npos) << text;
}

// A byte that is not UTF-8 in a name a user gave would fail Prometheus's whole scrape, and a
// line feed in a metric's name would break its HELP line.
TEST(PrometheusFormatTest, NamesThatAreNotUtf8OrHoldLineFeedsStayValid) {
  ManualClock clock;
  MetricRegistry registry(&clock);
  auto group = registry.CreateGroup(OperatorScope("caf\xe9 \xC3\xA9t\xC3"));
  group->AddCounter("a\nb\\c").Inc(1);
  std::string text = FormatPrometheus(registry.Snapshot());
  // Each bad byte is U+FFFD; the valid two-byte character stays.
  EXPECT_NE(text.find("operator_name=\"caf\xEF\xBF\xBD \xC3\xA9t\xEF\xBF\xBD\"}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# HELP weir_operator_a_b_c weir counter a\\nb\\\\c\n"), std::string::npos)
      << text;
}

TEST(PrometheusFormatTest, JobScopeHasOnlyJobLabels) {
  ManualClock clock;
  MetricRegistry registry(&clock);
  MetricScope s;
  s.job_id = "j";
  s.job_name = "n";
  auto group = registry.CreateGroup(s);
  group->AddFunction("uptime", MetricType::kGauge, [] { return 12.0; });
  EXPECT_EQ(FormatPrometheus(registry.Snapshot()),
            "# HELP weir_job_uptime weir gauge uptime\n# TYPE weir_job_uptime gauge\n"
            "weir_job_uptime{job_id=\"j\",job_name=\"n\"} 12\n");
}

}  // namespace
}  // namespace weir
