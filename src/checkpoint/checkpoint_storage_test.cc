// CheckpointStorage: the on-disk layout, atomic metadata, verified loading, and finding the
// latest valid checkpoint of a job.
#include "checkpoint/checkpoint_storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "base/fault_injection_file_system.h"
#include "base/fault_points.h"
#include "testing/test_util.h"

namespace weir {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using testing::FileExists;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::ReadFile;
using testing::WriteFile;

class CheckpointStorageTest : public ::testing::Test {
 protected:
  std::string ChkDir(const std::string& job_id, int64_t id) const {
    return JoinPath(storage_.JobDir(job_id), CheckpointStorage::CheckpointDirName(id));
  }

  void CreateRun(const std::string& job_id, const std::string& job_name, int64_t created,
                 const std::string& restored_from = "") {
    ASSERT_TRUE(
        storage_.CreateJobDir(JobManifest::ForRun(job_id, job_name, created, restored_from)).ok());
  }

  // A complete checkpoint with one keyed state file, as the coordinator writes it.
  CheckpointMetadata WriteCheckpoint(CheckpointStorage& storage, const std::string& job_id,
                                     int64_t id, const std::string& job_name = "job") {
    auto loc = storage.InitCheckpoint(job_id, id);
    EXPECT_TRUE(loc.ok()) << loc.status().ToString();
    CheckpointMetadata m = MetadataWithStateFile(*loc, id, job_id, job_name);
    Status s = storage.WriteMetadata(*loc, m);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return m;
  }
  CheckpointMetadata WriteCheckpoint(const std::string& job_id, int64_t id,
                                     const std::string& job_name = "job") {
    return WriteCheckpoint(storage_, job_id, id, job_name);
  }

  static CheckpointMetadata MetadataWithStateFile(const SnapshotLocation& loc, int64_t id,
                                                  const std::string& job_id,
                                                  const std::string& job_name) {
    auto w = loc.CreateExclusiveFile("op-0.keyed");
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_TRUE((*w)->Append("state of checkpoint " + std::to_string(id)).ok());
    auto file = (*w)->Finish();
    EXPECT_TRUE(file.ok());
    CheckpointMetadata m;
    m.checkpoint_id = id;
    m.trigger_wall_ms = 1000 * id;
    m.completed_wall_ms = 1000 * id + 5;
    m.job_id = job_id;
    m.job_name = job_name;
    OperatorSnapshotMetadata op;
    op.uid = "op";
    op.name = "Op";
    op.parallelism = 1;
    op.max_parallelism = 128;
    SubtaskState st;
    KeyedStateHandle k;
    k.key_groups = {0, 127};
    k.canonical = *file;
    st.keyed = k;
    st.operator_state.push_back({"pos", detail::OperatorStateList::Mode::kSplit, {"7"}});
    op.subtasks.push_back(st);
    m.operators.push_back(op);
    return m;
  }

