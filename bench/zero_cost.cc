// zero_cost: scores the nb201 cells of the ground truth (bench/ground_truth's
// CSV: cell,val_accuracy,test_accuracy,macs,params,seconds) with mode
// ZERO_COST through the worker's own evaluator (MakeTorchEvaluator, exactly
// as nas-worker runs such a trial), and reports how well each proxy, and
// params and macs, rank the cells against their trained accuracies:
// Spearman's rho and Kendall's tau-b, and the median cost of one ZERO_COST
// evaluation against one standalone training. Writes into --out_dir:
//
//   zero_cost.csv  cell,synflow,jacob_cov,snip,grad_norm,params,macs,
//                  proxy_seconds,eval_seconds
//   zero_cost.txt  the table printed on stdout
//   zero_cost.svg  one scatter panel per proxy (score against validation
//                  accuracy; log scale where the scores span decades)
//
// The skeleton and data flags default to ground_truth's defaults; they
// must match the run that wrote the ground truth.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/rank_stats.h"
#include "common/spaces/search_space.h"
#include "common/spec/defaults.h"
#include "worker/evaluators/evaluator.h"

ABSL_FLAG(std::string, ground_truth, "docs/bench/ground_truth.csv",
          "bench/ground_truth's CSV");
ABSL_FLAG(std::string, out_dir, "docs/bench",
          "where zero_cost.csv, .txt and .svg go");
ABSL_FLAG(int, max_cells, 0, "score only the first N cells (0 = all)");
ABSL_FLAG(int, channels, 8, "nb201 channels of the first stage");
ABSL_FLAG(int, cells, 1, "nb201 cells per stage");
ABSL_FLAG(int, train_samples, 10000, "training images");
ABSL_FLAG(int, val_samples, 5000, "validation images");
ABSL_FLAG(int, test_samples, 5000, "test images");
ABSL_FLAG(int, seed, 1, "data seed (and initialization seed)");
ABSL_FLAG(int, batches, 1, "zero_cost.batches");
ABSL_FLAG(int, batch_size, 64, "zero_cost.batch_size");
ABSL_FLAG(int, threads, 2, "LibTorch threads");
ABSL_FLAG(std::string, device, "cpu", "cpu, cuda or auto");
ABSL_FLAG(std::string, data_dir, "",
          "Fashion-MNIST directory (default: the preset's)");

namespace {

using Clock = std::chrono::steady_clock;

const std::vector<std::string>& kProxies = nas::ZeroCostProxyNames();

struct TruthRow {
  std::string cell;
  double val = 0, test = 0, seconds = 0;
};

struct Scored {
  TruthRow truth;
  std::map<std::string, double> proxies;
  double params = 0, macs = 0, proxy_seconds = 0, eval_seconds = 0;
};

bool ReadTruth(const std::string& path, std::vector<TruthRow>* rows) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line) ||
      line != "cell,val_accuracy,test_accuracy,macs,params,seconds") {
    return false;
  }
  while (std::getline(in, line)) {
    std::vector<std::string> c = absl::StrSplit(line, ',');
    TruthRow r;
    if (c.size() != 6 || !absl::SimpleAtod(c[1], &r.val) ||
        !absl::SimpleAtod(c[2], &r.test) ||
        !absl::SimpleAtod(c[5], &r.seconds)) {
      continue;  // a row still being written
    }
    r.cell = c[0];
    rows->push_back(r);
  }
  return true;
}

// Scores of `name` in `rows` (params and macs included).
std::vector<double> Column(const std::vector<Scored>& rows,
                           const std::string& name) {
  std::vector<double> out;
  for (const Scored& r : rows) {
    if (name == "params") {
      out.push_back(r.params);
    } else if (name == "macs") {
      out.push_back(r.macs);
    } else {
      out.push_back(r.proxies.at(name));
    }
  }
  return out;
}

