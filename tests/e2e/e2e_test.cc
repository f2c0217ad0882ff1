// End to end: PostgreSQL, nas-controller and nas-worker processes over
// loopback gRPC. Assertions read the database with psql, independently of
// the store code.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/spaces/nb201_space.h"
#include "common/spaces/search_space.h"
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

// Tiny but real training: a few seconds per candidate on one core.
std::string TinySpec(int trials, int parallel, int lease_seconds,
                     int train_samples, int epochs,
                     const std::string& strategy = "{name: random, seed: 11}") {
  testing::SpecYaml spec;
  spec.name = "e2e";
  spec.search_space = testing::TinyNb201();
  spec.strategy = strategy;
  spec.budget = testing::TrialBudget(trials, parallel);
  spec.lease_seconds = lease_seconds;
  spec.evaluation = testing::FullTraining(epochs, train_samples, 500, 500);
  return spec.Yaml();
}

// The shared local cluster (tests/testing/cluster.h) with one controller.
class Cluster : public ::testing::Test, public testing::LocalCluster {
 protected:
  void SetUp() override {
    NAS_ASSERT_OK(Start("e2e"));
    ASSERT_TRUE(StartController());
  }

  void TearDown() override { Finish(HasFailure()); }

  void CheckRestartReplaysSequence(const std::string& strategy);
};

TEST_F(Cluster, TwoWorkersRunASearchAndEveryRowIsStored) {
  StartWorker("w1");
  StartWorker("w2");
  WaitForWorkers(2);
  v1::Experiment e;
  grpc::Status s = Create(TinySpec(4, 2, 30, 2000, 1), &e);
  ASSERT_TRUE(s.ok()) << s.error_message();
  WaitFinished(e.id(), absl::Minutes(8));
  v1::Experiment done = Get(e.id());
  EXPECT_EQ(done.state(), v1::EXPERIMENT_SUCCEEDED) << done.error();
  EXPECT_EQ(done.counts().trials_succeeded(), 4);
  CheckNoDuplicatesNoLoss(e.id(), 4);
  const std::string id = absl::StrCat(e.id());
  // Both worker processes trained candidates.
  EXPECT_EQ(
      Count(
          "SELECT count(DISTINCT worker_id) FROM results WHERE experiment_id=" +
          id),
      2);
  // Metrics are real: accuracy above chance, costs and latency measured.
  EXPECT_EQ(Count("SELECT count(*) FROM results WHERE val_accuracy > 0.3 AND "
                  "test_accuracy > 0.3 "
                  "AND params > 0 AND macs > 0 AND latency_ms > 0 AND "
                  "train_seconds > 0 AND "
                  "experiment_id=" +
                  id),
            4);
  // Every epoch was reported.
  EXPECT_EQ(Count("SELECT count(*) FROM trial_progress p JOIN trials t ON "
                  "t.id=p.trial_id "
                  "WHERE t.experiment_id=" +
                  id),
            4);
  // Candidate genotypes are in NAS-Bench-201's format.
  for (absl::string_view g : absl::StrSplit(
           Psql("SELECT canonical FROM candidates WHERE experiment_id=" + id),
           '\n')) {
    EXPECT_EQ(std::count(g.begin(), g.end(), '~'), 6) << g;
  }
  // The best candidate and the Pareto front come back over the API.
  ASSERT_TRUE(done.has_best());
  EXPECT_EQ(done.best().state(), v1::CANDIDATE_EVALUATED);
  grpc::ClientContext ctx;
  v1::GetParetoFrontRequest preq;
  preq.set_experiment_id(e.id());
  v1::GetParetoFrontResponse front;
  ASSERT_TRUE(stub()->GetParetoFront(&ctx, preq, &front).ok());
  EXPECT_GE(front.front_size(), 1);
  EXPECT_EQ(front.front(0).id(),
            done.best().id());  // most accurate is never dominated

  // nasctl, as a user runs it.
  std::string out;
  const std::string nasctl =
      absl::StrCat(Binary("client/nasctl"), " --controller 127.0.0.1:", port());
  EXPECT_EQ(testing::RunCommand(nasctl + " candidates " + id, &out), 0) << out;
  EXPECT_NE(out.find("4 of 4 candidates"), std::string::npos) << out;
  EXPECT_EQ(testing::RunCommand(nasctl + " list", &out), 0) << out;
  EXPECT_NE(out.find("SUCCEEDED"), std::string::npos) << out;
  EXPECT_EQ(testing::RunCommand(nasctl + " watch " + id, &out), 0) << out;
  EXPECT_NE(out.find("4/4 done"), std::string::npos) << out;
  EXPECT_EQ(testing::RunCommand(nasctl + " pareto " + id, &out), 0) << out;
  EXPECT_NE(out.find("Pareto front"), std::string::npos) << out;
  const std::string svg_path = dir() + "/pareto.svg";
  EXPECT_EQ(testing::RunCommand(nasctl + " pareto " + id + " --svg " + svg_path,
                                &out),
            0);
  const std::string svg = testing::ReadFile(svg_path);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  auto count = [&](const std::string& needle) {
    int n = 0;
    for (size_t p = svg.find(needle); p != std::string::npos;
         p = svg.find(needle, p + 1))
      ++n;
    return n;
  };
  // Every evaluated candidate as a grey dot, the front again in red.
  EXPECT_EQ(count("<circle"), 4 + front.front_size()) << svg;
  EXPECT_EQ(count("</svg>"), 1);
}

TEST_F(Cluster, WorkerKilledMidTrialIsReleasedToTheOtherWorker) {
  StartWorker("victim");
  WaitForWorkers(1);
  v1::Experiment e;
  // One trial at a time, long enough (3 epochs) to be killed in the middle.
  ASSERT_TRUE(Create(TinySpec(2, 1, 3, 3000, 3), &e).ok());
  const std::string id = absl::StrCat(e.id());
  WaitFor(
      "victim to report its first epoch",
      [&] {
        return Count(
                   "SELECT count(*) FROM trial_progress WHERE "
                   "worker_id='victim'") >= 1;
      },
      absl::Minutes(3));
  const int64_t first_trial = std::stoll(
      Psql("SELECT trial_id FROM trial_progress WHERE worker_id='victim' "
           "LIMIT 1"));
  worker("victim")->Signal(SIGKILL);
  ASSERT_TRUE(worker("victim")->WaitFor(absl::Seconds(10)).has_value());
  StartWorker("rescuer");
  WaitFinished(e.id(), absl::Minutes(6));
  EXPECT_EQ(Get(e.id()).state(), v1::EXPERIMENT_SUCCEEDED);
  CheckNoDuplicatesNoLoss(e.id(), 2);
  const std::string t = absl::StrCat(first_trial);
  // The killed attempt expired and the second attempt, by the rescuer, won.
  EXPECT_EQ(Psql("SELECT attempt || ',' || worker_id FROM results "
                 "WHERE trial_id=" +
                 t),
            "2,rescuer");
  EXPECT_EQ(Count("SELECT count(*) FROM results WHERE worker_id='victim'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE experiment_id=" + id),
            2);
  // Both attempts are in the history: the killed one expired.
  EXPECT_EQ(Psql("SELECT string_agg(attempt || ':' || worker_id || ':' || "
                 "outcome, ' ' "
                 "ORDER BY attempt) FROM trial_attempts WHERE trial_id=" +
                 t),
            "1:victim:EXPIRED 2:rescuer:SUCCEEDED");
}

