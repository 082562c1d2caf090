// KeyTable: the heap backend's key -> dense id index, against a std::unordered_map model.
#include "state/key_table.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <unordered_map>

#include "base/hash.h"
#include "testing/test_util.h"
#include "weir/codec.h"

namespace weir {
namespace {

using detail::KeyId;

KeyId Insert(KeyTable& t, const std::string& key, int key_group = 0) {
  return t.FindOrInsert(key, Hash64(key), key_group);
}

TEST(KeyTableTest, FindDoesNotInsert) {
  KeyTable t;
  EXPECT_EQ(t.Find("alpha", Hash64("alpha")), detail::kNoKey);
  KeyId a = Insert(t, "alpha", 3);
  EXPECT_EQ(t.Find("alpha", Hash64("alpha")), a);
  EXPECT_EQ(t.Find("beta", Hash64("beta")), detail::kNoKey);
  EXPECT_EQ(t.live_count(), 1u);
  EXPECT_EQ(t.key(a).key_group(), 3);
}

// KeyHash of an integer key: keys 4m..4m+3 start in one 4-slot group (half a cache line),
// each at a slot of its own and with a tag of its own, so keys that come in order are looked
// up in order; the groups of successive blocks, and of keys that differ only in high bits,
// spread over the table.
TEST(KeyHashTest, IntegerKeysInOrderShareALineAndOthersSpread) {
  constexpr uint64_t kMask = (1u << 16) - 1;  // a table of 64K slots
  auto home = [&](int64_t k) { return detail::KeyHash(EncodeToString(k)) & kMask; };
  auto tag = [&](int64_t k) { return detail::KeyHash(EncodeToString(k)) >> 32; };
  std::set<uint64_t> groups, high_bit_groups;
  for (int64_t block = 0; block < 1000; ++block) {
    const int64_t first = 4 * block;
    groups.insert(home(first) / 4);
    std::set<uint64_t> tags;
    for (int64_t k = first; k < first + 4; ++k) {
      EXPECT_EQ(home(k) / 4, home(first) / 4) << "key " << k;
      EXPECT_EQ(home(k) % 4, static_cast<uint64_t>(k - first)) << "key " << k;
      tags.insert(tag(k));
    }
    EXPECT_EQ(tags.size(), 4u) << "block " << block;
    high_bit_groups.insert(home(block << 40) / 4);
  }
  // 1000 blocks over 16384 groups: random groups would repeat about 30 times.
  EXPECT_GT(groups.size(), 950u);
  EXPECT_GT(high_bit_groups.size(), 950u);
  // Keys of other lengths: shorter ones are read as numbers too, longer ones use Hash64.
  EXPECT_EQ(detail::KeyHash(EncodeToString(int32_t{6})) & 3, 2u);
  EXPECT_EQ(detail::KeyHash("a key of more than 8 bytes"), Hash64("a key of more than 8 bytes"));
}

TEST(KeyTableTest, InsertReturnsTheSameIdForTheSameKey) {
  KeyTable t;
  KeyId a = Insert(t, "alpha", 3);
  KeyId b = Insert(t, "beta", 7);
  EXPECT_NE(a, b);
  EXPECT_EQ(Insert(t, "alpha", 3), a);
  EXPECT_EQ(Insert(t, "beta", 7), b);
  EXPECT_EQ(t.live_count(), 2u);
  EXPECT_EQ(t.key(a).bytes(), "alpha");
  EXPECT_EQ(t.key(a).key_group(), 3);
  EXPECT_TRUE(t.key(a).live());
  EXPECT_LT(a, t.id_limit());
  EXPECT_LT(b, t.id_limit());
}

TEST(KeyTableTest, TheVersionChangesWhenWhatTheLastFreezeSawChanges) {
  KeyTable t;
  KeyId a = Insert(t, "a");
  (void)t.Freeze();
  uint64_t v = t.version();
  // A key that comes and goes between two freezes, reusing a free id, changes nothing.
  KeyId b = Insert(t, "b");
  (void)t.Freeze();
  EXPECT_NE(t.version(), v) << "b is new";
  v = t.version();
  t.Erase(b);
  EXPECT_NE(t.version(), v) << "the last freeze saw b";
  v = t.version();
  (void)t.Freeze();
  EXPECT_EQ(t.version(), v);
  KeyId c = Insert(t, "c");
  EXPECT_EQ(c, b) << "the free id is reused";
  t.Erase(c);
  (void)t.Freeze();
  EXPECT_EQ(t.version(), v) << "c came and went";
  // Another transient key, with no free id: the ids grow, so the version changes.
  KeyId d = Insert(t, "d");
  KeyId e = Insert(t, "e");
  t.Erase(d);
  t.Erase(e);
  (void)t.Freeze();
  EXPECT_NE(t.version(), v);
  v = t.version();
  EXPECT_EQ(t.Find("a", Hash64("a")), a);
  (void)t.Freeze();
  EXPECT_EQ(t.version(), v);
}

TEST(KeyTableTest, IdsAreDense) {
  KeyTable t;
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Insert(t, "k" + std::to_string(i)), KeyId(i));
  EXPECT_EQ(t.id_limit(), 100u);
}

TEST(KeyTableTest, EmptyKeyIsAKeyLikeAnyOther) {
  KeyTable t;
  KeyId e = Insert(t, "");
  KeyId x = Insert(t, "x");
  EXPECT_NE(e, x);
  EXPECT_EQ(Insert(t, ""), e);
}

TEST(KeyTableTest, EraseForgetsTheKeyAndReusesItsId) {
  KeyTable t;
  KeyId a = Insert(t, "a");
  KeyId b = Insert(t, "b");
  t.Erase(a);
  EXPECT_EQ(t.live_count(), 1u);
  EXPECT_FALSE(t.key(a).live());
  EXPECT_EQ(Insert(t, "b"), b) << "other keys are unaffected";
  KeyId c = Insert(t, "c");
  EXPECT_EQ(c, a) << "the erased id is reused";
  EXPECT_EQ(t.key(c).bytes(), "c");
  EXPECT_EQ(t.id_limit(), 2u);
  // "a" is gone: inserting it again gives a new id, not c's.
  KeyId a2 = Insert(t, "a");
  EXPECT_NE(a2, c);
  EXPECT_EQ(t.live_count(), 3u);
}

TEST(KeyTableTest, ErasingTwiceIsHarmless) {
  KeyTable t;
  KeyId a = Insert(t, "a");
  t.Erase(a);
  t.Erase(a);
  EXPECT_EQ(t.live_count(), 0u);
  KeyId x = Insert(t, "x");
  KeyId y = Insert(t, "y");
  EXPECT_NE(x, y) << "an id must not be handed out twice";
}

TEST(KeyTableTest, KeysWithIdenticalHashesAreKeptApart) {
  KeyTable t;
  const uint64_t hash = 0x1234567800000005ull;
  std::vector<KeyId> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(t.FindOrInsert("key" + std::to_string(i), hash, 0));
  std::set<KeyId> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), ids.size());
  for (int i = 0; i < 50; i += 2) t.Erase(ids[static_cast<size_t>(i)]);
  for (int i = 1; i < 50; i += 2) {
    EXPECT_EQ(t.FindOrInsert("key" + std::to_string(i), hash, 0), ids[static_cast<size_t>(i)]);
  }
  EXPECT_EQ(t.live_count(), 25u);
}

