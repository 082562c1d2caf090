// Every option the engine declares: unique keys, a description, and a default that parses as
// the option's type (an option's default is read like a user's value).
#include "api/config_options.h"

#include <gtest/gtest.h>

#include <charconv>
#include <set>

namespace weir {
namespace {

TEST(ConfigOptionsTest, KeysAreUniqueAndDescribed) {
  std::set<std::string_view> keys;
  for (const ConfigOptionInfo* o : AllConfigOptions()) {
    EXPECT_TRUE(keys.insert(o->key).second) << "declared twice: " << o->key;
    for (std::string_view old : o->fallback_keys) {
      if (old.empty()) continue;
      EXPECT_TRUE(keys.insert(old).second) << "fallback key reused: " << old;
    }
    EXPECT_FALSE(o->description.empty()) << o->key;
  }
}

TEST(ConfigOptionsTest, EveryDefaultParsesAsItsType) {
  for (const ConfigOptionInfo* o : AllConfigOptions()) {
    std::string_view d = o->default_value;
    if (d.empty()) continue;
    SCOPED_TRACE(std::string(o->key) + " = " + std::string(d));
    if (o->type == "duration") {
      EXPECT_TRUE(ParseDuration(d).ok());
    } else if (o->type == "memory size") {
      EXPECT_TRUE(ParseMemorySize(d).ok());
    } else if (o->type == "integer") {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
      EXPECT_TRUE(ec == std::errc() && p == d.data() + d.size());
      EXPECT_GE(v, o->min);
      EXPECT_LE(v, o->max);
    } else if (o->type == "boolean") {
      EXPECT_TRUE(d == "true" || d == "false");
    } else if (o->type == "enum") {
      EXPECT_NE(std::find(o->allowed.begin(), o->allowed.end(), d), o->allowed.end());
    }
  }
}

TEST(ConfigOptionsTest, TheMarkdownTableHasARowPerOption) {
  std::string table = ConfigOptionsMarkdownTable();
  for (const ConfigOptionInfo* o : AllConfigOptions()) {
    EXPECT_NE(table.find("| `" + std::string(o->key) + "` |"), std::string::npos) << o->key;
  }
}

}  // namespace
}  // namespace weir
