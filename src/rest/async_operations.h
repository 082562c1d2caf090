// AsyncOperations: the REST API's asynchronous operations (savepoints, stop-with-savepoint,
// checkpoints), as Flink's: a POST starts one and answers with a trigger id at once, and
// GET .../:triggerid tells IN_PROGRESS or COMPLETED with the result.
//
// Each operation holds the future the job master fulfils; nothing blocks a server thread.
// At most kMaxOperations are kept: the oldest finished ones are forgotten first, and while
// that many are still running a new one is refused (429). The endpoint waits, when it
// stops, until every finished result was fetched once (WaitUntilFetched), so a client
// polling a stop-with-savepoint learns where the savepoint is even though the job ended.
//
// Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "weir/status.h"

namespace weir {

class AsyncOperations {
 public:
  static constexpr size_t kMaxOperations = 64;
  enum class Kind { kSavepoint, kCheckpoint };

  struct State {
    Kind kind;
    bool done = false;
    Status error;          // when done and failed
    std::string location;  // savepoints: where it is
    int64_t checkpoint_id = 0;
  };

  using Future = std::variant<std::future<Result<std::string>>, std::future<Result<int64_t>>>;

  // Starts an operation with `start` and returns its trigger id: a new one (32 hex), or
  // `requested` when given. A `requested` id of an operation of this kind is a retry: its id
  // comes back and `start` is not called. Errors: the id is one of another kind
  // (AlreadyExists), or too many operations run (Aborted); then nothing was triggered.
  Result<std::string> Add(Kind kind, const std::function<Future()>& start,
                          const std::string& requested = "");
  // Whether `id` names an operation of `kind` (without fetching its result).
  bool Has(const std::string& id, Kind kind);
  // The operation's state; nullopt for an unknown id or one of another kind.
  std::optional<State> Get(const std::string& id, Kind kind);
  // Waits until every finished operation's result was fetched with Get, or `timeout`.
  void WaitUntilFetched(std::chrono::milliseconds timeout);

 private:
  struct Operation {
    Kind kind;
    Future future;
    std::optional<State> result;  // once done
    bool fetched = false;
    uint64_t seq = 0;
  };
  // Moves a ready future's value into `result`.
  static void Poll(Operation& op);

  std::mutex mu_;
  std::condition_variable fetched_;
  std::map<std::string, Operation> ops_;  // guarded by mu_
  uint64_t next_seq_ = 0;                 // guarded by mu_
};

}  // namespace weir