TEST(KeyTableTest, ManyKeysSurviveRehashing) {
  KeyTable t;
  constexpr int kKeys = 100000;
  std::vector<KeyId> ids(kKeys);
  for (int i = 0; i < kKeys; ++i) ids[i] = Insert(t, "key-" + std::to_string(i), i % 128);
  EXPECT_EQ(t.live_count(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_EQ(Insert(t, "key-" + std::to_string(i)), ids[i]) << i;
    ASSERT_EQ(t.key(ids[i]).key_group(), i % 128);
  }
  EXPECT_EQ(t.live_count(), static_cast<size_t>(kKeys));
}

TEST(KeyTableTest, ChurnWithManyTombstonesKeepsWorking) {
  // Insert and erase many short-lived keys: tombstones must not fill the table.
  KeyTable t;
  KeyId keep = Insert(t, "keep");
  for (int round = 0; round < 20000; ++round) {
    KeyId id = Insert(t, "tmp-" + std::to_string(round));
    t.Erase(id);
  }
  EXPECT_EQ(t.live_count(), 1u);
  EXPECT_EQ(Insert(t, "keep"), keep);
  EXPECT_LE(t.id_limit(), 2u) << "erased ids are reused";
}

// Random inserts, lookups and erases compared with a model, with four kinds of keys: strings
// hashed by Hash64; strings whose hashes come from a tiny set, to force long probe chains and
// equal hashes for different keys; and int64 keys hashed by KeyHash, dense (whole 4-key
// blocks in one line, as ids that come in order) or multiples of 2^40 (only high bits vary).
TEST(KeyTableTest, RandomOperationsMatchAModel) {
  std::mt19937_64 rng(testing::TestSeed());
  enum Keys { kStrings, kForcedCollisions, kDenseInts, kHighBitInts };
  for (Keys kind : {kStrings, kForcedCollisions, kDenseInts, kHighBitInts}) {
    SCOPED_TRACE(kind);
    KeyTable t;
    std::unordered_map<std::string, KeyId> model;
    std::unordered_map<KeyId, std::string> by_id;
    const uint64_t key_space = kind == kForcedCollisions ? 800 : 3000;
    auto hash_of = [&](const std::string& k) -> uint64_t {
      switch (kind) {
        case kStrings: return Hash64(k);
        case kForcedCollisions: return (Hash64(k) % 7) * 0x9e3779b97f4a7c15ull;
        default: return detail::KeyHash(k);
      }
    };
    for (int op = 0; op < 60000; ++op) {
      const uint64_t n = rng() % key_space;
      std::string key = kind == kDenseInts    ? EncodeToString(static_cast<int64_t>(n))
                        : kind == kHighBitInts ? EncodeToString(static_cast<int64_t>(n << 40))
                                               : "k" + std::to_string(n);
      int r = static_cast<int>(rng() % 10);
      if (r < 6) {
        KeyId id = t.FindOrInsert(key, hash_of(key), 0);
        auto it = model.find(key);
        if (it != model.end()) {
          ASSERT_EQ(id, it->second) << "key " << key << " op " << op;
        } else {
          ASSERT_FALSE(by_id.contains(id)) << "id " << id << " handed out while live";
          model.emplace(key, id);
          by_id.emplace(id, key);
        }
        ASSERT_TRUE(t.key(id).live());
        ASSERT_EQ(t.key(id).bytes(), key);
      } else if (!model.empty()) {
        auto it = model.find(key);
        if (it == model.end()) continue;
        t.Erase(it->second);
        by_id.erase(it->second);
        model.erase(it);
      }
      ASSERT_EQ(t.live_count(), model.size());
    }
    for (const auto& [k, id] : model) EXPECT_EQ(t.FindOrInsert(k, hash_of(k), 0), id);
  }
}

// Keys up to Key::kInline bytes sit in the entry, longer ones on the heap: both kinds, and the
// lengths at the boundary, survive rehashing, erasing and the reuse of an erased id.
TEST(KeyTableTest, ShortAndLongKeysKeepTheirBytes) {
  KeyTable t;
  std::vector<std::string> keys;
  for (size_t n : {0, 1, 7, 8, 11, 12, 13, 15, 16, 17, 24, 300}) {
    keys.push_back(std::string(n, 'k'));
    if (n > 0) keys.push_back(std::string(n - 1, 'k') + '\0');  // same length, other bytes
  }
  std::vector<KeyId> ids;
  for (const auto& k : keys) ids.push_back(Insert(t, k, 5));
  for (int i = 0; i < 5000; ++i) Insert(t, "filler-" + std::to_string(i));  // rehashes
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_EQ(Insert(t, keys[i]), ids[i]) << keys[i].size();
    EXPECT_EQ(t.key(ids[i]).bytes(), keys[i]);
    EXPECT_EQ(t.key(ids[i]).key_group(), 5);
  }
  for (size_t i = 0; i < keys.size(); i += 2) t.Erase(ids[i]);
  for (size_t i = 0; i < keys.size(); i += 2) {
    KeyId id = Insert(t, keys[i] + "-again");
    EXPECT_EQ(t.key(id).bytes(), keys[i] + "-again");
  }
  for (size_t i = 1; i < keys.size(); i += 2) EXPECT_EQ(t.key(ids[i]).bytes(), keys[i]);
}

