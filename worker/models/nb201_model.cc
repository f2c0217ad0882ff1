#include "worker/models/nb201_model.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/models/layers.h"

namespace nas {
namespace {

enum Op { kNone = 0, kSkip = 1, kConv1x1 = 2, kConv3x3 = 3, kAvgPool3x3 = 4 };

namespace nn = torch::nn;

nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                int64_t groups = 1, bool bias = false) {
  return MakeConv(in, out, kernel, stride, groups, bias);
}
nn::BatchNorm2d Bn(int64_t c) { return MakeBatchNorm(c); }

}  // namespace

ReluConvBnImpl::ReluConvBnImpl(int64_t in, int64_t out, int64_t kernel,
                               int64_t stride)
    : conv_(register_module("conv", Conv(in, out, kernel, stride))),
      bn_(register_module("bn", Bn(out))) {}

torch::Tensor ReluConvBnImpl::forward(const torch::Tensor& x) {
  return bn_(conv_(Relu(x)));
}

Nb201CellImpl::Nb201CellImpl(const std::array<int, kNb201Edges>& ops,
                             int64_t channels)
    : ops_(ops), convs_(kNb201Edges, ReluConvBn(nullptr)) {
  for (int e = 0; e < kNb201Edges; ++e) {
    if (ops_[e] == kConv1x1 || ops_[e] == kConv3x3) {
      const int64_t k = ops_[e] == kConv1x1 ? 1 : 3;
      convs_[e] = register_module(absl::StrCat("edge", e),
                                  ReluConvBn(channels, channels, k, 1));
    }
  }
  bool has_pool = false;
  for (int op : ops_) has_pool = has_pool || op == kAvgPool3x3;
  if (has_pool) {
    box_weight_ =
        register_buffer("box_weight", torch::ones({channels, 1, 3, 3}));
  }
  // Node i is needed when a non-none edge carries it to a needed node.
  needed_[3] = true;
  for (int to = 3; to >= 1; --to) {
    if (!needed_[to]) continue;
    for (int e = 0; e < kNb201Edges; ++e) {
      if (kNb201EdgeNodes[e][0] == to && ops_[e] != kNone) {
        needed_[kNb201EdgeNodes[e][1]] = true;
      }
    }
  }
}

torch::Tensor Nb201CellImpl::forward(const torch::Tensor& x) {
  std::array<torch::Tensor, 4> node;
  node[0] = x;
  for (int to = 1; to <= 3; ++to) {
    if (!needed_[to]) continue;
    torch::Tensor sum;
    for (int e = 0; e < kNb201Edges; ++e) {
      if (kNb201EdgeNodes[e][0] != to || ops_[e] == kNone) continue;
      const torch::Tensor& in = node[kNb201EdgeNodes[e][1]];
      torch::Tensor y;
      switch (ops_[e]) {
        case kSkip:
          y = in;
          break;
        case kConv1x1:
        case kConv3x3:
          y = convs_[e](in);
          break;
        case kAvgPool3x3:
          y = BoxAvgPool3x3(in, box_weight_, &inv_count_);
          break;
        default:
          break;
      }
      sum = sum.defined() ? sum + y : y;
    }
    node[to] = sum.defined() ? sum : torch::zeros_like(x);
  }
  return node[3];
}

torch::Tensor BoxAvgPool3x3(const torch::Tensor& x,
                            const torch::Tensor& box_weight,
                            torch::Tensor* inv_count) {
  torch::Tensor& inv_count_ = *inv_count;
  const int64_t h = x.size(2), w = x.size(3);
  if (!inv_count_.defined() || inv_count_.size(2) != h ||
      inv_count_.size(3) != w || inv_count_.device() != x.device() ||
      inv_count_.scalar_type() != x.scalar_type()) {
    // In-bounds pixels of each 3x3 window: rows(i) * cols(j), where an edge
    // row/column sees 2 (1 when the side is 1) and an inner one 3.
    auto counts = [](int64_t n) {
      std::vector<float> c(n, 3.0f);
      c.front() = c.back() = n > 1 ? 2.0f : 1.0f;
      return torch::tensor(c);
    };
    inv_count_ = (1.0 / torch::outer(counts(h), counts(w)))
                     .reshape({1, 1, h, w})
                     .to(x.options());
  }
  return torch::nn::functional::conv2d(
             x, box_weight,
             torch::nn::functional::Conv2dFuncOptions().padding(1).groups(
                 x.size(1))) *
         inv_count_;
}

Nb201ReductionImpl::Nb201ReductionImpl(int64_t in, int64_t out)
    : a_(register_module("a", ReluConvBn(in, out, 3, 2))),
      b_(register_module("b", ReluConvBn(out, out, 3, 1))),
      pool_(register_module("pool",
                            nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)))),
      shortcut_(register_module("shortcut", Conv(in, out, 1, 1))) {}

torch::Tensor Nb201ReductionImpl::forward(const torch::Tensor& x) {
  return b_(a_(x)) + shortcut_(pool_(x));
}

Nb201NetworkImpl::Nb201NetworkImpl(const std::array<int, kNb201Edges>& ops,
                                   const Nb201Shape& shape,
                                   const InputShape& input) {
  int64_t c = shape.channels;
  stem_conv_ = register_module("stem_conv", Conv(input.channels, c, 3, 1));
  stem_bn_ = register_module("stem_bn", Bn(c));
  nn::Sequential body;
  for (int stage = 0; stage < 3; ++stage) {
    if (stage > 0) {
      body->push_back(Nb201Reduction(c, 2 * c));
      c *= 2;
    }
    for (int i = 0; i < shape.cells_per_stage; ++i) {
      body->push_back(Nb201Cell(ops, c));
    }
  }
  body_ = register_module("body", body);
  head_bn_ = register_module("head_bn", Bn(c));
  classifier_ = register_module(
      "classifier", nn::Linear(nn::LinearOptions(c, input.classes).bias(true)));
}

torch::Tensor Nb201NetworkImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = stem_bn_(stem_conv_(x));
  h = body_->forward(h);
  h = Relu(head_bn_(h));
  h = h.mean({2, 3});  // global average pool
  return classifier_(h);
}

absl::StatusOr<Nb201Network> BuildNb201Network(const std::vector<int>& choices,
                                               const Nb201Shape& shape,
                                               const InputShape& input) {
  if (choices.size() != kNb201Edges) {
    return absl::InvalidArgumentError(
        absl::StrCat("nb201 genotype needs ", kNb201Edges, " choices, got ",
                     choices.size()));
  }
  std::array<int, kNb201Edges> ops;
  for (int e = 0; e < kNb201Edges; ++e) {
    if (choices[e] < 0 || choices[e] >= kNb201Ops) {
      return absl::InvalidArgumentError(
          absl::StrCat("nb201 choice ", e, " out of range [0, ", kNb201Ops,
                       "): ", choices[e]));
    }
    ops[e] = choices[e];
  }
  if (shape.channels < 1 || shape.cells_per_stage < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("nb201 channels and cells_per_stage must be >= 1, got ",
                     shape.channels, " and ", shape.cells_per_stage));
  }
  if (input.channels < 1 || input.classes < 2 || input.height < 4 ||
      input.width < 4 || input.height % 4 != 0 || input.width % 4 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "nb201 needs >= 1 input channel, >= 2 classes and height/width "
        "divisible by 4, got ",
        input.channels, "x", input.height, "x", input.width, " with ",
        input.classes, " classes"));
  }
  return Nb201Network(ops, shape, input);
}

int64_t CountParameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const torch::Tensor& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace nas
