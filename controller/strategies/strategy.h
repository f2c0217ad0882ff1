// The search-strategy contract, in the spirit of OSS Vizier's designers: two
// verbs, Propose and Observe. Not thread-safe: the owner serializes calls.
// A strategy holds no state that replaying its history could not rebuild:
// after a restart the controller creates it with the stored seed and replays
// proposals and observations interleaved as they happened (each candidate
// stores how many results had been observed when it was proposed), so the
// strategy continues with the same proposals as an uninterrupted run.
// Propose(n) must behave as n calls of Propose(1).
#ifndef NAS_CONTROLLER_STRATEGIES_STRATEGY_H_
#define NAS_CONTROLLER_STRATEGIES_STRATEGY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spaces/search_space.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

struct Proposal {
  std::vector<int> choices;
  int64_t parent_id = 0;  // candidate mutated from, 0 = none
  int32_t generation = 0;
  std::string strategy_data = "{}";  // JSON object stored with the candidate
  // Proxy-guided evolution (EvolutionOptions.proxy): the slot's other
  // children. The scheduler stores this proposal and its alternatives as
  // screening candidates, scores each with a ZERO_COST trial and trains
  // only the one with the best proxy score (migrations/0019_proxy.sql).
  std::vector<Proposal> alternatives;
};

struct Observation {
  int64_t candidate_id = 0;
  std::vector<int> choices;
  v1::EvaluationMetrics metrics;
  int32_t generation = 0;  // as proposed
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  // Up to n new proposals (fewer only when the strategy has nothing to
  // propose until it observes more results).
  virtual absl::StatusOr<std::vector<Proposal>> Propose(int n) = 0;
  // A finished evaluation of one of this strategy's proposals.
  virtual void Observe(const Observation& observation) = 0;
};

// Builds the strategy named in spec.strategy.name ("random", "evolution",
// "reinforce", "darts") for spec.objective. InvalidArgument naming the field
// for unknown names or bad settings (the checks of ValidateSearchSettings in
// common/spec/spec.h; apply spec defaults first); the error of the strategy's
// own construction otherwise.
absl::StatusOr<std::unique_ptr<Strategy>> MakeStrategy(
    const v1::ExperimentSpec& spec, const SearchSpace* space, int64_t seed);

// Differentiable search (strategy "darts"): proposes nothing; the
// scheduler runs its searches as trials and stores their derived cells
// (darts_strategy.cc says why).
std::unique_ptr<Strategy> MakeDartsStrategy();

// Uniform random search.
std::unique_ptr<Strategy> MakeRandomStrategy(const SearchSpace* space,
                                             int64_t seed);

// Regularized (aging) evolution with optional de-duplication and local
// search (see EvolutionOptions); parents ranked by `objective` (scalar
// fitness or NSGA-II rank and crowding). Options validated by MakeStrategy.
std::unique_ptr<Strategy> MakeEvolutionStrategy(
    const SearchSpace* space, int64_t seed, const v1::EvolutionOptions& options,
    const v1::ObjectiveSpec& objective = v1::ObjectiveSpec());

// REINFORCE with an LSTM policy (LibTorch, CPU; see ReinforceOptions),
// rewarded with ScalarFitness(objective). Its random draws (initial weights,
// sampling) come from its own generator seeded with `seed`, never from
// LibTorch's global one, so instances do not disturb each other. Options
// validated by MakeStrategy; Internal if LibTorch fails to build the policy.
// A LibTorch failure in Observe is returned by the next Propose.
absl::StatusOr<std::unique_ptr<Strategy>> MakeReinforceStrategy(
    const SearchSpace* space, int64_t seed, const v1::ReinforceOptions& options,
    const v1::ObjectiveSpec& objective = v1::ObjectiveSpec());

}  // namespace nas

#endif  // NAS_CONTROLLER_STRATEGIES_STRATEGY_H_
