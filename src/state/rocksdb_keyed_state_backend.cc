#include "state/rocksdb_keyed_state_backend.h"

#include <rocksdb/sst_file_writer.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <mutex>
#include <utility>

#include "base/hash.h"
#include "base/logging.h"
#include "base/random.h"
#include "state/heap_incremental_format.h"
#include "state/key_order.h"
#include "state/keyed_snapshot_format.h"
#include "state/rocksdb_snapshot.h"
#include "state/state_schema.h"

namespace weir {
namespace {

// Restores write in batches of about this many bytes.
constexpr size_t kRestoreBatchBytes = 4 << 20;

// This machine's name, file-name-safe: pids are only comparable on one host (a local
// directory may be shared, e.g. by containers).
std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "host";
  return SanitizeForFileName(buf);
}

// Deletes working directories (job-...-<host>-<pid>-<random>) of processes on this host that
// are gone: left behind by a process that was killed and could not clean up.
void DeleteAbandonedWorkingDirs(const std::string& local_dir, const std::string& host) {
  // Every subtask of a process looks: one at a time, so a directory goes once.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  FileSystem* fs = FileSystem::Default();
  auto names = fs->ListDir(local_dir);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    if (!name.starts_with("job-")) continue;
    size_t last = name.rfind('-');
    if (last == std::string::npos || last < 5) continue;
    size_t prev = name.rfind('-', last - 1);
    if (prev == std::string::npos) continue;
    if (!std::string_view(name).substr(0, prev).ends_with("-" + host)) continue;
    pid_t pid = 0;
    const char* begin = name.data() + prev + 1;
    const char* end = name.data() + last;
    auto [p, ec] = std::from_chars(begin, end, pid);
    if (ec != std::errc() || p != end || pid <= 0 || pid == getpid()) continue;
    if (kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to judge)
    std::string path = JoinPath(local_dir, name);
    spdlog::info("Deleting RocksDB working directory '{}' left behind by process {}, which is gone",
                 path, pid);
    Status s = fs->DeleteDirRecursive(path);
    // Gone meanwhile: another process that started beside this one deleted it.
    if (!s.ok() && !s.IsNotFound()) spdlog::warn("Could not delete '{}': {}", path, s.ToString());
  }
}

// A local file name from a checkpoint handle: a plain name, never a path.
bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

}  // namespace

// ---- Creation -------------------------------------------------------------------------------

RocksDbKeyedStateBackend::RocksDbKeyedStateBackend(const KeyedBackendOptions& options)
    : KeyedStateBackend(options), shared_files_(std::make_shared<SharedStateFiles>()) {}

Result<std::unique_ptr<RocksDbKeyedStateBackend>> RocksDbKeyedStateBackend::Create(
    const KeyedBackendOptions& options) {
  WEIR_ASSIGN_OR_RETURN(RocksDbTuning tuning, RocksDbTuning::FromConfiguration(*options.config));
  std::unique_ptr<RocksDbKeyedStateBackend> b(new RocksDbKeyedStateBackend(options));
  b->resources_ = RocksDbResources::Create(tuning);
  b->cache_ = StateWriteCache(tuning.write_cache_bytes);
  FileSystem* fs = FileSystem::Default();
  // RocksDB checkpoints need absolute paths; a relative localdir is the working directory's.
  std::error_code ec;
  const std::string local = std::filesystem::absolute(tuning.local_dir, ec).lexically_normal();
  if (ec) {
    return Status::InvalidArgument("state.backend.rocksdb.localdir = '" + tuning.local_dir +
                                   "': " + ec.message());
  }
  Status s = fs->CreateDirs(local);
  if (!s.ok()) {
    return s.WithContext("creating the RocksDB working directory of operator '" +
                         options.operator_name + "' subtask " + std::to_string(options.subtask) +
                         " in '" + local + "' (state.backend.rocksdb.localdir)");
  }
  const std::string host = HostName();
  DeleteAbandonedWorkingDirs(local, host);
  b->backend_id_ = RandomHex(16);
  b->working_dir_ = JoinPath(
      local, "job-" + SanitizeForFileName(options.job_id) + "-" +
                 SanitizeForFileName(options.operator_uid) + "-" + std::to_string(options.subtask) +
                 "-" + host + "-" + std::to_string(getpid()) + "-" + b->backend_id_.substr(0, 8));
  s = fs->CreateDirs(b->working_dir_);
  if (!s.ok()) {
    return s.WithContext("creating the RocksDB working directory '" + b->working_dir_ + "'");
  }
  b->dir_ = std::make_shared<ScopedDirectory>(b->working_dir_);
  auto db = RocksDbInstance::Open(b->NextDbPath(), b->resources_, b->dir_);
  if (!db.ok()) return db.status().WithContext(b->Where());
  b->db_ = std::move(*db);
  WEIR_RETURN_IF_ERROR_CTX(b->db_->SetMaxParallelism(options.max_parallelism), b->Where());
  return b;
}

RocksDbKeyedStateBackend::~RocksDbKeyedStateBackend() { Close(); }

void RocksDbKeyedStateBackend::Close() {
  // What the cache holds past the last snapshot goes with the attempt.
  cache_.Clear();
  // Snapshots still being written keep the database (and the directory) until they finish.
  db_.reset();
  dir_.reset();
  has_current_ = false;
}

std::vector<KeyedStateBackend::NativeMetric> RocksDbKeyedStateBackend::NativeMetrics() {
  std::vector<NativeMetric> out;
  if (db_ == nullptr) return out;
  // The database of now: a restore replaces it before metrics are registered, Close after
  // they are gone; the shared pointer keeps it open while a function runs.
  std::shared_ptr<RocksDbInstance> db = db_;
  for (const char* property : {"rocksdb.estimate-num-keys", "rocksdb.cur-size-all-mem-tables",
                               "rocksdb.estimate-live-data-size", "rocksdb.total-sst-files-size"}) {
    out.emplace_back(property, [db, property]() -> double {
      uint64_t v = 0;
      return db->db()->GetAggregatedIntProperty(property, &v) ? static_cast<double>(v) : 0.0;
    });
  }
  // One cache for every state of the subtask (and its temporary databases).
  std::shared_ptr<rocksdb::Cache> cache = resources_->block_cache;
  out.emplace_back("rocksdb.block-cache-usage",
                   [cache]() { return cache ? static_cast<double>(cache->GetUsage()) : 0.0; });
  // The memory kept between checkpoints to copy and sort the write cache's changed values in:
  // what the last checkpoints needed, held for the next.
  out.emplace_back("stateSnapshotBufferBytes", [buffers = snapshot_buffers_]() {
    return static_cast<double>(buffers->HeldBytes());
  });
  return out;
}

