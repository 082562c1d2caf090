// The tool's reading of error replies: "the job has ended" (exit 4) only when it has.
#include "remote.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace weir::tool {
namespace {

constexpr char kJobId[] = "0123456789abcdef0123456789abcdef";

// A REST API on loopback that refuses a checkpoint with 409 and reports the job in `state`;
// /slow answers after 3 s.
class FakeApi {
 public:
  explicit FakeApi(std::string state) : state_(std::move(state)) {
    server_.Post(std::string("/jobs/") + kJobId + "/checkpoints",
                 [](const httplib::Request&, httplib::Response& res) {
                   res.status = 409;
                   res.set_content(R"({"errors":["checkpointing is off"]})", "application/json");
                 });
    server_.Get(std::string("/jobs/") + kJobId,
                [this](const httplib::Request&, httplib::Response& res) {
                  res.set_content(R"({"state":")" + state_ + R"("})", "application/json");
                });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::seconds(3));
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeApi() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string state_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

JobRef Job(const std::string& url, int pid) { return JobRef{url, kJobId, "job", pid, 0}; }

TEST(ReplyErrorTest, A409OfARunningJobIsARefusalNotAnEnd) {
  FakeApi api("RUNNING");
  HttpReply r = Call(api.url(), "POST", std::string("/jobs/") + kJobId + "/checkpoints", "{}");
  ASSERT_EQ(r.status, 409);
  ToolError e = ReplyError(Job(api.url(), ::getpid()), r, "triggering a checkpoint of");
  EXPECT_EQ(e.code, kFailed) << e.message;
  EXPECT_NE(e.message.find("checkpointing is off"), std::string::npos) << e.message;
}

TEST(ReplyErrorTest, A409OfAJobThatEndedIsAnEnd) {
  FakeApi api("FINISHED");
  HttpReply r = Call(api.url(), "POST", std::string("/jobs/") + kJobId + "/checkpoints", "{}");
  EXPECT_EQ(ReplyError(Job(api.url(), 0), r, "triggering a checkpoint of").code, kEnded);
}

TEST(ReplyErrorTest, NoAnswerFromALiveProcessIsNotAnEnd) {
  FakeApi api("RUNNING");
  HttpReply r = Call(api.url(), "GET", "/slow", "", 1);  // a paused process: no answer in time
  ASSERT_EQ(r.status, 0);
  EXPECT_TRUE(r.connected);
  ToolError e = ReplyError(Job(api.url(), ::getpid()), r, "asking");
  EXPECT_EQ(e.code, kFailed) << e.message;
  EXPECT_NE(e.message.find("does not answer"), std::string::npos) << e.message;
  // Given with -m (no pid), the same: the connection was made, so something is there.
  EXPECT_EQ(ReplyError(Job(api.url(), 0), r, "asking").code, kFailed);
}

TEST(ReplyErrorTest, NobodyListeningIsAnEnd) {
  std::string url;
  {
    FakeApi gone("RUNNING");
    url = gone.url();
  }  // its port is closed now
  HttpReply r = Call(url, "GET", std::string("/jobs/") + kJobId);
  ASSERT_EQ(r.status, 0);
  EXPECT_FALSE(r.connected);
  EXPECT_EQ(ReplyError(Job(url, 0), r, "asking").code, kEnded);
  // Also while the process still runs: its API closes when the job has ended, and the
  // process exits a moment later.
  EXPECT_EQ(ReplyError(Job(url, ::getpid()), r, "asking").code, kEnded);
}

}  // namespace
}  // namespace weir::tool
