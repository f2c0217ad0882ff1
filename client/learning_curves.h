// `nasctl curves`: per-trial learning curves (ListLearningCurves; Optuna's
// intermediate-values plot) with where early stopping cut each trial, as
// a table and as an SVG line chart. Pure functions, thread-safe.
#ifndef NAS_CLIENT_LEARNING_CURVES_H_
#define NAS_CLIENT_LEARNING_CURVES_H_

#include <cstdint>
#include <string>

#include "nas/v1/experiment.pb.h"

namespace nas {

// One row per curve: CANDIDATE, SEQ, STATE, EPOCHS (reported/planned),
// BEST (val_accuracy), the accuracies by epoch (all of them up to 8 epochs,
// else the first four, "...", and the last three), then "stopped at epoch
// N: reason" for a trial early stopping cut and "final of C" for a final
// re-training; a closing count line. With no curves, one line saying why.
// `curves` holds every page (next_page_token ignored).
std::string LearningCurvesTable(const v1::ListLearningCurvesResponse& curves);

// The line chart: x the epoch (integer ticks up to curves.epochs()), y the
// validation accuracy, one <polyline class="curve"> per curve with points,
// coloured by kind (ran every epoch, stopped early, final re-training) and
// the best search trial (highest last val_accuracy) drawn thick on top; an
// X (<g class="stop-marker">, the reason in its <title>) where early
// stopping cut a trial. Thin, translucent lines keep hundreds readable.
// Points are joined in epoch order.
std::string RenderLearningCurvesSvg(
    int64_t experiment_id, const v1::ListLearningCurvesResponse& curves);

}  // namespace nas

#endif  // NAS_CLIENT_LEARNING_CURVES_H_
