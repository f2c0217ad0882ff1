#include "worker/models/nb201_model.h"

#include <random>
#include <vector>

#include "common/spaces/nb201_space.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

constexpr int kNone = 0, kSkip = 1, kConv3x3 = 3;

std::vector<int> RandomGenotype(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> op(0, kNb201Ops - 1);
  std::vector<int> g(kNb201Edges);
  for (int& c : g) c = op(rng);
  return g;
}

Nb201Network Build(const std::vector<int>& g, int channels, int cells,
                   const InputShape& input = InputShape()) {
  absl::StatusOr<Nb201Network> m =
      BuildNb201Network(g, Nb201Shape{channels, cells}, input);
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

TEST(Nb201ModelTest, ForwardGivesLogitsForRandomGenotypes) {
  std::mt19937_64 rng(42);
  torch::manual_seed(0);
  for (int i = 0; i < 10; ++i) {
    const std::vector<int> g = RandomGenotype(rng);
    Nb201Network m = Build(g, 8, 1);
    const torch::Tensor out = m->forward(torch::randn({3, 1, 28, 28}));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 10}))
        << ::testing::PrintToString(g);
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  }
}

TEST(Nb201ModelTest, AllNoneStillTrainsAStep) {
  Nb201Network m = Build(std::vector<int>(kNb201Edges, kNone), 4, 2);
  const torch::Tensor out = m->forward(torch::randn({2, 1, 28, 28}));
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 10}));
  const torch::Tensor loss =
      torch::nn::functional::cross_entropy(out, torch::tensor({1, 2}));
  loss.backward();
  EXPECT_TRUE(torch::isfinite(loss).item<bool>());
}

TEST(Nb201ModelTest, OtherInputShapes) {
  InputShape rgb{3, 32, 32, 100};
  Nb201Network m = Build(std::vector<int>(kNb201Edges, kConv3x3), 4, 1, rgb);
  EXPECT_EQ(m->forward(torch::randn({2, 3, 32, 32})).sizes(),
            (std::vector<int64_t>{2, 100}));
}

TEST(Nb201ModelTest, AvgPoolEdgeMatchesTorchAvgPool) {
  // node1 = avg_pool_3x3(x), node3 = skip(node1).
  Nb201Cell cell(std::array<int, kNb201Edges>{4, 0, 0, 0, 1, 0}, 5);
  for (int64_t side : {28, 7, 2, 1}) {
    const torch::Tensor x = torch::randn({2, 5, side, side});
    const torch::Tensor want = torch::nn::functional::avg_pool2d(
        x, torch::nn::functional::AvgPool2dFuncOptions(3)
               .stride(1)
               .padding(1)
               .count_include_pad(false));
    EXPECT_TRUE(torch::allclose(cell->forward(x), want, 1e-5, 1e-6))
        << "side " << side;
  }
  EXPECT_EQ(CountParameters(*cell), 0);
}

TEST(Nb201ModelTest, ParameterCountMatchesAnalyticCost) {
  std::mt19937_64 rng(7);
  const InputShape input;  // 1x28x28, 10 classes
  std::vector<std::vector<int>> genotypes = {
      std::vector<int>(kNb201Edges, kNone),
      std::vector<int>(kNb201Edges, kSkip),
      std::vector<int>(kNb201Edges, kConv3x3),
      {2, 2, 2, 2, 2, 2},
      {4, 4, 4, 4, 4, 4}};
  while (genotypes.size() < 55) genotypes.push_back(RandomGenotype(rng));
  const std::vector<std::pair<int, int>> shapes = {{16, 5}, {8, 1}, {12, 2}};
  for (const auto& [channels, cells] : shapes) {
    v1::SearchSpaceSpec spec;
    spec.set_name("nb201");
    spec.mutable_nb201()->set_channels(channels);
    spec.mutable_nb201()->set_cells_per_stage(cells);
    for (const std::vector<int>& g : genotypes) {
      absl::StatusOr<Cost> cost = Nb201Space().ComputeCost(g, spec, input);
      NAS_ASSERT_OK(cost);
      Nb201Network m = Build(g, channels, cells, input);
      EXPECT_EQ(CountParameters(*m), cost->params)
          << "C=" << channels << " N=" << cells << " "
          << ::testing::PrintToString(g);
    }
  }
}

TEST(Nb201ModelTest, SameSeedSameWeights) {
  const std::vector<int> g = {3, 2, 1, 3, 4, 3};
  torch::manual_seed(5);
  Nb201Network a = Build(g, 8, 1);
  torch::manual_seed(5);
  Nb201Network b = Build(g, 8, 1);
  const auto pa = a->parameters();
  const auto pb = b->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_TRUE(torch::equal(pa[i], pb[i]));
}

TEST(Nb201ModelTest, RejectsBadGenotypesAndShapes) {
  EXPECT_THAT(BuildNb201Network({1, 2, 3}, Nb201Shape{}, InputShape()),
              StatusIs(absl::StatusCode::kInvalidArgument, "6 choices"));
  EXPECT_THAT(BuildNb201Network({0, 1, 2, 3, 4, 5}, Nb201Shape{}, InputShape()),
              StatusIs(absl::StatusCode::kInvalidArgument, "choice 5"));
  EXPECT_THAT(
      BuildNb201Network({0, 1, 2, 3, 4, 0}, Nb201Shape{0, 1}, InputShape()),
      StatusIs(absl::StatusCode::kInvalidArgument, "channels"));
  EXPECT_THAT(BuildNb201Network({0, 1, 2, 3, 4, 0}, Nb201Shape{},
                                InputShape{1, 30, 30, 10}),
              StatusIs(absl::StatusCode::kInvalidArgument, "divisible by 4"));
}

}  // namespace
}  // namespace nas
