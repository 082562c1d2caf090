// What only the RocksDB backend does: its configuration, its working directory (created,
// deleted on close, and deleted when a killed process left it behind), clear errors when
// RocksDB cannot open or write, incremental snapshots (which SST files are uploaded and which
// reused), snapshots that outlive the task, and savepoint-style portability to and from the
// heap backend. The behaviour every backend shares is tested in
// state_backend_conformance_test.cc.
#include "state/rocksdb_keyed_state_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/sst_file_writer.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <set>

#include "base/fault_points.h"
#include "state/cached_write_list.h"
#include "state/heap_keyed_state_backend.h"
#include "state/key_order.h"
#include "state/state_backend_test_util.h"

namespace weir {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class RocksDbBackendTest : public BackendTestBase, public ::testing::Test {
 protected:
  RocksDbBackendTest() {
    config_.Set("state.backend.type", "rocksdb");
    config_.Set("state.backend.rocksdb.localdir", LocalDir());
  }
  ~RocksDbBackendTest() override { FaultPoints::DisarmAll(); }

  std::string LocalDir() const { return dir_.Join("rocksdb"); }
  static RocksDbKeyedStateBackend& Rocks(Subtask& s) {
    return static_cast<RocksDbKeyedStateBackend&>(*s.backend);
  }
  void UseIncremental() { config_.Set("execution.checkpointing.incremental", "true"); }
  // Incremental, with every value in RocksDB's files: without the write cache, whose changed
  // values a snapshot holds in files of their own.
  void UseIncrementalWithoutCache() {
    UseIncremental();
    config_.Set("state.backend.rocksdb.write-cache.size", "0");
  }
  static std::string Host() {
    char buf[256] = {};
    EXPECT_EQ(gethostname(buf, sizeof buf - 1), 0);
    return SanitizeForFileName(buf);
  }

  // Writes `n` keys (from `first`) of value state "v".
  static void Fill(Subtask& t, int first, int n) {
    auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
    for (int k = first; k < first + n; ++k) {
      SetKey(*t.backend, k);
      v.Update(k * 3);
    }
  }
  static void ExpectFilled(Subtask& t, int first, int n) {
    auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
    for (int k = first; k < first + n; ++k) {
      SetKey(*t.backend, k);
      ASSERT_EQ(v.Value(), k * 3) << k;
    }
  }
  void UseWriteCacheOf(size_t entries) {
    config_.Set("state.backend.rocksdb.write-cache.size",
                std::to_string(StateWriteCache::BytesForEntries(entries)));
  }
  // A new subtask of every key group, restored from `from`.
  Subtask RestoredFrom(const std::vector<const Written*>& from) {
    Subtask r = NewSubtask();
    Status s = Restore(*r.backend, from);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r;
  }
  // The packed changed values a snapshot holds, of every state.
  size_t ChangedValues(const Written& w) const {
    size_t n = 0;
    for (const auto& f : w.handle.native_files) {
      if (!f.local_name.starts_with("weir-changed-writes-cf")) continue;
      auto bytes = FileSystem::Default()->ReadFile(w.location->Absolute(f));
      EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
      auto writes = CachedWriteList::FromPacked(std::move(*bytes), 8);  // after the magic
      EXPECT_TRUE(writes.ok()) << writes.status().ToString();
      n += writes->size();
    }
    return n;
  }
  static std::set<std::string> SstPaths(const Written& w) {
    std::set<std::string> out;
    for (const auto& f : w.handle.native_files) {
      if (f.local_name.ends_with(".sst")) out.insert(f.path);
    }
    return out;
  }
};

// ---- Configuration --------------------------------------------------------------------------

TEST(RocksDbTuningTest, DefaultsBoundMemory) {
  Configuration config;
  auto t = RocksDbTuning::FromConfiguration(config);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->block_cache_bytes, 16u << 20);
  EXPECT_EQ(t->write_buffer_bytes, 8u << 20);
  EXPECT_EQ(t->write_buffer_count, 2);
  EXPECT_EQ(t->write_cache_bytes, 96u << 20);
  // Block cache, memtables and write cache stay within the managed memory Flink gives RocksDB
  // by default, and a million keys with short values fit in the write cache.
  EXPECT_LE(t->block_cache_bytes + t->write_buffer_bytes * t->write_buffer_count +
                t->write_cache_bytes,
            128u << 20);
  EXPECT_GT(StateWriteCache(t->write_cache_bytes).capacity(), 1'000'000u);
  EXPECT_FALSE(t->incremental);
  EXPECT_EQ(t->local_dir, RocksDbTuning::DefaultLocalDir());
  EXPECT_THAT(t->local_dir, ::testing::EndsWith("/weir-rocksdb"));
}

TEST(RocksDbTuningTest, ParsesEverySetting) {
  Configuration config;
  config.Set("state.backend.rocksdb.localdir", "file:///var/tmp/x");
  config.Set("state.backend.rocksdb.block.cache-size", "16 mb");
  config.Set("state.backend.rocksdb.writebuffer.size", "1 mb");
  config.Set("state.backend.rocksdb.writebuffer.count", "3");
  config.Set("state.backend.rocksdb.write-cache.size", "1 mb");
  config.Set("state.backend.incremental", "true");  // Flink's older name
  auto t = RocksDbTuning::FromConfiguration(config);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->local_dir, "/var/tmp/x");
  EXPECT_EQ(t->block_cache_bytes, 16u << 20);
  EXPECT_EQ(t->write_buffer_bytes, 1u << 20);
  EXPECT_EQ(t->write_buffer_count, 3);
  EXPECT_EQ(t->write_cache_bytes, 1u << 20);
  EXPECT_TRUE(t->incremental);
}

