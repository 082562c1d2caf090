// CheckpointMetadata: the _metadata encoding round-trips, and any damage is detected.
#include "checkpoint/checkpoint_metadata.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "base/hash.h"
#include "testing/test_util.h"

namespace weir {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

CheckpointMetadata Sample() {
  CheckpointMetadata m;
  m.checkpoint_id = 17;
  m.trigger_wall_ms = 1'700'000'000'000;
  m.completed_wall_ms = 1'700'000'000'250;
  m.job_id = "0123456789abcdef0123456789abcdef";
  m.job_name = "word count";
  m.savepoint = false;

  OperatorSnapshotMetadata source;
  source.uid = "source";
  source.name = "Sequence Source";
  source.parallelism = 1;
  source.max_parallelism = 128;
  SubtaskState s0;
  s0.operator_state.push_back(
      {"position", detail::OperatorStateList::Mode::kSplit, {std::string("\x2a\0\0\0", 4)}});
  s0.operator_state.push_back({"txns", detail::OperatorStateList::Mode::kUnion, {"a", "", "c"}});
  source.subtasks.push_back(s0);
  m.operators.push_back(source);

  OperatorSnapshotMetadata sum;
  sum.uid = "running-sum";
  sum.name = "Running Sum";
  sum.parallelism = 3;
  sum.max_parallelism = 128;
  for (int i = 0; i < 3; ++i) {
    SubtaskState st;
    if (i != 1) {  // subtask 1 has no keyed state
      KeyedStateHandle k;
      k.key_groups = KeyGroupRange::ForSubtask(128, 3, i);
      k.canonical = StateFile{"chk-17/running-sum-" + std::to_string(i) + ".keyed",
                              1000u + static_cast<uint64_t>(i), 0xdeadbeef00000000ull + i, ""};
      if (i == 2) {
        k.native_files.push_back(StateFile{"shared/c12_000007.sst", 1 << 20, 42, "000007.sst"});
        k.native_files.push_back(StateFile{"chk-17/MANIFEST-000003", 77, 43, "MANIFEST-000003"});
        k.backend_id = "rocks-2-abc";
      }
      st.keyed = k;
    }
    sum.subtasks.push_back(st);
  }
  m.operators.push_back(sum);

  OperatorSnapshotMetadata empty;  // an operator without any state
  empty.uid = "map";
  empty.name = "Map";
  empty.parallelism = 2;
  empty.max_parallelism = 128;
  empty.subtasks.resize(2);
  m.operators.push_back(empty);
  return m;
}

void ExpectEqual(const CheckpointMetadata& a, const CheckpointMetadata& b) {
  EXPECT_EQ(a.checkpoint_id, b.checkpoint_id);
  EXPECT_EQ(a.trigger_wall_ms, b.trigger_wall_ms);
  EXPECT_EQ(a.completed_wall_ms, b.completed_wall_ms);
  EXPECT_EQ(a.job_id, b.job_id);
  EXPECT_EQ(a.job_name, b.job_name);
  EXPECT_EQ(a.savepoint, b.savepoint);
  ASSERT_EQ(a.operators.size(), b.operators.size());
  for (size_t i = 0; i < a.operators.size(); ++i) {
    const auto& x = a.operators[i];
    const auto& y = b.operators[i];
    EXPECT_EQ(x.uid, y.uid);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.parallelism, y.parallelism);
    EXPECT_EQ(x.max_parallelism, y.max_parallelism);
    ASSERT_EQ(x.subtasks.size(), y.subtasks.size());
    for (size_t s = 0; s < x.subtasks.size(); ++s) {
      EXPECT_EQ(x.subtasks[s].keyed, y.subtasks[s].keyed) << x.uid << " subtask " << s;
      const auto& ol = x.subtasks[s].operator_state;
      const auto& ml = y.subtasks[s].operator_state;
      ASSERT_EQ(ol.size(), ml.size());
      for (size_t l = 0; l < ol.size(); ++l) {
        EXPECT_EQ(ol[l].name, ml[l].name);
        EXPECT_EQ(ol[l].mode, ml[l].mode);
        EXPECT_EQ(ol[l].elements, ml[l].elements);
      }
    }
  }
}

// Recomputes the trailing checksum so a deliberately altered file reaches structural checks.
void FixChecksum(std::string* data) {
  uint64_t sum = Hash64(std::string_view(*data).substr(0, data->size() - 8));
  std::memcpy(data->data() + data->size() - 8, &sum, 8);
}

TEST(CheckpointMetadataTest, RoundTripsEveryField) {
  CheckpointMetadata m = Sample();
  auto decoded = CheckpointMetadata::Decode(m.Encode(), "chk-17/_metadata");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectEqual(*decoded, m);
}

TEST(CheckpointMetadataTest, RoundTripsASavepointWithoutOperators) {
  CheckpointMetadata m;
  m.checkpoint_id = 1;
  m.savepoint = true;
  m.trigger_wall_ms = -5;  // clocks before 1970 must not break decoding
  auto decoded = CheckpointMetadata::Decode(m.Encode(), "x");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectEqual(*decoded, m);
}

