#include "client/svg_plot.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nas {
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

constexpr double kW = 720, kH = 480;
// Margins: left (y tick labels), right, top (title and legend row),
// bottom (x tick labels and label); kInset keeps marks off the frame.
constexpr double kL = 80, kR = 20, kT = 62, kB = 60, kInset = 8;

const char* Bool(bool b) { return b ? "true" : "false"; }

// Data ranges -> nice axes -> pixels, for one panel.
class Frame {
 public:
  // `top`: the plot area's top edge (below the title and legend rows).
  Frame(double x0, double x1, double y0, double y1, const AxisOptions& xo,
        const AxisOptions& yo, double top)
      : top_(top),
        xo_(xo),
        yo_(yo),
        x_(NiceAxis(x0, x1, xo)),
        y_(NiceAxis(y0, y1, yo)) {}

  // Pixel position of a data value.
  double X(double x) const { return XScaled(xo_.log ? std::log10(x) : x); }
  double Y(double y) const { return YScaled(yo_.log ? std::log10(y) : y); }

  // Title, frame, grid, ticks and axis labels.
  void Draw(const std::string& title, const std::string& x_label,
            const std::string& y_label, std::string& s) const {
    absl::StrAppendFormat(
        &s,
        "<text class=\"title\" x=\"%g\" y=\"24\" font-size=\"15\">%s</text>\n",
        kL, Escape(title));
    absl::StrAppendFormat(&s,
                          "<rect class=\"frame\" x=\"%g\" y=\"%g\" "
                          "width=\"%g\" height=\"%g\" fill=\"none\" "
                          "stroke=\"black\"/>\n",
                          kL, top_, kW - kL - kR, kH - top_ - kB);
    absl::StrAppendFormat(
        &s,
        "<g class=\"x-axis\" data-integer=\"%s\" data-non-negative=\"%s\" "
        "data-log=\"%s\">\n",
        Bool(xo_.integer), Bool(xo_.non_negative), Bool(xo_.log));
    for (size_t i = 0; i < x_.ticks.size(); ++i) {
      const double px = XScaled(x_.ticks[i]);
      absl::StrAppendFormat(
          &s,
          "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" "
          "stroke=\"#e4e4e4\"/>"
          "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"black\"/>"
          "<text class=\"tick\" x=\"%.1f\" y=\"%g\" "
          "text-anchor=\"middle\">%s</text>\n",
          px, top_, px, kH - kB, px, kH - kB, px, kH - kB + 4, px, kH - kB + 18,
          x_.labels[i]);
    }
    absl::StrAppendFormat(
        &s, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n</g>\n",
        (kL + kW - kR) / 2, kH - 18, Escape(x_label));
    absl::StrAppendFormat(
        &s,
        "<g class=\"y-axis\" data-integer=\"%s\" data-non-negative=\"%s\" "
        "data-log=\"%s\">\n",
        Bool(yo_.integer), Bool(yo_.non_negative), Bool(yo_.log));
    for (size_t i = 0; i < y_.ticks.size(); ++i) {
      const double py = YScaled(y_.ticks[i]);
      absl::StrAppendFormat(
          &s,
          "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" "
          "stroke=\"#e4e4e4\"/>"
          "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"black\"/>"
          "<text class=\"tick\" x=\"%g\" y=\"%.1f\" "
          "text-anchor=\"end\">%s</text>\n",
          kL, py, kW - kR, py, kL - 4, py, kL, py, kL - 6, py + 4,
          y_.labels[i]);
    }
    absl::StrAppendFormat(&s,
                          "<text transform=\"translate(20 %g) rotate(-90)\" "
                          "text-anchor=\"middle\">%s</text>\n</g>\n",
                          (top_ + kH - kB) / 2, Escape(y_label));
  }

 private:
  // Pixel position of a value on the axis' scale (log10 on a log axis).
  double YScaled(double v) const {
    const double lo = kH - kB - kInset, hi = top_ + kInset;
    return lo + (v - y_.lo) / (y_.hi - y_.lo) * (hi - lo);
  }
  double XScaled(double v) const {
    const double lo = kL + kInset, hi = kW - kR - kInset;
    return lo + (v - x_.lo) / (x_.hi - x_.lo) * (hi - lo);
  }

  double top_;
  AxisOptions xo_, yo_;
  Axis x_, y_;
};

struct LegendEntry {
  std::string name;
  // "dot", "line", "dot-line" or "x", in `colour`.
  std::string mark;
  std::string colour;
  double width = 1.5;
};

