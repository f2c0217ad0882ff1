// supernet_ranking: how well weights inherited from a supernet rank
// architectures, and what an inherited evaluation costs, against training
// each architecture standalone with the same epochs.
//
// Everything runs through the worker's own evaluator (MakeTorchEvaluator),
// exactly as nas-worker runs trials: one supernet-training trial (SPOS,
// --epochs), then for each of --archs architectures drawn uniformly from the
// space (seeded, distinct) one SUPERNET trial (inherit, recalibrate batch
// norm, measure) and one FULL trial (train from scratch for --epochs).
// Reports Kendall's tau-b and Spearman's rho between the two rankings by
// validation accuracy, and the cost ratio standalone / inherited, both as
// the evaluation's own seconds (EvaluationMetrics.train_seconds: training or
// inheritance + calibration, with validation) and as the whole trial's wall
// time (which adds the test set, latency and throughput measurements that
// both kinds of trial make). Writes supernet_ranking.{csv,svg} to --out_dir.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/rank_stats.h"
#include "common/sha256.h"
#include "common/spaces/search_space.h"
#include "worker/evaluators/evaluator.h"

ABSL_FLAG(std::string, space, "nb201", "search space (nb201 or mobilenet)");
ABSL_FLAG(int, channels, 8, "nb201 channels of the first stage");
ABSL_FLAG(int, cells, 1, "nb201 cells per stage");
ABSL_FLAG(int, archs, 30, "architectures evaluated both ways");
ABSL_FLAG(int, epochs, 4, "epochs of each standalone training");
ABSL_FLAG(int, supernet_epochs, 0,
          "epochs of supernet training (0 = --epochs); the supernet's cost "
          "is reported in standalone trainings");
ABSL_FLAG(int, train_samples, 0, "training images (0 = all but validation)");
ABSL_FLAG(int, val_samples, 5000, "validation images");
ABSL_FLAG(int, test_samples, 2000, "test images");
ABSL_FLAG(int, batch_size, 128, "batch size");
ABSL_FLAG(double, learning_rate, 0.1, "SGD learning rate (cosine)");
ABSL_FLAG(int, calibration_batches, 20, "batch-norm recalibration batches");
ABSL_FLAG(int, finetune_steps, 0, "fine-tuning steps of inherited weights");
ABSL_FLAG(int, threads, 2, "LibTorch threads");
ABSL_FLAG(int, seed, 1, "seed of the architecture sample and of training");
ABSL_FLAG(std::string, data_dir, "",
          "Fashion-MNIST directory (default: "
          "Debian's)");
ABSL_FLAG(std::string, out_dir, ".", "where supernet_ranking.{csv,svg} go");
ABSL_FLAG(std::string, reuse_standalone, "",
          "a supernet_ranking.csv of an earlier run with the same "
          "--archs/--seed/--epochs/data flags: take the standalone results "
          "from it instead of training again (to compare supernet settings)");

