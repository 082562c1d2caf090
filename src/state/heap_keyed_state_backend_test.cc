// What only the heap backend does: it checks the declared type of a state (not only its kind),
// drops keys whose state is all empty at a snapshot, refuses RocksDB's native files, and
// shares its key file between incremental checkpoints while the keys stay the same. The
// behaviour every backend shares is tested in state_backend_conformance_test.cc.
#include "state/heap_keyed_state_backend.h"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/checksum.h"
#include "state/state_backend_test_util.h"

namespace weir {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class HeapBackendTest : public BackendTestBase, public ::testing::Test {
 protected:
  static HeapKeyedStateBackend& Heap(Subtask& s) {
    return static_cast<HeapKeyedStateBackend&>(*s.backend);
  }

  static const StateFile& KeyFile(const Written& w) { return w.handle.native_files.at(0); }
  static const StateFile& ValueFile(const Written& w) { return w.handle.native_files.at(1); }

  // Sets keys [0, n) of state "v" to key * factor.
  static void Fill(Subtask& t, int n, int factor) {
    auto v = t.runtime->GetState(ValueStateDescriptor<int64_t>("v"));
    for (int k = 0; k < n; ++k) {
      SetKey(*t.backend, k);
      v.Update(int64_t{k} * factor);
    }
  }
  void ExpectRestores(const Written& w, int n, int factor) {
    Subtask r = NewSubtask();
    Status s = Restore(*r.backend, {&w});
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto v = r.runtime->GetState(ValueStateDescriptor<int64_t>("v"));
    for (int k = 0; k < n; ++k) {
      SetKey(*r.backend, k);
      ASSERT_EQ(v.Value(), int64_t{k} * factor) << k;
    }
    SetKey(*r.backend, n);
    EXPECT_EQ(v.Value(), std::nullopt);
  }
  // How many names the snapshot's key file has: 2 once a later checkpoint linked it.
  static nlink_t KeyFileLinks(const Written& w) {
    struct stat st {};
    EXPECT_EQ(::stat(w.location->Absolute(KeyFile(w)).c_str(), &st), 0);
    return st.st_nlink;
  }
};

TEST_F(HeapBackendTest, RedeclaringAStateWithAnotherTypeFails) {
  Subtask t = NewSubtask();
  ASSERT_NE(t.backend->heap(), nullptr);
  (void)t.runtime->GetState(ValueStateDescriptor<int64_t>("s"));
  try {
    (void)t.runtime->GetState(ValueStateDescriptor<std::string>("s"));
    FAIL() << "expected StateError";
  } catch (const detail::StateError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("'s'"), HasSubstr("of another type")));
  }
}

TEST_F(HeapBackendTest, TimersAloneDoNotKeepAKeyAlive) {
  Subtask t = NewSubtask();
  TimerService api(t.ctx->timer_service());
  for (int k = 0; k < 20; ++k) {
    SetKey(*t.backend, k);
    api.RegisterProcessingTimeTimer(1000 - k);
  }
  Subtask r = SnapshotAndRestore(t);
  EXPECT_EQ(Heap(t).live_keys(), 0u);
  EXPECT_EQ(r.backend->timers().size(), 20u);
}

// A full checkpoint's key file and value file are its own, named after the operator and
// subtask; a savepoint is one canonical file.
TEST_F(HeapBackendTest, SnapshotFilesAreNamedAfterTheOperatorAndSubtask) {
  KeyGroupRange range = KeyGroupRange::ForSubtask(128, 4, 3);
  Subtask t = NewSubtask(range, /*subtask=*/3);
  const Written& w = Snapshot(*t.backend);
  EXPECT_EQ(w.handle.backend_id, kHeapIncrementalBackendId);
  EXPECT_FALSE(w.handle.canonical.has_value());
  ASSERT_EQ(w.handle.native_files.size(), 2u);
  EXPECT_EQ(w.handle.native_files[0].path, "chk-1/running-sum-3.keys");
  EXPECT_EQ(w.handle.native_files[1].path, "chk-1/running-sum-3.keyed");
  EXPECT_EQ(w.handle.key_groups, range);
  for (const StateFile& f : w.handle.native_files) EXPECT_TRUE(w.location->Verify(f).ok());

  const Written& sp = Snapshot(*t.backend, true, /*savepoint=*/true);
  ASSERT_TRUE(sp.handle.canonical.has_value());
  EXPECT_EQ(sp.handle.canonical->path, "chk-2/running-sum-3.keyed");
  EXPECT_TRUE(sp.handle.native_files.empty());
  EXPECT_TRUE(sp.location->Verify(*sp.handle.canonical).ok());
}

