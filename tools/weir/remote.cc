#include "remote.h"

#include <httplib.h>

#include "rest/job_registry.h"

namespace weir::tool {

std::string UrlOf(const std::string& host_port) {
  if (host_port.starts_with("http://")) return host_port;
  return "http://" + host_port;
}

HttpReply Call(const std::string& url, const std::string& method, const std::string& path,
               const std::string& body, int read_timeout_s) {
  HttpReply reply;
  httplib::Client client(url);
  client.set_connection_timeout(5);
  client.set_read_timeout(read_timeout_s);
  httplib::Result r =
      method == "GET"    ? client.Get(path.c_str())
      : method == "POST" ? client.Post(path.c_str(), body.empty() ? "{}" : body, "application/json")
                         : client.Patch(path.c_str());
  if (!r) {
    reply.connected = r.error() != httplib::Error::Connection &&
                      r.error() != httplib::Error::ConnectionTimeout;
    reply.error = "no answer from " + url + " (" + httplib::to_string(r.error()) + ")";
    return reply;
  }
  reply.connected = true;
  reply.status = r->status;
  if (r->get_header_value("Content-Type").starts_with("application/json")) {
    reply.body = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  } else {
    reply.body = r->body;
  }
  if (r->status >= 400) {
    if (reply.body.is_object() && reply.body.contains("errors") &&
        reply.body["errors"].is_array() && !reply.body["errors"].empty()) {
      reply.error = reply.body["errors"][0].dump();
      if (reply.body["errors"][0].is_string()) reply.error = reply.body["errors"][0];
    } else {
      reply.error = "HTTP " + std::to_string(r->status);
    }
  }
  return reply;
}

namespace {

bool Terminal(const std::string& state) {
  return state == "FINISHED" || state == "FAILED" || state == "CANCELED";
}

}  // namespace

ToolError ReplyError(const JobRef& job, const HttpReply& r, const std::string& doing) {
  const std::string who = "job '" + job.job_name + "' (" + job.job_id + ")";
  const bool process_gone = job.pid > 0 && !ProcessAlive(job.pid, job.process_start);
  if (r.status == 0) {
    // Nobody listens any more: a job's REST API closes when the job has ended (its process
    // may take a moment more to exit), or its process has gone.
    if (process_gone || !r.connected) {
      return {kEnded, who + " did not answer " + doing + ": it has ended (" + r.error + ")"};
    }
    return {kFailed, who + " did not answer " + doing +
                         ": its process runs but does not answer (paused, or busy?) (" +
                         r.error + ")"};
  }
  if (r.status == 404) return {kNotFound, doing + " " + who + ": " + r.error};
  if (r.status == 409) {
    HttpReply state = Call(job.url, "GET", "/jobs/" + job.job_id, "", 5);
    const bool ended = process_gone || (state.status == 200 && state.body.is_object() &&
                                        Terminal(state.body.value("state", "")));
    if (ended) return {kEnded, doing + " " + who + ": " + r.error};
  }
  return {kFailed, doing + " " + who + ": " + r.error};
}

std::vector<JobRef> ListJobs(const std::string& master, ToolError* error) {
  std::vector<JobRef> jobs;
  if (!master.empty()) {
    if (master.starts_with("https://")) {
      *error = {kUsage, "the REST API speaks plain HTTP: give -m host:port, not " + master};
      return jobs;
    }
    std::string url = UrlOf(master);
    HttpReply r = Call(url, "GET", "/jobs/overview");
    if (r.status != 200) {
      *error = {kNotFound, "no weir REST API at " + master + ": " + r.error};
      return jobs;
    }
    for (const auto& j : r.body["jobs"]) {
      jobs.push_back(JobRef{url, j.value("jid", ""), j.value("name", ""), 0, 0});
    }
    return jobs;
  }
  auto registered = ListRegisteredJobs();
  if (!registered.ok()) {
    *error = {kFailed, registered.status().ToString()};
    return jobs;
  }
  for (const auto& r : *registered) {
    jobs.push_back(
        JobRef{r.rest_url, r.job_id, r.job_name, static_cast<int>(r.pid), r.process_start});
  }
  return jobs;
}

bool FindJob(const std::string& master, const std::string& job, JobRef* out, ToolError* error) {
  std::vector<JobRef> jobs = ListJobs(master, error);
  if (!error->message.empty()) return false;
  std::vector<JobRef> matches;
  for (const auto& j : jobs) {
    if (j.job_id == job || j.job_name == job) matches.push_back(j);
  }
  if (matches.empty() && job.size() >= 4) {
    for (const auto& j : jobs) {
      if (j.job_id.starts_with(job)) matches.push_back(j);
    }
  }
  if (matches.size() == 1) {
    *out = matches[0];
    return true;
  }
  std::string known;
  for (const auto& j : jobs) known += "\n  " + j.job_id + "  " + j.job_name;
  if (matches.empty()) {
    *error = {kNotFound, "no running job '" + job + "'" +
                             (master.empty() ? " on this machine" : " at " + master) +
                             (jobs.empty() ? " (no job is running)" : "; running:" + known)};
  } else {
    *error = {kUsage, "'" + job + "' names " + std::to_string(matches.size()) +
                          " running jobs; give the job id:" + known};
  }
  return false;
}

}  // namespace weir::tool
