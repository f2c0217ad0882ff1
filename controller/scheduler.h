// Scheduler: the controller's background ticker and the running
// experiments' in-memory state (each one's strategy, rebuilt by replaying
// its stored proposals and results). Every `tick`, or at once after a
// change, it expires leases, tops each running experiment up to
// `parallel_trials` active trials until its budget is spent (the decisions
// are proposal_rules.h's), re-trains the best at the end (spec.final),
// finishes experiments whose trials are all done, and then calls every
// registered tick listener (long polls and watch streams use that to make
// progress without threads of their own). A tick woken by MarkDirty visits
// only that experiment; every experiment is visited (and leases expired) at
// least once per `tick`, so the per-tick cost does not grow with the number
// of idle running experiments.
// Thread-safe. Two locks: mu_ guards the running experiments and is held
// across database calls (by the ticker and by Load); tick_mu_ guards the
// wake-up state and is never held across one, so waking never waits for a
// tick. Lock order: mu_, then Dispatch's.
#ifndef NAS_CONTROLLER_SCHEDULER_H_
#define NAS_CONTROLLER_SCHEDULER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/spaces/search_space.h"
#include "controller/controller_options.h"
#include "controller/dispatch.h"
#include "controller/proposal_rules.h"
#include "controller/store/store.h"
#include "controller/strategies/strategy.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

class Scheduler {
 public:
  // `store` and `dispatch` (told each loaded experiment's stop rule) must
  // outlive the scheduler.
  Scheduler(Store* store, Dispatch* dispatch, const ControllerOptions& options);
  ~Scheduler();  // stops the ticker

  // Rebuilds every RUNNING experiment from the store (strategy replay),
  // gives every running trial a fresh lease, and starts the ticker. Call
  // once.
  absl::Status Start();
  // Stops the ticker; later calls still work but nothing advances.
  void Shutdown();

  // Listener called from the ticker thread after each tick. Must not block
  // for long. Returns an id for RemoveTickListener.
  int AddTickListener(std::function<void()> listener);
  void RemoveTickListener(int id);
  // Asks for a tick of every experiment as soon as possible.
  void Wake();
  // Asks for a tick that visits experiment `id` as soon as possible.
  void MarkDirty(int64_t id);
  // While paused the ticker proposes, expires and finishes nothing.
  // Unpausing first gives every running trial a fresh lease
  // (Store::ExtendRunningLeases), then wakes the ticker.
  void SetPaused(bool paused);

  // Starts running experiment `id` just created (replays nothing stored
  // yet). The store's error when it cannot be read or built.
  absl::Status Load(int64_t id);
  // Forgets experiment `id` (stopped by a client); no error when unknown.
  void Drop(int64_t id);
  // Runs `reopen` (the store change that makes experiment `id` RUNNING with
  // a new spec) and then loads the experiment again, replaying its strategy
  // from the stored proposals and results, all under the scheduler's lock:
  // no tick acts on the old spec in between. `reopen`'s error is returned
  // and nothing changes.
  absl::Status Reload(int64_t id, const std::function<absl::Status()>& reopen);

 private:
  struct Running {
    v1::ExperimentSpec spec;
    int64_t seed = 0;
    // MakeSearchSpace(spec.search_space()): owns a custom space; the
    // strategy points into it, so it is declared (and outlives it) first.
    std::shared_ptr<const SearchSpace> space;
    std::unique_ptr<Strategy> strategy;
    int64_t observed = 0;        // results fed to the strategy
    int64_t last_result_id = 0;  // the last of them (ResultRecord::result_id)
    // budget.max_simulated_seconds accounting, and the number of ended
    // trials when it was last advanced (it only changes when trials end).
    SimulatedBudget budget;
    int budget_done = -1;
  };

