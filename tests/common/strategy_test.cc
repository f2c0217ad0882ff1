#include "controller/strategy.h"

#include <algorithm>

#include "common/nb201_space.h"
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
