// Internal: the contract between the typed state handles (weir/state.h) and keyed state
// backends. Not for job authors.
//
// Two kinds of backend exist:
//  - heap (state.backend.type: hashmap): typed tables, one per state, indexed by a dense key id
//    the backend assigns to each key. An access is an array index; nothing is encoded until a
//    snapshot.
//  - raw (state.backend.type: rocksdb): bytes in, bytes out, addressed by the current key.
// The typed tables and adapters below are templates so state access is inlined per value type;
// the backends themselves are not templates.
//
// Canonical encoding of one key's value in a snapshot (shared by every backend, so savepoints
// restore into either): value and reducing state: Codec<V> bytes; list state: varint count,
// then each element length-prefixed; map state: varint count, then each user key and value
// length-prefixed.
//
// Thread-safety: a backend and its tables belong to one task thread.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/cow_vector.h"
#include "weir/detail/map_entries.h"
#include "weir/status.h"

namespace weir::detail {

using KeyId = uint32_t;

enum class StateKind : uint8_t { kValue = 1, kList = 2, kMap = 3, kReducing = 4 };

std::string_view StateKindName(StateKind kind);

// Thrown by state accesses that fail below the API (a RocksDB write error, a malformed
// restored value). The operator boundary turns it into a task failure naming the operator.
class StateError : public std::runtime_error {
 public:
  // A failure in the code of a backend (an I/O error, say): a restart may fix it.
  explicit StateError(const std::string& what) : std::runtime_error(what) {}
  // With a Status of its own: a state that does not fit the job (FailedPrecondition) or a
  // corrupt restored value ends the job at once.
  explicit StateError(const Status& status)
      : std::runtime_error(status.message()), status_(status) {}

  // The error as a Status; Internal unless one was given.
  Status status() const { return status_.ok() ? Status::Internal(what()) : status_; }

 private:
  Status status_;
};

// ---- What a state holds -----------------------------------------------------------------------

// What a state holds, as checkpoints record it, so a restore can tell a changed state type
// from the same one (and refuse it, or migrate it) instead of decoding garbage.
struct StateSchema {
  // CodecIdentity of the value (value and reducing state), of an element (list state), or
  // "<user key codec>-><value codec>" (map state).
  std::string codec;
  // Turns what version `version` of the value codec wrote (a value; an element; a map value)
  // into the current encoding. Empty unless the codec reads older versions (DecodeVersion).
  std::function<bool(int version, std::string_view old_bytes, std::string* out)> migrate;
};

template <typename V>
StateSchema SchemaOf() {
  StateSchema schema{CodecIdentity<V>(), nullptr};
  if constexpr (requires(BufferReader& r, V& v) { Codec<V>::DecodeVersion(1, r, v); }) {
    schema.migrate = [](int version, std::string_view old_bytes, std::string* out) {
      BufferReader r(old_bytes);
      V v{};
      if (!Codec<V>::DecodeVersion(version, r, v) || !r.empty()) return false;
      out->clear();
      BufferWriter w(out);
      Codec<V>::Encode(v, w);
      return true;
    };
  }
  return schema;
}

template <typename K, typename V>
StateSchema MapSchemaOf() {
  StateSchema schema = SchemaOf<V>();
  schema.codec = CodecIdentity<K>() + "->" + schema.codec;
  return schema;
}

// ---- Heap backend contract ------------------------------------------------------------------

class SnapshotSection;

// A live key as a full snapshot visits it: its id, its bytes, and the sections its entries go
// to (those of its key group, one per state).
struct SnapshotKey {
  KeyId id;
  std::string_view key;
  SnapshotSection* sections;
};

// A typed column of per-key state; the type-erased face the heap backend snapshots.
class HeapStateTable {
 public:
  HeapStateTable(std::string name, StateKind kind, const std::type_info& type,
                 StateSchema schema)
      : name_(std::move(name)), kind_(kind), type_(&type), schema_(std::move(schema)) {}
  virtual ~HeapStateTable() = default;

  const std::string& name() const { return name_; }
  StateKind kind() const { return kind_; }
  const std::type_info& type() const { return *type_; }
  const StateSchema& schema() const { return schema_; }

  // Makes room for key ids < n.
  virtual void Resize(size_t n) = 0;
  virtual bool Has(KeyId id) const = 0;
  virtual void Erase(KeyId id) = 0;
  // Canonical encoding of the key's value (see the file comment). Requires Has(id).
  virtual void Encode(KeyId id, BufferWriter& out) const = 0;
  // Replaces the key's value from its canonical encoding; false if malformed.
  virtual bool Decode(KeyId id, std::string_view bytes) = 0;

