#include "checkpoint/checkpoint_coordinator.h"

#include <algorithm>

#include "base/logging.h"

namespace weir {
namespace {

// The bytes a task's acknowledgement of checkpoint `id` adds to it: inline operator state and
// files.
StateSizes AcknowledgedSizes(const CheckpointAcknowledgement& ack, int64_t id) {
  StateSizes sizes;
  for (const auto& s : ack.states) sizes += SizesOf(s.state, id);
  return sizes;
}

}  // namespace

CheckpointCoordinator::CheckpointCoordinator(Options options, CheckpointStorage* storage,
                                             Clock* clock)
    : options_(std::move(options)),
      storage_(storage),
      clock_(clock),
      job_dir_(storage->JobDir(options_.job_id)),
      last_trigger_nanos_(clock->NowNanos()) {}

void CheckpointCoordinator::Initialize(std::vector<CompletedCheckpoint> retained, int64_t next_id) {
  completed_.assign(std::make_move_iterator(retained.begin()),
                    std::make_move_iterator(retained.end()));
  next_id_ = next_id;
}

int64_t CheckpointCoordinator::NextTriggerNanos() const {
  const auto& o = options_.checkpointing;
  int64_t due = last_trigger_nanos_ + o.interval.count() * 1'000'000;
  if (last_completion_nanos_) {
    due = std::max(due, *last_completion_nanos_ + o.min_pause.count() * 1'000'000);
  }
  return due;
}

bool CheckpointCoordinator::TriggerHeldBack() const {
  const auto& o = options_.checkpointing;
  // A min pause means one checkpoint at a time, as in Flink.
  return pending_count() >= o.max_concurrent || (o.min_pause.count() > 0 && !pending_.empty());
}

Result<std::optional<CheckpointCoordinator::Trigger>> CheckpointCoordinator::MaybeTrigger(
    bool force) {
  const auto& o = options_.checkpointing;
  if (!o.enabled || TriggerHeldBack()) return std::optional<Trigger>();
  int64_t now = clock_->NowNanos();
  if (!force && now < NextTriggerNanos()) return std::optional<Trigger>();

  int64_t id = next_id_++;
  last_trigger_nanos_ = now;
  auto location = storage_->InitCheckpoint(options_.job_id, id);
  if (!location.ok()) {
    // An existing chk-<id> directory is not ours to delete: it may hold a checkpoint.
    Fail(id, location.status(), /*counts=*/true,
         /*discard_dir=*/location.status().code() != StatusCode::kAlreadyExists);
    return location.status().WithContext("starting checkpoint " + std::to_string(id));
  }
  Pending p{.id = id, .trigger_nanos = now, .trigger_wall_ms = clock_->WallMillis(),
            .location = *location, .acks = {}};
  Trigger t{id, p.trigger_wall_ms, p.location};
  pending_.emplace(id, std::move(p));
  metrics_.in_progress = pending_count();
  if (options_.stats != nullptr) {
    options_.stats->ReportTriggered(id, CheckpointType::kCheckpoint, t.wall_ms);
  }
  spdlog::debug("Triggering checkpoint {} for job {}", id, options_.job_id);
  return std::optional<Trigger>(std::move(t));
}

Result<CheckpointCoordinator::Trigger> CheckpointCoordinator::TriggerSavepoint(
    const std::string& target_dir, bool stop, bool drain) {
  int64_t id = next_id_++;
  auto location = storage_->InitSavepoint(options_.job_id, target_dir);
  if (!location.ok())
    return location.status().WithContext("starting savepoint " + std::to_string(id));
  Pending p{.id = id, .trigger_nanos = clock_->NowNanos(), .trigger_wall_ms = clock_->WallMillis(),
            .location = *location, .acks = {}, .savepoint = true};
  Trigger t{id, p.trigger_wall_ms, p.location,
            stop ? CheckpointType::kStopWithSavepoint : CheckpointType::kSavepoint, stop && drain};
  pending_.emplace(id, std::move(p));
  if (options_.stats != nullptr) options_.stats->ReportTriggered(id, t.type, t.wall_ms);
  spdlog::info("Triggering savepoint {} for job {} into {}", id, options_.job_id,
               location->base_dir());
  return t;
}

std::vector<std::pair<int64_t, Status>> CheckpointCoordinator::TakeFailedSavepoints() {
  std::vector<std::pair<int64_t, Status>> out;
  out.swap(failed_savepoints_);
  return out;
}

std::optional<CheckpointCoordinator::Completion> CheckpointCoordinator::Acknowledge(
    int64_t id, CheckpointAcknowledgement ack) {
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    DiscardFailedSavepointAgain(id);
    return std::nullopt;
  }
  Pending& p = it->second;
  p.max_start_delay_ms = std::max(p.max_start_delay_ms, ack.start_delay_ms);
  p.max_alignment_ms = std::max(p.max_alignment_ms, ack.alignment_ms);
  p.max_sync_ms = std::max(p.max_sync_ms, ack.sync_ms);
  p.max_async_ms = std::max(p.max_async_ms, ack.async_ms);
  if (options_.stats != nullptr) {
    StateSizes sizes = AcknowledgedSizes(ack, id);
    options_.stats->ReportAcknowledged(
        id, ack.task_index, clock_->WallMillis(),
        SubtaskCheckpointStats{.state_size = sizes.full,
                               .checkpointed_size = sizes.checkpointed,
                               .sync_ms = ack.sync_ms,
                               .async_ms = ack.async_ms,
                               .alignment_ms = ack.alignment_ms,
                               .start_delay_ms = ack.start_delay_ms});
  }
  int task = ack.task_index;
  p.acks[task] = std::move(ack);
  if (static_cast<int>(p.acks.size()) < options_.num_tasks) return std::nullopt;
  if (p.savepoint) {
    Status error;
    CheckpointMetadata m = BuildMetadata(p, &error);
    if (!error.ok()) {
      Fail(id, error, /*counts=*/false);
      return std::nullopt;
    }
    return CompleteSavepoint(p, std::move(m));
  }
  if (!Complete(p)) return std::nullopt;
  return Completion{id, false, latest()->dir};
}

