// Validation of zero-cost proxies: evaluation.mode ZERO_COST, its options
// (evaluation.zero_cost) and proxy-guided evolution
// (strategy.evolution.proxy). Declared in validate_sections.h.
#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/spec/defaults.h"
#include "common/spec/validate_sections.h"

namespace nas {
namespace {

// `metric` must be one of the proxies evaluation.zero_cost computes.
void ValidateProxyChoice(const v1::ExperimentSpec& spec,
                         const std::string& field, const std::string& metric,
                         FieldErrorList* errors) {
  const auto& proxies = spec.evaluation().zero_cost().proxies();
  if (!IsZeroCostProxy(metric)) {
    errors->Add(field,
                absl::StrCat("unknown proxy '", metric, "' (one of: ",
                             absl::StrJoin(ZeroCostProxyNames(), ", "), ")"));
  } else if (std::find(proxies.begin(), proxies.end(), metric) ==
             proxies.end()) {
    errors->Add(field, absl::StrCat("'", metric,
                                    "' is not among evaluation.zero_cost."
                                    "proxies (",
                                    absl::StrJoin(proxies, ", "), ")"));
  }
}

}  // namespace

void ValidateZeroCost(const v1::ExperimentSpec& spec, FieldErrorList* errors) {
  const v1::EvaluationSpec& e = spec.evaluation();
  const v1::ProxyGuidance& guide = spec.strategy().evolution().proxy();
  const bool guided =
      spec.strategy().name() == "evolution" && guide.children() != 0;
  const std::string p = "spec.evaluation.zero_cost.";
  if (e.mode() != v1::ZERO_COST && !guided) {
    if (e.has_zero_cost()) {
      errors->Add("spec.evaluation.zero_cost",
                  "set evaluation.mode to ZERO_COST, or "
                  "strategy.evolution.proxy.children, to compute proxies");
    }
  } else {
    const v1::ZeroCostOptions& z = e.zero_cost();
    if (z.proxies().empty()) {
      errors->Add(p + "proxies",
                  absl::StrCat("needs at least one of: ",
                               absl::StrJoin(ZeroCostProxyNames(), ", ")));
    }
    std::set<std::string> seen;
    for (int i = 0; i < z.proxies_size(); ++i) {
      const std::string& name = z.proxies(i);
      const std::string field = absl::StrCat(p, "proxies[", i, "]");
      if (!IsZeroCostProxy(name)) {
        errors->Add(field, absl::StrCat(
                               "unknown proxy '", name, "' (one of: ",
                               absl::StrJoin(ZeroCostProxyNames(), ", "), ")"));
      } else if (!seen.insert(name).second) {
        errors->Add(field, absl::StrCat("'", name, "' is listed twice"));
      }
    }
    if (z.batches() < 1 || z.batches() > 16) {
      errors->Add(p + "batches",
                  absl::StrCat("must be in [1, 16], got ", z.batches()));
    }
    if (z.batch_size() < 2 || z.batch_size() > 1024) {
      errors->Add(p + "batch_size",
                  absl::StrCat("must be in [2, 1024], got ", z.batch_size()));
    }
  }
  if (e.mode() == v1::ZERO_COST) {
    if (spec.search_space().name() == "custom") {
      errors->Add("spec.evaluation.mode",
                  "ZERO_COST builds the candidate network in the worker; a "
                  "custom space's networks exist only in your trainer");
    }
    ValidateProxyChoice(spec, "spec.objective.metric",
                        spec.objective().metric(), errors);
  }
  if (spec.strategy().name() != "evolution" || guide.children() == 0) {
    if (spec.strategy().evolution().has_proxy() && guide.children() == 0 &&
        !guide.metric().empty()) {
      errors->Add("spec.strategy.evolution.proxy.children",
                  "set the children scored per slot (>= 2) to use a proxy");
    }
    return;
  }
  const std::string g = "spec.strategy.evolution.proxy.";
  if (guide.children() < 2 || guide.children() > 64) {
    errors->Add(g + "children",
                absl::StrCat("must be in [2, 64], got ", guide.children()));
  }
  ValidateProxyChoice(spec, g + "metric", guide.metric(), errors);
  if (e.mode() != v1::FULL && e.mode() != v1::EARLY_STOPPED &&
      e.mode() != v1::TABULAR) {
    errors->Add(g + "children",
                absl::StrCat("proxy-guided evolution screens children for "
                             "training: evaluation.mode must be FULL, "
                             "EARLY_STOPPED or TABULAR, not ",
                             v1::EvaluationMode_Name(e.mode())));
  }
  if (spec.search_space().name() == "custom") {
    errors->Add(g + "children",
                "proxies need a network the worker builds (nb201, "
                "mobilenet); a custom space's networks exist only in your "
                "trainer");
  }
}

}  // namespace nas
