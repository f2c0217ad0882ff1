// The system of record: every experiment, candidate, trial attempt, progress
// report, result and worker, in PostgreSQL. The only module that speaks SQL
// or includes <pqxx>; libpqxx exceptions become absl::Status here:
// connection failures -> kUnavailable, serialization/deadlock -> kAborted,
// constraint violations from bad input -> kInvalidArgument, missing rows ->
// kNotFound. Thread-safe: a small pool of connections, each used by one
// caller at a time; every statement is parameterized and prepared. The
// verbs are implemented one domain per file (store*.cc; see README.md).
#ifndef NAS_CONTROLLER_STORE_STORE_H_
#define NAS_CONTROLLER_STORE_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/leadership.h"
#include "nas/v1/experiment.pb.h"
#include "nas/v1/worker.pb.h"

namespace nas {
namespace store_internal {
class Pool;  // controller/store/pool.h
}  // namespace store_internal

struct StoreOptions {
  // libpq connection string, e.g. "host=127.0.0.1 port=5432 dbname=nas
  // user=nas".
  std::string conninfo;
  // Connections kept open. Default 4.
  int pool_size = 4;
  // Size of the pieces content-addressed artifacts (supernet weights) are
  // stored and streamed in. Default 1 MiB.
  int artifact_chunk_bytes = 1 << 20;
  // Wall-clock seconds one trial attempt may hold its lease, counted from
  // the lease: renewals and progress reports stop extending it there (they
  // answer "not held" past it) and the expiry sweep says why. 0 = none.
  int max_attempt_seconds = 0;
};

// An experiment as stored.
struct ExperimentRecord {
  int64_t id = 0;
  v1::ExperimentSpec spec;  // with defaults applied, as validated
  int64_t seed = 0;         // strategy seed actually used
  v1::ExperimentState state = v1::EXPERIMENT_RUNNING;
  absl::Time created_at;
  std::optional<absl::Time> finished_at;
  std::string error;
};

// A proposal to store as a candidate row (and, when state is QUEUED, a trial).
struct NewCandidate {
  v1::Genotype genotype;  // space, canonical, choices, hash
  v1::CandidateState state =
      v1::CANDIDATE_QUEUED;  // QUEUED, REJECTED or DUPLICATE
  int64_t parent_id = 0;     // 0 = none
  int32_t generation = 0;
  std::string strategy_data;  // JSON object text, "{}" if empty
  std::string reason;         // for REJECTED
  int64_t duplicate_of = 0;   // for DUPLICATE
  int64_t macs = 0;
  int64_t params = 0;
  // Results the strategy had observed when it proposed this candidate.
  int32_t observed_results = 0;
  // For a final re-training: the search candidate it re-trains (0 = a
  // search candidate). See migrations/0007_final_training.sql.
  int64_t final_of = 0;
  // The experiment's supernet-training row (mode SUPERNET; genotype
  // "supernet"). See migrations/0010_supernet.sql.
  bool supernet = false;
  // Strategy darts (migrations/0018_darts.sql): a search row (supernet is
  // set too) has its seed here (-1 = not a search); a candidate derived by
  // a search names that search's row in search_of (0 = none).
  int64_t search_seed = -1;
  int64_t search_of = 0;
  // Proxy-guided evolution (migrations/0019_proxy.sql): a screening row
  // (supernet is set too) has screen_first, the index in this batch of its
  // slot's first child, whose seq + 1 becomes the slot's screen_group; the
  // trained child of a slot has screen_group set instead (0 = none).
  bool screening = false;
  int32_t screen_first = -1;
  int64_t screen_group = 0;
};

// A proxy-guided slot whose screening trials all ended, without its
// trained child yet, and its best scored child.
struct ScreenedGroup {
  int64_t group = 0;  // screen_group: 1 + the seq of its first child
  int children = 0;
  int scored = 0;              // children evaluated with the proxy
  int64_t best_id = 0;         // 0 when none was scored
  v1::Genotype best;           // space, canonical, choices, hash
  int64_t best_parent_id = 0;  // as proposed
  int32_t best_generation = 0;
  std::string best_strategy_data;
  double best_score = 0;
};

// A finished differentiable search (strategy darts) and its derived cell.
struct SearchOutcome {
  int64_t search_id = 0;  // the search's candidate row
  int64_t seed = 0;
  v1::Genotype derived;  // space, canonical and choices
  double param_free_share = 0;
};

// A stored proposal, for replaying a strategy.
struct ProposalRecord {
  int32_t seq = 0;
  v1::Genotype genotype;
  int32_t observed_results = 0;
};

// A trial just leased to a worker.
struct LeasedTrial {
  int64_t trial_id = 0;
  int32_t attempt = 0;  // 1 for the first lease
  int64_t experiment_id = 0;
  int64_t candidate_id = 0;
  v1::Genotype genotype;
  v1::ExperimentSpec spec;
  absl::Time lease_until;
  int64_t final_of = 0;   // a final re-training of this search candidate
  bool supernet = false;  // trains the experiment's supernet
  // The experiment's trained supernet (sha256), "" while there is none.
  std::string supernet_hash;
  // Strategy darts: the trial runs the search of this seed, resuming from
  // its checkpoint (written after checkpoint_epoch) when there is one.
  bool search = false;
  int64_t search_seed = 0;
  std::string checkpoint_hash;
  int32_t checkpoint_epoch = 0;
  // Proxy-guided evolution: a screening trial (mode ZERO_COST).
  bool screening = false;
  // Time it waited QUEUED: since it was created (first attempt) or since
  // the previous attempt's lease ran out (for metrics).
  absl::Duration queue_wait;
};

// One finished, successful evaluation, as the strategy and Pareto code see it.
struct ResultRecord {
  int64_t result_id = 0;  // storage order
  int64_t candidate_id = 0;
  int64_t trial_id = 0;
  v1::Genotype genotype;
  v1::EvaluationMetrics metrics;
  int64_t parent_id = 0;   // of the candidate, 0 = none
  int32_t generation = 0;  // of the candidate
};

enum class ReportOutcome {
  kStored,         // stored now
  kAlreadyStored,  // the same attempt had been stored before (a retry): no
                   // change
};

// Accuracies other trials reported at one epoch (ProgressAtEpoch).
struct EpochPeers {
  int64_t experiment_id = 0;
  // The trial is a final re-training (no early stopping; `others` empty).
  bool final_training = false;
  std::vector<double> others;
};

// What ExpireLeases did.
struct ExpiryOutcome {
  int requeued = 0;  // back to QUEUED with the attempt kept for the next lease
  int failed = 0;    // attempts exhausted: trial and candidate FAILED
};

// What the database says now, for the operational metrics.
struct OpsStats {
  // Trials by status, lower case ("queued", "running", ...).
  std::map<std::string, int64_t> trials_by_status;
  // Age of the oldest QUEUED trial of a RUNNING experiment (0 when none).
  double oldest_queued_seconds = 0;
  // Best value of the objective metric (objective.metric: val_accuracy
  // unless the spec names another) of the evaluated search candidates of
  // each RUNNING experiment (0 before the first result).
  std::map<int64_t, double> running_best_val_accuracy;
};

enum class TrialStatus { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

// A trial's place in proposal order and its simulated cost (0 unless
// SUCCEEDED with EvaluationMetrics.simulated_seconds), for budgets.
struct TrialCost {
  int64_t candidate_id = 0;
  int32_t seq = 0;
  TrialStatus status = TrialStatus::kQueued;
  double simulated_seconds = 0;
};

struct CandidateQuery {
  int64_t experiment_id = 0;
  v1::CandidateState state = v1::CANDIDATE_STATE_UNSPECIFIED;  // = all
  // "seq", "val_accuracy", "val_balanced_accuracy", "val_macro_f1", "macs",
  // "params", "latency_ms", "objective" (the experiment's objective.metric,
  // common/objective.h), optional "-" prefix
  // for descending. Anything else: InvalidArgument naming order_by.
  std::string order_by = "seq";
  int32_t offset = 0;
  int32_t limit = 50;
  // Only search candidates (leave out final re-trainings).
  bool search_only = false;
  // Metric filters; 0 = none. val_accuracy >= min_val_accuracy, analytic
  // macs/params <= max_macs/max_params, latency_ms <= max_latency_ms.
  // Negative values: InvalidArgument naming the field.
  double min_val_accuracy = 0;
  int64_t max_macs = 0;
  int64_t max_params = 0;
  double max_latency_ms = 0;
  // Count the matching rows into CandidatePage::total (a scan of the
  // experiment's matching candidates). false: total stays -1 and an
  // unknown experiment is an empty page, not NotFound; a page ordered by
  // an indexed column (seq, val_accuracy) then reads `limit` rows only.
  bool count_total = true;
};

// A kept TorchScript model (artifacts table) and where it came from.
struct StoredModel {
  std::string bytes;
  int64_t candidate_id = 0;  // the row that was trained
  bool final_training = false;
  v1::EvaluationMetrics metrics;
};
// A stored artifact's header (ReadArtifactChunk serves its bytes).
struct ArtifactInfo {
  std::string kind;    // e.g. "supernet", "torchscript"
  int64_t size = 0;    // bytes
  int32_t chunks = 1;  // pieces, read with seq 0 .. chunks-1
};
struct CandidatePage {
  std::vector<v1::Candidate> candidates;
  int32_t total = 0;  // rows matching, over all pages
};

class Store {
 public:
  // Connects the pool. kUnavailable when the server cannot be reached.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies migrations_dir/NNNN_*.sql not yet in schema_migrations, in
  // order, each in its own transaction, all under a transaction-level
  // advisory lock so concurrent controllers apply each once. Returns the
  // versions applied now (empty when up to date).
  absl::StatusOr<std::vector<int>> Migrate(const std::string& migrations_dir);

