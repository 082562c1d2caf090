#include "chaos.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "base/file_system.h"
#include "chaos_output.h"
#include "remote.h"
#include "rest/job_registry.h"

namespace weir::tool {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The process group of the run going on, for the signal handler: each run is a group of its
// own, which the terminal's Ctrl-C (or a kill of weir) no longer reaches.
std::atomic<pid_t> g_running{0};
static_assert(std::atomic<pid_t>::is_always_lock_free, "read in a signal handler");

// SIGINT, SIGTERM, SIGHUP: the run dies with weir chaos, which then dies of the signal.
void KillRunAndDie(int sig) {
  const pid_t running = g_running.load();
  if (running > 0) ::kill(-running, SIGKILL);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

struct Child {
  pid_t pid = -1;
  int status = 0;
  bool exited = false;

  bool Poll() {
    if (exited) return false;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) Exited();
    return !exited;
  }
  void Exited() {
    exited = true;
    g_running.store(0);
  }
  // The whole process group: a job started through a wrapper (sh -c, a script) dies with it,
  // instead of running on beside the next run.
  void Kill() {
    if (exited) return;
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    Exited();
  }
  std::string Describe() const {
    if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
  }
  bool Succeeded() const { return exited && WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

Child Spawn(const std::vector<std::string>& argv, const std::string& cwd, const std::string& log,
            const std::string& runtime_dir) {
  Child c;
  c.pid = ::fork();
  if (c.pid == 0) {
    ::setpgid(0, 0);  // a process group of its own, killed whole (Child::Kill)
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::setenv("WEIR_RUNTIME_DIR", runtime_dir.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  if (c.pid > 0) {
    ::setpgid(c.pid, c.pid);  // also here: before the parent's first kill
    g_running.store(c.pid);
  }
  return c;
}

// Checkpoints the child's job completed in this run, from its REST API; -1 if it serves none
// (yet).
int64_t CompletedCheckpoints(pid_t pid) {
  auto jobs = ListRegisteredJobs();
  if (!jobs.ok()) return -1;
  for (const auto& j : *jobs) {
    if (j.pid != pid && ::getpgid(j.pid) != pid) continue;  // the job, or a wrapper's child
    HttpReply r = Call(j.rest_url, "GET", "/jobs/" + j.job_id + "/checkpoints");
    if (r.status != 200 || !r.body.is_object()) return -1;
    return r.body["counts"].value("completed", int64_t{0});
  }
  return -1;
}

}  // namespace

int Chaos(const ChaosOptions& o, std::ostream& out, std::ostream& err) {
  if (o.command.empty()) {
    err << "weir chaos: give the job's command after --\n";
    return kUsage;
  }
  if (o.output.empty() || o.output[0] == '/' || o.output.find("..") != std::string::npos) {
    err << "weir chaos: --output must be a path relative to the job's working directory, "
           "without '..'\n";
    return kUsage;
  }
  if (o.kills < 0) {
    err << "weir chaos: --kills must not be negative\n";
    return kUsage;
  }
  struct sigaction on_signal {};
  on_signal.sa_handler = KillRunAndDie;
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &on_signal, nullptr);
  uint64_t seed = o.seed ? *o.seed : std::random_device{}();
  out << "weir chaos: seed " << seed << " (replay with --seed " << seed << ")" << std::endl;
  std::mt19937_64 rng(seed);

  std::vector<std::string> command = o.command;
  if (command[0].find('/') != std::string::npos) command[0] = AbsolutePath(command[0]);
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/weir-chaos-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    err << "weir chaos: cannot create a working directory under " << tmpl << "\n";
    return kFailed;
  }
  const std::string root = tmpl;
  const std::string reference = root + "/reference", chaos = root + "/chaos";
  const std::string runtime = root + "/run", log = root + "/log";
  fs::create_directories(reference);
  fs::create_directories(chaos);
  fs::create_directories(runtime);
  ::chmod(runtime.c_str(), 0700);
  // This process reads the runs' registry too.
  ::setenv("WEIR_RUNTIME_DIR", runtime.c_str(), 1);
  auto fail = [&](const std::string& why) {
    err << "weir chaos: FAILED: " << why << "\n  working directories kept in " << root
        << " (the runs' output is in " << log << ")\n  replay with --seed " << seed << "\n";
    return kFailed;
  };
  const auto timeout = std::chrono::seconds(o.timeout_seconds);
  auto wait_exit = [&](Child& c) {
    auto deadline = Clock::now() + timeout;
    while (c.Poll()) {
      if (Clock::now() > deadline) {
        c.Kill();
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  };

  out << "weir chaos: reference run in " << reference << std::endl;
  auto start = Clock::now();
  Child ref = Spawn(command, reference, log, runtime);
  if (!wait_exit(ref))
    return fail("the reference run did not end within " + std::to_string(o.timeout_seconds) + " s");
  if (!ref.Succeeded()) return fail("the reference run failed (" + ref.Describe() + ")");
  double ref_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  auto want = ReadOutput(reference + "/" + o.output);
  if (want.empty()) return fail("the reference run wrote nothing at " + o.output);
  out << "weir chaos: the reference run took " << static_cast<int64_t>(ref_ms) << " ms"
      << std::endl;

  std::vector<std::string> restore = command;
  restore.push_back("--restore");
  restore.push_back("latest");
  int kills = 0;
  bool finished = false;
  for (int k = 0; k < o.kills && !finished; ++k) {
    Child c = Spawn(k == 0 ? command : restore, chaos, log, runtime);
    // Kill only after the run has a checkpoint of its own, so every kill sends it back to
    // one: by its REST API, or (without one) after a while.
    const auto run_start = Clock::now();
    const auto no_api_wait = std::chrono::milliseconds(static_cast<int64_t>(ref_ms / 4) + 200);
    bool served = false;
    while (c.Poll() && Clock::now() - run_start < timeout) {
      int64_t done = CompletedCheckpoints(c.pid);
      if (done >= 1) break;
      served |= done >= 0;
      if (!served && Clock::now() - run_start > no_api_wait) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::uniform_int_distribution<int64_t> delay(
        0, std::max<int64_t>(50, static_cast<int64_t>(ref_ms / (o.kills + 1))));
    int64_t wait_ms = delay(rng);
    auto until = Clock::now() + std::chrono::milliseconds(wait_ms);
    while (c.Poll() && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (!c.Poll()) {
      if (!c.Succeeded())
        return fail("run " + std::to_string(k + 1) + " failed (" + c.Describe() + ")");
      finished = true;
      out << "weir chaos: run " << k + 1 << " finished before its kill" << std::endl;
      break;
    }
    c.Kill();
    ++kills;
    std::string diff = CompareOutput(want, ReadOutput(chaos + "/" + o.output), /*whole=*/false);
    out << "weir chaos: kill " << kills << " after " << wait_ms << " ms more: output "
        << (diff.empty() ? "is a prefix of the reference" : "DIFFERS") << std::endl;
    if (!diff.empty()) return fail("after kill " + std::to_string(kills) + ": " + diff);
  }
  if (!finished) {
    Child last = Spawn(o.kills == 0 ? command : restore, chaos, log, runtime);
    if (!wait_exit(last))
      return fail("the last run did not end within " + std::to_string(o.timeout_seconds) + " s");
    if (!last.Succeeded()) return fail("the last run failed (" + last.Describe() + ")");
  }
  std::string diff = CompareOutput(want, ReadOutput(chaos + "/" + o.output), /*whole=*/true);
  if (!diff.empty()) return fail("at the end: " + diff);
  out << "weir chaos: PASSED: " << kills << " kills, the output is identical to the reference"
      << std::endl;
  if (!o.keep) {
    std::error_code ec;
    fs::remove_all(root, ec);
  } else {
    out << "weir chaos: working directories kept in " << root << std::endl;
  }
  return kOk;
}

}  // namespace weir::tool
