// Mode ZERO_COST: scores an untrained candidate with the zero-cost proxies
// of worker/models/zero_cost.h on a few batches of the training split, in
// seconds, without training. Called by the LibTorch evaluator
// (torch_evaluator.cc), which owns the dataset cache and the device.
// LibTorch; include only from nas_worker_torch sources and worker tests.
// Stateless, so safe to call from several threads on different data.
#ifndef NAS_WORKER_EVALUATORS_ZERO_COST_EVALUATOR_H_
#define NAS_WORKER_EVALUATORS_ZERO_COST_EVALUATOR_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spaces/search_space.h"
#include "nas/v1/worker.pb.h"
#include "worker/data/dataset.h"

namespace nas {

// The evaluation's ZeroCostOptions with defaults applied: 0 batches is 1,
// batch size 0 is 64, no proxies is all four (ZeroCostProxyNames).
struct ZeroCostSettings {
  std::vector<std::string> proxies;
  int batches = 1;
  int64_t batch_size = 64;
};

// `options` with the defaults above. InvalidArgument naming the field for
// a negative count or an unknown proxy.
absl::StatusOr<ZeroCostSettings> ResolveZeroCostSettings(
    const v1::ZeroCostOptions& options);

// Where and how a ZERO_COST trial runs.
struct ZeroCostContext {
  torch::Device device = torch::kCPU;
  std::string device_used;  // EvaluationMetrics.device
  int64_t seed = 1;         // the trial's data seed, as training uses it
  bool verbose = false;     // one line to stderr per trial
};

// Builds the candidate `choices` of `space` exactly as a FULL trial does
// (torch::manual_seed(seed), then BuildCandidateNet: the same initial
// weights), takes the first batches of the training epoch order FULL's
// first epoch would use (EpochOrder after the build; no augmentation;
// fewer, or smaller, batches when the split is short), and computes
// trial.evaluation().zero_cost's proxies, each the mean over the batches.
// Returns macs and params as the trained modes do, train_seconds = the
// seconds of taking the batches and computing the proxies, epochs 0,
// accuracies 0, device, and named_metrics[proxy]. No latency or
// throughput. InvalidArgument for bad options or genotype,
// FailedPrecondition for a training split of fewer than 2 images, the
// proxies' errors (ComputeZeroCostProxies). LibTorch exceptions propagate
// (the evaluator turns them into a status).
absl::StatusOr<v1::EvaluationMetrics> EvaluateZeroCost(
    const v1::Trial& trial, const std::string& space,
    const SearchSpace& search_space, const std::vector<int>& choices,
    const v1::SearchSpaceSpec& space_spec, const Dataset& data,
    const ZeroCostContext& context);

}  // namespace nas

#endif  // NAS_WORKER_EVALUATORS_ZERO_COST_EVALUATOR_H_
