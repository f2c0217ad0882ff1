#include "controller/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace nas {
namespace {

constexpr size_t kMaxTracked = 100000;
const char* const kTrialStates[] = {"queued", "running", "succeeded", "failed",
                                    "cancelled"};

prometheus::Histogram::BucketBoundaries Exponential(double start, double factor,
                                                    int n) {
  prometheus::Histogram::BucketBoundaries b;
  for (double v = start; n > 0; --n, v *= factor) b.push_back(v);
  return b;
}

}  // namespace

ControllerMetrics::ControllerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::Registry& r = *registry_;
  rpc_duration_ = &prometheus::BuildHistogram()
                       .Name("nas_rpc_duration_seconds")
                       .Help(
                           "Duration of gRPC calls served by the controller "
                           "(long polls included), by method and code")
                       .Register(r);
  queue_wait_ = &prometheus::BuildHistogram()
                     .Name("nas_trial_queue_wait_seconds")
                     .Help(
                         "Time a trial waited QUEUED before a worker leased "
                         "it (since it was queued or its last lease "
                         "expired)")
                     .Register(r)
                     .Add({}, Exponential(0.01, 4, 10));
  dispatch_ = &prometheus::BuildHistogram()
                   .Name("nas_trial_dispatch_seconds")
                   .Help(
                       "Time the controller took to lease a trial to a "
                       "worker that asked for one (database round trip "
                       "included)")
                   .Register(r)
                   .Add({}, Exponential(0.0005, 3, 10));
  trial_duration_ =
      &prometheus::BuildHistogram()
           .Name("nas_trial_duration_seconds")
           .Help("Time from a trial's lease to its reported result, by outcome")
           .Register(r);
  for (const char* outcome : {"succeeded", "failed"}) {
    trial_duration_->Add({{"outcome", outcome}}, Exponential(0.05, 4, 11));
  }
  trials_reported_ = &prometheus::BuildCounter()
                          .Name("nas_trials_reported_total")
                          .Help("Trial results accepted, by outcome")
                          .Register(r);
  trials_reported_->Add({{"outcome", "succeeded"}});
  trials_reported_->Add({{"outcome", "failed"}});
  leases_expired_ =
      &prometheus::BuildCounter()
           .Name("nas_leases_expired_total")
           .Help(
               "Trial leases that expired (worker lost), by what followed: "
               "requeued for another attempt or failed (attempts spent)")
           .Register(r);
  leases_expired_->Add({{"outcome", "requeued"}});
  leases_expired_->Add({{"outcome", "failed"}});
  rejected_ = &prometheus::BuildCounter()
                   .Name("nas_candidates_rejected_total")
                   .Help(
                       "Proposals rejected by a hard constraint before "
                       "dispatch")
                   .Register(r)
                   .Add({});
  trials_ = &prometheus::BuildGauge()
                 .Name("nas_trials")
                 .Help("Trials in the database by state (queued = queue depth)")
                 .Register(r);
  for (const char* s : kTrialStates) trials_->Add({{"state", s}});
  oldest_queued_ = &prometheus::BuildGauge()
                        .Name("nas_queue_oldest_trial_age_seconds")
                        .Help(
                            "Age of the oldest QUEUED trial (0 when the "
                            "queue is empty)")
                        .Register(r)
                        .Add({});
  workers_alive_ = &prometheus::BuildGauge()
                        .Name("nas_workers_alive")
                        .Help("Workers that called the controller recently")
                        .Register(r)
                        .Add({});
  experiments_running_ = &prometheus::BuildGauge()
                              .Name("nas_experiments_running")
                              .Help("Experiments in state RUNNING")
                              .Register(r)
                              .Add({});
  best_accuracy_ = &prometheus::BuildGauge()
                        .Name("nas_experiment_best_val_accuracy")
                        .Help(
                            "Best value (0..1) of a running experiment's "
                            "objective metric (objective.metric; "
                            "val_accuracy by default) over its evaluated "
                            "candidates")
                        .Register(r);
  pareto_size_ = &prometheus::BuildGauge()
                      .Name("nas_experiment_pareto_front_size")
                      .Help(
                          "Candidates on a running experiment's Pareto "
                          "front")
                      .Register(r);
}

void ControllerMetrics::ObserveRpc(const std::string& method,
                                   const std::string& code, double seconds) {
  prometheus::Histogram* h = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] =
        rpc_series_.emplace(std::make_pair(method, code), nullptr);
    if (inserted) {
      it->second = &rpc_duration_->Add({{"method", method}, {"code", code}},
                                       Exponential(0.0005, 4, 10));
    }
    h = it->second;
  }
  h->Observe(seconds);
}

void ControllerMetrics::TrialLeased(int64_t trial_id, absl::Duration queue_wait,
                                    absl::Duration dispatch) {
  queue_wait_->Observe(absl::ToDoubleSeconds(queue_wait));
  dispatch_->Observe(absl::ToDoubleSeconds(dispatch));
  absl::MutexLock lock(&mu_);
  if (leased_at_.size() >= kMaxTracked) leased_at_.erase(leased_at_.begin());
  leased_at_[trial_id] = absl::Now();
}

void ControllerMetrics::TrialReported(int64_t trial_id,
                                      absl::string_view outcome) {
  const std::string o(outcome);
  trials_reported_->Add({{"outcome", o}}).Increment();
  absl::Time leased;
  {
    absl::MutexLock lock(&mu_);
    auto it = leased_at_.find(trial_id);
    if (it == leased_at_.end()) return;
    leased = it->second;
    leased_at_.erase(it);
  }
  trial_duration_->Add({{"outcome", o}}, Exponential(0.05, 4, 11))
      .Observe(absl::ToDoubleSeconds(absl::Now() - leased));
}

void ControllerMetrics::LeasesExpired(int requeued, int failed) {
  leases_expired_->Add({{"outcome", "requeued"}}).Increment(requeued);
  leases_expired_->Add({{"outcome", "failed"}}).Increment(failed);
}

void ControllerMetrics::CandidatesRejected(int n) { rejected_->Increment(n); }

void ControllerMetrics::SetSnapshot(const OpsSnapshot& s) {
  for (const char* state : kTrialStates) {
    auto it = s.trials_by_status.find(state);
    trials_->Add({{"state", state}})
        .Set(it == s.trials_by_status.end() ? 0
                                            : static_cast<double>(it->second));
  }
  oldest_queued_->Set(s.oldest_queued_seconds);
  workers_alive_->Set(s.workers_alive);
  experiments_running_->Set(static_cast<double>(s.running.size()));
  absl::MutexLock lock(&mu_);
  for (auto it = experiment_series_.begin(); it != experiment_series_.end();) {
    if (s.running.count(it->first) == 0) {
      best_accuracy_->Remove(it->second.first);
      pareto_size_->Remove(it->second.second);
      it = experiment_series_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [id, e] : s.running) {
    auto [it, inserted] =
        experiment_series_.emplace(id, std::make_pair(nullptr, nullptr));
    if (inserted) {
      const prometheus::Labels labels = {{"experiment", absl::StrCat(id)}};
      it->second = {&best_accuracy_->Add(labels), &pareto_size_->Add(labels)};
    }
    it->second.first->Set(e.best_val_accuracy);
    it->second.second->Set(e.pareto_front_size);
  }
}

}  // namespace nas