  // --- experiments ---------------------------------------------------------
  // Stores a validated spec (as JSON and as binary proto); state RUNNING.
  // Its trials go only to workers carrying EffectiveRequiredLabels(spec)
  // (common/trainers.h: required_labels, and a COMMAND trainer's label).
  // kResourceExhausted (nothing stored) when max_running > 0 experiments
  // are RUNNING already; creations are serialized so the count is exact.
  absl::StatusOr<int64_t> CreateExperiment(const v1::ExperimentSpec& spec,
                                           int64_t seed, int max_running = 0);
  absl::StatusOr<ExperimentRecord> GetExperiment(int64_t id);
  // Newest first; ids < before_id when before_id > 0.
  absl::StatusOr<std::vector<ExperimentRecord>> ListExperiments(
      int64_t before_id, int limit);
  absl::StatusOr<std::vector<int64_t>> ListRunningExperimentIds();
  // Sets state (and finished_at for final states). Setting STOPPED also
  // cancels the experiment's QUEUED trials (candidates -> CANCELLED).
  // kFailedPrecondition when the experiment is already in a final state.
  absl::Status FinishExperiment(int64_t id, v1::ExperimentState state,
                                const std::string& error);
  // Runs a SUCCEEDED or STOPPED experiment again (or a RUNNING one on)
  // with `spec` (the stored spec with its budget changed): state RUNNING,
  // error and finished_at cleared; candidates, trials and results are
  // untouched. kFailedPrecondition when the state is no longer
  // `expected_state` (a concurrent change) or is FAILED; kResourceExhausted
  // as CreateExperiment when max_running > 0 experiments run already.
  absl::Status ReopenExperiment(int64_t id, const v1::ExperimentSpec& spec,
                                v1::ExperimentState expected_state,
                                int max_running = 0);
  // Counts from migration 0012's counters: constant work per call however
  // many candidates the experiment has.
  absl::StatusOr<v1::ExperimentCounts> CountExperiment(int64_t id);
  // CountExperiment's counts plus the summed simulated_seconds of the
  // experiment's SUCCEEDED search trials (migration 0020's counter), in the
  // same single statement: listings never read the trials themselves.
  struct ExperimentTotals {
    v1::ExperimentCounts counts;
    double simulated_seconds = 0;
  };
  absl::StatusOr<ExperimentTotals> CountExperimentTotals(int64_t id);
  // CountExperimentTotals of several experiments in one statement (a
  // listing's page), by id; an unknown id is left out.
  absl::StatusOr<std::map<int64_t, ExperimentTotals>> CountExperimentsTotals(
      const std::vector<int64_t>& ids);
  // Folds the counter deltas appended since the last fold into the
  // experiment's counters row, keeping CountExperiment's work small. Safe
  // to call concurrently with anything; call it now and then (the
  // controller does every full tick).
  absl::Status FoldCounters(int64_t id);
  // Ends a RUNNING experiment whose simulated-seconds budget is spent, in
  // one transaction: sets `state`/`error` like FinishExperiment, and every
  // trial of a candidate with seq >= first_uncounted_seq that is QUEUED,
  // RUNNING or SUCCEEDED becomes CANCELLED with `reason`, its candidate too
  // (metrics of evaluated ones are kept; a running attempt's later report
  // is refused as stale). kFailedPrecondition when already final.
  absl::Status FinishOverBudget(int64_t id, v1::ExperimentState state,
                                const std::string& error,
                                int32_t first_uncounted_seq,
                                const std::string& reason);
  // The experiment's trials of candidates with seq > after_seq (-1: all),
  // in seq order, with their simulated cost.
  absl::StatusOr<std::vector<TrialCost>> ListTrialCosts(int64_t experiment_id,
                                                        int32_t after_seq);

