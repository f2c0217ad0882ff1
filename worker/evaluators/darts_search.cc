#include "worker/evaluators/darts_search.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/spaces/nb201_space.h"
#include "common/status_macros.h"
#include "worker/data/batches.h"
#include "worker/device.h"
#include "worker/models/nb201_model.h"  // CountParameters

namespace nas {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr double kGradClip = 5;
constexpr int64_t kCheckpointFormat = 1;

// DartsOptions with the proto's defaults for zero fields that cannot be
// zero (method, epochs, arch_learning_rate); the others as given.
struct Resolved {
  bool beta_darts = true;
  int epochs = 10;
  double arch_learning_rate = 3e-4;
  double arch_weight_decay = 0;
  double beta_weight = 0;
  int checkpoint_every = 0;
};

absl::StatusOr<Resolved> Resolve(const v1::DartsSearch& search,
                                 const v1::EvaluationSpec& evaluation) {
  const v1::DartsOptions& o = search.options();
  Resolved r;
  if (o.method() == "darts") {
    r.beta_darts = false;
  } else if (!o.method().empty() && o.method() != "beta_darts") {
    return absl::InvalidArgumentError(
        absl::StrCat("darts_search.options.method '", o.method(),
                     "' is not one of darts, beta_darts"));
  }
  if (o.epochs() > 0) {
    r.epochs = o.epochs();
  } else if (evaluation.epochs() > 0) {
    r.epochs = evaluation.epochs();
  }
  if (o.epochs() < 0) {
    return absl::InvalidArgumentError(
        "darts_search.options.epochs must be >= 1");
  }
  if (o.arch_learning_rate() > 0) r.arch_learning_rate = o.arch_learning_rate();
  if (!(o.arch_learning_rate() >= 0) || !(o.arch_weight_decay() >= 0) ||
      !(o.beta_weight() >= 0) || o.checkpoint_every() < 0) {
    return absl::InvalidArgumentError(
        "darts_search.options: arch_learning_rate, arch_weight_decay, "
        "beta_weight and checkpoint_every must not be negative");
  }
  r.arch_weight_decay = o.arch_weight_decay();
  r.beta_weight = o.beta_weight();
  r.checkpoint_every = o.checkpoint_every();
  return r;
}

// The seed of epoch `epoch`'s batch order and augmentation (splitmix64 of
// the search's seed and the epoch).
uint64_t EpochSeed(int64_t seed, int epoch) {
  uint64_t z = static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL +
               static_cast<uint64_t>(epoch);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFFULL;
}

// Everything a checkpoint holds.
struct SearchState {
  std::shared_ptr<DartsNetwork> net;
  std::unique_ptr<Trainer> trainer;
  std::unique_ptr<torch::optim::Adam> adam;
  int epoch = 0;  // the last epoch done
};

absl::StatusOr<std::unique_ptr<SearchState>> NewState(
    const v1::SearchSpaceSpec& space_spec, const InputShape& input,
    int64_t seed, const DartsSearchSettings& settings, const Resolved& o,
    int64_t total_steps) {
  auto s = std::make_unique<SearchState>();
  torch::manual_seed(static_cast<uint64_t>(seed));
  NAS_ASSIGN_OR_RETURN(s->net, BuildDartsNetwork(space_spec, input));
  s->net->To(settings.device);
  TrainOptions to = settings.train;
  to.grad_clip_norm = kGradClip;
  to.seed = static_cast<uint64_t>(seed);
  s->trainer =
      std::make_unique<Trainer>(*s->net, to, settings.device, total_steps);
  s->adam = std::make_unique<torch::optim::Adam>(
      std::vector<torch::Tensor>{s->net->alpha()},
      torch::optim::AdamOptions(o.arch_learning_rate)
          .betas({0.5, 0.999})
          .weight_decay(o.arch_weight_decay));
  return s;
}

torch::Tensor BytesTensor(const std::string& bytes) {
  return torch::tensor(std::vector<uint8_t>(bytes.begin(), bytes.end()),
                       torch::kUInt8);
}

std::string TensorBytes(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kUInt8).contiguous();
  const char* p = reinterpret_cast<const char*>(c.data_ptr<uint8_t>());
  return std::string(p, p + c.numel());
}

