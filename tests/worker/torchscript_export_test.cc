#include "worker/torchscript_export.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/spaces/search_space.h"
#include "gtest/gtest.h"
#include "worker/models/model_builder.h"

namespace nas {
namespace {

std::shared_ptr<CandidateNet> Build(const std::string& space,
                                    const std::vector<int>& choices,
                                    const InputShape& input) {
  v1::SearchSpaceSpec spec;
  spec.set_name(space);
  if (space == "nb201") {
    spec.mutable_nb201()->set_channels(8);
    spec.mutable_nb201()->set_cells_per_stage(1);
  }
  absl::StatusOr<std::shared_ptr<CandidateNet>> net =
      BuildCandidateNet(space, choices, spec, input);
  EXPECT_TRUE(net.ok()) << net.status();
  return *net;
}

std::vector<int> RandomChoices(const SearchSpace& space, std::mt19937_64& rng) {
  std::vector<int> c;
  for (int d = 0; d < space.num_decisions(); ++d) {
    c.push_back(
        std::uniform_int_distribution<int>(0, space.num_choices(d) - 1)(rng));
  }
  return c;
}

// The exported archive loads back, keeps named weights and extra files, and
// computes the network's logits on raw [0, 1] images (normalization inside),
// for any batch size, on random genotypes of both spaces.
TEST(TorchScriptExportTest, RoundTripsBothSpaces) {
  std::mt19937_64 rng(7);
  const InputShape input{1, 28, 28, 10};
  for (const std::string space_name : {"nb201", "mobilenet"}) {
    const SearchSpace* space = *GetSearchSpace(space_name);
    for (int i = 0; i < 4; ++i) {
      torch::manual_seed(i);
      const std::vector<int> choices = RandomChoices(*space, rng);
      std::shared_ptr<CandidateNet> net = Build(space_name, choices, input);
      // Make batch-norm statistics non-trivial, as after training.
      net->train();
      for (int k = 0; k < 3; ++k) net->forward(torch::randn({8, 1, 28, 28}));
      ExportOptions opts;
      opts.input = input;
      opts.mean = {0.25};
      opts.std = {0.5};
      opts.extra_files["meta.json"] = "{\"genotype\":\"x\"}";
      absl::StatusOr<std::string> bytes = ExportTorchScript(*net, opts);
      ASSERT_TRUE(bytes.ok()) << bytes.status();

      std::istringstream in(*bytes);
      torch::jit::ExtraFilesMap extra{{"meta.json", ""}};
      torch::jit::Module loaded = torch::jit::load(in, torch::kCPU, extra);
      EXPECT_EQ(extra["meta.json"], "{\"genotype\":\"x\"}");
      EXPECT_EQ(loaded.parameters().size(), net->parameters().size());

      torch::NoGradGuard no_grad;
      net->eval();
      const torch::Tensor images = torch::rand({5, 1, 28, 28});
      const torch::Tensor want = net->forward(images.sub(0.25).div(0.5));
      const torch::Tensor got = loaded.forward({images}).toTensor();
      ASSERT_EQ(got.sizes(), want.sizes());
      EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-4))
          << space_name << " genotype " << i;
    }
  }
}

// A 3-channel, 7-class network: per-channel normalization inside, kept as
// the module's input_mean / input_std buffers.
TEST(TorchScriptExportTest, PerChannelNormalization) {
  const InputShape input{3, 16, 16, 7};
  const SearchSpace* space = *GetSearchSpace("nb201");
  std::mt19937_64 rng(3);
  torch::manual_seed(3);
  std::shared_ptr<CandidateNet> net =
      Build("nb201", RandomChoices(*space, rng), input);
  ExportOptions opts;
  opts.input = input;
  opts.mean = {0.1, 0.2, 0.3};
  opts.std = {0.5, 0.25, 0.125};
  absl::StatusOr<std::string> bytes = ExportTorchScript(*net, opts);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  std::istringstream in(*bytes);
  torch::jit::Module loaded = torch::jit::load(in, torch::kCPU);
  torch::NoGradGuard no_grad;
  const torch::Tensor images = torch::rand({4, 3, 16, 16});
  const torch::Tensor mean =
      torch::tensor({0.1f, 0.2f, 0.3f}).view({1, 3, 1, 1});
  const torch::Tensor std =
      torch::tensor({0.5f, 0.25f, 0.125f}).view({1, 3, 1, 1});
  const torch::Tensor want = net->forward(images.sub(mean).div(std));
  const torch::Tensor got = loaded.forward({images}).toTensor();
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{4, 7}));
  EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-4));
  EXPECT_TRUE(torch::equal(loaded.attr("input_std").toTensor(), std));
}

}  // namespace
}  // namespace nas
