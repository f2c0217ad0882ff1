#include "common/spec/validate_sections.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/objective.h"
#include "common/spaces/custom_space.h"
#include "common/spaces/mobilenet_space.h"
#include "common/spaces/search_space.h"
#include "common/spec/defaults.h"
#include "common/spec/validate.h"
#include "common/trainers.h"
#include "google/protobuf/util/message_differencer.h"

namespace nas {
namespace {

constexpr int kMaxTrials = 1000000;
// Largest evaluation.random_crop_padding (pixels per side).
constexpr int kMaxRandomCropPadding = 8;
// Limits of evaluation.data's sources and class names.
constexpr size_t kMaxDataPath = 4096;
constexpr int kMaxDataFiles = 1000;
constexpr size_t kMaxClassName = 128;
// Limits of evaluation.command (mode COMMAND).
constexpr int kMaxCommandParameters = 64;
constexpr size_t kMaxParameterKey = 64;
constexpr size_t kMaxParameterValue = 1024;
constexpr int kMaxCommandTimeout = 604800;  // a week
constexpr int kMaxCommandGrace = 600;
// Longest named metric (objective.metric with mode COMMAND).
constexpr size_t kMaxNamedMetric = 64;
// Longest user text echoed in a message.
constexpr size_t kMaxEchoed = 64;

std::string Echo(absl::string_view s) {
  if (s.size() <= kMaxEchoed) return std::string(s);
  return absl::StrCat(s.substr(0, kMaxEchoed), "...");
}

bool IsCustom(const v1::ExperimentSpec& spec) {
  return spec.search_space().name() == "custom";
}

// [A-Za-z_] then [A-Za-z0-9_] (plus '.' when `dots`), 1 to `max` chars.
bool IsIdentifier(absl::string_view s, size_t max, bool dots) {
  if (s.empty() || s.size() > max) return false;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(s[0])) && s[0] != '_') {
    return false;
  }
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        !(dots && c == '.')) {
      return false;
    }
  }
  return true;
}

bool HasSource(const v1::DataSource& s) {
  return !s.images().empty() || !s.labels().empty() || !s.files().empty() ||
         !s.dir().empty();
}

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

