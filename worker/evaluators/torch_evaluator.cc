// The LibTorch evaluator: trains a candidate (any space of
// worker/models/model_builder.h) with worker/trainer.h (SGD, per-step cosine
// learning rate, optional label smoothing, class weights and augmentation)
// on a dataset from LoadDataset (kept for later trials with the same data
// settings), batch by batch from its uint8 images (worker/data/batches.h),
// and measures it (worker/profiler.h, worker/class_metrics.h); mode
// ZERO_COST goes to worker/evaluators/zero_cost_evaluator.h instead.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/spaces/search_space.h"
#include "common/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "worker/class_metrics.h"
#include "worker/data/batches.h"
#include "worker/data/dataset.h"
#include "worker/device.h"
#include "worker/evaluators/darts_search.h"
#include "worker/evaluators/evaluator.h"
#include "worker/evaluators/zero_cost_evaluator.h"
#include "worker/models/model_builder.h"
#include "worker/models/nb201_model.h"  // CountParameters
#include "worker/models/supernet.h"
#include "worker/profiler.h"
#include "worker/torchscript_export.h"
#include "worker/trainer.h"

namespace nas {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A BatchCallback that prints a step line at most every 30 s (since
// *last_print, which it updates), for long epochs.
BatchCallback StepPrinter(const std::string& tag, int epoch, int epochs,
                          int64_t steps_per_epoch, Clock::time_point t0,
                          Clock::time_point* last_print) {
  return [=](int64_t batch, const torch::Tensor& loss) {
    if (SecondsSince(*last_print) <= 30) return;
    *last_print = Clock::now();
    std::fprintf(stderr, "%s epoch %d/%d step %lld/%lld loss %.3f (%.1fs)\n",
                 tag.c_str(), epoch, epochs, static_cast<long long>(batch),
                 static_cast<long long>(steps_per_epoch), loss.item<double>(),
                 SecondsSince(t0));
  };
}

// EvaluationSpec as the controller sent it (defaults already applied there,
// common/spec/spec.cc). Zero epochs/batch/learning rate cannot pass validation,
// so they fall back to the defaults only for callers that skip it (tests);
// momentum and weight decay are used as given, 0 included.
struct TrainSettings {
  int epochs = 3;
  int64_t batch_size = 128;
  double learning_rate = 0.1;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  int64_t seed = 1;
  int latency_runs = 30;
  bool nesterov = true;
  double label_smoothing = 0;
  int64_t crop_padding = 0;
  bool horizontal_flip = false;
  std::vector<double> class_weights;       // empty: unweighted
  Precision precision = Precision::kFp32;  // from spec.precision and device
};

absl::StatusOr<TrainSettings> ResolveSettings(const v1::EvaluationSpec& e) {
  if (e.epochs() < 0 || e.batch_size() < 0 || e.learning_rate() < 0 ||
      e.momentum() < 0 || e.weight_decay() < 0 || e.latency_runs() < 0 ||
      e.random_crop_padding() < 0) {
    return absl::InvalidArgumentError(
        "evaluation epochs, batch_size, learning_rate, momentum, weight_decay, "
        "latency_runs and random_crop_padding must not be negative");
  }
  if (!(e.label_smoothing() >= 0 && e.label_smoothing() < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("evaluation label_smoothing must be in [0, 1), got ",
                     e.label_smoothing()));
  }
  TrainSettings s;
  if (e.epochs() > 0) s.epochs = e.epochs();
  if (e.batch_size() > 0) s.batch_size = e.batch_size();
  if (e.learning_rate() > 0) s.learning_rate = e.learning_rate();
  s.momentum = e.momentum();
  s.weight_decay = e.weight_decay();
  if (e.data_seed() != 0) s.seed = e.data_seed();
  s.latency_runs = std::max(30, e.latency_runs());
  s.nesterov = e.has_nesterov() ? e.nesterov() : true;
  s.label_smoothing = e.label_smoothing();
  s.crop_padding = e.random_crop_padding();
  s.horizontal_flip = e.horizontal_flip();
  return s;
}

// The fields of `e` that decide the dataset (the data cache's key).
std::string DataKey(const v1::EvaluationSpec& e) {
  v1::EvaluationSpec k;
  *k.mutable_data() = e.data();
  k.set_dataset(e.dataset());
  k.set_data_dir(e.data_dir());
  k.set_train_samples(e.train_samples());
  k.set_val_samples(e.val_samples());
  k.set_test_samples(e.test_samples());
  k.set_data_seed(e.data_seed());
  return k.SerializeAsString();
}

// The loss's class weights per evaluation.class_weighting: empty for
// "none"; for "auto" the inverse class frequency of the training split,
// scaled to a mean of 1 over the classes present (0 for absent classes);
// for "explicit" (implied by class_weights) the given weights.
// InvalidArgument naming the field otherwise.
absl::StatusOr<std::vector<double>> ResolveClassWeights(
    const v1::EvaluationSpec& e, const Dataset& data) {
  std::string mode = e.class_weighting();
  if (mode.empty()) mode = e.class_weights_size() > 0 ? "explicit" : "none";
  const int k = data.shape.classes;
  if (mode == "none") return std::vector<double>();
  if (mode == "auto") {
    std::vector<double> w(k, 0);
    double sum = 0;
    int present = 0;
    for (int c = 0;
         c < k && c < static_cast<int>(data.train_class_counts.size()); ++c) {
      if (data.train_class_counts[c] <= 0) continue;
      w[c] = 1.0 / static_cast<double>(data.train_class_counts[c]);
      sum += w[c];
      ++present;
    }
    if (present == 0) return std::vector<double>();
    for (double& v : w) v *= present / sum;
    return w;
  }
  if (mode == "explicit") {
    if (e.class_weights_size() != k) {
      return absl::InvalidArgumentError(
          absl::StrCat("class_weights: ", e.class_weights_size(),
                       " weights for ", k, " classes"));
    }
    double sum = 0;
    for (double v : e.class_weights()) {
      if (!(v >= 0) || !std::isfinite(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("class_weights: ", v, " is not a finite weight >= 0"));
      }
      sum += v;
    }
    if (sum <= 0) {
      return absl::InvalidArgumentError("class_weights: all weights are 0");
    }
    return std::vector<double>(e.class_weights().begin(),
                               e.class_weights().end());
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "class_weighting '", mode, "' is not one of none, auto, explicit"));
}

// Class metrics of `model` on `split`: eval mode, no grad, big batches in
// a fixed order.
ClassMetrics ScoreSplit(CandidateNet& model, const Split& split,
                        const Normalizer& normalizer, int classes) {
  constexpr int64_t kBatch = 1000;
  ConfusionMatrix confusion(classes);
  const int64_t n = split.size();
  if (n == 0) return ComputeClassMetrics(confusion);
  torch::NoGradGuard no_grad;
  model.eval();
  const torch::Device device = normalizer.device();
  torch::Tensor counts =
      torch::zeros({int64_t{classes} * classes},
                   torch::TensorOptions().dtype(torch::kInt64).device(device));
  BatchStream batches(split, InOrder(n), kBatch, normalizer);
  torch::Tensor x, y;
  while (batches.Next(&x, &y)) {
    const torch::Tensor pred = model.forward(x).argmax(1);
    counts.add_(torch::bincount(y.mul(classes).add_(pred), {},
                                int64_t{classes} * classes));
  }
  const torch::Tensor cpu = counts.to(torch::kCPU).contiguous();
  confusion.AddCounts(std::vector<int64_t>(
      cpu.data_ptr<int64_t>(), cpu.data_ptr<int64_t>() + cpu.numel()));
  return ComputeClassMetrics(confusion);
}

// The evaluation's class-balanced metrics into `m`.
void SetClassMetrics(const ClassMetrics& val, const ClassMetrics& test,
                     v1::EvaluationMetrics* m) {
  m->set_val_accuracy(val.accuracy);
  m->set_val_balanced_accuracy(val.balanced_accuracy);
  m->set_val_macro_f1(val.macro_f1);
  m->clear_val_class_recall();
  for (double r : val.recall) m->add_val_class_recall(r);
  m->set_test_accuracy(test.accuracy);
  m->set_test_balanced_accuracy(test.balanced_accuracy);
  m->set_test_macro_f1(test.macro_f1);
}

// Supernet validation score during its training: the mean accuracy of
// kProbePaths fixed random paths (seeded) on up to kProbeImages of (x, y),
// with batch statistics (the supernet's running statistics mix all paths,
// so they mean nothing for any one of them). Leaves sampling on.
double SupernetProbeAccuracy(Supernet& net, const SearchSpace& space,
                             const Split& split, const Normalizer& normalizer,
                             uint64_t seed) {
  constexpr int kProbePaths = 3;
  constexpr int64_t kProbeImages = 2000;
  constexpr int64_t kBatch = 500;
  const int64_t n = std::min(kProbeImages, split.size());
  if (n == 0) return 0;
  std::vector<torch::Tensor> xs, ys;
  {
    BatchStream batches(split, InOrder(n), kBatch, normalizer);
    torch::Tensor x, y;
    while (batches.Next(&x, &y)) {
      xs.push_back(x);
      ys.push_back(y);
    }
  }
  std::mt19937_64 rng(seed);
  torch::NoGradGuard no_grad;
  net.train();
  double sum = 0;
  for (int p = 0; p < kProbePaths; ++p) {
    std::vector<int> path(space.num_decisions());
    for (int d = 0; d < space.num_decisions(); ++d) {
      path[d] =
          std::uniform_int_distribution<int>(0, space.num_choices(d) - 1)(rng);
    }
    (void)net.SetPath(path);  // drawn from the space: always valid
    int64_t correct = 0;
    for (size_t b = 0; b < xs.size(); ++b) {
      correct += net.forward(xs[b]).argmax(1).eq(ys[b]).sum().item<int64_t>();
    }
    sum += static_cast<double>(correct) / static_cast<double>(n);
  }
  net.ResumeSampling();
  return sum / kProbePaths;
}

TrainOptions MakeTrainOptions(const TrainSettings& ts,
                              const Normalizer& normalizer) {
  TrainOptions to;
  to.batch_size = ts.batch_size;
  to.learning_rate = ts.learning_rate;
  to.momentum = ts.momentum;
  to.nesterov = ts.nesterov;
  to.weight_decay = ts.weight_decay;
  to.label_smoothing = ts.label_smoothing;
  to.augment.crop_padding = ts.crop_padding;
  to.augment.horizontal_flip = ts.horizontal_flip;
  // The normalized value of a black pixel, per channel (one channel: the
  // same double the whole-dataset normalization used to pad with).
  const std::vector<double> background = normalizer.Background();
  to.augment.pad_value = background.front();
  if (background.size() > 1) to.augment.channel_pad_values = background;
  to.class_weights = ts.class_weights;
  to.seed = static_cast<uint64_t>(ts.seed);
  to.precision = ts.precision;
  return to;
}

class TorchEvaluator final : public Evaluator {
 public:
  TorchEvaluator(const EvaluatorOptions& options, DeviceChoice choice)
      : options_(options), choice_(std::move(choice)), device_(choice_.device) {
    // Reuse freed activations instead of page-faulting fresh mmap()s every
    // step (see docs/BENCHMARKS.md, train_throughput).
    if (options_.keep_freed_memory) KeepFreedMemoryForReuse();
  }

