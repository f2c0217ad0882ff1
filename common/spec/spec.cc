#include "common/spec/spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/spaces/mobilenet_space.h"
#include "common/objective.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace nas {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr int kMaxTrials = 1000000;
// Largest evaluation.random_crop_padding (pixels per side).
constexpr int kMaxRandomCropPadding = 8;
// Longest user text (a value, a key) echoed in an error message.
constexpr size_t kMaxEchoed = 64;

// `s` for an error message: cut to kMaxEchoed bytes ("..." marks the cut).
std::string Echo(absl::string_view s) {
  if (s.size() <= kMaxEchoed) return std::string(s);
  return absl::StrCat(s.substr(0, kMaxEchoed), "...");
}

class YamlToProto {
 public:
  explicit YamlToProto(ParsedSpec* out) : out_(out) {}

  void FillMessage(const YAML::Node& node, Message* msg,
                   const std::string& path) {
    if (!node.IsMap()) {
      Error(path, node, "expected a mapping of fields");
      return;
    }
    const Descriptor* desc = msg->GetDescriptor();
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      const std::string field_path = path + "." + Echo(key);
      out_->lines[field_path] = kv.first.Mark().line + 1;
      const FieldDescriptor* fd = desc->FindFieldByName(key);
      if (fd == nullptr) {
        if (Full()) {  // listing the known fields again costs for nothing
          ++unlisted;
          continue;
        }
        std::vector<std::string> known;
        for (int i = 0; i < desc->field_count(); ++i) {
          known.push_back(desc->field(i)->name());
        }
        Error(field_path, kv.first,
              absl::StrCat("unknown field (known: ", absl::StrJoin(known, ", "),
                           ")"));
        continue;
      }
      FillField(kv.second, msg, fd, field_path);
    }
  }

  std::vector<FieldError> errors;  // the first kMaxListedErrors
  size_t unlisted = 0;             // errors beyond those

 private:
  bool Full() const { return errors.size() >= kMaxListedErrors; }

  void Error(const std::string& path, const YAML::Node& node,
             const std::string& message) {
    if (Full()) {
      ++unlisted;
      return;
    }
    errors.push_back({path, message, node.Mark().line + 1});
  }

  void FillField(const YAML::Node& node, Message* msg,
                 const FieldDescriptor* fd, const std::string& path) {
    const Reflection* refl = msg->GetReflection();
    if (node.IsNull()) return;  // "key:" with no value = unset
    if (fd->is_map()) {
      if (!node.IsMap()) {
        Error(path, node, "expected a mapping of key: value");
        return;
      }
      for (const auto& kv : node) {
        if (!kv.second.IsScalar()) {
          Error(path + "." + Echo(kv.first.as<std::string>()), kv.second,
                "expected a scalar value");
          continue;
        }
        Message* entry = refl->AddMessage(msg, fd);
        const Descriptor* ed = entry->GetDescriptor();
        entry->GetReflection()->SetString(entry, ed->FindFieldByName("key"),
                                          kv.first.as<std::string>());
        entry->GetReflection()->SetString(entry, ed->FindFieldByName("value"),
                                          kv.second.as<std::string>());
      }
      return;
    }
    if (fd->is_repeated()) {
      if (!node.IsSequence()) {
        Error(path, node, "expected a list");
        return;
      }
      for (size_t i = 0; i < node.size(); ++i) {
        const std::string item_path = absl::StrCat(path, "[", i, "]");
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          FillMessage(node[i], refl->AddMessage(msg, fd), item_path);
        } else {
          SetScalar(node[i], msg, fd, item_path);
        }
      }
      return;
    }
    if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      FillMessage(node, refl->MutableMessage(msg, fd), path);
      return;
    }
    SetScalar(node, msg, fd, path);
  }

  void SetScalar(const YAML::Node& node, Message* msg,
                 const FieldDescriptor* fd, const std::string& path) {
    const Reflection* refl = msg->GetReflection();
    if (!node.IsScalar()) {
      Error(path, node, "expected a single value");
      return;
    }
    const std::string s = node.Scalar();
    const bool rep = fd->is_repeated();
    auto bad = [&](const char* what) {
      Error(path, node,
            absl::StrCat("expected ", what, ", got '", Echo(s), "'"));
    };
    switch (fd->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t v;
        if (!absl::SimpleAtoi(s, &v)) return bad("an integer");
        rep ? refl->AddInt32(msg, fd, v) : refl->SetInt32(msg, fd, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t v;
        if (!absl::SimpleAtoi(s, &v)) return bad("an integer");
        rep ? refl->AddInt64(msg, fd, v) : refl->SetInt64(msg, fd, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v;
        if (!absl::SimpleAtoi(s, &v)) return bad("a non-negative integer");
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
          rep ? refl->AddUInt32(msg, fd, v) : refl->SetUInt32(msg, fd, v);
        } else {
          rep ? refl->AddUInt64(msg, fd, v) : refl->SetUInt64(msg, fd, v);
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double v;
        if (!absl::SimpleAtod(s, &v) || !std::isfinite(v)) {
          return bad("a finite number");
        }
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
          rep ? refl->AddDouble(msg, fd, v) : refl->SetDouble(msg, fd, v);
        } else {
          rep ? refl->AddFloat(msg, fd, v) : refl->SetFloat(msg, fd, v);
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool v;
        if (!absl::SimpleAtob(s, &v)) return bad("true or false");
        rep ? refl->AddBool(msg, fd, v) : refl->SetBool(msg, fd, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_STRING:
        rep ? refl->AddString(msg, fd, s) : refl->SetString(msg, fd, s);
        return;
      case FieldDescriptor::CPPTYPE_ENUM: {
        const EnumValueDescriptor* v =
            fd->enum_type()->FindValueByName(absl::AsciiStrToUpper(s));
        if (v == nullptr || v->number() == 0) {
          std::vector<std::string> names;
          for (int i = 1; i < fd->enum_type()->value_count(); ++i) {
            names.push_back(fd->enum_type()->value(i)->name());
          }
          Error(path, node,
                absl::StrCat("unknown value '", Echo(s),
                             "' (one of: ", absl::StrJoin(names, ", "), ")"));
          return;
        }
        rep ? refl->AddEnum(msg, fd, v) : refl->SetEnum(msg, fd, v);
        return;
      }
      default:
        Error(path, node, "unsupported field type");
    }
  }

  ParsedSpec* out_;
};

}  // namespace

std::string FieldError::ToString() const {
  if (line > 0) return absl::StrCat(path, " (line ", line, "): ", message);
  return absl::StrCat(path, ": ", message);
}

absl::StatusOr<ParsedSpec> ParseSpecYaml(absl::string_view yaml) {
  if (yaml.size() > kMaxSpecYamlBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec_yaml: ", yaml.size(), " bytes, more than the ",
                     kMaxSpecYamlBytes, " allowed"));
  }
  ParsedSpec out;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec_yaml: malformed YAML at line ", e.mark.line + 1,
                     ", column ", e.mark.column + 1, ": ", e.msg));
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        "spec_yaml: the spec must be a YAML mapping of fields (name, "
        "search_space, strategy, budget, evaluation, ...)");
  }
  YamlToProto converter(&out);
  try {
    converter.FillMessage(root, &out.spec, "spec");
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec_yaml: line ", e.mark.line + 1, ": ", e.msg));
  }
  if (!converter.errors.empty()) {
    absl::Status s = ErrorsToStatus(converter.errors);
    if (converter.unlisted == 0) return s;
    return absl::InvalidArgumentError(absl::StrCat(
        s.message(), "; ... and ", converter.unlisted, " more errors"));
  }
  return out;
}