  // The table as it is now, for a snapshot thread to encode while the task writes on.
  class Frozen {
   public:
    virtual ~Frozen() = default;
    // For each of `keys` that has state in this table: appends its snapshot entry (key and
    // encoded value, each length-prefixed) to `sections[state]` of that key. One call per
    // block of keys, so that the snapshot's per-key work is one loop, not calls.
    virtual void AppendEntries(std::span<const SnapshotKey> keys, size_t state) = 0;
    // Appends the values of ids [begin, end) in id order, one entry each: varint 0 for an id
    // without state, else varint (length + 1) and the encoded value. For an incremental
    // snapshot, whose keys are in a file of their own.
    virtual void AppendValues(KeyId begin, KeyId end, SnapshotSection* out) = 0;
  };
  virtual std::unique_ptr<Frozen> Freeze() = 0;

  // Where the table notes keys whose state it emptied: candidates for garbage collection.
  void set_emptied_log(std::vector<KeyId>* log) { emptied_ = log; }

 protected:
  std::vector<KeyId>* emptied_ = nullptr;

 private:
  std::string name_;
  StateKind kind_;
  const std::type_info* type_;
  StateSchema schema_;
};

class HeapStateRegistry {
 public:
  virtual ~HeapStateRegistry() = default;
  // The key id of the current key, updated by SetCurrentKey. Stable address.
  virtual const KeyId* current_key_id() const = 0;
  virtual HeapStateTable* FindTable(std::string_view name) = 0;
  // Adds a table, sizes it, and fills it from restored state of the same name. Throws
  // StateError if restored bytes do not decode.
  virtual HeapStateTable* AddTable(std::unique_ptr<HeapStateTable> table) = 0;
};

// ---- Raw (bytes) backend contract ------------------------------------------------------------

class RawStateAccess {
 public:
  virtual ~RawStateAccess() = default;
  // Registers a state and returns its handle. Restored state of that name must fit `schema`
  // (or be migrated to it). Throws StateError on failure.
  virtual int RegisterState(std::string_view name, StateKind kind, const StateSchema& schema) = 0;
  // Value of the current key, or false if none. Throws StateError on I/O failure.
  virtual bool Get(int state, std::string* value) = 0;
  virtual void Put(int state, std::string_view value) = 0;
  virtual void Delete(int state) = 0;
  // List state: elements are stored length-prefixed, one after another.
  virtual void Append(int state, std::string_view length_prefixed_element) = 0;
  // Map state: entries of the current key, addressed by encoded user key.
  virtual bool GetEntry(int state, std::string_view user_key, std::string* value) = 0;
  virtual void PutEntry(int state, std::string_view user_key, std::string_view value) = 0;
  virtual void DeleteEntry(int state, std::string_view user_key) = 0;
  virtual void ForEachEntry(int state,
                            const std::function<void(std::string_view, std::string_view)>& fn) = 0;
  virtual void DeleteAllEntries(int state) = 0;
};

// ---- The backend face the typed API sees -------------------------------------------------------

class KeyedStateAccess {
 public:
  virtual ~KeyedStateAccess() = default;
  // Sets the key (its Codec bytes) that state accesses refer to until the next call. Cheap
  // when the key is the same as the previous one.
  virtual void SetCurrentKey(std::string_view key_bytes) = 0;
  // The same, with the key's KeyHash already known (the operator computes a batch's first).
  virtual void SetCurrentKey(std::string_view key_bytes, uint64_t hash) = 0;
  // Whether PrefetchKeys pays off now: the backend's key index is too big for the caches.
  virtual bool wants_key_prefetch() const { return false; }
  // Says which keys (by KeyHash) come next, so the backend can start fetching their index
  // entries: the lookups of a batch then wait for memory together, not one after another.
  virtual void PrefetchKeys(const uint64_t* hashes, size_t n) {}
  virtual std::string_view current_key_bytes() const = 0;
  // The CodecIdentity of the keys, declared once by the keyed operator: restored keys must
  // have been written by the same codec. Throws StateError otherwise.
  virtual void DeclareKeyCodec(const std::string& identity) {}
  // Whether restored state this run has not declared holds values under `name`: an operator
  // that changed how it keeps its state reads the old layout only where there is one.
  virtual bool HoldsUndeclaredState(std::string_view name) { return false; }
  virtual HeapStateRegistry* heap() { return nullptr; }
  virtual RawStateAccess* raw() { return nullptr; }
};

// ---- Typed access interfaces, implemented per backend kind -----------------------------------

template <typename V>
class ValueStateImpl {
 public:
  virtual ~ValueStateImpl() = default;
  virtual const V* Get() = 0;  // null if the current key has no value
  virtual void Put(V value) = 0;
  virtual void Clear() = 0;
};

template <typename V>
class ListStateImpl {
 public:
  virtual ~ListStateImpl() = default;
  virtual const std::vector<V>& Get() = 0;  // empty if none; valid until the next access
  virtual void Add(V value) = 0;
  virtual void Update(std::vector<V> values) = 0;
  virtual void Clear() = 0;
};

template <typename K, typename V>
class MapStateImpl {
 public:
  virtual ~MapStateImpl() = default;
  virtual const V* Get(const K& key) = 0;  // valid until the next access
  virtual void Put(const K& key, V value) = 0;
  virtual void Remove(const K& key) = 0;
  virtual bool Contains(const K& key) = 0;
  virtual bool IsEmpty() = 0;
  virtual void Clear() = 0;
  virtual void ForEach(const std::function<void(const K&, const V&)>& fn) = 0;
  virtual void Keys(std::vector<K>* out) = 0;  // replaces *out
};

// ---- Heap tables ------------------------------------------------------------------------------

// The key id before any key is set (and after the current key was dropped).
inline constexpr KeyId kNoKey = ~KeyId{0};

// Heap tables check the current key on each access: one predictable compare. Outside a keyed
// context (no current key) there is nothing to read, and Flink says so too.
[[noreturn]] inline void ThrowNoCurrentKey(const std::string& state) {
  throw StateError(Status::FailedPrecondition("state '" + state +
                   "' was accessed with no current key: keyed state can only "
                   "be used while processing a record or a timer"));
}

// The entries of one state in one key group of a heap snapshot, appended through a raw cursor:
// an entry is a few small pieces (a short key, a fixed-width value), and appending each to a
// std::string costs an out-of-line call and a memcpy call apiece.
class SnapshotSection {
 public:
  SnapshotSection() = default;
  SnapshotSection(SnapshotSection&& other) noexcept { *this = std::move(other); }
  SnapshotSection& operator=(SnapshotSection&& other) noexcept {
    data_ = std::move(other.data_);
    cursor_ = std::exchange(other.cursor_, nullptr);
    end_ = std::exchange(other.end_, nullptr);
    count_ = std::exchange(other.count_, 0);
    scratch_ = std::move(other.scratch_);
    return *this;
  }

