// Issue 23 over real gRPC against a real controller and PostgreSQL:
// ExtendExperiment raises a finished experiment's max_trials and the
// strategy continues from its replayed state (the same genotypes, in the
// same order, as one run with the larger budget); a STOPPED experiment
// resumes; stopping a finished experiment is a no-op; bad budgets are
// refused naming the field; ListLearningCurves returns each trial's epochs.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

// Evolution over nb201 on a TABULAR table served by nas-simworker, one
// trial at a time, so the sequence of proposals depends only on the seed.
std::string Spec(const std::string& name, const std::string& table,
                 int max_trials) {
  testing::SpecYaml spec;
  spec.name = name;
  spec.strategy =
      "{name: evolution, seed: 11, evolution: {population: 4, "
      "sample_size: 2}}";
  spec.budget =
      absl::StrCat("{max_trials: ", max_trials, ", parallel_trials: 1}");
  spec.evaluation = testing::TabularLookup(table, 0, "");
  return spec.Yaml();
}

class Extension : public ::testing::Test {
 protected:
  void SetUp() override {
    NAS_ASSERT_OK(cluster_.Start("extend"));
    ASSERT_TRUE(cluster_.StartController());
    table_ = testing::WriteSimpleNb201Table(cluster_.dir() + "/nb201.csv", 1.0);
  }
  void TearDown() override { cluster_.Finish(HasFailure()); }

  void StartSimWorker(int eval_ms) {
    auto sim = ChildProcess::Spawn(
        {Binary("worker/nas-simworker"), "--controller=" + cluster_.address(),
         "--workers=1", absl::StrCat("--eval_ms=", eval_ms),
         "--idle_exit_seconds=120"},
        cluster_.dir() + "/sim.log");
    NAS_ASSERT_OK(sim);
    sim_ = std::move(*sim);
  }

  grpc::Status Extend(int64_t id, int max_trials, v1::Experiment* out) {
    grpc::ClientContext ctx;
    v1::ExtendExperimentRequest req;
    req.set_id(id);
    req.set_max_trials(max_trials);
    return cluster_.stub()->ExtendExperiment(&ctx, req, out);
  }
  grpc::Status Stop(int64_t id, v1::Experiment* out) {
    grpc::ClientContext ctx;
    v1::StopExperimentRequest req;
    req.set_id(id);
    return cluster_.stub()->StopExperiment(&ctx, req, out);
  }
  // Genotype hashes of the experiment's candidates in seq order.
  std::vector<std::string> Sequence(int64_t id) {
    const std::string rows = cluster_.Psql(
        absl::StrCat("SELECT string_agg(array_to_string(choices, '.'), ' ' "
                     "ORDER BY seq) FROM candidates WHERE experiment_id = ",
                     id));
    return absl::StrSplit(rows, ' ');
  }

  testing::LocalCluster cluster_;
  std::string table_;
  std::unique_ptr<ChildProcess> sim_;
};

TEST_F(Extension, ExtendedSearchContinuesAsOneLongerRun) {
  StartSimWorker(0);
  // The reference: one run of 10 trials.
  v1::Experiment whole;
  ASSERT_TRUE(cluster_.Create(Spec("whole", table_, 10), &whole).ok());
  ASSERT_TRUE(cluster_.WaitFinished(whole.id(), absl::Seconds(60)));
  // 6 trials, then extended to 10.
  v1::Experiment part;
  ASSERT_TRUE(cluster_.Create(Spec("part", table_, 6), &part).ok());
  ASSERT_TRUE(cluster_.WaitFinished(part.id(), absl::Seconds(60)));
  ASSERT_EQ(cluster_.Get(part.id()).state(), v1::EXPERIMENT_SUCCEEDED);
  ASSERT_EQ(cluster_.Get(part.id()).counts().trials_succeeded(), 6);

  // Stopping a finished experiment changes nothing.
  v1::Experiment stopped;
  grpc::Status st = Stop(part.id(), &stopped);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(stopped.state(), v1::EXPERIMENT_SUCCEEDED);
  // A budget not above what ran, or none at all, is refused by field.
  v1::Experiment out;
  st = Extend(part.id(), 6, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(),
              HasSubstr("max_trials: 6 is not above the 6 trials"));
  st = Extend(part.id(), 0, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("give a new budget"));
  st = Extend(part.id(), -1, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("max_trials: must be >= 0"));
  EXPECT_EQ(cluster_.Get(part.id()).state(), v1::EXPERIMENT_SUCCEEDED);

  st = Extend(part.id(), 10, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.state(), v1::EXPERIMENT_RUNNING);
  EXPECT_EQ(out.spec().budget().max_trials(), 10);
  ASSERT_TRUE(cluster_.WaitFinished(part.id(), absl::Seconds(60)));
  const v1::Experiment done = cluster_.Get(part.id());
  EXPECT_EQ(done.state(), v1::EXPERIMENT_SUCCEEDED) << done.error();
  EXPECT_EQ(done.counts().trials_succeeded(), 10);
  // The strategy continued from its replayed state: the same proposals as
  // the single longer run.
  EXPECT_EQ(Sequence(part.id()), Sequence(whole.id()));
  EXPECT_EQ(Sequence(part.id()).size(), 10u);
}

