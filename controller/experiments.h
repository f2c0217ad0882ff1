// Experiments: the client verbs of the controller (ExperimentService):
// create, read, list and stop experiments, list candidates, Pareto fronts
// and model export. Reads go to the store; creating and stopping an
// experiment also tell the scheduler. No state of its own: thread-safe.
#ifndef NAS_CONTROLLER_EXPERIMENTS_H_
#define NAS_CONTROLLER_EXPERIMENTS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "controller/controller_options.h"
#include "controller/scheduler.h"
#include "controller/store/store.h"
#include "controller/worker_registry.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

class Experiments {
 public:
  // `store`, `scheduler` and `workers` must outlive this object; of
  // `options` it uses max_candidates_per_experiment,
  // max_running_experiments, max_parallel_trials, max_response_bytes and
  // max_attempt_seconds.
  Experiments(Store* store, Scheduler* scheduler, WorkerRegistry* workers,
              const ControllerOptions& options);

  // Validates and stores the spec (a random seed when it has none), starts
  // the experiment in the scheduler and wakes it. InvalidArgument for a bad
  // spec, a budget.max_trials over the candidate limit or a
  // budget.parallel_trials over max_parallel_trials (each message names the
  // field and the flag); ResourceExhausted at max_running_experiments.
  absl::StatusOr<v1::Experiment> CreateExperiment(
      const v1::CreateExperimentRequest& request);
  absl::StatusOr<v1::Experiment> GetExperiment(int64_t id);
  // Listings: page_size 0 = the default (50 experiments, 100 candidates),
  // larger than the maximum (kMaxExperimentsPage, kMaxCandidatesPage) = the
  // maximum. A page also ends before its serialized size would pass
  // max_response_bytes (it always holds one item), with a
  // next_page_token. Each listed experiment costs a fixed number of small
  // statements (counters, best candidate), whatever its size.
  static constexpr int kMaxExperimentsPage = 100;
  static constexpr int kMaxCandidatesPage = 1000;
  absl::StatusOr<v1::ListExperimentsResponse> ListExperiments(
      const v1::ListExperimentsRequest& request);
  // Stops a RUNNING experiment; a finished one is returned unchanged
  // (stopping is idempotent, like `docker stop`).
  absl::StatusOr<v1::Experiment> StopExperiment(int64_t id);
  // Raises the budget and runs the experiment again from its replayed
  // strategy state (see ExperimentService.ExtendExperiment).
  // InvalidArgument names a budget field at or below what was spent, or
  // asks for one when a SUCCEEDED or RUNNING experiment gets none;
  // FailedPrecondition for a FAILED experiment or one whose final
  // re-trainings (spec.final) started; ResourceExhausted at
  // max_running_experiments.
  absl::StatusOr<v1::Experiment> ExtendExperiment(
      const v1::ExtendExperimentRequest& request);
  // Learning curves by candidate seq; page_size 0 = 100, at most
  // kMaxCandidatesPage; the page also ends before max_response_bytes.
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
  // Strategy darts: every search's stored epochs. NotFound for an unknown
  // experiment; empty for other strategies.
  absl::StatusOr<v1::ListSearchEpochsResponse> ListSearchEpochs(
      const v1::ListSearchEpochsRequest& request);

 private:
  // The API's view of a stored experiment: counts, best candidate, phase,
  // simulated seconds and why its queued trials wait.
  absl::StatusOr<v1::Experiment> BuildExperiment(const ExperimentRecord& rec);
  // The same with the experiment's counters already read (a listing reads
  // a page's counters at once).
  absl::StatusOr<v1::Experiment> BuildExperiment(
      const ExperimentRecord& rec, Store::ExperimentTotals totals);
  // Why queued trials of an experiment wait, or "" (see Experiment.waiting).
  std::string WaitingReason(const v1::Experiment& e);

  // Constant after construction.
  Store* const store_;
  Scheduler* const scheduler_;
  WorkerRegistry* const workers_;
  const int64_t max_candidates_per_experiment_;
  const int max_running_experiments_;
  const int max_attempt_seconds_;
  const int max_parallel_trials_;
  const int64_t max_response_bytes_;
};

}  // namespace nas

#endif  // NAS_CONTROLLER_EXPERIMENTS_H_
