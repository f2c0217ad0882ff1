// Fuzz target: ValidateMetrics, the controller's check of a worker's
// ReportResult metrics. The input is used twice:
//  1. as a serialized EvaluationMetrics (what arrives over gRPC);
//  2. structured: its bytes fill every field directly (9 doubles of 8 bytes,
//     so NaN, infinities, negatives and subnormals occur; macs, params,
//     epochs; the rest is the device string).
// Properties: no crash or UB; whatever the validator accepts really is
// finite and in range, named metrics included (checked here independently
// of the validator); what it refuses is InvalidArgument naming a
// "metrics." field.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/result_validation.h"
#include "google/protobuf/stubs/logging.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using nas::v1::EvaluationMetrics;

bool Finite(double v, double lo, double hi) {
  return std::isfinite(v) && v >= lo && v <= hi;
}

// The contract of common/result_validation.h, written out again.
bool Plausible(const EvaluationMetrics& m) {
  const double big = HUGE_VAL;  // upper bound only; isfinite rules out inf
  for (double v :
       {m.val_accuracy(), m.test_accuracy(), m.val_balanced_accuracy(),
        m.val_macro_f1(), m.test_balanced_accuracy(), m.test_macro_f1()}) {
    if (!Finite(v, 0, 1)) return false;
  }
  if (m.val_class_recall_size() > nas::kMaxClassRecalls) return false;
  for (double v : m.val_class_recall()) {
    if (!Finite(v, 0, 1)) return false;
  }
  for (double v : {m.latency_ms(), m.latency_iqr_ms(), m.train_seconds(),
                   m.train_loss(), m.throughput_images_per_second(),
                   m.train_images_per_second(), m.simulated_seconds()}) {
    if (!Finite(v, 0, big)) return false;
  }
  if (m.macs() < 0 || m.params() < 0 || m.epochs() < 0) return false;
  if (m.device().size() > nas::kMaxDeviceBytes) return false;
  for (unsigned char c : m.device()) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  if (m.named_metrics_size() > 64) return false;
  for (const auto& [name, value] : m.named_metrics()) {
    if (name.empty() || name.size() > 64 || !std::isfinite(value)) return false;
    for (size_t i = 0; i < name.size(); ++i) {
      const char c = name[i];
      const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
      const bool digit = c >= '0' && c <= '9';
      const bool ok = letter || c == '_' ||
                      (i > 0 && (digit || c == '.' || c == ':' || c == '-'));
      if (!ok) return false;
    }
  }
  return true;
}

void Check(const EvaluationMetrics& m) {
  absl::Status s = nas::ValidateMetrics(m);
  NAS_FUZZ_CHECK(s.ok() == Plausible(m),
                 "ValidateMetrics accepts exactly the plausible metrics");
  if (!s.ok()) {
    NAS_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument &&
                       s.message().rfind("metrics.", 0) == 0 &&
                       s.message().size() < 200,
                   "a refusal is a short InvalidArgument naming the field");
  }
}

template <typename T>
T Take(const uint8_t*& data, size_t& size) {
  T v{};
  const size_t n = size < sizeof(T) ? size : sizeof(T);
  std::memcpy(&v, data, n);
  data += n;
  size -= n;
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Invalid UTF-8 in a string field is logged on every parse: keep quiet.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  EvaluationMetrics wire;
  if (wire.ParseFromArray(data, static_cast<int>(size))) Check(wire);

  EvaluationMetrics m;
  m.set_val_accuracy(Take<double>(data, size));
  m.set_test_accuracy(Take<double>(data, size));
  m.set_latency_ms(Take<double>(data, size));
  m.set_latency_iqr_ms(Take<double>(data, size));
  m.set_train_seconds(Take<double>(data, size));
  m.set_train_loss(Take<double>(data, size));
  m.set_throughput_images_per_second(Take<double>(data, size));
  m.set_train_images_per_second(Take<double>(data, size));
  m.set_simulated_seconds(Take<double>(data, size));
  m.set_macs(Take<int64_t>(data, size));
  m.set_params(Take<int64_t>(data, size));
  m.set_epochs(Take<int32_t>(data, size));
  m.set_device(std::string(reinterpret_cast<const char*>(data), size));
  Check(m);
  return 0;
}
