// nas-worker: pulls trials from nas-controller and evaluates them.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/binary_usage.h"
#include "common/metrics_endpoint.h"
#include "worker/command/candidate_tools.h"
#include "worker/evaluators/command_evaluator.h"
#include "worker/evaluators/evaluator.h"
#include "worker/evaluators/mode_router.h"
#include "worker/evaluators/tabular_evaluator.h"
#include "worker/metrics.h"
#include "worker/worker_flags.h"
#include "worker/worker_loop.h"

ABSL_FLAG(std::string, controller, "127.0.0.1:50051",
          "controller host:port, or a list (active, standbys) tried in turn "
          "after UNAVAILABLE");
ABSL_FLAG(std::string, id, "", "worker id (default hostname-pid)");
ABSL_FLAG(std::string, labels, "", "labels, e.g. gpu=h100,zone=eu");
ABSL_FLAG(int, threads, 0, "LibTorch intra-op threads (0 = LibTorch default)");
ABSL_FLAG(std::string, device, "auto",
          "where LibTorch computes: auto (the first GPU when LibTorch has "
          "CUDA and sees one, else the CPU), cpu, cuda or cuda:N; one worker "
          "process per GPU (docs/OPERATIONS.md)");
ABSL_FLAG(int, max_trials, 0, "exit after this many trials (0 = never)");
ABSL_FLAG(int, idle_exit_seconds, 0, "exit after this long idle (0 = never)");
ABSL_FLAG(std::string, cache_dir, "",
          "artifact cache (default $NAS_CACHE_DIR, "
          "$XDG_CACHE_HOME/nas-worker or ~/.cache/nas-worker)");
ABSL_FLAG(int, unreachable_timeout_seconds, 300,
          "exit non-zero after the controller is unreachable this long");
ABSL_FLAG(std::string, metrics_address, "",
          "host:port of /metrics, e.g. 0.0.0.0:9101 (empty = none)");
ABSL_FLAG(std::string, token_file, "",
          "worker role's bearer token file (or env NAS_TOKEN)");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA of the controller (enables TLS)");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (optional)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_server_name, "",
          "name in the controller's certificate (default its host)");
ABSL_FLAG(std::string, data_root, nas::kDefaultDataRoot,
          "comma-separated directories that trials' data files must lie "
          "under (docs/SECURITY.md)");
ABSL_FLAG(std::string, trainer, "",
          "COMMAND trainers this worker may run: NAME=/abs/path[,NAME=PATH...] "
          "(each registers the label trainer/NAME=yes; docs/SECURITY.md)");
ABSL_FLAG(std::string, trainers_config, "",
          "YAML file `trainers: {NAME: /abs/path, ...}`, more trainers");
ABSL_FLAG(std::string, trainer_env, "",
          "comma-separated environment variables passed on to trainers "
          "(beyond PATH, HOME, LANG, LC_*, TMPDIR, PYTHONPATH, "
          "LD_LIBRARY_PATH, CUDA_VISIBLE_DEVICES)");
ABSL_FLAG(std::string, trial_dir, "",
          "parent of COMMAND trials' output directories (default "
          "<cache_dir>/trials, else under $TMPDIR)");
ABSL_FLAG(bool, keep_trial_dirs, false,
          "keep each COMMAND trial's output directory after its result");
ABSL_FLAG(int, max_table_mib, nas::kDefaultMaxTableMib,
          "largest benchmark table (evaluation.tabular.path, which must lie "
          "under --data_root) a trial may name, in MiB");
ABSL_FLAG(int, max_trial_seconds, 86400,
          "wall-clock limit on each trial attempt; past it the attempt is "
          "reported failed and the worker restarts itself");
ABSL_FLAG(int, abandon_grace_seconds, 30,
          "how long an attempt may go on after its lease was lost or the "
          "worker was told to stop before it is abandoned (restart; on "
          "SIGTERM exit 3)");
ABSL_FLAG(std::string, data_cache_dir, nas::DefaultDataCacheDir(),
          "decoded-dataset cache (default $NAS_CACHE_DIR/data, "
          "$XDG_CACHE_HOME/nas-worker/data or ~/.cache/nas-worker/data; "
          "empty = decode into memory)");

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

// The watchdog abandoned a blocked attempt (worker_loop.h): start afresh
// with the same command line, or exit when shutting down.
[[noreturn]] void RestartOrExit(char** argv, bool shutting_down) {
  if (!shutting_down) {
    fprintf(stderr, "nas-worker: re-executing /proc/self/exe\n");
    fflush(stderr);
    // Descriptors not marked close-on-exec (e.g. the metrics endpoint's
    // listening socket) would keep their ports from the new image; marked
    // rather than closed, as other threads still use them until execv.
    for (int fd = 3; fd < 65536; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "nas-worker: re-executing failed: %s\n",
            std::strerror(errno));
  }
  fprintf(stderr, "nas-worker: exiting (status 3) with an abandoned trial\n");
  fflush(stderr);
  std::_Exit(3);
}
}  // namespace

