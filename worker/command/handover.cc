#include "worker/command/handover.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace nas {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// JSON's number syntax: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(absl::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && absl::ascii_isdigit(s[i])) ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// A message as a JSON object (proto field names).
Value MessageValue(const google::protobuf::Message& msg) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  std::string json;
  Value v;
  // Printing and re-reading a message we hold cannot fail.
  (void)google::protobuf::util::MessageToJsonString(msg, &json, opts);
  (void)google::protobuf::util::JsonStringToMessage(json,
                                                    v.mutable_struct_value());
  return v;
}

Value NumberValue(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

Value StringValue(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}

Value BoolValue(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}

}  // namespace

Value TypedParameter(absl::string_view text) {
  Value v;
  double d = 0;
  if (IsJsonNumber(text) && absl::SimpleAtod(text, &d) && std::isfinite(d)) {
    v.set_number_value(d);
  } else if (text == "true" || text == "false") {
    v.set_bool_value(text == "true");
  } else {
    v.set_string_value(std::string(text));
  }
  return v;
}

absl::StatusOr<Struct> MakeTrialFile(const v1::Trial& trial,
                                     const SearchSpace& space,
                                     const std::vector<int>& choices,
                                     const InputShape* input,
                                     const std::string& output_dir,
                                     const std::string& model_file) {
  if (static_cast<int>(choices.size()) != space.num_decisions()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "genotype.choices: ", choices.size(), " choices for ",
        space.num_decisions(), " decisions of space '", space.name(), "'"));
  }
  const v1::EvaluationSpec& e = trial.evaluation();
  Struct file;
  auto& f = *file.mutable_fields();
  f["trial_id"] = NumberValue(static_cast<double>(trial.trial_id()));
  f["attempt"] = NumberValue(trial.attempt());
  f["experiment_id"] = NumberValue(static_cast<double>(trial.experiment_id()));
  f["candidate_id"] = NumberValue(static_cast<double>(trial.candidate_id()));
  f["trainer"] = StringValue(e.command().trainer());
  f["space"] = StringValue(std::string(space.name()));
  f["canonical"] = StringValue(trial.genotype().canonical());
  auto& decisions = *f["decisions"].mutable_struct_value()->mutable_fields();
  for (int i = 0; i < space.num_decisions(); ++i) {
    if (choices[i] < 0 || choices[i] >= space.num_choices(i)) {
      return absl::InvalidArgumentError(
          absl::StrCat("genotype.choices[", i, "]: ", choices[i],
                       " is out of range for decision '", space.DecisionName(i),
                       "' (", space.num_choices(i), " choices)"));
    }
    const ChoiceValue c = space.Choice(i, choices[i]);
    double d = 0;
    decisions[space.DecisionName(i)] =
        c.kind != ChoiceValue::kString && absl::SimpleAtod(c.text, &d)
            ? NumberValue(d)
            : StringValue(c.text);
  }
  auto& params = *f["parameters"].mutable_struct_value()->mutable_fields();
  for (const auto& [name, text] : e.command().parameters()) {
    params[name] = TypedParameter(text);
  }
  f["seed"] =
      NumberValue(static_cast<double>(e.data_seed() != 0 ? e.data_seed() : 1));
  f["epochs"] = NumberValue(e.epochs());
  f["batch_size"] = NumberValue(e.batch_size());
  f["learning_rate"] = NumberValue(e.learning_rate());
  f["output_dir"] = StringValue(output_dir);
  f["final_training"] = BoolValue(trial.final_training());
  f["export_model"] = BoolValue(trial.export_model());
  f["progress_metric"] = StringValue(
      e.progress_metric().empty() ? "val_accuracy" : e.progress_metric());
  if (input != nullptr) {
    auto& in = *f["input"].mutable_struct_value()->mutable_fields();
    in["channels"] = NumberValue(input->channels);
    in["height"] = NumberValue(input->height);
    in["width"] = NumberValue(input->width);
    in["classes"] = NumberValue(input->classes);
  }
  if (e.has_data()) f["data"] = MessageValue(e.data());
  if (!model_file.empty()) f["model_file"] = StringValue(model_file);
  f["report_file"] = StringValue(kReportFile);
  return file;
}

std::string TrialFileJson(const Struct& file) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(file, &json, opts);
  return json;
}

const std::vector<std::string>& PassedEnvironmentNames() {
  static const auto* names =
      new std::vector<std::string>{"PATH",
                                   "HOME",
                                   "LANG",
                                   "LC_ALL",
                                   "LC_CTYPE",
                                   "TMPDIR",
                                   "PYTHONPATH",
                                   "LD_LIBRARY_PATH",
                                   "CUDA_VISIBLE_DEVICES"};
  return *names;
}

std::vector<std::string> TrainerEnvironment(
    const std::vector<std::string>& extra_names, int threads,
    const std::map<std::string, std::string>& nas,
    const std::function<const char*(const char*)>& lookup) {
  std::map<std::string, std::string> env;
  for (const std::vector<std::string>* names :
       {&PassedEnvironmentNames(), &extra_names}) {
    for (const std::string& name : *names) {
      if (name == "NAS_TOKEN") continue;  // never, whatever the flags say
      if (const char* v = lookup(name.c_str()); v != nullptr) env[name] = v;
    }
  }
  if (threads > 0) env["OMP_NUM_THREADS"] = absl::StrCat(threads);
  for (const auto& [name, value] : nas) env[name] = value;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

}  // namespace nas
