#include "worker/class_metrics.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/objective.h"

namespace nas {

ConfusionMatrix::ConfusionMatrix(int classes)
    : classes_(std::max(0, classes)),
      counts_(static_cast<size_t>(classes_) * classes_, 0) {}

void ConfusionMatrix::Add(int label, int predicted, int64_t count) {
  counts_[static_cast<size_t>(label) * classes_ + predicted] += count;
  total_ += count;
}

void ConfusionMatrix::AddCounts(const std::vector<int64_t>& counts) {
  const size_t n = std::min(counts.size(), counts_.size());
  for (size_t i = 0; i < n; ++i) {
    counts_[i] += counts[i];
    total_ += counts[i];
  }
}

ClassMetrics ComputeClassMetrics(const ConfusionMatrix& m) {
  const int k = m.classes();
  ClassMetrics out;
  out.recall.assign(k, 0);
  out.precision.assign(k, 0);
  out.f1.assign(k, 0);
  out.support.assign(k, 0);
  std::vector<int64_t> predicted(k, 0);
  int64_t correct = 0;
  for (int t = 0; t < k; ++t) {
    for (int p = 0; p < k; ++p) {
      out.support[t] += m.count(t, p);
      predicted[p] += m.count(t, p);
    }
    correct += m.count(t, t);
  }
  if (m.total() > 0) {
    out.accuracy =
        static_cast<double>(correct) / static_cast<double>(m.total());
  }
  int present = 0;
  double recall_sum = 0, f1_sum = 0;
  for (int c = 0; c < k; ++c) {
    const double tp = static_cast<double>(m.count(c, c));
    if (out.support[c] > 0) {
      out.recall[c] = tp / static_cast<double>(out.support[c]);
    }
    if (predicted[c] > 0) {
      out.precision[c] = tp / static_cast<double>(predicted[c]);
    }
    const double pr = out.precision[c] + out.recall[c];
    out.f1[c] = pr > 0 ? 2 * out.precision[c] * out.recall[c] / pr : 0;
    if (out.support[c] > 0) {
      ++present;
      recall_sum += out.recall[c];
      f1_sum += out.f1[c];
    }
  }
  if (present > 0) {
    out.balanced_accuracy = recall_sum / present;
    out.macro_f1 = f1_sum / present;
  }
  return out;
}

double ProgressMetric::Value(const ClassMetrics& m) const {
  switch (kind) {
    case kAccuracy:
      return m.accuracy;
    case kBalancedAccuracy:
      return m.balanced_accuracy;
    case kMacroF1:
      return m.macro_f1;
    case kRecall:
      return class_index < static_cast<int>(m.recall.size())
                 ? m.recall[class_index]
                 : 0;
  }
  return 0;
}

absl::StatusOr<ProgressMetric> ParseProgressMetric(
    const std::string& name, const std::vector<std::string>& class_names) {
  ProgressMetric out;
  out.name = name.empty() ? "val_accuracy" : name;
  if (out.name == "val_accuracy") return out;
  if (out.name == "val_balanced_accuracy") {
    out.kind = ProgressMetric::kBalancedAccuracy;
    return out;
  }
  if (out.name == "val_macro_f1") {
    out.kind = ProgressMetric::kMacroF1;
    return out;
  }
  if (absl::StartsWith(out.name, kRecallMetricPrefix)) {
    const absl::string_view cls =
        absl::string_view(out.name).substr(kRecallMetricPrefix.size());
    out.kind = ProgressMetric::kRecall;
    absl::StatusOr<int> index = ResolveRecallClass(
        cls, class_names, static_cast<int>(class_names.size()));
    if (!index.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "progress_metric '", out.name, "': no class '", cls, "' (",
          class_names.size(), " classes; give a class name or an index)"));
    }
    out.class_index = *index;
    return out;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "progress_metric '", out.name,
      "' is not one of val_accuracy, val_balanced_accuracy, val_macro_f1, "
      "val_recall:<class>"));
}

}  // namespace nas
