#include "common/spaces/mobilenet_space.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace nas {
namespace {

constexpr char kTokenFormat[] = "k<3|5|7>e<3|4|6>d<2|3|4>se<0|1>";

// Index of `value` in `options`, or -1.
template <size_t N>
int IndexOf(const std::array<int, N>& options, int value) {
  for (size_t i = 0; i < N; ++i) {
    if (options[i] == value) return static_cast<int>(i);
  }
  return -1;
}

absl::Status CheckRange(const char* field, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mobilenet ", field, " must be in [", lo, ", ", hi, "], got ", v));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MobileNetGenotype> DecodeMobileNet(
    const std::vector<int>& choices) {
  constexpr int kDecisions = kMobileNetStages * kMobileNetDecisionsPerStage;
  if (choices.size() != kDecisions) {
    return absl::InvalidArgumentError(absl::StrCat("mobilenet genotype needs ",
                                                   kDecisions, " choices, got ",
                                                   choices.size()));
  }
  static constexpr std::array<const char*, kMobileNetDecisionsPerStage> kNames =
      {"kernel", "expansion", "depth", "se"};
  MobileNetGenotype g;
  for (int s = 0; s < kMobileNetStages; ++s) {
    for (int d = 0; d < kMobileNetDecisionsPerStage; ++d) {
      const int i = s * kMobileNetDecisionsPerStage + d;
      const int n = d == 3 ? 2 : 3;
      if (choices[i] < 0 || choices[i] >= n) {
        return absl::InvalidArgumentError(absl::StrCat(
            "mobilenet choice ", i, " (stage ", s + 1, " ", kNames[d],
            ") out of range [0, ", n, "): ", choices[i]));
      }
    }
    const int* c = &choices[s * kMobileNetDecisionsPerStage];
    g[s].kernel = kMobileNetKernels[c[0]];
    g[s].expansion = kMobileNetExpansions[c[1]];
    g[s].depth = kMobileNetDepths[c[2]];
    g[s].se = c[3] == 1;
  }
  return g;
}

int MakeDivisible(double v, int divisor) {
  const double d = divisor;
  int out = std::max(divisor, static_cast<int>(v + d / 2) / divisor * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

int MobileNetShape::Scaled(int base) const {
  return MakeDivisible(base * width_multiplier, channel_divisor);
}

int MobileNetShape::SeChannels(int hidden) const {
  return MakeDivisible(hidden / 4, channel_divisor);
}

absl::StatusOr<MobileNetShape> ResolveMobileNet(
    const v1::SearchSpaceSpec& spec) {
  const v1::MobileNetOptions& o = spec.mobilenet();
  MobileNetShape s;
  if (o.width_multiplier() != 0) {
    if (!(o.width_multiplier() > 0 && o.width_multiplier() <= 4)) {
      return absl::InvalidArgumentError(
          absl::StrCat("mobilenet width_multiplier must be in (0, 4], got ",
                       o.width_multiplier()));
    }
    s.width_multiplier = o.width_multiplier();
  }
  auto scalar = [](const char* field, int32_t v, int lo, int hi,
                   int* out) -> absl::Status {
    if (v == 0) return absl::OkStatus();
    absl::Status st = CheckRange(field, v, lo, hi);
    if (st.ok()) *out = v;
    return st;
  };
  for (absl::Status st :
       {scalar("channel_divisor", o.channel_divisor(), 1, 64,
               &s.channel_divisor),
        scalar("stem_channels", o.stem_channels(), 1, 1024, &s.stem_channels),
        scalar("stem_stride", o.stem_stride(), 1, 2, &s.stem_stride),
        scalar("head_channels", o.head_channels(), 1, 4096,
               &s.head_channels)}) {
    if (!st.ok()) return st;
  }
  auto list = [](const char* field,
                 const google::protobuf::RepeatedField<int32_t>& v, int lo,
                 int hi,
                 std::array<int, kMobileNetStages>* out) -> absl::Status {
    if (v.empty()) return absl::OkStatus();
    if (v.size() != kMobileNetStages) {
      return absl::InvalidArgumentError(
          absl::StrCat("mobilenet ", field, " needs ", kMobileNetStages,
                       " entries, got ", v.size()));
    }
    for (int i = 0; i < kMobileNetStages; ++i) {
      absl::Status st =
          CheckRange(absl::StrCat(field, "[", i, "]").c_str(), v[i], lo, hi);
      if (!st.ok()) return st;
      (*out)[i] = v[i];
    }
    return absl::OkStatus();
  };
  absl::Status st =
      list("stage_channels", o.stage_channels(), 1, 1024, &s.stage_channels);
  if (!st.ok()) return st;
  st = list("stage_strides", o.stage_strides(), 1, 2, &s.stage_strides);
  if (!st.ok()) return st;
  return s;
}

absl::StatusOr<std::string> MobileNetSpace::Canonical(
    const std::vector<int>& choices) const {
  absl::StatusOr<MobileNetGenotype> g = DecodeMobileNet(choices);
  if (!g.ok()) return g.status();
  std::string out;
  for (int s = 0; s < kMobileNetStages; ++s) {
    const MobileNetStage& st = (*g)[s];
    absl::StrAppend(&out, s > 0 ? "-" : "", "k", st.kernel, "e", st.expansion,
                    "d", st.depth, "se", st.se ? 1 : 0);
  }
  return out;
}

absl::StatusOr<std::vector<int>> MobileNetSpace::Parse(
    absl::string_view s) const {
  std::vector<absl::string_view> tokens = absl::StrSplit(s, '-');
  if (tokens.size() != kMobileNetStages) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mobilenet genotype '", s, "' must have ", kMobileNetStages,
        " stages separated by '-', got ", tokens.size()));
  }
  std::vector<int> choices;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const absl::string_view tok = tokens[t];
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("mobilenet stage ", t + 1, " token '", tok, "': ", why));
    };
    // Fixed layout: k D e D d D s e D (every value is one digit).
    if (tok.size() != 9 || tok[0] != 'k' || tok[2] != 'e' || tok[4] != 'd' ||
        tok.substr(6, 2) != "se") {
      return bad(absl::StrCat("expected ", kTokenFormat));
    }
    auto digit = [&](size_t pos) {
      return tok[pos] >= '0' && tok[pos] <= '9' ? tok[pos] - '0' : -1;
    };
    const int kernel = IndexOf(kMobileNetKernels, digit(1));
    if (kernel < 0) return bad("kernel must be 3, 5 or 7");
    const int expansion = IndexOf(kMobileNetExpansions, digit(3));
    if (expansion < 0) return bad("expansion must be 3, 4 or 6");
    const int depth = IndexOf(kMobileNetDepths, digit(5));
    if (depth < 0) return bad("depth must be 2, 3 or 4");
    const int se = digit(8);
    if (se != 0 && se != 1) return bad("se must be 0 or 1");
    choices.insert(choices.end(), {kernel, expansion, depth, se});
  }
  return choices;
}

