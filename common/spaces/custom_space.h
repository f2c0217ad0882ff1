// A declared ("custom") search space: the decisions a user lists in the
// spec (search_space.decisions), each a name and a list of choices read as
// integers, numbers or strings. Its candidates are built and trained by the
// user's COMMAND trainer, so it has no analytic cost. Thread-safe
// (immutable once built).
//
// Canonical string: "name=choice|name=choice|..." in decision order, each
// choice as its normalized text:
//   int    decimal, no '+' and no leading zeros ("+007" -> "7", "-0" -> "0")
//   float  as written, made a JSON number: no '+', no leading zeros in the
//          integer part, "0" before a leading '.', ".0" for a trailing '.'
//          (".5" -> "0.5", "5." -> "5.0", "1e-3" stays)
//   string as given
// e.g. "depth=3|width=0.25|act=relu". Choices cannot contain '|' or '=',
// so the string splits back unambiguously.
//
// The checks on decisions (CheckCustomDecisions) are the ones the spec's
// validation reports (common/spec) and the ones MakeCustomSpace refuses.
#ifndef NAS_COMMON_SPACES_CUSTOM_SPACE_H_
#define NAS_COMMON_SPACES_CUSTOM_SPACE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spaces/search_space.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// Limits of a declared space.
inline constexpr int kMaxCustomDecisions = 64;
inline constexpr size_t kMaxDecisionName = 64;
inline constexpr int kMaxCustomChoices = 256;
inline constexpr size_t kMaxChoiceBytes = 128;

// Types of a decision's choices (SpaceDecision.type).
inline constexpr absl::string_view kDecisionInt = "int";
inline constexpr absl::string_view kDecisionFloat = "float";
inline constexpr absl::string_view kDecisionString = "string";

// A choice read as `type` ("int", "float" or "string"): its normalized text
// (see above) and, for int and float, its numeric value. nullopt when the
// text does not read as that type (ints: an optional sign and decimal
// digits within int64; floats: an optional sign, digits with an optional
// '.', an optional exponent, finite; no spaces, no "inf"/"nan"/hex).
struct NormalizedChoice {
  std::string text;
  double value = 0;     // int and float
  int64_t integer = 0;  // int
};
std::optional<NormalizedChoice> NormalizeChoice(absl::string_view choice,
                                                absl::string_view type);

// "" when `s` is valid UTF-8 without control characters (C0, DEL, C1),
// else the first problem ("not valid UTF-8 at byte 3"). Also used by the
// spec for other text handed to a trainer (command.parameters).
std::string PrintableTextProblem(absl::string_view s);

// The type SpaceDecision.type defaults to: "int" when every choice reads as
// an integer, else "float" when every choice reads as a number, else
// "string" (also for a decision without choices).
std::string InferDecisionType(const v1::SpaceDecision& decision);

// One problem of spec.decisions; `path` is relative to the search_space
// section: "decisions", "decisions[2] (kernel).choices[1]", ...
struct DecisionProblem {
  std::string path;
  std::string message;
};

// Every problem of `spec.decisions` for a space named "custom", in order:
// 1..kMaxCustomDecisions decisions; names unique, [A-Za-z_][A-Za-z0-9_]*,
// at most kMaxDecisionName; 1..kMaxCustomChoices choices per decision, each
// non-empty, at most kMaxChoiceBytes, valid UTF-8 without control
// characters, without '|' or '=' and without leading/trailing spaces; a
// `type` (empty = inferred) of int, float or string that every choice reads
// as; choices distinct as values of the type (ints and floats compared
// numerically: "0.1" and "0.10" are the same choice). Empty when all is
// well. Does not look at spec.name.
std::vector<DecisionProblem> CheckCustomDecisions(
    const v1::SearchSpaceSpec& spec);

class CustomSpace final : public SearchSpace {
 public:
  // InvalidArgument "search_space.decisions[i] (name)...: ..." (the first
  // problems of CheckCustomDecisions) when the decisions are bad. An empty
  // `type` is inferred.
  static absl::StatusOr<std::shared_ptr<const CustomSpace>> Make(
      const v1::SearchSpaceSpec& spec);

  absl::string_view name() const override { return "custom"; }
  int num_decisions() const override {
    return static_cast<int>(decisions_.size());
  }
  int num_choices(int decision) const override {
    return static_cast<int>(decisions_[decision].choices.size());
  }
  absl::StatusOr<std::string> Canonical(
      const std::vector<int>& choices) const override;
  // Inverse of Canonical: every decision, in order, as "name=value"
  // separated by '|'. An int or float value matches the choice equal to it
  // numerically ("kernel=03" is kernel 3), a string value matches exactly.
  // InvalidArgument naming the bad token and decision.
  absl::StatusOr<std::vector<int>> Parse(absl::string_view s) const override;
  // {0, 0}: the user's trainer builds the network (has_analytic_cost() is
  // false). InvalidArgument for a genotype out of range.
  absl::StatusOr<Cost> ComputeCost(const std::vector<int>& choices,
                                   const v1::SearchSpaceSpec& spec,
                                   const InputShape& input) const override;
  std::string DecisionName(int decision) const override;
  // Kind from the decision's type, text the normalized choice.
  ChoiceValue Choice(int decision, int choice) const override;
  bool has_analytic_cost() const override { return false; }

 private:
  struct Decision {
    std::string name;
    ChoiceValue::Kind kind = ChoiceValue::kString;
    std::vector<NormalizedChoice> choices;
  };
  explicit CustomSpace(std::vector<Decision> decisions)
      : decisions_(std::move(decisions)) {}

  const std::vector<Decision> decisions_;
};

}  // namespace nas

#endif  // NAS_COMMON_SPACES_CUSTOM_SPACE_H_
