// Operations end to end: a real Prometheus (Debian's `prometheus`) scrapes a
// real controller and two real workers on loopback, with a configuration
// generated from deploy/prometheus/prometheus.yml, and answers every PromQL
// expression of the Grafana dashboard; promtool lints each /metrics; the
// grpc.health.v1 service follows the database; a worker exits non-zero
// when the controller stays unreachable.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iomanip>
#include <regex>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/spaces/search_space.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "tests/testing/cluster.h"
#include "tests/testing/process.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::nas::testing::Binary;
using ::nas::testing::ChildProcess;
using ::nas::testing::ShellQuote;

Struct ParseJson(const std::string& json) {
  Struct out;
  auto s = google::protobuf::util::JsonStringToMessage(json, &out);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << json.substr(0, 500);
  return out;
}

// The all-15,625-cells table of the TABULAR experiment: accuracy grows with
// the number of 3x3 convolutions, so the best accuracy is visible.
std::string WriteTable(const std::string& dir) {
  const SearchSpace* space = *GetSearchSpace("nb201");
  const std::string path = dir + "/table.csv";
  std::ofstream out(path);
  out << std::setprecision(8) << "arch,val_pct,test_pct,train_s,flops_m\n";
  for (int i = 0; i < 15625; ++i) {
    std::vector<int> choices;
    int conv3 = 0;
    for (int e = 0, x = i; e < 6; ++e, x /= 5) {
      choices.push_back(x % 5);
      conv3 += x % 5 == 3;
    }
    const double val = 50 + 7 * conv3 + (i % 89) * 0.01;
    out << *space->Canonical(choices) << "," << val << "," << val - 1 << ","
        << 20 + 3 * conv3 << "," << 1 + 5 * conv3 + (i % 7) * 0.1 << "\n";
  }
  return path;
}

// The shared local cluster (tests/testing/cluster.h), every process with a
// metrics endpoint; the controller rides out outages of up to 120 s.
class Ops : public ::testing::Test, public testing::LocalCluster {
 protected:
  void SetUp() override {
    NAS_ASSERT_OK(Start("ops"));
    metrics_port_ = testing::FreePort();
    controller_flags = {
        absl::StrCat("--metrics_address=127.0.0.1:", metrics_port_),
        "--database_outage_seconds=120"};
  }

  void TearDown() override {
    prometheus_.reset();
    Finish(HasFailure(), 30);
  }

  void StartController() {
    ASSERT_TRUE(LocalCluster::StartController());
    health_ = grpc::health::v1::Health::NewStub(channel());
  }

  // Returns the worker's metrics port.
  int StartWorker(const std::string& id, int unreachable_seconds = 60) {
    const int mport = testing::FreePort();
    LocalCluster::StartWorker(
        id,
        {absl::StrCat("--unreachable_timeout_seconds=", unreachable_seconds),
         absl::StrCat("--metrics_address=127.0.0.1:", mport)});
    return mport;
  }

  int64_t Create(const std::string& yaml) {
    v1::Experiment e;
    grpc::Status s = LocalCluster::Create(yaml, &e);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return e.id();
  }

  v1::ExperimentState State(int64_t id) {
    v1::Experiment e;
    return TryGet(id, &e).ok() ? e.state() : v1::EXPERIMENT_STATE_UNSPECIFIED;
  }

