// nas-controller: serves ExperimentService and WorkerService.
//   nas-controller [flags]           migrate, then serve
//   nas-controller migrate [flags]   apply migrations and exit
// Flags are checked and made into ServerOptions by server_options.h; the
// commands run in commands.h.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/time.h"
#include "common/binary_usage.h"
#include "controller/commands.h"
#include "controller/server_options.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address");
ABSL_FLAG(std::string, database, "", "libpq conninfo (or env NAS_DATABASE)");
ABSL_FLAG(std::string, migrations_dir, NAS_DEFAULT_MIGRATIONS_DIR,
          "directory of NNNN_*.sql migrations");
ABSL_FLAG(int, tick_ms, 250, "longest time between scheduler ticks");
ABSL_FLAG(int, min_tick_ms, 10,
          "shortest time between ticks woken by results (which share a tick)");
ABSL_FLAG(int, artifact_chunk_kib, 1024, "piece size of stored artifacts, KiB");
ABSL_FLAG(std::string, metrics_address, "",
          "host:port of /metrics, e.g. 0.0.0.0:9100 (empty = none)");
ABSL_FLAG(int, database_outage_seconds, 60,
          "exit non-zero when the database stays unreachable this long");
ABSL_FLAG(int, max_message_mib, 256, "largest gRPC message in or out, MiB");
ABSL_FLAG(int, max_running_experiments, 100,
          "experiments RUNNING at once; more are refused (0 = no limit)");
ABSL_FLAG(int64_t, max_candidates_per_experiment, 10000000,
          "candidates stored per experiment (0 = no limit)");
ABSL_FLAG(int, max_parallel_trials, 256,
          "largest budget.parallel_trials CreateExperiment accepts "
          "(0 = the spec's own limit)");
ABSL_FLAG(absl::Duration, worker_retention, absl::Hours(1),
          "a worker silent this long leaves the controller's memory and, "
          "holding no running trial, the workers table");
ABSL_FLAG(int, replay_page, 10000, "rows per page of start-up replays");
ABSL_FLAG(int, max_leases_per_worker, 1,
          "trials one worker id may hold leased at once (0 = no limit)");
ABSL_FLAG(int, max_attempt_seconds, 86400,
          "wall-clock seconds one trial attempt may hold its lease; leases "
          "are not renewed past it (0 = no limit)");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate (enables TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA: when set, clients must present a certificate it signed");
ABSL_FLAG(std::string, client_token_file, "",
          "client role's bearer token file (or env NAS_CLIENT_TOKEN)");
ABSL_FLAG(std::string, worker_token_file, "",
          "worker role's bearer token file (or env NAS_WORKER_TOKEN)");

int main(int argc, char** argv) {
  nas::SetBinaryUsage(
      "nas-controller", "controller/main.cc",
      "serves ExperimentService and WorkerService.\n"
      "usage: nas-controller [flags]          migrate the database, then "
      "serve\n"
      "       nas-controller migrate [flags]  apply migrations and exit\n"
      "  the database comes from --database or env NAS_DATABASE (libpq);\n"
      "  tokens from --*_token_file or env NAS_CLIENT_TOKEN and\n"
      "  NAS_WORKER_TOKEN (docs/OPERATIONS.md)");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  nas::ControllerFlags f;
  f.listen = absl::GetFlag(FLAGS_listen);
  f.database = absl::GetFlag(FLAGS_database);
  f.migrations_dir = absl::GetFlag(FLAGS_migrations_dir);
  f.tick_ms = absl::GetFlag(FLAGS_tick_ms);
  f.min_tick_ms = absl::GetFlag(FLAGS_min_tick_ms);
  f.artifact_chunk_kib = absl::GetFlag(FLAGS_artifact_chunk_kib);
  f.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  f.database_outage_seconds = absl::GetFlag(FLAGS_database_outage_seconds);
  f.max_message_mib = absl::GetFlag(FLAGS_max_message_mib);
  f.max_running_experiments = absl::GetFlag(FLAGS_max_running_experiments);
  f.max_candidates_per_experiment =
      absl::GetFlag(FLAGS_max_candidates_per_experiment);
  f.max_parallel_trials = absl::GetFlag(FLAGS_max_parallel_trials);
  f.worker_retention = absl::GetFlag(FLAGS_worker_retention);
  f.replay_page = absl::GetFlag(FLAGS_replay_page);
  f.max_leases_per_worker = absl::GetFlag(FLAGS_max_leases_per_worker);
  f.max_attempt_seconds = absl::GetFlag(FLAGS_max_attempt_seconds);
  f.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  f.tls_key = absl::GetFlag(FLAGS_tls_key);
  f.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  f.client_token_file = absl::GetFlag(FLAGS_client_token_file);
  f.worker_token_file = absl::GetFlag(FLAGS_worker_token_file);
  absl::StatusOr<nas::ServerOptions> options = nas::MakeServerOptions(f);
  if (!options.ok()) {
    fprintf(stderr, "nas-controller: %s\n",
            std::string(options.status().message()).c_str());
    return 2;
  }
  if (args.size() > 1 && std::string(args[1]) == "migrate") {
    return nas::RunMigrateCommand(*options);
  }
  if (args.size() > 1) {
    fprintf(stderr, "nas-controller: unknown command '%s' (known: migrate)\n",
            args[1]);
    return 2;
  }
  return nas::RunServeCommand(*options);
}
