#include "worker/models/supernet.h"

#include <algorithm>
#include <array>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/spaces/mobilenet_space.h"
#include "common/spaces/nb201_space.h"
#include "common/status_macros.h"
#include "worker/models/layers.h"
#include "worker/models/nb201_model.h"

namespace nas {
namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

enum Nb201Op { kNone = 0, kSkip = 1, kConv1x1 = 2, kConv3x3 = 3, kPool = 4 };

nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                int64_t groups = 1, bool bias = false) {
  return MakeConv(in, out, kernel, stride, groups, bias);
}
nn::BatchNorm2d Bn(int64_t c) { return MakeBatchNorm(c); }

// --- nb201 -------------------------------------------------------------------

// A cell with every op on every edge; forward runs the ops of one path.
// Tensor names: edge<e>_1x1 and edge<e>_3x3 hold the convolutions of edge e.
class Nb201SuperCellImpl : public nn::Module {
 public:
  explicit Nb201SuperCellImpl(int64_t channels) {
    for (int e = 0; e < kNb201Edges; ++e) {
      conv1_[e] = register_module(absl::StrCat("edge", e, "_1x1"),
                                  ReluConvBn(channels, channels, 1, 1));
      conv3_[e] = register_module(absl::StrCat("edge", e, "_3x3"),
                                  ReluConvBn(channels, channels, 3, 1));
    }
    box_weight_ =
        register_buffer("box_weight", torch::ones({channels, 1, 3, 3}));
  }

  // As Nb201CellImpl::forward for the cell of `ops`.
  torch::Tensor forward(const torch::Tensor& x, const std::vector<int>& ops) {
    std::array<bool, 4> needed{};
    needed[3] = true;
    for (int to = 3; to >= 1; --to) {
      if (!needed[to]) continue;
      for (int e = 0; e < kNb201Edges; ++e) {
        if (kNb201EdgeNodes[e][0] == to && ops[e] != kNone) {
          needed[kNb201EdgeNodes[e][1]] = true;
        }
      }
    }
    std::array<torch::Tensor, 4> node;
    node[0] = x;
    for (int to = 1; to <= 3; ++to) {
      if (!needed[to]) continue;
      torch::Tensor sum;
      for (int e = 0; e < kNb201Edges; ++e) {
        if (kNb201EdgeNodes[e][0] != to || ops[e] == kNone) continue;
        const torch::Tensor& in = node[kNb201EdgeNodes[e][1]];
        torch::Tensor y;
        switch (ops[e]) {
          case kSkip:
            y = in;
            break;
          case kConv1x1:
            y = conv1_[e](in);
            break;
          case kConv3x3:
            y = conv3_[e](in);
            break;
          default:
            y = BoxAvgPool3x3(in, box_weight_, &inv_count_);
            break;
        }
        sum = sum.defined() ? sum + y : y;
      }
      node[to] = sum.defined() ? sum : torch::zeros_like(x);
    }
    return node[3];
  }

  // DARTS's mixed cell: edge e computes sum_k w[e][k] * op_k(x); `none`
  // contributes nothing (its output is zero).
  torch::Tensor forward_mixed(const torch::Tensor& x, const torch::Tensor& w) {
    std::array<torch::Tensor, 4> node;
    node[0] = x;
    for (int to = 1; to <= 3; ++to) {
      torch::Tensor sum;
      for (int e = 0; e < kNb201Edges; ++e) {
        if (kNb201EdgeNodes[e][0] != to) continue;
        const torch::Tensor& in = node[kNb201EdgeNodes[e][1]];
        const torch::Tensor we = w.select(0, e);
        torch::Tensor y = in * we.select(0, kSkip);
        y = y + conv1_[e](in) * we.select(0, kConv1x1);
        y = y + conv3_[e](in) * we.select(0, kConv3x3);
        y = y +
            BoxAvgPool3x3(in, box_weight_, &inv_count_) * we.select(0, kPool);
        sum = sum.defined() ? sum + y : y;
      }
      node[to] = sum;
    }
    return node[3];
  }

