// The text file sink on the two-phase-commit contract (weir/sink.h).
//
// Without checkpointing, lines are appended to the target file directly and fsynced at the
// end. With checkpointing, the lines between two barriers form a transaction:
//
//   write    appended to a staging file <dir>/.<name>.pending/txn-<instance>-<n>, unseen
//   prepare  at the barrier: the staging file is sealed; the transaction records the target,
//            the staging file, and the offset and length its bytes will have in the target
//   persist  off the task thread: the staging file is fsynced before the checkpoint completes
//   commit   when that checkpoint completes: the bytes are appended to the target at exactly
//            that offset. Idempotent: bytes already in place are compared, not rewritten
//   sync     off the task thread, in the next checkpoint (PersistCommitted): the target is
//            fsynced, then the staging files of the transactions it now holds are deleted; so
//            the task never waits for the disk, and until a commit is durable its staging file
//            is there for a recovery to commit it again. Recovery and the commits after the
//            end of input fsync at once
//   recover  on restore: the engine commits every transaction the checkpoint prepared; then
//            Initialize checks the target against what the checkpoint committed
//
// A failed fsync is never retried as it is: Linux marks the pages it could not write clean,
// so the same fsync would then succeed without them. The target's committed bytes are
// written again from their staging files before the next fsync (and a recovery writes the
// bytes it finds in place again before its fsync, since the process that saw the failure may
// be gone); a staging file whose fsync failed has no second copy, so the task fails and
// resumes from the last checkpoint, which does not count it.
//
// So the target only ever holds committed transactions, a reader never sees a line that a
// recovery takes back, and after any crash and restore the file is byte-identical to a run
// without failure. Each subtask's output is one file; after a rescale that removed subtasks,
// subtask 0 recovers their files and keeps their state.
//
// Nothing committed is destroyed by a restore. Paths are compared as files, not as strings
// (they are kept absolute), so a respelled --output is the same output. Bytes in the output
// beyond what the restored checkpoint covers (a later checkpoint committed them, or they were
// written after a savepoint) make the restore fail, unless
// execution.state-recovery.rewind-output allows cutting them; and whatever recovery would
// destroy (that cut, staged data of other runs, files of removed subtasks) waits until the
// restored run has proved itself (OnRestoreConfirmed: its first checkpoint, or its end). A
// restore whose output moved (another --output, another working directory) leaves the old
// output alone, but for committing the transactions the checkpoint prepared there; a file
// already at the new output (the job's directory moved whole, say) is refused too, unless
// rewinding the output is allowed.
//
// A lock file in the staging directory keeps a second process from writing the same output.
#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>

#include "base/fault_points.h"
#include "base/file_system.h"
#include "base/logging.h"
#include "base/random.h"
#include "checkpoint/checkpoint_options.h"
#include "connectors/file_sink_state.h"
#include "weir/connectors/file_sink.h"

namespace weir {
namespace {

constexpr char kLockFile[] = ".lock";

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

// Paths are absolute since weir 0.1; a relative one (older checkpoints) is taken relative to
// the working directory, as it was written.
bool DecodeTxn(std::string_view bytes, Txn* t) {
  BufferReader r(bytes);
  std::string_view target, staging;
  if (!r.GetLengthPrefixed(&target) || !r.GetLengthPrefixed(&staging) ||
      !r.GetVarint64(&t->offset) || !r.GetVarint64(&t->length) || !r.empty() || target.empty()) {
    return false;
  }
  t->target = AbsolutePath(target);
  t->staging = AbsolutePath(staging);
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
  if (!r.GetLengthPrefixed(&target) || !r.GetVarint64(&s->committed_size) || !r.empty() ||
      target.empty()) {
    return false;
  }
  s->target = AbsolutePath(target);
  return true;
}

std::string StagingDir(const std::string& target) {
  return JoinPath(DirName(target), "." + BaseName(target) + ".pending");
}

// The subtask number k of a file "k" of a parallel sink's directory; 0 if `name` is not one.
int SubtaskFileNumber(std::string_view name) {
  int k = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), k);
  return ec == std::errc() && end == name.data() + name.size() && k > 0 ? k : 0;
}

}  // namespace

