// Speed measurements of a built candidate on the worker's device: batch-1
// latency (median and interquartile range of timed forward passes after
// warm-up) and inference throughput at a batch size. Both run the model in
// eval mode without autograd and leave it in eval mode. Not thread-safe per
// model.
#ifndef NAS_WORKER_PROFILER_H_
#define NAS_WORKER_PROFILER_H_

#include <torch/torch.h>

#include <vector>

#include "common/spaces/search_space.h"
#include "worker/device.h"
#include "worker/models/model_builder.h"

namespace nas {

struct LatencyStats {
  double median_ms = 0;
  double iqr_ms = 0;  // 75th minus 25th percentile
  // Every timed run, sorted ascending.
  std::vector<double> runs_ms;
};

// `warmup` untimed then `runs` (>= 1) timed batch-1 forward passes of a
// random input of `shape`; each run waits for its result (CUDA: synchronise).
LatencyStats MeasureLatency(CandidateNet& model, const InputShape& shape,
                            torch::Device device, int runs, int warmup = 5,
                            Precision precision = Precision::kFp32);

// Inference images per second at `batch` (>= 1): 2 untimed batches, then
// timed batches until at least `min_runs` ran and `min_seconds` passed (at
// most 200); returns batch / median batch time.
double MeasureThroughput(CandidateNet& model, const InputShape& shape,
                         torch::Device device, int64_t batch,
                         Precision precision = Precision::kFp32,
                         int min_runs = 5, double min_seconds = 1.0);

// The q-quantile (0..1, linear interpolation) of non-empty sorted values.
double Quantile(const std::vector<double>& sorted, double q);

}  // namespace nas

#endif  // NAS_WORKER_PROFILER_H_
