#include "common/objective.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

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

const std::vector<std::string>& ObjectiveMetricNames() {
  static const std::vector<std::string>* names = new std::vector<std::string>{
      "val_accuracy", "val_balanced_accuracy", "val_macro_f1"};
  return *names;
}

absl::StatusOr<int> ResolveRecallClass(
    absl::string_view x, const std::vector<std::string>& class_names,
    int classes) {
  for (size_t i = 0; i < class_names.size(); ++i) {
    if (class_names[i] == x) return static_cast<int>(i);
  }
  int index = 0;
  if (absl::SimpleAtoi(x, &index) && index >= 0 && index < classes) {
    return index;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "val_recall: unknown class '", x,
      "' (a name from evaluation.data.class_names or an index in [0, ", classes,
      "))"));
}

absl::StatusOr<int> ResolveRecallClass(absl::string_view x,
                                       const v1::DataSpec& data) {
  return ResolveRecallClass(x,
                            std::vector<std::string>(data.class_names().begin(),
                                                     data.class_names().end()),
                            data.classes());
}

std::string ObjectiveMetricName(const v1::ObjectiveSpec& objective) {
  return objective.metric().empty() ? "val_accuracy" : objective.metric();
}

std::string CanonicalObjectiveMetric(const v1::ObjectiveSpec& objective) {
  if (absl::StartsWith(objective.metric(), kRecallMetricPrefix)) {
    return absl::StrCat(kRecallMetricPrefix, objective.metric_class());
  }
  return ObjectiveMetricName(objective);
}

bool IsBuiltinObjectiveMetric(absl::string_view name) {
  const std::vector<std::string>& n = ObjectiveMetricNames();
  return name.empty() || std::find(n.begin(), n.end(), name) != n.end() ||
         absl::StartsWith(name, kRecallMetricPrefix);
}

double ObjectiveMetricValue(const v1::ObjectiveSpec& objective,
                            const v1::EvaluationMetrics& m) {
  const std::string& metric = objective.metric();
  if (metric == "val_balanced_accuracy") return m.val_balanced_accuracy();
  if (metric == "val_macro_f1") return m.val_macro_f1();
  if (absl::StartsWith(metric, kRecallMetricPrefix)) {
    const int c = objective.metric_class();
    return c >= 0 && c < m.val_class_recall_size() ? m.val_class_recall(c) : 0;
  }
  if (!IsBuiltinObjectiveMetric(metric)) {
    auto it = m.named_metrics().find(metric);
    return it == m.named_metrics().end() ? 0 : it->second;
  }
  return m.val_accuracy();
}

namespace {

double Reward(const v1::MnasRewardSpec& reward, double acc,
              const v1::EvaluationMetrics& m) {
  constexpr double kDefaultWeight = -0.07;
  const double cost = CostOf(m, reward.metric());
  const double w =
      cost <= reward.target()
          ? (reward.has_below_weight() ? reward.below_weight() : kDefaultWeight)
          : (reward.has_above_weight() ? reward.above_weight()
                                       : kDefaultWeight);
  const double ratio = std::clamp(cost / reward.target(), 1e-6, 1e6);
  return acc * std::pow(ratio, w);
}

}  // namespace

double MnasReward(const v1::MnasRewardSpec& reward,
                  const v1::EvaluationMetrics& m) {
  return Reward(reward, m.val_accuracy(), m);
}

double MnasReward(const v1::ObjectiveSpec& objective,
                  const v1::EvaluationMetrics& m) {
  return Reward(objective.reward(), ObjectiveMetricValue(objective, m), m);
}

bool UsesParetoRanking(const v1::ObjectiveSpec& objective) {
  return objective.ranking() == "pareto";
}

double ScalarFitness(const v1::ObjectiveSpec& objective,
                     const v1::EvaluationMetrics& m) {
  if (!objective.reward().metric().empty() && objective.reward().target() > 0) {
    return MnasReward(objective, m);
  }
  return ObjectiveMetricValue(objective, m);
}

std::vector<double> ObjectiveVector(const v1::ObjectiveSpec& objective,
                                    const v1::EvaluationMetrics& m) {
  std::vector<double> v = {ObjectiveMetricValue(objective, m)};
  for (const std::string& c : objective.minimize()) v.push_back(-CostOf(m, c));
  return v;
}

}  // namespace nas
