// The scheduler's pure top-up decisions (controller/proposal_rules.h):
// DecideDarts, DecideSupernet, DecideTopUp and DecideCandidates, without
// PostgreSQL.
#include "controller/proposal_rules.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace nas {
namespace {

// --- DecideCandidates ----------------------------------------------------

ProposedCandidate Proposed(const std::string& hash, int64_t macs = 100,
                           int64_t params = 10) {
  ProposedCandidate p;
  p.genotype.set_hash(hash);
  p.genotype.set_canonical(hash);
  p.parent_id = 7;
  p.generation = 2;
  p.strategy_data = "{\"k\":1}";
  p.cost = Cost{macs, params};
  return p;
}

TEST(DecideCandidates, FreshProposalsAreQueuedWithTheirCosts) {
  CandidatesInput in;
  in.observed = 12;
  in.proposals.push_back(Proposed("a", 300, 30));
  in.proposals.push_back(Proposed("b"));
  CandidatesDecision d = DecideCandidates(in);
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0].state, v1::CANDIDATE_QUEUED);
  EXPECT_EQ(d.rows[0].genotype.hash(), "a");
  EXPECT_EQ(d.rows[0].macs, 300);
  EXPECT_EQ(d.rows[0].params, 30);
  EXPECT_EQ(d.rows[0].parent_id, 7);
  EXPECT_EQ(d.rows[0].generation, 2);
  EXPECT_EQ(d.rows[0].strategy_data, "{\"k\":1}");
  EXPECT_EQ(d.rows[0].observed_results, 12);
  EXPECT_EQ(d.rows[0].duplicate_of, 0);
  EXPECT_EQ(d.rows[1].genotype.hash(), "b");
  EXPECT_EQ(d.rejected, 0);
  EXPECT_FALSE(d.propose_again);
}

TEST(DecideCandidates, HardConstraintsAndUnknownCostsReject) {
  CandidatesInput in;
  in.constraints.set_max_macs(1000);
  in.constraints.set_max_params(8000);
  in.proposals.push_back(Proposed("fits", 1000, 8000));
  in.proposals.push_back(Proposed("params", 10, 9000));
  in.proposals.push_back(Proposed("macs", 2000, 9000));  // macs named first
  ProposedCandidate broken = Proposed("broken");
  broken.cost = absl::InvalidArgumentError("cell 3: unknown op");
  in.proposals.push_back(std::move(broken));
  CandidatesDecision d = DecideCandidates(in);
  ASSERT_EQ(d.rows.size(), 4u);
  EXPECT_EQ(d.rows[0].state, v1::CANDIDATE_QUEUED);
  EXPECT_EQ(d.rows[1].state, v1::CANDIDATE_REJECTED);
  EXPECT_EQ(d.rows[1].reason,
            "params 9000 > objective.constraints.max_params 8000");
  EXPECT_EQ(d.rows[1].params, 9000);  // the cost is kept with the row
  EXPECT_EQ(d.rows[2].state, v1::CANDIDATE_REJECTED);
  EXPECT_EQ(d.rows[2].reason,
            "macs 2000 > objective.constraints.max_macs 1000");
  EXPECT_EQ(d.rows[3].state, v1::CANDIDATE_REJECTED);
  EXPECT_EQ(d.rows[3].reason, "cell 3: unknown op");
  EXPECT_EQ(d.rows[3].macs, 0);
  EXPECT_EQ(d.rejected, 3);
  EXPECT_TRUE(d.propose_again);  // rejections left room
}

TEST(DecideCandidates, ReuseLinksStoredAndRepeatsWithinTheBatch) {
  CandidatesInput in;
  in.duplicates = "reuse";
  in.stored = {{"old", 41}};
  in.proposals.push_back(Proposed("old"));
  in.proposals.push_back(Proposed("new"));
  in.proposals.push_back(Proposed("new"));
  in.proposals.push_back(Proposed("old"));
  CandidatesDecision d = DecideCandidates(in);
  ASSERT_EQ(d.rows.size(), 4u);
  EXPECT_EQ(d.rows[0].state, v1::CANDIDATE_DUPLICATE);
  EXPECT_EQ(d.rows[0].duplicate_of, 41);
  EXPECT_EQ(d.rows[0].reason, "same genotype as an earlier candidate");
  EXPECT_EQ(d.rows[1].state, v1::CANDIDATE_QUEUED);
  EXPECT_EQ(d.rows[2].state, v1::CANDIDATE_DUPLICATE);
  EXPECT_EQ(d.rows[2].duplicate_of, 0);  // the first has no id yet
  EXPECT_EQ(d.rows[2].reason,
            "same genotype as an earlier candidate in the same batch");
  // A stored genotype repeated in the batch names the stored one.
  EXPECT_EQ(d.rows[3].state, v1::CANDIDATE_DUPLICATE);
  EXPECT_EQ(d.rows[3].duplicate_of, 41);
  EXPECT_EQ(d.rejected, 0);
  EXPECT_TRUE(d.propose_again);
}

