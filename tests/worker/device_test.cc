// --device and precision (worker/device.h, worker/gpu_info.h) on the
// machine the tests run on. CI's machines have no GPU and Debian 12's
// LibTorch has no CUDA, so the CUDA branches assert the clear refusal; on
// a GPU machine with a CUDA LibTorch they assert the GPU's properties
// instead (scripts/gpu-check.sh runs the training there).
#include "worker/device.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "tests/testing/status_matchers.h"
#include "worker/gpu_info.h"
#include "worker/torch_compat.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;
using ::testing::AnyOf;
using ::testing::HasSubstr;

TEST(DeviceRequestTest, ParsesTheAcceptedForms) {
  using Kind = DeviceRequest::Kind;
  EXPECT_EQ(ParseDeviceRequest("auto")->kind, Kind::kAuto);
  EXPECT_EQ(ParseDeviceRequest("cpu")->kind, Kind::kCpu);
  EXPECT_EQ(ParseDeviceRequest("cuda")->kind, Kind::kCuda);
  EXPECT_EQ(ParseDeviceRequest("cuda")->index, 0);
  EXPECT_EQ(ParseDeviceRequest("cuda:3")->index, 3);
  for (const char* bad : {"gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:1000",
                          "CPU", "cuda:0 ", "mps"}) {
    EXPECT_THAT(ParseDeviceRequest(bad).status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "use auto, cpu, cuda or cuda:N"))
        << bad;
  }
}

TEST(GpuInfoTest, DriverAnswersOrSaysWhyNot) {
  absl::StatusOr<int> count = GpuCount();
  if (!count.ok()) {
    EXPECT_THAT(count.status(), StatusIs(absl::StatusCode::kNotFound, ""));
    EXPECT_THAT(std::string(count.status().message()),
                HasSubstr("libcuda.so.1"));
    EXPECT_EQ(QueryGpu(0).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(GpuMemoryUsedBytes(0).status().code(),
              absl::StatusCode::kNotFound);
    return;
  }
  EXPECT_THAT(QueryGpu(*count).status(),
              StatusIs(absl::StatusCode::kOutOfRange, "the driver sees"));
  if (*count == 0) return;
  absl::StatusOr<GpuInfo> gpu = QueryGpu(0);
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  EXPECT_FALSE(gpu->name.empty());
  EXPECT_GT(gpu->total_memory_bytes, int64_t{1} << 28);
  EXPECT_GE(gpu->compute_major, 3);
  absl::StatusOr<int64_t> used = GpuMemoryUsedBytes(0);
  ASSERT_TRUE(used.ok()) << used.status();
  EXPECT_GT(*used, 0);
  EXPECT_LE(*used, gpu->total_memory_bytes);
}

TEST(GpuInfoTest, DescribeNamesMemoryAndComputeCapability) {
  GpuInfo g;
  g.name = "NVIDIA H100 80GB HBM3";
  g.total_memory_bytes = int64_t{85} * 1000 * 1000 * 1000;
  g.compute_major = 9;
  EXPECT_EQ(g.Describe(), "NVIDIA H100 80GB HBM3, 79.2 GiB, compute 9.0");
  EXPECT_TRUE(g.supports_bf16());
  g.compute_major = 7;
  EXPECT_FALSE(g.supports_bf16());
}

TEST(DeviceTest, CpuWhenAskedOrWhenNoGpu) {
  const int before = torch::get_num_threads();
  DeviceRequest cpu;
  cpu.kind = DeviceRequest::Kind::kCpu;
  absl::StatusOr<DeviceChoice> d = ChooseDevice(cpu, 1);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->device.is_cpu());
  EXPECT_FALSE(d->gpu.has_value());
  EXPECT_EQ(d->description, "cpu (1 threads)");
  torch::set_num_threads(before);
  absl::StatusOr<DeviceChoice> a = ChooseDevice(DeviceRequest(), 0);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->device.is_cuda(), torch::cuda::is_available());
}

TEST(DeviceTest, CudaAskedForIsRefusedClearlyOrChosen) {
  DeviceRequest cuda;
  cuda.kind = DeviceRequest::Kind::kCuda;
  absl::StatusOr<DeviceChoice> d = ChooseDevice(cuda, 0);
  if (!torch::cuda::is_available()) {
    EXPECT_THAT(d.status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                     "--device=cuda:0: "));
    // Either the LibTorch lacks CUDA or there is no usable GPU; both say
    // what to do instead.
    EXPECT_THAT(
        std::string(d.status().message()),
        AnyOf(HasSubstr("built without CUDA"), HasSubstr("--device=cpu")));
    return;
  }
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->device.is_cuda());
  EXPECT_THAT(d->description, HasSubstr("cuda:0 ("));
  cuda.index = static_cast<int>(torch::cuda::device_count());
  EXPECT_THAT(ChooseDevice(cuda, 0).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "CUDA device(s), numbered from 0"));
}

