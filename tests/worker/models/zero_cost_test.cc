// The zero-cost proxies (worker/models/zero_cost.h): values computed by hand
// on tiny networks, agreement with an independent PyTorch implementation
// (zero_cost_reference.py, Debian's /usr/bin/python3 with python3-torch),
// determinism, and that scoring leaves the module as it was.
#include "worker/models/zero_cost.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/models/layers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

namespace nn = torch::nn;

// Linear 2 -> 2 -> 1 without biases.
struct TwoLinear : nn::Module {
  TwoLinear()
      : a(register_module("a",
                          nn::Linear(nn::LinearOptions(2, 2).bias(false)))),
        b(register_module("b",
                          nn::Linear(nn::LinearOptions(2, 1).bias(false)))) {}
  torch::Tensor forward(const torch::Tensor& x) { return b(a(x)); }
  nn::Linear a, b;
};

// conv 3x3 (1 -> 3, no bias), BN, nas::Relu, flatten, linear -> 4 classes,
// on 1 x 6 x 6 images: the network zero_cost_reference.py builds.
struct TinyNet : nn::Module {
  TinyNet()
      : conv(register_module("conv", MakeConv(1, 3, 3, 1))),
        bn(register_module("bn", MakeBatchNorm(3))),
        fc(register_module("fc", nn::Linear(3 * 6 * 6, 4))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return fc(Relu(bn(conv(x))).flatten(1));
  }
  nn::Conv2d conv;
  nn::BatchNorm2d bn;
  nn::Linear fc;
};

// A seeded TinyNet with non-trivial BN affine parameters, and a batch.
struct TinyCase {
  std::shared_ptr<TinyNet> net;
  torch::Tensor x, y;
};
TinyCase MakeTinyCase(uint64_t seed) {
  torch::manual_seed(seed);
  TinyCase c;
  c.net = std::make_shared<TinyNet>();
  {
    torch::NoGradGuard no_grad;
    c.net->bn->weight.uniform_(0.5, 1.5);
    c.net->bn->bias.uniform_(-0.2, 0.2);
  }
  c.x = torch::randn({8, 1, 6, 6});
  c.y = torch::randint(0, 4, {8}, torch::kInt64);
  return c;
}

ForwardFn ForwardOf(const std::shared_ptr<TinyNet>& net) {
  return [net](const torch::Tensor& x) { return net->forward(x); };
}

std::vector<torch::Tensor> Snapshot(nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const torch::Tensor& p : m.parameters()) out.push_back(p.clone());
  for (const torch::Tensor& b : m.buffers()) out.push_back(b.clone());
  return out;
}

void ExpectSameState(nn::Module& m, const std::vector<torch::Tensor>& before) {
  const std::vector<torch::Tensor> now = Snapshot(m);
  ASSERT_EQ(now.size(), before.size());
  for (size_t i = 0; i < now.size(); ++i) {
    EXPECT_EQ(now[i].scalar_type(), before[i].scalar_type()) << i;
    EXPECT_TRUE(torch::equal(now[i], before[i])) << i;
  }
  for (const torch::Tensor& p : m.parameters()) {
    EXPECT_FALSE(p.grad().defined());
  }
}

TEST(ZeroCostTest, SynflowOfTwoLinearLayersByHand) {
  TwoLinear net;
  {
    torch::NoGradGuard no_grad;
    net.a->weight.copy_(torch::tensor({{1.0f, -2.0f}, {3.0f, 0.5f}}));
    net.b->weight.copy_(torch::tensor({{-1.0f, 2.0f}}));
  }
  const std::vector<torch::Tensor> before = Snapshot(net);
  // R = 1^T |W2| |W1| 1; dR/dW1[i][j] = s2[i] = sum_k |W2[k][i]|,
  // dR/dW2[k][i] = r1[i] = sum_j |W1[i][j]|: synflow = 2 sum_i s2[i] r1[i]
  // = 2 (1 * 3 + 2 * 3.5) = 20.
  absl::StatusOr<double> s = Synflow(
      net, [&net](const torch::Tensor& x) { return net.forward(x); }, {2},
      torch::kCPU);
  NAS_ASSERT_OK(s);
  EXPECT_DOUBLE_EQ(*s, 20.0);
  ExpectSameState(net, before);  // signs and float32 restored
}

