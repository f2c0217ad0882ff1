#include "worker/command/reports.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace nas {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

absl::StatusOr<double> Number(const std::string& key, const Value& v) {
  if (v.kind_case() != Value::kNumberValue ||
      !std::isfinite(v.number_value())) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", key, "' is not a number"));
  }
  return v.number_value();
}

absl::StatusOr<int64_t> Count(const std::string& key, const Value& v) {
  NAS_ASSIGN_OR_RETURN(const double d, Number(key, v));
  if (d < 0 || d != std::floor(d) || d > 9.0e15) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", key, "' is not a whole number >= 0"));
  }
  return static_cast<int64_t>(d);
}

// The keys of `s` into `m` (see reports.h); "final" and "epoch" skipped.
absl::Status FillMetrics(const Struct& s, v1::EvaluationMetrics* m) {
  for (const auto& [key, v] : s.fields()) {
    if (key == "final" || key == "epoch") continue;
    if (key.empty() || key.size() > kMaxReportKeyBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a key is empty or longer than ", kMaxReportKeyBytes, " bytes"));
    }
    if (key == "val_class_recall") {
      if (v.kind_case() != Value::kListValue) {
        return absl::InvalidArgumentError(
            "'val_class_recall' is not a list of numbers");
      }
      m->clear_val_class_recall();
      for (const Value& r : v.list_value().values()) {
        NAS_ASSIGN_OR_RETURN(const double x, Number("val_class_recall", r));
        m->add_val_class_recall(x);
      }
      continue;
    }
    if (key == "macs" || key == "params" || key == "epochs") {
      NAS_ASSIGN_OR_RETURN(const int64_t n, Count(key, v));
      if (key == "macs") m->set_macs(n);
      if (key == "params") m->set_params(n);
      if (key == "epochs") m->set_epochs(static_cast<int32_t>(n));
      continue;
    }
    NAS_ASSIGN_OR_RETURN(const double x, Number(key, v));
    if (key == "val_accuracy") {
      m->set_val_accuracy(x);
    } else if (key == "test_accuracy") {
      m->set_test_accuracy(x);
    } else if (key == "val_balanced_accuracy") {
      m->set_val_balanced_accuracy(x);
    } else if (key == "val_macro_f1") {
      m->set_val_macro_f1(x);
    } else if (key == "test_balanced_accuracy") {
      m->set_test_balanced_accuracy(x);
    } else if (key == "test_macro_f1") {
      m->set_test_macro_f1(x);
    } else if (key == "latency_ms") {
      m->set_latency_ms(x);
    } else if (key == "latency_iqr_ms") {
      m->set_latency_iqr_ms(x);
    } else if (key == "train_loss" || key == "loss") {
      m->set_train_loss(x);
    } else if (key == "throughput_images_per_second") {
      m->set_throughput_images_per_second(x);
    } else if (key == "train_images_per_second") {
      m->set_train_images_per_second(x);
    } else if (key == "train_seconds") {
      // The worker measures the run's wall time itself.
    } else {
      (*m->mutable_named_metrics())[key] = x;
    }
  }
  return absl::OkStatus();
}

}  // namespace

ReportReader::ReportReader(std::string progress_metric, bool final_training)
    : progress_metric_(progress_metric.empty() ? "val_accuracy"
                                               : std::move(progress_metric)),
      final_training_(final_training) {}

absl::StatusOr<std::optional<EpochProgress>> ReportReader::Line(
    absl::string_view line, double seconds) {
  if (line.find_first_not_of(" \t\r") == absl::string_view::npos) {
    return std::optional<EpochProgress>();
  }
  if (line.size() > kMaxReportLineBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("longer than ", kMaxReportLineBytes, " bytes"));
  }
  Struct s;
  if (const auto p =
          google::protobuf::util::JsonStringToMessage(std::string(line), &s);
      !p.ok()) {
    const absl::string_view why(p.message().data(), p.message().size());
    return absl::InvalidArgumentError(
        absl::StrCat("not a JSON object (", why.substr(0, 120), ")"));
  }
  if (s.fields_size() > kMaxReportKeys) {
    return absl::InvalidArgumentError(
        absl::StrCat("more than ", kMaxReportKeys, " keys"));
  }
  const auto progress = s.fields().find(progress_metric_);
  const bool has_progress = progress != s.fields().end();
  if (has_progress) {
    NAS_RETURN_IF_ERROR(Number(progress_metric_, progress->second).status());
  }
  if (const auto f = s.fields().find("final"); f != s.fields().end()) {
    if (f->second.kind_case() != Value::kBoolValue || !f->second.bool_value()) {
      return absl::InvalidArgumentError("'final' must be true when present");
    }
    if (!has_progress && !final_training_) {
      return absl::InvalidArgumentError(
          absl::StrCat("the final line has no '", progress_metric_,
                       "' (the trial's progress metric)"));
    }
    v1::EvaluationMetrics m;
    NAS_RETURN_IF_ERROR(FillMetrics(s, &m));
    if (m.epochs() == 0) m.set_epochs(last_epoch_);
    final_ = std::move(m);
    has_final_ = true;
    return std::optional<EpochProgress>();
  }
  const auto e = s.fields().find("epoch");
  if (e == s.fields().end()) {
    return absl::InvalidArgumentError(
        "neither an epoch line (\"epoch\") nor a final line (\"final\": "
        "true)");
  }
  NAS_ASSIGN_OR_RETURN(const int64_t epoch, Count("epoch", e->second));
  if (epoch < 1 || epoch > 1000000) {
    return absl::InvalidArgumentError("'epoch' must be in [1, 1000000]");
  }
  if (epoch <= last_epoch_) {
    return absl::InvalidArgumentError(
        absl::StrCat("epoch ", epoch, " does not follow epoch ", last_epoch_));
  }
  if (!has_progress && !final_training_) {
    return absl::InvalidArgumentError(
        absl::StrCat("the epoch line has no '", progress_metric_,
                     "' (the trial's progress metric)"));
  }
  v1::EvaluationMetrics m;
  NAS_RETURN_IF_ERROR(FillMetrics(s, &m));
  m.set_epochs(static_cast<int32_t>(epoch));
  last_epoch_ = static_cast<int>(epoch);
  epoch_ = std::move(m);
  has_epoch_ = true;
  EpochProgress p;
  p.epoch = last_epoch_;
  p.train_loss = epoch_.train_loss();
  p.val_accuracy = has_progress ? progress->second.number_value() : 0;
  p.seconds = seconds;
  return std::optional<EpochProgress>(p);
}

absl::StatusOr<v1::EvaluationMetrics> ReportReader::Result(bool stopped) const {
  if (has_final_) return final_;
  if (stopped && has_epoch_) return epoch_;
  return absl::FailedPreconditionError("no final line");
}

}  // namespace nas