TEST(RocksDbTuningTest, BadValuesAreClearErrors) {
  struct Case {
    const char* key;
    const char* value;
    const char* why;
  };
  for (const Case& c : {
           Case{"state.backend.rocksdb.block.cache-size", "lots", ""},
           Case{"state.backend.rocksdb.block.cache-size", "0", "greater than 0"},
           Case{"state.backend.rocksdb.writebuffer.size", "1 kb", "at least 64 kb"},
           Case{"state.backend.rocksdb.writebuffer.count", "1", "between 2 and 64"},
           Case{"state.backend.rocksdb.writebuffer.count", "two", "not an integer"},
           Case{"state.backend.rocksdb.write-cache.size", "lots", ""},
           Case{"state.backend.rocksdb.localdir", "", "directory path"},
           Case{"state.backend.rocksdb.localdir", "s3://bucket/x", "s3"},
           Case{"execution.checkpointing.incremental", "maybe", ""},
       }) {
    Configuration config;
    config.Set(c.key, c.value, "-D");
    auto t = RocksDbTuning::FromConfiguration(config);
    ASSERT_FALSE(t.ok()) << c.key << " = " << c.value;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << t.status().ToString();
    EXPECT_THAT(t.status().message(), AllOf(HasSubstr(c.key), HasSubstr(c.why)));
  }
}

// ---- Working directory ----------------------------------------------------------------------

TEST_F(RocksDbBackendTest, WorkingDirectoryIsNamedAfterTheSubtaskAndDeletedOnClose) {
  Subtask t = NewSubtask({0, 127}, 2);
  std::string wd = Rocks(t).working_dir();
  EXPECT_THAT(wd, StartsWith(LocalDir() + "/job-job-running-sum-2-" + Host() + "-" +
                             std::to_string(getpid()) + "-"));
  EXPECT_TRUE(testing::FileExists(wd));
  Fill(t, 0, 100);
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  t.backend->Close();
  EXPECT_FALSE(testing::FileExists(wd));
  t.backend->Close();  // idempotent
  // A use after Close is a clear error, not a crash.
  try {
    (void)v.Value();
    FAIL() << "expected StateError";
  } catch (const detail::StateError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("Running Sum"), HasSubstr("closed")));
  }
  EXPECT_THROW(SetKey(*t.backend, 5), detail::StateError);
  EXPECT_FALSE(t.backend->Snapshot(99, false).ok());
}

TEST_F(RocksDbBackendTest, DirectoriesOfProcessesThatAreGoneAreDeletedOnCreation) {
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);  // now gone: its pid names a dead process
  std::string dead = LocalDir() + "/job-j-op-0-" + Host() + "-" + std::to_string(child) + "-ab01";
  std::string alive =
      LocalDir() + "/job-j-op-0-" + Host() + "-" + std::to_string(getppid()) + "-ab02";
  // The same pid on another host (a shared directory): not this host's to judge.
  std::string elsewhere = LocalDir() + "/job-j-op-0-otherhost-" + std::to_string(child) + "-ab03";
  std::string other = LocalDir() + "/not-weir";
  for (const auto& d : {dead, alive, elsewhere, other}) {
    ASSERT_TRUE(FileSystem::Default()->CreateDirs(JoinPath(d, "db")).ok());
  }
  testing::WriteFile(JoinPath(dead, "db/000001.sst"), "x");
  Subtask t = NewSubtask();
  EXPECT_FALSE(testing::FileExists(dead));
  EXPECT_TRUE(testing::FileExists(alive));
  EXPECT_TRUE(testing::FileExists(elsewhere));
  EXPECT_TRUE(testing::FileExists(other));
}

TEST_F(RocksDbBackendTest, ALocalDirThatCannotBeCreatedIsAClearError) {
  testing::WriteFile(dir_.Join("a-file"), "x");
  config_.Set("state.backend.rocksdb.localdir", dir_.Join("a-file/rocksdb"));
  auto b = CreateKeyedStateBackend(Options({0, 127}));
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(),
              AllOf(HasSubstr("operator 'Running Sum' subtask 0"), HasSubstr("a-file/rocksdb"),
                    HasSubstr("state.backend.rocksdb.localdir")));
}

TEST_F(RocksDbBackendTest, ADatabaseThatCannotBeOpenedIsAClearError) {
  FaultPoints::Arm(fault_points::kRocksDbCreateFile,
                   [] { return Status::IOError("injected: cannot create file"); });
  auto b = CreateKeyedStateBackend(Options({0, 127}));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kIOError) << b.status().ToString();
  EXPECT_THAT(b.status().message(), AllOf(HasSubstr("opening RocksDB in '" + LocalDir() + "/job-"),
                                          HasSubstr("injected: cannot create file")));
  FaultPoints::DisarmAll();
  // Nothing is left behind by the failed attempt.
  auto left = FileSystem::Default()->ListDir(LocalDir());
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty()) << (*left)[0];
}

