#include "rest/job_handlers.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>

#include "base/file_system.h"
#include "metrics/prometheus_format.h"
#include "rest/savepoint_target.h"
#include "runtime/task_metrics.h"
#include "state/state_backend_options.h"

namespace weir {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kVersion = WEIR_VERSION;
// Flink's execution states, in the order its "tasks" counts list them.
constexpr std::string_view kTaskStates[] = {"CREATED",     "SCHEDULED",   "DEPLOYING", "RUNNING",
                                            "FINISHED",    "CANCELING",   "CANCELED",  "FAILED",
                                            "RECONCILING", "INITIALIZING"};
constexpr std::string_view kJobStates[] = {"INITIALIZING", "CREATED",    "RUNNING",    "FAILING",
                                           "FAILED",       "CANCELLING", "CANCELED",   "FINISHED",
                                           "RESTARTING",   "SUSPENDED",  "RECONCILING"};

RestResponse Ok(const Json& j, int status = 200) {
  return RestResponse::Json(status, j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

// An id of 32 hexadecimal digits (job, vertex, trigger), in lower case as weir writes them;
// nullopt for anything else. Upper case is read too, as Flink does.
std::optional<std::string> Hex32(std::string_view s) {
  if (s.size() != 32) return std::nullopt;
  std::string id(s);
  for (char& c : id) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return id;
}

// A non-negative integer of at most `max`; nullopt for anything else.
std::optional<int64_t> ParseIndex(std::string_view s, int64_t max) {
  int64_t v = 0;
  if (s.empty() || s.size() > 19) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0 || v > max) return std::nullopt;
  return v;
}

// A gauge's whole value as the long it stands for. Gauges are doubles: kMinWatermark (-2^63)
// is exact, kMaxWatermark (2^63 - 1) comes back as 2^63; both print as Flink's longs.
std::optional<int64_t> AsLong(double v) {
  if (std::isnan(v) || v != std::floor(v)) return std::nullopt;
  if (v >= 0x1p63) return std::numeric_limits<int64_t>::max();
  if (v <= -0x1p63) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

std::string MetricText(double v) {
  if (auto whole = AsLong(v); whole && (std::fabs(v) < 9e15 || std::fabs(v) >= 0x1p63)) {
    return std::to_string(*whole);
  }
  Json j = v;
  return j.dump();
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t end = s.find(',', i);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(i, end - i);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    i = end + 1;
  }
  return out;
}

Json FailureCause(const Status& s) {
  return Json{{"class", "weir." + std::string(StatusCodeName(s.code()))},
              {"stack-trace", s.ToString()},
              {"serialized-throwable", ""}};
}

// Where a failure happened, from the context the runtime adds to a task's error: "task
// 'Map -> Filter (2/4)': operator 'Filter' (subtask 1) failed: ...". Empty parts when the
// failure came from elsewhere (a checkpoint, the coordinator).
struct FailedTask {
  std::string task;      // "Map -> Filter (2/4)"
  std::string operator_name;
  int subtask = -1;
};

FailedTask FailedTaskOf(const std::string& message) {
  FailedTask t;
  auto quoted = [&](std::string_view prefix, size_t* end) -> std::string {
    size_t at = message.find(prefix);
    if (at == std::string::npos) return "";
    size_t from = at + prefix.size();
    size_t to = message.find("'", from);
    if (to == std::string::npos) return "";
    *end = to + 1;
    return message.substr(from, to - from);
  };
  size_t end = 0;
  t.task = quoted("task '", &end);
  t.operator_name = quoted("operator '", &end);
  if (!t.operator_name.empty() && message.compare(end, 10, " (subtask ") == 0) {
    int v = 0;
    const char* first = message.data() + end + 10;
    auto [ptr, ec] = std::from_chars(first, message.data() + message.size(), v);
    if (ec == std::errc() && ptr != first) t.subtask = v;
  }
  return t;
}

// Parses a JSON request body: empty means {}; anything but an object is a 400.
// The body, a JSON object of the `fields` the request takes. A field it does not take is an
// error, as in Flink (whose bodies are read strictly): a misspelt or misplaced one, such as a
// stop's targetDirectory given to a savepoint, would otherwise be silently ignored.
Result<Json> ParseBody(const RestRequest& req, std::initializer_list<std::string_view> fields) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return Json::object();
  Json j = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("the request body is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("the request body must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (std::find(fields.begin(), fields.end(), key) != fields.end()) continue;
    std::string takes;
    for (std::string_view f : fields) takes += (takes.empty() ? "" : ", ") + std::string(f);
    return Status::InvalidArgument("the request body has a field '" + key +
                                   "' this request does not take (it takes " + takes + ")");
  }
  return j;
}

// A string field of `body`, or "" when absent or null; InvalidArgument for another type.
Result<std::string> StringField(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return Status::InvalidArgument(std::string("'") + name + "' must be a string");
  }
  return it->get<std::string>();
}

Result<bool> BoolField(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    return Status::InvalidArgument(std::string("'") + name + "' must be true or false");
  }
  return it->get<bool>();
}

class JobHandlers {
 public:
  JobHandlers(JobMaster* master, AsyncOperations* operations)
      : master_(master), operations_(operations) {
    const auto& vertices = master_->graph().vertices();
    int first = 0;
    for (const auto& v : vertices) {
      vertex_ids_.push_back(JobVertexId(v));
      first_task_.push_back(first);
      first += v.parallelism;
    }
  }

