// Integration tests of nas::Store against a throw-away PostgreSQL server.
// Every test creates its own experiments, each requiring a label unique to
// the test, so that tests sharing the suite's server never lease each
// other's trials.
#include "controller/store/store.h"

#include <google/protobuf/util/message_differencer.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/migrated_store_suite.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::PostgresServer;
using ::nas::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::UnorderedElementsAre;

const char kMigrationsDir[] = NAS_SOURCE_DIR "/migrations";

std::string TestName() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

v1::ExperimentSpec MakeSpec(const std::string& name, int max_attempts = 3,
                            int lease_seconds = 60) {
  v1::ExperimentSpec spec;
  spec.set_name(name);
  spec.mutable_search_space()->set_name("nb201");
  spec.mutable_search_space()->mutable_nb201()->set_channels(16);
  spec.mutable_strategy()->set_name("random");
  spec.mutable_strategy()->set_seed(7);
  spec.mutable_objective()->set_metric("val_accuracy");
  spec.mutable_budget()->set_max_trials(10);
  spec.mutable_evaluation()->set_mode(v1::FULL);
  spec.mutable_evaluation()->set_epochs(2);
  spec.mutable_evaluation()->set_learning_rate(0.05);
  (*spec.mutable_required_labels())["test"] = name;
  spec.set_lease_seconds(lease_seconds);
  spec.set_max_attempts(max_attempts);
  return spec;
}

NewCandidate MakeCandidate(int i,
                           v1::CandidateState state = v1::CANDIDATE_QUEUED) {
  NewCandidate c = QueuedTestCandidate(i);
  c.state = state;
  c.macs = 1000 * (10 - i);
  c.params = 100 + i;
  c.strategy_data = absl::StrCat("{\"i\": ", i, "}");
  c.observed_results = i;
  return c;
}

v1::EvaluationMetrics MakeMetrics(double val) {
  v1::EvaluationMetrics m;
  m.set_val_accuracy(val);
  m.set_test_accuracy(val - 0.01);
  m.set_macs(12345);
  m.set_params(678);
  m.set_latency_ms(1.25);
  m.set_latency_iqr_ms(0.1);
  m.set_train_seconds(12.5);
  m.set_epochs(2);
  m.set_device("cpu (2 threads)");
  m.set_train_loss(0.3);
  m.set_throughput_images_per_second(2048.5);
  m.set_train_images_per_second(512.25);
  return m;
}

// Protos with maps serialize in no fixed order: compare field by field.
bool SameMessage(const google::protobuf::Message& a,
                 const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

// One trial_attempts row as the tests compare it: attempt, worker_id,
// outcome, error, ended_at IS NOT NULL.
using AttemptRow = std::tuple<int, std::string, std::string, std::string, bool>;

AttemptRow Attempt(int attempt, const std::string& worker,
                   const std::string& outcome, const std::string& error,
                   bool ended) {
  return {attempt, worker, outcome, error, ended};
}

// The history of a trial, by attempt.
std::vector<AttemptRow> Attempts(const std::string& conninfo,
                                 int64_t trial_id) {
  pqxx::connection conn(conninfo);
  pqxx::nontransaction txn(conn);
  std::vector<AttemptRow> out;
  for (const pqxx::row& row : txn.exec_params(
           "SELECT attempt, worker_id, outcome, error, ended_at IS NOT NULL "
           "FROM trial_attempts WHERE trial_id = $1 ORDER BY attempt",
           trial_id)) {
    out.push_back(Attempt(row[0].as<int>(), row[1].as<std::string>(),
                          row[2].as<std::string>(), row[3].as<std::string>(),
                          row[4].as<bool>()));
  }
  return out;
}

// Every column of every attempt row of a trial, as text (for "unchanged").
std::string AttemptsText(const std::string& conninfo, int64_t trial_id) {
  pqxx::connection conn(conninfo);
  pqxx::nontransaction txn(conn);
  return txn
      .exec_params1(
          "SELECT coalesce(string_agg(a::text, ';' ORDER BY attempt), '') "
          "FROM trial_attempts a WHERE trial_id = $1",
          trial_id)[0]
      .as<std::string>();
}

// Whether the current attempt's row has the trial's lease_until and
// started_at.
bool AttemptMatchesTrial(const std::string& conninfo, int64_t trial_id) {
  pqxx::connection conn(conninfo);
  pqxx::nontransaction txn(conn);
  pqxx::result r = txn.exec_params(
      "SELECT a.lease_until IS NOT DISTINCT FROM t.lease_until AND "
      "a.started_at = t.started_at FROM trials t JOIN trial_attempts a ON "
      "a.trial_id = t.id AND a.attempt = t.attempt WHERE t.id = $1",
      trial_id);
  return r.size() == 1 && r[0][0].as<bool>();
}

// --- migrations
// ----------------------------------------------------------------

TEST(StoreOpenTest, DeadPortIsUnavailable) {
  StoreOptions options;
  options.conninfo = absl::StrCat("host=127.0.0.1 port=", testing::FreePort(),
                                  " dbname=nas user=nas connect_timeout=2");
  EXPECT_THAT(Store::Open(options),
              StatusIs(absl::StatusCode::kUnavailable, "connect"));
}

class MigrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }

  // A new empty database on the suite's server; returns its conninfo.
  static std::string NewDatabase(const std::string& name) {
    pqxx::connection conn(server_->conninfo());
    pqxx::nontransaction txn(conn);
    txn.exec("CREATE DATABASE " + txn.quote_name(name));
    return absl::StrCat("host=127.0.0.1 port=", server_->port(),
                        " dbname=", name, " user=nas");
  }

  static PostgresServer* server_;
};
PostgresServer* MigrationTest::server_ = nullptr;

