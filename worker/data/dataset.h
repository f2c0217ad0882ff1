// A dataset as the worker trains on it: uint8 images at the training
// resolution (memory-mapped from the worker's decode cache, so data larger
// than memory works), int64 labels, the train/validation/test splits as
// index lists into those images, and what the spec says about them (shape,
// class names, per-channel normalization). Built once per dataset by
// LoadDataset from an EvaluationSpec (docs/SPEC.md); immutable afterwards
// and safe to share between threads.
#ifndef NAS_WORKER_DATA_DATASET_H_
#define NAS_WORKER_DATA_DATASET_H_

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spaces/search_space.h"
#include "nas/v1/architecture.pb.h"

namespace nas {

// Decoded images of one source (a training file, a validation folder, a
// test file): `images` is uint8 N x C x H x W on the CPU, `labels` int64 N
// in [0, classes). The tensors may view a memory mapping; `keepalive` owns
// it (and whatever else the tensors' storage needs).
struct ImageSet {
  torch::Tensor images;
  torch::Tensor labels;
  std::shared_ptr<const void> keepalive;
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

// Images of a split: the concatenation, in order, of `index` rows of each
// part's source (two parts when a final re-training joins the training and
// a separate validation set; one otherwise).
struct Split {
  struct Part {
    std::shared_ptr<const ImageSet> source;
    torch::Tensor index;  // int64 positions into source, on the CPU
  };
  std::vector<Part> parts;

  int64_t size() const;
  // Labels of the whole split, int64, on the CPU.
  torch::Tensor Labels() const;
  // uint8 images (B x C x H x W) and int64 labels of split positions
  // `positions` (int64, any order, each in [0, size())), gathered on the
  // CPU. A defined, contiguous uint8 `*images` of exactly that shape is
  // written in place (its storage reused); otherwise it is replaced. Safe
  // to call from several threads at once (with distinct outputs).
  void Gather(const torch::Tensor& positions, torch::Tensor* images,
              torch::Tensor* labels) const;
  // This split followed by `other` (same shape).
  Split Concat(const Split& other) const;
};

struct Dataset {
  Split train, val, test;
  // Channels, height, width and classes as trained (the spec's).
  InputShape shape;
  // Class names by index (shape.classes of them).
  std::vector<std::string> class_names;
  // Per-channel normalization of pixels scaled to [0, 1]:
  // (x - mean[c]) / std[c]; shape.channels values each.
  std::vector<double> mean, std;
  // Images of each class in `train` (shape.classes counts).
  std::vector<int64_t> train_class_counts;
  // One line for logs: format, sizes, cache file(s).
  std::string description;
};

// Where Debian's dataset-fashion-mnist puts its files: the default
// evaluation.data_dir of the fashion_mnist preset (common/spec/defaults.h).
inline constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

// Where and how the worker keeps decoded datasets.
struct DataLoadOptions {
  // Directory of the decode cache (created when missing). Shared safely by
  // workers on one node. Empty: decode into memory, no cache.
  std::string cache_dir;
  // Roots the spec's paths must lie under (after resolving symlinks and
  // ".."); a path elsewhere is PermissionDenied naming the field. Empty =
  // any path (tests only; the worker always passes its --data_root list).
  std::vector<std::string> allowed_roots;
  // Decode threads. 0 = hardware concurrency.
  int threads = 0;
  // Called during a one-time decode with images done and total (from one
  // thread at a time, at most a few times a second, and once at the end).
  std::function<void(int64_t done, int64_t total)> on_progress;
  bool verbose = false;
};

// Loads (decoding into the cache on first use) the dataset of `spec`
// (spec.data, or the preset spec.dataset filled in by the spec's
// defaults). Errors name the file and what is wrong: NotFound for a
// missing file, DataLoss for a corrupt or truncated one (an undecodable
// image, a short record), InvalidArgument for data that disagrees with the
// spec (label out of range, wrong channels, an empty class folder, a class
// folder count that is not data.classes), PermissionDenied for a path
// outside the allowed roots. A failed decode never leaves a cache entry
// that a later load would use.
absl::StatusOr<std::shared_ptr<const Dataset>> LoadDataset(
    const v1::EvaluationSpec& spec, const DataLoadOptions& options);

}  // namespace nas

#endif  // NAS_WORKER_DATA_DATASET_H_
