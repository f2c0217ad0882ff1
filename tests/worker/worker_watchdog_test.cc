// The worker loop's watchdog end to end in one process (issue 22): a fake
// WorkerService over real in-process gRPC leases one trial to RunWorker,
// whose evaluator blocks and never returns; past --max_trial_seconds (or
// the grace after a lost lease) the worker reports the attempt failed with
// the limit named and ends the process (status 3; nas-worker's
// on_abandoned re-executes instead). Death tests: the process must end.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nas/v1/worker.grpc.pb.h"
#include "worker/evaluators/evaluator.h"
#include "worker/worker_loop.h"

namespace nas {
namespace {

// Leases trial 7 once; renews while `lease_ok`; prints each result report
// to stderr (what the death test's regex reads).
class FakeController final : public v1::WorkerService::Service {
 public:
  explicit FakeController(bool lease_ok) : lease_ok_(lease_ok) {}
  grpc::Status RegisterWorker(grpc::ServerContext*,
                              const v1::RegisterWorkerRequest*,
                              v1::RegisterWorkerResponse*) override {
    return grpc::Status::OK;
  }
  grpc::Status AcquireTrial(grpc::ServerContext*,
                            const v1::AcquireTrialRequest*,
                            v1::AcquireTrialResponse* resp) override {
    if (leased_.exchange(true)) return grpc::Status::OK;
    v1::Trial* t = resp->mutable_trial();
    t->set_trial_id(7);
    t->set_attempt(1);
    t->set_lease_seconds(3);
    return grpc::Status::OK;
  }
  grpc::Status RenewLease(grpc::ServerContext*, const v1::RenewLeaseRequest*,
                          v1::RenewLeaseResponse* resp) override {
    resp->set_ok(lease_ok_);
    return grpc::Status::OK;
  }
  grpc::Status ReportResult(grpc::ServerContext*,
                            const v1::ReportResultRequest* req,
                            v1::ReportResultResponse* resp) override {
    fprintf(stderr, "REPORTED trial %lld attempt %d: %s\n",
            static_cast<long long>(req->trial_id()), req->attempt(),
            req->error().c_str());
    resp->set_accepted(true);
    return grpc::Status::OK;
  }

 private:
  const bool lease_ok_;
  std::atomic<bool> leased_{false};
};

// Blocks forever, as an open() of a FIFO did.
class BlockedEvaluator final : public Evaluator {
 public:
  absl::StatusOr<v1::EvaluationMetrics> Evaluate(
      const v1::Trial&, const ProgressCallback&) override {
    absl::Notification never;
    never.WaitForNotification();
    return v1::EvaluationMetrics();
  }
  std::string device() const override { return "blocked"; }
};

// Serves `fake`, runs a worker with `max_trial` and `grace` against it.
// With `stop_after`, `stop` becomes true then (SIGTERM in nas-worker).
void RunBlockedWorker(bool lease_ok, absl::Duration max_trial,
                      absl::Duration grace,
                      absl::Duration stop_after = absl::InfiniteDuration()) {
  FakeController fake(lease_ok);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&fake);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  WorkerOptions o;
  o.controllers = {"127.0.0.1:" + std::to_string(port)};
  o.worker_id = "w-blocked";
  o.max_trial = max_trial;
  o.abandon_grace = grace;
  o.cache_dir = ::testing::TempDir() + "/worker-watchdog-cache";
  BlockedEvaluator evaluator;
  std::atomic<bool> stop{false};
  std::thread stopper([&stop, stop_after] {
    if (stop_after == absl::InfiniteDuration()) return;
    absl::SleepFor(stop_after);
    stop = true;
  });
  stopper.detach();
  (void)RunWorker(o, &evaluator, &stop);  // never returns: the watchdog ends
  std::_Exit(0);                          // the process first
}

TEST(WorkerWatchdogDeathTest, AttemptPastMaxTrialSecondsIsReportedAndEnds) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(RunBlockedWorker(true, absl::Seconds(2), absl::Seconds(30)),
              ::testing::ExitedWithCode(3),
              "REPORTED trial 7 attempt 1: DEADLINE_EXCEEDED: worker "
              "w-blocked abandoned \\[trial 7 attempt 1\\]: the attempt ran "
              "past --max_trial_seconds \\(2 s\\); the worker restarts");
}

TEST(WorkerWatchdogDeathTest, LostLeaseIgnoredPastTheGraceIsReportedAndEnds) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // RenewLease refused (lease_seconds 3: the first renewal after 1 s);
  // the evaluator ignores it for the 1 s grace.
  EXPECT_EXIT(RunBlockedWorker(false, absl::Hours(1), absl::Seconds(1)),
              ::testing::ExitedWithCode(3),
              "did not end within --abandon_grace_seconds \\(1 s\\) after it "
              "was asked to stop");
}

TEST(WorkerWatchdogDeathTest, ShutdownIgnoredPastTheGraceExits) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(RunBlockedWorker(true, absl::Hours(1), absl::Seconds(1),
                               absl::Milliseconds(500)),
              ::testing::ExitedWithCode(3),
              "after it was asked to stop; the worker exits");
}

}  // namespace
}  // namespace nas
