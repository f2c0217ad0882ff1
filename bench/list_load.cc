// bench/list_load (issue 22): ListExperiments latency and the controller's
// memory with large experiments running and a stream of new worker ids.
//
//   ninja -C build list_load nas-controller && build/bench/list_load \
//     [--experiments=20] [--trials=50000] [--workers=5000] [--calls=300]
//
// A throw-away PostgreSQL and the real nas-controller (default flags but
// --tick_ms=100) on loopback (tests/testing LocalCluster). --experiments
// TABULAR experiments are created RUNNING (parallel_trials 256, labels no
// worker has, so each keeps 256 trials queued and is topped up every
// tick), then each gets --trials SUCCEEDED trials inserted with SQL (the
// counters' insert trigger counts them), as if they had run. Then, at
// once: one thread registers --workers fresh worker ids (16 labels each)
// spread over the run, and the main thread calls ListExperiments (a page
// of every experiment) --calls times, back to back. Prints the latency
// percentiles, their ratio to the 100 ms target for p99, and the
// controller's RSS (VmRSS at the end, VmHWM peak) against 300 MB.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "nas/v1/worker.grpc.pb.h"
#include "tests/testing/cluster.h"
#include "tests/testing/process.h"
#include "tests/testing/spec_yaml.h"

ABSL_FLAG(int, experiments, 20, "large experiments, RUNNING");
ABSL_FLAG(int, trials, 50000, "SUCCEEDED trials inserted per experiment");
ABSL_FLAG(int, workers, 5000, "fresh worker ids registered during the run");
ABSL_FLAG(int, calls, 300, "ListExperiments calls, back to back");

namespace {

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i =
      std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * v.size()));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int n_exp = absl::GetFlag(FLAGS_experiments);
  const int n_trials = absl::GetFlag(FLAGS_trials);
  const int n_workers = absl::GetFlag(FLAGS_workers);
  const int n_calls = absl::GetFlag(FLAGS_calls);
  nas::testing::LocalCluster cluster;
  if (absl::Status s = cluster.Start("list-load"); !s.ok()) {
    fprintf(stderr, "list_load: %s\n", s.ToString().c_str());
    return 1;
  }
  if (!cluster.StartController()) return 1;
  const pid_t pid = cluster.controller()->pid();

  const std::string table = cluster.dir() + "/table.csv";
  nas::testing::WriteSimpleNb201Table(table, 1);
  const absl::Time seed_start = absl::Now();
  for (int e = 0; e < n_exp; ++e) {
    nas::v1::Experiment exp;
    nas::testing::SpecYaml spec;
    spec.name = absl::StrCat("big-", e);
    spec.strategy = absl::StrCat("{name: random, seed: ", e + 1, "}");
    spec.budget = nas::testing::TrialBudget(1000000, 256);
    spec.evaluation = nas::testing::TabularLookup(table, 0, "");
    spec.extra = "required_labels: {nobody: here}\n";
    grpc::Status st = cluster.Create(spec.Yaml(), &exp);
    if (!st.ok()) {
      fprintf(stderr, "list_load: create: %s\n", st.error_message().c_str());
      return 1;
    }
    cluster.Psql(absl::StrCat(
        "WITH c AS (INSERT INTO candidates (experiment_id, seq, space, "
        "canonical, choices, arch_hash, state, val_accuracy, "
        "simulated_seconds) SELECT ",
        exp.id(),
        ", 10000000 + g, 'nb201', 'seeded-' || g, '{0,0,0,0,0,0}', "
        "'seeded-' || g, 'EVALUATED', random(), 1 FROM "
        "generate_series(0, ",
        n_trials - 1,
        ") g RETURNING id, experiment_id) INSERT INTO trials (experiment_id, "
        "candidate_id, status, max_attempts, lease_seconds) SELECT "
        "experiment_id, id, 'SUCCEEDED', 1, 60 FROM c"));
  }
  cluster.Psql("VACUUM ANALYZE");
  printf("seeded %d experiments x %d trials in %.1f s\n", n_exp, n_trials,
         absl::ToDoubleSeconds(absl::Now() - seed_start));

  const int64_t rss_start = nas::testing::ProcStatusKib(pid, "VmRSS");
  std::atomic<bool> stop{false};
  std::atomic<int> registered{0};
  const absl::Duration run_guess = absl::Seconds(20);
  std::thread flood([&] {
    auto stub = nas::v1::WorkerService::NewStub(cluster.channel());
    nas::v1::RegisterWorkerRequest req;
    for (int l = 0; l < 16; ++l) {
      (*req.mutable_labels())[absl::StrCat("label-", l)] = std::string(64, 'v');
    }
    const absl::Duration gap = run_guess / std::max(n_workers, 1);
    for (int i = 0; i < n_workers && !stop; ++i) {
      req.set_worker_id(absl::StrCat("load-", i));
      grpc::ClientContext ctx;
      nas::v1::RegisterWorkerResponse resp;
      if (stub->RegisterWorker(&ctx, req, &resp).ok()) ++registered;
      absl::SleepFor(gap);
    }
  });
  std::vector<double> ms;
  int errors = 0;
  auto stub = nas::v1::ExperimentService::NewStub(cluster.channel());
  for (int i = 0; i < n_calls; ++i) {
    grpc::ClientContext ctx;
    nas::v1::ListExperimentsRequest req;
    req.set_page_size(n_exp);
    nas::v1::ListExperimentsResponse resp;
    const absl::Time t0 = absl::Now();
    grpc::Status st = stub->ListExperiments(&ctx, req, &resp);
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    if (!st.ok() || resp.experiments_size() != std::min(n_exp, 100)) ++errors;
  }
  flood.join();
  stop = true;
  const int64_t rss_end = nas::testing::ProcStatusKib(pid, "VmRSS");
  const int64_t peak = nas::testing::ProcStatusKib(pid, "VmHWM");
  const double p50 = Percentile(ms, 50), p99 = Percentile(ms, 99);
  printf(
      "ListExperiments (%d experiments x %d trials, %d calls, %d errors, "
      "%d workers registered meanwhile)\n",
      n_exp, n_trials, n_calls, errors, registered.load());
  printf("  p50 %.1f ms  p99 %.1f ms  max %.1f ms  p99/100ms target %.2f\n",
         p50, p99, Percentile(ms, 100), p99 / 100.0);
  printf(
      "  controller RSS %.0f MB at start, %.0f MB at end, peak %.0f MB; "
      "peak/300MB target %.2f\n",
      rss_start / 1024.0, rss_end / 1024.0, peak / 1024.0,
      peak / 1024.0 / 300.0);
  cluster.Finish(false);
  return errors == 0 ? 0 : 1;
}
