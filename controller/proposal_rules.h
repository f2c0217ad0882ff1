// The proposal rules: pure functions (no Store, no locks, no clock) that
// decide what the scheduler does with a running experiment. The scheduler
// reads what they need from the store, calls them, and writes what they
// return ("read, decide, write"), so they are unit-tested without
// PostgreSQL. Safe to call from any thread.
#ifndef NAS_CONTROLLER_PROPOSAL_RULES_H_
#define NAS_CONTROLLER_PROPOSAL_RULES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spaces/search_space.h"
#include "controller/store/store.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// An experiment's progress through budget.max_simulated_seconds. Trials are
// accounted in proposal (seq) order, so the outcome does not depend on the
// order in which parallel results arrive: an evaluation counts when the
// total including it stays <= the budget (NAS-Bench-201's rule); the first
// one that would exceed it ends the budget and neither it nor any later
// candidate counts. Failed and cancelled trials cost nothing.
struct SimulatedBudget {
  // Seconds of the counted evaluations, those with seq <= cursor.
  double used = 0;
  // `used` plus the costs of succeeded trials after the first unfinished
  // one: once it reaches the budget, the end is certain (no more proposals).
  double reported = 0;
  // Evaluations counted (succeeded with seq <= cursor).
  int counted = 0;
  // Last seq accounted for (every trial up to it is final); -1 = none.
  int32_t cursor = -1;
  bool ended = false;
  // When ended: candidates from this seq on are not counted.
  int32_t first_uncounted_seq = -1;
  // When ended: a sentence saying why, stored as their reason.
  std::string reason;
};

// Accounts `rows` (trials with seq > b->cursor, in seq order) against
// `limit` seconds; stops at the first unfinished trial. Pure.
void AdvanceSimulatedBudget(const std::vector<TrialCost>& rows, double limit,
                            SimulatedBudget* b);

// The first hard constraint `cost` exceeds, as a reason ("params 9000 >
// objective.constraints.max_params 8000"), or "" when it satisfies all.
std::string ViolatedConstraint(const v1::ConstraintsSpec& constraints,
                               const Cost& cost);

// Applies the spec's duplicates policy to a proposal `row` whose genotype
// was stored before as candidate `first` (nullopt: never) or repeats an
// earlier proposal of the same batch. "reuse" (or empty): the row becomes
// DUPLICATE (with duplicate_of = *first when known) and is not trained.
// "retrain": the row keeps its state (QUEUED, or REJECTED by its cost) and
// is trained again; duplicate_of still names `first`.
void ApplyDuplicatePolicy(absl::string_view policy,
                          std::optional<int64_t> first, bool repeat_in_batch,
                          NewCandidate* row);

// --- Top-up ---------------------------------------------------------------
// Each tick tops a running experiment up in two decisions: DecideTopUp
// (from its counts: end it, wait, or propose n candidates), then, after the
// strategy proposed, DecideCandidates (the rows to store).

// What the scheduler does next with a running experiment.
struct TopUpDecision {
  enum Action {
    kWait,                // nothing this tick
    kTrainSupernet,       // store the supernet-training row
    kStartSearches,       // strategy darts: store the search rows
    kDeriveCandidates,    // strategy darts: store the searches' cells
    kFinish,              // Store::FinishExperiment(state, error)
    kFinishOverBudget,    // Store::FinishOverBudget(state, error, ...)
    kStartFinalTraining,  // store spec.final's re-training candidates
    kPropose,             // ask the strategy for `n` candidates
  };
  Action action = kWait;
  // kFinish, kFinishOverBudget: how the experiment ends.
  v1::ExperimentState state = v1::EXPERIMENT_STATE_UNSPECIFIED;
  std::string error;
  // kPropose: how many candidates (> 0).
  int n = 0;
};

// Evaluation mode SUPERNET, before anything else: the supernet's state
// (ExperimentCounts.supernet) decides. nullopt when it is trained (the
// search goes on: call DecideTopUp); kTrainSupernet when it has no row yet;
// kWait while it trains; kFinish (FAILED) when its training failed.
std::optional<TopUpDecision> DecideSupernet(v1::CandidateState supernet);

// Strategy darts, before anything else: nullopt once every search ended and
// has its derived cell stored (then DecideTopUp with budget.max_trials set
// to the trials done ends the experiment, or re-trains the best first, as
// for any search); kStartSearches when no search row exists;
// kDeriveCandidates when `underived` (searches that ended EVALUATED
// without a derived candidate) > 0; kWait while searches run; kFinish
// (FAILED) when every search ended and none succeeded.
std::optional<TopUpDecision> DecideDarts(const v1::ExperimentCounts& counts,
                                         int underived);
// What DecideTopUp decides from, read by the scheduler.
struct TopUpInput {
  v1::ExperimentCounts counts;  // Store::CountExperiment
  v1::BudgetSpec budget;        // spec.budget
  int final_top_k = 0;          // spec.final.top_k
  // Advanced over the trials that ended (when max_simulated_seconds > 0).
  SimulatedBudget simulated;
  // ControllerOptions::max_candidates_per_experiment (0 = none) and
  // ::duplicate_factor.
  int64_t max_candidates = 0;
  int duplicate_factor = 10;
};

// In this order: a simulated budget that ended finishes the experiment
// over budget (SUCCEEDED when an evaluation counted, else FAILED); without
// max_trials, 10 or more failed trials outnumbering the successes fail it;
// max_trials done with none active re-trains the best (spec.final, once)
// or finishes it (FAILED when nothing succeeded); the candidate limit
// finishes it once no trial is active; the duplicates cap (max_trials, or
// the trials done, times duplicate_factor plus 100 stored candidates) fails
// it ("search space exhausted"); else it proposes enough candidates to have
// parallel_trials active, within max_trials and the candidate limit, none
// once the reported simulated seconds reach the budget.
TopUpDecision DecideTopUp(const TopUpInput& in);

// One proposal of the strategy, as the scheduler prepared it.
struct ProposedCandidate {
  v1::Genotype genotype;  // SearchSpace::ToProto of its choices
  int64_t parent_id = 0;
  int32_t generation = 0;
  std::string strategy_data;
  // SearchSpace::ComputeCost; an error rejects the candidate with its text.
  absl::StatusOr<Cost> cost;
};

// What DecideCandidates decides from.
struct CandidatesInput {
  std::vector<ProposedCandidate> proposals;  // in proposal order
  v1::ConstraintsSpec constraints;           // spec.objective.constraints
  std::string duplicates;                    // spec.duplicates
  int64_t observed = 0;  // results the strategy had observed
  // Store::FindCandidatesByHash for the proposals' hashes: the first stored
  // candidate of each genotype stored before.
  std::map<std::string, int64_t> stored;
};

struct CandidatesDecision {
  // One row per proposal, in order: QUEUED, REJECTED (a hard constraint or
  // a cost that cannot be computed) or DUPLICATE (ApplyDuplicatePolicy).
  std::vector<NewCandidate> rows;
  // Rows stored REJECTED (ControllerMetrics::CandidatesRejected).
  int rejected = 0;
  // Some row is not QUEUED: it left room, so propose again at once.
  bool propose_again = false;
};

CandidatesDecision DecideCandidates(const CandidatesInput& in);

}  // namespace nas

#endif  // NAS_CONTROLLER_PROPOSAL_RULES_H_
