#include "common/pareto.h"

#include <cstddef>

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

}  // namespace nas
