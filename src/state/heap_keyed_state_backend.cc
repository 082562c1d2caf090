#include "state/heap_keyed_state_backend.h"

#include <algorithm>
#include <array>
#include <atomic>

#include "base/hash.h"
#include "base/logging.h"
#include "base/random.h"
#include "state/heap_incremental_format.h"
#include "state/keyed_snapshot_format.h"
#include "state/state_backend_options.h"
#include "state/state_schema.h"

namespace weir {
namespace {

constexpr size_t kFlushBytes = 1 << 20;
constexpr size_t kKeysAhead = 32;  // 1.5 KiB of keys: a few entries' worth of time ahead
// A full snapshot visits the keys in blocks: each state appends a block's entries in one call.
constexpr size_t kKeyBlock = 256;

// What the task thread captured at the barrier: frozen views of the keys and of every
// table, a copy of the timers and of restored state not declared again. Encoding and writing
// happen in Write(), on a snapshot thread, while the task goes on.
class HeapKeyedSnapshot final : public KeyedSnapshot {
 public:
  struct Pending {
    std::string name;
    detail::StateKind kind;
    std::string codec;
    std::vector<std::pair<detail::KeyId, std::string_view>> values;  // sorted by key id
    std::vector<std::shared_ptr<const std::string>> data;            // what they point into
  };

  HeapKeyedSnapshot(
      KeyTable::Frozen keys, std::string key_codec,
      std::vector<std::pair<StateMeta, std::unique_ptr<detail::HeapStateTable::Frozen>>> tables,
      std::vector<Pending> pending, std::vector<TimerEntry> timers,
      KeyGroupRange range, int max_parallelism, std::string file_name,
      std::shared_ptr<std::atomic<size_t>> previous_bytes)
      : keys_(std::move(keys)),
        key_codec_(std::move(key_codec)),
        tables_(std::move(tables)),
        pending_(std::move(pending)),
        timers_(std::move(timers)),
        range_(range),
        max_parallelism_(max_parallelism),
        file_name_(std::move(file_name)),
        previous_bytes_(std::move(previous_bytes)) {}

  // Drops a snapshot's frozen views once it has read them: while one is alive, the task
  // thread copies every chunk it writes (CowVector).
  static void ReleaseFrozen(
      KeyTable::Frozen& keys,
      std::vector<std::pair<StateMeta, std::unique_ptr<detail::HeapStateTable::Frozen>>>& tables) {
    keys = KeyTable::Frozen();
    for (auto& [meta, table] : tables) table.reset();
  }

