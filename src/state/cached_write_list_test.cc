// CachedWriteList: what is added reads back, present or absent, and in key order after
// SortByKey (seed printed), in a list cleared and reused too; its packed bytes read back as
// the same list, and bytes that are not such a block are corruption.
#include "state/cached_write_list.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "testing/test_util.h"

namespace weir {
namespace {

TEST(CachedWriteListTest, ReadsBackWhatWasAddedThenInKeyOrder) {
  CachedWriteList list;
  list.Reserve(3);
  list.Add("k2", true, "two");
  list.Add("k1", false, "ignored");
  list.Add(std::string_view("k0\0z", 4), true, "");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].key, "k2");
  EXPECT_EQ(list[0].value, "two");
  EXPECT_TRUE(list[0].present);
  EXPECT_EQ(list[1].key, "k1");
  EXPECT_FALSE(list[1].present);
  EXPECT_EQ(list[1].value, "");
  EXPECT_EQ(list[2].key, std::string_view("k0\0z", 4));
  EXPECT_TRUE(list[2].present);
  EXPECT_EQ(list[2].value, "");

  list.SortByKey();
  std::vector<std::string> keys;
  for (CachedWriteList::Reader in(&list); !in.empty(); in.pop_front()) {
    keys.emplace_back(in.front().key);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{std::string("k0\0z", 4), "k1", "k2"}));
  EXPECT_EQ(list[2].value, "two");
}

TEST(CachedWriteListTest, PackedBytesReadBackAsTheSameListWhateverTheOrder) {
  CachedWriteList list;
  list.Add("k2", true, "two");
  list.Add("k1", false, "ignored");
  list.Add(std::string_view("k0\0z", 4), true, "");
  list.SortByKey();  // orders the reads, not the packed bytes
  auto back = CachedWriteList::FromPacked(std::string(list.packed()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].key, "k2");
  EXPECT_EQ((*back)[0].value, "two");
  EXPECT_TRUE((*back)[0].present);
  EXPECT_EQ((*back)[1].key, "k1");
  EXPECT_FALSE((*back)[1].present);
  EXPECT_EQ((*back)[2].key, std::string_view("k0\0z", 4));
  EXPECT_TRUE((*back)[2].present);

  auto empty = CachedWriteList::FromPacked("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  // Every cut short of the whole block ends inside a header or a copy.
  const std::string packed(list.packed());
  for (size_t cut : {size_t{1}, size_t{8}, size_t{11}, packed.size() - 1}) {
    auto truncated = CachedWriteList::FromPacked(packed.substr(0, cut));
    ASSERT_FALSE(truncated.ok()) << cut;
    EXPECT_TRUE(truncated.status().IsCorruption()) << cut;
    EXPECT_NE(truncated.status().message().find("past the end"), std::string::npos)
        << truncated.status().ToString();
  }
}

// A snapshot reuses one list and one sort's scratch checkpoint after checkpoint: cleared,
// more copies or fewer than the last time, they still read back in order.
TEST(CachedWriteListTest, ManyCopiesSortAndReadBackInOrderInAReusedList) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  CachedWriteList list;
  KeyOrderScratch scratch;
  for (size_t copies : {200'000, 3'000, 120'000}) {
    SCOPED_TRACE("seed " + std::to_string(seed) + ", " + std::to_string(copies) + " copies");
    list.Clear();
    std::map<std::string, std::string> model;
    while (model.size() < copies) {
      std::string key(8, '\0');
      for (char& c : key) c = static_cast<char>(rng());
      std::string value = std::to_string(rng());
      if (model.emplace(key, value).second) list.Add(key, true, value);
    }
    list.SortByKey(scratch);
    ASSERT_EQ(list.size(), copies);
    auto it = model.begin();
    for (CachedWriteList::Reader in(&list); !in.empty(); in.pop_front(), ++it) {
      ASSERT_EQ(in.front().key, it->first);
      ASSERT_EQ(in.front().value, it->second);
    }
    EXPECT_EQ(it, model.end());
  }
}

}  // namespace
}  // namespace weir
