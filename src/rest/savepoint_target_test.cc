#include "rest/savepoint_target.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testing/test_util.h"

namespace weir {
namespace {

using testing::TempDir;

TEST(SavepointTargetTest, AcceptsExistingDirectoriesAndOneNewLevel) {
  TempDir dir;
  auto existing = CheckSavepointTarget(dir.path());
  ASSERT_TRUE(existing.ok()) << existing.status().ToString();
  auto fresh = CheckSavepointTarget(dir.Join("savepoints"));
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(*fresh, dir.Join("savepoints"));
  EXPECT_TRUE(CheckSavepointTarget("file://" + dir.path()).ok());
}

TEST(SavepointTargetTest, RefusesWhatIsNotACleanWritableDirectory) {
  TempDir dir;
  testing::WriteFile(dir.Join("file"), "x");
  ::mkdir(dir.Join("sub").c_str(), 0755);
  struct Case {
    std::string target;
    std::string says;
  } cases[] = {
      {"", "is empty"},
      {dir.path() + "/sub/../sub", "'..' segment"},
      {"..", "'..' segment"},
      {"../x", "'..' segment"},
      {dir.Join("file"), "is not a directory"},
      {dir.Join("file/below"), "parent"},
      {dir.Join("a/b/c"), "does not exist"},
      {std::string("a\nb"), "control character"},
      {"s3://bucket/x", "scheme 's3'"},
      {"file://relative", "not an absolute file:// URI"},
      {std::string(5000, 'a'), "too long"},
  };
  for (const auto& c : cases) {
    auto r = CheckSavepointTarget(c.target);
    ASSERT_FALSE(r.ok()) << c.target;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.target;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos)
        << c.target << ": " << r.status().ToString();
  }
}

TEST(SavepointTargetTest, RefusesADirectoryTheJobCannotWrite) {
  if (::getuid() == 0) GTEST_SKIP() << "root may write anywhere";
  TempDir dir;
  ::mkdir(dir.Join("ro").c_str(), 0555);
  auto r = CheckSavepointTarget(dir.Join("ro"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not writable"), std::string::npos) << r.status().ToString();
}

}  // namespace
}  // namespace weir