void ApplySpecDefaults(v1::ExperimentSpec* spec,
                       const std::map<std::string, int>* present) {
  // Sets `field` to `def` when it is zero/empty and was not written.
  auto fill = [present](const char* path, auto value, auto def, auto set) {
    if (value != decltype(value){}) return;
    if (present != nullptr && present->count(path) > 0) return;
    set(def);
  };
  auto* st = spec->mutable_strategy();
  fill("spec.strategy.name", st->name(), std::string("random"),
       [st](const std::string& v) { st->set_name(v); });
  if (st->name() == "evolution") {
    auto* evo = st->mutable_evolution();
    fill("spec.strategy.evolution.population", evo->population(), 20,
         [evo](int v) { evo->set_population(v); });
    fill("spec.strategy.evolution.sample_size", evo->sample_size(), 5,
         [evo](int v) { evo->set_sample_size(v); });
  }
  if (st->name() == "reinforce") {
    auto* rl = st->mutable_reinforce();
    const std::string p = "spec.strategy.reinforce.";
    fill((p + "learning_rate").c_str(), rl->learning_rate(), 0.01,
         [rl](double v) { rl->set_learning_rate(v); });
    fill((p + "entropy_weight").c_str(), rl->entropy_weight(), 1e-4,
         [rl](double v) { rl->set_entropy_weight(v); });
    fill((p + "baseline_decay").c_str(), rl->baseline_decay(), 0.9,
         [rl](double v) { rl->set_baseline_decay(v); });
    fill((p + "hidden_size").c_str(), rl->hidden_size(), 64,
         [rl](int v) { rl->set_hidden_size(v); });
  }
  fill("spec.duplicates", spec->duplicates(), std::string("reuse"),
       [spec](const std::string& v) { spec->set_duplicates(v); });
  auto* ob = spec->mutable_objective();
  fill("spec.objective.metric", ob->metric(), std::string("val_accuracy"),
       [ob](const std::string& v) { ob->set_metric(v); });
  fill("spec.objective.ranking", ob->ranking(), std::string("scalar"),
       [ob](const std::string& v) { ob->set_ranking(v); });
  if (!ob->reward().metric().empty()) {
    auto* r = ob->mutable_reward();
    if (!r->has_below_weight()) r->set_below_weight(-0.07);
    if (!r->has_above_weight()) r->set_above_weight(-0.07);
  }
  auto* b = spec->mutable_budget();
  fill("spec.budget.parallel_trials", b->parallel_trials(), 2,
       [b](int v) { b->set_parallel_trials(v); });
  fill("spec.lease_seconds", spec->lease_seconds(), 60,
       [spec](int v) { spec->set_lease_seconds(v); });
  fill("spec.max_attempts", spec->max_attempts(), 3,
       [spec](int v) { spec->set_max_attempts(v); });
  fill("spec.keep_models", spec->keep_models(), 3,
       [spec](int v) { spec->set_keep_models(v); });
  if (spec->search_space().name() == "nb201") {
    auto* nb = spec->mutable_search_space()->mutable_nb201();
    fill("spec.search_space.nb201.channels", nb->channels(), 16,
         [nb](int v) { nb->set_channels(v); });
    fill("spec.search_space.nb201.cells_per_stage", nb->cells_per_stage(), 5,
         [nb](int v) { nb->set_cells_per_stage(v); });
  }
  if (spec->search_space().name() == "mobilenet") {
    const MobileNetShape def;  // defaults, documented in architecture.proto
    auto* mb = spec->mutable_search_space()->mutable_mobilenet();
    const std::string p = "spec.search_space.mobilenet.";
    auto fill_int = [&](const char* field, int32_t value, int def_value,
                        void (v1::MobileNetOptions::*set)(int32_t)) {
      fill((p + field).c_str(), value, def_value,
           [mb, set](int v) { (mb->*set)(v); });
    };
    fill((p + "width_multiplier").c_str(), mb->width_multiplier(),
         def.width_multiplier, [mb](double v) { mb->set_width_multiplier(v); });
    fill_int("stem_channels", mb->stem_channels(), def.stem_channels,
             &v1::MobileNetOptions::set_stem_channels);
    fill_int("stem_stride", mb->stem_stride(), def.stem_stride,
             &v1::MobileNetOptions::set_stem_stride);
    fill_int("head_channels", mb->head_channels(), def.head_channels,
             &v1::MobileNetOptions::set_head_channels);
    fill_int("channel_divisor", mb->channel_divisor(), def.channel_divisor,
             &v1::MobileNetOptions::set_channel_divisor);
    if (mb->stage_channels().empty() &&
        (present == nullptr || present->count(p + "stage_channels") == 0)) {
      for (int c : def.stage_channels) mb->add_stage_channels(c);
    }
    if (mb->stage_strides().empty() &&
        (present == nullptr || present->count(p + "stage_strides") == 0)) {
      for (int c : def.stage_strides) mb->add_stage_strides(c);
    }
  }
  v1::EvaluationSpec* e = spec->mutable_evaluation();
  if (e->mode() == v1::EVALUATION_MODE_UNSPECIFIED) e->set_mode(v1::FULL);
  if (!spec->early_stopping().rule().empty()) {
    auto* es = spec->mutable_early_stopping();
    fill("spec.early_stopping.min_epochs", es->min_epochs(), 1,
         [es](int v) { es->set_min_epochs(v); });
    fill("spec.early_stopping.min_trials", es->min_trials(), 3,
         [es](int v) { es->set_min_trials(v); });
    fill("spec.early_stopping.reduction_factor", es->reduction_factor(), 3,
         [es](int v) { es->set_reduction_factor(v); });
  }
  fill("spec.evaluation.dataset", e->dataset(), std::string("fashion_mnist"),
       [e](const std::string& v) { e->set_dataset(v); });
  fill("spec.evaluation.data_dir", e->data_dir(),
       std::string("/usr/share/datasets/fashion-mnist"),
       [e](const std::string& v) { e->set_data_dir(v); });
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
  fill("spec.evaluation.val_samples", e->val_samples(), 10000,
       [e](int v) { e->set_val_samples(v); });
  fill("spec.evaluation.data_seed", e->data_seed(), int64_t{1},
       [e](int64_t v) { e->set_data_seed(v); });
  fill("spec.evaluation.latency_runs", e->latency_runs(), 30,
       [e](int v) { e->set_latency_runs(v); });
  // label_smoothing, random_crop_padding and horizontal_flip default to
  // 0/off, their proto defaults; nesterov has presence and defaults to on.
  if (!e->has_nesterov()) e->set_nesterov(true);
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
  if (spec->final().top_k() > 0) {
    auto* f = spec->mutable_final();
    fill("spec.final.epochs", f->epochs(), e->epochs(),
         [f](int v) { f->set_epochs(v); });
  }
}