int main(int argc, char** argv) {
  nas::SetBinaryUsage(
      "nas-worker", "worker/main.cc",
      "pulls trials from nas-controller and evaluates them.\n"
      "usage: nas-worker --controller=HOST:PORT [flags]\n"
      "  the token comes from --token_file or env NAS_TOKEN; the artifact\n"
      "  cache from --cache_dir or env NAS_CACHE_DIR (docs/OPERATIONS.md)");
  absl::ParseCommandLine(argc, argv);
  nas::WorkerFlags f;
  f.controller = absl::GetFlag(FLAGS_controller);
  f.id = absl::GetFlag(FLAGS_id);
  f.labels = absl::GetFlag(FLAGS_labels);
  f.max_trials = absl::GetFlag(FLAGS_max_trials);
  f.idle_exit_seconds = absl::GetFlag(FLAGS_idle_exit_seconds);
  f.max_trial_seconds = absl::GetFlag(FLAGS_max_trial_seconds);
  f.abandon_grace_seconds = absl::GetFlag(FLAGS_abandon_grace_seconds);
  f.cache_dir = absl::GetFlag(FLAGS_cache_dir);
  f.unreachable_timeout_seconds =
      absl::GetFlag(FLAGS_unreachable_timeout_seconds);
  f.token_file = absl::GetFlag(FLAGS_token_file);
  f.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  f.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  f.tls_key = absl::GetFlag(FLAGS_tls_key);
  f.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  f.trainer = absl::GetFlag(FLAGS_trainer);
  f.trainers_config = absl::GetFlag(FLAGS_trainers_config);
  f.trainer_env = absl::GetFlag(FLAGS_trainer_env);
  f.trial_dir = absl::GetFlag(FLAGS_trial_dir);
  f.keep_trial_dirs = absl::GetFlag(FLAGS_keep_trial_dirs);
  absl::StatusOr<nas::WorkerOptions> options = nas::MakeWorkerOptions(f);
  if (!options.ok()) {
    fprintf(stderr, "nas-worker: %s\n",
            std::string(options.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<nas::TrainerSetup> trainers = nas::MakeTrainerSetup(f);
  if (!trainers.ok()) {  // checked by MakeWorkerOptions already
    fprintf(stderr, "nas-worker: %s\n",
            std::string(trainers.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<nas::WorkerDataOptions> data = nas::MakeWorkerDataOptions(
      absl::GetFlag(FLAGS_data_root), absl::GetFlag(FLAGS_data_cache_dir),
      absl::GetFlag(FLAGS_max_table_mib));
  if (!data.ok()) {
    fprintf(stderr, "nas-worker: %s\n",
            std::string(data.status().message()).c_str());
    return 2;
  }
  std::unique_ptr<nas::WorkerMetrics> metrics;  // set before any trial
  nas::EvaluatorOptions eval_options;
  eval_options.device = absl::GetFlag(FLAGS_device);
  eval_options.threads = absl::GetFlag(FLAGS_threads);
  eval_options.data_roots = data->roots;
  eval_options.data_cache_dir = data->cache_dir;
  eval_options.on_data_progress = [&metrics](int64_t done, int64_t total) {
    if (metrics) metrics->DataDecodeProgress(done, total);
  };
  // TABULAR trials are table lookups, COMMAND trials run the operator's
  // trainers; every other mode trains.
  absl::StatusOr<std::unique_ptr<nas::Evaluator>> torch =
      nas::MakeTorchEvaluator(eval_options);
  if (!torch.ok()) {
    fprintf(stderr, "nas-worker: %s\n",
            std::string(torch.status().message()).c_str());
    return 2;
  }
  const std::string device = (*torch)->device();
  std::unique_ptr<nas::Evaluator> command;
  if (!trainers->trainers.empty()) {
    nas::CommandEvaluatorOptions c;
    c.setup = *trainers;
    c.threads = eval_options.threads;
    c.device = device;
    c.on_run_end = [&metrics](const std::string& trainer,
                              const std::string& outcome) {
      if (metrics) metrics->TrainerRunEnded(trainer, outcome);
    };
    absl::StatusOr<std::unique_ptr<nas::CandidateTools>> tools =
        nas::MakeTorchCandidateTools(eval_options.threads, eval_options.device);
    if (!tools.ok()) {
      fprintf(stderr, "nas-worker: %s\n",
              std::string(tools.status().message()).c_str());
      return 2;
    }
    command = nas::MakeCommandEvaluator(std::move(c), *std::move(tools));
  }
  std::unique_ptr<nas::Evaluator> evaluator = nas::MakeModeRouter(
      *std::move(torch),
      std::make_unique<nas::TabularEvaluator>(nas::TrialFileLimits{
          data->roots, data->max_table_bytes, "--max_table_mib"}),
      std::move(command));
  std::unique_ptr<nas::MetricsEndpoint> endpoint;
  if (const std::string address = absl::GetFlag(FLAGS_metrics_address);
      !address.empty()) {
    metrics = std::make_unique<nas::WorkerMetrics>(evaluator->device());
    auto started =
        nas::MetricsEndpoint::Start(address, metrics->registry(), "nas-worker");
    if (!started.ok()) {
      fprintf(stderr, "nas-worker: --metrics_address: %s\n",
              started.status().ToString().c_str());
      return 2;
    }
    endpoint = *std::move(started);
    options->metrics = metrics.get();
    fprintf(stderr, "nas-worker: metrics on port %d (/metrics)\n",
            endpoint->port());
  }
  options->on_abandoned = [argv](bool shutting_down) {
    RestartOrExit(argv, shutting_down);
  };
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  absl::Status s = nas::RunWorker(*options, evaluator.get(), &g_stop);
  if (!s.ok()) {
    fprintf(stderr, "nas-worker %s: %s\n", options->worker_id.c_str(),
            s.ToString().c_str());
    return 1;
  }
  return 0;
}
