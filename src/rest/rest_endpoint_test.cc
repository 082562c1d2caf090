// The REST API of a job running in this process, through HTTP: what a client sees.
#include "rest/rest_endpoint.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "rest/job_registry.h"
#include "testing/test_util.h"
#include "weir/weir.h"

namespace weir {
namespace {

using Json = nlohmann::json;
using testing::TempDir;

int PortOf(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

// How long CountingSum stalls at every thousandth number; a fixture may change it before
// the job starts.
std::atomic<int64_t> g_stall_us{200};

class CountingSum final : public KeyedProcessFunction<int64_t, int64_t, int64_t> {
 public:
  void Open(RuntimeContext& ctx) override {
    sum_ = ctx.GetState(ValueStateDescriptor<int64_t>("sum"));
    seen_ = &ctx.metric_group().AddGroup("user").AddCounter("seen");
  }
  void ProcessElement(const int64_t& v, Context&, Collector<int64_t>& out) override {
    seen_->Inc();
    sum_.Update(sum_.ValueOr(0) + v);
    if (v % 1000 == 0) std::this_thread::sleep_for(std::chrono::microseconds(g_stall_us.load()));
  }

 private:
  ValueState<int64_t> sum_;
  Counter* seen_ = nullptr;
};

class RestEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("WEIR_RUNTIME_DIR", dir_.Join("run").c_str(), 1);
    Configuration config;
    config.Set("rest.bind-port", "0");
    config.Set("execution.checkpointing.dir", dir_.Join("checkpoints"));
    config.Set("execution.checkpointing.savepoint-dir", dir_.Join("savepoints"));
    Configure(config);
    env_ = std::make_unique<StreamExecutionEnvironment>(config);
    env_->EnableCheckpointing(std::chrono::seconds(60));
    BuildJob(env_->FromSequence(0, int64_t{1} << 40).Uid("numbers"))
        .KeyBy([](int64_t v) { return v % 4; })
        .Process(CountingSum())
        .Name("sum")
        .Uid("sum")
        .AddSink([](int64_t) {})
        .Name("drop");
    client_ = env_->ExecuteAsync("rest test");
    auto jobs = ListRegisteredJobs();
    ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
    ASSERT_EQ(jobs->size(), 1u);
    job_id_ = client_->job_id();
    EXPECT_EQ((*jobs)[0].job_id, job_id_);
    rest_url_ = (*jobs)[0].rest_url;
    http_ = std::make_unique<httplib::Client>(rest_url_);
    http_->set_read_timeout(10);
  }

  // What a test adds to the job's configuration.
  virtual void Configure(Configuration& config) {}
  // What a test puts between the numbers and their sum.
  virtual DataStream<int64_t> BuildJob(DataStream<int64_t> numbers) { return numbers; }

  void TearDown() override {
    if (client_) {
      client_->Cancel();
      client_->Wait();
    }
    client_.reset();
    ::unsetenv("WEIR_RUNTIME_DIR");
    g_stall_us = 200;
  }

  Json Get(const std::string& path, int expect = 200) {
    auto r = http_->Get(path.c_str());
    EXPECT_TRUE(r) << path;
    if (!r) return nullptr;
    EXPECT_EQ(r->status, expect) << path << ": " << r->body;
    if (r->get_header_value("Content-Type").starts_with("application/json")) {
      return Json::parse(r->body);
    }
    return r->body;
  }
  Json Post(const std::string& path, const std::string& body, int expect) {
    auto r = http_->Post(path.c_str(), body, "application/json");
    EXPECT_TRUE(r) << path;
    if (!r) return nullptr;
    EXPECT_EQ(r->status, expect) << path << ": " << r->body;
    return Json::parse(r->body);
  }
  // Polls an asynchronous operation until it completes.
  Json Await(const std::string& path) {
    for (int i = 0; i < 600; ++i) {
      Json j = Get(path);
      if (j["status"]["id"] == "COMPLETED") return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << path << " did not complete";
    return nullptr;
  }

  // Sends `request` as it is on a new connection, which it should ask to close; the whole
  // answer, or what went wrong. For requests cpp-httplib's client would not send as they are.
  std::string RawAnswer(const std::string& request) {
    const int port = PortOf(rest_url_);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{3, 0};  // the answer comes at once, or the server waits for a body
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      answer = "no connection";
    } else if (::write(fd, request.data(), request.size()) !=
               static_cast<ssize_t>(request.size())) {
      answer = "not sent";
    } else {
      char buf[512];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
        answer.append(buf, static_cast<size_t>(n));
      }
      if (answer.empty()) answer = "no answer within 3 s";
    }
    ::close(fd);
    return answer;
  }

  TempDir dir_;
  std::string rest_url_;
  std::unique_ptr<StreamExecutionEnvironment> env_;
  std::unique_ptr<JobClient> client_;
  std::unique_ptr<httplib::Client> http_;
  std::string job_id_;
};

