#include "common/pareto.h"

#include <algorithm>
#include <cstddef>
#include <limits>

namespace nas {

namespace {
bool Dominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool strictly = false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] < b[i]) return false;
    if (a[i] > b[i]) strictly = true;
  }
  return strictly;
}
}  // namespace

std::vector<int> ParetoFront(const std::vector<std::vector<double>>& points) {
  std::vector<int> front;
  for (size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      dominated = j != i && Dominates(points[j], points[i]);
    }
    if (!dominated) front.push_back(static_cast<int>(i));
  }
  return front;
}

std::vector<std::vector<int>> NonDominatedSort(
    const std::vector<std::vector<double>>& points) {
  const size_t n = points.size();
  std::vector<std::vector<int>> dominates(n);  // i dominates these
  std::vector<int> dominated_by(n, 0);         // how many dominate i
  std::vector<std::vector<int>> fronts;
  std::vector<int> current;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (i == j) continue;
      if (Dominates(points[i], points[j])) {
        dominates[i].push_back(static_cast<int>(j));
      } else if (Dominates(points[j], points[i])) {
        ++dominated_by[i];
      }
    }
    if (dominated_by[i] == 0) current.push_back(static_cast<int>(i));
  }
  while (!current.empty()) {
    std::vector<int> next;
    for (int i : current) {
      for (int j : dominates[i]) {
        if (--dominated_by[j] == 0) next.push_back(j);
      }
    }
    std::sort(next.begin(), next.end());
    fronts.push_back(std::move(current));
    current = std::move(next);
  }
  return fronts;
}

std::vector<double> CrowdingDistance(
    const std::vector<std::vector<double>>& points,
    const std::vector<int>& front) {
  const double inf = std::numeric_limits<double>::infinity();
  const size_t m = front.size();
  std::vector<double> distance(m, 0.0);
  if (m <= 2) return std::vector<double>(m, inf);
  const size_t objectives = points[front[0]].size();
  std::vector<size_t> order(m);
  for (size_t k = 0; k < objectives; ++k) {
    for (size_t i = 0; i < m; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return points[front[a]][k] < points[front[b]][k];
    });
    const double lo = points[front[order.front()]][k];
    const double hi = points[front[order.back()]][k];
    distance[order.front()] = inf;
    distance[order.back()] = inf;
    if (hi == lo) continue;
    for (size_t i = 1; i + 1 < m; ++i) {
      distance[order[i]] +=
          (points[front[order[i + 1]]][k] - points[front[order[i - 1]]][k]) /
          (hi - lo);
    }
  }
  return distance;
}

std::vector<ParetoRank> RankPoints(
    const std::vector<std::vector<double>>& points) {
  std::vector<ParetoRank> out(points.size());
  std::vector<std::vector<int>> fronts = NonDominatedSort(points);
  for (size_t f = 0; f < fronts.size(); ++f) {
    std::vector<double> d = CrowdingDistance(points, fronts[f]);
    for (size_t i = 0; i < fronts[f].size(); ++i) {
      out[fronts[f][i]] = {static_cast<int>(f), d[i]};
    }
  }
  return out;
}

}  // namespace nas
