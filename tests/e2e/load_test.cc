// Load: 256 simulated workers (nas-simworker: the real worker loop over 256
// gRPC channels, evaluations that cost nothing) against one real controller
// and PostgreSQL for 60 s (NAS_LOAD_SECONDS overrides). Then the workers are
// stopped (each reports the trial it holds and exits) and the test checks
// that every result a worker saw accepted is stored exactly once, that no
// trial is left running, that no lease expired, and that the controller
// answered every RPC with OK (long polls that find no trial end OK and
// empty; nas_rpc_duration_seconds counts every call by status code).
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "tests/testing/cluster.h"
#include "tests/testing/process.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using testing::Binary;
using testing::ChildProcess;
using testing::Psql;

constexpr int kWorkers = 256;
constexpr int kProcesses = 4;  // 64 simulated workers each

int LoadSeconds() {
  const char* env = std::getenv("NAS_LOAD_SECONDS");
  int s = 60;
  if (env != nullptr && !absl::SimpleAtoi(env, &s)) s = 60;
  return s;
}

// Sums `name{labels} value` samples of a Prometheus text page by the value
// of label `by` (e.g. code), for lines whose labels contain `filter`.
std::map<std::string, double> SumBy(const std::string& page,
                                    const std::string& name,
                                    const std::string& by) {
  std::map<std::string, double> out;
  for (absl::string_view line : absl::StrSplit(page, '\n')) {
    if (!absl::ConsumePrefix(&line, name + "{")) continue;
    const size_t close = line.find('}');
    if (close == absl::string_view::npos) continue;
    std::string key;
    for (absl::string_view kv : absl::StrSplit(line.substr(0, close), ',')) {
      std::pair<std::string, std::string> p = absl::StrSplit(kv, '=');
      if (p.first == by)
        key = std::string(absl::StripAsciiWhitespace(p.second));
    }
    double v = 0;
    if (absl::SimpleAtod(absl::StripAsciiWhitespace(line.substr(close + 1)),
                         &v)) {
      out[key] += v;
    }
  }
  return out;
}

