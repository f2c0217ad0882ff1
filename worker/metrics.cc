#include "worker/metrics.h"

#include <algorithm>
#include <chrono>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "worker/gpu_info.h"

namespace nas {
namespace {

double SteadySeconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string ModeLabel(v1::EvaluationMode mode) {
  std::string name = v1::EvaluationMode_Name(mode);
  if (name.empty()) name = "unknown";
  return absl::AsciiStrToLower(name);
}

}  // namespace

WorkerMetrics::WorkerMetrics(const std::string& device)
    : registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::Registry& r = *registry_;
  evaluations_ = &prometheus::BuildCounter()
                      .Name("nas_worker_evaluations_total")
                      .Help(
                          "Evaluations finished by this worker, by mode and "
                          "outcome (ok or error)")
                      .Register(r);
  trainer_runs_ = &prometheus::BuildCounter()
                       .Name("nas_worker_trainer_runs_total")
                       .Help(
                           "COMMAND trainer runs that ended, by trainer and "
                           "outcome (ok, stopped, cancelled, failed, timeout, "
                           "malformed)")
                       .Register(r);
  epoch_seconds_ = &prometheus::BuildHistogram()
                        .Name("nas_worker_epoch_seconds")
                        .Help("Duration of one training epoch")
                        .Register(r)
                        .Add({}, prometheus::Histogram::BucketBoundaries{
                                     0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100,
                                     250, 500, 1000});
  images_per_second_ =
      &prometheus::BuildGauge()
           .Name("nas_worker_train_images_per_second")
           .Help(
               "Training throughput of the last evaluation that trained "
               "(images per second)")
           .Register(r)
           .Add({});
  busy_ = &prometheus::BuildGauge()
               .Name("nas_worker_trials_in_progress")
               .Help("Trials being evaluated by this worker (0 or 1)")
               .Register(r)
               .Add({});
  busy_seconds_ = &prometheus::BuildCounter()
                       .Name("nas_worker_busy_seconds_total")
                       .Help(
                           "Time spent evaluating trials; its rate is the "
                           "worker's utilisation (0..1)")
                       .Register(r)
                       .Add({});
  unreachable_ = &prometheus::BuildCounter()
                      .Name("nas_worker_controller_errors_total")
                      .Help(
                          "Calls to the controller that failed and were "
                          "retried (controller unreachable)")
                      .Register(r)
                      .Add({});
  decode_done_ = &prometheus::BuildGauge()
                      .Name("nas_worker_data_decode_images_done")
                      .Help(
                          "Images decoded so far by the current (or last) "
                          "one-time dataset decode into the data cache")
                      .Register(r)
                      .Add({});
  decode_total_ = &prometheus::BuildGauge()
                       .Name("nas_worker_data_decode_images_in_source")
                       .Help(
                           "Images of the current (or last) one-time "
                           "dataset decode")
                       .Register(r)
                       .Add({});
  int gpu = -1;
  if (absl::string_view d = device; absl::ConsumePrefix(&d, "cuda:")) {
    const size_t digits = d.find_first_not_of("0123456789");
    if (!absl::SimpleAtoi(d.substr(0, digits), &gpu)) gpu = -1;
  }
  if (gpu >= 0) {
    gpu_index_ = gpu;
    gpu_memory_used_ = &prometheus::BuildGauge()
                            .Name("nas_worker_gpu_memory_used_bytes")
                            .Help(
                                "Memory in use on the worker's GPU, by every "
                                "process (as nvidia-smi), sampled after each "
                                "epoch and evaluation")
                            .Register(r)
                            .Add({});
    gpu_memory_total_ = &prometheus::BuildGauge()
                             .Name("nas_worker_gpu_memory_total_bytes")
                             .Help("Memory of the worker's GPU")
                             .Register(r)
                             .Add({});
    if (absl::StatusOr<GpuInfo> info = QueryGpu(gpu); info.ok()) {
      gpu_memory_total_->Set(static_cast<double>(info->total_memory_bytes));
    }
    SampleGpuMemory();
  }
  prometheus::BuildGauge()
      .Name("nas_worker_info")
      .Help("Always 1; the device this worker evaluates on")
      .Register(r)
      .Add({{"device", device}})
      .Set(1);
}

void WorkerMetrics::SampleGpuMemory() {
  if (gpu_index_ < 0) return;
  if (absl::StatusOr<int64_t> used = GpuMemoryUsedBytes(gpu_index_);
      used.ok()) {
    gpu_memory_used_->Set(static_cast<double>(*used));
  }
}

void WorkerMetrics::EvaluationStarted() {
  busy_since_ = SteadySeconds();
  busy_->Set(1);
}

void WorkerMetrics::EvaluationEnded(v1::EvaluationMode mode,
                                    const v1::EvaluationMetrics* metrics) {
  busy_->Set(0);
  busy_seconds_->Increment(std::max(0.0, SteadySeconds() - busy_since_));
  evaluations_
      ->Add({{"mode", ModeLabel(mode)},
             {"outcome", metrics != nullptr ? "ok" : "error"}})
      .Increment();
  if (metrics != nullptr && metrics->train_images_per_second() > 0) {
    images_per_second_->Set(metrics->train_images_per_second());
  }
  SampleGpuMemory();
}

void WorkerMetrics::EpochDone(double seconds) {
  epoch_seconds_->Observe(seconds);
  SampleGpuMemory();
}

void WorkerMetrics::TrainerRunEnded(const std::string& trainer,
                                    const std::string& outcome) {
  trainer_runs_->Add({{"trainer", trainer}, {"outcome", outcome}}).Increment();
}

void WorkerMetrics::ControllerUnreachable() { unreachable_->Increment(); }

void WorkerMetrics::DataDecodeProgress(int64_t done, int64_t total) {
  decode_done_->Set(static_cast<double>(done));
  decode_total_->Set(static_cast<double>(total));
}

}  // namespace nas