std::string Table(const std::vector<Scored>& rows, const std::string& device) {
  std::vector<double> val, test, eval, proxy, trained;
  for (const Scored& r : rows) {
    val.push_back(r.truth.val);
    test.push_back(r.truth.test);
    eval.push_back(r.eval_seconds);
    proxy.push_back(r.proxy_seconds);
    trained.push_back(r.truth.seconds);
  }
  std::string out = absl::StrFormat(
      "Zero-cost proxies on %d nb201 cells (channels %d, %d cell(s) per "
      "stage, Fashion-MNIST, %d batch(es) of %d, %s)\n\n",
      static_cast<int>(rows.size()), absl::GetFlag(FLAGS_channels),
      absl::GetFlag(FLAGS_cells), absl::GetFlag(FLAGS_batches),
      absl::GetFlag(FLAGS_batch_size), device);
  absl::StrAppendFormat(&out, "%-10s %9s %9s %9s %9s\n", "score", "rho(val)",
                        "tau(val)", "rho(test)", "tau(test)");
  std::vector<std::string> names = kProxies;
  names.push_back("params");
  names.push_back("macs");
  for (const std::string& name : names) {
    const std::vector<double> s = Column(rows, name);
    absl::StrAppendFormat(&out, "%-10s %9.3f %9.3f %9.3f %9.3f\n", name,
                          nas::Spearman(s, val), nas::KendallTauB(s, val),
                          nas::Spearman(s, test), nas::KendallTauB(s, test));
  }
  const double zc = nas::Median(eval), tr = nas::Median(trained);
  absl::StrAppendFormat(
      &out,
      "\nmedian seconds: one ZERO_COST evaluation %.3f (proxies alone "
      "%.3f), one standalone training %.1f: %.0fx cheaper\n",
      zc, nas::Median(proxy), tr, zc > 0 ? tr / zc : 0.0);
  return out;
}

// A valid SVG number.
std::string Num(double v) { return absl::StrFormat("%.2f", v); }

