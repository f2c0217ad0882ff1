#include "common/trainers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace nas {

bool IsValidTrainerName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (name[0] == '.' || name[0] == '-') return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

std::string TrainerLabelKey(absl::string_view name) {
  return absl::StrCat(kTrainerLabelPrefix, name);
}

std::map<std::string, std::string> EffectiveRequiredLabels(
    const v1::ExperimentSpec& spec) {
  std::map<std::string, std::string> labels(spec.required_labels().begin(),
                                            spec.required_labels().end());
  if (spec.evaluation().mode() == v1::COMMAND &&
      !spec.evaluation().command().trainer().empty()) {
    labels[TrainerLabelKey(spec.evaluation().command().trainer())] =
        std::string(kTrainerLabelValue);
  }
  return labels;
}

}  // namespace nas
