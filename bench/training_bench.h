// What bench/train_throughput and bench/gpu_check share: the reference
// nb201 and mobilenet architectures, Fashion-MNIST as normalized tensors,
// and the Python PyTorch side (bench/train_throughput.py) as a child
// process speaking JSON lines. Not thread-safe: one thread drives a
// JsonLinesChild.
#ifndef NAS_BENCH_TRAINING_BENCH_H_
#define NAS_BENCH_TRAINING_BENCH_H_

#include <torch/torch.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rank_stats.h"  // Median
#include "common/spaces/search_space.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

struct ReferenceArch {
  std::string name;       // e.g. "nb201-medium"
  std::string space;      // "nb201" | "mobilenet"
  std::string canonical;  // the genotype string
  v1::SearchSpaceSpec spec;
  // Filled by ResolveArch:
  std::vector<int> choices;
  int64_t macs = 0;
  int64_t params = 0;
};

// Three per space (small, medium, large MACs): nb201 on a 16-channel,
// 1-cell-per-stage skeleton; mobilenet on the default skeleton.
std::vector<ReferenceArch> ReferenceArchs();

// Parses `a.canonical` and computes its analytic cost for `shape`.
absl::Status ResolveArch(ReferenceArch& a, const InputShape& shape);

// The architecture's part of a request to train_throughput.py: `"space":
// ..., "choices": [...], "nb201"|"mobilenet": {...}` (no braces).
std::string ArchJsonFields(const ReferenceArch& a);

// Fashion-MNIST from `dir` (train-* or t10k-* IDX files), normalized as the
// fashion_mnist preset (common/spec/defaults.cc) and the Python side:
// (x / 255 - 0.2860) / 0.3530, float32 N x 1 x 28 x 28 on the CPU; labels
// int64. Errors: those of ReadIdxImages/ReadIdxLabels.
struct LabelledImages {
  torch::Tensor x;
  torch::Tensor y;
  InputShape shape;
};
absl::StatusOr<LabelledImages> LoadFashionMnist(const std::string& dir,
                                                bool train);

// A child process speaking JSON lines on stdin/stdout.
class JsonLinesChild {
 public:
  JsonLinesChild() = default;
  JsonLinesChild(const JsonLinesChild&) = delete;
  JsonLinesChild& operator=(const JsonLinesChild&) = delete;
  // Sends {"quit": true}, closes the pipes and waits for the child.
  ~JsonLinesChild();

  // Starts argv[0] (a path) with `argv`; false when fork or pipe failed
  // (an exec failure shows as an empty first answer).
  bool Start(const std::vector<std::string>& argv);
  // Sends one line (none when `line` is empty) and returns the answer line
  // ("" when the child died).
  std::string Call(const std::string& line);
  // Start({python, script}), then the child's first line, which must say
  // "ready": true. Returns that line; Unavailable naming what failed.
  absl::StatusOr<std::string> StartReady(const std::string& python,
                                         const std::string& script);

 private:
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

// The number after "key": in a flat JSON object (the Python side's
// answers); NaN when absent.
double JsonNumber(const std::string& json, const std::string& key);
// The string after "key": (no escapes handled); "" when absent.
std::string JsonString(const std::string& json, const std::string& key);

}  // namespace nas

#endif  // NAS_BENCH_TRAINING_BENCH_H_
