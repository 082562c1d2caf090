// Every keyed state backend through the typed API a KeyedProcessFunction uses
// (RuntimeContext), parameterised over hashmap, rocksdb with full snapshots and rocksdb with
// incremental ones: per-key state of every kind, timers, snapshot and restore (also
// rescaled, split and merged), clear errors for incompatible or damaged state, and a
// randomised model test across snapshots and rescales.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "state/heap_keyed_state_backend.h"
#include "state/state_backend_test_util.h"
#include "state/state_write_cache.h"
#include "weir/detail/window_timers.h"
#include "weir/windows.h"

namespace weir {
namespace {

struct XThenY {
  int32_t x = 0;
  int64_t y = 0;
};
struct YThenX {
  int32_t x = 0;
  int64_t y = 0;
};
// The same struct, with a codec that names itself: version 1 wrote (x, y); version 2 writes
// (y, x) and reads version 1.
struct PointV1 {
  int32_t x = 0;
  int64_t y = 0;
};
struct PointV2 {
  int32_t x = 0;
  int64_t y = 0;
};

}  // namespace

template <>
struct Codec<XThenY> : FieldsCodec<XThenY, &XThenY::x, &XThenY::y> {};
template <>
struct Codec<YThenX> : FieldsCodec<YThenX, &YThenX::y, &YThenX::x> {};

template <>
struct Codec<PointV1> {
  static constexpr std::string_view kName = "Point";
  static constexpr int kVersion = 1;
  static void Encode(const PointV1& p, BufferWriter& w) {
    Codec<int32_t>::Encode(p.x, w);
    Codec<int64_t>::Encode(p.y, w);
  }
  static bool Decode(BufferReader& r, PointV1& p) {
    return Codec<int32_t>::Decode(r, p.x) && Codec<int64_t>::Decode(r, p.y);
  }
};

template <>
struct Codec<PointV2> {
  static constexpr std::string_view kName = "Point";
  static constexpr int kVersion = 2;
  static void Encode(const PointV2& p, BufferWriter& w) {
    Codec<int64_t>::Encode(p.y, w);
    Codec<int32_t>::Encode(p.x, w);
  }
  static bool Decode(BufferReader& r, PointV2& p) {
    return Codec<int64_t>::Decode(r, p.y) && Codec<int32_t>::Decode(r, p.x);
  }
  static bool DecodeVersion(int version, BufferReader& r, PointV2& p) {
    return version == 1 && Codec<int32_t>::Decode(r, p.x) && Codec<int64_t>::Decode(r, p.y);
  }
};

}  // namespace weir

namespace weir {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

struct BackendParam {
  std::string type;  // state.backend.type
  bool incremental;
  std::string name;
  size_t write_cache_entries = 16384;  // state.backend.rocksdb.write-cache.size, in entries
};

void PrintTo(const BackendParam& p, std::ostream* os) { *os << p.name; }

class StateBackendTest : public BackendTestBase, public ::testing::TestWithParam<BackendParam> {
 protected:
  StateBackendTest() {
    config_.Set("state.backend.type", GetParam().type);
    config_.Set("execution.checkpointing.incremental", GetParam().incremental ? "true" : "false");
    config_.Set("state.backend.rocksdb.localdir", dir_.Join("rocksdb"));
    // Small memtables, so state is spread over several SST files and compactions happen.
    config_.Set("state.backend.rocksdb.writebuffer.size", "256 kb");
    config_.Set("state.backend.rocksdb.write-cache.size",
                std::to_string(StateWriteCache::BytesForEntries(GetParam().write_cache_entries)));
  }

  // The keys in 0..n-1 with a value of state "v" (int32) in a snapshot.
  std::set<int> KeysInSnapshot(const Written& w, int n) {
    Subtask r = NewSubtask();
    Status s = Restore(*r.backend, {&w});
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto v = r.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
    std::set<int> keys;
    for (int k = 0; k < n; ++k) {
      SetKey(*r.backend, k);
      if (v.Value()) keys.insert(k);
    }
    return keys;
  }

