#include "testing/test_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace weir::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/weir-test-XXXXXX";
  char* p = ::mkdtemp(tmpl.data());
  if (p == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

uint64_t TestSeed() {
  uint64_t seed;
  if (const char* s = std::getenv("WEIR_TEST_SEED"); s != nullptr && *s != '\0') {
    seed = std::strtoull(s, nullptr, 10);
  } else {
    seed = std::random_device{}();
    seed = (seed << 32) ^ std::random_device{}();
  }
  std::printf("[ seed     ] WEIR_TEST_SEED=%llu\n", static_cast<unsigned long long>(seed));
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

bool FileExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::vector<std::string> ListFilesRecursive(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) out.push_back(std::filesystem::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> CheckpointFilesLeft(const std::string& checkpoints_dir) {
  auto files = ListFilesRecursive(checkpoints_dir);
  // Manifests of ended runs, and the lock files jobs hold while they run, stay.
  std::erase_if(files, [](const std::string& f) {
    std::string name = std::filesystem::path(f).filename();
    return name == "_job" || name.starts_with(".lock-");
  });
  return files;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::map<std::string, std::string> OutputFiles(const std::string& path) {
  std::map<std::string, std::string> out;
  auto files = ListFilesRecursive(path);
  if (files.empty()) {
    if (FileExists(path)) out[""] = ReadFile(path);
    return out;
  }
  for (const auto& f : files) {
    if (f.find(".pending") == std::string::npos) out[f] = ReadFile(path + "/" + f);
  }
  return out;
}

std::string BinaryPath(const std::string& name) { return std::string(WEIR_BIN_DIR) + "/" + name; }

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& cwd,
                           const std::vector<std::string>& env) {
  char tmpl[] = "/tmp/weir-child-XXXXXX";
  int fd = ::mkstemp(tmpl);
  log_path_ = tmpl;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fd);
}

ChildProcess::~ChildProcess() {
  if (!reaped_ && pid_ > 0) Kill();
  ::unlink(log_path_.c_str());
}

ProcessResult ChildProcess::Reap(int status) {
  reaped_ = true;
  if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
  result_.output = ReadFile(log_path_);
  return result_;
}

bool ChildProcess::Running() {
  if (reaped_) return false;
  int status;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    Reap(status);
    return false;
  }
  return true;
}

ProcessResult ChildProcess::Kill() {
  if (reaped_) return result_;
  ::kill(pid_, SIGKILL);
  int status;
  ::waitpid(pid_, &status, 0);
  return Reap(status);
}

ProcessResult ChildProcess::Wait(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ProcessResult r = Kill();
      ADD_FAILURE() << "process " << pid_ << " did not exit within " << timeout_ms
                    << " ms; output:\n"
                    << r.output;
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return result_;
}

ProcessResult RunProcess(const std::vector<std::string>& argv, int timeout_ms,
                         const std::string& cwd) {
  ChildProcess p(argv, cwd);
  return p.Wait(timeout_ms);
}

}  // namespace weir::testing