  absl::Status LoadExperiment(int64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Store::ExtendRunningLeases, logging how many trials it extended.
  absl::Status ExtendLeases();
  static void Observe(Running& run, const ResultRecord& r);
  // Observes the experiment's results stored after the first run.observed,
  // in storage order.
  absl::Status FeedResults(int64_t id, Running& run)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads what DecideSupernet/DecideTopUp need, decides, and applies the
  // decision.
  absl::Status TopUp(int64_t id, Running& run)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Apply(int64_t id, Running& run, const TopUpDecision& decision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Asks the strategy for `n` candidates, prices them and looks up their
  // genotypes (read), DecideCandidates (decide), stores the rows (write).
  absl::Status Propose(int64_t id, Running& run, int n)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Prices `proposals`, checks them against the spec's constraints and the
  // experiment's earlier genotypes (DecideCandidates) and stores the rows;
  // with `from_searches` each proposal's parent_id is the search that
  // derived it and is stored as search_of instead. Returns the decision.
  // `screen_groups[i]`, when given, is the slot whose trained child
  // proposal i is (proxy-guided evolution).
  absl::StatusOr<CandidatesDecision> StoreProposals(
      int64_t id, Running& run, std::vector<Proposal> proposals,
      bool from_searches, const std::vector<int64_t>& screen_groups = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Proxy-guided evolution: stores each slot's children (the proposal and
  // its alternatives) as screening rows, each with a ZERO_COST trial.
  absl::Status StoreScreening(int64_t id, Running& run,
                              std::vector<Proposal> slots)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores the best scored child of each slot in `groups` as a candidate
  // to train (through StoreProposals); a slot none of whose children was
  // scored ends as a REJECTED row naming it.
  absl::Status StoreScreenedWinners(int64_t id, Running& run,
                                    const std::vector<ScreenedGroup>& groups)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Strategy darts: stores spec.strategy.darts.seeds search rows (seeds
  // run.seed + i), each with its trial.
  absl::Status StartSearches(int64_t id, Running& run)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Strategy darts: stores the derived cell of each search in `searches`
  // as a candidate linked to it (Candidate.search_of), through
  // StoreProposals like any proposal.
  absl::Status DeriveCandidates(int64_t id, Running& run,
                                const std::vector<SearchOutcome>& searches)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Evaluation mode SUPERNET: stores the supernet-training row.
  absl::Status StartSupernetTraining(int64_t id, Running& run)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores the final re-training candidates (spec.final) of the best
  // search candidates.
  absl::Status StartFinalTraining(int64_t id, Running& run)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets running experiment `id` once finishing it took effect (or it
  // had ended already: FailedPrecondition, NotFound); after any other error
  // (database down, deadlock) it stays and the next tick tries again.
  // Returns `finished`.
  absl::Status Forget(int64_t id, absl::Status finished)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Visits the experiments in `dirty`, or every running one when `full`
  // (and expires leases then).
  void Tick(const std::set<int64_t>& dirty, bool full);
  void TickerLoop();

  // Constant after construction.
  Store* const store_;
  Dispatch* const dispatch_;
  const ControllerOptions options_;

  // Set by SetPaused; read by the ticker.
  std::atomic<bool> paused_{false};
  // Started by Start, joined by Shutdown.
  std::thread ticker_;

  // State below is guarded by mu_ (held across database calls).
  absl::Mutex mu_;
  std::map<int64_t, Running> running_ ABSL_GUARDED_BY(mu_);

  // State below is guarded by tick_mu_.
  absl::Mutex tick_mu_;
  bool wake_ ABSL_GUARDED_BY(tick_mu_) = false;
  // Experiments to visit at the next tick; wake_all_: visit all of them.
  std::set<int64_t> dirty_ ABSL_GUARDED_BY(tick_mu_);
  bool wake_all_ ABSL_GUARDED_BY(tick_mu_) = false;
  bool stop_ ABSL_GUARDED_BY(tick_mu_) = false;
  int next_listener_ ABSL_GUARDED_BY(tick_mu_) = 0;
  std::map<int, std::function<void()>> listeners_ ABSL_GUARDED_BY(tick_mu_);
};

}  // namespace nas

#endif  // NAS_CONTROLLER_SCHEDULER_H_