struct TextFileWriter::Impl {
  std::string path;  // as the job gives it
  WriteMode mode;
  SinkContext ctx;
  FileSystem* fs = nullptr;
  std::string base;        // the path, absolute: the file, or the directory of files 1..p
  std::string own_target;  // absolute: base, or base/<subtask+1>
  bool rewind_allowed = false;
  std::unique_ptr<FileLock> lock;
  std::map<std::string, uint64_t> committed;  // target -> bytes known to be committed
  std::set<std::string> recovered;            // targets this subtask recovers (own, adopted)
  std::vector<SinkOutput> adopted;            // files of removed subtasks (subtask 0 only)
  uint64_t next_offset = 0;           // where the next prepared transaction goes in own_target
  std::unique_ptr<WritableFile> out;  // staging file of the open transaction, or the target
  std::string out_path;
  std::string instance;  // random, names this writer's staging files
  uint64_t txn_seq = 0;
  uint64_t txn_length = 0;
  bool initialized = false;  // recovery is done
  bool finished = false;     // end of input reached
  bool confirmed = false;    // the run proved itself: destructive recovery work is done
  // Recovery work that destroys data, waiting for OnRestoreConfirmed.
  std::vector<std::pair<std::string, uint64_t>> pending_cuts;  // target, size to cut it to
  std::vector<std::string> pending_staging_cleanups;           // staging dirs to empty
  std::vector<std::string> pending_removals;                   // empty files of removed subtasks
  // Committed transactions whose target is not yet fsynced, so whose staging files must stay.
  // The task thread adds, PersistCommitted (on a snapshot thread) takes.
  std::mutex unsynced_mu;
  std::vector<Txn> unsynced;
  // Targets whose fsync failed, with how many times: their unsynced bytes go again. The count
  // lets PersistCommitted forget a target only if no fsync failed while it synced it.
  std::map<std::string, uint64_t> resync;
  // One PersistCommitted at a time: Close may run while a checkpoint's async part still does.
  std::mutex persist_mu;
  // Set once an fsync of bytes that have no other copy failed (a staging file, or the target
  // without checkpointing): the next Prepare fails the task with it.
  Status lost_writes;

  bool transactional() const { return ctx.checkpointing; }
  std::string Where() const { return "text file sink '" + own_target + "'"; }

  // Empties a staging directory but for its lock and the files of this writer's own
  // transactions, which a checkpoint of this run may still refer to.
  Status CleanStaging(const std::string& dir) {
    if (!fs->Exists(dir)) return Status::OK();
    WEIR_ASSIGN_OR_RETURN(auto names, fs->ListDir(dir));
    for (const auto& n : names) {
      if (n == kLockFile || n.starts_with("txn-" + instance + "-")) continue;
      WEIR_RETURN_IF_ERROR(fs->DeleteFile(JoinPath(dir, n)));
    }
    return Status::OK();
  }

  // Parallelism 1 writes a file and above 1 a directory: neither layout can take over the
  // other's transactions, which would otherwise be lost without a word.
  Status LayoutError(bool written_as_directory) const {
    return Status::FailedPrecondition(
        "text file sink '" + path + "': the output was written with parallelism " +
        (written_as_directory ? "above 1 (a directory of files)" : "1 (a single file)") +
        ", and the sink now runs with parallelism " + std::to_string(ctx.parallelism) +
        "; restore with the parallelism it had, or write to a new path");
  }

