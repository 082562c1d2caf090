// Test helpers for keyed state backends: a backend with the RuntimeContext a function sees,
// and snapshots written to and restored from a temporary directory. For tests only.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "base/hash.h"
#include "state/keyed_state_backend.h"
#include "testing/test_util.h"
#include "weir/functions.h"

namespace weir {

// The runtime's view of one operator subtask, reduced to what state access needs.
class StateTestContext final : public detail::OperatorContext {
 public:
  StateTestContext(KeyedStateBackend* backend, const Configuration* config, Clock* clock)
      : backend_(backend), config_(config), clock_(clock) {}

  const std::string& operator_name() const override { return name_; }
  int subtask_index() const override { return backend_->options().subtask; }
  int parallelism() const override { return 1; }
  int max_parallelism() const override { return backend_->options().max_parallelism; }
  int attempt_number() const override { return 0; }
  bool is_restored() const override { return false; }
  detail::KeyedStateAccess* keyed_state() override { return backend_; }
  detail::TimerServiceAccess* timer_service() override { return &backend_->timers(); }
  int64_t CurrentProcessingTime() const override { return clock_->WallMillis(); }
  bool checkpointing_enabled() const override { return true; }
  size_t batch_size() const override { return 1024; }
  const Configuration& configuration() const override { return *config_; }
  FileSystem& file_system() override { return *FileSystem::Default(); }

 private:
  std::string name_ = "test-op";
  KeyedStateBackend* backend_;
  const Configuration* config_;
  Clock* clock_;
};

template <typename K>
void SetKey(KeyedStateBackend& b, const K& key) {
  b.SetCurrentKey(EncodeToString(key));
}

template <typename K>
int KeyGroupOf(const K& key, int max_parallelism = 128) {
  return detail::KeyGroupForHash(Hash64(EncodeToString(key)), max_parallelism);
}

// A backend with the context and RuntimeContext a function would see.
struct Subtask {
  std::unique_ptr<KeyedStateBackend> backend;
  std::unique_ptr<StateTestContext> ctx;
  std::unique_ptr<RuntimeContext> runtime;
};

// A snapshot written to disk, with the location needed to read it back.
struct Written {
  int64_t checkpoint_id = 0;
  KeyedStateHandle handle;
  std::unique_ptr<SnapshotLocation> location;
};

// Creates backends of the type `config_` selects, and writes their snapshots under `dir_`
// laid out like a job directory (chk-<n>/, shared/).
class BackendTestBase {
 protected:
  KeyedBackendOptions Options(KeyGroupRange range, int subtask = 0, int max_parallelism = 128) {
    KeyedBackendOptions o;
    o.job_id = "job";
    o.operator_uid = "running-sum";
    o.operator_name = "Running Sum";
    o.subtask = subtask;
    o.max_parallelism = max_parallelism;
    o.key_groups = range;
    o.clock = &clock_;
    o.fs = FileSystem::Default();
    o.config = &config_;
    return o;
  }

  Subtask NewSubtask(KeyGroupRange range = {0, 127}, int subtask = 0, int max_parallelism = 128) {
    Subtask s;
    auto b = CreateKeyedStateBackend(Options(range, subtask, max_parallelism));
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    if (!b.ok()) throw std::runtime_error(b.status().ToString());
    s.backend = std::move(*b);
    s.ctx = std::make_unique<StateTestContext>(s.backend.get(), &config_, &clock_);
    s.runtime = std::make_unique<RuntimeContext>(s.ctx.get());
    return s;
  }

  // Takes and writes a snapshot; with `complete`, tells the backend the checkpoint completed
  // (an incremental backend may then reuse its files).
  const Written& Snapshot(KeyedStateBackend& b, bool complete = true, bool savepoint = false) {
    int64_t id = next_checkpoint_++;
    std::string chk = "chk-" + std::to_string(id);
    EXPECT_TRUE(FileSystem::Default()->CreateDirs(dir_.Join(chk)).ok());
    auto snapshot = b.Snapshot(id, savepoint);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    Written w;
    w.checkpoint_id = id;
    w.location = std::make_unique<SnapshotLocation>(FileSystem::Default(), dir_.path(), chk);
    if (snapshot.ok()) {
      auto handle = (*snapshot)->Write(*w.location);
      EXPECT_TRUE(handle.ok()) << handle.status().ToString();
      if (handle.ok()) {
        w.handle = *handle;
        if (complete) b.NotifyCheckpointComplete(id);
      }
    }
    written_.push_back(std::move(w));
    return written_.back();
  }

  static Status Restore(KeyedStateBackend& b, const std::vector<const Written*>& from) {
    std::vector<KeyedRestoreSource> sources;
    for (const Written* w : from) sources.push_back({&w->handle, w->location.get()});
    return b.Restore(sources);
  }

  // Snapshot `from`, restore into a fresh subtask over the same key groups.
  Subtask SnapshotAndRestore(Subtask& from) {
    const Written& w = Snapshot(*from.backend);
    Subtask to = NewSubtask(from.backend->key_groups(), from.backend->options().subtask,
                            from.backend->options().max_parallelism);
    Status s = Restore(*to.backend, {&w});
    EXPECT_TRUE(s.ok()) << s.ToString();
    return to;
  }

  testing::TempDir dir_;
  ManualClock clock_{1'000'000};
  Configuration config_;
  int64_t next_checkpoint_ = 1;
  std::deque<Written> written_;
};

}  // namespace weir
