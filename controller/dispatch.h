// Dispatch: the worker-facing verbs of the controller. Registers workers,
// leases trials (one lease transaction per set of labels), renews leases,
// takes progress reports and decides early stopping by each experiment's
// stop rule, and serves artifacts. Thread-safe; its lock guards only the
// stop rules and is never held across a database call.
#ifndef NAS_CONTROLLER_DISPATCH_H_
#define NAS_CONTROLLER_DISPATCH_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "controller/controller_options.h"
#include "controller/store/store.h"
#include "controller/worker_registry.h"
#include "nas/v1/experiment.pb.h"
#include "nas/v1/worker.pb.h"

namespace nas {

class Dispatch {
 public:
  // `store` and `workers` must outlive the dispatch; of `options` it uses
  // metrics and max_leases_per_worker.
  Dispatch(Store* store, WorkerRegistry* workers,
           const ControllerOptions& options);

  // Stores the worker (Store::UpsertWorker) and records its labels.
  absl::StatusOr<v1::RegisterWorkerResponse> RegisterWorker(
      const v1::RegisterWorkerRequest& request);
  // Leases a trial now for each waiting call of `worker_ids` (one lease
  // transaction per set of labels); an empty response where nothing matched
  // the worker. FailedPrecondition for a worker that never registered.
  std::vector<absl::StatusOr<v1::AcquireTrialResponse>> AcquireTrials(
      const std::vector<std::string>& worker_ids);
  absl::StatusOr<v1::RenewLeaseResponse> RenewLease(
      const v1::RenewLeaseRequest& request);
  // ABANDON when the lease is no longer held; STOP (recorded first) when
  // the experiment's stop rule (SetStopRule) stops the trial at this epoch;
  // else CONTINUE.
  absl::StatusOr<v1::ReportProgressResponse> ReportProgress(
      const v1::ReportProgressRequest& request);
  // FetchArtifact: the artifact's header, then its pieces by seq.
  // InvalidArgument for a malformed hash, NotFound for an unknown one.
  absl::StatusOr<ArtifactInfo> GetArtifactInfo(const std::string& worker_id,
                                               const std::string& hash);
  absl::StatusOr<std::string> ReadArtifactChunk(const std::string& hash,
                                                int32_t seq);

  // Makes ReportProgress apply `rule` (spec.early_stopping; trials of
  // `max_epochs` epochs, whose progress reports carry `metric`,
  // evaluation.progress_metric) to experiment `id`'s trials from now on.
  void SetStopRule(int64_t id, const v1::EarlyStoppingSpec& rule,
                   int max_epochs, const std::string& metric = "val_accuracy");

  // What AcquireTrial answers for a trial just leased.
  static v1::AcquireTrialResponse TrialResponse(const LeasedTrial& leased);

 private:
  struct StopRule {
    v1::EarlyStoppingSpec rule;
    int max_epochs = 0;
    std::string metric;  // named in stop reasons
  };

  // Constant after construction.
  Store* const store_;
  WorkerRegistry* const workers_;
  ControllerMetrics* const metrics_;  // nullptr: no metrics
  const int max_leases_per_worker_;

  // State below is guarded by mu_.
  absl::Mutex mu_;
  // Early-stopping rules of the experiments loaded with one (by id), read
  // by ReportProgress without waiting for a tick.
  std::map<int64_t, StopRule> stop_rules_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nas

#endif  // NAS_CONTROLLER_DISPATCH_H_
