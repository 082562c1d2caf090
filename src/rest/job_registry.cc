#include "rest/job_registry.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/file_system.h"

namespace weir {
namespace {

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status CheckPrivate(const std::string& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return Status::FromErrno(errno, "job registry '" + dir + "'");
  if (!S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition("job registry '" + dir + "' is not a directory");
  }
  if (st.st_uid != ::getuid()) {
    return Status::FailedPrecondition("job registry '" + dir +
                                      "' belongs to another user; set WEIR_RUNTIME_DIR to a "
                                      "directory of your own");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Status::FailedPrecondition("job registry '" + dir +
                                      "' may be written by other users; make it private (chmod "
                                      "700) or set WEIR_RUNTIME_DIR");
  }
  return Status::OK();
}

}  // namespace

Result<std::string> JobRegistryDir() {
  std::string dir;
  if (const char* d = std::getenv("WEIR_RUNTIME_DIR"); d != nullptr && *d != '\0') {
    dir = d;
  } else if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x != nullptr && *x != '\0') {
    dir = std::string(x) + "/weir";
  } else {
    dir = "/tmp/weir-" + std::to_string(::getuid());
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    // A parent that is missing ($WEIR_RUNTIME_DIR=/a/b): make it, then the directory.
    Status s = FileSystem::Default()->CreateDirs(dir);
    if (!s.ok()) return s.WithContext("creating the job registry");
    ::chmod(dir.c_str(), 0700);
  }
  WEIR_RETURN_IF_ERROR(CheckPrivate(dir));
  return dir;
}

uint64_t ProcessStartTime(pid_t pid) {
  std::string stat = ReadWhole("/proc/" + std::to_string(pid) + "/stat");
  // The command name (field 2) is in parentheses and may hold spaces: count after its end.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return 0;
}

bool ProcessAlive(pid_t pid, uint64_t process_start) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  return process_start == 0 || ProcessStartTime(pid) == process_start;
}

Result<std::vector<RegisteredJob>> ListRegisteredJobs() {
  WEIR_ASSIGN_OR_RETURN(std::string dir, JobRegistryDir());
  std::vector<RegisteredJob> jobs;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::FromErrno(errno, "reading the job registry '" + dir + "'");
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 5 && name.ends_with(".json") && name[0] != '.') names.push_back(name);
  }
  ::closedir(d);
  for (const std::string& name : names) {
    std::string path = dir + "/" + name;
    auto j = nlohmann::json::parse(ReadWhole(path), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) continue;
    RegisteredJob job;
    try {
      job.pid = j.at("pid").get<pid_t>();
      job.process_start = j.value("process_start", uint64_t{0});
      job.job_id = j.at("job_id").get<std::string>();
      job.job_name = j.value("job_name", "");
      job.rest_url = j.at("rest_url").get<std::string>();
      job.start_wall_ms = j.value("start_time", int64_t{0});
      job.working_dir = j.value("working_dir", "");
    } catch (const nlohmann::json::exception&) {
      continue;
    }
    job.file = path;
    if (!ProcessAlive(job.pid, job.process_start)) {
      ::unlink(path.c_str());  // a job killed with -9 could not remove its entry
      continue;
    }
    jobs.push_back(std::move(job));
  }
  std::sort(jobs.begin(), jobs.end(), [](const RegisteredJob& a, const RegisteredJob& b) {
    return a.start_wall_ms < b.start_wall_ms;
  });
  return jobs;
}

Result<std::unique_ptr<JobRegistration>> JobRegistration::Create(const RegisteredJob& job) {
  WEIR_ASSIGN_OR_RETURN(std::string dir, JobRegistryDir());
  nlohmann::json j = {{"pid", job.pid},
                      {"process_start", job.process_start},
                      {"job_id", job.job_id},
                      {"job_name", job.job_name},
                      {"rest_url", job.rest_url},
                      {"start_time", job.start_wall_ms},
                      {"working_dir", job.working_dir}};
  std::string file = dir + "/" + job.job_id + "-" + std::to_string(job.pid) + ".json";
  WEIR_RETURN_IF_ERROR_CTX(
      WriteFileAtomically(*FileSystem::Default(), file,
                          j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)),
      "registering the job in '" + dir + "'");
  return std::unique_ptr<JobRegistration>(new JobRegistration(file));
}

JobRegistration::~JobRegistration() { ::unlink(file_.c_str()); }

}  // namespace weir
