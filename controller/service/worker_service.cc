#include "controller/service/worker_service.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "controller/service/grpc_status.h"
#include "controller/service/request_validation.h"

namespace nas {

// One waiting AcquireTrial. Whoever removes it from the service's lists
// (the lease thread, or OnCancel) finishes it; OnDone only deletes it.
class AcquireReactor final : public grpc::ServerUnaryReactor, public LeaseCall {
 public:
  AcquireReactor(WorkerServiceImpl* service, std::string worker_id,
                 absl::Time deadline, v1::AcquireTrialResponse* response)
      : service_(service),
        worker_id_(std::move(worker_id)),
        deadline_(deadline),
        response_(response) {}

  const std::string& worker_id() const override { return worker_id_; }

  // A trial, an error other than UNAVAILABLE (the database; the call waits
  // on), or nothing by its deadline answer the call.
  bool Take(absl::StatusOr<v1::AcquireTrialResponse> r, int64_t /*ticks*/,
            grpc::Status* status) override {
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

  void Answer(const grpc::Status& status) override { Finish(status); }

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

// The next trial of an accepted ReportResult that asked for one
// (acquire_next). With nothing queued it waits until a tick that started
// after the report was stored has run (the tick that proposes the
// report's replacement, when the experiment goes on), at most 1 s; the
// report stays OK whatever the lease says.
class NextTrialCall final : public LeaseCall {
 public:
  NextTrialCall(std::string worker_id, grpc::ServerUnaryReactor* reactor,
                v1::ReportResultResponse* response, int64_t ticks)
      : worker_id_(std::move(worker_id)),
        reactor_(reactor),
        response_(response),
        created_ticks_(ticks),
        deadline_(absl::Now() + absl::Seconds(1)) {}

  const std::string& worker_id() const override { return worker_id_; }
  bool Take(absl::StatusOr<v1::AcquireTrialResponse> r, int64_t ticks,
            grpc::Status* status) override {
    *status = grpc::Status::OK;
    if (!r.ok()) return true;  // a refused lease: no next trial, no wait
    if (r->has_trial()) {
      *response_->mutable_next_trial() = std::move(*r->mutable_trial());
      return true;
    }
    // The tick running when the report was stored may have started before
    // it: the one after that is the first certain to have seen it.
    return ticks >= created_ticks_ + 2 || absl::Now() >= deadline_;
  }
  void Answer(const grpc::Status& status) override {
    reactor_->Finish(status);
    delete this;
  }

 private:
  const std::string worker_id_;
  grpc::ServerUnaryReactor* const reactor_;
  v1::ReportResultResponse* const response_;
  const int64_t created_ticks_;
  const absl::Time deadline_;
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
  listener_id_ = controller_->AddTickListener([this] {
    absl::MutexLock lock(&mu_);
    retry_ = true;
    ++ticks_;
  });
  lease_thread_ = std::thread([this] { LeaseLoop(); });
}

WorkerServiceImpl::~WorkerServiceImpl() {
  controller_->RemoveTickListener(listener_id_);
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  lease_thread_.join();
}

bool WorkerServiceImpl::RemoveWaiter(LeaseCall* r) {
  absl::MutexLock lock(&mu_);
  if (in_flight_.count(r) > 0) {
    cancelled_.insert(r);
    return false;
  }
  auto f = std::find(fresh_.begin(), fresh_.end(), r);
  if (f != fresh_.end()) {
    fresh_.erase(f);
    return true;
  }
  auto it = std::find(waiters_.begin(), waiters_.end(), r);
  if (it == waiters_.end()) return false;
  waiters_.erase(it);
  return true;
}

void WorkerServiceImpl::LeaseLoop() {
  while (true) {
    std::vector<LeaseCall*> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !fresh_.empty() || (retry_ && !waiters_.empty());
      };
      // Waiting calls are also looked at every 250 ms without a tick (a
      // stopped ticker, at shutdown), so that deadlines still end them.
      const bool woken = mu_.AwaitWithTimeout(absl::Condition(&ready),
                                              absl::Milliseconds(250));
      if (stop_) return;
      batch.swap(fresh_);
      if (retry_ || !woken) {
        batch.insert(batch.end(), waiters_.begin(), waiters_.end());
        waiters_.clear();
        retry_ = false;
      }
      in_flight_.insert(batch.begin(), batch.end());
    }
    if (!batch.empty()) Serve(std::move(batch));
  }
}

void WorkerServiceImpl::Serve(std::vector<LeaseCall*> batch) {
  std::vector<std::string> ids;
  ids.reserve(batch.size());
  for (LeaseCall* r : batch) ids.push_back(r->worker_id());
  std::vector<absl::StatusOr<v1::AcquireTrialResponse>> answers =
      controller_->AcquireTrials(ids);
  std::vector<std::pair<LeaseCall*, grpc::Status>> answered;
  {
    absl::MutexLock lock(&mu_);
    const int64_t ticks = ticks_;
    for (size_t i = 0; i < batch.size(); ++i) {
      LeaseCall* r = batch[i];
      in_flight_.erase(r);
      grpc::Status status;
      if (r->Take(std::move(answers[i]), ticks, &status)) {
        answered.emplace_back(r, status);
      } else if (cancelled_.count(r) > 0) {
        answered.emplace_back(r, grpc::Status::CANCELLED);
      } else {
        waiters_.push_back(r);
      }
      cancelled_.erase(r);
    }
  }
  for (auto& [call, status] : answered) call->Answer(status);
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
  absl::MutexLock lock(&mu_);
  fresh_.push_back(reactor);
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
      *req,
      [this, reactor, req, resp](absl::StatusOr<v1::ReportResultResponse> r) {
        if (r.ok()) *resp = *std::move(r);
        if (r.ok() && resp->accepted() && req->acquire_next()) {
          // Answered by the lease thread, with the next trial if any.
          absl::MutexLock lock(&mu_);
          fresh_.push_back(
              new NextTrialCall(req->worker_id(), reactor, resp, ticks_));
          return;
        }
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