namespace {

using Clock = std::chrono::steady_clock;
using nas::KendallTauB;
using nas::Median;
using nas::Spearman;

double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Row {
  std::string arch;
  double inherited_acc = 0, standalone_acc = 0;
  double inherited_eval_s = 0, standalone_eval_s = 0;  // train_seconds
  double inherited_wall_s = 0, standalone_wall_s = 0;
  int64_t params = 0;
};

// Inherited (x) against standalone (y) validation accuracy, one dot each.
std::string ScatterSvg(const std::vector<Row>& rows, double tau, double rho) {
  const double w = 560, h = 440, left = 70, right = 20, top = 40, bottom = 60;
  double lo = 1, hi = 0;
  for (const Row& r : rows) {
    lo = std::min({lo, r.inherited_acc, r.standalone_acc});
    hi = std::max({hi, r.inherited_acc, r.standalone_acc});
  }
  lo = std::floor(lo * 20) / 20;
  hi = std::ceil(hi * 20) / 20;
  if (hi <= lo) hi = lo + 0.05;
  auto px = [&](double v) {
    return left + (v - lo) / (hi - lo) * (w - left - right);
  };
  auto py = [&](double v) {
    return h - bottom - (v - lo) / (hi - lo) * (h - top - bottom);
  };
  std::string s = absl::StrFormat(
      "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
      "width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n",
      w, h);
  s += absl::StrFormat(
      "<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">"
      "Supernet ranking: %zu architectures, Kendall tau %.3f, Spearman rho "
      "%.3f</text>\n",
      w / 2, rows.size(), tau, rho);
  for (double t = lo; t <= hi + 1e-9; t += 0.05) {
    s += absl::StrFormat(
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#ddd\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"middle\">%.2f</text>\n",
        px(t), py(lo), px(t), py(hi), px(t), h - bottom + 18, t);
    s += absl::StrFormat(
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#ddd\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"end\">%.2f</text>\n",
        px(lo), py(t), px(hi), py(t), left - 6, py(t) + 4, t);
  }
  s += absl::StrFormat(
      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">validation "
      "accuracy, weights inherited from the supernet</text>\n",
      (left + w - right) / 2, h - 15);
  s += absl::StrFormat(
      "<text transform=\"translate(18 %.1f) rotate(-90)\" "
      "text-anchor=\"middle\">validation accuracy, trained "
      "standalone</text>\n",
      (top + h - bottom) / 2);
  for (const Row& r : rows) {
    s += absl::StrFormat(
        "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\" "
        "fill-opacity=\"0.8\"><title>%s</title></circle>\n",
        px(r.inherited_acc), py(r.standalone_acc), r.arch);
  }
  s += "</svg>\n";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string space_name = absl::GetFlag(FLAGS_space);
  auto space = nas::GetSearchSpace(space_name);
  if (!space.ok()) {
    fprintf(stderr, "supernet_ranking: --space: %s\n",
            std::string(space.status().message()).c_str());
    return 2;
  }
  const int archs = absl::GetFlag(FLAGS_archs);
  if (archs < 3) {
    fprintf(stderr, "supernet_ranking: --archs must be >= 3\n");
    return 2;
  }
  nas::EvaluatorOptions eo;
  eo.threads = absl::GetFlag(FLAGS_threads);
  eo.verbose = false;
  std::unique_ptr<nas::Evaluator> evaluator =
      nas::MakeTorchEvaluator(eo).value();
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  std::filesystem::create_directories(out_dir);
  const std::string weights_path = out_dir + "/supernet_ranking.weights";
  std::string weights_hash;
  evaluator->SetArtifactFetcher(
      [&](const std::string& hash) -> absl::StatusOr<std::string> {
        if (hash != weights_hash) return absl::NotFoundError(hash);
        return weights_path;
      });

  nas::v1::Trial base;
  base.mutable_genotype()->set_space(space_name);
  nas::v1::SearchSpaceSpec* ss = base.mutable_search_space();
  ss->set_name(space_name);
  if (space_name == "nb201") {
    ss->mutable_nb201()->set_channels(absl::GetFlag(FLAGS_channels));
    ss->mutable_nb201()->set_cells_per_stage(absl::GetFlag(FLAGS_cells));
  }
  nas::v1::EvaluationSpec* ev = base.mutable_evaluation();
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
  const int supernet_epochs = absl::GetFlag(FLAGS_supernet_epochs) > 0
                                  ? absl::GetFlag(FLAGS_supernet_epochs)
                                  : absl::GetFlag(FLAGS_epochs);
  ev->mutable_supernet()->set_epochs(supernet_epochs);
  ev->mutable_supernet()->set_calibration_batches(
      absl::GetFlag(FLAGS_calibration_batches));
  ev->mutable_supernet()->set_finetune_steps(
      absl::GetFlag(FLAGS_finetune_steps));
  ev->mutable_supernet()->set_finetune_learning_rate(
      absl::GetFlag(FLAGS_learning_rate) / 10);

  // 1. The supernet.
  nas::v1::Trial st = base;
  st.set_trial_id(1);
  st.set_supernet_training(true);
  st.mutable_evaluation()->set_mode(nas::v1::SUPERNET);
  st.mutable_evaluation()->set_epochs(supernet_epochs);
  printf("supernet_ranking: %s supernet, %d epochs ...\n", space_name.c_str(),
         supernet_epochs);
  fflush(stdout);
  const Clock::time_point t_super = Clock::now();
  auto sm = evaluator->Evaluate(st, [&](const nas::EpochProgress& p) {
    printf("  supernet epoch %d: loss %.3f probe_acc %.3f (%.0fs)\n", p.epoch,
           p.train_loss, p.val_accuracy, p.seconds);
    fflush(stdout);
    return true;
  });
  if (!sm.ok()) {
    fprintf(stderr, "supernet_ranking: supernet: %s\n",
            sm.status().ToString().c_str());
    return 1;
  }
  const double supernet_seconds = Seconds(t_super);
  const std::string weights = evaluator->TakeModel();
  weights_hash = nas::Sha256Hex(weights);
  std::ofstream(weights_path, std::ios::binary) << weights;
  printf("supernet: %lld parameters, %.0fs\n",
         static_cast<long long>(sm->params()), supernet_seconds);

  // Standalone results of an earlier run, by architecture.
  std::map<std::string, std::vector<std::string>> reused;
  if (const std::string f = absl::GetFlag(FLAGS_reuse_standalone); !f.empty()) {
    // The file may still be being written by a run started earlier.
    for (int i = 0; i < 360 && !std::filesystem::exists(f); ++i) {
      if (i == 0) printf("waiting for %s ...\n", f.c_str());
      fflush(stdout);
      std::this_thread::sleep_for(std::chrono::seconds(10));
    }
    std::ifstream in(f);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::vector<std::string> cols = absl::StrSplit(line, ',');
      if (cols.size() == 8) reused[cols[0]] = cols;
    }
    if (reused.empty()) {
      fprintf(stderr, "supernet_ranking: --reuse_standalone: no rows in %s\n",
              f.c_str());
      return 2;
    }
  }