  void Register(RestRouter& r) {
    auto bind = [this](RestResponse (JobHandlers::*fn)(const RestRequest&)) {
      return [this, fn](const RestRequest& req) { return (this->*fn)(req); };
    };
    // Handlers that name a job check it first.
    auto job = [this](RestResponse (JobHandlers::*fn)(const RestRequest&)) {
      return [this, fn](const RestRequest& req) {
        if (auto bad = CheckJob(req)) return *bad;
        return (this->*fn)(req);
      };
    };
    r.Add("GET", "/config", bind(&JobHandlers::DashboardConfig));
    r.Add("GET", "/overview", bind(&JobHandlers::ClusterOverview));
    r.Add("GET", "/jobs", bind(&JobHandlers::Jobs));
    r.Add("GET", "/jobs/overview", bind(&JobHandlers::JobsOverview));
    r.Add("GET", "/metrics", bind(&JobHandlers::Prometheus));
    r.Add("GET", "/jobs/:jobid", job(&JobHandlers::JobDetails));
    r.Add("PATCH", "/jobs/:jobid", job(&JobHandlers::Terminate));
    r.Add("GET", "/jobs/:jobid/plan", job(&JobHandlers::Plan));
    r.Add("GET", "/jobs/:jobid/config", job(&JobHandlers::JobConfig));
    r.Add("GET", "/jobs/:jobid/exceptions", job(&JobHandlers::Exceptions));
    r.Add("GET", "/jobs/:jobid/metrics", job(&JobHandlers::JobMetricsList));
    r.Add("GET", "/jobs/:jobid/checkpoints", job(&JobHandlers::Checkpoints));
    r.Add("POST", "/jobs/:jobid/checkpoints", job(&JobHandlers::TriggerCheckpoint));
    r.Add("GET", "/jobs/:jobid/checkpoints/config", job(&JobHandlers::CheckpointConfig));
    r.Add("GET", "/jobs/:jobid/checkpoints/details/:checkpointid",
          job(&JobHandlers::CheckpointDetails));
    r.Add("GET", "/jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid",
          job(&JobHandlers::CheckpointSubtasks));
    r.Add("GET", "/jobs/:jobid/checkpoints/:triggerid", job(&JobHandlers::CheckpointStatus));
    r.Add("POST", "/jobs/:jobid/savepoints", job(&JobHandlers::TriggerSavepoint));
    r.Add("GET", "/jobs/:jobid/savepoints/:triggerid", job(&JobHandlers::SavepointStatus));
    r.Add("POST", "/jobs/:jobid/stop", job(&JobHandlers::Stop));
    r.Add("GET", "/jobs/:jobid/vertices/:vertexid", job(&JobHandlers::Vertex));
    r.Add("GET", "/jobs/:jobid/vertices/:vertexid/backpressure", job(&JobHandlers::Backpressure));
    r.Add("GET", "/jobs/:jobid/vertices/:vertexid/watermarks", job(&JobHandlers::Watermarks));
    r.Add("GET", "/jobs/:jobid/vertices/:vertexid/metrics", job(&JobHandlers::VertexMetrics));
    r.Add("GET", "/jobs/:jobid/vertices/:vertexid/subtasks/metrics",
          job(&JobHandlers::SubtasksMetrics));
    r.Add("GET", "/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex",
          job(&JobHandlers::Subtask));
    r.Add("GET", "/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/metrics",
          job(&JobHandlers::SubtaskMetrics));
  }

 private:
  // ---- Checks ---------------------------------------------------------------------------------

  std::optional<RestResponse> CheckJob(const RestRequest& req) const {
    const std::string& given = req.params.at(":jobid");
    const std::optional<std::string> id = Hex32(given);
    if (!id) {
      return RestResponse::Error(400, "'" + given + "' is not a job id (32 hexadecimal digits)");
    }
    if (*id != master_->job_id()) {
      return RestResponse::Error(
          404,
          "job " + *id + " is not known here (this REST API serves job " + master_->job_id() + ")");
    }
    return std::nullopt;
  }

  // The vertex the request names, or the error response.
  std::variant<int, RestResponse> FindVertex(const RestRequest& req) const {
    const std::string& given = req.params.at(":vertexid");
    const std::optional<std::string> id = Hex32(given);
    if (!id) {
      return RestResponse::Error(400,
                                 "'" + given + "' is not a vertex id (32 hexadecimal digits)");
    }
    for (size_t v = 0; v < vertex_ids_.size(); ++v) {
      if (vertex_ids_[v] == *id) return static_cast<int>(v);
    }
    return RestResponse::Error(404, "job " + master_->job_id() + " has no vertex " + *id);
  }

  // ---- Cluster and jobs -----------------------------------------------------------------------

  RestResponse DashboardConfig(const RestRequest&) {
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    return Ok(Json{{"refresh-interval", 3000},
                   {"timezone-name", local.tm_zone != nullptr ? local.tm_zone : "UTC"},
                   {"timezone-offset", local.tm_gmtoff * 1000},
                   {"flink-version", kVersion},
                   {"flink-revision", "weir " + std::string(kVersion)},
                   {"features",
                    {{"web-submit", false},
                     {"web-cancel", true},
                     {"web-rescale", false},
                     {"web-history", false}}}});
  }

  RestResponse ClusterOverview(const RestRequest&) {
    JobStatusInfo info = master_->status_info();
    auto is = [&](JobStatus s) { return info.status == s ? 1 : 0; };
    bool running = info.status == JobStatus::kRunning || info.status == JobStatus::kRestarting ||
                   info.status == JobStatus::kCreated;
    int tasks = master_->graph().num_tasks();
    return Ok(Json{{"taskmanagers", 1},
                   {"slots-total", tasks},
                   {"slots-available", running ? 0 : tasks},
                   {"jobs-running", running ? 1 : 0},
                   {"jobs-finished", is(JobStatus::kFinished)},
                   {"jobs-cancelled", is(JobStatus::kCanceled)},
                   {"jobs-failed", is(JobStatus::kFailed)},
                   {"flink-version", kVersion},
                   {"flink-commit", ""},
                   {"weir-version", kVersion}});
  }

  RestResponse Jobs(const RestRequest&) {
    JobStatusInfo info = master_->status_info();
    return Ok(Json{{"jobs", Json::array({Json{{"id", master_->job_id()},
                                              {"status", JobStatusName(info.status)}}})}});
  }

  Json TaskCounts(const std::vector<TaskExecutionSnapshot>& tasks, int vertex, bool lower) const {
    std::map<std::string, int> counts;
    for (auto s : kTaskStates) counts[std::string(s)] = 0;
    int total = 0;
    for (const auto& t : tasks) {
      if (vertex >= 0 && t.vertex != vertex) continue;
      ++counts[std::string(TaskStateName(t.state))];
      ++total;
    }
    Json j = Json::object();
    for (auto s : kTaskStates) {
      std::string key(s);
      if (lower) std::transform(key.begin(), key.end(), key.begin(), ::tolower);
      j[key] = counts[std::string(s)];
    }
    if (lower) j["total"] = total;
    return j;
  }

  static int64_t Duration(const JobStatusInfo& info, int64_t now) {
    int64_t end = info.end_wall_ms != 0 ? info.end_wall_ms : now;
    return std::max<int64_t>(0, end - info.start_wall_ms);
  }

  RestResponse JobsOverview(const RestRequest&) {
    JobStatusInfo info = master_->status_info();
    auto tasks = master_->task_executions();
    int64_t now = NowMs();
    int64_t last = *std::max_element(info.timestamps.begin(), info.timestamps.end());
    Json job{{"jid", master_->job_id()},
             {"name", master_->job_name()},
             {"start-time", info.start_wall_ms},
             {"end-time", info.end_wall_ms != 0 ? info.end_wall_ms : -1},
             {"duration", Duration(info, now)},
             {"last-modification", last},
             {"state", JobStatusName(info.status)},
             {"tasks", TaskCounts(tasks, -1, /*lower=*/true)}};
    // While a new attempt is deployed the tasks of none are listed; the total is the job's.
    job["tasks"]["total"] = master_->graph().num_tasks();
    return Ok(Json{{"jobs", Json::array({job})}});
  }

  RestResponse Prometheus(const RestRequest&) {
    RestResponse r;
    r.body = FormatPrometheus(master_->metric_registry().Snapshot());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }

  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // Sum of a task metric over the subtasks of vertex `v` (current attempt).
  std::map<std::string, double> VertexTaskSums(int v) const {
    std::map<std::string, double> sums;
    for (const auto& m : master_->metric_registry().Snapshot([&](const MetricScope& s) {
           return s.level == MetricScope::Level::kTask && s.task_id == vertex_ids_[v];
         })) {
      sums[m.name] += m.value;
    }
    return sums;
  }

