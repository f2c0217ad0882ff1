#include "client/proxies.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/svg_plot.h"
#include "common/rank_stats.h"
#include "common/spec/defaults.h"

namespace nas {
namespace {

double Mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / v.size();
}

std::optional<double> MeanOrNone(const std::vector<double>& v) {
  if (v.empty()) return std::nullopt;
  return Mean(v);
}

// The accuracy a point is plotted and sorted by: val, else test.
double Accuracy(const ProxyPoint& p) {
  return p.val_accuracy.value_or(p.test_accuracy.value_or(0));
}

}  // namespace

std::string RankedProxy(const v1::ExperimentSpec& spec) {
  const v1::ProxyGuidance& g = spec.strategy().evolution().proxy();
  if (g.children() > 0) return g.metric().empty() ? "synflow" : g.metric();
  if (IsZeroCostProxy(spec.objective().metric()))
    return spec.objective().metric();
  if (spec.evaluation().mode() == v1::ZERO_COST) return "synflow";
  return "";
}

std::string ScreenedText(const v1::ExperimentCounts& n) {
  if (n.screened() == 0 && n.screens_pending() == 0) return "";
  return absl::StrCat(n.screened(), " (", n.screens_pending(),
                      n.screens_pending() == 1 ? " slot" : " slots",
                      " being scored)");
}

std::vector<ProxyPoint> PairProxiesWithAccuracy(
    const std::vector<v1::Candidate>& candidates, bool zero_cost) {
  struct Acc {
    std::string genotype;
    int64_t candidate_id = 0;
    std::map<std::string, std::vector<double>> proxies;
    std::vector<double> val, test, final_test;
  };
  std::map<std::string, Acc> by_key;
  for (const v1::Candidate& k : candidates) {
    // Screening rows are stored with supernet set too (migration 0019).
    if (k.state() != v1::CANDIDATE_EVALUATED ||
        (k.supernet() && !k.screening()) || k.search()) {
      continue;
    }
    const std::string& key = k.genotype().canonical().empty()
                                 ? k.genotype().hash()
                                 : k.genotype().canonical();
    if (key.empty()) continue;
    Acc& a = by_key[key];
    a.genotype = k.genotype().canonical();
    const bool final_row = k.final_of() != 0;
    if (final_row) {
      a.final_test.push_back(k.metrics().test_accuracy());
      continue;
    }
    if (k.has_final()) a.final_test.push_back(k.final().test_accuracy());
    if (k.screening() || zero_cost) {
      for (const auto& [name, value] : k.metrics().named_metrics()) {
        // An overflowed score (synflow of a deep net can reach inf) ranks
        // nothing and would break the sort of ranks.
        if (IsZeroCostProxy(name) && std::isfinite(value)) {
          a.proxies[name].push_back(value);
        }
      }
      continue;
    }
    if (!k.has_metrics()) continue;
    a.val.push_back(k.metrics().val_accuracy());
    a.test.push_back(k.metrics().test_accuracy());
    if (a.candidate_id == 0) a.candidate_id = k.id();
  }
  std::vector<ProxyPoint> points;
  for (auto& [key, a] : by_key) {
    if (a.proxies.empty() || (a.val.empty() && a.final_test.empty())) continue;
    ProxyPoint p;
    p.genotype = a.genotype.empty() ? key : a.genotype;
    p.candidate_id = a.candidate_id;
    for (const auto& [name, scores] : a.proxies) p.proxies[name] = Mean(scores);
    p.val_accuracy = MeanOrNone(a.val);
    p.test_accuracy = MeanOrNone(a.final_test.empty() ? a.test : a.final_test);
    points.push_back(std::move(p));
  }
  std::sort(points.begin(), points.end(),
            [](const ProxyPoint& a, const ProxyPoint& b) {
              if (Accuracy(a) != Accuracy(b)) return Accuracy(a) > Accuracy(b);
              return a.genotype < b.genotype;
            });
  return points;
}

