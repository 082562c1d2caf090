// OperatorContextImpl: what the runtime offers one operator instance (detail::OperatorContext).
// Thread-safety: used by the owning task thread only.
#pragma once

#include <stop_token>
#include <string>

#include "base/clock.h"
#include "base/file_system.h"
#include "metrics/metric_registry.h"
#include "state/keyed_state_backend.h"
#include "weir/configuration.h"
#include "weir/detail/operator.h"

namespace weir {

class SourceCoordinators;

// Services shared by every task of one job attempt.
struct TaskEnvironment {
  std::string job_id;
  std::string job_name;
  const Configuration* config = nullptr;
  FileSystem* fs = nullptr;
  Clock* clock = nullptr;
  int attempt = 0;
  bool restored = false;
  bool checkpointing = false;
  bool exactly_once = true;
  int max_parallelism = 128;
  size_t batch_size = 1024;
  size_t channel_capacity = 16384;
  int64_t buffer_timeout_nanos = 100'000'000;
  // Where tasks register their metrics (null: nowhere), and the job's scope in it.
  MetricRegistry* metrics = nullptr;
  MetricScope metric_scope;
  // The enumerators of the sources of the current run (null: none).
  const SourceCoordinators* source_coordinators = nullptr;
  // Where sources with watermark alignment meet (null: none).
  detail::WatermarkAlignmentGroups* watermark_alignment_groups = nullptr;
  // Stop is requested when this attempt is cancelled; a new one for each attempt.
  std::stop_source cancellation;
  // The attempt restarted from a stop's savepoint after a failure: its tasks restore and open,
  // then process nothing until they are stopped.
  bool held_for_stop = false;
};

class OperatorContextImpl final : public detail::OperatorContext {
 public:
  OperatorContextImpl(const TaskEnvironment* env, std::string name, int subtask, int parallelism)
      : env_(env), name_(std::move(name)), subtask_(subtask), parallelism_(parallelism) {}

  void set_keyed_backend(KeyedStateBackend* backend) { backend_ = backend; }
  void set_metric_group(MetricGroup* group) { metric_group_ = group; }
  void set_source_coordinator(detail::SourceCoordinatorBase* c) { source_coordinator_ = c; }
  void set_input_reads(const uint64_t* reads) { input_reads_ = reads; }

  const std::string& operator_name() const override { return name_; }
  int subtask_index() const override { return subtask_; }
  int parallelism() const override { return parallelism_; }
  int max_parallelism() const override { return env_->max_parallelism; }
  int attempt_number() const override { return env_->attempt; }
  bool is_restored() const override { return env_->restored; }
  detail::KeyedStateAccess* keyed_state() override { return backend_; }
  detail::TimerServiceAccess* timer_service() override {
    return backend_ ? &backend_->timers() : nullptr;
  }
  int64_t CurrentProcessingTime() const override { return env_->clock->WallMillis(); }
  bool checkpointing_enabled() const override { return env_->checkpointing; }
  size_t batch_size() const override { return env_->batch_size; }
  const Configuration& configuration() const override { return *env_->config; }
  FileSystem& file_system() override { return *env_->fs; }
  MetricGroup& metric_group() override {
    return metric_group_ != nullptr ? *metric_group_ : detail::OperatorContext::metric_group();
  }
  detail::SourceCoordinatorBase* source_coordinator() override { return source_coordinator_; }
  detail::WatermarkAlignmentGroups* watermark_alignment_groups() override {
    return env_->watermark_alignment_groups;
  }
  std::stop_token cancellation() const override { return env_->cancellation.get_token(); }
  const uint64_t* input_reads() const override { return input_reads_; }

 private:
  const TaskEnvironment* env_;
  std::string name_;
  int subtask_;
  int parallelism_;
  KeyedStateBackend* backend_ = nullptr;
  MetricGroup* metric_group_ = nullptr;
  detail::SourceCoordinatorBase* source_coordinator_ = nullptr;
  const uint64_t* input_reads_ = nullptr;
};

}  // namespace weir
