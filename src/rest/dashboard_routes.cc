#include "rest/dashboard_routes.h"

#include <map>

#include "rest/embedded_files.h"

namespace weir {
namespace {

const EmbeddedFile* FindFile(std::string_view path) {
  for (const EmbeddedFile& f : DashboardFiles()) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

RestResponse FileResponse(const EmbeddedFile& file) {
  RestResponse r;
  r.body = std::string(file.bytes);
  r.content_type = ContentTypeOf(file.path);
  // A new build of the job may serve other files at the same address: the browser asks again
  // (the files are small, and served from memory).
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; "
                         "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                         "base-uri 'none'; form-action 'none'");
  return r;
}

}  // namespace

std::string ContentTypeOf(std::string_view path) {
  static const std::map<std::string_view, std::string_view> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"}};
  auto dot = path.rfind('.');
  if (dot != std::string_view::npos) {
    auto it = kTypes.find(path.substr(dot));
    if (it != kTypes.end()) return std::string(it->second);
  }
  return "application/octet-stream";
}

void AddDashboardRoutes(RestRouter& router, std::function<void()> on_page_served) {
  router.Add("GET", "/", [on_page_served = std::move(on_page_served)](const RestRequest&) {
    const EmbeddedFile* page = FindFile("index.html");
    if (page == nullptr) return RestResponse::Error(404, "this build has no dashboard");
    on_page_served();
    return FileResponse(*page);
  });
  router.Add("GET", "/assets/:file", [](const RestRequest& req) {
    const std::string& name = req.params.at(":file");
    // index.html is the page at /, not an asset.
    const EmbeddedFile* file = name == "index.html" ? nullptr : FindFile(name);
    if (file == nullptr) {
      return RestResponse::Error(404, "the dashboard has no file '" + name + "'");
    }
    return FileResponse(*file);
  });
}

}  // namespace weir
