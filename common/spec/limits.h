// Limits on the size and the text of an ExperimentSpec, whatever its source
// (YAML or a raw proto in CreateExperimentRequest.spec): they bound what one
// experiment may cost in memory, in the database (every trial row copies
// the labels) and in every ListExperiments answer. Pure functions,
// thread-safe.
#ifndef NAS_COMMON_SPEC_LIMITS_H_
#define NAS_COMMON_SPEC_LIMITS_H_

#include <cstddef>

#include "absl/strings/string_view.h"
#include "common/spec/field_errors.h"
#include "google/protobuf/descriptor.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// The whole spec, serialized (real specs are a few KB; a ListExperiments
// page of 50 stays under gRPC's default 4 MiB).
inline constexpr size_t kMaxSpecProtoBytes = 64 << 10;
// Any string field of the spec, unless a tighter rule below applies.
inline constexpr size_t kMaxSpecStringBytes = 4096;
// Any repeated field of the spec (lists and maps), unless its own rule
// says otherwise (MaxSpecListEntries).
inline constexpr int kMaxSpecListEntries = 1024;
// spec.required_labels: the worker label rules of RegisterWorker
// (controller/service/request_validation.h): keys of letters, digits and
// _ - . /, 1 to 72 bytes; values at most 256 bytes.
inline constexpr int kMaxRequiredLabels = 64;
inline constexpr size_t kMaxRequiredLabelKeyBytes = 72;
inline constexpr size_t kMaxRequiredLabelValueBytes = 256;
// True when every byte of `key` is an ASCII letter, a digit or one of
// _ - . / (the characters of a label name, spec and worker alike; the
// length is checked separately).
bool LabelKeyCharactersValid(absl::string_view key);
// YAML nodes ParseSpecYaml visits while converting YAML to the proto, an
// alias counted each time it is used (a real spec has a few hundred).
inline constexpr size_t kMaxSpecYamlNodes = 100000;
// Bytes of the scalars (keys and values) ParseSpecYaml visits, an alias
// counted each time it is used: an alias of a long string repeated in a
// list is refused before it is copied (a valid spec is under
// kMaxSpecProtoBytes anyway).
inline constexpr size_t kMaxSpecYamlScalarBytes = 1 << 20;

// Entries the repeated field or map `field` of a spec may hold:
// kMaxRequiredLabels for required_labels, kMaxDataClasses (validate.h) for
// the per-class lists evaluation.data.class_names and
// evaluation.class_weights, else kMaxSpecListEntries.
int MaxSpecListEntries(const google::protobuf::FieldDescriptor* field);

// Adds to `errors` every limit `spec` breaks, each with its field path
// ("spec.required_labels", "spec.evaluation.data.class_names[3]"): the
// serialized size, the entries of every repeated field and map, the bytes
// of every string (map keys included), and `string` fields (not `bytes`)
// that hold a NUL, a control character (C0, DEL, C1) or invalid UTF-8
// (common/text.h). Walks the proto descriptors, so fields added later are
// covered; stops adding once `errors` holds more than kMaxListedErrors.
void CheckSpecLimits(const v1::ExperimentSpec& spec, FieldErrorList* errors);

}  // namespace nas

#endif  // NAS_COMMON_SPEC_LIMITS_H_
