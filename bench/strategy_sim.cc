// bench/strategy_sim: in-process simulation of a search strategy on the
// NAS-Bench-201 table (no controller, no database, no workers). It drives a
// Strategy directly: every proposal is looked up in the CSV (see
// ../shared/bench/README.md; never copied into this repository), results are
// observed in completion order of `--workers` simulated workers, and a run
// ends when the summed evaluation cost would exceed the budget (the
// evaluation that crosses it is discarded, as in NAS-Bench-201's own
// scripts). A repeated proposal is handled as the controller does with
// `duplicates: reuse` (no cost, no observation; at most 1,100 proposals per
// run) unless --duplicates=retrain. Protocol defaults are NAS-Bench-201's:
// search score cifar10_valid_acc_12ep, cost train_seconds_200ep * 12 / 200,
// budget 12,000 simulated seconds, reported: cifar10_test_acc of the
// architecture with the best search score. Prints mean ± std over `--runs`
// seeds.
//
//   build/bench/strategy_sim --strategy='name: evolution'
//   build/bench/strategy_sim --strategy='{name: evolution, evolution:
//       {population: 30, dedupe: true, local_search: 1}}'
//   build/bench/strategy_sim --strategy='name: reinforce' \
//       --objective='{ranking: pareto, minimize: [macs]}'
//
// With objective.minimize set it also prints the share of the table's exact
// Pareto front (score up, the minimized costs down) that the run evaluated.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <queue>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/spaces/nb201_space.h"
#include "common/objective.h"
#include "common/pareto.h"
#include "common/spec/spec.h"
#include "controller/strategies/strategy.h"

ABSL_FLAG(std::string, csv, "../shared/bench/nb201.csv", "benchmark table");
ABSL_FLAG(std::string, strategy, "name: random",
          "the spec's `strategy` section as YAML");
ABSL_FLAG(std::string, objective, "",
          "the spec's `objective` section as YAML (default: val_accuracy)");
ABSL_FLAG(int, runs, 100, "independent runs (seeds first_seed, ...)");
ABSL_FLAG(int64_t, first_seed, 1, "seed of the first run");
ABSL_FLAG(double, budget, 12000, "simulated seconds per run");
ABSL_FLAG(int, workers, 1, "simulated workers evaluating concurrently");
ABSL_FLAG(std::string, score_column, "cifar10_valid_acc_12ep",
          "column used as val_accuracy (percent)");
ABSL_FLAG(std::string, test_column, "cifar10_test_acc", "column reported");
ABSL_FLAG(std::string, cost_column, "train_seconds_200ep",
          "column giving each evaluation's cost, times --cost_scale");
ABSL_FLAG(double, cost_scale, 12.0 / 200.0, "factor on --cost_column");
ABSL_FLAG(std::string, duplicates, "reuse",
          "as the spec's `duplicates`: reuse (a repeated proposal costs "
          "nothing and yields no observation, as in the controller) or "
          "retrain (evaluated and charged again)");
ABSL_FLAG(std::string, latency_column, "latency_ms_pixel3",
          "column reported as latency_ms");

