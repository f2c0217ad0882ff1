// Mode COMMAND on the controller side, against a throw-away PostgreSQL
// server: the real Store, WorkerRegistry, Dispatch and Experiments, wired
// as the controller wires them (no scheduler: these tests insert the
// candidates themselves, and the verbs used here never call it). Trials
// wait for a worker with the trainer and GetExperiment says so; progress
// reports of COMMAND trials get STOP answers from the central rule, final
// re-trainings stay COMMAND and are never stopped.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/trainers.h"
#include "controller/controller_options.h"
#include "controller/dispatch.h"
#include "controller/experiments.h"
#include "controller/store/store.h"
#include "controller/worker_registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/migrated_store_suite.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::testing::HasSubstr;

std::string TestName() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

// A COMMAND experiment over nb201 whose trials also require the label
// test=<test name> (tests share the server, never each other's trials).
v1::ExperimentSpec CommandSpec(const std::string& trainer) {
  v1::ExperimentSpec spec;
  spec.set_name(TestName());
  spec.mutable_search_space()->set_name("nb201");
  spec.mutable_strategy()->set_name("random");
  spec.mutable_objective()->set_metric("val_top5");
  spec.mutable_budget()->set_max_trials(10);
  spec.mutable_evaluation()->set_mode(v1::COMMAND);
  spec.mutable_evaluation()->set_epochs(9);
  spec.mutable_evaluation()->set_progress_metric("val_top5");
  spec.mutable_evaluation()->mutable_command()->set_trainer(trainer);
  (*spec.mutable_required_labels())["test"] = TestName();
  spec.set_keep_models(3);
  spec.mutable_final()->set_top_k(1);
  spec.mutable_final()->set_epochs(20);
  spec.set_lease_seconds(60);
  spec.set_max_attempts(3);
  return spec;
}

class CommandModeTest : public MigratedStoreSuite {
 protected:
  void SetUp() override {
    ASSERT_NE(store_, nullptr);
    workers_ = std::make_unique<WorkerRegistry>(store_, options_.worker_alive);
    dispatch_ = std::make_unique<Dispatch>(store_, workers_.get(), options_);
    experiments_ = std::make_unique<Experiments>(store_, /*scheduler=*/nullptr,
                                                 workers_.get(), options_);
  }

  // Creates the experiment and its `n` queued candidates.
  static int64_t Create(const v1::ExperimentSpec& spec, int n,
                        std::vector<int64_t>* ids = nullptr) {
    auto id = store_->CreateExperiment(spec, 42);
    EXPECT_TRUE(id.ok()) << id.status();
    std::vector<NewCandidate> cands;
    for (int i = 0; i < n; ++i) cands.push_back(QueuedTestCandidate(i));
    auto inserted = store_->InsertCandidates(*id, cands);
    EXPECT_TRUE(inserted.ok()) << inserted.status();
    if (ids != nullptr) *ids = *inserted;
    return *id;
  }

  void Register(const std::string& worker,
                std::map<std::string, std::string> labels) {
    v1::RegisterWorkerRequest r;
    r.set_worker_id(worker);
    r.set_device("cpu");
    for (const auto& [k, v] : labels) (*r.mutable_labels())[k] = v;
    NAS_ASSERT_OK(dispatch_->RegisterWorker(r));
  }

  // AcquireTrial for one worker; the answer may hold no trial.
  v1::AcquireTrialResponse Acquire(const std::string& worker) {
    auto answers = dispatch_->AcquireTrials({worker});
    EXPECT_EQ(answers.size(), 1u);
    EXPECT_TRUE(answers[0].ok()) << answers[0].status();
    return answers[0].ok() ? *answers[0] : v1::AcquireTrialResponse();
  }

  std::string Waiting(int64_t id) {
    auto e = experiments_->GetExperiment(id);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? e->waiting() : "(error)";
  }

  v1::ReportProgressResponse Progress(const v1::Trial& t,
                                      const std::string& worker, int epoch,
                                      double value) {
    v1::ReportProgressRequest p;
    p.set_worker_id(worker);
    p.set_trial_id(t.trial_id());
    p.set_attempt(t.attempt());
    p.set_epoch(epoch);
    p.set_val_accuracy(value);  // the progress metric's value (val_top5)
    p.set_train_loss(0.5);
    auto r = dispatch_->ReportProgress(p);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::ReportProgressResponse();
  }

  ControllerOptions options_;
  std::unique_ptr<WorkerRegistry> workers_;
  std::unique_ptr<Dispatch> dispatch_;
  std::unique_ptr<Experiments> experiments_;
};

