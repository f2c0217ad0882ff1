#include "common/spaces/search_space.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/spaces/custom_space.h"
#include "common/spaces/mobilenet_space.h"
#include "common/spaces/nb201_space.h"
#include "common/status_macros.h"

namespace nas {

std::vector<int> SearchSpace::Sample(std::mt19937_64& rng) const {
  std::vector<int> choices(num_decisions());
  for (int i = 0; i < num_decisions(); ++i) {
    choices[i] = std::uniform_int_distribution<int>(0, num_choices(i) - 1)(rng);
  }
  return choices;
}

std::vector<std::vector<int>> SearchSpace::Neighbours(
    const std::vector<int>& choices) const {
  std::vector<std::vector<int>> out;
  for (int i = 0; i < num_decisions(); ++i) {
    for (int c = 0; c < num_choices(i); ++c) {
      if (c == choices[i]) continue;
      out.push_back(choices);
      out.back()[i] = c;
    }
  }
  return out;
}

absl::StatusOr<v1::Genotype> SearchSpace::ToProto(
    const std::vector<int>& choices) const {
  absl::StatusOr<std::string> canonical = Canonical(choices);
  if (!canonical.ok()) return canonical.status();
  v1::Genotype g;
  g.set_space(std::string(name()));
  g.set_canonical(*canonical);
  for (int c : choices) g.add_choices(c);
  g.set_hash(StableHash(*canonical));
  return g;
}

std::string SearchSpace::DecisionName(int decision) const {
  return absl::StrCat("d", decision);
}

ChoiceValue SearchSpace::Choice(int decision, int choice) const {
  return {ChoiceValue::kInt, absl::StrCat(choice)};
}

std::string StableHash(absl::string_view canonical) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
  for (unsigned char c : canonical) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(h));
  return buf;
}

namespace {
const Nb201Space& Nb201() {
  static const Nb201Space* space = new Nb201Space();
  return *space;
}
const MobileNetSpace& MobileNet() {
  static const MobileNetSpace* space = new MobileNetSpace();
  return *space;
}
}  // namespace

absl::StatusOr<const SearchSpace*> GetSearchSpace(absl::string_view name) {
  if (name == "nb201") return &Nb201();
  if (name == "mobilenet") return &MobileNet();
  return absl::InvalidArgumentError(
      absl::StrCat("unknown search space '", name,
                   "' (known: ", absl::StrJoin(SearchSpaceNames(), ", "),
                   ", and custom with search_space.decisions)"));
}

absl::StatusOr<std::shared_ptr<const SearchSpace>> MakeSearchSpace(
    const v1::SearchSpaceSpec& spec) {
  if (spec.name() == "custom") {
    NAS_ASSIGN_OR_RETURN(std::shared_ptr<const CustomSpace> custom,
                         CustomSpace::Make(spec));
    return std::shared_ptr<const SearchSpace>(std::move(custom));
  }
  if (!spec.decisions().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "search_space.decisions: only for name: custom (this space is '",
        spec.name(), "')"));
  }
  NAS_ASSIGN_OR_RETURN(const SearchSpace* builtin, GetSearchSpace(spec.name()));
  return std::shared_ptr<const SearchSpace>(builtin, [](const SearchSpace*) {});
}

std::vector<std::string> SearchSpaceNames() { return {"mobilenet", "nb201"}; }

}  // namespace nas