 private:
  std::array<ReluConvBn, kNb201Edges> conv1_{
      ReluConvBn(nullptr), ReluConvBn(nullptr), ReluConvBn(nullptr),
      ReluConvBn(nullptr), ReluConvBn(nullptr), ReluConvBn(nullptr)};
  std::array<ReluConvBn, kNb201Edges> conv3_{
      ReluConvBn(nullptr), ReluConvBn(nullptr), ReluConvBn(nullptr),
      ReluConvBn(nullptr), ReluConvBn(nullptr), ReluConvBn(nullptr)};
  torch::Tensor box_weight_;
  torch::Tensor inv_count_;
};
TORCH_MODULE(Nb201SuperCell);

// The skeleton of Nb201NetworkImpl (same tensor names) with super cells.
class Nb201SuperNetImpl : public nn::Module {
 public:
  Nb201SuperNetImpl(const Nb201Shape& shape, const InputShape& input) {
    int64_t c = shape.channels;
    stem_conv_ = register_module("stem_conv", Conv(input.channels, c, 3, 1));
    stem_bn_ = register_module("stem_bn", Bn(c));
    body_ = register_module("body", nn::ModuleList());
    for (int stage = 0; stage < 3; ++stage) {
      if (stage > 0) {
        Nb201Reduction r(c, 2 * c);
        body_->push_back(r);
        layers_.push_back({r, nullptr});
        c *= 2;
      }
      for (int i = 0; i < shape.cells_per_stage; ++i) {
        Nb201SuperCell cell(c);
        body_->push_back(cell);
        layers_.push_back({nullptr, cell});
      }
    }
    head_bn_ = register_module("head_bn", Bn(c));
    classifier_ = register_module(
        "classifier",
        nn::Linear(nn::LinearOptions(c, input.classes).bias(true)));
  }

  torch::Tensor forward(const torch::Tensor& x, const std::vector<int>& ops) {
    torch::Tensor h = stem_bn_(stem_conv_(x));
    for (auto& [reduction, cell] : layers_) {
      h = reduction ? reduction(h) : cell(h, ops);
    }
    h = torch::relu(head_bn_(h));
    return classifier_(h.mean({2, 3}));
  }

  torch::Tensor forward_mixed(const torch::Tensor& x,
                              const torch::Tensor& weights) {
    torch::Tensor h = stem_bn_(stem_conv_(x));
    for (auto& [reduction, cell] : layers_) {
      h = reduction ? reduction(h) : cell->forward_mixed(h, weights);
    }
    h = torch::relu(head_bn_(h));
    return classifier_(h.mean({2, 3}));
  }

 private:
  nn::Conv2d stem_conv_{nullptr};
  nn::BatchNorm2d stem_bn_{nullptr};
  nn::ModuleList body_{nullptr};
  std::vector<std::pair<Nb201Reduction, Nb201SuperCell>> layers_;
  nn::BatchNorm2d head_bn_{nullptr};
  nn::Linear classifier_{nullptr};
};
TORCH_MODULE(Nb201SuperNet);

class Nb201Supernet final : public Supernet {
 public:
  Nb201Supernet(const SearchSpace* space, const Nb201Shape& shape,
                const InputShape& input)
      : Supernet(space),
        net_(register_module("net", Nb201SuperNet(shape, input))) {}

  // net.body.<i>.edge<e>.<rest> -> net.body.<i>.edge<e>_1x1|_3x3.<rest>.
  std::string SourceName(const std::string& name,
                         const std::vector<int>& choices) const override {
    std::vector<std::string> parts = absl::StrSplit(name, '.');
    int edge = -1;
    if (parts.size() > 4 && parts[0] == "net" && parts[1] == "body" &&
        absl::StartsWith(parts[3], "edge") &&
        absl::SimpleAtoi(absl::string_view(parts[3]).substr(4), &edge) &&
        edge >= 0 && edge < static_cast<int>(choices.size())) {
      parts[3] += choices[edge] == kConv1x1 ? "_1x1" : "_3x3";
    }
    return absl::StrJoin(parts, ".");
  }

