// The NAS-Bench-201 cell space: 4 nodes, 6 edges, 5 ops, 15,625 cells, with
// genotype strings in NAS-Bench-201's own format. Thread-safe (immutable).
//
// Decision order (edge i<-j means node i takes op(node j)):
//   0: 1<-0   1: 2<-0   2: 2<-1   3: 3<-0   4: 3<-1   5: 3<-2
// which is the order ops appear in "|a~0|+|b~0|c~1|+|d~0|e~1|f~2|".
// A trainer (mode COMMAND) sees decision i as "edge_<to>_<from>" (edge_1_0,
// edge_2_0, edge_2_1, edge_3_0, edge_3_1, edge_3_2) with the op's name as a
// string choice ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
// "avg_pool_3x3").
//
// Macro skeleton (what ComputeCost counts and the worker builds):
//   stem: conv3x3(in->C, no bias) + BN(C)
//   stage 1: N cells at C; reduction ResNet block C->2C (stride 2);
//   stage 2: N cells at 2C; reduction 2C->4C; stage 3: N cells at 4C;
//   head: BN(4C) + ReLU, global average pool, linear(4C -> classes).
// Cell ops: none (zero), skip_connect (identity), nor_conv_kxk =
// ReLU-conv(kxk, no bias)-BN, avg_pool_3x3 (stride 1, pad 1, no padding
// counted). Reduction block: a = ReLU-conv3x3/2-BN, b = ReLU-conv3x3-BN,
// shortcut = avgpool2x2/2 + conv1x1 (no bias); out = b(a(x)) + shortcut(x).
//
// MAC convention: convolutions Cout*Hout*Wout*Cin*k*k, linear in*out,
// pooling k*k per output element (global pool: C*H*W); BN, ReLU, additions
// are not counted. Ops into an intermediate node that cannot reach the
// cell's output (all its outgoing edges are none, directly or through other
// such nodes) never run, so their MACs are not counted; this is what the
// worker's module executes and times. (NAS-Bench-201's published FLOPs
// count them.) Params: every trainable tensor of the module, including
// those unused ops' (BN weight and bias count).
#ifndef NAS_COMMON_SPACES_NB201_SPACE_H_
#define NAS_COMMON_SPACES_NB201_SPACE_H_

#include <array>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/spaces/search_space.h"

namespace nas {

inline constexpr int kNb201Edges = 6;
inline constexpr int kNb201Ops = 5;
inline constexpr std::array<absl::string_view, kNb201Ops> kNb201OpNames = {
    "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"};
// (to, from) node of each decision.
inline constexpr std::array<std::array<int, 2>, kNb201Edges> kNb201EdgeNodes = {
    {{1, 0}, {2, 0}, {2, 1}, {3, 0}, {3, 1}, {3, 2}}};

// The share of a cell's edges whose operation has no parameters (none,
// skip_connect, avg_pool_3x3): differentiable search's collapse shows as a
// share near 1. Choices out of range count as having parameters; an empty
// list gives 0.
double Nb201ParamFreeShare(absl::Span<const int> choices);

// Resolved skeleton options (defaults applied).
struct Nb201Shape {
  int channels = 16;
  int cells_per_stage = 5;
};
Nb201Shape ResolveNb201(const v1::SearchSpaceSpec& spec);

class Nb201Space final : public SearchSpace {
 public:
  absl::string_view name() const override { return "nb201"; }
  int num_decisions() const override { return kNb201Edges; }
  int num_choices(int) const override { return kNb201Ops; }
  absl::StatusOr<std::string> Canonical(
      const std::vector<int>& choices) const override;
  absl::StatusOr<std::vector<int>> Parse(absl::string_view s) const override;
  absl::StatusOr<Cost> ComputeCost(const std::vector<int>& choices,
                                   const v1::SearchSpaceSpec& spec,
                                   const InputShape& input) const override;
  // "edge_<to>_<from>" (edge_1_0 ... edge_3_2), and the op's name.
  std::string DecisionName(int decision) const override;
  ChoiceValue Choice(int decision, int choice) const override;
};

}  // namespace nas

#endif  // NAS_COMMON_SPACES_NB201_SPACE_H_
