#include "rest/async_operations.h"

#include <algorithm>

#include "base/random.h"

namespace weir {

void AsyncOperations::Poll(Operation& op) {
  if (op.result) return;
  State s;
  s.kind = op.kind;
  s.done = true;
  if (auto* f = std::get_if<std::future<Result<std::string>>>(&op.future)) {
    if (f->wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
    Result<std::string> r = f->get();
    if (r.ok()) {
      s.location = *r;
    } else {
      s.error = r.status();
    }
  } else {
    auto& g = std::get<std::future<Result<int64_t>>>(op.future);
    if (g.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
    Result<int64_t> r = g.get();
    if (r.ok()) {
      s.checkpoint_id = *r;
    } else {
      s.error = r.status();
    }
  }
  op.result = std::move(s);
}

Result<std::string> AsyncOperations::Add(Kind kind, const std::function<Future()>& start,
                                         const std::string& requested) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string id = requested.empty() ? RandomHex(32) : requested;
  if (auto it = ops_.find(id); it != ops_.end()) {
    // A client's retry (its answer was lost, say) gets the operation it started, which is
    // not started again: what a trigger id is for, as in Flink.
    if (it->second.kind == kind) return id;
    return Status::AlreadyExists("trigger id " + id + " is already in use by another kind of "
                                 "operation");
  }
  for (auto& [key, op] : ops_) Poll(op);
  while (ops_.size() >= kMaxOperations) {
    // Forget the oldest finished operation; if none has finished, refuse.
    auto oldest = ops_.end();
    for (auto it = ops_.begin(); it != ops_.end(); ++it) {
      if (it->second.result && (oldest == ops_.end() || it->second.seq < oldest->second.seq)) {
        oldest = it;
      }
    }
    if (oldest == ops_.end()) {
      return Status::Aborted(std::to_string(kMaxOperations) +
                             " savepoints and checkpoints requested over the REST API "
                             "are still in progress; try again once they finish");
    }
    ops_.erase(oldest);
  }
  Operation op;
  op.kind = kind;
  op.future = start();
  op.seq = next_seq_++;
  ops_.emplace(id, std::move(op));
  return id;
}

bool AsyncOperations::Has(const std::string& id, Kind kind) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ops_.find(id);
  return it != ops_.end() && it->second.kind == kind;
}

std::optional<AsyncOperations::State> AsyncOperations::Get(const std::string& id, Kind kind) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ops_.find(id);
  if (it == ops_.end() || it->second.kind != kind) return std::nullopt;
  Operation& op = it->second;
  Poll(op);
  if (!op.result) {
    State running;
    running.kind = kind;
    return running;
  }
  if (!op.fetched) {
    op.fetched = true;
    fetched_.notify_all();
  }
  return op.result;
}

void AsyncOperations::WaitUntilFetched(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    bool pending = false;
    for (auto& [id, op] : ops_) {
      Poll(op);
      // Only results someone could still be waiting for: finished, never fetched.
      if (op.result && !op.fetched) pending = true;
    }
    if (!pending || std::chrono::steady_clock::now() >= deadline) return;
    fetched_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

}  // namespace weir