TEST(Load, TwoHundredFiftySixSimulatedWorkersLoseNothing) {
  testing::LocalCluster cluster;
  NAS_ASSERT_OK(cluster.Start("load"));
  const int metrics_port = testing::FreePort();
  cluster.controller_flags = {
      absl::StrCat("--metrics_address=127.0.0.1:", metrics_port)};
  ASSERT_TRUE(cluster.StartController());

  // A budget no run reaches: the test ends the run by stopping the workers.
  v1::Experiment exp;
  {
    testing::SpecYaml spec;
    spec.name = "load-256";
    spec.strategy = "{name: random, seed: 7}";
    spec.budget = testing::TrialBudget(1000000, kWorkers);
    spec.duplicates = "retrain";
    spec.evaluation = "{mode: FULL, epochs: 1}";
    grpc::Status st = cluster.Create(spec.Yaml(), &exp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  std::vector<std::unique_ptr<ChildProcess>> sims;
  for (int p = 0; p < kProcesses; ++p) {
    auto sim = ChildProcess::Spawn(
        {Binary("worker/nas-simworker"), "--controller=" + cluster.address(),
         absl::StrCat("--workers=", kWorkers / kProcesses),
         absl::StrCat("--id_prefix=sim", p), "--idle_exit_seconds=0"},
        absl::StrCat(cluster.dir(), "/sim", p, ".log"));
    NAS_ASSERT_OK(sim);
    sims.push_back(*std::move(sim));
  }
  const int seconds = LoadSeconds();
  const absl::Time start = absl::Now();
  absl::SleepFor(absl::Seconds(seconds));
  for (auto& sim : sims) sim->Signal(SIGTERM);
  int64_t accepted = 0;
  int64_t from_report = 0;  // trials leased by the answer to a report
  for (int p = 0; p < kProcesses; ++p) {
    std::optional<int> rc = sims[p]->WaitFor(absl::Seconds(60));
    const std::string log = testing::ReadFile(sims[p]->log_path());
    ASSERT_TRUE(rc.has_value()) << "nas-simworker " << p << " did not exit";
    EXPECT_EQ(*rc, 0) << log;
    const size_t at = log.find("results_accepted ");
    ASSERT_NE(at, std::string::npos) << log;
    int64_t n = 0;
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(log.substr(
                                     at + 17, log.find('\n', at) - at - 17)),
                                 &n))
        << log;
    accepted += n;
    const size_t from = log.find("trials_from_report ");
    ASSERT_NE(from, std::string::npos) << log;
    int64_t f = 0;
    ASSERT_TRUE(
        absl::SimpleAtoi(absl::StripAsciiWhitespace(log.substr(
                             from + 19, log.find('\n', from) - from - 19)),
                         &f))
        << log;
    from_report += f;
    // No refusals and no retries: a worker logs only errors.
    EXPECT_EQ(log.find("refused"), std::string::npos) << log;
  }
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  ASSERT_TRUE(cluster.controller()->Running());

  // The queue holds trials for every worker: after its first trial a
  // worker gets nearly every next one with its report (acquire_next).
  EXPECT_GT(from_report, accepted / 2)
      << from_report << " of " << accepted << " trials came with a report";
  // Every accepted result is stored, once; nothing is left running.
  const std::string id = absl::StrCat(exp.id());
  const std::string conn = cluster.conninfo();
  EXPECT_GT(accepted, 0);
  EXPECT_EQ(
      Psql(conn, "SELECT count(*) FROM results WHERE experiment_id = " + id),
      absl::StrCat(accepted));
  EXPECT_EQ(Psql(conn, "SELECT count(*) FROM trials WHERE experiment_id = " +
                           id + " AND status = 'SUCCEEDED'"),
            absl::StrCat(accepted));
  EXPECT_EQ(Psql(conn,
                 "SELECT count(*) FROM candidates WHERE experiment_id "
                 "= " +
                     id + " AND state = 'EVALUATED'"),
            absl::StrCat(accepted));
  EXPECT_EQ(Psql(conn,
                 "SELECT count(*) FROM (SELECT candidate_id FROM "
                 "results WHERE experiment_id = " +
                     id + " GROUP BY candidate_id HAVING count(*) > 1) d"),
            "0");
  EXPECT_EQ(Psql(conn, "SELECT count(*) FROM trials WHERE experiment_id = " +
                           id + " AND status IN ('RUNNING', 'FAILED')"),
            "0");
  EXPECT_EQ(Psql(conn,
                 "SELECT count(*) FROM trial_attempts a JOIN trials t "
                 "ON t.id = a.trial_id WHERE t.experiment_id = " +
                     id + " AND a.attempt > 1"),
            "0")
      << "a trial was leased twice (a lease expired)";
  EXPECT_EQ(Psql(conn,
                 "SELECT count(DISTINCT worker_id) FROM trials WHERE "
                 "experiment_id = " +
                     id + " AND status = 'SUCCEEDED'"),
            absl::StrCat(kWorkers))
      << "every simulated worker completed trials";

  // Every RPC the controller answered was OK.
  std::string page;
  ASSERT_EQ(testing::RunCommand(
                absl::StrCat("curl -sf --max-time 10 http://127.0.0.1:",
                             metrics_port, "/metrics"),
                &page),
            0);
  std::map<std::string, double> by_code =
      SumBy(page, "nas_rpc_duration_seconds_count", "code");
  ASSERT_GT(by_code["\"OK\""], accepted) << page;
  for (const auto& [code, n] : by_code) {
    if (code != "\"OK\"") {
      EXPECT_EQ(n, 0) << "RPCs answered " << code;
    }
  }
  std::map<std::string, double> by_method =
      SumBy(page, "nas_rpc_duration_seconds_count", "method");
  std::cerr << "load: " << kWorkers << " simulated workers, " << accepted
            << " results in " << elapsed << " s ("
            << static_cast<double>(accepted) / elapsed << " trials/s); RPCs:";
  for (const auto& [method, n] : by_method)
    std::cerr << " " << method << "=" << n;
  std::cerr << "\n";
  {
    grpc::ClientContext ctx;
    v1::StopExperimentRequest stop;
    stop.set_id(exp.id());
    v1::Experiment stopped;
    ASSERT_TRUE(cluster.stub()->StopExperiment(&ctx, stop, &stopped).ok());
  }
  cluster.Finish(::testing::Test::HasFailure());
}

}  // namespace
}  // namespace nas
