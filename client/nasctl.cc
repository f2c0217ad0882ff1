#include "client/nasctl.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/candidate_table.h"
#include "client/connection.h"
#include "client/curve.h"
#include "client/learning_curves.h"
#include "client/metrics_format.h"
#include "client/pareto_plot.h"
#include "client/proxies.h"
#include "client/searches.h"
#include "client/svg_plot.h"
#include "client/terminal_text.h"
#include "common/objective.h"
#include "common/spec/spec.h"
#include "common/text.h"
#include "google/protobuf/util/json_util.h"
#include "nas/v1/experiment.grpc.pb.h"

namespace nas {
namespace {

constexpr char kUsage[] =
    R"(usage: nasctl [GLOBAL FLAGS] COMMAND [ARGS] [FLAGS]

commands:
  submit SPEC.yaml [--watch]   validate locally (every error with its field
                               path and line), create the experiment, print
                               its id; --watch then follows it
  list                         experiments, newest first
  show ID                      one experiment: state, counts, best candidate
                               (with a COMMAND trainer's named metrics)
  watch ID                     live progress bar until the experiment ends:
                               trials done/budget, running, best val_acc (or
                               objective.metric),
                               Pareto-front size, elapsed and remaining time;
                               reconnects if the controller restarts
  candidates ID [--state S] [--order-by F] [--limit N] [--page-token T] [--all]
                [--min-val-accuracy A] [--max-macs M] [--max-params P]
                [--max-latency-ms L]
                               candidates with their metrics (and a column
                               for objective.metric when it is not
                               val_accuracy, one per zero-cost proxy scored;
                               screening rows marked "screen gN"); S: QUEUED,
                               RUNNING, EVALUATED, FAILED, REJECTED, DUPLICATE,
                               CANCELLED; F: seq, val_accuracy,
                               val_balanced_accuracy, val_macro_f1, objective
                               (the spec's objective.metric), macs, params,
                               latency_ms, prefix - for descending; pages of
                               N (default 100), --all for every page; the
                               --min/--max filters keep candidates within
                               those bounds (M and P accept 5e6)
  pareto ID [--minimize macs,params,latency_ms] [--svg FILE]
                               the non-dominated candidates; --svg also draws
                               them over all evaluated candidates
  curve ID [--svg FILE]        best validation accuracy so far against trials
                               and against time since the experiment started
  curves ID [--svg FILE]       per-trial learning curves: validation
                               accuracy by epoch, and the epoch where early
                               stopping cut a trial (and why); --svg draws
                               one line per trial, an X where it was cut
  searches ID [--svg FILE]     strategy darts: each search's seed, state,
                               derived cell, its share of parameter-free
                               operations (a WARNING when they dominate:
                               collapse) and the cell's standalone accuracy;
                               --svg draws the architecture weights over
                               epochs, one small panel per edge
  proxies ID [--metric NAME] [--svg FILE]
                               zero-cost proxy scores (mode ZERO_COST, or
                               proxy-guided evolution's screening) paired by
                               genotype with trained accuracies: a table, and
                               per proxy Spearman's rho and Kendall's tau-b
                               against val and test accuracy; --svg draws
                               NAME (synflow, jacob_cov, snip, grad_norm;
                               default: the proxy the search ranks by)
                               against validation accuracy
  export ID CANDIDATE -o FILE  write the candidate's trained TorchScript model
                               (its final re-training's when there is one);
                               load it with torch.jit.load(FILE)
  stop ID                      stop an experiment (running trials are told to
                               stop, queued ones cancelled)
  help                         this text

global flags (each also from an environment variable):
  --controller HOST:PORT   NAS_CONTROLLER       default 127.0.0.1:50051; or a
                                                list A,B,...: the first that
                                                accepts a connection (an
                                                active controller, not a
                                                standby); watch moves on
  --output table|json      (none)               json: the API's messages as
                                                JSON (watch: one per line)
  --tls                    NAS_TLS=1            TLS with the system's CAs
  --tls-ca FILE            NAS_TLS_CA           TLS, server verified with FILE
  --tls-server-name NAME   NAS_TLS_SERVER_NAME  name expected in the cert
  --token TOKEN            NAS_TOKEN            sent as authorization: Bearer
  --token-file FILE        NAS_TOKEN_FILE       token read from FILE

exit codes: 0 ok; 1 refused by the controller (or the watched experiment
FAILED); 2 bad usage or spec; 3 controller unreachable; 4 not authenticated
or not allowed
)";

// Flags each command accepts, beyond the global ones.
const std::map<std::string, std::set<std::string>>& CommandFlags() {
  static const auto* flags = new std::map<std::string, std::set<std::string>>{
      {"submit", {"watch"}},
      {"list", {"limit"}},
      {"show", {}},
      {"watch", {}},
      {"candidates",
       {"state", "order-by", "limit", "page-token", "all", "min-val-accuracy",
        "max-macs", "max-params", "max-latency-ms"}},
      {"pareto", {"minimize", "svg"}},
      {"curve", {"svg"}},
      {"curves", {"svg"}},
      {"searches", {"svg"}},
      {"proxies", {"metric", "svg"}},
      {"export", {"out"}},
      {"stop", {}},
  };
  return *flags;
}

// Command flags that take no value.
bool IsBooleanFlag(const std::string& key) {
  return key == "watch" || key == "all";
}

struct Ctx {
  std::ostream& out;
  std::ostream& err;
  std::string command;
  Connection conn;
  std::unique_ptr<v1::ExperimentService::Stub> stub;
  bool json = false;
  std::map<std::string, std::string> flags;  // command flags
  std::vector<std::string> positional;

  std::unique_ptr<grpc::ClientContext> Context(int seconds = 30) const {
    return conn.NewContext(seconds);
  }
};

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    default:
      return absl::StrCat("code ", static_cast<int>(code));
  }
}

int Fail(Ctx& c, const grpc::Status& s) {
  c.err << "nasctl " << c.command << ": " << Printable(s.error_message())
        << " (" << CodeName(s.error_code()) << ")\n";
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 3;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return 4;
    default:
      return 1;
  }
}

int Usage(Ctx& c, const std::string& message) {
  c.err << "nasctl " << c.command << ": " << message << "\n";
  return 2;
}

void PrintJson(Ctx& c, const google::protobuf::Message& m,
               bool one_line = false) {
  std::string s;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = !one_line;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &s, o);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  c.out << s << "\n";
}

bool ParseId(Ctx& c, int64_t* id) {
  if (c.positional.empty() || !absl::SimpleAtoi(c.positional[0], id) ||
      *id <= 0) {
    Usage(c, "expected an experiment ID (a positive integer)");
    return false;
  }
  return true;
}

std::string State(v1::ExperimentState s) {
  std::string n = v1::ExperimentState_Name(s);
  return n.substr(n.find('_') + 1);
}

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// "42s", "3m05s", "2h07m".
std::string Duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

int Submit(Ctx& c) {
  if (c.positional.size() != 1) return Usage(c, "expected SPEC.yaml");
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
    return 2;
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
    return 2;
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
  c.positional = {std::to_string(e.id())};  // for --watch
  return 0;
}

// The progress line of one watch event.
std::string ProgressLine(const v1::Experiment& e, int front_size) {
  const auto& n = e.counts();
  const int total = e.spec().budget().max_trials();
  const int done = n.trials_succeeded() + n.trials_failed();
  const double sim_budget = e.spec().budget().max_simulated_seconds();
  double fraction = total > 0 ? static_cast<double>(done) / total : 0;
  std::string progress = absl::StrFormat("%d/%d done", done, total);
  if (sim_budget > 0) {  // a simulated-seconds budget: show its progress
    fraction = std::max(fraction, e.simulated_seconds() / sim_budget);
    progress = absl::StrFormat("%d done, %.0f/%.0f simulated s", done,
                               e.simulated_seconds(), sim_budget);
  }
  const bool running = e.state() == v1::EXPERIMENT_RUNNING;
  if (!running && e.state() == v1::EXPERIMENT_SUCCEEDED) fraction = 1;
  fraction = std::clamp(fraction, 0.0, 1.0);
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * fraction);
  const absl::Time end =
      !running && e.has_finished_at() ? ToTime(e.finished_at()) : absl::Now();
  const double elapsed =
      std::max(0.0, absl::ToDoubleSeconds(end - ToTime(e.created_at())));
  std::string left = "-";
  if (!running) {
    left = "0s";
  } else if (fraction > 0 && fraction < 1) {
    left = "~" + Duration(elapsed * (1 - fraction) / fraction);
  }
  std::string line = absl::StrFormat(
      "[%s%s] %s, %d running, %d queued, best %s %s, front %s, %s "
      "elapsed, %s left, %s",
      std::string(filled, '#'), std::string(kWidth - filled, '.'), progress,
      n.trials_running(), n.trials_queued(),
      ObjectiveMetricName(e.spec().objective()) == "val_accuracy"
          ? "val_acc"
          : ObjectiveMetricName(e.spec().objective()),
      e.has_best()
          ? absl::StrFormat("%.4f", ObjectiveMetricValue(e.spec().objective(),
                                                         e.best().metrics()))
          : "-",
      front_size < 0 ? "-" : absl::StrCat(front_size), Duration(elapsed), left,
      State(e.state()));
  if (n.final_trainings() > 0) {
    absl::StrAppend(&line, ", final re-training ", n.final_trainings_done(),
                    "/", n.final_trainings(), " done");
  }
  if (!e.waiting().empty()) absl::StrAppend(&line, " [", e.waiting(), "]");
  if (!e.error().empty()) absl::StrAppend(&line, " error: ", e.error());
  return line;
}

