// Regularized (aging) evolution (Real et al., AAAI 2019), with optional
// de-duplication and local search. Proposals are uniformly random until
// `population` proposals were made; afterwards, while at least one result is
// known, each proposal draws `sample_size` members of the population with
// replacement, takes the fittest and mutates one decision to a different
// choice. The population is the `population` most recent results: a new
// result pushes the oldest out. In the asynchronous setting (many workers)
// proposals do not wait for results; with an empty population they stay
// random.
//
// Fitness: the objective's scalar (val_accuracy or the MnasNet reward), or
// under Pareto ranking NSGA-II's crowded comparison (lower non-dominated
// rank, then larger crowding distance) within the compared set.
//
// dedupe: never re-propose a genotype this strategy proposed (re-mutate up
// to 100 times, re-drawing the tournament every 5; a random proposal is
// re-drawn up to 100 times). local_search = p: with probability p a
// proposal is instead an unproposed one-decision neighbour of the best
// result observed so far (or of the next best whose neighbourhood is not
// exhausted): a random one, or with `predictor` the one a ridge regression
// of the fitness on one-hot choices (fitted to every result) rates best.
//
// proxy.children = K (proxy-guided evolution): each proposal (a slot) is K
// children made as above, the first in Proposal::choices and the others in
// Proposal::alternatives; the scheduler scores all K with a zero-cost proxy
// and trains only the best, so only that child is ever observed. Slots, not
// children, count towards the first `population` random proposals, and
// children are always de-duplicated.
#include <algorithm>
#include <cmath>
#include <deque>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/objective.h"
#include "common/pareto.h"
#include "controller/strategies/strategy.h"

namespace nas {
namespace {

constexpr int kMaxTries = 100;

class EvolutionStrategy final : public Strategy {
 public:
  EvolutionStrategy(const SearchSpace* space, int64_t seed,
                    const v1::EvolutionOptions& options,
                    const v1::ObjectiveSpec& objective)
      : space_(space),
        rng_(static_cast<uint64_t>(seed)),
        population_size_(options.population()),
        sample_size_(options.sample_size()),
        // Screened children are never repeats: a repeat would be scored
        // (and maybe trained) twice.
        children_(std::max(1, options.proxy().children())),
        dedupe_(options.dedupe() || children_ > 1),
        local_search_(options.local_search()),
        objective_(objective),
        pareto_(UsesParetoRanking(objective)),
        predictor_(options.predictor() && !pareto_) {
    feature_offset_.push_back(0);
    for (int d = 0; d < space_->num_decisions(); ++d) {
      if (space_->num_choices(d) > 1) mutable_decisions_.push_back(d);
      feature_offset_.push_back(feature_offset_.back() +
                                space_->num_choices(d));
    }
  }

  absl::StatusOr<std::vector<Proposal>> Propose(int n) override {
    std::vector<Proposal> out;
    out.reserve(n);
    for (int i = 0; i < n; ++i) {
      Proposal p = Child();
      // Proxy guidance: the slot's other children, scored with p.
      for (int k = 1; k < children_; ++k) p.alternatives.push_back(Child());
      ++proposed_count_;
      out.push_back(std::move(p));
    }
    return out;
  }

  void Observe(const Observation& o) override {
    Member m{o.candidate_id, o.choices, ScalarFitness(objective_, o.metrics),
             ObjectiveVector(objective_, o.metrics), o.generation};
    population_.push_back(m);
    population_ranked_ = false;
    if (static_cast<int>(population_.size()) > population_size_) {
      population_.pop_front();  // aging: the oldest dies
    }
    if (local_search_ > 0) {
      history_.push_back(std::move(m));
      history_sorted_ = false;
    }
  }

 private:
  struct Member {
    int64_t candidate_id;
    std::vector<int> choices;
    double fitness;
    std::vector<double> objectives;
    int32_t generation;
  };