std::string ArchiveBytes(torch::serialize::OutputArchive& archive) {
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

// Weights (the supernet's format, SaveWeights), alpha, both optimizers'
// state, the epoch and the schedule's step, as one LibTorch archive.
absl::StatusOr<std::string> SaveCheckpoint(SearchState& s) {
  NAS_ASSIGN_OR_RETURN(const std::string weights,
                       SaveWeights(s.net->supernet()));
  torch::serialize::OutputArchive sgd, adam, out;
  s.trainer->optimizer().save(sgd);
  s.adam->save(adam);
  out.write("format", c10::IValue(kCheckpointFormat));
  out.write("epoch", c10::IValue(static_cast<int64_t>(s.epoch)));
  out.write("steps", c10::IValue(s.trainer->steps()));
  out.write("alpha", s.net->alpha().detach().to(torch::kCPU));
  out.write("weights", BytesTensor(weights));
  out.write("sgd", BytesTensor(ArchiveBytes(sgd)));
  out.write("adam", BytesTensor(ArchiveBytes(adam)));
  return ArchiveBytes(out);
}

// Loads `bytes` into a fresh state (its epoch set); InvalidArgument when
// they are not a checkpoint of this search's network. The state is
// unusable after a failure.
absl::Status LoadCheckpoint(const std::string& bytes, torch::Device device,
                            SearchState& s) {
  try {
    torch::serialize::InputArchive in;
    std::istringstream stream(bytes);
    in.load_from(stream, device);
    c10::IValue format, epoch, steps;
    in.read("format", format);
    if (!format.isInt() || format.toInt() != kCheckpointFormat) {
      return absl::InvalidArgumentError("not a darts checkpoint (format)");
    }
    in.read("epoch", epoch);
    in.read("steps", steps);
    torch::Tensor alpha, weights, sgd, adam;
    in.read("alpha", alpha);
    in.read("weights", weights);
    in.read("sgd", sgd);
    in.read("adam", adam);
    if (!epoch.isInt() || !steps.isInt() || epoch.toInt() < 0 ||
        steps.toInt() < 0 || !alpha.sizes().equals(s.net->alpha().sizes())) {
      return absl::InvalidArgumentError(
          "darts checkpoint: bad epoch, steps or alpha");
    }
    NAS_RETURN_IF_ERROR(LoadWeights(s.net->supernet(), TensorBytes(weights)));
    // A checkpoint from another device: bring every tensor back.
    s.net->torch::nn::Module::to(device);
    {
      torch::NoGradGuard no_grad;
      s.net->alpha().copy_(alpha);
    }
    for (auto& [archive_bytes, optimizer] :
         std::vector<std::pair<std::string, torch::optim::Optimizer*>>{
             {TensorBytes(sgd), &s.trainer->optimizer()},
             {TensorBytes(adam), s.adam.get()}}) {
      torch::serialize::InputArchive archive;
      std::istringstream opt_stream(archive_bytes);
      archive.load_from(opt_stream, device);
      optimizer->load(archive);
    }
    s.trainer->SetSteps(steps.toInt());
    s.epoch = static_cast<int>(epoch.toInt());
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "darts checkpoint does not load: ", e.what_without_backtrace()));
  }
}

// The checkpoint of trial.darts_search() as bytes.
absl::StatusOr<std::string> FetchCheckpoint(const v1::DartsSearch& search,
                                            const ArtifactFetcher& fetcher) {
  if (!fetcher) {
    return absl::FailedPreconditionError(
        "this evaluator has no artifact fetcher");
  }
  NAS_ASSIGN_OR_RETURN(const std::string path,
                       fetcher(search.checkpoint_hash()));
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  return bytes.str();
}

// Accuracy of the mixed network on `split` (eval mode, no grad, in order).
double MixedAccuracy(DartsNetwork& net, const Split& split,
                     const Normalizer& normalizer) {
  constexpr int64_t kBatch = 500;
  const int64_t n = split.size();
  if (n == 0) return 0;
  torch::NoGradGuard no_grad;
  net.eval();
  torch::Tensor correct = torch::zeros(
      {},
      torch::TensorOptions().dtype(torch::kInt64).device(normalizer.device()));
  BatchStream batches(split, InOrder(n), kBatch, normalizer);
  torch::Tensor x, y;
  while (batches.Next(&x, &y)) {
    correct.add_(net.forward(x).argmax(1).eq(y).sum());
  }
  return static_cast<double>(correct.item<int64_t>()) / static_cast<double>(n);
}

// softmax(alpha) and the derived cell.
absl::StatusOr<v1::SearchProgress> Progress(DartsNetwork& net,
                                            std::vector<int>* derived) {
  v1::SearchProgress p;
  const torch::Tensor w =
      net.ArchWeights().to(torch::kCPU, torch::kFloat64).contiguous();
  const double* v = w.data_ptr<double>();
  for (int64_t i = 0; i < w.numel(); ++i) p.add_arch_weights(v[i]);
  *derived = DeriveCell(net.alpha());
  NAS_ASSIGN_OR_RETURN(const SearchSpace* space, GetSearchSpace("nb201"));
  NAS_ASSIGN_OR_RETURN(*p.mutable_derived(), space->ToProto(*derived));
  return p;
}

}  // namespace

