// SourceCoordinators: the JobMaster's enumerators. Fresh ones hand out their splits; restored
// ones start from the checkpoint's enumerator state, or with none from a checkpoint taken
// before enumerators; each checkpoint gets the state taken when it was triggered, on subtask
// 0's part only.
#include "runtime/source_coordinators.h"

#include <gtest/gtest.h>

#include "api/sequence_source.h"
#include "base/file_system.h"
#include "weir/environment.h"

namespace weir {
namespace {

using detail::OperatorStateList;

struct Fixture {
  Fixture() {
    auto sink = env.FromSequence(0, 98).SetParallelism(3).Uid("seq").Print().SetParallelism(3);
    auto built = JobGraph::Build(*sink.graph(), env.config());
    EXPECT_TRUE(built.ok()) << built.status().ToString();
    graph = std::make_unique<JobGraph>(std::move(*built));
  }
  // What the enumerator answers subtask `i`'s request: its split, or none (no more splits).
  std::vector<SequenceSplit> Request(SourceCoordinators& c, int i) {
    detail::SourceCoordinatorBase* coordinator = c.Find("seq");
    EXPECT_NE(coordinator, nullptr);
    detail::SplitInbox* inbox = coordinator->RegisterReader(i, [] {});
    coordinator->RequestSplit(i);
    std::vector<std::string> encoded;
    bool no_more = false;
    inbox->Take(INT64_MAX, &encoded, &no_more);
    std::vector<SequenceSplit> out;
    for (const auto& e : encoded) {
      SequenceSplit s;
      EXPECT_TRUE(DecodeFromString(e, s));
      out.push_back(s);
    }
    if (out.empty()) {
      EXPECT_TRUE(no_more);
    }
    return out;
  }

  StreamExecutionEnvironment env;
  Configuration config;
  std::unique_ptr<JobGraph> graph;
};

TEST(SourceCoordinatorsTest, AFreshEnumeratorHandsEachSubtaskItsOwnSplitThenNoMore) {
  Fixture f;
  SourceCoordinators c;
  ASSERT_TRUE(c.Start(*f.graph, nullptr, &f.config, FileSystem::Default()).ok());
  EXPECT_EQ(f.Request(c, 1), (std::vector<SequenceSplit>{{33, 65}}));
  EXPECT_EQ(f.Request(c, 1), std::vector<SequenceSplit>{});
  EXPECT_EQ(f.Request(c, 0), (std::vector<SequenceSplit>{{0, 32}}));
  EXPECT_EQ(f.Request(c, 2), (std::vector<SequenceSplit>{{66, 98}}));
}

TEST(SourceCoordinatorsTest, TheStateTakenAtTheTriggerGoesWithSubtaskZerosAcknowledgement) {
  Fixture f;
  SourceCoordinators c;
  ASSERT_TRUE(c.Start(*f.graph, nullptr, &f.config, FileSystem::Default()).ok());
  f.Request(c, 0);
  ASSERT_TRUE(c.Snapshot(4).ok());
  f.Request(c, 1);  // after the trigger: not in checkpoint 4's state
  CheckpointAcknowledgement ack0{4, 0, {OperatorSubtaskState{"seq", 0, {}}}};
  CheckpointAcknowledgement ack2{4, 2, {OperatorSubtaskState{"seq", 2, {}}}};
  c.AttachState(&ack0);
  c.AttachState(&ack2);
  EXPECT_TRUE(ack2.states[0].state.operator_state.empty());
  ASSERT_EQ(ack0.states[0].state.operator_state.size(), 1u);
  const OperatorStateList& list = ack0.states[0].state.operator_state[0];
  EXPECT_EQ(list.name, detail::kEnumeratorStateName);
  EXPECT_EQ(list.mode, OperatorStateList::Mode::kUnion);
  ASSERT_EQ(list.elements.size(), 1u);
  std::vector<SequenceSplit> pending;
  ASSERT_TRUE(DecodeFromString(list.elements[0], pending));
  EXPECT_EQ(pending, (std::vector<SequenceSplit>{{33, 65}, {66, 98}}));

  // An aborted checkpoint's state is dropped.
  ASSERT_TRUE(c.Snapshot(5).ok());
  c.NotifyAborted(5);
  CheckpointAcknowledgement late{5, 0, {OperatorSubtaskState{"seq", 0, {}}}};
  c.AttachState(&late);
  EXPECT_TRUE(late.states[0].state.operator_state.empty());
}

CompletedCheckpoint CheckpointWith(std::vector<OperatorStateList> lists) {
  CompletedCheckpoint cp;
  OperatorSnapshotMetadata op;
  op.uid = "seq";
  op.parallelism = 3;
  op.subtasks.resize(3);
  op.subtasks[0].operator_state = std::move(lists);
  cp.metadata.operators.push_back(std::move(op));
  return cp;
}

TEST(SourceCoordinatorsTest, ARestoredEnumeratorResumesFromItsState) {
  Fixture f;
  CompletedCheckpoint cp = CheckpointWith({OperatorStateList{
      detail::kEnumeratorStateName,
      OperatorStateList::Mode::kUnion,
      {EncodeToString(std::vector<SequenceSplit>{{50, 60}})}}});
  SourceCoordinators c;
  ASSERT_TRUE(c.Start(*f.graph, &cp, &f.config, FileSystem::Default()).ok());
  EXPECT_EQ(f.Request(c, 2), (std::vector<SequenceSplit>{{50, 60}}));
  EXPECT_EQ(f.Request(c, 0), std::vector<SequenceSplit>{});
}

TEST(SourceCoordinatorsTest, ACheckpointFromBeforeEnumeratorsRestoresOneWithNothingToHandOut) {
  Fixture f;
  CompletedCheckpoint cp = CheckpointWith({OperatorStateList{
      "sequence-splits", OperatorStateList::Mode::kSplit,
      {EncodeToString(std::pair<int64_t, int64_t>(10, 32))}}});
  SourceCoordinators c;
  ASSERT_TRUE(c.Start(*f.graph, &cp, &f.config, FileSystem::Default()).ok());
  EXPECT_EQ(f.Request(c, 0), std::vector<SequenceSplit>{});
  EXPECT_EQ(f.Request(c, 1), std::vector<SequenceSplit>{});
}

TEST(SourceCoordinatorsTest, ACorruptEnumeratorStateIsRefused) {
  Fixture f;
  CompletedCheckpoint cp = CheckpointWith({OperatorStateList{
      detail::kEnumeratorStateName, OperatorStateList::Mode::kUnion, {"x"}}});
  SourceCoordinators c;
  Status s = c.Start(*f.graph, &cp, &f.config, FileSystem::Default());
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.ToString().find("does not decode"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace weir
