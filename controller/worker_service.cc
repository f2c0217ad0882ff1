#include "controller/worker_service.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "controller/grpc_status.h"
#include "controller/request_validation.h"

namespace nas {

// One waiting AcquireTrial. Whoever removes it from the service's waiter list
// (the ticker, or OnCancel) finishes it; OnDone only deletes it.
class AcquireReactor final : public grpc::ServerUnaryReactor {
 public:
  AcquireReactor(WorkerServiceImpl* service, std::string worker_id,
                 absl::Time deadline, v1::AcquireTrialResponse* response)
      : service_(service),
        worker_id_(std::move(worker_id)),
        deadline_(deadline),
        response_(response) {}

  const std::string& worker_id() const { return worker_id_; }

  // Tries to lease. Returns true with *status set when the call is answered.
  // *empty (when given) says whether the queue had nothing for this worker.
  bool Attempt(Controller* controller, grpc::Status* status,
               bool* empty = nullptr) {
    absl::StatusOr<v1::AcquireTrialResponse> r =
        controller->TryAcquireTrial(worker_id_);
    if (empty != nullptr) *empty = r.ok() && !r->has_trial();
    if (!r.ok() && !absl::IsUnavailable(r.status())) {
      *status = ToGrpcStatus(r.status());
      return true;
    }
    if (r.ok() && r->has_trial()) {
      *response_ = *std::move(r);
      *status = grpc::Status::OK;
      return true;
    }
    return PastDeadline(status);
  }

  // True with an empty OK answer once the wait is over.
  bool PastDeadline(grpc::Status* status) const {
    if (absl::Now() >= deadline_) {
      *status = grpc::Status::OK;  // no work within the wait
      return true;
    }
    return false;
  }

