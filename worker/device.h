// Where the worker computes and in what precision: the device choice
// (nas-worker --device), the precision of a trial (EvaluationSpec.precision),
// an autocast scope and a dynamic loss scaler (LibTorch's C++ API has no
// torch.amp, so these mirror its autocast context manager and GradScaler on
// top of at::autocast; version differences live in worker/torch_compat.h).
// Not thread-safe: autocast state is per thread, and a LossScaler belongs
// to one training loop.
//
// The CUDA path compiles against every LibTorch (no CUDA header is used);
// it runs only with a CUDA LibTorch (Debian 13's libtorch-cuda-dev, the
// worker-cuda image) on a machine with an NVIDIA GPU: docs/OPERATIONS.md.
#ifndef NAS_WORKER_DEVICE_H_
#define NAS_WORKER_DEVICE_H_

#include <torch/torch.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "worker/gpu_info.h"

namespace nas {

struct DeviceChoice {
  torch::Device device = torch::kCPU;
  // The GPU's properties (CUDA only; absent when the driver could not say).
  std::optional<GpuInfo> gpu;
  // For metrics and registration, e.g. "cpu (2 threads)" or
  // "cuda:0 (NVIDIA H100 80GB HBM3, 79.1 GiB, compute 9.0; 1 of 8 GPUs)".
  std::string description;
};

// Resolves --device. kAuto: CUDA device 0 when LibTorch has CUDA and sees a
// GPU, else the CPU. kCuda: that device, or FailedPrecondition saying why
// not (a CPU-only LibTorch, no driver, no such device). On CUDA turns on
// cuDNN's autotuner (cudnn.benchmark: the worker trains fixed shapes). On
// the CPU, `threads` > 0 sets LibTorch's intra-op thread count
// (torch::set_num_threads, process-wide); 0 leaves LibTorch's default.
absl::StatusOr<DeviceChoice> ChooseDevice(const DeviceRequest& request,
                                          int threads);
// The same for --device's text (ParseDeviceRequest's errors), with
// LibTorch's exceptions turned into Internal errors: what the worker's
// factories call.
absl::StatusOr<DeviceChoice> ChooseDevice(absl::string_view device,
                                          int threads);

// Training precision. kFp16: fp16 autocast with loss scaling (CUDA only);
// kBf16: bf16 autocast, no loss scaling (CUDA, or CPU autocast).
enum class Precision { kFp32, kFp16, kBf16 };

// "fp32", "fp16" or "bf16".
const char* PrecisionName(Precision p);

// The precision a trial trains in on `choice`, from the spec's
// `precision` ("" or "auto", "fp32", "fp16", "bf16"; validated by the
// controller, InvalidArgument otherwise). auto: bf16 when the GPU has bf16
// tensor cores (compute 8.0+), else fp16; bf16 on a GPU before compute 8.0
// trains in fp16 with loss scaling. On the CPU always fp32 (LibTorch's CPU
// autocast is bf16 only, and 1.13's lacks bf16 backward kernels the search
// spaces use: hardswish).
absl::StatusOr<Precision> ResolvePrecision(absl::string_view spec_precision,
                                           const DeviceChoice& choice);

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

// While alive, ops on `device`'s type run under autocast in `precision`
// (fp16 or bf16 where PyTorch's autocast policy allows, fp32 elsewhere),
// like `with torch.autocast(device_type, dtype):`. Does nothing for kFp32,
// and for kFp16 on the CPU. Nests; restores the previous state. Wrap
// forward and loss only, not backward or the optimizer step.
class AutocastScope {
 public:
  AutocastScope(torch::Device device, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

  // Whether autocast is on for (device, precision) at all.
  static bool Applies(torch::Device device, Precision precision);

 private:
  const c10::DeviceType type_;
  const bool enabled_;
  bool previous_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
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
