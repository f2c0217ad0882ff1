// nasctl's proxy-related commands end to end against an in-process fake
// ExperimentService (tests/client/fake_experiment_service.h) that serves
// hand-made experiments and candidates (the controller side that fills the
// screening fields is not needed): the candidates table, show's screened
// line, and proxies' table, JSON, SVG and nothing-to-show exit; `curves`
// over several pages of learning curves; pareto's SVG with three
// objectives.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/commands.h"
#include "client/nasctl.h"
#include "common/build_info.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "tests/client/fake_experiment_service.h"
#include "tests/client/plot_samples.h"
#include "tests/testing/spec_yaml.h"

namespace nas {
namespace {

using FakeService = testing::FakeExperimentService;

v1::Candidate Row(int64_t id, const std::string& genotype, bool screening,
                  int64_t group) {
  v1::Candidate c;
  c.set_id(id);
  c.set_state(v1::CANDIDATE_EVALUATED);
  c.mutable_genotype()->set_canonical(genotype);
  c.set_screening(screening);
  c.set_supernet(screening);  // as the store marks screening rows (0019)
  c.set_screen_group(group);
  return c;
}

class NasctlFake : public ::testing::Test {
 protected:
  void SetUp() override {
    // Experiment 1: proxy-guided evolution, three groups screened and won.
    v1::Experiment& e = service_.experiments[1];
    e.set_id(1);
    e.mutable_spec()->set_name("guided");
    e.mutable_spec()
        ->mutable_strategy()
        ->mutable_evolution()
        ->mutable_proxy()
        ->set_children(4);
    e.mutable_spec()
        ->mutable_strategy()
        ->mutable_evolution()
        ->mutable_proxy()
        ->set_metric("snip");
    e.mutable_counts()->set_screened(12);
    e.mutable_counts()->set_screens_pending(1);
    const double snip[] = {0.5, 3.0, 2.0};
    const double val[] = {0.61, 0.72, 0.83};
    for (int g = 0; g < 3; ++g) {
      const std::string genotype = absl::StrCat("|g", g, "|");
      v1::Candidate s = Row(10 + g, genotype, true, g + 1);
      (*s.mutable_metrics()->mutable_named_metrics())["snip"] = snip[g];
      v1::Candidate t = Row(20 + g, genotype, false, g + 1);
      t.mutable_metrics()->set_val_accuracy(val[g]);
      t.mutable_metrics()->set_test_accuracy(val[g] - 0.01);
      service_.candidates[1].push_back(s);
      service_.candidates[1].push_back(t);
    }
    // Experiment 2: plain, nothing scored.
    service_.experiments[2].set_id(2);
    service_.candidates[2].push_back(Row(30, "|x|", false, 0));
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                       &port_);
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  struct Result {
    int rc;
    std::string out, err;
  };
  Result Run(std::vector<std::string> args) {
    args.push_back("--controller");
    args.push_back(absl::StrCat("127.0.0.1:", port_));
    std::ostringstream out, err;
    const int rc = RunNasctl(args, out, err);
    return {rc, out.str(), err.str()};
  }

  FakeService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `nasctl curves` pages through every curve (the fake serves two per
// page): a row per curve with the epoch early stopping cut it at and why,
// the merged JSON, and an SVG with a line per curve and an X per cut.
TEST_F(NasctlFake, CurvesPagesThroughEveryCurveAndMarksEarlyStops) {
  const testing::PlotSampleCounts counts = testing::AddPlotSamples(service_);
  const std::string id = std::to_string(testing::kCurvesExperiment);
  const std::string svg = ::testing::TempDir() + "nasctl_curves.svg";
  Result r = Run({"curves", id, "--svg", svg});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "VAL_ACC BY EPOCH")) << r.out;
  EXPECT_EQ(Count(r.out, "stopped at epoch "), counts.stopped) << r.out;
  EXPECT_TRUE(absl::StrContains(
      r.out, "stopped at epoch 1: threshold: val_accuracy below 0.25"))
      << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "  final of 100")) << r.out;
  EXPECT_TRUE(
      absl::StrContains(r.out, "      132    27 RUNNING       0/12      -"))
      << r.out;
  // Twelve epochs, compact: four, "...", three.
  EXPECT_TRUE(absl::StrContains(r.out, " ... ")) << r.out;
  EXPECT_TRUE(absl::StrContains(
      r.out, absl::StrCat("27 curves, ", counts.stopped, " stopped early")))
      << r.out;
  const std::string picture = ReadFile(svg);
  EXPECT_EQ(Count(picture, "<polyline class=\"curve\""),
            counts.curves_with_points);
  EXPECT_EQ(Count(picture, "<g class=\"stop-marker\">"), counts.stopped);
  EXPECT_TRUE(absl::StrContains(picture, "<g class=\"legend\">"));
  EXPECT_TRUE(absl::StrContains(picture, "epoch 2 &lt;&amp;&gt;")) << picture;