  void OnCancel() override {
    if (service_->RemoveWaiter(this)) Finish(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  WorkerServiceImpl* const service_;
  const std::string worker_id_;
  const absl::Time deadline_;
  v1::AcquireTrialResponse* const response_;
};

// One FetchArtifact call: writes chunk 0, 1, ... as each write completes.
class ArtifactWriter final
    : public grpc::ServerWriteReactor<v1::ArtifactChunk> {
 public:
  ArtifactWriter(Controller* controller, const v1::FetchArtifactRequest& req)
      : controller_(controller), hash_(req.hash()) {
    absl::StatusOr<ArtifactInfo> info =
        controller_->GetArtifactInfo(req.worker_id(), hash_);
    if (!info.ok()) {
      Finish(ToGrpcStatus(info.status()));
      return;
    }
    info_ = *std::move(info);
    Next();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (seq_ >= info_.chunks) {
      Finish(grpc::Status::OK);
      return;
    }
    absl::StatusOr<std::string> data =
        controller_->ReadArtifactChunk(hash_, seq_);
    if (!data.ok()) {
      Finish(ToGrpcStatus(data.status()));
      return;
    }
    chunk_.set_offset(offset_);
    chunk_.set_total_size(info_.size);
    offset_ += static_cast<int64_t>(data->size());
    chunk_.set_data(*std::move(data));
    ++seq_;
    StartWrite(&chunk_);
  }

  Controller* const controller_;
  const std::string hash_;
  ArtifactInfo info_;
  int32_t seq_ = 0;
  int64_t offset_ = 0;
  v1::ArtifactChunk chunk_;
};

WorkerServiceImpl::WorkerServiceImpl(Controller* controller,
                                     const TokenAuthorizer* auth)
    : controller_(controller), auth_(auth) {
  listener_id_ = controller_->AddTickListener([this] { ServeWaiters(); });
}

WorkerServiceImpl::~WorkerServiceImpl() {
  controller_->RemoveTickListener(listener_id_);
}

bool WorkerServiceImpl::RemoveWaiter(AcquireReactor* r) {
  absl::MutexLock lock(&mu_);
  auto it = std::find(waiters_.begin(), waiters_.end(), r);
  if (it == waiters_.end()) return false;
  waiters_.erase(it);
  return true;
}

void WorkerServiceImpl::ServeWaiters() {
  std::vector<std::pair<AcquireReactor*, grpc::Status>> answered;
  {
    absl::MutexLock lock(&mu_);
    // Once a lease comes back empty for some labels, the other waiters
    // with the same labels would get nothing either: they only check their
    // deadline (no database call each).
    std::set<std::string> drained;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      grpc::Status status;
      const std::string key = controller_->WorkerLabelKey((*it)->worker_id());
      bool done = false;
      if (drained.count(key) > 0) {
        done = (*it)->PastDeadline(&status);
      } else {
        bool empty = false;
        done = (*it)->Attempt(controller_, &status, &empty);
        if (empty) drained.insert(key);
      }
      if (done) {
        answered.emplace_back(*it, status);
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [reactor, status] : answered) reactor->Finish(status);
}

grpc::ServerUnaryReactor* WorkerServiceImpl::RegisterWorker(
    grpc::CallbackServerContext* ctx, const v1::RegisterWorkerRequest* req,
    v1::RegisterWorkerResponse* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kWorker)) return r;
  return FinishUnary(ctx, controller_->RegisterWorker(*req), resp);
}

grpc::ServerUnaryReactor* WorkerServiceImpl::AcquireTrial(
    grpc::CallbackServerContext* ctx, const v1::AcquireTrialRequest* req,
    v1::AcquireTrialResponse* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kWorker)) return r;
  if (absl::Status s = ValidateRequest(*req); !s.ok()) {
    return FinishUnary(ctx, absl::StatusOr<v1::AcquireTrialResponse>(s), resp);
  }
  int wait_ms = req->wait_ms() <= 0 ? 30000 : std::min(req->wait_ms(), 60000);
  absl::Time deadline = absl::Now() + absl::Milliseconds(wait_ms);
  // Answer a little before the client's own deadline, so it gets a response.
  const absl::Time client_deadline =
      absl::FromChrono(ctx->deadline()) - absl::Milliseconds(200);
  deadline = std::min(deadline, client_deadline);
  auto* reactor = new AcquireReactor(this, req->worker_id(), deadline, resp);
  grpc::Status status;
  if (reactor->Attempt(controller_, &status)) {
    reactor->Finish(status);
    return reactor;
  }
  absl::MutexLock lock(&mu_);
  waiters_.push_back(reactor);
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::RenewLease(
    grpc::CallbackServerContext* ctx, const v1::RenewLeaseRequest* req,
    v1::RenewLeaseResponse* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kWorker)) return r;
  return FinishUnary(ctx, controller_->RenewLease(*req), resp);
}

grpc::ServerUnaryReactor* WorkerServiceImpl::ReportProgress(
    grpc::CallbackServerContext* ctx, const v1::ReportProgressRequest* req,
    v1::ReportProgressResponse* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kWorker)) return r;
  return FinishUnary(ctx, controller_->ReportProgress(*req), resp);
}

grpc::ServerUnaryReactor* WorkerServiceImpl::ReportResult(
    grpc::CallbackServerContext* ctx, const v1::ReportResultRequest* req,
    v1::ReportResultResponse* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kWorker)) return r;
  // Answered when the result is committed (group commit, controller.h).
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->ReportResultAsync(
      *req, [reactor, resp](absl::StatusOr<v1::ReportResultResponse> r) {
        if (r.ok()) *resp = *std::move(r);
        reactor->Finish(ToGrpcStatus(r.status()));
      });
  return reactor;
}

grpc::ServerWriteReactor<v1::ArtifactChunk>* WorkerServiceImpl::FetchArtifact(
    grpc::CallbackServerContext* ctx, const v1::FetchArtifactRequest* req) {
  if (absl::Status s = CheckCaller(ctx, *auth_, Role::kWorker); !s.ok()) {
    return new RefusedWriter<v1::ArtifactChunk>(s);
  }
  return new ArtifactWriter(controller_, *req);
}

}  // namespace nas
