// Issue 22's store pieces against a throw-away PostgreSQL: the
// simulated-seconds counter of migration 0020 (listings read it instead of
// every trial) and the pruning of silent workers' rows.
#include <cmath>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/store/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/migrated_store_suite.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

std::string TestName() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

v1::ExperimentSpec MakeSpec(const std::string& name) {
  v1::ExperimentSpec spec;
  spec.set_name(name);
  spec.mutable_search_space()->set_name("nb201");
  spec.mutable_search_space()->mutable_nb201()->set_channels(16);
  spec.mutable_strategy()->set_name("random");
  spec.mutable_strategy()->set_seed(7);
  spec.mutable_objective()->set_metric("val_accuracy");
  spec.mutable_budget()->set_max_trials(10);
  spec.mutable_evaluation()->set_mode(v1::TABULAR);
  (*spec.mutable_required_labels())["test"] = name;
  return spec;
}

NewCandidate MakeCandidate(int i) {
  NewCandidate c = QueuedTestCandidate(i);
  c.macs = 1000;
  c.params = 100;
  return c;
}

v1::EvaluationMetrics Metrics(double seconds) {
  v1::EvaluationMetrics m;
  m.set_val_accuracy(0.5);
  m.set_test_accuracy(0.5);
  m.set_simulated_seconds(seconds);
  return m;
}

class StoreLimitsTest : public MigratedStoreSuite {
 protected:
  void SetUp() override { ASSERT_NE(store_, nullptr); }

  static void Sql(const std::string& sql) {
    pqxx::connection conn(server_->conninfo());
    pqxx::nontransaction txn(conn);
    txn.exec(sql);
  }
  static int64_t SqlInt(const std::string& sql) {
    pqxx::connection conn(server_->conninfo());
    pqxx::nontransaction txn(conn);
    return txn.exec1(sql)[0].as<int64_t>();
  }

  // The seconds ListTrialCosts adds up (what listings summed before 0020).
  static double WalkedSeconds(int64_t exp) {
    auto costs = store_->ListTrialCosts(exp, -1);
    EXPECT_TRUE(costs.ok()) << costs.status();
    double sum = 0;
    for (const TrialCost& t : *costs) {
      if (t.status == TrialStatus::kSucceeded) sum += t.simulated_seconds;
    }
    return sum;
  }
  static double CounterSeconds(int64_t exp) {
    auto totals = store_->CountExperimentTotals(exp);
    EXPECT_TRUE(totals.ok()) << totals.status();
    return totals.ok() ? totals->simulated_seconds : -1;
  }
};

// Results stored one by one and in a batch add their seconds; a fold keeps
// the sum; cancelling succeeded trials past a budget takes theirs out.
TEST_F(StoreLimitsTest, SimulatedSecondsCounterFollowsResults) {
  auto exp = store_->CreateExperiment(MakeSpec(TestName()), 1);
  NAS_ASSERT_OK(exp);
  std::vector<NewCandidate> cands;
  for (int i = 0; i < 4; ++i) cands.push_back(MakeCandidate(i));
  NAS_ASSERT_OK(store_->InsertCandidates(*exp, cands));
  const std::map<std::string, std::string> labels = {{"test", TestName()}};
  std::vector<int64_t> trials;
  for (int i = 0; i < 4; ++i) {
    auto t = store_->LeaseTrial("w", labels);
    NAS_ASSERT_OK(t);
    ASSERT_TRUE(t->has_value());
    trials.push_back((*t)->trial_id);
  }
  EXPECT_DOUBLE_EQ(CounterSeconds(*exp), 0);
  NAS_ASSERT_OK(store_->RecordResult(trials[0], 1, "w", Metrics(10)));
  EXPECT_DOUBLE_EQ(CounterSeconds(*exp), 10);
  const std::string worker = "w";
  const v1::EvaluationMetrics m1 = Metrics(20.25), m2 = Metrics(30.5);
  std::vector<Store::ResultToStore> batch(2);
  const std::string no_model;
  batch[0] = {trials[1], 1, &worker, &m1, &no_model};
  batch[1] = {trials[2], 1, &worker, &m2, &no_model};
  auto stored = store_->RecordResults(batch);
  NAS_ASSERT_OK(stored);
  for (const auto& s : *stored) NAS_EXPECT_OK(s.status);
  EXPECT_DOUBLE_EQ(CounterSeconds(*exp), 60.75);
  EXPECT_DOUBLE_EQ(WalkedSeconds(*exp), 60.75);
  NAS_ASSERT_OK(store_->FoldCounters(*exp));
  EXPECT_DOUBLE_EQ(CounterSeconds(*exp), 60.75);
  EXPECT_EQ(SqlInt(absl::StrCat("SELECT count(*) FROM "
                                "experiment_counter_deltas WHERE "
                                "experiment_id = ",
                                *exp)),
            0);
  // Seq 1 and later are past the budget: 20.25 and 30.5 leave the sum.
  NAS_ASSERT_OK(store_->FinishOverBudget(*exp, v1::EXPERIMENT_SUCCEEDED, "", 1,
                                         "not counted: test"));
  EXPECT_DOUBLE_EQ(CounterSeconds(*exp), 10);
  EXPECT_DOUBLE_EQ(WalkedSeconds(*exp), 10);
}

