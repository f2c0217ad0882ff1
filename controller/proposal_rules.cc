#include "controller/proposal_rules.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace nas {

std::string ViolatedConstraint(const v1::ConstraintsSpec& c, const Cost& cost) {
  if (c.max_macs() > 0 && cost.macs > c.max_macs()) {
    return absl::StrCat("macs ", cost.macs,
                        " > objective.constraints.max_macs ", c.max_macs());
  }
  if (c.max_params() > 0 && cost.params > c.max_params()) {
    return absl::StrCat("params ", cost.params,
                        " > objective.constraints.max_params ", c.max_params());
  }
  return "";
}

void ApplyDuplicatePolicy(absl::string_view policy,
                          std::optional<int64_t> first, bool repeat_in_batch,
                          NewCandidate* row) {
  if (policy == "retrain") {
    // Evaluated again as a trial of its own (a REJECTED genotype is
    // rejected again by its own cost); it still names the first candidate.
    if (first.has_value()) row->duplicate_of = *first;
    return;
  }
  if (first.has_value()) {
    row->state = v1::CANDIDATE_DUPLICATE;
    row->duplicate_of = *first;
    row->reason = "same genotype as an earlier candidate";
  } else if (repeat_in_batch) {
    // The first has no id yet, so this one is stored as DUPLICATE without
    // duplicate_of (the equal hash links them).
    row->state = v1::CANDIDATE_DUPLICATE;
    row->reason = "same genotype as an earlier candidate in the same batch";
  }
}

void AdvanceSimulatedBudget(const std::vector<TrialCost>& rows, double limit,
                            SimulatedBudget* b) {
  b->reported = b->used;
  bool pending = false;
  for (const TrialCost& t : rows) {
    if (b->ended || t.seq <= b->cursor) continue;
    if (t.status == TrialStatus::kQueued || t.status == TrialStatus::kRunning) {
      pending = true;
      continue;
    }
    if (t.status != TrialStatus::kSucceeded) {  // failed/cancelled: free
      if (!pending) b->cursor = t.seq;
      continue;
    }
    if (pending) {
      b->reported += t.simulated_seconds;
      continue;
    }
    if (b->used + t.simulated_seconds > limit) {
      b->ended = true;
      b->first_uncounted_seq = t.seq;
      b->reason =
          absl::StrCat("not counted: past budget.max_simulated_seconds ", limit,
                       " (candidate seq ", t.seq, " would have brought ",
                       b->used, " to ", b->used + t.simulated_seconds, ")");
      break;
    }
    b->used += t.simulated_seconds;
    b->reported += t.simulated_seconds;
    ++b->counted;
    b->cursor = t.seq;
    if (b->used >= limit) {
      b->ended = true;
      b->first_uncounted_seq = t.seq + 1;
      b->reason =
          absl::StrCat("not counted: budget.max_simulated_seconds ", limit,
                       " was spent exactly at candidate seq ", t.seq);
      break;
    }
  }
}

namespace {

TopUpDecision Finish(v1::ExperimentState state, std::string error) {
  TopUpDecision d;
  d.action = TopUpDecision::kFinish;
  d.state = state;
  d.error = std::move(error);
  return d;
}

TopUpDecision Act(TopUpDecision::Action action) {
  TopUpDecision d;
  d.action = action;
  return d;
}

}  // namespace

std::optional<TopUpDecision> DecideSupernet(v1::CandidateState supernet) {
  switch (supernet) {
    case v1::CANDIDATE_EVALUATED:
      return std::nullopt;
    case v1::CANDIDATE_STATE_UNSPECIFIED:
      // First visit: the supernet-training row (and its trial).
      return Act(TopUpDecision::kTrainSupernet);
    case v1::CANDIDATE_QUEUED:
    case v1::CANDIDATE_RUNNING:
      return Act(TopUpDecision::kWait);
    default:
      // FAILED after max_attempts (or CANCELLED): nothing to inherit from.
      return Finish(
          v1::EXPERIMENT_FAILED,
          absl::StrCat("the supernet's training ended ",
                       v1::CandidateState_Name(supernet),
                       "; see its trial's error (nasctl candidates)"));
  }
}

std::optional<TopUpDecision> DecideDarts(const v1::ExperimentCounts& c,
                                         int underived) {
  if (c.searches() == 0) return Act(TopUpDecision::kStartSearches);
  if (underived > 0) return Act(TopUpDecision::kDeriveCandidates);
  if (c.searches_done() < c.searches()) return Act(TopUpDecision::kWait);
  if (c.candidates() == 0) {
    // Every search ended and none derived a cell: each failed (or was
    // cancelled).
    return Finish(v1::EXPERIMENT_FAILED,
                  absl::StrCat("all ", c.searches(),
                               " differentiable searches failed; see their "
                               "trials' errors (nasctl searches)"));
  }
  return std::nullopt;
}