// Versions of every migration file in kMigrationsDir, ascending.
std::vector<int> AllVersions() {
  std::vector<int> out;
  for (const auto& f : std::filesystem::directory_iterator(kMigrationsDir)) {
    const std::string name = f.path().filename().string();
    int v = 0;
    if (f.path().extension() == ".sql" && name.size() > 4 &&
        absl::SimpleAtoi(name.substr(0, 4), &v)) {
      out.push_back(v);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(MigrationTest, AppliesOnceAndIsIdempotent) {
  auto store = Store::Open({NewDatabase("once"), 2});
  NAS_ASSERT_OK(store);
  auto applied = (*store)->Migrate(kMigrationsDir);
  NAS_ASSERT_OK(applied);
  ASSERT_GE(AllVersions().size(), 4u);
  EXPECT_THAT(*applied, ::testing::ElementsAreArray(AllVersions()));
  auto again = (*store)->Migrate(kMigrationsDir);
  NAS_ASSERT_OK(again);
  EXPECT_THAT(*again, IsEmpty());
  // The schema is usable.
  EXPECT_THAT(
      (*store)->ListRunningExperimentIds(),
      ::testing::Property(&absl::StatusOr<std::vector<int64_t>>::ok, true));
}

TEST_F(MigrationTest, ConcurrentMigrationsApplyEachVersionOnce) {
  const std::string conninfo = NewDatabase("concurrent");
  auto a = Store::Open({conninfo, 1});
  auto b = Store::Open({conninfo, 1});
  NAS_ASSERT_OK(a);
  NAS_ASSERT_OK(b);
  absl::StatusOr<std::vector<int>> ra, rb;
  std::thread ta([&] { ra = (*a)->Migrate(kMigrationsDir); });
  std::thread tb([&] { rb = (*b)->Migrate(kMigrationsDir); });
  ta.join();
  tb.join();
  NAS_ASSERT_OK(ra);
  NAS_ASSERT_OK(rb);
  std::vector<int> all = *ra;
  all.insert(all.end(), rb->begin(), rb->end());
  EXPECT_THAT(all, ::testing::UnorderedElementsAreArray(AllVersions()));
}

TEST_F(MigrationTest, MissingDirectoryIsInvalidArgument) {
  auto store = Store::Open({server_->conninfo(), 1});
  NAS_ASSERT_OK(store);
  EXPECT_THAT((*store)->Migrate("/nonexistent/migrations"),
              StatusIs(absl::StatusCode::kInvalidArgument, "migrations_dir"));
}

// An upgraded database: trials in every state under 0001 (driven there by
// SQL as the 0001-era store left them, since the current store writes
// trial_attempts), then 0002 backfills one attempt row per leased trial.
TEST_F(MigrationTest, TrialAttemptsBackfillFromTrials) {
  namespace fs = std::filesystem;
  std::string dir_template =
      (fs::temp_directory_path() / "nas-migrations-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir_template.data()), nullptr);
  const fs::path dir = dir_template;
  const fs::path source = kMigrationsDir;
  // Every migration but 0002 (the later ones add columns the current store
  // reads and writes, and do not touch trial history) goes first; 0002
  // comes later, as an upgrade.
  std::vector<int> first;
  for (const auto& f : fs::directory_iterator(source)) {
    const std::string name = f.path().filename().string();
    if (f.path().extension() != ".sql" || name.rfind("0002_", 0) == 0) {
      continue;
    }
    fs::copy_file(f.path(), dir / name);
    first.push_back(std::stoi(name.substr(0, 4)));
  }
  std::sort(first.begin(), first.end());

  const std::string conninfo = NewDatabase("backfill");
  auto store = Store::Open({conninfo, 2});
  NAS_ASSERT_OK(store);
  auto applied = (*store)->Migrate(dir.string());
  NAS_ASSERT_OK(applied);
  ASSERT_THAT(*applied, ::testing::ElementsAreArray(first));

  auto exp_a = (*store)->CreateExperiment(MakeSpec("BackfillA"), 1);
  NAS_ASSERT_OK(exp_a);
  std::vector<NewCandidate> cands;
  for (int i = 0; i < 5; ++i) cands.push_back(MakeCandidate(i));
  NAS_ASSERT_OK((*store)->InsertCandidates(*exp_a, cands));
  auto exp_b = (*store)->CreateExperiment(MakeSpec("BackfillB"), 1);
  NAS_ASSERT_OK(exp_b);
  NAS_ASSERT_OK((*store)->InsertCandidates(*exp_b, {MakeCandidate(0)}));

  std::vector<int64_t> t;  // t[0..4]: experiment A, t[5]: B
  {
    pqxx::connection conn(conninfo);
    pqxx::work txn(conn);
    for (const pqxx::row& row : txn.exec_params(
             "SELECT id FROM trials WHERE experiment_id IN ($1, $2) "
             "ORDER BY experiment_id, id",
             *exp_a, *exp_b)) {
      t.push_back(row[0].as<int64_t>());
    }
    ASSERT_EQ(t.size(), 6u);
    const char kSet[] =
        "UPDATE trials SET status = $2, attempt = $3, worker_id = $4, "
        "error = $5, started_at = now() - interval '10 minutes', "
        "lease_until = CASE WHEN $2 = 'RUNNING' THEN now() + interval '1 "
        "hour' END, finished_at = CASE WHEN $2 IN ('QUEUED', 'RUNNING') THEN "
        "NULL ELSE now() - interval '1 minute' END WHERE id = $1";
    // t[0]: never leased. t[1]: running its 2nd attempt; the error is the
    // 1st attempt's, left behind by the 0001-era store.
    txn.exec_params0(kSet, t[1], "RUNNING", 2, "wA", "oom");
    txn.exec_params0(kSet, t[2], "SUCCEEDED", 1, "wB", "");
    txn.exec_params0(kSet, t[3], "QUEUED", 1, nullptr,
                     "lease of attempt 1 expired");
    txn.exec_params0(kSet, t[4], "FAILED", 3, "wC",
                     "nan loss (after 3 attempts)");
    txn.exec_params0(kSet, t[5], "QUEUED", 1, nullptr,
                     "lease of attempt 1 expired");
    txn.commit();
  }
  // Cancels t[5] (QUEUED, attempt 1).
  NAS_ASSERT_OK((*store)->FinishExperiment(*exp_b, v1::EXPERIMENT_STOPPED, ""));

  fs::copy_file(source / "0002_trial_attempts.sql",
                dir / "0002_trial_attempts.sql");
  applied = (*store)->Migrate(dir.string());
  NAS_ASSERT_OK(applied);
  EXPECT_THAT(*applied, ElementsAre(2));

  EXPECT_THAT(Attempts(conninfo, t[0]), IsEmpty());
  EXPECT_THAT(Attempts(conninfo, t[1]),
              ElementsAre(Attempt(2, "wA", "RUNNING", "", false)));
  EXPECT_TRUE(AttemptMatchesTrial(conninfo, t[1]));
  EXPECT_THAT(Attempts(conninfo, t[2]),
              ElementsAre(Attempt(1, "wB", "SUCCEEDED", "", true)));
  EXPECT_THAT(Attempts(conninfo, t[3]),
              ElementsAre(Attempt(1, "", "EXPIRED",
                                  "lease of attempt 1 expired", true)));
  EXPECT_THAT(Attempts(conninfo, t[4]),
              ElementsAre(Attempt(3, "wC", "FAILED",
                                  "nan loss (after 3 attempts)", true)));
  EXPECT_THAT(Attempts(conninfo, t[5]),
              ElementsAre(Attempt(1, "", "CANCELLED",
                                  "lease of attempt 1 expired", true)));
  {
    pqxx::connection conn(conninfo);
    pqxx::nontransaction txn(conn);
    // Ended attempts end at the trial's finished_at when it has one.
    EXPECT_TRUE(txn.exec_params1(
                       "SELECT a.ended_at = t.finished_at FROM trials t JOIN "
                       "trial_attempts a ON a.trial_id = t.id WHERE t.id = $1",
                       t[2])[0]
                    .as<bool>());
  }

  // The upgraded database works with the current store: the running
  // attempt reports, the requeued trial is leased again.
  auto stored = (*store)->RecordResult(t[1], 2, "wA", MakeMetrics(0.7));
  NAS_ASSERT_OK(stored);
  EXPECT_EQ(*stored, ReportOutcome::kStored);
  EXPECT_THAT(Attempts(conninfo, t[1]),
              ElementsAre(Attempt(2, "wA", "SUCCEEDED", "", true)));
  for (int i = 0; i < 2; ++i) {  // t[0], then t[3]
    auto leased = (*store)->LeaseTrial("wD", {{"test", "BackfillA"}});
    NAS_ASSERT_OK(leased);
    ASSERT_TRUE(leased->has_value());
    EXPECT_EQ((*leased)->trial_id, t[i == 0 ? 0 : 3]);
  }
  EXPECT_THAT(Attempts(conninfo, t[0]),
              ElementsAre(Attempt(1, "wD", "RUNNING", "", false)));
  EXPECT_THAT(
      Attempts(conninfo, t[3]),
      ElementsAre(Attempt(1, "", "EXPIRED", "lease of attempt 1 expired", true),
                  Attempt(2, "wD", "RUNNING", "", false)));

  std::error_code ec;
  fs::remove_all(dir, ec);
}

// --- the store ---------------------------------------------------------------

class StoreTest : public MigratedStoreSuite {
 protected:
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(store_, nullptr);
  }

  // Labels of a worker that may run this test's experiments.
  static std::map<std::string, std::string> Labels() {
    return {{"test", TestName()}};
  }

  // Creates an experiment with `n` QUEUED candidates; returns its id.
  static int64_t NewExperiment(int n, int max_attempts = 3,
                               std::vector<int64_t>* candidate_ids = nullptr) {
    auto id = store_->CreateExperiment(MakeSpec(TestName(), max_attempts), 42);
    EXPECT_TRUE(id.ok()) << id.status();
    std::vector<NewCandidate> cands;
    for (int i = 0; i < n; ++i) cands.push_back(MakeCandidate(i));
    auto ids = store_->InsertCandidates(*id, cands);
    EXPECT_TRUE(ids.ok()) << ids.status();
    if (candidate_ids != nullptr) *candidate_ids = *ids;
    return *id;
  }

  // Runs one SQL statement with a separate connection (test set-up only).
  static void Sql(const std::string& sql) {
    pqxx::connection conn(server_->conninfo());
    pqxx::nontransaction txn(conn);
    txn.exec(sql);
  }
  static void ExpireLease(int64_t trial_id) {
    Sql(absl::StrCat(
        "UPDATE trials SET lease_until = now() - interval '1 second' WHERE "
        "id = ",
        trial_id));
  }

  static v1::Candidate GetCandidate(int64_t experiment_id, int64_t id) {
    CandidateQuery q;
    q.experiment_id = experiment_id;
    q.limit = 1000;
    auto page = store_->ListCandidates(q);
    EXPECT_TRUE(page.ok()) << page.status();
    for (const v1::Candidate& c : page->candidates) {
      if (c.id() == id) return c;
    }
    ADD_FAILURE() << "candidate " << id << " not listed";
    return {};
  }
};

TEST_F(StoreTest, ExperimentRoundTrip) {
  const v1::ExperimentSpec spec = MakeSpec(TestName());
  const absl::Time before = absl::Now() - absl::Seconds(5);
  auto id = store_->CreateExperiment(spec, 1234);
  NAS_ASSERT_OK(id);
  auto second = store_->CreateExperiment(MakeSpec(TestName() + "2"), 5);
  NAS_ASSERT_OK(second);

  auto got = store_->GetExperiment(*id);
  NAS_ASSERT_OK(got);
  EXPECT_EQ(got->id, *id);
  EXPECT_TRUE(SameMessage(got->spec, spec)) << got->spec.DebugString();
  EXPECT_EQ(got->seed, 1234);
  EXPECT_EQ(got->state, v1::EXPERIMENT_RUNNING);
  EXPECT_GT(got->created_at, before);
  EXPECT_LT(got->created_at, absl::Now() + absl::Seconds(5));
  EXPECT_FALSE(got->finished_at.has_value());

  auto list = store_->ListExperiments(0, 2);
  NAS_ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, *second);  // newest first
  EXPECT_EQ((*list)[1].id, *id);
  auto older = store_->ListExperiments(*second, 10);
  NAS_ASSERT_OK(older);
  ASSERT_FALSE(older->empty());
  EXPECT_EQ((*older)[0].id, *id);

  auto running = store_->ListRunningExperimentIds();
  NAS_ASSERT_OK(running);
  EXPECT_THAT(*running, ::testing::IsSupersetOf({*id, *second}));

  EXPECT_THAT(store_->GetExperiment(999999),
              StatusIs(absl::StatusCode::kNotFound, "999999"));
  EXPECT_THAT(store_->ListExperiments(0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, "limit"));
}

TEST_F(StoreTest, InsertCandidatesQueuesOnlyQueuedOnes) {
  auto exp = store_->CreateExperiment(MakeSpec(TestName()), 1);
  NAS_ASSERT_OK(exp);
  NewCandidate rejected = MakeCandidate(1, v1::CANDIDATE_REJECTED);
  rejected.reason = "macs above limit";
  auto first = store_->InsertCandidates(*exp, {MakeCandidate(0), rejected});
  NAS_ASSERT_OK(first);
  ASSERT_EQ(first->size(), 2u);
  NewCandidate dup = MakeCandidate(0, v1::CANDIDATE_DUPLICATE);
  dup.duplicate_of = (*first)[0];
  NewCandidate child = MakeCandidate(3);
  child.parent_id = (*first)[0];
  child.generation = 1;
  auto second = store_->InsertCandidates(*exp, {dup, child});
  NAS_ASSERT_OK(second);
  ASSERT_EQ(second->size(), 2u);

  CandidateQuery q;
  q.experiment_id = *exp;
  auto page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  ASSERT_EQ(page->total, 4);
  ASSERT_EQ(page->candidates.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(page->candidates[i].seq(), i);
  EXPECT_EQ(page->candidates[0].state(), v1::CANDIDATE_QUEUED);
  EXPECT_TRUE(
      SameMessage(page->candidates[0].genotype(), MakeCandidate(0).genotype));
  EXPECT_EQ(page->candidates[0].macs(), 10000);
  EXPECT_EQ(page->candidates[1].state(), v1::CANDIDATE_REJECTED);
  EXPECT_EQ(page->candidates[1].reason(), "macs above limit");
  EXPECT_EQ(page->candidates[2].state(), v1::CANDIDATE_DUPLICATE);
  EXPECT_EQ(page->candidates[2].duplicate_of(), (*first)[0]);
  EXPECT_EQ(page->candidates[3].parent_id(), (*first)[0]);
  EXPECT_EQ(page->candidates[3].generation(), 1);
  EXPECT_FALSE(page->candidates[0].has_metrics());

  auto counts = store_->CountExperiment(*exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->candidates(), 4);
  EXPECT_EQ(counts->trials_queued(), 2);
  EXPECT_EQ(counts->rejected(), 1);
  EXPECT_EQ(counts->duplicates(), 1);

  // The first non-duplicate with the hash.
  EXPECT_THAT(store_->FindCandidateByHash(*exp, "hash0").value(),
              Optional((*first)[0]));
  EXPECT_EQ(store_->FindCandidateByHash(*exp, "nope").value(), std::nullopt);

  auto proposals = store_->ListProposals(*exp);
  NAS_ASSERT_OK(proposals);
  ASSERT_EQ(proposals->size(), 4u);
  EXPECT_EQ((*proposals)[3].genotype.hash(), "hash3");
  EXPECT_THAT((*proposals)[3].genotype.choices(),
              ElementsAre(3, 4, 0, 1, 2, 3));
  EXPECT_EQ((*proposals)[3].observed_results, 3);

  EXPECT_THAT(store_->InsertCandidates(
                  *exp, {MakeCandidate(9, v1::CANDIDATE_EVALUATED)}),
              StatusIs(absl::StatusCode::kInvalidArgument, "state"));
  EXPECT_THAT(store_->InsertCandidates(999999, {MakeCandidate(9)}),
              StatusIs(absl::StatusCode::kNotFound, "999999"));
}

TEST_F(StoreTest, LeaseRespectsRequiredLabels) {
  v1::ExperimentSpec spec = MakeSpec(TestName());
  (*spec.mutable_required_labels())["gpu"] = "h100";
  auto exp = store_->CreateExperiment(spec, 1);
  NAS_ASSERT_OK(exp);
  auto ids = store_->InsertCandidates(*exp, {MakeCandidate(0)});
  NAS_ASSERT_OK(ids);

  auto none = store_->LeaseTrial("a100-worker",
                                 {{"test", TestName()}, {"gpu", "a100"}});
  NAS_ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  auto unlabeled = store_->LeaseTrial("plain-worker", {});
  NAS_ASSERT_OK(unlabeled);
  EXPECT_FALSE(unlabeled->has_value());

  const absl::Time before = absl::Now();
  auto leased = store_->LeaseTrial(
      "h100-worker", {{"test", TestName()}, {"gpu", "h100"}, {"zone", "eu"}});
  NAS_ASSERT_OK(leased);
  ASSERT_TRUE(leased->has_value());
  const LeasedTrial& t = **leased;
  EXPECT_EQ(t.attempt, 1);
  EXPECT_EQ(t.experiment_id, *exp);
  EXPECT_EQ(t.candidate_id, (*ids)[0]);
  EXPECT_EQ(t.genotype.hash(), "hash0");
  EXPECT_TRUE(SameMessage(t.spec, spec)) << t.spec.DebugString();
  EXPECT_GT(t.lease_until, before + absl::Seconds(50));

  const v1::Candidate c = GetCandidate(*exp, t.candidate_id);
  EXPECT_EQ(c.state(), v1::CANDIDATE_RUNNING);
  EXPECT_EQ(c.attempts(), 1);
  auto counts = store_->CountExperiment(*exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->trials_running(), 1);
  EXPECT_EQ(counts->trials_queued(), 0);

  // Nothing left.
  auto empty = store_->LeaseTrial("h100-worker",
                                  {{"test", TestName()}, {"gpu", "h100"}});
  NAS_ASSERT_OK(empty);
  EXPECT_FALSE(empty->has_value());
}

TEST_F(StoreTest, PerWorkerLeaseLimitRefusesNamingTheHeldTrials) {
  auto exp = store_->CreateExperiment(MakeSpec(TestName()), 1);
  NAS_ASSERT_OK(exp);
  NAS_ASSERT_OK(store_->InsertCandidates(
      *exp, {MakeCandidate(0), MakeCandidate(1), MakeCandidate(2)}));
  const std::map<std::string, std::string> labels = {{"test", TestName()}};
  auto first = store_->LeaseTrial("w-limit", labels, 1);
  NAS_ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  const std::string held = absl::StrCat((*first)->trial_id);
  // At the limit: refused, naming the trial held; nothing else leased.
  EXPECT_THAT(
      store_->LeaseTrial("w-limit", labels, 1),
      StatusIs(absl::StatusCode::kResourceExhausted,
               absl::StrCat("already holds 1 lease(s) (trial ", held, ")")));
  auto counts = store_->CountExperiment(*exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->trials_running(), 1);
  EXPECT_EQ(counts->trials_queued(), 2);
  // Other workers, and a higher limit, still lease.
  auto other = store_->LeaseTrial("w-other", labels, 1);
  NAS_ASSERT_OK(other);
  EXPECT_TRUE(other->has_value());
  auto second = store_->LeaseTrial("w-limit", labels, 2);
  NAS_ASSERT_OK(second);
  EXPECT_TRUE(second->has_value());
  // Reporting frees the slot.
  NAS_ASSERT_OK(store_->RecordFailure((*first)->trial_id, (*first)->attempt,
                                      "w-limit", "boom", nullptr));
  auto after = store_->LeaseTrial("w-limit", labels, 2);
  NAS_ASSERT_OK(after);
}

TEST_F(StoreTest, BatchedLeaseGivesTheOldestTrialsInCallOrderWithinLimits) {
  auto exp = store_->CreateExperiment(MakeSpec(TestName()), 1);
  NAS_ASSERT_OK(exp);
  std::vector<NewCandidate> rows;
  for (int i = 0; i < 4; ++i) rows.push_back(MakeCandidate(i));
  NAS_ASSERT_OK(store_->InsertCandidates(*exp, rows));
  const std::map<std::string, std::string> labels = {{"test", TestName()}};
  // "b" already holds one lease; with a limit of 1 its call is refused, and
  // the second call of "a" in the same batch too.
  auto held = store_->LeaseTrial("b", labels, 1);
  NAS_ASSERT_OK(held);
  ASSERT_TRUE(held->has_value());
  auto batch = store_->LeaseTrials({"a", "b", "c", "a", "d"}, labels, 1);
  NAS_ASSERT_OK(batch);
  ASSERT_EQ(batch->size(), 5u);
  EXPECT_THAT(
      (*batch)[1].status,
      StatusIs(absl::StatusCode::kResourceExhausted,
               absl::StrCat("worker 'b' already holds 1 lease(s) (trial ",
                            (*held)->trial_id, ")")));
  EXPECT_THAT((*batch)[3].status, StatusIs(absl::StatusCode::kResourceExhausted,
                                           "(and asks for 2 at once)"));
  // The three eligible calls get the three remaining trials, oldest first,
  // in call order.
  std::vector<int64_t> ids;
  for (int i : {0, 2, 4}) {
    NAS_ASSERT_OK((*batch)[i].status);
    ASSERT_TRUE((*batch)[i].trial.has_value()) << i;
    ids.push_back((*batch)[i].trial->trial_id);
    EXPECT_EQ((*batch)[i].trial->attempt, 1);
  }
  EXPECT_LT((*held)->trial_id, ids[0]);
  EXPECT_LT(ids[0], ids[1]);
  EXPECT_LT(ids[1], ids[2]);
  EXPECT_FALSE((*batch)[1].trial.has_value());
  EXPECT_FALSE((*batch)[3].trial.has_value());
  auto counts = store_->CountExperiment(*exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->trials_running(), 4);
  EXPECT_EQ(counts->trials_queued(), 0);
  // Nothing left: calls under their limit get no trial and no error.
  auto none = store_->LeaseTrials({"e", "f"}, labels, 1);
  NAS_ASSERT_OK(none);
  for (const Store::LeaseAnswer& a : *none) {
    NAS_EXPECT_OK(a.status);
    EXPECT_FALSE(a.trial.has_value());
  }
  // Without a limit, one worker may take several in one batch.
  NAS_ASSERT_OK(
      store_->InsertCandidates(*exp, {MakeCandidate(10), MakeCandidate(11)}));
  auto unlimited = store_->LeaseTrials({"g", "g"}, labels, 0);
  NAS_ASSERT_OK(unlimited);
  EXPECT_TRUE((*unlimited)[0].trial.has_value());
  EXPECT_TRUE((*unlimited)[1].trial.has_value());
}

TEST_F(StoreTest, RunningExperimentLimitRefusesAndStoresNothing) {
  // At least one RUNNING experiment (0 would mean "no limit").
  auto first = store_->CreateExperiment(MakeSpec(TestName()), 1);
  NAS_ASSERT_OK(first);
  auto running = store_->ListRunningExperimentIds();
  NAS_ASSERT_OK(running);
  const int n = static_cast<int>(running->size());
  auto listed = store_->ListExperiments(0, 1000000);
  NAS_ASSERT_OK(listed);
  EXPECT_THAT(store_->CreateExperiment(MakeSpec(TestName()), 1, n),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       absl::StrCat(n, " experiments are running")));
  auto after = store_->ListExperiments(0, 1000000);
  NAS_ASSERT_OK(after);
  EXPECT_EQ(after->size(), listed->size());
  auto created = store_->CreateExperiment(MakeSpec(TestName()), 1, n + 1);
  NAS_ASSERT_OK(created);
  for (int64_t id : {*first, *created}) {
    NAS_ASSERT_OK(store_->FinishExperiment(id, v1::EXPERIMENT_STOPPED, ""));
  }
}

// The counts a full scan gives (what CountExperiment computed before
// migration 0012), for comparison with the trigger-kept counters.
std::vector<int64_t> ScannedCounts(const std::string& conninfo, int64_t id) {
  pqxx::connection conn(conninfo);
  pqxx::nontransaction txn(conn);
  const std::string e = absl::StrCat(id);
  pqxx::row r = txn.exec1(
      "SELECT "
      "(SELECT count(*) FROM candidates WHERE experiment_id = " +
      e +
      " AND final_of IS NULL AND NOT supernet), "
      "(SELECT count(*) FROM candidates WHERE experiment_id = " +
      e +
      " AND state = 'REJECTED'), "
      "(SELECT count(*) FROM candidates WHERE experiment_id = " +
      e +
      " AND state = 'DUPLICATE'), "
      "(SELECT count(*) FROM trials WHERE experiment_id = " +
      e +
      " AND status = 'QUEUED'), "
      "(SELECT count(*) FROM trials WHERE experiment_id = " +
      e +
      " AND status = 'RUNNING'), "
      "(SELECT count(*) FROM trials WHERE experiment_id = " +
      e +
      " AND status = 'SUCCEEDED'), "
      "(SELECT count(*) FROM trials WHERE experiment_id = " +
      e + " AND status = 'FAILED')");
  std::vector<int64_t> out;
  for (int i = 0; i < 7; ++i) out.push_back(r[i].as<int64_t>());
  return out;
}

std::vector<int64_t> CountsOf(const v1::ExperimentCounts& c) {
  return {c.candidates(),    c.rejected(),       c.duplicates(),
          c.trials_queued(), c.trials_running(), c.trials_succeeded(),
          c.trials_failed()};
}

// Trials inserted already finished (imports, the benchmark's preload) are
// counted; queued ones (every proposal) skip the trigger's join (0013).
TEST_F(StoreTest, TrialsInsertedFinishedAreCounted) {
  auto exp = store_->CreateExperiment(MakeSpec(TestName(), 1), 1);
  NAS_ASSERT_OK(exp);
  NAS_ASSERT_OK(store_->InsertCandidates(*exp, {MakeCandidate(0)}));
  {
    pqxx::connection conn(server_->conninfo());
    pqxx::work txn(conn);
    // Two imported candidates, one SUCCEEDED and one FAILED trial, in one
    // statement each (one trigger call for both trials).
    txn.exec_params(
        "INSERT INTO candidates (experiment_id, seq, space, canonical, "
        "choices, arch_hash, state) SELECT $1, 100 + g, 'nb201', "
        "'imported' || g, '{0,0,0,0,0,0}', 'h-imported-' || g, "
        "CASE g WHEN 0 THEN 'EVALUATED' ELSE 'FAILED' END "
        "FROM generate_series(0, 1) g",
        *exp);
    txn.exec_params(
        "INSERT INTO trials (experiment_id, candidate_id, status, "
        "max_attempts, lease_seconds, required_labels) SELECT $1, c.id, "
        "CASE c.state WHEN 'EVALUATED' THEN 'SUCCEEDED' ELSE 'FAILED' END, "
        "1, 60, '{}' FROM candidates c WHERE c.experiment_id = $1 AND "
        "c.seq >= 100",
        *exp);
    txn.commit();
  }
  auto counts = store_->CountExperiment(*exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(CountsOf(*counts), ScannedCounts(server_->conninfo(), *exp));
  EXPECT_EQ(counts->trials_succeeded(), 1);
  EXPECT_EQ(counts->trials_failed(), 1);
  EXPECT_EQ(counts->trials_queued(), 1);
}

TEST_F(StoreTest, GroupCommitStoresEachResultOnceAndCountersMatchAScan) {
  auto exp = store_->CreateExperiment(MakeSpec(TestName(), 1), 1);
  NAS_ASSERT_OK(exp);
  std::vector<NewCandidate> cands;
  for (int i = 0; i < 5; ++i) cands.push_back(MakeCandidate(i));
  cands.push_back(MakeCandidate(5, v1::CANDIDATE_REJECTED));
  cands.push_back(MakeCandidate(6, v1::CANDIDATE_DUPLICATE));
  NAS_ASSERT_OK(store_->InsertCandidates(*exp, cands));
  auto check = [&](const std::string& when) {
    auto counts = store_->CountExperiment(*exp);
    NAS_ASSERT_OK(counts);
    EXPECT_EQ(CountsOf(*counts), ScannedCounts(server_->conninfo(), *exp))
        << when;
  };
  check("after insert");
  std::vector<LeasedTrial> leased;
  for (const char* w : {"w1", "w2", "w3", "w4"}) {
    auto t = store_->LeaseTrial(w, Labels());
    NAS_ASSERT_OK(t);
    ASSERT_TRUE(t->has_value());
    leased.push_back(**t);
  }
  check("after leases");

  v1::EvaluationMetrics m;
  m.set_val_accuracy(0.123456789012345678);
  m.set_test_accuracy(0.5);
  m.set_macs(int64_t{1} << 40);
  m.set_device("cpu");
  const std::string w1 = "w1", w2 = "w2", w3 = "w3", stranger = "w9", none;
  std::vector<Store::ResultToStore> batch = {
      {leased[0].trial_id, leased[0].attempt, &w1, &m, &none},
      {leased[1].trial_id, leased[1].attempt, &w2, &m, &none},
      {leased[0].trial_id, leased[0].attempt, &w1, &m, &none},  // retry
      {leased[2].trial_id, leased[2].attempt, &stranger, &m, &none},
      {999999999, 1, &w3, &m, &none},
  };
  auto stored = store_->RecordResults(batch);
  NAS_ASSERT_OK(stored);
  ASSERT_EQ(stored->size(), 5u);
  NAS_EXPECT_OK((*stored)[0].status);
  EXPECT_EQ((*stored)[0].outcome, ReportOutcome::kStored);
  EXPECT_EQ((*stored)[0].experiment_id, *exp);
  NAS_EXPECT_OK((*stored)[1].status);
  EXPECT_EQ((*stored)[1].outcome, ReportOutcome::kStored);
  NAS_EXPECT_OK((*stored)[2].status);
  EXPECT_EQ((*stored)[2].outcome, ReportOutcome::kAlreadyStored);
  EXPECT_THAT((*stored)[3].status,
              StatusIs(absl::StatusCode::kFailedPrecondition, "stale"));
  EXPECT_THAT((*stored)[4].status,
              StatusIs(absl::StatusCode::kNotFound, "trial 999999999"));
  // Exactly two results, with exact values.
  auto results = store_->ListResults(*exp);
  NAS_ASSERT_OK(results);
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0].metrics.val_accuracy(), m.val_accuracy());
  EXPECT_EQ((*results)[0].metrics.macs(), m.macs());
  const v1::Candidate c = GetCandidate(*exp, leased[0].candidate_id);
  EXPECT_EQ(c.state(), v1::CANDIDATE_EVALUATED);
  EXPECT_EQ(c.metrics().val_accuracy(), m.val_accuracy());
  check("after the batch");

  // A retried batch changes nothing.
  auto again = store_->RecordResults({batch[0], batch[1]});
  NAS_ASSERT_OK(again);
  EXPECT_EQ((*again)[0].outcome, ReportOutcome::kAlreadyStored);
  EXPECT_EQ((*again)[1].outcome, ReportOutcome::kAlreadyStored);

  // Failure (max_attempts 1: FAILED), expiry and a fold keep them equal.
  NAS_ASSERT_OK(store_->RecordFailure(leased[2].trial_id, leased[2].attempt,
                                      "w3", "boom"));
  ExpireLease(leased[3].trial_id);
  NAS_ASSERT_OK(store_->ExpireLeases());
  check("after failure and expiry");
  NAS_ASSERT_OK(store_->FoldCounters(*exp));
  check("after a fold");
  auto counts = store_->CountExperiment(*exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->trials_succeeded(), 2);
  EXPECT_EQ(counts->trials_failed(), 2);
  NAS_ASSERT_OK(store_->FoldCounters(*exp));  // nothing to fold: no change
  check("after an empty fold");
}

TEST_F(StoreTest, ConcurrentLeasesNeverShareATrial) {
  constexpr int kTrials = 40;
  const int64_t exp = NewExperiment(kTrials);
  std::mutex mu;
  std::vector<int64_t> leased;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (;;) {
        auto t = store_->LeaseTrial(absl::StrCat("w", w), Labels());
        if (!t.ok()) {
          ++errors;
          ADD_FAILURE() << t.status();
          return;
        }
        if (!t->has_value()) return;
        std::lock_guard<std::mutex> lock(mu);
        leased.push_back((*t)->trial_id);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(leased.size(), static_cast<size_t>(kTrials));
  EXPECT_EQ(std::set<int64_t>(leased.begin(), leased.end()).size(),
            leased.size());
  auto counts = store_->CountExperiment(exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->trials_running(), kTrials);
}

TEST_F(StoreTest, ProgressAtEpochAndStopDecisions) {
  std::vector<int64_t> cands;
  const int64_t exp = NewExperiment(3, 3, &cands);
  std::vector<LeasedTrial> trials;
  for (int i = 0; i < 3; ++i) {
    auto t = store_->LeaseTrial(absl::StrCat("w", i), Labels());
    NAS_ASSERT_OK(t);
    ASSERT_TRUE(t->has_value());
    trials.push_back(**t);
  }
  auto report = [&](int i, int epoch, double acc) {
    v1::ReportProgressRequest p;
    p.set_worker_id(absl::StrCat("w", i));
    p.set_trial_id(trials[i].trial_id);
    p.set_attempt(trials[i].attempt);
    p.set_epoch(epoch);
    p.set_val_accuracy(acc);
    EXPECT_TRUE(store_->RecordProgress(p).value());
  };
  report(0, 1, 0.5);
  report(1, 1, 0.7);
  report(1, 2, 0.8);
  auto peers = store_->ProgressAtEpoch(trials[2].trial_id, 1);
  NAS_ASSERT_OK(peers);
  EXPECT_EQ(peers->experiment_id, exp);
  EXPECT_THAT(peers->others, ::testing::UnorderedElementsAre(0.5, 0.7));
  peers = store_->ProgressAtEpoch(trials[0].trial_id, 2);
  NAS_ASSERT_OK(peers);
  EXPECT_THAT(peers->others, ::testing::ElementsAre(0.8));
  peers = store_->ProgressAtEpoch(trials[0].trial_id, 7);
  NAS_ASSERT_OK(peers);
  EXPECT_TRUE(peers->others.empty());
  EXPECT_THAT(store_->ProgressAtEpoch(999999, 1),
              StatusIs(absl::StatusCode::kNotFound, "999999"));

  NAS_ASSERT_OK(store_->RecordStopDecision(
      trials[0].trial_id, trials[0].attempt, 1, "median: low"));
  CandidateQuery q;
  q.experiment_id = exp;
  auto page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  for (const v1::Candidate& c : page->candidates) {
    EXPECT_EQ(c.early_stopped(),
              c.id() == trials[0].candidate_id ? "median: low" : "");
  }
  pqxx::connection conn(server_->conninfo());
  pqxx::nontransaction txn(conn);
  EXPECT_EQ(txn.exec_params1("SELECT decision FROM trial_progress WHERE "
                             "trial_id = $1 AND epoch = 1",
                             trials[0].trial_id)[0]
                .as<std::string>(),
            "median: low");
}

TEST_F(StoreTest, RecordProgressIsIdempotentAndChecksTheLease) {
  NewExperiment(1);
  auto t = store_->LeaseTrial("w1", Labels());
  NAS_ASSERT_OK(t);
  ASSERT_TRUE(t->has_value());
  v1::ReportProgressRequest p;
  p.set_worker_id("w1");
  p.set_trial_id((*t)->trial_id);
  p.set_attempt((*t)->attempt);
  p.set_epoch(1);
  p.set_train_loss(1.5);
  p.set_val_accuracy(0.4);
  p.set_seconds(3.0);
  EXPECT_EQ(store_->RecordProgress(p).value(), true);
  EXPECT_EQ(store_->RecordProgress(p).value(), true);  // same epoch again
  p.set_epoch(2);
  EXPECT_EQ(store_->RecordProgress(p).value(), true);
  v1::ReportProgressRequest stale = p;
  stale.set_attempt(5);
  EXPECT_EQ(store_->RecordProgress(stale).value(), false);
  v1::ReportProgressRequest foreign = p;
  foreign.set_worker_id("w2");
  foreign.set_epoch(3);
  EXPECT_EQ(store_->RecordProgress(foreign).value(), false);

  pqxx::connection conn(server_->conninfo());
  pqxx::nontransaction txn(conn);
  pqxx::row row = txn.exec_params1(
      "SELECT count(*), max(epoch) FROM trial_progress WHERE trial_id = $1",
      (*t)->trial_id);
  EXPECT_EQ(row[0].as<int>(), 2);
  EXPECT_EQ(row[1].as<int>(), 2);

  EXPECT_EQ(store_->RenewLease((*t)->trial_id, (*t)->attempt, "w1").value(),
            true);
  EXPECT_EQ(store_->RenewLease((*t)->trial_id, (*t)->attempt, "w2").value(),
            false);
}

TEST_F(StoreTest, RecordResultStoresOnce) {
  const int64_t exp = NewExperiment(1);
  auto t = store_->LeaseTrial("w1", Labels());
  NAS_ASSERT_OK(t);
  ASSERT_TRUE(t->has_value());
  const int64_t trial = (*t)->trial_id;
  const v1::EvaluationMetrics m = MakeMetrics(0.8734);

  EXPECT_THAT(store_->RecordResult(trial, 1, "w2", m),
              StatusIs(absl::StatusCode::kFailedPrecondition, "w2"));
  EXPECT_THAT(store_->RecordResult(trial, 2, "w1", m),
              StatusIs(absl::StatusCode::kFailedPrecondition, "stale"));
  auto stored = store_->RecordResult(trial, 1, "w1", m);
  NAS_ASSERT_OK(stored);
  EXPECT_EQ(*stored, ReportOutcome::kStored);
  auto again = store_->RecordResult(trial, 1, "w1", m);
  NAS_ASSERT_OK(again);
  EXPECT_EQ(*again, ReportOutcome::kAlreadyStored);
  EXPECT_THAT(store_->RecordResult(trial, 0, "w1", m),
              StatusIs(absl::StatusCode::kFailedPrecondition, "SUCCEEDED"));
  EXPECT_THAT(store_->RecordResult(123456789, 1, "w1", m),
              StatusIs(absl::StatusCode::kNotFound, "123456789"));
  EXPECT_EQ(store_->RenewLease(trial, 1, "w1").value(), false);

  auto results = store_->ListResults(exp);
  NAS_ASSERT_OK(results);
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ((*results)[0].trial_id, trial);
  EXPECT_EQ((*results)[0].candidate_id, (*t)->candidate_id);
  EXPECT_EQ((*results)[0].genotype.hash(), "hash0");
  EXPECT_TRUE(SameMessage((*results)[0].metrics, m));

  const v1::Candidate c = GetCandidate(exp, (*t)->candidate_id);
  EXPECT_EQ(c.state(), v1::CANDIDATE_EVALUATED);
  EXPECT_EQ(c.worker_id(), "w1");
  EXPECT_EQ(c.attempts(), 1);
  EXPECT_TRUE(SameMessage(c.metrics(), m));
  auto counts = store_->CountExperiment(exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->trials_succeeded(), 1);
  EXPECT_EQ(counts->trials_running(), 0);
}

// The class-balanced metrics (0016) are stored by both write paths (one
// result, group commit) and read back into Candidate.metrics, exactly;
// listings order by them.
TEST_F(StoreTest, ClassMetricsRoundTripOnBothWritePaths) {
  const int64_t exp = NewExperiment(3);
  std::vector<LeasedTrial> leased;
  for (const char* w : {"w1", "w2", "w3"}) {
    auto t = store_->LeaseTrial(w, Labels());
    NAS_ASSERT_OK(t);
    ASSERT_TRUE(t->has_value());
    leased.push_back(**t);
  }
  auto metrics = [](double balanced, double f1) {
    v1::EvaluationMetrics m = MakeMetrics(0.9);
    m.set_val_balanced_accuracy(balanced);
    m.set_val_macro_f1(f1);
    m.add_val_class_recall(0.123456789012345678);
    m.add_val_class_recall(1);
    m.add_val_class_recall(0);
    m.set_test_balanced_accuracy(balanced / 2);
    m.set_test_macro_f1(f1 / 3);
    return m;
  };
  const v1::EvaluationMetrics one = metrics(0.61, 0.5);
  const v1::EvaluationMetrics batched = metrics(0.7, 0.3);
  const v1::EvaluationMetrics plain = MakeMetrics(0.5);  // no class metrics
  NAS_ASSERT_OK(
      store_->RecordResult(leased[0].trial_id, leased[0].attempt, "w1", one));
  const std::string w2 = "w2", w3 = "w3", none;
  auto stored = store_->RecordResults(
      {{leased[1].trial_id, leased[1].attempt, &w2, &batched, &none},
       {leased[2].trial_id, leased[2].attempt, &w3, &plain, &none}});
  NAS_ASSERT_OK(stored);
  for (const auto& r : *stored) NAS_ASSERT_OK(r.status);
  EXPECT_TRUE(
      SameMessage(GetCandidate(exp, leased[0].candidate_id).metrics(), one));
  EXPECT_TRUE(SameMessage(GetCandidate(exp, leased[1].candidate_id).metrics(),
                          batched));
  EXPECT_TRUE(
      SameMessage(GetCandidate(exp, leased[2].candidate_id).metrics(), plain));
  CandidateQuery q;
  q.experiment_id = exp;
  q.order_by = "-val_macro_f1";
  auto page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  ASSERT_EQ(page->candidates.size(), 3u);
  EXPECT_EQ(page->candidates[0].id(), leased[0].candidate_id);
  q.order_by = "-val_balanced_accuracy";
  page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  EXPECT_EQ(page->candidates[0].id(), leased[1].candidate_id);
  // Restart replay reads results' protos: the metrics are all there.
  auto results = store_->ListResults(exp);
  NAS_ASSERT_OK(results);
  ASSERT_EQ(results->size(), 3u);
  for (const auto& r : *results) {
    if (r.candidate_id == leased[1].candidate_id) {
      EXPECT_TRUE(SameMessage(r.metrics, batched));
    }
  }
}

// "-objective" lists best first by the experiment's objective.metric, and
// the running-best gauge reads the same metric.
TEST_F(StoreTest, ObjectiveOrderAndRunningBestFollowTheSpecsMetric) {
  v1::ExperimentSpec spec = MakeSpec(TestName());
  spec.mutable_objective()->set_metric("val_recall:b");
  spec.mutable_objective()->set_metric_class(1);
  auto exp = store_->CreateExperiment(spec, 1);
  NAS_ASSERT_OK(exp);
  NAS_ASSERT_OK(store_->InsertCandidates(
      *exp, {MakeCandidate(0), MakeCandidate(1), MakeCandidate(2)}));
  const double accuracy[] = {0.9, 0.5, 0.7};
  const double recall_b[] = {0.1, 0.8, 0.4};
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto t = store_->LeaseTrial("w1", Labels());
    NAS_ASSERT_OK(t);
    ASSERT_TRUE(t->has_value());
    v1::EvaluationMetrics m = MakeMetrics(accuracy[i]);
    m.add_val_class_recall(0.5);
    m.add_val_class_recall(recall_b[i]);
    NAS_ASSERT_OK(store_->RecordResult((*t)->trial_id, (*t)->attempt, "w1", m));
    ids.push_back((*t)->candidate_id);
  }
  CandidateQuery q;
  q.experiment_id = *exp;
  q.order_by = "-objective";
  auto page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  ASSERT_EQ(page->candidates.size(), 3u);
  EXPECT_EQ(page->candidates[0].id(), ids[1]);
  EXPECT_EQ(page->candidates[1].id(), ids[2]);
  EXPECT_EQ(page->candidates[2].id(), ids[0]);
  auto stats = store_->GetOpsStats();
  NAS_ASSERT_OK(stats);
  EXPECT_DOUBLE_EQ(stats->running_best_val_accuracy.at(*exp), 0.8);
}

// Named metrics of a COMMAND trainer (0017): stored exactly on both write
// paths (NULL when a result has none), read back into the listing, and,
// when objective.metric names one, used by "-objective", the running-best
// gauge and keep_models (a candidate lacking the metric ranks last).
TEST_F(StoreTest, NamedMetricsRoundTripAndRankByTheObjective) {
  v1::ExperimentSpec spec = MakeSpec(TestName());
  spec.mutable_objective()->set_metric("val_top5");
  spec.set_keep_models(2);
  auto exp = store_->CreateExperiment(spec, 1);
  NAS_ASSERT_OK(exp);
  NAS_ASSERT_OK(
      store_->InsertCandidates(*exp, {MakeCandidate(0), MakeCandidate(1),
                                      MakeCandidate(2), MakeCandidate(3)}));
  std::vector<LeasedTrial> t;
  for (const char* w : {"w0", "w1", "w2", "w3"}) {
    auto l = store_->LeaseTrial(w, Labels());
    NAS_ASSERT_OK(l);
    ASSERT_TRUE(l->has_value());
    t.push_back(**l);
  }
  auto named = [](double acc, std::map<std::string, double> n) {
    v1::EvaluationMetrics m = MakeMetrics(acc);
    for (const auto& [k, v] : n) (*m.mutable_named_metrics())[k] = v;
    return m;
  };
  // By val_accuracy the best two would be 3 and 0; by val_top5, 1 and 0.
  const v1::EvaluationMetrics m0 =
      named(0.9, {{"val_top5", 0.3}, {"bleu", 27.5}});
  const v1::EvaluationMetrics m1 = named(0.5, {{"val_top5", 0.8}});
  const v1::EvaluationMetrics m2 =
      named(0.6, {{"val_top5", 0.123456789012345678}, {"neg_loss", -2.25}});
  const v1::EvaluationMetrics m3 = named(0.95, {});  // no val_top5
  NAS_ASSERT_OK(store_->RecordResult(t[0].trial_id, 1, "w0", m0, "model0"));
  const std::string w1 = "w1", w2 = "w2", none;
  auto stored = store_->RecordResults({{t[1].trial_id, 1, &w1, &m1, &none},
                                       {t[2].trial_id, 1, &w2, &m2, &none}});
  NAS_ASSERT_OK(stored);
  for (const auto& r : *stored) NAS_ASSERT_OK(r.status);
  NAS_ASSERT_OK(store_->RecordResult(t[3].trial_id, 1, "w3", m3, "model3"));

  const v1::EvaluationMetrics* want[] = {&m0, &m1, &m2, &m3};
  for (int i = 0; i < 4; ++i) {
    const v1::Candidate c = GetCandidate(*exp, t[i].candidate_id);
    EXPECT_TRUE(SameMessage(c.metrics(), *want[i]))
        << i << ": " << c.metrics().DebugString();
  }
  {
    pqxx::connection conn(server_->conninfo());
    pqxx::nontransaction txn(conn);
    EXPECT_TRUE(txn.exec_params1("SELECT named_metrics IS NULL FROM "
                                 "candidates WHERE id = $1",
                                 t[3].candidate_id)[0]
                    .as<bool>());
    EXPECT_EQ(txn.exec_params1("SELECT (named_metrics->>'bleu')::float8 FROM "
                               "candidates WHERE id = $1",
                               t[0].candidate_id)[0]
                  .as<double>(),
              27.5);
  }

  CandidateQuery q;
  q.experiment_id = *exp;
  q.order_by = "-objective";
  auto page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  ASSERT_EQ(page->candidates.size(), 4u);
  std::vector<int64_t> order;
  for (const v1::Candidate& c : page->candidates) order.push_back(c.id());
  EXPECT_THAT(order, ElementsAre(t[1].candidate_id, t[0].candidate_id,
                                 t[2].candidate_id, t[3].candidate_id));
  q.order_by = "objective";  // ascending; the missing one still last
  page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  order.clear();
  for (const v1::Candidate& c : page->candidates) order.push_back(c.id());
  EXPECT_THAT(order, ElementsAre(t[2].candidate_id, t[0].candidate_id,
                                 t[1].candidate_id, t[3].candidate_id));

  auto stats = store_->GetOpsStats();
  NAS_ASSERT_OK(stats);
  EXPECT_DOUBLE_EQ(stats->running_best_val_accuracy.at(*exp), 0.8);

  // keep_models 2 by val_top5: candidates 1 and 0; 0 has a model, and 3's
  // (best by val_accuracy, but without val_top5) was pruned.
  auto kept = store_->GetModel(*exp, t[0].candidate_id);
  NAS_ASSERT_OK(kept);
  EXPECT_EQ(kept->bytes, "model0");
  EXPECT_THAT(store_->GetModel(*exp, t[3].candidate_id),
              StatusIs(absl::StatusCode::kNotFound, "no model kept"));

  // Restart replay reads the results' protos: named metrics included.
  auto results = store_->ListResults(*exp);
  NAS_ASSERT_OK(results);
  ASSERT_EQ(results->size(), 4u);
  for (const auto& r : *results) {
    if (r.candidate_id == t[2].candidate_id) {
      EXPECT_TRUE(SameMessage(r.metrics, m2));
    }
  }
}

// Mode COMMAND: the trials require the trainer's label
// (common/trainers.h) besides spec.required_labels, so a worker without
// the trainer never leases them.
TEST_F(StoreTest, CommandTrialsGoOnlyToWorkersWithTheTrainer) {
  v1::ExperimentSpec spec = MakeSpec(TestName());
  spec.mutable_evaluation()->set_mode(v1::COMMAND);
  spec.mutable_evaluation()->mutable_command()->set_trainer("torch_fmnist");
  auto exp = store_->CreateExperiment(spec, 1);
  NAS_ASSERT_OK(exp);
  auto ids = store_->InsertCandidates(*exp, {MakeCandidate(0)});
  NAS_ASSERT_OK(ids);
  {
    pqxx::connection conn(server_->conninfo());
    pqxx::nontransaction txn(conn);
    EXPECT_EQ(txn.exec_params1("SELECT required_labels::text FROM trials "
                               "WHERE candidate_id = $1",
                               (*ids)[0])[0]
                  .as<std::string>(),
              absl::StrCat("{\"test\": \"", TestName(),
                           "\", \"trainer/torch_fmnist\": \"yes\"}"));
  }
  std::map<std::string, std::string> labels = Labels();
  auto none = store_->LeaseTrial("plain", labels);
  NAS_ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  labels["trainer/other"] = "yes";
  none = store_->LeaseTrial("other-trainer", labels);
  NAS_ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  labels["trainer/torch_fmnist"] = "yes";
  auto leased = store_->LeaseTrial("with-trainer", labels);
  NAS_ASSERT_OK(leased);
  ASSERT_TRUE(leased->has_value());
  EXPECT_EQ((*leased)->candidate_id, (*ids)[0]);
  // The spec itself is stored as given (no label added to it).
  EXPECT_TRUE(SameMessage((*leased)->spec, spec));
}

// that ran out while no controller could renew it is not expired, and its
// worker's result is still taken.
TEST_F(StoreTest, ExtendRunningLeasesKeepsLeasesThatRanOutMeanwhile) {
  NewExperiment(1);
  auto leased = store_->LeaseTrial("w1", Labels());
  NAS_ASSERT_OK(leased);
  ASSERT_TRUE(leased->has_value());
  const int64_t trial = (*leased)->trial_id;
  ExpireLease(trial);
  auto extended = store_->ExtendRunningLeases();
  NAS_ASSERT_OK(extended);
  EXPECT_GE(*extended, 1);
  auto expired = store_->ExpireLeases();
  NAS_ASSERT_OK(expired);
  EXPECT_EQ(expired->requeued + expired->failed, 0);
  EXPECT_EQ(store_->RenewLease(trial, 1, "w1").value(), true);
  auto stored = store_->RecordResult(trial, 1, "w1", MakeMetrics(0.5));
  NAS_ASSERT_OK(stored);
  EXPECT_EQ(*stored, ReportOutcome::kStored);
}

TEST_F(StoreTest, ExpiredLeasesAreRequeuedThenFailed) {
  const int64_t exp = NewExperiment(1, /*max_attempts=*/2);
  auto first = store_->LeaseTrial("w1", Labels());
  NAS_ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  const int64_t trial = (*first)->trial_id;
  EXPECT_EQ((*first)->attempt, 1);

  // Not yet expired: nothing happens.
  auto nothing = store_->ExpireLeases();
  NAS_ASSERT_OK(nothing);
  EXPECT_EQ(nothing->requeued + nothing->failed, 0);

  ExpireLease(trial);
  auto requeued = store_->ExpireLeases();
  NAS_ASSERT_OK(requeued);
  EXPECT_EQ(requeued->requeued, 1);
  EXPECT_EQ(requeued->failed, 0);
  EXPECT_EQ(GetCandidate(exp, (*first)->candidate_id).state(),
            v1::CANDIDATE_QUEUED);
  EXPECT_EQ(store_->RenewLease(trial, 1, "w1").value(), false);

  auto second = store_->LeaseTrial("w2", Labels());
  NAS_ASSERT_OK(second);
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->trial_id, trial);
  EXPECT_EQ((*second)->attempt, 2);
  // The first worker comes back late: refused, harmlessly.
  EXPECT_THAT(store_->RecordResult(trial, 1, "w1", MakeMetrics(0.5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, "stale"));
  EXPECT_THAT(store_->RecordFailure(trial, 1, "w1", "oom"),
              StatusIs(absl::StatusCode::kFailedPrecondition, "stale"));

  ExpireLease(trial);
  auto failed = store_->ExpireLeases();
  NAS_ASSERT_OK(failed);
  EXPECT_EQ(failed->requeued, 0);
  EXPECT_EQ(failed->failed, 1);
  const v1::Candidate c = GetCandidate(exp, (*first)->candidate_id);
  EXPECT_EQ(c.state(), v1::CANDIDATE_FAILED);
  EXPECT_THAT(c.reason(), ::testing::HasSubstr("lease expired after 2"));
  EXPECT_EQ(c.attempts(), 2);
  auto counts = store_->CountExperiment(exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->trials_failed(), 1);
  EXPECT_THAT(store_->RecordResult(trial, 2, "w2", MakeMetrics(0.5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, "FAILED"));
  auto empty = store_->LeaseTrial("w3", Labels());
  NAS_ASSERT_OK(empty);
  EXPECT_FALSE(empty->has_value());
}

TEST_F(StoreTest, RecordFailureRetriesUntilMaxAttempts) {
  const int64_t exp = NewExperiment(1, /*max_attempts=*/2);
  auto first = store_->LeaseTrial("w1", Labels());
  NAS_ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  NAS_EXPECT_OK(store_->RecordFailure((*first)->trial_id, 1, "w1", "nan loss"));
  EXPECT_EQ(GetCandidate(exp, (*first)->candidate_id).state(),
            v1::CANDIDATE_QUEUED);
  auto second = store_->LeaseTrial("w1", Labels());
  NAS_ASSERT_OK(second);
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->attempt, 2);
  NAS_EXPECT_OK(
      store_->RecordFailure((*second)->trial_id, 2, "w1", "nan loss again"));
  const v1::Candidate c = GetCandidate(exp, (*first)->candidate_id);
  EXPECT_EQ(c.state(), v1::CANDIDATE_FAILED);
  EXPECT_THAT(c.reason(), ::testing::HasSubstr("nan loss again"));
}

TEST_F(StoreTest, AttemptHistoryExpiredThenSucceededElsewhere) {
  const std::string db = server_->conninfo();
  NewExperiment(1);
  auto first = store_->LeaseTrial("wA", Labels());
  NAS_ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  const int64_t trial = (*first)->trial_id;
  EXPECT_THAT(Attempts(db, trial),
              ElementsAre(Attempt(1, "wA", "RUNNING", "", false)));
  EXPECT_TRUE(AttemptMatchesTrial(db, trial));

  // Renewals and progress move the attempt's lease_until with the trial's.
  const std::string kOldLease =
      absl::StrCat("UPDATE trial_attempts SET lease_until = now() - interval ",
                   "'1 hour' WHERE trial_id = ", trial);
  Sql(kOldLease);
  EXPECT_FALSE(AttemptMatchesTrial(db, trial));
  EXPECT_EQ(store_->RenewLease(trial, 1, "wA").value(), true);
  EXPECT_TRUE(AttemptMatchesTrial(db, trial));
  Sql(kOldLease);
  v1::ReportProgressRequest p;
  p.set_worker_id("wA");
  p.set_trial_id(trial);
  p.set_attempt(1);
  p.set_epoch(1);
  EXPECT_EQ(store_->RecordProgress(p).value(), true);
  EXPECT_TRUE(AttemptMatchesTrial(db, trial));

  ExpireLease(trial);
  auto expired = store_->ExpireLeases();
  NAS_ASSERT_OK(expired);
  EXPECT_EQ(expired->requeued, 1);
  EXPECT_THAT(Attempts(db, trial),
              ElementsAre(Attempt(1, "wA", "EXPIRED", "lease expired", true)));

  auto second = store_->LeaseTrial("wB", Labels());
  NAS_ASSERT_OK(second);
  ASSERT_TRUE(second->has_value());
  ASSERT_EQ((*second)->trial_id, trial);
  ASSERT_EQ((*second)->attempt, 2);
  EXPECT_TRUE(AttemptMatchesTrial(db, trial));
  auto stored = store_->RecordResult(trial, 2, "wB", MakeMetrics(0.8));
  NAS_ASSERT_OK(stored);
  EXPECT_EQ(*stored, ReportOutcome::kStored);
  EXPECT_THAT(Attempts(db, trial),
              ElementsAre(Attempt(1, "wA", "EXPIRED", "lease expired", true),
                          Attempt(2, "wB", "SUCCEEDED", "", true)));

  // A retried report changes nothing.
  const std::string before = AttemptsText(db, trial);
  auto again = store_->RecordResult(trial, 2, "wB", MakeMetrics(0.8));
  NAS_ASSERT_OK(again);
  EXPECT_EQ(*again, ReportOutcome::kAlreadyStored);
  EXPECT_EQ(AttemptsText(db, trial), before);
}

TEST_F(StoreTest, AttemptHistoryFailureThenSuccess) {
  const std::string db = server_->conninfo();
  NewExperiment(1, /*max_attempts=*/3);
  auto first = store_->LeaseTrial("wA", Labels());
  NAS_ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  const int64_t trial = (*first)->trial_id;
  NAS_ASSERT_OK(store_->RecordFailure(trial, 1, "wA", "nan loss"));
  EXPECT_THAT(Attempts(db, trial),
              ElementsAre(Attempt(1, "wA", "FAILED", "nan loss", true)));

  auto second = store_->LeaseTrial("wB", Labels());
  NAS_ASSERT_OK(second);
  ASSERT_TRUE(second->has_value());
  ASSERT_EQ((*second)->attempt, 2);
  NAS_ASSERT_OK(store_->RecordResult(trial, 2, "wB", MakeMetrics(0.6)));
  EXPECT_THAT(Attempts(db, trial),
              ElementsAre(Attempt(1, "wA", "FAILED", "nan loss", true),
                          Attempt(2, "wB", "SUCCEEDED", "", true)));
}

TEST_F(StoreTest, AttemptHistoryOfAFinalFailureKeepsTheWorkersError) {
  const std::string db = server_->conninfo();
  const int64_t exp = NewExperiment(1, /*max_attempts=*/1);
  auto t = store_->LeaseTrial("wA", Labels());
  NAS_ASSERT_OK(t);
  ASSERT_TRUE(t->has_value());
  NAS_ASSERT_OK(store_->RecordFailure((*t)->trial_id, 1, "wA", "oom"));
  const v1::Candidate c = GetCandidate(exp, (*t)->candidate_id);
  EXPECT_EQ(c.state(), v1::CANDIDATE_FAILED);
  EXPECT_EQ(c.reason(), "oom (after 1 attempts)");
  EXPECT_THAT(Attempts(db, (*t)->trial_id),
              ElementsAre(Attempt(1, "wA", "FAILED", "oom", true)));
}

TEST_F(StoreTest, StaleReportsLeaveAttemptHistoryUntouched) {
  const std::string db = server_->conninfo();
  NewExperiment(1);
  auto first = store_->LeaseTrial("wA", Labels());
  NAS_ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  const int64_t trial = (*first)->trial_id;
  ExpireLease(trial);
  NAS_ASSERT_OK(store_->ExpireLeases());
  auto second = store_->LeaseTrial("wB", Labels());
  NAS_ASSERT_OK(second);
  ASSERT_TRUE(second->has_value());
  ASSERT_EQ((*second)->attempt, 2);
  const std::string before = AttemptsText(db, trial);
  ASSERT_THAT(Attempts(db, trial),
              ElementsAre(Attempt(1, "wA", "EXPIRED", "lease expired", true),
                          Attempt(2, "wB", "RUNNING", "", false)));

  // The old worker (attempt 1) and a foreign one (attempt 2) report.
  EXPECT_THAT(store_->RecordResult(trial, 1, "wA", MakeMetrics(0.5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, "stale"));
  EXPECT_THAT(store_->RecordFailure(trial, 1, "wA", "late oom"),
              StatusIs(absl::StatusCode::kFailedPrecondition, "stale"));
  EXPECT_THAT(store_->RecordResult(trial, 2, "wC", MakeMetrics(0.5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, "wC"));
  EXPECT_THAT(store_->RecordFailure(trial, 2, "wC", "foreign"),
              StatusIs(absl::StatusCode::kFailedPrecondition, "wC"));
  EXPECT_EQ(store_->RenewLease(trial, 1, "wA").value(), false);
  EXPECT_EQ(store_->RenewLease(trial, 2, "wC").value(), false);
  v1::ReportProgressRequest p;
  p.set_worker_id("wA");
  p.set_trial_id(trial);
  p.set_attempt(1);
  p.set_epoch(1);
  EXPECT_EQ(store_->RecordProgress(p).value(), false);
  // Not expired yet: nothing to expire.
  auto nothing = store_->ExpireLeases();
  NAS_ASSERT_OK(nothing);
  EXPECT_EQ(AttemptsText(db, trial), before);
}

TEST_F(StoreTest, FinishExperimentLeavesRunningAttemptsRunning) {
  const std::string db = server_->conninfo();
  const int64_t exp = NewExperiment(3);
  std::vector<int64_t> trials;
  for (int i = 0; i < 3; ++i) {
    auto t = store_->LeaseTrial(absl::StrCat("w", i), Labels());
    NAS_ASSERT_OK(t);
    ASSERT_TRUE(t->has_value());
    trials.push_back((*t)->trial_id);
  }
  NAS_ASSERT_OK(store_->FinishExperiment(exp, v1::EXPERIMENT_STOPPED, ""));
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(
        Attempts(db, trials[i]),
        ElementsAre(Attempt(1, absl::StrCat("w", i), "RUNNING", "", false)));
  }
  // Each then ends its own way; the trials are not requeued.
  NAS_ASSERT_OK(store_->RecordResult(trials[0], 1, "w0", MakeMetrics(0.4)));
  NAS_ASSERT_OK(store_->RecordFailure(trials[1], 1, "w1", "stopped"));
  ExpireLease(trials[2]);
  NAS_ASSERT_OK(store_->ExpireLeases());
  EXPECT_THAT(Attempts(db, trials[0]),
              ElementsAre(Attempt(1, "w0", "SUCCEEDED", "", true)));
  EXPECT_THAT(Attempts(db, trials[1]),
              ElementsAre(Attempt(1, "w1", "FAILED", "stopped", true)));
  EXPECT_THAT(Attempts(db, trials[2]),
              ElementsAre(Attempt(1, "w2", "EXPIRED", "lease expired", true)));
  auto counts = store_->CountExperiment(exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->trials_queued(), 0);
  EXPECT_EQ(counts->trials_running(), 0);
}

TEST_F(StoreTest, FinishExperimentCancelsQueuedTrials) {
  std::vector<int64_t> ids;
  const int64_t exp = NewExperiment(3, 3, &ids);
  auto running = store_->LeaseTrial("w1", Labels());
  NAS_ASSERT_OK(running);
  ASSERT_TRUE(running->has_value());

  NAS_ASSERT_OK(store_->FinishExperiment(exp, v1::EXPERIMENT_STOPPED, ""));
  auto got = store_->GetExperiment(exp);
  NAS_ASSERT_OK(got);
  EXPECT_EQ(got->state, v1::EXPERIMENT_STOPPED);
  EXPECT_TRUE(got->finished_at.has_value());
  auto counts = store_->CountExperiment(exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->trials_queued(), 0);
  EXPECT_EQ(counts->trials_running(), 1);  // told STOP by the controller
  EXPECT_EQ(GetCandidate(exp, ids[1]).state(), v1::CANDIDATE_CANCELLED);
  EXPECT_EQ(GetCandidate(exp, ids[2]).state(), v1::CANDIDATE_CANCELLED);

  auto ids_running = store_->ListRunningExperimentIds();
  NAS_ASSERT_OK(ids_running);
  EXPECT_THAT(*ids_running, ::testing::Not(::testing::Contains(exp)));
  EXPECT_THAT(store_->FinishExperiment(exp, v1::EXPERIMENT_FAILED, "boom"),
              StatusIs(absl::StatusCode::kFailedPrecondition, "STOPPED"));
  EXPECT_THAT(store_->InsertCandidates(exp, {MakeCandidate(7)}),
              StatusIs(absl::StatusCode::kFailedPrecondition, "STOPPED"));
  EXPECT_THAT(store_->FinishExperiment(999999, v1::EXPERIMENT_STOPPED, ""),
              StatusIs(absl::StatusCode::kNotFound, "999999"));
  // The running trial may still report (the result so far).
  auto stored =
      store_->RecordResult((*running)->trial_id, 1, "w1", MakeMetrics(0.3));
  NAS_ASSERT_OK(stored);
}

TEST_F(StoreTest, ListCandidatesOrdersFiltersAndPages) {
  std::vector<int64_t> ids;
  const int64_t exp = NewExperiment(5, 3, &ids);  // macs 10000, 9000, ...
  NewCandidate rejected = MakeCandidate(5, v1::CANDIDATE_REJECTED);
  NAS_ASSERT_OK(store_->InsertCandidates(exp, {rejected}));
  // Evaluate seq 0, 1, 2 with accuracies 0.5, 0.9, 0.7.
  const double acc[] = {0.5, 0.9, 0.7};
  for (int i = 0; i < 3; ++i) {
    auto t = store_->LeaseTrial("w", Labels());
    NAS_ASSERT_OK(t);
    ASSERT_TRUE(t->has_value());
    ASSERT_EQ((*t)->candidate_id, ids[i]);  // oldest first
    NAS_ASSERT_OK(
        store_->RecordResult((*t)->trial_id, 1, "w", MakeMetrics(acc[i])));
  }

  auto seqs = [](const CandidatePage& page) {
    std::vector<int> out;
    for (const auto& c : page.candidates) out.push_back(c.seq());
    return out;
  };
  CandidateQuery q;
  q.experiment_id = exp;
  q.order_by = "-val_accuracy";
  auto page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  EXPECT_EQ(page->total, 6);
  EXPECT_THAT(seqs(*page), ElementsAre(1, 2, 0, 3, 4, 5));  // NULLs last
  EXPECT_DOUBLE_EQ(page->candidates[0].metrics().val_accuracy(), 0.9);

  q.order_by = "val_accuracy";
  EXPECT_THAT(seqs(store_->ListCandidates(q).value()),
              ElementsAre(0, 2, 1, 3, 4, 5));
  q.order_by = "macs";
  EXPECT_THAT(seqs(store_->ListCandidates(q).value()),
              ElementsAre(5, 4, 3, 2, 1, 0));
  q.order_by = "-seq";
  EXPECT_THAT(seqs(store_->ListCandidates(q).value()),
              ElementsAre(5, 4, 3, 2, 1, 0));
  q.order_by = "";
  EXPECT_THAT(seqs(store_->ListCandidates(q).value()),
              ElementsAre(0, 1, 2, 3, 4, 5));

  q.order_by = "seq";
  q.offset = 2;
  q.limit = 3;
  page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  EXPECT_EQ(page->total, 6);
  EXPECT_THAT(seqs(*page), ElementsAre(2, 3, 4));
  q.offset = 10;
  page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  EXPECT_EQ(page->total, 6);
  EXPECT_THAT(seqs(*page), IsEmpty());

  q.offset = 0;
  q.limit = 50;
  q.state = v1::CANDIDATE_EVALUATED;
  q.order_by = "-latency_ms";
  page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  EXPECT_EQ(page->total, 3);
  EXPECT_THAT(seqs(*page), UnorderedElementsAre(0, 1, 2));
  q.state = v1::CANDIDATE_REJECTED;
  q.order_by = "params";
  page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  EXPECT_EQ(page->total, 1);
  EXPECT_THAT(seqs(*page), ElementsAre(5));

  q.state = v1::CANDIDATE_STATE_UNSPECIFIED;
  q.order_by = "name; DROP TABLE candidates";
  EXPECT_THAT(store_->ListCandidates(q),
              StatusIs(absl::StatusCode::kInvalidArgument, "order_by"));
  q.order_by = "-";
  EXPECT_THAT(store_->ListCandidates(q),
              StatusIs(absl::StatusCode::kInvalidArgument, "order_by"));
  q.order_by = "seq";
  q.experiment_id = 999999;
  EXPECT_THAT(store_->ListCandidates(q),
              StatusIs(absl::StatusCode::kNotFound, "999999"));
}

// Mode SUPERNET: the supernet row is no search candidate; its result must
// carry the weights, which become one content-addressed, chunked artifact
// that reads back byte for byte and that a second experiment with the same
// bytes shares.
TEST_F(StoreTest, SupernetRowStoresChunkedContentAddressedWeights) {
  StoreOptions options{server_->conninfo(), 1};
  options.artifact_chunk_bytes = 1000;
  auto small = Store::Open(options);
  NAS_ASSERT_OK(small);
  std::string weights(4321, '\0');
  for (size_t i = 0; i < weights.size(); ++i) {
    weights[i] = static_cast<char>((i * 7919) % 251);
  }
  const std::string hash = Sha256Hex(weights);
  for (int round = 0; round < 2; ++round) {
    auto exp = store_->CreateExperiment(MakeSpec(TestName()), 42);
    NAS_ASSERT_OK(exp);
    NewCandidate row;
    row.genotype.set_space("nb201");
    row.genotype.set_canonical("supernet");
    row.genotype.set_hash("supernet");
    row.supernet = true;
    NAS_ASSERT_OK(store_->InsertCandidates(*exp, {row}));
    // Not a search candidate: no search counts, no proposals.
    auto counts = store_->CountExperiment(*exp);
    NAS_ASSERT_OK(counts);
    EXPECT_EQ(counts->candidates(), 0);
    EXPECT_EQ(counts->trials_queued(), 0);
    EXPECT_EQ(counts->supernet(), v1::CANDIDATE_QUEUED);
    EXPECT_THAT(store_->ListProposals(*exp).value(), IsEmpty());
    // A second supernet row for the same experiment is refused.
    EXPECT_FALSE(store_->InsertCandidates(*exp, {row}).ok());

    auto t = store_->LeaseTrial("w1", Labels());
    NAS_ASSERT_OK(t);
    ASSERT_TRUE(t->has_value());
    EXPECT_TRUE((*t)->supernet);
    EXPECT_EQ((*t)->supernet_hash, "");
    const int64_t trial = (*t)->trial_id;
    EXPECT_THAT((*small)->RecordResult(trial, 1, "w1", MakeMetrics(0.5)),
                StatusIs(absl::StatusCode::kInvalidArgument, "model"));
    NAS_ASSERT_OK(
        (*small)->RecordResult(trial, 1, "w1", MakeMetrics(0.5), weights));
    counts = store_->CountExperiment(*exp);
    NAS_ASSERT_OK(counts);
    EXPECT_EQ(counts->supernet(), v1::CANDIDATE_EVALUATED);
    EXPECT_EQ(counts->trials_succeeded(), 0);  // search trials only
    EXPECT_THAT(store_->ListResults(*exp).value(), IsEmpty());
    const v1::Candidate c = GetCandidate(*exp, (*t)->candidate_id);
    EXPECT_TRUE(c.supernet());
    EXPECT_EQ(c.supernet_hash(), hash);

    // Search candidates leased afterwards carry the supernet's hash.
    NAS_ASSERT_OK(store_->InsertCandidates(*exp, {MakeCandidate(1)}));
    auto next = store_->LeaseTrial("w1", Labels());
    NAS_ASSERT_OK(next);
    ASSERT_TRUE(next->has_value());
    EXPECT_FALSE((*next)->supernet);
    EXPECT_EQ((*next)->supernet_hash, hash);
    NAS_ASSERT_OK(
        store_->RecordResult((*next)->trial_id, 1, "w1", MakeMetrics(0.7)));
  }
  auto info = store_->GetArtifactInfo(hash);
  NAS_ASSERT_OK(info);
  EXPECT_EQ(info->kind, "supernet");
  EXPECT_EQ(info->size, 4321);
  EXPECT_EQ(info->chunks, 5);
  std::string back;
  for (int32_t i = 0; i < info->chunks; ++i) {
    auto piece = store_->ReadArtifactChunk(hash, i);
    NAS_ASSERT_OK(piece);
    EXPECT_LE(piece->size(), 1000u);
    back += *piece;
  }
  EXPECT_EQ(back, weights);
  EXPECT_THAT(store_->ReadArtifactChunk(hash, 5),
              StatusIs(absl::StatusCode::kNotFound, ""));
  EXPECT_THAT(store_->GetArtifactInfo(std::string(64, 'a')),
              StatusIs(absl::StatusCode::kNotFound, ""));
  // Stored once although two experiments reported it.
  pqxx::connection conn(server_->conninfo());
  pqxx::nontransaction txn(conn);
  EXPECT_EQ(txn.exec1("SELECT count(*) FROM artifact_chunks WHERE hash = " +
                      txn.quote(hash))[0]
                .as<int>(),
            5);
}

TEST_F(StoreTest, ListCandidatesFiltersOnMetricsAndStampsUpdates) {
  std::vector<int64_t> ids;
  const int64_t exp = NewExperiment(5, 3, &ids);  // macs 10000, 9000, ...
  NAS_ASSERT_OK(store_->InsertCandidates(
      exp, {MakeCandidate(5, v1::CANDIDATE_REJECTED)}));  // macs 5000
  const double acc[] = {0.5, 0.9, 0.7};  // seq 0, 1, 2; latency 1.25
  for (int i = 0; i < 3; ++i) {
    auto t = store_->LeaseTrial("w", Labels());
    NAS_ASSERT_OK(t);
    ASSERT_TRUE(t->has_value());
    NAS_ASSERT_OK(
        store_->RecordResult((*t)->trial_id, 1, "w", MakeMetrics(acc[i])));
  }
  auto seqs = [](const absl::StatusOr<CandidatePage>& page) {
    std::vector<int> out;
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return out;
    for (const auto& c : page->candidates) out.push_back(c.seq());
    EXPECT_EQ(page->total, static_cast<int>(out.size()));
    return out;
  };
  CandidateQuery q;
  q.experiment_id = exp;
  q.min_val_accuracy = 0.6;
  EXPECT_THAT(seqs(store_->ListCandidates(q)), ElementsAre(1, 2));
  q.max_macs = 8500;
  EXPECT_THAT(seqs(store_->ListCandidates(q)), ElementsAre(2));
  q = CandidateQuery();
  q.experiment_id = exp;
  q.max_macs = 8000;
  EXPECT_THAT(seqs(store_->ListCandidates(q)), ElementsAre(2, 3, 4, 5));
  q.max_macs = 0;
  q.max_params = 101;
  EXPECT_THAT(seqs(store_->ListCandidates(q)), ElementsAre(0, 1));
  q.max_params = 0;
  q.max_latency_ms = 1.0;
  EXPECT_THAT(seqs(store_->ListCandidates(q)), IsEmpty());
  q.max_latency_ms = 1.25;
  EXPECT_THAT(seqs(store_->ListCandidates(q)), ElementsAre(0, 1, 2));
  q.max_latency_ms = -1;
  EXPECT_THAT(store_->ListCandidates(q),
              StatusIs(absl::StatusCode::kInvalidArgument, "max_latency_ms"));

  // Every row carries the time it last changed (nasctl curve's time axis).
  q = CandidateQuery();
  q.experiment_id = exp;
  auto page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  for (const v1::Candidate& c : page->candidates) {
    EXPECT_NEAR(c.updated_at().seconds(), now, 60) << c.seq();
  }
}

TEST_F(StoreTest, WorkersRegisterAndTouch) {
  const std::string id = TestName();
  EXPECT_THAT(store_->GetWorkerLabels(id),
              StatusIs(absl::StatusCode::kNotFound, id));
  EXPECT_THAT(store_->TouchWorker(id),
              StatusIs(absl::StatusCode::kNotFound, id));
  v1::RegisterWorkerRequest w;
  w.set_worker_id(id);
  w.set_device("cpu");
  w.set_version("0.1");
  NAS_ASSERT_OK(store_->UpsertWorker(w));
  auto labels = store_->GetWorkerLabels(id);
  NAS_ASSERT_OK(labels);
  EXPECT_THAT(*labels, IsEmpty());
  (*w.mutable_labels())["gpu"] = "h100";
  (*w.mutable_labels())["quote\"d"] = "back\\slash\n";
  NAS_ASSERT_OK(store_->UpsertWorker(w));
  labels = store_->GetWorkerLabels(id);
  NAS_ASSERT_OK(labels);
  EXPECT_EQ(*labels, (std::map<std::string, std::string>{
                         {"gpu", "h100"}, {"quote\"d", "back\\slash\n"}}));
  NAS_EXPECT_OK(store_->TouchWorker(id));
  w.clear_worker_id();
  EXPECT_THAT(store_->UpsertWorker(w),
              StatusIs(absl::StatusCode::kInvalidArgument, "worker_id"));
}

// --- outages
// -------------------------------------------------------------------

TEST(StoreOutageTest, UnavailableWhileDownThenReconnects) {
  auto server = PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto store = Store::Open({(*server)->conninfo(), 2});
  NAS_ASSERT_OK(store);
  NAS_ASSERT_OK((*store)->Migrate(kMigrationsDir));
  NAS_ASSERT_OK((*store)->ListRunningExperimentIds());

  NAS_ASSERT_OK((*server)->Stop());
  EXPECT_THAT((*store)->ListRunningExperimentIds(),
              StatusIs(absl::StatusCode::kUnavailable, "ListRunning"));
  NAS_ASSERT_OK((*server)->Restart());
  // Each pooled connection is replaced on its next use.
  for (int i = 0; i < 4; ++i) {
    NAS_EXPECT_OK((*store)->ListRunningExperimentIds());
  }
  auto id = (*store)->CreateExperiment(MakeSpec("outage"), 1);
  NAS_EXPECT_OK(id);
}

}  // namespace
}  // namespace nas