absl::StatusOr<Cost> MobileNetSpace::ComputeCost(
    const std::vector<int>& choices, const v1::SearchSpaceSpec& spec,
    const InputShape& input) const {
  absl::StatusOr<MobileNetGenotype> g = DecodeMobileNet(choices);
  if (!g.ok()) return g.status();
  absl::StatusOr<MobileNetShape> shape = ResolveMobileNet(spec);
  if (!shape.ok()) return shape.status();
  if (input.channels < 1 || input.height < 1 || input.width < 1 ||
      input.classes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("mobilenet needs a non-empty input and >= 1 class, got ",
                     input.channels, "x", input.height, "x", input.width,
                     " with ", input.classes, " classes"));
  }
  Cost cost;
  int64_t h = input.height, w = input.width;
  // A conv at the current (h, w): updates h, w to its output size.
  auto conv = [&](int64_t cin, int64_t cout, int64_t k, int64_t stride,
                  int64_t groups, bool bias) {
    h = (h + stride - 1) / stride;
    w = (w + stride - 1) / stride;
    cost.params += cout * (cin / groups) * k * k + (bias ? cout : 0);
    cost.macs += cout * h * w * (cin / groups) * k * k;
  };
  auto bn = [&cost](int64_t c) { cost.params += 2 * c; };

  int64_t c = shape->Scaled(shape->stem_channels);
  conv(input.channels, c, 3, shape->stem_stride, 1, false);
  bn(c);
  for (int s = 0; s < kMobileNetStages; ++s) {
    const MobileNetStage& st = (*g)[s];
    const int64_t cout = shape->Scaled(shape->stage_channels[s]);
    for (int j = 0; j < st.depth; ++j) {
      const int64_t stride = j == 0 ? shape->stage_strides[s] : 1;
      const int64_t hidden = c * st.expansion;
      conv(c, hidden, 1, 1, 1, false);  // expand
      bn(hidden);
      conv(hidden, hidden, st.kernel, stride, hidden, false);  // depthwise
      bn(hidden);
      if (st.se) {
        const int64_t r = shape->SeChannels(static_cast<int>(hidden));
        cost.macs += hidden * h * w;  // SE global average pool
        cost.params += hidden * r + r + r * hidden + hidden;
        cost.macs += hidden * r + r * hidden;
      }
      conv(hidden, cout, 1, 1, 1, false);  // project
      bn(cout);
      c = cout;
    }
  }
  const int64_t head = shape->Scaled(shape->head_channels);
  conv(c, head, 1, 1, 1, false);
  bn(head);
  cost.macs += head * h * w;  // global average pool
  cost.params += head * input.classes + input.classes;
  cost.macs += head * input.classes;
  return cost;
}

std::string MobileNetSpace::DecisionName(int decision) const {
  static constexpr const char* kParts[kMobileNetDecisionsPerStage] = {
      "kernel", "expansion", "depth", "se"};
  if (decision < 0 || decision >= num_decisions()) {
    return SearchSpace::DecisionName(decision);
  }
  return absl::StrCat("stage", decision / kMobileNetDecisionsPerStage + 1, "_",
                      kParts[decision % kMobileNetDecisionsPerStage]);
}

ChoiceValue MobileNetSpace::Choice(int decision, int choice) const {
  if (decision < 0 || decision >= num_decisions() || choice < 0 ||
      choice >= num_choices(decision)) {
    return SearchSpace::Choice(decision, choice);
  }
  int value = choice;  // se: 0 or 1
  switch (decision % kMobileNetDecisionsPerStage) {
    case 0:
      value = kMobileNetKernels[choice];
      break;
    case 1:
      value = kMobileNetExpansions[choice];
      break;
    case 2:
      value = kMobileNetDepths[choice];
      break;
    default:
      break;
  }
  return {ChoiceValue::kInt, absl::StrCat(value)};
}

}  // namespace nas