  // One child: random while fewer than `population` slots were proposed
  // (or nothing was observed), else a local-search step or a mutated
  // tournament winner. Every child is remembered as proposed.
  Proposal Child() {
    Proposal p;
    if (proposed_count_ < population_size_ || population_.empty()) {
      p.choices = space_->Sample(rng_);
      for (int t = 0; dedupe_ && t < kMaxTries && Proposed(p.choices); ++t) {
        p.choices = space_->Sample(rng_);
      }
      p.strategy_data = R"({"op":"random"})";
    } else if (local_search_ > 0 &&
               std::uniform_real_distribution<double>(0, 1)(rng_) <
                   local_search_ &&
               LocalSearchStep(&p)) {
      // p filled by LocalSearchStep.
    } else {
      p = Mutate(Tournament());
      for (int t = 1; dedupe_ && t < kMaxTries && Proposed(p.choices); ++t) {
        p = Mutate(t % 5 == 0 ? Tournament() : *last_parent_);
      }
    }
    proposed_.insert(p.choices);
    return p;
  }

  bool Proposed(const std::vector<int>& c) const {
    return proposed_.count(c) > 0;
  }

  // Indices of `members` from best to worst (ties: earlier first); under
  // Pareto ranking by rank and crowding distance among `members`.
  std::vector<size_t> Order(const std::vector<const Member*>& members) const {
    std::vector<size_t> order(members.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (pareto_) {
      std::vector<std::vector<double>> points;
      for (const Member* m : members) points.push_back(m->objectives);
      std::vector<ParetoRank> rank = RankPoints(points);
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return rank[a].Better(rank[b]);
      });
    } else {
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return members[a]->fitness > members[b]->fitness;
      });
    }
    return order;
  }

  // The best of `sample_size` members drawn with replacement. Under Pareto
  // ranking members compare by their rank and crowding distance within the
  // whole population (NSGA-II's crowded tournament).
  const Member& Tournament() {
    if (pareto_ && !population_ranked_) {
      std::vector<std::vector<double>> points;
      for (const Member& m : population_) points.push_back(m.objectives);
      population_rank_ = RankPoints(points);
      population_ranked_ = true;
    }
    std::uniform_int_distribution<size_t> pick(0, population_.size() - 1);
    size_t best = pick(rng_);
    for (int i = 1; i < sample_size_; ++i) {
      const size_t j = pick(rng_);
      const bool better =
          pareto_ ? population_rank_[j].Better(population_rank_[best])
                  : population_[j].fitness > population_[best].fitness;
      if (better) best = j;
    }
    last_parent_ = &population_[best];
    return *last_parent_;
  }

  Proposal Mutate(const Member& parent) {
    Proposal p;
    p.choices = parent.choices;
    p.parent_id = parent.candidate_id;
    p.generation = parent.generation + 1;
    if (mutable_decisions_.empty()) return p;
    // A decision with more than one choice, then a different choice for it.
    const int d = mutable_decisions_[std::uniform_int_distribution<size_t>(
        0, mutable_decisions_.size() - 1)(rng_)];
    const int from = p.choices[d];
    int to =
        std::uniform_int_distribution<int>(0, space_->num_choices(d) - 2)(rng_);
    if (to >= from) ++to;
    p.choices[d] = to;
    p.strategy_data = absl::StrCat(R"({"op":"mutate","decision":)", d,
                                   R"(,"from":)", from, R"(,"to":)", to, "}");
    return p;
  }

  // An unproposed neighbour of the best observed result whose
  // neighbourhood is not exhausted; false when every neighbourhood is.
  bool LocalSearchStep(Proposal* p) {
    if (!history_sorted_) {
      std::vector<const Member*> all;
      for (const Member& m : history_) all.push_back(&m);
      std::vector<size_t> order = Order(all);
      history_order_.assign(order.begin(), order.end());
      history_sorted_ = true;
    }
    for (size_t i : history_order_) {
      const Member& inc = history_[i];
      std::vector<std::vector<int>> fresh;
      for (std::vector<int>& nb : space_->Neighbours(inc.choices)) {
        if (!Proposed(nb)) fresh.push_back(std::move(nb));
      }
      if (fresh.empty()) continue;
      size_t chosen =
          std::uniform_int_distribution<size_t>(0, fresh.size() - 1)(rng_);
      if (predictor_) {
        // The neighbour the additive model predicts best; the random index
        // above breaks ties.
        FitPredictor();
        double best = Predict(fresh[chosen]);
        for (size_t k = 0; k < fresh.size(); ++k) {
          const double v = Predict(fresh[k]);
          if (v > best) best = v, chosen = k;
        }
      }
      const std::vector<int>& pick = fresh[chosen];
      int d = 0;
      while (pick[d] == inc.choices[d]) ++d;
      p->choices = pick;
      p->parent_id = inc.candidate_id;
      p->generation = inc.generation + 1;
      p->strategy_data =
          absl::StrCat(R"({"op":"local_search","decision":)", d, R"(,"from":)",
                       inc.choices[d], R"(,"to":)", pick[d], "}");
      return true;
    }
    return false;
  }

  // Ridge regression of the scalar fitness on one-hot features (one per
  // choice of each decision, plus an intercept), fitted to every observed
  // result; refitted only when results arrived since the last fit.
  void FitPredictor() {
    if (fitted_ == history_.size()) return;
    fitted_ = history_.size();
    const size_t f = 1 + feature_offset_.back();
    std::vector<std::vector<double>> a(f, std::vector<double>(f + 1, 0.0));
    for (size_t i = 1; i < f; ++i) a[i][i] = 1.0;  // lambda = 1
    a[0][0] = 1e-6;
    std::vector<size_t> on;
    for (const Member& m : history_) {
      on.assign(1, 0);
      for (size_t d = 0; d < m.choices.size(); ++d) {
        on.push_back(1 + feature_offset_[d] + m.choices[d]);
      }
      for (size_t i : on) {
        a[i][f] += m.fitness;
        for (size_t j : on) a[i][j] += 1;
      }
    }
    // Gaussian elimination with partial pivoting (the matrix is SPD).
    for (size_t c = 0; c < f; ++c) {
      size_t piv = c;
      for (size_t r = c + 1; r < f; ++r) {
        if (std::abs(a[r][c]) > std::abs(a[piv][c])) piv = r;
      }
      std::swap(a[c], a[piv]);
      if (std::abs(a[c][c]) < 1e-12) continue;
      for (size_t r = 0; r < f; ++r) {
        if (r == c || a[r][c] == 0) continue;
        const double k = a[r][c] / a[c][c];
        for (size_t j = c; j <= f; ++j) a[r][j] -= k * a[c][j];
      }
    }
    weights_.assign(f, 0.0);
    for (size_t i = 0; i < f; ++i) {
      if (std::abs(a[i][i]) >= 1e-12) weights_[i] = a[i][f] / a[i][i];
    }
  }

  double Predict(const std::vector<int>& c) const {
    double v = weights_[0];
    for (size_t d = 0; d < c.size(); ++d) {
      v += weights_[1 + feature_offset_[d] + c[d]];
    }
    return v;
  }

  const SearchSpace* space_;
  std::mt19937_64 rng_;
  const int population_size_;
  const int sample_size_;
  const int children_;  // per slot: 1, or proxy.children
  const bool dedupe_;
  const double local_search_;
  const v1::ObjectiveSpec objective_;
  const bool pareto_;
  const bool predictor_;
  std::vector<int> mutable_decisions_;
  std::vector<size_t> feature_offset_;  // per decision, then the total
  std::vector<double> weights_;         // of the predictor
  size_t fitted_ = 0;                   // results the predictor has seen

  int64_t proposed_count_ = 0;
  std::set<std::vector<int>> proposed_;
  std::deque<Member> population_;
  std::vector<ParetoRank> population_rank_;  // when population_ranked_
  bool population_ranked_ = false;
  const Member* last_parent_ = nullptr;  // valid until the next Observe
  // Every observed result (only kept for local search), and its order.
  std::deque<Member> history_;
  std::vector<size_t> history_order_;
  bool history_sorted_ = true;
};

}  // namespace

std::unique_ptr<Strategy> MakeEvolutionStrategy(
    const SearchSpace* space, int64_t seed, const v1::EvolutionOptions& options,
    const v1::ObjectiveSpec& objective) {
  return std::make_unique<EvolutionStrategy>(space, seed, options, objective);
}

}  // namespace nas