  bool has_mixed_forward() const override { return true; }
  torch::Tensor ForwardMixed(const torch::Tensor& x,
                             const torch::Tensor& weights) override {
    TORCH_CHECK(weights.dim() == 2 && weights.size(0) == kNb201Edges &&
                    weights.size(1) == kNb201Ops,
                "nb201 mixed forward needs 6 x 5 edge weights, got ",
                weights.sizes());
    return net_->forward_mixed(x, weights);
  }

 protected:
  torch::Tensor ForwardPath(const torch::Tensor& x,
                            const std::vector<int>& choices) override {
    return net_->forward(x, choices);
  }

 private:
  Nb201SuperNet net_;
};

// --- mobilenet ---------------------------------------------------------------

torch::Tensor Relu6(const torch::Tensor& x) { return torch::hardtanh(x, 0, 6); }

// Batch norm over the first x.size(1) channels of `bn`.
torch::Tensor SlicedBn(nn::BatchNorm2d& bn, const torch::Tensor& x,
                       bool training) {
  const int64_t c = x.size(1);
  return F::batch_norm(x, bn->running_mean.narrow(0, 0, c),
                       bn->running_var.narrow(0, 0, c),
                       F::BatchNormFuncOptions()
                           .weight(bn->weight.narrow(0, 0, c))
                           .bias(bn->bias.narrow(0, 0, c))
                           .training(training)
                           .momentum(bn->options.momentum().value_or(0.1))
                           .eps(bn->options.eps()));
}

// The largest MBConv block (expansion 6, kernel 7, SE on), run at any
// smaller kernel/expansion, with or without SE. Tensor names as
// MBConvBlockImpl's.
class DynamicMBConvImpl : public nn::Module {
 public:
  DynamicMBConvImpl(int64_t in, int64_t out, int64_t stride,
                    const MobileNetShape& shape)
      : in_(in), out_(out), stride_(stride) {
    const int64_t hidden = in * kMobileNetExpansions.back();
    const int64_t kernel = kMobileNetKernels.back();
    expand_ = register_module("expand", Conv(in, hidden, 1, 1));
    expand_bn_ = register_module("expand_bn", Bn(hidden));
    depthwise_ = register_module("depthwise",
                                 Conv(hidden, hidden, kernel, stride, hidden));
    depthwise_bn_ = register_module("depthwise_bn", Bn(hidden));
    const int64_t se = shape.SeChannels(static_cast<int>(hidden));
    se_reduce_ =
        register_module("se_reduce", Conv(hidden, se, 1, 1, 1, /*bias=*/true));
    se_expand_ =
        register_module("se_expand", Conv(se, hidden, 1, 1, 1, /*bias=*/true));
    project_ = register_module("project", Conv(hidden, out, 1, 1));
    project_bn_ = register_module("project_bn", Bn(out));
  }

