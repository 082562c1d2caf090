#include "runtime/job_master.h"

#include <algorithm>

#include "base/logging.h"
#include "runtime/restore_plan.h"
#include "runtime/pipeline_options.h"
#include "state/state_backend_options.h"

namespace weir {
namespace {

// Channels start small and grow with measured throughput (buffer debloating), so the first
// barrier is not stuck behind a full channel of slow-to-process records.
constexpr size_t kInitialDebloatedCapacity = 256;

}  // namespace

JobMaster::JobMaster(const detail::GraphBuilder* graph, std::string job_name, Configuration config,
                     FileSystem* fs, Clock* clock)
    : graph_builder_(graph),
      job_name_(std::move(job_name)),
      config_(std::move(config)),
      fs_(fs),
      clock_(clock) {}

JobMaster::~JobMaster() {
  Cancel();
  if (thread_.joinable()) thread_.join();
}

Status JobMaster::Start() {
  start_nanos_ = clock_->NowNanos();
  status_info_.start_wall_ms = clock_->WallMillis();
  status_info_.timestamps[static_cast<size_t>(JobStatus::kCreated)] = status_info_.start_wall_ms;
  Status s = Prepare();
  if (!s.ok()) return s;
  thread_ = std::thread([this] { Run(); });
  return Status::OK();
}

Status JobMaster::Prepare() {
  WEIR_ASSIGN_OR_RETURN(JobGraph graph, JobGraph::Build(*graph_builder_, config_));
  graph_ = std::make_unique<JobGraph>(std::move(graph));
  WEIR_ASSIGN_OR_RETURN(checkpointing_, CheckpointOptions::FromConfiguration(config_));
  WEIR_ASSIGN_OR_RETURN(restart_strategy_,
                        RestartStrategy::FromConfiguration(config_, checkpointing_.enabled));
  WEIR_ASSIGN_OR_RETURN(int64_t batch, config_.Get(pipeline_options::kBatchSize));
  WEIR_RETURN_IF_ERROR(config_.Get(kAutoWatermarkInterval).status());  // read by operators
  WEIR_ASSIGN_OR_RETURN(int64_t capacity, config_.Get(pipeline_options::kChannelCapacity));
  WEIR_ASSIGN_OR_RETURN(auto timeout, config_.Get(pipeline_options::kBufferTimeout));
  // Validated here so a bad value fails the job at once, not later inside a task.
  WEIR_ASSIGN_OR_RETURN(debloat_, config_.Get(pipeline_options::kDebloatEnabled));
  WEIR_RETURN_IF_ERROR(config_.Get(pipeline_options::kDebloatTarget).status());
  WEIR_RETURN_IF_ERROR(ValidateStateBackendConfiguration(config_));

  storage_ =
      std::make_unique<CheckpointStorage>(fs_, checkpointing_.dir, checkpointing_.savepoint_dir);
  WEIR_ASSIGN_OR_RETURN(ignore_unclaimed_state_,
                        config_.Get(checkpointing_options::kIgnoreUnclaimedState));
  WEIR_ASSIGN_OR_RETURN(std::optional<std::string> restore_path,
                        config_.GetOptional(checkpointing_options::kRestorePath));
  if (restore_path && restore_path->empty()) {
    return Status::InvalidArgument(
        "execution.state-recovery.path (--restore) is empty (from " +
        config_.SourceOf(checkpointing_options::kRestorePath) +
        "): give 'latest' or the path of a checkpoint or savepoint, or leave it unset to start "
        "afresh");
  }
  if (checkpointing_.enabled || restore_path) {
    WEIR_ASSIGN_OR_RETURN(job_lock_, storage_->LockJob(job_name_));
  }
  std::vector<std::string> warnings;
  auto plan = PlanRestore(*storage_, restore_path.value_or(""), job_name_, checkpointing_.enabled,
                          clock_, &warnings);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  if (!plan.ok()) return plan.status();
  if (plan->checkpoint) {
    spdlog::info("Restoring job '{}' from {} {} at {}", job_name_,
                 plan->checkpoint->metadata.savepoint ? "savepoint" : "checkpoint",
                 plan->checkpoint->id(), plan->checkpoint->dir);
  }
  WEIR_RETURN_IF_ERROR(StartRun(*storage_, *plan));
  first_own_checkpoint_id_ = plan->next_checkpoint_id;
  job_id_ = plan->job_id;
  restore_from_ = plan->checkpoint;

  env_.job_id = job_id_;
  env_.job_name = job_name_;
  env_.config = &config_;
  env_.fs = fs_;
  env_.clock = clock_;
  env_.checkpointing = checkpointing_.enabled;
  env_.exactly_once = checkpointing_.exactly_once;
  env_.max_parallelism = graph_->max_parallelism();
  env_.batch_size = static_cast<size_t>(batch);
  env_.channel_capacity = static_cast<size_t>(capacity);
  env_.buffer_timeout_nanos = timeout.count() * 1'000'000;
  env_.source_coordinators = &sources_;
  env_.watermark_alignment_groups = &alignment_groups_;

  CheckpointCoordinator::Options co;
  co.checkpointing = checkpointing_;
  co.job_id = job_id_;
  co.job_name = job_name_;
  co.num_tasks = graph_->num_tasks();
  checkpoint_stats_ = std::make_unique<CheckpointStatsTracker>(co.num_tasks);
  co.stats = checkpoint_stats_.get();
  for (const auto& v : graph_->vertices()) {
    for (const detail::Transformation* t : v.operators) {
      co.operators.push_back(CheckpointOperatorInfo{t->OperatorUid(), t->name, v.parallelism,
                                                    graph_->max_parallelism()});
    }
  }
  coordinator_ = std::make_unique<CheckpointCoordinator>(std::move(co), storage_.get(), clock_);
  coordinator_->Initialize(std::move(plan->retained), plan->next_checkpoint_id);
  if (restore_from_) {
    coordinator_->SetRestoredFrom(restore_from_->id(), restore_from_->dir,
                                  restore_from_->metadata.savepoint);
  }
  executor_ = std::make_unique<AsyncExecutor>(1);
  RegisterJobMetrics();
  // Check the state assignment now, so an incompatible checkpoint fails before any task runs.
  if (restore_from_) {
    std::vector<std::string> dropped;
    WEIR_RETURN_IF_ERROR(
        AssignState(*graph_, restore_from_, ignore_unclaimed_state_, &dropped).status());
    for (const auto& d : dropped) {
      spdlog::warn("Job '{}': dropping the state of {} (execution.state-recovery."
                   "ignore-unclaimed-state is true)",
                   job_name_, d);
    }
  }
  return Status::OK();
}

void JobMaster::Post(Event e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
  }
  cv_.notify_one();
}

