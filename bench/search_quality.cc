// bench/search_quality: search strategies measured on the NAS-Bench-201
// table through the real system. Starts a throw-away PostgreSQL, the real
// nas-controller and --workers nas-worker processes (TABULAR mode), submits
// --runs experiments per strategy over gRPC (--concurrent in flight, each
// with parallel_trials 1, so a run's order of results is fixed by its seed)
// with NAS-Bench-201's protocol: search score cifar10_valid_acc_12ep, cost
// per evaluation train_seconds_200ep * 12 / 200, budget 12,000 simulated
// seconds; reports the cifar10_test_acc of the candidate with the best
// search score within the budget (Experiment.best).
//
//   NAS_BUILD_DIR=/tmp/b bash scripts/build.sh search_quality nas-controller \
//     nas-worker && /tmp/b/bench/search_quality --out_dir=/tmp/sq
//
// Prints mean +- std of final test accuracy per strategy, runs, evaluations
// per run and the wall time; writes <out_dir>/search_quality.{csv,md,svg}
// (the SVG: mean test accuracy of the incumbent against simulated seconds).
// --pareto_runs N adds N runs scored on accuracy against flops_m (MACs) and
// compares each GetParetoFront answer with the exact front of the table.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/spaces/search_space.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/process.h"
#include "worker/evaluators/tabular_evaluator.h"

ABSL_FLAG(std::string, table,
          std::string(NAS_SOURCE_DIR) + "/../shared/bench/nb201.csv",
          "NAS-Bench-201 table (default: ../shared/bench/nb201.csv from the "
          "repository root)");
ABSL_FLAG(std::string, strategies, "random,evolution",
          "comma-separated strategies to measure: random, evolution "
          "(--population, --sample_size), evolution_ls (evolution with "
          "dedupe and predictor-guided local search: P 35, S 10), reinforce");
ABSL_FLAG(int, runs, 100, "independent runs per strategy");
ABSL_FLAG(int, workers, 4, "nas-worker processes");
ABSL_FLAG(int, concurrent, 64, "experiments in flight at once");
ABSL_FLAG(double, budget, 12000, "simulated seconds per run");
ABSL_FLAG(int, population, 20, "evolution: population P");
ABSL_FLAG(int, sample_size, 5, "evolution: tournament size S");
ABSL_FLAG(int, pareto_runs, 0,
          "extra runs (strategy --pareto_strategy) whose Pareto front "
          "(accuracy vs flops_m) is compared with the table's exact front");
ABSL_FLAG(std::string, pareto_strategy, "random",
          "strategy name of the --pareto_runs");
ABSL_FLAG(std::string, pareto_strategy_yaml, "",
          "if set, the whole strategy mapping of the --pareto_runs (the seed "
          "is added), e.g. '{name: evolution, evolution: {population: 10}}'");
ABSL_FLAG(std::string, pareto_objective_yaml, "",
          "if set, the objective mapping of the --pareto_runs (multi-"
          "objective settings of strategies that support them)");
ABSL_FLAG(std::string, out_dir, "search_quality_out",
          "where search_quality.{csv,md,svg} are written");
ABSL_FLAG(int, tick_ms, 250, "controller --tick_ms");
ABSL_FLAG(std::string, controller_binary, "",
          "nas-controller to run (default: the one of this build)");

