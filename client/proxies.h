// nasctl proxies: how well zero-cost proxy scores (mode ZERO_COST, and the
// screening candidates of proxy-guided evolution) rank architectures
// against their trained accuracy. Pairs the two by genotype, prints a table
// and Spearman's rho and Kendall's tau-b per proxy, and draws one proxy
// against trained accuracy as an SVG scatter. Also the proxy names and the
// screening counts line that `nasctl candidates` and `nasctl show` use.
// Pure functions, thread-safe.
#ifndef NAS_CLIENT_PROXIES_H_
#define NAS_CLIENT_PROXIES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/spec/defaults.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// The proxies' names and order: ZeroCostProxyNames() and IsZeroCostProxy()
// of common/spec/defaults.h.

// The proxy `spec`'s experiment ranks by: strategy.evolution.proxy.metric
// when proxy guidance is on (children > 0; "synflow" when unset), else
// objective.metric when it is a proxy, else "synflow" in mode ZERO_COST
// (its default objective); "" when the experiment ranks by no proxy.
std::string RankedProxy(const v1::ExperimentSpec& spec);

// `nasctl show`'s screening line, "12 (2 slots being scored)"; "" when the
// experiment screened nothing and has nothing pending.
std::string ScreenedText(const v1::ExperimentCounts& counts);

// One genotype with a proxy score and a trained accuracy.
struct ProxyPoint {
  std::string genotype;      // canonical string
  int64_t candidate_id = 0;  // the fully trained row; 0: only re-trained
  // Mean score per proxy over the rows that scored this genotype.
  std::map<std::string, double> proxies;
  // Mean over the fully trained rows (EVALUATED, not screening, not a
  // final re-training, not in a ZERO_COST experiment).
  std::optional<double> val_accuracy;
  // The final re-trainings' (Candidate.final, or the re-training rows'
  // own metrics) when there are any, else the fully trained rows'.
  std::optional<double> test_accuracy;
};

// Pairs proxy scores with trained accuracies by genotype (canonical
// string; the hash when that is empty). A score comes from an EVALUATED
// row that is a screening candidate, or any EVALUATED row when `zero_cost`
// (the experiment's mode is ZERO_COST); a trained accuracy from a fully
// trained row (val and test) or a final re-training (test); scores that
// are not finite are ignored. Genotypes with
// only one of the two are left out. Sorted by val_accuracy (else
// test_accuracy) descending, ties by genotype.
std::vector<ProxyPoint> PairProxiesWithAccuracy(
    const std::vector<v1::Candidate>& candidates, bool zero_cost);

// Rank correlations of one proxy against the trained accuracies, over the
// points that have both; rho and tau are 0 with fewer than two points.
struct ProxyCorrelation {
  std::string proxy;
  int n_val = 0;
  double rho_val = 0, tau_val = 0;
  int n_test = 0;
  double rho_test = 0, tau_test = 0;
};

// One entry per proxy some point has, in ZeroCostProxyNames() order.
std::vector<ProxyCorrelation> ProxyCorrelations(
    const std::vector<ProxyPoint>& points);

// The table (CANDIDATE, one column per proxy, VAL_ACC, TEST_ACC, GENOTYPE)
// followed by the correlations, one line per proxy; `ranked` (may be "")
// is marked "(ranks the search)". With no points, one line saying why
// there is nothing to show.
std::string ProxyTable(const std::vector<ProxyPoint>& points,
                       const std::string& ranked);

// `nasctl proxies --output json`: {"experiment_id": "3", "points":
// [{"genotype": "...", "candidate_id": "7", "proxies": {"synflow": ...},
// "val_accuracy": ..., "test_accuracy": ...}], "correlations": [{"proxy":
// "synflow", "n_val": ..., "rho_val": ..., "tau_val": ..., "n_test": ...,
// "rho_test": ..., "tau_test": ...}]}; an accuracy a point lacks is null.
// Named and typed as the API's messages are (int64 ids as strings).
std::string ProxiesJson(int64_t experiment_id,
                        const std::vector<ProxyPoint>& points);

// A scatter of `proxy` (x; log10 when every score is > 0 and they span more
// than two decades) against validation accuracy (y; test accuracy when no
// point has a validation accuracy), titled with the experiment and the
// Spearman rho. Points lacking the proxy or the accuracy are left out.
// Points are the <circle>s in <g class="points">.
std::string RenderProxySvg(const std::vector<ProxyPoint>& points,
                           const std::string& proxy, int64_t experiment_id);

}  // namespace nas

#endif  // NAS_CLIENT_PROXIES_H_
