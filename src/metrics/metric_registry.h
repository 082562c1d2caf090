// MetricRegistry: every metric of one job, by scope, and the thread that keeps rates current.
//
// A scope is where a metric belongs, as Flink scopes them: the job, a task subtask (a chain
// of operators on one thread), or an operator subtask; its labels name the job, task,
// subtask and operator. Code that owns a scope (the job master, a task) creates a Group for
// it and drops the Group when the scope ends; the Group's metrics leave the registry then.
//
// Metrics are the public types of weir/metrics.h, plus what the engine adds: function
// gauges (a value read when the metrics are read) and rates (per second, over the last
// kRateWindow, of a cumulative value sampled every kTick by the registry's own thread).
// Readers (the REST API, Prometheus) take a Snapshot: plain values, read under the
// registry's lock, so a function gauge never runs after its Group is gone.
//
// Thread-safety: thread-safe. Function gauges and rate samplers run on reader threads and
// the updater thread, under the registry's lock: they must be quick and read only what is
// safe to read from another thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "weir/metrics.h"

namespace weir {

enum class MetricType { kCounter, kGauge, kMeter, kHistogram };
std::string_view MetricTypeName(MetricType type);

struct MetricScope {
  enum class Level { kJob, kTask, kOperator };
  Level level = Level::kJob;
  std::string job_id;
  std::string job_name;
  std::string task_id;  // the job vertex id (kTask, kOperator)
  std::string task_name;
  int subtask_index = -1;
  std::string operator_id;  // the operator's uid (kOperator)
  std::string operator_name;
};

// One metric as read at Snapshot time.
struct MetricValue {
  std::shared_ptr<const MetricScope> scope;
  std::string name;  // "numRecordsIn", "rocksdb.estimate-num-keys", "input.recordSize"
  MetricType type;
  double value = 0;  // counters and gauges; a meter's rate; a histogram's count
  int64_t count = 0;  // a meter's events
  HistogramStatistics histogram;  // histograms
};

class MetricRegistry {
 public:
  static constexpr std::chrono::seconds kTick{1};
  static constexpr std::chrono::seconds kRateWindow{10};

  class Group;

  explicit MetricRegistry(Clock* clock);
  ~MetricRegistry();
  MetricRegistry(const MetricRegistry&) = delete;
  MetricRegistry& operator=(const MetricRegistry&) = delete;

  // Starts the thread that updates rates every kTick; Stop (idempotent) ends it.
  void Start();
  void Stop();

  // A group for `scope`; its metrics stay registered while the Group lives.
  std::unique_ptr<Group> CreateGroup(MetricScope scope);

  // Every metric, read now. `filter` (may be empty) selects scopes.
  std::vector<MetricValue> Snapshot(
      const std::function<bool(const MetricScope&)>& filter = {}) const;

  // Updates every rate as the updater thread does (tests drive it with a manual clock).
  void UpdateRates();

 private:
  struct Entry {
    std::string name;
    MetricType type;
    std::function<double()> read;           // counters, gauges, meters (rate)
    std::function<int64_t()> count;         // meters
    const Histogram* histogram = nullptr;   // histograms
    std::shared_ptr<void> owner;            // keeps a user metric alive
  };
  struct Rate {
    std::function<double()> sample;
    double scale = 1;
    std::deque<std::pair<int64_t, double>> samples;  // (nanos, value), oldest first
    double value = 0;
    Meter* meter = nullptr;  // published into a user meter
  };
  struct Scope {
    std::shared_ptr<const MetricScope> labels;
    std::vector<Entry> entries;
    std::vector<std::shared_ptr<Rate>> rates;
  };

  void Run();
  void UpdateRatesLocked();
  Entry* FindLocked(Scope& s, std::string_view name);
  void RemoveScope(uint64_t id);

  Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Scope> scopes_;  // guarded by mu_
  uint64_t next_scope_ = 1;           // guarded by mu_
  bool stop_ = false;                 // guarded by mu_
  std::thread thread_;
};

// The metrics of one scope, or of a named group within it ("input." before each name).
class MetricRegistry::Group final : public MetricGroup {
 public:
  ~Group() override;

  Counter& AddCounter(std::string_view name) override;
  Gauge& AddGauge(std::string_view name) override;
  Meter& AddMeter(std::string_view name) override;
  Histogram& AddHistogram(std::string_view name) override;
  MetricGroup& AddGroup(std::string_view name) override;

  // Engine metrics. A function gauge's value (reported as `type`: kCounter for a count the
  // engine keeps elsewhere, kGauge otherwise) is `read()`, called on a reader's thread.
  void AddFunction(std::string_view name, MetricType type, std::function<double()> read);
  // A gauge: `scale` times the per-second rate of the cumulative value `sample()`.
  void AddRate(std::string_view name, std::function<double()> sample, double scale = 1);

  const MetricScope& scope() const { return *scope_; }

 private:
  friend class MetricRegistry;
  Group(MetricRegistry* registry, uint64_t id, std::shared_ptr<const MetricScope> scope,
        std::string prefix, bool owns_scope);

  // Registers a user metric of type T under `name`, or returns the one already there.
  template <typename T>
  T& AddOwned(std::string_view name, MetricType type);

  MetricRegistry* registry_;
  uint64_t id_;
  std::shared_ptr<const MetricScope> scope_;
  std::string prefix_;
  bool owns_scope_;
  std::map<std::string, std::unique_ptr<Group>, std::less<>> children_;  // owner thread only
};

}  // namespace weir
