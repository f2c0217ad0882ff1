#include "common/result_validation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace nas {
namespace {

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("metrics.", field, ": ", why));
}

absl::Status InUnitInterval(absl::string_view field, double v) {
  if (std::isfinite(v) && v >= 0 && v <= 1) return absl::OkStatus();
  return Bad(field, absl::StrCat("must be a number in [0, 1], got ", v));
}

absl::Status FiniteNonNegative(absl::string_view field, double v) {
  if (std::isfinite(v) && v >= 0) return absl::OkStatus();
  return Bad(field, absl::StrCat("must be a finite number >= 0, got ", v));
}

absl::Status NonNegative(absl::string_view field, int64_t v) {
  if (v >= 0) return absl::OkStatus();
  return Bad(field, absl::StrCat("must be >= 0, got ", v));
}

absl::Status ValidateNamedMetrics(const v1::EvaluationMetrics& m) {
  if (m.named_metrics_size() > kMaxNamedMetrics) {
    return Bad("named_metrics",
               absl::StrCat("at most ", kMaxNamedMetrics, " entries, got ",
                            m.named_metrics_size()));
  }
  // In name order, so that the first bad one is always the same.
  std::vector<std::pair<absl::string_view, double>> sorted(
      m.named_metrics().begin(), m.named_metrics().end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [name, value] : sorted) {
    if (!IsValidNamedMetricName(name)) {
      constexpr size_t kQuoted = 16;  // keeps the message short
      return Bad(
          absl::StrCat("named_metrics[",
                       absl::CHexEscape(name.substr(0, kQuoted)),
                       name.size() > kQuoted ? "..." : "", "]"),
          absl::StrCat("not a metric name ([A-Za-z_][A-Za-z0-9_.:-]*, at "
                       "most ",
                       kMaxNamedMetricBytes, " bytes)"));
    }
    if (!std::isfinite(value)) {
      return Bad(absl::StrCat("named_metrics[", name, "]"),
                 absl::StrCat("must be a finite number, got ", value));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsValidNamedMetricName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNamedMetricBytes) return false;
  if (!absl::ascii_isalpha(name[0]) && name[0] != '_') return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != ':' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

absl::Status ValidateMetrics(const v1::EvaluationMetrics& m) {
  for (absl::Status s : {
           InUnitInterval("val_accuracy", m.val_accuracy()),
           InUnitInterval("test_accuracy", m.test_accuracy()),
           InUnitInterval("val_balanced_accuracy", m.val_balanced_accuracy()),
           InUnitInterval("val_macro_f1", m.val_macro_f1()),
           InUnitInterval("test_balanced_accuracy", m.test_balanced_accuracy()),
           InUnitInterval("test_macro_f1", m.test_macro_f1()),
           NonNegative("macs", m.macs()),
           NonNegative("params", m.params()),
           FiniteNonNegative("latency_ms", m.latency_ms()),
           FiniteNonNegative("latency_iqr_ms", m.latency_iqr_ms()),
           FiniteNonNegative("train_seconds", m.train_seconds()),
           NonNegative("epochs", m.epochs()),
           FiniteNonNegative("train_loss", m.train_loss()),
           FiniteNonNegative("throughput_images_per_second",
                             m.throughput_images_per_second()),
           FiniteNonNegative("train_images_per_second",
                             m.train_images_per_second()),
           FiniteNonNegative("simulated_seconds", m.simulated_seconds()),
       }) {
    if (!s.ok()) return s;
  }
  if (m.val_class_recall_size() > kMaxClassRecalls) {
    return Bad("val_class_recall",
               absl::StrCat("at most ", kMaxClassRecalls, " entries, got ",
                            m.val_class_recall_size()));
  }
  for (int i = 0; i < m.val_class_recall_size(); ++i) {
    absl::Status s = InUnitInterval(absl::StrCat("val_class_recall[", i, "]"),
                                    m.val_class_recall(i));
    if (!s.ok()) return s;
  }
  if (m.device().size() > kMaxDeviceBytes) {
    return Bad("device", absl::StrCat("must be at most ", kMaxDeviceBytes,
                                      " bytes, got ", m.device().size()));
  }
  for (unsigned char c : m.device()) {
    if (c < 0x20 || c == 0x7f) {
      return Bad("device", absl::StrCat("must not contain control character ",
                                        static_cast<int>(c)));
    }
  }
  return ValidateNamedMetrics(m);
}

}  // namespace nas
