// keyed_state_backend.cc: choosing the backend from the configuration, and file-name-safe
// operator uids.
#include "state/keyed_state_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "state/heap_keyed_state_backend.h"
#include "state/rocksdb_keyed_state_backend.h"
#include "testing/test_util.h"

namespace weir {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

KeyedBackendOptions Options(const Configuration& config) {
  static ManualClock clock;
  KeyedBackendOptions o;
  o.operator_uid = "op";
  o.operator_name = "Op";
  o.key_groups = {0, 127};
  o.clock = &clock;
  o.fs = FileSystem::Default();
  o.config = &config;
  return o;
}

TEST(CreateKeyedStateBackendTest, HonoursTheConfiguredType) {
  Configuration config;
  auto heap = CreateKeyedStateBackend(Options(config));
  ASSERT_TRUE(heap.ok()) << heap.status().ToString();
  EXPECT_NE(dynamic_cast<HeapKeyedStateBackend*>(heap->get()), nullptr);
  EXPECT_NE((*heap)->heap(), nullptr);

  config.Set("state.backend.type", "HashMap");
  EXPECT_TRUE(CreateKeyedStateBackend(Options(config)).ok());
  testing::TempDir dir;
  config.Set("state.backend.type", "rocksdb");
  config.Set("state.backend.rocksdb.localdir", dir.path());
  auto rocks = CreateKeyedStateBackend(Options(config));
  ASSERT_TRUE(rocks.ok()) << rocks.status().ToString();
  EXPECT_NE(dynamic_cast<RocksDbKeyedStateBackend*>(rocks->get()), nullptr);
  EXPECT_EQ((*rocks)->heap(), nullptr);
  EXPECT_NE((*rocks)->raw(), nullptr);
  config.Set("state.backend.type", "leveldb");
  auto bad = CreateKeyedStateBackend(Options(config));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              AllOf(HasSubstr("state.backend.type = 'leveldb'"), HasSubstr("hashmap, rocksdb")));
}

TEST(SanitizeForFileNameTest, KeepsSafeCharactersOnly) {
  EXPECT_EQ(SanitizeForFileName("running-sum_1.v2"), "running-sum_1.v2");
  EXPECT_EQ(SanitizeForFileName("a/b c:d"), "a_b_c_d");
  EXPECT_EQ(SanitizeForFileName("../etc"), "_.._etc");
  EXPECT_EQ(SanitizeForFileName(""), "_");
  EXPECT_EQ(SanitizeForFileName(".hidden"), "_.hidden");
}

}  // namespace
}  // namespace weir