// A spec naming a trainer no worker has: its trials wait, GetExperiment's
// `waiting` names the trainer (and how a worker gets it), and only a
// worker started with that trainer (and the spec's labels) leases them.
TEST_F(CommandModeTest, TrialsWaitForAWorkerWithTheTrainerAndSayWhy) {
  const int64_t id = Create(CommandSpec("torch_fmnist"), 2);
  EXPECT_EQ(Waiting(id),
            "2 queued trial(s) wait for a worker with trainer 'torch_fmnist' "
            "(nas-worker --trainer=torch_fmnist=PATH); none of the 0 live "
            "worker(s) has it");

  // A worker with the spec's labels but no trainer (or another one).
  Register("plain", {{"test", TestName()}, {"trainer/other", "yes"}});
  EXPECT_FALSE(Acquire("plain").has_trial());
  EXPECT_EQ(Waiting(id),
            "2 queued trial(s) wait for a worker with trainer 'torch_fmnist' "
            "(nas-worker --trainer=torch_fmnist=PATH); none of the 1 live "
            "worker(s) has it");

  // The trainer, but not the spec's other label: the label message.
  Register("elsewhere", {{TrainerLabelKey("torch_fmnist"), "yes"}});
  EXPECT_FALSE(Acquire("elsewhere").has_trial());
  EXPECT_EQ(Waiting(id),
            absl::StrCat("2 queued trial(s) wait for a worker with labels "
                         "test=",
                         TestName(),
                         ",trainer/torch_fmnist=yes; none of the 2 live "
                         "worker(s) carries them"));

  Register("ready", {{"test", TestName()},
                     {TrainerLabelKey("torch_fmnist"), "yes"},
                     {"gpu", "none"}});
  EXPECT_EQ(Waiting(id), "");  // a matching worker is alive
  const v1::AcquireTrialResponse got = Acquire("ready");
  ASSERT_TRUE(got.has_trial());
  const v1::Trial& t = got.trial();
  EXPECT_EQ(t.experiment_id(), id);
  EXPECT_EQ(t.evaluation().mode(), v1::COMMAND);
  EXPECT_EQ(t.evaluation().command().trainer(), "torch_fmnist");
  EXPECT_TRUE(t.export_model());  // keep_models 3: the trainer's model
  EXPECT_FALSE(t.final_training());
}

// The longest trainer name fits a worker label (RegisterWorker's limit on
// label keys leaves room for "trainer/").
TEST_F(CommandModeTest, LongestTrainerNameRegistersAndMatches) {
  const std::string trainer(64, 't');
  ASSERT_TRUE(IsValidTrainerName(trainer));
  const int64_t id = Create(CommandSpec(trainer), 1);
  Register("long", {{"test", TestName()}, {TrainerLabelKey(trainer), "yes"}});
  const v1::AcquireTrialResponse got = Acquire("long");
  ASSERT_TRUE(got.has_trial());
  EXPECT_EQ(got.trial().experiment_id(), id);
}

// The Pareto front of an experiment whose objective is a named metric
// ranks by that metric (read back from the store), not by val_accuracy.
TEST_F(CommandModeTest, ParetoFrontRanksByTheNamedObjective) {
  v1::ExperimentSpec spec = CommandSpec("torch_fmnist");
  spec.mutable_objective()->add_minimize("macs");
  const int64_t id = Create(spec, 3);
  Register("w", {{"test", TestName()}, {"trainer/torch_fmnist", "yes"}});
  // (val_top5, macs, val_accuracy): by val_top5 the front is {0, 1}; by
  // val_accuracy it would be {1, 2}.
  const double top5[] = {0.9, 0.8, 0.7};
  const int64_t macs[] = {300, 100, 200};
  const double acc[] = {0.5, 0.5, 0.99};
  std::vector<int64_t> cands;
  for (int i = 0; i < 3; ++i) {
    const v1::AcquireTrialResponse got = Acquire("w");
    ASSERT_TRUE(got.has_trial());
    v1::EvaluationMetrics m;
    m.set_val_accuracy(acc[i]);
    m.set_macs(macs[i]);
    (*m.mutable_named_metrics())["val_top5"] = top5[i];
    NAS_ASSERT_OK(store_->RecordResult(got.trial().trial_id(),
                                       got.trial().attempt(), "w", m));
    cands.push_back(got.trial().candidate_id());
  }
  v1::GetParetoFrontRequest r;
  r.set_experiment_id(id);
  auto front = experiments_->GetParetoFront(r);
  NAS_ASSERT_OK(front);
  ASSERT_GE(front->objectives_size(), 2);
  EXPECT_EQ(front->objectives(0), "val_top5");
  EXPECT_EQ(front->objectives(1), "macs");
  std::vector<int64_t> ids;
  for (const v1::Candidate& c : front->front()) ids.push_back(c.id());
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre(cands[0], cands[1]));
  // The best candidate is the best by val_top5.
  auto e = experiments_->GetExperiment(id);
  NAS_ASSERT_OK(e);
  EXPECT_EQ(e->best().id(), cands[0]);
  EXPECT_DOUBLE_EQ(e->best().metrics().named_metrics().at("val_top5"), 0.9);
}