  Status LockOutput() {
    std::string parent = DirName(own_target);
    auto is_dir = fs->IsDirectory(parent);
    if (fs->Exists(parent) && is_dir.ok() && !*is_dir) return LayoutError(false);
    std::string dir = StagingDir(own_target);
    WEIR_RETURN_IF_ERROR(fs->CreateDirs(dir));
    auto l = fs->LockFile(JoinPath(dir, kLockFile), ProcessDescription());
    if (!l.ok()) {
      if (l.status().code() != StatusCode::kFailedPrecondition) return l.status();
      return Status::FailedPrecondition(Where() + ": another job writes this output (" +
                                        l.status().message() + ")");
    }
    lock = std::move(*l);
    return Status::OK();
  }

  // A fresh target (nothing restored for it): created empty. An existing file is refused
  // (kNoOverwrite) or replaced (kOverwrite); an empty one (an earlier attempt's, say) is taken
  // as it is. On a restore its bytes may be committed output all the same (the job's
  // directory moved, with its checkpoints and output): replaced only if rewinding the output
  // is allowed, and only once the run is confirmed.
  Status PrepareFreshTarget() {
    WEIR_RETURN_IF_ERROR(fs->CreateDirs(DirName(own_target)));
    if (fs->Exists(own_target)) {
      auto is_dir = fs->IsDirectory(own_target);
      if (is_dir.ok() && *is_dir) {
        return Status::AlreadyExists(Where() + ": the output path is a directory");
      }
      WEIR_ASSIGN_OR_RETURN(uint64_t size, fs->FileSize(own_target));
      if (size > 0) {
        if (mode == WriteMode::kNoOverwrite && ctx.attempt_number == 0) {
          return Status::AlreadyExists(
              Where() + ": the output file exists (use WriteMode::kOverwrite to replace it)");
        }
        if (ctx.restored) {
          if (!rewind_allowed) {
            return Status::FailedPrecondition(
                "output file '" + own_target + "' holds " + std::to_string(size) +
                " bytes that the restored checkpoint did not write (it wrote its output "
                "elsewhere, or had no output for this subtask); weir removes no output unless "
                "told to: restore where the checkpoint's output is, remove this file, or set "
                "execution.state-recovery.rewind-output: true to replace it");
          }
          pending_cuts.emplace_back(own_target, 0);
          return Status::OK();
        }
      }
    }
    WEIR_ASSIGN_OR_RETURN(auto f, fs->NewWritableFile(own_target));
    WEIR_RETURN_IF_ERROR(f->Sync());
    WEIR_RETURN_IF_ERROR(f->Close());
    WEIR_RETURN_IF_ERROR(fs->SyncDir(DirName(own_target)));
    // A fresh start forgets what older runs staged; a restore waits to be confirmed.
    if (ctx.restored) {
      pending_staging_cleanups.push_back(StagingDir(own_target));
      return Status::OK();
    }
    return CleanStaging(StagingDir(own_target));
  }