void JobMaster::TaskRunning(int task) { Post({Event::Kind::kRunning, task, 0, {}, {}}); }

void JobMaster::TaskDataFinished(int task) { Post({Event::Kind::kDataFinished, task, 0, {}, {}}); }

void JobMaster::TaskExited(int task, const Status& status) {
  Post({Event::Kind::kExited, task, 0, status, {}});
}

void JobMaster::CheckpointAcknowledged(CheckpointAcknowledgement ack) {
  int task = ack.task_index;
  int64_t id = ack.checkpoint_id;
  Post({Event::Kind::kAck, task, id, {}, std::make_shared<CheckpointAcknowledgement>(std::move(ack))});
}

void JobMaster::CheckpointDeclined(const CheckpointDecline& decline) {
  Post({Event::Kind::kDecline, decline.task_index, decline.checkpoint_id, decline.reason, {}});
}

void JobMaster::Cancel() {
  cancel_requested_.store(true);
  cv_.notify_one();
}

Result<std::string> JobMaster::TriggerSavepoint(const std::string& target_dir, bool stop,
                                                bool drain) {
  return TriggerSavepointAsync(target_dir, stop, drain).get();
}

std::future<Result<std::string>> JobMaster::TriggerSavepointAsync(const std::string& target_dir,
                                                                  bool stop, bool drain) {
  auto request = std::make_unique<SavepointRequest>();
  request->target_dir = target_dir;
  request->stop = stop;
  request->drain = drain;
  std::future<Result<std::string>> done = request->done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) {
      request->done.set_value(
          Status::FailedPrecondition("job '" + job_name_ + "' is not running"));
      return done;
    }
    savepoint_requests_.push_back(std::move(request));
  }
  cv_.notify_one();
  return done;
}

