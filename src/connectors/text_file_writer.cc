// The text file sink's two-phase commit.
//
// Without checkpointing, lines are appended to the target file directly and fsynced at the
// end. With checkpointing, the lines between two barriers form a transaction:
//
//   write    appended to a staging file <dir>/.<name>.pending/txn-<n>, invisible to readers
//   prepare  at the barrier: the staging file is closed and recorded in the checkpoint with
//            the offset its bytes will have in the target; the async part fsyncs it
//   commit   when that checkpoint completes: the bytes are appended to the target at exactly
//            that offset (copy_file_range), the target is fsynced, the staging file deleted
//   recover  on restore: every transaction the checkpoint prepared is committed again
//            (idempotent: bytes already in place are compared, not rewritten), then the
//            target is cut to the checkpoint's length and unreferenced staging files go
//
// So the target only ever holds committed transactions, a reader never sees a line that a
// recovery takes back, and after any crash and restore the file is byte-identical to a run
// without failure. The state is a union list: every subtask sees every file's state, owns its
// own, and subtask 0 recovers the files of subtasks that a rescale removed.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <random>

#include "base/fault_points.h"
#include "base/file_system.h"
#include "base/logging.h"
#include "weir/detail/sinks.h"

namespace weir::detail {
namespace {

constexpr char kStateName[] = "text-file-sink";

struct Txn {
  int64_t checkpoint_id = 0;
  std::string staging;  // path
  uint64_t offset = 0;  // where its bytes go in the target
  uint64_t length = 0;
};

// One target file's state, as checkpointed.
struct FileState {
  std::string target;
  int32_t index = 0;            // the subtask that writes it
  uint64_t committed_size = 0;  // target bytes already committed
  std::vector<Txn> pending;     // prepared, not known to be committed, in order

  uint64_t EndOffset() const {
    return pending.empty() ? committed_size : pending.back().offset + pending.back().length;
  }
};

std::string EncodeState(const FileState& s) {
  std::string out;
  BufferWriter w(&out);
  w.PutLengthPrefixed(s.target);
  w.PutFixed32(static_cast<uint32_t>(s.index));
  w.PutVarint64(s.committed_size);
  w.PutVarint64(s.pending.size());
  for (const Txn& t : s.pending) {
    w.PutFixed64(static_cast<uint64_t>(t.checkpoint_id));
    w.PutLengthPrefixed(t.staging);
    w.PutVarint64(t.offset);
    w.PutVarint64(t.length);
  }
  return out;
}

bool DecodeState(std::string_view bytes, FileState* s) {
  BufferReader r(bytes);
  std::string_view target, staging;
  uint32_t index;
  uint64_t n;
  if (!r.GetLengthPrefixed(&target) || !r.GetFixed32(&index) ||
      !r.GetVarint64(&s->committed_size) || !r.GetVarint64(&n) || n > bytes.size()) {
    return false;
  }
  s->target = std::string(target);
  s->index = static_cast<int32_t>(index);
  for (uint64_t i = 0; i < n; ++i) {
    Txn t;
    uint64_t id;
    if (!r.GetFixed64(&id) || !r.GetLengthPrefixed(&staging) || !r.GetVarint64(&t.offset) ||
        !r.GetVarint64(&t.length)) {
      return false;
    }
    t.checkpoint_id = static_cast<int64_t>(id);
    t.staging = std::string(staging);
    s->pending.push_back(std::move(t));
  }
  return r.empty();
}

std::string StagingDir(const std::string& target) {
  return JoinPath(DirName(target), "." + BaseName(target) + ".pending");
}

}  // namespace

struct TextFileWriter::Impl {
  std::string path;
  WriteMode mode;
  FileSystem* fs = nullptr;
  OperatorContext* ctx = nullptr;
  bool transactional = false;

