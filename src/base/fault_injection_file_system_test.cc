// FaultInjectionFileSystem: injected errors per operation and path, a full disk, and power
// loss (DropUnsyncedData) that keeps exactly what was made durable.
#include "base/fault_injection_file_system.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/test_util.h"

namespace weir {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;
using Op = FaultInjectionFileSystem::Op;

class FaultInjectionFileSystemTest : public ::testing::Test {
 protected:
  TempDir dir_;
  FaultInjectionFileSystem fs_{FileSystem::Default()};

  std::string Path(const std::string& name) const { return dir_.Join(name); }

  // Creates `name` through the fault file system with `data`, synced or not.
  void Write(const std::string& name, std::string_view data, bool sync) {
    auto f = fs_.NewWritableFile(Path(name));
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Append(data).ok());
    if (sync) {
      ASSERT_TRUE((*f)->Sync().ok());
    }
    ASSERT_TRUE((*f)->Close().ok());
  }
};

TEST_F(FaultInjectionFileSystemTest, PassesOperationsThroughWhenNothingIsInjected) {
  Write("a", "data", /*sync=*/true);
  EXPECT_EQ(*fs_.ReadFile(Path("a")), "data");
  EXPECT_EQ(*fs_.ReadFileRange(Path("a"), 1, 2), "at");
  EXPECT_TRUE(fs_.Exists(Path("a")));
  EXPECT_EQ(*fs_.FileSize(Path("a")), 4u);
  ASSERT_TRUE(fs_.CreateDirs(Path("d")).ok());
  EXPECT_TRUE(*fs_.IsDirectory(Path("d")));
  ASSERT_TRUE(fs_.Rename(Path("a"), Path("d/b")).ok());
  ASSERT_TRUE(fs_.Link(Path("d/b"), Path("d/c")).ok());
  ASSERT_TRUE(fs_.Truncate(Path("d/c"), 2).ok());
  EXPECT_EQ(ReadFile(Path("d/b")), "da");
  EXPECT_THAT(*fs_.ListDir(Path("d")), ::testing::ElementsAre("b", "c"));
  ASSERT_TRUE(fs_.SyncFile(Path("d/b")).ok());
  ASSERT_TRUE(fs_.SyncDir(Path("d")).ok());
  ASSERT_TRUE(fs_.DeleteFile(Path("d/c")).ok());
  ASSERT_TRUE(fs_.DeleteDirRecursive(Path("d")).ok());
  EXPECT_FALSE(fs_.Exists(Path("d")));
  EXPECT_EQ(fs_.injected_failures(), 0);
}

TEST_F(FaultInjectionFileSystemTest, InjectedWriteErrorNamesThePathAndKeepsTheCode) {
  fs_.InjectError(Op::kWrite, "", Status::IOError("disk on fire"));
  auto f = fs_.NewWritableFile(Path("a"));
  ASSERT_TRUE(f.ok());
  Status s = (*f)->Append("x");
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("injected fault on '" + Path("a") + "'"), HasSubstr("disk on fire")));
  EXPECT_EQ(fs_.injected_failures(), 1);
  EXPECT_FALSE((*f)->Append("y").ok()) << "count < 0 fails forever";
  fs_.ClearErrors();
  EXPECT_TRUE((*f)->Append("z").ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(ReadFile(Path("a")), "z");
}

TEST_F(FaultInjectionFileSystemTest, CountAndSkipSelectWhichOperationsFail) {
  // Let two writes through, fail the next two, then pass again.
  fs_.InjectError(Op::kWrite, "", Status::IOError("boom"), /*count=*/2, /*skip=*/2);
  auto f = fs_.NewWritableFile(Path("a"));
  ASSERT_TRUE(f.ok());
  std::vector<bool> ok;
  for (int i = 0; i < 6; ++i) ok.push_back((*f)->Append("x").ok());
  EXPECT_THAT(ok, ::testing::ElementsAre(true, true, false, false, true, true));
  EXPECT_EQ(fs_.injected_failures(), 2);
}

TEST_F(FaultInjectionFileSystemTest, PathFilterSelectsFiles) {
  fs_.InjectError(Op::kCreate, "_metadata", Status::IOError("no metadata for you"));
  EXPECT_TRUE(fs_.NewWritableFile(Path("state-0.keyed")).ok());
  auto f = fs_.NewWritableFile(Path("_metadata.tmp.1"));
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("no metadata for you"));
  EXPECT_FALSE(fs_.Exists(Path("_metadata.tmp.1"))) << "a failed create creates nothing";
}

