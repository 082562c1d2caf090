// RunJob: runs a job from a command-line program, with progress, signals and a summary.
#include <signal.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "base/logging.h"
#include "weir/cli.h"

namespace weir {
namespace {

// Log lines and the progress line share the terminal: each log line first clears the
// progress line, which is redrawn after it.
class ProgressConsole {
 public:
  void Log(std::string_view line) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!progress_.empty()) std::fputs("\r\033[K", stderr);
    std::fwrite(line.data(), 1, line.size(), stderr);
    if (!progress_.empty()) std::fputs(progress_.c_str(), stderr);
    std::fflush(stderr);
  }
  void SetProgress(std::string text) {
    std::lock_guard<std::mutex> lock(mu_);
    progress_ = std::move(text);
    std::fprintf(stderr, "\r\033[K%s", progress_.c_str());
    std::fflush(stderr);
  }
  void ClearProgress() {
    std::lock_guard<std::mutex> lock(mu_);
    if (progress_.empty()) return;
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    progress_.clear();
  }

 private:
  std::mutex mu_;
  std::string progress_;
};

class ConsoleSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ConsoleSink(ProgressConsole* console) : console_(console) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    console_->Log(std::string_view(buf.data(), buf.size()));
  }
  void flush_() override {}

 private:
  ProgressConsole* console_;
};

std::string Thousands(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

// Records the job's sources have read: its input, whatever the operators after them do.
uint64_t SourceRecords(const JobMetrics& m) {
  uint64_t n = 0;
  for (const auto& op : m.operators) {
    if (op.source) n += op.records;
  }
  return n;
}

// Whether this process may draw on the terminal now: it is attached to one and in its
// foreground (a job started with & in a shell must not scribble over the prompt).
bool InForeground() {
  pid_t group = ::tcgetpgrp(STDERR_FILENO);
  return group != -1 && group == ::getpgrp();
}

std::string ProgressLine(const JobMetrics& m, double rate, double seconds) {
  char buf[256];
  std::string line = std::string(JobStatusName(m.status)) + "  " + Thousands(SourceRecords(m)) +
                     " records read";
  std::snprintf(buf, sizeof buf, "  %s/s  %.0fs", Thousands(static_cast<uint64_t>(rate)).c_str(),
                seconds);
  line += buf;
  if (m.checkpoints.last_completed_id > 0) {
    std::snprintf(buf, sizeof buf, "  checkpoint %lld (%lld ms, %s)",
                  static_cast<long long>(m.checkpoints.last_completed_id),
                  static_cast<long long>(m.checkpoints.last_duration_ms),
                  FormatBytes(m.checkpoints.last_size_bytes).c_str());
    line += buf;
  }
  if (m.restarts > 0) line += "  restarts " + std::to_string(m.restarts);
  return line;
}

void PrintSummary(const JobResult& r) {
  const JobMetrics& m = r.metrics;
  std::printf("\nJob '%s' %s in %.3f s (job id %s)\n", r.job_name.c_str(),
              std::string(JobStatusName(m.status)).c_str(),
              static_cast<double>(r.duration.count()) / 1000.0, r.job_id.c_str());
  for (const auto& op : m.operators) {
    std::printf("  %-28s parallelism %-3d records %s\n", op.name.c_str(), op.parallelism,
                Thousands(op.records).c_str());
  }
  const CheckpointMetrics& c = m.checkpoints;
  if (c.restored_from_id > 0) {
    std::printf("  restored from %s %lld (%s)\n",
                c.restored_from_savepoint ? "savepoint" : "checkpoint",
                static_cast<long long>(c.restored_from_id), c.restored_from_path.c_str());
  }
  if (c.completed > 0 || c.failed > 0) {
    std::printf("  checkpoints: %lld completed, %lld failed; last: %lld (%lld ms, %s)\n",
                static_cast<long long>(c.completed), static_cast<long long>(c.failed),
                static_cast<long long>(c.last_completed_id),
                static_cast<long long>(c.last_duration_ms), FormatBytes(c.last_size_bytes).c_str());
  }
  if (m.restarts > 0) std::printf("  restarts: %d\n", m.restarts);
  if (!r.savepoint_path.empty()) {
    std::printf("  stopped with savepoint %s (resume with --restore %s)\n",
                r.savepoint_path.c_str(), r.savepoint_path.c_str());
  }
  if (!c.kept_checkpoint.empty()) {
    std::printf("  checkpoint kept: %s (resume with --restore latest)\n",
                c.kept_checkpoint.c_str());
  } else if (c.checkpoints_deleted && m.status != JobStatus::kFinished) {
    std::printf("  checkpoints deleted, as execution.checkpointing.externalized-checkpoint-"
                "retention says (RETAIN_ON_CANCELLATION keeps them)\n");
  }
  if (!r.ok()) std::printf("  error: %s\n", r.error().c_str());
  std::fflush(stdout);
}

}  // namespace

