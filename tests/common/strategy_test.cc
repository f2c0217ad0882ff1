#include "controller/strategy.h"

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
