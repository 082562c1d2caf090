#include "state/rocksdb_snapshot.h"

#include <rocksdb/sst_file_writer.h>

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>

#include "base/fault_points.h"
#include "base/hash.h"
#include "state/key_order.h"
#include "state/keyed_snapshot_format.h"

namespace weir {
namespace {

constexpr uint64_t kChunk = 4 << 20;
// An incremental snapshot's file of the write cache's changed values of one state:
// "<prefix><column family id>", kChangedValuesMagic and then CachedWriteList::packed(), in
// the order the task copied them. Writing them as they are takes a few milliseconds where an
// SST file of a million values took hundreds; a restore, which is rare, sorts them and
// writes the SST file RocksDB ingests.
constexpr std::string_view kChangedValuesPrefix = "weir-changed-writes-cf";
constexpr std::string_view kChangedValuesMagic = "weirCW01";
// The same as an SST file, which weir wrote before the format above: a restore of such a
// checkpoint ingests it as it is.
constexpr std::string_view kChangedValuesSstPrefix = "weir-changed-values-cf";
std::string ChangedValuesFileName(uint32_t column_family_id) {
  return std::string(kChangedValuesPrefix) + std::to_string(column_family_id);
}
// A full snapshot is written to its file in pieces of about this size.
constexpr size_t kFlushBytes = 1 << 20;

std::string Hex(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

Status CopyLocalFile(const std::string& local_path, StateFileWriter& out) {
  FileSystem* fs = FileSystem::Default();
  WEIR_ASSIGN_OR_RETURN(uint64_t size, fs->FileSize(local_path));
  for (uint64_t off = 0; off < size; off += kChunk) {
    WEIR_ASSIGN_OR_RETURN(std::string chunk,
                          fs->ReadFileRange(local_path, off, std::min(kChunk, size - off)));
    WEIR_RETURN_IF_ERROR(out.Append(chunk));
  }
  return Status::OK();
}

bool IsTableFile(std::string_view name) { return name.ends_with(".sst"); }

// Appends the entries of one state in one key group, in canonical form, to `out`, and counts
// them: the stored ones, and the cached ones of the group, which come first in `*cached`
// (sorted by key) and are consumed. Leaves `it` on the first key of a later key group (or
// invalid).
Status EncodeStateGroup(rocksdb::Iterator* it, CachedWriteList::Reader* cached,
                        detail::StateKind kind, int key_group, std::string* out, size_t* count,
                        std::string* value_buf, std::string* map_entries) {
  BufferWriter w(out);
  *count = 0;
  // Writes the cached values of the group up to the stored key `stored` (to the group's end
  // if empty); `*replaced`: one had that key, and takes the stored entry's place.
  auto write_cached = [&](std::string_view stored, bool* replaced) {
    *replaced = false;
    while (!cached->empty()) {
      const CachedWrite c = cached->front();
      int kg;
      std::string_view key, rest;
      if (!ParseStateKey(c.key, &kg, &key, &rest) || kg < key_group) {
        return Status::Internal("a cached key (" + std::to_string(c.key.size()) +
                                " bytes) is malformed or out of order");
      }
      if (kg > key_group || (!stored.empty() && c.key > stored)) break;
      *replaced = c.key == stored;
      if (c.present) {
        w.PutLengthPrefixed(key);
        w.PutLengthPrefixed(c.value);
        ++*count;
      }
      cached->pop_front();
      if (*replaced) break;
    }
    return Status::OK();
  };
  std::string current_key;  // of the map being gathered
  size_t map_count = 0;
  auto flush_map = [&] {
    if (map_count == 0) return;
    value_buf->clear();
    BufferWriter vw(value_buf);
    vw.PutVarint64(map_count);
    vw.PutBytes(*map_entries);
    w.PutLengthPrefixed(current_key);
    w.PutLengthPrefixed(*value_buf);
    ++*count;
    map_count = 0;
    map_entries->clear();
  };
  for (; it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    int kg;
    std::string_view key, rest;
    if (!ParseStateKey(std::string_view(k.data(), k.size()), &kg, &key, &rest)) {
      return Status::Corruption("a stored key is malformed (" + std::to_string(k.size()) +
                                " bytes)");
    }
    if (kg > key_group) break;
    if (kg < key_group) {
      return Status::Corruption("a stored key of key group " + std::to_string(kg) +
                                " is out of order");
    }
    bool replaced;
    WEIR_RETURN_IF_ERROR(write_cached(std::string_view(k.data(), k.size()), &replaced));
    if (replaced) continue;
    rocksdb::Slice v = it->value();
    std::string_view value(v.data(), v.size());
    switch (kind) {
      case detail::StateKind::kValue:
      case detail::StateKind::kReducing:
        w.PutLengthPrefixed(key);
        w.PutLengthPrefixed(value);
        ++*count;
        break;
      case detail::StateKind::kList: {
        int64_t n = CountListElements(value);
        if (n < 0) return Status::Corruption("a stored list is malformed");
        if (n == 0) break;
        value_buf->clear();
        BufferWriter vw(value_buf);
        vw.PutVarint64(static_cast<uint64_t>(n));
        vw.PutBytes(value);
        w.PutLengthPrefixed(key);
        w.PutLengthPrefixed(*value_buf);
        ++*count;
        break;
      }
      case detail::StateKind::kMap: {
        if (map_count > 0 && key != current_key) flush_map();
        if (map_count == 0) current_key.assign(key);
        BufferWriter mw(map_entries);
        mw.PutLengthPrefixed(rest);
        mw.PutLengthPrefixed(value);
        ++map_count;
        break;
      }
    }
  }
  flush_map();
  if (!it->status().ok()) return FromRocksDb(it->status(), "reading a RocksDB snapshot");
  bool replaced;
  return write_cached({}, &replaced);
}

}  // namespace

// ---- Full snapshot --------------------------------------------------------------------------

FullRocksDbSnapshot::FullRocksDbSnapshot(std::shared_ptr<RocksDbInstance> db,
                                         const rocksdb::Snapshot* snapshot,
                                         std::vector<RocksDbInstance::StateColumn> states,
                                         CachedWrites cached,
                                         std::shared_ptr<SnapshotBuffers> buffers,
                                         TimersByGroup timers, KeyGroupRange range,
                                         std::string file_name, std::string key_codec)
    : db_(std::move(db)),
      snapshot_(snapshot),
      states_(std::move(states)),
      cached_(std::move(cached)),
      buffers_(std::move(buffers)),
      timers_(std::move(timers)),
      range_(range),
      file_name_(std::move(file_name)),
      key_codec_(std::move(key_codec)) {}

FullRocksDbSnapshot::~FullRocksDbSnapshot() {
  db_->db()->ReleaseSnapshot(snapshot_);
  buffers_->Give(std::move(cached_));
}

Result<KeyedStateHandle> FullRocksDbSnapshot::Write(const SnapshotLocation& location) {
  WEIR_ASSIGN_OR_RETURN(auto file, location.CreateExclusiveFile(file_name_));
  Status s = WriteTo(*file);
  if (!s.ok()) return s.WithContext("writing RocksDB state to '" + file_name_ + "'");
  WEIR_ASSIGN_OR_RETURN(StateFile f, file->Finish());
  KeyedStateHandle handle;
  handle.key_groups = range_;
  handle.canonical = std::move(f);
  return handle;
}

Status FullRocksDbSnapshot::WriteTo(StateFileWriter& file) {
  std::vector<StateMeta> metas;
  for (const auto& st : states_) metas.push_back(StateMeta{st.name, st.kind, st.codec});
  std::string buf;
  KeyedSnapshotWriter writer(&buf, metas, range_, key_codec_, &file.checksum());

  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  ro.fill_cache = false;  // a scan of everything would evict the working set
  std::vector<std::unique_ptr<rocksdb::Iterator>> its;
  const std::string start = KeyGroupStart(range_.start);
  for (const auto& st : states_) {
    its.emplace_back(db_->db()->NewIterator(ro, st.cf));
    its.back()->Seek(start);
  }
  // In RocksDB's order (bytewise), to be merged with its iterators'.
  cached_.resize(states_.size());
  std::vector<CachedWriteList::Reader> cached;
  {
    KeyOrderScratch scratch = buffers_->TakeSortScratch();
    size_t largest = 0;
    for (auto& writes : cached_) {
      writes.SortByKey(scratch);
      cached.emplace_back(&writes);
      largest = std::max(largest, writes.size());
    }
    buffers_->Give(std::move(scratch), largest);
  }
  std::string entries, value_buf, map_entries;
  for (int kg = range_.start; kg <= range_.end; ++kg) {
    writer.BeginKeyGroup(kg);
    for (size_t i = 0; i < states_.size(); ++i) {
      entries.clear();
      size_t count = 0;
      Status s = EncodeStateGroup(its[i].get(), &cached[i], states_[i].kind, kg, &entries, &count,
                                  &value_buf, &map_entries);
      if (!s.ok()) return s.WithContext("state '" + states_[i].name + "'");
      writer.AddEncodedState(count, entries);
    }
    const auto& timers = timers_[static_cast<size_t>(kg - range_.start)];
    writer.BeginTimers(timers.size());
    for (const auto& t : timers) writer.AddTimer(t.domain, t.timestamp, t.key);
    if (buf.size() >= kFlushBytes) {
      WEIR_RETURN_IF_ERROR(file.Append(buf));
      writer.MarkFlushed();
    }
  }
  for (size_t i = 0; i < states_.size(); ++i) {
    if (!cached[i].empty()) {
      return Status::Internal("state '" + states_[i].name +
                              "': the write cache holds a key outside key groups " +
                              range_.ToString());
    }
  }
  writer.Finish();
  return file.Append(buf);
}

// ---- Incremental snapshot -------------------------------------------------------------------

IncrementalRocksDbSnapshot::~IncrementalRocksDbSnapshot() {
  (void)FileSystem::Default()->DeleteDirRecursive(p_.local_dir);
  if (p_.buffers != nullptr) p_.buffers->Give(std::move(p_.changed));
}

Status IncrementalRocksDbSnapshot::WriteChangedValues(const SnapshotLocation& location,
                                                      KeyedStateHandle* handle) {
  for (size_t c = 0; c < p_.changed.size(); ++c) {
    CachedWriteList& writes = p_.changed[c];
    if (writes.empty()) continue;
    const std::string name = ChangedValuesFileName(p_.columns[c].cf->GetID());
    WEIR_ASSIGN_OR_RETURN(auto writer, location.CreateExclusiveFile(p_.file_prefix + "-" + name));
    WEIR_RETURN_IF_ERROR(writer->Append(kChangedValuesMagic));
    WEIR_RETURN_IF_ERROR(writer->Append(writes.packed()));
    WEIR_ASSIGN_OR_RETURN(StateFile f, writer->Finish());
    f.local_name = name;
    handle->native_files.push_back(std::move(f));
    // Back for the next snapshot, while RocksDB's files upload.
    if (p_.buffers != nullptr) p_.buffers->Give(c, std::exchange(writes, {}));
  }
  return Status::OK();
}

Result<KeyedStateHandle> IncrementalRocksDbSnapshot::Write(const SnapshotLocation& location) {
  FileSystem* local = FileSystem::Default();
  WEIR_ASSIGN_OR_RETURN(auto names, local->ListDir(p_.local_dir));
  KeyedStateHandle handle;
  handle.key_groups = p_.range;
  handle.backend_id = p_.backend_id;
  WEIR_RETURN_IF_ERROR(WriteChangedValues(location, &handle));
  SharedStateFiles::FileMap uploaded;
  for (const std::string& name : names) {
    std::string path = JoinPath(p_.local_dir, name);
    if (IsTableFile(name)) {
      auto it = p_.reusable.find(name);
      StateFile f;
      if (it != p_.reusable.end()) {
        f = it->second;
      } else {
        WEIR_FAULT_POINT(fault_points::kRocksDbBeforeUpload);
        WEIR_ASSIGN_OR_RETURN(
            f, location.UploadShared(
                   path, SharedStateFileName(p_.checkpoint_id, p_.file_prefix + "-" + name)));
        f.local_name = name;
      }
      uploaded.emplace(name, f);
      handle.native_files.push_back(std::move(f));
    } else {
      // MANIFEST, CURRENT, OPTIONS (and empty WAL files): small, and private to this
      // checkpoint.
      WEIR_ASSIGN_OR_RETURN(auto writer, location.CreateExclusiveFile(p_.file_prefix + "-" + name));
      WEIR_RETURN_IF_ERROR(CopyLocalFile(path, *writer));
      WEIR_ASSIGN_OR_RETURN(StateFile f, writer->Finish());
      f.local_name = name;
      handle.native_files.push_back(std::move(f));
    }
  }
  WEIR_ASSIGN_OR_RETURN(
      handle.canonical,
      WriteTimersFile(location, p_.file_prefix + "-timers.keyed", p_.timers, p_.range));
  p_.shared_files->Written(p_.checkpoint_id, std::move(uploaded));
  // The hard links are no longer needed; the destructor would also remove them.
  (void)local->DeleteDirRecursive(p_.local_dir);
  return handle;
}

namespace {

// The column family a changed-values file `name` (after `prefix`) is for.
Result<const RocksDbInstance::StateColumn*> ChangedValuesColumn(RocksDbInstance& db,
                                                                std::string_view name,
                                                                std::string_view prefix,
                                                                const std::string& path) {
  std::string_view id_text = name.substr(prefix.size());
  uint32_t id = 0;
  auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec == std::errc() && end == id_text.data() + id_text.size()) {
    for (const auto& st : db.states()) {
      if (st.cf->GetID() == id) return &st;
    }
  }
  return Status::Corruption("restored RocksDB state file '" + path +
                            "' names no column family of the checkpoint's database");
}

// Reads a file of packed changed values.
Result<CachedWriteList> ReadPackedValues(const std::string& path) {
  WEIR_ASSIGN_OR_RETURN(std::string bytes, FileSystem::Default()->ReadFile(path));
  if (!std::string_view(bytes).starts_with(kChangedValuesMagic)) {
    return Status::Corruption("restored RocksDB state file '" + path +
                              "' does not start as a file of changed values does");
  }
  auto writes = CachedWriteList::FromPacked(bytes, kChangedValuesMagic.size());
  if (!writes.ok()) {
    return writes.status().WithContext("restored RocksDB state file '" + path + "'");
  }
  return writes;
}

// Every key of a file of changed values must be a key of a value of its state, in the key
// group it hashes to (when the database records its max parallelism): checked whether the
// values then go into the write cache or into RocksDB.
Status CheckChangedKeys(const CachedWriteList& writes, const RocksDbInstance::StateColumn& column,
                        int max_parallelism, const std::string& path) {
  for (size_t i = 0; i < writes.size(); ++i) {
    int kg = 0;
    std::string_view key, rest;
    if (!ParseStateKey(writes[i].key, &kg, &key, &rest) || !rest.empty()) {
      return Status::Corruption("restored RocksDB state file '" + path +
                                "' holds a malformed key of state '" + column.name + "'");
    }
    if (max_parallelism > 0 && detail::KeyGroupForHash(Hash64(key), max_parallelism) != kg) {
      return Status::Corruption("restored RocksDB state file '" + path + "' holds a key of state '" +
                                column.name + "' in key group " + std::to_string(kg) +
                                ", which it does not hash to");
    }
  }
  return Status::OK();
}

// Writes `p`'s values, sorted, as the SST file `sst_path` for its state.
Status WriteSst(RocksDbInstance& db, RestoredChangedValues::Packed& p,
                const std::string& sst_path) {
  const RocksDbInstance::StateColumn& column = p.column;
  CachedWriteList& writes = p.writes;
  writes.SortByKey();
  for (size_t i = 1; i < writes.size(); ++i) {
    if (writes[i].key == writes[i - 1].key) {
      return Status::Corruption("restored RocksDB state file '" + p.path +
                                "' holds a key twice, of state '" + column.name + "'");
    }
  }
  // No column family recorded in the file: it is ingested into `column`. Uncompressed (2%
  // of a restore's time in BM_RocksDbRestore): compactions rewrite it, compressed if deep.
  rocksdb::Options options = db.db()->GetOptions(column.cf);
  options.compression_per_level.clear();
  options.compression = rocksdb::kNoCompression;
  options.bottommost_compression = rocksdb::kDisableCompressionOption;
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options);
  rocksdb::Status s = writer.Open(sst_path);
  for (CachedWriteList::Reader in(&writes); !in.empty() && s.ok(); in.pop_front()) {
    const CachedWrite w = in.front();
    s = w.present ? writer.Put(w.key, w.value) : writer.Delete(w.key);
  }
  if (s.ok()) s = writer.Finish();
  if (!s.ok()) {
    return FromRocksDb(s, "writing the changed values of state '" + column.name + "' to '" +
                              sst_path + "'");
  }
  return Status::OK();
}

}  // namespace