// A frozen view keeps the keys as they were, long ones included, while the table erases and
// reuses their ids (the write copies the chunk, and each copy owns its bytes).
TEST(KeyTableTest, AFrozenViewKeepsItsKeysWhileTheTableChanges) {
  KeyTable t;
  const std::string long_key(40, 'L');
  KeyId a = Insert(t, long_key, 1);
  KeyId b = Insert(t, "short", 2);
  KeyTable::Frozen frozen = t.Freeze();
  t.Erase(a);
  KeyId c = Insert(t, std::string(50, 'N'), 3);
  ASSERT_EQ(c, a);
  t.Erase(b);
  EXPECT_TRUE(frozen[a].live());
  EXPECT_EQ(frozen[a].bytes(), long_key);
  EXPECT_EQ(frozen[a].key_group(), 1);
  EXPECT_EQ(frozen[b].bytes(), "short");
  EXPECT_EQ(t.key(c).bytes(), std::string(50, 'N'));
  EXPECT_FALSE(t.key(b).live());
}

TEST(KeyTableTest, AKeyGroupAKeyCannotHoldIsAStateErrorAndTakesNoId) {
  KeyTable t;
  EXPECT_THROW(t.FindOrInsert("k", Hash64("k"), 70000), detail::StateError);
  EXPECT_THROW(t.FindOrInsert("k", Hash64("k"), -1), detail::StateError);
  EXPECT_EQ(t.live_count(), 0u);
  EXPECT_EQ(t.id_limit(), 0u);
  EXPECT_EQ(Insert(t, "k", 65535), KeyId(0));
}

}  // namespace
}  // namespace weir
