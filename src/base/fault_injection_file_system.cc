#include "base/fault_injection_file_system.h"

#include <algorithm>
#include <cstdint>

namespace weir {

class FaultInjectionFileSystem::File final : public WritableFile {
 public:
  File(FaultInjectionFileSystem* fs, std::unique_ptr<WritableFile> base)
      : fs_(fs), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    WEIR_RETURN_IF_ERROR(fs_->CheckSpace(data.size()));
    {
      std::lock_guard<std::mutex> lock(fs_->mu_);
      WEIR_RETURN_IF_ERROR(fs_->MaybeFail(Op::kWrite, path()));
    }
    return base_->Append(data);
  }
  Status Flush() override { return base_->Flush(); }
  Status Sync() override {
    {
      std::lock_guard<std::mutex> lock(fs_->mu_);
      Status injected = fs_->MaybeFail(Op::kSync, path());
      if (!injected.ok()) {
        WEIR_RETURN_IF_ERROR(base_->Flush());
        fs_->DropWriteback(path());
        return injected;
      }
    }
    WEIR_RETURN_IF_ERROR(base_->Sync());
    fs_->OnSynced(path(), base_->size());
    return Status::OK();
  }
  Status Close() override { return base_->Close(); }
  uint64_t size() const override { return base_->size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultInjectionFileSystem* fs_;
  std::unique_ptr<WritableFile> base_;
};

void FaultInjectionFileSystem::InjectError(Op op, std::string path_filter, Status error, int count,
                                           int skip) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.push_back(Rule{op, std::move(path_filter), std::move(error), count, skip});
}

void FaultInjectionFileSystem::ClearErrors() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
}

void FaultInjectionFileSystem::SetSpaceLimit(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  space_limited_ = true;
  space_left_ = bytes;
}

void FaultInjectionFileSystem::ClearSpaceLimit() {
  std::lock_guard<std::mutex> lock(mu_);
  space_limited_ = false;
}

int FaultInjectionFileSystem::injected_failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

Status FaultInjectionFileSystem::MaybeFail(Op op, const std::string& path) {
  for (Rule& r : rules_) {
    if (r.op != op || r.remaining == 0) continue;
    if (!r.path_filter.empty() && path.find(r.path_filter) == std::string::npos) continue;
    if (r.skip > 0) {
      --r.skip;
      continue;
    }
    if (r.remaining > 0) --r.remaining;
    ++failures_;
    return r.error.WithContext("injected fault on '" + path + "'");
  }
  return Status::OK();
}

Status FaultInjectionFileSystem::CheckSpace(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!space_limited_) return Status::OK();
  if (bytes > space_left_) {
    ++failures_;
    space_left_ = 0;
    return Status::NoSpace("injected full disk: no space left on device");
  }
  space_left_ -= bytes;
  return Status::OK();
}

namespace {

// Removes [begin, end) from a list of byte ranges.
void EraseRange(std::vector<std::pair<uint64_t, uint64_t>>& ranges, uint64_t begin,
                uint64_t end) {
  std::vector<std::pair<uint64_t, uint64_t>> kept;
  for (const auto& [b, e] : ranges) {
    if (e <= begin || b >= end) {
      kept.emplace_back(b, e);
      continue;
    }
    if (b < begin) kept.emplace_back(b, begin);
    if (e > end) kept.emplace_back(end, e);
  }
  ranges.swap(kept);
}

}  // namespace

void FaultInjectionFileSystem::OnSynced(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  MarkSynced(files_[path], size);
}

void FaultInjectionFileSystem::MarkSynced(FileState& st, uint64_t size) {
  st.synced_size = size;
  for (const auto& [begin, end] : st.rewritten) EraseRange(st.lost, begin, end);
  st.rewritten.clear();
}

