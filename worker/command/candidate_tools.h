// The LibTorch parts of a COMMAND trial, behind a LibTorch-free interface so
// that the command evaluator compiles without LibTorch: the untrained
// candidate network of a built-in space as a TorchScript file, and its
// batch-1 latency on the worker's device. Used by one thread at a time.
#ifndef NAS_WORKER_COMMAND_CANDIDATE_TOOLS_H_
#define NAS_WORKER_COMMAND_CANDIDATE_TOOLS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spaces/search_space.h"
#include "nas/v1/architecture.pb.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

struct CandidateLatency {
  double median_ms = 0;
  double iqr_ms = 0;
};

class CandidateTools {
 public:
  virtual ~CandidateTools() = default;
  // Builds the candidate `choices` of the built-in space `space` (its name
  // and options) for `input` exactly as the built-in trainer does (the same
  // model builder, torch seeded with `seed`), untrained, and writes it to
  // `path` as a TorchScript archive (worker/torchscript_export.h: takes
  // float images in [0, 1] and normalizes them with `data`'s explicit mean
  // and std, if any; meta.json inside). Keeps the network for
  // MeasureLatency. InvalidArgument for a space it cannot build, Internal
  // for a LibTorch or file error.
  virtual absl::Status ExportUntrained(const v1::SearchSpaceSpec& space,
                                       const std::vector<int>& choices,
                                       const InputShape& input, int64_t seed,
                                       const v1::DataSpec& data,
                                       const std::string& path) = 0;
  // Batch-1 latency (median and IQR of `runs` timed passes after warm-up)
  // of the network last exported, on the worker's device.
  // FailedPrecondition when nothing was exported.
  virtual absl::StatusOr<CandidateLatency> MeasureLatency(int runs) = 0;
};

// The LibTorch implementation (library nas_worker_torch), on the device
// `device` names (nas-worker --device; worker/device.h, ChooseDevice);
// latency is timed in fp32 (the trainer's precision is its own). The same
// errors as MakeTorchEvaluator for a device that is not usable.
absl::StatusOr<std::unique_ptr<CandidateTools>> MakeTorchCandidateTools(
    int threads, const std::string& device = "auto");

}  // namespace nas

#endif  // NAS_WORKER_COMMAND_CANDIDATE_TOOLS_H_
