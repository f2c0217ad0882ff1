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
}

}  // namespace
}  // namespace nas