std::optional<CheckpointCoordinator::Completion> CheckpointCoordinator::CompleteSavepoint(
    Pending& p, CheckpointMetadata m) {
  int64_t id = p.id;
  m.savepoint = true;
  Status s = storage_->WriteMetadata(p.location, m);
  if (!s.ok()) {
    Fail(id, s, /*counts=*/false);
    return std::nullopt;
  }
  std::string path = p.location.base_dir();
  StateSizes sizes = m.Sizes();
  if (options_.stats != nullptr) {
    options_.stats->ReportCompleted(id, clock_->WallMillis(), sizes, path);
  }
  spdlog::info("Completed savepoint {} for job {} at {} ({}, {} ms)", id, options_.job_id, path,
               FormatBytes(sizes.full), (clock_->NowNanos() - p.trigger_nanos) / 1'000'000);
  pending_.erase(id);
  metrics_.in_progress = pending_count();
  return Completion{id, true, path};
}

CheckpointMetadata CheckpointCoordinator::BuildMetadata(Pending& p, Status* error) {
  CheckpointMetadata m;
  m.checkpoint_id = p.id;
  m.trigger_wall_ms = p.trigger_wall_ms;
  m.completed_wall_ms = clock_->WallMillis();
  m.job_id = options_.job_id;
  m.job_name = options_.job_name;
  for (const auto& info : options_.operators) {
    OperatorSnapshotMetadata op;
    op.uid = info.uid;
    op.name = info.name;
    op.parallelism = info.parallelism;
    op.max_parallelism = info.max_parallelism;
    op.subtasks.resize(static_cast<size_t>(info.parallelism));
    m.operators.push_back(std::move(op));
  }
  for (auto& [task, ack] : p.acks) {
    for (auto& s : ack.states) {
      auto op = std::find_if(m.operators.begin(), m.operators.end(),
                             [&](const auto& o) { return o.uid == s.uid; });
      if (op == m.operators.end() || s.subtask < 0 || s.subtask >= op->parallelism) {
        *error = Status::Internal("acknowledgement for unknown operator '" + s.uid + "'");
        return m;
      }
      op->subtasks[static_cast<size_t>(s.subtask)] = std::move(s.state);
    }
  }
  return m;
}