TEST(ZeroCostTest, SnipAndGradNormOfALinearLayerByHand) {
  nn::Linear fc(2, 2);
  {
    torch::NoGradGuard no_grad;
    fc->weight.copy_(torch::tensor({{1.0f, 1.0f}, {0.0f, 0.0f}}));
    fc->bias.zero_();
  }
  const ForwardFn forward = [&fc](const torch::Tensor& x) {
    return fc->forward(x);
  };
  const torch::Tensor x = torch::tensor({{1.0f, 2.0f}});
  const torch::Tensor y = torch::tensor({0}, torch::kInt64);
  // logits (3, 0); dL/dW = (softmax - onehot) x^T = (1 - p) [[-1, -2],
  // [1, 2]] with p = sigmoid(3).
  const double q = 1 - 1 / (1 + std::exp(-3.0));
  absl::StatusOr<double> snip = Snip(*fc, forward, x, y);
  NAS_ASSERT_OK(snip);
  EXPECT_NEAR(*snip, 3 * q, 1e-6);
  absl::StatusOr<double> norm = GradNorm(*fc, forward, x, y);
  NAS_ASSERT_OK(norm);
  EXPECT_NEAR(*norm, std::sqrt(10.0) * q, 1e-6);
}

// A module whose forward is nas::Relu of its input: the codes are the
// input's signs.
struct ReluOnly : nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return Relu(x); }
};