// Strategy darts searches the nb201 cell and trains its derived cells
// standalone (FULL, EARLY_STOPPED) or looks them up (TABULAR).
void ValidateDarts(const v1::ExperimentSpec& spec, FieldErrorList* errors) {
  const v1::DartsOptions& d = spec.strategy().darts();
  const std::string p = "spec.strategy.darts.";
  if (d.method() != "darts" && d.method() != "beta_darts") {
    errors->Add(p + "method", absl::StrCat("unknown method '", Echo(d.method()),
                                           "' (one of: darts, beta_darts)"));
  }
  if (d.seeds() < 1 || d.seeds() > 64) {
    errors->Add(p + "seeds",
                absl::StrCat("must be in [1, 64], got ", d.seeds()));
  }
  if (d.epochs() < 1 || d.epochs() > 1000) {
    errors->Add(p + "epochs",
                absl::StrCat("must be in [1, 1000], got ", d.epochs()));
  }
  if (!(d.arch_learning_rate() > 0 && d.arch_learning_rate() <= 1)) {
    errors->Add(
        p + "arch_learning_rate",
        absl::StrCat("must be in (0, 1], got ", d.arch_learning_rate()));
  }
  if (!(d.arch_weight_decay() >= 0 && d.arch_weight_decay() <= 1)) {
    errors->Add(p + "arch_weight_decay",
                absl::StrCat("must be in [0, 1], got ", d.arch_weight_decay()));
  }
  if (!(d.beta_weight() >= 0 && d.beta_weight() <= 1000)) {
    errors->Add(p + "beta_weight",
                absl::StrCat("must be in [0, 1000], got ", d.beta_weight()));
  }
  if (d.checkpoint_every() < 0) {
    errors->Add(p + "checkpoint_every", "must be >= 0 (0 = never)");
  }
  if (spec.search_space().name() != "nb201") {
    errors->Add("spec.search_space.name",
                absl::StrCat("strategy darts searches the nb201 cell; got '",
                             Echo(spec.search_space().name()), "'"));
  }
  const v1::EvaluationMode mode = spec.evaluation().mode();
  if (mode != v1::FULL && mode != v1::EARLY_STOPPED && mode != v1::TABULAR &&
      mode != v1::EVALUATION_MODE_UNSPECIFIED) {
    errors->Add("spec.evaluation.mode",
                absl::StrCat("strategy darts trains its derived cells "
                             "standalone: FULL, EARLY_STOPPED or TABULAR, "
                             "not ",
                             v1::EvaluationMode_Name(mode)));
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

// evaluation.command (mode COMMAND): the trainer, its parameters and the
// run's time limits.
void ValidateCommand(const v1::CommandOptions& c, FieldErrorList* errors) {
  const std::string p = "spec.evaluation.command.";
  if (c.trainer().empty()) {
    errors->Add(p + "trainer",
                "required with evaluation.mode COMMAND: the name of a trainer "
                "a worker was started with (nas-worker --trainer=NAME=PATH)");
  } else if (!IsValidTrainerName(c.trainer())) {
    errors->Add(p + "trainer",
                absl::StrCat("'", Echo(c.trainer()),
                             "' must be 1 to 64 letters, digits, '_', '-' or "
                             "'.', not starting with '.' or '-'"));
  }
  if (c.parameters_size() > kMaxCommandParameters) {
    errors->Add(p + "parameters",
                absl::StrCat("at most ", kMaxCommandParameters,
                             " parameters, got ", c.parameters_size()));
  } else {
    // In key order, so that the errors come in a fixed order.
    const std::map<std::string, std::string> sorted(c.parameters().begin(),
                                                    c.parameters().end());
    for (const auto& [key, value] : sorted) {
      const std::string path = absl::StrCat(p, "parameters.", Echo(key));
      if (!IsIdentifier(key, kMaxParameterKey, /*dots=*/false)) {
        errors->Add(path, absl::StrCat("parameter names are a letter or '_' "
                                       "then letters, digits or '_', at "
                                       "most ",
                                       kMaxParameterKey, " characters"));
      } else if (value.size() > kMaxParameterValue) {
        errors->Add(path, absl::StrCat("at most ", kMaxParameterValue,
                                       " bytes, got ", value.size()));
      } else if (std::string bad = PrintableTextProblem(value); !bad.empty()) {
        errors->Add(path, bad);
      }
    }
  }
  if (c.timeout_seconds() < 1 || c.timeout_seconds() > kMaxCommandTimeout) {
    errors->Add(p + "timeout_seconds",
                absl::StrCat("must be in [1, ", kMaxCommandTimeout, "], got ",
                             c.timeout_seconds()));
  }
  if (c.grace_seconds() < 1 || c.grace_seconds() > kMaxCommandGrace) {
    errors->Add(p + "grace_seconds",
                absl::StrCat("must be in [1, ", kMaxCommandGrace, "], got ",
                             c.grace_seconds()));
  }
}

// objective.metric with mode COMMAND, beyond the built-in names: a metric
// the trainer reports by name. "" when `metric` is one, else why not.
std::string NamedMetricProblem(const std::string& metric) {
  if (!IsIdentifier(metric, kMaxNamedMetric, /*dots=*/true)) {
    return absl::StrCat(
        "unknown metric '", Echo(metric),
        "' (a built-in one: ", absl::StrJoin(ObjectiveMetricNames(), ", "),
        ", ", kRecallMetricPrefix,
        "<class>; or a metric your trainer reports: a letter or '_' then "
        "letters, digits, '_' or '.', at most ",
        kMaxNamedMetric, " characters)");
  }
  if (absl::StartsWith(metric, "test_")) {
    return absl::StrCat("'", metric,
                        "' is a test metric; the search never uses test "
                        "metrics (name a validation metric)");
  }
  if (IsCostMetric(metric)) {
    return absl::StrCat("'", metric,
                        "' is a cost: minimize it with objective.minimize, or "
                        "use it in objective.reward");
  }
  return "";
}

// objective.metric: a validation metric; val_recall's class must exist;
// with mode COMMAND also a named metric the trainer reports.
void ValidateObjectiveMetric(const v1::ExperimentSpec& spec,
                             FieldErrorList* errors) {
  const std::string& metric = spec.objective().metric();
  // Mode ZERO_COST ranks by a proxy (ValidateZeroCost).
  if (spec.evaluation().mode() == v1::ZERO_COST) return;
  if (metric.empty() || metric == "val_accuracy") return;
  const std::vector<std::string>& names = ObjectiveMetricNames();
  absl::string_view x = metric;
  if (absl::ConsumePrefix(&x, kRecallMetricPrefix)) {
    absl::StatusOr<int> c = ResolveRecallClass(x, spec.evaluation().data());
    if (!c.ok()) {
      errors->Add("spec.objective.metric", std::string(c.status().message()));
    }
  } else if (std::find(names.begin(), names.end(), metric) != names.end()) {
    // built-in
  } else if (spec.evaluation().mode() == v1::COMMAND) {
    if (std::string bad = NamedMetricProblem(metric); !bad.empty()) {
      errors->Add("spec.objective.metric", bad);
    }
    return;
  } else {
    errors->Add("spec.objective.metric",
                absl::StrCat("unknown metric '", Echo(metric),
                             "' (one of: ", absl::StrJoin(names, ", "), ", ",
                             kRecallMetricPrefix,
                             "<class>); a metric your trainer reports by "
                             "name needs evaluation.mode COMMAND"));
    return;
  }
  if (spec.evaluation().mode() == v1::TABULAR) {
    errors->Add("spec.objective.metric",
                absl::StrCat("evaluation.mode TABULAR reports only "
                             "val_accuracy, not ",
                             metric));
  }
}

// train_samples, val_samples, test_samples: the preset's sizes are known
// (60000 training, 10000 test images); a user's dataset's are not.
void ValidateSampleCounts(const v1::EvaluationSpec& e, FieldErrorList* errors) {
  const std::string p = "spec.evaluation.";
  if (e.dataset() == "fashion_mnist") {
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
    return;
  }
  if (e.val_samples() < 0) {
    errors->Add(p + "val_samples",
                "must be >= 0 (0 = data.validation_fraction)");
  } else if (e.val_samples() > 0 && HasSource(e.data().validation())) {
    errors->Add(p + "val_samples",
                "holds images of the training set out for validation; not "
                "together with data.validation (your own validation set)");
  }
  if (e.train_samples() < 0) {
    errors->Add(p + "train_samples", "must be >= 0 (0 = all)");
  }
  if (e.test_samples() < 0) {
    errors->Add(p + "test_samples", "must be >= 0 (0 = all)");
  }
}

// A path of a data source: absolute, at most kMaxDataPath bytes.
void ValidateDataPath(const std::string& path, const std::string& value,
                      FieldErrorList* errors) {
  if (value.size() > kMaxDataPath) {
    errors->Add(path, absl::StrCat("at most ", kMaxDataPath, " bytes, got ",
                                   value.size()));
  } else if (value.empty() || value[0] != '/') {
    errors->Add(path, absl::StrCat("must be an absolute path (on the "
                                   "worker's machine), got '",
                                   value, "'"));
  }
}

// One data source (train, validation or test) for `format`: the fields the
// format reads are required, the others refused.
void ValidateDataSource(const v1::DataSource& s, const std::string& path,
                        const std::string& format, FieldErrorList* errors) {
  const bool pairs = format == "idx" || format == "npy";
  const bool cifar = format == "cifar10" || format == "cifar100";
  const bool folder = format == "image_folder";
  const char* reads = pairs ? "images and labels" : cifar ? "files" : "dir";
  auto field = [&](const char* name, bool used, bool set,
                   const std::string& value) {
    const std::string fp = absl::StrCat(path, ".", name);
    if (!used) {
      if (set) {
        errors->Add(fp, absl::StrCat("not used by format ", format,
                                     " (it reads ", reads, ")"));
      }
      return;
    }
    if (!set) {
      errors->Add(fp, absl::StrCat("required for format ", format));
      return;
    }
    if (!value.empty()) ValidateDataPath(fp, value, errors);
  };
  field("images", pairs, !s.images().empty(), s.images());
  field("labels", pairs, !s.labels().empty(), s.labels());
  field("dir", folder, !s.dir().empty(), s.dir());
  field("files", cifar, !s.files().empty(), "");
  if (cifar) {
    if (s.files_size() > kMaxDataFiles) {
      errors->Add(path + ".files",
                  absl::StrCat("at most ", kMaxDataFiles, " files, got ",
                               s.files_size()));
    } else {
      for (int i = 0; i < s.files_size(); ++i) {
        ValidateDataPath(absl::StrCat(path, ".files[", i, "]"), s.files(i),
                         errors);
      }
    }
  }
}

// data.class_names: empty, or `classes` distinct non-empty names.
void ValidateClassNames(const v1::DataSpec& d, FieldErrorList* errors) {
  const std::string p = "spec.evaluation.data.class_names";
  if (d.class_names().empty()) return;
  if (d.class_names_size() != d.classes()) {
    errors->Add(p, absl::StrCat("needs exactly data.classes (", d.classes(),
                                ") names, got ", d.class_names_size()));
    return;
  }
  std::set<std::string> seen;
  for (int i = 0; i < d.class_names_size(); ++i) {
    const std::string& n = d.class_names(i);
    const std::string path = absl::StrCat(p, "[", i, "]");
    if (n.empty() || n.size() > kMaxClassName) {
      errors->Add(path, absl::StrCat("must be 1 to ", kMaxClassName,
                                     " bytes, got ", n.size()));
    } else if (!seen.insert(n).second) {
      errors->Add(path, absl::StrCat("'", n, "' repeated"));
    }
  }
}

// data.normalization with mean and std.
void ValidateNormalization(const v1::DataSpec& d, FieldErrorList* errors) {
  const std::string p = "spec.evaluation.data.";
  const std::string& n = d.normalization();
  if (n != "auto" && n != "explicit" && n != "none") {
    errors->Add(p + "normalization",
                absl::StrCat("unknown normalization '", n,
                             "' (one of: auto, explicit, none)"));
    return;
  }
  auto values = [&](const char* field,
                    const google::protobuf::RepeatedField<double>& v,
                    bool positive) {
    if (n != "explicit") {
      if (!v.empty()) {
        errors->Add(
            p + field,
            absl::StrCat("only with normalization explicit (it is ", n, ")"));
      }
      return;
    }
    if (v.size() != 1 && v.size() != d.channels()) {
      errors->Add(p + field, absl::StrCat("needs 1 value or one per channel (",
                                          d.channels(), "), got ", v.size()));
      return;
    }
    for (int i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i]) || (positive && !(v[i] > 0))) {
        errors->Add(absl::StrCat(p, field, "[", i, "]"),
                    absl::StrCat(positive ? "must be a finite number > 0"
                                          : "must be a finite number",
                                 ", got ", v[i]));
      }
    }
  };
  values("mean", d.mean(), false);
  values("std", d.std(), true);
}

