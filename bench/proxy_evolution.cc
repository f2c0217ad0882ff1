// proxy_evolution: proxy-guided evolution against plain evolution at the
// same number of fully trained candidates (issue 21), in-process with the
// controller's own evolution strategy (MakeEvolutionStrategy) on the nb201
// space, with no controller, database or workers.
//
// The ground truth (bench/ground_truth: nb201 cells trained standalone on
// Fashion-MNIST) and the proxy scores of the same cells (bench/zero_cost)
// are the only measured values. A proposed genotype that is not among them
// takes the values of its nearest measured cells (fewest differing edges;
// the mean over ties), so the search runs on the whole space while every
// number it sees was measured. Plain evolution observes each proposal. The
// guided run proposes slots of --children children (Proposal::alternatives,
// exactly as the scheduler receives them), scores each by --proxy and
// observes only the best, as the controller's screening does. Both stop at
// --trained observed candidates; reported: the test accuracy of the
// candidate with the best validation accuracy, mean, standard deviation and
// standard error over --runs seeds, and the difference in standard errors.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "common/spaces/search_space.h"
#include "controller/strategies/strategy.h"

ABSL_FLAG(std::string, ground_truth, "docs/bench/ground_truth.csv",
          "bench/ground_truth's CSV");
ABSL_FLAG(std::string, proxies, "docs/bench/zero_cost.csv",
          "bench/zero_cost's CSV (the same cells' proxy scores)");
ABSL_FLAG(std::string, proxy, "synflow", "the proxy that picks a child");
ABSL_FLAG(int, children, 8, "children scored per trained candidate");
ABSL_FLAG(int, trained, 20, "fully trained candidates per run");
ABSL_FLAG(int, population, 10, "evolution.population");
ABSL_FLAG(int, sample_size, 3, "evolution.sample_size");
ABSL_FLAG(int, runs, 30, "seeds per method");
ABSL_FLAG(std::string, out, "docs/bench/proxy_evolution.csv",
          "per-run results (method, seed, best val, its test)");

