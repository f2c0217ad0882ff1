// nas-worker: pulls trials from nas-controller and evaluates them.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/metrics_endpoint.h"
#include "common/secrets.h"
#include "worker/evaluators/evaluator.h"
#include "worker/metrics.h"
#include "worker/evaluators/mode_router.h"
#include "worker/evaluators/tabular_evaluator.h"
#include "worker/worker_loop.h"

ABSL_FLAG(std::string, controller, "127.0.0.1:50051",
          "controller address host:port, or a comma-separated list (an "
          "active controller and its standbys): after UNAVAILABLE the worker "
          "moves to the next address, round robin");
ABSL_FLAG(std::string, id, "", "worker id (default hostname-pid)");
ABSL_FLAG(std::string, labels, "", "labels, e.g. gpu=h100,zone=eu");
ABSL_FLAG(int, threads, 0, "LibTorch intra-op threads (0 = LibTorch default)");
ABSL_FLAG(int, max_trials, 0, "exit after this many trials (0 = never)");
ABSL_FLAG(int, idle_exit_seconds, 0,
          "exit after this long without work (0 = never)");
ABSL_FLAG(std::string, cache_dir, "",
          "directory of fetched artifacts (supernet weights), by content "
          "hash (default $NAS_CACHE_DIR, $XDG_CACHE_HOME/nas-worker or "
          "~/.cache/nas-worker)");
ABSL_FLAG(int, unreachable_timeout_seconds, 300,
          "exit non-zero when the controller is unreachable this long "
          "(calls are retried with exponential backoff until then)");
ABSL_FLAG(std::string, metrics_address, "",
          "host:port of the Prometheus /metrics endpoint, e.g. "
          "0.0.0.0:9101 (empty = no endpoint)");

ABSL_FLAG(std::string, token_file, "",
          "file holding the worker role's bearer token (or env NAS_TOKEN)");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA of the controller's certificate (enables TLS)");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (optional)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_server_name, "",
          "name expected in the controller's certificate (default: the "
          "host of --controller)");

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

// Reads the PEM files named by the --tls_* flags into `options`.
absl::Status ReadTls(nas::WorkerOptions* options) {
  const std::string ca = absl::GetFlag(FLAGS_tls_ca);
  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  options->tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  if (ca.empty()) {
    if (!cert.empty() || !key.empty() || !options->tls_server_name.empty()) {
      return absl::InvalidArgumentError(
          "--tls_cert, --tls_key and --tls_server_name need --tls_ca");
    }
    return absl::OkStatus();
  }
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key must be given together");
  }
  for (auto [path, pem] : {std::pair{&ca, &options->tls_ca_pem},
                           std::pair{&cert, &options->tls_cert_pem},
                           std::pair{&key, &options->tls_key_pem}}) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> content = nas::ReadFileContents(*path);
    if (!content.ok()) return content.status();
    *pem = *std::move(content);
  }
  return absl::OkStatus();
}
}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  nas::WorkerOptions options;
  options.controllers = absl::StrSplit(absl::GetFlag(FLAGS_controller), ',',
                                       absl::SkipWhitespace());
  if (options.controllers.empty()) {
    fprintf(stderr, "nas-worker: --controller: no address given\n");
    return 2;
  }
  options.worker_id = absl::GetFlag(FLAGS_id);
  if (options.worker_id.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    options.worker_id = absl::StrCat(host, "-", getpid());
  }
  for (absl::string_view kv :
       absl::StrSplit(absl::GetFlag(FLAGS_labels), ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p =
        absl::StrSplit(kv, absl::MaxSplits('=', 1));
    if (p.first.empty()) {
      fprintf(stderr, "nas-worker: --labels: '%s' is not key=value\n",
              std::string(kv).c_str());
      return 2;
    }
    options.labels[p.first] = p.second;
  }
  options.max_trials = absl::GetFlag(FLAGS_max_trials);
  options.cache_dir = absl::GetFlag(FLAGS_cache_dir);
  options.idle_exit = absl::Seconds(absl::GetFlag(FLAGS_idle_exit_seconds));
  options.unreachable_timeout =
      absl::Seconds(absl::GetFlag(FLAGS_unreachable_timeout_seconds));
  auto token = nas::ReadToken(absl::GetFlag(FLAGS_token_file), "NAS_TOKEN");
  if (!token.ok()) {
    fprintf(stderr, "nas-worker: %s\n", token.status().ToString().c_str());
    return 2;
  }
  options.token = *token;
  if (absl::Status s = ReadTls(&options); !s.ok()) {
    fprintf(stderr, "nas-worker: %s\n", s.ToString().c_str());
    return 2;
  }
  nas::EvaluatorOptions eval_options;
  eval_options.threads = absl::GetFlag(FLAGS_threads);
  // TABULAR trials are table lookups; every other mode trains.
  std::unique_ptr<nas::Evaluator> evaluator =
      nas::MakeModeRouter(nas::MakeTorchEvaluator(eval_options),
                          std::make_unique<nas::TabularEvaluator>());
  std::unique_ptr<nas::WorkerMetrics> metrics;
  std::unique_ptr<nas::MetricsEndpoint> endpoint;
  if (const std::string address = absl::GetFlag(FLAGS_metrics_address);
      !address.empty()) {
    metrics = std::make_unique<nas::WorkerMetrics>(evaluator->device());
    auto started = nas::MetricsEndpoint::Start(address, metrics->registry());
    if (!started.ok()) {
      fprintf(stderr, "nas-worker: --metrics_address: %s\n",
              started.status().ToString().c_str());
      return 2;
    }
    endpoint = *std::move(started);
    options.metrics = metrics.get();
    fprintf(stderr, "nas-worker: metrics on port %d (/metrics)\n",
            endpoint->port());
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  absl::Status s = nas::RunWorker(options, evaluator.get(), &g_stop);
  if (!s.ok()) {
    fprintf(stderr, "nas-worker %s: %s\n", options.worker_id.c_str(),
            s.ToString().c_str());
    return 1;
  }
  return 0;
}