namespace nas {
namespace {

using Clock = std::chrono::steady_clock;

struct RunResult {
  std::string strategy;
  int run = 0;
  int64_t seed = 0;
  int64_t experiment_id = 0;
  std::string state;
  double test = 0;  // percent
  double val = 0;   // percent
  int evaluations = 0;
  int duplicates = 0;
  double seconds = 0;
  // (cumulative simulated seconds, val, test) of each counted evaluation, in
  // seq order.
  std::vector<std::array<double, 3>> curve;
  // Pareto runs: share of the table's exact front returned.
  int front_found = 0;
  int front_returned = 0;
};

std::string Spec(const std::string& strategy, int64_t seed, bool pareto) {
  // "evolution_ls": evolution with dedupe and predictor-guided local search
  // around the incumbent, the best setting of bench/strategy_sim.
  const bool ls = strategy == "evolution_ls";
  std::string s = absl::StrCat("name: sq-", strategy, "-", seed,
                               "\nsearch_space: {name: nb201}\n"
                               "strategy: {name: ",
                               ls ? "evolution" : strategy, ", seed: ", seed);
  if (ls && !pareto) {
    absl::StrAppend(&s,
                    ", evolution: {population: 35, sample_size: 10, dedupe: "
                    "true, local_search: 1, predictor: true}");
  }
  const std::string custom(
      absl::StripAsciiWhitespace(absl::GetFlag(FLAGS_pareto_strategy_yaml)));
  if (pareto && custom.size() >= 2 && custom.front() == '{' &&
      custom.back() == '}') {
    // "{name: x, ...}" -> "{seed: S, name: x, ...}"
    s = absl::StrCat("name: sq-pareto-", seed,
                     "\nsearch_space: {name: nb201}\nstrategy: {seed: ", seed,
                     ", ", custom.substr(custom.find('{') + 1));
    s.pop_back();  // the closing brace, added back below
  } else if (strategy == "evolution") {
    absl::StrAppend(
        &s, ", evolution: {population: ", absl::GetFlag(FLAGS_population),
        ", sample_size: ", absl::GetFlag(FLAGS_sample_size), "}");
  }
  absl::StrAppend(
      &s, "}\nbudget: {max_simulated_seconds: ", absl::GetFlag(FLAGS_budget),
      ", parallel_trials: 1}\n"
      "evaluation:\n  mode: TABULAR\n  tabular:\n    path: ",
      absl::GetFlag(FLAGS_table),
      "\n    val_column: cifar10_valid_acc_12ep\n"
      "    test_column: cifar10_test_acc\n"
      "    cost_column: train_seconds_200ep\n"
      "    cost_scale: 0.06\n");
  if (pareto) {
    absl::StrAppend(&s, "    macs_column: flops_m\n    macs_scale: 1e6\n");
    if (!absl::GetFlag(FLAGS_pareto_objective_yaml).empty()) {
      absl::StrAppend(
          &s, "objective: ", absl::GetFlag(FLAGS_pareto_objective_yaml), "\n");
    }
  }
  return s;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}
double Std(const std::vector<double>& v) {  // sample standard deviation
  if (v.size() < 2) return 0;
  const double m = Mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// Keys of the table's exact front: val up, flops down (2-D sweep).
std::set<std::string> ExactFront(const BenchmarkTable& t) {
  const int val = *t.Column("cifar10_valid_acc_12ep");
  const int flops = *t.Column("flops_m");
  const std::vector<std::string> keys = t.Keys();
  struct P {
    double val, flops;
    std::string key;
  };
  std::vector<P> ps;
  for (int i = 0; i < t.num_rows(); ++i) {
    ps.push_back({*t.Number(i, val), *t.Number(i, flops), keys[i]});
  }
  // By flops ascending, val descending: a point is on the front when its val
  // beats every point with smaller flops (equal points are all kept).
  std::sort(ps.begin(), ps.end(), [](const P& a, const P& b) {
    return a.flops != b.flops ? a.flops < b.flops : a.val > b.val;
  });
  std::set<std::string> front;
  double best = -1;
  double best_flops = -1;
  for (const P& p : ps) {
    if (p.val > best || (p.val == best && p.flops == best_flops)) {
      front.insert(p.key);
      if (p.val > best) best_flops = p.flops;
      best = p.val;
    }
  }
  return front;
}

std::string CurveSvg(const std::map<std::string, std::vector<double>>& curves,
                     const std::vector<double>& grid,
                     const std::string& title) {
  const double w = 720, h = 480, l = 70, r = 150, t = 40, b = 50;
  double lo = 1e9, hi = -1e9;
  for (const auto& [name, ys] : curves) {
    for (double y : ys) {
      if (std::isnan(y)) continue;
      lo = std::min(lo, y);
      hi = std::max(hi, y);
    }
  }
  lo = std::floor(lo * 2) / 2;
  hi = std::ceil(hi * 2) / 2 + 0.01;
  auto X = [&](double x) { return l + (w - l - r) * x / grid.back(); };
  auto Y = [&](double y) { return h - b - (h - t - b) * (y - lo) / (hi - lo); };
  std::string s = absl::StrFormat(
      "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
      "width=\"%g\" height=\"%g\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n<text x=\"%g\" y=\"24\" font-size=\"15\">%s</text>\n",
      w, h, l, title);
  for (double y = lo; y <= hi; y += 0.5) {
    absl::StrAppendFormat(&s,
                          "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" "
                          "stroke=\"#ddd\"/><text x=\"%g\" y=\"%g\" "
                          "text-anchor=\"end\">%.1f</text>\n",
                          l, Y(y), w - r, Y(y), l - 6, Y(y) + 4, y);
  }
  for (double x = 0; x <= grid.back() + 1; x += 2000) {
    absl::StrAppendFormat(&s,
                          "<text x=\"%g\" y=\"%g\" "
                          "text-anchor=\"middle\">%g</text>\n",
                          X(x), h - b + 18, x);
  }
  absl::StrAppendFormat(
      &s,
      "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">simulated seconds</text>"
      "\n<text x=\"16\" y=\"%g\" transform=\"rotate(-90 16 %g)\" "
      "text-anchor=\"middle\">mean test accuracy of the incumbent (%%)</text>"
      "\n<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" "
      "stroke=\"#333\"/>\n",
      (l + w - r) / 2, h - 12, (t + h - b) / 2, (t + h - b) / 2, l, t,
      w - l - r, h - t - b);
  const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                          "#ff7f0e"};
  int k = 0;
  for (const auto& [name, ys] : curves) {
    const char* c = colors[k % 5];
    std::string pts;
    for (size_t i = 0; i < grid.size(); ++i) {
      if (std::isnan(ys[i])) continue;
      absl::StrAppendFormat(&pts, "%.1f,%.1f ", X(grid[i]), Y(ys[i]));
    }
    absl::StrAppendFormat(&s,
                          "<polyline fill=\"none\" stroke=\"%s\" "
                          "stroke-width=\"2\" points=\"%s\"/>\n"
                          "<text x=\"%g\" y=\"%g\" fill=\"%s\">%s</text>\n",
                          c, pts, w - r + 10, t + 20 + 18 * k, c, name);
    ++k;
  }
  s += "</svg>\n";
  return s;
}

class Bench {
 public:
  int Main() {
    const std::string table_path = absl::GetFlag(FLAGS_table);
    absl::StatusOr<std::unique_ptr<BenchmarkTable>> table =
        BenchmarkTable::Load(table_path, "arch");
    if (!table.ok()) {
      fprintf(stderr, "search_quality: %s\n",
              table.status().ToString().c_str());
      return 1;
    }
    // Every key is an nb201 genotype and maps back to the same string.
    const SearchSpace* space = *GetSearchSpace("nb201");
    std::set<std::vector<int>> cells;
    for (const std::string& key : (*table)->Keys()) {
      absl::StatusOr<std::vector<int>> c = space->Parse(key);
      if (!c.ok() || *space->Canonical(*c) != key) {
        fprintf(stderr, "search_quality: key '%s' is not canonical nb201\n",
                key.c_str());
        return 1;
      }
      cells.insert(*c);
    }
    printf(
        "table %s: %d rows, %zu distinct nb201 cells, every key maps to a "
        "genotype and back\n",
        table_path.c_str(), (*table)->num_rows(), cells.size());
    exact_front_ = ExactFront(**table);

    const auto t0 = Clock::now();
    absl::StatusOr<std::unique_ptr<testing::PostgresServer>> pg =
        testing::PostgresServer::Start();
    if (!pg.ok()) {
      fprintf(stderr, "search_quality: %s\n", pg.status().ToString().c_str());
      return 1;
    }
    const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
    std::filesystem::create_directories(out_dir);
    const int port = testing::FreePort();
    auto controller = testing::ChildProcess::Spawn(
        {absl::GetFlag(FLAGS_controller_binary).empty()
             ? testing::Binary("controller/nas-controller")
             : absl::GetFlag(FLAGS_controller_binary),
         absl::StrCat("--listen=127.0.0.1:", port),
         "--database=" + (*pg)->conninfo(),
         absl::StrCat("--tick_ms=", absl::GetFlag(FLAGS_tick_ms))},
        out_dir + "/controller.log");
    if (!controller.ok()) return 1;
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                       grpc::InsecureChannelCredentials());
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(60))) {
      fprintf(stderr, "search_quality: controller did not start; see %s\n",
              (out_dir + "/controller.log").c_str());
      return 1;
    }
    stub_ = v1::ExperimentService::NewStub(channel);
    std::vector<std::unique_ptr<testing::ChildProcess>> workers;
    for (int i = 0; i < absl::GetFlag(FLAGS_workers); ++i) {
      auto w = testing::ChildProcess::Spawn(
          {testing::Binary("worker/nas-worker"),
           absl::StrCat("--controller=127.0.0.1:", port),
           absl::StrCat("--id=tab", i), "--threads=1"},
          absl::StrCat(out_dir, "/worker", i, ".log"));
      if (!w.ok()) return 1;
      workers.push_back(*std::move(w));
    }
    const auto t_ready = Clock::now();