std::string RocksDbKeyedStateBackend::NextDbPath() {
  return JoinPath(working_dir_, "db-" + std::to_string(next_db_++));
}

// ---- Access path ----------------------------------------------------------------------------

// The lookup hash a keyed operator passes is of no use here: a key's RocksDB prefix is its key
// group, which Hash64 picks, and a record's RocksDB access costs far more than hashing.
void RocksDbKeyedStateBackend::SetCurrentKey(std::string_view key_bytes) {
  SetCurrentKey(key_bytes, detail::KeyHash(key_bytes));
}

// The key group comes from Hash64, as everywhere; the write cache looks the key up by its
// KeyHash, which the keyed operator has computed already and which keeps keys that come in
// order close together in the cache's table.
void RocksDbKeyedStateBackend::SetCurrentKey(std::string_view key_bytes, uint64_t key_hash) {
  if (has_current_ && detail::BytesEqual(key_bytes, current_key_bytes())) return;
  const uint64_t hash = Hash64(key_bytes);
  if (db_ == nullptr) [[unlikely]] {
    throw detail::StateError(Where() +
                             ": a key was set after the RocksDB state backend was "
                             "closed");
  }
  int kg = detail::KeyGroupForHash(hash, options_.max_parallelism);
  if (!options_.key_groups.Contains(kg)) [[unlikely]] {
    throw detail::StateError(Status::FailedPrecondition(
        Where() + " got a key of key group " + std::to_string(kg) + ", outside its key groups " +
        options_.key_groups.ToString() +
        ": the key selector must return the same key every time it is called for a record "
        "(is it non-deterministic, or does the key's codec encode it differently each time?)"));
  }
  key_prefix_.clear();
  key_prefix_.push_back(static_cast<char>((kg >> 8) & 0xff));
  key_prefix_.push_back(static_cast<char>(kg & 0xff));
  BufferWriter(&key_prefix_).PutVarint64(key_bytes.size());
  key_offset_ = key_prefix_.size();
  key_prefix_.append(key_bytes.data(), key_bytes.size());
  key_hash_ = key_hash;
  has_current_ = true;
}

int RocksDbKeyedStateBackend::RegisterState(std::string_view name, detail::StateKind kind,
                                            const detail::StateSchema& schema) {
  if (db_ == nullptr) {
    throw detail::StateError("state '" + std::string(name) + "': " + Where() +
                             " has closed its RocksDB state backend");
  }
  for (size_t i = 0; i < states_.size(); ++i) {
    StateInfo& st = states_[i];
    if (st.name != name) continue;
    if (st.kind != kind) {
      if (st.declared) {
        throw detail::StateError(Status::FailedPrecondition(
            "state '" + st.name + "' is already registered as " +
            std::string(detail::StateKindName(st.kind)) + " state of another type"));
      }
      throw detail::StateError(Status::FailedPrecondition(
          Where() + ": state '" + st.name + "' is declared as " +
          std::string(detail::StateKindName(kind)) + " state, but the checkpoint holds " +
          std::string(detail::StateKindName(st.kind)) + " state under that name"));
    }
    if (!st.declared) {
      int old_version = 0;
      switch (MatchSchema(st.codec, schema, &old_version)) {
        case SchemaMatch::kSame:
          break;
        case SchemaMatch::kUnrecorded:
          WarnUnrecorded(st.name);
          break;
        case SchemaMatch::kIncompatible:
          throw detail::StateError(IncompatibleState(Where(), st.name, kind, st.codec, schema));
        case SchemaMatch::kMigrate: {
          Status m = MigrateState(static_cast<int>(i), schema, old_version);
          if (!m.ok()) throw detail::StateError(m);
          break;
        }
      }
      if (st.codec != schema.codec) {
        Status c = db_->SetStateCodec(db_->FindState(st.name), schema.codec);
        if (!c.ok()) throw detail::StateError(c.WithContext(Where()));
        st.codec = schema.codec;
      }
    }
    st.declared = true;
    return static_cast<int>(i);
  }
  auto added = db_->AddState(name, kind, schema.codec);
  if (!added.ok()) throw detail::StateError(Where() + ": " + added.status().ToString());
  states_.push_back(
      StateInfo{std::string(name), kind, db_->states()[*added].cf, true, schema.codec});
  return static_cast<int>(states_.size()) - 1;
}

void RocksDbKeyedStateBackend::DeclareKeyCodec(const std::string& identity) {
  if (restored_key_codec_.empty() && db_ != nullptr) (void)RestoredKeyCodec(db_->key_codec());
  KeyedStateBackend::DeclareKeyCodec(identity);
  // Incremental checkpoints carry the database itself: the record goes in it.
  if (db_ != nullptr && db_->key_codec() != identity) {
    Status s = db_->SetKeyCodec(identity);
    if (!s.ok()) throw detail::StateError(s.WithContext(Where()));
  }
}

bool RocksDbKeyedStateBackend::HoldsUndeclaredState(std::string_view name) {
  for (size_t i = 0; i < states_.size(); ++i) {
    const StateInfo& st = states_[i];
    if (st.name != name || st.declared) continue;
    const int state = static_cast<int>(i);
    // Restored changed values are in the cache (CacheRestoredValues); no other entries of an
    // undeclared state can be, as nothing has read it.
    bool cached_value = false;
    cache_.ForEachDirty([&](const StateWriteCache::Entry& e) {
      cached_value = cached_value || (e.state == state && e.present);
    });
    if (cached_value) return true;
    // Each state has a column family of its own: the first key its cached absence does not
    // hide tells.
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(rocksdb::ReadOptions(), st.cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view stored(it->key().data(), it->key().size());
      int kg = 0;
      std::string_view key, rest;
      if (!Cached(st) || !ParseStateKey(stored, &kg, &key, &rest)) return true;
      const StateWriteCache::Entry* e =
          cache_.Find(state, stored, CacheHash(detail::KeyHash(key), state));
      if (e == nullptr || e->present) return true;
    }
    if (!it->status().ok()) {
      throw detail::StateError(
          FromRocksDb(it->status(), Where() + ": reading restored state '" + st.name + "'"));
    }
    return false;
  }
  return false;
}