TEST_F(Extension, StoppedExperimentResumesWithItsBudget) {
  StartSimWorker(150);  // simulated FULL trials of 150 ms each
  testing::SpecYaml spec;
  spec.name = "resume";
  spec.strategy = "{name: random, seed: 5}";
  spec.budget = "{max_trials: 12, parallel_trials: 1}";
  spec.evaluation = "{mode: FULL, epochs: 1}";
  v1::Experiment e;
  ASSERT_TRUE(cluster_.Create(spec.Yaml(), &e).ok());
  ASSERT_TRUE(cluster_.WaitForResults(e.id(), 3));
  v1::Experiment stopped;
  ASSERT_TRUE(Stop(e.id(), &stopped).ok());
  EXPECT_EQ(stopped.state(), v1::EXPERIMENT_STOPPED);
  // Stopping again: the same answer, exit 0 for nasctl.
  v1::Experiment again;
  grpc::Status st = Stop(e.id(), &again);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(again.state(), v1::EXPERIMENT_STOPPED);
  const int before = cluster_.Get(e.id()).counts().trials_succeeded();
  EXPECT_LT(before, 12);

  v1::Experiment resumed;
  st = Extend(e.id(), 0, &resumed);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resumed.state(), v1::EXPERIMENT_RUNNING);
  ASSERT_TRUE(cluster_.WaitFinished(e.id(), absl::Seconds(60)));
  const v1::Experiment done = cluster_.Get(e.id());
  EXPECT_EQ(done.state(), v1::EXPERIMENT_SUCCEEDED) << done.error();
  EXPECT_EQ(done.counts().trials_succeeded(), 12);
}

// A hand-driven worker reports two epochs; the curve comes back whole.
TEST_F(Extension, LearningCurvesCarryEachReportedEpoch) {
  testing::SpecYaml spec;
  spec.name = "curves";
  spec.strategy = "{name: random, seed: 3}";
  spec.budget = "{max_trials: 2, parallel_trials: 1}";
  spec.evaluation = "{mode: FULL, epochs: 3}";
  v1::Experiment e;
  ASSERT_TRUE(cluster_.Create(spec.Yaml(), &e).ok());
  auto workers = v1::WorkerService::NewStub(cluster_.channel());
  {
    grpc::ClientContext ctx;
    v1::RegisterWorkerRequest reg;
    reg.set_worker_id("hand");
    v1::RegisterWorkerResponse resp;
    ASSERT_TRUE(workers->RegisterWorker(&ctx, reg, &resp).ok());
  }
  v1::AcquireTrialResponse lease;
  {
    grpc::ClientContext ctx;
    v1::AcquireTrialRequest req;
    req.set_worker_id("hand");
    req.set_wait_ms(10000);
    ASSERT_TRUE(workers->AcquireTrial(&ctx, req, &lease).ok());
    ASSERT_TRUE(lease.has_trial());
  }
  for (int epoch = 1; epoch <= 2; ++epoch) {
    grpc::ClientContext ctx;
    v1::ReportProgressRequest p;
    p.set_worker_id("hand");
    p.set_trial_id(lease.trial().trial_id());
    p.set_attempt(lease.trial().attempt());
    p.set_epoch(epoch);
    p.set_val_accuracy(0.5 + 0.1 * epoch);
    p.set_train_loss(1.0 / epoch);
    p.set_seconds(2.0 * epoch);
    v1::ReportProgressResponse resp;
    grpc::Status st = workers->ReportProgress(&ctx, p, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  grpc::ClientContext ctx;
  v1::ListLearningCurvesRequest req;
  req.set_experiment_id(e.id());
  v1::ListLearningCurvesResponse resp;
  grpc::Status st = cluster_.stub()->ListLearningCurves(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.epochs(), 3);
  ASSERT_EQ(resp.curves_size(), 1);
  const v1::LearningCurve& c = resp.curves(0);
  EXPECT_EQ(c.trial_id(), lease.trial().trial_id());
  EXPECT_EQ(c.candidate_id(), lease.trial().candidate_id());
  ASSERT_EQ(c.points_size(), 2);
  EXPECT_DOUBLE_EQ(c.points(1).val_accuracy(), 0.7);
  EXPECT_DOUBLE_EQ(c.points(1).seconds(), 4.0);
  EXPECT_EQ(c.stopped_at_epoch(), 0);
  EXPECT_EQ(resp.next_page_token(), "");
  // A bad page token and an unknown experiment are refused by field.
  grpc::ClientContext ctx2;
  req.set_page_token("x");
  st = cluster_.stub()->ListLearningCurves(&ctx2, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("page_token"));
  grpc::ClientContext ctx3;
  req.set_page_token("");
  req.set_experiment_id(987654);
  st = cluster_.stub()->ListLearningCurves(&ctx3, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace nas