  size_t count() const { return count_; }
  std::string_view bytes() const {
    return {data_.get(), static_cast<size_t>(cursor_ - data_.get())};
  }
  // Makes room for `n` bytes in all, so the section does not grow by copying itself.
  void Reserve(size_t n) {
    if (n > static_cast<size_t>(end_ - data_.get())) Grow(n - bytes().size());
  }
  // Where the next entry goes, with room for `n` bytes; then Commit where it ended.
  char* Extend(size_t n) {
    if (static_cast<size_t>(end_ - cursor_) < n) [[unlikely]]
      Grow(n);
    // A snapshot writes to one section per key group in turn, too many streams for the
    // hardware to see: fetch the line a few entries ahead, or each new line stalls the loop.
    __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(cursor_) + 256),
                       1);
    return cursor_;
  }
  void Commit(char* entry_end, size_t entries = 1) {
    cursor_ = entry_end;
    count_ += entries;
  }
  // Empties the section, keeping its memory for the next entries.
  void Clear() {
    cursor_ = data_.get();
    count_ = 0;
  }
  // Appends `key` and `value`, each length-prefixed, as one entry.
  void Add(std::string_view key, std::string_view value) {
    char* p = Extend(2 * kMaxVarint + key.size() + value.size());
    p = PutBytes(PutVarint(p, key.size()), key);
    Commit(PutBytes(PutVarint(p, value.size()), value));
  }
  // For encoding values that have no fixed width: reused, so it rarely allocates.
  std::string& scratch() { return scratch_; }

  static constexpr size_t kMaxVarint = 10;
  static char* PutVarint(char* p, uint64_t v) {
    while (v >= 0x80) {
      *p++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
    return p;
  }
  // Short keys are copied by two fixed-size moves that may overlap, not a call to memcpy.
  static char* PutBytes(char* p, std::string_view bytes) {
    const size_t n = bytes.size();
    const char* s = bytes.data();
    if (n >= 8 && n <= 16) {
      std::memcpy(p, s, 8);
      std::memcpy(p + n - 8, s + n - 8, 8);
    } else if (n >= 4 && n < 8) {
      std::memcpy(p, s, 4);
      std::memcpy(p + n - 4, s + n - 4, 4);
    } else if (n > 0) {
      std::memcpy(p, s, n);
    }
    return p + n;
  }

 private:
  void Grow(size_t n) {
    const size_t used = bytes().size();
    const size_t capacity = std::max({used + n, 2 * static_cast<size_t>(end_ - data_.get()),
                                      size_t{256}});
    auto grown = std::make_unique_for_overwrite<char[]>(capacity);
    if (used > 0) std::memcpy(grown.get(), data_.get(), used);
    data_ = std::move(grown);
    cursor_ = data_.get() + used;
    end_ = data_.get() + capacity;
  }

  std::unique_ptr<char[]> data_;
  char* cursor_ = nullptr;
  char* end_ = nullptr;
  size_t count_ = 0;
  std::string scratch_;
};

