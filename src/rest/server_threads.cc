#include "rest/server_threads.h"

#include <sys/socket.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/logging.h"
#include "rest/connections.h"

namespace weir {

ServerThreads::ServerThreads(size_t threads, const sockaddr_storage& listener,
                             std::chrono::milliseconds limit)
    : threads_(threads),
      listener_(listener),
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
  // Connections a thread was reading from while every thread was busy, since when.
  std::map<ino_t, Clock::time_point> served_since;
  std::unique_lock lock(mu_);
  while (!stop_.wait_for(lock, kWatchEvery, [this] { return stopping_; })) {
    if (busy_ < threads_) {
      served_since.clear();
      continue;
    }
    lock.unlock();
    const Clock::time_point now = Clock::now();
    std::map<ino_t, Clock::time_point> still_served;
    std::vector<std::string> closed;
    ForEachConnectionTo(listener_, [&](const Connection& c) {
      if (!c.read_from) return;  // waits for a thread
      const auto seen = served_since.find(c.socket);
      const Clock::time_point since = seen == served_since.end() ? now : seen->second;
      if (now - since < limit_) {
        still_served.emplace(c.socket, since);
        return;
      }
      ::shutdown(c.fd, SHUT_RDWR);
      closed.push_back(c.peer);
    });
    served_since = std::move(still_served);
    if (!closed.empty()) {
      // One line a look, however many: a flood of slow clients does not flood the log.
      spdlog::warn(
          "REST API: closed {} connection(s) (from {}{}) served for {} ms while all {} server "
          "threads were busy: a client sending its request, or reading its answer, slowly "
          "holds a thread (rest.server.busy-connection-timeout)",
          closed.size(), closed.front(), closed.size() > 1 ? " and others" : "", limit_.count(),
          threads_);
    }
    lock.lock();
  }
}

}  // namespace weir
