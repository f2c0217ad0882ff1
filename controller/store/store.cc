#include "controller/store/store.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace nas {
namespace {

// The counters of migration 0012, summed over delta rows (count_experiment
// and fold_counters).
constexpr char kCounterSums[] =
    "sum(candidates) AS candidates, sum(rejected) AS rejected, "
    "sum(duplicates) AS duplicates, sum(final) AS final, "
    "sum(final_done) AS final_done, sum(succeeded) AS succeeded, "
    "sum(failed) AS failed ";

// Key of the transaction-level advisory lock that serializes migrations. The
// controller's leadership lock must use a different key.
constexpr int64_t kMigrationLockKey = 0x6E61735F6D6967;  // "nas_mig"

constexpr int kDefaultLeaseSeconds = 60;
constexpr int kDefaultMaxAttempts = 3;

// --- SQL -------------------------------------------------------------------
// Every statement is prepared (lazily, on first use) on every connection.
// The statements that lease, renew or end a trial attempt also keep its
// trial_attempts row (migration 0002) in step, in data-modifying CTEs of the
// same statement, under the trial's row lock. Those history writes only
// UPDATE rows found by primary key (or upsert on lease), so they add no
// failure mode to the main operation once 0002 is applied (without the
// table every such statement fails; the controller migrates at start-up).

// Timestamps are read as microseconds since the epoch:
// (extract(epoch FROM ts) * 1000000)::bigint.
constexpr char kExperimentColumns[] =
    "id, spec_proto, seed, state, "
    "(extract(epoch FROM created_at) * 1000000)::bigint, "
    "(extract(epoch FROM finished_at) * 1000000)::bigint, error";

// Columns read by CandidateFromRow, in its order.
constexpr char kCandidateColumns[] =
    "id, experiment_id, seq, space, canonical, array_to_string(choices, ','), "
    "arch_hash, state, coalesce(parent_id, 0), generation, reason, "
    "coalesce(duplicate_of, 0), macs, params, attempts, "
    "coalesce(worker_id, ''), val_accuracy, test_accuracy, latency_ms, "
    "latency_iqr_ms, train_seconds, train_loss, epochs, device, metric_macs, "
    "metric_params, early_stopped, throughput_images_per_second, "
    "train_images_per_second, coalesce(final_of, 0), "
    // The latest result of this candidate's final re-training, if any.
    // Both subqueries start from indexes keyed by this candidate's id
    // (candidates_final_of_idx, results_candidate_idx, artifacts_candidate_
    // idx): a form the planner could answer by scanning all results instead
    // made every listing cost O(all results) per row.
    "(SELECT r.metrics_proto FROM candidates f JOIN results r ON "
    "r.candidate_id = f.id WHERE f.final_of = candidates.id AND "
    "f.final_of IS NOT NULL ORDER BY f.id DESC, r.id DESC LIMIT 1), "
    "(EXISTS (SELECT 1 FROM artifacts a WHERE a.candidate_id = candidates.id "
    "AND a.kind = 'torchscript') OR EXISTS (SELECT 1 FROM candidates f JOIN "
    "artifacts a ON a.candidate_id = f.id AND a.kind = 'torchscript' WHERE "
    "f.final_of = candidates.id AND f.final_of IS NOT NULL)), "
    "simulated_seconds, supernet, coalesce(artifact_hash, ''), "
    "(extract(epoch FROM updated_at) * 1000000)::bigint";

// $1 experiment, $2 state ('' = any), $3 search only, $4..$7 the metric
// filters of CandidateQuery (0 = none).
constexpr char kCandidateFilter[] =
    " FROM candidates WHERE experiment_id = $1 AND ($2::text = '' OR state = "
    "$2::text) AND (NOT $3::boolean OR final_of IS NULL AND NOT supernet) "
    "AND ($4::float8 = 0 OR val_accuracy >= $4::float8) AND "
    "($5::bigint = 0 OR macs <= $5::bigint) AND "
    "($6::bigint = 0 OR params <= $6::bigint) AND "
    "($7::float8 = 0 OR latency_ms <= $7::float8)";

// ListCandidates' order_by whitelist: user text only selects an entry.
struct OrderBy {
  const char* key;
  const char* asc;
  const char* desc;
};
constexpr OrderBy kOrderBys[] = {
    {"seq", "seq ASC", "seq DESC"},
    {"val_accuracy", "val_accuracy ASC NULLS LAST, seq",
     "val_accuracy DESC NULLS LAST, seq"},
    {"macs", "macs ASC, seq", "macs DESC, seq"},
    {"params", "params ASC, seq", "params DESC, seq"},
    {"latency_ms", "latency_ms ASC NULLS LAST, seq",
     "latency_ms DESC NULLS LAST, seq"},
};

std::string ListCandidatesStatement(const OrderBy& o, bool desc) {
  return absl::StrCat("list_candidates_", o.key, desc ? "_desc" : "_asc");
}

const std::vector<std::pair<std::string, std::string>>& Statements() {
  static const auto* statements = [] {
    auto* s = new std::vector<std::pair<std::string, std::string>>{
        {"create_experiment",
         "INSERT INTO experiments (name, spec, spec_proto, seed, "
         "required_labels, lease_seconds, max_attempts) "
         "VALUES ($1, $2::jsonb, $3, $4, $5::jsonb, $6, $7) RETURNING id"},
        // Serializes experiment creation (transaction-level advisory lock,
        // released at commit) so that the running count below is exact.
        {"lock_experiment_creation",
         "SELECT pg_advisory_xact_lock(7247531469713870082)"},
        {"count_running_experiments",
         "SELECT count(*) FROM experiments WHERE state = 'RUNNING'"},
        {"workers_leases",
         // trials_worker_running_idx, one probe per worker id of $1.
         "SELECT worker_id, id FROM trials WHERE status = 'RUNNING' AND "
         "worker_id = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb))) "
         "ORDER BY worker_id, id"},
        {"get_experiment", absl::StrCat("SELECT ", kExperimentColumns,
                                        " FROM experiments WHERE id = $1")},
        {"list_experiments",
         absl::StrCat("SELECT ", kExperimentColumns,
                      " FROM experiments WHERE ($1::bigint <= 0 OR id < $1) "
                      "ORDER BY id DESC LIMIT $2")},
        {"list_running_experiments",
         "SELECT id FROM experiments WHERE state = 'RUNNING' ORDER BY id"},
        // FOR NO KEY UPDATE: concurrent inserts referencing the experiment
        // (results, trials) take KEY SHARE locks and need not wait.
        {"lock_experiment",
         "SELECT state FROM experiments WHERE id = $1 FOR NO KEY UPDATE"},
        // Before cancelling trials: lock them in id order, the order the
        // result writer locks its batch in (no deadlock between the two).
        {"lock_trials_from_seq",
         "SELECT t.id FROM trials t JOIN candidates c ON c.id = t.candidate_id "
         "WHERE c.experiment_id = $1 AND c.seq >= $2 AND t.status IN "
         "('QUEUED', 'RUNNING', 'SUCCEEDED') ORDER BY t.id FOR UPDATE OF t"},
        {"lock_queued_trials",
         "SELECT id FROM trials WHERE experiment_id = $1 AND status = 'QUEUED' "
         "ORDER BY id FOR UPDATE"},
        {"finish_experiment",
         "UPDATE experiments SET state = $2, error = $3, finished_at = now() "
         "WHERE id = $1"},
        {"cancel_queued_trials",
         "WITH t AS (UPDATE trials SET status = 'CANCELLED', finished_at = "
         "now() WHERE experiment_id = $1 AND status = 'QUEUED' "
         "RETURNING candidate_id) "
         "UPDATE candidates c SET state = 'CANCELLED', updated_at = now() "
         "FROM t WHERE c.id = t.candidate_id"},
        // Trial counts are of search candidates; final re-trainings (0007)
        // are counted apart.
        {"count_experiment",
         // Counters of migration 0012 plus the deltas not folded in yet
         // (one snapshot sees a fold entirely or not at all), plus the live
         // count of the few active trials (trials_experiment_status_idx).
         // Read-only; no scan of the experiment's candidates or finished
         // trials.
         absl::StrCat(
             "SELECT coalesce(c0.candidates, 0) + coalesce(d.candidates, 0), "
             "coalesce(c0.rejected, 0) + coalesce(d.rejected, 0), "
             "coalesce(c0.duplicates, 0) + coalesce(d.duplicates, 0), "
             "tc.queued, "
             "tc.running, "
             "coalesce(c0.succeeded, 0) + coalesce(d.succeeded, 0), "
             "coalesce(c0.failed, 0) + coalesce(d.failed, 0), "
             "coalesce(c0.final, 0) + coalesce(d.final, 0), "
             "coalesce(c0.final_done, 0) + coalesce(d.final_done, 0), "
             "coalesce((SELECT state FROM candidates WHERE experiment_id = "
             "e.id "
             "AND supernet), '') "
             "FROM experiments e "
             "LEFT JOIN experiment_counters c0 ON c0.experiment_id = e.id, "
             "LATERAL (SELECT ",
             kCounterSums,
             "FROM experiment_counter_deltas WHERE experiment_id = e.id) d, "
             "LATERAL (SELECT "
             "  count(*) FILTER (WHERE t.status = 'QUEUED') AS queued, "
             "  count(*) FILTER (WHERE t.status = 'RUNNING') AS running "
             "  FROM trials t JOIN candidates c ON c.id = t.candidate_id "
             "  WHERE t.experiment_id = e.id AND t.status IN ('QUEUED', "
             "'RUNNING') "
             "  AND c.final_of IS NULL AND NOT c.supernet) tc "
             "WHERE e.id = $1")},
        {"fold_counters",
         // Moves the experiment's deltas into its counters row (the DELETE
         // takes each delta once, even with two folds at once).
         absl::StrCat("WITH d AS (DELETE FROM experiment_counter_deltas "
                      "  WHERE experiment_id = $1 RETURNING *), "
                      "s AS (SELECT ",
                      kCounterSums,
                      "FROM d HAVING count(*) > 0) "
                      "INSERT INTO experiment_counters AS k "
                      "SELECT $1, s.* FROM s "
                      "ON CONFLICT (experiment_id) DO UPDATE SET "
                      "candidates = k.candidates + EXCLUDED.candidates, "
                      "rejected = k.rejected + EXCLUDED.rejected, "
                      "duplicates = k.duplicates + EXCLUDED.duplicates, "
                      "final = k.final + EXCLUDED.final, "
                      "final_done = k.final_done + EXCLUDED.final_done, "
                      "succeeded = k.succeeded + EXCLUDED.succeeded, "
                      "failed = k.failed + EXCLUDED.failed")},
        {"reserve_seq",
         "UPDATE experiments SET next_seq = next_seq + $2 WHERE id = $1 "
         "RETURNING next_seq - $2, state"},
        {"insert_candidates",
         // The whole batch in one statement: $3 is a JSON array of rows
         // whose values are all strings (typed by the record definition).
         // Trials are created in seq order, so leasing (by trial id) is
         // FIFO by proposal.
         "WITH x AS (SELECT * FROM jsonb_to_recordset($3::jsonb) AS x("
         "  i int, space text, canonical text, choices integer[], "
         "  arch_hash text, state text, parent_id bigint, generation integer, "
         "  strategy_data text, reason text, duplicate_of bigint, macs bigint, "
         "  params bigint, observed_results integer, final_of bigint, "
         "  supernet boolean)), "
         "c AS (INSERT INTO candidates (experiment_id, seq, space, "
         "canonical, choices, arch_hash, state, parent_id, generation, "
         "strategy_data, reason, duplicate_of, macs, params, observed_results, "
         "final_of, supernet) "
         "SELECT $1, $2 + x.i, x.space, x.canonical, x.choices, x.arch_hash, "
         "x.state, NULLIF(x.parent_id, 0), x.generation, "
         "x.strategy_data::jsonb, x.reason, NULLIF(x.duplicate_of, 0), x.macs, "
         "x.params, x.observed_results, NULLIF(x.final_of, 0), x.supernet "
         "FROM x ORDER BY x.i "
         "RETURNING id, seq, experiment_id, state), "
         "t AS (INSERT INTO trials (experiment_id, candidate_id, max_attempts, "
         "lease_seconds, required_labels) SELECT c.experiment_id, c.id, "
         "e.max_attempts, e.lease_seconds, e.required_labels FROM c JOIN "
         "experiments e ON e.id = c.experiment_id WHERE c.state = 'QUEUED' "
         "ORDER BY c.seq) "
         "SELECT id FROM c ORDER BY seq"},
        {"list_trial_costs",
         // Budget walk: trials after seq $2 in seq order with their
         // simulated cost (served by candidates_experiment_seq_key).
         "SELECT c.id, c.seq, t.status, coalesce(c.simulated_seconds, 0) "
         "FROM candidates c JOIN trials t ON t.candidate_id = c.id "
         "WHERE c.experiment_id = $1 AND c.seq > $2 AND c.final_of IS NULL AND "
         "NOT c.supernet "
         "ORDER BY c.seq"},
        {"cancel_from_seq",
         // Ends every trial of candidates from seq $2 on that is queued,
         // running or succeeded (past the budget): CANCELLED with reason $3;
         // evaluated candidates keep their metrics.
         "WITH x AS (UPDATE trials t SET status = 'CANCELLED', "
         "lease_until = NULL, finished_at = coalesce(t.finished_at, now()), "
         "error = $3 FROM candidates c WHERE c.id = t.candidate_id AND "
         "c.experiment_id = $1 AND c.seq >= $2 AND t.status IN ('QUEUED', "
         "'RUNNING', 'SUCCEEDED') RETURNING t.id, t.attempt, t.candidate_id), "
         "a AS (UPDATE trial_attempts a SET outcome = 'CANCELLED', ended_at = "
         "now(), error = $3 FROM x WHERE a.trial_id = x.id AND a.attempt = "
         "x.attempt AND a.outcome = 'RUNNING') "
         "UPDATE candidates c SET state = 'CANCELLED', reason = $3, "
         "updated_at = now() FROM x WHERE c.id = x.candidate_id"},
        {"find_candidate_by_hash",
         "SELECT id FROM candidates WHERE experiment_id = $1 AND arch_hash = "
         "$2 AND state <> 'DUPLICATE' AND final_of IS NULL AND NOT supernet "
         "ORDER BY seq "
         "LIMIT 1"},
        {"find_candidates_by_hash",
         // The first of each hash in $2 (a JSON array of strings), by
         // candidates_hash_idx.
         "SELECT h.hash, (SELECT id FROM candidates WHERE experiment_id = $1 "
         "AND arch_hash = h.hash AND state <> 'DUPLICATE' AND final_of IS "
         "NULL AND NOT supernet ORDER BY seq LIMIT 1) "
         "FROM (SELECT DISTINCT jsonb_array_elements_text($2::jsonb) AS hash) "
         "h"},
        {"count_candidates",
         absl::StrCat("SELECT (SELECT count(*)", kCandidateFilter,
                      "), EXISTS (SELECT 1 FROM experiments WHERE id = $1)")},
        {"list_genotypes",
         // candidates_experiment_seq_key: a range from $2, $3 rows (0 = all).
         "SELECT space, canonical, array_to_string(choices, ','), arch_hash, "
         "observed_results, seq FROM candidates WHERE experiment_id = $1 AND "
         "seq > $2 AND final_of IS NULL AND NOT supernet ORDER BY seq "
         "LIMIT NULLIF($3::int, 0)"},
        {"list_results",
         // results_experiment_idx (experiment_id, id): a range from $2.
         "SELECT r.candidate_id, r.trial_id, c.space, c.canonical, "
         "array_to_string(c.choices, ','), c.arch_hash, r.metrics_proto, "
         "coalesce(c.parent_id, 0), c.generation, r.id "
         "FROM results r JOIN candidates c ON c.id = r.candidate_id "
         "WHERE r.experiment_id = $1 AND r.id > $2 AND c.final_of IS NULL "
         "AND NOT c.supernet "
         "ORDER BY r.id LIMIT NULLIF($3::int, 0)"},
        {"lease_trials",
         // $1: a JSON array of calls {worker_id, pos, k} of workers with
         // the labels $2; the n-th oldest matching QUEUED trial goes to the
         // n-th call that is under its worker's limit.
         "WITH w AS ("
         // Calls of workers under their lease limit ($3 <= 0: none; k is
         // the call's rank among the batch's calls of that worker), one
         // probe of trials_worker_running_idx each, renumbered.
         "  SELECT a.worker_id, a.pos,"
         "    row_number() OVER (ORDER BY a.pos) AS n"
         "  FROM jsonb_to_recordset($1::jsonb) AS a(worker_id text, pos int,"
         "    k int)"
         "  WHERE $3::int <= 0 OR a.k + (SELECT count(*) FROM trials h"
         "    WHERE h.status = 'RUNNING' AND h.worker_id = a.worker_id) < $3), "
         "picked AS MATERIALIZED ("
         // The running experiments are read once (an InitPlan), not once
         // per queued trial: the generic plan, made when the queue was
         // short, reads the whole queue and sorts it (cheap), and a
         // per-row subquery made that 1,000 index probes per batch.
         "  SELECT t.id FROM trials t"
         "  WHERE t.status = 'QUEUED' AND t.required_labels <@ $2::jsonb"
         "    AND t.experiment_id = ANY (ARRAY(SELECT e.id FROM experiments e"
         "                                    WHERE e.state = 'RUNNING'))"
         "  ORDER BY t.id LIMIT (SELECT count(*) FROM w)"
         "  FOR UPDATE SKIP LOCKED), "
         "next AS ("
         "  SELECT p.id, w.worker_id, w.pos FROM"
         "    (SELECT id, row_number() OVER (ORDER BY id) AS n FROM picked) p"
         "  JOIN w ON w.n = p.n), "
         "waited AS ("
         "  SELECT t.id, extract(epoch FROM now() - CASE WHEN t.attempt = 0"
         "    THEN t.created_at ELSE coalesce(t.lease_until, t.created_at)"
         "    END)::float8 AS queue_wait"
         "  FROM trials t JOIN next ON next.id = t.id), "
         "leased AS ("
         "  UPDATE trials t SET status = 'RUNNING', attempt = t.attempt + 1,"
         "    worker_id = next.worker_id, started_at = now(),"
         "    lease_until = now() + t.lease_seconds * interval '1 second'"
         "  FROM next WHERE t.id = next.id"
         "  RETURNING t.id, t.attempt, t.experiment_id, t.candidate_id,"
         "    t.lease_until, t.worker_id, next.pos), "
         "cand AS ("
         "  UPDATE candidates c SET state = 'RUNNING', attempts = l.attempt,"
         "    updated_at = now()"
         "  FROM leased l WHERE c.id = l.candidate_id"
         "  RETURNING c.id, c.space, c.canonical,"
         "    array_to_string(c.choices, ',') AS choices, c.arch_hash,"
         "    coalesce(c.final_of, 0) AS final_of, c.supernet), "
         // History: a row of a (trial, attempt) can only pre-exist if the
         // trial's attempt counter was reset by hand; the new lease wins.
         "att AS ("
         "  INSERT INTO trial_attempts (trial_id, attempt, worker_id,"
         "    lease_until)"
         "  SELECT l.id, l.attempt, l.worker_id, l.lease_until FROM leased l"
         "  ON CONFLICT (trial_id, attempt) DO UPDATE SET"
         "    worker_id = EXCLUDED.worker_id, started_at = EXCLUDED.started_at,"
         "    lease_until = EXCLUDED.lease_until, ended_at = NULL,"
         "    outcome = 'RUNNING', error = '') "
         "SELECT l.id, l.attempt, l.experiment_id, l.candidate_id,"
         "  (extract(epoch FROM l.lease_until) * 1000000)::bigint,"
         "  cand.space, cand.canonical, cand.choices, cand.arch_hash,"
         "  e.spec_proto, cand.final_of, cand.supernet, "
         // The experiment's trained supernet (mode SUPERNET), by the
         // partial unique index candidates_supernet_idx.
         "  coalesce((SELECT s.artifact_hash FROM candidates s WHERE "
         "    s.experiment_id = l.experiment_id AND s.supernet), ''), "
         "  wt.queue_wait, l.pos "
         "FROM leased l JOIN cand ON cand.id = l.candidate_id"
         "  JOIN waited wt ON wt.id = l.id"
         "  JOIN experiments e ON e.id = l.experiment_id "
         "ORDER BY l.id"},
        {"extend_running_leases",
         // Rows locked in id order first, like the result writer's
         // batches (no deadlock with one).
         "WITH l AS MATERIALIZED (SELECT id FROM trials WHERE status = "
         "'RUNNING' "
         "ORDER BY id FOR UPDATE), "
         "r AS (UPDATE trials t SET lease_until = greatest(t.lease_until, "
         "now() + t.lease_seconds * interval '1 second') FROM l WHERE t.id = "
         "l.id AND t.status = 'RUNNING' RETURNING t.id, t.attempt, "
         "t.lease_until), "
         "a AS (UPDATE trial_attempts a SET lease_until = r.lease_until "
         "FROM r WHERE a.trial_id = r.id AND a.attempt = r.attempt) "
         "SELECT count(*) FROM r"},
        {"renew_lease",
         "WITH r AS (UPDATE trials SET lease_until = now() + lease_seconds * "
         "interval '1 second' WHERE id = $1 AND attempt = $2 AND worker_id = "
         "$3 AND status = 'RUNNING' RETURNING id, attempt, lease_until), "
         "a AS (UPDATE trial_attempts a SET lease_until = r.lease_until "
         "FROM r WHERE a.trial_id = r.id AND a.attempt = r.attempt) "
         "SELECT id FROM r"},
        {"record_progress",
         "WITH r AS (UPDATE trials SET lease_until = now() + lease_seconds * "
         "interval '1 second' WHERE id = $1 AND attempt = $2 AND worker_id = "
         "$3 AND status = 'RUNNING' RETURNING id, attempt, lease_until), "
         "a AS (UPDATE trial_attempts a SET lease_until = r.lease_until "
         "FROM r WHERE a.trial_id = r.id AND a.attempt = r.attempt), "
         "p AS (INSERT INTO trial_progress (trial_id, attempt, epoch, "
         "worker_id, train_loss, val_accuracy, seconds) SELECT r.id, $2, $4, "
         "$3, $5, $6, $7 FROM r ON CONFLICT (trial_id, attempt, epoch) DO "
         "NOTHING) "
         "SELECT count(*) FROM r"},
        {"progress_at_epoch",
         // The latest attempt's accuracy at $2 of every other search trial
         // of the trial's experiment; none for a final re-training.
         "WITH me AS (SELECT t.experiment_id, c.final_of IS NOT NULL AS fin "
         "  FROM trials t JOIN candidates c ON c.id = t.candidate_id "
         "  WHERE t.id = $1) "
         "SELECT me.experiment_id, p.val_accuracy, me.fin FROM me "
         "LEFT JOIN LATERAL (SELECT DISTINCT ON (p.trial_id) p.val_accuracy "
         "  FROM trials t JOIN trial_progress p ON p.trial_id = t.id "
         "  JOIN candidates c ON c.id = t.candidate_id "
         "  WHERE t.experiment_id = me.experiment_id AND t.id <> $1 "
         "    AND p.epoch = $2 AND c.final_of IS NULL AND NOT c.supernet AND "
         "NOT me.fin "
         "  ORDER BY p.trial_id, p.attempt DESC) p ON true"},
        {"record_stop_decision",
         "WITH p AS (UPDATE trial_progress SET decision = $4 WHERE trial_id = "
         "$1 AND attempt = $2 AND epoch = $3 RETURNING trial_id) "
         "UPDATE candidates c SET early_stopped = $4, updated_at = now() "
         "FROM trials t WHERE t.id = $1 AND t.attempt = $2 AND "
         "c.id = t.candidate_id RETURNING c.id"},
        {"lock_trial",
         "SELECT t.status, t.attempt, coalesce(t.worker_id, ''), "
         "t.candidate_id, t.experiment_id, t.max_attempts, e.state, "
         "r.attempt, r.worker_id, c.supernet "
         "FROM trials t JOIN experiments e ON e.id = t.experiment_id "
         "JOIN candidates c ON c.id = t.candidate_id "
         "LEFT JOIN results r ON r.trial_id = t.id "
         "WHERE t.id = $1 FOR UPDATE OF t"},
        {"lock_trials",
         // lock_trial for a batch ($1: '{id,...}'), in id order (a fixed
         // lock order: no deadlock with other batches).
         "SELECT t.id, t.status, t.attempt, coalesce(t.worker_id, ''), "
         "t.candidate_id, t.experiment_id, t.max_attempts, e.state, "
         "r.attempt, r.worker_id, c.supernet "
         "FROM trials t JOIN experiments e ON e.id = t.experiment_id "
         "JOIN candidates c ON c.id = t.candidate_id "
         "LEFT JOIN results r ON r.trial_id = t.id "
         "WHERE t.id = ANY($1::bigint[]) ORDER BY t.id FOR UPDATE OF t"},
        {"store_results",
         // store_result for a batch: $1 is a JSON array of rows whose
         // values are all strings (exact doubles as %.17g, metrics_proto
         // as base64).
         "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x("
         "  trial_id bigint, attempt integer, worker_id text, "
         "  experiment_id bigint, candidate_id bigint, val_accuracy float8, "
         "  test_accuracy float8, macs bigint, params bigint, "
         "  latency_ms float8, latency_iqr_ms float8, train_seconds float8, "
         "  train_loss float8, epochs integer, device text, "
         "  metrics_proto text, throughput float8, train_ips float8, "
         "  simulated_seconds float8)), "
         "r AS (INSERT INTO results (trial_id, attempt, worker_id, "
         "experiment_id, candidate_id, val_accuracy, test_accuracy, macs, "
         "params, latency_ms, train_seconds, epochs, device, metrics_proto, "
         "simulated_seconds) "
         "SELECT trial_id, attempt, worker_id, experiment_id, candidate_id, "
         "val_accuracy, test_accuracy, macs, params, latency_ms, "
         "train_seconds, epochs, device, decode(metrics_proto, 'base64'), "
         "simulated_seconds FROM x ORDER BY trial_id), "
         // The id arrays give every update an index path whatever the
         // planner thinks of x (100 rows, always): joining on x alone, it
         // scanned all of trials and trial_attempts per batch while they
         // held tens of thousands of rows (auto_explain, issue 9).
         "ids AS (SELECT array_agg(trial_id) AS trials, "
         "array_agg(candidate_id) AS candidates FROM x), "
         "t AS (UPDATE trials t SET status = 'SUCCEEDED', finished_at = now(), "
         "lease_until = NULL, error = '' WHERE t.id = ANY ((SELECT trials "
         "FROM ids)::bigint[])), "
         "a AS (UPDATE trial_attempts a SET outcome = 'SUCCEEDED', "
         "ended_at = now(), error = '' FROM x WHERE a.trial_id = x.trial_id "
         "AND a.attempt = x.attempt AND a.trial_id = ANY ((SELECT trials "
         "FROM ids)::bigint[])) "
         "UPDATE candidates c SET state = 'EVALUATED', attempts = x.attempt, "
         "worker_id = x.worker_id, val_accuracy = x.val_accuracy, "
         "test_accuracy = x.test_accuracy, metric_macs = x.macs, "
         "metric_params = x.params, latency_ms = x.latency_ms, "
         "latency_iqr_ms = x.latency_iqr_ms, train_seconds = x.train_seconds, "
         "train_loss = x.train_loss, epochs = x.epochs, device = x.device, "
         "throughput_images_per_second = x.throughput, "
         "train_images_per_second = x.train_ips, "
         "simulated_seconds = x.simulated_seconds, reason = '', "
         "updated_at = now() FROM x WHERE c.id = x.candidate_id AND c.id = "
         "ANY ((SELECT candidates FROM ids)::bigint[])"},
        {"store_result",
         "WITH r AS (INSERT INTO results (trial_id, attempt, worker_id, "
         "experiment_id, candidate_id, val_accuracy, test_accuracy, macs, "
         "params, latency_ms, train_seconds, epochs, device, metrics_proto, "
         "simulated_seconds) "
         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12, $14, $15, "
         "$16, $19)), "
         "t AS (UPDATE trials SET status = 'SUCCEEDED', finished_at = now(), "
         "lease_until = NULL, error = '' WHERE id = $1), "
         "a AS (UPDATE trial_attempts SET outcome = 'SUCCEEDED', "
         "ended_at = now(), error = '' WHERE trial_id = $1 AND attempt = $2) "
         "UPDATE candidates SET state = 'EVALUATED', attempts = $2, "
         "worker_id = $3, val_accuracy = $6, test_accuracy = $7, "
         "metric_macs = $8, metric_params = $9, latency_ms = $10, "
         "latency_iqr_ms = $11, train_seconds = $12, train_loss = $13, "
         "epochs = $14, device = $15, throughput_images_per_second = $17, "
         "train_images_per_second = $18, simulated_seconds = $19, "
         "reason = '', updated_at = now() WHERE id = $5"},
        {"end_attempt",
         "WITH t AS (UPDATE trials SET status = $2::text, "
         "worker_id = CASE WHEN $2::text = 'QUEUED' THEN NULL ELSE worker_id "
         "END, lease_until = NULL, error = $3::text, "
         "finished_at = CASE WHEN $2::text = 'QUEUED' THEN NULL ELSE now() "
         "END WHERE id = $1 RETURNING candidate_id, id, attempt), "
         "a AS (UPDATE trial_attempts a SET outcome = 'FAILED', "
         "ended_at = now(), error = $4::text FROM t "
         "WHERE a.trial_id = t.id AND a.attempt = t.attempt) "
         "UPDATE candidates c SET state = $2::text, "
         "reason = CASE WHEN $2::text = 'QUEUED' THEN c.reason ELSE $3::text "
         "END, updated_at = now() FROM t WHERE c.id = t.candidate_id"},
        {"expire_leases",
         "WITH x AS ("
         "  SELECT t.id, CASE WHEN e.state <> 'RUNNING' THEN 'CANCELLED'"
         "    WHEN t.attempt >= t.max_attempts THEN 'FAILED'"
         "    ELSE 'QUEUED' END AS new_status,"
         "  CASE WHEN e.state <> 'RUNNING' THEN"
         "      'lease expired; experiment ' || e.state"
         "    WHEN t.attempt >= t.max_attempts THEN"
         "      'lease expired after ' || t.attempt || ' attempts'"
         "    ELSE 'lease of attempt ' || t.attempt || ' expired' END"
         "    AS new_error"
         "  FROM trials t JOIN experiments e ON e.id = t.experiment_id"
         "  WHERE t.status = 'RUNNING' AND t.lease_until < now()"
         "  FOR UPDATE OF t SKIP LOCKED), "
         "u AS ("
         "  UPDATE trials t SET status = x.new_status, error = x.new_error,"
         "    worker_id = CASE WHEN x.new_status = 'QUEUED' THEN NULL"
         "      ELSE t.worker_id END,"
         "    lease_until = NULL,"
         "    finished_at = CASE WHEN x.new_status = 'QUEUED' THEN NULL"
         "      ELSE now() END"
         "  FROM x WHERE t.id = x.id"
         "  RETURNING t.id, t.attempt, t.candidate_id, t.status, t.error), "
         "a AS ("
         "  UPDATE trial_attempts a SET outcome = 'EXPIRED', ended_at = now(),"
         "    error = 'lease expired'"
         "  FROM u WHERE a.trial_id = u.id AND a.attempt = u.attempt), "
         "c AS ("
         "  UPDATE candidates c SET state = u.status, updated_at = now(),"
         "    reason = CASE WHEN u.status = 'QUEUED' THEN c.reason"
         "      ELSE u.error END"
         "  FROM u WHERE c.id = u.candidate_id) "
         "SELECT count(*) FILTER (WHERE status = 'QUEUED'),"
         "  count(*) FILTER (WHERE status = 'FAILED') FROM u"},
        // Keeps a model when its candidate is a final re-training or ranks
        // among the spec.keep_models best search candidates by val_accuracy
        // (ties by seq). The spec's JSON omits a zero keep_models.
        {"keep_model",
         "WITH me AS (SELECT c.id, c.experiment_id, c.final_of, c.val_accuracy,"
         "  c.seq, coalesce((e.spec->>'keep_models')::int, 0) AS keep "
         "  FROM candidates c JOIN experiments e ON e.id = c.experiment_id "
         "  WHERE c.id = $1), "
         "rank AS (SELECT count(*) AS better FROM candidates o, me "
         "  WHERE o.experiment_id = me.experiment_id AND o.final_of IS NULL "
         "AND NOT o.supernet "
         "  AND o.state = 'EVALUATED' AND o.id <> me.id AND "
         "  (o.val_accuracy > me.val_accuracy OR (o.val_accuracy = "
         "   me.val_accuracy AND o.seq < me.seq))) "
         "INSERT INTO artifacts (hash, kind, experiment_id, candidate_id, "
         "size, "
         "  data) "
         "SELECT 'torchscript/' || me.id, 'torchscript', me.experiment_id, "
         "  me.id, length($2::bytea), $2::bytea FROM me, rank "
         "WHERE me.final_of IS NOT NULL OR rank.better < me.keep "
         "ON CONFLICT (hash) DO UPDATE SET data = EXCLUDED.data, "
         "  size = EXCLUDED.size, created_at = now()"},
        {"prune_models",
         "DELETE FROM artifacts a USING candidates c "
         "WHERE a.kind = 'torchscript' AND a.experiment_id = $1 AND "
         "c.id = a.candidate_id AND c.final_of IS NULL AND NOT c.supernet AND "
         "c.id NOT IN ("
         "  SELECT id FROM candidates WHERE experiment_id = $1 AND "
         "  final_of IS NULL AND NOT supernet AND state = 'EVALUATED' "
         "  ORDER BY val_accuracy DESC NULLS LAST, seq LIMIT (SELECT "
         "  coalesce((spec->>'keep_models')::int, 0) FROM experiments "
         "  WHERE id = $1))"},
        {"get_model",
         // The final re-training's model first, then the candidate's own.
         "SELECT a.data, c.id, c.final_of IS NOT NULL, r.metrics_proto "
         "FROM candidates c JOIN artifacts a ON a.candidate_id = c.id AND "
         "  a.kind = 'torchscript' "
         "LEFT JOIN results r ON r.candidate_id = c.id "
         "WHERE c.experiment_id = $1 AND (c.id = $2 OR c.final_of = $2) "
         "ORDER BY (c.final_of IS NOT NULL) DESC, r.id DESC LIMIT 1"},
        // Content-addressed artifacts (0010): the row, then its chunks; an
        // artifact stored before (same bytes) is kept as it is.
        {"insert_chunked_artifact",
         "INSERT INTO artifacts (hash, kind, size, data, chunks) "
         "VALUES ($1, $2, $3, ''::bytea, $4) ON CONFLICT (hash) DO NOTHING "
         "RETURNING hash"},
        {"insert_artifact_chunk",
         "INSERT INTO artifact_chunks (hash, seq, data) VALUES ($1, $2, $3)"},
        {"set_candidate_artifact",
         "UPDATE candidates SET artifact_hash = $2 WHERE id = $1"},
        {"artifact_info",
         "SELECT kind, size, chunks FROM artifacts WHERE hash = $1"},
        {"artifact_chunk",
         "SELECT CASE WHEN a.chunks = 0 THEN a.data ELSE c.data END "
         "FROM artifacts a LEFT JOIN artifact_chunks c ON c.hash = a.hash "
         "AND c.seq = $2 WHERE a.hash = $1 AND (a.chunks = 0 AND $2 = 0 OR "
         "c.seq IS NOT NULL)"},
        {"upsert_worker",
         "INSERT INTO workers (worker_id, device, labels, version) "
         "VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (worker_id) DO UPDATE "
         "SET device = EXCLUDED.device, labels = EXCLUDED.labels, "
         "version = EXCLUDED.version, registered_at = now(), "
         "last_seen_at = now()"},
        {"get_worker_labels",
         "SELECT l.key, l.value FROM workers w LEFT JOIN LATERAL "
         "jsonb_each_text(w.labels) l ON true WHERE w.worker_id = $1"},
        {"touch_worker",
         "UPDATE workers SET last_seen_at = now() WHERE worker_id = $1 "
         "RETURNING 1"},
    };
    for (const OrderBy& o : kOrderBys) {
      for (bool desc : {false, true}) {
        s->emplace_back(
            ListCandidatesStatement(o, desc),
            absl::StrCat("SELECT ", kCandidateColumns, kCandidateFilter,
                         " ORDER BY ", desc ? o.desc : o.asc,
                         " LIMIT $8 OFFSET $9"));
      }
    }
    return s;
  }();
  return *statements;
}

// --- conversions -----------------------------------------------------------

std::string ExperimentStateName(v1::ExperimentState s) {
  // "EXPERIMENT_RUNNING" -> "RUNNING".
  return std::string(
      absl::StripPrefix(v1::ExperimentState_Name(s), "EXPERIMENT_"));
}

std::string CandidateStateName(v1::CandidateState s) {
  return std::string(
      absl::StripPrefix(v1::CandidateState_Name(s), "CANDIDATE_"));
}

v1::ExperimentState ParseExperimentState(const std::string& text) {
  v1::ExperimentState s = v1::EXPERIMENT_STATE_UNSPECIFIED;
  v1::ExperimentState_Parse("EXPERIMENT_" + text, &s);
  return s;
}

v1::CandidateState ParseCandidateState(const std::string& text) {
  v1::CandidateState s = v1::CANDIDATE_STATE_UNSPECIFIED;
  v1::CandidateState_Parse("CANDIDATE_" + text, &s);
  return s;
}

bool IsFinal(v1::ExperimentState s) {
  return s == v1::EXPERIMENT_SUCCEEDED || s == v1::EXPERIMENT_STOPPED ||
         s == v1::EXPERIMENT_FAILED;
}

// A JSON statement parameter printed by protobuf's JSON printer (which
// does the escaping); `what` names it in the error.
absl::StatusOr<std::string> JsonParam(const google::protobuf::Message& m,
                                      absl::string_view what) {
  std::string out;
  if (auto s = google::protobuf::util::MessageToJsonString(m, &out); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot convert to JSON: ", s.ToString()));
  }
  return out;
}

// A JSON object of string values, for jsonb label columns.
template <typename Map>
absl::StatusOr<std::string> JsonObject(const Map& m) {
  google::protobuf::Struct object;
  for (const auto& [k, v] : m) {
    (*object.mutable_fields())[k].set_string_value(v);
  }
  return JsonParam(object, "labels");
}

std::string ChoicesArray(const v1::Genotype& g) {
  return absl::StrCat("{", absl::StrJoin(g.choices(), ","), "}");
}

// Fills a genotype from 4 consecutive columns: space, canonical, choices
// ("1,2,3"), hash.
void GenotypeFromRow(const pqxx::row& row, int first, v1::Genotype* g) {
  g->set_space(row[first].as<std::string>());
  g->set_canonical(row[first + 1].as<std::string>());
  for (absl::string_view part : absl::StrSplit(row[first + 2].as<std::string>(),
                                               ',', absl::SkipEmpty())) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v)) g->add_choices(v);
  }
  g->set_hash(row[first + 3].as<std::string>());
}