void JobMaster::StartNextSavepoint() {
  if (active_savepoint_ || stopping_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (savepoint_requests_.empty()) return;
    active_savepoint_ = std::move(savepoint_requests_.front());
    savepoint_requests_.pop_front();
  }
  std::string dir = active_savepoint_->target_dir;
  if (!dir.empty()) {
    auto resolved = ResolvePath(dir, "savepoint target directory");
    if (!resolved.ok()) {
      active_savepoint_->done.set_value(resolved.status());
      active_savepoint_.reset();
      return;
    }
    dir = *resolved;
  }
  auto trigger =
      coordinator_->TriggerSavepoint(dir, active_savepoint_->stop, active_savepoint_->drain);
  if (!trigger.ok()) {
    active_savepoint_->done.set_value(trigger.status());
    active_savepoint_.reset();
    return;
  }
  active_savepoint_id_ = trigger->id;
  InjectBarrier(trigger->Barrier());
}

void JobMaster::OnSavepointCompleted(const CheckpointCoordinator::Completion& c) {
  if (!active_savepoint_ || c.id != active_savepoint_id_) return;
  if (active_savepoint_->stop) {
    // Stop-with-savepoint: commit what the savepoint prepared, then stop every task in mailbox
    // order, so the commit happens first. The job then finishes.
    stopping_ = true;
    stopped_with_savepoint_ = c.path;
    NotifyCompleted(c.id);
    for (int t = 0; t < attempt_->num_tasks(); ++t) attempt_->task(t).Stop();
    spdlog::info("Stopping job '{}' with savepoint {}", job_name_, c.path);
  }
  active_savepoint_->done.set_value(c.path);
  active_savepoint_.reset();
}

void JobMaster::FailSavepoints() {
  for (auto& [id, why] : coordinator_->TakeFailedSavepoints()) {
    if (active_savepoint_ && id == active_savepoint_id_) {
      active_savepoint_->done.set_value(why.WithContext("savepoint " + std::to_string(id)));
      active_savepoint_.reset();
    }
  }
}

void JobMaster::FailAllSavepointRequests(const Status& why) {
  if (active_savepoint_) {
    active_savepoint_->done.set_value(why);
    active_savepoint_.reset();
  }
  std::deque<std::unique_ptr<SavepointRequest>> queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued.swap(savepoint_requests_);
  }
  for (auto& r : queued) r->done.set_value(why);
}

void JobMaster::SetStatus(JobStatus s) {
  std::lock_guard<std::mutex> lock(mu_);
  SetStatusLocked(s);
}

void JobMaster::SetStatusLocked(JobStatus s) {
  status_ = s;
  status_info_.timestamps[static_cast<size_t>(s)] = clock_->WallMillis();
}

JobMetrics JobMaster::metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  JobMetrics m;
  m.status = status_;
  m.restarts = restarts_;
  m.checkpoints = checkpoint_metrics_;
  if (!graph_) return m;
  for (const auto& v : graph_->vertices()) {
    for (const detail::Transformation* t : v.operators) {
      m.operators.push_back(OperatorMetrics{t->name, t->OperatorUid(), v.parallelism, 0,
                                            t->kind == detail::Transformation::Kind::kSource});
    }
  }
  if (!attempt_) return m;
  for (const auto& task : attempt_->tasks()) {
    std::vector<uint64_t> counts = task->RecordCounts();
    const auto& ops = task->vertex().operators;
    for (size_t i = 0; i < ops.size(); ++i) {
      for (auto& om : m.operators) {
        if (om.uid == ops[i]->OperatorUid()) om.records += counts[i];
      }
    }
  }
  return m;
}