  // Learning curves of the experiment's trained candidates with seq >
  // after_seq (-1: from the first), at most `limit` (> 0) of them in seq
  // order: each trial's latest attempt that reported epochs.
  absl::StatusOr<std::vector<v1::LearningCurve>> ListLearningCurves(
      int64_t experiment_id, int32_t after_seq, int limit);

  // --- candidates ----------------------------------------------------------
  // In one transaction: inserts the candidates (seq continuing from the
  // experiment's last one) and a QUEUED trial (attempt 0) for each QUEUED
  // one. Returns the new candidate ids in input order.
  absl::StatusOr<std::vector<int64_t>> InsertCandidates(
      int64_t experiment_id, const std::vector<NewCandidate>& candidates);
  // Id of the first non-duplicate candidate of the experiment with this
  // genotype hash, or nullopt.
  absl::StatusOr<std::optional<int64_t>> FindCandidateByHash(
      int64_t experiment_id, const std::string& hash);
  // FindCandidateByHash for many hashes in one query: hash -> first id,
  // hashes without a candidate left out.
  absl::StatusOr<std::map<std::string, int64_t>> FindCandidatesByHash(
      int64_t experiment_id, const std::vector<std::string>& hashes);
  absl::StatusOr<CandidatePage> ListCandidates(const CandidateQuery& query);
  // The search candidates of the experiment in seq order, with the number
  // of results observed when each was proposed (for replay): those with
  // seq > after_seq, at most `limit` (0 = all).
  absl::StatusOr<std::vector<ProposalRecord>> ListProposals(
      int64_t experiment_id, int32_t after_seq = -1, int limit = 0);
  // Successful results of the experiment, in the order they were stored
  // (by ResultRecord::result_id), after result `after_result_id` (those a
  // caller has seen already; 0 = all). An index range, not a scan.
  absl::StatusOr<std::vector<ResultRecord>> ListResults(
      int64_t experiment_id, int64_t after_result_id = 0, int limit = 0);

