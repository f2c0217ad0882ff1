// Mode ZERO_COST through the LibTorch evaluator (MakeTorchEvaluator, which
// routes it to worker/evaluators/zero_cost_evaluator.h) on real
// Fashion-MNIST: nb201 and mobilenet candidates, options and errors.
#include "worker/evaluators/zero_cost_evaluator.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "common/spaces/mobilenet_space.h"
#include "common/spaces/nb201_space.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/evaluators/evaluator.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

bool HaveRealData() {
  return access((std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz")
                    .c_str(),
                R_OK) == 0;
}

// An nb201 candidate (channels 8, one cell per stage) in mode ZERO_COST on
// Fashion-MNIST, default zero-cost options.
v1::Trial ZeroCostTrial(const std::vector<int>& choices) {
  v1::Trial t;
  t.set_trial_id(5);
  t.set_attempt(1);
  absl::StatusOr<v1::Genotype> g = Nb201Space().ToProto(choices);
  EXPECT_TRUE(g.ok()) << g.status();
  *t.mutable_genotype() = *g;
  t.mutable_nb201()->set_channels(8);
  t.mutable_nb201()->set_cells_per_stage(1);
  v1::EvaluationSpec* e = t.mutable_evaluation();
  e->set_mode(v1::ZERO_COST);
  e->set_dataset("fashion_mnist");
  e->set_train_samples(2000);
  e->set_val_samples(500);
  e->set_test_samples(500);
  e->set_data_seed(1);
  return t;
}

std::unique_ptr<Evaluator> CpuEvaluator() {
  EvaluatorOptions o;
  o.device = "cpu";
  o.verbose = false;
  return MakeTorchEvaluator(o).value();
}

void ExpectAllProxies(const v1::EvaluationMetrics& m) {
  for (const std::string& p : {"synflow", "jacob_cov", "snip", "grad_norm"}) {
    ASSERT_TRUE(m.named_metrics().contains(p)) << p;
    EXPECT_TRUE(std::isfinite(m.named_metrics().at(p))) << p;
  }
  EXPECT_EQ(m.named_metrics_size(), 4);
  EXPECT_GT(m.named_metrics().at("synflow"), 0);
  EXPECT_GT(m.named_metrics().at("snip"), 0);
  EXPECT_GT(m.named_metrics().at("grad_norm"), 0);
  EXPECT_GT(m.params(), 0);
  EXPECT_GT(m.macs(), 0);
  EXPECT_EQ(m.epochs(), 0);
  EXPECT_EQ(m.val_accuracy(), 0);
  EXPECT_EQ(m.latency_ms(), 0);
  EXPECT_GT(m.train_seconds(), 0);
  EXPECT_THAT(m.device(), ::testing::StartsWith("cpu"));
}

TEST(ZeroCostEvaluatorTest, Nb201CandidateOnFashionMnist) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDir;
  std::unique_ptr<Evaluator> ev = CpuEvaluator();
  const v1::Trial trial = ZeroCostTrial({3, 3, 1, 1, 3, 1});
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<v1::EvaluationMetrics> m = ev->Evaluate(trial, nullptr);
  NAS_ASSERT_OK(m);
  ExpectAllProxies(*m);
  EXPECT_LT(m->train_seconds(), 10);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                .count(),
            30);  // including loading the dataset

  // The space's analytic MACs, as FULL reports them.
  absl::StatusOr<Cost> cost = Nb201Space().ComputeCost(
      {3, 3, 1, 1, 3, 1},
      [&] {
        v1::SearchSpaceSpec s;
        *s.mutable_nb201() = trial.nb201();
        return s;
      }(),
      InputShape());
  NAS_ASSERT_OK(cost);
  EXPECT_EQ(m->macs(), cost->macs);

  // Deterministic: the same trial again, the same scores.
  absl::StatusOr<v1::EvaluationMetrics> again = ev->Evaluate(trial, nullptr);
  NAS_ASSERT_OK(again);
  for (const auto& [name, v] : m->named_metrics()) {
    EXPECT_EQ(again->named_metrics().at(name), v) << name;
  }
  EXPECT_EQ(again->params(), m->params());

  // A different architecture scores differently.
  absl::StatusOr<v1::EvaluationMetrics> other =
      ev->Evaluate(ZeroCostTrial({1, 0, 0, 4, 0, 2}), nullptr);
  NAS_ASSERT_OK(other);
  EXPECT_NE(other->named_metrics().at("synflow"),
            m->named_metrics().at("synflow"));
}

TEST(ZeroCostEvaluatorTest, OptionsChooseProxiesAndBatches) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDir;
  std::unique_ptr<Evaluator> ev = CpuEvaluator();
  v1::Trial t = ZeroCostTrial({3, 3, 1, 1, 3, 1});
  v1::ZeroCostOptions* z = t.mutable_evaluation()->mutable_zero_cost();
  z->add_proxies("snip");
  z->add_proxies("jacob_cov");
  z->set_batches(2);
  z->set_batch_size(16);
  absl::StatusOr<v1::EvaluationMetrics> m = ev->Evaluate(t, nullptr);
  NAS_ASSERT_OK(m);
  EXPECT_EQ(m->named_metrics_size(), 2);
  EXPECT_TRUE(m->named_metrics().contains("snip"));
  EXPECT_TRUE(std::isfinite(m->named_metrics().at("jacob_cov")));

  z->add_proxies("fisher");
  EXPECT_THAT(ev->Evaluate(t, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, "'fisher'"));
  z->clear_proxies();
  z->set_batches(-1);
  EXPECT_THAT(
      ev->Evaluate(t, nullptr),
      StatusIs(absl::StatusCode::kInvalidArgument, "zero_cost.batches"));
}

TEST(ZeroCostEvaluatorTest, MobilenetCandidateOnFashionMnist) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDir;
  std::unique_ptr<Evaluator> ev = CpuEvaluator();
  v1::Trial t = ZeroCostTrial({3, 3, 1, 1, 3, 1});
  const std::vector<int> choices = {0, 0, 0, 1, 1, 1, 0, 0,
                                    0, 0, 0, 1, 0, 0, 0, 0};
  absl::StatusOr<v1::Genotype> g = MobileNetSpace().ToProto(choices);
  NAS_ASSERT_OK(g);
  *t.mutable_genotype() = *g;
  t.clear_nb201();
  t.mutable_search_space()->set_name("mobilenet");
  t.mutable_search_space()->mutable_mobilenet()->set_width_multiplier(0.35);
  t.mutable_evaluation()->mutable_zero_cost()->set_batch_size(16);
  absl::StatusOr<v1::EvaluationMetrics> m = ev->Evaluate(t, nullptr);
  NAS_ASSERT_OK(m);
  ExpectAllProxies(*m);
}

TEST(ZeroCostEvaluatorTest, ResolvesDefaults) {
  absl::StatusOr<ZeroCostSettings> s =
      ResolveZeroCostSettings(v1::ZeroCostOptions());
  NAS_ASSERT_OK(s);
  EXPECT_THAT(s->proxies, ::testing::ElementsAre("synflow", "jacob_cov", "snip",
                                                 "grad_norm"));
  EXPECT_EQ(s->batches, 1);
  EXPECT_EQ(s->batch_size, 64);
  v1::ZeroCostOptions o;
  o.set_batch_size(-2);
  EXPECT_THAT(ResolveZeroCostSettings(o),
              StatusIs(absl::StatusCode::kInvalidArgument, "batch_size"));
}

}  // namespace
}  // namespace nas