Status JobMaster::DeployAttempt() {
  std::vector<std::shared_ptr<const TaskRestore>> restores;
  if (restore_from_) {
    WEIR_ASSIGN_OR_RETURN(restores, AssignState(*graph_, restore_from_, ignore_unclaimed_state_));
  }
  env_.restored = restore_from_ != nullptr;
  env_.cancellation = std::stop_source();
  WEIR_RETURN_IF_ERROR(sources_.Start(*graph_, restore_from_.get(), &config_, fs_));
  size_t initial =
      debloat_ ? std::min(env_.channel_capacity, kInitialDebloatedCapacity) : env_.channel_capacity;
  auto attempt = std::make_unique<ExecutionGraph>(*graph_, &env_, restores, this, initial);
  {
    std::lock_guard<std::mutex> lock(mu_);
    attempt_.swap(attempt);
    SetStatusLocked(JobStatus::kRunning);
  }
  // The old attempt goes outside the lock: its tasks unregister their metrics, and a metrics
  // reader may be waiting for this lock while it holds the registry's.
  attempt.reset();
  running_ = 0;
  restore_confirmed_ = false;
  data_finished_ = 0;
  exited_ok_ = 0;
  final_checkpoint_id_ = 0;
  attempt_->StartAll();
  return Status::OK();
}

void JobMaster::CancelAttempt(std::string_view reason) {
  env_.cancellation.request_stop();
  attempt_->CancelAll();
  attempt_->JoinAll();
  sources_.Close();
  // No snapshot write of this attempt may outlive it: its acknowledgements would be stale.
  executor_->Drain();
  coordinator_->AbortAll(reason);
  (void)coordinator_->TakeAborted();
  FailSavepoints();
  FailCheckpointRequests(Status::Aborted(std::string(reason)));
  std::lock_guard<std::mutex> lock(mu_);
  events_.clear();
}

bool JobMaster::HandleFailure(Status cause) {
  if (stopping_) {
    cause = cause.WithContext("after the stop's savepoint " + stopped_with_savepoint_ +
                              " completed (a restore from it commits what it prepared)");
  }
  spdlog::error("Job '{}' failed: {}", job_name_, cause.ToString());
  SetStatus(JobStatus::kRestarting);
  CancelAttempt("the job is restarting after a failure");
  // A redeploy that fails (a source whose brokers are still down, a checkpoint that cannot be
  // read yet) is one more failure for the restart strategy to count, as in Flink.
  for (;;) {
    if (cause.IsPermanent()) {
      RecordFailure(cause, /*restarted=*/false);
      std::lock_guard<std::mutex> lock(mu_);
      result_.status = cause.WithContext("job '" + job_name_ +
                                         "' failed with an error no restart can fix, so it was "
                                         "not restarted");
      return false;
    }
    int64_t now_ms = clock_->NowNanos() / 1'000'000;
    auto delay = restart_strategy_->OnFailure(now_ms);
    RecordFailure(cause, /*restarted=*/delay.has_value());
    if (!delay) {
      std::lock_guard<std::mutex> lock(mu_);
      result_.status = cause.WithContext("job '" + job_name_ +
                                         "' failed and the restart strategy (" +
                                         restart_strategy_->Describe() + ") allows no more restarts");
      return false;
    }
    if (!WaitToRestart(*delay)) return false;
    coordinator_->ClearFailure();
    Status s = DeployAttempt();
    if (s.ok()) return true;
    sources_.Close();
    cause = s.WithContext("redeploying job '" + job_name_ + "'");
    spdlog::error("{}", cause.ToString());
  }
}