std::string Bytes(const pqxx::field& f) { return pqxx::binarystring(f).str(); }

absl::StatusOr<ExperimentRecord> ExperimentFromRow(const pqxx::row& row) {
  ExperimentRecord e;
  e.id = row[0].as<int64_t>();
  if (!e.spec.ParseFromString(Bytes(row[1]))) {
    return absl::DataLossError(
        absl::StrCat("experiment ", e.id, ": stored spec does not parse"));
  }
  e.seed = row[2].as<int64_t>();
  e.state = ParseExperimentState(row[3].as<std::string>());
  e.created_at = absl::FromUnixMicros(row[4].as<int64_t>());
  if (!row[5].is_null()) {
    e.finished_at = absl::FromUnixMicros(row[5].as<int64_t>());
  }
  e.error = row[6].as<std::string>();
  return e;
}

v1::Candidate CandidateFromRow(const pqxx::row& row) {
  v1::Candidate c;
  c.set_id(row[0].as<int64_t>());
  c.set_experiment_id(row[1].as<int64_t>());
  c.set_seq(row[2].as<int32_t>());
  GenotypeFromRow(row, 3, c.mutable_genotype());
  c.set_state(ParseCandidateState(row[7].as<std::string>()));
  c.set_parent_id(row[8].as<int64_t>());
  c.set_generation(row[9].as<int32_t>());
  c.set_reason(row[10].as<std::string>());
  c.set_duplicate_of(row[11].as<int64_t>());
  c.set_macs(row[12].as<int64_t>());
  c.set_params(row[13].as<int64_t>());
  c.set_attempts(row[14].as<int32_t>());
  c.set_worker_id(row[15].as<std::string>());
  if (!row[16].is_null()) {
    v1::EvaluationMetrics* m = c.mutable_metrics();
    m->set_val_accuracy(row[16].as<double>());
    m->set_test_accuracy(row[17].as<double>(0));
    m->set_latency_ms(row[18].as<double>(0));
    m->set_latency_iqr_ms(row[19].as<double>(0));
    m->set_train_seconds(row[20].as<double>(0));
    m->set_train_loss(row[21].as<double>(0));
    m->set_epochs(row[22].as<int32_t>(0));
    m->set_device(row[23].as<std::string>(""));
    m->set_macs(row[24].as<int64_t>(0));
    m->set_params(row[25].as<int64_t>(0));
    m->set_throughput_images_per_second(row[27].as<double>(0));
    m->set_train_images_per_second(row[28].as<double>(0));
    m->set_simulated_seconds(row[32].as<double>(0));
  }
  c.set_early_stopped(row[26].as<std::string>());
  c.set_final_of(row[29].as<int64_t>());
  if (!row[30].is_null()) {
    // Unparsable bytes leave `final` partly set; the row's own columns
    // above are unaffected.
    c.mutable_final()->ParseFromString(Bytes(row[30]));
  }
  c.set_has_model(row[31].as<bool>());
  c.set_supernet(row[33].as<bool>());
  c.set_supernet_hash(row[34].as<std::string>());
  const int64_t updated_us = row[35].as<int64_t>();
  c.mutable_updated_at()->set_seconds(updated_us / 1000000);
  c.mutable_updated_at()->set_nanos(static_cast<int32_t>(updated_us % 1000000) *
                                    1000);
  return c;
}

