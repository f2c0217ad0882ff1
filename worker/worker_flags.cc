#include "worker/worker_flags.h"

#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/secrets.h"
#include "common/status_macros.h"

namespace nas {
namespace {

// Reads the PEM files named by the --tls_* flags into `options`.
absl::Status ReadTls(const WorkerFlags& flags, WorkerOptions* options) {
  options->tls_server_name = flags.tls_server_name;
  if (flags.tls_ca.empty()) {
    if (!flags.tls_cert.empty() || !flags.tls_key.empty() ||
        !options->tls_server_name.empty()) {
      return absl::InvalidArgumentError(
          "--tls_cert, --tls_key and --tls_server_name need --tls_ca");
    }
    return absl::OkStatus();
  }
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key must be given together");
  }
  for (auto [path, pem] : {std::pair{&flags.tls_ca, &options->tls_ca_pem},
                           std::pair{&flags.tls_cert, &options->tls_cert_pem},
                           std::pair{&flags.tls_key, &options->tls_key_pem}}) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> content = ReadFileContents(*path);
    if (!content.ok()) return content.status();
    *pem = *std::move(content);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WorkerDataOptions> MakeWorkerDataOptions(
    const std::string& data_root, const std::string& data_cache_dir) {
  WorkerDataOptions options;
  for (absl::string_view root :
       absl::StrSplit(data_root, ',', absl::SkipWhitespace())) {
    if (root.front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("--data_root: '", root, "' is not an absolute path"));
    }
    options.roots.emplace_back(root);
  }
  if (options.roots.empty()) {
    return absl::InvalidArgumentError("--data_root: no directory given");
  }
  if (!data_cache_dir.empty() && data_cache_dir.front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "--data_cache_dir: '", data_cache_dir, "' is not an absolute path"));
  }
  options.cache_dir = data_cache_dir;
  return options;
}

std::string DefaultDataCacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') {
    return absl::StrCat(xdg, "/nas-worker/data");
  }
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') {
    return absl::StrCat(home, "/.cache/nas-worker/data");
  }
  return "";
}

std::string HostAndPid() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(host, "-", getpid());
}

absl::StatusOr<WorkerOptions> MakeWorkerOptions(const WorkerFlags& flags) {
  WorkerOptions options;
  options.controllers =
      absl::StrSplit(flags.controller, ',', absl::SkipWhitespace());
  if (options.controllers.empty()) {
    return absl::InvalidArgumentError("--controller: no address given");
  }
  options.worker_id = flags.id.empty() ? HostAndPid() : flags.id;
  for (absl::string_view kv :
       absl::StrSplit(flags.labels, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p =
        absl::StrSplit(kv, absl::MaxSplits('=', 1));
    if (p.first.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--labels: '", kv, "' is not key=value"));
    }
    options.labels[p.first] = p.second;
  }
  options.max_trials = flags.max_trials;
  options.cache_dir = flags.cache_dir;
  options.idle_exit = absl::Seconds(flags.idle_exit_seconds);
  options.unreachable_timeout =
      absl::Seconds(flags.unreachable_timeout_seconds);
  absl::StatusOr<std::string> token = ReadToken(flags.token_file, "NAS_TOKEN");
  if (!token.ok()) return StatusWithCodeInMessage(token.status());
  options.token = *std::move(token);
  if (absl::Status s = ReadTls(flags, &options); !s.ok()) {
    return StatusWithCodeInMessage(s);
  }
  return options;
}

absl::StatusOr<SimFleetOptions> MakeSimFleetOptions(
    const SimWorkerFlags& flags) {
  if (flags.workers < 1 || flags.workers > 4096) {
    return absl::InvalidArgumentError("--workers must be in [1, 4096]");
  }
  absl::StatusOr<std::string> token = ReadToken(flags.token_file, "NAS_TOKEN");
  if (!token.ok()) return StatusWithCodeInMessage(token.status());
  SimFleetOptions fleet;
  fleet.workers = flags.workers;
  fleet.id_prefix = flags.id_prefix.empty() ? absl::StrCat("sim-", HostAndPid())
                                            : flags.id_prefix;
  fleet.eval_time = absl::Milliseconds(flags.eval_ms);
  fleet.latency_file = flags.latency_file;
  WorkerOptions& w = fleet.worker;
  w.controllers = absl::StrSplit(flags.controller, ',', absl::SkipEmpty());
  w.labels["simulated"] = "true";
  w.max_trials = flags.max_trials;
  w.idle_exit = absl::Seconds(flags.idle_exit_seconds);
  w.unreachable_timeout = absl::Seconds(flags.unreachable_timeout_seconds);
  w.token = *std::move(token);
  w.log_trials = false;
  return fleet;
}

}  // namespace nas
