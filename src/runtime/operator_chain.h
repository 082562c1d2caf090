// OperatorChain: the operators of one task subtask, instantiated and wired together.
//
// Built on the JobMaster's thread before the task starts: each transformation of the vertex
// becomes an operator; an operator's output goes to the operators chained after it and to a
// RecordWriter per network edge leaving it (through a Tee when there are several). The task
// thread then drives the operators; the chain owns them, their contexts and the writers.
// Thread-safety: built on one thread, then owned by the task thread (record counters may be
// read from any thread).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/channel.h"
#include "runtime/job_graph.h"
#include "runtime/operator_context.h"
#include "weir/detail/operator.h"
#include "weir/detail/record_writer.h"

namespace weir {

class OperatorChain {
 public:
  struct Entry {
    const detail::Transformation* transformation;
    std::unique_ptr<detail::StreamOperator> op;
    std::unique_ptr<OperatorContextImpl> context;
  };

  // `outputs[i]` are the channels of the vertex's i-th output edge, one per consumer subtask.
  OperatorChain(const JobGraph& graph, const JobVertex& vertex, int subtask,
                const TaskEnvironment* env,
                const std::vector<std::vector<std::shared_ptr<Channel>>>& outputs);

  std::vector<Entry>& entries() { return entries_; }
  const std::vector<Entry>& entries() const { return entries_; }
  detail::StreamOperator* head() { return entries_.front().op.get(); }
  const std::vector<detail::RecordWriterBase*>& writers() const { return writers_; }
  // The first writer to another task that entry `i`'s output goes to; null if none.
  const detail::RecordWriterBase* first_writer(size_t i) const { return first_writer_[i]; }

  void FlushWriters() {
    for (auto* w : writers_) w->FlushAll();
  }
  bool HasPendingOutput() const {
    for (auto* w : writers_) {
      if (w->has_pending()) return true;
    }
    return false;
  }

 private:
  std::vector<Entry> entries_;
  std::vector<detail::RecordWriterBase*> writers_;
  std::vector<const detail::RecordWriterBase*> first_writer_;  // by entry
  std::vector<std::shared_ptr<void>> owned_;  // writers and tees
};

}  // namespace weir
