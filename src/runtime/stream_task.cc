#include "runtime/stream_task.h"

#include <algorithm>

#include "base/check.h"
#include "base/fault_points.h"
#include "base/logging.h"
#include "runtime/pipeline_options.h"

namespace weir {
namespace {

// In a catch block: the Status the exception in flight stands for. An OperatorError names
// its operator already; other exceptions get no context here.
Status StatusOfCurrentException() {
  try {
    throw;
  } catch (const detail::OperatorError& e) {
    return e.status();
  } catch (const detail::StateError& e) {
    return e.status();
  } catch (const std::exception& e) {
    return Status::Internal(e.what());
  } catch (...) {
    return Status::Internal("unknown exception");
  }
}

}  // namespace

StreamTask::StreamTask(const JobGraph& graph, TaskSpec spec, const TaskEnvironment* env,
                       TaskHost* host)
    : graph_(graph),
      spec_(std::move(spec)),
      env_(env),
      host_(host),
      name_(spec_.vertex->name + " (" + std::to_string(spec_.subtask + 1) + "/" +
            std::to_string(spec_.vertex->parallelism) + ")"),
      mailbox_(spec_.waker.get()),
      chain_(graph, *spec_.vertex, spec_.subtask, env, spec_.outputs) {
  for (auto& e : chain_.entries()) e.context->set_input_reads(&input_reads_);
  for (const auto& edge_channels : spec_.outputs) {
    for (const auto& ch : edge_channels) output_channels_.push_back(ch.get());
  }
  if (spec_.vertex->is_source()) {
    source_ = dynamic_cast<detail::SourceOperatorBase*>(chain_.head());
    if (source_ != nullptr) source_->SetWakeup([waker = spec_.waker] { waker->Wake(); });
  }
  if (spec_.vertex->head()->num_operator_inputs > 1) {
    two_input_head_ = dynamic_cast<detail::TwoInputStreamOperator*>(chain_.head());
    WEIR_CHECK(two_input_head_ != nullptr);
  }
  if (spec_.channel_inputs.size() != spec_.inputs.size()) {
    spec_.channel_inputs.assign(spec_.inputs.size(), 0);
  }
  metrics_ = std::make_unique<TaskMetrics>(env_->metrics, env_->metric_scope, *spec_.vertex,
                                           spec_.subtask, chain_, &io_, &execution_,
                                           env_->clock);
}

StreamTask::~StreamTask() { Join(); }

void StreamTask::Start() {
  thread_ = std::thread([this] { Run(); });
}

void StreamTask::Join() {
  if (thread_.joinable()) thread_.join();
}

void StreamTask::Cancel() {
  cancelled_.store(true);
  for (const auto& ch : spec_.inputs) ch->Cancel();
  for (Channel* ch : output_channels_) ch->Cancel();
  spec_.waker->Wake();
}

std::vector<uint64_t> StreamTask::RecordCounts() const {
  std::vector<uint64_t> out;
  for (const auto& e : chain_.entries()) out.push_back(e.op->records_processed());
  return out;
}

void StreamTask::TriggerCheckpoint(const CheckpointBarrier& barrier) {
  mailbox_.Post([this, barrier] {
    if (partition_done_ || !mail_failure_.ok()) return;
    const int64_t reached_wall_ms = env_->clock->WallMillis();
    if (barrier.drain && source_ != nullptr && !data_finished_) {
      // Event time ends before the barrier: what it fires belongs to the savepoint's output.
      Status drained = Guard([&] { source_->HandleWatermark(detail::kMaxWatermark); });
      if (!drained.ok()) {
        mail_failure_ = drained;
        return;
      }
    }
    Status s = PerformCheckpoint(barrier, reached_wall_ms);
    if (!s.ok()) mail_failure_ = s;
  });
}

void StreamTask::NotifyCheckpointComplete(const CheckpointCompleted& notice) {
  mailbox_.Post([this, id = notice.checkpoint_id, final = notice.final] {
    if (!mail_failure_.ok()) return;
    for (auto& e : chain_.entries()) {
      Status s = Guard([&] { e.op->NotifyCheckpointComplete(id); });
      if (!s.ok()) {
        mail_failure_ = s;
        return;
      }
    }
    if (backend_) backend_->NotifyCheckpointComplete(id);
    if (final) {
      final_notified_ = true;
      if (source_ != nullptr && data_finished_) EmitEndOfPartition();
    }
  });
}

void StreamTask::NotifyCheckpointAborted(const CheckpointAborted& notice) {
  mailbox_.Post([this, id = notice.checkpoint_id] {
    if (id == stopping_at_savepoint_) stopping_at_savepoint_ = 0;  // carry on
    if (aligner_) aligner_->Abort(id);
    for (auto& e : chain_.entries()) {
      Status s = Guard([&] { e.op->NotifyCheckpointAborted(id); });
      if (!s.ok() && mail_failure_.ok()) mail_failure_ = s;
    }
    if (backend_) backend_->NotifyCheckpointAborted(id);
  });
}

void StreamTask::NotifyRestoreConfirmed() {
  mailbox_.Post([this] {
    if (!mail_failure_.ok()) return;
    for (auto& e : chain_.entries()) {
      Status s = Guard([&] { e.op->NotifyRestoreConfirmed(); });
      if (!s.ok()) {
        mail_failure_ = s;
        return;
      }
    }
  });
}

void StreamTask::Stop() {
  mailbox_.Post([this] { stop_requested_ = true; });
}

Status StreamTask::Guard(const std::function<void()>& fn) {
  try {
    fn();
    return Status::OK();
  } catch (const detail::OperatorError&) {
    return StatusOfCurrentException();
  } catch (...) {
    return StatusOfCurrentException().WithContext("task '" + name_ + "'");
  }
}

void StreamTask::Run() {
  if (env_->clock->is_manual()) {
    auto waker = spec_.waker;
    clock_subscription_ = env_->clock->Subscribe([waker] { waker->Wake(); });
  }
  execution_.start_wall_ms.store(env_->clock->WallMillis());
  execution_.state.store(TaskExecutionInfo::kInitializing);
  Status s = RunInternal();
  CloseOperators();
  metrics_->Close();  // no metric reads the backend or an operator after this
  if (backend_) backend_->Close();
  if (clock_subscription_ >= 0) env_->clock->Unsubscribe(clock_subscription_);
  if (!s.ok() && cancelled_.load()) s = Status::Cancelled("task '" + name_ + "' was cancelled");
  if (!s.ok() && !s.IsCancelled()) s = s.WithContext("task '" + name_ + "'");
  execution_.end_wall_ms.store(env_->clock->WallMillis());
  execution_.state.store(s.ok()            ? TaskExecutionInfo::kFinished
                         : s.IsCancelled() ? TaskExecutionInfo::kCanceled
                                           : TaskExecutionInfo::kFailed);
  host_->TaskExited(spec_.task_index, s);
}

void StreamTask::CloseOperators() {
  for (auto& e : chain_.entries()) {
    Status s = Guard([&] { e.op->Close(); });
    if (!s.ok()) spdlog::warn("Closing {} failed: {}", name_, s.ToString());
  }
}

Status StreamTask::RunInternal() {
  Status restored = InitializeState();
  // Restoring the same checkpoint again cannot cure a corrupt one.
  if (restored.IsCorruption() && spec_.restore) return restored.AsPermanent();
  WEIR_RETURN_IF_ERROR(restored);
  // Downstream operators open first, so they are ready when upstream ones emit.
  auto& entries = chain_.entries();
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    WEIR_RETURN_IF_ERROR(Guard([&] { it->op->Open(); }));
    if (it->op->NextPeriodicTime() != detail::kMaxWatermark) periodic_.push_back(it->op.get());
  }
  // Nothing after the stop's savepoint it restored (JobMaster::WaitToRestart).
  if (env_->held_for_stop) stopping_at_savepoint_ = -1;
  execution_.state.store(TaskExecutionInfo::kRunning);
  host_->TaskRunning(spec_.task_index);
  return MainLoop();
}

