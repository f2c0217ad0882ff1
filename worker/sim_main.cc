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
// ReportResult call: "<method> <end, unix microseconds> <latency
// microseconds> <useful: 1 = got a trial / result accepted>"
// (bench/dispatch_throughput reads it).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/secrets.h"
#include "worker/evaluators/simulated_evaluator.h"
#include "worker/evaluators/tabular_evaluator.h"
#include "worker/worker_loop.h"

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
  const int n = absl::GetFlag(FLAGS_workers);
  if (n < 1 || n > 4096) {
    fprintf(stderr, "nas-simworker: --workers must be in [1, 4096]\n");
    return 2;
  }
  auto token = nas::ReadToken(absl::GetFlag(FLAGS_token_file), "NAS_TOKEN");
  if (!token.ok()) {
    fprintf(stderr, "nas-simworker: %s\n", token.status().ToString().c_str());
    return 2;
  }
  std::string prefix = absl::GetFlag(FLAGS_id_prefix);
  if (prefix.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    prefix = absl::StrCat("sim-", host, "-", getpid());
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  // One evaluator for all workers: thread-safe, tables loaded once.
  nas::TabularEvaluator tabular;
  nas::SimulatedEvaluator evaluator(
      absl::Milliseconds(absl::GetFlag(FLAGS_eval_ms)), &tabular);
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> from_report{0};
  struct Failures {
    absl::Mutex mu;
    int count ABSL_GUARDED_BY(mu) = 0;
    absl::Status first ABSL_GUARDED_BY(mu);
  } failures;
  struct Sample {
    const char* method;
    int64_t end_us;
    int64_t latency_us;
    bool useful;
  };
  const std::string latency_file = absl::GetFlag(FLAGS_latency_file);
  // One vector per worker thread: no lock on the measured path.
  std::vector<std::vector<Sample>> samples(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      nas::WorkerOptions options;
      options.controllers = absl::StrSplit(absl::GetFlag(FLAGS_controller), ',',
                                           absl::SkipEmpty());
      options.worker_id = absl::StrCat(prefix, "-", i);
      options.labels["simulated"] = "true";
      options.max_trials = absl::GetFlag(FLAGS_max_trials);
      options.idle_exit = absl::Seconds(absl::GetFlag(FLAGS_idle_exit_seconds));
      options.unreachable_timeout =
          absl::Seconds(absl::GetFlag(FLAGS_unreachable_timeout_seconds));
      options.token = *token;
      options.log_trials = false;
      options.results_accepted = &accepted;
      options.trials_from_report = &from_report;
      if (!latency_file.empty()) {
        std::vector<Sample>* mine = &samples[i];
        options.on_rpc = [mine](const char* method, absl::Duration latency,
                                bool useful) {
          mine->push_back({method, absl::ToUnixMicros(absl::Now()),
                           absl::ToInt64Microseconds(latency), useful});
        };
      }
      absl::Status s = nas::RunWorker(options, &evaluator, &g_stop);
      if (!s.ok()) {
        absl::MutexLock lock(&failures.mu);
        if (failures.count++ == 0) failures.first = s;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (!latency_file.empty()) {
    std::ofstream out(latency_file);
    for (const std::vector<Sample>& v : samples) {
      for (const Sample& x : v) {
        out << x.method << ' ' << x.end_us << ' ' << x.latency_us << ' '
            << (x.useful ? 1 : 0) << '\n';
      }
    }
    if (!out) {
      fprintf(stderr, "nas-simworker: could not write %s\n",
              latency_file.c_str());
    }
  }
  // Machine-readable for tests and benches.
  printf("results_accepted %lld\n", static_cast<long long>(accepted.load()));
  printf("trials_from_report %lld\n",
         static_cast<long long>(from_report.load()));
  fflush(stdout);
  absl::MutexLock lock(&failures.mu);  // the threads have ended
  if (failures.count > 0) {
    fprintf(stderr, "nas-simworker: %d of %d workers failed; first: %s\n",
            failures.count, n, failures.first.ToString().c_str());
    return 1;
  }
  fprintf(stderr, "nas-simworker: %d workers ended normally\n", n);
  return 0;
}
