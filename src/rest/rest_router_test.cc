#include "rest/rest_router.h"

#include <gtest/gtest.h>

namespace weir {
namespace {

RestRequest Req(std::string method, std::string path) {
  RestRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

class RestRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto named = [](std::string name) {
      return [name](const RestRequest& req) {
        std::string body = name;
        for (const auto& [k, v] : req.params) body += " " + k + "=" + v;
        return RestResponse::Json(200, body);
      };
    };
    router_.Add("GET", "/jobs/overview", named("overview"));
    router_.Add("GET", "/jobs/:jobid", named("job"));
    router_.Add("PATCH", "/jobs/:jobid", named("cancel"));
    router_.Add("GET", "/jobs/:jobid/checkpoints/config", named("config"));
    router_.Add("GET", "/jobs/:jobid/checkpoints/:triggerid", named("status"));
    router_.Add("POST", "/jobs/:jobid/checkpoints", named("trigger"));
  }
  RestRouter router_;
};

TEST_F(RestRouterTest, LiteralSegmentsWinOverParameters) {
  EXPECT_EQ(router_.Dispatch(Req("GET", "/jobs/overview")).body, "overview");
  EXPECT_EQ(router_.Dispatch(Req("GET", "/jobs/abc")).body, "job :jobid=abc");
  EXPECT_EQ(router_.Dispatch(Req("GET", "/jobs/abc/checkpoints/config")).body, "config :jobid=abc");
  EXPECT_EQ(router_.Dispatch(Req("GET", "/jobs/abc/checkpoints/f00")).body,
            "status :jobid=abc :triggerid=f00");
  EXPECT_EQ(router_.Dispatch(Req("HEAD", "/jobs/abc")).body, "job :jobid=abc");
  EXPECT_EQ(router_.Dispatch(Req("GET", "/jobs/abc/")).body, "job :jobid=abc");
}

TEST_F(RestRouterTest, UnknownPathsAre404AndOtherMethods405WithAllow) {
  RestResponse r = router_.Dispatch(Req("GET", "/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"errors":["not found: no resource at /nope"]})");

  r = router_.Dispatch(Req("DELETE", "/jobs/abc"));
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "GET, PATCH");

  // /jobs/overview is its own resource, not a job: PATCH is not allowed there.
  r = router_.Dispatch(Req("PATCH", "/jobs/overview"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers[0].second, "GET");
  EXPECT_EQ(router_.Dispatch(Req("TRACE", "/jobs/abc/checkpoints")).status, 405);
}

TEST(RestResponseTest, ErrorsAreJsonEvenForBytesThatAreNotUtf8) {
  RestResponse r = RestResponse::Error(400, "bad \xff \"path\"");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "{\"errors\":[\"bad \xEF\xBF\xBD \\\"path\\\"\"]}");
}

}  // namespace
}  // namespace weir
