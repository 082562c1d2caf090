#include "state/shared_state_files.h"

#include <gtest/gtest.h>

namespace weir {
namespace {

TEST(SharedStateFilesTest, OnlyFilesOfTheLastCompletedCheckpointAreReusedWhenNoneIsPending) {
  SharedStateFiles files;
  auto file = [](const std::string& name) { return StateFile{"shared/" + name, 1, 2, name}; };
  EXPECT_TRUE(files.BeginCheckpoint(1).empty());
  files.Written(1, {{"1.sst", file("c1_1.sst")}});
  files.Completed(1);
  auto base = files.BeginCheckpoint(2);
  ASSERT_EQ(base.size(), 1u);
  EXPECT_EQ(base.at("1.sst").path, "shared/c1_1.sst");
  // Checkpoint 2 is pending: if it completes it may subsume 1, whose files 3 must not rely on.
  EXPECT_TRUE(files.BeginCheckpoint(3).empty());
  files.Written(2, {{"1.sst", file("c1_1.sst")}, {"2.sst", file("c2_2.sst")}});
  files.Aborted(2);
  files.Written(3, {{"3.sst", file("c3_3.sst")}});
  EXPECT_TRUE(files.BeginCheckpoint(4).empty()) << "3 is still pending";
  files.Completed(3);  // subsumes 4's predecessor... and 4 is still pending
  EXPECT_TRUE(files.BeginCheckpoint(5).empty()) << "4 is still pending";
  files.Completed(5);  // 5 wrote nothing (not incremental): nothing is reusable
  EXPECT_TRUE(files.BeginCheckpoint(6).empty());
  files.Written(6, {{"6.sst", file("c6_6.sst")}});
  files.Completed(6);
  files.Completed(4);  // late and older: ignored
  EXPECT_EQ(files.BeginCheckpoint(7).size(), 1u);
  files.Aborted(7);
  files.Seed({{"a.sst", file("c9_a.sst")}, {"b.sst", file("c9_b.sst")}});
  EXPECT_EQ(files.BeginCheckpoint(8).size(), 2u);
  files.Completed(8);  // 8 wrote nothing: nothing is reusable
  EXPECT_TRUE(files.BeginCheckpoint(9).empty());
  files.Written(9, {{"9.sst", file("c9_9.sst")}});
  files.Completed(9);
  // A savepoint's completion or abort leaves what may be reused alone.
  files.BeginSavepoint(10);
  files.Completed(10);
  files.BeginSavepoint(11);
  files.Aborted(11);
  auto after = files.BeginCheckpoint(12);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after.at("9.sst").path, "shared/c9_9.sst");
}

}  // namespace
}  // namespace weir
