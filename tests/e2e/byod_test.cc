// End to end with the user's own data (issue 17): an image-folder dataset
// that is not Fashion-MNIST (3 x 32 x 32, 7 classes, 8:1 imbalance, built
// by tests/testing/image_datasets.h from real images) searched by a real
// controller and a real worker over loopback gRPC, with class weights and a
// per-class recall objective; and a spec naming data outside the worker's
// --data_root refused by the worker. Assertions read the database with
// psql and the exported model with Debian's Python.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/spaces/nb201_space.h"
#include "common/spaces/search_space.h"
#include "gtest/gtest.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "tests/testing/cluster.h"
#include "tests/testing/image_datasets.h"
#include "tests/testing/process.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::Binary;

class ByodCluster : public ::testing::Test, public testing::LocalCluster {
 protected:
  void SetUp() override {
    NAS_ASSERT_OK(Start("byod"));
    ASSERT_TRUE(StartController());
    data_dir_ = dir() + "/data";
    absl::StatusOr<testing::ImbalancedDataset> d =
        testing::WriteImbalancedRgbDataset(data_dir_);
    NAS_ASSERT_OK(d.status());
    data_ = *d;
  }
  void TearDown() override { Finish(HasFailure()); }

  // The evaluation block for the fixture's dataset (FULL training, class
  // weights from the class frequencies).
  std::string Evaluation(const std::string& train_dir) const {
    return absl::StrCat(
        "\n  mode: FULL\n  epochs: 3\n  batch_size: 32\n"
        "  learning_rate: 0.05\n  class_weighting: auto\n"
        "  data:\n    format: image_folder\n"
        "    train: {dir: ",
        train_dir, "}\n    validation: {dir: ", data_.validation_dir,
        "}\n    test: {dir: ", data_.test_dir,
        "}\n    height: 32\n    width: 32\n    channels: 3\n"
        "    classes: 7\n    class_names: [",
        absl::StrJoin(data_.class_names, ", "), "]\n    normalization: auto");
  }

  std::string data_dir_;
  testing::ImbalancedDataset data_;
};