TEST_F(RocksDbBackendTest, AFailedWriteIsAStateErrorNamingOperatorAndRocksDbsReason) {
  UseIncremental();
  config_.Set("state.backend.rocksdb.writebuffer.size", "64 kb");
  // Without the write cache every update writes; with it, the writes of evicted entries fail.
  for (size_t entries : {0, 64}) {
    SCOPED_TRACE("write cache of " + std::to_string(entries) + " entries");
    config_.Set("state.backend.rocksdb.write-cache.size",
                std::to_string(StateWriteCache::BytesForEntries(entries)));
    Subtask t = NewSubtask();
    auto v = t.runtime->GetState(ValueStateDescriptor<std::string>("v"));
    FaultPoints::Arm(fault_points::kRocksDbCreateSst,
                     [] { return Status::IOError("injected: disk gone"); });
    // Memtables fill and their flush fails; RocksDB then refuses writes.
    std::string what;
    std::string big(1000, 'x');
    for (int k = 0; k < 100'000 && what.empty(); ++k) {
      try {
        SetKey(*t.backend, k);
        v.Update(big);
      } catch (const detail::StateError& e) {
        what = e.what();
      }
    }
    ASSERT_FALSE(what.empty()) << "no write failed";
    // The operator boundary adds the operator and subtask (see the recovery test).
    EXPECT_THAT(what, AllOf(HasSubstr("RocksDB write of state 'v' failed: IO error"),
                            HasSubstr(Rocks(t).working_dir()), HasSubstr("disk gone")));
    // An incremental snapshot (which flushes RocksDB's memtables) fails too, with a status:
    // the checkpoint is declined.
    auto snap = t.backend->Snapshot(1, false);
    ASSERT_FALSE(snap.ok());
    EXPECT_THAT(snap.status().message(),
                AllOf(HasSubstr("operator 'Running Sum' subtask 0"),
                      HasSubstr("creating a RocksDB checkpoint in '" + Rocks(t).working_dir())));
    FaultPoints::DisarmAll();
    t.backend->Close();
  }
}

// ---- Key layout -----------------------------------------------------------------------------

TEST(RocksDbKeyLayoutTest, KeysSortByKeyGroupAndParseBack) {
  std::string a, b, c;
  AppendStateKeyPrefix(1, "zzz", &a);
  AppendStateKeyPrefix(256, "a", &b);  // 256 > 1 although its low byte is smaller
  AppendStateKeyPrefix(256, "ab", &c);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(KeyGroupStart(256), b);
  EXPECT_LT(a, KeyGroupStart(256));
  c += "user-key";
  int kg = 0;
  std::string_view key, rest;
  ASSERT_TRUE(ParseStateKey(c, &kg, &key, &rest));
  EXPECT_EQ(kg, 256);
  EXPECT_EQ(key, "ab");
  EXPECT_EQ(rest, "user-key");
  EXPECT_FALSE(ParseStateKey(std::string("\x00\x01\x05"
                                         "ab",
                                         5),
                             &kg, &key, &rest));
  std::string succ;
  PrefixSuccessor(std::string("ab\xff\xff", 4), &succ);
  EXPECT_EQ(succ, "ac");
  PrefixSuccessor("a", &succ);
  EXPECT_EQ(succ, "b");
  // A key's map entries are exactly the keys between its prefix and that prefix's successor.
  std::string p;
  AppendStateKeyPrefix(3, "k", &p);
  std::string longer;
  AppendStateKeyPrefix(3, "k2", &longer);
  PrefixSuccessor(p, &succ);
  EXPECT_FALSE(longer >= p && longer < succ) << "another key is not an entry";
  EXPECT_EQ(CountListElements(std::string("\x01"
                                          "a"
                                          "\x02"
                                          "bc",
                                          5)),
            2);
  EXPECT_EQ(CountListElements(std::string("\x05"
                                          "a",
                                          2)),
            -1);
}

// ---- Incremental snapshots ------------------------------------------------------------------

TEST_F(RocksDbBackendTest, IncrementalSnapshotsUploadNewSstFilesOnceAndReuseTheRest) {
  UseIncrementalWithoutCache();
  Subtask t = NewSubtask();
  Fill(t, 0, 1000);
  const Written& w1 = Snapshot(*t.backend);
  ASSERT_FALSE(w1.handle.native_files.empty());
  EXPECT_EQ(w1.handle.backend_id, Rocks(t).backend_id());
  ASSERT_TRUE(w1.handle.canonical.has_value());
  EXPECT_EQ(w1.handle.canonical->path, "chk-1/running-sum-0-timers.keyed");
  std::set<std::string> private_files;
  for (const auto& f : w1.handle.native_files) {
    EXPECT_TRUE(w1.location->Verify(f).ok()) << f.path;
    if (f.local_name.ends_with(".sst")) {
      EXPECT_EQ(f.path, "shared/c1_running-sum-0-" + f.local_name);
    } else {
      EXPECT_EQ(f.path, "chk-1/running-sum-0-" + f.local_name);
      private_files.insert(f.local_name.substr(0, f.local_name.find('-')));
    }
  }
  EXPECT_TRUE(private_files.contains("CURRENT"));
  EXPECT_TRUE(private_files.contains("MANIFEST"));
  EXPECT_TRUE(private_files.contains("OPTIONS"));
  auto s1 = SstPaths(w1);
  ASSERT_FALSE(s1.empty());

  Fill(t, 1000, 1000);
  const Written& w2 = Snapshot(*t.backend);
  auto s2 = SstPaths(w2);
  size_t reused = 0, uploaded = 0;
  for (const auto& p : s2) {
    if (s1.contains(p)) {
      ++reused;
    } else {
      EXPECT_THAT(p, StartsWith("shared/c2_running-sum-0-"));
      ++uploaded;
    }
  }
  EXPECT_EQ(reused, s1.size()) << "the files of checkpoint 1 are reused, not uploaded again";
  EXPECT_GT(uploaded, 0u);

  // Nothing changed: the next checkpoint uploads no SST file at all.
  const Written& w3 = Snapshot(*t.backend);
  EXPECT_EQ(SstPaths(w3), s2);
  auto shared = FileSystem::Default()->ListDir(dir_.Join("shared"));
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(shared->size(), s2.size()) << "each SST file was uploaded exactly once";
  // The local RocksDB checkpoints (hard links) are gone once written.
  auto local = FileSystem::Default()->ListDir(Rocks(t).working_dir());
  ASSERT_TRUE(local.ok());
  for (const auto& n : *local) EXPECT_THAT(n, StartsWith("db-"));

  Subtask r = SnapshotAndRestore(t);
  ExpectFilled(r, 0, 2000);
}

