// nasctl submit, list, show, stop, extend, resume: one experiment at a time.
#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/commands.h"
#include "client/metrics_format.h"
#include "client/proxies.h"
#include "client/terminal_text.h"
#include "common/objective.h"
#include "common/spec/spec.h"

namespace nas {
namespace {

int Submit(Ctx& c) {
  const std::string& path = c.positional[0];
  std::ifstream in(path);
  if (!in) return Usage(c, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string yaml = ss.str();
  // Validate locally first, so every mistake is listed with its line.
  absl::StatusOr<ParsedSpec> parsed = ParseSpecYaml(yaml);
  if (!parsed.ok()) {
    // One message listing each problem, "; "-separated: one per line.
    for (absl::string_view m :
         absl::StrSplit(parsed.status().message(), "; ")) {
      c.err << "nasctl submit: " << path << ": " << m << "\n";
    }
    return kExitUsage;
  }
  FieldErrorList limits(&parsed->lines);
  CheckSpecLimits(parsed->spec, &limits);
  std::vector<FieldError> errors = std::move(limits).Take();
  if (errors.empty()) {
    ApplySpecDefaults(&parsed->spec, &parsed->lines);
    errors = ValidateSpec(parsed->spec, &parsed->lines);
  }
  if (!errors.empty()) {
    for (const FieldError& e : errors) {
      c.err << "nasctl submit: " << path << ": " << e.ToString() << "\n";
    }
    return kExitUsage;
  }
  v1::CreateExperimentRequest req;
  req.set_spec_yaml(yaml);
  v1::Experiment e;
  grpc::Status s = c.stub->CreateExperiment(c.Context().get(), req, &e);
  if (!s.ok()) return Fail(c, s);
  if (c.json) {
    PrintJson(c, e);
  } else {
    c.out << e.id() << "\n";
  }
  if (!c.flags.count("watch")) return kExitOk;
  c.positional = {std::to_string(e.id())};
  c.command = "watch";
  return RunWatch(c);
}

int List(Ctx& c) {
  int limit;
  if (!ParseLimit(c, 100, &limit)) return kExitUsage;
  v1::ListExperimentsRequest req;
  req.set_page_size(limit);
  v1::ListExperimentsResponse resp;
  grpc::Status s = c.stub->ListExperiments(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(c, s);
  if (c.json) {
    PrintJson(c, resp);
    return kExitOk;
  }
  MakePrintable(&resp);
  c.out << absl::StrFormat("%6s %-24s %-10s %11s %7s %6s  %s\n", "ID", "NAME",
                           "STATE", "DONE/BUDGET", "RUNNING", "BEST",
                           "SPACE/STRATEGY");
  for (const v1::Experiment& e : resp.experiments()) {
    const auto& n = e.counts();
    c.out << absl::StrFormat(
        "%6d %-24s %-10s %5d/%-5s %7d %6s  %s\n", e.id(), e.spec().name(),
        State(e.state()), n.trials_succeeded() + n.trials_failed(),
        e.spec().budget().max_trials() > 0
            ? absl::StrCat(e.spec().budget().max_trials())
            : "-",
        n.trials_running(),
        e.has_best()
            ? absl::StrFormat("%.4f", e.best().metrics().val_accuracy())
            : "-",
        e.spec().search_space().name() + "/" + e.spec().strategy().name());
  }
  return kExitOk;
}

// The newest candidate of experiment `id` in `state` with a reason, for
// show's "last failed" and "last rejected" rows; nullopt when there is none
// or it cannot be listed (show's other rows do not depend on it).
std::optional<v1::Candidate> Newest(Ctx& c, int64_t id,
                                    v1::CandidateState state) {
  v1::ListCandidatesRequest req;
  req.set_experiment_id(id);
  req.set_state(state);
  req.set_order_by("-seq");
  req.set_page_size(1);
  v1::ListCandidatesResponse resp;
  if (!c.stub->ListCandidates(c.Context().get(), req, &resp).ok() ||
      resp.candidates().empty()) {
    return std::nullopt;
  }
  v1::Candidate k = resp.candidates(0);
  MakePrintable(&k);
  return k;
}

int Show(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return kExitUsage;
  v1::GetExperimentRequest req;
  req.set_id(id);
  v1::Experiment e;
  grpc::Status s = c.stub->GetExperiment(c.Context().get(), req, &e);
  if (!s.ok()) return Fail(c, s);
  if (c.json) {
    PrintJson(c, e);
    return kExitOk;
  }
  MakePrintable(&e);
  const auto& n = e.counts();
  const v1::ExperimentSpec& spec = e.spec();
  auto row = [&](absl::string_view key, const std::string& value) {
    c.out << absl::StrFormat("%-12s %s\n", key, value);
  };
  row("experiment", absl::StrCat(e.id(), " ", spec.name()));
  row("state", State(e.state()) +
                   (e.phase().empty() ? "" : " (phase " + e.phase() + ")"));
  row("created", absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                                  ToTime(e.created_at()), absl::UTCTimeZone()));
  if (e.has_finished_at()) {
    row("finished",
        absl::StrCat(
            absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", ToTime(e.finished_at()),
                             absl::UTCTimeZone()),
            " (",
            Duration(absl::ToDoubleSeconds(ToTime(e.finished_at()) -
                                           ToTime(e.created_at()))),
            ")"));
  }
  row("search",
      absl::StrCat(spec.search_space().name(), " / ", spec.strategy().name(),
                   " (seed ", spec.strategy().seed(), ") / ",
                   v1::EvaluationMode_Name(spec.evaluation().mode())));
  if (n.searches() > 0) {
    const v1::DartsOptions& d = spec.strategy().darts();
    row("searches",
        absl::StrCat(n.searches_done(), " of ", n.searches(), " ended (",
                     d.method(), ", ", d.epochs(),
                     " epochs each; nasctl searches ", e.id(), ")"));
  }
  if (std::string screened = ScreenedText(n); !screened.empty()) {
    // Inside its closing parenthesis, as the searches row's hint.
    screened.insert(screened.size() - 1,
                    absl::StrCat("; nasctl proxies ", e.id()));
    row("screened", screened);
  }
  std::string budget = spec.budget().max_trials() > 0
                           ? absl::StrCat(spec.budget().max_trials(), " trials")
                           : "no trial limit";
  if (spec.budget().max_simulated_seconds() > 0) {
    absl::StrAppend(&budget, ", ", spec.budget().max_simulated_seconds(),
                    " simulated s (", e.simulated_seconds(), " spent)");
  }
  row("budget", absl::StrCat(budget, ", ", spec.budget().parallel_trials(),
                             " in parallel"));
  row("trials", absl::StrCat(n.trials_succeeded(), " succeeded, ",
                             n.trials_failed(), " failed, ", n.trials_running(),
                             " running, ", n.trials_queued(), " queued"));
  row("candidates", absl::StrCat(n.candidates(), " (", n.rejected(),
                                 " rejected, ", n.duplicates(), " duplicate)"));
  // Why the newest failed trial failed and why the newest rejected
  // candidate was rejected: the reason, cut to the terminal's width.
  const struct {
    const char* key;
    v1::CandidateState state;
    int count;
  } reasons[] = {{"last failed", v1::CANDIDATE_FAILED, n.trials_failed()},
                 {"last reject", v1::CANDIDATE_REJECTED, n.rejected()}};
  for (const auto& r : reasons) {
    if (r.count <= 0) continue;
    std::optional<v1::Candidate> k = Newest(c, id, r.state);
    if (!k.has_value() || k->reason().empty()) continue;
    row(r.key, FitWidth(absl::StrCat("candidate ", k->id(), ": ", k->reason()),
                        c.width - 14));
  }
  if (n.final_trainings() > 0) {
    row("final", absl::StrCat(n.final_trainings_done(), "/",
                              n.final_trainings(), " re-trainings done"));
  }
  if (e.has_best()) {
    const v1::Candidate& b = e.best();
    row("best", absl::StrFormat(
                    "candidate %d: val_acc %.4f, test_acc %.4f, %s MACs, %s "
                    "params, %.3f ms",
                    b.id(), b.metrics().val_accuracy(),
                    b.metrics().test_accuracy(), HumanCount(ShownMacs(b)),
                    HumanCount(ShownParams(b)), b.metrics().latency_ms()));
    const v1::EvaluationMetrics& m = b.metrics();
    const v1::ObjectiveSpec& ob = e.spec().objective();
    if (ObjectiveMetricName(ob) != "val_accuracy") {
      row("", absl::StrFormat("objective %s %.4f", ObjectiveMetricName(ob),
                              ObjectiveMetricValue(ob, m)));
    }
    if (!m.named_metrics().empty()) {
      row("", "named metrics: " + NamedMetricsText(m));
    }
    if (m.val_class_recall_size() > 0) {
      row("", absl::StrFormat("val balanced_acc %.4f, macro_f1 %.4f; test "
                              "balanced_acc %.4f, macro_f1 %.4f",
                              m.val_balanced_accuracy(), m.val_macro_f1(),
                              m.test_balanced_accuracy(), m.test_macro_f1()));
      row("", absl::StrCat("val recall per class: ",
                           absl::StrJoin(m.val_class_recall(), " ",
                                         [](std::string* out, double v) {
                                           absl::StrAppend(
                                               out, absl::StrFormat("%.3f", v));
                                         })));
    }
    row("", b.genotype().canonical());
  }
  if (!e.waiting().empty()) row("waiting", e.waiting());
  if (!e.error().empty()) row("error", e.error());
  return kExitOk;
}

bool Ended(v1::ExperimentState s) {
  return s == v1::EXPERIMENT_SUCCEEDED || s == v1::EXPERIMENT_STOPPED ||
         s == v1::EXPERIMENT_FAILED;
}

// Stopping an experiment that already ended is not an error (docker stop):
// the controller returns it unchanged (a controller from before issue 23
// answers FAILED_PRECONDITION, taken the same way when it had ended).
int Stop(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return kExitUsage;
  v1::GetExperimentRequest get;
  get.set_id(id);
  v1::Experiment before;
  grpc::Status s = c.stub->GetExperiment(c.Context().get(), get, &before);
  if (!s.ok()) return Fail(c, s);
  v1::StopExperimentRequest req;
  req.set_id(id);
  v1::Experiment e;
  s = c.stub->StopExperiment(c.Context().get(), req, &e);
  const bool already = Ended(before.state());
  if (!s.ok()) {
    if (!already || s.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
      return Fail(c, s);
    }
    e = before;
  }
  if (c.json) {
    PrintJson(c, e);
  } else if (already) {
    c.out << "experiment " << id << " already " << State(e.state()) << "\n";
  } else {
    c.out << "experiment " << id << " " << State(e.state()) << "\n";
  }
  return kExitOk;
}

// extend and resume: ExtendExperiment with the budget flags given (none:
// resume).
int Extend(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return kExitUsage;
  v1::ExtendExperimentRequest req;
  req.set_id(id);
  if (c.command == "extend") {
    if (!c.flags.count("max-trials") &&
        !c.flags.count("max-simulated-seconds")) {
      return Usage(c,
                   "expected --max-trials N or --max-simulated-seconds S (to "
                   "run a STOPPED experiment on with its budget: nasctl "
                   "resume ID)");
    }
    if (c.flags.count("max-trials")) {
      int n;
      if (!absl::SimpleAtoi(c.flags["max-trials"], &n) || n < 1) {
        return Usage(c, "--max-trials: expected a positive integer, got '" +
                            c.flags["max-trials"] + "'");
      }
      req.set_max_trials(n);
    }
    if (c.flags.count("max-simulated-seconds")) {
      double v;
      if (!absl::SimpleAtod(c.flags["max-simulated-seconds"], &v) || !(v > 0) ||
          v > 1e15) {
        return Usage(c,
                     "--max-simulated-seconds: expected a number > 0, got '" +
                         c.flags["max-simulated-seconds"] + "'");
      }
      req.set_max_simulated_seconds(v);
    }
  }
  v1::Experiment e;
  grpc::Status s = c.stub->ExtendExperiment(c.Context().get(), req, &e);
  if (!s.ok()) return Fail(c, s);
  if (c.json) {
    PrintJson(c, e);
    return kExitOk;
  }
  MakePrintable(&e);
  const v1::BudgetSpec& b = e.spec().budget();
  std::string budget = b.max_trials() > 0
                           ? absl::StrCat(b.max_trials(), " trials")
                           : "no trial limit";
  if (b.max_simulated_seconds() > 0) {
    absl::StrAppend(&budget, ", ", b.max_simulated_seconds(), " simulated s");
  }
  const auto& n = e.counts();
  c.out << "experiment " << id << " " << State(e.state()) << " (budget "
        << budget << "; " << n.trials_succeeded() + n.trials_failed()
        << " trials done; nasctl watch " << id << ")\n";
  return kExitOk;
}

}  // namespace

Command SubmitCommand() {
  Command c;
  c.name = "submit";
  c.args = "SPEC.yaml";
  c.summary = "validate a spec locally, create the experiment, print its id";
  c.details =
      "Every mistake in the spec is listed with its field path and "
      "line (exit 2)\nbefore anything is sent.";
  c.flags = {{"watch", 'w', "", "", "then follow it as nasctl watch does"}};
  c.examples = {
      "nasctl submit examples/fashion_mnist_evolution.yaml "
      "--watch"};
  c.min_args = 1;
  c.max_args = 1;
  c.run = Submit;
  return c;
}

Command ListCommand() {
  Command c;
  c.name = "list";
  c.summary = "experiments, newest first";
  c.flags = {{"limit", 0, "N", "100", "show at most N experiments"}};
  c.examples = {"nasctl list", "nasctl list -o json"};
  c.run = List;
  return c;
}

Command ShowCommand() {
  Command c;
  c.name = "show";
  c.args = "ID";
  c.summary = "one experiment: state, budget, counts, best candidate";
  c.details =
      "With a COMMAND trainer's named metrics, and the reason of the "
      "newest failed\ntrial and rejected candidate.";
  c.examples = {"nasctl show 7", "nasctl show 7 -o json"};
  c.min_args = 1;
  c.max_args = 1;
  c.run = Show;
  return c;
}

Command StopCommand() {
  Command c;
  c.name = "stop";
  c.args = "ID";
  c.summary =
      "stop an experiment (running trials are told to stop, "
      "queued ones cancelled)";
  c.details =
      "An experiment that already ended is left as it is: nasctl "
      "says so and exits 0.\nnasctl resume ID runs a stopped one "
      "on.";
  c.examples = {"nasctl stop 7"};
  c.min_args = 1;
  c.max_args = 1;
  c.run = Stop;
  return c;
}

Command ExtendCommand() {
  Command c;
  c.name = "extend";
  c.args = "ID";
  c.summary =
      "raise an experiment's budget; one that ended SUCCEEDED or "
      "STOPPED runs again";
  c.details =
      "The strategy continues from its state, replayed from the "
      "stored results\n(Katib's edit of maxTrialCount). A new "
      "budget must be above what was already\nspent. A FAILED "
      "experiment cannot be extended.";
  c.flags = {{"max-trials", 0, "N", "unchanged", "the new budget.max_trials"},
             {"max-simulated-seconds", 0, "S", "unchanged",
              "the new budget.max_simulated_seconds"}};
  c.examples = {"nasctl extend 7 --max-trials 200"};
  c.min_args = 1;
  c.max_args = 1;
  c.run = Extend;
  return c;
}

Command ResumeCommand() {
  Command c;
  c.name = "resume";
  c.args = "ID";
  c.summary = "run a STOPPED experiment on, with the budget it has";
  c.details =
      "The strategy continues from its state, replayed from the "
      "stored results.\nA SUCCEEDED experiment has spent its "
      "budget: nasctl extend.";
  c.examples = {"nasctl resume 7"};
  c.min_args = 1;
  c.max_args = 1;
  c.run = Extend;
  return c;
}

}  // namespace nas
