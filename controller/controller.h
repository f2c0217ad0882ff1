// The controller's logic, free of transport types: experiment lifecycle,
// proposal top-up, the trial queue with leases (kept in PostgreSQL through
// Store), result intake and Pareto fronts. gRPC services adapt to it.
// Thread-safe: any method may be called from any thread.
//
// A background ticker (every `tick`, or at once after a change) expires
// leases, tops each running experiment up to `parallel_trials` active
// trials until its budget is spent, finishes experiments whose trials are
// all done, and then calls every registered tick listener (long polls and
// watch streams use that to make progress without threads of their own).
// A tick woken by a reported result or failure visits only that result's
// experiment; every experiment is visited (and leases expired) at least
// once per `tick`, so the per-tick cost does not grow with the number of
// idle running experiments.
#ifndef NAS_CONTROLLER_CONTROLLER_H_
#define NAS_CONTROLLER_CONTROLLER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/metrics.h"
#include "controller/store/store.h"
#include "controller/strategies/strategy.h"
#include "nas/v1/experiment.pb.h"
#include "nas/v1/worker.pb.h"

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

struct ControllerOptions {
  // Longest time between two ticks. Default 250 ms.
  absl::Duration tick = absl::Milliseconds(250);
  // Shortest time between two ticks woken by new results: results that
  // arrive meanwhile are observed, counted and replaced by one tick (fewer
  // statements per trial with many fast workers). Default 10 ms.
  absl::Duration min_tick = absl::Milliseconds(10);
  // A worker counts as alive this long after its last call. Default 30 s
  // (workers long-poll for 5 s and heartbeat every lease_seconds/3).
  absl::Duration worker_alive = absl::Seconds(30);
  // Proposals that are duplicates count towards this cap of stored
  // candidates per experiment: max_trials * 10 + 100. Past it the experiment
  // fails ("search space exhausted").
  int duplicate_factor = 10;
  // Where to count leases, reports, rejections (not owned; must outlive
  // the controller). Default nullptr: no metrics.
  ControllerMetrics* metrics = nullptr;
  // Limits (docs/SECURITY.md); 0 = none. CreateExperiment answers
  // kResourceExhausted while this many experiments are RUNNING.
  int max_running_experiments = 100;
  // Stored candidates per experiment (duplicates and rejected proposals
  // included): CreateExperiment refuses a larger budget.max_trials, and an
  // experiment without max_trials ends when it has stored this many.
  int64_t max_candidates_per_experiment = 10000000;
  // RUNNING leases one worker id may hold; AcquireTrial answers
  // kResourceExhausted, naming the held trials, past it.
  int max_leases_per_worker = 1;
  // Rows per page when a restarted controller replays an experiment's
  // proposals and results (memory stays bounded however large the
  // experiment). Default 10000.
  int replay_page = 10000;
};

class Controller {
 public:
  // `store` must outlive the controller.
  Controller(Store* store, ControllerOptions options);
  ~Controller();  // stops the ticker

  // Rebuilds every RUNNING experiment from the store (strategy replay) and
  // starts the ticker. Call once.
  absl::Status Start();
  // Stops the ticker; later calls still work but nothing advances.
  void Shutdown();

  // Listener called from the ticker thread after each tick. Must not block
  // for long. Returns an id for RemoveTickListener.
  int AddTickListener(std::function<void()> listener);
  void RemoveTickListener(int id);
  // Asks for a tick of every experiment as soon as possible.
  void Wake();
  // While paused (the leadership lock is lost, e.g. the database is down)
  // the ticker proposes, expires and finishes nothing; RPCs still work.
  // Unpausing first gives every running trial a fresh lease
  // (Store::ExtendRunningLeases; Start does the same), so that workers that
  // could not renew during the outage do not lose their trials.
  void SetPaused(bool paused);

  // For the metrics: the database's counts plus this controller's view of
  // the fleet (workers alive) and each running experiment's Pareto front.
  // kUnavailable when the database cannot be reached.
  absl::StatusOr<OpsSnapshot> GetOpsSnapshot();

  // --- ExperimentService ---------------------------------------------------
  absl::StatusOr<v1::Experiment> CreateExperiment(
      const v1::CreateExperimentRequest& request);
  absl::StatusOr<v1::Experiment> GetExperiment(int64_t id);
  absl::StatusOr<v1::ListExperimentsResponse> ListExperiments(
      const v1::ListExperimentsRequest& request);
  // FailedPrecondition when the experiment already finished.
  absl::StatusOr<v1::Experiment> StopExperiment(int64_t id);
  absl::StatusOr<v1::ListCandidatesResponse> ListCandidates(
      const v1::ListCandidatesRequest& request);
  absl::StatusOr<v1::GetParetoFrontResponse> GetParetoFront(
      const v1::GetParetoFrontRequest& request);
  // The kept TorchScript model of a candidate (final re-training first).
  // NotFound when the experiment is unknown or no model is kept.
  absl::StatusOr<v1::ExportCandidateResponse> ExportCandidate(
      const v1::ExportCandidateRequest& request);

