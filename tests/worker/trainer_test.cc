#include "worker/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/device.h"
#include "worker/profiler.h"

namespace nas {
namespace {

TEST(TrainingLossTest, LabelSmoothingMatchesTheFormula) {
  const torch::Tensor logits = torch::tensor({{2.0f, 0.0f, -1.0f}});
  const torch::Tensor y = torch::tensor({0}, torch::kInt64);
  const double s = 0.1;
  const torch::Tensor logp = torch::log_softmax(logits, 1)[0];
  // (1 - s) * -log p_y + s * mean_k(-log p_k)
  const double expected =
      (1 - s) * -logp[0].item<double>() + s * -logp.mean().item<double>();
  EXPECT_NEAR(TrainingLoss(logits, y, s).item<double>(), expected, 1e-6);
  // Without smoothing: plain cross entropy, and smaller here (the label
  // already has the largest logit).
  const double plain = TrainingLoss(logits, y, 0).item<double>();
  EXPECT_NEAR(plain, -logp[0].item<double>(), 1e-6);
  EXPECT_LT(plain, expected);
}

TEST(TrainingLossTest, SmoothingAveragesOverTheBatch) {
  const torch::Tensor logits = torch::tensor({{1.0f, 3.0f}, {0.5f, -0.5f}});
  const torch::Tensor y = torch::tensor({1, 0}, torch::kInt64);
  const double s = 0.2;
  const torch::Tensor logp = torch::log_softmax(logits, 1);
  double sum = 0;
  for (int i = 0; i < 2; ++i) {
    const int64_t label = y[i].item<int64_t>();
    sum += (1 - s) * -logp[i][label].item<double>() +
           s * -logp[i].mean().item<double>();
  }
  EXPECT_NEAR(TrainingLoss(logits, y, s).item<double>(), sum / 2, 1e-6);
}

// Runs `script` with Debian's Python (torch, numpy) and returns its stdout.
std::string RunPython(const std::string& script) {
  const std::string path = ::testing::TempDir() + "/weighted_loss.py";
  {
    std::ofstream out(path);
    out << script;
  }
  std::string output;
  FILE* p = popen(("/usr/bin/python3 " + path + " 2>&1").c_str(), "r");
  if (p == nullptr) return "";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) output.append(buf, n);
  pclose(p);
  return output;
}

// Weighted cross entropy with and without label smoothing: the same numbers
// as PyTorch's F.cross_entropy(logits, y, weight=w, label_smoothing=s).
TEST(TrainingLossTest, ClassWeightsMatchPyTorch) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no python3";
  torch::manual_seed(5);
  const torch::Tensor logits = torch::randn({6, 4}, torch::kFloat32);
  const torch::Tensor y = torch::tensor({0, 3, 3, 1, 2, 3}, torch::kInt64);
  const torch::Tensor w = torch::tensor({0.5f, 2.0f, 1.0f, 0.25f});
  std::ostringstream script;
  script.precision(9);
  script << "import torch, torch.nn.functional as F\n"
         << "logits = torch.tensor([";
  for (int64_t i = 0; i < logits.size(0); ++i) {
    script << "[";
    for (int64_t j = 0; j < logits.size(1); ++j) {
      script << logits[i][j].item<float>() << ",";
    }
    script << "],";
  }
  script << "], dtype=torch.float32)\n"
         << "y = torch.tensor([0, 3, 3, 1, 2, 3])\n"
         << "w = torch.tensor([0.5, 2.0, 1.0, 0.25])\n"
         << "for s in (0.0, 0.1, 0.3):\n"
         << "  print('%.9g' % F.cross_entropy(logits, y, weight=w, "
            "label_smoothing=s).item())\n";
  std::istringstream out(RunPython(script.str()));
  for (double s : {0.0, 0.1, 0.3}) {
    double want = 0;
    ASSERT_TRUE(out >> want) << "python3 with torch must run: " << out.str();
    EXPECT_NEAR(TrainingLoss(logits, y, s, w).item<double>(), want, 1e-6)
        << "label_smoothing " << s;
  }
  // Unit weights are the unweighted loss.
  EXPECT_NEAR(TrainingLoss(logits, y, 0.1, torch::ones({4})).item<double>(),
              TrainingLoss(logits, y, 0.1).item<double>(), 1e-6);
}

