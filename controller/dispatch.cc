#include "controller/dispatch.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "controller/early_stopping/early_stopping.h"
#include "controller/service/request_validation.h"
#include "controller/store/result_rules.h"

namespace nas {

Dispatch::Dispatch(Store* store, WorkerRegistry* workers,
                   const ControllerOptions& options)
    : store_(store),
      workers_(workers),
      metrics_(options.metrics),
      max_leases_per_worker_(options.max_leases_per_worker) {}

absl::StatusOr<v1::RegisterWorkerResponse> Dispatch::RegisterWorker(
    const v1::RegisterWorkerRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  NAS_RETURN_IF_ERROR(store_->UpsertWorker(request));
  workers_->Register(
      request.worker_id(),
      WorkerRegistry::Labels(request.labels().begin(), request.labels().end()));
  v1::RegisterWorkerResponse out;
  out.set_heartbeat_seconds(5);
  return out;
}

std::vector<absl::StatusOr<v1::AcquireTrialResponse>> Dispatch::AcquireTrials(
    const std::vector<std::string>& worker_ids) {
  std::vector<absl::StatusOr<v1::AcquireTrialResponse>> out(
      worker_ids.size(), v1::AcquireTrialResponse());
  // One lease statement per set of labels (workers with equal labels match
  // the same trials).
  std::map<WorkerRegistry::Labels, std::vector<size_t>> groups;
  for (size_t i = 0; i < worker_ids.size(); ++i) {
    absl::StatusOr<WorkerRegistry::Labels> labels =
        workers_->GetLabels(worker_ids[i]);
    if (!labels.ok()) {
      out[i] = labels.status();
    } else {
      groups[*std::move(labels)].push_back(i);
    }
  }
  for (const auto& [labels, members] : groups) {
    std::vector<std::string> ids;
    ids.reserve(members.size());
    for (size_t i : members) ids.push_back(worker_ids[i]);
    const absl::Time lease_start = absl::Now();
    absl::StatusOr<std::vector<Store::LeaseAnswer>> answers =
        store_->LeaseTrials(ids, labels, max_leases_per_worker_);
    for (size_t k = 0; k < members.size(); ++k) {
      absl::StatusOr<v1::AcquireTrialResponse>& answer = out[members[k]];
      if (!answers.ok()) {
        answer = answers.status();
        continue;
      }
      Store::LeaseAnswer& a = (*answers)[k];
      if (!a.status.ok()) {
        answer = a.status;
      } else if (a.trial.has_value()) {
        if (metrics_ != nullptr) {
          metrics_->TrialLeased(a.trial->trial_id, a.trial->queue_wait,
                                absl::Now() - lease_start);
        }
        answer = TrialResponse(*a.trial);
      }
    }
  }
  return out;
}

v1::AcquireTrialResponse Dispatch::TrialResponse(const LeasedTrial& leased) {
  v1::AcquireTrialResponse out;
  v1::Trial* t = out.mutable_trial();
  t->set_trial_id(leased.trial_id);
  t->set_attempt(leased.attempt);
  t->set_experiment_id(leased.experiment_id);
  t->set_candidate_id(leased.candidate_id);
  *t->mutable_genotype() = leased.genotype;
  *t->mutable_search_space() = leased.spec.search_space();
  *t->mutable_nb201() = leased.spec.search_space().nb201();
  *t->mutable_evaluation() = leased.spec.evaluation();
  t->set_lease_seconds(leased.spec.lease_seconds());
  const v1::EvaluationMode mode = leased.spec.evaluation().mode();
  if (leased.final_of != 0) {
    t->set_final_training(true);
    t->mutable_evaluation()->set_epochs(leased.spec.final().epochs());
    // A final re-training trains from scratch, in every mode.
    if (mode == v1::SUPERNET || mode == v1::ZERO_COST) {
      t->mutable_evaluation()->set_mode(v1::FULL);
    }
    // A ZERO_COST search ranks by a proxy, which training does not report.
    if (mode == v1::ZERO_COST) {
      t->mutable_evaluation()->set_progress_metric("val_accuracy");
    }
  }
  if (leased.screening) {
    // Proxy-guided evolution: score the child, untrained.
    t->mutable_evaluation()->set_mode(v1::ZERO_COST);
    t->set_export_model(false);
    return out;
  }
  if (leased.search) {
    // Strategy darts: the trial runs one differentiable search, trained in
    // the evaluation's settings for the search's epochs.
    v1::DartsSearch* d = t->mutable_darts_search();
    *d->mutable_options() = leased.spec.strategy().darts();
    d->set_seed(leased.search_seed);
    d->set_checkpoint_hash(leased.checkpoint_hash);
    d->set_checkpoint_epoch(leased.checkpoint_epoch);
    t->mutable_evaluation()->set_mode(v1::FULL);
    t->mutable_evaluation()->set_epochs(
        leased.spec.strategy().darts().epochs());
    t->set_export_model(false);
    return out;
  }
  if (leased.supernet) {
    t->set_supernet_training(true);
    t->mutable_evaluation()->set_epochs(
        leased.spec.evaluation().supernet().epochs());
  } else if (mode == v1::SUPERNET) {
    t->set_supernet_hash(leased.supernet_hash);
  }
  // Whether to export: the rule the store also applies to the result.
  TrialKind kind;
  kind.mode = mode;
  kind.final_training = leased.final_of != 0;
  kind.supernet_training = leased.supernet;
  kind.keep_models = leased.spec.keep_models();
  t->set_export_model(AsksForModel(kind));
  return out;
}

absl::StatusOr<v1::RenewLeaseResponse> Dispatch::RenewLease(
    const v1::RenewLeaseRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  workers_->Seen(request.worker_id());
  NAS_ASSIGN_OR_RETURN(bool ok,
                       store_->RenewLease(request.trial_id(), request.attempt(),
                                          request.worker_id()));
  v1::RenewLeaseResponse out;
  out.set_ok(ok);
  return out;
}

void Dispatch::SetStopRule(int64_t id, const v1::EarlyStoppingSpec& rule,
                           int max_epochs, const std::string& metric) {
  absl::MutexLock lock(&mu_);
  stop_rules_[id] = {rule, max_epochs, metric};
}

absl::StatusOr<v1::ReportProgressResponse> Dispatch::ReportProgress(
    const v1::ReportProgressRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  workers_->Seen(request.worker_id());
  NAS_ASSIGN_OR_RETURN(bool held, request.has_search()
                                      ? store_->RecordSearchProgress(request)
                                      : store_->RecordProgress(request));
  v1::ReportProgressResponse out;
  if (!held) {
    out.set_action(v1::ReportProgressResponse::ABANDON);
    out.set_reason(
        "lease no longer held (expired, re-leased or experiment stopped)");
    return out;
  }
  out.set_action(v1::ReportProgressResponse::CONTINUE);
  // A differentiable search runs its epochs: early stopping judges
  // candidates.
  if (request.has_search()) return out;
  // Early stopping: only experiments that asked for it pay the query.
  {
    absl::MutexLock lock(&mu_);
    if (stop_rules_.empty()) return out;
  }
  NAS_ASSIGN_OR_RETURN(
      EpochPeers peers,
      store_->ProgressAtEpoch(request.trial_id(), request.epoch()));
  if (peers.final_training) return out;  // final re-trainings run to the end
  v1::EarlyStoppingSpec rule;
  int max_epochs = 0;
  std::string metric;
  {
    absl::MutexLock lock(&mu_);
    auto it = stop_rules_.find(peers.experiment_id);
    if (it == stop_rules_.end()) return out;
    rule = it->second.rule;
    max_epochs = it->second.max_epochs;
    metric = it->second.metric;
  }
  // request.val_accuracy is the epoch's progress metric (worker.proto).
  StopDecision d = DecideStop(rule, request.epoch(), max_epochs,
                              request.val_accuracy(), peers.others, metric);
  if (!d.stop) return out;
  NAS_RETURN_IF_ERROR(store_->RecordStopDecision(
      request.trial_id(), request.attempt(), request.epoch(), d.reason));
  out.set_action(v1::ReportProgressResponse::STOP);
  out.set_reason(d.reason);
  return out;
}

absl::StatusOr<ArtifactInfo> Dispatch::GetArtifactInfo(
    const std::string& worker_id, const std::string& hash) {
  v1::FetchArtifactRequest request;
  request.set_worker_id(worker_id);
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  if (!worker_id.empty()) workers_->Seen(worker_id);
  if (!IsSha256Hex(hash)) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash: must be 64 lowercase hex digits (sha256), got \"",
                     hash.substr(0, 80), "\""));
  }
  return store_->GetArtifactInfo(hash);
}

absl::StatusOr<std::string> Dispatch::ReadArtifactChunk(const std::string& hash,
                                                        int32_t seq) {
  return store_->ReadArtifactChunk(hash, seq);
}

}  // namespace nas