int RunJob(StreamExecutionEnvironment& env, const std::string& job_name, const CommandLine& cli) {
  // Signals go to one thread that turns them into a cancel; every other thread blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ProgressConsole console;
  bool progress = cli.show_progress();
  if (progress) {
    auto sink = std::make_shared<ConsoleSink>(&console);
    auto logger = std::make_shared<spdlog::logger>("weir", sink);
    logger->set_level(spdlog::get_level());
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }

  std::unique_ptr<JobClient> client = env.ExecuteAsync(job_name);
  std::atomic<bool> done{false};
  std::atomic<int> signal_received{0};
  std::thread signal_thread([&] {
    timespec tick{0, 20'000'000};
    while (!done.load()) {
      int sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig == SIGUSR1 || sig == SIGUSR2) {
        // The embedded job's control channel, until there is a REST API: USR1 takes a
        // savepoint (flink savepoint), USR2 stops the job with one (flink stop).
        bool stop = sig == SIGUSR2;
        spdlog::info("Received {}, {}", stop ? "SIGUSR2" : "SIGUSR1",
                     stop ? "stopping the job with a savepoint" : "taking a savepoint");
        auto path = stop ? client->StopWithSavepoint() : client->TriggerSavepoint();
        if (path.ok()) {
          spdlog::info("Savepoint stored at {} (resume with --restore {})", *path, *path);
        } else {
          spdlog::error("Savepoint failed: {}", path.status().ToString());
        }
      } else if (sig > 0 && signal_received.exchange(sig) == 0) {
        spdlog::warn("Received {}, cancelling the job", sig == SIGINT ? "SIGINT" : "SIGTERM");
        client->Cancel();
      }
    }
  });
  std::thread progress_thread;
  if (progress) {
    progress_thread = std::thread([&] {
      auto start = std::chrono::steady_clock::now();
      auto last_time = start;
      uint64_t last_records = 0;
      double rate = 0;
      while (!done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        if (done.load()) break;
        JobMetrics m = client->metrics();
        auto now = std::chrono::steady_clock::now();
        double dt = std::chrono::duration<double>(now - last_time).count();
        uint64_t records = SourceRecords(m);
        if (dt > 0 && records >= last_records) {
          rate = 0.5 * rate + 0.5 * static_cast<double>(records - last_records) / dt;
        }
        last_records = records;
        last_time = now;
        if (InForeground()) {
          console.SetProgress(
              ProgressLine(m, rate, std::chrono::duration<double>(now - start).count()));
        } else {
          console.ClearProgress();
        }
      }
    });
  }

  JobResult result = client->Wait();
  done.store(true);
  if (progress_thread.joinable()) progress_thread.join();
  signal_thread.join();
  console.ClearProgress();
  if (progress) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "weir-stderr", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
  }
  if (result.job_id.empty()) {
    // The job never started: the error is all there is to say. A bad argument or
    // configuration value is a usage error, as a bad flag is.
    std::fprintf(stderr, "job '%s' could not start: %s\n", job_name.c_str(),
                 result.error().c_str());
    return result.status.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  PrintSummary(result);
  if (result.ok()) return 0;
  if (result.status.IsCancelled()) return 130;
  return 1;
}

}  // namespace weir
