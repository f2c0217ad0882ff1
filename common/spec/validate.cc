#include "common/spec/validate.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/spec/validate_sections.h"

namespace nas {

std::vector<FieldError> ValidateSpec(const v1::ExperimentSpec& spec,
                                     const std::map<std::string, int>* lines) {
  FieldErrorList errors(lines);
  ValidateName(spec, &errors);
  ValidateSearchSpace(spec, &errors);
  // The search settings, as ValidateSearchSettings (here with lines).
  ValidateStrategy(spec, &errors);
  ValidateObjective(spec, &errors);
  ValidateDuplicates(spec, &errors);
  ValidateConstraints(spec, &errors);
  ValidateBudget(spec, &errors);
  ValidateTrialLifecycle(spec, &errors);
  ValidateFinal(spec, &errors);
  ValidateRequiredLabels(spec, &errors);
  ValidateEvaluationMode(spec, &errors);
  ValidateEarlyStopping(spec, &errors);
  ValidateTraining(spec, &errors);
  return std::move(errors).Take();
}

std::vector<FieldError> ValidateSearchSettings(const v1::ExperimentSpec& spec) {
  FieldErrorList errors;
  ValidateStrategy(spec, &errors);
  ValidateObjective(spec, &errors);
  ValidateDuplicates(spec, &errors);
  return std::move(errors).Take();
}

absl::StatusOr<InputShape> DatasetShape(absl::string_view dataset) {
  if (dataset == "fashion_mnist") return InputShape{1, 28, 28, 10};
  return absl::InvalidArgumentError(
      absl::StrCat("unknown dataset '", dataset, "'"));
}

}  // namespace nas