namespace nas {
namespace {

// The simulated-seconds budget's storage: costs in seq order, and ending
// an experiment from a seq on (running, queued and evaluated trials alike).
TEST_F(StoreTest, TrialCostsAndFinishOverBudget) {
  std::vector<int64_t> ids;
  const int64_t exp = NewExperiment(4, 3, &ids);
  std::vector<int64_t> trials;
  for (int i = 0; i < 3; ++i) {
    auto t = store_->LeaseTrial("w1", Labels());
    NAS_ASSERT_OK(t);
    ASSERT_TRUE(t->has_value());
    ASSERT_EQ((*t)->candidate_id, ids[i]);
    trials.push_back((*t)->trial_id);
  }
  v1::EvaluationMetrics m0 = MakeMetrics(0.5);
  m0.set_simulated_seconds(10);
  v1::EvaluationMetrics m2 = MakeMetrics(0.9);
  m2.set_simulated_seconds(30.5);
  NAS_ASSERT_OK(store_->RecordResult(trials[0], 1, "w1", m0));
  NAS_ASSERT_OK(store_->RecordResult(trials[2], 1, "w1", m2));

  auto costs = store_->ListTrialCosts(exp, -1);
  NAS_ASSERT_OK(costs);
  ASSERT_EQ(costs->size(), 4u);
  const std::vector<TrialStatus> want = {
      TrialStatus::kSucceeded, TrialStatus::kRunning, TrialStatus::kSucceeded,
      TrialStatus::kQueued};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ((*costs)[i].seq, i);
    EXPECT_EQ((*costs)[i].candidate_id, ids[i]);
    EXPECT_EQ((*costs)[i].status, want[i]) << i;
  }
  EXPECT_DOUBLE_EQ((*costs)[0].simulated_seconds, 10);
  EXPECT_DOUBLE_EQ((*costs)[1].simulated_seconds, 0);
  EXPECT_DOUBLE_EQ((*costs)[2].simulated_seconds, 30.5);
  costs = store_->ListTrialCosts(exp, 1);
  NAS_ASSERT_OK(costs);
  ASSERT_EQ(costs->size(), 2u);
  EXPECT_EQ((*costs)[0].seq, 2);
  EXPECT_DOUBLE_EQ(GetCandidate(exp, ids[2]).metrics().simulated_seconds(),
                   30.5);
  auto all = store_->ListResults(exp);
  NAS_ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_LT((*all)[0].result_id, (*all)[1].result_id);
  auto skipped = store_->ListResults(exp, (*all)[0].result_id);
  NAS_ASSERT_OK(skipped);
  ASSERT_EQ(skipped->size(), 1u);
  EXPECT_EQ((*skipped)[0].trial_id, trials[2]);

