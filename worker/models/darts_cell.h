// The nb201 network under DARTS's continuous relaxation (Liu et al. 2019, as
// NAS-Bench-201's DARTS baselines run it): every edge of every cell computes
// sum_k softmax(alpha[e])[k] * op_k(x) over the space's five ops, with one
// 6 x 5 matrix alpha shared by all cells. The weights are those of the
// nb201 supernet (worker/models/supernet.h, same tensor names), so
// InheritWeights(network.supernet(), choices, subnet) copies them into
// BuildCandidateNet's network of any cell; alpha lives outside the weights
// (not a parameter of the module). Include only from nas_worker_torch
// sources and worker tests (LibTorch). Not thread-safe: one thread trains
// or runs a network at a time.
#ifndef NAS_WORKER_MODELS_DARTS_CELL_H_
#define NAS_WORKER_MODELS_DARTS_CELL_H_

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spaces/search_space.h"
#include "nas/v1/experiment.pb.h"
#include "worker/models/model_builder.h"
#include "worker/models/supernet.h"

namespace nas {

class DartsNetwork final : public CandidateNet {
 public:
  // Use BuildDartsNetwork.
  DartsNetwork(std::shared_ptr<Supernet> supernet, torch::Tensor alpha);

  // The mixed network with edge weights softmax(alpha) (gradients flow into
  // alpha when it requires them).
  torch::Tensor forward(const torch::Tensor& x) override;
  // The mixed network with the given edge weights (6 x 5, on x's device
  // and dtype), e.g. one-hot rows.
  torch::Tensor ForwardWith(const torch::Tensor& x,
                            const torch::Tensor& weights);

  // The architecture parameters: 6 x 5 (edges x ops in the nb201 space's
  // orders), a leaf that requires grad, on the network's device and dtype.
  torch::Tensor& alpha() { return alpha_; }
  // softmax(alpha) per edge, detached.
  torch::Tensor ArchWeights() const;
  // The weight-sharing network (named "supernet" in this module).
  Supernet& supernet() { return *supernet_; }

  // Moves the weights and alpha (a new leaf with the same values) to
  // `device` and `dtype`; use instead of to() (which leaves alpha behind),
  // before an optimizer takes alpha.
  void To(torch::Device device, torch::ScalarType dtype = torch::kFloat32);

 private:
  std::shared_ptr<Supernet> supernet_;
  torch::Tensor alpha_;
};

// Builds the DARTS network of the nb201 space with the options of `spec`
// (defaults for zero options) for `input`, on the CPU: LibTorch's default
// initialisation of the weights, then alpha = 1e-3 * randn (both from
// LibTorch's global generator: seed it first for reproducible networks).
// InvalidArgument as BuildCandidateNet.
absl::StatusOr<std::shared_ptr<DartsNetwork>> BuildDartsNetwork(
    const v1::SearchSpaceSpec& spec, const InputShape& input);

// The derived cell: per edge the op of the largest alpha (`none` included,
// as NAS-Bench-201's DARTS code; the first on ties). `alpha` is 6 x 5, any
// device.
std::vector<int> DeriveCell(const torch::Tensor& alpha);

// beta-DARTS's beta-decay regularization (Ye et al. 2022): the mean over
// edges of logsumexp(alpha[e]). Its gradient is softmax(alpha[e]) / edges.
torch::Tensor BetaDecayLoss(const torch::Tensor& alpha);

}  // namespace nas

#endif  // NAS_WORKER_MODELS_DARTS_CELL_H_