  // se_channels 0 = no squeeze-and-excitation.
  torch::Tensor forward(const torch::Tensor& x, int64_t kernel,
                        int64_t expansion, int64_t se_channels) {
    const bool training = is_training();
    const int64_t hidden = in_ * expansion;
    torch::Tensor h = F::conv2d(x, expand_->weight.narrow(0, 0, hidden));
    h = Relu6(SlicedBn(expand_bn_, h, training));
    const int64_t full = depthwise_->weight.size(2);
    const int64_t off = (full - kernel) / 2;
    const torch::Tensor dw = depthwise_->weight.narrow(0, 0, hidden)
                                 .narrow(2, off, kernel)
                                 .narrow(3, off, kernel);
    h = F::conv2d(h, dw,
                  F::Conv2dFuncOptions()
                      .stride(stride_)
                      .padding(kernel / 2)
                      .groups(hidden));
    h = Relu6(SlicedBn(depthwise_bn_, h, training));
    if (se_channels > 0) {
      torch::Tensor s = h.mean({2, 3}, /*keepdim=*/true);
      s = torch::relu(F::conv2d(
          s, se_reduce_->weight.narrow(0, 0, se_channels).narrow(1, 0, hidden),
          F::Conv2dFuncOptions().bias(
              se_reduce_->bias.narrow(0, 0, se_channels))));
      s = torch::sigmoid(F::conv2d(
          s, se_expand_->weight.narrow(0, 0, hidden).narrow(1, 0, se_channels),
          F::Conv2dFuncOptions().bias(se_expand_->bias.narrow(0, 0, hidden))));
      h = h * s;
    }
    h = F::conv2d(h, project_->weight.narrow(1, 0, hidden));
    h = project_bn_(h);
    return stride_ == 1 && in_ == out_ ? h + x : h;
  }

 private:
  const int64_t in_, out_, stride_;
  nn::Conv2d expand_{nullptr}, depthwise_{nullptr}, project_{nullptr};
  nn::BatchNorm2d expand_bn_{nullptr}, depthwise_bn_{nullptr},
      project_bn_{nullptr};
  nn::Conv2d se_reduce_{nullptr}, se_expand_{nullptr};
};
TORCH_MODULE(DynamicMBConv);

// The skeleton of MobileNetNetworkImpl (same tensor names) at full depth.
class MobileNetSuperNetImpl : public nn::Module {
 public:
  MobileNetSuperNetImpl(const MobileNetShape& shape, const InputShape& input)
      : shape_(shape) {
    int64_t c = shape.Scaled(shape.stem_channels);
    stem_conv_ = register_module("stem_conv",
                                 Conv(input.channels, c, 3, shape.stem_stride));
    stem_bn_ = register_module("stem_bn", Bn(c));
    body_ = register_module("body", std::make_shared<nn::Module>());
    for (int s = 0; s < kMobileNetStages; ++s) {
      const int64_t cout = shape.Scaled(shape.stage_channels[s]);
      for (int j = 0; j < kMobileNetDepths.back(); ++j) {
        const int64_t stride = j == 0 ? shape.stage_strides[s] : 1;
        blocks_[s].push_back(
            body_->register_module(absl::StrCat("s", s + 1, "b", j + 1),
                                   DynamicMBConv(c, cout, stride, shape)));
        in_[s].push_back(c);
        c = cout;
      }
    }
    const int64_t head = shape.Scaled(shape.head_channels);
    head_conv_ = register_module("head_conv", Conv(c, head, 1, 1));
    head_bn_ = register_module("head_bn", Bn(head));
    classifier_ = register_module(
        "classifier",
        nn::Linear(nn::LinearOptions(head, input.classes).bias(true)));
  }

  torch::Tensor forward(const torch::Tensor& x, const MobileNetGenotype& g) {
    torch::Tensor h = Relu6(stem_bn_(stem_conv_(x)));
    for (int s = 0; s < kMobileNetStages; ++s) {
      const MobileNetStage& st = g[s];
      for (int j = 0; j < st.depth; ++j) {
        const int64_t se =
            st.se
                ? shape_.SeChannels(static_cast<int>(in_[s][j] * st.expansion))
                : 0;
        h = blocks_[s][j]->forward(h, st.kernel, st.expansion, se);
      }
    }
    h = Relu6(head_bn_(head_conv_(h)));
    return classifier_(h.mean({2, 3}));
  }

 private:
  const MobileNetShape shape_;
  nn::Conv2d stem_conv_{nullptr};
  nn::BatchNorm2d stem_bn_{nullptr};
  std::shared_ptr<nn::Module> body_;
  std::array<std::vector<DynamicMBConv>, kMobileNetStages> blocks_;
  std::array<std::vector<int64_t>, kMobileNetStages> in_;  // block inputs
  nn::Conv2d head_conv_{nullptr};
  nn::BatchNorm2d head_bn_{nullptr};
  nn::Linear classifier_{nullptr};
};
TORCH_MODULE(MobileNetSuperNet);

