// Minimal SVG plots for nasctl (no dependencies): scatter plots, panels of
// them, and line charts. Axes use NiceAxis (client/axis_ticks.h); a plot
// with more than one series has a legend box, a single series is named in
// the title. Pure functions, thread-safe.
//
// Structure tests may rely on: each axis is a <g class="x-axis"> or
// <g class="y-axis"> (attributes data-integer, data-non-negative, data-log
// "true"/"false") whose tick labels are its <text class="tick">s; the
// legend is <g class="legend"> with one <g class="legend-entry"> per series;
// the plot area is <rect class="frame">, and every data mark lies inside it.
#ifndef NAS_CLIENT_SVG_PLOT_H_
#define NAS_CLIENT_SVG_PLOT_H_

#include <optional>
#include <string>
#include <vector>

#include "client/axis_ticks.h"

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
  std::vector<PlotPoint> highlight;  // drawn as red dots
  // The series' names in the legend (or the title when only one is drawn).
  std::string points_name;
  std::string highlight_name;
  // Join the highlighted points by a step line (<path class="staircase">),
  // sorted by x: a 2-D Pareto front or a best-so-far line. Default true.
  bool step_line = true;
  // When set, the step line continues flat from the last highlighted point
  // to this x (a best-so-far line up to the last trial).
  std::optional<double> step_line_to_x;
  // x_axis.log places x on a log10 scale (y_axis.log y); points whose
  // value on a log axis is not > 0 are left out.
  AxisOptions x_axis;
  AxisOptions y_axis;
};

// A complete SVG document, 720x480. Points are <circle>s inside
// <g class="points">, highlighted ones inside <g class="highlight">.
std::string RenderScatterSvg(const ScatterPlot& plot);

// Several 720x480 plots in one SVG document, `columns` per row (0: all in
// one row), each inside its own <g class="panel">.
std::string RenderPanelsSvg(const std::vector<ScatterPlot>& panels,
                            int columns = 0);

// A line chart: one polyline per series, styled by one of `styles`.
struct LineStyle {
  std::string name;    // legend entry
  std::string colour;  // CSS colour
  double width = 1;
  double opacity = 1;
};
struct LineSeries {
  std::vector<PlotPoint> points;  // joined in this order
  std::string label;              // tooltip of the line
  int style = 0;                  // index into LineChart.styles
  // An X drawn here (<g class="stop-marker">), with its label as tooltip.
  std::optional<PlotPoint> marker;
};
struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  // On a log axis every value must be > 0.
  AxisOptions x_axis;
  AxisOptions y_axis;
  // Extra x range the axis must cover (e.g. the planned epochs).
  std::optional<double> x_max;
  std::vector<LineStyle> styles;
  // Drawn in order (later on top), each a <polyline class="curve"> inside
  // <g class="curves">; a series of one point is also a dot.
  std::vector<LineSeries> series;
  std::string marker_name;  // the markers' legend entry
};

// A complete SVG document, 720x480. The legend lists each style some
// series uses, and the markers when there are any.
std::string RenderLineChartSvg(const LineChart& chart);

}  // namespace nas

#endif  // NAS_CLIENT_SVG_PLOT_H_
