#include "controller/store/rows.h"

#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace nas {
namespace store_internal {

std::string ExperimentStateName(v1::ExperimentState s) {
  // "EXPERIMENT_RUNNING" -> "RUNNING".
  return std::string(
      absl::StripPrefix(v1::ExperimentState_Name(s), "EXPERIMENT_"));
}

std::string CandidateStateName(v1::CandidateState s) {
  return std::string(
      absl::StripPrefix(v1::CandidateState_Name(s), "CANDIDATE_"));
}

v1::ExperimentState ParseExperimentState(const std::string& text) {
  v1::ExperimentState s = v1::EXPERIMENT_STATE_UNSPECIFIED;
  v1::ExperimentState_Parse("EXPERIMENT_" + text, &s);
  return s;
}

v1::CandidateState ParseCandidateState(const std::string& text) {
  v1::CandidateState s = v1::CANDIDATE_STATE_UNSPECIFIED;
  v1::CandidateState_Parse("CANDIDATE_" + text, &s);
  return s;
}

bool IsFinal(v1::ExperimentState s) {
  return s == v1::EXPERIMENT_SUCCEEDED || s == v1::EXPERIMENT_STOPPED ||
         s == v1::EXPERIMENT_FAILED;
}

// A JSON statement parameter printed by protobuf's JSON printer (which
// does the escaping); `what` names it in the error.
absl::StatusOr<std::string> JsonParam(const google::protobuf::Message& m,
                                      absl::string_view what) {
  std::string out;
  if (auto s = google::protobuf::util::MessageToJsonString(m, &out); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot convert to JSON: ", s.ToString()));
  }
  return out;
}

absl::StatusOr<std::string> SpecJson(const v1::ExperimentSpec& spec) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (auto s =
          google::protobuf::util::MessageToJsonString(spec, &json, options);
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec: cannot convert to JSON: ", s.ToString()));
  }
  return json;
}

std::string ChoicesArray(const v1::Genotype& g) {
  return absl::StrCat("{", absl::StrJoin(g.choices(), ","), "}");
}

std::string Float8Array(const google::protobuf::RepeatedField<double>& v) {
  std::string out = "{";
  for (int i = 0; i < v.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", absl::StrFormat("%.17g", v[i]));
  }
  return out + "}";
}

google::protobuf::Struct NamedMetricsStruct(const v1::EvaluationMetrics& m) {
  google::protobuf::Struct out;
  for (const auto& [name, value] : m.named_metrics()) {
    (*out.mutable_fields())[name].set_number_value(value);
  }
  return out;
}

absl::StatusOr<std::string> NamedMetricsJson(const v1::EvaluationMetrics& m) {
  if (m.named_metrics().empty()) return std::string();
  return JsonParam(NamedMetricsStruct(m), "metrics.named_metrics");
}

namespace {

// Adds the numbers of a named_metrics column's JSON object to `m`; text
// that is not such an object (never written by the store) adds nothing.
void ReadNamedMetrics(const std::string& json, v1::EvaluationMetrics* m) {
  google::protobuf::Struct object;
  if (json.empty() ||
      !google::protobuf::util::JsonStringToMessage(json, &object).ok()) {
    return;
  }
  for (const auto& [name, value] : object.fields()) {
    if (value.kind_case() == google::protobuf::Value::kNumberValue) {
      (*m->mutable_named_metrics())[name] = value.number_value();
    }
  }
}

}  // namespace

// Fills a genotype from 4 consecutive columns: space, canonical, choices
// ("1,2,3"), hash.
void ChoicesFromText(const std::string& text, v1::Genotype* g) {
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v)) g->add_choices(v);
  }
}

void GenotypeFromRow(const pqxx::row& row, int first, v1::Genotype* g) {
  g->set_space(row[first].as<std::string>());
  g->set_canonical(row[first + 1].as<std::string>());
  ChoicesFromText(row[first + 2].as<std::string>(), g);
  g->set_hash(row[first + 3].as<std::string>());
}

std::string Bytes(const pqxx::field& f) { return pqxx::binarystring(f).str(); }

