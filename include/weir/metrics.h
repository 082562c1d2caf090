// Metrics: counters, gauges, meters and histograms, as Flink's metric types, registered in a
// MetricGroup. A user function gets its operator's group from RuntimeContext::metric_group():
//
//   void Open(weir::RuntimeContext& ctx) override {
//     late_ = &ctx.metric_group().AddCounter("lateRecords");
//     sizes_ = &ctx.metric_group().AddGroup("input").AddHistogram("recordSize");
//   }
//   ... late_->Inc(); sizes_->Update(n); ...
//
// The engine scopes them as Flink does (job, task, subtask, operator) and serves them on the
// job's REST API: GET /metrics in Prometheus' text format, with labels job_id, job_name,
// task_id, task_name, subtask_index, operator_id and operator_name, and GET
// /jobs/:jobid/vertices/:vertexid/subtasks/:subtask/metrics as Flink's JSON. A metric's full
// name is its groups' names and its own, joined by '.' ("input.recordSize").
//
// Adding a name twice returns the metric already there; adding it as another type throws
// std::invalid_argument (in Open that fails the task, naming the operator).
//
// Thread-safety: each metric is written by one thread, the function's task thread, and read
// by the metrics thread: Counter, Gauge, Meter and Histogram are plain relaxed loads and
// stores, no atomic read-modify-write and no lock. The references AddX returns stay valid
// for the life of the function. MetricGroup methods are called from the function's thread.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace weir {

// A count that goes up (and down). Written by one thread.
class Counter {
 public:
  void Inc(int64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, kRelaxed); }
  void Dec(int64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) - n, kRelaxed); }
  int64_t Count() const { return v_.load(std::memory_order_relaxed); }

 private:
  static constexpr auto kRelaxed = std::memory_order_relaxed;
  std::atomic<int64_t> v_{0};
};

// A value that is set, as Flink's settable gauges. Written by one thread.
class Gauge {
 public:
  void Set(double value) { v_.store(value, std::memory_order_relaxed); }
  double Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Events and their rate: MarkEvent counts, Rate() is events per second averaged over the
// last 10 seconds (Flink's MeterView), updated every second by the metrics thread.
class Meter {
 public:
  void MarkEvent(int64_t n = 1) { count_.Inc(n); }
  int64_t Count() const { return count_.Count(); }
  double Rate() const { return rate_.load(std::memory_order_relaxed); }

  // For the metrics thread that updates the rate.
  void SetRateForUpdater(double rate) { rate_.store(rate, std::memory_order_relaxed); }

 private:
  Counter count_;
  std::atomic<double> rate_{0};
};

// What a Histogram reports, over its most recent values (at most Histogram::kWindow).
struct HistogramStatistics {
  int64_t count = 0;  // every value ever added
  int64_t min = 0;
  int64_t max = 0;
  double mean = 0;
  double stddev = 0;
  double p50 = 0, p75 = 0, p95 = 0, p98 = 0, p99 = 0, p999 = 0;
};

// The distribution of values: a window of the most recent kWindow values, as Flink's
// DescriptiveStatisticsHistogram. Update() is two relaxed stores; Statistics() copies the
// window and sorts it (the metrics thread pays, not the task).
class Histogram {
 public:
  static constexpr size_t kWindow = 1024;

  void Update(int64_t value) {
    int64_t n = count_.load(std::memory_order_relaxed);
    window_[static_cast<size_t>(n) % kWindow].store(value, std::memory_order_relaxed);
    count_.store(n + 1, std::memory_order_release);
  }
  int64_t Count() const { return count_.load(std::memory_order_relaxed); }

  HistogramStatistics Statistics() const {
    HistogramStatistics s;
    s.count = count_.load(std::memory_order_acquire);
    size_t n = static_cast<size_t>(std::min<int64_t>(s.count, kWindow));
    if (n == 0) return s;
    std::vector<int64_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = window_[i].load(std::memory_order_relaxed);
    std::sort(v.begin(), v.end());
    s.min = v.front();
    s.max = v.back();
    double sum = 0;
    for (int64_t x : v) sum += static_cast<double>(x);
    s.mean = sum / static_cast<double>(n);
    double sq = 0;
    for (int64_t x : v) sq += (static_cast<double>(x) - s.mean) * (static_cast<double>(x) - s.mean);
    s.stddev = n > 1 ? std::sqrt(sq / static_cast<double>(n - 1)) : 0;
    auto q = [&](double p) {
      return static_cast<double>(v[std::min(n - 1, static_cast<size_t>(p * static_cast<double>(n)))]);
    };
    s.p50 = q(0.50);
    s.p75 = q(0.75);
    s.p95 = q(0.95);
    s.p98 = q(0.98);
    s.p99 = q(0.99);
    s.p999 = q(0.999);
    return s;
  }

 private:
  std::array<std::atomic<int64_t>, kWindow> window_{};
  std::atomic<int64_t> count_{0};
};

// Where metrics are registered: an operator's group, or a named group within it.
class MetricGroup {
 public:
  virtual ~MetricGroup() = default;
  virtual Counter& AddCounter(std::string_view name) = 0;
  virtual Gauge& AddGauge(std::string_view name) = 0;
  virtual Meter& AddMeter(std::string_view name) = 0;
  virtual Histogram& AddHistogram(std::string_view name) = 0;
  // A named subgroup: its metrics are named "<name>.<metric>".
  virtual MetricGroup& AddGroup(std::string_view name) = 0;
};

namespace detail {

// A group whose metrics work but are reported nowhere: what an operator outside a running
// job (a unit test's context, say) gets.
class UnreportedMetricGroup final : public MetricGroup {
 public:
  Counter& AddCounter(std::string_view name) override { return Add<Counter>(counters_, name); }
  Gauge& AddGauge(std::string_view name) override { return Add<Gauge>(gauges_, name); }
  Meter& AddMeter(std::string_view name) override { return Add<Meter>(meters_, name); }
  Histogram& AddHistogram(std::string_view name) override {
    return Add<Histogram>(histograms_, name);
  }
  MetricGroup& AddGroup(std::string_view name) override {
    return Add<UnreportedMetricGroup>(groups_, name);
  }

 private:
  template <typename T>
  static T& Add(std::map<std::string, std::unique_ptr<T>, std::less<>>& m, std::string_view name) {
    auto it = m.find(name);
    if (it == m.end()) it = m.emplace(std::string(name), std::make_unique<T>()).first;
    return *it->second;
  }

  std::map<std::string, std::unique_ptr<Counter>, std::less<>> counters_;
  std::map<std::string, std::unique_ptr<Gauge>, std::less<>> gauges_;
  std::map<std::string, std::unique_ptr<Meter>, std::less<>> meters_;
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> histograms_;
  std::map<std::string, std::unique_ptr<UnreportedMetricGroup>, std::less<>> groups_;
};

}  // namespace detail
}  // namespace weir