// Appends a slot's snapshot entry to `out`: `key`, then the slot's canonical value, each
// length-prefixed. The snapshot does this once per key: a value of fixed width is written in
// place, any other is encoded into the section's scratch buffer first.
template <typename Traits, typename Slot>
[[gnu::always_inline]] inline void AppendSnapshotEntry(std::string_view key, const Slot& slot,
                                                       SnapshotSection* out) {
  constexpr size_t kHead = 2 * SnapshotSection::kMaxVarint;
  if constexpr (Traits::kFixedSize > 0) {
    static_assert(Traits::kFixedSize < 0x80, "a fixed-width value's length is one byte");
    char* p = out->Extend(kHead + key.size() + Traits::kFixedSize);
    p = SnapshotSection::PutBytes(SnapshotSection::PutVarint(p, key.size()), key);
    *p++ = static_cast<char>(Traits::kFixedSize);
    Traits::EncodeFixed(slot, p);
    out->Commit(p + Traits::kFixedSize);
  } else {
    std::string& value = out->scratch();
    value.clear();
    BufferWriter w(&value);
    Traits::Encode(slot, w);
    out->Add(key, value);
  }
}

// A typed column of per-key slots in a CowVector, so a snapshot freezes it in O(chunks).
// `Traits` says what a slot holds: whether it is present, how to clear, encode and decode it.
template <typename Slot, typename Traits>
class HeapTable : public HeapStateTable {
 public:
  HeapTable(std::string name, StateKind kind, const std::type_info& type, StateSchema schema,
            const KeyId* current)
      : HeapStateTable(std::move(name), kind, type, std::move(schema)), current_(current) {}

  void Resize(size_t n) override { slots_.Resize(n); }
  bool Has(KeyId id) const override { return id < slots_.size() && Traits::Present(slots_[id]); }
  void Erase(KeyId id) override { Traits::Reset(slots_.Mutable(id)); }
  void Encode(KeyId id, BufferWriter& out) const override { Traits::Encode(slots_[id], out); }
  bool Decode(KeyId id, std::string_view bytes) override {
    return Traits::Decode(bytes, slots_.Mutable(id));
  }

  std::unique_ptr<Frozen> Freeze() override {
    return std::make_unique<FrozenTable>(slots_.Freeze());
  }

 protected:
  const Slot& Read() const {
    KeyId id = *current_;
    if (id >= slots_.size()) [[unlikely]]
      ThrowNoCurrentKey(name());
    return slots_[id];
  }
  Slot& Write() {
    KeyId id = *current_;
    if (id >= slots_.size()) [[unlikely]]
      ThrowNoCurrentKey(name());
    return slots_.Mutable(id);
  }
  void NoteEmptied() {
    if (emptied_ != nullptr) emptied_->push_back(*current_);
  }

