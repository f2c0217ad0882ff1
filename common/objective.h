// What a search optimizes, computed from a result's metrics: the scalar
// fitness (val_accuracy, or the MnasNet reward) and the objective vector for
// Pareto ranking. Pure functions of a validated ObjectiveSpec (see
// common/spec/spec.h), thread-safe. Never looks at test_accuracy.
#ifndef NAS_COMMON_OBJECTIVE_H_
#define NAS_COMMON_OBJECTIVE_H_

#include <string>
#include <vector>

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

// MnasNet reward: acc * (cost / target)^w, w = below_weight when cost <=
// target, else above_weight (unset weights: -0.07). The ratio is clamped to
// [1e-6, 1e6] so that a zero cost (e.g. latency not measured) stays finite.
double MnasReward(const v1::MnasRewardSpec& reward,
                  const v1::EvaluationMetrics& m);

// True when the spec ranks results by Pareto dominance (ranking: pareto).
bool UsesParetoRanking(const v1::ObjectiveSpec& objective);

// The scalar a strategy maximizes: MnasReward when objective.reward.metric
// is set, else val_accuracy. Under Pareto ranking this is val_accuracy
// (used only where a single number is needed, e.g. by REINFORCE).
double ScalarFitness(const v1::ObjectiveSpec& objective,
                     const v1::EvaluationMetrics& m);

// {val_accuracy, -cost_1, ..., -cost_k} for objective.minimize (all
// maximized), for ParetoFront / RankPoints.
std::vector<double> ObjectiveVector(const v1::ObjectiveSpec& objective,
                                    const v1::EvaluationMetrics& m);

}  // namespace nas

#endif  // NAS_COMMON_OBJECTIVE_H_