Status RocksDbKeyedStateBackend::MigrateState(int index, const detail::StateSchema& schema,
                                              int old_version) {
  const StateInfo& st = states_[static_cast<size_t>(index)];
  const std::string context = Where() + ": migrating state '" + st.name + "' from codec '" +
                              st.codec + "' to '" + schema.codec + "'";
  rocksdb::WriteBatch batch;
  std::string migrated;
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(rocksdb::ReadOptions(), st.cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view value(it->value().data(), it->value().size());
    migrated.clear();
    bool ok = st.kind == detail::StateKind::kList
                  ? MigrateStoredList(value, schema, old_version, &migrated)
                  : schema.migrate(old_version, value, &migrated);
    if (!ok) return Status::FailedPrecondition(context + ": a stored value does not decode");
    rocksdb::Status s = batch.Put(st.cf, it->key(), migrated);
    if (s.ok() && batch.GetDataSize() >= kRestoreBatchBytes) {
      s = db_->db()->Write(db_->write_options(), &batch);
      batch.Clear();
    }
    if (!s.ok()) return FromRocksDb(s, context);
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), context);
  rocksdb::Status s = db_->db()->Write(db_->write_options(), &batch);
  if (!s.ok()) return FromRocksDb(s, context);
  // And the restored changed values in the cache (CacheRestoredValues), which stay changed.
  // Values that grew are evicted for by the next write, which keeps the cache in its budget.
  bool malformed = false;
  cache_.ForEachDirty([&](StateWriteCache::Entry& e) {
    if (e.state != index || !e.present || malformed) return;
    migrated.clear();
    malformed = !schema.migrate(old_version, e.value, &migrated);
    if (!malformed) cache_.SetValue(&e, migrated);
  });
  if (malformed) return Status::FailedPrecondition(context + ": a stored value does not decode");
  spdlog::info("{}", context);
  return Status::OK();
}

const RocksDbKeyedStateBackend::StateInfo& RocksDbKeyedStateBackend::Access(int state) const {
  // Close() clears the current key, and SetCurrentKey refuses a closed backend: one check
  // covers both.
  if (!has_current_) [[unlikely]] {
    if (db_ == nullptr) {
      throw detail::StateError(Where() +
                               ": keyed state was accessed after the RocksDB state "
                               "backend was closed");
    }
    detail::ThrowNoCurrentKey(states_[static_cast<size_t>(state)].name);
  }
  return states_[static_cast<size_t>(state)];
}

void RocksDbKeyedStateBackend::ThrowAccessError(int state, std::string_view op,
                                                const rocksdb::Status& s) const {
  // State is accessed only from a user function, and the operator boundary names the operator
  // and subtask (RethrowAsOperatorError): saying it here too would say it twice.
  throw detail::StateError("RocksDB " + std::string(op) + " of state '" +
                           states_[static_cast<size_t>(state)].name + "' failed: " + s.ToString());
}

// In two steps a call apart: the table slots of these keys now, and the entries of the last
// call's keys, whose slots have arrived since. The keyed operator calls every 16 records with
// the 16 after the next 16: those next 16, about to be looked up, get their entries fetched.
void RocksDbKeyedStateBackend::PrefetchKeys(const uint64_t* hashes, size_t n) {
  for (int s = 0; s < static_cast<int>(states_.size()); ++s) {
    if (!Cached(states_[static_cast<size_t>(s)])) continue;
    for (uint64_t h : prefetched_) cache_.PrefetchEntry(CacheHash(h, s));
    for (size_t i = 0; i < n; ++i) cache_.PrefetchSlot(CacheHash(hashes[i], s));
  }
  prefetched_.assign(hashes, hashes + n);
}

// The two halves of every write-back: collecting the entries a cache operation writes back,
// then writing them in one batch (a failure throws, and the attempt fails).
auto RocksDbKeyedStateBackend::CollectWriteBack() {
  return [this](const StateWriteCache::Entry& e) {
    write_back_.push_back(WriteBack{e.state, &e});
  };
}
auto RocksDbKeyedStateBackend::CommitWriteBack() {
  return [this] {
    rocksdb::Status s = WriteBackSorted();
    const int state = write_back_.front().state;
    write_back_.clear();
    if (!s.ok()) ThrowAccessError(state, "write", s);
  };
}

StateWriteCache::Entry* RocksDbKeyedStateBackend::AddCacheEntry(int state) {
  return cache_.Insert(state, key_prefix_, CacheHash(state), CollectWriteBack(),
                       CommitWriteBack());
}

StateWriteCache::Entry* RocksDbKeyedStateBackend::CacheEntry(int state) {
  StateWriteCache::Entry* e = cache_.Find(state, key_prefix_, CacheHash(state));
  return e != nullptr ? e : AddCacheEntry(state);
}

void RocksDbKeyedStateBackend::MarkDirty(StateWriteCache::Entry* e) {
  cache_.MarkDirty(e);
  cache_.EvictIfOverBudget(CollectWriteBack(), CommitWriteBack());
}

void RocksDbKeyedStateBackend::SortWriteBack() {
  SortByKey(
      write_back_, [](const WriteBack& w) { return w.state; },
      [](const WriteBack& w) -> std::string_view { return w.entry->key; });
}

rocksdb::Status RocksDbKeyedStateBackend::WriteBackSorted() {
  // A memtable insert searches the skip list from the previous insert's position: in key
  // order each search is short, in the cache's order each is a walk from the top through a
  // million nodes that are not in the CPU cache (a third of the time with 1M keys).
  SortWriteBack();
  batch_.Clear();
  rocksdb::Status s;
  for (const WriteBack& w : write_back_) {
    rocksdb::ColumnFamilyHandle* cf = states_[static_cast<size_t>(w.state)].cf;
    const StateWriteCache::Entry& e = *w.entry;
    s = e.present ? batch_.Put(cf, e.key, e.value) : batch_.Delete(cf, e.key);
    if (!s.ok()) return s;
  }
  s = db_->db()->Write(db_->write_options(), &batch_);
  batch_.Clear();
  return s;
}

