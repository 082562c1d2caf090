// CheckpointOptions: defaults, parsing of every execution.checkpointing.* option, validation
// errors that name the key, and the deprecated Flink names.
#include "checkpoint/checkpoint_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weir {
namespace {

using std::chrono::milliseconds;
using ::testing::AllOf;
using ::testing::HasSubstr;
using Retention = CheckpointOptions::Retention;

Result<CheckpointOptions> Parse(std::initializer_list<std::pair<const char*, const char*>> kv) {
  Configuration c;
  for (const auto& [k, v] : kv) c.Set(k, v, "-D");
  return CheckpointOptions::FromConfiguration(c);
}

std::string ErrorOf(std::initializer_list<std::pair<const char*, const char*>> kv) {
  auto r = Parse(kv);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(CheckpointOptionsTest, DefaultsMatchFlinkAndDisableCheckpointing) {
  auto o = Parse({});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->enabled);
  EXPECT_EQ(o->interval, milliseconds(0));
  EXPECT_TRUE(o->exactly_once);
  EXPECT_EQ(o->timeout, milliseconds(10 * 60 * 1000));
  EXPECT_EQ(o->min_pause, milliseconds(0));
  EXPECT_EQ(o->max_concurrent, 1);
  EXPECT_EQ(o->tolerable_failures, 0);
  EXPECT_EQ(o->num_retained, 1);
  EXPECT_EQ(o->retention, Retention::kNoExternalized);
  EXPECT_EQ(o->dir, "checkpoints");
  EXPECT_EQ(o->savepoint_dir, "savepoints");
  EXPECT_FALSE(o->incremental);
}

TEST(CheckpointOptionsTest, IntervalEnablesCheckpointing) {
  auto o = Parse({{"execution.checkpointing.interval", "10 s"}});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->enabled);
  EXPECT_EQ(o->interval, milliseconds(10000));
  auto bare = Parse({{"execution.checkpointing.interval", "250"}});
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->interval, milliseconds(250));
}

TEST(CheckpointOptionsTest, AnEmptyOrZeroIntervalIsAnErrorNotASilentSwitchOff) {
  for (const char* off : {"", "0", "0 ms", " "}) {
    std::string error = ErrorOf({{"execution.checkpointing.interval", off}});
    EXPECT_THAT(error, HasSubstr("execution.checkpointing.interval")) << "'" << off << "'";
    EXPECT_THAT(error, HasSubstr("leave it unset")) << "'" << off << "'";
  }
}

TEST(CheckpointOptionsTest, TooShortOrMalformedIntervalIsRejected) {
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.interval", "5 ms"}}),
              AllOf(HasSubstr("execution.checkpointing.interval"), HasSubstr("'5 ms'"),
                    HasSubstr("at least 10 ms")));
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.interval", "often"}}),
              AllOf(HasSubstr("execution.checkpointing.interval = 'often' (from -D)"),
                    HasSubstr("not a duration")));
}

TEST(CheckpointOptionsTest, ModeAcceptsFlinkSpellings) {
  for (const char* m : {"AT_LEAST_ONCE", "at_least_once", "at-least-once"}) {
    auto o = Parse({{"execution.checkpointing.mode", m}});
    ASSERT_TRUE(o.ok()) << m;
    EXPECT_FALSE(o->exactly_once) << m;
  }
  EXPECT_TRUE(Parse({{"execution.checkpointing.mode", "exactly-once"}})->exactly_once);
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.mode", "twice"}}),
              AllOf(HasSubstr("execution.checkpointing.mode = 'twice'"),
                    HasSubstr("EXACTLY_ONCE, AT_LEAST_ONCE")));
}

// Unaligned checkpoints are refused, not quietly replaced by aligned ones.
TEST(CheckpointOptionsTest, UnalignedCheckpointsAreRefusedClearly) {
  EXPECT_TRUE(Parse({{"execution.checkpointing.unaligned.enabled", "false"}}).ok());
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.unaligned.enabled", "true"}}),
              AllOf(HasSubstr("execution.checkpointing.unaligned.enabled = true (from -D)"),
                    HasSubstr("aligned checkpoints only"),
                    HasSubstr("taskmanager.network.memory.buffer-debloat.target")));
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.unaligned.enabled", "maybe"}}),
              HasSubstr("execution.checkpointing.unaligned.enabled = 'maybe'"));
  // Flink's older name too.
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.unaligned", "true"}}),
              HasSubstr("aligned checkpoints only"));
}