  testing::TempDir dir_;
  FileSystem* fs_ = FileSystem::Default();
  CheckpointStorage storage_{fs_, dir_.Join("checkpoints"), dir_.Join("savepoints")};
};

TEST_F(CheckpointStorageTest, NewJobIdsAreDistinctHex) {
  std::string a = CheckpointStorage::NewJobId();
  std::string b = CheckpointStorage::NewJobId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
  EXPECT_EQ(CheckpointStorage::CheckpointDirName(12), "chk-12");
  EXPECT_EQ(SharedStateFileName(12, "000042.sst"), "c12_000042.sst");
  EXPECT_EQ(SharedStateFileCheckpoint("c12_000042.sst"), 12);
  EXPECT_EQ(SharedStateFileCheckpoint("000042.sst"), std::nullopt);
  EXPECT_EQ(SharedStateFileCheckpoint("c_x"), std::nullopt);
  EXPECT_EQ(SharedStateFileCheckpoint("c12x_y"), std::nullopt);
}

TEST_F(CheckpointStorageTest, ManifestRoundTrips) {
  CreateRun("job-a", "word count", 12345, "/sp/savepoint-1");
  auto m = storage_.ReadManifest(storage_.JobDir("job-a"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->job_id, "job-a");
  EXPECT_EQ(m->job_name, "word count");
  EXPECT_EQ(m->created_wall_ms, 12345);
  EXPECT_EQ(m->restored_from, "/sp/savepoint-1");
  // Re-creating the job directory (a restored run) replaces the manifest.
  CreateRun("job-a", "word count", 99999);
  EXPECT_EQ(storage_.ReadManifest(storage_.JobDir("job-a"))->created_wall_ms, 99999);
}

TEST_F(CheckpointStorageTest, MalformedManifestIsCorruptionNamingTheFile) {
  CreateRun("job-a", "j", 1);
  std::string path = JoinPath(storage_.JobDir("job-a"), "_job");
  WriteFile(path, "{\"job_id\": \"job-a\"");
  auto m = storage_.ReadManifest(storage_.JobDir("job-a"));
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(m.status().IsCorruption());
  EXPECT_THAT(m.status().message(), HasSubstr(path));
  WriteFile(path, "{\"job_id\": \"job-a\"}");  // valid JSON, missing fields
  EXPECT_TRUE(storage_.ReadManifest(storage_.JobDir("job-a")).status().IsCorruption());
}

TEST_F(CheckpointStorageTest, InitCheckpointCreatesTheDirectoryOnlyOnce) {
  CreateRun("job-a", "j", 1);
  auto loc = storage_.InitCheckpoint("job-a", 3);
  ASSERT_TRUE(loc.ok());
  EXPECT_EQ(loc->base_dir(), storage_.JobDir("job-a"));
  EXPECT_EQ(loc->exclusive_dir(), "chk-3");
  EXPECT_TRUE(*fs_->IsDirectory(ChkDir("job-a", 3)));
  auto again = storage_.InitCheckpoint("job-a", 3);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr(ChkDir("job-a", 3)));
}

TEST_F(CheckpointStorageTest, WrittenCheckpointLoadsByDirectoryOrMetadataPath) {
  CreateRun("job-a", "j", 1);
  CheckpointMetadata written = WriteCheckpoint("job-a", 4);
  EXPECT_THAT(testing::ListFilesRecursive(ChkDir("job-a", 4)),
              ElementsAre("_metadata", "op-0.keyed"))
      << "no temp files are left behind";
  for (std::string path :
       {ChkDir("job-a", 4), ChkDir("job-a", 4) + "/", ChkDir("job-a", 4) + "/_metadata"}) {
    auto c = storage_.Load(path);
    ASSERT_TRUE(c.ok()) << path << ": " << c.status().ToString();
    EXPECT_EQ(c->id(), 4);
    EXPECT_EQ(c->dir, ChkDir("job-a", 4));
    EXPECT_EQ(c->job_dir, storage_.JobDir("job-a"));
    EXPECT_EQ(c->base_dir, storage_.JobDir("job-a"));
    EXPECT_EQ(c->metadata.job_id, "job-a");
    ASSERT_EQ(c->metadata.operators.size(), 1u);
    EXPECT_EQ(c->metadata.operators[0].subtasks[0].keyed, written.operators[0].subtasks[0].keyed);
    SnapshotLocation loc = c->location(fs_);
    EXPECT_EQ(loc.exclusive_dir(), "chk-4");
    auto data = loc.ReadVerified(*c->metadata.operators[0].subtasks[0].keyed->canonical);
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(*data, "state of checkpoint 4");
  }
}

TEST_F(CheckpointStorageTest, DirectoryWithoutMetadataIsNotACheckpoint) {
  CreateRun("job-a", "j", 1);
  auto loc = storage_.InitCheckpoint("job-a", 2);
  ASSERT_TRUE(loc.ok());
  (void)MetadataWithStateFile(*loc, 2, "job-a", "j");  // state written, _metadata not
  auto c = storage_.Load(ChkDir("job-a", 2));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsNotFound());
  EXPECT_THAT(c.status().message(),
              AllOf(HasSubstr(ChkDir("job-a", 2)), HasSubstr("no _metadata")));
  auto missing = storage_.Load(ChkDir("job-a", 77));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("does not exist"));
}