Status RocksDbKeyedStateBackend::WriteBackUnchanged() {
  write_back_.clear();
  cache_.ForEachDirty([&](const StateWriteCache::Entry& e) {
    if (!e.changed) write_back_.push_back(WriteBack{e.state, &e});
  });
  if (write_back_.empty()) return Status::OK();
  rocksdb::Status s = write_back_.size() >= kIngestAtLeast ? IngestSorted() : WriteBackSorted();
  write_back_.clear();
  if (!s.ok()) return FromRocksDb(s, Where() + ": writing cached state to RocksDB");
  cache_.CleanIf([](const StateWriteCache::Entry& e) { return !e.changed; });
  return Status::OK();
}

rocksdb::Status RocksDbKeyedStateBackend::IngestSorted() {
  // As many dirty entries as a million cost a memtable insert each, a search of a skip list
  // as large: written as one SST file per state in key order and handed to RocksDB whole,
  // they cost a sequential write each, and RocksDB then flushes no memtable of them.
  SortWriteBack();
  std::vector<rocksdb::IngestExternalFileArg> files;
  auto remove_files = [&] {
    std::error_code ignored;
    for (const auto& f : files) std::filesystem::remove(f.external_files.front(), ignored);
  };
  rocksdb::Status s;
  for (size_t i = 0; i < write_back_.size() && s.ok();) {
    const int state = write_back_[i].state;
    rocksdb::ColumnFamilyHandle* cf = states_[static_cast<size_t>(state)].cf;
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), db_->db()->GetOptions(cf), cf);
    rocksdb::IngestExternalFileArg& arg = files.emplace_back();
    arg.column_family = cf;
    arg.external_files.push_back(
        JoinPath(working_dir_, "write-back-" + std::to_string(next_ingest_++) + ".sst"));
    arg.options.move_files = true;
    s = writer.Open(arg.external_files.front());
    for (; i < write_back_.size() && write_back_[i].state == state && s.ok(); ++i) {
      const StateWriteCache::Entry& e = *write_back_[i].entry;
      s = e.present ? writer.Put(e.key, e.value) : writer.Delete(e.key);
    }
    if (s.ok()) s = writer.Finish();
  }
  if (s.ok()) s = db_->db()->IngestExternalFiles(files);
  remove_files();  // RocksDB linked them into the database
  return s;
}

Result<CachedWrites> RocksDbKeyedStateBackend::DirtyCacheEntries() const {
  const auto& columns = db_->states();
  std::vector<size_t> column_of(states_.size(), columns.size());
  for (size_t i = 0; i < states_.size(); ++i) {
    for (size_t c = 0; c < columns.size(); ++c) {
      if (columns[c].cf == states_[i].cf) column_of[i] = c;
    }
    if (column_of[i] == columns.size()) {
      return Status::Internal(Where() + ": state '" + states_[i].name +
                              "' has no column family in the RocksDB instance");
    }
  }
  // Sized first: grown as they fill, a million copies would be moved twenty times over, on
  // the task thread.
  CachedWrites cached;
  if (columns.size() == 1) {
    cached.push_back(snapshot_buffers_->TakeList(0, cache_.dirty_count()));
  } else {
    std::vector<size_t> counts(columns.size());
    cache_.ForEachDirty([&](const StateWriteCache::Entry& e) {
      ++counts[column_of[static_cast<size_t>(e.state)]];
    });
    for (size_t c = 0; c < columns.size(); ++c) {
      cached.push_back(snapshot_buffers_->TakeList(c, counts[c]));
    }
  }
  cache_.ForEachDirty([&](const StateWriteCache::Entry& e) {
    cached[column_of[static_cast<size_t>(e.state)]].Add(e.key, e.present, e.value);
  });
  return cached;
}

bool RocksDbKeyedStateBackend::Get(int state, std::string* value) {
  const StateInfo& st = Access(state);
  const bool cached = Cached(st);
  if (cached) {
    if (const StateWriteCache::Entry* e = cache_.Find(state, key_prefix_, CacheHash(state))) {
      if (e->present) value->assign(e->value);
      return e->present;
    }
  }
  rocksdb::Status s = db_->db()->Get(read_options_, st.cf, key_prefix_, value);
  if (!s.ok() && !s.IsNotFound()) ThrowAccessError(state, "read", s);
  if (cached) {
    StateWriteCache::Entry* e = AddCacheEntry(state);  // clean, "no value"
    if (s.ok()) {
      cache_.SetValue(e, *value);
      cache_.EvictIfOverBudget(CollectWriteBack(), CommitWriteBack());
    }
  }
  return s.ok();
}

// DB::Put and friends build a WriteBatch per call (a heap allocation); a reused one keeps its
// buffer.
void RocksDbKeyedStateBackend::Write(int state, std::string_view op) {
  rocksdb::Status s = db_->db()->Write(db_->write_options(), &batch_);
  if (!s.ok()) ThrowAccessError(state, op, s);
}

void RocksDbKeyedStateBackend::Put(int state, std::string_view value) {
  const StateInfo& st = Access(state);
  if (Cached(st)) {
    StateWriteCache::Entry* e = CacheEntry(state);
    cache_.SetValue(e, value);
    MarkDirty(e);
    return;
  }
  batch_.Clear();
  rocksdb::Status s = batch_.Put(st.cf, key_prefix_, rocksdb::Slice(value.data(), value.size()));
  if (!s.ok()) ThrowAccessError(state, "write", s);
  Write(state, "write");
}

void RocksDbKeyedStateBackend::Delete(int state) {
  const StateInfo& st = Access(state);
  if (Cached(st)) {
    StateWriteCache::Entry* e = CacheEntry(state);
    e->present = false;
    MarkDirty(e);
    return;
  }
  batch_.Clear();
  rocksdb::Status s = batch_.Delete(st.cf, key_prefix_);
  if (!s.ok()) ThrowAccessError(state, "delete", s);
  Write(state, "delete");
}

void RocksDbKeyedStateBackend::Append(int state, std::string_view length_prefixed_element) {
  const StateInfo& st = Access(state);
  batch_.Clear();
  rocksdb::Status s =
      batch_.Merge(st.cf, key_prefix_,
                   rocksdb::Slice(length_prefixed_element.data(), length_prefixed_element.size()));
  if (!s.ok()) ThrowAccessError(state, "merge", s);
  Write(state, "merge");
}

