// ExecutionGraph: a task per subtask, numbered vertices first, and a channel per producer and
// consumer subtask of every edge, wired to the right ends.
#include "runtime/execution_graph.h"

#include <gtest/gtest.h>

#include "weir/environment.h"

namespace weir {
namespace {

class Pass : public KeyedProcessFunction<int64_t, int64_t, int64_t> {
 public:
  void ProcessElement(const int64_t& v, Context&, Collector<int64_t>& out) override {
    out.Collect(v);
  }
};

class NoHost final : public TaskHost {
 public:
  void TaskRunning(int) override {}
  void TaskDataFinished(int) override {}
  void TaskExited(int, const Status&) override {}
  void CheckpointAcknowledged(CheckpointAcknowledgement) override {}
  void CheckpointDeclined(const CheckpointDecline&) override {}
  AsyncExecutor& snapshot_executor() override { return executor_; }

 private:
  AsyncExecutor executor_{1};
};

TEST(ExecutionGraphTest, ATaskPerSubtaskAndAChannelPerProducerConsumerPair) {
  StreamExecutionEnvironment env;
  // source (2) -> keyed (3) -> print (3, chained)
  auto sink = env.FromSequence(0, 10)
                  .SetParallelism(2)
                  .KeyBy([](int64_t v) { return v; })
                  .Process(Pass())
                  .SetParallelism(3)
                  .Print()
                  .SetParallelism(3);
  auto graph = JobGraph::Build(*sink.graph(), env.config());
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  ASSERT_EQ(graph->vertices().size(), 2u);
  Configuration config;
  TaskEnvironment te;
  te.config = &config;
  te.fs = FileSystem::Default();
  te.clock = Clock::System();
  NoHost host;
  ExecutionGraph attempt(*graph, &te, {}, &host, 16);
  ASSERT_EQ(attempt.num_tasks(), 5);
  EXPECT_EQ(attempt.source_tasks(), (std::vector<int>{0, 1}));
  for (int t = 0; t < 5; ++t) {
    const StreamTask& task = *attempt.tasks()[static_cast<size_t>(t)];
    EXPECT_EQ(task.task_index(), t);
    EXPECT_EQ(&task.vertex(), &graph->vertices()[t < 2 ? 0 : 1]);
  }
  EXPECT_EQ(attempt.tasks()[0]->name(), "Sequence Source (1/2)");
  EXPECT_EQ(attempt.tasks()[4]->name(), "KeyedProcess -> Print (3/3)");
  EXPECT_EQ(attempt.tasks()[0]->num_output_channels(), 3u);  // one per consumer subtask
  EXPECT_EQ(attempt.tasks()[2]->num_input_channels(), 2u);   // one per producer subtask
  EXPECT_EQ(attempt.tasks()[2]->num_output_channels(), 0u);
}

}  // namespace
}  // namespace weir
