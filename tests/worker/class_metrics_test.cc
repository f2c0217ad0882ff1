#include "worker/class_metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;
using ::testing::DoubleEq;
using ::testing::ElementsAre;

// 3 classes; rows are true classes:
//   class 0: 4 images, 3 right, 1 as class 1
//   class 1: 2 images, 1 right, 1 as class 2
//   class 2: 4 images, all predicted as class 0
ConfusionMatrix Example() {
  ConfusionMatrix m(3);
  m.Add(0, 0, 3);
  m.Add(0, 1);
  m.Add(1, 1);
  m.Add(1, 2);
  m.Add(2, 0, 4);
  return m;
}

TEST(ClassMetricsTest, HandComputed) {
  const ClassMetrics c = ComputeClassMetrics(Example());
  EXPECT_DOUBLE_EQ(c.accuracy, 4.0 / 10);
  EXPECT_THAT(c.recall,
              ElementsAre(DoubleEq(0.75), DoubleEq(0.5), DoubleEq(0.0)));
  // Precision: class 0 3/7, class 1 1/2, class 2 0/1.
  EXPECT_THAT(c.precision,
              ElementsAre(DoubleEq(3.0 / 7), DoubleEq(0.5), DoubleEq(0.0)));
  // F1 = 2pr/(p+r): class 0 2*(3/7)(3/4)/(3/7+3/4) = 6/11, class 1 0.5,
  // class 2 0 (precision and recall 0).
  EXPECT_THAT(c.f1,
              ElementsAre(DoubleEq(6.0 / 11), DoubleEq(0.5), DoubleEq(0.0)));
  EXPECT_DOUBLE_EQ(c.balanced_accuracy, (0.75 + 0.5 + 0) / 3);
  EXPECT_DOUBLE_EQ(c.macro_f1, (6.0 / 11 + 0.5 + 0) / 3);
  EXPECT_THAT(c.support, ElementsAre(4, 2, 4));
}

TEST(ClassMetricsTest, AbsentClassesAreLeftOutOfTheMeans) {
  ConfusionMatrix m(4);
  m.Add(0, 0, 2);
  m.Add(1, 0);
  m.Add(1, 1);
  m.Add(1, 3);  // class 3 is predicted but has no image
  const ClassMetrics c = ComputeClassMetrics(m);
  EXPECT_DOUBLE_EQ(c.accuracy, 3.0 / 5);
  EXPECT_DOUBLE_EQ(c.balanced_accuracy, (1.0 + 1.0 / 3) / 2);
  // class 0: p 2/3, r 1 -> 0.8; class 1: p 1, r 1/3 -> 0.5.
  EXPECT_DOUBLE_EQ(c.macro_f1, (0.8 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(c.recall[2], 0);
  EXPECT_DOUBLE_EQ(c.recall[3], 0);
}

TEST(ClassMetricsTest, EmptyIsZero) {
  const ClassMetrics c = ComputeClassMetrics(ConfusionMatrix(3));
  EXPECT_EQ(c.accuracy, 0);
  EXPECT_EQ(c.balanced_accuracy, 0);
  EXPECT_EQ(c.macro_f1, 0);
}

TEST(ClassMetricsTest, AddCountsIsRowMajor) {
  ConfusionMatrix m(2);
  m.AddCounts({5, 1, 2, 2});
  EXPECT_EQ(m.count(0, 1), 1);
  EXPECT_EQ(m.count(1, 0), 2);
  EXPECT_EQ(m.total(), 10);
}

TEST(ProgressMetricTest, ResolvesNamesAndClasses) {
  const std::vector<std::string> names = {"ok", "scratch", "dent"};
  const ClassMetrics c = ComputeClassMetrics(Example());
  absl::StatusOr<ProgressMetric> p = ParseProgressMetric("", names);
  NAS_ASSERT_OK(p);
  EXPECT_EQ(p->name, "val_accuracy");
  EXPECT_DOUBLE_EQ(p->Value(c), 0.4);
  p = ParseProgressMetric("val_balanced_accuracy", names);
  NAS_ASSERT_OK(p);
  EXPECT_DOUBLE_EQ(p->Value(c), c.balanced_accuracy);
  p = ParseProgressMetric("val_macro_f1", names);
  NAS_ASSERT_OK(p);
  EXPECT_DOUBLE_EQ(p->Value(c), c.macro_f1);
  p = ParseProgressMetric("val_recall:scratch", names);
  NAS_ASSERT_OK(p);
  EXPECT_EQ(p->class_index, 1);
  EXPECT_DOUBLE_EQ(p->Value(c), 0.5);
  p = ParseProgressMetric("val_recall:0", names);
  NAS_ASSERT_OK(p);
  EXPECT_DOUBLE_EQ(p->Value(c), 0.75);
  // A class named like an index wins over the index.
  p = ParseProgressMetric("val_recall:1", {"a", "b", "1"});
  NAS_ASSERT_OK(p);
  EXPECT_EQ(p->class_index, 2);
}

TEST(ProgressMetricTest, UnknownIsInvalidArgument) {
  const std::vector<std::string> names = {"ok", "dent"};
  EXPECT_THAT(ParseProgressMetric("val_loss", names),
              StatusIs(absl::StatusCode::kInvalidArgument, "progress_metric"));
  EXPECT_THAT(ParseProgressMetric("val_recall:rust", names),
              StatusIs(absl::StatusCode::kInvalidArgument, "rust"));
  EXPECT_THAT(ParseProgressMetric("val_recall:2", names),
              StatusIs(absl::StatusCode::kInvalidArgument, "2 classes"));
  EXPECT_THAT(ParseProgressMetric("val_recall:", names),
              StatusIs(absl::StatusCode::kInvalidArgument, "progress_metric"));
}

}  // namespace
}  // namespace nas
