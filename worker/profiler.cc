#include "worker/profiler.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "worker/device.h"

namespace nas {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs one forward pass and waits until its result exists.
void ForwardAndWait(CandidateNet& model, const torch::Tensor& x,
                    torch::Device device, Precision precision) {
  torch::Tensor out;
  {
    AutocastScope autocast(device, precision);
    out = model.forward(x);
  }
  if (device.is_cuda()) {
    torch::cuda::synchronize(device.index());
  } else {
    (void)out.data_ptr();
  }
}

}  // namespace

double Quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] +
         (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

LatencyStats MeasureLatency(CandidateNet& model, const InputShape& shape,
                            torch::Device device, int runs, int warmup,
                            Precision precision) {
  torch::NoGradGuard no_grad;
  model.eval();
  const torch::Tensor x =
      torch::randn({1, shape.channels, shape.height, shape.width},
                   torch::TensorOptions().device(device));
  LatencyStats s;
  s.runs_ms.reserve(std::max(runs, 1));
  for (int i = 0; i < warmup + std::max(runs, 1); ++i) {
    const Clock::time_point t = Clock::now();
    ForwardAndWait(model, x, device, precision);
    if (i >= warmup) s.runs_ms.push_back(SecondsSince(t) * 1e3);
  }
  std::sort(s.runs_ms.begin(), s.runs_ms.end());
  s.median_ms = Quantile(s.runs_ms, 0.5);
  s.iqr_ms = Quantile(s.runs_ms, 0.75) - Quantile(s.runs_ms, 0.25);
  return s;
}

double MeasureThroughput(CandidateNet& model, const InputShape& shape,
                         torch::Device device, int64_t batch,
                         Precision precision, int min_runs,
                         double min_seconds) {
  constexpr int kWarmup = 2;
  constexpr int kMaxRuns = 200;
  torch::NoGradGuard no_grad;
  model.eval();
  batch = std::max<int64_t>(1, batch);
  const torch::Tensor x =
      torch::randn({batch, shape.channels, shape.height, shape.width},
                   torch::TensorOptions().device(device));
  for (int i = 0; i < kWarmup; ++i) ForwardAndWait(model, x, device, precision);
  std::vector<double> seconds;
  const Clock::time_point start = Clock::now();
  while (static_cast<int>(seconds.size()) < kMaxRuns &&
         (static_cast<int>(seconds.size()) < min_runs ||
          SecondsSince(start) < min_seconds)) {
    const Clock::time_point t = Clock::now();
    ForwardAndWait(model, x, device, precision);
    seconds.push_back(SecondsSince(t));
  }
  std::sort(seconds.begin(), seconds.end());
  return static_cast<double>(batch) / Quantile(seconds, 0.5);
}

}  // namespace nas
