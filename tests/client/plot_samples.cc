#include "tests/client/plot_samples.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nas::testing {
namespace {

// A small deterministic generator in [0, 1).
class Uniform {
 public:
  double operator()() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state_ >> 11) / 9007199254740992.0;
  }

 private:
  uint64_t state_ = 42;
};

}  // namespace

PlotSampleCounts AddPlotSamples(FakeExperimentService& service) {
  PlotSampleCounts counts;
  Uniform u;
  // Learning curves: 24 trials of 12 epochs; the weak ones cut early.
  v1::Experiment& ce = service.experiments[kCurvesExperiment];
  ce.set_id(kCurvesExperiment);
  ce.mutable_spec()->set_name("curves");
  v1::ListLearningCurvesResponse& lc = service.curves[kCurvesExperiment];
  lc.set_epochs(12);
  for (int t = 0; t < 24; ++t) {
    v1::LearningCurve& c = *lc.add_curves();
    c.set_candidate_id(100 + t);
    c.set_seq(t + 1);
    c.set_trial_id(1000 + t);
    c.set_attempt(1);
    c.set_state(v1::CANDIDATE_EVALUATED);
    const double top = 0.55 + 0.35 * u(), rate = 1.5 + 3 * u();
    const int stop = top < 0.7 ? 2 + static_cast<int>(4 * u()) : 0;
    const int epochs = stop > 0 ? stop : 12;
    for (int e = 1; e <= epochs; ++e) {
      v1::CurvePoint& p = *c.add_points();
      p.set_epoch(e);
      p.set_val_accuracy(top - (top - 0.1) * std::exp(-e / rate) +
                         0.01 * (u() - 0.5));
      p.set_train_loss(2.3 * std::exp(-e / rate));
      p.set_seconds(10.0 * e);
    }
    if (stop > 0) {
      c.set_stopped_at_epoch(stop);
      c.set_early_stopped(absl::StrFormat(
          "median rule: val_accuracy %.3f below the median of trials at "
          "epoch %d <&>",
          c.points(stop - 1).val_accuracy(), stop));
      ++counts.stopped;
    }
    ++counts.curves_with_points;
  }
  // A trial cut at its first epoch: one point.
  v1::LearningCurve& one = *lc.add_curves();
  one.set_candidate_id(130);
  one.set_seq(25);
  one.set_state(v1::CANDIDATE_EVALUATED);
  one.add_points()->set_epoch(1);
  one.mutable_points(0)->set_val_accuracy(0.2);
  one.set_stopped_at_epoch(1);
  one.set_early_stopped("threshold: val_accuracy below 0.25 at epoch 1");
  ++counts.stopped;
  ++counts.curves_with_points;
  // The best one's final re-training, and a trial without epochs yet.
  v1::LearningCurve& final = *lc.add_curves();
  final = lc.curves(0);
  final.set_candidate_id(131);
  final.set_seq(26);
  final.set_final_of(100);
  final.set_stopped_at_epoch(0);
  final.clear_early_stopped();
  final.clear_points();
  for (int e = 1; e <= 12; ++e) {
    v1::CurvePoint& p = *final.add_points();
    p.set_epoch(e);
    p.set_val_accuracy(0.92 - 0.8 * std::exp(-e / 2.0));
  }
  ++counts.curves_with_points;
  v1::LearningCurve& running = *lc.add_curves();
  running.set_candidate_id(132);
  running.set_seq(27);
  running.set_state(v1::CANDIDATE_RUNNING);

  // A front over val_accuracy, macs and latency_ms.
  v1::Experiment& fe = service.experiments[kFrontExperiment];
  fe.set_id(kFrontExperiment);
  fe.mutable_spec()->set_name("front");
  fe.mutable_spec()->mutable_objective()->add_minimize("macs");
  fe.mutable_spec()->mutable_objective()->add_minimize("latency_ms");
  fe.mutable_created_at()->set_seconds(1000);
  for (int i = 0; i < 40; ++i) {
    v1::Candidate k;
    k.set_id(200 + i);
    k.set_state(v1::CANDIDATE_EVALUATED);
    k.mutable_genotype()->set_canonical(absl::StrCat("|g", i, "|"));
    const double size = u();
    const int64_t macs = static_cast<int64_t>(2e6 + 9e7 * size * size);
    k.mutable_metrics()->set_macs(macs);
    k.mutable_metrics()->set_params(macs / 40);
    k.mutable_metrics()->set_latency_ms(0.4 + 3.0 * u() + macs / 4e7);
    k.mutable_metrics()->set_val_accuracy(0.6 + 0.3 * std::sqrt(size) -
                                          0.08 * u());
    k.mutable_updated_at()->set_seconds(1000 + 7 * i);
    service.candidates[kFrontExperiment].push_back(k);
  }

  // Proxy scores (screening rows) paired with trained accuracies.
  v1::Experiment& pe = service.experiments[kProxyExperiment];
  pe.set_id(kProxyExperiment);
  pe.mutable_spec()->set_name("proxies");
  v1::ProxyGuidance& g = *pe.mutable_spec()
                              ->mutable_strategy()
                              ->mutable_evolution()
                              ->mutable_proxy();
  g.set_children(4);
  g.set_metric("synflow");
  for (int i = 0; i < 12; ++i) {
    const std::string genotype = absl::StrCat("|p", i, "|");
    v1::Candidate screen;
    screen.set_id(300 + i);
    screen.set_state(v1::CANDIDATE_EVALUATED);
    screen.mutable_genotype()->set_canonical(genotype);
    screen.set_screening(true);
    screen.set_supernet(true);  // as the store marks screening rows
    (*screen.mutable_metrics()->mutable_named_metrics())["synflow"] =
        std::pow(10.0, 2 + 0.45 * i + 0.3 * u());
    v1::Candidate trained;
    trained.set_id(400 + i);
    trained.set_state(v1::CANDIDATE_EVALUATED);
    trained.mutable_genotype()->set_canonical(genotype);
    trained.mutable_metrics()->set_val_accuracy(0.6 + 0.02 * i + 0.05 * u());
    service.candidates[kProxyExperiment].push_back(screen);
    service.candidates[kProxyExperiment].push_back(trained);
  }
  return counts;
}

}  // namespace nas::testing
