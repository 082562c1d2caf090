#include "checkpoint/checkpoint_storage.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/fault_points.h"
#include "base/random.h"
#include "state/keyed_state_backend.h"

namespace weir {
namespace {

constexpr char kMetadataFile[] = "_metadata";
constexpr char kManifestFile[] = "_job";

bool ParseCheckpointDirName(std::string_view name, int64_t* id) {
  if (!name.starts_with("chk-")) return false;
  name.remove_prefix(4);
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), *id);
  return ec == std::errc() && p == name.data() + name.size() && *id > 0;
}

}  // namespace

SnapshotLocation CompletedCheckpoint::location(FileSystem* fs) const {
  // A checkpoint's base is its parent (the job directory); a savepoint is its own base. The
  // base may be spelled differently from the start of `dir` ("." for "chk-3").
  std::string rel = dir == base_dir ? "" : BaseName(dir);
  return SnapshotLocation(fs, base_dir, rel);
}

std::string CheckpointStorage::NewJobId() { return RandomHex(32); }

Result<std::unique_ptr<FileLock>> CheckpointStorage::LockJob(const std::string& job_name) const {
  WEIR_RETURN_IF_ERROR_CTX(fs_->CreateDirs(checkpoints_dir_), "creating the checkpoint directory");
  std::string path = JoinPath(checkpoints_dir_, ".lock-" + SanitizeForFileName(job_name));
  auto lock = fs_->LockFile(path, ProcessDescription());
  if (!lock.ok() && lock.status().code() == StatusCode::kFailedPrecondition) {
    return Status::FailedPrecondition("job '" + job_name +
                                      "' is already running on checkpoint directory '" +
                                      checkpoints_dir_ + "' (" + lock.status().message() +
                                      "); stop it first, or give this run another "
                                      "execution.checkpointing.dir");
  }
  return lock;
}

Status CheckpointStorage::CreateJobDir(const JobManifest& m) {
  std::string dir = JobDir(m.job_id);
  WEIR_RETURN_IF_ERROR_CTX(fs_->CreateDirs(dir), "creating the job's checkpoint directory");
  WEIR_RETURN_IF_ERROR(WriteManifest(dir, m));
  WEIR_RETURN_IF_ERROR(fs_->SyncDir(checkpoints_dir_));
  WEIR_ASSIGN_OR_RETURN(auto entries, fs_->ListDir(checkpoints_dir_));
  for (const auto& e : entries) {
    std::string other = JoinPath(checkpoints_dir_, e);
    if (other == dir || !fs_->Exists(JoinPath(other, kManifestFile))) continue;
    auto om = ReadManifest(other);
    if (!om.ok() || om->job_name != m.job_name || om->ended.empty()) continue;
    WEIR_RETURN_IF_ERROR_CTX(fs_->DeleteDirRecursive(other),
                             "deleting the directory of an ended run of the job");
  }
  return Status::OK();
}

Status CheckpointStorage::WriteManifest(const std::string& job_dir, const JobManifest& m) const {
  nlohmann::json j = {{"job_id", m.job_id},
                      {"job_name", m.job_name},
                      {"created_wall_ms", m.created_wall_ms},
                      {"restored_from", m.restored_from}};
  if (!m.ended.empty()) {
    j["ended"] = m.ended;
    j["ended_wall_ms"] = m.ended_wall_ms;
  }
  if (!m.abandoned.empty()) j["abandoned"] = m.abandoned;
  return WriteFileAtomically(*fs_, JoinPath(job_dir, kManifestFile), j.dump(2) + "\n");
}

