// Checksum goes through xxHash's runtime-dispatched code, Hash64 through the inlined portable
// code: every checkpoint written before must still verify, so both must agree, however the
// bytes are split into updates.
#include "base/checksum.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "base/hash.h"
#include "testing/test_util.h"

namespace weir {
namespace {

TEST(ChecksumTest, EqualsHash64OfTheConcatenatedBytesHoweverTheyAreSplit) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  // Lengths on both sides of XXH3's internal boundaries (16, 128, 240 bytes, 1 KiB stripes,
  // its 256-byte buffer), then a few megabytes.
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 1100; ++n) lengths.push_back(n);
  for (size_t n : {4095, 4096, 4097, 65536, 1 << 20, (3 << 20) + 17}) lengths.push_back(n);
  for (size_t n : lengths) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    Checksum sum;
    for (size_t at = 0; at < n;) {
      size_t piece = std::min<size_t>(n - at, rng() % 3 == 0 ? rng() % 8 : rng() % 5000);
      sum.Update(std::string_view(bytes).substr(at, piece));
      at += piece;
    }
    ASSERT_EQ(sum.Digest(), Hash64(bytes)) << "length " << n;
    ASSERT_EQ(Checksum::Of(bytes), Hash64(bytes)) << "length " << n;
  }
}

TEST(ChecksumTest, CopiesCarryOnFromWhereTheyWere) {
  // Past XXH3's first stripes (1 KiB) and inside its buffer, by copy and by assignment.
  for (size_t head_length : {0, 11, 5000}) {
    const std::string head(head_length, 'h');
    Checksum a;
    a.Update(head);
    Checksum b = a;
    Checksum c;
    c.Update("something else");
    c = a;
    a.Update("one");
    b.Update("two");
    c.Update(std::string(3000, 't'));
    EXPECT_EQ(a.Digest(), Hash64(head + "one")) << head_length;
    EXPECT_EQ(b.Digest(), Hash64(head + "two")) << head_length;
    EXPECT_EQ(c.Digest(), Hash64(head + std::string(3000, 't'))) << head_length;
  }
  EXPECT_EQ(Checksum().Digest(), Hash64(""));
}

}  // namespace
}  // namespace weir
