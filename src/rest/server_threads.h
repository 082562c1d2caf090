// ServerThreads: the REST API's server threads, cpp-httplib's pool of them with a watchdog for
// clients that hold them.
//
// cpp-httplib serves a connection on one thread from accept to close, and its read timeout is
// per recv: a client that sends its request a byte within every timeout holds a thread for as
// long as it likes, and as many such clients as there are threads hold the whole API, and
// Prometheus's scrapes with it. So while every thread is busy, the watchdog looks at the open
// connections every kWatchEvery and shuts down those a thread has been reading from (or
// writing to) for `limit` (the thread wakes and closes it), with a warning that names the
// clients. A connection waiting for a thread, nothing read from it yet, is left to wait. A
// request takes milliseconds; keep-alive connections idle for a second are closed by
// cpp-httplib. While a thread is free nothing is looked at and nothing is cut.
//
// What is left: a flood of connections, each taking a thread for `limit`, can still keep
// requests waiting (cpp-httplib's queue has no bound); an event-driven server would not.
//
// Thread-safety: cpp-httplib calls enqueue from its accept thread and shutdown once, after it.
#pragma once

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace weir {

class ServerThreads final : public httplib::TaskQueue {
 public:
  static constexpr std::chrono::milliseconds kWatchEvery{250};

  // Serves connections accepted on `listener` (its bound address) on `threads` threads.
  ServerThreads(size_t threads, const sockaddr_storage& listener,
                std::chrono::milliseconds limit);
  ~ServerThreads() override;

  void enqueue(std::function<void()> serve) override;
  // Stops the watchdog, then waits for the threads to finish what they serve.
  void shutdown() override;

 private:
  void Watch();

  const size_t threads_;
  const sockaddr_storage listener_;
  const std::chrono::milliseconds limit_;
  std::atomic<size_t> busy_{0};
  httplib::ThreadPool pool_;

  std::mutex mu_;
  std::condition_variable stop_;
  bool stopping_ = false;  // guarded by mu_
  std::thread watchdog_;
};

}  // namespace weir
