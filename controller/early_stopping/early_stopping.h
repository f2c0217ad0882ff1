// Early-stopping rules, as pure functions of the accuracies reported at one
// epoch: the median stopping rule and asynchronous successive halving
// (ASHA). Thread-safe (no state); the controller supplies the history.
#ifndef NAS_CONTROLLER_EARLY_STOPPING_EARLY_STOPPING_H_
#define NAS_CONTROLLER_EARLY_STOPPING_EARLY_STOPPING_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

struct StopDecision {
  bool stop = false;
  std::string reason;  // set when stop, e.g. "median rule at epoch 2: ..."
};

// Whether `rule` needs the other trials' accuracies at `epoch` at all
// (ASHA only decides at its rungs). Saves a query per epoch.
bool DecidesAt(const v1::EarlyStoppingSpec& rule, int epoch, int max_epochs);

// Decides for one trial that reported `value` at `epoch`. `others` are the
// scores other trials of the experiment reported at the same epoch (the
// progress metric, evaluation.progress_metric, named `metric` in the
// reason). The last epoch is never stopped (the trial is done anyway).
StopDecision DecideStop(const v1::EarlyStoppingSpec& rule, int epoch,
                        int max_epochs, double value,
                        const std::vector<double>& others,
                        absl::string_view metric = "val_accuracy");

// ASHA's rung epochs below max_epochs: min_epochs * eta^k.
std::vector<int> AshaRungs(const v1::EarlyStoppingSpec& rule, int max_epochs);

}  // namespace nas

#endif  // NAS_CONTROLLER_EARLY_STOPPING_EARLY_STOPPING_H_
