// Faults end to end (issue 8): a real PostgreSQL, nas-controller and
// nas-worker processes on loopback, real LibTorch training on Fashion-MNIST,
// and one fault injected per test: a worker SIGKILLed mid-trial, a worker
// SIGSTOPped past its lease then continued, the controller SIGKILLed and
// restarted, the controller SIGKILLed with a standby running, PostgreSQL
// stopped for 20 s. Each experiment must still end SUCCEEDED with exactly
// its budget of evaluated candidates, no duplicates and no lost results,
// checked in the database with psql (independently of the store code).
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/testing/cluster.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::ChildProcess;
using ::nas::testing::ReadLog;

// Real training, sized so that one trial takes a few seconds on one core:
// `epochs` epochs over `train_samples` images, random search (no retrained
// duplicates: spec.duplicates is left at its default, skip).
std::string Spec(int trials, int lease_seconds, int train_samples, int epochs,
                 int seed) {
  testing::SpecYaml spec;
  spec.name = "faults";
  spec.search_space = testing::TinyNb201();
  spec.strategy = absl::StrCat("{name: random, seed: ", seed, "}");
  spec.budget = testing::TrialBudget(trials, 2);
  spec.lease_seconds = lease_seconds;
  spec.evaluation = testing::FullTraining(epochs, train_samples, 300, 300);
  return spec.Yaml();
}

// A trial attempt: which trial, which attempt, leased by whom.
struct Attempt {
  int64_t trial = 0;
  int attempt = 0;
  std::string worker;
};

class Faults : public ::testing::Test, public testing::LocalCluster {
 protected:
  void SetUp() override {
    start_ = absl::Now();
    NAS_ASSERT_OK(Start("faults"));
  }

  void TearDown() override {
    Finish(HasFailure(), 60);
    std::cerr << "[ wall time ] "
              << ::testing::UnitTest::GetInstance()->current_test_info()->name()
              << ": " << absl::FormatDuration(absl::Now() - start_) << "\n";
  }

  int64_t Submit(const std::string& yaml) {
    v1::Experiment e;
    grpc::Status s = Create(yaml, &e);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return e.id();
  }

  // The attempt that `worker` is running now if it has reported at least
  // one epoch of it (it is mid-trial); trial 0 otherwise.
  Attempt MidTrial(const std::string& worker) {
    Attempt a;
    a.worker = worker;
    const std::string row = Psql(
        absl::StrCat("SELECT t.id || '|' || t.attempt FROM trials t WHERE "
                     "t.status = 'RUNNING' AND t.worker_id = '",
                     worker,
                     "' AND EXISTS (SELECT 1 FROM trial_progress p WHERE "
                     "p.trial_id = t.id AND p.attempt = t.attempt) LIMIT 1"));
    std::vector<std::string> f = absl::StrSplit(row, '|');
    if (f.size() != 2 || !absl::SimpleAtoi(f[0], &a.trial) ||
        !absl::SimpleAtoi(f[1], &a.attempt)) {
      a.trial = 0;
    }
    return a;
  }

  // Waits up to `timeout` for MidTrial(worker).
  Attempt WaitMidTrial(const std::string& worker, absl::Duration timeout) {
    Attempt a;
    WaitFor(
        worker + " to report an epoch of a running trial",
        [&] {
          a = MidTrial(worker);
          return a.trial > 0;
        },
        timeout);
    return a;
  }

  // "attempt:worker:outcome ..." of every attempt of `trial`, in order.
  std::string History(int64_t trial) {
    return Psql(absl::StrCat(
        "SELECT string_agg(attempt || ':' || worker_id || ':' || outcome, ' ' "
        "ORDER BY attempt) FROM trial_attempts WHERE trial_id=",
        trial));
  }

  // "attempt:worker" of the result stored for `trial` ("" when none).
  std::string StoredResult(int64_t trial) {
    return Psql(absl::StrCat(
        "SELECT attempt || ':' || worker_id FROM results WHERE trial_id=",
        trial));
  }

  // The highest results.id so far (0 when none).
  int LastResultId() {
    return Count("SELECT coalesce(max(id), 0) FROM results");
  }

