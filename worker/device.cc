#include "worker/device.h"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <malloc.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/torch_compat.h"

namespace nas {

bool KeepFreedMemoryForReuse() {
#if defined(__GLIBC__)
  // M_MMAP_MAX 0: no allocation is served by mmap; M_TRIM_THRESHOLD: free
  // memory at the top of the heap is returned only above 1 GiB;
  // M_TOP_PAD: grow the heap in 64 MiB steps.
  return mallopt(M_MMAP_MAX, 0) == 1 &&
         mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 &&
         mallopt(M_TOP_PAD, 64 << 20) == 1;
#else
  return false;
#endif
}

absl::StatusOr<DeviceChoice> ChooseDevice(const DeviceRequest& request,
                                          int threads) {
  DeviceChoice d;
  const bool want_cuda = request.kind == DeviceRequest::Kind::kCuda ||
                         (request.kind == DeviceRequest::Kind::kAuto &&
                          torch::cuda::is_available());
  if (!want_cuda) {
    if (threads > 0) torch::set_num_threads(threads);
    d.description =
        absl::StrCat("cpu (", torch::get_num_threads(), " threads)");
    return d;
  }
  const int index = request.index;
  const std::string asked = absl::StrCat("--device=cuda:", index);
  if (!torch::cuda::is_available()) {
    // Tell a CPU-only LibTorch from a machine without a usable GPU.
    absl::StatusOr<int> gpus = GpuCount();
    if (gpus.ok() && *gpus > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          asked, ": this worker's LibTorch ", torch_compat::TorchVersion(),
          " was built without CUDA, though the driver sees ", *gpus,
          " GPU(s); run the CUDA build (the worker-cuda image, "
          "docs/OPERATIONS.md) or --device=cpu"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat(asked, ": no CUDA device is usable (",
                     gpus.ok() ? std::string("the driver sees no GPU")
                               : std::string(gpus.status().message()),
                     "); run with --device=cpu or --device=auto"));
  }
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  if (index >= count) {
    return absl::FailedPreconditionError(absl::StrCat(
        asked, ": LibTorch sees ", count,
        " CUDA device(s), numbered from 0 (CUDA_VISIBLE_DEVICES renumbers "
        "them)"));
  }
  d.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  absl::StatusOr<GpuInfo> gpu = QueryGpu(index);
  if (gpu.ok()) d.gpu = *gpu;
  d.description = absl::StrCat(
      "cuda:", index, " (", gpu.ok() ? gpu->Describe() : "GPU name unknown",
      "; ", count, count == 1 ? " GPU visible)" : " GPUs visible)");
  // Candidates train at fixed shapes: let cuDNN time its algorithms once.
  at::globalContext().setBenchmarkCuDNN(true);
  return d;
}

absl::StatusOr<DeviceChoice> ChooseDevice(absl::string_view device,
                                          int threads) {
  absl::StatusOr<DeviceRequest> request = ParseDeviceRequest(device);
  if (!request.ok()) return request.status();
  try {
    return ChooseDevice(*request, threads);
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("libtorch: choosing --device=", device, ": ",
                     e.what_without_backtrace()));
  }
}

const char* PrecisionName(Precision p) {
  switch (p) {
    case Precision::kFp16:
      return "fp16";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp32:
      break;
  }
  return "fp32";
}

absl::StatusOr<Precision> ResolvePrecision(absl::string_view spec_precision,
                                           const DeviceChoice& choice) {
  const bool cuda = choice.device.is_cuda();
  // Without the driver's word, assume a GPU older than Ampere: fp16 with
  // loss scaling works everywhere.
  const bool bf16_gpu = choice.gpu.has_value() && choice.gpu->supports_bf16();
  if (spec_precision.empty() || spec_precision == "auto") {
    if (!cuda) return Precision::kFp32;
    return bf16_gpu ? Precision::kBf16 : Precision::kFp16;
  }
  if (spec_precision == "fp32") return Precision::kFp32;
  if (spec_precision == "fp16" || spec_precision == "bf16") {
    // A CPU worker trains in fp32 whatever was asked: LibTorch's CPU
    // autocast is bf16 only, and 1.13's lacks bf16 kernels that the search
    // spaces need (hardswish's backward, mobilenet).
    if (!cuda) return Precision::kFp32;
    return spec_precision == "bf16" && bf16_gpu ? Precision::kBf16
                                                : Precision::kFp16;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("evaluation.precision: '", spec_precision,
                   "' is not one of auto, fp32, fp16, bf16"));
}

