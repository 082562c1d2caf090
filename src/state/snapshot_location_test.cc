// SnapshotLocation and StateFileWriter: files are written with their size and checksum, and
// read back only if both still match.
#include "state/snapshot_location.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/fault_injection_file_system.h"
#include "testing/test_util.h"

namespace weir {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::WriteFile;

class SnapshotLocationTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDirs(dir_.Join("chk-4")).ok()); }

  StateFile WriteState(const std::string& name, const std::string& data) {
    auto w = location_.CreateExclusiveFile(name);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_TRUE((*w)->Append(data.substr(0, data.size() / 2)).ok());
    EXPECT_TRUE((*w)->Append(data.substr(data.size() / 2)).ok());
    auto f = (*w)->Finish();
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? *f : StateFile{};
  }

  testing::TempDir dir_;
  FileSystem& fs_ = *FileSystem::Default();
  SnapshotLocation location_{&fs_, dir_.path(), "chk-4"};
};

TEST_F(SnapshotLocationTest, ExclusiveFileRecordsRelativePathSizeAndChecksum) {
  StateFile f = WriteState("op-0.keyed", "some state bytes");
  EXPECT_EQ(f.path, "chk-4/op-0.keyed");
  EXPECT_EQ(f.size, 16u);
  EXPECT_EQ(f.checksum, Hash64("some state bytes"));
  EXPECT_EQ(location_.Absolute(f), dir_.Join("chk-4/op-0.keyed"));
  EXPECT_EQ(ReadFile(dir_.Join("chk-4/op-0.keyed")), "some state bytes");
  auto data = location_.ReadVerified(f);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(*data, "some state bytes");
  EXPECT_TRUE(location_.Verify(f).ok());
}

TEST_F(SnapshotLocationTest, ChangedByteIsAChecksumMismatchNamingTheFile) {
  StateFile f = WriteState("op-0.keyed", "some state bytes");
  WriteFile(dir_.Join("chk-4/op-0.keyed"), "some state bytez");
  for (Status s : {location_.ReadVerified(f).status(), location_.Verify(f)}) {
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_THAT(s.message(),
                AllOf(HasSubstr(dir_.Join("chk-4/op-0.keyed")), HasSubstr("checksum mismatch")));
  }
}

TEST_F(SnapshotLocationTest, TruncatedFileIsASizeMismatchNamingTheFile) {
  StateFile f = WriteState("op-0.keyed", "some state bytes");
  ASSERT_TRUE(fs_.Truncate(dir_.Join("chk-4/op-0.keyed"), 5).ok());
  for (Status s : {location_.ReadVerified(f).status(), location_.Verify(f)}) {
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_THAT(s.message(), AllOf(HasSubstr(dir_.Join("chk-4/op-0.keyed")),
                                   HasSubstr("has 5 bytes, the checkpoint recorded 16")));
  }
}

TEST_F(SnapshotLocationTest, MissingFileIsNotFoundNamingTheFile) {
  StateFile f = WriteState("op-0.keyed", "x");
  ASSERT_TRUE(fs_.DeleteFile(dir_.Join("chk-4/op-0.keyed")).ok());
  for (Status s : {location_.ReadVerified(f).status(), location_.Verify(f)}) {
    EXPECT_TRUE(s.IsNotFound()) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(dir_.Join("chk-4/op-0.keyed")));
  }
}

TEST_F(SnapshotLocationTest, VerifyHandlesFilesLargerThanOneChunk) {
  std::string big(9 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 4096);
  StateFile f = WriteState("big", big);
  EXPECT_EQ(f.size, big.size());
  EXPECT_TRUE(location_.Verify(f).ok());
  std::string changed = big;
  changed[(5 << 20) + 3] ^= 1;
  WriteFile(dir_.Join("chk-4/big"), changed);
  EXPECT_TRUE(location_.Verify(f).IsCorruption());
}

TEST_F(SnapshotLocationTest, SharedFilesGoUnderSharedAndUploadCopiesWithChecksum) {
  auto w = location_.CreateSharedFile("c4_000012.sst");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Append("sst").ok());
  auto f = (*w)->Finish();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->path, "shared/c4_000012.sst");
  EXPECT_EQ(ReadFile(dir_.Join("shared/c4_000012.sst")), "sst");

  std::string local = dir_.Join("local.sst");
  std::string contents((5 << 20) + 11, 'q');
  contents[12345] = 'r';
  WriteFile(local, contents);
  auto up = location_.UploadShared(local, "c4_000013.sst");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->path, "shared/c4_000013.sst");
  EXPECT_EQ(up->size, contents.size());
  EXPECT_EQ(up->checksum, Hash64(contents));
  EXPECT_EQ(*location_.ReadVerified(*up), contents);
}

TEST(SharedStateFileNameTest, ACheckpointWroteItsOwnFilesAndTheSharedOnesNamedForIt) {
  EXPECT_TRUE(WrittenByCheckpoint("chk-7/sum-0.keyed", 7));
  EXPECT_TRUE(WrittenByCheckpoint("savepoint-ab12/sum-0.keyed", 7));
  EXPECT_FALSE(WrittenByCheckpoint("chk-7/sum-0.keys.linked", 7)) << "an earlier one's bytes";
  EXPECT_TRUE(WrittenByCheckpoint("shared/" + SharedStateFileName(7, "sum-0.keys"), 7));
  EXPECT_FALSE(WrittenByCheckpoint("shared/" + SharedStateFileName(5, "sum-0.keys"), 7));
  EXPECT_FALSE(WrittenByCheckpoint("shared/" + SharedStateFileName(17, "000007.sst"), 7));
  EXPECT_FALSE(WrittenByCheckpoint("shared/not-a-checkpoint-name", 7));
}

TEST_F(SnapshotLocationTest, AnUploadedSharedFileSurvivesAPowerLoss) {
  // A checkpoint's _metadata makes only its own directory durable: an upload must make
  // its entry in shared/ (and shared/ itself) durable, or a completed checkpoint could lose it.
  FaultInjectionFileSystem faulty(&fs_);
  SnapshotLocation loc(&faulty, dir_.path(), "chk-4");
  std::string local = dir_.Join("local.sst");
  WriteFile(local, "sst bytes");
  auto up = loc.UploadShared(local, "c4_000014.sst");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  ASSERT_TRUE(faulty.DropUnsyncedData().ok());
  EXPECT_TRUE(loc.Verify(*up).ok());
}

TEST_F(SnapshotLocationTest, FailedFsyncFailsFinish) {
  FaultInjectionFileSystem faulty(&fs_);
  faulty.InjectError(FaultInjectionFileSystem::Op::kSync, "", Status::IOError("fsync failed"));
  SnapshotLocation loc(&faulty, dir_.path(), "chk-4");
  auto w = loc.CreateExclusiveFile("op-0.keyed");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("data").ok());
  auto f = (*w)->Finish();
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("fsync failed"));
}

TEST_F(SnapshotLocationTest, CreatingInAMissingCheckpointDirectoryFails) {
  SnapshotLocation loc(&fs_, dir_.path(), "chk-99");
  auto w = loc.CreateExclusiveFile("x");
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(), HasSubstr("chk-99"));
}

}  // namespace
}  // namespace weir
