#include "common/objective.h"

#include <algorithm>
#include <cmath>

namespace nas {

const std::vector<std::string>& CostMetricNames() {
  static const std::vector<std::string>* names =
      new std::vector<std::string>{"macs", "params", "latency_ms"};
  return *names;
}

bool IsCostMetric(absl::string_view name) {
  const std::vector<std::string>& n = CostMetricNames();
  return std::find(n.begin(), n.end(), name) != n.end();
}

double CostOf(const v1::EvaluationMetrics& m, absl::string_view name) {
  if (name == "macs") return static_cast<double>(m.macs());
  if (name == "params") return static_cast<double>(m.params());
  if (name == "latency_ms") return m.latency_ms();
  return 0;
}

double MnasReward(const v1::MnasRewardSpec& reward,
                  const v1::EvaluationMetrics& m) {
  constexpr double kDefaultWeight = -0.07;
  const double cost = CostOf(m, reward.metric());
  const double w =
      cost <= reward.target()
          ? (reward.has_below_weight() ? reward.below_weight() : kDefaultWeight)
          : (reward.has_above_weight() ? reward.above_weight()
                                       : kDefaultWeight);
  const double ratio = std::clamp(cost / reward.target(), 1e-6, 1e6);
  return m.val_accuracy() * std::pow(ratio, w);
}

bool UsesParetoRanking(const v1::ObjectiveSpec& objective) {
  return objective.ranking() == "pareto";
}

double ScalarFitness(const v1::ObjectiveSpec& objective,
                     const v1::EvaluationMetrics& m) {
  if (!objective.reward().metric().empty() && objective.reward().target() > 0) {
    return MnasReward(objective.reward(), m);
  }
  return m.val_accuracy();
}

std::vector<double> ObjectiveVector(const v1::ObjectiveSpec& objective,
                                    const v1::EvaluationMetrics& m) {
  std::vector<double> v = {m.val_accuracy()};
  for (const std::string& c : objective.minimize()) v.push_back(-CostOf(m, c));
  return v;
}

}  // namespace nas
