// nasctl and the Python client as a user runs them: the real binaries as
// subprocesses against a real controller, PostgreSQL and a worker over
// loopback gRPC. Evaluations are TABULAR lookups in a synthetic table, so a
// search takes seconds. JSON output is parsed (protobuf's JSON parser),
// SVGs are parsed as XML (svg_summary.py), the progress bar is read from a
// real terminal (tmux capture-pane).
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/spaces/search_space.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "tests/testing/cluster.h"
#include "tests/testing/process.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::Binary;
using ::nas::testing::ChildProcess;

struct Result {
  int rc = -1;
  std::string out;
  std::string err;
};

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

// Runs a shell command line; stdout and stderr captured separately.
Result Shell(const std::string& command, const std::string& scratch_dir) {
  Result r;
  const std::string err_path = scratch_dir + "/stderr.txt";
  r.rc = testing::RunCommand(command + " 2>" + err_path, &r.out);
  r.err = testing::ReadFile(err_path);
  return r;
}

template <typename Message>
Message ParseJson(const std::string& json) {
  Message m;
  auto s = google::protobuf::util::JsonStringToMessage(json, &m);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << json;
  return m;
}

// A synthetic benchmark table over all 15,625 nb201 cells (accuracies in
// percent): convolutions raise accuracy and MACs, so the two conflict.
std::string WriteTable(const std::string& dir) {
  const SearchSpace* space = *GetSearchSpace("nb201");
  const std::string path = dir + "/table.csv";
  std::ofstream out(path);
  out << "arch,val_pct,test_pct,train_s,mmacs\n";
  for (int i = 0; i < 15625; ++i) {
    std::vector<int> choices;
    int conv3 = 0, conv1 = 0;
    for (int e = 0, x = i; e < 6; ++e, x /= 5) {
      choices.push_back(x % 5);
      conv3 += x % 5 == 3;
      conv1 += x % 5 == 2;
    }
    out << *space->Canonical(choices) << ","
        << 50 + 6 * conv3 + 3 * conv1 + (i % 89) * 0.01 << ","
        << 49 + 6 * conv3 + 3 * conv1 << "," << 20 + i % 7 << ","
        << 1 + 9 * conv3 + 2 * conv1 + (i % 13) * 0.01 << "\n";
  }
  return path;
}

std::string Spec(const std::string& name, const std::string& table, int trials,
                 int parallel) {
  testing::SpecYaml spec;
  spec.name = name;
  spec.strategy =
      "{name: evolution, seed: 3, evolution: {population: 6, sample_size: 2}}";
  spec.objective = "{minimize: [macs]}";
  spec.budget = testing::TrialBudget(trials, parallel);
  spec.evaluation = testing::TabularLookup(table, 0, "mmacs");
  return spec.Yaml();
}

// One PostgreSQL, controller and worker for the whole suite, and one
// experiment submitted with `nasctl submit` and followed with
// `nasctl --output json watch` from its start to its end.
struct Env {
  testing::LocalCluster cluster;
  std::string dir;  // cluster.dir()
  int port = 0;     // the controller's
  std::string table;
  std::string setup_error;  // non-empty: the suite cannot run
  int64_t id = 0;           // the followed experiment
  std::string watch_json;   // what `watch --output json` printed
  int watch_rc = -1;
};
constexpr int kTrials = 16;
Env* env = nullptr;

class Nasctl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env = new Env;
    testing::LocalCluster& cluster = env->cluster;
    absl::Status started = cluster.Start("nasctl-e2e");
    env->dir = cluster.dir();
    if (!started.ok()) {
      env->setup_error = std::string(started.message());
      return;
    }
    env->port = cluster.port();
    if (!cluster.StartController()) {
      env->setup_error = "controller did not start: " +
                         testing::ReadLog(cluster, "controller");
      return;
    }
    // The worker's own defaults, not the cluster's.
    if (cluster.StartWorker("w1", {"--unreachable_timeout_seconds=300",
                                   "--cache_dir="}) == nullptr) {
      env->setup_error = "worker did not start";
      return;
    }
    env->table = WriteTable(env->dir);

    // The experiment most tests read: submitted, then watched live.
    const std::string spec = env->dir + "/search.yaml";
    WriteText(spec, Spec("nasctl-e2e", env->table, kTrials, 2));
    Result r = Shell(Cmd("submit " + spec), env->dir);
    if (r.rc != 0 ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(r.out), &env->id)) {
      env->setup_error = "submit failed: " + r.out + r.err;
      return;
    }
    auto watch =
        ChildProcess::Spawn({Binary("client/nasctl"), "--controller",
                             absl::StrCat("127.0.0.1:", env->port), "--output",
                             "json", "watch", absl::StrCat(env->id)},
                            env->dir + "/watch.jsonl");
    if (!watch.ok()) {
      env->setup_error = std::string(watch.status().message());
      return;
    }
    std::optional<int> rc = (*watch)->WaitFor(absl::Minutes(2));
    env->watch_rc = rc.value_or(-1);
    env->watch_json = testing::ReadFile(env->dir + "/watch.jsonl");
  }

  static void TearDownTestSuite() {
    env->cluster.Finish(false);
    delete env;
    env = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(env->setup_error.empty()) << env->setup_error;
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "---- controller log (tail) ----\n";
      std::string out;
      testing::RunCommand(
          "tail -n 30 " + env->dir + "/controller.log " + env->dir + "/w1.log",
          &out);
      std::cerr << out;
    }
  }

  static std::string Cmd(const std::string& args) {
    return absl::StrCat(Binary("client/nasctl"),
                        " --controller 127.0.0.1:", env->port, " ", args);
  }
  // nasctl with these arguments.
  static Result Run(const std::string& args) {
    return Shell(Cmd(args), env->dir);
  }
  static std::string Id() { return absl::StrCat(env->id); }

  v1::Experiment Get(int64_t id) {
    grpc::ClientContext ctx;
    v1::GetExperimentRequest req;
    req.set_id(id);
    v1::Experiment e;
    grpc::Status s = env->cluster.stub()->GetExperiment(&ctx, req, &e);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return e;
  }

  // Every evaluated search candidate, via `nasctl candidates --all`.
  std::vector<v1::Candidate> Evaluated() {
    Result r = Run("--output json candidates " + Id() +
                   " --state EVALUATED --all --limit 7");
    EXPECT_EQ(r.rc, 0) << r.err;
    auto resp = ParseJson<v1::ListCandidatesResponse>(r.out);
    return {resp.candidates().begin(), resp.candidates().end()};
  }

  // svg_summary.py's JSON for `path`.
  google::protobuf::Struct Svg(const std::string& path) {
    Result r = Shell(absl::StrCat("/usr/bin/python3 ", NAS_SOURCE_DIR,
                                  "/tests/e2e/svg_summary.py ", path),
                     env->dir);
    EXPECT_EQ(r.rc, 0) << r.err;
    return ParseJson<google::protobuf::Struct>(r.out);
  }
};

