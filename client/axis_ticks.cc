#include "client/axis_ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_format.h"

namespace nas {
namespace {

constexpr double kEps = 1e-9;

// m * 10^e with the error of one rounding only (0.3, not 0.30000000000000004).
double Scaled(double m, int e) {
  return e >= 0 ? m * std::pow(10.0, e) : m / std::pow(10.0, -e);
}

// Digits after the decimal point that multiples of `step` need.
int Decimals(double step) {
  return std::max(0, -static_cast<int>(std::floor(std::log10(step) + kEps)));
}

std::string LinearLabel(double v, double step, double magnitude) {
  if (v == 0) return "0";
  if (magnitude >= 1e12 || step < 1e-4) {
    // Each label its own exponent: 1.5e-9, 2.0e-9.
    const int e = static_cast<int>(std::floor(std::log10(std::fabs(v)) + kEps));
    const int decimals =
        std::max(0, e - static_cast<int>(std::floor(std::log10(step) + kEps)));
    return absl::StrFormat("%.*fe%d", decimals, v / std::pow(10.0, e), e);
  }
  double scale = 1;
  const char* suffix = "";
  if (magnitude >= 1e9) {
    scale = 1e9, suffix = "G";
  } else if (magnitude >= 1e6) {
    scale = 1e6, suffix = "M";
  } else if (magnitude >= 1e4) {
    scale = 1e3, suffix = "k";
  }
  return absl::StrFormat("%.*f%s", Decimals(step / scale), v / scale, suffix);
}

// m * 10^k on a log axis.
std::string LogLabel(int m, int k) {
  if (k >= -3 && k <= 4) {
    return absl::StrFormat("%.*f", std::max(0, -k), Scaled(m, k));
  }
  return absl::StrFormat("%de%d", m, k);
}

Axis LogAxis(double data_min, double data_max) {
  Axis axis;
  double lo = std::log10(data_min), hi = std::log10(data_max);
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  int a = static_cast<int>(std::floor(lo + kEps));
  int b = static_cast<int>(std::ceil(hi - kEps));
  if (b <= a) b = a + 1;
  if (b - a < 2) {  // 1, 2, 5 within each decade
    for (int k = a; k < b; ++k) {
      for (int m : {1, 2, 5}) {
        axis.ticks.push_back(std::log10(Scaled(m, k)));
        axis.labels.push_back(LogLabel(m, k));
      }
    }
    axis.ticks.push_back(b);
    axis.labels.push_back(LogLabel(1, b));
  } else {  // every s-th decade, at most 10 ticks
    const int s = std::max(1, (b - a + 8) / 9);
    a = static_cast<int>(std::floor(static_cast<double>(a) / s)) * s;
    b = static_cast<int>(std::ceil(static_cast<double>(b) / s)) * s;
    for (int k = a; k <= b; k += s) {
      axis.ticks.push_back(k);
      axis.labels.push_back(LogLabel(1, k));
    }
  }
  axis.lo = a;
  axis.hi = b;
  return axis;
}

}  // namespace

Axis NiceAxis(double data_min, double data_max, const AxisOptions& options) {
  if (data_min > data_max) std::swap(data_min, data_max);
  if (options.log) return LogAxis(data_min, data_max);
  double lo = data_min, hi = data_max;
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  const bool floor_at_zero = options.non_negative && lo >= 0;
  if (hi - lo <= 1e-12 * std::max(std::fabs(lo), std::fabs(hi))) {
    // One value: an axis around it (0 alone: [0, 1]).
    const double half = lo == 0 ? 0.5 : std::fabs(lo) * 0.1;
    lo -= half, hi += half;
  }
  if (options.integer && hi - lo < 3) {  // room for 4 whole-number ticks
    const double mid = (lo + hi) / 2;
    lo = mid - 1.5, hi = mid + 1.5;
  }
  if (floor_at_zero && lo < 0) hi -= lo, lo = 0;
  // Among the 1-2-5 steps giving 4 to 10 ticks, the one whose axis the data
  // fills best, less 0.02 per tick away from 6 (the larger step on a tie).
  // One exists for every span: from the step at which the span holds 3 to
  // 7.5 steps, the count is span/step + 1 to + 3.
  const int e0 = static_cast<int>(std::floor(std::log10(hi - lo)));
  double best_step = 0;
  long best_first = 0, best_last = 0;
  double best_score = INFINITY;
  for (int e = e0 - 2; e <= e0 + 1; ++e) {
    for (int m : {1, 2, 5}) {
      const double step = Scaled(m, e);
      if (options.integer && step < 1) continue;
      const long first = static_cast<long>(std::floor(lo / step + kEps));
      const long last = static_cast<long>(std::ceil(hi / step - kEps));
      const long count = last - first + 1;
      const double off = static_cast<double>(std::labs(count - 6));
      const double coverage = (hi - lo) / ((last - first) * step);
      const double score =
          (count >= 4 && count <= 10 ? 0 : 1000 + off) - coverage + 0.02 * off;
      if (score <= best_score) {  // later steps are larger
        best_score = score, best_step = step;
        best_first = first, best_last = last;
      }
    }
  }
  Axis axis;
  axis.step = best_step;
  const int e = static_cast<int>(std::floor(std::log10(best_step) + kEps));
  const double m = std::round(best_step / std::pow(10.0, e));
  double magnitude = 0;
  for (long k = best_first; k <= best_last; ++k) {
    const double v = Scaled(static_cast<double>(k) * m, e);
    axis.ticks.push_back(v);
    magnitude = std::max(magnitude, std::fabs(v));
  }
  for (double v : axis.ticks) {
    axis.labels.push_back(LinearLabel(v, best_step, magnitude));
  }
  axis.lo = axis.ticks.front();
  axis.hi = axis.ticks.back();
  return axis;
}

}  // namespace nas
