// bench/darts: differentiable search (strategy darts, issue 20) on
// Fashion-MNIST through the worker's own evaluator, against regularized
// evolution with standalone training given the same CPU-seconds.
//
// For each --methods (darts, beta_darts) and each of --seeds seeds: one
// search (a Trial with darts_search, exactly as nas-worker runs it), then
// its derived cell trained standalone (a FULL trial: validation and test
// accuracy). Each derived cell's CIFAR-10 test accuracy is looked up in the
// NAS-Bench-201 table (--table, read in place). Then one run of the
// controller's evolution strategy library (MakeEvolutionStrategy), each
// child trained standalone with the same protocol, until it has used the
// CPU-seconds (getrusage, all threads) of all beta_darts searches plus
// their standalone trainings. Prints per-epoch search progress and a
// summary; writes <out_dir>/darts.{csv,svg}. The search settings default to
// DartsOptions' defaults; sizes fit 2 shared CPU cores (about 5 minutes
// when the machine is otherwise idle).
//
//   cmake --build build --target darts_bench && build/bench/darts_bench \
//     --table=/path/to/nb201.csv --out_dir=/tmp/darts
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/spaces/nb201_space.h"
#include "common/spec/defaults.h"
#include "controller/strategies/strategy.h"
#include "worker/evaluators/evaluator.h"

ABSL_FLAG(std::string, table,
          std::string(NAS_SOURCE_DIR) + "/../shared/bench/nb201.csv",
          "NAS-Bench-201 table (default: ../shared/bench/nb201.csv from the "
          "repository root)");
ABSL_FLAG(std::string, methods, "darts,beta_darts", "search methods");
ABSL_FLAG(int, seeds, 4, "searches per method (seeds 1..N)");
ABSL_FLAG(int, channels, 8, "nb201 channels of the first stage");
ABSL_FLAG(int, cells, 1, "nb201 cells per stage");
ABSL_FLAG(int, resolution, 16, "images resized to this square (0 = 28)");
ABSL_FLAG(int, train_samples, 3000, "training images (standalone)");
ABSL_FLAG(int, search_train_samples, 1500,
          "training images of each search (its weights; alpha learns on the "
          "validation images)");
ABSL_FLAG(int, val_samples, 1000, "validation images");
ABSL_FLAG(int, test_samples, 2000, "test images");
ABSL_FLAG(int, batch_size, 64, "batch size (search and standalone)");
ABSL_FLAG(int, search_epochs, 10,
          "epochs of each search (DartsOptions' default)");
ABSL_FLAG(double, search_learning_rate, 0.025,
          "SGD learning rate of the search's weights (DARTS: 0.025)");
ABSL_FLAG(double, arch_learning_rate, 3e-4,
          "Adam learning rate of alpha (DartsOptions' default)");
ABSL_FLAG(double, arch_weight_decay, 1e-3,
          "Adam weight decay of alpha (DartsOptions' default)");
ABSL_FLAG(double, beta_weight, 1.0,
          "beta_darts: final lambda (DartsOptions' default)");
ABSL_FLAG(int, train_epochs, 3, "epochs of each standalone training");
ABSL_FLAG(double, learning_rate, 0.1, "standalone SGD learning rate");
ABSL_FLAG(int, population, 8, "evolution: population P");
ABSL_FLAG(int, sample_size, 3, "evolution: tournament size S");
ABSL_FLAG(bool, evolution, true,
          "run the evolution comparison (false: the searches only, e.g. "
          "to compare search settings against an earlier run's evolution)");
ABSL_FLAG(int, threads, 1,
          "LibTorch threads (1: CPU-seconds stay a fair cost on a shared "
          "machine, where 2 threads spin at barriers)");
ABSL_FLAG(std::string, out_dir, ".", "where darts.{csv,svg} go");

