// Spec fields of evaluation mode SUPERNET.
#include "common/spec/spec.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using absl::StatusCode;
using ::nas::testing::StatusIs;

constexpr char kHead[] = R"(name: sn
search_space: {name: nb201}
strategy: {name: evolution, seed: 3}
budget: {max_trials: 20}
)";

TEST(SupernetSpec, DefaultsFollowTheEvaluation) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec(
      {}, std::string(kHead) +
              "evaluation: {mode: supernet, epochs: 6, learning_rate: 0.2}\n");
  NAS_ASSERT_OK(spec);
  const v1::SupernetOptions& s = spec->evaluation().supernet();
  EXPECT_EQ(spec->evaluation().mode(), v1::SUPERNET);
  EXPECT_EQ(s.epochs(), 30);  // 5 x evaluation.epochs
  EXPECT_EQ(s.calibration_batches(), 20);
  EXPECT_EQ(s.finetune_steps(), 0);
  EXPECT_DOUBLE_EQ(s.finetune_learning_rate(), 0.02);
}

TEST(SupernetSpec, OptionsAreParsed) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec(
      {}, std::string(kHead) +
              "evaluation:\n  mode: SUPERNET\n  supernet: {epochs: 30, "
              "calibration_batches: 50, finetune_steps: 100, "
              "finetune_learning_rate: 0.005}\n");
  NAS_ASSERT_OK(spec);
  const v1::SupernetOptions& s = spec->evaluation().supernet();
  EXPECT_EQ(s.epochs(), 30);
  EXPECT_EQ(s.calibration_batches(), 50);
  EXPECT_EQ(s.finetune_steps(), 100);
  EXPECT_DOUBLE_EQ(s.finetune_learning_rate(), 0.005);
}

TEST(SupernetSpec, BadValuesNameTheFieldAndLine) {
  EXPECT_THAT(
      PrepareSpec({}, std::string(kHead) +
                          "evaluation:\n  mode: SUPERNET\n  supernet:\n"
                          "    epochs: 0\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.evaluation.supernet.epochs (line 8): must be in [1, "
               "1000], got 0"));
  EXPECT_THAT(
      PrepareSpec({}, std::string(kHead) +
                          "evaluation:\n  mode: SUPERNET\n  supernet:\n"
                          "    finetune_steps: -5\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.evaluation.supernet.finetune_steps (line 8)"));
  EXPECT_THAT(
      PrepareSpec({}, std::string(kHead) +
                          "evaluation:\n  mode: SUPERNET\n  supernet:\n"
                          "    calibration_batches: 0\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.evaluation.supernet.calibration_batches (line 8)"));
  EXPECT_THAT(
      PrepareSpec({}, std::string(kHead) +
                          "evaluation:\n  mode: SUPERNET\n  supernet:\n"
                          "    finetune_learning_rate: -1\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.evaluation.supernet.finetune_learning_rate (line 8)"));
  // Supernet options without the mode.
  EXPECT_THAT(PrepareSpec({}, std::string(kHead) +
                                  "evaluation:\n  supernet: {epochs: 3}\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.supernet (line 6): set "
                       "evaluation.mode to SUPERNET"));
}

}  // namespace
}  // namespace nas
