#include "controller/strategies/strategy.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "common/spaces/nb201_space.h"
#include "common/spec/spec.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

TEST(RandomStrategy, SameSeedSameProposalsWhateverTheBatching) {
  Nb201Space space;
  auto a = MakeRandomStrategy(&space, 42);
  auto b = MakeRandomStrategy(&space, 42);
  std::vector<Proposal> pa = *a->Propose(10);
  std::vector<Proposal> pb1 = *b->Propose(3);
  std::vector<Proposal> pb2 = *b->Propose(7);
  pb1.insert(pb1.end(), pb2.begin(), pb2.end());
  ASSERT_EQ(pa.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(pa[i].choices, pb1[i].choices) << i;
  // Replay, as the controller does after a restart: propose the stored
  // count, then continue identically.
  auto c = MakeRandomStrategy(&space, 42);
  ASSERT_TRUE(c->Propose(10).ok());
  EXPECT_EQ((*a->Propose(1))[0].choices, (*c->Propose(1))[0].choices);
}

TEST(RandomStrategy, CoversTheSpace) {
  Nb201Space space;
  auto s = MakeRandomStrategy(&space, 1);
  std::vector<int> counts(5, 0);
  absl::StatusOr<std::vector<Proposal>> proposals = s->Propose(2000);
  NAS_ASSERT_OK(proposals);
  for (const Proposal& p : *proposals) {
    ASSERT_EQ(p.choices.size(), 6u);
    for (int c : p.choices) counts[c]++;
  }
  for (int c : counts) EXPECT_GT(c, 2000);  // ~2400 each of 12000 draws
}

TEST(MakeStrategy, UnknownNameIsInvalidArgument) {
  Nb201Space space;
  v1::ExperimentSpec spec;
  spec.mutable_strategy()->set_name("bayesian");
  EXPECT_THAT(
      MakeStrategy(spec, &space, 1),
      StatusIs(absl::StatusCode::kInvalidArgument, "spec.strategy.name"));
}

}  // namespace
}  // namespace nas

