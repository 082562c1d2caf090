#include "rest/server_threads.h"

#include <sys/socket.h>

#include <map>
#include <utility>

#include "base/logging.h"
#include "rest/connections.h"

namespace weir {

ServerThreads::ServerThreads(size_t threads, int port, std::chrono::milliseconds limit)
    : threads_(threads),
      port_(port),
      limit_(limit),
      pool_(threads),
      watchdog_([this] { Watch(); }) {}

ServerThreads::~ServerThreads() { shutdown(); }

void ServerThreads::enqueue(std::function<void()> serve) {
  pool_.enqueue([this, serve = std::move(serve)] {
    ++busy_;
    serve();
    --busy_;
  });
}

void ServerThreads::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_.notify_all();
  watchdog_.join();
  pool_.shutdown();
}

void ServerThreads::Watch() {
  using Clock = std::chrono::steady_clock;
  std::map<ino_t, Clock::time_point> first_seen;  // while every thread was busy
  std::unique_lock lock(mu_);
  while (!stop_.wait_for(lock, kWatchEvery, [this] { return stopping_; })) {
    if (busy_ < threads_) {
      first_seen.clear();
      continue;
    }
    lock.unlock();
    const Clock::time_point now = Clock::now();
    std::map<ino_t, Clock::time_point> still_open;
    ForEachConnectionOn(port_, [&](const Connection& c) {
      const auto seen = first_seen.find(c.socket);
      const Clock::time_point since = seen == first_seen.end() ? now : seen->second;
      // Unread bytes: a request that waits for a thread (or one byte of a slow one that a
      // thread is about to read, cut at the next look).
      if (now - since < limit_ || c.unread > 0) {
        still_open.emplace(c.socket, since);
        return;
      }
      ::shutdown(c.fd, SHUT_RDWR);
      spdlog::warn(
          "REST API: closed the connection from {}, open for {} ms while all {} server threads "
          "were busy (a client sending its request slowly holds a thread; "
          "rest.server.busy-connection-timeout is {} ms)",
          c.peer, std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count(),
          threads_, limit_.count());
    });
    first_seen = std::move(still_open);
    lock.lock();
  }
}

}  // namespace weir
