// Listing caps of Experiments (issue 22) against a throw-away PostgreSQL:
// page sizes over the maximum are served as the maximum, and a page stops
// before its encoded size passes max_response_bytes, with a
// next_page_token that continues exactly where it stopped.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/controller_options.h"
#include "controller/experiments.h"
#include "controller/store/store.h"
#include "controller/worker_registry.h"
#include "gtest/gtest.h"
#include "tests/controller/migrated_store_suite.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

v1::ExperimentSpec Spec(const std::string& name) {
  v1::ExperimentSpec spec;
  spec.set_name(name);
  spec.mutable_search_space()->set_name("nb201");
  spec.mutable_strategy()->set_name("random");
  spec.mutable_budget()->set_max_trials(10);
  spec.mutable_evaluation()->set_mode(v1::FULL);
  spec.mutable_evaluation()->set_epochs(1);
  (*spec.mutable_required_labels())["test"] = name;
  return spec;
}

class ListingCapsTest : public MigratedStoreSuite {
 protected:
  std::unique_ptr<Experiments> MakeExperiments(int64_t max_response_bytes) {
    options_.max_response_bytes = max_response_bytes;
    return std::make_unique<Experiments>(store_, /*scheduler=*/nullptr,
                                         &workers_, options_);
  }

  ControllerOptions options_;
  WorkerRegistry workers_{store_, absl::Seconds(30)};
};

TEST_F(ListingCapsTest, CandidatePagesAreCappedInCountAndBytes) {
  auto id = store_->CreateExperiment(Spec("candidates"), 1);
  NAS_ASSERT_OK(id);
  std::vector<NewCandidate> cands;
  for (int i = 0; i < 1500; ++i) cands.push_back(QueuedTestCandidate(i));
  NAS_ASSERT_OK(store_->InsertCandidates(*id, cands));

  auto big = MakeExperiments(int64_t{4} << 20);
  v1::ListCandidatesRequest req;
  req.set_experiment_id(*id);
  req.set_page_size(5000);
  auto page = big->ListCandidates(req);
  NAS_ASSERT_OK(page);
  EXPECT_EQ(page->candidates_size(), Experiments::kMaxCandidatesPage);
  EXPECT_EQ(page->total(), 1500);
  EXPECT_EQ(page->next_page_token(), "1000");

  // A 2,000-byte cap: several pages of a few candidates, none lost or
  // repeated.
  auto small = MakeExperiments(2000);
  req.set_page_size(100);
  std::set<int32_t> seen;
  int pages = 0;
  while (true) {
    auto p = small->ListCandidates(req);
    NAS_ASSERT_OK(p);
    ++pages;
    ASSERT_GE(p->candidates_size(), 1);
    EXPECT_LE(p->ByteSizeLong(), 2000u + 1000u);  // one item may pass it
    for (const v1::Candidate& c : p->candidates()) {
      EXPECT_TRUE(seen.insert(c.seq()).second) << c.seq();
    }
    if (p->next_page_token().empty()) break;
    req.set_page_token(p->next_page_token());
  }
  EXPECT_EQ(seen.size(), 1500u);
  EXPECT_GT(pages, 15);  // 100 per page would be 15
}

TEST_F(ListingCapsTest, ExperimentPagesAreCappedInBytes) {
  std::set<int64_t> created;
  for (int i = 0; i < 3; ++i) {
    auto id = store_->CreateExperiment(Spec(absl::StrCat("exp", i)), 1);
    NAS_ASSERT_OK(id);
    created.insert(*id);
  }
  // A cap below one experiment: one per page, each page with a token but
  // the last.
  auto tiny = MakeExperiments(1);
  v1::ListExperimentsRequest req;
  req.set_page_size(1000);
  std::set<int64_t> seen;
  while (true) {
    auto p = tiny->ListExperiments(req);
    NAS_ASSERT_OK(p);
    ASSERT_EQ(p->experiments_size(), 1);
    seen.insert(p->experiments(0).id());
    if (p->next_page_token().empty()) break;
    req.set_page_token(p->next_page_token());
  }
  for (int64_t id : created) EXPECT_TRUE(seen.count(id)) << id;
}

}  // namespace
}  // namespace nas