 private:
  class FrozenTable final : public Frozen {
   public:
    explicit FrozenTable(typename CowVector<Slot>::Frozen slots) : slots_(std::move(slots)) {}
    void AppendEntries(std::span<const SnapshotKey> keys, size_t state) override {
      for (const SnapshotKey& k : keys) {
        if (k.id < slots_.size() && Traits::Present(slots_[k.id]))
          AppendSnapshotEntry<Traits>(k.key, slots_[k.id], &k.sections[state]);
      }
    }
    void AppendValues(KeyId begin, KeyId end, SnapshotSection* out) override {
      const KeyId stored = static_cast<KeyId>(std::min<size_t>(end, slots_.size()));
      if constexpr (Traits::kFixedSize > 0) {
        // Room for all of them at once, and no branch per value: a snapshot of a million
        // numbers runs at the speed it reads them.
        constexpr size_t kEntry = 1 + Traits::kFixedSize;
        char* p = out->Extend(static_cast<size_t>(end - begin) * kEntry);
        for (KeyId id = begin; id < stored; ++id) {
          const Slot& s = slots_[id];
          const bool present = Traits::Present(s);
          *p = static_cast<char>(present ? kEntry : 0);
          if (present) Traits::EncodeFixed(s, p + 1);
          p += present ? kEntry : 1;
        }
        for (KeyId id = std::max(begin, stored); id < end; ++id) *p++ = 0;
        out->Commit(p, end - begin);
      } else {
        std::string& value = out->scratch();
        for (KeyId id = begin; id < end; ++id) {
          value.clear();
          const bool present = id < stored && Traits::Present(slots_[id]);
          if (present) {
            BufferWriter w(&value);
            Traits::Encode(slots_[id], w);
          }
          char* p = out->Extend(SnapshotSection::kMaxVarint + value.size());
          p = SnapshotSection::PutVarint(p, present ? value.size() + 1 : 0);
          out->Commit(SnapshotSection::PutBytes(p, value));
        }
      }
    }

   private:
    typename CowVector<Slot>::Frozen slots_;
  };

  const KeyId* current_;
  CowVector<Slot> slots_;
};

template <typename V>
struct ValueSlotTraits {
  // Nonzero when V is a number whose codec writes its own bytes: a snapshot copies them in
  // place. Only built-in types: a user's codec, even one built on a number's, is called.
  static constexpr size_t kFixedSize = [] {
    if constexpr (codec_internal::kBuiltInNumber<V>) {
      static_assert(Codec<V>::kFixedWidth == sizeof(V));
      return sizeof(V);
    } else {
      return size_t{0};
    }
  }();
  static void EncodeFixed(const std::optional<V>& s, char* out) {
    std::memcpy(out, &*s, kFixedSize);
  }
  static bool Present(const std::optional<V>& s) { return s.has_value(); }
  static void Reset(std::optional<V>& s) { s.reset(); }
  static void Encode(const std::optional<V>& s, BufferWriter& out) { Codec<V>::Encode(*s, out); }
  static bool Decode(std::string_view bytes, std::optional<V>& s) {
    V v;
    if (!DecodeFromString(bytes, v)) return false;
    s = std::move(v);
    return true;
  }
};

template <typename V>
class HeapValueTable final : public HeapTable<std::optional<V>, ValueSlotTraits<V>>,
                             public ValueStateImpl<V> {
 public:
  HeapValueTable(std::string name, StateKind kind, const KeyId* current)
      : HeapTable<std::optional<V>, ValueSlotTraits<V>>(std::move(name), kind, typeid(V),
                                                        SchemaOf<V>(), current) {}

  const V* Get() override {
    const auto& slot = this->Read();
    return slot ? &*slot : nullptr;
  }
  void Put(V value) override { this->Write() = std::move(value); }
  void Clear() override {
    this->Write().reset();
    this->NoteEmptied();
  }
};

template <typename V>
struct ListSlotTraits {
  static constexpr size_t kFixedSize = 0;
  static bool Present(const std::vector<V>& s) { return !s.empty(); }
  static void Reset(std::vector<V>& s) { std::vector<V>().swap(s); }
  static void Encode(const std::vector<V>& list, BufferWriter& out) {
    out.PutVarint64(list.size());
    std::string element;
    for (const V& v : list) {
      element.clear();
      BufferWriter w(&element);
      Codec<V>::Encode(v, w);
      out.PutLengthPrefixed(element);
    }
  }
  static bool Decode(std::string_view bytes, std::vector<V>& s) {
    BufferReader r(bytes);
    uint64_t n;
    if (!r.GetVarint64(&n) || n > bytes.size()) return false;
    std::vector<V> list;
    list.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view element;
      V v;
      if (!r.GetLengthPrefixed(&element) || !DecodeFromString(element, v)) return false;
      list.push_back(std::move(v));
    }
    if (!r.empty()) return false;
    s = std::move(list);
    return true;
  }
};