class MobileNetSupernet final : public Supernet {
 public:
  MobileNetSupernet(const SearchSpace* space, const MobileNetShape& shape,
                    const InputShape& input)
      : Supernet(space),
        net_(register_module("net", MobileNetSuperNet(shape, input))) {}

  // Same names: a subnet tensor is a slice of its namesake.
  std::string SourceName(const std::string& name,
                         const std::vector<int>&) const override {
    return name;
  }

 protected:
  torch::Tensor ForwardPath(const torch::Tensor& x,
                            const std::vector<int>& choices) override {
    absl::StatusOr<MobileNetGenotype> g = DecodeMobileNet(choices);
    TORCH_CHECK(g.ok(), std::string(g.status().message()));
    return net_->forward(x, *g);
  }

 private:
  MobileNetSuperNet net_;
};

}  // namespace

// --- Supernet ----------------------------------------------------------------

torch::Tensor Supernet::forward(const torch::Tensor& x) {
  if (sampling_ && is_training()) {
    for (int d = 0; d < space_->num_decisions(); ++d) {
      std::vector<int>& cycle = cycles_[d];
      const int64_t k = static_cast<int64_t>(cycle.size());
      if (step_ % k == 0) std::shuffle(cycle.begin(), cycle.end(), rng_);
      path_[d] = cycle[step_ % k];
    }
    ++step_;
  }
  return ForwardPath(x, path_);
}

torch::Tensor Supernet::ForwardMixed(const torch::Tensor&,
                                     const torch::Tensor&) {
  TORCH_CHECK(false, "the ", space_->name(),
              " supernet has no mixed (DARTS) forward");
}

absl::Status Supernet::SetPath(const std::vector<int>& choices) {
  NAS_RETURN_IF_ERROR(space_->Canonical(choices).status());
  path_ = choices;
  sampling_ = false;
  return absl::OkStatus();
}

void Supernet::EnableSampling(uint64_t seed) {
  rng_.seed(seed);
  path_.assign(space_->num_decisions(), 0);
  cycles_.assign(space_->num_decisions(), {});
  for (int d = 0; d < space_->num_decisions(); ++d) {
    for (int c = 0; c < space_->num_choices(d); ++c) cycles_[d].push_back(c);
  }
  step_ = 0;
  sampling_ = true;
}

absl::StatusOr<std::shared_ptr<Supernet>> BuildSupernet(
    absl::string_view space, const v1::SearchSpaceSpec& spec,
    const InputShape& input) {
  NAS_ASSIGN_OR_RETURN(const SearchSpace* s, GetSearchSpace(space));
  // The standalone builder validates the options and the input shape.
  const std::vector<int> first(s->num_decisions(), 0);
  NAS_RETURN_IF_ERROR(BuildCandidateNet(space, first, spec, input).status());
  std::shared_ptr<Supernet> net;
  if (space == "nb201") {
    net = std::make_shared<Nb201Supernet>(s, ResolveNb201(spec), input);
  } else {
    NAS_ASSIGN_OR_RETURN(const MobileNetShape shape, ResolveMobileNet(spec));
    net = std::make_shared<MobileNetSupernet>(s, shape, input);
  }
  NAS_RETURN_IF_ERROR(net->SetPath(first));
  return net;
}

