// Validation of the metrics a worker reports with ReportResult, before the
// controller stores them or feeds a strategy. Pure functions, thread-safe.
// No LibTorch, no PostgreSQL: the fuzz target links it on its own.
#ifndef NAS_COMMON_RESULT_VALIDATION_H_
#define NAS_COMMON_RESULT_VALIDATION_H_

#include <cstddef>

#include "absl/status/status.h"
#include "nas/v1/architecture.pb.h"

namespace nas {

// Longest accepted metrics.device, in bytes.
inline constexpr size_t kMaxDeviceBytes = 256;
// Most entries of metrics.val_class_recall (evaluation.data.classes' limit).
inline constexpr int kMaxClassRecalls = 10000;

// OK when every field of `m` is plausible:
//   val_accuracy, test_accuracy, the balanced accuracies and macro-F1s,
//   each val_class_recall                  finite, in [0, 1]
//   val_class_recall                       at most kMaxClassRecalls entries
//   macs, params, epochs                   >= 0
//   latency_ms, latency_iqr_ms, train_seconds, simulated_seconds,
//   train_loss, throughput_images_per_second, train_images_per_second
//                                          finite, >= 0
//   device                                 at most kMaxDeviceBytes bytes, no
//                                          ASCII control characters (NUL
//                                          cannot be stored in PostgreSQL)
// Otherwise InvalidArgument for the first bad field, its message starting
// with the field's path ("metrics.latency_iqr_ms: ..."). Unset fields (0,
// "") are valid.
absl::Status ValidateMetrics(const v1::EvaluationMetrics& m);

}  // namespace nas

#endif  // NAS_COMMON_RESULT_VALIDATION_H_
