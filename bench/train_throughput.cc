// bench/train_throughput: training images per second of the worker's
// LibTorch code path (BuildCandidateNet + Trainer, worker/trainer.h)
// against the same architecture in Python PyTorch 1.13
// (bench/train_throughput.py, run by Debian's /usr/bin/python3 as a child
// process), for three reference architectures (small, medium, large MACs)
// per search space. Same batch size, same intra-op threads, same
// Fashion-MNIST images (the first steps * batch of the training file,
// normalised alike), same training step; parameter counts are checked to
// be equal. Repetitions alternate which side runs first; medians reported.
//
//   NAS_BUILD_DIR=/tmp/b bash scripts/build.sh train_throughput
//   /tmp/b/bench/train_throughput --threads=1 --reps=5
//
// --augment_micro instead times the two random-crop implementations of
// worker/data/augment.h on one training batch.
#include <ATen/CPUGeneratorImpl.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/training_bench.h"
#include "worker/data/augment.h"
#include "worker/device.h"
#include "worker/models/model_builder.h"
#include "worker/models/nb201_model.h"  // CountParameters
#include "worker/trainer.h"

ABSL_FLAG(int, threads, 1, "intra-op threads for both sides");
ABSL_FLAG(int, batch, 128, "training batch size");
ABSL_FLAG(int, reps, 5, "repetitions per architecture and side");
ABSL_FLAG(int, warmup_steps, 3, "untimed steps before each measurement");
ABSL_FLAG(double, target_seconds, 4,
          "approximate timed seconds per measurement (sets the step count)");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "Python with torch 1.13");
ABSL_FLAG(std::string, script, NAS_SOURCE_DIR "/bench/train_throughput.py",
          "the Python side");
ABSL_FLAG(std::string, data_dir, "/usr/share/datasets/fashion-mnist",
          "Fashion-MNIST IDX files");
ABSL_FLAG(std::string, only, "", "run only architectures whose name has this");
ABSL_FLAG(bool, keep_freed_memory, true,
          "tune malloc as nas-worker does (KeepFreedMemoryForReuse)");
ABSL_FLAG(bool, channels_last, true,
          "worker side: TrainOptions.channels_last (the worker's default)");
ABSL_FLAG(bool, python_channels_last, true,
          "also measure Python with torch.channels_last");
ABSL_FLAG(bool, augment_micro, false,
          "time the random-crop implementations instead");

namespace nas {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU seconds of this process: with 1 intra-op thread, robust to other
// load on a shared machine (wall-clock figures are reported too).
double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) +
         1e-9 * static_cast<double>(ts.tv_nsec);
}

// A reference architecture with its step count per measurement.
struct Arch : ReferenceArch {
  int steps = 0;
};

struct Settings {
  int threads = 1;
  int64_t batch = 128;
  int warmup_steps = 3;
  TrainOptions train;
};

std::string Request(const Arch& a, const Settings& s, int steps,
                    bool channels_last) {
  return absl::StrCat(
      "{", ArchJsonFields(a), ", \"batch\": ", s.batch,
      ", \"warmup_steps\": ", s.warmup_steps, ", \"steps\": ", steps,
      ", \"threads\": ", s.threads,
      ", \"seed\": 1, \"learning_rate\": ", s.train.learning_rate,
      ", \"momentum\": ", s.train.momentum,
      ", \"nesterov\": ", s.train.nesterov ? "true" : "false",
      ", \"weight_decay\": ", s.train.weight_decay,
      ", \"label_smoothing\": ", s.train.label_smoothing,
      ", \"channels_last\": ", channels_last ? "true" : "false", "}");
}

struct CppRun {
  double images_per_second = 0;
  double images_per_cpu_second = 0;
  double seconds = 0;
  int64_t params = 0;
};

// The worker's path: BuildCandidateNet, Trainer::RunEpoch over the first
// warmup_steps * batch images (untimed), then over the first steps * batch.
CppRun MeasureCpp(const Arch& a, const Settings& s, const torch::Tensor& x,
                  const torch::Tensor& y, int steps, const InputShape& shape) {
  torch::set_num_threads(s.threads);
  torch::manual_seed(1);
  std::shared_ptr<CandidateNet> net =
      BuildCandidateNet(a.space, a.choices, a.spec, shape).value();
  Trainer trainer(*net, s.train, torch::kCPU, s.warmup_steps + steps);
  const int64_t w = s.warmup_steps * s.batch;
  trainer.RunEpoch(x.narrow(0, 0, w), y.narrow(0, 0, w));
  const int64_t n = steps * s.batch;
  const Clock::time_point t0 = Clock::now();
  const double c0 = ProcessCpuSeconds();
  const double loss = trainer.RunEpoch(x.narrow(0, 0, n), y.narrow(0, 0, n));
  CppRun r;
  r.seconds = SecondsSince(t0);
  r.images_per_cpu_second = static_cast<double>(n) / (ProcessCpuSeconds() - c0);
  if (!std::isfinite(loss)) std::fprintf(stderr, "non-finite loss\n");
  r.images_per_second = static_cast<double>(n) / r.seconds;
  r.params = CountParameters(*net);
  return r;
}