TEST_F(FaultInjectionFileSystemTest, EachOperationKindCanFail) {
  Write("a", "abc", /*sync=*/true);
  ASSERT_TRUE(fs_.CreateDirs(Path("d")).ok());
  Status err = Status::IOError("injected");

  fs_.InjectError(Op::kCreate, "", err, 1);
  EXPECT_FALSE(fs_.CreateDirs(Path("e")).ok());
  fs_.InjectError(Op::kCreate, "", err, 1);
  EXPECT_FALSE(fs_.NewAppendableFile(Path("a")).ok());

  fs_.InjectError(Op::kRead, "", err, 2);
  EXPECT_FALSE(fs_.ReadFile(Path("a")).ok());
  EXPECT_FALSE(fs_.ReadFileRange(Path("a"), 0, 1).ok());
  EXPECT_TRUE(fs_.ReadFile(Path("a")).ok());

  fs_.InjectError(Op::kSync, "", err, 2);
  {
    auto f = fs_.NewWritableFile(Path("s"));
    ASSERT_TRUE(f.ok());
    EXPECT_FALSE((*f)->Sync().ok());
  }
  EXPECT_FALSE(fs_.SyncFile(Path("a")).ok());

  fs_.InjectError(Op::kSyncDir, "", err, 1);
  EXPECT_FALSE(fs_.SyncDir(Path("d")).ok());

  fs_.InjectError(Op::kRename, "", err, 1);
  EXPECT_FALSE(fs_.Rename(Path("a"), Path("b")).ok());
  EXPECT_TRUE(fs_.Exists(Path("a")));

  fs_.InjectError(Op::kLink, "", err, 1);
  EXPECT_FALSE(fs_.Link(Path("a"), Path("l")).ok());
  EXPECT_FALSE(fs_.Exists(Path("l")));

  fs_.InjectError(Op::kTruncate, "", err, 1);
  EXPECT_FALSE(fs_.Truncate(Path("a"), 0).ok());
  EXPECT_EQ(ReadFile(Path("a")), "abc");

  fs_.InjectError(Op::kWrite, "", err, 1);
  EXPECT_FALSE(fs_.WriteAt(Path("a"), 0, "x").ok());
  EXPECT_EQ(ReadFile(Path("a")), "abc");

  fs_.InjectError(Op::kDelete, "", err, 2);
  EXPECT_FALSE(fs_.DeleteFile(Path("a")).ok());
  EXPECT_FALSE(fs_.DeleteDirRecursive(Path("d")).ok());
  EXPECT_TRUE(fs_.Exists(Path("a")));
  EXPECT_TRUE(fs_.Exists(Path("d")));

  EXPECT_EQ(fs_.injected_failures(), 13);
  // Every rule is used up: everything works again.
  EXPECT_TRUE(fs_.Rename(Path("a"), Path("b")).ok());
  EXPECT_TRUE(fs_.DeleteDirRecursive(Path("d")).ok());
}

TEST_F(FaultInjectionFileSystemTest, RenameAndLinkFaultsMatchTheTargetPath) {
  Write("tmp", "x", true);
  fs_.InjectError(Op::kRename, "/final", Status::IOError("rename refused"));
  EXPECT_TRUE(fs_.Rename(Path("tmp"), Path("other")).ok());
  Status s = fs_.Rename(Path("other"), Path("final"));
  EXPECT_THAT(s.message(), HasSubstr("rename refused"));
}

TEST_F(FaultInjectionFileSystemTest, SpaceLimitFailsWritesWithNoSpace) {
  fs_.SetSpaceLimit(10);
  auto f = fs_.NewWritableFile(Path("a"));
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->Append("123456").ok());
  EXPECT_TRUE((*f)->Append("7890").ok());
  Status s = (*f)->Append("x");
  EXPECT_EQ(s.code(), StatusCode::kNoSpace);
  EXPECT_TRUE(s.IsNoSpace());
  EXPECT_FALSE((*f)->Append("").IsNoSpace()) << "an empty append needs no space";
  fs_.ClearSpaceLimit();
  EXPECT_TRUE((*f)->Append("abc").ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(ReadFile(Path("a")), "1234567890abc");
}

TEST_F(FaultInjectionFileSystemTest, SpaceLimitAppliesToWriteFileAtomically) {
  fs_.SetSpaceLimit(3);
  Status s = WriteFileAtomically(fs_, Path("m"), "too long");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_THAT(testing::ListFilesRecursive(dir_.path()), ::testing::IsEmpty())
      << "the temp file is removed";
}

TEST_F(FaultInjectionFileSystemTest, SpaceLimitAppliesToAppendRange) {
  WriteFile(Path("src"), std::string(100, 'x'));
  auto f = fs_.NewWritableFile(Path("dst"));
  ASSERT_TRUE(f.ok());
  fs_.SetSpaceLimit(50);
  EXPECT_TRUE(fs_.AppendRange(Path("src"), 0, 100, **f).IsNoSpace());
  fs_.ClearSpaceLimit();
  ASSERT_TRUE(fs_.AppendRange(Path("src"), 10, 20, **f).ok());
  EXPECT_EQ((*f)->size(), 20u);
}

