#include "common/result_validation.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

v1::EvaluationMetrics Good() {
  v1::EvaluationMetrics m;
  m.set_val_accuracy(0.9);
  m.set_test_accuracy(0.89);
  m.set_macs(1000);
  m.set_params(100);
  m.set_latency_ms(1.5);
  m.set_latency_iqr_ms(0.1);
  m.set_train_seconds(10);
  m.set_epochs(2);
  m.set_device("cpu (2 threads)");
  m.set_train_loss(0.3);
  m.set_throughput_images_per_second(1234.5);
  m.set_train_images_per_second(321);
  return m;
}

TEST(ValidateMetrics, AcceptsPlausible) {
  NAS_EXPECT_OK(ValidateMetrics(Good()));
  NAS_EXPECT_OK(ValidateMetrics(v1::EvaluationMetrics()));  // all unset
  auto m = Good();
  m.set_val_accuracy(1);
  m.set_test_accuracy(0);
  m.set_simulated_seconds(3600);
  m.set_device(std::string(kMaxDeviceBytes, 'x'));
  NAS_EXPECT_OK(ValidateMetrics(m));
  m.set_device("cuda:0 NVIDIA H100 80GB HBM3 \xc3\xa9");  // UTF-8 is fine
  NAS_EXPECT_OK(ValidateMetrics(m));
}

// Every double field: NaN, +inf, -inf and a negative value are refused with
// the field's own path.
TEST(ValidateMetrics, RefusesNonFiniteAndNegativeDoublesNamingEachField) {
  using Setter = void (v1::EvaluationMetrics::*)(double);
  const std::vector<std::pair<std::string, Setter>> fields = {
      {"val_accuracy", &v1::EvaluationMetrics::set_val_accuracy},
      {"test_accuracy", &v1::EvaluationMetrics::set_test_accuracy},
      {"latency_ms", &v1::EvaluationMetrics::set_latency_ms},
      {"latency_iqr_ms", &v1::EvaluationMetrics::set_latency_iqr_ms},
      {"train_seconds", &v1::EvaluationMetrics::set_train_seconds},
      {"train_loss", &v1::EvaluationMetrics::set_train_loss},
      {"throughput_images_per_second",
       &v1::EvaluationMetrics::set_throughput_images_per_second},
      {"train_images_per_second",
       &v1::EvaluationMetrics::set_train_images_per_second},
      {"simulated_seconds", &v1::EvaluationMetrics::set_simulated_seconds},
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (const auto& [name, set] : fields) {
    for (double bad : {std::nan(""), inf, -inf, -0.5}) {
      auto m = Good();
      (m.*set)(bad);
      EXPECT_THAT(ValidateMetrics(m),
                  StatusIs(absl::StatusCode::kInvalidArgument,
                           "metrics." + name + ": "))
          << name << " = " << bad;
    }
  }
}

TEST(ValidateMetrics, RefusesAccuracyAboveOne) {
  auto m = Good();
  m.set_val_accuracy(1.0000001);
  EXPECT_THAT(ValidateMetrics(m), StatusIs(absl::StatusCode::kInvalidArgument,
                                           "metrics.val_accuracy: "));
  m = Good();
  m.set_test_accuracy(1.5);
  EXPECT_THAT(ValidateMetrics(m), StatusIs(absl::StatusCode::kInvalidArgument,
                                           "metrics.test_accuracy: "));
}

TEST(ValidateMetrics, LatencyIqrIsNamedAsItself) {
  auto m = Good();
  m.set_latency_iqr_ms(std::nan(""));
  absl::Status s = ValidateMetrics(m);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          "metrics.latency_iqr_ms: "));
  EXPECT_EQ(s.message().find("metrics.latency_ms"), std::string::npos);
}

TEST(ValidateMetrics, RefusesNegativeCounts) {
  auto m = Good();
  m.set_macs(-1);
  EXPECT_THAT(ValidateMetrics(m),
              StatusIs(absl::StatusCode::kInvalidArgument, "metrics.macs: "));
  m = Good();
  m.set_params(std::numeric_limits<int64_t>::min());
  EXPECT_THAT(ValidateMetrics(m),
              StatusIs(absl::StatusCode::kInvalidArgument, "metrics.params: "));
  m = Good();
  m.set_epochs(-2);
  EXPECT_THAT(ValidateMetrics(m),
              StatusIs(absl::StatusCode::kInvalidArgument, "metrics.epochs: "));
}