  absl::StatusOr<v1::EvaluationMetrics> Evaluate(
      const v1::Trial& trial, const ProgressCallback& on_epoch) override {
    model_bytes_.clear();
    search_.reset();
    try {
      return EvaluateOrThrow(trial, on_epoch);
    } catch (const c10::Error& e) {
      return absl::InternalError(
          absl::StrCat("libtorch: ", e.what_without_backtrace()));
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("evaluation failed: ", e.what()));
    }
  }

  std::string TakeModel() override { return std::move(model_bytes_); }
  std::optional<v1::SearchProgress> TakeSearch() override {
    return std::exchange(search_, std::nullopt);
  }

  void SetArtifactFetcher(ArtifactFetcher fetcher) override {
    fetcher_ = std::move(fetcher);
  }

  std::string device() const override { return choice_.description; }

 private:
  // ResolveSettings, and the precision of spec.precision on this device.
  absl::StatusOr<TrainSettings> Settings(const v1::EvaluationSpec& spec) const {
    NAS_ASSIGN_OR_RETURN(TrainSettings ts, ResolveSettings(spec));
    NAS_ASSIGN_OR_RETURN(ts.precision,
                         ResolvePrecision(spec.precision(), choice_));
    return ts;
  }

  // The device and the precision a trial ran in (EvaluationMetrics.device).
  std::string DeviceUsed(const TrainSettings& ts) const {
    return absl::StrCat(choice_.description, ", ", PrecisionName(ts.precision));
  }