  // The checks every fault must pass once experiment `id` has ended.
  void CheckExactBudget(int64_t id, int budget) {
    SCOPED_TRACE(absl::StrCat("experiment ", id));
    const std::string e = absl::StrCat(id);
    const std::string search =
        " FROM candidates WHERE final_of IS NULL AND NOT supernet AND "
        "experiment_id=" +
        e;
    EXPECT_EQ(Psql("SELECT state FROM experiments WHERE id=" + e), "SUCCEEDED");
    // Exactly the budget of evaluated search candidates.
    EXPECT_EQ(Count("SELECT count(*)" + search + " AND state = 'EVALUATED'"),
              budget);
    // No genotype evaluated twice (the spec does not retrain duplicates).
    EXPECT_EQ(Count("SELECT count(*) FROM (SELECT arch_hash" + search +
                    " AND state = 'EVALUATED' GROUP BY arch_hash HAVING "
                    "count(*) > 1) d"),
              0);
    // No lost result: every SUCCEEDED attempt has its own result stored.
    EXPECT_EQ(Count("SELECT count(*) FROM trial_attempts a JOIN trials t ON "
                    "t.id = a.trial_id WHERE a.outcome = 'SUCCEEDED' AND "
                    "t.experiment_id=" +
                    e +
                    " AND NOT EXISTS (SELECT 1 FROM results r WHERE "
                    "r.trial_id = a.trial_id AND r.attempt = a.attempt AND "
                    "r.worker_id = a.worker_id)"),
              0);
    EXPECT_EQ(Count("SELECT count(*) FROM trial_attempts a JOIN trials t ON "
                    "t.id = a.trial_id WHERE a.outcome = 'SUCCEEDED' AND "
                    "t.experiment_id=" +
                    e),
              budget);
    // No candidate with two results; nothing left running or queued.
    EXPECT_EQ(Count("SELECT count(*) FROM (SELECT candidate_id FROM results "
                    "WHERE experiment_id=" +
                    e + " GROUP BY candidate_id HAVING count(*) > 1) d"),
              0);
    EXPECT_EQ(Count("SELECT count(*) FROM trials WHERE status IN ('QUEUED', "
                    "'RUNNING') AND experiment_id=" +
                    e),
              0);
    CheckNoDuplicatesNoLoss(id, budget);
  }

  absl::Time start_;
};

// A worker SIGKILLed after its first progress report: its lease expires,
// the trial goes back to the queue and the other worker's attempt wins.
TEST_F(Faults, WorkerKilledMidTrial) {
  ASSERT_TRUE(StartController());
  StartWorker("victim");
  StartWorker("w2");
  ASSERT_TRUE(WaitForWorkers(2));
  const int64_t id = Submit(Spec(6, 3, 1500, 2, 31));
  ASSERT_GT(id, 0);
  const Attempt killed = WaitMidTrial("victim", absl::Minutes(2));
  ASSERT_GT(killed.trial, 0);
  worker("victim")->Signal(SIGKILL);
  ASSERT_TRUE(worker("victim")->WaitFor(absl::Seconds(10)).has_value());
  ASSERT_TRUE(WaitFinished(id, absl::Minutes(3)));
  CheckExactBudget(id, 6);
  EXPECT_EQ(History(killed.trial),
            absl::StrCat(killed.attempt, ":victim:EXPIRED ", killed.attempt + 1,
                         ":w2:SUCCEEDED"));
  EXPECT_EQ(StoredResult(killed.trial),
            absl::StrCat(killed.attempt + 1, ":w2"));
  EXPECT_TRUE(worker("w2")->Running());
}

// A worker SIGSTOPped mid-trial until its lease has expired and the trial
// was re-leased to, and finished by, the other worker; then SIGCONT: its
// late ReportResult is refused as stale, the stored result is the
// re-leased attempt's, and the stopped worker carries on with new trials.
TEST_F(Faults, WorkerStoppedPastItsLeaseIsRefusedThenCarriesOn) {
  ASSERT_TRUE(StartController());
  StartWorker("sleeper");
  StartWorker("w2");
  ASSERT_TRUE(WaitForWorkers(2));
  const int64_t id = Submit(Spec(8, 3, 1500, 2, 32));
  ASSERT_GT(id, 0);
  const Attempt stopped = WaitMidTrial("sleeper", absl::Minutes(2));
  ASSERT_GT(stopped.trial, 0);
  worker("sleeper")->Signal(SIGSTOP);
  const std::string rescued = absl::StrCat(stopped.attempt + 1, ":w2");
  const bool re_leased = WaitFor(
      "the stopped worker's trial to be re-leased and finished by w2",
      [&] { return StoredResult(stopped.trial) == rescued; }, absl::Minutes(2));
  const int last_before_continue = LastResultId();
  worker("sleeper")->Signal(SIGCONT);
  ASSERT_TRUE(re_leased);
  // Its late report is sent and refused as stale.
  const std::string refused =
      absl::StrCat("[trial ", stopped.trial, " attempt ", stopped.attempt,
                   "] result refused: FAILED_PRECONDITION");
  WaitFor(
      "the late report to be refused",
      [&] { return absl::StrContains(ReadLog(*this, "sleeper"), refused); },
      absl::Seconds(60));
  const std::string log = ReadLog(*this, "sleeper");
  EXPECT_TRUE(absl::StrContains(
      log, absl::StrCat("stale report for trial ", stopped.trial, " attempt ",
                        stopped.attempt)))
      << log;
  ASSERT_TRUE(WaitFinished(id, absl::Minutes(3)));
  CheckExactBudget(id, 8);
  EXPECT_EQ(StoredResult(stopped.trial), rescued);
  EXPECT_EQ(History(stopped.trial),
            absl::StrCat(stopped.attempt, ":sleeper:EXPIRED ", rescued,
                         ":SUCCEEDED"));
  // The stopped worker carried on: results of its own after SIGCONT.
  EXPECT_GE(
      Count(absl::StrCat("SELECT count(*) FROM results WHERE worker_id = "
                         "'sleeper' AND id > ",
                         last_before_continue, " AND experiment_id=", id)),
      1);
  EXPECT_TRUE(worker("sleeper")->Running());
}