namespace nas {
namespace {

// Synthetic objective: the fraction of edges that are nor_conv_3x3.
double Conv3Fraction(const std::vector<int>& c) {
  return std::count(c.begin(), c.end(), 3) / 6.0;
}

v1::EvolutionOptions Evo(int p, int s) {
  v1::EvolutionOptions o;
  o.set_population(p);
  o.set_sample_size(s);
  return o;
}

// Runs `steps` synchronous propose/observe rounds; returns the fitnesses.
std::vector<double> RunSynchronously(Strategy& s, int steps) {
  std::vector<double> f;
  for (int i = 0; i < steps; ++i) {
    absl::StatusOr<std::vector<Proposal>> p = s.Propose(1);
    EXPECT_TRUE(p.ok());
    Observation o;
    o.candidate_id = i + 1;
    o.choices = (*p)[0].choices;
    o.generation = (*p)[0].generation;
    o.metrics.set_val_accuracy(Conv3Fraction(o.choices));
    s.Observe(o);
    f.push_back(o.metrics.val_accuracy());
  }
  return f;
}

double Mean(const std::vector<double>& v, size_t from) {
  double sum = 0;
  for (size_t i = from; i < v.size(); ++i) sum += v[i];
  return sum / static_cast<double>(v.size() - from);
}

TEST(EvolutionStrategy, ClimbsWhereRandomSearchDoesNot) {
  Nb201Space space;
  auto evo = MakeEvolutionStrategy(&space, 3, Evo(20, 5));
  auto rnd = MakeRandomStrategy(&space, 3);
  std::vector<double> fe = RunSynchronously(*evo, 300);
  std::vector<double> fr = RunSynchronously(*rnd, 300);
  EXPECT_DOUBLE_EQ(*std::max_element(fe.begin(), fe.end()), 1.0);
  EXPECT_GT(Mean(fe, 200),
            0.6);  // children of near-optimal parents (5/6 typical)
  EXPECT_LT(Mean(fr, 200), 0.35);  // random stays near 1/5
}

TEST(EvolutionStrategy, FirstPopulationIsRandomThenChildrenMutateOneDecision) {
  Nb201Space space;
  auto evo = MakeEvolutionStrategy(&space, 9, Evo(4, 2));
  absl::StatusOr<std::vector<Proposal>> first = evo->Propose(4);
  NAS_ASSERT_OK(first);
  for (const Proposal& p : *first) {
    EXPECT_EQ(p.parent_id, 0);
    EXPECT_EQ(p.strategy_data, R"({"op":"random"})");
  }
  // Past the initial population but nothing observed yet: still random.
  EXPECT_EQ((*evo->Propose(1))[0].parent_id, 0);
  for (int i = 0; i < 4; ++i) {
    Observation o;
    o.candidate_id = 100 + i;
    o.choices = (*first)[i].choices;
    o.metrics.set_val_accuracy(0.1 * i);
    evo->Observe(o);
  }
  absl::StatusOr<std::vector<Proposal>> kids = evo->Propose(50);
  NAS_ASSERT_OK(kids);
  for (const Proposal& k : *kids) {
    ASSERT_GE(k.parent_id, 100);
    ASSERT_LE(k.parent_id, 103);
    const std::vector<int>& parent = (*first)[k.parent_id - 100].choices;
    int diff = 0;
    for (int d = 0; d < 6; ++d) diff += parent[d] != k.choices[d];
    EXPECT_EQ(diff, 1);
    EXPECT_EQ(k.generation, 1);
    EXPECT_NE(k.strategy_data.find(R"("op":"mutate")"), std::string::npos);
  }
}

TEST(EvolutionStrategy, AgingKeepsOnlyTheNewestResults) {
  Nb201Space space;
  auto evo = MakeEvolutionStrategy(&space, 1, Evo(2, 2));
  ASSERT_TRUE(evo->Propose(2).ok());
  // The best result ever is observed first, then two mediocre ones: it must
  // have aged out, so no child descends from it.
  for (int i = 0; i < 3; ++i) {
    Observation o;
    o.candidate_id = i + 1;
    o.choices = {i % 5, 0, 0, 0, 0, 0};
    o.metrics.set_val_accuracy(i == 0 ? 0.99 : 0.5);
    evo->Observe(o);
  }
  absl::StatusOr<std::vector<Proposal>> kids = evo->Propose(40);
  NAS_ASSERT_OK(kids);
  for (const Proposal& k : *kids) EXPECT_NE(k.parent_id, 1);
}

TEST(MakeStrategy, EvolutionOptionsAreValidated) {
  Nb201Space space;
  v1::ExperimentSpec spec;
  spec.mutable_strategy()->set_name("evolution");
  *spec.mutable_strategy()->mutable_evolution() = Evo(1, 1);
  EXPECT_THAT(MakeStrategy(spec, &space, 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "spec.strategy.evolution.population"));
  *spec.mutable_strategy()->mutable_evolution() = Evo(10, 11);
  EXPECT_THAT(MakeStrategy(spec, &space, 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "spec.strategy.evolution.sample_size"));
  *spec.mutable_strategy()->mutable_evolution() = Evo(10, 3);
  NAS_EXPECT_OK(MakeStrategy(spec, &space, 1));
}

}  // namespace
}  // namespace nas

namespace nas {
namespace {

// A declared space of 4 decisions with 2 to 5 choices (3*2*5*4 = 120
// genotypes), trained by a COMMAND trainer.
constexpr char kCustomSpace[] = R"({name: custom, decisions: [
    {name: depth, choices: [1, 2, 3]},
    {name: act, choices: [relu, gelu]},
    {name: lr, choices: [0.001, 0.003, 0.01, 0.03, 0.1]},
    {name: width, choices: [16, 32, 64, 128]}]}
evaluation: {mode: COMMAND, command: {trainer: t}})";

