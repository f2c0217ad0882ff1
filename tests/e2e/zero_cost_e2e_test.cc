// Zero-cost proxies on the fleet (issue 21), end to end: a real PostgreSQL,
// nas-controller, two nas-worker processes and real LibTorch on
// Fashion-MNIST.
//  1. A ZERO_COST experiment: every candidate is scored, untrained, with
//     all four proxies (stored as named metrics), ranked by synflow; its
//     best is re-trained for real (final:), so nasctl proxies has a pair.
//  2. Proxy-guided evolution: each of 4 trained candidates is the best of
//     3 screened children; checked in the database (every screening row
//     scored, each slot's trained child is its best-scored child) and
//     through nasctl candidates.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/testing/cluster.h"
#include "tests/testing/process.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

class ZeroCost : public ::testing::Test, public testing::LocalCluster {
 protected:
  void SetUp() override {
    NAS_ASSERT_OK(Start("zero_cost"));
    ASSERT_TRUE(StartController());
    StartWorker("w1");
    StartWorker("w2");
    ASSERT_TRUE(WaitForWorkers(2));
  }
  void TearDown() override { Finish(HasFailure(), 80); }

  std::string Nasctl(const std::string& args, int* rc) {
    std::string out;
    *rc = testing::RunCommand(
        absl::StrCat(testing::Binary("client/nasctl"),
                     " --controller=", address(), " ", args, " 2>&1"),
        &out);
    return out;
  }
};

TEST_F(ZeroCost, ScoresEveryCandidateWithEveryProxyAndRetrainsTheBest) {
  testing::SpecYaml spec;
  spec.name = "zero-cost-e2e";
  spec.search_space = testing::TinyNb201();
  spec.strategy = "{name: random, seed: 5}";
  spec.budget = testing::TrialBudget(6, 2);
  spec.evaluation = "\n  mode: ZERO_COST" +
                    testing::FullTraining(1, 1200, 300, 300) +
                    "\n  zero_cost: {batches: 2, batch_size: 16}";
  spec.extra = "final: {top_k: 1, epochs: 1}\n";
  v1::Experiment e;
  grpc::Status created = Create(spec.Yaml(), &e);
  ASSERT_TRUE(created.ok()) << created.error_message();
  const std::string id = absl::StrCat(e.id());
  ASSERT_TRUE(WaitFinished(e.id(), absl::Minutes(5)));
  EXPECT_EQ(Psql("SELECT state FROM experiments WHERE id=" + id), "SUCCEEDED")
      << Psql("SELECT error FROM experiments WHERE id=" + id);
  // Six candidates, each with four finite proxies and no accuracy.
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE final_of IS NULL "
                  "AND state = 'EVALUATED' AND named_metrics ?& "
                  "array['synflow','jacob_cov','snip','grad_norm'] AND "
                  "val_accuracy = 0 AND params > 0 AND macs > 0 AND "
                  "experiment_id=" +
                  id),
            6);
  // The best by synflow was re-trained for real.
  EXPECT_EQ(Psql("SELECT f.final_of = (SELECT id FROM candidates WHERE "
                 "experiment_id=" +
                 id +
                 " AND final_of IS NULL ORDER BY (named_metrics->>'synflow')"
                 "::float8 DESC, seq LIMIT 1) FROM candidates f WHERE "
                 "f.final_of IS NOT NULL AND f.experiment_id=" +
                 id),
            "t");
  // (A final re-training trains on training and validation images: its
  // accuracy is the test set's.)
  EXPECT_GT(std::stod(Psql("SELECT test_accuracy FROM candidates WHERE "
                           "final_of IS NOT NULL AND experiment_id=" +
                           id)),
            0.2);
  int rc = 0;
  const std::string out = Nasctl("candidates " + id, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "synflow") ||
              absl::StrContains(out, "SYNFLOW"))
      << out;
}

TEST_F(ZeroCost, ProxyGuidedEvolutionTrainsTheBestScoredChildOfEachSlot) {
  testing::SpecYaml spec;
  spec.name = "proxy-evolution-e2e";
  spec.search_space = testing::TinyNb201();
  spec.strategy =
      "{name: evolution, seed: 3, evolution: {population: 2, sample_size: "
      "2, proxy: {children: 3, metric: synflow}}}";
  spec.budget = testing::TrialBudget(4, 2);
  spec.evaluation = testing::FullTraining(1, 1200, 300, 300) +
                    "\n  zero_cost: {batches: 1, batch_size: 16}";
  v1::Experiment e;
  grpc::Status created = Create(spec.Yaml(), &e);
  ASSERT_TRUE(created.ok()) << created.error_message();
  const std::string id = absl::StrCat(e.id());
  ASSERT_TRUE(WaitFinished(e.id(), absl::Minutes(6)));
  EXPECT_EQ(Psql("SELECT state FROM experiments WHERE id=" + id), "SUCCEEDED")
      << Psql("SELECT error FROM experiments WHERE id=" + id);
  // 4 slots x 3 children, every one scored with every proxy.
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE screening AND "
                  "experiment_id=" +
                  id),
            12);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE screening AND "
                  "state = 'EVALUATED' AND named_metrics ?& "
                  "array['synflow','jacob_cov','snip','grad_norm'] AND "
                  "experiment_id=" +
                  id),
            12);
  EXPECT_EQ(Count("SELECT count(DISTINCT screen_group) FROM candidates "
                  "WHERE screening AND experiment_id=" +
                  id),
            4);
  // Each slot's trained child is its child with the highest synflow, and
  // was trained (val_accuracy > 0), and is counted as the candidates.
  EXPECT_EQ(Count("SELECT count(*) FROM candidates w WHERE NOT w.screening "
                  "AND w.screen_group IS NOT NULL AND w.state = 'EVALUATED' "
                  "AND w.val_accuracy > 0.1 AND w.arch_hash = (SELECT "
                  "s.arch_hash FROM candidates s WHERE s.experiment_id = "
                  "w.experiment_id AND s.screening AND s.screen_group = "
                  "w.screen_group ORDER BY (s.named_metrics->>'synflow')"
                  "::float8 DESC, s.seq LIMIT 1) AND w.experiment_id=" +
                  id),
            4);
  v1::Experiment done = Get(e.id());
  EXPECT_EQ(done.counts().candidates(), 4);
  EXPECT_EQ(done.counts().screened(), 12);
  EXPECT_EQ(done.counts().screens_pending(), 0);
  EXPECT_EQ(done.counts().trials_succeeded(), 4);
  EXPECT_NE(done.best().screen_group(), 0);
  int rc = 0;
  std::string out = Nasctl("candidates " + id + " --all", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "(screen g")) << out;
  EXPECT_TRUE(absl::StrContains(out, "(won screen g")) << out;
  // Each trained child pairs with its own screening score.
  out = Nasctl("proxies " + id, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "rho")) << out;
}

}  // namespace
}  // namespace nas
