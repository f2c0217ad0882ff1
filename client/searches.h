// nasctl searches: what the differentiable searches of a darts experiment
// did. A table of the searches (seed, state, epochs, derived cell, its
// share of parameter-free operations with a collapse warning, and the
// derived candidate's standalone accuracy), and an SVG of the architecture
// weights over epochs: one small panel per edge and search, one line per
// operation. Pure functions, thread-safe.
#ifndef NAS_CLIENT_SEARCHES_H_
#define NAS_CLIENT_SEARCHES_H_

#include <string>
#include <vector>

#include "nas/v1/experiment.pb.h"

namespace nas {

// A derived cell's share of parameter-free operations above which a search
// is reported as collapsed.
inline constexpr double kCollapseShare = 0.5;

// The table, from the search rows and derived candidates among
// `candidates` (any order; others are ignored) and the searches' epochs.
// Ends with one WARNING line per collapsed search.
std::string SearchTable(const std::vector<v1::Candidate>& candidates,
                        const v1::ListSearchEpochsResponse& epochs,
                        int epochs_per_search);

// The architecture weights' picture: a grid with a row per search and a
// column per edge; every panel plots softmax(alpha) of its edge against the
// epoch (one y range for all panels: the weights' own, rounded out to 0.05),
// one coloured line per operation, with a legend.
// Panels are <g class="panel">, lines <polyline class="op-N">.
std::string RenderSearchWeightsSvg(const v1::ListSearchEpochsResponse& epochs);

}  // namespace nas

#endif  // NAS_CLIENT_SEARCHES_H_
