// PosixFileSystem (FileSystem::Default()) and the path helpers: every operation the engine
// relies on, and errors that name the path.
#include "base/file_system.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "testing/test_util.h"

namespace weir {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

class FileSystemTest : public ::testing::Test {
 protected:
  FileSystem& fs_ = *FileSystem::Default();
  TempDir dir_;

  std::string Path(const std::string& name) const { return dir_.Join(name); }

  std::unique_ptr<WritableFile> Create(const std::string& path) {
    auto f = fs_.NewWritableFile(path);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(*f) : nullptr;
  }
};

// Distinct bytes at every offset, so a misplaced range shows.
std::string Pattern(size_t n, int salt = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + salt * 7 + i / 251) & 0xff);
  return s;
}

TEST_F(FileSystemTest, WriteThenReadBack) {
  auto f = Create(Path("a"));
  ASSERT_TRUE(f->Append("hello ").ok());
  ASSERT_TRUE(f->Append("world").ok());
  EXPECT_EQ(f->size(), 11u);
  EXPECT_EQ(f->path(), Path("a"));
  ASSERT_TRUE(f->Close().ok());
  EXPECT_EQ(*fs_.ReadFile(Path("a")), "hello world");
  EXPECT_EQ(*fs_.FileSize(Path("a")), 11u);
}

// ReadFile sizes its buffer from the file's size, but reads to the end whatever that said:
// a file in /proc reports size 0 and still has content.
TEST_F(FileSystemTest, ReadFileReadsToTheEndWhateverTheSizeSaid) {
  auto read = fs_.ReadFile("/proc/self/status");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_NE(read->find("Name:"), std::string::npos);
}

TEST_F(FileSystemTest, LargeAndSmallAppendsKeepTheirOrder) {
  std::string expected;
  auto f = Create(Path("big"));
  for (size_t n : {10u, 70000u, 5u, 65536u, 1u, 200000u, 3u}) {
    std::string chunk = Pattern(n, static_cast<int>(n));
    ASSERT_TRUE(f->Append(chunk).ok());
    expected += chunk;
    EXPECT_EQ(f->size(), expected.size());
  }
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Close().ok());
  EXPECT_EQ(*fs_.ReadFile(Path("big")), expected);
}

// An uncached file (O_DIRECT where the file system has it, as the temp directory's usually
// does) holds exactly the bytes appended: pieces of random sizes across the 4 KiB blocks and
// 1 MiB buffers it writes whole, an unaligned tail, an append after a sync, and a file that
// was longer before.
void AppendInRandomPiecesAndCheck(FileSystem& fs, const std::string& dir) {
  std::mt19937_64 rng(testing::TestSeed());
  for (size_t total : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{4097},
                       (size_t{1} << 20) - 1, size_t{1} << 20, (size_t{3} << 20) + 17}) {
    SCOPED_TRACE("total " + std::to_string(total));
    const std::string path = JoinPath(dir, "u" + std::to_string(total));
    WriteFile(path, Pattern(5000, 99));
    auto f = fs.NewUncachedWritableFile(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    std::string expected = Pattern(total, static_cast<int>(total % 97));
    size_t at = 0;
    while (at < total) {
      size_t n = std::min<size_t>(total - at, rng() % 3 == 0 ? rng() % 300000 : rng() % 5000);
      ASSERT_TRUE((*f)->Append(std::string_view(expected).substr(at, n)).ok());
      at += n;
      ASSERT_EQ((*f)->size(), at);
    }
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Append("after the sync").ok());
    expected += "after the sync";
    ASSERT_TRUE((*f)->Close().ok());
    ASSERT_TRUE((*f)->Close().ok());
    EXPECT_FALSE((*f)->Append("x").ok()) << "appending to a closed file";
    auto read = fs.ReadFile(path);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(read->size(), expected.size());
    EXPECT_TRUE(*read == expected) << "the bytes differ";
  }
}

TEST_F(FileSystemTest, UncachedFileHoldsExactlyTheBytesAppended) {
  AppendInRandomPiecesAndCheck(fs_, dir_.path());
}