// Linux since 4.13: a failed fsync marks the dirty pages clean. They read as written, the
// next fsync succeeds without them, and a power loss leaves the disk's zeros.
class FailedFsyncTest : public FaultInjectionFileSystemTest {
 protected:
  // "durable" synced, " again" appended, then an fsync that fails.
  void SetUp() override {
    Write("a", "durable", /*sync=*/true);
    ASSERT_TRUE(fs_.SyncDir(dir_.path()).ok());
    auto f = fs_.NewAppendableFile(Path("a"));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(" again").ok());
    fs_.InjectError(Op::kSync, "", Status::IOError("EIO"), 1);
    EXPECT_FALSE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Close().ok());
    EXPECT_EQ(ReadFile(Path("a")), "durable again") << "the bytes stay readable";
  }
};

TEST_F(FailedFsyncTest, ALaterFsyncSucceedsWithoutTheBytes) {
  ASSERT_TRUE(fs_.SyncFile(Path("a")).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("a")), std::string("durable") + std::string(6, '\0'));
}

TEST_F(FailedFsyncTest, BytesWrittenAgainBeforeTheNextFsyncAreDurable) {
  ASSERT_TRUE(fs_.WriteAt(Path("a"), 7, " ag").ok());
  ASSERT_TRUE(fs_.SyncFile(Path("a")).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("a")), std::string("durable ag") + std::string(3, '\0'));
}

TEST_F(FailedFsyncTest, WithoutALaterFsyncThePowerLossCutsThemOff) {
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("a")), "durable");
}

TEST_F(FailedFsyncTest, BytesWrittenAgainAfterTheLastFsyncAreStillLost) {
  ASSERT_TRUE(fs_.SyncFile(Path("a")).ok());
  ASSERT_TRUE(fs_.WriteAt(Path("a"), 7, " again").ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("a")), std::string("durable") + std::string(6, '\0'));
}

TEST_F(FailedFsyncTest, AFailedFsyncDropsWhatWasWrittenAgainBeforeIt) {
  ASSERT_TRUE(fs_.WriteAt(Path("a"), 7, " again").ok());
  fs_.InjectError(Op::kSync, "", Status::IOError("EIO"), 1);
  EXPECT_FALSE(fs_.SyncFile(Path("a")).ok());
  ASSERT_TRUE(fs_.SyncFile(Path("a")).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("a")), std::string("durable") + std::string(6, '\0'));
}

TEST_F(FaultInjectionFileSystemTest, SyncFileFailingDropsTheUnsyncedBytes) {
  Write("b", "abc", /*sync=*/true);
  ASSERT_TRUE(fs_.SyncDir(dir_.path()).ok());
  auto f = fs_.NewAppendableFile(Path("b"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("def").ok());
  ASSERT_TRUE((*f)->Close().ok());
  fs_.InjectError(Op::kSync, "", Status::IOError("EIO"), 1);
  EXPECT_FALSE(fs_.SyncFile(Path("b")).ok());
  ASSERT_TRUE(fs_.SyncFile(Path("b")).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("b")), std::string("abc") + std::string(3, '\0'));
}

TEST_F(FaultInjectionFileSystemTest, DropUnsyncedDataTruncatesTheUnsyncedTail) {
  auto f = fs_.NewWritableFile(Path("a"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("durable").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append(" lost").ok());
  ASSERT_TRUE((*f)->Close().ok());
  ASSERT_TRUE(fs_.SyncDir(dir_.path()).ok());
  EXPECT_EQ(ReadFile(Path("a")), "durable lost");
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("a")), "durable");
}

TEST_F(FaultInjectionFileSystemTest, DropUnsyncedDataDeletesFilesWhoseDirectoryWasNeverSynced) {
  Write("synced-data-only", "x", /*sync=*/true);
  ASSERT_TRUE(fs_.CreateDirs(Path("sub")).ok());
  Write("sub/other", "y", /*sync=*/true);
  ASSERT_TRUE(fs_.SyncDir(Path("sub") + "/").ok());  // a trailing slash names the same dir
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_FALSE(testing::FileExists(Path("synced-data-only")));
  EXPECT_EQ(ReadFile(Path("sub/other")), "y");
}

TEST_F(FaultInjectionFileSystemTest, DropUnsyncedDataKeepsAtomicallyWrittenFiles) {
  ASSERT_TRUE(WriteFileAtomically(fs_, Path("m"), "complete").ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("m")), "complete");
}

