#include "weir/environment.h"

#include "api/config_options.h"
#include "api/sequence_source.h"
#include "base/clock.h"
#include "base/file_system.h"
#include "base/logging.h"
#include "checkpoint/checkpoint_options.h"
#include "rest/rest_endpoint.h"
#include "runtime/job_master.h"
#include "runtime/pipeline_options.h"
#include "state/state_backend_options.h"

namespace weir {
namespace {

class LocalJobClient final : public JobClient {
 public:
  LocalJobClient(std::unique_ptr<JobMaster> master, std::unique_ptr<RestEndpoint> rest)
      : master_(std::move(master)), rest_(std::move(rest)) {}
  // A job that never started: Wait() returns this at once.
  LocalJobClient(JobResult failed) : failed_(std::move(failed)) {}
  // The REST API stops before the job master goes: its handlers read the master.
  ~LocalJobClient() override {
    if (rest_) {
      if (master_) {
        master_->Cancel();  // as the master's own destructor would; nothing if it ended
        master_->Wait();
      }
      rest_->Stop();
    }
  }

  const std::string& job_id() const override {
    return master_ ? master_->job_id() : failed_.job_id;
  }
  JobMetrics metrics() const override {
    if (master_) return master_->metrics();
    JobMetrics m;
    m.status = JobStatus::kFailed;
    return m;
  }
  void Cancel() override {
    if (master_) master_->Cancel();
  }
  Result<std::string> TriggerSavepoint(const std::string& target_dir) override {
    if (!master_) return Status::FailedPrecondition("the job did not start");
    return master_->TriggerSavepoint(target_dir, /*stop=*/false);
  }
  Result<std::string> StopWithSavepoint(const std::string& target_dir, bool drain) override {
    if (!master_) return Status::FailedPrecondition("the job did not start");
    return master_->TriggerSavepoint(target_dir, /*stop=*/true, drain);
  }
  JobResult Wait() override { return master_ ? master_->Wait() : failed_; }

 private:
  std::unique_ptr<JobMaster> master_;
  std::unique_ptr<RestEndpoint> rest_;  // null: rest.enabled is false
  JobResult failed_;
};

}  // namespace

struct StreamExecutionEnvironment::Impl {
  Configuration config;
  detail::GraphBuilder graph;
  FileSystem* fs = FileSystem::Default();
  Clock* clock = Clock::System();
  Status build_error;
  bool executed = false;
};

StreamExecutionEnvironment::StreamExecutionEnvironment() : impl_(std::make_unique<Impl>()) {
  InitLogging();
}

StreamExecutionEnvironment::StreamExecutionEnvironment(Configuration config)
    : StreamExecutionEnvironment() {
  impl_->config = std::move(config);
}

StreamExecutionEnvironment::~StreamExecutionEnvironment() = default;

StreamExecutionEnvironment& StreamExecutionEnvironment::SetParallelism(int parallelism) {
  impl_->config.Set(pipeline_options::kDefaultParallelism, std::to_string(parallelism));
  return *this;
}

StreamExecutionEnvironment& StreamExecutionEnvironment::SetMaxParallelism(int max_parallelism) {
  impl_->config.Set(pipeline_options::kMaxParallelism, std::to_string(max_parallelism));
  return *this;
}

StreamExecutionEnvironment& StreamExecutionEnvironment::EnableCheckpointing(
    std::chrono::milliseconds interval, CheckpointingMode mode) {
  impl_->config.Set(checkpointing_options::kInterval, std::to_string(interval.count()) + " ms");
  impl_->config.Set(checkpointing_options::kMode,
                    mode == CheckpointingMode::kExactlyOnce ? "EXACTLY_ONCE" : "AT_LEAST_ONCE");
  return *this;
}

StreamExecutionEnvironment& StreamExecutionEnvironment::SetStateBackend(std::string type) {
  impl_->config.Set(state_backend_options::kType, std::move(type));
  return *this;
}

Configuration& StreamExecutionEnvironment::config() { return impl_->config; }
const Configuration& StreamExecutionEnvironment::config() const { return impl_->config; }

detail::GraphBuilder* StreamExecutionEnvironment::graph() { return &impl_->graph; }

void StreamExecutionEnvironment::SetFileSystemForTesting(FileSystem* fs) { impl_->fs = fs; }
void StreamExecutionEnvironment::SetClockForTesting(Clock* clock) { impl_->clock = clock; }

DataStream<int64_t> StreamExecutionEnvironment::FromSequence(int64_t from, int64_t to) {
  if (from > to && impl_->build_error.ok()) {
    impl_->build_error =
        Status::InvalidArgument("FromSequence(" + std::to_string(from) + ", " + std::to_string(to) +
                                "): 'from' must not be greater than 'to'");
  }
  return AddSource<int64_t, SequenceSplit, std::vector<SequenceSplit>>(
      std::make_shared<const SequenceSource>(from, to), std::nullopt, "Sequence Source",
      /*non_parallel=*/false);
}

std::unique_ptr<JobClient> StreamExecutionEnvironment::ExecuteAsync(std::string job_name) {
  auto fail = [&](const Status& s) {
    JobResult r;
    r.status = s;
    r.job_name = job_name;
    r.metrics.status = JobStatus::kFailed;
    return std::make_unique<LocalJobClient>(std::move(r));
  };
  if (job_name.empty()) {
    auto name = impl_->config.GetOptional(pipeline_options::kName);
    job_name = name.ok() && *name ? **name : "weir job";
  }
  if (impl_->executed) {
    return fail(Status::FailedPrecondition("this environment already executed a job"));
  }
  impl_->executed = true;
  if (!impl_->build_error.ok()) return fail(impl_->build_error);
  for (const auto& w : impl_->config.UnknownKeyWarnings(AllConfigOptions())) {
    spdlog::warn("{}", w);
  }
  for (const auto& w : impl_->config.OverrideWarnings()) spdlog::warn("{}", w);
  // The REST API's port is taken first, so a bad setting or a taken port fails the job
  // before it starts.
  auto rest = RestEndpoint::Bind(impl_->config);
  if (!rest.ok()) return fail(rest.status());
  auto master =
      std::make_unique<JobMaster>(&impl_->graph, job_name, impl_->config, impl_->fs, impl_->clock);
  Status s = master->Start();
  if (!s.ok()) return fail(s);
  if (*rest) (*rest)->Start(master.get());
  return std::make_unique<LocalJobClient>(std::move(master), std::move(*rest));
}

JobResult StreamExecutionEnvironment::Execute(std::string job_name) {
  return ExecuteAsync(std::move(job_name))->Wait();
}

}  // namespace weir