// A tiny CandidateNet: flatten + linear.
class TinyNet : public CandidateNet {
 public:
  TinyNet() : fc_(register_module("fc", torch::nn::Linear(2 * 4 * 4, 3))) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    return fc_(x.flatten(1));
  }

 private:
  torch::nn::Linear fc_;
};

TEST(TrainerTest, CosineScheduleEndpoints) {
  TinyNet net;
  TrainOptions o;
  o.learning_rate = 0.4;
  Trainer t(net, o, torch::kCPU, 10);
  EXPECT_DOUBLE_EQ(t.LearningRate(0), 0.4);
  EXPECT_NEAR(t.LearningRate(5), 0.2, 1e-12);
  EXPECT_NEAR(t.LearningRate(10), 0.0, 1e-12);
}

// Trains TinyNet on a fixed separable batch; returns the final loss.
double TrainTiny(TrainOptions o, int steps, std::vector<double>* losses) {
  torch::manual_seed(1);
  TinyNet net;
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({24, 2, 4, 4});
  const torch::Tensor y = torch::arange(24, torch::kInt64) % 3;
  Trainer t(net, o, torch::kCPU, steps);
  double last = 0;
  for (int i = 0; i < steps; ++i) {
    last = t.Step(x, y).item<double>();
    if (losses != nullptr) losses->push_back(last);
  }
  EXPECT_EQ(t.steps(), steps);
  return last;
}

// grad_clip_norm: a step moves the parameters by exactly lr * clip (SGD
// without momentum or decay) when the gradient is longer than the clip;
// SetSteps continues the schedule.
TEST(TrainerTest, GradientClippingAndSetSteps) {
  torch::manual_seed(1);
  TinyNet net;
  TrainOptions o;
  o.learning_rate = 0.1;
  o.momentum = 0;
  o.weight_decay = 0;
  o.grad_clip_norm = 1e-3;
  Trainer t(net, o, torch::kCPU, 1000000);
  std::vector<torch::Tensor> before;
  for (const torch::Tensor& p : net.parameters()) before.push_back(p.clone());
  torch::manual_seed(2);
  t.Step(torch::randn({24, 2, 4, 4}), torch::arange(24, torch::kInt64) % 3);
  double moved = 0;
  const std::vector<torch::Tensor> after = net.parameters();
  for (size_t i = 0; i < after.size(); ++i) {
    moved += (after[i] - before[i]).pow(2).sum().item<double>();
  }
  EXPECT_NEAR(std::sqrt(moved), 0.1 * 1e-3, 1e-7);
  t.SetSteps(500000);
  EXPECT_EQ(t.steps(), 500000);
  EXPECT_NEAR(t.LearningRate(t.steps()), 0.05, 1e-12);
}

TEST(TrainerTest, StepsReduceTheLoss) {
  TrainOptions o;
  o.learning_rate = 0.1;
  std::vector<double> losses;
  TrainTiny(o, 30, &losses);
  ASSERT_EQ(losses.size(), 30u);
  EXPECT_LT(losses.back(), 0.5 * losses.front());
}

// bf16 autocast on the CPU (the path a CUDA worker takes in bf16, less the
// device): the linear layer really runs in bf16 (another loss than fp32),
// and training still converges to about the same place.
TEST(TrainerTest, Bf16AutocastTrainsOnTheCpu) {
  TrainOptions fp32;
  TrainOptions bf16;
  bf16.precision = Precision::kBf16;
  std::vector<double> losses;
  const double a = TrainTiny(fp32, 30, nullptr);
  const double b = TrainTiny(bf16, 30, &losses);
  EXPECT_NE(a, b);
  EXPECT_LT(losses.back(), 0.5 * losses.front());
  EXPECT_NEAR(b, a, 0.05 + 0.1 * a);
}