struct Migration {
  int version = 0;
  std::string name;
  std::string path;
};

absl::StatusOr<std::vector<Migration>> ListMigrations(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "migrations_dir: cannot read \"", dir, "\": ", ec.message()));
  }
  std::vector<Migration> out;
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    // NNNN_name.sql
    if (name.size() < 10 || name[4] != '_' || !absl::EndsWith(name, ".sql") ||
        !std::all_of(name.begin(), name.begin() + 4, absl::ascii_isdigit)) {
      continue;
    }
    Migration m;
    absl::SimpleAtoi(name.substr(0, 4), &m.version);
    m.name = name.substr(5, name.size() - 9);
    m.path = entry.path().string();
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const Migration& a, const Migration& b) {
    return a.version < b.version;
  });
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i].version == out[i - 1].version) {
      return absl::InvalidArgumentError(
          absl::StrFormat("migrations_dir: version %04d appears twice (%s, %s)",
                          out[i].version, out[i - 1].path, out[i].path));
    }
  }
  return out;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// --- the connection pool ---------------------------------------------------

class Store::Impl {
 public:
  explicit Impl(StoreOptions options)
      : options_(std::move(options)),
        conns_(static_cast<size_t>(options_.pool_size)),
        slot_epochs_(static_cast<size_t>(options_.pool_size), 0) {
    for (int i = 0; i < options_.pool_size; ++i) free_.push_back(i);
  }

