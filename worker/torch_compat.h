// The one place where the worker's code differs between the LibTorch
// versions it builds against: 1.13 (Debian 12, CI) and 2.6 (Debian 13, the
// CUDA image). Everything else uses API common to both. Header-only; add a
// wrapper here rather than a version test anywhere else.
//
// What differs: autocast's per-device switches. 1.13 has one function per
// device (set_enabled for CUDA, set_cpu_enabled, set_autocast_gpu_dtype,
// ...); 2.4 and later take the device type as an argument and deprecate the
// old names.
#ifndef NAS_WORKER_TORCH_COMPAT_H_
#define NAS_WORKER_TORCH_COMPAT_H_

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#define NAS_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||      \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace nas::torch_compat {

// Whether autocast is on for `device` (kCUDA or kCPU) in this thread.
inline bool AutocastEnabled(c10::DeviceType device) {
#if NAS_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CUDA ? at::autocast::is_enabled()
                                         : at::autocast::is_cpu_enabled();
#endif
}

// Turns autocast on or off for `device` (kCUDA or kCPU) in this thread.
inline void SetAutocastEnabled(c10::DeviceType device, bool enabled) {
#if NAS_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device, enabled);
#else
  if (device == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
}

// The lower-precision type autocast casts to on `device`.
inline c10::ScalarType AutocastDtype(c10::DeviceType device) {
#if NAS_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CUDA
             ? at::autocast::get_autocast_gpu_dtype()
             : at::autocast::get_autocast_cpu_dtype();
#endif
}

inline void SetAutocastDtype(c10::DeviceType device, c10::ScalarType dtype) {
#if NAS_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == c10::DeviceType::CUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

// "1.13.1" or "2.6.0": the LibTorch the worker was built against.
inline const char* TorchVersion() { return TORCH_VERSION; }

}  // namespace nas::torch_compat

#endif  // NAS_WORKER_TORCH_COMPAT_H_