Result<JobManifest> CheckpointStorage::ReadManifest(const std::string& job_dir) const {
  std::string path = JoinPath(job_dir, kManifestFile);
  WEIR_ASSIGN_OR_RETURN(std::string text, fs_->ReadFile(path));
  try {
    auto j = nlohmann::json::parse(text);
    JobManifest m;
    m.job_id = j.at("job_id").get<std::string>();
    m.job_name = j.at("job_name").get<std::string>();
    m.created_wall_ms = j.at("created_wall_ms").get<int64_t>();
    m.restored_from = j.value("restored_from", "");
    m.ended = j.value("ended", "");
    m.ended_wall_ms = j.value("ended_wall_ms", int64_t{0});
    m.abandoned = j.value("abandoned", std::vector<int64_t>{});
    return m;
  } catch (const std::exception& e) {
    return Status::Corruption("job manifest '" + path + "' is malformed: " + e.what());
  }
}

Status CheckpointStorage::AbandonCheckpoints(const std::string& job_dir,
                                             const std::vector<int64_t>& ids) const {
  if (ids.empty()) return Status::OK();
  WEIR_ASSIGN_OR_RETURN(JobManifest m, ReadManifest(job_dir));
  for (int64_t id : ids) {
    if (std::find(m.abandoned.begin(), m.abandoned.end(), id) == m.abandoned.end()) {
      m.abandoned.push_back(id);
    }
  }
  std::sort(m.abandoned.begin(), m.abandoned.end());
  return WriteManifest(job_dir, m);
}

Status CheckpointStorage::RetireJobDir(const std::string& job_dir, std::string_view how,
                                       int64_t wall_ms) const {
  auto m = ReadManifest(job_dir);
  if (!m.ok()) return fs_->DeleteDirRecursive(job_dir);  // not a run "latest" could pick
  m->ended = std::string(how);
  m->ended_wall_ms = wall_ms;
  // The mark first: a crash during the deletion leaves an ended run, never a run whose
  // checkpoints seem to have vanished.
  WEIR_RETURN_IF_ERROR(WriteManifest(job_dir, *m));
  WEIR_FAULT_POINT(fault_points::kCheckpointRetireJob);
  WEIR_ASSIGN_OR_RETURN(auto entries, fs_->ListDir(job_dir));
  for (const auto& e : entries) {
    if (e == kManifestFile) continue;
    std::string path = JoinPath(job_dir, e);
    WEIR_ASSIGN_OR_RETURN(bool is_dir, fs_->IsDirectory(path));
    WEIR_RETURN_IF_ERROR(is_dir ? fs_->DeleteDirRecursive(path) : fs_->DeleteFile(path));
  }
  return Status::OK();
}

Result<SnapshotLocation> CheckpointStorage::InitCheckpoint(const std::string& job_id,
                                                           int64_t id) const {
  std::string job_dir = JobDir(job_id);
  std::string name = CheckpointDirName(id);
  std::string dir = JoinPath(job_dir, name);
  // Ids only grow (past every chk-<n> on disk), so an existing directory is a bug, and
  // deleting it could destroy a checkpoint.
  if (fs_->Exists(dir)) {
    return Status::AlreadyExists("checkpoint directory '" + dir + "' already exists");
  }
  WEIR_RETURN_IF_ERROR_CTX(fs_->CreateDirs(dir), "creating checkpoint directory");
  return SnapshotLocation(fs_, job_dir, name);
}

Result<SnapshotLocation> CheckpointStorage::InitSavepoint(const std::string& job_id,
                                                          const std::string& target_dir) const {
  std::string base = target_dir.empty() ? savepoints_dir_ : target_dir;
  std::string name = "savepoint-" + job_id.substr(0, 6) + "-" + RandomHex(12);
  std::string dir = JoinPath(base, name);
  WEIR_RETURN_IF_ERROR_CTX(fs_->CreateDirs(dir), "creating savepoint directory");
  return SnapshotLocation(fs_, dir, "");
}

