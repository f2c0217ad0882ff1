// Experiment specs: YAML -> ExperimentSpec, defaults, validation. Every
// problem is reported with its field path ("spec.budget.max_trials") and,
// when the spec came from YAML, its line. Pure functions, thread-safe.
//
// The public entry point of common/spec: parse.h (YAML -> proto),
// defaults.h, validate.h (one validator per section) and field_errors.h
// (FieldError, ErrorsToStatus), plus PrepareSpec, the whole path.
#ifndef NAS_COMMON_SPEC_SPEC_H_
#define NAS_COMMON_SPEC_SPEC_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spec/defaults.h"
#include "common/spec/field_errors.h"
#include "common/spec/limits.h"
#include "common/spec/parse.h"
#include "common/spec/validate.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// The whole path for a server: YAML (if non-empty) or message -> limits
// (limits.h; a spec that breaks one is refused before anything else) ->
// defaults -> limits again (what is stored obeys them) -> validation.
// InvalidArgument naming each bad field.
absl::StatusOr<v1::ExperimentSpec> PrepareSpec(const v1::ExperimentSpec& spec,
                                               absl::string_view yaml);

}  // namespace nas

#endif  // NAS_COMMON_SPEC_SPEC_H_