TEST(DecideCandidates, EmptyPolicyReusesAndADuplicateIsNotCountedRejected) {
  CandidatesInput in;  // duplicates "" = reuse
  in.constraints.set_max_params(5);
  in.stored = {{"old", 3}};
  in.proposals.push_back(Proposed("old", 10, 50));  // over, but a duplicate
  CandidatesDecision d = DecideCandidates(in);
  ASSERT_EQ(d.rows.size(), 1u);
  EXPECT_EQ(d.rows[0].state, v1::CANDIDATE_DUPLICATE);
  EXPECT_EQ(d.rows[0].duplicate_of, 3);
  EXPECT_EQ(d.rejected, 0);
  EXPECT_TRUE(d.propose_again);
}

TEST(DecideCandidates, RetrainQueuesAgainAndStillLinks) {
  CandidatesInput in;
  in.duplicates = "retrain";
  in.constraints.set_max_params(20);
  in.stored = {{"old", 41}, {"big", 9}};
  in.proposals.push_back(Proposed("old"));
  in.proposals.push_back(Proposed("new"));
  in.proposals.push_back(Proposed("new"));
  in.proposals.push_back(Proposed("big", 10, 50));
  CandidatesDecision d = DecideCandidates(in);
  ASSERT_EQ(d.rows.size(), 4u);
  EXPECT_EQ(d.rows[0].state, v1::CANDIDATE_QUEUED);
  EXPECT_EQ(d.rows[0].duplicate_of, 41);
  EXPECT_EQ(d.rows[1].state, v1::CANDIDATE_QUEUED);
  EXPECT_EQ(d.rows[2].state, v1::CANDIDATE_QUEUED);  // repeat trains again
  EXPECT_EQ(d.rows[2].duplicate_of, 0);
  // A rejected genotype is rejected again by its own cost.
  EXPECT_EQ(d.rows[3].state, v1::CANDIDATE_REJECTED);
  EXPECT_EQ(d.rows[3].duplicate_of, 9);
  EXPECT_EQ(d.rejected, 1);
  EXPECT_TRUE(d.propose_again);
}

// --- DecideDarts ---------------------------------------------------------

TEST(DecideDarts, StartsSearchesDerivesWaitsThenHandsOver) {
  v1::ExperimentCounts c;
  std::optional<TopUpDecision> d = DecideDarts(c, 0);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->action, TopUpDecision::kStartSearches);
  c.set_searches(2);
  d = DecideDarts(c, 0);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->action, TopUpDecision::kWait);
  // One search ended: its cell is derived at once, the other still runs.
  c.set_searches_done(1);
  d = DecideDarts(c, 1);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->action, TopUpDecision::kDeriveCandidates);
  c.set_candidates(1);
  d = DecideDarts(c, 0);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->action, TopUpDecision::kWait);
  // Both ended and derived: DecideTopUp takes over.
  c.set_searches_done(2);
  c.set_candidates(2);
  EXPECT_FALSE(DecideDarts(c, 0).has_value());
}

TEST(DecideDarts, FailsWhenEverySearchFailed) {
  v1::ExperimentCounts c;
  c.set_searches(3);
  c.set_searches_done(3);
  std::optional<TopUpDecision> d = DecideDarts(c, 0);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->action, TopUpDecision::kFinish);
  EXPECT_EQ(d->state, v1::EXPERIMENT_FAILED);
  EXPECT_NE(d->error.find("all 3 differentiable searches failed"),
            std::string::npos);
}

// --- DecideSupernet ------------------------------------------------------