Status StreamTask::InitializeState() {
  const TaskRestore* restore = spec_.restore.get();
  std::unique_ptr<SnapshotLocation> location;
  if (restore != nullptr) {
    location = std::make_unique<SnapshotLocation>(restore->checkpoint->location(env_->fs));
  }
  auto& head = chain_.entries().front();
  if (head.transformation->keyed) {
    KeyedBackendOptions o;
    o.job_id = env_->job_id;
    o.operator_uid = head.transformation->OperatorUid();
    o.operator_name = head.transformation->name;
    o.subtask = spec_.subtask;
    o.max_parallelism = env_->max_parallelism;
    o.key_groups =
        KeyGroupRange::ForSubtask(env_->max_parallelism, spec_.vertex->parallelism, spec_.subtask);
    o.clock = env_->clock;
    o.fs = env_->fs;
    o.config = env_->config;
    WEIR_ASSIGN_OR_RETURN(backend_, CreateKeyedStateBackend(o));
    if (restore != nullptr) {
      std::vector<KeyedRestoreSource> sources;
      auto it = restore->operators.find(o.operator_uid);
      if (it != restore->operators.end()) {
        for (const auto& h : it->second.keyed) sources.push_back({&h, location.get()});
      }
      int64_t started = env_->clock->NowNanos();
      WEIR_RETURN_IF_ERROR(backend_->Restore(sources));
      if (!sources.empty()) {
        spdlog::info("{}: restored the keyed state of '{}' from checkpoint {} ({} of its state "
                     "handles) in {} ms",
                     name_, o.operator_uid, restore->checkpoint->id(), sources.size(),
                     (env_->clock->NowNanos() - started) / 1'000'000);
      }
    }
    head.context->set_keyed_backend(backend_.get());
    metrics_->AddBackendMetrics(backend_.get());
  }
  static const detail::OperatorState kEmpty;
  for (auto& e : chain_.entries()) {
    const detail::OperatorState* state = &kEmpty;
    if (restore != nullptr) {
      auto it = restore->operators.find(e.transformation->OperatorUid());
      if (it != restore->operators.end()) state = &it->second.operator_state;
    }
    WEIR_RETURN_IF_ERROR(Guard([&] { e.op->InitializeState(*state); }));
  }
  if (!spec_.inputs.empty()) {
    DebloatOptions d;
    auto enabled = env_->config->Get(pipeline_options::kDebloatEnabled);
    auto target = env_->config->Get(pipeline_options::kDebloatTarget);
    if (!enabled.ok()) return enabled.status();
    if (!target.ok()) return target.status();
    d.enabled = *enabled;
    d.target = *target;
    gate_ = std::make_unique<InputGate>(spec_.inputs, d);
    aligner_ = std::make_unique<BarrierAligner>(gate_.get(), env_->exactly_once, env_->clock);
    valve_ = std::make_unique<CombinedWatermarkValve>(spec_.channel_inputs);
    input_data_ended_.assign(spec_.inputs.size(), false);
  }
  return Status::OK();
}

