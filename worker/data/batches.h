// Batches for training and evaluation, assembled from a Split's uint8
// images: a background thread gathers each batch on the CPU (pinned memory
// when the device is CUDA) while the caller trains on the previous one;
// the caller's thread moves it to the device as uint8 and normalizes it
// there to float32. The data pipeline of the worker, also used by
// bench/train_throughput and bench/data_pipeline.
//
// Normalizer is immutable and safe to share between threads. A BatchStream
// is consumed by one thread (its own background thread is internal).
#ifndef NAS_WORKER_DATA_BATCHES_H_
#define NAS_WORKER_DATA_BATCHES_H_

#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <exception>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "worker/data/dataset.h"

namespace nas {

// Per-channel normalization of uint8 images on a device:
// (x / 255 - mean[c]) / std[c] in float32, computed in that order with
// IEEE division (no reciprocal), so that the result is bit-identical to
// normalizing the whole dataset on the CPU up front as the worker did
// before it kept uint8 data (`x.to(kFloat32).div_(255).sub_(mean)
// .div_(std)`), on the CPU and on CUDA alike.
class Normalizer {
 public:
  // `mean` and `std` hold one value per channel (or one for all channels).
  Normalizer(const std::vector<double>& mean, const std::vector<double>& std,
             torch::Device device);
  // The dataset's normalization (Dataset::mean / std) on `device`.
  static Normalizer For(const Dataset& data, torch::Device device);

  // uint8 N x C x H x W images (on any device) -> normalized float32 on
  // device().
  torch::Tensor operator()(const torch::Tensor& images) const;
  // Each channel's value of a black (0) pixel after normalization,
  // (0 - mean[c]) / std[c] computed in double: what augmentation pads with.
  std::vector<double> Background() const;
  torch::Device device() const { return device_; }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& std() const { return std_; }

 private:
  std::vector<double> mean_, std_;
  torch::Device device_;
  // float32 on device_: 255 (0-dim), mean and std (1 x C x 1 x 1).
  torch::Tensor t255_, tmean_, tstd_;
};

// The random order of one training epoch over n images:
// torch::randperm(n) drawn from LibTorch's global generator of `device`
// (so torch::manual_seed fixes it, exactly as when the whole split lived
// on `device`), returned as int64 on the CPU.
torch::Tensor EpochOrder(int64_t n, torch::Device device);

// Split positions 0, 1, ..., n - 1 (int64 CPU): the fixed order of an
// evaluation.
torch::Tensor InOrder(int64_t n);

// The batches of a split in a given order.
class BatchStream {
 public:
  // Batches of `batch_size` (> 0; the last may be smaller) of `split`'s
  // images at `positions` (int64 CPU, each in [0, split.size())), in that
  // order, normalized by `normalizer` onto its device. Gathering runs
  // `prefetch` (>= 1) batches ahead on a background thread, started here.
  // `split` and `normalizer` must outlive the stream.
  BatchStream(const Split& split, torch::Tensor positions, int64_t batch_size,
              const Normalizer& normalizer, int prefetch = 2);
  // Stops and joins the background thread (batches not taken are dropped).
  ~BatchStream();
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

  // The next batch: float32 images x (B x C x H x W) and int64 labels y (B)
  // on the device. Returns false after the last batch. Rethrows, here, an
  // exception that gathering the batch threw (c10::Error for a corrupt
  // index, say).
  bool Next(torch::Tensor* x, torch::Tensor* y);
  // The batch after Next, still uint8 and on the CPU (for tests and the
  // bench); same contract as Next.
  bool NextRaw(torch::Tensor* images, torch::Tensor* labels);

  int64_t batches() const { return batches_; }

 private:
  struct Gathered {
    torch::Tensor images, labels;
  };
  void Produce();

  const Split& split_;
  const torch::Tensor positions_;
  const int64_t batch_size_;
  const Normalizer& normalizer_;
  const size_t prefetch_;
  const bool pin_;
  const int64_t batches_;
  int64_t taken_ = 0;  // consumer's thread only

  absl::Mutex mu_;
  std::deque<Gathered> ready_ ABSL_GUARDED_BY(mu_);
  // uint8 batches the consumer has finished with (CPU device only), for
  // the producer to gather into again: a steady state without allocations,
  // so the heap does not creep with the number of batches (glibc keeps
  // freed blocks of alternating sizes; see bench/data_pipeline).
  std::vector<torch::Tensor> spare_ ABSL_GUARDED_BY(mu_);
  std::exception_ptr error_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace nas

#endif  // NAS_WORKER_DATA_BATCHES_H_