v1::ExperimentSpec SpecFor(const std::string& strategy_yaml,
                           const std::string& space,
                           const std::string& objective_yaml = "") {
  std::string yaml = "name: t\nsearch_space: " +
                     (space == "custom" ? std::string(kCustomSpace)
                                        : "{name: " + space + "}") +
                     "\nbudget: {max_trials: 5}\nstrategy: " + strategy_yaml +
                     "\n";
  if (!objective_yaml.empty()) yaml += "objective: " + objective_yaml + "\n";
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec({}, yaml);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : v1::ExperimentSpec();
}

// The space of `spec`, as the scheduler builds it (owning a custom one).
std::shared_ptr<const SearchSpace> SpaceOf(const v1::ExperimentSpec& spec) {
  absl::StatusOr<std::shared_ptr<const SearchSpace>> space =
      MakeSearchSpace(spec.search_space());
  EXPECT_TRUE(space.ok()) << space.status();
  return space.ok() ? *space : nullptr;
}

// Deterministic synthetic metrics for any space: accuracy rises with the
// number of decisions at their last choice; costs from the choices' sum.
v1::EvaluationMetrics Synthetic(const SearchSpace& space,
                                const std::vector<int>& c) {
  int last = 0, sum = 0;
  for (int d = 0; d < space.num_decisions(); ++d) {
    last += c[d] == space.num_choices(d) - 1;
    sum += c[d];
  }
  v1::EvaluationMetrics m;
  m.set_val_accuracy(static_cast<double>(last) / space.num_decisions());
  m.set_macs(1000 + 100 * sum);
  m.set_params(500 + 10 * sum);
  m.set_latency_ms(1 + 0.1 * sum);
  return m;
}

// Drives a strategy: rounds of `batch` proposals; every second round
// observes the outstanding proposals (so proposals and observations
// interleave). Returns every proposal's choices.
std::vector<std::vector<int>> Drive(Strategy& s, const SearchSpace& space,
                                    int rounds, int batch) {
  std::vector<std::vector<int>> all;
  std::vector<Proposal> pending;
  int64_t id = 1;
  for (int r = 0; r < rounds; ++r) {
    absl::StatusOr<std::vector<Proposal>> p = s.Propose(batch);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return all;
    for (Proposal& q : *p) {
      all.push_back(q.choices);
      pending.push_back(std::move(q));
    }
    if (r % 2 == 1) {
      for (const Proposal& q : pending) {
        s.Observe({id++, q.choices, Synthetic(space, q.choices), q.generation});
      }
      pending.clear();
    }
  }
  return all;
}

void ExpectValid(const SearchSpace& space,
                 const std::vector<std::vector<int>>& all) {
  for (const std::vector<int>& c : all) {
    ASSERT_EQ(static_cast<int>(c.size()), space.num_decisions());
    EXPECT_TRUE(space.Canonical(c).ok());
  }
}

class EveryStrategyOnEverySpace
    : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(EveryStrategyOnEverySpace, ValidProposalsSameSequenceForSameSeed) {
  const auto& [strategy, space_name] = GetParam();
  const v1::ExperimentSpec spec = SpecFor(strategy, space_name);
  std::shared_ptr<const SearchSpace> owned = SpaceOf(spec);
  ASSERT_NE(owned, nullptr);
  const SearchSpace* space = owned.get();
  EXPECT_EQ(space->name(), space_name);
  auto a = MakeStrategy(spec, space, 11);
  auto b = MakeStrategy(spec, space, 11);
  auto c = MakeStrategy(spec, space, 12);
  NAS_ASSERT_OK(a);
  NAS_ASSERT_OK(b);
  NAS_ASSERT_OK(c);
  std::vector<std::vector<int>> pa = Drive(**a, *space, 20, 3);
  ASSERT_EQ(pa.size(), 60u);
  ExpectValid(*space, pa);
  if (strategy.find("dedupe: true") != std::string::npos) {
    // 60 of the smallest space's 120 genotypes: never one twice.
    EXPECT_EQ(std::set<std::vector<int>>(pa.begin(), pa.end()).size(),
              pa.size());
  }
  // Replay as the controller does: same seed, same interleaving.
  EXPECT_EQ(Drive(**b, *space, 20, 3), pa);
  EXPECT_NE(Drive(**c, *space, 20, 3), pa);
}

