#include "metrics/metric_registry.h"

#include <stdexcept>

namespace weir {

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kMeter:
      return "meter";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "gauge";
}

MetricRegistry::MetricRegistry(Clock* clock) : clock_(clock) {}

MetricRegistry::~MetricRegistry() { Stop(); }

void MetricRegistry::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Run(); });
}

void MetricRegistry::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MetricRegistry::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, kTick, [this] { return stop_; });
    if (stop_) break;
    UpdateRatesLocked();
  }
}

void MetricRegistry::UpdateRates() {
  std::lock_guard<std::mutex> lock(mu_);
  UpdateRatesLocked();
}

void MetricRegistry::UpdateRatesLocked() {
  const int64_t now = clock_->NowNanos();
  const int64_t window = std::chrono::nanoseconds(kRateWindow).count();
  for (auto& [id, scope] : scopes_) {
    for (auto& rate : scope.rates) {
      auto& samples = rate->samples;
      if (!samples.empty() && samples.back().first >= now) continue;  // a manual clock stood
      samples.emplace_back(now, rate->sample());
      while (samples.size() > 2 && now - samples[1].first >= window) samples.pop_front();
      if (samples.size() >= 2) {
        double dt = static_cast<double>(now - samples.front().first) / 1e9;
        double dv = samples.back().second - samples.front().second;
        rate->value = dt > 0 ? rate->scale * dv / dt : 0;
      }
      if (rate->meter != nullptr) rate->meter->SetRateForUpdater(rate->value);
    }
  }
}

std::unique_ptr<MetricRegistry::Group> MetricRegistry::CreateGroup(MetricScope scope) {
  auto labels = std::make_shared<const MetricScope>(std::move(scope));
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_scope_++;
    scopes_[id].labels = labels;
  }
  return std::unique_ptr<Group>(new Group(this, id, std::move(labels), "", /*owns_scope=*/true));
}

void MetricRegistry::RemoveScope(uint64_t id) {
  Scope removed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = scopes_.find(id);
    if (it == scopes_.end()) return;
    removed = std::move(it->second);
    scopes_.erase(it);
  }
  // `removed` is destroyed here, outside the lock: its functions may own resources.
}

MetricRegistry::Entry* MetricRegistry::FindLocked(Scope& s, std::string_view name) {
  for (auto& e : s.entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::vector<MetricValue> MetricRegistry::Snapshot(
    const std::function<bool(const MetricScope&)>& filter) const {
  std::vector<MetricValue> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, scope] : scopes_) {
    if (filter && !filter(*scope.labels)) continue;
    for (const auto& e : scope.entries) {
      MetricValue v;
      v.scope = scope.labels;
      v.name = e.name;
      v.type = e.type;
      if (e.type == MetricType::kHistogram) {
        v.histogram = e.histogram->Statistics();
        v.value = static_cast<double>(v.histogram.count);
        v.count = v.histogram.count;
      } else {
        v.value = e.read();
        if (e.count) v.count = e.count();
      }
      out.push_back(std::move(v));
    }
  }
  return out;
}

// ---- Group ------------------------------------------------------------------------------------

MetricRegistry::Group::Group(MetricRegistry* registry, uint64_t id,
                             std::shared_ptr<const MetricScope> scope, std::string prefix,
                             bool owns_scope)
    : registry_(registry),
      id_(id),
      scope_(std::move(scope)),
      prefix_(std::move(prefix)),
      owns_scope_(owns_scope) {}

MetricRegistry::Group::~Group() {
  children_.clear();
  if (owns_scope_) registry_->RemoveScope(id_);
}

template <typename T>
T& MetricRegistry::Group::AddOwned(std::string_view name, MetricType type) {
  std::string full = prefix_ + std::string(name);
  if (name.empty()) throw std::invalid_argument("a metric needs a name");
  std::lock_guard<std::mutex> lock(registry_->mu_);
  Scope& s = registry_->scopes_[id_];
  if (Entry* e = registry_->FindLocked(s, full)) {
    if (e->type != type || e->owner == nullptr) {
      throw std::invalid_argument("metric '" + full + "' is already registered as a " +
                                  std::string(MetricTypeName(e->type)));
    }
    return *static_cast<T*>(e->owner.get());
  }
  auto metric = std::make_shared<T>();
  T* raw = metric.get();
  Entry e;
  e.name = std::move(full);
  e.type = type;
  e.owner = metric;
  if constexpr (std::is_same_v<T, Counter>) {
    e.read = [raw] { return static_cast<double>(raw->Count()); };
  } else if constexpr (std::is_same_v<T, Gauge>) {
    e.read = [raw] { return raw->Value(); };
  } else if constexpr (std::is_same_v<T, Meter>) {
    e.read = [raw] { return raw->Rate(); };
    e.count = [raw] { return raw->Count(); };
    auto rate = std::make_shared<Rate>();
    rate->sample = [raw] { return static_cast<double>(raw->Count()); };
    rate->meter = raw;
    s.rates.push_back(std::move(rate));
  } else {
    e.histogram = raw;
  }
  s.entries.push_back(std::move(e));
  return *raw;
}

Counter& MetricRegistry::Group::AddCounter(std::string_view name) {
  return AddOwned<Counter>(name, MetricType::kCounter);
}
Gauge& MetricRegistry::Group::AddGauge(std::string_view name) {
  return AddOwned<Gauge>(name, MetricType::kGauge);
}
Meter& MetricRegistry::Group::AddMeter(std::string_view name) {
  return AddOwned<Meter>(name, MetricType::kMeter);
}
Histogram& MetricRegistry::Group::AddHistogram(std::string_view name) {
  return AddOwned<Histogram>(name, MetricType::kHistogram);
}

MetricGroup& MetricRegistry::Group::AddGroup(std::string_view name) {
  if (name.empty()) throw std::invalid_argument("a metric group needs a name");
  auto it = children_.find(name);
  if (it == children_.end()) {
    std::unique_ptr<Group> child(
        new Group(registry_, id_, scope_, prefix_ + std::string(name) + ".", false));
    it = children_.emplace(std::string(name), std::move(child)).first;
  }
  return *it->second;
}

void MetricRegistry::Group::AddFunction(std::string_view name, MetricType type,
                                        std::function<double()> read) {
  std::lock_guard<std::mutex> lock(registry_->mu_);
  Scope& s = registry_->scopes_[id_];
  Entry e;
  e.name = prefix_ + std::string(name);
  e.type = type;
  e.read = std::move(read);
  if (Entry* old = registry_->FindLocked(s, e.name)) {
    *old = std::move(e);
  } else {
    s.entries.push_back(std::move(e));
  }
}

void MetricRegistry::Group::AddRate(std::string_view name, std::function<double()> sample,
                                    double scale) {
  auto rate = std::make_shared<Rate>();
  rate->sample = std::move(sample);
  rate->scale = scale;
  std::weak_ptr<Rate> weak = rate;
  {
    std::lock_guard<std::mutex> lock(registry_->mu_);
    registry_->scopes_[id_].rates.push_back(rate);
  }
  // Read under the registry's lock, like the updates: the plain double needs no atomic.
  AddFunction(name, MetricType::kGauge, [weak] {
    auto r = weak.lock();
    return r ? r->value : 0.0;
  });
}

}  // namespace weir
