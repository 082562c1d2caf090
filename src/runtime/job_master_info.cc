// JobMaster: what the REST API and the metrics ask of a running job (job_master.h): status
// and its history, failures, the tasks of the current attempt, requested checkpoints and the
// job's own metrics. Kept apart from job_master.cc, which runs the job.
#include "base/logging.h"
#include "runtime/job_master.h"

namespace weir {
namespace {

constexpr size_t kFailuresKept = 100;

}  // namespace

std::future<Result<int64_t>> JobMaster::TriggerCheckpointAsync() {
  std::promise<Result<int64_t>> request;
  std::future<Result<int64_t>> done = request.get_future();
  if (!checkpointing_.enabled) {
    request.set_value(Status::FailedPrecondition(
        "job '" + job_name_ +
        "' does not take checkpoints (execution.checkpointing.interval is unset); take a "
        "savepoint instead"));
    return done;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) {
      request.set_value(Status::FailedPrecondition("job '" + job_name_ + "' is not running"));
      return done;
    }
    checkpoint_requests_.push_back(std::move(request));
  }
  cv_.notify_one();
  return done;
}

void JobMaster::StartRequestedCheckpoints() {
  std::vector<std::promise<Result<int64_t>>> requests;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (checkpoint_requests_.empty()) return;
  }
  // After the final checkpoint or a stop there is no other checkpoint to take: the requests
  // wait for the end of the job, which fails them.
  if (final_checkpoint_id_ != 0 || stopping_) return;
  // Forced: now, whatever the interval, as soon as max-concurrent-checkpoints allows.
  auto trigger = coordinator_->MaybeTrigger(/*force=*/true);
  if (trigger.ok() && !trigger->has_value()) return;  // one in progress: try again next turn
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests.swap(checkpoint_requests_);
  }
  if (!trigger.ok()) {
    for (auto& r : requests) r.set_value(trigger.status());
    return;
  }
  const auto& t = **trigger;
  spdlog::info("Triggering checkpoint {} of job '{}' on request", t.id, job_name_);
  for (auto& r : requests) awaited_checkpoints_[t.id].push_back(std::move(r));
  InjectBarrier(t.Barrier());
}

void JobMaster::ResolveCheckpointRequests(int64_t id, const Status& failure) {
  auto it = awaited_checkpoints_.find(id);
  if (it == awaited_checkpoints_.end()) return;
  for (auto& r : it->second) {
    if (failure.ok()) {
      r.set_value(id);
    } else {
      r.set_value(failure.WithContext("checkpoint " + std::to_string(id) + " failed"));
    }
  }
  awaited_checkpoints_.erase(it);
}

void JobMaster::FailCheckpointRequests(const Status& why) {
  for (auto& [id, requests] : awaited_checkpoints_) {
    for (auto& r : requests) r.set_value(why.WithContext("checkpoint " + std::to_string(id)));
  }
  awaited_checkpoints_.clear();
  std::vector<std::promise<Result<int64_t>>> queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued.swap(checkpoint_requests_);
  }
  for (auto& r : queued) r.set_value(why);
}

void JobMaster::RecordFailure(const Status& cause, bool restarted) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.push_back(JobFailure{clock_->WallMillis(), cause, restarted});
  if (failures_.size() > kFailuresKept) failures_.pop_front();
}

JobStatusInfo JobMaster::status_info() const {
  std::lock_guard<std::mutex> lock(mu_);
  JobStatusInfo info = status_info_;
  info.status = status_;
  info.restarts = restarts_;
  return info;
}

std::vector<JobFailure> JobMaster::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {failures_.begin(), failures_.end()};
}

std::vector<TaskExecutionSnapshot> JobMaster::task_executions() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TaskExecutionSnapshot> out;
  if (!attempt_ || !graph_) return out;
  const auto& vertices = graph_->vertices();
  for (const auto& task : attempt_->tasks()) {
    TaskExecutionSnapshot t;
    t.vertex = static_cast<int>(&task->vertex() - vertices.data());
    t.subtask = task->subtask();
    t.attempt = restarts_;
    const TaskExecutionInfo& e = task->execution();
    t.state = e.state.load();
    t.start_wall_ms = e.start_wall_ms.load();
    t.end_wall_ms = e.end_wall_ms.load();
    out.push_back(t);
  }
  return out;
}

void JobMaster::RegisterJobMetrics() {
  metric_registry_ = std::make_unique<MetricRegistry>(clock_);
  MetricScope scope;
  scope.job_id = job_id_;
  scope.job_name = job_name_;
  env_.metrics = metric_registry_.get();
  env_.metric_scope = scope;
  job_metrics_ = metric_registry_->CreateGroup(scope);
  MetricRegistry::Group& g = *job_metrics_;
  // Flink's job metrics: uptime is the time since the job last started RUNNING, 0 while it
  // is not running (Flink's -1 for a finished job reads badly in a graph).
  g.AddFunction("uptime", MetricType::kGauge, [this] {
    JobStatusInfo info = status_info();
    if (info.status != JobStatus::kRunning) return 0.0;
    int64_t since = info.timestamps[static_cast<size_t>(JobStatus::kRunning)];
    return static_cast<double>(std::max<int64_t>(0, clock_->WallMillis() - since));
  });
  g.AddFunction("numRestarts", MetricType::kCounter,
                [this] { return static_cast<double>(status_info().restarts); });
  CheckpointStatsTracker* stats = checkpoint_stats_.get();
  auto completed = [stats] { return stats->Snapshot(); };
  g.AddFunction("numberOfCompletedCheckpoints", MetricType::kCounter,
                [completed] { return static_cast<double>(completed().completed); });
  g.AddFunction("numberOfFailedCheckpoints", MetricType::kCounter,
                [completed] { return static_cast<double>(completed().failed); });
  g.AddFunction("numberOfInProgressCheckpoints", MetricType::kGauge,
                [completed] { return static_cast<double>(completed().in_progress); });
  g.AddFunction("totalNumberOfCheckpoints", MetricType::kCounter,
                [completed] { return static_cast<double>(completed().total); });
  g.AddFunction("lastCheckpointDuration", MetricType::kGauge, [completed] {
    auto s = completed();
    return s.latest_completed ? static_cast<double>(s.latest_completed->end_to_end_ms()) : 0.0;
  });
  // As Flink's: the size is what the checkpoint wrote, the full size all the state it holds
  // (they differ when an incremental checkpoint reuses earlier files).
  g.AddFunction("lastCheckpointSize", MetricType::kGauge, [completed] {
    auto s = completed();
    return s.latest_completed ? static_cast<double>(s.latest_completed->checkpointed_size) : 0.0;
  });
  g.AddFunction("lastCheckpointFullSize", MetricType::kGauge, [completed] {
    auto s = completed();
    return s.latest_completed ? static_cast<double>(s.latest_completed->state_size) : 0.0;
  });
  g.AddFunction("lastCheckpointRestoreTimestamp", MetricType::kGauge, [completed] {
    auto s = completed();
    return s.latest_restored ? static_cast<double>(s.latest_restored->restore_wall_ms) : 0.0;
  });
  metric_registry_->Start();
}

}  // namespace weir