bool StreamTask::OutputsAvailable() const {
  for (const Channel* ch : output_channels_) {
    if (!ch->HasCapacity()) return false;
  }
  return true;
}

void StreamTask::FlushOutputs() {
  chain_.FlushWriters();
  pending_since_nanos_ = 0;
}

void StreamTask::MaybeFlushOnTimeout() {
  if (!chain_.HasPendingOutput()) return;
  int64_t now = env_->clock->NowNanos();
  if (pending_since_nanos_ == 0) {
    pending_since_nanos_ = now;
  } else if (now - pending_since_nanos_ >= env_->buffer_timeout_nanos) {
    FlushOutputs();
  }
}

int64_t StreamTask::NextWakeupNanos(bool outputs_available) const {
  int64_t wake = -1;
  int64_t now = env_->clock->NowNanos();
  if ((backend_ || !periodic_.empty()) && !data_finished_) {
    int64_t next = detail::kMaxWatermark;
    if (backend_ && backend_->timers().NextTimestamp() != detail::kMaxWatermark) {
      next = backend_->timers().NextTimestamp() + 1;  // see FireTimers
    }
    for (const detail::StreamOperator* op : periodic_) next = std::min(next, op->NextPeriodicTime());
    if (next != std::numeric_limits<int64_t>::max()) {
      int64_t delta_ms = std::max<int64_t>(0, next - env_->clock->WallMillis());
      wake = now + std::min<int64_t>(delta_ms, 3'600'000) * 1'000'000;
    }
  }
  // Under backpressure a flush could not go out anyway; waking for it would only spin.
  if (pending_since_nanos_ > 0 && outputs_available) {
    int64_t flush_at = pending_since_nanos_ + env_->buffer_timeout_nanos;
    wake = wake < 0 ? flush_at : std::min(wake, flush_at);
  }
  return wake;
}