  // The overall health status ("" service) or of `service`; -1 when the
  // call fails.
  int Health(const std::string& service = "") {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(3));
    HealthCheckRequest req;
    req.set_service(service);
    HealthCheckResponse resp;
    grpc::Status s = health_->Check(&ctx, req, &resp);
    return s.ok() ? static_cast<int>(resp.status()) : -1;
  }

  // Runs `curl` on `url` (extra curl arguments in `args`); the body.
  std::string Curl(const std::string& url, const std::string& args = "") {
    std::string out;
    const int rc =
        testing::RunCommand(absl::StrCat("curl -sS --max-time 10 ", args, " ",
                                         ShellQuote(url), " 2>&1"),
                            &out);
    EXPECT_EQ(rc, 0) << "curl " << url << ": " << out;
    return out;
  }

  // Evaluates `expr` at Prometheus now; the "result" list (fails the test
  // unless the API answers "success").
  std::vector<Value> Query(const std::string& expr) {
    const Struct r = ParseJson(
        Curl(absl::StrCat("http://127.0.0.1:", prom_port_, "/api/v1/query"),
             "-G --data-urlencode " + ShellQuote("query=" + expr)));
    auto status = r.fields().find("status");
    EXPECT_TRUE(status != r.fields().end() &&
                status->second.string_value() == "success")
        << expr;
    std::vector<Value> out;
    auto data = r.fields().find("data");
    if (data == r.fields().end()) return out;
    auto result = data->second.struct_value().fields().find("result");
    if (result == data->second.struct_value().fields().end()) return out;
    for (const Value& v : result->second.list_value().values()) {
      out.push_back(v);
    }
    return out;
  }

  // The value of a one-series instant vector (NaN when there is none).
  double Scalar(const std::string& expr) {
    std::vector<Value> r = Query(expr);
    if (r.size() != 1) return std::nan("");
    const Value& v = r[0].struct_value().fields().at("value");
    double d = std::nan("");
    if (v.list_value().values_size() == 2) {
      absl::SimpleAtod(v.list_value().values(1).string_value(), &d);
    }
    return d;
  }

  // Writes a Prometheus configuration made from the shipped one: each
  // job's service discovery replaced by static loopback targets, and a
  // 1 s scrape interval. Fails when the shipped jobs are not the two
  // expected ones.
  std::string GeneratePrometheusConfig(
      const std::map<std::string, std::vector<int>>& ports) {
    YAML::Node shipped = YAML::LoadFile(std::string(NAS_SOURCE_DIR) +
                                        "/deploy/prometheus/prometheus.yml");
    YAML::Node out;
    out["global"] = shipped["global"];
    out["global"]["scrape_interval"] = "1s";
    out["global"]["scrape_timeout"] = "1s";
    std::set<std::string> jobs;
    for (const YAML::Node& job : shipped["scrape_configs"]) {
      const std::string name = job["job_name"].as<std::string>();
      jobs.insert(name);
      YAML::Node j;
      for (const auto& kv : job) {
        const std::string key = kv.first.as<std::string>();
        if (key.size() > 11 && key.substr(key.size() - 11) == "_sd_configs")
          continue;
        if (key == "static_configs") continue;
        j[key] = kv.second;
      }
      YAML::Node targets;
      if (ports.count(name) > 0) {
        for (int p : ports.at(name)) {
          targets.push_back(absl::StrCat("127.0.0.1:", p));
        }
      }
      YAML::Node sc;
      sc["targets"] = targets;
      j["static_configs"].push_back(sc);
      out["scrape_configs"].push_back(j);
    }
    EXPECT_EQ(jobs, (std::set<std::string>{"nas-controller", "nas-worker"}));
    const std::string path = dir() + "/prometheus.yml";
    std::ofstream(path) << YAML::Dump(out) << "\n";
    return path;
  }

  void StartPrometheus(const std::string& config) {
    prom_port_ = testing::FreePort();
    auto p = ChildProcess::Spawn(
        {"/usr/bin/prometheus", "--config.file=" + config,
         "--storage.tsdb.path=" + dir() + "/tsdb",
         absl::StrCat("--web.listen-address=127.0.0.1:", prom_port_),
         "--log.level=warn"},
        dir() + "/prometheus.log");
    NAS_ASSERT_OK(p);
    prometheus_ = *std::move(p);
    WaitFor(
        "Prometheus ready",
        [&] {
          std::string out;
          return testing::RunCommand(
                     absl::StrCat("curl -sf --max-time 2 http://127.0.0.1:",
                                  prom_port_, "/-/ready"),
                     &out) == 0;
        },
        absl::Seconds(30));
  }

  int metrics_port_ = 0;
  int prom_port_ = 0;
  std::unique_ptr<ChildProcess> prometheus_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