DeviceChoice FakeGpu(int compute_major) {
  DeviceChoice d;
  d.device = torch::Device(torch::kCUDA, 0);
  GpuInfo g;
  g.compute_major = compute_major;
  d.gpu = g;
  return d;
}

TEST(PrecisionTest, AutoIsBf16OnAmpereFp16BeforeFp32OnCpu) {
  const DeviceChoice cpu;
  EXPECT_EQ(*ResolvePrecision("auto", cpu), Precision::kFp32);
  EXPECT_EQ(*ResolvePrecision("", cpu), Precision::kFp32);
  EXPECT_EQ(*ResolvePrecision("auto", FakeGpu(9)), Precision::kBf16);
  EXPECT_EQ(*ResolvePrecision("auto", FakeGpu(8)), Precision::kBf16);
  EXPECT_EQ(*ResolvePrecision("auto", FakeGpu(7)), Precision::kFp16);
  DeviceChoice unknown = FakeGpu(9);
  unknown.gpu.reset();  // the driver could not say: the safe choice
  EXPECT_EQ(*ResolvePrecision("auto", unknown), Precision::kFp16);
}

TEST(PrecisionTest, ExplicitChoicesAndTheirFallbacks) {
  const DeviceChoice cpu;
  EXPECT_EQ(*ResolvePrecision("fp32", FakeGpu(9)), Precision::kFp32);
  EXPECT_EQ(*ResolvePrecision("fp16", FakeGpu(9)), Precision::kFp16);
  EXPECT_EQ(*ResolvePrecision("bf16", FakeGpu(9)), Precision::kBf16);
  EXPECT_EQ(*ResolvePrecision("bf16", FakeGpu(7)), Precision::kFp16);
  EXPECT_EQ(*ResolvePrecision("fp16", cpu), Precision::kFp32);
  EXPECT_EQ(*ResolvePrecision("bf16", cpu), Precision::kFp32);
  EXPECT_THAT(ResolvePrecision("half", cpu).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "evaluation.precision: 'half'"));
  EXPECT_STREQ(PrecisionName(Precision::kBf16), "bf16");
}

TEST(AutocastTest, ScopeNestsAndRestores) {
  const c10::DeviceType cuda = c10::DeviceType::CUDA;
  const torch::Device gpu(torch::kCUDA, 0);
  EXPECT_FALSE(torch_compat::AutocastEnabled(cuda));
  {
    AutocastScope outer(gpu, Precision::kFp16);
    EXPECT_TRUE(torch_compat::AutocastEnabled(cuda));
    EXPECT_EQ(torch_compat::AutocastDtype(cuda), at::kHalf);
    {
      AutocastScope inner(gpu, Precision::kBf16);
      EXPECT_EQ(torch_compat::AutocastDtype(cuda), at::kBFloat16);
    }
    EXPECT_TRUE(torch_compat::AutocastEnabled(cuda));
    EXPECT_EQ(torch_compat::AutocastDtype(cuda), at::kHalf);
    AutocastScope off(gpu, Precision::kFp32);  // changes nothing
    EXPECT_TRUE(torch_compat::AutocastEnabled(cuda));
  }
  EXPECT_FALSE(torch_compat::AutocastEnabled(cuda));
}

TEST(AutocastTest, Bf16OnTheCpuRunsMatmulsInBf16) {
  const torch::Tensor a = torch::randn({4, 4});
  EXPECT_FALSE(AutocastScope::Applies(torch::kCPU, Precision::kFp16));
  {
    AutocastScope fp16(torch::kCPU, Precision::kFp16);  // no CPU fp16
    EXPECT_EQ(torch::mm(a, a).scalar_type(), at::kFloat);
  }
  {
    AutocastScope bf16(torch::kCPU, Precision::kBf16);
    EXPECT_EQ(torch::mm(a, a).scalar_type(), at::kBFloat16);
  }
  EXPECT_EQ(torch::mm(a, a).scalar_type(), at::kFloat);
  EXPECT_FALSE(torch_compat::AutocastEnabled(c10::DeviceType::CPU));
}

}  // namespace
}  // namespace nas
