#include "client/pareto_plot.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/svg_plot.h"
#include "common/objective.h"

namespace nas {
namespace {

std::string AxisLabel(const std::string& name) {
  if (name == "latency_ms") return "latency (ms, batch 1)";
  if (name == "val_accuracy") return "validation accuracy";
  return name;
}

}  // namespace

double CostObjective(const v1::Candidate& k, const std::string& name) {
  if (name == "params") return static_cast<double>(k.metrics().params());
  if (name == "latency_ms") return k.metrics().latency_ms();
  return static_cast<double>(k.metrics().macs());
}

std::string RenderParetoSvg(int64_t id,
                            const std::vector<v1::Candidate>& evaluated,
                            const v1::GetParetoFrontResponse& front,
                            const v1::ObjectiveSpec& objective) {
  // The objectives: the metric first, then the costs.
  std::vector<std::string> names(front.objectives().begin(),
                                 front.objectives().end());
  if (names.empty()) names = {ObjectiveMetricName(objective)};
  if (names.size() == 1) names.push_back("macs");
  auto value = [&](const v1::Candidate& k, size_t i) {
    return i == 0 ? ObjectiveMetricValue(objective, k.metrics())
                  : CostObjective(k, names[i]);
  };
  auto axis = [&](size_t i) {
    AxisOptions o;
    // Costs and the built-in metrics (accuracies, F1) are never negative.
    o.non_negative = i > 0 || IsBuiltinObjectiveMetric(names[0]);
    return o;
  };
  const bool matrix = names.size() > 2;
  const std::string counted =
      absl::StrCat(front.front_size(), " of ", evaluated.size(), " evaluated");
  std::vector<ScatterPlot> panels;
  // Pairs (x, y): each cost against the metric, then cost against cost.
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t i = 1; i < names.size(); ++i) pairs.push_back({i, 0});
  for (size_t i = 1; i < names.size(); ++i) {
    for (size_t j = i + 1; j < names.size(); ++j) pairs.push_back({i, j});
  }
  for (const auto& [xi, yi] : pairs) {
    ScatterPlot plot;
    plot.title = matrix
                     ? absl::StrCat("Experiment ", id, ": ", names[yi], " vs ",
                                    names[xi], " (front ", counted, ")")
                     : absl::StrCat("Experiment ", id, ": Pareto front (",
                                    counted, " candidates)");
    plot.x_label = AxisLabel(names[xi]);
    plot.y_label = AxisLabel(names[yi]);
    plot.x_axis = axis(xi);
    plot.y_axis = axis(yi);
    plot.step_line = !matrix;
    plot.points_name = "evaluated candidates";
    plot.highlight_name =
        matrix ? absl::StrCat("Pareto front over ", absl::StrJoin(names, ", "))
               : "Pareto front";
    auto point = [&, xi = xi, yi = yi](const v1::Candidate& k) {
      return PlotPoint{
          value(k, xi), value(k, yi),
          absl::StrCat("candidate ", k.id(), " ", k.genotype().canonical())};
    };
    for (const v1::Candidate& k : evaluated) plot.points.push_back(point(k));
    for (const v1::Candidate& k : front.front()) {
      plot.highlight.push_back(point(k));
    }
    panels.push_back(std::move(plot));
  }
  return RenderPanelsSvg(panels, /*columns=*/3);
}

}  // namespace nas
