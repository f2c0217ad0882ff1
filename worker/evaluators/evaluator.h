// Evaluates one candidate: builds it with LibTorch, trains it on the
// dataset, measures it. This header is LibTorch-free so that the gRPC
// client loop does not pay LibTorch's compile time. An Evaluator is used
// by one thread at a time (one trial at a time per worker).
#ifndef NAS_WORKER_EVALUATORS_EVALUATOR_H_
#define NAS_WORKER_EVALUATORS_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nas/v1/worker.pb.h"

namespace nas {

struct EvaluatorOptions {
  // Where LibTorch computes (nas-worker --device): "auto", "cpu", "cuda" or
  // "cuda:N" (worker/gpu_info.h, ParseDeviceRequest). Default "auto".
  std::string device = "auto";
  // Intra-op CPU threads for LibTorch (0 = leave LibTorch's default).
  int threads = 0;
  // Print per-epoch lines to stderr. Default true.
  bool verbose = true;
  // Tune the process's malloc to keep freed memory for reuse (faster CPU
  // training, peak memory stays resident; see KeepFreedMemoryForReuse in
  // worker/device.h). Process-wide. Default true.
  bool keep_freed_memory = true;
  // Directories a trial's data files must lie under (nas-worker's
  // --data_root; a security boundary, docs/SECURITY.md). Empty: any path
  // (tests only).
  std::vector<std::string> data_roots;
  // The decode cache (nas-worker's --data_cache_dir); "" = decode into
  // memory, no cache.
  std::string data_cache_dir;
  // Called while a dataset is decoded for the first time, with images done
  // and the total (worker metrics). Optional.
  std::function<void(int64_t done, int64_t total)> on_data_progress;
};

// One epoch's progress, passed to the callback after each epoch.
struct EpochProgress {
  int epoch = 0;  // from 1
  double train_loss = 0;
  double val_accuracy = 0;
  double seconds = 0;  // since training started
  // A differentiable search (Trial.darts_search): its state after this
  // epoch (ReportProgressRequest.search); absent for other trials.
  std::optional<v1::SearchProgress> search;
};
// Returns true to continue, false to stop training now (the result so far is
// still measured and returned).
using ProgressCallback = std::function<bool(const EpochProgress&)>;

// True when the trial in progress must end now even between epochs: its
// lease was lost (or the controller said ABANDON) or the worker is shutting
// down. Provided by the worker loop; evaluators that run something they can
// interrupt at any time (COMMAND's program) poll it. Thread-safe.
using StopCheck = std::function<bool()>;

// Returns the path of a local file holding the stored artifact whose
// content hash (sha256 hex) is `hash`, fetching it first when needed.
// Provided by the worker loop (FetchArtifact with a disk cache).
using ArtifactFetcher =
    std::function<absl::StatusOr<std::string>(const std::string& hash)>;

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Trains and measures trial.genotype per trial.evaluation. Datasets are
  // loaded on first use and cached for later trials with the same data
  // settings. InvalidArgument for an unknown space/dataset or a bad
  // genotype, NotFound when dataset files are missing, Internal for a
  // LibTorch error (its message included).
  virtual absl::StatusOr<v1::EvaluationMetrics> Evaluate(
      const v1::Trial& trial, const ProgressCallback& on_epoch) = 0;
  // The TorchScript archive of the network trained by the last successful
  // Evaluate, when its trial asked for one (Trial.export_model) and the
  // evaluator can make one; "" otherwise. Hands it over (a second call
  // returns "").
  // For a supernet-training trial (Trial.supernet_training) this is the
  // supernet's weights.
  virtual std::string TakeModel() { return ""; }
  // The final state of the differentiable search the last successful
  // Evaluate ran (Trial.darts_search; ReportResultRequest.search), without
  // a checkpoint; nullopt for other trials and evaluators. Hands it over
  // (a second call returns nullopt).
  virtual std::optional<v1::SearchProgress> TakeSearch() {
    return std::nullopt;
  }
  // Where SUPERNET candidate trials get their supernet (Trial.supernet_hash)
  // from. Evaluators that need no artifacts ignore it.
  virtual void SetArtifactFetcher(ArtifactFetcher fetcher) {}
  // How to tell that the trial in progress must end now (see StopCheck).
  // Evaluators that only stop between epochs (through ProgressCallback)
  // ignore it.
  virtual void SetStopCheck(StopCheck check) {}
  // Device description, e.g. "cpu (2 threads)" or "cuda:0 (NVIDIA H100
  // 80GB HBM3, 79.1 GiB, compute 9.0; 1 GPU visible)".
  virtual std::string device() const = 0;
};

// The LibTorch evaluator on options.device. InvalidArgument for a malformed
// device, FailedPrecondition when CUDA was asked for and is not usable
// (the message says why: a CPU-only LibTorch, no driver, no such device).
absl::StatusOr<std::unique_ptr<Evaluator>> MakeTorchEvaluator(
    const EvaluatorOptions& options);

}  // namespace nas

#endif  // NAS_WORKER_EVALUATORS_EVALUATOR_H_
