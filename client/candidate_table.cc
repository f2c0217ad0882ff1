#include "client/candidate_table.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/metrics_format.h"
#include "client/proxies.h"
#include "client/terminal_text.h"
#include "common/objective.h"

namespace nas {
namespace {

std::string State(v1::CandidateState s) {
  std::string n = v1::CandidateState_Name(s);
  return n.substr(n.find('_') + 1);
}

// What the row is, when it is not a plain search result.
std::string Note(const v1::Candidate& k) {
  if (k.final_of() != 0) {
    return absl::StrCat("(final re-training of ", k.final_of(), ") ");
  }
  if (k.search()) {
    return absl::StrCat("(differentiable search, seed ", k.search_seed(),
                        "; nasctl searches) ");
  }
  // (Screening rows are stored with supernet set too, migration 0019.)
  if (k.screening()) return absl::StrCat("(screen g", k.screen_group(), ") ");
  if (k.supernet()) {
    return absl::StrCat("(trains the supernet; weights ",
                        k.supernet_hash().substr(0, 12), ") ");
  }
  if (k.search_of() != 0) {
    return absl::StrCat("(derived by search ", k.search_of(), ") ");
  }
  if (k.screen_group() != 0) {
    return absl::StrCat("(won screen g", k.screen_group(), ") ");
  }
  return "";
}

}  // namespace

std::string CandidateTable(
    const google::protobuf::RepeatedPtrField<v1::Candidate>& cs,
    const CandidateTableOptions& options) {
  // Proxy columns: those any row was scored with, in ZeroCostProxyNames()
  // order.
  std::vector<std::string> proxies;
  for (const std::string& p : ZeroCostProxyNames()) {
    if (std::any_of(cs.begin(), cs.end(), [&](const v1::Candidate& k) {
          return k.metrics().named_metrics().count(p) > 0;
        })) {
      proxies.push_back(p);
    }
  }
  std::string obj = options.objective == nullptr
                        ? ""
                        : ObjectiveColumnHeader(*options.objective);
  if (IsZeroCostProxy(obj)) obj = "";  // shown in its proxy column, as %.3g
  const int obj_width = std::max<int>(8, obj.size());
  auto obj_cell = [&](const std::string& text) {
    return obj.empty() ? "" : absl::StrFormat(" %*s", obj_width, text);
  };
  std::string proxy_header;
  for (const std::string& p : proxies) {
    absl::StrAppendFormat(&proxy_header, " %9s", absl::AsciiStrToUpper(p));
  }
  std::string out = absl::StrFormat(
      "%6s %4s %-10s %8s%s%s %8s %9s %9s %9s %10s %8s  %s\n", "ID", "SEQ",
      "STATE", "VAL_ACC", obj_cell(obj), proxy_header, "TEST_ACC", "FINAL_ACC",
      "MACS", "PARAMS", "LATENCY_MS", "TRAIN_S", "GENOTYPE");
  for (const v1::Candidate& k : cs) {
    const bool has = k.has_metrics();
    const bool is_final = k.final_of() != 0;
    // Scored, not trained: its accuracies read 0.
    const bool untrained = !is_final && (k.screening() || options.zero_cost);
    std::string proxy_cells;
    for (const std::string& p : proxies) {
      auto it = k.metrics().named_metrics().find(p);
      absl::StrAppendFormat(&proxy_cells, " %9s",
                            it == k.metrics().named_metrics().end()
                                ? std::string("-")
                                : absl::StrFormat("%.3g", it->second));
    }
    absl::StrAppendFormat(
        &out, "%6d %4d %-10s %8s%s%s %8s %9s %9s %9s %10s %8s  %s%s\n", k.id(),
        k.seq(), State(k.state()),
        has && !is_final && !untrained
            ? absl::StrFormat("%.4f", k.metrics().val_accuracy())
            : "-",
        obj_cell(obj.empty() ? "" : ObjectiveCell(*options.objective, k)),
        proxy_cells,
        has && !untrained ? absl::StrFormat("%.4f", k.metrics().test_accuracy())
                          : "-",
        k.has_final() ? absl::StrFormat("%.4f", k.final().test_accuracy())
                      : "-",
        HumanCount(ShownMacs(k)), HumanCount(ShownParams(k)),
        has ? absl::StrFormat("%.3f", k.metrics().latency_ms()) : "-",
        has ? absl::StrFormat("%.1f", k.metrics().train_seconds()) : "-",
        Note(k), k.genotype().canonical());
    if ((k.state() == v1::CANDIDATE_REJECTED ||
         k.state() == v1::CANDIDATE_FAILED) &&
        !k.reason().empty()) {
      std::string line = "           reason: " + k.reason();
      if (options.width > 0) line = FitWidth(line, options.width - 1);
      absl::StrAppend(&out, line, "\n");
    }
  }
  return out;
}

}  // namespace nas
