#include "common/spaces/mobilenet_space.h"

#include <random>
#include <set>

#include "common/spec/spec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

TEST(MobileNetSpace, CanonicalFormat) {
  MobileNetSpace space;
  EXPECT_EQ(space.num_decisions(), 16);
  const std::vector<int> c = {0, 1, 0, 0, 1, 2, 1, 1, 2, 0, 2, 0, 0, 0, 0, 1};
  absl::StatusOr<std::string> s = space.Canonical(c);
  NAS_ASSERT_OK(s);
  EXPECT_EQ(*s, "k3e4d2se0-k5e6d3se1-k7e3d4se0-k3e3d2se1");
  absl::StatusOr<std::vector<int>> back = space.Parse(*s);
  NAS_ASSERT_OK(back);
  EXPECT_EQ(*back, c);
}

TEST(MobileNetSpace, DecisionsByStageWithIntegerValues) {
  const MobileNetSpace space;
  EXPECT_EQ(space.DecisionName(0), "stage1_kernel");
  EXPECT_EQ(space.DecisionName(5), "stage2_expansion");
  EXPECT_EQ(space.DecisionName(10), "stage3_depth");
  EXPECT_EQ(space.DecisionName(15), "stage4_se");
  EXPECT_EQ(space.Choice(0, 2).text, "7");
  EXPECT_EQ(space.Choice(5, 2).text, "6");
  EXPECT_EQ(space.Choice(10, 0).text, "2");
  EXPECT_EQ(space.Choice(15, 1).text, "1");
  EXPECT_EQ(space.Choice(4, 1).kind, ChoiceValue::kInt);
}

TEST(MobileNetSpace, RoundTripsRandomGenotypes) {
  MobileNetSpace space;
  std::mt19937_64 rng(11);
  std::set<std::string> hashes;
  std::set<std::vector<int>> genotypes;
  for (int i = 0; i < 1000; ++i) {
    const std::vector<int> c = space.Sample(rng);
    absl::StatusOr<v1::Genotype> g = space.ToProto(c);
    NAS_ASSERT_OK(g);
    EXPECT_EQ(g->space(), "mobilenet");
    absl::StatusOr<std::vector<int>> back = space.Parse(g->canonical());
    NAS_ASSERT_OK(back);
    ASSERT_EQ(*back, c) << g->canonical();
    hashes.insert(g->hash());
    genotypes.insert(c);
  }
  EXPECT_EQ(hashes.size(), genotypes.size());
}

