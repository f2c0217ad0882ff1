// Fuzz target: experiment specs as nasctl and the controller read them.
// Input: YAML text. Properties: no crash, leak or UB anywhere in
// ParseSpecYaml / ApplySpecDefaults / ValidateSpec / PrepareSpec; the
// message of a spec PrepareSpec accepts is accepted too, and preparing a
// prepared message changes nothing; and the analytic cost of a genotype
// of an accepted spec's space computes without UB (what the controller does
// before dispatch).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/spaces/search_space.h"
#include "common/spec/spec.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);

  // nasctl submit: parse, defaults (keeping explicit zeros), validate.
  absl::StatusOr<nas::ParsedSpec> parsed = nas::ParseSpecYaml(yaml);
  if (parsed.ok()) {
    nas::ApplySpecDefaults(&parsed->spec, &parsed->lines);
    for (const nas::FieldError& e :
         nas::ValidateSpec(parsed->spec, &parsed->lines)) {
      NAS_FUZZ_CHECK(!e.ToString().empty(), "an error has text");
    }
  }

  // CreateExperiment: the controller's whole path.
  absl::StatusOr<nas::v1::ExperimentSpec> spec =
      nas::PrepareSpec(nas::v1::ExperimentSpec(), yaml);
  if (yaml.empty() || !spec.ok()) return 0;
  NAS_FUZZ_CHECK(parsed.ok(), "PrepareSpec accepts only parseable YAML");
  // Not `*again == *spec`: a zero written in YAML (`keep_models: 0`) is
  // kept, but the same message without YAML gets the default (proto3 cannot
  // tell it from unset; see ApplySpecDefaults). Accepted stays accepted,
  // and the message path is idempotent.
  absl::StatusOr<nas::v1::ExperimentSpec> again =
      nas::PrepareSpec(*spec, /*yaml=*/"");
  NAS_FUZZ_CHECK(again.ok(), "an accepted spec's message is accepted");
  absl::StatusOr<nas::v1::ExperimentSpec> third =
      nas::PrepareSpec(*again, /*yaml=*/"");
  NAS_FUZZ_CHECK(
      third.ok() &&
          google::protobuf::util::MessageDifferencer::Equals(*third, *again),
      "preparing a prepared message again changes nothing");

  absl::StatusOr<std::shared_ptr<const nas::SearchSpace>> space =
      nas::MakeSearchSpace(spec->search_space());
  NAS_FUZZ_CHECK(space.ok(), "an accepted spec's space can be built");
  absl::StatusOr<nas::InputShape> input = nas::DatasetShape(spec->evaluation());
  if (!input.ok()) return 0;
  std::mt19937_64 rng(size);
  for (int i = 0; i < 2; ++i) {
    const std::vector<int> g = (*space)->Sample(rng);
    absl::StatusOr<nas::Cost> cost =
        (*space)->ComputeCost(g, spec->search_space(), *input);
    NAS_FUZZ_CHECK(cost.ok(), "an accepted spec's genotypes have a cost");
    NAS_FUZZ_CHECK(cost->macs >= 0 && cost->params >= 0, "costs are >= 0");
  }
  return 0;
}
