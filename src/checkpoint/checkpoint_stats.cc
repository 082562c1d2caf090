#include "checkpoint/checkpoint_stats.h"

#include <algorithm>

namespace weir {
namespace {

constexpr size_t kSummaryWindow = 1000;

}  // namespace

StatsSummary Summarize(std::vector<int64_t> v) {
  StatsSummary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.count = static_cast<int64_t>(v.size());
  s.min = v.front();
  s.max = v.back();
  long double sum = 0;
  for (int64_t x : v) sum += x;
  s.avg = static_cast<int64_t>(sum / static_cast<long double>(v.size()));
  auto q = [&](double p) {
    size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    return static_cast<double>(v[i]);
  };
  s.p50 = q(0.5);
  s.p90 = q(0.9);
  s.p95 = q(0.95);
  s.p99 = q(0.99);
  s.p999 = q(0.999);
  return s;
}

namespace {

StatsSummary SummarizeWindow(const std::deque<int64_t>& values) {
  return Summarize(std::vector<int64_t>(values.begin(), values.end()));
}

void Push(std::deque<int64_t>& d, int64_t v) {
  d.push_back(v);
  if (d.size() > kSummaryWindow) d.pop_front();
}

}  // namespace

int64_t CheckpointStats::end_to_end_ms() const {
  int64_t end = end_wall_ms != 0 ? end_wall_ms : latest_ack_wall_ms;
  return end == 0 ? 0 : std::max<int64_t>(0, end - trigger_wall_ms);
}

CheckpointStatsTracker::CheckpointStatsTracker(int num_subtasks, size_t history_size)
    : num_subtasks_(num_subtasks), history_size_(std::max<size_t>(1, history_size)) {}

CheckpointStats* CheckpointStatsTracker::FindLocked(int64_t id) {
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    if (it->id == id) return &*it;
  }
  return nullptr;
}

void CheckpointStatsTracker::ReportTriggered(int64_t id, CheckpointType type,
                                             int64_t trigger_wall_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  CheckpointStats c;
  c.id = id;
  c.type = type;
  c.trigger_wall_ms = trigger_wall_ms;
  c.num_subtasks = num_subtasks_;
  history_.push_back(std::move(c));
  ++total_;
  // Entries still in progress are never dropped: the count of those stays right.
  while (history_.size() > history_size_) {
    auto victim = std::find_if(history_.begin(), history_.end(), [](const CheckpointStats& s) {
      return s.status != CheckpointStats::Status::kInProgress;
    });
    if (victim == history_.end()) break;
    history_.erase(victim);
  }
}

void CheckpointStatsTracker::ReportAcknowledged(int64_t id, int task_index, int64_t wall_ms,
                                                const SubtaskCheckpointStats& stats) {
  std::lock_guard<std::mutex> lock(mu_);
  CheckpointStats* c = FindLocked(id);
  if (c == nullptr || c->status != CheckpointStats::Status::kInProgress) return;
  SubtaskCheckpointStats s = stats;
  s.ack_wall_ms = wall_ms;
  auto [it, inserted] = c->acks.emplace(task_index, s);
  if (!inserted) return;
  c->latest_ack_wall_ms = std::max(c->latest_ack_wall_ms, wall_ms);
  c->state_size += s.state_size;
  c->checkpointed_size += s.checkpointed_size;
  c->alignment_ms = std::max(c->alignment_ms, s.alignment_ms);
}

void CheckpointStatsTracker::RecordSummaryLocked(const CheckpointStats& c) {
  Push(sizes_, static_cast<int64_t>(c.state_size));
  Push(checkpointed_sizes_, static_cast<int64_t>(c.checkpointed_size));
  Push(durations_, c.end_to_end_ms());
  Push(alignments_, c.alignment_ms);
}

void CheckpointStatsTracker::ReportCompleted(int64_t id, int64_t wall_ms, StateSizes sizes,
                                             std::string path) {
  std::lock_guard<std::mutex> lock(mu_);
  CheckpointStats* c = FindLocked(id);
  if (c == nullptr || c->status != CheckpointStats::Status::kInProgress) return;
  c->status = CheckpointStats::Status::kCompleted;
  c->end_wall_ms = wall_ms;
  c->latest_ack_wall_ms = std::max(c->latest_ack_wall_ms, wall_ms);
  c->state_size = sizes.full;
  c->checkpointed_size = sizes.checkpointed;
  c->external_path = std::move(path);
  ++completed_;
  RecordSummaryLocked(*c);
  if (c->savepoint()) {
    latest_savepoint_ = *c;
  } else {
    latest_completed_ = *c;
  }
}

void CheckpointStatsTracker::ReportFailed(int64_t id, int64_t wall_ms, std::string message) {
  std::lock_guard<std::mutex> lock(mu_);
  CheckpointStats* c = FindLocked(id);
  if (c == nullptr || c->status != CheckpointStats::Status::kInProgress) return;
  c->status = CheckpointStats::Status::kFailed;
  c->end_wall_ms = wall_ms;
  c->failure_message = std::move(message);
  ++failed_;
  latest_failed_ = *c;
}

void CheckpointStatsTracker::ReportRestored(int64_t id, int64_t wall_ms, std::string path,
                                            bool savepoint) {
  std::lock_guard<std::mutex> lock(mu_);
  ++restored_;
  latest_restored_ = RestoredCheckpointStats{id, wall_ms, savepoint, std::move(path)};
}

CheckpointStatsSnapshot CheckpointStatsTracker::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  CheckpointStatsSnapshot s;
  s.restored = restored_;
  s.total = total_;
  s.completed = completed_;
  s.failed = failed_;
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    if (it->status == CheckpointStats::Status::kInProgress) ++s.in_progress;
    s.history.push_back(*it);
  }
  s.latest_completed = latest_completed_;
  s.latest_savepoint = latest_savepoint_;
  s.latest_failed = latest_failed_;
  s.latest_restored = latest_restored_;
  s.state_size = SummarizeWindow(sizes_);
  s.checkpointed_size = SummarizeWindow(checkpointed_sizes_);
  s.end_to_end_duration = SummarizeWindow(durations_);
  s.alignment = SummarizeWindow(alignments_);
  return s;
}

std::optional<CheckpointStats> CheckpointStatsTracker::Find(int64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& c : history_) {
    if (c.id == id) return c;
  }
  return std::nullopt;
}

std::string CheckpointStatsTracker::FailureOf(int64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& c : history_) {
    if (c.id == id) return c.failure_message;
  }
  return "";
}

}  // namespace weir