// Many uncached files written at once share the process's budget of buffers waiting for the
// device: each file may have two, the rest take slots of the budget, which none exceeds, and
// every slot comes back. Every file holds exactly its bytes.
TEST_F(FileSystemTest, UncachedFilesWrittenAtOnceShareTheBudgetOfQueuedBuffers) {
  const int probe = ::open(Path("probe").c_str(), O_WRONLY | O_CREAT | O_DIRECT, 0644);
  if (probe < 0) GTEST_SKIP() << "no O_DIRECT in " << dir_.path() << ": nothing is queued";
  ::close(probe);
  constexpr int kFiles = 8;
  const std::string piece = Pattern(3 << 20, 5);
  std::vector<std::thread> writers;
  std::vector<Status> results(kFiles);
  for (int i = 0; i < kFiles; ++i) {
    writers.emplace_back([&, i] {
      auto f = fs_.NewUncachedWritableFile(Path("many" + std::to_string(i)));
      Status s = f.status();
      for (int k = 0; k < 8 && s.ok(); ++k) s = (*f)->Append(piece);  // 24 MiB
      if (s.ok()) s = (*f)->Sync();
      if (s.ok()) s = (*f)->Close();
      results[static_cast<size_t>(i)] = s;
    });
  }
  for (auto& t : writers) t.join();
  std::string expected;
  for (int k = 0; k < 8; ++k) expected += piece;
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_TRUE(results[static_cast<size_t>(i)].ok()) << results[static_cast<size_t>(i)].ToString();
    auto read = fs_.ReadFile(Path("many" + std::to_string(i)));
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_TRUE(*read == expected) << "file " << i << " differs";
  }
  DirectIoQueueUse use = DirectIoQueue();
  EXPECT_EQ(use.extra_buffers, 0u) << "every slot came back";
  // Eight files of 24 MiB each could queue 14 MiB beyond their own two: far more than the
  // budget, which they used and did not pass.
  EXPECT_LT(use.extra_budget, size_t{kFiles} * 14);
  EXPECT_GT(use.peak_extra_buffers, 0u) << "no file queued beyond its own two";
  EXPECT_LE(use.peak_extra_buffers, use.extra_budget);
  std::printf("peak extra buffers queued: %zu of %zu\n", use.peak_extra_buffers, use.extra_budget);
}

// tmpfs has no O_DIRECT: the file is written through the page cache instead.
TEST_F(FileSystemTest, UncachedFileWhereThereIsNoDirectIo) {
  if (!fs_.Exists("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  char tmpl[] = "/dev/shm/weir-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  AppendInRandomPiecesAndCheck(fs_, tmpl);
  EXPECT_TRUE(fs_.DeleteDirRecursive(tmpl).ok());
}

// The full buffers are written behind the appends, on a thread of their own. One that fails
// (past the process's file size limit here, as on a full disk) fails the appends or the sync
// that come after it, naming the file, and every call after that: nothing hangs.
TEST_F(FileSystemTest, UncachedFileReportsAWriteThatFailedBehindItsAppends) {
  struct rlimit old;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  struct rlimit limit = old;
  limit.rlim_cur = 3 << 20;
  // Process-wide: put back however the test ends.
  struct Restore {
    struct rlimit limit;
    void (*handler)(int);
    ~Restore() {
      ::setrlimit(RLIMIT_FSIZE, &limit);
      std::signal(SIGXFSZ, handler);
    }
  } restore{old, std::signal(SIGXFSZ, SIG_IGN)};  // EFBIG instead of the signal
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  const std::string path = Path("limited");
  auto f = fs_.NewUncachedWritableFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  Status s;
  const std::string piece(256 << 10, 'x');
  for (int i = 0; i < 40 && s.ok(); ++i) s = (*f)->Append(piece);  // 10 MiB
  if (s.ok()) s = (*f)->Sync();
  EXPECT_FALSE(s.ok()) << "10 MiB written under a limit of 3";
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_FALSE((*f)->Append(piece).ok());
  EXPECT_FALSE((*f)->Sync().ok());
}

TEST_F(FileSystemTest, UncachedFileInAMissingDirectoryNamesThePath) {
  auto f = fs_.NewUncachedWritableFile(Path("missing/file"));
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr(Path("missing/file")));
}

TEST_F(FileSystemTest, FlushMakesBufferedDataVisible) {
  auto f = Create(Path("a"));
  ASSERT_TRUE(f->Append("buffered").ok());
  ASSERT_TRUE(f->Flush().ok());
  EXPECT_EQ(*fs_.ReadFile(Path("a")), "buffered");
}

TEST_F(FileSystemTest, CloseIsIdempotentAndLaterAppendsFail) {
  auto f = Create(Path("a"));
  ASSERT_TRUE(f->Append("x").ok());
  ASSERT_TRUE(f->Close().ok());
  ASSERT_TRUE(f->Close().ok());
  Status s = f->Append("y");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr(Path("a")));
  EXPECT_EQ(*fs_.ReadFile(Path("a")), "x");
}