TEST(TrainerTest, OptionsChangeTheTrajectory) {
  TrainOptions base;
  const double a = TrainTiny(base, 5, nullptr);
  EXPECT_DOUBLE_EQ(TrainTiny(base, 5, nullptr), a);  // deterministic
  TrainOptions classical = base;
  classical.nesterov = false;
  EXPECT_NE(TrainTiny(classical, 5, nullptr), a);
  TrainOptions smoothed = base;
  smoothed.label_smoothing = 0.1;
  EXPECT_NE(TrainTiny(smoothed, 5, nullptr), a);
  TrainOptions no_momentum = base;  // nesterov is ignored without momentum
  no_momentum.momentum = 0;
  EXPECT_NE(TrainTiny(no_momentum, 5, nullptr), a);
}

TEST(TrainerTest, EpochVisitsEveryImageOnce) {
  torch::manual_seed(1);
  TinyNet net;
  const torch::Tensor x = torch::randn({10, 2, 4, 4});
  const torch::Tensor y = torch::arange(10, torch::kInt64) % 3;
  TrainOptions o;
  o.batch_size = 4;
  o.augment.horizontal_flip = true;
  o.augment.crop_padding = 1;
  Trainer t(net, o, torch::kCPU, 3);
  std::vector<int64_t> batches;
  const double loss = t.RunEpoch(x, y, [&](int64_t b, const torch::Tensor& l) {
    batches.push_back(b);
    EXPECT_TRUE(std::isfinite(l.item<double>()));
  });
  EXPECT_EQ(batches, (std::vector<int64_t>{1, 2, 3}));  // 4 + 4 + 2 images
  EXPECT_EQ(t.steps(), 3);
  EXPECT_GT(loss, 0);
  EXPECT_TRUE(net.is_training());
}

// A small conv net (4-D weights) for the memory-format tests.
class ConvNet : public CandidateNet {
 public:
  ConvNet()
      : conv_(register_module(
            "conv",
            torch::nn::Conv2d(
                torch::nn::Conv2dOptions(2, 4, 3).padding(1).bias(false)))),
        bn_(register_module("bn", torch::nn::BatchNorm2d(4))),
        fc_(register_module("fc", torch::nn::Linear(4, 3))) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    return fc_(torch::relu(bn_(conv_(x))).mean({2, 3}));
  }

 private:
  torch::nn::Conv2d conv_;
  torch::nn::BatchNorm2d bn_;
  torch::nn::Linear fc_;
};

TEST(ChannelsLastTest, ConvertKeepsValuesAndChangesLayout) {
  torch::manual_seed(1);
  ConvNet net;
  const torch::Tensor before = net.named_parameters()["conv.weight"].clone();
  ConvertToChannelsLast(net);
  const torch::Tensor after = net.named_parameters()["conv.weight"];
  EXPECT_TRUE(after.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_EQ(after.suggest_memory_format(), torch::MemoryFormat::ChannelsLast);
  EXPECT_FALSE(after.is_contiguous());
  EXPECT_TRUE(torch::equal(after, before));
  EXPECT_TRUE(net.named_parameters()["fc.weight"].is_contiguous());
}

TEST(ChannelsLastTest, TrainingMatchesTheContiguousRun) {
  auto run = [](bool channels_last) {
    torch::manual_seed(1);
    ConvNet net;
    torch::manual_seed(2);
    const torch::Tensor x = torch::randn({16, 2, 6, 6});
    const torch::Tensor y = torch::arange(16, torch::kInt64) % 3;
    TrainOptions o;
    o.channels_last = channels_last;
    Trainer t(net, o, torch::kCPU, 4);
    std::vector<double> losses;
    for (int i = 0; i < 4; ++i) losses.push_back(t.Step(x, y).item<double>());
    EXPECT_EQ(net.named_parameters()["conv.weight"].is_contiguous(
                  torch::MemoryFormat::ChannelsLast),
              channels_last);
    return losses;
  };
  const std::vector<double> a = run(false), b = run(true);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4) << i;
}

