// RestEndpoint: the HTTP server of one job's REST API (cpp-httplib), on its own threads.
//
// Bind() reads rest.* and binds the first free port of rest.bind-port before the job starts,
// so a bad setting or a taken port fails the job at once, naming the ports. Start() serves
// the job's routes (job_handlers.h) and its dashboard (dashboard_routes.h), logs where, and
// registers the job for `weir list` (job_registry.h); Stop() unregisters it, waits until the
// results of finished savepoints and checkpoints requested over the API were fetched and,
// while a dashboard is open, until it fetched the job's final status (at most kLinger for
// both), and stops serving: connections still open a moment later (a client sending its
// request slowly) are shut down, not waited for. Requests the router does not know get
// Flink's JSON errors; bodies over rest.server.max-content-length get 413. Bound to loopback
// (the default), it answers only requests whose Host header names a loopback address, so a
// web page cannot reach it by DNS rebinding.
//
// Thread-safety: Bind, Start and Stop from one thread (the job's owner); requests are served
// by kThreads server threads, which slow clients cannot hold for long (server_threads.h).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "runtime/job_master.h"
#include "weir/configuration.h"
#include "weir/status.h"

namespace weir {

class RestEndpoint {
 public:
  static constexpr int kThreads = 4;
  static constexpr std::chrono::seconds kLinger{5};
  // A dashboard whose last request is older than this is taken as closed.
  static constexpr std::chrono::milliseconds kWatchedWithin{3000};

  // Null when rest.enabled is false.
  static Result<std::unique_ptr<RestEndpoint>> Bind(const Configuration& config);
  ~RestEndpoint();

  // Serves `master`'s job, which must outlive Stop().
  void Start(JobMaster* master);
  // Idempotent.
  void Stop();

  // "http://127.0.0.1:8081"
  const std::string& url() const;
  int port() const;

 private:
  struct Impl;
  explicit RestEndpoint(std::unique_ptr<Impl> impl);
  // Runs the server's accept loop on its thread, and returns once it accepts.
  void StartListening();
  std::unique_ptr<Impl> impl_;
};

// The ports of a rest.bind-port value ("8081", "8081-8181", "8081,8090-8099"), in order;
// InvalidArgument naming the value when it is malformed.
Result<std::vector<int>> ParsePortRange(std::string_view spec);

}  // namespace weir
