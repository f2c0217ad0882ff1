// Unit tests of nasctl's pure parts: the best-so-far curve, SVG panels,
// the darts searches' table and picture, connection options, the
// candidates table, and zero-cost proxies against trained accuracy.
#include <fstream>
#include <limits>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "client/candidate_table.h"
#include "client/connection.h"
#include "client/curve.h"
#include "client/learning_curves.h"
#include "client/metrics_format.h"
#include "client/proxies.h"
#include "client/searches.h"
#include "client/svg_plot.h"
#include "common/rank_stats.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

v1::Candidate Evaluated(int64_t id, double val, int64_t at_seconds,
                        int32_t nanos = 0) {
  v1::Candidate c;
  c.set_id(id);
  c.set_state(v1::CANDIDATE_EVALUATED);
  c.mutable_metrics()->set_val_accuracy(val);
  c.mutable_updated_at()->set_seconds(at_seconds);
  c.mutable_updated_at()->set_nanos(nanos);
  return c;
}

TEST(BestSoFarCurve, OrdersByResultTimeAndSkipsWhatIsNotASearchResult) {
  v1::Experiment e;
  e.mutable_created_at()->set_seconds(1000);
  std::vector<v1::Candidate> cs = {
      Evaluated(3, 0.70, 1010),
      Evaluated(1, 0.50, 1002),
      Evaluated(2, 0.60, 1002, 500000000),  // same second, later
      Evaluated(4, 0.65, 1020),
      Evaluated(5, 0.99, 1030),  // a final re-training: not a search result
      Evaluated(6, 0.99, 1040),  // failed: no result
      Evaluated(7, 0.80, 1010),  // same time as 3: by id
  };
  cs[4].set_final_of(3);
  cs[5].set_state(v1::CANDIDATE_FAILED);
  const std::vector<CurvePoint> curve = BestSoFarCurve(e, cs);
  ASSERT_EQ(curve.size(), 5u);
  const std::vector<int64_t> order = {
      curve[0].candidate_id, curve[1].candidate_id, curve[2].candidate_id,
      curve[3].candidate_id, curve[4].candidate_id};
  EXPECT_EQ(order, (std::vector<int64_t>{1, 2, 3, 7, 4}));
  EXPECT_DOUBLE_EQ(curve[1].seconds, 2.5);
  EXPECT_EQ(curve[4].trial, 5);
  const std::vector<double> best = {
      curve[0].best_val_accuracy, curve[1].best_val_accuracy,
      curve[2].best_val_accuracy, curve[3].best_val_accuracy,
      curve[4].best_val_accuracy};
  EXPECT_EQ(best, (std::vector<double>{0.50, 0.60, 0.70, 0.80, 0.80}));
  EXPECT_TRUE(curve[3].improved);
  EXPECT_FALSE(curve[4].improved);
  EXPECT_EQ(curve[4].simulated_seconds, 0);  // none reported
}

// `nasctl show` lists named metrics by name; the candidates table's
// objective column appears only for an objective other than val_accuracy
// and shows "-" where the metric is missing.
TEST(MetricsFormat, NamedMetricsAndTheObjectiveColumn) {
  v1::EvaluationMetrics m;
  EXPECT_EQ(NamedMetricsText(m), "");
  (*m.mutable_named_metrics())["val_top5"] = 0.93;
  (*m.mutable_named_metrics())["bleu"] = 27.5;
  (*m.mutable_named_metrics())["neg_loss"] = -0.125;
  EXPECT_EQ(NamedMetricsText(m), "bleu 27.5, neg_loss -0.125, val_top5 0.93");

  v1::ObjectiveSpec o;
  EXPECT_EQ(ObjectiveColumnHeader(o), "");
  o.set_metric("val_accuracy");
  EXPECT_EQ(ObjectiveColumnHeader(o), "");
  o.set_metric("val_top5");
  EXPECT_EQ(ObjectiveColumnHeader(o), "val_top5");
  v1::Candidate k = Evaluated(1, 0.5, 1000);
  EXPECT_EQ(ObjectiveCell(o, k), "-");  // not reported
  *k.mutable_metrics() = m;
  EXPECT_EQ(ObjectiveCell(o, k), "0.9300");
  k.set_final_of(7);
  EXPECT_EQ(ObjectiveCell(o, k), "-");
  k.set_final_of(0);
  k.clear_metrics();
  EXPECT_EQ(ObjectiveCell(o, k), "-");
  o.set_metric("val_macro_f1");
  k.mutable_metrics()->set_val_macro_f1(0.25);
  EXPECT_EQ(ObjectiveColumnHeader(o), "val_macro_f1");
  EXPECT_EQ(ObjectiveCell(o, k), "0.2500");
}