TEST_F(RestEndpointTest, JobsVerticesAndMetricsAsFlinkShowsThem) {
  Json overview = Get("/jobs/overview");
  ASSERT_EQ(overview["jobs"].size(), 1u);
  EXPECT_EQ(overview["jobs"][0]["jid"], job_id_);
  EXPECT_EQ(overview["jobs"][0]["name"], "rest test");
  EXPECT_EQ(Get("/jobs")["jobs"][0]["id"], job_id_);
  EXPECT_EQ(Get("/overview")["jobs-running"], 1);

  Json job = Get("/jobs/" + job_id_);
  EXPECT_EQ(job["state"], "RUNNING");
  ASSERT_EQ(job["vertices"].size(), 2u);
  EXPECT_EQ(job["vertices"][1]["name"], "sum -> drop");
  EXPECT_EQ(job["plan"]["nodes"][1]["inputs"][0]["ship_strategy"], "HASH");
  std::string vertex = job["vertices"][1]["id"];
  // Records flow: the keyed vertex reads what the source writes.
  int64_t read = 0;
  for (int i = 0; i < 100 && read == 0; ++i) {
    read = Get("/jobs/" + job_id_)["vertices"][1]["metrics"]["read-records"];
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GT(read, 0);

  Json names = Get("/jobs/" + job_id_ + "/vertices/" + vertex + "/subtasks/0/metrics");
  bool has_busy = false, has_user = false;
  for (const auto& m : names) {
    has_busy |= m["id"] == "busyTimeMsPerSecond";
    has_user |= m["id"] == "sum.user.seen";
  }
  EXPECT_TRUE(has_busy) << names.dump();
  EXPECT_TRUE(has_user) << names.dump();
  Json values = Get("/jobs/" + job_id_ + "/vertices/" + vertex +
                    "/subtasks/metrics?get=numRecordsIn,idleTimeMsPerSecond");
  ASSERT_EQ(values.size(), 2u) << values.dump();
  EXPECT_GT(values[0]["sum"].get<double>(), 0);
  EXPECT_EQ(Get("/jobs/" + job_id_ + "/vertices/" + vertex + "/backpressure")["status"], "ok");
  EXPECT_EQ(Get("/jobs/" + job_id_ + "/vertices/" + vertex)["subtasks"][0]["status"], "RUNNING");

  std::string prometheus = Get("/metrics");
  EXPECT_NE(prometheus.find("weir_operator_user_seen{job_id=\"" + job_id_), std::string::npos)
      << prometheus;
  EXPECT_NE(prometheus.find("weir_task_backPressuredTimeMsPerSecond{"), std::string::npos);
  EXPECT_NE(prometheus.find("weir_job_numRestarts{"), std::string::npos);
}

TEST_F(RestEndpointTest, BadRequestsGetClearErrors) {
  std::string job = "/jobs/" + job_id_;
  EXPECT_EQ(Get("/jobs/not-a-job", 400)["errors"][0],
            "'not-a-job' is not a job id (32 hexadecimal digits)");
  Get("/jobs/" + std::string(32, '0'), 404);
  Get("/no/such/path", 404);
  Get(job + "/vertices/" + std::string(32, 'f'), 404);
  Get(job + "/checkpoints/details/12345", 404);
  Get(job + "/checkpoints/details/x", 400);
  Get(job + "/savepoints/" + std::string(32, 'e'), 404);
  Get(job + "/exceptions?maxExceptions=-1", 400);
  auto del = http_->Delete(job.c_str());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
  EXPECT_EQ(del->get_header_value("Allow"), "GET, PATCH");
  Post(job + "/savepoints", "{not json", 400);
  Post(job + "/savepoints", "[1]", 400);
  Post(job + "/savepoints", R"({"target-directory": 5})", 400);
  Json up = Post(job + "/savepoints", R"({"target-directory": "../elsewhere"})", 400);
  EXPECT_NE(up["errors"][0].get<std::string>().find("'..'"), std::string::npos) << up.dump();
  testing::WriteFile(dir_.Join("a-file"), "x");
  Post(job + "/stop", Json{{"targetDirectory", dir_.Join("a-file")}}.dump(), 400);
  Post(job + "/checkpoints", R"({"triggerId": "nope"})", 400);
  // A field the request does not take (here a stop's) is refused, not ignored.
  Json misplaced = Post(job + "/savepoints", R"({"targetDirectory": "/elsewhere"})", 400);
  EXPECT_NE(misplaced["errors"][0].get<std::string>().find("'targetDirectory'"),
            std::string::npos)
      << misplaced.dump();
  // Its checkpoints are full ones: an incremental one is refused, not taken as a full one.
  Json kind = Post(job + "/checkpoints", R"({"checkpointType": "INCREMENTAL"})", 409);
  EXPECT_NE(kind["errors"][0].get<std::string>().find("full checkpoints only"), std::string::npos)
      << kind.dump();
  auto big =
      http_->Post((job + "/savepoints").c_str(), std::string(2 << 20, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  httplib::Headers host = {{"Host", "evil.example:80"}};
  auto rebound = http_->Get("/jobs/overview", host);
  ASSERT_TRUE(rebound);
  EXPECT_EQ(rebound->status, 403);
  EXPECT_EQ(Get(job)["state"], "RUNNING");  // none of it hurt the job
}

// What schemathesis found (tests/operate/fuzz_test.sh), kept here as plain cases.
TEST_F(RestEndpointTest, WhatTheFuzzerFound) {
  std::string job = "/jobs/" + job_id_;
  // A method cpp-httplib does not know is a 405 with the path's methods, not a 400.
  httplib::Request query;
  query.method = "QUERY";
  query.path = job + "/checkpoints";
  query.body = R"({"a": 1})";
  query.set_header("Content-Type", "application/json");
  auto r = http_->send(query);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405) << r->body;
  EXPECT_EQ(r->get_header_value("Allow"), "GET, POST");
  // A GET with a body leaves it unread: the connection is closed, and the next request on a
  // new one is answered as it should be, not read from the leftover body.
  httplib::Request get;
  get.method = "GET";
  get.path = job;
  get.body = R"({"a": 1})";
  get.set_header("Content-Type", "application/json");
  r = http_->send(get);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Connection"), "close");
  EXPECT_EQ(Get(job)["state"], "RUNNING");
  // A triggerId that is there must be an id; null is the same as none.
  Post(job + "/checkpoints", R"({"triggerId": ""})", 400);
  Json none = Post(job + "/savepoints", R"({"triggerId": null, "cancel-job": null})", 202);
  Await(job + "/savepoints/" + none["request-id"].get<std::string>());
  // Subtask ranges: six digits at most; a reversed one is read the right way round.
  std::string vertex = Get(job)["vertices"][1]["id"];
  std::string metrics = job + "/vertices/" + vertex + "/subtasks/metrics?get=numRecordsIn";
  // The subtask registers its metrics once it runs: a loaded machine may take a while.
  for (int i = 0; i < 500 && Get(metrics + "&subtasks=0-0").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Get(metrics + "&subtasks=0-0").size(), 1u);
  EXPECT_EQ(Get(metrics + "&subtasks=3-0").size(), 1u);
  EXPECT_TRUE(Get(metrics + "&subtasks=99").empty()) << "no subtask 99: none, not every one";
  Get(metrics + "&subtasks=0000001", 400);
  Get(metrics + "&agg=MAX", 400);
}

// A trigger id already in use by another kind of operation is refused (409), and the refused
// request triggers nothing: the job neither stops nor takes a savepoint. Ids are read in upper
// case too, as Flink does.
TEST_F(RestEndpointTest, ARefusedTriggerIdTriggersNothing) {
  std::string job = "/jobs/" + job_id_;
  const std::string id = "0123456789abcdef0123456789abcdef";
  Post(job + "/checkpoints", Json{{"triggerId", "0123456789ABCDEF0123456789abcdef"}}.dump(), 202);
  Await(job + "/checkpoints/" + id);
  Post(job + "/stop", Json{{"triggerId", id}, {"targetDirectory", dir_.Join("stopped")}}.dump(),
       409);
  Post(job + "/savepoints",
       Json{{"triggerId", id}, {"target-directory", dir_.Join("saved")}}.dump(), 409);
  // A checkpoint after them completes: the job still runs.
  Json next = Post(job + "/checkpoints", "", 202);
  Await(job + "/checkpoints/" + next["request-id"].get<std::string>());
  std::string upper = job_id_;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(Get("/jobs/" + upper)["state"], "RUNNING");
  for (const char* dir : {"stopped", "saved"}) {
    if (!std::filesystem::exists(dir_.Join(dir))) continue;
    EXPECT_TRUE(std::filesystem::is_empty(dir_.Join(dir))) << dir << " has a savepoint";
  }
}

// A request retried with its trigger id (its answer was lost) gets the operation it started,
// and nothing is triggered twice, as in Flink.
TEST_F(RestEndpointTest, ARetryWithTheSameTriggerIdGetsTheSameOperation) {
  std::string job = "/jobs/" + job_id_;
  const std::string body =
      Json{{"triggerId", "00112233445566778899aabbccddeeff"}, {"target-directory", dir_.Join("sp")}}
          .dump();
  Json first = Post(job + "/savepoints", body, 202);
  Json again = Post(job + "/savepoints", body, 202);
  EXPECT_EQ(first["request-id"], again["request-id"]);
  Await(job + "/savepoints/" + first["request-id"].get<std::string>());
  Json after = Post(job + "/savepoints", body, 202);  // also once it is done
  EXPECT_EQ(after["request-id"], first["request-id"]);
  size_t savepoints = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.Join("sp"))) {
    savepoints += e.is_directory() ? 1 : 0;
  }
  EXPECT_EQ(savepoints, 1u);
}

