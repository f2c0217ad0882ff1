// The simulated-seconds budget walk (controller/controller.h).
#include "controller/controller.h"
#include "gtest/gtest.h"

namespace nas {
namespace {

TrialCost Row(int32_t seq, TrialStatus status, double seconds = 0) {
  return {100 + seq, seq, status, seconds};
}
constexpr TrialStatus kOk = TrialStatus::kSucceeded;

TEST(SimulatedBudget, TheEvaluationThatWouldCrossIsNotCounted) {
  SimulatedBudget b;
  AdvanceSimulatedBudget(
      {Row(0, kOk, 40), Row(1, kOk, 50), Row(2, kOk, 30), Row(3, kOk, 5)}, 100,
      &b);
  EXPECT_TRUE(b.ended);
  EXPECT_DOUBLE_EQ(b.used, 90);
  EXPECT_EQ(b.counted, 2);
  EXPECT_EQ(b.cursor, 1);
  // Seq 3 would still fit, but the budget ended at seq 2 (NB201's rule).
  EXPECT_EQ(b.first_uncounted_seq, 2);
  EXPECT_NE(b.reason.find("candidate seq 2 would have brought 90 to 120"),
            std::string::npos)
      << b.reason;
}

TEST(SimulatedBudget, ProposalOrderNotArrivalOrderDecides) {
  // Seq 1 is still running while seq 2 already reported: nothing past seq 0
  // is decided, but the reported total shows the end is near.
  SimulatedBudget b;
  AdvanceSimulatedBudget(
      {Row(0, kOk, 40), Row(1, TrialStatus::kRunning), Row(2, kOk, 70)}, 100,
      &b);
  EXPECT_FALSE(b.ended);
  EXPECT_EQ(b.cursor, 0);
  EXPECT_DOUBLE_EQ(b.used, 40);
  EXPECT_DOUBLE_EQ(b.reported, 110);
  // Seq 1 finishes cheaply: it counts, and seq 2 is the one that crosses.
  AdvanceSimulatedBudget({Row(1, kOk, 10), Row(2, kOk, 70)}, 100, &b);
  EXPECT_TRUE(b.ended);
  EXPECT_DOUBLE_EQ(b.used, 50);
  EXPECT_EQ(b.counted, 2);
  EXPECT_EQ(b.first_uncounted_seq, 2);
}

TEST(SimulatedBudget, FailuresAreFreeAndExactSpendEnds) {
  SimulatedBudget b;
  AdvanceSimulatedBudget({Row(0, kOk, 60), Row(1, TrialStatus::kFailed),
                          Row(2, TrialStatus::kQueued)},
                         100, &b);
  EXPECT_FALSE(b.ended);
  EXPECT_EQ(b.cursor, 1);
  EXPECT_DOUBLE_EQ(b.reported, 60);
  AdvanceSimulatedBudget({Row(2, kOk, 40), Row(3, TrialStatus::kRunning)}, 100,
                         &b);
  EXPECT_TRUE(b.ended);  // exactly 100 <= 100 counts, and nothing is left
  EXPECT_DOUBLE_EQ(b.used, 100);
  EXPECT_EQ(b.counted, 2);
  EXPECT_EQ(b.first_uncounted_seq, 3);
}

TEST(SimulatedBudget, FirstEvaluationAboveBudgetCountsNothing) {
  SimulatedBudget b;
  AdvanceSimulatedBudget({Row(0, kOk, 150)}, 100, &b);
  EXPECT_TRUE(b.ended);
  EXPECT_EQ(b.counted, 0);
  EXPECT_EQ(b.first_uncounted_seq, 0);
}

}  // namespace
}  // namespace nas