bool RocksDbKeyedStateBackend::GetEntry(int state, std::string_view user_key, std::string* value) {
  const StateInfo& st = Access(state);
  entry_key_.assign(key_prefix_);
  entry_key_.append(user_key.data(), user_key.size());
  rocksdb::Status s = db_->db()->Get(read_options_, st.cf, entry_key_, value);
  if (s.ok()) return true;
  if (s.IsNotFound()) return false;
  ThrowAccessError(state, "read", s);
}

void RocksDbKeyedStateBackend::PutEntry(int state, std::string_view user_key,
                                        std::string_view value) {
  const StateInfo& st = Access(state);
  entry_key_.assign(key_prefix_);
  entry_key_.append(user_key.data(), user_key.size());
  batch_.Clear();
  rocksdb::Status s = batch_.Put(st.cf, entry_key_, rocksdb::Slice(value.data(), value.size()));
  if (!s.ok()) ThrowAccessError(state, "write", s);
  Write(state, "write");
}

void RocksDbKeyedStateBackend::DeleteEntry(int state, std::string_view user_key) {
  const StateInfo& st = Access(state);
  entry_key_.assign(key_prefix_);
  entry_key_.append(user_key.data(), user_key.size());
  batch_.Clear();
  rocksdb::Status s = batch_.Delete(st.cf, entry_key_);
  if (!s.ok()) ThrowAccessError(state, "delete", s);
  Write(state, "delete");
}

void RocksDbKeyedStateBackend::ForEachEntry(
    int state, const std::function<void(std::string_view, std::string_view)>& fn) {
  const StateInfo& st = Access(state);
  PrefixSuccessor(key_prefix_, &upper_bound_);
  rocksdb::Slice upper(upper_bound_);
  rocksdb::ReadOptions ro = read_options_;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, st.cf));
  const size_t prefix = key_prefix_.size();
  for (it->Seek(key_prefix_); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    rocksdb::Slice v = it->value();
    fn(std::string_view(k.data() + prefix, k.size() - prefix),
       std::string_view(v.data(), v.size()));
  }
  if (!it->status().ok()) ThrowAccessError(state, "scan", it->status());
}

void RocksDbKeyedStateBackend::DeleteAllEntries(int state) {
  const StateInfo& st = Access(state);
  PrefixSuccessor(key_prefix_, &upper_bound_);
  rocksdb::Status s =
      db_->db()->DeleteRange(db_->write_options(), st.cf, key_prefix_, upper_bound_);
  if (!s.ok()) ThrowAccessError(state, "range delete", s);
}

// ---- Snapshots ------------------------------------------------------------------------------

Result<std::unique_ptr<KeyedSnapshot>> RocksDbKeyedStateBackend::Snapshot(int64_t checkpoint_id,
                                                                          bool savepoint) {
  if (db_ == nullptr) {
    return Status::FailedPrecondition(Where() + ": the RocksDB state backend is closed");
  }
  const KeyGroupRange range = options_.key_groups;
  TimersByGroup timers(static_cast<size_t>(range.size()));
  timers_.ForEach([&](TimeDomain domain, int64_t ts, const std::string& key) {
    int kg = detail::KeyGroupForHash(Hash64(key), options_.max_parallelism);
    if (range.Contains(kg))
      timers[static_cast<size_t>(kg - range.start)].push_back(TimerEntry{domain, ts, key});
  });
  std::string prefix =
      SanitizeForFileName(options_.operator_uid) + "-" + std::to_string(options_.subtask);

  if (savepoint) shared_files_->BeginSavepoint(checkpoint_id);
  if (!resources_->tuning.incremental || savepoint) {
    // The write cache's dirty values go into the snapshot as copies, sorted and merged with
    // RocksDB's on the snapshot thread: writing them back here would stop the task for a
    // memtable insert each (about 400 ms for 131,072 of them among a million keys). They stay
    // dirty, for an eviction to write.
    WEIR_ASSIGN_OR_RETURN(CachedWrites cached, DirtyCacheEntries());
    const rocksdb::Snapshot* snap = db_->db()->GetSnapshot();
    return std::unique_ptr<KeyedSnapshot>(std::make_unique<FullRocksDbSnapshot>(
        db_, snap, db_->states(), std::move(cached), snapshot_buffers_, std::move(timers), range,
        prefix + ".keyed", key_codec()));
  }
  // An incremental snapshot is RocksDB's files (hard links) and the write cache's values
  // that changed since the last one, as copies the snapshot thread writes packed in files of
  // their own. Writing those into RocksDB here would stop the task
  // for each; the dirty entries that did not change since are written now instead (they
  // went into an earlier checkpoint's copies), so that the copies stay what changed.
  WEIR_RETURN_IF_ERROR(WriteBackUnchanged());
  WEIR_ASSIGN_OR_RETURN(CachedWrites changed, DirtyCacheEntries());
  cache_.ForEachDirty([](StateWriteCache::Entry& e) { e.changed = false; });

  std::string local = JoinPath(working_dir_, "checkpoint-" + std::to_string(checkpoint_id));
  (void)FileSystem::Default()->DeleteDirRecursive(local);  // left by an abandoned attempt
  rocksdb::Checkpoint* raw_checkpoint = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_->db(), &raw_checkpoint);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw_checkpoint);
  // Flushes the memtables (the write-ahead log is off), then hard-links the SST files.
  if (s.ok()) s = checkpoint->CreateCheckpoint(local, /*log_size_for_flush=*/0);
  if (!s.ok()) {
    (void)FileSystem::Default()->DeleteDirRecursive(local);
    return FromRocksDb(s, Where() + ": creating a RocksDB checkpoint in '" + local + "'");
  }
  IncrementalRocksDbSnapshot::Params p;
  p.db = db_;
  p.shared_files = shared_files_;
  p.checkpoint_id = checkpoint_id;
  p.local_dir = std::move(local);
  p.reusable = shared_files_->BeginCheckpoint(checkpoint_id);
  p.timers = std::move(timers);
  p.changed = std::move(changed);
  p.buffers = snapshot_buffers_;
  p.columns = db_->states();
  p.range = range;
  p.file_prefix = std::move(prefix);
  p.backend_id = backend_id_;
  return std::unique_ptr<KeyedSnapshot>(std::make_unique<IncrementalRocksDbSnapshot>(std::move(p)));
}

