// JobGraph: the job's transformations grouped into chains (tasks) and the edges between them.
//
// A transformation is chained to its input, into the same task and thread, when records reach
// it by forward partitioning at the same parallelism (as Flink chains). Key-by and rebalance
// edges, and parallelism changes (which become rebalance, as in Flink), start a new task. A
// chain may branch (one operator feeding several), so it is a tree rooted at its head.
// Transformations that lead to no sink are not run.
//
// A transformation with several inputs (a union, a two-input operator) heads a task of its
// own, with an edge per input; a forward input at equal parallelism becomes a pointwise
// forward edge (producer subtask i to consumer subtask i).
//
// Value type built once per job; immutable and shareable afterwards.
#pragma once

#include <string>
#include <vector>

#include "weir/configuration.h"
#include "weir/detail/transformation.h"
#include "weir/status.h"

namespace weir {

struct JobEdge {
  int source_vertex = 0;
  const detail::Transformation* producer = nullptr;  // inside the source vertex
  int target_vertex = 0;
  const detail::Transformation* consumer = nullptr;  // head of the target vertex
  detail::Partitioning partitioning = detail::Partitioning::kForward;
  int consumer_input = 0;  // which input of the consumer operator (see TransformationInput)
  detail::InputWriterFactory create_writer;  // the consumer's writer for this input
};

struct JobVertex {
  int id = 0;
  std::string name;  // the chain's operator names joined by " -> "
  int parallelism = 1;
  std::vector<const detail::Transformation*> operators;  // head first, topological order
  std::vector<int> input_edges;                          // in the head's input order
  std::vector<int> output_edges;

  const detail::Transformation* head() const { return operators.front(); }
  bool is_source() const { return head()->kind == detail::Transformation::Kind::kSource; }
};

class JobGraph {
 public:
  static Result<JobGraph> Build(const detail::GraphBuilder& graph, const Configuration& config);

  const std::vector<JobVertex>& vertices() const { return vertices_; }
  const std::vector<JobEdge>& edges() const { return edges_; }
  int max_parallelism() const { return max_parallelism_; }
  int default_parallelism() const { return default_parallelism_; }
  // Task subtasks in the job: the sum of the vertices' parallelism.
  int num_tasks() const;

  // Transformations chained directly after `t` in its task.
  std::vector<const detail::Transformation*> ChainedConsumers(const detail::Transformation* t) const;
  // Edges leaving the task from `t`.
  std::vector<const JobEdge*> NetworkConsumers(const detail::Transformation* t) const;
  int ParallelismOf(const detail::Transformation* t) const;

 private:
  std::vector<JobVertex> vertices_;
  std::vector<JobEdge> edges_;
  std::vector<const detail::Transformation*> live_;  // transformations that run
  std::vector<int> parallelism_;                     // by transformation id
  std::vector<int> vertex_of_;                       // by transformation id
  int max_parallelism_ = 128;
  int default_parallelism_ = 1;
};

}  // namespace weir