const char kDashboard[] = "/deploy/grafana/dashboards/nas.json";

// Every expression of every panel of deploy/grafana/dashboards/nas.json,
// as written (Grafana's variables unexpanded).
std::vector<std::pair<std::string, std::string>> DashboardQueries() {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string path = std::string(NAS_SOURCE_DIR) + kDashboard;
  const Struct dash = ParseJson(testing::ReadFile(path));
  std::function<void(const Value&)> visit = [&](const Value& panels) {
    for (const Value& p : panels.list_value().values()) {
      const auto& f = p.struct_value().fields();
      const std::string title =
          f.count("title") ? f.at("title").string_value() : "";
      if (f.count("targets")) {
        for (const Value& t : f.at("targets").list_value().values()) {
          const auto& tf = t.struct_value().fields();
          EXPECT_TRUE(tf.count("expr")) << "panel '" << title << "'";
          if (tf.count("expr")) {
            out.emplace_back(title, tf.at("expr").string_value());
          }
        }
      }
      if (f.count("panels")) visit(f.at("panels"));  // rows
    }
  };
  EXPECT_TRUE(dash.fields().count("panels")) << path;
  if (dash.fields().count("panels")) visit(dash.fields().at("panels"));
  return out;
}

// `expr` as Grafana sends it: $__rate_interval (at least four scrape
// intervals) as 1m, the experiment variable as "All" (its allValue).
std::string ExpandGrafanaVariables(std::string expr) {
  absl::StrReplaceAll({{"$__rate_interval", "1m"}, {"$experiment", ".+"}},
                      &expr);
  return expr;
}

// The dashboard follows Grafana's conventions (no cluster needed): an
// `experiment` variable over the label the per-experiment series carry,
// used by each of those panels, and rate() windows of $__rate_interval
// (a fixed [1m] shows nothing at long scrape intervals or zoomed out).
TEST(Dashboard, ExperimentVariableAndRateIntervalWindows) {
  const Struct dash =
      ParseJson(testing::ReadFile(std::string(NAS_SOURCE_DIR) + kDashboard));
  ASSERT_TRUE(dash.fields().count("templating"));
  const auto& vars = dash.fields()
                         .at("templating")
                         .struct_value()
                         .fields()
                         .at("list")
                         .list_value()
                         .values();
  const google::protobuf::Value* experiment = nullptr;
  for (const Value& v : vars) {
    if (v.struct_value().fields().at("name").string_value() == "experiment") {
      experiment = &v;
    }
  }
  ASSERT_NE(experiment, nullptr) << "no templating variable `experiment`";
  const auto& ef = experiment->struct_value().fields();
  EXPECT_EQ(ef.at("type").string_value(), "query");
  EXPECT_EQ(ef.at("definition").string_value(),
            "label_values(nas_experiment_best_val_accuracy, experiment)");
  EXPECT_TRUE(ef.at("multi").bool_value());
  EXPECT_TRUE(ef.at("includeAll").bool_value());
  const std::regex fixed_rate(R"((rate|irate)\([^()]*\[[0-9]+[smhd]\]\))");
  int per_experiment = 0;
  for (const auto& [title, expr] : DashboardQueries()) {
    EXPECT_FALSE(std::regex_search(expr, fixed_rate))
        << "panel '" << title << "': fixed rate window in " << expr;
    EXPECT_EQ(expr.find("nas_process_"), std::string::npos)
        << "panel '" << title << "': " << expr;
    if (expr.find("nas_experiment_") != std::string::npos) {
      ++per_experiment;
      EXPECT_NE(expr.find("{experiment=~\"$experiment\"}"), std::string::npos)
          << "panel '" << title << "' ignores the variable: " << expr;
    }
  }
  EXPECT_EQ(per_experiment, 2);
}