int AugmentMicro(const Settings& s) {
  torch::set_num_threads(s.threads);
  const torch::Tensor x = torch::randn({s.batch, 1, 28, 28});
  torch::Generator gen = at::detail::createCPUGenerator(1);
  std::printf(
      "random crop (padding 2) of a %lld x 1 x 28 x 28 batch, %d "
      "threads, median of 300 (microseconds)\n",
      static_cast<long long>(s.batch), s.threads);
  const torch::TensorOptions lo = torch::TensorOptions().dtype(torch::kInt64);
  for (CropMethod m : {CropMethod::kUnfoldIndex, CropMethod::kPerSampleCopy}) {
    std::vector<double> us;
    for (int i = 0; i < 320; ++i) {
      const torch::Tensor oy = torch::randint(5, {s.batch}, gen, lo);
      const torch::Tensor ox = torch::randint(5, {s.batch}, gen, lo);
      const Clock::time_point t0 = Clock::now();
      const torch::Tensor out = RandomCrop(x, 2, -0.81, oy, ox, m);
      (void)out.data_ptr();
      if (i >= 20) us.push_back(SecondsSince(t0) * 1e6);
    }
    std::printf(
        "  %-16s %8.1f\n",
        m == CropMethod::kUnfoldIndex ? "unfold+index" : "per-sample copy",
        Median(us));
  }
  AugmentOptions all;
  all.crop_padding = 2;
  all.horizontal_flip = true;
  std::vector<double> us;
  for (int i = 0; i < 320; ++i) {
    const Clock::time_point t0 = Clock::now();
    const torch::Tensor out = AugmentBatch(x, all, gen);
    (void)out.data_ptr();
    if (i >= 20) us.push_back(SecondsSince(t0) * 1e6);
  }
  std::printf("  %-16s %8.1f\n", "crop+flip batch", Median(us));
  return 0;
}

