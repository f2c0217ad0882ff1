// bench/gpu_check: the worker's training core on one device (issue 19;
// run by scripts/gpu-check.sh, on a GPU or, in CI, on the CPU).
//
// Accuracy: each reference candidate is trained --steps SGD steps from the
// same initial weights (built on the CPU from --seed) over the same batches
// (a CPU-generated order), with the worker's Trainer (channels-last), in
// fp32 and in mixed precision (CUDA: bf16 where the GPU supports it, else
// fp16 with loss scaling; CPU: bf16 autocast), then scored in fp32 on the
// 10,000 Fashion-MNIST test images. On CUDA the same fp32 training also runs
// on the CPU ("the CPU path"). Checks: |mixed - fp32| <= --amp_tolerance
// points (the 0.5), and on CUDA |device - CPU| <= --cpu_tolerance
// points. --seeds=K adds fp32 runs from seeds 1..K: their spread is what a
// different trajectory alone does to accuracy after --steps steps (the
// scale the tolerances are judged against; docs/BENCHMARKS.md).
//
// Speed: training images/s of the worker's path (Trainer::RunEpoch over
// images already on the device, as the worker trains: channels-last, fp32
// and mixed precision) against the same networks in Python PyTorch
// (bench/train_throughput.py as a child process, same device, same
// batches' sizes, cudnn.benchmark on both sides): eager (fp32, NCHW) and
// channels_last + autocast (the worker's mixed-precision dtype). GPU memory:
// the Python side's torch.cuda.max_memory_allocated per measurement; the
// worker's side has no CUDA header here, so it reports device memory in use
// (CUDA driver, worker/gpu_info.h) above what it was before the first
// measurement: the caching allocator's high-water mark so far (an upper
// bound per row). Batch-1 latency: MeasureLatency (median, device
// synchronised). On CUDA the speed targets are checked (worker >=
// 1.2x Python eager, >= 1.0x Python channels_last + autocast); on the CPU
// they are printed, not enforced (shared, noisy machines).
//
// Prints markdown tables, writes --out (JSON); exits 0 when every enforced
// check passed, 1 when one failed (named on stderr), 2 on a setup error.
//
//   gpu_check --device=cuda --steps=400 --out=gpu_check.json
#include <ATen/CPUGeneratorImpl.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/training_bench.h"
#include "worker/device.h"
#include "worker/gpu_info.h"
#include "worker/models/model_builder.h"
#include "worker/models/nb201_model.h"  // CountParameters
#include "worker/profiler.h"
#include "worker/torch_compat.h"
#include "worker/trainer.h"

ABSL_FLAG(std::string, device, "auto", "auto, cpu, cuda or cuda:N");
ABSL_FLAG(int, threads, 0, "CPU intra-op threads (0: LibTorch's default)");
ABSL_FLAG(std::string, archs,
          "nb201-medium,nb201-large,mobilenet-small,mobilenet-medium",
          "reference architectures (bench/training_bench.cc), comma-separated");
ABSL_FLAG(int, steps, 400, "training steps of each accuracy run");
ABSL_FLAG(int, batch, 128, "training batch size (the worker's default)");
ABSL_FLAG(int, seed, 1, "seed of the weights and the batch order");
ABSL_FLAG(int, seeds, 1,
          "fp32 runs from seeds 1..K per architecture on the device (their "
          "spread calibrates the tolerances; 1: just the one run)");
ABSL_FLAG(double, cpu_amp_tolerance, 2.0,
          "|bf16 - fp32| accuracy bound on the CPU, where bf16 autocast is a "
          "smoke test of the autocast path (points)");
ABSL_FLAG(double, amp_tolerance, 0.5,
          "largest |mixed precision - fp32| test accuracy, points");
ABSL_FLAG(double, cpu_tolerance, 1.0,
          "largest |device - CPU| fp32 test accuracy on CUDA, points");
ABSL_FLAG(int, speed_steps, 40, "timed training steps per speed measurement");
ABSL_FLAG(int, warmup_steps, 5, "untimed steps before each measurement");
ABSL_FLAG(int, reps, 3, "speed repetitions (medians reported)");
ABSL_FLAG(int, latency_runs, 50, "timed batch-1 forward passes");
ABSL_FLAG(bool, skip_accuracy, false, "speed only");
ABSL_FLAG(bool, skip_speed, false, "accuracy only");
ABSL_FLAG(std::string, enforce_speed, "auto",
          "check the speed targets: auto (on CUDA only), true, false");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "Python with torch");