namespace nas {
namespace {

// Debian's dataset-fashion-mnist (spelled out: this file is LibTorch-free).
constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

double CpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// arch -> cifar10_test_acc.
std::map<std::string, double> LoadTable(const std::string& path) {
  std::map<std::string, double> out;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = absl::StrSplit(line, ',');
  const auto col = std::find(header.begin(), header.end(), "cifar10_test_acc");
  const auto arch = std::find(header.begin(), header.end(), "arch");
  if (col == header.end() || arch == header.end()) return out;
  const size_t c = col - header.begin(), a = arch - header.begin();
  while (std::getline(in, line)) {
    const std::vector<std::string> cols = absl::StrSplit(line, ',');
    double v = 0;
    if (cols.size() > std::max(a, c) && absl::SimpleAtod(cols[c], &v)) {
      out[cols[a]] = v;
    }
  }
  return out;
}

v1::Trial BaseTrial() {
  v1::Trial t;
  t.set_attempt(1);
  v1::SearchSpaceSpec* ss = t.mutable_search_space();
  ss->set_name("nb201");
  ss->mutable_nb201()->set_channels(absl::GetFlag(FLAGS_channels));
  ss->mutable_nb201()->set_cells_per_stage(absl::GetFlag(FLAGS_cells));
  v1::EvaluationSpec* e = t.mutable_evaluation();
  e->set_mode(v1::FULL);
  e->set_dataset("fashion_mnist");
  if (const int r = absl::GetFlag(FLAGS_resolution); r > 0) {
    *e->mutable_data() = PresetData("fashion_mnist", kFashionMnistDir);
    e->mutable_data()->set_height(r);
    e->mutable_data()->set_width(r);
  }
  e->set_batch_size(absl::GetFlag(FLAGS_batch_size));
  e->set_momentum(0.9);
  e->set_weight_decay(3e-4);
  e->set_train_samples(absl::GetFlag(FLAGS_train_samples));
  e->set_val_samples(absl::GetFlag(FLAGS_val_samples));
  e->set_test_samples(absl::GetFlag(FLAGS_test_samples));
  e->set_data_seed(1);
  e->set_latency_runs(1);
  return t;
}

struct Standalone {
  double val = 0, test = 0, cpu = 0;
};

// The cell trained standalone (FULL, --train_epochs).
absl::StatusOr<Standalone> TrainStandalone(Evaluator& ev,
                                           const std::vector<int>& choices,
                                           int64_t id) {
  v1::Trial t = BaseTrial();
  t.set_trial_id(id);
  absl::StatusOr<v1::Genotype> g = Nb201Space().ToProto(choices);
  if (!g.ok()) return g.status();
  *t.mutable_genotype() = *g;
  t.mutable_evaluation()->set_epochs(absl::GetFlag(FLAGS_train_epochs));
  t.mutable_evaluation()->set_learning_rate(absl::GetFlag(FLAGS_learning_rate));
  const double c0 = CpuSeconds();
  absl::StatusOr<v1::EvaluationMetrics> m = ev.Evaluate(t, nullptr);
  if (!m.ok()) return m.status();
  return Standalone{m->val_accuracy(), m->test_accuracy(), CpuSeconds() - c0};
}

struct SearchRow {
  std::string method;
  int seed = 0;
  std::string cell;
  double param_free = 0;
  double search_cpu = 0;
  double search_val = 0;  // the mixed network's
  Standalone standalone;
  double table = -1;  // CIFAR-10 test accuracy, -1 = not in the table
  std::vector<double> share_per_epoch;
};

double Share(const v1::Genotype& g) {
  return Nb201ParamFreeShare(
      std::vector<int>(g.choices().begin(), g.choices().end()));
}

std::string Svg(const std::vector<SearchRow>& rows,
                const std::vector<double>& evolution_tables, int epochs) {
  const double w = 900, h = 440, top = 60, bottom = 60;
  std::string s = absl::StrFormat(
      "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
      "width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n",
      w, h);
  auto color = [](const std::string& m) {
    return m == "darts" ? "#d62728" : "#1f77b4";
  };
  // Left: param-free share of the derived cell per epoch, each search.
  const double l0 = 60, l1 = 420;
  auto lx = [&](double e) {
    return l0 + (e - 1) / std::max(1, epochs - 1) * (l1 - l0);
  };
  auto ly = [&](double v) { return h - bottom - v * (h - top - bottom); };
  s += absl::StrFormat(
      "<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">"
      "Derived cell's parameter-free share per epoch</text>\n"
      "<text x=\"%.0f\" y=\"40\" text-anchor=\"middle\"><tspan "
      "fill=\"#d62728\">darts</tspan>, <tspan fill=\"#1f77b4\">"
      "beta_darts</tspan>; one line per seed</text>\n",
      (l0 + l1) / 2, (l0 + l1) / 2);
  for (double v = 0; v <= 1.001; v += 0.25) {
    s += absl::StrFormat(
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"end\">%.2f</text>\n",
        l0, ly(v), l1, ly(v), l0 - 6, ly(v) + 4, v);
  }
  s += absl::StrFormat(
      "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">search epoch (1-%d)"
      "</text>\n",
      (l0 + l1) / 2, h - 20, epochs);
  for (const SearchRow& r : rows) {
    std::string pts;
    for (size_t e = 0; e < r.share_per_epoch.size(); ++e) {
      // Jitter by seed so that equal lines stay visible.
      absl::StrAppendFormat(&pts, "%.1f,%.1f ", lx(e + 1),
                            ly(r.share_per_epoch[e]) + (r.seed - 2.5) * 1.5);
    }
    s += absl::StrFormat(
        "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" "
        "stroke-width=\"1.5\" opacity=\"0.8\"><title>%s seed %d</title>"
        "</polyline>\n",
        pts, color(r.method), r.method, r.seed);
  }
  // Right: CIFAR-10 test accuracy (NAS-Bench-201) of each derived cell and
  // of evolution's children, by group.
  const double r0 = 520, r1 = 870, lo = 40, hi = 95;
  auto ry = [&](double v) {
    return h - bottom -
           (std::clamp(v, lo, hi) - lo) / (hi - lo) * (h - top - bottom);
  };
  s += absl::StrFormat(
      "<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">"
      "CIFAR-10 test accuracy in NAS-Bench-201</text>\n"
      "<text x=\"%.0f\" y=\"40\" text-anchor=\"middle\">derived cells, "
      "and every evolution child (below 40: at 40)</text>\n",
      (r0 + r1) / 2, (r0 + r1) / 2);
  for (double v = lo; v <= hi + 1e-9; v += 5) {
    s += absl::StrFormat(
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"end\">%.0f</text>\n",
        r0, ry(v), r1, ry(v), r0 - 6, ry(v) + 4, v);
  }
  s += absl::StrFormat(
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
      "stroke=\"#2ca02c\" "
      "stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"%.1f\" "
      "fill=\"#2ca02c\">93.0</text>\n",
      r0, ry(93), r1, ry(93), r1 - 30, ry(93) - 4);
  const std::vector<std::string> groups = {"darts", "beta_darts", "evolution"};
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const double x = r0 + (gi + 0.5) * (r1 - r0) / groups.size();
    s += absl::StrFormat(
        "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n", x,
        h - 38, groups[gi]);
    std::vector<double> vals;
    if (groups[gi] == "evolution") {
      vals = evolution_tables;
    } else {
      for (const SearchRow& r : rows) {
        if (r.method == groups[gi] && r.table >= 0) vals.push_back(r.table);
      }
    }
    for (size_t i = 0; i < vals.size(); ++i) {
      s += absl::StrFormat(
          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" "
          "fill-opacity=\"0.7\"><title>%.2f</title></circle>\n",
          x + (static_cast<double>(i % 7) - 3) * 5, ry(vals[i]),
          groups[gi] == "evolution" ? "#7f7f7f" : color(groups[gi]), vals[i]);
    }
  }
  s += "</svg>\n";
  return s;
}

int Main() {
  const std::map<std::string, double> table =
      LoadTable(absl::GetFlag(FLAGS_table));
  if (table.empty()) {
    fprintf(stderr, "darts_bench: no rows in --table %s\n",
            absl::GetFlag(FLAGS_table).c_str());
    return 2;
  }
  EvaluatorOptions eo;
  eo.threads = absl::GetFlag(FLAGS_threads);
  eo.verbose = false;
  absl::StatusOr<std::unique_ptr<Evaluator>> ev = MakeTorchEvaluator(eo);
  if (!ev.ok()) {
    fprintf(stderr, "darts_bench: %s\n", ev.status().ToString().c_str());
    return 1;
  }
  auto lookup = [&](const std::string& cell) {
    auto it = table.find(cell);
    return it == table.end() ? -1.0 : it->second;
  };
  const int epochs = absl::GetFlag(FLAGS_search_epochs);
  const auto wall0 = std::chrono::steady_clock::now();
  auto wall = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         wall0)
        .count();
  };
  std::vector<SearchRow> rows;
  int64_t next_id = 1;
  for (const std::string& method : std::vector<std::string>(absl::StrSplit(
           absl::GetFlag(FLAGS_methods), ',', absl::SkipEmpty()))) {
    for (int seed = 1; seed <= absl::GetFlag(FLAGS_seeds); ++seed) {
      SearchRow row;
      row.method = method;
      row.seed = seed;
      v1::Trial t = BaseTrial();
      t.set_trial_id(next_id++);
      t.mutable_genotype()->set_space("nb201");
      t.mutable_genotype()->set_canonical(absl::StrCat("darts-search-", seed));
      t.mutable_evaluation()->set_epochs(epochs);
      t.mutable_evaluation()->set_train_samples(
          absl::GetFlag(FLAGS_search_train_samples));
      t.mutable_evaluation()->set_learning_rate(
          absl::GetFlag(FLAGS_search_learning_rate));
      v1::DartsSearch* ds = t.mutable_darts_search();
      ds->set_seed(seed);
      v1::DartsOptions* o = ds->mutable_options();
      o->set_method(method);
      o->set_seeds(absl::GetFlag(FLAGS_seeds));
      o->set_epochs(epochs);
      o->set_arch_learning_rate(absl::GetFlag(FLAGS_arch_learning_rate));
      o->set_arch_weight_decay(absl::GetFlag(FLAGS_arch_weight_decay));
      o->set_beta_weight(absl::GetFlag(FLAGS_beta_weight));
      o->set_checkpoint_every(0);
      const double c0 = CpuSeconds();
      absl::StatusOr<v1::EvaluationMetrics> m =
          (*ev)->Evaluate(t, [&](const EpochProgress& p) {
            const v1::Genotype& g = p.search->derived();
            row.share_per_epoch.push_back(Share(g));
            // How far softmax(alpha) moved from uniform (0.2).
            double top = 0;
            for (double w : p.search->arch_weights()) top = std::max(top, w);
            printf(
                "  [%s seed %d] epoch %d/%d loss %.3f val_acc %.3f %s "
                "param-free %.2f max weight %.3f (%.0fs)\n",
                method.c_str(), seed, p.epoch, epochs, p.train_loss,
                p.val_accuracy, g.canonical().c_str(), Share(g), top,
                p.seconds);
            fflush(stdout);
            return true;
          });
      row.search_cpu = CpuSeconds() - c0;
      std::optional<v1::SearchProgress> final = (*ev)->TakeSearch();
      if (!m.ok() || !final) {
        fprintf(stderr, "darts_bench: %s seed %d: %s\n", method.c_str(), seed,
                m.status().ToString().c_str());
        return 1;
      }
      row.search_val = m->val_accuracy();
      row.cell = final->derived().canonical();
      row.param_free = Share(final->derived());
      row.table = lookup(row.cell);
      const std::vector<int> choices(final->derived().choices().begin(),
                                     final->derived().choices().end());
      absl::StatusOr<Standalone> sa = TrainStandalone(**ev, choices, next_id++);
      if (!sa.ok()) {
        fprintf(stderr, "darts_bench: standalone: %s\n",
                sa.status().ToString().c_str());
        return 1;
      }
      row.standalone = *sa;
      printf(
          "%s seed %d: %s param-free %.2f | search %.0f cpu-s | standalone "
          "val %.4f test %.4f (%.0f cpu-s) | CIFAR-10 table %.2f (%.0fs "
          "wall)\n",
          method.c_str(), seed, row.cell.c_str(), row.param_free,
          row.search_cpu, sa->val, sa->test, sa->cpu, row.table, wall());
      fflush(stdout);
      rows.push_back(row);
    }
  }

  // Evolution with the CPU-seconds of every beta_darts search and its
  // standalone training (or of the last method's, without beta_darts).
  double budget = 0;
  const std::string reference =
      std::any_of(rows.begin(), rows.end(),
                  [](const SearchRow& r) { return r.method == "beta_darts"; })
          ? "beta_darts"
          : rows.back().method;
  for (const SearchRow& r : rows) {
    if (r.method == reference) budget += r.search_cpu + r.standalone.cpu;
  }
  v1::EvolutionOptions eopt;
  eopt.set_population(absl::GetFlag(FLAGS_population));
  eopt.set_sample_size(absl::GetFlag(FLAGS_sample_size));
  eopt.set_dedupe(true);
  std::unique_ptr<Strategy> evo =
      MakeEvolutionStrategy(&*GetSearchSpace("nb201").value(), 1, eopt);
  printf("evolution: budget %.0f cpu-s (the %s searches and trainings)%s\n",
         budget, reference.c_str(),
         absl::GetFlag(FLAGS_evolution) ? "" : ": skipped (--noevolution)");
  double used = 0;
  struct Child {
    std::string cell;
    Standalone sa;
    double table = -1;
    double cpu_at = 0;
  };
  std::vector<Child> children;
  while (absl::GetFlag(FLAGS_evolution) && used < budget) {
    absl::StatusOr<std::vector<Proposal>> p = evo->Propose(1);
    if (!p.ok() || p->empty()) break;
    const Proposal& prop = p->front();
    absl::StatusOr<Standalone> sa =
        TrainStandalone(**ev, prop.choices, next_id);
    if (!sa.ok()) {
      fprintf(stderr, "darts_bench: evolution: %s\n",
              sa.status().ToString().c_str());
      return 1;
    }
    used += sa->cpu;
    Child c{Nb201Space().Canonical(prop.choices).value(), *sa, 0, used};
    c.table = lookup(c.cell);
    v1::EvaluationMetrics m;
    m.set_val_accuracy(sa->val);
    evo->Observe({next_id++, prop.choices, m, prop.generation});
    children.push_back(c);
    printf(
        "  [evolution %zu] %s val %.4f test %.4f table %.2f (%.0f/%.0f "
        "cpu-s)\n",
        children.size(), c.cell.c_str(), sa->val, sa->test, c.table, used,
        budget);
    fflush(stdout);
  }
  // Evolution's incumbent (best validation accuracy) within the budget, and
  // after a quarter of it (one search's share).
  auto incumbent = [&](double cpu) -> const Child* {
    const Child* best = nullptr;
    for (const Child& c : children) {
      if (c.cpu_at <= cpu + 1e-9 && (!best || c.sa.val > best->sa.val)) {
        best = &c;
      }
    }
    return best;
  };
  const Child* best = incumbent(used);
  const int nseeds = absl::GetFlag(FLAGS_seeds);
  const Child* best_share = incumbent(budget / std::max(1, nseeds));

  // Summary.
  printf("\n%-10s %-4s %-80s %5s %8s %7s %7s %7s\n", "method", "seed", "cell",
         "free", "cpu-s", "val", "test", "c10");
  for (const SearchRow& r : rows) {
    printf("%-10s %-4d %-80s %5.2f %8.0f %7.4f %7.4f %7.2f\n", r.method.c_str(),
           r.seed, r.cell.c_str(), r.param_free,
           r.search_cpu + r.standalone.cpu, r.standalone.val, r.standalone.test,
           r.table);
  }
  std::map<std::string, std::vector<const SearchRow*>> by_method;
  for (const SearchRow& r : rows) by_method[r.method].push_back(&r);
  for (const auto& [method, rs] : by_method) {
    double val = 0, test = 0, tab = 0, free = 0, cpu = 0;
    int over93 = 0, collapsed = 0;
    const SearchRow* top = rs.front();
    for (const SearchRow* r : rs) {
      val += r->standalone.val / rs.size();
      test += r->standalone.test / rs.size();
      tab += r->table / rs.size();
      free += r->param_free / rs.size();
      cpu += (r->search_cpu + r->standalone.cpu) / rs.size();
      over93 += r->table >= 93.0;
      collapsed += r->param_free > 0.5;
      if (r->standalone.val > top->standalone.val) top = r;
    }
    printf(
        "%s: mean standalone val %.4f test %.4f, CIFAR-10 table %.2f, "
        "param-free %.2f, %d/%zu cells >= 93.0, %d/%zu collapsed (> 0.5 "
        "param-free), %.0f cpu-s per seed; best by val: test %.4f table "
        "%.2f\n",
        method.c_str(), val, test, tab, free, over93, rs.size(), collapsed,
        rs.size(), cpu, top->standalone.test, top->table);
  }
  if (best != nullptr) {
    printf(
        "evolution: %zu children in %.0f cpu-s; best by val %s val %.4f test "
        "%.4f table %.2f\n",
        children.size(), used, best->cell.c_str(), best->sa.val, best->sa.test,
        best->table);
  }
  if (best_share != nullptr) {
    printf(
        "evolution after %.0f cpu-s (one %s seed's cost): best by val val "
        "%.4f test %.4f table %.2f\n",
        budget / std::max(1, nseeds), reference.c_str(), best_share->sa.val,
        best_share->sa.test, best_share->table);
  }
  printf("wall %.0f s\n", wall());

  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  std::filesystem::create_directories(out_dir);
  std::ofstream csv(out_dir + "/darts.csv");
  csv << "group,seed,cell,param_free,cpu_seconds,search_val_acc,"
         "standalone_val_acc,standalone_test_acc,cifar10_test_acc\n";
  for (const SearchRow& r : rows) {
    csv << absl::StrFormat("%s,%d,%s,%.3f,%.1f,%.4f,%.4f,%.4f,%.2f\n", r.method,
                           r.seed, r.cell, r.param_free,
                           r.search_cpu + r.standalone.cpu, r.search_val,
                           r.standalone.val, r.standalone.test, r.table);
  }
  std::vector<double> evo_tables;
  for (size_t i = 0; i < children.size(); ++i) {
    const Child& c = children[i];
    csv << absl::StrFormat(
        "evolution,%zu,%s,%.3f,%.1f,,%.4f,%.4f,%.2f\n", i + 1, c.cell,
        Nb201ParamFreeShare(Nb201Space().Parse(c.cell).value()), c.cpu_at,
        c.sa.val, c.sa.test, c.table);
    evo_tables.push_back(c.table);
  }
  std::ofstream(out_dir + "/darts.svg") << Svg(rows, evo_tables, epochs);
  return 0;
}

}  // namespace
}  // namespace nas

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return nas::Main();
}
