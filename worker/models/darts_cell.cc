#include "worker/models/darts_cell.h"

#include <utility>

#include "common/spaces/nb201_space.h"
#include "common/status_macros.h"

namespace nas {

DartsNetwork::DartsNetwork(std::shared_ptr<Supernet> supernet,
                           torch::Tensor alpha)
    : supernet_(register_module("supernet", std::move(supernet))),
      alpha_(alpha.detach().clone().set_requires_grad(true)) {}

torch::Tensor DartsNetwork::forward(const torch::Tensor& x) {
  return supernet_->ForwardMixed(x, torch::softmax(alpha_, 1));
}

torch::Tensor DartsNetwork::ForwardWith(const torch::Tensor& x,
                                        const torch::Tensor& weights) {
  return supernet_->ForwardMixed(x, weights);
}

torch::Tensor DartsNetwork::ArchWeights() const {
  torch::NoGradGuard no_grad;
  return torch::softmax(alpha_.detach(), 1);
}

void DartsNetwork::To(torch::Device device, torch::ScalarType dtype) {
  torch::nn::Module::to(device, dtype);
  alpha_ = alpha_.detach().to(device, dtype).clone().set_requires_grad(true);
}

absl::StatusOr<std::shared_ptr<DartsNetwork>> BuildDartsNetwork(
    const v1::SearchSpaceSpec& spec, const InputShape& input) {
  NAS_ASSIGN_OR_RETURN(std::shared_ptr<Supernet> supernet,
                       BuildSupernet("nb201", spec, input));
  const torch::Tensor alpha = 1e-3 * torch::randn({kNb201Edges, kNb201Ops});
  return std::make_shared<DartsNetwork>(std::move(supernet), alpha);
}

std::vector<int> DeriveCell(const torch::Tensor& alpha) {
  const torch::Tensor a =
      alpha.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  std::vector<int> cell(a.size(0));
  const double* p = a.data_ptr<double>();
  for (int64_t e = 0; e < a.size(0); ++e) {
    int best = 0;
    for (int64_t k = 1; k < a.size(1); ++k) {
      if (p[e * a.size(1) + k] > p[e * a.size(1) + best]) {
        best = static_cast<int>(k);
      }
    }
    cell[e] = best;
  }
  return cell;
}

torch::Tensor BetaDecayLoss(const torch::Tensor& alpha) {
  return torch::logsumexp(alpha, 1).mean();
}

}  // namespace nas