template <typename V>
class HeapListTable final : public HeapTable<std::vector<V>, ListSlotTraits<V>>,
                            public ListStateImpl<V> {
 public:
  HeapListTable(std::string name, const KeyId* current)
      : HeapTable<std::vector<V>, ListSlotTraits<V>>(std::move(name), StateKind::kList, typeid(V),
                                                     SchemaOf<V>(), current) {}

  const std::vector<V>& Get() override { return this->Read(); }
  void Add(V value) override { this->Write().push_back(std::move(value)); }
  void Update(std::vector<V> values) override {
    bool empty = values.empty();
    this->Write() = std::move(values);
    if (empty) this->NoteEmptied();
  }
  void Clear() override {
    std::vector<V>().swap(this->Write());
    this->NoteEmptied();
  }
};

// std::hash where the type has one, else a hash of its encoded bytes.
template <typename T>
struct StateKeyHash {
  size_t operator()(const T& v) const {
    if constexpr (requires { std::hash<T>{}(v); }) {
      return std::hash<T>{}(v);
    } else {
      std::string bytes = EncodeToString(v);
      return std::hash<std::string_view>{}(bytes);
    }
  }
};

// A pair (as the window operator's (time, clock)) from its members' hashes, not its bytes.
template <typename A, typename B>
struct StateKeyHash<std::pair<A, B>> {
  size_t operator()(const std::pair<A, B>& p) const {
    size_t h = StateKeyHash<A>{}(p.first);
    return h ^ (StateKeyHash<B>{}(p.second) + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2));
  }
};

// Floating point by its bit pattern, as StateKeyEqual compares it.
template <std::floating_point T>
struct StateKeyHash<T> {
  size_t operator()(const T& v) const {
    char bytes[codec_internal::kValueBytes<T>];
    std::memcpy(bytes, &v, sizeof bytes);
    return std::hash<std::string_view>{}(std::string_view(bytes, sizeof bytes));
  }
};

// Whether two map keys are one key. RocksDB keeps a key as its encoded bytes, so the heap
// compares floating point by bit pattern as well (a NaN finds itself; 0.0 and -0.0 are two
// keys), also inside the built-in codecs' pairs, tuples, optionals, arrays and vectors; maps
// by their encoded bytes; and everything else with ==, which a user's key type must make agree
// with its codec.
template <typename T>
struct StateKeyEqual {
  bool operator()(const T& a, const T& b) const { return a == b; }
};

template <std::floating_point T>
struct StateKeyEqual<T> {
  bool operator()(const T& a, const T& b) const {
    return std::memcmp(&a, &b, codec_internal::kValueBytes<T>) == 0;
  }
};

template <typename A, typename B>
struct StateKeyEqual<std::pair<A, B>> {
  bool operator()(const std::pair<A, B>& a, const std::pair<A, B>& b) const {
    return StateKeyEqual<A>{}(a.first, b.first) && StateKeyEqual<B>{}(a.second, b.second);
  }
};

template <typename T>
struct StateKeyEqual<std::optional<T>> {
  bool operator()(const std::optional<T>& a, const std::optional<T>& b) const {
    return a.has_value() == b.has_value() && (!a || StateKeyEqual<T>{}(*a, *b));
  }
};

template <typename T, typename Alloc>
struct StateKeyEqual<std::vector<T, Alloc>> {
  bool operator()(const std::vector<T, Alloc>& a, const std::vector<T, Alloc>& b) const {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), StateKeyEqual<T>{});
  }
};

template <typename T, size_t N>
struct StateKeyEqual<std::array<T, N>> {
  bool operator()(const std::array<T, N>& a, const std::array<T, N>& b) const {
    return std::equal(a.begin(), a.end(), b.begin(), StateKeyEqual<T>{});
  }
};

// A map's bytes are what RocksDB compares, and what StateKeyHash hashes (an unordered map's
// follow its iteration order: two equal ones may be two keys, on every backend).
template <typename M>
struct EncodedBytesEqual {
  bool operator()(const M& a, const M& b) const { return EncodeToString(a) == EncodeToString(b); }
};
template <typename K, typename V, typename C, typename A>
struct StateKeyEqual<std::map<K, V, C, A>> : EncodedBytesEqual<std::map<K, V, C, A>> {};
template <typename K, typename V, typename H, typename E, typename A>
struct StateKeyEqual<std::unordered_map<K, V, H, E, A>>
    : EncodedBytesEqual<std::unordered_map<K, V, H, E, A>> {};

template <typename... Ts>
struct StateKeyEqual<std::tuple<Ts...>> {
  bool operator()(const std::tuple<Ts...>& a, const std::tuple<Ts...>& b) const {
    return [&]<size_t... I>(std::index_sequence<I...>) {
      return (StateKeyEqual<Ts>{}(std::get<I>(a), std::get<I>(b)) && ...);
    }(std::index_sequence_for<Ts...>{});
  }
};

