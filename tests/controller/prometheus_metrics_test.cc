// The metrics endpoint's errors and the controller metrics' bookkeeping
// (bounded experiment series, durations only for trials leased here).
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/build_info.h"
#include "common/metrics_endpoint.h"
#include "controller/metrics.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

std::string Text(const ControllerMetrics& m) {
  return prometheus::TextSerializer().Serialize(m.registry()->Collect());
}

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(MetricsEndpoint, RefusesAnAddressWithoutPort) {
  EXPECT_THAT(
      MetricsEndpoint::Start("9100", std::make_shared<prometheus::Registry>())
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, "host:port"));
  EXPECT_THAT(MetricsEndpoint::Start("127.0.0.1:http",
                                     std::make_shared<prometheus::Registry>())
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "127.0.0.1:http"));
}

TEST(MetricsEndpoint, ServesProcessMetricsAndRefusesAPortInUse) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto endpoint = MetricsEndpoint::Start("127.0.0.1:0", registry, "nas-test");
  NAS_ASSERT_OK(endpoint);
  const int port = (*endpoint)->port();
  ASSERT_GT(port, 0);
  std::string out;
  ASSERT_EQ(testing::RunCommand(
                absl::StrCat("curl -sS --max-time 5 http://127.0.0.1:", port,
                             "/metrics"),
                &out),
            0)
      << out;
  // The standard names of the Prometheus client libraries (stock alerts and
  // dashboards use them), each with its type.
  for (const char* name : {"process_resident_memory_bytes gauge",
                           "process_cpu_seconds_total counter",
                           "process_virtual_memory_bytes gauge",
                           "process_start_time_seconds gauge",
                           "process_open_fds gauge", "process_max_fds gauge"}) {
    EXPECT_NE(out.find(absl::StrCat("\n# TYPE ", name, "\n")),
              std::string::npos)
        << name << "\n"
        << out;
  }
  EXPECT_EQ(out.find("nas_process_"), std::string::npos) << out;
  // Plausible values: started within the last day, not in the future; some
  // descriptors open (the listening socket), fewer than the limit.
  auto value = [&out](const std::string& name) {
    const size_t at = out.find("\n" + name + " ");
    double v = -1;
    if (at == std::string::npos) return v;
    const size_t begin = at + name.size() + 2;
    absl::SimpleAtod(out.substr(begin, out.find('\n', begin) - begin), &v);
    return v;
  };
  const double now = absl::ToUnixSeconds(absl::Now());
  EXPECT_LE(value("process_start_time_seconds"), now + 1);
  EXPECT_GT(value("process_start_time_seconds"), now - 86400);
  EXPECT_GE(value("process_open_fds"), 3);
  EXPECT_LT(value("process_open_fds"), value("process_max_fds"));
  EXPECT_GT(value("process_resident_memory_bytes"), 1e6);
  EXPECT_GE(value("process_virtual_memory_bytes"),
            value("process_resident_memory_bytes"));
  // <program>_build_info = 1 with the build's labels (prometheus_build_info).
  const BuildInfo& b = GetBuildInfo();
  EXPECT_NE(out.find(absl::StrCat("\nnas_test_build_info{version=\"", b.version,
                                  "\",revision=\"", b.revision,
                                  "\",build_type=\"", b.build_type,
                                  "\",compiler=\"", b.compiler, "\"} 1\n")),
            std::string::npos)
      << out;
  EXPECT_THAT(MetricsEndpoint::Start(absl::StrCat("127.0.0.1:", port), registry)
                  .status(),
              StatusIs(absl::StatusCode::kUnavailable, "cannot listen"));
}

TEST(ControllerMetrics, ExperimentSeriesExistOnlyWhileRunning) {
  ControllerMetrics m;
  OpsSnapshot s;
  s.trials_by_status = {{"queued", 3}, {"succeeded", 7}};
  s.workers_alive = 2;
  s.running[1] = {0.5, 3};
  s.running[2] = {0.75, 4};
  m.SetSnapshot(s);
  std::string text = Text(m);
  EXPECT_TRUE(Has(text, "nas_trials{state=\"queued\"} 3")) << text;
  EXPECT_TRUE(Has(text, "nas_trials{state=\"failed\"} 0")) << text;
  EXPECT_TRUE(Has(text, "nas_workers_alive 2")) << text;
  EXPECT_TRUE(Has(text, "nas_experiments_running 2")) << text;
  EXPECT_TRUE(
      Has(text, "nas_experiment_best_val_accuracy{experiment=\"1\"} 0.5"))
      << text;
  EXPECT_TRUE(Has(text, "nas_experiment_pareto_front_size{experiment=\"2\"} 4"))
      << text;
  s.running.erase(1);
  s.trials_by_status.erase("queued");
  m.SetSnapshot(s);
  text = Text(m);
  EXPECT_EQ(text.find("experiment=\"1\""), std::string::npos) << text;
  EXPECT_TRUE(
      Has(text, "nas_experiment_best_val_accuracy{experiment=\"2\"} 0.75"))
      << text;
  EXPECT_TRUE(Has(text, "nas_trials{state=\"queued\"} 0")) << text;
  EXPECT_TRUE(Has(text, "nas_experiments_running 1")) << text;
}

TEST(ControllerMetrics, DurationOnlyForTrialsLeasedHere) {
  ControllerMetrics m;
  m.TrialLeased(10, absl::Seconds(2), absl::Milliseconds(3));
  m.TrialReported(10, "succeeded");
  m.TrialReported(11, "failed");  // leased by a previous controller process
  m.LeasesExpired(2, 1);
  m.CandidatesRejected(4);
  m.ObserveRpc("/nas.v1.WorkerService/AcquireTrial", "OK", 0.01);
  const std::string text = Text(m);
  EXPECT_TRUE(
      Has(text, "nas_trial_duration_seconds_count{outcome=\"succeeded\"} 1"))
      << text;
  EXPECT_TRUE(
      Has(text, "nas_trial_duration_seconds_count{outcome=\"failed\"} 0"))
      << text;
  EXPECT_TRUE(Has(text, "nas_trials_reported_total{outcome=\"failed\"} 1"))
      << text;
  EXPECT_TRUE(Has(text, "nas_trial_queue_wait_seconds_sum 2")) << text;
  EXPECT_TRUE(Has(text, "nas_leases_expired_total{outcome=\"requeued\"} 2"))
      << text;
  EXPECT_TRUE(Has(text, "nas_candidates_rejected_total 4")) << text;
  EXPECT_TRUE(Has(text,
                  "nas_rpc_duration_seconds_count{code=\"OK\",method=\"/"
                  "nas.v1.WorkerService/AcquireTrial\"} 1"))
      << text;
}

}  // namespace
}  // namespace nas