// The user's evaluation.data (defaults applied).
void ValidateDataSpec(const v1::EvaluationSpec& e, FieldErrorList* errors) {
  const v1::DataSpec& d = e.data();
  const std::string p = "spec.evaluation.data.";
  static const std::set<std::string>* kFormats = new std::set<std::string>{
      "idx", "cifar10", "cifar100", "npy", "image_folder"};
  if (d.format().empty()) {
    errors->Add(p + "format",
                "required (one of: idx, cifar10, cifar100, npy, "
                "image_folder)");
  } else if (kFormats->count(d.format()) == 0) {
    errors->Add(p + "format",
                absl::StrCat("unknown format '", d.format(),
                             "'; one of idx, cifar10, cifar100, npy, "
                             "image_folder"));
  } else {
    ValidateDataSource(d.train(), p + "train", d.format(), errors);
    if (HasSource(d.validation())) {
      ValidateDataSource(d.validation(), p + "validation", d.format(), errors);
    }
    ValidateDataSource(d.test(), p + "test", d.format(), errors);
  }
  if (d.height() < 1 || d.height() > kMaxDataSide) {
    errors->Add(p + "height", absl::StrCat("must be in [1, ", kMaxDataSide,
                                           "], got ", d.height()));
  }
  if (d.width() < 1 || d.width() > kMaxDataSide) {
    errors->Add(p + "width", absl::StrCat("must be in [1, ", kMaxDataSide,
                                          "], got ", d.width()));
  }
  if (d.channels() != 1 && d.channels() != 3) {
    errors->Add(
        p + "channels",
        absl::StrCat("must be 1 (grey) or 3 (RGB), got ", d.channels()));
  }
  if (d.classes() < 2 || d.classes() > kMaxDataClasses) {
    errors->Add(p + "classes", absl::StrCat("must be in [2, ", kMaxDataClasses,
                                            "], got ", d.classes()));
  } else {
    ValidateClassNames(d, errors);
  }
  ValidateNormalization(d, errors);
  const double f = d.validation_fraction();
  if (HasSource(d.validation())) {
    if (f != 0) {
      errors->Add(p + "validation_fraction",
                  "not together with data.validation (your own validation "
                  "set)");
    }
  } else if (f != 0 && !(f > 0 && f < 1)) {
    errors->Add(p + "validation_fraction",
                absl::StrCat("must be in (0, 1), got ", f));
  } else if (f != 0 && e.val_samples() > 0) {
    errors->Add(p + "validation_fraction",
                "not together with evaluation.val_samples (a count)");
  } else if (f == 0 && e.val_samples() == 0) {
    errors->Add(p + "validation_fraction",
                "a validation set is needed: set data.validation, "
                "data.validation_fraction in (0, 1) or evaluation.val_samples");
  }
}

