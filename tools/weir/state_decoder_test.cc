#include "state_decoder.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "weir/codec.h"

namespace weir::tool {
namespace {

using Json = nlohmann::ordered_json;

template <typename T>
Json Roundtrip(const T& v) {
  Json out;
  EXPECT_TRUE(DecodeValue(CodecIdentity<T>(), EncodeToString(v), &out)) << CodecIdentity<T>();
  return out;
}

struct Point {
  int32_t x;
  std::optional<std::string> label;
};

}  // namespace
}  // namespace weir::tool

template <>
struct weir::Codec<weir::tool::Point>
    : weir::FieldsCodec<weir::tool::Point, &weir::tool::Point::x, &weir::tool::Point::label> {};

namespace weir::tool {
namespace {

TEST(StateDecoderTest, EveryBuiltInCodecDecodesFromItsIdentity) {
  EXPECT_EQ(Roundtrip<int64_t>(-5), -5);
  EXPECT_EQ(Roundtrip<uint8_t>(200), 200);
  EXPECT_EQ(Roundtrip<double>(1.5), 1.5);
  EXPECT_EQ(Roundtrip<bool>(true), true);
  EXPECT_EQ(Roundtrip<std::string>("héllo"), "héllo");
  EXPECT_EQ(Roundtrip(std::pair<int32_t, int64_t>(1, 2)), Json::parse("[1,2]"));
  EXPECT_EQ(Roundtrip(std::tuple<int32_t, std::string, double>(1, "a", 2.5)),
            Json::parse(R"([1,"a",2.5])"));
  EXPECT_EQ(Roundtrip(std::vector<std::optional<int16_t>>{3, std::nullopt}),
            Json::parse("[3,null]"));
  EXPECT_EQ(Roundtrip(std::map<std::string, std::vector<int32_t>>{{"a", {1, 2}}, {"b", {}}}),
            Json::parse(R"([["a",[1,2]],["b",[]]])"));
  EXPECT_EQ(Roundtrip(std::array<uint32_t, 3>{7, 8, 9}), Json::parse("[7,8,9]"));
  EXPECT_EQ(Roundtrip(Point{4, "p"}), Json::parse(R"([4,"p"])"));
}

TEST(StateDecoderTest, UnknownCodecsAndBadBytesAreHex) {
  Json out;
  EXPECT_FALSE(DecodeValue("Point@2", "\x01\x02", &out));
  EXPECT_EQ(out, Json::parse(R"({"hex":"0102"})"));
  EXPECT_FALSE(DecodeValue("i64", "\x01\x02", &out));            // too short
  EXPECT_FALSE(DecodeValue("i32", std::string(5, '\0'), &out));  // bytes left over
  EXPECT_FALSE(DecodeValue("pair<i32", "", &out));
}

TEST(StateDecoderTest, ListAndMapStatesInTheCanonicalEncoding) {
  std::string list;
  BufferWriter w(&list);
  w.PutVarint64(2);
  w.PutLengthPrefixed(EncodeToString<int64_t>(10));
  w.PutLengthPrefixed(EncodeToString<int64_t>(20));
  Json out;
  EXPECT_TRUE(DecodeStateValue(detail::StateKind::kList, "i64", list, &out));
  EXPECT_EQ(out, Json::parse("[10,20]"));

  std::string map;
  BufferWriter m(&map);
  m.PutVarint64(1);
  m.PutLengthPrefixed(EncodeToString<std::string>("k"));
  m.PutLengthPrefixed(EncodeToString<double>(0.5));
  EXPECT_TRUE(DecodeStateValue(detail::StateKind::kMap, "string->f64", map, &out));
  EXPECT_EQ(out, Json::parse(R"([["k",0.5]])"));
}

}  // namespace
}  // namespace weir::tool