TEST_F(Ops, PrometheusAnswersEveryDashboardQuery) {
  StartController();
  const int w1 = StartWorker("w1");
  const int w2 = StartWorker("w2");
  WaitFor(
      "2 workers registered",
      [&] { return Count("SELECT count(*) FROM workers") == 2; },
      absl::Seconds(60));
  const std::string config = GeneratePrometheusConfig(
      {{"nas-controller", {metrics_port_}}, {"nas-worker", {w1, w2}}});
  std::string out;
  EXPECT_EQ(
      testing::RunCommand(
          absl::StrCat("promtool check config ", NAS_SOURCE_DIR,
                       "/deploy/prometheus/prometheus.yml ", config, " 2>&1"),
          &out),
      0)
      << out;
  StartPrometheus(config);

  // A TABULAR search that keeps running (stopped by the teardown) with a
  // hard constraint that rejects the costliest cells, and a tiny real
  // training run (epochs, images/s).
  const SearchSpace* space = *GetSearchSpace("nb201");
  v1::SearchSpaceSpec ss;
  ss.set_name("nb201");
  ss.mutable_nb201()->set_channels(4);
  ss.mutable_nb201()->set_cells_per_stage(1);
  const int64_t cheap = space->ComputeCost({0, 0, 0, 0, 0, 0}, ss, {})->params;
  const int64_t dear = space->ComputeCost({3, 3, 3, 3, 3, 3}, ss, {})->params;
  ASSERT_LT(cheap, dear);
  testing::SpecYaml tabular_spec;
  tabular_spec.name = "ops-tabular";
  tabular_spec.search_space = testing::TinyNb201();
  tabular_spec.strategy = "{name: random, seed: 3}";
  tabular_spec.objective =
      absl::StrCat("\n  constraints: {max_params: ", (cheap + dear) / 2, "}");
  tabular_spec.budget = testing::TrialBudget(5000, 2);
  tabular_spec.evaluation =
      testing::TabularLookup(WriteTable(dir()), 1, "flops_m");
  const int64_t tabular = Create(tabular_spec.Yaml());
  testing::SpecYaml full_spec;
  full_spec.name = "ops-full";
  full_spec.search_space = testing::TinyNb201();
  full_spec.strategy = "{name: random, seed: 4}";
  full_spec.budget = testing::TrialBudget(2, 2);
  full_spec.evaluation = testing::FullTraining(2, 256, 200, 200);
  const int64_t full = Create(full_spec.Yaml());
  ASSERT_GT(tabular, 0);
  ASSERT_GT(full, 0);
  WaitFor(
      "the training experiment to finish",
      [&] { return State(full) == v1::EXPERIMENT_SUCCEEDED; },
      absl::Minutes(3));
  WaitFor(
      "20 tabular results",
      [&] {
        return Count(absl::StrCat(
                   "SELECT count(*) FROM results WHERE experiment_id=",
                   tabular)) >= 20;
      },
      absl::Minutes(1));
  ASSERT_EQ(State(tabular), v1::EXPERIMENT_RUNNING);
  // Two scrapes after the last change of the finished training run (the
  // controller's gauges are refreshed every 2 s).
  absl::SleepFor(absl::Seconds(5));

  // promtool's linter has nothing to say about any /metrics.
  for (int port : {metrics_port_, w1, w2}) {
    const std::string file = absl::StrCat(dir(), "/metrics-", port, ".txt");
    std::ofstream(file) << Curl(
        absl::StrCat("http://127.0.0.1:", port, "/metrics"));
    EXPECT_EQ(
        testing::RunCommand(
            absl::StrCat("promtool check metrics < ", file, " 2>&1"), &out),
        0)
        << out;
    EXPECT_EQ(out, "") << "port " << port;
  }

  // Every panel's every query returns at least one series.
  const auto queries = DashboardQueries();
  EXPECT_GE(queries.size(), 20u);
  for (const auto& [title, written] : queries) {
    const std::string expr = ExpandGrafanaVariables(written);
    EXPECT_FALSE(Query(expr).empty())
        << "panel '" << title << "': no series for " << expr;
  }

  // And the numbers are the cluster's.
  EXPECT_EQ(Scalar("count(up{job=~\"nas-.*\"} == 1)"), 3);
  EXPECT_EQ(Scalar("nas_workers_alive"), 2);
  EXPECT_EQ(Scalar("nas_experiments_running"), 1);
  EXPECT_GT(
      Scalar(absl::StrCat("nas_experiment_best_val_accuracy{experiment=\"",
                          tabular, "\"}")),
      0.5);
  EXPECT_GE(Scalar(absl::StrCat("nas_experiment_pareto_front_size{experiment="
                                "\"",
                                tabular, "\"}")),
            1);
  EXPECT_GT(Scalar("nas_candidates_rejected_total"), 0);
  EXPECT_GE(Scalar("sum(nas_worker_evaluations_total{mode=\"tabular\","
                   "outcome=\"ok\"})"),
            20);
  EXPECT_EQ(
      Scalar("sum(nas_worker_evaluations_total{mode=\"full\",outcome=\"ok\"})"),
      2);
  EXPECT_EQ(Scalar("sum(nas_worker_epoch_seconds_count)"), 4);
  EXPECT_GT(Scalar("max(nas_worker_train_images_per_second)"), 0);
  EXPECT_GE(Scalar("sum(nas_trials_reported_total{outcome=\"succeeded\"})"),
            22);
  EXPECT_GT(Scalar("sum(nas_rpc_duration_seconds_count{method=\"/"
                   "nas.v1.WorkerService/AcquireTrial\",code=\"OK\"})"),
            0);
  EXPECT_GE(Scalar("sum(nas_trial_queue_wait_seconds_count)"), 22);
  EXPECT_GT(Scalar("min(process_resident_memory_bytes{job=~\"nas-.*\"})"), 1e6);
  // Each binary's build, as prometheus_build_info.
  EXPECT_EQ(Scalar("count(nas_controller_build_info == 1)"), 1);
  EXPECT_EQ(Scalar("count(nas_worker_build_info == 1)"), 2);
}

