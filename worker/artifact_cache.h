// A directory of stored artifacts (e.g. supernet weights) named by their
// content hash, filled on demand through a fetch function (the worker loop
// streams WorkerService.FetchArtifact). Every file is verified against its
// hash when fetched and when first used from the directory, so a corrupt or
// truncated file is fetched again. LibTorch-free. Not thread-safe.
#ifndef NAS_WORKER_ARTIFACT_CACHE_H_
#define NAS_WORKER_ARTIFACT_CACHE_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nas {

class ArtifactCache {
 public:
  // Receives one piece of the artifact, in order, with the whole size.
  using Sink =
      std::function<absl::Status(absl::string_view piece, int64_t total)>;
  // Streams artifact `hash` into `sink`, piece by piece.
  using Fetch =
      std::function<absl::Status(const std::string& hash, const Sink& sink)>;

  // `dir` is created when needed.
  ArtifactCache(std::string dir, Fetch fetch);

  // The path of the verified file of artifact `hash` (sha256 hex), fetched
  // now when it is not in the directory or does not match its hash.
  // InvalidArgument for a malformed hash, DataLoss when the fetched bytes
  // do not match it, the fetch's error otherwise.
  absl::StatusOr<std::string> Get(const std::string& hash);

  // Artifacts fetched by this object so far.
  int fetches() const { return fetches_; }

 private:
  const std::string dir_;
  const Fetch fetch_;
  std::set<std::string> verified_;  // hashes whose file was checked
  int fetches_ = 0;
};

// The default cache directory: $NAS_CACHE_DIR, else $XDG_CACHE_HOME/nas-worker,
// else $HOME/.cache/nas-worker, else /tmp/nas-worker-cache.
std::string DefaultArtifactCacheDir();

}  // namespace nas

#endif  // NAS_WORKER_ARTIFACT_CACHE_H_
