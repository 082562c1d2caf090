#include "runtime/job_graph.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "weir/environment.h"

namespace weir {
namespace {

using detail::Partitioning;
using detail::Transformation;

class CountPerKey : public KeyedProcessFunction<int64_t, int64_t, int64_t> {
 public:
  void ProcessElement(const int64_t& v, Context&, Collector<int64_t>& out) override {
    out.Collect(v);
  }
};

int64_t Identity(int64_t v) { return v; }

class SumBoth final : public KeyedCoProcessFunction<int64_t, int64_t, std::string, int64_t> {
 public:
  void ProcessElement1(const int64_t& v, Context&, Collector<int64_t>& out) override {
    out.Collect(v);
  }
  void ProcessElement2(const std::string& s, Context&, Collector<int64_t>& out) override {
    out.Collect(static_cast<int64_t>(s.size()));
  }
};
bool Even(int64_t v) { return v % 2 == 0; }

Result<JobGraph> Build(const StreamExecutionEnvironment& env, const DataStream<int64_t>& any) {
  return JobGraph::Build(*any.graph(), env.config());
}

JobGraph BuildOk(const StreamExecutionEnvironment& env, const DataStream<int64_t>& any) {
  auto g = Build(env, any);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? std::move(*g) : JobGraph();
}

std::vector<std::string> Names(const JobGraph& g) {
  std::vector<std::string> out;
  for (const auto& v : g.vertices()) out.push_back(v.name);
  return out;
}

TEST(JobGraphTest, ForwardEdgesOfEqualParallelismChainIntoOneTask) {
  StreamExecutionEnvironment env;
  env.SetParallelism(2);
  auto source = env.FromSequence(0, 10);
  auto map = source.Map(Identity);
  auto sink = map.Filter(Even).Print();
  JobGraph g = BuildOk(env, sink);
  ASSERT_EQ(g.vertices().size(), 1u);
  EXPECT_TRUE(g.edges().empty());
  const JobVertex& v = g.vertices()[0];
  EXPECT_EQ(v.name, "Sequence Source -> Map -> Filter -> Print");
  EXPECT_EQ(v.parallelism, 2);
  EXPECT_TRUE(v.is_source());
  EXPECT_EQ(v.head(), source.transformation());
  EXPECT_TRUE(v.input_edges.empty());
  ASSERT_EQ(v.operators.size(), 4u);
  EXPECT_EQ(g.ChainedConsumers(source.transformation()),
            (std::vector<const Transformation*>{map.transformation()}));
  EXPECT_TRUE(g.ChainedConsumers(sink.transformation()).empty());
  EXPECT_TRUE(g.NetworkConsumers(source.transformation()).empty());
  EXPECT_EQ(g.num_tasks(), 2);
  EXPECT_EQ(g.default_parallelism(), 2);
  EXPECT_EQ(g.max_parallelism(), 128);
}

TEST(JobGraphTest, KeyByStartsANewTaskWithKeyGroupPartitioning) {
  StreamExecutionEnvironment env;
  env.SetParallelism(3);
  auto source = env.FromSequence(0, 10);
  auto processed = source.KeyBy([](int64_t v) { return v % 5; }).Process(CountPerKey());
  auto sink = processed.Print();
  JobGraph g = BuildOk(env, sink);
  EXPECT_EQ(Names(g), (std::vector<std::string>{"Sequence Source", "KeyedProcess -> Print"}));
  ASSERT_EQ(g.edges().size(), 1u);
  const JobEdge& e = g.edges()[0];
  EXPECT_EQ(e.partitioning, Partitioning::kKeyGroups);
  EXPECT_EQ(e.source_vertex, 0);
  EXPECT_EQ(e.target_vertex, 1);
  EXPECT_EQ(e.producer, source.transformation());
  EXPECT_EQ(e.consumer, processed.transformation());
  EXPECT_EQ(g.vertices()[0].output_edges, (std::vector<int>{0}));
  EXPECT_EQ(g.vertices()[1].input_edges, (std::vector<int>{0}));
  EXPECT_FALSE(g.vertices()[1].is_source());
  auto network = g.NetworkConsumers(source.transformation());
  ASSERT_EQ(network.size(), 1u);
  EXPECT_EQ(network[0], &e);
  EXPECT_EQ(g.num_tasks(), 6);
}

TEST(JobGraphTest, AUnionHeadsATaskWithAnEdgePerInput) {
  StreamExecutionEnvironment env;
  env.SetParallelism(2);
  auto a = env.FromSequence(0, 10);
  auto b = env.FromSequence(0, 10).SetParallelism(3);
  auto c = env.FromSequence(0, 10).Rebalance();
  auto u = a.Union(b, c);
  auto sink = u.Map(Identity).Print();
  JobGraph g = BuildOk(env, sink);
  ASSERT_EQ(g.vertices().size(), 4u);
  const JobVertex& v = g.vertices()[3];
  EXPECT_EQ(v.name, "Union -> Map -> Print");
  ASSERT_EQ(v.input_edges.size(), 3u);
  const auto& e = g.edges();
  // Equal parallelism: pointwise forward; another parallelism: rebalance; as asked: rebalance.
  EXPECT_EQ(e[static_cast<size_t>(v.input_edges[0])].partitioning, Partitioning::kForward);
  EXPECT_EQ(e[static_cast<size_t>(v.input_edges[1])].partitioning, Partitioning::kRebalance);
  EXPECT_EQ(e[static_cast<size_t>(v.input_edges[2])].partitioning, Partitioning::kRebalance);
  for (int i : v.input_edges) {
    EXPECT_EQ(e[static_cast<size_t>(i)].consumer, u.transformation());
    EXPECT_EQ(e[static_cast<size_t>(i)].consumer_input, 0);
  }
  EXPECT_EQ(e[static_cast<size_t>(v.input_edges[1])].producer, b.transformation());
}

TEST(JobGraphTest, AConnectedKeyedOperatorHasOneEdgePerOperatorInput) {
  StreamExecutionEnvironment env;
  env.SetParallelism(2);
  auto a = env.FromSequence(0, 10);
  auto b = env.FromSequence(0, 10).Map([](int64_t i) { return std::to_string(i); });
  auto sink = a.Connect(b)
                  .KeyBy([](int64_t i) { return i % 3; },
                         [](const std::string& s) { return static_cast<int64_t>(s.size()); })
                  .Process(SumBoth())
                  .Print();
  JobGraph g = BuildOk(env, sink);
  EXPECT_EQ(Names(g), (std::vector<std::string>{"Sequence Source", "Sequence Source -> Map",
                                                "KeyedCoProcess -> Print"}));
  const JobVertex& v = g.vertices()[2];
  ASSERT_EQ(v.input_edges.size(), 2u);
  for (int input = 0; input < 2; ++input) {
    const JobEdge& e = g.edges()[static_cast<size_t>(v.input_edges[static_cast<size_t>(input)])];
    EXPECT_EQ(e.partitioning, Partitioning::kKeyGroups);
    EXPECT_EQ(e.consumer_input, input);
    EXPECT_EQ(e.source_vertex, input);
  }
  EXPECT_TRUE(v.head()->keyed);
  EXPECT_EQ(v.head()->num_operator_inputs, 2);
}

TEST(JobGraphTest, RebalanceStartsANewTaskEvenAtEqualParallelism) {
  StreamExecutionEnvironment env;
  env.SetParallelism(2);
  auto sink = env.FromSequence(0, 10).Rebalance().Map(Identity).Print();
  JobGraph g = BuildOk(env, sink);
  EXPECT_EQ(Names(g), (std::vector<std::string>{"Sequence Source", "Map -> Print"}));
  ASSERT_EQ(g.edges().size(), 1u);
  EXPECT_EQ(g.edges()[0].partitioning, Partitioning::kRebalance);
}

TEST(JobGraphTest, AParallelismChangeTurnsForwardIntoRebalance) {
  StreamExecutionEnvironment env;
  env.SetParallelism(2);
  auto map = env.FromSequence(0, 10).Map(Identity).SetParallelism(3);
  auto sink = map.Print();  // default parallelism again: another change
  JobGraph g = BuildOk(env, sink);
  EXPECT_EQ(Names(g), (std::vector<std::string>{"Sequence Source", "Map", "Print"}));
  ASSERT_EQ(g.edges().size(), 2u);
  for (const auto& e : g.edges()) EXPECT_EQ(e.partitioning, Partitioning::kRebalance);
  EXPECT_EQ(g.vertices()[1].parallelism, 3);
  EXPECT_EQ(g.ParallelismOf(map.transformation()), 3);
  EXPECT_EQ(g.ParallelismOf(sink.transformation()), 2);
  EXPECT_EQ(g.num_tasks(), 2 + 3 + 2);
}

TEST(JobGraphTest, ANonParallelSourceRunsWithParallelismOne) {
  StreamExecutionEnvironment env;
  env.SetParallelism(4);
  auto source = env.FromCollection(std::vector<int64_t>{1, 2, 3});
  auto sink = source.Map(Identity).Print();
  JobGraph g = BuildOk(env, sink);
  ASSERT_EQ(g.vertices().size(), 2u);
  EXPECT_EQ(g.vertices()[0].name, "Collection Source");
  EXPECT_EQ(g.vertices()[0].parallelism, 1);
  EXPECT_EQ(g.vertices()[1].parallelism, 4);
  EXPECT_EQ(g.edges()[0].partitioning, Partitioning::kRebalance);
}

TEST(JobGraphTest, ANonParallelSourceWithParallelismAboveOneIsRejected) {
  StreamExecutionEnvironment env;
  auto source = env.FromCollection(std::vector<int64_t>{1}).SetParallelism(2);
  auto g = Build(env, source.Print());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("non-parallel"), std::string::npos) << g.status().ToString();
  EXPECT_NE(g.status().message().find("Collection Source"), std::string::npos);
}

TEST(JobGraphTest, BranchesThatReachNoSinkArePruned) {
  StreamExecutionEnvironment env;
  auto source = env.FromSequence(0, 10);
  auto dead = source.Map(Identity).Name("dead end").Filter(Even);
  auto live = source.Map(Identity).Name("live");
  auto sink = live.Print();
  JobGraph g = BuildOk(env, sink);
  EXPECT_EQ(Names(g), (std::vector<std::string>{"Sequence Source -> live -> Print"}));
  EXPECT_EQ(g.ChainedConsumers(source.transformation()),
            (std::vector<const Transformation*>{live.transformation()}));
  EXPECT_EQ(g.num_tasks(), 1);
  (void)dead;
}

TEST(JobGraphTest, AChainBranchesIntoATreeOfOperators) {
  StreamExecutionEnvironment env;
  auto source = env.FromSequence(0, 10);
  auto a = source.Map(Identity).Name("a");
  auto b = source.Filter(Even).Name("b");
  a.Print();
  auto last = b.Print();
  JobGraph g = BuildOk(env, last);
  ASSERT_EQ(g.vertices().size(), 1u);
  EXPECT_EQ(g.vertices()[0].operators.size(), 5u);
  EXPECT_EQ(g.ChainedConsumers(source.transformation()),
            (std::vector<const Transformation*>{a.transformation(), b.transformation()}));
}

// A fan-out gives each consumer but the last a copy of every record.
TEST(JobGraphTest, AStreamOfATypeThatCannotBeCopiedHasOneConsumer) {
  const auto unbox = [](std::unique_ptr<int64_t> p) { return *p; };
  {
    StreamExecutionEnvironment env;
    auto boxed = env.FromSequence(0, 10).Map([](int64_t i) { return std::make_unique<int64_t>(i); })
                     .Name("box");
    boxed.Map(unbox).Print();
    auto g = Build(env, boxed.Map(unbox).Print());
    ASSERT_FALSE(g.ok());
    EXPECT_NE(g.status().message().find("operator 'box' sends its records to 2 consumers"),
              std::string::npos)
        << g.status().ToString();
    EXPECT_NE(g.status().message().find("cannot be copied"), std::string::npos);
  }
  {
    StreamExecutionEnvironment env;
    auto boxed = env.FromSequence(0, 10).Map([](int64_t i) { return std::make_unique<int64_t>(i); });
    boxed.Map(unbox).Name("dead end");  // reaches no sink: pruned, no fan-out
    BuildOk(env, boxed.Map(unbox).Print());
  }
  // One stream taken twice by one operator (a union or a connect with itself) is two consumers
  // as well: each record would have to reach both inputs.
  const auto peek = [](const std::unique_ptr<int64_t>& p) { return *p; };
  for (bool connect : {false, true}) {
    SCOPED_TRACE(connect ? "Connect" : "Union");
    StreamExecutionEnvironment env;
    auto boxed = env.FromSequence(0, 10).Map([](int64_t i) { return std::make_unique<int64_t>(i); })
                     .Name("box");
    auto both = connect ? boxed.Connect(boxed).Map(peek, peek) : boxed.Union(boxed).Map(unbox);
    auto g = Build(env, both.Print());
    ASSERT_FALSE(g.ok());
    EXPECT_NE(g.status().message().find("operator 'box' sends its records to 2 consumers"),
              std::string::npos)
        << g.status().ToString();
  }
}

TEST(JobGraphTest, AJobWithoutASinkIsRejected) {
  StreamExecutionEnvironment env;
  auto map = env.FromSequence(0, 10).Map(Identity);
  auto g = Build(env, map);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("no sink"), std::string::npos) << g.status().ToString();
}

