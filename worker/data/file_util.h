// Small POSIX helpers for worker/data: an owned file descriptor, a
// read-only memory mapping of a whole file, errno statuses that name the
// file, and path resolution against the worker's data roots. LibTorch-free;
// the functions are thread-safe, the classes are not (own one per thread or
// share a const one).
#ifndef NAS_WORKER_DATA_FILE_UTIL_H_
#define NAS_WORKER_DATA_FILE_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nas {

// An owned file descriptor; closed on destruction. Movable, not copyable.
class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& o) noexcept : fd_(o.release()) {}
  ScopedFd& operator=(ScopedFd&& o) noexcept;
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A read-only (PROT_READ, MAP_SHARED) mapping of a whole file; unmapped on
// destruction. Immutable once built, so a const one may be shared between
// threads.
class MappedFile {
 public:
  // Maps `path`. NotFound when it does not exist, PermissionDenied when it
  // cannot be read, DataLoss when it is empty (nothing to map); messages
  // name the file. `sequential` advises the kernel to read ahead.
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(
      const std::string& path, bool sequential = false);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  absl::string_view view() const {
    return {reinterpret_cast<const char*>(data_), size_};
  }
  const std::string& path() const { return path_; }

 private:
  MappedFile(const uint8_t* data, size_t size, std::string path)
      : data_(data), size_(size), path_(std::move(path)) {}
  const uint8_t* data_;
  size_t size_;
  std::string path_;
};

// A status for a failed system call on `path`: NotFound for ENOENT and
// ENOTDIR, PermissionDenied for EACCES/EPERM, Unavailable otherwise;
// "<what> '<path>': <strerror>".
absl::Status ErrnoStatus(int err, absl::string_view what,
                         absl::string_view path);

// The real path of `path` (symlinks and ".." resolved), which must lie
// under one of `roots` (themselves resolved; a root that does not exist
// counts for nothing) unless `roots` is empty. PermissionDenied "<field>:
// <path> is outside the worker's data roots (<roots>)" when it does not,
// also when `path` does not exist but its lexically normalized absolute
// form lies outside them (so that a client cannot probe for files outside
// the roots); NotFound "<field>: '<path>' does not exist" otherwise. Opens
// nothing.
absl::StatusOr<std::string> ResolveUnderRoots(
    const std::string& path, absl::string_view field,
    const std::vector<std::string>& roots);

// True when `resolved` is `root` or lies below it (both absolute, resolved).
bool PathIsUnder(absl::string_view resolved, absl::string_view root);

}  // namespace nas

#endif  // NAS_WORKER_DATA_FILE_UTIL_H_
