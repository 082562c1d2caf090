#include "runtime/restart_strategy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "testing/test_util.h"

namespace weir {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<RestartStrategy> FromConfig(const Configuration& c, bool checkpointing) {
  auto r = RestartStrategy::FromConfiguration(c, checkpointing);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : nullptr;
}

Status ConfigError(std::initializer_list<std::pair<const char*, const char*>> entries) {
  Configuration c;
  for (const auto& [k, v] : entries) c.Set(k, v);
  auto r = RestartStrategy::FromConfiguration(c, true);
  return r.ok() ? Status::OK() : r.status();
}

ExponentialDelayRestartStrategy::Options NoJitter() {
  ExponentialDelayRestartStrategy::Options o;
  o.initial_backoff = milliseconds(100);
  o.max_backoff = milliseconds(1000);
  o.multiplier = 2.0;
  o.jitter = 0.0;
  o.reset_threshold = milliseconds(10'000);
  return o;
}

TEST(RestartStrategyTest, NoneNeverRestarts) {
  NoRestartStrategy s;
  EXPECT_EQ(s.OnFailure(0), std::nullopt);
  EXPECT_EQ(s.OnFailure(1'000'000), std::nullopt);
  EXPECT_EQ(s.Describe(), "none");
}

TEST(RestartStrategyTest, FixedDelayRestartsUpToAttemptsEachAfterTheDelay) {
  FixedDelayRestartStrategy s(3, milliseconds(250));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(s.OnFailure(i * 1000), milliseconds(250)) << i;
  EXPECT_EQ(s.OnFailure(10'000), std::nullopt);
  EXPECT_EQ(s.OnFailure(1'000'000), std::nullopt) << "attempts never come back";
}

TEST(RestartStrategyTest, FixedDelayWithZeroAttemptsFailsAtOnce) {
  FixedDelayRestartStrategy s(0, milliseconds(1));
  EXPECT_EQ(s.OnFailure(0), std::nullopt);
}

TEST(RestartStrategyTest, FailureRateAllowsMaxFailuresInAnyInterval) {
  FailureRateRestartStrategy s(2, milliseconds(1000), milliseconds(50));
  EXPECT_EQ(s.OnFailure(0), milliseconds(50));
  EXPECT_EQ(s.OnFailure(400), milliseconds(50));
  EXPECT_EQ(s.OnFailure(900), std::nullopt);  // three within one second
}

TEST(RestartStrategyTest, FailureRateForgetsFailuresThatFellOutOfTheInterval) {
  FailureRateRestartStrategy s(2, milliseconds(1000), milliseconds(50));
  EXPECT_EQ(s.OnFailure(0), milliseconds(50));
  EXPECT_EQ(s.OnFailure(600), milliseconds(50));
  EXPECT_EQ(s.OnFailure(1000), milliseconds(50));  // the one at 0 is a full interval ago
  EXPECT_EQ(s.OnFailure(1500), std::nullopt);      // 600, 1000, 1500
}

TEST(RestartStrategyTest, FailureRateSpacedOutFailuresRestartForever) {
  FailureRateRestartStrategy s(1, milliseconds(100), milliseconds(0));
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(s.OnFailure(i * 100), milliseconds(0)) << i;
}

TEST(RestartStrategyTest, ExponentialDelayGrowsByTheMultiplier) {
  ExponentialDelayRestartStrategy s(NoJitter(), 1);
  EXPECT_EQ(s.OnFailure(0), milliseconds(100));
  EXPECT_EQ(s.OnFailure(200), milliseconds(200));
  EXPECT_EQ(s.OnFailure(500), milliseconds(400));
  EXPECT_EQ(s.OnFailure(1000), milliseconds(800));
}

TEST(RestartStrategyTest, ExponentialDelayIsCappedAtMaxBackoff) {
  ExponentialDelayRestartStrategy s(NoJitter(), 1);
  int64_t t = 0;
  std::optional<milliseconds> d;
  for (int i = 0; i < 20; ++i) {
    d = s.OnFailure(t);
    ASSERT_TRUE(d.has_value());
    EXPECT_LE(*d, milliseconds(1000));
    t += 1 + d->count();
  }
  EXPECT_EQ(d, milliseconds(1000));
}

TEST(RestartStrategyTest, ExponentialDelayJitterStaysWithinTheFactor) {
  const uint64_t seed = testing::TestSeed();
  auto o = NoJitter();
  o.multiplier = 1.0;  // a constant 100 ms base: every delay must fall in [75, 125]
  o.jitter = 0.25;
  ExponentialDelayRestartStrategy s(o, seed);
  int64_t lo = 1'000'000, hi = 0;
  for (int i = 0; i < 2000; ++i) {
    auto d = s.OnFailure(i);
    ASSERT_TRUE(d.has_value());
    lo = std::min<int64_t>(lo, d->count());
    hi = std::max<int64_t>(hi, d->count());
  }
  EXPECT_GE(lo, 75);
  EXPECT_LE(hi, 125);
  EXPECT_LT(lo, 90) << "jitter never lowered the delay";
  EXPECT_GT(hi, 110) << "jitter never raised the delay";
}

TEST(RestartStrategyTest, ExponentialDelayJitterNeverExceedsMaxBackoff) {
  const uint64_t seed = testing::TestSeed();
  auto o = NoJitter();
  o.jitter = 1.0;
  ExponentialDelayRestartStrategy s(o, seed);
  for (int i = 0; i < 500; ++i) {
    auto d = s.OnFailure(i);
    ASSERT_TRUE(d.has_value());
    EXPECT_GE(d->count(), 0);
    EXPECT_LE(d->count(), 1000);
  }
}

TEST(RestartStrategyTest, ExponentialDelayWithTheSameSeedIsReproducible) {
  const uint64_t seed = testing::TestSeed();
  auto o = NoJitter();
  o.jitter = 0.5;
  ExponentialDelayRestartStrategy a(o, seed), b(o, seed);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(a.OnFailure(i * 10), b.OnFailure(i * 10));
}

TEST(RestartStrategyTest, ExponentialDelayResetsAfterRunningForTheThreshold) {
  ExponentialDelayRestartStrategy s(NoJitter(), 1);
  EXPECT_EQ(s.OnFailure(0), milliseconds(100));
  EXPECT_EQ(s.OnFailure(1000), milliseconds(200));
  EXPECT_EQ(s.OnFailure(2000), milliseconds(400));
  // Restarted at 2400; ran 10 s without failure by 12400.
  EXPECT_EQ(s.OnFailure(12'400), milliseconds(100));
  EXPECT_EQ(s.OnFailure(12'500), milliseconds(200));
}

TEST(RestartStrategyTest, ExponentialDelayDoesNotResetBeforeTheJobRanForTheThreshold) {
  ExponentialDelayRestartStrategy s(NoJitter(), 1);
  EXPECT_EQ(s.OnFailure(0), milliseconds(100));
  EXPECT_EQ(s.OnFailure(1000), milliseconds(200));
  // 10 s after the failure, but only 9.8 s after the restart.
  EXPECT_EQ(s.OnFailure(11'000), milliseconds(400));
}

TEST(RestartStrategyTest, ExponentialDelayFailsAfterAttemptsBeforeResetBackoff) {
  auto o = NoJitter();
  o.attempts_before_reset = 3;
  ExponentialDelayRestartStrategy s(o, 1);
  EXPECT_TRUE(s.OnFailure(0).has_value());
  EXPECT_TRUE(s.OnFailure(1000).has_value());
  EXPECT_TRUE(s.OnFailure(2000).has_value());
  EXPECT_EQ(s.OnFailure(3000), std::nullopt);
}

TEST(RestartStrategyTest, ExponentialDelayAttemptsStartOverWithTheBackoffReset) {
  auto o = NoJitter();
  o.attempts_before_reset = 2;
  ExponentialDelayRestartStrategy s(o, 1);
  EXPECT_TRUE(s.OnFailure(0).has_value());
  EXPECT_TRUE(s.OnFailure(1000).has_value());
  // A long healthy run: the backoff and the attempt count both reset.
  EXPECT_EQ(s.OnFailure(100'000), milliseconds(100));
  EXPECT_TRUE(s.OnFailure(100'500).has_value());
  EXPECT_EQ(s.OnFailure(101'000), std::nullopt);
}

TEST(RestartStrategyTest, DefaultIsExponentialDelayWithCheckpointingAndNoneWithout) {
  Configuration c;
  auto with = FromConfig(c, true);
  ASSERT_NE(with, nullptr);
  EXPECT_EQ(with->Describe().rfind("exponential-delay", 0), 0u) << with->Describe();
  // Flink's defaults: 1 s initial, x1.5, 1 min cap.
  EXPECT_NE(with->Describe().find("1 s"), std::string::npos) << with->Describe();
  EXPECT_NE(with->Describe().find("x1.5"), std::string::npos) << with->Describe();
  auto first = with->OnFailure(0);
  ASSERT_TRUE(first.has_value());
  EXPECT_GE(*first, milliseconds(900));
  EXPECT_LE(*first, milliseconds(1100));

  auto without = FromConfig(c, false);
  ASSERT_NE(without, nullptr);
  EXPECT_EQ(without->Describe(), "none");
  EXPECT_EQ(without->OnFailure(0), std::nullopt);
}

TEST(RestartStrategyTest, FixedDelayFromFlinkKeys) {
  Configuration c;
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.attempts", "2");
  c.Set("restart-strategy.fixed-delay.delay", "3 s");
  auto s = FromConfig(c, false);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->OnFailure(0), milliseconds(3000));
  EXPECT_EQ(s->OnFailure(1), milliseconds(3000));
  EXPECT_EQ(s->OnFailure(2), std::nullopt);
}

TEST(RestartStrategyTest, FixedDelayDefaultsToOneAttemptAfterOneSecond) {
  Configuration c;
  c.Set("restart-strategy.type", "fixed-delay");
  auto s = FromConfig(c, true);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->OnFailure(0), milliseconds(1000));
  EXPECT_EQ(s->OnFailure(1), std::nullopt);
}

TEST(RestartStrategyTest, TypeNamesAcceptFlinksAliasesAndSpellings) {
  for (const char* none : {"none", "off", "disable", "NONE"}) {
    Configuration c;
    c.Set("restart-strategy.type", none);
    auto s = FromConfig(c, true);
    ASSERT_NE(s, nullptr) << none;
    EXPECT_EQ(s->Describe(), "none") << none;
  }
  for (const char* fixed : {"fixeddelay", "fixed_delay", "Fixed-Delay"}) {
    Configuration c;
    c.Set("restart-strategy.type", fixed);
    auto s = FromConfig(c, false);
    ASSERT_NE(s, nullptr) << fixed;
    EXPECT_EQ(s->Describe().rfind("fixed-delay", 0), 0u) << fixed;
  }
  Configuration c;
  c.Set("restart-strategy.type", "exponentialdelay");
  auto s = FromConfig(c, false);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->Describe().rfind("exponential-delay", 0), 0u);
  // Flink's older key for the type.
  Configuration old;
  old.Set("restart-strategy", "failurerate");
  auto f = FromConfig(old, false);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->Describe().rfind("failure-rate", 0), 0u) << f->Describe();
}

TEST(RestartStrategyTest, FailureRateFromFlinkKeysAndDefaults) {
  Configuration c;
  c.Set("restart-strategy.type", "failure-rate");
  auto d = FromConfig(c, false);
  ASSERT_NE(d, nullptr);
  // Defaults: one failure per minute, 1 s delay.
  EXPECT_EQ(d->OnFailure(0), milliseconds(1000));
  EXPECT_EQ(d->OnFailure(59'000), std::nullopt);

  c.Set("restart-strategy.failure-rate.max-failures-per-interval", "3");
  c.Set("restart-strategy.failure-rate.failure-rate-interval", "10 s");
  c.Set("restart-strategy.failure-rate.delay", "20 ms");
  auto s = FromConfig(c, false);
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(s->OnFailure(i * 1000), milliseconds(20));
  EXPECT_EQ(s->OnFailure(9'000), std::nullopt);
}

TEST(RestartStrategyTest, ExponentialDelayFromFlinkKeys) {
  Configuration c;
  c.Set("restart-strategy.type", "exponential-delay");
  c.Set("restart-strategy.exponential-delay.initial-backoff", "10 ms");
  c.Set("restart-strategy.exponential-delay.max-backoff", "50 ms");
  c.Set("restart-strategy.exponential-delay.backoff-multiplier", "3");
  c.Set("restart-strategy.exponential-delay.jitter-factor", "0");
  c.Set("restart-strategy.exponential-delay.reset-backoff-threshold", "1 h");
  c.Set("restart-strategy.exponential-delay.attempts-before-reset-backoff", "3");
  auto s = FromConfig(c, false);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->OnFailure(0), milliseconds(10));
  EXPECT_EQ(s->OnFailure(100), milliseconds(30));
  EXPECT_EQ(s->OnFailure(200), milliseconds(50));
  EXPECT_EQ(s->OnFailure(300), std::nullopt);
}

TEST(RestartStrategyTest, BadValuesGiveErrorsNamingTheKey) {
  struct Case {
    std::initializer_list<std::pair<const char*, const char*>> entries;
    const char* key;
  };
  const Case cases[] = {
      {{{"restart-strategy.type", "sometimes"}}, "restart-strategy.type"},
      {{{"restart-strategy.type", "fixed-delay"}, {"restart-strategy.fixed-delay.attempts", "-1"}},
       "restart-strategy.fixed-delay.attempts"},
      {{{"restart-strategy.type", "fixed-delay"}, {"restart-strategy.fixed-delay.attempts", "x"}},
       "restart-strategy.fixed-delay.attempts"},
      {{{"restart-strategy.type", "fixed-delay"}, {"restart-strategy.fixed-delay.delay", "soon"}},
       "restart-strategy.fixed-delay.delay"},
      {{{"restart-strategy.type", "failure-rate"},
        {"restart-strategy.failure-rate.max-failures-per-interval", "0"}},
       "max-failures-per-interval"},
      {{{"restart-strategy.exponential-delay.backoff-multiplier", "0.5"}}, "backoff-multiplier"},
      {{{"restart-strategy.exponential-delay.jitter-factor", "1.5"}}, "jitter-factor"},
      {{{"restart-strategy.exponential-delay.jitter-factor", "-0.1"}}, "jitter-factor"},
      {{{"restart-strategy.exponential-delay.initial-backoff", "2 min"}}, "max-backoff"},
      {{{"restart-strategy.exponential-delay.initial-backoff", "0 ms"}}, "initial-backoff"},
      {{{"restart-strategy.exponential-delay.reset-backoff-threshold", "0"}},
       "reset-backoff-threshold"},
      {{{"restart-strategy.exponential-delay.attempts-before-reset-backoff", "0"}},
       "attempts-before-reset-backoff"},
  };
  for (const Case& c : cases) {
    Status s = ConfigError(c.entries);
    EXPECT_FALSE(s.ok()) << c.key;
    EXPECT_NE(s.ToString().find(c.key), std::string::npos) << s.ToString();
  }
}

}  // namespace
}  // namespace weir
