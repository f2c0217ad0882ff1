#include "client/svg_plot.h"

#include <algorithm>
#include <cmath>

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

std::string Tick(double v) {
  if (std::fabs(v) >= 1e6) return absl::StrFormat("%.3gM", v / 1e6);
  if (std::fabs(v) >= 1e3) return absl::StrFormat("%.3gk", v / 1e3);
  return absl::StrFormat("%.3g", v);
}

constexpr double kW = 720, kH = 480;

// Appends one plot's elements, drawn in a kW x kH box at the origin.
void AppendPanel(const ScatterPlot& plot, std::string& s) {
  constexpr double kL = 80, kR = 20, kT = 40, kB = 60;
  // Positions are computed on `lx` (x, or log10 x on a log axis).
  auto lx = [&](double x) { return plot.log_x ? std::log10(x) : x; };
  auto drawn = [&](const PlotPoint& p) { return !plot.log_x || p.x > 0; };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto* set : {&plot.points, &plot.highlight}) {
    for (const PlotPoint& p : *set) {
      if (!drawn(p)) continue;
      x0 = std::min(x0, lx(p.x));
      x1 = std::max(x1, lx(p.x));
      y0 = std::min(y0, p.y);
      y1 = std::max(y1, p.y);
    }
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
  if (y1 - y0 < 1e-12) y0 -= 0.005, y1 += 0.005;
  const double px = (x1 - x0) * 0.05, py = (y1 - y0) * 0.05;
  x0 -= px, x1 += px, y0 -= py, y1 += py;
  // On lx's scale.
  auto sx = [&](double x) {
    return kL + (x - x0) / (x1 - x0) * (kW - kL - kR);
  };
  auto sy = [&](double y) {
    return kH - kB - (y - y0) / (y1 - y0) * (kH - kT - kB);
  };

  absl::StrAppendFormat(&s,
                        "<text x=\"%g\" y=\"24\" font-size=\"15\">%s</text>\n",
                        kL, Escape(plot.title));
  // Axes, ticks and grid.
  absl::StrAppendFormat(
      &s,
      "<g stroke=\"black\"><line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\"/>"
      "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\"/></g>\n",
      kL, kH - kB, kW - kR, kH - kB, kL, kT, kL, kH - kB);
  // x ticks: (position on lx's scale, label).
  std::vector<std::pair<double, std::string>> x_ticks;
  if (plot.log_x && std::floor(x1) > std::ceil(x0)) {  // two decades or more
    const int first = static_cast<int>(std::ceil(x0));
    const int last = static_cast<int>(std::floor(x1));
    const int step = std::max(1, (last - first + 7) / 8);  // at most 9 ticks
    for (int k = first; k <= last; k += step) {
      x_ticks.push_back({k, absl::StrFormat("1e%d", k)});
    }
  } else {
    for (int i = 0; i <= 5; ++i) {
      const double xv = x0 + (x1 - x0) * i / 5;
      x_ticks.push_back({xv, Tick(plot.log_x ? std::pow(10.0, xv) : xv)});
    }
  }
  for (const auto& [xv, label] : x_ticks) {
    absl::StrAppendFormat(
        &s,
        "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#ddd\"/>"
        "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%s</text>\n",
        sx(xv), kT, sx(xv), kH - kB, sx(xv), kH - kB + 18, label);
  }
  for (int i = 0; i <= 5; ++i) {
    const double yv = y0 + (y1 - y0) * i / 5;
    absl::StrAppendFormat(
        &s,
        "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#ddd\"/>"
        "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
        kL, sy(yv), kW - kR, sy(yv), kL - 6, sy(yv) + 4, Tick(yv));
  }
  absl::StrAppendFormat(
      &s, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n",
      (kL + kW - kR) / 2, kH - 18, Escape(plot.x_label));
  absl::StrAppendFormat(&s,
                        "<text transform=\"translate(20 %g) rotate(-90)\" "
                        "text-anchor=\"middle\">%s</text>\n",
                        (kT + kH - kB) / 2, Escape(plot.y_label));
  s += "<g class=\"points\" fill=\"#888\">\n";
  for (const PlotPoint& p : plot.points) {
    if (!drawn(p)) continue;
    absl::StrAppendFormat(
        &s,
        "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\"><title>%s</title></circle>\n",
        sx(lx(p.x)), sy(p.y), Escape(p.label));
  }
  s += "</g>\n";
  if (std::any_of(plot.highlight.begin(), plot.highlight.end(), drawn)) {
    std::vector<PlotPoint> h;
    for (const PlotPoint& p : plot.highlight) {
      if (drawn(p)) h.push_back({lx(p.x), p.y, p.label});
    }
    std::sort(h.begin(), h.end(),
              [](const PlotPoint& a, const PlotPoint& b) { return a.x < b.x; });
    std::string path = absl::StrFormat("M %.1f %.1f", sx(h[0].x), sy(h[0].y));
    for (size_t i = 1; i < h.size(); ++i) {
      absl::StrAppendFormat(&path, " H %.1f V %.1f", sx(h[i].x), sy(h[i].y));
    }
    if (plot.step_line_to_x.has_value() && drawn({*plot.step_line_to_x}) &&
        lx(*plot.step_line_to_x) > h.back().x) {
      absl::StrAppendFormat(&path, " H %.1f", sx(lx(*plot.step_line_to_x)));
    }
    absl::StrAppendFormat(
        &s,
        "<path d=\"%s\" fill=\"none\" stroke=\"#d33\" stroke-width=\"1.5\"/>\n",
        path);
    s += "<g class=\"highlight\" fill=\"#d33\">\n";
    for (const PlotPoint& p : h) {
      absl::StrAppendFormat(&s,
                            "<circle cx=\"%.1f\" cy=\"%.1f\" "
                            "r=\"5\"><title>%s</title></circle>\n",
                            sx(p.x), sy(p.y), Escape(p.label));
    }
    s += "</g>\n";
  }
}

}  // namespace

std::string RenderPanelsSvg(const std::vector<ScatterPlot>& panels) {
  const int width = static_cast<int>(kW) * std::max<int>(1, panels.size());
  const int height = static_cast<int>(kH);
  std::string s = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      width, height, width, height);
  for (size_t i = 0; i < panels.size(); ++i) {
    absl::StrAppendFormat(&s,
                          "<g class=\"panel\" transform=\"translate(%d 0)\">\n",
                          static_cast<int>(kW * i));
    AppendPanel(panels[i], s);
    s += "</g>\n";
  }
  s += "</svg>\n";
  return s;
}

std::string RenderScatterSvg(const ScatterPlot& plot) {
  return RenderPanelsSvg({plot});
}

}  // namespace nas
