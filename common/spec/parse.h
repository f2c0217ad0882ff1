// Experiment specs from YAML: text -> ExperimentSpec, with the line of every
// field seen. Only the shape is checked here (known fields, value types,
// size); defaults are applied by defaults.h and values checked by
// validate.h. Pure functions, thread-safe.
#ifndef NAS_COMMON_SPEC_PARSE_H_
#define NAS_COMMON_SPEC_PARSE_H_

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// A spec parsed from YAML, with the line of every field seen.
struct ParsedSpec {
  v1::ExperimentSpec spec;
  std::map<std::string, int> lines;  // field path -> 1-based line
};

// Largest YAML spec ParseSpecYaml reads (real specs are a few KB).
inline constexpr size_t kMaxSpecYamlBytes = 256 << 10;

// Parses YAML text into a spec. Malformed YAML, unknown fields and values
// of the wrong type are errors (InvalidArgument listing each, with line, up
// to kMaxListedErrors; values echoed are cut to 64 bytes). Text longer than
// kMaxSpecYamlBytes is InvalidArgument without being parsed. Does not apply
// defaults or validate values.
absl::StatusOr<ParsedSpec> ParseSpecYaml(absl::string_view yaml);

}  // namespace nas

#endif  // NAS_COMMON_SPEC_PARSE_H_
