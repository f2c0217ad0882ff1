#include "client/nasctl.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/svg_plot.h"
#include "common/spec.h"
#include "google/protobuf/util/json_util.h"
#include "nas/v1/experiment.grpc.pb.h"

namespace nas {
namespace {

constexpr char kUsage[] =
    R"(usage: nasctl [--controller HOST:PORT] [--output table|json] COMMAND ...

commands:
  submit SPEC.yaml [--watch]   validate locally, create the experiment, print its id
  watch ID                     follow an experiment until it ends (progress bar)
  list                         experiments, newest first
  show ID                      one experiment with its counts and best candidate
  candidates ID [--state S] [--order-by F] [--limit N]
                               candidates with their metrics (F: seq, val_accuracy,
                               macs, params, latency_ms; prefix - for descending)
  pareto ID [--minimize macs,params,latency_ms] [--svg FILE]
                               the non-dominated candidates; --svg also draws
                               them over all evaluated candidates
  stop ID                      stop an experiment
  export ID CANDIDATE -o FILE  write the candidate's trained TorchScript model
                               (its final re-training's when there is one);
                               load it with torch.jit.load(FILE)

environment: NAS_CONTROLLER (default 127.0.0.1:50051)
exit codes: 0 ok, 1 refused by the controller, 2 bad usage or spec, 3 unreachable
)";

struct Ctx {
  std::ostream& out;
  std::ostream& err;
  std::unique_ptr<v1::ExperimentService::Stub> stub;
  bool json = false;
  std::map<std::string, std::string> flags;  // command flags
  std::vector<std::string> positional;
};

int Fail(Ctx& c, const grpc::Status& s, const std::string& what) {
  c.err << "nasctl: " << what << ": " << s.error_message() << " ("
        << (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT
                ? "INVALID_ARGUMENT"
            : s.error_code() == grpc::StatusCode::NOT_FOUND ? "NOT_FOUND"
            : s.error_code() == grpc::StatusCode::FAILED_PRECONDITION
                ? "FAILED_PRECONDITION"
            : s.error_code() == grpc::StatusCode::UNAVAILABLE
                ? "UNAVAILABLE"
                : "code " + std::to_string(s.error_code()))
        << ")\n";
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ? 3 : 1;
}

void PrintJson(Ctx& c, const google::protobuf::Message& m) {
  std::string s;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &s, o);
  c.out << s;
  if (s.empty() || s.back() != '\n') c.out << "\n";
}

std::unique_ptr<grpc::ClientContext> Context(int seconds = 30) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(seconds));
  return ctx;
}

bool ParseId(Ctx& c, int64_t* id) {
  if (c.positional.empty() || !absl::SimpleAtoi(c.positional[0], id) ||
      *id <= 0) {
    c.err << "nasctl: expected an experiment ID (a positive integer)\n";
    return false;
  }
  return true;
}

std::string State(v1::ExperimentState s) {
  std::string n = v1::ExperimentState_Name(s);
  return n.substr(n.find('_') + 1);
}
std::string State(v1::CandidateState s) {
  std::string n = v1::CandidateState_Name(s);
  return n.substr(n.find('_') + 1);
}

std::string Human(int64_t v) {
  if (v >= 1000000000) return absl::StrFormat("%.2fG", v / 1e9);
  if (v >= 1000000) return absl::StrFormat("%.2fM", v / 1e6);
  if (v >= 1000) return absl::StrFormat("%.1fk", v / 1e3);
  return absl::StrCat(v);
}

void PrintCandidateTable(
    Ctx& c, const google::protobuf::RepeatedPtrField<v1::Candidate>& cs) {
  c.out << absl::StrFormat("%6s %4s %-10s %8s %8s %9s %9s %9s %10s %8s  %s\n",
                           "ID", "SEQ", "STATE", "VAL_ACC", "TEST_ACC",
                           "FINAL_ACC", "MACS", "PARAMS", "LATENCY_MS",
                           "TRAIN_S", "GENOTYPE");
  for (const v1::Candidate& k : cs) {
    const bool has = k.state() == v1::CANDIDATE_EVALUATED;
    const bool is_final = k.final_of() != 0;
    c.out << absl::StrFormat(
        "%6d %4d %-10s %8s %8s %9s %9s %9s %10s %8s  %s%s\n", k.id(), k.seq(),
        State(k.state()),
        has && !is_final ? absl::StrFormat("%.4f", k.metrics().val_accuracy())
                         : "-",
        has ? absl::StrFormat("%.4f", k.metrics().test_accuracy()) : "-",
        k.has_final() ? absl::StrFormat("%.4f", k.final().test_accuracy())
                      : "-",
        Human(k.macs()), Human(k.params()),
        has ? absl::StrFormat("%.3f", k.metrics().latency_ms()) : "-",
        has ? absl::StrFormat("%.1f", k.metrics().train_seconds()) : "-",
        is_final ? absl::StrCat("(final re-training of ", k.final_of(), ") ")
                 : "",
        k.genotype().canonical());
  }
}