TopUpDecision DecideTopUp(const TopUpInput& in) {
  const v1::ExperimentCounts& c = in.counts;
  const v1::BudgetSpec& budget = in.budget;
  // A proxy-guided slot being scored will add one trained candidate.
  const int active =
      c.trials_queued() + c.trials_running() + c.screens_pending();
  const int done = c.trials_succeeded() + c.trials_failed();
  const double max_sim = budget.max_simulated_seconds();
  if (max_sim > 0 && in.simulated.ended) {
    const bool any = in.simulated.counted > 0;
    TopUpDecision d;
    d.action = TopUpDecision::kFinishOverBudget;
    d.state = any ? v1::EXPERIMENT_SUCCEEDED : v1::EXPERIMENT_FAILED;
    d.error = any ? ""
                  : absl::StrCat(
                        "no evaluation fits in budget.max_simulated_"
                        "seconds ",
                        max_sim);
    return d;
  }
  const bool trial_cap = budget.max_trials() > 0;
  if (!trial_cap && c.trials_failed() >= 10 &&
      c.trials_failed() > c.trials_succeeded()) {
    // Without max_trials nothing else would end an experiment whose every
    // trial fails (e.g. a table missing on the workers).
    return Finish(v1::EXPERIMENT_FAILED,
                  absl::StrCat(c.trials_failed(), " trials failed, ",
                               c.trials_succeeded(),
                               " succeeded; see the trials' errors"));
  }
  if (trial_cap && done >= budget.max_trials() && active == 0) {
    // Budget spent. With spec.final, re-train the best candidates first.
    const bool any = c.trials_succeeded() > 0;
    if (any && in.final_top_k > 0) {
      if (c.final_trainings() == 0) {
        return Act(TopUpDecision::kStartFinalTraining);
      }
      if (c.final_trainings_done() < c.final_trainings()) {
        return Act(TopUpDecision::kWait);  // final re-trainings running
      }
    }
    // Without a single successful trial there is no result to show: the
    // experiment failed (the trials carry their errors).
    return Finish(any ? v1::EXPERIMENT_SUCCEEDED : v1::EXPERIMENT_FAILED,
                  any ? ""
                      : absl::StrCat("all ", done,
                                     " trials failed; see the trials' errors"));
  }
  const int64_t limit = in.max_candidates;
  if (limit > 0 && c.candidates() >= limit) {
    // The candidate limit ends the search once the active trials are done:
    // a success when the budget is not in trials (and something succeeded),
    // else the trial budget can no longer be met.
    if (active > 0) return Act(TopUpDecision::kWait);
    const bool ok = !trial_cap && c.trials_succeeded() > 0;
    return Finish(
        ok ? v1::EXPERIMENT_SUCCEEDED : v1::EXPERIMENT_FAILED,
        absl::StrCat("stored ", c.candidates(),
                     " candidates, this controller's limit per experiment "
                     "(--max_candidates_per_experiment), with ",
                     c.trials_succeeded(), " evaluated"));
  }
  const int64_t cap =
      int64_t{trial_cap ? budget.max_trials() : done} * in.duplicate_factor +
      100;
  if (c.candidates() >= cap) {
    return Finish(
        v1::EXPERIMENT_FAILED,
        absl::StrCat("search space exhausted: ", c.candidates(),
                     " proposals, too many duplicates or rejections"));
  }
  int n = budget.parallel_trials() - active;
  if (trial_cap) n = std::min(n, budget.max_trials() - done - active);
  if (limit > 0) {
    n = static_cast<int>(std::min<int64_t>(n, limit - c.candidates()));
  }
  // Once the reported costs reach the budget its end is certain.
  if (max_sim > 0 && in.simulated.reported >= max_sim) n = 0;
  if (n <= 0) return Act(TopUpDecision::kWait);
  TopUpDecision d = Act(TopUpDecision::kPropose);
  d.n = n;
  return d;
}

CandidatesDecision DecideCandidates(const CandidatesInput& in) {
  CandidatesDecision out;
  for (const ProposedCandidate& p : in.proposals) {
    NewCandidate row;
    row.genotype = p.genotype;
    row.parent_id = p.parent_id;
    row.generation = p.generation;
    row.strategy_data = p.strategy_data;
    row.observed_results = static_cast<int32_t>(in.observed);
    if (p.cost.ok()) {
      row.macs = p.cost->macs;
      row.params = p.cost->params;
      std::string violated = ViolatedConstraint(in.constraints, *p.cost);
      if (!violated.empty()) {
        row.state = v1::CANDIDATE_REJECTED;
        row.reason = std::move(violated);
      }
    } else {
      row.state = v1::CANDIDATE_REJECTED;
      row.reason = std::string(p.cost.status().message());
    }
    out.rows.push_back(std::move(row));
  }
  // Earlier candidates with the same genotypes, stored or in this batch.
  std::set<std::string> batch_hashes;
  for (NewCandidate& row : out.rows) {
    auto it = in.stored.find(row.genotype.hash());
    const std::optional<int64_t> first =
        it == in.stored.end() ? std::nullopt
                              : std::optional<int64_t>(it->second);
    const bool repeat_in_batch =
        !batch_hashes.insert(row.genotype.hash()).second;
    ApplyDuplicatePolicy(in.duplicates, first, repeat_in_batch, &row);
  }
  for (const NewCandidate& row : out.rows) {
    out.rejected += row.state == v1::CANDIDATE_REJECTED;
    out.propose_again = out.propose_again || row.state != v1::CANDIDATE_QUEUED;
  }
  return out;
}

}  // namespace nas
