// Configuration: YAML loading (flat and nested keys), -D arguments, typed getters and their
// errors, deprecated keys and unknown-key warnings.
#include "weir/configuration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "testing/test_util.h"

namespace weir {
namespace {

using std::chrono::milliseconds;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Configuration FromYaml(std::string_view yaml) {
  auto c = Configuration::FromYamlString(yaml, "config.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : Configuration();
}

TEST(ConfigurationYamlTest, ReadsFlatKeys) {
  Configuration c = FromYaml(
      "execution.checkpointing.interval: 10 s\n"
      "parallelism.default: 4\n");
  EXPECT_EQ(c.GetString("execution.checkpointing.interval", ""), "10 s");
  EXPECT_EQ(*c.GetInt("parallelism.default", 1), 4);
  EXPECT_EQ(c.entries().at("parallelism.default").source, "config.yaml");
}

TEST(ConfigurationYamlTest, FlattensNestedMapsWithDots) {
  Configuration c = FromYaml(
      "execution:\n"
      "  checkpointing:\n"
      "    interval: 500 ms\n"
      "    mode: AT_LEAST_ONCE\n"
      "restart-strategy:\n"
      "  type: fixed-delay\n"
      "  fixed-delay.attempts: 3\n");
  EXPECT_EQ(*c.GetDuration("execution.checkpointing.interval", milliseconds(0)), milliseconds(500));
  EXPECT_EQ(c.GetString("execution.checkpointing.mode", ""), "AT_LEAST_ONCE");
  EXPECT_EQ(c.GetString("restart-strategy.type", ""), "fixed-delay");
  EXPECT_EQ(*c.GetInt("restart-strategy.fixed-delay.attempts", 0), 3);
  EXPECT_EQ(c.entries().size(), 4u);
}

TEST(ConfigurationYamlTest, MixesFlatAndNestedKeys) {
  Configuration c = FromYaml(
      "state.backend.type: hashmap\n"
      "execution:\n"
      "  checkpointing.dir: file:///tmp/chk\n");
  EXPECT_EQ(c.GetString("state.backend.type", ""), "hashmap");
  EXPECT_EQ(c.GetString("execution.checkpointing.dir", ""), "file:///tmp/chk");
}

// Which of two values for one key was meant is not for the parser to guess: the second is
// refused, naming the key and both lines, whether the key is spelled flat or nested.
TEST(ConfigurationYamlTest, AKeyGivenTwiceIsAnErrorNamingBothLines) {
  for (const char* yaml : {"parallelism.default: 2\npipeline.name: a\nparallelism.default: 4\n",
                           "parallelism.default: 2\npipeline.name: a\nparallelism:\n  default: 4\n",
                           "pipeline.jars: [a.jar]\npipeline:\n  name: a\n  jars: b.jar\n"}) {
    auto c = Configuration::FromYamlString(yaml, "my.yaml");
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(c.status().message(), HasSubstr("my.yaml")) << yaml;
    EXPECT_THAT(c.status().message(), HasSubstr("is given twice (lines 1 and ")) << yaml;
  }
  // The lines of the keys, also where a value is empty or a list on lines of its own.
  auto c = Configuration::FromYamlString(
      "pipeline.name:\npipeline.jars:\n  - a.jar\npipeline.name: b\npipeline.jars: c.jar\n",
      "my.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("'pipeline.name' is given twice (lines 1 and 4)"));
}

TEST(ConfigurationYamlTest, ListsBecomeSemicolonSeparated) {
  Configuration c = FromYaml("pipeline.jars: [a.jar, b.jar]\n");
  EXPECT_EQ(c.GetString("pipeline.jars", ""), "a.jar;b.jar");
}

TEST(ConfigurationYamlTest, NullValueIsEmptyString) {
  Configuration c = FromYaml("pipeline.name:\n");
  EXPECT_TRUE(c.Contains("pipeline.name"));
  EXPECT_EQ(c.GetString("pipeline.name", "default"), "");
}

TEST(ConfigurationYamlTest, EmptyOrCommentOnlyDocumentHasNoEntries) {
  EXPECT_THAT(FromYaml("").entries(), IsEmpty());
  // Flink's shipped config.yaml may be nothing but comments.
  EXPECT_THAT(FromYaml("# taskmanager.numberOfTaskSlots: 1\n\n# more\n").entries(), IsEmpty());
}

TEST(ConfigurationYamlTest, NonMapDocumentIsAnError) {
  auto c = Configuration::FromYamlString("- a\n- b\n", "my.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), AllOf(HasSubstr("my.yaml"), HasSubstr("map")));
}

TEST(ConfigurationYamlTest, SyntaxErrorNamesTheSource) {
  auto c = Configuration::FromYamlString("a: [unclosed\n", "my.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("my.yaml"));
}

TEST(ConfigurationYamlTest, ListOfMapsIsAnErrorNotACrash) {
  auto c = Configuration::FromYamlString("pipeline.jars:\n  - {a: 1}\n", "my.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("my.yaml"));
}

TEST(ConfigurationYamlTest, NonScalarKeyIsAnErrorNotACrash) {
  auto c = Configuration::FromYamlString("? [a, b]\n: c\n", "my.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
}

TEST(ConfigurationYamlTest, ReadsAFileAndRecordsItsPathAsSource) {
  testing::TempDir dir;
  std::string path = dir.Join("config.yaml");
  testing::WriteFile(path, "execution:\n  checkpointing:\n    interval: fast\n");
  auto c = Configuration::FromYamlFile(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto d = c->GetDuration("execution.checkpointing.interval", milliseconds(0));
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("(from " + path + ")"));
}

TEST(ConfigurationYamlTest, MissingFileIsNotFound) {
  auto c = Configuration::FromYamlFile("/nonexistent/weir/config.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("/nonexistent/weir/config.yaml"));
}

TEST(ConfigurationTest, SetFromArgumentParsesKeyEqualsValue) {
  Configuration c;
  ASSERT_TRUE(c.SetFromArgument("parallelism.default=8").ok());
  ASSERT_TRUE(c.SetFromArgument(" pipeline.name = my job ").ok());
  ASSERT_TRUE(c.SetFromArgument("a.b=x=y").ok());
  ASSERT_TRUE(c.SetFromArgument("empty=").ok());
  EXPECT_EQ(*c.GetInt("parallelism.default", 1), 8);
  EXPECT_EQ(c.GetString("pipeline.name", ""), "my job");
  EXPECT_EQ(c.GetString("a.b", ""), "x=y");
  EXPECT_EQ(c.GetString("empty", "default"), "");
  EXPECT_EQ(c.entries().at("parallelism.default").source, "-D");
}

TEST(ConfigurationTest, SetFromArgumentRejectsMalformedArguments) {
  Configuration c;
  for (std::string_view bad : {"no-equals-sign", "=value", "  =value", ""}) {
    Status s = c.SetFromArgument(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "'" << bad << "'";
    EXPECT_THAT(s.message(), HasSubstr("-D '" + std::string(bad) + "'"));
  }
  EXPECT_THAT(c.entries(), IsEmpty());
}

TEST(ConfigurationTest, LaterSetReplacesEarlierAndMergeOverrides) {
  Configuration base = FromYaml("parallelism.default: 2\npipeline.name: a\n");
  Configuration overrides;
  ASSERT_TRUE(overrides.SetFromArgument("parallelism.default=6").ok());
  base.MergeFrom(overrides);
  EXPECT_EQ(*base.GetInt("parallelism.default", 1), 6);
  EXPECT_EQ(base.entries().at("parallelism.default").source, "-D");
  EXPECT_EQ(base.GetString("pipeline.name", ""), "a");
  base.Set("pipeline.name", "b");
  EXPECT_EQ(base.GetString("pipeline.name", ""), "b");
  base.Remove("pipeline.name");
  EXPECT_FALSE(base.Contains("pipeline.name"));
  base.Remove("not.there");  // no-op
}

TEST(ConfigurationTest, GettersReturnDefaultsForMissingKeys) {
  Configuration c;
  EXPECT_EQ(c.GetString("x", "d"), "d");
  EXPECT_EQ(*c.GetInt("x", 7), 7);
  EXPECT_EQ(*c.GetDouble("x", 1.5), 1.5);
  EXPECT_EQ(*c.GetBool("x", true), true);
  EXPECT_EQ(*c.GetDuration("x", milliseconds(42)), milliseconds(42));
  EXPECT_EQ(*c.GetMemorySize("x", 99), 99u);
  EXPECT_EQ(*c.GetEnum("x", "A", {"A", "B"}), "A");
  EXPECT_FALSE(c.GetRaw("x").has_value());
}

TEST(ConfigurationTest, GetIntParsesAndRejects) {
  Configuration c;
  c.Set("a", " 42 ");
  c.Set("b", "-3");
  c.Set("c", "42x");
  c.Set("d", "99999999999999999999999");
  c.Set("e", "");
  EXPECT_EQ(*c.GetInt("a", 0), 42);
  EXPECT_EQ(*c.GetInt("b", 0), -3);
  for (const char* key : {"c", "d", "e"}) {
    auto r = c.GetInt(key, 0);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("not an integer"));
  }
}

TEST(ConfigurationTest, TypedGetterErrorNamesKeyValueAndSource) {
  Configuration c;
  ASSERT_TRUE(c.SetFromArgument("execution.checkpointing.interval=fast").ok());
  auto r = c.GetDuration("execution.checkpointing.interval", milliseconds(0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("execution.checkpointing.interval = 'fast' (from -D): "));
  EXPECT_THAT(r.status().message(), HasSubstr("not a duration"));

  c.Set("parallelism.default", "four", "job.yaml");
  auto i = c.GetInt("parallelism.default", 1);
  ASSERT_FALSE(i.ok());
  EXPECT_THAT(i.status().message(),
              HasSubstr("parallelism.default = 'four' (from job.yaml): not an integer"));
}

TEST(ConfigurationTest, GetDoubleParsesAndRejects) {
  Configuration c;
  c.Set("a", "1.5");
  c.Set("b", " -2e3 ");
  c.Set("c", "abc");
  c.Set("d", "inf");
  c.Set("e", "");
  EXPECT_DOUBLE_EQ(*c.GetDouble("a", 0), 1.5);
  EXPECT_DOUBLE_EQ(*c.GetDouble("b", 0), -2000);
  for (const char* key : {"c", "d", "e"}) {
    auto r = c.GetDouble(key, 0);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_THAT(r.status().message(), HasSubstr("not a number"));
  }
}

TEST(ConfigurationTest, GetBoolAcceptsCommonSpellings) {
  Configuration c;
  int i = 0;
  for (const char* t : {"true", "TRUE", "yes", "1", "on", " True "}) {
    c.Set("t" + std::to_string(i++), t);
  }
  for (int k = 0; k < i; ++k) EXPECT_TRUE(*c.GetBool("t" + std::to_string(k), false)) << k;
  i = 0;
  for (const char* f : {"false", "False", "no", "0", "off"}) c.Set("f" + std::to_string(i++), f);
  for (int k = 0; k < i; ++k) EXPECT_FALSE(*c.GetBool("f" + std::to_string(k), true)) << k;
  c.Set("bad", "maybe");
  auto r = c.GetBool("bad", false);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("bad = 'maybe'"));
}

TEST(ConfigurationTest, GetDurationUnderstandsFlinkUnits) {
  Configuration c;
  const std::pair<const char*, int64_t> cases[] = {
      {"500 ms", 500},
      {"500ms", 500},
      {"1 s", 1000},
      {"1s", 1000},
      {"2 min", 120000},
      {"2 m", 120000},
      {"1 h", 3600000},
      {"1 d", 86400000},
      {"250", 250},
      {"1.5 s", 1500},
      {"10 SECONDS", 10000},
      {"3 minutes", 180000},
      {" 7 milliseconds ", 7},
      {"0", 0},
  };
  for (const auto& [text, ms] : cases) {
    c.Set("d", text);
    auto r = c.GetDuration("d", milliseconds(-1));
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    EXPECT_EQ(r->count(), ms) << text;
  }
}

TEST(ConfigurationTest, GetDurationRejectsBadUnitsAndText) {
  Configuration c;
  c.Set("d", "5 parsecs");
  auto r = c.GetDuration("d", milliseconds(0));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              AllOf(HasSubstr("d = '5 parsecs'"), HasSubstr("unknown time unit 'parsecs'")));
  for (const char* bad : {"", "ms", "fast", "-1 s", "1.2.3 s", ". s"}) {
    c.Set("d", bad);
    EXPECT_FALSE(c.GetDuration("d", milliseconds(0)).ok()) << "'" << bad << "'";
  }
}

TEST(ConfigurationTest, ParseDurationRejectsAbsurdlyLongDurations) {
  auto r = ParseDuration("99999999999999 d");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("too long"));
}

TEST(ConfigurationTest, GetMemorySizeUnderstandsUnits) {
  Configuration c;
  const std::pair<const char*, uint64_t> cases[] = {
      {"4096", 4096},         {"10 b", 10},          {"1 kb", 1024},
      {"64 mb", 64ull << 20}, {"64MB", 64ull << 20}, {"1 gb", 1ull << 30},
      {"2 t", 2ull << 40},    {"1.5 k", 1536},       {"3 mebibytes", 3ull << 20},
  };
  for (const auto& [text, bytes] : cases) {
    c.Set("m", text);
    auto r = c.GetMemorySize("m", 0);
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    EXPECT_EQ(*r, bytes) << text;
  }
  c.Set("m", "12 parsecs");
  auto r = c.GetMemorySize("m", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              AllOf(HasSubstr("m = '12 parsecs'"), HasSubstr("unknown size unit")));
}

TEST(ConfigurationTest, MemorySizeThatDoesNotFitIsAnError) {
  auto r = ParseMemorySize("100000000 tb");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("100000000 tb"));
  // The largest representable sizes still parse.
  ASSERT_TRUE(ParseMemorySize("1024 tb").ok());
  EXPECT_EQ(*ParseMemorySize("1024 tb"), 1ull << 50);
}

TEST(ConfigurationTest, GetEnumIsCaseAndSeparatorInsensitive) {
  Configuration c;
  const std::vector<std::string_view> allowed = {"EXACTLY_ONCE", "AT_LEAST_ONCE"};
  for (const char* v : {"EXACTLY_ONCE", "exactly_once", "exactly-once", " Exactly-Once "}) {
    c.Set("mode", v);
    auto r = c.GetEnum("mode", "AT_LEAST_ONCE", allowed);
    ASSERT_TRUE(r.ok()) << v;
    EXPECT_EQ(*r, "EXACTLY_ONCE") << v;  // returned as listed
  }
  c.Set("mode", "at-least-once");
  EXPECT_EQ(*c.GetEnum("mode", "", allowed), "AT_LEAST_ONCE");
  c.Set("mode", "fast");
  auto r = c.GetEnum("mode", "", allowed);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              AllOf(HasSubstr("mode = 'fast'"), HasSubstr("EXACTLY_ONCE, AT_LEAST_ONCE")));
}

// Options as modules declare them (the engine's own are in each module's *_options.h).
constexpr auto kDir = ConfigOption<std::string>("execution.checkpointing.dir", "checkpoints",
                                                "Checkpoint directory.")
                          .WithFallbackKeys("state.checkpoints.dir");
constexpr auto kRetained =
    ConfigOption<int64_t>("execution.checkpointing.num-retained", "1", "Checkpoints kept.")
        .WithRange(1, 10000)
        .WithFallbackKeys("state.checkpoints.num-retained");
constexpr auto kTimeout = ConfigOption<std::chrono::milliseconds>(
    "execution.checkpointing.timeout", "10 min", "Checkpoint timeout.");
constexpr auto kInterval = ConfigOption<std::chrono::milliseconds>(
    "execution.checkpointing.interval", "", "Checkpoint interval.");
constexpr auto kMode = ConfigOption<std::string>("execution.checkpointing.mode", "EXACTLY_ONCE",
                                                 "Checkpointing mode.")
                           .WithAllowed({"EXACTLY_ONCE", "AT_LEAST_ONCE"});
constexpr auto kCache =
    ConfigOption<MemorySize>("state.backend.rocksdb.block.cache-size", "8 mb", "Cache size.");
constexpr auto kRestart = ConfigOption<std::string>("restart-strategy.type", "", "Strategy.")
                              .WithFallbackKeys("restart-strategy");

const std::vector<const ConfigOptionInfo*>& Known() {
  static const std::vector<const ConfigOptionInfo*> known = {
      &kDir.info(),  &kRetained.info(), &kTimeout.info(), &kInterval.info(),
      &kMode.info(), &kCache.info(),    &kRestart.info()};
  return known;
}

TEST(ConfigOptionTest, UnsetOptionsReadTheirDefault) {
  Configuration c;
  EXPECT_EQ(*c.Get(kDir), "checkpoints");
  EXPECT_EQ(*c.Get(kRetained), 1);
  EXPECT_EQ(*c.Get(kTimeout), milliseconds(600'000));
  EXPECT_EQ(*c.Get(kMode), "EXACTLY_ONCE");
  EXPECT_EQ(c.Get(kCache)->bytes, 8u << 20);
  EXPECT_FALSE(c.IsSet(kDir));
  EXPECT_EQ(c.SourceOf(kDir), "default");
  // No default: GetOptional says unset, Get says so with the key.
  EXPECT_FALSE(c.GetOptional(kInterval)->has_value());
  EXPECT_THAT(c.Get(kInterval).status().message(),
              HasSubstr("execution.checkpointing.interval is not set"));
}

TEST(ConfigOptionTest, SetValuesAreParsedAndValidated) {
  Configuration c;
  c.Set(kRetained, "3", "-D");
  c.Set(kMode, "at_least_once");
  c.Set(kCache, "1 gb");
  EXPECT_EQ(*c.Get(kRetained), 3);
  EXPECT_EQ(*c.Get(kMode), "AT_LEAST_ONCE");  // as listed
  EXPECT_EQ(c.Get(kCache)->bytes, 1u << 30);
  EXPECT_EQ(c.SourceOf(kRetained), "-D");

  c.Set(kRetained, "0", "-D");
  EXPECT_THAT(c.Get(kRetained).status().message(),
              AllOf(HasSubstr("execution.checkpointing.num-retained = '0' (from -D)"),
                    HasSubstr("must be between 1 and 10000")));
  c.Set(kMode, "fast", "job.yaml");
  EXPECT_THAT(c.Get(kMode).status().message(),
              AllOf(HasSubstr("mode = 'fast' (from job.yaml)"),
                    HasSubstr("EXACTLY_ONCE, AT_LEAST_ONCE")));
  c.Set(kTimeout, "", "-D");
  EXPECT_THAT(c.Get(kTimeout).status().message(), HasSubstr("empty"));
}

TEST(ConfigOptionTest, AFallbackKeyIsReadWhenTheKeyIsMissing) {
  Configuration c = FromYaml("state.checkpoints.dir: /old/place\n");
  EXPECT_EQ(*c.Get(kDir), "/old/place");
  EXPECT_TRUE(c.IsSet(kDir));
  EXPECT_EQ(c.SourceOf(kDir), "config.yaml");

  Configuration n = FromYaml("state.checkpoints.num-retained: 3\n");
  EXPECT_EQ(*n.Get(kRetained), 3);
}

TEST(ConfigOptionTest, TheKeyWinsOverAFallbackKey) {
  Configuration c = FromYaml(
      "state.checkpoints.dir: /old/place\n"
      "execution.checkpointing.dir: /new/place\n");
  EXPECT_EQ(*c.Get(kDir), "/new/place");
}

TEST(ConfigOptionTest, AFallbackKeysErrorNamesTheKeyTheUserWrote) {
  Configuration c = FromYaml("state.checkpoints.num-retained: many\n");
  auto r = c.Get(kRetained);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("state.checkpoints.num-retained = 'many' (from config.yaml)"));
}

TEST(ConfigurationTest, UnknownKeyWarningsSuggestTheClosestKnownKey) {
  Configuration c;
  c.Set("execution.checkpointing.intervall", "1 s");
  auto w = c.UnknownKeyWarnings(Known());
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("unknown configuration key 'execution.checkpointing.intervall' "
                              "(from code)"));
  EXPECT_THAT(w[0], HasSubstr("did you mean 'execution.checkpointing.interval'?"));
}

TEST(ConfigurationTest, AReplacedKeyIsWarnedAboutWithWhatReplacesIt) {
  Configuration c;
  c.Set("state.backend.rocksdb.write-cache.entries", "131072", "-D");
  auto w = c.UnknownKeyWarnings(Known());
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("'state.backend.rocksdb.write-cache.entries' (from -D): replaced "
                              "by state.backend.rocksdb.write-cache.size"));
}

TEST(ConfigurationTest, UnknownKeyWarningsIgnoreKnownAndFallbackKeys) {
  Configuration c;
  c.Set("execution.checkpointing.interval", "1 s");
  c.Set("state.checkpoints.dir", "/x");  // a fallback key
  c.Set("restart-strategy", "none");     // a fallback key
  EXPECT_THAT(c.UnknownKeyWarnings(Known()), IsEmpty());
}

TEST(ConfigurationTest, AKeyThatIsNoOptionIsWarnedAboutWhateverItsPrefix) {
  Configuration c;
  c.Set("foo.bar", "5", "-D");
  auto w = c.UnknownKeyWarnings(Known());
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], AllOf(HasSubstr("'foo.bar' (from -D)"), HasSubstr("weir has no such option"),
                          HasSubstr("if the job reads it itself")));
}

TEST(ConfigurationTest, ValuesTheCodeOverridesAreNamed) {
  Configuration c;
  c.Set("parallelism.default", "3", "--parallelism");
  c.Set("state.backend.type", "hashmap", "-D");
  c.Set("execution.checkpointing.interval", "5 s", "job.yaml");
  c.Set("parallelism.default", "1");                         // the job's code
  c.Set("state.backend.type", "hashmap");                    // the same value: nothing to say
  c.Set("execution.checkpointing.interval", "1 s", "-D");    // not code: the later source wins
  auto w = c.OverrideWarnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], AllOf(HasSubstr("parallelism.default = '3' (from --parallelism)"),
                          HasSubstr("the job's code sets it to '1'")));
}

