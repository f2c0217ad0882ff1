// ResultIntake: takes the workers' trial results. Successful results are
// group-committed: one writer thread stores every result waiting at that
// moment in one transaction (Store::RecordResults), so commits (and result
// ids) are in one order; failures and refused metrics are stored at once
// by the caller's thread. Each stored result marks its experiment dirty
// with the scheduler. Thread-safe; its lock guards only the queue of
// waiting results and is never held across a database call.
#ifndef NAS_CONTROLLER_RESULT_INTAKE_H_
#define NAS_CONTROLLER_RESULT_INTAKE_H_

#include <deque>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "controller/metrics.h"
#include "controller/scheduler.h"
#include "controller/store/store.h"
#include "controller/worker_registry.h"
#include "nas/v1/worker.pb.h"

namespace nas {

class ResultIntake {
 public:
  using Done = std::function<void(absl::StatusOr<v1::ReportResultResponse>)>;

  // Starts the writer thread. `store`, `workers` and `scheduler` must
  // outlive the intake; `metrics` may be nullptr (no metrics).
  ResultIntake(Store* store, WorkerRegistry* workers, Scheduler* scheduler,
               ControllerMetrics* metrics);
  // Stores the results still waiting, then stops the writer thread.
  ~ResultIntake();

  // InvalidArgument for metrics that cannot be true (NaN, accuracy outside
  // [0,1], negative costs): the attempt is recorded as failed with that
  // reason. FailedPrecondition for a stale attempt (nothing changes).
  // Blocks until the result is durably stored (ReportAsync).
  absl::StatusOr<v1::ReportResultResponse> Report(
      const v1::ReportResultRequest& request);
  // Report without blocking: `done` is called exactly once, from this
  // thread or the writer's, when the outcome is known. `request` must stay
  // valid until `done` is called.
  void ReportAsync(const v1::ReportResultRequest& request, Done done);

 private:
  struct PendingResult {
    const v1::ReportResultRequest* request;
    Done done;
  };

  void WriterLoop();
  // Failures and refused metrics: stored synchronously.
  absl::StatusOr<v1::ReportResultResponse> ReportFailure(
      const v1::ReportResultRequest& request);

  // Constant after construction.
  Store* const store_;
  WorkerRegistry* const workers_;
  Scheduler* const scheduler_;
  ControllerMetrics* const metrics_;

  // State below is guarded by mu_.
  absl::Mutex mu_;
  std::deque<PendingResult> pending_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;

  // Started by the constructor, joined by the destructor.
  std::thread writer_;
};

}  // namespace nas

#endif  // NAS_CONTROLLER_RESULT_INTAKE_H_
