// The declared ("custom") search space, and the decision names and choice
// values a trainer sees for the built-in spaces.
#include "common/spaces/custom_space.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/spaces/mobilenet_space.h"
#include "common/spaces/nb201_space.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using absl::StatusCode;
using ::nas::testing::StatusIs;

v1::SpaceDecision Decision(const std::string& name,
                           const std::vector<std::string>& choices,
                           const std::string& type = "") {
  v1::SpaceDecision d;
  d.set_name(name);
  for (const std::string& c : choices) d.add_choices(c);
  d.set_type(type);
  return d;
}

v1::SearchSpaceSpec Spec(const std::vector<v1::SpaceDecision>& decisions) {
  v1::SearchSpaceSpec spec;
  spec.set_name("custom");
  for (const v1::SpaceDecision& d : decisions) *spec.add_decisions() = d;
  return spec;
}

// 3 x 2 x 3 = 18 genotypes, one decision of each type.
v1::SearchSpaceSpec Small() {
  return Spec({Decision("depth", {"+02", "3", "004"}),
               Decision("width", {"0.25", ".5"}),
               Decision("act", {"relu", "gelu", "silu"})});
}

std::shared_ptr<const SearchSpace> Make(const v1::SearchSpaceSpec& spec) {
  absl::StatusOr<std::shared_ptr<const SearchSpace>> s = MakeSearchSpace(spec);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : nullptr;
}

TEST(CustomSpace, ShapeNamesAndNormalizedChoices) {
  std::shared_ptr<const SearchSpace> s = Make(Small());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name(), "custom");
  EXPECT_FALSE(s->has_analytic_cost());
  ASSERT_EQ(s->num_decisions(), 3);
  EXPECT_EQ(s->num_choices(0), 3);
  EXPECT_EQ(s->num_choices(1), 2);
  EXPECT_EQ(s->num_choices(2), 3);
  EXPECT_EQ(s->DecisionName(0), "depth");
  EXPECT_EQ(s->DecisionName(2), "act");
  // Types inferred: int, float, string; texts normalized.
  EXPECT_EQ(s->Choice(0, 0).kind, ChoiceValue::kInt);
  EXPECT_EQ(s->Choice(0, 0).text, "2");
  EXPECT_EQ(s->Choice(0, 2).text, "4");
  EXPECT_EQ(s->Choice(1, 0).kind, ChoiceValue::kFloat);
  EXPECT_EQ(s->Choice(1, 0).text, "0.25");
  EXPECT_EQ(s->Choice(1, 1).text, "0.5");
  EXPECT_EQ(s->Choice(2, 1).kind, ChoiceValue::kString);
  EXPECT_EQ(s->Choice(2, 1).text, "gelu");
  EXPECT_EQ(*s->Canonical({1, 1, 2}), "depth=3|width=0.5|act=silu");
  // No analytic cost.
  absl::StatusOr<Cost> cost = s->ComputeCost({0, 0, 0}, Small(), {});
  NAS_ASSERT_OK(cost);
  EXPECT_EQ(cost->macs, 0);
  EXPECT_EQ(cost->params, 0);
  EXPECT_THAT(s->ComputeCost({3, 0, 0}, Small(), {}),
              StatusIs(StatusCode::kInvalidArgument, "(depth) out of range"));
}

TEST(CustomSpace, CanonicalParseRoundTripForEveryGenotype) {
  std::shared_ptr<const SearchSpace> s = Make(Small());
  ASSERT_NE(s, nullptr);
  std::set<std::string> canonicals, hashes;
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 2; ++b) {
      for (int c = 0; c < 3; ++c) {
        const std::vector<int> g = {a, b, c};
        absl::StatusOr<std::string> text = s->Canonical(g);
        NAS_ASSERT_OK(text);
        absl::StatusOr<std::vector<int>> back = s->Parse(*text);
        NAS_ASSERT_OK(back);
        EXPECT_EQ(*back, g) << *text;
        canonicals.insert(*text);
        absl::StatusOr<v1::Genotype> proto = s->ToProto(g);
        NAS_ASSERT_OK(proto);
        EXPECT_EQ(proto->space(), "custom");
        EXPECT_EQ(proto->canonical(), *text);
        EXPECT_EQ(proto->hash(), StableHash(*text));
        hashes.insert(proto->hash());
      }
    }
  }
  EXPECT_EQ(canonicals.size(), 18u);
  EXPECT_EQ(hashes.size(), 18u);
}

