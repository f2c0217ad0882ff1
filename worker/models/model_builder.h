// One path from (search space, genotype, options, input shape) to a
// trainable LibTorch network, for every space the worker can build.
// Include only from nas_worker_torch sources and worker tests (LibTorch).
// Not thread-safe per network: one thread trains or runs it at a time.
#ifndef NAS_WORKER_MODELS_MODEL_BUILDER_H_
#define NAS_WORKER_MODELS_MODEL_BUILDER_H_

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spaces/search_space.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// A candidate network: N x C x H x W images -> N x classes logits. Its
// parameters are those of the space's own module (registered as "net").
class CandidateNet : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

// Builds the network of `choices` in space `space` ("nb201" or "mobilenet")
// with the options of `spec` (spec.name() is not consulted; zero/empty
// options take their defaults) for `input`, with LibTorch's default
// initialisation (seed torch first for reproducible weights).
// InvalidArgument for an unknown space, a bad genotype, bad options or an
// input the space cannot take.
absl::StatusOr<std::shared_ptr<CandidateNet>> BuildCandidateNet(
    absl::string_view space, const std::vector<int>& choices,
    const v1::SearchSpaceSpec& spec, const InputShape& input);

}  // namespace nas

#endif  // NAS_WORKER_MODELS_MODEL_BUILDER_H_
