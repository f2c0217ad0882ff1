// The DARTS network of worker/models/darts_cell.h and the architecture
// objective of worker/evaluators/darts_search.h: one-hot edge weights
// compute the fixed nb201 network (weights copied by InheritWeights), the
// validation loss's gradient in alpha matches central finite differences,
// and beta-DARTS's regularizer has the gradient lambda * softmax(alpha) / 6.
#include "worker/models/darts_cell.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/spaces/nb201_space.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/evaluators/darts_search.h"
#include "worker/models/model_builder.h"
#include "worker/models/supernet.h"

namespace nas {
namespace {

v1::SearchSpaceSpec Tiny(int channels) {
  v1::SearchSpaceSpec spec;
  spec.set_name("nb201");
  spec.mutable_nb201()->set_channels(channels);
  spec.mutable_nb201()->set_cells_per_stage(1);
  return spec;
}

torch::Tensor OneHot(const std::vector<int>& choices) {
  torch::Tensor w = torch::zeros({kNb201Edges, kNb201Ops});
  for (int e = 0; e < kNb201Edges; ++e) w[e][choices[e]] = 1;
  return w;
}

// Mixed network with one-hot weights == BuildCandidateNet's network of the
// same cell with the weights copied, in eval mode (non-trivial running
// statistics) and in train mode (batch statistics), for random cells,
// `none` edges and cells without a path to the output included.
TEST(DartsCellTest, OneHotWeightsComputeTheFixedNetwork) {
  const InputShape input{1, 16, 16, 10};
  v1::SearchSpaceSpec spec = Tiny(4);
  spec.mutable_nb201()->set_cells_per_stage(2);
  torch::manual_seed(7);
  auto built = BuildDartsNetwork(spec, input);
  NAS_ASSERT_OK(built);
  DartsNetwork& net = **built;
  // Non-trivial weights and batch-norm statistics.
  {
    torch::NoGradGuard no_grad;
    for (torch::Tensor& p : net.parameters()) {
      p.add_(0.3 * torch::randn_like(p));
    }
    for (auto& b : net.named_buffers()) {
      if (b.key().find("running_mean") != std::string::npos) {
        b.value().copy_(0.2 * torch::randn_like(b.value()));
      } else if (b.key().find("running_var") != std::string::npos) {
        b.value().copy_(0.5 + torch::rand_like(b.value()));
      }
    }
  }
  std::vector<std::vector<int>> cells = {
      {0, 0, 0, 0, 0, 0},  // all none: zero cell
      {3, 0, 0, 0, 0, 3},  // node 1 unused, path 0 -> 2 -> 3 is none
      {0, 3, 2, 1, 0, 4},
      {1, 1, 1, 1, 1, 1},
  };
  std::mt19937 rng(5);
  for (int i = 0; i < 10; ++i) {
    std::vector<int> c(kNb201Edges);
    for (int& op : c) op = std::uniform_int_distribution<int>(0, 4)(rng);
    cells.push_back(c);
  }
  cells.push_back({3, 2, 4, 0, 3, 2});  // the last one: checked to matter
  const torch::Tensor x = torch::rand({5, 1, 16, 16});
  torch::NoGradGuard no_grad;
  // Eval mode first (train-mode passes move the running statistics).
  for (const bool train : {false, true}) {
    net.train(train);
    for (const std::vector<int>& cell : cells) {
      const std::string name = Nb201Space().Canonical(cell).value();
      auto fixed = BuildCandidateNet("nb201", cell, spec, input);
      NAS_ASSERT_OK(fixed);
      NAS_ASSERT_OK(InheritWeights(net.supernet(), cell, **fixed));
      (*fixed)->train(train);
      const torch::Tensor want = (*fixed)->forward(x);
      const torch::Tensor got = net.ForwardWith(x, OneHot(cell));
      EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6))
          << name << (train ? " train" : " eval") << " max diff "
          << (got - want).abs().max().item<double>();
      if (cell == cells.back()) {
        // Not vacuous: the output depends on the input and on the cell.
        EXPECT_GT((want[0] - want[1]).abs().max().item<double>(), 1e-2);
        std::vector<int> other = cell;
        other[0] = (other[0] + 1) % kNb201Ops;
        EXPECT_GT((net.ForwardWith(x, OneHot(other)) - want)
                      .abs()
                      .max()
                      .item<double>(),
                  1e-2);
      }
    }
  }
}