TEST(CustomSpace, StableHashIsPinned) {
  // Stored candidates are found by this hash: it must never change between
  // releases (nor may the canonical format).
  std::shared_ptr<const SearchSpace> s = Make(Small());
  ASSERT_NE(s, nullptr);
  absl::StatusOr<v1::Genotype> g = s->ToProto({2, 0, 1});
  NAS_ASSERT_OK(g);
  EXPECT_EQ(g->canonical(), "depth=4|width=0.25|act=gelu");
  EXPECT_EQ(g->hash(), "67c7c162651b3b35");
}

TEST(CustomSpace, ParseAcceptsNumericallyEqualValues) {
  std::shared_ptr<const SearchSpace> s = Make(Small());
  ASSERT_NE(s, nullptr);
  absl::StatusOr<std::vector<int>> g = s->Parse("depth=+3|width=.50|act=relu");
  NAS_ASSERT_OK(g);
  EXPECT_EQ(*g, (std::vector<int>{1, 1, 0}));
}

TEST(CustomSpace, BadParseInputsNameTheTokenAndDecision) {
  std::shared_ptr<const SearchSpace> s = Make(Small());
  ASSERT_NE(s, nullptr);
  EXPECT_THAT(s->Parse("depth=3|width=0.5"),
              StatusIs(StatusCode::kInvalidArgument, "needs 3 tokens"));
  EXPECT_THAT(s->Parse("depth=3|act=relu|width=0.5"),
              StatusIs(StatusCode::kInvalidArgument,
                       "token 2 'act=relu' must be width=<choice>"));
  EXPECT_THAT(s->Parse("depth=5|width=0.5|act=relu"),
              StatusIs(StatusCode::kInvalidArgument,
                       "token 1 'depth=5': not a choice of decision depth "
                       "(2, 3, 4)"));
  EXPECT_THAT(s->Parse("depth=3|width=0.5|act=RELU"),
              StatusIs(StatusCode::kInvalidArgument,
                       "token 3 'act=RELU': not a choice of decision act"));
  EXPECT_THAT(s->Parse("depth=three|width=0.5|act=relu"),
              StatusIs(StatusCode::kInvalidArgument, "token 1 'depth=three'"));
  EXPECT_THAT(s->Parse("depth|width=0.5|act=relu"),
              StatusIs(StatusCode::kInvalidArgument,
                       "token 1 'depth' must be depth=<choice>"));
  EXPECT_THAT(s->Canonical({0, 2, 0}),
              StatusIs(StatusCode::kInvalidArgument,
                       "choice 1 (width) out of range [0, 2): 2"));
}

TEST(CustomSpace, NeighboursAndSamples) {
  std::shared_ptr<const SearchSpace> s = Make(Small());
  ASSERT_NE(s, nullptr);
  // (3-1) + (2-1) + (3-1) = 5 neighbours, each one decision away.
  std::vector<std::vector<int>> n = s->Neighbours({0, 0, 0});
  EXPECT_EQ(n.size(), 5u);
  for (const std::vector<int>& g : n) {
    int diff = 0;
    for (int d = 0; d < 3; ++d) diff += g[d] != 0;
    EXPECT_EQ(diff, 1);
    NAS_EXPECT_OK(s->Canonical(g));
  }
  std::mt19937_64 rng(7);
  std::set<std::vector<int>> seen;
  for (int i = 0; i < 500; ++i) seen.insert(s->Sample(rng));
  EXPECT_EQ(seen.size(), 18u);  // every genotype drawn
}

