// A search space maps a genotype (one categorical choice per decision) to a
// canonical string, a stable hash, a mutation neighbourhood and analytic
// costs. Implementations are immutable and safe for concurrent use.
#ifndef NAS_COMMON_SPACES_SEARCH_SPACE_H_
#define NAS_COMMON_SPACES_SEARCH_SPACE_H_

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// Input geometry of the data a candidate is built for.
struct InputShape {
  int channels = 1;
  int height = 28;
  int width = 28;
  int classes = 10;
};

// A choice as a trainer receives it (the COMMAND hand-over): an integer, a
// number or a string, written as `text` (a JSON number's text for kInt and
// kFloat).
struct ChoiceValue {
  enum Kind { kInt, kFloat, kString };
  Kind kind = kInt;
  std::string text;
};

// Analytic cost of one forward pass at batch size 1.
struct Cost {
  int64_t macs = 0;
  int64_t params = 0;
};

class SearchSpace {
 public:
  virtual ~SearchSpace() = default;
  virtual absl::string_view name() const = 0;
  // Number of decisions and, for decision i, its number of choices.
  virtual int num_decisions() const = 0;
  virtual int num_choices(int decision) const = 0;
  // Canonical string of `choices`; InvalidArgument when a choice is out of
  // range.
  virtual absl::StatusOr<std::string> Canonical(
      const std::vector<int>& choices) const = 0;
  // Inverse of Canonical; InvalidArgument naming the bad token.
  virtual absl::StatusOr<std::vector<int>> Parse(absl::string_view s) const = 0;
  // Analytic MACs/params for the given spec's options and input shape.
  virtual absl::StatusOr<Cost> ComputeCost(const std::vector<int>& choices,
                                           const v1::SearchSpaceSpec& spec,
                                           const InputShape& input) const = 0;

  // Name of decision i as a trainer sees it (unique within the space).
  // Default "d<i>".
  virtual std::string DecisionName(int decision) const;
  // Choice `choice` of decision i as a trainer receives it. Default: the
  // choice index as an integer.
  virtual ChoiceValue Choice(int decision, int choice) const;
  // True when ComputeCost knows the cost (false for declared spaces, whose
  // networks the user's trainer builds).
  virtual bool has_analytic_cost() const { return true; }

  // Uniformly random genotype.
  std::vector<int> Sample(std::mt19937_64& rng) const;
  // All genotypes differing from `choices` in exactly one decision.
  std::vector<std::vector<int>> Neighbours(
      const std::vector<int>& choices) const;
  // Fills a Genotype message (space, canonical, choices, hash).
  absl::StatusOr<v1::Genotype> ToProto(const std::vector<int>& choices) const;
};

// Stable 64-bit FNV-1a hash of a canonical string, 16 hex digits.
std::string StableHash(absl::string_view canonical);

// The space `spec` describes: a built-in one (by name, not owned: the
// pointer's deleter does nothing) or a declared "custom" one built from
// spec.decisions (custom_space.h; owned by the returned pointer).
// InvalidArgument naming the field ("search_space.decisions[2] (kernel)
// .choices[1]: ...") when the decisions are bad, given for a built-in space,
// or the name is unknown.
absl::StatusOr<std::shared_ptr<const SearchSpace>> MakeSearchSpace(
    const v1::SearchSpaceSpec& spec);

// The registered built-in space called `name`, or InvalidArgument listing
// known names ("custom" spaces come from MakeSearchSpace).
absl::StatusOr<const SearchSpace*> GetSearchSpace(absl::string_view name);
// Names of registered spaces, sorted.
std::vector<std::string> SearchSpaceNames();

}  // namespace nas

#endif  // NAS_COMMON_SPACES_SEARCH_SPACE_H_