ABSL_FLAG(std::string, script, NAS_SOURCE_DIR "/bench/train_throughput.py",
          "the Python side");
ABSL_FLAG(std::string, data_dir, "/usr/share/datasets/fashion-mnist",
          "Fashion-MNIST IDX files (train-* and t10k-*)");
ABSL_FLAG(std::string, out, "gpu_check.json", "JSON results ('' = none)");

namespace nas {
namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  DeviceChoice choice;
  Precision amp = Precision::kBf16;  // the mixed precision of this device
  std::vector<std::string> archs;
  int steps = 400;
  int64_t batch = 128;
  int seed = 1;
  int seeds = 1;
  int speed_steps = 40;
  int warmup_steps = 5;
  int reps = 3;
  int latency_runs = 50;
  int threads = 0;
  bool enforce_speed = false;
  double cpu_amp_tolerance = 2.0;
};

void Synchronize(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

TrainOptions WorkerOptions(const Settings& s, Precision precision) {
  TrainOptions o;  // the worker's defaults: SGD, cosine, channels-last
  o.batch_size = s.batch;
  o.precision = precision;
  return o;
}

// The candidate with the weights `seed` gives on the CPU, on `device`.
std::shared_ptr<CandidateNet> Build(const ReferenceArch& a,
                                    const InputShape& shape, int seed,
                                    torch::Device device) {
  torch::manual_seed(seed);
  std::shared_ptr<CandidateNet> net =
      BuildCandidateNet(a.space, a.choices, a.spec, shape).value();
  net->to(device);
  return net;
}

// Test accuracy in points (0..100): fp32, eval mode, batches of 1000.
double TestAccuracy(CandidateNet& net, const torch::Tensor& x,
                    const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  net.eval();
  torch::Tensor correct = torch::zeros({}, y.options());
  for (int64_t b = 0; b < x.size(0); b += 1000) {
    const int64_t len = std::min<int64_t>(1000, x.size(0) - b);
    const torch::Tensor pred = net.forward(x.narrow(0, b, len)).argmax(1);
    correct.add_(pred.eq(y.narrow(0, b, len)).sum());
  }
  return 100.0 * static_cast<double>(correct.item<int64_t>()) /
         static_cast<double>(x.size(0));
}

// Images on one device, once.
struct DeviceData {
  torch::Tensor train_x, train_y, test_x, test_y;
};

DeviceData ToDevice(const LabelledImages& train, const LabelledImages& test,
                    torch::Device device) {
  return {train.x.to(device), train.y.to(device), test.x.to(device),
          test.y.to(device)};
}

// Trains `steps` steps of the worker's Trainer over the batches of a CPU
// generator seeded with `seed` (the same on every device), returns the
// test accuracy (points) and whether the loss stayed finite.
struct AccuracyRun {
  double accuracy = NAN;
  double seconds = 0;
  bool finite = true;
};

AccuracyRun TrainAndTest(const ReferenceArch& a, const InputShape& shape,
                         const DeviceData& data, torch::Device device,
                         Precision precision, const Settings& s, int seed) {
  const Clock::time_point t0 = Clock::now();
  std::shared_ptr<CandidateNet> net = Build(a, shape, seed, device);
  Trainer trainer(*net, WorkerOptions(s, precision), device, s.steps);
  // The batch order of every step, drawn on the CPU and moved once.
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const int64_t n = data.train_x.size(0);
  const int64_t per_epoch = n / s.batch;  // whole batches only
  std::vector<torch::Tensor> epochs;
  for (int64_t done = 0; done < s.steps; done += per_epoch) {
    epochs.push_back(
        torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64))
            .narrow(0, 0, per_epoch * s.batch));
  }
  const torch::Tensor order = torch::cat(epochs).to(device);
  torch::Tensor loss_sum = torch::zeros(
      {}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
  for (int i = 0; i < s.steps; ++i) {
    const torch::Tensor idx = order.narrow(0, i * s.batch, s.batch);
    loss_sum.add_(trainer.Step(data.train_x.index_select(0, idx),
                               data.train_y.index_select(0, idx)));
  }
  AccuracyRun r;
  r.finite = std::isfinite(loss_sum.item<double>());
  r.accuracy = TestAccuracy(*net, data.test_x, data.test_y);
  Synchronize(device);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

// The worker's training images/s: RunEpoch over warmup then timed images
// already on the device, as the worker trains (a device-side random order).
struct SpeedRun {
  double images_per_second = 0;
  int64_t params = 0;
};

SpeedRun WorkerSpeed(const ReferenceArch& a, const InputShape& shape,
                     const DeviceData& data, torch::Device device,
                     Precision precision, const Settings& s) {
  std::shared_ptr<CandidateNet> net = Build(a, shape, s.seed, device);
  Trainer trainer(*net, WorkerOptions(s, precision), device,
                  s.warmup_steps + s.speed_steps);
  const int64_t w = s.warmup_steps * s.batch;
  trainer.RunEpoch(data.train_x.narrow(0, 0, w), data.train_y.narrow(0, 0, w));
  Synchronize(device);
  const int64_t n = s.speed_steps * s.batch;
  const Clock::time_point t0 = Clock::now();
  // RunEpoch reads the loss at its end: the device has finished then.
  trainer.RunEpoch(data.train_x.narrow(0, 0, n), data.train_y.narrow(0, 0, n));
  Synchronize(device);
  SpeedRun r;
  r.images_per_second =
      static_cast<double>(n) /
      std::chrono::duration<double>(Clock::now() - t0).count();
  r.params = CountParameters(*net);
  return r;
}

std::string PythonRequest(const ReferenceArch& a, const Settings& s,
                          bool channels_last, const char* autocast) {
  const TrainOptions o;
  return absl::StrCat(
      "{", ArchJsonFields(a), ", \"batch\": ", s.batch,
      ", \"warmup_steps\": ", s.warmup_steps, ", \"steps\": ", s.speed_steps,
      ", \"threads\": ", s.threads, ", \"seed\": ", s.seed,
      ", \"learning_rate\": ", o.learning_rate, ", \"momentum\": ", o.momentum,
      ", \"nesterov\": ", o.nesterov ? "true" : "false",
      ", \"weight_decay\": ", o.weight_decay,
      ", \"label_smoothing\": ", o.label_smoothing,
      ", \"channels_last\": ", channels_last ? "true" : "false",
      ", \"device\": \"", s.choice.device.str(), "\", \"autocast\": \"",
      autocast, "\", \"cudnn_benchmark\": true}");
}

struct ArchResult {
  ReferenceArch arch;
  // Accuracy (points); NaN when not run.
  double acc_fp32 = NAN, acc_amp = NAN, acc_cpu = NAN;
  double acc_seconds_fp32 = 0, acc_seconds_amp = 0, acc_seconds_cpu = 0;
  std::vector<double> seed_accs;  // fp32 on the device, seeds 1..K
  bool finite = true;
  // Speed (images/s, medians); memory (MiB); latency (ms).
  double worker_fp32 = NAN, worker_amp = NAN, py_eager = NAN, py_cl_amp = NAN;
  double worker_mem_mib = NAN, py_eager_mem_mib = NAN, py_cl_amp_mem_mib = NAN;
  double latency_fp32_ms = NAN, latency_amp_ms = NAN;
  bool params_equal = true;
  // Why the mixed-precision run could not train (CPU only; empty if it ran).
  std::string amp_unsupported;
};

struct Check {
  std::string name;
  double value = 0;
  std::string limit;
  bool pass = true;
  bool enforced = true;
};

std::string Num(double v, int digits = 2) {
  return std::isfinite(v) ? absl::StrFormat("%.*f", digits, v) : "-";
}
std::string JsonNum(double v) {
  return std::isfinite(v) ? absl::StrFormat("%.6g", v) : "null";
}

double Spread(const std::vector<double>& v) {
  if (v.size() < 2) return NAN;
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return *hi - *lo;
}

// Device memory in use (driver), MiB; NaN off CUDA or without a driver.
double DeviceMemoryMib(const Settings& s) {
  if (!s.choice.device.is_cuda()) return NAN;
  absl::StatusOr<int64_t> used = GpuMemoryUsedBytes(s.choice.device.index());
  return used.ok() ? static_cast<double>(*used) / (1 << 20) : NAN;
}

void RunAccuracy(ArchResult& r, const InputShape& shape, const DeviceData& dev,
                 const DeviceData* cpu, const Settings& s) {
  const torch::Device d = s.choice.device;
  const AccuracyRun f =
      TrainAndTest(r.arch, shape, dev, d, Precision::kFp32, s, s.seed);
  AccuracyRun m;
  try {
    m = TrainAndTest(r.arch, shape, dev, d, s.amp, s, s.seed);
  } catch (const c10::Error& e) {
    // LibTorch 1.13's CPU autocast lacks some bf16 kernels (hardswish's
    // backward): the worker never trains in bf16 on a CPU (ResolvePrecision),
    // so on the CPU this is recorded, not failed. On CUDA it is a failure.
    if (d.is_cuda()) throw;
    r.amp_unsupported = e.what_without_backtrace();
    r.amp_unsupported =
        r.amp_unsupported.substr(0, r.amp_unsupported.find('\n'));
    m.accuracy = NAN;
  }
  r.acc_fp32 = f.accuracy;
  r.acc_seconds_fp32 = f.seconds;
  r.acc_amp = m.accuracy;
  r.acc_seconds_amp = m.seconds;
  r.finite = f.finite && m.finite;
  if (cpu != nullptr) {
    const AccuracyRun c = TrainAndTest(r.arch, shape, *cpu, torch::kCPU,
                                       Precision::kFp32, s, s.seed);
    r.acc_cpu = c.accuracy;
    r.acc_seconds_cpu = c.seconds;
    r.finite = r.finite && c.finite;
  }
  for (int k = 1; k <= s.seeds && s.seeds > 1; ++k) {
    r.seed_accs.push_back(k == s.seed ? f.accuracy
                                      : TrainAndTest(r.arch, shape, dev, d,
                                                     Precision::kFp32, s, k)
                                            .accuracy);
  }
  std::fprintf(
      stderr, "%s: accuracy fp32 %.2f (%.1f s), %s %.2f (%.1f s), cpu %s%s\n",
      r.arch.name.c_str(), r.acc_fp32, f.seconds, PrecisionName(s.amp),
      r.acc_amp, m.seconds, Num(r.acc_cpu).c_str(),
      r.seed_accs.empty()
          ? ""
          : absl::StrCat(", seeds [", absl::StrJoin(r.seed_accs, " "), "]")
                .c_str());
}

// Returns false when the Python side failed (message on stderr).
bool RunSpeed(ArchResult& r, const InputShape& shape, const DeviceData& dev,
              JsonLinesChild& py, double memory_baseline_mib,
              const Settings& s) {
  const torch::Device d = s.choice.device;
  const char* amp = PrecisionName(s.amp);
  // Mixed precision that cannot train here (CPU, see RunAccuracy): fp32
  // sides only.
  const bool amp_ok = r.amp_unsupported.empty();
  std::vector<double> wf, wa, pe, pc, pem, pcm;
  for (int rep = 0; rep < s.reps; ++rep) {
    // Alternate which side goes first.
    for (int k = 0; k < 4; ++k) {
      const int side = (rep + k) % 4;
      if (!amp_ok && (side == 1 || side == 3)) continue;
      if (side == 0 || side == 1) {
        const SpeedRun w = WorkerSpeed(r.arch, shape, dev, d,
                                       side == 0 ? Precision::kFp32 : s.amp, s);
        (side == 0 ? wf : wa).push_back(w.images_per_second);
        if (w.params != r.arch.params) r.params_equal = false;
        continue;
      }
      const bool cl = side == 3;
      const std::string ans =
          py.Call(PythonRequest(r.arch, s, cl, cl ? amp : ""));
      const double ips = JsonNumber(ans, "images_per_second");
      if (!std::isfinite(ips)) {
        std::fprintf(stderr, "gpu_check: python failed on %s: %s\n",
                     r.arch.name.c_str(), ans.c_str());
        return false;
      }
      if (static_cast<int64_t>(JsonNumber(ans, "params")) != r.arch.params) {
        r.params_equal = false;
      }
      (cl ? pc : pe).push_back(ips);
      (cl ? pcm : pem)
          .push_back(JsonNumber(ans, "max_memory_allocated") / (1 << 20));
    }
  }
  r.worker_fp32 = Median(wf);
  r.worker_amp = Median(wa);
  r.py_eager = Median(pe);
  r.py_cl_amp = Median(pc);
  r.py_eager_mem_mib = Median(pem);
  r.py_cl_amp_mem_mib = Median(pcm);
  r.worker_mem_mib = DeviceMemoryMib(s) - memory_baseline_mib;
  {
    // As the worker measures a candidate it trained: channels-last.
    std::shared_ptr<CandidateNet> net = Build(r.arch, shape, s.seed, d);
    ConvertToChannelsLast(*net);
    r.latency_fp32_ms =
        MeasureLatency(*net, shape, d, s.latency_runs, 5, Precision::kFp32)
            .median_ms;
    if (amp_ok) {
      r.latency_amp_ms =
          MeasureLatency(*net, shape, d, s.latency_runs, 5, s.amp).median_ms;
    }
  }
  std::fprintf(stderr,
               "%s: img/s worker fp32 %.0f, worker %s %.0f, python eager %.0f, "
               "python channels_last+%s %.0f\n",
               r.arch.name.c_str(), r.worker_fp32, amp, r.worker_amp,
               r.py_eager, amp, r.py_cl_amp);
  return true;
}

// The worker's images/s at its default precision on this device (CUDA:
// mixed precision; CPU: fp32).
double WorkerDefault(const ArchResult& r, const Settings& s) {
  return *ResolvePrecision("auto", s.choice) == Precision::kFp32 ? r.worker_fp32
                                                                 : r.worker_amp;
}

std::vector<Check> Checks(const std::vector<ArchResult>& results,
                          const Settings& s, double amp_tol, double cpu_tol,
                          bool ran_accuracy, bool ran_speed) {
  std::vector<Check> checks;
  for (const ArchResult& r : results) {
    const std::string& n = r.arch.name;
    if (ran_accuracy && !r.amp_unsupported.empty()) {
      checks.push_back(
          {absl::StrCat(n, ": ", PrecisionName(s.amp),
                        " on the CPU (not run: ", r.amp_unsupported, ")"),
           NAN, "n/a", true, false});
    } else if (ran_accuracy) {
      // On the CPU bf16 autocast is only a smoke test of the autocast path
      // (the worker trains in fp32 there): --cpu_amp_tolerance; the
      // issue's 0.5 points are a GPU target.
      const double tol =
          s.choice.device.is_cuda() ? amp_tol : s.cpu_amp_tolerance;
      const double amp = std::fabs(r.acc_amp - r.acc_fp32);
      checks.push_back({absl::StrCat(n, ": |", PrecisionName(s.amp),
                                     " - fp32| accuracy (points)"),
                        amp, absl::StrCat("<= ", tol), r.finite && amp <= tol,
                        true});
      if (std::isfinite(r.acc_cpu)) {
        const double dc = std::fabs(r.acc_fp32 - r.acc_cpu);
        checks.push_back({absl::StrCat(n, ": |", s.choice.device.str(),
                                       " - cpu| fp32 accuracy (points)"),
                          dc, absl::StrCat("<= ", cpu_tol), dc <= cpu_tol,
                          true});
      }
    }
    if (ran_speed) {
      const double eager = WorkerDefault(r, s) / r.py_eager;
      const double clamp = r.worker_amp / r.py_cl_amp;  // NaN: not run
      checks.push_back({absl::StrCat(n, ": worker / python eager img/s"), eager,
                        ">= 1.2", eager >= 1.2, s.enforce_speed});
      checks.push_back({absl::StrCat(n, ": worker ", PrecisionName(s.amp),
                                     " / python channels_last+autocast img/s"),
                        clamp, ">= 1.0", clamp >= 1.0, s.enforce_speed});
      checks.push_back({absl::StrCat(n, ": parameter counts equal"),
                        r.params_equal ? 1.0 : 0.0, "equal", r.params_equal,
                        true});
    }
  }
  return checks;
}

void PrintTables(const std::vector<ArchResult>& results,
                 const std::vector<Check>& checks, const Settings& s,
                 const std::string& header, bool ran_accuracy, bool ran_speed) {
  const char* amp = PrecisionName(s.amp);
  std::printf("%s\n\n", header.c_str());
  if (ran_accuracy) {
    std::printf(
        "Test accuracy (%%, 10,000 Fashion-MNIST test images) after %d steps "
        "of batch %lld, seed %d:\n\n",
        s.steps, static_cast<long long>(s.batch), s.seed);
    std::printf(
        "| architecture | MACs | params | fp32 | %s | %s - fp32 | "
        "CPU fp32 | device - CPU |%s\n",
        amp, amp, s.seeds > 1 ? " fp32 over seeds (max - min) |" : "");
    std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |%s\n",
                s.seeds > 1 ? " ---: |" : "");
    for (const ArchResult& r : results) {
      std::printf("| %s | %.1fM | %lld | %s | %s | %+.2f | %s | %s |%s\n",
                  r.arch.name.c_str(), r.arch.macs / 1e6,
                  static_cast<long long>(r.arch.params),
                  Num(r.acc_fp32).c_str(), Num(r.acc_amp).c_str(),
                  r.acc_amp - r.acc_fp32, Num(r.acc_cpu).c_str(),
                  std::isfinite(r.acc_cpu)
                      ? absl::StrFormat("%+.2f", r.acc_fp32 - r.acc_cpu).c_str()
                      : "-",
                  s.seeds > 1
                      ? absl::StrFormat(
                            " %s (%s) |",
                            absl::StrJoin(r.seed_accs, " ",
                                          [](std::string* o, double v) {
                                            absl::StrAppendFormat(o, "%.2f", v);
                                          }),
                            Num(Spread(r.seed_accs)))
                            .c_str()
                      : "");
    }
    std::printf("\n");
  }
  if (ran_speed) {
    std::printf(
        "Training images/s (batch %lld, %d timed steps after %d, median of "
        "%d), device memory (MiB), batch-1 latency (ms, median of %d):\n\n",
        static_cast<long long>(s.batch), s.speed_steps, s.warmup_steps, s.reps,
        s.latency_runs);
    std::printf(
        "| architecture | worker fp32 | worker %s | python eager | python "
        "cl+%s | worker / eager | worker %s / cl+%s | worker mem | python "
        "mem eager / cl+%s | latency fp32 | latency %s |\n",
        amp, amp, amp, amp, amp, amp);
    std::printf(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
        "---: | ---: | ---: |\n");
    for (const ArchResult& r : results) {
      std::printf(
          "| %s | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %s | %s / %s | "
          "%.3f | %.3f |\n",
          r.arch.name.c_str(), r.worker_fp32, r.worker_amp, r.py_eager,
          r.py_cl_amp, WorkerDefault(r, s) / r.py_eager,
          r.worker_amp / r.py_cl_amp, Num(r.worker_mem_mib, 0).c_str(),
          Num(r.py_eager_mem_mib, 0).c_str(),
          Num(r.py_cl_amp_mem_mib, 0).c_str(), r.latency_fp32_ms,
          r.latency_amp_ms);
    }
    std::printf(
        "\nworker / eager: the worker at its default precision on this "
        "device (%s) over Python fp32 NCHW.\n\n",
        PrecisionName(*ResolvePrecision("auto", s.choice)));
  }
  std::printf(
      "| check | value | target | result |\n| --- | ---: | --- | --- "
      "|\n");
  for (const Check& c : checks) {
    std::printf(
        "| %s | %.2f | %s | %s |\n", c.name.c_str(), c.value, c.limit.c_str(),
        c.pass ? "PASS" : (c.enforced ? "FAIL" : "below (not enforced)"));
  }
}

