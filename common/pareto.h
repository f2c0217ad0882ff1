// Non-dominated sorting for multi-objective results. Pure functions,
// thread-safe.
#ifndef NAS_COMMON_PARETO_H_
#define NAS_COMMON_PARETO_H_

#include <vector>

namespace nas {

// Indices of the points not dominated by any other point, in input order.
// Every objective is maximized (negate costs). A point dominates another
// when it is >= in every objective and > in at least one. Equal points are
// all kept. O(n^2 * d).
std::vector<int> ParetoFront(const std::vector<std::vector<double>>& points);

}  // namespace nas

#endif  // NAS_COMMON_PARETO_H_
