// Minimal SVG scatter plots for nasctl (no dependencies). Pure functions,
// thread-safe.
#ifndef NAS_CLIENT_SVG_PLOT_H_
#define NAS_CLIENT_SVG_PLOT_H_

#include <optional>
#include <string>
#include <vector>

namespace nas {

struct PlotPoint {
  double x = 0;
  double y = 0;
  std::string label;  // tooltip (<title>)
};

struct ScatterPlot {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<PlotPoint> points;     // drawn as grey dots
  std::vector<PlotPoint> highlight;  // drawn as red dots joined by a step line
  // When set, the step line continues flat from the last highlighted point
  // to this x (a best-so-far line up to the last trial).
  std::optional<double> step_line_to_x;
  // Place x on a log10 scale, with a tick per decade (labelled 1e<k>).
  // Points whose x is not > 0 are left out. Default false.
  bool log_x = false;
};

// A complete SVG document, 720x480. Points are <circle>s inside
// <g class="points">, highlighted ones inside <g class="highlight">.
std::string RenderScatterSvg(const ScatterPlot& plot);

// Several 720x480 plots side by side in one SVG document, each inside its
// own <g class="panel">.
std::string RenderPanelsSvg(const std::vector<ScatterPlot>& panels);

}  // namespace nas

#endif  // NAS_CLIENT_SVG_PLOT_H_
