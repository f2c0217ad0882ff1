// Where the worker computes, and fp16 mixed precision on CUDA: device
// choice, an autocast scope and a dynamic loss scaler (LibTorch 1.13's C++
// API has no torch.cuda.amp, so these mirror its autocast context manager
// and GradScaler on top of at::autocast). Not thread-safe: autocast state
// is per thread, and a LossScaler belongs to one training loop.
//
// The CUDA path compiles against any LibTorch but is untested on the
// CPU-only machines this project is developed on (Debian's libtorch has no
// CUDA); see docs/ARCHITECTURE.md.
#ifndef NAS_WORKER_DEVICE_H_
#define NAS_WORKER_DEVICE_H_

#include <torch/torch.h>

#include <string>

namespace nas {

struct DeviceChoice {
  torch::Device device = torch::kCPU;
  // fp16 autocast with loss scaling (CUDA only).
  bool mixed_precision = false;
  // For metrics and registration, e.g. "cpu (2 threads)" or
  // "cuda:0 (1 of 1 GPUs, fp16 autocast)".
  std::string description;
};

// CUDA device 0 when torch::cuda::is_available() (mixed precision unless
// `allow_mixed_precision` is false), else the CPU. On the CPU, `threads`
// > 0 sets LibTorch's intra-op thread count (torch::set_num_threads, a
// process-wide setting); 0 leaves LibTorch's default.
DeviceChoice ChooseDevice(int threads, bool allow_mixed_precision = true);

// Makes the C library's allocator keep freed memory for reuse instead of
// returning it to the kernel: glibc serves blocks above its mmap threshold
// (at most 32 MiB) with fresh mmap()s, so every large activation of every
// training step page-faults and is zeroed by the kernel again. Disables
// mmap for malloc and raises the trim threshold (mallopt), so the heap
// reaches its peak once and is reused. Process-wide and irreversible;
// costs peak-sized resident memory. Returns false when mallopt refused
// (non-glibc). Idempotent.
bool KeepFreedMemoryForReuse();

// Converts every 4-D parameter and buffer of `module` (and its children)
// to the channels-last (NHWC) memory format in place (values unchanged;
// the tensors stay the same objects, so optimizers holding them are fine).
// Convolutions then run in NHWC, which oneDNN on CPU does much faster than
// NCHW for these networks (docs/BENCHMARKS.md).
void ConvertToChannelsLast(torch::nn::Module& module);

// `t` (4-D) with NHWC strides that convolutions recognise as channels-last
// (suggest_memory_format() == ChannelsLast), copying only when needed.
torch::Tensor ChannelsLast(const torch::Tensor& t);

// While alive and `enabled`, CUDA ops run under autocast (fp16 where
// PyTorch's autocast policy allows, fp32 elsewhere), like
// `with torch.autocast("cuda"):`. Nests; restores the previous state.
// Wrap forward and loss only, not backward or the optimizer step.
class AutocastScope {
 public:
  explicit AutocastScope(bool enabled);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  const bool enabled_;
  bool previous_ = false;
};

// Dynamic loss scaling as torch.cuda.amp.GradScaler (same defaults): the
// loss is multiplied by scale() before backward; Step() unscales the
// gradients, skips the optimizer step when any is inf/NaN (halving the
// scale) and doubles the scale after `growth_interval` good steps in a row.
// Disabled, Scale() returns the loss and Step() just steps. One
// host-device synchronisation per Step() when enabled (as GradScaler).
class LossScaler {
 public:
  explicit LossScaler(bool enabled, double init_scale = 65536.0,
                      double growth_factor = 2.0, double backoff_factor = 0.5,
                      int growth_interval = 2000);

  torch::Tensor Scale(const torch::Tensor& loss) const;
  // Returns whether the optimizer stepped (false: non-finite gradients).
  bool Step(torch::optim::Optimizer& optimizer);

  bool enabled() const { return enabled_; }
  double scale() const { return scale_; }

 private:
  const bool enabled_;
  double scale_;
  const double growth_factor_;
  const double backoff_factor_;
  const int growth_interval_;
  int good_steps_ = 0;
};

}  // namespace nas

#endif  // NAS_WORKER_DEVICE_H_
