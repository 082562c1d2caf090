// Codec<T> (weir/codec.h): round trips of every built-in codec, stable bytes, and Decode
// returning false, never crashing or over-allocating, on truncated or garbage input.
#include "weir/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <random>

#include "testing/test_util.h"

namespace weir {
namespace {

enum class Color : uint8_t { kRed = 1, kGreen = 2, kBlue = 3 };
enum Plain : int32_t { kPlainA = -7, kPlainB = 1 << 20 };

struct Point {
  int32_t x = 0;
  int32_t y = 0;
  std::string label;
  friend bool operator==(const Point&, const Point&) = default;
};

// A user's type whose codec is built on a number's (and so inherits its kFixedWidth) but
// writes bytes of its own: keys that hold one must go through the codec.
struct Tenths {
  int64_t v = 0;
  friend bool operator==(const Tenths&, const Tenths&) = default;
};

// An enum whose codec is the user's: one byte, not its integer's four.
enum class Suit : int32_t { kClubs, kDiamonds, kHearts, kSpades };

}  // namespace

template <>
struct Codec<Point> : FieldsCodec<Point, &Point::x, &Point::y, &Point::label> {};

template <>
struct Codec<Suit> {
  static constexpr std::string_view kName = "suit";
  static void Encode(const Suit& s, BufferWriter& w) { w.PutU8(static_cast<uint8_t>(s)); }
  static bool Decode(BufferReader& r, Suit& s) {
    uint8_t b;
    if (!r.GetU8(&b) || b > 3) return false;
    s = static_cast<Suit>(b);
    return true;
  }
};

// A user's codec in place of the built-in one of a pair of numbers: varints.
template <>
struct Codec<std::pair<int16_t, uint32_t>> {
  static void Encode(const std::pair<int16_t, uint32_t>& p, BufferWriter& w) {
    w.PutVarint64(static_cast<uint16_t>(p.first));
    w.PutVarint64(p.second);
  }
  static bool Decode(BufferReader& r, std::pair<int16_t, uint32_t>& p) {
    uint64_t first, second;
    if (!r.GetVarint64(&first) || !r.GetVarint64(&second)) return false;
    p = {static_cast<int16_t>(first), static_cast<uint32_t>(second)};
    return true;
  }
};

template <>
struct Codec<Tenths> : Codec<int64_t> {
  static void Encode(const Tenths& t, BufferWriter& w) { w.PutVarint64(static_cast<uint64_t>(t.v)); }
  static bool Decode(BufferReader& r, Tenths& t) {
    uint64_t v;
    if (!r.GetVarint64(&v)) return false;
    t.v = static_cast<int64_t>(v);
    return true;
  }
};

namespace {

template <typename T>
T RoundTrip(const T& v) {
  std::string bytes = EncodeToString(v);
  T out{};
  EXPECT_TRUE(DecodeFromString(bytes, out)) << "decoding " << bytes.size() << " bytes";
  return out;
}

template <typename T>
void ExpectRoundTrip(const T& v) {
  EXPECT_EQ(RoundTrip(v), v);
}

// Every strict prefix of a valid encoding must be rejected, and so must the encoding with a
// byte appended (DecodeFromString requires all input to be consumed).
template <typename T>
void ExpectTruncationsRejected(const T& v) {
  std::string bytes = EncodeToString(v);
  for (size_t n = 0; n < bytes.size(); ++n) {
    T out{};
    EXPECT_FALSE(DecodeFromString(std::string_view(bytes).substr(0, n), out))
        << "prefix of " << n << " of " << bytes.size() << " bytes decoded";
  }
  T out{};
  EXPECT_FALSE(DecodeFromString(bytes + "x", out)) << "trailing byte accepted";
}

TEST(CodecTest, IntegersAreFixedWidthLittleEndian) {
  EXPECT_EQ(EncodeToString<uint32_t>(0x01020304), std::string("\x04\x03\x02\x01", 4));
  EXPECT_EQ(EncodeToString<int64_t>(-1), std::string(8, '\xff'));
  EXPECT_EQ(EncodeToString<uint8_t>(7).size(), 1u);
  EXPECT_EQ(EncodeToString<int16_t>(7).size(), 2u);
}

TEST(CodecTest, ArithmeticRoundTrips) {
  ExpectRoundTrip<int8_t>(std::numeric_limits<int8_t>::min());
  ExpectRoundTrip<uint8_t>(255);
  ExpectRoundTrip<int16_t>(-12345);
  ExpectRoundTrip<uint16_t>(65535);
  ExpectRoundTrip<int32_t>(std::numeric_limits<int32_t>::min());
  ExpectRoundTrip<uint32_t>(std::numeric_limits<uint32_t>::max());
  ExpectRoundTrip<int64_t>(std::numeric_limits<int64_t>::min());
  ExpectRoundTrip<uint64_t>(std::numeric_limits<uint64_t>::max());
  ExpectRoundTrip<char>('z');
  ExpectRoundTrip<float>(-3.25f);
  ExpectRoundTrip<double>(1e300);
  ExpectRoundTrip<double>(std::numeric_limits<double>::denorm_min());
  ExpectRoundTrip<double>(-std::numeric_limits<double>::infinity());
  double nan = RoundTrip(std::numeric_limits<double>::quiet_NaN());
  EXPECT_TRUE(std::isnan(nan));
  EXPECT_TRUE(std::signbit(RoundTrip(-0.0)));
}

TEST(CodecTest, BoolIsOneByteAndRejectsOtherValues) {
  EXPECT_EQ(EncodeToString(true), std::string("\x01", 1));
  EXPECT_EQ(EncodeToString(false), std::string("\x00", 1));
  ExpectRoundTrip(true);
  ExpectRoundTrip(false);
  bool b;
  EXPECT_FALSE(DecodeFromString(std::string("\x02", 1), b));
  EXPECT_FALSE(DecodeFromString(std::string("\xff", 1), b));
}

TEST(CodecTest, EnumsUseTheirUnderlyingType) {
  ExpectRoundTrip(Color::kBlue);
  ExpectRoundTrip(kPlainA);
  ExpectRoundTrip(kPlainB);
  EXPECT_EQ(EncodeToString(Color::kGreen), EncodeToString<uint8_t>(2));
  EXPECT_EQ(EncodeToString(kPlainA).size(), sizeof(int32_t));
}

TEST(CodecTest, StringsAreLengthPrefixedAndBinarySafe) {
  ExpectRoundTrip(std::string());
  ExpectRoundTrip(std::string("hello"));
  ExpectRoundTrip(std::string("\0a\0b\xff", 5));
  ExpectRoundTrip(std::string(100000, 'q'));  // multi-byte varint length
  EXPECT_EQ(EncodeToString(std::string("ab")), std::string("\x02"
                                                           "ab",
                                                           3));
  ExpectTruncationsRejected(std::string("hello world"));
}

TEST(CodecTest, PairTupleOptionalRoundTrip) {
  ExpectRoundTrip(std::pair<int32_t, std::string>(-4, "four"));
  ExpectRoundTrip(std::tuple<>());
  ExpectRoundTrip(std::tuple<bool, double, std::string, uint16_t>(true, 2.5, "x", 9));
  ExpectRoundTrip(std::optional<std::string>());
  ExpectRoundTrip(std::optional<std::string>("present"));
  ExpectRoundTrip(std::optional<std::optional<int>>(std::optional<int>()));
  ExpectTruncationsRejected(std::tuple<bool, double, std::string>(true, 2.5, "xyz"));
  ExpectTruncationsRejected(std::optional<int64_t>(5));
  std::optional<int> o;
  EXPECT_FALSE(DecodeFromString(std::string("\x02\0\0\0\0", 5), o)) << "bad presence byte";
}

TEST(CodecTest, OptionalDecodeResetsAnExistingValue) {
  std::optional<int> o = 5;
  ASSERT_TRUE(DecodeFromString(EncodeToString(std::optional<int>()), o));
  EXPECT_FALSE(o.has_value());
}

TEST(CodecTest, ContainersRoundTrip) {
  ExpectRoundTrip(std::vector<int32_t>());
  ExpectRoundTrip(std::vector<int32_t>{1, -2, 3});
  ExpectRoundTrip(std::vector<std::string>{"a", "", "ccc"});
  ExpectRoundTrip(std::vector<bool>{true, false, true});
  ExpectRoundTrip(std::vector<std::vector<uint8_t>>{{}, {1}, {2, 3}});
  ExpectRoundTrip(std::array<int16_t, 3>{7, 8, 9});
  ExpectRoundTrip(std::array<std::string, 2>{"x", "y"});
  ExpectRoundTrip(std::map<std::string, int64_t>{{"a", 1}, {"b", -2}});
  ExpectRoundTrip(std::map<int, std::vector<std::string>>{{1, {"x"}}, {2, {}}});
  ExpectRoundTrip(std::unordered_map<std::string, double>{{"pi", 3.14}, {"e", 2.71}});
  ExpectRoundTrip(std::unordered_map<int32_t, std::optional<int32_t>>{{1, 5}, {2, {}}});
  ExpectTruncationsRejected(std::vector<std::string>{"a", "bb", "ccc"});
  ExpectTruncationsRejected(std::map<std::string, int64_t>{{"a", 1}, {"b", -2}});
  ExpectTruncationsRejected(std::array<int32_t, 2>{1, 2});
}

TEST(CodecTest, DecodeReplacesContainerContents) {
  std::vector<int> v = {9, 9, 9, 9};
  ASSERT_TRUE(DecodeFromString(EncodeToString(std::vector<int>{1}), v));
  EXPECT_EQ(v, std::vector<int>{1});
  std::map<int, int> m = {{5, 5}};
  ASSERT_TRUE(DecodeFromString(EncodeToString(std::map<int, int>{{1, 2}}), m));
  EXPECT_EQ(m, (std::map<int, int>{{1, 2}}));
}

TEST(CodecTest, FieldsCodecEncodesMembersInOrder) {
  Point p{3, -4, "origin-ish"};
  ExpectRoundTrip(p);
  std::string expected;
  BufferWriter w(&expected);
  Codec<int32_t>::Encode(3, w);
  Codec<int32_t>::Encode(-4, w);
  Codec<std::string>::Encode("origin-ish", w);
  EXPECT_EQ(EncodeToString(p), expected);
  ExpectTruncationsRejected(p);
  ExpectRoundTrip(std::vector<Point>{{1, 2, "a"}, {3, 4, "b"}});
  ExpectRoundTrip(std::map<std::string, Point>{{"k", {5, 6, "c"}}});
}

TEST(CodecTest, EncodingIsDeterministic) {
  auto value = std::make_tuple(std::string("key"), int64_t{42},
                               std::map<std::string, std::vector<int>>{{"b", {2}}, {"a", {1}}},
                               std::optional<double>(0.5), Point{1, 2, "p"});
  std::string first = EncodeToString(value);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(EncodeToString(value), first);
  // An equal map built in another order encodes to the same bytes.
  std::map<std::string, int> a, b;
  for (int i = 0; i < 50; ++i) a["k" + std::to_string(i)] = i;
  for (int i = 49; i >= 0; --i) b["k" + std::to_string(i)] = i;
  EXPECT_EQ(EncodeToString(a), EncodeToString(b));
  // The bytes are pinned: keys hash by them, so they must not change between releases.
  EXPECT_EQ(EncodeToString(std::make_pair(std::string("ab"), int32_t{1})),
            std::string("\x02"
                        "ab\x01\x00\x00\x00",
                        7));
}

// Keys of numbers are encoded into the encoder's inline buffer, not through a BufferWriter:
// the bytes must be the codec's, or keys would hash and restore differently.
template <typename K>
void ExpectKeyEncoderMatchesCodec(const K& key) {
  KeyEncoder<K> encoder;
  EXPECT_EQ(std::string(encoder.Encode(key)), EncodeToString(key));
  EXPECT_EQ(std::string(encoder.Encode(key)), EncodeToString(key)) << "encoded twice";
}

TEST(CodecTest, KeyEncoderWritesTheCodecsBytesForKeysOfNumbers) {
  static_assert(codec_internal::FixedWidth<std::pair<int64_t, int64_t>>::value == 16);
  static_assert(codec_internal::FixedWidth<std::tuple<int8_t, uint16_t, double>>::value == 11);
  static_assert(codec_internal::FixedWidth<std::pair<int64_t, std::string>>::value == 0);
  static_assert(codec_internal::FixedWidth<std::tuple<>>::value == 0);
  static_assert(codec_internal::FixedWidth<std::pair<Tenths, int64_t>>::value == 0);
  std::mt19937_64 random(testing::TestSeed());
  for (int i = 0; i < 1000; ++i) {
    const uint64_t a = random(), b = random();
    ExpectKeyEncoderMatchesCodec(std::make_pair(static_cast<int64_t>(a), static_cast<int64_t>(b)));
    ExpectKeyEncoderMatchesCodec(std::make_pair(static_cast<int32_t>(a), static_cast<int64_t>(b)));
    ExpectKeyEncoderMatchesCodec(std::make_pair(a % 2 == 0, static_cast<uint8_t>(b)));
    ExpectKeyEncoderMatchesCodec(std::make_tuple(static_cast<int8_t>(a), static_cast<uint16_t>(b),
                                                 static_cast<double>(a) / 3.0));
    ExpectKeyEncoderMatchesCodec(std::make_tuple(a, b, a ^ b, a + b));  // 32 bytes: inline
    ExpectKeyEncoderMatchesCodec(std::make_tuple(a, b, a ^ b, a + b, a - b));  // 40: a string
    ExpectKeyEncoderMatchesCodec(std::make_pair(static_cast<int64_t>(a), std::to_string(b)));
    ExpectKeyEncoderMatchesCodec(std::make_pair(Tenths{static_cast<int64_t>(a % 1000)}, b));
  }
}

// A user's codec for an enum or a pair of numbers takes the built-in one's place: keys are
// its bytes (a timer's key is decoded with it, and state restored under it).
TEST(CodecTest, KeyEncoderWritesAUsersCodecInPlaceOfABuiltInOne) {
  static_assert(codec_internal::FixedWidth<std::pair<int16_t, uint32_t>>::value == 0);
  static_assert(codec_internal::FixedWidth<std::tuple<std::pair<int16_t, uint32_t>>>::value == 0);
  for (Suit s : {Suit::kClubs, Suit::kDiamonds, Suit::kHearts, Suit::kSpades}) {
    ExpectKeyEncoderMatchesCodec(s);
    EXPECT_EQ(EncodeToString(s).size(), 1u);
    ExpectKeyEncoderMatchesCodec(std::make_pair(s, int64_t{7}));
  }
  std::mt19937_64 random(testing::TestSeed());
  for (int i = 0; i < 1000; ++i) {
    const uint64_t a = random();
    const std::pair<int16_t, uint32_t> key(static_cast<int16_t>(a), static_cast<uint32_t>(a >> 16));
    ExpectKeyEncoderMatchesCodec(key);
    ExpectKeyEncoderMatchesCodec(std::make_tuple(key, static_cast<int32_t>(a >> 48)));
    const std::pair<int16_t, uint32_t> back = RoundTrip(key);
    EXPECT_EQ(back, key);
  }
}

// x87's long double fills 10 of its 16 bytes: equal values encode alike, whatever the padding.
TEST(CodecTest, EqualLongDoublesEncodeAlike) {
  alignas(long double) unsigned char zeros[sizeof(long double)];
  alignas(long double) unsigned char ones[sizeof(long double)];
  std::memset(zeros, 0, sizeof zeros);
  std::memset(ones, 0xff, sizeof ones);
  asm volatile("" : : "r"(zeros), "r"(ones) : "memory");  // the fills are not dead stores
  auto* a = new (zeros) long double(7.25L);
  auto* b = new (ones) long double(7.25L);
  EXPECT_EQ(EncodeToString(*a), EncodeToString(*b));
  ExpectKeyEncoderMatchesCodec(*a);
  ExpectKeyEncoderMatchesCodec(*b);
  EXPECT_EQ(RoundTrip(*b), 7.25L);
  ExpectKeyEncoderMatchesCodec(std::make_pair(*b, int64_t{1}));
}

TEST(BufferTest, VarintRoundTripsAndUsesMinimalBytes) {
  const std::pair<uint64_t, size_t> cases[] = {
      {0, 1},
      {127, 1},
      {128, 2},
      {16383, 2},
      {16384, 3},
      {(1ull << 35), 6},
      {std::numeric_limits<uint64_t>::max(), 10},
  };
  for (const auto& [v, len] : cases) {
    std::string s;
    BufferWriter w(&s);
    w.PutVarint64(v);
    EXPECT_EQ(s.size(), len) << v;
    BufferReader r(s);
    uint64_t out = 0;
    ASSERT_TRUE(r.GetVarint64(&out)) << v;
    EXPECT_EQ(out, v);
    EXPECT_TRUE(r.empty());
  }
}

TEST(BufferTest, GettersConsumeNothingOnFailure) {
  std::string s("\x85", 1);  // a varint continuation byte with nothing after it
  BufferReader r(s);
  uint64_t v;
  EXPECT_FALSE(r.GetVarint64(&v));
  EXPECT_EQ(r.remaining(), 1u);
  uint32_t f;
  EXPECT_FALSE(r.GetFixed32(&f));
  EXPECT_EQ(r.remaining(), 1u);

  std::string lp;
  BufferWriter w(&lp);
  w.PutVarint64(10);
  w.PutBytes("abc");
  BufferReader r2(lp);
  std::string_view bytes;
  EXPECT_FALSE(r2.GetLengthPrefixed(&bytes));
  EXPECT_EQ(r2.remaining(), lp.size()) << "a failed length-prefixed read must not consume";
}

TEST(BufferTest, VarintLongerThanTenBytesIsRejected) {
  std::string s(11, '\x80');
  s.push_back('\x01');
  BufferReader r(s);
  uint64_t v;
  EXPECT_FALSE(r.GetVarint64(&v));
}

TEST(CodecTest, HugeLengthPrefixDoesNotAllocate) {
  // A corrupt count near 2^64 must be rejected before any reserve().
  std::string s;
  BufferWriter w(&s);
  w.PutVarint64(std::numeric_limits<uint64_t>::max());
  w.PutBytes("abc");
  std::vector<int64_t> v;
  EXPECT_FALSE(DecodeFromString(s, v));
  std::vector<std::string> vs;
  EXPECT_FALSE(DecodeFromString(s, vs));
  std::map<int, int> m;
  EXPECT_FALSE(DecodeFromString(s, m));
  std::unordered_map<std::string, std::string> um;
  EXPECT_FALSE(DecodeFromString(s, um));
  std::string str;
  EXPECT_FALSE(DecodeFromString(s, str));

  std::string s2;
  BufferWriter w2(&s2);
  w2.PutVarint64(1u << 30);  // a billion elements claimed, four bytes present
  w2.PutFixed32(0);
  EXPECT_FALSE(DecodeFromString(s2, v));
}

// Decodes `bytes` as T. Mostly checks the absence of crashes, hangs and huge allocations
// (ASan and the test timeout catch those); also that whatever decodes re-encodes to bytes
// that decode to an equal value.
template <typename T>
int FuzzOne(std::string_view bytes) {
  T v{};
  BufferReader r(bytes);
  if (!Codec<T>::Decode(r, v)) return 0;
  T again{};
  EXPECT_TRUE(DecodeFromString(EncodeToString(v), again));
  EXPECT_TRUE(again == v);
  return 1;
}

TEST(CodecFuzzTest, RandomBytesNeverCrashTheDecoders) {
  std::mt19937_64 rng(testing::TestSeed());
  using Nested = std::map<std::string, std::vector<std::optional<std::pair<int32_t, bool>>>>;
  int decoded = 0;
  for (int iter = 0; iter < 100000; ++iter) {
    size_t len = rng() % 48;
    std::string bytes(len, '\0');
    for (char& c : bytes) {
      // Bias towards small bytes so lengths and counts are often plausible.
      c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : rng() % 8);
    }
    decoded += FuzzOne<int64_t>(bytes);
    decoded += FuzzOne<bool>(bytes);
    decoded += FuzzOne<std::string>(bytes);
    decoded += FuzzOne<std::optional<int32_t>>(bytes);
    decoded += FuzzOne<std::vector<std::string>>(bytes);
    decoded += FuzzOne<std::vector<std::vector<int8_t>>>(bytes);
    decoded += FuzzOne<std::map<int16_t, std::string>>(bytes);
    decoded += FuzzOne<std::unordered_map<std::string, int8_t>>(bytes);
    decoded += FuzzOne<std::tuple<uint8_t, std::string, std::optional<bool>>>(bytes);
    decoded += FuzzOne<std::array<std::string, 3>>(bytes);
    decoded += FuzzOne<Point>(bytes);
    decoded += FuzzOne<Nested>(bytes);
  }
  EXPECT_GT(decoded, 1000) << "the fuzz input should exercise the success paths too";
}

TEST(CodecFuzzTest, MutatedValidEncodingsNeverCrashTheDecoders) {
  std::mt19937_64 rng(testing::TestSeed());
  using Value = std::map<std::string, std::vector<Point>>;
  Value original;
  for (int i = 0; i < 8; ++i) {
    std::vector<Point> pts;
    for (int j = 0; j < i; ++j)
      pts.push_back(Point{i, j, std::string(static_cast<size_t>(j), 'x')});
    original["key" + std::to_string(i)] = pts;
  }
  const std::string valid = EncodeToString(original);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string bytes = valid;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
    }
    if (rng() % 3 == 0) bytes.resize(rng() % bytes.size());
    FuzzOne<Value>(bytes);
  }
}

}  // namespace
}  // namespace weir
