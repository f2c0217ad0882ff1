// One differentiable architecture search (strategy darts: a Trial with
// darts_search set) on the nb201 space: first-order DARTS (Liu et al. 2019)
// or beta-DARTS (Ye et al. 2022) on a DartsNetwork
// (worker/models/darts_cell.h). Each step is one architecture step on a
// validation batch (Adam on alpha, betas (0.5, 0.999)), then one weight
// step on a training batch (SGD as the trainer's, cosine schedule, gradient
// norm clipped at 5). The test split is never used. After each epoch the
// search reports softmax(alpha), the derived cell and, every
// checkpoint_every epochs, a checkpoint it can resume from. Include only
// from nas_worker_torch sources and worker tests (LibTorch). Not
// thread-safe: one search at a time per thread.
#ifndef NAS_WORKER_EVALUATORS_DARTS_SEARCH_H_
#define NAS_WORKER_EVALUATORS_DARTS_SEARCH_H_

#include <torch/torch.h>

#include <string>

#include "absl/status/statusor.h"
#include "nas/v1/worker.pb.h"
#include "worker/data/dataset.h"
#include "worker/evaluators/evaluator.h"
#include "worker/models/darts_cell.h"
#include "worker/trainer.h"

namespace nas {

struct DartsSearchSettings {
  // The weight steps' training as the evaluation specifies it for the
  // trainer (batch size, learning rate, momentum, Nesterov, weight decay,
  // label smoothing, class weights, augmentation, precision); the search
  // sets grad_clip_norm (5) and the schedule's length itself. The
  // architecture steps use the same batch size and criterion, without
  // augmentation.
  TrainOptions train;
  torch::Device device = torch::kCPU;
  // EvaluationMetrics.device, e.g. "cpu (2 threads), fp32".
  std::string device_used;
  // Per-epoch lines on stderr. Default true.
  bool verbose = true;
  // Where DartsSearch.checkpoint_hash is fetched from (may be empty: a
  // search that should resume starts afresh, logged).
  ArtifactFetcher fetcher;
};

struct DartsSearchResult {
  // val_accuracy (the mixed network's, final weights and alpha),
  // train_loss (last epoch), train_seconds (this attempt's), epochs (the
  // last epoch done, counting those before a resume), params (the
  // weight-sharing network's), device. No test accuracy: the search never
  // looks at the test split.
  v1::EvaluationMetrics metrics;
  // The final softmax(alpha) and derived cell, without a checkpoint.
  v1::SearchProgress search;
};

// Runs trial.darts_search() (options with defaults applied; a zero option
// takes the proto's documented default) on `data`'s training and
// validation splits with the nb201 options of `space_spec`. Seeds
// everything from darts_search.seed: the network and alpha, and every
// epoch's batch order and augmentation (reseeded per epoch, so a resumed
// search draws what an uninterrupted one would). Reports each epoch to
// `on_epoch` with EpochProgress.search set; false from it stops the search
// (the result so far is returned). With checkpoint_hash set, fetches the
// checkpoint and continues after its epoch (earlier epochs are not
// reported again); a checkpoint that cannot be fetched or loaded is logged
// and the search starts afresh. InvalidArgument naming the field for bad
// options or a space other than nb201; c10::Error escapes from LibTorch
// (the evaluator's edge catches it).
absl::StatusOr<DartsSearchResult> RunDartsSearch(
    const v1::Trial& trial, const v1::SearchSpaceSpec& space_spec,
    const Dataset& data, const DartsSearchSettings& settings,
    const ProgressCallback& on_epoch);

// The checks RunDartsSearch makes before it needs data:
// trial.darts_search()'s options and the space (nb201). InvalidArgument
// naming the field.
absl::Status CheckDartsSearch(const v1::Trial& trial,
                              const v1::SearchSpaceSpec& space_spec);

// The architecture step's objective on a validation batch: the training
// criterion (TrainingLoss with `smoothing` and `class_weights`) of the
// mixed network in its current mode, plus lambda * BetaDecayLoss(alpha)
// when lambda > 0.
torch::Tensor ArchLoss(DartsNetwork& net, const torch::Tensor& x,
                       const torch::Tensor& y, double lambda,
                       double smoothing = 0,
                       const torch::Tensor& class_weights = torch::Tensor());

// beta-DARTS's lambda in epoch `epoch` (from 1) of `epochs`: linear from 0
// in the first epoch to beta_weight in the last (beta_weight when there is
// one epoch).
double BetaLambda(double beta_weight, int epoch, int epochs);

}  // namespace nas

#endif  // NAS_WORKER_EVALUATORS_DARTS_SEARCH_H_
