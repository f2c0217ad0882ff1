// nasctl curve, searches, proxies: what a search found, drawn and ranked.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/curve.h"
#include "client/learning_curves.h"
#include "client/proxies.h"
#include "client/searches.h"
#include "client/svg_plot.h"
#include "client/terminal_text.h"

namespace nas {
namespace {

int Searches(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return kExitUsage;
  v1::ListSearchEpochsRequest req;
  req.set_experiment_id(id);
  v1::ListSearchEpochsResponse resp;
  grpc::Status s = c.stub->ListSearchEpochs(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(c, s);
  if (c.json) {
    PrintJson(c, resp);
  } else {
    v1::GetExperimentRequest ereq;
    ereq.set_id(id);
    v1::Experiment e;
    s = c.stub->GetExperiment(c.Context().get(), ereq, &e);
    if (!s.ok()) return Fail(c, s);
    std::vector<v1::Candidate> all;
    s = ListAll(c, id, v1::CANDIDATE_STATE_UNSPECIFIED, &all);
    if (!s.ok()) return Fail(c, s);
    for (v1::Candidate& k : all) MakePrintable(&k);
    v1::ListSearchEpochsResponse shown = resp;
    MakePrintable(&shown);
    c.out << SearchTable(all, shown, e.spec().strategy().darts().epochs());
  }
  if (!c.flags.count("svg")) return kExitOk;
  return WriteFile(c, c.flags["svg"], RenderSearchWeightsSvg(resp));
}

int Proxies(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return kExitUsage;
  const std::string metric = c.flags.count("metric") ? c.flags["metric"] : "";
  if (!metric.empty() && !IsZeroCostProxy(metric)) {
    return Usage(c,
                 "--metric: expected synflow, jacob_cov, snip or "
                 "grad_norm, got '" +
                     metric + "'");
  }
  v1::Experiment e;
  std::vector<v1::Candidate> all;
  if (grpc::Status s = GetEvaluated(c, id, &e, &all); !s.ok()) {
    return Fail(c, s);
  }
  MakePrintable(&e);
  for (v1::Candidate& k : all) MakePrintable(&k);
  const std::vector<ProxyPoint> points = PairProxiesWithAccuracy(
      all, e.spec().evaluation().mode() == v1::ZERO_COST);
  const std::string ranked = RankedProxy(e.spec());
  if (c.json) {
    c.out << ProxiesJson(id, points);
  } else {
    c.out << ProxyTable(points, ranked);
  }
  if (!c.flags.count("svg")) return kExitOk;
  if (points.empty()) {
    c.err << "nasctl proxies: nothing to draw; " << c.flags["svg"]
          << " not written\n";
    return kExitOk;
  }
  const std::string proxy = !metric.empty()   ? metric
                            : !ranked.empty() ? ranked
                                              : "synflow";
  return WriteFile(c, c.flags["svg"], RenderProxySvg(points, proxy, id));
}

int Curve(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return kExitUsage;
  v1::Experiment e;
  std::vector<v1::Candidate> all;
  if (grpc::Status s = GetEvaluated(c, id, &e, &all); !s.ok()) {
    return Fail(c, s);
  }
  const std::vector<CurvePoint> curve = BestSoFarCurve(e, all);
  const bool simulated = !curve.empty() && curve.back().simulated_seconds > 0;
  if (c.flags.count("svg")) {
    // Panels: by trial, by wall-clock time, and by simulated seconds when
    // the evaluations report them (TABULAR mode).
    std::vector<ScatterPlot> panels(simulated ? 3 : 2);
    panels[0].title =
        absl::StrCat("Experiment ", id, ": best validation accuracy by trial (",
                     curve.size(), " trials)");
    panels[0].x_label = "trials evaluated";
    panels[1].title =
        absl::StrCat("Experiment ", id, ": best validation accuracy over time");
    panels[1].x_label = "seconds since the experiment started";
    if (simulated) {
      panels[2].title = absl::StrCat(
          "Experiment ", id, ": best validation accuracy over simulated time");
      panels[2].x_label = "simulated seconds (cumulative)";
    }
    for (const CurvePoint& p : curve) {
      const std::string label =
          absl::StrFormat("trial %d: candidate %d, val_acc %.4f", p.trial,
                          p.candidate_id, p.val_accuracy);
      const double xs[] = {static_cast<double>(p.trial), p.seconds,
                           p.simulated_seconds};
      for (size_t i = 0; i < panels.size(); ++i) {
        panels[i].points.push_back({xs[i], p.val_accuracy, label});
        if (p.improved) {
          panels[i].highlight.push_back({xs[i], p.best_val_accuracy, label});
        }
        panels[i].step_line_to_x = xs[i];  // the best line reaches the end
      }
    }
    for (ScatterPlot& panel : panels) {
      panel.y_label = "validation accuracy";
      panel.points_name = "trial's validation accuracy";
      panel.highlight_name = "best so far";
      panel.x_axis.non_negative = true;  // trials and seconds
      panel.y_axis.non_negative = true;
    }
    panels[0].x_axis.integer = true;
    int rc = WriteFile(c, c.flags["svg"], RenderPanelsSvg(panels));
    if (rc != 0) return rc;
  }
  if (c.json) {
    PrintJson(c, CurveToStruct(id, curve));
    return kExitOk;
  }
  c.out << absl::StrFormat("%6s %9s %9s %s%8s %8s\n", "TRIAL", "CANDIDATE",
                           "SECONDS", simulated ? "    SIM_S " : "", "VAL_ACC",
                           "BEST");
  for (const CurvePoint& p : curve) {
    c.out << absl::StrFormat(
        "%6d %9d %9.1f %s%8.4f %8.4f%s\n", p.trial, p.candidate_id, p.seconds,
        simulated ? absl::StrFormat("%9.0f ", p.simulated_seconds) : "",
        p.val_accuracy, p.best_val_accuracy, p.improved ? " *" : "");
  }
  return kExitOk;
}

// Every page of ListLearningCurves, as one response.
int Curves(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return kExitUsage;
  v1::ListLearningCurvesRequest req;
  req.set_experiment_id(id);
  req.set_page_size(1000);
  v1::ListLearningCurvesResponse all;
  while (true) {
    v1::ListLearningCurvesResponse page;
    grpc::Status s = c.stub->ListLearningCurves(c.Context().get(), req, &page);
    if (!s.ok()) return Fail(c, s);
    if (req.page_token().empty()) all.set_epochs(page.epochs());
    for (v1::LearningCurve& k : *page.mutable_curves()) {
      *all.add_curves() = std::move(k);
    }
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
  }
  // Stored text (reasons) escaped for the terminal and the SVG alike.
  v1::ListLearningCurvesResponse shown = all;
  MakePrintable(&shown);
  const bool any = std::any_of(
      all.curves().begin(), all.curves().end(),
      [](const v1::LearningCurve& k) { return !k.points().empty(); });
  if (c.flags.count("svg") && !any) {
    c.err << "nasctl curves: nothing to draw; " << c.flags["svg"]
          << " not written\n";
  } else if (c.flags.count("svg")) {
    int rc = WriteFile(c, c.flags["svg"], RenderLearningCurvesSvg(id, shown));
    if (rc != 0) return rc;
  }
  if (c.json) {
    PrintJson(c, all);
    return kExitOk;
  }
  c.out << LearningCurvesTable(shown);
  return kExitOk;
}

}  // namespace

Command CurveCommand() {
  Command c;
  c.name = "curve";
  c.args = "ID";
  c.summary = "best validation accuracy so far against trials and time";
  c.details =
      "-o json: {\"experiment_id\": \"3\", \"points\": [{\"trial\": 1, "
      "\"candidate_id\": \"12\",\n\"seconds\": 4.2, "
      "\"simulated_seconds\": 0, \"val_accuracy\": 0.91,\n"
      "\"best_val_accuracy\": 0.91, \"improved\": true}, ...]} (named and "
      "typed as the\nAPI's messages are: int64 ids as strings).";
  c.flags = {{"svg", 0, "FILE", "",
              "also draw it: by trial, by time, by simulated time when "
              "reported"}};
  c.examples = {"nasctl curve 7 --svg curve.svg"};
  c.min_args = 1;
  c.max_args = 1;
  c.run = Curve;
  return c;
}

Command CurvesCommand() {
  Command c;
  c.name = "curves";
  c.args = "ID";
  c.summary = "per-trial learning curves and where early stopping cut them";
  c.details =
      "Validation accuracy by epoch for every trained candidate (Optuna's\n"
      "intermediate values), and the epoch where early stopping cut a trial\n"
      "and why. -o json: the API's ListLearningCurvesResponse, every page.";
  c.flags = {{"svg", 0, "FILE", "",
              "also draw them: a line per trial, an X where it was cut"}};
  c.examples = {"nasctl curves 7 --svg curves.svg"};
  c.min_args = 1;
  c.max_args = 1;
  c.run = Curves;
  return c;
}

Command SearchesCommand() {
  Command c;
  c.name = "searches";
  c.args = "ID";
  c.summary = "strategy darts: each differentiable search and its cell";
  c.details =
      "Each search's seed, state, derived cell, its share of parameter-free "
      "operations\n(a WARNING when they dominate: collapse) and the cell's "
      "standalone accuracy.";
  c.flags = {{"svg", 0, "FILE", "",
              "draw the architecture weights over epochs, a panel per edge"}};
  c.examples = {"nasctl searches 7 --svg weights.svg"};
  c.min_args = 1;
  c.max_args = 1;
  c.run = Searches;
  return c;
}

Command ProxiesCommand() {
  Command c;
  c.name = "proxies";
  c.args = "ID";
  c.summary = "zero-cost proxy scores against trained accuracy";
  c.details =
      "Scores (mode ZERO_COST, or proxy-guided evolution's screening) paired "
      "by\ngenotype with trained accuracies: a table, and per proxy "
      "Spearman's rho and\nKendall's tau-b against val and test accuracy.";
  c.flags = {{"metric", 0, "NAME", "the proxy the search ranks by",
              "the proxy --svg draws: synflow, jacob_cov, snip, grad_norm"},
             {"svg", 0, "FILE", "", "draw NAME against validation accuracy"}};
  c.examples = {"nasctl proxies 7 --metric jacob_cov --svg proxy.svg"};
  c.min_args = 1;
  c.max_args = 1;
  c.run = Proxies;
  return c;
}

}  // namespace nas
