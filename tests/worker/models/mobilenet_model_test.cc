#include "worker/models/mobilenet_model.h"

#include <torch/csrc/autograd/function.h>
#include <unistd.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/spaces/mobilenet_space.h"
#include "common/spaces/nb201_space.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/data/dataset.h"
#include "worker/evaluators/evaluator.h"
#include "worker/models/model_builder.h"
#include "worker/models/nb201_model.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

// MACs of a traced forward pass at batch 1, per the convention of
// common/spaces/nb201_space.h, computed from the real tensor shapes.
int64_t TraceMacs(const std::vector<LayerTrace>& trace) {
  int64_t macs = 0;
  for (const LayerTrace& t : trace) {
    switch (t.kind) {
      case LayerTrace::kConv:  // Cout*Hout*Wout * Cin*k*k/groups
        macs += t.out[1] * t.out[2] * t.out[3] * t.in[1] * t.kernel * t.kernel /
                t.groups;
        break;
      case LayerTrace::kLinear:
        macs += t.in[1] * t.out[1];
        break;
      case LayerTrace::kGlobalPool:
        macs += t.in[1] * t.in[2] * t.in[3];
        break;
    }
  }
  return macs;
}

// MACs of the forward pass that produced `out` (batch 1), by walking its
// autograd graph, independently of any model code: convolution
// Cout*Hout*Wout * (weight's Cin/groups*k*k), addmm (linear) in*out, mean
// (global pool) C*H*W of its input, avg_pool2d (in/out area) per output
// element, which is the kernel area for non-overlapping pools only. Every
// conv weight must require grad (set it on weight buffers first).
int64_t AutogradMacs(const torch::Tensor& out) {
  using torch::autograd::Edge;
  using torch::autograd::Node;
  // (InputMetadata's shape accessor is private in 1.13: read it through
  // zeros_like.)
  auto meta_shape = [](const torch::autograd::InputMetadata& m) {
    return m.zeros_like().sizes().vec();
  };
  auto shape = [&](const Edge& e) -> std::vector<int64_t> {
    if (!e.is_valid()) return {};
    return meta_shape(e.function->input_metadata(e.input_nr));
  };
  auto tail = [](const std::vector<int64_t>& v) {
    int64_t p = 1;
    for (size_t i = 1; i < v.size(); ++i) p *= v[i];
    return p;
  };
  int64_t macs = 0;
  std::set<Node*> seen;
  std::vector<Node*> stack = {out.grad_fn().get()};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (n == nullptr || !seen.insert(n).second) continue;
    const std::string name = n->name();
    const std::vector<int64_t> o = meta_shape(n->input_metadata(0));
    if (name == "ConvolutionBackward0") {
      const std::vector<int64_t> w = shape(n->next_edge(1));
      EXPECT_FALSE(w.empty()) << "conv weight without grad";
      macs += tail(o) * tail(w);
    } else if (name == "AddmmBackward0") {
      macs += o[1] * shape(n->next_edge(1))[1];
    } else if (name == "MeanBackward1") {
      macs += tail(shape(n->next_edge(0)));
    } else if (name == "AvgPool2DBackward0") {
      const std::vector<int64_t> in = shape(n->next_edge(0));
      macs += tail(o) * (in[2] * in[3]) / (o[2] * o[3]);
    }
    for (const Edge& e : n->next_edges()) stack.push_back(e.function.get());
  }
  return macs;
}

// Option sets the exactness tests sweep.
std::vector<v1::SearchSpaceSpec> OptionSets() {
  std::vector<v1::SearchSpaceSpec> out(3);
  for (auto& s : out) s.set_name("mobilenet");
  out[1].mutable_mobilenet()->set_width_multiplier(0.35);
  v1::MobileNetOptions* o = out[2].mutable_mobilenet();
  o->set_width_multiplier(0.75);
  o->set_channel_divisor(1);
  o->set_stem_channels(5);
  o->set_stem_stride(2);
  for (int c : {7, 7, 12, 12}) o->add_stage_channels(c);
  for (int s : {2, 1, 2, 1}) o->add_stage_strides(s);
  o->set_head_channels(33);
  return out;
}