  struct CachedData {
    std::string key;
    std::shared_ptr<const Dataset> data;
  };
  static constexpr size_t kMaxCachedData = 2;

  // The dataset of `e` (its `data` filled in), from the cache or loaded
  // now (decoding it into the cache directory on first use).
  absl::StatusOr<std::shared_ptr<const Dataset>> Data(
      const v1::EvaluationSpec& e) {
    const std::string key = DataKey(e);
    for (size_t i = 0; i < cache_.size(); ++i) {
      if (cache_[i].key == key) {
        std::rotate(cache_.begin(), cache_.begin() + i,
                    cache_.begin() + i + 1);  // most recent first
        return cache_.front().data;
      }
    }
    const Clock::time_point t0 = Clock::now();
    DataLoadOptions opts;
    opts.cache_dir = options_.data_cache_dir;
    opts.allowed_roots = options_.data_roots;
    opts.verbose = options_.verbose;
    opts.on_progress = options_.on_data_progress;
    NAS_ASSIGN_OR_RETURN(std::shared_ptr<const Dataset> data,
                         LoadDataset(e, opts));
    if (options_.verbose) {
      std::fprintf(stderr,
                   "loaded %s: %lld train, %lld val, %lld test images, "
                   "%dx%dx%d, %d classes (%.1fs)\n",
                   data->description.c_str(),
                   static_cast<long long>(data->train.size()),
                   static_cast<long long>(data->val.size()),
                   static_cast<long long>(data->test.size()),
                   data->shape.channels, data->shape.height, data->shape.width,
                   data->shape.classes, SecondsSince(t0));
    }
    cache_.insert(cache_.begin(), CachedData{key, data});
    if (cache_.size() > kMaxCachedData) cache_.pop_back();
    return data;
  }