// A legend box in the rows between the title and the plot, entries left
// to right from the plot's left edge, wrapped at its right edge. Returns
// the plot area's top edge below it.
double DrawLegend(const std::vector<LegendEntry>& entries, std::string& s) {
  constexpr double kFirstRow = 44, kRow = 18;  // the entries' centre lines
  constexpr double kLeft = kL + 8, kRight = kW - kR;
  double x = kLeft, y = kFirstRow, widest = 0;
  std::string inner;
  for (const LegendEntry& e : entries) {
    const double w = 22 + 6.8 * e.name.size() + 16;
    if (x > kLeft && x + w > kRight) x = kLeft, y += kRow;
    inner += "<g class=\"legend-entry\">";
    // A dot is a <path>: <circle>s are the data's points only (tests
    // count them).
    const std::string dot = absl::StrFormat(
        "<path d=\"M %g %g a 4.5 4.5 0 1 0 9 0 a 4.5 4.5 0 1 0 -9 0\" "
        "fill=\"%s\"/>",
        x + 3.5, y, e.colour);
    if (e.mark == "dot") {
      inner += dot;
    } else if (e.mark == "x") {
      absl::StrAppendFormat(&inner,
                            "<path d=\"M %g %g l 8 8 m 0 -8 l -8 8\" "
                            "stroke=\"%s\" stroke-width=\"2\"/>",
                            x + 4, y - 4, e.colour);
    } else {  // "line", and "dot-line" (a dot on a line)
      absl::StrAppendFormat(&inner,
                            "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" "
                            "stroke=\"%s\" stroke-width=\"%g\"/>",
                            x, y, x + 16, y, e.colour, std::max(1.5, e.width));
      if (e.mark == "dot-line") inner += dot;
    }
    absl::StrAppendFormat(&inner, "<text x=\"%g\" y=\"%g\">%s</text></g>\n",
                          x + 22, y + 4, Escape(e.name));
    x += w;
    widest = std::max(widest, x);
  }
  absl::StrAppendFormat(&s,
                        "<g class=\"legend\">\n<rect x=\"%g\" y=\"%g\" "
                        "width=\"%g\" height=\"%g\" fill=\"white\" "
                        "stroke=\"#999\"/>\n%s</g>\n",
                        kL, kFirstRow - 10, std::min(widest, kRight) - kL - 8,
                        y - kFirstRow + 20, inner);
  return kT + (y - kFirstRow);
}

// The title, naming the only series when it does not already.
std::string TitleWith(const std::string& title, const std::string& series) {
  if (series.empty() || absl::StrContains(title, series)) return title;
  return absl::StrCat(title, " (", series, ")");
}

// Appends one plot's elements, drawn in a kW x kH box at the origin.
void AppendPanel(const ScatterPlot& plot, std::string& s) {
  auto drawn = [&](const PlotPoint& p) {
    return (!plot.x_axis.log || p.x > 0) && (!plot.y_axis.log || p.y > 0);
  };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto* set : {&plot.points, &plot.highlight}) {
    for (const PlotPoint& p : *set) {
      if (!drawn(p)) continue;
      x0 = std::min(x0, p.x);
      x1 = std::max(x1, p.x);
      y0 = std::min(y0, p.y);
      y1 = std::max(y1, p.y);
    }
  }
  if (plot.step_line_to_x.has_value() &&
      (!plot.x_axis.log || *plot.step_line_to_x > 0)) {
    x1 = std::max(x1, *plot.step_line_to_x);
  }
  const bool has_points =
      std::any_of(plot.points.begin(), plot.points.end(), drawn);
  const bool has_highlight =
      std::any_of(plot.highlight.begin(), plot.highlight.end(), drawn);
  std::string title = plot.title;
  double top = kT;
  if (has_points && has_highlight) {
    std::vector<LegendEntry> legend = {{plot.points_name, "dot", "#888"}};
    legend.push_back(
        {plot.highlight_name, plot.step_line ? "dot-line" : "dot", "#d33"});
    top = DrawLegend(legend, s);
  } else {
    title = TitleWith(title,
                      has_highlight ? plot.highlight_name : plot.points_name);
  }
  const Frame f(x0, x1, y0, y1, plot.x_axis, plot.y_axis, top);
  f.Draw(title, plot.x_label, plot.y_label, s);
  s += "<g class=\"points\" fill=\"#888\" fill-opacity=\"0.8\">\n";
  for (const PlotPoint& p : plot.points) {
    if (!drawn(p)) continue;
    absl::StrAppendFormat(
        &s,
        "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\"><title>%s</title></circle>\n",
        f.X(p.x), f.Y(p.y), Escape(p.label));
  }
  s += "</g>\n";
  if (!has_highlight) return;
  std::vector<PlotPoint> h;
  for (const PlotPoint& p : plot.highlight) {
    if (drawn(p)) h.push_back(p);
  }
  std::sort(h.begin(), h.end(),
            [](const PlotPoint& a, const PlotPoint& b) { return a.x < b.x; });
  if (plot.step_line) {
    std::string path = absl::StrFormat("M %.1f %.1f", f.X(h[0].x), f.Y(h[0].y));
    for (size_t i = 1; i < h.size(); ++i) {
      absl::StrAppendFormat(&path, " H %.1f V %.1f", f.X(h[i].x), f.Y(h[i].y));
    }
    if (plot.step_line_to_x.has_value() &&
        (!plot.x_axis.log || *plot.step_line_to_x > 0) &&
        *plot.step_line_to_x > h.back().x) {
      absl::StrAppendFormat(&path, " H %.1f", f.X(*plot.step_line_to_x));
    }
    absl::StrAppendFormat(&s,
                          "<path class=\"staircase\" d=\"%s\" fill=\"none\" "
                          "stroke=\"#d33\" stroke-width=\"1.5\"/>\n",
                          path);
  }
  s += "<g class=\"highlight\" fill=\"#d33\">\n";
  for (const PlotPoint& p : h) {
    absl::StrAppendFormat(&s,
                          "<circle cx=\"%.1f\" cy=\"%.1f\" "
                          "r=\"5\"><title>%s</title></circle>\n",
                          f.X(p.x), f.Y(p.y), Escape(p.label));
  }
  s += "</g>\n";
}