TEST_F(Nasctl, SubmitPrintsTheIdAndWatchJsonFollowsTheSearchToItsEnd) {
  EXPECT_EQ(env->watch_rc, 0) << env->watch_json;
  std::vector<v1::ExperimentEvent> events;
  for (absl::string_view line : absl::StrSplit(env->watch_json, '\n')) {
    if (line.empty()) continue;
    events.push_back(ParseJson<v1::ExperimentEvent>(std::string(line)));
  }
  ASSERT_GE(events.size(), 3u) << env->watch_json;
  int last_done = -1;
  for (const v1::ExperimentEvent& e : events) {
    EXPECT_EQ(e.experiment().id(), env->id);
    EXPECT_GE(e.experiment().counts().trials_succeeded(), last_done);
    last_done = e.experiment().counts().trials_succeeded();
  }
  EXPECT_LT(events.front().experiment().counts().trials_succeeded(), kTrials);
  EXPECT_EQ(events.back().experiment().state(), v1::EXPERIMENT_SUCCEEDED);
  EXPECT_EQ(events.back().experiment().counts().trials_succeeded(), kTrials);
}

TEST_F(Nasctl, ListAndShowAsTablesAndJson) {
  Result r = Run("list");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "nasctl-e2e")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "SUCCEEDED")) << r.out;
  r = Run("list --output json");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto list = ParseJson<v1::ListExperimentsResponse>(r.out);
  bool found = false;
  for (const v1::Experiment& e : list.experiments()) {
    found = found || (e.id() == env->id && e.spec().name() == "nasctl-e2e");
  }
  EXPECT_TRUE(found) << r.out;

  const v1::Experiment e = Get(env->id);
  r = Run("show " + Id());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "state        SUCCEEDED")) << r.out;
  EXPECT_TRUE(absl::StrContains(
      r.out, absl::StrCat("trials       ", kTrials, " succeeded")))
      << r.out;
  EXPECT_TRUE(absl::StrContains(
      r.out, absl::StrFormat("best         candidate %d: val_acc %.4f",
                             e.best().id(), e.best().metrics().val_accuracy())))
      << r.out;
  r = Run("--output=json show " + Id());
  ASSERT_EQ(r.rc, 0) << r.err;
  auto shown = ParseJson<v1::Experiment>(r.out);
  EXPECT_EQ(shown.id(), env->id);
  EXPECT_EQ(shown.state(), v1::EXPERIMENT_SUCCEEDED);
  EXPECT_EQ(shown.best().id(), e.best().id());

  r = Run("show 999999");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "NOT_FOUND")) << r.err;
}