TEST(ValidateMetrics, RefusesUnstorableDevice) {
  auto m = Good();
  m.set_device(std::string(kMaxDeviceBytes + 1, 'x'));
  EXPECT_THAT(ValidateMetrics(m),
              StatusIs(absl::StatusCode::kInvalidArgument, "metrics.device: "));
  m.set_device(std::string("cpu\0x", 5));  // PostgreSQL text cannot hold NUL
  EXPECT_THAT(ValidateMetrics(m),
              StatusIs(absl::StatusCode::kInvalidArgument, "metrics.device: "));
  m.set_device("cpu\nfake log line");
  EXPECT_THAT(ValidateMetrics(m),
              StatusIs(absl::StatusCode::kInvalidArgument, "metrics.device: "));
}

TEST(ValidateMetrics, ClassBalancedMetricsAreFractions) {
  auto m = Good();
  m.set_val_balanced_accuracy(0.5);
  m.set_val_macro_f1(0.4);
  m.add_val_class_recall(1);
  m.add_val_class_recall(0);
  NAS_EXPECT_OK(ValidateMetrics(m));
  m.set_test_macro_f1(1.5);
  EXPECT_THAT(ValidateMetrics(m),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "metrics.test_macro_f1: must be a number in [0, 1]"));
  m.set_test_macro_f1(0);
  m.add_val_class_recall(std::nan(""));
  EXPECT_THAT(ValidateMetrics(m), StatusIs(absl::StatusCode::kInvalidArgument,
                                           "metrics.val_class_recall[2]: "));
}

// Named metrics of a COMMAND trainer: names of [A-Za-z_][A-Za-z0-9_.:-]*
// up to 64 bytes, at most 64 of them, finite values of any sign; a refusal
// names the entry.
TEST(ValidateMetrics, NamedMetricsHaveNamesAndFiniteValues) {
  auto m = Good();
  (*m.mutable_named_metrics())["val_top5"] = 0.97;
  (*m.mutable_named_metrics())["neg_loss"] = -3.5;  // any sign
  (*m.mutable_named_metrics())["ns.sub:metric-1"] = 1e9;
  (*m.mutable_named_metrics())["_x"] = 0;
  (*m.mutable_named_metrics())[std::string(64, 'a')] = 1;
  NAS_EXPECT_OK(ValidateMetrics(m));

  for (const std::string& bad :
       {std::string("1st"), std::string("has space"), std::string("-x"),
        std::string(""), std::string("a/b"), std::string(65, 'a'),
        std::string("\xc3\xa9t\xc3\xa9")}) {
    auto b = m;
    (*b.mutable_named_metrics())[bad] = 0.5;
    absl::Status s = ValidateMetrics(b);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                            "metrics.named_metrics["))
        << bad;
    EXPECT_THAT(
        s, StatusIs(absl::StatusCode::kInvalidArgument, "not a metric name"))
        << bad;
    EXPECT_LT(s.message().size(), 200u) << s.message();
  }
  // A long bad name is cut in the message.
  auto b = m;
  (*b.mutable_named_metrics())[std::string(100, 'b') + " "] = 0.5;
  EXPECT_THAT(ValidateMetrics(b),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "metrics.named_metrics[bbbbbbbbbbbbbbbb...]: "));

  for (double v : {std::nan(""), std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity()}) {
    auto n = m;
    (*n.mutable_named_metrics())["val_bleu"] = v;
    EXPECT_THAT(ValidateMetrics(n),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "metrics.named_metrics[val_bleu]: must be a finite "
                         "number"));
  }

  // The first bad one by name order, whatever the map's order.
  auto two = m;
  (*two.mutable_named_metrics())["zz"] = std::nan("");
  (*two.mutable_named_metrics())["aa"] = std::nan("");
  EXPECT_THAT(ValidateMetrics(two), StatusIs(absl::StatusCode::kInvalidArgument,
                                             "metrics.named_metrics[aa]"));

  auto many = Good();
  for (int i = 0; i < kMaxNamedMetrics; ++i) {
    (*many.mutable_named_metrics())[absl::StrCat("m", i)] = i;
  }
  NAS_EXPECT_OK(ValidateMetrics(many));
  (*many.mutable_named_metrics())["one_more"] = 1;
  EXPECT_THAT(ValidateMetrics(many),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "metrics.named_metrics: at most 64 entries, got 65"));
}

}  // namespace
}  // namespace nas