// Progress of COMMAND trials (relayed from the trainer's JSON lines) is
// judged centrally like EARLY_STOPPED's: ASHA answers STOP below the
// rung's cutoff and records why; a final re-training stays COMMAND, runs
// the final epochs and is never stopped.
TEST_F(CommandModeTest, AshaStopsCommandTrialsButNotTheFinalRetraining) {
  v1::ExperimentSpec spec = CommandSpec("torch_fmnist");
  spec.mutable_early_stopping()->set_rule("asha");
  spec.mutable_early_stopping()->set_min_epochs(1);
  spec.mutable_early_stopping()->set_reduction_factor(3);  // rungs 1, 3
  std::vector<int64_t> ids;
  const int64_t id = Create(spec, 3, &ids);
  dispatch_->SetStopRule(id, spec.early_stopping(), spec.evaluation().epochs(),
                         spec.evaluation().progress_metric());
  std::vector<v1::Trial> trials;
  for (int i = 0; i < 3; ++i) {
    const std::string w = absl::StrCat("w", i);
    Register(w, {{"test", TestName()}, {"trainer/torch_fmnist", "yes"}});
    const v1::AcquireTrialResponse got = Acquire(w);
    ASSERT_TRUE(got.has_trial()) << w;
    trials.push_back(got.trial());
  }
  using Action = v1::ReportProgressResponse;
  // Alone at rung 1: continues.
  EXPECT_EQ(Progress(trials[0], "w0", 1, 0.9).action(), Action::CONTINUE);
  // Below the cutoff of {0.9, 0.5}: stopped, naming the progress metric.
  const v1::ReportProgressResponse stop = Progress(trials[1], "w1", 1, 0.5);
  EXPECT_EQ(stop.action(), Action::STOP);
  EXPECT_THAT(stop.reason(), HasSubstr("asha rung 0 (epoch 1, eta 3): "
                                       "val_top5 0.5000 < cutoff"));
  EXPECT_EQ(Progress(trials[2], "w2", 1, 0.95).action(), Action::CONTINUE);
  // Epoch 2 is no rung. A named progress metric may exceed 1.
  EXPECT_EQ(Progress(trials[0], "w0", 2, 0.1).action(), Action::CONTINUE);
  EXPECT_EQ(Progress(trials[2], "w2", 2, 27.5).action(), Action::CONTINUE);
  // Recorded on the candidate.
  CandidateQuery q;
  q.experiment_id = id;
  auto listed = store_->ListCandidates(q);
  NAS_ASSERT_OK(listed);
  ASSERT_EQ(listed->candidates.size(), 3u);
  for (const v1::Candidate& c : listed->candidates) {
    if (c.id() == trials[1].candidate_id()) {
      EXPECT_THAT(c.early_stopped(), HasSubstr("asha rung 0"));
    } else {
      EXPECT_EQ(c.early_stopped(), "") << c.id();
    }
  }

  // The final re-training of candidate 0: COMMAND, final epochs, model
  // exported, and a poor score at a rung does not stop it.
  NewCandidate fin = QueuedTestCandidate(0);
  fin.final_of = ids[0];
  NAS_ASSERT_OK(store_->InsertCandidates(id, {fin}));
  Register("wf", {{"test", TestName()}, {"trainer/torch_fmnist", "yes"}});
  const v1::AcquireTrialResponse got = Acquire("wf");
  ASSERT_TRUE(got.has_trial());
  const v1::Trial& f = got.trial();
  EXPECT_TRUE(f.final_training());
  EXPECT_EQ(f.evaluation().mode(), v1::COMMAND);
  EXPECT_EQ(f.evaluation().epochs(), 20);
  EXPECT_TRUE(f.export_model());
  EXPECT_EQ(Progress(f, "wf", 1, 0.01).action(), Action::CONTINUE);
}

// Issue 22: a trainer whose own timeout (plus its grace) is longer than
// the controller lets one attempt run is refused at submission, naming
// both the field and the flag; nothing is stored.
TEST_F(CommandModeTest, TimeoutBeyondTheAttemptLimitIsRefused) {
  ControllerOptions options = options_;
  options.max_attempt_seconds = 3600;
  Experiments limited(store_, /*scheduler=*/nullptr, workers_.get(), options);
  v1::CreateExperimentRequest req;
  *req.mutable_spec() = CommandSpec("slow");
  req.mutable_spec()
      ->mutable_evaluation()
      ->mutable_command()
      ->set_timeout_seconds(3600);
  req.mutable_spec()
      ->mutable_evaluation()
      ->mutable_command()
      ->set_grace_seconds(10);
  auto refused = limited.CreateExperiment(req);
  EXPECT_THAT(refused.status(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                "spec.evaluation.command.timeout_seconds"));
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr("--max_attempt_seconds"));
}

}  // namespace
}  // namespace nas