TEST_F(FaultInjectionFileSystemTest, DropUnsyncedDataUndoesARenameWithoutDirectorySync) {
  Write("tmp", "new", /*sync=*/true);
  ASSERT_TRUE(fs_.SyncDir(dir_.path()).ok());
  ASSERT_TRUE(fs_.Rename(Path("tmp"), Path("final")).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_FALSE(testing::FileExists(Path("final")));
}

TEST_F(FaultInjectionFileSystemTest, DropUnsyncedDataKeepsARenameFollowedByDirectorySync) {
  Write("tmp", "new", /*sync=*/true);
  ASSERT_TRUE(fs_.Rename(Path("tmp"), Path("final")).ok());
  ASSERT_TRUE(fs_.SyncDir(dir_.path()).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("final")), "new");
}

// A hard link is one more name: lost in a power loss until its directory is synced, while
// the name it was made from keeps the bytes.
TEST_F(FaultInjectionFileSystemTest, DropUnsyncedDataDropsALinkWithoutDirectorySync) {
  Write("a", "data", /*sync=*/true);
  ASSERT_TRUE(fs_.SyncDir(dir_.path()).ok());
  ASSERT_TRUE(fs_.CreateDirs(Path("d")).ok());
  ASSERT_TRUE(fs_.Link(Path("a"), Path("d/lost")).ok());
  ASSERT_TRUE(fs_.Link(Path("a"), Path("d2-kept")).ok());
  ASSERT_TRUE(fs_.SyncDir(dir_.path()).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_FALSE(testing::FileExists(Path("d/lost")));
  EXPECT_EQ(ReadFile(Path("d2-kept")), "data");
  EXPECT_EQ(ReadFile(Path("a")), "data");
}

TEST_F(FaultInjectionFileSystemTest, RenameOverADurableFileNeverLosesTheName) {
  // A manifest that was written durably, then replaced by a rename whose directory fsync did
  // not happen: after a power loss the name holds the old or the new contents, never nothing.
  ASSERT_TRUE(WriteFileAtomically(fs_, Path("_job"), "old").ok());
  Write("_job.tmp", "new", /*sync=*/true);
  ASSERT_TRUE(fs_.Rename(Path("_job.tmp"), Path("_job")).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  ASSERT_TRUE(testing::FileExists(Path("_job")));
  std::string contents = ReadFile(Path("_job"));
  EXPECT_TRUE(contents == "old" || contents == "new") << contents;
}

TEST_F(FaultInjectionFileSystemTest, DropUnsyncedDataKeepsPreExistingFilesItOnlyAppendedTo) {
  WriteFile(Path("out.txt"), "before;");
  auto f = fs_.NewAppendableFile(Path("out.txt"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("synced;").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("unsynced").ok());
  ASSERT_TRUE((*f)->Close().ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("out.txt")), "before;synced;");
}

TEST_F(FaultInjectionFileSystemTest, SyncFileOfAnUntrackedFileKeepsIt) {
  WriteFile(Path("made-elsewhere"), "content");
  ASSERT_TRUE(fs_.SyncFile(Path("made-elsewhere")).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("made-elsewhere")), "content");
}

TEST_F(FaultInjectionFileSystemTest, SyncFileMakesDataWrittenThroughAnyHandleDurable) {
  auto f = fs_.NewWritableFile(Path("a"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("via handle").ok());
  ASSERT_TRUE((*f)->Close().ok());
  ASSERT_TRUE(fs_.SyncFile(Path("a")).ok());
  ASSERT_TRUE(fs_.SyncDir(dir_.path()).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("a")), "via handle");
}

TEST_F(FaultInjectionFileSystemTest, RecreatingADurableFileKeepsItsName) {
  WriteFile(Path("a"), "old contents");
  Write("a", "new", /*sync=*/true);  // O_TRUNC over a file whose entry is durable
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("a")), "new");
}

TEST_F(FaultInjectionFileSystemTest, TruncateLowersTheDurableSize) {
  Write("a", "0123456789", /*sync=*/true);
  ASSERT_TRUE(fs_.SyncDir(dir_.path()).ok());
  ASSERT_TRUE(fs_.Truncate(Path("a"), 4).ok());
  {
    auto f = fs_.NewAppendableFile(Path("a"));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("xyz").ok());  // not synced
  }
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFile(Path("a")), "0123");
}

TEST_F(FaultInjectionFileSystemTest, DeletedFilesAreForgotten) {
  Write("a", "x", /*sync=*/false);
  ASSERT_TRUE(fs_.DeleteFile(Path("a")).ok());
  ASSERT_TRUE(fs_.CreateDirs(Path("d")).ok());
  Write("d/b", "y", /*sync=*/false);
  ASSERT_TRUE(fs_.DeleteDirRecursive(Path("d")).ok());
  EXPECT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_FALSE(testing::FileExists(Path("a")));
}

}  // namespace
}  // namespace weir
