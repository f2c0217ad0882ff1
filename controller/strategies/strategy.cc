#include "controller/strategies/strategy.h"

#include "common/spec/spec.h"

namespace nas {

absl::StatusOr<std::unique_ptr<Strategy>> MakeStrategy(
    const v1::ExperimentSpec& spec, const SearchSpace* space, int64_t seed) {
  absl::Status valid = ErrorsToStatus(ValidateSearchSettings(spec));
  if (!valid.ok()) return valid;
  const v1::StrategySpec& s = spec.strategy();
  if (s.name() == "evolution") {
    return MakeEvolutionStrategy(space, seed, s.evolution(), spec.objective());
  }
  if (s.name() == "reinforce") {
    return MakeReinforceStrategy(space, seed, s.reinforce(), spec.objective());
  }
  if (s.name() == "darts") return MakeDartsStrategy();
  return MakeRandomStrategy(space, seed);  // "random", the only other name
}

}  // namespace nas