bool JobMaster::WaitToRestart(std::chrono::milliseconds delay) {
  if (stopping_) {
    // The stop's savepoint completed and the sinks were told to commit it; some may have, so
    // no older checkpoint matches the output any more. The savepoint does: the restore commits
    // what the others had not, and the job stops again once every task runs.
    auto savepoint = storage_->Load(stopped_with_savepoint_);
    if (!savepoint.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      result_.status = savepoint.status().WithContext(
          "job '" + job_name_ + "' failed after its stop-with-savepoint completed, and cannot "
          "restart from that savepoint");
      return false;
    }
    restore_from_ = std::make_shared<CompletedCheckpoint>(std::move(*savepoint));
    env_.held_for_stop = true;  // nothing past the savepoint: no record, no output
  } else if (const CompletedCheckpoint* latest = coordinator_->latest()) {
    if (!restore_from_ || restore_from_->id() != latest->id() ||
        restore_from_->dir != latest->dir) {
      restore_from_ = std::make_shared<CompletedCheckpoint>(*latest);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++restarts_;
    env_.attempt = restarts_;  // RuntimeContext::attempt_number() of the next attempt
  }
  spdlog::info("Restarting job '{}' in {} ({} restart {}), from {}", job_name_,
               FormatDuration(delay), restart_strategy_->Describe(), restarts_,
               restore_from_ ? "checkpoint " + std::to_string(restore_from_->id())
                             : std::string("the beginning (no checkpoint completed yet)"));
  int64_t until = clock_->NowNanos() + delay.count() * 1'000'000;
  {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cancel_requested_.load() && clock_->NowNanos() < until) {
      cv_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(
                             50, std::max<int64_t>(1, (until - clock_->NowNanos()) / 1'000'000))));
    }
  }
  if (cancel_requested_.load()) {
    std::lock_guard<std::mutex> lock(mu_);
    result_.status = Status::Cancelled("job '" + job_name_ + "' was cancelled while restarting");
    return false;
  }
  return true;
}

std::string JobMaster::DescribeSettings() const {
  auto type = config_.Get(state_backend_options::kType);  // validated at Prepare
  std::string backend = type.ok() ? *type : "hashmap";
  std::string out = "state backend " + backend;
  if (backend == "rocksdb" && checkpointing_.incremental) out += " (incremental checkpoints)";
  if (!checkpointing_.enabled) return out + ", no checkpoints (output is not exactly-once)";
  using R = CheckpointOptions::Retention;
  const char* retention = checkpointing_.retention == R::kRetainOnCancellation
                              ? "kept when it fails or is cancelled"
                          : checkpointing_.retention == R::kDeleteOnCancellation
                              ? "kept when it fails"
                              : "deleted when it ends";
  return out + ", " + (checkpointing_.exactly_once ? "exactly-once" : "at-least-once") +
         " checkpoints every " + FormatDuration(checkpointing_.interval) + " in " +
         storage_->JobDir(job_id_) + " (" + retention + ")";
}

void JobMaster::ConfirmRestore() {
  if (!restore_from_ || restore_confirmed_) return;
  restore_confirmed_ = true;
  // Restored from a checkpoint with newer ones beside it (a rewind): from now on this run is
  // the job's line, and "latest" must not go back to them.
  if (!abandoned_recorded_ && !restore_from_->metadata.savepoint) {
    abandoned_recorded_ = true;
    std::vector<int64_t> abandoned;
    if (auto ids = storage_->ListCheckpointIds(restore_from_->job_dir); ids.ok()) {
      for (int64_t id : *ids) {
        if (id > restore_from_->id() && id < first_own_checkpoint_id_) abandoned.push_back(id);
      }
    }
    Status s = storage_->AbandonCheckpoints(restore_from_->job_dir, abandoned);
    if (!s.ok()) {
      // Without the record a later "latest" could pick a checkpoint the rewind made stale: the
      // sinks must not rewind then.
      spdlog::error("Job '{}': could not record the checkpoints its restore abandons: {}",
                    job_name_, s.ToString());
      return;
    }
    if (!abandoned.empty()) {
      spdlog::info("Job '{}' resumed from checkpoint {}: the newer checkpoints of its earlier "
                   "run ({} of them) are abandoned",
                   job_name_, restore_from_->id(), abandoned.size());
    }
  }
  for (int t = 0; t < attempt_->num_tasks(); ++t) attempt_->task(t).NotifyRestoreConfirmed();
}