TEST_F(ByodCluster, ImbalancedRgbFoldersSearchWithARecallObjective) {
  ASSERT_EQ(data_.class_names.size(), 7u);
  const auto defect =
      std::find(data_.class_names.begin(), data_.class_names.end(), "defect");
  ASSERT_NE(defect, data_.class_names.end());
  const int defect_index = static_cast<int>(defect - data_.class_names.begin());
  StartWorker("w1", {"--data_root=" + data_dir_});
  WaitForWorkers(1);
  testing::SpecYaml spec;
  spec.name = "byod";
  spec.search_space = testing::TinyNb201(8);
  spec.strategy = "{name: random, seed: 5}";
  spec.objective = "{metric: \"val_recall:defect\"}";
  spec.budget = testing::TrialBudget(3, 1);
  spec.lease_seconds = 60;
  spec.evaluation = Evaluation(data_.train_dir);
  spec.extra = "keep_models: 3\n";
  v1::Experiment e;
  grpc::Status s = Create(spec.Yaml(), &e);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << spec.Yaml();
  ASSERT_TRUE(WaitFinished(e.id(), absl::Minutes(10)));
  const v1::Experiment done = Get(e.id());
  ASSERT_EQ(done.state(), v1::EXPERIMENT_SUCCEEDED) << done.error();
  EXPECT_EQ(done.counts().trials_succeeded(), 3);

  // Every candidate: MACs of a 3 x 32 x 32, 7-class network (not of
  // Fashion-MNIST's 1 x 28 x 28, 10 classes), and seven per-class recalls.
  const std::vector<v1::Candidate> candidates = Candidates(e.id());
  ASSERT_EQ(candidates.size(), 3u);
  v1::SearchSpaceSpec space;
  space.set_name("nb201");
  space.mutable_nb201()->set_channels(8);
  space.mutable_nb201()->set_cells_per_stage(1);
  const Nb201Space nb201;
  double best_recall = -1;
  for (const v1::Candidate& c : candidates) {
    const std::vector<int> choices(c.genotype().choices().begin(),
                                   c.genotype().choices().end());
    const absl::StatusOr<Cost> rgb =
        nb201.ComputeCost(choices, space, InputShape{3, 32, 32, 7});
    const absl::StatusOr<Cost> grey =
        nb201.ComputeCost(choices, space, InputShape{1, 28, 28, 10});
    NAS_ASSERT_OK(rgb.status());
    NAS_ASSERT_OK(grey.status());
    EXPECT_EQ(c.macs(), rgb->macs) << c.genotype().canonical();
    EXPECT_NE(c.macs(), grey->macs);
    EXPECT_EQ(c.metrics().macs(), rgb->macs);
    ASSERT_EQ(c.metrics().val_class_recall_size(), 7) << c.DebugString();
    double sum = 0;
    for (double r : c.metrics().val_class_recall()) {
      EXPECT_GE(r, 0);
      EXPECT_LE(r, 1);
      sum += r;
    }
    EXPECT_NEAR(c.metrics().val_balanced_accuracy(), sum / 7, 1e-9);
    EXPECT_GT(c.metrics().val_macro_f1(), 0);
    best_recall =
        std::max(best_recall, c.metrics().val_class_recall(defect_index));
  }
  // The best candidate is the one with the best recall of "defect".
  ASSERT_TRUE(done.has_best());
  EXPECT_EQ(done.best().metrics().val_class_recall(defect_index), best_recall);
  // Learnt something beyond the majority class (balanced accuracy of a
  // majority-only classifier is 1/7).
  EXPECT_GT(done.best().metrics().val_balanced_accuracy(), 0.3);

  // The worker decoded each folder once into its cache and weighted the
  // loss by inverse class frequency.
  const std::string log = testing::ReadFile(dir() + "/w1.log");
  EXPECT_NE(log.find("decoding"), std::string::npos) << log;

  // The exported model: 3 x 32 x 32 input, the real class names, three
  // per-channel normalization values, seven logits.
  const std::string model = dir() + "/best.pt";
  std::string out;
  ASSERT_EQ(
      testing::RunCommand(
          absl::StrCat(Binary("client/nasctl"),
                       " --controller=127.0.0.1:", port(), " export ", e.id(),
                       " ", done.best().id(), " -f ", model, " 2>&1"),
          &out),
      0)
      << out;
  ASSERT_EQ(
      testing::RunCommand(
          absl::StrCat("/usr/bin/python3 ", NAS_SOURCE_DIR,
                       "/tests/e2e/check_export_meta.py ", model, " 2>&1"),
          &out),
      0)
      << out;
  EXPECT_NE(out.find("\"input_shape\": [1, 3, 32, 32]"), std::string::npos)
      << out;
  EXPECT_NE(out.find("\"logits\": 7"), std::string::npos) << out;
  EXPECT_NE(out.find("\"normalization_channels\": 3"), std::string::npos)
      << out;
  for (const std::string& name : data_.class_names) {
    EXPECT_NE(out.find("\"" + name + "\""), std::string::npos) << out;
  }
}

TEST_F(ByodCluster, DataOutsideTheWorkersDataRootIsRefused) {
  // The worker may read only its own data root; the spec names a folder
  // elsewhere (the fixture's train folder, outside the root given).
  StartWorker("w1", {"--data_root=" + dir() + "/elsewhere"});
  WaitForWorkers(1);
  testing::SpecYaml spec;
  spec.name = "byod-outside";
  spec.search_space = testing::TinyNb201(4);
  spec.strategy = "{name: random, seed: 5}";
  spec.budget = testing::TrialBudget(1, 1);
  spec.lease_seconds = 30;
  spec.max_attempts = 1;
  spec.evaluation = Evaluation(data_.train_dir);
  v1::Experiment e;
  grpc::Status s = Create(spec.Yaml(), &e);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(WaitFinished(e.id(), absl::Minutes(3)));
  const v1::Experiment done = Get(e.id());
  EXPECT_EQ(done.state(), v1::EXPERIMENT_FAILED);
  const std::string reason = Psql(absl::StrCat(
      "SELECT reason FROM candidates WHERE experiment_id=", e.id()));
  EXPECT_NE(reason.find("outside"), std::string::npos) << reason;
  EXPECT_NE(reason.find("evaluation.data."), std::string::npos) << reason;
  // Nothing of the refused folder was decoded.
  const std::string log = testing::ReadFile(dir() + "/w1.log");
  EXPECT_EQ(log.find("decoding"), std::string::npos) << log;
}

}  // namespace
}  // namespace nas
