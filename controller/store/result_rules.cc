#include "controller/store/result_rules.h"

namespace nas {

v1::EvaluationMode EffectiveMode(const TrialKind& t) {
  if (t.screening) return v1::ZERO_COST;
  if (t.search) return v1::FULL;
  if (t.final_training && (t.mode == v1::SUPERNET || t.mode == v1::ZERO_COST)) {
    return v1::FULL;
  }
  return t.mode;
}

bool AsksForModel(const TrialKind& t) {
  if (t.screening || t.search || t.supernet_training) return false;
  const v1::EvaluationMode mode = EffectiveMode(t);
  // COMMAND trials train (the trainer program does), like FULL and
  // EARLY_STOPPED; an inherited SUPERNET candidate is exported like a
  // trained one. TABULAR and ZERO_COST build no trained network.
  const bool has_network = mode == v1::FULL || mode == v1::EARLY_STOPPED ||
                           mode == v1::COMMAND || mode == v1::SUPERNET;
  return has_network && (t.final_training || t.keep_models > 0);
}

}  // namespace nas