  NAS_ASSERT_OK(store_->FinishOverBudget(exp, v1::EXPERIMENT_SUCCEEDED, "", 1,
                                         "not counted: test"));
  auto got = store_->GetExperiment(exp);
  NAS_ASSERT_OK(got);
  EXPECT_EQ(got->state, v1::EXPERIMENT_SUCCEEDED);
  EXPECT_EQ(GetCandidate(exp, ids[0]).state(), v1::CANDIDATE_EVALUATED);
  for (int i = 1; i < 4; ++i) {
    const v1::Candidate c = GetCandidate(exp, ids[i]);
    EXPECT_EQ(c.state(), v1::CANDIDATE_CANCELLED) << i;
    EXPECT_EQ(c.reason(), "not counted: test") << i;
  }
  // The evaluated one past the budget keeps its metrics.
  EXPECT_DOUBLE_EQ(GetCandidate(exp, ids[2]).metrics().val_accuracy(), 0.9);
  auto counts = store_->CountExperiment(exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->trials_succeeded(), 1);
  EXPECT_EQ(counts->trials_running(), 0);
  EXPECT_EQ(counts->trials_queued(), 0);
  EXPECT_THAT(
      Attempts(server_->conninfo(), trials[1]),
      ElementsAre(Attempt(1, "w1", "CANCELLED", "not counted: test", true)));
  // The cut-off running attempt's late report is stale, harmlessly.
  EXPECT_THAT(store_->RecordResult(trials[1], 1, "w1", MakeMetrics(0.7)),
              StatusIs(absl::StatusCode::kFailedPrecondition, "CANCELLED"));
  EXPECT_THAT(
      store_->FinishOverBudget(exp, v1::EXPERIMENT_SUCCEEDED, "", 1, "again"),
      StatusIs(absl::StatusCode::kFailedPrecondition, "SUCCEEDED"));
}

}  // namespace
}  // namespace nas

