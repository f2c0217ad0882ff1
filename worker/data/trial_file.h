// Opening a file that a trial's spec names (evaluation.tabular.path; the
// data sources of evaluation.data go through ResolveUnderRoots and
// MappedFile::Open, which share these rules but map instead of read): the
// one place where a client's path meets the worker's file system.
// docs/SECURITY.md "Files a spec can name". LibTorch-free; thread-safe.
#ifndef NAS_WORKER_DATA_TRIAL_FILE_H_
#define NAS_WORKER_DATA_TRIAL_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "worker/data/file_util.h"

namespace nas {

// What a trial may open: under which directories, how large.
struct TrialFileLimits {
  // The operator's allowed directories (nas-worker --data_root); a path
  // must resolve (symlinks, "..") to a file below one of them. Empty: any
  // path (tests and nas-simworker only).
  std::vector<std::string> roots;
  // The largest file accepted, in bytes; 0 = no limit.
  int64_t max_bytes = 0;
  // The flag that sets max_bytes, named in the refusal
  // (e.g. "--max_table_mib").
  std::string max_bytes_flag;
};

// An opened trial file: its descriptor (blocking, close-on-exec), its
// resolved path and its size when opened.
struct OpenedTrialFile {
  ScopedFd fd;
  std::string path;
  int64_t size = 0;
};

// Opens `path` for reading, named `field` ("evaluation.tabular.path") in
// every refusal, before anything is read:
//   PermissionDenied "<field>: <path> is outside the worker's data roots
//     (...)": it resolves (symlinks, "..") outside limits.roots;
//   NotFound "<field>: '<path>' does not exist";
//   InvalidArgument "<field>: '<path>' is not a regular file (<kind>)": a
//     directory, FIFO, socket or device, judged by fstat on the opened
//     descriptor (opened with O_NONBLOCK, so a FIFO or device never blocks
//     the open; the flag is cleared afterwards; the last component is
//     opened with O_NOFOLLOW, so a symlink swapped in after resolution is
//     refused rather than followed);
//   ResourceExhausted "<field>: '<path>' is N bytes, over <flag> (M MiB)".
// Messages carry the path as given and never any of the file's contents.
absl::StatusOr<OpenedTrialFile> OpenTrialFile(const std::string& path,
                                              absl::string_view field,
                                              const TrialFileLimits& limits);

// OpenTrialFile, then the whole file read into memory (at most
// limits.max_bytes: a file that grows past it while being read is refused
// the same way). Unavailable naming the field for a read error.
absl::StatusOr<std::string> ReadTrialFile(const std::string& path,
                                          absl::string_view field,
                                          const TrialFileLimits& limits);

}  // namespace nas

#endif  // NAS_WORKER_DATA_TRIAL_FILE_H_