INSTANTIATE_TEST_SUITE_P(
    Strategies, EveryStrategyOnEverySpace,
    ::testing::Combine(
        ::testing::Values(
            "{name: random}",
            "{name: evolution, evolution: {population: 6, sample_size: 3}}",
            "{name: evolution, evolution: {population: 6, sample_size: 3, "
            "dedupe: true, local_search: 0.5}}",
            "{name: evolution, evolution: {population: 6, sample_size: 3, "
            "dedupe: true, local_search: 1, predictor: true}}",
            "{name: reinforce}",
            "{name: reinforce, reinforce: {dedupe: true, hidden_size: 16}}"),
        ::testing::Values("nb201", "mobilenet", "custom")));

TEST(EvolutionStrategy, DedupeNeverRepeatsAProposal) {
  for (const char* space_name : {"nb201", "mobilenet", "custom"}) {
    std::shared_ptr<const SearchSpace> owned =
        SpaceOf(SpecFor("{name: random}", space_name));
    ASSERT_NE(owned, nullptr);
    const SearchSpace* space = owned.get();
    auto plain = MakeStrategy(
        SpecFor("{name: evolution, evolution: {population: 4, sample_size: "
                "4}}",
                space_name),
        space, 5);
    auto dedupe = MakeStrategy(
        SpecFor("{name: evolution, evolution: {population: 4, sample_size: "
                "4, dedupe: true}}",
                space_name),
        space, 5);
    // The custom space has 120 genotypes: half of them are proposed.
    const int rounds = space->name() == "custom" ? 30 : 100;
    std::vector<std::vector<int>> p = Drive(**plain, *space, rounds, 2);
    std::vector<std::vector<int>> d = Drive(**dedupe, *space, rounds, 2);
    std::set<std::vector<int>> ps(p.begin(), p.end());
    std::set<std::vector<int>> ds(d.begin(), d.end());
    // Plain aging evolution on a converging population repeats itself ...
    EXPECT_LT(ps.size(), p.size()) << space_name;
    // ... the de-duplicating one does not.
    EXPECT_EQ(ds.size(), d.size()) << space_name;
  }
}

TEST(EvolutionStrategy, LocalSearchWalksTheNeighbourhoodOfTheBest) {
  Nb201Space space;
  v1::EvolutionOptions o = Evo(4, 2);
  o.set_local_search(1.0);
  auto s = MakeEvolutionStrategy(&space, 3, o);
  absl::StatusOr<std::vector<Proposal>> first = s->Propose(4);
  NAS_ASSERT_OK(first);
  const std::vector<double> acc = {0.5, 0.9, 0.7, 0.6};
  for (int i = 0; i < 4; ++i) {
    v1::EvaluationMetrics m;
    m.set_val_accuracy(acc[i]);
    s->Observe({10 + i, (*first)[i].choices, m, 0});
  }
  // The best (id 11) has 24 neighbours; the next 24 proposals are exactly
  // those, each once, then the second best's neighbours follow.
  absl::StatusOr<std::vector<Proposal>> steps = s->Propose(24);
  NAS_ASSERT_OK(steps);
  std::set<std::vector<int>> seen;
  for (const Proposal& p : *steps) {
    EXPECT_EQ(p.parent_id, 11);
    EXPECT_NE(p.strategy_data.find(R"("op":"local_search")"),
              std::string::npos);
    seen.insert(p.choices);
  }
  std::vector<std::vector<int>> nb = space.Neighbours((*first)[1].choices);
  for (const auto& n : nb) {
    // A neighbour equal to another initial sample was proposed already.
    bool initial = false;
    for (const Proposal& f : *first) initial = initial || f.choices == n;
    EXPECT_EQ(seen.count(n), initial ? 0u : 1u);
  }
  absl::StatusOr<std::vector<Proposal>> next = s->Propose(1);
  NAS_ASSERT_OK(next);
  if (seen.size() == 24) EXPECT_EQ((*next)[0].parent_id, 12);
}