TEST_F(CheckpointStorageTest, LoadVerifiesEveryStateFileNamingIt) {
  CreateRun("job-a", "j", 1);
  (void)WriteCheckpoint("job-a", 1);
  std::string state = ChkDir("job-a", 1) + "/op-0.keyed";
  std::string original = ReadFile(state);

  std::string flipped = original;
  flipped[3] ^= 1;
  WriteFile(state, flipped);
  auto c = storage_.Load(ChkDir("job-a", 1));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsCorruption());
  EXPECT_THAT(c.status().message(), AllOf(HasSubstr("checkpoint '" + ChkDir("job-a", 1) + "'"),
                                          HasSubstr(state), HasSubstr("checksum mismatch")));

  WriteFile(state, original.substr(0, 4));
  c = storage_.Load(ChkDir("job-a", 1));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), AllOf(HasSubstr(state), HasSubstr("has 4 bytes")));

  ASSERT_TRUE(fs_->DeleteFile(state).ok());
  c = storage_.Load(ChkDir("job-a", 1));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsNotFound());
  EXPECT_THAT(c.status().message(), HasSubstr(state));

  WriteFile(state, original);
  EXPECT_TRUE(storage_.Load(ChkDir("job-a", 1)).ok());
}

TEST_F(CheckpointStorageTest, CorruptMetadataIsReportedWithItsPath) {
  CreateRun("job-a", "j", 1);
  (void)WriteCheckpoint("job-a", 1);
  std::string meta = ChkDir("job-a", 1) + "/_metadata";
  std::string data = ReadFile(meta);
  WriteFile(meta, data.substr(0, data.size() - 3));
  auto c = storage_.Load(ChkDir("job-a", 1));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsCorruption());
  EXPECT_THAT(c.status().message(), HasSubstr(meta));
}

TEST_F(CheckpointStorageTest, FailedMetadataWriteLeavesNoMetadataAndNoTempFile) {
  CreateRun("job-a", "j", 1);
  using Op = FaultInjectionFileSystem::Op;
  const std::pair<Op, const char*> faults[] = {
      {Op::kCreate, "_metadata"},
      {Op::kWrite, "_metadata"},
      {Op::kSync, "_metadata"},
      {Op::kRename, "_metadata"},
  };
  int64_t id = 1;
  for (const auto& [op, filter] : faults) {
    FaultInjectionFileSystem faulty(fs_);
    CheckpointStorage storage(&faulty, storage_.checkpoints_dir(), storage_.savepoints_dir());
    auto loc = storage.InitCheckpoint("job-a", id);
    ASSERT_TRUE(loc.ok());
    CheckpointMetadata m = MetadataWithStateFile(*loc, id, "job-a", "j");
    faulty.InjectError(op, filter, Status::IOError("injected"));
    Status s = storage.WriteMetadata(*loc, m);
    EXPECT_FALSE(s.ok()) << "op " << static_cast<int>(op);
    EXPECT_THAT(s.message(), HasSubstr("writing metadata of checkpoint " + std::to_string(id)));
    EXPECT_THAT(testing::ListFilesRecursive(ChkDir("job-a", id)), ElementsAre("op-0.keyed"))
        << "op " << static_cast<int>(op);
    EXPECT_FALSE(storage.Load(ChkDir("job-a", id)).ok());
    ++id;
  }
}

TEST_F(CheckpointStorageTest, MetadataWriteMakesTheCheckpointDirectoryDurable) {
  // _metadata is synced into chk-<n>, and chk-<n> itself into the job directory: a failing
  // fsync of either directory fails the write.
  CreateRun("job-a", "j", 1);
  for (int skip = 0; skip < 2; ++skip) {
    FaultInjectionFileSystem faulty(fs_);
    CheckpointStorage storage(&faulty, storage_.checkpoints_dir(), storage_.savepoints_dir());
    auto loc = storage.InitCheckpoint("job-a", 10 + skip);
    ASSERT_TRUE(loc.ok());
    CheckpointMetadata m = MetadataWithStateFile(*loc, 10 + skip, "job-a", "j");
    faulty.InjectError(FaultInjectionFileSystem::Op::kSyncDir, "", Status::IOError("no fsync"),
                       /*count=*/1, skip);
    EXPECT_FALSE(storage.WriteMetadata(*loc, m).ok()) << "skip " << skip;
    EXPECT_EQ(faulty.injected_failures(), 1);
  }
}