// Hardware in the loop: trials of an experiment that requires labels go
// only to workers carrying them, and wait visibly while none is alive.
TEST_F(Cluster, RequiredLabelsRouteTrialsAndWaitVisibly) {
  StartWorker("cpu-only", {"--labels=device=cpu"});
  WaitForWorkers(1);
  v1::Experiment e;
  ASSERT_TRUE(
      Create(TinySpec(2, 2, 30, 500, 1) + "required_labels: {gpu: h100}\n", &e)
          .ok());
  WaitFor(
      "the waiting reason", [&] { return !Get(e.id()).waiting().empty(); },
      absl::Seconds(20));
  v1::Experiment waiting = Get(e.id());
  EXPECT_NE(waiting.waiting().find("wait for a worker with labels gpu=h100"),
            std::string::npos)
      << waiting.waiting();
  absl::SleepFor(absl::Seconds(2));  // the unlabeled worker keeps polling
  EXPECT_EQ(Count("SELECT count(*) FROM trials WHERE status <> 'QUEUED'"), 0);
  std::string out;
  EXPECT_EQ(
      testing::RunCommand(
          absl::StrCat("timeout 3 ", Binary("client/nasctl"),
                       " --controller 127.0.0.1:", port(), " watch ", e.id()),
          &out),
      124);  // still running when timeout stops it
  EXPECT_NE(
      out.find("[2 queued trial(s) wait for a worker with labels gpu=h100"),
      std::string::npos)
      << out;

  StartWorker("h100-box", {"--labels=gpu=h100,zone=eu"});
  WaitFinished(e.id(), absl::Minutes(3));
  EXPECT_EQ(Get(e.id()).state(), v1::EXPERIMENT_SUCCEEDED);
  EXPECT_TRUE(Get(e.id()).waiting().empty());
  EXPECT_EQ(Psql(absl::StrCat("SELECT string_agg(DISTINCT worker_id, ',') FROM "
                              "results WHERE experiment_id=",
                              e.id())),
            "h100-box");
}

// ASHA decided by the controller on real training: trials below the cutoff
// at a rung stop there, report what they have, and count in the budget.
TEST_F(Cluster, AshaStopsTrialsAtItsRungs) {
  StartWorker("w1");
  WaitForWorkers(1);
  v1::Experiment e;
  grpc::Status st = Create(
      TinySpec(6, 1, 30, 500, 3, "{name: random, seed: 4}") +
          "early_stopping: {rule: asha, min_epochs: 1, reduction_factor: 2}\n",
      &e);
  ASSERT_FALSE(st.ok()) << "EARLY_STOPPED mode must be required";
  EXPECT_NE(st.error_message().find("spec.early_stopping.rule"),
            std::string::npos);
  std::string spec = TinySpec(6, 1, 30, 500, 3, "{name: random, seed: 4}") +
                     "early_stopping: {rule: asha, min_epochs: 1, "
                     "reduction_factor: 2}\n";
  spec.replace(spec.find("evaluation:\n"), 12,
               "evaluation:\n  mode: EARLY_STOPPED\n");
  st = Create(spec, &e);
  ASSERT_TRUE(st.ok()) << st.error_message();
  WaitFinished(e.id(), absl::Minutes(4));
  EXPECT_EQ(Get(e.id()).state(), v1::EXPERIMENT_SUCCEEDED);
  CheckNoDuplicatesNoLoss(e.id(), 6);
  const std::string id = absl::StrCat(e.id());
  const int stopped = Count(
      "SELECT count(*) FROM candidates WHERE early_stopped <> '' AND "
      "experiment_id=" +
      id);
  EXPECT_GE(stopped, 1);
  // Stopped candidates ran exactly to a rung (1 or 2), the decision is on
  // that epoch's progress row, and nothing was reported after it.
  EXPECT_EQ(Count("SELECT count(*) FROM candidates c JOIN trials t ON "
                  "t.candidate_id = c.id JOIN trial_progress p ON p.trial_id = "
                  "t.id AND p.decision <> '' WHERE c.early_stopped LIKE 'asha "
                  "rung %' AND c.epochs = p.epoch AND p.epoch IN (1, 2) AND "
                  "p.epoch = (SELECT max(epoch) FROM trial_progress q WHERE "
                  "q.trial_id = t.id) AND c.experiment_id=" +
                  id),
            stopped);
  // The others ran all 3 epochs.
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE early_stopped = '' "
                  "AND epochs = 3 AND experiment_id=" +
                  id),
            6 - stopped);
  // The first trial was alone at its rungs, so it always continues.
  EXPECT_EQ(Psql("SELECT epochs FROM candidates WHERE seq = 0 "
                 "AND experiment_id=" +
                 id),
            "3");
  // ListLearningCurves (issue 23): every trial's epochs, the stopped ones
  // marked at their last epoch, in pages of 4.
  std::vector<v1::LearningCurve> curves;
  std::string token;
  do {
    grpc::ClientContext ctx;
    v1::ListLearningCurvesRequest req;
    req.set_experiment_id(e.id());
    req.set_page_size(4);
    req.set_page_token(token);
    v1::ListLearningCurvesResponse resp;
    grpc::Status listed = stub()->ListLearningCurves(&ctx, req, &resp);
    ASSERT_TRUE(listed.ok()) << listed.error_message();
    EXPECT_EQ(resp.epochs(), 3);
    curves.insert(curves.end(), resp.curves().begin(), resp.curves().end());
    token = resp.next_page_token();
  } while (!token.empty());
  ASSERT_EQ(curves.size(), 6u);
  int marked = 0;
  for (const v1::LearningCurve& c : curves) {
    SCOPED_TRACE(absl::StrCat("seq ", c.seq()));
    ASSERT_GE(c.points_size(), 1);
    for (int i = 0; i < c.points_size(); ++i) {
      EXPECT_EQ(c.points(i).epoch(), i + 1);
      EXPECT_GE(c.points(i).val_accuracy(), 0.0);
    }
    if (c.stopped_at_epoch() > 0) {
      ++marked;
      EXPECT_EQ(c.stopped_at_epoch(), c.points_size());
      EXPECT_NE(c.early_stopped().find("asha"), std::string::npos);
    } else {
      EXPECT_EQ(c.points_size(), 3);
    }
  }
  EXPECT_EQ(marked, stopped);
  // nasctl curves draws them from the real controller: one line per trial.
  const std::string svg = dir() + "/curves.svg";
  std::string out;
  ASSERT_EQ(testing::RunCommand(absl::StrCat(Binary("client/nasctl"),
                                             " --controller 127.0.0.1:", port(),
                                             " curves ", id, " --svg ", svg),
                                &out),
            0)
      << out;
  EXPECT_NE(out.find("stopped at epoch"), std::string::npos) << out;
  EXPECT_NE(testing::ReadFile(svg).find("<svg"), std::string::npos);
}