std::string Header(double width, double height) {
  return absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      static_cast<int>(width), static_cast<int>(height),
      static_cast<int>(width), static_cast<int>(height));
}

}  // namespace

std::string RenderPanelsSvg(const std::vector<ScatterPlot>& panels,
                            int columns) {
  const int n = std::max<int>(1, panels.size());
  const int cols = columns <= 0 ? n : std::min(columns, n);
  const int rows = (n + cols - 1) / cols;
  std::string s = Header(kW * cols, kH * rows);
  for (size_t i = 0; i < panels.size(); ++i) {
    absl::StrAppendFormat(
        &s, "<g class=\"panel\" transform=\"translate(%d %d)\">\n",
        static_cast<int>(kW * (i % cols)), static_cast<int>(kH * (i / cols)));
    AppendPanel(panels[i], s);
    s += "</g>\n";
  }
  s += "</svg>\n";
  return s;
}

std::string RenderScatterSvg(const ScatterPlot& plot) {
  return RenderPanelsSvg({plot});
}

std::string RenderLineChartSvg(const LineChart& chart) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const LineSeries& l : chart.series) {
    for (const PlotPoint& p : l.points) {
      x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
      y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
    }
  }
  if (chart.x_max.has_value() && std::isfinite(x0)) {
    x1 = std::max(x1, *chart.x_max);
  }
  std::string s = Header(kW, kH);
  std::vector<bool> used(chart.styles.size());
  bool markers = false;
  for (const LineSeries& l : chart.series) {
    if (l.style >= 0 && l.style < static_cast<int>(used.size())) {
      used[l.style] = true;
    }
    markers = markers || l.marker.has_value();
  }
  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < chart.styles.size(); ++i) {
    if (!used[i]) continue;
    legend.push_back({chart.styles[i].name, "line", chart.styles[i].colour,
                      chart.styles[i].width});
  }
  if (markers) legend.push_back({chart.marker_name, "x", "#000"});
  std::string title = chart.title;
  double top = kT;
  if (legend.size() > 1) {
    top = DrawLegend(legend, s);
  } else if (!legend.empty()) {
    title = TitleWith(title, legend[0].name);
  }
  const Frame f(x0, x1, y0, y1, chart.x_axis, chart.y_axis, top);
  f.Draw(title, chart.x_label, chart.y_label, s);
  s += "<g class=\"curves\" fill=\"none\">\n";
  std::string marks;
  for (const LineSeries& l : chart.series) {
    const LineStyle st =
        l.style >= 0 && l.style < static_cast<int>(chart.styles.size())
            ? chart.styles[l.style]
            : LineStyle{"", "#888"};
    std::string pts;
    for (const PlotPoint& p : l.points) {
      absl::StrAppendFormat(&pts, "%s%.1f,%.1f", pts.empty() ? "" : " ",
                            f.X(p.x), f.Y(p.y));
    }
    absl::StrAppendFormat(
        &s,
        "<polyline class=\"curve\" points=\"%s\" stroke=\"%s\" "
        "stroke-width=\"%g\" stroke-opacity=\"%g\"><title>%s</title>"
        "</polyline>\n",
        pts, st.colour, st.width, st.opacity, Escape(l.label));
    if (l.points.size() == 1) {
      absl::StrAppendFormat(&s,
                            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" "
                            "fill=\"%s\" fill-opacity=\"%g\"/>\n",
                            f.X(l.points[0].x), f.Y(l.points[0].y), st.colour,
                            st.opacity);
    }
    if (l.marker.has_value()) {
      absl::StrAppendFormat(
          &marks,
          "<g class=\"stop-marker\"><path d=\"M %.1f %.1f l 8 8 m 0 -8 l -8 "
          "8\" stroke=\"#000\" stroke-width=\"2\"/><title>%s</title></g>\n",
          f.X(l.marker->x) - 4, f.Y(l.marker->y) - 4, Escape(l.marker->label));
    }
  }
  s += "</g>\n";
  s += marks;
  s += "</svg>\n";
  return s;
}

}  // namespace nas