  r = Run({"curves", id, "--output", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &parsed).ok())
      << r.out;
  EXPECT_EQ(parsed.fields().at("curves").list_value().values_size(), 27);
  EXPECT_EQ(parsed.fields().at("epochs").number_value(), 12);

  r = Run({"curves", "9"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "NOT_FOUND")) << r.err;
  r = Run({"curves", "1"});  // an experiment without curves
  EXPECT_EQ(r.rc, 1);
  service_.curves[2];  // one whose trials reported nothing yet
  const std::string none = ::testing::TempDir() + "nasctl_no_curves.svg";
  std::remove(none.c_str());
  r = Run({"curves", "2", "--svg", none});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "no learning curves")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.err, "nothing to draw")) << r.err;
  EXPECT_FALSE(std::ifstream(none).good());
}

// Three objectives: one panel per pair, the front's points in each, no
// staircase; two objectives keep their staircase.
TEST_F(NasctlFake, ParetoSvgWithThreeObjectivesIsAScatterMatrix) {
  testing::AddPlotSamples(service_);
  const std::string id = std::to_string(testing::kFrontExperiment);
  const std::string svg = ::testing::TempDir() + "nasctl_front3.svg";
  Result r = Run({"pareto", id, "--minimize", "macs,latency_ms", "--svg", svg});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string picture = ReadFile(svg);
  EXPECT_EQ(Count(picture, "<g class=\"panel\""), 3);
  EXPECT_EQ(Count(picture, "class=\"staircase\""), 0);
  EXPECT_EQ(Count(picture, "<g class=\"legend\">"), 3);
  EXPECT_TRUE(absl::StrContains(picture, ": latency_ms vs macs (front "));
  EXPECT_TRUE(absl::StrContains(
      picture, "Pareto front over val_accuracy, macs, latency_ms"));

  r = Run({"pareto", id, "--minimize", "macs", "--svg", svg});
  ASSERT_EQ(r.rc, 0) << r.err;
  picture = ReadFile(svg);
  EXPECT_EQ(Count(picture, "<g class=\"panel\""), 1);
  EXPECT_EQ(Count(picture, "class=\"staircase\""), 1);
}

TEST_F(NasctlFake, CandidatesShowAndProxies) {
  Result r = Run({"candidates", "1"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "VAL_ACC      SNIP TEST_ACC")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "(screen g2) |g1|")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "(won screen g2) |g1|")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "6 of 6 candidates")) << r.out;

  r = Run({"show", "1"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(
      r.out, "screened     12 (1 slot being scored; nasctl proxies 1)"))
      << r.out;
  r = Run({"show", "2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(absl::StrContains(r.out, "screened")) << r.out;

  // snip orders 0.5 < 2 < 3 as g0 < g2 < g1, val as g0 < g1 < g2: one
  // swapped pair of three, rho 0.5, tau 1/3.
  const std::string svg = ::testing::TempDir() + "nasctl_proxies.svg";
  r = Run({"proxies", "1", "--svg", svg});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "3 genotypes")) << r.out;
  EXPECT_TRUE(absl::StrContains(
      r.out,
      "snip         0.500   0.333     3   0.500   0.333     3  (ranks "
      "the search)"))
      << r.out;
  std::ifstream in(svg);
  std::stringstream picture;
  picture << in.rdbuf();
  EXPECT_TRUE(absl::StrContains(picture.str(), "snip vs validation accuracy"))
      << picture.str().substr(0, 400);
  EXPECT_TRUE(absl::StrContains(r.err, "wrote " + svg)) << r.err;

  r = Run({"proxies", "1", "--output", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\"proxies\": {\"snip\": 3}")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\"rho_val\": 0.500000")) << r.out;
  google::protobuf::Struct parsed;  // valid JSON, with the three points
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &parsed).ok())
      << r.out;
  EXPECT_EQ(parsed.fields().at("points").list_value().values_size(), 3);
  // int64 ids as strings, as in every other command's JSON.
  EXPECT_EQ(parsed.fields().at("experiment_id").string_value(), "1");
}

