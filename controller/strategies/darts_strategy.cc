// Strategy "darts": differentiable architecture search. Its architectures
// do not come from Propose: the scheduler queues spec.strategy.darts.seeds
// search trials (workers train the weight-sharing cell, bi-level) and
// stores each search's derived cell as a candidate (DecideDarts in
// proposal_rules.h). So this strategy proposes nothing and learns nothing
// from results; it exists so that the controller's replay and the strategy
// registry treat darts like every other name.
#include "controller/strategies/strategy.h"

namespace nas {
namespace {

class DartsStrategy final : public Strategy {
 public:
  absl::StatusOr<std::vector<Proposal>> Propose(int) override {
    return std::vector<Proposal>();
  }
  void Observe(const Observation&) override {}
};

}  // namespace

std::unique_ptr<Strategy> MakeDartsStrategy() {
  return std::make_unique<DartsStrategy>();
}

}  // namespace nas
