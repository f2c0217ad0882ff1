#include "worker/gpu_info.h"

#include <dlfcn.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace nas {
namespace {

// The few CUDA driver API entry points used, declared by hand (their C ABI
// is stable: cuda.h maps cuDeviceTotalMem and friends to these _v2 names).
using CUresult = int;
using CUdevice = int;
using CUcontext = void*;
constexpr CUresult kCudaSuccess = 0;
constexpr int kAttrComputeMajor =
    75;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kAttrComputeMinor =
    76;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

struct Driver {
  CUresult (*init)(unsigned int) = nullptr;
  CUresult (*device_get_count)(int*) = nullptr;
  CUresult (*device_get)(CUdevice*, int) = nullptr;
  CUresult (*device_get_name)(char*, int, CUdevice) = nullptr;
  CUresult (*device_total_mem)(size_t*, CUdevice) = nullptr;
  CUresult (*device_get_attribute)(int*, int, CUdevice) = nullptr;
  CUresult (*primary_ctx_retain)(CUcontext*, CUdevice) = nullptr;
  CUresult (*primary_ctx_release)(CUdevice) = nullptr;
  CUresult (*ctx_push)(CUcontext) = nullptr;
  CUresult (*ctx_pop)(CUcontext*) = nullptr;
  CUresult (*mem_get_info)(size_t*, size_t*) = nullptr;
  absl::Status status;  // why the driver is unusable, or OK
};

template <typename F>
bool Resolve(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  return *out != nullptr;
}

Driver LoadDriver() {
  Driver d;
  // The driver library is never closed: LibTorch may share it.
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    d.status = absl::NotFoundError(
        "no NVIDIA driver: libcuda.so.1 cannot be loaded (no GPU, or the "
        "container runs without the NVIDIA runtime)");
    return d;
  }
  const bool ok =
      Resolve(lib, "cuInit", &d.init) &&
      Resolve(lib, "cuDeviceGetCount", &d.device_get_count) &&
      Resolve(lib, "cuDeviceGet", &d.device_get) &&
      Resolve(lib, "cuDeviceGetName", &d.device_get_name) &&
      Resolve(lib, "cuDeviceTotalMem_v2", &d.device_total_mem) &&
      Resolve(lib, "cuDeviceGetAttribute", &d.device_get_attribute) &&
      Resolve(lib, "cuDevicePrimaryCtxRetain", &d.primary_ctx_retain) &&
      Resolve(lib, "cuDevicePrimaryCtxRelease_v2", &d.primary_ctx_release) &&
      Resolve(lib, "cuCtxPushCurrent_v2", &d.ctx_push) &&
      Resolve(lib, "cuCtxPopCurrent_v2", &d.ctx_pop) &&
      Resolve(lib, "cuMemGetInfo_v2", &d.mem_get_info);
  if (!ok) {
    d.status = absl::NotFoundError(
        "libcuda.so.1 lacks a CUDA driver API function (driver too old?)");
    return d;
  }
  if (CUresult r = d.init(0); r != kCudaSuccess) {
    d.status = absl::NotFoundError(
        absl::StrCat("the NVIDIA driver did not initialise (cuInit error ", r,
                     "): no usable GPU"));
  }
  return d;
}

const Driver& TheDriver() {
  static const Driver* driver = new Driver(LoadDriver());  // thread-safe init
  return *driver;
}

absl::StatusOr<CUdevice> Device(const Driver& d, int index) {
  if (!d.status.ok()) return d.status;
  int count = 0;
  if (d.device_get_count(&count) != kCudaSuccess) count = 0;
  if (index < 0 || index >= count) {
    return absl::OutOfRangeError(absl::StrCat(
        "no CUDA device ", index, ": the driver sees ", count, " device(s)"));
  }
  CUdevice dev = 0;
  if (CUresult r = d.device_get(&dev, index); r != kCudaSuccess) {
    return absl::InternalError(
        absl::StrCat("cuDeviceGet(", index, ") failed with error ", r));
  }
  return dev;
}

}  // namespace

absl::StatusOr<DeviceRequest> ParseDeviceRequest(absl::string_view text) {
  DeviceRequest r;
  if (text == "auto" || text.empty()) return r;
  if (text == "cpu") {
    r.kind = DeviceRequest::Kind::kCpu;
    return r;
  }
  if (text == "cuda") {
    r.kind = DeviceRequest::Kind::kCuda;
    return r;
  }
  if (absl::string_view n = text;
      absl::ConsumePrefix(&n, "cuda:") && !n.empty() && n.size() <= 3 &&
      n.find_first_not_of("0123456789") == absl::string_view::npos &&
      absl::SimpleAtoi(n, &r.index)) {
    r.kind = DeviceRequest::Kind::kCuda;
    return r;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--device: '", text, "' is not a device; use auto, cpu, cuda or cuda:N"));
}

std::string GpuInfo::Describe() const {
  return absl::StrFormat(
      "%s, %.1f GiB, compute %d.%d", name,
      static_cast<double>(total_memory_bytes) / (1024.0 * 1024.0 * 1024.0),
      compute_major, compute_minor);
}

absl::StatusOr<int> GpuCount() {
  const Driver& d = TheDriver();
  if (!d.status.ok()) return d.status;
  int count = 0;
  if (CUresult r = d.device_get_count(&count); r != kCudaSuccess) {
    return absl::InternalError(
        absl::StrCat("cuDeviceGetCount failed with error ", r));
  }
  return count;
}

absl::StatusOr<GpuInfo> QueryGpu(int index) {
  const Driver& d = TheDriver();
  absl::StatusOr<CUdevice> dev = Device(d, index);
  if (!dev.ok()) return dev.status();
  GpuInfo info;
  info.index = index;
  char name[256] = {};
  size_t total = 0;
  if (d.device_get_name(name, sizeof(name) - 1, *dev) != kCudaSuccess ||
      d.device_total_mem(&total, *dev) != kCudaSuccess ||
      d.device_get_attribute(&info.compute_major, kAttrComputeMajor, *dev) !=
          kCudaSuccess ||
      d.device_get_attribute(&info.compute_minor, kAttrComputeMinor, *dev) !=
          kCudaSuccess) {
    return absl::InternalError(
        absl::StrCat("reading CUDA device ", index, "'s properties failed"));
  }
  info.name = name;
  info.total_memory_bytes = static_cast<int64_t>(total);
  return info;
}

absl::StatusOr<int64_t> GpuMemoryUsedBytes(int index) {
  const Driver& d = TheDriver();
  absl::StatusOr<CUdevice> dev = Device(d, index);
  if (!dev.ok()) return dev.status();
  CUcontext ctx = nullptr;
  if (CUresult r = d.primary_ctx_retain(&ctx, *dev); r != kCudaSuccess) {
    return absl::InternalError(
        absl::StrCat("cuDevicePrimaryCtxRetain failed with error ", r));
  }
  size_t free_bytes = 0;
  size_t total_bytes = 0;
  CUresult r = d.ctx_push(ctx);
  if (r == kCudaSuccess) {
    r = d.mem_get_info(&free_bytes, &total_bytes);
    CUcontext popped = nullptr;
    d.ctx_pop(&popped);
  }
  d.primary_ctx_release(*dev);
  if (r != kCudaSuccess) {
    return absl::InternalError(
        absl::StrCat("cuMemGetInfo failed with error ", r));
  }
  return static_cast<int64_t>(total_bytes - free_bytes);
}

}  // namespace nas