TEST(DecideSupernet, TrainsFirstWaitsThenGoesOnOrFails) {
  std::optional<TopUpDecision> d =
      DecideSupernet(v1::CANDIDATE_STATE_UNSPECIFIED);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->action, TopUpDecision::kTrainSupernet);
  d = DecideSupernet(v1::CANDIDATE_QUEUED);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->action, TopUpDecision::kWait);
  d = DecideSupernet(v1::CANDIDATE_RUNNING);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->action, TopUpDecision::kWait);
  EXPECT_FALSE(DecideSupernet(v1::CANDIDATE_EVALUATED).has_value());
  d = DecideSupernet(v1::CANDIDATE_FAILED);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->action, TopUpDecision::kFinish);
  EXPECT_EQ(d->state, v1::EXPERIMENT_FAILED);
  EXPECT_EQ(d->error,
            "the supernet's training ended CANDIDATE_FAILED; see its trial's "
            "error (nasctl candidates)");
}

// --- DecideTopUp ---------------------------------------------------------

// ExperimentCounts in this order: candidates, trials queued, running,
// succeeded, failed.
struct Counts {
  int candidates = 0, queued = 0, running = 0, succeeded = 0, failed = 0;
};

TopUpInput Input(const Counts& n, int max_trials, int parallel) {
  TopUpInput in;
  in.counts.set_candidates(n.candidates);
  in.counts.set_trials_queued(n.queued);
  in.counts.set_trials_running(n.running);
  in.counts.set_trials_succeeded(n.succeeded);
  in.counts.set_trials_failed(n.failed);
  in.budget.set_max_trials(max_trials);
  in.budget.set_parallel_trials(parallel);
  in.max_candidates = 0;
  in.duplicate_factor = 10;
  return in;
}

TEST(DecideTopUp, ProposesUpToParallelWithinMaxTrials) {
  TopUpDecision d = DecideTopUp(Input(Counts{3, 1, 1, 1}, 10, 4));
  EXPECT_EQ(d.action, TopUpDecision::kPropose);
  EXPECT_EQ(d.n, 2);  // 4 parallel - 2 active
  // 10 - 8 done - 1 active leaves 1 though 3 would run in parallel.
  d = DecideTopUp(Input(Counts{9, 1, 0, 6, 2}, 10, 4));
  EXPECT_EQ(d.action, TopUpDecision::kPropose);
  EXPECT_EQ(d.n, 1);
  // Every remaining trial is active: wait.
  d = DecideTopUp(Input(Counts{10, 0, 2, 8}, 10, 4));
  EXPECT_EQ(d.action, TopUpDecision::kWait);
}

// Proxy-guided slots being scored count as active: each adds one trained
// candidate, so they hold both new proposals and the end back.
TEST(DecideTopUp, SlotsBeingScoredCountAsActive) {
  TopUpInput in = Input(Counts{3, 1, 0, 2}, 10, 4);
  in.counts.set_screens_pending(2);
  TopUpDecision d = DecideTopUp(in);
  EXPECT_EQ(d.action, TopUpDecision::kPropose);
  EXPECT_EQ(d.n, 1);  // 4 parallel - 1 trial - 2 slots
  in = Input(Counts{10, 0, 0, 9}, 10, 4);
  in.counts.set_screens_pending(1);
  EXPECT_EQ(DecideTopUp(in).action, TopUpDecision::kWait);
  in.counts.set_screens_pending(0);
  EXPECT_EQ(DecideTopUp(in).action, TopUpDecision::kPropose);  // 9 < 10
  in = Input(Counts{10, 0, 0, 10}, 10, 4);
  in.counts.set_screens_pending(1);
  EXPECT_EQ(DecideTopUp(in).action, TopUpDecision::kWait);
  in.counts.set_screens_pending(0);
  EXPECT_EQ(DecideTopUp(in).action, TopUpDecision::kFinish);
}

