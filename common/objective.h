// What a search optimizes, computed from a result's metrics: the objective
// metric (objective.metric: val_accuracy, val_balanced_accuracy,
// val_macro_f1, val_recall:<class>, or a named metric that a COMMAND
// trainer reports, EvaluationMetrics.named_metrics), the scalar fitness
// (that metric, or the MnasNet reward on it) and the objective vector for
// Pareto ranking. Every objective metric is maximized.
// Pure functions of a validated ObjectiveSpec (see common/spec/spec.h),
// thread-safe. Never looks at test metrics.
#ifndef NAS_COMMON_OBJECTIVE_H_
#define NAS_COMMON_OBJECTIVE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nas/v1/architecture.pb.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// The cost objectives a spec may name, in documentation order.
const std::vector<std::string>& CostMetricNames();
// True for "macs", "params" and "latency_ms".
bool IsCostMetric(absl::string_view name);
// The value of cost metric `name` in `m` (0 for unknown names).
double CostOf(const v1::EvaluationMetrics& m, absl::string_view name);

// The validation metrics objective.metric may name, without
// "val_recall:<class>": val_accuracy, val_balanced_accuracy, val_macro_f1.
const std::vector<std::string>& ObjectiveMetricNames();
// The prefix of the per-class recall metric, "val_recall:".
inline constexpr absl::string_view kRecallMetricPrefix = "val_recall:";
// True for "" (val_accuracy), the ObjectiveMetricNames and any
// "val_recall:..."; any other objective.metric names a named metric.
bool IsBuiltinObjectiveMetric(absl::string_view name);

// The class index of `x` in "val_recall:<x>": the index of the class named
// `x` in data.class_names, else `x` read as a decimal index < data.classes.
// InvalidArgument (a message for spec.objective.metric) otherwise.
absl::StatusOr<int> ResolveRecallClass(absl::string_view x,
                                       const v1::DataSpec& data);
// The same against `class_names` and `classes` classes (a worker's dataset,
// whose names may come from its folders rather than the spec).
absl::StatusOr<int> ResolveRecallClass(
    absl::string_view x, const std::vector<std::string>& class_names,
    int classes);

// objective.metric, "val_accuracy" when empty.
std::string ObjectiveMetricName(const v1::ObjectiveSpec& objective);

// The metric in the form workers and stores read: objective.metric, with
// val_recall's class as its resolved index ("val_recall:3", from
// objective.metric_class). evaluation.progress_metric holds this.
std::string CanonicalObjectiveMetric(const v1::ObjectiveSpec& objective);

// The value of objective.metric in `m`: val_accuracy (also for an empty
// name), val_balanced_accuracy, val_macro_f1,
// val_class_recall[objective.metric_class] (0 when the result has no recall
// for that class, e.g. a result stored before class metrics existed), or,
// for any other name, m.named_metrics[name] (0 when the result has no such
// named metric: a trainer that did not report it, or a built-in mode; the
// store's SQL ordering reads NULL instead and ranks such candidates last).
double ObjectiveMetricValue(const v1::ObjectiveSpec& objective,
                            const v1::EvaluationMetrics& m);

// MnasNet reward: acc * (cost / target)^w, w = below_weight when cost <=
// target, else above_weight (unset weights: -0.07). The ratio is clamped to
// [1e-6, 1e6] so that a zero cost (e.g. latency not measured) stays finite.
// `acc` is the objective metric's value (val_accuracy unless `objective`
// names another metric).
double MnasReward(const v1::MnasRewardSpec& reward,
                  const v1::EvaluationMetrics& m);
double MnasReward(const v1::ObjectiveSpec& objective,
                  const v1::EvaluationMetrics& m);

// True when the spec ranks results by Pareto dominance (ranking: pareto).
bool UsesParetoRanking(const v1::ObjectiveSpec& objective);

// The scalar a strategy maximizes: MnasReward (on the objective metric)
// when objective.reward.metric is set, else ObjectiveMetricValue. Under
// Pareto ranking this is the objective metric (used only where a single
// number is needed, e.g. by REINFORCE).
double ScalarFitness(const v1::ObjectiveSpec& objective,
                     const v1::EvaluationMetrics& m);

// {ObjectiveMetricValue, -cost_1, ..., -cost_k} for objective.minimize
// (all maximized), for ParetoFront / RankPoints.
std::vector<double> ObjectiveVector(const v1::ObjectiveSpec& objective,
                                    const v1::EvaluationMetrics& m);

}  // namespace nas

#endif  // NAS_COMMON_OBJECTIVE_H_
