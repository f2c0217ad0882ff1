#include "common/result_validation.h"

#include <cmath>
#include <cstdint>

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

}  // namespace

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
  return absl::OkStatus();
}

}  // namespace nas