  // --- trials --------------------------------------------------------------
  // Leases the oldest QUEUED trial of a RUNNING experiment whose
  // required_labels are all among `labels` (FOR UPDATE SKIP LOCKED):
  // status RUNNING, attempt+1, worker_id, lease_until = now() + the
  // experiment's lease_seconds; candidate -> RUNNING. nullopt when none.
  // kResourceExhausted, naming the trials held, when max_leases > 0 and
  // the worker already holds that many RUNNING leases.
  absl::StatusOr<std::optional<LeasedTrial>> LeaseTrial(
      const std::string& worker_id,
      const std::map<std::string, std::string>& labels, int max_leases = 0);
  // The same for several waiting calls of workers with the same `labels`,
  // in one transaction: the k-th oldest matching trial goes to the k-th
  // eligible call. Answers align with `worker_ids` (a worker id may occur
  // more than once: each occurrence counts against its limit). An error
  // of the whole batch (the database) is the returned status.
  struct LeaseAnswer {
    absl::Status status;               // this call's own refusal
    std::optional<LeasedTrial> trial;  // nullopt: nothing queued for it
  };
  absl::StatusOr<std::vector<LeaseAnswer>> LeaseTrials(
      const std::vector<std::string>& worker_ids,
      const std::map<std::string, std::string>& labels, int max_leases = 0);
  // Extends the lease when the trial is RUNNING with this attempt and worker.
  // Returns false (not an error) when the lease is no longer held.
  absl::StatusOr<bool> RenewLease(int64_t trial_id, int32_t attempt,
                                  const std::string& worker_id);
  // Stores one epoch's progress (idempotent on trial, attempt, epoch) and
  // renews the lease. Returns false when the lease is no longer held (the
  // progress is still not stored then).
  absl::StatusOr<bool> RecordProgress(
      const v1::ReportProgressRequest& progress);
  // Strategy darts: RecordProgress for a search trial's epoch, plus, in the
  // same transaction, its SearchProgress: the search_epochs row (rewritten
  // when a resumed attempt reports the epoch again), the search row's latest
  // derived cell and its share of parameter-free operations, and, when the
  // progress carries a checkpoint, that checkpoint as an artifact of kind
  // "checkpoint" named by the row (the one it replaces is deleted). False,
  // writing nothing, when the attempt no longer holds the lease;
  // kInvalidArgument when the trial is not a search.
  absl::StatusOr<bool> RecordSearchProgress(
      const v1::ReportProgressRequest& progress);
  // Strategy darts: the searches of `experiment_id` that ended EVALUATED
  // and have no derived candidate yet, by id.
  absl::StatusOr<std::vector<SearchOutcome>> ListUnderivedSearches(
      int64_t experiment_id);
  // Proxy-guided evolution: the slots of `experiment_id` whose screening
  // trials all ended and that have no trained child yet, by slot, each
  // with its child of the highest named metric `proxy`.
  absl::StatusOr<std::vector<ScreenedGroup>> ListScreenedGroups(
      int64_t experiment_id, const std::string& proxy);
  // Strategy darts: every stored epoch of every search of the experiment,
  // by search and epoch.
  absl::StatusOr<std::vector<v1::SearchEpoch>> ListSearchEpochs(
      int64_t experiment_id);
  // For early stopping: the experiment of `trial_id` and the validation
  // accuracies that its other trials reported at `epoch` (latest attempt of
  // each). kNotFound for an unknown trial.
  absl::StatusOr<EpochPeers> ProgressAtEpoch(int64_t trial_id, int32_t epoch);
  // Records that the controller stopped the trial early at `epoch`: on that
  // progress row and on the candidate (Candidate.early_stopped).
  absl::Status RecordStopDecision(int64_t trial_id, int32_t attempt,
                                  int32_t epoch, const std::string& reason);
  // In one transaction: results row, trial SUCCEEDED, candidate EVALUATED
  // (metrics copied to it). kFailedPrecondition naming the reason when the
  // trial is not RUNNING under this attempt and worker (stale or foreign),
  // unless the identical attempt was already stored: then kAlreadyStored.
  // With a `model` (TorchScript bytes), the same transaction keeps it in
  // artifacts when the candidate is a final re-training, or when it ranks
  // among the spec.keep_models best search candidates by validation
  // accuracy; kept models of search candidates that drop out of that top
  // are deleted. A supernet row's result must carry its model
  // (kInvalidArgument otherwise), which becomes a content-addressed
  // artifact (GetArtifactInfo). `experiment_id`, when given, receives the
  // trial's experiment.
  absl::StatusOr<ReportOutcome> RecordResult(
      int64_t trial_id, int32_t attempt, const std::string& worker_id,
      const v1::EvaluationMetrics& metrics, const std::string& model = "",
      int64_t* experiment_id = nullptr,
      const v1::SearchProgress* search = nullptr);
  // One result to store with RecordResults (pointers not owned; they must
  // outlive the call).
  struct ResultToStore {
    int64_t trial_id = 0;
    int32_t attempt = 0;
    const std::string* worker_id = nullptr;
    const v1::EvaluationMetrics* metrics = nullptr;
    const std::string* model = nullptr;  // may be empty
    // A search row's final state (strategy darts), else nullptr.
    const v1::SearchProgress* search = nullptr;
  };
  struct ResultStored {
    absl::Status status;  // RecordResult's error for this item, or OK
    ReportOutcome outcome = ReportOutcome::kStored;
    int64_t experiment_id = 0;  // when known
  };
  // RecordResult for many results in ONE transaction (group commit): one
  // commit for the batch. An item refused for RecordResult's reasons
  // (stale, unknown trial, ...) writes nothing and gets its status; the
  // others are stored. A database error fails the whole call and stores
  // nothing (retry the items one by one to isolate it).
  absl::StatusOr<std::vector<ResultStored>> RecordResults(
      const std::vector<ResultToStore>& items);
  // The model to export for candidate `candidate_id` of `experiment_id`:
  // its final re-training's when kept, else its own. kNotFound when neither
  // is kept (or the candidate is not in the experiment).
  absl::StatusOr<StoredModel> GetModel(int64_t experiment_id,
                                       int64_t candidate_id);
  // Content-addressed artifacts. A supernet row's RecordResult stores its
  // model as the artifact sha256(model) in artifact_chunk_bytes pieces (an
  // identical artifact stored before is reused) and links the row to it.
  // kNotFound for an unknown hash.
  absl::StatusOr<ArtifactInfo> GetArtifactInfo(const std::string& hash);
  // Piece `seq` (0 .. chunks-1) of artifact `hash`. kNotFound when absent.
  absl::StatusOr<std::string> ReadArtifactChunk(const std::string& hash,
                                                int32_t seq);
  // The attempt failed on the worker: back to QUEUED when attempts remain,
  // else trial and candidate FAILED with `error`. Same staleness rule.
  absl::Status RecordFailure(int64_t trial_id, int32_t attempt,
                             const std::string& worker_id,
                             const std::string& error,
                             int64_t* experiment_id = nullptr);
  // Gives every RUNNING trial at least a full lease from now (lease_until =
  // max(lease_until, now() + lease_seconds)), in `trials` and in its
  // attempt's row. For a controller that becomes active (start-up, standby
  // takeover, database back): while no controller was active, no worker
  // could renew its lease, so none may run out for that. Returns the number
  // of trials.
  absl::StatusOr<int> ExtendRunningLeases();
  // RUNNING trials whose lease_until has passed: QUEUED again, or FAILED
  // ("lease expired after N attempts") when attempt >= max_attempts.
  absl::StatusOr<ExpiryOutcome> ExpireLeases();