TEST_F(Nasctl, CandidatesSortFilterAndPage) {
  // Sorted by accuracy, descending, filtered to EVALUATED.
  Result r = Run("candidates " + Id() +
                 " --state EVALUATED --order-by -val_accuracy --limit 100 "
                 "--output json");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto sorted = ParseJson<v1::ListCandidatesResponse>(r.out);
  ASSERT_EQ(sorted.candidates_size(), kTrials);
  EXPECT_EQ(sorted.total(), kTrials);
  for (int i = 0; i < sorted.candidates_size(); ++i) {
    EXPECT_EQ(sorted.candidates(i).state(), v1::CANDIDATE_EVALUATED);
    if (i > 0) {
      EXPECT_GE(sorted.candidates(i - 1).metrics().val_accuracy(),
                sorted.candidates(i).metrics().val_accuracy());
    }
  }
  // Pages of 5 by MACs, following next_page_token, cover the same set once.
  std::set<int64_t> seen;
  std::string token;
  int pages = 0;
  int64_t last_macs = -1;
  do {
    r = Run("--output json candidates " + Id() +
            " --state EVALUATED --order-by macs --limit 5" +
            (token.empty() ? "" : " --page-token " + token));
    ASSERT_EQ(r.rc, 0) << r.err;
    auto page = ParseJson<v1::ListCandidatesResponse>(r.out);
    EXPECT_LE(page.candidates_size(), 5);
    for (const v1::Candidate& k : page.candidates()) {
      EXPECT_TRUE(seen.insert(k.id()).second) << "candidate twice: " << k.id();
      EXPECT_GE(k.macs(), last_macs);  // analytic MACs
      last_macs = k.macs();
    }
    token = page.next_page_token();
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(seen.size(), static_cast<size_t>(kTrials));
  // The table says where the next page starts.
  r = Run("candidates " + Id() + " --limit 4");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "4 of ")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "next page: --page-token 4")) << r.out;

  // Metric filters, applied by the controller: exactly the candidates
  // within the bounds, and the total counts them.
  const double min_acc =
      sorted.candidates(kTrials / 2).metrics().val_accuracy();
  int64_t max_macs = 0;
  for (const v1::Candidate& k : sorted.candidates()) {
    max_macs = std::max(max_macs, k.macs());
  }
  max_macs = max_macs * 3 / 4;
  std::set<int64_t> within;
  for (const v1::Candidate& k : sorted.candidates()) {
    if (k.metrics().val_accuracy() >= min_acc && k.macs() <= max_macs) {
      within.insert(k.id());
    }
  }
  ASSERT_FALSE(within.empty());
  ASSERT_LT(within.size(), static_cast<size_t>(kTrials));
  r = Run(absl::StrCat("--output json candidates ", Id(),
                       " --min-val-accuracy ",
                       absl::StrFormat("%.17g", min_acc), " --max-macs ",
                       max_macs, " --limit 2 --all"));
  ASSERT_EQ(r.rc, 0) << r.err;
  auto filtered = ParseJson<v1::ListCandidatesResponse>(r.out);
  std::set<int64_t> got;
  for (const v1::Candidate& k : filtered.candidates()) got.insert(k.id());
  EXPECT_EQ(got, within);
  EXPECT_EQ(filtered.total(), static_cast<int>(within.size()));
  r = Run("candidates " + Id() + " --max-macs lots");
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "--max-macs: expected a positive count"))
      << r.err;

  // Mistakes name the flag: locally (exit 2) or by the controller (exit 1).
  r = Run("candidates " + Id() + " --state DONE");
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "--state: unknown state 'DONE'"))
      << r.err;
  r = Run("candidates " + Id() + " --order-by accuracy");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "order_by")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "INVALID_ARGUMENT")) << r.err;
  r = Run("candidates " + Id() + " --limit 0");
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "--limit")) << r.err;
}

TEST_F(Nasctl, ParetoTableJsonAndSvgOverAllCandidates) {
  const std::vector<v1::Candidate> all = Evaluated();
  ASSERT_EQ(all.size(), static_cast<size_t>(kTrials));
  const std::string svg = env->dir + "/front.svg";
  Result r = Run("pareto " + Id() + " --output json --svg " + svg);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto front = ParseJson<v1::GetParetoFrontResponse>(r.out);
  ASSERT_GE(front.front_size(), 1);
  ASSERT_EQ(front.objectives_size(), 2);
  EXPECT_EQ(front.objectives(1), "macs");
  // Exactly the non-dominated candidates (val_accuracy up, MACs down).
  std::set<int64_t> expected, got;
  for (const v1::Candidate& a : all) {
    bool dominated = false;
    for (const v1::Candidate& b : all) {
      const double av = a.metrics().val_accuracy(),
                   bv = b.metrics().val_accuracy();
      const int64_t am = a.metrics().macs(), bm = b.metrics().macs();
      dominated = dominated || (bv >= av && bm <= am && (bv > av || bm < am));
    }
    if (!dominated) expected.insert(a.id());
  }
  for (const v1::Candidate& k : front.front()) got.insert(k.id());
  EXPECT_EQ(got, expected);

  google::protobuf::Struct summary = Svg(svg);
  const auto& panels = summary.fields().at("panels").list_value();
  ASSERT_EQ(panels.values_size(), 1);
  const auto& p = panels.values(0).struct_value().fields();
  EXPECT_EQ(p.at("points").number_value(), kTrials);
  EXPECT_EQ(p.at("highlight").number_value(), front.front_size());
  std::set<std::string> texts;
  for (const auto& t : p.at("texts").list_value().values()) {
    texts.insert(t.string_value());
  }
  EXPECT_TRUE(texts.count("macs")) << "x axis not named";
  EXPECT_TRUE(texts.count("validation accuracy")) << "y axis not named";

  r = Run("pareto " + Id());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(
      r.out,
      absl::StrCat("minimize macs): ", front.front_size(), " candidates")))
      << r.out;
  r = Run("pareto " + Id() + " --minimize flops");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "flops")) << r.err;
}