// The mobilenet space end to end: options travel to the worker with the
// trial, and the worker's measured MACs/params equal the controller's
// analytic ones for the same options.
// Mode SUPERNET: one trial trains the supernet first; its weights are
// stored once, content-addressed and in chunks, fetched by both workers
// (each with its own cache) and inherited by every candidate.
TEST_F(Cluster, SupernetIsStoredOnceAndInheritedByBothWorkers) {
  KillController();
  controller_flags = {"--artifact_chunk_kib=16"};
  StartController();
  StartWorker("w1");
  StartWorker("w2");
  WaitForWorkers(2);
  v1::Experiment e;
  // The channel may still hold the killed controller's connection: retry a
  // call that never reached the server.
  grpc::Status st;
  for (int i = 0; i < 20; ++i) {
    st = Create(R"(
name: supernet-e2e
search_space:
  name: nb201
  nb201: {channels: 8, cells_per_stage: 1}
strategy: {name: random, seed: 5}
budget: {max_trials: 8, parallel_trials: 2}
evaluation:
  mode: SUPERNET
  batch_size: 32
  train_samples: 2000
  val_samples: 500
  test_samples: 500
  supernet: {epochs: 2, calibration_batches: 5, finetune_steps: 2}
)",
                &e);
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  ASSERT_TRUE(st.ok()) << st.error_message();
  WaitFinished(e.id(), absl::Minutes(5));
  const v1::Experiment done = Get(e.id());
  EXPECT_EQ(done.state(), v1::EXPERIMENT_SUCCEEDED) << done.error();
  EXPECT_EQ(done.counts().trials_succeeded(), 8);
  EXPECT_EQ(done.counts().supernet(), v1::CANDIDATE_EVALUATED);
  const std::string id = absl::StrCat(e.id());
  // One supernet row, trained with per-epoch progress, linked to one
  // artifact whose chunks hash (in SQL) to its address.
  EXPECT_EQ(Count("SELECT count(*) FROM candidates c JOIN trials t ON "
                  "t.candidate_id = c.id WHERE c.supernet AND c.state = "
                  "'EVALUATED' AND t.status = 'SUCCEEDED' AND "
                  "c.experiment_id=" +
                  id),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM trial_progress p JOIN trials t ON "
                  "t.id = p.trial_id JOIN candidates c ON c.id = "
                  "t.candidate_id WHERE c.supernet AND c.experiment_id=" +
                  id),
            2);
  const std::string hash = Psql(
      "SELECT artifact_hash FROM candidates WHERE supernet AND experiment_id=" +
      id);
  ASSERT_EQ(hash.size(), 64u) << hash;
  EXPECT_EQ(Count("SELECT count(*) FROM artifacts WHERE kind = 'supernet'"), 1);
  EXPECT_GT(Count("SELECT chunks FROM artifacts WHERE hash = '" + hash + "'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM artifacts a WHERE a.hash = '" + hash +
                  "' AND a.size = (SELECT sum(length(data)) FROM "
                  "artifact_chunks WHERE hash = a.hash) AND a.hash = "
                  "encode(sha256((SELECT string_agg(data, ''::bytea ORDER BY "
                  "seq) FROM artifact_chunks WHERE hash = a.hash)), 'hex')"),
            1);
  // Candidates were dispatched only after the supernet, and evaluated by
  // inheritance (no epochs) with real metrics of the standalone subnet.
  EXPECT_EQ(Count("SELECT count(*) FROM trials t JOIN candidates c ON "
                  "c.id = t.candidate_id WHERE NOT c.supernet AND "
                  "t.experiment_id=" +
                  id +
                  " AND t.started_at < (SELECT "
                  "s.finished_at FROM trials s JOIN candidates sc ON sc.id = "
                  "s.candidate_id WHERE sc.supernet AND s.experiment_id=" +
                  id + ")"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates c JOIN results r ON "
                  "r.candidate_id = c.id WHERE NOT c.supernet AND "
                  "c.state = 'EVALUATED' AND r.epochs = 0 AND "
                  "r.val_accuracy > 0.15 AND r.latency_ms > 0 AND "
                  "c.metric_params = c.params AND c.metric_macs = c.macs AND "
                  "c.experiment_id=" +
                  id),
            8);
  EXPECT_EQ(Count("SELECT count(DISTINCT r.worker_id) FROM results r JOIN "
                  "candidates c ON c.id = r.candidate_id WHERE NOT c.supernet "
                  "AND c.experiment_id=" +
                  id),
            2);
  // Each worker fetched the supernet exactly once, over FetchArtifact.
  for (const std::string w : {"w1", "w2"}) {
    const std::string log = testing::ReadFile(dir() + "/" + w + ".log");
    const std::string needle = "fetched artifact " + hash.substr(0, 12);
    const size_t first = log.find(needle);
    EXPECT_NE(first, std::string::npos) << w << ":\n" << log;
    EXPECT_EQ(log.find(needle, first + 1), std::string::npos) << w;
  }
}

// The supernet's trial is an ordinary trial: its worker killed mid-training,
// the lease expires and another worker trains it; the search then runs on
// the rescuer's supernet.
TEST_F(Cluster, SupernetTrialOfAKilledWorkerIsReleased) {
  StartWorker("victim");
  WaitForWorkers(1);
  v1::Experiment e;
  grpc::Status st = Create(R"(
name: supernet-kill
search_space:
  name: nb201
  nb201: {channels: 4, cells_per_stage: 1}
strategy: {name: random, seed: 2}
budget: {max_trials: 2, parallel_trials: 1}
lease_seconds: 3
evaluation:
  mode: SUPERNET
  batch_size: 32
  train_samples: 3000
  val_samples: 300
  test_samples: 300
  supernet: {epochs: 3, calibration_batches: 3}
)",
                           &e);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const std::string id = absl::StrCat(e.id());
  EXPECT_EQ(Get(e.id()).phase(), "supernet");
  WaitFor(
      "victim to report a supernet epoch",
      [&] {
        return Count(
                   "SELECT count(*) FROM trial_progress WHERE "
                   "worker_id='victim'") >= 1;
      },
      absl::Minutes(3));
  worker("victim")->Signal(SIGKILL);
  ASSERT_TRUE(worker("victim")->WaitFor(absl::Seconds(10)).has_value());
  StartWorker("rescuer");
  WaitFinished(e.id(), absl::Minutes(4));
  const v1::Experiment done = Get(e.id());
  EXPECT_EQ(done.state(), v1::EXPERIMENT_SUCCEEDED) << done.error();
  EXPECT_EQ(done.counts().trials_succeeded(), 2);
  EXPECT_EQ(Psql("SELECT string_agg(a.attempt || ':' || a.worker_id || ':' || "
                 "a.outcome, ' ' ORDER BY a.attempt) FROM trial_attempts a "
                 "JOIN trials t ON t.id = a.trial_id JOIN candidates c ON "
                 "c.id = t.candidate_id WHERE c.supernet AND "
                 "c.experiment_id=" +
                 id),
            "1:victim:EXPIRED 2:rescuer:SUCCEEDED");
  EXPECT_EQ(Count("SELECT count(*) FROM results r JOIN candidates c ON "
                  "c.id = r.candidate_id WHERE NOT c.supernet AND "
                  "r.worker_id = 'rescuer' AND c.experiment_id=" +
                  id),
            2);
}

