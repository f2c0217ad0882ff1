// `nasctl pareto --svg`: the Pareto front drawn over every evaluated
// candidate. Two objectives (the metric and one cost): one panel, the front
// joined by its staircase. Three or more: a scatter matrix, one panel per
// pair of objectives with the front's points highlighted and no staircase
// (a front in three or more dimensions is no step line in any projection).
// Pure function, thread-safe.
#ifndef NAS_CLIENT_PARETO_PLOT_H_
#define NAS_CLIENT_PARETO_PLOT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "nas/v1/experiment.pb.h"

namespace nas {

// The cost `name` ("macs", "params", "latency_ms") of `k`.
double CostObjective(const v1::Candidate& k, const std::string& name);

// `evaluated`: the search candidates drawn grey; `front` and its
// objectives as GetParetoFront answered (objectives(0) is the metric,
// valued with `objective`; no objectives: the metric against "macs").
std::string RenderParetoSvg(int64_t experiment_id,
                            const std::vector<v1::Candidate>& evaluated,
                            const v1::GetParetoFrontResponse& front,
                            const v1::ObjectiveSpec& objective);

}  // namespace nas

#endif  // NAS_CLIENT_PARETO_PLOT_H_
