#include "worker/device.h"

#include <ATen/autocast_mode.h>
#include <malloc.h>

#include <vector>

#include "absl/strings/str_cat.h"

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

DeviceChoice ChooseDevice(int threads, bool allow_mixed_precision) {
  DeviceChoice d;
  if (torch::cuda::is_available()) {
    d.device = torch::Device(torch::kCUDA, 0);
    d.mixed_precision = allow_mixed_precision;
    // The GPU's marketing name needs the CUDA runtime headers
    // (at::cuda::getDeviceProperties), which a CPU-only LibTorch lacks; the
    // worker's --labels carry it instead (e.g. gpu=h100).
    d.description =
        absl::StrCat("cuda:0 (1 of ", torch::cuda::device_count(), " GPUs",
                     d.mixed_precision ? ", fp16 autocast)" : ", fp32)");
    return d;
  }
  if (threads > 0) torch::set_num_threads(threads);
  d.description = absl::StrCat("cpu (", torch::get_num_threads(), " threads)");
  return d;
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

AutocastScope::AutocastScope(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  previous_ = at::autocast::is_enabled();
  at::autocast::set_enabled(true);
  at::autocast::set_autocast_gpu_dtype(at::kHalf);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  // As torch.autocast.__exit__: drop the cast-weight cache when the
  // outermost scope ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_enabled(previous_);
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