TEST(CustomSpace, TypeInference) {
  EXPECT_EQ(InferDecisionType(Decision("a", {"3", "-5", "+7", "007"})), "int");
  EXPECT_EQ(InferDecisionType(Decision("a", {"3", "0.5"})), "float");
  EXPECT_EQ(InferDecisionType(Decision("a", {"1e-3", "2E+2", "5."})), "float");
  EXPECT_EQ(InferDecisionType(Decision("a", {"3", "relu"})), "string");
  EXPECT_EQ(InferDecisionType(Decision("a", {"inf", "1"})), "string");
  EXPECT_EQ(InferDecisionType(Decision("a", {"0x10"})), "string");
  EXPECT_EQ(InferDecisionType(Decision("a", {"1e"})), "string");
  EXPECT_EQ(InferDecisionType(Decision("a", {"."})), "string");
  EXPECT_EQ(InferDecisionType(Decision("a", {"99999999999999999999"})),
            "float");  // beyond int64
  EXPECT_EQ(NormalizeChoice("-0", "int")->text, "0");
  EXPECT_EQ(NormalizeChoice("+007", "int")->text, "7");
  EXPECT_EQ(NormalizeChoice("5.", "float")->text, "5.0");
  EXPECT_EQ(NormalizeChoice("-.5", "float")->text, "-0.5");
  EXPECT_EQ(NormalizeChoice("007.50e+01", "float")->text, "7.50e+01");
  EXPECT_DOUBLE_EQ(NormalizeChoice("007.50e+01", "float")->value, 75);
  EXPECT_FALSE(NormalizeChoice("1e999", "float").has_value());
  EXPECT_FALSE(NormalizeChoice("3.0", "int").has_value());
  // An explicit type wins: numbers handed over as strings.
  std::shared_ptr<const SearchSpace> s =
      Make(Spec({Decision("tag", {"007", "7.0"}, "string")}));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->Choice(0, 0).kind, ChoiceValue::kString);
  EXPECT_EQ(*s->Canonical({0}), "tag=007");
}

TEST(CustomSpace, NumericallyEqualChoicesAreRefused) {
  EXPECT_THAT(MakeSearchSpace(Spec({Decision("lr", {"0.1", "0.2", "0.10"})})),
              StatusIs(StatusCode::kInvalidArgument,
                       "search_space.decisions[0] (lr).choices[2]: '0.10' is "
                       "the same float as choices[0] ('0.1')"));
  EXPECT_THAT(MakeSearchSpace(Spec({Decision("k", {"3", "5", "+3"})})),
              StatusIs(StatusCode::kInvalidArgument,
                       "decisions[0] (k).choices[2]: '+3' is the same int as "
                       "choices[0]"));
  // As strings they differ.
  NAS_EXPECT_OK(
      MakeSearchSpace(Spec({Decision("k", {"3", "5", "+3"}, "string")})));
  EXPECT_THAT(MakeSearchSpace(Spec({Decision("a", {"relu", "relu"})})),
              StatusIs(StatusCode::kInvalidArgument,
                       "decisions[0] (a).choices[1]: 'relu' is the same "
                       "string"));
}

TEST(CustomSpace, BadDecisionsAreNamed) {
  auto refused = [](const v1::SearchSpaceSpec& spec, const std::string& what) {
    EXPECT_THAT(MakeSearchSpace(spec),
                StatusIs(StatusCode::kInvalidArgument, what));
  };
  refused(Spec({}), "search_space.decisions: a custom space needs 1 to 64");
  std::vector<v1::SpaceDecision> many(65, Decision("x", {"1"}));
  for (int i = 0; i < 65; ++i) many[i].set_name("d" + std::to_string(i));
  refused(Spec(many), "needs 1 to 64 decisions, got 65");
  refused(Spec({Decision("a", {"1"}), Decision("a", {"2"})}),
          "search_space.decisions[1].name: 'a' repeats the name of "
          "decisions[0]");
  refused(Spec({Decision("1a", {"1"})}), "decisions[0].name: '1a' must be");
  refused(Spec({Decision("", {"1"})}), "decisions[0].name: required");
  refused(Spec({Decision(std::string(65, 'a'), {"1"})}), "decisions[0].name");
  refused(Spec({Decision("a", {})}),
          "decisions[0] (a).choices: needs 1 to 256 choices, got 0");
  refused(Spec({Decision("a", std::vector<std::string>(257, "x"))}),
          "needs 1 to 256 choices, got 257");
  refused(Spec({Decision("a", {"x", ""})}),
          "decisions[0] (a).choices[1]: must not be empty");
  refused(Spec({Decision("a", {"x", "a|b"})}),
          "decisions[0] (a).choices[1]: 'a|b' contains '|'");
  refused(Spec({Decision("a", {"k=3"})}), "'k=3' contains '='");
  refused(Spec({Decision("a", {" x"})}), "leading or trailing spaces");
  refused(Spec({Decision("a", {"x\ty"})}), "control character (byte 9)");
  refused(Spec({Decision("a", {"\xc3"})}), "not valid UTF-8 at byte 0");
  refused(Spec({Decision("a", {"\xc2\x85"})}), "control character (U+0085)");
  refused(Spec({Decision("a", {std::string(129, 'x')})}),
          "at most 128 bytes, got 129");
  refused(Spec({Decision("a", {"1", "2"}, "number")}),
          "decisions[0] (a).type: unknown type 'number' (int, float, string)");
  refused(Spec({Decision("a", {"1", "2.5"}, "int")}),
          "decisions[0] (a).choices[1]: '2.5' does not read as an int");
  refused(Spec({Decision("a", {"1", "relu"}, "float")}),
          "'relu' does not read as a float");
  // UTF-8 text is fine.
  NAS_EXPECT_OK(MakeSearchSpace(Spec({Decision("a", {"\xc3\xa9t\xc3\xa9"})})));
  // Decisions are only for custom spaces.
  v1::SearchSpaceSpec nb = Spec({Decision("a", {"1"})});
  nb.set_name("nb201");
  refused(nb, "search_space.decisions: only for name: custom");
}