TEST(CheckpointMetadataTest, EncodingIsDeterministic) {
  EXPECT_EQ(Sample().Encode(), Sample().Encode());
}

TEST(CheckpointMetadataTest, FindOperatorFilesAndStateSizes) {
  CheckpointMetadata m = Sample();
  ASSERT_NE(m.FindOperator("running-sum"), nullptr);
  EXPECT_EQ(m.FindOperator("running-sum")->name, "Running Sum");
  EXPECT_EQ(m.FindOperator("nope"), nullptr);
  std::vector<std::string> paths;
  for (const StateFile* f : m.Files()) paths.push_back(f->path);
  EXPECT_THAT(paths,
              ::testing::ElementsAre("chk-17/running-sum-0.keyed", "chk-17/running-sum-2.keyed",
                                     "shared/c12_000007.sst", "chk-17/MANIFEST-000003"));
  // Files: 1000 + 1002 + 1 MiB + 77; inline operator state: 4 + 1 + 0 + 1 bytes. Checkpoint
  // 17 reuses the SST that checkpoint 12 wrote: it is not part of what 17 wrote.
  EXPECT_EQ(m.Sizes().full, 1000u + 1002u + (1u << 20) + 77u + 6u);
  EXPECT_EQ(m.Sizes().checkpointed, 1000u + 1002u + 77u + 6u);
  // Had checkpoint 12 been the one described, it would have written the SST too.
  m.checkpoint_id = 12;
  EXPECT_EQ(m.Sizes().checkpointed, m.Sizes().full);
}

TEST(CheckpointMetadataTest, EverySingleFlippedByteIsDetected) {
  const std::string good = Sample().Encode();
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
    auto r = CheckpointMetadata::Decode(bad, "/ckpt/job/chk-17/_metadata");
    ASSERT_FALSE(r.ok()) << "flip at byte " << i << " of " << good.size() << " not detected";
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_THAT(r.status().message(),
                HasSubstr("checkpoint metadata '/ckpt/job/chk-17/_metadata'"));
  }
}

TEST(CheckpointMetadataTest, EveryTruncationIsDetected) {
  const std::string good = Sample().Encode();
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = CheckpointMetadata::Decode(std::string_view(good).substr(0, n), "m");
    ASSERT_FALSE(r.ok()) << "truncation to " << n << " bytes not detected";
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
  EXPECT_FALSE(CheckpointMetadata::Decode(good + "x", "m").ok()) << "appended byte";
}

TEST(CheckpointMetadataTest, TruncationIsReportedAsSuch) {
  std::string data = Sample().Encode();
  auto r = CheckpointMetadata::Decode(data.substr(0, data.size() / 2), "m");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("truncated or corrupted"));
}

TEST(CheckpointMetadataTest, BadMagicAndOtherFilesAreRejected) {
  auto empty = CheckpointMetadata::Decode("", "m");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("not a weir checkpoint metadata file"));
  auto keyed = CheckpointMetadata::Decode("WEIRKSS1 a keyed state file, not metadata", "m");
  ASSERT_FALSE(keyed.ok());
  EXPECT_THAT(keyed.status().message(), HasSubstr("bad magic"));
}

TEST(CheckpointMetadataTest, UnsupportedVersionIsNamed) {
  std::string data = Sample().Encode();
  ASSERT_EQ(data[8], '\x01');
  data[8] = '\x05';
  FixChecksum(&data);
  auto r = CheckpointMetadata::Decode(data, "m");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("format version 5 is not supported"));
}

TEST(CheckpointMetadataTest, SubtaskCountMustMatchParallelism) {
  CheckpointMetadata m = Sample();
  m.operators[1].parallelism = 4;  // three subtasks listed
  auto r = CheckpointMetadata::Decode(m.Encode(), "m");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), AllOf(HasSubstr("'running-sum'"), HasSubstr("3 subtasks"),
                                          HasSubstr("parallelism 4")));
}

TEST(CheckpointMetadataTest, TrailingBytesBehindAValidChecksumAreRejected) {
  std::string data = Sample().Encode();
  data.insert(data.size() - 8, "junk");
  FixChecksum(&data);
  auto r = CheckpointMetadata::Decode(data, "m");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("trailing bytes"));
}

TEST(CheckpointMetadataTest, DamageBehindAValidChecksumNeverCrashes) {
  std::mt19937_64 rng(testing::TestSeed());
  const std::string good = Sample().Encode();
  int rejected = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string bad = good;
    int changes = 1 + static_cast<int>(rng() % 3);
    for (int c = 0; c < changes; ++c) {
      bad[8 + rng() % (bad.size() - 16)] = static_cast<char>(rng() % 256);
    }
    if (rng() % 4 == 0) bad.erase(8 + rng() % (bad.size() - 16), 1 + rng() % 8);
    FixChecksum(&bad);
    auto r = CheckpointMetadata::Decode(bad, "m");
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace weir