std::string ToJson(const std::vector<ArchResult>& results,
                   const std::vector<Check>& checks, const Settings& s,
                   const std::string& python_torch, bool pass) {
  std::string j = absl::StrCat(
      "{\n  \"device\": \"", s.choice.device.str(),
      "\",\n  \"description\": \"", s.choice.description, "\",\n  \"gpu\": \"",
      s.choice.gpu ? s.choice.gpu->Describe() : "", "\",\n  \"libtorch\": \"",
      torch_compat::TorchVersion(), "\",\n  \"python_torch\": \"", python_torch,
      "\",\n  \"mixed_precision\": \"", PrecisionName(s.amp),
      "\",\n  \"steps\": ", s.steps, ",\n  \"batch\": ", s.batch,
      ",\n  \"seed\": ", s.seed, ",\n  \"speed_steps\": ", s.speed_steps,
      ",\n  \"reps\": ", s.reps, ",\n  \"architectures\": [");
  for (size_t i = 0; i < results.size(); ++i) {
    const ArchResult& r = results[i];
    absl::StrAppend(
        &j, i ? "," : "", "\n    {\"name\": \"", r.arch.name,
        "\", \"genotype\": \"", r.arch.canonical, "\", \"macs\": ", r.arch.macs,
        ", \"params\": ", r.arch.params,
        ", \"accuracy_fp32\": ", JsonNum(r.acc_fp32),
        ", \"accuracy_mixed\": ", JsonNum(r.acc_amp),
        ", \"accuracy_cpu_fp32\": ", JsonNum(r.acc_cpu),
        ", \"accuracy_fp32_seeds\": [",
        absl::StrJoin(
            r.seed_accs, ", ",
            [](std::string* o, double v) { absl::StrAppend(o, JsonNum(v)); }),
        "], \"train_seconds_fp32\": ", JsonNum(r.acc_seconds_fp32),
        ", \"train_seconds_mixed\": ", JsonNum(r.acc_seconds_amp),
        ", \"train_seconds_cpu\": ", JsonNum(r.acc_seconds_cpu),
        ", \"worker_fp32_images_per_second\": ", JsonNum(r.worker_fp32),
        ", \"worker_mixed_images_per_second\": ", JsonNum(r.worker_amp),
        ", \"python_eager_images_per_second\": ", JsonNum(r.py_eager),
        ", \"python_cl_autocast_images_per_second\": ", JsonNum(r.py_cl_amp),
        ", \"worker_memory_mib\": ", JsonNum(r.worker_mem_mib),
        ", \"python_eager_memory_mib\": ", JsonNum(r.py_eager_mem_mib),
        ", \"python_cl_autocast_memory_mib\": ", JsonNum(r.py_cl_amp_mem_mib),
        ", \"latency_fp32_ms\": ", JsonNum(r.latency_fp32_ms),
        ", \"latency_mixed_ms\": ", JsonNum(r.latency_amp_ms), "}");
  }
  absl::StrAppend(&j, "\n  ],\n  \"checks\": [");
  for (size_t i = 0; i < checks.size(); ++i) {
    const Check& c = checks[i];
    absl::StrAppend(&j, i ? "," : "", "\n    {\"name\": \"", c.name,
                    "\", \"value\": ", JsonNum(c.value), ", \"target\": \"",
                    c.limit, "\", \"pass\": ", c.pass ? "true" : "false",
                    ", \"enforced\": ", c.enforced ? "true" : "false", "}");
  }
  absl::StrAppend(&j, "\n  ],\n  \"pass\": ", pass ? "true" : "false", "\n}\n");
  return j;
}

