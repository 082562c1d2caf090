// RestRouter: maps a request's method and path to its handler, with Flink's path syntax
// ("/jobs/:jobid/checkpoints"), independent of the HTTP server.
//
// A literal segment wins over a parameter ("/jobs/overview" is not a job id), compared
// segment by segment from the left. A path no route matches gets 404; a path a route matches
// with other methods only gets 405 and an Allow header listing them. Errors are Flink's
// JSON: {"errors": ["..."]}.
//
// Thread-safety: routes are added before the server starts; Dispatch is then thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weir {

struct RestRequest {
  std::string method;  // GET, POST, ...; HEAD is dispatched as GET
  std::string path;
  std::multimap<std::string, std::string> query;
  std::string body;
  std::map<std::string, std::string> params;  // ":jobid" -> value, filled by Dispatch

  // The query parameter `name`; `fallback` when absent.
  std::string Query(const std::string& name, const std::string& fallback = "") const;
};

struct RestResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  static RestResponse Json(int status, std::string body);
  // {"errors": [message]}
  static RestResponse Error(int status, std::string_view message);
};

class RestRouter {
 public:
  using Handler = std::function<RestResponse(const RestRequest&)>;

  void Add(std::string method, std::string pattern, Handler handler);
  RestResponse Dispatch(RestRequest request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    std::string pattern;
    Handler handler;
  };
  // Whether `path` fits `route`; `literals` gets one flag per segment (true: literal).
  static bool Matches(const Route& route, const std::vector<std::string_view>& path,
                      std::vector<bool>* literals);

  std::vector<Route> routes_;
};

}  // namespace weir
