// Internal: the operator that runs a TwoPhaseCommitSink (weir/sink.h) inside a task.
//
// It keeps the prepared transactions in order until their checkpoint completes, commits them
// on notification, and checkpoints them together with the sink's outputs as one union list:
// an entry per output, {owner subtask, output state, the owner's prepared transactions}. On
// restore a subtask takes the entries it owns (subtask 0 also those of removed subtasks),
// commits their transactions, then initializes the sink with their outputs.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/operators.h"
#include "weir/sink.h"

namespace weir::detail {

struct SinkStateEntry {
  int owner = 0;
  std::string state;
  std::vector<std::pair<int64_t, std::string>> transactions;  // (checkpoint id, transaction)
};

inline std::string EncodeSinkStateEntry(const SinkStateEntry& e) {
  std::string out;
  BufferWriter w(&out);
  w.PutFixed32(static_cast<uint32_t>(e.owner));
  w.PutLengthPrefixed(e.state);
  w.PutVarint64(e.transactions.size());
  for (const auto& [id, txn] : e.transactions) {
    w.PutFixed64(static_cast<uint64_t>(id));
    w.PutLengthPrefixed(txn);
  }
  return out;
}

inline bool DecodeSinkStateEntry(std::string_view bytes, SinkStateEntry* e) {
  BufferReader r(bytes);
  uint32_t owner;
  std::string_view state;
  uint64_t n;
  if (!r.GetFixed32(&owner) || !r.GetLengthPrefixed(&state) || !r.GetVarint64(&n) ||
      n > r.remaining()) {
    return false;
  }
  e->owner = static_cast<int>(owner);
  e->state.assign(state);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id;
    std::string_view txn;
    if (!r.GetFixed64(&id) || !r.GetLengthPrefixed(&txn)) return false;
    e->transactions.emplace_back(static_cast<int64_t>(id), std::string(txn));
  }
  return r.empty();
}

inline constexpr char kTwoPhaseCommitStateName[] = "two-phase-commit";

template <typename T>
class TwoPhaseCommitSinkOperator final : public OneInputOperator<T> {
 public:
  explicit TwoPhaseCommitSinkOperator(std::shared_ptr<TwoPhaseCommitSink<T>> sink)
      : sink_(std::move(sink)) {}

  void InitializeState(const OperatorState& restored) override {
    OperatorContext& ctx = this->context();
    SinkContext sc;
    sc.subtask_index = ctx.subtask_index();
    sc.parallelism = ctx.parallelism();
    sc.attempt_number = ctx.attempt_number();
    sc.restored = ctx.is_restored();
    sc.checkpointing = ctx.checkpointing_enabled();
    sc.file_system = &ctx.file_system();
    sc.configuration = &ctx.configuration();
    sc.cancellation = ctx.cancellation();
    awaiting_confirmation_ = sc.restored;
    Check(sink_->Open(sc), "opening");
    std::vector<SinkOutput> outputs;
    for (const auto& list : restored) {
      if (list.name != kTwoPhaseCommitStateName) continue;
      for (const auto& bytes : list.elements) {
        SinkStateEntry e;
        if (!DecodeSinkStateEntry(bytes, &e)) {
          Check(Status::Corruption("restored sink state does not decode"), "restoring");
        }
        bool mine =
            e.owner == sc.subtask_index || (sc.subtask_index == 0 && e.owner >= sc.parallelism);
        if (!mine) continue;
        // Recovery: what the checkpoint prepared is committed again (idempotent).
        for (const auto& [id, txn] : e.transactions) {
          Check(sink_->Commit(txn), "recommitting checkpoint " + std::to_string(id));
        }
        outputs.push_back(SinkOutput{e.owner, std::move(e.state)});
      }
    }
    Check(sink_->Initialize(outputs), "initializing");
  }

  void Accept(Batch<T>& in) override {
    this->records_in_.Add(in.records.size());
    Check(sink_->Write(in.records), "writing");
  }

  void SnapshotState(int64_t checkpoint_id, OperatorSnapshot* out) override {
    auto txn = sink_->Prepare(checkpoint_id);
    Check(txn.status(), "preparing checkpoint " + std::to_string(checkpoint_id));
    if (txn->has_value()) pending_.emplace_back(checkpoint_id, std::move(**txn));
    const int me = this->context().subtask_index();
    OperatorStateList list{kTwoPhaseCommitStateName, OperatorStateList::Mode::kUnion, {}};
    bool own_listed = false;
    for (auto& output : sink_->SnapshotOutputs()) {
      SinkStateEntry e{output.owner, std::move(output.state), {}};
      if (output.owner == me && !own_listed) {
        e.transactions = pending_;
        own_listed = true;
      }
      list.elements.push_back(EncodeSinkStateEntry(e));
    }
    if (!own_listed && !pending_.empty()) {
      list.elements.push_back(EncodeSinkStateEntry(SinkStateEntry{me, "", pending_}));
    }
    out->state.push_back(std::move(list));
    // Every uncommitted transaction is made durable again: an earlier attempt may have failed.
    std::vector<std::string> txns;
    for (const auto& [id, t] : pending_) txns.push_back(t);
    out->async_part = [sink = sink_, txns = std::move(txns)]() -> Status {
      WEIR_RETURN_IF_ERROR(sink->PersistCommitted());
      for (const auto& t : txns) WEIR_RETURN_IF_ERROR(sink->Persist(t));
      return Status::OK();
    };
  }

  void NotifyCheckpointComplete(int64_t checkpoint_id) override {
    Confirm();
    // Notifications may be lost or subsumed: a later one commits everything up to its id.
    size_t done = 0;
    for (; done < pending_.size() && pending_[done].first <= checkpoint_id; ++done) {
      Check(sink_->Commit(pending_[done].second),
            "committing checkpoint " + std::to_string(pending_[done].first));
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
  }

  void NotifyRestoreConfirmed() override { Confirm(); }

  void Finish() override {
    Check(sink_->Finish(), "finishing");
    if (this->context().checkpointing_enabled()) return;  // the final checkpoint commits
    auto txn = sink_->Prepare(0);
    Check(txn.status(), "preparing the last transaction");
    if (!txn->has_value()) return;
    Check(sink_->Persist(**txn), "persisting the last transaction");
    Check(sink_->Commit(**txn), "committing the last transaction");
  }

  void Close() override { sink_->Close(); }

 private:
  void Check(const Status& s, const std::string& doing) {
    if (!s.ok()) {
      throw OperatorError(this->context().operator_name(), this->context().subtask_index(),
                          s.WithContext(doing));
    }
  }

  // The runtime confirms a restore before any checkpoint of the restored job can complete.
  void Confirm() {
    if (!awaiting_confirmation_) return;
    awaiting_confirmation_ = false;
    Check(sink_->OnRestoreConfirmed(), "confirming the restore");
  }

  std::shared_ptr<TwoPhaseCommitSink<T>> sink_;
  std::vector<std::pair<int64_t, std::string>> pending_;  // prepared, in checkpoint order
  bool awaiting_confirmation_ = false;
};

}  // namespace weir::detail
