#include "common/objective.h"

#include <cmath>

#include "gtest/gtest.h"

namespace nas {
namespace {

v1::EvaluationMetrics Metrics(double acc, int64_t macs, int64_t params,
                              double latency) {
  v1::EvaluationMetrics m;
  m.set_val_accuracy(acc);
  m.set_test_accuracy(0.01);  // must never matter
  m.set_macs(macs);
  m.set_params(params);
  m.set_latency_ms(latency);
  return m;
}

TEST(MnasReward, SoftConstraintBothSidesByHand) {
  v1::MnasRewardSpec r;
  r.set_metric("latency_ms");
  r.set_target(80);
  // Unset weights: -0.07 both sides. 0.75 * (160/80)^-0.07 = 0.75 * 2^-0.07.
  EXPECT_NEAR(MnasReward(r, Metrics(0.75, 0, 0, 160)), 0.714478, 1e-6);
  EXPECT_NEAR(MnasReward(r, Metrics(0.75, 0, 0, 40)), 0.787288, 1e-6);
  EXPECT_DOUBLE_EQ(MnasReward(r, Metrics(0.75, 0, 0, 80)), 0.75);
}

TEST(MnasReward, HardConstraintVariant) {
  v1::MnasRewardSpec r;
  r.set_metric("macs");
  r.set_target(1e6);
  r.set_below_weight(0);
  r.set_above_weight(-1);
  EXPECT_DOUBLE_EQ(MnasReward(r, Metrics(0.8, 500000, 0, 0)), 0.8);
  EXPECT_DOUBLE_EQ(MnasReward(r, Metrics(0.8, 2000000, 0, 0)), 0.4);
}

TEST(MnasReward, ZeroCostStaysFinite) {
  v1::MnasRewardSpec r;
  r.set_metric("latency_ms");
  r.set_target(10);
  EXPECT_TRUE(std::isfinite(MnasReward(r, Metrics(0.5, 0, 0, 0))));
}

TEST(Objective, ScalarFitnessAndVector) {
  v1::ObjectiveSpec o;
  const v1::EvaluationMetrics m = Metrics(0.9, 300, 20, 1.5);
  EXPECT_DOUBLE_EQ(ScalarFitness(o, m), 0.9);
  o.mutable_reward()->set_metric("params");
  o.mutable_reward()->set_target(10);
  EXPECT_NEAR(ScalarFitness(o, m), 0.9 * std::pow(2.0, -0.07), 1e-12);
  o.add_minimize("macs");
  o.add_minimize("latency_ms");
  EXPECT_EQ(ObjectiveVector(o, m), (std::vector<double>{0.9, -300, -1.5}));
  EXPECT_FALSE(UsesParetoRanking(o));
  o.set_ranking("pareto");
  EXPECT_TRUE(UsesParetoRanking(o));
  EXPECT_TRUE(IsCostMetric("params"));
  EXPECT_FALSE(IsCostMetric("test_accuracy"));
}

}  // namespace
}  // namespace nas
