#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/spaces/nb201_space.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/evaluators/evaluator.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::StartsWith;

// Debian's dataset-fashion-mnist (spelled out: this file stays LibTorch-free).
constexpr char kFashionMnistDefaultDir[] = "/usr/share/datasets/fashion-mnist";

bool HaveRealData() {
  return access((std::string(kFashionMnistDefaultDir) +
                 "/train-images-idx3-ubyte.gz")
                    .c_str(),
                R_OK) == 0;
}

// A small, quick trial: channels 8, one cell per stage.
v1::Trial SmallTrial(const std::vector<int>& choices, int epochs,
                     int train_samples) {
  v1::Trial t;
  t.set_trial_id(12);
  t.set_attempt(1);
  absl::StatusOr<v1::Genotype> g = Nb201Space().ToProto(choices);
  EXPECT_TRUE(g.ok()) << g.status();
  *t.mutable_genotype() = *g;
  t.mutable_nb201()->set_channels(8);
  t.mutable_nb201()->set_cells_per_stage(1);
  v1::EvaluationSpec* e = t.mutable_evaluation();
  e->set_mode(v1::FULL);
  e->set_dataset("fashion_mnist");
  e->set_epochs(epochs);
  e->set_batch_size(32);
  e->set_learning_rate(0.1);
  e->set_momentum(0.9);
  e->set_weight_decay(5e-4);
  e->set_train_samples(train_samples);
  e->set_val_samples(1000);
  e->set_test_samples(1000);
  e->set_data_seed(3);
  return t;
}

const std::vector<int> kGenotype = {3, 3, 1, 1, 3, 1};

TEST(TorchEvaluatorTest, DeviceIsDescribed) {
  std::unique_ptr<Evaluator> ev =
      MakeTorchEvaluator(EvaluatorOptions()).value();
  EXPECT_THAT(ev->device(), StartsWith("cpu ("));
}

TEST(TorchEvaluatorTest, ShortTrainingRunLearns) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDefaultDir;
  std::unique_ptr<Evaluator> ev =
      MakeTorchEvaluator(EvaluatorOptions()).value();
  std::vector<EpochProgress> seen;
  const v1::Trial trial = SmallTrial(kGenotype, 1, 2000);
  absl::StatusOr<v1::EvaluationMetrics> m =
      ev->Evaluate(trial, [&seen](const EpochProgress& p) {
        seen.push_back(p);
        return true;
      });
  NAS_ASSERT_OK(m);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].epoch, 1);
  EXPECT_DOUBLE_EQ(seen[0].val_accuracy, m->val_accuracy());
  EXPECT_GT(m->val_accuracy(), 0.5);
  EXPECT_GT(m->test_accuracy(), 0.5);
  EXPECT_EQ(m->epochs(), 1);
  EXPECT_GT(m->train_loss(), 0);
  EXPECT_GT(m->train_seconds(), 0);
  EXPECT_GT(m->latency_ms(), 0);
  EXPECT_GE(m->latency_iqr_ms(), 0);
  EXPECT_GT(m->throughput_images_per_second(), 0);
  EXPECT_GT(m->train_images_per_second(), 0);
  // 2000 images in less than the whole training time's worth of seconds.
  EXPECT_GE(m->train_images_per_second() * m->train_seconds(), 2000 * 0.99);
  // The device, then the precision the trial trained in.
  EXPECT_EQ(m->device(), ev->device() + ", fp32");

  v1::SearchSpaceSpec spec;
  spec.set_name("nb201");
  *spec.mutable_nb201() = trial.nb201();
  absl::StatusOr<Cost> cost =
      Nb201Space().ComputeCost(kGenotype, spec, InputShape());
  NAS_ASSERT_OK(cost);
  EXPECT_EQ(m->params(), cost->params);
  EXPECT_EQ(m->macs(), cost->macs);
  EXPECT_GT(m->macs(), 0);
}

