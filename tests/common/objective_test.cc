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

// objective.metric picks the value ScalarFitness, MnasReward and
// ObjectiveVector use; test metrics never matter.
TEST(Objective, MetricSelectsTheValue) {
  v1::EvaluationMetrics m = Metrics(0.9, 300, 20, 1.5);
  m.set_val_balanced_accuracy(0.6);
  m.set_val_macro_f1(0.55);
  m.add_val_class_recall(0.95);
  m.add_val_class_recall(0.25);
  m.set_test_balanced_accuracy(0.01);
  m.set_test_macro_f1(0.01);
  v1::ObjectiveSpec o;
  EXPECT_EQ(ObjectiveMetricName(o), "val_accuracy");
  EXPECT_DOUBLE_EQ(ObjectiveMetricValue(o, m), 0.9);
  o.set_metric("val_balanced_accuracy");
  EXPECT_DOUBLE_EQ(ScalarFitness(o, m), 0.6);
  EXPECT_EQ(CanonicalObjectiveMetric(o), "val_balanced_accuracy");
  o.set_metric("val_macro_f1");
  EXPECT_DOUBLE_EQ(ScalarFitness(o, m), 0.55);
  o.set_metric("val_recall:defect");
  o.set_metric_class(1);
  EXPECT_DOUBLE_EQ(ScalarFitness(o, m), 0.25);
  EXPECT_EQ(CanonicalObjectiveMetric(o), "val_recall:1");
  o.add_minimize("macs");
  EXPECT_EQ(ObjectiveVector(o, m), (std::vector<double>{0.25, -300}));
  o.mutable_reward()->set_metric("params");
  o.mutable_reward()->set_target(10);
  EXPECT_NEAR(MnasReward(o, m), 0.25 * std::pow(2.0, -0.07), 1e-12);
  EXPECT_NEAR(ScalarFitness(o, m), 0.25 * std::pow(2.0, -0.07), 1e-12);
  // A result without per-class recall (stored before class metrics).
  o.set_metric_class(5);
  EXPECT_DOUBLE_EQ(ObjectiveMetricValue(o, m), 0);
}

// A name that is no built-in metric is a COMMAND trainer's named metric:
// read from named_metrics, 0 when the result lacks it; built-in names keep
// reading their own fields even when a named metric has the same name.
TEST(Objective, NamedMetricIsReadFromNamedMetrics) {
  v1::EvaluationMetrics m = Metrics(0.9, 300, 20, 1.5);
  (*m.mutable_named_metrics())["val_top5"] = 0.99;
  (*m.mutable_named_metrics())["neg_loss"] = -0.25;
  (*m.mutable_named_metrics())["val_accuracy"] = 0.1;  // ignored
  v1::ObjectiveSpec o;
  o.set_metric("val_top5");
  EXPECT_EQ(ObjectiveMetricName(o), "val_top5");
  EXPECT_EQ(CanonicalObjectiveMetric(o), "val_top5");
  EXPECT_DOUBLE_EQ(ObjectiveMetricValue(o, m), 0.99);
  EXPECT_DOUBLE_EQ(ScalarFitness(o, m), 0.99);
  o.add_minimize("macs");
  EXPECT_EQ(ObjectiveVector(o, m), (std::vector<double>{0.99, -300}));
  o.set_metric("neg_loss");
  EXPECT_DOUBLE_EQ(ObjectiveMetricValue(o, m), -0.25);
  o.set_metric("val_bleu");  // not reported
  EXPECT_DOUBLE_EQ(ObjectiveMetricValue(o, m), 0);
  o.set_metric("val_accuracy");
  EXPECT_DOUBLE_EQ(ObjectiveMetricValue(o, m), 0.9);
  o.clear_metric();
  EXPECT_DOUBLE_EQ(ObjectiveMetricValue(o, m), 0.9);

  EXPECT_TRUE(IsBuiltinObjectiveMetric(""));
  EXPECT_TRUE(IsBuiltinObjectiveMetric("val_accuracy"));
  EXPECT_TRUE(IsBuiltinObjectiveMetric("val_macro_f1"));
  EXPECT_TRUE(IsBuiltinObjectiveMetric("val_recall:cat"));
  EXPECT_FALSE(IsBuiltinObjectiveMetric("val_top5"));
  EXPECT_FALSE(IsBuiltinObjectiveMetric("test_accuracy"));
}

TEST(Objective, ResolveRecallClass) {
  v1::DataSpec d;
  d.set_classes(3);
  d.add_class_names("defect");
  d.add_class_names("good");
  d.add_class_names("2");
  EXPECT_EQ(*ResolveRecallClass("good", d), 1);
  EXPECT_EQ(*ResolveRecallClass("2", d), 2);  // names first
  EXPECT_EQ(*ResolveRecallClass("0", d), 0);
  EXPECT_FALSE(ResolveRecallClass("3", d).ok());
  EXPECT_FALSE(ResolveRecallClass("-1", d).ok());
  EXPECT_FALSE(ResolveRecallClass("cat", d).ok());
}

}  // namespace
}  // namespace nas
