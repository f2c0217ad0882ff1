// NumPy .npy files (format versions 1.0, 2.0 and 3.0): a strict parser of
// the header and readers for the two arrays a dataset needs. Debian has no
// .npy library for C++, so this is written here; it accepts only what a
// dataset needs (C order; uint8 images; integer labels). LibTorch-free;
// thread-safe.
#ifndef NAS_WORKER_DATA_NPY_H_
#define NAS_WORKER_DATA_NPY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nas {

struct NpyHeader {
  // The dtype string, e.g. "|u1", "<i8".
  std::string descr;
  std::vector<int64_t> shape;
  // Bytes before the array data (magic, version, length, header dict).
  int64_t data_offset = 0;
  // Bytes per element (from descr).
  int item_size = 0;
};

// Parses the header at the start of `file` (the file's bytes, or at least
// its first data_offset bytes). DataLoss naming `path` when the magic,
// version, header length or dict are malformed; InvalidArgument when the
// dtype is not one of |u1 |i1 <i2 <i4 <i8 <u2 <u4 <u8 (also with '=' or,
// for one byte, '<'), or fortran_order is True.
absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view file,
                                         const std::string& path);

// Checks that `header` describes uint8 images, N x H x W or N x H x W x C
// (C in 1..4), and that `file_size` is exactly what they take. Returns N,
// H, W, C in `dims`. InvalidArgument for another dtype or rank, DataLoss for
// a size mismatch (truncated or trailing data); messages name `path`.
absl::Status CheckNpyImages(const NpyHeader& header, int64_t file_size,
                            const std::string& path, int64_t dims[4]);

// Reads an integer label array of shape (N,) (or (N, 1)). NotFound when
// the file is missing; DataLoss when truncated or malformed;
// InvalidArgument for a float dtype, another shape, or a value that does
// not fit int64. Messages name the file.
absl::StatusOr<std::vector<int64_t>> ReadNpyLabels(const std::string& path);

}  // namespace nas

#endif  // NAS_WORKER_DATA_NPY_H_