TEST_F(Cluster, MobileNetSearchRunsEndToEnd) {
  StartWorker("w1");
  v1::Experiment e;
  grpc::Status st = Create(R"(
name: mobilenet-e2e
search_space:
  name: mobilenet
  mobilenet: {width_multiplier: 0.25, head_channels: 64}
strategy: {name: evolution, seed: 3, evolution: {population: 2, sample_size: 2}}
budget: {max_trials: 3, parallel_trials: 1}
evaluation: {epochs: 1, batch_size: 32, train_samples: 500, val_samples: 300, test_samples: 300}
)",
                           &e);
  ASSERT_TRUE(st.ok()) << st.error_message();
  WaitFinished(e.id(), absl::Minutes(4));
  EXPECT_EQ(Get(e.id()).state(), v1::EXPERIMENT_SUCCEEDED)
      << Get(e.id()).error();
  CheckNoDuplicatesNoLoss(e.id(), 3);
  const std::string id = absl::StrCat(e.id());
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE space = 'mobilenet' "
                  "AND canonical ~ "
                  "'^(k[357]e[346]d[234]se[01]-){3}k[357]e[346]d[234]se[01]$' "
                  "AND macs = metric_macs AND params = metric_params AND "
                  "experiment_id=" +
                  id),
            3);
}

// Hard constraints decided by the analytic cost model before dispatch:
// violating proposals are stored as REJECTED with the reason, never trained,
// and the budget is still met with feasible candidates.
TEST_F(Cluster, ConstraintViolatorsAreStoredAsRejected) {
  StartWorker("w1");
  v1::Experiment e;
  // C=4, N=1: 4822 params without cell ops; each 3x3 conv edge adds 3080,
  // so 8000 admits at most one.
  grpc::Status st =
      Create(TinySpec(3, 1, 30, 500, 1, "{name: random, seed: 8}") +
                 "objective: {constraints: {max_params: 8000}}\n",
             &e);
  ASSERT_TRUE(st.ok()) << st.error_message();
  WaitFinished(e.id(), absl::Minutes(3));
  EXPECT_EQ(Get(e.id()).state(), v1::EXPERIMENT_SUCCEEDED);
  CheckNoDuplicatesNoLoss(e.id(), 3);
  const std::string id = absl::StrCat(e.id());
  const int rejected = Count(
      "SELECT count(*) FROM candidates WHERE state = 'REJECTED' AND params > "
      "8000 AND reason = 'params ' || params || ' > "
      "objective.constraints.max_params 8000' AND experiment_id=" +
      id);
  EXPECT_GE(rejected, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE state = 'REJECTED' "
                  "AND experiment_id=" +
                  id),
            rejected);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE state = 'EVALUATED' "
                  "AND params <= 8000 AND experiment_id=" +
                  id),
            3);
  EXPECT_EQ(Count("SELECT count(*) FROM trials t JOIN candidates c ON c.id = "
                  "t.candidate_id WHERE c.state = 'REJECTED'"),
            0);
  EXPECT_EQ(Get(e.id()).counts().rejected(), rejected);
}

// One active controller per database: a second one waits as a standby on
// the PostgreSQL advisory lock (not even listening) and takes over within
// 10 s when the active one is killed; the experiment then completes.
TEST_F(Cluster, StandbyControllerTakesOverWhenTheActiveOneDies) {
  ASSERT_TRUE(StartController("standby", {}, /*connect_client=*/false));
  WaitFor(
      "the standby to wait",
      [&] {
        return testing::ReadLog(*this, "standby").find("standby") !=
               std::string::npos;
      },
      absl::Seconds(20));
  auto standby_channel = NewChannel("standby");
  EXPECT_FALSE(standby_channel->WaitForConnected(
      std::chrono::system_clock::now() + std::chrono::seconds(1)))
      << "a standby must not serve";
  v1::Experiment e;
  ASSERT_TRUE(Create(TinySpec(2, 1, 30, 500, 1), &e).ok());

  KillController();
  const absl::Time killed = absl::Now();
  ASSERT_TRUE(standby_channel->WaitForConnected(
      std::chrono::system_clock::now() + std::chrono::seconds(10)))
      << testing::ReadLog(*this, "standby");
  EXPECT_LT(absl::Now() - killed, absl::Seconds(10));
  ASSERT_TRUE(UseController("standby"));
  StartWorker("w1");
  WaitFinished(e.id(), absl::Minutes(3));
  EXPECT_EQ(Get(e.id()).state(), v1::EXPERIMENT_SUCCEEDED);
  CheckNoDuplicatesNoLoss(e.id(), 2);
}

TEST_F(Cluster, BadSpecsAreRefusedNamingTheFieldAndStoreNothing) {
  struct Case {
    std::string yaml, field;
  };
  const std::vector<Case> cases = {
      {"name: x\nsearch_space: {name: darts}\nbudget: {max_trials: 3}\n",
       "spec.search_space.name"},
      {"name: x\nsearch_space: {name: nb201}\nbudget: {max_trials: 0}\n",
       "spec.budget.max_trials"},
      {"name: x\nsearch_space: {name: nb201\nbudget: [\n",
       "spec_yaml: malformed YAML"},
      {"name: x\nsearch_space: {name: nb201}\nbudget: {max_trials: "
       "2}\nevaluation: {epoch: 3}\n",
       "spec.evaluation.epoch"},
  };
  for (const Case& c : cases) {
    v1::Experiment e;
    grpc::Status s = Create(c.yaml, &e);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.yaml;
    EXPECT_NE(s.error_message().find(c.field), std::string::npos)
        << "message '" << s.error_message() << "' does not name " << c.field;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM experiments"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates"), 0);
  // nasctl refuses locally with the line, exit code 2.
  const std::string path = dir() + "/bad.yaml";
  FILE* f = fopen(path.c_str(), "w");
  fputs(cases[1].yaml.c_str(), f);
  fclose(f);
  std::string out;
  EXPECT_EQ(testing::RunCommand(absl::StrCat(Binary("client/nasctl"),
                                             " --controller 127.0.0.1:", port(),
                                             " submit ", path, " 2>&1"),
                                &out),
            2);
  EXPECT_NE(out.find("spec.budget.max_trials (line 3): must be > 0"),
            std::string::npos)
      << out;
}

TEST_F(Cluster, FailingEvaluationsAreRetriedThenTheExperimentFails) {
  StartWorker("w1");
  WaitForWorkers(1);
  v1::Experiment e;
  ASSERT_TRUE(
      Create(
          "name: broken\nsearch_space: {name: nb201}\nbudget: {max_trials: 1}\n"
          "max_attempts: 2\nevaluation: {data_dir: /nonexistent/fmnist}\n",
          &e)
          .ok());
  WaitFinished(e.id(), absl::Minutes(2));
  v1::Experiment done = Get(e.id());
  EXPECT_EQ(done.state(), v1::EXPERIMENT_FAILED);
  EXPECT_NE(done.error().find("all 1 trials failed"), std::string::npos)
      << done.error();
  const std::string row = Psql(absl::StrCat(
      "SELECT status || ',' || attempt || ',' || error FROM trials WHERE "
      "experiment_id=",
      e.id()));
  EXPECT_EQ(row.rfind("FAILED,2,", 0), 0u) << row;
  EXPECT_NE(row.find("/nonexistent/fmnist"), std::string::npos) << row;
  EXPECT_EQ(Count("SELECT count(*) FROM results"), 0);
}

