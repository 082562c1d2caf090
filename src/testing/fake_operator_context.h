// FakeOperatorContext: a detail::OperatorContext for connector unit tests, with the subtask,
// parallelism, attempt, checkpointing and file system set by the test. For tests only;
// single-threaded like the context it stands in for.
#pragma once

#include <cstdint>
#include <string>

#include "base/file_system.h"
#include "weir/configuration.h"
#include "weir/detail/operator.h"

namespace weir::testing {

class FakeOperatorContext final : public detail::OperatorContext {
 public:
  FakeOperatorContext(int subtask, int parallelism, FileSystem* fs = FileSystem::Default())
      : subtask_(subtask), parallelism_(parallelism), fs_(fs) {}

  FakeOperatorContext& set_checkpointing(bool on) {
    checkpointing_ = on;
    return *this;
  }
  FakeOperatorContext& set_attempt(int attempt) {
    attempt_ = attempt;
    return *this;
  }
  FakeOperatorContext& set_restored(bool restored) {
    restored_ = restored;
    return *this;
  }
  FakeOperatorContext& set_source_coordinator(detail::SourceCoordinatorBase* c) {
    source_coordinator_ = c;
    return *this;
  }
  FakeOperatorContext& set_watermark_alignment_groups(detail::WatermarkAlignmentGroups* g) {
    alignment_groups_ = g;
    return *this;
  }
  // Where the context says how often the task read its input (null: nothing counts).
  FakeOperatorContext& set_input_reads(const uint64_t* reads) {
    input_reads_ = reads;
    return *this;
  }
  Configuration& config() { return config_; }

  const std::string& operator_name() const override { return name_; }
  int subtask_index() const override { return subtask_; }
  int parallelism() const override { return parallelism_; }
  int max_parallelism() const override { return 128; }
  int attempt_number() const override { return attempt_; }
  bool is_restored() const override { return restored_; }
  detail::KeyedStateAccess* keyed_state() override { return nullptr; }
  detail::TimerServiceAccess* timer_service() override { return nullptr; }
  int64_t CurrentProcessingTime() const override { return 0; }
  bool checkpointing_enabled() const override { return checkpointing_; }
  size_t batch_size() const override { return 1024; }
  const Configuration& configuration() const override { return config_; }
  FileSystem& file_system() override { return *fs_; }
  detail::SourceCoordinatorBase* source_coordinator() override { return source_coordinator_; }
  detail::WatermarkAlignmentGroups* watermark_alignment_groups() override {
    return alignment_groups_;
  }
  const uint64_t* input_reads() const override { return input_reads_; }

 private:
  std::string name_ = "test-operator";
  int subtask_;
  int parallelism_;
  FileSystem* fs_;
  int attempt_ = 0;
  bool restored_ = false;
  bool checkpointing_ = true;
  Configuration config_;
  detail::WatermarkAlignmentGroups* alignment_groups_ = nullptr;
  const uint64_t* input_reads_ = nullptr;
  detail::SourceCoordinatorBase* source_coordinator_ = nullptr;
};

}  // namespace weir::testing
