// gRPC adapter for nas.v1.ExperimentService (callback API). Handlers only
// adapt: they call Controller and convert its status. WatchExperiment
// streams cost no thread while waiting: they are advanced by the
// controller's ticker. Thread-safe.
#ifndef NAS_CONTROLLER_SERVICE_EXPERIMENT_SERVICE_H_
#define NAS_CONTROLLER_SERVICE_EXPERIMENT_SERVICE_H_

#include <set>

#include "absl/synchronization/mutex.h"
#include "controller/controller.h"
#include "controller/service/auth.h"
#include "nas/v1/experiment.grpc.pb.h"

namespace nas {

class WatchReactor;

class ExperimentServiceImpl final
    : public v1::ExperimentService::CallbackService {
 public:
  // `controller` must outlive the service; the server must be shut down
  // before the service is destroyed.
  ExperimentServiceImpl(Controller* controller, const TokenAuthorizer* auth);
  ~ExperimentServiceImpl() override;

  grpc::ServerUnaryReactor* CreateExperiment(
      grpc::CallbackServerContext* ctx, const v1::CreateExperimentRequest* req,
      v1::Experiment* resp) override;
  grpc::ServerUnaryReactor* GetExperiment(grpc::CallbackServerContext* ctx,
                                          const v1::GetExperimentRequest* req,
                                          v1::Experiment* resp) override;
  grpc::ServerUnaryReactor* ListExperiments(
      grpc::CallbackServerContext* ctx, const v1::ListExperimentsRequest* req,
      v1::ListExperimentsResponse* resp) override;
  grpc::ServerUnaryReactor* StopExperiment(grpc::CallbackServerContext* ctx,
                                           const v1::StopExperimentRequest* req,
                                           v1::Experiment* resp) override;
  grpc::ServerUnaryReactor* ExtendExperiment(
      grpc::CallbackServerContext* ctx, const v1::ExtendExperimentRequest* req,
      v1::Experiment* resp) override;
  grpc::ServerUnaryReactor* ListLearningCurves(
      grpc::CallbackServerContext* ctx,
      const v1::ListLearningCurvesRequest* req,
      v1::ListLearningCurvesResponse* resp) override;
  grpc::ServerUnaryReactor* ListCandidates(
      grpc::CallbackServerContext* ctx, const v1::ListCandidatesRequest* req,
      v1::ListCandidatesResponse* resp) override;
  grpc::ServerUnaryReactor* GetParetoFront(
      grpc::CallbackServerContext* ctx, const v1::GetParetoFrontRequest* req,
      v1::GetParetoFrontResponse* resp) override;
  grpc::ServerWriteReactor<v1::ExperimentEvent>* WatchExperiment(
      grpc::CallbackServerContext* ctx,
      const v1::WatchExperimentRequest* req) override;
  grpc::ServerUnaryReactor* ExportCandidate(
      grpc::CallbackServerContext* ctx, const v1::ExportCandidateRequest* req,
      v1::ExportCandidateResponse* resp) override;
  grpc::ServerUnaryReactor* ListSearchEpochs(
      grpc::CallbackServerContext* ctx, const v1::ListSearchEpochsRequest* req,
      v1::ListSearchEpochsResponse* resp) override;

  void RemoveWatcher(WatchReactor* w);

 private:
  void PollWatchers();

  Controller* const controller_;
  const TokenAuthorizer* const auth_;
  int listener_id_ = -1;
  absl::Mutex mu_;
  std::set<WatchReactor*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nas

#endif  // NAS_CONTROLLER_SERVICE_EXPERIMENT_SERVICE_H_
