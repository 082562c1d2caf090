// The jobs running on this machine, for `weir list` and the other verbs of the weir tool.
//
// While its REST API serves, a job registers itself: a file <registry dir>/<job id>-<pid>.json
// with its pid, the process's start time (so a reused pid is not taken for it), the job's id
// and name, the REST API's URL, its start time and working directory. The file is written
// atomically and removed when the API stops; a job killed with -9 leaves it behind, and
// readers skip such entries of dead processes and delete them.
//
// The registry directory is $WEIR_RUNTIME_DIR if set, else $XDG_RUNTIME_DIR/weir, else
// /tmp/weir-<uid>. It is created private (0700); one that belongs to another user or that
// others may write to is refused, so no other user can plant or read entries.
//
// Thread-safety: the functions are thread-safe; a JobRegistration is used by one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "weir/status.h"

namespace weir {

struct RegisteredJob {
  pid_t pid = 0;
  uint64_t process_start = 0;  // /proc/<pid>/stat start time, in clock ticks after boot
  std::string job_id;
  std::string job_name;
  std::string rest_url;  // "http://127.0.0.1:8081"
  int64_t start_wall_ms = 0;
  std::string working_dir;
  std::string file;  // the registry entry
};

// The registry directory (see above), created if missing; an error if it is not private.
Result<std::string> JobRegistryDir();

// Registered jobs whose processes still run, oldest first. Entries of processes that are
// gone (or whose pid now belongs to another process) are skipped and deleted; unreadable
// ones are skipped.
Result<std::vector<RegisteredJob>> ListRegisteredJobs();

// Whether process `pid` runs and started at `process_start` (0: not checked).
bool ProcessAlive(pid_t pid, uint64_t process_start);
// The start time of process `pid` (/proc/<pid>/stat field 22); 0 if unknown.
uint64_t ProcessStartTime(pid_t pid);

class JobRegistration {
 public:
  // Writes this process's entry for `job`.
  static Result<std::unique_ptr<JobRegistration>> Create(const RegisteredJob& job);
  ~JobRegistration();  // removes the entry

  const std::string& file() const { return file_; }

 private:
  explicit JobRegistration(std::string file) : file_(std::move(file)) {}
  std::string file_;
};

}  // namespace weir