  // 2. The architectures, both ways.
  std::mt19937 rng(static_cast<uint32_t>(absl::GetFlag(FLAGS_seed)));
  std::set<std::vector<int>> seen;
  std::vector<Row> rows;
  while (static_cast<int>(rows.size()) < archs) {
    std::vector<int> choices((*space)->num_decisions());
    for (int d = 0; d < (*space)->num_decisions(); ++d) {
      choices[d] = std::uniform_int_distribution<int>(
          0, (*space)->num_choices(d) - 1)(rng);
    }
    if (!seen.insert(choices).second) continue;
    auto g = (*space)->ToProto(choices);
    if (!g.ok()) continue;
    Row row;
    row.arch = g->canonical();
    nas::v1::Trial t = base;
    t.set_trial_id(100 + static_cast<int64_t>(rows.size()));
    *t.mutable_genotype() = *g;
    t.mutable_evaluation()->set_mode(nas::v1::SUPERNET);
    t.set_supernet_hash(weights_hash);
    Clock::time_point t0 = Clock::now();
    auto inherited = evaluator->Evaluate(t, nullptr);
    row.inherited_wall_s = Seconds(t0);
    t.mutable_evaluation()->set_mode(nas::v1::FULL);
    t.clear_supernet_hash();
    t0 = Clock::now();
    absl::StatusOr<nas::v1::EvaluationMetrics> standalone;
    if (auto it = reused.find(row.arch); it != reused.end()) {
      nas::v1::EvaluationMetrics m;
      m.set_params(std::stoll(it->second[1]));
      m.set_val_accuracy(std::stod(it->second[3]));
      m.set_train_seconds(std::stod(it->second[5]));
      standalone = m;
      row.standalone_wall_s = std::stod(it->second[7]);
    } else if (!reused.empty()) {
      fprintf(stderr, "supernet_ranking: %s is not in --reuse_standalone\n",
              row.arch.c_str());
      return 2;
    } else {
      standalone = evaluator->Evaluate(t, nullptr);
      row.standalone_wall_s = Seconds(t0);
    }
    if (!inherited.ok() || !standalone.ok()) {
      fprintf(stderr, "supernet_ranking: %s: %s / %s\n", row.arch.c_str(),
              inherited.status().ToString().c_str(),
              standalone.status().ToString().c_str());
      return 1;
    }
    row.inherited_acc = inherited->val_accuracy();
    row.standalone_acc = standalone->val_accuracy();
    row.inherited_eval_s = inherited->train_seconds();
    row.standalone_eval_s = standalone->train_seconds();
    row.params = standalone->params();
    rows.push_back(row);
    printf("[%2zu/%d] %s inherited %.4f (%.2fs) standalone %.4f (%.1fs)\n",
           rows.size(), archs, row.arch.c_str(), row.inherited_acc,
           row.inherited_wall_s, row.standalone_acc, row.standalone_wall_s);
    fflush(stdout);
  }