TEST_F(FileSystemTest, DestructorFlushesAndCloses) {
  {
    auto f = Create(Path("a"));
    ASSERT_TRUE(f->Append("kept").ok());
  }
  EXPECT_EQ(*fs_.ReadFile(Path("a")), "kept");
}

TEST_F(FileSystemTest, NewWritableFileTruncatesAnExistingFile) {
  WriteFile(Path("a"), "old contents");
  auto f = Create(Path("a"));
  EXPECT_EQ(f->size(), 0u);
  ASSERT_TRUE(f->Append("new").ok());
  ASSERT_TRUE(f->Close().ok());
  EXPECT_EQ(ReadFile(Path("a")), "new");
}

TEST_F(FileSystemTest, NewAppendableFileAppendsAndCountsTheExistingSize) {
  WriteFile(Path("a"), "12345");
  auto f = fs_.NewAppendableFile(Path("a"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->size(), 5u);
  ASSERT_TRUE((*f)->Append("678").ok());
  EXPECT_EQ((*f)->size(), 8u);
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(ReadFile(Path("a")), "12345678");
}

TEST_F(FileSystemTest, NewAppendableFileCreatesAMissingFile) {
  auto f = fs_.NewAppendableFile(Path("new"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->size(), 0u);
  ASSERT_TRUE((*f)->Append("x").ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(ReadFile(Path("new")), "x");
}

TEST_F(FileSystemTest, CreatingAFileInAMissingDirectoryNamesThePath) {
  auto f = fs_.NewWritableFile(Path("no/such/dir/file"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(f.status().message(), HasSubstr(Path("no/such/dir/file")));
}

TEST_F(FileSystemTest, ReadingAMissingFileIsNotFoundNamingThePath) {
  auto r = fs_.ReadFile(Path("missing"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound());
  EXPECT_THAT(r.status().message(), HasSubstr(Path("missing")));
  EXPECT_TRUE(fs_.FileSize(Path("missing")).status().IsNotFound());
  EXPECT_TRUE(fs_.IsDirectory(Path("missing")).status().IsNotFound());
  EXPECT_FALSE(fs_.Exists(Path("missing")));
}

// A file behind a directory this process may not search is not taken for missing: what reads
// it says why it cannot. Checked as nobody in a child process (root may search anything).
TEST_F(FileSystemTest, APathThatCannotBeReachedIsNotTakenForMissing) {
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_TRUE(fs_.CreateDirs(Path("locked")).ok());
  WriteFile(Path("locked/file"), "x");
  ASSERT_EQ(::chmod(Path("locked").c_str(), 0), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(10);
    FileSystem& fs = *FileSystem::Default();
    if (!fs.Exists(Path("locked/file"))) ::_exit(11);
    if (fs.Exists(Path("missing")) || fs.Exists(Path("missing/file"))) ::_exit(12);
    auto read = fs.ReadFile(Path("locked/file"));
    if (read.ok() || read.status().message().find("Permission denied") == std::string::npos) {
      ::_exit(13);
    }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ::chmod(Path("locked").c_str(), 0755);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: could not become nobody; 11: taken for missing; "
                                       "12: a missing path exists; 13: no permission error";
}

TEST_F(FileSystemTest, ReadFileRangeReadsExactlyOrReportsCorruption) {
  std::string data = Pattern(300000);
  WriteFile(Path("a"), data);
  EXPECT_EQ(*fs_.ReadFileRange(Path("a"), 0, 10), data.substr(0, 10));
  EXPECT_EQ(*fs_.ReadFileRange(Path("a"), 123457, 70000), data.substr(123457, 70000));
  EXPECT_EQ(*fs_.ReadFileRange(Path("a"), 300000, 0), "");
  auto r = fs_.ReadFileRange(Path("a"), 299990, 20);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_THAT(r.status().message(), AllOf(HasSubstr(Path("a")), HasSubstr("too short")));
}

TEST_F(FileSystemTest, ListDirReturnsSortedNamesOnly) {
  ASSERT_TRUE(fs_.CreateDirs(Path("d/sub")).ok());
  WriteFile(Path("d/b"), "");
  WriteFile(Path("d/a"), "");
  WriteFile(Path("d/c"), "");
  auto names = fs_.ListDir(Path("d"));
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("a", "b", "c", "sub"));
  EXPECT_TRUE(*fs_.IsDirectory(Path("d/sub")));
  EXPECT_FALSE(*fs_.IsDirectory(Path("d/a")));
  auto missing = fs_.ListDir(Path("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr(Path("nope")));
}

TEST_F(FileSystemTest, CreateDirsMakesParentsAndIsIdempotent) {
  ASSERT_TRUE(fs_.CreateDirs(Path("x/y/z")).ok());
  ASSERT_TRUE(fs_.CreateDirs(Path("x/y/z")).ok());
  EXPECT_TRUE(*fs_.IsDirectory(Path("x/y/z")));
  WriteFile(Path("file"), "");
  Status s = fs_.CreateDirs(Path("file/sub"));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(Path("file/sub")));
}

TEST_F(FileSystemTest, DeleteFileAndDeleteDirRecursive) {
  WriteFile(Path("a"), "x");
  ASSERT_TRUE(fs_.DeleteFile(Path("a")).ok());
  EXPECT_FALSE(fs_.Exists(Path("a")));
  Status s = fs_.DeleteFile(Path("a"));
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_THAT(s.message(), HasSubstr(Path("a")));

  ASSERT_TRUE(fs_.CreateDirs(Path("t/u/v")).ok());
  WriteFile(Path("t/u/v/f"), "x");
  WriteFile(Path("t/g"), "x");
  ASSERT_TRUE(fs_.DeleteDirRecursive(Path("t")).ok());
  EXPECT_FALSE(fs_.Exists(Path("t")));
  EXPECT_TRUE(fs_.DeleteDirRecursive(Path("t")).ok()) << "deleting a missing tree is OK";
}

TEST_F(FileSystemTest, RenameReplacesTheTarget) {
  WriteFile(Path("from"), "new");
  WriteFile(Path("to"), "old");
  ASSERT_TRUE(fs_.Rename(Path("from"), Path("to")).ok());
  EXPECT_FALSE(fs_.Exists(Path("from")));
  EXPECT_EQ(ReadFile(Path("to")), "new");
  Status s = fs_.Rename(Path("from"), Path("elsewhere"));
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_THAT(s.message(), AllOf(HasSubstr(Path("from")), HasSubstr(Path("elsewhere"))));
}

TEST_F(FileSystemTest, LinkSharesContentsAndRefusesAnExistingTarget) {
  WriteFile(Path("a"), "shared");
  ASSERT_TRUE(fs_.Link(Path("a"), Path("b")).ok());
  EXPECT_EQ(ReadFile(Path("b")), "shared");
  ASSERT_TRUE(fs_.DeleteFile(Path("a")).ok());
  EXPECT_EQ(ReadFile(Path("b")), "shared") << "a hard link survives the original name";
  WriteFile(Path("c"), "x");
  Status s = fs_.Link(Path("c"), Path("b"));
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr(Path("b")));
}

TEST_F(FileSystemTest, TruncateShortensAFile) {
  WriteFile(Path("a"), "0123456789");
  ASSERT_TRUE(fs_.Truncate(Path("a"), 4).ok());
  EXPECT_EQ(ReadFile(Path("a")), "0123");
  EXPECT_TRUE(fs_.Truncate(Path("missing"), 0).IsNotFound());
}

TEST_F(FileSystemTest, WriteAtOverwritesInPlaceAndCanExtend) {
  WriteFile(Path("a"), "0123456789");
  ASSERT_TRUE(fs_.WriteAt(Path("a"), 2, "ab").ok());
  EXPECT_EQ(ReadFile(Path("a")), "01ab456789");
  ASSERT_TRUE(fs_.WriteAt(Path("a"), 9, "XYZ").ok());
  EXPECT_EQ(ReadFile(Path("a")), "01ab45678XYZ");
  Status s = fs_.WriteAt(Path("missing"), 0, "x");
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(Path("missing")));
  EXPECT_FALSE(fs_.Exists(Path("missing")));
}

TEST_F(FileSystemTest, SyncFileAndSyncDir) {
  WriteFile(Path("a"), "x");
  EXPECT_TRUE(fs_.SyncFile(Path("a")).ok());
  EXPECT_TRUE(fs_.SyncDir(dir_.path()).ok());
  Status s = fs_.SyncFile(Path("missing"));
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_THAT(s.message(), HasSubstr(Path("missing")));
  EXPECT_FALSE(fs_.SyncDir(Path("missing")).ok());
}

TEST_F(FileSystemTest, AppendRangeCopiesTheRangeBetweenBufferedWrites) {
  std::string src = Pattern(3 << 20, 1);
  WriteFile(Path("src"), src);
  auto f = Create(Path("dst"));
  ASSERT_TRUE(f->Append("head").ok());  // still buffered when AppendRange runs
  ASSERT_TRUE(fs_.AppendRange(Path("src"), 1000, (2 << 20) + 17, *f).ok());
  ASSERT_TRUE(f->Append("tail").ok());
  EXPECT_EQ(f->size(), 4u + (2 << 20) + 17 + 4u);
  ASSERT_TRUE(f->Close().ok());
  EXPECT_EQ(ReadFile(Path("dst")), "head" + src.substr(1000, (2 << 20) + 17) + "tail");
}

TEST_F(FileSystemTest, AppendRangeIntoAnAppendableFileKeepsExistingBytes) {
  WriteFile(Path("src"), "abcdefghij");
  WriteFile(Path("dst"), "committed;");
  auto f = fs_.NewAppendableFile(Path("dst"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(fs_.AppendRange(Path("src"), 2, 5, **f).ok());
  EXPECT_EQ((*f)->size(), 15u) << "size() counts bytes appended by AppendRange";
  ASSERT_TRUE((*f)->Append("!").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(ReadFile(Path("dst")), "committed;cdefg!");
}

TEST_F(FileSystemTest, AppendRangePastTheEndOfTheSourceIsCorruption) {
  WriteFile(Path("src"), "short");
  auto f = Create(Path("dst"));
  Status s = fs_.AppendRange(Path("src"), 2, 10, *f);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(Path("src")));
  Status missing = fs_.AppendRange(Path("nope"), 0, 1, *f);
  EXPECT_TRUE(missing.IsNotFound());
  EXPECT_THAT(missing.message(), HasSubstr(Path("nope")));
}

// A WritableFile that is not a POSIX file: AppendRange takes the generic read-and-append path.
class StringFile final : public WritableFile {
 public:
  Status Append(std::string_view data) override {
    data_.append(data);
    return Status::OK();
  }
  Status Flush() override { return Status::OK(); }
  Status Sync() override { return Status::OK(); }
  Status Close() override { return Status::OK(); }
  uint64_t size() const override { return data_.size(); }
  const std::string& path() const override { return path_; }
  const std::string& data() const { return data_; }

 private:
  std::string path_ = "<memory>";
  std::string data_;
};

TEST_F(FileSystemTest, AppendRangeIntoANonPosixFileUsesTheGenericPath) {
  std::string src = Pattern((1 << 20) * 2 + 333, 2);
  WriteFile(Path("src"), src);
  StringFile f;
  ASSERT_TRUE(f.Append("x").ok());
  ASSERT_TRUE(fs_.AppendRange(Path("src"), 7, src.size() - 7, f).ok());
  EXPECT_EQ(f.data(), "x" + src.substr(7));
  EXPECT_TRUE(fs_.AppendRange(Path("src"), src.size() - 1, 2, f).IsCorruption());
}

TEST_F(FileSystemTest, WriteFileAtomicallyCreatesAndReplacesLeavingNoTempFiles) {
  ASSERT_TRUE(WriteFileAtomically(fs_, Path("m"), "first").ok());
  EXPECT_EQ(ReadFile(Path("m")), "first");
  ASSERT_TRUE(WriteFileAtomically(fs_, Path("m"), "second, longer").ok());
  EXPECT_EQ(ReadFile(Path("m")), "second, longer");
  EXPECT_THAT(testing::ListFilesRecursive(dir_.path()), ElementsAre("m"));
}

TEST_F(FileSystemTest, WriteFileAtomicallyIntoAMissingDirectoryFails) {
  Status s = WriteFileAtomically(fs_, Path("missing/m"), "x");
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(Path("missing/m")));
}

TEST_F(FileSystemTest, WriteFileAtomicallyFailingRenameKeepsTheOldFileAndNoTemp) {
  // The target is a non-empty directory: rename(2) refuses to replace it.
  ASSERT_TRUE(fs_.CreateDirs(Path("m/child")).ok());
  Status s = WriteFileAtomically(fs_, Path("m"), "x");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(testing::ListFilesRecursive(dir_.path()), ::testing::IsEmpty());
  EXPECT_TRUE(*fs_.IsDirectory(Path("m")));
}

TEST(ResolvePathTest, FileUrisBecomePlainPaths) {
  EXPECT_EQ(*ResolvePath("file:///data/checkpoints", "k"), "/data/checkpoints");
  EXPECT_EQ(*ResolvePath("/data/checkpoints", "k"), "/data/checkpoints");
  EXPECT_EQ(*ResolvePath("relative/dir", "k"), "relative/dir");
}

TEST(ResolvePathTest, OtherSchemesAreRejectedNamingTheKey) {
  auto r = ResolvePath("s3://bucket/chk", "execution.checkpointing.dir");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), AllOf(HasSubstr("execution.checkpointing.dir"),
                                          HasSubstr("'s3'"), HasSubstr("s3://bucket/chk")));
  auto hdfs = ResolvePath("hdfs://nn:8020/x", "execution.checkpointing.savepoint-dir");
  ASSERT_FALSE(hdfs.ok());
  EXPECT_THAT(hdfs.status().message(), HasSubstr("execution.checkpointing.savepoint-dir"));
}

TEST(ResolvePathTest, RelativeFileUriAndEmptyPathAreRejected) {
  auto rel = ResolvePath("file://relative/x", "state.checkpoints.dir");
  ASSERT_FALSE(rel.ok());
  EXPECT_THAT(rel.status().message(),
              AllOf(HasSubstr("state.checkpoints.dir"), HasSubstr("file:///path")));
  auto empty = ResolvePath("", "execution.state-recovery.path");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("execution.state-recovery.path"));
  EXPECT_FALSE(ResolvePath("file://", "k").ok());
}

TEST(PathTest, JoinDirNameBaseName) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(JoinPath("/", "b"), "/b");
  EXPECT_EQ(DirName("/a/b/c"), "/a/b");
  EXPECT_EQ(DirName("/a"), "/");
  EXPECT_EQ(DirName("a"), ".");
  EXPECT_EQ(DirName("a/b"), "a");
  EXPECT_EQ(BaseName("/a/b/c"), "c");
  EXPECT_EQ(BaseName("c"), "c");
  EXPECT_EQ(BaseName("/a/"), "");
}

}  // namespace
}  // namespace weir
