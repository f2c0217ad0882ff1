// Minimal SVG scatter plots for nasctl (no dependencies). Pure functions,
// thread-safe.
#ifndef NAS_CLIENT_SVG_PLOT_H_
#define NAS_CLIENT_SVG_PLOT_H_

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
};

// A complete SVG document, 720x480.
std::string RenderScatterSvg(const ScatterPlot& plot);

}  // namespace nas

#endif  // NAS_CLIENT_SVG_PLOT_H_