// An incremental snapshot holds the write cache's values changed since the last one in files
// of its own, beside RocksDB's, and a restore ingests them. Dirty values that did not
// change since went into an earlier snapshot's files: they are written to RocksDB first (as
// an SST file RocksDB ingests, when there are many). A failure to write them declines the
// checkpoint and loses nothing.
TEST_F(RocksDbBackendTest, AnIncrementalSnapshotHoldsTheCachedValuesChangedSinceTheLastOne) {
  UseIncremental();
  Subtask t = NewSubtask();
  auto a = t.runtime->GetState(ValueStateDescriptor<int32_t>("a"));
  auto b = t.runtime->GetState(ValueStateDescriptor<std::string>("b"));
  const int n = 10000;  // more than RocksDbKeyedStateBackend::kIngestAtLeast
  for (int k = 0; k < n; ++k) {
    SetKey(*t.backend, k);
    a.Update(k);
    b.Update("long enough not to be held inline: " + std::to_string(k));
  }
  auto changed_files = [](const Written& w) {
    std::vector<std::string> names;
    for (const auto& f : w.handle.native_files) {
      if (f.local_name.starts_with("weir-changed-writes-cf")) names.push_back(f.local_name);
    }
    return names;
  };
  EXPECT_EQ(changed_files(Snapshot(*t.backend)).size(), 2u) << "both states changed";
  // Changes after the first snapshot: updates of "a", deletes of a third of it; "b" stays.
  for (int k = 0; k < n; ++k) {
    SetKey(*t.backend, k);
    if (k % 3 == 0) {
      a.Clear();
    } else {
      a.Update(-k);
    }
  }
  FaultPoints::Arm(fault_points::kRocksDbCreateSst,
                   [] { return Status::IOError("injected: disk gone"); });
  auto failed = t.backend->Snapshot(100, false);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("writing cached state to RocksDB"));
  FaultPoints::DisarmAll();

  EXPECT_EQ(changed_files(Snapshot(*t.backend)).size(), 1u) << "only \"a\" changed";
  Subtask r = SnapshotAndRestore(t);
  auto ra = r.runtime->GetState(ValueStateDescriptor<int32_t>("a"));
  auto rb = r.runtime->GetState(ValueStateDescriptor<std::string>("b"));
  for (int k = 0; k < n; ++k) {
    SetKey(*r.backend, k);
    if (k % 3 == 0) {
      ASSERT_FALSE(ra.Value().has_value()) << k;
    } else {
      ASSERT_EQ(ra.Value(), -k) << k;
    }
    ASSERT_EQ(rb.Value(), "long enough not to be held inline: " + std::to_string(k)) << k;
  }
  // The files written for RocksDB were linked into it and removed from the working directory.
  auto local = FileSystem::Default()->ListDir(Rocks(t).working_dir());
  ASSERT_TRUE(local.ok());
  for (const auto& name : *local) EXPECT_THAT(name, StartsWith("db-"));
  auto restored = FileSystem::Default()->ListDir(Rocks(r).working_dir());
  ASSERT_TRUE(restored.ok());
  for (const auto& name : *restored) EXPECT_THAT(name, StartsWith("db-"));
}

// A copy of `w` whose files of changed values are replaced: `rewrite` takes one's local name
// and bytes and returns the local name and bytes of its replacement.
Written RewriteChangedValues(
    const Written& w, const std::string& base_dir,
    const std::function<std::pair<std::string, std::string>(const std::string&, std::string)>&
        rewrite) {
  Written out;
  out.checkpoint_id = w.checkpoint_id;
  out.handle = w.handle;
  out.location = std::make_unique<SnapshotLocation>(FileSystem::Default(), base_dir,
                                                    "chk-" + std::to_string(w.checkpoint_id));
  int rewritten = 0;
  for (StateFile& f : out.handle.native_files) {
    if (!f.local_name.starts_with("weir-changed-writes-cf")) continue;
    auto bytes = FileSystem::Default()->ReadFile(out.location->Absolute(f));
    EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
    auto [name, replacement] = rewrite(f.local_name, std::move(*bytes));
    // Unique across calls: a second rewrite of `w` must not overwrite the first's files.
    static int files = 0;
    auto file = out.location->CreateExclusiveFile("rewritten-" + std::to_string(files++));
    ++rewritten;
    EXPECT_TRUE(file.ok() && (*file)->Append(replacement).ok());
    auto done = (*file)->Finish();
    EXPECT_TRUE(done.ok()) << done.status().ToString();
    f = *done;
    f.local_name = name;
  }
  EXPECT_GT(rewritten, 0) << "the snapshot holds no changed values";
  return out;
}