  static std::string VertexStatus(const std::vector<TaskExecutionSnapshot>& tasks, int v) {
    std::set<int> states;
    for (const auto& t : tasks) {
      if (t.vertex == v) states.insert(t.state);
    }
    if (states.empty()) return "CREATED";
    if (states.size() == 1) return std::string(TaskStateName(*states.begin()));
    for (int s : {TaskExecutionInfo::kFailed, TaskExecutionInfo::kCanceled,
                  TaskExecutionInfo::kRunning, TaskExecutionInfo::kInitializing}) {
      if (states.contains(s)) return std::string(TaskStateName(s));
    }
    return "CREATED";
  }

  Json IoMetrics(const std::map<std::string, double>& sums) const {
    auto get = [&](const char* name) {
      auto it = sums.find(name);
      return it == sums.end() ? int64_t{0} : static_cast<int64_t>(it->second);
    };
    // Records travel between tasks as objects, never as bytes: there are no bytes to count.
    return Json{{"read-bytes", 0},
                {"read-bytes-complete", true},
                {"write-bytes", 0},
                {"write-bytes-complete", true},
                {"read-records", get("numRecordsIn")},
                {"read-records-complete", true},
                {"write-records", get("numRecordsOut")},
                {"write-records-complete", true},
                {"accumulated-backpressured-time", get("accumulatedBackPressuredTimeMs")},
                {"accumulated-idle-time", get("accumulatedIdleTimeMs")},
                {"accumulated-busy-time", get("accumulatedBusyTimeMs")}};
  }

  Json PlanJson() const {
    const JobGraph& g = master_->graph();
    Json nodes = Json::array();
    for (size_t v = 0; v < g.vertices().size(); ++v) {
      const JobVertex& vertex = g.vertices()[v];
      Json node{{"id", vertex_ids_[v]},
                {"parallelism", vertex.parallelism},
                {"operator", ""},
                {"operator_strategy", ""},
                {"description", vertex.name},
                {"optimizer_properties", Json::object()}};
      if (!vertex.input_edges.empty()) {
        Json inputs = Json::array();
        for (size_t i = 0; i < vertex.input_edges.size(); ++i) {
          const JobEdge& e = g.edges()[static_cast<size_t>(vertex.input_edges[i])];
          const char* ship = e.partitioning == detail::Partitioning::kKeyGroups   ? "HASH"
                             : e.partitioning == detail::Partitioning::kRebalance ? "REBALANCE"
                                                                                  : "FORWARD";
          inputs.push_back(Json{{"num", static_cast<int>(i)},
                                {"id", vertex_ids_[static_cast<size_t>(e.source_vertex)]},
                                {"ship_strategy", ship},
                                {"exchange", "pipelined_bounded"}});
        }
        node["inputs"] = std::move(inputs);
      }
      nodes.push_back(std::move(node));
    }
    return Json{{"jid", master_->job_id()},
                {"name", master_->job_name()},
                {"type", "STREAMING"},
                {"nodes", std::move(nodes)}};
  }

  RestResponse JobDetails(const RestRequest&) {
    JobStatusInfo info = master_->status_info();
    auto tasks = master_->task_executions();
    int64_t now = NowMs();
    const JobGraph& g = master_->graph();
    Json vertices = Json::array();
    std::map<std::string, int> status_counts;
    for (auto s : kTaskStates) status_counts[std::string(s)] = 0;
    for (size_t v = 0; v < g.vertices().size(); ++v) {
      const JobVertex& vertex = g.vertices()[v];
      int64_t start = -1, end = -1;
      bool all_ended = true;
      for (const auto& t : tasks) {
        if (t.vertex != static_cast<int>(v)) continue;
        if (t.start_wall_ms > 0)
          start = start < 0 ? t.start_wall_ms : std::min(start, t.start_wall_ms);
        if (t.end_wall_ms > 0) {
          end = std::max(end, t.end_wall_ms);
        } else {
          all_ended = false;
        }
      }
      if (!all_ended) end = -1;
      std::string status = VertexStatus(tasks, static_cast<int>(v));
      ++status_counts[status];
      vertices.push_back(Json{{"id", vertex_ids_[v]},
                              {"name", vertex.name},
                              {"maxParallelism", g.max_parallelism()},
                              {"parallelism", vertex.parallelism},
                              {"status", status},
                              {"start-time", start},
                              {"end-time", end},
                              {"duration", start < 0 ? -1 : (end < 0 ? now : end) - start},
                              {"tasks", TaskCounts(tasks, static_cast<int>(v), false)},
                              {"metrics", IoMetrics(VertexTaskSums(static_cast<int>(v)))}});
    }
    Json timestamps = Json::object();
    for (auto s : kJobStates) timestamps[std::string(s)] = 0;
    for (int s = 0; s < 6; ++s) {
      timestamps[std::string(JobStatusName(static_cast<JobStatus>(s)))] =
          info.timestamps[static_cast<size_t>(s)];
    }
    return Ok(Json{{"jid", master_->job_id()},
                   {"name", master_->job_name()},
                   {"isStoppable", false},
                   {"state", JobStatusName(info.status)},
                   {"job-type", "STREAMING"},
                   {"start-time", info.start_wall_ms},
                   {"end-time", info.end_wall_ms != 0 ? info.end_wall_ms : -1},
                   {"duration", Duration(info, now)},
                   {"maxParallelism", g.max_parallelism()},
                   {"now", now},
                   {"timestamps", std::move(timestamps)},
                   {"vertices", std::move(vertices)},
                   {"status-counts", status_counts},
                   {"plan", PlanJson()}});
  }

  RestResponse Terminate(const RestRequest& req) {
    std::string mode = req.Query("mode", "cancel");
    std::transform(mode.begin(), mode.end(), mode.begin(), ::tolower);
    if (mode == "stop") {
      return RestResponse::Error(
          400,
          "mode 'stop' is not supported: stop a job with a savepoint with POST "
          "/jobs/:jobid/stop");
    }
    if (mode != "cancel") {
      return RestResponse::Error(400, "mode must be 'cancel', not '" + req.Query("mode") + "'");
    }
    JobStatus s = master_->status_info().status;
    if (s == JobStatus::kFinished || s == JobStatus::kFailed || s == JobStatus::kCanceled) {
      return RestResponse::Error(409, "job " + master_->job_id() + " has already ended (" +
                                          std::string(JobStatusName(s)) + ")");
    }
    master_->Cancel();
    return Ok(Json::object(), 202);
  }

  RestResponse Plan(const RestRequest&) { return Ok(Json{{"plan", PlanJson()}}); }

  RestResponse JobConfig(const RestRequest&) {
    Json user = Json::object();
    for (const auto& [key, entry] : master_->config().entries()) user[key] = entry.value;
    int parallelism = master_->graph().default_parallelism();
    return Ok(Json{{"jid", master_->job_id()},
                   {"name", master_->job_name()},
                   {"execution-config",
                    {{"execution-mode", "PIPELINED"},
                     {"restart-strategy", master_->config().GetString("restart-strategy.type", "")},
                     {"job-parallelism", parallelism},
                     {"object-reuse-mode", false},
                     {"user-config", std::move(user)}}}});
  }