  // A file of the snapshot that holds keyed state (not only timers).
  static const StateFile& StateFileOf(const Written& w) {
    for (const StateFile& f : w.handle.native_files) {
      // RocksDB's SSTs, the hashmap backend's key file.
      if (f.local_name.ends_with(".sst") || f.local_name.starts_with("keys-")) return f;
    }
    return *w.handle.canonical;
  }
};

TEST_P(StateBackendTest, ValueStateIsPerKey) {
  Subtask t = NewSubtask();
  ValueState<int64_t> sum = t.runtime->GetState(ValueStateDescriptor<int64_t>("sum"));
  SetKey(*t.backend, std::string("alice"));
  EXPECT_EQ(sum.Value(), std::nullopt);
  EXPECT_EQ(sum.ValueOr(-1), -1);
  sum.Update(10);
  SetKey(*t.backend, std::string("bob"));
  EXPECT_EQ(sum.Value(), std::nullopt) << "bob does not see alice's value";
  sum.Update(20);
  SetKey(*t.backend, std::string("alice"));
  EXPECT_EQ(sum.Value(), 10);
  sum.Update(sum.ValueOr(0) + 5);
  EXPECT_EQ(sum.Value(), 15);
  sum.Clear();
  EXPECT_EQ(sum.Value(), std::nullopt);
  SetKey(*t.backend, std::string("bob"));
  EXPECT_EQ(sum.Value(), 20);
}

TEST_P(StateBackendTest, ListStateAddGetUpdateClear) {
  Subtask t = NewSubtask();
  ListState<std::string> events = t.runtime->GetListState(ListStateDescriptor<std::string>("ev"));
  SetKey(*t.backend, 1);
  EXPECT_TRUE(events.Get().empty());
  events.Add("a");
  events.AddAll({"b", "c"});
  EXPECT_THAT(events.Get(), ElementsAre("a", "b", "c"));
  SetKey(*t.backend, 2);
  EXPECT_TRUE(events.Get().empty());
  events.Update({"x"});
  SetKey(*t.backend, 1);
  EXPECT_THAT(events.Get(), ElementsAre("a", "b", "c"));
  events.Update({"z", "y"});
  EXPECT_THAT(events.Get(), ElementsAre("z", "y"));
  events.Clear();
  EXPECT_TRUE(events.Get().empty());
  SetKey(*t.backend, 2);
  EXPECT_THAT(events.Get(), ElementsAre("x"));
}

TEST_P(StateBackendTest, MapStateOperations) {
  Subtask t = NewSubtask();
  MapState<std::string, int32_t> counts =
      t.runtime->GetMapState(MapStateDescriptor<std::string, int32_t>("counts"));
  SetKey(*t.backend, 7);
  EXPECT_TRUE(counts.IsEmpty());
  counts.Put("click", 1);
  counts.Put("view", 5);
  counts.Put("click", 2);
  EXPECT_FALSE(counts.IsEmpty());
  EXPECT_EQ(counts.Get("click"), 2);
  EXPECT_EQ(counts.Get("buy"), std::nullopt);
  EXPECT_TRUE(counts.Contains("view"));
  EXPECT_FALSE(counts.Contains("buy"));
  EXPECT_THAT(counts.Entries(), UnorderedElementsAre(std::pair<std::string, int32_t>("click", 2),
                                                     std::pair<std::string, int32_t>("view", 5)));
  int sum = 0;
  counts.ForEach([&sum](const std::string&, const int32_t& v) { sum += v; });
  EXPECT_EQ(sum, 7);
  SetKey(*t.backend, 8);
  EXPECT_TRUE(counts.IsEmpty());
  SetKey(*t.backend, 7);
  counts.Remove("click");
  counts.Remove("absent");
  EXPECT_THAT(counts.Entries(), ElementsAre(std::pair<std::string, int32_t>("view", 5)));
  counts.Clear();
  EXPECT_TRUE(counts.IsEmpty());
}

// A map key is its encoded bytes on every backend: a NaN key finds itself, 0.0 and -0.0 are
// two keys, and so in pairs and vectors; past the size where the heap indexes its entries too.
TEST_P(StateBackendTest, FloatingPointMapKeysAreOneKeyWhenTheirBitsAre) {
  Subtask t = NewSubtask();
  MapState<double, int32_t> by_value =
      t.runtime->GetMapState(MapStateDescriptor<double, int32_t>("by-value"));
  MapState<std::pair<int32_t, float>, int32_t> by_pair = t.runtime->GetMapState(
      MapStateDescriptor<std::pair<int32_t, float>, int32_t>("by-pair"));
  MapState<std::vector<double>, int32_t> by_vector = t.runtime->GetMapState(
      MapStateDescriptor<std::vector<double>, int32_t>("by-vector"));
  MapState<std::map<int32_t, double>, int32_t> by_map = t.runtime->GetMapState(
      MapStateDescriptor<std::map<int32_t, double>, int32_t>("by-map"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const float fnan = std::numeric_limits<float>::quiet_NaN();
  for (int filler : {0, 40}) {
    SetKey(*t.backend, filler);
    for (int i = 0; i < filler; ++i) {
      by_value.Put(1000.0 + i, i);
      by_pair.Put({i, 1.0f}, i);
      by_vector.Put({1.0 * i}, i);
      by_map.Put({{i, 1.0}}, i);
    }
    by_value.Put(nan, 1);
    by_value.Put(nan, 2);
    by_value.Put(0.0, 3);
    by_value.Put(-0.0, 4);
    by_pair.Put({7, fnan}, 5);
    by_pair.Put({7, fnan}, 6);
    by_vector.Put({nan, 0.0}, 7);
    by_vector.Put({nan, 0.0}, 8);
    by_vector.Put({nan, -0.0}, 9);
    EXPECT_EQ(by_value.Get(nan), 2) << filler;
    EXPECT_EQ(by_value.Get(0.0), 3) << filler;
    EXPECT_EQ(by_value.Get(-0.0), 4) << filler;
    EXPECT_EQ(by_value.Entries().size(), static_cast<size_t>(filler) + 3) << filler;
    EXPECT_EQ(by_pair.Get({7, fnan}), 6) << filler;
    EXPECT_EQ(by_pair.Entries().size(), static_cast<size_t>(filler) + 1) << filler;
    EXPECT_EQ(by_vector.Get({nan, 0.0}), 8) << filler;
    EXPECT_EQ(by_vector.Get({nan, -0.0}), 9) << filler;
    EXPECT_EQ(by_vector.Entries().size(), static_cast<size_t>(filler) + 2) << filler;
    by_map.Put({{1, 0.0}}, 10);
    by_map.Put({{1, -0.0}}, 11);
    by_map.Put({{1, 0.0}}, 12);
    EXPECT_EQ(by_map.Get({{1, 0.0}}), 12) << filler;
    EXPECT_EQ(by_map.Get({{1, -0.0}}), 11) << filler;
    by_value.Remove(nan);
    EXPECT_FALSE(by_value.Contains(nan)) << filler;
    EXPECT_TRUE(by_value.Contains(-0.0)) << filler;
  }
}

TEST_P(StateBackendTest, MapStateUpsertChangesAValueOrCreatesIt) {
  Subtask t = NewSubtask();
  MapState<std::string, std::string> seen =
      t.runtime->GetMapState(MapStateDescriptor<std::string, std::string>("seen"));
  const auto append = [&seen](const std::string& key, const std::string& what) {
    return seen.Upsert(key, [] { return std::string("["); }, [&](std::string& v) { v += what; });
  };
  SetKey(*t.backend, 7);
  EXPECT_TRUE(append("a", "1"));
  EXPECT_FALSE(append("a", "2"));
  EXPECT_TRUE(append("b", "3"));
  SetKey(*t.backend, 8);
  EXPECT_TRUE(append("a", "4"));
  SetKey(*t.backend, 7);
  EXPECT_THAT(seen.Entries(), UnorderedElementsAre(std::pair<std::string, std::string>("a", "[12"),
                                                   std::pair<std::string, std::string>("b", "[3")));
  // An update that throws leaves a new key out.
  EXPECT_THROW(seen.Upsert("c", [] { return std::string(); },
                           [](std::string&) { throw std::runtime_error("no"); }),
               std::runtime_error);
  EXPECT_FALSE(seen.Contains("c"));
  SetKey(*t.backend, 8);
  EXPECT_EQ(seen.Get("a"), "[4");
}

TEST_P(StateBackendTest, ReducingStateFoldsAddedValues) {
  Subtask t = NewSubtask();
  ReducingState<int64_t> max = t.runtime->GetReducingState(ReducingStateDescriptor<int64_t>(
      "max", [](const int64_t& a, const int64_t& b) { return std::max(a, b); }));
  SetKey(*t.backend, std::string("k"));
  EXPECT_EQ(max.Get(), std::nullopt);
  max.Add(3);
  max.Add(9);
  max.Add(4);
  EXPECT_EQ(max.Get(), 9);
  SetKey(*t.backend, std::string("j"));
  max.Add(-2);
  EXPECT_EQ(max.Get(), -2);
  SetKey(*t.backend, std::string("k"));
  max.Clear();
  EXPECT_EQ(max.Get(), std::nullopt);
  max.Add(1);
  EXPECT_EQ(max.Get(), 1);
}

TEST_P(StateBackendTest, DeclaringTheSameStateTwiceSharesIt) {
  Subtask t = NewSubtask();
  auto a = t.runtime->GetState(ValueStateDescriptor<int64_t>("sum"));
  auto b = t.runtime->GetState(ValueStateDescriptor<int64_t>("sum"));
  SetKey(*t.backend, 1);
  a.Update(42);
  EXPECT_EQ(b.Value(), 42);
}

TEST_P(StateBackendTest, RedeclaringAStateWithAnotherKindFails) {
  Subtask t = NewSubtask();
  (void)t.runtime->GetState(ValueStateDescriptor<int64_t>("s"));
  try {
    (void)t.runtime->GetListState(ListStateDescriptor<int64_t>("s"));
    FAIL() << "expected StateError";
  } catch (const detail::StateError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("'s'"), HasSubstr("already registered as value")));
  }
  EXPECT_THROW((void)t.runtime->GetReducingState(ReducingStateDescriptor<int64_t>(
                   "s", [](const int64_t& a, const int64_t& b) { return a + b; })),
               detail::StateError);
}

TEST_P(StateBackendTest, StateDeclaredAfterManyKeysSeesNoValues) {
  Subtask t = NewSubtask();
  auto first = t.runtime->GetState(ValueStateDescriptor<int32_t>("first"));
  for (int k = 0; k < 1000; ++k) {
    SetKey(*t.backend, k);
    first.Update(k);
  }
  auto late = t.runtime->GetListState(ListStateDescriptor<int32_t>("late"));
  for (int k = 0; k < 1000; ++k) {
    SetKey(*t.backend, k);
    ASSERT_TRUE(late.Get().empty());
    late.Add(k);
    ASSERT_EQ(first.Value(), k);
  }
}

TEST_P(StateBackendTest, KeyOutsideTheSubtasksKeyGroupsIsAStateError) {
  Subtask t = NewSubtask(KeyGroupRange::ForSubtask(128, 2, 0));
  int outside = 0;
  while (t.backend->key_groups().Contains(KeyGroupOf(outside))) ++outside;
  int inside = 0;
  while (!t.backend->key_groups().Contains(KeyGroupOf(inside))) ++inside;
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  SetKey(*t.backend, inside);
  v.Update(1);
  // Both ways a key is set: alone, and with the lookup hash a keyed operator computes first.
  const std::string bytes = EncodeToString(outside);
  for (bool with_hash : {false, true}) {
    try {
      if (with_hash) {
        t.backend->SetCurrentKey(bytes, detail::KeyHash(bytes));
      } else {
        t.backend->SetCurrentKey(bytes);
      }
      FAIL() << "expected StateError";
    } catch (const detail::StateError& e) {
      EXPECT_THAT(e.what(), AllOf(HasSubstr("Running Sum"), HasSubstr("[0, 63]"),
                                  HasSubstr("key selector")));
    }
    EXPECT_EQ(v.Value(), 1) << "the key set before stays the current key";
  }
  // The backend is still usable, and a snapshot does not trip over the rejected key.
  SetKey(*t.backend, inside);
  EXPECT_EQ(v.Value(), 1);
  Subtask r = SnapshotAndRestore(t);
  auto rv = r.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  SetKey(*r.backend, inside);
  EXPECT_EQ(rv.Value(), 1);
}

TEST_P(StateBackendTest, SnapshotAndRestoreGiveIdenticalState) {
  Subtask t = NewSubtask();
  auto value = t.runtime->GetState(ValueStateDescriptor<std::string>("value"));
  auto list = t.runtime->GetListState(ListStateDescriptor<int64_t>("list"));
  auto map = t.runtime->GetMapState(MapStateDescriptor<int32_t, std::vector<std::string>>("map"));
  auto reducing = t.runtime->GetReducingState(ReducingStateDescriptor<int64_t>(
      "reducing", [](const int64_t& a, const int64_t& b) { return a + b; }));
  TimerService timers(t.ctx->timer_service());
  for (int k = 0; k < 300; ++k) {
    SetKey(*t.backend, k);
    if (k % 2 == 0) value.Update("v" + std::to_string(k));
    for (int i = 0; i < k % 4; ++i) list.Add(k * 100 + i);
    if (k % 3 == 0) map.Put(k, {"a", std::to_string(k)});
    if (k % 5 == 0) reducing.Add(k);
    if (k % 7 == 0) timers.RegisterProcessingTimeTimer(5000 + k);
    if (k % 11 == 0) timers.RegisterEventTimeTimer(7000 + k);
  }

  Subtask r = SnapshotAndRestore(t);
  auto value2 = r.runtime->GetState(ValueStateDescriptor<std::string>("value"));
  auto list2 = r.runtime->GetListState(ListStateDescriptor<int64_t>("list"));
  auto map2 = r.runtime->GetMapState(MapStateDescriptor<int32_t, std::vector<std::string>>("map"));
  auto reducing2 = r.runtime->GetReducingState(ReducingStateDescriptor<int64_t>(
      "reducing", [](const int64_t& a, const int64_t& b) { return a + b; }));
  for (int k = 0; k < 300; ++k) {
    SetKey(*t.backend, k);
    SetKey(*r.backend, k);
    ASSERT_EQ(value2.Value(), value.Value()) << k;
    ASSERT_EQ(list2.Get(), list.Get()) << k;
    ASSERT_EQ(map2.Entries(), map.Entries()) << k;
    ASSERT_EQ(reducing2.Get(), reducing.Get()) << k;
  }
  std::set<std::tuple<TimeDomain, int64_t, std::string>> before, after;
  t.backend->timers().ForEach(
      [&](TimeDomain d, int64_t ts, const std::string& k) { before.emplace(d, ts, k); });
  r.backend->timers().ForEach(
      [&](TimeDomain d, int64_t ts, const std::string& k) { after.emplace(d, ts, k); });
  EXPECT_EQ(before.size(), 43u + 28u);
  EXPECT_EQ(after, before);
  // Restored reducing state keeps reducing with the declared function.
  SetKey(*r.backend, 10);
  reducing2.Add(1);
  EXPECT_EQ(reducing2.Get(), 11);
}

TEST_P(StateBackendTest, KeysAndValuesOfAnyLengthSurviveSnapshotAndRestore) {
  // Encoded lengths either side of a one-byte length prefix, and entries large enough that a
  // key group's section bypasses the write buffer. The second snapshot is sized from the first.
  const std::vector<size_t> lengths = {0, 1, 62, 63, 64, 126, 127, 128, 300, 16383, 70000};
  Subtask t = NewSubtask();
  auto value = t.runtime->GetState(ValueStateDescriptor<std::string>("value"));
  auto key = [](size_t k, size_t v) { return std::string(k, 'k') + "/" + std::to_string(v); };
  for (size_t k : lengths) {
    for (size_t v : lengths) {
      SetKey(*t.backend, key(k, v));
      value.Update(std::string(v, static_cast<char>('a' + v % 26)));
    }
  }
  (void)Snapshot(*t.backend);
  Subtask r = SnapshotAndRestore(t);
  auto value2 = r.runtime->GetState(ValueStateDescriptor<std::string>("value"));
  for (size_t k : lengths) {
    for (size_t v : lengths) {
      SetKey(*r.backend, key(k, v));
      ASSERT_EQ(value2.Value(), std::string(v, static_cast<char>('a' + v % 26))) << k << " " << v;
    }
  }
}

TEST_P(StateBackendTest, RestoredStateNeverDeclaredIsCarriedIntoLaterSnapshots) {
  Subtask t = NewSubtask();
  auto kept = t.runtime->GetState(ValueStateDescriptor<int32_t>("kept"));
  auto other = t.runtime->GetListState(ListStateDescriptor<int32_t>("other"));
  for (int k = 0; k < 50; ++k) {
    SetKey(*t.backend, k);
    kept.Update(k * 2);
    other.Add(k);
  }
  // The next run declares only "other"; "kept" must survive its checkpoint untouched.
  Subtask r1 = SnapshotAndRestore(t);
  auto other1 = r1.runtime->GetListState(ListStateDescriptor<int32_t>("other"));
  SetKey(*r1.backend, 3);
  other1.Add(300);
  Subtask r2 = SnapshotAndRestore(r1);
  auto kept2 = r2.runtime->GetState(ValueStateDescriptor<int32_t>("kept"));
  auto other2 = r2.runtime->GetListState(ListStateDescriptor<int32_t>("other"));
  for (int k = 0; k < 50; ++k) {
    SetKey(*r2.backend, k);
    ASSERT_EQ(kept2.Value(), k * 2) << k;
  }
  SetKey(*r2.backend, 3);
  EXPECT_THAT(other2.Get(), ElementsAre(3, 300));
}

// What an operator that moved its state elsewhere asks before declaring the old name.
TEST_P(StateBackendTest, UndeclaredRestoredStateIsSeenOnlyWhereItHoldsValues) {
  Subtask t = NewSubtask();
  auto old_layout = t.runtime->GetMapState(MapStateDescriptor<int32_t, int32_t>("old"));
  auto emptied = t.runtime->GetState(ValueStateDescriptor<int32_t>("emptied"));
  for (int k = 0; k < 10; ++k) {
    SetKey(*t.backend, k);
    old_layout.Put(k, k);
    emptied.Update(k);
    emptied.Clear();
  }
  EXPECT_FALSE(t.backend->HoldsUndeclaredState("old")) << "declared in this run";
  Subtask r = SnapshotAndRestore(t);
  EXPECT_TRUE(r.backend->HoldsUndeclaredState("old"));
  EXPECT_FALSE(r.backend->HoldsUndeclaredState("emptied"));
  EXPECT_FALSE(r.backend->HoldsUndeclaredState("never"));
  auto declared = r.runtime->GetMapState(MapStateDescriptor<int32_t, int32_t>("old"));
  EXPECT_FALSE(r.backend->HoldsUndeclaredState("old"));
  SetKey(*r.backend, 7);
  EXPECT_EQ(declared.Get(7), 7);
}

TEST_P(StateBackendTest, RestoredStateDeclaredWithAnotherKindFailsClearly) {
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int64_t>("total"));
  SetKey(*t.backend, 1);
  v.Update(5);
  Subtask r = SnapshotAndRestore(t);
  try {
    (void)r.runtime->GetListState(ListStateDescriptor<int64_t>("total"));
    FAIL() << "expected StateError";
  } catch (const detail::StateError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("'total'"), HasSubstr("declared as list state"),
                                HasSubstr("checkpoint holds value state")));
  }
  Subtask r2 = SnapshotAndRestore(t);
  EXPECT_THROW((void)r2.runtime->GetReducingState(ReducingStateDescriptor<int64_t>(
                   "total", [](const int64_t& a, const int64_t& b) { return a + b; })),
               detail::StateError);
}

