// HeapKeyedStateBackend through the typed API a KeyedProcessFunction uses (RuntimeContext):
// per-key state of every kind, timers, snapshot and restore (also rescaled), garbage
// collection of empty keys, and clear errors for incompatible restored state.
#include "state/heap_keyed_state_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <set>

#include "base/file_system.h"
#include "base/hash.h"
#include "state/keyed_snapshot_format.h"
#include "testing/test_util.h"
#include "weir/functions.h"

namespace weir {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// The runtime's view of one operator subtask, reduced to what state access needs.
class FakeOperatorContext final : public detail::OperatorContext {
 public:
  FakeOperatorContext(KeyedStateBackend* backend, const Configuration* config, Clock* clock)
      : backend_(backend), config_(config), clock_(clock) {}

  const std::string& operator_name() const override { return name_; }
  int subtask_index() const override { return backend_->options().subtask; }
  int parallelism() const override { return 1; }
  int max_parallelism() const override { return backend_->options().max_parallelism; }
  int attempt_number() const override { return 0; }
  bool is_restored() const override { return false; }
  detail::KeyedStateAccess* keyed_state() override { return backend_; }
  detail::TimerServiceAccess* timer_service() override { return &backend_->timers(); }
  int64_t CurrentProcessingTime() const override { return clock_->WallMillis(); }
  bool checkpointing_enabled() const override { return true; }
  size_t batch_size() const override { return 1024; }
  const Configuration& configuration() const override { return *config_; }
  FileSystem& file_system() override { return *FileSystem::Default(); }

 private:
  std::string name_ = "test-op";
  KeyedStateBackend* backend_;
  const Configuration* config_;
  Clock* clock_;
};

template <typename K>
void SetKey(KeyedStateBackend& b, const K& key) {
  b.SetCurrentKey(EncodeToString(key));
}

template <typename K>
int KeyGroupOf(const K& key, int max_parallelism = 128) {
  return detail::KeyGroupForHash(Hash64(EncodeToString(key)), max_parallelism);
}

// A backend with the context and RuntimeContext a function would see.
struct Subtask {
  std::unique_ptr<HeapKeyedStateBackend> backend;
  std::unique_ptr<FakeOperatorContext> ctx;
  std::unique_ptr<RuntimeContext> runtime;
};

// A snapshot written to disk, with the location needed to read it back.
struct Written {
  KeyedStateHandle handle;
  std::unique_ptr<SnapshotLocation> location;
};

class HeapBackendTest : public ::testing::Test {
 protected:
  KeyedBackendOptions Options(KeyGroupRange range, int subtask = 0, int max_parallelism = 128) {
    KeyedBackendOptions o;
    o.job_id = "job";
    o.operator_uid = "running-sum";
    o.operator_name = "Running Sum";
    o.subtask = subtask;
    o.max_parallelism = max_parallelism;
    o.key_groups = range;
    o.clock = &clock_;
    o.fs = FileSystem::Default();
    o.config = &config_;
    return o;
  }

  Subtask NewSubtask(KeyGroupRange range = {0, 127}, int subtask = 0, int max_parallelism = 128) {
    Subtask s;
    s.backend = std::make_unique<HeapKeyedStateBackend>(Options(range, subtask, max_parallelism));
    s.ctx = std::make_unique<FakeOperatorContext>(s.backend.get(), &config_, &clock_);
    s.runtime = std::make_unique<RuntimeContext>(s.ctx.get());
    return s;
  }

  const Written& Snapshot(KeyedStateBackend& b) {
    int64_t id = next_checkpoint_++;
    std::string chk = "chk-" + std::to_string(id);
    EXPECT_TRUE(FileSystem::Default()->CreateDirs(dir_.Join(chk)).ok());
    auto snapshot = b.Snapshot(id, /*savepoint=*/false);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    Written w;
    w.location = std::make_unique<SnapshotLocation>(FileSystem::Default(), dir_.path(), chk);
    auto handle = (*snapshot)->Write(*w.location);
    EXPECT_TRUE(handle.ok()) << handle.status().ToString();
    if (handle.ok()) w.handle = *handle;
    written_.push_back(std::move(w));
    return written_.back();
  }

  static Status Restore(KeyedStateBackend& b, const std::vector<const Written*>& from) {
    std::vector<KeyedRestoreSource> sources;
    for (const Written* w : from) sources.push_back({&w->handle, w->location.get()});
    return b.Restore(sources);
  }

