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
    for (int s = 0; s < src.parallelism; ++s) {
      for (int t = 0; t < dst.parallelism; ++t) {
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
      if (vertex.input_edge >= 0) {
        for (const auto& producer : channels[static_cast<size_t>(vertex.input_edge)]) {
          spec.inputs.push_back(producer[static_cast<size_t>(i)]);
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