  // Puts `t`'s bytes at t.offset in its target; a no-op if they are already there. With
  // `sync` the target is fsynced too. Before the run is confirmed (recovery) it never cuts
  // bytes beyond the transaction: they may be committed output.
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
    // Nothing to put: bytes past the offset belong to later transactions.
    if (t.length == 0) return Status::OK();
    // A staging file cut short (outside weir) would put part of a transaction in the target.
    WEIR_ASSIGN_OR_RETURN(uint64_t staged, fs->FileSize(t.staging));
    if (staged < t.length) {
      return Status::Corruption("staging file '" + t.staging + "' holds " +
                                std::to_string(staged) + " bytes of a transaction of " +
                                std::to_string(t.length) + " for output file '" + target +
                                "': it was truncated outside weir");
    }
    if (size >= t.offset + t.length) {
      WEIR_ASSIGN_OR_RETURN(std::string have, fs->ReadFileRange(target, t.offset, t.length));
      WEIR_ASSIGN_OR_RETURN(std::string want, fs->ReadFileRange(t.staging, 0, t.length));
      if (have == want) {
        if (!sync) return Status::OK();
        // In place, but maybe not durable: an earlier fsync of them may have failed (in a
        // process gone since, too), and the kernel would not write them again by itself.
        WEIR_RETURN_IF_ERROR(fs->WriteAt(target, t.offset, want));
        return NoteFailedSync(target, fs->SyncFile(target));
      }
      if (!confirmed && size > t.offset + t.length) {
        // Recovery, with bytes after the transaction's that may be committed output: nothing
        // is cut. Zeros there are what a crash after a failed fsync leaves (the kernel
        // dropped the pages it could not write): the transaction is written over them. Other
        // bytes were changed outside weir, and are not overwritten.
        if (have.find_first_not_of('\0') != std::string::npos) {
          return Status::FailedPrecondition(
              "output file '" + target + "' holds other bytes at " + std::to_string(t.offset) +
              ".." + std::to_string(t.offset + t.length) +
              " than the transaction the checkpoint committed there, and more after them: it "
              "was changed outside weir; refusing to overwrite it");
        }
        spdlog::warn(
            "{}: output file '{}' holds zeros at {}..{}, where the checkpoint committed a "
            "transaction (an fsync failed before a crash?); writing the transaction there",
            Where(), target, t.offset, t.offset + t.length);
        WEIR_RETURN_IF_ERROR(fs->WriteAt(target, t.offset, want));
        return sync ? NoteFailedSync(target, fs->SyncFile(target)) : Status::OK();
      }
    }
    if (size > t.offset) WEIR_RETURN_IF_ERROR(fs->Truncate(target, t.offset));
    WEIR_ASSIGN_OR_RETURN(auto f, fs->NewAppendableFile(target));
    WEIR_RETURN_IF_ERROR(fs->AppendRange(t.staging, 0, t.length, *f));
    WEIR_FAULT_POINT(fault_points::kSinkMidCommit);
    if (sync) WEIR_RETURN_IF_ERROR(NoteFailedSync(target, f->Sync()));
    WEIR_RETURN_IF_ERROR(f->Close());
    // A target this commit created needs its directory entry to survive a power loss too.
    if (!exists) WEIR_RETURN_IF_ERROR(fs->SyncDir(DirName(target)));
    WEIR_FAULT_POINT(fault_points::kSinkAfterCommit);
    return Status::OK();
  }

  // A restored transaction of an output this run no longer writes (--output changed, or
  // another working directory): committed there if its staging file is still at hand and no
  // other process writes that output; never an error, since that output is not this run's.
  void CommitElsewhere(const Txn& t) {
    std::string dir = StagingDir(t.target);
    if (!fs->Exists(t.staging)) {
      Result<uint64_t> size = fs->Exists(t.target) ? fs->FileSize(t.target) : uint64_t{0};
      if (size.ok() && *size >= t.offset + t.length) return;  // committed before
      spdlog::warn(
          "{}: a restored transaction of '{}' ({} bytes at {}) cannot be committed: its "
          "staging file '{}' is not there (did the output move?)",
          Where(), t.target, t.length, t.offset, t.staging);
      return;
    }
    auto l = fs->LockFile(JoinPath(dir, kLockFile), ProcessDescription());
    if (!l.ok()) {
      spdlog::info("{}: not committing a restored transaction of '{}': {}", Where(), t.target,
                   l.status().message());
      return;
    }
    Status s = CommitTxn(t, /*sync=*/true);
    if (!s.ok()) {
      spdlog::warn("{}: could not commit a restored transaction of '{}': {}", Where(), t.target,
                   s.ToString());
    }
  }

  // After the restored transactions were committed: the target must hold what the
  // checkpoint committed; more is refused, or cut once confirmed if rewinding is allowed.
  Status Recover(const std::string& target, uint64_t committed_size) {
    uint64_t size = 0;
    if (fs->Exists(target)) {
      WEIR_ASSIGN_OR_RETURN(size, fs->FileSize(target));
    }
    if (size < committed_size) {
      return Status::Corruption("output file '" + target + "' has " + std::to_string(size) +
                                " bytes, fewer than the " + std::to_string(committed_size) +
                                " the checkpoint committed: it was truncated or replaced "
                                "outside weir");
    }
    if (size > committed_size) {
      if (!rewind_allowed) {
        return Status::FailedPrecondition(
            "output file '" + target + "' holds " + std::to_string(size - committed_size) +
            " bytes after the " + std::to_string(committed_size) +
            " the restored checkpoint covers (a later checkpoint committed them, or they were "
            "written after the savepoint); weir removes no committed output unless told to: "
            "restore the latest checkpoint, write to another output, or set "
            "execution.state-recovery.rewind-output: true to cut the output back to what the "
            "restored checkpoint covers");
      }
      pending_cuts.emplace_back(target, committed_size);
    }
    pending_staging_cleanups.push_back(StagingDir(target));
    return Status::OK();
  }

  // Files "k" (k > parallelism) of a parallel output that no restored state accounts for,
  // left by a run at a higher parallelism that committed nothing: removed once confirmed if
  // empty; kept, with a warning, if not.
  Status FindLeftovers() {
    if (ctx.parallelism == 1 || ctx.subtask_index != 0 || !fs->Exists(base)) return Status::OK();
    WEIR_ASSIGN_OR_RETURN(auto names, fs->ListDir(base));
    for (const auto& n : names) {
      bool staging = n.size() > 9 && n.front() == '.' && n.ends_with(".pending");
      std::string file_name = staging ? n.substr(1, n.size() - 9) : n;
      int k = SubtaskFileNumber(file_name);
      std::string file = JoinPath(base, file_name);
      if (k <= ctx.parallelism || recovered.contains(file)) continue;
      if (staging) {
        pending_staging_cleanups.push_back(JoinPath(base, n));
        continue;
      }
      WEIR_ASSIGN_OR_RETURN(uint64_t size, fs->FileSize(file));
      if (size == 0) {
        pending_removals.push_back(file);
      } else {
        spdlog::warn("{}: '{}' is not part of the restored checkpoint; it is left as it is",
                     Where(), file);
      }
    }
    return Status::OK();
  }

  Status Confirm() {
    if (confirmed) return Status::OK();
    confirmed = true;
    for (const auto& [target, size] : pending_cuts) {
      WEIR_ASSIGN_OR_RETURN(uint64_t now, fs->FileSize(target));
      if (now <= size) continue;
      spdlog::warn("{}: cutting '{}' from {} to {} bytes, what the restored checkpoint wrote there",
                   Where(), target, now, size);
      WEIR_RETURN_IF_ERROR(fs->Truncate(target, size));
      WEIR_RETURN_IF_ERROR(fs->SyncFile(target));
    }
    for (const auto& file : pending_removals) WEIR_RETURN_IF_ERROR(fs->DeleteFile(file));
    for (const auto& dir : pending_staging_cleanups) {
      if (dir == StagingDir(own_target)) {
        WEIR_RETURN_IF_ERROR(CleanStaging(dir));
      } else {
        WEIR_RETURN_IF_ERROR(fs->DeleteDirRecursive(dir));
      }
    }
    pending_cuts.clear();
    pending_removals.clear();
    pending_staging_cleanups.clear();
    return Status::OK();
  }

  // Passes on the result of an fsync of `target`; a failure leaves the bytes of its unsynced
  // transactions to be written again before the next one (PersistCommitted).
  Status NoteFailedSync(const std::string& target, Status synced) {
    if (!synced.ok()) {
      std::lock_guard<std::mutex> lock(unsynced_mu);
      ++resync[target];
    }
    return synced;
  }

  // Writes a committed transaction's bytes over themselves in its target, from its staging
  // file, so that the next fsync writes them (see the file comment).
  Status RewriteTxn(const Txn& t) {
    constexpr uint64_t kChunk = 1 << 20;
    for (uint64_t done = 0; done < t.length;) {
      const uint64_t n = std::min(kChunk, t.length - done);
      WEIR_ASSIGN_OR_RETURN(std::string bytes, fs->ReadFileRange(t.staging, done, n));
      WEIR_RETURN_IF_ERROR(fs->WriteAt(t.target, t.offset + done, bytes));
      done += n;
    }
    return Status::OK();
  }

  void NoteLostWrites(const Status& fsync_error) {
    std::lock_guard<std::mutex> lock(unsynced_mu);
    if (!lost_writes.ok()) return;
    lost_writes = Status::IOError(
        "an fsync failed, so the kernel may have dropped bytes that exist nowhere else (" +
        fsync_error.ToString() + "); the job resumes from its last completed checkpoint");
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
  m.base = AbsolutePath(m.path);
  m.own_target = context.parallelism == 1
                     ? m.base
                     : JoinPath(m.base, std::to_string(context.subtask_index + 1));
  if (context.configuration != nullptr) {
    auto rewind = context.configuration->Get(checkpointing_options::kRewindOutput);
    if (!rewind.ok()) return rewind.status();
    m.rewind_allowed = *rewind;
  }
  // Without a restore there is nothing to confirm.
  m.confirmed = !context.restored;
  return m.LockOutput();
}

