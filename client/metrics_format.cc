#include "client/metrics_format.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/objective.h"

namespace nas {

std::string NamedMetricsText(const v1::EvaluationMetrics& m) {
  const std::map<std::string, double> sorted(m.named_metrics().begin(),
                                             m.named_metrics().end());
  std::string out;
  for (const auto& [name, value] : sorted) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", name, " ",
                    absl::StrFormat("%.6g", value));
  }
  return out;
}

std::string ObjectiveColumnHeader(const v1::ObjectiveSpec& objective) {
  const std::string name = ObjectiveMetricName(objective);
  return name == "val_accuracy" ? "" : name;
}

std::string ObjectiveCell(const v1::ObjectiveSpec& objective,
                          const v1::Candidate& k) {
  if (!k.has_metrics() || k.final_of() != 0) return "-";
  const std::string& name = objective.metric();
  if (!IsBuiltinObjectiveMetric(name) &&
      k.metrics().named_metrics().count(name) == 0) {
    return "-";
  }
  return absl::StrFormat("%.4f", ObjectiveMetricValue(objective, k.metrics()));
}

int64_t ShownMacs(const v1::Candidate& c) {
  return c.macs() != 0 ? c.macs() : c.metrics().macs();
}

std::string HumanCount(int64_t v) {
  if (v >= 1000000000) return absl::StrFormat("%.2fG", v / 1e9);
  if (v >= 1000000) return absl::StrFormat("%.2fM", v / 1e6);
  if (v >= 1000) return absl::StrFormat("%.1fk", v / 1e3);
  return absl::StrCat(v);
}

int64_t ShownParams(const v1::Candidate& c) {
  return c.params() != 0 ? c.params() : c.metrics().params();
}

}  // namespace nas