  // Connects every slot now, so that Open reports an unreachable server.
  absl::Status ConnectAll() {
    for (int slot = 0; slot < options_.pool_size; ++slot) {
      NAS_RETURN_IF_ERROR(Connect(slot));
    }
    return absl::OkStatus();
  }

  const StoreOptions& options() const { return options_; }

  // A connection used by one caller at a time; returned to the pool when
  // destroyed. A connection marked broken is dropped and reconnected by the
  // next user of its slot.
  class Lease {
   public:
    Lease(Impl* impl, int slot) : impl_(impl), slot_(slot) {}
    ~Lease() { impl_->Release(slot_, broken_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    pqxx::connection& conn() { return *impl_->conns_[slot_]; }
    void MarkBroken() { broken_ = true; }

   private:
    Impl* impl_;
    int slot_;
    bool broken_ = false;
  };

  // Runs f(pqxx::connection&) (which returns absl::Status or StatusOr<T>)
  // on a pooled connection; converts every exception to a status.
  template <typename F>
  auto Run(absl::string_view op, F&& f)
      -> decltype(f(std::declval<pqxx::connection&>())) {
    int slot = Acquire();
    Lease lease(this, slot);
    if (conns_[slot] == nullptr || !conns_[slot]->is_open() ||
        slot_epochs_[slot] != epoch_.load()) {
      absl::Status s = Connect(slot);
      if (!s.ok()) {
        return absl::UnavailableError(absl::StrCat(op, ": ", s.message()));
      }
    }
    pqxx::connection& conn = lease.conn();
    try {
      return f(conn);
    } catch (const pqxx::broken_connection& e) {
      lease.MarkBroken();
      return absl::UnavailableError(
          absl::StrCat(op, ": database connection lost: ", e.what()));
    } catch (const pqxx::in_doubt_error& e) {
      lease.MarkBroken();
      return absl::UnknownError(
          absl::StrCat(op, ": commit outcome unknown: ", e.what()));
    } catch (const pqxx::transaction_rollback& e) {
      // serialization_failure, deadlock_detected, ...: retry the call.
      return absl::AbortedError(absl::StrCat(op, ": ", e.what()));
    } catch (const pqxx::data_exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": ", e.what()));
    } catch (const pqxx::integrity_constraint_violation& e) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": ", e.what()));
    } catch (const std::exception& e) {
      if (!conn.is_open()) {
        lease.MarkBroken();
        return absl::UnavailableError(
            absl::StrCat(op, ": database connection lost: ", e.what()));
      }
      return absl::InternalError(absl::StrCat(op, ": ", e.what()));
    } catch (...) {
      lease.MarkBroken();
      return absl::InternalError(absl::StrCat(op, ": unknown exception"));
    }
  }

 private:
  absl::Status Connect(int slot) {
    conns_[slot].reset();
    slot_epochs_[slot] = epoch_.load();
    try {
      auto c = std::make_unique<pqxx::connection>(options_.conninfo);
      // Plan every execution with its parameters. Statements are prepared
      // when a connection opens, often on near-empty tables; a generic plan
      // chosen then (after five executions) kept scanning whole tables once
      // they held tens of thousands of rows: per-experiment counts went
      // from under 1 ms to several ms and capped the controller at ~50
      // results/s (docs/BENCHMARKS.md, search_quality). Planning costs well
      // under a millisecond per statement here.
      {
        pqxx::nontransaction setup(*c);
        setup.exec0("SET plan_cache_mode = force_custom_plan");
      }
      for (const auto& [name, sql] : Statements()) c->prepare(name, sql);
      conns_[slot] = std::move(c);
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to the database: ", e.what()));
    }
  }

  int Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !free_.empty(); });
    int slot = free_.back();
    free_.pop_back();
    return slot;
  }

  void Release(int slot, bool broken) {
    if (broken) {
      // The server probably went away for every connection: reconnect each
      // slot on its next use rather than failing once per slot.
      conns_[slot].reset();
      ++epoch_;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      free_.push_back(slot);
    }
    cv_.notify_one();
  }

  const StoreOptions options_;
  // One connection per slot; a slot's pointer is touched only by the holder
  // of its lease (or by ConnectAll before the pool is shared).
  std::vector<std::unique_ptr<pqxx::connection>> conns_;
  std::vector<int64_t> slot_epochs_;  // epoch_ when each slot connected
  std::atomic<int64_t> epoch_{0};     // bumped when a connection breaks
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> free_;  // guarded by mu_: slots not leased
};

