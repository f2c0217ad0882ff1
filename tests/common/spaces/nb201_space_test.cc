#include "common/spaces/nb201_space.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

TEST(Nb201Space, ParsesNasBench201Format) {
  Nb201Space space;
  const std::string s =
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_"
      "conv_3x3~1|"
      "skip_connect~2|";
  absl::StatusOr<std::vector<int>> choices = space.Parse(s);
  NAS_ASSERT_OK(choices);
  EXPECT_EQ(*choices, (std::vector<int>{3, 3, 4, 1, 3, 1}));
  EXPECT_EQ(*space.Canonical(*choices), s);
}

TEST(Nb201Space, DecisionsAreEdgesAndChoicesOpNames) {
  const Nb201Space space;
  const std::vector<std::string> edges = {"edge_1_0", "edge_2_0", "edge_2_1",
                                          "edge_3_0", "edge_3_1", "edge_3_2"};
  for (int i = 0; i < kNb201Edges; ++i) {
    EXPECT_EQ(space.DecisionName(i), edges[i]);
    for (int op = 0; op < kNb201Ops; ++op) {
      const ChoiceValue c = space.Choice(i, op);
      EXPECT_EQ(c.kind, ChoiceValue::kString);
      EXPECT_EQ(c.text, kNb201OpNames[op]);
    }
  }
}

TEST(Nb201Space, RoundTripsAll15625CellsWithDistinctHashes) {
  Nb201Space space;
  std::set<std::string> hashes;
  for (int code = 0; code < 15625; ++code) {
    std::vector<int> c(6);
    for (int e = 0, x = code; e < 6; ++e, x /= 5) c[e] = x % 5;
    absl::StatusOr<v1::Genotype> g = space.ToProto(c);
    NAS_ASSERT_OK(g);
    absl::StatusOr<std::vector<int>> back = space.Parse(g->canonical());
    NAS_ASSERT_OK(back);
    ASSERT_EQ(*back, c);
    hashes.insert(g->hash());
  }
  EXPECT_EQ(hashes.size(), 15625u);
}

TEST(Nb201Space, RejectsMalformedStrings) {
  Nb201Space space;
  EXPECT_THAT(space.Parse("|none~0|"),
              StatusIs(absl::StatusCode::kInvalidArgument, "3 nodes"));
  EXPECT_THAT(
      space.Parse("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
      StatusIs(absl::StatusCode::kInvalidArgument, "unknown op 'conv'"));
  EXPECT_THAT(space.Parse("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|"),
              StatusIs(absl::StatusCode::kInvalidArgument, "read from node 0"));
  EXPECT_THAT(space.Canonical({0, 1, 2}),
              StatusIs(absl::StatusCode::kInvalidArgument, "6 choices"));
  EXPECT_THAT(space.Canonical({0, 1, 2, 3, 4, 5}),
              StatusIs(absl::StatusCode::kInvalidArgument, "out of range"));
}

TEST(Nb201Space, CostByHandForTinySkeleton) {
  // C=2, N=1, 1x4x4 input, 3 classes; cell: one 1x1 conv, one 3x3 conv,
  // one avg pool, rest none/skip.
  Nb201Space space;
  v1::SearchSpaceSpec spec;
  spec.set_name("nb201");
  spec.mutable_nb201()->set_channels(2);
  spec.mutable_nb201()->set_cells_per_stage(1);
  InputShape in{1, 4, 4, 3};
  absl::StatusOr<Cost> cost = space.ComputeCost({2, 3, 4, 0, 1, 0}, spec, in);
  NAS_ASSERT_OK(cost);
  // Params: stem 1*2*9 + BN 4 = 22. Cell(c): c*c + 2c + 9c*c + 2c = 10c^2 + 4c.
  // Cells at c=2,4,8: 48 + 176 + 672 = 896. Reduction c->2c:
  // 9c*2c + 4c + 9*4c^2 + 4c + 2c^2 = 56c^2 + 8c: c=2: 240, c=4: 928.
  // Head BN 16, linear 8*3+3 = 27. Total 22+896+240+928+16+27 = 2129.
  EXPECT_EQ(cost->params, 2129);
  // MACs: node 2 feeds the output only through a `none` edge, so its two
  // incoming ops (3x3 conv, avg pool) never run and are not counted; the
  // cell runs its 1x1 conv only: c^2*hw at (2,16), (4,4), (8,1) = 64 each.
  // Stem 2*16*9 = 288. Reduction c->2c at output hw':
  // 18c^2*hw' + 36c^2*hw' + 4c*hw' + 2c^2*hw':
  // c=2, hw'=4: 864+32+32 = 928; c=4, hw'=1: 864+16+32 = 912.
  // Head: pool 8, linear 24. Total 288+192+928+912+8+24 = 2352.
  EXPECT_EQ(cost->macs, 2352);
  // With node 2 feeding the output (last edge skip_connect) everything
  // runs: cells 10c^2*hw + 9c*hw = 928 + 784 + 712 more than the 1x1s alone.
  absl::StatusOr<Cost> all = space.ComputeCost({2, 3, 4, 0, 1, 1}, spec, in);
  NAS_ASSERT_OK(all);
  EXPECT_EQ(all->params, cost->params);
  EXPECT_EQ(all->macs, 2352 - 192 + 928 + 784 + 712);
}

TEST(Nb201Space, CostRejectsInputNotDivisibleBy4) {
  Nb201Space space;
  v1::SearchSpaceSpec spec;
  EXPECT_THAT(
      space.ComputeCost({0, 0, 0, 0, 0, 0}, spec, InputShape{1, 30, 30, 10}),
      StatusIs(absl::StatusCode::kInvalidArgument, "divisible by 4"));
}

// Found by nb201_genotype_fuzz: an out-of-range op was costed as `none`
// (tests/fuzz/regressions/nb201_genotype_fuzz/op_out_of_range).
TEST(Nb201Space, CostRejectsOutOfRangeChoices) {
  Nb201Space space;
  v1::SearchSpaceSpec spec;
  EXPECT_THAT(space.ComputeCost({0, 1, 2, 3, 4, 124}, spec, InputShape()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "choice 5 out of range: 124"));
  EXPECT_THAT(space.ComputeCost({-1, 0, 0, 0, 0, 0}, spec, InputShape()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "choice 0 out of range: -1"));
}

TEST(SearchSpace, RegistryNamesUnknownSpace) {
  EXPECT_THAT(GetSearchSpace("darts"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "unknown search space 'darts'"));
  NAS_EXPECT_OK(GetSearchSpace("nb201"));
}

TEST(SearchSpace, NeighboursDifferInExactlyOneDecision) {
  Nb201Space space;
  std::vector<int> g = {0, 1, 2, 3, 4, 0};
  auto n = space.Neighbours(g);
  EXPECT_EQ(n.size(), 24u);
  for (const auto& x : n) {
    int diff = 0;
    for (int i = 0; i < 6; ++i) diff += x[i] != g[i];
    EXPECT_EQ(diff, 1);
  }
}

}  // namespace
}  // namespace nas