TEST(JobGraphTest, DuplicateOperatorUidsAreRejected) {
  StreamExecutionEnvironment env;
  auto source = env.FromSequence(0, 10);
  source.Map(Identity).Uid("same").Print();
  auto sink = source.Filter(Even).Uid("same").Print();
  auto g = Build(env, sink);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("'same'"), std::string::npos) << g.status().ToString();
}

TEST(JobGraphTest, DistinctUidsAreAccepted) {
  StreamExecutionEnvironment env;
  auto source = env.FromSequence(0, 10).Uid("source");
  auto sink = source.Map(Identity).Uid("map").Print().Uid("sink");
  EXPECT_TRUE(Build(env, sink).ok());
}

TEST(JobGraphTest, OperatorParallelismAboveMaxParallelismIsRejected) {
  StreamExecutionEnvironment env;
  env.SetMaxParallelism(4);
  auto sink = env.FromSequence(0, 10).Map(Identity).Name("wide").SetParallelism(8).Print();
  auto g = Build(env, sink);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("'wide'"), std::string::npos) << g.status().ToString();
  EXPECT_NE(g.status().message().find("max-parallelism"), std::string::npos);
}

TEST(JobGraphTest, DefaultParallelismAboveMaxParallelismIsRejected) {
  StreamExecutionEnvironment env;
  env.SetMaxParallelism(4).SetParallelism(5);
  auto g = Build(env, env.FromSequence(0, 10).Print());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("parallelism.default"), std::string::npos)
      << g.status().ToString();
}

TEST(JobGraphTest, BadParallelismSettingsAreRejected) {
  {
    StreamExecutionEnvironment env;
    env.SetParallelism(0);
    EXPECT_FALSE(Build(env, env.FromSequence(0, 1).Print()).ok());
  }
  {
    StreamExecutionEnvironment env;
    env.SetMaxParallelism(0);
    EXPECT_FALSE(Build(env, env.FromSequence(0, 1).Print()).ok());
  }
  {
    StreamExecutionEnvironment env;
    auto sink = env.FromSequence(0, 1).Map(Identity).Name("negative").SetParallelism(-2).Print();
    auto g = Build(env, sink);
    ASSERT_FALSE(g.ok());
    EXPECT_NE(g.status().message().find("'negative'"), std::string::npos);
  }
}

TEST(JobGraphTest, MaxParallelismComesFromTheConfiguration) {
  StreamExecutionEnvironment env;
  env.SetMaxParallelism(16).SetParallelism(16);
  JobGraph g = BuildOk(env, env.FromSequence(0, 1).Print());
  EXPECT_EQ(g.max_parallelism(), 16);
  EXPECT_EQ(g.num_tasks(), 16);
}

}  // namespace
}  // namespace weir
