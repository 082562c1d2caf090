// OrderByKey, SortKeys (in memory reused from sort to sort) and SortByKey against
// std::sort of the keys as strings, on keys made to trip a 16-byte prefix sort: prefixes of
// each other, zero bytes, the same first 16 bytes, few or many varying bytes; below and
// above the size where buckets start (seed printed).
#include "state/key_order.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "testing/test_util.h"

namespace weir {
namespace {

struct Keyed {
  uint32_t group;
  std::string key;
};

std::vector<Keyed> SortedAsStrings(std::vector<Keyed> items) {
  std::sort(items.begin(), items.end(), [](const Keyed& a, const Keyed& b) {
    return a.group != b.group ? a.group < b.group : a.key < b.key;
  });
  return items;
}

// SortByKey moves `items` into the order SortedAsStrings gives them.
void ExpectSortByKeyOrdersAsStrings(std::vector<Keyed> items) {
  const std::vector<Keyed> expected = SortedAsStrings(items);
  SortByKey(
      items, [](const Keyed& k) { return k.group; },
      [](const Keyed& k) { return std::string_view(k.key); });
  for (size_t i = 0; i < items.size(); ++i) ASSERT_EQ(items[i].key, expected[i].key) << i;
}

// Distinct keys of `kind` in `groups` groups, in random order (each kind has millions).
std::vector<Keyed> RandomKeys(std::mt19937_64& rng, int kind, size_t n, uint32_t groups) {
  std::vector<std::map<std::string, bool>> seen(groups);
  std::vector<Keyed> items;
  while (items.size() < n) {
    uint32_t group = static_cast<uint32_t>(rng() % groups);
    std::string key;
    switch (kind) {
      case 0:  // RocksDB keys of int64s: [key group][length][8 bytes], one to three vary
        key = {'\0', static_cast<char>(rng() % 128), '\x08', '\x80', '\0', '\0', '\0', '\0'};
        for (int b = 0; b < 3; ++b) key.push_back(static_cast<char>(rng() % 4 == 0 ? 0 : rng()));
        break;
      case 1: {  // keys of zero bytes and 'a's: prefixes of each other, zero padding
        key.assign(rng() % 24, '\0');
        for (char& c : key) c = rng() % 2 ? 'a' : '\0';
        break;
      }
      case 2:  // the same first 16 bytes, then anything
        key.assign(16, 'p');
        key.resize(16 + rng() % 6);
        for (size_t i = 16; i < key.size(); ++i) key[i] = static_cast<char>(rng() % 4 ? rng() : 0);
        break;
      case 3:  // two of the first 16 bytes vary, among few values, then anything: ties
        key.assign(16, 'q');
        key[3] = static_cast<char>(rng() % 3);
        key[12] = static_cast<char>(rng() % 5 == 0 ? 0xff : rng() % 4);
        key.resize(16 + rng() % 4);
        for (size_t i = 16; i < key.size(); ++i) key[i] = static_cast<char>(rng() % 4 ? rng() : 0);
        break;
      case 4: {  // 13 to 15 bytes, four vary, often zero: a short key ties with a longer one
        key.assign(13, 'r');
        key[4] = static_cast<char>(rng());
        key[9] = static_cast<char>(rng() % 4 ? rng() : 0);
        // After the 13th byte: nothing, zeros a shorter key's padding equals, or a 1.
        static constexpr std::string_view kSuffixes[] = {
            {"", 0}, {"\0", 1}, {"\0\0", 2}, {"\x01", 1}, {"\0\x01", 2}};
        key.append(kSuffixes[rng() % 5]);
        break;
      }
      default:  // random bytes of random lengths
        key.resize(rng() % 24);
        for (char& c : key) c = static_cast<char>(rng());
    }
    if (!seen[group].emplace(key, true).second) continue;
    items.push_back(Keyed{group, std::move(key)});
  }
  return items;
}

TEST(KeyOrderTest, OrdersAsStringsDo) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  KeyOrderScratch reused;  // by every sort below, larger and smaller than the one before
  for (int kind = 0; kind < 6; ++kind) {
    for (size_t n : {0, 1, 2, 100, 2047, 2048, 5000, 40000}) {
      for (uint32_t groups : {1u, 3u}) {
        SCOPED_TRACE("seed " + std::to_string(seed) + " kind " + std::to_string(kind) + " n " +
                     std::to_string(n) + " groups " + std::to_string(groups));
        std::vector<Keyed> items = RandomKeys(rng, kind, n, groups);
        const std::vector<Keyed> expected = SortedAsStrings(items);

        std::vector<uint32_t> order = OrderByKey(
            items.size(), [&](size_t i) { return items[i].group; },
            [&](size_t i) { return std::string_view(items[i].key); });
        ASSERT_EQ(order.size(), items.size());
        for (size_t i = 0; i < order.size(); ++i) {
          ASSERT_EQ(items[order[i]].key, expected[i].key) << "at " << i;
          ASSERT_EQ(items[order[i]].group, expected[i].group) << "at " << i;
        }
        SortKeys(
            items.size(), [&](size_t i) { return items[i].group; },
            [&](size_t i) { return std::string_view(items[i].key); }, reused);
        ASSERT_EQ(reused.order, order);

        // From 2048 keys on, those whose first 16 bytes differ in four bytes or fewer (the
        // group's among them) sort as 64-bit integers; the others in buckets.
        KeyOrderScratch fresh;
        SortKeys(
            items.size(), [&](size_t i) { return items[i].group; },
            [&](size_t i) { return std::string_view(items[i].key); }, fresh);
        const bool as_integers =
            kind == 2 || kind == 3 || ((kind == 0 || kind == 4) && groups == 1);
        if (n >= 2048) {
          EXPECT_EQ(!fresh.packed.empty(), as_integers);
          EXPECT_EQ(!fresh.buckets.empty(), !as_integers);
        }

        ExpectSortByKeyOrdersAsStrings(std::move(items));
      }
    }
  }
}

TEST(KeyOrderTest, FewDistinctShortKeysStillOrder) {
  // Every key of up to 10 bytes from {0, 'a'}: 2047 keys, many prefixes of others.
  std::vector<Keyed> items;
  for (int len = 0; len <= 10; ++len) {
    for (int bits = 0; bits < (1 << len); ++bits) {
      std::string key(static_cast<size_t>(len), '\0');
      for (int i = 0; i < len; ++i) key[static_cast<size_t>(i)] = (bits >> i) & 1 ? 'a' : '\0';
      items.push_back(Keyed{0, key});
    }
  }
  std::shuffle(items.begin(), items.end(), std::mt19937_64(testing::TestSeed()));
  ExpectSortByKeyOrdersAsStrings(std::move(items));
}

// Keys that differ in few bytes are packed into integers once a sample and then a pass over
// all of them agree. Here the sample sees only ids; one key it does not see differs in every
// byte, and the keys sort as positions instead.
TEST(KeyOrderTest, AKeyTheSampleMissesStillOrders) {
  for (size_t odd_one : {size_t{1}, size_t{4999}}) {
    std::vector<Keyed> items;
    for (uint32_t i = 0; i < 5000; ++i) {
      std::string key(8, '\0');
      for (int b = 0; b < 4; ++b) key[7 - b] = static_cast<char>((i * 2654435761u) >> (8 * b));
      items.push_back(Keyed{0, key});
    }
    items[odd_one].key = std::string(12, static_cast<char>(0x80 | odd_one));
    SCOPED_TRACE("the odd key at " + std::to_string(odd_one));
    ExpectSortByKeyOrdersAsStrings(std::move(items));
  }
}

TEST(KeyOrderTest, APrefixIsTheKeysFirstSixteenBytesBigEndianZeroPadded) {
  std::mt19937_64 rng(testing::TestSeed());
  for (int round = 0; round < 100; ++round) {
    for (size_t n = 0; n <= 20; ++n) {
      // Bytes around the key that must not be read into its prefix.
      std::string buffer(n + 16, static_cast<char>(0xee));
      for (size_t i = 8; i < 8 + n; ++i) buffer[i] = static_cast<char>(rng());
      const std::string_view key(buffer.data() + 8, n);
      unsigned char expected[16] = {};
      std::memcpy(expected, key.data(), std::min<size_t>(n, 16));
      uint64_t high = 1, low = 1;
      key_order_detail::LoadPrefix(key, high, low);
      ASSERT_EQ(high, key_order_detail::LoadBigEndian(expected)) << "length " << n;
      ASSERT_EQ(low, key_order_detail::LoadBigEndian(expected + 8)) << "length " << n;
    }
  }
}

}  // namespace
}  // namespace weir