// --- Store -----------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

// Key of the session-level advisory lock that makes one controller active
// per database ("nas_lead"); distinct from kMigrationLockKey.
constexpr int64_t kLeadershipLockKey = 0x6E61735F6C656164;

class LeadershipLock::Impl {
 public:
  std::string conninfo;
  std::unique_ptr<pqxx::connection> conn;
};

absl::StatusOr<std::unique_ptr<LeadershipLock>> LeadershipLock::Acquire(
    const std::string& conninfo, absl::Duration poll,
    const std::function<void()>& on_wait,
    const std::function<bool()>& give_up) {
  auto impl = std::make_unique<Impl>();
  impl->conninfo = conninfo;
  bool waited = false;
  while (true) {
    try {
      if (impl->conn == nullptr || !impl->conn->is_open()) {
        impl->conn = std::make_unique<pqxx::connection>(conninfo);
      }
      pqxx::nontransaction txn(*impl->conn);
      if (txn.exec_params1("SELECT pg_try_advisory_lock($1)",
                           kLeadershipLockKey)[0]
              .as<bool>()) {
        return std::unique_ptr<LeadershipLock>(
            new LeadershipLock(std::move(impl)));
      }
    } catch (const pqxx::broken_connection& e) {
      return absl::UnavailableError(
          absl::StrCat("leadership lock: database unreachable: ", e.what()));
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("leadership lock: ", e.what()));
    }
    if (!waited && on_wait) on_wait();
    waited = true;
    if (give_up && give_up()) {
      return absl::CancelledError("leadership lock: gave up waiting");
    }
    absl::SleepFor(poll);
  }
}

LeadershipLock::LeadershipLock(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

LeadershipLock::~LeadershipLock() = default;

bool LeadershipLock::StillHeld() {
  if (impl_->conn == nullptr) return false;
  try {
    pqxx::nontransaction txn(*impl_->conn);
    return txn.exec_params1(
                  "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                  "AND pid = pg_backend_pid() AND granted AND "
                  "((classid::bigint << 32) | objid::bigint) = $1",
                  kLeadershipLockKey)[0]
               .as<int64_t>() > 0;
  } catch (const std::exception&) {
    return false;
  }
}

absl::Status LeadershipLock::Retake() {
  try {
    impl_->conn = std::make_unique<pqxx::connection>(impl_->conninfo);
    pqxx::nontransaction txn(*impl_->conn);
    if (txn.exec_params1("SELECT pg_try_advisory_lock($1)",
                         kLeadershipLockKey)[0]
            .as<bool>()) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        "leadership lock: another controller holds it now");
  } catch (const pqxx::broken_connection& e) {
    impl_->conn.reset();
    return absl::UnavailableError(
        absl::StrCat("leadership lock: database unreachable: ", e.what()));
  } catch (const std::exception& e) {
    impl_->conn.reset();
    return absl::UnavailableError(absl::StrCat("leadership lock: ", e.what()));
  }
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const StoreOptions& options) {
  if (options.pool_size <= 0) {
    return absl::InvalidArgumentError("pool_size: must be > 0");
  }
  auto impl = std::make_unique<Impl>(options);
  NAS_RETURN_IF_ERROR(impl->ConnectAll());
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

absl::StatusOr<std::vector<int>> Store::Migrate(
    const std::string& migrations_dir) {
  NAS_ASSIGN_OR_RETURN(std::vector<Migration> migrations,
                       ListMigrations(migrations_dir));
  std::vector<std::string> sql;
  for (const Migration& m : migrations) {
    NAS_ASSIGN_OR_RETURN(std::string text, ReadFile(m.path));
    sql.push_back(std::move(text));
  }
  return impl_->Run(
      "Migrate",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<int>> {
        std::vector<int> applied;
        for (size_t i = 0; i < migrations.size(); ++i) {
          const Migration& m = migrations[i];
          pqxx::work txn(conn);
          // Rare and schema-changing: parameterized but not prepared (a
          // prepared statement could outlive the table it names).
          txn.exec_params("SELECT pg_advisory_xact_lock($1)",
                          kMigrationLockKey);
          txn.exec(
              "CREATE TABLE IF NOT EXISTS schema_migrations ("
              "version integer PRIMARY KEY, name text NOT NULL, "
              "applied_at timestamptz NOT NULL DEFAULT now())");
          if (!txn.exec_params(
                      "SELECT 1 FROM schema_migrations WHERE version = $1",
                      m.version)
                   .empty()) {
            txn.commit();
            continue;
          }
          try {
            txn.exec(sql[i]);
          } catch (const pqxx::sql_error& e) {
            return absl::InternalError(absl::StrFormat(
                "migration %04d_%s failed: %s", m.version, m.name, e.what()));
          }
          txn.exec_params(
              "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
              m.version, m.name);
          txn.commit();
          applied.push_back(m.version);
        }
        return applied;
      });
}

// --- experiments -------------------------------------------------------------

absl::StatusOr<int64_t> Store::CreateExperiment(const v1::ExperimentSpec& spec,
                                                int64_t seed, int max_running) {
  std::string json;
  google::protobuf::util::JsonPrintOptions json_options;
  json_options.preserve_proto_field_names = true;
  if (auto s = google::protobuf::util::MessageToJsonString(spec, &json,
                                                           json_options);
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec: cannot convert to JSON: ", s.ToString()));
  }
  NAS_ASSIGN_OR_RETURN(const std::string labels,
                       JsonObject(spec.required_labels()));
  const int lease_seconds =
      spec.lease_seconds() > 0 ? spec.lease_seconds() : kDefaultLeaseSeconds;
  const int max_attempts =
      spec.max_attempts() > 0 ? spec.max_attempts() : kDefaultMaxAttempts;
  return impl_->Run(
      "CreateExperiment",
      [&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
        pqxx::work txn(conn);
        if (max_running > 0) {
          txn.exec_prepared("lock_experiment_creation");
          const int64_t running =
              txn.exec_prepared1("count_running_experiments")[0].as<int64_t>();
          if (running >= max_running) {
            return absl::ResourceExhaustedError(
                absl::StrCat(running,
                             " experiments are running and this controller "
                             "allows at most ",
                             max_running,
                             " at once (--max_running_experiments): stop one "
                             "or wait for one to finish"));
          }
        }
        pqxx::row row =
            txn.exec_prepared1("create_experiment", spec.name(), json,
                               pqxx::binarystring(spec.SerializeAsString()),
                               seed, labels, lease_seconds, max_attempts);
        txn.commit();
        return row[0].as<int64_t>();
      });
}

absl::StatusOr<ExperimentRecord> Store::GetExperiment(int64_t id) {
  return impl_->Run(
      "GetExperiment",
      [&](pqxx::connection& conn) -> absl::StatusOr<ExperimentRecord> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("get_experiment", id);
        if (r.empty()) {
          return absl::NotFoundError(absl::StrCat("experiment ", id));
        }
        return ExperimentFromRow(r[0]);
      });
}

absl::StatusOr<std::vector<ExperimentRecord>> Store::ListExperiments(
    int64_t before_id, int limit) {
  if (limit <= 0) return absl::InvalidArgumentError("limit: must be > 0");
  return impl_->Run(
      "ListExperiments",
      [&](pqxx::connection& conn)
          -> absl::StatusOr<std::vector<ExperimentRecord>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("list_experiments", before_id, limit);
        std::vector<ExperimentRecord> out;
        out.reserve(r.size());
        for (const pqxx::row& row : r) {
          NAS_ASSIGN_OR_RETURN(ExperimentRecord e, ExperimentFromRow(row));
          out.push_back(std::move(e));
        }
        return out;
      });
}

absl::StatusOr<std::vector<int64_t>> Store::ListRunningExperimentIds() {
  return impl_->Run(
      "ListRunningExperimentIds",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<int64_t>> {
        pqxx::nontransaction txn(conn);
        std::vector<int64_t> out;
        for (const pqxx::row& row :
             txn.exec_prepared("list_running_experiments")) {
          out.push_back(row[0].as<int64_t>());
        }
        return out;
      });
}

namespace {

// Under the experiment's row lock: RUNNING -> `state` with `error`.
// kNotFound for an unknown experiment, kFailedPrecondition when it already
// finished.
absl::Status FinishRunning(pqxx::work& txn, int64_t id,
                           v1::ExperimentState state,
                           const std::string& error) {
  pqxx::result r = txn.exec_prepared("lock_experiment", id);
  if (r.empty()) return absl::NotFoundError(absl::StrCat("experiment ", id));
  const std::string current = r[0][0].as<std::string>();
  if (current != "RUNNING") {
    return absl::FailedPreconditionError(
        absl::StrCat("experiment ", id, " already ", current));
  }
  txn.exec_prepared0("finish_experiment", id, ExperimentStateName(state),
                     error);
  return absl::OkStatus();
}

}  // namespace

absl::Status Store::FinishExperiment(int64_t id, v1::ExperimentState state,
                                     const std::string& error) {
  if (state == v1::EXPERIMENT_RUNNING) return absl::OkStatus();  // no change
  if (!IsFinal(state)) {
    return absl::InvalidArgumentError(
        absl::StrCat("state: not a final experiment state: ",
                     v1::ExperimentState_Name(state)));
  }
  return impl_->Run("FinishExperiment",
                    [&](pqxx::connection& conn) -> absl::Status {
                      pqxx::work txn(conn);
                      NAS_RETURN_IF_ERROR(FinishRunning(txn, id, state, error));
                      // No final state leaves work in the queue.
                      txn.exec_prepared("lock_queued_trials", id);
                      txn.exec_prepared0("cancel_queued_trials", id);
                      txn.commit();
                      return absl::OkStatus();
                    });
}