Status StreamTask::FireTimers() {
  if (data_finished_) return Status::OK();
  if (!periodic_.empty()) {
    int64_t now = env_->clock->WallMillis();
    for (detail::StreamOperator* op : periodic_) {
      if (op->NextPeriodicTime() <= now) {
        WEIR_RETURN_IF_ERROR(Guard([&] { op->OnPeriodicTime(now); }));
      }
    }
  }
  if (!backend_) return Status::OK();
  // A timer fires once the clock has passed its time, as Flink's do: the records of its last
  // millisecond come first (a processing-time window that ends then gets them all).
  int64_t passed = env_->clock->WallMillis() - 1;
  if (backend_->timers().NextTimestamp() > passed) return Status::OK();
  int64_t ts;
  std::string key;
  detail::StreamOperator* head = chain_.head();
  while (backend_->timers().PopDue(passed, &ts, &key)) {
    WEIR_RETURN_IF_ERROR(Guard([&] { head->OnProcessingTime(ts, key); }));
  }
  MaybeFlushOnTimeout();
  return Status::OK();
}

Status StreamTask::MainLoop() {
  while (true) {
    mailbox_.Drain();
    if (!mail_failure_.ok()) return mail_failure_;
    if (cancelled_.load(std::memory_order_relaxed)) return Status::Cancelled("cancelled");
    if (partition_done_) return Status::OK();
    if (stop_requested_) {
      // Records after the savepoint are not processed; upstream tasks stop too, and must not
      // block on a channel nobody reads any more.
      for (const auto& ch : spec_.inputs) ch->Cancel();
      return Status::OK();
    }
    if (!source_ && inputs_finished_ == gate_->size() &&
        (!env_->checkpointing || final_notified_)) {
      EmitEndOfPartition();
      return Status::OK();
    }
    if (stopping_at_savepoint_ != 0) {
      // Nothing after the savepoint: wait for it to complete (then the stop) or fail.
      FlushOutputs();
      io_.BeginWait(TaskIoTimer::kIdle, env_->clock->NowNanos());
      spec_.waker->WaitUntil(-1, *env_->clock);
      io_.EndWait(env_->clock->NowNanos());
      continue;
    }
    WEIR_RETURN_IF_ERROR(FireTimers());

    bool did_work = false;
    bool outputs_available = OutputsAvailable();
    if (outputs_available) {
      if (source_ != nullptr) {
        if (!data_finished_) WEIR_RETURN_IF_ERROR(EmitFromSource(&did_work));
      } else {
        WEIR_RETURN_IF_ERROR(ProcessInput(&did_work));
      }
    }
    if (did_work) continue;
    if (outputs_available) FlushOutputs();
    int64_t start = env_->clock->NowNanos();
    if (gate_) gate_->MaybeDebloat(start);
    io_.BeginWait(outputs_available ? TaskIoTimer::kIdle : TaskIoTimer::kBackpressured, start);
    spec_.waker->WaitUntil(NextWakeupNanos(outputs_available), *env_->clock);
    int64_t end = env_->clock->NowNanos();
    io_.EndWait(end);
    if (gate_ && outputs_available) gate_->RecordIdle(end - start);
  }
}

