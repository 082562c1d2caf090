// The text file sink on the two-phase-commit contract (weir/sink.h).
//
// Without checkpointing, lines are appended to the target file directly and fsynced at the
// end. With checkpointing, the lines between two barriers form a transaction:
//
//   write    appended to a staging file <dir>/.<name>.pending/txn-<id>-<n>, unseen by readers
//   prepare  at the barrier: the staging file is sealed; the transaction records the target,
//            the staging file, and the offset and length its bytes will have in the target
//   persist  off the task thread: the staging file is fsynced before the checkpoint completes
//   commit   when that checkpoint completes: the bytes are appended to the target at exactly
//            that offset. Idempotent: bytes already in place are compared,
//            not rewritten
//   sync     off the task thread, in the next checkpoint (PersistCommitted): the target is
//            fsynced, then the staging files of the transactions it now holds are deleted; so
//            the task never waits for the disk, and until a commit is durable its staging file
//            is there for a recovery to commit it again. Recovery and the commits after the
//            end of input fsync at once
//   recover  on restore: the engine commits every transaction the checkpoint prepared; then
//            Initialize cuts the target to the committed length and drops unreferenced staging
//
// So the target only ever holds committed transactions, a reader never sees a line that a
// recovery takes back, and after any crash and restore the file is byte-identical to a run
// without failure. Each subtask's output is one file; after a rescale that removed subtasks,
// subtask 0 recovers their files and keeps their state.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>

#include "base/fault_points.h"
#include "base/file_system.h"
#include "base/logging.h"
#include "base/random.h"
#include "weir/connectors/file_sink.h"

namespace weir {
namespace {

struct Txn {
  std::string target;
  std::string staging;
  uint64_t offset = 0;  // where its bytes go in the target
  uint64_t length = 0;
};

std::string EncodeTxn(const Txn& t) {
  std::string out;
  BufferWriter w(&out);
  w.PutLengthPrefixed(t.target);
  w.PutLengthPrefixed(t.staging);
  w.PutVarint64(t.offset);
  w.PutVarint64(t.length);
  return out;
}

bool DecodeTxn(std::string_view bytes, Txn* t) {
  BufferReader r(bytes);
  std::string_view target, staging;
  if (!r.GetLengthPrefixed(&target) || !r.GetLengthPrefixed(&staging) ||
      !r.GetVarint64(&t->offset) || !r.GetVarint64(&t->length) || !r.empty()) {
    return false;
  }
  t->target.assign(target);
  t->staging.assign(staging);
  return true;
}

// One target file's state, as checkpointed: how much of it is committed.
struct FileState {
  std::string target;
  uint64_t committed_size = 0;
};

std::string EncodeFileState(const FileState& s) {
  std::string out;
  BufferWriter w(&out);
  w.PutLengthPrefixed(s.target);
  w.PutVarint64(s.committed_size);
  return out;
}

bool DecodeFileState(std::string_view bytes, FileState* s) {
  BufferReader r(bytes);
  std::string_view target;
  if (!r.GetLengthPrefixed(&target) || !r.GetVarint64(&s->committed_size) || !r.empty()) {
    return false;
  }
  s->target.assign(target);
  return true;
}

std::string StagingDir(const std::string& target) {
  return JoinPath(DirName(target), "." + BaseName(target) + ".pending");
}

}  // namespace

struct TextFileWriter::Impl {
  std::string path;
  WriteMode mode;
  SinkContext ctx;
  FileSystem* fs = nullptr;
  std::string own_target;
  std::map<std::string, uint64_t> committed;  // target -> bytes known to be committed
  std::vector<SinkOutput> adopted;            // files of removed subtasks (subtask 0 only)
  uint64_t next_offset = 0;           // where the next prepared transaction goes in own_target
  std::unique_ptr<WritableFile> out;  // staging file of the open transaction, or the target
  std::string out_path;
  std::string instance;  // random, names this writer's staging files
  uint64_t txn_seq = 0;
  uint64_t txn_length = 0;
  bool initialized = false;  // recovery is done
  bool finished = false;     // end of input reached
  // Committed transactions whose target is not yet fsynced, so whose staging files must stay.
  // The task thread adds, PersistCommitted (on a snapshot thread) takes.
  std::mutex unsynced_mu;
  std::vector<Txn> unsynced;

