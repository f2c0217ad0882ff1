// Training-time data augmentation on whole batches: random crop with
// padding and horizontal flip of N x C x H x W image tensors, done with
// tensor ops over the batch (no per-sample tensor copies). Free functions,
// thread-safe as long as each thread passes its own generator.
#ifndef NAS_WORKER_DATA_AUGMENT_H_
#define NAS_WORKER_DATA_AUGMENT_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace nas {

struct AugmentOptions {
  // Random crop: pad each side by this many pixels, crop back to H x W at
  // a uniformly random offset per image. 0 (default) = no crop.
  int64_t crop_padding = 0;
  // Mirror each image left-right with probability 1/2. Default false.
  bool horizontal_flip = false;
  // Value of the padded pixels: the dataset's background after
  // normalisation (e.g. (0 - mean) / std). Default 0.
  double pad_value = 0;
  // Per-channel pad values (one per channel of the batch, e.g.
  // Normalizer::Background()); when not empty, used instead of pad_value.
  std::vector<double> channel_pad_values;

  bool enabled() const { return crop_padding > 0 || horizontal_flip; }
};

// How RandomCrop gathers the windows (both give identical results; the
// choice is measured by bench/train_throughput --augment_micro).
enum class CropMethod {
  // One strided unfold view of the padded batch and one advanced-indexing
  // gather of each image's window (the default).
  kUnfoldIndex,
  // A copy per image from the padded batch into a preallocated output.
  kPerSampleCopy,
};

// Returns an augmented copy of `x` (N x C x H x W, floating point, any
// device); `x` is not modified. Offsets and flips are drawn from `gen`
// (a CPU generator), so the same seed gives the same batch. Returns `x`
// itself when `options` enables nothing.
torch::Tensor AugmentBatch(const torch::Tensor& x,
                           const AugmentOptions& options,
                           torch::Generator& gen);

// The deterministic parts, for tests and the bench. `offset_y`/`offset_x`
// are int64 CPU tensors of N values in [0, 2 * padding]: image n's output
// is rows offset_y[n] .. offset_y[n] + H - 1 (and likewise columns) of the
// image padded by `padding` pixels of `pad_value`. So offset `padding`
// returns the image unchanged and offset 0 shifts it by `padding` pixels
// down/right.
torch::Tensor RandomCrop(const torch::Tensor& x, int64_t padding,
                         double pad_value, const torch::Tensor& offset_y,
                         const torch::Tensor& offset_x,
                         CropMethod method = CropMethod::kUnfoldIndex);

// RandomCrop with one pad value per channel (pad_values.size() == C, or 1
// for all channels); identical to RandomCrop when all values are equal.
torch::Tensor RandomCrop(const torch::Tensor& x, int64_t padding,
                         const std::vector<double>& pad_values,
                         const torch::Tensor& offset_y,
                         const torch::Tensor& offset_x,
                         CropMethod method = CropMethod::kUnfoldIndex);

// Image n mirrored left-right where flip[n] (bool CPU tensor of N) is true.
torch::Tensor HorizontalFlip(const torch::Tensor& x, const torch::Tensor& flip);

}  // namespace nas

#endif  // NAS_WORKER_DATA_AUGMENT_H_
