// What the worker knows of an NVIDIA GPU: name, memory, compute capability
// and memory in use, read through the CUDA driver API (libcuda.so.1,
// opened with dlopen at the first call). No CUDA header or library is
// needed to build this, so the CPU-only LibTorch build compiles and tests
// the same code; on a machine without the driver every call returns
// NotFound. LibTorch-free. Thread-safe (the driver library is loaded once).
#ifndef NAS_WORKER_GPU_INFO_H_
#define NAS_WORKER_GPU_INFO_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nas {

// nas-worker's --device: where LibTorch computes.
struct DeviceRequest {
  enum class Kind { kAuto, kCpu, kCuda };
  Kind kind = Kind::kAuto;
  int index = 0;  // kCuda: the CUDA device ("cuda" = "cuda:0")
};

// "auto" (CUDA device 0 when LibTorch has CUDA and a GPU is visible, else
// the CPU), "cpu", "cuda" or "cuda:N". InvalidArgument names the accepted
// forms.
absl::StatusOr<DeviceRequest> ParseDeviceRequest(absl::string_view text);

struct GpuInfo {
  int index = 0;     // as CUDA numbers devices (after CUDA_VISIBLE_DEVICES)
  std::string name;  // e.g. "NVIDIA H100 80GB HBM3"
  int64_t total_memory_bytes = 0;
  int compute_major = 0;  // compute capability, e.g. 9.0 for H100
  int compute_minor = 0;

  // bf16 tensor cores: compute capability 8.0 (Ampere) and later.
  bool supports_bf16() const { return compute_major >= 8; }
  // "NVIDIA H100 80GB HBM3, 79.1 GiB, compute 9.0".
  std::string Describe() const;
};

// Number of CUDA devices the driver sees; NotFound without a driver.
absl::StatusOr<int> GpuCount();

// Properties of device `index`. NotFound without a driver, OutOfRange for
// an index the driver does not have.
absl::StatusOr<GpuInfo> QueryGpu(int index);

// Bytes in use on device `index`, by every process (total minus free, as
// nvidia-smi shows). Retains the device's primary context, which LibTorch
// shares, so call it only for a device the process computes on.
absl::StatusOr<int64_t> GpuMemoryUsedBytes(int index);

}  // namespace nas

#endif  // NAS_WORKER_GPU_INFO_H_