TEST(BuiltinSpaces, Nb201DecisionsAreItsEdgesWithOpNames) {
  Nb201Space s;
  std::vector<std::string> names;
  for (int i = 0; i < s.num_decisions(); ++i)
    names.push_back(s.DecisionName(i));
  EXPECT_EQ(names,
            (std::vector<std::string>{"edge_1_0", "edge_2_0", "edge_2_1",
                                      "edge_3_0", "edge_3_1", "edge_3_2"}));
  // Genotype order: edge 2 (decision 2) is node 2's input from node 1.
  const std::vector<int> g = {3, 0, 1, 2, 4, 3};
  const std::string canonical = *s.Canonical(g);
  for (int i = 0; i < s.num_decisions(); ++i) {
    ChoiceValue v = s.Choice(i, g[i]);
    EXPECT_EQ(v.kind, ChoiceValue::kString);
    EXPECT_NE(canonical.find(v.text + "~" + names[i].substr(7)),
              std::string::npos)
        << names[i] << " " << v.text << " in " << canonical;
  }
  EXPECT_EQ(s.Choice(3, 3).text, "nor_conv_3x3");
  EXPECT_EQ(s.Choice(0, 0).text, "none");
}

TEST(BuiltinSpaces, MobileNetDecisionsPerStageWithTheirValues) {
  MobileNetSpace s;
  EXPECT_EQ(s.DecisionName(0), "stage1_kernel");
  EXPECT_EQ(s.DecisionName(1), "stage1_expansion");
  EXPECT_EQ(s.DecisionName(2), "stage1_depth");
  EXPECT_EQ(s.DecisionName(3), "stage1_se");
  EXPECT_EQ(s.DecisionName(15), "stage4_se");
  EXPECT_EQ(s.DecisionName(8), "stage3_kernel");
  std::set<std::string> unique;
  for (int i = 0; i < s.num_decisions(); ++i) unique.insert(s.DecisionName(i));
  EXPECT_EQ(unique.size(), 16u);
  // Values, checked against the decoded genotype.
  const std::vector<int> g = {2, 0, 1, 1, 0, 2, 2, 0, 1, 1, 0, 1, 0, 0, 0, 0};
  MobileNetGenotype decoded = *DecodeMobileNet(g);
  for (int st = 0; st < kMobileNetStages; ++st) {
    const int b = st * kMobileNetDecisionsPerStage;
    EXPECT_EQ(s.Choice(b, g[b]).text, std::to_string(decoded[st].kernel));
    EXPECT_EQ(s.Choice(b + 1, g[b + 1]).text,
              std::to_string(decoded[st].expansion));
    EXPECT_EQ(s.Choice(b + 2, g[b + 2]).text,
              std::to_string(decoded[st].depth));
    EXPECT_EQ(s.Choice(b + 3, g[b + 3]).text, decoded[st].se ? "1" : "0");
    for (int d = 0; d < kMobileNetDecisionsPerStage; ++d) {
      EXPECT_EQ(s.Choice(b + d, 0).kind, ChoiceValue::kInt);
    }
  }
  EXPECT_EQ(s.Choice(0, 2).text, "7");
  EXPECT_EQ(s.Choice(1, 2).text, "6");
  EXPECT_EQ(s.Choice(2, 0).text, "2");
}

}  // namespace
}  // namespace nas