MobileNetNetwork Build(const std::vector<int>& g,
                       const v1::SearchSpaceSpec& spec,
                       const InputShape& input) {
  absl::StatusOr<MobileNetShape> shape = ResolveMobileNet(spec);
  EXPECT_TRUE(shape.ok()) << shape.status();
  absl::StatusOr<MobileNetNetwork> m = BuildMobileNetNetwork(g, *shape, input);
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

TEST(MobileNetModelTest, ForwardGivesLogitsForRandomGenotypes) {
  MobileNetSpace space;
  std::mt19937_64 rng(42);
  torch::manual_seed(0);
  v1::SearchSpaceSpec spec = OptionSets()[1];
  for (const InputShape& input :
       {InputShape{1, 28, 28, 10}, InputShape{3, 32, 32, 10}}) {
    for (int i = 0; i < 6; ++i) {
      const std::vector<int> g = space.Sample(rng);
      MobileNetNetwork m = Build(g, spec, input);
      const torch::Tensor out = m->forward(
          torch::randn({3, input.channels, input.height, input.width}));
      EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 10}))
          << *space.Canonical(g);
      EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
    }
  }
}

TEST(MobileNetModelTest, ParamsAndMacsMatchAnalyticCostExactly) {
  MobileNetSpace space;
  std::mt19937_64 rng(7);
  const std::vector<v1::SearchSpaceSpec> specs = OptionSets();
  const std::vector<InputShape> inputs = {
      {1, 28, 28, 10}, {3, 32, 32, 10}, {2, 13, 9, 7}};
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 200; ++i) {
    const std::vector<int> g = space.Sample(rng);
    const v1::SearchSpaceSpec& spec = specs[i % specs.size()];
    const InputShape& input = inputs[(i / specs.size()) % inputs.size()];
    absl::StatusOr<Cost> cost = space.ComputeCost(g, spec, input);
    NAS_ASSERT_OK(cost);
    MobileNetNetwork m = Build(g, spec, input);
    m->eval();
    EXPECT_EQ(CountParameters(*m), cost->params)
        << *space.Canonical(g) << " options " << spec.ShortDebugString();
    std::vector<LayerTrace> trace;
    m->set_trace(&trace);
    m->forward(torch::randn({1, input.channels, input.height, input.width}));
    m->set_trace(nullptr);
    EXPECT_EQ(TraceMacs(trace), cost->macs)
        << *space.Canonical(g) << " options " << spec.ShortDebugString()
        << " input " << input.channels << "x" << input.height << "x"
        << input.width;
  }
}

TEST(MobileNetModelTest, AutogradMacsAgreeForMobileNet) {
  MobileNetSpace space;
  std::mt19937_64 rng(5);
  const v1::SearchSpaceSpec spec = OptionSets()[2];
  const InputShape input{3, 32, 32, 10};
  for (int i = 0; i < 20; ++i) {
    const std::vector<int> g = space.Sample(rng);
    absl::StatusOr<Cost> cost = space.ComputeCost(g, spec, input);
    NAS_ASSERT_OK(cost);
    MobileNetNetwork m = Build(g, spec, input);
    EXPECT_EQ(AutogradMacs(m->forward(torch::randn({1, 3, 32, 32}))),
              cost->macs)
        << *space.Canonical(g);
  }
}

// nb201: the module skips ops into nodes that cannot reach the output and
// ComputeCost does not count them either, so executed MACs match exactly
// (see nb201_space.h).
TEST(MobileNetModelTest, Nb201MacsMatchAnalyticCost) {
  Nb201Space space;
  std::mt19937_64 rng(13);
  v1::SearchSpaceSpec spec;
  spec.set_name("nb201");
  spec.mutable_nb201()->set_channels(4);
  spec.mutable_nb201()->set_cells_per_stage(1);
  const InputShape input;
  int connected = 0;
  for (int i = 0; i < 200; ++i) {
    const std::vector<int> g = space.Sample(rng);
    absl::StatusOr<Cost> cost = space.ComputeCost(g, spec, input);
    NAS_ASSERT_OK(cost);
    absl::StatusOr<std::shared_ptr<CandidateNet>> net =
        BuildCandidateNet("nb201", g, spec, input);
    NAS_ASSERT_OK(net);
    for (auto& b : (*net)->named_buffers()) {
      if (b.key().find("box_weight") != std::string::npos) {
        b.value().requires_grad_(true);
      }
    }
    const int64_t macs =
        AutogradMacs((*net)->forward(torch::randn({1, 1, 28, 28})));
    // A cell with no path of non-none edges from its input to its output
    // outputs zeros made afresh, which cuts the autograd graph: the counter
    // then sees only the ops after the last such cell (fewer MACs). Every
    // other genotype must match exactly.
    std::array<bool, 4> from_input{};
    from_input[0] = true;
    for (int e = 0; e < kNb201Edges; ++e) {
      if (g[e] != 0 && from_input[kNb201EdgeNodes[e][1]]) {
        from_input[kNb201EdgeNodes[e][0]] = true;
      }
    }
    if (from_input[3]) {
      ++connected;
      EXPECT_EQ(macs, cost->macs) << *space.Canonical(g);
    } else {
      EXPECT_LT(macs, cost->macs) << *space.Canonical(g);
    }
  }
  EXPECT_GT(connected, 150);
}