  // Snapshot `from`, restore into a fresh subtask over the same key groups.
  Subtask SnapshotAndRestore(Subtask& from) {
    const Written& w = Snapshot(*from.backend);
    Subtask to = NewSubtask(from.backend->key_groups(), from.backend->options().subtask,
                            from.backend->options().max_parallelism);
    Status s = Restore(*to.backend, {&w});
    EXPECT_TRUE(s.ok()) << s.ToString();
    return to;
  }

  testing::TempDir dir_;
  ManualClock clock_{1'000'000};
  Configuration config_;
  int64_t next_checkpoint_ = 1;
  std::deque<Written> written_;
};

TEST_F(HeapBackendTest, ValueStateIsPerKey) {
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

TEST_F(HeapBackendTest, ListStateAddGetUpdateClear) {
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

TEST_F(HeapBackendTest, MapStateOperations) {
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

TEST_F(HeapBackendTest, ReducingStateFoldsAddedValues) {
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

TEST_F(HeapBackendTest, DeclaringTheSameStateTwiceSharesIt) {
  Subtask t = NewSubtask();
  auto a = t.runtime->GetState(ValueStateDescriptor<int64_t>("sum"));
  auto b = t.runtime->GetState(ValueStateDescriptor<int64_t>("sum"));
  SetKey(*t.backend, 1);
  a.Update(42);
  EXPECT_EQ(b.Value(), 42);
}

TEST_F(HeapBackendTest, RedeclaringAStateWithAnotherKindOrTypeFails) {
  Subtask t = NewSubtask();
  (void)t.runtime->GetState(ValueStateDescriptor<int64_t>("s"));
  try {
    (void)t.runtime->GetListState(ListStateDescriptor<int64_t>("s"));
    FAIL() << "expected StateError";
  } catch (const detail::StateError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("'s'"), HasSubstr("already registered as value")));
  }
  EXPECT_THROW((void)t.runtime->GetState(ValueStateDescriptor<std::string>("s")),
               detail::StateError);
  EXPECT_THROW((void)t.runtime->GetReducingState(ReducingStateDescriptor<int64_t>(
                   "s", [](const int64_t& a, const int64_t& b) { return a + b; })),
               detail::StateError);
}

TEST_F(HeapBackendTest, StateDeclaredAfterManyKeysSeesNoValues) {
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

TEST_F(HeapBackendTest, KeyOutsideTheSubtasksKeyGroupsIsAStateError) {
  Subtask t = NewSubtask(KeyGroupRange::ForSubtask(128, 2, 0));
  int outside = 0;
  while (t.backend->key_groups().Contains(KeyGroupOf(outside))) ++outside;
  int inside = 0;
  while (!t.backend->key_groups().Contains(KeyGroupOf(inside))) ++inside;
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  SetKey(*t.backend, inside);
  v.Update(1);
  try {
    SetKey(*t.backend, outside);
    FAIL() << "expected StateError";
  } catch (const detail::StateError& e) {
    EXPECT_THAT(e.what(),
                AllOf(HasSubstr("Running Sum"), HasSubstr("[0, 63]"), HasSubstr("key selector")));
  }
  // The backend is still usable, and a snapshot does not trip over the rejected key.
  SetKey(*t.backend, inside);
  EXPECT_EQ(v.Value(), 1);
  Subtask r = SnapshotAndRestore(t);
  auto rv = r.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  SetKey(*r.backend, inside);
  EXPECT_EQ(rv.Value(), 1);
}

TEST_F(HeapBackendTest, SnapshotAndRestoreGiveIdenticalState) {
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
  std::set<std::pair<int64_t, std::string>> before, after;
  t.backend->timers().ForEach([&](int64_t ts, const std::string& k) { before.emplace(ts, k); });
  r.backend->timers().ForEach([&](int64_t ts, const std::string& k) { after.emplace(ts, k); });
  EXPECT_EQ(before.size(), 43u);
  EXPECT_EQ(after, before);
  // Restored reducing state keeps reducing with the declared function.
  SetKey(*r.backend, 10);
  reducing2.Add(1);
  EXPECT_EQ(reducing2.Get(), 11);
}

TEST_F(HeapBackendTest, SnapshotFileIsNamedAfterTheOperatorAndSubtask) {
  KeyGroupRange range = KeyGroupRange::ForSubtask(128, 4, 3);
  Subtask t = NewSubtask(range, /*subtask=*/3);
  const Written& w = Snapshot(*t.backend);
  ASSERT_TRUE(w.handle.canonical.has_value());
  EXPECT_EQ(w.handle.canonical->path, "chk-1/running-sum-3.keyed");
  EXPECT_EQ(w.handle.key_groups, range);
  EXPECT_TRUE(w.handle.native_files.empty());
  EXPECT_TRUE(w.location->Verify(*w.handle.canonical).ok());
}

TEST_F(HeapBackendTest, RestoredStateNeverDeclaredIsCarriedIntoLaterSnapshots) {
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

TEST_F(HeapBackendTest, RestoredStateDeclaredWithAnotherKindFailsClearly) {
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

TEST_F(HeapBackendTest, RestoredStateDeclaredWithAnIncompatibleTypeFailsClearly) {
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int64_t>("total"));
  SetKey(*t.backend, 1);
  v.Update(0x0102);
  Subtask r = SnapshotAndRestore(t);
  try {
    (void)r.runtime->GetState(ValueStateDescriptor<std::string>("total"));
    FAIL() << "expected StateError";
  } catch (const detail::StateError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("'total'"), HasSubstr("does not decode")));
  }
}

TEST_F(HeapBackendTest, KeysWithOnlyEmptyStateAreDroppedAtSnapshot) {
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  auto l = t.runtime->GetListState(ListStateDescriptor<int32_t>("l"));
  auto m = t.runtime->GetMapState(MapStateDescriptor<int32_t, int32_t>("m"));
  for (int k = 0; k < 100; ++k) {
    SetKey(*t.backend, k);
    v.Update(k);
    l.Add(k);
    m.Put(k, k);
  }
  for (int k = 0; k < 100; ++k) {  // only read: creates no state
    SetKey(*t.backend, 1000 + k);
    ASSERT_FALSE(v.Value().has_value());
  }
  EXPECT_EQ(t.backend->live_keys(), 200u);
  for (int k = 0; k < 100; k += 2) {
    SetKey(*t.backend, k);
    v.Clear();
    l.Update({});
    m.Remove(k);
  }
  SetKey(*t.backend, 1);
  v.Clear();  // key 1 keeps its list and map entries
  (void)Snapshot(*t.backend);
  EXPECT_EQ(t.backend->live_keys(), 50u);
  // Dropped keys start empty when seen again; kept keys keep their state.
  SetKey(*t.backend, 0);
  EXPECT_EQ(v.Value(), std::nullopt);
  EXPECT_TRUE(l.Get().empty());
  EXPECT_TRUE(m.IsEmpty());
  SetKey(*t.backend, 1);
  EXPECT_EQ(v.Value(), std::nullopt);
  EXPECT_THAT(l.Get(), ElementsAre(1));
  SetKey(*t.backend, 3);
  EXPECT_EQ(v.Value(), 3);
  // New keys reuse freed ids without inheriting anything.
  for (int k = 5000; k < 5060; ++k) {
    SetKey(*t.backend, k);
    ASSERT_EQ(v.Value(), std::nullopt) << k;
    ASSERT_TRUE(l.Get().empty()) << k;
    ASSERT_TRUE(m.IsEmpty()) << k;
  }
}

TEST_F(HeapBackendTest, CurrentKeyDroppedByGarbageCollectionCanBeWrittenAgain) {
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

TEST_F(HeapBackendTest, RescaleSplitsKeysAndTimersByKeyGroupExactlyOnce) {
  constexpr int kKeys = 600;
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  TimerService timers(t.ctx->timer_service());
  for (int k = 0; k < kKeys; ++k) {
    SetKey(*t.backend, k);
    v.Update(k + 1);
    timers.RegisterProcessingTimeTimer(100 + k);
  }
  const Written& full = Snapshot(*t.backend);

  std::vector<Subtask> halves;
  for (int i = 0; i < 2; ++i) {
    halves.push_back(NewSubtask(KeyGroupRange::ForSubtask(128, 2, i), i));
    ASSERT_TRUE(Restore(*halves.back().backend, {&full}).ok());
  }
  std::set<int> seen_keys;
  size_t seen_timers = 0;
  for (int i = 0; i < 2; ++i) {
    Subtask& h = halves[static_cast<size_t>(i)];
    auto hv = h.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
    for (int k = 0; k < kKeys; ++k) {
      if (!h.backend->key_groups().Contains(KeyGroupOf(k))) continue;
      SetKey(*h.backend, k);
      ASSERT_EQ(hv.Value(), k + 1) << "key " << k << " in subtask " << i;
      seen_keys.insert(k);
    }
    h.backend->timers().ForEach([&](int64_t ts, const std::string& key) {
      int k;
      ASSERT_TRUE(DecodeFromString(key, k));
      EXPECT_TRUE(h.backend->key_groups().Contains(KeyGroupOf(k)));
      EXPECT_EQ(ts, 100 + k);
      ++seen_timers;
    });
    // The snapshot of each half holds exactly its own keys.
    const Written& w = Snapshot(*h.backend);
    EXPECT_EQ(w.handle.key_groups, h.backend->key_groups());
    auto data = w.location->ReadVerified(*w.handle.canonical);
    ASSERT_TRUE(data.ok());
    auto reader = KeyedSnapshotReader::Open(*data, "half");
    ASSERT_TRUE(reader.ok());
    size_t entries = 0;
    ASSERT_TRUE(reader
                    ->ForEach(
                        KeyGroupRange{0, 127},
                        [&](size_t, int kg, std::string_view, std::string_view) {
                          EXPECT_TRUE(h.backend->key_groups().Contains(kg));
                          ++entries;
                          return Status::OK();
                        },
                        [](int, int64_t, std::string_view) { return Status::OK(); })
                    .ok());
    EXPECT_EQ(entries, h.backend->live_keys());
  }
  EXPECT_EQ(seen_keys.size(), static_cast<size_t>(kKeys));
  EXPECT_EQ(seen_timers, static_cast<size_t>(kKeys));
  EXPECT_EQ(halves[0].backend->live_keys() + halves[1].backend->live_keys(),
            static_cast<size_t>(kKeys));
  EXPECT_GT(halves[0].backend->live_keys(), 0u);
  EXPECT_GT(halves[1].backend->live_keys(), 0u);

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
  EXPECT_EQ(whole.backend->live_keys(), static_cast<size_t>(kKeys));
  EXPECT_EQ(whole.backend->timers().size(), static_cast<size_t>(kKeys));
}

TEST_F(HeapBackendTest, RestoreFromACorruptFileFailsNamingOperatorAndFile) {
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  SetKey(*t.backend, 1);
  v.Update(1);
  const Written& w = Snapshot(*t.backend);
  std::string path = w.location->Absolute(*w.handle.canonical);
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

TEST_F(HeapBackendTest, RestoreFromAMissingFileFailsNamingTheFile) {
  Subtask t = NewSubtask();
  const Written& w = Snapshot(*t.backend);
  std::string path = w.location->Absolute(*w.handle.canonical);
  ASSERT_TRUE(FileSystem::Default()->DeleteFile(path).ok());
  Subtask r = NewSubtask();
  Status s = Restore(*r.backend, {&w});
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), AllOf(HasSubstr("Running Sum"), HasSubstr(path)));
}

TEST_F(HeapBackendTest, RestoreOfNativeRocksDbStateIsRejected) {
  KeyedStateHandle handle;
  handle.key_groups = {0, 127};
  handle.native_files.push_back(StateFile{"shared/c1_000001.sst", 10, 1, "000001.sst"});
  SnapshotLocation location(FileSystem::Default(), dir_.path(), "chk-1");
  Subtask r = NewSubtask();
  Status s = r.backend->Restore({{&handle, &location}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("state.backend.type: rocksdb"));
}

TEST_F(HeapBackendTest, RestoreWithAnotherMaxParallelismIsDetected) {
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

TEST_F(HeapBackendTest, TimersFireInTimestampOrderAndRegisterOnce) {
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

TEST_F(HeapBackendTest, TimersOfKeysWithoutStateSurviveSnapshotAndRestore) {
  Subtask t = NewSubtask();
  TimerService api(t.ctx->timer_service());
  for (int k = 0; k < 20; ++k) {
    SetKey(*t.backend, k);
    api.RegisterProcessingTimeTimer(1000 - k);
  }
  Subtask r = SnapshotAndRestore(t);
  EXPECT_EQ(t.backend->live_keys(), 0u) << "timers alone do not keep a key's state alive";
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

TEST_F(HeapBackendTest, RandomOperationsMatchAModelAcrossSnapshotsAndRescales) {
  std::mt19937_64 rng(testing::TestSeed());
  constexpr int kKeySpace = 400;
  std::map<int, KeyModel> model;
  std::set<std::pair<int64_t, int>> timer_model;

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
    std::set<std::pair<int64_t, int>> timers;
    for (Subtask& s : subtasks) {
      s.backend->timers().ForEach([&](int64_t ts, const std::string& key) {
        int k = -1;
        EXPECT_TRUE(DecodeFromString(key, k));
        timers.emplace(ts, k);
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
          if (rng() % 3 == 0) {
            api.DeleteProcessingTimeTimer(ts);
            timer_model.erase({ts, key});
          } else {
            api.RegisterProcessingTimeTimer(ts);
            timer_model.emplace(ts, key);
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
    size_t live = 0;
    for (Subtask& s : subtasks) live += s.backend->live_keys();
    size_t non_empty = 0;
    for (const auto& [k, m] : model) non_empty += m.empty() ? 0 : 1;
    ASSERT_EQ(live, non_empty) << "after a snapshot only keys with state remain";

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

}  // namespace
}  // namespace weir