void PrintExperimentLine(Ctx& c, const v1::Experiment& e) {
  const auto& n = e.counts();
  c.out << absl::StrFormat(
      "%6d %-24s %-10s %5d/%-5d %7d %6s  %s\n", e.id(), e.spec().name(),
      State(e.state()), n.trials_succeeded() + n.trials_failed(),
      e.spec().budget().max_trials(), n.trials_running(),
      e.has_best() ? absl::StrFormat("%.4f", e.best().metrics().val_accuracy())
                   : "-",
      e.spec().search_space().name() + "/" + e.spec().strategy().name());
}

int Submit(Ctx& c) {
  if (c.positional.empty()) {
    c.err << "nasctl submit: expected SPEC.yaml\n";
    return 2;
  }
  std::ifstream in(c.positional[0]);
  if (!in) {
    c.err << "nasctl submit: cannot read " << c.positional[0] << "\n";
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string yaml = ss.str();
  // Validate locally first, so every mistake is listed with its line.
  absl::StatusOr<ParsedSpec> parsed = ParseSpecYaml(yaml);
  if (!parsed.ok()) {
    c.err << "nasctl submit: " << c.positional[0] << ": "
          << parsed.status().message() << "\n";
    return 2;
  }
  ApplySpecDefaults(&parsed->spec, &parsed->lines);
  std::vector<FieldError> errors = ValidateSpec(parsed->spec, &parsed->lines);
  if (!errors.empty()) {
    for (const FieldError& e : errors) {
      c.err << "nasctl submit: " << c.positional[0] << ": " << e.ToString()
            << "\n";
    }
    return 2;
  }
  v1::CreateExperimentRequest req;
  req.set_spec_yaml(yaml);
  v1::Experiment e;
  grpc::Status s = c.stub->CreateExperiment(Context().get(), req, &e);
  if (!s.ok()) return Fail(c, s, "submit");
  if (c.json) {
    PrintJson(c, e);
  } else {
    c.out << e.id() << "\n";
  }
  c.positional = {std::to_string(e.id())};  // for --watch
  return 0;
}

int Watch(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return 2;
  const bool tty = isatty(fileno(stdout)) && &c.out == &std::cout && !c.json;
  const absl::Time start = absl::Now();
  grpc::ClientContext ctx;
  v1::WatchExperimentRequest req;
  req.set_id(id);
  std::unique_ptr<grpc::ClientReader<v1::ExperimentEvent>> reader =
      c.stub->WatchExperiment(&ctx, req);
  v1::ExperimentEvent ev;
  v1::Experiment last;
  while (reader->Read(&ev)) {
    last = ev.experiment();
    if (c.json) {
      PrintJson(c, ev);
      continue;
    }
    const auto& n = last.counts();
    const int total = last.spec().budget().max_trials();
    const int done = n.trials_succeeded() + n.trials_failed();
    const int width = 30;
    const double sim_budget = last.spec().budget().max_simulated_seconds();
    int filled = total > 0 ? width * done / total : 0;
    std::string progress = absl::StrFormat("%d/%d done", done, total);
    if (sim_budget > 0) {  // a simulated-seconds budget: show its progress
      filled = std::max(
          filled,
          std::min(width, static_cast<int>(width * last.simulated_seconds() /
                                           sim_budget)));
      progress = absl::StrFormat("%d done, %.0f/%.0f simulated s", done,
                                 last.simulated_seconds(), sim_budget);
    }
    std::string bar =
        std::string(filled, '#') + std::string(width - filled, '.');
    const double secs = absl::ToDoubleSeconds(absl::Now() - start);
    std::string line = absl::StrFormat(
        "[%s] %s, %d running, %d queued, best val_acc %s, %s, %.0fs", bar,
        progress, n.trials_running(), n.trials_queued(),
        last.has_best()
            ? absl::StrFormat("%.4f", last.best().metrics().val_accuracy())
            : "-",
        State(last.state()), secs);
    if (n.final_trainings() > 0) {
      absl::StrAppend(&line, ", final re-training ", n.final_trainings_done(),
                      "/", n.final_trainings(), " done");
    }
    if (!last.waiting().empty())
      absl::StrAppend(&line, " [", last.waiting(), "]");
    if (tty) {
      c.out << "\r" << line << "\033[K" << std::flush;
    } else {
      c.out << line << "\n" << std::flush;
    }
  }
  if (tty) c.out << "\n";
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(c, s, "watch");
  return last.state() == v1::EXPERIMENT_FAILED ? 1 : 0;
}

int List(Ctx& c) {
  v1::ListExperimentsRequest req;
  req.set_page_size(100);
  v1::ListExperimentsResponse resp;
  grpc::Status s = c.stub->ListExperiments(Context().get(), req, &resp);
  if (!s.ok()) return Fail(c, s, "list");
  if (c.json) {
    PrintJson(c, resp);
    return 0;
  }
  c.out << absl::StrFormat("%6s %-24s %-10s %11s %7s %6s  %s\n", "ID", "NAME",
                           "STATE", "DONE/BUDGET", "RUNNING", "BEST",
                           "SPACE/STRATEGY");
  for (const v1::Experiment& e : resp.experiments()) PrintExperimentLine(c, e);
  return 0;
}

int Show(Ctx& c) {
  int64_t id;
  if (!ParseId(c, &id)) return 2;
  v1::GetExperimentRequest req;
  req.set_id(id);
  v1::Experiment e;
  grpc::Status s = c.stub->GetExperiment(Context().get(), req, &e);
  if (!s.ok()) return Fail(c, s, "show");
  PrintJson(c, e);
  return 0;
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
      c.err << "nasctl candidates: --state: unknown state '" << c.flags["state"]
            << "' (QUEUED, RUNNING, EVALUATED, FAILED, REJECTED, DUPLICATE, "
               "CANCELLED)\n";
      return 2;
    }
    req.set_state(st);
  }
  int limit = 1000;
  if (c.flags.count("limit") &&
      (!absl::SimpleAtoi(c.flags["limit"], &limit) || limit < 1)) {
    c.err << "nasctl candidates: --limit: expected a positive integer\n";
    return 2;
  }
  req.set_page_size(limit);
  v1::ListCandidatesResponse resp;
  grpc::Status s = c.stub->ListCandidates(Context().get(), req, &resp);
  if (!s.ok()) return Fail(c, s, "candidates");
  if (c.json) {
    PrintJson(c, resp);
    return 0;
  }
  PrintCandidateTable(c, resp.candidates());
  c.out << resp.candidates_size() << " of " << resp.total() << " candidates\n";
  return 0;
}

