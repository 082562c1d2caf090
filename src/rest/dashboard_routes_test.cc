// The dashboard's routes: the page and its files, by exact name only, with their types.
#include "rest/dashboard_routes.h"

#include <gtest/gtest.h>

#include "rest/embedded_files.h"

namespace weir {
namespace {

class DashboardRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddDashboardRoutes(router_, [this] { ++pages_served_; });
  }
  RestResponse Get(std::string path) {
    RestRequest r;
    r.method = "GET";
    r.path = std::move(path);
    return router_.Dispatch(r);
  }
  static std::string Header(const RestResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  RestRouter router_;
  int pages_served_ = 0;
};

TEST_F(DashboardRoutesTest, ServesThePageAndItsFilesWithTheirTypes) {
  RestResponse page = Get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<!doctype html>"), std::string::npos);
  EXPECT_NE(Header(page, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(Header(page, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(pages_served_, 1);

  RestResponse script = Get("/assets/dashboard.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/assets/dashboard.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(Get("/assets/favicon.svg").content_type, "image/svg+xml");
  EXPECT_EQ(pages_served_, 1);
}

TEST_F(DashboardRoutesTest, EveryFileTheBuildEmbedsIsServedWhole) {
  ASSERT_GE(DashboardFiles().size(), 4u);
  size_t total = 0;
  for (const EmbeddedFile& f : DashboardFiles()) {
    RestResponse r = Get(f.path == "index.html" ? "/" : "/assets/" + std::string(f.path));
    EXPECT_EQ(r.status, 200) << f.path;
    EXPECT_EQ(r.body, f.bytes) << f.path;
    EXPECT_NE(ContentTypeOf(f.path), "application/octet-stream") << f.path;
    total += f.bytes.size();
  }
  // The page stays small: it loads at once, even over a slow link to a remote machine.
  EXPECT_LT(total, 150u * 1024);
}

TEST_F(DashboardRoutesTest, NothingButTheEmbeddedFiles) {
  for (const char* path : {"/assets/", "/assets/nope.js", "/assets/index.html",
                           "/assets/../CMakeLists.txt", "/assets/..%2fCMakeLists.txt",
                           "/assets/dashboard/dashboard.js", "/index.html", "/assets/.."}) {
    RestResponse r = Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.content_type, "application/json") << path;
  }
  RestRequest post;
  post.method = "POST";
  post.path = "/";
  EXPECT_EQ(router_.Dispatch(post).status, 405);
  EXPECT_EQ(ContentTypeOf("x.exe"), "application/octet-stream");
  EXPECT_EQ(ContentTypeOf("noextension"), "application/octet-stream");
}

}  // namespace
}  // namespace weir