  // --- operations ----------------------------------------------------------
  // One round trip; kUnavailable when the database cannot be reached (the
  // health service reports NOT_SERVING then).
  absl::Status Ping();
  // Counts for the metrics (one snapshot, a few aggregate queries).
  absl::StatusOr<OpsStats> GetOpsStats();

  // --- workers -------------------------------------------------------------
  absl::Status UpsertWorker(const v1::RegisterWorkerRequest& worker);
  // Labels of a registered worker; kNotFound when it never registered.
  absl::StatusOr<std::map<std::string, std::string>> GetWorkerLabels(
      const std::string& worker_id);
  absl::Status TouchWorker(const std::string& worker_id);
  // Marks `live` (workers this controller saw lately) as seen now, then
  // deletes the rows of workers not seen for `retention` that hold no
  // RUNNING trial. Returns how many rows it deleted. A pruned worker that
  // calls again is told to register (FailedPrecondition), as one that never
  // did; its trials and results keep its id.
  absl::StatusOr<int64_t> PruneWorkers(const std::vector<std::string>& live,
                                       absl::Duration retention);

 private:
  explicit Store(std::unique_ptr<store_internal::Pool> pool);

  // Constant after construction (the pool is thread-safe itself).
  const std::unique_ptr<store_internal::Pool> pool_;
};

}  // namespace nas

#endif  // NAS_CONTROLLER_STORE_STORE_H_
