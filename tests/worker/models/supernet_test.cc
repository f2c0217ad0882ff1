// The supernets of worker/models/supernet.h: a subnet that inherits its weights
// computes exactly what the supernet computes on that path, batch-norm
// recalibration computes exact averages, SPOS training lowers the loss of
// paths it never fixed, and weights survive a save/load round trip.
#include "worker/models/supernet.h"

#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/spaces/search_space.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/models/model_builder.h"
#include "worker/trainer.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

v1::SearchSpaceSpec SmallSpace(const std::string& name) {
  v1::SearchSpaceSpec spec;
  spec.set_name(name);
  if (name == "nb201") {
    spec.mutable_nb201()->set_channels(4);
    spec.mutable_nb201()->set_cells_per_stage(1);
  } else {
    spec.mutable_mobilenet()->set_width_multiplier(0.25);
  }
  return spec;
}

std::vector<int> RandomPath(const SearchSpace& space, std::mt19937* rng) {
  std::vector<int> path(space.num_decisions());
  for (int d = 0; d < space.num_decisions(); ++d) {
    path[d] =
        std::uniform_int_distribution<int>(0, space.num_choices(d) - 1)(*rng);
  }
  return path;
}

class SupernetTest : public ::testing::TestWithParam<std::string> {};

// Every inherited subnet equals the supernet's path, in eval mode with the
// supernet's (non-trivial) batch-norm statistics.
TEST_P(SupernetTest, InheritedSubnetComputesTheSupernetsPath) {
  const std::string name = GetParam();
  const InputShape input{1, 28, 28, 10};
  const v1::SearchSpaceSpec spec = SmallSpace(name);
  const SearchSpace* space = GetSearchSpace(name).value();
  torch::manual_seed(3);
  auto supernet = BuildSupernet(name, spec, input);
  NAS_ASSERT_OK(supernet);
  Supernet& sn = **supernet;
  // Random batch-norm statistics: a few train-mode passes on random paths.
  sn.EnableSampling(5);
  sn.train();
  {
    torch::NoGradGuard no_grad;
    for (int i = 0; i < 8; ++i) sn.forward(torch::rand({16, 1, 28, 28}));
  }
  sn.eval();
  const torch::Tensor x = torch::rand({4, 1, 28, 28});
  std::mt19937 rng(11);
  for (int trial = 0; trial < 12; ++trial) {
    const std::vector<int> path = RandomPath(*space, &rng);
    NAS_ASSERT_OK(sn.SetPath(path));
    auto subnet = BuildCandidateNet(name, path, spec, input);
    NAS_ASSERT_OK(subnet);
    NAS_ASSERT_OK(InheritWeights(sn, path, **subnet));
    (*subnet)->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor want = sn.forward(x);
    const torch::Tensor got = (*subnet)->forward(x);
    EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-5))
        << name << " path " << space->Canonical(path).value() << " max diff "
        << (got - want).abs().max().item<double>();
  }
}

TEST_P(SupernetTest, SaveLoadRoundTripAndMismatch) {
  const std::string name = GetParam();
  const InputShape input{1, 28, 28, 10};
  torch::manual_seed(1);
  auto a = BuildSupernet(name, SmallSpace(name), input);
  NAS_ASSERT_OK(a);
  auto bytes = SaveWeights(**a);
  NAS_ASSERT_OK(bytes);
  torch::manual_seed(2);
  auto b = BuildSupernet(name, SmallSpace(name), input);
  NAS_ASSERT_OK(b);
  NAS_ASSERT_OK(LoadWeights(**b, *bytes));
  const auto pa = (*a)->named_parameters();
  for (const auto& item : (*b)->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), pa[item.key()])) << item.key();
  }
  // Weights of another width do not load.
  v1::SearchSpaceSpec wider = SmallSpace(name);
  if (name == "nb201") {
    wider.mutable_nb201()->set_channels(8);
  } else {
    wider.mutable_mobilenet()->set_width_multiplier(0.5);
  }
  auto c = BuildSupernet(name, wider, input);
  NAS_ASSERT_OK(c);
  EXPECT_THAT(LoadWeights(**c, *bytes),
              StatusIs(absl::StatusCode::kInvalidArgument, "fit"));
}

// Sampling is stratified: over k steps every choice of a k-way decision is
// used once, and eval mode or a fixed path do not sample.
TEST_P(SupernetTest, SamplingUsesEveryChoiceEquallyOften) {
  const std::string name = GetParam();
  const InputShape input{1, 28, 28, 10};
  const SearchSpace* space = GetSearchSpace(name).value();
  auto supernet = BuildSupernet(name, SmallSpace(name), input);
  NAS_ASSERT_OK(supernet);
  Supernet& sn = **supernet;
  sn.EnableSampling(9);
  sn.train();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::rand({2, 1, 28, 28});
  const int steps = 30;  // a multiple of 2, 3 and 5
  std::vector<std::vector<int>> counts(space->num_decisions());
  for (int d = 0; d < space->num_decisions(); ++d) {
    counts[d].assign(space->num_choices(d), 0);
  }
  std::set<std::vector<int>> paths;
  for (int i = 0; i < steps; ++i) {
    sn.forward(x);
    paths.insert(sn.path());
    for (int d = 0; d < space->num_decisions(); ++d) ++counts[d][sn.path()[d]];
  }
  for (int d = 0; d < space->num_decisions(); ++d) {
    for (int c = 0; c < space->num_choices(d); ++c) {
      EXPECT_EQ(counts[d][c], steps / space->num_choices(d))
          << "decision " << d << " choice " << c;
    }
  }
  EXPECT_GT(paths.size(), 20u);  // paths differ from step to step
  const std::vector<int> before = sn.path();
  sn.eval();
  sn.forward(x);
  EXPECT_EQ(sn.path(), before);
}