void FaultInjectionFileSystem::DropWriteback(const std::string& path) {
  auto it = files_.find(path);
  if (it == files_.end()) return;  // only files it saw written have bytes it knows unsynced
  it->second.rewritten.clear();    // dropped again
  Result<uint64_t> size = base_->FileSize(path);
  if (!size.ok() || *size <= it->second.synced_size) return;
  it->second.lost.emplace_back(it->second.synced_size, *size);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(
    const std::string& path) {
  bool existed = base_->Exists(path);
  {
    std::lock_guard<std::mutex> lock(mu_);
    WEIR_RETURN_IF_ERROR(MaybeFail(Op::kCreate, path));
    auto it = files_.find(path);
    // Truncating an existing file keeps its directory entry: a power loss can leave it empty,
    // not gone. Files we never saw created count as durable.
    bool entry_durable = existed && (it == files_.end() || it->second.entry_synced);
    files_[path] = FileState{0, entry_durable, {}, {}};
  }
  WEIR_ASSIGN_OR_RETURN(auto base, base_->NewWritableFile(path));
  return std::unique_ptr<WritableFile>(std::make_unique<File>(this, std::move(base)));
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewAppendableFile(
    const std::string& path) {
  bool existed = base_->Exists(path);
  {
    std::lock_guard<std::mutex> lock(mu_);
    WEIR_RETURN_IF_ERROR(MaybeFail(Op::kCreate, path));
  }
  WEIR_ASSIGN_OR_RETURN(auto base, base_->NewAppendableFile(path));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!files_.contains(path)) {
      // A file that existed before we saw it counts as durable as it is.
      files_[path] = FileState{existed ? base->size() : 0, existed, {}, {}};
    }
  }
  return std::unique_ptr<WritableFile>(std::make_unique<File>(this, std::move(base)));
}

Result<std::string> FaultInjectionFileSystem::ReadFile(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    WEIR_RETURN_IF_ERROR(MaybeFail(Op::kRead, path));
  }
  return base_->ReadFile(path);
}

Result<std::string> FaultInjectionFileSystem::ReadFileRange(const std::string& path,
                                                            uint64_t offset, uint64_t n) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    WEIR_RETURN_IF_ERROR(MaybeFail(Op::kRead, path));
  }
  return base_->ReadFileRange(path, offset, n);
}

Status FaultInjectionFileSystem::CreateDirs(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    WEIR_RETURN_IF_ERROR(MaybeFail(Op::kCreate, path));
  }
  return base_->CreateDirs(path);
}

Status FaultInjectionFileSystem::DeleteFile(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    WEIR_RETURN_IF_ERROR(MaybeFail(Op::kDelete, path));
    files_.erase(path);
  }
  return base_->DeleteFile(path);
}

Status FaultInjectionFileSystem::DeleteDirRecursive(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    WEIR_RETURN_IF_ERROR(MaybeFail(Op::kDelete, path));
    std::string prefix = path + "/";
    std::erase_if(files_, [&](const auto& f) { return f.first.starts_with(prefix); });
  }
  return base_->DeleteDirRecursive(path);
}

Status FaultInjectionFileSystem::Rename(const std::string& from, const std::string& to) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    WEIR_RETURN_IF_ERROR(MaybeFail(Op::kRename, to));
  }
  bool target_existed = base_->Exists(to);
  WEIR_RETURN_IF_ERROR(base_->Rename(from, to));
  std::lock_guard<std::mutex> lock(mu_);
  auto old_target = files_.find(to);
  // A name that existed durably before keeps existing after a power loss (with the old or
  // the new contents; we keep the new, as the old bytes are gone).
  bool target_entry_durable =
      target_existed && (old_target == files_.end() || old_target->second.entry_synced);
  auto it = files_.find(from);
  if (it != files_.end()) {
    FileState moved = it->second;
    files_.erase(it);
    if (target_existed) moved.entry_synced = target_entry_durable;
    files_[to] = moved;
  } else {
    files_.erase(to);  // an untracked file now has this name: treat it as durable
  }
  // Only a rename onto a fresh name can be undone faithfully (the old target's bytes are gone).
  if (!target_existed) unsynced_renames_[to] = from;
  return Status::OK();
}

