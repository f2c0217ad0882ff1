// Rank correlations between two paired samples: Spearman's rho and
// Kendall's tau-b, both with ties handled. Used by nasctl proxies (proxy
// scores against trained accuracy) and bench/supernet_ranking (inherited
// against standalone accuracy). Pure functions, thread-safe.
#ifndef NAS_COMMON_RANK_CORRELATION_H_
#define NAS_COMMON_RANK_CORRELATION_H_

#include <vector>

namespace nas {

// Ranks from 1, ties given the mean of the ranks they span
// ({10, 20, 20, 30} -> {1, 2.5, 2.5, 4}).
std::vector<double> Ranks(const std::vector<double>& v);

// Pearson's correlation of `a` and `b` (same size). 0 when either has no
// variance or fewer than two values: not an error.
double Pearson(const std::vector<double>& a, const std::vector<double>& b);

// Spearman's rho: Pearson's correlation of the ranks. 1 for any strictly
// increasing relation, -1 for a strictly decreasing one; 0 as Pearson.
double Spearman(const std::vector<double>& a, const std::vector<double>& b);

// Kendall's tau-b: (concordant - discordant) / sqrt((n0 - t_a) * (n0 -
// t_b)), n0 the number of pairs, t_a the pairs tied in `a` and t_b those
// tied in `b`. 0 when either sample is constant, has fewer than two values
// or the sizes differ. O(n^2).
double KendallTauB(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace nas

#endif  // NAS_COMMON_RANK_CORRELATION_H_