// Issue 4's resume contract: with a fixed seed and one worker (so results
// arrive in a fixed order), a controller killed and restarted mid-experiment
// proposes exactly the sequence an uninterrupted run proposes. Runs the
// 7-trial experiment of `strategy` twice, the second time with a SIGKILL
// after 3 results, and compares the stored proposal sequences.
void Cluster::CheckRestartReplaysSequence(const std::string& strategy) {
  StartWorker("w1");
  WaitForWorkers(1);
  const std::string spec = TinySpec(7, 1, 10, 500, 1, strategy);
  auto sequence = [&](int64_t id) {
    return Psql(
        absl::StrCat("SELECT string_agg(canonical, ' ' ORDER BY seq) "
                     "FROM candidates WHERE experiment_id=",
                     id));
  };
  v1::Experiment a;
  ASSERT_TRUE(Create(spec, &a).ok());
  WaitFinished(a.id(), absl::Minutes(4));
  ASSERT_EQ(Get(a.id()).state(), v1::EXPERIMENT_SUCCEEDED);

  v1::Experiment b;
  ASSERT_TRUE(Create(spec, &b).ok());
  WaitForResults(b.id(), 3);
  KillController();
  const int before_restart = Count(absl::StrCat(
      "SELECT count(*) FROM candidates WHERE experiment_id=", b.id()));
  // Pages of 2 rows: the replay crosses page boundaries of both lists.
  StartController("controller", {"--replay_page=2"});
  WaitFinished(b.id(), absl::Minutes(4));
  EXPECT_EQ(Get(b.id()).state(), v1::EXPERIMENT_SUCCEEDED);
  EXPECT_LT(before_restart, 7) << "the restart came too late to test replay";
  EXPECT_EQ(sequence(b.id()), sequence(a.id()));
  CheckNoDuplicatesNoLoss(b.id(), 7);
}

TEST_F(Cluster, RestartedEvolutionProposesTheSameSequence) {
  CheckRestartReplaysSequence(
      "{name: evolution, seed: 21, evolution: {population: 3, "
      "sample_size: 2}}");
  // Children exist, so proposals depended on observed results.
  EXPECT_GE(Count("SELECT count(*) FROM candidates WHERE parent_id IS NOT "
                  "NULL AND experiment_id = (SELECT max(id) FROM experiments)"),
            1);
}

// The same for REINFORCE: the policy lives in the controller process
// (LibTorch), is rebuilt after the SIGKILL by replaying the stored results
// into fresh Adam steps, and proposes the same sequence. A high learning
// rate makes every proposal depend on the results observed before it.
TEST_F(Cluster, RestartedReinforceProposesTheSameSequence) {
  CheckRestartReplaysSequence(
      "{name: reinforce, seed: 23, reinforce: {learning_rate: 0.2, "
      "hidden_size: 8}}");
}

// duplicates: retrain. Random search with the first seed that repeats a
// genotype within its first 6 proposals (found here the way
// controller/strategies/random_strategy.cc draws: SearchSpace::Sample on an
// mt19937_64 seeded with the strategy seed); one trial at a time, so the
// repeat is proposed after the first is stored: it must be trained again,
// as a trial of its own, and name the first candidate.
TEST_F(Cluster, RetrainedDuplicateIsASecondTrialLinkedToTheFirst) {
  Nb201Space space;
  int64_t seed = 0;
  int repeat = -1;
  for (int64_t s = 1; repeat < 0 && s < 100000; ++s) {
    std::mt19937_64 rng(static_cast<uint64_t>(s));
    std::vector<std::vector<int>> drawn;
    for (int i = 0; i < 6 && repeat < 0; ++i) {
      drawn.push_back(space.Sample(rng));
      for (int j = 0; j < i; ++j) {
        if (drawn[j] == drawn[i]) repeat = i;
      }
    }
    seed = s;
  }
  ASSERT_GE(repeat, 1);
  StartWorker("w1");
  WaitForWorkers(1);
  const int trials = repeat + 1;
  v1::Experiment e;
  ASSERT_TRUE(
      Create(TinySpec(trials, 1, 10, 500, 1,
                      absl::StrCat("{name: random, seed: ", seed, "}")) +
                 "duplicates: retrain\n",
             &e)
          .ok());
  WaitFinished(e.id(), absl::Minutes(4));
  EXPECT_EQ(Get(e.id()).state(), v1::EXPERIMENT_SUCCEEDED);
  const std::string id = absl::StrCat(e.id());
  EXPECT_EQ(Count("SELECT count(*) FROM results WHERE experiment_id=" + id),
            trials);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE state='DUPLICATE' "
                  "AND experiment_id=" +
                  id),
            0);
  // The repeated genotype: two evaluated candidates, two trials, the later
  // one linked to the earlier one.
  EXPECT_EQ(Psql("SELECT count(*) || ':' || count(DISTINCT t.id) || ':' || "
                 "bool_and(c.state = 'EVALUATED') FROM candidates c JOIN "
                 "trials t ON t.candidate_id = c.id WHERE c.experiment_id=" +
                 id +
                 " AND c.arch_hash IN (SELECT arch_hash FROM "
                 "candidates WHERE experiment_id=" +
                 id + " GROUP BY arch_hash HAVING count(*) > 1)"),
            "2:2:true");
  EXPECT_EQ(Count("SELECT count(*) FROM candidates c JOIN candidates f ON "
                  "c.duplicate_of = f.id AND f.arch_hash = c.arch_hash AND "
                  "f.seq < c.seq WHERE c.experiment_id=" +
                  id),
            1);
}

TEST_F(Cluster, ControllerRestartResumesTheExperiment) {
  StartWorker("w1");
  WaitForWorkers(1);
  v1::Experiment e;
  // Evolution with a population of 2: the third candidate is a child of one
  // of the first two (proposed just before the kill, or from the population
  // rebuilt from PostgreSQL after the restart).
  ASSERT_TRUE(Create(TinySpec(3, 1, 10, 1000, 1,
                              "{name: evolution, seed: 5, evolution: "
                              "{population: 2, sample_size: 2}}"),
                     &e)
                  .ok());
  WaitForResults(e.id(), 2);
  KillController();
  StartController();
  WaitFinished(e.id(), absl::Minutes(5));
  EXPECT_EQ(Get(e.id()).state(), v1::EXPERIMENT_SUCCEEDED);
  CheckNoDuplicatesNoLoss(e.id(), 3);
  EXPECT_EQ(
      Count(absl::StrCat("SELECT count(*) FROM candidates WHERE experiment_id=",
                         e.id())),
      3);
  EXPECT_EQ(Psql(absl::StrCat(
                "SELECT seq || ':' || generation || ':' || "
                "(parent_id IN (SELECT id FROM candidates WHERE seq < 2 "
                "AND experiment_id=",
                e.id(),
                ")) FROM candidates WHERE "
                "parent_id IS NOT NULL AND experiment_id=",
                e.id())),
            "2:1:true");
}

