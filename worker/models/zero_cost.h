// Zero-cost proxies (Abdelfattah et al. 2021, "Zero-Cost Proxies for
// Lightweight NAS"; reference code github.com/SamsungLabs/zero-cost-nas):
// scores of an untrained network that rank architectures without training
// them. Pure functions over a LibTorch module and its forward function: each
// leaves the module's parameters, buffers, gradients, dtype and train/eval
// mode as it found them. LibTorch; not thread-safe per module (one thread
// scores a module at a time).
//
// Only the weights of Conv2d and Linear modules count ("weights" below),
// as in the reference's get_layer_metric_array; biases and batch-norm
// parameters do not. Every score is larger for networks expected to train
// better.
#ifndef NAS_WORKER_MODELS_ZERO_COST_H_
#define NAS_WORKER_MODELS_ZERO_COST_H_

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/spec/defaults.h"

namespace nas {

// N x C x H x W float images -> N x classes logits (e.g. a CandidateNet's
// forward). It must run the module the proxies are given.
using ForwardFn = std::function<torch::Tensor(const torch::Tensor&)>;

// The proxies by name, in their canonical order: ZeroCostProxyNames() of
// common/spec/defaults.h, the list the spec validates against.

// synflow (Tanaka et al. 2020, as zero-cost-nas computes it): every
// parameter and floating buffer replaced by its absolute value, the module
// in float64 and eval mode (batch norm uses its running statistics; the
// reference removes batch norm instead, which at initialization differs
// only by the factor 1/sqrt(1 + eps) per layer), R = sum of the outputs
// for one all-ones image of shape `image` (C, H, W) on `device`; returns
// sum over weights of |theta * dR/dtheta| in float64. A score beyond the
// largest double is returned as that double.
absl::StatusOr<double> Synflow(torch::nn::Module& net, const ForwardFn& forward,
                               const std::vector<int64_t>& image,
                               torch::Device device);

// jacob_cov, in its NASWOT form (Mellor et al. 2021, the binary-code
// kernel; not the earlier Jacobian-covariance score of the zero-cost-nas
// repository's jacob_cov.py): the module in train mode (batch statistics)
// runs the batch `x` (N >= 2) without gradients, K = sum over the ReLUs of
// the worker's layers (nas::Relu/Relu6, see activation_codes.h) of
// c c^T + (1 - c)(1 - c)^T with c = (ReLU input > 0) per image; returns
// log |det K| (slogdet). A singular K (two images with identical codes,
// a dead network) returns the lowest finite double, so that it ranks last
// and stays a valid metric. FailedPrecondition when the forward ran no
// recorded ReLU.
absl::StatusOr<double> JacobCov(torch::nn::Module& net,
                                const ForwardFn& forward,
                                const torch::Tensor& x);

// snip (Lee et al. 2019): the module in train mode, L = mean cross entropy
// of forward(x) against int64 labels `y` (no label smoothing, no class
// weights); returns sum over weights of |theta * dL/dtheta| (what the
// reference gets as the gradient of a weight mask of ones).
absl::StatusOr<double> Snip(torch::nn::Module& net, const ForwardFn& forward,
                            const torch::Tensor& x, const torch::Tensor& y);

// grad_norm: as snip's loss; returns the sum over weight tensors of the L2
// norm of dL/dtheta (the reference's per-layer norms, summed).
absl::StatusOr<double> GradNorm(torch::nn::Module& net,
                                const ForwardFn& forward,
                                const torch::Tensor& x, const torch::Tensor& y);

// One batch of images (float, normalized, on the module's device) and
// their int64 labels.
struct ProxyBatch {
  torch::Tensor x, y;
};

// The `proxies` (names from ZeroCostProxyNames; duplicates counted once)
// of `net`, each the mean over `batches` (at least one; synflow, which
// uses no data, is computed once for the images' shape). snip and
// grad_norm share one backward pass per batch. InvalidArgument naming an
// unknown proxy or an empty list of batches; the errors of the proxies
// above; Internal for a LibTorch error or a NaN score.
absl::StatusOr<std::map<std::string, double>> ComputeZeroCostProxies(
    torch::nn::Module& net, const ForwardFn& forward,
    const std::vector<std::string>& proxies,
    const std::vector<ProxyBatch>& batches);

}  // namespace nas

#endif  // NAS_WORKER_MODELS_ZERO_COST_H_