Result<RestoredChangedValues> ReadChangedValues(RocksDbInstance& db, const std::string& db_path) {
  FileSystem* fs = FileSystem::Default();
  WEIR_ASSIGN_OR_RETURN(auto names, fs->ListDir(db_path));
  RestoredChangedValues out;
  for (const std::string& name : names) {
    const bool packed = name.starts_with(kChangedValuesPrefix);
    if (!packed && !name.starts_with(kChangedValuesSstPrefix)) continue;
    std::string path = JoinPath(db_path, name);
    WEIR_ASSIGN_OR_RETURN(
        const RocksDbInstance::StateColumn* column,
        ChangedValuesColumn(db, name, packed ? kChangedValuesPrefix : kChangedValuesSstPrefix,
                            path));
    if (!packed) {
      out.sst.push_back({*column, std::move(path)});
      continue;
    }
    WEIR_ASSIGN_OR_RETURN(CachedWriteList writes, ReadPackedValues(path));
    WEIR_RETURN_IF_ERROR(CheckChangedKeys(writes, *column, db.max_parallelism(), path));
    (void)fs->DeleteFile(path);
    out.packed.push_back({*column, std::move(writes), std::move(path)});
  }
  return out;
}

Status IngestChangedValues(RocksDbInstance& db, const std::string& db_path,
                           RestoredChangedValues changed) {
  std::vector<rocksdb::IngestExternalFileArg> files;
  auto add = [&](const RocksDbInstance::StateColumn& column, std::string path) {
    rocksdb::IngestExternalFileArg& arg = files.emplace_back();
    arg.column_family = column.cf;
    arg.external_files.push_back(std::move(path));
    arg.options.move_files = true;
  };
  Status s;
  for (size_t i = 0; i < changed.packed.size() && s.ok(); ++i) {
    RestoredChangedValues::Packed& p = changed.packed[i];
    std::string sst_path = p.path + ".ingest";
    s = WriteSst(db, p, sst_path);
    add(p.column, std::move(sst_path));
  }
  for (RestoredChangedValues::Sst& f : changed.sst) add(f.column, std::move(f.path));
  if (s.ok() && !files.empty()) {
    rocksdb::Status ingested = db.db()->IngestExternalFiles(files);
    if (!ingested.ok()) {
      s = FromRocksDb(ingested, "ingesting the changed values in '" + db_path + "'");
    }
  }
  for (const auto& f : files) (void)FileSystem::Default()->DeleteFile(f.external_files.front());
  return s;
}