// Declares state `name` of type V on a restored subtask; the StateError's status, or OK.
template <typename V>
Status Declare(Subtask& r, const std::string& name) {
  try {
    (void)r.runtime->GetState(ValueStateDescriptor<V>(name));
    return Status::OK();
  } catch (const detail::StateError& e) {
    return e.status();
  }
}

TEST_P(StateBackendTest, RestoredStateDeclaredWithAnIncompatibleTypeFailsClearly) {
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int64_t>("total"));
  SetKey(*t.backend, 1);
  v.Update(0x0102);
  // int64 to double has the same size, so nothing would fail to decode: the counts would
  // silently become garbage. It is refused when the state is declared, naming both codecs.
  for (const std::string declared : {"f64", "string"}) {
    Subtask r = SnapshotAndRestore(t);
    Status s =
        declared == "f64" ? Declare<double>(r, "total") : Declare<std::string>(r, "total");
    ASSERT_FALSE(s.ok()) << declared;
    EXPECT_TRUE(s.IsPermanent());
    EXPECT_THAT(s.message(),
                AllOf(HasSubstr("operator 'Running Sum' subtask 0: state 'total'"),
                      HasSubstr("holds value state written by codec 'i64'"),
                      HasSubstr("declares value state with codec '" + declared + "'")));
  }
  Subtask same = SnapshotAndRestore(t);
  EXPECT_TRUE(Declare<int64_t>(same, "total").ok());
}