TEST_F(Ops, HealthIsNotServingWhileTheDatabaseIsDown) {
  StartController();
  WaitFor(
      "SERVING", [&] { return Health() == HealthCheckResponse::SERVING; },
      absl::Seconds(10));
  EXPECT_EQ(Health("nas.v1.WorkerService"), HealthCheckResponse::SERVING);
  NAS_ASSERT_OK(postgres().Stop());
  WaitFor(
      "NOT_SERVING",
      [&] { return Health() == HealthCheckResponse::NOT_SERVING; },
      absl::Seconds(20));
  EXPECT_EQ(Health("nas.v1.ExperimentService"),
            HealthCheckResponse::NOT_SERVING);
  EXPECT_TRUE(controller()->Running());
  NAS_ASSERT_OK(postgres().Restart());
  WaitFor(
      "SERVING again", [&] { return Health() == HealthCheckResponse::SERVING; },
      absl::Seconds(30));
  // The controller works again: a request that needs the database.
  grpc::ClientContext ctx;
  v1::ListExperimentsRequest req;
  v1::ListExperimentsResponse resp;
  EXPECT_TRUE(stub()->ListExperiments(&ctx, req, &resp).ok());
  EXPECT_NE(testing::ReadFile(dir() + "/controller.log")
                .find("leadership lock retaken"),
            std::string::npos);
}

