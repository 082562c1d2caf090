#include "runtime/job_graph.h"

#include <algorithm>
#include <set>

#include "runtime/pipeline_options.h"

namespace weir {

using detail::Partitioning;
using detail::Transformation;

int JobGraph::num_tasks() const {
  int n = 0;
  for (const auto& v : vertices_) n += v.parallelism;
  return n;
}

int JobGraph::ParallelismOf(const Transformation* t) const {
  return parallelism_[static_cast<size_t>(t->id)];
}

std::vector<const Transformation*> JobGraph::ChainedConsumers(const Transformation* t) const {
  std::vector<const Transformation*> out;
  int v = vertex_of_[static_cast<size_t>(t->id)];
  for (const Transformation* c : vertices_[static_cast<size_t>(v)].operators) {
    if (c->input == t) out.push_back(c);
  }
  return out;
}

std::vector<const JobEdge*> JobGraph::NetworkConsumers(const Transformation* t) const {
  std::vector<const JobEdge*> out;
  for (const auto& e : edges_) {
    if (e.producer == t) out.push_back(&e);
  }
  return out;
}

Result<JobGraph> JobGraph::Build(const detail::GraphBuilder& graph, const Configuration& config) {
  JobGraph g;
  WEIR_ASSIGN_OR_RETURN(int64_t p, config.Get(pipeline_options::kDefaultParallelism));
  WEIR_ASSIGN_OR_RETURN(int64_t maxp, config.Get(pipeline_options::kMaxParallelism));
  if (p > maxp) {
    return Status::InvalidArgument("parallelism.default must be between 1 and "
                                   "pipeline.max-parallelism (" + std::to_string(maxp) +
                                   "), not " + std::to_string(p));
  }
  g.max_parallelism_ = static_cast<int>(maxp);
  g.default_parallelism_ = static_cast<int>(p);

  const auto& all = graph.transformations();
  size_t n = all.size() + 1;  // ids start at 1
  // Only what leads to a sink runs.
  std::vector<bool> live(n, false);
  bool any_sink = false;
  std::vector<const Transformation*> pending;
  for (const auto& t : all) {
    if (t->kind != Transformation::Kind::kSink) continue;
    any_sink = true;
    pending.push_back(t.get());
  }
  while (!pending.empty()) {
    const Transformation* x = pending.back();
    pending.pop_back();
    if (live[static_cast<size_t>(x->id)]) continue;
    live[static_cast<size_t>(x->id)] = true;
    for (const auto& in : x->inputs()) pending.push_back(in.transformation);
  }
  if (!any_sink) {
    return Status::InvalidArgument("the job has no sink: add WriteAsText or Print to a stream");
  }

  g.parallelism_.assign(n, 0);
  g.vertex_of_.assign(n, -1);
  for (const auto& up : all) {
    const Transformation* t = up.get();
    if (!live[static_cast<size_t>(t->id)]) continue;
    g.live_.push_back(t);
    int tp = t->parallelism > 0 ? t->parallelism : g.default_parallelism_;
    if (t->parallelism < 0) {
      return Status::InvalidArgument("operator '" + t->name + "': parallelism must be positive");
    }
    if (t->non_parallel) {
      if (t->parallelism > 1) {
        return Status::InvalidArgument("operator '" + t->name +
                                       "' runs in one subtask (a non-parallel source, or WindowAll): its parallelism must be 1");
      }
      tp = 1;
    }
    if (!t->side_output_tag.empty()) {
      // A side output runs chained to the operator that emits it.
      int input_parallelism = g.parallelism_[static_cast<size_t>(t->input->id)];
      if (t->parallelism > 0 && t->parallelism != input_parallelism) {
        return Status::InvalidArgument("side output '" + t->side_output_tag +
                                       "' has the parallelism of '" + t->input->name + "' (" +
                                       std::to_string(input_parallelism) + "); it cannot be set");
      }
      tp = input_parallelism;
    }
    if (tp > g.max_parallelism_) {
      return Status::InvalidArgument("operator '" + t->name + "': parallelism " +
                                     std::to_string(tp) + " exceeds pipeline.max-parallelism " +
                                     std::to_string(g.max_parallelism_));
    }
    g.parallelism_[static_cast<size_t>(t->id)] = tp;
  }

  // Operator uids must be unique: they name state in checkpoints.
  std::set<std::string> uids;
  for (const Transformation* t : g.live_) {
    if (!uids.insert(t->OperatorUid()).second) {
      return Status::InvalidArgument("operator uid '" + t->OperatorUid() +
                                     "' is used by more than one operator");
    }
  }

  // More than one consumer of a stream each get a copy of its records but the last.
  std::vector<int> consumers(n, 0);
  for (const Transformation* t : g.live_) {
    if (!t->side_output_tag.empty()) continue;  // fed from the operator's side, not its output
    for (const auto& input : t->inputs()) ++consumers[static_cast<size_t>(input.transformation->id)];
  }
  for (const Transformation* t : g.live_) {
    const int count = consumers[static_cast<size_t>(t->id)];
    if (count > 1 && !t->output_copyable) {
      return Status::InvalidArgument(
          "operator '" + t->name + "' sends its records to " + std::to_string(count) +
          " consumers, and each but the last gets a copy, but their type cannot be copied: "
          "give it a copy constructor, or send the stream to one consumer");
    }
  }

  for (const Transformation* t : g.live_) {
    size_t id = static_cast<size_t>(t->id);
    const std::vector<detail::TransformationInput> inputs = t->inputs();
    const Transformation* in = t->input;
    bool chain = inputs.size() == 1 && t->partitioning == Partitioning::kForward &&
                 g.parallelism_[static_cast<size_t>(in->id)] == g.parallelism_[id];
    if (chain) {
      int v = g.vertex_of_[static_cast<size_t>(in->id)];
      g.vertex_of_[id] = v;
      g.vertices_[static_cast<size_t>(v)].operators.push_back(t);
      continue;
    }
    JobVertex vertex;
    vertex.id = static_cast<int>(g.vertices_.size());
    vertex.parallelism = g.parallelism_[id];
    vertex.operators.push_back(t);
    g.vertex_of_[id] = vertex.id;
    for (const auto& input : inputs) {
      JobEdge e;
      e.source_vertex = g.vertex_of_[static_cast<size_t>(input.transformation->id)];
      e.producer = input.transformation;
      e.target_vertex = vertex.id;
      e.consumer = t;
      e.consumer_input = input.operator_input;
      e.create_writer = input.create_writer;
      // Forward between different parallelism becomes rebalance, as in Flink; at equal
      // parallelism (an input of a task with several) it stays pointwise.
      bool same =
          g.parallelism_[static_cast<size_t>(input.transformation->id)] == vertex.parallelism;
      e.partitioning = input.partitioning != Partitioning::kForward ? input.partitioning
                       : same                                       ? Partitioning::kForward
                                                                    : Partitioning::kRebalance;
      int edge = static_cast<int>(g.edges_.size());
      vertex.input_edges.push_back(edge);
      g.vertices_[static_cast<size_t>(e.source_vertex)].output_edges.push_back(edge);
      g.edges_.push_back(std::move(e));
    }
    if (inputs.empty() && t->kind != Transformation::Kind::kSource) {
      return Status::Internal("operator '" + t->name + "' has no input");
    }
    g.vertices_.push_back(std::move(vertex));
  }
  for (auto& v : g.vertices_) {
    for (const Transformation* t : v.operators) {
      if (!v.name.empty()) v.name += " -> ";
      v.name += t->name;
    }
  }
  return g;
}

}  // namespace weir