TEST(SvgPanels, OnePanelGroupPerPlotAndEscapedText) {
  ScatterPlot a, b;
  a.x_label = "trials <all>";
  a.points = {{1, 0.5, "p & q"}, {2, 0.6, ""}};
  a.highlight = {{1, 0.5, ""}};
  const std::string svg = RenderPanelsSvg({a, b});
  EXPECT_TRUE(absl::StartsWith(svg, "<?xml"));
  EXPECT_TRUE(absl::StrContains(svg, "width=\"1440\""));
  EXPECT_TRUE(absl::StrContains(svg, "translate(720 0)"));
  EXPECT_TRUE(absl::StrContains(svg, "trials &lt;all&gt;"));
  EXPECT_TRUE(absl::StrContains(svg, "p &amp; q"));
  size_t panels = 0;
  for (size_t p = svg.find("class=\"panel\""); p != std::string::npos;
       p = svg.find("class=\"panel\"", p + 1)) {
    ++panels;
  }
  EXPECT_EQ(panels, 2u);
}

TEST(Connect, UnreadableOrEmptyFilesNameTheOption) {
  ConnectionOptions o;
  o.token_file = "/nonexistent/token";
  EXPECT_THAT(Connect(o).status(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                "--token-file: cannot read"));
  const std::string empty = ::testing::TempDir() + "/empty-token";
  std::ofstream(empty) << "  \n";
  o.token_file = empty;
  EXPECT_THAT(Connect(o).status(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                "--token-file: \"" + empty + "\" is empty"));
  o = ConnectionOptions();
  o.tls_ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(Connect(o).status(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                "--tls-ca: cannot read"));
}

// An active controller and its standbys: a comma-separated list, walked
// round robin by Next(); a list that names no address is refused.
TEST(Connect, AddressListIsWalkedRoundRobin) {
  ConnectionOptions o;
  o.controller = "127.0.0.1:1, 127.0.0.1:2";
  absl::StatusOr<Connection> c = Connect(o);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->addresses,
            (std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:2"}));
  EXPECT_EQ(c->current, 0u);
  c->Next();
  EXPECT_EQ(c->current, 1u);
  c->Next();
  EXPECT_EQ(c->current, 0u);
  // Nothing listens on either port: no address is reachable.
  EXPECT_FALSE(c->ConnectFirstReachable(absl::Seconds(1)));
  o.controller = " , ";
  EXPECT_THAT(Connect(o).status(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                "--controller: no address given"));
}

TEST(Connect, TokenFileIsTrimmedAndAFlagTokenWins) {
  const std::string path = ::testing::TempDir() + "/token";
  std::ofstream(path) << "\n  abc123 \n";
  ConnectionOptions o;
  o.token_file = path;
  absl::StatusOr<Connection> c = Connect(o);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->token, "abc123");
  o.token = "flag";
  c = Connect(o);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->token, "flag");
}

TEST(ConnectionOptionsFromEnv, ReadsEveryVariable) {
  setenv("NAS_CONTROLLER", "ctl:1", 1);
  setenv("NAS_TLS", "1", 1);
  setenv("NAS_TLS_CA", "/ca.pem", 1);
  setenv("NAS_TLS_SERVER_NAME", "nas", 1);
  setenv("NAS_TOKEN", "t", 1);
  setenv("NAS_TOKEN_FILE", "/t", 1);
  const ConnectionOptions o = ConnectionOptionsFromEnv();
  EXPECT_EQ(o.controller, "ctl:1");
  EXPECT_TRUE(o.tls);
  EXPECT_EQ(o.tls_ca_file, "/ca.pem");
  EXPECT_EQ(o.tls_server_name, "nas");
  EXPECT_EQ(o.token, "t");
  EXPECT_EQ(o.token_file, "/t");
  for (const char* v : {"NAS_CONTROLLER", "NAS_TLS", "NAS_TLS_CA",
                        "NAS_TLS_SERVER_NAME", "NAS_TOKEN", "NAS_TOKEN_FILE"}) {
    unsetenv(v);
  }
  EXPECT_EQ(ConnectionOptionsFromEnv().controller, "127.0.0.1:50051");
  EXPECT_FALSE(ConnectionOptionsFromEnv().tls);
}

