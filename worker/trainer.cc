#include "worker/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace nas {

namespace F = torch::nn::functional;

namespace {

// The model's parameters, after converting it to channels-last if asked.
std::vector<torch::Tensor> PrepareParameters(CandidateNet& model,
                                             bool channels_last) {
  if (channels_last) ConvertToChannelsLast(model);
  return model.parameters();
}

}  // namespace

torch::Tensor TrainingLoss(const torch::Tensor& logits, const torch::Tensor& y,
                           double smoothing, const torch::Tensor& weight) {
  F::CrossEntropyFuncOptions options;
  options.label_smoothing(smoothing);
  if (weight.defined()) options.weight(weight);
  return F::cross_entropy(logits, y, options);
}

Trainer::Trainer(CandidateNet& model, const TrainOptions& options,
                 torch::Device device, int64_t total_steps)
    : model_(model),
      options_(options),
      device_(device),
      total_steps_(std::max<int64_t>(1, total_steps)),
      amp_(AutocastScope::Applies(device, options.precision)),
      optimizer_(PrepareParameters(model, options.channels_last),
                 torch::optim::SGDOptions(options.learning_rate)
                     .momentum(options.momentum)
                     .nesterov(options.nesterov && options.momentum > 0)
                     .weight_decay(options.weight_decay)),
      scaler_(options.precision == Precision::kFp16 && device.is_cuda()),
      augment_gen_(at::detail::createCPUGenerator(options.seed)) {
  if (!options.class_weights.empty()) {
    class_weights_ = torch::tensor(options.class_weights, torch::kFloat64)
                         .to(device, torch::kFloat32);
  }
}

void Trainer::ReseedAugmentation(uint64_t seed) {
  augment_gen_.set_current_seed(seed);
}

double Trainer::LearningRate(int64_t step) const {
  return 0.5 * options_.learning_rate *
         (1 + std::cos(M_PI * static_cast<double>(step) /
                       static_cast<double>(total_steps_)));
}

torch::Tensor Trainer::Step(const torch::Tensor& x, const torch::Tensor& y) {
  const double lr = LearningRate(step_);
  for (auto& group : optimizer_.param_groups()) {
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
  }
  // Drop the gradients instead of zeroing them (set_to_none): backward
  // then writes fresh ones without a memset and an accumulation pass.
  for (auto& group : optimizer_.param_groups()) {
    for (torch::Tensor& p : group.params()) p.mutable_grad().reset();
  }
  torch::Tensor input = options_.augment.enabled()
                            ? AugmentBatch(x, options_.augment, augment_gen_)
                            : x;
  if (options_.channels_last) {
    input = ChannelsLast(input);
  }
  torch::Tensor loss;
  {
    AutocastScope autocast(device_, options_.precision);
    loss = TrainingLoss(model_.forward(input), y, options_.label_smoothing,
                        class_weights_);
  }
  scaler_.Scale(loss).backward();
  if (options_.grad_clip_norm > 0) {
    // Clipping the scaled gradients at the scaled norm clips the true ones
    // at grad_clip_norm (non-finite ones stay non-finite for the scaler).
    torch::nn::utils::clip_grad_norm_(
        model_.parameters(),
        options_.grad_clip_norm * (scaler_.enabled() ? scaler_.scale() : 1.0));
  }
  scaler_.Step(optimizer_);
  ++step_;
  return loss.detach();
}

double Trainer::RunEpoch(const Split& split, const Normalizer& normalizer,
                         const BatchCallback& on_batch) {
  model_.train();
  const int64_t n = split.size();
  if (n == 0) return 0;
  BatchStream batches(split, EpochOrder(n, device_), options_.batch_size,
                      normalizer);
  torch::Tensor loss_sum = torch::zeros(
      {}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  int64_t batch = 0;
  torch::Tensor x, y;
  while (batches.Next(&x, &y)) {
    const torch::Tensor loss = Step(x, y);
    loss_sum.add_(loss, static_cast<double>(x.size(0)));
    if (on_batch) on_batch(++batch, loss);
  }
  return loss_sum.item<double>() / static_cast<double>(n);
}

double Trainer::RunEpoch(const torch::Tensor& x, const torch::Tensor& y,
                         const BatchCallback& on_batch) {
  model_.train();
  const int64_t n = x.size(0);
  if (n == 0) return 0;
  const torch::Tensor perm = torch::randperm(
      n, torch::TensorOptions().dtype(torch::kInt64).device(device_));
  torch::Tensor loss_sum = torch::zeros(
      {}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  int64_t batch = 0;
  for (int64_t b = 0; b < n; b += options_.batch_size) {
    const int64_t len = std::min(options_.batch_size, n - b);
    const torch::Tensor idx = perm.narrow(0, b, len);
    const torch::Tensor loss =
        Step(x.index_select(0, idx), y.index_select(0, idx));
    loss_sum.add_(loss, static_cast<double>(len));
    if (on_batch) on_batch(++batch, loss);
  }
  return loss_sum.item<double>() / static_cast<double>(n);
}

}  // namespace nas
