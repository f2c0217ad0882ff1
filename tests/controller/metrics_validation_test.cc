// ViolatedConstraint (controller.h). ValidateMetrics:
// common/result_validation_test.cc.
#include "controller/controller.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

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
