// A stand-in evaluation for load and throughput tests: metrics derived from
// the genotype's hash (deterministic, plausible, valid), after an optional
// fixed delay; nothing is built or trained. TABULAR trials go to a real
// table evaluator instead. LibTorch-free and thread-safe. Used by
// nas-simworker only, never by nas-worker.
#ifndef NAS_WORKER_EVALUATORS_SIMULATED_EVALUATOR_H_
#define NAS_WORKER_EVALUATORS_SIMULATED_EVALUATOR_H_

#include <string>

#include "absl/time/time.h"
#include "worker/evaluators/evaluator.h"

namespace nas {

class SimulatedEvaluator : public Evaluator {
 public:
  // Each simulated Evaluate sleeps `delay` (zero: returns at once).
  // `tabular` (not owned, thread-safe, must outlive this) answers TABULAR
  // trials; nullptr simulates those too.
  SimulatedEvaluator(absl::Duration delay, Evaluator* tabular)
      : delay_(delay), tabular_(tabular) {}

  // val/test accuracy in [0.5, 0.95), MACs, params and latency from the
  // genotype hash; epochs = trial.evaluation.epochs; device "simulated".
  absl::StatusOr<v1::EvaluationMetrics> Evaluate(
      const v1::Trial& trial, const ProgressCallback& on_epoch) override;
  std::string device() const override { return "simulated"; }

 private:
  const absl::Duration delay_;
  Evaluator* const tabular_;
};

}  // namespace nas

#endif  // NAS_WORKER_EVALUATORS_SIMULATED_EVALUATOR_H_
