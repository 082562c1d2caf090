#include "state/heap_keyed_state_backend.h"

#include <algorithm>

#include "base/hash.h"
#include "state/keyed_snapshot_format.h"

namespace weir {
namespace {

// The sync phase encoded everything; the async phase only writes bytes.
class EncodedKeyedSnapshot final : public KeyedSnapshot {
 public:
  EncodedKeyedSnapshot(std::string data, std::string file_name, KeyGroupRange range)
      : data_(std::move(data)), file_name_(std::move(file_name)), range_(range) {}

  Result<KeyedStateHandle> Write(const SnapshotLocation& location) override {
    WEIR_ASSIGN_OR_RETURN(auto writer, location.CreateExclusiveFile(file_name_));
    WEIR_RETURN_IF_ERROR(writer->Append(data_));
    WEIR_ASSIGN_OR_RETURN(StateFile file, writer->Finish());
    KeyedStateHandle handle;
    handle.key_groups = range_;
    handle.canonical = std::move(file);
    return handle;
  }

 private:
  std::string data_;
  std::string file_name_;
  KeyGroupRange range_;
};

}  // namespace

HeapKeyedStateBackend::HeapKeyedStateBackend(const KeyedBackendOptions& options)
    : KeyedStateBackend(options) {}

void HeapKeyedStateBackend::SetCurrentKey(std::string_view key_bytes) {
  if (has_current_ && detail::BytesEqual(key_bytes, current_bytes_)) return;
  uint64_t hash = Hash64(key_bytes);
  int kg = detail::KeyGroupForHash(hash, options_.max_parallelism);
  if (!options_.key_groups.Contains(kg)) [[unlikely]] {
    // The record was routed here by its key, so the key changed between routing and
    // processing. Keeping it would put state where no restore looks for it (and the snapshot
    // buckets keys by this subtask's key groups only).
    throw detail::StateError(
        "operator '" + options_.operator_name + "' subtask " + std::to_string(options_.subtask) +
        " got a key of key group " + std::to_string(kg) + ", outside its key groups " +
        options_.key_groups.ToString() +
        ": the key selector must return the same key every time it is called for a record "
        "(is it non-deterministic, or does the key's codec encode it differently each time?)");
  }
  current_bytes_.assign(key_bytes.data(), key_bytes.size());
  current_id_ = keys_.FindOrInsert(key_bytes, hash, kg);
  has_current_ = true;
  if (current_id_ >= capacity_) EnsureCapacity(static_cast<size_t>(current_id_) + 1);
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

detail::HeapStateTable* HeapKeyedStateBackend::AddTable(
    std::unique_ptr<detail::HeapStateTable> table) {
  table->Resize(capacity_);
  auto it = pending_.find(table->name());
  if (it != pending_.end()) {
    if (it->second.kind != table->kind()) {
      throw detail::StateError(
          "state '" + table->name() + "' is declared as " +
          std::string(detail::StateKindName(table->kind())) + " state, but the checkpoint holds " +
          std::string(detail::StateKindName(it->second.kind)) + " state under that name");
    }
    for (const auto& [id, bytes] : it->second.values) {
      if (!table->Decode(id, bytes)) {
        throw detail::StateError("restoring state '" + table->name() +
                                 "': a stored value does not decode as the declared type "
                                 "(did the state's type change?)");
      }
    }
    pending_.erase(it);
  }
  tables_.push_back(std::move(table));
  return tables_.back().get();
}

Status HeapKeyedStateBackend::Restore(const std::vector<KeyedRestoreSource>& sources) {
  for (const KeyedRestoreSource& src : sources) {
    // A native handle's canonical file holds only its timers: restoring that alone would
    // silently drop the state.
    if (!src.handle->native_files.empty() || !src.handle->canonical) {
      return Status::InvalidArgument(
          RestoreContext() + ": the checkpoint holds RocksDB native (incremental) state; "
          "restore it with state.backend.type: rocksdb, or take a savepoint to switch backends");
    }
    auto data = src.location->ReadVerified(*src.handle->canonical);
    if (!data.ok()) return data.status().WithContext(RestoreContext());
    auto reader = KeyedSnapshotReader::Open(std::move(*data),
                                            src.location->Absolute(*src.handle->canonical));
    if (!reader.ok()) return reader.status().WithContext(RestoreContext());
    const auto& states = reader->states();
    for (const StateMeta& m : states) {
      auto it = pending_.find(m.name);
      if (it == pending_.end()) {
        pending_.emplace(m.name, PendingState{m.kind, {}});
      } else if (it->second.kind != m.kind) {
        return Status::Corruption(RestoreContext() + ": state '" + m.name +
                                  "' has different kinds in different checkpoint files");
      }
    }
    Status s = reader->ForEach(
        options_.key_groups,
        [&](size_t state, int kg, std::string_view key, std::string_view value) -> Status {
          uint64_t hash = Hash64(key);
          if (detail::KeyGroupForHash(hash, options_.max_parallelism) != kg) {
            return Status::Corruption(
                "a key is stored in key group " + std::to_string(kg) +
                " but hashes to another: the checkpoint was taken with another "
                "pipeline.max-parallelism, which cannot change");
          }
          detail::KeyId id = keys_.FindOrInsert(key, hash, kg);
          pending_[states[state].name].values[id] = std::string(value);
          return Status::OK();
        },
        [&](int, int64_t ts, std::string_view key) -> Status {
          timers_.Add(ts, key);
          return Status::OK();
        });
    if (!s.ok()) return s.WithContext(RestoreContext());
  }
  EnsureCapacity(keys_.id_limit());
  return Status::OK();
}

Result<std::unique_ptr<KeyedSnapshot>> HeapKeyedStateBackend::Snapshot(int64_t checkpoint_id,
                                                                       bool savepoint) {
  CollectGarbage();
  const KeyGroupRange range = options_.key_groups;

  std::vector<StateMeta> metas;
  for (const auto& t : tables_) metas.push_back(StateMeta{t->name(), t->kind()});
  std::vector<const PendingState*> pending;
  for (const auto& [name, p] : pending_) {
    metas.push_back(StateMeta{name, p.kind});
    pending.push_back(&p);
  }

  // Bucket live keys by key group (counting sort over the subtask's range).
  std::vector<size_t> starts(static_cast<size_t>(range.size()) + 1, 0);
  for (size_t id = 0; id < keys_.id_limit(); ++id) {
    const auto& k = keys_.key(static_cast<detail::KeyId>(id));
    if (k.live) ++starts[static_cast<size_t>(k.key_group - range.start) + 1];
  }
  for (size_t i = 1; i < starts.size(); ++i) starts[i] += starts[i - 1];
  std::vector<detail::KeyId> by_group(starts.back());
  std::vector<size_t> fill(starts.begin(), starts.end() - 1);
  for (size_t id = 0; id < keys_.id_limit(); ++id) {
    const auto& k = keys_.key(static_cast<detail::KeyId>(id));
    if (k.live) by_group[fill[static_cast<size_t>(k.key_group - range.start)]++] =
        static_cast<detail::KeyId>(id);
  }
  std::vector<std::vector<std::pair<int64_t, const std::string*>>> timers_by_group(
      static_cast<size_t>(range.size()));
  timers_.ForEach([&](int64_t ts, const std::string& key) {
    int kg = detail::KeyGroupForHash(Hash64(key), options_.max_parallelism);
    if (range.Contains(kg)) timers_by_group[static_cast<size_t>(kg - range.start)].emplace_back(ts, &key);
  });

  std::string data;
  KeyedSnapshotWriter writer(&data, metas, range);
  std::string value;
  for (int kg = range.start; kg <= range.end; ++kg) {
    size_t g = static_cast<size_t>(kg - range.start);
    writer.BeginKeyGroup(kg);
    auto first = by_group.begin() + static_cast<std::ptrdiff_t>(starts[g]);
    auto last = by_group.begin() + static_cast<std::ptrdiff_t>(starts[g + 1]);
    for (const auto& t : tables_) {
      writer.BeginState(static_cast<size_t>(std::count_if(first, last, [&](detail::KeyId id) {
        return t->Has(id);
      })));
      for (auto it = first; it != last; ++it) {
        if (!t->Has(*it)) continue;
        value.clear();
        BufferWriter w(&value);
        t->Encode(*it, w);
        writer.AddEntry(keys_.key(*it).bytes, value);
      }
    }
    for (const PendingState* p : pending) {
      writer.BeginState(static_cast<size_t>(
          std::count_if(first, last, [&](detail::KeyId id) { return p->values.contains(id); })));
      for (auto it = first; it != last; ++it) {
        auto v = p->values.find(*it);
        if (v != p->values.end()) writer.AddEntry(keys_.key(*it).bytes, v->second);
      }
    }
    writer.BeginTimers(timers_by_group[g].size());
    for (const auto& [ts, key] : timers_by_group[g]) writer.AddTimer(ts, *key);
  }
  writer.Finish();
  std::string name = SanitizeForFileName(options_.operator_uid) + "-" +
                     std::to_string(options_.subtask) + ".keyed";
  (void)checkpoint_id;
  (void)savepoint;
  return std::unique_ptr<KeyedSnapshot>(
      std::make_unique<EncodedKeyedSnapshot>(std::move(data), std::move(name), range));
}

void HeapKeyedStateBackend::CollectGarbage() {
  bool dropped = false;
  for (size_t id = 0; id < keys_.id_limit(); ++id) {
    auto kid = static_cast<detail::KeyId>(id);
    if (!keys_.key(kid).live) continue;
    bool has_state = std::any_of(tables_.begin(), tables_.end(),
                                 [&](const auto& t) { return t->Has(kid); }) ||
                     std::any_of(pending_.begin(), pending_.end(),
                                 [&](const auto& p) { return p.second.values.contains(kid); });
    if (!has_state) {
      for (auto& t : tables_) t->Erase(kid);
      keys_.Erase(kid);
      dropped = true;
    }
  }
  // The cached current key may have been dropped: look it up afresh next time.
  if (dropped) {
    has_current_ = false;
    current_id_ = detail::kNoKey;
  }
}

}  // namespace weir
