#include "rest/rest_router.h"

#include <nlohmann/json.hpp>

namespace weir {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(i, end - i));
    i = end;
  }
  return out;
}

}  // namespace

std::string RestRequest::Query(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

RestResponse RestResponse::Json(int status, std::string body) {
  RestResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

RestResponse RestResponse::Error(int status, std::string_view message) {
  nlohmann::json j = {{"errors", nlohmann::json::array({std::string(message)})}};
  // Replaces bytes that are not UTF-8 (a path echoed back) instead of throwing.
  return Json(status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void RestRouter::Add(std::string method, std::string pattern, Handler handler) {
  Route r;
  r.method = std::move(method);
  for (auto s : Split(pattern)) r.segments.emplace_back(s);
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

bool RestRouter::Matches(const Route& route, const std::vector<std::string_view>& path,
                         std::vector<bool>* literals) {
  if (route.segments.size() != path.size()) return false;
  literals->clear();
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& s = route.segments[i];
    bool param = !s.empty() && s[0] == ':';
    if (!param && s != path[i]) return false;
    literals->push_back(!param);
  }
  return true;
}

RestResponse RestRouter::Dispatch(RestRequest request) const {
  std::string method = request.method == "HEAD" ? "GET" : request.method;
  std::vector<std::string_view> path = Split(request.path);
  // The most specific pattern the path fits, whatever the method.
  const std::string* best = nullptr;
  std::vector<bool> best_literals, literals;
  for (const auto& r : routes_) {
    if (!Matches(r, path, &literals)) continue;
    if (best == nullptr || literals > best_literals) {
      best = &r.pattern;
      best_literals = literals;
    }
  }
  if (best == nullptr) {
    return RestResponse::Error(404, "not found: no resource at " + request.path);
  }
  std::string allow;
  for (const auto& r : routes_) {
    if (r.pattern != *best) continue;
    if (r.method == method) {
      for (size_t i = 0; i < path.size(); ++i) {
        if (!best_literals[i]) request.params[r.segments[i]] = std::string(path[i]);
      }
      return r.handler(request);
    }
    if (allow.find(r.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + r.method;
  }
  RestResponse res = RestResponse::Error(405, "method " + request.method + " is not allowed on " +
                                                  request.path + " (allowed: " + allow + ")");
  res.headers.emplace_back("Allow", allow);
  return res;
}

}  // namespace weir
