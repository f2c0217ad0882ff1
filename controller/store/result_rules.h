// What a trial's result may carry: one rule shared by dispatch (which asks
// a worker for a model, Trial.export_model) and the store (which refuses a
// model nobody asked for), so that what is asked and what is accepted
// cannot drift apart. Pure functions; no SQL.
#ifndef NAS_CONTROLLER_STORE_RESULT_RULES_H_
#define NAS_CONTROLLER_STORE_RESULT_RULES_H_

#include "nas/v1/architecture.pb.h"

namespace nas {

// A leased trial as these rules see it.
struct TrialKind {
  v1::EvaluationMode mode = v1::EVALUATION_MODE_UNSPECIFIED;  // the spec's
  bool final_training = false;     // a final re-training (final_of set)
  bool screening = false;          // proxy-guided evolution's ZERO_COST score
  bool search = false;             // a differentiable search (strategy darts)
  bool supernet_training = false;  // trains the experiment's supernet
  int keep_models = 0;             // spec.keep_models
};

// The mode a trial actually runs in: a final re-training of a SUPERNET or
// ZERO_COST experiment trains from scratch (FULL), a screening row is
// scored (ZERO_COST), a search trains its mixed network (FULL).
v1::EvaluationMode EffectiveMode(const TrialKind& t);

// True when the trial asks its worker for a TorchScript model
// (Trial.export_model): a trained or inherited candidate of an experiment
// that keeps models (keep_models > 0), or any final re-training. Supernet
// training carries its weights as the result's model, which this does not
// cover (see SupernetWeightsRequired).
bool AsksForModel(const TrialKind& t);

// True when the result must carry the supernet's weights as its model.
inline bool SupernetWeightsRequired(const TrialKind& t) {
  return t.supernet_training && !t.search && !t.screening;
}

}  // namespace nas

#endif  // NAS_CONTROLLER_STORE_RESULT_RULES_H_