namespace nas {
namespace {

// Strategy darts (0018): two search rows are allowed beside nothing else
// (no search counts), lease with their seed and checkpoint; a search's
// progress stores its epoch's weights and derived cell (rewritten when a
// resumed attempt reports it again), and its checkpoint, replacing and
// deleting the previous one; a stale attempt's progress writes nothing; the
// result must carry the derived cell, clears the checkpoint and makes the
// search underived until a candidate names it in search_of.
TEST_F(StoreTest, SearchRowsStoreEpochsCheckpointsAndDerivedCells) {
  auto exp = store_->CreateExperiment(MakeSpec(TestName()), 42);
  NAS_ASSERT_OK(exp);
  std::vector<NewCandidate> rows;
  for (int seed : {42, 43}) {
    NewCandidate row;
    row.genotype.set_space("nb201");
    row.genotype.set_canonical(absl::StrCat("darts-search-", seed));
    row.genotype.set_hash(row.genotype.canonical());
    row.supernet = true;
    row.search_seed = seed;
    rows.push_back(row);
  }
  NAS_ASSERT_OK(store_->InsertCandidates(*exp, rows));
  auto counts = store_->CountExperiment(*exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->candidates(), 0);
  EXPECT_EQ(counts->searches(), 2);
  EXPECT_EQ(counts->searches_done(), 0);
  EXPECT_EQ(counts->supernet(), v1::CANDIDATE_STATE_UNSPECIFIED);

  auto t = store_->LeaseTrial("w1", Labels());
  NAS_ASSERT_OK(t);
  ASSERT_TRUE(t->has_value());
  const LeasedTrial first = **t;
  EXPECT_TRUE(first.search);
  EXPECT_EQ(first.search_seed, 42);
  EXPECT_EQ(first.checkpoint_hash, "");

  auto progress = [&](int32_t attempt, const std::string& worker, int epoch,
                      const std::string& checkpoint) {
    v1::ReportProgressRequest p;
    p.set_worker_id(worker);
    p.set_trial_id(first.trial_id);
    p.set_attempt(attempt);
    p.set_epoch(epoch);
    p.set_val_accuracy(0.5 + 0.01 * epoch);
    p.set_train_loss(1.0);
    v1::SearchProgress* s = p.mutable_search();
    for (int i = 0; i < 30; ++i) s->add_arch_weights(0.2);
    v1::Genotype* g = s->mutable_derived();
    g->set_space("nb201");
    for (int op : {epoch % 5, 1, 1, 3, 0, 4}) g->add_choices(op);
    g->set_canonical(absl::StrCat("cell-", epoch));
    s->set_checkpoint(checkpoint);
    return store_->RecordSearchProgress(p);
  };
  auto held = progress(1, "w1", 1, "checkpoint after epoch 1");
  NAS_ASSERT_OK(held);
  EXPECT_TRUE(*held);
  held = progress(1, "w1", 2, "checkpoint after epoch 2");
  NAS_ASSERT_OK(held);
  EXPECT_TRUE(*held);
  // Only the latest checkpoint is kept.
  const std::string hash1 = Sha256Hex("checkpoint after epoch 1");
  const std::string hash2 = Sha256Hex("checkpoint after epoch 2");
  EXPECT_THAT(store_->GetArtifactInfo(hash1).status(),
              StatusIs(absl::StatusCode::kNotFound, ""));
  NAS_ASSERT_OK(store_->GetArtifactInfo(hash2));
  // The lease moves on: the next attempt resumes from epoch 2.
  ExpireLease(first.trial_id);
  NAS_ASSERT_OK(store_->ExpireLeases());
  t = store_->LeaseTrial("w2", Labels());
  NAS_ASSERT_OK(t);
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ((*t)->trial_id, first.trial_id);
  EXPECT_EQ((*t)->checkpoint_hash, hash2);
  EXPECT_EQ((*t)->checkpoint_epoch, 2);
  // The old attempt's report writes nothing.
  held = progress(1, "w1", 3, "stale");
  NAS_ASSERT_OK(held);
  EXPECT_FALSE(*held);
  EXPECT_THAT(store_->GetArtifactInfo(Sha256Hex("stale")).status(),
              StatusIs(absl::StatusCode::kNotFound, ""));
  held = progress(2, "w2", 3, "");
  NAS_ASSERT_OK(held);
  EXPECT_TRUE(*held);
  auto epochs = store_->ListSearchEpochs(*exp);
  NAS_ASSERT_OK(epochs);
  ASSERT_EQ(epochs->size(), 3u);
  EXPECT_EQ((*epochs)[2].epoch(), 3);
  EXPECT_EQ((*epochs)[2].seed(), 42);
  EXPECT_EQ((*epochs)[2].arch_weights_size(), 30);
  EXPECT_EQ((*epochs)[2].derived().canonical(), "cell-3");
  // {3, 1, 1, 3, 0, 4}: skip, skip, none, pool are parameter-free.
  EXPECT_DOUBLE_EQ((*epochs)[2].param_free_share(), 4.0 / 6.0);

  // The result must carry the derived cell.
  EXPECT_THAT(store_->RecordResult(first.trial_id, 2, "w2", MakeMetrics(0.6)),
              StatusIs(absl::StatusCode::kInvalidArgument, "search"));
  v1::SearchProgress final_state;
  v1::Genotype* g = final_state.mutable_derived();
  g->set_space("nb201");
  for (int op : {3, 3, 2, 3, 1, 3}) g->add_choices(op);
  g->set_canonical("final-cell");
  NAS_ASSERT_OK(store_->RecordResult(first.trial_id, 2, "w2", MakeMetrics(0.6),
                                     "", nullptr, &final_state));
  EXPECT_THAT(store_->GetArtifactInfo(hash2).status(),
              StatusIs(absl::StatusCode::kNotFound, ""));
  counts = store_->CountExperiment(*exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->searches_done(), 1);
  EXPECT_EQ(counts->trials_succeeded(), 0);  // not a search candidate
  const v1::Candidate search = GetCandidate(*exp, first.candidate_id);
  EXPECT_TRUE(search.search());
  EXPECT_EQ(search.search_seed(), 42);
  EXPECT_EQ(search.derived().canonical(), "final-cell");
  EXPECT_THAT(search.derived().choices(), ElementsAre(3, 3, 2, 3, 1, 3));
  EXPECT_DOUBLE_EQ(search.param_free_share(), 1.0 / 6.0);
  auto underived = store_->ListUnderivedSearches(*exp);
  NAS_ASSERT_OK(underived);
  ASSERT_EQ(underived->size(), 1u);
  EXPECT_EQ((*underived)[0].search_id, first.candidate_id);
  EXPECT_EQ((*underived)[0].derived.canonical(), "final-cell");
  // Its derived candidate links back; then nothing is underived.
  NewCandidate cell = MakeCandidate(7);
  cell.search_of = first.candidate_id;
  NAS_ASSERT_OK(store_->InsertCandidates(*exp, {cell}));
  underived = store_->ListUnderivedSearches(*exp);
  NAS_ASSERT_OK(underived);
  EXPECT_THAT(*underived, IsEmpty());
}

// Proxy-guided evolution (0019): screening rows count only as screened,
// replay sees one proposal per slot, leases say "screening", a slot is
// listed once all its children ended, with its best scored child, until
// its trained child is stored.
TEST_F(StoreTest, ScreeningSlotsPickTheirBestChildOnce) {
  auto exp = store_->CreateExperiment(MakeSpec(TestName()), 7);
  NAS_ASSERT_OK(exp);
  std::vector<NewCandidate> rows;
  for (int i = 0; i < 6; ++i) {
    NewCandidate row = MakeCandidate(i);
    row.supernet = true;
    row.screening = true;
    row.screen_first = i < 3 ? 0 : 3;  // slots {0,1,2} and {3,4,5}
    row.observed_results = 0;
    rows.push_back(row);
  }
  NAS_ASSERT_OK(store_->InsertCandidates(*exp, rows));
  auto counts = store_->CountExperiment(*exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->candidates(), 0);
  EXPECT_EQ(counts->screened(), 6);
  EXPECT_EQ(counts->screens_pending(), 2);
  auto proposals = store_->ListProposals(*exp);
  NAS_ASSERT_OK(proposals);
  ASSERT_EQ(proposals->size(), 2u);  // one Propose(1) per slot
  EXPECT_EQ((*proposals)[0].genotype.hash(), "hash0");
  EXPECT_EQ((*proposals)[1].genotype.hash(), "hash3");

  std::map<std::string, LeasedTrial> leased;  // by hash
  for (int i = 0; i < 6; ++i) {
    auto t = store_->LeaseTrial("w1", Labels());
    NAS_ASSERT_OK(t);
    ASSERT_TRUE(t->has_value());
    EXPECT_TRUE((*t)->screening);
    EXPECT_FALSE((*t)->supernet);
    leased[(*t)->genotype.hash()] = **t;
  }
  auto score = [&](const std::string& hash, double synflow) {
    v1::EvaluationMetrics m;
    (*m.mutable_named_metrics())["synflow"] = synflow;
    m.set_params(10);
    const LeasedTrial& t = leased[hash];
    return store_->RecordResult(t.trial_id, t.attempt, "w1", m).status();
  };
  NAS_ASSERT_OK(score("hash0", 1.0));
  NAS_ASSERT_OK(score("hash1", 5.0));
  NAS_ASSERT_OK(score("hash2", 3.0));
  NAS_ASSERT_OK(score("hash3", 2.0));
  // Slot 2 still has a child running: only slot 1 is listed.
  auto groups = store_->ListScreenedGroups(*exp, "synflow");
  NAS_ASSERT_OK(groups);
  ASSERT_EQ(groups->size(), 1u);
  const ScreenedGroup first = (*groups)[0];
  EXPECT_EQ(first.children, 3);
  EXPECT_EQ(first.scored, 3);
  EXPECT_EQ(first.best.hash(), "hash1");
  EXPECT_DOUBLE_EQ(first.best_score, 5.0);
  EXPECT_EQ(first.best_id, leased["hash1"].candidate_id);
  EXPECT_EQ(first.best_strategy_data, "{\"i\": 1}");
  // Scores are not search results.
  counts = store_->CountExperiment(*exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->trials_succeeded(), 0);
  auto results = store_->ListResults(*exp);
  NAS_ASSERT_OK(results);
  EXPECT_THAT(*results, IsEmpty());

  // Its trained child: an ordinary candidate naming the slot.
  NewCandidate winner = MakeCandidate(1);
  winner.screen_group = first.group;
  NAS_ASSERT_OK(store_->InsertCandidates(*exp, {winner}));
  groups = store_->ListScreenedGroups(*exp, "synflow");
  NAS_ASSERT_OK(groups);
  EXPECT_THAT(*groups, IsEmpty());
  counts = store_->CountExperiment(*exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->candidates(), 1);
  EXPECT_EQ(counts->screens_pending(), 1);
  proposals = store_->ListProposals(*exp);
  NAS_ASSERT_OK(proposals);
  EXPECT_EQ(proposals->size(), 2u);  // the trained child is no proposal
  // The winner is not a duplicate of its own screening row.
  auto found = store_->FindCandidateByHash(*exp, "hash1");
  NAS_ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_NE(**found, leased["hash1"].candidate_id);

  // Slot 2: one child fails for good, two failed to score: the slot is
  // listed with its only scored child.
  NAS_ASSERT_OK(score("hash4", -1.0));
  for (int attempt = 0; attempt < 10; ++attempt) {
    const v1::Candidate c = GetCandidate(*exp, leased["hash5"].candidate_id);
    if (c.state() == v1::CANDIDATE_FAILED) break;
    if (attempt > 0) {
      auto t = store_->LeaseTrial("w1", Labels());
      NAS_ASSERT_OK(t);
      ASSERT_TRUE(t->has_value());
      leased["hash5"] = **t;
    }
    NAS_ASSERT_OK(store_->RecordFailure(
        leased["hash5"].trial_id, leased["hash5"].attempt, "w1", "no data"));
  }
  groups = store_->ListScreenedGroups(*exp, "synflow");
  NAS_ASSERT_OK(groups);
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].children, 3);
  EXPECT_EQ((*groups)[0].scored, 2);
  EXPECT_EQ((*groups)[0].best.hash(), "hash3");
  // By another proxy nothing was scored.
  groups = store_->ListScreenedGroups(*exp, "snip");
  NAS_ASSERT_OK(groups);
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].best_id, 0);
  EXPECT_EQ((*groups)[0].scored, 0);
}