  FileState own;                      // this subtask's file
  std::vector<FileState> orphans;     // files of removed subtasks (subtask 0 keeps them)
  std::unique_ptr<WritableFile> out;  // staging file of the open transaction, or the target
  std::string out_path;
  std::string instance;  // random, names this writer's staging files
  uint64_t txn_seq = 0;
  uint64_t txn_length = 0;
  bool finished = false;  // end of input reached

  std::string Where() const { return "text file sink '" + own.target + "'"; }

  Status PrepareTarget(bool restored, int attempt) {
    WEIR_RETURN_IF_ERROR(fs->CreateDirs(DirName(own.target)));
    if (restored) return Status::OK();
    if (fs->Exists(own.target)) {
      auto is_dir = fs->IsDirectory(own.target);
      if (is_dir.ok() && *is_dir) {
        return Status::AlreadyExists(Where() + ": the output path is a directory");
      }
      // A restart with nothing to restore (no checkpoint had completed) finds the file its own
      // first attempt created: start it again rather than refuse it.
      if (mode == WriteMode::kNoOverwrite && attempt == 0) {
        return Status::AlreadyExists(
            Where() + ": the output file exists (use WriteMode::kOverwrite to replace it)");
      }
    }
    // A fresh start replaces the file (OVERWRITE) and forgets staged data of older runs.
    WEIR_ASSIGN_OR_RETURN(auto f, fs->NewWritableFile(own.target));
    WEIR_RETURN_IF_ERROR(f->Sync());
    WEIR_RETURN_IF_ERROR(f->Close());
    WEIR_RETURN_IF_ERROR(fs->SyncDir(DirName(own.target)));
    return fs->DeleteDirRecursive(StagingDir(own.target));
  }

  // Puts `t`'s bytes at t.offset in the target; a no-op if they are already there.
  Status CommitTxn(const Txn& t, const std::string& target) {
    WEIR_FAULT_POINT("sink.before-commit");
    uint64_t size = 0;
    bool exists = fs->Exists(target);
    if (exists) {
      WEIR_ASSIGN_OR_RETURN(size, fs->FileSize(target));
    }
    if (size < t.offset) {
      return Status::Corruption("output file '" + target + "' has " + std::to_string(size) +
                                " bytes but " + std::to_string(t.offset) +
                                " were committed before: it was truncated or replaced "
                                "outside weir");
    }
    if (!fs->Exists(t.staging)) {
      // Committed before and its staging file deleted (a commit fsyncs the target first).
      if (size >= t.offset + t.length) return Status::OK();
      return Status::Corruption(
          "output file '" + target + "' lacks bytes " + std::to_string(t.offset) + ".." +
          std::to_string(t.offset + t.length) +
          " of a committed transaction, and its staging file '" + t.staging + "' is gone");
    }
    // Nothing to put: bytes past the offset belong to later transactions (or are cut by
    // Recover), so they must not be truncated here.
    if (t.length == 0) return Status::OK();
    if (size >= t.offset + t.length) {
      WEIR_ASSIGN_OR_RETURN(std::string have, fs->ReadFileRange(target, t.offset, t.length));
      WEIR_ASSIGN_OR_RETURN(std::string want, fs->ReadFileRange(t.staging, 0, t.length));
      // In place, but maybe not durable: an earlier commit may have failed at its fsync.
      if (have == want) return fs->SyncFile(target);
    }
    if (size > t.offset) WEIR_RETURN_IF_ERROR(fs->Truncate(target, t.offset));
    WEIR_ASSIGN_OR_RETURN(auto f, fs->NewAppendableFile(target));
    WEIR_RETURN_IF_ERROR(fs->AppendRange(t.staging, 0, t.length, *f));
    WEIR_FAULT_POINT("sink.mid-commit");
    WEIR_RETURN_IF_ERROR(f->Sync());
    WEIR_RETURN_IF_ERROR(f->Close());
    // A target this commit created needs its directory entry to survive a power loss too.
    if (!exists) WEIR_RETURN_IF_ERROR(fs->SyncDir(DirName(target)));
    WEIR_FAULT_POINT("sink.after-commit");
    return Status::OK();
  }

