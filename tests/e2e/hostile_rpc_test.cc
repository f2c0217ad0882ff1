// Issue 22, bounded memory and time of controller RPCs, over real gRPC
// against a real controller and PostgreSQL: a flood of fresh worker ids is
// forgotten after --worker_retention (memory and the workers table);
// budget.parallel_trials over --max_parallel_trials is refused naming the
// flag; listing large TABULAR experiments reads counters, not trials, so
// the controller's peak memory barely moves even with 8 listings at once.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
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

using ::testing::HasSubstr;

// Resets VmHWM to the current RSS (Linux >= 4.0).
void ResetPeak(pid_t pid) {
  std::ofstream(absl::StrCat("/proc/", pid, "/clear_refs")) << "5";
}

class HostileRpc : public ::testing::Test {
 protected:
  void SetUp() override {
    NAS_ASSERT_OK(cluster_.Start("hostile-rpc"));
    cluster_.controller_flags = {"--worker_retention=300ms",
                                 "--max_parallel_trials=8"};
    ASSERT_TRUE(cluster_.StartController());
    workers_ = v1::WorkerService::NewStub(cluster_.channel());
    pid_ = cluster_.controller()->pid();
  }
  void TearDown() override { cluster_.Finish(HasFailure()); }

  std::string Sql(const std::string& q) { return cluster_.Psql(q); }
  int64_t RssMib() { return testing::ProcStatusKib(pid_, "VmRSS") / 1024; }
  int64_t PeakMib() { return testing::ProcStatusKib(pid_, "VmHWM") / 1024; }

