// The `mobilenet` space: a hardware-aware macro space in the style of
// ProxylessNAS / Once-for-All. Thread-safe (immutable).
//
// Genotype: 4 searchable stages x 4 decisions = 16 decisions; stage s owns
// decisions 4s..4s+3, in this order:
//   4s+0 kernel     {3, 5, 7}   (choice index 0..2)
//   4s+1 expansion  {3, 4, 6}   (0..2)
//   4s+2 depth      {2, 3, 4}   (0..2) blocks in the stage
//   4s+3 SE         {off, on}   (0..1)
// A trainer (mode COMMAND) sees them as "stage<s+1>_kernel",
// "stage<s+1>_expansion", "stage<s+1>_depth" (integers: the values above)
// and "stage<s+1>_se" (integer 0 or 1), e.g. stage1_kernel = 5.
// 54 choices per stage, 54^4 = 8,503,056 architectures. The number of
// stages is fixed because a space's decisions cannot depend on the spec.
// The width multiplier is an experiment option (MobileNetOptions), not a
// decision: it scales every layer, so it is a budget knob chosen once.
//
// Canonical string: the 4 stages joined by '-', each "k<K>e<E>d<D>se<0|1>",
// e.g. "k3e4d2se0-k5e6d3se1-k7e3d4se0-k3e3d2se1".
//
// Skeleton (what ComputeCost counts and the worker builds); scale(c) =
// MakeDivisible(c * width_multiplier, channel_divisor):
//   stem: conv3x3(in -> scale(stem_channels), stride stem_stride, pad 1,
//         no bias) + BN + ReLU6
//   stage s (s = 0..3), D blocks; block j has stride stage_strides[s] when
//   j == 0, else 1, and outputs scale(stage_channels[s]) channels.
//   MBConv block (cin -> cout, hidden = cin * E):
//     expand: conv1x1(cin -> hidden, no bias) + BN + ReLU6
//     depthwise: conv KxK(hidden, groups hidden, stride, pad K/2, no bias)
//                + BN + ReLU6
//     SE (when on): r = MakeDivisible(hidden / 4 (integer), channel_divisor);
//                global average pool -> conv1x1(hidden -> r, bias) -> ReLU
//                -> conv1x1(r -> hidden, bias) -> sigmoid -> multiply
//     project: conv1x1(hidden -> cout, no bias) + BN (no activation)
//     residual: out += in when stride == 1 and cin == cout.
//   head: conv1x1(-> scale(head_channels), no bias) + BN + ReLU6, global
//         average pool, linear(head -> classes, bias).
// Spatial size: every conv has padding K/2 with odd K, so a stride-s layer
// maps H to ceil(H / s): inputs of any size >= 1 work.
//
// MAC convention (as nb201_space.h): convolutions Cout*Hout*Wout*Cin*k*k /
// groups (SE's 1x1 convs at 1x1 spatial size included), linear in*out,
// global average pools C*H*W (the SE pool and the head pool). Not counted:
// BN, ReLU6/ReLU/sigmoid, residual additions, the SE gate multiplication,
// biases. Params: every trainable tensor (conv weights, SE conv biases,
// BN weight and bias, linear weight and bias).
#ifndef NAS_COMMON_SPACES_MOBILENET_SPACE_H_
#define NAS_COMMON_SPACES_MOBILENET_SPACE_H_

#include <array>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spaces/search_space.h"

namespace nas {

inline constexpr int kMobileNetStages = 4;
inline constexpr int kMobileNetDecisionsPerStage = 4;
inline constexpr std::array<int, 3> kMobileNetKernels = {3, 5, 7};
inline constexpr std::array<int, 3> kMobileNetExpansions = {3, 4, 6};
inline constexpr std::array<int, 3> kMobileNetDepths = {2, 3, 4};

// One stage's decoded decisions.
struct MobileNetStage {
  int kernel = 3;
  int expansion = 3;
  int depth = 2;
  bool se = false;
};
using MobileNetGenotype = std::array<MobileNetStage, kMobileNetStages>;

// Decodes 16 choice indices; InvalidArgument naming the bad decision.
absl::StatusOr<MobileNetGenotype> DecodeMobileNet(
    const std::vector<int>& choices);

// Skeleton options with defaults applied (unscaled channel counts; see
// MobileNetOptions in architecture.proto for each field's meaning).
struct MobileNetShape {
  double width_multiplier = 1.0;
  int channel_divisor = 8;
  int stem_channels = 16;
  int stem_stride = 1;
  std::array<int, kMobileNetStages> stage_channels = {16, 24, 40, 80};
  std::array<int, kMobileNetStages> stage_strides = {1, 2, 2, 1};
  int head_channels = 256;

  // MakeDivisible(base * width_multiplier, channel_divisor).
  int Scaled(int base) const;
  // SE bottleneck width for `hidden` channels.
  int SeChannels(int hidden) const;
};

// spec.mobilenet() with zero/empty fields replaced by defaults.
// InvalidArgument when a set field is out of range (the same rules as
// ValidateSpec) or a repeated field does not have 4 entries.
absl::StatusOr<MobileNetShape> ResolveMobileNet(
    const v1::SearchSpaceSpec& spec);

// MobileNet's channel rounding (`_make_divisible`): the multiple of
// `divisor` nearest to v (at least `divisor`), bumped up one step when
// rounding lost more than 10%.
int MakeDivisible(double v, int divisor);

class MobileNetSpace final : public SearchSpace {
 public:
  absl::string_view name() const override { return "mobilenet"; }
  int num_decisions() const override {
    return kMobileNetStages * kMobileNetDecisionsPerStage;
  }
  int num_choices(int decision) const override {
    return decision % kMobileNetDecisionsPerStage == 3 ? 2 : 3;
  }
  absl::StatusOr<std::string> Canonical(
      const std::vector<int>& choices) const override;
  absl::StatusOr<std::vector<int>> Parse(absl::string_view s) const override;
  // InvalidArgument for a bad genotype, bad options or an empty input.
  absl::StatusOr<Cost> ComputeCost(const std::vector<int>& choices,
                                   const v1::SearchSpaceSpec& spec,
                                   const InputShape& input) const override;
  // "stage<S>_kernel", "_expansion", "_depth", "_se" with S from 1; the
  // values as integers (kernel 3/5/7, expansion 3/4/6, depth 2/3/4, se 0/1).
  std::string DecisionName(int decision) const override;
  ChoiceValue Choice(int decision, int choice) const override;
};

}  // namespace nas

#endif  // NAS_COMMON_SPACES_MOBILENET_SPACE_H_