// Final re-training (spec.final) and model export: the best search
// candidate is re-trained on train+validation and reported apart, the
// strategy never sees it, only the kept models are stored, and the exported
// TorchScript file, loaded by plain PyTorch (Debian's python3-torch),
// reproduces the stored test accuracy.
TEST_F(Cluster, FinalTrainingAndExportedModelLoadsInPython) {
  StartWorker("w1");
  WaitForWorkers(1);
  v1::Experiment e;
  grpc::Status s = Create(TinySpec(3, 1, 30, 2000, 1) +
                              "final: {top_k: 1, epochs: 2}\nkeep_models: 2\n",
                          &e);
  ASSERT_TRUE(s.ok()) << s.error_message();
  WaitFinished(e.id(), absl::Minutes(8));
  v1::Experiment done = Get(e.id());
  EXPECT_EQ(done.state(), v1::EXPERIMENT_SUCCEEDED) << done.error();
  EXPECT_EQ(done.phase(), "");
  EXPECT_EQ(done.counts().trials_succeeded(), 3);  // search trials only
  EXPECT_EQ(done.counts().final_trainings(), 1);
  EXPECT_EQ(done.counts().final_trainings_done(), 1);
  const std::string id = absl::StrCat(e.id());
  ASSERT_TRUE(done.has_best());
  const int64_t best = done.best().id();
  // One final row, re-training the best search candidate, with its own
  // trial that ran 2 epochs on train+validation and reported no val score.
  EXPECT_EQ(Psql("SELECT final_of FROM candidates WHERE final_of IS NOT NULL "
                 "AND experiment_id=" +
                 id),
            absl::StrCat(best));
  EXPECT_EQ(Count("SELECT count(*) FROM results r JOIN candidates c ON "
                  "c.id=r.candidate_id WHERE c.final_of IS NOT NULL AND "
                  "r.epochs=2 AND r.val_accuracy=0 AND r.test_accuracy>0.3 "
                  "AND c.experiment_id=" +
                  id),
            1);
  EXPECT_EQ(done.best().final_of(), 0);
  ASSERT_TRUE(done.best().has_final());
  EXPECT_EQ(done.best().final().epochs(), 2);
  // Models: the 2 best search candidates and the final re-training.
  EXPECT_EQ(Count("SELECT count(*) FROM artifacts WHERE kind='torchscript' "
                  "AND experiment_id=" +
                  id),
            3);
  const std::string worst = Psql(
      "SELECT id FROM candidates WHERE final_of IS NULL AND state='EVALUATED' "
      "AND experiment_id=" +
      id + " ORDER BY val_accuracy ASC, seq DESC LIMIT 1");
  int64_t worst_id = 0;
  ASSERT_TRUE(absl::SimpleAtoi(worst, &worst_id)) << worst;
  {
    grpc::ClientContext ctx;
    v1::ExportCandidateRequest req;
    req.set_experiment_id(e.id());
    req.set_candidate_id(worst_id);
    v1::ExportCandidateResponse resp;
    grpc::Status st = stub()->ExportCandidate(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND)
        << st.error_message();
  }
  // nasctl export writes the final re-training's model.
  const std::string model = dir() + "/best.pt";
  std::string out;
  ASSERT_EQ(testing::RunCommand(
                absl::StrCat(Binary("client/nasctl"),
                             " --controller=127.0.0.1:", port(), " export ",
                             e.id(), " ", best, " -f ", model, " 2>&1"),
                &out),
            0)
      << out;
  EXPECT_NE(out.find("final training"), std::string::npos) << out;
  // Plain PyTorch loads it and reproduces the stored test accuracy (the
  // same 500 test images) within 0.5 points.
  ASSERT_EQ(testing::RunCommand(
                absl::StrCat("/usr/bin/python3 ", NAS_SOURCE_DIR,
                             "/tests/e2e/check_torchscript.py ", model,
                             " /usr/share/datasets/fashion-mnist 500 2>&1"),
                &out),
            0)
      << "python3-torch must be installed (scripts/install-deps.sh): " << out;
  const size_t at = out.find("\"accuracy\": ");
  ASSERT_NE(at, std::string::npos) << out;
  double python_acc = -1;
  ASSERT_TRUE(absl::SimpleAtod(out.substr(at + 12, out.find(',', at) - at - 12),
                               &python_acc))
      << out;
  EXPECT_NEAR(python_acc, done.best().final().test_accuracy(), 0.005) << out;
  EXPECT_NE(out.find(done.best().genotype().canonical()), std::string::npos)
      << out;
  EXPECT_NE(out.find("Ankle boot"), std::string::npos) << out;
}

}  // namespace
}  // namespace nas

// --- TABULAR mode and the simulated-seconds budget ---------------------------

namespace nas {
namespace {

// A synthetic benchmark table over all 15,625 nb201 cells, written by the
// test (values in percent, like NAS-Bench-201's): convolutions raise
// accuracy, cost and FLOPs, so accuracy and FLOPs conflict.
struct SyntheticRow {
  std::vector<int> choices;
  double val = 0, test = 0, cost = 0, flops_m = 0;
};
SyntheticRow SyntheticCell(int index) {
  SyntheticRow r;
  int conv3 = 0, conv1 = 0, skip = 0, pool = 0;
  for (int e = 0, x = index; e < 6; ++e, x /= 5) {
    r.choices.push_back(x % 5);
    conv3 += x % 5 == 3;
    conv1 += x % 5 == 2;
    skip += x % 5 == 1;
    pool += x % 5 == 4;
  }
  r.val = 40 + 6 * conv3 + 4 * conv1 + 2 * skip + pool + (index % 97) * 0.001;
  r.test = r.val + 5;
  r.cost = 30 + 5 * conv3 + 2 * conv1 + index % 11;
  r.flops_m = 1 + 9 * conv3 + conv1 + (index % 13) * 0.01;
  return r;
}

std::string WriteSyntheticTable(const std::string& dir) {
  const SearchSpace* space = *GetSearchSpace("nb201");
  const std::string path = dir + "/synthetic_nb201.csv";
  std::ofstream out(path);
  out << std::setprecision(10);
  out << "index,arch,val_pct,test_pct,train_s,flops_m\n";
  for (int i = 0; i < 15625; ++i) {
    SyntheticRow r = SyntheticCell(i);
    out << i << "," << *space->Canonical(r.choices) << "," << r.val << ","
        << r.test << "," << r.cost << "," << r.flops_m << "\n";
  }
  return path;
}

int SyntheticIndex(const std::vector<int>& choices) {
  int index = 0;
  for (int e = 5; e >= 0; --e) index = index * 5 + choices[e];
  return index;
}

std::string TabularSpec(const std::string& table, const std::string& strategy,
                        int parallel, double seconds) {
  testing::SpecYaml spec;
  spec.name = "e2e-tabular";
  spec.strategy = strategy;
  spec.budget = absl::StrCat("{max_simulated_seconds: ", seconds,
                             ", parallel_trials: ", parallel, "}");
  spec.evaluation = testing::TabularLookup(table, 2, "flops_m");
  return spec.Yaml();
}

// One candidate row as stored, in seq order.
struct StoredCandidate {
  int seq = 0;
  std::string state;
  std::vector<int> choices;
  double simulated_seconds = 0;
  double val = 0;
  std::string reason;
};

class TabularCluster : public Cluster {
 protected:
  std::vector<StoredCandidate> Candidates(int64_t id) {
    std::vector<StoredCandidate> out;
    const std::string rows = Psql(
        absl::StrCat("SELECT seq, state, array_to_string(choices, ','), "
                     "coalesce(simulated_seconds, 0), coalesce(val_accuracy, "
                     "0), replace(reason, '|', '/') FROM candidates WHERE "
                     "experiment_id=",
                     id, " ORDER BY seq"));
    for (absl::string_view line : absl::StrSplit(rows, '\n')) {
      std::vector<std::string> f = absl::StrSplit(line, '|');
      if (f.size() != 6) {
        ADD_FAILURE() << "bad row: " << line;
        continue;
      }
      StoredCandidate c;
      c.seq = std::stoi(f[0]);
      c.state = f[1];
      for (absl::string_view x : absl::StrSplit(f[2], ',')) {
        c.choices.push_back(std::stoi(std::string(x)));
      }
      c.simulated_seconds = std::stod(f[3]);
      c.val = std::stod(f[4]);
      c.reason = f[5];
      out.push_back(std::move(c));
    }
    return out;
  }

