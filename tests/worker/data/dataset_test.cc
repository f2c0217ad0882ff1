// LoadDataset (LibTorch views, splits, normalization) on real files: the
// Fashion-MNIST preset against the files read directly, the formats written by
// the image_datasets fixture, the imbalanced RGB dataset.
#include "worker/data/dataset.h"

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/image_datasets.h"
#include "tests/testing/status_matchers.h"
#include "worker/data/idx.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

torch::Tensor Rows(const Split& s) {
  EXPECT_EQ(s.parts.size(), 1u);
  return s.parts[0].source->images.index_select(0, s.parts[0].index);
}
torch::Tensor RowLabels(const Split& s) {
  return s.parts[0].source->labels.index_select(0, s.parts[0].index);
}
torch::Tensor Normalized(const torch::Tensor& u8, double mean, double std) {
  return u8.to(torch::kFloat32).div_(255.0).sub_(mean).div_(std);
}

// The preset gives exactly the split the worker has always trained on
// (before the decode cache): validation = the first val_samples (default
// 10000) of SeededPermutation(60000, seed), training = the following
// train_samples (default: the rest) in that order, test = the first
// test_samples; pixels normalized as (x / 255 - 0.2860) / 0.3530 in float32.
// With and without a cache, for the default and a capped configuration.
TEST(LoadDatasetTest, FashionMnistPresetIsTheHistoricalSplit) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  auto train_images = ReadIdxImages(dir + "/train-images-idx3-ubyte.gz");
  auto train_labels = ReadIdxLabels(dir + "/train-labels-idx1-ubyte.gz");
  auto test_labels = ReadIdxLabels(dir + "/t10k-labels-idx1-ubyte.gz");
  NAS_ASSERT_OK(train_images);
  NAS_ASSERT_OK(train_labels);
  NAS_ASSERT_OK(test_labels);
  const torch::Tensor all_x = torch::from_blob(
      train_images->pixels.data(), {60000, 1, 28, 28}, torch::kUInt8);
  const torch::Tensor all_y =
      torch::from_blob(train_labels->data(), {60000}, torch::kUInt8)
          .to(torch::kInt64);
  const torch::Tensor test_y =
      torch::from_blob(test_labels->data(), {10000}, torch::kUInt8)
          .to(torch::kInt64);
  const std::string cache = nas::testing::FreshTempDir("dataset_preset");
  for (const std::string& cache_dir : {std::string(), cache}) {
    for (const auto& [train, val, test, seed] :
         {std::tuple<int, int, int, int>{0, 0, 0, 0}, {3000, 2000, 500, 7}}) {
      v1::EvaluationSpec spec;
      spec.set_dataset("fashion_mnist");
      spec.set_train_samples(train);
      spec.set_val_samples(val);
      spec.set_test_samples(test);
      spec.set_data_seed(seed);
      DataLoadOptions options;
      options.cache_dir = cache_dir;
      auto ds = LoadDataset(spec, options);
      NAS_ASSERT_OK(ds);
      const Dataset& d = **ds;
      const std::vector<int64_t> perm =
          SeededPermutation(60000, seed == 0 ? 1 : seed);
      const int64_t v = val == 0 ? 10000 : val;
      const int64_t t = train == 0 ? 60000 - v : train;
      const torch::Tensor val_index =
          torch::tensor(std::vector<int64_t>(perm.begin(), perm.begin() + v));
      const torch::Tensor train_index = torch::tensor(
          std::vector<int64_t>(perm.begin() + v, perm.begin() + v + t));
      EXPECT_TRUE(torch::equal(d.train.parts[0].index, train_index));
      EXPECT_TRUE(torch::equal(d.val.parts[0].index, val_index));
      EXPECT_TRUE(
          torch::equal(RowLabels(d.train), all_y.index_select(0, train_index)));
      EXPECT_TRUE(
          torch::equal(RowLabels(d.val), all_y.index_select(0, val_index)));
      EXPECT_TRUE(torch::equal(RowLabels(d.test),
                               test_y.narrow(0, 0, test == 0 ? 10000 : test)));
      ASSERT_EQ(d.mean.size(), 1u);
      EXPECT_EQ(d.mean[0], 0.2860);
      EXPECT_EQ(d.std[0], 0.3530);
      EXPECT_TRUE(torch::equal(
          Normalized(Rows(d.train), d.mean[0], d.std[0]),
          Normalized(all_x.index_select(0, train_index), 0.2860, 0.3530)));
      EXPECT_EQ(d.class_names.front(), "T-shirt/top");
      EXPECT_EQ(d.class_names.back(), "Ankle boot");
      EXPECT_EQ(d.shape.channels, 1);
      EXPECT_EQ(d.shape.height, 28);
      EXPECT_EQ(d.shape.classes, 10);
      int64_t total = 0;
      for (int64_t c : d.train_class_counts) total += c;
      EXPECT_EQ(total, d.train.parts[0].index.size(0));
    }
  }
}