// Listings show the analytic MACs and parameters, or, for a declared space
// (no analytic cost), the reported ones.
TEST(MetricsFormat, ShownCostsFallBackToTheReportedOnes) {
  v1::Candidate analytic;
  analytic.set_macs(1000);
  analytic.set_params(10);
  analytic.mutable_metrics()->set_macs(999);
  analytic.mutable_metrics()->set_params(9);
  EXPECT_EQ(ShownMacs(analytic), 1000);
  EXPECT_EQ(ShownParams(analytic), 10);
  v1::Candidate declared;
  declared.mutable_metrics()->set_macs(1016384);
  declared.mutable_metrics()->set_params(5178);
  EXPECT_EQ(ShownMacs(declared), 1016384);
  EXPECT_EQ(ShownParams(declared), 5178);
  EXPECT_EQ(ShownMacs(v1::Candidate()), 0);
}

// Two searches of three epochs each: search 10 collapses onto skip_connect,
// search 11 settles on nor_conv_3x3.
v1::ListSearchEpochsResponse TwoSearches() {
  v1::ListSearchEpochsResponse r;
  for (const char* op : {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                         "avg_pool_3x3"}) {
    r.add_ops(op);
  }
  for (const char* edge : {"1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"}) {
    r.add_edges(edge);
  }
  for (int search : {10, 11}) {
    for (int epoch = 1; epoch <= 3; ++epoch) {
      v1::SearchEpoch* e = r.add_epochs();
      e->set_search_id(search);
      e->set_seed(search - 9);
      e->set_epoch(epoch);
      for (int edge = 0; edge < 6; ++edge) {
        // The chosen op's weight grows with the epochs.
        const int chosen = search == 10 ? 1 : 3;
        for (int op = 0; op < 5; ++op) {
          e->add_arch_weights(op == chosen ? 0.2 + 0.1 * epoch
                                           : (0.8 - 0.1 * epoch) / 4);
        }
        e->mutable_derived()->add_choices(search == 10 ? 1 : 3);
      }
    }
  }
  return r;
}

TEST(Searches, TableShowsCellsAccuraciesAndWarnsOfCollapse) {
  std::vector<v1::Candidate> cs(5);
  cs[0].set_id(10);
  cs[0].set_search(true);
  cs[0].set_search_seed(1);
  cs[0].set_state(v1::CANDIDATE_EVALUATED);
  cs[0].mutable_derived()->set_canonical("|skip_connect~0|+|...|");
  cs[0].set_param_free_share(1.0);
  cs[1] = cs[0];
  cs[1].set_id(11);
  cs[1].set_search_seed(2);
  cs[1].mutable_derived()->set_canonical("|nor_conv_3x3~0|+|...|");
  cs[1].set_param_free_share(0.0);
  cs[2] = Evaluated(20, 0.61, 100);  // search 10's cell
  cs[2].mutable_metrics()->set_test_accuracy(0.6);
  cs[2].set_search_of(10);
  cs[3].set_id(21);  // search 11's cell repeats candidate 22
  cs[3].set_state(v1::CANDIDATE_DUPLICATE);
  cs[3].set_duplicate_of(22);
  cs[3].set_search_of(11);
  cs[4] = Evaluated(22, 0.875, 90);
  cs[4].mutable_metrics()->set_test_accuracy(0.8625);
  const std::string table = SearchTable(cs, TwoSearches(), 3);
  EXPECT_TRUE(absl::StrContains(table, "3/3")) << table;
  EXPECT_TRUE(absl::StrContains(table, "100%")) << table;
  EXPECT_TRUE(absl::StrContains(table, "0.6100")) << table;
  // The duplicate shows the accuracy of the candidate it repeats.
  EXPECT_TRUE(absl::StrContains(table, "0.8750  0.8625")) << table;
  EXPECT_TRUE(absl::StrContains(table, "WARNING: search 10 (seed 1)")) << table;
  EXPECT_FALSE(absl::StrContains(table, "WARNING: search 11")) << table;
}