TEST(MobileNetModelTest, Nb201ParamsMatchFor200RandomGenotypes) {
  Nb201Space space;
  std::mt19937_64 rng(9);
  v1::SearchSpaceSpec spec;
  spec.set_name("nb201");
  spec.mutable_nb201()->set_channels(8);
  spec.mutable_nb201()->set_cells_per_stage(2);
  for (int i = 0; i < 200; ++i) {
    const std::vector<int> g = space.Sample(rng);
    absl::StatusOr<Cost> cost = space.ComputeCost(g, spec, InputShape());
    NAS_ASSERT_OK(cost);
    absl::StatusOr<std::shared_ptr<CandidateNet>> net =
        BuildCandidateNet("nb201", g, spec, InputShape());
    NAS_ASSERT_OK(net);
    EXPECT_EQ(CountParameters(**net), cost->params) << *space.Canonical(g);
  }
}

TEST(MobileNetModelTest, BuilderDispatchesAndRejects) {
  MobileNetSpace space;
  std::mt19937_64 rng(1);
  v1::SearchSpaceSpec spec;
  absl::StatusOr<std::shared_ptr<CandidateNet>> net =
      BuildCandidateNet("mobilenet", space.Sample(rng), spec, InputShape());
  NAS_ASSERT_OK(net);
  EXPECT_EQ((*net)->forward(torch::randn({2, 1, 28, 28})).sizes(),
            (std::vector<int64_t>{2, 10}));
  EXPECT_THAT(BuildCandidateNet("darts", {}, spec, InputShape()),
              StatusIs(absl::StatusCode::kInvalidArgument, "'darts'"));
  EXPECT_THAT(BuildCandidateNet("mobilenet", {0, 1}, spec, InputShape()),
              StatusIs(absl::StatusCode::kInvalidArgument, "16 choices"));
  spec.mutable_mobilenet()->set_stem_stride(3);
  EXPECT_THAT(
      BuildCandidateNet("mobilenet", space.Sample(rng), spec, InputShape()),
      StatusIs(absl::StatusCode::kInvalidArgument, "stem_stride"));
  EXPECT_THAT(BuildMobileNetNetwork(space.Sample(rng), MobileNetShape(),
                                    InputShape{1, 28, 28, 1}),
              StatusIs(absl::StatusCode::kInvalidArgument, ">= 2 classes"));
}

TEST(MobileNetModelTest, ShortTrainingRunOnFashionMnistLearns) {
  if (access((std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz")
                 .c_str(),
             R_OK) != 0) {
    GTEST_SKIP() << "no " << kFashionMnistDir;
  }
  MobileNetSpace space;
  absl::StatusOr<std::vector<int>> g =
      space.Parse("k3e3d2se0-k5e3d2se1-k3e4d2se0-k3e3d2se0");
  NAS_ASSERT_OK(g);
  v1::Trial t;
  t.set_trial_id(1);
  t.set_attempt(1);
  absl::StatusOr<v1::Genotype> genotype = space.ToProto(*g);
  NAS_ASSERT_OK(genotype);
  *t.mutable_genotype() = *genotype;
  v1::SearchSpaceSpec* ss = t.mutable_search_space();
  ss->set_name("mobilenet");
  ss->mutable_mobilenet()->set_width_multiplier(0.5);
  v1::EvaluationSpec* e = t.mutable_evaluation();
  e->set_mode(v1::FULL);
  e->set_dataset("fashion_mnist");
  e->set_epochs(1);
  e->set_batch_size(32);
  e->set_learning_rate(0.1);
  e->set_momentum(0.9);
  e->set_weight_decay(5e-4);
  e->set_train_samples(2000);
  e->set_val_samples(1000);
  e->set_test_samples(1000);
  e->set_data_seed(3);
  std::unique_ptr<Evaluator> ev =
      MakeTorchEvaluator(EvaluatorOptions()).value();
  absl::StatusOr<v1::EvaluationMetrics> m = ev->Evaluate(t, nullptr);
  NAS_ASSERT_OK(m);
  EXPECT_GT(m->val_accuracy(), 0.5);
  absl::StatusOr<Cost> cost = space.ComputeCost(*g, *ss, InputShape());
  NAS_ASSERT_OK(cost);
  EXPECT_EQ(m->params(), cost->params);
  EXPECT_EQ(m->macs(), cost->macs);

  // A mismatched search_space name is refused.
  ss->set_name("nb201");
  EXPECT_THAT(ev->Evaluate(t, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, "does not match"));
}

}  // namespace
}  // namespace nas
