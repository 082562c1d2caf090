// What `weir chaos` calls a difference: the check that proves a job exactly-once.
#include "chaos_output.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "testing/test_util.h"

namespace weir::tool {
namespace {

TEST(ChaosOutputTest, APrefixPassesUntilTheEnd) {
  OutputFiles want{{"", "0\n0\n1000\n"}};
  EXPECT_EQ(CompareOutput(want, {{"", "0\n0\n"}}, /*whole=*/false), "");
  EXPECT_EQ(CompareOutput(want, {}, /*whole=*/false), "");
  EXPECT_EQ(CompareOutput(want, want, /*whole=*/true), "");
  EXPECT_EQ(CompareOutput(want, {{"", "0\n0\n"}}, /*whole=*/true),
            "the output ends early: 4 of the reference's 9 bytes");
  EXPECT_EQ(CompareOutput(want, {}, /*whole=*/true), "the output is missing");
}

TEST(ChaosOutputTest, ADuplicateOrAChangedLineIsCaughtWhereItIs) {
  OutputFiles want{{"1", "a,1\na,2\na,3\n"}, {"2", "b,1\n"}};
  // A record written twice after a restore: line 3 repeats line 2.
  EXPECT_EQ(CompareOutput(want, {{"1", "a,1\na,2\na,2\n"}}, /*whole=*/false),
            "output file '1' differs from the reference at byte 10 (line 3)");
  EXPECT_EQ(CompareOutput(want, {{"1", "a,1\na,2\na,3\na,3\n"}}, /*whole=*/false),
            "output file '1' differs from the reference at byte 12 (line 4): it is longer than "
            "the reference (16 > 12 bytes)");
  EXPECT_EQ(CompareOutput(want, {{"3", "c,1\n"}}, /*whole=*/false),
            "output file '3' exists, but the reference run wrote no such file");
  EXPECT_EQ(CompareOutput(want, {{"1", "a,1\na,2\na,3\n"}}, /*whole=*/true),
            "output file '2' is missing");
}

TEST(ChaosOutputTest, ReadsAFileOrADirectoryWithoutHiddenStagingFiles) {
  testing::TempDir dir;
  testing::WriteFile(dir.Join("out.txt"), "x\n");
  EXPECT_EQ(ReadOutput(dir.Join("out.txt")), (OutputFiles{{"", "x\n"}}));
  std::filesystem::create_directories(dir.Join("d/sub"));
  std::filesystem::create_directories(dir.Join("d/.staging"));
  testing::WriteFile(dir.Join("d/1"), "one\n");
  testing::WriteFile(dir.Join("d/sub/2"), "two\n");
  testing::WriteFile(dir.Join("d/.staging/1.part"), "not yet\n");
  testing::WriteFile(dir.Join("d/.hidden"), "no\n");
  EXPECT_EQ(ReadOutput(dir.Join("d")), (OutputFiles{{"1", "one\n"}, {"sub/2", "two\n"}}));
  EXPECT_TRUE(ReadOutput(dir.Join("nothing")).empty());
}

}  // namespace
}  // namespace weir::tool
