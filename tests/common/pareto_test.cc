#include "common/pareto.h"

#include <limits>

#include "gtest/gtest.h"

namespace nas {
namespace {

const double kInf = std::numeric_limits<double>::infinity();

TEST(Pareto, KeepsNonDominatedOnly) {
  // (accuracy, -macs)
  std::vector<std::vector<double>> p = {{0.90, -100}, {0.85, -50},
                                        {0.80, -60},  {0.95, -200},
                                        {0.90, -100}, {0.70, -40}};
  EXPECT_EQ(ParetoFront(p), (std::vector<int>{0, 1, 3, 4, 5}));
}

TEST(Pareto, EmptyAndSingle) {
  EXPECT_TRUE(ParetoFront({}).empty());
  EXPECT_EQ(ParetoFront({{1.0}}), (std::vector<int>{0}));
  EXPECT_TRUE(NonDominatedSort({}).empty());
  EXPECT_TRUE(RankPoints({}).empty());
}

TEST(NonDominatedSort, LayersByHand) {
  // Both maximized. Front 0: a(4,1) b(3,3) c(1,4); front 1: d(3,1) (by a
  // and b), e(2,2) (by b); front 2: f(1,1) (by d and e); front 3: g(0,0).
  std::vector<std::vector<double>> p = {{3, 1}, {4, 1}, {1, 1}, {3, 3},
                                        {2, 2}, {0, 0}, {1, 4}};
  std::vector<std::vector<int>> fronts = NonDominatedSort(p);
  ASSERT_EQ(fronts.size(), 4u);
  EXPECT_EQ(fronts[0], (std::vector<int>{1, 3, 6}));
  EXPECT_EQ(fronts[1], (std::vector<int>{0, 4}));
  EXPECT_EQ(fronts[2], (std::vector<int>{2}));
  EXPECT_EQ(fronts[3], (std::vector<int>{5}));
  // The first front is ParetoFront.
  EXPECT_EQ(fronts[0], ParetoFront(p));
}

TEST(NonDominatedSort, EqualPointsShareAFront) {
  std::vector<std::vector<double>> p = {{1, 1}, {1, 1}, {0, 0}};
  std::vector<std::vector<int>> fronts = NonDominatedSort(p);
  ASSERT_EQ(fronts.size(), 2u);
  EXPECT_EQ(fronts[0], (std::vector<int>{0, 1}));
}

TEST(CrowdingDistance, ByHand) {
  // One front of four points on a line from (0,10) to (10,0):
  // x = 0, 2, 6, 10 and y = 10, 8, 4, 0 (range 10 in both).
  std::vector<std::vector<double>> p = {
      {6, 4}, {0, 10}, {10, 0}, {2, 8}, {-5, -5}};
  std::vector<double> d = CrowdingDistance(p, {0, 1, 2, 3});
  ASSERT_EQ(d.size(), 4u);
  // (6,4): neighbours x 2 and 10 -> 8/10; y 8 and 0 -> 8/10.
  EXPECT_DOUBLE_EQ(d[0], 1.6);
  EXPECT_EQ(d[1], kInf);
  EXPECT_EQ(d[2], kInf);
  // (2,8): neighbours x 0 and 6 -> 6/10; y 10 and 4 -> 6/10.
  EXPECT_DOUBLE_EQ(d[3], 1.2);
  // Two points: both extremes.
  EXPECT_EQ(CrowdingDistance(p, {0, 1}), (std::vector<double>{kInf, kInf}));
}

TEST(CrowdingDistance, ZeroRangeObjectiveAddsNothing) {
  // y is constant: only x counts. x = 0, 1, 4: middle gets 4/4 = 1.
  std::vector<std::vector<double>> p = {{0, 5}, {1, 5}, {4, 5}};
  std::vector<double> d = CrowdingDistance(p, {0, 1, 2});
  EXPECT_DOUBLE_EQ(d[1], 1.0);
}

TEST(RankPoints, RankThenCrowding) {
  std::vector<std::vector<double>> p = {
      {6, 4}, {0, 10}, {10, 0}, {2, 8}, {1, 1}};
  std::vector<ParetoRank> r = RankPoints(p);
  EXPECT_EQ(r[0].rank, 0);
  EXPECT_EQ(r[4].rank, 1);
  EXPECT_EQ(r[4].crowding, kInf);  // alone in its front
  EXPECT_TRUE(r[0].Better(r[4]));  // lower rank wins over crowding
  EXPECT_FALSE(r[4].Better(r[0]));
  EXPECT_TRUE(r[1].Better(r[0]));  // same rank: the extreme is less crowded
  EXPECT_TRUE(r[0].Better(r[3]));  // 1.6 > 1.2
}

}  // namespace
}  // namespace nas