Status CheckpointStorage::WriteMetadata(const SnapshotLocation& location,
                                        const CheckpointMetadata& m) const {
  std::string dir = location.exclusive_dir().empty()
                        ? location.base_dir()
                        : JoinPath(location.base_dir(), location.exclusive_dir());
  WEIR_FAULT_POINT(fault_points::kCheckpointBeforeMetadata);
  Status s = WriteFileAtomically(*fs_, JoinPath(dir, kMetadataFile), m.Encode());
  // The checkpoint's own directory entry must be durable too, or a power loss after sinks
  // committed could take the whole checkpoint away.
  if (s.ok()) s = fs_->SyncDir(DirName(dir));
  if (!s.ok())
    return s.WithContext("writing metadata of checkpoint " + std::to_string(m.checkpoint_id));
  WEIR_FAULT_POINT(fault_points::kCheckpointAfterMetadata);
  return Status::OK();
}

Status CheckpointStorage::Discard(const std::string& dir) const {
  return fs_->DeleteDirRecursive(dir);
}

Result<CompletedCheckpoint> CheckpointStorage::Load(const std::string& path_in) const {
  std::string path = path_in;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (BaseName(path) == kMetadataFile) path = DirName(path);
  if (!fs_->Exists(path)) return Status::NotFound("checkpoint '" + path + "' does not exist");
  std::string meta_path = JoinPath(path, kMetadataFile);
  if (!fs_->Exists(meta_path)) {
    return Status::NotFound("'" + path +
                            "' has no _metadata: the checkpoint is incomplete "
                            "(the job stopped while writing it) or the path is not a checkpoint");
  }
  WEIR_ASSIGN_OR_RETURN(std::string data, fs_->ReadFile(meta_path));
  WEIR_ASSIGN_OR_RETURN(CheckpointMetadata m, CheckpointMetadata::Decode(data, meta_path));
  CompletedCheckpoint c;
  c.dir = path;
  if (m.savepoint) {
    c.base_dir = path;
  } else {
    c.job_dir = DirName(path);
    c.base_dir = c.job_dir;
  }
  c.metadata = std::move(m);
  SnapshotLocation loc = c.location(fs_);
  for (const StateFile* f : c.metadata.Files()) {
    Status s = loc.Verify(*f);
    if (!s.ok()) return s.WithContext("checkpoint '" + path + "'");
  }
  return c;
}