TEST_P(StateBackendTest, ReorderedFieldsOfAUserStructAreRefused) {
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<XThenY>("point"));
  SetKey(*t.backend, 1);
  v.Update(XThenY{1, 2});
  Subtask r = SnapshotAndRestore(t);
  Status s = Declare<YThenX>(r, "point");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("codec 'fields<i32,i64>'"), HasSubstr("codec 'fields<i64,i32>'")));
}

TEST_P(StateBackendTest, ACodecThatReadsItsOlderVersionMigratesRestoredState) {
  Subtask t = NewSubtask();
  auto value = t.runtime->GetState(ValueStateDescriptor<PointV1>("value"));
  auto list = t.runtime->GetListState(ListStateDescriptor<PointV1>("list"));
  auto map = t.runtime->GetMapState(MapStateDescriptor<std::string, PointV1>("map"));
  for (int k = 0; k < 50; ++k) {
    SetKey(*t.backend, k);
    value.Update(PointV1{k, -k});
    list.Add(PointV1{k, 1});
    list.Add(PointV1{k, 2});
    map.Put("a", PointV1{k, 7});
  }
  Subtask r = SnapshotAndRestore(t);
  auto rv = r.runtime->GetState(ValueStateDescriptor<PointV2>("value"));
  auto rl = r.runtime->GetListState(ListStateDescriptor<PointV2>("list"));
  auto rm = r.runtime->GetMapState(MapStateDescriptor<std::string, PointV2>("map"));
  auto check = [](Subtask& s, ValueState<PointV2>& v, ListState<PointV2>& l,
                  MapState<std::string, PointV2>& m) {
    for (int k = 0; k < 50; ++k) {
      SetKey(*s.backend, k);
      ASSERT_TRUE(v.Value().has_value());
      EXPECT_EQ(v.Value()->x, k);
      EXPECT_EQ(v.Value()->y, -k);
      ASSERT_EQ(l.Get().size(), 2u);
      EXPECT_EQ(l.Get()[1].y, 2);
      ASSERT_TRUE(m.Get("a").has_value());
      EXPECT_EQ(m.Get("a")->y, 7);
    }
  };
  check(r, rv, rl, rm);
  // Its snapshots are of the new version.
  Subtask again = SnapshotAndRestore(r);
  auto av = again.runtime->GetState(ValueStateDescriptor<PointV2>("value"));
  auto al = again.runtime->GetListState(ListStateDescriptor<PointV2>("list"));
  auto am = again.runtime->GetMapState(MapStateDescriptor<std::string, PointV2>("map"));
  check(again, av, al, am);
}

TEST_P(StateBackendTest, AnotherKeyTypeIsRefused) {
  Subtask t = NewSubtask();
  t.backend->DeclareKeyCodec(CodecIdentity<int32_t>());
  auto v = t.runtime->GetState(ValueStateDescriptor<int64_t>("total"));
  SetKey(*t.backend, 1);
  v.Update(1);
  Subtask r = SnapshotAndRestore(t);
  try {
    r.backend->DeclareKeyCodec("string");
    FAIL() << "a string key type was accepted for i32 keys";
  } catch (const detail::StateError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("keys were written by codec 'i32'"),
                                HasSubstr("key type has codec 'string'")));
  }
  Subtask same = SnapshotAndRestore(t);
  same.backend->DeclareKeyCodec(CodecIdentity<int32_t>());
}

TEST_P(StateBackendTest, CurrentKeyDroppedByGarbageCollectionCanBeWrittenAgain) {
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  SetKey(*t.backend, 7);
  EXPECT_EQ(v.Value(), std::nullopt);
  (void)Snapshot(*t.backend);  // drops key 7 (no state), which is still the current key
  SetKey(*t.backend, 8);
  v.Update(8);
  SetKey(*t.backend, 7);
  v.Update(7);
  SetKey(*t.backend, 8);
  EXPECT_EQ(v.Value(), 8) << "key 7 must not share an id with key 8";
  Subtask r = SnapshotAndRestore(t);
  auto rv = r.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  SetKey(*r.backend, 7);
  EXPECT_EQ(rv.Value(), 7);
  SetKey(*r.backend, 8);
  EXPECT_EQ(rv.Value(), 8);
}

// A restore takes entries a few at a time while their index (or write cache) slots load,
// and writes other kinds as they come: every value of every state arrives, from a
// checkpoint and from a savepoint.
TEST_P(StateBackendTest, ManyKeysOfSeveralKindsRestoreFromCheckpointsAndSavepoints) {
  constexpr int kKeys = 3000;
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int64_t>("v"));
  auto w = t.runtime->GetState(ValueStateDescriptor<int64_t>("w"));
  auto l = t.runtime->GetListState(ListStateDescriptor<int32_t>("l"));
  for (int k = 0; k < kKeys; ++k) {
    SetKey(*t.backend, k);
    v.Update(int64_t{k} * 7);
    if (k % 3 == 0) w.Update(-k);
    if (k % 5 == 0) l.AddAll({k, k + 1});
  }
  for (bool savepoint : {false, true}) {
    SCOPED_TRACE(savepoint ? "savepoint" : "checkpoint");
    const Written& written = Snapshot(*t.backend, true, savepoint);
    Subtask r = NewSubtask();
    Status s = Restore(*r.backend, {&written});
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto rv = r.runtime->GetState(ValueStateDescriptor<int64_t>("v"));
    auto rw = r.runtime->GetState(ValueStateDescriptor<int64_t>("w"));
    auto rl = r.runtime->GetListState(ListStateDescriptor<int32_t>("l"));
    for (int k = 0; k < kKeys; ++k) {
      SetKey(*r.backend, k);
      ASSERT_EQ(rv.Value(), int64_t{k} * 7) << k;
      ASSERT_EQ(rw.Value(), k % 3 == 0 ? std::optional<int64_t>(-k) : std::nullopt) << k;
      if (k % 5 == 0) {
        ASSERT_THAT(rl.Get(), ElementsAre(k, k + 1)) << k;
      } else {
        ASSERT_TRUE(rl.Get().empty()) << k;
      }
    }
  }
}