TEST_F(CheckpointStorageTest, FaultPointBeforeMetadataFailsTheWriteWithoutMetadata) {
  CreateRun("job-a", "j", 1);
  auto loc = storage_.InitCheckpoint("job-a", 1);
  ASSERT_TRUE(loc.ok());
  CheckpointMetadata m = MetadataWithStateFile(*loc, 1, "job-a", "j");
  FaultPoints::Arm(fault_points::kCheckpointBeforeMetadata, [] { return Status::IOError("armed"); });
  Status s = storage_.WriteMetadata(*loc, m);
  FaultPoints::DisarmAll();
  EXPECT_EQ(s, Status::IOError("armed"));
  EXPECT_FALSE(FileExists(ChkDir("job-a", 1) + "/_metadata"));

  int hits = 0;
  FaultPoints::Arm(fault_points::kCheckpointAfterMetadata, [&hits] {
    ++hits;
    // The point a crash test kills the process at: the checkpoint is complete on disk.
    return Status::OK();
  });
  s = storage_.WriteMetadata(*loc, m);
  FaultPoints::DisarmAll();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(hits, 1);
  EXPECT_TRUE(storage_.Load(ChkDir("job-a", 1)).ok());
}

TEST_F(CheckpointStorageTest, SavepointsAreSelfContained) {
  auto loc = storage_.InitSavepoint("0123456789abcdef", "");
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  std::string dir = loc->base_dir();
  EXPECT_EQ(DirName(dir), storage_.savepoints_dir());
  EXPECT_TRUE(BaseName(dir).starts_with("savepoint-012345-"));
  EXPECT_EQ(BaseName(dir).size(), std::string("savepoint-012345-").size() + 12);
  EXPECT_EQ(loc->exclusive_dir(), "");
  CheckpointMetadata m = MetadataWithStateFile(*loc, 9, "0123456789abcdef", "j");
  m.savepoint = true;
  EXPECT_EQ(m.operators[0].subtasks[0].keyed->canonical->path, "op-0.keyed");
  ASSERT_TRUE(storage_.WriteMetadata(*loc, m).ok());
  auto c = storage_.Load(dir);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->metadata.savepoint);
  EXPECT_EQ(c->base_dir, dir);
  EXPECT_EQ(c->job_dir, "");
  EXPECT_EQ(c->location(fs_).exclusive_dir(), "");

  auto other = storage_.InitSavepoint("0123456789abcdef", dir_.Join("elsewhere"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(DirName(other->base_dir()), dir_.Join("elsewhere"));
  EXPECT_NE(BaseName(other->base_dir()), BaseName(dir));
}

TEST_F(CheckpointStorageTest, ListCheckpointIdsIgnoresOtherEntries) {
  CreateRun("job-a", "j", 1);
  std::string job = storage_.JobDir("job-a");
  for (const char* d :
       {"chk-10", "chk-2", "chk-0", "chk--1", "chk-x", "chk-3a", "shared", "chk-"}) {
    ASSERT_TRUE(fs_->CreateDirs(JoinPath(job, d)).ok());
  }
  auto ids = storage_.ListCheckpointIds(job);
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ElementsAre(2, 10));
}

TEST_F(CheckpointStorageTest, LoadAllReturnsValidCheckpointsOldestFirstWithWarnings) {
  CreateRun("job-a", "j", 1);
  for (int id : {1, 2, 3, 5}) (void)WriteCheckpoint("job-a", id);
  ASSERT_TRUE(fs_->DeleteFile(ChkDir("job-a", 2) + "/_metadata").ok());
  std::vector<std::string> warnings;
  auto all = storage_.LoadAll(storage_.JobDir("job-a"), 3, &warnings);
  std::vector<int64_t> ids;
  for (const auto& c : all) ids.push_back(c.id());
  EXPECT_THAT(ids, ElementsAre(1, 3));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr(ChkDir("job-a", 2)));
}