TEST(EvolutionStrategy, PredictorPicksTheNeighbourItRatesBest) {
  // Fitness = share of nor_conv_3x3 edges (additive). After 30 random
  // results the ridge model ranks a neighbour that turns one more edge into
  // nor_conv_3x3 first, so every local-search step (while the incumbent is
  // not optimal) gains exactly one such edge; a random neighbour would do
  // so only 1/4 of the time.
  Nb201Space space;
  v1::EvolutionOptions o = Evo(30, 5);
  o.set_local_search(1.0);
  o.set_dedupe(true);
  o.set_predictor(true);
  auto s = MakeEvolutionStrategy(&space, 8, o);
  absl::StatusOr<std::vector<Proposal>> first = s->Propose(30);
  NAS_ASSERT_OK(first);
  std::vector<int> best;
  int64_t id = 1;
  for (const Proposal& p : *first) {
    v1::EvaluationMetrics m;
    m.set_val_accuracy(Conv3Fraction(p.choices));
    s->Observe({id++, p.choices, m, 0});
    if (best.empty() || Conv3Fraction(p.choices) > Conv3Fraction(best)) {
      best = p.choices;
    }
  }
  ASSERT_LT(Conv3Fraction(best), 1.0);
  absl::StatusOr<std::vector<Proposal>> step = s->Propose(1);
  NAS_ASSERT_OK(step);
  EXPECT_NE((*step)[0].strategy_data.find("local_search"), std::string::npos);
  EXPECT_DOUBLE_EQ(Conv3Fraction((*step)[0].choices),
                   Conv3Fraction(best) + 1.0 / 6);
}

TEST(EvolutionStrategy, ParetoRankingPicksNonDominatedParents) {
  // Population of 3: A (0.9 acc, 1000 macs) dominates B (0.8, 2000); C
  // (0.5, 100) is on the front too. Every tournament of size 3 draws with
  // replacement; a child's parent must never be B (dominated) unless all
  // three draws were B.
  Nb201Space space;
  v1::ObjectiveSpec objective;
  objective.set_ranking("pareto");
  objective.add_minimize("macs");
  auto s = MakeEvolutionStrategy(&space, 1, Evo(3, 3), objective);
  ASSERT_TRUE(s->Propose(3).ok());
  auto observe = [&](int64_t id, int op, double acc, int64_t macs) {
    v1::EvaluationMetrics m;
    m.set_val_accuracy(acc);
    m.set_macs(macs);
    s->Observe({id, std::vector<int>(6, op), m, 0});
  };
  observe(1, 0, 0.9, 1000);
  observe(2, 1, 0.8, 2000);
  observe(3, 2, 0.5, 100);
  absl::StatusOr<std::vector<Proposal>> kids = s->Propose(200);
  NAS_ASSERT_OK(kids);
  std::map<int64_t, int> parents;
  for (const Proposal& k : *kids) parents[k.parent_id]++;
  EXPECT_LT(parents[2], 200 / 27 + 10);  // ~1/27 of tournaments
  EXPECT_GT(parents[1], 50);
  EXPECT_GT(parents[3], 50);
  // With scalar ranking C (0.5) would almost never be a parent.
  auto scalar = MakeEvolutionStrategy(&space, 1, Evo(3, 3));
  ASSERT_TRUE(scalar->Propose(3).ok());
  v1::EvaluationMetrics m;
  for (auto [id, acc] :
       {std::pair<int64_t, double>{1, 0.9}, {2, 0.8}, {3, 0.5}}) {
    m.set_val_accuracy(acc);
    scalar->Observe({id, std::vector<int>(6, 0), m, 0});
  }
  parents.clear();
  for (const Proposal& k : *scalar->Propose(200)) parents[k.parent_id]++;
  EXPECT_LT(parents[3], 200 / 27 + 10);
}