  Result<KeyedStateHandle> Write(const SnapshotLocation& location) override {
    std::vector<StateMeta> metas;
    for (const auto& [meta, table] : tables_) metas.push_back(meta);
    for (const Pending& p : pending_) metas.push_back(StateMeta{p.name, p.kind, p.codec});

    // One pass over the keys in id order (memory order, so the caches help), appending each
    // entry to the section of its key group and state; the file is then written section by
    // section in key-group order.
    const size_t groups = static_cast<size_t>(range_.size());
    const size_t states = metas.size();
    std::vector<detail::SnapshotSection> sections(groups * states);
    // Sized from the previous snapshot (hashing spreads keys evenly over the groups), so the
    // sections do not grow by copying themselves over and over.
    if (size_t previous = previous_bytes_->load(std::memory_order_relaxed); previous > 0) {
      for (auto& s : sections) s.Reserve(previous / sections.size() * 9 / 8);
    }
    std::vector<detail::SnapshotKey> block;
    block.reserve(kKeyBlock);
    for (size_t id = 0; id < keys_.size();) {
      block.clear();
      for (const size_t end = std::min(keys_.size(), id + kKeyBlock); id < end; ++id) {
        // Read in order, but the hardware does not fetch far enough ahead on its own.
        if (id + kKeysAhead < keys_.size()) __builtin_prefetch(&keys_[id + kKeysAhead]);
        const auto& k = keys_[id];
        if (!k.live()) continue;
        block.push_back({static_cast<detail::KeyId>(id), k.bytes(),
                         &sections[static_cast<size_t>(k.key_group() - range_.start) * states]});
      }
      for (size_t t = 0; t < tables_.size(); ++t) tables_[t].second->AppendEntries(block, t);
      for (size_t p = 0; p < pending_.size(); ++p) {
        const auto& values = pending_[p].values;
        for (const detail::SnapshotKey& k : block) {
          auto v = std::lower_bound(
              values.begin(), values.end(), k.id,
              [](const auto& e, detail::KeyId id) { return e.first < id; });
          if (v != values.end() && v->first == k.id) {
            k.sections[tables_.size() + p].Add(k.key, v->second);
          }
        }
      }
    }
    // The sections hold copies: let the task thread write the frozen chunks in place again.
    ReleaseFrozen(keys_, tables_);
    std::vector<std::vector<const TimerEntry*>> timers_by_group(groups);
    for (const auto& t : timers_) {
      int kg = detail::KeyGroupForHash(Hash64(t.key), max_parallelism_);
      if (range_.Contains(kg))
        timers_by_group[static_cast<size_t>(kg - range_.start)].push_back(&t);
    }

    WEIR_ASSIGN_OR_RETURN(auto file, location.CreateExclusiveFile(file_name_));
    std::string buf;
    KeyedSnapshotWriter writer(&buf, metas, range_, key_codec_, &file->checksum());
    for (int kg = range_.start; kg <= range_.end; ++kg) {
      size_t g = static_cast<size_t>(kg - range_.start);
      writer.BeginKeyGroup(kg);
      for (size_t st = 0; st < states; ++st) {
        detail::SnapshotSection& section = sections[g * states + st];
        if (section.bytes().size() < kFlushBytes / 16) {
          writer.AddEncodedState(section.count(), section.bytes());
        } else {
          // Large: straight to the file, not copied into the buffer first.
          writer.BeginState(section.count());
          WEIR_RETURN_IF_ERROR(file->Append(buf));
          WEIR_RETURN_IF_ERROR(file->Append(section.bytes()));
          writer.MarkFlushed(section.bytes());
        }
        section = detail::SnapshotSection();
      }
      writer.BeginTimers(timers_by_group[g].size());
      for (const auto* t : timers_by_group[g]) writer.AddTimer(t->domain, t->timestamp, t->key);
      if (buf.size() >= kFlushBytes) {
        WEIR_RETURN_IF_ERROR(file->Append(buf));
        writer.MarkFlushed();
      }
    }
    writer.Finish();
    WEIR_RETURN_IF_ERROR(file->Append(buf));
    previous_bytes_->store(file->size(), std::memory_order_relaxed);
    WEIR_ASSIGN_OR_RETURN(StateFile state_file, file->Finish());
    KeyedStateHandle handle;
    handle.key_groups = range_;
    handle.canonical = std::move(state_file);
    return handle;
  }

 private:
  KeyTable::Frozen keys_;
  std::string key_codec_;
  std::vector<std::pair<StateMeta, std::unique_ptr<detail::HeapStateTable::Frozen>>> tables_;
  std::vector<Pending> pending_;
  std::vector<TimerEntry> timers_;
  KeyGroupRange range_;
  int max_parallelism_;
  std::string file_name_;
  // The size of the backend's last snapshot file, shared with the next one's Write.
  std::shared_ptr<std::atomic<size_t>> previous_bytes_;
};

// A checkpoint in the backend's own format (heap_incremental_format.h): a key file and every
// state's values by key id. Read in id order and written in order, it costs the snapshot
// thread about half of what the canonical format's scatter into key groups does (BENCH.md,
// "Heap checkpoints in the backend's own format"). If the keys have not changed since the
// last completed checkpoint (`reused_keys`), an incremental checkpoint refers to its key file
// and a full one hard-links it among its own files; else the key file is written, under
// shared/ for an incremental checkpoint.
class HeapNativeSnapshot final : public KeyedSnapshot {
 public:
  struct Params {
    KeyTable::Frozen keys;
    std::string key_codec;
    std::vector<std::pair<StateMeta, std::unique_ptr<detail::HeapStateTable::Frozen>>> tables;
    std::vector<HeapKeyedSnapshot::Pending> pending;
    std::vector<TimerEntry> timers;
    KeyGroupRange range;
    int max_parallelism = 0;
    int64_t checkpoint_id = 0;
    std::string file_prefix;  // "<operator uid>-<subtask>"
    // The key file's local name, "keys-<backend instance>-<key table version>", and its name
    // in SharedStateFiles.
    std::string key_name;
    std::optional<StateFile> reused_keys;
    std::shared_ptr<SharedStateFiles> shared_files;
    bool incremental = false;
  };

