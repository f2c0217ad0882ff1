// Validation of an experiment spec with defaults applied: every problem,
// with its field path and (when the spec came from YAML) its line. One
// validator per section of the spec (validate_sections.h); the order of
// the errors is fixed, so the first one reported is always the same. Pure
// functions, thread-safe.
#ifndef NAS_COMMON_SPEC_VALIDATE_H_
#define NAS_COMMON_SPEC_VALIDATE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spaces/search_space.h"
#include "common/spec/field_errors.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

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

// Input geometry of a dataset name; InvalidArgument for unknown names.
absl::StatusOr<InputShape> DatasetShape(absl::string_view dataset);

}  // namespace nas

#endif  // NAS_COMMON_SPEC_VALIDATE_H_
