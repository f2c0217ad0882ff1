#include "client/learning_curves.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/svg_plot.h"

namespace nas {
namespace {

std::string StateName(v1::CandidateState s) {
  const std::string n = v1::CandidateState_Name(s);
  return n.substr(n.find('_') + 1);
}

double Best(const v1::LearningCurve& c) {
  double best = 0;
  for (const v1::CurvePoint& p : c.points()) {
    best = std::max(best, p.val_accuracy());
  }
  return best;
}

bool Stopped(const v1::LearningCurve& c) { return c.stopped_at_epoch() > 0; }

// The accuracies by epoch, compact.
std::string ByEpoch(const v1::LearningCurve& c) {
  std::vector<std::string> v;
  const int n = c.points_size();
  for (int i = 0; i < n; ++i) {
    if (n > 8 && i == 4) {
      v.push_back("...");
      i = n - 4;
      continue;
    }
    v.push_back(absl::StrFormat("%.3f", c.points(i).val_accuracy()));
  }
  return absl::StrJoin(v, " ");
}

}  // namespace

std::string LearningCurvesTable(const v1::ListLearningCurvesResponse& curves) {
  if (curves.curves().empty()) {
    return "no learning curves: no trial has reported an epoch yet (TABULAR "
           "and ZERO_COST evaluations train none)\n";
  }
  std::string out =
      absl::StrFormat("%9s %5s %-10s %7s %6s  %s\n", "CANDIDATE", "SEQ",
                      "STATE", "EPOCHS", "BEST", "VAL_ACC BY EPOCH");
  int stopped = 0;
  for (const v1::LearningCurve& c : curves.curves()) {
    const int last =
        c.points().empty() ? 0 : c.points(c.points_size() - 1).epoch();
    std::string note;
    if (Stopped(c)) {
      ++stopped;
      note = absl::StrCat("  stopped at epoch ", c.stopped_at_epoch(),
                          c.early_stopped().empty() ? "" : ": ",
                          c.early_stopped());
    }
    if (c.final_of() != 0) absl::StrAppend(&note, "  final of ", c.final_of());
    absl::StrAppendFormat(
        &out, "%9d %5d %-10s %7s %6s  %s%s\n", c.candidate_id(), c.seq(),
        StateName(c.state()), absl::StrCat(last, "/", curves.epochs()),
        c.points().empty() ? "-" : absl::StrFormat("%.4f", Best(c)), ByEpoch(c),
        note);
  }
  absl::StrAppendFormat(&out, "%d curves, %d stopped early\n",
                        curves.curves_size(), stopped);
  return out;
}

std::string RenderLearningCurvesSvg(
    int64_t experiment_id, const v1::ListLearningCurvesResponse& curves) {
  // The best search trial: the highest val_accuracy at its last epoch.
  const v1::LearningCurve* best = nullptr;
  int drawn = 0, stopped = 0;
  for (const v1::LearningCurve& c : curves.curves()) {
    if (c.points().empty()) continue;
    ++drawn;
    stopped += Stopped(c);
    if (c.final_of() != 0) continue;
    auto last = [](const v1::LearningCurve& k) {
      return k.points(k.points_size() - 1).val_accuracy();
    };
    if (best == nullptr || last(c) > last(*best)) best = &c;
  }
  // Thinner and fainter as curves multiply.
  const double width = drawn > 50 ? 0.8 : 1.2;
  const double opacity = drawn > 50 ? 0.3 : 0.55;
  enum { kRan, kStopped, kFinal, kBest };
  LineChart chart;
  chart.styles = {{"ran every epoch", "#1f77b4", width, opacity},
                  {"stopped early", "#ff7f0e", width, opacity},
                  {"final re-training", "#2ca02c", width, opacity},
                  {best == nullptr ? "best trial"
                                   : absl::StrCat("best trial (candidate ",
                                                  best->candidate_id(), ")"),
                   "#d62728", 2.5, 1}};
  chart.title = absl::StrFormat(
      "Experiment %d: validation accuracy by epoch (%d trials, %d stopped "
      "early)",
      experiment_id, drawn, stopped);
  chart.x_label = "epoch";
  chart.y_label = "validation accuracy";
  chart.x_axis.integer = true;
  chart.x_axis.non_negative = true;
  chart.y_axis.non_negative = true;
  if (curves.epochs() > 0) chart.x_max = curves.epochs();
  chart.marker_name = "early stopping cut the trial here";
  LineSeries top;
  for (const v1::LearningCurve& c : curves.curves()) {
    if (c.points().empty()) continue;
    LineSeries l;
    for (const v1::CurvePoint& p : c.points()) {
      l.points.push_back({static_cast<double>(p.epoch()), p.val_accuracy()});
    }
    std::stable_sort(
        l.points.begin(), l.points.end(),
        [](const PlotPoint& a, const PlotPoint& b) { return a.x < b.x; });
    const double last = c.points(c.points_size() - 1).val_accuracy();
    l.label = absl::StrFormat(
        "candidate %d (seq %d, trial %d, attempt %d): %d epochs, last "
        "val_acc %.4f",
        c.candidate_id(), c.seq(), c.trial_id(), c.attempt(), c.points_size(),
        last);
    l.style = &c == best          ? kBest
              : c.final_of() != 0 ? kFinal
              : Stopped(c)        ? kStopped
                                  : kRan;
    if (Stopped(c)) {
      // At the epoch STOP answered, else at the last one reported.
      PlotPoint at = l.points.back();
      for (const v1::CurvePoint& p : c.points()) {
        if (p.epoch() == c.stopped_at_epoch()) {
          at = {static_cast<double>(p.epoch()), p.val_accuracy()};
        }
      }
      at.label = absl::StrCat("candidate ", c.candidate_id(),
                              ": stopped at epoch ", c.stopped_at_epoch(),
                              c.early_stopped().empty() ? "" : ": ",
                              c.early_stopped());
      l.marker = at;
    }
    if (&c == best) {
      top = std::move(l);  // drawn last, on top
    } else {
      chart.series.push_back(std::move(l));
    }
  }
  if (best != nullptr) chart.series.push_back(std::move(top));
  return RenderLineChartSvg(chart);
}

}  // namespace nas
