#include "client/searches.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nas {
namespace {

// One colour per operation (none, skip, 1x1, 3x3, pool), colour-blind safe.
constexpr const char* kColours[] = {"#999999", "#e69f00", "#56b4e9",
                                    "#009e73", "#cc79a7", "#d55e00"};

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '&') {
      out += "&amp;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Accuracy(const v1::Candidate* k, bool test) {
  if (k == nullptr || !k->has_metrics()) return "-";
  return absl::StrFormat("%.4f", test ? k->metrics().test_accuracy()
                                      : k->metrics().val_accuracy());
}

}  // namespace

std::string SearchTable(const std::vector<v1::Candidate>& candidates,
                        const v1::ListSearchEpochsResponse& epochs,
                        int epochs_per_search) {
  std::map<int64_t, const v1::Candidate*> by_id;
  std::map<int64_t, const v1::Candidate*> derived_of;  // search id -> cell
  std::vector<const v1::Candidate*> searches;
  for (const v1::Candidate& k : candidates) {
    by_id[k.id()] = &k;
    if (k.search()) searches.push_back(&k);
    if (k.search_of() != 0) derived_of[k.search_of()] = &k;
  }
  std::sort(searches.begin(), searches.end(),
            [](const v1::Candidate* a, const v1::Candidate* b) {
              return a->id() < b->id();
            });
  std::map<int64_t, int> last_epoch;
  for (const v1::SearchEpoch& e : epochs.epochs()) {
    last_epoch[e.search_id()] = std::max(last_epoch[e.search_id()], e.epoch());
  }
  std::string out =
      absl::StrFormat("%-7s %-6s %-10s %-7s %-10s %-9s %-7s %-7s %s\n",
                      "SEARCH", "SEED", "STATE", "EPOCHS", "PARAM-FREE",
                      "CANDIDATE", "VAL", "TEST", "DERIVED CELL");
  std::string warnings;
  for (const v1::Candidate* s : searches) {
    const v1::Candidate* cell = nullptr;
    if (auto it = derived_of.find(s->id()); it != derived_of.end()) {
      cell = it->second;
      // A duplicate cell was trained once, as the candidate it repeats.
      if (cell->duplicate_of() != 0 && by_id.count(cell->duplicate_of())) {
        cell = by_id[cell->duplicate_of()];
      }
    }
    std::string state = v1::CandidateState_Name(s->state());
    if (state.rfind("CANDIDATE_", 0) == 0) state = state.substr(10);
    const std::string derived =
        s->derived().canonical().empty() ? "-" : s->derived().canonical();
    absl::StrAppendFormat(
        &out, "%-7d %-6d %-10s %-7s %-10s %-9s %-7s %-7s %s\n", s->id(),
        s->search_seed(), state,
        absl::StrCat(last_epoch[s->id()], "/", epochs_per_search),
        s->derived().canonical().empty()
            ? std::string("-")
            : absl::StrFormat("%.0f%%", 100 * s->param_free_share()),
        cell == nullptr ? std::string("-") : absl::StrCat(cell->id()),
        Accuracy(cell, false), Accuracy(cell, true), derived);
    if (!s->derived().canonical().empty() &&
        s->param_free_share() > kCollapseShare) {
      absl::StrAppendFormat(
          &warnings,
          "WARNING: search %d (seed %d): %.0f%% of its cell's edges have no "
          "parameters (none, skip, pool): the search collapsed; do not trust "
          "its cell without the standalone accuracy\n",
          s->id(), s->search_seed(), 100 * s->param_free_share());
    }
  }
  if (searches.empty()) out += "(no searches: not a darts experiment)\n";
  return out + warnings;
}

