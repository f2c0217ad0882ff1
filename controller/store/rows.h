// Row <-> message conversions of the store: state names as stored, JSON and
// array statement parameters, and the rows of experiments and candidates
// read back into records and messages. Private to controller/store/ (it
// includes pqxx; nothing outside the store includes this). Stateless pure
// functions: safe to call from any thread.
#ifndef NAS_CONTROLLER_STORE_ROWS_H_
#define NAS_CONTROLLER_STORE_ROWS_H_

#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>

#include <pqxx/pqxx>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/store/store.h"
#include "nas/v1/experiment.pb.h"

namespace nas {
namespace store_internal {

// State names as stored: EXPERIMENT_RUNNING <-> "RUNNING",
// CANDIDATE_QUEUED <-> "QUEUED". Unknown text parses as UNSPECIFIED.
std::string ExperimentStateName(v1::ExperimentState s);
std::string CandidateStateName(v1::CandidateState s);
v1::ExperimentState ParseExperimentState(const std::string& text);
v1::CandidateState ParseCandidateState(const std::string& text);

// SUCCEEDED, STOPPED or FAILED.
bool IsFinal(v1::ExperimentState s);

// A JSON statement parameter printed by protobuf's JSON printer (which
// does the escaping); `what` names it in the error.
absl::StatusOr<std::string> JsonParam(const google::protobuf::Message& m,
                                      absl::string_view what);

// The spec as stored in experiments.spec: JSON with the .proto field
// names.
absl::StatusOr<std::string> SpecJson(const v1::ExperimentSpec& spec);

// A JSON object of string values, for jsonb label columns.
template <typename Map>
absl::StatusOr<std::string> JsonObject(const Map& m) {
  google::protobuf::Struct object;
  for (const auto& [k, v] : m) {
    (*object.mutable_fields())[k].set_string_value(v);
  }
  return JsonParam(object, "labels");
}

// The genotype's choices as a PostgreSQL integer[] literal: "{1,2,3}".
std::string ChoicesArray(const v1::Genotype& g);

// Per-class values as a PostgreSQL float8[] literal: "{0.5,0.25}" (exact
// doubles, %.17g).
std::string Float8Array(const google::protobuf::RepeatedField<double>& v);

// metrics.named_metrics as a JSON object of numbers (the candidates
// column of 0017): empty when there are none (stored as NULL).
// InvalidArgument when a value cannot be printed as JSON (NaN or an
// infinity; result validation refuses those first).
absl::StatusOr<std::string> NamedMetricsJson(const v1::EvaluationMetrics& m);
// The same object as a Struct (a field of a JSON row parameter).
google::protobuf::Struct NamedMetricsStruct(const v1::EvaluationMetrics& m);

// Appends the choices of array_to_string(choices, ',') text ("1,2,3") to
// `g`; unparsable pieces are skipped.
void ChoicesFromText(const std::string& text, v1::Genotype* g);

// Fills a genotype from 4 consecutive columns: space, canonical, choices
// ("1,2,3"), hash.
void GenotypeFromRow(const pqxx::row& row, int first, v1::Genotype* g);

// A bytea column's bytes.
std::string Bytes(const pqxx::field& f);

// Stores `bytes` as artifact `hash` of `kind` in pieces of `chunk_bytes`,
// unless an artifact with this hash (the same bytes) is stored already.
void StoreChunked(pqxx::work& txn, const std::string& hash,
                  const std::string& kind, const std::string& bytes,
                  int chunk_bytes);

// A row of kExperimentColumns (get_experiment, list_experiments).
// kDataLoss when the stored spec does not parse.
absl::StatusOr<ExperimentRecord> ExperimentFromRow(const pqxx::row& row);

// A row of kCandidateColumns (list_candidates_*).
v1::Candidate CandidateFromRow(const pqxx::row& row);

}  // namespace store_internal
}  // namespace nas

#endif  // NAS_CONTROLLER_STORE_ROWS_H_