  // Recovery of one file's state from a checkpoint: commit what it prepared, cut the rest.
  Status Recover(FileState& s) {
    for (const Txn& t : s.pending) {
      Status c = CommitTxn(t, s.target);
      if (!c.ok()) return c.WithContext("recovering '" + s.target + "'");
      s.committed_size = t.offset + t.length;
    }
    s.pending.clear();
    uint64_t size = 0;
    if (fs->Exists(s.target)) {
      WEIR_ASSIGN_OR_RETURN(size, fs->FileSize(s.target));
    }
    if (size < s.committed_size) {
      return Status::Corruption("output file '" + s.target + "' has " + std::to_string(size) +
                                " bytes, fewer than the " + std::to_string(s.committed_size) +
                                " the checkpoint committed");
    }
    if (size > s.committed_size) {
      spdlog::warn("{}: removing {} bytes written after the restored checkpoint", s.target,
                   size - s.committed_size);
      WEIR_RETURN_IF_ERROR(fs->Truncate(s.target, s.committed_size));
      WEIR_ASSIGN_OR_RETURN(auto f, fs->NewAppendableFile(s.target));
      WEIR_RETURN_IF_ERROR(f->Sync());
    }
    // Staging files of transactions the checkpoint does not know were never committed.
    return fs->DeleteDirRecursive(StagingDir(s.target));
  }