TEST(DecideTopUp, MaxTrialsDoneFinishes) {
  TopUpDecision d = DecideTopUp(Input(Counts{10, 0, 0, 9, 1}, 10, 4));
  EXPECT_EQ(d.action, TopUpDecision::kFinish);
  EXPECT_EQ(d.state, v1::EXPERIMENT_SUCCEEDED);
  EXPECT_EQ(d.error, "");
  d = DecideTopUp(Input(Counts{10, 0, 0, 0, 10}, 10, 4));
  EXPECT_EQ(d.action, TopUpDecision::kFinish);
  EXPECT_EQ(d.state, v1::EXPERIMENT_FAILED);
  EXPECT_EQ(d.error, "all 10 trials failed; see the trials' errors");
  // One more trial than max_trials ran (a retry): still done.
  d = DecideTopUp(Input(Counts{11, 0, 0, 11}, 10, 4));
  EXPECT_EQ(d.action, TopUpDecision::kFinish);
}

TEST(DecideTopUp, FinalTrainingOnceThenWaitsThenFinishes) {
  TopUpInput in = Input(Counts{10, 0, 0, 10}, 10, 4);
  in.final_top_k = 3;
  EXPECT_EQ(DecideTopUp(in).action, TopUpDecision::kStartFinalTraining);
  in.counts.set_final_trainings(3);
  in.counts.set_final_trainings_done(1);
  EXPECT_EQ(DecideTopUp(in).action, TopUpDecision::kWait);
  in.counts.set_final_trainings_done(3);
  TopUpDecision d = DecideTopUp(in);
  EXPECT_EQ(d.action, TopUpDecision::kFinish);
  EXPECT_EQ(d.state, v1::EXPERIMENT_SUCCEEDED);
  // Nothing succeeded: nothing to re-train.
  in = Input(Counts{10, 0, 0, 0, 10}, 10, 4);
  in.final_top_k = 3;
  EXPECT_EQ(DecideTopUp(in).action, TopUpDecision::kFinish);
}

TEST(DecideTopUp, ManyFailuresWithoutMaxTrialsFail) {
  TopUpDecision d = DecideTopUp(Input(Counts{19, 0, 0, 9, 10}, 0, 4));
  EXPECT_EQ(d.action, TopUpDecision::kFinish);
  EXPECT_EQ(d.state, v1::EXPERIMENT_FAILED);
  EXPECT_EQ(d.error, "10 trials failed, 9 succeeded; see the trials' errors");
  // Fewer than 10, or not more than the successes: goes on.
  EXPECT_EQ(DecideTopUp(Input(Counts{9, 0, 0, 0, 9}, 0, 4)).action,
            TopUpDecision::kPropose);
  EXPECT_EQ(DecideTopUp(Input(Counts{20, 0, 0, 10, 10}, 0, 4)).action,
            TopUpDecision::kPropose);
}

TEST(DecideTopUp, SearchSpaceExhaustedAtTheDuplicatesCap) {
  // max_trials 10: cap 10 * 10 + 100 = 200 stored candidates.
  TopUpDecision d = DecideTopUp(Input(Counts{200, 0, 0, 5}, 10, 4));
  EXPECT_EQ(d.action, TopUpDecision::kFinish);
  EXPECT_EQ(d.state, v1::EXPERIMENT_FAILED);
  EXPECT_EQ(d.error,
            "search space exhausted: 200 proposals, too many duplicates or "
            "rejections");
  d = DecideTopUp(Input(Counts{199, 0, 0, 5}, 10, 4));
  EXPECT_EQ(d.action, TopUpDecision::kPropose);
  EXPECT_EQ(d.n, 4);
  // Without max_trials the cap grows with the trials done: 5 * 10 + 100.
  EXPECT_EQ(DecideTopUp(Input(Counts{150, 0, 0, 5}, 0, 4)).action,
            TopUpDecision::kFinish);
  EXPECT_EQ(DecideTopUp(Input(Counts{149, 0, 0, 5}, 0, 4)).action,
            TopUpDecision::kPropose);
  // The factor is the option's.
  TopUpInput in = Input(Counts{120, 0, 0, 5}, 10, 4);
  in.duplicate_factor = 2;
  EXPECT_EQ(DecideTopUp(in).action, TopUpDecision::kFinish);
}