TEST(TorchEvaluatorTest, CallbackSeesEachEpochAndFalseStops) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDefaultDir;
  std::unique_ptr<Evaluator> ev =
      MakeTorchEvaluator(EvaluatorOptions()).value();
  std::vector<int> epochs;
  absl::StatusOr<v1::EvaluationMetrics> m = ev->Evaluate(
      SmallTrial(kGenotype, 4, 300), [&epochs](const EpochProgress& p) {
        epochs.push_back(p.epoch);
        return p.epoch < 2;
      });
  NAS_ASSERT_OK(m);
  EXPECT_THAT(epochs, ElementsAre(1, 2));
  EXPECT_EQ(m->epochs(), 2);

  epochs.clear();
  m = ev->Evaluate(SmallTrial(kGenotype, 3, 300),
                   [&epochs](const EpochProgress& p) {
                     epochs.push_back(p.epoch);
                     return true;
                   });
  NAS_ASSERT_OK(m);
  EXPECT_THAT(epochs, ElementsAre(1, 2, 3));
  EXPECT_EQ(m->epochs(), 3);
}

TEST(TorchEvaluatorTest, SameTrialSameResult) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDefaultDir;
  std::unique_ptr<Evaluator> ev =
      MakeTorchEvaluator(EvaluatorOptions()).value();
  const v1::Trial trial = SmallTrial({3, 2, 4, 1, 3, 0}, 1, 300);
  absl::StatusOr<v1::EvaluationMetrics> a = ev->Evaluate(trial, nullptr);
  absl::StatusOr<v1::EvaluationMetrics> b = ev->Evaluate(trial, nullptr);
  NAS_ASSERT_OK(a);
  NAS_ASSERT_OK(b);
  EXPECT_DOUBLE_EQ(a->val_accuracy(), b->val_accuracy());
  EXPECT_DOUBLE_EQ(a->train_loss(), b->train_loss());
}

TEST(TorchEvaluatorTest, TrainingOptionsChangeTheRunAndStillLearn) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDefaultDir;
  std::unique_ptr<Evaluator> ev =
      MakeTorchEvaluator(EvaluatorOptions()).value();
  const v1::Trial plain = SmallTrial(kGenotype, 1, 1000);
  v1::Trial augmented = plain;
  augmented.mutable_evaluation()->set_label_smoothing(0.1);
  augmented.mutable_evaluation()->set_random_crop_padding(2);
  augmented.mutable_evaluation()->set_horizontal_flip(true);
  augmented.mutable_evaluation()->set_nesterov(false);
  absl::StatusOr<v1::EvaluationMetrics> a = ev->Evaluate(plain, nullptr);
  absl::StatusOr<v1::EvaluationMetrics> b = ev->Evaluate(augmented, nullptr);
  absl::StatusOr<v1::EvaluationMetrics> b2 = ev->Evaluate(augmented, nullptr);
  NAS_ASSERT_OK(a);
  NAS_ASSERT_OK(b);
  NAS_ASSERT_OK(b2);
  EXPECT_NE(a->train_loss(), b->train_loss());
  EXPECT_DOUBLE_EQ(b->train_loss(), b2->train_loss());  // seeded augmentation
  EXPECT_DOUBLE_EQ(b->val_accuracy(), b2->val_accuracy());
  // Label smoothing keeps the loss above the smoothed target's entropy.
  EXPECT_GT(b->train_loss(), 0.3);
  EXPECT_GT(b->val_accuracy(), 0.4);

  v1::Trial bad = plain;
  bad.mutable_evaluation()->set_label_smoothing(1.0);
  EXPECT_THAT(ev->Evaluate(bad, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, "label_smoothing"));
}

