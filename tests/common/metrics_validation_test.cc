#include <cmath>
#include <limits>

#include "controller/controller.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

v1::EvaluationMetrics Good() {
  v1::EvaluationMetrics m;
  m.set_val_accuracy(0.9);
  m.set_test_accuracy(0.89);
  m.set_macs(1000);
  m.set_params(100);
  m.set_latency_ms(1.5);
  m.set_train_seconds(10);
  m.set_epochs(2);
  return m;
}

TEST(ValidateMetrics, AcceptsPlausible) {
  NAS_EXPECT_OK(ValidateMetrics(Good()));
}

TEST(ValidateMetrics, RefusesImpossibleValuesNamingTheField) {
  auto m = Good();
  m.set_val_accuracy(std::nan(""));
  EXPECT_THAT(ValidateMetrics(m),
              StatusIs(absl::StatusCode::kInvalidArgument, "val_accuracy"));
  m = Good();
  m.set_test_accuracy(1.5);
  EXPECT_THAT(ValidateMetrics(m),
              StatusIs(absl::StatusCode::kInvalidArgument, "test_accuracy"));
  m = Good();
  m.set_macs(-1);
  EXPECT_THAT(ValidateMetrics(m),
              StatusIs(absl::StatusCode::kInvalidArgument, "macs"));
  m = Good();
  m.set_latency_ms(std::numeric_limits<double>::infinity());
  EXPECT_THAT(ValidateMetrics(m),
              StatusIs(absl::StatusCode::kInvalidArgument, "latency_ms"));
  m = Good();
  m.set_train_seconds(-3);
  EXPECT_THAT(ValidateMetrics(m),
              StatusIs(absl::StatusCode::kInvalidArgument, "train_seconds"));
  m = Good();
  m.set_throughput_images_per_second(std::nan(""));
  EXPECT_THAT(ValidateMetrics(m), StatusIs(absl::StatusCode::kInvalidArgument,
                                           "throughput_images_per_second"));
  m = Good();
  m.set_train_images_per_second(-1);
  EXPECT_THAT(ValidateMetrics(m), StatusIs(absl::StatusCode::kInvalidArgument,
                                           "train_images_per_second"));
  m = Good();
  m.set_throughput_images_per_second(1234.5);
  m.set_train_images_per_second(321);
  NAS_EXPECT_OK(ValidateMetrics(m));
  m.set_simulated_seconds(-1);
  EXPECT_THAT(ValidateMetrics(m), StatusIs(absl::StatusCode::kInvalidArgument,
                                           "metrics.simulated_seconds"));
  m.set_simulated_seconds(std::nan(""));
  EXPECT_THAT(ValidateMetrics(m), StatusIs(absl::StatusCode::kInvalidArgument,
                                           "metrics.simulated_seconds"));
}

}  // namespace
}  // namespace nas

namespace nas {
namespace {

TEST(ViolatedConstraint, NamesTheFirstLimitExceeded) {
  v1::ConstraintsSpec c;
  EXPECT_EQ(ViolatedConstraint(c, Cost{1000000000, 1000000000}), "");
  c.set_max_macs(1000);
  c.set_max_params(50);
  EXPECT_EQ(ViolatedConstraint(c, Cost{1000, 50}), "");  // limits inclusive
  EXPECT_EQ(ViolatedConstraint(c, Cost{1001, 50}),
            "macs 1001 > objective.constraints.max_macs 1000");
  EXPECT_EQ(ViolatedConstraint(c, Cost{10, 51}),
            "params 51 > objective.constraints.max_params 50");
}

}  // namespace
}  // namespace nas
