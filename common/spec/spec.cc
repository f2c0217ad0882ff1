#include "common/spec/spec.h"

#include <utility>

namespace nas {

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
  {  // Limits first: a huge spec is refused before it is validated.
    FieldErrorList limits(&parsed.lines);
    CheckSpecLimits(parsed.spec, &limits);
    absl::Status s = ErrorsToStatus(limits.errors());
    if (!s.ok()) return s;
  }
  ApplySpecDefaults(&parsed.spec, &parsed.lines);
  {  // Again: a default may build a longer string (data_dir + a file name),
     // and what is stored must pass as a message too.
    FieldErrorList limits(&parsed.lines);
    CheckSpecLimits(parsed.spec, &limits);
    absl::Status s = ErrorsToStatus(limits.errors());
    if (!s.ok()) return s;
  }
  absl::Status s = ErrorsToStatus(ValidateSpec(parsed.spec, &parsed.lines));
  if (!s.ok()) return s;
  return parsed.spec;
}

}  // namespace nas