TEST(ZeroCostTest, JacobCovIsTheLogDetOfTheCodeKernel) {
  ReluOnly net;
  const ForwardFn forward = [&net](const torch::Tensor& x) {
    return net.forward(x);
  };
  // Codes (1, 0), (0, 1), (1, 1): K counts agreements,
  // [[2, 0, 1], [0, 2, 1], [1, 1, 2]], det 4.
  const torch::Tensor x =
      torch::tensor({{1.0f, -1.0f}, {-1.0f, 1.0f}, {1.0f, 1.0f}});
  absl::StatusOr<double> s = JacobCov(net, forward, x);
  NAS_ASSERT_OK(s);
  EXPECT_NEAR(*s, std::log(4.0), 1e-12);
  // Two images with the same codes: K is singular, the score the lowest.
  s = JacobCov(net, forward,
               torch::tensor({{1.0f, -1.0f}, {2.0f, -3.0f}, {1.0f, 1.0f}}));
  NAS_ASSERT_OK(s);
  EXPECT_EQ(*s, std::numeric_limits<double>::lowest());
  // A network without recorded ReLUs cannot be scored.
  EXPECT_THAT(
      JacobCov(
          net, [](const torch::Tensor& x) { return torch::relu(x); }, x),
      StatusIs(absl::StatusCode::kFailedPrecondition, "ReLU"));
  EXPECT_THAT(JacobCov(net, forward, x.narrow(0, 0, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, "2 images"));
}

TEST(ZeroCostTest, RejectsUnknownProxiesAndEmptyBatches) {
  TinyCase c = MakeTinyCase(1);
  EXPECT_THAT(ComputeZeroCostProxies(*c.net, ForwardOf(c.net), {"fisher"},
                                     {{c.x, c.y}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "'fisher'"));
  EXPECT_THAT(ComputeZeroCostProxies(*c.net, ForwardOf(c.net), {"snip"}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, "batch"));
  EXPECT_THAT(ComputeZeroCostProxies(*c.net, ForwardOf(c.net), {"snip"},
                                     {{c.x, c.y.narrow(0, 0, 3)}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "label"));
}

// Runs zero_cost_reference.py on `path`; its stdout and stderr.
std::string RunReference(const std::string& path) {
  const std::string cmd = std::string("/usr/bin/python3 ") + NAS_SOURCE_DIR +
                          "/tests/worker/models/zero_cost_reference.py " +
                          path + " 2>&1";
  std::string output;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "popen failed";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) output.append(buf, n);
  pclose(p);
  return output;
}

// Not skipped without Python: CI has python3-torch, and a missing one must
// show.
TEST(ZeroCostTest, MatchesAnIndependentPyTorchImplementation) {
  ASSERT_EQ(access("/usr/bin/python3", X_OK), 0)
      << "/usr/bin/python3 (with python3-torch) is required";
  for (uint64_t seed : {1, 2, 3}) {
    TinyCase c = MakeTinyCase(seed);
    const std::string path =
        ::testing::TempDir() + "/zero_cost_" + std::to_string(seed) + ".pt";
    {
      c10::List<torch::Tensor> tensors;
      for (const torch::Tensor& t :
           {c.net->conv->weight, c.net->bn->weight, c.net->bn->bias,
            c.net->fc->weight, c.net->fc->bias, c.x, c.y}) {
        tensors.push_back(t.detach().clone());
      }
      const std::vector<char> bytes = torch::pickle_save(c10::IValue(tensors));
      std::ofstream(path, std::ios::binary)
          .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    const std::string out = RunReference(path);
    std::istringstream in(out);
    std::vector<double> want(4);
    for (double& v : want) {
      ASSERT_TRUE(in >> v) << "python3 with torch must run: " << out;
    }
    absl::StatusOr<std::map<std::string, double>> got = ComputeZeroCostProxies(
        *c.net, ForwardOf(c.net), ZeroCostProxyNames(), {{c.x, c.y}});
    NAS_ASSERT_OK(got);
    const std::vector<std::string>& names = ZeroCostProxyNames();
    for (size_t i = 0; i < names.size(); ++i) {
      const double g = got->at(names[i]);
      EXPECT_NEAR(g, want[i], 1e-6 * std::abs(want[i]))
          << names[i] << " seed " << seed;
    }
  }
}

TEST(ZeroCostTest, DeterministicAndLeavesTheModuleAsItWas) {
  TinyCase c = MakeTinyCase(7);
  c.net->eval();
  const std::vector<torch::Tensor> before = Snapshot(*c.net);
  const std::vector<ProxyBatch> batches = {{c.x, c.y},
                                           {c.x.flip(0), c.y.flip(0)}};
  absl::StatusOr<std::map<std::string, double>> first = ComputeZeroCostProxies(
      *c.net, ForwardOf(c.net), ZeroCostProxyNames(), batches);
  NAS_ASSERT_OK(first);
  EXPECT_EQ(first->size(), 4u);
  for (const auto& [name, v] : *first) EXPECT_TRUE(std::isfinite(v)) << name;
  ExpectSameState(*c.net, before);
  EXPECT_FALSE(c.net->is_training());

  TinyCase again = MakeTinyCase(7);
  again.net->eval();
  absl::StatusOr<std::map<std::string, double>> second = ComputeZeroCostProxies(
      *again.net, ForwardOf(again.net), ZeroCostProxyNames(),
      {{again.x, again.y}, {again.x.flip(0), again.y.flip(0)}});
  NAS_ASSERT_OK(second);
  EXPECT_EQ(*first, *second);

  // A subset, each proxy once.
  absl::StatusOr<std::map<std::string, double>> some = ComputeZeroCostProxies(
      *c.net, ForwardOf(c.net), {"snip", "snip", "synflow"}, batches);
  NAS_ASSERT_OK(some);
  EXPECT_EQ(some->size(), 2u);
  EXPECT_EQ(some->at("snip"), first->at("snip"));
  EXPECT_EQ(some->at("synflow"), first->at("synflow"));
}

}  // namespace
}  // namespace nas