// Issue 22: a result that arrives just after its lease expired is accepted
// when nobody has leased the trial since; once re-leased it is stale.
TEST_F(StoreTest, LateResultOfAnExpiredAttemptIsAcceptedUntilReleased) {
  const std::string db = server_->conninfo();
  std::vector<int64_t> cands;
  const int64_t exp = NewExperiment(2, /*max_attempts=*/3, &cands);
  auto a = store_->LeaseTrial("wA", Labels());
  auto b = store_->LeaseTrial("wB", Labels());
  NAS_ASSERT_OK(a);
  NAS_ASSERT_OK(b);
  ASSERT_TRUE(a->has_value() && b->has_value());
  const int64_t ta = (*a)->trial_id, tb = (*b)->trial_id;
  ExpireLease(ta);
  ExpireLease(tb);
  auto expired = store_->ExpireLeases();
  NAS_ASSERT_OK(expired);
  EXPECT_EQ(expired->requeued, 2);

  // Another worker cannot claim the expired attempt, nor a wrong attempt.
  EXPECT_THAT(store_->RecordResult(ta, 1, "wX", MakeMetrics(0.5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, "stale"));
  EXPECT_THAT(store_->RecordResult(ta, 2, "wA", MakeMetrics(0.5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, "stale"));
  // Its own worker can, on both write paths (single and group commit).
  auto single = store_->RecordResult(ta, 1, "wA", MakeMetrics(0.61));
  NAS_ASSERT_OK(single);
  EXPECT_EQ(*single, ReportOutcome::kStored);
  const std::string wb = "wB", none;
  const v1::EvaluationMetrics mb = MakeMetrics(0.62);
  auto batch = store_->RecordResults({{tb, 1, &wb, &mb, &none}});
  NAS_ASSERT_OK(batch);
  NAS_ASSERT_OK((*batch)[0].status);
  EXPECT_EQ((*batch)[0].outcome, ReportOutcome::kStored);
  // A retry of the same result is answered as stored, once.
  auto again = store_->RecordResult(ta, 1, "wA", MakeMetrics(0.61));
  NAS_ASSERT_OK(again);
  EXPECT_EQ(*again, ReportOutcome::kAlreadyStored);

  for (int64_t c : cands) {
    EXPECT_EQ(GetCandidate(exp, c).state(), v1::CANDIDATE_EVALUATED);
  }
  EXPECT_THAT(Attempts(db, ta),
              ElementsAre(Attempt(1, "wA", "SUCCEEDED", "", true)));
  auto counts = store_->CountExperiment(exp);
  NAS_ASSERT_OK(counts);
  EXPECT_EQ(counts->trials_succeeded(), 2);
  EXPECT_EQ(counts->trials_queued(), 0);
  // Nothing is left to lease: the trials were not redone.
  auto next = store_->LeaseTrial("wC", Labels());
  NAS_ASSERT_OK(next);
  EXPECT_FALSE(next->has_value());

  // Re-leased before the late result came: the new attempt owns the trial.
  const int64_t exp2 = NewExperiment(1, /*max_attempts=*/3);
  auto first = store_->LeaseTrial("wA", Labels());
  NAS_ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  const int64_t t2 = (*first)->trial_id;
  ExpireLease(t2);
  NAS_ASSERT_OK(store_->ExpireLeases());
  auto second = store_->LeaseTrial("wB", Labels());
  NAS_ASSERT_OK(second);
  ASSERT_TRUE(second->has_value());
  EXPECT_THAT(store_->RecordResult(t2, 1, "wA", MakeMetrics(0.5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, "stale"));
  auto c2 = store_->CountExperiment(exp2);
  NAS_ASSERT_OK(c2);
  EXPECT_EQ(c2->trials_succeeded(), 0);
  EXPECT_EQ(c2->trials_running(), 1);

  // A stopped experiment takes no late result.
  const int64_t exp3 = NewExperiment(1, /*max_attempts=*/3);
  auto third = store_->LeaseTrial("wA", Labels());
  NAS_ASSERT_OK(third);
  ASSERT_TRUE(third->has_value());
  ExpireLease((*third)->trial_id);
  NAS_ASSERT_OK(store_->ExpireLeases());
  NAS_ASSERT_OK(store_->FinishExperiment(exp3, v1::EXPERIMENT_STOPPED, ""));
  EXPECT_THAT(
      store_->RecordResult((*third)->trial_id, 1, "wA", MakeMetrics(0.5)),
      StatusIs(absl::StatusCode::kFailedPrecondition, "stale"));
}

// Issue 22: a model is stored only when the trial asked for one.
TEST_F(StoreTest, ModelIsAcceptedOnlyWhenTheTrialAskedForOne) {
  // keep_models 0 (MakeSpec): nobody asked; refused, nothing stored.
  std::vector<int64_t> cands;
  const int64_t exp = NewExperiment(2, /*max_attempts=*/3, &cands);
  auto a = store_->LeaseTrial("wA", Labels());
  NAS_ASSERT_OK(a);
  ASSERT_TRUE(a->has_value());
  const std::string model(1 << 16, 'm');
  EXPECT_THAT(
      store_->RecordResult((*a)->trial_id, 1, "wA", MakeMetrics(0.5), model),
      StatusIs(absl::StatusCode::kInvalidArgument, "did not ask for a model"));
  EXPECT_EQ(GetCandidate(exp, (*a)->candidate_id).state(),
            v1::CANDIDATE_RUNNING);
  EXPECT_FALSE(store_->GetModel(exp, (*a)->candidate_id).ok());
  // The same result without the model is stored.
  NAS_ASSERT_OK(
      store_->RecordResult((*a)->trial_id, 1, "wA", MakeMetrics(0.5)));
  // In a batch too: the item is refused, its neighbour stored.
  auto b = store_->LeaseTrial("wB", Labels());
  NAS_ASSERT_OK(b);
  ASSERT_TRUE(b->has_value());
  const std::string wb = "wB";
  const v1::EvaluationMetrics m = MakeMetrics(0.4);
  auto batch = store_->RecordResults({{(*b)->trial_id, 1, &wb, &m, &model}});
  NAS_ASSERT_OK(batch);
  EXPECT_THAT((*batch)[0].status,
              StatusIs(absl::StatusCode::kInvalidArgument, "model"));

  // keep_models 1: asked; the model is kept.
  v1::ExperimentSpec spec = MakeSpec(TestName());
  spec.set_keep_models(1);
  auto kept_exp = store_->CreateExperiment(spec, 1);
  NAS_ASSERT_OK(kept_exp);
  NAS_ASSERT_OK(store_->InsertCandidates(*kept_exp, {MakeCandidate(7)}));
  auto k = store_->LeaseTrial("wK", Labels());
  NAS_ASSERT_OK(k);
  ASSERT_TRUE(k->has_value());
  NAS_ASSERT_OK(
      store_->RecordResult((*k)->trial_id, 1, "wK", MakeMetrics(0.7), model));
  auto got = store_->GetModel(*kept_exp, (*k)->candidate_id);
  NAS_ASSERT_OK(got);
  EXPECT_EQ(got->bytes.size(), model.size());

  // TABULAR trials build no network: never asked, even with keep_models.
  v1::ExperimentSpec tab = MakeSpec(TestName());
  tab.set_keep_models(1);
  tab.mutable_evaluation()->set_mode(v1::TABULAR);
  auto tab_exp = store_->CreateExperiment(tab, 1);
  NAS_ASSERT_OK(tab_exp);
  NAS_ASSERT_OK(store_->InsertCandidates(*tab_exp, {MakeCandidate(8)}));
  auto t = store_->LeaseTrial("wT", Labels());
  NAS_ASSERT_OK(t);
  ASSERT_TRUE(t->has_value());
  EXPECT_THAT(
      store_->RecordResult((*t)->trial_id, 1, "wT", MakeMetrics(0.7), model),
      StatusIs(absl::StatusCode::kInvalidArgument, "model"));
}

// Issue 22: no lease outlives its attempt's wall-clock limit.
TEST_F(StoreTest, LeasesAreNotRenewedPastTheAttemptLimit) {
  StoreOptions options{server_->conninfo(), 1};
  options.max_attempt_seconds = 3600;
  auto limited = Store::Open(options);
  NAS_ASSERT_OK(limited);
  Store& store = **limited;
  const std::string db = server_->conninfo();
  const int64_t exp = NewExperiment(1, /*max_attempts=*/2);
  auto a = store.LeaseTrial("wA", Labels());
  NAS_ASSERT_OK(a);
  ASSERT_TRUE(a->has_value());
  const int64_t trial = (*a)->trial_id;
  // Within the limit: renewals and progress hold the lease.
  EXPECT_EQ(store.RenewLease(trial, 1, "wA").value(), true);
  v1::ReportProgressRequest p;
  p.set_worker_id("wA");
  p.set_trial_id(trial);
  p.set_attempt(1);
  p.set_epoch(1);
  EXPECT_EQ(store.RecordProgress(p).value(), true);

  // 59 minutes 30 s into the attempt: a renewal gives at most 30 s more,
  // not lease_seconds (60).
  Sql(
      absl::StrCat("UPDATE trials SET started_at = now() - interval "
                   "'3570 seconds' WHERE id = ",
                   trial));
  EXPECT_EQ(store.RenewLease(trial, 1, "wA").value(), true);
  pqxx::connection conn(db);
  pqxx::nontransaction txn(conn);
  const double left =
      txn.exec1(absl::StrCat("SELECT extract(epoch FROM lease_until - now()) "
                             "FROM trials WHERE id = ",
                             trial))[0]
          .as<double>();
  EXPECT_LE(left, 31);
  EXPECT_GT(left, 20);
  // A restarted controller's extension is capped the same way.
  NAS_ASSERT_OK(store.ExtendRunningLeases());
  EXPECT_LE(txn.exec1(absl::StrCat("SELECT extract(epoch FROM lease_until - "
                                   "now()) FROM trials WHERE id = ",
                                   trial))[0]
                .as<double>(),
            31);

  // Past the limit: neither renewals nor progress hold it any more, and the
  // expiry says why.
  Sql(
      absl::StrCat("UPDATE trials SET started_at = now() - interval "
                   "'2 hours' WHERE id = ",
                   trial));
  EXPECT_EQ(store.RenewLease(trial, 1, "wA").value(), false);
  p.set_epoch(2);
  EXPECT_EQ(store.RecordProgress(p).value(), false);
  ExpireLease(trial);
  auto expired = store.ExpireLeases();
  NAS_ASSERT_OK(expired);
  EXPECT_EQ(expired->requeued, 1);
  const v1::Candidate c = GetCandidate(exp, (*a)->candidate_id);
  EXPECT_EQ(c.state(), v1::CANDIDATE_QUEUED);
  const std::string error =
      txn.exec1(absl::StrCat("SELECT error FROM trials WHERE id = ", trial))[0]
          .as<std::string>();
  EXPECT_THAT(error, ::testing::HasSubstr("--max_attempt_seconds"));
  const std::vector<AttemptRow> attempts = Attempts(db, trial);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0], Attempt(1, "wA", "EXPIRED", error, true));
  EXPECT_THAT(error, ::testing::HasSubstr("3600 s per trial attempt"));
}

// Issue 22: a listing reads a page's counters in one statement; each
// experiment's row is the same as its own count.
TEST_F(StoreTest, CountsOfAPageMatchEachExperimentsOwn) {
  const int64_t a = NewExperiment(3);
  const int64_t b = NewExperiment(1);
  auto leased = store_->LeaseTrial("w1", Labels());
  NAS_ASSERT_OK(leased);
  auto page = store_->CountExperimentsTotals({a, b, 987654321});
  NAS_ASSERT_OK(page);
  ASSERT_EQ(page->size(), 2u);  // the unknown id is left out
  for (int64_t id : {a, b}) {
    auto own = store_->CountExperimentTotals(id);
    NAS_ASSERT_OK(own);
    EXPECT_TRUE(SameMessage(page->at(id).counts, own->counts)) << id;
    EXPECT_EQ(page->at(id).simulated_seconds, own->simulated_seconds);
  }
  EXPECT_EQ(page->at(a).counts.candidates(), 3);
  EXPECT_EQ(page->at(b).counts.candidates(), 1);
  EXPECT_EQ(
      page->at(a).counts.trials_running() + page->at(b).counts.trials_running(),
      1);
  EXPECT_THAT(store_->CountExperimentTotals(987654321).status(),
              StatusIs(absl::StatusCode::kNotFound, "987654321"));
}

}  // namespace
}  // namespace nas