TEST_F(NasctlFake, ProxiesWithNothingToPairSaysSoAndExitsZero) {
  const std::string svg = ::testing::TempDir() + "nasctl_no_proxies.svg";
  std::remove(svg.c_str());
  Result r = Run({"proxies", "2", "--svg", svg});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "no genotype has both")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.err, "nothing to draw")) << r.err;
  EXPECT_FALSE(std::ifstream(svg).good());
  // Mistakes: an unknown proxy (exit 2), an unknown experiment (exit 1).
  r = Run({"proxies", "1", "--metric", "accuracy"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "--metric")) << r.err;
  r = Run({"proxies", "9"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "NOT_FOUND")) << r.err;
}

// Text someone else stored (issue 22): an ESC sequence, CR and LF in a name,
// a reason, a genotype, a metric name and an error never reach the terminal
// raw; each is shown escaped, and no row is faked.
TEST_F(NasctlFake, ServerTextWithControlCharactersIsPrintedEscaped) {
  v1::Experiment& e = service_.experiments[3];
  e.set_id(3);
  e.set_state(v1::EXPERIMENT_FAILED);
  e.mutable_spec()->set_name("evil\x1b[2J\rfake\n  99 root");
  e.mutable_spec()->mutable_search_space()->set_name("nb201\x1b[31m");
  e.set_error("boom\x1b]0;title\x07\n");
  e.set_waiting("wait\r");
  v1::Candidate& best = *e.mutable_best();
  best.set_id(40);
  best.mutable_genotype()->set_canonical("|g\x1b[A|");
  (*best.mutable_metrics()->mutable_named_metrics())["m\x1b[K"] = 0.5;
  v1::Candidate k = Row(40, "|g\x1b[A|", false, 0);
  k.set_reason("why\r\nfake row");
  k.set_state(v1::CANDIDATE_REJECTED);
  service_.candidates[3].push_back(k);

  auto expect_clean = [](const std::string& text) {
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    EXPECT_EQ(text.find('\r'), std::string::npos) << text;
    EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
  };
  Result r = Run({"list"});
  ASSERT_EQ(r.rc, 0) << r.err;
  expect_clean(r.out);
  EXPECT_TRUE(absl::StrContains(r.out, "evil\\x1b[2J\\rfake\\n  99 root"))
      << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "nb201\\x1b[31m")) << r.out;
  // A header and one row per experiment: the name's LF faked none.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'),
            1 + static_cast<int>(service_.experiments.size()))
      << r.out;

  r = Run({"show", "3"});
  ASSERT_EQ(r.rc, 0) << r.err;
  expect_clean(r.out);
  EXPECT_TRUE(absl::StrContains(r.out, "experiment   3 evil\\x1b[2J")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "boom\\x1b]0;title\\x07\\n")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "m\\x1b[K")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "|g\\x1b[A|")) << r.out;

  r = Run({"candidates", "3"});
  ASSERT_EQ(r.rc, 0) << r.err;
  expect_clean(r.out);
  EXPECT_TRUE(absl::StrContains(r.out, "|g\\x1b[A|")) << r.out;

  r = Run({"watch", "3"});      // not a terminal: one line per event
  EXPECT_EQ(r.rc, 1) << r.err;  // the experiment FAILED
  expect_clean(r.out);
  EXPECT_TRUE(absl::StrContains(r.out, "[wait\\r]")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "error: boom\\x1b]0;")) << r.out;
}