TEST(ChannelsLastTest, TrainerConvertsEveryConvOfARealCandidate) {
  v1::SearchSpaceSpec spec;
  spec.set_name("mobilenet");
  std::vector<int> choices(16, 1);
  absl::StatusOr<std::shared_ptr<CandidateNet>> net =
      BuildCandidateNet("mobilenet", choices, spec, InputShape{1, 28, 28, 10});
  NAS_ASSERT_OK(net);
  Trainer t(**net, TrainOptions(), torch::kCPU, 1);
  int convs = 0;
  for (const auto& p : (*net)->named_parameters()) {
    if (p.value().dim() != 4) continue;
    ++convs;
    // Recognised as channels-last, 1x1 and depthwise (ambiguous) too.
    EXPECT_EQ(p.value().suggest_memory_format(),
              torch::MemoryFormat::ChannelsLast)
        << p.key();
  }
  EXPECT_GT(convs, 20);
  const torch::Tensor out = (*net)->forward(torch::randn({4, 1, 28, 28}));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{4, 10}));
}

TEST(LossScalerTest, DisabledIsPlainSgd) {
  LossScaler scaler(false);
  const torch::Tensor loss = torch::tensor(2.0);
  EXPECT_TRUE(scaler.Scale(loss).is_same(loss));
}

TEST(LossScalerTest, SkipsNonFiniteStepsAndAdaptsTheScale) {
  torch::Tensor w = torch::ones({2}, torch::requires_grad());
  torch::optim::SGD opt({w}, torch::optim::SGDOptions(1.0));
  LossScaler scaler(true, /*init_scale=*/8, /*growth_factor=*/2,
                    /*backoff_factor=*/0.5, /*growth_interval=*/2);
  // Finite: the gradient is unscaled before the step.
  scaler.Scale((w * 3).sum()).backward();
  EXPECT_TRUE(scaler.Step(opt));
  EXPECT_TRUE(torch::allclose(w, torch::full({2}, -2.0)));
  EXPECT_DOUBLE_EQ(scaler.scale(), 8);
  // Non-finite: skipped, scale halved, weights unchanged.
  opt.zero_grad();
  scaler.Scale((w * std::numeric_limits<float>::infinity()).sum()).backward();
  EXPECT_FALSE(scaler.Step(opt));
  EXPECT_TRUE(torch::allclose(w, torch::full({2}, -2.0)));
  EXPECT_DOUBLE_EQ(scaler.scale(), 4);
  // Two good steps in a row: scale doubles.
  for (int i = 0; i < 2; ++i) {
    opt.zero_grad();
    scaler.Scale(w.sum()).backward();
    EXPECT_TRUE(scaler.Step(opt));
  }
  EXPECT_DOUBLE_EQ(scaler.scale(), 8);
  EXPECT_TRUE(torch::allclose(w, torch::full({2}, -4.0)));
}

TEST(ProfilerTest, LatencyStatsAreSane) {
  torch::manual_seed(1);
  TinyNet net;
  const InputShape shape{2, 4, 4, 3};
  const LatencyStats s = MeasureLatency(net, shape, torch::kCPU, 31);
  ASSERT_EQ(s.runs_ms.size(), 31u);
  EXPECT_TRUE(std::is_sorted(s.runs_ms.begin(), s.runs_ms.end()));
  EXPECT_DOUBLE_EQ(s.median_ms, s.runs_ms[15]);  // odd count: middle run
  EXPECT_GT(s.median_ms, 0);
  EXPECT_GE(s.iqr_ms, 0);
  EXPECT_LE(s.iqr_ms, s.runs_ms.back() - s.runs_ms.front());
  EXPECT_FALSE(net.is_training());
}

TEST(ProfilerTest, ThroughputIsPositiveAndQuantileInterpolates) {
  torch::manual_seed(1);
  TinyNet net;
  const double ips = MeasureThroughput(net, InputShape{2, 4, 4, 3}, torch::kCPU,
                                       64, Precision::kFp32, 3, 0.01);
  EXPECT_GT(ips, 0);
  EXPECT_TRUE(std::isfinite(ips));
  EXPECT_DOUBLE_EQ(Quantile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Quantile({1, 2, 3, 4}, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(Quantile({5}, 0.75), 5);
}

}  // namespace
}  // namespace nas
