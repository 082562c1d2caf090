// Test helpers: temporary directories, reproducible random seeds, and child processes for
// crash tests. For tests only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace weir::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The seed for a randomised test: $WEIR_TEST_SEED if set, else a random one. It is printed
// (and recorded with the test) so any failure can be replayed with WEIR_TEST_SEED=<seed>.
uint64_t TestSeed();

// Contents of a file; empty if it does not exist.
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& contents);
bool FileExists(const std::string& path);
// Regular files under `dir`, recursively, as paths relative to it, sorted.
std::vector<std::string> ListFilesRecursive(const std::string& dir);
// Checkpoint files under a checkpoint directory: everything but the manifests (`_job`) that
// ended runs leave and the jobs' lock files.
std::vector<std::string> CheckpointFilesLeft(const std::string& checkpoints_dir);

// The lines of a text, without their newlines.
std::vector<std::string> Lines(const std::string& text);
// A sink's output by relative file name: the file itself (under "") or every file of its
// directory; staging data (".pending") is left out.
std::map<std::string, std::string> OutputFiles(const std::string& path);

// Path of a program built into the build's bin/ directory.
std::string BinaryPath(const std::string& name);

struct ProcessResult {
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it
  std::string output;  // stdout and stderr, interleaved
};

// A child process with stdout and stderr captured to a file.
class ChildProcess {
 public:
  // Starts `argv` in `cwd` (empty: the current directory); `env` adds NAME=VALUE entries.
  ChildProcess(const std::vector<std::string>& argv, const std::string& cwd = "",
               const std::vector<std::string>& env = {});
  ~ChildProcess();  // kills the child if still running

  pid_t pid() const { return pid_; }
  // Sends SIGKILL and reaps the child.
  ProcessResult Kill();
  // Waits up to `timeout_ms` for it to exit; kills it and fails the test if it does not.
  ProcessResult Wait(int timeout_ms);
  bool Running();
  std::string Output() const { return ReadFile(log_path_); }

 private:
  ProcessResult Reap(int status);

  pid_t pid_ = -1;
  std::string log_path_;
  bool reaped_ = false;
  ProcessResult result_;
};

// Runs a program to completion (or kills it after `timeout_ms`).
ProcessResult RunProcess(const std::vector<std::string>& argv, int timeout_ms,
                         const std::string& cwd = "");

}  // namespace weir::testing
