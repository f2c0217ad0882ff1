// The controller's Prometheus metrics (prometheus-cpp), free of transport
// types. Event counters and histograms are updated where things happen
// (Controller, the RPC interceptor); gauges are set from periodic snapshots
// of the database (SetSnapshot). Names follow Prometheus's conventions:
// `nas_` prefix, base units (`_seconds`), `_total` on counters, and label
// sets bounded by the code (trial states, RPC methods and codes) except
// `experiment`, which is bounded by the number of RUNNING experiments: a
// finished experiment's series are removed.
// Thread-safe.
#ifndef NAS_CONTROLLER_METRICS_H_
#define NAS_CONTROLLER_METRICS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace nas {

// What the database says now (see Store::OpsStats and
// Controller::OpsSnapshot).
struct OpsSnapshot {
  // Trials by status, lower case ("queued", "running", "succeeded",
  // "failed", "cancelled"); missing statuses count 0.
  std::map<std::string, int64_t> trials_by_status;
  // Age of the oldest QUEUED trial (0 when none is queued).
  double oldest_queued_seconds = 0;
  int workers_alive = 0;
  struct Experiment {
    double best_val_accuracy = 0;  // 0 before the first result
    int pareto_front_size = 0;
  };
  // Per RUNNING experiment id.
  std::map<int64_t, Experiment> running;
};

class ControllerMetrics {
 public:
  ControllerMetrics();
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // One RPC: full method name ("/nas.v1.WorkerService/AcquireTrial") and
  // gRPC status code name ("OK", "UNAVAILABLE", ...).
  void ObserveRpc(const std::string& method, const std::string& code,
                  double seconds);
  // A trial was leased: how long it waited in the queue, and how long the
  // lease took (the worker's AcquireTrial call to the database's answer).
  void TrialLeased(int64_t trial_id, absl::Duration queue_wait,
                   absl::Duration dispatch);
  // A lease ended with a report: `outcome` "succeeded" or "failed". The
  // duration from lease to report is observed when this controller leased
  // the trial (not across a restart).
  void TrialReported(int64_t trial_id, absl::string_view outcome);
  void LeasesExpired(int requeued, int failed);
  void CandidatesRejected(int n);
  void SetSnapshot(const OpsSnapshot& snapshot);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>* rpc_duration_;
  prometheus::Histogram* queue_wait_;
  prometheus::Histogram* dispatch_;
  prometheus::Family<prometheus::Histogram>* trial_duration_;
  prometheus::Family<prometheus::Counter>* leases_expired_;
  prometheus::Family<prometheus::Counter>* trials_reported_;
  prometheus::Counter* rejected_;
  prometheus::Family<prometheus::Gauge>* trials_;
  prometheus::Gauge* oldest_queued_;
  prometheus::Gauge* workers_alive_;
  prometheus::Gauge* experiments_running_;
  prometheus::Family<prometheus::Gauge>* best_accuracy_;
  prometheus::Family<prometheus::Gauge>* pareto_size_;

  absl::Mutex mu_;
  // Lease time of the trials leased by this controller (bounded: the
  // oldest entries are dropped past kMaxTracked).
  std::map<int64_t, absl::Time> leased_at_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, prometheus::Histogram*>
      rpc_series_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::pair<prometheus::Gauge*, prometheus::Gauge*>>
      experiment_series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nas

#endif  // NAS_CONTROLLER_METRICS_H_