template <typename K, typename V>
struct MapSlotTraits {
  static constexpr size_t kFixedSize = 0;
  using Map = MapEntries<K, V, StateKeyHash<K>, StateKeyEqual<K>>;
  static bool Present(const Map& m) { return !m.empty(); }
  static void Reset(Map& m) { m = Map(); }
  static void Encode(const Map& m, BufferWriter& out) {
    out.PutVarint64(m.size());
    std::string buf;
    for (const auto& [k, v] : m) {
      buf.clear();
      BufferWriter w(&buf);
      Codec<K>::Encode(k, w);
      out.PutLengthPrefixed(buf);
      buf.clear();
      Codec<V>::Encode(v, w);
      out.PutLengthPrefixed(buf);
    }
  }
  static bool Decode(std::string_view bytes, Map& out) {
    BufferReader r(bytes);
    uint64_t n;
    if (!r.GetVarint64(&n) || n > bytes.size()) return false;
    Map m;
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view kb, vb;
      K k;
      V v;
      if (!r.GetLengthPrefixed(&kb) || !r.GetLengthPrefixed(&vb) || !DecodeFromString(kb, k) ||
          !DecodeFromString(vb, v)) {
        return false;
      }
      m.InsertOrAssign(std::move(k), std::move(v));
    }
    if (!r.empty()) return false;
    out = std::move(m);
    return true;
  }
};

template <typename K, typename V>
class HeapMapTable final : public HeapTable<typename MapSlotTraits<K, V>::Map, MapSlotTraits<K, V>>,
                           public MapStateImpl<K, V> {
 public:
  using Map = typename MapSlotTraits<K, V>::Map;

  HeapMapTable(std::string name, const KeyId* current)
      : HeapTable<Map, MapSlotTraits<K, V>>(std::move(name), StateKind::kMap,
                                            typeid(std::pair<K, V>), MapSchemaOf<K, V>(), current) {}

  const V* Get(const K& key) override { return this->Read().Find(key); }
  void Put(const K& key, V value) override { this->Write().InsertOrAssign(key, std::move(value)); }
  // MapState::Upsert: an existing value changed where it is, in one lookup.
  template <typename Create, typename Update>
  bool Upsert(const K& key, Create& create, Update& update) {
    Map& m = this->Write();
    if (V* v = m.Find(key)) {
      update(*v);
      return false;
    }
    V value = create();
    update(value);
    m.InsertOrAssign(key, std::move(value));
    return true;
  }
  void Remove(const K& key) override {
    Map& m = this->Write();
    if (m.Erase(key) && m.empty()) this->NoteEmptied();
  }
  bool Contains(const K& key) override { return this->Read().Contains(key); }
  bool IsEmpty() override { return this->Read().empty(); }
  void Clear() override {
    this->Write() = Map();
    this->NoteEmptied();
  }
  void ForEach(const std::function<void(const K&, const V&)>& fn) override {
    // A copy: `fn` may modify the map.
    Map copy = this->Read();
    for (const auto& [k, v] : copy) fn(k, v);
  }
  void Keys(std::vector<K>* out) override {
    out->clear();
    for (const auto& entry : this->Read()) out->push_back(entry.first);
  }
};

// ---- Raw adapters -------------------------------------------------------------------------------

template <typename V>
class RawValueState final : public ValueStateImpl<V> {
 public:
  RawValueState(RawStateAccess* raw, int state, std::string_view name)
      : raw_(raw), state_(state), name_(name) {}

  const V* Get() override {
    if (!raw_->Get(state_, &buf_)) return nullptr;
    if (!DecodeFromString(buf_, value_)) {
      throw StateError(Status::Corruption("state '" + name_ + "': stored value does not decode").AsPermanent());
    }
    return &value_;
  }
  void Put(V value) override {
    buf_.clear();
    BufferWriter w(&buf_);
    Codec<V>::Encode(value, w);
    raw_->Put(state_, buf_);
  }
  void Clear() override { raw_->Delete(state_); }

 private:
  RawStateAccess* raw_;
  int state_;
  std::string name_;
  std::string buf_;
  V value_{};
};

template <typename V>
class RawListState final : public ListStateImpl<V> {
 public:
  RawListState(RawStateAccess* raw, int state, std::string_view name)
      : raw_(raw), state_(state), name_(name) {}

