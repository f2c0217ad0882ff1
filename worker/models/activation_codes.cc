#include "worker/models/activation_codes.h"

namespace nas {
namespace {

thread_local ActivationKernel* active_kernel = nullptr;

// float32 sums of 0/1 products stay exact integers below 2^24.
constexpr int64_t kExactFloatFeatures = int64_t{1} << 24;

}  // namespace

void ActivationKernel::Add(const torch::Tensor& pre) {
  torch::NoGradGuard no_grad;
  const torch::Tensor flat = pre.detach().reshape({pre.size(0), -1});
  const torch::ScalarType type =
      flat.size(1) < kExactFloatFeatures ? torch::kFloat32 : torch::kFloat64;
  const torch::Tensor c = flat.gt(0).to(type);
  const torch::Tensor off = 1 - c;
  const torch::Tensor k =
      (c.matmul(c.t()) + off.matmul(off.t())).to(torch::kFloat64);
  k_ = k_.defined() ? k_ + k : k;
  ++relus_;
}

ScopedActivationKernel::ScopedActivationKernel(ActivationKernel* kernel)
    : previous_(active_kernel) {
  active_kernel = kernel;
}

ScopedActivationKernel::~ScopedActivationKernel() { active_kernel = previous_; }

void RecordActivation(const torch::Tensor& pre) {
  if (active_kernel != nullptr) active_kernel->Add(pre);
}

}  // namespace nas
