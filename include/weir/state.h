// Keyed state: per-key values a KeyedProcessFunction keeps between records, as in Flink.
//
// A function declares its state in Open() through RuntimeContext, then reads and writes it in
// ProcessElement/OnTimer, where it always refers to the key of the record or timer at hand:
//
//   void Open(weir::RuntimeContext& ctx) override {
//     sum_ = ctx.GetState(weir::ValueStateDescriptor<int64_t>("sum"));
//   }
//   void ProcessElement(const int64_t& v, Context& ctx, weir::Collector<std::string>& out) override {
//     int64_t s = sum_.ValueOr(0) + v;
//     sum_.Update(s);
//   }
//
// State is part of every checkpoint and is restored, redistributed by key group, after a
// failure or a rescale. Value types need a weir::Codec (see weir/codec.h). Names identify
// state across checkpoints: keep them stable.
//
// Handles are cheap to copy and belong to the task thread that created them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "weir/detail/keyed_state.h"

namespace weir {

template <typename V>
struct ValueStateDescriptor {
  explicit ValueStateDescriptor(std::string name) : name(std::move(name)) {}
  std::string name;
};

template <typename V>
struct ListStateDescriptor {
  explicit ListStateDescriptor(std::string name) : name(std::move(name)) {}
  std::string name;
};

template <typename K, typename V>
struct MapStateDescriptor {
  explicit MapStateDescriptor(std::string name) : name(std::move(name)) {}
  std::string name;
};

// ReducingState keeps one value per key, folding each added value in with `reduce`.
template <typename V>
struct ReducingStateDescriptor {
  ReducingStateDescriptor(std::string name, std::function<V(const V&, const V&)> reduce)
      : name(std::move(name)), reduce(std::move(reduce)) {}
  std::string name;
  std::function<V(const V&, const V&)> reduce;
};

template <typename V>
class ValueState {
 public:
  ValueState() = default;
  explicit ValueState(detail::ValueStateImpl<V>* impl)
      : impl_(impl), heap_(dynamic_cast<detail::HeapValueTable<V>*>(impl)) {}

  // The current key's value, or nullopt.
  std::optional<V> Value() const {
    const V* v = Get();
    return v ? std::optional<V>(*v) : std::nullopt;
  }
  // The current key's value, or `fallback` if it has none.
  V ValueOr(V fallback) const {
    const V* v = Get();
    return v ? *v : fallback;
  }
  void Update(V value) {
    if (heap_ != nullptr) {
      heap_->Put(std::move(value));
    } else {
      impl_->Put(std::move(value));
    }
  }
  void Clear() { impl_->Clear(); }

 private:
  // Through the heap table's final class, the access is inlined into the caller's per-record
  // code instead of being a virtual call.
  const V* Get() const { return heap_ != nullptr ? heap_->Get() : impl_->Get(); }

  detail::ValueStateImpl<V>* impl_ = nullptr;
  detail::HeapValueTable<V>* heap_ = nullptr;  // impl_, when the backend is the heap
};

template <typename V>
class ListState {
 public:
  ListState() = default;
  explicit ListState(detail::ListStateImpl<V>* impl) : impl_(impl) {}

  // The current key's list (empty if none). The reference is valid until the next access.
  const std::vector<V>& Get() const { return impl_->Get(); }
  void Add(V value) { impl_->Add(std::move(value)); }
  void AddAll(const std::vector<V>& values) {
    for (const V& v : values) impl_->Add(v);
  }
  void Update(std::vector<V> values) { impl_->Update(std::move(values)); }
  void Clear() { impl_->Clear(); }

 private:
  detail::ListStateImpl<V>* impl_ = nullptr;
};

template <typename K, typename V>
class MapState {
 public:
  MapState() = default;
  explicit MapState(detail::MapStateImpl<K, V>* impl)
      : impl_(impl), heap_(dynamic_cast<detail::HeapMapTable<K, V>*>(impl)) {}

  std::optional<V> Get(const K& key) const {
    const V* v = Find(key);
    return v ? std::optional<V>(*v) : std::nullopt;
  }
  // The same without a copy: the current key's value at `key`, or null. The pointer is valid
  // until the next access to this state.
  const V* Find(const K& key) const { return heap_ != nullptr ? heap_->Get(key) : impl_->Get(key); }
  void Put(const K& key, V value) {
    if (heap_ != nullptr) {
      heap_->Put(key, std::move(value));
    } else {
      impl_->Put(key, std::move(value));
    }
  }
  // Changes the current key's value at `key`: update(V&) on it, or on create() if there is
  // none yet. True if it was created. On the heap backend an existing value changes where it
  // is, in one lookup; on others it is read, changed and written back, as Get and Put would.
  // `create` and `update` must not use this state. If `update` throws, a new value is not
  // kept, and an existing one may be left half changed on the heap (the task then fails).
  template <typename Create, typename Update>
  bool Upsert(const K& key, Create&& create, Update&& update) {
    if (heap_ != nullptr) return heap_->Upsert(key, create, update);
    std::optional<V> value = Get(key);
    const bool created = !value;
    if (created) value.emplace(create());
    update(*value);
    impl_->Put(key, std::move(*value));
    return created;
  }
  void Remove(const K& key) { impl_->Remove(key); }
  bool Contains(const K& key) const { return impl_->Contains(key); }
  bool IsEmpty() const { return impl_->IsEmpty(); }
  void Clear() { impl_->Clear(); }
  // Calls fn(key, value) for every entry of the current key, in no particular order.
  void ForEach(const std::function<void(const K&, const V&)>& fn) const { impl_->ForEach(fn); }
  // The current key's map keys, in no particular order, into *out (replacing its contents,
  // reusing its memory).
  void Keys(std::vector<K>* out) const { impl_->Keys(out); }
  std::vector<std::pair<K, V>> Entries() const {
    std::vector<std::pair<K, V>> out;
    impl_->ForEach([&out](const K& k, const V& v) { out.emplace_back(k, v); });
    return out;
  }

 private:
  // As in ValueState: the heap table's final class, so that per-record access is inlined.
  detail::MapStateImpl<K, V>* impl_ = nullptr;
  detail::HeapMapTable<K, V>* heap_ = nullptr;  // impl_, when the backend is the heap
};

template <typename V>
class ReducingState {
 public:
  ReducingState() = default;
  ReducingState(detail::ValueStateImpl<V>* impl, std::function<V(const V&, const V&)> reduce)
      : impl_(impl), reduce_(std::move(reduce)) {}

  std::optional<V> Get() const {
    const V* v = impl_->Get();
    return v ? std::optional<V>(*v) : std::nullopt;
  }
  void Add(const V& value) {
    const V* current = impl_->Get();
    impl_->Put(current ? reduce_(*current, value) : value);
  }
  void Clear() { impl_->Clear(); }

 private:
  detail::ValueStateImpl<V>* impl_ = nullptr;
  std::function<V(const V&, const V&)> reduce_;
};

}  // namespace weir