namespace nas {
namespace {

struct Row {
  double score = 0, test = 0, cost = 0;
  v1::EvaluationMetrics metrics;
};

int Key(const std::vector<int>& c) {
  int k = 0;
  for (int x : c) k = k * kNb201Ops + x;
  return k;
}

absl::StatusOr<std::vector<Row>> LoadTable(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header = absl::StrSplit(line, ',');
  std::map<std::string, int> col;
  for (size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  for (const std::string& c :
       {std::string("arch"), absl::GetFlag(FLAGS_score_column),
        absl::GetFlag(FLAGS_test_column), absl::GetFlag(FLAGS_cost_column),
        absl::GetFlag(FLAGS_latency_column), std::string("flops_m"),
        std::string("params_m")}) {
    if (!col.count(c)) return absl::NotFoundError("column " + c);
  }
  Nb201Space space;
  std::vector<Row> table(15625);
  int n = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    auto num = [&](const std::string& c) { return std::stod(f[col[c]]); };
    absl::StatusOr<std::vector<int>> choices = space.Parse(f[col["arch"]]);
    if (!choices.ok()) return choices.status();
    Row& r = table[Key(*choices)];
    r.score = num(absl::GetFlag(FLAGS_score_column));
    r.test = num(absl::GetFlag(FLAGS_test_column));
    r.cost =
        num(absl::GetFlag(FLAGS_cost_column)) * absl::GetFlag(FLAGS_cost_scale);
    r.metrics.set_val_accuracy(r.score / 100);
    r.metrics.set_macs(static_cast<int64_t>(num("flops_m") * 1e6));
    r.metrics.set_params(static_cast<int64_t>(num("params_m") * 1e6));
    r.metrics.set_latency_ms(num(absl::GetFlag(FLAGS_latency_column)));
    ++n;
  }
  if (n != 15625) return absl::DataLossError(absl::StrCat(n, " rows"));
  return table;
}

struct RunResult {
  double test = 0, score = 0;
  int evaluations = 0;
  int proposals = 0;
  int duplicates = 0;
  std::set<int> evaluated;
};

absl::StatusOr<RunResult> RunOnce(const std::vector<Row>& table,
                                  const v1::ExperimentSpec& spec,
                                  int64_t seed) {
  Nb201Space space;
  auto strategy = MakeStrategy(spec, &space, seed);
  if (!strategy.ok()) return strategy.status();
  struct Pending {
    double finish;
    int64_t id;
    std::vector<int> choices;
    int generation;
    bool operator>(const Pending& o) const {
      return finish != o.finish ? finish > o.finish : id > o.id;
    }
  };
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>>
      running;
  RunResult out;
  out.score = -1;
  double spent = 0, now = 0;
  int64_t next_id = 1;
  const int workers = absl::GetFlag(FLAGS_workers);
  const bool reuse = absl::GetFlag(FLAGS_duplicates) == "reuse";
  std::set<int> proposed;
  // The controller's cap on stored candidates (duplicate_factor 10, +100)
  // for a budget of roughly 100 evaluations.
  constexpr int kMaxProposals = 10 * 100 + 100;
  while (true) {
    while (static_cast<int>(running.size()) < workers &&
           out.proposals < kMaxProposals) {
      absl::StatusOr<std::vector<Proposal>> p = (*strategy)->Propose(1);
      if (!p.ok()) return p.status();
      if (p->empty()) break;
      ++out.proposals;
      if (!proposed.insert(Key((*p)[0].choices)).second && reuse) {
        ++out.duplicates;
        continue;
      }
      const Row& r = table[Key((*p)[0].choices)];
      running.push(
          {now + r.cost, next_id++, (*p)[0].choices, (*p)[0].generation});
    }
    if (running.empty()) break;
    Pending done = running.top();
    running.pop();
    now = done.finish;
    const Row& r = table[Key(done.choices)];
    spent += r.cost;
    if (spent > absl::GetFlag(FLAGS_budget)) break;
    ++out.evaluations;
    out.evaluated.insert(Key(done.choices));
    if (r.score > out.score) {
      out.score = r.score;
      out.test = r.test;
    }
    (*strategy)->Observe({done.id, done.choices, r.metrics, done.generation});
  }
  return out;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}
double Std(const std::vector<double>& v) {
  const double m = Mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return v.size() > 1 ? std::sqrt(s / (v.size() - 1)) : 0;
}

int Main() {
  absl::StatusOr<std::vector<Row>> table = LoadTable(absl::GetFlag(FLAGS_csv));
  if (!table.ok()) {
    fprintf(stderr, "strategy_sim: %s\n", table.status().ToString().c_str());
    return 1;
  }
  // A section given as "a: b, c: d" becomes the flow mapping "{a: b, ...}".
  auto section = [](std::string s) {
    return s.empty() || s[0] == '{' ? s : absl::StrCat("{", s, "}");
  };
  std::string yaml = absl::StrCat(
      "name: sim\nsearch_space: {name: nb201}\nbudget: {max_trials: 1}\n"
      "strategy: ",
      section(absl::GetFlag(FLAGS_strategy)), "\n");
  if (!absl::GetFlag(FLAGS_objective).empty()) {
    absl::StrAppend(
        &yaml, "objective: ", section(absl::GetFlag(FLAGS_objective)), "\n");
  }
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec({}, yaml);
  if (!spec.ok()) {
    fprintf(stderr, "strategy_sim: %s\n", spec.status().ToString().c_str());
    return 2;
  }
  // The table's exact front for the spec's objectives (score for accuracy).
  std::vector<int> true_front;
  if (spec->objective().minimize_size() > 0) {
    std::vector<std::vector<double>> points;
    for (const Row& r : *table) {
      points.push_back(ObjectiveVector(spec->objective(), r.metrics));
    }
    true_front = ParetoFront(points);
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<double> tests, scores, evals, dups, front_share;
  int optimum = 0;
  double best_score = 0;
  for (const Row& r : *table) best_score = std::max(best_score, r.score);
  for (int i = 0; i < absl::GetFlag(FLAGS_runs); ++i) {
    absl::StatusOr<RunResult> r =
        RunOnce(*table, *spec, absl::GetFlag(FLAGS_first_seed) + i);
    if (!r.ok()) {
      fprintf(stderr, "strategy_sim: %s\n", r.status().ToString().c_str());
      return 1;
    }
    tests.push_back(r->test);
    scores.push_back(r->score);
    evals.push_back(r->evaluations);
    dups.push_back(r->duplicates);
    optimum += r->score == best_score;
    if (!true_front.empty()) {
      int found = 0;
      for (int k : true_front) found += r->evaluated.count(k);
      front_share.push_back(100.0 * found / true_front.size());
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  printf("strategy: %s\nobjective: %s\n", absl::GetFlag(FLAGS_strategy).c_str(),
         absl::GetFlag(FLAGS_objective).c_str());
  printf(
      "runs %zu, workers %d, budget %.0f s: test %.3f +- %.3f, best score "
      "%.3f +- %.3f, evaluations %.1f, duplicates %.1f, found the best-score "
      "cell in %d runs, %.1f s wall\n",
      tests.size(), absl::GetFlag(FLAGS_workers), absl::GetFlag(FLAGS_budget),
      Mean(tests), Std(tests), Mean(scores), Std(scores), Mean(evals),
      Mean(dups), optimum, seconds);
  if (!front_share.empty()) {
    printf("true front: %zu cells; share found %.1f%% +- %.1f%%\n",
           true_front.size(), Mean(front_share), Std(front_share));
  }
  return 0;
}

}  // namespace
}  // namespace nas

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return nas::Main();
}