  RestResponse Exceptions(const RestRequest& req) {
    int64_t max = 20;
    if (auto it = req.query.find("maxExceptions"); it != req.query.end()) {
      auto v = ParseIndex(it->second, 1'000'000);
      if (!v) return RestResponse::Error(400, "maxExceptions must be a non-negative integer");
      max = *v;
    }
    std::vector<JobFailure> failures = master_->failures();
    Json entries = Json::array();
    for (auto it = failures.rbegin(); it != failures.rend(); ++it) {
      if (static_cast<int64_t>(entries.size()) >= max) break;
      FailedTask where = FailedTaskOf(it->cause.ToString());
      auto or_null = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
      entries.push_back(
          Json{{"exceptionName", "weir." + std::string(StatusCodeName(it->cause.code()))},
               {"stacktrace", it->cause.ToString()},
               {"timestamp", it->wall_ms},
               {"taskName", or_null(where.task)},
               {"operatorName", or_null(where.operator_name)},
               {"subtaskIndex", where.subtask >= 0 ? Json(where.subtask) : Json(nullptr)},
               {"restarted", it->restarted},
               {"location", nullptr},
               {"endpoint", nullptr},
               {"taskManagerId", nullptr},
               {"failureLabels", Json::object()},
               {"concurrentExceptions", Json::array()}});
    }
    bool truncated = static_cast<int64_t>(failures.size()) > max;
    Json root = failures.empty() ? Json(nullptr) : Json(failures.back().cause.ToString());
    Json ts = failures.empty() ? Json(nullptr) : Json(failures.back().wall_ms);
    return Ok(
        Json{{"root-exception", root},
             {"timestamp", ts},
             {"all-exceptions", Json::array()},
             {"truncated", truncated},
             {"exceptionHistory", {{"entries", std::move(entries)}, {"truncated", truncated}}}});
  }

  // ---- Metrics in Flink's JSON ----------------------------------------------------------------

  // Flink's metric lists: without ?get, the names available ([{"id"}]); with ?get=a,b the
  // values of those that exist ([{"id", "value"}], values as strings, as Flink sends them).
  static RestResponse MetricList(const RestRequest& req,
                                 const std::vector<std::pair<std::string, double>>& metrics) {
    Json out = Json::array();
    auto get = req.query.find("get");
    if (get == req.query.end()) {
      for (const auto& [id, v] : metrics) out.push_back(Json{{"id", id}});
      return Ok(out);
    }
    std::map<std::string, double> by_id(metrics.begin(), metrics.end());
    for (const std::string& id : SplitList(get->second)) {
      auto it = by_id.find(id);
      if (it != by_id.end()) out.push_back(Json{{"id", id}, {"value", MetricText(it->second)}});
    }
    return Ok(out);
  }

  RestResponse JobMetricsList(const RestRequest& req) {
    std::vector<std::pair<std::string, double>> metrics;
    for (const auto& m : master_->metric_registry().Snapshot(
             [](const MetricScope& s) { return s.level == MetricScope::Level::kJob; })) {
      metrics.emplace_back(m.name, m.value);
    }
    return MetricList(req, metrics);
  }

  // The metrics of vertex `v`'s subtasks: task metrics by name, operator metrics as
  // "<operator name>.<name>"; `subtask` -1 for all, each id then prefixed "<subtask>.".
  std::vector<std::pair<std::string, double>> SubtaskMetrics(int v, int subtask,
                                                             bool prefix_subtask) const {
    std::vector<std::pair<std::string, double>> out;
    for (const auto& m : master_->metric_registry().Snapshot([&](const MetricScope& s) {
           return s.level != MetricScope::Level::kJob && s.task_id == vertex_ids_[v] &&
                  (subtask < 0 || s.subtask_index == subtask);
         })) {
      std::string id = m.scope->level == MetricScope::Level::kOperator
                           ? m.scope->operator_name + "." + m.name
                           : m.name;
      if (prefix_subtask) id = std::to_string(m.scope->subtask_index) + "." + id;
      out.emplace_back(std::move(id), m.value);
    }
    return out;
  }

  RestResponse VertexMetrics(const RestRequest& req) {
    auto v = FindVertex(req);
    if (auto* err = std::get_if<RestResponse>(&v)) return *err;
    return MetricList(req, SubtaskMetrics(std::get<int>(v), -1, /*prefix_subtask=*/true));
  }