// weir wrote the changed values as SST files ("weir-changed-values-cf<id>") before it wrote
// them packed: a restore of such a checkpoint ingests them as they are.
TEST_F(RocksDbBackendTest, ChangedValuesWrittenAsSstFilesBeforeTheyWerePackedStillRestore) {
  UseIncremental();
  Subtask t = NewSubtask();
  Fill(t, 0, 3000);
  const std::string sst = dir_.Join("old-format.sst");
  Written old = RewriteChangedValues(
      Snapshot(*t.backend), dir_.path(), [&](const std::string& name, std::string bytes) {
        auto writes = CachedWriteList::FromPacked(std::move(bytes), 8);  // after the magic
        EXPECT_TRUE(writes.ok()) << writes.status().ToString();
        writes->SortByKey();
        rocksdb::SstFileWriter writer{rocksdb::EnvOptions(), rocksdb::Options()};
        EXPECT_TRUE(writer.Open(sst).ok());
        for (CachedWriteList::Reader in(&*writes); !in.empty(); in.pop_front()) {
          EXPECT_TRUE(in.front().present);
          EXPECT_TRUE(writer.Put(in.front().key, in.front().value).ok());
        }
        EXPECT_TRUE(writer.Finish().ok());
        auto table = FileSystem::Default()->ReadFile(sst);
        EXPECT_TRUE(table.ok());
        return std::pair{"weir-changed-values-cf" + name.substr(name.find("-cf") + 3), *table};
      });
  Subtask r = NewSubtask();
  Status s = Restore(*r.backend, {&old});
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectFilled(r, 0, 3000);
}

// A file of changed values cut short, not one at all, or with a key that is not one of the
// state's, one in a key group it does not hash to, or one twice, fails the restore and names
// it, even when its checksum matches the handle's; whether the write cache has room for the
// values or RocksDB is to ingest them.
TEST_F(RocksDbBackendTest, ACorruptFileOfChangedValuesFailsTheRestoreAndNamesIt) {
  UseIncremental();
  Subtask t = NewSubtask();
  Fill(t, 0, 100);
  const Written& w = Snapshot(*t.backend);
  // Each file of `w`'s changed values with `change` applied to its bytes.
  auto rewrite = [&](const std::function<std::string(std::string)>& change) {
    return RewriteChangedValues(w, dir_.path(), [&](const std::string& name, std::string b) {
      return std::pair{name, change(std::move(b))};
    });
  };
  // Each file's list replaced by what `change` adds to an empty one, given the list.
  auto relist = [&](const std::function<void(CachedWriteList&, const CachedWriteList&)>& change) {
    return rewrite([&](std::string b) {
      auto writes = CachedWriteList::FromPacked(std::move(b), 8);  // after the magic
      EXPECT_TRUE(writes.ok());
      CachedWriteList list;
      change(list, *writes);
      return "weirCW01" + std::string(list.packed());
    });
  };
  auto copy = [](CachedWriteList& to, const CachedWrite& c) { to.Add(c.key, c.present, c.value); };
  std::vector<std::pair<Written, std::string>> bad;  // and what the error says
  bad.emplace_back(rewrite([](std::string b) {
                     b.pop_back();
                     return b;
                   }),
                   "past the end");
  bad.emplace_back(rewrite([](std::string b) {
                     b[0] = 'W';
                     return b;
                   }),
                   "does not start as");
  bad.emplace_back(relist([](CachedWriteList& list, const CachedWriteList&) {
                     list.Add("x", true, "value");
                   }),
                   "holds a malformed key of state 'v'");
  bad.emplace_back(relist([](CachedWriteList& list, const CachedWriteList& writes) {
                     std::string key;
                     AppendStateKeyPrefix((KeyGroupOf(7) + 1) % 128, EncodeToString(7), &key);
                     list.Add(key, true, writes[0].value);
                   }),
                   "holds a key of state 'v' in key group");
  bad.emplace_back(relist([&](CachedWriteList& list, const CachedWriteList& writes) {
                     for (size_t i = 0; i < writes.size(); ++i) copy(list, writes[i]);
                     copy(list, writes[7]);
                   }),
                   "holds a key twice, of state 'v'");
  for (size_t entries : {size_t{16384}, size_t{0}}) {
    UseWriteCacheOf(entries);
    for (const auto& [written, what] : bad) {
      Subtask r = NewSubtask();
      Status s = Restore(*r.backend, {&written});
      ASSERT_FALSE(s.ok()) << what;
      EXPECT_TRUE(s.IsCorruption()) << s.ToString();
      EXPECT_THAT(s.message(), AllOf(HasSubstr("weir-changed-writes-cf"), HasSubstr(what)))
          << entries;
    }
  }
}

// A restore puts an incremental checkpoint's changed values back into the write cache, still
// changed: the next checkpoint holds them again, and the one after in RocksDB's files.
TEST_F(RocksDbBackendTest, RestoredChangedValuesAreCachedUntilACheckpointWritesThemToRocksDb) {
  UseIncremental();
  Subtask t = NewSubtask();
  Fill(t, 0, 5000);  // more than RocksDbKeyedStateBackend::kIngestAtLeast
  Subtask r = RestoredFrom({&Snapshot(*t.backend)});
  const Written& first = Snapshot(*r.backend);
  EXPECT_EQ(ChangedValues(first), 5000u) << "nothing changed since the restore, but in the cache";
  const Written& second = Snapshot(*r.backend);
  EXPECT_EQ(ChangedValues(second), 0u) << "written to RocksDB by now";
  for (const Written* w : {&first, &second}) {
    Subtask again = RestoredFrom({w});
    ExpectFilled(again, 0, 5000);
  }
  ExpectFilled(r, 0, 5000);
}

// The memory kept for the next checkpoint's copies is a metric: none before a checkpoint, what
// the copies of the changed values took once one is written.
TEST_F(RocksDbBackendTest, TheSnapshotBuffersKeptBetweenCheckpointsAreAGauge) {
  Subtask t = NewSubtask();
  auto held = [&] {
    for (auto& [name, read] : t.backend->NativeMetrics()) {
      if (name == "stateSnapshotBufferBytes") return read();
    }
    ADD_FAILURE() << "no stateSnapshotBufferBytes among the backend's metrics";
    return -1.0;
  };
  Fill(t, 0, 3000);
  EXPECT_EQ(held(), 0.0);
  Snapshot(*t.backend);
  // The copies of 3000 changed values, and what their sort took: integer keys, each packed
  // into 8 bytes, and sorted into as many.
  EXPECT_GE(held(), 3000.0 * (CachedWriteList::BytesOf(4, 4) + 2 * sizeof(uint64_t)));
}

