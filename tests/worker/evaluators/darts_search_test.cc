// A differentiable search through the torch evaluator (Trial.darts_search)
// on a few real Fashion-MNIST images: every epoch reports 6 x 5
// architecture weights that sum to 1 per edge and a derived nb201 cell, the
// result hands over the final state, and a search resumed from the
// checkpoint after epoch k reports exactly what the uninterrupted search
// reports for epochs k+1..N (the same seed); an unusable checkpoint starts
// afresh.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "common/spaces/nb201_space.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/evaluators/evaluator.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

constexpr char kFashionMnistDefaultDir[] = "/usr/share/datasets/fashion-mnist";

bool HaveRealData() {
  return access((std::string(kFashionMnistDefaultDir) +
                 "/train-images-idx3-ubyte.gz")
                    .c_str(),
                R_OK) == 0;
}

v1::Trial SearchTrial(const std::string& method, int epochs) {
  v1::Trial t;
  t.set_trial_id(21);
  t.set_attempt(1);
  t.mutable_genotype()->set_space("nb201");
  t.mutable_genotype()->set_canonical("darts-search-5");
  v1::SearchSpaceSpec* ss = t.mutable_search_space();
  ss->set_name("nb201");
  ss->mutable_nb201()->set_channels(4);
  ss->mutable_nb201()->set_cells_per_stage(1);
  v1::EvaluationSpec* e = t.mutable_evaluation();
  e->set_mode(v1::FULL);
  e->set_dataset("fashion_mnist");
  e->set_epochs(epochs);
  e->set_batch_size(32);
  e->set_learning_rate(0.05);
  e->set_momentum(0.9);
  e->set_weight_decay(3e-4);
  e->set_train_samples(192);
  e->set_val_samples(80);  // runs out before the training split: cycles
  e->set_test_samples(100);
  e->set_data_seed(3);
  v1::DartsSearch* ds = t.mutable_darts_search();
  ds->set_seed(5);
  v1::DartsOptions* o = ds->mutable_options();
  o->set_method(method);
  o->set_seeds(1);
  o->set_epochs(epochs);
  o->set_arch_learning_rate(3e-3);  // visible moves in a few steps
  o->set_arch_weight_decay(1e-3);
  o->set_beta_weight(2.0);
  o->set_checkpoint_every(1);
  return t;
}

struct SearchRun {
  absl::StatusOr<v1::EvaluationMetrics> metrics;
  std::vector<EpochProgress> epochs;
  std::optional<v1::SearchProgress> final;
};

SearchRun Search(Evaluator& ev, const v1::Trial& trial) {
  SearchRun run;
  run.metrics = ev.Evaluate(trial, [&](const EpochProgress& p) {
    run.epochs.push_back(p);
    return true;
  });
  run.final = ev.TakeSearch();
  return run;
}

class DartsSearchTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DartsSearchTest, ReportsEpochsAndResumesExactly) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDefaultDir;
  EvaluatorOptions eo;
  eo.verbose = true;
  std::unique_ptr<Evaluator> ev = MakeTorchEvaluator(eo).value();
  const int kEpochs = 3;
  const v1::Trial trial = SearchTrial(GetParam(), kEpochs);
  const SearchRun full = Search(*ev, trial);
  NAS_ASSERT_OK(full.metrics);
  ASSERT_EQ(full.epochs.size(), static_cast<size_t>(kEpochs));
  for (int i = 0; i < kEpochs; ++i) {
    const EpochProgress& p = full.epochs[i];
    EXPECT_EQ(p.epoch, i + 1);
    ASSERT_TRUE(p.search.has_value());
    ASSERT_EQ(p.search->arch_weights_size(), 30);
    for (int e = 0; e < 6; ++e) {
      double sum = 0;
      for (int k = 0; k < 5; ++k) sum += p.search->arch_weights(e * 5 + k);
      EXPECT_NEAR(sum, 1, 1e-6) << "epoch " << p.epoch << " edge " << e;
    }
    const v1::Genotype& g = p.search->derived();
    EXPECT_EQ(g.space(), "nb201");
    ASSERT_EQ(g.choices_size(), 6);
    const std::vector<int> choices(g.choices().begin(), g.choices().end());
    EXPECT_EQ(g.canonical(), Nb201Space().Canonical(choices).value());
    EXPECT_EQ(g.hash(), Nb201Space().ToProto(choices)->hash());
    EXPECT_FALSE(p.search->checkpoint().empty());  // checkpoint_every 1
    EXPECT_GT(p.val_accuracy, 0);
    EXPECT_GT(p.train_loss, 0);
  }
  // Alpha moved away from its 1e-3 initialisation.
  EXPECT_NE(full.epochs[0].search->arch_weights(0),
            full.epochs[2].search->arch_weights(0));
  EXPECT_EQ(full.metrics->epochs(), kEpochs);
  EXPECT_EQ(full.metrics->test_accuracy(), 0);  // never looked at
  EXPECT_DOUBLE_EQ(full.metrics->val_accuracy(),
                   full.epochs.back().val_accuracy);
  ASSERT_TRUE(full.final.has_value());
  EXPECT_TRUE(full.final->checkpoint().empty());
  EXPECT_EQ(full.final->derived().canonical(),
            full.epochs.back().search->derived().canonical());
  EXPECT_FALSE(ev->TakeSearch().has_value());  // handed over once

  // Resume from the checkpoint after epoch 1 (another evaluator: nothing
  // carried over in memory).
  const std::string& checkpoint = full.epochs[0].search->checkpoint();
  const std::string path = ::testing::TempDir() + "/darts_checkpoint";
  std::ofstream(path, std::ios::binary) << checkpoint;
  const std::string hash = Sha256Hex(checkpoint);
  std::unique_ptr<Evaluator> ev2 = MakeTorchEvaluator(eo).value();
  ev2->SetArtifactFetcher(
      [&](const std::string& h) -> absl::StatusOr<std::string> {
        if (h != hash) return absl::NotFoundError(h);
        return path;
      });
  v1::Trial resumed = trial;
  resumed.set_attempt(2);
  resumed.mutable_darts_search()->set_checkpoint_hash(hash);
  resumed.mutable_darts_search()->set_checkpoint_epoch(1);
  const SearchRun rest = Search(*ev2, resumed);
  NAS_ASSERT_OK(rest.metrics);
  ASSERT_EQ(rest.epochs.size(), static_cast<size_t>(kEpochs - 1));
  for (size_t i = 0; i < rest.epochs.size(); ++i) {
    const EpochProgress& a = full.epochs[i + 1];
    const EpochProgress& b = rest.epochs[i];
    EXPECT_EQ(b.epoch, a.epoch);
    EXPECT_EQ(b.train_loss, a.train_loss) << "epoch " << a.epoch;
    EXPECT_EQ(b.val_accuracy, a.val_accuracy) << "epoch " << a.epoch;
    for (int j = 0; j < 30; ++j) {
      EXPECT_EQ(b.search->arch_weights(j), a.search->arch_weights(j))
          << "epoch " << a.epoch << " weight " << j;
    }
    EXPECT_EQ(b.search->derived().canonical(), a.search->derived().canonical());
  }
  EXPECT_EQ(rest.metrics->epochs(), kEpochs);

  // A corrupt checkpoint: logged, and the search starts afresh.
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      << checkpoint.substr(0, checkpoint.size() / 2);
  const SearchRun afresh = Search(*ev2, resumed);
  NAS_ASSERT_OK(afresh.metrics);
  ASSERT_EQ(afresh.epochs.size(), static_cast<size_t>(kEpochs));
  EXPECT_EQ(afresh.epochs.back().train_loss, full.epochs.back().train_loss);
}

INSTANTIATE_TEST_SUITE_P(Methods, DartsSearchTest,
                         ::testing::Values("darts", "beta_darts"));

TEST(DartsSearchOptionsTest, BadMethodAndSpaceAreInvalidArguments) {
  std::unique_ptr<Evaluator> ev =
      MakeTorchEvaluator(EvaluatorOptions()).value();
  v1::Trial t = SearchTrial("gdas", 1);
  EXPECT_THAT(ev->Evaluate(t, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, "method"));
  t = SearchTrial("darts", 1);
  t.mutable_genotype()->set_space("mobilenet");
  t.mutable_search_space()->set_name("mobilenet");
  t.mutable_search_space()->clear_nb201();
  EXPECT_THAT(ev->Evaluate(t, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, "only nb201"));
}

}  // namespace
}  // namespace nas