Result<StateFile> WriteTimersFile(const SnapshotLocation& location, const std::string& name,
                                  const TimersByGroup& timers, KeyGroupRange range) {
  std::string buf;
  KeyedSnapshotWriter writer(&buf, {}, range);
  for (int kg = range.start; kg <= range.end; ++kg) {
    writer.BeginKeyGroup(kg);
    const auto& group = timers[static_cast<size_t>(kg - range.start)];
    writer.BeginTimers(group.size());
    for (const auto& t : group) writer.AddTimer(t.domain, t.timestamp, t.key);
  }
  writer.Finish();
  WEIR_ASSIGN_OR_RETURN(auto file, location.CreateExclusiveFile(name));
  WEIR_RETURN_IF_ERROR(file->Append(buf));
  return file->Finish();
}

Status DownloadVerified(const SnapshotLocation& location, const StateFile& file,
                        const std::string& local_path) {
  std::string abs = location.Absolute(file);
  FileSystem& fs = location.fs();
  WEIR_ASSIGN_OR_RETURN(uint64_t size, fs.FileSize(abs));
  if (size != file.size) {
    return Status::Corruption("state file '" + abs + "' has " + std::to_string(size) +
                              " bytes, the checkpoint recorded " + std::to_string(file.size));
  }
  WEIR_ASSIGN_OR_RETURN(auto out, FileSystem::Default()->NewWritableFile(local_path));
  Checksum sum;
  for (uint64_t off = 0; off < size; off += kChunk) {
    WEIR_ASSIGN_OR_RETURN(std::string chunk,
                          fs.ReadFileRange(abs, off, std::min(kChunk, size - off)));
    sum.Update(chunk);
    WEIR_RETURN_IF_ERROR(out->Append(chunk));
  }
  WEIR_RETURN_IF_ERROR(out->Close());
  if (sum.Digest() != file.checksum) {
    return Status::Corruption("state file '" + abs + "': checksum mismatch (computed " +
                              Hex(sum.Digest()) + ", recorded " + Hex(file.checksum) + ")");
  }
  return Status::OK();
}

}  // namespace weir