bool CheckpointCoordinator::Complete(Pending& p) {
  Status error;
  CheckpointMetadata m = BuildMetadata(p, &error);
  if (!error.ok()) {
    Fail(p.id, error, /*counts=*/true);
    return false;
  }
  int64_t id = p.id;
  Status s = storage_->WriteMetadata(p.location, m);
  if (!s.ok()) {
    Fail(id, s, /*counts=*/true);
    return false;
  }
  int64_t now = clock_->NowNanos();
  int64_t duration_ms = (now - p.trigger_nanos) / 1'000'000;
  StateSizes sizes = m.Sizes();
  uint64_t size = sizes.full;
  int64_t alignment = p.max_alignment_ms;
  const int64_t start_delay = p.max_start_delay_ms;
  const int64_t sync_ms = p.max_sync_ms, async_ms = p.max_async_ms;  // p is erased below
  CompletedCheckpoint c;
  c.dir = JoinPath(job_dir_, CheckpointStorage::CheckpointDirName(id));
  c.base_dir = job_dir_;
  c.job_dir = job_dir_;
  c.metadata = std::move(m);
  if (options_.stats != nullptr) {
    options_.stats->ReportCompleted(id, clock_->WallMillis(), sizes, c.dir);
  }
  completed_.push_back(std::move(c));
  pending_.erase(id);
  // Older pending checkpoints can no longer complete usefully: this one subsumes them.
  // Savepoints are not subsumed: someone waits for each.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->first < id && !it->second.savepoint) {
      (void)storage_->Discard(JoinPath(job_dir_, CheckpointStorage::CheckpointDirName(it->first)));
      if (options_.stats != nullptr) {
        options_.stats->ReportFailed(it->first, clock_->WallMillis(),
                                     "subsumed by checkpoint " + std::to_string(id));
      }
      aborted_.push_back(it->first);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  last_completion_nanos_ = now;
  consecutive_failures_ = 0;
  metrics_.completed++;
  metrics_.in_progress = pending_count();
  metrics_.last_completed_id = id;
  metrics_.last_duration_ms = duration_ms;
  metrics_.last_size_bytes = size;
  metrics_.last_checkpointed_bytes = sizes.checkpointed;
  metrics_.last_alignment_ms = alignment;
  metrics_.last_completed_wall_ms = clock_->WallMillis();
  if (metrics_.history.size() >= 1000) metrics_.history.erase(metrics_.history.begin());
  metrics_.history.push_back(
      CompletedCheckpointStats{id, duration_ms, size, alignment, sizes.checkpointed,
                               sync_ms, async_ms});
  // The start delay is where a checkpoint behind back-pressured records spends its time.
  spdlog::info("Completed checkpoint {} for job {} ({}, {} ms, start delay {} ms, alignment {} ms)",
               id, options_.job_id, FormatBytes(size), duration_ms, start_delay, alignment);
  CleanUpAfterCompletion(id);
  return true;
}

void CheckpointCoordinator::CleanUpAfterCompletion(int64_t completed_id) {
  while (static_cast<int>(completed_.size()) > options_.checkpointing.num_retained) {
    Status s = storage_->Discard(completed_.front().dir);
    if (!s.ok()) spdlog::warn("Could not delete subsumed checkpoint: {}", s.ToString());
    completed_.pop_front();
  }
  // Anything in the job directory below the newest checkpoint that is neither retained nor
  // in progress is left over from a failure: delete it, so nothing is orphaned.
  std::set<int64_t> keep;
  for (const auto& c : completed_) keep.insert(c.id());
  if (auto ids = storage_->ListCheckpointIds(job_dir_); ids.ok()) {
    for (int64_t id : *ids) {
      if (id < completed_id && !keep.contains(id) && !pending_.contains(id)) {
        (void)storage_->Discard(JoinPath(job_dir_, CheckpointStorage::CheckpointDirName(id)));
      }
    }
  }
  std::set<std::string> referenced;
  for (const auto& c : completed_) {
    for (const StateFile* f : c.metadata.Files()) referenced.insert(f->path);
  }
  Status s = storage_->SweepSharedFiles(job_dir_, referenced, completed_id);
  if (!s.ok()) spdlog::warn("Could not clean up shared checkpoint files: {}", s.ToString());
}

void CheckpointCoordinator::Fail(int64_t id, const Status& reason, bool counts, bool discard_dir) {
  if (options_.stats != nullptr) {
    options_.stats->ReportFailed(id, clock_->WallMillis(), reason.ToString());
  }
  auto it = pending_.find(id);
  if (it != pending_.end() && it->second.savepoint) {
    // A savepoint's directory is its own; its failure goes to whoever asked for it.
    (void)storage_->Discard(it->second.location.base_dir());
    failed_savepoint_dirs_[id] = it->second.location.base_dir();
    failed_savepoints_.emplace_back(id, reason);
    spdlog::warn("Savepoint {} of job {} failed: {}", id, options_.job_id, reason.ToString());
    pending_.erase(it);
    aborted_.push_back(id);
    metrics_.in_progress = pending_count();
    return;
  }
  pending_.erase(id);
  if (discard_dir) {
    (void)storage_->Discard(JoinPath(job_dir_, CheckpointStorage::CheckpointDirName(id)));
  }
  aborted_.push_back(id);
  metrics_.in_progress = pending_count();
  if (!counts) return;
  metrics_.failed++;
  ++consecutive_failures_;
  spdlog::warn("Checkpoint {} of job {} failed: {}", id, options_.job_id, reason.ToString());
  if (consecutive_failures_ > options_.checkpointing.tolerable_failures && failure_.ok()) {
    failure_ = Status::Aborted(
        "exceeded the checkpoint failure threshold (execution.checkpointing."
        "tolerable-failed-checkpoints = " +
        std::to_string(options_.checkpointing.tolerable_failures) + "); last failure: checkpoint " +
        std::to_string(id) + ": " + reason.ToString());
  }
}