// evaluation.class_weighting and class_weights, for `classes` classes.
void ValidateClassWeights(const v1::EvaluationSpec& e, int classes,
                          FieldErrorList* errors) {
  const std::string p = "spec.evaluation.";
  const std::string& w = e.class_weighting();
  if (w != "none" && w != "auto" && w != "explicit") {
    errors->Add(p + "class_weighting",
                absl::StrCat("unknown class weighting '", w,
                             "' (one of: none, auto, explicit)"));
    return;
  }
  if (w != "explicit") {
    if (!e.class_weights().empty()) {
      errors->Add(
          p + "class_weights",
          absl::StrCat("only with class_weighting explicit (it is ", w, ")"));
    }
    return;
  }
  if (e.class_weights_size() != classes) {
    errors->Add(p + "class_weights",
                absl::StrCat("needs exactly data.classes (", classes,
                             ") weights, got ", e.class_weights_size()));
    return;
  }
  for (int i = 0; i < e.class_weights_size(); ++i) {
    const double v = e.class_weights(i);
    if (!(std::isfinite(v) && v > 0)) {
      errors->Add(absl::StrCat(p, "class_weights[", i, "]"),
                  absl::StrCat("must be a finite number > 0, got ", v));
    }
  }
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
  if (space == "custom") {
    for (const DecisionProblem& p : CheckCustomDecisions(spec.search_space())) {
      errors->Add("spec.search_space." + p.path, p.message);
    }
    return;
  }
  absl::StatusOr<const SearchSpace*> ss = GetSearchSpace(space);
  if (space.empty()) {
    errors->Add(
        "spec.search_space.name",
        absl::StrCat("required (one of: ",
                     absl::StrJoin(SearchSpaceNames(), ", "), ", custom)"));
  } else if (!ss.ok()) {
    errors->Add("spec.search_space.name", std::string(ss.status().message()));
  }
  if (!spec.search_space().decisions().empty()) {
    errors->Add(
        "spec.search_space.decisions",
        absl::StrCat("only for name: custom (a space you declare); ",
                     "the space '", Echo(space), "' has its own decisions"));
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
  } else if (strategy.name() == "darts") {
    ValidateDarts(spec, errors);
  } else if (strategy.name() != "random") {
    errors->Add("spec.strategy.name",
                absl::StrCat("unknown strategy '", strategy.name(),
                             "' (implemented: random, evolution, reinforce, "
                             "darts)"));
  }
  if (strategy.seed() < 0) errors->Add("spec.strategy.seed", "must be >= 0");
}

