// bench/latency_repeat: latency repeatability of one worker. Evaluates the
// same candidate --repeats times through the worker's own evaluator
// (MakeTorchEvaluator: a short training run, then the batch-1 latency
// measurement of every trial: 5 warm-up and --latency_runs timed forward
// passes, median reported) and prints each trial's median and IQR and the
// spread max/min of the medians (target < 1.15). One candidate per space.
//
//   NAS_BUILD_DIR=/tmp/b bash scripts/build.sh latency_repeat
//   /tmp/b/bench/latency_repeat --threads=1
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/spaces/search_space.h"
#include "worker/evaluators/evaluator.h"

ABSL_FLAG(int, threads, 1, "LibTorch intra-op threads (as nas-worker)");
ABSL_FLAG(int, repeats, 5, "evaluations of each candidate");
ABSL_FLAG(int, latency_runs, 30, "timed runs per evaluation (spec default)");

namespace nas {
namespace {

struct Candidate {
  std::string space;
  std::string canonical;
};

int Run() {
  EvaluatorOptions eo;
  eo.threads = absl::GetFlag(FLAGS_threads);
  eo.verbose = false;
  std::unique_ptr<Evaluator> ev = MakeTorchEvaluator(eo).value();
  const std::vector<Candidate> candidates = {
      {"nb201",
       "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|"
       "nor_conv_3x3~1|skip_connect~2|"},
      {"mobilenet", "k5e4d3se1-k5e4d3se0-k5e4d3se1-k5e4d3se0"},
  };
  const int repeats = absl::GetFlag(FLAGS_repeats);
  std::printf("device %s, %d evaluations per candidate, %d timed runs each\n",
              ev->device().c_str(), repeats, absl::GetFlag(FLAGS_latency_runs));
  std::printf("| candidate | latency medians (ms) | IQRs (ms) | max/min |\n");
  std::printf("| --- | --- | --- | ---: |\n");
  double worst = 0;
  for (const Candidate& c : candidates) {
    const SearchSpace* space = GetSearchSpace(c.space).value();
    v1::Trial trial;
    trial.set_trial_id(1);
    trial.set_attempt(1);
    *trial.mutable_genotype() =
        space->ToProto(space->Parse(c.canonical).value()).value();
    trial.mutable_search_space()->set_name(c.space);
    if (c.space == "nb201") {
      trial.mutable_search_space()->mutable_nb201()->set_channels(16);
      trial.mutable_search_space()->mutable_nb201()->set_cells_per_stage(1);
    }
    v1::EvaluationSpec* e = trial.mutable_evaluation();
    e->set_mode(v1::FULL);
    e->set_dataset("fashion_mnist");
    e->set_epochs(1);
    e->set_batch_size(128);
    e->set_train_samples(512);
    e->set_val_samples(500);
    e->set_test_samples(500);
    e->set_latency_runs(absl::GetFlag(FLAGS_latency_runs));
    std::vector<double> medians;
    std::string meds, iqrs;
    for (int r = 0; r < repeats; ++r) {
      absl::StatusOr<v1::EvaluationMetrics> m = ev->Evaluate(trial, nullptr);
      if (!m.ok()) {
        std::fprintf(stderr, "latency_repeat: %s\n",
                     m.status().ToString().c_str());
        return 1;
      }
      medians.push_back(m->latency_ms());
      meds += (r ? " " : "") + std::to_string(m->latency_ms()).substr(0, 6);
      iqrs += (r ? " " : "") + std::to_string(m->latency_iqr_ms()).substr(0, 6);
    }
    const double spread = *std::max_element(medians.begin(), medians.end()) /
                          *std::min_element(medians.begin(), medians.end());
    worst = std::max(worst, spread);
    std::printf("| %s `%s` | %s | %s | %.3f |\n", c.space.c_str(),
                c.canonical.c_str(), meds.c_str(), iqrs.c_str(), spread);
  }
  std::printf("worst spread %.3f (target < 1.15)\n", worst);
  return 0;
}

}  // namespace
}  // namespace nas

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return nas::Run();
}
