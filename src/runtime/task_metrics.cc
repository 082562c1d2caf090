#include "runtime/task_metrics.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "base/hash.h"

namespace weir {

std::string_view TaskStateName(int state) {
  switch (state) {
    case TaskExecutionInfo::kCreated:
      return "CREATED";
    case TaskExecutionInfo::kInitializing:
      return "INITIALIZING";
    case TaskExecutionInfo::kRunning:
      return "RUNNING";
    case TaskExecutionInfo::kFinished:
      return "FINISHED";
    case TaskExecutionInfo::kCanceled:
      return "CANCELED";
    case TaskExecutionInfo::kFailed:
      return "FAILED";
  }
  return "CREATED";
}

std::string JobVertexId(const JobVertex& vertex) {
  std::string uid = vertex.head()->OperatorUid();
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016" PRIx64 "%016" PRIx64, Hash64("vertex:" + uid),
                Hash64("vertex-2:" + uid));
  return buf;
}

TaskMetrics::TaskMetrics(MetricRegistry* registry, const MetricScope& job_scope,
                         const JobVertex& vertex, int subtask, OperatorChain& chain,
                         const TaskIoTimer* io, const TaskExecutionInfo* execution,
                         Clock* clock) {
  if (registry == nullptr) return;
  MetricScope task = job_scope;
  task.level = MetricScope::Level::kTask;
  task.task_id = JobVertexId(vertex);
  task.task_name = vertex.name;
  task.subtask_index = subtask;
  task_group_ = registry->CreateGroup(task);

  auto& entries = chain.entries();
  const bool source = vertex.is_source();
  // Records in: the head operator's input, from the network (none for a source). Out: what
  // the chain hands to writers of other tasks.
  detail::StreamOperator* head = entries.front().op.get();
  auto records_in = [head, source] {
    return source ? 0.0 : static_cast<double>(head->records_processed());
  };
  std::vector<const detail::RecordWriterBase*> writers(chain.writers().begin(),
                                                       chain.writers().end());
  auto records_out = [writers] {
    uint64_t n = 0;
    for (const auto* w : writers) n += w->records_out();
    return static_cast<double>(n);
  };
  task_group_->AddFunction("numRecordsIn", MetricType::kCounter, records_in);
  task_group_->AddFunction("numRecordsOut", MetricType::kCounter, records_out);
  task_group_->AddRate("numRecordsInPerSecond", records_in);
  task_group_->AddRate("numRecordsOutPerSecond", records_out);

  // Time, as milliseconds per second. The start is when the task was built: until it runs,
  // it is neither idle nor back-pressured, and counts as busy (initializing), as in Flink.
  auto idle = [io, clock] { return static_cast<double>(io->IdleNanos(clock->NowNanos())); };
  auto backpressured = [io, clock] {
    return static_cast<double>(io->BackpressuredNanos(clock->NowNanos()));
  };
  const int64_t start = clock->NowNanos();
  auto busy = [io, clock, start] {
    int64_t now = clock->NowNanos();
    return static_cast<double>(std::max<int64_t>(
        0, now - start - io->IdleNanos(now) - io->BackpressuredNanos(now)));
  };
  task_group_->AddRate("idleTimeMsPerSecond", idle, 1e-6);
  task_group_->AddRate("backPressuredTimeMsPerSecond", backpressured, 1e-6);
  task_group_->AddRate("busyTimeMsPerSecond", busy, 1e-6);
  task_group_->AddFunction("accumulatedIdleTimeMs", MetricType::kCounter,
                           [idle] { return idle() / 1e6; });
  task_group_->AddFunction("accumulatedBackPressuredTimeMs", MetricType::kCounter,
                           [backpressured] { return backpressured() / 1e6; });
  task_group_->AddFunction("accumulatedBusyTimeMs", MetricType::kCounter,
                           [busy] { return busy() / 1e6; });
  task_group_->AddFunction("checkpointStartDelayNanos", MetricType::kGauge, [execution] {
    return static_cast<double>(execution->checkpoint_start_delay_nanos.load());
  });
  // The task's input is its head operator's (what the REST API's /watermarks reports). A
  // source reads none, as in Flink, even where it makes watermarks of its own.
  task_group_->AddFunction("currentInputWatermark", MetricType::kGauge, [head, source] {
    return static_cast<double>(source ? detail::kMinWatermark : head->current_watermark());
  });

  for (size_t i = 0; i < entries.size(); ++i) {
    OperatorChain::Entry& e = entries[i];
    MetricScope op = task;
    op.level = MetricScope::Level::kOperator;
    op.operator_id = e.transformation->OperatorUid();
    op.operator_name = e.transformation->name;
    auto group = registry->CreateGroup(op);
    detail::StreamOperator* self = e.op.get();
    // An operator's output is its first consumer's input: a chained operator's count, or the
    // writer's to another task (every consumer of a fan-out gets the same records). A sink
    // has none.
    const detail::StreamOperator* next = nullptr;
    for (size_t j = i + 1; j < entries.size() && next == nullptr; ++j) {
      if (entries[j].transformation->input == e.transformation) next = entries[j].op.get();
    }
    const detail::RecordWriterBase* writer = chain.first_writer(i);
    auto in = [self] { return static_cast<double>(self->records_processed()); };
    auto out = [self, next, writer, source_head = source && i == 0] {
      if (next != nullptr) return static_cast<double>(next->records_processed());
      if (writer != nullptr) return static_cast<double>(writer->records_out());
      // A source's records in are the ones it emitted.
      return source_head ? static_cast<double>(self->records_processed()) : 0.0;
    };
    group->AddFunction("numRecordsIn", MetricType::kCounter, in);
    group->AddFunction("numRecordsOut", MetricType::kCounter, out);
    group->AddRate("numRecordsInPerSecond", in);
    group->AddRate("numRecordsOutPerSecond", out);
    group->AddFunction("currentInputWatermark", MetricType::kGauge,
                       [self] { return static_cast<double>(self->current_watermark()); });
    e.context->set_metric_group(group.get());
    contexts_.push_back(e.context.get());
    operator_groups_.push_back(std::move(group));
  }
}

TaskMetrics::~TaskMetrics() { Close(); }

void TaskMetrics::AddBackendMetrics(KeyedStateBackend* backend) {
  if (operator_groups_.empty() || backend == nullptr) return;
  for (auto& [name, fn] : backend->NativeMetrics()) {
    operator_groups_.front()->AddFunction(name, MetricType::kGauge, std::move(fn));
  }
}

void TaskMetrics::Close() {
  for (OperatorContextImpl* c : contexts_) c->set_metric_group(nullptr);
  contexts_.clear();
  operator_groups_.clear();
  task_group_.reset();
}

}  // namespace weir