Status FaultInjectionFileSystem::Link(const std::string& from, const std::string& to) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    WEIR_RETURN_IF_ERROR(MaybeFail(Op::kLink, to));
  }
  WEIR_RETURN_IF_ERROR(base_->Link(from, to));
  WEIR_ASSIGN_OR_RETURN(uint64_t size, base_->FileSize(to));
  std::lock_guard<std::mutex> lock(mu_);
  // One more directory entry, durable once its directory is synced; the bytes are the other
  // name's, as durable as they are there.
  auto it = files_.find(from);
  files_[to] = FileState{it != files_.end() ? it->second.synced_size : size, false, {}, {}};
  return Status::OK();
}

Status FaultInjectionFileSystem::Truncate(const std::string& path, uint64_t size) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    WEIR_RETURN_IF_ERROR(MaybeFail(Op::kTruncate, path));
  }
  WEIR_RETURN_IF_ERROR(base_->Truncate(path, size));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) {
    if (it->second.synced_size > size) it->second.synced_size = size;
    EraseRange(it->second.lost, size, UINT64_MAX);
    EraseRange(it->second.rewritten, size, UINT64_MAX);
  }
  return Status::OK();
}

Status FaultInjectionFileSystem::WriteAt(const std::string& path, uint64_t offset,
                                         std::string_view data) {
  WEIR_ASSIGN_OR_RETURN(uint64_t size, base_->FileSize(path));
  const uint64_t end = offset + data.size();
  WEIR_RETURN_IF_ERROR(CheckSpace(end > size ? end - size : 0));
  {
    std::lock_guard<std::mutex> lock(mu_);
    WEIR_RETURN_IF_ERROR(MaybeFail(Op::kWrite, path));
  }
  WEIR_RETURN_IF_ERROR(base_->WriteAt(path, offset, data));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) it->second.rewritten.emplace_back(offset, end);
  return Status::OK();
}

Status FaultInjectionFileSystem::SyncDir(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    WEIR_RETURN_IF_ERROR(MaybeFail(Op::kSyncDir, path));
  }
  WEIR_RETURN_IF_ERROR(base_->SyncDir(path));
  std::string dir = path;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [file, st] : files_) {
    if (DirName(file) == dir) st.entry_synced = true;
  }
  std::erase_if(unsynced_renames_, [&](const auto& r) { return DirName(r.first) == dir; });
  return Status::OK();
}

Status FaultInjectionFileSystem::SyncFile(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Status injected = MaybeFail(Op::kSync, path);
    if (!injected.ok()) {
      DropWriteback(path);
      return injected;
    }
  }
  WEIR_RETURN_IF_ERROR(base_->SyncFile(path));
  WEIR_ASSIGN_OR_RETURN(uint64_t size, base_->FileSize(path));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) {
    MarkSynced(it->second, size);
  } else {
    // A file we did not create: its directory entry counts as durable (as in
    // NewAppendableFile); only its data from now on is tracked.
    files_[path] = FileState{size, true, {}, {}};
  }
  return Status::OK();
}

Status FaultInjectionFileSystem::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [to, from] : unsynced_renames_) {
    if (base_->Exists(to)) WEIR_RETURN_IF_ERROR(base_->DeleteFile(to));
    files_.erase(to);
    (void)from;  // the temp name did not survive either: its entry was never synced
  }
  unsynced_renames_.clear();
  for (auto it = files_.begin(); it != files_.end();) {
    const auto& [path, st] = *it;
    if (!base_->Exists(path)) {
      it = files_.erase(it);
      continue;
    }
    if (!st.entry_synced) {
      WEIR_RETURN_IF_ERROR(base_->DeleteFile(path));
      it = files_.erase(it);
      continue;
    }
    WEIR_ASSIGN_OR_RETURN(uint64_t size, base_->FileSize(path));
    if (size > st.synced_size) WEIR_RETURN_IF_ERROR(base_->Truncate(path, st.synced_size));
    // What a failed fsync dropped and a later one made part of the file reads as zeros.
    for (const auto& [begin, end] : st.lost) {
      if (begin >= st.synced_size) continue;
      const uint64_t n = std::min(end, st.synced_size) - begin;
      WEIR_RETURN_IF_ERROR(base_->WriteAt(path, begin, std::string(n, '\0')));
    }
    it->second.lost.clear();
    it->second.rewritten.clear();
    ++it;
  }
  return Status::OK();
}

}  // namespace weir