TEST(MobileNetSpace, ParseErrorsNameTheToken) {
  MobileNetSpace space;
  EXPECT_THAT(space.Parse("k3e4d2se0-k3e4d2se0"),
              StatusIs(absl::StatusCode::kInvalidArgument, "4 stages"));
  EXPECT_THAT(space.Parse("k3e4d2se0-k4e4d2se0-k3e4d2se0-k3e4d2se0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "stage 2 token 'k4e4d2se0': kernel must be 3, 5 or 7"));
  EXPECT_THAT(space.Parse("k3e4d2se0-k3e4d2se0-k3e5d2se0-k3e4d2se0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "token 'k3e5d2se0': expansion"));
  EXPECT_THAT(space.Parse("k3e4d2se0-k3e4d2se0-k3e4d2se0-k3e4d5se0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "stage 4 token 'k3e4d5se0': depth"));
  EXPECT_THAT(space.Parse("k3e4d2se2-k3e4d2se0-k3e4d2se0-k3e4d2se0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "token 'k3e4d2se2': se must be 0 or 1"));
  EXPECT_THAT(space.Parse("k3e4d2-k3e4d2se0-k3e4d2se0-k3e4d2se0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "token 'k3e4d2': expected k<3|5|7>"));
  EXPECT_THAT(space.Parse("k03e4d2se0-k3e4d2se0-k3e4d2se0-k3e4d2se0"),
              StatusIs(absl::StatusCode::kInvalidArgument, "'k03e4d2se0'"));
  EXPECT_THAT(space.Canonical({0, 1, 2}),
              StatusIs(absl::StatusCode::kInvalidArgument, "16 choices"));
  std::vector<int> c(16, 0);
  c[7] = 2;
  EXPECT_THAT(space.Canonical(c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "choice 7 (stage 2 se) out of range"));
}

TEST(MobileNetSpace, MakeDivisible) {
  EXPECT_EQ(MakeDivisible(16, 8), 16);
  EXPECT_EQ(MakeDivisible(12, 8), 16);   // rounds half up
  EXPECT_EQ(MakeDivisible(4, 8), 8);     // at least the divisor
  EXPECT_EQ(MakeDivisible(20, 16), 32);  // 16 loses > 10%: one step up
  EXPECT_EQ(MakeDivisible(3, 1), 3);
  EXPECT_EQ(MakeDivisible(0, 1), 1);
}

TEST(MobileNetSpace, CostByHandForTinySkeleton) {
  // 1x4x4 input, 3 classes, divisor 1, width 1: stem 2 channels, every
  // stage 2 channels, strides 1,2,1,2 (spatial 4 -> 4 -> 2 -> 2 -> 1),
  // head 4. Stages k3e3d2 (stage 1 with SE), stage 4 k5.
  MobileNetSpace space;
  v1::SearchSpaceSpec spec;
  spec.set_name("mobilenet");
  v1::MobileNetOptions* o = spec.mutable_mobilenet();
  o->set_width_multiplier(1.0);
  o->set_channel_divisor(1);
  o->set_stem_channels(2);
  for (int i = 0; i < 4; ++i) o->add_stage_channels(2);
  for (int s : {1, 2, 1, 2}) o->add_stage_strides(s);
  o->set_head_channels(4);
  const std::vector<int> c = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
  EXPECT_EQ(*space.Canonical(c), "k3e3d2se1-k3e3d2se0-k3e3d2se0-k5e3d2se0");
  absl::StatusOr<Cost> cost =
      space.ComputeCost(c, spec, InputShape{1, 4, 4, 3});
  NAS_ASSERT_OK(cost);
  // Params. Stem: 1*2*9 + BN 4 = 22. A 2->2 block with E=3 (hidden 6),
  // k=3: expand 12 + BN 12, depthwise 6*9 + BN 12, project 12 + BN 4 = 106;
  // k=5: depthwise 6*25 -> 202. SE (r = 6/4 = 1): 6*1 + 1 + 1*6 + 6 = 19.
  // Stages: 2*(106+19) + 2*106 + 2*106 + 2*202 = 1078. Head conv 2*4 + BN 8
  // = 16, linear 4*3 + 3 = 15. Total 22 + 1078 + 16 + 15 = 1131.
  EXPECT_EQ(cost->params, 1131);
  // MACs (hw_in -> hw per block): expand 12*hw_in, depthwise 54*hw (150*hw
  // for k5), project 12*hw, SE pool 6*hw + convs 12.
  // Stem 2*16*9 = 288. Stage 1 (16->16) 2*(192+864+192+96+12) = 2712.
  // Stage 2: (16->4) 192+216+48 = 456, (4->4) 48+216+48 = 312. Stage 3:
  // 2*312 = 624. Stage 4: (4->1) 48+150+12 = 210, (1->1) 12+150+12 = 174.
  // Head conv 8, pool 4, linear 12.
  // Total 288+2712+768+624+384+8+4+12 = 4800.
  EXPECT_EQ(cost->macs, 4800);
}

TEST(MobileNetSpace, WidthMultiplierAndOddInputs) {
  MobileNetSpace space;
  std::mt19937_64 rng(3);
  const std::vector<int> c = space.Sample(rng);
  v1::SearchSpaceSpec spec;
  absl::StatusOr<Cost> full = space.ComputeCost(c, spec, InputShape());
  NAS_ASSERT_OK(full);
  spec.mutable_mobilenet()->set_width_multiplier(0.5);
  absl::StatusOr<Cost> half = space.ComputeCost(c, spec, InputShape());
  NAS_ASSERT_OK(half);
  EXPECT_LT(half->params, full->params);
  EXPECT_LT(half->macs, full->macs);
  NAS_EXPECT_OK(space.ComputeCost(c, spec, InputShape{3, 31, 17, 100}));
  NAS_EXPECT_OK(space.ComputeCost(c, spec, InputShape{2, 1, 1, 2}));
  EXPECT_THAT(space.ComputeCost(c, spec, InputShape{1, 0, 28, 10}),
              StatusIs(absl::StatusCode::kInvalidArgument, "non-empty"));
}

TEST(MobileNetSpace, ResolveRejectsBadOptions) {
  v1::SearchSpaceSpec spec;
  absl::StatusOr<MobileNetShape> def = ResolveMobileNet(spec);
  NAS_ASSERT_OK(def);
  EXPECT_EQ(def->stage_channels, (std::array<int, 4>{16, 24, 40, 80}));
  EXPECT_EQ(def->stage_strides, (std::array<int, 4>{1, 2, 2, 1}));
  spec.mutable_mobilenet()->set_width_multiplier(-1);
  EXPECT_THAT(ResolveMobileNet(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, "width_multiplier"));
  spec.Clear();
  spec.mutable_mobilenet()->add_stage_strides(1);
  EXPECT_THAT(ResolveMobileNet(spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "stage_strides needs 4 entries, got 1"));
  spec.Clear();
  for (int s : {1, 2, 3, 1}) spec.mutable_mobilenet()->add_stage_strides(s);
  EXPECT_THAT(ResolveMobileNet(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, "stage_strides[2]"));
}

TEST(MobileNetSpace, RegisteredByName) {
  absl::StatusOr<const SearchSpace*> s = GetSearchSpace("mobilenet");
  NAS_ASSERT_OK(s);
  EXPECT_EQ((*s)->name(), "mobilenet");
  EXPECT_THAT(SearchSpaceNames(), ::testing::Contains("mobilenet"));
}

constexpr char kSpecYaml[] = R"(
name: mb
search_space:
  name: mobilenet
  mobilenet:
    width_multiplier: 0.5
    stage_strides: [1, 2, 2, 2]
budget:
  max_trials: 4
)";

TEST(MobileNetSpec, DefaultsFillUnsetOptions) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec({}, kSpecYaml);
  NAS_ASSERT_OK(spec);
  const v1::MobileNetOptions& o = spec->search_space().mobilenet();
  EXPECT_EQ(o.width_multiplier(), 0.5);
  EXPECT_EQ(o.stem_channels(), 16);
  EXPECT_EQ(o.stem_stride(), 1);
  EXPECT_THAT(o.stage_channels(), ::testing::ElementsAre(16, 24, 40, 80));
  EXPECT_THAT(o.stage_strides(), ::testing::ElementsAre(1, 2, 2, 2));
  EXPECT_EQ(o.head_channels(), 256);
  EXPECT_EQ(o.channel_divisor(), 8);
}

TEST(MobileNetSpec, ValidationNamesTheField) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec({}, R"(
name: mb
search_space:
  name: mobilenet
  mobilenet:
    width_multiplier: 0
    stage_channels: [16, 24, 40]
    stage_strides: [1, 2, 3, 1]
budget:
  max_trials: 4
)");
  EXPECT_THAT(spec, StatusIs(absl::StatusCode::kInvalidArgument,
                             "spec.search_space.mobilenet.width_multiplier "
                             "(line 6): must be in (0, 4]"));
  EXPECT_THAT(spec, StatusIs(absl::StatusCode::kInvalidArgument,
                             "spec.search_space.mobilenet.stage_channels "
                             "(line 7): needs exactly 4 entries"));
  EXPECT_THAT(spec, StatusIs(absl::StatusCode::kInvalidArgument,
                             "spec.search_space.mobilenet.stage_strides[2]"));
}

}  // namespace
}  // namespace nas