TEST(Searches, PictureHasAPanelPerEdgeAndSearchAndALinePerOperation) {
  const std::string svg = RenderSearchWeightsSvg(TwoSearches());
  auto count = [&](const std::string& what) {
    int n = 0;
    for (size_t at = svg.find(what); at != std::string::npos;
         at = svg.find(what, at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("class=\"panel\""), 12);
  EXPECT_EQ(count("<polyline"), 60);
  EXPECT_EQ(count("class=\"legend\""), 5);
  // The chosen operation (skip_connect, op-1, for search 10) is thick.
  EXPECT_TRUE(
      absl::StrContains(svg,
                        "class=\"op-1\" fill=\"none\" stroke=\"#e69f00\" "
                        "stroke-width=\"3\""));
  // The y range is the weights' own (0.125 .. 0.5, rounded out to 0.10 ..
  // 0.5); epoch 3 of search 10, edge 0: weight 0.5 of skip_connect, plotted
  // at the panel's right end and top.
  EXPECT_TRUE(absl::StrContains(svg, ">0.50</text>")) << svg.substr(0, 3000);
  EXPECT_TRUE(absl::StrContains(svg, ">0.10</text>")) << svg.substr(0, 3000);
  EXPECT_TRUE(absl::StrContains(svg, "220.0,64.0")) << svg.substr(0, 3000);
  std::ofstream("/tmp/nas_searches_test.svg") << svg;
}

// Zero-cost proxies. Genotypes A-D were screened (proxy scores) and their
// winning children trained; E was only screened and F only trained.
v1::Candidate Row(int64_t id, const std::string& genotype) {
  v1::Candidate c;
  c.set_id(id);
  c.set_state(v1::CANDIDATE_EVALUATED);
  c.mutable_genotype()->set_canonical(genotype);
  return c;
}

v1::Candidate Screen(int64_t id, const std::string& genotype, int64_t group,
                     double synflow, double jacob_cov) {
  v1::Candidate c = Row(id, genotype);
  c.set_screening(true);
  c.set_supernet(true);  // as the store marks screening rows (0019)
  c.set_screen_group(group);
  (*c.mutable_metrics()->mutable_named_metrics())["synflow"] = synflow;
  (*c.mutable_metrics()->mutable_named_metrics())["jacob_cov"] = jacob_cov;
  return c;
}

v1::Candidate Trained(int64_t id, const std::string& genotype, int64_t group,
                      double val, double test) {
  v1::Candidate c = Row(id, genotype);
  c.set_screen_group(group);
  c.mutable_metrics()->set_val_accuracy(val);
  c.mutable_metrics()->set_test_accuracy(test);
  return c;
}

std::vector<v1::Candidate> ScreenedAndTrained() {
  // synflow orders A < B < C < D as val does (rho 1); jacob_cov swaps B
  // and C (rho 0.8, tau 4/6). Test accuracy: A 0.4, B 0.5, C 0.6, D 0.3.
  return {Screen(1, "A", 1, 1e2, 10),    Screen(2, "B", 2, 1e4, 30),
          Screen(3, "C", 3, 1e6, 20),    Screen(4, "D", 4, 1e8, 40),
          Screen(5, "E", 5, 5, 5),       Trained(11, "A", 1, 0.5, 0.4),
          Trained(12, "B", 2, 0.6, 0.5), Trained(13, "C", 3, 0.7, 0.6),
          Trained(14, "D", 4, 0.8, 0.3), Trained(15, "F", 0, 0.9, 0.9)};
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

TEST(RankCorrelation, MonotoneReversedTiedAndHandComputed) {
  const std::vector<double> x = {1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(Spearman(x, {10, 20, 30, 40, 1000}), 1);
  EXPECT_DOUBLE_EQ(KendallTauB(x, {10, 20, 30, 40, 1000}), 1);
  EXPECT_DOUBLE_EQ(Spearman(x, {5, 4, 3, 2, 1}), -1);
  EXPECT_DOUBLE_EQ(KendallTauB(x, {5, 4, 3, 2, 1}), -1);
  // One swapped pair of four: d^2 = 2, rho = 1 - 6*2/(4*15) = 0.8;
  // 5 concordant, 1 discordant of 6 pairs: tau = 4/6.
  EXPECT_NEAR(Spearman({1, 2, 3, 4}, {1, 3, 2, 4}), 0.8, 1e-12);
  EXPECT_NEAR(KendallTauB({1, 2, 3, 4}, {1, 3, 2, 4}), 4.0 / 6, 1e-12);
  // Ties: ranks averaged; tau-b = (C - D) / sqrt((n0 - t_a)(n0 - t_b)):
  // a = {1, 1, 2}, b = {1, 2, 3}: pairs (0,1) tied in a, (0,2) and (1,2)
  // concordant: 2 / sqrt(2 * 3).
  EXPECT_EQ(Ranks({10, 20, 20, 30}), (std::vector<double>{1, 2.5, 2.5, 4}));
  EXPECT_NEAR(KendallTauB({1, 1, 2}, {1, 2, 3}), 2 / std::sqrt(6.0), 1e-12);
  // Degenerate samples are 0, not an error.
  EXPECT_EQ(Spearman({1}, {2}), 0);
  EXPECT_EQ(KendallTauB({1, 1, 1}, {1, 2, 3}), 0);
}

TEST(Proxies, NamesRankedProxyAndScreenedLine) {
  EXPECT_TRUE(IsZeroCostProxy("jacob_cov"));
  EXPECT_FALSE(IsZeroCostProxy("val_accuracy"));
  v1::ExperimentSpec spec;
  EXPECT_EQ(RankedProxy(spec), "");
  spec.mutable_evaluation()->set_mode(v1::ZERO_COST);
  EXPECT_EQ(RankedProxy(spec), "synflow");
  spec.mutable_objective()->set_metric("snip");
  EXPECT_EQ(RankedProxy(spec), "snip");
  spec.mutable_strategy()->mutable_evolution()->mutable_proxy()->set_children(
      4);
  EXPECT_EQ(RankedProxy(spec), "synflow");  // guidance's default
  spec.mutable_strategy()->mutable_evolution()->mutable_proxy()->set_metric(
      "grad_norm");
  EXPECT_EQ(RankedProxy(spec), "grad_norm");

  v1::ExperimentCounts n;
  EXPECT_EQ(ScreenedText(n), "");
  n.set_screened(12);
  n.set_screens_pending(2);
  EXPECT_EQ(ScreenedText(n), "12 (2 slots being scored)");
  n.set_screens_pending(1);
  EXPECT_EQ(ScreenedText(n), "12 (1 slot being scored)");
}

TEST(CandidateTable, ProxyColumnsAndScreeningMarkers) {
  google::protobuf::RepeatedPtrField<v1::Candidate> cs;
  for (const v1::Candidate& k : ScreenedAndTrained()) *cs.Add() = k;
  (*cs[0].mutable_metrics()->mutable_named_metrics())["synflow"] = 123456;
  v1::ObjectiveSpec objective;
  objective.set_metric("synflow");  // shown once, in its proxy column
  CandidateTableOptions options;
  options.objective = &objective;
  const std::string table = CandidateTable(cs, options);
  std::vector<std::string> lines = absl::StrSplit(table, '\n');
  ASSERT_GE(lines.size(), 11u) << table;
  EXPECT_TRUE(absl::StrContains(lines[0],
                                "VAL_ACC   SYNFLOW JACOB_COV "
                                "TEST_ACC"))
      << table;
  EXPECT_FALSE(absl::StrContains(lines[0], "SNIP")) << table;  // none scored
  EXPECT_FALSE(absl::StrContains(lines[0], "synflow")) << table;
  // A screening row: untrained accuracies are "-", scores %.3g, the group.
  EXPECT_TRUE(absl::StrContains(lines[1],
                                "        -  1.23e+05        10 "
                                "       -"))
      << lines[1];
  EXPECT_TRUE(absl::StrContains(lines[1], "(screen g1) A")) << lines[1];
  // The trained child says which group it won; no scores of its own.
  EXPECT_TRUE(absl::StrContains(lines[6],
                                "0.5000         -         -   "
                                "0.4000"))
      << lines[6];
  EXPECT_TRUE(absl::StrContains(lines[6], "(won screen g1) A")) << lines[6];
  // A plain search result has no note.
  EXPECT_TRUE(absl::EndsWith(lines[10], "  F")) << lines[10];

  // Without proxy scores the table is as before: no proxy columns.
  google::protobuf::RepeatedPtrField<v1::Candidate> plain;
  *plain.Add() = Trained(15, "F", 0, 0.9, 0.9);
  const std::string before = CandidateTable(plain, {});
  EXPECT_TRUE(absl::StrContains(before, "VAL_ACC TEST_ACC")) << before;
  EXPECT_FALSE(absl::StrContains(before, "SYNFLOW")) << before;
}

TEST(Proxies, PairsByGenotypeAndLeavesOutOneSided) {
  const std::vector<ProxyPoint> points =
      PairProxiesWithAccuracy(ScreenedAndTrained(), /*zero_cost=*/false);
  // E (proxy only) and F (accuracy only) are left out; best first.
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[0].genotype, "D");
  EXPECT_EQ(points[0].candidate_id, 14);
  EXPECT_EQ(points[0].proxies.at("synflow"), 1e8);
  EXPECT_EQ(points[0].val_accuracy, 0.8);
  EXPECT_EQ(points[0].test_accuracy, 0.3);
  EXPECT_EQ(points[3].genotype, "A");

  const std::vector<ProxyCorrelation> corr = ProxyCorrelations(points);
  ASSERT_EQ(corr.size(), 2u);
  EXPECT_EQ(corr[0].proxy, "synflow");
  EXPECT_EQ(corr[0].n_val, 4);
  EXPECT_NEAR(corr[0].rho_val, 1, 1e-12);
  EXPECT_NEAR(corr[0].tau_val, 1, 1e-12);
  // Against test (ranks 2 3 4 1): d^2 = 12, rho = 1 - 72/60; tau 3-3 = 0.
  EXPECT_NEAR(corr[0].rho_test, -0.2, 1e-12);
  EXPECT_NEAR(corr[0].tau_test, 0, 1e-12);
  EXPECT_EQ(corr[1].proxy, "jacob_cov");
  EXPECT_NEAR(corr[1].rho_val, 0.8, 1e-12);
  EXPECT_NEAR(corr[1].tau_val, 4.0 / 6, 1e-12);

  const std::string table = ProxyTable(points, "synflow");
  EXPECT_TRUE(absl::StrContains(
      table, "CANDIDATE   SYNFLOW JACOB_COV  VAL_ACC TEST_ACC  GENOTYPE"))
      << table;
  EXPECT_TRUE(absl::StrContains(table,
                                "       14     1e+08        40   "
                                "0.8000   0.3000  D"))
      << table;
  EXPECT_TRUE(absl::StrContains(table, "4 genotypes")) << table;
  EXPECT_TRUE(absl::StrContains(table,
                                "synflow      1.000   1.000     4  "
                                "-0.200   0.000     4  (ranks the "
                                "search)"))
      << table;
  EXPECT_TRUE(absl::StrContains(table, "jacob_cov    0.800   0.667     4"))
      << table;

  // A score that overflowed pairs nothing.
  std::vector<v1::Candidate> overflow = ScreenedAndTrained();
  (*overflow[0].mutable_metrics()->mutable_named_metrics())["synflow"] =
      std::numeric_limits<double>::infinity();
  const std::vector<ProxyPoint> finite =
      PairProxiesWithAccuracy(overflow, false);
  ASSERT_EQ(finite.size(), 4u);
  EXPECT_EQ(finite[3].proxies.count("synflow"), 0u);  // A
  EXPECT_EQ(finite[3].proxies.at("jacob_cov"), 10);

  // Nothing paired: one line saying so.
  const std::vector<v1::Candidate> lonely = {Screen(5, "E", 5, 5, 5),
                                             Trained(15, "F", 0, 0.9, 0.9)};
  EXPECT_TRUE(PairProxiesWithAccuracy(lonely, false).empty());
  EXPECT_TRUE(absl::StartsWith(ProxyTable({}, ""), "no genotype has both"));
}

// A ZERO_COST experiment: every row is scored (not screening) and only its
// final re-trainings are trained, so the points have test accuracy only.
TEST(Proxies, ZeroCostExperimentPairsWithFinalReTrainings) {
  std::vector<v1::Candidate> cs;
  for (int i = 0; i < 3; ++i) {
    v1::Candidate k = Row(i + 1, absl::StrCat("G", i));
    (*k.mutable_metrics()->mutable_named_metrics())["grad_norm"] = 3 - i;
    cs.push_back(k);
  }
  cs[0].mutable_final()->set_test_accuracy(0.7);  // G0
  v1::Candidate retrain = Row(9, "G1");           // G1's re-training row
  retrain.set_final_of(2);
  retrain.mutable_metrics()->set_test_accuracy(0.8);
  cs.push_back(retrain);
  // Scored rows' own (zero) accuracies never count as trained ones.
  EXPECT_TRUE(PairProxiesWithAccuracy({cs[2]}, /*zero_cost=*/true).empty());
  const std::vector<ProxyPoint> points = PairProxiesWithAccuracy(cs, true);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].genotype, "G1");
  EXPECT_FALSE(points[0].val_accuracy.has_value());
  EXPECT_EQ(points[0].test_accuracy, 0.8);
  const std::vector<ProxyCorrelation> corr = ProxyCorrelations(points);
  ASSERT_EQ(corr.size(), 1u);
  EXPECT_EQ(corr[0].n_val, 0);
  EXPECT_EQ(corr[0].n_test, 2);
  EXPECT_NEAR(corr[0].rho_test, -1, 1e-12);  // 3 -> 0.7, 2 -> 0.8
  // The picture falls back to test accuracy.
  const std::string svg = RenderProxySvg(points, "grad_norm", 8);
  EXPECT_TRUE(absl::StrContains(svg, "test accuracy (final re-training)"));
  EXPECT_FALSE(absl::StrContains(svg, "(log scale)"));
}

TEST(Proxies, SvgHasAPointPerPairLogAxisAndLabels) {
  const std::vector<ProxyPoint> points =
      PairProxiesWithAccuracy(ScreenedAndTrained(), false);
  const std::string svg = RenderProxySvg(points, "synflow", 7);
  std::ofstream("/tmp/nas_proxies_test.svg") << svg;
  const size_t begin = svg.find("<g class=\"points\"");
  ASSERT_NE(begin, std::string::npos);
  const std::string group = svg.substr(begin, svg.find("</g>", begin) - begin);
  EXPECT_EQ(Count(group, "<circle"), 4) << group;
  // Scores span six decades: a log axis with a tick per decade.
  EXPECT_TRUE(absl::StrContains(
      svg, ">synflow score at initialization (log scale)</text>"));
  EXPECT_TRUE(absl::StrContains(svg, ">validation accuracy (trained)</text>"));
  for (const char* tick : {">100<", ">10000<", ">1e6<", ">1e8<"}) {
    EXPECT_TRUE(absl::StrContains(svg, tick)) << tick;
  }
  EXPECT_TRUE(absl::StrContains(
      svg,
      "Experiment 7: synflow vs validation accuracy (4 genotypes, Spearman "
      "rho 1.000)"));
  // The points rise left to right: x increases with the accuracy.
  std::regex circle("<circle cx=\"([0-9.]+)\" cy=\"([0-9.]+)\"");
  std::vector<std::pair<double, double>> xy;
  for (auto it = std::sregex_iterator(group.begin(), group.end(), circle);
       it != std::sregex_iterator(); ++it) {
    xy.push_back({std::stod((*it)[1]), std::stod((*it)[2])});
  }
  ASSERT_EQ(xy.size(), 4u);
  std::sort(xy.begin(), xy.end());
  for (size_t i = 1; i < xy.size(); ++i) {
    EXPECT_LT(xy[i].second, xy[i - 1].second);  // SVG y grows downwards
    // Evenly spaced decades: equal steps on the log axis.
    EXPECT_NEAR(xy[i].first - xy[i - 1].first, xy[1].first - xy[0].first, 0.2);
  }
  // jacob_cov spans less than two decades: a linear axis.
  EXPECT_FALSE(
      absl::StrContains(RenderProxySvg(points, "jacob_cov", 7), "log scale"));
}

// Two series get a legend box naming both; one series is named in the
// title instead (unless the title already says it), and gets no legend.
TEST(SvgLegend, TwoSeriesGetALegendOneIsNamedInTheTitle) {
  ScatterPlot plot;
  plot.title = "Experiment 3: front";
  plot.points = {{1, 0.5, ""}, {2, 0.6, ""}};
  plot.highlight = {{2, 0.6, ""}};
  plot.points_name = "evaluated candidates";
  plot.highlight_name = "Pareto front";
  std::string svg = RenderScatterSvg(plot);
  EXPECT_EQ(Count(svg, "<g class=\"legend\">"), 1);
  EXPECT_EQ(Count(svg, "<g class=\"legend-entry\">"), 2);
  EXPECT_TRUE(absl::StrContains(svg, ">evaluated candidates</text>"));
  // The legend's dots are no <circle>s: those are the data's points.
  EXPECT_EQ(Count(svg, "<circle"), 3);
  EXPECT_TRUE(absl::StrContains(svg, ">Experiment 3: front</text>"));
  plot.highlight.clear();
  svg = RenderScatterSvg(plot);
  EXPECT_EQ(Count(svg, "class=\"legend"), 0);
  EXPECT_TRUE(absl::StrContains(
      svg, ">Experiment 3: front (evaluated candidates)</text>"));
  plot.title = "all evaluated candidates";
  EXPECT_TRUE(absl::StrContains(RenderScatterSvg(plot),
                                ">all evaluated candidates</text>"));

  LineChart chart;
  chart.title = "curves";
  chart.styles = {{"ran every epoch", "#00f"}, {"stopped early", "#f80"}};
  chart.series = {{{{1, 0.2, ""}, {2, 0.4, ""}}, "a", 0}};
  svg = RenderLineChartSvg(chart);
  EXPECT_EQ(Count(svg, "class=\"legend"), 0);
  EXPECT_TRUE(absl::StrContains(svg, ">curves (ran every epoch)</text>"));
  chart.series.push_back({{{1, 0.3, ""}}, "b", 1, PlotPoint{1, 0.3, "cut"}});
  chart.marker_name = "cut here";
  svg = RenderLineChartSvg(chart);
  EXPECT_EQ(Count(svg, "<g class=\"legend-entry\">"), 3);
  EXPECT_EQ(Count(svg, "<polyline class=\"curve\""), 2);
  EXPECT_EQ(Count(svg, "<g class=\"stop-marker\">"), 1);
}

// Epochs reported out of order are joined in epoch order; the best trial
// (highest last accuracy) is drawn last and named in the legend.
TEST(LearningCurves, PointsJoinedInEpochOrderBestOnTop) {
  v1::ListLearningCurvesResponse r;
  r.set_epochs(3);
  v1::LearningCurve& a = *r.add_curves();
  a.set_candidate_id(7);
  for (int e : {2, 1, 3}) {
    v1::CurvePoint& p = *a.add_points();
    p.set_epoch(e);
    p.set_val_accuracy(0.1 * e);
  }
  v1::LearningCurve& b = *r.add_curves();
  b.set_candidate_id(8);
  b.add_points()->set_epoch(1);
  b.mutable_points(0)->set_val_accuracy(0.05);
  b.set_stopped_at_epoch(1);
  b.set_early_stopped("median");
  const std::string svg = RenderLearningCurvesSvg(4, r);
  std::regex line("<polyline class=\"curve\" points=\"([^\"]*)\"");
  std::vector<std::string> lines;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), line);
       it != std::sregex_iterator(); ++it) {
    lines.push_back((*it)[1]);
  }
  ASSERT_EQ(lines.size(), 2u) << svg;
  std::vector<double> xs;  // the best (candidate 7) comes last
  for (absl::string_view pt : absl::StrSplit(lines[1], ' ')) {
    xs.push_back(std::stod(std::string(pt.substr(0, pt.find(',')))));
  }
  ASSERT_EQ(xs.size(), 3u);
  EXPECT_LT(xs[0], xs[1]);
  EXPECT_LT(xs[1], xs[2]);
  EXPECT_TRUE(absl::StrContains(svg, "best trial (candidate 7)"));
  EXPECT_TRUE(
      absl::StrContains(svg, "candidate 8: stopped at epoch 1: median"));
  EXPECT_TRUE(
      absl::StrContains(LearningCurvesTable(r), "stopped at epoch 1: median"));
}