void RocksDbKeyedStateBackend::NotifyCheckpointComplete(int64_t checkpoint_id) {
  shared_files_->Completed(checkpoint_id);
}

void RocksDbKeyedStateBackend::NotifyCheckpointAborted(int64_t checkpoint_id) {
  shared_files_->Aborted(checkpoint_id);
}

// ---- Restore --------------------------------------------------------------------------------

Status RocksDbKeyedStateBackend::Restore(const std::vector<KeyedRestoreSource>& sources) {
  if (db_ == nullptr) {
    return Status::FailedPrecondition(RestoreContext() + ": the backend is closed");
  }
  if (!states_.empty()) {
    return Status::FailedPrecondition(RestoreContext() + ": state was declared before restoring");
  }
  // RocksDB's own files, which the hashmap backend's are not.
  auto rocksdb_native = [](const KeyedRestoreSource& src) {
    return !src.handle->native_files.empty() &&
           src.handle->backend_id != kHeapIncrementalBackendId;
  };
  Status s;
  if (sources.size() == 1 && rocksdb_native(sources[0]) &&
      sources[0].handle->key_groups == options_.key_groups) {
    s = RestoreNativeInPlace(sources[0]);
    if (s.ok() && sources[0].handle->canonical) s = RestoreCanonical(sources[0]);
  } else {
    for (size_t i = 0; i < sources.size() && s.ok(); ++i) {
      if (sources[i].handle->backend_id == kHeapIncrementalBackendId) {
        s = RestoreHeapNative(sources[i]);
      } else if (rocksdb_native(sources[i])) {
        s = RestoreNativeRescaled(sources[i], static_cast<int>(i));
      }
      if (s.ok() && sources[i].handle->canonical) s = RestoreCanonical(sources[i]);
    }
  }
  if (!s.ok()) return s.WithContext(RestoreContext());
  return Status::OK();
}

Status RocksDbKeyedStateBackend::CheckMaxParallelism(int recorded) const {
  if (recorded == 0 || recorded == options_.max_parallelism) return Status::OK();
  return Status::Corruption("the state was written with pipeline.max-parallelism " +
                            std::to_string(recorded) + " and the job now has " +
                            std::to_string(options_.max_parallelism) +
                            ": the max parallelism of a job with keyed state cannot change");
}

Status RocksDbKeyedStateBackend::Download(const KeyedRestoreSource& source,
                                          const std::string& db_path) const {
  WEIR_RETURN_IF_ERROR(FileSystem::Default()->CreateDirs(db_path));
  for (const StateFile& f : source.handle->native_files) {
    if (!IsPlainFileName(f.local_name)) {
      return Status::Corruption("native state file '" + source.location->Absolute(f) +
                                "' has no valid local name ('" + f.local_name + "')");
    }
    WEIR_RETURN_IF_ERROR(DownloadVerified(*source.location, f, JoinPath(db_path, f.local_name)));
  }
  return Status::OK();
}

Status RocksDbKeyedStateBackend::RestoreNativeInPlace(const KeyedRestoreSource& source) {
  // Download next to the empty database, and switch only once the restored one is open.
  std::string path = NextDbPath();
  Status s = Download(source, path);
  if (!s.ok()) {
    (void)FileSystem::Default()->DeleteDirRecursive(path);
    return s;
  }
  auto restored = RocksDbInstance::Open(path, resources_, dir_);
  RestoredChangedValues changed;
  if (restored.ok()) {
    auto read = ReadChangedValues(**restored, path);
    Status ingested = read.status();
    if (read.ok()) {
      changed = std::move(*read);
      ingested = IngestChangedValues(**restored, path, TakeUncached(changed, options_.key_groups));
    }
    if (!ingested.ok()) restored = ingested;
  }
  if (!restored.ok()) {
    (void)FileSystem::Default()->DeleteDirRecursive(path);
    return restored.status();
  }
  WEIR_RETURN_IF_ERROR((*restored)->max_parallelism() == 0
                           ? (*restored)->SetMaxParallelism(options_.max_parallelism)
                           : CheckMaxParallelism((*restored)->max_parallelism()));
  std::string empty_path = db_->path();
  db_ = std::move(*restored);
  (void)FileSystem::Default()->DeleteDirRecursive(empty_path);
  for (const auto& st : db_->states()) {
    states_.push_back(StateInfo{st.name, st.kind, st.cf, false, st.codec});
  }
  WEIR_RETURN_IF_ERROR(RestoredKeyCodec(db_->key_codec()));
  WEIR_RETURN_IF_ERROR(CacheRestoredValues(changed, options_.key_groups));
  // The SSTs already in shared storage need not be uploaded again.
  SharedStateFiles::FileMap files;
  for (const StateFile& f : source.handle->native_files) {
    if (f.local_name.ends_with(".sst") && f.path.starts_with("shared/"))
      files.emplace(f.local_name, f);
  }
  shared_files_->Seed(std::move(files));
  return Status::OK();
}

Result<int> RocksDbKeyedStateBackend::StateForRestore(const std::string& name,
                                                      detail::StateKind kind,
                                                      const std::string& codec) {
  for (size_t i = 0; i < states_.size(); ++i) {
    if (states_[i].name != name) continue;
    if (states_[i].kind != kind || states_[i].codec != codec) {
      return Status::Corruption("state '" + name +
                                "' has different kinds or codecs in different checkpoint files");
    }
    return static_cast<int>(i);
  }
  WEIR_ASSIGN_OR_RETURN(int idx, db_->AddState(name, kind, codec));
  states_.push_back(
      StateInfo{name, kind, db_->states()[static_cast<size_t>(idx)].cf, false, codec});
  return static_cast<int>(states_.size()) - 1;
}