TEST_F(Nasctl, CurveTableJsonAndSvgByTrialAndTime) {
  const v1::Experiment e = Get(env->id);
  const std::string svg = env->dir + "/curve.svg";
  Result r = Run("curve " + Id() + " --svg " + svg + " --output json");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto curve = ParseJson<google::protobuf::Struct>(r.out);
  const auto& points = curve.fields().at("points").list_value();
  ASSERT_EQ(points.values_size(), kTrials);
  double best = -1, last_seconds = -1, simulated = 0;
  int improved = 0;
  std::map<int64_t, double> table_cost;  // candidate id -> simulated seconds
  for (const v1::Candidate& k : Evaluated()) {
    table_cost[k.id()] = k.metrics().simulated_seconds();
  }
  for (int i = 0; i < points.values_size(); ++i) {
    const auto& f = points.values(i).struct_value().fields();
    EXPECT_EQ(f.at("trial").number_value(), i + 1);
    const double val = f.at("val_accuracy").number_value();
    EXPECT_EQ(f.at("improved").bool_value(), val > best) << "trial " << i + 1;
    improved += val > best;
    best = std::max(best, val);
    EXPECT_DOUBLE_EQ(f.at("best_val_accuracy").number_value(), best);
    // The table's cost column (train_s, 20..26 s per lookup), summed.
    // An int64 id is a string, as in the API's messages.
    int64_t candidate = 0;
    ASSERT_TRUE(
        absl::SimpleAtoi(f.at("candidate_id").string_value(), &candidate));
    ASSERT_TRUE(table_cost.count(candidate)) << candidate;
    EXPECT_GE(table_cost[candidate], 20);
    simulated += table_cost[candidate];
    EXPECT_NEAR(f.at("simulated_seconds").number_value(), simulated, 1e-6);
    EXPECT_GE(f.at("seconds").number_value(), last_seconds);
    last_seconds = f.at("seconds").number_value();
  }
  EXPECT_DOUBLE_EQ(best, e.best().metrics().val_accuracy());
  // Seconds come from each result's time (Candidate.updated_at): after the
  // experiment was created, not after it finished.
  EXPECT_GT(last_seconds, 0);
  EXPECT_LE(last_seconds,
            e.finished_at().seconds() - e.created_at().seconds() + 1);

  google::protobuf::Struct summary = Svg(svg);
  const auto& panels = summary.fields().at("panels").list_value();
  // By trial, by time and (TABULAR lookups report a cost) by simulated time.
  ASSERT_EQ(panels.values_size(), 3);
  const std::vector<std::string> x_labels = {
      "trials evaluated", "seconds since the experiment started",
      "simulated seconds (cumulative)"};
  for (int i = 0; i < 3; ++i) {
    const auto& p = panels.values(i).struct_value().fields();
    EXPECT_EQ(p.at("points").number_value(), kTrials);
    EXPECT_EQ(p.at("highlight").number_value(), improved);
    std::set<std::string> texts;
    for (const auto& t : p.at("texts").list_value().values()) {
      texts.insert(t.string_value());
    }
    EXPECT_TRUE(texts.count(x_labels[i])) << x_labels[i];
    EXPECT_TRUE(texts.count("validation accuracy"));
  }

  r = Run("curve " + Id());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "TRIAL CANDIDATE   SECONDS     SIM_S"))
      << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), kTrials + 1);
}

TEST_F(Nasctl, ExportRefusesACandidateWithoutAModel) {
  // TABULAR evaluations train nothing, so no model is kept: the controller's
  // NOT_FOUND comes through with exit code 1. (A real export, loaded with
  // torch.jit.load, is FinalTrainingAndExportedModelLoadsInPython in
  // e2e_test.cc.)
  const v1::Experiment e = Get(env->id);
  const std::string path = env->dir + "/model.pt";
  Result r =
      Run(absl::StrCat("export ", env->id, " ", e.best().id(), " -f ", path));
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "NOT_FOUND")) << r.err;
  r = Run(absl::StrCat("export ", env->id, " ", e.best().id()));
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "expected -f FILE")) << r.err;
}

TEST_F(Nasctl, StopEndsARunningExperimentOnce) {
  const std::string spec = env->dir + "/long.yaml";
  WriteText(spec, Spec("nasctl-long", env->table, 100000, 1));
  Result r = Run("--output json submit " + spec);
  ASSERT_EQ(r.rc, 0) << r.err;
  const int64_t id = ParseJson<v1::Experiment>(r.out).id();
  ASSERT_GT(id, 0);
  r = Run(absl::StrCat("stop ", id));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat("experiment ", id, " STOPPED\n"));
  EXPECT_EQ(Get(id).state(), v1::EXPERIMENT_STOPPED);
  // Again: nothing changes, and that is not an error (docker stop).
  r = Run(absl::StrCat("stop ", id));
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat("experiment ", id, " already STOPPED\n"));
  // Watching a stopped experiment ends at once, exit 0.
  r = Run(absl::StrCat("watch ", id));
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "STOPPED")) << r.out;
}