int Run() {
  Settings s;
  s.threads = absl::GetFlag(FLAGS_threads);
  absl::StatusOr<DeviceChoice> choice =
      ChooseDevice(absl::GetFlag(FLAGS_device), s.threads);
  if (!choice.ok()) {
    std::fprintf(stderr, "gpu_check: %s\n", choice.status().ToString().c_str());
    return 2;
  }
  s.choice = *std::move(choice);
  if (s.threads == 0) s.threads = torch::get_num_threads();
  // The device's mixed precision: the worker's default on CUDA, bf16
  // autocast on the CPU (where the worker's default is fp32).
  s.amp = s.choice.device.is_cuda() ? *ResolvePrecision("auto", s.choice)
                                    : Precision::kBf16;
  s.archs = absl::StrSplit(absl::GetFlag(FLAGS_archs), ',', absl::SkipEmpty());
  s.steps = absl::GetFlag(FLAGS_steps);
  s.cpu_amp_tolerance = absl::GetFlag(FLAGS_cpu_amp_tolerance);
  s.batch = absl::GetFlag(FLAGS_batch);
  s.seed = absl::GetFlag(FLAGS_seed);
  s.seeds = absl::GetFlag(FLAGS_seeds);
  s.speed_steps = absl::GetFlag(FLAGS_speed_steps);
  s.warmup_steps = absl::GetFlag(FLAGS_warmup_steps);
  s.reps = std::max(1, absl::GetFlag(FLAGS_reps));
  s.latency_runs = absl::GetFlag(FLAGS_latency_runs);
  const std::string enforce = absl::GetFlag(FLAGS_enforce_speed);
  s.enforce_speed =
      enforce == "auto" ? s.choice.device.is_cuda() : enforce == "true";
  const bool ran_accuracy = !absl::GetFlag(FLAGS_skip_accuracy);
  const bool ran_speed = !absl::GetFlag(FLAGS_skip_speed);
  if (!KeepFreedMemoryForReuse()) {
    std::fprintf(stderr, "gpu_check: mallopt refused\n");
  }

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  absl::StatusOr<LabelledImages> train = LoadFashionMnist(data_dir, true);
  absl::StatusOr<LabelledImages> test = LoadFashionMnist(data_dir, false);
  if (!train.ok() || !test.ok()) {
    std::fprintf(
        stderr, "gpu_check: %s\n",
        (train.ok() ? test.status() : train.status()).ToString().c_str());
    return 2;
  }
  const InputShape shape = train->shape;
  if (s.steps < 1 || s.batch < 1 || s.batch > train->x.size(0) ||
      int64_t{s.speed_steps + s.warmup_steps} * s.batch > train->x.size(0)) {
    std::fprintf(stderr,
                 "gpu_check: --steps, --batch or --speed_steps out "
                 "of range for %lld training images\n",
                 static_cast<long long>(train->x.size(0)));
    return 2;
  }

  std::vector<ArchResult> results;
  for (const std::string& name : s.archs) {
    bool found = false;
    for (const ReferenceArch& a : ReferenceArchs()) {
      if (a.name != name) continue;
      found = true;
      ArchResult r;
      r.arch = a;
      if (const absl::Status st = ResolveArch(r.arch, shape); !st.ok()) {
        std::fprintf(stderr, "gpu_check: %s\n", st.ToString().c_str());
        return 2;
      }
      results.push_back(std::move(r));
    }
    if (!found) {
      std::fprintf(stderr, "gpu_check: no reference architecture '%s'\n",
                   name.c_str());
      return 2;
    }
  }

  const std::string header = absl::StrFormat(
      "gpu_check on %s%s; LibTorch %s; mixed precision = %s autocast%s; %d "
      "CPU threads",
      s.choice.description,
      s.choice.gpu ? absl::StrCat(" (", s.choice.gpu->Describe(), ")") : "",
      torch_compat::TorchVersion(), PrecisionName(s.amp),
      s.amp == Precision::kFp16 ? " + loss scaling" : "", s.threads);
  std::fprintf(stderr, "%s\n", header.c_str());

  const DeviceData dev = ToDevice(*train, *test, s.choice.device);
  std::optional<DeviceData> cpu;
  if (s.choice.device.is_cuda()) cpu = ToDevice(*train, *test, torch::kCPU);

  if (ran_accuracy) {
    for (ArchResult& r : results) {
      RunAccuracy(r, shape, dev, cpu ? &*cpu : nullptr, s);
    }
  }

  std::string python_torch;
  if (ran_speed) {
    JsonLinesChild py;
    absl::StatusOr<std::string> ready =
        py.StartReady(absl::GetFlag(FLAGS_python), absl::GetFlag(FLAGS_script));
    if (!ready.ok()) {
      std::fprintf(stderr, "gpu_check: %s\n",
                   std::string(ready.status().message()).c_str());
      return 2;
    }
    const std::string& hello = *ready;
    python_torch = JsonString(hello, "torch");
    if (s.choice.device.is_cuda() &&
        hello.find("\"cuda\": true") == std::string::npos) {
      std::fprintf(stderr,
                   "gpu_check: the Python side (%s, torch %s) has no CUDA; "
                   "give --python a PyTorch with CUDA\n",
                   absl::GetFlag(FLAGS_python).c_str(), python_torch.c_str());
      return 2;
    }
    std::fprintf(stderr, "python side: %s", hello.c_str());
    Synchronize(s.choice.device);
    const double baseline = DeviceMemoryMib(s);
    for (ArchResult& r : results) {
      if (!RunSpeed(r, shape, dev, py, baseline, s)) return 2;
    }
  }

  const std::vector<Check> checks =
      Checks(results, s, absl::GetFlag(FLAGS_amp_tolerance),
             absl::GetFlag(FLAGS_cpu_tolerance), ran_accuracy, ran_speed);
  bool pass = true;
  for (const Check& c : checks) {
    if (c.enforced && !c.pass) {
      pass = false;
      std::fprintf(stderr, "gpu_check: FAILED: %s = %.3f, target %s\n",
                   c.name.c_str(), c.value, c.limit.c_str());
    }
  }
  PrintTables(results, checks, s, header, ran_accuracy, ran_speed);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (!out.empty()) {
    std::ofstream f(out);
    f << ToJson(results, checks, s, python_torch, pass);
    if (!f) {
      std::fprintf(stderr, "gpu_check: cannot write %s\n", out.c_str());
      return 2;
    }
  }
  std::printf("\ngpu_check: %s\n", pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}

}  // namespace
}  // namespace nas

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  return nas::Run();
}