TEST(DecideTopUp, CandidateLimitEndsOnceActiveTrialsAreDone) {
  TopUpInput in = Input(Counts{50, 0, 1, 3}, 0, 4);
  in.max_candidates = 50;
  EXPECT_EQ(DecideTopUp(in).action, TopUpDecision::kWait);
  in.counts.set_trials_running(0);
  TopUpDecision d = DecideTopUp(in);
  EXPECT_EQ(d.action, TopUpDecision::kFinish);
  EXPECT_EQ(d.state, v1::EXPERIMENT_SUCCEEDED);
  EXPECT_EQ(d.error,
            "stored 50 candidates, this controller's limit per experiment "
            "(--max_candidates_per_experiment), with 3 evaluated");
  // With max_trials the trial budget can no longer be met.
  in.budget.set_max_trials(40);
  d = DecideTopUp(in);
  EXPECT_EQ(d.action, TopUpDecision::kFinish);
  EXPECT_EQ(d.state, v1::EXPERIMENT_FAILED);
  // Below the limit, proposals stop at it.
  in = Input(Counts{48, 0, 0, 3}, 0, 8);
  in.max_candidates = 50;
  d = DecideTopUp(in);
  EXPECT_EQ(d.action, TopUpDecision::kPropose);
  EXPECT_EQ(d.n, 2);
}

TEST(DecideTopUp, SimulatedBudgetEndedFinishesOverBudget) {
  TopUpInput in = Input(Counts{5, 0, 2, 3}, 0, 4);
  in.budget.set_max_simulated_seconds(100);
  in.simulated.ended = true;
  in.simulated.counted = 2;
  TopUpDecision d = DecideTopUp(in);
  EXPECT_EQ(d.action, TopUpDecision::kFinishOverBudget);
  EXPECT_EQ(d.state, v1::EXPERIMENT_SUCCEEDED);
  EXPECT_EQ(d.error, "");
  in.simulated.counted = 0;
  d = DecideTopUp(in);
  EXPECT_EQ(d.action, TopUpDecision::kFinishOverBudget);
  EXPECT_EQ(d.state, v1::EXPERIMENT_FAILED);
  EXPECT_EQ(d.error, "no evaluation fits in budget.max_simulated_seconds 100");
  // Without a simulated budget an ended accounting means nothing.
  in.budget.set_max_simulated_seconds(0);
  EXPECT_EQ(DecideTopUp(in).action, TopUpDecision::kPropose);
}

TEST(DecideTopUp, ReportedSecondsAtTheBudgetStopProposals) {
  TopUpInput in = Input(Counts{3, 0, 1, 2}, 0, 4);
  in.budget.set_max_simulated_seconds(100);
  // Seq 0 (60 s) counted, seq 1 running, seq 2 reported 40 s: the end is
  // certain once seq 1 finishes.
  AdvanceSimulatedBudget({{100, 0, TrialStatus::kSucceeded, 60},
                          {101, 1, TrialStatus::kRunning, 0},
                          {102, 2, TrialStatus::kSucceeded, 40}},
                         100, &in.simulated);
  ASSERT_FALSE(in.simulated.ended);
  ASSERT_DOUBLE_EQ(in.simulated.reported, 100);
  EXPECT_EQ(DecideTopUp(in).action, TopUpDecision::kWait);
  // Just under the budget: proposes.
  in.simulated.reported = 99.5;
  TopUpDecision d = DecideTopUp(in);
  EXPECT_EQ(d.action, TopUpDecision::kPropose);
  EXPECT_EQ(d.n, 3);
  // Spent exactly: over budget, and the evaluations counted.
  SimulatedBudget exact;
  AdvanceSimulatedBudget({{100, 0, TrialStatus::kSucceeded, 60},
                          {101, 1, TrialStatus::kSucceeded, 40}},
                         100, &exact);
  in.simulated = exact;
  d = DecideTopUp(in);
  EXPECT_EQ(d.action, TopUpDecision::kFinishOverBudget);
  EXPECT_EQ(d.state, v1::EXPERIMENT_SUCCEEDED);
}

TEST(DecideTopUp, OverBudgetComesBeforeEveryOtherEnd) {
  // max_trials done and the candidate cap reached, but the simulated
  // budget ended first: it decides.
  TopUpInput in = Input(Counts{500, 0, 0, 0, 10}, 10, 4);
  in.budget.set_max_simulated_seconds(10);
  in.simulated.ended = true;
  EXPECT_EQ(DecideTopUp(in).action, TopUpDecision::kFinishOverBudget);
}

}  // namespace
}  // namespace nas
