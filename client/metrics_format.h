// How nasctl prints metrics beyond the fixed columns: a COMMAND trainer's
// named metrics, and the candidates table's column for an objective metric
// other than val_accuracy. Pure functions, thread-safe.
#ifndef NAS_CLIENT_METRICS_FORMAT_H_
#define NAS_CLIENT_METRICS_FORMAT_H_

#include <cstdint>
#include <string>

#include "nas/v1/architecture.pb.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// `m`'s named metrics sorted by name, "name value" (value %.6g) joined by
// ", "; "" when it has none.
std::string NamedMetricsText(const v1::EvaluationMetrics& m);

// The MACs and parameters a listing shows: the analytic ones (known
// before training), else, for a space without an analytic cost (a
// declared one), what the evaluation reported.
int64_t ShownMacs(const v1::Candidate& c);
int64_t ShownParams(const v1::Candidate& c);

// A count as nasctl prints MACs and parameters: 950, 12.3k, 4.56M, 1.20G.
std::string HumanCount(int64_t v);

// The header of the candidates table's objective column: the objective
// metric's name (objective.metric; val_recall:<class> as written), or ""
// when it is val_accuracy, which has a column of its own.
std::string ObjectiveColumnHeader(const v1::ObjectiveSpec& objective);

// The objective column's cell for `k`: the objective metric's value (%.4f),
// or "-" when `k` has no result, is a final re-training (whose validation
// metrics are not the search's), or lacks that named metric.
std::string ObjectiveCell(const v1::ObjectiveSpec& objective,
                          const v1::Candidate& k);

}  // namespace nas

#endif  // NAS_CLIENT_METRICS_FORMAT_H_