TEST(ConfigurationYamlTest, AliasesThatExpandWithoutBoundAreRefused) {
  // A few hundred bytes that name 9^10 keys.
  std::string yaml = "a: &a {x: 1, y: 1, z: 1, w: 1, v: 1, u: 1, t: 1, s: 1, r: 1}\n";
  std::string prev = "a";
  for (char n = 'b'; n <= 'k'; ++n) {
    yaml += std::string(1, n) + ": &" + n + " {";
    for (int j = 0; j < 9; ++j) yaml += (j ? ", k" : "k") + std::to_string(j) + ": *" + prev;
    yaml += "}\n";
    prev = std::string(1, n);
  }
  auto start = std::chrono::steady_clock::now();
  auto c = Configuration::FromYamlString(yaml, "bomb.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), AllOf(HasSubstr("bomb.yaml"), HasSubstr("aliases")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ConfigurationYamlTest, DeepNestingAndHugeFilesAreRefused) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += std::string(static_cast<size_t>(i) * 2, ' ') + "k:\n";
  auto d = Configuration::FromYamlString(deep, "deep.yaml");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("nesting deeper than"));
  auto big = Configuration::FromYamlString(std::string(2 << 20, '#'), "big.yaml");
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.status().message(), HasSubstr("at most"));
}