INSTANTIATE_TEST_SUITE_P(Spaces, SupernetTest,
                         ::testing::Values("nb201", "mobilenet"));

// After recalibration the stem's batch norm holds the exact mean and
// (unbiased) variance of its input over all calibration images.
TEST(RecalibrateBatchNormTest, ExactAveragesOverTheBatches) {
  const InputShape input{1, 28, 28, 10};
  v1::SearchSpaceSpec spec = SmallSpace("nb201");
  torch::manual_seed(4);
  auto net = BuildCandidateNet("nb201", {3, 3, 3, 3, 3, 3}, spec, input);
  NAS_ASSERT_OK(net);
  const torch::Tensor x = torch::rand({60, 1, 28, 28});
  RecalibrateBatchNorm(**net, x, /*batches=*/3, /*batch_size=*/20);
  EXPECT_FALSE((*net)->is_training());
  torch::nn::Conv2dImpl* stem = nullptr;
  torch::nn::BatchNorm2dImpl* bn = nullptr;
  for (const auto& item : (*net)->named_modules()) {
    if (item.key() == "net.stem_conv") {
      stem = item.value()->as<torch::nn::Conv2d>();
    }
    if (item.key() == "net.stem_bn") {
      bn = item.value()->as<torch::nn::BatchNorm2d>();
    }
  }
  ASSERT_NE(stem, nullptr);
  ASSERT_NE(bn, nullptr);
  torch::NoGradGuard no_grad;
  // The cumulative average of the three batch means (equal batches) is the
  // mean over all images.
  const torch::Tensor h = stem->forward(x);
  EXPECT_TRUE(torch::allclose(bn->running_mean, h.mean({0, 2, 3}), 1e-4, 1e-5));
  torch::Tensor var = torch::zeros_like(bn->running_var);
  for (int b = 0; b < 3; ++b) {
    var += h.narrow(0, 20 * b, 20).var({0, 2, 3}, /*unbiased=*/true) / 3;
  }
  EXPECT_TRUE(torch::allclose(bn->running_var, var, 1e-4, 1e-5));
  EXPECT_DOUBLE_EQ(bn->options.momentum().value(), 0.1);  // restored
}

// SPOS training on a learnable synthetic task: uniform sampling trains the
// shared weights for paths in general, not one lucky path: the mean loss of
// eight inherited subnets (a fixed path and seven random ones, none ever fixed
// during training) at least halves, and ends below a uniform guess (ln 4). One
// path alone is too chaotic to test: its loss after training depends on the
// batch order, which differs between LibTorch versions (1.979 -> 0.998 on 2.6,
// -> 0.563 on 1.13; over eight seeds on 1.13 one path ended anywhere from 0.27
// to 4.0), while the mean over the eight paths fell to between 0.15 and 0.34 of
// its start.
TEST(SupernetTrainingTest, UniformSamplingTrainsSharedWeights) {
  const InputShape input{1, 28, 28, 10};
  const v1::SearchSpaceSpec spec = SmallSpace("nb201");
  torch::manual_seed(7);
  auto supernet = BuildSupernet("nb201", spec, input);
  NAS_ASSERT_OK(supernet);
  Supernet& sn = **supernet;
  // Four classes of mean brightness 0.1, 0.4, 0.7 and 1.0, with noise.
  const int64_t n = 400;
  const torch::Tensor y = torch::randint(0, 4, {n}, torch::kInt64);
  const torch::Tensor x =
      (0.1 + 0.3 * y.to(torch::kFloat32)).reshape({n, 1, 1, 1}) +
      0.05 * torch::randn({n, 1, 28, 28});
  std::vector<std::vector<int>> probes = {{3, 3, 1, 3, 1, 3}};
  std::mt19937 rng(11);
  while (probes.size() < 8) {
    probes.push_back(RandomPath(*GetSearchSpace("nb201").value(), &rng));
  }
  auto mean_subnet_loss = [&] {
    double sum = 0;
    for (const std::vector<int>& probe : probes) {
      auto net = BuildCandidateNet("nb201", probe, spec, input);
      EXPECT_TRUE(InheritWeights(sn, probe, **net).ok());
      RecalibrateBatchNorm(**net, x, 4, 100);
      torch::NoGradGuard no_grad;
      sum += torch::cross_entropy_loss((*net)->forward(x), y).item<double>();
    }
    return sum / probes.size();
  };
  const double before = mean_subnet_loss();
  sn.EnableSampling(1);
  TrainOptions options;
  options.batch_size = 50;
  options.learning_rate = 0.05;
  Trainer trainer(sn, options, torch::kCPU, 24 * 8);
  for (int epoch = 0; epoch < 24; ++epoch) trainer.RunEpoch(x, y);
  const double after = mean_subnet_loss();
  EXPECT_LT(after, 0.5 * before) << "before " << before << " after " << after;
  EXPECT_LT(after, std::log(4.0)) << "before " << before << " after " << after;
}

}  // namespace
}  // namespace nas
