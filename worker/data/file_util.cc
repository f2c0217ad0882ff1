#include "worker/data/file_util.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nas {

ScopedFd& ScopedFd::operator=(ScopedFd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void ScopedFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

absl::Status ErrnoStatus(int err, absl::string_view what,
                         absl::string_view path) {
  std::string msg = absl::StrCat(what, " '", path, "': ", std::strerror(err));
  if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  return absl::UnavailableError(msg);
}

absl::StatusOr<std::unique_ptr<MappedFile>> MappedFile::Open(
    const std::string& path, bool sequential) {
  // O_NONBLOCK: a FIFO or device named as a data file never blocks the
  // open; the fstat below refuses it (mmap ignores the flag).
  ScopedFd fd(
      ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) return ErrnoStatus(errno, "cannot open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0)
    return ErrnoStatus(errno, "cannot stat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a regular file"));
  }
  if (st.st_size == 0) {
    return absl::DataLossError(absl::StrCat("'", path, "' is empty"));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return ErrnoStatus(errno, "cannot map", path);
  if (sequential) ::madvise(p, size, MADV_SEQUENTIAL);
  return std::unique_ptr<MappedFile>(
      new MappedFile(static_cast<const uint8_t*>(p), size, path));
}

MappedFile::~MappedFile() { ::munmap(const_cast<uint8_t*>(data_), size_); }

bool PathIsUnder(absl::string_view resolved, absl::string_view root) {
  if (root == "/") return !resolved.empty() && resolved[0] == '/';
  if (resolved.size() < root.size()) return false;
  if (resolved.substr(0, root.size()) != root) return false;
  return resolved.size() == root.size() || resolved[root.size()] == '/';
}

absl::StatusOr<std::string> ResolveUnderRoots(
    const std::string& path, absl::string_view field,
    const std::vector<std::string>& roots) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  }
  std::vector<std::string> resolved_roots;
  for (const std::string& root : roots) {
    char buf[PATH_MAX];
    if (::realpath(root.c_str(), buf) != nullptr) resolved_roots.push_back(buf);
  }
  auto outside = [&](absl::string_view shown) {
    return absl::PermissionDeniedError(absl::StrCat(
        field, ": ", shown, " is outside the worker's data roots (",
        absl::StrJoin(roots, ", "), ")"));
  };
  auto under_any = [&](absl::string_view p) {
    for (const std::string& r : resolved_roots) {
      if (PathIsUnder(p, r)) return true;
    }
    return false;
  };
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    const int err = errno;
    if (!roots.empty()) {
      std::error_code ec;
      const std::string lexical =
          std::filesystem::absolute(path, ec).lexically_normal().string();
      if (ec || !under_any(lexical)) return outside(path);
    }
    if (err == ENOENT || err == ENOTDIR) {
      return absl::NotFoundError(
          absl::StrCat(field, ": '", path, "' does not exist"));
    }
    return ErrnoStatus(err, absl::StrCat(field, ": cannot resolve"), path);
  }
  std::string real = buf;
  if (!roots.empty() && !under_any(real)) return outside(path);
  return real;
}

}  // namespace nas