std::string RenderSearchWeightsSvg(const v1::ListSearchEpochsResponse& epochs) {
  // Group the epochs by search, in order of first appearance.
  std::vector<int64_t> order;
  std::map<int64_t, std::vector<const v1::SearchEpoch*>> by_search;
  int max_epoch = 1;
  for (const v1::SearchEpoch& e : epochs.epochs()) {
    if (!by_search.count(e.search_id())) order.push_back(e.search_id());
    by_search[e.search_id()].push_back(&e);
    max_epoch = std::max(max_epoch, e.epoch());
  }
  // One y range for every panel, from the weights themselves rounded out
  // to steps of 0.05: early in a search they all sit near 1/ops, and a
  // fixed 0..1 axis would draw them flat.
  double lo = 1, hi = 0;
  for (const v1::SearchEpoch& e : epochs.epochs()) {
    for (double w : e.arch_weights())
      lo = std::min(lo, w), hi = std::max(hi, w);
  }
  if (lo > hi) lo = 0, hi = 1;
  lo = std::max(0.0, std::floor(lo / 0.05) * 0.05);
  hi = std::min(1.0, std::ceil(hi / 0.05) * 0.05);
  if (hi - lo < 0.05) hi = std::min(1.0, lo + 0.05), lo = hi - 0.05;
  const int edges = std::max(1, epochs.edges_size());
  const int ops = std::max(1, epochs.ops_size());
  constexpr double kPw = 150, kPh = 110, kGap = 16, kLeft = 70, kTop = 50;
  constexpr double kLegend = 30;
  const double width = kLeft + edges * (kPw + kGap) + 10;
  const double height =
      kTop + std::max<size_t>(1, order.size()) * (kPh + kGap + 14) + kLegend;
  std::string s = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%g\" y=\"20\" font-size=\"15\">Architecture weights "
      "softmax(alpha) per edge over epochs (same y range in every "
      "panel)</text>\n",
      width, height, kLeft);
  // Legend.
  for (int o = 0; o < ops && o < epochs.ops_size(); ++o) {
    const double x = kLeft + o * 130;
    absl::StrAppendFormat(
        &s,
        "<g class=\"legend\"><line x1=\"%g\" y1=\"34\" x2=\"%g\" y2=\"34\" "
        "stroke=\"%s\" stroke-width=\"3\"/><text x=\"%g\" y=\"38\">%s</text>"
        "</g>\n",
        x, x + 18, kColours[o % 6], x + 22, Escape(epochs.ops(o)));
  }
  for (size_t r = 0; r < order.size(); ++r) {
    const std::vector<const v1::SearchEpoch*>& rows = by_search[order[r]];
    const double y0 = kTop + r * (kPh + kGap + 14) + 14;
    const v1::SearchEpoch& last = *rows.back();
    absl::StrAppendFormat(&s, "<text x=\"4\" y=\"%g\">search %d</text>\n",
                          y0 + kPh / 2, order[r]);
    absl::StrAppendFormat(
        &s, "<text x=\"4\" y=\"%g\" fill=\"#555\">seed %d</text>\n",
        y0 + kPh / 2 + 14, last.seed());
    for (int e = 0; e < edges; ++e) {
      const double x0 = kLeft + e * (kPw + kGap);
      auto sx = [&](int epoch) {
        return max_epoch <= 1 ? x0 + kPw / 2
                              : x0 + (epoch - 1) * kPw / (max_epoch - 1);
      };
      auto sy = [&](double w) { return y0 + kPh - (w - lo) / (hi - lo) * kPh; };
      absl::StrAppendFormat(
          &s,
          "<g class=\"panel\"><rect x=\"%g\" y=\"%g\" width=\"%g\" "
          "height=\"%g\" fill=\"none\" stroke=\"#888\"/>\n"
          "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#eee\"/>\n",
          x0, y0, kPw, kPh, x0, sy((lo + hi) / 2), x0 + kPw, sy((lo + hi) / 2));
      if (r == 0) {
        absl::StrAppendFormat(
            &s,
            "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">edge %s</text>\n",
            x0 + kPw / 2, y0 - 4,
            e < epochs.edges_size() ? Escape(epochs.edges(e)) : "?");
      }
      if (e == 0) {
        absl::StrAppendFormat(
            &s,
            "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%.2f</text>"
            "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%.2f</text>\n",
            x0 - 3, y0 + 8, hi, x0 - 3, y0 + kPh, lo);
      }
      absl::StrAppendFormat(
          &s,
          "<text x=\"%g\" y=\"%g\" fill=\"#555\">1</text>"
          "<text x=\"%g\" y=\"%g\" text-anchor=\"end\" fill=\"#555\">epoch "
          "%d</text>\n",
          x0, y0 + kPh + 12, x0 + kPw, y0 + kPh + 12, max_epoch);
      for (int o = 0; o < ops; ++o) {
        std::string pts;
        for (const v1::SearchEpoch* ep : rows) {
          const int i = e * ops + o;
          if (i >= ep->arch_weights_size()) continue;
          absl::StrAppendFormat(&pts, "%.1f,%.1f ", sx(ep->epoch()),
                                sy(ep->arch_weights(i)));
        }
        // The derived operation of the last epoch is drawn thicker.
        const bool chosen =
            e < last.derived().choices_size() && last.derived().choices(e) == o;
        absl::StrAppendFormat(
            &s,
            "<polyline class=\"op-%d\" fill=\"none\" stroke=\"%s\" "
            "stroke-width=\"%s\" points=\"%s\"/>\n",
            o, kColours[o % 6], chosen ? "3" : "1.5", pts);
      }
      s += "</g>\n";
    }
  }
  s += "</svg>\n";
  return s;
}

}  // namespace nas
