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
  ValidateData(spec, &errors);
  ValidateZeroCost(spec, &errors);
  return std::move(errors).Take();
}

std::vector<FieldError> ValidateSearchSettings(const v1::ExperimentSpec& spec) {
  FieldErrorList errors;
  ValidateStrategy(spec, &errors);
  ValidateObjective(spec, &errors);
  ValidateDuplicates(spec, &errors);
  return std::move(errors).Take();
}

absl::StatusOr<InputShape> DatasetShape(const v1::EvaluationSpec& evaluation) {
  if (!evaluation.has_data()) {
    if (evaluation.dataset().empty() || evaluation.dataset() == "fashion_mnist")
      return InputShape{1, 28, 28, 10};
    return absl::InvalidArgumentError(absl::StrCat(
        "evaluation.dataset: unknown dataset '", evaluation.dataset(), "'"));
  }
  const v1::DataSpec& d = evaluation.data();
  if (d.channels() != 1 && d.channels() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evaluation.data.channels: must be 1 or 3, got ", d.channels()));
  }
  if (d.height() < 1 || d.height() > kMaxDataSide || d.width() < 1 ||
      d.width() > kMaxDataSide) {
    return absl::InvalidArgumentError(
        absl::StrCat("evaluation.data.height/width: must be in [1, ",
                     kMaxDataSide, "], got ", d.height(), "x", d.width()));
  }
  if (d.classes() < 2 || d.classes() > kMaxDataClasses) {
    return absl::InvalidArgumentError(
        absl::StrCat("evaluation.data.classes: must be in [2, ",
                     kMaxDataClasses, "], got ", d.classes()));
  }
  return InputShape{d.channels(), d.height(), d.width(), d.classes()};
}

}  // namespace nas
