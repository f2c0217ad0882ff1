// The mobilenet network as a LibTorch module, built exactly as
// common/spaces/mobilenet_space.h describes (so that its parameter count equals
// MobileNetSpace::ComputeCost's). A module is not thread-safe: one thread
// trains or runs it at a time.
#ifndef NAS_WORKER_MODELS_MOBILENET_MODEL_H_
#define NAS_WORKER_MODELS_MOBILENET_MODEL_H_

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spaces/mobilenet_space.h"
#include "common/spaces/search_space.h"

namespace nas {

// One MAC-relevant layer seen during a traced forward pass.
struct LayerTrace {
  enum Kind { kConv, kLinear, kGlobalPool };
  Kind kind = kConv;
  std::vector<int64_t> in;   // input sizes, batch first
  std::vector<int64_t> out;  // output sizes, batch first
  int64_t kernel = 1;        // kConv: square kernel side
  int64_t groups = 1;        // kConv: groups
};

// Where a network's layers append their traces; `out` is null (no tracing)
// unless a test sets it. Shared by a network and all its blocks.
struct LayerTracer {
  std::vector<LayerTrace>* out = nullptr;
};

// Inverted-residual block (see common/spaces/mobilenet_space.h): expand 1x1,
// depthwise KxK, optional squeeze-and-excitation, project 1x1, residual
// when stride 1 and in == out.
class MBConvBlockImpl : public torch::nn::Module {
 public:
  MBConvBlockImpl(int64_t in, int64_t out, int64_t kernel, int64_t expansion,
                  int64_t stride, int64_t se_channels,
                  std::shared_ptr<LayerTracer> tracer);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::shared_ptr<LayerTracer> tracer_;
  bool residual_;
  torch::nn::Conv2d expand_{nullptr}, depthwise_{nullptr}, project_{nullptr};
  torch::nn::BatchNorm2d expand_bn_{nullptr}, depthwise_bn_{nullptr},
      project_bn_{nullptr};
  // Null when SE is off.
  torch::nn::Conv2d se_reduce_{nullptr}, se_expand_{nullptr};
};
TORCH_MODULE(MBConvBlock);

// Stem, 4 stages of MBConv blocks, head (conv1x1 + BN + ReLU6, global
// average pool, linear with bias). Input N x C x H x W per `input` (any
// H, W >= 1); output N x classes logits.
class MobileNetNetworkImpl : public torch::nn::Module {
 public:
  MobileNetNetworkImpl(const MobileNetGenotype& genotype,
                       const MobileNetShape& shape, const InputShape& input);
  torch::Tensor forward(const torch::Tensor& x);

  // Appends a LayerTrace for every conv, linear and global pool of later
  // forward passes to `*trace` (nullptr stops tracing). For tests.
  void set_trace(std::vector<LayerTrace>* trace) { tracer_->out = trace; }

 private:
  std::shared_ptr<LayerTracer> tracer_ = std::make_shared<LayerTracer>();
  torch::nn::Conv2d stem_conv_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::Sequential body_{nullptr};
  torch::nn::Conv2d head_conv_{nullptr};
  torch::nn::BatchNorm2d head_bn_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(MobileNetNetwork);

// Validates the genotype (16 choices, see DecodeMobileNet) and the input
// (>= 1 channel, height and width >= 1, >= 2 classes) and builds the
// network with LibTorch's default initialisation (seed torch first for
// reproducible weights). `shape` comes from ResolveMobileNet. InvalidArgument
// naming the bad value otherwise.
absl::StatusOr<MobileNetNetwork> BuildMobileNetNetwork(
    const std::vector<int>& choices, const MobileNetShape& shape,
    const InputShape& input);

}  // namespace nas

#endif  // NAS_WORKER_MODELS_MOBILENET_MODEL_H_
