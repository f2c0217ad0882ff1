#include "controller/service/experiment_service.h"

#include <atomic>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/service/grpc_status.h"

namespace nas {

// One WatchExperiment stream. Reference-counted: gRPC holds one reference
// until OnDone, the ticker holds one while polling.
class WatchReactor final
    : public grpc::ServerWriteReactor<v1::ExperimentEvent> {
 public:
  WatchReactor(ExperimentServiceImpl* service, int64_t id)
      : service_(service), id_(id) {}

  void Ref() { refs_.fetch_add(1); }
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  // Sends an event when the experiment changed and no write is in flight.
  void Poll(const absl::StatusOr<v1::Experiment>& experiment) {
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finishing_) return;
      if (!experiment.ok()) {
        finishing_ = true;
      } else {
        v1::Experiment key = *experiment;
        key.clear_spec();
        std::string fingerprint = key.SerializeAsString();
        if (fingerprint == last_) return;
        last_ = std::move(fingerprint);
        event_.Clear();
        *event_.mutable_experiment() = *experiment;
        const v1::ExperimentCounts& c = experiment->counts();
        event_.set_message(absl::StrCat(
            v1::ExperimentState_Name(experiment->state()), ": ",
            c.trials_succeeded() + c.trials_failed(), "/",
            experiment->spec().budget().max_trials(), " trials done, ",
            c.trials_running(), " running, ", c.trials_queued(), " queued"));
        const int64_t us = absl::ToUnixMicros(absl::Now());
        event_.mutable_time()->set_seconds(us / 1000000);
        event_.mutable_time()->set_nanos((us % 1000000) * 1000);
        final_ = experiment->state() != v1::EXPERIMENT_RUNNING;
        writing_ = true;
      }
    }
    if (!experiment.ok()) {
      Finish(ToGrpcStatus(experiment.status()));
      return;
    }
    StartWrite(&event_);
  }

  void OnWriteDone(bool ok) override {
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if ((!ok || final_ || cancelled_) && !finishing_) {
        finishing_ = true;
        finish = true;
      }
    }
    if (finish) Finish(ok ? grpc::Status::OK : grpc::Status::CANCELLED);
  }

  void OnCancel() override {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      if (writing_ || finishing_) return;
      finishing_ = true;
    }
    Finish(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    service_->RemoveWatcher(this);
    Unref();
  }

  int64_t id() const { return id_; }

 private:
  ExperimentServiceImpl* const service_;
  const int64_t id_;
  std::atomic<int> refs_{1};
  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool final_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::string last_ ABSL_GUARDED_BY(mu_);
  v1::ExperimentEvent event_;
};

ExperimentServiceImpl::ExperimentServiceImpl(Controller* controller,
                                             const TokenAuthorizer* auth)
    : controller_(controller), auth_(auth) {
  listener_id_ = controller_->AddTickListener([this] { PollWatchers(); });
}

ExperimentServiceImpl::~ExperimentServiceImpl() {
  controller_->RemoveTickListener(listener_id_);
}

void ExperimentServiceImpl::RemoveWatcher(WatchReactor* w) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(w);
}

void ExperimentServiceImpl::PollWatchers() {
  std::vector<WatchReactor*> snapshot;
  {
    absl::MutexLock lock(&mu_);
    for (WatchReactor* w : watchers_) {
      w->Ref();
      snapshot.push_back(w);
    }
  }
  std::map<int64_t, absl::StatusOr<v1::Experiment>> cache;
  for (WatchReactor* w : snapshot) {
    auto it = cache.find(w->id());
    if (it == cache.end()) {
      it = cache.emplace(w->id(), controller_->GetExperiment(w->id())).first;
    }
    // A database hiccup is not the watcher's fault: skip this round.
    if (it->second.ok() || absl::IsNotFound(it->second.status()))
      w->Poll(it->second);
    w->Unref();
  }
}