// A spec file that is not UTF-8 text, or names a limit, is refused before
// anything is sent (the controller could only answer with protobuf's parse
// error for invalid UTF-8 inside the request).
TEST_F(NasctlFake, SubmitRefusesHostileSpecFilesLocally) {
  const std::string path = ::testing::TempDir() + "nasctl_hostile.yaml";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"name: ok\nsearch_space: {name: caf\xe9}\n",
       "spec_yaml: line 2: contains an invalid UTF-8 byte 0xE9"},
      {"name: \"a\\e[2J\"\nsearch_space: {name: nb201}\n",
       "spec.name (line 1): contains a control character U+001B"},
      {"name: a\nname: b\n", "duplicate key 'name' (lines 1 and 2)"},
      {testing::AliasBombYaml(1000), "YAML nodes once aliases are expanded"},
  };
  for (const auto& [yaml, expected] : cases) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << yaml;
    Result r = Run({"submit", path});
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, expected)) << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  }
}

TEST_F(NasctlFake, ServerErrorMessagesArePrintedEscaped) {
  class Hostile final : public v1::ExperimentService::Service {
    grpc::Status GetExperiment(grpc::ServerContext*,
                               const v1::GetExperimentRequest*,
                               v1::Experiment*) override {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "gone\x1b[2J\r\nnasctl: all good");
    }
  } hostile;
  grpc::ServerBuilder b;
  int port = 0;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  b.RegisterService(&hostile);
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  ASSERT_NE(server, nullptr);
  std::ostringstream out, err;
  const int rc =
      RunNasctl({"show", "1", "--controller", absl::StrCat("127.0.0.1:", port)},
                out, err);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(err.str(),
            "nasctl show: gone\\x1b[2J\\r\\nnasctl: all good (NOT_FOUND)\n");
  server->Shutdown();
}

// Issue 23: every command has its own help (kubectl/git): `nasctl CMD
// --help`, `-h` and `nasctl help CMD` print its synopsis, each of its
// flags with its default, and an example; exit 0 without calling anyone.
TEST_F(NasctlFake, EveryCommandHasItsOwnHelp) {
  std::set<std::string> names;
  for (const Command& command : NasctlCommands()) {
    const std::string& name = command.name;
    names.insert(name);
    Result r = Run({name, "--help"});
    ASSERT_EQ(r.rc, 0) << name << ": " << r.err;
    EXPECT_TRUE(absl::StartsWith(r.out, "usage: nasctl " + name)) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "\n  nasctl " + name + " ") ||
                absl::StrContains(r.out, "\n  nasctl " + name + "\n"))
        << name << " has no example:\n"
        << r.out;
    for (const Flag& f : command.flags) {
      EXPECT_TRUE(absl::StrContains(r.out, "--" + f.name))
          << name << " --" << f.name;
      if (f.short_name != 0) {
        EXPECT_TRUE(absl::StrContains(
            r.out,
            absl::StrCat("-", std::string(1, f.short_name), ", --", f.name)))
            << r.out;
      }
      if (!f.default_text.empty()) {  // help text may wrap: one line
        std::string flat;
        for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
          absl::StrAppend(&flat, absl::StripLeadingAsciiWhitespace(line), " ");
        }
        EXPECT_TRUE(absl::StrContains(flat, "(default " + f.default_text))
            << name << " --" << f.name << " default";
      }
    }
    EXPECT_EQ(Run({name, "-h"}).out, r.out);
    EXPECT_EQ(Run({"help", name}).out, r.out);
    EXPECT_EQ(Run({name, "1", "--bogus", "--help"}).out, r.out);
    // No line runs past 80 columns.
    for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
      EXPECT_LE(line.size(), 80u) << line;
    }
  }
  for (const char* expected :
       {"submit", "list", "show", "watch", "candidates", "pareto", "curve",
        "searches", "proxies", "export", "stop", "extend", "resume"}) {
    EXPECT_TRUE(names.count(expected)) << expected;
  }
  Result r = Run({"--help"});
  ASSERT_EQ(r.rc, 0);
  for (const std::string& name : names) {
    EXPECT_TRUE(absl::StrContains(r.out, "\n  " + name + " ")) << name;
  }
  EXPECT_TRUE(absl::StrContains(r.out, "exit codes")) << r.out;
  EXPECT_EQ(Run({"help"}).out, r.out);
  EXPECT_EQ(Run({"help", "frobnicate"}).rc, 2);
}