// Full checkpoints stand alone: while the keys stay the same, each hard-links the last
// completed one's key file among its own files (where it cannot, it writes the file again),
// so deleting an earlier checkpoint leaves a later one whole.
TEST_F(HeapBackendTest, FullCheckpointsLinkTheLastKeyFileAndStandAlone) {
  Subtask t = NewSubtask();
  Fill(t, 500, 1);
  const Written& w1 = Snapshot(*t.backend);
  EXPECT_EQ(KeyFileLinks(w1), 1u);
  Fill(t, 500, 2);  // new values, the same keys
  const Written& w2 = Snapshot(*t.backend);
  EXPECT_EQ(KeyFile(w2).path, "chk-2/running-sum-0.keys.linked");
  EXPECT_EQ(KeyFile(w2).checksum, KeyFile(w1).checksum);
  EXPECT_EQ(KeyFileLinks(w2), 2u) << "chk-1's key file, linked";
  // What chk-2 wrote (its checkpointed size) is its value file; its key file is chk-1's.
  EXPECT_TRUE(WrittenByCheckpoint(KeyFile(w1).path, 1));
  EXPECT_FALSE(WrittenByCheckpoint(KeyFile(w2).path, 2));
  EXPECT_TRUE(WrittenByCheckpoint(ValueFile(w2).path, 2));
  ASSERT_TRUE(FileSystem::Default()->DeleteDirRecursive(dir_.Join("chk-1")).ok());
  EXPECT_EQ(KeyFileLinks(w2), 1u);
  ExpectRestores(w2, 500, 2);

  // chk-2 gone too: the key file cannot be linked, so it is written again.
  ASSERT_TRUE(FileSystem::Default()->DeleteDirRecursive(dir_.Join("chk-2")).ok());
  Fill(t, 500, 3);
  const Written& w3 = Snapshot(*t.backend);
  EXPECT_EQ(KeyFileLinks(w3), 1u);
  ExpectRestores(w3, 500, 3);

  Fill(t, 501, 4);  // one key more: a new key file
  const Written& w4 = Snapshot(*t.backend);
  EXPECT_NE(KeyFile(w4).checksum, KeyFile(w3).checksum);
  EXPECT_EQ(KeyFileLinks(w4), 1u);
  ExpectRestores(w4, 501, 4);
}

// A key file holds every id, dead ones too, across chunks of 1,024 ids, with keys of every
// length around the 16 bytes kept inline (a long one last in a chunk).
TEST_F(HeapBackendTest, KeysOfEveryLengthAndDeadIdsSurviveAFullCheckpoint) {
  constexpr int kKeys = 2500;
  auto key = [](int i) {
    static constexpr size_t kLengths[] = {0, 7, 14, 15, 16, 17, 300};
    std::string k = i == 0 ? "" : std::to_string(i);
    k.resize(std::max(k.size(), i == 1023 ? size_t{300} : kLengths[i % 7]), 'x');
    return k;
  };
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int64_t>("v"));
  for (int i = 0; i < kKeys; ++i) {
    SetKey(*t.backend, key(i));
    v.Update(i);
    if (i % 5 == 3) v.Clear();  // dropped at the snapshot: a dead id
  }
  const Written& w = Snapshot(*t.backend);
  ASSERT_EQ(w.handle.backend_id, kHeapIncrementalBackendId);
  Subtask r = NewSubtask();
  Status s = Restore(*r.backend, {&w});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Heap(r).live_keys(), static_cast<size_t>(kKeys - kKeys / 5));
  auto rv = r.runtime->GetState(ValueStateDescriptor<int64_t>("v"));
  for (int i = 0; i < kKeys; ++i) {
    SetKey(*r.backend, key(i));
    ASSERT_EQ(rv.Value(), i % 5 == 3 ? std::nullopt : std::optional<int64_t>(i)) << i;
  }
}