  const std::vector<V>& Get() override {
    list_.clear();
    if (!raw_->Get(state_, &buf_)) return list_;
    BufferReader r(buf_);
    while (!r.empty()) {
      std::string_view element;
      V v;
      if (!r.GetLengthPrefixed(&element) || !DecodeFromString(element, v)) {
        throw StateError(Status::Corruption("list state '" + name_ + "': stored element does not decode").AsPermanent());
      }
      list_.push_back(std::move(v));
    }
    return list_;
  }
  void Add(V value) override {
    buf_.clear();
    BufferWriter w(&buf_);
    EncodeElement(value, w);
    raw_->Append(state_, buf_);
  }
  void Update(std::vector<V> values) override {
    if (values.empty()) return Clear();
    buf_.clear();
    BufferWriter w(&buf_);
    for (const V& v : values) EncodeElement(v, w);
    raw_->Put(state_, buf_);
  }
  void Clear() override { raw_->Delete(state_); }

 private:
  void EncodeElement(const V& v, BufferWriter& w) {
    element_.clear();
    BufferWriter ew(&element_);
    Codec<V>::Encode(v, ew);
    w.PutLengthPrefixed(element_);
  }

  RawStateAccess* raw_;
  int state_;
  std::string name_;
  std::string buf_, element_;
  std::vector<V> list_;
};

template <typename K, typename V>
class RawMapState final : public MapStateImpl<K, V> {
 public:
  RawMapState(RawStateAccess* raw, int state, std::string_view name)
      : raw_(raw), state_(state), name_(name) {}

  const V* Get(const K& key) override {
    EncodeKey(key);
    if (!raw_->GetEntry(state_, key_buf_, &buf_)) return nullptr;
    if (!DecodeFromString(buf_, value_)) {
      throw StateError(Status::Corruption("map state '" + name_ + "': stored value does not decode").AsPermanent());
    }
    return &value_;
  }
  void Put(const K& key, V value) override {
    EncodeKey(key);
    buf_.clear();
    BufferWriter w(&buf_);
    Codec<V>::Encode(value, w);
    raw_->PutEntry(state_, key_buf_, buf_);
  }
  void Remove(const K& key) override {
    EncodeKey(key);
    raw_->DeleteEntry(state_, key_buf_);
  }
  bool Contains(const K& key) override {
    EncodeKey(key);
    return raw_->GetEntry(state_, key_buf_, &buf_);
  }
  bool IsEmpty() override {
    bool empty = true;
    raw_->ForEachEntry(state_, [&](std::string_view, std::string_view) { empty = false; });
    return empty;
  }
  void Clear() override { raw_->DeleteAllEntries(state_); }
  void ForEach(const std::function<void(const K&, const V&)>& fn) override {
    // Decode everything first: `fn` may modify the map.
    std::vector<std::pair<K, V>> entries;
    raw_->ForEachEntry(state_, [&](std::string_view kb, std::string_view vb) {
      K k;
      V v;
      if (!DecodeFromString(kb, k) || !DecodeFromString(vb, v)) {
        throw StateError(Status::Corruption("map state '" + name_ + "': stored entry does not decode").AsPermanent());
      }
      entries.emplace_back(std::move(k), std::move(v));
    });
    for (const auto& [k, v] : entries) fn(k, v);
  }
  void Keys(std::vector<K>* out) override {
    out->clear();
    raw_->ForEachEntry(state_, [&](std::string_view kb, std::string_view) {
      if (!DecodeFromString(kb, out->emplace_back())) {
        throw StateError(Status::Corruption("map state '" + name_ + "': stored key does not decode").AsPermanent());
      }
    });
  }

 private:
  void EncodeKey(const K& key) {
    key_buf_.clear();
    BufferWriter w(&key_buf_);
    Codec<K>::Encode(key, w);
  }

  RawStateAccess* raw_;
  int state_;
  std::string name_;
  std::string key_buf_, buf_;
  V value_{};
};

// ---- Factories used by RuntimeContext -----------------------------------------------------------

template <typename Table>
Table* FindOrAddHeapTable(HeapStateRegistry& heap, std::string_view name, StateKind kind,
                          const std::type_info& type,
                          std::function<std::unique_ptr<Table>()> make) {
  if (HeapStateTable* t = heap.FindTable(name)) {
    if (t->kind() != kind || t->type() != type) {
      throw StateError(Status::FailedPrecondition("state '" + std::string(name) + "' is already registered as " +
                       std::string(StateKindName(t->kind())) + " state of another type"));
    }
    return static_cast<Table*>(t);
  }
  return static_cast<Table*>(heap.AddTable(make()));
}

}  // namespace weir::detail