absl::Status InheritWeights(Supernet& supernet, const std::vector<int>& choices,
                            CandidateNet& subnet) {
  torch::NoGradGuard no_grad;
  const auto params = supernet.named_parameters(/*recurse=*/true);
  const auto buffers = supernet.named_buffers(/*recurse=*/true);
  auto copy = [&](const std::string& name, torch::Tensor& dst) {
    const std::string from = supernet.SourceName(name, choices);
    const torch::Tensor* src = params.find(from);
    if (src == nullptr) src = buffers.find(from);
    if (src == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("subnet tensor ", name, ": the supernet has no ", from));
    }
    torch::Tensor s = *src;
    if (s.dim() != dst.dim()) {
      return absl::InvalidArgumentError(
          absl::StrCat("subnet tensor ", name, " has ", dst.dim(),
                       " dimensions, its source ", from, " ", s.dim()));
    }
    for (int64_t d = 0; d < dst.dim(); ++d) {
      if (s.size(d) < dst.size(d)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "subnet tensor ", name, " is larger than its source ", from,
            " in dimension ", d, ": ", dst.size(d), " > ", s.size(d)));
      }
      if (s.size(d) > dst.size(d)) {
        const bool kernel_dim = dst.dim() == 4 && d >= 2;
        const int64_t start = kernel_dim ? (s.size(d) - dst.size(d)) / 2 : 0;
        s = s.narrow(d, start, dst.size(d));
      }
    }
    dst.copy_(s);
    return absl::OkStatus();
  };
  for (auto& item : subnet.named_parameters(/*recurse=*/true)) {
    NAS_RETURN_IF_ERROR(copy(item.key(), item.value()));
  }
  for (auto& item : subnet.named_buffers(/*recurse=*/true)) {
    NAS_RETURN_IF_ERROR(copy(item.key(), item.value()));
  }
  return absl::OkStatus();
}

void RecalibrateBatchNorm(CandidateNet& net, const torch::Tensor& x,
                          int64_t batches, int64_t batch_size) {
  std::vector<std::pair<nn::BatchNorm2dImpl*, c10::optional<double>>> bns;
  for (const std::shared_ptr<nn::Module>& m : net.modules()) {
    if (auto* bn = m->as<nn::BatchNorm2d>()) {
      bns.emplace_back(bn, bn->options.momentum());
      bn->reset_running_stats();
      bn->options.momentum(c10::nullopt);  // cumulative average
    }
  }
  {
    torch::NoGradGuard no_grad;
    net.train();
    const int64_t n = x.size(0);
    for (int64_t b = 0; b < batches && b * batch_size < n; ++b) {
      net.forward(x.narrow(0, b * batch_size,
                           std::min(batch_size, n - b * batch_size)));
    }
  }
  for (auto& [bn, momentum] : bns) bn->options.momentum(momentum);
  net.eval();
}

absl::StatusOr<std::string> SaveWeights(torch::nn::Module& module) {
  try {
    torch::serialize::OutputArchive archive;
    module.save(archive);
    std::ostringstream out;
    archive.save_to(out);
    return out.str();
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("saving weights: ", e.what_without_backtrace()));
  }
}

absl::Status LoadWeights(torch::nn::Module& module, const std::string& bytes) {
  // LibTorch replaces a tensor of another shape without complaint: compare
  // every shape after loading.
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  for (const auto& item : module.named_parameters()) {
    shapes.emplace_back(item.key(), item.value().sizes().vec());
  }
  for (const auto& item : module.named_buffers()) {
    shapes.emplace_back(item.key(), item.value().sizes().vec());
  }
  try {
    torch::serialize::InputArchive archive;
    std::istringstream in(bytes);
    archive.load_from(in);
    module.load(archive);
    const auto params = module.named_parameters();
    const auto buffers = module.named_buffers();
    for (const auto& [name, shape] : shapes) {
      const torch::Tensor* t = params.find(name);
      if (t == nullptr) t = buffers.find(name);
      if (t == nullptr || t->sizes().vec() != shape) {
        return absl::InvalidArgumentError(absl::StrCat(
            "weights do not fit the supernet: tensor ", name,
            t == nullptr
                ? " is missing"
                : absl::StrCat(" has shape [", absl::StrJoin(t->sizes(), ","),
                               "], the supernet [", absl::StrJoin(shape, ","),
                               "]")));
      }
    }
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weights do not fit the supernet: ", e.what_without_backtrace()));
  }
}

}  // namespace nas