// A restore indexes keys a few entries behind the file while their slots load: every key of
// every state still gets its value, in order, and a key in two files keeps the later one's.
// From checkpoints (the backend's own format) and from savepoints (the canonical one).
class HeapRestoreTest : public HeapBackendTest, public ::testing::WithParamInterface<bool> {};

TEST_P(HeapRestoreTest, AKeyInTwoRestoredFilesKeepsTheLaterFilesValue) {
  const bool savepoint = GetParam();
  Subtask a = NewSubtask();
  Subtask b = NewSubtask();
  Fill(a, 1000, 1);
  auto aw = a.runtime->GetState(ValueStateDescriptor<int64_t>("w"));
  for (int k = 0; k < 1000; k += 3) {
    SetKey(*a.backend, k);
    aw.Update(-k);
  }
  auto bv = b.runtime->GetState(ValueStateDescriptor<int64_t>("v"));
  for (int k = 500; k < 1500; ++k) {
    SetKey(*b.backend, k);
    bv.Update(int64_t{k} * 2);
  }
  const Written& first = Snapshot(*a.backend, true, savepoint);
  const Written& second = Snapshot(*b.backend, true, savepoint);
  Subtask r = NewSubtask();
  Status s = Restore(*r.backend, {&first, &second});
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto v = r.runtime->GetState(ValueStateDescriptor<int64_t>("v"));
  auto w = r.runtime->GetState(ValueStateDescriptor<int64_t>("w"));
  for (int k = 0; k < 1500; ++k) {
    SetKey(*r.backend, k);
    ASSERT_EQ(v.Value(), int64_t{k} * (k < 500 ? 1 : 2)) << k;
    ASSERT_EQ(w.Value(), k < 1000 && k % 3 == 0 ? std::optional<int64_t>(-k) : std::nullopt)
        << k;
  }
}

INSTANTIATE_TEST_SUITE_P(CheckpointAndSavepoint, HeapRestoreTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "savepoint" : "checkpoint"; });

// A full checkpoint links a key file only from the last checkpoint that completed, and only
// while none of its own is pending: never from one that was aborted or is still open.
TEST_F(HeapBackendTest, AFullCheckpointLinksOnlyACompletedCheckpointsKeyFile) {
  Subtask t = NewSubtask();
  Fill(t, 100, 1);
  const Written& w1 = Snapshot(*t.backend, /*complete=*/false);
  const Written& w2 = Snapshot(*t.backend, /*complete=*/false);
  EXPECT_EQ(KeyFileLinks(w2), 1u) << "1 has not completed";
  t.backend->NotifyCheckpointAborted(w2.checkpoint_id);
  t.backend->NotifyCheckpointComplete(w1.checkpoint_id);
  const Written& w3 = Snapshot(*t.backend, /*complete=*/false);
  EXPECT_EQ(KeyFileLinks(w3), 2u) << "1 completed, and 2 was aborted";
  const Written& w4 = Snapshot(*t.backend);
  EXPECT_EQ(KeyFileLinks(w4), 1u) << "3 is pending and may subsume 1";
  // A savepoint between two checkpoints changes nothing they may link.
  const Written& sp = Snapshot(*t.backend, true, /*savepoint=*/true);
  EXPECT_TRUE(sp.handle.canonical.has_value());
  const Written& w6 = Snapshot(*t.backend);
  EXPECT_EQ(KeyFileLinks(w6), 2u) << "4's key file";
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
  EXPECT_EQ(Heap(t).live_keys(), 200u);
  for (int k = 0; k < 100; k += 2) {
    SetKey(*t.backend, k);
    v.Clear();
    l.Update({});
    m.Remove(k);
  }
  SetKey(*t.backend, 1);
  v.Clear();  // key 1 keeps its list and map entries
  (void)Snapshot(*t.backend);
  EXPECT_EQ(Heap(t).live_keys(), 50u);
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

enum class Level : int16_t { kLow = 1, kHigh = 300 };

}  // namespace