  RestResponse SubtasksMetrics(const RestRequest& req) {
    auto found = FindVertex(req);
    if (auto* err = std::get_if<RestResponse>(&found)) return *err;
    int v = std::get<int>(found);
    int parallelism = master_->graph().vertices()[static_cast<size_t>(v)].parallelism;
    std::set<int> wanted;
    const auto subtasks = req.query.find("subtasks");
    if (auto it = subtasks; it != req.query.end()) {
      for (const std::string& range : SplitList(it->second)) {
        auto dash = range.find('-');
        std::string first = range.substr(0, dash);
        std::string last = dash == std::string::npos ? first : range.substr(dash + 1);
        // Six digits at most, as the OpenAPI document says; "3-1" is read as 1-3.
        auto lo = first.size() <= 6 ? ParseIndex(first, 999'999) : std::nullopt;
        auto hi = last.size() <= 6 ? ParseIndex(last, 999'999) : std::nullopt;
        if (!lo || !hi) {
          return RestResponse::Error(400,
                                     "subtasks must be a list of indexes and ranges such as "
                                     "0,2-3, not '" +
                                         it->second + "'");
        }
        const int64_t from = std::min(*lo, *hi);
        const int64_t to = std::max(*lo, *hi);
        for (int64_t i = from; i <= std::min<int64_t>(to, parallelism - 1); ++i) {
          wanted.insert(static_cast<int>(i));
        }
      }
    }
    std::set<std::string> aggs = {"min", "max", "avg", "sum", "skew"};
    if (auto it = req.query.find("agg"); it != req.query.end()) {
      aggs.clear();
      for (const std::string& a : SplitList(it->second)) {
        if (a != "min" && a != "max" && a != "avg" && a != "sum" && a != "skew") {
          return RestResponse::Error(
              400, "agg must list min, max, avg, sum or skew, not '" + it->second + "'");
        }
        aggs.insert(a);
      }
    }
    std::map<std::string, std::vector<double>> values;
    // Subtasks asked for that the vertex does not have select nothing, not every subtask.
    const bool all = subtasks == req.query.end() || subtasks->second.empty();
    for (int s = 0; s < parallelism; ++s) {
      if (!all && !wanted.contains(s)) continue;
      for (auto& [id, value] : SubtaskMetrics(v, s, false)) values[id].push_back(value);
    }
    Json out = Json::array();
    auto get = req.query.find("get");
    if (get == req.query.end()) {
      for (const auto& [id, vs] : values) out.push_back(Json{{"id", id}});
      return Ok(out);
    }
    for (const std::string& id : SplitList(get->second)) {
      auto it = values.find(id);
      if (it == values.end()) continue;
      const auto& vs = it->second;
      double sum = 0, min = vs.front(), max = vs.front();
      for (double x : vs) {
        sum += x;
        min = std::min(min, x);
        max = std::max(max, x);
      }
      double avg = sum / static_cast<double>(vs.size());
      Json j{{"id", id}};
      if (aggs.contains("min")) j["min"] = min;
      if (aggs.contains("max")) j["max"] = max;
      if (aggs.contains("avg")) j["avg"] = avg;
      if (aggs.contains("sum")) j["sum"] = sum;
      if (aggs.contains("skew")) j["skew"] = avg > 0 ? (max - avg) / avg * 100 : 0.0;
      out.push_back(std::move(j));
    }
    return Ok(out);
  }

  RestResponse SubtaskMetrics(const RestRequest& req) {
    auto found = FindVertex(req);
    if (auto* err = std::get_if<RestResponse>(&found)) return *err;
    int v = std::get<int>(found);
    auto index = ParseSubtask(req, v);
    if (auto* err = std::get_if<RestResponse>(&index)) return *err;
    return MetricList(req, SubtaskMetrics(v, std::get<int>(index), false));
  }

  std::variant<int, RestResponse> ParseSubtask(const RestRequest& req, int v) const {
    int parallelism = master_->graph().vertices()[static_cast<size_t>(v)].parallelism;
    const std::string& text = req.params.at(":subtaskindex");
    auto i = ParseIndex(text, 1 << 20);
    if (!i) return RestResponse::Error(400, "'" + text + "' is not a subtask index");
    if (*i >= parallelism) {
      return RestResponse::Error(404, "vertex " + vertex_ids_[v] + " has " +
                                          std::to_string(parallelism) + " subtasks, no subtask " +
                                          text);
    }
    return static_cast<int>(*i);
  }

  Json SubtaskJson(int v, int subtask, const std::vector<TaskExecutionSnapshot>& tasks,
                   int64_t now) const {
    TaskExecutionSnapshot t;
    t.vertex = v;
    t.subtask = subtask;
    for (const auto& x : tasks) {
      if (x.vertex == v && x.subtask == subtask) t = x;
    }
    std::map<std::string, double> sums;
    for (auto& [id, value] : SubtaskMetrics(v, subtask, false)) sums[id] += value;
    int64_t start = t.start_wall_ms > 0 ? t.start_wall_ms : -1;
    int64_t end = t.end_wall_ms > 0 ? t.end_wall_ms : -1;
    return Json{{"subtask", subtask},
                {"status", TaskStateName(t.state)},
                {"attempt", t.attempt},
                {"endpoint", "localhost"},
                {"start-time", start},
                {"end-time", end},
                {"duration", start < 0 ? -1 : (end < 0 ? now : end) - start},
                {"metrics", IoMetrics(sums)},
                {"taskmanager-id", "weir"},
                {"start_time", start}};
  }

  RestResponse Vertex(const RestRequest& req) {
    auto found = FindVertex(req);
    if (auto* err = std::get_if<RestResponse>(&found)) return *err;
    int v = std::get<int>(found);
    const JobVertex& vertex = master_->graph().vertices()[static_cast<size_t>(v)];
    auto tasks = master_->task_executions();
    int64_t now = NowMs();
    Json subtasks = Json::array();
    for (int s = 0; s < vertex.parallelism; ++s) subtasks.push_back(SubtaskJson(v, s, tasks, now));
    return Ok(Json{{"id", vertex_ids_[static_cast<size_t>(v)]},
                   {"name", vertex.name},
                   {"parallelism", vertex.parallelism},
                   {"maxParallelism", master_->graph().max_parallelism()},
                   {"now", now},
                   {"subtasks", std::move(subtasks)}});
  }

  RestResponse Subtask(const RestRequest& req) {
    auto found = FindVertex(req);
    if (auto* err = std::get_if<RestResponse>(&found)) return *err;
    int v = std::get<int>(found);
    auto index = ParseSubtask(req, v);
    if (auto* err = std::get_if<RestResponse>(&index)) return *err;
    return Ok(SubtaskJson(v, std::get<int>(index), master_->task_executions(), NowMs()));
  }

  // Each running subtask's input watermark, as Flink lists it: "<subtask>.currentInputWatermark"
  // and the milliseconds as a string, Long.MIN_VALUE's digits until one arrives.
  RestResponse Watermarks(const RestRequest& req) {
    auto found = FindVertex(req);
    if (auto* err = std::get_if<RestResponse>(&found)) return *err;
    const int v = std::get<int>(found);
    const int parallelism = master_->graph().vertices()[static_cast<size_t>(v)].parallelism;
    Json out = Json::array();
    for (int s = 0; s < parallelism; ++s) {
      for (const auto& [id, value] : SubtaskMetrics(v, s, false)) {
        auto ms = AsLong(value);
        if (id != "currentInputWatermark" || !ms) continue;
        out.push_back(Json{{"id", std::to_string(s) + ".currentInputWatermark"},
                           {"value", std::to_string(*ms)}});
      }
    }
    return Ok(out);
  }

  // Flink's levels from the share of time back-pressured: up to 10% ok, up to 50% low.
  static const char* Level(double ratio) {
    return ratio <= 0.10 ? "ok" : ratio <= 0.5 ? "low" : "high";
  }

  RestResponse Backpressure(const RestRequest& req) {
    auto found = FindVertex(req);
    if (auto* err = std::get_if<RestResponse>(&found)) return *err;
    int v = std::get<int>(found);
    int parallelism = master_->graph().vertices()[static_cast<size_t>(v)].parallelism;
    Json subtasks = Json::array();
    double worst = 0;
    int attempt = master_->status_info().restarts;
    for (int s = 0; s < parallelism; ++s) {
      std::map<std::string, double> m;
      for (auto& [id, value] : SubtaskMetrics(v, s, false)) m[id] = value;
      auto ratio = [&](const char* name) {
        return std::clamp(m.contains(name) ? m[name] / 1000.0 : 0.0, 0.0, 1.0);
      };
      double bp = ratio("backPressuredTimeMsPerSecond");
      worst = std::max(worst, bp);
      subtasks.push_back(Json{{"subtask", s},
                              {"attempt-number", attempt},
                              {"backpressure-level", Level(bp)},
                              {"ratio", bp},
                              {"idleRatio", ratio("idleTimeMsPerSecond")},
                              {"busyRatio", ratio("busyTimeMsPerSecond")},
                              {"backpressured-ratio", bp}});
    }
    return Ok(Json{{"status", "ok"},
                   {"backpressure-level", Level(worst)},
                   {"end-timestamp", NowMs()},
                   {"subtasks", std::move(subtasks)}});
  }

  // ---- Checkpoints ----------------------------------------------------------------------------

  static const char* StatusName(CheckpointStats::Status s) {
    switch (s) {
      case CheckpointStats::Status::kInProgress:
        return "IN_PROGRESS";
      case CheckpointStats::Status::kCompleted:
        return "COMPLETED";
      case CheckpointStats::Status::kFailed:
        return "FAILED";
    }
    return "IN_PROGRESS";
  }

  static const char* TypeName(CheckpointType t) {
    switch (t) {
      case CheckpointType::kCheckpoint:
        return "CHECKPOINT";
      case CheckpointType::kSavepoint:
        return "SAVEPOINT";
      case CheckpointType::kStopWithSavepoint:
        return "SYNC_SAVEPOINT";
    }
    return "CHECKPOINT";
  }

  Json CheckpointJson(const CheckpointStats& c, bool with_tasks) const {
    Json tasks = Json::object();
    if (with_tasks) {
      const auto& vertices = master_->graph().vertices();
      for (size_t v = 0; v < vertices.size(); ++v) {
        int acked = 0;
        int64_t latest = 0, alignment = 0;
        uint64_t size = 0, checkpointed = 0;
        for (int s = 0; s < vertices[v].parallelism; ++s) {
          auto it = c.acks.find(first_task_[v] + s);
          if (it == c.acks.end()) continue;
          ++acked;
          latest = std::max(latest, it->second.ack_wall_ms);
          size += it->second.state_size;
          checkpointed += it->second.checkpointed_size;
          alignment = std::max(alignment, it->second.alignment_ms);
        }
        const char* status = acked == vertices[v].parallelism ? "COMPLETED" : StatusName(c.status);
        tasks[vertex_ids_[v]] =
            Json{{"id", c.id},
                 {"status", status},
                 {"latest_ack_timestamp", latest},
                 {"checkpointed_size", checkpointed},
                 {"state_size", size},
                 {"end_to_end_duration", latest > 0 ? latest - c.trigger_wall_ms : 0},
                 {"alignment_buffered", 0},
                 {"processed_data", 0},
                 {"persisted_data", 0},
                 {"num_subtasks", vertices[v].parallelism},
                 {"num_acknowledged_subtasks", acked}};
      }
    }
    const char* cls = c.status == CheckpointStats::Status::kCompleted ? "completed"
                      : c.status == CheckpointStats::Status::kFailed  ? "failed"
                                                                      : "in_progress";
    Json j{{"className", cls},
           {"id", c.id},
           {"status", StatusName(c.status)},
           {"is_savepoint", c.savepoint()},
           {"savepointFormat", c.savepoint() ? Json("CANONICAL") : Json(nullptr)},
           {"trigger_timestamp", c.trigger_wall_ms},
           {"latest_ack_timestamp", c.latest_ack_wall_ms},
           {"checkpointed_size", c.checkpointed_size},
           {"state_size", c.state_size},
           {"end_to_end_duration", c.end_to_end_ms()},
           {"alignment_duration", c.alignment_ms},
           {"alignment_buffered", 0},
           {"processed_data", 0},
           {"persisted_data", 0},
           {"num_subtasks", c.num_subtasks},
           {"num_acknowledged_subtasks", static_cast<int>(c.acks.size())},
           {"checkpoint_type", TypeName(c.type)},
           {"tasks", std::move(tasks)}};
    if (c.status == CheckpointStats::Status::kCompleted) {
      j["external_path"] = AbsolutePath(c.external_path);  // as savepoints': usable anywhere
      j["discarded"] = false;
    }
    if (c.status == CheckpointStats::Status::kFailed) {
      j["failure_timestamp"] = c.end_wall_ms;
      j["failure_message"] = c.failure_message;
    }
    return j;
  }

  static Json SummaryJson(const StatsSummary& s) {
    return Json{{"min", s.min}, {"max", s.max}, {"avg", s.avg}, {"p50", s.p50},
                {"p90", s.p90}, {"p95", s.p95}, {"p99", s.p99}, {"p999", s.p999}};
  }

  RestResponse Checkpoints(const RestRequest&) {
    CheckpointStatsSnapshot s = master_->checkpoint_stats().Snapshot();
    Json history = Json::array();
    for (const auto& c : s.history) history.push_back(CheckpointJson(c, false));
    auto latest = [&](const std::optional<CheckpointStats>& c) {
      return c ? CheckpointJson(*c, false) : Json(nullptr);
    };
    Json restored = nullptr;
    if (s.latest_restored) {
      restored = Json{{"id", s.latest_restored->id},
                      {"restore_timestamp", s.latest_restored->restore_wall_ms},
                      {"is_savepoint", s.latest_restored->savepoint},
                      {"external_path", AbsolutePath(s.latest_restored->external_path)}};
    }
    StatsSummary zero;
    return Ok(Json{{"counts",
                    {{"restored", s.restored},
                     {"total", s.total},
                     {"in_progress", s.in_progress},
                     {"completed", s.completed},
                     {"failed", s.failed}}},
                   {"summary",
                    {{"checkpointed_size", SummaryJson(s.checkpointed_size)},
                     {"state_size", SummaryJson(s.state_size)},
                     {"end_to_end_duration", SummaryJson(s.end_to_end_duration)},
                     {"alignment_buffered", SummaryJson(zero)},
                     {"processed_data", SummaryJson(zero)},
                     {"persisted_data", SummaryJson(zero)}}},
                   {"latest",
                    {{"completed", latest(s.latest_completed)},
                     {"savepoint", latest(s.latest_savepoint)},
                     {"failed", latest(s.latest_failed)},
                     {"restored", restored}}},
                   {"history", std::move(history)}});
  }

  RestResponse CheckpointConfig(const RestRequest&) {
    const CheckpointOptions& o = master_->checkpointing();
    if (!o.enabled) {
      return RestResponse::Error(404, "checkpointing is not enabled for job " + master_->job_id() +
                                          " (execution.checkpointing.interval is unset)");
    }
    auto backend = master_->config().Get(state_backend_options::kType);
    bool rocksdb = backend.ok() && *backend == "rocksdb";
    using R = CheckpointOptions::Retention;
    return Ok(
        Json{{"mode", o.exactly_once ? "exactly_once" : "at_least_once"},
             {"interval", o.interval.count()},
             {"timeout", o.timeout.count()},
             {"min_pause", o.min_pause.count()},
             {"max_concurrent", o.max_concurrent},
             {"externalization",
              {{"enabled", o.retention != R::kNoExternalized},
               {"delete_on_cancellation", o.retention != R::kRetainOnCancellation}}},
             {"state_backend", rocksdb ? "EmbeddedRocksDBStateBackend" : "HashMapStateBackend"},
             {"checkpoint_storage", "FileSystemCheckpointStorage"},
             {"unaligned_checkpoints", false},
             {"tolerable_failed_checkpoints", o.tolerable_failures},
             {"aligned_checkpoint_timeout", 0},
             {"checkpoints_after_tasks_finish", true},
             {"state_changelog_enabled", false},
             {"changelog_periodic_materialization_interval", 0},
             {"changelog_storage", "memory"}});
  }

  // The checkpoint the request names, or the error response.
  std::variant<CheckpointStats, RestResponse> FindCheckpoint(const RestRequest& req) const {
    const std::string& text = req.params.at(":checkpointid");
    auto id = ParseIndex(text, std::numeric_limits<int64_t>::max());
    if (!id) return RestResponse::Error(400, "'" + text + "' is not a checkpoint id");
    auto c = master_->checkpoint_stats().Find(*id);
    if (!c) {
      return RestResponse::Error(404, "checkpoint " + text + " of job " + master_->job_id() +
                                          " is unknown, or too old to be in the history");
    }
    return std::move(*c);
  }

  RestResponse CheckpointDetails(const RestRequest& req) {
    auto c = FindCheckpoint(req);
    if (auto* error = std::get_if<RestResponse>(&c)) return std::move(*error);
    return Ok(CheckpointJson(std::get<CheckpointStats>(c), true));
  }

  // One vertex's part in a checkpoint, subtask by subtask, as Flink reports it: when each
  // acknowledged, what it wrote, how long the trigger took to reach it (start_delay: to a
  // source's trigger or to the first barrier), and how long its synchronous part (the task
  // thread's) and its asynchronous part (writing the snapshot) took.
  RestResponse CheckpointSubtasks(const RestRequest& req) {
    auto found = FindCheckpoint(req);
    if (auto* error = std::get_if<RestResponse>(&found)) return std::move(*error);
    auto vertex = FindVertex(req);
    if (auto* error = std::get_if<RestResponse>(&vertex)) return std::move(*error);
    const CheckpointStats& c = std::get<CheckpointStats>(found);
    const int v = std::get<int>(vertex);
    const int parallelism = master_->graph().vertices()[static_cast<size_t>(v)].parallelism;

    Json subtasks = Json::array();
    std::vector<int64_t> state, checkpointed, end_to_end, sync, async, alignment, start_delay;
    int64_t latest = 0;
    for (int s = 0; s < parallelism; ++s) {
      auto it = c.acks.find(first_task_[static_cast<size_t>(v)] + s);
      if (it == c.acks.end()) {
        subtasks.push_back(Json{{"className", "pending_or_failed"}, {"index", s},
                                {"status", "pending_or_failed"}});
        continue;
      }
      const SubtaskCheckpointStats& a = it->second;
      const int64_t duration = a.ack_wall_ms - c.trigger_wall_ms;
      latest = std::max(latest, a.ack_wall_ms);
      state.push_back(static_cast<int64_t>(a.state_size));
      checkpointed.push_back(static_cast<int64_t>(a.checkpointed_size));
      end_to_end.push_back(duration);
      sync.push_back(a.sync_ms);
      async.push_back(a.async_ms);
      alignment.push_back(a.alignment_ms);
      start_delay.push_back(a.start_delay_ms);
      subtasks.push_back(Json{
          {"className", "completed"},
          {"index", s},
          {"status", "completed"},
          {"ack_timestamp", a.ack_wall_ms},
          {"end_to_end_duration", duration},
          {"state_size", a.state_size},
          {"checkpointed_size", a.checkpointed_size},
          {"checkpoint", Json{{"sync", a.sync_ms}, {"async", a.async_ms}}},
          // Aligned checkpoints only: nothing is buffered, processed or persisted in flight.
          {"alignment",
           Json{{"buffered", 0}, {"processed", 0}, {"persisted", 0}, {"duration", a.alignment_ms}}},
          {"start_delay", a.start_delay_ms},
          {"unaligned_checkpoint", false},
          {"aborted", false}});
    }
    const int acked = static_cast<int>(state.size());
    const StatsSummary none;
    Json j{{"id", c.id},
           {"status", acked == parallelism ? "COMPLETED" : StatusName(c.status)},
           {"latest_ack_timestamp", latest},
           {"state_size", std::accumulate(state.begin(), state.end(), int64_t{0})},
           {"checkpointed_size",
            std::accumulate(checkpointed.begin(), checkpointed.end(), int64_t{0})},
           {"end_to_end_duration", latest > 0 ? latest - c.trigger_wall_ms : 0},
           {"alignment_buffered", 0},
           {"processed_data", 0},
           {"persisted_data", 0},
           {"num_subtasks", parallelism},
           {"num_acknowledged_subtasks", acked},
           {"summary",
            Json{{"state_size", SummaryJson(Summarize(state))},
                 {"checkpointed_size", SummaryJson(Summarize(checkpointed))},
                 {"end_to_end_duration", SummaryJson(Summarize(end_to_end))},
                 {"checkpoint_duration", Json{{"sync", SummaryJson(Summarize(sync))},
                                              {"async", SummaryJson(Summarize(async))}}},
                 {"alignment", Json{{"buffered", SummaryJson(none)},
                                    {"processed", SummaryJson(none)},
                                    {"persisted", SummaryJson(none)},
                                    {"duration", SummaryJson(Summarize(alignment))}}},
                 {"start_delay", SummaryJson(Summarize(start_delay))}}},
           {"subtasks", std::move(subtasks)}};
    return Ok(std::move(j));
  }

  // Checks and takes the optional client-chosen triggerId of a request body.
  static Result<std::string> TriggerIdField(const Json& body) {
    WEIR_ASSIGN_OR_RETURN(std::string id, StringField(body, "triggerId"));
    // Present, it must be an id: an empty one is a client's mistake, not "choose one for me".
    bool present = body.contains("triggerId") && !body["triggerId"].is_null();
    if (!present) return id;
    std::optional<std::string> checked = Hex32(id);
    if (!checked) return Status::InvalidArgument("triggerId must be 32 hexadecimal digits");
    return *checked;
  }

  static RestResponse Accepted(const Result<std::string>& id) {
    if (!id.ok()) {
      int status = id.status().code() == StatusCode::kAlreadyExists ? 409 : 429;
      return RestResponse::Error(status, id.status().message());
    }
    return Ok(Json{{"request-id", *id}}, 202);
  }

  // A request retried with its trigger id gets the operation it started, before any check
  // that the operation itself may have made fail (a stop ends the job).
  std::optional<RestResponse> Retried(const std::string& trigger, AsyncOperations::Kind kind) {
    if (trigger.empty() || !operations_->Has(trigger, kind)) return std::nullopt;
    return Ok(Json{{"request-id", trigger}}, 202);
  }

  std::optional<RestResponse> CheckRunning() const {
    JobStatus s = master_->status_info().status;
    if (s == JobStatus::kFinished || s == JobStatus::kFailed || s == JobStatus::kCanceled) {
      return RestResponse::Error(
          409, "job " + master_->job_id() + " has ended (" + std::string(JobStatusName(s)) + ")");
    }
    return std::nullopt;
  }

  RestResponse TriggerCheckpoint(const RestRequest& req) {
    auto body = ParseBody(req, {"triggerId", "checkpointType"});
    if (!body.ok()) return RestResponse::Error(400, body.status().message());
    auto trigger_id = TriggerIdField(*body);
    if (!trigger_id.ok()) return RestResponse::Error(400, trigger_id.status().message());
    auto type = StringField(*body, "checkpointType");
    if (!type.ok()) return RestResponse::Error(400, type.status().message());
    if (!type->empty() && *type != "CONFIGURED" && *type != "FULL" && *type != "INCREMENTAL") {
      return RestResponse::Error(400, "checkpointType must be CONFIGURED, FULL or INCREMENTAL");
    }
    if (!master_->checkpointing().enabled) {
      return RestResponse::Error(409, "job " + master_->job_id() +
                                          " does not take checkpoints (execution.checkpointing."
                                          "interval is unset); take a savepoint instead");
    }
    // The job takes the kind of checkpoint it is configured for; another kind is refused (a
    // well-formed request this job cannot do: 409), not silently taken as the configured one.
    const bool incremental = master_->checkpointing().incremental;
    if ((*type == "FULL" && incremental) || (*type == "INCREMENTAL" && !incremental)) {
      return RestResponse::Error(
          409, "checkpointType " + *type + ": this job takes " +
                   (incremental ? "incremental" : "full") +
                   " checkpoints only (execution.checkpointing.incremental); ask for "
                   "CONFIGURED, or take a savepoint for a full copy");
    }
    if (auto retry = Retried(*trigger_id, AsyncOperations::Kind::kCheckpoint)) return *retry;
    if (auto ended = CheckRunning()) return *ended;
    return Accepted(operations_->Add(
        AsyncOperations::Kind::kCheckpoint,
        [this] { return AsyncOperations::Future(master_->TriggerCheckpointAsync()); },
        *trigger_id));
  }

  RestResponse TriggerSavepoint(const RestRequest& req) {
    auto body = ParseBody(req, {"triggerId", "target-directory", "cancel-job", "formatType"});
    if (!body.ok()) return RestResponse::Error(400, body.status().message());
    auto trigger_id = TriggerIdField(*body);
    if (!trigger_id.ok()) return RestResponse::Error(400, trigger_id.status().message());
    auto target = StringField(*body, "target-directory");
    if (!target.ok()) return RestResponse::Error(400, target.status().message());
    auto cancel = BoolField(*body, "cancel-job");
    if (!cancel.ok()) return RestResponse::Error(400, cancel.status().message());
    if (*cancel) {
      return RestResponse::Error(400,
                                 "cancel-job is not supported: stop the job with a "
                                 "savepoint with POST /jobs/:jobid/stop");
    }
    if (auto bad = CheckFormatType(*body)) return *bad;
    return StartSavepoint(*target, /*stop=*/false, *trigger_id);
  }

  static std::optional<RestResponse> CheckFormatType(const Json& body) {
    auto format = StringField(body, "formatType");
    if (!format.ok()) return RestResponse::Error(400, format.status().message());
    if (!format->empty() && *format != "CANONICAL") {
      return RestResponse::Error(400,
                                 "formatType must be CANONICAL: savepoints are always in "
                                 "the canonical format");
    }
    return std::nullopt;
  }

  RestResponse Stop(const RestRequest& req) {
    auto body = ParseBody(req, {"triggerId", "targetDirectory", "drain", "formatType"});
    if (!body.ok()) return RestResponse::Error(400, body.status().message());
    auto trigger_id = TriggerIdField(*body);
    if (!trigger_id.ok()) return RestResponse::Error(400, trigger_id.status().message());
    auto target = StringField(*body, "targetDirectory");
    if (!target.ok()) return RestResponse::Error(400, target.status().message());
    // drain: the sources emit the maximum watermark first, so event-time timers fire.
    auto drain = BoolField(*body, "drain");
    if (!drain.ok()) return RestResponse::Error(400, drain.status().message());
    if (auto bad = CheckFormatType(*body)) return *bad;
    return StartSavepoint(*target, /*stop=*/true, *trigger_id, *drain);
  }

  RestResponse StartSavepoint(const std::string& target, bool stop, const std::string& trigger,
                              bool drain = false) {
    if (auto retry = Retried(trigger, AsyncOperations::Kind::kSavepoint)) return *retry;
    std::string dir;
    if (!target.empty()) {
      auto checked = CheckSavepointTarget(target);
      if (!checked.ok()) return RestResponse::Error(400, checked.status().message());
      dir = *checked;
    }
    if (auto ended = CheckRunning()) return *ended;
    return Accepted(operations_->Add(
        AsyncOperations::Kind::kSavepoint,
        [&] { return AsyncOperations::Future(master_->TriggerSavepointAsync(dir, stop, drain)); },
        trigger));
  }

  std::variant<AsyncOperations::State, RestResponse> Operation(const RestRequest& req,
                                                               AsyncOperations::Kind kind) {
    const std::string& given = req.params.at(":triggerid");
    const std::optional<std::string> checked = Hex32(given);
    if (!checked) {
      return RestResponse::Error(400,
                                 "'" + given + "' is not a trigger id (32 hexadecimal digits)");
    }
    const std::string& id = *checked;
    auto state = operations_->Get(id, kind);
    if (!state) {
      return RestResponse::Error(
          404, std::string("no ") +
                   (kind == AsyncOperations::Kind::kSavepoint ? "savepoint" : "checkpoint") +
                   " was triggered with id " + id);
    }
    return *state;
  }

  RestResponse SavepointStatus(const RestRequest& req) {
    auto op = Operation(req, AsyncOperations::Kind::kSavepoint);
    if (auto* err = std::get_if<RestResponse>(&op)) return *err;
    const auto& s = std::get<AsyncOperations::State>(op);
    if (!s.done) return Ok(Json{{"status", {{"id", "IN_PROGRESS"}}}});
    Json operation = s.error.ok() ? Json{{"location", AbsolutePath(s.location)}}
                                  : Json{{"failure-cause", FailureCause(s.error)}};
    return Ok(Json{{"status", {{"id", "COMPLETED"}}}, {"operation", std::move(operation)}});
  }

  RestResponse CheckpointStatus(const RestRequest& req) {
    auto op = Operation(req, AsyncOperations::Kind::kCheckpoint);
    if (auto* err = std::get_if<RestResponse>(&op)) return *err;
    const auto& s = std::get<AsyncOperations::State>(op);
    if (!s.done) return Ok(Json{{"status", {{"id", "IN_PROGRESS"}}}});
    Json operation = s.error.ok() ? Json{{"checkpointId", s.checkpoint_id}}
                                  : Json{{"failureCause", FailureCause(s.error)}};
    return Ok(Json{{"status", {{"id", "COMPLETED"}}}, {"operation", std::move(operation)}});
  }

  JobMaster* master_;
  AsyncOperations* operations_;
  std::vector<std::string> vertex_ids_;
  std::vector<int> first_task_;  // task index of each vertex's subtask 0
};

}  // namespace

std::shared_ptr<void> AddJobRoutes(RestRouter& router, JobMaster* master,
                                   AsyncOperations* operations) {
  auto handlers = std::make_shared<JobHandlers>(master, operations);
  handlers->Register(router);
  return handlers;
}

}  // namespace weir
