// TEMPORARY (branch h-train only): LoadDataset for format "idx" read into
// memory with the old IDX reader, splitting exactly as FashionMnistLoader
// did, until branch h-data's worker/data/dataset.cc (decode cache, every
// format) is merged; deleted then.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "worker/data/dataset.h"
#include "worker/data/fashion_mnist.h"

namespace nas {
namespace {

absl::StatusOr<std::shared_ptr<const ImageSet>> ReadIdx(
    const v1::DataSource& src, const v1::DataSpec& d) {
  NAS_ASSIGN_OR_RETURN(IdxImages images, ReadIdxImages(src.images()));
  NAS_ASSIGN_OR_RETURN(std::vector<uint8_t> labels,
                       ReadIdxLabels(src.labels()));
  if (images.count != static_cast<int64_t>(labels.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", src.images(), "' and '", src.labels(),
                     "' hold different counts"));
  }
  for (uint8_t l : labels) {
    if (l >= d.classes()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", src.labels(), "': label ", int{l},
                       " is not below ", d.classes()));
    }
  }
  auto set = std::make_shared<ImageSet>();
  set->images = torch::from_blob(images.pixels.data(),
                                 {images.count, 1, images.rows, images.cols},
                                 torch::kUInt8)
                    .clone();
  set->labels = torch::from_blob(labels.data(),
                                 {static_cast<int64_t>(labels.size())},
                                 torch::kUInt8)
                    .to(torch::kInt64);
  return std::shared_ptr<const ImageSet>(std::move(set));
}

torch::Tensor Range(const std::vector<int64_t>& v, int64_t b, int64_t e) {
  return torch::tensor(std::vector<int64_t>(v.begin() + b, v.begin() + e),
                       torch::kInt64);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Dataset>> LoadDataset(
    const v1::EvaluationSpec& spec, const DataLoadOptions& options) {
  const v1::DataSpec& d = spec.data();
  if (d.format() != "idx") {
    return absl::UnimplementedError(
        absl::StrCat("data.format '", d.format(), "' (not on this branch)"));
  }
  NAS_ASSIGN_OR_RETURN(std::shared_ptr<const ImageSet> train,
                       ReadIdx(d.train(), d));
  NAS_ASSIGN_OR_RETURN(std::shared_ptr<const ImageSet> test,
                       ReadIdx(d.test(), d));
  const int64_t n = train->size();
  const int64_t val = spec.val_samples() > 0
                          ? spec.val_samples()
                          : static_cast<int64_t>(
                                n * (d.validation_fraction() > 0
                                         ? d.validation_fraction()
                                         : 0.1));
  if (val >= n) {
    return absl::InvalidArgumentError(
        absl::StrCat("val_samples ", val, " leaves no training images"));
  }
  const int64_t rest = n - val;
  if (spec.train_samples() > rest) {
    return absl::InvalidArgumentError(absl::StrCat(
        "train_samples ", spec.train_samples(), " exceeds the ", rest,
        " training images left after val_samples ", val));
  }
  const int64_t n_train = spec.train_samples() > 0 ? spec.train_samples() : rest;
  if (spec.test_samples() > test->size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("test_samples ", spec.test_samples(), " exceeds the ",
                     test->size(), " test images"));
  }
  const int64_t n_test =
      spec.test_samples() > 0 ? spec.test_samples() : test->size();
  const std::vector<int64_t> perm = SeededPermutation(
      n, static_cast<uint64_t>(spec.data_seed() != 0 ? spec.data_seed() : 1));
  auto out = std::make_shared<Dataset>();
  out->val.parts.push_back({train, Range(perm, 0, val)});
  out->train.parts.push_back({train, Range(perm, val, val + n_train)});
  out->test.parts.push_back(
      {test, torch::arange(n_test, torch::TensorOptions().dtype(torch::kInt64))});
  out->shape.channels = 1;
  out->shape.height = static_cast<int>(train->images.size(2));
  out->shape.width = static_cast<int>(train->images.size(3));
  out->shape.classes = d.classes();
  for (int c = 0; c < d.classes(); ++c) {
    out->class_names.push_back(c < d.class_names_size() ? d.class_names(c)
                                                        : std::to_string(c));
  }
  out->mean.assign(d.mean().begin(), d.mean().end());
  out->std.assign(d.std().begin(), d.std().end());
  if (out->mean.empty()) out->mean = {0};
  if (out->std.empty()) out->std = {1};
  out->train_class_counts.assign(d.classes(), 0);
  const torch::Tensor counts =
      torch::bincount(out->train.Labels(), {}, d.classes());
  for (int c = 0; c < d.classes(); ++c) {
    out->train_class_counts[c] = counts[c].item<int64_t>();
  }
  out->description = absl::StrCat("idx (in memory, fallback loader): ",
                                   n_train, " train, ", val, " val, ", n_test,
                                   " test");
  if (options.on_progress) options.on_progress(n + test->size(), n + test->size());
  return std::shared_ptr<const Dataset>(std::move(out));
}

}  // namespace nas