// The controller SIGKILLed mid-experiment and restarted on the same
// database and port: the same worker processes reconnect and finish it.
TEST_F(Faults, ControllerKilledAndRestarted) {
  ASSERT_TRUE(StartController());
  ChildProcess* w1 = StartWorker("w1");
  ChildProcess* w2 = StartWorker("w2");
  ASSERT_TRUE(w1 && w2);
  const pid_t pids[] = {w1->pid(), w2->pid()};
  ASSERT_TRUE(WaitForWorkers(2));
  const int64_t id = Submit(Spec(6, 10, 1500, 2, 33));
  ASSERT_GT(id, 0);
  ASSERT_TRUE(WaitForResults(id, 2));
  const int last_before_kill = LastResultId();
  ASSERT_TRUE(KillController());
  absl::SleepFor(absl::Seconds(3));  // the outage itself, not a check
  ASSERT_TRUE(StartController());
  ASSERT_TRUE(WaitFinished(id, absl::Minutes(3)));
  CheckExactBudget(id, 6);
  // The same processes, never restarted, reported results to the new
  // controller (mid-trial during the 3 s outage, they may not even have
  // noticed it: their heartbeats failed and were not retried).
  EXPECT_TRUE(w1->Running() && w2->Running());
  EXPECT_EQ(worker("w1")->pid(), pids[0]);
  EXPECT_EQ(worker("w2")->pid(), pids[1]);
  for (const std::string w : {"w1", "w2"}) {
    SCOPED_TRACE(w);
    EXPECT_GE(Count(absl::StrCat("SELECT count(*) FROM results WHERE "
                                 "worker_id = '",
                                 w, "' AND id > ", last_before_kill)),
              1);
  }
}

// The active controller SIGKILLed while a standby waits on the leadership
// lock; workers were given both addresses. The standby takes over within
// 10 s and the same workers finish the experiment through it; nasctl with
// the same address list reaches it too.
TEST_F(Faults, ControllerKilledWithAStandbyRunning) {
  ASSERT_TRUE(StartController("controller"));
  ASSERT_TRUE(StartController("standby", {}, /*connect_client=*/false));
  WaitFor(
      "the standby to wait for the lock",
      [&] {
        return absl::StrContains(ReadLog(*this, "standby"), "standby: another");
      },
      absl::Seconds(20));
  const std::string both =
      absl::StrCat(address("controller"), ",", address("standby"));
  ChildProcess* w1 = StartWorker("w1", {}, both);
  ChildProcess* w2 = StartWorker("w2", {}, both);
  ASSERT_TRUE(w1 && w2);
  ASSERT_TRUE(WaitForWorkers(2));
  const int64_t id = Submit(Spec(6, 10, 1500, 2, 34));
  ASSERT_GT(id, 0);
  ASSERT_TRUE(WaitForResults(id, 2));
  const int last_before_kill = LastResultId();
  ASSERT_TRUE(KillController("controller"));
  const absl::Time killed = absl::Now();
  absl::Time active = absl::InfiniteFuture();
  WaitFor(
      "the standby to take over",
      [&] {
        if (!absl::StrContains(ReadLog(*this, "standby"),
                               "active (holds the leadership lock)")) {
          return false;
        }
        active = absl::Now();
        return true;
      },
      absl::Seconds(15));
  ASSERT_TRUE(UseController("standby", absl::Seconds(10)));
  const absl::Duration takeover = absl::Now() - killed;
  std::cerr << "[ takeover  ] standby active after "
            << absl::FormatDuration(active - killed) << ", serving after "
            << absl::FormatDuration(takeover) << "\n";
  EXPECT_LT(takeover, absl::Seconds(10));
  ASSERT_TRUE(WaitFinished(id, absl::Minutes(3)));
  CheckExactBudget(id, 6);
  EXPECT_TRUE(w1->Running() && w2->Running());
  EXPECT_EQ(Count("SELECT count(*) FROM workers"), 2);
  for (const std::string w : {"w1", "w2"}) {
    SCOPED_TRACE(w);
    EXPECT_TRUE(
        absl::StrContains(ReadLog(*this, w), "trying " + address("standby")));
    EXPECT_GE(Count(absl::StrCat("SELECT count(*) FROM results WHERE "
                                 "worker_id = '",
                                 w, "' AND id > ", last_before_kill)),
              1);
  }
  // nasctl given the dead controller first reaches the standby.
  std::string out;
  EXPECT_EQ(testing::RunCommand(
                absl::StrCat(testing::Binary("client/nasctl"), " --controller ",
                             both, " show ", id, " 2>&1"),
                &out),
            0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "SUCCEEDED")) << out;
}

