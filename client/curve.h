// The search's progress curve: best validation accuracy so far after each
// evaluated candidate, in the order results were stored. Pure functions,
// thread-safe.
#ifndef NAS_CLIENT_CURVE_H_
#define NAS_CLIENT_CURVE_H_

#include <cstdint>
#include <vector>

#include "google/protobuf/struct.pb.h"
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

// `nasctl curve -o json`'s object, shaped as an API message would be
// (proto3 JSON mapping, snake_case names, int64 ids as strings, every
// field present): {"experiment_id": "3", "points": [{"trial": 1,
// "candidate_id": "12", "seconds": 4.2, "simulated_seconds": 0,
// "val_accuracy": 0.91, "best_val_accuracy": 0.91, "improved": true}]}.
google::protobuf::Struct CurveToStruct(int64_t experiment_id,
                                       const std::vector<CurvePoint>& curve);

}  // namespace nas

#endif  // NAS_CLIENT_CURVE_H_