// "auto" normalization is the per-channel mean and population std of the
// training split's pixels / 255.
TEST(LoadDatasetTest, AutoNormalizationEqualsHandComputation) {
  const std::string dir = nas::testing::FreshTempDir("dataset_auto");
  auto d = nas::testing::WriteImbalancedRgbDataset(dir, 12, 3);
  NAS_ASSERT_OK(d);
  v1::EvaluationSpec spec;
  *spec.mutable_data() = nas::testing::ImbalancedSpec(*d);
  DataLoadOptions options;
  auto ds = LoadDataset(spec, options);
  NAS_ASSERT_OK(ds);
  const torch::Tensor x = Rows((*ds)->train).to(torch::kFloat64).div(255.0);
  ASSERT_EQ((*ds)->mean.size(), 3u);
  for (int c = 0; c < 3; ++c) {
    const torch::Tensor ch = x.select(1, c);
    const double mean = ch.mean().item<double>();
    const double std = ch.std(/*unbiased=*/false).item<double>();
    EXPECT_NEAR((*ds)->mean[c], mean, 1e-12);
    EXPECT_NEAR((*ds)->std[c], std, 1e-9);
  }
  EXPECT_EQ((*ds)->class_names, d->class_names);
  EXPECT_EQ((*ds)->train_class_counts, d->train_counts);
  EXPECT_EQ((*ds)->val.parts[0].source->size(), 8 * 3 + 6 * 3);
  EXPECT_EQ(Rows((*ds)->train).sizes(),
            (std::vector<int64_t>{8 * 12 + 6 * 12, 3, 32, 32}));
}

// Every format of the fixture loads to the same tensors as the IDX files
// (PNG, CIFAR, npy bit-identical; JPEG q95 close).
TEST(LoadDatasetTest, FormatsGiveTheIdxTensors) {
  const std::string dir = nas::testing::FreshTempDir("dataset_formats");
  auto f = nas::testing::WriteFashionMnistFormats(dir + "/files", 300, 100);
  NAS_ASSERT_OK(f);
  auto load = [&](const std::string& format) {
    v1::EvaluationSpec spec;
    *spec.mutable_data() = nas::testing::FashionMnistFormatSpec(*f, format);
    spec.set_val_samples(50);
    DataLoadOptions options;
    options.cache_dir = dir + "/cache";
    auto ds = LoadDataset(spec, options);
    EXPECT_TRUE(ds.ok()) << format << ": " << ds.status();
    return *ds;
  };
  auto idx = load("idx");
  for (const std::string format : {"png", "cifar10", "npy", "jpeg"}) {
    auto other = load(format);
    EXPECT_TRUE(
        torch::equal(other->train.parts[0].index, idx->train.parts[0].index));
    EXPECT_TRUE(torch::equal(RowLabels(other->train), RowLabels(idx->train)));
    EXPECT_TRUE(torch::equal(RowLabels(other->test), RowLabels(idx->test)));
    if (format != "jpeg") {
      EXPECT_TRUE(torch::equal(Rows(other->train), Rows(idx->train))) << format;
      EXPECT_TRUE(torch::equal(Rows(other->test), Rows(idx->test))) << format;
    } else {
      const double mad = (Rows(other->train).to(torch::kFloat64) -
                          Rows(idx->train).to(torch::kFloat64))
                             .abs()
                             .mean()
                             .item<double>();
      std::printf("JPEG q95 mean abs diff: %.4f\n", mad);
      EXPECT_LT(mad, 1.5);
    }
  }
}

TEST(LoadDatasetTest, PathOutsideTheRootsIsPermissionDenied) {
  v1::EvaluationSpec spec;
  spec.mutable_data()->set_format("image_folder");
  spec.mutable_data()->mutable_train()->set_dir("/etc");
  spec.mutable_data()->mutable_test()->set_dir("/etc");
  spec.mutable_data()->set_height(28);
  spec.mutable_data()->set_width(28);
  spec.mutable_data()->set_channels(1);
  spec.mutable_data()->set_classes(10);
  DataLoadOptions options;
  options.allowed_roots = {"/usr/share/datasets"};
  EXPECT_THAT(LoadDataset(spec, options),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "evaluation.data.train.dir: /etc is outside the "
                       "worker's data roots (/usr/share/datasets)"));
}

}  // namespace
}  // namespace nas