Status StreamTask::EmitFromSource(bool* did_work) {
  ++input_reads_;  // a source task's input is its source
  // No more per call than the output channels take in one batch: a slow consumer shrinks its
  // channels, and a source must not flood them past that.
  size_t n = env_->batch_size;
  for (const Channel* ch : output_channels_) n = std::min(n, ch->target_batch_size());
  detail::SourceStatus status = detail::SourceStatus::kMoreAvailable;
  WEIR_RETURN_IF_ERROR(Guard([&] { status = source_->EmitNext(n); }));
  // Nothing available: the task sleeps until the source wakes it (or mail, or a timer).
  *did_work = status != detail::SourceStatus::kNothingAvailable;
  if (status == detail::SourceStatus::kEndOfInput) {
    HandleEndOfData();
  } else {
    MaybeFlushOnTimeout();
  }
  return mail_failure_;
}

Status StreamTask::ProcessInput(bool* did_work) {
  ++input_reads_;
  Envelope e;
  int ch;
  if (!gate_->Poll(&e, &ch)) return Status::OK();
  *did_work = true;
  switch (e.kind) {
    case EventKind::kRecords: {
      size_t n = e.batch->size();
      detail::StreamOperator* head = chain_.head();
      if (two_input_head_ == nullptr) [[likely]] {
        WEIR_RETURN_IF_ERROR(Guard([&] { head->AcceptErased(*e.batch); }));
      } else {
        int input = spec_.channel_inputs[static_cast<size_t>(ch)];
        WEIR_RETURN_IF_ERROR(Guard([&] { two_input_head_->AcceptErasedInput(input, *e.batch); }));
      }
      gate_->RecordProcessed(n);
      gate_->Recycle(ch, std::move(e.batch));
      MaybeFlushOnTimeout();
      gate_->MaybeDebloat(env_->clock->NowNanos());
      return mail_failure_;
    }
    case EventKind::kWatermark:
      return ForwardWatermark(valve_->OnWatermark(ch, e.watermark));
    case EventKind::kWatermarkStatus:
      return ForwardWatermark(valve_->OnWatermarkStatus(ch, e.idle));
    case EventKind::kBarrier: {
      std::vector<int64_t> abandoned;
      auto ready = aligner_->OnBarrier(ch, e.barrier, &abandoned);
      for (int64_t id : abandoned) {
        host_->CheckpointDeclined(CheckpointDecline{
            id, spec_.task_index,
            Status::Aborted("the barrier of a newer checkpoint arrived at '" + name_ +
                            "' before alignment finished")});
      }
      if (ready) return PerformCheckpoint(*ready, aligner_->last_first_barrier_wall_ms());
      return Status::OK();
    }
    case EventKind::kEndOfData: {
      if (!input_data_ended_[static_cast<size_t>(ch)]) {
        input_data_ended_[static_cast<size_t>(ch)] = true;
        if (++inputs_data_ended_ == gate_->size()) HandleEndOfData();
      }
      return mail_failure_;
    }
    case EventKind::kEndOfPartition: {
      gate_->MarkFinished(ch);
      ++inputs_finished_;
      auto ready = aligner_->OnChannelFinished(ch);
      if (ready) return PerformCheckpoint(*ready, aligner_->last_first_barrier_wall_ms());
      return Status::OK();
    }
  }
  return Status::OK();
}

Status StreamTask::ForwardWatermark(const WatermarkValve::Output& out) {
  detail::StreamOperator* head = chain_.head();
  if (out.watermark) WEIR_RETURN_IF_ERROR(Guard([&] { head->HandleWatermark(*out.watermark); }));
  if (out.idle) WEIR_RETURN_IF_ERROR(Guard([&] { head->ProcessWatermarkStatus(*out.idle); }));
  MaybeFlushOnTimeout();
  return mail_failure_;
}

void StreamTask::HandleEndOfData() {
  if (source_ != nullptr) {
    // Event time ends with the input: every event-time timer and window downstream fires.
    Status s = Guard([&] { source_->HandleWatermark(detail::kMaxWatermark); });
    if (!s.ok()) {
      mail_failure_ = s;
      return;
    }
  }
  for (auto& e : chain_.entries()) {
    Status s = Guard([&] { e.op->Finish(); });
    if (!s.ok()) {
      mail_failure_ = s;
      return;
    }
  }
  FlushOutputs();
  for (Channel* ch : output_channels_) ch->PushEvent(EventKind::kEndOfData);
  data_finished_ = true;
  host_->TaskDataFinished(spec_.task_index);
  if (source_ != nullptr && !env_->checkpointing) EmitEndOfPartition();
}

