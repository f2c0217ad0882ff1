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

// Limits of evaluation.data: image side (height, width) and class count.
inline constexpr int kMaxDataSide = 4096;
inline constexpr int kMaxDataClasses = 10000;

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

// Input geometry (channels, height, width, classes) of an evaluation spec
// with defaults applied: from evaluation.data; without data (a spec or
// trial stored before data existed), the preset named by
// evaluation.dataset ("" = fashion_mnist). InvalidArgument for an unknown
// preset or a shape out of range (channels 1 or 3, height and width in
// [1, 4096], classes in [2, 10000]).
absl::StatusOr<InputShape> DatasetShape(const v1::EvaluationSpec& evaluation);

}  // namespace nas

#endif  // NAS_COMMON_SPEC_VALIDATE_H_
