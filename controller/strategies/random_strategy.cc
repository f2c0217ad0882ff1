// Uniform random search: each proposal samples every decision uniformly.
#include <random>

#include "controller/strategies/strategy.h"

namespace nas {
namespace {

class RandomStrategy final : public Strategy {
 public:
  RandomStrategy(const SearchSpace* space, int64_t seed)
      : space_(space), rng_(static_cast<uint64_t>(seed)) {}

  absl::StatusOr<std::vector<Proposal>> Propose(int n) override {
    std::vector<Proposal> out(n);
    for (Proposal& p : out) p.choices = space_->Sample(rng_);
    return out;
  }

  void Observe(const Observation&) override {}

 private:
  const SearchSpace* space_;
  std::mt19937_64 rng_;
};

}  // namespace

std::unique_ptr<Strategy> MakeRandomStrategy(const SearchSpace* space,
                                             int64_t seed) {
  return std::make_unique<RandomStrategy>(space, seed);
}

}  // namespace nas
