// One validator per section of an ExperimentSpec (defaults applied), each
// adding the section's problems to `errors` in a fixed order. Internal to
// common/spec: ValidateSpec (validate.h) calls them in the order of
// ValidateSpec's errors. Pure functions, thread-safe.
#ifndef NAS_COMMON_SPEC_VALIDATE_SECTIONS_H_
#define NAS_COMMON_SPEC_VALIDATE_SECTIONS_H_

#include "common/spec/field_errors.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// spec.name: 1 to 128 characters.
void ValidateName(const v1::ExperimentSpec& spec, FieldErrorList* errors);
// spec.search_space: a known space, and the options of nb201 / mobilenet.
void ValidateSearchSpace(const v1::ExperimentSpec& spec,
                         FieldErrorList* errors);
// spec.strategy: a known name, its options, the seed.
void ValidateStrategy(const v1::ExperimentSpec& spec, FieldErrorList* errors);
// spec.objective: metric, minimize, ranking and reward (constraints apart).
void ValidateObjective(const v1::ExperimentSpec& spec, FieldErrorList* errors);
// spec.duplicates: reuse or retrain.
void ValidateDuplicates(const v1::ExperimentSpec& spec, FieldErrorList* errors);
// spec.objective.constraints: limits >= 0.
void ValidateConstraints(const v1::ExperimentSpec& spec,
                         FieldErrorList* errors);
// spec.budget: max_simulated_seconds, max_trials, parallel_trials.
void ValidateBudget(const v1::ExperimentSpec& spec, FieldErrorList* errors);
// spec.lease_seconds, spec.max_attempts, spec.keep_models.
void ValidateTrialLifecycle(const v1::ExperimentSpec& spec,
                            FieldErrorList* errors);
// spec.final: top_k and the epochs of the re-trainings.
void ValidateFinal(const v1::ExperimentSpec& spec, FieldErrorList* errors);
// spec.required_labels: non-empty names.
void ValidateRequiredLabels(const v1::ExperimentSpec& spec,
                            FieldErrorList* errors);
// spec.evaluation.mode and the mode's options (supernet, tabular).
void ValidateEvaluationMode(const v1::ExperimentSpec& spec,
                            FieldErrorList* errors);
// spec.early_stopping: rule (needed by EARLY_STOPPED) and its settings.
void ValidateEarlyStopping(const v1::ExperimentSpec& spec,
                           FieldErrorList* errors);
// spec.evaluation's training settings: epochs, batch size, optimizer,
// sample counts, latency runs, augmentation.
void ValidateTraining(const v1::ExperimentSpec& spec, FieldErrorList* errors);
// spec.evaluation's dataset: the preset (dataset, data_dir) or the user's
// evaluation.data (format, sources, shape, classes, normalization, split),
// and class_weighting / class_weights.
void ValidateData(const v1::ExperimentSpec& spec, FieldErrorList* errors);
// validate_zero_cost.cc: evaluation.mode ZERO_COST, evaluation.zero_cost,
// strategy.evolution.proxy.
void ValidateZeroCost(const v1::ExperimentSpec& spec, FieldErrorList* errors);

}  // namespace nas

#endif  // NAS_COMMON_SPEC_VALIDATE_SECTIONS_H_
