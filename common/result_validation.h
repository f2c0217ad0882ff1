// Validation of the metrics a worker reports with ReportResult, before the
// controller stores them or feeds a strategy. Pure functions, thread-safe.
// No LibTorch, no PostgreSQL: the fuzz target links it on its own.
#ifndef NAS_COMMON_RESULT_VALIDATION_H_
#define NAS_COMMON_RESULT_VALIDATION_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nas/v1/architecture.pb.h"

namespace nas {

// Longest accepted metrics.device, in bytes.
inline constexpr size_t kMaxDeviceBytes = 256;
// Most entries of metrics.val_class_recall (evaluation.data.classes' limit).
inline constexpr int kMaxClassRecalls = 10000;
// Most entries of metrics.named_metrics, and the longest name, in bytes.
inline constexpr int kMaxNamedMetrics = 64;
inline constexpr size_t kMaxNamedMetricBytes = 64;

// True for a valid named metric's name: [A-Za-z_][A-Za-z0-9_.:-]*, at most
// kMaxNamedMetricBytes bytes.
bool IsValidNamedMetricName(absl::string_view name);

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
//   named_metrics                          at most kMaxNamedMetrics entries;
//                                          each name IsValidNamedMetricName,
//                                          each value finite (any sign)
// Otherwise InvalidArgument for the first bad field, its message starting
// with the field's path ("metrics.latency_iqr_ms: ...",
// "metrics.named_metrics[val_top5]: ..."; named metrics are checked in
// name order, and a bad name is quoted escaped and cut to 16 bytes). The
// message is under 200 bytes. Unset fields (0, "") are valid.
absl::Status ValidateMetrics(const v1::EvaluationMetrics& m);

}  // namespace nas

#endif  // NAS_COMMON_RESULT_VALIDATION_H_
