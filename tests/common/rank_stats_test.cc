#include "common/rank_stats.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nas {
namespace {

using ::testing::ElementsAre;

TEST(RankStatsTest, RanksAverageTies) {
  EXPECT_THAT(Ranks({3, 1, 3, 2}), ElementsAre(3.5, 1, 3.5, 2));
  EXPECT_TRUE(Ranks({}).empty());
}

TEST(RankStatsTest, SpearmanAndKendall) {
  const std::vector<double> a = {1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(Spearman(a, {10, 20, 30, 40, 50}), 1);
  EXPECT_DOUBLE_EQ(Spearman(a, {5, 4, 3, 2, 1}), -1);
  EXPECT_DOUBLE_EQ(KendallTauB(a, {2, 1, 3, 4, 5}), 0.8);  // (9 - 1) / 10
  // One swap in each half: rho = 1 - 6 * 4 / (5 * 24) = 0.8,
  // tau = (8 - 2) / 10 = 0.6.
  EXPECT_NEAR(Spearman(a, {1, 3, 2, 5, 4}), 0.8, 1e-12);
  EXPECT_NEAR(KendallTauB(a, {1, 3, 2, 5, 4}), 0.6, 1e-12);
  // Ties: 4 concordant, one tie in each: 4 / sqrt(5 * 5) = 0.8.
  EXPECT_NEAR(KendallTauB({1, 1, 2, 3}, {1, 2, 2, 3}), 0.8, 1e-12);
  // A constant series correlates with nothing.
  EXPECT_EQ(Spearman(a, {1, 1, 1, 1, 1}), 0);
  EXPECT_EQ(KendallTauB(a, {1, 1, 1, 1, 1}), 0);
}

TEST(RankStatsTest, Median) {
  EXPECT_EQ(Median({}), 0);
  EXPECT_EQ(Median({3, 1, 2}), 2);
  EXPECT_EQ(Median({4, 1, 3, 2}), 2.5);
}

}  // namespace
}  // namespace nas
