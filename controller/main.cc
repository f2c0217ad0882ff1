// nas-controller: serves ExperimentService and WorkerService.
//   nas-controller [flags]           migrate, then serve
//   nas-controller migrate [flags]   apply migrations and exit
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/secrets.h"
#include "controller/server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address");
ABSL_FLAG(std::string, database, "",
          "libpq connection string (or env NAS_DATABASE)");
ABSL_FLAG(std::string, migrations_dir, NAS_DEFAULT_MIGRATIONS_DIR,
          "directory of NNNN_*.sql migrations");
ABSL_FLAG(int, tick_ms, 250, "longest time between scheduler ticks");
ABSL_FLAG(int, min_tick_ms, 10,
          "shortest time between scheduler ticks woken by new results "
          "(results arriving meanwhile are handled by one tick)");
ABSL_FLAG(int, artifact_chunk_kib, 1024,
          "piece size of stored artifacts (supernet weights), KiB");
ABSL_FLAG(std::string, metrics_address, "",
          "host:port of the Prometheus /metrics endpoint, e.g. "
          "0.0.0.0:9100 (empty = no endpoint)");
ABSL_FLAG(int, database_outage_seconds, 60,
          "exit non-zero when the database stays unreachable this long");
ABSL_FLAG(int, max_message_mib, 256,
          "largest gRPC message received or sent (results with models), MiB");
ABSL_FLAG(int, max_running_experiments, 100,
          "experiments RUNNING at once; more are refused (0 = no limit)");
ABSL_FLAG(int64_t, max_candidates_per_experiment, 10000000,
          "candidates stored per experiment (0 = no limit)");
ABSL_FLAG(int, replay_page, 10000,
          "rows per page when replaying an experiment at start-up");
ABSL_FLAG(int, max_leases_per_worker, 1,
          "trials one worker id may hold leased at once (0 = no limit)");

ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate (enables TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA: when set, clients must present a certificate it signed");
ABSL_FLAG(std::string, client_token_file, "",
          "file holding the client role's bearer token (or env "
          "NAS_CLIENT_TOKEN); none = ExperimentService open");
ABSL_FLAG(std::string, worker_token_file, "",
          "file holding the worker role's bearer token (or env "
          "NAS_WORKER_TOKEN); none = WorkerService open");

namespace {
volatile std::sig_atomic_t g_signal = 0;
void OnSignal(int sig) { g_signal = sig; }
}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  nas::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.store.conninfo = absl::GetFlag(FLAGS_database);
  if (options.store.conninfo.empty() &&
      std::getenv("NAS_DATABASE") != nullptr) {
    options.store.conninfo = std::getenv("NAS_DATABASE");
  }
  options.migrations_dir = absl::GetFlag(FLAGS_migrations_dir);
  if (absl::GetFlag(FLAGS_artifact_chunk_kib) < 1 ||
      absl::GetFlag(FLAGS_artifact_chunk_kib) > 65536) {
    fprintf(stderr,
            "nas-controller: --artifact_chunk_kib must be in [1, 65536]\n");
    return 2;
  }
  options.store.artifact_chunk_bytes =
      absl::GetFlag(FLAGS_artifact_chunk_kib) * 1024;
  options.controller.tick = absl::Milliseconds(absl::GetFlag(FLAGS_tick_ms));
  if (absl::GetFlag(FLAGS_min_tick_ms) < 0 ||
      absl::GetFlag(FLAGS_min_tick_ms) > absl::GetFlag(FLAGS_tick_ms)) {
    fprintf(stderr,
            "nas-controller: --min_tick_ms must be in [0, --tick_ms]\n");
    return 2;
  }
  options.controller.min_tick =
      absl::Milliseconds(absl::GetFlag(FLAGS_min_tick_ms));
  if (absl::GetFlag(FLAGS_max_message_mib) < 1 ||
      absl::GetFlag(FLAGS_max_message_mib) > 2047) {
    fprintf(stderr, "nas-controller: --max_message_mib must be in [1, 2047]\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_max_running_experiments) < 0 ||
      absl::GetFlag(FLAGS_max_candidates_per_experiment) < 0 ||
      absl::GetFlag(FLAGS_max_leases_per_worker) < 0) {
    fprintf(stderr,
            "nas-controller: --max_running_experiments, "
            "--max_candidates_per_experiment and --max_leases_per_worker must "
            "be >= 0 (0 = no limit)\n");
    return 2;
  }
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_mib) << 20;
  options.controller.max_running_experiments =
      absl::GetFlag(FLAGS_max_running_experiments);
  options.controller.max_candidates_per_experiment =
      absl::GetFlag(FLAGS_max_candidates_per_experiment);
  options.controller.max_leases_per_worker =
      absl::GetFlag(FLAGS_max_leases_per_worker);
  options.controller.replay_page = absl::GetFlag(FLAGS_replay_page);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  options.database_outage =
      absl::Seconds(absl::GetFlag(FLAGS_database_outage_seconds));
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  auto client_token = nas::ReadToken(absl::GetFlag(FLAGS_client_token_file),
                                     "NAS_CLIENT_TOKEN");
  auto worker_token = nas::ReadToken(absl::GetFlag(FLAGS_worker_token_file),
                                     "NAS_WORKER_TOKEN");
  for (const auto* t : {&client_token, &worker_token}) {
    if (!t->ok()) {
      fprintf(stderr, "nas-controller: %s\n", t->status().ToString().c_str());
      return 2;
    }
  }
  options.client_token = *client_token;
  options.worker_token = *worker_token;
  if (options.store.conninfo.empty()) {
    fprintf(stderr,
            "nas-controller: --database (or NAS_DATABASE) is required\n");
    return 2;
  }
  if (args.size() > 1 && std::string(args[1]) == "migrate") {
    auto store = nas::Store::Open(options.store);
    if (!store.ok()) {
      fprintf(stderr, "nas-controller: %s\n",
              store.status().ToString().c_str());
      return 1;
    }
    auto applied = (*store)->Migrate(options.migrations_dir);
    if (!applied.ok()) {
      fprintf(stderr, "nas-controller: migrate: %s\n",
              applied.status().ToString().c_str());
      return 1;
    }
    printf("applied %zu migration(s)\n", applied->size());
    return 0;
  }
  if (args.size() > 1) {
    fprintf(stderr, "nas-controller: unknown command '%s' (known: migrate)\n",
            args[1]);
    return 2;
  }
  auto server = nas::ControllerServer::Start(options);
  if (!server.ok()) {
    fprintf(stderr, "nas-controller: %s\n", server.status().ToString().c_str());
    return 1;
  }
  fprintf(stderr, "nas-controller: listening on port %d\n", (*server)->port());
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (g_signal == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::string failed = (*server)->Failed();
    if (!failed.empty()) {
      fprintf(stderr, "nas-controller: %s\n", failed.c_str());
      return 1;
    }
  }
  fprintf(stderr, "nas-controller: signal %d, shutting down\n",
          static_cast<int>(g_signal));
  (*server)->Shutdown();
  return 0;
}