// Follows the experiment until it ends. A stream that breaks after it was
// established (the controller restarted, or a standby took over) is opened
// again, for up to kReconnectFor; an unreachable controller at the start
// fails at once (exit 3).
int Watch(Ctx& c) {
  constexpr absl::Duration kReconnectFor = absl::Seconds(60);
  int64_t id;
  if (!ParseId(c, &id)) return 2;
  const bool tty = isatty(fileno(stdout)) && &c.out == &std::cout && !c.json;
  auto show = [&](const std::string& line) {
    if (tty) {
      c.out << "\r" << line << "\033[K" << std::flush;
    } else {
      c.out << line << "\n" << std::flush;
    }
  };
  v1::WatchExperimentRequest req;
  req.set_id(id);
  v1::ExperimentEvent ev;
  v1::Experiment last;
  bool connected = false;  // a stream delivered at least one event
  absl::Time broken_since = absl::InfiniteFuture();  // of this outage
  int front_size = -1, front_at = -1;  // front size, and at how many results
  while (true) {
    std::unique_ptr<grpc::ClientContext> ctx = c.Context(0);  // no deadline
    std::unique_ptr<grpc::ClientReader<v1::ExperimentEvent>> reader =
        c.stub->WatchExperiment(ctx.get(), req);
    while (reader->Read(&ev)) {
      connected = true;
      broken_since = absl::InfiniteFuture();
      last = ev.experiment();
      if (c.json) {
        PrintJson(c, ev, /*one_line=*/true);
        c.out << std::flush;
        continue;
      }
      MakePrintable(&last);
      if (last.counts().trials_succeeded() != front_at) {
        v1::GetParetoFrontRequest preq;
        preq.set_experiment_id(id);
        v1::GetParetoFrontResponse front;
        if (c.stub->GetParetoFront(c.Context(10).get(), preq, &front).ok()) {
          front_size = front.front_size();
          front_at = last.counts().trials_succeeded();
        }
      }
      show(ProgressLine(last, front_size));
    }
    grpc::Status s = reader->Finish();
    if (s.ok()) break;
    const bool transient = s.error_code() == grpc::StatusCode::UNAVAILABLE;
    if (!connected || !transient) {
      if (tty) c.out << "\n";
      return Fail(c, s);
    }
    const absl::Time now = absl::Now();
    if (broken_since == absl::InfiniteFuture()) broken_since = now;
    if (now - broken_since > kReconnectFor) {
      if (tty) c.out << "\n";
      return Fail(c, s);
    }
    if (!c.json) {
      show(absl::StrCat("[reconnecting to the controller: ",
                        Printable(s.error_message().substr(0, 120)), "]"));
    }
    absl::SleepFor(absl::Seconds(1));
    // A fresh channel, to the next address when there are several (a
    // standby taking over).
    c.conn.Next();
    c.stub = v1::ExperimentService::NewStub(c.conn.channel);
  }
  if (tty) c.out << "\n";
  return last.state() == v1::EXPERIMENT_FAILED ? 1 : 0;
}