  std::vector<double> inh, sta, inh_eval, sta_eval, inh_wall, sta_wall;
  for (const Row& r : rows) {
    inh.push_back(r.inherited_acc);
    sta.push_back(r.standalone_acc);
    inh_eval.push_back(r.inherited_eval_s);
    sta_eval.push_back(r.standalone_eval_s);
    inh_wall.push_back(r.inherited_wall_s);
    sta_wall.push_back(r.standalone_wall_s);
  }
  const double tau = KendallTauB(inh, sta);
  const double rho = Spearman(inh, sta);
  // The same over the architectures that learn at all standalone (> 20%):
  // degenerate cells (no path to the output) are easy to rank.
  std::vector<double> inh_live, sta_live;
  for (const Row& r : rows) {
    if (r.standalone_acc > 0.2) {
      inh_live.push_back(r.inherited_acc);
      sta_live.push_back(r.standalone_acc);
    }
  }
  const double eval_ratio = Median(sta_eval) / Median(inh_eval);
  const double wall_ratio = Median(sta_wall) / Median(inh_wall);
  printf("\n%zu architectures; supernet %d epochs, standalone %d epochs\n",
         rows.size(), supernet_epochs, absl::GetFlag(FLAGS_epochs));
  printf("Kendall tau-b %.3f, Spearman rho %.3f\n", tau, rho);
  printf("  (the %zu that learn standalone, val > 0.2: tau-b %.3f, rho %.3f)\n",
         inh_live.size(), KendallTauB(inh_live, sta_live),
         Spearman(inh_live, sta_live));
  printf(
      "cost, median seconds: inherited evaluation %.3f, standalone training "
      "%.2f: %.1fx cheaper\n",
      Median(inh_eval), Median(sta_eval), eval_ratio);
  printf(
      "whole trial wall time, median: inherited %.3f s, standalone %.2f s: "
      "%.1fx\n",
      Median(inh_wall), Median(sta_wall), wall_ratio);
  printf("supernet training: %.0f s (= %.1f standalone trainings)\n",
         supernet_seconds, supernet_seconds / Median(sta_wall));

  std::ofstream csv(out_dir + "/supernet_ranking.csv");
  csv << "arch,params,inherited_val_acc,standalone_val_acc,inherited_eval_s,"
         "standalone_eval_s,inherited_wall_s,standalone_wall_s\n";
  for (const Row& r : rows) {
    csv << absl::StrFormat("%s,%d,%.4f,%.4f,%.4f,%.3f,%.4f,%.3f\n", r.arch,
                           r.params, r.inherited_acc, r.standalone_acc,
                           r.inherited_eval_s, r.standalone_eval_s,
                           r.inherited_wall_s, r.standalone_wall_s);
  }
  std::ofstream(out_dir + "/supernet_ranking.svg")
      << ScatterSvg(rows, tau, rho);
  std::filesystem::remove(weights_path);
  printf("wrote %s/supernet_ranking.{csv,svg}\n", out_dir.c_str());
  return 0;
}
