// The worker's training loop: SGD (momentum, optional Nesterov, weight
// decay) with a per-step cosine learning rate, cross entropy with optional
// label smoothing, optional batch augmentation, autocast (bf16, or fp16
// with loss scaling on CUDA). Shared by TorchEvaluator and
// bench/train_throughput so that the bench measures the worker's own code path.
// Not thread-safe: one thread drives a Trainer and its model.
#ifndef NAS_WORKER_TRAINER_H_
#define NAS_WORKER_TRAINER_H_

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "worker/data/augment.h"
#include "worker/data/batches.h"
#include "worker/data/dataset.h"
#include "worker/device.h"
#include "worker/models/model_builder.h"

namespace nas {

struct TrainOptions {
  // Images per SGD step (the last batch of an epoch may be smaller).
  // Default 128.
  int64_t batch_size = 128;
  // Initial learning rate, cosine-annealed per step to 0 at total_steps.
  // Default 0.1.
  double learning_rate = 0.1;
  // SGD momentum (0 = none). Default 0.9.
  double momentum = 0.9;
  // Nesterov momentum (needs momentum > 0). Default true.
  bool nesterov = true;
  // L2 weight decay. Default 5e-4.
  double weight_decay = 5e-4;
  // Cross-entropy label smoothing in [0, 1). Default 0.
  double label_smoothing = 0;
  // Per-class weights of the loss (one per class, >= 0); empty (default) =
  // unweighted.
  std::vector<double> class_weights;
  // Batch augmentation (default: none).
  AugmentOptions augment;
  // Seed of the augmentation generator. Default 1. (Batch order comes from
  // LibTorch's global generator: seed it with torch::manual_seed.)
  uint64_t seed = 1;
  // Autocast precision (worker/device.h): kFp16 autocast + loss scaling
  // on CUDA only; kBf16 autocast on CUDA or the CPU. Default kFp32 (off).
  Precision precision = Precision::kFp32;
  // Before each step, scale the gradients down to this global L2 norm when
  // larger (torch.nn.utils.clip_grad_norm_); 0 = no clipping. Default 0.
  double grad_clip_norm = 0;
  // Channels-last (NHWC) weights and batches: the Trainer converts the
  // model's 4-D parameters and buffers when constructed
  // (ConvertToChannelsLast) and each batch in Step. Same values, faster
  // convolutions on CPU. Default true.
  bool channels_last = true;
};

// Mean cross entropy of `logits` (N x K) against labels `y` (N int64) with
// label smoothing `smoothing` in [0, 1): the target distribution puts
// 1 - smoothing + smoothing / K on the label and smoothing / K elsewhere.
// With `weight` (float K, on the logits' device) each image's term is
// weighted by its class and the mean divides by the sum of the weights of
// the batch's labels: PyTorch's F.cross_entropy(logits, y, weight=weight,
// label_smoothing=smoothing) exactly.
torch::Tensor TrainingLoss(const torch::Tensor& logits, const torch::Tensor& y,
                           double smoothing,
                           const torch::Tensor& weight = torch::Tensor());

// Called after each step with the 1-based batch index within the epoch and
// the batch's loss (a 0-dim tensor on the device; reading it synchronises).
using BatchCallback =
    std::function<void(int64_t batch, const torch::Tensor& loss)>;

class Trainer {
 public:
  // `model` must be on `device` and outlive the Trainer. `total_steps`
  // (> 0) is the length of the cosine schedule. With
  // options.channels_last, converts the model's memory format (it stays so
  // afterwards; any input format works for inference).
  Trainer(CandidateNet& model, const TrainOptions& options,
          torch::Device device, int64_t total_steps);

  // One SGD step on the batch (x: N x C x H x W, y: N int64 labels, both
  // on the device) at the current step's learning rate. Returns the batch's
  // mean loss, detached, on the device (no host synchronisation on CPU or
  // CUDA unless loss scaling is on).
  torch::Tensor Step(const torch::Tensor& x, const torch::Tensor& y);

  // One pass over `split` in a random order (EpochOrder: torch::randperm
  // from the device's global generator), batch by batch from a BatchStream
  // normalized by `normalizer` (on the Trainer's device), in train mode.
  // Returns the mean training loss over the images; synchronises once, at
  // the end. Rethrows what gathering a batch threw.
  double RunEpoch(const Split& split, const Normalizer& normalizer,
                  const BatchCallback& on_batch = nullptr);
  // The same over float images `x` already normalized on the device and
  // labels `y` (tests, benches); the same batches as the Split overload
  // over the same images.
  double RunEpoch(const torch::Tensor& x, const torch::Tensor& y,
                  const BatchCallback& on_batch = nullptr);

  // Steps taken so far; SetSteps continues the cosine schedule at `steps`
  // (a training resumed from a checkpoint).
  int64_t steps() const { return step_; }
  void SetSteps(int64_t steps) { step_ = steps; }
  // Restarts the augmentation generator from `seed` (a training that
  // reseeds every epoch, so that a resumed run draws what an uninterrupted
  // one draws).
  void ReseedAugmentation(uint64_t seed);
  // The cosine learning rate at `step`: lr/2 * (1 + cos(pi step / total)).
  double LearningRate(int64_t step) const;
  torch::optim::SGD& optimizer() { return optimizer_; }

 private:
  CandidateNet& model_;
  const TrainOptions options_;
  const torch::Device device_;
  const int64_t total_steps_;
  const bool amp_;
  torch::optim::SGD optimizer_;
  LossScaler scaler_;
  torch::Generator augment_gen_;
  torch::Tensor class_weights_;  // float32 on device_, or undefined
  int64_t step_ = 0;
};

}  // namespace nas

#endif  // NAS_WORKER_TRAINER_H_
