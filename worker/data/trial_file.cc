#include "worker/data/trial_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace nas {
namespace {

const char* FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a plain file";
}

absl::Status TooLarge(absl::string_view field, const std::string& path,
                      int64_t bytes, const TrialFileLimits& limits) {
  return absl::ResourceExhaustedError(
      absl::StrCat(field, ": '", path, "' is ", bytes, " bytes, over ",
                   limits.max_bytes_flag.empty() ? "the worker's limit"
                                                 : limits.max_bytes_flag,
                   " (", limits.max_bytes / (1024 * 1024), " MiB)"));
}

}  // namespace

absl::StatusOr<OpenedTrialFile> OpenTrialFile(const std::string& path,
                                              absl::string_view field,
                                              const TrialFileLimits& limits) {
  NAS_ASSIGN_OR_RETURN(std::string resolved,
                       ResolveUnderRoots(path, field, limits.roots));
  // O_NONBLOCK: opening a FIFO with no writer or a device returns at once;
  // O_NOFOLLOW: `resolved` has no symlinks, so one now is a swap.
  ScopedFd fd(::open(resolved.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK |
                                           O_NOCTTY | O_NOFOLLOW));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ELOOP) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": '", path, "' is not a regular file (a symbolic link)"));
    }
    return ErrnoStatus(err, absl::StrCat(field, ": cannot open"), path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return ErrnoStatus(errno, absl::StrCat(field, ": cannot stat"), path);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": '", path,
                                                   "' is not a regular file (",
                                                   FileKind(st.st_mode), ")"));
  }
  if (limits.max_bytes > 0 && st.st_size > limits.max_bytes) {
    return TooLarge(field, path, st.st_size, limits);
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, absl::StrCat(field, ": cannot open"), path);
  }
  OpenedTrialFile out;
  out.fd = std::move(fd);
  out.path = std::move(resolved);
  out.size = st.st_size;
  return out;
}

absl::StatusOr<std::string> ReadTrialFile(const std::string& path,
                                          absl::string_view field,
                                          const TrialFileLimits& limits) {
  NAS_ASSIGN_OR_RETURN(OpenedTrialFile f, OpenTrialFile(path, field, limits));
  std::string data;
  data.reserve(static_cast<size_t>(f.size));
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(f.fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return ErrnoStatus(errno, absl::StrCat(field, ": cannot read"), path);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (limits.max_bytes > 0 &&
        static_cast<int64_t>(data.size()) > limits.max_bytes) {
      return TooLarge(field, path, static_cast<int64_t>(data.size()), limits);
    }
  }
  return data;
}

}  // namespace nas