// Each mistake is refused by nasctl before anything is sent (exit 2), with
// the field path and the YAML line.
TEST_F(Nasctl, BadSpecsAreRefusedLocallyNamingFieldAndLine) {
  const std::string base = R"(name: bad
search_space: {name: nb201}
strategy: {name: random, seed: 1}
budget: {max_trials: 3, parallel_trials: 1}
evaluation:
  mode: FULL
  epochs: 1
)";
  struct Case {
    std::string yaml;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {base + "  epoch: 3\n", "spec.evaluation.epoch (line 8): unknown field"},
      {base + "  batch_size: many\n",
       "spec.evaluation.batch_size (line 8): expected an integer"},
      {base + "  momentum: 1.5\n", "spec.evaluation.momentum (line 8)"},
      {base + "duplicates: sometimes\n",
       "spec.duplicates (line 8): unknown policy 'sometimes'"},
      {base + "objective: {minimize: [flops]}\n",
       "spec.objective.minimize[0] (line 8): unknown objective 'flops'"},
      {base + "objective: {ranking: pareto}\n",
       "spec.objective.minimize (line 8)"},
      {base + "objective:\n  reward: {metric: latency_ms, target: -1}\n",
       "spec.objective.reward.target (line 9): must be > 0"},
      {base + "lease_seconds: -5\n", "spec.lease_seconds (line 8)"},
      {base + "required_labels: [gpu]\n",
       "spec.required_labels (line 8): expected a mapping"},
      {base + "early_stopping: {rule: median}\n",
       "spec.early_stopping.rule (line 8)"},
      {base + "final: {top_k: 50}\n", "spec.final.top_k (line 8)"},
      {base + "keep_models: -1\n", "spec.keep_models (line 8)"},
      {absl::StrReplaceAll(base, {{"{max_trials: 3,", "{max_trials: 0,"}}),
       "spec.budget.max_trials (line 4)"},
      {absl::StrReplaceAll(base, {{"{name: nb201}", "{name: darts}"}}),
       "spec.search_space.name (line 2)"},
      {absl::StrReplaceAll(base, {{"name: random", "name: annealing"}}),
       "spec.strategy.name (line 3)"},
      {absl::StrReplaceAll(base, {{"mode: FULL", "mode: TABULAR"}}),
       "spec.evaluation.tabular"},
      {"name: x\nsearch_space: {name: nb201\nbudget: [\n", "line"},
  };
  int i = 0;
  for (const Case& c : cases) {
    const std::string path = absl::StrCat(env->dir, "/bad", ++i, ".yaml");
    WriteText(path, c.yaml);
    Result r = Run("submit " + path);
    EXPECT_EQ(r.rc, 2) << c.yaml;
    EXPECT_TRUE(absl::StrContains(r.err, c.expected))
        << "expected '" << c.expected << "' in: " << r.err;
    EXPECT_TRUE(absl::StartsWith(r.err, "nasctl submit: " + path + ": "))
        << r.err;
  }
  // Several mistakes: every one printed, one per line.
  const std::string path = env->dir + "/bad-many.yaml";
  WriteText(path,
            absl::StrReplaceAll(base, {{"{max_trials: 3,", "{max_trials: 0,"},
                                       {"{name: nb201}", "{name: darts}"}}) +
                "keep_models: -1\n");
  Result r = Run("submit " + path);
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 3) << r.err;
  // Nothing reached the controller.
  r = Run("--output json list");
  ASSERT_EQ(r.rc, 0);
  const auto listed = ParseJson<v1::ListExperimentsResponse>(r.out);
  for (const v1::Experiment& e : listed.experiments()) {
    EXPECT_NE(e.spec().name(), "bad");
    EXPECT_NE(e.spec().name(), "x");
  }
}

TEST_F(Nasctl, UsageMistakesAndAnUnreachableControllerHaveTheirExitCodes) {
  Result r = Run("frobnicate 1");
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "unknown command 'frobnicate'"));
  r = Run("--output xml list");
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "--output")) << r.err;
  r = Run("show abc");
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "experiment ID")) << r.err;
  r = Run("list --svg x.svg");
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "unknown flag --svg")) << r.err;
  r = Run("help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(absl::StrContains(r.out, "exit codes")) << r.out;
  // Nothing listens on a fresh port: exit 3, UNAVAILABLE.
  r = Shell(absl::StrCat("NAS_CONTROLLER=127.0.0.1:", testing::FreePort(), " ",
                         Binary("client/nasctl"), " list"),
            env->dir);
  EXPECT_EQ(r.rc, 3);
  EXPECT_TRUE(absl::StrContains(r.err, "UNAVAILABLE")) << r.err;
}