Status RocksDbKeyedStateBackend::RestoreNativeRescaled(const KeyedRestoreSource& source,
                                                       int index) {
  KeyGroupRange wanted = options_.key_groups.Intersect(source.handle->key_groups);
  if (wanted.empty()) return Status::OK();
  auto dir =
      std::make_shared<ScopedDirectory>(JoinPath(working_dir_, "restore-" + std::to_string(index)));
  std::string path = JoinPath(dir->path(), "db");
  WEIR_RETURN_IF_ERROR(Download(source, path));
  WEIR_ASSIGN_OR_RETURN(std::shared_ptr<RocksDbInstance> from,
                        RocksDbInstance::Open(path, resources_, dir));
  WEIR_ASSIGN_OR_RETURN(RestoredChangedValues changed, ReadChangedValues(*from, path));
  WEIR_RETURN_IF_ERROR(IngestChangedValues(*from, path, TakeUncached(changed, wanted)));
  WEIR_RETURN_IF_ERROR(CheckMaxParallelism(from->max_parallelism()));

  rocksdb::WriteBatch batch;
  auto flush = [&]() -> Status {
    if (batch.Count() == 0) return Status::OK();
    rocksdb::Status s = db_->db()->Write(db_->write_options(), &batch);
    batch.Clear();
    return s.ok() ? Status::OK()
                  : FromRocksDb(s, "writing restored state to '" + db_->path() + "'");
  };
  const std::string start = KeyGroupStart(wanted.start);
  const std::string end = KeyGroupStart(wanted.end + 1);
  WEIR_RETURN_IF_ERROR(RestoredKeyCodec(from->key_codec()));
  for (const auto& st : from->states()) {
    WEIR_ASSIGN_OR_RETURN(int idx, StateForRestore(st.name, st.kind, st.codec));
    rocksdb::ColumnFamilyHandle* cf = states_[static_cast<size_t>(idx)].cf;
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(from->db()->NewIterator(ro, st.cf));
    for (it->Seek(start); it->Valid(); it->Next()) {
      rocksdb::Status s = batch.Put(cf, it->key(), it->value());
      if (!s.ok()) return FromRocksDb(s, "restoring state '" + st.name + "'");
      if (batch.GetDataSize() >= kRestoreBatchBytes) WEIR_RETURN_IF_ERROR(flush());
    }
    if (!it->status().ok()) {
      return FromRocksDb(it->status(), "reading restored RocksDB '" + path + "'");
    }
  }
  WEIR_RETURN_IF_ERROR(flush());
  // Over the values just written from RocksDB, as they were over the checkpoint's.
  return CacheRestoredValues(changed, wanted);
}

RestoredChangedValues RocksDbKeyedStateBackend::TakeUncached(RestoredChangedValues& changed,
                                                            KeyGroupRange range) const {
  RestoredChangedValues uncached;
  uncached.sst = std::exchange(changed.sst, {});
  size_t entries = 0;
  size_t long_bytes = 0;
  bool cacheable = true;
  for (const RestoredChangedValues::Packed& p : changed.packed) {
    const auto kind = p.column.kind;
    cacheable = cacheable && (kind == detail::StateKind::kValue ||
                              kind == detail::StateKind::kReducing);
    for (size_t i = 0; i < p.writes.size(); ++i) {
      const CachedWrite w = p.writes[i];
      int kg = 0;
      std::string_view key, rest;
      if (ParseStateKey(w.key, &kg, &key, &rest) && !range.Contains(kg)) continue;
      ++entries;
      long_bytes += StateWriteCache::LongBytes(w.key) + StateWriteCache::LongBytes(w.value);
    }
  }
  if (!cacheable || !cache_.HasRoomFor(entries, long_bytes)) {
    uncached.packed = std::exchange(changed.packed, {});
  }
  return uncached;
}

Status RocksDbKeyedStateBackend::CacheRestoredValues(const RestoredChangedValues& changed,
                                                     KeyGroupRange range) {
  for (const RestoredChangedValues::Packed& p : changed.packed) {
    WEIR_ASSIGN_OR_RETURN(int state, StateForRestore(p.column.name, p.column.kind, p.column.codec));
    // The hashes first, so that the table slots and entries of the keys a few ahead can be
    // fetched while one is added: each is a miss in the CPU's caches, a million of them most
    // of a restore's time.
    struct Wanted {
      size_t index;  // in p.writes
      uint64_t hash;
    };
    std::vector<Wanted> wanted;
    wanted.reserve(p.writes.size());
    for (size_t i = 0; i < p.writes.size(); ++i) {
      int kg = 0;
      std::string_view key, rest;
      // Checked by ReadChangedValues.
      if (ParseStateKey(p.writes[i].key, &kg, &key, &rest) && range.Contains(kg)) {
        wanted.push_back({i, CacheHash(detail::KeyHash(key), state)});
      }
    }
    constexpr size_t kSlotsAhead = 16;
    constexpr size_t kEntriesAhead = 8;
    for (size_t j = 0; j < wanted.size(); ++j) {
      if (j + kSlotsAhead < wanted.size()) cache_.PrefetchSlot(wanted[j + kSlotsAhead].hash);
      if (j + kEntriesAhead < wanted.size()) cache_.PrefetchEntry(wanted[j + kEntriesAhead].hash);
      const uint64_t hash = wanted[j].hash;
      const CachedWrite w = p.writes[wanted[j].index];
      if (cache_.Find(state, w.key, hash) != nullptr) {
        return Status::Corruption("restored RocksDB state file '" + p.path +
                                  "' holds a key twice, of state '" + p.column.name + "'");
      }
      StateWriteCache::Entry* e = cache_.AddIfRoom(state, w.key, hash);
      if (e == nullptr) {
        return Status::Internal("no room in the write cache for the values of '" + p.path +
                                "' after it was found to have some");
      }
      if (w.present) cache_.SetValue(e, w.value);
      cache_.MarkDirty(e);
    }
  }
  return Status::OK();
}

bool RocksDbKeyedStateBackend::CacheRestoredValue(int state, std::string_view key, uint64_t hash,
                                                  std::string_view value) {
  StateWriteCache::Entry* e = cache_.Find(state, key, hash);
  if (e == nullptr) {
    if (!cache_.HasRoomFor(1, StateWriteCache::LongBytes(key) + StateWriteCache::LongBytes(value))) {
      return false;
    }
    e = cache_.AddIfRoom(state, key, hash);
  }
  cache_.SetValue(e, value);
  cache_.MarkDirty(e);
  return true;
}