  bool transactional() const { return ctx.checkpointing; }
  std::string Where() const { return "text file sink '" + own_target + "'"; }

  Status PrepareTarget(bool restored) {
    WEIR_RETURN_IF_ERROR(fs->CreateDirs(DirName(own_target)));
    if (restored) return Status::OK();
    if (fs->Exists(own_target)) {
      auto is_dir = fs->IsDirectory(own_target);
      if (is_dir.ok() && *is_dir) {
        return Status::AlreadyExists(Where() + ": the output path is a directory");
      }
      // A restart with nothing to restore (no checkpoint had completed) finds the file its own
      // first attempt created: start it again rather than refuse it.
      if (mode == WriteMode::kNoOverwrite && ctx.attempt_number == 0) {
        return Status::AlreadyExists(
            Where() + ": the output file exists (use WriteMode::kOverwrite to replace it)");
      }
    }
    // A fresh start replaces the file (OVERWRITE) and forgets staged data of older runs.
    WEIR_ASSIGN_OR_RETURN(auto f, fs->NewWritableFile(own_target));
    WEIR_RETURN_IF_ERROR(f->Sync());
    WEIR_RETURN_IF_ERROR(f->Close());
    WEIR_RETURN_IF_ERROR(fs->SyncDir(DirName(own_target)));
    return fs->DeleteDirRecursive(StagingDir(own_target));
  }

  // Puts `t`'s bytes at t.offset in its target; a no-op if they are already there. With
  // `sync` the target is fsynced too.
  Status CommitTxn(const Txn& t, bool sync) {
    WEIR_FAULT_POINT(fault_points::kSinkBeforeCommit);
    const std::string& target = t.target;
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
      if (have == want) return sync ? fs->SyncFile(target) : Status::OK();
    }
    if (size > t.offset) WEIR_RETURN_IF_ERROR(fs->Truncate(target, t.offset));
    WEIR_ASSIGN_OR_RETURN(auto f, fs->NewAppendableFile(target));
    WEIR_RETURN_IF_ERROR(fs->AppendRange(t.staging, 0, t.length, *f));
    WEIR_FAULT_POINT(fault_points::kSinkMidCommit);
    if (sync) WEIR_RETURN_IF_ERROR(f->Sync());
    WEIR_RETURN_IF_ERROR(f->Close());
    // A target this commit created needs its directory entry to survive a power loss too.
    if (!exists) WEIR_RETURN_IF_ERROR(fs->SyncDir(DirName(target)));
    WEIR_FAULT_POINT(fault_points::kSinkAfterCommit);
    return Status::OK();
  }

  // After the restored transactions were committed: cut the file to what is committed and
  // drop staged data no checkpoint knows.
  Status Recover(const std::string& target, uint64_t committed_size) {
    uint64_t size = 0;
    if (fs->Exists(target)) {
      WEIR_ASSIGN_OR_RETURN(size, fs->FileSize(target));
    }
    if (size < committed_size) {
      return Status::Corruption("output file '" + target + "' has " + std::to_string(size) +
                                " bytes, fewer than the " + std::to_string(committed_size) +
                                " the checkpoint committed");
    }
    if (size > committed_size) {
      spdlog::warn("{}: removing {} bytes written after the restored checkpoint", target,
                   size - committed_size);
      WEIR_RETURN_IF_ERROR(fs->Truncate(target, committed_size));
      WEIR_ASSIGN_OR_RETURN(auto f, fs->NewAppendableFile(target));
      WEIR_RETURN_IF_ERROR(f->Sync());
    }
    return fs->DeleteDirRecursive(StagingDir(target));
  }

