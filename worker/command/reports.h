// The report lines of a COMMAND trainer (JSON objects, one per line, on
// its fd 3) read into progress and a result. Lines are parsed with
// protobuf's json_util into google::protobuf::Struct.
//
// Epoch line: {"epoch": k (integer >= 1, larger than the last one),
// "loss" or "train_loss": x (optional), "<progress metric>": v (required
// unless the trial is a final training), other numbers...}. Final line:
// {"final": true, "<progress metric>": v, ...} with the keys of
// EvaluationMetrics (val_accuracy, test_accuracy, val_balanced_accuracy,
// val_macro_f1, val_class_recall (a list), test_balanced_accuracy,
// test_macro_f1, macs, params, latency_ms, latency_iqr_ms, train_loss or
// loss, epochs, throughput_images_per_second, train_images_per_second);
// every other numeric key is a named metric. Empty lines are skipped.
// Not thread-safe.
#ifndef NAS_WORKER_COMMAND_REPORTS_H_
#define NAS_WORKER_COMMAND_REPORTS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nas/v1/architecture.pb.h"
#include "worker/evaluators/evaluator.h"

namespace nas {

// Longest report line, bytes; a longer one is malformed.
inline constexpr size_t kMaxReportLineBytes = 64 * 1024;
// Most keys on one line, and longest key.
inline constexpr int kMaxReportKeys = 256;
inline constexpr size_t kMaxReportKeyBytes = 128;

class ReportReader {
 public:
  // `progress_metric`: the key whose value is each epoch's progress score
  // and must be in the final line ("" = val_accuracy); not required at all
  // when `final_training`.
  ReportReader(std::string progress_metric, bool final_training);

  // Line number `number` (from 1), read `seconds` after the start. An
  // epoch line gives the progress to relay; a final or empty line nullopt.
  // InvalidArgument saying what is wrong with the line (the caller quotes
  // it).
  absl::StatusOr<std::optional<EpochProgress>> Line(absl::string_view line,
                                                    double seconds);

  bool has_final() const { return has_final_; }
  int last_epoch() const { return last_epoch_; }
  // The metrics of the last final line (epochs: its "epochs", else the
  // last epoch reported); when there is none and `stopped`, those of the
  // last epoch line (its numeric keys, epochs = its epoch). FailedPrecondition
  // when there is neither. Device and train_seconds are left to the caller.
  absl::StatusOr<v1::EvaluationMetrics> Result(bool stopped) const;

  const std::string& progress_metric() const { return progress_metric_; }

 private:
  const std::string progress_metric_;
  const bool final_training_;
  int last_epoch_ = 0;
  bool has_final_ = false;
  v1::EvaluationMetrics final_;
  bool has_epoch_ = false;
  v1::EvaluationMetrics epoch_;  // of the last epoch line
};

}  // namespace nas

#endif  // NAS_WORKER_COMMAND_REPORTS_H_