// Changed values the write cache has no room for are written as an SST file RocksDB ingests.
TEST_F(RocksDbBackendTest, ChangedValuesTheCacheHasNoRoomForAreIngestedIntoRocksDb) {
  UseIncremental();
  Subtask t = NewSubtask();
  Fill(t, 0, 3000);
  const Written& w = Snapshot(*t.backend);
  for (size_t entries : {size_t{0}, size_t{2999}}) {
    UseWriteCacheOf(entries);
    Subtask r = RestoredFrom({&w});
    EXPECT_EQ(ChangedValues(Snapshot(*r.backend)), 0u) << entries << ": not in the cache";
    ExpectFilled(r, 0, 3000);
  }
}

// Scaling in, each checkpoint's changed values go into the cache while it has room for all of
// them, and into RocksDB after; the next checkpoint holds every value either way.
TEST_F(RocksDbBackendTest, ScalingInCachesTheChangedValuesThatFitAndIngestsTheRest) {
  UseIncremental();
  const int n = 3000;
  std::vector<const Written*> halves;
  size_t first_half = 0;
  for (int i = 0; i < 2; ++i) {
    Subtask h = NewSubtask(KeyGroupRange::ForSubtask(128, 2, i), i);
    auto v = h.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
    for (int k = 0; k < n; ++k) {
      if (!h.backend->key_groups().Contains(KeyGroupOf(k))) continue;
      SetKey(*h.backend, k);
      v.Update(k * 3);
      if (i == 0) ++first_half;
    }
    halves.push_back(&Snapshot(*h.backend));
  }
  ASSERT_GT(first_half, 0u);
  ASSERT_LT(first_half, size_t{n});
  UseWriteCacheOf(std::max(first_half, n - first_half));
  Subtask whole = RestoredFrom(halves);
  // Before any read, which would evict cached values to make room.
  const Written& next = Snapshot(*whole.backend);
  EXPECT_EQ(ChangedValues(next), first_half) << "the first half cached, the second ingested";
  ExpectFilled(whole, 0, n);
  Subtask again = RestoredFrom({&next});
  ExpectFilled(again, 0, n);
}

// A full snapshot's (or a savepoint's) values of value state go into the write cache while
// it has room, changed, and the rest into RocksDB; the next checkpoint holds every value.
TEST_F(RocksDbBackendTest, AFullSnapshotsValuesGoIntoTheCacheWhileItHasRoom) {
  Subtask t = NewSubtask();
  Fill(t, 0, 3000);
  const Written& full = Snapshot(*t.backend);
  ASSERT_TRUE(full.handle.canonical.has_value());
  UseIncremental();  // whose checkpoints show what is in the cache: its changed values
  for (size_t entries : {size_t{0}, size_t{1000}, size_t{16384}}) {
    UseWriteCacheOf(entries);
    Subtask r = RestoredFrom({&full});
    const Written& next = Snapshot(*r.backend);
    EXPECT_EQ(ChangedValues(next), std::min<size_t>(entries, 3000)) << entries;
    Subtask again = RestoredFrom({&next});
    ExpectFilled(again, 0, 3000);
    ExpectFilled(r, 0, 3000);
  }
}

// A restored value cleared since it was written to RocksDB is an absence in the cache, which
// hides RocksDB's value: a state with nothing else holds nothing.
TEST_F(RocksDbBackendTest, AnUndeclaredStateWhoseValuesWereClearedInTheCacheHoldsNothing) {
  UseIncremental();
  Subtask t = NewSubtask();
  auto gone = t.runtime->GetState(ValueStateDescriptor<int32_t>("gone"));
  auto kept = t.runtime->GetState(ValueStateDescriptor<int32_t>("kept"));
  for (int k = 0; k < 10; ++k) {
    SetKey(*t.backend, k);
    gone.Update(k);
    kept.Update(k);
  }
  Snapshot(*t.backend);
  Snapshot(*t.backend);  // writes the values to RocksDB
  for (int k = 0; k < 10; ++k) {
    SetKey(*t.backend, k);
    gone.Clear();
    if (k > 0) kept.Clear();
  }
  Subtask r = SnapshotAndRestore(t);
  EXPECT_FALSE(r.backend->HoldsUndeclaredState("gone"));
  EXPECT_TRUE(r.backend->HoldsUndeclaredState("kept"));
}

// Past 65,536 cached entries the backend takes the keyed operator's prefetch; prefetching
// keys, cached or not, changes nothing a lookup finds.
TEST_F(RocksDbBackendTest, ThePrefetchOfAFullCacheChangesNothingALookupFinds) {
  Subtask t = NewSubtask();
  const int n = 70000;
  Fill(t, 0, n);
  EXPECT_TRUE(t.backend->wants_key_prefetch());
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  std::vector<uint64_t> hashes;
  for (int k = n - 100; k < n + 100; ++k) {  // half cached, half never seen
    hashes.push_back(detail::KeyHash(EncodeToString<int>(k)));
  }
  for (size_t i = 0; i < hashes.size(); i += 16) {
    t.backend->PrefetchKeys(&hashes[i], std::min<size_t>(16, hashes.size() - i));
  }
  for (int k = n - 100; k < n + 100; ++k) {
    SetKey(*t.backend, k);
    if (k < n) {
      ASSERT_EQ(v.Value(), k * 3) << k;
    } else {
      ASSERT_FALSE(v.Value().has_value()) << k;
    }
  }
}