// A codec built on a number's that writes something else: the snapshot must call it.
struct Meters {
  int64_t value;
};
template <>
struct Codec<Meters> : Codec<int64_t> {
  static void Encode(const Meters& m, BufferWriter& w) {
    w.PutVarint64(static_cast<uint64_t>(m.value));
  }
  static bool Decode(BufferReader& r, Meters& m) {
    uint64_t v;
    if (!r.GetVarint64(&v)) return false;
    m.value = static_cast<int64_t>(v);
    return true;
  }
};

namespace {

// A snapshot entry is the key and the value, each length-prefixed, however AppendSnapshotEntry
// writes them: in place for a fixed-width value, through the scratch buffer for any other, with
// short keys copied by overlapping moves. Every key length across those moves' boundaries, a
// length prefix of two bytes, and a section that grows from nothing and from a reservation.
template <typename V>
void ExpectCanonicalEntries(const std::vector<V>& values, size_t reserve) {
  detail::SnapshotSection section;
  section.Reserve(reserve);
  std::string expected;
  BufferWriter w(&expected);
  size_t count = 0;
  for (size_t key_length : {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 127, 128, 300}) {
    // Reserving with entries in the section keeps them.
    if (key_length == 16) section.Reserve(section.bytes().size() + reserve);
    for (const V& v : values) {
      std::string key(key_length, '\0');
      for (size_t i = 0; i < key_length; ++i) key[i] = static_cast<char>('a' + (i + count) % 26);
      std::optional<V> slot = v;
      detail::AppendSnapshotEntry<detail::ValueSlotTraits<V>>(key, slot, &section);
      ++count;
      w.PutLengthPrefixed(key);
      std::string value;
      BufferWriter vw(&value);
      Codec<V>::Encode(v, vw);
      w.PutLengthPrefixed(value);
    }
  }
  EXPECT_EQ(section.count(), count);
  EXPECT_EQ(section.bytes(), expected);
}

// ---- Incremental checkpoints --------------------------------------------------------------

class HeapIncrementalTest : public HeapBackendTest {
 protected:
  HeapIncrementalTest() { config_.Set("execution.checkpointing.incremental", "true"); }
};

TEST_F(HeapIncrementalTest, CheckpointsShareTheKeyFileWhileTheKeysStayTheSame) {
  Subtask t = NewSubtask();
  Fill(t, 3000, 1);
  const Written& w1 = Snapshot(*t.backend);
  ASSERT_EQ(w1.handle.backend_id, kHeapIncrementalBackendId);
  ASSERT_FALSE(w1.handle.canonical.has_value());
  EXPECT_EQ(KeyFile(w1).path, "shared/c1_running-sum-0.keys");
  EXPECT_EQ(ValueFile(w1).path, "chk-1/running-sum-0.keyed");

  Fill(t, 3000, 2);  // new values, the same keys
  const Written& w2 = Snapshot(*t.backend);
  EXPECT_EQ(KeyFile(w2), KeyFile(w1));
  EXPECT_EQ(ValueFile(w2).path, "chk-2/running-sum-0.keyed");
  ExpectRestores(w2, 3000, 2);

  Fill(t, 3001, 3);  // one key more: a new key file
  const Written& w3 = Snapshot(*t.backend);
  EXPECT_EQ(KeyFile(w3).path, "shared/c3_running-sum-0.keys");
  ExpectRestores(w3, 3001, 3);
  ExpectRestores(w1, 3000, 1);  // the older pair still reads as it was
}

TEST_F(HeapIncrementalTest, AKeyFileIsReusedOnlyOnceItsCheckpointCompletedAndNoneIsPending) {
  Subtask t = NewSubtask();
  Fill(t, 100, 1);
  const Written& w1 = Snapshot(*t.backend, /*complete=*/false);
  const Written& w2 = Snapshot(*t.backend, /*complete=*/false);
  EXPECT_NE(KeyFile(w2).path, KeyFile(w1).path) << "1 has not completed";
  t.backend->NotifyCheckpointComplete(w1.checkpoint_id);
  const Written& w3 = Snapshot(*t.backend);
  EXPECT_NE(KeyFile(w3).path, KeyFile(w1).path) << "2 is pending and may subsume 1";
  const Written& w4 = Snapshot(*t.backend);
  EXPECT_EQ(KeyFile(w4), KeyFile(w3));
  t.backend->NotifyCheckpointAborted(w4.checkpoint_id);
  // A savepoint is canonical and leaves what checkpoints may reuse alone.
  const Written& sp = Snapshot(*t.backend, true, /*savepoint=*/true);
  EXPECT_TRUE(sp.handle.canonical.has_value());
  EXPECT_TRUE(sp.handle.native_files.empty());
  const Written& w6 = Snapshot(*t.backend);
  EXPECT_EQ(KeyFile(w6), KeyFile(w3));
  ExpectRestores(w6, 100, 1);
}

TEST_F(HeapIncrementalTest, ADroppedKeyMeansANewKeyFile) {
  Subtask t = NewSubtask();
  Fill(t, 10, 1);
  const Written& w1 = Snapshot(*t.backend);
  auto v = t.runtime->GetState(ValueStateDescriptor<int64_t>("v"));
  SetKey(*t.backend, 9);
  v.Clear();  // the key is dropped at the next snapshot
  const Written& w2 = Snapshot(*t.backend);
  EXPECT_NE(KeyFile(w2).path, KeyFile(w1).path);
  ExpectRestores(w2, 9, 1);
}

TEST_F(HeapIncrementalTest, AValueFileWithAnotherKeyFileIsRefused) {
  Subtask t = NewSubtask();
  Fill(t, 10, 1);
  const Written& w1 = Snapshot(*t.backend);
  Fill(t, 11, 1);
  const Written& w2 = Snapshot(*t.backend);
  ASSERT_NE(KeyFile(w2).path, KeyFile(w1).path);
  Written mixed;
  mixed.handle = w2.handle;
  mixed.handle.native_files[0] = KeyFile(w1);
  mixed.location = std::make_unique<SnapshotLocation>(*w2.location);
  Subtask r = NewSubtask();
  Status s = Restore(*r.backend, {&mixed});
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_THAT(s.message(), AllOf(HasSubstr("Running Sum"), HasSubstr(ValueFile(w2).path),
                                 HasSubstr("written against another key file")));
}

TEST_F(HeapIncrementalTest, AHandleWithoutItsTwoFilesIsRefused) {
  Subtask t = NewSubtask();
  Fill(t, 10, 1);
  const Written& w = Snapshot(*t.backend);
  Written broken;
  broken.handle = w.handle;
  broken.handle.native_files.pop_back();
  broken.location = std::make_unique<SnapshotLocation>(*w.location);
  Subtask r = NewSubtask();
  Status s = Restore(*r.backend, {&broken});
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("must list a key file and a value file"));
}

