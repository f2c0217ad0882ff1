// All SQL statement text of the store (see statements.h); the tables are
// those of migrations/*.sql.
#include "controller/store/statements.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace nas {
namespace store_internal {
namespace {

// The counters of migration 0012, summed over delta rows (count_experiment
// and fold_counters).
constexpr char kCounterSums[] =
    "sum(candidates) AS candidates, sum(rejected) AS rejected, "
    "sum(duplicates) AS duplicates, sum(final) AS final, "
    "sum(final_done) AS final_done, sum(succeeded) AS succeeded, "
    "sum(failed) AS failed, sum(simulated_seconds) AS simulated_seconds ";

// The value of a candidate's objective metric (objective.metric of the
// experiment's spec, common/objective.h): C is the candidates row's column
// prefix ("" or "c."), SPEC an expression of the experiment's spec jsonb
// (preserved proto field names; an absent metric_class is 0; an absent or
// empty metric is val_accuracy). A name that is none of the built-in
// metrics is a named metric of a COMMAND trainer, read from the
// named_metrics object (0017). NULL for a candidate without that metric
// (not evaluated, evaluated before 0016, or no such named metric).
// clang-format off
#define NAS_OBJECTIVE_VALUE(C, SPEC)                                    \
  "(CASE " SPEC "->'objective'->>'metric' "                             \
  "WHEN 'val_balanced_accuracy' THEN " C "val_balanced_accuracy "       \
  "WHEN 'val_macro_f1' THEN " C "val_macro_f1 "                         \
  "ELSE CASE WHEN " SPEC "->'objective'->>'metric' LIKE 'val_recall:%' " \
  "THEN " C "val_class_recall[coalesce((" SPEC                          \
  "->'objective'->>'metric_class')::int, 0) + 1] "                      \
  "WHEN coalesce(" SPEC "->'objective'->>'metric', '') "                \
  "IN ('', 'val_accuracy') THEN " C "val_accuracy "                     \
  "ELSE (" C "named_metrics ->> (" SPEC "->'objective'->>'metric'))"    \
  "::float8 END END)"

// lock_trial(s)'s columns after the search flag: what the trial asks of
// its result (controller/store/result_rules.h), and the worker of the
// trial's current attempt when that attempt's lease expired and nobody
// has leased the trial since (a late result of it is still accepted).
#define NAS_TRIAL_KIND_COLUMNS                                           \
  "c.final_of IS NOT NULL, c.screening, "                              \
  "coalesce(e.spec->'evaluation'->>'mode', ''), "                      \
  "coalesce((e.spec->>'keep_models')::int, 0), "                       \
  "(SELECT a.worker_id FROM trial_attempts a WHERE a.trial_id = t.id " \
  "AND a.attempt = t.attempt AND a.outcome = 'EXPIRED' AND t.status = " \
  "'QUEUED') "

// The lease a renewal gives a trials row: lease_seconds from now, but never
// past its attempt's wall-clock limit of `limit` seconds from the lease
// (a parameter such as "$4": StoreOptions::max_attempt_seconds, 0 = none).
std::string RenewedLease(const char* limit) {
  return absl::StrCat("CASE WHEN ", limit,
                      "::int > 0 THEN least(now() + lease_seconds * interval "
                      "'1 second', started_at + ",
                      limit,
                      "::int * interval '1 second') ELSE now() + "
                      "lease_seconds * interval '1 second' END");
}
// The condition that the attempt has not reached that limit yet.
std::string WithinLimit(const char* limit) {
  return absl::StrCat("(", limit, "::int <= 0 OR started_at + ", limit,
                      "::int * interval '1 second' > now())");
}

// A listing's experiment spec ($1 is the experiment id).
#define NAS_LISTED_SPEC "(SELECT spec FROM experiments WHERE id = $1)"

// Statements that rank by the objective metric (built from the macros).
constexpr char kKeepModel[] =
    "WITH me AS (SELECT c.id, c.experiment_id, c.final_of, "
    NAS_OBJECTIVE_VALUE("c.", "e.spec") " AS score, e.spec, "
    "  c.seq, coalesce((e.spec->>'keep_models')::int, 0) AS keep "
    "  FROM candidates c JOIN experiments e ON e.id = c.experiment_id "
    "  WHERE c.id = $1), "
    "rank AS (SELECT count(*) AS better FROM candidates o, me "
    "  WHERE o.experiment_id = me.experiment_id AND o.final_of IS NULL "
    "AND NOT o.supernet "
    "  AND o.state = 'EVALUATED' AND o.id <> me.id AND "
    "  (" NAS_OBJECTIVE_VALUE("o.", "me.spec") " > me.score OR ("
    NAS_OBJECTIVE_VALUE("o.", "me.spec") " = me.score AND "
    "o.seq < me.seq))) "
    "INSERT INTO artifacts (hash, kind, experiment_id, candidate_id, "
    "size, "
    "  data) "
    "SELECT 'torchscript/' || me.id, 'torchscript', me.experiment_id, "
    "  me.id, length($2::bytea), $2::bytea FROM me, rank "
    "WHERE me.final_of IS NOT NULL OR rank.better < me.keep "
    "ON CONFLICT (hash) DO UPDATE SET data = EXCLUDED.data, "
    "  size = EXCLUDED.size, created_at = now()";
constexpr char kPruneModels[] =
    "DELETE FROM artifacts a USING candidates c "
    "WHERE a.kind = 'torchscript' AND a.experiment_id = $1 AND "
    "c.id = a.candidate_id AND c.final_of IS NULL AND NOT c.supernet AND "
    "c.id NOT IN ("
    "  SELECT id FROM candidates WHERE experiment_id = $1 AND "
    "  final_of IS NULL AND NOT supernet AND state = 'EVALUATED' "
    "  ORDER BY " NAS_OBJECTIVE_VALUE("", NAS_LISTED_SPEC)
    " DESC NULLS LAST, seq LIMIT (SELECT "
    "  coalesce((spec->>'keep_models')::int, 0) FROM experiments "
    "  WHERE id = $1))";
constexpr char kObjectiveAsc[] =
    NAS_OBJECTIVE_VALUE("", NAS_LISTED_SPEC) " ASC NULLS LAST, seq";
constexpr char kObjectiveDesc[] =
    NAS_OBJECTIVE_VALUE("", NAS_LISTED_SPEC) " DESC NULLS LAST, seq";
// clang-format on

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
    "(extract(epoch FROM updated_at) * 1000000)::bigint, "
    // Class-balanced metrics (0016).
    "val_balanced_accuracy, val_macro_f1, "
    "array_to_string(val_class_recall, ','), test_balanced_accuracy, "
    "test_macro_f1, "
    // Named metrics (0017), a JSON object or NULL.
    "named_metrics::text, "
    // Strategy darts (0018).
    "search_seed IS NOT NULL, coalesce(search_seed, 0), "
    "coalesce(derived_canonical, ''), "
    "array_to_string(derived_choices, ','), coalesce(param_free_share, 0), "
    "coalesce(search_of, 0), "
    // Proxy-guided evolution (0019).
    "screening, coalesce(screen_group, 0)";

// $1 experiment, $2 state ('' = any), $3 search only, $4..$7 the metric
// filters of CandidateQuery (0 = none).
constexpr char kCandidateFilter[] =
    " FROM candidates WHERE experiment_id = $1 AND ($2::text = '' OR state = "
    "$2::text) AND (NOT $3::boolean OR final_of IS NULL AND NOT supernet) "
    "AND ($4::float8 = 0 OR val_accuracy >= $4::float8) AND "
    "($5::bigint = 0 OR macs <= $5::bigint) AND "
    "($6::bigint = 0 OR params <= $6::bigint) AND "
    "($7::float8 = 0 OR latency_ms <= $7::float8)";

constexpr OrderBy kOrderBys[] = {
    {"seq", "seq ASC", "seq DESC"},
    {"val_accuracy", "val_accuracy ASC NULLS LAST, seq",
     "val_accuracy DESC NULLS LAST, seq"},
    {"macs", "macs ASC, seq", "macs DESC, seq"},
    {"params", "params ASC, seq", "params DESC, seq"},
    {"latency_ms", "latency_ms ASC NULLS LAST, seq",
     "latency_ms DESC NULLS LAST, seq"},
    {"val_balanced_accuracy", "val_balanced_accuracy ASC NULLS LAST, seq",
     "val_balanced_accuracy DESC NULLS LAST, seq"},
    {"val_macro_f1", "val_macro_f1 ASC NULLS LAST, seq",
     "val_macro_f1 DESC NULLS LAST, seq"},
    // The experiment's objective metric (best first with "-objective").
    {"objective", kObjectiveAsc, kObjectiveDesc},
};

}  // namespace

const char kRunningBestObjective[] =
    "SELECT e.id, coalesce(max(" NAS_OBJECTIVE_VALUE("c.", "e.spec")
    "), 0)::float8 FROM experiments e LEFT JOIN candidates c ON "
    "c.experiment_id = e.id AND c.state = 'EVALUATED' AND c.final_of IS NULL "
    "AND NOT c.supernet WHERE e.state = 'RUNNING' GROUP BY e.id";

const OrderBy* FindOrderBy(absl::string_view key) {
  const OrderBy* found = nullptr;
  for (const OrderBy& o : kOrderBys) {
    if (key == o.key) found = &o;
  }
  return found;
}

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
        // ExtendExperiment: a finished experiment runs again with a new
        // spec (its budget raised); its past rows are untouched.
        {"reopen_experiment",
         "UPDATE experiments SET state = 'RUNNING', error = '', "
         "finished_at = NULL, spec = $2, spec_proto = $3 WHERE id = $1"},
        // ListLearningCurves: a page of trained candidates (seq > $2, at
        // most $3) with the epochs of their trial's latest reporting
        // attempt, one row per epoch (trial_progress' primary key serves
        // both the EXISTS and the join).
        {"list_learning_curves",
         "WITH k AS (SELECT c.id AS cid, c.seq, c.state, "
         "coalesce(c.final_of, 0) AS final_of, c.early_stopped, t.id AS tid, "
         "(SELECT max(attempt) FROM trial_progress p WHERE p.trial_id = t.id) "
         "AS att FROM candidates c JOIN trials t ON t.candidate_id = c.id "
         "WHERE c.experiment_id = $1 AND c.seq > $2 AND EXISTS (SELECT 1 FROM "
         "trial_progress p WHERE p.trial_id = t.id) ORDER BY c.seq, t.id "
         "LIMIT $3) "
         "SELECT k.cid, k.seq, k.state, k.final_of, k.early_stopped, k.tid, "
         "k.att, p.epoch, p.val_accuracy, p.train_loss, p.seconds, p.decision "
         "FROM k JOIN trial_progress p ON p.trial_id = k.tid AND p.attempt = "
         "k.att ORDER BY k.seq, k.tid, p.epoch"},
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
        {"count_experiments",
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
             "AND supernet AND search_seed IS NULL AND NOT screening), ''), "
             // Strategy darts: its searches, and those that ended (0018).
             "(SELECT count(*) FROM candidates WHERE experiment_id = e.id "
             "AND search_seed IS NOT NULL), "
             "(SELECT count(*) FROM candidates WHERE experiment_id = e.id "
             "AND search_seed IS NOT NULL AND state IN ('EVALUATED', "
             "'FAILED', 'CANCELLED')), "
             // Proxy-guided evolution: screening rows, and slots (one per
             // first child) without their trained child yet (0019).
             "(SELECT count(*) FROM candidates WHERE experiment_id = e.id "
             "AND screening), "
             "(SELECT count(*) FROM candidates s WHERE s.experiment_id = e.id "
             "AND s.screening AND s.seq + 1 = s.screen_group AND NOT EXISTS ("
             "SELECT 1 FROM candidates w WHERE w.experiment_id = e.id AND "
             "w.screen_group = s.screen_group AND NOT w.screening)), "
             // Simulated seconds of SUCCEEDED search trials (0020).
             "coalesce(c0.simulated_seconds, 0) + "
             "coalesce(d.simulated_seconds, 0), e.id "
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
             // $1: '{id,...}', a page of experiments at once (listings).
             "WHERE e.id = ANY($1::bigint[])")},
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
                      "failed = k.failed + EXCLUDED.failed, "
                      "simulated_seconds = k.simulated_seconds + "
                      "EXCLUDED.simulated_seconds")},
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
         "  supernet boolean, search_seed bigint, search_of bigint, "
         "  screening boolean, screen_group integer, screen_first integer)), "
         "c AS (INSERT INTO candidates (experiment_id, seq, space, "
         "canonical, choices, arch_hash, state, parent_id, generation, "
         "strategy_data, reason, duplicate_of, macs, params, observed_results, "
         "final_of, supernet, search_seed, search_of, screening, "
         "screen_group) "
         "SELECT $1, $2 + x.i, x.space, x.canonical, x.choices, x.arch_hash, "
         "x.state, NULLIF(x.parent_id, 0), x.generation, "
         "x.strategy_data::jsonb, x.reason, NULLIF(x.duplicate_of, 0), x.macs, "
         "x.params, x.observed_results, NULLIF(x.final_of, 0), x.supernet, "
         "NULLIF(x.search_seed, -1), NULLIF(x.search_of, 0), x.screening, "
         // A screening row's slot is 1 + the seq of the batch's row
         // screen_first (its first child; 0 stays "none"); a trained child
         // names its slot.
         "CASE WHEN x.screen_first >= 0 THEN $2 + x.screen_first + 1 "
         "ELSE NULLIF(x.screen_group, 0) END "
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
        {"list_screened_groups",
         // Proxy-guided evolution: slots whose children all ended and that
         // have no trained child yet, each with its best scored child by
         // the proxy $2 (NULL columns when none was scored), by
         // candidates_screen_group_idx.
         "SELECT g.screen_group, b.id, b.space, b.canonical, "
         "array_to_string(b.choices, ','), b.arch_hash, "
         "coalesce(b.parent_id, 0), b.generation, b.strategy_data::text, "
         "(b.named_metrics ->> $2)::float8, g.children, g.scored "
         "FROM (SELECT screen_group, count(*) AS children, count(*) FILTER "
         "(WHERE state = 'EVALUATED' AND named_metrics ? $2) AS scored "
         "FROM candidates WHERE experiment_id = $1 AND screening "
         "GROUP BY screen_group HAVING bool_and(state NOT IN ('QUEUED', "
         "'RUNNING'))) g "
         "LEFT JOIN LATERAL (SELECT * FROM candidates b WHERE "
         "b.experiment_id = $1 AND b.screen_group = g.screen_group AND "
         "b.screening AND b.state = 'EVALUATED' AND b.named_metrics ? $2 "
         "ORDER BY (b.named_metrics ->> $2)::float8 DESC, b.seq LIMIT 1) b "
         "ON true "
         "WHERE NOT EXISTS (SELECT 1 FROM candidates w WHERE "
         "w.experiment_id = $1 AND w.screen_group = g.screen_group AND NOT "
         "w.screening) ORDER BY g.screen_group"},
        {"count_candidates",
         absl::StrCat("SELECT (SELECT count(*)", kCandidateFilter,
                      "), EXISTS (SELECT 1 FROM experiments WHERE id = $1)")},
        {"list_genotypes",
         // candidates_experiment_seq_key: a range from $2, $3 rows (0 = all).
         "SELECT space, canonical, array_to_string(choices, ','), arch_hash, "
         "observed_results, seq FROM candidates WHERE experiment_id = $1 AND "
         "seq > $2 AND final_of IS NULL AND (NOT supernet AND screen_group IS "
         "NULL OR screening AND seq + 1 = screen_group) ORDER BY seq "
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
         "    coalesce(c.final_of, 0) AS final_of,"
         "    c.supernet AND NOT c.screening AS supernet, c.screening,"
         "    c.search_seed,"
         "    coalesce(c.checkpoint_hash, '') AS checkpoint_hash,"
         "    coalesce(c.checkpoint_epoch, 0) AS checkpoint_epoch), "
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
         "  cand.search_seed IS NOT NULL, coalesce(cand.search_seed, 0),"
         "  cand.checkpoint_hash, cand.checkpoint_epoch, "
         // The experiment's trained supernet (mode SUPERNET), by the
         // partial unique index candidates_supernet_idx.
         "  coalesce((SELECT s.artifact_hash FROM candidates s WHERE "
         "    s.experiment_id = l.experiment_id AND s.supernet AND "
         "    s.search_seed IS NULL AND NOT s.screening), ''), "
         "  wt.queue_wait, l.pos, cand.screening "
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
         // $1: the attempt limit in seconds (0 = none), which caps it.
         "r AS (UPDATE trials t SET lease_until = CASE WHEN $1::int > 0 THEN "
         "least(greatest(t.lease_until, now() + t.lease_seconds * interval "
         "'1 second'), t.started_at + $1::int * interval '1 second') ELSE "
         "greatest(t.lease_until, now() + t.lease_seconds * interval "
         "'1 second') END FROM l WHERE t.id = "
         "l.id AND t.status = 'RUNNING' RETURNING t.id, t.attempt, "
         "t.lease_until), "
         "a AS (UPDATE trial_attempts a SET lease_until = r.lease_until "
         "FROM r WHERE a.trial_id = r.id AND a.attempt = r.attempt) "
         "SELECT count(*) FROM r"},
        {"renew_lease",
         // $4: the attempt limit in seconds (0 = none).
         absl::StrCat(
             "WITH r AS (UPDATE trials SET lease_until = ", RenewedLease("$4"),
             " WHERE id = $1 AND attempt = $2 AND worker_id = $3 AND status = "
             "'RUNNING' AND ",
             WithinLimit("$4"),
             " RETURNING id, attempt, lease_until), "
             "a AS (UPDATE trial_attempts a SET lease_until = r.lease_until "
             "FROM r WHERE a.trial_id = r.id AND a.attempt = r.attempt) "
             "SELECT id FROM r")},
        {"record_progress",
         // $8: the attempt limit in seconds (0 = none).
         absl::StrCat(
             "WITH r AS (UPDATE trials SET lease_until = ", RenewedLease("$8"),
             " WHERE id = $1 AND attempt = $2 AND worker_id = $3 AND status = "
             "'RUNNING' AND ",
             WithinLimit("$8"),
             " RETURNING id, attempt, lease_until), "
             "a AS (UPDATE trial_attempts a SET lease_until = r.lease_until "
             "FROM r WHERE a.trial_id = r.id AND a.attempt = r.attempt), "
             "p AS (INSERT INTO trial_progress (trial_id, attempt, epoch, "
             "worker_id, train_loss, val_accuracy, seconds) SELECT r.id, $2, "
             "$4, $3, $5, $6, $7 FROM r ON CONFLICT (trial_id, attempt, "
             "epoch) DO NOTHING) "
             "SELECT count(*) FROM r")},
        {"trial_search",
         "SELECT c.id, c.search_seed IS NOT NULL FROM trials t JOIN "
         "candidates c ON c.id = t.candidate_id WHERE t.id = $1"},
        {"record_search_epoch",
         // $1 trial, $2 epoch, $3 weights, $4 canonical, $5 choices,
         // $6 param-free share, $7 val accuracy, $8 train loss.
         "WITH c AS (SELECT candidate_id AS id FROM trials WHERE id = $1), "
         "u AS (UPDATE candidates SET derived_canonical = $4, "
         "  derived_choices = $5::integer[], param_free_share = $6 "
         "  FROM c WHERE candidates.id = c.id) "
         "INSERT INTO search_epochs (candidate_id, epoch, arch_weights, "
         "derived_canonical, derived_choices, param_free_share, val_accuracy, "
         "train_loss) SELECT c.id, $2, $3::float8[], $4, $5::integer[], $6, "
         "$7, $8 FROM c ON CONFLICT (candidate_id, epoch) DO UPDATE SET "
         "arch_weights = EXCLUDED.arch_weights, derived_canonical = "
         "EXCLUDED.derived_canonical, derived_choices = "
         "EXCLUDED.derived_choices, param_free_share = "
         "EXCLUDED.param_free_share, val_accuracy = EXCLUDED.val_accuracy, "
         "train_loss = EXCLUDED.train_loss, recorded_at = now()"},
        {"search_checkpoint",
         // The search's current checkpoint (NULL: none), its row locked
         // until the transaction ends.
         "SELECT checkpoint_hash FROM candidates WHERE id = $1 FOR UPDATE"},
        {"set_search_checkpoint",
         // $1 candidate, $2 hash, $3 epoch.
         "UPDATE candidates SET checkpoint_hash = $2, checkpoint_epoch = $3 "
         "WHERE id = $1"},
        {"set_search_result",
         // $1 candidate, $2 canonical, $3 choices, $4 share; the checkpoint
         // is no longer needed.
         "UPDATE candidates SET derived_canonical = $2, "
         "derived_choices = $3::integer[], param_free_share = $4, "
         "checkpoint_hash = NULL, checkpoint_epoch = NULL WHERE id = $1"},
        {"delete_checkpoint",
         "DELETE FROM artifacts WHERE hash = $1 AND kind = 'checkpoint' AND "
         "NOT EXISTS (SELECT 1 FROM candidates WHERE checkpoint_hash = $1)"},
        {"list_underived_searches",
         "SELECT s.id, s.search_seed, s.space, "
         "coalesce(s.derived_canonical, ''), "
         "array_to_string(s.derived_choices, ','), "
         "coalesce(s.param_free_share, 0) FROM candidates s "
         "WHERE s.experiment_id = $1 AND s.search_seed IS NOT NULL AND "
         "s.state = 'EVALUATED' AND NOT EXISTS (SELECT 1 FROM candidates d "
         "WHERE d.search_of = s.id) ORDER BY s.id"},
        {"list_search_epochs",
         "SELECT s.id, s.search_seed, e.epoch, "
         "array_to_string(e.arch_weights, ','), s.space, "
         "e.derived_canonical, array_to_string(e.derived_choices, ','), "
         "e.param_free_share, e.val_accuracy, e.train_loss "
         "FROM candidates s JOIN search_epochs e ON e.candidate_id = s.id "
         "WHERE s.experiment_id = $1 AND s.search_seed IS NOT NULL "
         "ORDER BY s.id, e.epoch"},
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
         "r.attempt, r.worker_id, c.supernet AND NOT c.screening, "
         "c.search_seed IS NOT NULL, " NAS_TRIAL_KIND_COLUMNS
         "FROM trials t JOIN experiments e ON e.id = t.experiment_id "
         "JOIN candidates c ON c.id = t.candidate_id "
         "LEFT JOIN results r ON r.trial_id = t.id "
         "WHERE t.id = $1 FOR UPDATE OF t"},
        {"lock_trials",
         // lock_trial for a batch ($1: '{id,...}'), in id order (a fixed
         // lock order: no deadlock with other batches).
         "SELECT t.id, t.status, t.attempt, coalesce(t.worker_id, ''), "
         "t.candidate_id, t.experiment_id, t.max_attempts, e.state, "
         "r.attempt, r.worker_id, c.supernet AND NOT c.screening, "
         "c.search_seed IS NOT NULL, " NAS_TRIAL_KIND_COLUMNS
         "FROM trials t JOIN experiments e ON e.id = t.experiment_id "
         "JOIN candidates c ON c.id = t.candidate_id "
         "LEFT JOIN results r ON r.trial_id = t.id "
         "WHERE t.id = ANY($1::bigint[]) ORDER BY t.id FOR UPDATE OF t"},
        {"store_results",
         // store_result for a batch: $1 is a JSON array of rows whose
         // values are all strings (exact doubles as %.17g, metrics_proto
         // as base64) but named_metrics, a JSON object of numbers (absent:
         // NULL).
         "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x("
         "  trial_id bigint, attempt integer, worker_id text, "
         "  experiment_id bigint, candidate_id bigint, val_accuracy float8, "
         "  test_accuracy float8, macs bigint, params bigint, "
         "  latency_ms float8, latency_iqr_ms float8, train_seconds float8, "
         "  train_loss float8, epochs integer, device text, "
         "  metrics_proto text, throughput float8, train_ips float8, "
         "  simulated_seconds float8, val_balanced_accuracy float8, "
         "  val_macro_f1 float8, val_class_recall text, "
         "  test_balanced_accuracy float8, test_macro_f1 float8, "
         "  named_metrics jsonb)), "
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
         "lease_until = NULL, error = '', worker_id = coalesce(t.worker_id, "
         "(SELECT x.worker_id FROM x WHERE x.trial_id = t.id LIMIT 1)) "
         "WHERE t.id = ANY ((SELECT trials FROM ids)::bigint[])), "
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
         "simulated_seconds = x.simulated_seconds, "
         "val_balanced_accuracy = x.val_balanced_accuracy, "
         "val_macro_f1 = x.val_macro_f1, "
         "val_class_recall = x.val_class_recall::float8[], "
         "test_balanced_accuracy = x.test_balanced_accuracy, "
         "test_macro_f1 = x.test_macro_f1, named_metrics = x.named_metrics, "
         "reason = '', "
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
         "lease_until = NULL, error = '', worker_id = coalesce(worker_id, $3) "
         "WHERE id = $1), "
         "a AS (UPDATE trial_attempts SET outcome = 'SUCCEEDED', "
         "ended_at = now(), error = '' WHERE trial_id = $1 AND attempt = $2) "
         "UPDATE candidates SET state = 'EVALUATED', attempts = $2, "
         "worker_id = $3, val_accuracy = $6, test_accuracy = $7, "
         "metric_macs = $8, metric_params = $9, latency_ms = $10, "
         "latency_iqr_ms = $11, train_seconds = $12, train_loss = $13, "
         "epochs = $14, device = $15, throughput_images_per_second = $17, "
         "train_images_per_second = $18, simulated_seconds = $19, "
         "val_balanced_accuracy = $20, val_macro_f1 = $21, "
         "val_class_recall = $22::float8[], test_balanced_accuracy = $23, "
         "test_macro_f1 = $24, named_metrics = NULLIF($25::text, '')::jsonb, "
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
         // $1: the attempt limit in seconds (0 = none); an attempt that
         // reached it says so.
         "WITH x AS ("
         "  SELECT t.id, CASE WHEN e.state <> 'RUNNING' THEN 'CANCELLED'"
         "    WHEN t.attempt >= t.max_attempts THEN 'FAILED'"
         "    ELSE 'QUEUED' END AS new_status,"
         "  CASE WHEN e.state <> 'RUNNING' THEN"
         "      'lease expired; experiment ' || e.state"
         "    WHEN l.over_limit THEN"
         "      'attempt ' || t.attempt || ' ran past the limit of ' || $1::int"
         "      || ' s per trial attempt (--max_attempt_seconds)'"
         "      || CASE WHEN t.attempt >= t.max_attempts THEN"
         "        ' after ' || t.attempt || ' attempts' ELSE '' END"
         "    WHEN t.attempt >= t.max_attempts THEN"
         "      'lease expired after ' || t.attempt || ' attempts'"
         "    ELSE 'lease of attempt ' || t.attempt || ' expired' END"
         "    AS new_error, l.over_limit"
         "  FROM trials t JOIN experiments e ON e.id = t.experiment_id,"
         "  LATERAL (SELECT e.state = 'RUNNING' AND $1::int > 0 AND"
         "    t.started_at + $1::int * interval '1 second' <= now()"
         "    AS over_limit) l"
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
         "  RETURNING t.id, t.attempt, t.candidate_id, t.status, t.error,"
         "    x.over_limit), "
         "a AS ("
         "  UPDATE trial_attempts a SET outcome = 'EXPIRED', ended_at = now(),"
         "    error = CASE WHEN u.over_limit THEN u.error"
         "      ELSE 'lease expired' END"
         "  FROM u WHERE a.trial_id = u.id AND a.attempt = u.attempt), "
         "c AS ("
         "  UPDATE candidates c SET state = u.status, updated_at = now(),"
         "    reason = CASE WHEN u.status = 'QUEUED' THEN c.reason"
         "      ELSE u.error END"
         "  FROM u WHERE c.id = u.candidate_id) "
         "SELECT count(*) FILTER (WHERE status = 'QUEUED'),"
         "  count(*) FILTER (WHERE status = 'FAILED') FROM u"},
        // Keeps a model when its candidate is a final re-training or ranks
        // among the spec.keep_models best search candidates by the
        // objective metric (ties by seq). The spec's JSON omits a zero
        // keep_models.
        {"keep_model", kKeepModel},
        {"prune_models", kPruneModels},
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
        {"touch_workers",
         // Workers this controller saw within the retention (one call per
         // prune, however many workers): $1 is a JSON array of ids.
         "UPDATE workers SET last_seen_at = now() "
         "WHERE worker_id IN (SELECT jsonb_array_elements_text($1::jsonb))"},
        {"prune_workers",
         // Rows of workers not seen for $1 seconds that hold no RUNNING
         // trial (trials_worker_running_idx); trials and results keep the
         // worker id as plain text.
         "DELETE FROM workers w WHERE w.last_seen_at < now() - "
         "make_interval(secs => $1::float8) AND NOT EXISTS (SELECT 1 FROM "
         "trials t WHERE t.worker_id = w.worker_id AND t.status = "
         "'RUNNING')"},
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

#undef NAS_LISTED_SPEC
#undef NAS_OBJECTIVE_VALUE

}  // namespace store_internal
}  // namespace nas