torch::Tensor ChannelsLast(const torch::Tensor& t) {
  // Not t.contiguous(ChannelsLast): a tensor whose layout is ambiguous (a
  // channel or both spatial sizes 1: 1x1 and depthwise weights, 1-channel
  // images) is already "channels-last contiguous" and is returned with its
  // NCHW strides, from which convolutions infer NCHW. to() with an explicit
  // format writes real NHWC strides unless they are suggested already.
  return t.to(t.options(), /*non_blocking=*/false, /*copy=*/false,
              torch::MemoryFormat::ChannelsLast);
}

void ConvertToChannelsLast(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (torch::Tensor& t : module.parameters()) {
    if (t.dim() == 4) t.set_data(ChannelsLast(t));
  }
  for (torch::Tensor& t : module.buffers()) {
    if (t.dim() == 4) t.set_data(ChannelsLast(t));
  }
}

bool AutocastScope::Applies(torch::Device device, Precision precision) {
  if (precision == Precision::kFp32) return false;
  if (device.is_cuda()) return true;
  return device.is_cpu() && precision == Precision::kBf16;
}

AutocastScope::AutocastScope(torch::Device device, Precision precision)
    : type_(device.type()), enabled_(Applies(device, precision)) {
  if (!enabled_) return;
  previous_ = torch_compat::AutocastEnabled(type_);
  previous_dtype_ = torch_compat::AutocastDtype(type_);
  torch_compat::SetAutocastEnabled(type_, true);
  torch_compat::SetAutocastDtype(
      type_, precision == Precision::kBf16 ? at::kBFloat16 : at::kHalf);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  // As torch.autocast.__exit__: drop the cast-weight cache when the
  // outermost scope ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  torch_compat::SetAutocastEnabled(type_, previous_);
  torch_compat::SetAutocastDtype(type_, previous_dtype_);
}

LossScaler::LossScaler(bool enabled, double init_scale, double growth_factor,
                       double backoff_factor, int growth_interval)
    : enabled_(enabled),
      scale_(init_scale),
      growth_factor_(growth_factor),
      backoff_factor_(backoff_factor),
      growth_interval_(growth_interval) {}

torch::Tensor LossScaler::Scale(const torch::Tensor& loss) const {
  return enabled_ ? loss * scale_ : loss;
}

bool LossScaler::Step(torch::optim::Optimizer& optimizer) {
  if (!enabled_) {
    optimizer.step();
    return true;
  }
  std::vector<torch::Tensor> grads;
  for (const auto& group : optimizer.param_groups()) {
    for (const torch::Tensor& p : group.params()) {
      if (p.grad().defined()) grads.push_back(p.grad());
    }
  }
  bool finite = true;
  if (!grads.empty()) {
    torch::NoGradGuard no_grad;
    // Unscale in place, then one reduction and one sync for all gradients.
    torch::_foreach_mul_(grads, 1.0 / scale_);
    std::vector<torch::Tensor> ok;
    ok.reserve(grads.size());
    for (const torch::Tensor& g : grads) ok.push_back(g.isfinite().all());
    finite = torch::stack(ok).all().item<bool>();
  }
  if (finite) {
    optimizer.step();
    if (++good_steps_ >= growth_interval_) {
      scale_ *= growth_factor_;
      good_steps_ = 0;
    }
  } else {
    scale_ *= backoff_factor_;
    good_steps_ = 0;
  }
  return finite;
}

}  // namespace nas
