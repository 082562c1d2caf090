// FaultInjectionFileSystem: a FileSystem wrapper for tests that makes the disk misbehave.
//
// It can fail chosen operations (write, fsync, rename, ...) on chosen paths, fill the disk
// after a byte budget, and simulate a power loss: DropUnsyncedData() truncates every file it
// wrote to its last fsynced size, deletes files whose directory entry was never fsynced, and
// undoes renames that were not followed by an fsync of the directory. Model: LevelDB's
// FaultInjectionTestEnv, RocksDB's FaultInjectionTestFS.
//
// A failed fsync (an injected kSync error) treats the file's unsynced bytes as Linux does
// since 4.13: they stay readable, but their pages count as clean, so a later fsync succeeds
// without writing them, and a power loss then leaves zeros where they were, unless they
// were written again (WriteAt) before that fsync.
//
// Thread-safety: thread-safe; all bookkeeping is under one mutex.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/file_system.h"

namespace weir {

class FaultInjectionFileSystem final : public FileSystem {
 public:
  enum class Op { kCreate, kWrite, kSync, kRename, kDelete, kSyncDir, kLink, kTruncate, kRead };

  explicit FaultInjectionFileSystem(FileSystem* base) : base_(base) {}

  // Fails `count` operations of kind `op` on paths containing `path_filter` (empty matches
  // all) with `error`, after letting `skip` matching operations through. count < 0: forever.
  void InjectError(Op op, std::string path_filter, Status error, int count = -1, int skip = 0);
  void ClearErrors();
  // After `bytes` more bytes are written through this file system, writes fail with kNoSpace.
  void SetSpaceLimit(uint64_t bytes);
  void ClearSpaceLimit();
  // Power loss: see the class comment. Call when nothing is writing.
  Status DropUnsyncedData();
  int injected_failures() const;

  // FileSystem:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::string> ReadFile(const std::string& path) override;
  Result<std::string> ReadFileRange(const std::string& path, uint64_t offset, uint64_t n) override;
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  Result<bool> IsDirectory(const std::string& path) override { return base_->IsDirectory(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  Status CreateDirs(const std::string& path) override;
  Status DeleteFile(const std::string& path) override;
  Status DeleteDirRecursive(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Link(const std::string& from, const std::string& to) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status WriteAt(const std::string& path, uint64_t offset, std::string_view data) override;
  Status SyncDir(const std::string& path) override;
  Status SyncFile(const std::string& path) override;

 private:
  class File;
  friend class File;

  struct Rule {
    Op op;
    std::string path_filter;
    Status error;
    int remaining;
    int skip;
  };
  struct FileState {
    uint64_t synced_size = 0;
    bool entry_synced = false;  // its directory was fsynced after it was created
    // [begin, end) written, then dropped from writeback by a failed fsync.
    std::vector<std::pair<uint64_t, uint64_t>> lost;
    // Written again since (WriteAt): no longer lost once an fsync succeeds.
    std::vector<std::pair<uint64_t, uint64_t>> rewritten;
  };

  // Returns the injected error for (op, path), or OK. Requires mu_.
  Status MaybeFail(Op op, const std::string& path);
  Status CheckSpace(uint64_t bytes);
  void OnSynced(const std::string& path, uint64_t size);
  // An fsync succeeded at `size`: what was written again is no longer lost. Requires mu_.
  static void MarkSynced(FileState& st, uint64_t size);
  // An fsync of `path` failed: its unsynced bytes are lost (see the class comment).
  // Requires mu_.
  void DropWriteback(const std::string& path);

  FileSystem* base_;
  mutable std::mutex mu_;
  std::vector<Rule> rules_;                    // guarded by mu_
  int failures_ = 0;                           // guarded by mu_
  bool space_limited_ = false;                 // guarded by mu_
  uint64_t space_left_ = 0;                    // guarded by mu_
  std::map<std::string, FileState> files_;     // guarded by mu_
  // Renames whose directory has not been fsynced since: to -> from. guarded by mu_.
  std::map<std::string, std::string> unsynced_renames_;
};

}  // namespace weir
