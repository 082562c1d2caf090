// How the weir tool finds running jobs and talks to their REST API.
//
// Without -m, the jobs are those registered on this machine (rest/job_registry.h); with
// -m host:port, the job that REST API serves. A JOB argument is a job id, a unique prefix
// of one (at least 4 digits), or a job's exact name.
//
// Thread-safety: single-threaded, as the tool is.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace weir::tool {

// Exit codes of the weir tool.
enum ExitCode : int {
  kOk = 0,
  kFailed = 1,    // the job refused, or the operation failed
  kUsage = 2,     // bad arguments
  kNotFound = 3,  // no such job, checkpoint or file
  kEnded = 4,     // the job has ended
};

// An error to print and exit with.
struct ToolError {
  int code = kFailed;
  std::string message;
};

struct JobRef {
  std::string url;  // "http://127.0.0.1:8081"
  std::string job_id;
  std::string job_name;
  int pid = 0;  // 0 with -m
  uint64_t process_start = 0;  // of pid (job_registry.h), so a reused pid is not taken for it
};

struct HttpReply {
  int status = 0;  // 0: no answer (connection refused, timeout)
  bool connected = false;  // the connection was made (a status 0 then: no answer in time)
  nlohmann::json body;
  std::string error;  // transport error, or the API's "errors"
};

// Calls the REST API at `url`. `method`: GET, POST or PATCH. Waits `read_timeout_s` for the
// answer.
HttpReply Call(const std::string& url, const std::string& method, const std::string& path,
               const std::string& body = "", int read_timeout_s = 30);

// What to say and exit with when `job` answered `doing` ("cancelling") with an error, or not at
// all. It has ended (kEnded) only if it has: the API also answers 409 for other reasons (a
// checkpoint of a job that takes none), and a paused process does not answer at all.
ToolError ReplyError(const JobRef& job, const HttpReply& reply, const std::string& doing);

// The jobs the tool can see: registered ones, or the one behind `master` (host:port).
std::vector<JobRef> ListJobs(const std::string& master, ToolError* error);
// The job `job` names; `error` set (kNotFound, with what there is) when none or several match.
bool FindJob(const std::string& master, const std::string& job, JobRef* out, ToolError* error);

// "http://127.0.0.1:8081" from "127.0.0.1:8081" or a URL.
std::string UrlOf(const std::string& host_port);

}  // namespace weir::tool
