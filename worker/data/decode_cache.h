// The worker's decode cache: each dataset source is decoded once, in
// parallel, into one file of uint8 C x H x W images and int64 labels at the
// training resolution, keyed by the files' content and the preprocessing,
// and memory-mapped by every later load (in this process, other processes
// sharing the directory, and after restarts). LibTorch-free. The functions
// are thread-safe, also across processes sharing one cache directory.
//
// Directory layout (`cache_dir`):
//   <key>.nasdata          a decoded source (format below)
//   <key>.lock             flock(LOCK_EX) while deciding and decoding
//   <key>.nasdata.tmp.*    a decode in progress (removed when it fails)
//   digests/<hash>.tsv     memoized content digests of one source's files
// File format of <key>.nasdata: a 128-byte header (magic "NASDATA\0",
// version, header size, N, C, H, W, classes, offsets, file size, key), N
// int64 labels at offset 128, then N x C x H x W uint8 images at the next
// multiple of 64. Written to a temporary file in the same directory,
// fsync'ed, then renamed into place: a file under the final name is whole.
#ifndef NAS_WORKER_DATA_DECODE_CACHE_H_
#define NAS_WORKER_DATA_DECODE_CACHE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "worker/data/sources.h"

namespace nas {

inline constexpr int kDecodeCacheVersion = 1;

struct DecodeOptions {
  // The cache directory (created when missing); empty = decode into memory.
  std::string cache_dir;
  // Decode and hashing threads; 0 = hardware concurrency.
  int threads = 0;
  // Progress of a decode (images done, total): from the calling thread, at
  // most four times a second, and once at the end of a successful decode.
  // Not called when the cache is reused.
  std::function<void(int64_t done, int64_t total)> on_progress;
  // Log lines on stderr: decode progress ("decoding <what>: <done>/<total>
  // images (<rate> images/s)"), cache reuse, rebuilds, waits for a lock.
  bool verbose = false;
};

// A decoded source: `count` images of pre.image_bytes() bytes and `count`
// labels, valid while `owner` lives (a read-only mapping of the cache file,
// or memory when there is no cache). Never write through the pointers.
struct DecodedSource {
  Preprocess pre;
  int64_t count = 0;
  const uint8_t* images = nullptr;
  const int64_t* labels = nullptr;
  std::shared_ptr<const void> owner;
  // The cache file; empty when decoded into memory.
  std::string cache_file;
  // True when this call decoded the source; false when it reused the cache.
  bool decoded = false;
};

// Decodes `listing` (or maps its cache file when one exists for the same
// content and preprocessing). Errors are OpenDecoder's and Decode's (they
// name the file). A cache directory that cannot be created or written is
// logged and the source decoded into memory instead. A
// cache file that is truncated or garbled is treated as absent, logged and
// rebuilt. A failed decode removes its temporary file and leaves no cache
// file. Two processes (or threads) loading the same source at once decode
// it once: the second waits for the first and maps its file.
absl::StatusOr<DecodedSource> LoadSource(const Preprocess& pre,
                                         const SourceListing& listing,
                                         const DecodeOptions& options);

// SHA-256 (hex) of each file's content, in order, memoized in
// `cache_dir`/digests by (real path, size, mtime_ns, inode): an unchanged
// file is not read again. A file changed in place with the same size, mtime
// and inode is not noticed (edit tools replace files or move mtime, so in
// practice this holds; delete the digests folder to force re-hashing).
// Empty `cache_dir`: no memo. Errors name the file.
absl::StatusOr<std::vector<std::string>> FileDigests(
    const std::vector<std::string>& files, const std::string& cache_dir,
    int threads);

// The cache key (64 hex digits) of a source: SHA-256 over the cache
// version, the preprocessing, kResizeRuleVersion, each file's digest in
// order and, for image folders, each file's class and the class names.
std::string DecodeCacheKey(const Preprocess& pre, const SourceListing& listing,
                           const std::vector<std::string>& digests);

// Per-channel mean and population standard deviation of the pixels (scaled
// to [0, 1]) of images `index` of `source`, in float64 (exact integer sums;
// the result does not depend on `threads`).
void ChannelMeanStd(const DecodedSource& source,
                    const std::vector<int64_t>& index, int threads,
                    std::vector<double>* mean, std::vector<double>* std);

}  // namespace nas

#endif  // NAS_WORKER_DATA_DECODE_CACHE_H_
