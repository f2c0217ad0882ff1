#include "controller/controller.h"

#include <cstdio>
#include <utility>

#include "common/status_macros.h"

namespace nas {

Controller::Controller(Store* store, ControllerOptions options)
    : store_(store),
      options_(std::move(options)),
      workers_(store, WorkerRegistry::Options{options_.worker_alive,
                                              options_.worker_retention,
                                              options_.max_registry_workers}),
      dispatch_(store, &workers_, options_),
      scheduler_(store, &dispatch_, options_),
      intake_(store, &workers_, &scheduler_, options_.metrics),
      experiments_(store, &scheduler_, &workers_, options_) {}

// Stops the ticker first; then the members go in reverse order (the result
// writer stores what is waiting and stops).
Controller::~Controller() { Shutdown(); }

absl::Status Controller::Start() {
  // Silent workers leave memory and the workers table (at most once per
  // quarter retention; the registry decides) after each tick.
  scheduler_.AddTickListener([this] {
    absl::Status s = workers_.PruneStore();
    if (!s.ok()) {
      fprintf(stderr, "controller: pruning workers: %s\n",
              s.ToString().c_str());
    }
  });
  return scheduler_.Start();
}

void Controller::Shutdown() { scheduler_.Shutdown(); }

int Controller::AddTickListener(std::function<void()> listener) {
  return scheduler_.AddTickListener(std::move(listener));
}

void Controller::RemoveTickListener(int id) {
  scheduler_.RemoveTickListener(id);
}

void Controller::Wake() { scheduler_.Wake(); }

void Controller::SetPaused(bool paused) { scheduler_.SetPaused(paused); }

absl::StatusOr<OpsSnapshot> Controller::GetOpsSnapshot() {
  NAS_ASSIGN_OR_RETURN(OpsStats stats, store_->GetOpsStats());
  OpsSnapshot out;
  out.trials_by_status = std::move(stats.trials_by_status);
  out.oldest_queued_seconds = stats.oldest_queued_seconds;
  out.workers_alive = workers_.CountAlive();
  for (const auto& [id, best] : stats.running_best_val_accuracy) {
    OpsSnapshot::Experiment& e = out.running[id];
    e.best_val_accuracy = best;
    v1::GetParetoFrontRequest req;
    req.set_experiment_id(id);
    absl::StatusOr<v1::GetParetoFrontResponse> front =
        experiments_.GetParetoFront(req);
    // An experiment that finished meanwhile has no front to count: skip.
    if (front.ok()) e.pareto_front_size = front->front_size();
  }
  return out;
}

absl::StatusOr<v1::Experiment> Controller::CreateExperiment(
    const v1::CreateExperimentRequest& request) {
  return experiments_.CreateExperiment(request);
}

absl::StatusOr<v1::Experiment> Controller::GetExperiment(int64_t id) {
  return experiments_.GetExperiment(id);
}

absl::StatusOr<v1::ListExperimentsResponse> Controller::ListExperiments(
    const v1::ListExperimentsRequest& request) {
  return experiments_.ListExperiments(request);
}

absl::StatusOr<v1::Experiment> Controller::StopExperiment(int64_t id) {
  return experiments_.StopExperiment(id);
}

absl::StatusOr<v1::Experiment> Controller::ExtendExperiment(
    const v1::ExtendExperimentRequest& request) {
  return experiments_.ExtendExperiment(request);
}

absl::StatusOr<v1::ListLearningCurvesResponse> Controller::ListLearningCurves(
    const v1::ListLearningCurvesRequest& request) {
  return experiments_.ListLearningCurves(request);
}

absl::StatusOr<v1::ListCandidatesResponse> Controller::ListCandidates(
    const v1::ListCandidatesRequest& request) {
  return experiments_.ListCandidates(request);
}

absl::StatusOr<v1::GetParetoFrontResponse> Controller::GetParetoFront(
    const v1::GetParetoFrontRequest& request) {
  return experiments_.GetParetoFront(request);
}

absl::StatusOr<v1::ExportCandidateResponse> Controller::ExportCandidate(
    const v1::ExportCandidateRequest& request) {
  return experiments_.ExportCandidate(request);
}

absl::StatusOr<v1::ListSearchEpochsResponse> Controller::ListSearchEpochs(
    const v1::ListSearchEpochsRequest& request) {
  return experiments_.ListSearchEpochs(request);
}

absl::StatusOr<v1::RegisterWorkerResponse> Controller::RegisterWorker(
    const v1::RegisterWorkerRequest& request) {
  return dispatch_.RegisterWorker(request);
}

std::vector<absl::StatusOr<v1::AcquireTrialResponse>> Controller::AcquireTrials(
    const std::vector<std::string>& worker_ids) {
  return dispatch_.AcquireTrials(worker_ids);
}

absl::StatusOr<v1::RenewLeaseResponse> Controller::RenewLease(
    const v1::RenewLeaseRequest& request) {
  return dispatch_.RenewLease(request);
}

absl::StatusOr<v1::ReportProgressResponse> Controller::ReportProgress(
    const v1::ReportProgressRequest& request) {
  return dispatch_.ReportProgress(request);
}

absl::StatusOr<v1::ReportResultResponse> Controller::ReportResult(
    const v1::ReportResultRequest& request) {
  return intake_.Report(request);
}

void Controller::ReportResultAsync(const v1::ReportResultRequest& request,
                                   ReportResultDone done) {
  intake_.ReportAsync(request, std::move(done));
}

absl::StatusOr<ArtifactInfo> Controller::GetArtifactInfo(
    const std::string& worker_id, const std::string& hash) {
  return dispatch_.GetArtifactInfo(worker_id, hash);
}

absl::StatusOr<std::string> Controller::ReadArtifactChunk(
    const std::string& hash, int32_t seq) {
  return dispatch_.ReadArtifactChunk(hash, seq);
}

}  // namespace nas