TEST(CheckpointOptionsTest, TimeoutAndMinPause) {
  auto o = Parse({{"execution.checkpointing.timeout", "2 min"},
                  {"execution.checkpointing.min-pause", "500 ms"}});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->timeout, milliseconds(120000));
  EXPECT_EQ(o->min_pause, milliseconds(500));
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.timeout", "1 ms"}}),
              HasSubstr("execution.checkpointing.timeout"));
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.min-pause", "soon"}}),
              HasSubstr("execution.checkpointing.min-pause = 'soon'"));
}

TEST(CheckpointOptionsTest, ConcurrencyToleranceAndRetainedCountsAreValidated) {
  auto o = Parse({{"execution.checkpointing.max-concurrent-checkpoints", "3"},
                  {"execution.checkpointing.tolerable-failed-checkpoints", "5"},
                  {"execution.checkpointing.num-retained", "4"}});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->max_concurrent, 3);
  EXPECT_EQ(o->tolerable_failures, 5);
  EXPECT_EQ(o->num_retained, 4);
  for (const char* bad : {"0", "1001", "-1"}) {
    EXPECT_THAT(ErrorOf({{"execution.checkpointing.max-concurrent-checkpoints", bad}}),
                HasSubstr("max-concurrent-checkpoints"))
        << bad;
  }
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.tolerable-failed-checkpoints", "-1"}}),
              HasSubstr("tolerable-failed-checkpoints"));
  auto huge = Parse({{"execution.checkpointing.tolerable-failed-checkpoints", "99999999999"}});
  ASSERT_TRUE(huge.ok());
  EXPECT_GT(huge->tolerable_failures, 1000000) << "clamped, not wrapped around";
  for (const char* bad : {"0", "10001", "many"}) {
    EXPECT_THAT(ErrorOf({{"execution.checkpointing.num-retained", bad}}),
                HasSubstr("execution.checkpointing.num-retained"))
        << bad;
  }
}

TEST(CheckpointOptionsTest, RetentionPolicies) {
  const std::pair<const char*, Retention> cases[] = {
      {"NO_EXTERNALIZED_CHECKPOINTS", Retention::kNoExternalized},
      {"DELETE_ON_CANCELLATION", Retention::kDeleteOnCancellation},
      {"retain_on_cancellation", Retention::kRetainOnCancellation},
      {"Retain-On-Cancellation", Retention::kRetainOnCancellation},
  };
  for (const auto& [text, want] : cases) {
    auto o = Parse({{"execution.checkpointing.externalized-checkpoint-retention", text}});
    ASSERT_TRUE(o.ok()) << text;
    EXPECT_EQ(o->retention, want) << text;
  }
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.externalized-checkpoint-retention", "KEEP"}}),
              HasSubstr("RETAIN_ON_CANCELLATION"));
}

TEST(CheckpointOptionsTest, DirectoriesAcceptPathsAndFileUris) {
  auto o = Parse({{"execution.checkpointing.dir", "file:///var/weir/chk"},
                  {"execution.checkpointing.savepoint-dir", "/var/weir/sp"}});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->dir, "/var/weir/chk");
  EXPECT_EQ(o->savepoint_dir, "/var/weir/sp");
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.dir", "s3://bucket/chk"}}),
              AllOf(HasSubstr("execution.checkpointing.dir"), HasSubstr("'s3'")));
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.savepoint-dir", "hdfs://nn/sp"}}),
              HasSubstr("execution.checkpointing.savepoint-dir"));
}

TEST(CheckpointOptionsTest, DeprecatedFlinkKeysStillWork) {
  auto o = Parse({{"state.checkpoints.dir", "/old/chk"},
                  {"state.savepoints.dir", "file:///old/sp"},
                  {"state.checkpoints.num-retained", "7"},
                  {"state.backend.incremental", "true"}});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->dir, "/old/chk");
  EXPECT_EQ(o->savepoint_dir, "/old/sp");
  EXPECT_EQ(o->num_retained, 7);
  EXPECT_TRUE(o->incremental);
}

TEST(CheckpointOptionsTest, IncrementalMustBeABoolean) {
  EXPECT_TRUE(Parse({{"execution.checkpointing.incremental", "true"}})->incremental);
  EXPECT_THAT(ErrorOf({{"execution.checkpointing.incremental", "sometimes"}}),
              HasSubstr("execution.checkpointing.incremental = 'sometimes'"));
}

}  // namespace
}  // namespace weir
