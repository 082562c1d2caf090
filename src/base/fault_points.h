// Fault points: named places in the engine where a test can inject an error or a crash.
//
// Every point the engine has is declared once, in fault_points:: below, and engine code names
// points only through those declarations; tests arm them through the same declarations. So a
// renamed point cannot silently stop being armed: a crash test that arms a point checks that
// the process died at exactly that point (see WEIR_CRASH_AT).
//
// A fault point costs one relaxed atomic load when nothing is armed, and sits only on
// checkpoint, commit and recovery paths, never per record. Tests arm points in-process;
// crash tests arm them in a child process through the environment:
//
//   WEIR_CRASH_AT=<point>[:<n>]   at the n-th hit (default 1), write "weir: crash at fault
//                                 point <point> (hit <n>)" to stderr and SIGKILL the process.
//                                 A name that is not declared below ends the process at
//                                 start-up with exit code 2.
//
// Model: RocksDB SyncPoint, Redpanda finjector. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <string>
#include <string_view>

#include "weir/status.h"

namespace weir {

struct FaultPoint {
  std::string_view name;
};

namespace fault_points {

// Checkpoint storage: around the _metadata that makes a checkpoint exist, and the deletion of
// an ended run's checkpoints.
inline constexpr FaultPoint kCheckpointBeforeMetadata{"checkpoint.before-metadata"};
inline constexpr FaultPoint kCheckpointAfterMetadata{"checkpoint.after-metadata"};
inline constexpr FaultPoint kCheckpointRetireJob{"checkpoint.retire-job"};
// The text file sink's commits, and the fsync that makes them durable.
inline constexpr FaultPoint kSinkBeforeCommit{"sink.before-commit"};
inline constexpr FaultPoint kSinkMidCommit{"sink.mid-commit"};
inline constexpr FaultPoint kSinkAfterCommit{"sink.after-commit"};
inline constexpr FaultPoint kSinkAfterSync{"sink.after-sync"};
// The RocksDB backend: uploading an incremental checkpoint's files, creating RocksDB files.
inline constexpr FaultPoint kRocksDbBeforeUpload{"rocksdb.before-upload"};
inline constexpr FaultPoint kRocksDbCreateSst{"rocksdb.create-sst"};
inline constexpr FaultPoint kRocksDbCreateFile{"rocksdb.create-file"};
// The exactly-once Kafka sink: sealing a transaction at a barrier (before and after), its
// records acknowledged before the checkpoint completes (before the broker is asked whether
// the transaction is still open), its commit once the checkpoint completed (before anything
// reaches the broker), the commits and aborts a restore makes (before the EndTxn that
// finishes a prepared transaction, after it, and before a transaction a crashed run left
// open is aborted).
inline constexpr FaultPoint kKafkaSinkBeforePrepare{"kafka-sink.before-prepare"};
inline constexpr FaultPoint kKafkaSinkAfterPrepare{"kafka-sink.after-prepare"};
inline constexpr FaultPoint kKafkaSinkAfterPersistFlush{"kafka-sink.after-persist-flush"};
inline constexpr FaultPoint kKafkaSinkBeforeCommit{"kafka-sink.before-commit"};
inline constexpr FaultPoint kKafkaSinkRecoveryCommit{"kafka-sink.recovery-commit"};
inline constexpr FaultPoint kKafkaSinkAfterRecoveryCommit{"kafka-sink.after-recovery-commit"};
inline constexpr FaultPoint kKafkaSinkBeforeAbort{"kafka-sink.before-abort"};

inline constexpr std::array kAll = {
    kCheckpointBeforeMetadata, kCheckpointAfterMetadata, kCheckpointRetireJob,
    kSinkBeforeCommit,         kSinkMidCommit,           kSinkAfterCommit,
    kSinkAfterSync,            kRocksDbBeforeUpload,     kRocksDbCreateSst,
    kRocksDbCreateFile,        kKafkaSinkBeforePrepare,  kKafkaSinkAfterPrepare,
    kKafkaSinkBeforeCommit,    kKafkaSinkRecoveryCommit, kKafkaSinkAfterRecoveryCommit,
    kKafkaSinkBeforeAbort,     kKafkaSinkAfterPersistFlush,
};

}  // namespace fault_points

class FaultPoints {
 public:
  // At the `skip`+1-th hit of the point, and every hit after, `action` runs; an error it
  // returns is what the fault point returns. count < 0: stays armed. Unit tests may arm
  // points of their own that are not in fault_points::kAll.
  static void Arm(std::string_view name, std::function<Status()> action, int skip = 0,
                  int count = -1);
  static void Arm(FaultPoint point, std::function<Status()> action, int skip = 0,
                  int count = -1) {
    Arm(point.name, std::move(action), skip, count);
  }
  static void Disarm(std::string_view name);
  static void DisarmAll();
  static int HitCount(std::string_view name);
  static int HitCount(FaultPoint point) { return HitCount(point.name); }

  static bool any_armed() { return armed_.load(std::memory_order_relaxed); }
  static Status Hit(FaultPoint point);

  // The declared point of that name, or nullptr.
  static const FaultPoint* Find(std::string_view name);
  // The line the crash action writes before it kills the process.
  static std::string CrashMessage(std::string_view name, int hit);

 private:
  static std::atomic<bool> armed_;
};

}  // namespace weir

// Runs the armed action for `point` (a FaultPoint), if any; returns its error from the
// enclosing function.
#define WEIR_FAULT_POINT(point)                                    \
  do {                                                             \
    if (::weir::FaultPoints::any_armed()) {                        \
      ::weir::Status weir_fault_ = ::weir::FaultPoints::Hit(point); \
      if (!weir_fault_.ok()) return weir_fault_;                   \
    }                                                              \
  } while (0)

// For places that cannot return a Status: only crash actions make sense there.
#define WEIR_FAULT_POINT_VOID(point)                                             \
  do {                                                                           \
    if (::weir::FaultPoints::any_armed()) (void)::weir::FaultPoints::Hit(point); \
  } while (0)
