// CommandLine and RunJob: the command-line face every weir job program shares.
//
// A job's main() declares its own flags, parses, builds the job on an environment configured
// from the command line, and hands it to RunJob:
//
//   weir::CommandLine cli("my_job", "What the job does.");
//   int64_t end = 100;
//   cli.AddOption("--end", &end, "Last number");
//   if (auto exit_code = cli.Parse(argc, argv)) return *exit_code;
//   weir::StreamExecutionEnvironment env(cli.configuration());
//   ... build the job ...
//   return weir::RunJob(env, "my job", cli);
//
// Engine flags every program gets: --config FILE (Flink-style YAML), -D key=value (any
// configuration key, repeatable), --restore latest|PATH, --parallelism P, --no-progress, and
// --help listing them all. The job's code wins over all of them (as in Flink); the job logs a
// warning naming each value its code overrode. A bad flag or value prints what is wrong and
// where and makes Parse return exit code 2.
//
// RunJob runs the job, shows a progress line while the program runs in the foreground of a
// terminal (records read, rate, last checkpoint), prints a summary on stdout, and returns the
// exit code: 0 finished, 1 failed, 2 a bad configuration value, 130 cancelled. Signals control
// the running job: SIGINT/SIGTERM cancel it (checkpoints are kept or deleted as
// execution.checkpointing.externalized-checkpoint-retention says; the engine's default
// deletes them, and the summary says which), SIGUSR1 takes a savepoint, SIGUSR2 stops the job
// with a savepoint (Flink's `flink savepoint` and `flink stop`). WEIR_LOG_LEVEL (trace,
// debug, info, warn, error, critical, off) sets the log level.
//
// Thread-safety: use from the main thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "weir/configuration.h"
#include "weir/environment.h"

namespace weir {

class CommandLine {
 public:
  CommandLine(std::string program, std::string description);
  ~CommandLine();

  void AddOption(const std::string& name, int64_t* value, const std::string& help);
  void AddOption(const std::string& name, int* value, const std::string& help);
  void AddOption(const std::string& name, double* value, const std::string& help);
  void AddOption(const std::string& name, std::string* value, const std::string& help);
  void AddFlag(const std::string& name, bool* value, const std::string& help);

  // nullopt: go on; a value: exit with it (0 after --help, 2 after an error, printed).
  std::optional<int> Parse(int argc, char** argv);

  // Configuration from --config, -D, --restore and --parallelism, in that priority order.
  const Configuration& configuration() const;
  bool show_progress() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

int RunJob(StreamExecutionEnvironment& env, const std::string& job_name, const CommandLine& cli);

}  // namespace weir