void CheckpointCoordinator::DiscardFailedSavepointAgain(int64_t id) {
  auto it = failed_savepoint_dirs_.find(id);
  if (it != failed_savepoint_dirs_.end()) (void)storage_->Discard(it->second);
}

void CheckpointCoordinator::Decline(int64_t id, const Status& reason) {
  if (!pending_.contains(id)) {
    DiscardFailedSavepointAgain(id);
    return;
  }
  Fail(id, reason.WithContext("declined"), /*counts=*/true);
}

void CheckpointCoordinator::CheckTimeouts() {
  int64_t now = clock_->NowNanos();
  int64_t timeout = options_.checkpointing.timeout.count() * 1'000'000;
  std::vector<int64_t> expired;
  for (const auto& [id, p] : pending_) {
    if (now - p.trigger_nanos >= timeout) expired.push_back(id);
  }
  for (int64_t id : expired) {
    Fail(id,
         Status::TimedOut("checkpoint expired before completing (execution.checkpointing."
                          "timeout = " +
                          FormatDuration(options_.checkpointing.timeout) + ")"),
         /*counts=*/true);
  }
}

void CheckpointCoordinator::AbortAll(std::string_view reason) {
  std::vector<int64_t> ids;
  for (const auto& [id, p] : pending_) ids.push_back(id);
  for (int64_t id : ids) Fail(id, Status::Aborted(std::string(reason)), /*counts=*/false);
}

std::vector<int64_t> CheckpointCoordinator::TakeAborted() {
  std::vector<int64_t> out;
  out.swap(aborted_);
  return out;
}

void CheckpointCoordinator::Shutdown(JobStatus final_status, bool restore_found_corruption) {
  AbortAll("the job ended");
  for (const auto& [id, dir] : failed_savepoint_dirs_) (void)storage_->Discard(dir);
  failed_savepoint_dirs_.clear();
  // A failover that could not read the latest checkpoint ends the job (no restart cures a
  // corrupt file); the checkpoints before it may be whole, and "latest" passes over a corrupt
  // one: deleting them would lose the job's state for good.
  if (final_status == JobStatus::kFailed && restore_found_corruption) {
    spdlog::warn("Keeping the checkpoints of job {} in {}: a restore found one corrupt, and an "
                 "older one may restore (--restore latest skips a corrupt one)",
                 options_.job_id, job_dir_);
    if (latest() != nullptr) metrics_.kept_checkpoint = latest()->dir;
    return;
  }
  // A run that restored a checkpoint and ended without one of its own (a restore that
  // failed, say) leaves what it was asked to restore as it found it.
  if (final_status != JobStatus::kFinished && metrics_.restored_from_id > 0 &&
      metrics_.completed == 0) {
    spdlog::info("Keeping the checkpoints of job {}: it was restored from {} and ended {} "
                 "before completing a checkpoint of its own",
                 options_.job_id, metrics_.restored_from_path, JobStatusName(final_status));
    if (!metrics_.restored_from_savepoint) metrics_.kept_checkpoint = metrics_.restored_from_path;
    return;
  }
  using R = CheckpointOptions::Retention;
  R r = options_.checkpointing.retention;
  bool keep = (final_status == JobStatus::kFailed && r != R::kNoExternalized) ||
              (final_status == JobStatus::kCanceled && r == R::kRetainOnCancellation);
  if (keep) {
    if (latest() != nullptr) {
      spdlog::info("Retaining checkpoint {} of job {} at {}", latest()->id(), options_.job_id,
                   latest()->dir);
      metrics_.kept_checkpoint = latest()->dir;
    }
    return;
  }
  metrics_.checkpoints_deleted = latest() != nullptr;
  // Finished jobs, and ended jobs whose checkpoints are not externalized, leave only the
  // manifest that says so.
  Status s = storage_->RetireJobDir(job_dir_, JobStatusName(final_status), clock_->WallMillis());
  if (!s.ok()) spdlog::warn("Could not delete the job's checkpoints: {}", s.ToString());
  completed_.clear();
}

}  // namespace weir