// Plain DARTS's architecture gradient (autograd through the mixed network
// and softmax) against central finite differences, in double precision on
// a tiny network (3 channels, one cell per stage, 8 x 8 input), train mode.
TEST(DartsCellTest, ArchGradientMatchesFiniteDifferences) {
  const InputShape input{1, 8, 8, 3};
  torch::manual_seed(3);
  auto built = BuildDartsNetwork(Tiny(3), input);
  NAS_ASSERT_OK(built);
  DartsNetwork& net = **built;
  net.To(torch::kCPU, torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    net.alpha().copy_(torch::randn({6, 5}, torch::kFloat64));
  }
  net.train();
  const torch::Tensor x = torch::randn({6, 1, 8, 8}, torch::kFloat64);
  const torch::Tensor y = torch::tensor({0, 1, 2, 0, 1, 2}, torch::kInt64);
  const torch::Tensor grad =
      torch::autograd::grad({ArchLoss(net, x, y, 0)}, {net.alpha()})[0];
  const double h = 1e-5;
  torch::NoGradGuard no_grad;
  double worst = 0;
  for (int e = 0; e < 6; ++e) {
    for (int k = 0; k < 5; ++k) {
      torch::Tensor a = net.alpha()[e][k];
      const double v = a.item<double>();
      a.fill_(v + h);
      const double up = ArchLoss(net, x, y, 0).item<double>();
      a.fill_(v - h);
      const double down = ArchLoss(net, x, y, 0).item<double>();
      a.fill_(v);
      const double fd = (up - down) / (2 * h);
      const double g = grad[e][k].item<double>();
      EXPECT_NEAR(g, fd, 1e-7 + 1e-5 * std::abs(fd))
          << "edge " << e << " op " << k;
      worst = std::max(worst, std::abs(g));
    }
  }
  EXPECT_GT(worst, 1e-4);  // a gradient that is not trivially zero
}

// beta-DARTS: the regularizer adds lambda * softmax(alpha[e]) / 6 to the
// gradient of every edge's row, through ArchLoss as well.
TEST(DartsCellTest, BetaDecayGradientIsScaledSoftmax) {
  torch::manual_seed(4);
  const torch::Tensor alpha =
      torch::randn({6, 5}, torch::kFloat64).set_requires_grad(true);
  const double lambda = 0.7;
  const torch::Tensor g =
      torch::autograd::grad({lambda * BetaDecayLoss(alpha)}, {alpha})[0];
  const torch::Tensor want = lambda * torch::softmax(alpha.detach(), 1) / 6;
  EXPECT_TRUE(torch::allclose(g, want, 1e-12, 1e-14));

  const InputShape input{1, 8, 8, 3};
  auto built = BuildDartsNetwork(Tiny(2), input);
  NAS_ASSERT_OK(built);
  DartsNetwork& net = **built;
  net.To(torch::kCPU, torch::kFloat64);
  net.eval();
  const torch::Tensor x = torch::randn({4, 1, 8, 8}, torch::kFloat64);
  const torch::Tensor y = torch::tensor({0, 1, 2, 0}, torch::kInt64);
  const torch::Tensor plain =
      torch::autograd::grad({ArchLoss(net, x, y, 0)}, {net.alpha()})[0];
  const torch::Tensor beta =
      torch::autograd::grad({ArchLoss(net, x, y, lambda)}, {net.alpha()})[0];
  EXPECT_TRUE(torch::allclose(
      beta - plain, lambda * torch::softmax(net.alpha().detach(), 1) / 6, 1e-10,
      1e-12));
}

TEST(DartsCellTest, DerivedCellShareAndLambda) {
  torch::Tensor alpha = torch::zeros({6, 5});
  const std::vector<int> want = {0, 1, 2, 3, 4, 3};
  for (int e = 0; e < 6; ++e) alpha[e][want[e]] = 1;
  EXPECT_EQ(DeriveCell(alpha), want);
  EXPECT_EQ(DeriveCell(torch::zeros({6, 5})), std::vector<int>(6, 0));
  EXPECT_DOUBLE_EQ(Nb201ParamFreeShare(want), 3.0 / 6);
  EXPECT_DOUBLE_EQ(Nb201ParamFreeShare({2, 3, 2, 3, 2, 3}), 0);
  EXPECT_DOUBLE_EQ(BetaLambda(2.0, 1, 5), 0);
  EXPECT_DOUBLE_EQ(BetaLambda(2.0, 3, 5), 1.0);
  EXPECT_DOUBLE_EQ(BetaLambda(2.0, 5, 5), 2.0);
  EXPECT_DOUBLE_EQ(BetaLambda(2.0, 1, 1), 2.0);
}

TEST(DartsCellTest, MobilenetSupernetHasNoMixedForward) {
  v1::SearchSpaceSpec spec;
  spec.set_name("mobilenet");
  spec.mutable_mobilenet()->set_width_multiplier(0.25);
  auto sn = BuildSupernet("mobilenet", spec, InputShape{1, 28, 28, 10});
  NAS_ASSERT_OK(sn);
  EXPECT_FALSE((*sn)->has_mixed_forward());
  EXPECT_THROW(
      (*sn)->ForwardMixed(torch::rand({1, 1, 28, 28}), torch::ones({6, 5})),
      c10::Error);
}

}  // namespace
}  // namespace nas
