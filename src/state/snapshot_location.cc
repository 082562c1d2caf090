#include "state/snapshot_location.h"

#include <charconv>
#include <cinttypes>
#include <cstdio>

namespace weir {
namespace {

std::string HexChecksum(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

}  // namespace

std::string SharedStateFileName(int64_t checkpoint_id, std::string_view rest) {
  return "c" + std::to_string(checkpoint_id) + "_" + std::string(rest);
}

std::optional<int64_t> SharedStateFileCheckpoint(std::string_view name) {
  if (name.size() < 3 || name[0] != 'c') return std::nullopt;
  auto underscore = name.find('_');
  if (underscore == std::string_view::npos || underscore == 1) return std::nullopt;
  int64_t id = 0;
  auto [end, ec] = std::from_chars(name.data() + 1, name.data() + underscore, id);
  if (ec != std::errc() || end != name.data() + underscore || id < 0) return std::nullopt;
  return id;
}

Result<StateFile> StateFileWriter::Finish() {
  WEIR_RETURN_IF_ERROR(file_->Sync());
  WEIR_RETURN_IF_ERROR(file_->Close());
  return StateFile{relative_path_, file_->size(), checksum_.Digest(), ""};
}

Result<std::unique_ptr<StateFileWriter>> SnapshotLocation::CreateExclusiveFile(
    const std::string& name) const {
  std::string rel = JoinPath(exclusive_dir_, name);
  std::string path = JoinPath(base_dir_, rel);
  // A file an earlier attempt left there is unlinked, not truncated: it may be a hard link
  // to a retained checkpoint's file (LinkExclusiveFile), which truncating would destroy.
  if (fs_->Exists(path)) WEIR_RETURN_IF_ERROR(fs_->DeleteFile(path));
  WEIR_ASSIGN_OR_RETURN(auto file, fs_->NewUncachedWritableFile(path));
  return std::make_unique<StateFileWriter>(std::move(file), rel);
}

bool WrittenByCheckpoint(std::string_view file, int64_t checkpoint_id) {
  constexpr std::string_view kShared = "shared/";
  if (!file.starts_with(kShared)) return !file.ends_with(kLinkedFileSuffix);
  return SharedStateFileCheckpoint(file.substr(kShared.size())) == checkpoint_id;
}

Result<StateFile> SnapshotLocation::LinkExclusiveFile(const StateFile& from,
                                                      const std::string& name) const {
  StateFile linked = from;
  linked.path = JoinPath(exclusive_dir_, name + std::string(kLinkedFileSuffix));
  WEIR_RETURN_IF_ERROR(fs_->Link(Absolute(from), Absolute(linked)));
  return linked;
}

Result<std::unique_ptr<StateFileWriter>> SnapshotLocation::CreateSharedFile(
    const std::string& name) const {
  std::string rel = JoinPath("shared", name);
  std::string dir = JoinPath(base_dir_, "shared");
  if (!fs_->Exists(dir)) {
    // The new directory's entry must survive a power loss too.
    WEIR_RETURN_IF_ERROR(fs_->CreateDirs(dir));
    WEIR_RETURN_IF_ERROR(fs_->SyncDir(base_dir_));
  }
  WEIR_ASSIGN_OR_RETURN(auto file, fs_->NewUncachedWritableFile(JoinPath(base_dir_, rel)));
  return std::make_unique<StateFileWriter>(std::move(file), rel);
}

Result<StateFile> SnapshotLocation::UploadShared(const std::string& local_path,
                                                 const std::string& name) const {
  WEIR_ASSIGN_OR_RETURN(auto writer, CreateSharedFile(name));
  WEIR_ASSIGN_OR_RETURN(uint64_t size, fs_->FileSize(local_path));
  constexpr uint64_t kChunk = 4 << 20;
  for (uint64_t off = 0; off < size; off += kChunk) {
    WEIR_ASSIGN_OR_RETURN(std::string chunk,
                          fs_->ReadFileRange(local_path, off, std::min(kChunk, size - off)));
    WEIR_RETURN_IF_ERROR(writer->Append(chunk));
  }
  WEIR_ASSIGN_OR_RETURN(StateFile f, writer->Finish());
  // A checkpoint's _metadata makes its own directory durable, not shared/: without this a
  // power loss could take the file away from a completed checkpoint.
  WEIR_RETURN_IF_ERROR(fs_->SyncDir(JoinPath(base_dir_, "shared")));
  return f;
}

Result<std::string> SnapshotLocation::ReadVerified(const StateFile& f) const {
  std::string abs = Absolute(f);
  auto data = fs_->ReadFile(abs);
  if (!data.ok()) return data.status();
  if (data->size() != f.size) {
    return Status::Corruption("state file '" + abs + "' has " + std::to_string(data->size()) +
                              " bytes, the checkpoint recorded " + std::to_string(f.size));
  }
  uint64_t sum = Checksum::Of(*data);
  if (sum != f.checksum) {
    return Status::Corruption("state file '" + abs + "': checksum mismatch (computed " +
                              HexChecksum(sum) + ", recorded " + HexChecksum(f.checksum) + ")");
  }
  return data;
}

Status SnapshotLocation::Verify(const StateFile& f) const {
  std::string abs = Absolute(f);
  WEIR_ASSIGN_OR_RETURN(uint64_t size, fs_->FileSize(abs));
  if (size != f.size) {
    return Status::Corruption("state file '" + abs + "' has " + std::to_string(size) +
                              " bytes, the checkpoint recorded " + std::to_string(f.size));
  }
  Checksum sum;
  constexpr uint64_t kChunk = 4 << 20;
  for (uint64_t off = 0; off < size; off += kChunk) {
    WEIR_ASSIGN_OR_RETURN(std::string chunk,
                          fs_->ReadFileRange(abs, off, std::min(kChunk, size - off)));
    sum.Update(chunk);
  }
  if (sum.Digest() != f.checksum) {
    return Status::Corruption("state file '" + abs + "': checksum mismatch (computed " +
                              HexChecksum(sum.Digest()) + ", recorded " + HexChecksum(f.checksum) +
                              ")");
  }
  return Status::OK();
}

}  // namespace weir
