// Test fixtures for worker/data: real images (Debian's Fashion-MNIST)
// written into every dataset format the worker reads, and a small
// imbalanced 3-channel dataset. OpenCV, no LibTorch. Not thread-safe on
// one directory; distinct directories may be written concurrently.
#ifndef NAS_TESTS_TESTING_IMAGE_DATASETS_H_
#define NAS_TESTS_TESTING_IMAGE_DATASETS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nas/v1/architecture.pb.h"

namespace nas::testing {

inline constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

// Images (N x H x W x C interleaved uint8) and labels in memory.
struct RawImages {
  int64_t count = 0;
  int height = 0, width = 0, channels = 1;
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
};

// One split (train or test) written in every format.
struct FormatPaths {
  std::string idx_images, idx_labels;    // plain idx3 / idx1
  std::string png_dir, jpeg_dir;         // one subfolder per class
  std::vector<std::string> cifar_files;  // CIFAR-10 layout, 1x28x28
  std::string npy_images, npy_labels;    // |u1 N x 28 x 28, <i8 N
};

struct FashionMnistFormats {
  // The images written, in the written order (stable-sorted by label).
  RawImages train, test;
  FormatPaths train_paths, test_paths;
};

// Takes the first `train` training and `test` test images of the
// Fashion-MNIST files in `source_dir`, stable-sorts each set by label and
// writes them under `dir` (created) as IDX, PNG folders, JPEG folders
// (quality 95), CIFAR-10-layout batches (the training set in two files) and
// .npy; class folders are "0".."9", file names the zero-padded position,
// so each format lists the images in the same order.
absl::StatusOr<FashionMnistFormats> WriteFashionMnistFormats(
    const std::string& dir, int64_t train, int64_t test,
    const std::string& source_dir = kFashionMnistDir);

// The DataSpec reading `f` in `format` ("idx", "png", "jpeg" (both
// image_folder), "cifar10", "npy"): 1 x 28 x 28, 10 classes, normalization
// "none", no separate validation set.
v1::DataSpec FashionMnistFormatSpec(const FashionMnistFormats& f,
                                    absl::string_view format);

// A 3-channel 32 x 32, 7-class dataset with an 8:1 imbalance: Fashion-MNIST
// classes 0-6, resized to 32 x 32 and tinted with a colour per class, as PNG
// folders train/, validation/ and test/ under `dir`. Class folders (sorted):
// coat, defect, dress, normal, pullover, shirt, trouser; "normal" is the
// majority with 8x the images of each other class (`minority_train` per
// minority class in train/, `minority_eval` in validation/ and test/).
struct ImbalancedDataset {
  std::string train_dir, validation_dir, test_dir;
  std::vector<std::string> class_names;
  std::vector<int64_t> train_counts;  // by class index
};
absl::StatusOr<ImbalancedDataset> WriteImbalancedRgbDataset(
    const std::string& dir, int64_t minority_train = 60,
    int64_t minority_eval = 15,
    const std::string& source_dir = kFashionMnistDir);

// The DataSpec of `d`: image_folder, 3 x 32 x 32, 7 classes, its own
// validation set, normalization "auto".
v1::DataSpec ImbalancedSpec(const ImbalancedDataset& d);

// Writers, for tests that build malformed files.
absl::Status WriteFile(const std::string& path, absl::string_view bytes);
// A .npy file (version 1.0) with dtype `descr` and `shape`; `data` raw.
absl::Status WriteNpy(const std::string& path, absl::string_view descr,
                      const std::vector<int64_t>& shape,
                      absl::string_view data);
// Plain idx3 (channels 1) or idx4 images and idx1 labels.
absl::Status WriteIdxImages(const std::string& path, const RawImages& images);
absl::Status WriteIdxLabels(const std::string& path,
                            const std::vector<int64_t>& labels);
// A fresh, empty directory under $TEST_TMPDIR (or /tmp) named after `name`
// and the process id.
std::string FreshTempDir(const std::string& name);

}  // namespace nas::testing

#endif  // NAS_TESTS_TESTING_IMAGE_DATASETS_H_
