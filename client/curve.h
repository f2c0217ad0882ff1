// The search's progress curve: best validation accuracy so far after each
// evaluated candidate, in the order results were stored. Pure functions,
// thread-safe.
#ifndef NAS_CLIENT_CURVE_H_
#define NAS_CLIENT_CURVE_H_

#include <cstdint>
#include <vector>

#include "nas/v1/experiment.pb.h"

namespace nas {

struct CurvePoint {
  int trial = 0;  // 1-based, in order of evaluation
  int64_t candidate_id = 0;
  double seconds = 0;  // since the experiment was created
  // Sum of EvaluationMetrics.simulated_seconds over trials 1..trial (e.g.
  // TABULAR mode's table cost); 0 when the evaluations report none.
  double simulated_seconds = 0;
  double val_accuracy = 0;
  double best_val_accuracy = 0;  // over trials 1..trial
  bool improved = false;         // this trial set a new best
};

// The curve of `experiment` from its candidates (any subset; only
// EVALUATED search candidates count, final re-trainings do not), ordered
// by Candidate.updated_at, ties by id.
std::vector<CurvePoint> BestSoFarCurve(
    const v1::Experiment& experiment,
    const std::vector<v1::Candidate>& candidates);

}  // namespace nas

#endif  // NAS_CLIENT_CURVE_H_
