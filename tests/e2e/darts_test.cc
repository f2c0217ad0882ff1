// Differentiable search on the fleet (issue 20), end to end: a real
// PostgreSQL, nas-controller, two nas-worker processes and real LibTorch
// training on Fashion-MNIST. A darts experiment with 2 seeds queues two
// search trials; the worker running one of them is SIGKILLed after its
// search stored a checkpoint. Both searches must finish (the killed one
// resumed from its checkpoint by the other worker, not restarted), every
// epoch's architecture weights must be stored, and each derived cell must
// be trained standalone; checked in the database with psql and through
// nasctl searches (table and SVG).
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/testing/cluster.h"
#include "tests/testing/process.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::ReadLog;

constexpr int kEpochs = 4;

std::string Spec() {
  testing::SpecYaml spec;
  spec.name = "darts-e2e";
  spec.search_space = testing::TinyNb201();
  spec.strategy = absl::StrCat(
      "{name: darts, seed: 11, darts: {method: beta_darts, seeds: 2, "
      "epochs: ",
      kEpochs, ", arch_learning_rate: 0.003, checkpoint_every: 1}}");
  spec.budget = testing::TrialBudget(2, 2);
  spec.lease_seconds = 3;
  spec.evaluation = testing::FullTraining(1, 1200, 300, 300);
  return spec.Yaml();
}

class Darts : public ::testing::Test, public testing::LocalCluster {
 protected:
  void SetUp() override { NAS_ASSERT_OK(Start("darts")); }
  void TearDown() override { Finish(HasFailure(), 80); }
};

TEST_F(Darts, TwoSearchesSurviveAWorkerKillAndTheirCellsAreTrained) {
  ASSERT_TRUE(StartController());
  StartWorker("victim");
  StartWorker("w2");
  ASSERT_TRUE(WaitForWorkers(2));
  v1::Experiment e;
  grpc::Status created = Create(Spec(), &e);
  ASSERT_TRUE(created.ok()) << created.error_message();
  const std::string id = absl::StrCat(e.id());

  // The victim's search has stored a checkpoint (after an epoch < last).
  std::string killed;  // "trial|attempt|checkpoint epoch"
  ASSERT_TRUE(WaitFor(
      "victim's search to store a checkpoint",
      [&] {
        killed = Psql(absl::StrCat(
            "SELECT t.id || '|' || t.attempt || '|' || c.checkpoint_epoch "
            "FROM trials t JOIN candidates c ON c.id = t.candidate_id WHERE "
            "t.status = 'RUNNING' AND t.worker_id = 'victim' AND "
            "c.search_seed IS NOT NULL AND c.checkpoint_hash IS NOT NULL AND "
            "c.checkpoint_epoch < ",
            kEpochs, " LIMIT 1"));
        return !killed.empty();
      },
      absl::Minutes(4)));
  std::vector<std::string> f = absl::StrSplit(killed, '|');
  ASSERT_EQ(f.size(), 3u) << killed;
  int64_t trial = 0;
  int attempt = 0, checkpoint_epoch = 0;
  ASSERT_TRUE(absl::SimpleAtoi(f[0], &trial));
  ASSERT_TRUE(absl::SimpleAtoi(f[1], &attempt));
  ASSERT_TRUE(absl::SimpleAtoi(f[2], &checkpoint_epoch));
  worker("victim")->Signal(SIGKILL);
  ASSERT_TRUE(worker("victim")->WaitFor(absl::Seconds(10)).has_value());

  ASSERT_TRUE(WaitFinished(e.id(), absl::Minutes(8)));
  EXPECT_EQ(Psql("SELECT state FROM experiments WHERE id=" + id), "SUCCEEDED")
      << Psql("SELECT error FROM experiments WHERE id=" + id);
  // Both searches ended EVALUATED with every epoch's weights stored.
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE search_seed IS NOT "
                  "NULL AND state = 'EVALUATED' AND experiment_id=" +
                  id),
            2);
  EXPECT_EQ(Count("SELECT count(*) FROM search_epochs s JOIN candidates c ON "
                  "c.id = s.candidate_id WHERE array_length(s.arch_weights, "
                  "1) = 30 AND c.experiment_id=" +
                  id),
            2 * kEpochs);
  // The killed search moved to w2 and resumed after its checkpoint: its
  // second attempt reported no epoch up to the checkpoint's.
  EXPECT_EQ(
      Psql(absl::StrCat(
          "SELECT string_agg(attempt || ':' || worker_id || ':' || "
          "outcome, ' ' ORDER BY attempt) FROM trial_attempts WHERE "
          "trial_id=",
          trial)),
      absl::StrCat(attempt, ":victim:EXPIRED ", attempt + 1, ":w2:SUCCEEDED"));
  EXPECT_EQ(Count(absl::StrCat(
                "SELECT coalesce(min(epoch), 0) FROM trial_progress WHERE "
                "trial_id=",
                trial, " AND attempt=", attempt + 1)),
            checkpoint_epoch + 1);
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM trial_progress WHERE "
                               "trial_id=",
                               trial, " AND attempt=", attempt + 1)),
            kEpochs - checkpoint_epoch);
  // Checkpoints are deleted once their search ended.
  EXPECT_EQ(Count("SELECT count(*) FROM artifacts WHERE kind = "
                  "'checkpoint'"),
            0);
  // Each search's derived cell is a candidate linked to it, and every
  // derived cell was trained standalone (a duplicate is trained once).
  EXPECT_EQ(Count("SELECT count(*) FROM candidates d JOIN candidates s ON "
                  "s.id = d.search_of WHERE d.canonical = s.derived_canonical "
                  "AND d.experiment_id=" +
                  id),
            2);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates d WHERE d.search_of IS "
                  "NOT NULL AND d.experiment_id=" +
                  id +
                  " AND (d.state = 'EVALUATED' OR d.state = 'DUPLICATE' AND "
                  "EXISTS (SELECT 1 FROM candidates o WHERE o.id = "
                  "d.duplicate_of AND o.state = 'EVALUATED'))"),
            2);
  EXPECT_GE(Count("SELECT count(*) FROM results r JOIN candidates d ON d.id "
                  "= r.candidate_id WHERE d.search_of IS NOT NULL AND "
                  "d.experiment_id=" +
                  id),
            1);
  // The experiment's best is a derived cell with real test accuracy.
  v1::Experiment done = Get(e.id());
  EXPECT_NE(done.best().search_of(), 0);
  EXPECT_GT(done.best().metrics().test_accuracy(), 0.2);

  // nasctl searches: a row per search, and the weights' picture.
  const std::string svg = dir() + "/weights.svg";
  std::string out;
  const int rc = testing::RunCommand(
      absl::StrCat(testing::Binary("client/nasctl"), " --controller=",
                   address(), " searches ", id, " --svg ", svg, " 2>&1"),
      &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "DERIVED CELL")) << out;
  int evaluated_rows = 0;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    evaluated_rows += absl::StrContains(line, " EVALUATED ");
  }
  EXPECT_EQ(evaluated_rows, 2) << out;
  const std::string picture = testing::ReadFile(svg);
  // 2 searches x 6 edges, 5 operations per panel.
  int panels = 0, lines = 0;
  for (size_t at = 0;
       (at = picture.find("class=\"panel\"", at)) != std::string::npos; ++at) {
    ++panels;
  }
  for (size_t at = 0; (at = picture.find("<polyline", at)) != std::string::npos;
       ++at) {
    ++lines;
  }
  EXPECT_EQ(panels, 12);
  EXPECT_EQ(lines, 60);
}

}  // namespace
}  // namespace nas