// The files' own checks, past the handle's checksum: each damaged file is sealed again with a
// correct size and checksum, as a bug in a writer would leave it.
TEST_F(HeapIncrementalTest, MalformedFilesAreRefusedNamingTheFile) {
  Subtask t = NewSubtask();
  Fill(t, 50, 1);
  TimerService timers(t.ctx->timer_service());
  timers.RegisterProcessingTimeTimer(5000);
  const Written& w = Snapshot(*t.backend);
  const std::string keys = testing::ReadFile(w.location->Absolute(KeyFile(w)));
  const std::string values = testing::ReadFile(w.location->Absolute(ValueFile(w)));
  // Replaces bytes [at, at + n) and fixes the embedded checksum.
  auto reseal = [](std::string d, size_t at, std::string_view with, size_t n) {
    d.replace(at, n, with);
    uint64_t sum = Checksum::Of(std::string_view(d.data(), d.size() - 16));
    std::memcpy(d.data() + d.size() - 16, &sum, 8);
    return d;
  };
  struct Case {
    std::string name;
    std::string keys, values;
    std::string error;
  };
  const size_t tail = values.size() - 16;
  // Key id 0 in key group 511; the value file then names the changed key file.
  const std::string bad_group = reseal(keys, 10, "\x80\x04", 1);
  auto paired = [&](const std::string& key_file) {
    uint64_t sum = Checksum::Of(key_file);
    return reseal(values, 10, std::string_view(reinterpret_cast<const char*>(&sum), 8), 8);
  };
  std::vector<Case> cases = {
      {"truncated key file", keys.substr(0, keys.size() / 2), values, "bad magic or truncated"},
      {"key file version", reseal(keys, 8, "\x02", 1), values, "format version 2"},
      {"key group out of range", bad_group, paired(bad_group), "outside the file's key groups"},
      {"value file version", keys, reseal(values, 8, "\x07", 1), "format version 7"},
      {"trailing bytes", keys, reseal(values, tail, "x", 0), "trailing bytes"},
      {"bad timer domain", keys, [&] {
         // The last timer's domain byte: 1 + varint kg + 8 + 1 + key bytes before the trailer.
         std::string key = EncodeToString(0);
         return reseal(values, tail - key.size() - 1 - 8 - 1 - 1, "\x05", 1);
       }(), "bad timer domain"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    testing::WriteFile(w.location->Absolute(KeyFile(w)), c.keys);
    testing::WriteFile(w.location->Absolute(ValueFile(w)), c.values);
    Written damaged;
    damaged.handle = w.handle;
    damaged.handle.native_files[0].size = c.keys.size();
    damaged.handle.native_files[0].checksum = Checksum::Of(c.keys);
    damaged.handle.native_files[1].size = c.values.size();
    damaged.handle.native_files[1].checksum = Checksum::Of(c.values);
    damaged.location = std::make_unique<SnapshotLocation>(*w.location);
    Subtask r = NewSubtask();
    Status s = Restore(*r.backend, {&damaged});
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(c.error));
    EXPECT_THAT(s.message(), HasSubstr("running-sum-0.ke"));
  }
}

