// Regularized (aging) evolution (Real et al., AAAI 2019). Proposals are
// uniformly random until `population` proposals were made; afterwards, while
// at least one result is known, each proposal draws `sample_size` members of
// the population with replacement, takes the fittest (highest validation
// accuracy) and mutates one decision to a different choice. The population
// is the `population` most recent results: a new result pushes the oldest
// out. In the asynchronous setting (many workers) proposals do not wait for
// results; with an empty population they stay random.
#include <deque>
#include <random>

#include "absl/strings/str_cat.h"
#include "controller/strategy.h"

namespace nas {
namespace {

class EvolutionStrategy final : public Strategy {
 public:
  EvolutionStrategy(const SearchSpace* space, int64_t seed,
                    const v1::EvolutionOptions& options)
      : space_(space),
        rng_(static_cast<uint64_t>(seed)),
        population_size_(options.population()),
        sample_size_(options.sample_size()) {}

  absl::StatusOr<std::vector<Proposal>> Propose(int n) override {
    std::vector<Proposal> out;
    out.reserve(n);
    for (int i = 0; i < n; ++i) {
      if (proposed_ < population_size_ || population_.empty()) {
        Proposal p;
        p.choices = space_->Sample(rng_);
        p.strategy_data = R"({"op":"random"})";
        out.push_back(std::move(p));
      } else {
        out.push_back(Mutate(Tournament()));
      }
      ++proposed_;
    }
    return out;
  }

  void Observe(const Observation& o) override {
    population_.push_back(
        {o.candidate_id, o.choices, o.metrics.val_accuracy(), o.generation});
    if (static_cast<int>(population_.size()) > population_size_) {
      population_.pop_front();  // aging: the oldest dies
    }
  }

 private:
  struct Member {
    int64_t candidate_id;
    std::vector<int> choices;
    double fitness;
    int32_t generation;
  };

  const Member& Tournament() {
    std::uniform_int_distribution<size_t> pick(0, population_.size() - 1);
    const Member* best = nullptr;
    for (int i = 0; i < sample_size_; ++i) {
      const Member& m = population_[pick(rng_)];
      if (best == nullptr || m.fitness > best->fitness) best = &m;
    }
    return *best;
  }

  Proposal Mutate(const Member& parent) {
    Proposal p;
    p.choices = parent.choices;
    p.parent_id = parent.candidate_id;
    p.generation = parent.generation + 1;
    // A decision with more than one choice, then a different choice for it.
    std::vector<int> mutable_decisions;
    for (int d = 0; d < space_->num_decisions(); ++d) {
      if (space_->num_choices(d) > 1) mutable_decisions.push_back(d);
    }
    if (mutable_decisions.empty()) return p;
    const int d = mutable_decisions[std::uniform_int_distribution<size_t>(
        0, mutable_decisions.size() - 1)(rng_)];
    const int from = p.choices[d];
    int to =
        std::uniform_int_distribution<int>(0, space_->num_choices(d) - 2)(rng_);
    if (to >= from) ++to;
    p.choices[d] = to;
    p.strategy_data = absl::StrCat(R"({"op":"mutate","decision":)", d,
                                   R"(,"from":)", from, R"(,"to":)", to, "}");
    return p;
  }

  const SearchSpace* space_;
  std::mt19937_64 rng_;
  const int population_size_;
  const int sample_size_;
  int64_t proposed_ = 0;
  std::deque<Member> population_;
};

}  // namespace

std::unique_ptr<Strategy> MakeEvolutionStrategy(
    const SearchSpace* space, int64_t seed,
    const v1::EvolutionOptions& options) {
  return std::make_unique<EvolutionStrategy>(space, seed, options);
}

}  // namespace nas