// Prints the exact numbers of fixed-seed runs (for comparing code
// versions: the uint8 batch pipeline reproduced the numbers of the
// normalize-everything path bit for bit; see the h-train report).
TEST(TorchEvaluatorTest, PrintFixedSeedNumbers) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDefaultDir;
  std::unique_ptr<Evaluator> ev =
      MakeTorchEvaluator(EvaluatorOptions()).value();
  v1::Trial plain = SmallTrial(kGenotype, 2, 1000);
  v1::Trial augmented = plain;
  augmented.mutable_evaluation()->set_label_smoothing(0.1);
  augmented.mutable_evaluation()->set_random_crop_padding(2);
  augmented.mutable_evaluation()->set_horizontal_flip(true);
  v1::Trial final_training = plain;
  final_training.set_final_training(true);
  for (const v1::Trial* t : {&plain, &augmented, &final_training}) {
    absl::StatusOr<v1::EvaluationMetrics> m = ev->Evaluate(*t, nullptr);
    NAS_ASSERT_OK(m);
    std::printf("FIXED-SEED val_acc %.17g test_acc %.17g train_loss %.17g\n",
                m->val_accuracy(), m->test_accuracy(), m->train_loss());
  }
}

// Class-balanced metrics, class weights and the progress metric.
TEST(TorchEvaluatorTest, ClassMetricsWeightsAndProgressMetric) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDefaultDir;
  std::unique_ptr<Evaluator> ev =
      MakeTorchEvaluator(EvaluatorOptions()).value();
  v1::Trial t = SmallTrial(kGenotype, 1, 500);
  t.mutable_evaluation()->set_class_weighting("auto");
  t.mutable_evaluation()->set_progress_metric("val_recall:Trouser");
  std::vector<double> progress;
  absl::StatusOr<v1::EvaluationMetrics> m =
      ev->Evaluate(t, [&](const EpochProgress& p) {
        progress.push_back(p.val_accuracy);
        return true;
      });
  NAS_ASSERT_OK(m);
  ASSERT_EQ(m->val_class_recall_size(), 10);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_DOUBLE_EQ(progress[0], m->val_class_recall(1));
  EXPECT_GT(m->val_balanced_accuracy(), 0.3);
  EXPECT_GT(m->val_macro_f1(), 0.2);
  EXPECT_GT(m->test_balanced_accuracy(), 0.3);
  EXPECT_GT(m->test_macro_f1(), 0.2);
  double mean_recall = 0;
  for (double r : m->val_class_recall()) mean_recall += r / 10;
  EXPECT_NEAR(m->val_balanced_accuracy(), mean_recall, 1e-12);

  v1::Trial explicit_weights = SmallTrial(kGenotype, 1, 300);
  for (int c = 0; c < 10; ++c) {
    explicit_weights.mutable_evaluation()->add_class_weights(c == 6 ? 3 : 1);
  }
  NAS_EXPECT_OK(ev->Evaluate(explicit_weights, nullptr));
  explicit_weights.mutable_evaluation()->add_class_weights(1);
  EXPECT_THAT(ev->Evaluate(explicit_weights, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, "class_weights"));
  t.mutable_evaluation()->set_progress_metric("val_recall:Parka");
  EXPECT_THAT(ev->Evaluate(t, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, "Parka"));
  t.mutable_evaluation()->set_progress_metric("");
  t.mutable_evaluation()->set_class_weighting("sqrt");
  EXPECT_THAT(ev->Evaluate(t, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, "class_weighting"));
}

TEST(TorchEvaluatorTest, ErrorsNameTheProblem) {
  std::unique_ptr<Evaluator> ev =
      MakeTorchEvaluator(EvaluatorOptions()).value();
  v1::Trial t = SmallTrial(kGenotype, 1, 300);
  t.mutable_evaluation()->set_dataset("imagenet");
  EXPECT_THAT(ev->Evaluate(t, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, "imagenet"));

  t = SmallTrial(kGenotype, 1, 300);
  t.mutable_evaluation()->set_data_dir("/nonexistent/fm");
  EXPECT_THAT(ev->Evaluate(t, nullptr),
              StatusIs(absl::StatusCode::kNotFound, "/nonexistent/fm"));

  t = SmallTrial(kGenotype, 1, 300);
  t.mutable_genotype()->set_space("mobilenet");
  EXPECT_THAT(ev->Evaluate(t, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, "mobilenet"));

  if (!HaveRealData()) return;
  t = SmallTrial(kGenotype, 1, 300);
  t.mutable_genotype()->add_choices(1);
  EXPECT_THAT(ev->Evaluate(t, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, "6 choices"));
}

}  // namespace
}  // namespace nas
