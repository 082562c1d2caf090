// `weir chaos`: proves a job exactly-once by killing it.
//
//   weir chaos --kills N [--seed S] --output PATH -- PROGRAM ARGS...
//
// Runs the job once undisturbed in a fresh working directory (the reference), then again in
// another, killing it with SIGKILL N times at random moments, each after the run completed a
// checkpoint of its own (read from its REST API; by time alone if it serves none), and
// restarting it with --restore latest. After every kill the output at PATH (a file, or a
// directory of files; relative to the working directory) must be a prefix of the
// reference's, and at the end identical to it. It prints its seed, so a failure replays with
// --seed, keeps the working directories of a failed run, and exits 0 only if every check
// passed (1 on a difference or a run that failed, 2 on bad usage).
//
// PROGRAM runs in a working directory of chaos's own: give absolute paths in ARGS.
// Thread-safety: single-threaded.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace weir::tool {

struct ChaosOptions {
  int kills = 3;
  std::optional<uint64_t> seed;
  std::string output;                // relative to the job's working directory
  std::vector<std::string> command;  // the program and its arguments
  int timeout_seconds = 600;         // for each run
  bool keep = false;                 // keep the working directories even if all is well
};

int Chaos(const ChaosOptions& options, std::ostream& out, std::ostream& err);

}  // namespace weir::tool
