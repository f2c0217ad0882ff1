// nas-controller's command line made into ServerOptions: the values of its
// flags as given (ControllerFlags, filled by main.cc from its ABSL_FLAGs),
// range-checked and converted, the bearer tokens read. Pure functions apart
// from MakeServerOptions reading token files and the environment;
// thread-safe.
#ifndef NAS_CONTROLLER_SERVER_OPTIONS_H_
#define NAS_CONTROLLER_SERVER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/server.h"

namespace nas {

// The flags of nas-controller, one field per flag of the same name, in the
// flag's unit. main.cc sets every field (the defaults are the flags').
struct ControllerFlags {
  std::string listen;
  std::string database;  // "" = the environment's NAS_DATABASE
  std::string migrations_dir;
  int tick_ms = 0;
  int min_tick_ms = 0;
  int artifact_chunk_kib = 0;
  std::string metrics_address;
  int database_outage_seconds = 0;
  int max_message_mib = 0;
  int max_running_experiments = 0;
  int64_t max_candidates_per_experiment = 0;
  int max_parallel_trials = 0;
  absl::Duration worker_retention;
  int replay_page = 0;
  int max_leases_per_worker = 0;
  int max_attempt_seconds = 0;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  std::string client_token_file;  // "" = the environment's NAS_CLIENT_TOKEN
  std::string worker_token_file;  // "" = the environment's NAS_WORKER_TOKEN
};

// The range checks of the flags, first failure wins, each InvalidArgument
// with a message naming the flag, in this order: artifact_chunk_kib in
// [1, 65536]; min_tick_ms in [0, tick_ms]; max_message_mib in [1, 2047];
// max_running_experiments, max_candidates_per_experiment and
// max_leases_per_worker >= 0 (0 = no limit); max_parallel_trials >= 0
// (0 = only the spec's [1, 10000]); worker_retention > 0. OK otherwise.
absl::Status ValidateControllerFlags(const ControllerFlags& flags);

// ServerOptions from the flags: ValidateControllerFlags, then the tokens
// (common/secrets.h ReadToken: the file, else the environment variable),
// then the database (the flag, else NAS_DATABASE; InvalidArgument
// "--database (or NAS_DATABASE) is required" when neither). Every error's
// message is the whole line nas-controller prints after "nas-controller: "
// (and exits 2): a token's error keeps its code and, as the binary has
// always printed it, starts with the code's name ("NOT_FOUND: ...").
absl::StatusOr<ServerOptions> MakeServerOptions(const ControllerFlags& flags);

}  // namespace nas

#endif  // NAS_CONTROLLER_SERVER_OPTIONS_H_
