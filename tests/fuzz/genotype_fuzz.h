// The body shared by the genotype fuzz targets (nb201_genotype_fuzz.cc,
// mobilenet_genotype_fuzz.cc), one search space each. The input is used
// twice:
//  1. as a genotype string: Parse must not crash; what it accepts is a valid
//     genotype whose canonical string is the input itself (one string per
//     genotype, so duplicate detection by string or hash is sound), which
//     parses back to the same choices; its hash, neighbours and cost work;
//  2. as a choice vector (one signed byte per decision, so negative and
//     out-of-range choices and wrong lengths occur): Canonical, ToProto and
//     ComputeCost refuse bad vectors with a status, never crash, and a vector
//     Canonical accepts round-trips through Parse.
#ifndef NAS_TESTS_FUZZ_GENOTYPE_FUZZ_H_
#define NAS_TESTS_FUZZ_GENOTYPE_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/spaces/search_space.h"
#include "tests/fuzz/fuzz_check.h"

namespace nas {

inline bool ChoicesInRange(const SearchSpace& space,
                           const std::vector<int>& choices) {
  if (static_cast<int>(choices.size()) != space.num_decisions()) return false;
  for (int i = 0; i < space.num_decisions(); ++i) {
    if (choices[i] < 0 || choices[i] >= space.num_choices(i)) return false;
  }
  return true;
}

inline void CheckValidGenotype(const SearchSpace& space,
                               const std::vector<int>& choices,
                               const v1::SearchSpaceSpec& spec,
                               bool neighbours) {
  absl::StatusOr<std::string> canon = space.Canonical(choices);
  NAS_FUZZ_CHECK(canon.ok(), "a valid genotype has a canonical string");
  absl::StatusOr<std::vector<int>> back = space.Parse(*canon);
  NAS_FUZZ_CHECK(back.ok() && *back == choices,
                 "the canonical string parses back to the same choices");
  absl::StatusOr<v1::Genotype> proto = space.ToProto(choices);
  NAS_FUZZ_CHECK(proto.ok() && proto->canonical() == *canon &&
                     proto->hash() == StableHash(*canon),
                 "ToProto carries the canonical string and its hash");
  absl::StatusOr<Cost> cost = space.ComputeCost(choices, spec, InputShape());
  NAS_FUZZ_CHECK(cost.ok() && cost->macs > 0 && cost->params > 0,
                 "a valid genotype has a positive cost");
  if (!neighbours) return;
  for (const std::vector<int>& n : space.Neighbours(choices)) {
    NAS_FUZZ_CHECK(ChoicesInRange(space, n) && n != choices,
                   "a neighbour is a different valid genotype");
    CheckValidGenotype(space, n, spec, /*neighbours=*/false);
  }
}

inline void FuzzGenotype(absl::string_view space_name, const uint8_t* data,
                         size_t size) {
  absl::StatusOr<const SearchSpace*> found = GetSearchSpace(space_name);
  NAS_FUZZ_CHECK(found.ok(), "the space is registered");
  const SearchSpace& space = **found;
  v1::SearchSpaceSpec spec;
  spec.set_name(std::string(space_name));

  // 1. The bytes as a genotype string.
  const absl::string_view s(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<int>> parsed = space.Parse(s);
  if (parsed.ok()) {
    NAS_FUZZ_CHECK(ChoicesInRange(space, *parsed),
                   "Parse returns one in-range choice per decision");
    absl::StatusOr<std::string> canon = space.Canonical(*parsed);
    NAS_FUZZ_CHECK(canon.ok() && *canon == s,
                   "an accepted string is the canonical one");
    CheckValidGenotype(space, *parsed, spec, /*neighbours=*/true);
  } else {
    NAS_FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument,
                   "a bad string is InvalidArgument");
  }

  // 2. The bytes as a choice vector.
  std::vector<int> choices;
  for (size_t i = 0; i < size && i < 64; ++i) {
    choices.push_back(static_cast<int8_t>(data[i]));
  }
  absl::StatusOr<std::string> canon = space.Canonical(choices);
  NAS_FUZZ_CHECK(canon.ok() == ChoicesInRange(space, choices),
                 "Canonical accepts exactly the in-range choice vectors");
  absl::StatusOr<Cost> cost = space.ComputeCost(choices, spec, InputShape());
  NAS_FUZZ_CHECK(cost.ok() == canon.ok(),
                 "ComputeCost accepts exactly the valid genotypes");
  NAS_FUZZ_CHECK(space.ToProto(choices).ok() == canon.ok(),
                 "ToProto accepts exactly the valid genotypes");
  if (canon.ok()) CheckValidGenotype(space, choices, spec, false);
}

}  // namespace nas

#endif  // NAS_TESTS_FUZZ_GENOTYPE_FUZZ_H_