absl::Status CheckDartsSearch(const v1::Trial& trial,
                              const v1::SearchSpaceSpec& space_spec) {
  if (!space_spec.name().empty() && space_spec.name() != "nb201") {
    return absl::InvalidArgumentError(
        absl::StrCat("darts_search: search_space '", space_spec.name(),
                     "' has no differentiable search (only nb201)"));
  }
  return Resolve(trial.darts_search(), trial.evaluation()).status();
}

double BetaLambda(double beta_weight, int epoch, int epochs) {
  if (epochs <= 1) return beta_weight;
  return beta_weight * static_cast<double>(epoch - 1) /
         static_cast<double>(epochs - 1);
}

torch::Tensor ArchLoss(DartsNetwork& net, const torch::Tensor& x,
                       const torch::Tensor& y, double lambda, double smoothing,
                       const torch::Tensor& class_weights) {
  torch::Tensor loss =
      TrainingLoss(net.forward(x), y, smoothing, class_weights);
  if (lambda > 0) loss = loss + lambda * BetaDecayLoss(net.alpha());
  return loss;
}

absl::StatusOr<DartsSearchResult> RunDartsSearch(
    const v1::Trial& trial, const v1::SearchSpaceSpec& space_spec,
    const Dataset& data, const DartsSearchSettings& settings,
    const ProgressCallback& on_epoch) {
  const v1::DartsSearch& search = trial.darts_search();
  NAS_RETURN_IF_ERROR(CheckDartsSearch(trial, space_spec));
  NAS_ASSIGN_OR_RETURN(const Resolved o, Resolve(search, trial.evaluation()));
  const int64_t n_train = data.train.size(), n_val = data.val.size();
  if (n_train == 0 || n_val == 0) {
    return absl::InvalidArgumentError(
        "darts_search needs training and validation images "
        "(evaluation.train_samples, val_samples)");
  }
  const Clock::time_point t0 = Clock::now();
  const torch::Device device = settings.device;
  const TrainOptions& to = settings.train;
  const int64_t batch = to.batch_size;
  const int64_t steps_per_epoch = (n_train + batch - 1) / batch;
  const std::string tag = absl::StrCat("[search trial ", trial.trial_id(),
                                       " attempt ", trial.attempt(), "]");
  auto fresh = [&] {
    return NewState(space_spec, data.shape, search.seed(), settings, o,
                    steps_per_epoch * o.epochs);
  };
  NAS_ASSIGN_OR_RETURN(std::unique_ptr<SearchState> state, fresh());
  if (!search.checkpoint_hash().empty()) {
    absl::StatusOr<std::string> bytes =
        FetchCheckpoint(search, settings.fetcher);
    absl::Status loaded =
        bytes.ok() ? LoadCheckpoint(*bytes, device, *state) : bytes.status();
    if (loaded.ok() && state->epoch != search.checkpoint_epoch()) {
      std::fprintf(stderr,
                   "%s checkpoint %.12s holds epoch %d, the controller said "
                   "%d: continuing after %d\n",
                   tag.c_str(), search.checkpoint_hash().c_str(), state->epoch,
                   search.checkpoint_epoch(), state->epoch);
    }
    if (loaded.ok()) {
      // Loaded weights take the archive's memory format.
      if (settings.train.channels_last) ConvertToChannelsLast(*state->net);
      if (settings.verbose) {
        std::fprintf(
            stderr, "%s resumed from checkpoint %.12s after epoch %d\n",
            tag.c_str(), search.checkpoint_hash().c_str(), state->epoch);
      }
    } else {
      std::fprintf(stderr,
                   "%s checkpoint %.12s unusable, starting afresh: %s\n",
                   tag.c_str(), search.checkpoint_hash().c_str(),
                   loaded.ToString().c_str());
      NAS_ASSIGN_OR_RETURN(state, fresh());
    }
  }
  DartsNetwork& net = *state->net;
  Trainer& trainer = *state->trainer;
  torch::optim::Adam& adam = *state->adam;
  const Normalizer normalizer = Normalizer::For(data, device);
  torch::Tensor class_weights;
  if (!to.class_weights.empty()) {
    class_weights = torch::tensor(to.class_weights, torch::kFloat64)
                        .to(device, torch::kFloat32);
  }
  LossScaler arch_scaler(to.precision == Precision::kFp16 && device.is_cuda());
  if (settings.verbose) {
    std::fprintf(stderr,
                 "%s %s seed %lld: %lld weights, %d epochs of %lld steps\n",
                 tag.c_str(), o.beta_darts ? "beta_darts" : "darts",
                 static_cast<long long>(search.seed()),
                 static_cast<long long>(CountParameters(net)), o.epochs,
                 static_cast<long long>(steps_per_epoch));
  }

  double train_loss = 0, val_acc = 0, step_seconds = 0;
  int epochs_here = 0;
  Clock::time_point last_print = t0;
  for (int epoch = state->epoch + 1; epoch <= o.epochs; ++epoch) {
    const Clock::time_point epoch_start = Clock::now();
    const uint64_t seed = EpochSeed(search.seed(), epoch);
    torch::manual_seed(seed);
    trainer.ReseedAugmentation(seed);
    const double lambda =
        o.beta_darts ? BetaLambda(o.beta_weight, epoch, o.epochs) : 0;
    BatchStream train(data.train, EpochOrder(n_train, device), batch,
                      normalizer);
    auto val = std::make_unique<BatchStream>(
        data.val, EpochOrder(n_val, device), batch, normalizer);
    torch::Tensor loss_sum = torch::zeros(
        {}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
    net.train();
    torch::Tensor x, y, vx, vy;
    int64_t step = 0;
    while (train.Next(&x, &y)) {
      if (!val->Next(&vx, &vy)) {  // the validation split runs out: again
        val = std::make_unique<BatchStream>(data.val, EpochOrder(n_val, device),
                                            batch, normalizer);
        val->Next(&vx, &vy);
      }
      // Architecture step (first order: the weights as they are).
      {
        if (to.channels_last) vx = ChannelsLast(vx);
        torch::Tensor loss;
        {
          AutocastScope autocast(device, to.precision);
          loss =
              ArchLoss(net, vx, vy, lambda, to.label_smoothing, class_weights);
        }
        net.alpha().mutable_grad() =
            torch::autograd::grad({arch_scaler.Scale(loss)}, {net.alpha()})
                .at(0);
        arch_scaler.Step(adam);
      }
      // Weight step (alpha fixed).
      net.alpha().set_requires_grad(false);
      const torch::Tensor loss = trainer.Step(x, y);
      net.alpha().set_requires_grad(true);
      loss_sum.add_(loss, static_cast<double>(x.size(0)));
      ++step;
      if (settings.verbose && SecondsSince(last_print) > 30) {
        last_print = Clock::now();
        std::fprintf(stderr,
                     "%s epoch %d/%d step %lld/%lld loss %.3f (%.1fs)\n",
                     tag.c_str(), epoch, o.epochs, static_cast<long long>(step),
                     static_cast<long long>(steps_per_epoch),
                     loss.item<double>(), SecondsSince(t0));
      }
    }
    train_loss = loss_sum.item<double>() / static_cast<double>(n_train);
    step_seconds += SecondsSince(epoch_start);
    val_acc = MixedAccuracy(net, data.val, normalizer);
    state->epoch = epoch;
    ++epochs_here;
    std::vector<int> derived;
    NAS_ASSIGN_OR_RETURN(v1::SearchProgress progress, Progress(net, &derived));
    if (o.checkpoint_every > 0 && epoch % o.checkpoint_every == 0) {
      NAS_ASSIGN_OR_RETURN(*progress.mutable_checkpoint(),
                           SaveCheckpoint(*state));
    }
    EpochProgress p;
    p.epoch = epoch;
    p.train_loss = train_loss;
    p.val_accuracy = val_acc;
    p.seconds = SecondsSince(t0);
    if (settings.verbose) {
      last_print = Clock::now();
      std::fprintf(stderr,
                   "%s epoch %d/%d loss %.3f val_acc %.3f derived %s "
                   "param-free %.2f%s (%.1fs)\n",
                   tag.c_str(), epoch, o.epochs, train_loss, val_acc,
                   progress.derived().canonical().c_str(),
                   Nb201ParamFreeShare(derived),
                   progress.checkpoint().empty()
                       ? ""
                       : absl::StrCat(", checkpoint ",
                                      progress.checkpoint().size(), " bytes")
                             .c_str(),
                   p.seconds);
    }
    p.search = std::move(progress);
    if (on_epoch && !on_epoch(p)) break;
  }
  if (epochs_here == 0) {  // resumed after the last epoch: measure again
    val_acc = MixedAccuracy(net, data.val, normalizer);
  }

  DartsSearchResult result;
  std::vector<int> derived;
  NAS_ASSIGN_OR_RETURN(result.search, Progress(net, &derived));
  v1::EvaluationMetrics& m = result.metrics;
  m.set_val_accuracy(val_acc);
  m.set_train_loss(train_loss);
  m.set_train_seconds(SecondsSince(t0));
  m.set_epochs(state->epoch);
  m.set_params(CountParameters(net));
  m.set_device(settings.device_used);
  m.set_train_images_per_second(step_seconds > 0
                                    ? static_cast<double>(n_train) *
                                          epochs_here / step_seconds
                                    : 0);
  if (settings.verbose) {
    std::fprintf(stderr,
                 "%s done: derived %s param-free %.2f val_acc %.4f "
                 "(%.1fs)\n",
                 tag.c_str(), result.search.derived().canonical().c_str(),
                 Nb201ParamFreeShare(derived), val_acc, SecondsSince(t0));
  }
  return result;
}

}  // namespace nas
