// Spec fields of zero-cost proxies (issue 21): evaluation.mode ZERO_COST,
// evaluation.zero_cost and strategy.evolution.proxy.
#include "common/spec/spec.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using absl::StatusCode;
using ::nas::testing::StatusIs;

constexpr char kHead[] = R"(name: z
search_space: {name: nb201}
budget: {max_trials: 4}
)";

TEST(ZeroCostSpec, ModeDefaultsRankBySynflowWithAllFourProxies) {
  absl::StatusOr<v1::ExperimentSpec> spec =
      PrepareSpec({}, std::string(kHead) + "evaluation: {mode: ZERO_COST}\n");
  NAS_ASSERT_OK(spec);
  const v1::ZeroCostOptions& z = spec->evaluation().zero_cost();
  ASSERT_EQ(z.proxies_size(), 4);
  EXPECT_EQ(z.proxies(0), "synflow");
  EXPECT_EQ(z.proxies(1), "jacob_cov");
  EXPECT_EQ(z.proxies(2), "snip");
  EXPECT_EQ(z.proxies(3), "grad_norm");
  EXPECT_EQ(z.batches(), 1);
  EXPECT_EQ(z.batch_size(), 64);
  EXPECT_EQ(spec->objective().metric(), "synflow");
}

TEST(ZeroCostSpec, ObjectiveMayNameAnyComputedProxy) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec(
      {}, std::string(kHead) +
              "evaluation:\n  mode: ZERO_COST\n  zero_cost: {proxies: "
              "[snip, jacob_cov], batches: 3, batch_size: 32}\n"
              "objective: {metric: jacob_cov}\n");
  NAS_ASSERT_OK(spec);
  EXPECT_EQ(spec->evaluation().zero_cost().proxies_size(), 2);
  EXPECT_EQ(spec->evaluation().zero_cost().batches(), 3);
  EXPECT_EQ(spec->objective().metric(), "jacob_cov");
}

TEST(ZeroCostSpec, BadValuesNameTheField) {
  auto zc = [](const std::string& extra) {
    return PrepareSpec(
        {}, std::string(kHead) + "evaluation:\n  mode: ZERO_COST\n" + extra);
  };
  EXPECT_THAT(zc("  zero_cost: {proxies: [synflow, fisher]}\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.zero_cost.proxies[1]"));
  EXPECT_THAT(zc("  zero_cost: {proxies: [snip, snip]}\n"),
              StatusIs(StatusCode::kInvalidArgument, "listed twice"));
  EXPECT_THAT(zc("  zero_cost: {batches: 17}\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.zero_cost.batches"));
  EXPECT_THAT(zc("  zero_cost: {batch_size: 1}\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.zero_cost.batch_size"));
  // The objective must be one of the computed proxies.
  EXPECT_THAT(zc("  zero_cost: {proxies: [snip]}\nobjective: {metric: "
                 "synflow}\n"),
              StatusIs(StatusCode::kInvalidArgument, "spec.objective.metric"));
  EXPECT_THAT(
      zc("objective: {metric: val_accuracy}\n"),
      StatusIs(StatusCode::kInvalidArgument, "unknown proxy 'val_accuracy'"));
  // Options without a mode or a strategy that uses them.
  EXPECT_THAT(
      PrepareSpec(
          {}, std::string(kHead) + "evaluation: {zero_cost: {batches: 2}}\n"),
      StatusIs(StatusCode::kInvalidArgument, "spec.evaluation.zero_cost"));
}

TEST(ZeroCostSpec, ProxyGuidedEvolution) {
  const std::string evo =
      std::string(kHead) +
      "strategy:\n  name: evolution\n  evolution: {proxy: {children: 6}}\n";
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec({}, evo);
  NAS_ASSERT_OK(spec);
  EXPECT_EQ(spec->strategy().evolution().proxy().metric(), "synflow");
  EXPECT_EQ(spec->evaluation().zero_cost().proxies_size(), 4);
  EXPECT_EQ(spec->evaluation().mode(), v1::FULL);
  EXPECT_EQ(spec->objective().metric(), "val_accuracy");  // trained

  EXPECT_THAT(PrepareSpec({}, std::string(kHead) +
                                  "strategy:\n  name: evolution\n  "
                                  "evolution: {proxy: {children: 65}}\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.strategy.evolution.proxy.children"));
  EXPECT_THAT(PrepareSpec({}, std::string(kHead) +
                                  "strategy:\n  name: evolution\n  "
                                  "evolution: {proxy: {children: 4, metric: "
                                  "naswot}}\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.strategy.evolution.proxy.metric"));
  EXPECT_THAT(PrepareSpec({}, evo + "evaluation: {mode: SUPERNET}\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "evaluation.mode must be FULL, EARLY_STOPPED or "
                       "TABULAR, not SUPERNET"));
  EXPECT_THAT(PrepareSpec({}, std::string(kHead) +
                                  "strategy:\n  name: evolution\n  "
                                  "evolution: {proxy: {metric: snip}}\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.strategy.evolution.proxy.children"));
}

}  // namespace
}  // namespace nas