std::vector<FieldError> ValidateSearchSettings(const v1::ExperimentSpec& spec) {
  std::vector<FieldError> errors;
  auto error = [&](const std::string& path, std::string message) {
    errors.push_back({path, std::move(message), 0});
  };
  const v1::StrategySpec& strategy = spec.strategy();
  if (strategy.name() == "evolution") {
    const v1::EvolutionOptions& evo = strategy.evolution();
    if (evo.population() < 2 || evo.population() > 100000) {
      error("spec.strategy.evolution.population", "must be in [2, 100000]");
    } else if (evo.sample_size() < 1 || evo.sample_size() > evo.population()) {
      error("spec.strategy.evolution.sample_size",
            "must be in [1, population]");
    }
    if (evo.predictor() && !(evo.local_search() > 0)) {
      error("spec.strategy.evolution.predictor",
            "only guides local-search steps: set evolution.local_search > 0");
    }
    if (!(evo.local_search() >= 0 && evo.local_search() <= 1)) {
      error("spec.strategy.evolution.local_search",
            absl::StrCat("must be a probability in [0, 1], got ",
                         evo.local_search()));
    }
  } else if (strategy.name() == "reinforce") {
    const v1::ReinforceOptions& rl = strategy.reinforce();
    const std::string p = "spec.strategy.reinforce.";
    if (!(rl.learning_rate() > 0 && rl.learning_rate() <= 1)) {
      error(p + "learning_rate",
            absl::StrCat("must be in (0, 1], got ", rl.learning_rate()));
    }
    if (!(rl.entropy_weight() >= 0 && rl.entropy_weight() <= 10)) {
      error(p + "entropy_weight",
            absl::StrCat("must be in [0, 10], got ", rl.entropy_weight()));
    }
    if (!(rl.baseline_decay() >= 0 && rl.baseline_decay() < 1)) {
      error(p + "baseline_decay",
            absl::StrCat("must be in [0, 1), got ", rl.baseline_decay()));
    }
    if (rl.hidden_size() < 1 || rl.hidden_size() > 1024) {
      error(p + "hidden_size",
            absl::StrCat("must be in [1, 1024], got ", rl.hidden_size()));
    }
  } else if (strategy.name() != "random") {
    error("spec.strategy.name",
          absl::StrCat("unknown strategy '", strategy.name(),
                       "' (implemented: random, evolution, reinforce)"));
  }
  if (strategy.seed() < 0) error("spec.strategy.seed", "must be >= 0");
  const v1::ObjectiveSpec& ob = spec.objective();
  if (!ob.metric().empty() && ob.metric() != "val_accuracy") {
    error("spec.objective.metric", "only 'val_accuracy' is supported");
  }
  const std::string costs = absl::StrJoin(CostMetricNames(), ", ");
  for (int i = 0; i < ob.minimize_size(); ++i) {
    const std::string path = absl::StrCat("spec.objective.minimize[", i, "]");
    if (!IsCostMetric(ob.minimize(i))) {
      error(path, absl::StrCat("unknown objective '", ob.minimize(i),
                               "' (one of: ", costs, ")"));
    }
    for (int j = 0; j < i; ++j) {
      if (ob.minimize(j) == ob.minimize(i)) {
        error(path, absl::StrCat("'", ob.minimize(i), "' repeated"));
      }
    }
  }
  const v1::MnasRewardSpec& r = ob.reward();
  const bool reward = !r.metric().empty();
  if (ob.ranking() == "pareto") {
    if (ob.minimize_size() == 0) {
      error("spec.objective.minimize",
            absl::StrCat("ranking: pareto needs at least one cost to "
                         "minimize (",
                         costs, ")"));
    }
    if (reward) {
      error("spec.objective.ranking",
            "pareto ranking and a scalar reward exclude each other; drop "
            "objective.reward or use ranking: scalar");
    }
    if (strategy.name() == "reinforce") {
      error("spec.objective.ranking",
            "pareto ranking needs a population: use strategy evolution or "
            "random, or a scalar reward (objective.reward) with reinforce");
    }
  } else if (!ob.ranking().empty() && ob.ranking() != "scalar") {
    error(
        "spec.objective.ranking",
        absl::StrCat("unknown ranking '", ob.ranking(), "' (scalar, pareto)"));
  }
  if (reward) {
    if (!IsCostMetric(r.metric())) {
      error("spec.objective.reward.metric",
            absl::StrCat("unknown cost '", r.metric(), "' (one of: ", costs,
                         ")"));
    }
    if (!(r.target() > 0 && std::isfinite(r.target()))) {
      error("spec.objective.reward.target",
            absl::StrCat("must be > 0 (in the unit of ", r.metric(), "), got ",
                         r.target()));
    }
  } else if (r.target() != 0 || r.has_below_weight() || r.has_above_weight()) {
    error("spec.objective.reward.metric",
          absl::StrCat("required when objective.reward is set (one of: ", costs,
                       ")"));
  }
  if (r.has_below_weight() &&
      !(r.below_weight() >= -10 && r.below_weight() <= 0)) {
    error("spec.objective.reward.below_weight",
          absl::StrCat("must be in [-10, 0], got ", r.below_weight()));
  }
  if (r.has_above_weight() &&
      !(r.above_weight() >= -10 && r.above_weight() <= 0)) {
    error("spec.objective.reward.above_weight",
          absl::StrCat("must be in [-10, 0], got ", r.above_weight()));
  }
  if (!spec.duplicates().empty() && spec.duplicates() != "reuse" &&
      spec.duplicates() != "retrain") {
    error("spec.duplicates", absl::StrCat("unknown policy '", spec.duplicates(),
                                          "' (reuse, retrain)"));
  }
  return errors;
}

