#include "common/pareto.h"

#include "gtest/gtest.h"

namespace nas {
namespace {

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
}

}  // namespace
}  // namespace nas
