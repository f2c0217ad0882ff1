// TABULAR mode: the CSV table, lookups, errors, scaling, caching, routing,
// and the genotype-string mapping of NAS-Bench-201's table.
#include "worker/evaluators/tabular_evaluator.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include "common/spaces/nb201_space.h"
#include "common/spaces/search_space.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/evaluators/mode_router.h"

namespace nas {
namespace {

using absl::StatusCode;
using ::nas::testing::StatusIs;

// Two NB201 cells, accuracies in percent, NB201's column names.
constexpr char kTable[] =
    "index,arch,cifar10_valid_acc_12ep,cifar10_test_acc,train_seconds_200ep,"
    "flops_m,params_m,latency_ms_pixel3\n"
    "0,|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|"
    "skip_connect~1|skip_connect~2|,63.364,85.8633,1444.22,15.64737,0.129306,"
    "3.60585\n"
    "1,|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|"
    "nor_conv_3x3~1|skip_connect~2|,82.834,93.66,2169.64,113.95137,0.802426,"
    "17.2381\n";

class TabularTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("nas-tabular-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = Write("table.csv", kTable);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }

  // A TABULAR trial of `canonical` against the file at `path`, with the
  // NAS-Bench-201 protocol's columns.
  v1::Trial Trial(const std::string& canonical, const std::string& path) {
    v1::Trial t;
    const SearchSpace* space = *GetSearchSpace("nb201");
    *t.mutable_genotype() = *space->ToProto(*space->Parse(canonical));
    t.mutable_search_space()->set_name("nb201");
    t.mutable_evaluation()->set_mode(v1::TABULAR);
    t.mutable_evaluation()->set_dataset("fashion_mnist");
    v1::TabularOptions* o = t.mutable_evaluation()->mutable_tabular();
    o->set_path(path);
    o->set_key_column("arch");
    o->set_val_column("cifar10_valid_acc_12ep");
    o->set_test_column("cifar10_test_acc");
    o->set_cost_column("train_seconds_200ep");
    o->set_cost_scale(0.06);
    o->set_accuracy_scale(0.01);
    return t;
  }

  static constexpr char kArch1[] =
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|"
      "nor_conv_3x3~1|skip_connect~2|";
  std::filesystem::path dir_;
  std::string path_;
  TabularEvaluator eval_;
};

TEST_F(TabularTest, LooksUpTheRowAndConvertsPercentToFraction) {
  v1::Trial t = Trial(kArch1, path_);
  t.mutable_evaluation()->mutable_tabular()->set_macs_column("flops_m");
  t.mutable_evaluation()->mutable_tabular()->set_macs_scale(1e6);
  t.mutable_evaluation()->mutable_tabular()->set_params_column("params_m");
  t.mutable_evaluation()->mutable_tabular()->set_params_scale(1e6);
  t.mutable_evaluation()->mutable_tabular()->set_latency_column(
      "latency_ms_pixel3");
  bool called = false;
  absl::StatusOr<v1::EvaluationMetrics> m =
      eval_.Evaluate(t, [&](const EpochProgress&) { return called = true; });
  NAS_ASSERT_OK(m);
  EXPECT_DOUBLE_EQ(m->val_accuracy(), 0.82834);
  EXPECT_DOUBLE_EQ(m->test_accuracy(), 0.9366);
  EXPECT_DOUBLE_EQ(m->simulated_seconds(), 2169.64 * 0.06);
  EXPECT_DOUBLE_EQ(m->train_seconds(), m->simulated_seconds());
  EXPECT_EQ(m->macs(), 113951370);
  EXPECT_EQ(m->params(), 802426);
  EXPECT_DOUBLE_EQ(m->latency_ms(), 17.2381);
  EXPECT_EQ(m->epochs(), 0);
  EXPECT_EQ(m->device(), "table table.csv");
  EXPECT_FALSE(called);
}

TEST_F(TabularTest, WithoutCostColumnsReportsTheAnalyticCost) {
  v1::Trial t = Trial(kArch1, path_);
  absl::StatusOr<v1::EvaluationMetrics> m = eval_.Evaluate(t, nullptr);
  NAS_ASSERT_OK(m);
  const SearchSpace* space = *GetSearchSpace("nb201");
  absl::StatusOr<Cost> cost =
      space->ComputeCost(*space->Parse(kArch1), t.search_space(), InputShape{});
  NAS_ASSERT_OK(cost);
  EXPECT_EQ(m->macs(), cost->macs);
  EXPECT_EQ(m->params(), cost->params);
  EXPECT_GT(m->macs(), 0);
  EXPECT_EQ(m->latency_ms(), 0);
}

TEST_F(TabularTest, MissingColumnNamesColumnAndFile) {
  v1::Trial t = Trial(kArch1, path_);
  t.mutable_evaluation()->mutable_tabular()->set_val_column("cifar10_vald");
  EXPECT_THAT(eval_.Evaluate(t, nullptr),
              StatusIs(StatusCode::kInvalidArgument,
                       "column 'cifar10_vald' is not in the header of '" +
                           path_ + "' (8 columns)"));
  t = Trial(kArch1, path_);
  t.mutable_evaluation()->mutable_tabular()->set_key_column("genotype");
  EXPECT_THAT(eval_.Evaluate(t, nullptr),
              StatusIs(StatusCode::kInvalidArgument,
                       "evaluation.tabular.path: key column 'genotype' "
                       "(evaluation.tabular.key_column) is not in the header "
                       "(line 1) of '" +
                           path_ + "' (8 columns)"));
}

TEST_F(TabularTest, UnknownGenotypeIsNotFoundNamingGenotypeAndFile) {
  const std::string other = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";
  EXPECT_THAT(eval_.Evaluate(Trial(other, path_), nullptr),
              StatusIs(StatusCode::kNotFound,
                       "genotype '" + other + "' not in '" + path_ +
                           "' (key column 'arch', 2 rows)"));
}

TEST_F(TabularTest, MissingFileIsNotFoundNamingThePath) {
  const std::string missing = (dir_ / "nope.csv").string();
  EXPECT_THAT(
      eval_.Evaluate(Trial(kArch1, missing), nullptr),
      StatusIs(StatusCode::kNotFound,
               "evaluation.tabular.path: '" + missing + "' does not exist"));
}

TEST_F(TabularTest, PercentTableWithScaleOneIsRefused) {
  v1::Trial t = Trial(kArch1, path_);
  t.mutable_evaluation()->mutable_tabular()->set_accuracy_scale(1);
  EXPECT_THAT(eval_.Evaluate(t, nullptr),
              StatusIs(StatusCode::kInvalidArgument,
                       "column 'cifar10_valid_acc_12ep' (val_column) gives an "
                       "accuracy outside [0, 1] after accuracy_scale 1"));
}

TEST_F(TabularTest, FractionTableWithScaleOne) {
  const std::string p =
      Write("fractions.csv", std::string("arch,val,test,cost\n\"") + kArch1 +
                                 "\",0.5,0.625,10\n");
  v1::Trial t = Trial(kArch1, p);
  v1::TabularOptions* o = t.mutable_evaluation()->mutable_tabular();
  o->set_val_column("val");
  o->set_test_column("test");
  o->set_cost_column("cost");
  o->set_cost_scale(1);
  o->set_accuracy_scale(1);
  absl::StatusOr<v1::EvaluationMetrics> m = eval_.Evaluate(t, nullptr);
  NAS_ASSERT_OK(m);  // the quoted key matched
  EXPECT_DOUBLE_EQ(m->val_accuracy(), 0.5);
  EXPECT_DOUBLE_EQ(m->test_accuracy(), 0.625);
  EXPECT_DOUBLE_EQ(m->simulated_seconds(), 10);
}

TEST_F(TabularTest, BadNumberAndRaggedRowsAreNamed) {
  const std::string bad = Write(
      "bad.csv", std::string("arch,val,test,cost\n") + kArch1 + ",x,1,1\n");
  v1::Trial t = Trial(kArch1, bad);
  v1::TabularOptions* o = t.mutable_evaluation()->mutable_tabular();
  o->set_val_column("val");
  o->set_test_column("test");
  o->set_cost_column("cost");
  EXPECT_THAT(eval_.Evaluate(t, nullptr),
              StatusIs(StatusCode::kInvalidArgument,
                       "line 2, column 'val': not a finite number"));
  const std::string ragged =
      Write("ragged.csv", std::string("arch,val\n") + kArch1 + ",1,2\n");
  EXPECT_THAT(BenchmarkTable::Load(ragged, "arch"),
              StatusIs(StatusCode::kInvalidArgument,
                       "line 2: 3 fields, the header has 2"));
  const std::string repeated =
      Write("repeated.csv",
            std::string("arch,val\n") + kArch1 + ",1\n" + kArch1 + ",2\n");
  EXPECT_THAT(BenchmarkTable::Load(repeated, "arch"),
              StatusIs(StatusCode::kInvalidArgument,
                       "line 3: its key repeats an earlier row's"));
}

TEST_F(TabularTest, TableIsLoadedOncePerPath) {
  NAS_ASSERT_OK(eval_.Evaluate(Trial(kArch1, path_), nullptr));
  std::filesystem::remove(path_);  // the cached table still answers
  absl::StatusOr<v1::EvaluationMetrics> m =
      eval_.Evaluate(Trial(kArch1, path_), nullptr);
  NAS_ASSERT_OK(m);
  EXPECT_DOUBLE_EQ(m->test_accuracy(), 0.9366);
  TabularEvaluator fresh;  // another evaluator has its own cache
  EXPECT_THAT(fresh.Evaluate(Trial(kArch1, path_), nullptr),
              StatusIs(StatusCode::kNotFound, "does not exist"));
}

class FakeTrained final : public Evaluator {
 public:
  absl::StatusOr<v1::EvaluationMetrics> Evaluate(
      const v1::Trial&, const ProgressCallback&) override {
    v1::EvaluationMetrics m;
    m.set_device("trained");
    return m;
  }
  std::string TakeModel() override { return "trained model"; }
  std::string device() const override { return "fake device"; }
};

TEST_F(TabularTest, RouterSendsTabularTrialsToTheTable) {
  std::unique_ptr<Evaluator> router = MakeModeRouter(
      std::make_unique<FakeTrained>(), std::make_unique<TabularEvaluator>());
  EXPECT_EQ(router->device(), "fake device");
  absl::StatusOr<v1::EvaluationMetrics> m =
      router->Evaluate(Trial(kArch1, path_), nullptr);
  NAS_ASSERT_OK(m);
  EXPECT_EQ(m->device(), "table table.csv");
  v1::Trial full = Trial(kArch1, path_);
  full.mutable_evaluation()->set_mode(v1::FULL);
  m = router->Evaluate(full, nullptr);
  NAS_ASSERT_OK(m);
  EXPECT_EQ(m->device(), "trained");
  // The model comes from the evaluator that ran the last trial.
  EXPECT_EQ(router->TakeModel(), "trained model");
  NAS_ASSERT_OK(router->Evaluate(Trial(kArch1, path_), nullptr));
  EXPECT_EQ(router->TakeModel(), "");
}

// Every nb201 cell's canonical string parses back to the same cell: the
// space's strings are a bijection onto NAS-Bench-201's format.
TEST_F(TabularTest, CustomSpaceRowsAreKeyedByTheCanonicalString) {
  // A declared space: the table's key is "name=choice|..."; without cost
  // columns it reports no MACs or params (no analytic cost).
  v1::SearchSpaceSpec ss;
  ss.set_name("custom");
  v1::SpaceDecision* d = ss.add_decisions();
  d->set_name("depth");
  d->add_choices("2");
  d->add_choices("4");
  d = ss.add_decisions();
  d->set_name("act");
  d->add_choices("relu");
  d->add_choices("gelu,tanh");  // a comma, quoted in the CSV
  std::shared_ptr<const SearchSpace> space = *MakeSearchSpace(ss);
  const std::string path = Write("custom.csv",
                                 "arch,val,test,seconds\n"
                                 "depth=2|act=relu,0.5,0.4,10\n"
                                 "\"depth=4|act=gelu,tanh\",0.75,0.7,20\n");
  v1::Trial t = Trial(kArch1, path);
  *t.mutable_search_space() = ss;
  *t.mutable_genotype() = *space->ToProto({1, 1});
  v1::TabularOptions* o = t.mutable_evaluation()->mutable_tabular();
  o->set_val_column("val");
  o->set_test_column("test");
  o->set_cost_column("seconds");
  o->set_cost_scale(1);
  o->set_accuracy_scale(1);
  absl::StatusOr<v1::EvaluationMetrics> m = eval_.Evaluate(t, nullptr);
  NAS_ASSERT_OK(m);
  EXPECT_DOUBLE_EQ(m->val_accuracy(), 0.75);
  EXPECT_DOUBLE_EQ(m->simulated_seconds(), 20);
  EXPECT_EQ(m->macs(), 0);
  EXPECT_EQ(m->params(), 0);
}

TEST(Nb201Keys, AllCellsRoundTrip) {
  const SearchSpace* space = *GetSearchSpace("nb201");
  std::set<std::string> seen;
  std::vector<int> c(kNb201Edges, 0);
  for (int i = 0; i < 15625; ++i) {
    for (int e = 0, x = i; e < kNb201Edges; ++e, x /= kNb201Ops) {
      c[e] = x % kNb201Ops;
    }
    absl::StatusOr<std::string> s = space->Canonical(c);
    NAS_ASSERT_OK(s);
    absl::StatusOr<std::vector<int>> back = space->Parse(*s);
    NAS_ASSERT_OK(back);
    ASSERT_EQ(*back, c) << *s;
    seen.insert(*s);
  }
  EXPECT_EQ(seen.size(), 15625u);
}

// The shared NAS-Bench-201 table (not part of the repository): every row's
// key maps to a genotype and back to the same string, and the 15,625 rows
// are the 15,625 cells. Skipped when the table is absent.
TEST(Nb201Keys, SharedTableKeysMapToGenotypesAndBack) {
  const std::string path =
      std::string(NAS_SOURCE_DIR) + "/../shared/bench/nb201.csv";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent";
  absl::StatusOr<std::unique_ptr<BenchmarkTable>> table =
      BenchmarkTable::Load(path, "arch");
  NAS_ASSERT_OK(table);
  const SearchSpace* space = *GetSearchSpace("nb201");
  std::set<std::vector<int>> cells;
  for (const std::string& key : (*table)->Keys()) {
    absl::StatusOr<std::vector<int>> c = space->Parse(key);
    NAS_ASSERT_OK(c) << key;
    ASSERT_EQ(*space->Canonical(*c), key);
    cells.insert(*c);
  }
  EXPECT_EQ((*table)->num_rows(), 15625);
  EXPECT_EQ(cells.size(), 15625u);
}

// A spec may name any file the worker can read: an error must not carry
// the file's contents back to the client (issue 22: a token file and
// /proc/self/environ were read this way).
TEST_F(TabularTest, ErrorsNeverQuoteTheFile) {
  const std::string secret = "NAS_TOKEN=s3cr3t-0123456789abcdef";
  const std::string token = Write("token", secret + "\n");
  absl::Status s = eval_.Evaluate(Trial(kArch1, token), nullptr).status();
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument,
                          "evaluation.tabular.path: key column 'arch'"));
  EXPECT_EQ(s.ToString().find("s3cr3t"), std::string::npos) << s;
  // The key column exists; the secret is in a ragged row, a repeated key,
  // a value.
  const std::string ragged =
      Write("ragged-secret.csv", "arch,val\n" + secret + ",1,2\n");
  s = BenchmarkTable::Load(ragged, "arch").status();
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, "line 2: 3 fields"));
  EXPECT_EQ(s.ToString().find("s3cr3t"), std::string::npos) << s;
  const std::string repeated = Write(
      "repeated-secret.csv", "arch,val\n" + secret + ",1\n" + secret + ",2\n");
  s = BenchmarkTable::Load(repeated, "arch").status();
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, "line 3"));
  EXPECT_EQ(s.ToString().find("s3cr3t"), std::string::npos) << s;
  const std::string value =
      Write("value-secret.csv", std::string("arch,val,test,cost,s3cr3t\n") +
                                    kArch1 + "," + secret + ",1,1,1\n");
  v1::Trial t = Trial(kArch1, value);
  v1::TabularOptions* o = t.mutable_evaluation()->mutable_tabular();
  o->set_val_column("val");
  o->set_test_column("test");
  o->set_cost_column("cost");
  s = eval_.Evaluate(t, nullptr).status();
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument,
                          "line 2, column 'val': not a finite number"));
  EXPECT_EQ(s.ToString().find("s3cr3t"), std::string::npos) << s;
  o->set_val_column("nope");  // a missing column lists no header names
  s = eval_.Evaluate(t, nullptr).status();
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, "column 'nope'"));
  EXPECT_EQ(s.ToString().find("s3cr3t"), std::string::npos) << s;
}