std::string Svg(const std::vector<Scored>& rows) {
  constexpr int kW = 380, kH = 300, kCols = 2;
  constexpr int kLeft = 60, kRight = 15, kTop = 34, kBottom = 46;
  const int panels = static_cast<int>(kProxies.size());
  const int rows_n = (panels + kCols - 1) / kCols;
  std::string s = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      kW * kCols, kH * rows_n);
  // Cells that do not learn at all (validation accuracy < 0.2: chance is
  // 0.1) would squeeze the others into a line: they are counted in the
  // correlations but not drawn.
  constexpr double kLearns = 0.2;
  std::vector<double> val, drawn_val;
  for (const Scored& r : rows) {
    val.push_back(r.truth.val);
    if (r.truth.val >= kLearns) drawn_val.push_back(r.truth.val);
  }
  if (drawn_val.empty()) drawn_val = val;
  double vmin = *std::min_element(drawn_val.begin(), drawn_val.end());
  double vmax = *std::max_element(drawn_val.begin(), drawn_val.end());
  if (vmax <= vmin) vmax = vmin + 1e-3;
  for (int p = 0; p < panels; ++p) {
    const std::string& name = kProxies[p];
    const std::vector<double> all = Column(rows, name);
    // A singular NASWOT kernel scores the lowest double: not plotted.
    std::vector<double> xs, ys;
    int hidden = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      if (val[i] < kLearns || !(all[i] > -1e300)) {
        ++hidden;
      } else {
        xs.push_back(all[i]);
        ys.push_back(val[i]);
      }
    }
    const int ox = (p % kCols) * kW, oy = (p / kCols) * kH;
    const int pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
    double lo = xs.empty() ? 0 : *std::min_element(xs.begin(), xs.end());
    double hi = xs.empty() ? 1 : *std::max_element(xs.begin(), xs.end());
    const bool log = lo > 0 && hi / lo > 100;
    auto tx = [&](double v) { return log ? std::log10(v) : v; };
    double a = tx(lo), b = tx(hi);
    if (b <= a) b = a + 1;
    const double pad = (b - a) * 0.04;
    a -= pad;
    b += pad;
    auto px = [&](double v) { return ox + kLeft + (tx(v) - a) / (b - a) * pw; };
    auto py = [&](double v) {
      return oy + kTop + ph - (v - vmin) / (vmax - vmin) * ph;
    };
    absl::StrAppendFormat(
        &s,
        "<text x=\"%d\" y=\"%d\" font-size=\"13\" font-weight=\"bold\">%s%s: "
        "Spearman rho %.3f (n=%d)</text>\n",
        ox + kLeft, oy + 20, name, log ? " (log scale)" : "",
        nas::Spearman(all, val), static_cast<int>(all.size()));
    absl::StrAppendFormat(&s,
                          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                          "fill=\"none\" stroke=\"#888\"/>\n",
                          ox + kLeft, oy + kTop, pw, ph);
    for (int t = 0; t <= 4; ++t) {
      const double fx = a + (b - a) * t / 4;
      const double xv = log ? std::pow(10, fx) : fx;
      const double X = ox + kLeft + pw * t / 4.0;
      absl::StrAppendFormat(
          &s, "<text x=\"%s\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
          Num(X), oy + kTop + ph + 14, absl::StrFormat("%.3g", xv));
      const double yv = vmin + (vmax - vmin) * t / 4;
      absl::StrAppendFormat(
          &s, "<text x=\"%d\" y=\"%s\" text-anchor=\"end\">%.3f</text>\n",
          ox + kLeft - 4, Num(py(yv) + 4), yv);
    }
    absl::StrAppendFormat(
        &s, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s score</text>\n",
        ox + kLeft + pw / 2, oy + kH - 12, name);
    if (hidden > 0) {
      absl::StrAppendFormat(&s,
                            "<text x=\"%d\" y=\"%d\" fill=\"#666\">%d "
                            "not drawn (val &lt; %.1f or singular)</text>\n",
                            ox + kLeft + 4, oy + kTop + 14, hidden, kLearns);
    }
    absl::StrAppendFormat(&s,
                          "<text transform=\"translate(%d,%d) rotate(-90)\" "
                          "text-anchor=\"middle\">val accuracy</text>\n",
                          ox + 14, oy + kTop + ph / 2);
    for (size_t i = 0; i < xs.size(); ++i) {
      absl::StrAppendFormat(&s,
                            "<circle cx=\"%s\" cy=\"%s\" r=\"3\" "
                            "fill=\"#1f77b4\" fill-opacity=\"0.7\"/>\n",
                            Num(px(xs[i])), Num(py(ys[i])));
    }
  }
  s += "</svg>\n";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::vector<TruthRow> truth;
  const std::string gt = absl::GetFlag(FLAGS_ground_truth);
  if (!ReadTruth(gt, &truth)) {
    fprintf(stderr, "zero_cost: cannot read a ground-truth CSV from %s\n",
            gt.c_str());
    return 2;
  }
  if (const int max = absl::GetFlag(FLAGS_max_cells);
      max > 0 && static_cast<int>(truth.size()) > max) {
    truth.resize(max);
  }
  if (truth.size() < 3) {
    fprintf(stderr, "zero_cost: %s has %zu cells, need at least 3\n",
            gt.c_str(), truth.size());
    return 2;
  }
  auto space = nas::GetSearchSpace("nb201");
  if (!space.ok()) {
    fprintf(stderr, "zero_cost: %s\n", space.status().ToString().c_str());
    return 1;
  }
  nas::EvaluatorOptions eo;
  eo.device = absl::GetFlag(FLAGS_device);
  eo.threads = absl::GetFlag(FLAGS_threads);
  eo.verbose = false;
  auto evaluator = nas::MakeTorchEvaluator(eo);
  if (!evaluator.ok()) {
    fprintf(stderr, "zero_cost: %s\n", evaluator.status().ToString().c_str());
    return 1;
  }

  nas::v1::Trial base;
  nas::v1::SearchSpaceSpec* ss = base.mutable_search_space();
  ss->set_name("nb201");
  ss->mutable_nb201()->set_channels(absl::GetFlag(FLAGS_channels));
  ss->mutable_nb201()->set_cells_per_stage(absl::GetFlag(FLAGS_cells));
  nas::v1::EvaluationSpec* ev = base.mutable_evaluation();
  ev->set_mode(nas::v1::ZERO_COST);
  ev->set_dataset("fashion_mnist");
  ev->set_data_dir(absl::GetFlag(FLAGS_data_dir));
  ev->set_train_samples(absl::GetFlag(FLAGS_train_samples));
  ev->set_val_samples(absl::GetFlag(FLAGS_val_samples));
  ev->set_test_samples(absl::GetFlag(FLAGS_test_samples));
  ev->set_data_seed(absl::GetFlag(FLAGS_seed));
  ev->mutable_zero_cost()->set_batches(absl::GetFlag(FLAGS_batches));
  ev->mutable_zero_cost()->set_batch_size(absl::GetFlag(FLAGS_batch_size));

  std::vector<Scored> scored;
  std::string device;
  for (size_t i = 0; i < truth.size(); ++i) {
    auto choices = (*space)->Parse(truth[i].cell);
    if (!choices.ok()) {
      fprintf(stderr, "zero_cost: %s: %s\n", truth[i].cell.c_str(),
              choices.status().ToString().c_str());
      return 1;
    }
    nas::v1::Trial t = base;
    t.set_trial_id(static_cast<int64_t>(i) + 1);
    *t.mutable_genotype() = (*space)->ToProto(*choices).value();
    const Clock::time_point t0 = Clock::now();
    auto m = (*evaluator)->Evaluate(t, nullptr);
    const double seconds =
        std::chrono::duration<double>(Clock::now() - t0).count();
    if (!m.ok()) {
      fprintf(stderr, "zero_cost: %s: %s\n", truth[i].cell.c_str(),
              m.status().ToString().c_str());
      return 1;
    }
    Scored r;
    r.truth = truth[i];
    for (const std::string& p : kProxies)
      r.proxies[p] = m->named_metrics().at(p);
    r.params = static_cast<double>(m->params());
    r.macs = static_cast<double>(m->macs());
    r.proxy_seconds = m->train_seconds();
    // The first evaluation also loads the dataset: count its proxies only.
    r.eval_seconds = i == 0 ? m->train_seconds() : seconds;
    device = m->device();
    scored.push_back(r);
    fprintf(stderr, "[%zu/%zu] %s synflow %.4g jacob_cov %.4g (%.2fs)\n", i + 1,
            truth.size(), truth[i].cell.c_str(), r.proxies["synflow"],
            r.proxies["jacob_cov"], seconds);
  }

  const std::filesystem::path dir = absl::GetFlag(FLAGS_out_dir);
  std::filesystem::create_directories(dir);
  {
    std::ofstream csv(dir / "zero_cost.csv");
    csv << "cell";
    for (const std::string& p : kProxies) csv << "," << p;
    csv << ",params,macs,proxy_seconds,eval_seconds\n";
    csv.precision(10);
    for (const Scored& r : scored) {
      csv << r.truth.cell;
      for (const std::string& p : kProxies) csv << "," << r.proxies.at(p);
      csv << "," << r.params << "," << r.macs << "," << r.proxy_seconds << ","
          << r.eval_seconds << "\n";
    }
  }
  const std::string table = Table(scored, device);
  fputs(table.c_str(), stdout);
  std::ofstream(dir / "zero_cost.txt") << table;
  std::ofstream(dir / "zero_cost.svg") << Svg(scored);
  return 0;
}