double Objective(const v1::Candidate& k, const std::string& name) {
  if (name == "params") return static_cast<double>(k.metrics().params());
  if (name == "latency_ms") return k.metrics().latency_ms();
  return static_cast<double>(k.metrics().macs());
}

// Draws every evaluated candidate (grey) and the front (red) against the
// first minimized objective.
int WriteParetoSvg(Ctx& c, int64_t id,
                   const v1::GetParetoFrontResponse& front) {
  v1::ListCandidatesRequest req;
  req.set_experiment_id(id);
  req.set_state(v1::CANDIDATE_EVALUATED);
  req.set_page_size(10000);
  v1::ListCandidatesResponse all;
  grpc::Status s = c.stub->ListCandidates(Context().get(), req, &all);
  if (!s.ok()) return Fail(c, s, "pareto --svg");
  const std::string x =
      front.objectives_size() > 1 ? front.objectives(1) : "macs";
  ScatterPlot plot;
  plot.title =
      absl::StrCat("Experiment ", id, ": Pareto front (", front.front_size(),
                   " of ", all.candidates_size(), " evaluated candidates)");
  plot.x_label = x == "latency_ms" ? "latency (ms, batch 1)" : x;
  plot.y_label = "validation accuracy";
  auto point = [&](const v1::Candidate& k) {
    return PlotPoint{
        Objective(k, x), k.metrics().val_accuracy(),
        absl::StrCat("candidate ", k.id(), " ", k.genotype().canonical())};
  };
  for (const v1::Candidate& k : all.candidates())
    plot.points.push_back(point(k));
  for (const v1::Candidate& k : front.front())
    plot.highlight.push_back(point(k));
  std::ofstream f(c.flags["svg"]);
  f << RenderScatterSvg(plot);
  if (!f) {
    c.err << "nasctl pareto: cannot write " << c.flags["svg"] << "\n";
    return 2;
  }
  c.err << "wrote " << c.flags["svg"] << "\n";
  return 0;
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
  grpc::Status s = c.stub->GetParetoFront(Context().get(), req, &resp);
  if (!s.ok()) return Fail(c, s, "pareto");
  if (c.flags.count("svg")) {
    int rc = WriteParetoSvg(c, id, resp);
    if (rc != 0) return rc;
  }
  if (c.json) {
    PrintJson(c, resp);
    return 0;
  }
  c.out << "Pareto front (maximize val_accuracy; minimize";
  for (int i = 1; i < resp.objectives_size(); ++i)
    c.out << " " << resp.objectives(i);
  c.out << "): " << resp.front_size() << " candidates\n";
  PrintCandidateTable(c, resp.front());
  return 0;
}

