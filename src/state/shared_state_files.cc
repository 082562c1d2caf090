#include "state/shared_state_files.h"

namespace weir {

SharedStateFiles::FileMap SharedStateFiles::BeginCheckpoint(int64_t checkpoint_id) {
  std::lock_guard<std::mutex> lock(mu_);
  FileMap base = pending_.empty() ? confirmed_ : FileMap();
  pending_.insert(checkpoint_id);
  return base;
}

void SharedStateFiles::BeginSavepoint(int64_t checkpoint_id) {
  std::lock_guard<std::mutex> lock(mu_);
  savepoints_.insert(checkpoint_id);
}

void SharedStateFiles::Written(int64_t checkpoint_id, FileMap files) {
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.contains(checkpoint_id)) written_[checkpoint_id] = std::move(files);
}

void SharedStateFiles::Completed(int64_t checkpoint_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (savepoints_.erase(checkpoint_id) > 0) return;
  if (checkpoint_id <= last_completed_) return;
  last_completed_ = checkpoint_id;
  auto it = written_.find(checkpoint_id);
  // A completed checkpoint that noted no files (a RocksDB full one, or one this backend did
  // not take) references none of the old ones: they may be deleted now.
  confirmed_ = it != written_.end() ? std::move(it->second) : FileMap();
  // Older pending checkpoints are subsumed: they will never complete.
  written_.erase(written_.begin(), written_.upper_bound(checkpoint_id));
  pending_.erase(pending_.begin(), pending_.upper_bound(checkpoint_id));
}

void SharedStateFiles::Aborted(int64_t checkpoint_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (savepoints_.erase(checkpoint_id) > 0) return;
  pending_.erase(checkpoint_id);
  written_.erase(checkpoint_id);
}

void SharedStateFiles::Seed(FileMap files) {
  std::lock_guard<std::mutex> lock(mu_);
  confirmed_ = std::move(files);
}

}  // namespace weir
