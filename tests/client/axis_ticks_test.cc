// NiceAxis over awkward ranges: every tick a multiple of a 1-2-5 step,
// the ticks cover the data, 4 to 10 of them, labels without float noise;
// integer, non-negative and log axes.
#include "client/axis_ticks.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace nas {
namespace {

// A label's value: "0.55", "-0.3", "200k", "2.5M", "1G", "1.5e-7".
double LabelValue(std::string label) {
  double scale = 1;
  const char last = label.empty() ? ' ' : label.back();
  if (last == 'k') scale = 1e3;
  if (last == 'M') scale = 1e6;
  if (last == 'G') scale = 1e9;
  if (scale != 1) label.pop_back();
  double v = NAN;
  EXPECT_TRUE(absl::SimpleAtod(label, &v)) << label;
  return v * scale;
}

void ExpectNice(double lo, double hi, AxisOptions o = {}) {
  const Axis a = NiceAxis(lo, hi, o);
  const std::string where =
      absl::StrCat("[", lo, ", ", hi, "] ticks ", absl::StrJoin(a.labels, " "));
  ASSERT_GE(a.ticks.size(), 4u) << where;
  ASSERT_LE(a.ticks.size(), 10u) << where;
  ASSERT_EQ(a.ticks.size(), a.labels.size()) << where;
  // The step is 1, 2 or 5 times a power of ten.
  const double e = std::floor(std::log10(a.step) + 1e-9);
  const double m = a.step / std::pow(10.0, e);
  EXPECT_TRUE(std::fabs(m - 1) < 1e-9 || std::fabs(m - 2) < 1e-9 ||
              std::fabs(m - 5) < 1e-9)
      << where << " step " << a.step;
  for (size_t i = 0; i < a.ticks.size(); ++i) {
    // A multiple of the step, evenly spaced, and its label says exactly it.
    const double k = a.ticks[i] / a.step;
    EXPECT_NEAR(k, std::round(k), 1e-6) << where;
    if (i > 0) EXPECT_NEAR(a.ticks[i] - a.ticks[i - 1], a.step, a.step * 1e-9);
    const double v = LabelValue(a.labels[i]);
    EXPECT_NEAR(v, a.ticks[i], a.step * 1e-6) << where;
    // No float noise: a handful of characters, no run of 0s or 9s.
    EXPECT_LE(a.labels[i].size(), 8u) << where;
    EXPECT_EQ(a.labels[i].find("0000001"), std::string::npos) << where;
    EXPECT_EQ(a.labels[i].find("99999"), std::string::npos) << where;
    if (o.integer) EXPECT_EQ(a.ticks[i], std::round(a.ticks[i])) << where;
    if (o.non_negative && lo >= 0) EXPECT_GE(a.ticks[i], 0) << where;
  }
  // Limits snapped to the outermost ticks, covering the data.
  EXPECT_EQ(a.lo, a.ticks.front()) << where;
  EXPECT_EQ(a.hi, a.ticks.back()) << where;
  if (std::isfinite(lo) && std::isfinite(hi)) {
    EXPECT_LE(a.lo, std::min(lo, hi)) << where;
    EXPECT_GE(a.hi, std::max(lo, hi)) << where;
  }
}

TEST(NiceAxis, AwkwardRangesGetRoundTicks) {
  ExpectNice(0.57, 0.86);
  ExpectNice(0, 1e-3);
  ExpectNice(123456, 987654);
  ExpectNice(-0.3, 0.2);
  ExpectNice(0.7123, 0.7123);  // one value
  ExpectNice(0, 0);
  ExpectNice(-5, -5);
  ExpectNice(1e-9, 3.7e-9);
  ExpectNice(2.1e14, 9.9e14);
  ExpectNice(0.1, 0.3);  // 0.3 / 0.1 is not 3 in floating point
  ExpectNice(5.3e6, 8.1e7);
  ExpectNice(0.86, 0.57);  // either order
  ExpectNice(NAN, NAN);    // no data
  ExpectNice(-1e6, 1);
  ExpectNice(99.99, 100.01);
}

TEST(NiceAxis, LabelsAreExact) {
  const Axis a = NiceAxis(0.57, 0.86, {});
  EXPECT_EQ(absl::StrJoin(a.labels, " "),
            "0.55 0.60 0.65 0.70 0.75 0.80 0.85 0.90");
  EXPECT_EQ(absl::StrJoin(NiceAxis(-0.3, 0.2, {}).labels, " "),
            "-0.3 -0.2 -0.1 0 0.1 0.2");
  EXPECT_EQ(absl::StrJoin(NiceAxis(123456, 987654, {}).labels, " "),
            "0.1M 0.2M 0.3M 0.4M 0.5M 0.6M 0.7M 0.8M 0.9M 1.0M");
  EXPECT_EQ(absl::StrJoin(NiceAxis(1e-9, 3.7e-9, {}).labels, " "),
            "1.0e-9 1.5e-9 2.0e-9 2.5e-9 3.0e-9 3.5e-9 4.0e-9");
}

TEST(NiceAxis, IntegerAxesGetWholeNumbers) {
  AxisOptions trials;
  trials.integer = true;
  trials.non_negative = true;
  ExpectNice(1, 7, trials);
  ExpectNice(1, 1, trials);  // one trial: no -3.85, no 0.5 steps
  ExpectNice(0, 2, trials);
  ExpectNice(1, 200, trials);
  ExpectNice(3, 4, trials);
  const Axis one = NiceAxis(1, 1, trials);
  EXPECT_EQ(absl::StrJoin(one.labels, " "), "0 1 2 3");
  EXPECT_EQ(absl::StrJoin(NiceAxis(1, 7, trials).labels, " "), "1 2 3 4 5 6 7");
}

TEST(NiceAxis, NonNegativeQuantitiesShowNoNegativeTicks) {
  AxisOptions seconds;
  seconds.non_negative = true;
  ExpectNice(0, 0, seconds);
  ExpectNice(0.2, 0.2, seconds);
  ExpectNice(0, 3.7, seconds);
  ExpectNice(0, 1e-3, seconds);
  EXPECT_EQ(NiceAxis(0, 0, seconds).lo, 0);
  // Without the option a single value is centred: negative ticks appear.
  EXPECT_LT(NiceAxis(0, 0, {}).lo, 0);
}

TEST(NiceAxis, LogAxesGetDecades) {
  AxisOptions log;
  log.log = true;
  Axis a = NiceAxis(3, 4.2e5, log);
  EXPECT_EQ(absl::StrJoin(a.labels, " "), "1 10 100 1000 10000 1e5 1e6");
  EXPECT_EQ(a.lo, 0);
  EXPECT_EQ(a.hi, 6);
  a = NiceAxis(1e-12, 1e9, log);  // 21 decades: every third one
  EXPECT_LE(a.ticks.size(), 10u);
  EXPECT_EQ(a.labels.front(), "1e-12");
  EXPECT_EQ(a.labels.back(), "1e9");
  a = NiceAxis(0.03, 0.08, log);  // within one decade: 1-2-5
  EXPECT_EQ(absl::StrJoin(a.labels, " "), "0.01 0.02 0.05 0.1");
}

}  // namespace
}  // namespace nas