void ValidateObjective(const v1::ExperimentSpec& spec, FieldErrorList* errors) {
  const v1::ObjectiveSpec& ob = spec.objective();
  ValidateObjectiveMetric(spec, errors);
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
  if (IsCustom(spec)) {
    // Hard constraints are checked before dispatch, on analytic costs.
    const char* kWhy =
        "a custom space has no analytic cost before training, so hard "
        "constraints cannot be checked; minimize it instead "
        "(objective.minimize, with your trainer reporting it)";
    if (constraints.max_macs() > 0) {
      errors->Add("spec.objective.constraints.max_macs", kWhy);
    }
    if (constraints.max_params() > 0) {
      errors->Add("spec.objective.constraints.max_params", kWhy);
    }
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
                "final re-training needs evaluation.mode FULL, EARLY_STOPPED, "
                "SUPERNET or COMMAND");
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
      e.mode() != v1::TABULAR && e.mode() != v1::SUPERNET &&
      e.mode() != v1::COMMAND && e.mode() != v1::ZERO_COST) {
    errors->Add("spec.evaluation.mode",
                "must be FULL, EARLY_STOPPED, SUPERNET, TABULAR, COMMAND or "
                "ZERO_COST");
  } else if (IsCustom(spec) && e.mode() != v1::COMMAND &&
             e.mode() != v1::TABULAR && e.mode() != v1::ZERO_COST) {
    errors->Add(
        "spec.evaluation.mode",
        absl::StrCat("a custom space's candidates are built and trained by "
                     "your trainer (evaluation.mode: COMMAND) or looked up "
                     "in a table (TABULAR), not by mode ",
                     v1::EvaluationMode_Name(e.mode())));
  }
  if (e.mode() == v1::COMMAND) {
    ValidateCommand(e.command(), errors);
  } else if (e.has_command()) {
    errors->Add("spec.evaluation.command",
                "set evaluation.mode to COMMAND to run a trainer");
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
  if (!early_stopped && spec.evaluation().mode() != v1::COMMAND) {
    errors->Add("spec.early_stopping.rule",
                "set evaluation.mode to EARLY_STOPPED (or COMMAND) to use "
                "early stopping");
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
  ValidateSampleCounts(e, errors);
  if (e.latency_runs() < 30 || e.latency_runs() > 100000) {
    errors->Add(p + "latency_runs", "must be in [30, 100000]");
  }
  if (!(e.label_smoothing() >= 0 && e.label_smoothing() < 1)) {
    errors->Add(p + "label_smoothing", "must be in [0, 1)");
  }
  if (!e.precision().empty() && e.precision() != "auto" &&
      e.precision() != "fp32" && e.precision() != "fp16" &&
      e.precision() != "bf16") {
    errors->Add(p + "precision", absl::StrCat("'", e.precision(),
                                              "' is not one of auto, fp32, "
                                              "fp16, bf16"));
  }
  if (e.random_crop_padding() < 0 ||
      e.random_crop_padding() > kMaxRandomCropPadding) {
    errors->Add(
        p + "random_crop_padding",
        absl::StrCat("must be in [0, ", kMaxRandomCropPadding, "] (0 = off)"));
  }
}

}  // namespace nas

namespace nas {

void ValidateData(const v1::ExperimentSpec& spec, FieldErrorList* errors) {
  const v1::EvaluationSpec& e = spec.evaluation();
  const std::string p = "spec.evaluation.";
  if (!e.dataset().empty()) {
    if (e.dataset() != "fashion_mnist") {
      errors->Add(p + "dataset",
                  absl::StrCat("unknown dataset '", e.dataset(),
                               "' (known: fashion_mnist; describe your own "
                               "with evaluation.data)"));
      return;
    }
    if (!google::protobuf::util::MessageDifferencer::Equals(
            e.data(), PresetData(e.dataset(), e.data_dir()))) {
      errors->Add(p + "dataset",
                  "set either dataset (a preset) or data (your own "
                  "dataset), not both");
      return;
    }
  } else if (!e.has_data()) {
    errors->Add(p + "data",
                "required when evaluation.dataset is empty (docs/SPEC.md)");
    return;
  } else {
    if (!e.data_dir().empty()) {
      errors->Add(p + "data_dir",
                  "only for a preset dataset; evaluation.data names its "
                  "files by absolute paths");
    }
    ValidateDataSpec(e, errors);
  }
  ValidateClassWeights(e, e.data().classes(), errors);
}

}  // namespace nas