  // A TABULAR experiment over a table of `dir`, stopped at once so that
  // the scheduler leaves it alone; returns its id.
  int64_t CreateStoppedTabular(const std::string& name) {
    const std::string table = cluster_.dir() + "/table.csv";
    if (!std::ifstream(table).good()) {
      testing::WriteSimpleNb201Table(table, 1);
    }
    v1::Experiment exp;
    testing::SpecYaml spec;
    spec.name = name;
    spec.strategy = "{name: random, seed: 3}";
    spec.budget = testing::TrialBudget(2, 1);
    spec.evaluation = testing::TabularLookup(table, 0, "");
    spec.extra = "required_labels: {nobody: here}\n";
    grpc::Status st = cluster_.Create(spec.Yaml(), &exp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    grpc::ClientContext ctx;
    v1::StopExperimentRequest stop;
    stop.set_id(exp.id());
    v1::Experiment stopped;
    st = cluster_.stub()->StopExperiment(&ctx, stop, &stopped);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return exp.id();
  }

  testing::LocalCluster cluster_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
  pid_t pid_ = 0;
};

// Finding 1: 40,000 fresh worker ids, each with 16 labels of 160 bytes.
// Kept forever, they would hold well over 100 MiB of the controller's
// memory and 40,000 rows; with a 300 ms retention the registry holds a
// few thousand at most and the rows are pruned.
TEST_F(HostileRpc, WorkerFloodIsForgottenAfterRetention) {
  const int64_t before = RssMib();
  ASSERT_GT(before, 0);
  constexpr int kWorkers = 40000;
  constexpr int kThreads = 8;
  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto stub = v1::WorkerService::NewStub(cluster_.channel());
      v1::RegisterWorkerRequest req;
      for (int l = 0; l < 16; ++l) {
        (*req.mutable_labels())[absl::StrCat(
            "label-key-", l, std::string(20, 'k'))] = std::string(128, 'v');
      }
      for (int i = next++; i < kWorkers; i = next++) {
        req.set_worker_id(absl::StrCat("flood-", i));
        grpc::ClientContext ctx;
        v1::RegisterWorkerResponse resp;
        if (!stub->RegisterWorker(&ctx, req, &resp).ok()) ++failed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  const int64_t after = RssMib();
  // Every row goes once its worker is silent for the retention.
  EXPECT_TRUE(testing::LocalCluster::WaitFor(
      "the workers table to be pruned",
      [&] { return cluster_.Count("SELECT count(*) FROM workers") == 0; },
      absl::Seconds(20)));
  printf("controller RSS %lld MiB before, %lld MiB after %d registrations\n",
         static_cast<long long>(before), static_cast<long long>(after),
         kWorkers);
  EXPECT_LT(after - before, 64)
      << "controller RSS " << before << " MiB before, " << after
      << " MiB after " << kWorkers << " registrations";
  // A pruned worker that calls again registers as new, as always.
  grpc::ClientContext ctx;
  v1::AcquireTrialRequest acquire;
  acquire.set_worker_id("flood-1");
  v1::AcquireTrialResponse resp;
  grpc::Status st = workers_->AcquireTrial(&ctx, acquire, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("call RegisterWorker"));
}

// A real worker silent past the retention (SIGSTOP) is forgotten, row and
// all; when it runs again it is told to register and does so by itself.
TEST_F(HostileRpc, ForgottenWorkerRegistersAgainByItself) {
  testing::ChildProcess* w = cluster_.StartWorker("paused");
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(cluster_.WaitForWorkers(1));
  w->Signal(SIGSTOP);
  const std::string count =
      "SELECT count(*) FROM workers WHERE worker_id = 'paused'";
  bool pruned = false;
  for (int i = 0; i < 200 && !pruned; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    pruned = Sql(count) == "0";
  }
  w->Signal(SIGCONT);
  ASSERT_TRUE(pruned) << "the silent worker's row was never pruned";
  bool back = false;
  for (int i = 0; i < 300 && !back; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    back = Sql(count) == "1";
  }
  EXPECT_TRUE(back) << testing::ReadFile(w->log_path());
  EXPECT_THAT(testing::ReadFile(w->log_path()), HasSubstr("registering again"));
}

// Finding 2: parallel_trials above --max_parallel_trials is refused, naming
// the field and the flag, and nothing is stored.
TEST_F(HostileRpc, ParallelTrialsOverTheFlagIsRefused) {
  v1::Experiment exp;
  grpc::Status st = cluster_.Create(R"(name: wide
search_space: {name: nb201}
strategy: {name: random, seed: 3}
budget: {max_trials: 100, parallel_trials: 9}
evaluation: {mode: FULL, epochs: 1}
)",
                                    &exp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(),
              HasSubstr("budget.parallel_trials: 9 exceeds this controller's "
                        "limit of 8"));
  EXPECT_THAT(st.error_message(), HasSubstr("--max_parallel_trials"));
  EXPECT_EQ(Sql("SELECT count(*) FROM experiments"), "0");
}

// Finding 3: listing large TABULAR experiments (seeded with SQL, 60,000
// succeeded trials each) reads their counters: the right counts and
// simulated seconds, and the peak RSS moves by under 6 MiB with 8 listings
// at once (reading every trial, the controller before issue 22 grew by
// 14 MiB here).
TEST_F(HostileRpc, ListingLargeExperimentsReadsCounters) {
  std::vector<int64_t> ids;
  for (int e = 0; e < 2; ++e) {
    ids.push_back(CreateStoppedTabular(absl::StrCat("big-", e)));
  }
  for (int64_t id : ids) {
    Sql(absl::StrCat(
        "WITH c AS (INSERT INTO candidates (experiment_id, seq, space, "
        "canonical, choices, arch_hash, state, val_accuracy, "
        "simulated_seconds) SELECT ",
        id,
        ", 1000 + g, 'nb201', 'seeded-' || g, '{0,0,0,0,0,0}', 'seeded-' || "
        "g, 'EVALUATED', 0.5, 0.5 FROM generate_series(0, 59999) g "
        "RETURNING id, experiment_id) "
        "INSERT INTO trials (experiment_id, candidate_id, status, "
        "max_attempts, lease_seconds) SELECT experiment_id, id, 'SUCCEEDED', "
        "1, 60 FROM c"));
  }
  ResetPeak(pid_);
  const int64_t peak_before = PeakMib();
  ASSERT_GT(peak_before, 0);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto stub = v1::ExperimentService::NewStub(cluster_.channel());
      grpc::ClientContext ctx;
      v1::ListExperimentsRequest req;
      req.set_page_size(1000);  // more than the maximum page: capped
      v1::ListExperimentsResponse resp;
      grpc::Status st = stub->ListExperiments(&ctx, req, &resp);
      if (!st.ok() || resp.experiments_size() != 2) {
        ++bad;
        return;
      }
      for (const v1::Experiment& e : resp.experiments()) {
        if (e.counts().trials_succeeded() < 60000 ||
            e.simulated_seconds() < 30000 - 1e-6 ||
            e.simulated_seconds() > 30000 + 1e-6) {
          ++bad;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  const int64_t peak_after = PeakMib();
  printf("controller peak RSS %lld MiB before, %lld MiB after 8 listings\n",
         static_cast<long long>(peak_before),
         static_cast<long long>(peak_after));
  EXPECT_LT(peak_after - peak_before, 6)
      << "controller peak RSS " << peak_before << " MiB before, " << peak_after
      << " MiB after 8 listings at once";
  v1::Experiment one = cluster_.Get(ids[0]);
  EXPECT_DOUBLE_EQ(one.simulated_seconds(), 30000);
  EXPECT_GE(one.counts().candidates(), 60000);
}

}  // namespace
}  // namespace nas
