#include "worker/artifact_cache.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace nas {
namespace {

// The file's bytes; NotFound when it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

ArtifactCache::ArtifactCache(std::string dir, Fetch fetch)
    : dir_(std::move(dir)), fetch_(std::move(fetch)) {}

absl::StatusOr<std::string> ArtifactCache::Get(const std::string& hash) {
  if (!IsSha256Hex(hash)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "artifact hash must be 64 lowercase hex digits, got \"", hash, "\""));
  }
  const std::string path = absl::StrCat(dir_, "/", hash);
  if (verified_.count(hash) > 0 && std::filesystem::exists(path)) return path;
  absl::StatusOr<std::string> cached = ReadFile(path);
  if (cached.ok() && Sha256Hex(*cached) == hash) {
    verified_.insert(hash);
    return path;
  }
  std::string bytes;
  int64_t expected = -1;
  absl::Status s = fetch_(hash, [&](absl::string_view piece, int64_t total) {
    if (expected < 0) {
      expected = total;
      if (total >= 0) bytes.reserve(static_cast<size_t>(total));
    }
    bytes.append(piece.data(), piece.size());
    if (static_cast<int64_t>(bytes.size()) > expected) {
      return absl::DataLossError(absl::StrCat(
          "artifact ", hash, ": more bytes than its size ", expected));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (Sha256Hex(bytes) != hash) {
    return absl::DataLossError(
        absl::StrCat("artifact ", hash, ": fetched ", bytes.size(),
                     " bytes whose sha256 does not match"));
  }
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("artifact cache: cannot create ",
                                               dir_, ": ", ec.message()));
  }
  // Written under a private name, then renamed: readers never see a part.
  const std::string tmp = absl::StrCat(path, ".tmp-", getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      return absl::UnavailableError(
          absl::StrCat("artifact cache: cannot write ", tmp));
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return absl::UnavailableError(
        absl::StrCat("artifact cache: cannot rename to ", path));
  }
  ++fetches_;
  verified_.insert(hash);
  return path;
}

std::string DefaultArtifactCacheDir() {
  if (const char* d = std::getenv("NAS_CACHE_DIR"); d != nullptr && *d) {
    return d;
  }
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d != nullptr && *d) {
    return absl::StrCat(d, "/nas-worker");
  }
  if (const char* d = std::getenv("HOME"); d != nullptr && *d) {
    return absl::StrCat(d, "/.cache/nas-worker");
  }
  return "/tmp/nas-worker-cache";
}

}  // namespace nas
