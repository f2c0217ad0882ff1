// Hand-made experiments for the plot tests, put into a fake
// ExperimentService: kCurvesExperiment (learning curves: trials that ran
// every epoch, trials early stopping cut, one final re-training, one
// running trial without epochs yet) and kFrontExperiment (40 evaluated
// candidates with val_accuracy, macs, params and latency_ms, minimizing
// macs and latency_ms: a three-objective front) and kProxyExperiment
// (proxy-guided evolution: 12 genotypes screened with synflow scores
// spanning five decades, then trained). Deterministic.
#ifndef NAS_TESTS_CLIENT_PLOT_SAMPLES_H_
#define NAS_TESTS_CLIENT_PLOT_SAMPLES_H_

#include <cstdint>

#include "tests/client/fake_experiment_service.h"

namespace nas::testing {

inline constexpr int64_t kCurvesExperiment = 50;
inline constexpr int64_t kFrontExperiment = 60;
inline constexpr int64_t kProxyExperiment = 70;

// What AddPlotSamples stored, for the assertions.
struct PlotSampleCounts {
  int curves_with_points = 0;
  int stopped = 0;
};

PlotSampleCounts AddPlotSamples(FakeExperimentService& service);

}  // namespace nas::testing

#endif  // NAS_TESTS_CLIENT_PLOT_SAMPLES_H_