grpc::ServerUnaryReactor* ExperimentServiceImpl::CreateExperiment(
    grpc::CallbackServerContext* ctx, const v1::CreateExperimentRequest* req,
    v1::Experiment* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kClient)) return r;
  return FinishUnary(ctx, controller_->CreateExperiment(*req), resp);
}

grpc::ServerUnaryReactor* ExperimentServiceImpl::GetExperiment(
    grpc::CallbackServerContext* ctx, const v1::GetExperimentRequest* req,
    v1::Experiment* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kClient)) return r;
  return FinishUnary(ctx, controller_->GetExperiment(req->id()), resp);
}

grpc::ServerUnaryReactor* ExperimentServiceImpl::ListExperiments(
    grpc::CallbackServerContext* ctx, const v1::ListExperimentsRequest* req,
    v1::ListExperimentsResponse* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kClient)) return r;
  return FinishUnary(ctx, controller_->ListExperiments(*req), resp);
}

grpc::ServerUnaryReactor* ExperimentServiceImpl::StopExperiment(
    grpc::CallbackServerContext* ctx, const v1::StopExperimentRequest* req,
    v1::Experiment* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kClient)) return r;
  return FinishUnary(ctx, controller_->StopExperiment(req->id()), resp);
}

grpc::ServerUnaryReactor* ExperimentServiceImpl::ExtendExperiment(
    grpc::CallbackServerContext* ctx, const v1::ExtendExperimentRequest* req,
    v1::Experiment* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kClient)) return r;
  return FinishUnary(ctx, controller_->ExtendExperiment(*req), resp);
}

grpc::ServerUnaryReactor* ExperimentServiceImpl::ListLearningCurves(
    grpc::CallbackServerContext* ctx, const v1::ListLearningCurvesRequest* req,
    v1::ListLearningCurvesResponse* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kClient)) return r;
  return FinishUnary(ctx, controller_->ListLearningCurves(*req), resp);
}

grpc::ServerUnaryReactor* ExperimentServiceImpl::ListCandidates(
    grpc::CallbackServerContext* ctx, const v1::ListCandidatesRequest* req,
    v1::ListCandidatesResponse* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kClient)) return r;
  return FinishUnary(ctx, controller_->ListCandidates(*req), resp);
}

grpc::ServerUnaryReactor* ExperimentServiceImpl::GetParetoFront(
    grpc::CallbackServerContext* ctx, const v1::GetParetoFrontRequest* req,
    v1::GetParetoFrontResponse* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kClient)) return r;
  return FinishUnary(ctx, controller_->GetParetoFront(*req), resp);
}

grpc::ServerWriteReactor<v1::ExperimentEvent>*
ExperimentServiceImpl::WatchExperiment(grpc::CallbackServerContext* ctx,
                                       const v1::WatchExperimentRequest* req) {
  if (absl::Status s = CheckCaller(ctx, *auth_, Role::kClient); !s.ok()) {
    return new RefusedWriter<v1::ExperimentEvent>(s);
  }
  auto* reactor = new WatchReactor(this, req->id());
  {
    absl::MutexLock lock(&mu_);
    watchers_.insert(reactor);
  }
  controller_->Wake();
  return reactor;
}

grpc::ServerUnaryReactor* ExperimentServiceImpl::ExportCandidate(
    grpc::CallbackServerContext* ctx, const v1::ExportCandidateRequest* req,
    v1::ExportCandidateResponse* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kClient)) return r;
  return FinishUnary(ctx, controller_->ExportCandidate(*req), resp);
}

grpc::ServerUnaryReactor* ExperimentServiceImpl::ListSearchEpochs(
    grpc::CallbackServerContext* ctx, const v1::ListSearchEpochsRequest* req,
    v1::ListSearchEpochsResponse* resp) {
  if (auto* r = RejectUnauthorized(ctx, *auth_, Role::kClient)) return r;
  return FinishUnary(ctx, controller_->ListSearchEpochs(*req), resp);
}

}  // namespace nas