// A log y axis: decade ticks, the points placed by log10, a point at 0
// left out.
TEST(SvgAxes, LogYAxisHasDecadesAndDropsNonPositiveValues) {
  ScatterPlot plot;
  plot.y_axis.log = true;
  plot.points = {{1, 1, ""}, {2, 10, ""}, {3, 1000, ""}, {4, 0, ""}};
  const std::string svg = RenderScatterSvg(plot);
  for (const char* tick : {">1<", ">10<", ">100<", ">1000<"}) {
    EXPECT_TRUE(absl::StrContains(svg, tick)) << tick;
  }
  const size_t begin = svg.find("<g class=\"points\"");
  const std::string group = svg.substr(begin, svg.find("</g>", begin) - begin);
  std::regex circle("cy=\"([0-9.]+)\"");
  std::vector<double> ys;
  for (auto it = std::sregex_iterator(group.begin(), group.end(), circle);
       it != std::sregex_iterator(); ++it) {
    ys.push_back(std::stod((*it)[1]));
  }
  ASSERT_EQ(ys.size(), 3u);  // y = 0 is not on a log axis
  // 1 -> 10 is a third of 1 -> 1000.
  EXPECT_NEAR((ys[0] - ys[1]) * 3, ys[0] - ys[2], 0.5);
}

}  // namespace
}  // namespace nas
