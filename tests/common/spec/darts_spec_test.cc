// Spec fields of strategy darts (issue 20).
#include "common/spec/spec.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using absl::StatusCode;
using ::nas::testing::StatusIs;

constexpr char kHead[] = R"(name: d
search_space: {name: nb201}
budget: {max_trials: 4}
)";

TEST(DartsSpec, DefaultsAreFilledIn) {
  absl::StatusOr<v1::ExperimentSpec> spec =
      PrepareSpec({}, std::string(kHead) + "strategy: {name: darts}\n");
  NAS_ASSERT_OK(spec);
  const v1::DartsOptions& d = spec->strategy().darts();
  EXPECT_EQ(d.method(), "beta_darts");
  EXPECT_EQ(d.seeds(), 2);
  EXPECT_EQ(d.epochs(), 10);
  EXPECT_DOUBLE_EQ(d.arch_learning_rate(), 3e-4);
  EXPECT_DOUBLE_EQ(d.arch_weight_decay(), 1e-3);
  EXPECT_DOUBLE_EQ(d.beta_weight(), 1.0);
  EXPECT_EQ(d.checkpoint_every(), 1);
}

TEST(DartsSpec, OptionsAreParsed) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec(
      {}, std::string(kHead) +
              "strategy:\n  name: darts\n  darts: {method: darts, seeds: 4, "
              "epochs: 3, arch_learning_rate: 0.01, beta_weight: 0, "
              "checkpoint_every: 0}\n");
  NAS_ASSERT_OK(spec);
  const v1::DartsOptions& d = spec->strategy().darts();
  EXPECT_EQ(d.method(), "darts");
  EXPECT_EQ(d.seeds(), 4);
  EXPECT_EQ(d.epochs(), 3);
  EXPECT_DOUBLE_EQ(d.arch_learning_rate(), 0.01);
  EXPECT_EQ(d.checkpoint_every(), 0);
}

TEST(DartsSpec, BadValuesNameTheField) {
  auto with = [](const std::string& darts) {
    return PrepareSpec({}, std::string(kHead) +
                               "strategy:\n  name: darts\n  darts: {" + darts +
                               "}\n");
  };
  EXPECT_THAT(with("method: drnas"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.strategy.darts.method (line 6): unknown method "
                       "'drnas' (one of: darts, beta_darts)"));
  EXPECT_THAT(with("seeds: 65"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.strategy.darts.seeds (line 6): must be in [1, "
                       "64], got 65"));
  EXPECT_THAT(with("epochs: 0"), StatusIs(StatusCode::kInvalidArgument,
                                          "spec.strategy.darts.epochs"));
  EXPECT_THAT(with("arch_learning_rate: 2"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.strategy.darts.arch_learning_rate"));
  EXPECT_THAT(with("beta_weight: -1"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.strategy.darts.beta_weight"));
  EXPECT_THAT(with("checkpoint_every: -1"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.strategy.darts.checkpoint_every"));
  // Only the nb201 cell, and only standalone training or a table.
  EXPECT_THAT(
      PrepareSpec({},
                  "name: d\nsearch_space: {name: mobilenet}\n"
                  "budget: {max_trials: 4}\nstrategy: {name: darts}\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "strategy darts searches the nb201 cell; got 'mobilenet'"));
  EXPECT_THAT(
      PrepareSpec({}, std::string(kHead) + "strategy: {name: darts}\n"
                                           "evaluation: {mode: SUPERNET}\n"),
      StatusIs(StatusCode::kInvalidArgument, "spec.evaluation.mode"));
}

}  // namespace
}  // namespace nas