  Status OpenTxn() {
    std::string dir = StagingDir(own_target);
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

Status TextFileWriter::Open(const SinkContext& context) {
  Impl& m = *impl_;
  m.ctx = context;
  m.fs = context.file_system;
  m.instance = RandomHex(16);
  // Flink's writeAsText: a file at parallelism 1, else a directory of files 1..p.
  m.own_target = context.parallelism == 1
                     ? m.path
                     : JoinPath(m.path, std::to_string(context.subtask_index + 1));
  return Status::OK();
}

Status TextFileWriter::Commit(std::string_view transaction) {
  Impl& m = *impl_;
  Txn t;
  if (!DecodeTxn(transaction, &t)) {
    return Status::Corruption(m.Where() + ": a transaction does not decode");
  }
  // While running, the fsync is left to the next checkpoint's PersistCommitted.
  const bool defer = m.initialized && !m.finished;
  Status s = m.CommitTxn(t, /*sync=*/!defer);
  if (!s.ok()) return s.WithContext(m.Where());
  uint64_t& committed = m.committed[t.target];
  committed = std::max(committed, t.offset + t.length);
  if (defer) {
    std::lock_guard<std::mutex> lock(m.unsynced_mu);
    m.unsynced.push_back(std::move(t));
  } else {
    (void)m.fs->DeleteFile(t.staging);
  }
  return Status::OK();
}

Status TextFileWriter::Initialize(const std::vector<SinkOutput>& restored) {
  Impl& m = *impl_;
  const int p = m.ctx.parallelism;
  std::optional<FileState> own;
  std::vector<std::pair<int, FileState>> adopted;
  for (const SinkOutput& output : restored) {
    FileState s;
    if (!DecodeFileState(output.state, &s)) {
      return Status::Corruption(m.Where() + ": restored sink state does not decode");
    }
    // Parallelism 1 writes a file and above 1 a directory: neither layout can take over the
    // other's transactions, which would otherwise be lost without a word.
    if ((s.target == m.path) != (p == 1)) {
      return Status::FailedPrecondition(
          "text file sink '" + m.path + "': the checkpoint wrote it with parallelism " +
          (p == 1 ? "above 1 (a directory of files)" : "1 (a single file)") +
          ", and it now runs with parallelism " + std::to_string(p) +
          "; restore with the parallelism it had, or write to a new path");
    }
    if (s.target == m.own_target) {
      own = std::move(s);
    } else {
      adopted.emplace_back(output.owner, std::move(s));
    }
  }
  WEIR_RETURN_IF_ERROR(m.PrepareTarget(own.has_value()));
  auto recover = [&](const FileState& s) -> Status {
    uint64_t& committed = m.committed[s.target];
    committed = std::max(committed, s.committed_size);
    return m.Recover(s.target, committed).WithContext("recovering '" + s.target + "'");
  };
  if (own) WEIR_RETURN_IF_ERROR(recover(*own));
  m.next_offset = m.committed[m.own_target];
  for (const auto& [owner, s] : adopted) {
    WEIR_RETURN_IF_ERROR(recover(s));
    m.adopted.push_back(SinkOutput{owner, EncodeFileState({s.target, m.committed[s.target]})});
  }
  if (!m.transactional()) {
    WEIR_ASSIGN_OR_RETURN(m.out, m.fs->NewAppendableFile(m.own_target));
    m.out_path = m.own_target;
  }
  m.initialized = true;
  return Status::OK();
}

Status TextFileWriter::Write(std::string_view bytes) {
  Impl& m = *impl_;
  if (!m.out) WEIR_RETURN_IF_ERROR(m.OpenTxn());
  m.txn_length += bytes.size();
  Status s = m.out->Append(bytes);
  return s.ok() ? s : s.WithContext(m.Where());
}

Result<std::optional<std::string>> TextFileWriter::Prepare(int64_t) {
  Impl& m = *impl_;
  if (!m.transactional()) {
    // Written straight to the target (no checkpointing): a savepoint records how far, so a
    // restore from it cuts the file there and replays the rest exactly once.
    if (m.out) {
      Status s = m.out->Sync();
      if (!s.ok()) return s.WithContext(m.Where());
      m.committed[m.own_target] = m.out->size();
      m.next_offset = m.out->size();
    }
    return std::optional<std::string>();
  }
  if (!m.out) return std::optional<std::string>();
  Status s = m.out->Close();
  if (!s.ok()) return s.WithContext(m.Where());
  Txn t{m.own_target, m.out_path, m.next_offset, m.txn_length};
  m.next_offset += m.txn_length;
  m.out.reset();
  return std::optional<std::string>(EncodeTxn(t));
}

Status TextFileWriter::Persist(std::string_view transaction) const {
  const Impl& m = *impl_;
  Txn t;
  if (!DecodeTxn(transaction, &t)) {
    return Status::Corruption(m.Where() + ": a transaction does not decode");
  }
  Status s = m.fs->SyncFile(t.staging);
  // A transaction committed (and its staging file deleted) meanwhile is in the fsynced target.
  if (!s.ok() && !s.IsNotFound()) return s;
  return m.fs->SyncDir(StagingDir(t.target));
}

Status TextFileWriter::PersistCommitted() {
  Impl& m = *impl_;
  std::vector<Txn> done;
  {
    std::lock_guard<std::mutex> lock(m.unsynced_mu);
    done.swap(m.unsynced);
  }
  if (done.empty()) return Status::OK();
  std::set<std::string> targets;
  for (const Txn& t : done) targets.insert(t.target);
  for (const std::string& target : targets) {
    Status s = m.fs->SyncFile(target);
    if (!s.ok()) {
      // The staging files stay: a recovery commits their transactions again.
      std::lock_guard<std::mutex> lock(m.unsynced_mu);
      m.unsynced.insert(m.unsynced.begin(), done.begin(), done.end());
      return s.WithContext(m.Where());
    }
  }
  WEIR_FAULT_POINT(fault_points::kSinkAfterSync);
  for (const Txn& t : done) (void)m.fs->DeleteFile(t.staging);
  return Status::OK();
}

std::vector<SinkOutput> TextFileWriter::SnapshotOutputs() const {
  const Impl& m = *impl_;
  std::vector<SinkOutput> outputs;
  auto it = m.committed.find(m.own_target);
  uint64_t committed = it == m.committed.end() ? 0 : it->second;
  outputs.push_back(SinkOutput{m.ctx.subtask_index, EncodeFileState({m.own_target, committed})});
  outputs.insert(outputs.end(), m.adopted.begin(), m.adopted.end());
  return outputs;
}

Status TextFileWriter::Finish() {
  Impl& m = *impl_;
  m.finished = true;
  if (m.transactional() || !m.out) return Status::OK();
  Status s = m.out->Sync();
  return s.ok() ? s : s.WithContext(m.Where());
}

void TextFileWriter::Close() {
  Impl& m = *impl_;
  if (m.out) (void)m.out->Close();
  m.out.reset();
  // Commits no checkpoint made durable yet (say, a stop with a savepoint).
  Status synced = m.fs != nullptr ? PersistCommitted() : Status::OK();
  if (!synced.ok()) spdlog::error("{}", synced.ToString());
  // After a complete run everything is committed: leave only the output behind. Otherwise
  // staged transactions stay for the next recovery.
  auto it = m.committed.find(m.own_target);
  uint64_t committed = it == m.committed.end() ? 0 : it->second;
  if (synced.ok() && m.finished && m.transactional() && m.next_offset == committed &&
      m.fs != nullptr) {
    (void)m.fs->DeleteDirRecursive(StagingDir(m.own_target));
  }
}

}  // namespace weir