Status RocksDbKeyedStateBackend::RestoreCanonical(const KeyedRestoreSource& source) {
  const StateFile& file = *source.handle->canonical;
  WEIR_ASSIGN_OR_RETURN(std::string data, source.location->ReadVerified(file));
  const std::string name = source.location->Absolute(file);
  WEIR_ASSIGN_OR_RETURN(auto reader, KeyedSnapshotReader::Open(std::move(data), name));
  return RestoreEntries(reader, name);
}

Status RocksDbKeyedStateBackend::RestoreHeapNative(const KeyedRestoreSource& source) {
  WEIR_ASSIGN_OR_RETURN(auto reader, OpenHeapIncremental(*source.handle, *source.location));
  // OpenHeapIncremental checked that the second file is the value file.
  return RestoreEntries(reader, source.location->Absolute(source.handle->native_files[1]));
}

// `reader` passes views into bytes it owns (KeyedSnapshotReader, HeapIncrementalReader), not
// into a scratch buffer: values wait in a window after their ForEach call returns.
template <typename Reader>
Status RocksDbKeyedStateBackend::RestoreEntries(const Reader& reader, const std::string& file) {
  WEIR_RETURN_IF_ERROR(RestoredKeyCodec(reader.key_codec()));
  std::vector<int> index;
  for (const StateMeta& m : reader.states()) {
    WEIR_ASSIGN_OR_RETURN(int idx, StateForRestore(m.name, m.kind, m.codec));
    index.push_back(idx);
  }
  rocksdb::WriteBatch batch;
  std::string key;
  auto put_key = [&](rocksdb::ColumnFamilyHandle* cf, std::string_view k,
                     std::string_view v) -> Status {
    rocksdb::Status s = batch.Put(cf, rocksdb::Slice(k.data(), k.size()),
                                  rocksdb::Slice(v.data(), v.size()));
    if (!s.ok()) return FromRocksDb(s, "restoring state");
    if (batch.GetDataSize() < kRestoreBatchBytes) return Status::OK();
    s = db_->db()->Write(db_->write_options(), &batch);
    batch.Clear();
    return s.ok() ? Status::OK()
                  : FromRocksDb(s, "writing restored state to '" + db_->path() + "'");
  };
  auto put = [&](rocksdb::ColumnFamilyHandle* cf, std::string_view v) {
    return put_key(cf, key, v);
  };
  // Values for the write cache wait in a window of 16 while their cache slots load: keys come
  // in key-group order, their slots in hash order. A file holds each key once, so the order
  // they reach the cache in, and RocksDB when it is full, does not matter.
  struct Cacheable {
    int state;
    rocksdb::ColumnFamilyHandle* cf;
    uint64_t hash;
    std::string key;         // the stored key, a buffer reused entry after entry
    std::string_view value;  // a view into the reader's bytes, alive until it returns
  };
  constexpr size_t kWindow = 16;
  std::array<Cacheable, kWindow> window;
  size_t next = 0, waiting = 0;
  auto settle = [&](const Cacheable& c) -> Status {
    if (CacheRestoredValue(c.state, c.key, c.hash, c.value)) return Status::OK();
    return put_key(c.cf, c.key, c.value);
  };
  auto malformed = [&](const StateInfo& st, int kg) {
    return Status::Corruption("keyed state file '" + file + "': a " +
                              std::string(detail::StateKindName(st.kind)) + " value of state '" +
                              st.name + "' in key group " + std::to_string(kg) + " is malformed");
  };
  Status s = reader.ForEach(
      options_.key_groups,
      [&](size_t state, int kg, std::string_view k, std::string_view value) -> Status {
        const StateInfo& st = states_[static_cast<size_t>(index[state])];
        WEIR_RETURN_IF_ERROR(CheckKeyGroupOfKey(k, kg, options_.max_parallelism, file,
                                                "a key of state '" + st.name + "'"));
        key.clear();
        AppendStateKeyPrefix(kg, k, &key);
        switch (st.kind) {
          case detail::StateKind::kValue:
          case detail::StateKind::kReducing: {
            if (!Cached(st)) return put(st.cf, value);
            const uint64_t hash = CacheHash(detail::KeyHash(k), index[state]);
            cache_.PrefetchSlot(hash);
            if (waiting == kWindow) {
              WEIR_RETURN_IF_ERROR(settle(window[next]));  // the oldest
            } else {
              ++waiting;
            }
            Cacheable& c = window[next];
            next = (next + 1) % kWindow;
            c.state = index[state];
            c.cf = st.cf;
            c.hash = hash;
            c.key.assign(key);
            c.value = value;
            return Status::OK();
          }
          case detail::StateKind::kList: {
            BufferReader r(value);
            uint64_t n;
            if (!r.GetVarint64(&n) || CountListElements(r.rest()) != static_cast<int64_t>(n)) {
              return malformed(st, kg);
            }
            return n == 0 ? Status::OK() : put(st.cf, r.rest());
          }
          case detail::StateKind::kMap: {
            BufferReader r(value);
            uint64_t n;
            if (!r.GetVarint64(&n)) return malformed(st, kg);
            const size_t prefix = key.size();
            for (uint64_t i = 0; i < n; ++i) {
              std::string_view uk, v;
              if (!r.GetLengthPrefixed(&uk) || !r.GetLengthPrefixed(&v)) return malformed(st, kg);
              key.resize(prefix);
              key.append(uk.data(), uk.size());
              WEIR_RETURN_IF_ERROR(put(st.cf, v));
            }
            return r.empty() ? Status::OK() : malformed(st, kg);
          }
        }
        return malformed(st, kg);
      },
      [&](int kg, TimeDomain domain, int64_t ts, std::string_view k) -> Status {
        WEIR_RETURN_IF_ERROR(
            CheckKeyGroupOfKey(k, kg, options_.max_parallelism, file, "a timer"));
        timers_.Add(domain, ts, k);
        return Status::OK();
      });
  WEIR_RETURN_IF_ERROR(s);
  for (size_t i = kWindow - waiting; i < kWindow; ++i) {
    WEIR_RETURN_IF_ERROR(settle(window[(next + i) % kWindow]));
  }
  if (batch.Count() > 0) {
    rocksdb::Status ws = db_->db()->Write(db_->write_options(), &batch);
    if (!ws.ok()) return FromRocksDb(ws, "writing restored state to '" + db_->path() + "'");
  }
  return Status::OK();
}

}  // namespace weir
