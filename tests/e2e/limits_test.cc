// Limits and bad input over real gRPC against a real controller and
// PostgreSQL: each limit (--max_message_mib, --max_running_experiments,
// --max_candidates_per_experiment, --max_leases_per_worker) refuses with a
// clear error and stores nothing; malformed worker calls are refused naming
// the field; impossible metrics fail the trial with the reason.
#include <grpcpp/grpcpp.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "nas/v1/worker.grpc.pb.h"
#include "tests/testing/cluster.h"
#include "tests/testing/process.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using testing::Binary;
using testing::ChildProcess;
using ::testing::HasSubstr;

std::string Spec(const std::string& name, const std::string& budget) {
  testing::SpecYaml spec;
  spec.name = name;
  spec.strategy = "{name: random, seed: 3}";
  spec.budget = budget;
  spec.max_attempts = 1;
  spec.evaluation = "{mode: FULL, epochs: 1}";
  return spec.Yaml();
}

// An AcquireTrial long poll (10 s) of `worker`.
v1::AcquireTrialRequest LongPoll(const std::string& worker) {
  v1::AcquireTrialRequest r;
  r.set_worker_id(worker);
  r.set_wait_ms(10000);
  return r;
}

// Registers `worker` (no labels) and long-polls one AcquireTrial for it.
grpc::Status RegisterAndLease(v1::WorkerService::Stub* stub,
                              const std::string& worker,
                              v1::AcquireTrialResponse* out) {
  {
    grpc::ClientContext ctx;
    v1::RegisterWorkerRequest reg;
    reg.set_worker_id(worker);
    v1::RegisterWorkerResponse resp;
    grpc::Status st = stub->RegisterWorker(&ctx, reg, &resp);
    if (!st.ok()) return st;
  }
  grpc::ClientContext ctx;
  return stub->AcquireTrial(&ctx, LongPoll(worker), out);
}

class Limits : public ::testing::Test {
 protected:
  void SetUp() override {
    NAS_ASSERT_OK(cluster_.Start("limits"));
    cluster_.controller_flags = {
        "--max_message_mib=1", "--max_running_experiments=1",
        "--max_candidates_per_experiment=5", "--max_leases_per_worker=1"};
    ASSERT_TRUE(cluster_.StartController());
    workers_ = v1::WorkerService::NewStub(cluster_.channel());
  }
  void TearDown() override { cluster_.Finish(HasFailure()); }

  grpc::Status Create(const std::string& yaml, v1::Experiment* out) {
    return cluster_.Create(yaml, out);
  }
  std::string Sql(const std::string& q) { return cluster_.Psql(q); }

  testing::LocalCluster cluster_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
};