TEST(SnapshotSectionTest, AFrozenTableWritesValuesOfNoFixedWidthByKeyId) {
  detail::KeyId current = 1;
  detail::SnapshotSection section;
  detail::HeapValueTable<std::string> strings("s", detail::StateKind::kValue, &current);
  strings.Resize(2);
  strings.Put("abc");
  strings.Freeze()->AppendValues(0, 2, &section);
  std::string encoded;
  BufferWriter sw(&encoded);
  Codec<std::string>::Encode("abc", sw);
  EXPECT_EQ(section.bytes(),
            std::string(1, '\0') + static_cast<char>(encoded.size() + 1) + encoded);
}

TEST(SnapshotSectionTest, EntriesAreTheKeyAndValueEachLengthPrefixed) {
  static_assert(detail::ValueSlotTraits<int64_t>::kFixedSize == 8);
  static_assert(detail::ValueSlotTraits<std::string>::kFixedSize == 0);
  static_assert(detail::ValueSlotTraits<Level>::kFixedSize == 0);
  static_assert(detail::ValueSlotTraits<Meters>::kFixedSize == 0);
  for (size_t reserve : {0, 64, 1 << 20}) {
    SCOPED_TRACE(reserve);
    ExpectCanonicalEntries<int64_t>({0, -1, int64_t{1} << 62}, reserve);
    ExpectCanonicalEntries<bool>({true, false}, reserve);
    ExpectCanonicalEntries<double>({0.5, -3e300}, reserve);
    ExpectCanonicalEntries<std::string>(
        {"", "x", std::string(126, 'v'), std::string(127, 'v'), std::string(5000, 'w')}, reserve);
    ExpectCanonicalEntries<Level>({Level::kLow, Level::kHigh}, reserve);
    ExpectCanonicalEntries<Meters>({Meters{0}, Meters{300}, Meters{-1}}, reserve);
  }
}