// The Python client (client/python) as its example uses it: submit, follow
// WatchExperiment, print the front; the front is the one nasctl shows.
TEST_F(Nasctl, PythonExamplePrintsTheFrontNasctlShows) {
  const std::string spec = env->dir + "/python.yaml";
  WriteText(spec, Spec("python-example", env->table, 10, 2));
  Result r = Shell(
      absl::StrCat("PYTHONPATH=", NAS_BINARY_DIR, "/python:", NAS_SOURCE_DIR,
                   "/client/python /usr/bin/python3 ", NAS_SOURCE_DIR,
                   "/client/python/examples/submit_and_watch.py --controller "
                   "127.0.0.1:",
                   env->port, " --json ", spec),
      env->dir);
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  std::vector<std::string> lines =
      absl::StrSplit(absl::StripTrailingAsciiWhitespace(r.out), '\n');
  ASSERT_GE(lines.size(), 4u) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "ended: EXPERIMENT_SUCCEEDED")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "10/10 trials")) << r.out;
  auto printed = ParseJson<google::protobuf::Struct>(lines.back());
  const int64_t id =
      static_cast<int64_t>(printed.fields().at("experiment_id").number_value());
  const auto& py_front = printed.fields().at("front").list_value();

  Result n = Run(absl::StrCat("pareto ", id, " --output json"));
  ASSERT_EQ(n.rc, 0) << n.err;
  auto front = ParseJson<v1::GetParetoFrontResponse>(n.out);
  ASSERT_EQ(py_front.values_size(), front.front_size()) << r.out << n.out;
  ASSERT_GE(front.front_size(), 1);
  for (int i = 0; i < front.front_size(); ++i) {
    const auto& f = py_front.values(i).struct_value().fields();
    const v1::Candidate& k = front.front(i);
    EXPECT_EQ(f.at("id").number_value(), k.id());
    EXPECT_EQ(f.at("val_accuracy").number_value(), k.metrics().val_accuracy());
    EXPECT_EQ(f.at("macs").number_value(), k.metrics().macs());
    EXPECT_EQ(f.at("genotype").string_value(), k.genotype().canonical());
    // ... and in the printed table.
    EXPECT_TRUE(absl::StrContains(
        r.out,
        absl::StrFormat("%6d %8.4f ", k.id(), k.metrics().val_accuracy())))
        << r.out;
  }
}