// Flag and argument mistakes name what is wrong and exit 2, as kubectl and
// git do; nothing reaches the controller.
TEST_F(NasctlFake, UsageMistakesNameTheFlagOrArgumentAndExitTwo) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--foo", "list"},
       "nasctl: unknown flag --foo for \"list\"; see 'nasctl list --help'\n"},
      {{"list", "--bogus"},
       "nasctl: unknown flag --bogus for \"list\"; see 'nasctl list --help'\n"},
      {{"list", "-x"},
       "nasctl: unknown flag -x for \"list\"; see 'nasctl list --help'\n"},
      {{"--foo"}, "nasctl: unknown flag --foo; see 'nasctl --help'\n"},
      {{"candidates", "1", "--all=maybe"},
       "nasctl: flag --all: expected true or false, got 'maybe'; see "
       "'nasctl candidates --help'\n"},
      {{"show", "1", "--svg", "x.svg"},
       "nasctl: unknown flag --svg for \"show\"; see 'nasctl show --help'\n"},
      {{"frobnicate", "1"},
       "nasctl: unknown command 'frobnicate'; see 'nasctl --help'\n"},
      {{"show"}, "nasctl show: expected ID; see 'nasctl show --help'\n"},
      {{"export", "1"},
       "nasctl export: expected ID CANDIDATE; see 'nasctl export --help'\n"},
      {{"show", "1", "2"},
       "nasctl show: unexpected argument '2'; see 'nasctl show --help'\n"},
      {{"show", "abc"},
       "nasctl show: expected an experiment ID (a positive integer); see "
       "'nasctl show --help'\n"},
      {{"-o", "xml", "list"},
       "nasctl list: --output: expected table or json, got 'xml'; see "
       "'nasctl list --help'\n"},
      {{"list", "--limit", "0"},
       "nasctl list: --limit: expected a positive integer, got '0'; see "
       "'nasctl list --help'\n"},
  };
  for (const auto& [args, expected] : cases) {
    Result r = Run(args);
    EXPECT_EQ(r.rc, 2) << absl::StrJoin(args, " ");
    EXPECT_EQ(r.err, expected) << absl::StrJoin(args, " ");
    EXPECT_EQ(r.out, "") << absl::StrJoin(args, " ");
  }
  // A missing value names the flag (the controller flag comes last in Run,
  // so call RunNasctl directly).
  std::ostringstream out, err;
  EXPECT_EQ(RunNasctl({"list", "--limit"}, out, err), 2);
  EXPECT_EQ(err.str(),
            "nasctl: flag --limit needs a value (N); see 'nasctl list "
            "--help'\n");
  // No command at all: the global usage on stderr, exit 2.
  std::ostringstream out2, err2;
  EXPECT_EQ(RunNasctl({}, out2, err2), 2);
  EXPECT_TRUE(absl::StartsWith(err2.str(), "usage: nasctl")) << err2.str();
  // `--` ends the flags; global flags go anywhere, command flags too.
  Result r = Run({"list", "--limit=1", "-o", "json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  r = Run({"--limit", "1", "list"});
  EXPECT_EQ(r.rc, 0) << r.err;
}

TEST_F(NasctlFake, VersionPrintsTheBuildInfoLine) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--version"},
        std::vector<std::string>{"list", "--version"}}) {
    Result r = Run(args);
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, VersionLine("nasctl") + "\n");
    EXPECT_TRUE(absl::StartsWith(r.out, "nasctl " + GetBuildInfo().version))
        << r.out;
  }
}

// -o/--output is the output format everywhere (kubectl); export's file is
// -f/--file (--out, its older long name, still works).
TEST_F(NasctlFake, OutputIsTheFormatAndExportWritesWithFile) {
  const std::string path = ::testing::TempDir() + "nasctl_export_f.pt";
  std::remove(path.c_str());
  Result r = Run({"export", "1", "20", "-f", path});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "wrote " + path + " (14 bytes"))
      << r.out;
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  EXPECT_EQ(bytes.str(), "PK-model-bytes");

  const std::string old = ::testing::TempDir() + "nasctl_export_out.pt";
  r = Run({"export", "1", "20", "--out", old, "-o", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(std::ifstream(old).good());
  v1::ExportCandidateResponse resp;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &resp).ok())
      << r.out;
  EXPECT_EQ(resp.source(), "search");
  EXPECT_TRUE(absl::StrContains(r.out, "\"torchscript\": \"\"")) << r.out;

  r = Run({"export", "1", "20", "-o", "model.pt"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "the model's file is -f FILE")) << r.err;
  r = Run({"export", "1", "20"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "expected -f FILE")) << r.err;
}