int Export(Ctx& c) {
  int64_t id;
  int64_t candidate = 0;
  if (!ParseId(c, &id)) return 2;
  if (c.positional.size() < 2 ||
      !absl::SimpleAtoi(c.positional[1], &candidate) || candidate <= 0) {
    c.err << "nasctl export: expected a CANDIDATE id (a positive integer) "
             "after the experiment ID\n";
    return 2;
  }
  if (c.flags["out"].empty()) {
    c.err << "nasctl export: expected -o FILE\n";
    return 2;
  }
  v1::ExportCandidateRequest req;
  req.set_experiment_id(id);
  req.set_candidate_id(candidate);
  v1::ExportCandidateResponse resp;
  grpc::Status s = c.stub->ExportCandidate(Context(120).get(), req, &resp);
  if (!s.ok()) return Fail(c, s, "export");
  const std::string& path = c.flags["out"];
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(resp.torchscript().data(),
            static_cast<std::streamsize>(resp.torchscript().size()));
    if (!f) {
      c.err << "nasctl export: cannot write " << path << "\n";
      return 2;
    }
  }
  if (c.json) {
    resp.clear_torchscript();
    PrintJson(c, resp);
    return 0;
  }
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
  grpc::Status s = c.stub->StopExperiment(Context().get(), req, &e);
  if (!s.ok()) return Fail(c, s, "stop");
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
  std::string controller = std::getenv("NAS_CONTROLLER")
                               ? std::getenv("NAS_CONTROLLER")
                               : "127.0.0.1:50051";
  std::string output = "table";
  std::string command;
  Ctx c{out, err, nullptr};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "-o" || a == "--out") && i + 1 < args.size()) {
      c.flags["out"] = args[++i];
    } else if (a.rfind("--", 0) == 0) {
      std::string key = a.substr(2), value;
      size_t eq = key.find('=');
      if (eq != std::string::npos) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
      } else if (key != "watch" && key != "help" && i + 1 < args.size()) {
        value = args[++i];
      }
      if (key == "controller") {
        controller = value;
      } else if (key == "output" || key == "o") {
        output = value;
      } else if (key == "help") {
        command = "help";
      } else {
        c.flags[key] = value;
      }
    } else if (command.empty()) {
      command = a;
    } else {
      c.positional.push_back(a);
    }
  }
  if (command.empty() || command == "help") {
    (command.empty() ? err : out) << kUsage;
    return command.empty() ? 2 : 0;
  }
  if (output != "table" && output != "json") {
    err << "nasctl: --output: expected table or json, got '" << output << "'\n";
    return 2;
  }
  c.json = output == "json";
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(256 << 20);  // exported models
  c.stub = v1::ExperimentService::NewStub(grpc::CreateCustomChannel(
      controller, grpc::InsecureChannelCredentials(), channel_args));
  if (command == "submit") {
    int rc = Submit(c);
    if (rc != 0 || !c.flags.count("watch")) return rc;
    return Watch(c);
  }
  if (command == "watch") return Watch(c);
  if (command == "list") return List(c);
  if (command == "show") return Show(c);
  if (command == "candidates") return Candidates(c);
  if (command == "pareto") return Pareto(c);
  if (command == "stop") return Stop(c);
  if (command == "export") return Export(c);
  err << "nasctl: unknown command '" << command << "'\n" << kUsage;
  return 2;
}

}  // namespace nas
