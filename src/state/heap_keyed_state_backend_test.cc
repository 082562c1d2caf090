// What only the heap backend does: it checks the declared type of a state (not only its kind),
// drops keys whose state is all empty at a snapshot, and refuses RocksDB's native files. The
// behaviour every backend shares is tested in state_backend_conformance_test.cc.
#include "state/heap_keyed_state_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace weir