// Stopping an experiment that already ended is not an error (docker stop).
TEST_F(NasctlFake, StoppingAnEndedExperimentSaysSoAndExitsZero) {
  service_.experiments[4].set_id(4);
  service_.experiments[4].set_state(v1::EXPERIMENT_RUNNING);
  service_.experiments[5].set_id(5);
  service_.experiments[5].set_state(v1::EXPERIMENT_SUCCEEDED);
  Result r = Run({"stop", "4"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "experiment 4 STOPPED\n");
  r = Run({"stop", "4"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "experiment 4 already STOPPED\n");
  r = Run({"stop", "5"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "experiment 5 already SUCCEEDED\n");
  EXPECT_EQ(service_.experiments[5].state(), v1::EXPERIMENT_SUCCEEDED);
  r = Run({"stop", "9"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "NOT_FOUND")) << r.err;
}

TEST_F(NasctlFake, ExtendAndResumeCallExtendExperiment) {
  v1::Experiment& e = service_.experiments[6];
  e.set_id(6);
  e.set_state(v1::EXPERIMENT_SUCCEEDED);
  e.mutable_spec()->mutable_budget()->set_max_trials(10);
  e.mutable_counts()->set_trials_succeeded(10);
  Result r = Run({"extend", "6", "--max-trials", "20"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "experiment 6 RUNNING (budget 20 trials; 10 trials done; nasctl "
            "watch 6)\n");
  ASSERT_EQ(service_.extend_requests.size(), 1u);
  EXPECT_EQ(service_.extend_requests[0].id(), 6);
  EXPECT_EQ(service_.extend_requests[0].max_trials(), 20);
  EXPECT_EQ(service_.extend_requests[0].max_simulated_seconds(), 0);

  r = Run({"extend", "6", "--max-simulated-seconds", "3600", "-o", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  v1::Experiment parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &parsed).ok())
      << r.out;
  EXPECT_EQ(parsed.spec().budget().max_simulated_seconds(), 3600);
  ASSERT_EQ(service_.extend_requests.size(), 2u);
  EXPECT_EQ(service_.extend_requests[1].max_trials(), 0);
  EXPECT_EQ(service_.extend_requests[1].max_simulated_seconds(), 3600);

  e.set_state(v1::EXPERIMENT_STOPPED);
  r = Run({"resume", "6"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "experiment 6 RUNNING")) << r.out;
  ASSERT_EQ(service_.extend_requests.size(), 3u);
  EXPECT_EQ(service_.extend_requests[2].max_trials(), 0);
  EXPECT_EQ(service_.extend_requests[2].max_simulated_seconds(), 0);

  // Mistakes: no budget (exit 2, pointing at resume), a bad number, a
  // budget flag on resume; a FAILED experiment is the controller's refusal.
  r = Run({"extend", "6"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "nasctl resume ID")) << r.err;
  r = Run({"extend", "6", "--max-trials", "-3"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "--max-trials")) << r.err;
  r = Run({"resume", "6", "--max-trials", "30"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "unknown flag --max-trials")) << r.err;
  EXPECT_EQ(service_.extend_requests.size(), 3u);
  e.set_state(v1::EXPERIMENT_FAILED);
  r = Run({"extend", "6", "--max-trials", "30"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "FAILED_PRECONDITION")) << r.err;
}

// Why a candidate was rejected or a trial failed is in the text output too,
// cut to the terminal's width ($COLUMNS here: not a terminal).
TEST_F(NasctlFake, RejectedAndFailedReasonsInCandidatesAndShow) {
  v1::Experiment& e = service_.experiments[7];
  e.set_id(7);
  e.set_state(v1::EXPERIMENT_RUNNING);
  e.mutable_counts()->set_rejected(1);
  e.mutable_counts()->set_trials_failed(1);
  v1::Candidate rejected = Row(70, "|r|", false, 0);
  rejected.set_state(v1::CANDIDATE_REJECTED);
  rejected.set_reason("macs 9e9 above budget 5e6");
  v1::Candidate failed = Row(71, "|f|", false, 0);
  failed.set_state(v1::CANDIDATE_FAILED);
  failed.set_reason("trainer exited 1: " + std::string(300, 'x'));
  service_.candidates[7] = {rejected, failed, Row(72, "|e|", false, 0)};
  setenv("COLUMNS", "60", 1);
  Result r = Run({"candidates", "7"});
  unsetenv("COLUMNS");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(
      r.out, "\n           reason: macs 9e9 above budget 5e6\n"))
      << r.out;
  EXPECT_TRUE(
      absl::StrContains(r.out, "\n           reason: trainer exited 1: xxx"))
      << r.out;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    if (absl::StrContains(line, "reason: ")) {
      EXPECT_LE(line.size(), 59u) << line;
    }
  }
  const std::vector<std::string> parts = absl::StrSplit(r.out, "reason: ");
  EXPECT_EQ(parts.size(), 3u)
      << "one reason line each for the rejected and the failed row";

  setenv("COLUMNS", "60", 1);
  r = Run({"show", "7"});
  unsetenv("COLUMNS");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(
      r.out, "last reject  candidate 70: macs 9e9 above budget 5e6\n"))
      << r.out;
  EXPECT_TRUE(absl::StrContains(
      r.out, "last failed  candidate 71: trainer exited 1: xxx"))
      << r.out;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    EXPECT_LE(line.size(), 59u) << line;
  }
}

