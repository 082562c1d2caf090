// State assignment: keyed state by key group and operator state by list, at the same and at
// other parallelism, and the checks that refuse a checkpoint that does not fit the job.
#include "runtime/state_assignment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "weir/environment.h"

namespace weir {
namespace {

using detail::OperatorStateList;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class Pass : public KeyedProcessFunction<int64_t, int64_t, int64_t> {
 public:
  void ProcessElement(const int64_t& v, Context&, Collector<int64_t>& out) override {
    out.Collect(v);
  }
};

// source (uid "source", parallelism 1) -> keyed "sum" (parallelism p) -> print
struct Job {
  explicit Job(int parallelism) {
    env.SetParallelism(parallelism);
    auto source = env.FromSequence(0, 10).SetParallelism(1).Uid("source");
    sink = source.KeyBy([](int64_t v) { return v; }).Process(Pass()).Uid("sum").Print();
    auto g = JobGraph::Build(*sink.graph(), env.config());
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    graph = std::move(*g);
  }
  StreamExecutionEnvironment env;
  DataStream<int64_t> sink{nullptr, nullptr};
  JobGraph graph;
};

KeyedStateHandle Handle(int first, int last, const std::string& file) {
  KeyedStateHandle h;
  h.key_groups = KeyGroupRange{first, last};
  h.canonical = StateFile{file, 1, 2, ""};
  return h;
}

// A checkpoint of the job at `old_parallelism`: the source's split list, one element per
// old subtask, and a keyed handle per old subtask covering its key groups.
std::shared_ptr<const CompletedCheckpoint> Checkpoint(int old_parallelism, int max_parallelism = 128) {
  auto c = std::make_shared<CompletedCheckpoint>();
  OperatorSnapshotMetadata source{"source", "Sequence Source", 1, max_parallelism, {}};
  SubtaskState s;
  s.operator_state.push_back(OperatorStateList{"splits", OperatorStateList::Mode::kSplit, {"a", "b", "c"}});
  s.operator_state.push_back(OperatorStateList{"all", OperatorStateList::Mode::kUnion, {"u"}});
  source.subtasks.push_back(s);
  OperatorSnapshotMetadata sum{"sum", "KeyedProcess", old_parallelism, max_parallelism, {}};
  for (int i = 0; i < old_parallelism; ++i) {
    KeyGroupRange r = KeyGroupRange::ForSubtask(max_parallelism, old_parallelism, i);
    SubtaskState st;
    st.keyed = Handle(r.start, r.end, "sum-" + std::to_string(i));
    st.operator_state.push_back(
        OperatorStateList{"mine", OperatorStateList::Mode::kSplit, {std::to_string(i)}});
    sum.subtasks.push_back(st);
  }
  c->metadata.operators = {source, sum};
  return c;
}

std::vector<std::string> KeyedFiles(const TaskRestore& r, const std::string& uid) {
  std::vector<std::string> out;
  for (const auto& h : r.operators.at(uid).keyed) out.push_back(h.canonical->path);
  return out;
}

std::vector<std::string> List(const TaskRestore& r, const std::string& uid, const std::string& name) {
  for (const auto& l : r.operators.at(uid).operator_state) {
    if (l.name == name) return l.elements;
  }
  return {};
}

TEST(StateAssignmentTest, SameParallelismKeepsEachSubtasksOwnState) {
  Job job(2);
  auto r = AssignState(job.graph, Checkpoint(2), false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);  // the source, then two subtasks of the keyed chain
  EXPECT_THAT(List(*(*r)[0], "source", "splits"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(KeyedFiles(*(*r)[1], "sum"), ElementsAre("sum-0"));
  EXPECT_THAT(KeyedFiles(*(*r)[2], "sum"), ElementsAre("sum-1"));
  EXPECT_THAT(List(*(*r)[1], "sum", "mine"), ElementsAre("0"));
  EXPECT_THAT(List(*(*r)[2], "sum", "mine"), ElementsAre("1"));
}

TEST(StateAssignmentTest, ScalingUpGivesEachSubtaskTheHandlesOverlappingItsKeyGroups) {
  Job job(4);
  auto r = AssignState(job.graph, Checkpoint(2), false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 5u);
  // Old subtask 0 had key groups 0..63: new subtasks 0 and 1 (0..31, 32..63) read it.
  EXPECT_THAT(KeyedFiles(*(*r)[1], "sum"), ElementsAre("sum-0"));
  EXPECT_THAT(KeyedFiles(*(*r)[2], "sum"), ElementsAre("sum-0"));
  EXPECT_THAT(KeyedFiles(*(*r)[3], "sum"), ElementsAre("sum-1"));
  EXPECT_THAT(KeyedFiles(*(*r)[4], "sum"), ElementsAre("sum-1"));
  // Split lists are dealt round robin: two elements for four subtasks.
  EXPECT_THAT(List(*(*r)[1], "sum", "mine"), ElementsAre("0"));
  EXPECT_THAT(List(*(*r)[2], "sum", "mine"), ElementsAre("1"));
  EXPECT_TRUE(List(*(*r)[3], "sum", "mine").empty());
}

TEST(StateAssignmentTest, ScalingDownGivesOneSubtaskSeveralHandles) {
  Job job(1);
  auto r = AssignState(job.graph, Checkpoint(3), false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(KeyedFiles(*(*r)[1], "sum"), ElementsAre("sum-0", "sum-1", "sum-2"));
  EXPECT_THAT(List(*(*r)[1], "sum", "mine"), ElementsAre("0", "1", "2"));
}

TEST(StateAssignmentTest, UnionListsGoToEverySubtask) {
  Job job(1);
  auto r = AssignState(job.graph, Checkpoint(1), false);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(List(*(*r)[0], "source", "all"), ElementsAre("u"));
}

TEST(StateAssignmentTest, StateOfAnOperatorTheJobNoLongerHasIsRefusedUnlessIgnored) {
  Job job(2);
  auto c = std::const_pointer_cast<CompletedCheckpoint>(Checkpoint(2));
  c->metadata.operators[1].uid = "old-sum";
  c->metadata.operators[1].name = "old sum";
  auto r = AssignState(job.graph, c, false);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              AllOf(HasSubstr("operator 'old sum' (uid 'old-sum')"),
                    HasSubstr("execution.state-recovery.ignore-unclaimed-state")));
  auto ignored = AssignState(job.graph, c, true);
  ASSERT_TRUE(ignored.ok());
  EXPECT_FALSE((*ignored)[1]->operators.contains("sum")) << "the job's sum starts empty";
}

TEST(StateAssignmentTest, AnotherMaxParallelismIsRefusedForKeyedState) {
  Job job(2);
  auto r = AssignState(job.graph, Checkpoint(2, /*max_parallelism=*/64), false);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("max parallelism 64, the job has 128"));
}

}  // namespace
}  // namespace weir