TEST_P(StateBackendTest, RescaleSplitsKeysAndTimersByKeyGroupExactlyOnce) {
  constexpr int kKeys = 600;
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  TimerService timers(t.ctx->timer_service());
  for (int k = 0; k < kKeys; ++k) {
    SetKey(*t.backend, k);
    v.Update(k + 1);
    timers.RegisterProcessingTimeTimer(100 + k);
    timers.RegisterEventTimeTimer(200 + k);
  }
  const Written& full = Snapshot(*t.backend);

  std::vector<Subtask> halves;
  for (int i = 0; i < 2; ++i) {
    halves.push_back(NewSubtask(KeyGroupRange::ForSubtask(128, 2, i), i));
    ASSERT_TRUE(Restore(*halves.back().backend, {&full}).ok());
  }
  std::set<int> seen_keys;
  size_t seen_timers = 0;
  size_t keys_per_half[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    Subtask& h = halves[static_cast<size_t>(i)];
    auto hv = h.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
    for (int k = 0; k < kKeys; ++k) {
      if (!h.backend->key_groups().Contains(KeyGroupOf(k))) continue;
      SetKey(*h.backend, k);
      ASSERT_EQ(hv.Value(), k + 1) << "key " << k << " in subtask " << i;
      seen_keys.insert(k);
    }
    h.backend->timers().ForEach([&](TimeDomain d, int64_t ts, const std::string& key) {
      int k;
      ASSERT_TRUE(DecodeFromString(key, k));
      EXPECT_TRUE(h.backend->key_groups().Contains(KeyGroupOf(k)));
      EXPECT_EQ(ts, (d == TimeDomain::kEventTime ? 200 : 100) + k);
      ++seen_timers;
    });
    // The snapshot of each half holds exactly its own keys.
    const Written& w = Snapshot(*h.backend);
    EXPECT_EQ(w.handle.key_groups, h.backend->key_groups());
    std::set<int> in_snapshot = KeysInSnapshot(w, kKeys);
    for (int k : in_snapshot) {
      EXPECT_TRUE(h.backend->key_groups().Contains(KeyGroupOf(k))) << k;
      ++keys_per_half[static_cast<size_t>(i)];
    }
  }
  EXPECT_EQ(seen_keys.size(), static_cast<size_t>(kKeys));
  EXPECT_EQ(seen_timers, static_cast<size_t>(2 * kKeys));
  EXPECT_EQ(keys_per_half[0] + keys_per_half[1], static_cast<size_t>(kKeys));
  EXPECT_GT(keys_per_half[0], 0u);
  EXPECT_GT(keys_per_half[1], 0u);

  // Scale back in: both halves' snapshots restore into one subtask.
  const Written& h0 = written_[written_.size() - 2];
  const Written& h1 = written_[written_.size() - 1];
  Subtask whole = NewSubtask();
  ASSERT_TRUE(Restore(*whole.backend, {&h0, &h1}).ok());
  auto wv = whole.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  for (int k = 0; k < kKeys; ++k) {
    SetKey(*whole.backend, k);
    ASSERT_EQ(wv.Value(), k + 1) << k;
  }
  EXPECT_EQ(KeysInSnapshot(Snapshot(*whole.backend), kKeys).size(), static_cast<size_t>(kKeys));
  EXPECT_EQ(whole.backend->timers().size(), static_cast<size_t>(2 * kKeys));
}

TEST_P(StateBackendTest, RestoreFromACorruptFileFailsNamingOperatorAndFile) {
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  SetKey(*t.backend, 1);
  v.Update(1);
  const Written& w = Snapshot(*t.backend);
  std::string path = w.location->Absolute(StateFileOf(w));
  std::string data = testing::ReadFile(path);
  data[data.size() / 2] ^= 0x20;
  testing::WriteFile(path, data);
  Subtask r = NewSubtask();
  Status s = Restore(*r.backend, {&w});
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("restoring keyed state of operator 'Running Sum' subtask 0"),
                    HasSubstr(path), HasSubstr("checksum mismatch")));
}

TEST_P(StateBackendTest, RestoreFromAMissingFileFailsNamingTheFile) {
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  SetKey(*t.backend, 1);
  v.Update(1);
  const Written& w = Snapshot(*t.backend);
  std::string path = w.location->Absolute(StateFileOf(w));
  ASSERT_TRUE(FileSystem::Default()->DeleteFile(path).ok());
  Subtask r = NewSubtask();
  Status s = Restore(*r.backend, {&w});
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), AllOf(HasSubstr("Running Sum"), HasSubstr(path)));
}

TEST_P(StateBackendTest, RestoreWithAnotherMaxParallelismIsDetected) {
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  for (int k = 0; k < 200; ++k) {
    SetKey(*t.backend, k);
    v.Update(k);
  }
  const Written& w = Snapshot(*t.backend);
  Subtask r = NewSubtask(KeyGroupRange{0, 63}, 0, /*max_parallelism=*/64);
  Status s = Restore(*r.backend, {&w});
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("pipeline.max-parallelism"));
}

// Timers go where their keys' hashes say, as values do: one in another key group would fire on
// a subtask that never sees its key.
TEST_P(StateBackendTest, RestoredTimersAreCheckedAgainstTheirKeysKeyGroups) {
  Subtask t = NewSubtask();
  TimerService timers(t.ctx->timer_service());
  for (int k = 0; k < 200; ++k) {
    SetKey(*t.backend, k);
    timers.RegisterEventTimeTimer(1000 + k);
  }
  const Written& w = Snapshot(*t.backend);
  Subtask r = NewSubtask(KeyGroupRange{0, 63}, 0, /*max_parallelism=*/64);
  Status s = Restore(*r.backend, {&w});
  ASSERT_FALSE(s.ok()) << "timers restored into key groups their keys do not hash to";
  EXPECT_THAT(s.message(), HasSubstr("pipeline.max-parallelism"));
}

TEST_P(StateBackendTest, TimersFireInTimestampOrderAndRegisterOnce) {
  Subtask t = NewSubtask();
  HeapTimerService& timers = t.backend->timers();
  TimerService api(&timers);
  EXPECT_EQ(api.CurrentProcessingTime(), 1'000'000);
  clock_.AdvanceMillis(5);
  EXPECT_EQ(api.CurrentProcessingTime(), 1'000'005);
  EXPECT_EQ(timers.NextTimestamp(), std::numeric_limits<int64_t>::max());

  SetKey(*t.backend, std::string("b"));
  api.RegisterProcessingTimeTimer(300);
  api.RegisterProcessingTimeTimer(100);
  api.RegisterProcessingTimeTimer(100);  // same key and time: one timer
  SetKey(*t.backend, std::string("a"));
  api.RegisterProcessingTimeTimer(300);
  api.RegisterProcessingTimeTimer(200);
  api.DeleteProcessingTimeTimer(200);
  api.DeleteProcessingTimeTimer(999);  // never registered: no-op
  EXPECT_EQ(timers.size(), 3u);
  EXPECT_EQ(timers.NextTimestamp(), 100);

  int64_t ts;
  std::string key;
  EXPECT_FALSE(timers.PopDue(99, &ts, &key));
  ASSERT_TRUE(timers.PopDue(100, &ts, &key));
  EXPECT_EQ(ts, 100);
  EXPECT_EQ(key, EncodeToString(std::string("b")));
  EXPECT_FALSE(timers.PopDue(299, &ts, &key));
  std::vector<std::string> order;
  while (timers.PopDue(1000, &ts, &key)) {
    EXPECT_EQ(ts, 300);
    std::string k;
    ASSERT_TRUE(DecodeFromString(key, k));
    order.push_back(k);
  }
  EXPECT_THAT(order, ElementsAre("a", "b")) << "equal timestamps fire in key-byte order";
  EXPECT_EQ(timers.size(), 0u);
}

TEST_P(StateBackendTest, ADeletedTimerRegisteredAgainFiresOnceAndDeletedOnesNever) {
  Subtask t = NewSubtask();
  HeapTimerService& timers = t.backend->timers();
  TimerService api(&timers);
  SetKey(*t.backend, std::string("a"));
  api.RegisterEventTimeTimer(10);
  api.DeleteEventTimeTimer(10);
  api.RegisterEventTimeTimer(10);  // again, after its delete: one timer, not two
  for (int64_t ts = 100; ts < 400; ++ts) api.RegisterEventTimeTimer(ts);
  for (int64_t ts = 100; ts < 400; ts += 2) api.DeleteEventTimeTimer(ts);
  EXPECT_EQ(timers.size(), 151u);

  std::vector<int64_t> fired;
  int64_t ts;
  std::string key;
  while (timers.PopDueEventTimer(1000, &ts, &key)) fired.push_back(ts);
  ASSERT_EQ(fired.size(), 151u);
  EXPECT_EQ(fired[0], 10);
  for (size_t i = 1; i < fired.size(); ++i) {
    EXPECT_EQ(fired[i], 101 + 2 * static_cast<int64_t>(i - 1));
  }
  EXPECT_EQ(timers.size(), 0u);
}