std::vector<ProxyCorrelation> ProxyCorrelations(
    const std::vector<ProxyPoint>& points) {
  std::vector<ProxyCorrelation> out;
  for (const std::string& name : ZeroCostProxyNames()) {
    std::vector<double> xv, yv, xt, yt;
    bool any = false;
    for (const ProxyPoint& p : points) {
      auto it = p.proxies.find(name);
      if (it == p.proxies.end()) continue;
      any = true;
      if (p.val_accuracy)
        xv.push_back(it->second), yv.push_back(*p.val_accuracy);
      if (p.test_accuracy) {
        xt.push_back(it->second), yt.push_back(*p.test_accuracy);
      }
    }
    if (!any) continue;
    ProxyCorrelation c;
    c.proxy = name;
    c.n_val = static_cast<int>(xv.size());
    c.rho_val = Spearman(xv, yv);
    c.tau_val = KendallTauB(xv, yv);
    c.n_test = static_cast<int>(xt.size());
    c.rho_test = Spearman(xt, yt);
    c.tau_test = KendallTauB(xt, yt);
    out.push_back(c);
  }
  return out;
}

std::string ProxyTable(const std::vector<ProxyPoint>& points,
                       const std::string& ranked) {
  if (points.empty()) {
    return "no genotype has both a proxy score and a trained accuracy "
           "(proxies come from mode ZERO_COST or proxy-guided evolution's "
           "screening candidates; accuracies from fully trained candidates "
           "or final re-trainings)\n";
  }
  const std::vector<ProxyCorrelation> corr = ProxyCorrelations(points);
  std::string out = absl::StrFormat("%9s", "CANDIDATE");
  for (const ProxyCorrelation& c : corr) {
    absl::StrAppendFormat(&out, " %9s", absl::AsciiStrToUpper(c.proxy));
  }
  absl::StrAppendFormat(&out, " %8s %8s  %s\n", "VAL_ACC", "TEST_ACC",
                        "GENOTYPE");
  auto acc = [](const std::optional<double>& v) {
    return v ? absl::StrFormat("%.4f", *v) : std::string("-");
  };
  for (const ProxyPoint& p : points) {
    absl::StrAppendFormat(
        &out, "%9s",
        p.candidate_id == 0 ? std::string("-") : absl::StrCat(p.candidate_id));
    for (const ProxyCorrelation& c : corr) {
      auto it = p.proxies.find(c.proxy);
      absl::StrAppendFormat(&out, " %9s",
                            it == p.proxies.end()
                                ? std::string("-")
                                : absl::StrFormat("%.3g", it->second));
    }
    absl::StrAppendFormat(&out, " %8s %8s  %s\n", acc(p.val_accuracy),
                          acc(p.test_accuracy), p.genotype);
  }
  absl::StrAppendFormat(&out,
                        "%d genotypes with a proxy score and a trained "
                        "accuracy\n\n",
                        points.size());
  absl::StrAppendFormat(&out, "%-10s %7s %7s %5s %7s %7s %5s\n", "PROXY",
                        "RHO_VAL", "TAU_VAL", "N_VAL", "RHO_TST", "TAU_TST",
                        "N_TST");
  auto num = [](int n, double v) {
    return n < 2 ? std::string("-") : absl::StrFormat("%.3f", v);
  };
  for (const ProxyCorrelation& c : corr) {
    absl::StrAppendFormat(&out, "%-10s %7s %7s %5d %7s %7s %5d%s\n", c.proxy,
                          num(c.n_val, c.rho_val), num(c.n_val, c.tau_val),
                          c.n_val, num(c.n_test, c.rho_test),
                          num(c.n_test, c.tau_test), c.n_test,
                          c.proxy == ranked ? "  (ranks the search)" : "");
  }
  out +=
      "(Spearman's rho and Kendall's tau-b against the trained validation "
      "and test accuracy; 1 = the proxy orders the genotypes as training "
      "does)\n";
  return out;
}

