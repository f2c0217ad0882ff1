// The controller's logic, free of transport types: experiment lifecycle,
// proposal top-up, the trial queue with leases (kept in PostgreSQL through
// Store), result intake and Pareto fronts. gRPC services adapt to it.
// Thread-safe: any method may be called from any thread.
//
// A facade over the parts that do the work, one responsibility each
// (controller/README.md): Scheduler (the ticker: top-up, budgets, finishing;
// scheduler.h), Dispatch (leases, renewals, progress and early stopping;
// dispatch.h), WorkerRegistry (the fleet's labels and liveness), ResultIntake
// (group-committed results; result_intake.h), Experiments (the client
// verbs; experiments.h). The pure proposal rules (top-up decisions,
// duplicates, constraints, the simulated budget) are in proposal_rules.h,
// included here.
//
// A background ticker (every `tick`, or at once after a change) expires
// leases, tops each running experiment up to `parallel_trials` active
// trials until its budget is spent, finishes experiments whose trials are
// all done, and then calls every registered tick listener (long polls and
// watch streams use that to make progress without threads of their own).
// A tick woken by a reported result or failure visits only that result's
// experiment; every experiment is visited (and leases expired) at least
// once per `tick`, so the per-tick cost does not grow with the number of
// idle running experiments.
#ifndef NAS_CONTROLLER_CONTROLLER_H_
#define NAS_CONTROLLER_CONTROLLER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/controller_options.h"
#include "controller/dispatch.h"
#include "controller/experiments.h"
#include "controller/metrics.h"
#include "controller/proposal_rules.h"
#include "controller/result_intake.h"
#include "controller/scheduler.h"
#include "controller/store/store.h"
#include "controller/worker_registry.h"
#include "nas/v1/experiment.pb.h"
#include "nas/v1/worker.pb.h"

namespace nas {

class Controller {
 public:
  // `store` must outlive the controller.
  Controller(Store* store, ControllerOptions options);
  ~Controller();  // stops the ticker

  // Rebuilds every RUNNING experiment from the store (strategy replay) and
  // starts the ticker. Call once.
  absl::Status Start();
  // Stops the ticker; later calls still work but nothing advances.
  void Shutdown();

  // Listener called from the ticker thread after each tick. Must not block
  // for long. Returns an id for RemoveTickListener.
  int AddTickListener(std::function<void()> listener);
  void RemoveTickListener(int id);
  // Asks for a tick of every experiment as soon as possible.
  void Wake();
  // While paused (the leadership lock is lost, e.g. the database is down)
  // the ticker proposes, expires and finishes nothing; RPCs still work.
  // Unpausing first gives every running trial a fresh lease
  // (Store::ExtendRunningLeases; Start does the same), so that workers that
  // could not renew during the outage do not lose their trials.
  void SetPaused(bool paused);

  // For the metrics: the database's counts plus this controller's view of
  // the fleet (workers alive) and each running experiment's Pareto front.
  // kUnavailable when the database cannot be reached.
  absl::StatusOr<OpsSnapshot> GetOpsSnapshot();

  // --- ExperimentService ---------------------------------------------------
  absl::StatusOr<v1::Experiment> CreateExperiment(
      const v1::CreateExperimentRequest& request);
  absl::StatusOr<v1::Experiment> GetExperiment(int64_t id);
  absl::StatusOr<v1::ListExperimentsResponse> ListExperiments(
      const v1::ListExperimentsRequest& request);
  // FailedPrecondition when the experiment already finished.
  absl::StatusOr<v1::Experiment> StopExperiment(int64_t id);
  absl::StatusOr<v1::Experiment> ExtendExperiment(
      const v1::ExtendExperimentRequest& request);
  absl::StatusOr<v1::ListLearningCurvesResponse> ListLearningCurves(
      const v1::ListLearningCurvesRequest& request);
  absl::StatusOr<v1::ListCandidatesResponse> ListCandidates(
      const v1::ListCandidatesRequest& request);
  absl::StatusOr<v1::GetParetoFrontResponse> GetParetoFront(
      const v1::GetParetoFrontRequest& request);
  // The kept TorchScript model of a candidate (final re-training first).
  // NotFound when the experiment is unknown or no model is kept.
  absl::StatusOr<v1::ExportCandidateResponse> ExportCandidate(
      const v1::ExportCandidateRequest& request);
  absl::StatusOr<v1::ListSearchEpochsResponse> ListSearchEpochs(
      const v1::ListSearchEpochsRequest& request);

  // --- WorkerService -------------------------------------------------------
  absl::StatusOr<v1::RegisterWorkerResponse> RegisterWorker(
      const v1::RegisterWorkerRequest& request);
  // Leases a trial now for each waiting call of `worker_ids` (one lease
  // transaction per set of labels); an empty response where nothing matched
  // the worker. FailedPrecondition for a worker that never registered.
  std::vector<absl::StatusOr<v1::AcquireTrialResponse>> AcquireTrials(
      const std::vector<std::string>& worker_ids);
  absl::StatusOr<v1::RenewLeaseResponse> RenewLease(
      const v1::RenewLeaseRequest& request);
  absl::StatusOr<v1::ReportProgressResponse> ReportProgress(
      const v1::ReportProgressRequest& request);
  // InvalidArgument for metrics that cannot be true (NaN, accuracy outside
  // [0,1], negative costs): the attempt is recorded as failed with that
  // reason. FailedPrecondition for a stale attempt (nothing changes).
  // Blocks until the result is durably stored (ReportResultAsync).
  absl::StatusOr<v1::ReportResultResponse> ReportResult(
      const v1::ReportResultRequest& request);
  // ReportResult without blocking: `done` is called exactly once, from this
  // thread or the result writer's, when the outcome is known. Results are
  // group-committed: one writer thread stores every result waiting at that
  // moment in one transaction, so commits (and result ids) are in one
  // order. `request` must stay valid until `done` is called.
  using ReportResultDone =
      std::function<void(absl::StatusOr<v1::ReportResultResponse>)>;
  void ReportResultAsync(const v1::ReportResultRequest& request,
                         ReportResultDone done);
  // FetchArtifact: the artifact's header, then its pieces by seq.
  // InvalidArgument for a malformed hash, NotFound for an unknown one.
  absl::StatusOr<ArtifactInfo> GetArtifactInfo(const std::string& worker_id,
                                               const std::string& hash);
  absl::StatusOr<std::string> ReadArtifactChunk(const std::string& hash,
                                                int32_t seq);

 private:
  // Constant after construction: the parts, in the order they are built
  // (each may call those above it) and destroyed in reverse; none of them
  // has a lock the facade takes.
  Store* const store_;
  const ControllerOptions options_;
  WorkerRegistry workers_;
  Dispatch dispatch_;
  Scheduler scheduler_;
  ResultIntake intake_;
  Experiments experiments_;
};

}  // namespace nas

#endif  // NAS_CONTROLLER_CONTROLLER_H_
