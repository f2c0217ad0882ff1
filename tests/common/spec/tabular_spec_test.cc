// Spec fields of TABULAR mode and of the simulated-seconds budget.
#include "common/spec/spec.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using absl::StatusCode;
using ::nas::testing::StatusIs;

constexpr char kHead[] = R"(name: tab
search_space: {name: nb201}
strategy: {name: evolution, seed: 3}
)";

constexpr char kTabular[] = R"(evaluation:
  mode: tabular
  tabular:
    path: /data/nb201.csv
    val_column: cifar10_valid_acc_12ep
    test_column: cifar10_test_acc
    cost_column: train_seconds_200ep
    cost_scale: 0.06
)";

TEST(TabularSpec, DefaultsAndSecondsBudgetWithoutTrialLimit) {
  absl::StatusOr<v1::ExperimentSpec> spec =
      PrepareSpec({}, std::string(kHead) + kTabular +
                          "budget: {max_simulated_seconds: 12000, "
                          "parallel_trials: 1}\n");
  NAS_ASSERT_OK(spec);
  const v1::TabularOptions& t = spec->evaluation().tabular();
  EXPECT_EQ(spec->evaluation().mode(), v1::TABULAR);
  EXPECT_EQ(t.key_column(), "arch");
  EXPECT_DOUBLE_EQ(t.cost_scale(), 0.06);
  EXPECT_DOUBLE_EQ(t.accuracy_scale(), 0.01);  // percent tables by default
  EXPECT_DOUBLE_EQ(t.macs_scale(), 1);
  EXPECT_DOUBLE_EQ(t.params_scale(), 1);
  EXPECT_EQ(spec->budget().max_trials(), 0);
  EXPECT_DOUBLE_EQ(spec->budget().max_simulated_seconds(), 12000);
}

TEST(TabularSpec, RequiredFieldsNamedWithPathAndLine) {
  const std::string yaml = std::string(kHead) +
                           "budget: {max_trials: 5}\n"
                           "evaluation:\n  mode: TABULAR\n  tabular:\n"
                           "    val_column: v\n";
  absl::StatusOr<ParsedSpec> p = ParseSpecYaml(yaml);
  NAS_ASSERT_OK(p);
  ApplySpecDefaults(&p->spec, &p->lines);
  std::vector<std::string> errors;
  for (const FieldError& e : ValidateSpec(p->spec, &p->lines)) {
    errors.push_back(e.ToString());
  }
  ASSERT_EQ(errors.size(), 3u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0],
            "spec.evaluation.tabular.path (line 7): required with "
            "evaluation.mode TABULAR (e.g. /data/nb201.csv)");
  EXPECT_NE(errors[1].find("spec.evaluation.tabular.test_column (line 7)"),
            std::string::npos);
  EXPECT_NE(errors[2].find("spec.evaluation.tabular.cost_column (line 7)"),
            std::string::npos);
  // No tabular block at all.
  EXPECT_THAT(
      PrepareSpec({}, std::string(kHead) + "budget: {max_trials: 5}\n"
                                           "evaluation: {mode: tabular}\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.evaluation.tabular.path (line 5): required"));
}

TEST(TabularSpec, ScalesMustBePositiveAndExplicitZeroIsNotDefaulted) {
  EXPECT_THAT(
      PrepareSpec({}, std::string(kHead) + kTabular +
                          "    accuracy_scale: 0\nbudget: {max_trials: 5}\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.evaluation.tabular.accuracy_scale (line 12): must be a "
               "finite number > 0, got 0"));
  EXPECT_THAT(
      PrepareSpec({}, std::string(kHead) + kTabular +
                          "    macs_scale: -1e6\nbudget: {max_trials: 5}\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.evaluation.tabular.macs_scale"));
}

TEST(TabularSpec, TabularBlockNeedsTabularMode) {
  EXPECT_THAT(PrepareSpec({}, std::string(kHead) +
                                  "budget: {max_trials: 5}\n"
                                  "evaluation:\n  tabular: {path: /x.csv}\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.tabular (line 6): set "
                       "evaluation.mode to TABULAR"));
}

TEST(TabularSpec, SecondsBudgetRules) {
  // Only tabular evaluations report simulated seconds.
  EXPECT_THAT(
      PrepareSpec({}, std::string(kHead) + "budget: {max_trials: 5, "
                                           "max_simulated_seconds: 100}\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.budget.max_simulated_seconds (line 4): needs "
               "evaluation.mode TABULAR"));
  EXPECT_THAT(
      PrepareSpec({}, std::string(kHead) + kTabular +
                          "budget: {max_simulated_seconds: -1}\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.budget.max_simulated_seconds (line 12): must be a finite "
               "number >= 0"));
  // Without a seconds budget, max_trials stays required.
  EXPECT_THAT(PrepareSpec({}, std::string(kHead) + kTabular),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.budget.max_trials: must be > 0 (or set "
                       "budget.max_simulated_seconds)"));
  EXPECT_THAT(
      PrepareSpec({}, std::string(kHead) + kTabular +
                          "budget: {max_simulated_seconds: 10, max_trials: "
                          "-2}\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.budget.max_trials (line 12): must be >= 0"));
  // Both limits together are fine (whichever ends first).
  NAS_EXPECT_OK(PrepareSpec({}, std::string(kHead) + kTabular +
                                    "budget: {max_simulated_seconds: 10, "
                                    "max_trials: 7}\n"));
}

}  // namespace
}  // namespace nas