namespace nas {
namespace {

// Issue 23: ListLearningCurves returns, per trained candidate in seq order,
// the epochs of its trial's latest reporting attempt and where the
// controller's STOP cut it; pages continue after the last seq.
TEST_F(StoreTest, LearningCurvesAreTheLatestAttemptsEpochsWithTheStop) {
  std::vector<int64_t> cands;
  const int64_t exp = NewExperiment(3, /*max_attempts=*/3, &cands);
  auto report = [&](int64_t trial, int attempt, const std::string& worker,
                    int epoch, double acc) {
    v1::ReportProgressRequest p;
    p.set_worker_id(worker);
    p.set_trial_id(trial);
    p.set_attempt(attempt);
    p.set_epoch(epoch);
    p.set_val_accuracy(acc);
    p.set_train_loss(1.0 / epoch);
    p.set_seconds(10.0 * epoch);
    ASSERT_EQ(store_->RecordProgress(p).value(), true);
  };
  // First trial: attempt 1 reports one epoch and expires; attempt 2
  // reports three, and the controller stops it at epoch 2... (attempt 2's
  // curve is the one returned).
  auto a = store_->LeaseTrial("wA", Labels());
  NAS_ASSERT_OK(a);
  ASSERT_TRUE(a->has_value());
  const int64_t t1 = (*a)->trial_id;
  report(t1, 1, "wA", 1, 0.10);
  ExpireLease(t1);
  NAS_ASSERT_OK(store_->ExpireLeases().status());
  auto b = store_->LeaseTrial("wB", Labels());
  NAS_ASSERT_OK(b);
  ASSERT_TRUE(b->has_value());
  ASSERT_EQ((*b)->trial_id, t1);
  report(t1, 2, "wB", 1, 0.20);
  report(t1, 2, "wB", 2, 0.25);
  NAS_ASSERT_OK(
      store_->RecordStopDecision(t1, 2, 2, "asha: rung 0 epoch 2: 0.25 < 0.5"));
  // Second trial: two epochs, never stopped. Third: nothing reported.
  auto c = store_->LeaseTrial("wC", Labels());
  NAS_ASSERT_OK(c);
  ASSERT_TRUE(c->has_value());
  const int64_t t2 = (*c)->trial_id;
  report(t2, 1, "wC", 1, 0.30);
  report(t2, 1, "wC", 2, 0.40);

  auto all = store_->ListLearningCurves(exp, -1, 10);
  NAS_ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  const v1::LearningCurve& first = (*all)[0];
  EXPECT_EQ(first.trial_id(), t1);
  EXPECT_EQ(first.attempt(), 2);
  EXPECT_EQ(first.seq(), 0);
  ASSERT_EQ(first.points_size(), 2);
  EXPECT_DOUBLE_EQ(first.points(0).val_accuracy(), 0.20);
  EXPECT_EQ(first.points(1).epoch(), 2);
  EXPECT_DOUBLE_EQ(first.points(1).seconds(), 20.0);
  EXPECT_EQ(first.stopped_at_epoch(), 2);
  EXPECT_THAT(first.early_stopped(), ::testing::HasSubstr("asha: rung 0"));
  const v1::LearningCurve& second = (*all)[1];
  EXPECT_EQ(second.trial_id(), t2);
  EXPECT_EQ(second.stopped_at_epoch(), 0);
  EXPECT_EQ(second.early_stopped(), "");
  EXPECT_EQ(second.state(), v1::CANDIDATE_RUNNING);
  EXPECT_EQ(second.candidate_id(), cands[second.seq()]);
  // Paging: one curve, then the rest after its seq.
  auto page1 = store_->ListLearningCurves(exp, -1, 1);
  NAS_ASSERT_OK(page1);
  ASSERT_EQ(page1->size(), 1u);
  auto page2 = store_->ListLearningCurves(exp, (*page1)[0].seq(), 1);
  NAS_ASSERT_OK(page2);
  ASSERT_EQ(page2->size(), 1u);
  EXPECT_EQ((*page2)[0].trial_id(), t2);
}

// Issue 23: ReopenExperiment runs a finished experiment again with a new
// spec, keeps its rows, and refuses a FAILED one or a state that changed.
TEST_F(StoreTest, ReopenRunsAStoppedExperimentAgainWithItsNewBudget) {
  const int64_t exp = NewExperiment(2);
  NAS_ASSERT_OK(store_->FinishExperiment(exp, v1::EXPERIMENT_STOPPED, ""));
  auto rec = store_->GetExperiment(exp);
  NAS_ASSERT_OK(rec);
  v1::ExperimentSpec spec = rec->spec;
  spec.mutable_budget()->set_max_trials(spec.budget().max_trials() + 5);
  // Expected RUNNING, but it is STOPPED: refused, nothing changes.
  EXPECT_EQ(store_->ReopenExperiment(exp, spec, v1::EXPERIMENT_RUNNING).code(),
            absl::StatusCode::kFailedPrecondition);
  NAS_ASSERT_OK(store_->ReopenExperiment(exp, spec, v1::EXPERIMENT_STOPPED));
  auto again = store_->GetExperiment(exp);
  NAS_ASSERT_OK(again);
  EXPECT_EQ(again->state, v1::EXPERIMENT_RUNNING);
  EXPECT_FALSE(again->finished_at.has_value());
  EXPECT_EQ(again->spec.budget().max_trials(), spec.budget().max_trials());
  auto ids = store_->ListRunningExperimentIds();
  NAS_ASSERT_OK(ids);
  EXPECT_THAT(*ids, ::testing::Contains(exp));
  // The stopped run's candidates are still there (CANCELLED by the stop).
  CandidateQuery q;
  q.experiment_id = exp;
  q.limit = 10;
  auto page = store_->ListCandidates(q);
  NAS_ASSERT_OK(page);
  EXPECT_EQ(page->candidates.size(), 2u);
  // A FAILED experiment never runs again.
  NAS_ASSERT_OK(store_->FinishExperiment(exp, v1::EXPERIMENT_FAILED, "x"));
  absl::Status failed =
      store_->ReopenExperiment(exp, spec, v1::EXPERIMENT_FAILED);
  EXPECT_EQ(failed.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(failed.message(), ::testing::HasSubstr("cannot run again"));
}

}  // namespace
}  // namespace nas
