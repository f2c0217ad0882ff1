// NASWOT's kernel of binary ReLU codes (Mellor et al. 2021, "Neural
// Architecture Search without Training"), collected from the ReLUs of the
// worker's networks (nas::Relu and nas::Relu6 in worker/models/layers.h)
// while a ScopedActivationKernel is alive on the calling thread. LibTorch.
// An ActivationKernel is not thread-safe; each thread has its own active one.
#ifndef NAS_WORKER_MODELS_ACTIVATION_CODES_H_
#define NAS_WORKER_MODELS_ACTIVATION_CODES_H_

#include <torch/torch.h>

#include <cstdint>

namespace nas {

// K = sum over ReLUs of c c^T + (1 - c)(1 - c)^T, where c (N x features) is
// the binary code (input > 0) of one ReLU's input per image: K[i][j] counts
// the units on which images i and j agree. Entries are exact integer counts
// (float64 on the device of the activations).
class ActivationKernel {
 public:
  // Adds one ReLU's input `pre` (N x ...). Every call must have the same N.
  void Add(const torch::Tensor& pre);
  // N x N float64; undefined before the first Add.
  const torch::Tensor& kernel() const { return k_; }
  // ReLUs added so far.
  int64_t relus() const { return relus_; }

 private:
  torch::Tensor k_;
  int64_t relus_ = 0;
};

// Makes `kernel` (not owned, must outlive this) the calling thread's active
// kernel until destruction, then restores the previous one (nests).
class ScopedActivationKernel {
 public:
  explicit ScopedActivationKernel(ActivationKernel* kernel);
  ~ScopedActivationKernel();
  ScopedActivationKernel(const ScopedActivationKernel&) = delete;
  ScopedActivationKernel& operator=(const ScopedActivationKernel&) = delete;

 private:
  ActivationKernel* previous_;
};

// Adds `pre` to the calling thread's active kernel; a no-op (one
// thread-local load) when none is active. Called by nas::Relu/Relu6.
void RecordActivation(const torch::Tensor& pre);

}  // namespace nas

#endif  // NAS_WORKER_MODELS_ACTIVATION_CODES_H_
