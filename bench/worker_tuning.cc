// bench/worker_tuning: the demo-settings measurement (minutes of CPU). It
// trains a fixed set of nb201 genotypes with the demo's evaluation settings and
// prints, per candidate, the wall time of Evaluate() (training + validation +
// test + latency), its CPU time (what it would take on an idle core) and the
// accuracies. To emulate one demo worker on one core:
//
//   cmake -S . -B build -DNAS_BUILD_BENCH=ON && ninja -C build worker_tuning
//   taskset -c 0 build/bench/worker_tuning
//
// Environment overrides (defaults = the recommended demo settings):
//   NAS_TUNE_CHANNELS (8)   NAS_TUNE_CELLS (1)     NAS_TUNE_EPOCHS (3)
//   NAS_TUNE_TRAIN (25000)  NAS_TUNE_VAL (5000)    NAS_TUNE_TEST (5000)
//   NAS_TUNE_BATCH (64)     NAS_TUNE_LR (0.1)      NAS_TUNE_THREADS (1)
//   NAS_TUNE_RANDOM (2: random genotypes added to the fixed three)
//   NAS_TUNE_SEED (2024: seed of the random genotypes)
//   NAS_TUNE_FIXED (1; 0 drops the fixed three: random genotypes only)
//   NAS_TUNE_GENOTYPES ("canonical;canonical;...": replaces the fixed three)
// The demo itself (2 workers x 1 thread on 2 cores, 8 random candidates) is
// emulated by two such processes side by side, e.g.
//   NAS_TUNE_FIXED=0 NAS_TUNE_RANDOM=4 NAS_TUNE_SEED=1 taskset -c 0 ... &
//   NAS_TUNE_FIXED=0 NAS_TUNE_RANDOM=4 NAS_TUNE_SEED=2 taskset -c 1 ...
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/spaces/nb201_space.h"
#include "worker/evaluators/evaluator.h"

namespace nas {
namespace {

double EnvDouble(const char* name, double def) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atof(v) : def;
}
int EnvInt(const char* name, int def) {
  return static_cast<int>(EnvDouble(name, def));
}
// CPU seconds of this process (robust to other load on a shared machine).
double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) +
         1e-9 * static_cast<double>(ts.tv_nsec);
}

int Run() {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (access((dir + "/train-images-idx3-ubyte.gz").c_str(), R_OK) != 0) {
    fprintf(stderr, "worker_tuning: no dataset at %s\n", dir.c_str());
    return 1;
  }
  const Nb201Space space;
  std::vector<std::string> canon = {
      // all nor_conv_3x3 (the most expensive cell)
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|"
      "nor_conv_3x3~1|nor_conv_3x3~2|",
      // mostly skip
      "|skip_connect~0|+|skip_connect~0|none~1|+|skip_connect~0|"
      "nor_conv_1x1~1|skip_connect~2|",
      // NAS-Bench-201's best CIFAR cell
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
      "nor_conv_3x3~1|nor_conv_3x3~2|",
  };
  if (const char* g = std::getenv("NAS_TUNE_GENOTYPES"); g && *g) {
    canon = absl::StrSplit(g, ';', absl::SkipEmpty());
  }
  if (EnvInt("NAS_TUNE_FIXED", 1) == 0) canon.clear();
  std::vector<std::vector<int>> genotypes;
  for (const std::string& c : canon) {
    absl::StatusOr<std::vector<int>> choices = space.Parse(c);
    if (!choices.ok()) {
      fprintf(stderr, "worker_tuning: %s\n",
              choices.status().ToString().c_str());
      return 1;
    }
    genotypes.push_back(*choices);
  }
  std::mt19937_64 rng(EnvInt("NAS_TUNE_SEED", 2024));
  for (int i = 0; i < EnvInt("NAS_TUNE_RANDOM", 2); ++i) {
    genotypes.push_back(space.Sample(rng));
  }

  EvaluatorOptions options;
  options.threads = EnvInt("NAS_TUNE_THREADS", 1);
  std::unique_ptr<Evaluator> ev = MakeTorchEvaluator(options).value();

  v1::Trial trial;
  trial.mutable_nb201()->set_channels(EnvInt("NAS_TUNE_CHANNELS", 8));
  trial.mutable_nb201()->set_cells_per_stage(EnvInt("NAS_TUNE_CELLS", 1));
  v1::EvaluationSpec* e = trial.mutable_evaluation();
  e->set_mode(v1::FULL);
  e->set_dataset("fashion_mnist");
  e->set_data_dir(dir);
  e->set_epochs(EnvInt("NAS_TUNE_EPOCHS", 3));
  e->set_batch_size(EnvInt("NAS_TUNE_BATCH", 64));
  e->set_learning_rate(EnvDouble("NAS_TUNE_LR", 0.1));
  e->set_momentum(0.9);
  e->set_weight_decay(5e-4);
  e->set_train_samples(EnvInt("NAS_TUNE_TRAIN", 25000));
  e->set_val_samples(EnvInt("NAS_TUNE_VAL", 5000));
  e->set_test_samples(EnvInt("NAS_TUNE_TEST", 5000));
  e->set_data_seed(1);
  e->set_latency_runs(30);

  std::string report = "\n";
  char line[512];
  std::snprintf(line, sizeof(line),
                "settings: channels %d cells %d epochs %d train %d val %d "
                "test %d batch %d lr %.3f threads %d (%s)\n",
                trial.nb201().channels(), trial.nb201().cells_per_stage(),
                e->epochs(), e->train_samples(), e->val_samples(),
                e->test_samples(), e->batch_size(), e->learning_rate(),
                options.threads, ev->device().c_str());
  report += line;
  double best = 0;
  for (size_t i = 0; i < genotypes.size(); ++i) {
    absl::StatusOr<v1::Genotype> g = space.ToProto(genotypes[i]);
    if (!g.ok()) {
      fprintf(stderr, "worker_tuning: %s\n", g.status().ToString().c_str());
      return 1;
    }
    trial.set_trial_id(static_cast<int64_t>(i) + 1);
    trial.set_attempt(1);
    *trial.mutable_genotype() = *g;
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = ProcessCpuSeconds();
    absl::StatusOr<v1::EvaluationMetrics> m = ev->Evaluate(trial, nullptr);
    const double cpu = ProcessCpuSeconds() - cpu0;
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    if (!m.ok()) {
      fprintf(stderr, "worker_tuning: %s\n", m.status().ToString().c_str());
      return 1;
    }
    best = std::max(best, m->val_accuracy());
    std::snprintf(line, sizeof(line),
                  "%s val %.4f test %.4f loss %.3f wall %.1fs cpu %.1fs train "
                  "%.1fs params %lld macs %lld latency %.2fms (iqr %.2f)%s\n",
                  g->canonical().c_str(), m->val_accuracy(), m->test_accuracy(),
                  m->train_loss(), wall, cpu, m->train_seconds(),
                  static_cast<long long>(m->params()),
                  static_cast<long long>(m->macs()), m->latency_ms(),
                  m->latency_iqr_ms(), i == 0 ? " [incl. data load]" : "");
    report += line;
    std::fputs(line, stderr);
  }
  std::snprintf(line, sizeof(line), "best val %.4f\n", best);
  report += line;
  std::fputs(report.c_str(), stdout);
  return 0;
}

}  // namespace
}  // namespace nas

int main() { return nas::Run(); }
