#include "controller/strategy.h"

#include "absl/strings/str_cat.h"

namespace nas {

absl::StatusOr<std::unique_ptr<Strategy>> MakeStrategy(
    const v1::ExperimentSpec& spec, const SearchSpace* space, int64_t seed) {
  if (spec.strategy().name() == "random") {
    return MakeRandomStrategy(space, seed);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("spec.strategy.name: unknown strategy '",
                   spec.strategy().name(), "' (implemented: random)"));
}

}  // namespace nas