TEST_F(Limits, EachLimitRefusesClearlyAndStoresNothing) {
  v1::Experiment exp;
  // More candidates than the controller allows per experiment.
  grpc::Status st = Create(Spec("too-big", "{max_trials: 6}"), &exp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(),
              HasSubstr("budget.max_trials: 6 exceeds this controller's "
                        "limit of 5 candidates per experiment"));
  // A message over --max_message_mib.
  st = Create(
      Spec("huge", "{max_trials: 2}") + "# " + std::string(2 << 20, 'x') + "\n",
      &exp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(st.error_message(), HasSubstr("larger than max"));
  EXPECT_EQ(Sql("SELECT count(*) FROM experiments"), "0");

  // One running experiment at most.
  st = Create(Spec("first", "{max_trials: 2, parallel_trials: 2}"), &exp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::Experiment second;
  st = Create(Spec("second", "{max_trials: 2}"), &second);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(
      st.error_message(),
      HasSubstr("1 experiments are running and this controller "
                "allows at most 1 at once (--max_running_experiments)"));
  EXPECT_EQ(Sql("SELECT count(*) FROM experiments"), "1");

  // One lease per worker: the second AcquireTrial names the trial held.
  const v1::AcquireTrialRequest acquire = LongPoll("w1");
  v1::AcquireTrialResponse first;
  {
    grpc::Status leased = RegisterAndLease(workers_.get(), "w1", &first);
    ASSERT_TRUE(leased.ok()) << leased.error_message();
    ASSERT_TRUE(first.has_trial());
  }
  {
    grpc::ClientContext ctx;
    v1::AcquireTrialResponse again;
    st = workers_->AcquireTrial(&ctx, acquire, &again);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(st.error_message(),
                HasSubstr(absl::StrCat("worker 'w1' already holds 1 lease(s) "
                                       "(trial ",
                                       first.trial().trial_id(), ")")));
  }
  const std::string trial = absl::StrCat(first.trial().trial_id());

  // Malformed worker calls: refused naming the field, nothing changes.
  {
    grpc::ClientContext ctx;
    v1::ReportProgressRequest p;
    p.set_worker_id("w1");
    p.set_trial_id(first.trial().trial_id());
    p.set_attempt(first.trial().attempt());
    p.set_epoch(1);
    p.set_val_accuracy(NAN);
    v1::ReportProgressResponse resp;
    st = workers_->ReportProgress(&ctx, p, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("val_accuracy"));
  }
  {
    grpc::ClientContext ctx;
    v1::ReportResultRequest r;
    r.set_worker_id("w1");
    r.set_trial_id(first.trial().trial_id());
    r.set_attempt(0);
    v1::ReportResultResponse resp;
    st = workers_->ReportResult(&ctx, r, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("attempt: must be >= 1"));
  }
  {
    // Too large (a model over the message limit): refused before reading.
    grpc::ClientContext ctx;
    v1::ReportResultRequest r;
    r.set_worker_id("w1");
    r.set_trial_id(first.trial().trial_id());
    r.set_attempt(first.trial().attempt());
    r.mutable_metrics()->set_val_accuracy(0.5);
    r.set_model(std::string(2 << 20, 'm'));
    v1::ReportResultResponse resp;
    st = workers_->ReportResult(&ctx, r, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  EXPECT_EQ(Sql("SELECT status FROM trials WHERE id = " + trial), "RUNNING");
  EXPECT_EQ(Sql("SELECT count(*) FROM results"), "0");

  // Impossible metrics: refused, and the trial fails with the reason.
  {
    grpc::ClientContext ctx;
    v1::ReportResultRequest r;
    r.set_worker_id("w1");
    r.set_trial_id(first.trial().trial_id());
    r.set_attempt(first.trial().attempt());
    r.mutable_metrics()->set_val_accuracy(0.5);
    r.mutable_metrics()->set_test_accuracy(0.5);
    r.mutable_metrics()->set_latency_ms(-2);
    v1::ReportResultResponse resp;
    st = workers_->ReportResult(&ctx, r, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("metrics.latency_ms"));
  }
  EXPECT_EQ(Sql("SELECT status FROM trials WHERE id = " + trial), "FAILED");
  EXPECT_THAT(Sql("SELECT error FROM trials WHERE id = " + trial),
              HasSubstr("metrics.latency_ms"));
  EXPECT_EQ(Sql("SELECT count(*) FROM results"), "0");

  // The slot is free again.
  {
    grpc::ClientContext ctx;
    v1::AcquireTrialResponse next;
    ASSERT_TRUE(workers_->AcquireTrial(&ctx, acquire, &next).ok());
    EXPECT_TRUE(next.has_trial());
  }
}

TEST_F(Limits, CandidateLimitEndsASearchWithoutATrialBudget) {
  // A simulated-seconds budget (TABULAR, a table whose every cell costs
  // 1 ms) the search never spends: only the candidate limit (5) ends it.
  const std::string table = testing::WriteSimpleNb201Table(
      cluster_.dir() + "/cheap_nb201.csv", 0.001);
  v1::Experiment exp;
  grpc::Status st = Create(
      absl::StrCat(R"(name: open-ended
search_space: {name: nb201}
strategy: {name: random, seed: 3}
budget: {max_simulated_seconds: 1000, parallel_trials: 2}
evaluation:
  mode: TABULAR
  tabular: {path: )",
                   table, R"(, val_column: val_pct, test_column: test_pct,
            cost_column: train_s}
)"),
      &exp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  auto sim = ChildProcess::Spawn(
      {Binary("worker/nas-simworker"), "--controller=" + cluster_.address(),
       "--workers=2", "--idle_exit_seconds=5"},
      cluster_.dir() + "/sim.log");
  NAS_ASSERT_OK(sim);
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  std::string state;
  while (absl::Now() < deadline) {
    state = Sql(
        absl::StrCat("SELECT state FROM experiments WHERE id = ", exp.id()));
    if (state != "RUNNING") break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(state, "SUCCEEDED");
  EXPECT_THAT(
      Sql(absl::StrCat("SELECT error FROM experiments WHERE id = ", exp.id())),
      HasSubstr("stored 5 candidates, this controller's limit per "
                "experiment (--max_candidates_per_experiment), with 5 "
                "evaluated"));
  EXPECT_EQ(Sql(absl::StrCat("SELECT count(*) FROM candidates WHERE "
                             "experiment_id = ",
                             exp.id())),
            "5");
  std::optional<int> rc = (*sim)->WaitFor(absl::Seconds(30));
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0) << testing::ReadFile((*sim)->log_path());
}

// Issue 22, over real gRPC: a model the trial did not ask for is refused
// and nothing is stored; no lease is renewed past --max_attempt_seconds,
// and the expiry says why; the attempt's own late result is still taken
// while nobody has leased the trial again (one result per trial).
class AttemptLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    NAS_ASSERT_OK(cluster_.Start("attempt-limits"));
    cluster_.controller_flags = {"--max_attempt_seconds=4"};
    ASSERT_TRUE(cluster_.StartController());
    workers_ = v1::WorkerService::NewStub(cluster_.channel());
  }
  void TearDown() override { cluster_.Finish(HasFailure()); }
  std::string Sql(const std::string& q) { return cluster_.Psql(q); }

  testing::LocalCluster cluster_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
};

TEST_F(AttemptLimits, UnaskedModelsAndOverlongAttemptsAreRefused) {
  v1::Experiment exp;
  grpc::Status st = cluster_.Create(R"(name: limited
search_space: {name: nb201}
strategy: {name: random, seed: 3}
budget: {max_trials: 1, parallel_trials: 1}
evaluation: {mode: FULL, epochs: 1}
keep_models: 0
lease_seconds: 2
max_attempts: 2
)",
                                    &exp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::AcquireTrialResponse leased;
  st = RegisterAndLease(workers_.get(), "w1", &leased);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(leased.has_trial());
  const absl::Time start = absl::Now();
  const v1::Trial& t = leased.trial();
  EXPECT_FALSE(t.export_model());
  const std::string trial = absl::StrCat(t.trial_id());

  // A model nobody asked for: refused, nothing stored.
  v1::ReportResultRequest result;
  result.set_worker_id("w1");
  result.set_trial_id(t.trial_id());
  result.set_attempt(t.attempt());
  result.mutable_metrics()->set_val_accuracy(0.5);
  result.mutable_metrics()->set_test_accuracy(0.5);
  result.set_model(std::string(64 << 10, 'm'));
  {
    grpc::ClientContext ctx;
    v1::ReportResultResponse resp;
    st = workers_->ReportResult(&ctx, result, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("did not ask for a model"));
  }
  EXPECT_EQ(Sql("SELECT count(*) FROM results"), "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM artifacts"), "0");
  EXPECT_EQ(Sql("SELECT status FROM trials WHERE id = " + trial), "RUNNING");

  // Renewing every 0.5 s holds the lease only up to the 4 s limit.
  v1::RenewLeaseRequest renew;
  renew.set_worker_id("w1");
  renew.set_trial_id(t.trial_id());
  renew.set_attempt(t.attempt());
  absl::Duration held_for;
  while (absl::Now() - start < absl::Seconds(15)) {
    grpc::ClientContext ctx;
    v1::RenewLeaseResponse resp;
    ASSERT_TRUE(workers_->RenewLease(&ctx, renew, &resp).ok());
    if (!resp.ok()) {
      held_for = absl::Now() - start;
      break;
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_GE(held_for, absl::Seconds(3.5));
  EXPECT_LT(held_for, absl::Seconds(8));
  // The sweep requeues it (attempt 1 of 2), saying why.
  std::string status;
  for (int i = 0; i < 100; ++i) {
    status = Sql("SELECT status FROM trials WHERE id = " + trial);
    if (status != "RUNNING") break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(status, "QUEUED");
  EXPECT_THAT(Sql("SELECT error FROM trial_attempts WHERE trial_id = " + trial),
              HasSubstr("ran past the limit of 4 s per trial attempt "
                        "(--max_attempt_seconds)"));

  // Its late result (without the model) is taken: nobody re-leased it.
  result.clear_model();
  {
    grpc::ClientContext ctx;
    v1::ReportResultResponse resp;
    st = workers_->ReportResult(&ctx, result, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(resp.accepted());
  }
  EXPECT_EQ(Sql("SELECT status FROM trials WHERE id = " + trial), "SUCCEEDED");
  EXPECT_EQ(Sql("SELECT count(*) FROM results"), "1");
}

}  // namespace
}  // namespace nas