TEST_F(RocksDbBackendTest, NothingIsReusedWhileAnEarlierCheckpointIsPending) {
  UseIncrementalWithoutCache();
  Subtask t = NewSubtask();
  Fill(t, 0, 500);
  const Written& w1 = Snapshot(*t.backend, /*complete=*/false);
  Fill(t, 500, 500);
  const Written& w2 = Snapshot(*t.backend, /*complete=*/true);
  for (const auto& p : SstPaths(w2)) EXPECT_THAT(p, StartsWith("shared/c2_"));
  (void)w1;
  // 2 completed (and subsumed 1): the next checkpoint reuses 2's files.
  const Written& w3 = Snapshot(*t.backend, /*complete=*/false);
  EXPECT_EQ(SstPaths(w3), SstPaths(w2));
  t.backend->NotifyCheckpointAborted(w3.checkpoint_id);
  const Written& w4 = Snapshot(*t.backend);
  EXPECT_EQ(SstPaths(w4), SstPaths(w2)) << "an aborted checkpoint no longer blocks reuse";
}

TEST_F(RocksDbBackendTest, ARestoredIncrementalCheckpointsFilesAreNotUploadedAgain) {
  UseIncrementalWithoutCache();
  Subtask t = NewSubtask();
  Fill(t, 0, 1000);
  const Written& w1 = Snapshot(*t.backend);
  Subtask r = NewSubtask();
  ASSERT_TRUE(Restore(*r.backend, {&w1}).ok());
  ExpectFilled(r, 0, 1000);
  const Written& w2 = Snapshot(*r.backend);
  EXPECT_EQ(SstPaths(w2), SstPaths(w1));
  Fill(r, 1000, 10);
  const Written& w3 = Snapshot(*r.backend);
  size_t new_files = 0;
  for (const auto& p : SstPaths(w3)) new_files += SstPaths(w1).contains(p) ? 0 : 1;
  EXPECT_EQ(new_files, 1u);
  Subtask r2 = NewSubtask();
  ASSERT_TRUE(Restore(*r2.backend, {&w3}).ok());
  ExpectFilled(r2, 0, 1010);
}

TEST_F(RocksDbBackendTest, SnapshotsBeingWrittenKeepTheDatabaseAfterTheTaskCloses) {
  for (bool incremental : {false, true}) {
    SCOPED_TRACE(incremental ? "incremental" : "full");
    config_.Set("execution.checkpointing.incremental", incremental ? "true" : "false");
    Subtask t = NewSubtask();
    Fill(t, 0, 300);
    std::string wd = Rocks(t).working_dir();
    int64_t id = next_checkpoint_++;
    auto snap = t.backend->Snapshot(id, false);
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    Fill(t, 0, 1);  // after the snapshot: not in it
    t.backend->Close();
    t.backend.reset();
    EXPECT_TRUE(testing::FileExists(wd)) << "the snapshot still needs the database";
    std::string chk = "chk-" + std::to_string(id);
    ASSERT_TRUE(FileSystem::Default()->CreateDirs(dir_.Join(chk)).ok());
    Written w;
    w.location = std::make_unique<SnapshotLocation>(FileSystem::Default(), dir_.path(), chk);
    auto handle = (*snap)->Write(*w.location);
    ASSERT_TRUE(handle.ok()) << handle.status().ToString();
    w.handle = *handle;
    snap->reset();
    EXPECT_FALSE(testing::FileExists(wd)) << "deleted once the last snapshot is done";
    Subtask r = NewSubtask();
    ASSERT_TRUE(Restore(*r.backend, {&w}).ok());
    ExpectFilled(r, 0, 300);
  }
}

// ---- Portability ----------------------------------------------------------------------------

struct AllKinds {
  ValueState<std::string> value;
  ListState<int64_t> list;
  MapState<int32_t, std::string> map;
  ReducingState<int64_t> reducing;

  static AllKinds Declare(RuntimeContext& rc) {
    return AllKinds{rc.GetState(ValueStateDescriptor<std::string>("value")),
                    rc.GetListState(ListStateDescriptor<int64_t>("list")),
                    rc.GetMapState(MapStateDescriptor<int32_t, std::string>("map")),
                    rc.GetReducingState(ReducingStateDescriptor<int64_t>(
                        "reducing", [](const int64_t& a, const int64_t& b) { return a + b; }))};
  }
  void Fill(Subtask& t) {
    TimerService timers(t.ctx->timer_service());
    for (int k = 0; k < 200; ++k) {
      SetKey(*t.backend, k);
      if (k % 2 == 0) value.Update("v" + std::to_string(k));
      for (int i = 0; i < k % 4; ++i) list.Add(k * 10 + i);
      for (int i = 0; i < k % 3; ++i) map.Put(i, std::to_string(k + i));
      if (k % 5 == 0) reducing.Add(k);
      if (k % 7 == 0) timers.RegisterProcessingTimeTimer(100 + k);
    }
  }
  void Expect(Subtask& t) {
    for (int k = 0; k < 200; ++k) {
      SetKey(*t.backend, k);
      EXPECT_EQ(value.Value(),
                k % 2 == 0 ? std::optional<std::string>("v" + std::to_string(k)) : std::nullopt);
      std::vector<int64_t> l;
      for (int i = 0; i < k % 4; ++i) l.push_back(k * 10 + i);
      EXPECT_EQ(list.Get(), l) << k;
      std::map<int32_t, std::string> m;
      for (int i = 0; i < k % 3; ++i) m[i] = std::to_string(k + i);
      std::map<int32_t, std::string> got;
      for (const auto& [uk, v] : map.Entries()) got[uk] = v;
      EXPECT_EQ(got, m) << k;
      EXPECT_EQ(reducing.Get(), k % 5 == 0 ? std::optional<int64_t>(k) : std::nullopt) << k;
    }
    EXPECT_EQ(t.backend->timers().size(), 29u);
  }
};

