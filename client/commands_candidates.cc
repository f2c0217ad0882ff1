// nasctl candidates, pareto, export: an experiment's candidates.
#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "client/candidate_table.h"
#include "client/commands.h"
#include "client/pareto_plot.h"
#include "client/svg_plot.h"
#include "client/terminal_text.h"
#include "common/objective.h"

namespace nas {

// Every candidate of experiment `id` in `state` (all pages).
grpc::Status ListAll(Ctx& c, int64_t id, v1::CandidateState state,
                     std::vector<v1::Candidate>* out) {
  v1::ListCandidatesRequest req;
  req.set_experiment_id(id);
  req.set_state(state);
  req.set_page_size(10000);
  while (true) {
    v1::ListCandidatesResponse resp;
    grpc::Status s = c.stub->ListCandidates(c.Context().get(), req, &resp);
    if (!s.ok()) return s;
    for (v1::Candidate& k : *resp.mutable_candidates()) {
      out->push_back(std::move(k));
    }
    if (resp.next_page_token().empty() || resp.candidates().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  return grpc::Status::OK;
}

// Experiment `id` and all its evaluated candidates.
grpc::Status GetEvaluated(Ctx& c, int64_t id, v1::Experiment* e,
                          std::vector<v1::Candidate>* all) {
  v1::GetExperimentRequest req;
  req.set_id(id);
  grpc::Status s = c.stub->GetExperiment(c.Context().get(), req, e);
  if (!s.ok()) return s;
  return ListAll(c, id, v1::CANDIDATE_EVALUATED, all);
}

namespace {

int Candidates(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return kExitUsage;
  v1::ListCandidatesRequest req;
  req.set_experiment_id(id);
  if (c.flags.count("order-by")) req.set_order_by(c.flags["order-by"]);
  if (c.flags.count("state")) {
    v1::CandidateState st;
    if (!v1::CandidateState_Parse("CANDIDATE_" + c.flags["state"], &st)) {
      return Usage(c, "--state: unknown state '" + c.flags["state"] +
                          "' (QUEUED, RUNNING, EVALUATED, FAILED, REJECTED, "
                          "DUPLICATE, CANCELLED)");
    }
    req.set_state(st);
  }
  int limit;
  if (!ParseLimit(c, 100, &limit)) return kExitUsage;
  req.set_page_size(limit);
  if (c.flags.count("page-token")) req.set_page_token(c.flags["page-token"]);
  // Metric filters, applied by the controller (so totals and pages agree).
  for (const char* flag : {"min-val-accuracy", "max-latency-ms"}) {
    if (!c.flags.count(flag)) continue;
    double v;
    if (!absl::SimpleAtod(c.flags[flag], &v) || !(v > 0)) {
      return Usage(c, absl::StrCat("--", flag, ": expected a number > 0, got '",
                                   c.flags[flag], "'"));
    }
    if (flag == std::string("min-val-accuracy")) {
      req.set_min_val_accuracy(v);
    } else {
      req.set_max_latency_ms(v);
    }
  }
  for (const char* flag : {"max-macs", "max-params"}) {
    if (!c.flags.count(flag)) continue;
    double v;  // accepts 5e6
    if (!absl::SimpleAtod(c.flags[flag], &v) || !(v >= 1) || v > 9e18) {
      return Usage(
          c, absl::StrCat("--", flag, ": expected a positive count, got '",
                          c.flags[flag], "'"));
    }
    if (flag == std::string("max-macs")) {
      req.set_max_macs(static_cast<int64_t>(v));
    } else {
      req.set_max_params(static_cast<int64_t>(v));
    }
  }
  const bool all = c.flags.count("all") > 0;
  v1::ListCandidatesResponse resp;
  while (true) {
    v1::ListCandidatesResponse page;
    grpc::Status s = c.stub->ListCandidates(c.Context().get(), req, &page);
    if (!s.ok()) return Fail(c, s);
    for (v1::Candidate& k : *page.mutable_candidates()) {
      *resp.add_candidates() = std::move(k);
    }
    resp.set_total(page.total());
    resp.set_next_page_token(page.next_page_token());
    if (!all || page.next_page_token().empty() || page.candidates().empty()) {
      break;
    }
    req.set_page_token(page.next_page_token());
  }
  if (c.json) {
    PrintJson(c, resp);
    return kExitOk;
  }
  // The objective, for its column when it is not val_accuracy.
  v1::GetExperimentRequest ereq;
  ereq.set_id(id);
  v1::Experiment e;
  grpc::Status es = c.stub->GetExperiment(c.Context().get(), ereq, &e);
  if (!es.ok()) return Fail(c, es);
  MakePrintable(&resp);
  MakePrintable(&e);
  CandidateTableOptions table;
  table.objective = &e.spec().objective();
  table.zero_cost = e.spec().evaluation().mode() == v1::ZERO_COST;
  table.width = c.width;
  c.out << CandidateTable(resp.candidates(), table);
  c.out << resp.candidates_size() << " of " << resp.total() << " candidates";
  if (!resp.next_page_token().empty()) {
    c.out << "; next page: --page-token " << resp.next_page_token();
  }
  c.out << "\n";
  return kExitOk;
}

// Draws every evaluated search candidate (grey) and the front (red):
// client/pareto_plot.h.
int WriteParetoSvg(Ctx& c, int64_t id,
                   const v1::GetParetoFrontResponse& front) {
  std::vector<v1::Candidate> all;
  grpc::Status s = ListAll(c, id, v1::CANDIDATE_EVALUATED, &all);
  if (!s.ok()) return Fail(c, s);
  all.erase(std::remove_if(all.begin(), all.end(),
                           [](const v1::Candidate& k) {
                             return k.final_of() != 0 || k.supernet();
                           }),
            all.end());
  // The metric the front ranks by.
  v1::GetExperimentRequest ereq;
  ereq.set_id(id);
  v1::Experiment e;
  s = c.stub->GetExperiment(c.Context().get(), ereq, &e);
  if (!s.ok()) return Fail(c, s);
  return WriteFile(c, c.flags["svg"],
                   RenderParetoSvg(id, all, front, e.spec().objective()));
}

int Pareto(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return kExitUsage;
  v1::GetParetoFrontRequest req;
  req.set_experiment_id(id);
  if (c.flags.count("minimize")) {
    for (absl::string_view m : absl::StrSplit(c.flags["minimize"], ',')) {
      req.add_minimize(std::string(m));
    }
  }
  v1::GetParetoFrontResponse resp;
  grpc::Status s = c.stub->GetParetoFront(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(c, s);
  if (c.flags.count("svg")) {
    int rc = WriteParetoSvg(c, id, resp);
    if (rc != 0) return rc;
  }
  if (c.json) {
    PrintJson(c, resp);
    return kExitOk;
  }
  MakePrintable(&resp);
  c.out << "Pareto front (maximize "
        << (resp.objectives_size() > 0 ? resp.objectives(0) : "val_accuracy")
        << "; minimize";
  for (int i = 1; i < resp.objectives_size(); ++i) {
    c.out << " " << resp.objectives(i);
  }
  c.out << "): " << resp.front_size() << " candidates\n";
  // A named metric (COMMAND) gets its column; built-in ones need the spec.
  v1::ObjectiveSpec named;
  if (resp.objectives_size() > 0 &&
      !IsBuiltinObjectiveMetric(resp.objectives(0))) {
    named.set_metric(resp.objectives(0));
  }
  CandidateTableOptions table;
  if (!named.metric().empty()) table.objective = &named;
  c.out << CandidateTable(resp.front(), table);
  return kExitOk;
}

int Export(Ctx& c) {
  int64_t id;
  int64_t candidate = 0;
  if (!ParseId(c, &id)) return kExitUsage;
  if (c.positional.size() != 2 ||
      !absl::SimpleAtoi(c.positional[1], &candidate) || candidate <= 0) {
    return Usage(c,
                 "expected a CANDIDATE id (a positive integer) after the "
                 "experiment ID");
  }
  // -f/--file; --out, its name before -o meant --output, still works.
  const std::string path =
      c.flags.count("file") ? c.flags["file"] : c.flags["out"];
  if (path.empty()) return Usage(c, "expected -f FILE, the model's file");
  v1::ExportCandidateRequest req;
  req.set_experiment_id(id);
  req.set_candidate_id(candidate);
  v1::ExportCandidateResponse resp;
  grpc::Status s = c.stub->ExportCandidate(c.Context(120).get(), req, &resp);
  if (!s.ok()) return Fail(c, s);
  int rc = WriteFile(c, path, resp.torchscript());
  if (rc != 0) return rc;
  if (c.json) {
    resp.clear_torchscript();  // written to the file, not to stdout
    PrintJson(c, resp);
    return kExitOk;
  }
  MakePrintable(&resp);  // torchscript is bytes: kept
  c.out << absl::StrFormat(
      "wrote %s (%d bytes; %s training, test_acc %.4f, %d epochs)\n", path,
      resp.torchscript().size(), resp.source(), resp.metrics().test_accuracy(),
      resp.metrics().epochs());
  return kExitOk;
}

}  // namespace

Command CandidatesCommand() {
  Command c;
  c.name = "candidates";
  c.args = "ID";
  c.summary = "an experiment's candidates with their metrics";
  c.details =
      "A column for objective.metric when it is not val_accuracy, one per "
      "zero-cost\nproxy scored; screening rows marked \"screen gN\"; under "
      "each REJECTED or\nFAILED row its reason, cut to the terminal's width "
      "(-o json has it whole).";
  c.flags = {
      {"state", 0, "S", "all",
       "only candidates in state S: QUEUED, RUNNING, EVALUATED, FAILED, "
       "REJECTED, DUPLICATE, CANCELLED"},
      {"order-by", 0, "F", "seq",
       "seq, val_accuracy, val_balanced_accuracy, val_macro_f1, objective "
       "(the spec's objective.metric), macs, params, latency_ms; prefix - "
       "for descending"},
      {"limit", 0, "N", "100", "candidates per page"},
      {"page-token", 0, "T", "the first page",
       "the page the previous one named"},
      {"all", 0, "", "", "every page"},
      {"min-val-accuracy", 0, "A", "", "only val_accuracy >= A"},
      {"max-macs", 0, "M", "", "only MACs <= M (accepts 5e6)"},
      {"max-params", 0, "P", "", "only parameters <= P (accepts 5e6)"},
      {"max-latency-ms", 0, "L", "", "only latency_ms <= L"},
  };
  c.examples = {
      "nasctl candidates 7 --state EVALUATED --order-by -val_accuracy "
      "--limit 10",
      "nasctl candidates 7 --all -o json > all.json"};
  c.min_args = 1;
  c.max_args = 1;
  c.run = Candidates;
  return c;
}

Command ParetoCommand() {
  Command c;
  c.name = "pareto";
  c.args = "ID";
  c.summary = "the non-dominated candidates";
  c.flags = {
      {"minimize", 0, "LIST", "the spec's objective.minimize",
       "comma-separated: macs, params, latency_ms"},
      {"svg", 0, "FILE", "",
       "also draw the front over all evaluated candidates"},
  };
  c.examples = {"nasctl pareto 7 --minimize latency_ms --svg front.svg"};
  c.min_args = 1;
  c.max_args = 1;
  c.run = Pareto;
  return c;
}

Command ExportCommand() {
  Command c;
  c.name = "export";
  c.args = "ID CANDIDATE";
  c.summary = "write a candidate's trained TorchScript model to a file";
  c.details =
      "Its final re-training's model when there is one; load it with\n"
      "torch.jit.load(FILE). -o json prints the ExportCandidateResponse "
      "without the\nmodel's bytes.";
  c.flags = {
      {"file", 'f', "FILE", "", "where to write the model (required)"},
      {"out", 0, "FILE", "", "the same as --file (its name before 0.23)"},
  };
  c.examples = {"nasctl export 7 1234 -f model.pt"};
  c.min_args = 2;
  c.max_args = 2;
  c.run = Export;
  return c;
}

}  // namespace nas
