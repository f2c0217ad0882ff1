// Non-dominated sorting for multi-objective results (NSGA-II, Deb et al.
// 2002). Pure functions, thread-safe. Every objective is maximized (negate
// costs). A point dominates another when it is >= in every objective and >
// in at least one; equal points do not dominate each other.
#ifndef NAS_COMMON_PARETO_H_
#define NAS_COMMON_PARETO_H_

#include <vector>

namespace nas {

// Indices of the points not dominated by any other point, in input order.
// Equal points are all kept. O(n^2 * d).
std::vector<int> ParetoFront(const std::vector<std::vector<double>>& points);

// NSGA-II's fast non-dominated sort: fronts[0] is ParetoFront(points),
// fronts[k] the points dominated only by points of earlier fronts. Indices
// in input order within each front; every point is in exactly one front.
// O(n^2 * d).
std::vector<std::vector<int>> NonDominatedSort(
    const std::vector<std::vector<double>>& points);

// NSGA-II crowding distance of each point of `front` (indices into
// `points`), in the order of `front`: for each objective the points are
// sorted, the two extremes get +infinity, the others the gap between their
// neighbours divided by the objective's range; the distance is the sum over
// objectives. An objective with zero range adds nothing; a front of one or
// two points is all +infinity.
std::vector<double> CrowdingDistance(
    const std::vector<std::vector<double>>& points,
    const std::vector<int>& front);

// Rank (front number, 0 = non-dominated) and crowding distance of every
// point. `Better(a, b)` orders by lower rank, then larger crowding distance
// (NSGA-II's crowded-comparison operator).
struct ParetoRank {
  int rank = 0;
  double crowding = 0;
  bool Better(const ParetoRank& other) const {
    return rank != other.rank ? rank < other.rank : crowding > other.crowding;
  }
};
std::vector<ParetoRank> RankPoints(
    const std::vector<std::vector<double>>& points);

}  // namespace nas

#endif  // NAS_COMMON_PARETO_H_