Result<std::vector<int64_t>> CheckpointStorage::ListCheckpointIds(
    const std::string& job_dir) const {
  WEIR_ASSIGN_OR_RETURN(auto names, fs_->ListDir(job_dir));
  std::vector<int64_t> ids;
  for (const auto& n : names) {
    int64_t id;
    if (ParseCheckpointDirName(n, &id)) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<CompletedCheckpoint> CheckpointStorage::LoadAll(
    const std::string& job_dir, int64_t max_id, std::vector<std::string>* warnings) const {
  std::vector<CompletedCheckpoint> out;
  auto ids = ListCheckpointIds(job_dir);
  if (!ids.ok()) return out;
  for (int64_t id : *ids) {
    if (id > max_id) continue;
    auto c = Load(JoinPath(job_dir, CheckpointDirName(id)));
    if (c.ok()) {
      out.push_back(std::move(*c));
    } else if (warnings) {
      warnings->push_back(c.status().message());
    }
  }
  return out;
}

Result<CompletedCheckpoint> CheckpointStorage::FindLatest(
    const std::string& job_name, std::vector<std::string>* warnings) const {
  if (!fs_->Exists(checkpoints_dir_)) {
    return Status::NotFound("no checkpoint of this job to restore: the checkpoint directory '" +
                            checkpoints_dir_ + "' does not exist");
  }
  WEIR_ASSIGN_OR_RETURN(auto entries, fs_->ListDir(checkpoints_dir_));
  bool found = false;
  JobManifest newest;
  for (const auto& e : entries) {
    std::string job_dir = JoinPath(checkpoints_dir_, e);
    if (!fs_->Exists(JoinPath(job_dir, kManifestFile))) continue;
    auto m = ReadManifest(job_dir);
    if (!m.ok()) {
      // A damaged manifest is passed over; one that cannot be read (permissions, a failing
      // disk) may be the newest run's, and resuming an older run instead would be wrong.
      if (m.status().code() != StatusCode::kCorruption) {
        return m.status().WithContext(
            "choosing the run of this job to resume, in '" + checkpoints_dir_ + "'");
      }
      if (warnings) warnings->push_back(m.status().message());
      continue;
    }
    if (m->job_name != job_name) continue;
    if (!found || m->created_wall_ms > newest.created_wall_ms ||
        (m->created_wall_ms == newest.created_wall_ms && m->job_id > newest.job_id)) {
      newest = std::move(*m);
      found = true;
    }
  }
  if (!found) {
    return Status::NotFound("no checkpoint of this job to restore in '" + checkpoints_dir_ + "'");
  }
  std::string job_dir = JobDir(newest.job_id);
  if (!newest.ended.empty()) {
    return Status::NotFound("the last run of this job (job id " + newest.job_id + ") ended " +
                            newest.ended +
                            " and deleted its checkpoints: there "
                            "is nothing to resume; start the job without --restore to run it "
                            "again");
  }
  WEIR_ASSIGN_OR_RETURN(auto ids, ListCheckpointIds(job_dir));
  std::vector<std::string> reasons;
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    if (std::binary_search(newest.abandoned.begin(), newest.abandoned.end(), *it)) continue;
    auto c = Load(JoinPath(job_dir, CheckpointDirName(*it)));
    if (c.ok()) return c;
    std::string why = "skipping checkpoint " + std::to_string(*it) + ": " + c.status().message();
    if (warnings) warnings->push_back(why);
    reasons.push_back(why);
  }
  // The run never completed a checkpoint of its own: it resumes where it started from.
  if (!newest.restored_from.empty()) {
    auto c = Load(newest.restored_from);
    if (c.ok()) return c;
    reasons.push_back("the checkpoint the run was restored from is not valid either: " +
                      c.status().message());
  }
  std::string msg = "no valid checkpoint of the last run of this job (job id " + newest.job_id +
                    ") in '" + job_dir + "'";
  if (reasons.empty()) msg += ": that run completed no checkpoint";
  for (const auto& r : reasons) msg += "; " + r;
  return Status::NotFound(msg);
}

Status CheckpointStorage::SweepSharedFiles(const std::string& job_dir,
                                           const std::set<std::string>& referenced,
                                           int64_t max_checkpoint_id) const {
  std::string shared = JoinPath(job_dir, "shared");
  if (!fs_->Exists(shared)) return Status::OK();
  WEIR_ASSIGN_OR_RETURN(auto names, fs_->ListDir(shared));
  for (const auto& n : names) {
    if (referenced.contains(JoinPath("shared", n))) continue;
    std::optional<int64_t> id = SharedStateFileCheckpoint(n);
    if (!id) continue;                      // not ours: leave it alone
    if (*id > max_checkpoint_id) continue;  // its checkpoint may still be in progress
    WEIR_RETURN_IF_ERROR(fs_->DeleteFile(JoinPath(shared, n)));
  }
  return Status::OK();
}

Result<int64_t> CheckpointStorage::MaxCheckpointIdInUse(const std::string& job_dir) const {
  WEIR_ASSIGN_OR_RETURN(auto ids, ListCheckpointIds(job_dir));
  int64_t max_id = ids.empty() ? 0 : ids.back();
  std::string shared = JoinPath(job_dir, "shared");
  if (fs_->Exists(shared)) {
    WEIR_ASSIGN_OR_RETURN(auto names, fs_->ListDir(shared));
    for (const auto& n : names) {
      if (auto id = SharedStateFileCheckpoint(n)) max_id = std::max(max_id, *id);
    }
  }
  return max_id;
}

}  // namespace weir