// `nasctl watch` in a real terminal (a tmux pane): the bar is redrawn in
// place, moves as trials finish, and watch exits when the experiment ends.
TEST_F(Nasctl, WatchInATerminalMovesTheBarAndEndsWithTheExperiment) {
  constexpr int kLong = 150;
  const std::string spec = env->dir + "/tty.yaml";
  WriteText(spec, Spec("tty-watch", env->table, kLong, 1));
  // Submitted from inside the terminal, so the watch starts right away.
  const std::string tmux = absl::StrCat("tmux -L nasctl-e2e-", getpid(), " ");
  Result r = Shell(
      absl::StrCat(tmux, "new-session -d -s watch -x 200 -y 12 ",
                   testing::ShellQuote("id=$(" + Cmd("submit " + spec) +
                                       ") && " + Cmd("watch $id") +
                                       "; echo WATCH-EXIT=$?; sleep 300")),
      env->dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  std::set<int> done_values;
  std::string pane;
  const absl::Time end = absl::Now() + absl::Seconds(90);
  while (absl::Now() < end) {
    Result cap = Shell(tmux + "capture-pane -p -t watch", env->dir);
    pane = cap.out;
    for (absl::string_view line : absl::StrSplit(pane, '\n')) {
      const size_t slash = line.find('/');
      const size_t bracket = line.find("] ");
      int done = 0;
      if (bracket != absl::string_view::npos &&
          slash != absl::string_view::npos &&
          absl::SimpleAtoi(line.substr(bracket + 2, slash - bracket - 2),
                           &done)) {
        done_values.insert(done);
      }
    }
    if (absl::StrContains(pane, "WATCH-EXIT=")) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  Shell(tmux + "kill-server", env->dir);
  std::cout << "trials done seen on screen: " << absl::StrJoin(done_values, " ")
            << "\nlast screen:\n"
            << pane;
  EXPECT_TRUE(absl::StrContains(pane, "WATCH-EXIT=0")) << pane;
  // One progress line, rewritten in place (not one line per event).
  int bars = 0;
  for (absl::string_view line : absl::StrSplit(pane, '\n')) {
    bars += absl::StrContains(line, " elapsed, ");
  }
  EXPECT_EQ(bars, 1) << pane;
  EXPECT_TRUE(
      absl::StrContains(pane, absl::StrCat("[", std::string(30, '#'), "] ",
                                           kLong, "/", kLong, " done")))
      << pane;
  EXPECT_TRUE(absl::StrContains(pane, "0s left, SUCCEEDED")) << pane;
  EXPECT_TRUE(absl::StrContains(pane, "front ")) << pane;
  // The bar moved: several intermediate counts were on screen.
  EXPECT_GE(done_values.size(), 3u)
      << "counts seen: " << absl::StrJoin(done_values, ",") << "\n"
      << pane;
  EXPECT_TRUE(done_values.count(kLong)) << pane;
}

// The controller sends an event only when the experiment changes; one that
// waits for a worker nobody runs changes never. In a terminal the elapsed
// clock still moves, once a second.
TEST_F(Nasctl, WatchInATerminalTicksBetweenEvents) {
  const std::string spec = env->dir + "/waits.yaml";
  WriteText(spec, Spec("waits", env->table, 1, 1) +
                      "required_labels: {gpu: nowhere}\n");
  Result r = Run("--output json submit " + spec);
  ASSERT_EQ(r.rc, 0) << r.err;
  const int64_t id = ParseJson<v1::Experiment>(r.out).id();
  const std::string tmux = absl::StrCat("tmux -L nasctl-tick-", getpid(), " ");
  r = Shell(absl::StrCat(tmux, "new-session -d -s tick -x 200 -y 6 ",
                         testing::ShellQuote(
                             absl::StrCat(Cmd(absl::StrCat("watch ", id)),
                                          "; echo WATCH-EXIT=$?; sleep 300"))),
            env->dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  // The clock as shown: the text before " elapsed" on the first line.
  auto clock = [&] {
    const std::string pane =
        Shell(tmux + "capture-pane -p -t tick", env->dir).out;
    const std::string line = pane.substr(0, pane.find('\n'));
    const size_t end = line.find(" elapsed");
    if (end == std::string::npos) return std::string();
    const size_t start = line.rfind(", ", end);
    return line.substr(start + 2, end - start - 2);
  };
  std::set<std::string> clocks;
  const absl::Time end = absl::Now() + absl::Seconds(20);
  while (absl::Now() < end && clocks.size() < 3) {
    if (std::string c = clock(); !c.empty()) clocks.insert(c);
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(Run(absl::StrCat("stop ", id)).rc, 0);
  std::string pane;
  for (int i = 0; i < 100; ++i) {
    pane = Shell(tmux + "capture-pane -p -t tick", env->dir).out;
    if (absl::StrContains(pane, "WATCH-EXIT=")) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  Shell(tmux + "kill-server", env->dir);
  EXPECT_GE(clocks.size(), 3u) << absl::StrJoin(clocks, " | ") << "\n" << pane;
  EXPECT_EQ(Get(id).counts().trials_succeeded(), 0);  // no event came
  EXPECT_TRUE(absl::StrContains(pane, "WATCH-EXIT=0")) << pane;
}

// In a 60-column terminal the line fits (the terminal's width is read with
// TIOCGWINSZ): nothing wraps onto a second line, the state and the
// elapsed time are kept.
TEST_F(Nasctl, WatchInANarrowTerminalFitsItsLine) {
  const std::string tmux =
      absl::StrCat("tmux -L nasctl-narrow-", getpid(), " ");
  Result r = Shell(
      absl::StrCat(tmux, "new-session -d -s narrow -x 60 -y 6 ",
                   testing::ShellQuote(Cmd("watch " + Id()) +
                                       "; echo WATCH-EXIT=$?; sleep 300")),
      env->dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string pane;
  const absl::Time end = absl::Now() + absl::Seconds(30);
  while (absl::Now() < end) {
    pane = Shell(tmux + "capture-pane -p -t narrow", env->dir).out;
    if (absl::StrContains(pane, "WATCH-EXIT=")) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  Shell(tmux + "kill-server", env->dir);
  const std::vector<std::string> lines = absl::StrSplit(pane, '\n');
  ASSERT_GE(lines.size(), 2u) << pane;
  EXPECT_TRUE(absl::StartsWith(lines[0], "[")) << pane;
  EXPECT_LT(lines[0].size(), 60u) << pane;
  EXPECT_TRUE(absl::StrContains(lines[0], "elapsed")) << pane;
  EXPECT_TRUE(absl::StrContains(lines[0], "SUCCEEDED")) << pane;
  EXPECT_EQ(lines[1], "WATCH-EXIT=0") << pane;  // no wrapped remainder
}

// Runs last in the suite: it restarts the shared controller. A watch whose
// stream breaks because the controller died re-opens it once the
// controller is back, and still ends with the experiment.
TEST_F(Nasctl, WatchSurvivesAControllerRestart) {
  const std::string spec = env->dir + "/restart.yaml";
  WriteText(spec, Spec("restart-watch", env->table, 100000, 1));
  Result r = Run("submit " + spec);
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string id(absl::StripAsciiWhitespace(r.out));
  const std::string log = env->dir + "/restart-watch.log";
  auto watch =
      ChildProcess::Spawn({Binary("client/nasctl"), "--controller",
                           absl::StrCat("127.0.0.1:", env->port), "watch", id},
                          log);
  NAS_ASSERT_OK(watch);
  auto lines = [&] {
    const std::string text = testing::ReadFile(log);
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  };
  auto wait_for = [&](const std::string& what, const std::function<bool()>& f) {
    const absl::Time end = absl::Now() + absl::Seconds(60);
    while (!f()) {
      ASSERT_LT(absl::Now(), end) << "timed out waiting for " << what << "\n"
                                  << testing::ReadFile(log);
      absl::SleepFor(absl::Milliseconds(100));
    }
  };
  wait_for("progress lines", [&] { return lines() >= 3; });
  ASSERT_TRUE(env->cluster.KillController());
  wait_for("the watch to notice", [&] {
    return absl::StrContains(testing::ReadFile(log), "[reconnecting");
  });
  EXPECT_TRUE((*watch)->Running()) << testing::ReadFile(log);
  // Not waiting for the port: the watch has to find the controller back.
  ASSERT_TRUE(env->cluster.StartController("controller", {},
                                           /*connect_client=*/false));
  const int before = lines();
  // Progress again after the outage, from the restarted controller.
  wait_for("progress after the restart", [&] {
    const std::string text = testing::ReadFile(log);
    const size_t at = text.rfind("[reconnecting");
    return text.find(" done, ", at) != std::string::npos && lines() > before;
  });
  r = Run("stop " + id);
  ASSERT_EQ(r.rc, 0) << r.err;
  std::optional<int> rc = (*watch)->WaitFor(absl::Seconds(20));
  ASSERT_TRUE(rc.has_value()) << testing::ReadFile(log);
  EXPECT_EQ(*rc, 0) << testing::ReadFile(log);
  const std::string text = testing::ReadFile(log);
  EXPECT_TRUE(absl::EndsWith(text, "STOPPED\n")) << text;
  // A progress line came from the new stream before the stop.
  const size_t reconnect = text.rfind("[reconnecting");
  ASSERT_NE(reconnect, std::string::npos);
  EXPECT_TRUE(absl::StrContains(text.substr(reconnect), " left, RUNNING"))
      << text;
}

// The real controller serving TLS and requiring the client token: nasctl
// and the Python client reach it with a CA file and a bearer token.
TEST(NasctlConnection, TlsCaFileAndBearerTokenFromFlagsAndEnvironment) {
  char tmpl[] = "/tmp/nasctl-tls-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  Result r = Shell(
      absl::StrCat("cd ", dir,
                   " && openssl req -x509 -newkey rsa:2048 -nodes -keyout "
                   "key.pem -out cert.pem -days 1 -subj /CN=nas-test -addext "
                   "subjectAltName=DNS:nas-test"),
      dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto pg = testing::PostgresServer::Start();
  NAS_ASSERT_OK(pg);
  const int port = testing::FreePort();
  WriteText(dir + "/token", "s3cret\n");
  WriteText(dir + "/worker-token", "w0rker\n");
  auto controller = ChildProcess::Spawn(
      {Binary("controller/nas-controller"),
       absl::StrCat("--listen=127.0.0.1:", port),
       "--database=" + (*pg)->conninfo(), "--tls_cert=" + dir + "/cert.pem",
       "--tls_key=" + dir + "/key.pem", "--client_token_file=" + dir + "/token",
       "--worker_token_file=" + dir + "/worker-token"},
      dir + "/controller.log");
  NAS_ASSERT_OK(controller);
  const std::string nasctl = Binary("client/nasctl");
  const std::string addr = absl::StrCat("127.0.0.1:", port);
  // Flags (retried while the controller starts).
  for (int i = 0; i < 50; ++i) {
    r = Shell(absl::StrCat(nasctl, " --controller ", addr, " --tls-ca ", dir,
                           "/cert.pem --tls-server-name nas-test --token "
                           "s3cret --output json list"),
              dir);
    if (r.rc != 3) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(r.rc, 0) << r.err << testing::ReadFile(dir + "/controller.log");
  EXPECT_EQ(ParseJson<v1::ListExperimentsResponse>(r.out).experiments_size(),
            0);
  // Environment variables, token from a file.
  const std::string env_vars =
      absl::StrCat("NAS_CONTROLLER=", addr, " NAS_TLS_CA=", dir,
                   "/cert.pem NAS_TLS_SERVER_NAME=nas-test ");
  r = Shell(absl::StrCat(env_vars, "NAS_TOKEN_FILE=", dir, "/token ", nasctl,
                         " list"),
            dir);
  EXPECT_EQ(r.rc, 0) << r.err;
  // A wrong token, or the worker role's token: exit 4, the server's message.
  r = Shell(absl::StrCat(env_vars, "NAS_TOKEN=guess ", nasctl, " list"), dir);
  EXPECT_EQ(r.rc, 4) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "UNAUTHENTICATED")) << r.err;
  r = Shell(absl::StrCat(env_vars, "NAS_TOKEN=w0rker ", nasctl, " list"), dir);
  EXPECT_EQ(r.rc, 4) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "PERMISSION_DENIED")) << r.err;
  // Plaintext against a TLS server, or TLS without the right CA: no
  // connection, exit 3.
  r = Shell(
      absl::StrCat(nasctl, " --controller ", addr, " --token s3cret list"),
      dir);
  EXPECT_EQ(r.rc, 3) << r.err;
  r = Shell(absl::StrCat(nasctl, " --controller ", addr,
                         " --tls --tls-server-name nas-test --token s3cret "
                         "list"),
            dir);
  EXPECT_EQ(r.rc, 3) << r.err;
  // Unreadable files are named.
  r = Shell(
      absl::StrCat(env_vars, "NAS_TOKEN_FILE=", dir, "/nope ", nasctl, " list"),
      dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "--token-file: cannot read")) << r.err;
  // The Python client takes the same settings.
  r = Shell(
      absl::StrCat(env_vars, "NAS_TOKEN_FILE=", dir, "/token PYTHONPATH=",
                   NAS_BINARY_DIR, "/python:", NAS_SOURCE_DIR,
                   "/client/python /usr/bin/python3 -c 'import nas_client; "
                   "print([e.id for e in nas_client.Client().list()])'"),
      dir);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "[]\n");
  const std::string log = testing::ReadFile(dir + "/controller.log");
  EXPECT_FALSE(absl::StrContains(log, "s3cret")) << log;
  std::string out;
  testing::RunCommand("rm -rf " + dir, &out);
}

}  // namespace
}  // namespace nas