TEST(EvolutionStrategy, MnasRewardChangesTheWinner) {
  // Same accuracy ordering, but the more accurate member is 100x over the
  // latency target with the hard variant (above_weight -1): the reward
  // prefers the fast one.
  Nb201Space space;
  v1::ObjectiveSpec objective;
  objective.mutable_reward()->set_metric("latency_ms");
  objective.mutable_reward()->set_target(1);
  objective.mutable_reward()->set_below_weight(0);
  objective.mutable_reward()->set_above_weight(-1);
  auto s = MakeEvolutionStrategy(&space, 1, Evo(2, 2), objective);
  ASSERT_TRUE(s->Propose(2).ok());
  v1::EvaluationMetrics slow, fast;
  slow.set_val_accuracy(0.9);
  slow.set_latency_ms(100);
  fast.set_val_accuracy(0.6);
  fast.set_latency_ms(0.5);
  s->Observe({1, std::vector<int>(6, 0), slow, 0});
  s->Observe({2, std::vector<int>(6, 1), fast, 0});
  std::map<int64_t, int> parents;
  for (const Proposal& k : *s->Propose(100)) parents[k.parent_id]++;
  EXPECT_GT(parents[2], parents[1]);
  EXPECT_GT(parents[2], 60);  // 3/4 of size-2 tournaments contain it
}

// Proxy guidance: each proposal is a slot of `children` distinct children
// (the first plus its alternatives), never repeating any earlier child;
// slots, not children, count towards the random first population.
TEST(EvolutionStrategy, ProxyGuidanceProposesSlotsOfDistinctChildren) {
  Nb201Space space;
  v1::EvolutionOptions o = Evo(3, 2);
  o.mutable_proxy()->set_children(5);
  o.mutable_proxy()->set_metric("synflow");
  auto evo = MakeEvolutionStrategy(&space, 4, o);
  std::set<std::vector<int>> seen;
  absl::StatusOr<std::vector<Proposal>> first = evo->Propose(3);
  NAS_ASSERT_OK(first);
  ASSERT_EQ(first->size(), 3u);
  for (const Proposal& slot : *first) {
    ASSERT_EQ(slot.alternatives.size(), 4u);
    EXPECT_TRUE(seen.insert(slot.choices).second);
    EXPECT_EQ(slot.strategy_data, R"({"op":"random"})");
    for (const Proposal& a : slot.alternatives) {
      EXPECT_TRUE(seen.insert(a.choices).second);
      EXPECT_TRUE(a.alternatives.empty());
      EXPECT_EQ(a.parent_id, 0);
    }
  }
  // Only the trained child of each slot is observed.
  for (int i = 0; i < 3; ++i) {
    Observation ob;
    ob.candidate_id = 10 + i;
    ob.choices = (*first)[i].alternatives[i].choices;
    ob.metrics.set_val_accuracy(0.5 + 0.1 * i);
    evo->Observe(ob);
  }
  // Past 3 slots: children are mutated tournament winners, still distinct.
  absl::StatusOr<std::vector<Proposal>> next = evo->Propose(4);
  NAS_ASSERT_OK(next);
  for (const Proposal& slot : *next) {
    ASSERT_EQ(slot.alternatives.size(), 4u);
    EXPECT_GE(slot.parent_id, 10);
    EXPECT_TRUE(seen.insert(slot.choices).second);
    for (const Proposal& a : slot.alternatives) {
      EXPECT_GE(a.parent_id, 10);
      EXPECT_NE(a.strategy_data.find(R"("op":"mutate")"), std::string::npos);
      EXPECT_TRUE(seen.insert(a.choices).second);
    }
  }
  // Without guidance a proposal has no alternatives.
  auto plain = MakeEvolutionStrategy(&space, 4, Evo(3, 2));
  EXPECT_TRUE((*plain->Propose(1))[0].alternatives.empty());
}

}  // namespace
}  // namespace nas
