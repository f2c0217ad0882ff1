#include "worker/evaluators/simulated_evaluator.h"

#include <cstdint>
#include <functional>

#include "absl/time/clock.h"

namespace nas {

absl::StatusOr<v1::EvaluationMetrics> SimulatedEvaluator::Evaluate(
    const v1::Trial& trial, const ProgressCallback& on_epoch) {
  if (tabular_ != nullptr && trial.evaluation().mode() == v1::TABULAR) {
    return tabular_->Evaluate(trial, on_epoch);
  }
  if (delay_ > absl::ZeroDuration()) absl::SleepFor(delay_);
  const std::string& key = trial.genotype().hash().empty()
                               ? trial.genotype().canonical()
                               : trial.genotype().hash();
  uint64_t h = std::hash<std::string>()(key);
  auto next = [&h](double lo, double hi) {  // splitmix64 steps
    h += 0x9e3779b97f4a7c15ULL;
    uint64_t z = h;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return lo + (hi - lo) * static_cast<double>(z >> 11) / 9007199254740992.0;
  };
  v1::EvaluationMetrics m;
  m.set_val_accuracy(next(0.5, 0.95));
  m.set_test_accuracy(m.val_accuracy() - next(0, 0.02));
  m.set_macs(static_cast<int64_t>(next(1e6, 1e8)));
  m.set_params(static_cast<int64_t>(next(1e4, 1e6)));
  m.set_latency_ms(next(0.1, 5));
  m.set_train_seconds(absl::ToDoubleSeconds(delay_));
  m.set_epochs(trial.evaluation().epochs());
  m.set_device("simulated");
  m.set_train_loss(next(0.1, 1));
  return m;
}

}  // namespace nas