  explicit HeapNativeSnapshot(Params p) : p_(std::move(p)) {}

  Result<KeyedStateHandle> Write(const SnapshotLocation& location) override {
    // Both files are encoded before either is synced, and the frozen views let go of right
    // after: while a view is alive the task copies every chunk it writes to.
    const size_t id_count = p_.keys.size();
    StateFile keys;
    std::unique_ptr<StateFileWriter> key_file;
    bool have_keys = false;
    if (p_.reused_keys && p_.incremental) {
      keys = *p_.reused_keys;
      have_keys = true;
    } else if (p_.reused_keys) {
      // A full checkpoint stands alone: the same key file, linked. Where that fails (a file
      // system without hard links, the earlier checkpoint deleted), it is written again.
      auto linked = location.LinkExclusiveFile(*p_.reused_keys, p_.file_prefix + ".keys");
      if (linked.ok()) keys = std::move(*linked);
      have_keys = linked.ok();
    }
    if (!have_keys) {
      if (!p_.incremental) {
        WEIR_ASSIGN_OR_RETURN(key_file, location.CreateExclusiveFile(p_.file_prefix + ".keys"));
      } else {
        WEIR_ASSIGN_OR_RETURN(key_file, location.CreateSharedFile(SharedStateFileName(
                                            p_.checkpoint_id, p_.file_prefix + ".keys")));
      }
      WEIR_RETURN_IF_ERROR(WriteHeapKeyFile(p_.keys, key_file.get()));
      keys.checksum = key_file->checksum().Digest();  // what Finish will record
    }
    p_.keys = KeyTable::Frozen();

    std::vector<HeapValueColumn> columns;
    for (auto& [meta, table] : p_.tables) {
      columns.push_back({meta, [t = table.get()](detail::KeyId b, detail::KeyId e,
                                                 detail::SnapshotSection* out) {
                           t->AppendValues(b, e, out);
                         }});
    }
    for (const HeapKeyedSnapshot::Pending& pending : p_.pending) {
      columns.push_back({StateMeta{pending.name, pending.kind, pending.codec},
                         [&values = pending.values](detail::KeyId b, detail::KeyId e,
                                                    detail::SnapshotSection* out) {
                           AppendPendingValues(values, b, e, out);
                         }});
    }
    HeapValueFileHeader header;
    header.key_file_checksum = keys.checksum;
    header.id_count = id_count;
    header.key_codec = p_.key_codec;
    header.range = p_.range;
    WEIR_ASSIGN_OR_RETURN(auto file, location.CreateExclusiveFile(p_.file_prefix + ".keyed"));
    WEIR_RETURN_IF_ERROR(
        WriteHeapValueFile(header, columns, p_.timers, p_.max_parallelism, file.get()));
    columns.clear();
    HeapKeyedSnapshot::ReleaseFrozen(p_.keys, p_.tables);  // before the syncs
    if (key_file != nullptr) {
      WEIR_ASSIGN_OR_RETURN(keys, key_file->Finish());
      if (p_.incremental) {
        // The checkpoint's _metadata makes its own directory durable, not shared/.
        WEIR_RETURN_IF_ERROR(location.fs().SyncDir(JoinPath(location.base_dir(), "shared")));
      }
      keys.local_name = p_.key_name;
    }
    WEIR_ASSIGN_OR_RETURN(StateFile values, file->Finish());
    values.local_name = "values";

    p_.shared_files->Written(p_.checkpoint_id, {{p_.key_name, keys}});
    KeyedStateHandle handle;
    handle.key_groups = p_.range;
    handle.native_files = {std::move(keys), std::move(values)};
    handle.backend_id = std::string(kHeapIncrementalBackendId);
    return handle;
  }

