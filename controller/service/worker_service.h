// gRPC adapter for nas.v1.WorkerService (callback API). AcquireTrial is a
// long poll that holds no thread while waiting. One lease thread serves the
// calls: all that arrived while it was busy are leased together (one
// transaction per set of worker labels, Controller::AcquireTrials); calls
// that found nothing wait and are tried again after each of the
// controller's ticks, until a trial is leased, the wait ends or the client
// goes away. Thread-safe.
#ifndef NAS_CONTROLLER_SERVICE_WORKER_SERVICE_H_
#define NAS_CONTROLLER_SERVICE_WORKER_SERVICE_H_

#include <list>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "controller/service/auth.h"
#include "controller/controller.h"
#include "nas/v1/worker.grpc.pb.h"

namespace nas {

// A call waiting for the lease thread: an AcquireTrial, or a ReportResult
// that asked for its worker's next trial.
class LeaseCall {
 public:
  virtual ~LeaseCall() = default;
  virtual const std::string& worker_id() const = 0;
  // Takes the lease answer for this call; `ticks` counts the controller's
  // ticks so far. True with *status set when the call is to be answered
  // now; false: it waits for the next try (after the next tick).
  virtual bool Take(absl::StatusOr<v1::AcquireTrialResponse> r, int64_t ticks,
                    grpc::Status* status) = 0;
  // Finishes the RPC (once).
  virtual void Answer(const grpc::Status& status) = 0;
};

class WorkerServiceImpl final : public v1::WorkerService::CallbackService {
 public:
  // `controller` and `auth` must outlive the service; shut the server
  // down first. Every call is first checked by `auth` (role worker).
  WorkerServiceImpl(Controller* controller, const TokenAuthorizer* auth);
  ~WorkerServiceImpl() override;

  grpc::ServerUnaryReactor* RegisterWorker(
      grpc::CallbackServerContext* ctx, const v1::RegisterWorkerRequest* req,
      v1::RegisterWorkerResponse* resp) override;
  grpc::ServerUnaryReactor* AcquireTrial(
      grpc::CallbackServerContext* ctx, const v1::AcquireTrialRequest* req,
      v1::AcquireTrialResponse* resp) override;
  grpc::ServerUnaryReactor* RenewLease(grpc::CallbackServerContext* ctx,
                                       const v1::RenewLeaseRequest* req,
                                       v1::RenewLeaseResponse* resp) override;
  grpc::ServerUnaryReactor* ReportProgress(
      grpc::CallbackServerContext* ctx, const v1::ReportProgressRequest* req,
      v1::ReportProgressResponse* resp) override;
  grpc::ServerUnaryReactor* ReportResult(
      grpc::CallbackServerContext* ctx, const v1::ReportResultRequest* req,
      v1::ReportResultResponse* resp) override;
  // Streams the artifact's chunks in order, reading one chunk from the
  // store per write (memory stays at one chunk per call).
  grpc::ServerWriteReactor<v1::ArtifactChunk>* FetchArtifact(
      grpc::CallbackServerContext* ctx,
      const v1::FetchArtifactRequest* req) override;

  // Removes a waiting call; true when it was still waiting (the caller then
  // owns finishing it). A call the lease thread holds is finished by it.
  bool RemoveWaiter(LeaseCall* r);

 private:
  void LeaseLoop();
  // Leases for `batch` (taken off the lists) and answers those that got a
  // trial, an error or reached their deadline; the others wait again.
  void Serve(std::vector<LeaseCall*> batch);

  Controller* const controller_;
  const TokenAuthorizer* const auth_;
  int listener_id_ = -1;
  absl::Mutex mu_;
  std::vector<LeaseCall*> fresh_ ABSL_GUARDED_BY(mu_);  // never tried
  std::list<LeaseCall*> waiters_ ABSL_GUARDED_BY(mu_);  // found nothing
  // Calls the lease thread holds; cancelled ones are finished by it.
  std::set<LeaseCall*> in_flight_ ABSL_GUARDED_BY(mu_);
  std::set<LeaseCall*> cancelled_ ABSL_GUARDED_BY(mu_);
  bool retry_ ABSL_GUARDED_BY(mu_) = false;  // a tick since the last try
  int64_t ticks_ ABSL_GUARDED_BY(mu_) = 0;   // ticks so far
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread lease_thread_;
};

}  // namespace nas

#endif  // NAS_CONTROLLER_SERVICE_WORKER_SERVICE_H_
