// FileSystem: every file the engine touches goes through this interface.
//
// Checkpoint storage, the transactional file sink and the state backends reach files only
// through a FileSystem passed in, so tests can substitute FaultInjectionFileSystem (failing
// fsync, rename or write, a full disk, power loss dropping unsynced data). Model: LevelDB Env,
// RocksDB FileSystem.
//
// Paths are plain local paths; ResolvePath() turns a "file://" URI into one and rejects other
// schemes. Every error names the path and the operation.
//
// Thread-safety: FileSystem implementations are thread-safe. A WritableFile is used by one
// thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weir/status.h"

namespace weir {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends to the file; data may sit in a buffer until Flush/Sync/Close.
  virtual Status Append(std::string_view data) = 0;
  // Hands buffered data to the OS (survives a process crash, not a power loss).
  virtual Status Flush() = 0;
  // Flush, then fsync: the data survives a power loss.
  virtual Status Sync() = 0;
  // Flush and close. Idempotent.
  virtual Status Close() = 0;
  // Bytes appended so far, including buffered ones, plus the size the file had when opened.
  virtual uint64_t size() const = 0;
  virtual const std::string& path() const = 0;
};

// An exclusive lock held on a lock file until destroyed (or the process ends, even by
// kill -9: the OS releases it). The file says who holds it.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates (or truncates) `path` for writing.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Opens `path` for appending, creating it if missing.
  virtual Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) = 0;
  // As NewWritableFile, for a large file written once and read rarely (a state snapshot): its
  // bytes may bypass the page cache where the file system allows it, which spares copying
  // them into memory the kernel then has to find. The same bytes either way.
  virtual Result<std::unique_ptr<WritableFile>> NewUncachedWritableFile(const std::string& path) {
    return NewWritableFile(path);
  }

  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Reads exactly `n` bytes at `offset`; Corruption if the file is shorter.
  virtual Result<std::string> ReadFileRange(const std::string& path, uint64_t offset,
                                            uint64_t n) = 0;

  // False only where the path is known not to exist; one that cannot be reached for want of
  // permission counts as there (what reads it then says why it cannot).
  virtual bool Exists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  virtual Result<bool> IsDirectory(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;

  // Creates a directory and its missing parents; OK if it exists.
  virtual Status CreateDirs(const std::string& path) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  // Deletes a directory tree; OK if it does not exist.
  virtual Status DeleteDirRecursive(const std::string& path) = 0;
  // Atomically replaces `to` with `from` (rename(2)).
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Makes `to` a hard link to `from`.
  virtual Status Link(const std::string& from, const std::string& to) = 0;
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // Writes `data` over the bytes of an existing file at `offset` (pwrite), leaving the bytes
  // around them as they are. The pages it writes are dirty again, so the next fsync writes
  // them even if an earlier fsync failed and the kernel forgot them.
  virtual Status WriteAt(const std::string& path, uint64_t offset, std::string_view data) = 0;
  // fsyncs a directory, making creates, renames and deletes in it durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // fsyncs a file by path (its data written through any descriptor).
  virtual Status SyncFile(const std::string& path) = 0;

  // Appends `n` bytes of `src` starting at `offset` to `dst` (straight to its descriptor where
  // possible, past dst's buffer).
  virtual Status AppendRange(const std::string& src, uint64_t offset, uint64_t n,
                             WritableFile& dst);

  // Takes the exclusive lock on `path` (created if missing) without waiting, and writes
  // `holder` into it. If another process holds it: FailedPrecondition with what that
  // process wrote there.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path,
                                                     std::string_view holder);

  static FileSystem* Default();
};

// The buffers of uncached files (NewUncachedWritableFile, where it writes around the page
// cache) that wait for the device beyond each file's first two, across the process: how
// many now, the most at once, and the budget they share. For tests and diagnostics.
struct DirectIoQueueUse {
  size_t extra_buffers = 0;
  size_t peak_extra_buffers = 0;
  size_t extra_budget = 0;
};
DirectIoQueueUse DirectIoQueue();

// Writes `data` to `path` durably and atomically: a temp file, fsync, rename, fsync of the
// directory. A reader sees the old file or the whole new one, never a part.
Status WriteFileAtomically(FileSystem& fs, const std::string& path, std::string_view data);

// "file:///a/b" -> "/a/b"; a plain path is returned unchanged. Other schemes are an error
// naming the configuration key they came from.
Result<std::string> ResolvePath(std::string_view uri_or_path, std::string_view config_key);

// `path` made absolute (against the working directory) and normal: no ".", "..", double
// slashes or trailing slash, and symbolic links of its existing part resolved. Two spellings
// of one file give the same string.
std::string AbsolutePath(std::string_view path);

// Who this process is, for lock files and errors: "process <pid> on <host>".
std::string ProcessDescription();

std::string JoinPath(std::string_view a, std::string_view b);
std::string DirName(std::string_view path);
std::string BaseName(std::string_view path);

}  // namespace weir