TEST_P(StateBackendTest, MapStateFindAndKeysSeeOnlyTheCurrentKeysEntries) {
  Subtask t = NewSubtask();
  auto map = t.runtime->GetMapState(MapStateDescriptor<std::pair<int64_t, uint8_t>, int64_t>("m"));
  SetKey(*t.backend, std::string("a"));
  map.Put({10, 0}, 100);
  map.Put({10, 1}, 101);
  SetKey(*t.backend, std::string("b"));
  map.Put({20, 0}, 200);
  EXPECT_EQ(map.Find({10, 0}), nullptr);
  std::vector<std::pair<int64_t, uint8_t>> keys{{1, 1}, {2, 2}, {3, 3}};  // replaced
  map.Keys(&keys);
  EXPECT_THAT(keys, ElementsAre(std::pair<int64_t, uint8_t>(20, 0)));

  SetKey(*t.backend, std::string("a"));
  const int64_t* v = map.Find({10, 1});
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 101);
  map.Keys(&keys);
  EXPECT_THAT(keys, UnorderedElementsAre(std::pair<int64_t, uint8_t>(10, 0),
                                         std::pair<int64_t, uint8_t>(10, 1)));
  map.Remove({10, 0});
  map.Remove({10, 1});
  map.Keys(&keys);
  EXPECT_TRUE(keys.empty());
}

