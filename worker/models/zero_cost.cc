#include "worker/models/zero_cost.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "worker/models/activation_codes.h"

namespace nas {
namespace {

// Everything a proxy may change in a module, restored on destruction:
// parameters' and buffers' values (and so their dtype), gradients, mode.
class SavedModuleState {
 public:
  explicit SavedModuleState(torch::nn::Module& net)
      : net_(net), training_(net.is_training()) {
    torch::NoGradGuard no_grad;
    for (const torch::Tensor& p : net.parameters()) {
      params_.push_back(p);
      param_values_.push_back(p.detach().clone());
      grads_.push_back(p.grad());
    }
    for (const torch::Tensor& b : net.buffers()) {
      buffers_.push_back(b);
      buffer_values_.push_back(b.detach().clone());
    }
  }
  ~SavedModuleState() {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) {
      params_[i].set_data(param_values_[i]);
      params_[i].mutable_grad() = grads_[i];
    }
    for (size_t i = 0; i < buffers_.size(); ++i) {
      buffers_[i].set_data(buffer_values_[i]);
    }
    net_.train(training_);
  }
  SavedModuleState(const SavedModuleState&) = delete;
  SavedModuleState& operator=(const SavedModuleState&) = delete;

 private:
  torch::nn::Module& net_;
  const bool training_;
  std::vector<torch::Tensor> params_, param_values_, grads_;
  std::vector<torch::Tensor> buffers_, buffer_values_;
};

void ClearGradients(torch::nn::Module& net) {
  for (torch::Tensor& p : net.parameters()) p.mutable_grad() = torch::Tensor();
}

// The weight of `m` when it is a Conv2d or Linear module, into `out`.
void AddProxyWeight(torch::nn::Module& m, std::vector<torch::Tensor>* out) {
  if (auto* conv = m.as<torch::nn::Conv2dImpl>()) {
    out->push_back(conv->weight);
  } else if (auto* linear = m.as<torch::nn::LinearImpl>()) {
    out->push_back(linear->weight);
  }
}

// The weights of the Conv2d and Linear modules, in module order (`net`
// first; it need not be held by a shared_ptr).
std::vector<torch::Tensor> ProxyWeights(torch::nn::Module& net) {
  std::vector<torch::Tensor> out;
  AddProxyWeight(net, &out);
  for (const std::shared_ptr<torch::nn::Module>& m :
       net.modules(/*include_self=*/false)) {
    AddProxyWeight(*m, &out);
  }
  return out;
}

// Runs `body` (returning a double), turning LibTorch's exceptions into
// Internal and a NaN into Internal naming `proxy`.
template <typename Body>
absl::StatusOr<double> Guarded(const char* proxy, Body body) {
  double v = 0;
  try {
    v = body();
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat(proxy, ": libtorch: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(proxy, ": ", e.what()));
  }
  if (std::isnan(v)) {
    return absl::InternalError(absl::StrCat(proxy, " is NaN"));
  }
  return v;
}

double Finite(double v) {
  const double max = std::numeric_limits<double>::max();
  return std::clamp(v, -max, max);
}

struct LossScores {
  double snip = 0, grad_norm = 0;
};

// snip and grad_norm from one forward and backward pass. Throws.
LossScores LossScoresOrThrow(torch::nn::Module& net, const ForwardFn& forward,
                             const torch::Tensor& x, const torch::Tensor& y) {
  SavedModuleState saved(net);
  net.train();
  ClearGradients(net);
  const torch::Tensor loss =
      torch::nn::functional::cross_entropy(forward(x), y);
  loss.backward();
  LossScores out;
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& w : ProxyWeights(net)) {
    const torch::Tensor& g = w.grad();
    if (!g.defined()) continue;  // a weight the forward did not use
    out.snip += (w * g).abs().sum(torch::kFloat64).item<double>();
    out.grad_norm += g.to(torch::kFloat64).norm().item<double>();
  }
  return out;
}

absl::Status CheckBatch(const char* proxy, const torch::Tensor& x,
                        const torch::Tensor* y) {
  if (!x.defined() || x.dim() < 2 || x.size(0) < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(proxy, ": needs a batch of images (N x ...)"));
  }
  if (y != nullptr &&
      (!y->defined() || y->dim() != 1 || y->size(0) != x.size(0))) {
    return absl::InvalidArgumentError(
        absl::StrCat(proxy, ": needs one label per image"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<double> Synflow(torch::nn::Module& net, const ForwardFn& forward,
                               const std::vector<int64_t>& image,
                               torch::Device device) {
  return Guarded("synflow", [&] {
    SavedModuleState saved(net);
    {
      torch::NoGradGuard no_grad;
      for (torch::Tensor& p : net.parameters()) p.abs_();
      for (torch::Tensor& b : net.buffers()) {
        if (b.is_floating_point()) b.abs_();
      }
    }
    net.eval();
    net.to(torch::kFloat64);
    ClearGradients(net);
    std::vector<int64_t> shape = {1};
    shape.insert(shape.end(), image.begin(), image.end());
    const torch::Tensor ones = torch::ones(
        shape, torch::TensorOptions().dtype(torch::kFloat64).device(device));
    forward(ones).sum().backward();
    double score = 0;
    torch::NoGradGuard no_grad;
    for (const torch::Tensor& w : ProxyWeights(net)) {
      const torch::Tensor& g = w.grad();
      if (!g.defined()) continue;
      score += (w * g).abs().sum().item<double>();
    }
    return Finite(score);
  });
}

absl::StatusOr<double> JacobCov(torch::nn::Module& net,
                                const ForwardFn& forward,
                                const torch::Tensor& x) {
  if (absl::Status s = CheckBatch("jacob_cov", x, nullptr); !s.ok()) return s;
  if (x.size(0) < 2) {
    return absl::InvalidArgumentError("jacob_cov: needs at least 2 images");
  }
  ActivationKernel kernel;
  absl::StatusOr<double> score = Guarded("jacob_cov", [&] {
    SavedModuleState saved(net);
    net.train();
    torch::NoGradGuard no_grad;
    {
      ScopedActivationKernel active(&kernel);
      forward(x);
    }
    if (kernel.relus() == 0) return 0.0;  // reported below
    const auto [sign, logabsdet] =
        torch::slogdet(kernel.kernel().to(torch::kCPU));
    if (sign.item<double>() == 0) return std::numeric_limits<double>::lowest();
    return Finite(logabsdet.item<double>());
  });
  if (score.ok() && kernel.relus() == 0) {
    return absl::FailedPreconditionError(
        "jacob_cov: the network ran no recorded ReLU (nas::Relu)");
  }
  return score;
}

absl::StatusOr<double> Snip(torch::nn::Module& net, const ForwardFn& forward,
                            const torch::Tensor& x, const torch::Tensor& y) {
  if (absl::Status s = CheckBatch("snip", x, &y); !s.ok()) return s;
  return Guarded("snip",
                 [&] { return LossScoresOrThrow(net, forward, x, y).snip; });
}

absl::StatusOr<double> GradNorm(torch::nn::Module& net,
                                const ForwardFn& forward,
                                const torch::Tensor& x,
                                const torch::Tensor& y) {
  if (absl::Status s = CheckBatch("grad_norm", x, &y); !s.ok()) return s;
  return Guarded("grad_norm", [&] {
    return LossScoresOrThrow(net, forward, x, y).grad_norm;
  });
}

absl::StatusOr<std::map<std::string, double>> ComputeZeroCostProxies(
    torch::nn::Module& net, const ForwardFn& forward,
    const std::vector<std::string>& proxies,
    const std::vector<ProxyBatch>& batches) {
  std::set<std::string> wanted;
  for (const std::string& p : proxies) {
    if (!IsZeroCostProxy(p)) {
      return absl::InvalidArgumentError(
          absl::StrCat("zero_cost.proxies: unknown proxy '", p, "' (one of ",
                       absl::StrJoin(ZeroCostProxyNames(), ", "), ")"));
    }
    wanted.insert(p);
  }
  if (batches.empty()) {
    return absl::InvalidArgumentError("zero-cost proxies need a batch");
  }
  for (const ProxyBatch& b : batches) {
    if (absl::Status s = CheckBatch("zero-cost proxies", b.x, &b.y); !s.ok()) {
      return s;
    }
  }
  std::map<std::string, double> out;
  const double n = static_cast<double>(batches.size());
  if (wanted.count("synflow") > 0) {
    const torch::Tensor& x = batches.front().x;
    std::vector<int64_t> image(x.sizes().begin() + 1, x.sizes().end());
    absl::StatusOr<double> v = Synflow(net, forward, image, x.device());
    if (!v.ok()) return v.status();
    out["synflow"] = *v;
  }
  if (wanted.count("jacob_cov") > 0) {
    double sum = 0;
    for (const ProxyBatch& b : batches) {
      absl::StatusOr<double> v = JacobCov(net, forward, b.x);
      if (!v.ok()) return v.status();
      sum += *v / n;  // divided first: lowest() stays finite
    }
    out["jacob_cov"] = sum;
  }
  const bool snip = wanted.count("snip") > 0;
  const bool grad_norm = wanted.count("grad_norm") > 0;
  if (snip || grad_norm) {
    LossScores sum;
    for (const ProxyBatch& b : batches) {
      LossScores one;
      absl::StatusOr<double> ok = Guarded("snip/grad_norm", [&] {
        one = LossScoresOrThrow(net, forward, b.x, b.y);
        return one.snip + one.grad_norm;
      });
      if (!ok.ok()) return ok.status();
      sum.snip += one.snip / n;
      sum.grad_norm += one.grad_norm / n;
    }
    if (snip) out["snip"] = sum.snip;
    if (grad_norm) out["grad_norm"] = sum.grad_norm;
  }
  return out;
}

}  // namespace nas
