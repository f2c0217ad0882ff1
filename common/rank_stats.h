// Rank statistics shared by the benchmarks that compare a cheap ranking of
// architectures with trained ground truth (bench/supernet_ranking,
// bench/zero_cost): ranks with ties, Pearson, Spearman's rho, Kendall's
// tau-b, the median. Pure functions, thread-safe.
#ifndef NAS_COMMON_RANK_STATS_H_
#define NAS_COMMON_RANK_STATS_H_

#include <vector>

namespace nas {

// Ranks from 1, ties given the mean of their ranks.
std::vector<double> Ranks(const std::vector<double>& v);

// Pearson's correlation of two equally long series; 0 when either is
// constant or empty.
double Pearson(const std::vector<double>& a, const std::vector<double>& b);

// Spearman's rho: Pearson's correlation of the ranks (ties averaged).
double Spearman(const std::vector<double>& a, const std::vector<double>& b);

// Kendall's tau-b (ties in either series handled); 0 when undefined.
double KendallTauB(const std::vector<double>& a, const std::vector<double>& b);

// The median (mean of the middle two for an even count); 0 when empty.
double Median(std::vector<double> v);

}  // namespace nas

#endif  // NAS_COMMON_RANK_STATS_H_