absl::Status Store::FinishOverBudget(int64_t id, v1::ExperimentState state,
                                     const std::string& error,
                                     int32_t first_uncounted_seq,
                                     const std::string& reason) {
  if (!IsFinal(state)) {
    return absl::InvalidArgumentError(
        absl::StrCat("state: not a final experiment state: ",
                     v1::ExperimentState_Name(state)));
  }
  return impl_->Run(
      "FinishOverBudget", [&](pqxx::connection& conn) -> absl::Status {
        pqxx::work txn(conn);
        NAS_RETURN_IF_ERROR(FinishRunning(txn, id, state, error));
        txn.exec_prepared("lock_trials_from_seq", id, first_uncounted_seq);
        txn.exec_prepared0("cancel_from_seq", id, first_uncounted_seq, reason);
        txn.exec_prepared("lock_queued_trials", id);
        txn.exec_prepared0("cancel_queued_trials", id);
        txn.commit();
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<TrialCost>> Store::ListTrialCosts(
    int64_t experiment_id, int32_t after_seq) {
  return impl_->Run(
      "ListTrialCosts",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<TrialCost>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("list_trial_costs", experiment_id, after_seq);
        std::vector<TrialCost> out(r.size());
        for (size_t i = 0; i < r.size(); ++i) {
          out[i].candidate_id = r[i][0].as<int64_t>();
          out[i].seq = r[i][1].as<int32_t>();
          const std::string status = r[i][2].as<std::string>();
          out[i].status = status == "QUEUED"      ? TrialStatus::kQueued
                          : status == "RUNNING"   ? TrialStatus::kRunning
                          : status == "SUCCEEDED" ? TrialStatus::kSucceeded
                          : status == "FAILED"    ? TrialStatus::kFailed
                                                  : TrialStatus::kCancelled;
          out[i].simulated_seconds = r[i][3].as<double>();
        }
        return out;
      });
}

absl::Status Store::FoldCounters(int64_t id) {
  return impl_->Run("FoldCounters", [&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);  // one statement: atomic by itself
    txn.exec_prepared0("fold_counters", id);
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::ExperimentCounts> Store::CountExperiment(int64_t id) {
  return impl_->Run(
      "CountExperiment",
      [&](pqxx::connection& conn) -> absl::StatusOr<v1::ExperimentCounts> {
        pqxx::work txn(conn);
        // The live queued/running counts and the pending deltas read
        // indexes full of dead entries between vacuums (every lease and
        // result moves a trial between statuses). A plain index scan marks
        // the dead entries it meets so the next count skips them; a bitmap
        // scan (the planner's choice for an estimate of a few rows) visited
        // every one each time: 10-50 ms per count after a minute of
        // results (auto_explain, issue 9).
        txn.exec0("SET LOCAL enable_bitmapscan = off");
        pqxx::result r = txn.exec_prepared("count_experiment", id);
        txn.commit();
        if (r.empty()) {
          return absl::NotFoundError(absl::StrCat("experiment ", id));
        }
        const pqxx::row& row = r[0];
        v1::ExperimentCounts c;
        c.set_candidates(row[0].as<int32_t>());
        c.set_rejected(row[1].as<int32_t>());
        c.set_duplicates(row[2].as<int32_t>());
        c.set_trials_queued(row[3].as<int32_t>());
        c.set_trials_running(row[4].as<int32_t>());
        c.set_trials_succeeded(row[5].as<int32_t>());
        c.set_trials_failed(row[6].as<int32_t>());
        c.set_final_trainings(row[7].as<int32_t>());
        c.set_final_trainings_done(row[8].as<int32_t>());
        const std::string supernet = row[9].as<std::string>();
        if (!supernet.empty()) {
          c.set_supernet(ParseCandidateState(supernet));
        }
        return c;
      });
}

// --- candidates --------------------------------------------------------------

absl::StatusOr<std::vector<int64_t>> Store::InsertCandidates(
    int64_t experiment_id, const std::vector<NewCandidate>& candidates) {
  for (size_t i = 0; i < candidates.size(); ++i) {
    const v1::CandidateState s = candidates[i].state;
    if (s != v1::CANDIDATE_QUEUED && s != v1::CANDIDATE_REJECTED &&
        s != v1::CANDIDATE_DUPLICATE) {
      return absl::InvalidArgumentError(
          absl::StrCat("candidates[", i,
                       "].state: must be QUEUED, REJECTED or DUPLICATE, "
                       "got ",
                       v1::CandidateState_Name(s)));
    }
  }
  if (candidates.empty()) return std::vector<int64_t>{};
  // One JSON array for the batch; every value a string (exact int64s,
  // escaping done by protobuf's JSON printer).
  google::protobuf::ListValue rows;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const NewCandidate& c = candidates[i];
    auto& f = *rows.add_values()->mutable_struct_value()->mutable_fields();
    f["i"].set_string_value(absl::StrCat(i));
    f["space"].set_string_value(c.genotype.space());
    f["canonical"].set_string_value(c.genotype.canonical());
    f["choices"].set_string_value(ChoicesArray(c.genotype));
    f["arch_hash"].set_string_value(c.genotype.hash());
    f["state"].set_string_value(CandidateStateName(c.state));
    f["parent_id"].set_string_value(absl::StrCat(c.parent_id));
    f["generation"].set_string_value(absl::StrCat(c.generation));
    f["strategy_data"].set_string_value(
        c.strategy_data.empty() ? "{}" : c.strategy_data);
    f["reason"].set_string_value(c.reason);
    f["duplicate_of"].set_string_value(absl::StrCat(c.duplicate_of));
    f["macs"].set_string_value(absl::StrCat(c.macs));
    f["params"].set_string_value(absl::StrCat(c.params));
    f["observed_results"].set_string_value(absl::StrCat(c.observed_results));
    f["final_of"].set_string_value(absl::StrCat(c.final_of));
    f["supernet"].set_string_value(c.supernet ? "true" : "false");
  }
  NAS_ASSIGN_OR_RETURN(const std::string rows_json,
                       JsonParam(rows, "candidates"));
  return impl_->Run(
      "InsertCandidates",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<int64_t>> {
        pqxx::work txn(conn);
        const int n = static_cast<int>(candidates.size());
        pqxx::result r = txn.exec_prepared("reserve_seq", experiment_id, n);
        if (r.empty()) {
          return absl::NotFoundError(
              absl::StrCat("experiment ", experiment_id));
        }
        const std::string state = r[0][1].as<std::string>();
        if (state != "RUNNING") {
          return absl::FailedPreconditionError(
              absl::StrCat("experiment ", experiment_id, " is ", state));
        }
        const int seq = r[0][0].as<int>();
        pqxx::result inserted = txn.exec_prepared(
            "insert_candidates", experiment_id, seq, rows_json);
        std::vector<int64_t> ids;
        ids.reserve(candidates.size());
        for (const pqxx::row& row : inserted) {
          ids.push_back(row[0].as<int64_t>());
        }
        txn.commit();
        return ids;
      });
}

absl::StatusOr<std::optional<int64_t>> Store::FindCandidateByHash(
    int64_t experiment_id, const std::string& hash) {
  return impl_->Run(
      "FindCandidateByHash",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::optional<int64_t>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("find_candidate_by_hash", experiment_id, hash);
        if (r.empty()) return std::optional<int64_t>();
        return std::optional<int64_t>(r[0][0].as<int64_t>());
      });
}

absl::StatusOr<std::map<std::string, int64_t>> Store::FindCandidatesByHash(
    int64_t experiment_id, const std::vector<std::string>& hashes) {
  std::map<std::string, int64_t> out;
  if (hashes.empty()) return out;
  google::protobuf::ListValue list;
  for (const std::string& h : hashes) list.add_values()->set_string_value(h);
  NAS_ASSIGN_OR_RETURN(const std::string json, JsonParam(list, "hashes"));
  return impl_->Run(
      "FindCandidatesByHash",
      [&](pqxx::connection& conn)
          -> absl::StatusOr<std::map<std::string, int64_t>> {
        pqxx::nontransaction txn(conn);
        for (const pqxx::row& row : txn.exec_prepared("find_candidates_by_hash",
                                                      experiment_id, json)) {
          if (!row[1].is_null()) {
            out[row[0].as<std::string>()] = row[1].as<int64_t>();
          }
        }
        return out;
      });
}

absl::StatusOr<CandidatePage> Store::ListCandidates(
    const CandidateQuery& query) {
  absl::string_view order = query.order_by;
  const bool desc = absl::ConsumePrefix(&order, "-");
  if (order.empty() && !desc) order = "seq";
  const OrderBy* order_by = nullptr;
  for (const OrderBy& o : kOrderBys) {
    if (order == o.key) order_by = &o;
  }
  if (order_by == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "order_by: unknown field \"", query.order_by,
        "\"; expected seq, val_accuracy, macs, params or latency_ms, "
        "optionally prefixed with -"));
  }
  if (query.offset < 0)
    return absl::InvalidArgumentError("offset: must be >= 0");
  if (query.limit <= 0) return absl::InvalidArgumentError("limit: must be > 0");
  if (query.min_val_accuracy < 0 || query.max_macs < 0 ||
      query.max_params < 0 || query.max_latency_ms < 0) {
    return absl::InvalidArgumentError(
        query.min_val_accuracy < 0 ? "min_val_accuracy: must be >= 0"
        : query.max_macs < 0       ? "max_macs: must be >= 0"
        : query.max_params < 0     ? "max_params: must be >= 0"
                                   : "max_latency_ms: must be >= 0");
  }
  const std::string state = query.state == v1::CANDIDATE_STATE_UNSPECIFIED
                                ? ""
                                : CandidateStateName(query.state);
  const std::string statement = ListCandidatesStatement(*order_by, desc);
  return impl_->Run(
      "ListCandidates",
      [&](pqxx::connection& conn) -> absl::StatusOr<CandidatePage> {
        pqxx::read_transaction txn(conn);  // count and page from one snapshot
        pqxx::row count = txn.exec_prepared1(
            "count_candidates", query.experiment_id, state, query.search_only,
            query.min_val_accuracy, query.max_macs, query.max_params,
            query.max_latency_ms);
        if (!count[1].as<bool>()) {
          return absl::NotFoundError(
              absl::StrCat("experiment ", query.experiment_id));
        }
        CandidatePage page;
        page.total = count[0].as<int32_t>();
        pqxx::result r = txn.exec_prepared(
            statement, query.experiment_id, state, query.search_only,
            query.min_val_accuracy, query.max_macs, query.max_params,
            query.max_latency_ms, query.limit, query.offset);
        page.candidates.reserve(r.size());
        for (const pqxx::row& row : r) {
          page.candidates.push_back(CandidateFromRow(row));
        }
        txn.commit();
        return page;
      });
}

absl::StatusOr<std::vector<ProposalRecord>> Store::ListProposals(
    int64_t experiment_id, int32_t after_seq, int limit) {
  return impl_->Run("ListProposals",
                    [&](pqxx::connection& conn)
                        -> absl::StatusOr<std::vector<ProposalRecord>> {
                      pqxx::nontransaction txn(conn);
                      pqxx::result r = txn.exec_prepared(
                          "list_genotypes", experiment_id, after_seq, limit);
                      std::vector<ProposalRecord> out(r.size());
                      for (size_t i = 0; i < r.size(); ++i) {
                        GenotypeFromRow(r[i], 0, &out[i].genotype);
                        out[i].observed_results = r[i][4].as<int32_t>();
                        out[i].seq = r[i][5].as<int32_t>();
                      }
                      return out;
                    });
}

absl::StatusOr<std::vector<ResultRecord>> Store::ListResults(
    int64_t experiment_id, int64_t after_result_id, int limit) {
  return impl_->Run(
      "ListResults",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<ResultRecord>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("list_results", experiment_id,
                                           after_result_id, limit);
        std::vector<ResultRecord> out(r.size());
        for (size_t i = 0; i < r.size(); ++i) {
          out[i].candidate_id = r[i][0].as<int64_t>();
          out[i].trial_id = r[i][1].as<int64_t>();
          out[i].parent_id = r[i][7].as<int64_t>();
          out[i].generation = r[i][8].as<int32_t>();
          out[i].result_id = r[i][9].as<int64_t>();
          GenotypeFromRow(r[i], 2, &out[i].genotype);
          if (!out[i].metrics.ParseFromString(Bytes(r[i][6]))) {
            return absl::DataLossError(absl::StrCat(
                "trial ", out[i].trial_id, ": stored metrics do not parse"));
          }
        }
        return out;
      });
}

// --- trials ------------------------------------------------------------------

absl::StatusOr<std::optional<LeasedTrial>> Store::LeaseTrial(
    const std::string& worker_id,
    const std::map<std::string, std::string>& labels, int max_leases) {
  NAS_ASSIGN_OR_RETURN(std::vector<LeaseAnswer> answers,
                       LeaseTrials({worker_id}, labels, max_leases));
  if (!answers[0].status.ok()) return answers[0].status;
  return std::move(answers[0].trial);
}