void JobMaster::NotifyCompleted(int64_t id) {
  sources_.NotifyComplete(id);
  CheckpointCompleted notice{id, id == final_checkpoint_id_};
  for (int t = 0; t < attempt_->num_tasks(); ++t) attempt_->task(t).NotifyCheckpointComplete(notice);
}

void JobMaster::InjectBarrier(const CheckpointBarrier& barrier) {
  // The enumerators' state comes first: a split assigned later reaches its reader after the
  // reader's snapshot (detail/source_coordinator.h).
  if (Status s = sources_.Snapshot(barrier.id); !s.ok()) {
    coordinator_->Decline(barrier.id, s.WithContext("checkpoint " + std::to_string(barrier.id)));
    return;
  }
  for (int s : attempt_->source_tasks()) attempt_->task(s).TriggerCheckpoint(barrier);
}

void JobMaster::NotifyAborted() {
  for (int64_t id : coordinator_->TakeAborted()) {
    if (id == final_checkpoint_id_) final_checkpoint_id_ = 0;  // trigger another
    sources_.NotifyAborted(id);
    ResolveCheckpointRequests(id, Status::Aborted(checkpoint_stats_->FailureOf(id)));
    for (int t = 0; t < attempt_->num_tasks(); ++t) {
      attempt_->task(t).NotifyCheckpointAborted(CheckpointAborted{id});
    }
  }
}

bool JobMaster::AllTasksRunning() const { return running_ == attempt_->num_tasks(); }

void JobMaster::TriggerCheckpointIfDue() {
  if (!checkpointing_.enabled || final_checkpoint_id_ != 0 || stopping_) return;
  // As Flink (NOT_ALL_REQUIRED_TASKS_RUNNING): no checkpoint while a task still restores or
  // opens, where its barrier would only wait and its duration measure the restore. The one
  // due starts as the last task runs.
  if (!AllTasksRunning()) return;
  bool all_data_finished = data_finished_ == attempt_->num_tasks();
  auto trigger = coordinator_->MaybeTrigger(/*force=*/all_data_finished);
  if (!trigger.ok()) {
    spdlog::warn("{}", trigger.status().ToString());
    return;
  }
  if (!trigger->has_value()) return;
  const auto& t = **trigger;
  if (all_data_finished) final_checkpoint_id_ = t.id;
  InjectBarrier(t.Barrier());
}