Status TextFileWriter::Commit(std::string_view transaction) {
  Impl& m = *impl_;
  Txn t;
  if (!DecodeTxn(transaction, &t)) {
    return Status::Corruption(m.Where() + ": a transaction does not decode");
  }
  if (!m.initialized && t.target != m.own_target && DirName(t.target) != m.base) {
    m.CommitElsewhere(t);
    return Status::OK();
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
    if (s.target == m.own_target) {
      own = std::move(s);
      continue;
    }
    bool was_directory = DirName(s.target) == m.base && SubtaskFileNumber(BaseName(s.target)) > 0;
    if ((p == 1 && was_directory) || (p > 1 && s.target == m.base)) {
      return m.LayoutError(was_directory);
    }
    if (was_directory) {
      adopted.emplace_back(output.owner, std::move(s));
    } else {
      spdlog::info(
          "{}: the restored checkpoint wrote its output to '{}' ({} bytes committed); this run "
          "writes '{}' from the checkpoint's position on",
          m.Where(), s.target, s.committed_size, m.own_target);
    }
  }
  if (own) {
    WEIR_RETURN_IF_ERROR(m.fs->CreateDirs(DirName(m.own_target)));
  } else {
    WEIR_RETURN_IF_ERROR(m.PrepareFreshTarget());
  }
  auto recover = [&](const FileState& s) -> Status {
    m.recovered.insert(s.target);
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
  WEIR_RETURN_IF_ERROR(m.FindLeftovers());
  if (!m.transactional()) {
    // Lines go straight into the target: there is no checkpoint to wait for.
    WEIR_RETURN_IF_ERROR(m.Confirm());
    WEIR_ASSIGN_OR_RETURN(m.out, m.fs->NewAppendableFile(m.own_target));
    m.out_path = m.own_target;
  }
  m.initialized = true;
  return Status::OK();
}

Status TextFileWriter::OnRestoreConfirmed() {
  Impl& m = *impl_;
  Status s = m.Confirm();
  return s.ok() ? s : s.WithContext(m.Where());
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
  {
    std::lock_guard<std::mutex> lock(m.unsynced_mu);
    if (!m.lost_writes.ok()) return m.lost_writes.WithContext(m.Where());
  }
  if (!m.transactional()) {
    // Written straight to the target (no checkpointing): a savepoint records how far, so a
    // restore from it knows what the savepoint covers.
    if (m.out) {
      Status s = m.out->Sync();
      if (!s.ok()) {
        m.NoteLostWrites(s);
        return s.WithContext(m.Where());
      }
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
  Impl& m = *impl_;
  Txn t;
  if (!DecodeTxn(transaction, &t)) {
    return Status::Corruption(m.Where() + ": a transaction does not decode");
  }
  {
    // A staging file whose fsync failed once would pass a second fsync without its bytes.
    std::lock_guard<std::mutex> lock(m.unsynced_mu);
    if (!m.lost_writes.ok()) return m.lost_writes.WithContext(m.Where());
  }
  Status s = m.fs->SyncFile(t.staging);
  // A transaction committed (and its staging file deleted) meanwhile is in the fsynced target.
  if (!s.ok() && !s.IsNotFound()) {
    m.NoteLostWrites(s);
    return s;
  }
  return m.fs->SyncDir(StagingDir(t.target));
}

Status TextFileWriter::PersistCommitted() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> persisting(m.persist_mu);
  std::vector<Txn> done;
  {
    std::lock_guard<std::mutex> lock(m.unsynced_mu);
    done.swap(m.unsynced);
  }
  if (done.empty()) return Status::OK();
  std::set<std::string> targets;
  for (const Txn& t : done) targets.insert(t.target);
  for (const std::string& target : targets) {
    uint64_t failures = 0;
    {
      std::lock_guard<std::mutex> lock(m.unsynced_mu);
      if (auto it = m.resync.find(target); it != m.resync.end()) failures = it->second;
    }
    Status s;
    for (const Txn& t : done) {
      if (failures > 0 && s.ok() && t.target == target) s = m.RewriteTxn(t);
    }
    if (s.ok()) s = m.NoteFailedSync(target, m.fs->SyncFile(target));
    if (!s.ok()) {
      // The staging files stay: the next try, or a recovery, commits their bytes again.
      std::lock_guard<std::mutex> lock(m.unsynced_mu);
      m.unsynced.insert(m.unsynced.begin(), done.begin(), done.end());
      return s.WithContext(m.Where());
    }
    std::lock_guard<std::mutex> lock(m.unsynced_mu);
    if (auto it = m.resync.find(target); it != m.resync.end() && it->second == failures) {
      m.resync.erase(it);
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
  if (!s.ok()) m.NoteLostWrites(s);
  return s.ok() ? s : s.WithContext(m.Where());
}

void TextFileWriter::Close() {
  Impl& m = *impl_;
  if (m.out) (void)m.out->Close();
  m.out.reset();
  if (m.fs == nullptr) return;
  // Commits no checkpoint made durable yet (say, a stop with a savepoint).
  Status synced = PersistCommitted();
  if (!synced.ok()) spdlog::error("{}", synced.ToString());
  // Once everything this run prepared is committed and durable, and no recovery work waits,
  // staged data is of no use to any checkpoint: only the output stays behind. Otherwise the
  // staged transactions stay for the next recovery.
  auto it = m.committed.find(m.own_target);
  uint64_t committed = it == m.committed.end() ? 0 : it->second;
  // Without checkpointing nothing is staged: the directory holds the lock only.
  if (!m.transactional() ||
      (synced.ok() && m.confirmed && m.next_offset == committed)) {
    m.lock.reset();
    (void)m.fs->DeleteDirRecursive(StagingDir(m.own_target));
  }
}

std::optional<FileSinkOutputInfo> DecodeFileSinkOutput(std::string_view bytes) {
  FileState s;
  if (!DecodeFileState(bytes, &s)) return std::nullopt;
  return FileSinkOutputInfo{s.target, s.committed_size};
}

std::optional<FileSinkTransactionInfo> DecodeFileSinkTransaction(std::string_view bytes) {
  Txn t;
  if (!DecodeTxn(bytes, &t)) return std::nullopt;
  return FileSinkTransactionInfo{t.target, t.staging, t.offset, t.length};
}

}  // namespace weir
