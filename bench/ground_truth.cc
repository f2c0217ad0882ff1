// ground_truth: trains --archs distinct nb201 cells, drawn uniformly from
// the space with --seed, standalone on Fashion-MNIST through the worker's
// own evaluator (MakeTorchEvaluator, mode FULL, exactly as nas-worker
// trains a trial) and writes one CSV row per cell:
//
//   cell,val_accuracy,test_accuracy,macs,params,seconds
//
// `seconds` is the whole evaluation's wall time. The other benchmarks
// (bench/zero_cost, the supernet and DARTS comparisons) read this file
// instead of retraining. The run is resumable: cells already in --out are
// kept and skipped, so an interrupted run continues where it stopped.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "common/spaces/search_space.h"
#include "worker/evaluators/evaluator.h"

ABSL_FLAG(int, archs, 120, "distinct nb201 cells to train");
ABSL_FLAG(int, channels, 8, "nb201 channels of the first stage");
ABSL_FLAG(int, cells, 1, "nb201 cells per stage");
ABSL_FLAG(int, epochs, 3, "training epochs per cell");
ABSL_FLAG(int, train_samples, 10000, "training images");
ABSL_FLAG(int, val_samples, 5000, "validation images");
ABSL_FLAG(int, test_samples, 5000, "test images");
ABSL_FLAG(int, batch_size, 128, "batch size");
ABSL_FLAG(double, learning_rate, 0.1, "SGD learning rate (cosine)");
ABSL_FLAG(int, threads, 2, "LibTorch threads");
ABSL_FLAG(int, seed, 1, "seed of the cell sample and of training");
ABSL_FLAG(std::string, data_dir, "",
          "Fashion-MNIST directory (default: the preset's)");
ABSL_FLAG(std::string, out, "docs/bench/ground_truth.csv", "CSV to write");

namespace {
using Clock = std::chrono::steady_clock;
constexpr char kHeader[] =
    "cell,val_accuracy,test_accuracy,macs,params,seconds";
}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto space = nas::GetSearchSpace("nb201");
  if (!space.ok()) {
    fprintf(stderr, "ground_truth: %s\n", space.status().ToString().c_str());
    return 1;
  }
  const int archs = absl::GetFlag(FLAGS_archs);
  if (archs < 1) {
    fprintf(stderr, "ground_truth: --archs must be >= 1\n");
    return 2;
  }
  const std::string out = absl::GetFlag(FLAGS_out);
  std::set<std::string> done;
  if (std::ifstream in(out); in) {
    std::string line;
    std::getline(in, line);
    if (line != kHeader) {
      fprintf(stderr, "ground_truth: %s exists with another header\n",
              out.c_str());
      return 2;
    }
    while (std::getline(in, line)) {
      std::vector<std::string> cols = absl::StrSplit(line, ',');
      if (cols.size() == 6) done.insert(cols[0]);
    }
  } else {
    if (auto dir = std::filesystem::path(out).parent_path(); !dir.empty()) {
      std::filesystem::create_directories(dir);
    }
    std::ofstream(out) << kHeader << "\n";
  }

  nas::EvaluatorOptions eo;
  eo.threads = absl::GetFlag(FLAGS_threads);
  eo.verbose = false;
  std::unique_ptr<nas::Evaluator> evaluator =
      nas::MakeTorchEvaluator(eo).value();

  nas::v1::Trial base;
  base.mutable_genotype()->set_space("nb201");
  nas::v1::SearchSpaceSpec* ss = base.mutable_search_space();
  ss->set_name("nb201");
  ss->mutable_nb201()->set_channels(absl::GetFlag(FLAGS_channels));
  ss->mutable_nb201()->set_cells_per_stage(absl::GetFlag(FLAGS_cells));
  nas::v1::EvaluationSpec* ev = base.mutable_evaluation();
  ev->set_mode(nas::v1::FULL);
  ev->set_dataset("fashion_mnist");
  ev->set_data_dir(absl::GetFlag(FLAGS_data_dir));
  ev->set_epochs(absl::GetFlag(FLAGS_epochs));
  ev->set_batch_size(absl::GetFlag(FLAGS_batch_size));
  ev->set_learning_rate(absl::GetFlag(FLAGS_learning_rate));
  ev->set_momentum(0.9);
  ev->set_weight_decay(5e-4);
  ev->set_train_samples(absl::GetFlag(FLAGS_train_samples));
  ev->set_val_samples(absl::GetFlag(FLAGS_val_samples));
  ev->set_test_samples(absl::GetFlag(FLAGS_test_samples));
  ev->set_data_seed(absl::GetFlag(FLAGS_seed));

  std::mt19937 rng(static_cast<uint32_t>(absl::GetFlag(FLAGS_seed)));
  std::set<std::vector<int>> seen;
  int index = 0;
  const Clock::time_point start = Clock::now();
  while (index < archs) {
    std::vector<int> choices((*space)->num_decisions());
    for (int d = 0; d < (*space)->num_decisions(); ++d) {
      choices[d] = std::uniform_int_distribution<int>(
          0, (*space)->num_choices(d) - 1)(rng);
    }
    if (!seen.insert(choices).second) continue;
    auto g = (*space)->ToProto(choices);
    if (!g.ok()) continue;
    ++index;
    if (done.count(g->canonical()) > 0) continue;
    nas::v1::Trial t = base;
    t.set_trial_id(index);
    *t.mutable_genotype() = *g;
    const Clock::time_point t0 = Clock::now();
    auto m = evaluator->Evaluate(t, nullptr);
    const double seconds =
        std::chrono::duration<double>(Clock::now() - t0).count();
    if (!m.ok()) {
      fprintf(stderr, "ground_truth: %s: %s\n", g->canonical().c_str(),
              m.status().ToString().c_str());
      return 1;
    }
    std::ofstream(out, std::ios::app)
        << g->canonical() << "," << m->val_accuracy() << ","
        << m->test_accuracy() << "," << m->macs() << "," << m->params() << ","
        << seconds << "\n";
    printf("[%3d/%d] %s val %.4f test %.4f (%.1fs, %.0fs in all)\n", index,
           archs, g->canonical().c_str(), m->val_accuracy(), m->test_accuracy(),
           seconds,
           std::chrono::duration<double>(Clock::now() - start).count());
    fflush(stdout);
  }
  return 0;
}