// PostgreSQL stopped for 20 s while both workers are mid-trial, then
// started again on the same data and port: the controller and the workers
// ride it out (same processes), the results finished during the outage are
// retried until stored, as the attempts that produced them, and the budget
// is exact. The lease (10 s) is shorter than the outage: a lease cannot
// run out while no controller could renew it.
TEST_F(Faults, DatabaseStoppedFor20Seconds) {
  controller_flags = {"--database_outage_seconds=90"};
  ASSERT_TRUE(StartController());
  ChildProcess* w1 = StartWorker("w1");
  ChildProcess* w2 = StartWorker("w2");
  ASSERT_TRUE(w1 && w2);
  ASSERT_TRUE(WaitForWorkers(2));
  const int64_t id = Submit(Spec(6, 10, 2000, 2, 35));
  ASSERT_GT(id, 0);
  // Both workers mid-trial at once: each has reported epoch 1 of 2 of the
  // trial it runs, so each finishes it while the database is down.
  Attempt a1, a2;
  ASSERT_TRUE(WaitFor(
      "both workers mid-trial",
      [&] {
        a1 = MidTrial("w1");
        a2 = MidTrial("w2");
        return a1.trial > 0 && a2.trial > 0;
      },
      absl::Minutes(2)));
  const pid_t controller_pid = controller()->pid();
  NAS_ASSERT_OK(postgres().Stop());
  const absl::Time stopped = absl::Now();
  // The workers finish their trials and retry ReportResult meanwhile.
  WaitFor(
      "both workers to retry ReportResult during the outage",
      [&] {
        return absl::StrContains(ReadLog(*this, "w1"), "ReportResult failed") &&
               absl::StrContains(ReadLog(*this, "w2"), "ReportResult failed");
      },
      absl::Seconds(19));
  absl::SleepFor(stopped + absl::Seconds(20) - absl::Now());  // the outage
  EXPECT_TRUE(controller()->Running());
  EXPECT_TRUE(w1->Running() && w2->Running());
  NAS_ASSERT_OK(postgres().Restart());
  ASSERT_TRUE(WaitFinished(id, absl::Minutes(3)));
  CheckExactBudget(id, 6);
  EXPECT_TRUE(controller()->Running());
  EXPECT_EQ(controller()->pid(), controller_pid);
  EXPECT_TRUE(w1->Running() && w2->Running());
  // The results finished during the outage were stored, by the attempts
  // that produced them: no lease ran out, nothing was trained twice.
  for (const Attempt& a : {a1, a2}) {
    SCOPED_TRACE(a.worker);
    EXPECT_EQ(StoredResult(a.trial), absl::StrCat(a.attempt, ":", a.worker));
    EXPECT_TRUE(absl::StrContains(ReadLog(*this, a.worker),
                                  "ReportResult succeeded after"));
    EXPECT_FALSE(absl::StrContains(ReadLog(*this, a.worker), "result refused"));
  }
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM trial_attempts a JOIN "
                               "trials t ON t.id = a.trial_id WHERE "
                               "a.outcome <> 'SUCCEEDED' AND t.experiment_id=",
                               id)),
            0);
  EXPECT_TRUE(absl::StrContains(ReadLog(*this, "controller"),
                                "leadership lock retaken"));
}

}  // namespace
}  // namespace nas
