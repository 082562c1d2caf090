// FaultPoints: arming, skip and count, and errors returned through WEIR_FAULT_POINT.
#include "base/fault_points.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace weir {
namespace {

class FaultPointsTest : public ::testing::Test {
 protected:
  void SetUp() override { FaultPoints::DisarmAll(); }
  void TearDown() override { FaultPoints::DisarmAll(); }
};

// Points of this test's own; engine code uses the declared ones (fault_points::kAll).
constexpr FaultPoint kTestCommit{"test.commit"};
constexpr FaultPoint kTestVoid{"test.void"};

// A function with a fault point, as engine code has them.
Status CommitStep(int* reached) {
  WEIR_FAULT_POINT(kTestCommit);
  ++*reached;
  return Status::OK();
}

void VoidStep(int* reached) {
  WEIR_FAULT_POINT_VOID(kTestVoid);
  ++*reached;
}

TEST_F(FaultPointsTest, NothingArmedMeansNoEffect) {
  EXPECT_FALSE(FaultPoints::any_armed());
  int reached = 0;
  EXPECT_TRUE(CommitStep(&reached).ok());
  EXPECT_EQ(reached, 1);
  EXPECT_TRUE(FaultPoints::Hit(FaultPoint{"anything"}).ok());
  EXPECT_EQ(FaultPoints::HitCount("test.commit"), 0);
}

TEST_F(FaultPointsTest, ArmedErrorIsReturnedFromTheEnclosingFunction) {
  FaultPoints::Arm("test.commit", [] { return Status::IOError("injected at commit"); });
  EXPECT_TRUE(FaultPoints::any_armed());
  int reached = 0;
  Status s = CommitStep(&reached);
  EXPECT_EQ(s, Status::IOError("injected at commit"));
  EXPECT_EQ(reached, 0) << "code after the fault point must not run";
  EXPECT_EQ(FaultPoints::HitCount("test.commit"), 1);
}

TEST_F(FaultPointsTest, OtherPointsAreUnaffected) {
  FaultPoints::Arm("test.other", [] { return Status::IOError("x"); });
  int reached = 0;
  EXPECT_TRUE(CommitStep(&reached).ok());
  EXPECT_EQ(reached, 1);
}

TEST_F(FaultPointsTest, ActionReturningOkLetsExecutionContinue) {
  int calls = 0;
  FaultPoints::Arm("test.commit", [&calls] {
    ++calls;
    return Status::OK();
  });
  int reached = 0;
  EXPECT_TRUE(CommitStep(&reached).ok());
  EXPECT_TRUE(CommitStep(&reached).ok());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(reached, 2);
}

TEST_F(FaultPointsTest, SkipAndCountSelectWhichHitsFire) {
  FaultPoints::Arm(
      "test.commit", [] { return Status::Aborted("fired"); }, /*skip=*/2,
      /*count=*/2);
  int reached = 0;
  std::vector<bool> ok;
  for (int i = 0; i < 6; ++i) ok.push_back(CommitStep(&reached).ok());
  EXPECT_EQ(ok, (std::vector<bool>{true, true, false, false, true, true}));
  EXPECT_EQ(reached, 4);
  EXPECT_EQ(FaultPoints::HitCount("test.commit"), 6);
}

TEST_F(FaultPointsTest, NegativeCountStaysArmed) {
  FaultPoints::Arm(
      "test.commit", [] { return Status::Aborted("fired"); }, /*skip=*/1);
  int reached = 0;
  EXPECT_TRUE(CommitStep(&reached).ok());
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(CommitStep(&reached).ok());
}

TEST_F(FaultPointsTest, DisarmStopsThePointAndClearsAnyArmedWhenLast) {
  FaultPoints::Arm("test.commit", [] { return Status::Aborted("fired"); });
  FaultPoints::Arm("test.other", [] { return Status::Aborted("fired"); });
  FaultPoints::Disarm("test.commit");
  EXPECT_TRUE(FaultPoints::any_armed());
  int reached = 0;
  EXPECT_TRUE(CommitStep(&reached).ok());
  EXPECT_EQ(FaultPoints::HitCount("test.commit"), 0);
  FaultPoints::Disarm("test.other");
  EXPECT_FALSE(FaultPoints::any_armed());
  FaultPoints::Disarm("never-armed");  // no-op
}

TEST_F(FaultPointsTest, RearmingResetsHitsAndSkip) {
  FaultPoints::Arm(
      "test.commit", [] { return Status::Aborted("a"); }, /*skip=*/5);
  int reached = 0;
  EXPECT_TRUE(CommitStep(&reached).ok());
  FaultPoints::Arm("test.commit", [] { return Status::Aborted("b"); });
  EXPECT_EQ(FaultPoints::HitCount("test.commit"), 0);
  EXPECT_EQ(CommitStep(&reached), Status::Aborted("b"));
}

TEST_F(FaultPointsTest, VoidPointRunsTheActionButCannotReturn) {
  int actions = 0;
  FaultPoints::Arm("test.void", [&actions] {
    ++actions;
    return Status::IOError("ignored");
  });
  int reached = 0;
  VoidStep(&reached);
  EXPECT_EQ(actions, 1);
  EXPECT_EQ(reached, 1);
}

TEST_F(FaultPointsTest, ActionMayArmOrDisarmPointsWithoutDeadlock) {
  FaultPoints::Arm("test.commit", [] {
    FaultPoints::Disarm("test.commit");
    return Status::IOError("once");
  });
  int reached = 0;
  EXPECT_FALSE(CommitStep(&reached).ok());
  EXPECT_TRUE(CommitStep(&reached).ok());
}

TEST_F(FaultPointsTest, HitsFromManyThreadsAreAllCounted) {
  FaultPoints::Arm("test.commit", [] { return Status::OK(); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      int reached = 0;
      for (int i = 0; i < 1000; ++i) (void)CommitStep(&reached);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(FaultPoints::HitCount("test.commit"), 4000);
}

}  // namespace
}  // namespace weir