TEST_F(CheckpointStorageTest, FindLatestPicksTheNewestCheckpointOfTheNewestRun) {
  CreateRun("old-run", "job", 100);
  for (int id : {1, 2, 3, 4}) (void)WriteCheckpoint("old-run", id);
  CreateRun("new-run", "job", 200);
  for (int id : {1, 2}) (void)WriteCheckpoint("new-run", id);
  CreateRun("other-job", "another job", 300);
  (void)WriteCheckpoint("other-job", 9, "another job");
  std::vector<std::string> warnings;
  auto c = storage_.FindLatest("job", &warnings);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->dir, ChkDir("new-run", 2));
  EXPECT_THAT(warnings, IsEmpty());
}

TEST_F(CheckpointStorageTest, FindLatestSkipsCorruptNewestCheckpoint) {
  CreateRun("run", "job", 100);
  for (int id : {1, 2, 3}) (void)WriteCheckpoint("run", id);
  std::string state = ChkDir("run", 3) + "/op-0.keyed";
  std::string data = ReadFile(state);
  data[0] ^= 0x7f;
  WriteFile(state, data);
  std::vector<std::string> warnings;
  auto c = storage_.FindLatest("job", &warnings);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->id(), 2);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], AllOf(HasSubstr("skipping checkpoint 3"), HasSubstr(state),
                                 HasSubstr("checksum mismatch")));
}

TEST_F(CheckpointStorageTest, FindLatestSkipsPartialAndCorruptMetadataCheckpoints) {
  CreateRun("run", "job", 100);
  (void)WriteCheckpoint("run", 1);
  (void)WriteCheckpoint("run", 2);
  std::string meta = ChkDir("run", 2) + "/_metadata";
  WriteFile(meta, "garbage");
  auto loc = storage_.InitCheckpoint("run", 3);  // the job died while writing chk-3
  ASSERT_TRUE(loc.ok());
  std::vector<std::string> warnings;
  auto c = storage_.FindLatest("job", &warnings);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->id(), 1);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_THAT(warnings[0], AllOf(HasSubstr("skipping checkpoint 3"), HasSubstr("no _metadata")));
  EXPECT_THAT(warnings[1], AllOf(HasSubstr("skipping checkpoint 2"), HasSubstr(meta)));
}

TEST_F(CheckpointStorageTest, FindLatestNeverFallsBackToAnOlderRun) {
  CreateRun("old-run", "job", 100);
  (void)WriteCheckpoint("old-run", 1);
  CreateRun("new-run", "job", 200);  // started fresh, completed nothing
  std::vector<std::string> warnings;
  auto c = storage_.FindLatest("job", &warnings);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsNotFound());
  EXPECT_THAT(c.status().message(),
              AllOf(HasSubstr("job id new-run"), HasSubstr("that run completed no checkpoint")));

  (void)WriteCheckpoint("new-run", 1);
  ASSERT_TRUE(fs_->DeleteFile(ChkDir("new-run", 1) + "/op-0.keyed").ok());
  c = storage_.FindLatest("job", &warnings);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(),
              AllOf(HasSubstr("skipping checkpoint 1"), HasSubstr("op-0.keyed")));
}

TEST_F(CheckpointStorageTest, AnEndedRunIsTheLatestAndHasNothingToResume) {
  CreateRun("old-run", "job", 100);
  (void)WriteCheckpoint("old-run", 1);
  CreateRun("run", "job", 200);
  for (int id : {1, 2}) (void)WriteCheckpoint("run", id);
  WriteFile(JoinPath(storage_.JobDir("run"), "shared/c2_a.sst"), "x");
  ASSERT_TRUE(storage_.RetireJobDir(storage_.JobDir("run"), "FINISHED", 300).ok());

  auto left = fs_->ListDir(storage_.JobDir("run"));
  ASSERT_TRUE(left.ok());
  EXPECT_THAT(*left, ElementsAre("_job"));
  auto m = storage_.ReadManifest(storage_.JobDir("run"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->ended, "FINISHED");
  EXPECT_EQ(m->ended_wall_ms, 300);
  // Never the older run's checkpoint: the last run finished.
  std::vector<std::string> warnings;
  auto c = storage_.FindLatest("job", &warnings);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsNotFound());
  EXPECT_THAT(c.status().message(), AllOf(HasSubstr("job id run"), HasSubstr("ended FINISHED"),
                                          HasSubstr("nothing to resume")));
}