  absl::StatusOr<v1::EvaluationMetrics> EvaluateOrThrow(
      const v1::Trial& trial, const ProgressCallback& on_epoch) {
    // A spec without `data` (older controllers, tests) gets the
    // Fashion-MNIST preset from LoadDataset.
    const v1::EvaluationSpec& spec = trial.evaluation();
    if (spec.mode() == v1::TABULAR) {
      return absl::UnimplementedError(
          absl::StrCat("evaluation mode ", v1::EvaluationMode_Name(spec.mode()),
                       " is not implemented by the torch evaluator"));
    }
    // The genotype names its space ("" = nb201, older controllers); its
    // options come from trial.search_space(), or trial.nb201() when absent.
    const std::string space =
        trial.genotype().space().empty() ? "nb201" : trial.genotype().space();
    v1::SearchSpaceSpec space_spec;
    if (trial.has_search_space()) {
      space_spec = trial.search_space();
      if (!space_spec.name().empty() && space_spec.name() != space) {
        return absl::InvalidArgumentError(absl::StrCat(
            "genotype space '", space, "' does not match search_space.name '",
            space_spec.name(), "'"));
      }
    } else if (space == "nb201") {
      *space_spec.mutable_nb201() = trial.nb201();
    }
    space_spec.set_name(space);
    NAS_ASSIGN_OR_RETURN(const SearchSpace* search_space,
                         GetSearchSpace(space));
    if (trial.has_darts_search()) return Search(trial, space_spec, on_epoch);
    const std::vector<int> choices(trial.genotype().choices().begin(),
                                   trial.genotype().choices().end());
    const bool supernet_mode =
        spec.mode() == v1::SUPERNET && !trial.final_training();
    if (supernet_mode && trial.supernet_training()) {
      NAS_ASSIGN_OR_RETURN(TrainSettings ts, Settings(spec));
      NAS_ASSIGN_OR_RETURN(std::shared_ptr<const Dataset> data, Data(spec));
      NAS_ASSIGN_OR_RETURN(ts.class_weights, ResolveClassWeights(spec, *data));
      return TrainSupernet(trial, space, *search_space, space_spec, ts, *data,
                           on_epoch);
    }
    // Reject a bad genotype before loading any data.
    NAS_RETURN_IF_ERROR(search_space->Canonical(choices).status());
    NAS_ASSIGN_OR_RETURN(TrainSettings ts, Settings(spec));
    NAS_ASSIGN_OR_RETURN(std::shared_ptr<const Dataset> data, Data(spec));
    if (spec.mode() == v1::ZERO_COST && !trial.final_training()) {
      ZeroCostContext context;
      context.device = device_;
      context.device_used = absl::StrCat(choice_.description, ", ",
                                         PrecisionName(Precision::kFp32));
      context.seed = ts.seed;
      context.verbose = options_.verbose;
      return EvaluateZeroCost(trial, space, *search_space, choices, space_spec,
                              *data, context);
    }
    NAS_ASSIGN_OR_RETURN(ts.class_weights, ResolveClassWeights(spec, *data));
    NAS_ASSIGN_OR_RETURN(
        const ProgressMetric progress_metric,
        ParseProgressMetric(spec.progress_metric(), data->class_names));
    const Normalizer normalizer = Normalizer::For(*data, device_);
    if (supernet_mode) {
      return EvaluateInherited(trial, spec, space, *search_space, choices,
                               space_spec, ts, data, normalizer);
    }

    torch::manual_seed(static_cast<uint64_t>(ts.seed));
    NAS_ASSIGN_OR_RETURN(
        std::shared_ptr<CandidateNet> net,
        BuildCandidateNet(space, choices, space_spec, data->shape));
    CandidateNet& model = *net;
    NAS_ASSIGN_OR_RETURN(
        const Cost cost,
        search_space->ComputeCost(choices, space_spec, data->shape));
    model.to(device_);

    // A final re-training learns from the training and validation images
    // together; there is no validation score to report (0).
    const Split train =
        trial.final_training() ? data->train.Concat(data->val) : data->train;
    const int classes = data->shape.classes;

    const TrainOptions to = MakeTrainOptions(ts, normalizer);
    const std::string tag = absl::StrCat("[trial ", trial.trial_id(),
                                         " attempt ", trial.attempt(), "]");
    const int64_t n = train.size();
    const int64_t steps_per_epoch = (n + ts.batch_size - 1) / ts.batch_size;
    Trainer trainer(model, to, device_, steps_per_epoch * ts.epochs);
    const Clock::time_point t0 = Clock::now();
    ClassMetrics val = ComputeClassMetrics(ConfusionMatrix(classes));
    const std::string score_name = progress_metric.name == "val_accuracy"
                                       ? "val_acc"
                                       : progress_metric.name;
    const EpochLoop loop = RunEpochs(
        trainer, train, normalizer, ts.epochs, steps_per_epoch, tag,
        score_name.c_str(),
        [&] {
          if (trial.final_training()) return 0.0;
          val = ScoreSplit(model, data->val, normalizer, classes);
          return progress_metric.Value(val);
        },
        on_epoch);
    const int epochs_run = loop.epochs_run;
    const double train_loss = loop.train_loss;
    const double step_seconds = loop.step_seconds;
    const double train_seconds = SecondsSince(t0);

    v1::EvaluationMetrics m;
    SetClassMetrics(val, ScoreSplit(model, data->test, normalizer, classes),
                    &m);
    m.set_macs(cost.macs);
    m.set_params(CountParameters(model));
    const LatencyStats latency =
        MeasureLatency(model, data->shape, device_, ts.latency_runs,
                       /*warmup=*/5, ts.precision);
    m.set_latency_ms(latency.median_ms);
    m.set_latency_iqr_ms(latency.iqr_ms);
    m.set_throughput_images_per_second(MeasureThroughput(
        model, data->shape, device_, ts.batch_size, ts.precision));
    m.set_train_images_per_second(
        step_seconds > 0 ? static_cast<double>(n) * epochs_run / step_seconds
                         : 0);
    m.set_train_seconds(train_seconds);
    m.set_epochs(epochs_run);
    m.set_device(DeviceUsed(ts));
    m.set_train_loss(train_loss);
    if (trial.export_model()) {
      NAS_ASSIGN_OR_RETURN(model_bytes_, Export(trial, spec, model, *data, m));
    }
    if (options_.verbose) {
      std::fprintf(stderr,
                   "%s done: val_acc %.4f val_bal_acc %.4f val_f1 %.4f "
                   "test_acc %.4f params %lld latency %.3f ms (%.1fs total)\n",
                   tag.c_str(), m.val_accuracy(), m.val_balanced_accuracy(),
                   m.val_macro_f1(), m.test_accuracy(),
                   static_cast<long long>(m.params()), m.latency_ms(),
                   SecondsSince(t0));
    }
    return m;
  }

