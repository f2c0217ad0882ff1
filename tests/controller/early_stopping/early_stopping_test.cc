#include "controller/early_stopping/early_stopping.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nas {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::EarlyStoppingSpec Rule(const std::string& name, int min_epochs = 1,
                           int min_trials = 3, int eta = 3) {
  v1::EarlyStoppingSpec r;
  r.set_rule(name);
  r.set_min_epochs(min_epochs);
  r.set_min_trials(min_trials);
  r.set_reduction_factor(eta);
  return r;
}

TEST(MedianRule, StopsBelowTheMedianOnly) {
  const auto r = Rule("median");
  const std::vector<double> others = {0.5, 0.6, 0.7};
  EXPECT_TRUE(DecideStop(r, 1, 10, 0.55, others).stop);
  EXPECT_THAT(
      DecideStop(r, 1, 10, 0.55, others).reason,
      HasSubstr("median rule at epoch 1: val_accuracy 0.5500 < median 0.6000"));
  // The reason names the progress metric (objective.metric).
  EXPECT_THAT(DecideStop(r, 1, 10, 0.55, others, "val_recall:3").reason,
              HasSubstr("epoch 1: val_recall:3 0.5500 < median 0.6000"));
  EXPECT_FALSE(DecideStop(r, 1, 10, 0.6, others).stop);  // equal continues
  EXPECT_FALSE(DecideStop(r, 1, 10, 0.9, others).stop);
}

TEST(MedianRule, WaitsForGraceAndEnoughTrialsAndNeverStopsTheLastEpoch) {
  EXPECT_FALSE(DecideStop(Rule("median", 2), 1, 10, 0.1, {0.5, 0.6, 0.7}).stop);
  EXPECT_FALSE(DecideStop(Rule("median"), 1, 10, 0.1, {0.5, 0.6}).stop);
  EXPECT_FALSE(DecideStop(Rule("median"), 10, 10, 0.1, {0.5, 0.6, 0.7}).stop);
  EXPECT_TRUE(DecideStop(Rule("median", 1, 2), 1, 10, 0.1, {0.5, 0.6}).stop);
}

TEST(Asha, RungsAreGeometric) {
  EXPECT_THAT(AshaRungs(Rule("asha", 1, 3, 3), 27), ElementsAre(1, 3, 9));
  EXPECT_THAT(AshaRungs(Rule("asha", 1, 3, 2), 9), ElementsAre(1, 2, 4, 8));
  EXPECT_THAT(AshaRungs(Rule("asha", 2, 3, 3), 6), ElementsAre(2));
  EXPECT_TRUE(AshaRungs(Rule("asha", 5), 5).empty());
}

TEST(Asha, DecidesOnlyAtRungsAgainstTheTopFraction) {
  const auto r = Rule("asha", 1, 3, 3);
  EXPECT_FALSE(DecidesAt(r, 2, 27));
  EXPECT_TRUE(DecidesAt(r, 3, 27));
  EXPECT_FALSE(DecideStop(r, 2, 27, 0.0, {0.9, 0.9}).stop);  // not a rung
  // Alone at a rung: continue.
  EXPECT_FALSE(DecideStop(r, 1, 27, 0.1, {}).stop);
  // Values 0.1..0.9 recorded; 2/3 quantile of {others + value}.
  const std::vector<double> others = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
  EXPECT_TRUE(DecideStop(r, 3, 27, 0.5, others).stop);
  EXPECT_FALSE(DecideStop(r, 3, 27, 0.9, others).stop);
  EXPECT_THAT(DecideStop(r, 3, 27, 0.5, others).reason,
              HasSubstr("asha rung 1 (epoch 3, eta 3)"));
}

TEST(EarlyStopping, UnknownOrEmptyRuleNeverStops) {
  EXPECT_FALSE(DecideStop(Rule(""), 1, 10, 0.0, {1, 1, 1}).stop);
}

}  // namespace
}  // namespace nas