TEST_F(CheckpointStorageTest, ANewRunDeletesTheEndedRunsOfItsJob) {
  CreateRun("ended", "job", 100);
  ASSERT_TRUE(storage_.RetireJobDir(storage_.JobDir("ended"), "CANCELED", 150).ok());
  CreateRun("other-ended", "another job", 100);
  ASSERT_TRUE(storage_.RetireJobDir(storage_.JobDir("other-ended"), "FINISHED", 150).ok());
  CreateRun("retained", "job", 120);
  (void)WriteCheckpoint("retained", 1);

  CreateRun("new", "job", 200);
  EXPECT_FALSE(FileExists(storage_.JobDir("ended")));
  EXPECT_TRUE(FileExists(storage_.JobDir("other-ended"))) << "another job's";
  EXPECT_TRUE(storage_.Load(ChkDir("retained", 1)).ok()) << "a retained checkpoint stays";
}

TEST_F(CheckpointStorageTest, FindLatestFallsBackToWhereTheRunWasRestoredFrom) {
  CreateRun("old-run", "job", 100);
  (void)WriteCheckpoint("old-run", 5);
  auto sp = storage_.InitSavepoint("old-run", "");
  ASSERT_TRUE(sp.ok());
  CheckpointMetadata m = MetadataWithStateFile(*sp, 6, "old-run", "job");
  m.savepoint = true;
  ASSERT_TRUE(storage_.WriteMetadata(*sp, m).ok());

  CreateRun("new-run", "job", 200, sp->base_dir());
  std::vector<std::string> warnings;
  auto c = storage_.FindLatest("job", &warnings);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->dir, sp->base_dir());
  EXPECT_TRUE(c->metadata.savepoint);

  // Its own checkpoint, once there is one, wins.
  (void)WriteCheckpoint("new-run", 7);
  c = storage_.FindLatest("job", &warnings);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->dir, ChkDir("new-run", 7));

  // If the restored-from savepoint is broken too, the error says so.
  ASSERT_TRUE(storage_.Discard(ChkDir("new-run", 7)).ok());
  ASSERT_TRUE(fs_->DeleteFile(sp->base_dir() + "/_metadata").ok());
  c = storage_.FindLatest("job", &warnings);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("restored from is not valid either"));
}

TEST_F(CheckpointStorageTest, FindLatestErrorsWhenThereIsNothingToRestore) {
  std::vector<std::string> warnings;
  auto none = storage_.FindLatest("job", &warnings);
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(none.status().IsNotFound());
  EXPECT_THAT(none.status().message(),
              AllOf(HasSubstr("no checkpoint"), HasSubstr(storage_.checkpoints_dir())));
  CreateRun("run", "another", 1);
  auto other = storage_.FindLatest("job", &warnings);
  ASSERT_FALSE(other.ok());
  EXPECT_THAT(other.status().message(), HasSubstr("no checkpoint of this job"));
}

TEST_F(CheckpointStorageTest, FindLatestWarnsAboutBrokenManifestsAndCarriesOn) {
  CreateRun("good", "job", 100);
  (void)WriteCheckpoint("good", 1);
  CreateRun("broken", "job", 500);
  WriteFile(JoinPath(storage_.JobDir("broken"), "_job"), "not json");
  ASSERT_TRUE(fs_->CreateDirs(dir_.Join("checkpoints/no-manifest")).ok());
  WriteFile(dir_.Join("checkpoints/stray-file"), "x");
  std::vector<std::string> warnings;
  auto c = storage_.FindLatest("job", &warnings);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->dir, ChkDir("good", 1));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr(JoinPath(storage_.JobDir("broken"), "_job")));
}