std::string ProxiesJson(int64_t id, const std::vector<ProxyPoint>& points) {
  std::string out;
  auto num = [](const std::optional<double>& v) {
    return v ? absl::StrFormat("%.17g", *v) : std::string("null");
  };
  // int64 ids as strings, as in the API's messages (proto3 JSON mapping).
  absl::StrAppend(&out, "{\"experiment_id\": \"", id, "\", \"points\": [");
  for (size_t i = 0; i < points.size(); ++i) {
    const ProxyPoint& p = points[i];
    std::string proxies;
    for (const auto& [name, value] : p.proxies) {
      absl::StrAppendFormat(&proxies, "%s\"%s\": %.17g",
                            proxies.empty() ? "" : ", ", name, value);
    }
    // Canonical strings hold no quotes or backslashes; escape anyway.
    std::string genotype;
    for (char ch : p.genotype) {
      if (ch == '"' || ch == '\\') genotype += '\\';
      genotype += ch;
    }
    absl::StrAppend(&out, i ? ",\n  " : "\n  ");
    absl::StrAppendFormat(&out,
                          "{\"genotype\": \"%s\", \"candidate_id\": \"%d\", "
                          "\"proxies\": {%s}, \"val_accuracy\": %s, "
                          "\"test_accuracy\": %s}",
                          genotype, p.candidate_id, proxies,
                          num(p.val_accuracy), num(p.test_accuracy));
  }
  out += "\n], \"correlations\": [";
  const std::vector<ProxyCorrelation> corr = ProxyCorrelations(points);
  for (size_t i = 0; i < corr.size(); ++i) {
    const ProxyCorrelation& r = corr[i];
    absl::StrAppend(&out, i ? ",\n  " : "\n  ");
    absl::StrAppendFormat(
        &out,
        "{\"proxy\": \"%s\", \"n_val\": %d, \"rho_val\": %.6f, "
        "\"tau_val\": %.6f, \"n_test\": %d, \"rho_test\": %.6f, "
        "\"tau_test\": %.6f}",
        r.proxy, r.n_val, r.rho_val, r.tau_val, r.n_test, r.rho_test,
        r.tau_test);
  }
  out += "\n]}\n";
  return out;
}

std::string RenderProxySvg(const std::vector<ProxyPoint>& points,
                           const std::string& proxy, int64_t experiment_id) {
  const bool by_val = std::any_of(
      points.begin(), points.end(),
      [](const ProxyPoint& p) { return p.val_accuracy.has_value(); });
  ScatterPlot plot;
  std::vector<double> xs, ys;
  for (const ProxyPoint& p : points) {
    auto it = p.proxies.find(proxy);
    const std::optional<double>& y = by_val ? p.val_accuracy : p.test_accuracy;
    if (it == p.proxies.end() || !y) continue;
    xs.push_back(it->second);
    ys.push_back(*y);
    plot.points.push_back(
        {it->second, *y,
         absl::StrFormat(
             "%s %.4g, %s %.4f: %s%s", proxy, it->second,
             by_val ? "val_acc" : "test_acc", *y, p.genotype,
             p.candidate_id == 0
                 ? std::string()
                 : absl::StrCat(" (candidate ", p.candidate_id, ")"))});
  }
  const double lo = xs.empty() ? 0 : *std::min_element(xs.begin(), xs.end());
  const double hi = xs.empty() ? 0 : *std::max_element(xs.begin(), xs.end());
  plot.x_axis.log = lo > 0 && hi / lo > 100;
  plot.y_axis.non_negative = true;  // an accuracy
  plot.title = absl::StrFormat(
      "Experiment %d: %s vs %s accuracy (%d genotypes, Spearman rho %s)",
      experiment_id, proxy, by_val ? "validation" : "test", xs.size(),
      xs.size() < 2 ? std::string("-")
                    : absl::StrFormat("%.3f", Spearman(xs, ys)));
  plot.x_label = absl::StrCat(proxy, " score at initialization",
                              plot.x_axis.log ? " (log scale)" : "");
  plot.points_name = "genotypes";
  plot.y_label = by_val ? "validation accuracy (trained)"
                        : "test accuracy (final re-training)";
  return RenderScatterSvg(plot);
}

}  // namespace nas
