// SnapshotLocation: where the files of one checkpoint are written and read back.
//
// Exclusive files belong to one checkpoint (<base>/chk-<n>/...) and are deleted with it.
// Shared files (<base>/shared/...) may be referenced by several checkpoints (RocksDB
// incremental SSTs) and are reference-counted by the checkpoint store. Writing computes the
// size and checksum recorded in the metadata; reading verifies them, so a truncated or
// corrupted file is reported with its path, never silently used.
//
// Thread-safety: immutable after construction; safe to use from several threads.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/file_system.h"
#include "base/hash.h"
#include "state/state_handles.h"

namespace weir {

// Writes one state file, checksumming as it goes.
class StateFileWriter {
 public:
  StateFileWriter(std::unique_ptr<WritableFile> file, std::string relative_path)
      : file_(std::move(file)), relative_path_(std::move(relative_path)) {}

  Status Append(std::string_view data) {
    checksum_.Update(data);
    return file_->Append(data);
  }
  uint64_t size() const { return file_->size(); }
  // Of the bytes appended so far.
  const Checksum& checksum() const { return checksum_; }
  // fsyncs and closes the file and returns its handle.
  Result<StateFile> Finish();

 private:
  std::unique_ptr<WritableFile> file_;
  std::string relative_path_;
  Checksum checksum_;
};

// The name an incremental backend gives a file it writes under shared/: "c<checkpoint id>_<rest>",
// so a sweep of shared/ knows which checkpoint wrote it.
std::string SharedStateFileName(int64_t checkpoint_id, std::string_view rest);
// The checkpoint id in such a name; nullopt for a name that is not one.
std::optional<int64_t> SharedStateFileCheckpoint(std::string_view name);
// The end of the name of a file hard-linked from an earlier checkpoint (LinkExclusiveFile):
// its bytes were written by that checkpoint, not by the one whose directory holds the link.
inline constexpr std::string_view kLinkedFileSuffix = ".linked";
// Whether checkpoint `checkpoint_id` wrote `file` (a path relative to the checkpoints' base
// directory): the files of its own directory but those linked there, and those under shared/
// named for it. Any other shared file was written by an earlier checkpoint and reused.
bool WrittenByCheckpoint(std::string_view file, int64_t checkpoint_id);

class SnapshotLocation {
 public:
  // `base_dir`: absolute or working-directory-relative directory the handles are relative
  // to; `exclusive_dir`: this checkpoint's directory relative to it ("chk-7").
  SnapshotLocation(FileSystem* fs, std::string base_dir, std::string exclusive_dir)
      : fs_(fs), base_dir_(std::move(base_dir)), exclusive_dir_(std::move(exclusive_dir)) {}

  Result<std::unique_ptr<StateFileWriter>> CreateExclusiveFile(const std::string& name) const;
  // The caller makes the file's directory entry durable (SyncDir of shared/) once finished.
  Result<std::unique_ptr<StateFileWriter>> CreateSharedFile(const std::string& name) const;

  // Hard-links `from`, a file of an earlier checkpoint, into this checkpoint's directory as
  // `name` + kLinkedFileSuffix: the same bytes, with nothing written. The file was durable
  // already; this checkpoint's _metadata makes the new directory entry durable.
  Result<StateFile> LinkExclusiveFile(const StateFile& from, const std::string& name) const;
  // Copies `local_path` into shared/ as `name`, checksumming it. The file and its directory
  // entry are durable when this returns.
  Result<StateFile> UploadShared(const std::string& local_path, const std::string& name) const;

  std::string Absolute(const StateFile& f) const { return JoinPath(base_dir_, f.path); }
  // The whole file, after checking its size and checksum against the handle.
  Result<std::string> ReadVerified(const StateFile& f) const;
  // Checks size and checksum without keeping the data.
  Status Verify(const StateFile& f) const;

  FileSystem& fs() const { return *fs_; }
  const std::string& base_dir() const { return base_dir_; }
  const std::string& exclusive_dir() const { return exclusive_dir_; }

 private:
  FileSystem* fs_;
  std::string base_dir_;
  std::string exclusive_dir_;
};

}  // namespace weir
