#include "runtime/operator_chain.h"

#include "base/check.h"
#include "runtime/source_coordinators.h"

namespace weir {

OperatorChain::OperatorChain(const JobGraph& graph, const JobVertex& vertex, int subtask,
                             const TaskEnvironment* env,
                             const std::vector<std::vector<std::shared_ptr<Channel>>>& outputs) {
  for (const detail::Transformation* t : vertex.operators) {
    Entry e;
    e.transformation = t;
    e.op = t->create_operator();
    e.context = std::make_unique<OperatorContextImpl>(env, t->name, subtask, vertex.parallelism);
    if (t->create_source_coordinator && env->source_coordinators != nullptr) {
      e.context->set_source_coordinator(env->source_coordinators->Find(t->OperatorUid()));
    }
    e.op->Setup(e.context.get());
    entries_.push_back(std::move(e));
  }
  // Wire each operator's output: chained consumers first, then network writers.
  first_writer_.assign(entries_.size(), nullptr);
  for (size_t index = 0; index < entries_.size(); ++index) {
    Entry& e = entries_[index];
    std::vector<void*> consumers;
    for (const detail::Transformation* c : graph.ChainedConsumers(e.transformation)) {
      for (Entry& x : entries_) {
        if (x.transformation != c) continue;
        WEIR_CHECK(x.op->input_type() != nullptr);
        if (!c->side_output_tag.empty()) {
          e.op->side_outputs().Add(
              c->create_side_output(x.op->typed_input(), x.context->batch_size()));
          continue;
        }
        WEIR_CHECK(*x.op->input_type() == *e.transformation->output_type);
        consumers.push_back(x.op->typed_input());
      }
    }
    for (const JobEdge* edge : graph.NetworkConsumers(e.transformation)) {
      size_t edge_index = 0;
      for (; edge_index < vertex.output_edges.size(); ++edge_index) {
        if (&graph.edges()[static_cast<size_t>(vertex.output_edges[edge_index])] == edge) break;
      }
      WEIR_CHECK(edge_index < outputs.size());
      std::vector<detail::OutputChannel*> channels;
      for (const auto& ch : outputs[edge_index]) channels.push_back(ch.get());
      detail::WiredConsumer w =
          edge->create_writer(std::move(channels), subtask, env->max_parallelism);
      writers_.push_back(w.writer);
      if (first_writer_[index] == nullptr) first_writer_[index] = w.writer;
      owned_.push_back(w.owner);
      consumers.push_back(w.consumer);
    }
    if (consumers.empty() && e.transformation->kind == detail::Transformation::Kind::kSink) {
      continue;
    }
    if (consumers.size() == 1) {
      e.op->SetTypedOutput(consumers[0]);
    } else {
      detail::WiredConsumer tee = e.transformation->create_output_tee(consumers);
      owned_.push_back(tee.owner);
      e.op->SetTypedOutput(tee.consumer);
    }
  }
}

}  // namespace weir
