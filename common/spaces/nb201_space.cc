#include "common/spaces/nb201_space.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace nas {

Nb201Shape ResolveNb201(const v1::SearchSpaceSpec& spec) {
  Nb201Shape s;
  if (spec.nb201().channels() > 0) s.channels = spec.nb201().channels();
  if (spec.nb201().cells_per_stage() > 0) {
    s.cells_per_stage = spec.nb201().cells_per_stage();
  }
  return s;
}

absl::StatusOr<std::string> Nb201Space::Canonical(
    const std::vector<int>& choices) const {
  if (choices.size() != kNb201Edges) {
    return absl::InvalidArgumentError(
        absl::StrCat("nb201 genotype needs 6 choices, got ", choices.size()));
  }
  std::string out = "|";
  for (int e = 0; e < kNb201Edges; ++e) {
    int op = choices[e];
    if (op < 0 || op >= kNb201Ops) {
      return absl::InvalidArgumentError(
          absl::StrCat("nb201 choice ", e, " out of range: ", op));
    }
    absl::StrAppend(&out, kNb201OpNames[op], "~", kNb201EdgeNodes[e][1], "|");
    if (e == 0 || e == 2) out += "+|";
  }
  return out;
}

absl::StatusOr<std::vector<int>> Nb201Space::Parse(absl::string_view s) const {
  // "|a~0|+|b~0|c~1|+|d~0|e~1|f~2|"
  std::vector<absl::string_view> nodes = absl::StrSplit(s, '+');
  if (nodes.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "nb201 genotype '", s, "' must have 3 nodes separated by '+'"));
  }
  std::vector<int> choices;
  for (size_t n = 0; n < nodes.size(); ++n) {
    absl::string_view node = nodes[n];
    if (node.size() < 2 || node.front() != '|' || node.back() != '|') {
      return absl::InvalidArgumentError(
          absl::StrCat("nb201 node ", n + 1, " '", node, "' must be '|...|'"));
    }
    node = node.substr(1, node.size() - 2);
    std::vector<absl::string_view> edges = absl::StrSplit(node, '|');
    if (edges.size() != n + 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("nb201 node ", n + 1, " needs ", n + 1, " inputs, got ",
                       edges.size()));
    }
    for (size_t i = 0; i < edges.size(); ++i) {
      std::pair<absl::string_view, absl::string_view> op_src =
          absl::StrSplit(edges[i], absl::MaxSplits('~', 1));
      if (op_src.second != std::to_string(i)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "nb201 edge '", edges[i], "' must read from node ", i));
      }
      int op = -1;
      for (int k = 0; k < kNb201Ops; ++k) {
        if (kNb201OpNames[k] == op_src.first) op = k;
      }
      if (op < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("nb201 unknown op '", op_src.first, "'"));
      }
      choices.push_back(op);
    }
  }
  return choices;
}

absl::StatusOr<Cost> Nb201Space::ComputeCost(const std::vector<int>& choices,
                                             const v1::SearchSpaceSpec& spec,
                                             const InputShape& input) const {
  if (choices.size() != kNb201Edges) {
    return absl::InvalidArgumentError("nb201 genotype needs 6 choices");
  }
  for (int e = 0; e < kNb201Edges; ++e) {
    if (choices[e] < 0 || choices[e] >= kNb201Ops) {
      return absl::InvalidArgumentError(
          absl::StrCat("nb201 choice ", e, " out of range: ", choices[e]));
    }
  }
  if (input.height % 4 != 0 || input.width % 4 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("nb201 needs input height and width divisible by 4, got ",
                     input.height, "x", input.width));
  }
  const Nb201Shape shape = ResolveNb201(spec);
  // Node i is needed when a non-none edge carries it to a needed node.
  std::array<bool, 4> needed{};
  needed[3] = true;
  for (int to = 3; to >= 1; --to) {
    for (int e = 0; e < kNb201Edges; ++e) {
      if (needed[to] && kNb201EdgeNodes[e][0] == to && choices[e] != 0) {
        needed[kNb201EdgeNodes[e][1]] = true;
      }
    }
  }
  Cost cost;
  auto conv = [&cost](int64_t cin, int64_t cout, int64_t k, int64_t hout,
                      int64_t wout) {
    cost.params += cin * cout * k * k;
    cost.macs += cout * hout * wout * cin * k * k;
  };
  auto bn = [&cost](int64_t c) { cost.params += 2 * c; };
  int64_t c = shape.channels, h = input.height, w = input.width;
  conv(input.channels, c, 3, h, w);  // stem
  bn(c);
  for (int stage = 0; stage < 3; ++stage) {
    if (stage > 0) {  // reduction block c -> 2c
      const int64_t co = 2 * c, ho = h / 2, wo = w / 2;
      conv(c, co, 3, ho, wo);
      bn(co);
      conv(co, co, 3, ho, wo);
      bn(co);
      cost.macs += 4 * c * ho * wo;  // avgpool 2x2
      conv(c, co, 1, ho, wo);
      c = co;
      h = ho;
      w = wo;
    }
    for (int cell = 0; cell < shape.cells_per_stage; ++cell) {
      for (int e = 0; e < kNb201Edges; ++e) {
        const int op = choices[e];
        // Ops into a node that cannot reach the output never run: their
        // parameters exist, their MACs do not.
        const bool runs = needed[kNb201EdgeNodes[e][0]];
        if (op == 2 || op == 3) bn(c);
        switch (runs ? op : 0) {
          case 2:  // nor_conv_1x1
            conv(c, c, 1, h, w);
            break;
          case 3:  // nor_conv_3x3
            conv(c, c, 3, h, w);
            break;
          case 4:  // avg_pool_3x3
            cost.macs += 9 * c * h * w;
            break;
          default:  // none, skip_connect, or an op that never runs
            break;
        }
        if (!runs && (op == 2 || op == 3)) {
          const int64_t k = op == 3 ? 3 : 1;
          cost.params += c * c * k * k;  // the conv exists, unused
        }
      }
    }
  }
  bn(c);                   // head BN
  cost.macs += c * h * w;  // global average pool
  cost.params += c * input.classes + input.classes;
  cost.macs += c * input.classes;
  return cost;
}

std::string Nb201Space::DecisionName(int decision) const {
  if (decision < 0 || decision >= kNb201Edges) {
    return SearchSpace::DecisionName(decision);
  }
  return absl::StrCat("edge_", kNb201EdgeNodes[decision][0], "_",
                      kNb201EdgeNodes[decision][1]);
}

ChoiceValue Nb201Space::Choice(int decision, int choice) const {
  if (choice < 0 || choice >= kNb201Ops) {
    return SearchSpace::Choice(decision, choice);
  }
  return {ChoiceValue::kString, std::string(kNb201OpNames[choice])};
}

double Nb201ParamFreeShare(absl::Span<const int> choices) {
  if (choices.empty()) return 0;
  int free = 0;
  for (int op : choices) free += op == 0 || op == 1 || op == 4;
  return static_cast<double>(free) / static_cast<double>(choices.size());
}

}  // namespace nas
