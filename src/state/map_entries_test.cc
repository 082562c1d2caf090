// MapEntries, the heap map state's per-key entries, against an std::unordered_map model:
// inserts, overwrites, erases and copies on both sides of the index threshold (seed printed).
#include "weir/detail/map_entries.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>

#include "testing/test_util.h"

namespace weir::detail {
namespace {

using Entries = MapEntries<std::string, int, std::hash<std::string>>;

std::map<std::string, int> Sorted(const Entries& e) {
  std::map<std::string, int> out;
  for (const auto& [k, v] : e) EXPECT_TRUE(out.emplace(k, v).second) << "key twice: " << k;
  return out;
}

std::map<std::string, int> Sorted(const std::unordered_map<std::string, int>& m) {
  return {m.begin(), m.end()};
}

TEST(MapEntriesTest, EraseMovesTheLastEntryAndKeepsEveryOtherFindable) {
  Entries e;
  for (int i = 0; i < 40; ++i) e.InsertOrAssign(std::to_string(i), i);  // past the index
  for (int i = 0; i < 40; i += 3) EXPECT_TRUE(e.Erase(std::to_string(i)));
  EXPECT_FALSE(e.Erase("0"));
  for (int i = 0; i < 40; ++i) {
    const int* v = e.Find(std::to_string(i));
    if (i % 3 == 0) {
      EXPECT_EQ(v, nullptr) << i;
    } else {
      ASSERT_NE(v, nullptr) << i;
      EXPECT_EQ(*v, i);
    }
  }
  EXPECT_EQ(e.size(), 26u);
}

TEST(MapEntriesTest, RandomisedAgainstAnUnorderedMap) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  // Key spaces around the index threshold: scans only, crossing it back and forth, indexed.
  constexpr int kIndexFrom = static_cast<int>(Entries::kIndexFrom);
  for (int keys : {3, kIndexFrom, kIndexFrom + 4, 300}) {
    SCOPED_TRACE("keys " + std::to_string(keys) + " seed " + std::to_string(seed));
    Entries e;
    std::unordered_map<std::string, int> model;
    for (int op = 0; op < 20000; ++op) {
      const std::string key = "k" + std::to_string(rng() % keys);
      const int value = static_cast<int>(rng() % 1000);
      switch (rng() % 6) {
        case 0:
        case 1:
          e.InsertOrAssign(key, value);
          model.insert_or_assign(key, value);
          break;
        case 2:
          ASSERT_EQ(e.Erase(key), model.erase(key) > 0) << "op " << op;
          break;
        case 3: {
          const int* v = e.Find(key);
          auto it = model.find(key);
          ASSERT_EQ(v != nullptr, it != model.end()) << "op " << op;
          if (v != nullptr) {
            ASSERT_EQ(*v, it->second) << "op " << op;
          }
          break;
        }
        case 4:
          if (int* v = e.Find(key)) {
            ++*v;
            ++model[key];
          }
          break;
        case 5: {  // a copy (a snapshot's chunk) goes on alone, and so does the original
          Entries copy = e;
          copy.InsertOrAssign("copy-only", 1);
          copy.Erase(key);
          ASSERT_FALSE(e.Contains("copy-only"));
          break;
        }
      }
      ASSERT_EQ(e.size(), model.size()) << "op " << op;
      ASSERT_EQ(e.empty(), model.empty());
    }
    EXPECT_EQ(Sorted(e), Sorted(model));
    for (const auto& [k, v] : model) EXPECT_TRUE(e.Contains(k)) << k;
  }
}

}  // namespace
}  // namespace weir::detail
