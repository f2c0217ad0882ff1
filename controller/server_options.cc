#include "controller/server_options.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/secrets.h"
#include "common/status_macros.h"

namespace nas {

absl::Status ValidateControllerFlags(const ControllerFlags& flags) {
  if (flags.artifact_chunk_kib < 1 || flags.artifact_chunk_kib > 65536) {
    return absl::InvalidArgumentError(
        "--artifact_chunk_kib must be in [1, 65536]");
  }
  if (flags.min_tick_ms < 0 || flags.min_tick_ms > flags.tick_ms) {
    return absl::InvalidArgumentError(
        "--min_tick_ms must be in [0, --tick_ms]");
  }
  if (flags.max_message_mib < 1 || flags.max_message_mib > 2047) {
    return absl::InvalidArgumentError("--max_message_mib must be in [1, 2047]");
  }
  if (flags.max_running_experiments < 0 ||
      flags.max_candidates_per_experiment < 0 ||
      flags.max_leases_per_worker < 0 || flags.max_attempt_seconds < 0) {
    return absl::InvalidArgumentError(
        "--max_running_experiments, --max_candidates_per_experiment, "
        "--max_leases_per_worker and --max_attempt_seconds must be >= 0 "
        "(0 = no limit)");
  }
  if (flags.max_parallel_trials < 0) {
    return absl::InvalidArgumentError(
        "--max_parallel_trials must be >= 0 (0 = no limit)");
  }
  if (flags.worker_retention <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--worker_retention must be positive (e.g. 1h)");
  }
  return absl::OkStatus();
}

absl::StatusOr<ServerOptions> MakeServerOptions(const ControllerFlags& flags) {
  if (absl::Status s = ValidateControllerFlags(flags); !s.ok()) return s;
  ServerOptions options;
  options.listen = flags.listen;
  options.store.conninfo = flags.database;
  if (options.store.conninfo.empty() &&
      std::getenv("NAS_DATABASE") != nullptr) {
    options.store.conninfo = std::getenv("NAS_DATABASE");
  }
  options.store.artifact_chunk_bytes = flags.artifact_chunk_kib * 1024;
  options.migrations_dir = flags.migrations_dir;
  options.controller.tick = absl::Milliseconds(flags.tick_ms);
  options.controller.min_tick = absl::Milliseconds(flags.min_tick_ms);
  options.controller.max_running_experiments = flags.max_running_experiments;
  options.controller.max_candidates_per_experiment =
      flags.max_candidates_per_experiment;
  options.controller.max_leases_per_worker = flags.max_leases_per_worker;
  options.controller.max_attempt_seconds = flags.max_attempt_seconds;
  options.store.max_attempt_seconds = flags.max_attempt_seconds;
  options.controller.replay_page = flags.replay_page;
  options.controller.max_parallel_trials = flags.max_parallel_trials;
  options.controller.worker_retention = flags.worker_retention;
  options.max_message_bytes = flags.max_message_mib << 20;
  // Listing responses stop well under the largest message (a quarter of
  // it, at most 4 MiB) and hand out a next_page_token.
  options.controller.max_response_bytes =
      std::min<int64_t>(options.max_message_bytes / 4, int64_t{4} << 20);
  options.metrics_address = flags.metrics_address;
  options.database_outage = absl::Seconds(flags.database_outage_seconds);
  options.tls.cert_file = flags.tls_cert;
  options.tls.key_file = flags.tls_key;
  options.tls.client_ca_file = flags.tls_client_ca;
  absl::StatusOr<std::string> client_token =
      ReadToken(flags.client_token_file, "NAS_CLIENT_TOKEN");
  if (!client_token.ok()) return StatusWithCodeInMessage(client_token.status());
  absl::StatusOr<std::string> worker_token =
      ReadToken(flags.worker_token_file, "NAS_WORKER_TOKEN");
  if (!worker_token.ok()) return StatusWithCodeInMessage(worker_token.status());
  options.client_token = *std::move(client_token);
  options.worker_token = *std::move(worker_token);
  if (options.store.conninfo.empty()) {
    return absl::InvalidArgumentError(
        "--database (or NAS_DATABASE) is required");
  }
  return options;
}

}  // namespace nas
