#include "controller/result_intake.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/result_validation.h"
#include "common/status_macros.h"
#include "controller/service/request_validation.h"

namespace nas {

ResultIntake::ResultIntake(Store* store, WorkerRegistry* workers,
                           Scheduler* scheduler, ControllerMetrics* metrics)
    : store_(store),
      workers_(workers),
      scheduler_(scheduler),
      metrics_(metrics) {
  writer_ = std::thread([this] { WriterLoop(); });
}

ResultIntake::~ResultIntake() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  writer_.join();
}

absl::StatusOr<v1::ReportResultResponse> ResultIntake::Report(
    const v1::ReportResultRequest& request) {
  absl::Notification stored;
  absl::StatusOr<v1::ReportResultResponse> out;
  ReportAsync(request, [&](absl::StatusOr<v1::ReportResultResponse> r) {
    out = std::move(r);
    stored.Notify();
  });
  stored.WaitForNotification();
  return out;
}

void ResultIntake::ReportAsync(const v1::ReportResultRequest& request,
                               Done done) {
  if (absl::Status s = ValidateRequest(request); !s.ok()) {
    done(s);
    return;
  }
  workers_->Seen(request.worker_id());
  if (!request.error().empty() || !request.has_metrics() ||
      !ValidateMetrics(request.metrics()).ok()) {
    done(ReportFailure(request));
    return;
  }
  absl::MutexLock lock(&mu_);
  pending_.push_back({&request, std::move(done)});
}

void ResultIntake::WriterLoop() {
  constexpr size_t kMaxBatch = 256;
  while (true) {
    std::vector<PendingResult> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !pending_.empty() || stop_;
      };
      mu_.Await(absl::Condition(&ready));
      if (pending_.empty()) return;  // stopping
      // A result carrying a model (megabytes) goes alone.
      while (!pending_.empty() && batch.size() < kMaxBatch) {
        const bool big = !pending_.front().request->model().empty();
        if (big && !batch.empty()) break;
        batch.push_back(std::move(pending_.front()));
        pending_.pop_front();
        if (big) break;
      }
    }
    std::vector<Store::ResultToStore> items;
    items.reserve(batch.size());
    for (const PendingResult& p : batch) {
      const v1::ReportResultRequest& r = *p.request;
      items.push_back({r.trial_id(), r.attempt(), &r.worker_id(), &r.metrics(),
                       &r.model(), r.has_search() ? &r.search() : nullptr});
    }
    absl::StatusOr<std::vector<Store::ResultStored>> stored =
        store_->RecordResults(items);
    if (!stored.ok() && batch.size() > 1 &&
        !absl::IsUnavailable(stored.status())) {
      // One item broke the transaction: store them one by one.
      std::vector<Store::ResultStored> one_by_one(items.size());
      for (size_t i = 0; i < items.size(); ++i) {
        absl::StatusOr<ReportOutcome> o = store_->RecordResult(
            items[i].trial_id, items[i].attempt, *items[i].worker_id,
            *items[i].metrics, *items[i].model, &one_by_one[i].experiment_id,
            items[i].search);
        if (o.ok()) {
          one_by_one[i].outcome = *o;
        } else {
          one_by_one[i].status = o.status();
        }
      }
      stored = std::move(one_by_one);
    }
    std::set<int64_t> dirty;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!stored.ok()) {
        batch[i].done(stored.status());
        continue;
      }
      const Store::ResultStored& r = (*stored)[i];
      if (!r.status.ok()) {
        batch[i].done(r.status);
        continue;
      }
      if (r.outcome == ReportOutcome::kStored) {
        dirty.insert(r.experiment_id);
        if (metrics_ != nullptr) {
          metrics_->TrialReported(items[i].trial_id, "succeeded");
        }
      }
      v1::ReportResultResponse out;
      out.set_accepted(true);
      batch[i].done(std::move(out));
    }
    for (int64_t id : dirty) scheduler_->MarkDirty(id);
  }
}

absl::StatusOr<v1::ReportResultResponse> ResultIntake::ReportFailure(
    const v1::ReportResultRequest& request) {
  v1::ReportResultResponse out;
  int64_t experiment_id = 0;
  if (!request.error().empty()) {
    // Long errors (a whole traceback) are kept, cut to a bounded size.
    std::string error = request.error();
    if (error.size() > kMaxErrorBytes) {
      error.resize(kMaxErrorBytes);
      absl::StrAppend(&error, " ... [cut at ", kMaxErrorBytes, " of ",
                      request.error().size(), " bytes]");
    }
    NAS_RETURN_IF_ERROR(
        store_->RecordFailure(request.trial_id(), request.attempt(),
                              request.worker_id(), error, &experiment_id));
    out.set_accepted(true);
    scheduler_->MarkDirty(experiment_id);
    if (metrics_ != nullptr) {
      metrics_->TrialReported(request.trial_id(), "failed");
    }
    return out;
  }
  absl::Status valid =
      request.has_metrics()
          ? ValidateMetrics(request.metrics())
          : absl::InvalidArgumentError(
                "metrics: required when error is empty (report either the "
                "evaluation's metrics or why it failed)");
  absl::Status s = store_->RecordFailure(
      request.trial_id(), request.attempt(), request.worker_id(),
      std::string(valid.message()), &experiment_id);
  if (!s.ok() && !absl::IsFailedPrecondition(s)) return s;
  if (s.ok()) scheduler_->MarkDirty(experiment_id);
  if (s.ok() && metrics_ != nullptr) {
    metrics_->TrialReported(request.trial_id(), "failed");
  }
  return valid;
}

}  // namespace nas
