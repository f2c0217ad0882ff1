#include "controller/early_stopping/early_stopping.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace nas {
namespace {

// Linear-interpolation quantile of a non-empty sample (as numpy's default).
double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

int MinEpochs(const v1::EarlyStoppingSpec& r) {
  return std::max(1, r.min_epochs());
}

}  // namespace

std::vector<int> AshaRungs(const v1::EarlyStoppingSpec& rule, int max_epochs) {
  std::vector<int> rungs;
  const int eta = std::max(2, rule.reduction_factor());
  for (long r = MinEpochs(rule); r < max_epochs; r *= eta) {
    rungs.push_back(static_cast<int>(r));
  }
  return rungs;
}

bool DecidesAt(const v1::EarlyStoppingSpec& rule, int epoch, int max_epochs) {
  if (epoch >= max_epochs || epoch < MinEpochs(rule)) return false;
  if (rule.rule() == "median") return true;
  if (rule.rule() == "asha") {
    const std::vector<int> rungs = AshaRungs(rule, max_epochs);
    return std::find(rungs.begin(), rungs.end(), epoch) != rungs.end();
  }
  return false;
}

StopDecision DecideStop(const v1::EarlyStoppingSpec& rule, int epoch,
                        int max_epochs, double value,
                        const std::vector<double>& others,
                        absl::string_view metric) {
  StopDecision d;
  if (!DecidesAt(rule, epoch, max_epochs)) return d;
  if (rule.rule() == "median") {
    if (static_cast<int>(others.size()) < std::max(1, rule.min_trials())) {
      return d;
    }
    const double median = Quantile(others, 0.5);
    if (value < median) {
      d.stop = true;
      d.reason = absl::StrFormat(
          "median rule at epoch %d: %s %.4f < median %.4f of %d "
          "other trials",
          epoch, metric, value, median, static_cast<int>(others.size()));
    }
    return d;
  }
  // ASHA: the cutoff over everything recorded at this rung, this trial
  // included; alone at the rung, a trial always continues.
  const int eta = std::max(2, rule.reduction_factor());
  std::vector<double> all = others;
  all.push_back(value);
  const double cutoff = Quantile(all, 1.0 - 1.0 / eta);
  if (value < cutoff) {
    const std::vector<int> rungs = AshaRungs(rule, max_epochs);
    const int k = static_cast<int>(
        std::find(rungs.begin(), rungs.end(), epoch) - rungs.begin());
    d.stop = true;
    d.reason = absl::StrFormat(
        "asha rung %d (epoch %d, eta %d): %s %.4f < cutoff %.4f "
        "of %d trials",
        k, epoch, eta, metric, value, cutoff, static_cast<int>(all.size()));
  }
  return d;
}

}  // namespace nas
