// CheckpointMetadata: the _metadata file that makes a directory of state files a checkpoint.
//
// It lists, per operator (by uid) and subtask, the operator state inline and the keyed state
// handles (files with sizes and checksums). It is written last, atomically; a checkpoint
// without a complete, valid _metadata does not exist. The encoding is binary with a magic, a
// version and a trailing XXH3 checksum, so a truncated or altered file is detected.
// Value types; thread-safe to copy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "state/state_handles.h"
#include "weir/detail/operator.h"
#include "weir/status.h"

namespace weir {

struct SubtaskState {
  detail::OperatorState operator_state;
  std::optional<KeyedStateHandle> keyed;
};

// Bytes of one subtask's state: its files plus its inline operator state.
uint64_t StateSize(const SubtaskState& state);

struct OperatorSnapshotMetadata {
  std::string uid;
  std::string name;
  int parallelism = 0;
  int max_parallelism = 0;
  std::vector<SubtaskState> subtasks;  // indexed by subtask
};

struct CheckpointMetadata {
  int64_t checkpoint_id = 0;
  int64_t trigger_wall_ms = 0;
  int64_t completed_wall_ms = 0;
  std::string job_id;
  std::string job_name;
  bool savepoint = false;
  std::vector<OperatorSnapshotMetadata> operators;

  std::string Encode() const;
  // `path` is named in errors.
  static Result<CheckpointMetadata> Decode(std::string_view data, const std::string& path);

  const OperatorSnapshotMetadata* FindOperator(std::string_view uid) const;
  // Every file the checkpoint refers to.
  std::vector<const StateFile*> Files() const;
  // Bytes of state: files plus inline operator state.
  uint64_t StateSize() const;
};

}  // namespace weir
