#include "rest/rest_endpoint.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <set>
#include <thread>

#include "base/file_system.h"
#include "base/logging.h"
#include "rest/async_operations.h"
#include "rest/connections.h"
#include "rest/dashboard_routes.h"
#include "rest/job_handlers.h"
#include "rest/job_registry.h"
#include "rest/rest_options.h"
#include "rest/rest_router.h"
#include "rest/server_threads.h"

namespace weir {
namespace {

// An address, or a Host header's host, on loopback: localhost in any case, and IPv4 in every
// form the resolver reads (127.1, 0x7f.0.0.1), not only dotted quads.
bool IsLoopback(const std::string& address) {
  if (address.size() == 9 && std::equal(address.begin(), address.end(), "localhost",
                                        [](char a, char b) { return (a | 0x20) == b; })) {
    return true;
  }
  in_addr v4;
  if (::inet_aton(address.c_str(), &v4) != 0) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  return ::inet_pton(AF_INET6, address.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// The host part of a Host header ("127.0.0.1:8081", "[::1]:8081", "localhost").
std::string HostOf(const std::string& header) {
  if (!header.empty() && header[0] == '[') {
    auto close = header.find(']');
    return close == std::string::npos ? header : header.substr(1, close - 1);
  }
  auto colon = header.rfind(':');
  return colon == std::string::npos ? header : header.substr(0, colon);
}

// How long Stop lets the server threads finish what they serve (an idle keep-alive connection
// ends after its 1 s timeout) before it shuts their connections down.
constexpr std::chrono::milliseconds kStopGrace{1500};

// A method name cpp-httplib's parser refuses: a well-formed token that is none of its own.
bool IsUnknownMethod(const std::string& method) {
  static const std::set<std::string> kKnown = {"GET",     "HEAD",    "POST",  "PUT",   "DELETE",
                                               "CONNECT", "OPTIONS", "TRACE", "PATCH", "PRI"};
  if (method.empty() || method.size() > 32 || kKnown.contains(method)) return false;
  return std::all_of(method.begin(), method.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

// cpp-httplib reads a body for POST, PUT, PATCH and DELETE only: after any other request that
// came with one, the connection holds unread bytes and cannot carry another request.
bool BodyLeftUnread(const httplib::Request& req) {
  static const std::set<std::string> kReadsBody = {"POST", "PUT", "PATCH", "DELETE", "PRI"};
  if (kReadsBody.contains(req.method)) return false;
  return req.has_header("Transfer-Encoding") ||
         (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
}

RestRequest ToRestRequest(const httplib::Request& req) {
  RestRequest r;
  r.method = req.method;
  r.path = req.path;
  for (const auto& [k, v] : req.params) r.query.emplace(k, v);
  r.body = req.body;
  return r;
}

void Send(const RestResponse& from, httplib::Response& to) {
  to.status = from.status;
  for (const auto& [k, v] : from.headers) to.set_header(k, v);
  to.set_content(from.body, from.content_type.c_str());
}

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool HasEnded(JobStatus s) {
  return s == JobStatus::kFinished || s == JobStatus::kFailed || s == JobStatus::kCanceled;
}

// A request whose answer says how the job ended, once it has.
bool AsksForStatus(const std::string& path) {
  return path == "/jobs" || path == "/jobs/overview" || path == "/overview" ||
         (path.starts_with("/jobs/") && path.find('/', 6) == std::string::npos);
}

}  // namespace

Result<std::vector<int>> ParsePortRange(std::string_view spec) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("rest.bind-port = '" + std::string(spec) +
                                   "': " + std::string(why) +
                                   " (expected a port, a range such as 8081-8181, or a list "
                                   "such as 8081,8090-8099)");
  };
  auto number = [](std::string_view s, int* out) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size() && *out >= 0 &&
           *out <= 65535;
  };
  std::vector<int> ports;
  size_t i = 0;
  while (i <= spec.size()) {
    size_t end = spec.find(',', i);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view item = spec.substr(i, end - i);
    auto dash = item.find('-');
    int lo, hi;
    if (dash == std::string_view::npos) {
      if (!number(item, &lo)) return bad("'" + std::string(item) + "' is not a port");
      hi = lo;
    } else if (!number(item.substr(0, dash), &lo) || !number(item.substr(dash + 1), &hi) ||
               lo > hi) {
      return bad("'" + std::string(item) + "' is not a range of ports");
    }
    for (int p = lo; p <= hi && ports.size() <= 65536; ++p) ports.push_back(p);
    i = end + 1;
  }
  if (ports.empty()) return bad("no port");
  return ports;
}

struct RestEndpoint::Impl {
  httplib::Server server;
  std::thread thread;
  RestRouter router;
  AsyncOperations operations;
  std::shared_ptr<void> handlers;
  std::unique_ptr<JobRegistration> registration;
  std::string address;
  int port = 0;
  sockaddr_storage listener{};  // the listening socket's address: its connections are ours
  int last_socket = -1;         // the socket cpp-httplib made last, while binding
  std::string url;
  bool loopback = true;
  bool stopped = false;
  std::atomic<bool> serving{false};  // the accept loop's thread has not returned
  // For Stop: whether a dashboard may be watching (the page was served and a request came a
  // moment ago), and whether a request answered after the job ended (say, the dashboard's
  // next refresh) told how it ended.
  std::atomic<bool> page_served{false};
  std::atomic<int64_t> last_request_ms{0};
  std::atomic<bool> end_served{false};
};

RestEndpoint::RestEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RestEndpoint::~RestEndpoint() { Stop(); }

const std::string& RestEndpoint::url() const { return impl_->url; }
int RestEndpoint::port() const { return impl_->port; }

Result<std::unique_ptr<RestEndpoint>> RestEndpoint::Bind(const Configuration& config) {
  WEIR_ASSIGN_OR_RETURN(bool enabled, config.Get(rest_options::kEnabled));
  if (!enabled) return std::unique_ptr<RestEndpoint>();
  WEIR_ASSIGN_OR_RETURN(std::string address, config.Get(rest_options::kAddress));
  WEIR_ASSIGN_OR_RETURN(int64_t rest_port, config.Get(rest_options::kPort));
  WEIR_ASSIGN_OR_RETURN(MemorySize max_body, config.Get(rest_options::kMaxContentLength));
  WEIR_ASSIGN_OR_RETURN(std::optional<std::string> bind_port,
                        config.GetOptional(rest_options::kBindPort));
  WEIR_ASSIGN_OR_RETURN(std::chrono::milliseconds busy_connection_timeout,
                        config.Get(rest_options::kBusyConnectionTimeout));
  if (busy_connection_timeout.count() <= 0) {
    return Status::InvalidArgument(std::string(rest_options::kBusyConnectionTimeout.key()) +
                                   " must be positive, not " +
                                   FormatDuration(busy_connection_timeout));
  }
  std::string spec = bind_port && !bind_port->empty()    ? *bind_port
                     : config.IsSet(rest_options::kPort) ? std::to_string(rest_port)
                                                         : "8081-8181";
  WEIR_ASSIGN_OR_RETURN(std::vector<int> ports, ParsePortRange(spec));
  if (address.empty()) return Status::InvalidArgument("rest.address is empty");

  auto impl = std::make_unique<Impl>();
  impl->address = address;
  impl->loopback = IsLoopback(address);
  httplib::Server& s = impl->server;
  // Called when listening starts, after the port is bound.
  s.new_task_queue = [listener = &impl->listener, busy_connection_timeout] {
    return new ServerThreads(kThreads, *listener, busy_connection_timeout);
  };
  // SO_REUSEADDR only: cpp-httplib's default, SO_REUSEPORT, would let a second job bind the
  // same port and share its connections, instead of moving on to the next port. Called for
  // each socket cpp-httplib tries to bind: the last is the one that listens.
  s.set_socket_options([last = &impl->last_socket](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    *last = sock;
  });
  s.set_payload_max_length(max_body.bytes);
  s.set_keep_alive_timeout(1);  // Stop waits for idle keep-alive connections this long
  s.set_read_timeout(5);
  s.set_write_timeout(5);
  int bound = -1;
  for (int p : ports) {
    if (p == 0) {
      bound = s.bind_to_any_port(address);
      if (bound > 0) break;
    } else if (s.bind_to_port(address, p)) {
      bound = p;
      break;
    }
  }
  if (bound <= 0) {
    return Status::FailedPrecondition(
        "the REST API could not listen on " + address + " at any port of " + spec +
        " (in use, or not an address of this machine); give rest.bind-port a free port or "
        "range, or set rest.enabled: false");
  }
  impl->port = bound;
  auto listener = BoundAddress(impl->last_socket);
  if (!listener || PortOf(*listener) != bound) {
    return Status::Internal("the REST API listens on " + address + ":" + std::to_string(bound) +
                            " but cannot tell its socket's address");
  }
  impl->listener = *listener;
  std::string host = address.find(':') != std::string::npos ? "[" + address + "]" : address;
  impl->url = "http://" + host + ":" + std::to_string(bound);
  return std::unique_ptr<RestEndpoint>(new RestEndpoint(std::move(impl)));
}

void RestEndpoint::Start(JobMaster* master) {
  Impl* impl = impl_.get();
  impl->handlers = AddJobRoutes(impl->router, master, &impl->operations);
  AddDashboardRoutes(impl->router, [impl] { impl->page_served = true; });
  httplib::Server& s = impl->server;
  auto dispatch = [impl, master](const httplib::Request& req, httplib::Response& res) {
    impl->last_request_ms = SteadyMillis();
    if (BodyLeftUnread(req)) res.set_header("Connection", "close");
    if (impl->loopback && req.has_header("Host")) {
      std::string host = HostOf(req.get_header_value("Host"));
      if (!IsLoopback(host)) {
        Send(RestResponse::Error(403,
                                 "the REST API listens on loopback and answers requests "
                                 "for a loopback host only, not '" +
                                     host + "'"),
             res);
        return;
      }
    }
    bool ended = HasEnded(master->status_info().status);
    Send(impl->router.Dispatch(ToRestRequest(req)), res);
    if (ended && res.status == 200 && AsksForStatus(req.path)) impl->end_served = true;
  };
  s.Get(".*", dispatch);
  s.Post(".*", dispatch);
  s.Put(".*", dispatch);
  s.Patch(".*", dispatch);
  s.Delete(".*", dispatch);
  s.Options(".*", dispatch);
  // Methods cpp-httplib has no handlers for (TRACE, CONNECT) get the router's 405 or 404.
  // A POST, PUT, PATCH or DELETE that declares no body (no Content-Length, not chunked) has
  // none (RFC 9112, 6.3), as `curl -X PATCH .../jobs/:jobid?mode=cancel` sends it: answered
  // here, before cpp-httplib would read a body until the connection closes or times out.
  s.set_pre_routing_handler([dispatch](const httplib::Request& req, httplib::Response& res) {
    static const std::set<std::string> kRouted = {"GET", "HEAD", "OPTIONS"};
    static const std::set<std::string> kWithBody = {"POST", "PUT", "PATCH", "DELETE"};
    if (kRouted.contains(req.method)) return httplib::Server::HandlerResponse::Unhandled;
    if (kWithBody.contains(req.method) &&
        (req.has_header("Content-Length") || req.has_header("Transfer-Encoding"))) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    dispatch(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors cpp-httplib answers itself (a malformed request, a body too large) in Flink's
  // JSON too; the router's own errors have their body already.
  s.set_error_handler(httplib::Server::HandlerWithResponse(
      [impl](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        // cpp-httplib refused the request before reading its body (if it read it at all): the
        // connection cannot carry another one.
        res.set_header("Connection", "close");
        // A method cpp-httplib does not know (QUERY, PROPFIND) fails its parse with 400 before
        // any handler sees it; it is a method this API does not take: 405 with what it takes.
        if (res.status == 400 && IsUnknownMethod(req.method)) {
          RestRequest unknown = ToRestRequest(req);
          unknown.method = req.method;
          unknown.path = req.target.substr(0, req.target.find('?'));  // the parse stopped early
          Send(impl->router.Dispatch(unknown), res);
          return httplib::Server::HandlerResponse::Handled;
        }
        // cpp-httplib takes a form-encoded body (curl's default for --data) of 8 KiB at most,
        // whatever the limit for others.
        const bool form = req.get_header_value("Content-Type")
                              .starts_with("application/x-www-form-urlencoded");
        std::string message =
            res.status == 413 && form
                ? "a body sent as application/x-www-form-urlencoded may hold 8192 bytes at "
                  "most; send it as JSON (Content-Type: application/json)"
            : res.status == 413 ? "the request body is larger than rest.server.max-content-length"
            : res.status == 404 ? "not found"
                                : "bad request";
        Send(RestResponse::Error(res.status, message), res);
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("REST API: {} {} failed: {}", req.method, req.path, what);
        Send(RestResponse::Error(500, "internal error: " + what), res);
      });
  StartListening();

  spdlog::info(
      "Dashboard: {}/ (job '{}'; REST API: {}/jobs/overview, Prometheus: {}/metrics; "
      "or `weir list`)",
      impl->url, master->job_name(), impl->url, impl->url);
  if (!impl->loopback) {
    spdlog::warn(
        "The REST API listens on {}, not on loopback: it has no authentication, and "
        "anyone who reaches it can stop or cancel the job",
        impl->address);
  }
  RegisteredJob entry;
  entry.pid = ::getpid();
  entry.process_start = ProcessStartTime(entry.pid);
  entry.job_id = master->job_id();
  entry.job_name = master->job_name();
  entry.rest_url = impl->url;
  entry.start_wall_ms = master->status_info().start_wall_ms;
  entry.working_dir = AbsolutePath(".");
  auto registration = JobRegistration::Create(entry);
  if (registration.ok()) {
    impl->registration = std::move(*registration);
  } else {
    spdlog::warn("`weir list` will not find job '{}': {}", master->job_name(),
                 registration.status().ToString());
  }
}

void RestEndpoint::StartListening() {
  Impl* impl = impl_.get();
  impl->serving = true;
  impl->thread = std::thread([impl] {
    impl->server.listen_after_bind();  // returns once its server threads have finished
    impl->serving = false;
  });
  // Until it runs, stop() would not close the socket: wait (a moment) for it.
  for (int i = 0; i < 5000 && !impl->server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void RestEndpoint::Stop() {
  Impl* impl = impl_.get();
  if (impl->stopped) return;
  impl->stopped = true;
  impl->registration.reset();
  if (impl->thread.joinable()) {
    const int64_t deadline = SteadyMillis() + kLinger.count() * 1000;
    impl->operations.WaitUntilFetched(kLinger);
    // An open dashboard refreshes about once a second: it gets to show how the job ended
    // instead of losing its connection (no wait when nobody is watching, as for `weir stop`).
    auto watched = [&] {
      return impl->page_served && SteadyMillis() - impl->last_request_ms < kWatchedWithin.count();
    };
    while (watched() && !impl->end_served && SteadyMillis() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } else {
    // Bound but never started (the job did not start): listening is the only way cpp-httplib
    // offers to close the socket again.
    impl->server.set_pre_routing_handler([](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      return httplib::Server::HandlerResponse::Handled;
    });
    StartListening();
  }
  impl->server.stop();
  const int64_t grace_end = SteadyMillis() + kStopGrace.count();
  while (impl->serving && SteadyMillis() < grace_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (impl->serving) ShutDownConnectionsTo(impl->listener);
  impl->thread.join();
}

}  // namespace weir
