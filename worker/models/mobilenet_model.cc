#include "worker/models/mobilenet_model.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/models/layers.h"

namespace nas {
namespace {

namespace nn = torch::nn;

nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                int64_t groups = 1, bool bias = false) {
  return MakeConv(in, out, kernel, stride, groups, bias);
}
nn::BatchNorm2d Bn(int64_t c) { return MakeBatchNorm(c); }

// Runs `conv` on x, tracing it when asked.
torch::Tensor RunConv(nn::Conv2d& conv, const torch::Tensor& x,
                      const LayerTracer& tracer) {
  torch::Tensor y = conv(x);
  if (tracer.out != nullptr) {
    LayerTrace t;
    t.kind = LayerTrace::kConv;
    t.in = x.sizes().vec();
    t.out = y.sizes().vec();
    t.kernel = conv->options.kernel_size()->at(0);
    t.groups = conv->options.groups();
    tracer.out->push_back(std::move(t));
  }
  return y;
}

// Global average pool to N x C x 1 x 1, traced when asked.
torch::Tensor GlobalPool(const torch::Tensor& x, const LayerTracer& tracer) {
  torch::Tensor y = x.mean({2, 3}, /*keepdim=*/true);
  if (tracer.out != nullptr) {
    LayerTrace t;
    t.kind = LayerTrace::kGlobalPool;
    t.in = x.sizes().vec();
    t.out = y.sizes().vec();
    tracer.out->push_back(std::move(t));
  }
  return y;
}

}  // namespace

MBConvBlockImpl::MBConvBlockImpl(int64_t in, int64_t out, int64_t kernel,
                                 int64_t expansion, int64_t stride,
                                 int64_t se_channels,
                                 std::shared_ptr<LayerTracer> tracer)
    : tracer_(std::move(tracer)), residual_(stride == 1 && in == out) {
  const int64_t hidden = in * expansion;
  expand_ = register_module("expand", Conv(in, hidden, 1, 1));
  expand_bn_ = register_module("expand_bn", Bn(hidden));
  depthwise_ = register_module("depthwise",
                               Conv(hidden, hidden, kernel, stride, hidden));
  depthwise_bn_ = register_module("depthwise_bn", Bn(hidden));
  if (se_channels > 0) {
    se_reduce_ = register_module(
        "se_reduce", Conv(hidden, se_channels, 1, 1, 1, /*bias=*/true));
    se_expand_ = register_module(
        "se_expand", Conv(se_channels, hidden, 1, 1, 1, /*bias=*/true));
  }
  project_ = register_module("project", Conv(hidden, out, 1, 1));
  project_bn_ = register_module("project_bn", Bn(out));
}

torch::Tensor MBConvBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = Relu6(expand_bn_(RunConv(expand_, x, *tracer_)));
  h = Relu6(depthwise_bn_(RunConv(depthwise_, h, *tracer_)));
  if (se_reduce_) {
    torch::Tensor s = GlobalPool(h, *tracer_);
    s = Relu(RunConv(se_reduce_, s, *tracer_));
    s = torch::sigmoid(RunConv(se_expand_, s, *tracer_));
    h = h * s;
  }
  h = project_bn_(RunConv(project_, h, *tracer_));
  return residual_ ? h + x : h;
}

MobileNetNetworkImpl::MobileNetNetworkImpl(const MobileNetGenotype& genotype,
                                           const MobileNetShape& shape,
                                           const InputShape& input) {
  int64_t c = shape.Scaled(shape.stem_channels);
  stem_conv_ = register_module("stem_conv",
                               Conv(input.channels, c, 3, shape.stem_stride));
  stem_bn_ = register_module("stem_bn", Bn(c));
  nn::Sequential body;
  for (int s = 0; s < kMobileNetStages; ++s) {
    const MobileNetStage& st = genotype[s];
    const int64_t cout = shape.Scaled(shape.stage_channels[s]);
    for (int j = 0; j < st.depth; ++j) {
      const int64_t stride = j == 0 ? shape.stage_strides[s] : 1;
      const int64_t hidden = c * st.expansion;
      const int64_t se = st.se ? shape.SeChannels(static_cast<int>(hidden)) : 0;
      body->push_back(
          absl::StrCat("s", s + 1, "b", j + 1),
          MBConvBlock(c, cout, st.kernel, st.expansion, stride, se, tracer_));
      c = cout;
    }
  }
  body_ = register_module("body", body);
  const int64_t head = shape.Scaled(shape.head_channels);
  head_conv_ = register_module("head_conv", Conv(c, head, 1, 1));
  head_bn_ = register_module("head_bn", Bn(head));
  classifier_ = register_module(
      "classifier",
      nn::Linear(nn::LinearOptions(head, input.classes).bias(true)));
}

torch::Tensor MobileNetNetworkImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = Relu6(stem_bn_(RunConv(stem_conv_, x, *tracer_)));
  h = body_->forward(h);
  h = Relu6(head_bn_(RunConv(head_conv_, h, *tracer_)));
  h = GlobalPool(h, *tracer_).flatten(1);
  torch::Tensor y = classifier_(h);
  if (tracer_->out != nullptr) {
    LayerTrace t;
    t.kind = LayerTrace::kLinear;
    t.in = h.sizes().vec();
    t.out = y.sizes().vec();
    tracer_->out->push_back(std::move(t));
  }
  return y;
}

absl::StatusOr<MobileNetNetwork> BuildMobileNetNetwork(
    const std::vector<int>& choices, const MobileNetShape& shape,
    const InputShape& input) {
  absl::StatusOr<MobileNetGenotype> g = DecodeMobileNet(choices);
  if (!g.ok()) return g.status();
  if (input.channels < 1 || input.classes < 2 || input.height < 1 ||
      input.width < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mobilenet needs >= 1 input channel, >= 2 classes and a non-empty "
        "image, got ",
        input.channels, "x", input.height, "x", input.width, " with ",
        input.classes, " classes"));
  }
  return MobileNetNetwork(*g, shape, input);
}

}  // namespace nas