TEST(SnapshotSectionTest, AFrozenTableWritesOnlyKeysWithStateOrEveryIdInOrder) {
  detail::KeyId current = 1;
  detail::HeapValueTable<int64_t> table("sum", detail::StateKind::kValue, &current);
  table.Resize(4);
  table.Put(41);
  auto frozen = table.Freeze();
  table.Put(42);  // after the freeze: the snapshot keeps 41
  detail::SnapshotSection section;
  std::vector<detail::SnapshotKey> keys;
  for (detail::KeyId id : {0u, 1u, 3u, 4u, 1000u}) keys.push_back({id, "key", &section});
  frozen->AppendEntries(keys, 0);
  std::string expected;
  BufferWriter w(&expected);
  w.PutLengthPrefixed("key");
  std::string value;
  BufferWriter vw(&value);
  vw.PutFixed64(41);
  w.PutLengthPrefixed(value);
  EXPECT_EQ(section.count(), 1u);
  EXPECT_EQ(section.bytes(), expected);

  // An incremental snapshot: every id in order, ids past the table's size holding nothing.
  detail::SnapshotSection values;
  frozen->AppendValues(0, 6, &values);
  std::string by_id("\x00\x09", 2);
  BufferWriter bw(&by_id);
  bw.PutFixed64(41);
  by_id.append(4, '\0');
  EXPECT_EQ(values.count(), 6u);
  EXPECT_EQ(values.bytes(), by_id);
  values.Clear();
  EXPECT_EQ(values.count(), 0u);
  EXPECT_TRUE(values.bytes().empty());
}

// A block of keys from several key groups: each entry goes to its own key's sections, at the
// table's state index, in the block's order.
TEST(SnapshotSectionTest, AFrozenTableAppendsEachKeysEntryToItsGroupsSectionOfTheState) {
  detail::KeyId current = 0;
  detail::HeapValueTable<int64_t> table("sum", detail::StateKind::kValue, &current);
  table.Resize(3);
  for (detail::KeyId id : {0u, 1u, 2u}) {
    current = id;
    table.Put(100 + id);
  }
  auto frozen = table.Freeze();
  detail::SnapshotSection group_a[2], group_b[2];  // two key groups, two states each
  std::vector<detail::SnapshotKey> keys = {
      {0, "k0", group_a}, {1, "k1", group_b}, {2, "k2", group_a}};
  frozen->AppendEntries(keys, 1);
  auto entry = [](std::string_view key, int64_t v) {
    std::string out, value;
    BufferWriter w(&out), vw(&value);
    w.PutLengthPrefixed(key);
    vw.PutFixed64(static_cast<uint64_t>(v));
    w.PutLengthPrefixed(value);
    return out;
  };
  EXPECT_EQ(group_a[0].count(), 0u);
  EXPECT_EQ(group_b[0].count(), 0u);
  EXPECT_EQ(group_a[1].count(), 2u);
  EXPECT_EQ(group_a[1].bytes(), entry("k0", 100) + entry("k2", 102));
  EXPECT_EQ(group_b[1].count(), 1u);
  EXPECT_EQ(group_b[1].bytes(), entry("k1", 101));
}

TEST(SnapshotSectionTest, AMovedSectionTakesItsEntriesAndLeavesAnEmptyOne) {
  detail::SnapshotSection a;
  a.Add("k", "v");
  detail::SnapshotSection b(std::move(a));
  EXPECT_EQ(a.count(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty, by design
  EXPECT_TRUE(a.bytes().empty());
  a.Add("x", "y");
  EXPECT_EQ(b.count(), 1u);
  EXPECT_EQ(b.bytes(), std::string_view("\x01k\x01v", 4));
  b = std::move(a);
  EXPECT_EQ(b.bytes(), std::string_view("\x01x\x01y", 4));
}

TEST(SnapshotSectionTest, AddWritesWhatARestoredValueHolds) {
  detail::SnapshotSection section;
  std::string expected;
  BufferWriter w(&expected);
  for (size_t n : {0, 6, 12, 200}) {
    std::string key(n, 'k'), value(2 * n, 'v');
    section.Add(key, value);
    w.PutLengthPrefixed(key);
    w.PutLengthPrefixed(value);
  }
  EXPECT_EQ(section.count(), 4u);
  EXPECT_EQ(section.bytes(), expected);
}

}  // namespace
}  // namespace weir
