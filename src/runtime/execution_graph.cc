#include "runtime/execution_graph.h"

namespace weir {

ExecutionGraph::ExecutionGraph(const JobGraph& graph, const TaskEnvironment* env,
                               const std::vector<std::shared_ptr<const TaskRestore>>& restores,
                               TaskHost* host, size_t initial_channel_capacity) {
  const auto& vertices = graph.vertices();
  std::vector<int> first_task(vertices.size());
  int n = 0;
  for (size_t v = 0; v < vertices.size(); ++v) {
    first_task[v] = n;
    n += vertices[v].parallelism;
  }
  for (int i = 0; i < n; ++i) wakers_.push_back(std::make_shared<TaskWaker>());
  auto waker = [&](int vertex, int subtask) {
    return wakers_[static_cast<size_t>(first_task[static_cast<size_t>(vertex)] + subtask)].get();
  };

  // channels[edge][producer subtask][consumer subtask]
  std::vector<std::vector<std::vector<std::shared_ptr<Channel>>>> channels;
  for (const auto& e : graph.edges()) {
    const JobVertex& src = vertices[static_cast<size_t>(e.source_vertex)];
    const JobVertex& dst = vertices[static_cast<size_t>(e.target_vertex)];
    std::vector<std::vector<std::shared_ptr<Channel>>> edge(static_cast<size_t>(src.parallelism));
    // A forward edge (equal parallelism) is pointwise: subtask s sends to subtask s only.
    const bool pointwise = e.partitioning == detail::Partitioning::kForward;
    for (int s = 0; s < src.parallelism; ++s) {
      for (int t = 0; t < dst.parallelism; ++t) {
        if (pointwise && s != t) continue;
        edge[static_cast<size_t>(s)].push_back(std::make_shared<Channel>(
            initial_channel_capacity, env->channel_capacity, env->batch_size,
            waker(e.target_vertex, t), waker(e.source_vertex, s)));
      }
    }
    channels.push_back(std::move(edge));
  }

  for (size_t v = 0; v < vertices.size(); ++v) {
    const JobVertex& vertex = vertices[v];
    for (int i = 0; i < vertex.parallelism; ++i) {
      TaskSpec spec;
      spec.task_index = first_task[v] + i;
      spec.vertex = &vertex;
      spec.subtask = i;
      spec.waker = wakers_[static_cast<size_t>(spec.task_index)];
      for (int in : vertex.input_edges) {
        const JobEdge& e = graph.edges()[static_cast<size_t>(in)];
        const auto& edge = channels[static_cast<size_t>(in)];
        if (e.partitioning == detail::Partitioning::kForward) {
          spec.inputs.push_back(edge[static_cast<size_t>(i)][0]);
          spec.channel_inputs.push_back(e.consumer_input);
          continue;
        }
        for (const auto& producer : edge) {
          spec.inputs.push_back(producer[static_cast<size_t>(i)]);
          spec.channel_inputs.push_back(e.consumer_input);
        }
      }
      for (int out : vertex.output_edges) {
        spec.outputs.push_back(channels[static_cast<size_t>(out)][static_cast<size_t>(i)]);
      }
      if (!restores.empty()) spec.restore = restores[static_cast<size_t>(spec.task_index)];
      if (vertex.is_source()) source_tasks_.push_back(spec.task_index);
      tasks_.push_back(std::make_unique<StreamTask>(graph, std::move(spec), env, host));
    }
  }
}

void ExecutionGraph::StartAll() {
  for (auto& t : tasks_) t->Start();
}

void ExecutionGraph::CancelAll() {
  for (auto& t : tasks_) t->Cancel();
}

void ExecutionGraph::JoinAll() {
  for (auto& t : tasks_) t->Join();
}

}  // namespace weir