absl::StatusOr<ExperimentRecord> ExperimentFromRow(const pqxx::row& row) {
  ExperimentRecord e;
  e.id = row[0].as<int64_t>();
  if (!e.spec.ParseFromString(Bytes(row[1]))) {
    return absl::DataLossError(
        absl::StrCat("experiment ", e.id, ": stored spec does not parse"));
  }
  e.seed = row[2].as<int64_t>();
  e.state = ParseExperimentState(row[3].as<std::string>());
  e.created_at = absl::FromUnixMicros(row[4].as<int64_t>());
  if (!row[5].is_null()) {
    e.finished_at = absl::FromUnixMicros(row[5].as<int64_t>());
  }
  e.error = row[6].as<std::string>();
  return e;
}

v1::Candidate CandidateFromRow(const pqxx::row& row) {
  v1::Candidate c;
  c.set_id(row[0].as<int64_t>());
  c.set_experiment_id(row[1].as<int64_t>());
  c.set_seq(row[2].as<int32_t>());
  GenotypeFromRow(row, 3, c.mutable_genotype());
  c.set_state(ParseCandidateState(row[7].as<std::string>()));
  c.set_parent_id(row[8].as<int64_t>());
  c.set_generation(row[9].as<int32_t>());
  c.set_reason(row[10].as<std::string>());
  c.set_duplicate_of(row[11].as<int64_t>());
  c.set_macs(row[12].as<int64_t>());
  c.set_params(row[13].as<int64_t>());
  c.set_attempts(row[14].as<int32_t>());
  c.set_worker_id(row[15].as<std::string>());
  if (!row[16].is_null()) {
    v1::EvaluationMetrics* m = c.mutable_metrics();
    m->set_val_accuracy(row[16].as<double>());
    m->set_test_accuracy(row[17].as<double>(0));
    m->set_latency_ms(row[18].as<double>(0));
    m->set_latency_iqr_ms(row[19].as<double>(0));
    m->set_train_seconds(row[20].as<double>(0));
    m->set_train_loss(row[21].as<double>(0));
    m->set_epochs(row[22].as<int32_t>(0));
    m->set_device(row[23].as<std::string>(""));
    m->set_macs(row[24].as<int64_t>(0));
    m->set_params(row[25].as<int64_t>(0));
    m->set_throughput_images_per_second(row[27].as<double>(0));
    m->set_train_images_per_second(row[28].as<double>(0));
    m->set_simulated_seconds(row[32].as<double>(0));
    // Class-balanced metrics: NULL for results stored before 0016.
    m->set_val_balanced_accuracy(row[36].as<double>(0));
    m->set_val_macro_f1(row[37].as<double>(0));
    for (absl::string_view part :
         absl::StrSplit(row[38].as<std::string>(""), ',', absl::SkipEmpty())) {
      double v = 0;
      if (!absl::SimpleAtod(part, &v)) v = 0;
      m->add_val_class_recall(v);
    }
    m->set_test_balanced_accuracy(row[39].as<double>(0));
    m->set_test_macro_f1(row[40].as<double>(0));
    // Named metrics (0017): NULL when the result has none.
    ReadNamedMetrics(row[41].as<std::string>(""), m);
  }
  // Strategy darts (0018).
  c.set_search(row[42].as<bool>());
  c.set_search_seed(row[43].as<int64_t>());
  if (const std::string derived = row[44].as<std::string>(); !derived.empty()) {
    v1::Genotype* g = c.mutable_derived();
    g->set_space(c.genotype().space());
    g->set_canonical(derived);
    ChoicesFromText(row[45].as<std::string>(""), g);
  }
  c.set_param_free_share(row[46].as<double>());
  c.set_search_of(row[47].as<int64_t>());
  // Proxy-guided evolution (0019).
  c.set_screening(row[48].as<bool>());
  c.set_screen_group(row[49].as<int64_t>());
  c.set_early_stopped(row[26].as<std::string>());
  c.set_final_of(row[29].as<int64_t>());
  if (!row[30].is_null()) {
    // Unparsable bytes leave `final` partly set; the row's own columns
    // above are unaffected.
    c.mutable_final()->ParseFromString(Bytes(row[30]));
  }
  c.set_has_model(row[31].as<bool>());
  c.set_supernet(row[33].as<bool>());
  c.set_supernet_hash(row[34].as<std::string>());
  const int64_t updated_us = row[35].as<int64_t>();
  c.mutable_updated_at()->set_seconds(updated_us / 1000000);
  c.mutable_updated_at()->set_nanos(static_cast<int32_t>(updated_us % 1000000) *
                                    1000);
  return c;
}

}  // namespace store_internal
}  // namespace nas
