// Defaults of an experiment spec (each documented in the protos), applied
// after parsing and before validation. Pure function, thread-safe.
#ifndef NAS_COMMON_SPEC_DEFAULTS_H_
#define NAS_COMMON_SPEC_DEFAULTS_H_

#include <map>
#include <string>

#include "nas/v1/experiment.pb.h"

namespace nas {

// Fills every unset field that has a default (documented in the protos).
// Proto3 cannot tell an explicit 0 from an unset field; when `present` (the
// paths seen in YAML) is given, fields written explicitly keep their value,
// so `epochs: 0` is reported as invalid rather than silently defaulted.
void ApplySpecDefaults(v1::ExperimentSpec* spec,
                       const std::map<std::string, int>* present = nullptr);

}  // namespace nas

#endif  // NAS_COMMON_SPEC_DEFAULTS_H_
