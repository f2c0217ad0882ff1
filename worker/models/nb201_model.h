// The NAS-Bench-201 network as a LibTorch module, built exactly as
// common/spaces/nb201_space.h describes (so that its parameter count equals
// Nb201Space::ComputeCost's). A module is not thread-safe: one thread trains
// or runs it at a time.
#ifndef NAS_WORKER_MODELS_NB201_MODEL_H_
#define NAS_WORKER_MODELS_NB201_MODEL_H_

#include <torch/torch.h>

#include <array>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spaces/nb201_space.h"
#include "common/spaces/search_space.h"

namespace nas {

// ReLU -> conv(k x k, stride, padding k/2, no bias) -> BatchNorm (affine).
class ReluConvBnImpl : public torch::nn::Module {
 public:
  ReluConvBnImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(ReluConvBn);

// avg_pool_3x3 (count_include_pad=false) computed as a depthwise 3x3 box sum
// with `box_weight` (channels x 1 x 3 x 3 ones) divided by the number of
// in-bounds pixels: the same values as torch's avg_pool2d, about 3x faster
// on CPU (whose avg_pool2d backward is slow). `*inv_count` caches the
// divisor for the last input size.
torch::Tensor BoxAvgPool3x3(const torch::Tensor& x,
                            const torch::Tensor& box_weight,
                            torch::Tensor* inv_count);

// One cell: node 0 is the input, node i (1..3) sums op_e(node j) over its
// incoming edges e = (i <- j) in kNb201EdgeNodes order; the output is node 3.
// `none` edges are skipped (a node with only `none` inputs is zero), and so
// are nodes whose value cannot reach the output (same result, less work).
class Nb201CellImpl : public torch::nn::Module {
 public:
  Nb201CellImpl(const std::array<int, kNb201Edges>& ops, int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::array<int, kNb201Edges> ops_;
  // Per edge; non-null for nor_conv_* edges only.
  std::vector<ReluConvBn> convs_;
  // For BoxAvgPool3x3: all-ones weight (a buffer, not a parameter).
  torch::Tensor box_weight_;  // channels x 1 x 3 x 3 ones (buffer)
  torch::Tensor inv_count_;   // 1 x 1 x H x W, cached for the last input size
  // Whether node i feeds the output (unused nodes are not computed).
  std::array<bool, 4> needed_{};
};
TORCH_MODULE(Nb201Cell);

// The ResNet reduction block C -> 2C (stride 2):
// out = b(a(x)) + conv1x1(avgpool2x2(x)).
class Nb201ReductionImpl : public torch::nn::Module {
 public:
  Nb201ReductionImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ReluConvBn a_{nullptr}, b_{nullptr};
  torch::nn::AvgPool2d pool_{nullptr};
  torch::nn::Conv2d shortcut_{nullptr};
};
TORCH_MODULE(Nb201Reduction);

// Stem, 3 stages of `cells_per_stage` cells with reductions between them,
// head (BN + ReLU, global average pool, linear with bias). Input N x C x H x W
// per `input`; output N x classes logits.
class Nb201NetworkImpl : public torch::nn::Module {
 public:
  Nb201NetworkImpl(const std::array<int, kNb201Edges>& ops,
                   const Nb201Shape& shape, const InputShape& input);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d stem_conv_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::Sequential body_{nullptr};
  torch::nn::BatchNorm2d head_bn_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(Nb201Network);

// Validates the genotype (6 choices in [0, 5)) and options (channels and
// cells_per_stage >= 1, input height/width divisible by 4, >= 1 channel and
// >= 2 classes) and builds the network with LibTorch's default
// initialisation (seed torch first for reproducible weights).
// InvalidArgument naming the bad value otherwise.
absl::StatusOr<Nb201Network> BuildNb201Network(const std::vector<int>& choices,
                                               const Nb201Shape& shape,
                                               const InputShape& input);

// Number of elements of all parameters of `module` (trainable tensors).
int64_t CountParameters(const torch::nn::Module& module);

}  // namespace nas

#endif  // NAS_WORKER_MODELS_NB201_MODEL_H_