namespace {

struct Cell {
  std::vector<int> choices;
  double val = 0, test = 0, proxy = 0;
};

// Rows of a CSV with a header, as name -> value maps.
std::vector<std::map<std::string, std::string>> ReadCsv(
    const std::string& path) {
  std::vector<std::map<std::string, std::string>> rows;
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return rows;
  std::vector<std::string> header = absl::StrSplit(line, ',');
  while (std::getline(in, line)) {
    std::vector<std::string> cols = absl::StrSplit(line, ',');
    if (cols.size() != header.size()) continue;
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < cols.size(); ++i) row[header[i]] = cols[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

// The mean of the measured values of the cells nearest to `c`.
Cell Lookup(const std::vector<Cell>& cells, const std::vector<int>& c) {
  int best = 1 << 30;
  Cell sum;
  int n = 0;
  for (const Cell& x : cells) {
    int d = 0;
    for (size_t i = 0; i < c.size(); ++i) d += x.choices[i] != c[i];
    if (d < best) best = d, sum = Cell(), n = 0;
    if (d == best) {
      sum.val += x.val, sum.test += x.test, sum.proxy += x.proxy;
      ++n;
    }
  }
  sum.val /= n, sum.test /= n, sum.proxy /= n;
  return sum;
}

struct Stats {
  double mean = 0, sd = 0, se = 0;
};
Stats Summarize(const std::vector<double>& v) {
  Stats s;
  for (double x : v) s.mean += x;
  s.mean /= v.size();
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = std::sqrt(s.sd / (v.size() - 1));
  s.se = s.sd / std::sqrt(static_cast<double>(v.size()));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto space = nas::GetSearchSpace("nb201");
  if (!space.ok()) return 1;
  const std::string proxy = absl::GetFlag(FLAGS_proxy);
  std::map<std::string, double> scores;
  for (const auto& row : ReadCsv(absl::GetFlag(FLAGS_proxies))) {
    auto it = row.find(proxy);
    if (it == row.end()) {
      fprintf(stderr, "proxy_evolution: no column %s in %s\n", proxy.c_str(),
              absl::GetFlag(FLAGS_proxies).c_str());
      return 2;
    }
    // strtod, not stod: a singular NASWOT kernel scores the lowest double,
    // which may print a little beyond it.
    scores[row.at("cell")] = std::strtod(it->second.c_str(), nullptr);
  }
  std::vector<Cell> cells;
  for (const auto& row : ReadCsv(absl::GetFlag(FLAGS_ground_truth))) {
    auto s = scores.find(row.at("cell"));
    if (s == scores.end()) continue;
    auto g = (*space)->Parse(row.at("cell"));
    if (!g.ok()) {
      fprintf(stderr, "proxy_evolution: %s\n", g.status().ToString().c_str());
      return 2;
    }
    Cell c;
    c.choices = *g;
    c.val = std::stod(row.at("val_accuracy"));
    c.test = std::stod(row.at("test_accuracy"));
    c.proxy = s->second;
    cells.push_back(std::move(c));
  }
  if (cells.size() < 10) {
    fprintf(stderr, "proxy_evolution: only %zu cells with both values\n",
            cells.size());
    return 2;
  }
  double best_test = 0;
  for (const Cell& c : cells) best_test = std::max(best_test, c.test);
  printf(
      "proxy_evolution: %zu measured cells (best test %.4f); %d trained "
      "per run, population %d, sample %d; guided: %d children by %s\n",
      cells.size(), best_test, absl::GetFlag(FLAGS_trained),
      absl::GetFlag(FLAGS_population), absl::GetFlag(FLAGS_sample_size),
      absl::GetFlag(FLAGS_children), proxy.c_str());

  std::ofstream out(absl::GetFlag(FLAGS_out));
  out << "method,seed,best_val,test_of_best_val,children_scored\n";
  std::map<std::string, std::vector<double>> results;
  for (const std::string method : {"plain", "guided"}) {
    const bool guided = method == "guided";
    for (int run = 0; run < absl::GetFlag(FLAGS_runs); ++run) {
      nas::v1::EvolutionOptions o;
      o.set_population(absl::GetFlag(FLAGS_population));
      o.set_sample_size(absl::GetFlag(FLAGS_sample_size));
      o.set_dedupe(true);  // as the guided run always is
      if (guided) {
        o.mutable_proxy()->set_children(absl::GetFlag(FLAGS_children));
        o.mutable_proxy()->set_metric(proxy);
      }
      const int64_t seed = 1000 + run;
      std::unique_ptr<nas::Strategy> s =
          nas::MakeEvolutionStrategy(*space, seed, o);
      double best_val = -1, test_of_best = 0;
      int scored = 0;
      for (int t = 0; t < absl::GetFlag(FLAGS_trained); ++t) {
        auto proposals = s->Propose(1);
        if (!proposals.ok() || proposals->empty()) return 1;
        nas::Proposal& p = proposals->front();
        std::vector<int> pick = p.choices;
        int64_t id = t + 1;
        if (guided) {
          double best_score = Lookup(cells, pick).proxy;
          ++scored;
          for (const nas::Proposal& a : p.alternatives) {
            const double score = Lookup(cells, a.choices).proxy;
            ++scored;
            if (score > best_score) best_score = score, pick = a.choices;
          }
        }
        const Cell v = Lookup(cells, pick);
        nas::Observation obs;
        obs.candidate_id = id;
        obs.choices = pick;
        obs.metrics.set_val_accuracy(v.val);
        obs.generation = p.generation;
        s->Observe(obs);
        if (v.val > best_val) best_val = v.val, test_of_best = v.test;
      }
      results[method].push_back(test_of_best);
      out << method << "," << seed << "," << best_val << "," << test_of_best
          << "," << scored << "\n";
    }
  }
  const Stats plain = Summarize(results["plain"]);
  const Stats guided = Summarize(results["guided"]);
  printf("plain evolution:  test of best val %.4f +- %.4f (sd), se %.4f\n",
         plain.mean, plain.sd, plain.se);
  printf("proxy-guided:     test of best val %.4f +- %.4f (sd), se %.4f\n",
         guided.mean, guided.sd, guided.se);
  const double se = std::sqrt(plain.se * plain.se + guided.se * guided.se);
  printf(
      "difference %.4f = %.2f standard errors of the difference; "
      "guided mean above plain by more than one plain se: %s\n",
      guided.mean - plain.mean, (guided.mean - plain.mean) / se,
      guided.mean - plain.mean > plain.se ? "yes" : "no");
  return 0;
}