// nas-worker's evaluator: tables under --data_root, regular files, at most
// --max_table_mib; refusals name evaluation.tabular.path.
TEST_F(TabularTest, TablesAreOpenedUnderTheLimits) {
  const std::filesystem::path root = dir_ / "root";
  std::filesystem::create_directories(root);
  const std::string inside = (root / "t.csv").string();
  std::filesystem::copy_file(path_, inside);
  TrialFileLimits limits;
  limits.roots = {root.string()};
  limits.max_bytes = 1024;
  limits.max_bytes_flag = "--max_table_mib";
  TabularEvaluator eval(limits);
  NAS_ASSERT_OK(eval.Evaluate(Trial(kArch1, inside), nullptr));
  EXPECT_THAT(eval.Evaluate(Trial(kArch1, path_), nullptr),
              StatusIs(StatusCode::kPermissionDenied,
                       "evaluation.tabular.path: " + path_ +
                           " is outside the worker's data roots"));
  const std::string fifo = (root / "fifo.csv").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(eval.Evaluate(Trial(kArch1, fifo), nullptr),
              StatusIs(StatusCode::kInvalidArgument,
                       "evaluation.tabular.path: '" + fifo +
                           "' is not a regular file (a FIFO)"));
  const std::string big = (root / "big.csv").string();
  std::ofstream(big) << std::string(2048, 'x');
  EXPECT_THAT(eval.Evaluate(Trial(kArch1, big), nullptr),
              StatusIs(StatusCode::kResourceExhausted,
                       "evaluation.tabular.path: '" + big +
                           "' is 2048 bytes, over --max_table_mib"));
}

}  // namespace
}  // namespace nas