  // Checks the budget rule against the table: walking the trained
  // candidates in seq order, exactly those whose running total stays within
  // `budget` are EVALUATED (with the table's values); the first that would
  // exceed it and every later one are CANCELLED (every later one only, when
  // the total meets the budget exactly). Returns the EVALUATED ones.
  std::vector<StoredCandidate> CheckBudgetRule(int64_t id, double budget,
                                               int parallel) {
    std::vector<StoredCandidate> counted;
    double total = 0;
    int past = 0;
    bool ended = false;
    bool exact = false;
    for (const StoredCandidate& c : Candidates(id)) {
      if (c.state == "DUPLICATE" || c.state == "REJECTED") continue;
      const SyntheticRow row = SyntheticCell(SyntheticIndex(c.choices));
      if (!ended && total + 2 * row.cost > budget) ended = true;
      if (ended) {
        ++past;
        EXPECT_EQ(c.state, "CANCELLED") << "seq " << c.seq;
        EXPECT_NE(c.reason.find("not counted"), std::string::npos) << c.reason;
        continue;
      }
      total += 2 * row.cost;
      EXPECT_EQ(c.state, "EVALUATED") << "seq " << c.seq;
      EXPECT_DOUBLE_EQ(c.simulated_seconds, 2 * row.cost) << "seq " << c.seq;
      EXPECT_NEAR(c.val, row.val / 100, 1e-9) << "seq " << c.seq;
      counted.push_back(c);
      // Spent exactly: the budget ends here and nothing crosses it.
      if (total >= budget) ended = exact = true;
    }
    EXPECT_TRUE(ended) << "the budget was never reached";
    // The crossing evaluation at least, unless the counted costs summed to
    // the budget exactly; with one trial at a time nothing else. (With
    // several in flight the number past the budget depends on timing:
    // proposals stop once the reported costs reach the budget.)
    if (!exact) EXPECT_GE(past, 1);
    if (parallel == 1) EXPECT_EQ(past, exact ? 0 : 1);
    EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM trials WHERE status IN "
                                 "('QUEUED', 'RUNNING') AND experiment_id=",
                                 id)),
              0);
    const v1::Experiment e = Get(id);
    EXPECT_EQ(e.state(), v1::EXPERIMENT_SUCCEEDED) << e.error();
    EXPECT_NEAR(e.simulated_seconds(), total, 1e-6);
    EXPECT_LE(e.simulated_seconds(), budget);
    EXPECT_EQ(e.counts().trials_succeeded(), static_cast<int>(counted.size()));
    // The best candidate is the best within the budget.
    double best = -1;
    for (const StoredCandidate& c : counted) best = std::max(best, c.val);
    EXPECT_NEAR(e.best().metrics().val_accuracy(), best, 1e-12);
    EXPECT_NEAR(e.best().metrics().test_accuracy(), best + 0.05, 1e-9);
    return counted;
  }
};

TEST_F(TabularCluster, SecondsBudgetEndsAtTheCrossingEvaluation) {
  const std::string table = WriteSyntheticTable(dir());
  StartWorker("t1");
  WaitForWorkers(1);
  v1::Experiment e;
  grpc::Status s =
      Create(TabularSpec(table, "{name: random, seed: 5}", 1, 1500), &e);
  ASSERT_TRUE(s.ok()) << s.error_message();
  WaitFinished(e.id(), absl::Minutes(2));
  std::vector<StoredCandidate> counted = CheckBudgetRule(e.id(), 1500, 1);
  EXPECT_GE(counted.size(), 5u);
  // One at a time: the crossing candidate is the last one proposed.
  std::vector<StoredCandidate> all = Candidates(e.id());
  EXPECT_EQ(all.back().state, "CANCELLED");
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM trials WHERE status = "
                               "'CANCELLED' AND experiment_id=",
                               e.id())),
            1);
  // The metrics are the table's, stored with the result too.
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM results r JOIN "
                               "candidates c ON c.id = r.candidate_id WHERE "
                               "r.simulated_seconds = c.simulated_seconds AND "
                               "r.device = 'table synthetic_nb201.csv' AND "
                               "r.experiment_id=",
                               e.id())),
            static_cast<int>(counted.size()) + 1);
}

// Parallel trials on several workers: results arrive out of order, yet the
// budget is decided in proposal order; the Pareto front (accuracy against
// the table's FLOPs) is exactly that of the evaluated candidates.
TEST_F(TabularCluster, ParallelEvolutionKeepsTheRuleAndTheParetoFront) {
  const std::string table = WriteSyntheticTable(dir());
  StartWorker("t1");
  StartWorker("t2");
  StartWorker("t3");
  WaitForWorkers(3);
  v1::Experiment e;
  ASSERT_TRUE(Create(TabularSpec(table,
                                 "{name: evolution, seed: 9, evolution: "
                                 "{population: 8, sample_size: 3}}",
                                 4, 3000),
                     &e)
                  .ok());
  WaitFinished(e.id(), absl::Minutes(3));
  std::vector<StoredCandidate> counted = CheckBudgetRule(e.id(), 3000, 4);
  ASSERT_GE(counted.size(), 10u);
  // Exact front of the counted candidates: val up, FLOPs down.
  std::set<std::vector<int>> exact;
  for (const StoredCandidate& a : counted) {
    const SyntheticRow ra = SyntheticCell(SyntheticIndex(a.choices));
    bool dominated = false;
    for (const StoredCandidate& b : counted) {
      const SyntheticRow rb = SyntheticCell(SyntheticIndex(b.choices));
      dominated = dominated || (rb.val >= ra.val && rb.flops_m <= ra.flops_m &&
                                (rb.val > ra.val || rb.flops_m < ra.flops_m));
    }
    if (!dominated) exact.insert(a.choices);
  }
  grpc::ClientContext ctx;
  v1::GetParetoFrontRequest req;
  req.set_experiment_id(e.id());
  req.add_minimize("macs");
  v1::GetParetoFrontResponse front;
  ASSERT_TRUE(stub()->GetParetoFront(&ctx, req, &front).ok());
  std::set<std::vector<int>> got;
  for (const v1::Candidate& c : front.front()) {
    got.insert(std::vector<int>(c.genotype().choices().begin(),
                                c.genotype().choices().end()));
    const SyntheticRow r = SyntheticCell(SyntheticIndex(std::vector<int>(
        c.genotype().choices().begin(), c.genotype().choices().end())));
    EXPECT_EQ(c.metrics().macs(), std::llround(r.flops_m * 1e6));
  }
  EXPECT_EQ(got, exact);
}

