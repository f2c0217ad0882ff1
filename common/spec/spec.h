// Experiment specs: YAML -> ExperimentSpec, defaults, validation. Every
// problem is reported with its field path ("spec.budget.max_trials") and,
// when the spec came from YAML, its line. Pure functions, thread-safe.
#ifndef NAS_COMMON_SPEC_SPEC_H_
#define NAS_COMMON_SPEC_SPEC_H_

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spaces/search_space.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// One problem in a spec.
struct FieldError {
  std::string path;  // e.g. "spec.budget.max_trials"
  std::string message;
  int line = 0;  // 1-based YAML line, 0 when unknown
  std::string ToString() const;
};

// A spec parsed from YAML, with the line of every field seen.
struct ParsedSpec {
  v1::ExperimentSpec spec;
  std::map<std::string, int> lines;  // field path -> 1-based line
};

// Largest YAML spec ParseSpecYaml reads (real specs are a few KB).
inline constexpr size_t kMaxSpecYamlBytes = 256 << 10;
// Errors listed in one status; the rest are counted ("... and N more").
inline constexpr size_t kMaxListedErrors = 20;

// Parses YAML text into a spec. Malformed YAML, unknown fields and values
// of the wrong type are errors (InvalidArgument listing each, with line, up
// to kMaxListedErrors; values echoed are cut to 64 bytes). Text longer than
// kMaxSpecYamlBytes is InvalidArgument without being parsed. Does not apply
// defaults or validate values.
absl::StatusOr<ParsedSpec> ParseSpecYaml(absl::string_view yaml);

// Fills every unset field that has a default (documented in the protos).
// Proto3 cannot tell an explicit 0 from an unset field; when `present` (the
// paths seen in YAML) is given, fields written explicitly keep their value,
// so `epochs: 0` is reported as invalid rather than silently defaulted.
void ApplySpecDefaults(v1::ExperimentSpec* spec,
                       const std::map<std::string, int>* present = nullptr);

// Every problem of a spec with defaults applied; empty when valid.
// `lines` (optional) attaches YAML lines to the errors.
std::vector<FieldError> ValidateSpec(
    const v1::ExperimentSpec& spec,
    const std::map<std::string, int>* lines = nullptr);

// The problems of the search settings alone: strategy (name, seed and the
// named strategy's options), objective (metric, minimize, ranking, reward)
// and the duplicates policy. Part of ValidateSpec; strategy factories call
// it so that they refuse exactly what spec validation refuses. Unset fields
// are taken as written (apply defaults first); errors carry no lines.
std::vector<FieldError> ValidateSearchSettings(const v1::ExperimentSpec& spec);

// InvalidArgument with the errors joined by "; " (OK when none): the first
// kMaxListedErrors, then "... and N more errors".
absl::Status ErrorsToStatus(const std::vector<FieldError>& errors);

// Input geometry of a dataset name; InvalidArgument for unknown names.
absl::StatusOr<InputShape> DatasetShape(absl::string_view dataset);

// The whole path for a server: YAML (if non-empty) or message -> defaults ->
// validation. InvalidArgument naming each bad field.
absl::StatusOr<v1::ExperimentSpec> PrepareSpec(const v1::ExperimentSpec& spec,
                                               absl::string_view yaml);

}  // namespace nas

#endif  // NAS_COMMON_SPEC_SPEC_H_