TEST_F(Ops, WorkerReconnectsThenExitsWhenTheControllerStaysAway) {
  StartController();
  StartWorker("w1", /*unreachable_seconds=*/15);
  WaitFor(
      "worker registered",
      [&] { return Count("SELECT count(*) FROM workers") == 1; },
      absl::Seconds(60));
  // Away for less than the limit: the worker retries and carries on.
  controller()->Signal(SIGKILL);
  ASSERT_TRUE(controller()->WaitFor(absl::Seconds(10)).has_value());
  absl::SleepFor(absl::Seconds(2));
  StartController();
  // The new controller hears from the worker (it knows the worker only
  // from its calls: nas_workers_alive counts them).
  WaitFor(
      "the worker to call the restarted controller",
      [&] {
        std::string out;
        testing::RunCommand(
            absl::StrCat("curl -s --max-time 2 http://127.0.0.1:",
                         metrics_port_, "/metrics"),
            &out);
        return out.find("\nnas_workers_alive 1\n") != std::string::npos;
      },
      absl::Seconds(14));
  testing::SpecYaml spec;
  spec.name = "ops-reconnect";
  spec.strategy = "{name: random, seed: 1}";
  spec.budget = testing::TrialBudget(3, 1);
  spec.evaluation = testing::TabularLookup(WriteTable(dir()), 1, "");
  const int64_t id = Create(spec.Yaml());
  WaitFor(
      "the experiment to finish after the reconnect",
      [&] { return State(id) == v1::EXPERIMENT_SUCCEEDED; }, absl::Minutes(1));
  ASSERT_TRUE(worker("w1")->Running());
  // Away for longer: exit status 1 with a message that says why.
  controller()->Signal(SIGKILL);
  ASSERT_TRUE(controller()->WaitFor(absl::Seconds(10)).has_value());
  std::optional<int> code = worker("w1")->WaitFor(absl::Seconds(60));
  ASSERT_TRUE(code.has_value()) << "worker still running";
  EXPECT_EQ(*code, 1);
  const std::string log = testing::ReadFile(dir() + "/w1.log");
  EXPECT_NE(log.find("unreachable for"), std::string::npos) << log;
}

// --device: a malformed value and CUDA on a machine (or a LibTorch) without
// it end the worker at once with status 2 and a message that says what to
// do; --device=cpu registers the CPU and serves nas_worker_info with it.
TEST_F(Ops, WorkerDeviceFlagChoosesOrRefusesClearly) {
  const std::string worker = Binary("worker/nas-worker");
  std::string out;
  EXPECT_EQ(testing::RunCommand(
                absl::StrCat(worker, " --device=gpu --controller=127.0.0.1:1",
                             " --unreachable_timeout_seconds=1 2>&1"),
                &out),
            2)
      << out;
  EXPECT_NE(out.find("use auto, cpu, cuda or cuda:N"), std::string::npos)
      << out;
  const int cuda = testing::RunCommand(
      absl::StrCat(worker, " --device=cuda:0 --controller=127.0.0.1:1",
                   " --unreachable_timeout_seconds=1 2>&1"),
      &out);
  if (cuda == 2) {  // CI: Debian 12's LibTorch has no CUDA
    EXPECT_NE(out.find("nas-worker: --device=cuda:0: "), std::string::npos)
        << out;
  } else {  // a CUDA build on a GPU: it started, then gave up on the controller
    EXPECT_EQ(cuda, 1) << out;
  }
  StartController();
  const int mport = testing::FreePort();
  LocalCluster::StartWorker(
      "w1",
      {"--device=cpu", absl::StrCat("--metrics_address=127.0.0.1:", mport)});
  WaitFor(
      "worker registered",
      [&] { return Count("SELECT count(*) FROM workers") == 1; },
      absl::Seconds(60));
  EXPECT_EQ(testing::Psql(conninfo(),
                          "SELECT device LIKE 'cpu (% threads)' FROM workers"),
            "t");
  testing::RunCommand(
      absl::StrCat("curl -s --max-time 5 http://127.0.0.1:", mport, "/metrics"),
      &out);
  EXPECT_NE(out.find("nas_worker_info{device=\"cpu ("), std::string::npos)
      << out;
  EXPECT_EQ(out.find("nas_worker_gpu_memory_used_bytes"), std::string::npos);
}

}  // namespace
}  // namespace nas