  Status OpenTxn() {
    std::string dir = StagingDir(own.target);
    if (!fs->Exists(dir)) {
      WEIR_RETURN_IF_ERROR(fs->CreateDirs(dir));
      // The checkpoint's fsync of the staging directory keeps the files in it; this keeps the
      // directory itself.
      WEIR_RETURN_IF_ERROR(fs->SyncDir(DirName(dir)));
    }
    // Unique per writer instance: a restarted attempt must never reuse (and truncate) the
    // staging file of a transaction that a restored checkpoint still refers to.
    out_path = JoinPath(dir, "txn-" + instance + "-" + std::to_string(txn_seq++));
    WEIR_ASSIGN_OR_RETURN(out, fs->NewWritableFile(out_path));
    txn_length = 0;
    return Status::OK();
  }
};

TextFileWriter::TextFileWriter(std::string path, WriteMode mode) : impl_(std::make_unique<Impl>()) {
  impl_->path = std::move(path);
  impl_->mode = mode;
}

TextFileWriter::~TextFileWriter() = default;

Status TextFileWriter::Initialize(OperatorContext& ctx, const OperatorState& restored) {
  Impl& m = *impl_;
  m.ctx = &ctx;
  m.fs = &ctx.file_system();
  m.transactional = ctx.checkpointing_enabled();
  std::random_device rd;
  char token[17];
  std::snprintf(token, sizeof token, "%08x%08x", rd(), rd());
  m.instance = token;
  int p = ctx.parallelism();
  int i = ctx.subtask_index();
  // Flink's writeAsText: a file at parallelism 1, else a directory of files 1..p.
  m.own.target = p == 1 ? m.path : JoinPath(m.path, std::to_string(i + 1));
  m.own.index = i;

  bool restored_state = false;
  for (const auto& list : restored) {
    if (list.name != kStateName) continue;
    for (const auto& e : list.elements) {
      FileState s;
      if (!DecodeState(e, &s)) {
        return Status::Corruption(m.Where() + ": restored sink state does not decode");
      }
      // Parallelism 1 writes a file and above 1 a directory: neither layout can take over the
      // other's prepared transactions, which would otherwise be lost without a word.
      if ((s.target == m.path) != (p == 1)) {
        return Status::FailedPrecondition(
            "text file sink '" + m.path + "': the checkpoint wrote it with parallelism " +
            (p == 1 ? "above 1 (a directory of files)" : "1 (a single file)") +
            ", and it now runs with parallelism " + std::to_string(p) +
            "; restore with the parallelism it had, or write to a new path");
      }
      if (s.target == m.own.target) {
        restored_state = true;
        m.own = std::move(s);
        m.own.index = i;
      } else if (i == 0 && s.index >= p) {
        m.orphans.push_back(std::move(s));
      }
    }
  }
  WEIR_RETURN_IF_ERROR(m.PrepareTarget(restored_state, ctx.attempt_number()));
  if (restored_state) WEIR_RETURN_IF_ERROR(m.Recover(m.own));
  for (FileState& s : m.orphans) WEIR_RETURN_IF_ERROR(m.Recover(s));
  if (!m.transactional) {
    WEIR_ASSIGN_OR_RETURN(m.out, m.fs->NewAppendableFile(m.own.target));
    m.out_path = m.own.target;
  }
  return Status::OK();
}

Status TextFileWriter::Write(std::string_view bytes) {
  Impl& m = *impl_;
  if (!m.out) WEIR_RETURN_IF_ERROR(m.OpenTxn());
  m.txn_length += bytes.size();
  Status s = m.out->Append(bytes);
  return s.ok() ? s : s.WithContext(m.Where());
}

Status TextFileWriter::Snapshot(int64_t checkpoint_id, OperatorSnapshot* out) {
  Impl& m = *impl_;
  if (m.transactional && m.out) {
    // Prepare: the open transaction becomes part of this checkpoint.
    WEIR_RETURN_IF_ERROR(m.out->Close());
    m.own.pending.push_back(Txn{checkpoint_id, m.out_path, m.own.EndOffset(), m.txn_length});
    m.out.reset();
  }
  OperatorStateList list{kStateName, OperatorStateList::Mode::kUnion, {}};
  list.elements.push_back(EncodeState(m.own));
  for (const FileState& s : m.orphans) list.elements.push_back(EncodeState(s));
  out->state.push_back(std::move(list));
  std::vector<std::string> staged;
  for (const Txn& t : m.own.pending) staged.push_back(t.staging);
  if (staged.empty()) return Status::OK();
  FileSystem* fs = m.fs;
  std::string dir = StagingDir(m.own.target);
  out->async_part = [fs, staged, dir]() -> Status {
    for (const auto& path : staged) {
      Status s = fs->SyncFile(path);
      // A file committed (and deleted) meanwhile is in the fsynced target already.
      if (!s.ok() && !s.IsNotFound()) return s;
    }
    return fs->SyncDir(dir);
  };
  return Status::OK();
}

Status TextFileWriter::Commit(int64_t checkpoint_id) {
  Impl& m = *impl_;
  auto& pending = m.own.pending;
  size_t done = 0;
  for (; done < pending.size() && pending[done].checkpoint_id <= checkpoint_id; ++done) {
    const Txn& t = pending[done];
    Status s = m.CommitTxn(t, m.own.target);
    if (!s.ok()) {
      return s.WithContext(m.Where() + ": committing checkpoint " + std::to_string(checkpoint_id));
    }
    m.own.committed_size = t.offset + t.length;
    (void)m.fs->DeleteFile(t.staging);
  }
  pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(done));
  return Status::OK();
}

Status TextFileWriter::Finish() {
  Impl& m = *impl_;
  m.finished = true;
  if (m.transactional || !m.out) return Status::OK();
  Status s = m.out->Sync();
  return s.ok() ? s : s.WithContext(m.Where());
}

void TextFileWriter::Close() {
  Impl& m = *impl_;
  if (m.out) (void)m.out->Close();
  m.out.reset();
  // After a complete run everything is committed: leave only the output behind. Otherwise
  // staged transactions stay for the next recovery.
  if (m.finished && m.transactional && m.own.pending.empty()) {
    (void)m.fs->DeleteDirRecursive(StagingDir(m.own.target));
  }
}

}  // namespace weir::detail