// A stop retried after it ended the job (its answer lost) gets its operation too, not 409.
TEST_F(RestEndpointTest, ARetriedStopGetsItsOperationAfterTheJobStopped) {
  std::string job = "/jobs/" + job_id_;
  const std::string body = Json{{"triggerId", "ffeeddccbbaa99887766554433221100"},
                                {"targetDirectory", dir_.Join("stopped")}}
                               .dump();
  Json first = Post(job + "/stop", body, 202);
  for (int i = 0; i < 600 && Get(job)["state"] == "RUNNING"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Get(job)["state"], "FINISHED");
  Json again = Post(job + "/stop", body, 202);  // the result waits, not fetched yet
  EXPECT_EQ(again["request-id"], first["request-id"]);
  Json done = Await(job + "/savepoints/" + first["request-id"].get<std::string>());
  EXPECT_TRUE(done["operation"].contains("location")) << done.dump();
}

// What a review found: requests without a body, hosts in other spellings, forms.
TEST_F(RestEndpointTest, BodilessRequestsLoopbackSpellingsAndForms) {
  const std::string job = "/jobs/" + job_id_;
  // A POST without a body (no Content-Length) is answered at once, as one with an empty body.
  const std::string posted = RawAnswer("POST " + job +
                                       "/checkpoints HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                       "Connection: close\r\n\r\n");
  ASSERT_TRUE(posted.starts_with("HTTP/1.1 202 Accepted\r\n")) << posted;
  const Json trigger = Json::parse(posted.substr(posted.find("\r\n\r\n") + 4));
  Await(job + "/checkpoints/" + trigger["request-id"].get<std::string>());
  // Loopback in other spellings is loopback; localhost in any case.
  for (const char* host : {"LOCALHOST:1", "127.1", "localhost"}) {
    auto r = http_->Get("/jobs/overview", httplib::Headers{{"Host", host}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << host;
  }
  // cpp-httplib's limit for form-encoded bodies (curl's default for --data) is said as it is.
  auto form = http_->Post((job + "/savepoints").c_str(), std::string(9000, 'x'),
                          "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 413);
  EXPECT_NE(form->body.find("application/json"), std::string::npos) << form->body;
  // A PATCH without a body, as Flink's documentation cancels a job with curl.
  const std::string cancel = RawAnswer("PATCH " + job +
                                       "?mode=cancel HTTP/1.1\r\nHost: localhost\r\n"
                                       "Connection: close\r\n\r\n");
  EXPECT_TRUE(cancel.starts_with("HTTP/1.1 202 Accepted\r\n")) << cancel;
  JobResult r = client_->Wait();
  EXPECT_TRUE(r.status.IsCancelled()) << r.status.ToString();
}

TEST_F(RestEndpointTest, CheckpointSavepointAndCancel) {
  std::string job = "/jobs/" + job_id_;
  Json trigger = Post(job + "/checkpoints", R"({"checkpointType": "FULL"})", 202);
  Json done = Await(job + "/checkpoints/" + trigger["request-id"].get<std::string>());
  ASSERT_TRUE(done["operation"].contains("checkpointId")) << done.dump();
  int64_t id = done["operation"]["checkpointId"];
  Json details = Get(job + "/checkpoints/details/" + std::to_string(id));
  EXPECT_EQ(details["status"], "COMPLETED");
  EXPECT_EQ(details["num_acknowledged_subtasks"], 2);
  // Each vertex's part, subtask by subtask: when each acknowledged, what it wrote, how long
  // the trigger took to reach it, and its synchronous and asynchronous parts, all of which
  // the end-to-end duration holds (each rounded down to a millisecond).
  ASSERT_FALSE(details["tasks"].empty());
  std::string vertex;
  for (const auto& [v, task] : details["tasks"].items()) {
    vertex = v;
    Json sub = Get(job + "/checkpoints/details/" + std::to_string(id) + "/subtasks/" + v);
    EXPECT_EQ(sub["id"], id);
    EXPECT_EQ(sub["status"], "COMPLETED");
    EXPECT_EQ(sub["num_subtasks"], task["num_subtasks"]);
    EXPECT_EQ(sub["num_acknowledged_subtasks"], task["num_subtasks"]);
    EXPECT_EQ(sub["state_size"], task["state_size"]);
    EXPECT_EQ(sub["latest_ack_timestamp"], task["latest_ack_timestamp"]);
    ASSERT_EQ(sub["subtasks"].size(), task["num_subtasks"].get<size_t>());
    int64_t longest_sync = 0, longest_start_delay = 0;
    for (size_t i = 0; i < sub["subtasks"].size(); ++i) {
      const Json& s = sub["subtasks"][i];
      EXPECT_EQ(s["index"], i);
      EXPECT_EQ(s["status"], "completed");
      EXPECT_GT(s["ack_timestamp"].get<int64_t>(), 0);
      const int64_t sync = s["checkpoint"]["sync"], async = s["checkpoint"]["async"];
      const int64_t start_delay = s["start_delay"];
      EXPECT_GE(sync, 0);
      EXPECT_GE(async, 0);
      EXPECT_GE(start_delay, 0);
      EXPECT_GE(s["end_to_end_duration"].get<int64_t>() + 3, start_delay + sync + async)
          << s.dump();
      longest_sync = std::max(longest_sync, sync);
      longest_start_delay = std::max(longest_start_delay, start_delay);
    }
    EXPECT_EQ(sub["summary"]["checkpoint_duration"]["sync"]["max"], longest_sync);
    EXPECT_EQ(sub["summary"]["start_delay"]["max"], longest_start_delay);
  }
  const std::string subtasks = job + "/checkpoints/details/" + std::to_string(id) + "/subtasks/";
  Get(subtasks + std::string(32, '0'), 404);
  Get(subtasks + "not-a-vertex", 400);
  Get(job + "/checkpoints/details/12345/subtasks/" + vertex, 404);
  Get(job + "/checkpoints/details/x/subtasks/" + vertex, 400);
  Json stats = Get(job + "/checkpoints");
  EXPECT_EQ(stats["latest"]["completed"]["id"], id);
  EXPECT_EQ(Get(job + "/checkpoints/config")["interval"], 60000);

  Json sp = Post(job + "/savepoints", Json{{"target-directory", dir_.Join("mine")}}.dump(), 202);
  Json sp_done = Await(job + "/savepoints/" + sp["request-id"].get<std::string>());
  std::string location = sp_done["operation"]["location"];
  EXPECT_TRUE(location.starts_with(dir_.Join("mine") + "/savepoint-")) << location;
  EXPECT_TRUE(testing::FileExists(location + "/_metadata"));
  EXPECT_EQ(Get(job + "/checkpoints")["latest"]["savepoint"]["external_path"], location);

  auto cancel = http_->Patch((job + "?mode=cancel").c_str());
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->status, 202);
  JobResult r = client_->Wait();
  EXPECT_TRUE(r.status.IsCancelled()) << r.status.ToString();
  EXPECT_EQ(Get(job)["state"], "CANCELED");  // still served until the client goes
  client_.reset();
  EXPECT_FALSE(http_->Get("/jobs/overview"));  // and then not
}

class RestEndpointBackPressureTest : public RestEndpointTest {
 protected:
  void Configure(Configuration& config) override {
    // Batches of 1000 numbers, each taking the sum 10 ms: the source fills the channel (16
    // batches, not shrunk by debloating) long before the sum drains it.
    config.Set("pipeline.exchange.batch-size", "1000");
    config.Set("pipeline.exchange.channel-capacity", "16000");
    config.Set("taskmanager.network.memory.buffer-debloat.enabled", "false");
    g_stall_us = 10'000;
  }
};

// The start delay is how long the trigger took to reach each subtask: at once at the
// source, and for the sum only once the batches queued ahead of the barrier were processed.
TEST_F(RestEndpointBackPressureTest, StartDelayIsHowLongTheBarrierQueuedBehindRecords) {
  std::string job = "/jobs/" + job_id_;
  std::string sum_vertex = Get(job)["vertices"][1]["id"];
  // Until the channel is full: the sum has read a few batches.
  for (int i = 0; i < 500; ++i) {
    if (Get(job)["vertices"][1]["metrics"]["read-records"].get<int64_t>() >= 3000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Json trigger = Post(job + "/checkpoints", "", 202);
  Json done = Await(job + "/checkpoints/" + trigger["request-id"].get<std::string>());
  ASSERT_TRUE(done["operation"].contains("checkpointId")) << done.dump();
  std::string subtasks = job + "/checkpoints/details/" +
                         std::to_string(done["operation"]["checkpointId"].get<int64_t>()) +
                         "/subtasks/";
  Json source = Get(subtasks + Get(job)["vertices"][0]["id"].get<std::string>());
  Json sum = Get(subtasks + sum_vertex);
  const int64_t source_delay = source["subtasks"][0]["start_delay"];
  const int64_t sum_delay = sum["subtasks"][0]["start_delay"];
  EXPECT_GE(sum_delay, 20) << "stalled batches were ahead of the barrier: " << sum.dump();
  EXPECT_LE(source_delay, sum_delay) << source.dump();
  EXPECT_EQ(sum["summary"]["start_delay"]["max"], sum_delay);
  EXPECT_GE(sum["subtasks"][0]["end_to_end_duration"].get<int64_t>(), sum_delay);
  // And as Flink's task metric, until the next checkpoint (none is due for a minute).
  Json metric =
      Get(job + "/vertices/" + sum_vertex + "/subtasks/0/metrics?get=checkpointStartDelayNanos");
  ASSERT_EQ(metric.size(), 1u) << metric.dump();
  EXPECT_EQ(std::stod(metric[0]["value"].get<std::string>()), sum_delay * 1e6);
}

class RestEndpointEventTimeTest : public RestEndpointTest {
 protected:
  // Each number is its own event time: the sum's input watermark follows the numbers.
  DataStream<int64_t> BuildJob(DataStream<int64_t> numbers) override {
    return numbers.AssignTimestampsAndWatermarks(
        WatermarkStrategy<int64_t>::ForMonotonousTimestamps().WithTimestampAssigner(
            [](const int64_t& v, int64_t) { return v; }));
  }
};

// Flink's /watermarks: each subtask's input watermark. The source reads none; the sum's rises
// as the numbers do, and is its task's currentInputWatermark metric.
TEST_F(RestEndpointEventTimeTest, WatermarksOfEachSubtaskAsFlinkListsThem) {
  const std::string job = "/jobs/" + job_id_;
  Json vertices = Get(job)["vertices"];
  const std::string source = vertices[0]["id"], sum = vertices[1]["id"];
  auto watermark = [&](const std::string& vertex) -> int64_t {
    Json w = Get(job + "/vertices/" + vertex + "/watermarks");
    if (w.size() != 1) return 0;  // not running yet
    EXPECT_EQ(w[0]["id"], "0.currentInputWatermark") << w.dump();
    return std::stoll(w[0]["value"].get<std::string>());
  };
  int64_t first = 0;
  for (int i = 0; i < 500 && first <= 0; ++i) {
    first = watermark(sum);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(first, 0) << "the sum's input watermark never rose";
  int64_t later = first;
  for (int i = 0; i < 500 && later == first; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    later = watermark(sum);
  }
  EXPECT_GT(later, first) << "the watermark did not move on";
  EXPECT_EQ(watermark(source), std::numeric_limits<int64_t>::min()) << "a source reads none";
  Json low = Get(job + "/vertices/" + sum +
                 "/subtasks/metrics?get=currentInputWatermark&agg=min");
  ASSERT_EQ(low.size(), 1u) << low.dump();
  EXPECT_GE(low[0]["min"].get<double>(), static_cast<double>(later));
  Get(job + "/vertices/" + std::string(32, '0') + "/watermarks", 404);
}

// The hashmap backend, with incremental checkpoints or not.
class RestEndpointHeapTest : public RestEndpointTest, public ::testing::WithParamInterface<bool> {
 protected:
  void Configure(Configuration& config) override {
    config.Set("state.backend.type", "hashmap");
    config.Set("execution.checkpointing.incremental", GetParam() ? "true" : "false");
  }
};

// As in Flink, a checkpoint's checkpointed size is what it wrote, its state size all the state
// it holds: an incremental checkpoint that reuses the last one's key file, or a full one that
// hard-links it, wrote less.
TEST_P(RestEndpointHeapTest, CheckpointedSizeIsWhatTheCheckpointWrote) {
  std::string job = "/jobs/" + job_id_;
  Json reused = nullptr;
  // The first writes its key file; a later one reuses it once the backend has heard that the
  // one before completed (a notification that may come after the next trigger).
  for (int i = 0; i < 10 && reused.is_null(); ++i) {
    Json trigger = Post(job + "/checkpoints", "", 202);
    Json done = Await(job + "/checkpoints/" + trigger["request-id"].get<std::string>());
    ASSERT_TRUE(done["operation"].contains("checkpointId")) << done.dump();
    Json details =
        Get(job + "/checkpoints/details/" + std::to_string(done["operation"]["checkpointId"]
                                                               .get<int64_t>()));
    ASSERT_EQ(details["status"], "COMPLETED");
    int64_t full = details["state_size"], written = details["checkpointed_size"];
    ASSERT_GT(written, 0) << details.dump();
    ASSERT_LE(written, full) << details.dump();
    if (i == 0) {
      EXPECT_EQ(written, full) << "the first checkpoint writes everything";
    }
    if (written < full) reused = details;
  }
  ASSERT_FALSE(reused.is_null()) << "no checkpoint reused the key file";
  // Per vertex too: the keyed one wrote less than it holds.
  bool keyed_vertex_reused = false;
  for (const auto& [vertex, t] : reused["tasks"].items()) {
    EXPECT_LE(t["checkpointed_size"].get<int64_t>(), t["state_size"].get<int64_t>()) << vertex;
    keyed_vertex_reused |= t["checkpointed_size"] < t["state_size"];
  }
  EXPECT_TRUE(keyed_vertex_reused) << reused.dump();
  Json stats = Get(job + "/checkpoints");
  EXPECT_LT(stats["summary"]["checkpointed_size"]["min"].get<int64_t>(),
            stats["summary"]["state_size"]["min"].get<int64_t>())
      << stats["summary"].dump();
  // Its metrics, as Flink names them (lastCheckpointSize is what the checkpoint wrote).
  ASSERT_EQ(stats["latest"]["completed"]["id"], reused["id"]);
  Json metrics = Get(job + "/metrics?get=lastCheckpointSize,lastCheckpointFullSize");
  std::map<std::string, double> values;
  for (const auto& m : metrics) values[m["id"]] = std::stod(m["value"].get<std::string>());
  EXPECT_EQ(values["lastCheckpointSize"], reused["checkpointed_size"].get<double>());
  EXPECT_EQ(values["lastCheckpointFullSize"], reused["state_size"].get<double>());
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, RestEndpointHeapTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "incremental" : "full";
                         });

// A checkpoint directory relative to the job's working directory: the API reports absolute
// paths, which restore from anywhere (as a savepoint's location is).
class RestEndpointRelativeDirTest : public RestEndpointTest {
 protected:
  void Configure(Configuration& config) override {
    cwd_ = std::filesystem::current_path();
    std::filesystem::current_path(dir_.path());
    config.Set("execution.checkpointing.dir", "relative-checkpoints");
  }
  void TearDown() override {
    RestEndpointTest::TearDown();
    std::filesystem::current_path(cwd_);
  }
  std::filesystem::path cwd_;
};

TEST_F(RestEndpointRelativeDirTest, CheckpointPathsAreAbsolute) {
  std::string job = "/jobs/" + job_id_;
  Json trigger = Post(job + "/checkpoints", "", 202);
  Json done = Await(job + "/checkpoints/" + trigger["request-id"].get<std::string>());
  ASSERT_TRUE(done["operation"].contains("checkpointId")) << done.dump();
  int64_t id = done["operation"]["checkpointId"];
  const std::string in = dir_.Join("relative-checkpoints/");
  std::string details = Get(job + "/checkpoints/details/" + std::to_string(id))["external_path"];
  EXPECT_TRUE(details.starts_with(in)) << details;
  EXPECT_TRUE(std::filesystem::is_directory(details)) << details;
  std::string latest = Get(job + "/checkpoints")["latest"]["completed"]["external_path"];
  EXPECT_TRUE(latest.starts_with(in)) << latest;
}

// A job that fails once and restarts, with a hook in the restart: the map's function is copied
// for each attempt as the attempt's tasks are made, after the numbers' task of that attempt
// registered its metrics. Its first copy after the failure waits there for the test.
struct RestartGate {
  std::mutex mu;
  std::condition_variable cv;
  bool failed = false;
  bool waiting = false;  // the restart is held in the copy
  bool released = false;
};
RestartGate g_restart;

struct FailOnceThenHoldTheRestart {
  FailOnceThenHoldTheRestart() = default;
  FailOnceThenHoldTheRestart(const FailOnceThenHoldTheRestart&) {
    std::unique_lock<std::mutex> lock(g_restart.mu);
    if (!g_restart.failed || g_restart.waiting) return;
    g_restart.waiting = true;
    g_restart.cv.notify_all();
    g_restart.cv.wait_for(lock, std::chrono::seconds(30), [] { return g_restart.released; });
  }
  int64_t operator()(int64_t v) const {
    if (v == 5000) {
      std::lock_guard<std::mutex> lock(g_restart.mu);
      if (!g_restart.failed) {
        g_restart.failed = true;
        throw std::runtime_error("failing once, on purpose");
      }
    }
    return v;
  }
};

class RestEndpointRestartTest : public RestEndpointTest {
 protected:
  void SetUp() override {
    {
      std::lock_guard<std::mutex> lock(g_restart.mu);
      g_restart.failed = g_restart.waiting = g_restart.released = false;
    }
    RestEndpointTest::SetUp();
  }
  void Configure(Configuration& config) override {
    config.Set("restart-strategy.type", "fixed-delay");
    config.Set("restart-strategy.fixed-delay.delay", "0 ms");
  }
  DataStream<int64_t> BuildJob(DataStream<int64_t> numbers) override {
    return numbers.Rebalance().Map(FailOnceThenHoldTheRestart()).Name("fail once");
  }
  void TearDown() override {
    {
      std::lock_guard<std::mutex> lock(g_restart.mu);
      g_restart.released = true;
    }
    g_restart.cv.notify_all();
    RestEndpointTest::TearDown();
  }
};

// While a restart builds its new attempt, /metrics shows each task's series once: the failed
// attempt's tasks took theirs away as they ended, before the new one's arrive. (Prometheus
// refuses a scrape that has a series twice.)
TEST_F(RestEndpointRestartTest, ARestartingJobHasEachSeriesOnce) {
  {
    std::unique_lock<std::mutex> lock(g_restart.mu);
    ASSERT_TRUE(g_restart.cv.wait_for(lock, std::chrono::seconds(30),
                                      [] { return g_restart.waiting; }))
        << "the job did not restart";
  }
  std::string prometheus = Get("/metrics");
  std::map<std::string, int> series;
  size_t numbers_series = 0;
  for (size_t at = 0; at < prometheus.size();) {
    size_t end = prometheus.find('\n', at);
    if (end == std::string::npos) end = prometheus.size();
    std::string line = prometheus.substr(at, end - at);
    at = end + 1;
    if (line.empty() || line[0] == '#') continue;
    std::string name_and_labels = line.substr(0, line.rfind(' '));
    ++series[name_and_labels];
    if (name_and_labels.find("operator_id=\"numbers\"") != std::string::npos) ++numbers_series;
  }
  EXPECT_GT(numbers_series, 0u) << "the new attempt's first task has no series yet:\n"
                                << prometheus;
  for (const auto& [name, count] : series) EXPECT_EQ(count, 1) << name;
}

// A dashboard that is open when the job ends gets to show how it ended: the API waits for
// its next refresh before it stops, and no longer once that came.
TEST_F(RestEndpointTest, AnOpenDashboardSeesHowTheJobEnded) {
  std::string job = "/jobs/" + job_id_;
  auto page = http_->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(Get(job)["state"], "RUNNING");
  client_->Cancel();
  client_->Wait();
  auto started = std::chrono::steady_clock::now();
  std::thread stop([&] { client_.reset(); });                   // stops the REST API
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the dashboard's refresh
  EXPECT_EQ(Get(job)["state"], "CANCELED");
  stop.join();
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, RestEndpoint::kLinger) << "the API waited on after the final status was read";
  EXPECT_FALSE(http_->Get("/jobs/overview"));
}

// Nobody watching (no dashboard was opened), nothing waits.
TEST_F(RestEndpointTest, WithNoDashboardOpenTheApiStopsAtOnce) {
  EXPECT_EQ(Get("/jobs/" + job_id_)["state"], "RUNNING");
  client_->Cancel();
  client_->Wait();
  auto started = std::chrono::steady_clock::now();
  client_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

// A client that sends its request a byte at a time, each within the read timeout: a header
// line that never ends, a byte every 100 ms for 30 s at most, until the server closes it.
class SlowClient {
 public:
  explicit SlowClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const std::string start = "GET /jobs/overview HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0 ||
        ::send(fd_, start.data(), start.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(start.size())) {
      ADD_FAILURE() << "no connection to port " << port;
      return;
    }
    trickle_ = std::thread([this] {
      for (int i = 0; i < 300 && !stopped_; ++i) {
        if (::send(fd_, "x", 1, MSG_NOSIGNAL) != 1) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  ~SlowClient() {
    stopped_ = true;
    if (trickle_.joinable()) trickle_.join();
    ::close(fd_);
  }

  // Whether the server closed the connection within `wait`: it sent its end (or reset it),
  // and no answer.
  bool ClosedWithin(std::chrono::milliseconds wait) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return false;
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  const int fd_;
  std::atomic<bool> stopped_{false};
  std::thread trickle_;
};

// A slow client keeps a server thread reading for as long as it likes; stopping the API does
// not wait for it.
TEST_F(RestEndpointTest, AClientThatTricklesItsRequestDoesNotHoldTheStop) {
  SlowClient slow(PortOf(rest_url_));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server is reading it
  client_->Cancel();
  client_->Wait();
  auto started = std::chrono::steady_clock::now();
  client_.reset();  // stops the REST API
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5))
      << "the stop waited for the slow client";
}

class RestEndpointSlowClientTest : public RestEndpointTest {
  void Configure(Configuration& config) override {
    config.Set("rest.server.busy-connection-timeout", "1 s");
  }
};

// As many slow clients as the API has threads would hold all of them, and every request
// after them would wait. While every thread is busy, those a thread has served for
// rest.server.busy-connection-timeout are closed, and the request waiting behind them is
// answered. One slow client alone, with threads to spare, is left alone.
TEST_F(RestEndpointSlowClientTest, SlowClientsOnEveryThreadAreClosedAndRequestsAnswered) {
  const int port = PortOf(rest_url_);
  std::vector<std::unique_ptr<SlowClient>> slow;
  slow.push_back(std::make_unique<SlowClient>(port));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_FALSE(slow[0]->ClosedWithin(std::chrono::milliseconds(0)))
      << "a slow client was closed while threads were free";

  while (slow.size() < static_cast<size_t>(RestEndpoint::kThreads)) {
    slow.push_back(std::make_unique<SlowClient>(port));
  }
  const auto all_busy = std::chrono::steady_clock::now();  // about when the last was read
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // every thread reads one
  EXPECT_EQ(Get("/jobs/overview")["jobs"].size(), 1u);
  const auto took = std::chrono::steady_clock::now() - all_busy;
  // The slow clients were closed no sooner than a second after every thread was busy, and
  // the request that waited for a thread meanwhile was not: it was answered.
  EXPECT_GE(took, std::chrono::milliseconds(900)) << "it did not wait for a thread";
  EXPECT_LT(took, std::chrono::seconds(5)) << "it waited for the slow clients to give up";
  // The request took the first thread freed. The slow clients a thread took later than the
  // others (a scan later, on a loaded machine) may outlast it: once a thread is free again,
  // nothing is cut.
  int closed = 0;
  for (const auto& client : slow) closed += client->ClosedWithin(std::chrono::milliseconds(500));
  EXPECT_GE(closed, 1);
}

TEST(RestEndpointConfigTest, PortRanges) {
  EXPECT_EQ(*ParsePortRange("8081"), std::vector<int>{8081});
  EXPECT_EQ(*ParsePortRange("8081-8083"), (std::vector<int>{8081, 8082, 8083}));
  EXPECT_EQ(*ParsePortRange("1, 5-6"), (std::vector<int>{1, 5, 6}));
  for (const char* bad : {"", "x", "8083-8081", "70000", "1-", "-1", "1,,"}) {
    auto r = ParsePortRange(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(RestEndpointConfigTest, ATakenPortFailsTheJobBeforeItStarts) {
  TempDir dir;
  Configuration first;
  first.Set("rest.bind-port", "0");
  auto a = RestEndpoint::Bind(first);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  Configuration second;
  second.Set("rest.port", std::to_string((*a)->port()));
  auto b = RestEndpoint::Bind(second);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("could not listen"), std::string::npos);
  Configuration never;
  never.Set("rest.server.busy-connection-timeout", "0 s");
  auto refused = RestEndpoint::Bind(never);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "rest.server.busy-connection-timeout must be positive, not 0 ms");
  Configuration off;
  off.Set("rest.enabled", "false");
  EXPECT_EQ(*RestEndpoint::Bind(off), nullptr);
}

}  // namespace
}  // namespace weir
