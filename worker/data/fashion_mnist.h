// Datasets for the worker: the in-memory
// train/validation/test splits every evaluator trains on, the small loader
// interface other datasets implement, and the Fashion-MNIST loader.
// Loaders are immutable and safe for concurrent use; DataSplits is a value
// (its tensors must not be modified in place once shared).
#ifndef NAS_WORKER_DATA_FASHION_MNIST_H_
#define NAS_WORKER_DATA_FASHION_MNIST_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spaces/search_space.h"
#include "worker/data/idx.h"  // ReadIdxImages, ReadIdxLabels, SeededPermutation

namespace nas {

// ---------------------------------------------------------------------------
// Splits and the loader interface.

// What to load. Counts are resolved by the loader: 0 picks the documented
// default (see each field).
struct DataOptions {
  // Directory with the dataset's files; empty = the loader's default.
  std::string dir;
  // Training images drawn from what the validation split leaves; 0 = all.
  int64_t train_samples = 0;
  // Images of the training file held out for validation; 0 = 10000.
  int64_t val_samples = 0;
  // The first `test_samples` images of the test file; 0 = all.
  int64_t test_samples = 0;
  // Seed of the train/validation split; 0 = 1.
  int64_t seed = 0;
};

// In-memory, normalized splits on the CPU. *_x are float32 N x C x H x W,
// *_y int64 N (class index). train_index/val_index are the int64 positions
// of those images in the dataset's training file (disjoint by construction).
struct DataSplits {
  torch::Tensor train_x, train_y, val_x, val_y, test_x, test_y;
  torch::Tensor train_index, val_index;
  InputShape shape;
  // Class names by index, and the normalization applied to raw [0, 1]
  // pixels: (x - norm_mean) / norm_std (exported models repeat it).
  std::vector<std::string> class_names;
  double norm_mean = 0;
  double norm_std = 1;
  // Normalised value of a background (black) pixel: what augmentation pads
  // with. 0 when the loader does not say.
  double background = 0;
};

class DatasetLoader {
 public:
  virtual ~DatasetLoader() = default;
  // Dataset name as in EvaluationSpec.dataset, e.g. "fashion_mnist".
  virtual absl::string_view name() const = 0;
  // Loads the files and builds the splits. NotFound when a file is missing,
  // DataLoss/InvalidArgument when one is corrupt, InvalidArgument when the
  // requested counts do not fit the dataset (the message names the field).
  virtual absl::StatusOr<DataSplits> Load(const DataOptions& options) const = 0;
};

// The loader registered as `name` ("fashion_mnist"; empty also means
// fashion_mnist), or InvalidArgument listing the known names.
absl::StatusOr<const DatasetLoader*> GetDatasetLoader(absl::string_view name);

// ---------------------------------------------------------------------------
// Fashion-MNIST: 60,000 training and 10,000 test images, 1 x 28 x 28, 10
// classes, normalized with (x/255 - 0.2860) / 0.3530.

inline constexpr char kFashionMnistDefaultDir[] =
    "/usr/share/datasets/fashion-mnist";
inline constexpr double kFashionMnistMean = 0.2860;
inline constexpr double kFashionMnistStd = 0.3530;

class FashionMnistLoader final : public DatasetLoader {
 public:
  absl::string_view name() const override { return "fashion_mnist"; }
  // Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz from options.dir.
  // The validation images are the first val_samples of a permutation of the
  // 60,000 training images seeded by options.seed (a platform-independent
  // Fisher-Yates shuffle over mt19937_64); the training images follow in
  // the same permutation.
  absl::StatusOr<DataSplits> Load(const DataOptions& options) const override;
};

}  // namespace nas

#endif  // NAS_WORKER_DATA_FASHION_MNIST_H_
