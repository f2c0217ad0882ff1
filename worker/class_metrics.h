// Class-balanced evaluation metrics from a confusion matrix: accuracy,
// balanced accuracy, macro-F1 and per-class recall, and the validation
// metric a trial reports as its progress score (evaluation.progress_metric).
// LibTorch-free. ConfusionMatrix is a value (not thread-safe to mutate);
// the functions are pure.
#ifndef NAS_WORKER_CLASS_METRICS_H_
#define NAS_WORKER_CLASS_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nas {

// Counts of (true class, predicted class) pairs over `classes` classes.
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int classes);
  // Adds `count` images of class `label` predicted as `predicted` (both in
  // [0, classes)).
  void Add(int label, int predicted, int64_t count = 1);
  // Adds a whole row-major classes x classes count matrix (e.g. a bincount
  // of label * classes + predicted).
  void AddCounts(const std::vector<int64_t>& counts);

  int classes() const { return classes_; }
  int64_t count(int label, int predicted) const {
    return counts_[static_cast<size_t>(label) * classes_ + predicted];
  }
  int64_t total() const { return total_; }

 private:
  int classes_;
  std::vector<int64_t> counts_;
  int64_t total_ = 0;
};

struct ClassMetrics {
  // Correct / total; 0 for no images.
  double accuracy = 0;
  // Mean recall over the classes present (with an image in the split).
  double balanced_accuracy = 0;
  // Mean F1 over the classes present; a class's F1 is 0 when its precision
  // and recall are both 0 (or it is never predicted).
  double macro_f1 = 0;
  // Per class: recall (0 for a class with no image), precision (0 when never
  // predicted), F1.
  std::vector<double> recall, precision, f1;
  // Images of each class.
  std::vector<int64_t> support;
};

ClassMetrics ComputeClassMetrics(const ConfusionMatrix& m);

// A validation metric that a trial reports per epoch and optimizes:
// "val_accuracy" (also for ""), "val_balanced_accuracy", "val_macro_f1", or
// "val_recall:<class>" with <class> a name of `class_names` or a class
// index.
struct ProgressMetric {
  enum Kind { kAccuracy, kBalancedAccuracy, kMacroF1, kRecall };
  Kind kind = kAccuracy;
  int class_index = 0;  // for kRecall
  std::string name;     // as given, "val_accuracy" for ""

  double Value(const ClassMetrics& m) const;
};

// Parses evaluation.progress_metric. InvalidArgument naming
// progress_metric for an unknown metric or class.
absl::StatusOr<ProgressMetric> ParseProgressMetric(
    const std::string& name, const std::vector<std::string>& class_names);

}  // namespace nas

#endif  // NAS_WORKER_CLASS_METRICS_H_
