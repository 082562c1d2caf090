// StateWriteCache on its own: lookups, CLOCK eviction with write-back of dirty entries only,
// and a randomised comparison with a map through inserts, updates and evictions (seed printed).
#include "state/state_write_cache.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "testing/test_util.h"

namespace weir {
namespace {

uint64_t HashOf(const std::string& key) { return std::hash<std::string>()(key); }

TEST(StateWriteCacheTest, FindsWhatWasAddedPerStateAndKey) {
  StateWriteCache cache(StateWriteCache::BytesForEntries(8));
  auto no_write = [](const StateWriteCache::Entry&) { FAIL() << "nothing to evict"; };
  StateWriteCache::Entry* a = cache.Insert(0, "a", HashOf("a"), no_write, [] {});
  a->value = "1";
  a->present = true;
  StateWriteCache::Entry* b = cache.Insert(1, "a", HashOf("a"), no_write, [] {});
  EXPECT_EQ(cache.Find(0, "a", HashOf("a")), a);
  EXPECT_EQ(cache.Find(1, "a", HashOf("a")), b);
  EXPECT_EQ(cache.Find(0, "b", HashOf("b")), nullptr);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.has_dirty());
  cache.MarkDirty(a);
  cache.MarkDirty(a);
  std::vector<std::string> dirty;
  cache.ForEachDirty([&](const StateWriteCache::Entry& e) { dirty.push_back(e.key + e.value); });
  EXPECT_EQ(dirty, std::vector<std::string>{"a1"});
  cache.MarkClean();
  EXPECT_FALSE(cache.has_dirty());
  cache.Clear();
  EXPECT_EQ(cache.Find(0, "a", HashOf("a")), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(StateWriteCacheTest, AFullCacheEvictsAnEighthAndWritesBackOnlyDirtyEntries) {
  StateWriteCache cache(StateWriteCache::BytesForEntries(16));
  int commits = 0;
  std::vector<std::string> written;
  auto write = [&](const StateWriteCache::Entry& e) { written.push_back(e.key); };
  for (int i = 0; i < 16; ++i) {
    std::string k = "k" + std::to_string(i);
    StateWriteCache::Entry* e = cache.Insert(0, k, HashOf(k), write, [&] { ++commits; });
    if (i % 2 == 0) cache.MarkDirty(e);
  }
  EXPECT_EQ(commits, 0);
  // Every entry was just used: the CLOCK clears their bits on a first sweep, then evicts the
  // two oldest (an eighth of 16), one of them dirty.
  cache.Insert(0, "new", HashOf("new"), write, [&] { ++commits; });
  EXPECT_EQ(commits, 1);
  EXPECT_EQ(written, std::vector<std::string>{"k0"});
  EXPECT_EQ(cache.size(), 15u);
  EXPECT_EQ(cache.Find(0, "k0", HashOf("k0")), nullptr);
  EXPECT_EQ(cache.Find(0, "k1", HashOf("k1")), nullptr);
  EXPECT_NE(cache.Find(0, "k2", HashOf("k2")), nullptr);
  // The evicted dirty entry is no longer among the dirty ones.
  int dirty = 0;
  cache.ForEachDirty([&](const StateWriteCache::Entry& e) {
    EXPECT_NE(e.key, "k0");
    ++dirty;
  });
  EXPECT_EQ(dirty, 7);
}

TEST(StateWriteCacheTest, ABudgetHoldsTheEntriesItWasSizedFor) {
  EXPECT_FALSE(StateWriteCache(0).enabled());
  EXPECT_EQ(StateWriteCache::BytesForEntries(0), 0u);
  for (size_t n : {1, 2, 3, 8, 100, 131072, 1'000'000}) {
    SCOPED_TRACE(n);
    EXPECT_EQ(StateWriteCache(StateWriteCache::BytesForEntries(n)).capacity(), n);
    EXPECT_EQ(StateWriteCache(StateWriteCache::BytesForEntries(n) - 1).capacity(), n - 1);
  }
}

TEST(StateWriteCacheTest, LongValuesCountAgainstTheBudget) {
  StateWriteCache cache(StateWriteCache::BytesForEntries(64));
  auto write = [](const StateWriteCache::Entry&) {};
  const std::string long_value(1000, 'x');
  size_t most = 0;
  for (int i = 0; i < 200; ++i) {
    std::string k = "k" + std::to_string(i);
    StateWriteCache::Entry* e = cache.Insert(0, k, HashOf(k), write, [] {});
    cache.SetValue(e, long_value);
    cache.MarkDirty(e);
    most = std::max(most, cache.size());
  }
  // 64 entries of short values fit; of 1,001 bytes more each, a handful.
  EXPECT_LE(most, 8u);
  EXPECT_LE(cache.bytes(), StateWriteCache::BytesForEntries(64) + long_value.size() + 1);
  // Short values again: the budget holds as many as it was sized for.
  for (int i = 0; i < 200; ++i) {
    std::string k = "s" + std::to_string(i);
    cache.SetValue(cache.Insert(0, k, HashOf(k), write, [] {}), "1");
  }
  EXPECT_GE(cache.size(), 56u);
}

TEST(StateWriteCacheTest, DirtyEntriesSayWhetherTheyChangedSinceTheFlagWasCleared) {
  StateWriteCache cache(StateWriteCache::BytesForEntries(16));
  auto no_write = [](const StateWriteCache::Entry&) { FAIL() << "nothing to evict"; };
  std::vector<StateWriteCache::Entry*> e;
  for (int i = 0; i < 4; ++i) {
    std::string k = "k" + std::to_string(i);
    e.push_back(cache.Insert(0, k, HashOf(k), no_write, [] {}));
    EXPECT_FALSE(e.back()->changed);
    cache.SetValue(e.back(), std::to_string(i));
    cache.MarkDirty(e.back());
    EXPECT_TRUE(e.back()->changed);
  }
  // As an incremental snapshot does: takes the changed ones and clears their flag.
  cache.ForEachDirty([](StateWriteCache::Entry& d) { d.changed = false; });
  cache.MarkDirty(e[1]);
  cache.MarkDirty(e[3]);
  // The next one writes back those unchanged since, and keeps the changed ones dirty.
  std::vector<std::string> unchanged;
  cache.ForEachDirty([&](const StateWriteCache::Entry& d) {
    if (!d.changed) unchanged.push_back(d.key);
  });
  EXPECT_EQ(unchanged, (std::vector<std::string>{"k0", "k2"}));
  cache.CleanIf([](const StateWriteCache::Entry& d) { return !d.changed; });
  EXPECT_EQ(cache.dirty_count(), 2u);
  EXPECT_FALSE(e[0]->dirty);
  EXPECT_TRUE(e[1]->dirty);
  EXPECT_EQ(cache.size(), 4u) << "clean entries stay cached";
}

// A cache in front of a "database" map must always read as the map alone would, and the
// database plus the dirty entries must equal the model at any point.
TEST(StateWriteCacheTest, RandomisedAgainstAMap) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  for (size_t capacity : {1, 2, 7, 64}) {
    SCOPED_TRACE("capacity " + std::to_string(capacity) + " seed " + std::to_string(seed));
    StateWriteCache cache(StateWriteCache::BytesForEntries(capacity));
    ASSERT_EQ(cache.capacity(), capacity);
    std::map<std::pair<int, std::string>, std::string> db, model;
    auto write = [&](const StateWriteCache::Entry& e) {
      if (e.present) {
        db[{e.state, e.key}] = e.value;
      } else {
        db.erase({e.state, e.key});
      }
    };
    for (int op = 0; op < 20000; ++op) {
      int state = static_cast<int>(rng() % 3);
      std::string key = "key" + std::to_string(rng() % 40);
      uint64_t hash = HashOf(key) ^ static_cast<uint64_t>(state) * 0x9e3779b97f4a7c15ull;
      StateWriteCache::Entry* e = cache.Find(state, key, hash);
      switch (rng() % 3) {
        case 0: {  // read
          auto m = model.find({state, key});
          if (e == nullptr) {
            auto d = db.find({state, key});
            e = cache.Insert(state, key, hash, write, [] {});
            if (d != db.end()) cache.SetValue(e, d->second);
          }
          ASSERT_EQ(e->present, m != model.end());
          if (e->present) {
            ASSERT_EQ(e->value, m->second);
          }
          cache.EvictIfOverBudget(write, [] {});
          break;
        }
        case 1: {  // update, now and then with a value too long to be held inline
          if (e == nullptr) e = cache.Insert(state, key, hash, write, [] {});
          cache.SetValue(e, std::string(rng() % 8 == 0 ? 40 : 1, 'v') + std::to_string(op));
          cache.MarkDirty(e);
          model[{state, key}] = e->value;
          cache.EvictIfOverBudget(write, [] {});
          break;
        }
        default: {  // delete
          if (e == nullptr) e = cache.Insert(state, key, hash, write, [] {});
          e->present = false;
          cache.MarkDirty(e);
          model.erase({state, key});
        }
      }
      ASSERT_LE(cache.size(), capacity);
      ASSERT_LE(cache.bytes(), StateWriteCache::BytesForEntries(capacity));
      if (op % 97 == 0) {  // as an incremental snapshot: unchanged ones written back
        cache.ForEachDirty([&](const StateWriteCache::Entry& d) {
          if (!d.changed) write(d);
        });
        cache.CleanIf([](const StateWriteCache::Entry& d) { return !d.changed; });
        cache.ForEachDirty([](StateWriteCache::Entry& d) { d.changed = false; });
      }
      if (op % 1000 == 999) {  // a snapshot
        cache.ForEachDirty(write);
        cache.MarkClean();
        ASSERT_EQ(db, model);
      }
    }
  }
}

}  // namespace
}  // namespace weir
