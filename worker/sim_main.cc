// nas-simworker: many simulated workers in one process, for load and
// throughput tests of the controller. Each runs the real worker loop
// (RunWorker: register, long-poll AcquireTrial, heartbeat, ReportResult
// with retries) over its own gRPC channel with its own id; TABULAR trials
// are real table lookups, every other trial is SimulatedEvaluator's.
//   nas-simworker --controller=HOST:PORT --workers=64 [--eval_ms=0]
// Exits 0 when every worker ended normally, 1 otherwise (the first error
// is printed), with summary lines "results_accepted N" and
// "trials_from_report N" (trials that came with a report's answer).
// --latency_file=PATH writes, at exit, one line per AcquireTrial and
// ReportResult call (worker/sim_fleet.h; bench/dispatch_throughput reads it).
#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "worker/evaluators/simulated_evaluator.h"
#include "worker/evaluators/tabular_evaluator.h"
#include "worker/sim_fleet.h"
#include "worker/worker_flags.h"

ABSL_FLAG(std::string, controller, "127.0.0.1:50051",
          "controller address, or a comma-separated list (active, standbys)");
ABSL_FLAG(int, workers, 8, "simulated workers (threads, one channel each)");
ABSL_FLAG(std::string, id_prefix, "",
          "worker ids are PREFIX-N (default sim-<hostname>-<pid>)");
ABSL_FLAG(int, eval_ms, 0, "milliseconds each simulated evaluation takes");
ABSL_FLAG(int, max_trials, 0, "each worker exits after this many (0 = never)");
ABSL_FLAG(int, idle_exit_seconds, 10,
          "each worker exits after this long without work (0 = never)");
ABSL_FLAG(int, unreachable_timeout_seconds, 60,
          "a worker exits non-zero when the controller is unreachable this "
          "long");
ABSL_FLAG(std::string, latency_file, "",
          "if set, per-call latencies of AcquireTrial and ReportResult are "
          "written there at exit (see the header)");
ABSL_FLAG(std::string, token_file, "",
          "file holding the worker role's bearer token (or env NAS_TOKEN)");

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  nas::SimWorkerFlags f;
  f.controller = absl::GetFlag(FLAGS_controller);
  f.workers = absl::GetFlag(FLAGS_workers);
  f.id_prefix = absl::GetFlag(FLAGS_id_prefix);
  f.eval_ms = absl::GetFlag(FLAGS_eval_ms);
  f.max_trials = absl::GetFlag(FLAGS_max_trials);
  f.idle_exit_seconds = absl::GetFlag(FLAGS_idle_exit_seconds);
  f.unreachable_timeout_seconds =
      absl::GetFlag(FLAGS_unreachable_timeout_seconds);
  f.latency_file = absl::GetFlag(FLAGS_latency_file);
  f.token_file = absl::GetFlag(FLAGS_token_file);
  absl::StatusOr<nas::SimFleetOptions> options = nas::MakeSimFleetOptions(f);
  if (!options.ok()) {
    fprintf(stderr, "nas-simworker: %s\n",
            std::string(options.status().message()).c_str());
    return 2;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  // One evaluator for all workers: thread-safe, tables loaded once.
  nas::TabularEvaluator tabular;
  nas::SimulatedEvaluator evaluator(options->eval_time, &tabular);
  nas::SimFleetResult r = nas::RunSimFleet(*options, &evaluator, &g_stop);
  if (!r.latency_file_written) {
    fprintf(stderr, "nas-simworker: could not write %s\n",
            options->latency_file.c_str());
  }
  // Machine-readable for tests and benches.
  printf("results_accepted %lld\n", static_cast<long long>(r.results_accepted));
  printf("trials_from_report %lld\n",
         static_cast<long long>(r.trials_from_report));
  fflush(stdout);
  if (r.failed > 0) {
    fprintf(stderr, "nas-simworker: %d of %d workers failed; first: %s\n",
            r.failed, options->workers, r.first_error.ToString().c_str());
    return 1;
  }
  fprintf(stderr, "nas-simworker: %d workers ended normally\n",
          options->workers);
  return 0;
}
