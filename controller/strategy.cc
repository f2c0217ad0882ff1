#include "controller/strategy.h"

#include "absl/strings/str_cat.h"

namespace nas {

absl::StatusOr<std::unique_ptr<Strategy>> MakeStrategy(
    const v1::ExperimentSpec& spec, const SearchSpace* space, int64_t seed) {
  const v1::StrategySpec& s = spec.strategy();
  if (s.name() == "random") return MakeRandomStrategy(space, seed);
  if (s.name() == "evolution") {
    const v1::EvolutionOptions& e = s.evolution();
    if (e.population() < 2) {
      return absl::InvalidArgumentError(
          "spec.strategy.evolution.population: must be >= 2");
    }
    if (e.sample_size() < 1 || e.sample_size() > e.population()) {
      return absl::InvalidArgumentError(
          "spec.strategy.evolution.sample_size: must be in [1, population]");
    }
    return MakeEvolutionStrategy(space, seed, e);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("spec.strategy.name: unknown strategy '", s.name(),
                   "' (implemented: random, evolution)"));
}

}  // namespace nas
