// IDX files (http://yann.lecun.com/exdb/mnist/, the MNIST family),
// gzip-compressed or plain (zlib's gzread reads both), and the seeded
// permutation the train/validation split is drawn from. LibTorch-free;
// every function is thread-safe.
#ifndef NAS_WORKER_DATA_IDX_H_
#define NAS_WORKER_DATA_IDX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nas {

struct IdxImages {
  int64_t count = 0;
  int rows = 0;
  int cols = 0;
  // 1 for idx3 files (N x H x W, grey); the fourth dimension of an idx4
  // file (N x H x W x C).
  int channels = 1;
  // count * rows * cols * channels bytes, row-major (channels innermost),
  // one image after the other.
  std::vector<uint8_t> pixels;
};

// Reads an idx3-ubyte (magic 0x00000803, N x H x W) or idx4-ubyte (magic
// 0x00000804, N x H x W x C with C in 1..4) image file. NotFound when
// `path` cannot be opened; DataLoss when the file is truncated or carries
// trailing data; InvalidArgument when the magic number or dimensions are
// wrong. Every message names the file.
absl::StatusOr<IdxImages> ReadIdxImages(const std::string& path);

// Reads an idx1-ubyte label file (magic 0x00000801); errors as ReadIdxImages.
absl::StatusOr<std::vector<uint8_t>> ReadIdxLabels(const std::string& path);

// The seeded permutation of [0, n) that the train/validation split is
// drawn from (a Fisher-Yates shuffle over mt19937_64 with unbiased
// rejection sampling); the same on every platform.
std::vector<int64_t> SeededPermutation(int64_t n, uint64_t seed);

}  // namespace nas

#endif  // NAS_WORKER_DATA_IDX_H_
