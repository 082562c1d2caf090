// What the Kafka sink keeps in checkpoints, and how it names its transactions.
//
// Subtask s of a sink with prefix P writes its transactions as transactional ids "P-s-n",
// n = 0, 1, 2, ... in order; an id is never used twice (a start or restore continues after the
// highest n the cluster knows). A checkpoint holds, per subtask, the next n (SubtaskState) and
// each prepared transaction with the producer id and epoch it was opened with
// (PreparedTransaction): enough for a restore to finish exactly that transaction, and to tell
// it from anything else the id may hold by then. At-least-once checkpoints hold a marker
// instead: the period whose records must be acknowledged.
//
// Both encodings start with a format version; a restore refuses one it does not know.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weir/status.h"

namespace weir::kafka {

std::string TransactionalId(std::string_view prefix, int subtask, uint64_t n);

struct TransactionalIdParts {
  std::string prefix;
  int subtask = 0;
  uint64_t n = 0;
};
// The parts of an id of one of `prefix`'s, or nullopt for any other id.
std::optional<TransactionalIdParts> ParseTransactionalId(std::string_view id,
                                                         std::string_view prefix);
// A regular expression (as ListTransactions takes, RE2/J) that matches exactly the ids of
// `prefix`.
std::string TransactionalIdPattern(std::string_view prefix);

struct PreparedTransaction {
  enum class Kind : uint8_t {
    kTransaction = 1,  // exactly-once: a Kafka transaction to commit
    kFlush = 2,        // at-least-once: records to be acknowledged, nothing to commit
  };
  Kind kind = Kind::kTransaction;
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int64_t checkpoint_id = 0;
  uint64_t period = 0;  // kFlush
};
std::string EncodePreparedTransaction(const PreparedTransaction& t);
Result<PreparedTransaction> DecodePreparedTransaction(std::string_view bytes);

struct SubtaskState {
  std::string prefix;
  int subtask = 0;
  uint64_t next = 0;  // the n of the subtask's next transactional id
};
std::string EncodeSubtaskState(const SubtaskState& s);
Result<SubtaskState> DecodeSubtaskState(std::string_view bytes);

}  // namespace weir::kafka
