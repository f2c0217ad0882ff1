// Trainers of mode COMMAND: the names a spec may give, and the worker label
// that says a worker has one. A worker started with --trainer=NAME=PATH
// registers the label TrainerLabelKey(NAME)=kTrainerLabelValue; a COMMAND
// experiment's trials require it, so they wait for a worker that has the
// trainer (docs/SECURITY.md). Pure functions, thread-safe.
#ifndef NAS_COMMON_TRAINERS_H_
#define NAS_COMMON_TRAINERS_H_

#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

inline constexpr absl::string_view kTrainerLabelPrefix = "trainer/";
inline constexpr absl::string_view kTrainerLabelValue = "yes";

// True for 1 to 64 characters of letters, digits, '_', '-' and '.', not
// starting with '.' or '-'.
bool IsValidTrainerName(absl::string_view name);

// "trainer/<name>".
std::string TrainerLabelKey(absl::string_view name);

// The labels a worker must carry to run `spec`'s trials: spec.required_labels
// plus, for mode COMMAND, TrainerLabelKey(command.trainer)=yes.
std::map<std::string, std::string> EffectiveRequiredLabels(
    const v1::ExperimentSpec& spec);

}  // namespace nas

#endif  // NAS_COMMON_TRAINERS_H_
