#include "worker/data/fashion_mnist.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace nas {
namespace {

// uint8 images -> normalized float32 N x 1 x H x W (a new tensor).
torch::Tensor NormalizeImages(const IdxImages& images) {
  torch::Tensor raw = torch::from_blob(
      const_cast<uint8_t*>(images.pixels.data()),
      {images.count, 1, images.rows, images.cols}, torch::kUInt8);
  return raw.to(torch::kFloat32)
      .div_(255.0)
      .sub_(kFashionMnistMean)
      .div_(kFashionMnistStd);
}

torch::Tensor LabelsTensor(const std::vector<uint8_t>& labels) {
  return torch::from_blob(const_cast<uint8_t*>(labels.data()),
                          {static_cast<int64_t>(labels.size())}, torch::kUInt8)
      .to(torch::kInt64);
}

absl::Status CheckPair(const IdxImages& images,
                       const std::vector<uint8_t>& labels, int classes,
                       const std::string& images_path,
                       const std::string& labels_path) {
  if (images.count != static_cast<int64_t>(labels.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", images_path, "' has ", images.count, " images but '",
                     labels_path, "' has ", labels.size(), " labels"));
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= classes) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", labels_path, "': label ", int{labels[i]}, " at ", i,
                       " is not below ", classes));
    }
  }
  return absl::OkStatus();
}

torch::Tensor IndexTensor(const std::vector<int64_t>& perm, int64_t begin,
                          int64_t end) {
  return torch::tensor(
      std::vector<int64_t>(perm.begin() + begin, perm.begin() + end),
      torch::kInt64);
}

}  // namespace

absl::StatusOr<DataSplits> FashionMnistLoader::Load(
    const DataOptions& options) const {
  constexpr int kClasses = 10;
  const std::string dir =
      options.dir.empty() ? kFashionMnistDefaultDir : options.dir;
  if (options.train_samples < 0 || options.val_samples < 0 ||
      options.test_samples < 0) {
    return absl::InvalidArgumentError(
        "train_samples, val_samples and test_samples must not be negative");
  }
  const std::string train_images_path = dir + "/train-images-idx3-ubyte.gz";
  const std::string train_labels_path = dir + "/train-labels-idx1-ubyte.gz";
  const std::string test_images_path = dir + "/t10k-images-idx3-ubyte.gz";
  const std::string test_labels_path = dir + "/t10k-labels-idx1-ubyte.gz";

  NAS_ASSIGN_OR_RETURN(IdxImages train_images,
                       ReadIdxImages(train_images_path));
  NAS_ASSIGN_OR_RETURN(std::vector<uint8_t> train_labels,
                       ReadIdxLabels(train_labels_path));
  NAS_RETURN_IF_ERROR(CheckPair(train_images, train_labels, kClasses,
                                train_images_path, train_labels_path));
  NAS_ASSIGN_OR_RETURN(IdxImages test_images, ReadIdxImages(test_images_path));
  NAS_ASSIGN_OR_RETURN(std::vector<uint8_t> test_labels,
                       ReadIdxLabels(test_labels_path));
  NAS_RETURN_IF_ERROR(CheckPair(test_images, test_labels, kClasses,
                                test_images_path, test_labels_path));
  if (test_images.rows != train_images.rows ||
      test_images.cols != train_images.cols) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", test_images_path, "' images are ", test_images.rows, "x",
        test_images.cols, " but '", train_images_path, "' images are ",
        train_images.rows, "x", train_images.cols));
  }

  const int64_t n_train_file = train_images.count;
  const int64_t val = options.val_samples > 0 ? options.val_samples : 10000;
  if (val >= n_train_file) {
    return absl::InvalidArgumentError(
        absl::StrCat("val_samples ", val, " leaves no training images (",
                     n_train_file, " in '", train_images_path, "')"));
  }
  const int64_t rest = n_train_file - val;
  if (options.train_samples > rest) {
    return absl::InvalidArgumentError(
        absl::StrCat("train_samples ", options.train_samples, " exceeds the ",
                     rest, " training images left after val_samples ", val));
  }
  const int64_t train =
      options.train_samples > 0 ? options.train_samples : rest;
  if (options.test_samples > test_images.count) {
    return absl::InvalidArgumentError(
        absl::StrCat("test_samples ", options.test_samples, " exceeds the ",
                     test_images.count, " images of '", test_images_path, "'"));
  }
  const int64_t test =
      options.test_samples > 0 ? options.test_samples : test_images.count;

  const std::vector<int64_t> perm = SeededPermutation(
      n_train_file,
      static_cast<uint64_t>(options.seed != 0 ? options.seed : 1));

  DataSplits s;
  s.shape.channels = 1;
  s.shape.height = train_images.rows;
  s.shape.width = train_images.cols;
  s.shape.classes = kClasses;
  s.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  s.norm_mean = kFashionMnistMean;
  s.norm_std = kFashionMnistStd;
  s.background = (0.0 - kFashionMnistMean) / kFashionMnistStd;
  {
    const torch::Tensor all_x = NormalizeImages(train_images);
    const torch::Tensor all_y = LabelsTensor(train_labels);
    s.val_index = IndexTensor(perm, 0, val);
    s.train_index = IndexTensor(perm, val, val + train);
    s.val_x = all_x.index_select(0, s.val_index);
    s.val_y = all_y.index_select(0, s.val_index);
    s.train_x = all_x.index_select(0, s.train_index);
    s.train_y = all_y.index_select(0, s.train_index);
  }
  {
    torch::Tensor x = NormalizeImages(test_images);
    torch::Tensor y = LabelsTensor(test_labels);
    if (test < test_images.count) {
      x = x.narrow(0, 0, test).clone();
      y = y.narrow(0, 0, test).clone();
    }
    s.test_x = std::move(x);
    s.test_y = std::move(y);
  }
  return s;
}

absl::StatusOr<const DatasetLoader*> GetDatasetLoader(absl::string_view name) {
  static const FashionMnistLoader* const kFashionMnist =
      new FashionMnistLoader();
  if (name.empty() || name == kFashionMnist->name()) return kFashionMnist;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown dataset '", name, "' (known: ", kFashionMnist->name(), ")"));
}

}  // namespace nas