// A table missing on the workers: each trial fails naming the file, and an
// experiment without max_trials ends FAILED instead of retrying forever.
TEST_F(TabularCluster, MissingTableFailsTrialsNamingTheFile) {
  StartWorker("t1");
  WaitForWorkers(1);
  const std::string missing = dir() + "/no_such_table.csv";
  v1::Experiment e;
  ASSERT_TRUE(Create(TabularSpec(missing, "{name: random, seed: 2}", 2, 1000) +
                         "max_attempts: 1\n",
                     &e)
                  .ok());
  WaitFinished(e.id(), absl::Minutes(2));
  const v1::Experiment done = Get(e.id());
  EXPECT_EQ(done.state(), v1::EXPERIMENT_FAILED);
  EXPECT_NE(done.error().find("trials failed, 0 succeeded"), std::string::npos)
      << done.error();
  const std::string id = absl::StrCat(e.id());
  EXPECT_GE(Count("SELECT count(*) FROM candidates WHERE state = 'FAILED' AND "
                  "experiment_id=" +
                  id),
            10);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE state = 'FAILED' AND "
                  "reason NOT LIKE '%evaluation.tabular.path: ''" +
                  missing + "'' does not exist%' AND experiment_id=" + id),
            0);
}

// A declared (custom) space through the whole controller: proposals are
// written with the custom canonical string, duplicates are found by hash,
// nothing is REJECTED for lack of an analytic cost, and the worker looks
// the candidates up in a table keyed by the canonical string.
TEST_F(TabularCluster, CustomSpaceSearchEndToEnd) {
  const std::string space_yaml =
      "{name: custom, decisions: [{name: depth, choices: [1, 2, 3]}, "
      "{name: act, choices: [relu, gelu]}, {name: lr, choices: [0.001, "
      "0.003, 0.01, 0.03, 0.1]}, {name: width, choices: [16, 32, 64, 128]}]}";
  v1::SearchSpaceSpec ss;
  ss.set_name("custom");
  const std::vector<std::pair<std::string, std::vector<std::string>>> ds = {
      {"depth", {"1", "2", "3"}},
      {"act", {"relu", "gelu"}},
      {"lr", {"0.001", "0.003", "0.01", "0.03", "0.1"}},
      {"width", {"16", "32", "64", "128"}}};
  for (const auto& [name, choices] : ds) {
    v1::SpaceDecision* d = ss.add_decisions();
    d->set_name(name);
    for (const std::string& c : choices) d->add_choices(c);
  }
  std::shared_ptr<const SearchSpace> space = *MakeSearchSpace(ss);
  // Percent accuracy from the choices; every genotype's differs.
  auto val_pct = [](const std::vector<int>& c) {
    return 40.0 + 8 * c[0] + 4 * c[1] + 2 * c[2] + 0.1 * c[3];
  };
  const std::string table = dir() + "/custom.csv";
  std::map<std::string, double> expected;  // canonical -> val fraction
  {
    std::ofstream out(table);
    out << std::setprecision(10) << "arch,val_pct,test_pct,train_s\n";
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 2; ++b)
        for (int c = 0; c < 5; ++c)
          for (int d = 0; d < 4; ++d) {
            const std::vector<int> g = {a, b, c, d};
            const std::string key = *space->Canonical(g);
            out << key << "," << val_pct(g) << "," << val_pct(g) + 1 << ",10\n";
            expected[key] = val_pct(g) / 100;
          }
  }
  StartWorker("t1");
  WaitForWorkers(1);
  testing::SpecYaml spec;
  spec.name = "e2e-custom";
  spec.search_space = space_yaml;
  spec.strategy =
      "{name: evolution, seed: 4, evolution: {population: 6, "
      "sample_size: 3}}";
  spec.budget = "{max_trials: 25, parallel_trials: 1}";  // deterministic
  spec.evaluation = testing::TabularLookup(table, 1, "");
  v1::Experiment e;
  grpc::Status s = Create(spec.Yaml(), &e);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(WaitFinished(e.id(), absl::Minutes(3)));
  EXPECT_EQ(Get(e.id()).state(), v1::EXPERIMENT_SUCCEEDED)
      << Get(e.id()).error();
  const std::string id = absl::StrCat(e.id());
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE state = 'REJECTED' "
                  "AND experiment_id=" +
                  id),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE space <> 'custom' "
                  "AND experiment_id=" +
                  id),
            0);
  // One column (the canonical string holds psql's '|'), canonical last.
  const std::string rows = Psql(
      "SELECT state || ' ' || arch_hash || ' ' || coalesce(val_accuracy, 0) "
      "|| ' ' || canonical FROM candidates WHERE experiment_id=" +
      id + " ORDER BY seq");
  int evaluated = 0, duplicates = 0;
  std::map<std::string, std::string> first_by_hash;  // hash -> canonical
  for (absl::string_view line : absl::StrSplit(rows, '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(' ', 3));
    ASSERT_EQ(f.size(), 4u) << line;
    const std::string& state = f[0];
    const std::string& canonical = f[3];
    EXPECT_EQ(f[1], StableHash(canonical)) << canonical;
    ASSERT_EQ(expected.count(canonical), 1u) << canonical;
    NAS_EXPECT_OK(space->Parse(canonical));
    if (state == "EVALUATED") {
      ++evaluated;
      EXPECT_NEAR(std::stod(f[2]), expected[canonical], 1e-9) << canonical;
      EXPECT_EQ(first_by_hash.count(f[1]), 0u)
          << "evaluated twice: " << canonical;
      first_by_hash[f[1]] = canonical;
    } else {
      EXPECT_EQ(state, "DUPLICATE") << canonical;
      ++duplicates;
    }
  }
  EXPECT_EQ(evaluated, 25);
  // Aging evolution on 120 genotypes repeats itself; each repeat is linked
  // to the evaluated candidate of the same hash.
  EXPECT_GT(duplicates, 0);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates d JOIN candidates f ON "
                  "f.id = d.duplicate_of WHERE d.state = 'DUPLICATE' AND "
                  "f.arch_hash = d.arch_hash AND d.experiment_id=" +
                  id),
            Count("SELECT count(*) FROM candidates WHERE state = 'DUPLICATE' "
                  "AND duplicate_of IS NOT NULL AND experiment_id=" +
                  id));
}

}  // namespace
}  // namespace nas