void JobMaster::Run() {
  Status final_status;
  JobStatus end = JobStatus::kFinished;
  Status s = DeployAttempt();
  if (!s.ok()) {
    final_status = s;
    end = JobStatus::kFailed;
    spdlog::error("Job '{}' ({}) could not start: {}", job_name_, job_id_, s.ToString());
  } else {
    spdlog::info("Job '{}' ({}) is running: {}", job_name_, job_id_, DescribeSettings());
  }
  while (end == JobStatus::kFinished && s.ok()) {
    std::deque<Event> events;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // A checkpoint overdue behind one in progress waits for that one's acknowledgement (an
      // event), not in a busy loop that takes a core from the tasks.
      int64_t wake =
          checkpointing_.enabled && AllTasksRunning() && !coordinator_->TriggerHeldBack()
              ? coordinator_->NextTriggerNanos()
              : -1;
      int64_t now = clock_->NowNanos();
      // Rounded up: a wait cut to 0 ms would spin until the trigger is due.
      int64_t wait_ms =
          wake < 0 ? 100 : std::clamp<int64_t>((wake - now + 999'999) / 1'000'000, 0, 100);
      if (events_.empty() && savepoint_requests_.empty() && !cancel_requested_.load() &&
          wait_ms > 0) {
        cv_.wait_for(lock, std::chrono::milliseconds(wait_ms));
      }
      events.swap(events_);
      checkpoint_metrics_ = coordinator_->metrics();
    }
    if (cancel_requested_.load()) {
      CancelAttempt("the job was cancelled");
      end = JobStatus::kCanceled;
      final_status = Status::Cancelled("job '" + job_name_ + "' was cancelled");
      break;
    }
    std::optional<Status> failure;
    bool all_exited = false;
    for (auto& e : events) {
      switch (e.kind) {
        case Event::Kind::kRunning:
          if (++running_ == attempt_->num_tasks()) {
            ConfirmRestore();
            // Restarted from the stop's savepoint (WaitToRestart): the stop goes on.
            if (stopping_) {
              for (int t = 0; t < attempt_->num_tasks(); ++t) attempt_->task(t).Stop();
            }
          }
          break;
        case Event::Kind::kDataFinished:
          ++data_finished_;
          break;
        case Event::Kind::kExited:
          if (e.status.ok()) {
            if (++exited_ok_ == attempt_->num_tasks()) all_exited = true;
          } else if (!failure) {
            failure = e.status;
          }
          break;
        case Event::Kind::kAck:
          sources_.AttachState(e.ack.get());
          if (auto done = coordinator_->Acknowledge(e.checkpoint_id, std::move(*e.ack))) {
            if (done->savepoint) {
              OnSavepointCompleted(*done);
            } else {
              NotifyCompleted(e.checkpoint_id);
              ResolveCheckpointRequests(e.checkpoint_id, Status::OK());
            }
          }
          break;
        case Event::Kind::kDecline:
          coordinator_->Decline(e.checkpoint_id, e.status);
          break;
      }
    }
    // A task that failed as corrupt before every task ran: a restore could not read the
    // checkpoint (the job then keeps its checkpoints, see Shutdown).
    if (failure && failure->IsCorruption() && restore_from_ &&
        running_ < attempt_->num_tasks()) {
      restore_found_corruption_ = true;
    }
    if (!failure) {
      if (Status p = sources_.RunPeriodic(clock_->WallMillis()); !p.ok()) failure = p;
    }
    coordinator_->CheckTimeouts();
    FailSavepoints();
    NotifyAborted();
    if (!failure && !coordinator_->failure().ok()) failure = coordinator_->failure();
    if (failure) {
      if (HandleFailure(*failure)) continue;
      std::lock_guard<std::mutex> lock(mu_);
      final_status = result_.status;
      end = final_status.IsCancelled() ? JobStatus::kCanceled : JobStatus::kFailed;
      break;
    }
    if (all_exited) break;
    StartNextSavepoint();
    TriggerCheckpointIfDue();
    StartRequestedCheckpoints();
  }
  FailAllSavepointRequests(Status::FailedPrecondition("job '" + job_name_ + "' ended"));
  FailCheckpointRequests(Status::FailedPrecondition("job '" + job_name_ + "' ended"));
  if (attempt_) attempt_->JoinAll();
  sources_.Close();
  executor_->Drain();
  {
    std::lock_guard<std::mutex> lock(mu_);
    checkpoint_metrics_ = coordinator_->metrics();
  }
  coordinator_->Shutdown(end, restore_found_corruption_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    checkpoint_metrics_ = coordinator_->metrics();
  }
  JobMetrics m = metrics();
  m.status = end;
  int64_t ms = (clock_->NowNanos() - start_nanos_) / 1'000'000;
  if (end == JobStatus::kFinished) {
    spdlog::info("Job '{}' ({}) finished in {} ms", job_name_, job_id_, ms);
  }
  std::lock_guard<std::mutex> lock(mu_);
  SetStatusLocked(end);
  status_info_.end_wall_ms = clock_->WallMillis();
  result_.status = final_status;
  result_.job_id = job_id_;
  result_.job_name = job_name_;
  result_.savepoint_path = stopped_with_savepoint_;
  result_.duration = std::chrono::milliseconds(ms);
  result_.metrics = std::move(m);
  done_ = true;
  cv_.notify_all();
}

JobResult JobMaster::Wait() {
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return result_;
}

}  // namespace weir
