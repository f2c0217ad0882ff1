// Defaults of an experiment spec (each documented in the protos), applied
// after parsing and before validation. Pure function, thread-safe.
#ifndef NAS_COMMON_SPEC_DEFAULTS_H_
#define NAS_COMMON_SPEC_DEFAULTS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// The zero-cost proxies a worker computes (evaluation.zero_cost.proxies'
// default, in documentation order): synflow, jacob_cov, snip, grad_norm.
const std::vector<std::string>& ZeroCostProxyNames();
// True for a name in ZeroCostProxyNames().
bool IsZeroCostProxy(absl::string_view name);

// The `evaluation.data` a preset dataset stands for, its files under
// `data_dir`: for "fashion_mnist", IDX files, 28x28x1, 10 named classes,
// explicit normalization (mean 0.2860, std 0.3530). An empty DataSpec for
// other names.

v1::DataSpec PresetData(absl::string_view dataset, absl::string_view data_dir);

// Fills every unset field that has a default (documented in the protos).
// Proto3 cannot tell an explicit 0 from an unset field; when `present` (the
// paths seen in YAML) is given, fields written explicitly keep their value,
// so `epochs: 0` is reported as invalid rather than silently defaulted.
// Without evaluation.data, the preset (evaluation.dataset, default
// fashion_mnist) fills it in. Derived fields are always overwritten:
// objective.metric_class (val_recall's class, resolved against
// evaluation.data) and evaluation.progress_metric
// (CanonicalObjectiveMetric, common/objective.h).
void ApplySpecDefaults(v1::ExperimentSpec* spec,
                       const std::map<std::string, int>* present = nullptr);

}  // namespace nas

#endif  // NAS_COMMON_SPEC_DEFAULTS_H_
