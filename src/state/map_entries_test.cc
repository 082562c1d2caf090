// MapEntries, the heap map state's per-key entries, against an std::unordered_map model:
// inserts, overwrites, erases and copies on both sides of the index threshold (seed printed).
#include "weir/detail/map_entries.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>
#include <stdexcept>
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
  // Key spaces around the index threshold: scans only, at it, indexed and shrinking below it,
  // indexed throughout.
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
          ASSERT_EQ(Sorted(copy), Sorted(model)) << "op " << op;
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

TEST(MapEntriesTest, CopiesAndMovesCarryTheEntriesAndTheirIndex) {
  for (int n : {3, 40}) {  // scanned, indexed
    SCOPED_TRACE(n);
    Entries e;
    for (int i = 0; i < n; ++i) e.InsertOrAssign(std::to_string(i), i);
    Entries assigned;
    assigned.InsertOrAssign("old", 0);
    assigned = e;
    assigned = *&assigned;  // self-assignment keeps it
    Entries moved = std::move(e);
    for (const Entries* m : {&assigned, &moved}) {
      ASSERT_EQ(m->size(), static_cast<size_t>(n));
      EXPECT_FALSE(m->Contains("old"));
      for (int i = 0; i < n; ++i) ASSERT_NE(m->Find(std::to_string(i)), nullptr) << i;
    }
    e = Entries();  // a moved-from map is reusable
    e.InsertOrAssign("again", 1);
    EXPECT_EQ(e.size(), 1u);
  }
}

// A hash that throws on demand, as a key's codec may (StateKeyHash hashes the encoded bytes of
// a key without std::hash).
struct ThrowingHash {
  static inline bool fail = false;
  size_t operator()(const std::string& k) const {
    if (fail) throw std::runtime_error("hash failed");
    return std::hash<std::string>{}(k);
  }
};

TEST(MapEntriesTest, AThrowingHashLeavesTheMapAsItWas) {
  using Throwing = MapEntries<std::string, int, ThrowingHash>;
  auto check = [](const Throwing& m, int n) {
    ASSERT_EQ(m.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const int* v = m.Find(std::to_string(i));
      ASSERT_NE(v, nullptr) << i;
      EXPECT_EQ(*v, i);
    }
  };
  constexpr int kIndexFrom = static_cast<int>(Throwing::kIndexFrom);
  Throwing m;
  for (int i = 0; i < kIndexFrom; ++i) m.InsertOrAssign(std::to_string(i), i);
  ThrowingHash::fail = true;  // the entry that would build the index
  EXPECT_THROW(m.InsertOrAssign(std::to_string(kIndexFrom), kIndexFrom), std::runtime_error);
  ThrowingHash::fail = false;
  check(m, kIndexFrom);
  for (int i = kIndexFrom; i < 30; ++i) m.InsertOrAssign(std::to_string(i), i);
  ThrowingHash::fail = true;  // indexed: an insert, an erase
  EXPECT_THROW(m.InsertOrAssign("30", 30), std::runtime_error);
  EXPECT_THROW(m.Erase("3"), std::runtime_error);
  ThrowingHash::fail = false;
  check(m, 30);
  EXPECT_TRUE(m.Erase("3"));
  EXPECT_FALSE(m.Contains("3"));
  EXPECT_EQ(m.size(), 29u);
}

}  // namespace
}  // namespace weir::detail