  // --- WorkerService -------------------------------------------------------
  absl::StatusOr<v1::RegisterWorkerResponse> RegisterWorker(
      const v1::RegisterWorkerRequest& request);
  // Leases a trial now for each waiting call of `worker_ids` (one lease
  // transaction per set of labels); an empty response where nothing matched
  // the worker. FailedPrecondition for a worker that never registered.
  std::vector<absl::StatusOr<v1::AcquireTrialResponse>> AcquireTrials(
      const std::vector<std::string>& worker_ids);
  absl::StatusOr<v1::RenewLeaseResponse> RenewLease(
      const v1::RenewLeaseRequest& request);
  absl::StatusOr<v1::ReportProgressResponse> ReportProgress(
      const v1::ReportProgressRequest& request);
  // InvalidArgument for metrics that cannot be true (NaN, accuracy outside
  // [0,1], negative costs): the attempt is recorded as failed with that
  // reason. FailedPrecondition for a stale attempt (nothing changes).
  // Blocks until the result is durably stored (ReportResultAsync).
  absl::StatusOr<v1::ReportResultResponse> ReportResult(
      const v1::ReportResultRequest& request);
  // ReportResult without blocking: `done` is called exactly once, from this
  // thread or the result writer's, when the outcome is known. Results are
  // group-committed: one writer thread stores every result waiting at that
  // moment in one transaction, so commits (and result ids) are in one
  // order. `request` must stay valid until `done` is called.
  using ReportResultDone =
      std::function<void(absl::StatusOr<v1::ReportResultResponse>)>;
  void ReportResultAsync(const v1::ReportResultRequest& request,
                         ReportResultDone done);
  // FetchArtifact: the artifact's header, then its pieces by seq.
  // InvalidArgument for a malformed hash, NotFound for an unknown one.
  absl::StatusOr<ArtifactInfo> GetArtifactInfo(const std::string& worker_id,
                                               const std::string& hash);
  absl::StatusOr<std::string> ReadArtifactChunk(const std::string& hash,
                                                int32_t seq);

 private:
  struct Running {
    v1::ExperimentSpec spec;
    int64_t seed = 0;
    const SearchSpace* space = nullptr;
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
  // A registered worker's labels (the store's, for one this process has not
  // seen); FailedPrecondition when it never registered.
  absl::StatusOr<std::map<std::string, std::string>> WorkerLabels(
      const std::string& worker_id);
  // What AcquireTrial answers for a trial just leased.
  static v1::AcquireTrialResponse TrialResponse(const LeasedTrial& leased);
  static void Observe(Running& run, const ResultRecord& r);
  // Observes the experiment's results stored after the first run.observed,
  // in storage order.
  absl::Status FeedResults(int64_t id, Running& run)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status TopUp(int64_t id, Running& run)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores the final re-training candidates (spec.final) of the best
  // search candidates.
  absl::Status StartFinalTraining(int64_t id, Running& run)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Evaluation mode SUPERNET: stores the supernet-training row when there
  // is none, ends the experiment when it failed. Returns true when the
  // search may go on (the supernet is trained).
  absl::StatusOr<bool> SupernetReady(int64_t id, Running& run,
                                     const v1::ExperimentCounts& c)
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
  // Asks for a tick that visits experiment `id` as soon as possible.
  void MarkDirty(int64_t id);
  absl::StatusOr<v1::Experiment> BuildExperiment(const ExperimentRecord& rec);

  Store* const store_;
  const ControllerOptions options_;

  absl::Mutex mu_;
  std::map<int64_t, Running> running_ ABSL_GUARDED_BY(mu_);
  struct WorkerInfo {
    std::map<std::string, std::string> labels;
    absl::Time last_seen;
  };
  // Records a call from a worker (for liveness).
  void Seen(const std::string& worker_id);
  // Why queued trials of an experiment wait, or "" (see Experiment.waiting).
  std::string WaitingReason(const v1::Experiment& e);
  // Apart from mu_ (which the ticker holds across database calls) so that
  // worker RPCs never wait for a tick.
  absl::Mutex workers_mu_;
  std::map<std::string, WorkerInfo> workers_ ABSL_GUARDED_BY(workers_mu_);
  // Early-stopping rules of the experiments loaded with one (by id), read
  // by ReportProgress without waiting for a tick.
  struct StopRule {
    v1::EarlyStoppingSpec rule;
    int max_epochs = 0;
  };
  absl::Mutex rules_mu_;
  std::map<int64_t, StopRule> stop_rules_ ABSL_GUARDED_BY(rules_mu_);

  // The result writer (group commit of ReportResultAsync's results).
  struct PendingResult {
    const v1::ReportResultRequest* request;
    ReportResultDone done;
  };
  void ResultWriterLoop();
  // Failures and refused metrics: stored synchronously.
  absl::StatusOr<v1::ReportResultResponse> ReportFailure(
      const v1::ReportResultRequest& request);
  absl::Mutex results_mu_;
  std::deque<PendingResult> pending_results_ ABSL_GUARDED_BY(results_mu_);
  bool results_stop_ ABSL_GUARDED_BY(results_mu_) = false;
  std::thread result_writer_;

  absl::Mutex tick_mu_;
  bool wake_ ABSL_GUARDED_BY(tick_mu_) = false;
  // Experiments to visit at the next tick; wake_all_: visit all of them.
  std::set<int64_t> dirty_ ABSL_GUARDED_BY(tick_mu_);
  bool wake_all_ ABSL_GUARDED_BY(tick_mu_) = false;
  bool stop_ ABSL_GUARDED_BY(tick_mu_) = false;
  int next_listener_ ABSL_GUARDED_BY(tick_mu_) = 0;
  std::map<int, std::function<void()>> listeners_ ABSL_GUARDED_BY(tick_mu_);
  std::thread ticker_;
  std::atomic<bool> paused_{false};
};

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

}  // namespace nas

#endif  // NAS_CONTROLLER_CONTROLLER_H_
