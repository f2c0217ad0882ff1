// The worker's Prometheus metrics (prometheus-cpp), LibTorch-free: what the
// client loop sees of each evaluation. Process memory and CPU time come
// from common/metrics_endpoint.h's ProcessCollector at scrape time. On a
// GPU, the device's memory in use (worker/gpu_info.h) is sampled when the
// worker starts and after every epoch and evaluation; utilisation is not
// read (docs/OPERATIONS.md).
// Thread-safe, except that EvaluationStarted and EvaluationEnded come in
// pairs from one thread (the worker's trial loop): the pair shares
// busy_since_, which no other method (and no scrape) reads.
#ifndef NAS_WORKER_METRICS_H_
#define NAS_WORKER_METRICS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "nas/v1/worker.pb.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace nas {

class WorkerMetrics {
 public:
  // `device`: the evaluator's device description (a label of
  // nas_worker_info); "cuda:N ..." also turns on the GPU memory gauges for
  // device N.
  explicit WorkerMetrics(const std::string& device);
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // An evaluation starts / ends (busy time, trials in progress); both on
  // the trial loop's thread.
  void EvaluationStarted();
  // `metrics` is null when the evaluation failed.
  void EvaluationEnded(v1::EvaluationMode mode,
                       const v1::EvaluationMetrics* metrics);
  // One training epoch took `seconds`.
  void EpochDone(double seconds);
  // A call to the controller failed with a retryable error.
  void ControllerUnreachable();
  // A one-time dataset decode has done `done` of `total` images (the
  // evaluator's data progress callback; any thread).
  void DataDecodeProgress(int64_t done, int64_t total);
  // A COMMAND trainer run ended with `outcome` (ok, stopped, cancelled,
  // failed, timeout, malformed) for trainer `trainer` (any thread).
  void TrainerRunEnded(const std::string& trainer, const std::string& outcome);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* evaluations_;
  prometheus::Family<prometheus::Counter>* trainer_runs_;
  prometheus::Histogram* epoch_seconds_;
  prometheus::Gauge* images_per_second_;
  prometheus::Gauge* busy_;
  prometheus::Counter* busy_seconds_;
  prometheus::Counter* unreachable_;
  prometheus::Gauge* decode_done_;
  prometheus::Gauge* decode_total_;
  // CUDA device whose memory is sampled, or -1 (CPU).
  int gpu_index_ = -1;
  prometheus::Gauge* gpu_memory_used_ = nullptr;
  prometheus::Gauge* gpu_memory_total_ = nullptr;

  // Reads the GPU's memory in use into gpu_memory_used_ (no-op on CPU).
  void SampleGpuMemory();
  // Steady seconds at EvaluationStarted; read by EvaluationEnded on the
  // same thread (no lock: see the class comment).
  double busy_since_ = 0;
};

}  // namespace nas

#endif  // NAS_WORKER_METRICS_H_