bool ParseLimit(Ctx& c, int fallback, int* limit) {
  *limit = fallback;
  if (c.flags.count("limit") &&
      (!absl::SimpleAtoi(c.flags["limit"], limit) || *limit < 1)) {
    Usage(c, "--limit: expected a positive integer, got '" + c.flags["limit"] +
                 "'");
    return false;
  }
  return true;
}

int List(Ctx& c) {
  int limit;
  if (!ParseLimit(c, 100, &limit)) return 2;
  v1::ListExperimentsRequest req;
  req.set_page_size(limit);
  v1::ListExperimentsResponse resp;
  grpc::Status s = c.stub->ListExperiments(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(c, s);
  if (c.json) {
    PrintJson(c, resp);
    return 0;
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
  return 0;
}

int Show(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return 2;
  v1::GetExperimentRequest req;
  req.set_id(id);
  v1::Experiment e;
  grpc::Status s = c.stub->GetExperiment(c.Context().get(), req, &e);
  if (!s.ok()) return Fail(c, s);
  if (c.json) {
    PrintJson(c, e);
    return 0;
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
  return 0;
}

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

int Candidates(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return 2;
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
  if (!ParseLimit(c, 100, &limit)) return 2;
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
    return 0;
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
  c.out << CandidateTable(resp.candidates(), table);
  c.out << resp.candidates_size() << " of " << resp.total() << " candidates";
  if (!resp.next_page_token().empty()) {
    c.out << "; next page: --page-token " << resp.next_page_token();
  }
  c.out << "\n";
  return 0;
}

int WriteFile(Ctx& c, const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
  f.close();
  if (!f) return Usage(c, "cannot write " + path);
  c.err << "wrote " << path << "\n";
  return 0;
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
  if (!ParseId(c, &id)) return 2;
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
    return 0;
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
  return 0;
}

int Searches(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return 2;
  v1::ListSearchEpochsRequest req;
  req.set_experiment_id(id);
  v1::ListSearchEpochsResponse resp;
  grpc::Status s = c.stub->ListSearchEpochs(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(c, s);
  if (c.json) {
    PrintJson(c, resp);
  } else {
    v1::GetExperimentRequest ereq;
    ereq.set_id(id);
    v1::Experiment e;
    s = c.stub->GetExperiment(c.Context().get(), ereq, &e);
    if (!s.ok()) return Fail(c, s);
    std::vector<v1::Candidate> all;
    s = ListAll(c, id, v1::CANDIDATE_STATE_UNSPECIFIED, &all);
    if (!s.ok()) return Fail(c, s);
    for (v1::Candidate& k : all) MakePrintable(&k);
    v1::ListSearchEpochsResponse shown = resp;
    MakePrintable(&shown);
    c.out << SearchTable(all, shown, e.spec().strategy().darts().epochs());
  }
  if (!c.flags.count("svg")) return 0;
  return WriteFile(c, c.flags["svg"], RenderSearchWeightsSvg(resp));
}

int Proxies(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return 2;
  const std::string metric = c.flags.count("metric") ? c.flags["metric"] : "";
  if (!metric.empty() && !IsZeroCostProxy(metric)) {
    return Usage(c,
                 "--metric: expected synflow, jacob_cov, snip or "
                 "grad_norm, got '" +
                     metric + "'");
  }
  v1::Experiment e;
  std::vector<v1::Candidate> all;
  if (grpc::Status s = GetEvaluated(c, id, &e, &all); !s.ok()) {
    return Fail(c, s);
  }
  MakePrintable(&e);
  for (v1::Candidate& k : all) MakePrintable(&k);
  const std::vector<ProxyPoint> points = PairProxiesWithAccuracy(
      all, e.spec().evaluation().mode() == v1::ZERO_COST);
  const std::string ranked = RankedProxy(e.spec());
  if (c.json) {
    c.out << ProxiesJson(id, points);
  } else {
    c.out << ProxyTable(points, ranked);
  }
  if (!c.flags.count("svg")) return 0;
  if (points.empty()) {
    c.err << "nasctl proxies: nothing to draw; " << c.flags["svg"]
          << " not written\n";
    return 0;
  }
  const std::string proxy = !metric.empty()   ? metric
                            : !ranked.empty() ? ranked
                                              : "synflow";
  return WriteFile(c, c.flags["svg"], RenderProxySvg(points, proxy, id));
}

int Curve(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return 2;
  v1::Experiment e;
  std::vector<v1::Candidate> all;
  if (grpc::Status s = GetEvaluated(c, id, &e, &all); !s.ok()) {
    return Fail(c, s);
  }
  const std::vector<CurvePoint> curve = BestSoFarCurve(e, all);
  const bool simulated = !curve.empty() && curve.back().simulated_seconds > 0;
  if (c.flags.count("svg")) {
    // Panels: by trial, by wall-clock time, and by simulated seconds when
    // the evaluations report them (TABULAR mode).
    std::vector<ScatterPlot> panels(simulated ? 3 : 2);
    panels[0].title =
        absl::StrCat("Experiment ", id, ": best validation accuracy by trial (",
                     curve.size(), " trials)");
    panels[0].x_label = "trials evaluated";
    panels[1].title =
        absl::StrCat("Experiment ", id, ": best validation accuracy over time");
    panels[1].x_label = "seconds since the experiment started";
    if (simulated) {
      panels[2].title = absl::StrCat(
          "Experiment ", id, ": best validation accuracy over simulated time");
      panels[2].x_label = "simulated seconds (cumulative)";
    }
    for (const CurvePoint& p : curve) {
      const std::string label =
          absl::StrFormat("trial %d: candidate %d, val_acc %.4f", p.trial,
                          p.candidate_id, p.val_accuracy);
      const double xs[] = {static_cast<double>(p.trial), p.seconds,
                           p.simulated_seconds};
      for (size_t i = 0; i < panels.size(); ++i) {
        panels[i].points.push_back({xs[i], p.val_accuracy, label});
        if (p.improved) {
          panels[i].highlight.push_back({xs[i], p.best_val_accuracy, label});
        }
        panels[i].step_line_to_x = xs[i];  // the best line reaches the end
      }
    }
    for (ScatterPlot& panel : panels) {
      panel.y_label = "validation accuracy";
      panel.points_name = "trial's validation accuracy";
      panel.highlight_name = "best so far";
      panel.x_axis.non_negative = true;  // trials and seconds
      panel.y_axis.non_negative = true;
    }
    panels[0].x_axis.integer = true;
    int rc = WriteFile(c, c.flags["svg"], RenderPanelsSvg(panels));
    if (rc != 0) return rc;
  }
  if (c.json) {
    // {"experiment_id": 3, "points": [{"trial": 1, ...}, ...]}
    c.out << "{\"experiment_id\": " << id << ", \"points\": [";
    for (size_t i = 0; i < curve.size(); ++i) {
      const CurvePoint& p = curve[i];
      c.out << (i ? ",\n  " : "\n  ")
            << absl::StrFormat(
                   "{\"trial\": %d, \"candidate_id\": %d, \"seconds\": %.3f, "
                   "\"simulated_seconds\": %.17g, \"val_accuracy\": %.17g, "
                   "\"best_val_accuracy\": %.17g, \"improved\": %s}",
                   p.trial, p.candidate_id, p.seconds, p.simulated_seconds,
                   p.val_accuracy, p.best_val_accuracy,
                   p.improved ? "true" : "false");
    }
    c.out << "\n]}\n";
    return 0;
  }
  c.out << absl::StrFormat("%6s %9s %9s %s%8s %8s\n", "TRIAL", "CANDIDATE",
                           "SECONDS", simulated ? "    SIM_S " : "", "VAL_ACC",
                           "BEST");
  for (const CurvePoint& p : curve) {
    c.out << absl::StrFormat(
        "%6d %9d %9.1f %s%8.4f %8.4f%s\n", p.trial, p.candidate_id, p.seconds,
        simulated ? absl::StrFormat("%9.0f ", p.simulated_seconds) : "",
        p.val_accuracy, p.best_val_accuracy, p.improved ? " *" : "");
  }
  return 0;
}

// Every page of ListLearningCurves, as one response.
int Curves(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return 2;
  v1::ListLearningCurvesRequest req;
  req.set_experiment_id(id);
  req.set_page_size(1000);
  v1::ListLearningCurvesResponse all;
  while (true) {
    v1::ListLearningCurvesResponse page;
    grpc::Status s = c.stub->ListLearningCurves(c.Context().get(), req, &page);
    if (!s.ok()) return Fail(c, s);
    if (req.page_token().empty()) all.set_epochs(page.epochs());
    for (v1::LearningCurve& k : *page.mutable_curves()) {
      *all.add_curves() = std::move(k);
    }
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
  }
  // Stored text (reasons) escaped for the terminal and the SVG alike.
  v1::ListLearningCurvesResponse shown = all;
  MakePrintable(&shown);
  const bool any = std::any_of(
      all.curves().begin(), all.curves().end(),
      [](const v1::LearningCurve& k) { return !k.points().empty(); });
  if (c.flags.count("svg") && !any) {
    c.err << "nasctl curves: nothing to draw; " << c.flags["svg"]
          << " not written\n";
  } else if (c.flags.count("svg")) {
    int rc = WriteFile(c, c.flags["svg"], RenderLearningCurvesSvg(id, shown));
    if (rc != 0) return rc;
  }
  if (c.json) {
    PrintJson(c, all);
    return 0;
  }
  c.out << LearningCurvesTable(shown);
  return 0;
}

int Export(Ctx& c) {
  int64_t id;
  int64_t candidate = 0;
  if (!ParseId(c, &id)) return 2;
  if (c.positional.size() != 2 ||
      !absl::SimpleAtoi(c.positional[1], &candidate) || candidate <= 0) {
    return Usage(c,
                 "expected a CANDIDATE id (a positive integer) after the "
                 "experiment ID");
  }
  if (c.flags["out"].empty()) return Usage(c, "expected -o FILE");
  v1::ExportCandidateRequest req;
  req.set_experiment_id(id);
  req.set_candidate_id(candidate);
  v1::ExportCandidateResponse resp;
  grpc::Status s = c.stub->ExportCandidate(c.Context(120).get(), req, &resp);
  if (!s.ok()) return Fail(c, s);
  const std::string& path = c.flags["out"];
  int rc = WriteFile(c, path, resp.torchscript());
  if (rc != 0) return rc;
  if (c.json) {
    resp.clear_torchscript();  // written to the file, not to stdout
    PrintJson(c, resp);
    return 0;
  }
  MakePrintable(&resp);  // torchscript is bytes: kept
  c.out << absl::StrFormat(
      "wrote %s (%d bytes; %s training, test_acc %.4f, %d epochs)\n", path,
      resp.torchscript().size(), resp.source(), resp.metrics().test_accuracy(),
      resp.metrics().epochs());
  return 0;
}

int Stop(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return 2;
  v1::StopExperimentRequest req;
  req.set_id(id);
  v1::Experiment e;
  grpc::Status s = c.stub->StopExperiment(c.Context().get(), req, &e);
  if (!s.ok()) return Fail(c, s);
  if (c.json) {
    PrintJson(c, e);
  } else {
    c.out << "experiment " << id << " " << State(e.state()) << "\n";
  }
  return 0;
}

}  // namespace

int RunNasctl(const std::vector<std::string>& args, std::ostream& out,
              std::ostream& err) {
  ConnectionOptions conn = ConnectionOptionsFromEnv();
  std::string output = "table";
  Ctx c{out, err, ""};
  // Global flags anywhere on the line; command flags after the command.
  const std::map<std::string, std::string*> global_values = {
      {"controller", &conn.controller},
      {"output", &output},
      {"tls-ca", &conn.tls_ca_file},
      {"tls-server-name", &conn.tls_server_name},
      {"token", &conn.token},
      {"token-file", &conn.token_file}};
  std::vector<std::pair<std::string, std::string>> command_flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help" || a == "help") {
      out << kUsage;
      return 0;
    }
    if (a.rfind("-", 0) != 0 || a == "-") {
      if (c.command.empty()) {
        c.command = a;
      } else {
        c.positional.push_back(a);
      }
      continue;
    }
    std::string key =
        a == "-o" ? "out" : a.substr(a.rfind("--", 0) == 0 ? 2 : 1);
    std::string value;
    bool has_value = false;
    const size_t eq = key.find('=');
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
      has_value = true;
    }
    if (key == "tls") {
      conn.tls = !has_value || value == "true" || value == "1";
      continue;
    }
    if (IsBooleanFlag(key)) {
      command_flags.push_back({key, has_value ? value : "true"});
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        err << "nasctl: " << a << ": expected a value\n";
        return 2;
      }
      value = args[++i];
    }
    auto g = global_values.find(key);
    if (g != global_values.end()) {
      *g->second = value;
    } else {
      command_flags.push_back({key, value});
    }
  }
  if (c.command.empty()) {
    err << kUsage;
    return 2;
  }
  auto known = CommandFlags().find(c.command);
  if (known == CommandFlags().end()) {
    err << "nasctl: unknown command '" << c.command << "' (nasctl help)\n";
    return 2;
  }
  for (const auto& [key, value] : command_flags) {
    if (!known->second.count(key)) {
      return Usage(c, "unknown flag --" + key + " (nasctl help)");
    }
    c.flags[key] = value;
  }
  if (output != "table" && output != "json") {
    return Usage(c, "--output: expected table or json, got '" + output + "'");
  }
  c.json = output == "json";
  absl::StatusOr<Connection> connection = Connect(conn);
  if (!connection.ok()) {
    return Usage(c, std::string(connection.status().message()));
  }
  c.conn = *std::move(connection);
  // Several addresses: the active controller is the one that listens.
  c.conn.ConnectFirstReachable(absl::Seconds(10));
  c.stub = v1::ExperimentService::NewStub(c.conn.channel);
  if (c.command == "submit") {
    int rc = Submit(c);
    if (rc != 0 || !c.flags.count("watch")) return rc;
    c.command = "watch";
    return Watch(c);
  }
  if (c.command == "watch") return Watch(c);
  if (c.command == "list") return List(c);
  if (c.command == "show") return Show(c);
  if (c.command == "candidates") return Candidates(c);
  if (c.command == "pareto") return Pareto(c);
  if (c.command == "curve") return Curve(c);
  if (c.command == "curves") return Curves(c);
  if (c.command == "searches") return Searches(c);
  if (c.command == "proxies") return Proxies(c);
  if (c.command == "stop") return Stop(c);
  return Export(c);
}

}  // namespace nas