  struct EpochLoop {
    int epochs_run = 0;
    double train_loss = 0;    // of the last epoch
    double score = 0;         // score() after the last epoch
    double step_seconds = 0;  // in RunEpoch: training steps only
  };

  // Up to `epochs` epochs (of `steps_per_epoch` steps) of `trainer` over
  // `split`, each followed by
  // `score()` (printed as `score_name`) and a report to `on_epoch`, which
  // may stop the loop; step lines every 30 s when verbose.
  EpochLoop RunEpochs(Trainer& trainer, const Split& split,
                      const Normalizer& normalizer, int epochs,
                      int64_t steps_per_epoch, const std::string& tag,
                      const char* score_name,
                      const std::function<double()>& score,
                      const ProgressCallback& on_epoch) {
    EpochLoop out;
    const Clock::time_point t0 = Clock::now();
    Clock::time_point last_print = t0;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      const BatchCallback on_batch =
          options_.verbose ? StepPrinter(tag, epoch, epochs, steps_per_epoch,
                                         t0, &last_print)
                           : BatchCallback();
      const Clock::time_point epoch_start = Clock::now();
      out.train_loss = trainer.RunEpoch(split, normalizer, on_batch);
      out.step_seconds += SecondsSince(epoch_start);
      out.score = score();
      out.epochs_run = epoch;
      EpochProgress progress;
      progress.epoch = epoch;
      progress.train_loss = out.train_loss;
      progress.val_accuracy = out.score;
      progress.seconds = SecondsSince(t0);
      if (options_.verbose) {
        last_print = Clock::now();
        std::fprintf(stderr, "%s epoch %d/%d loss %.3f %s %.3f (%.1fs)\n",
                     tag.c_str(), epoch, epochs, out.train_loss, score_name,
                     out.score, progress.seconds);
      }
      if (on_epoch && !on_epoch(progress)) break;
    }
    return out;
  }

  // A differentiable search (worker/evaluators/darts_search.h), trained as
  // the evaluation specifies; its final state is kept for TakeSearch.
  absl::StatusOr<v1::EvaluationMetrics> Search(
      const v1::Trial& trial, const v1::SearchSpaceSpec& space_spec,
      const ProgressCallback& on_epoch) {
    const v1::EvaluationSpec& spec = trial.evaluation();
    NAS_RETURN_IF_ERROR(CheckDartsSearch(trial, space_spec));
    NAS_ASSIGN_OR_RETURN(TrainSettings ts, Settings(spec));
    NAS_ASSIGN_OR_RETURN(std::shared_ptr<const Dataset> data, Data(spec));
    NAS_ASSIGN_OR_RETURN(ts.class_weights, ResolveClassWeights(spec, *data));
    DartsSearchSettings settings;
    settings.train = MakeTrainOptions(ts, Normalizer::For(*data, device_));
    settings.device = device_;
    settings.device_used = DeviceUsed(ts);
    settings.verbose = options_.verbose;
    settings.fetcher = fetcher_;
    NAS_ASSIGN_OR_RETURN(
        DartsSearchResult result,
        RunDartsSearch(trial, space_spec, *data, settings, on_epoch));
    search_ = std::move(result.search);
    return result.metrics;
  }

  // Trains the experiment's supernet (SPOS) and keeps its weights for
  // TakeModel. Reports each epoch like a training trial, with the supernet
  // probe accuracy as val_accuracy.
  absl::StatusOr<v1::EvaluationMetrics> TrainSupernet(
      const v1::Trial& trial, const std::string& space,
      const SearchSpace& search_space, const v1::SearchSpaceSpec& space_spec,
      const TrainSettings& ts, const Dataset& data,
      const ProgressCallback& on_epoch) {
    const Clock::time_point t0 = Clock::now();
    torch::manual_seed(static_cast<uint64_t>(ts.seed));
    NAS_ASSIGN_OR_RETURN(std::shared_ptr<Supernet> net,
                         BuildSupernet(space, space_spec, data.shape));
    net->to(device_);
    net->EnableSampling(static_cast<uint64_t>(ts.seed));
    const Normalizer normalizer = Normalizer::For(data, device_);
    const int64_t n = data.train.size();
    const int64_t steps_per_epoch = (n + ts.batch_size - 1) / ts.batch_size;
    Trainer trainer(*net, MakeTrainOptions(ts, normalizer), device_,
                    steps_per_epoch * ts.epochs);
    const std::string tag = absl::StrCat("[supernet trial ", trial.trial_id(),
                                         " attempt ", trial.attempt(), "]");
    if (options_.verbose) {
      std::fprintf(stderr, "%s %s supernet: %lld parameters, %d epochs\n",
                   tag.c_str(), space.c_str(),
                   static_cast<long long>(CountParameters(*net)), ts.epochs);
    }
    const EpochLoop loop = RunEpochs(
        trainer, data.train, normalizer, ts.epochs, steps_per_epoch, tag,
        "probe_acc",
        [&] {
          return SupernetProbeAccuracy(*net, search_space, data.val, normalizer,
                                       static_cast<uint64_t>(ts.seed));
        },
        on_epoch);
    const int epochs_run = loop.epochs_run;
    const double train_loss = loop.train_loss, probe = loop.score,
                 step_seconds = loop.step_seconds;
    v1::EvaluationMetrics m;
    m.set_val_accuracy(probe);
    m.set_params(CountParameters(*net));
    m.set_train_seconds(SecondsSince(t0));
    m.set_train_images_per_second(
        step_seconds > 0 ? static_cast<double>(n) * epochs_run / step_seconds
                         : 0);
    m.set_epochs(epochs_run);
    m.set_device(DeviceUsed(ts));
    m.set_train_loss(train_loss);
    NAS_ASSIGN_OR_RETURN(model_bytes_, SaveWeights(*net));
    if (options_.verbose) {
      std::fprintf(stderr, "%s done: probe_acc %.4f, %zu bytes (%.1fs)\n",
                   tag.c_str(), probe, model_bytes_.size(), SecondsSince(t0));
    }
    return m;
  }

  // The supernet `hash` for (space, options, input), from memory or
  // fetched and loaded now.
  absl::StatusOr<Supernet*> LoadSupernet(const std::string& hash,
                                         const std::string& space,
                                         const v1::SearchSpaceSpec& space_spec,
                                         const InputShape& input) {
    const std::string key =
        absl::StrCat(hash, "|", space, "|", space_spec.SerializeAsString(), "|",
                     input.channels, "x", input.height, "x", input.width, "|",
                     input.classes);
    if (supernet_ != nullptr && supernet_key_ == key) return supernet_.get();
    if (!fetcher_) {
      return absl::FailedPreconditionError(
          "this evaluator has no way to fetch the supernet (no artifact "
          "fetcher)");
    }
    NAS_ASSIGN_OR_RETURN(const std::string path, fetcher_(hash));
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat("cannot read the supernet file ", path));
    }
    NAS_ASSIGN_OR_RETURN(std::shared_ptr<Supernet> net,
                         BuildSupernet(space, space_spec, input));
    NAS_RETURN_IF_ERROR(LoadWeights(*net, bytes.str()));
    net->to(device_);
    net->eval();
    supernet_ = std::move(net);
    supernet_key_ = key;
    return supernet_.get();
  }

  // The first `images` of a fixed (seed) shuffle of the training images of
  // `data`, normalized on the device, for batch-norm recalibration and
  // fine-tuning; kept while the same dataset (still alive), seed and count
  // are asked for again.
  torch::Tensor CalibrationImages(const std::shared_ptr<const Dataset>& data,
                                  const Normalizer& normalizer, int64_t seed,
                                  int64_t images, torch::Tensor* labels) {
    const int64_t total = data->train.size();
    const int64_t n = std::min(images, total);
    if (calib_data_.lock() != data || calib_seed_ != seed ||
        calib_x_.size(0) != n) {
      torch::Generator gen =
          at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
      const torch::Tensor perm =
          torch::randperm(total, gen,
                          torch::TensorOptions().dtype(torch::kInt64))
              .narrow(0, 0, n);
      torch::Tensor x, y;
      data->train.Gather(perm, &x, &y);
      calib_x_ = normalizer(x);
      calib_y_ = y.to(device_);
      calib_data_ = data;
      calib_seed_ = seed;
    }
    *labels = calib_y_;
    return calib_x_;
  }

  // SUPERNET candidate: inherit, optionally fine-tune, recalibrate batch
  // norm, measure. train_seconds is the time of those steps (the
  // evaluation's cost, without the latency and throughput measurements).
  absl::StatusOr<v1::EvaluationMetrics> EvaluateInherited(
      const v1::Trial& trial, const v1::EvaluationSpec& spec,
      const std::string& space, const SearchSpace& search_space,
      const std::vector<int>& choices, const v1::SearchSpaceSpec& space_spec,
      const TrainSettings& ts, const std::shared_ptr<const Dataset>& dataset,
      const Normalizer& normalizer) {
    const Dataset& data = *dataset;
    const v1::SupernetOptions& so = trial.evaluation().supernet();
    if (trial.supernet_hash().empty()) {
      return absl::InvalidArgumentError(
          "supernet_hash: a SUPERNET candidate trial must name the trained "
          "supernet");
    }
    NAS_ASSIGN_OR_RETURN(
        Supernet * supernet,
        LoadSupernet(trial.supernet_hash(), space, space_spec, data.shape));
    const Clock::time_point t0 = Clock::now();
    torch::manual_seed(static_cast<uint64_t>(ts.seed));
    NAS_ASSIGN_OR_RETURN(
        std::shared_ptr<CandidateNet> net,
        BuildCandidateNet(space, choices, space_spec, data.shape));
    net->to(device_);
    NAS_RETURN_IF_ERROR(InheritWeights(*supernet, choices, *net));
    const int64_t calib_batches =
        so.calibration_batches() > 0 ? so.calibration_batches() : 20;
    const int64_t finetune = std::max(0, so.finetune_steps());
    torch::Tensor calib_y;
    const torch::Tensor calib_x = CalibrationImages(
        dataset, normalizer, ts.seed,
        std::max(calib_batches, finetune) * ts.batch_size, &calib_y);
    double train_loss = 0;
    if (finetune > 0) {
      TrainOptions to = MakeTrainOptions(ts, normalizer);
      to.learning_rate = so.finetune_learning_rate() > 0
                             ? so.finetune_learning_rate()
                             : ts.learning_rate / 10;
      Trainer trainer(*net, to, device_, finetune);
      net->train();
      torch::Tensor loss_sum = torch::zeros({}, torch::kFloat64);
      const int64_t n = calib_x.size(0);
      for (int64_t s = 0; s < finetune; ++s) {
        const int64_t b = (s * ts.batch_size) % n;
        const int64_t len = std::min(ts.batch_size, n - b);
        loss_sum +=
            trainer.Step(calib_x.narrow(0, b, len), calib_y.narrow(0, b, len))
                .to(torch::kCPU, torch::kFloat64);
      }
      train_loss = loss_sum.item<double>() / static_cast<double>(finetune);
    }
    RecalibrateBatchNorm(*net, calib_x, calib_batches, ts.batch_size);
    v1::EvaluationMetrics m;
    const int classes = data.shape.classes;
    const ClassMetrics val = ScoreSplit(*net, data.val, normalizer, classes);
    m.set_train_seconds(SecondsSince(t0));
    SetClassMetrics(val, ScoreSplit(*net, data.test, normalizer, classes), &m);
    NAS_ASSIGN_OR_RETURN(const Cost cost, search_space.ComputeCost(
                                              choices, space_spec, data.shape));
    m.set_macs(cost.macs);
    m.set_params(CountParameters(*net));
    const LatencyStats latency =
        MeasureLatency(*net, data.shape, device_, ts.latency_runs,
                       /*warmup=*/5, ts.precision);
    m.set_latency_ms(latency.median_ms);
    m.set_latency_iqr_ms(latency.iqr_ms);
    m.set_throughput_images_per_second(MeasureThroughput(
        *net, data.shape, device_, ts.batch_size, ts.precision));
    m.set_epochs(0);
    m.set_device(DeviceUsed(ts));
    m.set_train_loss(train_loss);
    if (trial.export_model()) {
      NAS_ASSIGN_OR_RETURN(model_bytes_, Export(trial, spec, *net, data, m));
    }
    if (options_.verbose) {
      std::fprintf(stderr,
                   "[trial %lld attempt %d] inherited from supernet %.12s: "
                   "val_acc %.4f test_acc %.4f params %lld (%.2fs)\n",
                   static_cast<long long>(trial.trial_id()), trial.attempt(),
                   trial.supernet_hash().c_str(), m.val_accuracy(),
                   m.test_accuracy(), static_cast<long long>(m.params()),
                   m.train_seconds());
    }
    return m;
  }

  // The trained network as TorchScript, with meta.json: input shape, class
  // names, normalization, genotype, search space and metrics.
  absl::StatusOr<std::string> Export(const v1::Trial& trial,
                                     const v1::EvaluationSpec& spec,
                                     CandidateNet& model, const Dataset& data,
                                     const v1::EvaluationMetrics& m) {
    google::protobuf::Struct meta;
    auto& f = *meta.mutable_fields();
    auto* shape = f["input_shape"].mutable_list_value();
    for (int d :
         {1, data.shape.channels, data.shape.height, data.shape.width}) {
      shape->add_values()->set_number_value(d);
    }
    f["input_range"].set_string_value("float32 in [0, 1]");
    auto* classes = f["class_names"].mutable_list_value();
    for (const std::string& c : data.class_names) {
      classes->add_values()->set_string_value(c);
    }
    // Per channel: the module computes (x - mean[c]) / std[c] itself.
    const std::string& mode = spec.data().normalization();
    f["normalization"].set_string_value(mode.empty() ? "auto" : mode);
    auto* mean = f["normalization_mean"].mutable_list_value();
    auto* std = f["normalization_std"].mutable_list_value();
    for (int c = 0; c < data.shape.channels; ++c) {
      mean->add_values()->set_number_value(
          data.mean[data.mean.size() == 1 ? 0 : c]);
      std->add_values()->set_number_value(
          data.std[data.std.size() == 1 ? 0 : c]);
    }
    f["genotype"].set_string_value(trial.genotype().canonical());
    f["space"].set_string_value(trial.genotype().space());
    f["experiment_id"].set_number_value(
        static_cast<double>(trial.experiment_id()));
    f["candidate_id"].set_number_value(
        static_cast<double>(trial.candidate_id()));
    f["final_training"].set_bool_value(trial.final_training());
    google::protobuf::util::JsonPrintOptions opts;
    opts.preserve_proto_field_names = true;
    // A message as a JSON object inside meta.json (field names as in YAML).
    auto as_struct = [&opts](const google::protobuf::Message& msg,
                             google::protobuf::Value* out) {
      std::string json;
      (void)google::protobuf::util::MessageToJsonString(msg, &json, opts);
      (void)google::protobuf::util::JsonStringToMessage(
          json, out->mutable_struct_value());
    };
    as_struct(m, &f["metrics"]);
    if (trial.has_search_space())
      as_struct(trial.search_space(), &f["search_space"]);
    std::string meta_json;
    opts.add_whitespace = true;
    (void)google::protobuf::util::MessageToJsonString(meta, &meta_json, opts);
    ExportOptions options;
    options.input = data.shape;
    options.mean = data.mean;
    options.std = data.std;
    options.extra_files["meta.json"] = meta_json;
    return ExportTorchScript(model, options);
  }

  const EvaluatorOptions options_;
  const DeviceChoice choice_;
  const torch::Device device_;
  std::string model_bytes_;                   // for TakeModel
  std::optional<v1::SearchProgress> search_;  // for TakeSearch
  ArtifactFetcher fetcher_;
  // The last supernet loaded for inheritance, and what it was loaded for.
  std::shared_ptr<Supernet> supernet_;
  std::string supernet_key_;
  // Calibration images (CalibrationImages): of which dataset (not owned: a
  // dataset evicted from the cache expires here too) and seed.
  torch::Tensor calib_x_, calib_y_;
  std::weak_ptr<const Dataset> calib_data_;
  int64_t calib_seed_ = 0;
  // Datasets, most recently used first.
  std::vector<CachedData> cache_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Evaluator>> MakeTorchEvaluator(
    const EvaluatorOptions& options) {
  NAS_ASSIGN_OR_RETURN(DeviceChoice choice,
                       ChooseDevice(options.device, options.threads));
  return std::unique_ptr<Evaluator>(
      std::make_unique<TorchEvaluator>(options, std::move(choice)));
}

}  // namespace nas
