// What the in-process job tests with event time, windows and several inputs share: the state
// backends they run on, a configuration with fast checkpoints, watermarks and restarts,
// reading a job's output, and a job stopped with a savepoint and resumed.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "testing/test_util.h"
#include "weir/configuration.h"
#include "weir/environment.h"

namespace weir::testing {

struct Backend {
  const char* name;
  const char* type;
  bool incremental;
};
inline void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }
inline constexpr Backend kBackends[] = {{"hashmap", "hashmap", false},
                                        {"rocksdb", "rocksdb", false},
                                        {"rocksdb_incremental", "rocksdb", true}};

// Checkpoints every 10 ms, three restarts 10 ms apart, watermarks every 5 ms.
inline Configuration ConfigFor(const TempDir& dir, const Backend& b) {
  Configuration c;
  c.Set("state.backend.type", b.type);
  c.Set("execution.checkpointing.incremental", b.incremental ? "true" : "false");
  c.Set("state.backend.rocksdb.localdir", dir.Join("rocksdb"));
  c.Set("execution.checkpointing.interval", "10 ms");
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  c.Set("restart-strategy.type", "fixed-delay");
  c.Set("restart-strategy.fixed-delay.attempts", "3");
  c.Set("restart-strategy.fixed-delay.delay", "10 ms");
  c.Set("pipeline.auto-watermark-interval", "5 ms");
  return c;
}

// Every line of the output file or directory, sorted.
inline std::vector<std::string> OutputLines(const std::string& path) {
  std::vector<std::string> all;
  for (const auto& [name, text] : OutputFiles(path)) {
    for (auto& l : Lines(text)) all.push_back(l);
  }
  std::sort(all.begin(), all.end());
  return all;
}

// Whether a checkpoint completed: a failure injected after one proves a restore. (Waiting
// for one inside a task would block its barrier: the tests slow the input down instead.)
inline bool HasCompletedCheckpoint(const std::string& dir) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() == "_metadata") return true;
  }
  return false;
}

// The id of the latest checkpoint completed under `dir` (its chk-<id> holds _metadata), or 0.
// A test that wants checkpoints all along its input slows the input down while this lags, so
// that a slow build (a sanitizer's) gets them too.
inline int64_t LatestCheckpointId(const std::string& dir) {
  int64_t latest = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() != "_metadata") continue;
    const std::string chk = it->path().parent_path().filename().string();
    if (chk.starts_with("chk-")) latest = std::max<int64_t>(latest, std::stoll(chk.substr(4)));
  }
  return latest;
}

// A job stopped with a savepoint midway and resumed from it, where the resumed run changes
// its first few records: the first run calls Read() per record (slowed, so the savepoint comes
// midway); the resumed run learns from ResumedAt(i) at which record it resumed.
struct StopAndResume {
  std::atomic<int64_t> read{0};
  std::atomic<int64_t> first_resumed{-1};

  void Reset() {
    read = 0;
    first_resumed = -1;
  }
  void Read() {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    read.fetch_add(1);
  }
  // The index of the resumed run's first record (the first caller's `i`).
  int64_t ResumedAt(int64_t i) {
    int64_t first = -1;
    first_resumed.compare_exchange_strong(first, i);
    return first_resumed.load();
  }

  // Runs the job built in `env` until it read `records` (or 60 s passed), stops it with a
  // savepoint under `dir` without draining, and returns the savepoint's path: "" after a test
  // failure that says what went wrong.
  std::string RunAndStopWithSavepoint(StreamExecutionEnvironment& env, const std::string& job,
                                      int64_t records, const std::string& dir) {
    auto client = env.ExecuteAsync(job);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (read.load() < records && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    auto taken = client->StopWithSavepoint(dir, /*drain=*/false);
    JobResult r = client->Wait();
    if (!taken.ok()) {
      ADD_FAILURE() << "the savepoint: " << taken.status().ToString();
      return "";
    }
    if (!r.ok()) {
      ADD_FAILURE() << "the stopped job: " << r.error();
      return "";
    }
    return *taken;
  }
};

}  // namespace weir::testing
