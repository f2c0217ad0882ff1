#include "common/spec/validate_sections.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/objective.h"
#include "common/spaces/mobilenet_space.h"
#include "common/spaces/search_space.h"
#include "common/spec/validate.h"

namespace nas {
namespace {

constexpr int kMaxTrials = 1000000;
// Largest evaluation.random_crop_padding (pixels per side).
constexpr int kMaxRandomCropPadding = 8;

void ValidateNb201(const v1::Nb201Options& nb, FieldErrorList* errors) {
  if (nb.channels() < 1 || nb.channels() > 1024) {
    errors->Add("spec.search_space.nb201.channels", "must be in [1, 1024]");
  }
  if (nb.cells_per_stage() < 1 || nb.cells_per_stage() > 32) {
    errors->Add("spec.search_space.nb201.cells_per_stage",
                "must be in [1, 32]");
  }
}

void ValidateMobileNet(const v1::MobileNetOptions& mb, FieldErrorList* errors) {
  const std::string p = "spec.search_space.mobilenet.";
  if (!(mb.width_multiplier() > 0 && mb.width_multiplier() <= 4)) {
    errors->Add(p + "width_multiplier", "must be in (0, 4]");
  }
  auto range = [&](const std::string& field, int64_t v, int64_t lo,
                   int64_t hi) {
    if (v < lo || v > hi) {
      errors->Add(p + field, absl::StrCat("must be in [", lo, ", ", hi, "]"));
    }
  };
  range("stem_channels", mb.stem_channels(), 1, 1024);
  range("stem_stride", mb.stem_stride(), 1, 2);
  range("head_channels", mb.head_channels(), 1, 4096);
  range("channel_divisor", mb.channel_divisor(), 1, 64);
  auto list = [&](const std::string& field,
                  const google::protobuf::RepeatedField<int32_t>& v, int64_t lo,
                  int64_t hi) {
    if (v.size() != kMobileNetStages) {
      errors->Add(p + field,
                  absl::StrCat("needs exactly ", kMobileNetStages,
                               " entries (one per stage), got ", v.size()));
      return;
    }
    for (int i = 0; i < v.size(); ++i) {
      range(absl::StrCat(field, "[", i, "]"), v[i], lo, hi);
    }
  };
  list("stage_channels", mb.stage_channels(), 1, 1024);
  list("stage_strides", mb.stage_strides(), 1, 2);
}

void ValidateEvolution(const v1::EvolutionOptions& evo,
                       FieldErrorList* errors) {
  if (evo.population() < 2 || evo.population() > 100000) {
    errors->Add("spec.strategy.evolution.population", "must be in [2, 100000]");
  } else if (evo.sample_size() < 1 || evo.sample_size() > evo.population()) {
    errors->Add("spec.strategy.evolution.sample_size",
                "must be in [1, population]");
  }
  if (evo.predictor() && !(evo.local_search() > 0)) {
    errors->Add(
        "spec.strategy.evolution.predictor",
        "only guides local-search steps: set evolution.local_search > 0");
  }
  if (!(evo.local_search() >= 0 && evo.local_search() <= 1)) {
    errors->Add("spec.strategy.evolution.local_search",
                absl::StrCat("must be a probability in [0, 1], got ",
                             evo.local_search()));
  }
}

void ValidateReinforce(const v1::ReinforceOptions& rl, FieldErrorList* errors) {
  const std::string p = "spec.strategy.reinforce.";
  if (!(rl.learning_rate() > 0 && rl.learning_rate() <= 1)) {
    errors->Add(p + "learning_rate",
                absl::StrCat("must be in (0, 1], got ", rl.learning_rate()));
  }
  if (!(rl.entropy_weight() >= 0 && rl.entropy_weight() <= 10)) {
    errors->Add(p + "entropy_weight",
                absl::StrCat("must be in [0, 10], got ", rl.entropy_weight()));
  }
  if (!(rl.baseline_decay() >= 0 && rl.baseline_decay() < 1)) {
    errors->Add(p + "baseline_decay",
                absl::StrCat("must be in [0, 1), got ", rl.baseline_decay()));
  }
  if (rl.hidden_size() < 1 || rl.hidden_size() > 1024) {
    errors->Add(p + "hidden_size",
                absl::StrCat("must be in [1, 1024], got ", rl.hidden_size()));
  }
}

// objective.ranking, which may exclude a reward or a strategy.
void ValidateRanking(const v1::ExperimentSpec& spec, const std::string& costs,
                     FieldErrorList* errors) {
  const v1::ObjectiveSpec& ob = spec.objective();
  if (ob.ranking() == "pareto") {
    if (ob.minimize_size() == 0) {
      errors->Add("spec.objective.minimize",
                  absl::StrCat("ranking: pareto needs at least one cost to "
                               "minimize (",
                               costs, ")"));
    }
    if (!ob.reward().metric().empty()) {
      errors->Add("spec.objective.ranking",
                  "pareto ranking and a scalar reward exclude each other; "
                  "drop objective.reward or use ranking: scalar");
    }
    if (spec.strategy().name() == "reinforce") {
      errors->Add("spec.objective.ranking",
                  "pareto ranking needs a population: use strategy "
                  "evolution or random, or a scalar reward "
                  "(objective.reward) with reinforce");
    }
  } else if (!ob.ranking().empty() && ob.ranking() != "scalar") {
    errors->Add(
        "spec.objective.ranking",
        absl::StrCat("unknown ranking '", ob.ranking(), "' (scalar, pareto)"));
  }
}

// objective.reward: an MnasNet-style reward on one cost.
void ValidateReward(const v1::MnasRewardSpec& r, const std::string& costs,
                    FieldErrorList* errors) {
  if (!r.metric().empty()) {
    if (!IsCostMetric(r.metric())) {
      errors->Add("spec.objective.reward.metric",
                  absl::StrCat("unknown cost '", r.metric(),
                               "' (one of: ", costs, ")"));
    }
    if (!(r.target() > 0 && std::isfinite(r.target()))) {
      errors->Add("spec.objective.reward.target",
                  absl::StrCat("must be > 0 (in the unit of ", r.metric(),
                               "), got ", r.target()));
    }
  } else if (r.target() != 0 || r.has_below_weight() || r.has_above_weight()) {
    errors->Add("spec.objective.reward.metric",
                absl::StrCat("required when objective.reward is set (one of: ",
                             costs, ")"));
  }
  if (r.has_below_weight() &&
      !(r.below_weight() >= -10 && r.below_weight() <= 0)) {
    errors->Add("spec.objective.reward.below_weight",
                absl::StrCat("must be in [-10, 0], got ", r.below_weight()));
  }
  if (r.has_above_weight() &&
      !(r.above_weight() >= -10 && r.above_weight() <= 0)) {
    errors->Add("spec.objective.reward.above_weight",
                absl::StrCat("must be in [-10, 0], got ", r.above_weight()));
  }
}

void ValidateSupernet(const v1::SupernetOptions& n, FieldErrorList* errors) {
  const std::string p = "spec.evaluation.supernet.";
  if (n.epochs() < 1 || n.epochs() > 1000) {
    errors->Add(p + "epochs",
                absl::StrCat("must be in [1, 1000], got ", n.epochs()));
  }
  if (n.calibration_batches() < 1 || n.calibration_batches() > 10000) {
    errors->Add(
        p + "calibration_batches",
        absl::StrCat("must be in [1, 10000], got ", n.calibration_batches()));
  }
  if (n.finetune_steps() < 0 || n.finetune_steps() > 1000000) {
    errors->Add(
        p + "finetune_steps",
        absl::StrCat("must be in [0, 1000000], got ", n.finetune_steps()));
  }
  if (!(std::isfinite(n.finetune_learning_rate()) &&
        n.finetune_learning_rate() > 0)) {
    errors->Add(p + "finetune_learning_rate",
                absl::StrCat("must be a finite number > 0, got ",
                             n.finetune_learning_rate()));
  }
}

// evaluation.tabular (mode TABULAR).
void ValidateTabular(const v1::TabularOptions& t, FieldErrorList* errors) {
  const std::string p = "spec.evaluation.tabular.";
  auto required = [&](const char* field, const std::string& v,
                      const char* example) {
    if (v.empty()) {
      errors->Add(p + field,
                  absl::StrCat("required with evaluation.mode TABULAR (e.g. ",
                               example, ")"));
    }
  };
  required("path", t.path(), "/data/nb201.csv");
  required("key_column", t.key_column(), "arch");
  required("val_column", t.val_column(), "cifar10_valid_acc_12ep");
  required("test_column", t.test_column(), "cifar10_test_acc");
  required("cost_column", t.cost_column(), "train_seconds_200ep");
  auto positive = [&](const char* field, double v) {
    if (!(std::isfinite(v) && v > 0)) {
      errors->Add(p + field,
                  absl::StrCat("must be a finite number > 0, got ", v));
    }
  };
  positive("cost_scale", t.cost_scale());
  positive("accuracy_scale", t.accuracy_scale());
  positive("macs_scale", t.macs_scale());
  positive("params_scale", t.params_scale());
}

}  // namespace

void ValidateName(const v1::ExperimentSpec& spec, FieldErrorList* errors) {
  if (spec.name().empty() || spec.name().size() > 128) {
    errors->Add("spec.name", "must be 1 to 128 characters");
  }
}

void ValidateSearchSpace(const v1::ExperimentSpec& spec,
                         FieldErrorList* errors) {
  const std::string& space = spec.search_space().name();
  absl::StatusOr<const SearchSpace*> ss = GetSearchSpace(space);
  if (space.empty()) {
    errors->Add("spec.search_space.name",
                absl::StrCat("required (one of: ",
                             absl::StrJoin(SearchSpaceNames(), ", "), ")"));
  } else if (!ss.ok()) {
    errors->Add("spec.search_space.name", std::string(ss.status().message()));
  }
  if (space == "nb201") ValidateNb201(spec.search_space().nb201(), errors);
  if (space == "mobilenet") {
    ValidateMobileNet(spec.search_space().mobilenet(), errors);
  }
}

void ValidateStrategy(const v1::ExperimentSpec& spec, FieldErrorList* errors) {
  const v1::StrategySpec& strategy = spec.strategy();
  if (strategy.name() == "evolution") {
    ValidateEvolution(strategy.evolution(), errors);
  } else if (strategy.name() == "reinforce") {
    ValidateReinforce(strategy.reinforce(), errors);
  } else if (strategy.name() != "random") {
    errors->Add("spec.strategy.name",
                absl::StrCat("unknown strategy '", strategy.name(),
                             "' (implemented: random, evolution, reinforce)"));
  }
  if (strategy.seed() < 0) errors->Add("spec.strategy.seed", "must be >= 0");
}

void ValidateObjective(const v1::ExperimentSpec& spec, FieldErrorList* errors) {
  const v1::ObjectiveSpec& ob = spec.objective();
  if (!ob.metric().empty() && ob.metric() != "val_accuracy") {
    errors->Add("spec.objective.metric", "only 'val_accuracy' is supported");
  }
  const std::string costs = absl::StrJoin(CostMetricNames(), ", ");
  for (int i = 0; i < ob.minimize_size(); ++i) {
    const std::string path = absl::StrCat("spec.objective.minimize[", i, "]");
    if (!IsCostMetric(ob.minimize(i))) {
      errors->Add(path, absl::StrCat("unknown objective '", ob.minimize(i),
                                     "' (one of: ", costs, ")"));
    }
    for (int j = 0; j < i; ++j) {
      if (ob.minimize(j) == ob.minimize(i)) {
        errors->Add(path, absl::StrCat("'", ob.minimize(i), "' repeated"));
      }
    }
  }
  ValidateRanking(spec, costs, errors);
  ValidateReward(ob.reward(), costs, errors);
}

void ValidateDuplicates(const v1::ExperimentSpec& spec,
                        FieldErrorList* errors) {
  if (!spec.duplicates().empty() && spec.duplicates() != "reuse" &&
      spec.duplicates() != "retrain") {
    errors->Add("spec.duplicates",
                absl::StrCat("unknown policy '", spec.duplicates(),
                             "' (reuse, retrain)"));
  }
}

void ValidateConstraints(const v1::ExperimentSpec& spec,
                         FieldErrorList* errors) {
  const v1::ConstraintsSpec& constraints = spec.objective().constraints();
  if (constraints.max_macs() < 0) {
    errors->Add("spec.objective.constraints.max_macs",
                "must be >= 0 (0 = no limit)");
  }
  if (constraints.max_params() < 0) {
    errors->Add("spec.objective.constraints.max_params",
                "must be >= 0 (0 = no limit)");
  }
}

void ValidateBudget(const v1::ExperimentSpec& spec, FieldErrorList* errors) {
  const v1::BudgetSpec& b = spec.budget();
  const double max_sim = b.max_simulated_seconds();
  if (!std::isfinite(max_sim) || max_sim < 0) {
    errors->Add(
        "spec.budget.max_simulated_seconds",
        absl::StrCat("must be a finite number >= 0 (0 = none), got ", max_sim));
  } else if (max_sim > 0 && spec.evaluation().mode() != v1::TABULAR) {
    errors->Add("spec.budget.max_simulated_seconds",
                "needs evaluation.mode TABULAR (only table lookups report "
                "simulated seconds)");
  }
  if (max_sim > 0 && b.max_trials() < 0) {
    errors->Add("spec.budget.max_trials",
                absl::StrCat("must be >= 0 (0 = no limit with "
                             "max_simulated_seconds), got ",
                             b.max_trials()));
  } else if (max_sim <= 0 && b.max_trials() <= 0) {
    errors->Add("spec.budget.max_trials",
                absl::StrCat("must be > 0 (or set budget.max_simulated_seconds"
                             "), got ",
                             b.max_trials()));
  } else if (b.max_trials() > kMaxTrials) {
    errors->Add("spec.budget.max_trials",
                absl::StrCat("must be <= ", kMaxTrials));
  }
  if (b.parallel_trials() < 1 || b.parallel_trials() > 10000) {
    errors->Add("spec.budget.parallel_trials", "must be in [1, 10000]");
  }
}

void ValidateTrialLifecycle(const v1::ExperimentSpec& spec,
                            FieldErrorList* errors) {
  if (spec.lease_seconds() < 1 || spec.lease_seconds() > 86400) {
    errors->Add("spec.lease_seconds", "must be in [1, 86400]");
  }
  if (spec.max_attempts() < 1 || spec.max_attempts() > 100) {
    errors->Add("spec.max_attempts", "must be in [1, 100]");
  }
  if (spec.keep_models() < 0 || spec.keep_models() > 100) {
    errors->Add("spec.keep_models", "must be in [0, 100]");
  }
}

void ValidateFinal(const v1::ExperimentSpec& spec, FieldErrorList* errors) {
  const v1::FinalTrainingSpec& f = spec.final();
  if (f.top_k() < 0 || f.top_k() > 20) {
    errors->Add("spec.final.top_k", "must be in [0, 20]");
    return;
  }
  if (f.top_k() == 0) return;
  if (spec.evaluation().mode() == v1::TABULAR) {
    // (SUPERNET re-trains the best candidates from scratch, FULL.)
    errors->Add("spec.final.top_k",
                "final re-training needs evaluation.mode FULL, EARLY_STOPPED "
                "or SUPERNET");
  }
  if (f.epochs() < 1 || f.epochs() > 1000) {
    errors->Add("spec.final.epochs", "must be in [1, 1000]");
  }
}

void ValidateRequiredLabels(const v1::ExperimentSpec& spec,
                            FieldErrorList* errors) {
  for (const auto& [k, v] : spec.required_labels()) {
    if (k.empty()) {
      errors->Add("spec.required_labels", "label names must be non-empty");
    }
  }
}

void ValidateEvaluationMode(const v1::ExperimentSpec& spec,
                            FieldErrorList* errors) {
  const v1::EvaluationSpec& e = spec.evaluation();
  if (e.mode() != v1::FULL && e.mode() != v1::EARLY_STOPPED &&
      e.mode() != v1::TABULAR && e.mode() != v1::SUPERNET) {
    errors->Add("spec.evaluation.mode",
                "must be FULL, EARLY_STOPPED, SUPERNET or TABULAR");
  }
  if (e.mode() == v1::SUPERNET) {
    ValidateSupernet(e.supernet(), errors);
  } else if (e.has_supernet()) {
    errors->Add("spec.evaluation.supernet",
                "set evaluation.mode to SUPERNET to use a supernet");
  }
  if (e.mode() == v1::TABULAR) {
    ValidateTabular(e.tabular(), errors);
  } else if (e.has_tabular()) {
    errors->Add("spec.evaluation.tabular",
                "set evaluation.mode to TABULAR to use a benchmark table");
  }
}

void ValidateEarlyStopping(const v1::ExperimentSpec& spec,
                           FieldErrorList* errors) {
  const v1::EarlyStoppingSpec& es = spec.early_stopping();
  const bool early_stopped = spec.evaluation().mode() == v1::EARLY_STOPPED;
  if (early_stopped && es.rule().empty()) {
    errors->Add(
        "spec.early_stopping.rule",
        "required when evaluation.mode is EARLY_STOPPED (median or asha)");
    return;
  }
  if (es.rule().empty()) return;
  if (!early_stopped) {
    errors->Add("spec.early_stopping.rule",
                "set evaluation.mode to EARLY_STOPPED to use early stopping");
  }
  if (es.rule() != "median" && es.rule() != "asha") {
    errors->Add("spec.early_stopping.rule",
                absl::StrCat("unknown rule '", es.rule(), "' (median, asha)"));
  }
  if (es.min_epochs() < 1) {
    errors->Add("spec.early_stopping.min_epochs", "must be >= 1");
  }
  if (es.min_trials() < 1) {
    errors->Add("spec.early_stopping.min_trials", "must be >= 1");
  }
  if (es.reduction_factor() < 2) {
    errors->Add("spec.early_stopping.reduction_factor", "must be >= 2");
  }
}

void ValidateTraining(const v1::ExperimentSpec& spec, FieldErrorList* errors) {
  const v1::EvaluationSpec& e = spec.evaluation();
  const std::string p = "spec.evaluation.";
  if (!DatasetShape(e.dataset()).ok()) {
    errors->Add(p + "dataset", absl::StrCat("unknown dataset '", e.dataset(),
                                            "' (known: fashion_mnist)"));
  }
  if (e.epochs() < 1 || e.epochs() > 10000) {
    errors->Add(p + "epochs", "must be in [1, 10000]");
  }
  if (e.batch_size() < 1 || e.batch_size() > 65536) {
    errors->Add(p + "batch_size", "must be in [1, 65536]");
  }
  if (!(e.learning_rate() > 0 && e.learning_rate() <= 10)) {
    errors->Add(p + "learning_rate", "must be in (0, 10]");
  }
  if (e.momentum() < 0 || e.momentum() >= 1) {
    errors->Add(p + "momentum", "must be in [0, 1)");
  }
  if (e.weight_decay() < 0 || e.weight_decay() > 1) {
    errors->Add(p + "weight_decay", "must be in [0, 1]");
  }
  if (e.val_samples() < 1 || e.val_samples() > 59000) {
    errors->Add(p + "val_samples", "must be in [1, 59000]");
  }
  if (e.train_samples() < 0 || e.train_samples() + e.val_samples() > 60000) {
    errors->Add(p + "train_samples",
                "must be >= 0 and train_samples + val_samples <= 60000");
  }
  if (e.test_samples() < 0 || e.test_samples() > 10000) {
    errors->Add(p + "test_samples", "must be in [0, 10000] (0 = all)");
  }
  if (e.latency_runs() < 30 || e.latency_runs() > 100000) {
    errors->Add(p + "latency_runs", "must be in [30, 100000]");
  }
  if (!(e.label_smoothing() >= 0 && e.label_smoothing() < 1)) {
    errors->Add(p + "label_smoothing", "must be in [0, 1)");
  }
  if (e.random_crop_padding() < 0 ||
      e.random_crop_padding() > kMaxRandomCropPadding) {
    errors->Add(
        p + "random_crop_padding",
        absl::StrCat("must be in [0, ", kMaxRandomCropPadding, "] (0 = off)"));
  }
}

}  // namespace nas