// JSON: the API's messages (or, for curve and proxies, an object named and
// typed the same way), every field printed, zero values included.
TEST_F(NasctlFake, JsonOfEveryCommandParsesAndHasZeroValuedFields) {
  service_.experiments[5].set_id(5);
  service_.experiments[5].set_state(v1::EXPERIMENT_STOPPED);
  const std::string spec = ::testing::TempDir() + "nasctl_json_spec.yaml";
  testing::SpecYaml yaml;
  yaml.name = "json";
  yaml.budget = testing::TrialBudget(2, 1);
  std::ofstream(spec, std::ios::trunc) << yaml.Yaml();
  const std::string model = ::testing::TempDir() + "nasctl_json.pt";
  // Command line, and a field of the (first) message that must be there.
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"submit", spec}, "\"error\": \"\""},
      {{"list"}, "\"simulated_seconds\": 0"},
      {{"show", "2"}, "\"state\": \"EXPERIMENT_STATE_UNSPECIFIED\""},
      {{"candidates", "2"}, "\"reason\": \"\""},
      {{"pareto", "1"}, "\"final_of\": \"0\""},
      {{"curve", "2"}, "\"val_accuracy\": 0"},
      {{"curve", "1"}, "\"simulated_seconds\": 0"},
      {{"searches", "1"}, "\"epochs\": []"},
      {{"export", "1", "20", "-f", model}, "\"filename\": \"\""},
      {{"stop", "5"}, "\"waiting\": \"\""},
      {{"resume", "5"}, "\"error\": \"\""},
      {{"extend", "5", "--max-trials", "9"}, "\"phase\": \"\""},
      {{"proxies", "1"}, "\"points\""},
  };
  for (const auto& [args, field] : cases) {
    std::vector<std::string> line = args;
    line.push_back("--output");
    line.push_back("json");
    Result r = Run(line);
    const std::string what = absl::StrJoin(args, " ");
    ASSERT_EQ(r.rc, 0) << what << ": " << r.err;
    google::protobuf::Struct parsed;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(r.out, &parsed).ok())
        << what << ": " << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, field)) << what << ": " << r.out;
  }
  // watch: one ExperimentEvent per line, zero values included.
  Result r = Run({"watch", "2", "-o", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  v1::ExperimentEvent ev;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &ev).ok())
      << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\"error\":\"\"")) << r.out;
  // curve's ids are strings, as every int64 of the API's messages.
  r = Run({"curve", "1", "-o", "json"});
  google::protobuf::Struct curve;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &curve).ok());
  EXPECT_EQ(curve.fields().at("experiment_id").string_value(), "1");
  const auto& points = curve.fields().at("points").list_value();
  ASSERT_EQ(points.values_size(), 3);
  EXPECT_EQ(points.values(0)
                .struct_value()
                .fields()
                .at("candidate_id")
                .string_value(),
            "20");
}

}  // namespace
}  // namespace nas