int Run() {
  Settings s;
  s.threads = absl::GetFlag(FLAGS_threads);
  s.batch = absl::GetFlag(FLAGS_batch);
  s.warmup_steps = absl::GetFlag(FLAGS_warmup_steps);
  s.train.batch_size = s.batch;
  s.train.channels_last = absl::GetFlag(FLAGS_channels_last);
  if (absl::GetFlag(FLAGS_keep_freed_memory) && !KeepFreedMemoryForReuse()) {
    std::fprintf(stderr, "train_throughput: mallopt refused\n");
  }
  if (absl::GetFlag(FLAGS_augment_micro)) return AugmentMicro(s);

  absl::StatusOr<LabelledImages> train =
      LoadFashionMnist(absl::GetFlag(FLAGS_data_dir), /*train=*/true);
  if (!train.ok()) {
    std::fprintf(stderr, "train_throughput: %s\n",
                 train.status().ToString().c_str());
    return 1;
  }
  const torch::Tensor& x = train->x;
  const torch::Tensor& y = train->y;
  const InputShape shape = train->shape;

  std::vector<Arch> archs;
  for (const ReferenceArch& r : ReferenceArchs()) {
    if (r.name.find(absl::GetFlag(FLAGS_only)) == std::string::npos) continue;
    Arch a;
    static_cast<ReferenceArch&>(a) = r;
    if (const absl::Status st = ResolveArch(a, shape); !st.ok()) {
      std::fprintf(stderr, "train_throughput: %s\n", st.ToString().c_str());
      return 1;
    }
    archs.push_back(std::move(a));
  }

  JsonLinesChild py;
  absl::StatusOr<std::string> ready =
      py.StartReady(absl::GetFlag(FLAGS_python), absl::GetFlag(FLAGS_script));
  if (!ready.ok()) {
    std::fprintf(stderr, "train_throughput: %s\n",
                 std::string(ready.status().message()).c_str());
    return 1;
  }
  const std::string& hello = *ready;
  std::fprintf(stderr, "python side: %s", hello.c_str());

  // Step counts from one C++ calibration run per architecture.
  const double target = absl::GetFlag(FLAGS_target_seconds);
  for (Arch& a : archs) {
    const CppRun r = MeasureCpp(a, s, x, y, 2, shape);
    a.steps =
        std::clamp(static_cast<int>(std::ceil(target * r.images_per_second /
                                              static_cast<double>(s.batch))),
                   3, static_cast<int>(x.size(0) / s.batch));
    std::fprintf(stderr, "%s: %d steps per measurement\n", a.name.c_str(),
                 a.steps);
  }

  const int reps = absl::GetFlag(FLAGS_reps);
  // Side 0: the worker (LibTorch); 1: Python as written (NCHW); 2: Python
  // with torch.channels_last too (the worker's memory-format choice), to
  // show how much of the gap is the format rather than the language.
  const int sides = absl::GetFlag(FLAGS_python_channels_last) ? 3 : 2;
  const char* kSideNames[] = {"libtorch", "python", "python-cl"};
  // [side][arch]: wall-clock and CPU-time images/s of every repetition.
  std::vector<std::vector<std::vector<double>>> wall(
      3, std::vector<std::vector<double>>(archs.size()));
  auto cpu = wall;
  bool params_equal = true;
  for (int rep = 0; rep < reps; ++rep) {
    for (size_t i = 0; i < archs.size(); ++i) {
      const Arch& a = archs[i];
      for (int k = 0; k < sides; ++k) {
        const int side = static_cast<int>((rep + i + k) % sides);  // rotate
        if (side == 0) {
          const CppRun r = MeasureCpp(a, s, x, y, a.steps, shape);
          wall[0][i].push_back(r.images_per_second);
          cpu[0][i].push_back(r.images_per_cpu_second);
          if (r.params != a.params) params_equal = false;
          continue;
        }
        const std::string ans = py.Call(Request(a, s, a.steps, side == 2));
        const double ips = JsonNumber(ans, "images_per_second");
        const double params = JsonNumber(ans, "params");
        if (!std::isfinite(ips)) {
          std::fprintf(stderr, "python failed on %s: %s\n", a.name.c_str(),
                       ans.c_str());
          return 1;
        }
        if (static_cast<int64_t>(params) != a.params) {
          std::fprintf(stderr, "%s: python params %.0f != %lld\n",
                       a.name.c_str(), params,
                       static_cast<long long>(a.params));
          params_equal = false;
        }
        wall[side][i].push_back(ips);
        cpu[side][i].push_back(JsonNumber(ans, "images_per_cpu_second"));
      }
      std::string line = absl::StrFormat("rep %d %-17s", rep + 1, a.name);
      for (int side = 0; side < sides; ++side) {
        absl::StrAppendFormat(&line, " | %s %.1f img/s %.1f img/CPU-s",
                              kSideNames[side], wall[side][i].back(),
                              cpu[side][i].back());
      }
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }

  std::printf(
      "training images/s, batch %lld, %d intra-op thread(s), median of %d "
      "reps; ratio = libtorch / python; img/CPU-s = images per CPU second "
      "of the process\n",
      static_cast<long long>(s.batch), s.threads, reps);
  std::printf(
      "| architecture | MACs | params | steps | libtorch img/s | python "
      "img/s | ratio | libtorch img/CPU-s | python img/CPU-s | CPU ratio |%s\n",
      sides == 3 ? " python-cl img/CPU-s | CPU ratio vs python-cl |" : "");
  std::printf(
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
      "| ---: |%s\n",
      sides == 3 ? " ---: | ---: |" : "");
  double worst = INFINITY, worst_cpu = INFINITY;
  for (size_t i = 0; i < archs.size(); ++i) {
    const double c = Median(wall[0][i]), p = Median(wall[1][i]);
    const double cc = Median(cpu[0][i]), pc = Median(cpu[1][i]);
    worst = std::min(worst, c / p);
    worst_cpu = std::min(worst_cpu, cc / pc);
    std::string extra;
    if (sides == 3) {
      const double pcl = Median(cpu[2][i]);
      extra = absl::StrFormat(" %.1f | %.2f |", pcl, cc / pcl);
    }
    std::printf(
        "| %s | %.1fM | %lld | %d | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f "
        "|%s\n",
        archs[i].name.c_str(), archs[i].macs / 1e6,
        static_cast<long long>(archs[i].params), archs[i].steps, c, p, c / p,
        cc, pc, cc / pc, extra.c_str());
  }
  for (size_t i = 0; i < archs.size(); ++i) {
    std::printf("%s = %s %s\n", archs[i].name.c_str(), archs[i].space.c_str(),
                archs[i].canonical.c_str());
  }
  std::printf(
      "worst ratio vs python %.2f wall-clock, %.2f CPU time (target >= "
      "1.20); parameter counts %s\n",
      worst, worst_cpu, params_equal ? "equal" : "DIFFER");
  return params_equal ? 0 : 2;
}

}  // namespace
}  // namespace nas

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  return nas::Run();
}
