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

// Bytes of state, files and inline operator state: `full`, all of it (Flink's state size),
// and `checkpointed`, what the checkpoint wrote itself (Flink's checkpointed size): less when
// an incremental checkpoint reuses files of earlier ones under shared/.
struct StateSizes {
  uint64_t full = 0;
  uint64_t checkpointed = 0;

  StateSizes& operator+=(const StateSizes& other) {
    full += other.full;
    checkpointed += other.checkpointed;
    return *this;
  }
};

// One subtask's state in checkpoint (or savepoint) `checkpoint_id`.
StateSizes SizesOf(const SubtaskState& state, int64_t checkpoint_id);

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
  StateSizes Sizes() const;
};

}  // namespace weir
