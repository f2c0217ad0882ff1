// The layer constructors and activations every network of the worker uses,
// so that the standalone networks and the supernets build identical layers.
// LibTorch.
#ifndef NAS_WORKER_MODELS_LAYERS_H_
#define NAS_WORKER_MODELS_LAYERS_H_

#include <torch/torch.h>

#include <cstdint>

#include "worker/models/activation_codes.h"

namespace nas {

// Square convolution with "same" padding (kernel / 2), no bias by default.
inline torch::nn::Conv2d MakeConv(int64_t in, int64_t out, int64_t kernel,
                                  int64_t stride, int64_t groups = 1,
                                  bool bias = false) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                               .stride(stride)
                               .padding(kernel / 2)
                               .groups(groups)
                               .bias(bias));
}

// Batch norm with affine parameters and LibTorch's defaults (momentum 0.1,
// eps 1e-5).
inline torch::nn::BatchNorm2d MakeBatchNorm(int64_t channels) {
  return torch::nn::BatchNorm2d(
      torch::nn::BatchNorm2dOptions(channels).affine(true));
}

// ReLU, torch::relu(x); its binary codes (x > 0) feed the thread's active
// ActivationKernel, if any (zero-cost proxy jacob_cov).
inline torch::Tensor Relu(const torch::Tensor& x) {
  RecordActivation(x);
  return torch::relu(x);
}

// ReLU6, min(max(x, 0), 6); recorded like Relu (codes x > 0).
inline torch::Tensor Relu6(const torch::Tensor& x) {
  RecordActivation(x);
  return torch::hardtanh(x, 0, 6);
}

}  // namespace nas

#endif  // NAS_WORKER_MODELS_LAYERS_H_