namespace {

// Problems of evaluation.tabular (mode TABULAR), appended via `error`.
void ValidateTabular(
    const v1::TabularOptions& t,
    const std::function<void(const std::string&, std::string)>& error) {
  const std::string p = "spec.evaluation.tabular.";
  auto required = [&](const char* field, const std::string& v,
                      const char* example) {
    if (v.empty()) {
      error(p + field,
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
      error(p + field, absl::StrCat("must be a finite number > 0, got ", v));
    }
  };
  positive("cost_scale", t.cost_scale());
  positive("accuracy_scale", t.accuracy_scale());
  positive("macs_scale", t.macs_scale());
  positive("params_scale", t.params_scale());
}

}  // namespace

std::vector<FieldError> ValidateSpec(const v1::ExperimentSpec& spec,
                                     const std::map<std::string, int>* lines) {
  std::vector<FieldError> errors;
  auto error = [&](const std::string& path, std::string message) {
    int line = 0;
    if (lines != nullptr) {
      // The field's own line, else its nearest parent's.
      for (std::string p = path; !p.empty();) {
        auto it = lines->find(p);
        if (it != lines->end()) {
          line = it->second;
          break;
        }
        size_t dot = p.rfind('.');
        if (dot == std::string::npos) break;
        p.resize(dot);
      }
    }
    errors.push_back({path, std::move(message), line});
  };
  if (spec.name().empty() || spec.name().size() > 128) {
    error("spec.name", "must be 1 to 128 characters");
  }
  const std::string& space = spec.search_space().name();
  absl::StatusOr<const SearchSpace*> ss = GetSearchSpace(space);
  if (space.empty()) {
    error("spec.search_space.name",
          absl::StrCat("required (one of: ",
                       absl::StrJoin(SearchSpaceNames(), ", "), ")"));
  } else if (!ss.ok()) {
    error("spec.search_space.name", std::string(ss.status().message()));
  }
  if (space == "nb201") {
    const auto& nb = spec.search_space().nb201();
    if (nb.channels() < 1 || nb.channels() > 1024) {
      error("spec.search_space.nb201.channels", "must be in [1, 1024]");
    }
    if (nb.cells_per_stage() < 1 || nb.cells_per_stage() > 32) {
      error("spec.search_space.nb201.cells_per_stage", "must be in [1, 32]");
    }
  }
  if (space == "mobilenet") {
    const v1::MobileNetOptions& mb = spec.search_space().mobilenet();
    const std::string p = "spec.search_space.mobilenet.";
    if (!(mb.width_multiplier() > 0 && mb.width_multiplier() <= 4)) {
      error(p + "width_multiplier", "must be in (0, 4]");
    }
    auto range = [&](const std::string& field, int64_t v, int64_t lo,
                     int64_t hi) {
      if (v < lo || v > hi) {
        error(p + field, absl::StrCat("must be in [", lo, ", ", hi, "]"));
      }
    };
    range("stem_channels", mb.stem_channels(), 1, 1024);
    range("stem_stride", mb.stem_stride(), 1, 2);
    range("head_channels", mb.head_channels(), 1, 4096);
    range("channel_divisor", mb.channel_divisor(), 1, 64);
    auto list = [&](const std::string& field,
                    const google::protobuf::RepeatedField<int32_t>& v,
                    int64_t lo, int64_t hi) {
      if (v.size() != kMobileNetStages) {
        error(p + field,
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
  for (FieldError& e : ValidateSearchSettings(spec)) {
    error(e.path, std::move(e.message));
  }
  const v1::ConstraintsSpec& constraints = spec.objective().constraints();
  if (constraints.max_macs() < 0) {
    error("spec.objective.constraints.max_macs", "must be >= 0 (0 = no limit)");
  }
  if (constraints.max_params() < 0) {
    error("spec.objective.constraints.max_params",
          "must be >= 0 (0 = no limit)");
  }
  const double max_sim = spec.budget().max_simulated_seconds();
  if (!std::isfinite(max_sim) || max_sim < 0) {
    error(
        "spec.budget.max_simulated_seconds",
        absl::StrCat("must be a finite number >= 0 (0 = none), got ", max_sim));
  } else if (max_sim > 0 && spec.evaluation().mode() != v1::TABULAR) {
    error("spec.budget.max_simulated_seconds",
          "needs evaluation.mode TABULAR (only table lookups report "
          "simulated seconds)");
  }
  if (max_sim > 0 && spec.budget().max_trials() < 0) {
    error("spec.budget.max_trials",
          absl::StrCat("must be >= 0 (0 = no limit with "
                       "max_simulated_seconds), got ",
                       spec.budget().max_trials()));
  } else if (max_sim <= 0 && spec.budget().max_trials() <= 0) {
    error("spec.budget.max_trials",
          absl::StrCat("must be > 0 (or set budget.max_simulated_seconds), "
                       "got ",
                       spec.budget().max_trials()));
  } else if (spec.budget().max_trials() > kMaxTrials) {
    error("spec.budget.max_trials", absl::StrCat("must be <= ", kMaxTrials));
  }
  if (spec.budget().parallel_trials() < 1 ||
      spec.budget().parallel_trials() > 10000) {
    error("spec.budget.parallel_trials", "must be in [1, 10000]");
  }
  if (spec.lease_seconds() < 1 || spec.lease_seconds() > 86400) {
    error("spec.lease_seconds", "must be in [1, 86400]");
  }
  if (spec.max_attempts() < 1 || spec.max_attempts() > 100) {
    error("spec.max_attempts", "must be in [1, 100]");
  }
  if (spec.keep_models() < 0 || spec.keep_models() > 100) {
    error("spec.keep_models", "must be in [0, 100]");
  }
  if (spec.final().top_k() < 0 || spec.final().top_k() > 20) {
    error("spec.final.top_k", "must be in [0, 20]");
  } else if (spec.final().top_k() > 0) {
    if (spec.evaluation().mode() == v1::TABULAR) {
      // (SUPERNET re-trains the best candidates from scratch, FULL.)
      error("spec.final.top_k",
            "final re-training needs evaluation.mode FULL, EARLY_STOPPED or "
            "SUPERNET");
    }
    if (spec.final().epochs() < 1 || spec.final().epochs() > 1000) {
      error("spec.final.epochs", "must be in [1, 1000]");
    }
  }
  for (const auto& [k, v] : spec.required_labels()) {
    if (k.empty())
      error("spec.required_labels", "label names must be non-empty");
  }
  const v1::EvaluationSpec& e = spec.evaluation();
  if (e.mode() != v1::FULL && e.mode() != v1::EARLY_STOPPED &&
      e.mode() != v1::TABULAR && e.mode() != v1::SUPERNET) {
    error("spec.evaluation.mode",
          "must be FULL, EARLY_STOPPED, SUPERNET or TABULAR");
  }
  if (e.mode() == v1::SUPERNET) {
    const v1::SupernetOptions& n = e.supernet();
    const std::string p = "spec.evaluation.supernet.";
    if (n.epochs() < 1 || n.epochs() > 1000) {
      error(p + "epochs",
            absl::StrCat("must be in [1, 1000], got ", n.epochs()));
    }
    if (n.calibration_batches() < 1 || n.calibration_batches() > 10000) {
      error(
          p + "calibration_batches",
          absl::StrCat("must be in [1, 10000], got ", n.calibration_batches()));
    }
    if (n.finetune_steps() < 0 || n.finetune_steps() > 1000000) {
      error(p + "finetune_steps",
            absl::StrCat("must be in [0, 1000000], got ", n.finetune_steps()));
    }
    if (!(std::isfinite(n.finetune_learning_rate()) &&
          n.finetune_learning_rate() > 0)) {
      error(p + "finetune_learning_rate",
            absl::StrCat("must be a finite number > 0, got ",
                         n.finetune_learning_rate()));
    }
  } else if (e.has_supernet()) {
    error("spec.evaluation.supernet",
          "set evaluation.mode to SUPERNET to use a supernet");
  }
  if (e.mode() == v1::TABULAR) {
    ValidateTabular(e.tabular(), error);
  } else if (e.has_tabular()) {
    error("spec.evaluation.tabular",
          "set evaluation.mode to TABULAR to use a benchmark table");
  }
  const v1::EarlyStoppingSpec& es = spec.early_stopping();
  if (e.mode() == v1::EARLY_STOPPED && es.rule().empty()) {
    error("spec.early_stopping.rule",
          "required when evaluation.mode is EARLY_STOPPED (median or asha)");
  } else if (!es.rule().empty()) {
    if (e.mode() != v1::EARLY_STOPPED) {
      error("spec.early_stopping.rule",
            "set evaluation.mode to EARLY_STOPPED to use early stopping");
    }
    if (es.rule() != "median" && es.rule() != "asha") {
      error("spec.early_stopping.rule",
            absl::StrCat("unknown rule '", es.rule(), "' (median, asha)"));
    }
    if (es.min_epochs() < 1) {
      error("spec.early_stopping.min_epochs", "must be >= 1");
    }
    if (es.min_trials() < 1) {
      error("spec.early_stopping.min_trials", "must be >= 1");
    }
    if (es.reduction_factor() < 2) {
      error("spec.early_stopping.reduction_factor", "must be >= 2");
    }
  }
  if (!DatasetShape(e.dataset()).ok()) {
    error("spec.evaluation.dataset",
          absl::StrCat("unknown dataset '", e.dataset(),
                       "' (known: fashion_mnist)"));
  }
  if (e.epochs() < 1 || e.epochs() > 10000) {
    error("spec.evaluation.epochs", "must be in [1, 10000]");
  }
  if (e.batch_size() < 1 || e.batch_size() > 65536) {
    error("spec.evaluation.batch_size", "must be in [1, 65536]");
  }
  if (!(e.learning_rate() > 0 && e.learning_rate() <= 10)) {
    error("spec.evaluation.learning_rate", "must be in (0, 10]");
  }
  if (e.momentum() < 0 || e.momentum() >= 1) {
    error("spec.evaluation.momentum", "must be in [0, 1)");
  }
  if (e.weight_decay() < 0 || e.weight_decay() > 1) {
    error("spec.evaluation.weight_decay", "must be in [0, 1]");
  }
  if (e.val_samples() < 1 || e.val_samples() > 59000) {
    error("spec.evaluation.val_samples", "must be in [1, 59000]");
  }
  if (e.train_samples() < 0 || e.train_samples() + e.val_samples() > 60000) {
    error("spec.evaluation.train_samples",
          "must be >= 0 and train_samples + val_samples <= 60000");
  }
  if (e.test_samples() < 0 || e.test_samples() > 10000) {
    error("spec.evaluation.test_samples", "must be in [0, 10000] (0 = all)");
  }
  if (e.latency_runs() < 30 || e.latency_runs() > 100000) {
    error("spec.evaluation.latency_runs", "must be in [30, 100000]");
  }
  if (!(e.label_smoothing() >= 0 && e.label_smoothing() < 1)) {
    error("spec.evaluation.label_smoothing", "must be in [0, 1)");
  }
  if (e.random_crop_padding() < 0 ||
      e.random_crop_padding() > kMaxRandomCropPadding) {
    error(
        "spec.evaluation.random_crop_padding",
        absl::StrCat("must be in [0, ", kMaxRandomCropPadding, "] (0 = off)"));
  }
  return errors;
}

absl::Status ErrorsToStatus(const std::vector<FieldError>& errors) {
  if (errors.empty()) return absl::OkStatus();
  std::vector<std::string> parts;
  for (size_t i = 0; i < errors.size() && i < kMaxListedErrors; ++i) {
    parts.push_back(errors[i].ToString());
  }
  if (errors.size() > kMaxListedErrors) {
    parts.push_back(absl::StrCat("... and ", errors.size() - kMaxListedErrors,
                                 " more errors"));
  }
  return absl::InvalidArgumentError(absl::StrJoin(parts, "; "));
}

absl::StatusOr<InputShape> DatasetShape(absl::string_view dataset) {
  if (dataset == "fashion_mnist") return InputShape{1, 28, 28, 10};
  return absl::InvalidArgumentError(
      absl::StrCat("unknown dataset '", dataset, "'"));
}

absl::StatusOr<v1::ExperimentSpec> PrepareSpec(const v1::ExperimentSpec& spec,
                                               absl::string_view yaml) {
  ParsedSpec parsed;
  if (!yaml.empty()) {
    absl::StatusOr<ParsedSpec> p = ParseSpecYaml(yaml);
    if (!p.ok()) return p.status();
    parsed = *std::move(p);
  } else {
    parsed.spec = spec;
  }
  ApplySpecDefaults(&parsed.spec, &parsed.lines);
  absl::Status s = ErrorsToStatus(ValidateSpec(parsed.spec, &parsed.lines));
  if (!s.ok()) return s;
  return parsed.spec;
}

}  // namespace nas