absl::StatusOr<std::vector<Store::LeaseAnswer>> Store::LeaseTrials(
    const std::vector<std::string>& worker_ids,
    const std::map<std::string, std::string>& labels, int max_leases) {
  if (worker_ids.empty()) return std::vector<LeaseAnswer>();
  // Each call with its position and its rank among the calls of the same
  // worker (so that one batch cannot take a worker past its limit).
  google::protobuf::ListValue calls;
  std::vector<int> rank(worker_ids.size());
  std::map<std::string, int> seen;
  for (size_t i = 0; i < worker_ids.size(); ++i) {
    if (worker_ids[i].empty()) {
      return absl::InvalidArgumentError("worker_id: must not be empty");
    }
    rank[i] = seen[worker_ids[i]]++;
    auto& fields =
        *calls.add_values()->mutable_struct_value()->mutable_fields();
    fields["worker_id"].set_string_value(worker_ids[i]);
    fields["pos"].set_number_value(i);
    fields["k"].set_number_value(rank[i]);
  }
  NAS_ASSIGN_OR_RETURN(const std::string calls_json,
                       JsonParam(calls, "lease calls"));
  NAS_ASSIGN_OR_RETURN(const std::string labels_json, JsonObject(labels));
  return impl_->Run(
      "LeaseTrials",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<LeaseAnswer>> {
        std::vector<LeaseAnswer> answers(worker_ids.size());
        pqxx::work txn(conn);
        // Its custom planning cost more than its execution (~0.4 ms each,
        // pg_stat_statements): the generic plan (partial indexes on the
        // literal statuses) is as good.
        txn.exec0("SET LOCAL plan_cache_mode = force_generic_plan");
        pqxx::result r = txn.exec_prepared("lease_trials", calls_json,
                                           labels_json, max_leases);
        std::vector<bool> leased(worker_ids.size(), false);
        for (const pqxx::row& row : r) leased[row[14].as<size_t>()] = true;
        if (max_leases > 0 && r.size() < worker_ids.size()) {
          // Calls left without a trial: refused when at their worker's
          // limit (naming the trials held), else the queue had nothing.
          google::protobuf::ListValue empty;
          for (size_t i = 0; i < worker_ids.size(); ++i) {
            if (!leased[i]) empty.add_values()->set_string_value(worker_ids[i]);
          }
          NAS_ASSIGN_OR_RETURN(const std::string empty_json,
                               JsonParam(empty, "worker ids"));
          std::map<std::string, std::vector<std::string>> held;
          for (const pqxx::row& h :
               txn.exec_prepared("workers_leases", empty_json)) {
            held[h[0].c_str()].push_back(h[1].c_str());
          }
          for (size_t i = 0; i < worker_ids.size(); ++i) {
            if (leased[i]) continue;
            auto h = held.find(worker_ids[i]);
            const int holds = h == held.end() ? 0 : h->second.size();
            if (holds + rank[i] < max_leases) continue;
            answers[i].status = absl::ResourceExhaustedError(absl::StrCat(
                "worker '", worker_ids[i], "' already holds ", holds,
                " lease(s)",
                holds > 0 ? absl::StrCat(" (trial ",
                                         absl::StrJoin(h->second, ", "), ")")
                          : std::string(),
                rank[i] > 0
                    ? absl::StrCat(" (and asks for ", rank[i] + 1, " at once)")
                    : std::string(),
                " and this controller allows ", max_leases,
                " per worker (--max_leases_per_worker): report or abandon "
                "them first, or let them expire"));
          }
        }
        txn.commit();
        std::map<int64_t, v1::ExperimentSpec> specs;  // parsed once each
        for (const pqxx::row& row : r) {
          LeaseAnswer& answer = answers[row[14].as<size_t>()];
          LeasedTrial t;
          t.trial_id = row[0].as<int64_t>();
          t.attempt = row[1].as<int32_t>();
          t.experiment_id = row[2].as<int64_t>();
          t.candidate_id = row[3].as<int64_t>();
          t.lease_until = absl::FromUnixMicros(row[4].as<int64_t>());
          GenotypeFromRow(row, 5, &t.genotype);
          auto spec = specs.find(t.experiment_id);
          if (spec == specs.end()) {
            spec = specs.emplace(t.experiment_id, v1::ExperimentSpec()).first;
            if (!spec->second.ParseFromString(Bytes(row[9]))) {
              specs.erase(spec);
              answer.status = absl::DataLossError(
                  absl::StrCat("experiment ", t.experiment_id,
                               ": stored spec does not parse"));
              continue;
            }
          }
          t.spec = spec->second;
          t.final_of = row[10].as<int64_t>();
          t.supernet = row[11].as<bool>();
          t.supernet_hash = row[12].as<std::string>();
          t.queue_wait = absl::Seconds(std::max(0.0, row[13].as<double>()));
          answer.trial = std::move(t);
        }
        return answers;
      });
}

absl::Status Store::Ping() {
  return impl_->Run("Ping", [&](pqxx::connection& conn) -> absl::Status {
    pqxx::nontransaction txn(conn);
    txn.exec1("SELECT 1");
    return absl::OkStatus();
  });
}

absl::StatusOr<OpsStats> Store::GetOpsStats() {
  return impl_->Run(
      "GetOpsStats", [&](pqxx::connection& conn) -> absl::StatusOr<OpsStats> {
        // Rare (every few seconds) and not on the hot path: not prepared.
        pqxx::read_transaction txn(conn);
        OpsStats out;
        for (const pqxx::row& row :
             txn.exec("SELECT lower(status), count(*) FROM trials "
                      "GROUP BY status")) {
          out.trials_by_status[row[0].as<std::string>()] = row[1].as<int64_t>();
        }
        out.oldest_queued_seconds =
            txn.exec1(
                   "SELECT coalesce(extract(epoch FROM now() - "
                   "min(t.created_at)), 0)::float8 FROM trials t JOIN "
                   "experiments e ON e.id = t.experiment_id WHERE t.status = "
                   "'QUEUED' AND e.state = 'RUNNING'")[0]
                .as<double>();
        for (const pqxx::row& row : txn.exec(
                 "SELECT e.id, coalesce(max(c.val_accuracy), 0)::float8 FROM "
                 "experiments e LEFT JOIN candidates c ON c.experiment_id = "
                 "e.id AND c.state = 'EVALUATED' AND c.final_of IS NULL AND "
                 "NOT "
                 "c.supernet "
                 "WHERE e.state = 'RUNNING' GROUP BY e.id")) {
          out.running_best_val_accuracy[row[0].as<int64_t>()] =
              row[1].as<double>();
        }
        return out;
      });
}

absl::StatusOr<bool> Store::RenewLease(int64_t trial_id, int32_t attempt,
                                       const std::string& worker_id) {
  return impl_->Run(
      "RenewLease", [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
        pqxx::nontransaction txn(conn);
        return !txn.exec_prepared("renew_lease", trial_id, attempt, worker_id)
                    .empty();
      });
}

absl::StatusOr<bool> Store::RecordProgress(const v1::ReportProgressRequest& p) {
  return impl_->Run(
      "RecordProgress", [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
        pqxx::nontransaction txn(conn);  // one statement: atomic by itself
        pqxx::row row = txn.exec_prepared1(
            "record_progress", p.trial_id(), p.attempt(), p.worker_id(),
            p.epoch(), p.train_loss(), p.val_accuracy(), p.seconds());
        return row[0].as<int64_t>() > 0;
      });
}

absl::StatusOr<EpochPeers> Store::ProgressAtEpoch(int64_t trial_id,
                                                  int32_t epoch) {
  return impl_->Run(
      "ProgressAtEpoch",
      [&](pqxx::connection& conn) -> absl::StatusOr<EpochPeers> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("progress_at_epoch", trial_id, epoch);
        if (r.empty()) {
          return absl::NotFoundError(absl::StrCat("trial ", trial_id));
        }
        EpochPeers out;
        out.experiment_id = r[0][0].as<int64_t>();
        out.final_training = r[0][2].as<bool>();
        for (const pqxx::row& row : r) {
          if (!row[1].is_null()) out.others.push_back(row[1].as<double>());
        }
        return out;
      });
}

absl::Status Store::RecordStopDecision(int64_t trial_id, int32_t attempt,
                                       int32_t epoch,
                                       const std::string& reason) {
  return impl_
      ->Run("RecordStopDecision",
            [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
              pqxx::nontransaction txn(conn);  // one statement
              return !txn.exec_prepared("record_stop_decision", trial_id,
                                        attempt, epoch, reason)
                          .empty();
            })
      .status();
}

namespace {

// The trial row as locked by "lock_trial".
struct TrialState {
  std::string status;
  int32_t attempt = 0;
  std::string worker_id;
  int64_t candidate_id = 0;
  int64_t experiment_id = 0;
  int32_t max_attempts = 0;
  std::string experiment_state;
  std::optional<int32_t> result_attempt;  // when a result is stored
  std::string result_worker_id;
  bool supernet = false;  // the candidate is a supernet-training row
};

// A lock_trial(s) row from column `first` on.
TrialState TrialStateFromRow(const pqxx::row& row, int first) {
  TrialState t;
  t.status = row[first].as<std::string>();
  t.attempt = row[first + 1].as<int32_t>();
  t.worker_id = row[first + 2].as<std::string>();
  t.candidate_id = row[first + 3].as<int64_t>();
  t.experiment_id = row[first + 4].as<int64_t>();
  t.max_attempts = row[first + 5].as<int32_t>();
  t.experiment_state = row[first + 6].as<std::string>();
  if (!row[first + 7].is_null()) {
    t.result_attempt = row[first + 7].as<int32_t>();
    t.result_worker_id = row[first + 8].as<std::string>();
  }
  t.supernet = row[first + 9].as<bool>();
  return t;
}

absl::StatusOr<TrialState> LockTrial(pqxx::work& txn, int64_t trial_id) {
  pqxx::result r = txn.exec_prepared("lock_trial", trial_id);
  if (r.empty()) return absl::NotFoundError(absl::StrCat("trial ", trial_id));
  return TrialStateFromRow(r[0], 0);
}

// OK when `t` is RUNNING under this attempt and worker; else
// kFailedPrecondition saying why the report is stale.
absl::Status CheckLease(const TrialState& t, int64_t trial_id, int32_t attempt,
                        const std::string& worker_id) {
  if (t.status != "RUNNING") {
    return absl::FailedPreconditionError(
        absl::StrCat("stale report for trial ", trial_id, " attempt ", attempt,
                     ": trial is ", t.status, " (attempt ", t.attempt, ")"));
  }
  if (t.attempt != attempt) {
    return absl::FailedPreconditionError(
        absl::StrCat("stale report for trial ", trial_id, " attempt ", attempt,
                     ": current attempt is ", t.attempt));
  }
  if (t.worker_id != worker_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stale report for trial ", trial_id, " attempt ", attempt,
        ": leased by worker \"", t.worker_id, "\", not \"", worker_id, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// Stores `bytes` as artifact `hash` in pieces of `chunk_bytes`, unless an
// artifact with this hash (the same bytes) is stored already.
void StoreChunked(pqxx::work& txn, const std::string& hash,
                  const std::string& kind, const std::string& bytes,
                  int chunk_bytes) {
  const int64_t size = static_cast<int64_t>(bytes.size());
  const int64_t step = std::max(1, chunk_bytes);
  const int32_t chunks = static_cast<int32_t>((size + step - 1) / step);
  pqxx::result r =
      txn.exec_prepared("insert_chunked_artifact", hash, kind, size, chunks);
  if (r.empty()) return;  // stored before
  for (int32_t i = 0; i < chunks; ++i) {
    const int64_t off = i * step;
    txn.exec_prepared0(
        "insert_artifact_chunk", hash, i,
        pqxx::binarystring(bytes.data() + off,
                           static_cast<size_t>(std::min(step, size - off))));
  }
}

}  // namespace

absl::StatusOr<ArtifactInfo> Store::GetArtifactInfo(const std::string& hash) {
  return impl_->Run(
      "GetArtifactInfo",
      [&](pqxx::connection& conn) -> absl::StatusOr<ArtifactInfo> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("artifact_info", hash);
        if (r.empty()) {
          return absl::NotFoundError(absl::StrCat("artifact ", hash));
        }
        ArtifactInfo out;
        out.kind = r[0][0].as<std::string>();
        out.size = r[0][1].as<int64_t>();
        out.chunks = std::max(1, r[0][2].as<int32_t>());
        return out;
      });
}

absl::StatusOr<std::string> Store::ReadArtifactChunk(const std::string& hash,
                                                     int32_t seq) {
  return impl_->Run("ReadArtifactChunk",
                    [&](pqxx::connection& conn) -> absl::StatusOr<std::string> {
                      pqxx::nontransaction txn(conn);
                      pqxx::result r =
                          txn.exec_prepared("artifact_chunk", hash, seq);
                      if (r.empty()) {
                        return absl::NotFoundError(
                            absl::StrCat("artifact ", hash, " chunk ", seq));
                      }
                      return Bytes(r[0][0]);
                    });
}

namespace {

// RecordResult's work inside `txn` (not committed). Errors come before any
// write, so an item refused here leaves nothing behind.
absl::StatusOr<ReportOutcome> RecordOneResult(
    pqxx::work& txn, int64_t trial_id, int32_t attempt,
    const std::string& worker_id, const v1::EvaluationMetrics& m,
    const std::string& model, int chunk_bytes, int64_t* experiment_id) {
  NAS_ASSIGN_OR_RETURN(TrialState t, LockTrial(txn, trial_id));
  if (experiment_id != nullptr) *experiment_id = t.experiment_id;
  if (t.result_attempt == attempt && t.result_worker_id == worker_id) {
    return ReportOutcome::kAlreadyStored;
  }
  NAS_RETURN_IF_ERROR(CheckLease(t, trial_id, attempt, worker_id));
  if (t.supernet && model.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model: trial ", trial_id,
        " trains the experiment's supernet; its result must carry the "
        "trained weights"));
  }
  txn.exec_prepared0(
      "store_result", trial_id, attempt, worker_id, t.experiment_id,
      t.candidate_id, m.val_accuracy(), m.test_accuracy(), m.macs(), m.params(),
      m.latency_ms(), m.latency_iqr_ms(), m.train_seconds(), m.train_loss(),
      m.epochs(), m.device(), pqxx::binarystring(m.SerializeAsString()),
      m.throughput_images_per_second(), m.train_images_per_second(),
      m.simulated_seconds());
  if (t.supernet) {
    const std::string hash = Sha256Hex(model);
    StoreChunked(txn, hash, "supernet", model, chunk_bytes);
    txn.exec_prepared0("set_candidate_artifact", t.candidate_id, hash);
  } else if (!model.empty()) {
    txn.exec_prepared0("keep_model", t.candidate_id, pqxx::binarystring(model));
    txn.exec_prepared0("prune_models", t.experiment_id);
  }
  return ReportOutcome::kStored;
}

}  // namespace

