#include "worker/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace nas {
namespace {

constexpr uint32_t kIdxLabelMagic = 0x00000801;
constexpr uint32_t kIdxImageMagic = 0x00000803;
constexpr uint32_t kIdxImageMagic4 = 0x00000804;  // N x H x W x C
// Sanity bounds so that a corrupt header cannot ask for terabytes.
constexpr int64_t kIdxMaxCount = 100'000'000;
constexpr int64_t kIdxMaxSide = 4096;

// An open gzip (or plain) file; closes on destruction.
class GzFile {
 public:
  static absl::StatusOr<GzFile> Open(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) {
      const int err = errno;
      std::string msg =
          absl::StrCat("cannot open '", path,
                       "': ", err ? std::strerror(err) : "gzopen failed");
      if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(msg);
      if (err == EACCES) return absl::PermissionDeniedError(msg);
      return absl::UnavailableError(msg);
    }
    return GzFile(f, path);
  }
  GzFile(GzFile&& o) noexcept
      : f_(std::exchange(o.f_, nullptr)), path_(std::move(o.path_)) {}
  GzFile& operator=(GzFile&&) = delete;
  ~GzFile() {
    if (f_ != nullptr) gzclose(f_);
  }

  // Reads exactly `n` bytes; DataLoss naming `what` when the file ends first
  // or the compressed stream is corrupt.
  absl::Status ReadExactly(void* dst, size_t n, absl::string_view what) {
    auto* out = static_cast<char*>(dst);
    while (n > 0) {
      const unsigned chunk =
          static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
      const int got = gzread(f_, out, chunk);
      if (got < 0) return StreamError();
      if (got == 0) {
        return absl::DataLossError(absl::StrCat(
            "'", path_, "' is truncated (while reading ", what, ")"));
      }
      out += got;
      n -= static_cast<size_t>(got);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint32_t> ReadBigEndian32(absl::string_view what) {
    unsigned char b[4];
    NAS_RETURN_IF_ERROR(ReadExactly(b, 4, what));
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
           (uint32_t{b[2]} << 8) | uint32_t{b[3]};
  }

  // DataLoss when anything follows the expected payload.
  absl::Status ExpectEnd() {
    char c;
    const int got = gzread(f_, &c, 1);
    if (got < 0) return StreamError();
    if (got > 0) {
      return absl::DataLossError(
          absl::StrCat("'", path_, "' has trailing data after the payload"));
    }
    return absl::OkStatus();
  }

  const std::string& path() const { return path_; }

 private:
  GzFile(gzFile f, std::string path) : f_(f), path_(std::move(path)) {}

  absl::Status StreamError() {
    int errnum = 0;
    const char* msg = gzerror(f_, &errnum);
    return absl::DataLossError(absl::StrCat(
        "'", path_, "' is corrupt: ", msg != nullptr ? msg : "gzread failed"));
  }

  gzFile f_;
  std::string path_;
};

absl::Status CheckMagic(uint32_t got, uint32_t want, const std::string& path) {
  if (got == want) return absl::OkStatus();
  char buf[64];
  std::snprintf(buf, sizeof(buf), "0x%08x, expected 0x%08x", got, want);
  return absl::InvalidArgumentError(absl::StrCat(
      "'", path, "' is not an IDX file of the expected kind: magic ", buf));
}

absl::Status CheckDim(uint32_t v, int64_t max, absl::string_view what,
                      const std::string& path) {
  if (v == 0 || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' has an implausible ", what, " of ", v,
                     " (1..", max, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<IdxImages> ReadIdxImages(const std::string& path) {
  NAS_ASSIGN_OR_RETURN(GzFile f, GzFile::Open(path));
  NAS_ASSIGN_OR_RETURN(uint32_t magic, f.ReadBigEndian32("magic number"));
  if (magic != kIdxImageMagic4) {
    NAS_RETURN_IF_ERROR(CheckMagic(magic, kIdxImageMagic, path));
  }
  NAS_ASSIGN_OR_RETURN(uint32_t count, f.ReadBigEndian32("image count"));
  NAS_ASSIGN_OR_RETURN(uint32_t rows, f.ReadBigEndian32("row count"));
  NAS_ASSIGN_OR_RETURN(uint32_t cols, f.ReadBigEndian32("column count"));
  uint32_t channels = 1;
  if (magic == kIdxImageMagic4) {
    NAS_ASSIGN_OR_RETURN(channels, f.ReadBigEndian32("channel count"));
  }
  NAS_RETURN_IF_ERROR(CheckDim(count, kIdxMaxCount, "image count", path));
  NAS_RETURN_IF_ERROR(CheckDim(rows, kIdxMaxSide, "row count", path));
  NAS_RETURN_IF_ERROR(CheckDim(cols, kIdxMaxSide, "column count", path));
  NAS_RETURN_IF_ERROR(CheckDim(channels, 4, "channel count", path));
  IdxImages images;
  images.count = count;
  images.rows = static_cast<int>(rows);
  images.cols = static_cast<int>(cols);
  images.channels = static_cast<int>(channels);
  images.pixels.resize(static_cast<size_t>(count) * rows * cols * channels);
  NAS_RETURN_IF_ERROR(
      f.ReadExactly(images.pixels.data(), images.pixels.size(), "pixels"));
  NAS_RETURN_IF_ERROR(f.ExpectEnd());
  return images;
}

absl::StatusOr<std::vector<uint8_t>> ReadIdxLabels(const std::string& path) {
  NAS_ASSIGN_OR_RETURN(GzFile f, GzFile::Open(path));
  NAS_ASSIGN_OR_RETURN(uint32_t magic, f.ReadBigEndian32("magic number"));
  NAS_RETURN_IF_ERROR(CheckMagic(magic, kIdxLabelMagic, path));
  NAS_ASSIGN_OR_RETURN(uint32_t count, f.ReadBigEndian32("label count"));
  NAS_RETURN_IF_ERROR(CheckDim(count, kIdxMaxCount, "label count", path));
  std::vector<uint8_t> labels(count);
  NAS_RETURN_IF_ERROR(f.ReadExactly(labels.data(), labels.size(), "labels"));
  NAS_RETURN_IF_ERROR(f.ExpectEnd());
  return labels;
}

std::vector<int64_t> SeededPermutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> perm(n);
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    // Unbiased draw from [0, i] by rejection (std distributions differ
    // between standard libraries; this does not).
    const uint64_t bound = static_cast<uint64_t>(i) + 1;
    const uint64_t threshold = (0 - bound) % bound;
    uint64_t r;
    do {
      r = rng();
    } while (r < threshold);
    std::swap(perm[i], perm[static_cast<int64_t>(r % bound)]);
  }
  return perm;
}

}  // namespace nas