TEST(ConfigurationTest, UnknownKeyFarFromAnyKnownKeyHasNoSuggestion) {
  Configuration c;
  c.Set("weir.completely.made.up.setting", "x", "-D");
  auto w = c.UnknownKeyWarnings(Known());
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("'weir.completely.made.up.setting' (from -D)"));
  EXPECT_THAT(w[0], ::testing::Not(HasSubstr("did you mean")));
}

TEST(ConfigurationFormatTest, FormatDurationPicksTheLargestExactUnit) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0 ms");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250 ms");
  EXPECT_EQ(FormatDuration(milliseconds(3000)), "3 s");
  EXPECT_EQ(FormatDuration(milliseconds(600000)), "10 min");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1500 ms");
  // What FormatDuration prints parses back to the same duration.
  for (int64_t ms : {0, 1, 999, 1000, 59000, 60000, 61000, 3600000}) {
    EXPECT_EQ(*ParseDuration(FormatDuration(milliseconds(ms))), milliseconds(ms)) << ms;
  }
}

TEST(ConfigurationFormatTest, FormatBytesUsesBinaryUnits) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1024), "1.0 KiB");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(64ull << 20), "64.0 MiB");
  EXPECT_EQ(FormatBytes(3ull << 30), "3.0 GiB");
  EXPECT_EQ(FormatBytes(5ull << 40), "5.0 TiB");
  EXPECT_EQ(FormatBytes(2048ull << 40), "2048.0 TiB");
}

}  // namespace
}  // namespace weir