absl::StatusOr<ReportOutcome> Store::RecordResult(
    int64_t trial_id, int32_t attempt, const std::string& worker_id,
    const v1::EvaluationMetrics& m, const std::string& model,
    int64_t* experiment_id) {
  return impl_->Run(
      "RecordResult",
      [&](pqxx::connection& conn) -> absl::StatusOr<ReportOutcome> {
        pqxx::work txn(conn);
        NAS_ASSIGN_OR_RETURN(
            ReportOutcome outcome,
            RecordOneResult(txn, trial_id, attempt, worker_id, m, model,
                            impl_->options().artifact_chunk_bytes,
                            experiment_id));
        if (outcome == ReportOutcome::kStored) txn.commit();
        return outcome;
      });
}

absl::StatusOr<std::vector<Store::ResultStored>> Store::RecordResults(
    const std::vector<ResultToStore>& items) {
  std::vector<ResultStored> out(items.size());
  if (items.empty()) return out;
  std::vector<std::string> ids;
  for (const ResultToStore& r : items) ids.push_back(absl::StrCat(r.trial_id));
  const std::string id_array = absl::StrCat("{", absl::StrJoin(ids, ","), "}");
  auto num = [](double v) { return absl::StrFormat("%.17g", v); };
  return impl_->Run(
      "RecordResults",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<ResultStored>> {
        pqxx::work txn(conn);
        std::map<int64_t, TrialState> state;
        for (const pqxx::row& row :
             txn.exec_prepared("lock_trials", id_array)) {
          state[row[0].as<int64_t>()] = TrialStateFromRow(row, 1);
        }
        google::protobuf::ListValue rows;
        for (size_t i = 0; i < items.size(); ++i) {
          const ResultToStore& r = items[i];
          auto it = state.find(r.trial_id);
          if (it == state.end()) {
            out[i].status =
                absl::NotFoundError(absl::StrCat("trial ", r.trial_id));
            continue;
          }
          TrialState& t = it->second;
          out[i].experiment_id = t.experiment_id;
          if (t.result_attempt == r.attempt &&
              t.result_worker_id == *r.worker_id) {
            out[i].outcome = ReportOutcome::kAlreadyStored;
            continue;
          }
          if (absl::Status s =
                  CheckLease(t, r.trial_id, r.attempt, *r.worker_id);
              !s.ok()) {
            out[i].status = s;
            continue;
          }
          if (t.supernet || !r.model->empty()) {
            // Weights and models: the single-result path, same transaction.
            absl::StatusOr<ReportOutcome> one = RecordOneResult(
                txn, r.trial_id, r.attempt, *r.worker_id, *r.metrics, *r.model,
                impl_->options().artifact_chunk_bytes, nullptr);
            if (one.ok()) {
              out[i].outcome = *one;
            } else {
              out[i].status = one.status();
            }
            continue;
          }
          // Stored by this batch: a repeat of it later in the batch is a
          // retry of the same attempt.
          t.result_attempt = r.attempt;
          t.result_worker_id = *r.worker_id;
          const v1::EvaluationMetrics& m = *r.metrics;
          auto& f =
              *rows.add_values()->mutable_struct_value()->mutable_fields();
          f["trial_id"].set_string_value(absl::StrCat(r.trial_id));
          f["attempt"].set_string_value(absl::StrCat(r.attempt));
          f["worker_id"].set_string_value(*r.worker_id);
          f["experiment_id"].set_string_value(absl::StrCat(t.experiment_id));
          f["candidate_id"].set_string_value(absl::StrCat(t.candidate_id));
          f["val_accuracy"].set_string_value(num(m.val_accuracy()));
          f["test_accuracy"].set_string_value(num(m.test_accuracy()));
          f["macs"].set_string_value(absl::StrCat(m.macs()));
          f["params"].set_string_value(absl::StrCat(m.params()));
          f["latency_ms"].set_string_value(num(m.latency_ms()));
          f["latency_iqr_ms"].set_string_value(num(m.latency_iqr_ms()));
          f["train_seconds"].set_string_value(num(m.train_seconds()));
          f["train_loss"].set_string_value(num(m.train_loss()));
          f["epochs"].set_string_value(absl::StrCat(m.epochs()));
          f["device"].set_string_value(m.device());
          f["metrics_proto"].set_string_value(
              absl::Base64Escape(m.SerializeAsString()));
          f["throughput"].set_string_value(
              num(m.throughput_images_per_second()));
          f["train_ips"].set_string_value(num(m.train_images_per_second()));
          f["simulated_seconds"].set_string_value(num(m.simulated_seconds()));
        }
        if (rows.values_size() > 0) {
          NAS_ASSIGN_OR_RETURN(const std::string json,
                               JsonParam(rows, "results"));
          txn.exec_prepared0("store_results", json);
        }
        txn.commit();
        return out;
      });
}

absl::StatusOr<StoredModel> Store::GetModel(int64_t experiment_id,
                                            int64_t candidate_id) {
  return impl_->Run(
      "GetModel", [&](pqxx::connection& conn) -> absl::StatusOr<StoredModel> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("get_model", experiment_id, candidate_id);
        if (r.empty()) {
          return absl::NotFoundError(absl::StrCat(
              "no model kept for candidate ", candidate_id, " of experiment ",
              experiment_id,
              " (models are kept for the spec.keep_models best candidates "
              "and for final re-trainings)"));
        }
        StoredModel out;
        out.bytes = Bytes(r[0][0]);
        out.candidate_id = r[0][1].as<int64_t>();
        out.final_training = r[0][2].as<bool>();
        if (!r[0][3].is_null() &&
            !out.metrics.ParseFromString(Bytes(r[0][3]))) {
          return absl::DataLossError(absl::StrCat(
              "candidate ", out.candidate_id, ": stored metrics do not parse"));
        }
        return out;
      });
}

absl::Status Store::RecordFailure(int64_t trial_id, int32_t attempt,
                                  const std::string& worker_id,
                                  const std::string& error,
                                  int64_t* experiment_id) {
  return impl_->Run(
      "RecordFailure", [&](pqxx::connection& conn) -> absl::Status {
        pqxx::work txn(conn);
        NAS_ASSIGN_OR_RETURN(TrialState t, LockTrial(txn, trial_id));
        if (experiment_id != nullptr) *experiment_id = t.experiment_id;
        NAS_RETURN_IF_ERROR(CheckLease(t, trial_id, attempt, worker_id));
        std::string status = "QUEUED";
        std::string reason = error;
        if (t.experiment_state != "RUNNING") {
          status = "CANCELLED";  // nobody would lease it again
        } else if (t.attempt >= t.max_attempts) {
          status = "FAILED";
          reason = absl::StrCat(error, " (after ", t.attempt, " attempts)");
        }
        // The attempt itself failed, whatever happens to the trial; its
        // history row keeps the worker's own error.
        txn.exec_prepared0("end_attempt", trial_id, status, reason, error);
        txn.commit();
        return absl::OkStatus();
      });
}

absl::StatusOr<int> Store::ExtendRunningLeases() {
  return impl_->Run(
      "ExtendRunningLeases",
      [&](pqxx::connection& conn) -> absl::StatusOr<int> {
        pqxx::nontransaction txn(conn);  // one statement: atomic by itself
        return txn.exec_prepared1("extend_running_leases")[0].as<int>();
      });
}

absl::StatusOr<ExpiryOutcome> Store::ExpireLeases() {
  return impl_->Run(
      "ExpireLeases",
      [&](pqxx::connection& conn) -> absl::StatusOr<ExpiryOutcome> {
        pqxx::nontransaction txn(conn);  // one statement: atomic by itself
        pqxx::row row = txn.exec_prepared1("expire_leases");
        ExpiryOutcome out;
        out.requeued = row[0].as<int>();
        out.failed = row[1].as<int>();
        return out;
      });
}

// --- workers -----------------------------------------------------------------

absl::Status Store::UpsertWorker(const v1::RegisterWorkerRequest& worker) {
  if (worker.worker_id().empty()) {
    return absl::InvalidArgumentError("worker_id: must not be empty");
  }
  NAS_ASSIGN_OR_RETURN(const std::string labels, JsonObject(worker.labels()));
  return impl_->Run(
      "UpsertWorker", [&](pqxx::connection& conn) -> absl::Status {
        pqxx::nontransaction txn(conn);
        txn.exec_prepared0("upsert_worker", worker.worker_id(), worker.device(),
                           labels, worker.version());
        return absl::OkStatus();
      });
}

absl::StatusOr<std::map<std::string, std::string>> Store::GetWorkerLabels(
    const std::string& worker_id) {
  return impl_->Run(
      "GetWorkerLabels",
      [&](pqxx::connection& conn)
          -> absl::StatusOr<std::map<std::string, std::string>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("get_worker_labels", worker_id);
        if (r.empty()) {
          return absl::NotFoundError(
              absl::StrCat("worker \"", worker_id, "\" is not registered"));
        }
        std::map<std::string, std::string> labels;
        for (const pqxx::row& row : r) {
          if (row[0].is_null()) continue;  // registered without labels
          labels[row[0].as<std::string>()] = row[1].as<std::string>();
        }
        return labels;
      });
}

absl::Status Store::TouchWorker(const std::string& worker_id) {
  return impl_->Run("TouchWorker", [&](pqxx::connection& conn) -> absl::Status {
    pqxx::nontransaction txn(conn);
    if (txn.exec_prepared("touch_worker", worker_id).empty()) {
      return absl::NotFoundError(
          absl::StrCat("worker \"", worker_id, "\" is not registered"));
    }
    return absl::OkStatus();
  });
}

}  // namespace nas