// A large experiment seeded with SQL (trials inserted already finished)
// is counted by the insert trigger; the counter read is one statement.
TEST_F(StoreLimitsTest, SimulatedSecondsOfSeededTrials) {
  auto exp = store_->CreateExperiment(MakeSpec(TestName()), 1);
  NAS_ASSERT_OK(exp);
  Sql(absl::StrCat(
      "WITH c AS (INSERT INTO candidates (experiment_id, seq, space, "
      "canonical, choices, arch_hash, state, simulated_seconds, val_accuracy) "
      "SELECT ",
      *exp,
      ", g, 'nb201', 'x' || g, '{0,0,0,0,0,0}', 'h' || g, 'EVALUATED', "
      "0.5, g / 20000.0 FROM generate_series(0, 19999) g RETURNING id, "
      "experiment_id) "
      "INSERT INTO trials (experiment_id, candidate_id, status, "
      "max_attempts, lease_seconds) "
      "SELECT experiment_id, id, 'SUCCEEDED', 3, 60 FROM c"));
  EXPECT_DOUBLE_EQ(CounterSeconds(*exp), 10000);
  EXPECT_DOUBLE_EQ(WalkedSeconds(*exp), 10000);
  auto totals = store_->CountExperimentTotals(*exp);
  NAS_ASSERT_OK(totals);
  EXPECT_EQ(totals->counts.candidates(), 20000);
  EXPECT_EQ(totals->counts.trials_succeeded(), 20000);
  // The listing's best candidate without the count (an index read).
  CandidateQuery q;
  q.experiment_id = *exp;
  q.state = v1::CANDIDATE_EVALUATED;
  q.order_by = "-val_accuracy";
  q.limit = 1;
  q.search_only = true;
  q.count_total = false;
  auto best = store_->ListCandidates(q);
  NAS_ASSERT_OK(best);
  EXPECT_EQ(best->total, -1);
  ASSERT_EQ(best->candidates.size(), 1u);
  EXPECT_EQ(best->candidates[0].seq(), 19999);
}

// Silent rows without a RUNNING trial go; a silent worker holding a lease,
// one this controller saw lately and a fresh one stay.
TEST_F(StoreLimitsTest, PruneWorkersKeepsLiveAndLeaseHolders) {
  const std::string p = TestName();
  for (const char* w : {"-silent", "-leasing", "-seen", "-fresh"}) {
    v1::RegisterWorkerRequest r;
    r.set_worker_id(p + w);
    (*r.mutable_labels())["test"] = p;
    NAS_ASSERT_OK(store_->UpsertWorker(r));
  }
  auto exp = store_->CreateExperiment(MakeSpec(p), 1);
  NAS_ASSERT_OK(exp);
  NAS_ASSERT_OK(store_->InsertCandidates(*exp, {MakeCandidate(0)}));
  auto leased = store_->LeaseTrial(p + "-leasing", {{"test", p}});
  NAS_ASSERT_OK(leased);
  ASSERT_TRUE(leased->has_value());
  Sql(
      absl::StrCat("UPDATE workers SET last_seen_at = now() - interval "
                   "'2 hours' WHERE worker_id IN ('",
                   p, "-silent', '", p, "-leasing', '", p, "-seen')"));
  auto pruned = store_->PruneWorkers({p + "-seen"}, absl::Hours(1));
  NAS_ASSERT_OK(pruned);
  EXPECT_GE(*pruned, 1);
  EXPECT_THAT(store_->GetWorkerLabels(p + "-silent"),
              StatusIs(absl::StatusCode::kNotFound, "not registered"));
  NAS_EXPECT_OK(store_->GetWorkerLabels(p + "-leasing"));
  NAS_EXPECT_OK(store_->GetWorkerLabels(p + "-seen"));
  NAS_EXPECT_OK(store_->GetWorkerLabels(p + "-fresh"));
  // A worker id that needs JSON escaping is touched like any other.
  NAS_EXPECT_OK(store_->PruneWorkers({"a\"b\\c'd"}, absl::Hours(1)));
}

}  // namespace
}  // namespace nas
