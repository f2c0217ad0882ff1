#include "common/spec/defaults.h"

#include <algorithm>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/objective.h"
#include "common/spaces/custom_space.h"
#include "common/spaces/mobilenet_space.h"

namespace nas {
namespace {

// Sets a field to its default when it is zero/empty and was not written.
class Filler {
 public:
  // `present`: the paths written in YAML (not owned; null = none known).
  explicit Filler(const std::map<std::string, int>* present)
      : present_(present) {}

  // Calls set(def) when `value` is zero/empty and `path` was not written.
  template <typename T, typename D, typename Set>
  void operator()(const std::string& path, T value, D def, Set set) const {
    if (value != T{}) return;
    if (Written(path)) return;
    set(def);
  }

  bool Written(const std::string& path) const {
    return present_ != nullptr && present_->count(path) > 0;
  }

 private:
  const std::map<std::string, int>* present_;
};

void FillStrategy(v1::StrategySpec* st, const Filler& fill) {
  fill("spec.strategy.name", st->name(), std::string("random"),
       [st](const std::string& v) { st->set_name(v); });
  if (st->name() == "evolution") {
    auto* evo = st->mutable_evolution();
    fill("spec.strategy.evolution.population", evo->population(), 20,
         [evo](int v) { evo->set_population(v); });
    fill("spec.strategy.evolution.sample_size", evo->sample_size(), 5,
         [evo](int v) { evo->set_sample_size(v); });
    if (evo->proxy().children() > 0) {
      auto* px = evo->mutable_proxy();
      fill("spec.strategy.evolution.proxy.metric", px->metric(),
           std::string("synflow"),
           [px](const std::string& v) { px->set_metric(v); });
    }
  }
  if (st->name() == "reinforce") {
    auto* rl = st->mutable_reinforce();
    const std::string p = "spec.strategy.reinforce.";
    fill(p + "learning_rate", rl->learning_rate(), 0.01,
         [rl](double v) { rl->set_learning_rate(v); });
    fill(p + "entropy_weight", rl->entropy_weight(), 1e-4,
         [rl](double v) { rl->set_entropy_weight(v); });
    fill(p + "baseline_decay", rl->baseline_decay(), 0.9,
         [rl](double v) { rl->set_baseline_decay(v); });
    fill(p + "hidden_size", rl->hidden_size(), 64,
         [rl](int v) { rl->set_hidden_size(v); });
  }
  if (st->name() == "darts") {
    auto* d = st->mutable_darts();
    const std::string p = "spec.strategy.darts.";
    fill(p + "method", d->method(), std::string("beta_darts"),
         [d](const std::string& v) { d->set_method(v); });
    fill(p + "seeds", d->seeds(), 2, [d](int v) { d->set_seeds(v); });
    fill(p + "epochs", d->epochs(), 10, [d](int v) { d->set_epochs(v); });
    fill(p + "arch_learning_rate", d->arch_learning_rate(), 3e-4,
         [d](double v) { d->set_arch_learning_rate(v); });
    fill(p + "arch_weight_decay", d->arch_weight_decay(), 1e-3,
         [d](double v) { d->set_arch_weight_decay(v); });
    fill(p + "beta_weight", d->beta_weight(), 1.0,
         [d](double v) { d->set_beta_weight(v); });
    fill(p + "checkpoint_every", d->checkpoint_every(), 1,
         [d](int v) { d->set_checkpoint_every(v); });
  }
}

// A ZERO_COST result has no accuracy: such a search ranks by a proxy.
void FillObjective(v1::ObjectiveSpec* ob, const Filler& fill, bool zero_cost) {
  fill("spec.objective.metric", ob->metric(),
       std::string(zero_cost ? "synflow" : "val_accuracy"),
       [ob](const std::string& v) { ob->set_metric(v); });
  fill("spec.objective.ranking", ob->ranking(), std::string("scalar"),
       [ob](const std::string& v) { ob->set_ranking(v); });
  if (!ob->reward().metric().empty()) {
    auto* r = ob->mutable_reward();
    if (!r->has_below_weight()) r->set_below_weight(-0.07);
    if (!r->has_above_weight()) r->set_above_weight(-0.07);
  }
}

// Budget and trial lifecycle: the top-level settings with defaults.
void FillBudgetAndTrials(v1::ExperimentSpec* spec, const Filler& fill) {
  auto* b = spec->mutable_budget();
  fill("spec.budget.parallel_trials", b->parallel_trials(), 2,
       [b](int v) { b->set_parallel_trials(v); });
  fill("spec.lease_seconds", spec->lease_seconds(), 60,
       [spec](int v) { spec->set_lease_seconds(v); });
  fill("spec.max_attempts", spec->max_attempts(), 3,
       [spec](int v) { spec->set_max_attempts(v); });
  fill("spec.keep_models", spec->keep_models(), 3,
       [spec](int v) { spec->set_keep_models(v); });
}

void FillMobileNet(v1::MobileNetOptions* mb, const Filler& fill) {
  const MobileNetShape def;  // defaults, documented in architecture.proto
  const std::string p = "spec.search_space.mobilenet.";
  auto fill_int = [&](const char* field, int32_t value, int def_value,
                      void (v1::MobileNetOptions::*set)(int32_t)) {
    fill(p + field, value, def_value, [mb, set](int v) { (mb->*set)(v); });
  };
  fill(p + "width_multiplier", mb->width_multiplier(), def.width_multiplier,
       [mb](double v) { mb->set_width_multiplier(v); });
  fill_int("stem_channels", mb->stem_channels(), def.stem_channels,
           &v1::MobileNetOptions::set_stem_channels);
  fill_int("stem_stride", mb->stem_stride(), def.stem_stride,
           &v1::MobileNetOptions::set_stem_stride);
  fill_int("head_channels", mb->head_channels(), def.head_channels,
           &v1::MobileNetOptions::set_head_channels);
  fill_int("channel_divisor", mb->channel_divisor(), def.channel_divisor,
           &v1::MobileNetOptions::set_channel_divisor);
  if (mb->stage_channels().empty() && !fill.Written(p + "stage_channels")) {
    for (int c : def.stage_channels) mb->add_stage_channels(c);
  }
  if (mb->stage_strides().empty() && !fill.Written(p + "stage_strides")) {
    for (int c : def.stage_strides) mb->add_stage_strides(c);
  }
}

// Touches spec.search_space only for the spaces with options.
void FillSearchSpace(v1::ExperimentSpec* spec, const Filler& fill) {
  const std::string& name = spec->search_space().name();
  if (name == "nb201") {
    auto* nb = spec->mutable_search_space()->mutable_nb201();
    fill("spec.search_space.nb201.channels", nb->channels(), 16,
         [nb](int v) { nb->set_channels(v); });
    fill("spec.search_space.nb201.cells_per_stage", nb->cells_per_stage(), 5,
         [nb](int v) { nb->set_cells_per_stage(v); });
  }
  if (name == "mobilenet") {
    FillMobileNet(spec->mutable_search_space()->mutable_mobilenet(), fill);
  }
  if (name == "custom") {
    // Each decision's type from its choices (validation checks an explicit
    // one).
    for (v1::SpaceDecision& d :
         *spec->mutable_search_space()->mutable_decisions()) {
      if (d.type().empty()) d.set_type(InferDecisionType(d));
    }
  }
}

// Touches spec.early_stopping only when a rule is set.
void FillEarlyStopping(v1::ExperimentSpec* spec, const Filler& fill) {
  if (spec->early_stopping().rule().empty()) return;
  auto* es = spec->mutable_early_stopping();
  fill("spec.early_stopping.min_epochs", es->min_epochs(), 1,
       [es](int v) { es->set_min_epochs(v); });
  fill("spec.early_stopping.min_trials", es->min_trials(), 3,
       [es](int v) { es->set_min_trials(v); });
  fill("spec.early_stopping.reduction_factor", es->reduction_factor(), 3,
       [es](int v) { es->set_reduction_factor(v); });
}

bool HasSource(const v1::DataSource& s) {
  return !s.images().empty() || !s.labels().empty() || !s.files().empty() ||
         !s.dir().empty();
}

// evaluation.data: the preset's when absent, else the user's with its
// defaults; evaluation.class_weighting.
void FillData(v1::EvaluationSpec* e, const Filler& fill) {
  const std::string p = "spec.evaluation.";
  if (!e->has_data()) {
    fill(p + "dataset", e->dataset(), std::string("fashion_mnist"),
         [e](const std::string& v) { e->set_dataset(v); });
    if (e->dataset() == "fashion_mnist") {
      fill(p + "data_dir", e->data_dir(),
           std::string("/usr/share/datasets/fashion-mnist"),
           [e](const std::string& v) { e->set_data_dir(v); });
      *e->mutable_data() = PresetData(e->dataset(), e->data_dir());
    }
  }
  if (e->dataset() == "fashion_mnist") {
    fill(p + "val_samples", e->val_samples(), 10000,
         [e](int v) { e->set_val_samples(v); });
  }
  if (e->has_data() && e->dataset().empty()) {
    v1::DataSpec* d = e->mutable_data();
    const bool explicit_norm = !d->mean().empty() || !d->std().empty();
    fill(p + "data.normalization", d->normalization(),
         std::string(explicit_norm ? "explicit" : "auto"),
         [d](const std::string& v) { d->set_normalization(v); });
    if (!HasSource(d->validation()) && e->val_samples() == 0) {
      fill(p + "data.validation_fraction", d->validation_fraction(), 0.1,
           [d](double v) { d->set_validation_fraction(v); });
    }
  }
  fill(p + "class_weighting", e->class_weighting(),
       std::string(e->class_weights().empty() ? "none" : "explicit"),
       [e](const std::string& v) { e->set_class_weighting(v); });
}

// Derived fields: objective.metric_class and evaluation.progress_metric.
void FillDerived(v1::ExperimentSpec* spec) {
  v1::ObjectiveSpec* ob = spec->mutable_objective();
  int metric_class = 0;
  absl::string_view metric = ob->metric();
  if (absl::ConsumePrefix(&metric, kRecallMetricPrefix)) {
    absl::StatusOr<int> c =
        ResolveRecallClass(metric, spec->evaluation().data());
    if (c.ok()) metric_class = *c;  // else refused by validation
  }
  ob->set_metric_class(metric_class);
  spec->mutable_evaluation()->set_progress_metric(
      CanonicalObjectiveMetric(*ob));
}

// evaluation's training settings (the mode is set before).
void FillTraining(v1::EvaluationSpec* e, const Filler& fill) {
  FillData(e, fill);
  fill("spec.evaluation.epochs", e->epochs(), 3,
       [e](int v) { e->set_epochs(v); });
  fill("spec.evaluation.batch_size", e->batch_size(), 128,
       [e](int v) { e->set_batch_size(v); });
  fill("spec.evaluation.learning_rate", e->learning_rate(), 0.1,
       [e](double v) { e->set_learning_rate(v); });
  fill("spec.evaluation.momentum", e->momentum(), 0.9,
       [e](double v) { e->set_momentum(v); });
  fill("spec.evaluation.weight_decay", e->weight_decay(), 5e-4,
       [e](double v) { e->set_weight_decay(v); });
  fill("spec.evaluation.data_seed", e->data_seed(), int64_t{1},
       [e](int64_t v) { e->set_data_seed(v); });
  fill("spec.evaluation.latency_runs", e->latency_runs(), 30,
       [e](int v) { e->set_latency_runs(v); });
  // label_smoothing, random_crop_padding and horizontal_flip default to
  // 0/off, their proto defaults; nesterov has presence and defaults to on.
  if (!e->has_nesterov()) e->set_nesterov(true);
  if (e->precision().empty()) e->set_precision("auto");
}

// The options of the TABULAR, SUPERNET and COMMAND modes (training
// settings first).
void FillModeOptions(v1::EvaluationSpec* e, const Filler& fill) {
  if (e->mode() == v1::COMMAND) {
    v1::CommandOptions* c = e->mutable_command();
    fill("spec.evaluation.command.timeout_seconds", c->timeout_seconds(), 3600,
         [c](int v) { c->set_timeout_seconds(v); });
    fill("spec.evaluation.command.grace_seconds", c->grace_seconds(), 10,
         [c](int v) { c->set_grace_seconds(v); });
  }
  if (e->mode() == v1::TABULAR) {
    v1::TabularOptions* t = e->mutable_tabular();
    fill("spec.evaluation.tabular.key_column", t->key_column(),
         std::string("arch"),
         [t](const std::string& v) { t->set_key_column(v); });
    fill("spec.evaluation.tabular.cost_scale", t->cost_scale(), 1.0,
         [t](double v) { t->set_cost_scale(v); });
    fill("spec.evaluation.tabular.accuracy_scale", t->accuracy_scale(), 0.01,
         [t](double v) { t->set_accuracy_scale(v); });
    fill("spec.evaluation.tabular.macs_scale", t->macs_scale(), 1.0,
         [t](double v) { t->set_macs_scale(v); });
    fill("spec.evaluation.tabular.params_scale", t->params_scale(), 1.0,
         [t](double v) { t->set_params_scale(v); });
  }
  if (e->mode() == v1::SUPERNET) {
    v1::SupernetOptions* n = e->mutable_supernet();
    // A supernet trains each op on a fraction of the steps: measured on
    // Fashion-MNIST, 5 epochs ranked no better than chance and 25 epochs
    // reached Kendall tau 0.5 against 5-epoch standalone training
    // (docs/BENCHMARKS.md, supernet_ranking).
    fill("spec.evaluation.supernet.epochs", n->epochs(),
         std::min(1000, 5 * e->epochs()), [n](int v) { n->set_epochs(v); });
    fill("spec.evaluation.supernet.calibration_batches",
         n->calibration_batches(), 20,
         [n](int v) { n->set_calibration_batches(v); });
    fill("spec.evaluation.supernet.finetune_learning_rate",
         n->finetune_learning_rate(), e->learning_rate() / 10,
         [n](double v) { n->set_finetune_learning_rate(v); });
  }
}

// evaluation.zero_cost (mode ZERO_COST, or proxy-guided evolution's
// screening trials).
void FillZeroCost(v1::ZeroCostOptions* z, const Filler& fill) {
  if (z->proxies().empty() &&
      !fill.Written("spec.evaluation.zero_cost.proxies")) {
    for (const std::string& name : ZeroCostProxyNames()) z->add_proxies(name);
  }
  fill("spec.evaluation.zero_cost.batches", z->batches(), 1,
       [z](int v) { z->set_batches(v); });
  fill("spec.evaluation.zero_cost.batch_size", z->batch_size(), 64,
       [z](int v) { z->set_batch_size(v); });
}

}  // namespace

const std::vector<std::string>& ZeroCostProxyNames() {
  static const auto* names =
      new std::vector<std::string>{"synflow", "jacob_cov", "snip", "grad_norm"};
  return *names;
}

bool IsZeroCostProxy(absl::string_view name) {
  const std::vector<std::string>& names = ZeroCostProxyNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

v1::DataSpec PresetData(absl::string_view dataset, absl::string_view data_dir) {
  v1::DataSpec d;
  if (dataset != "fashion_mnist") return d;
  d.set_format("idx");
  auto file = [&](const char* name) {
    return absl::StrCat(data_dir, "/", name);
  };
  d.mutable_train()->set_images(file("train-images-idx3-ubyte.gz"));
  d.mutable_train()->set_labels(file("train-labels-idx1-ubyte.gz"));
  d.mutable_test()->set_images(file("t10k-images-idx3-ubyte.gz"));
  d.mutable_test()->set_labels(file("t10k-labels-idx1-ubyte.gz"));
  d.set_height(28);
  d.set_width(28);
  d.set_channels(1);
  d.set_classes(10);
  for (const char* name :
       {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
        "Shirt", "Sneaker", "Bag", "Ankle boot"}) {
    d.add_class_names(name);
  }
  d.set_normalization("explicit");
  d.add_mean(0.2860);
  d.add_std(0.3530);
  return d;
}

void ApplySpecDefaults(v1::ExperimentSpec* spec,
                       const std::map<std::string, int>* present) {
  const Filler fill(present);
  FillStrategy(spec->mutable_strategy(), fill);
  fill("spec.duplicates", spec->duplicates(), std::string("reuse"),
       [spec](const std::string& v) { spec->set_duplicates(v); });
  FillObjective(spec->mutable_objective(), fill,
                spec->evaluation().mode() == v1::ZERO_COST);
  FillBudgetAndTrials(spec, fill);
  FillSearchSpace(spec, fill);
  v1::EvaluationSpec* e = spec->mutable_evaluation();
  if (e->mode() == v1::EVALUATION_MODE_UNSPECIFIED) e->set_mode(v1::FULL);
  FillEarlyStopping(spec, fill);
  FillTraining(e, fill);
  FillModeOptions(e, fill);
  if (e->mode() == v1::ZERO_COST ||
      spec->strategy().evolution().proxy().children() > 0) {
    FillZeroCost(e->mutable_zero_cost(), fill);
  }
  FillDerived(spec);
  if (spec->final().top_k() > 0) {
    auto* f = spec->mutable_final();
    fill("spec.final.epochs", f->epochs(), e->epochs(),
         [f](int v) { f->set_epochs(v); });
  }
}

}  // namespace nas