    // The queue of runs: strategies interleaved, so that every strategy
    // sees the same load.
    std::deque<RunResult> todo;
    const std::vector<std::string> strategies =
        absl::StrSplit(absl::GetFlag(FLAGS_strategies), ',', absl::SkipEmpty());
    for (int r = 0; r < absl::GetFlag(FLAGS_runs); ++r) {
      for (size_t s = 0; s < strategies.size(); ++s) {
        RunResult run;
        run.strategy = strategies[s];
        run.run = r;
        run.seed = 1000003 * static_cast<int64_t>(s + 1) + r;
        todo.push_back(run);
      }
    }
    for (int r = 0; r < absl::GetFlag(FLAGS_pareto_runs); ++r) {
      RunResult run;
      run.strategy = "pareto:" + absl::GetFlag(FLAGS_pareto_strategy);
      run.run = r;
      run.seed = 7000001 + r;
      todo.push_back(run);
    }
    const size_t total = todo.size();
    std::vector<RunResult> done;
    std::vector<RunResult> flight;
    while (!todo.empty() || !flight.empty()) {
      while (!todo.empty() && static_cast<int>(flight.size()) <
                                  absl::GetFlag(FLAGS_concurrent)) {
        RunResult run = todo.front();
        todo.pop_front();
        const bool pareto = absl::StartsWith(run.strategy, "pareto:");
        const std::string strategy =
            pareto ? absl::GetFlag(FLAGS_pareto_strategy) : run.strategy;
        grpc::ClientContext ctx;
        v1::CreateExperimentRequest req;
        req.set_spec_yaml(Spec(strategy, run.seed, pareto));
        v1::Experiment e;
        grpc::Status s = stub_->CreateExperiment(&ctx, req, &e);
        if (!s.ok()) {
          fprintf(stderr, "search_quality: CreateExperiment(%s): %s\n",
                  run.strategy.c_str(), s.error_message().c_str());
          return 1;
        }
        run.experiment_id = e.id();
        flight.push_back(run);
      }
      absl::SleepFor(absl::Seconds(1));
      for (auto it = flight.begin(); it != flight.end();) {
        grpc::ClientContext ctx;
        v1::GetExperimentRequest req;
        req.set_id(it->experiment_id);
        v1::Experiment e;
        grpc::Status s = stub_->GetExperiment(&ctx, req, &e);
        if (!s.ok() || e.state() == v1::EXPERIMENT_RUNNING) {
          ++it;
          continue;
        }
        if (!Collect(e, &*it)) return 1;
        done.push_back(*it);
        it = flight.erase(it);
        if (done.size() % 20 == 0 || done.size() == total) {
          fprintf(stderr, "search_quality: %zu/%zu runs done (%.0f s)\n",
                  done.size(), total,
                  std::chrono::duration<double>(Clock::now() - t0).count());
        }
      }
    }
    const double wall =
        std::chrono::duration<double>(Clock::now() - t0).count();
    const double search_wall =
        std::chrono::duration<double>(Clock::now() - t_ready).count();
    workers.clear();
    controller->reset();
    Report(done, strategies, wall, search_wall, out_dir);
    return 0;
  }

 private:
  // Reads the finished run's result and its curve over the API.
  bool Collect(const v1::Experiment& e, RunResult* run) {
    run->state = v1::ExperimentState_Name(e.state());
    run->evaluations = e.counts().trials_succeeded();
    run->duplicates = e.counts().duplicates();
    run->seconds = e.simulated_seconds();
    if (e.has_best()) {
      run->test = 100 * e.best().metrics().test_accuracy();
      run->val = 100 * e.best().metrics().val_accuracy();
    }
    v1::ListCandidatesRequest req;
    req.set_experiment_id(e.id());
    req.set_state(v1::CANDIDATE_EVALUATED);
    req.set_page_size(1000);  // the controller's largest page
    v1::ListCandidatesResponse resp;
    grpc::Status s;
    while (true) {
      v1::ListCandidatesResponse page;
      grpc::ClientContext ctx;
      s = stub_->ListCandidates(&ctx, req, &page);
      if (!s.ok()) {
        fprintf(stderr, "search_quality: ListCandidates: %s\n",
                s.error_message().c_str());
        return false;
      }
      for (v1::Candidate& c : *page.mutable_candidates()) {
        *resp.add_candidates() = std::move(c);
      }
      if (page.next_page_token().empty() || page.candidates().empty()) break;
      req.set_page_token(page.next_page_token());
    }
    double t = 0;
    for (const v1::Candidate& c : resp.candidates()) {
      t += c.metrics().simulated_seconds();
      run->curve.push_back({t, c.metrics().val_accuracy() * 100,
                            c.metrics().test_accuracy() * 100});
    }
    if (absl::StartsWith(run->strategy, "pareto:")) {
      v1::GetParetoFrontRequest preq;
      preq.set_experiment_id(e.id());
      preq.add_minimize("macs");
      v1::GetParetoFrontResponse front;
      grpc::ClientContext pctx;
      s = stub_->GetParetoFront(&pctx, preq, &front);
      if (!s.ok()) {
        fprintf(stderr, "search_quality: GetParetoFront: %s\n",
                s.error_message().c_str());
        return false;
      }
      run->front_returned = front.front_size();
      for (const v1::Candidate& c : front.front()) {
        run->front_found += exact_front_.count(c.genotype().canonical());
      }
    }
    return true;
  }

  void Report(const std::vector<RunResult>& done,
              const std::vector<std::string>& strategies, double wall,
              double search_wall, const std::string& out_dir) {
    std::ofstream csv(out_dir + "/search_quality.csv");
    csv << "strategy,run,seed,experiment_id,state,best_val_acc,test_acc,"
           "evaluations,duplicates,simulated_seconds,front_returned,"
           "front_found\n";
    int evaluations = 0;
    for (const RunResult& r : done) {
      csv << r.strategy << "," << r.run << "," << r.seed << ","
          << r.experiment_id << "," << r.state << "," << r.val << "," << r.test
          << "," << r.evaluations << "," << r.duplicates << "," << r.seconds
          << "," << r.front_returned << "," << r.front_found << "\n";
      evaluations += r.evaluations;
    }
    std::vector<double> grid;
    for (double x = 0; x <= absl::GetFlag(FLAGS_budget) + 1e-9; x += 200) {
      grid.push_back(x);
    }
    std::map<std::string, std::vector<double>> curves;
    std::string md = absl::StrCat(
        "| strategy | runs | test acc. mean ± std (%) | best search score "
        "(val 12 ep, %) | evaluations / run | duplicates / run | failed "
        "runs |\n|---|---|---|---|---|---|---|\n");
    printf("\n%-12s %5s %22s %12s %12s\n", "strategy", "runs",
           "test acc (%) mean+-std", "evals/run", "dups/run");
    for (const std::string& s : strategies) {
      std::vector<double> test, val, evals, dups;
      int failed = 0;
      std::vector<double> curve(grid.size(), 0);
      std::vector<int> n(grid.size(), 0);
      for (const RunResult& r : done) {
        if (r.strategy != s) continue;
        if (r.state != "EXPERIMENT_SUCCEEDED") {
          ++failed;
          continue;
        }
        test.push_back(r.test);
        val.push_back(r.val);
        evals.push_back(r.evaluations);
        dups.push_back(r.duplicates);
        // Incumbent (best val so far, first wins ties) at each grid point.
        size_t k = 0;
        double best_val = -1, best_test = 0;
        for (size_t g = 0; g < grid.size(); ++g) {
          for (; k < r.curve.size() && r.curve[k][0] <= grid[g]; ++k) {
            if (r.curve[k][1] > best_val) {
              best_val = r.curve[k][1];
              best_test = r.curve[k][2];
            }
          }
          if (best_val >= 0) {
            curve[g] += best_test;
            ++n[g];
          }
        }
      }
      for (size_t g = 0; g < grid.size(); ++g) {
        // Only where every run has an incumbent, so the mean is comparable.
        curve[g] = n[g] == static_cast<int>(test.size()) && n[g] > 0
                       ? curve[g] / n[g]
                       : std::nan("");
      }
      curves[s] = curve;
      printf("%-12s %5zu %14.2f +- %.2f %12.1f %12.1f%s\n", s.c_str(),
             test.size(), Mean(test), Std(test), Mean(evals), Mean(dups),
             failed > 0 ? absl::StrCat("  (", failed, " runs failed)").c_str()
                        : "");
      absl::StrAppendFormat(
          &md, "| %s | %d | %.2f ± %.2f | %.2f | %.1f | %.1f | %d |\n", s,
          test.size(), Mean(test), Std(test), Mean(val), Mean(evals),
          Mean(dups), failed);
    }
    std::vector<double> shares;
    int returned = 0;
    for (const RunResult& r : done) {
      if (!absl::StartsWith(r.strategy, "pareto:")) continue;
      shares.push_back(static_cast<double>(r.front_found) /
                       static_cast<double>(exact_front_.size()));
      returned += r.front_returned;
    }
    if (!shares.empty()) {
      const std::string line = absl::StrFormat(
          "Pareto (%s, accuracy vs flops_m, %zu runs): the table's exact front "
          "has %zu cells; a run's GetParetoFront returned %.1f candidates on "
          "average and found %.1f%% ± %.1f%% of the exact front",
          absl::GetFlag(FLAGS_pareto_strategy_yaml).empty()
              ? absl::GetFlag(FLAGS_pareto_strategy)
              : absl::GetFlag(FLAGS_pareto_strategy_yaml),
          shares.size(), exact_front_.size(),
          static_cast<double>(returned) / static_cast<double>(shares.size()),
          100 * Mean(shares), 100 * Std(shares));
      printf("%s\n", line.c_str());
      absl::StrAppend(&md, "\n", line, "\n");
    }
    const std::string timing = absl::StrFormat(
        "wall time %.0f s (%.0f s of searching after start-up), %zu runs, %d "
        "counted evaluations (%.0f per second), %d workers, %d experiments "
        "in flight",
        wall, search_wall, done.size(), evaluations,
        evaluations / std::max(1.0, search_wall), absl::GetFlag(FLAGS_workers),
        absl::GetFlag(FLAGS_concurrent));
    printf("%s\n", timing.c_str());
    absl::StrAppend(&md, "\n", timing, "\n");
    std::ofstream(out_dir + "/search_quality.md") << md;
    std::ofstream(out_dir + "/search_quality.svg") << CurveSvg(
        curves, grid,
        absl::StrCat("NAS-Bench-201 CIFAR-10, ", absl::GetFlag(FLAGS_runs),
                     " runs per strategy"));
    printf("wrote %s/search_quality.{csv,md,svg}\n", out_dir.c_str());
  }

  std::unique_ptr<v1::ExperimentService::Stub> stub_;
  std::set<std::string> exact_front_;
};

}  // namespace
}  // namespace nas

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return nas::Bench().Main();
}