// The window operator's timers: the engine keeps one timer per key and time while any window
// of the key has one there, and drops it with the last, so that a session growing with each
// record leaves no dead timers behind.
TEST_P(StateBackendTest, AWindowTimerLeavesTheEngineWithTheLastWindowAtItsTime) {
  Subtask t = NewSubtask();
  HeapTimerService& engine = t.backend->timers();
  detail::WindowTimers<TimeWindow> timers;
  timers.Open(*t.runtime, *t.backend, &engine, std::nullopt, false, true);
  const TimeWindow first{0, 100}, second{50, 100}, later{100, 200};
  SetKey(*t.backend, std::string("a"));
  timers.Register(TimeDomain::kEventTime, 99, first);
  timers.Register(TimeDomain::kEventTime, 99, second);
  timers.Register(TimeDomain::kEventTime, 99, first);  // again: one registration
  timers.Register(TimeDomain::kEventTime, 199, later);
  timers.Register(TimeDomain::kProcessingTime, 99, first);
  EXPECT_EQ(engine.size(), 3u);

  timers.Delete(TimeDomain::kEventTime, 99, first);
  EXPECT_EQ(engine.size(), 3u) << "the second window still has a timer at 99";
  timers.Delete(TimeDomain::kEventTime, 99, later);  // not registered there: no-op
  timers.Delete(TimeDomain::kEventTime, 99, second);
  EXPECT_EQ(engine.size(), 2u);

  timers.Register(TimeDomain::kEventTime, 199, first);
  std::vector<TimeWindow> due;
  int64_t ts;
  std::string key;
  ASSERT_TRUE(engine.PopDueEventTimer(1000, &ts, &key));
  EXPECT_EQ(ts, 199);
  timers.TakeDue(TimeDomain::kEventTime, ts, &due);
  EXPECT_THAT(due, ElementsAre(first, later));
  EXPECT_FALSE(engine.PopDueEventTimer(1000, &ts, &key));
  timers.TakeDue(TimeDomain::kEventTime, 199, &due);
  EXPECT_TRUE(due.empty()) << "taken once";
  ASSERT_TRUE(engine.PopDue(1'000'000'000, &ts, &key));
  timers.TakeDue(TimeDomain::kProcessingTime, ts, &due);
  EXPECT_THAT(due, ElementsAre(first));
}

// Windows of one size on one grid: a timer at a window's last millisecond names the window.
// Registered with `named_only`, it is the engine's timer alone; taken without, the named
// window is adopted when nothing was recorded at its time (a snapshot from the other kind of
// job). A time at which no window ends names none.
TEST_P(StateBackendTest, AWindowNamedByItsTimerNeedsNoRecordOfIt) {
  Subtask t = NewSubtask();
  HeapTimerService& engine = t.backend->timers();
  detail::WindowTimers<TimeWindow> named, recorded;
  const detail::WindowGrid grid{100, 50, 0};  // [0,100), [50,150), ...
  named.Open(*t.runtime, *t.backend, &engine, grid, true, false);
  recorded.Open(*t.runtime, *t.backend, &engine, grid, false, false);
  const TimeWindow w{0, 100}, next{50, 150};
  SetKey(*t.backend, std::string("a"));
  named.Register(TimeDomain::kEventTime, 99, w);
  named.Register(TimeDomain::kEventTime, 99, w);
  named.Register(TimeDomain::kEventTime, 149, next);
  EXPECT_EQ(engine.size(), 2u);
  named.Delete(TimeDomain::kEventTime, 149, next);
  EXPECT_EQ(engine.size(), 1u);

  int64_t ts;
  std::string key;
  std::vector<TimeWindow> due;
  ASSERT_TRUE(engine.PopDueEventTimer(1000, &ts, &key));
  EXPECT_EQ(named.TakeDue(TimeDomain::kEventTime, ts, &due), std::nullopt);
  EXPECT_THAT(due, ElementsAre(w));

  // A named timer taken by a job that records its windows: adopted, and said so.
  named.Register(TimeDomain::kEventTime, 1099, TimeWindow{1000, 1100});
  ASSERT_TRUE(engine.PopDueEventTimer(2000, &ts, &key));
  EXPECT_EQ(recorded.TakeDue(TimeDomain::kEventTime, ts, &due), (TimeWindow{1000, 1100}));
  EXPECT_THAT(due, ElementsAre(TimeWindow{1000, 1100}));
  // A recorded cleanup timer two slides after a window's end shares its time with the window
  // the time names, which a named snapshot left unrecorded: both are due, the named one adopted.
  recorded.Register(TimeDomain::kEventTime, 1399, TimeWindow{1200, 1300});
  named.Register(TimeDomain::kEventTime, 1399, TimeWindow{1300, 1400});
  ASSERT_TRUE(engine.PopDueEventTimer(2000, &ts, &key));
  EXPECT_EQ(recorded.TakeDue(TimeDomain::kEventTime, ts, &due), (TimeWindow{1300, 1400}));
  EXPECT_THAT(due, ElementsAre(TimeWindow{1200, 1300}, TimeWindow{1300, 1400}));
  EXPECT_EQ(engine.size(), 0u);

  // Recorded windows restored into a named job (which records none itself, so declares the
  // record only when a restore brings one): found, with the named one, once each. A cleanup
  // timer 70 ms after a window's end names nothing: [1170,1270) is no window of the grid.
  recorded.Register(TimeDomain::kEventTime, 1199, TimeWindow{1100, 1200});
  recorded.Register(TimeDomain::kEventTime, 1199, TimeWindow{1150, 1200});
  recorded.Register(TimeDomain::kEventTime, 1269, TimeWindow{1100, 1200});
  Subtask r = SnapshotAndRestore(t);
  HeapTimerService& restored_engine = r.backend->timers();
  detail::WindowTimers<TimeWindow> restored;
  restored.Open(*r.runtime, *r.backend, &restored_engine, grid, true, false);
  ASSERT_TRUE(restored_engine.PopDueEventTimer(2000, &ts, &key));
  SetKey(*r.backend, std::string("a"));
  EXPECT_EQ(restored.TakeDue(TimeDomain::kEventTime, ts, &due), std::nullopt);
  EXPECT_THAT(due, ElementsAre(TimeWindow{1100, 1200}, TimeWindow{1150, 1200}));
  ASSERT_TRUE(restored_engine.PopDueEventTimer(2000, &ts, &key));
  EXPECT_EQ(restored.TakeDue(TimeDomain::kEventTime, ts, &due), std::nullopt);
  EXPECT_THAT(due, ElementsAre(TimeWindow{1100, 1200}));
  EXPECT_EQ(restored_engine.size(), 0u);
}

TEST_P(StateBackendTest, EventTimeTimersFireWhenTheWatermarkPassesThemAndNotOnTheClock) {
  Subtask t = NewSubtask();
  HeapTimerService& timers = t.backend->timers();
  TimerService api(&timers);
  EXPECT_EQ(api.CurrentWatermark(), detail::kMinWatermark);
  SetKey(*t.backend, std::string("a"));
  api.RegisterEventTimeTimer(50);
  api.RegisterEventTimeTimer(10);
  api.RegisterProcessingTimeTimer(10);
  SetKey(*t.backend, std::string("b"));
  api.RegisterEventTimeTimer(10);
  api.RegisterEventTimeTimer(30);
  api.DeleteEventTimeTimer(30);
  EXPECT_EQ(timers.size(), 4u);
  EXPECT_EQ(timers.NextTimestamp(), 10) << "only the processing-time timer counts for the clock";

  int64_t ts;
  std::string key;
  EXPECT_FALSE(timers.PopDueEventTimer(9, &ts, &key));
  EXPECT_EQ(api.CurrentWatermark(), 9);
  std::vector<std::pair<int64_t, std::string>> fired;
  while (timers.PopDueEventTimer(49, &ts, &key)) {
    std::string k;
    ASSERT_TRUE(DecodeFromString(key, k));
    fired.emplace_back(ts, k);
  }
  EXPECT_THAT(fired, ElementsAre(std::pair<int64_t, std::string>{10, "a"},
                                 std::pair<int64_t, std::string>{10, "b"}));
  EXPECT_FALSE(timers.PopDueEventTimer(20, &ts, &key)) << "a lower watermark changes nothing";
  EXPECT_EQ(api.CurrentWatermark(), 49);
  ASSERT_TRUE(timers.PopDueEventTimer(50, &ts, &key));
  EXPECT_EQ(ts, 50);
  EXPECT_EQ(timers.size(), 1u);  // the processing-time one
}

TEST_P(StateBackendTest, TimersOfKeysWithoutStateSurviveSnapshotAndRestore) {
  Subtask t = NewSubtask();
  TimerService api(t.ctx->timer_service());
  for (int k = 0; k < 20; ++k) {
    SetKey(*t.backend, k);
    api.RegisterProcessingTimeTimer(1000 - k);
  }
  Subtask r = SnapshotAndRestore(t);
  ASSERT_EQ(r.backend->timers().size(), 20u);
  EXPECT_EQ(r.backend->timers().NextTimestamp(), 981);
  int64_t ts;
  std::string key;
  ASSERT_TRUE(r.backend->timers().PopDue(981, &ts, &key));
  EXPECT_EQ(key, EncodeToString(19));
  // A restored timer can be deleted through the API for its key.
  SetKey(*r.backend, 0);
  TimerService(&r.backend->timers()).DeleteProcessingTimeTimer(1000);
  EXPECT_EQ(r.backend->timers().size(), 18u);
}

// ---- Randomized model test ------------------------------------------------------------------

struct KeyModel {
  std::optional<int64_t> value;
  std::vector<std::string> list;
  std::map<int32_t, std::string> map;
  std::optional<int64_t> reducing;
  bool empty() const { return !value && list.empty() && map.empty() && !reducing; }
};

struct States {
  ValueState<int64_t> value;
  ListState<std::string> list;
  MapState<int32_t, std::string> map;
  ReducingState<int64_t> reducing;

  static States Declare(RuntimeContext& rc) {
    return States{rc.GetState(ValueStateDescriptor<int64_t>("value")),
                  rc.GetListState(ListStateDescriptor<std::string>("list")),
                  rc.GetMapState(MapStateDescriptor<int32_t, std::string>("map")),
                  rc.GetReducingState(ReducingStateDescriptor<int64_t>(
                      "reducing", [](const int64_t& a, const int64_t& b) { return a + b; }))};
  }
};

void ExpectMatches(const States& s, const KeyModel& m, int key) {
  ASSERT_EQ(s.value.Value(), m.value) << "value of key " << key;
  ASSERT_EQ(s.list.Get(), m.list) << "list of key " << key;
  std::map<int32_t, std::string> actual;
  for (const auto& [k, v] : s.map.Entries()) actual.emplace(k, v);
  ASSERT_EQ(actual, m.map) << "map of key " << key;
  ASSERT_EQ(s.map.IsEmpty(), m.map.empty()) << key;
  ASSERT_EQ(s.reducing.Get(), m.reducing) << "reducing of key " << key;
}

TEST_P(StateBackendTest, RandomOperationsMatchAModelAcrossSnapshotsAndRescales) {
  std::mt19937_64 rng(testing::TestSeed());
  constexpr int kKeySpace = 400;
  std::map<int, KeyModel> model;
  std::set<std::tuple<TimeDomain, int64_t, int>> timer_model;

  // Either one subtask over all key groups, or two over halves; keys go to their owner.
  std::vector<Subtask> subtasks;
  std::vector<States> states;
  subtasks.push_back(NewSubtask());
  states.push_back(States::Declare(*subtasks[0].runtime));
  auto owner = [&](int key) -> size_t {
    for (size_t i = 0; i < subtasks.size(); ++i) {
      if (subtasks[i].backend->key_groups().Contains(KeyGroupOf(key))) return i;
    }
    ADD_FAILURE() << "no owner for key " << key;
    return 0;
  };
  auto verify_all = [&]() {
    for (int k = 0; k < kKeySpace; ++k) {
      size_t o = owner(k);
      SetKey(*subtasks[o].backend, k);
      KeyModel empty;
      auto it = model.find(k);
      ExpectMatches(states[o], it == model.end() ? empty : it->second, k);
      if (::testing::Test::HasFatalFailure()) return;
    }
    std::set<std::tuple<TimeDomain, int64_t, int>> timers;
    for (Subtask& s : subtasks) {
      s.backend->timers().ForEach([&](TimeDomain d, int64_t ts, const std::string& key) {
        int k = -1;
        EXPECT_TRUE(DecodeFromString(key, k));
        timers.emplace(d, ts, k);
      });
    }
    ASSERT_EQ(timers, timer_model);
  };

  for (int round = 0; round < 20; ++round) {
    for (int op = 0; op < 4000; ++op) {
      int key = static_cast<int>(rng() % kKeySpace);
      size_t o = owner(key);
      SetKey(*subtasks[o].backend, key);
      States& s = states[o];
      KeyModel& m = model[key];
      switch (rng() % 12) {
        case 0: {
          int64_t v = static_cast<int64_t>(rng() % 1000);
          s.value.Update(v);
          m.value = v;
          break;
        }
        case 1:
          s.value.Clear();
          m.value.reset();
          break;
        case 2: {
          std::string e(rng() % 5, static_cast<char>('a' + rng() % 26));
          s.list.Add(e);
          m.list.push_back(e);
          break;
        }
        case 3: {
          std::vector<std::string> l(rng() % 3, "u");
          s.list.Update(l);
          m.list = l;
          break;
        }
        case 4:
          s.list.Clear();
          m.list.clear();
          break;
        case 5:
        case 6: {
          int32_t uk = static_cast<int32_t>(rng() % 8);
          std::string v = std::to_string(rng() % 100);
          s.map.Put(uk, v);
          m.map[uk] = v;
          break;
        }
        case 7: {
          int32_t uk = static_cast<int32_t>(rng() % 8);
          s.map.Remove(uk);
          m.map.erase(uk);
          break;
        }
        case 8:
          if (rng() % 4 == 0) {
            s.map.Clear();
            m.map.clear();
          }
          break;
        case 9: {
          int64_t v = static_cast<int64_t>(rng() % 50);
          s.reducing.Add(v);
          m.reducing = m.reducing.value_or(0) + v;
          break;
        }
        case 10: {
          if (rng() % 3 == 0) {
            s.reducing.Clear();
            m.reducing.reset();
          }
          break;
        }
        case 11: {
          int64_t ts = static_cast<int64_t>(rng() % 20);
          TimerService api(&subtasks[o].backend->timers());
          const bool event_time = rng() % 2 == 0;
          const TimeDomain d = event_time ? TimeDomain::kEventTime : TimeDomain::kProcessingTime;
          if (rng() % 3 == 0) {
            event_time ? api.DeleteEventTimeTimer(ts) : api.DeleteProcessingTimeTimer(ts);
            timer_model.erase({d, ts, key});
          } else {
            event_time ? api.RegisterEventTimeTimer(ts) : api.RegisterProcessingTimeTimer(ts);
            timer_model.emplace(d, ts, key);
          }
          break;
        }
      }
      if (rng() % 50 == 0) {  // spot check the key just touched
        ExpectMatches(s, m, key);
        if (HasFatalFailure()) return;
      }
    }
    verify_all();
    if (HasFatalFailure()) return;

    // Checkpoint every subtask, then restore with a random new parallelism (1 or 2).
    std::vector<const Written*> snapshots;
    for (Subtask& s : subtasks) snapshots.push_back(&Snapshot(*s.backend));
    if (GetParam().type == "hashmap") {
      size_t live = 0;
      for (Subtask& s : subtasks) {
        live += static_cast<HeapKeyedStateBackend&>(*s.backend).live_keys();
      }
      size_t non_empty = 0;
      for (const auto& [k, m] : model) non_empty += m.empty() ? 0 : 1;
      ASSERT_EQ(live, non_empty) << "after a snapshot only keys with state remain";
    }

    int parallelism = 1 + static_cast<int>(rng() % 2);
    std::vector<Subtask> next;
    std::vector<States> next_states;
    for (int i = 0; i < parallelism; ++i) {
      next.push_back(NewSubtask(KeyGroupRange::ForSubtask(128, parallelism, i), i));
      Status st = Restore(*next.back().backend, snapshots);
      ASSERT_TRUE(st.ok()) << st.ToString();
      next_states.push_back(States::Declare(*next.back().runtime));
    }
    subtasks = std::move(next);
    states = std::move(next_states);
    verify_all();
    if (HasFatalFailure()) return;
  }
}

// A snapshot holds the state as it was at the barrier, however the task changes it before
// (or while) the snapshot is written: values updated and cleared, keys added, lists and maps
// changed. The second variant writes the snapshot on another thread while the task mutates,
// as in a job (and under TSan, checks the two do not race).
class SnapshotIsolationTest : public StateBackendTest {
 protected:
  struct Handles {
    ValueState<int64_t> v;
    ListState<int32_t> l;
    MapState<int32_t, std::string> m;
  };
  static Handles Declare(RuntimeContext& rt) {
    return {rt.GetState(ValueStateDescriptor<int64_t>("v")),
            rt.GetListState(ListStateDescriptor<int32_t>("l")),
            rt.GetMapState(MapStateDescriptor<int32_t, std::string>("m"))};
  }
  static void Fill(KeyedStateBackend& b, Handles& h, int keys, int round) {
    for (int k = 0; k < keys; ++k) {
      SetKey(b, k);
      if ((k + round) % 7 == 0) {
        h.v.Clear();
        h.l.Clear();
        h.m.Clear();
        continue;
      }
      h.v.Update(int64_t{k} * 1000 + round);
      h.l.Add(round);
      // Changed where it is on the heap, first of the key's changes (so that it, and not a Put,
      // copies what the snapshot shares): the snapshot must still see it as it was.
      h.m.Upsert(3, [] { return std::string("rounds"); },
                 [round](std::string& v) { v += " " + std::to_string(round); });
      h.m.Put(round % 3, std::to_string(k + round));
    }
  }
  // Everything a backend holds for keys 0..keys-1, as text.
  static std::string Dump(KeyedStateBackend& b, Handles& h, int keys) {
    std::string out;
    for (int k = 0; k < keys; ++k) {
      SetKey(b, k);
      out += std::to_string(k) + ":" + std::to_string(h.v.ValueOr(-1)) + "[";
      for (int32_t x : h.l.Get()) out += std::to_string(x) + ",";
      out += "]{";
      std::map<int32_t, std::string> sorted;
      for (const auto& [mk, mv] : h.m.Entries()) sorted[mk] = mv;
      for (const auto& [mk, mv] : sorted) out += std::to_string(mk) + "=" + mv + ",";
      out += "}\n";
    }
    return out;
  }
};

TEST_P(SnapshotIsolationTest, ChangesAfterTheBarrierAreNotInTheSnapshot) {
  constexpr int kKeys = 3000;  // several copy-on-write chunks
  Subtask t = NewSubtask();
  Handles h = Declare(*t.runtime);
  Fill(*t.backend, h, kKeys, 1);
  std::string at_barrier = Dump(*t.backend, h, kKeys);
  auto snapshot = t.backend->Snapshot(1, /*savepoint=*/false);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  for (int round = 2; round < 5; ++round) Fill(*t.backend, h, kKeys + 500, round);
  ASSERT_TRUE(FileSystem::Default()->CreateDirs(dir_.Join("chk-1")).ok());
  SnapshotLocation location(FileSystem::Default(), dir_.path(), "chk-1");
  auto handle = (*snapshot)->Write(location);
  ASSERT_TRUE(handle.ok()) << handle.status().ToString();
  Written w;
  w.handle = *handle;
  w.location = std::make_unique<SnapshotLocation>(location);
  Subtask r = NewSubtask();
  ASSERT_TRUE(Restore(*r.backend, {&w}).ok());
  Handles rh = Declare(*r.runtime);
  EXPECT_EQ(
      Dump(*r.backend, rh, kKeys + 500), at_barrier + [] {
        std::string none;
        for (int k = kKeys; k < kKeys + 500; ++k) none += std::to_string(k) + ":-1[]{}\n";
        return none;
      }());
}

TEST_P(SnapshotIsolationTest, ASnapshotWrittenConcurrentlyWithUpdatesHoldsTheBarrierState) {
  constexpr int kKeys = 3000;
  Subtask t = NewSubtask();
  Handles h = Declare(*t.runtime);
  for (int cycle = 1; cycle <= 3; ++cycle) {
    Fill(*t.backend, h, kKeys, cycle);
    std::string at_barrier = Dump(*t.backend, h, kKeys);
    auto snapshot = t.backend->Snapshot(cycle, /*savepoint=*/false);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    std::string chk = "chk-" + std::to_string(cycle);
    ASSERT_TRUE(FileSystem::Default()->CreateDirs(dir_.Join(chk)).ok());
    SnapshotLocation location(FileSystem::Default(), dir_.path(), chk);
    Result<KeyedStateHandle> handle = Status::Internal("not written");
    std::thread writer([&] { handle = (*snapshot)->Write(location); });
    for (int round = 10; round < 13; ++round) Fill(*t.backend, h, kKeys, cycle * 100 + round);
    writer.join();
    ASSERT_TRUE(handle.ok()) << handle.status().ToString();
    t.backend->NotifyCheckpointComplete(cycle);
    Written w;
    w.handle = *handle;
    w.location = std::make_unique<SnapshotLocation>(location);
    Subtask r = NewSubtask();
    ASSERT_TRUE(Restore(*r.backend, {&w}).ok());
    Handles rh = Declare(*r.runtime);
    EXPECT_EQ(Dump(*r.backend, rh, kKeys), at_barrier) << "cycle " << cycle;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SnapshotIsolationTest,
                         ::testing::Values(BackendParam{"hashmap", false, "hashmap"},
                                           BackendParam{"hashmap", true, "hashmap_incremental"},
                                           BackendParam{"rocksdb", false, "rocksdb"},
                                           BackendParam{"rocksdb", true, "rocksdb_incremental"},
                                           BackendParam{"rocksdb", true, "rocksdb_cache4", 4}),
                         [](const auto& info) { return info.param.name; });

// rocksdb_cache4 evicts from its StateWriteCache all the time; rocksdb_nocache has none.
INSTANTIATE_TEST_SUITE_P(Backends, StateBackendTest,
                         ::testing::Values(BackendParam{"hashmap", false, "hashmap"},
                                           BackendParam{"hashmap", true, "hashmap_incremental"},
                                           BackendParam{"rocksdb", false, "rocksdb"},
                                           BackendParam{"rocksdb", true, "rocksdb_incremental"},
                                           BackendParam{"rocksdb", false, "rocksdb_cache4", 4},
                                           BackendParam{"rocksdb", true, "rocksdb_nocache", 0}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace weir