void StreamTask::EmitEndOfPartition() {
  FlushOutputs();
  for (Channel* ch : output_channels_) ch->PushEvent(EventKind::kEndOfPartition);
  partition_done_ = true;
}

Status StreamTask::PerformCheckpoint(const CheckpointBarrier& barrier, int64_t reached_wall_ms) {
  const int64_t id = barrier.id;
  const int64_t start = env_->clock->NowNanos();
  auto& entries = chain_.entries();
  for (auto& e : entries) {
    WEIR_RETURN_IF_ERROR(Guard([&] { e.op->PrepareSnapshotPreBarrier(id); }));
    // What an operator put in its side outputs goes before the barrier too, into the chained
    // operators that read them (later in the chain): an operator that does not flush them
    // after every batch would otherwise send them after it, and a restore would lose them.
    WEIR_RETURN_IF_ERROR(Guard([&] { e.op->side_outputs().Flush(); }));
  }
  FlushOutputs();
  for (Channel* ch : output_channels_) ch->PushEvent(EventKind::kBarrier, barrier);

  auto ack = std::make_shared<CheckpointAcknowledgement>();
  ack->checkpoint_id = id;
  ack->task_index = spec_.task_index;
  ack->alignment_ms = aligner_ ? aligner_->last_alignment_ms() : 0;
  // Wall clocks on both ends, as the barrier carries the trigger's wall time.
  ack->start_delay_ms = std::max<int64_t>(0, reached_wall_ms - barrier.timestamp_ms);
  execution_.checkpoint_start_delay_nanos.store(ack->start_delay_ms * 1'000'000);
  std::vector<std::function<Status()>> async_parts;
  for (auto& e : entries) {
    detail::OperatorSnapshot snapshot;
    WEIR_RETURN_IF_ERROR(Guard([&] { e.op->SnapshotState(id, &snapshot); }));
    ack->states.push_back(OperatorSubtaskState{e.transformation->OperatorUid(), spec_.subtask,
                                               SubtaskState{std::move(snapshot.state), {}}});
    if (snapshot.async_part) async_parts.push_back(std::move(snapshot.async_part));
  }
  std::shared_ptr<KeyedSnapshot> keyed;
  if (backend_) {
    auto snap = backend_->Snapshot(id, barrier.is_savepoint());
    if (!snap.ok()) {
      host_->CheckpointDeclined(CheckpointDecline{
          id, spec_.task_index, snap.status().WithContext("snapshot of '" + name_ + "'")});
      return Status::OK();
    }
    keyed = std::move(*snap);
  }
  ack->sync_ms = (env_->clock->NowNanos() - start) / 1'000'000;
  if (barrier.is_stop()) stopping_at_savepoint_ = id;

  TaskHost* host = host_;
  Clock* clock = env_->clock;
  SnapshotLocation location = barrier.location.Resolve(env_->fs);
  std::string name = name_;
  int task_index = spec_.task_index;
  host_->snapshot_executor().Submit(
      [host, clock, name, task_index, id, location, ack, keyed, parts = std::move(async_parts)] {
        int64_t t0 = clock->NowNanos();
        auto write = [&]() -> Status {
          for (const auto& part : parts) WEIR_RETURN_IF_ERROR(part());
          if (!keyed) return Status::OK();
          WEIR_ASSIGN_OR_RETURN(ack->states.front().state.keyed, keyed->Write(location));
          return Status::OK();
        };
        Status s;
        try {
          s = write();
        } catch (...) {
          // A user sink's Persist threw, say: the checkpoint is declined. Escaping this
          // thread, the exception would end the process.
          s = StatusOfCurrentException();
        }
        if (!s.ok()) {
          host->CheckpointDeclined(
              CheckpointDecline{id, task_index, s.WithContext("writing the state of '" + name + "'")});
          return;
        }
        ack->async_ms = (clock->NowNanos() - t0) / 1'000'000;
        host->CheckpointAcknowledged(std::move(*ack));
      });
  return Status::OK();
}

}  // namespace weir