// A manifest that cannot be read (not one that is damaged) may be the newest run's: resuming
// an older run instead would be wrong, so the choice fails and says why.
TEST_F(CheckpointStorageTest, FindLatestRefusesToChooseWhenAManifestCannotBeRead) {
  CreateRun("old", "job", 100);
  (void)WriteCheckpoint("old", 1);
  CreateRun("new", "job", 500);
  (void)WriteCheckpoint("new", 1);
  FaultInjectionFileSystem faulty(fs_);
  faulty.InjectError(FaultInjectionFileSystem::Op::kRead, JoinPath(storage_.JobDir("new"), "_job"),
                     Status::IOError("reading the manifest: Permission denied"));
  CheckpointStorage storage(&faulty, dir_.Join("checkpoints"), dir_.Join("savepoints"));
  auto c = storage.FindLatest("job", nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(),
              AllOf(HasSubstr("Permission denied"), HasSubstr("choosing the run of this job")));
}

TEST_F(CheckpointStorageTest, FindLatestBreaksCreationTimeTiesDeterministically) {
  CreateRun("aaaa", "job", 100);
  (void)WriteCheckpoint("aaaa", 1);
  CreateRun("bbbb", "job", 100);
  (void)WriteCheckpoint("bbbb", 1);
  std::vector<std::string> warnings;
  for (int i = 0; i < 3; ++i) {
    auto c = storage_.FindLatest("job", &warnings);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->dir, ChkDir("bbbb", 1));
  }
}

TEST_F(CheckpointStorageTest, SweepSharedFilesDeletesOnlyUnreferencedFilesOfFinishedCheckpoints) {
  CreateRun("run", "job", 1);
  std::string shared = JoinPath(storage_.JobDir("run"), "shared");
  ASSERT_TRUE(fs_->CreateDirs(shared).ok());
  for (const char* f : {"c1_a.sst", "c2_b.sst", "c3_c.sst", "c9_in-progress.sst", "foreign.sst",
                        "c_x.sst", "cx_y.sst", "c5"}) {
    WriteFile(JoinPath(shared, f), "x");
  }
  ASSERT_TRUE(storage_.SweepSharedFiles(storage_.JobDir("run"), {"shared/c2_b.sst"}, 5).ok());
  auto left = fs_->ListDir(shared);
  ASSERT_TRUE(left.ok());
  EXPECT_THAT(*left, ElementsAre("c2_b.sst", "c5", "c9_in-progress.sst", "c_x.sst", "cx_y.sst",
                                 "foreign.sst"));
  EXPECT_TRUE(storage_.SweepSharedFiles(storage_.JobDir("no-such-run"), {}, 5).ok());
}

TEST_F(CheckpointStorageTest, DiscardDeletesTheCheckpointDirectory) {
  CreateRun("run", "job", 1);
  (void)WriteCheckpoint("run", 1);
  ASSERT_TRUE(storage_.Discard(ChkDir("run", 1)).ok());
  EXPECT_FALSE(FileExists(ChkDir("run", 1)));
  EXPECT_TRUE(FileExists(JoinPath(storage_.JobDir("run"), "_job")));
  EXPECT_TRUE(storage_.Discard(ChkDir("run", 1)).ok());
}

TEST_F(CheckpointStorageTest, RelativeCheckpointPathsLoad) {
  // A checkpoint given relative to the working directory, as a user types it.
  CreateRun("run", "job", 1);
  (void)WriteCheckpoint("run", 1);
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(::chdir(storage_.JobDir("run").c_str()), 0);
  auto c = storage_.Load("chk-1");
  ASSERT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->location(fs_).exclusive_dir(), "chk-1");
}

TEST(CheckpointStorageIdsTest, IdsInUseCountSharedFilesOfFailedCheckpoints) {
  testing::TempDir dir;
  CheckpointStorage storage(FileSystem::Default(), dir.Join("checkpoints"), dir.Join("sp"));
  std::string job = storage.JobDir("job");
  ASSERT_TRUE(FileSystem::Default()->CreateDirs(JoinPath(job, "chk-3")).ok());
  ASSERT_TRUE(FileSystem::Default()->CreateDirs(JoinPath(job, "shared")).ok());
  testing::WriteFile(JoinPath(job, "shared/" + SharedStateFileName(9, "op-0-000007.sst")), "x");
  testing::WriteFile(JoinPath(job, "shared/not-ours"), "x");
  auto max_id = storage.MaxCheckpointIdInUse(job);
  ASSERT_TRUE(max_id.ok()) << max_id.status().ToString();
  EXPECT_EQ(*max_id, 9);
}

}  // namespace
}  // namespace weir