TEST_F(RocksDbBackendTest, FullSnapshotsAndSavepointsRestoreIntoTheHeapBackendAndBack) {
  for (bool incremental : {false, true}) {
    SCOPED_TRACE(incremental ? "savepoint of an incremental backend" : "full snapshot");
    config_.Set("state.backend.type", "rocksdb");
    config_.Set("execution.checkpointing.incremental", incremental ? "true" : "false");
    Subtask t = NewSubtask();
    AllKinds a = AllKinds::Declare(*t.runtime);
    a.Fill(t);
    const Written& w = Snapshot(*t.backend, true, /*savepoint=*/incremental);
    EXPECT_TRUE(w.handle.native_files.empty()) << "self-contained: canonical format only";
    ASSERT_TRUE(w.handle.canonical.has_value());

    config_.Set("state.backend.type", "hashmap");
    Subtask heap = NewSubtask();
    ASSERT_NE(heap.backend->heap(), nullptr);
    ASSERT_TRUE(Restore(*heap.backend, {&w}).ok());
    AllKinds h = AllKinds::Declare(*heap.runtime);
    h.Expect(heap);
    if (HasFailure()) return;

    // And back: the heap backend's snapshot restores into RocksDB.
    const Written& hw = Snapshot(*heap.backend, true, /*savepoint=*/incremental);
    config_.Set("state.backend.type", "rocksdb");
    Subtask back = NewSubtask();
    ASSERT_NE(back.backend->raw(), nullptr);
    ASSERT_TRUE(Restore(*back.backend, {&hw}).ok());
    AllKinds b = AllKinds::Declare(*back.runtime);
    b.Expect(back);
  }
}

// A RocksDB incremental checkpoint restores only into RocksDB, and the hashmap backend says
// so (or to take a savepoint).
TEST_F(RocksDbBackendTest, ARocksDbIncrementalCheckpointIsRefusedByTheHashmapBackendClearly) {
  UseIncremental();
  config_.Set("state.backend.type", "rocksdb");
  Subtask t = NewSubtask();
  auto v = t.runtime->GetState(ValueStateDescriptor<int32_t>("v"));
  SetKey(*t.backend, 1);
  v.Update(1);
  const Written& w = Snapshot(*t.backend);
  EXPECT_FALSE(w.handle.native_files.empty());
  config_.Set("state.backend.type", "hashmap");
  Subtask other = NewSubtask();
  Status s = Restore(*other.backend, {&w});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("Running Sum"), HasSubstr("state.backend.type: rocksdb")));
}

// The hashmap backend's checkpoints in its own format, full and incremental, restore into
// RocksDB, every kind of state and the timers: into one subtask, split over two, and from two
// into one.
TEST_F(RocksDbBackendTest, AHashmapCheckpointInItsOwnFormatRestoresIntoRocksDb) {
  for (bool incremental : {false, true}) {
    SCOPED_TRACE(incremental ? "incremental" : "full");
    config_.Set("execution.checkpointing.incremental", incremental ? "true" : "false");
    config_.Set("state.backend.type", "hashmap");
    Subtask t = NewSubtask();
    AllKinds a = AllKinds::Declare(*t.runtime);
    a.Fill(t);
    const Written& w = Snapshot(*t.backend);
    ASSERT_EQ(w.handle.backend_id, kHeapIncrementalBackendId);
    // The same state in two hashmap subtasks, each checkpointed.
    std::vector<const Written*> halves;
    for (int i = 0; i < 2; ++i) {
      Subtask half = NewSubtask(KeyGroupRange::ForSubtask(128, 2, i), i);
      ASSERT_TRUE(Restore(*half.backend, {&w}).ok());
      (void)AllKinds::Declare(*half.runtime);
      halves.push_back(&Snapshot(*half.backend));
    }

    config_.Set("state.backend.type", "rocksdb");
    for (const std::vector<const Written*>& from : {std::vector<const Written*>{&w}, halves}) {
      Subtask whole = NewSubtask();
      ASSERT_NE(whole.backend->raw(), nullptr);
      Status restored = Restore(*whole.backend, from);
      ASSERT_TRUE(restored.ok()) << restored.ToString();
      AllKinds b = AllKinds::Declare(*whole.runtime);
      b.Expect(whole);
    }
    size_t timers = 0;
    for (int i = 0; i < 2; ++i) {
      Subtask half = NewSubtask(KeyGroupRange::ForSubtask(128, 2, i), i);
      ASSERT_TRUE(Restore(*half.backend, {&w}).ok());
      AllKinds h = AllKinds::Declare(*half.runtime);
      for (int k = 0; k < 200; ++k) {
        if (!half.backend->key_groups().Contains(KeyGroupOf(k))) continue;
        SetKey(*half.backend, k);
        EXPECT_EQ(h.value.Value(),
                  k % 2 == 0 ? std::optional<std::string>("v" + std::to_string(k)) : std::nullopt);
        EXPECT_EQ(h.list.Get().size(), static_cast<size_t>(k % 4)) << k;
      }
      timers += half.backend->timers().size();
    }
    EXPECT_EQ(timers, 29u);
  }
}

}  // namespace
}  // namespace weir