 private:
  // Restored values of a state not declared again, sorted by key id, as AppendValues writes.
  static void AppendPendingValues(
      const std::vector<std::pair<detail::KeyId, std::string_view>>& values, detail::KeyId begin,
      detail::KeyId end, detail::SnapshotSection* out) {
    auto it = std::lower_bound(values.begin(), values.end(), begin,
                               [](const auto& e, detail::KeyId id) { return e.first < id; });
    for (detail::KeyId id = begin; id < end; ++id) {
      std::string_view value;
      size_t n = 0;
      if (it != values.end() && it->first == id) {
        value = it->second;
        n = value.size() + 1;
        ++it;
      }
      char* p = out->Extend(detail::SnapshotSection::kMaxVarint + value.size());
      out->Commit(detail::SnapshotSection::PutBytes(detail::SnapshotSection::PutVarint(p, n),
                                                    value));
    }
  }

  Params p_;
};

}  // namespace

HeapKeyedStateBackend::HeapKeyedStateBackend(const KeyedBackendOptions& options)
    : KeyedStateBackend(options), instance_(RandomHex(8)) {
  if (options.config != nullptr) {
    // Checked with the rest of the configuration before any backend is created.
    auto incremental = options.config->Get(state_backend_options::kIncremental);
    incremental_ = incremental.ok() && *incremental;
  }
}

void HeapKeyedStateBackend::SetNewKey(std::string_view key_bytes, uint64_t hash) {
  detail::KeyId id = keys_.Find(key_bytes, hash);
  if (id == detail::kNoKey) [[unlikely]] id = InsertKey(key_bytes, hash);
  current_id_ = id;
  current_hash_ = hash;
  has_current_ = true;
}

detail::KeyId HeapKeyedStateBackend::InsertKey(std::string_view key_bytes, uint64_t hash) {
  // Checked once per key, when it first comes: its bytes pick its key group for good.
  int kg = detail::KeyGroupForHash(Hash64(key_bytes), options_.max_parallelism);
  if (!options_.key_groups.Contains(kg)) [[unlikely]] {
    // The record was routed here by its key, so the key changed between routing and
    // processing. Keeping it would put state where no restore looks for it (and the snapshot
    // buckets keys by this subtask's key groups only).
    throw detail::StateError(Status::FailedPrecondition(
        "operator '" + options_.operator_name + "' subtask " + std::to_string(options_.subtask) +
        " got a key of key group " + std::to_string(kg) + ", outside its key groups " +
        options_.key_groups.ToString() +
        ": the key selector must return the same key every time it is called for a record "
        "(is it non-deterministic, or does the key's codec encode it differently each time?)"));
  }
  detail::KeyId id = keys_.Insert(key_bytes, hash, kg);
  // A new key is a garbage candidate until some state is written for it.
  emptied_.push_back(id);
  if (id >= capacity_) EnsureCapacity(static_cast<size_t>(id) + 1);
  return id;
}

void HeapKeyedStateBackend::EnsureCapacity(size_t n) {
  if (n <= capacity_) return;
  capacity_ = std::max<size_t>({n, capacity_ * 2, 64});
  for (auto& t : tables_) t->Resize(capacity_);
}

detail::HeapStateTable* HeapKeyedStateBackend::FindTable(std::string_view name) {
  for (auto& t : tables_) {
    if (t->name() == name) return t.get();
  }
  return nullptr;
}

bool HeapKeyedStateBackend::HoldsUndeclaredState(std::string_view name) {
  auto it = pending_.find(name);
  return it != pending_.end() && !it->second.values.empty();
}

detail::HeapStateTable* HeapKeyedStateBackend::AddTable(
    std::unique_ptr<detail::HeapStateTable> table) {
  table->Resize(capacity_);
  table->set_emptied_log(&emptied_);
  auto it = pending_.find(table->name());
  if (it != pending_.end()) {
    const PendingState& p = it->second;
    if (p.kind != table->kind()) {
      throw detail::StateError(Status::FailedPrecondition(
          Where() + ": state '" + table->name() + "' is declared as " +
          std::string(detail::StateKindName(table->kind())) + " state, but the checkpoint holds " +
          std::string(detail::StateKindName(p.kind)) + " state under that name"));
    }
    int old_version = 0;
    SchemaMatch match = MatchSchema(p.codec, table->schema(), &old_version);
    if (match == SchemaMatch::kIncompatible) {
      throw detail::StateError(
          IncompatibleState(Where(), table->name(), p.kind, p.codec, table->schema()));
    }
    if (match == SchemaMatch::kUnrecorded) WarnUnrecorded(table->name());
    std::string migrated;
    for (const auto& [id, bytes] : p.values) {
      std::string_view value = bytes;
      if (match == SchemaMatch::kMigrate) {
        if (!MigrateCanonicalValue(p.kind, bytes, table->schema(), old_version, &migrated)) {
          throw detail::StateError(Status::FailedPrecondition(
              Where() + ": migrating state '" + table->name() + "' from codec '" + p.codec +
              "' to '" + table->schema().codec + "': a stored value does not decode"));
        }
        value = migrated;
      }
      if (!table->Decode(id, value)) {
        throw detail::StateError(Status::FailedPrecondition(
            Where() + ": restoring state '" + table->name() +
            "': a stored value does not decode as the declared type (did the state's type "
            "change?)"));
      }
    }
    if (match == SchemaMatch::kMigrate) {
      spdlog::info("{}: migrated state '{}' from codec '{}' to '{}'", Where(), table->name(),
                   p.codec, table->schema().codec);
    }
    pending_.erase(it);
    if (pending_.empty()) restored_data_.clear();
  }
  tables_.push_back(std::move(table));
  return tables_.back().get();
}

template <typename Reader>
Status HeapKeyedStateBackend::RestoreFrom(const Reader& reader) {
  const auto& states = reader.states();
  std::vector<PendingState*> by_index;  // the file's state index -> where its values go
  WEIR_RETURN_IF_ERROR(RestoredKeyCodec(reader.key_codec()));
  for (const StateMeta& m : states) {
    auto it = pending_.find(m.name);
    if (it == pending_.end()) {
      it = pending_.emplace(m.name, PendingState{m.kind, m.codec, {}}).first;
    } else if (it->second.kind != m.kind || it->second.codec != m.codec) {
      return Status::Corruption("state '" + m.name +
                                "' has different kinds or codecs in different checkpoint files");
    }
    by_index.push_back(&it->second);
  }
  restored_data_.push_back(reader.data());
  // Size the key index and the value lists once, instead of growing them entry by entry.
  WEIR_ASSIGN_OR_RETURN(auto counts, reader.CountEntries(options_.key_groups));
  // A savepoint's file does not say how many distinct keys its states share: at least as
  // many as the state with the most.
  if constexpr (requires { reader.CountKeys(options_.key_groups); }) {
    keys_.Reserve(reader.CountKeys(options_.key_groups));
  } else if (!counts.empty()) {
    keys_.Reserve(*std::max_element(counts.begin(), counts.end()));
  }
  for (size_t i = 0; i < counts.size(); ++i) {
    by_index[i]->values.reserve(by_index[i]->values.size() + counts[i]);
  }
  // Keys come in key-group (or id) order and their index slots in hash order, so each lookup
  // would wait for memory: entries wait in a short window while their slots are fetched, and
  // are indexed in the order they came (a key restored twice keeps its last value).
  struct Entry {
    size_t state;
    int key_group;
    uint64_t hash;
    std::string_view key;  // views into the reader's bytes, alive until it returns
    std::string_view value;
  };
  constexpr size_t kWindow = 16;
  std::array<Entry, kWindow> window;
  size_t next = 0, waiting = 0;
  auto index = [&](const Entry& e) {
    detail::KeyId id = keys_.FindOrInsert(e.key, e.hash, e.key_group);
    by_index[e.state]->values.emplace_back(id, e.value);
  };
  WEIR_RETURN_IF_ERROR(reader.ForEach(
      options_.key_groups,
      [&](size_t state, int kg, std::string_view key, std::string_view value) -> Status {
        WEIR_RETURN_IF_ERROR(CheckKeyGroupOfKey(key, kg, options_.max_parallelism,
                                                reader.name(), "a key of state '" +
                                                                   states[state].name + "'"));
        uint64_t hash = detail::KeyHash(key);
        keys_.Prefetch(&hash, 1);
        if (waiting == kWindow) {
          index(window[next]);  // the oldest
        } else {
          ++waiting;
        }
        window[next] = Entry{state, kg, hash, key, value};
        next = (next + 1) % kWindow;
        return Status::OK();
      },
      [&](int kg, TimeDomain domain, int64_t ts, std::string_view key) -> Status {
        WEIR_RETURN_IF_ERROR(
            CheckKeyGroupOfKey(key, kg, options_.max_parallelism, reader.name(), "a timer"));
        timers_.Add(domain, ts, key);
        return Status::OK();
      }));
  for (size_t i = kWindow - waiting; i < kWindow; ++i) index(window[(next + i) % kWindow]);
  return Status::OK();
}

Status HeapKeyedStateBackend::Restore(const std::vector<KeyedRestoreSource>& sources) {
  for (const KeyedRestoreSource& src : sources) {
    if (src.handle->backend_id == kHeapIncrementalBackendId) {
      WEIR_RETURN_IF_ERROR_CTX(RestoreIncremental(src), RestoreContext());
      continue;
    }
    // A native handle's canonical file holds only its timers: restoring that alone would
    // silently drop the state.
    if (!src.handle->native_files.empty() || !src.handle->canonical) {
      return Status::InvalidArgument(
          RestoreContext() +
          ": the checkpoint holds RocksDB native (incremental) state; "
          "restore it with state.backend.type: rocksdb, or take a savepoint to switch backends");
    }
    auto data = src.location->ReadVerified(*src.handle->canonical);
    if (!data.ok()) return data.status().WithContext(RestoreContext());
    auto reader =
        KeyedSnapshotReader::Open(std::move(*data), src.location->Absolute(*src.handle->canonical));
    if (!reader.ok()) return reader.status().WithContext(RestoreContext());
    WEIR_RETURN_IF_ERROR_CTX(RestoreFrom(*reader), RestoreContext());
  }
  for (auto& [name, p] : pending_) {
    // Sorted for lookups by id; a key restored twice (from two files) keeps its last value.
    // Often sorted already: the keys of a file's first state get ids in the order they come.
    auto by_id = [](const auto& a, const auto& b) { return a.first < b.first; };
    if (!std::is_sorted(p.values.begin(), p.values.end(), by_id)) {
      std::stable_sort(p.values.begin(), p.values.end(), by_id);
    }
    auto last = std::unique(p.values.rbegin(), p.values.rend(),
                            [](const auto& a, const auto& b) { return a.first == b.first; });
    p.values.erase(p.values.begin(), last.base());
  }
  EnsureCapacity(keys_.id_limit());
  return Status::OK();
}

Status HeapKeyedStateBackend::RestoreIncremental(const KeyedRestoreSource& source) {
  WEIR_ASSIGN_OR_RETURN(auto reader, OpenHeapIncremental(*source.handle, *source.location));
  return RestoreFrom(reader);
}

void HeapKeyedStateBackend::NotifyCheckpointComplete(int64_t checkpoint_id) {
  shared_files_->Completed(checkpoint_id);
}

void HeapKeyedStateBackend::NotifyCheckpointAborted(int64_t checkpoint_id) {
  shared_files_->Aborted(checkpoint_id);
}

const std::string_view* HeapKeyedStateBackend::PendingState::Find(detail::KeyId id) const {
  auto it = std::lower_bound(values.begin(), values.end(), id,
                             [](const auto& e, detail::KeyId k) { return e.first < k; });
  return it != values.end() && it->first == id ? &it->second : nullptr;
}

Result<std::unique_ptr<KeyedSnapshot>> HeapKeyedStateBackend::Snapshot(int64_t checkpoint_id,
                                                                      bool savepoint) {
  CollectGarbage();
  // O(chunks) and the keys inserted since the last snapshot, not O(keys): the encoding
  // happens off the task thread.
  std::vector<std::pair<StateMeta, std::unique_ptr<detail::HeapStateTable::Frozen>>> tables;
  for (const auto& t : tables_) {
    tables.emplace_back(StateMeta{t->name(), t->kind(), t->schema().codec}, t->Freeze());
  }
  std::vector<HeapKeyedSnapshot::Pending> pending;
  for (const auto& [name, p] : pending_)
    pending.push_back({name, p.kind, p.codec, p.values, restored_data_});
  std::vector<TimerEntry> timers;
  timers.reserve(timers_.size());
  timers_.ForEach([&](TimeDomain domain, int64_t ts, const std::string& key) {
    timers.push_back(TimerEntry{domain, ts, key});
  });
  std::string prefix =
      SanitizeForFileName(options_.operator_uid) + "-" + std::to_string(options_.subtask);
  if (savepoint) {
    shared_files_->BeginSavepoint(checkpoint_id);
    // Self-contained and canonical: either backend restores it, and tools read it.
    return std::unique_ptr<KeyedSnapshot>(std::make_unique<HeapKeyedSnapshot>(
        keys_.Freeze(), key_codec(), std::move(tables), std::move(pending), std::move(timers),
        options_.key_groups, options_.max_parallelism, prefix + ".keyed", snapshot_bytes_));
  }
  HeapNativeSnapshot::Params p;
  p.keys = keys_.Freeze();
  p.key_codec = key_codec();
  p.tables = std::move(tables);
  p.pending = std::move(pending);
  p.timers = std::move(timers);
  p.range = options_.key_groups;
  p.max_parallelism = options_.max_parallelism;
  p.checkpoint_id = checkpoint_id;
  p.file_prefix = std::move(prefix);
  p.key_name = "keys-" + instance_ + "-" + std::to_string(keys_.version());
  SharedStateFiles::FileMap reusable = shared_files_->BeginCheckpoint(checkpoint_id);
  if (auto it = reusable.find(p.key_name); it != reusable.end()) p.reused_keys = it->second;
  p.shared_files = shared_files_;
  p.incremental = incremental_;
  return std::unique_ptr<KeyedSnapshot>(std::make_unique<HeapNativeSnapshot>(std::move(p)));
}

void HeapKeyedStateBackend::CollectGarbage() {
  // Only keys that were created, or whose state some table emptied, since the last look.
  std::sort(emptied_.begin(), emptied_.end());
  emptied_.erase(std::unique(emptied_.begin(), emptied_.end()), emptied_.end());
  for (detail::KeyId id : emptied_) {
    if (id >= keys_.id_limit() || !keys_.key(id).live()) continue;
    bool has_state =
        std::any_of(tables_.begin(), tables_.end(), [&](const auto& t) { return t->Has(id); }) ||
        std::any_of(pending_.begin(), pending_.end(),
                    [&](const auto& p) { return p.second.Find(id) != nullptr; });
    if (has_state) continue;
    keys_.Erase(id);
    // The cached current key may have been dropped: look it up afresh next time.
    if (id == current_id_) {
      has_current_ = false;
      current_id_ = detail::kNoKey;
    }
  }
  emptied_.clear();
}

}  // namespace weir
